/* fleet.c — see fleet.h. */
#include "tests/support/fleet.h"

#include "core/deadline.h"
#include "rules/engine.h"
#include "run/check.h"

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

struct host_run {
	char spec[64], key[300], kh[300];
	const struct md_ruleset *rules;
	struct md_host_result res;
	int rc;
	struct md_err err;
};

static void *run_one(void *arg)
{
	struct host_run *h = arg;
	struct md_check_opts o = {
		.probes = "ssh,port,tls",
		.probe = { .timeout_ms = 30000 },
		.target = { .port = SSHD_PORT, .identity = h->key, .known_hosts = h->kh,
			    .no_ssh_config = true },
	};

	h->rc = md_check_run(h->spec, &o, h->rules, &h->res, &h->err);
	return NULL;
}

static const char *fact(const struct host_run *h, const char *name)
{
	const char *v = md_facts_str(&h->res.facts, name);

	return v ? v : "(none)";
}

static bool expect(const struct host_run *h, const char *name, const char *want, char *why, size_t n)
{
	if (strcmp(fact(h, name), want) == 0)
		return true;
	snprintf(why, n, "%s: %s = %s, want %s", h->spec, name, fact(h, name), want);
	return false;
}

/* One host's result, as it must be. */
static int check_one(const struct host_run *h, int i, char *why, size_t n)
{
	char addr[64];

	if (h->rc != MD_OK) {
		snprintf(why, n, "%s: %s", h->spec, h->err.msg);
		return -1;
	}
	snprintf(addr, sizeof(addr), "127.0.0.%d:%d", i + 1, SSHD_PORT);
	if (!expect(h, "ssh.addr", addr, why, n) || !expect(h, "ssh.hostkey", "match", why, n) ||
	    !expect(h, "ssh.auth", "ok", why, n) || !expect(h, "host.os", "linux", why, n) ||
	    !expect(h, "port.listeners_source", "ss -ltnup", why, n))
		return -1;
	snprintf(addr, sizeof(addr), "127.0.0.%d:", i + 1);
	if (!strstr(fact(h, "tls.host"), addr)) {
		snprintf(why, n, "%s: tls.host %s", h->spec, fact(h, "tls.host"));
		return -1;
	}
	if (h->res.n_runs < 4) {
		snprintf(why, n, "%s: %zu probes ran, want ssh, host, port, tls at least", h->spec,
			 h->res.n_runs);
		return -1;
	}
	for (size_t k = 0; k < h->res.n_runs; k++)
		if (h->res.runs[k].status != MD_OK) {
			snprintf(why, n, "%s: probe %s: %s", h->spec, h->res.runs[k].probe,
				 h->res.runs[k].message);
			return -1;
		}
	return 0;
}

int fleet_run(char *why, size_t n)
{
	struct md_ruleset rules;
	struct md_err e = { 0 };
	struct host_run *h = calloc(FLEET_HOSTS, sizeof(*h));
	pthread_t th[FLEET_HOSTS];
	int rc = 0, started = 0;

	md_ruleset_init(&rules);
	if (!h || md_rules_load_dir(&rules, "rules", &e) != MD_OK) {
		snprintf(why, n, "rules: %s", h ? e.msg : "out of memory");
		free(h);
		md_ruleset_cleanup(&rules);
		return -1;
	}
	for (int i = 0; i < FLEET_HOSTS; i++) {
		snprintf(h[i].spec, sizeof(h[i].spec), "root@127.0.0.%d", i + 1);
		snprintf(h[i].key, sizeof(h[i].key), "%s/key", dir);
		snprintf(h[i].kh, sizeof(h[i].kh), "%s/known_hosts", dir);
		h[i].rules = &rules;
		if (pthread_create(&th[i], NULL, run_one, &h[i]) != 0)
			break;
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (started < FLEET_HOSTS) {
		snprintf(why, n, "only %d threads started", started);
		rc = -1;
	}
	for (int i = 0; i < started; i++) {
		if (rc == 0)
			rc = check_one(&h[i], i, why, n);
		md_host_result_cleanup(&h[i].res);
	}
	free(h);
	md_ruleset_cleanup(&rules);
	return rc;
}
