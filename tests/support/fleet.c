/* fleet.c — see fleet.h. */
#include "tests/support/fleet.h"

#include "core/deadline.h"
#include "rules/engine.h"
#include "run/check.h"
#include "run/fleet.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SSHD_PORT 2222

static char dir[] = "/tmp/md-test-fleet-XXXXXX";
static pid_t sshd_pid = -1;

static int sh(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sh(char *why, size_t n, const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == 0)
		return 0;
	snprintf(why, n, "set-up failed (%d): %.300s", st, cmd);
	return -1;
}

static int wait_listening(char *why, size_t n)
{
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "ss -Hltn 'sport = :%d' | grep -q LISTEN", SSHD_PORT);
	for (int i = 0; i < 200; i++) {
		if (system(cmd) == 0)
			return 0;
		usleep(50 * 1000);
	}
	snprintf(why, n, "sshd did not listen on %d (see %s/sshd.log)", SSHD_PORT, dir);
	return -1;
}

static void start_sshd(void)
{
	char conf[300], log[300];

	snprintf(conf, sizeof(conf), "%s/sshd_config", dir);
	snprintf(log, sizeof(log), "%s/sshd.log", dir);
	/* Gone with the test, however it ends (a sanitizer's abort skips the teardown). */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	/* sshd re-executes itself: it needs its absolute path as argv[0]. */
	execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-e", "-f", conf, "-E", log, (char *)NULL);
	_exit(127);
}

int fleet_setup(char *why, size_t n)
{
	if (unshare(CLONE_NEWNET) != 0) {
		snprintf(why, n, "unshare(CLONE_NEWNET): needs root");
		return -1;
	}
	if (!mkdtemp(dir)) {
		snprintf(why, n, "mkdtemp %s failed", dir);
		return -1;
	}
	mkdir("/run/sshd", 0755); /* sshd's privilege separation directory on Debian */
	if (sh(why, n, "ip link set lo up") ||
	    sh(why, n, "cd %s && ssh-keygen -q -t ed25519 -N '' -f hostkey && "
		       "ssh-keygen -q -t ed25519 -N '' -f key && cp key.pub authorized_keys", dir) ||
	    /* Every loopback address is a host of its own: known_hosts names each. */
	    sh(why, n, "cd %s && for i in $(seq 1 %d); do printf '[127.0.0.%%s]:%d %%s\\n' $i "
		       "\"$(cut -d' ' -f1,2 hostkey.pub)\"; done > known_hosts", dir, FLEET_HOSTS, SSHD_PORT) ||
	    sh(why, n, "printf '%%s\\n' 'HostKey %s/hostkey' 'AuthorizedKeysFile %s/authorized_keys' "
		       "'PidFile none' 'PasswordAuthentication no' 'KbdInteractiveAuthentication no' "
		       "'UsePAM no' 'PermitRootLogin prohibit-password' 'StrictModes no' "
		       "'ListenAddress 0.0.0.0:%d' 'MaxStartups 20' 'LogLevel ERROR' > %s/sshd_config",
		       dir, dir, SSHD_PORT, dir))
		return -1;
	sshd_pid = fork();
	if (sshd_pid < 0) {
		snprintf(why, n, "fork failed");
		return -1;
	}
	if (sshd_pid == 0)
		start_sshd();
	return wait_listening(why, n);
}

void fleet_teardown(void)
{
	char why[400];

	if (sshd_pid > 0) {
		kill(sshd_pid, SIGTERM);
		waitpid(sshd_pid, NULL, 0);
		sshd_pid = -1;
	}
	if (strstr(dir, "XXXXXX") == NULL)
		sh(why, sizeof(why), "rm -rf %s", dir);
}

/* What the checks found so far: the first host whose result is not as it must be. */
struct fleet_check {
	char specs[FLEET_HOSTS][64];
	char why[400];
	int rc;
	size_t done;
};

static const char *fact(const struct md_host_result *r, const char *name)
{
	const char *v = md_facts_str(&r->facts, name);

	return v ? v : "(none)";
}

static bool expect(const char *spec, const struct md_host_result *r, const char *name,
		   const char *want, char *why, size_t n)
{
	if (strcmp(fact(r, name), want) == 0)
		return true;
	snprintf(why, n, "%s: %s = %s, want %s", spec, name, fact(r, name), want);
	return false;
}

/* One host's result, as it must be. */
static int check_one(const char *spec, const struct md_host_result *r, size_t i, char *why,
		     size_t n)
{
	char addr[64];

	snprintf(addr, sizeof(addr), "127.0.0.%zu:%d", i + 1, SSHD_PORT);
	if (!expect(spec, r, "ssh.addr", addr, why, n) || !expect(spec, r, "ssh.hostkey", "match", why, n) ||
	    !expect(spec, r, "ssh.auth", "ok", why, n) || !expect(spec, r, "host.os", "linux", why, n) ||
	    !expect(spec, r, "port.listeners_source", "ss -ltnup", why, n))
		return -1;
	snprintf(addr, sizeof(addr), "127.0.0.%zu:", i + 1);
	if (!strstr(fact(r, "tls.host"), addr)) {
		snprintf(why, n, "%s: tls.host %s", spec, fact(r, "tls.host"));
		return -1;
	}
	if (r->n_runs < 4) {
		snprintf(why, n, "%s: %zu probes ran, want ssh, host, port, tls at least", spec,
			 r->n_runs);
		return -1;
	}
	for (size_t k = 0; k < r->n_runs; k++)
		if (r->runs[k].status != MD_OK) {
			snprintf(why, n, "%s: probe %s: %.200s", spec, r->runs[k].probe, r->runs[k].message);
			return -1;
		}
	return 0;
}

/* md_fleet_run() hands each result here as its check ends. */
static void on_done(void *arg, size_t i, int rc, const struct md_host_result *res,
		    const struct md_err *err)
{
	struct fleet_check *c = arg;

	c->done++;
	if (c->rc)
		return;
	if (rc != MD_OK) {
		snprintf(c->why, sizeof(c->why), "%s: %s", c->specs[i], err->msg);
		c->rc = -1;
		return;
	}
	c->rc = check_one(c->specs[i], res, i, c->why, sizeof(c->why));
}

int fleet_run(char *why, size_t n)
{
	struct md_ruleset rules;
	struct md_err e = { 0 };
	struct fleet_check *c = calloc(1, sizeof(*c));
	const char *specs[FLEET_HOSTS];
	char key[300], kh[300];
	struct md_check_opts o = {
		.probes = "ssh,port,tls",
		.probe = { .timeout_ms = 30000 },
		.target = { .port = SSHD_PORT, .identity = key, .known_hosts = kh,
			    .no_ssh_config = true },
	};
	/* Every host at once, on the engine's own pool of threads. */
	struct md_fleet_opts fo = { .jobs = FLEET_HOSTS, .check = &o, .rules = &rules,
				    .done = on_done, .arg = c };
	int rc;

	md_ruleset_init(&rules);
	if (!c || md_rules_load_dir(&rules, "rules", &e) != MD_OK) {
		snprintf(why, n, "rules: %s", c ? e.msg : "out of memory");
		free(c);
		md_ruleset_cleanup(&rules);
		return -1;
	}
	snprintf(key, sizeof(key), "%s/key", dir);
	snprintf(kh, sizeof(kh), "%s/known_hosts", dir);
	for (int i = 0; i < FLEET_HOSTS; i++) {
		snprintf(c->specs[i], sizeof(c->specs[i]), "root@127.0.0.%d", i + 1);
		specs[i] = c->specs[i];
	}
	rc = md_fleet_run(specs, FLEET_HOSTS, &fo, &e);
	if (rc != MD_OK)
		snprintf(why, n, "md_fleet_run: %s", e.msg);
	else if (c->done != FLEET_HOSTS)
		snprintf(why, n, "%zu of %d hosts reported", c->done, FLEET_HOSTS);
	else if (c->rc)
		snprintf(why, n, "%s", c->why);
	rc = rc == MD_OK && c->done == FLEET_HOSTS && c->rc == 0 ? 0 : -1;
	free(c);
	md_ruleset_cleanup(&rules);
	return rc;
}
