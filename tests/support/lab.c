/* lab.c — see lab.h.  Test-support code: it may print diagnostics to stderr. */
#include "tests/support/lab.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LAB_MAX_PIDS 64
#define LAB_MAX_NS 16

struct lab {
	char dir[256];
	char path[LAB_MAX_NS][512];
	int path_next;
	pid_t pids[LAB_MAX_PIDS];
	size_t n_pids;
	char ns[LAB_MAX_NS][64];
	size_t n_ns;
	char buildpath[512];
	bool run_as;          /* lab_run_md_as(): the next meshdoctor run drops to this user */
	uid_t run_uid;
	gid_t run_gid;
	char run_user[64], run_home[256];
	const char *stdin_path; /* lab_run_md_stdin(): the next run's standard input */
};

static struct lab *live_labs[8];

static void lab_atexit(void)
{
	for (size_t i = 0; i < sizeof(live_labs) / sizeof(live_labs[0]); i++)
		if (live_labs[i])
			lab_free(live_labs[i]);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Runs argv (no shell) in the root namespace and waits; returns exit code or -1. */
static int run_argv(const char *const argv[], const char *log)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct lab *lab_new(const char *tag)
{
	static bool registered;
	struct lab *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	snprintf(l->dir, sizeof(l->dir), "/tmp/mdlab-%d-%s", (int)getpid(), tag);
	{
		const char *argv[] = { "rm", "-rf", l->dir, NULL };

		run_argv(argv, NULL);
	}
	if (mkdir(l->dir, 0755) != 0) {
		fprintf(stderr, "lab: mkdir %s: %s\n", l->dir, strerror(errno));
		free(l);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(live_labs) / sizeof(live_labs[0]); i++)
		if (!live_labs[i]) {
			live_labs[i] = l;
			break;
		}
	if (!registered) {
		atexit(lab_atexit);
		registered = true;
	}
	return l;
}

const char *lab_dir(const struct lab *l)
{
	return l->dir;
}

const char *lab_path(struct lab *l, const char *name)
{
	char *p = l->path[l->path_next], tmp[sizeof(l->path[0])];

	l->path_next = (l->path_next + 1) % LAB_MAX_NS;
	/* name may itself be an earlier lab_path() result: build in a copy. */
	snprintf(tmp, sizeof(tmp), "%s/%s", l->dir, name);
	memcpy(p, tmp, sizeof(tmp));
	return p;
}

const char *lab_build_path(struct lab *l, const char *rel)
{
	const char *b = getenv("MD_BUILD");

	snprintf(l->buildpath, sizeof(l->buildpath), "%s/%s", b && *b ? b : "build", rel);
	return l->buildpath;
}

static void kill_ns_pids(const char *ns)
{
	char path[128], line[64];
	FILE *f;
	/* `ip netns pids` lists every process whose network namespace is ns. */
	char cmd[] = "ip";
	int pfd[2];
	pid_t pid;

	if (pipe(pfd))
		return;
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		execlp(cmd, cmd, "netns", "pids", ns, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		pid_t victim = (pid_t)atoi(line);

		if (victim > 1 && victim != getpid())
			kill(victim, SIGKILL);
	}
	if (f)
		fclose(f);
	waitpid(pid, NULL, 0);
	(void)path;
}

void lab_free(struct lab *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < sizeof(live_labs) / sizeof(live_labs[0]); i++)
		if (live_labs[i] == l)
			live_labs[i] = NULL;
	for (size_t i = 0; i < l->n_pids; i++)
		if (l->pids[i] > 0)
			kill(l->pids[i], SIGTERM);
	for (int waited = 0; waited < 1000; waited += 20) {
		bool alive = false;

		for (size_t i = 0; i < l->n_pids; i++)
			if (l->pids[i] > 0) {
				if (waitpid(l->pids[i], NULL, WNOHANG) == l->pids[i])
					l->pids[i] = 0;
				else
					alive = true;
			}
		if (!alive)
			break;
		sleep_ms(20);
	}
	for (size_t i = 0; i < l->n_pids; i++)
		if (l->pids[i] > 0) {
			kill(l->pids[i], SIGKILL);
			waitpid(l->pids[i], NULL, 0);
		}
	for (size_t i = 0; i < l->n_ns; i++) {
		const char *argv[] = { "ip", "netns", "delete", l->ns[i], NULL };

		kill_ns_pids(l->ns[i]);
		run_argv(argv, NULL);
	}
	if (!getenv("MD_LAB_KEEP")) {
		const char *argv[] = { "rm", "-rf", l->dir, NULL };

		run_argv(argv, NULL);
	}
	free(l);
}

const char *lab_netns(struct lab *l, const char *suffix)
{
	char *name;

	if (l->n_ns >= LAB_MAX_NS)
		return NULL;
	name = l->ns[l->n_ns];
	snprintf(name, sizeof(l->ns[0]), "mdlab-%d-%s", (int)getpid(), suffix);
	{
		const char *del[] = { "ip", "netns", "delete", name, NULL };
		const char *add[] = { "ip", "netns", "add", name, NULL };
		const char *lo[] = { "ip", "-n", name, "link", "set", "lo", "up", NULL };

		run_argv(del, NULL);
		if (run_argv(add, lab_path(l, "sh.log")) != 0)
			return NULL;
		l->n_ns++;
		if (run_argv(lo, lab_path(l, "sh.log")) != 0)
			return NULL;
	}
	return name;
}

int lab_veth(struct lab *l, const char *ns_a, const char *if_a, const char *cidr_a,
	     const char *ns_b, const char *if_b, const char *cidr_b)
{
	return lab_sh(l, NULL,
		      "ip link add %s netns %s type veth peer name %s netns %s && "
		      "ip -n %s addr add %s dev %s && ip -n %s addr add %s dev %s && "
		      "ip -n %s link set %s up && ip -n %s link set %s up",
		      if_a, ns_a, if_b, ns_b, ns_a, cidr_a, if_a, ns_b, cidr_b, if_b, ns_a, if_a,
		      ns_b, if_b) == 0 ? 0 : -1;
}

/* In a forked child: enter namespace ns and prove it (the traffic rule in lab.h). */
static int enter_netns(const char *ns)
{
	char path[256];
	struct stat want, self, root, before;
	int fd;

	if (!ns || !*ns)
		return -1;
	if (stat("/proc/self/ns/net", &before) != 0)
		return -1;
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) != 0)
		return -1;
	close(fd);
	if (stat(path, &want) || stat("/proc/self/ns/net", &self))
		return -1;
	/* PID 1's namespace can be unreadable even to root (a sandbox's init): then the
	 * namespace this child started in stands for the root one. */
	if (stat("/proc/1/ns/net", &root) != 0)
		root = before;
	if (want.st_ino != self.st_ino || self.st_ino == root.st_ino)
		return -1;
	return 0;
}

pid_t lab_spawn(struct lab *l, const char *ns, const char *const argv[], const char *log_name)
{
	const char *log = lab_path(l, log_name ? log_name : "spawn.log");
	pid_t pid;

	if (!ns) {
		fprintf(stderr, "lab: refusing to start %s outside a namespace\n", argv[0]);
		return -1;
	}
	if (l->n_pids >= LAB_MAX_PIDS)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		setpgid(0, 0);
		if (enter_netns(ns) != 0) {
			dprintf(fd, "lab: cannot enter namespace %s\n", ns);
			_exit(126);
		}
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		{
			int devnull = open("/dev/null", O_RDONLY);

			if (devnull >= 0)
				dup2(devnull, 0);
		}
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "lab: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	l->pids[l->n_pids++] = pid;
	return pid;
}

void lab_stop(struct lab *l, pid_t pid)
{
	for (size_t i = 0; i < l->n_pids; i++) {
		if (l->pids[i] != pid)
			continue;
		kill(pid, SIGTERM);
		for (int w = 0; w < 1000; w += 20) {
			if (waitpid(pid, NULL, WNOHANG) == pid) {
				l->pids[i] = 0;
				return;
			}
			sleep_ms(20);
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		l->pids[i] = 0;
	}
}

int lab_sh(struct lab *l, const char *ns, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	pid_t pid;
	int status;
	const char *log = lab_path(l, "sh.log");

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (ns && enter_netns(ns) != 0)
			_exit(126);
		if (fd >= 0) {
			dprintf(fd, "$ [%s] %s\n", ns ? ns : "root", cmd);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int lab_wait_tcp(struct lab *l, const char *ns, const char *host, int port, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;

	/* bash's /dev/tcp would need bash; nc -z is in netcat-openbsd. */
	while (now_ms() < end) {
		if (lab_sh(l, ns, "nc -z -w 1 %s %d", host, port) == 0)
			return 0;
		sleep_ms(30);
	}
	return -1;
}

int lab_wait_file(const char *path, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;

	while (now_ms() < end) {
		if (access(path, F_OK) == 0)
			return 0;
		sleep_ms(20);
	}
	return -1;
}

void lab_md_result_free(struct lab_md_result *r)
{
	free(r->out);
	free(r->err);
	cJSON_Delete(r->report);
	memset(r, 0, sizeof(*r));
}

char *lab_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (!f)
		return strdup("");
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			if (!buf)
				break;
		}
		size_t got = fread(buf + len, 1, 4096, f);

		len += got;
		if (got == 0)
			break;
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf ? buf : strdup("");
}

/* What a child that drops to another user needs, prepared before fork(): between fork()
 * and exec only async-signal-safe calls may run (the test process may have threads), and
 * initgroups() and setenv() allocate and take locks. */
struct drop_plan {
	gid_t groups[256];
	int n_groups;
	char **envp; /* the environment without HOME and SSH_AUTH_SOCK, then HOME=home */
	char home_var[300];
};

static int drop_plan_make(const struct lab *l, struct drop_plan *d)
{
	extern char **environ;
	size_t n = 0, k = 0;

	d->n_groups = (int)(sizeof(d->groups) / sizeof(d->groups[0]));
	if (getgrouplist(l->run_user, l->run_gid, d->groups, &d->n_groups) < 0)
		return -1;
	for (char **e = environ; *e; e++)
		n++;
	d->envp = calloc(n + 2, sizeof(*d->envp));
	if (!d->envp)
		return -1;
	for (char **e = environ; *e; e++)
		/* The user's own agent, if any, is not root's: never hand it the socket. */
		if (strncmp(*e, "HOME=", 5) != 0 && strncmp(*e, "SSH_AUTH_SOCK=", 14) != 0)
			d->envp[k++] = *e;
	snprintf(d->home_var, sizeof(d->home_var), "HOME=%s", l->run_home);
	d->envp[k++] = d->home_var;
	d->envp[k] = NULL;
	return 0;
}

/* The program file execvp() would run, found before fork(). */
static int find_program(const char *name, char *out, size_t n)
{
	const char *path = getenv("PATH");

	if (strchr(name, '/')) {
		snprintf(out, n, "%s", name);
		return 0;
	}
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t len = strcspn(p, ":");

		snprintf(out, n, "%.*s%s%s", (int)len, p, len ? "/" : "", name);
		if (access(out, X_OK) == 0)
			return 0;
		p += len;
		if (*p == ':')
			p++;
	}
	return -1;
}

static void child_fail(int fd, const char *msg)
{
	if (fd >= 0 && write(fd, msg, strlen(msg)) < 0) {
		/* nothing more to say */
	}
	_exit(126);
}

int lab_run_md(struct lab *l, const char *ns, const char *const args[], int timeout_ms,
	       struct lab_md_result *r)
{
	extern char **environ;
	const char *bin = getenv("MD_BIN");
	char outp[512], errp[512], prog[1024], ns_msg[128];
	const char *argv[64];
	struct drop_plan drop = { .envp = NULL };
	size_t n = 0;
	int64_t start;
	pid_t pid;
	int status = 0;
	bool json_stdout = false;

	memset(r, 0, sizeof(*r));
	r->exit_code = -1;
	if (!ns) {
		fprintf(stderr, "lab: refusing to run meshdoctor outside a namespace\n");
		return -1;
	}
	argv[n++] = bin && *bin ? bin : "./meshdoctor";
	for (size_t i = 0; args[i] && n < 62; i++) {
		argv[n++] = args[i];
		if (i > 0 && strcmp(args[i], "-") == 0 && strcmp(args[i - 1], "--json") == 0)
			json_stdout = true;
	}
	argv[n] = NULL;
	if (find_program(argv[0], prog, sizeof(prog)) != 0) {
		fprintf(stderr, "lab: %s not found\n", argv[0]);
		return -1;
	}
	if (l->run_as && drop_plan_make(l, &drop) != 0) {
		fprintf(stderr, "lab: cannot prepare the switch to %s\n", l->run_user);
		free(drop.envp);
		return -1;
	}
	snprintf(ns_msg, sizeof(ns_msg), "lab: cannot enter namespace %s\n", ns);
	snprintf(outp, sizeof(outp), "%s/md.out", l->dir);
	snprintf(errp, sizeof(errp), "%s/md.err", l->dir);
	{
		FILE *log = fopen(lab_path(l, "md.log"), "a");

		if (log) {
			fprintf(log, "$ [%s]", ns);
			for (size_t i = 0; i < n; i++)
				fprintf(log, " %s", argv[i]);
			fputc('\n', log);
			fclose(log);
		}
	}
	start = now_ms();
	pid = fork();
	if (pid < 0) {
		free(drop.envp);
		return -1;
	}
	if (pid == 0) {
		int fo = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int devnull = open(l->stdin_path ? l->stdin_path : "/dev/null", O_RDONLY);

		/* A session of its own: no controlling terminal, so meshdoctor never asks on
		 * the terminal a test was started from (its process group is still -pid). */
		setsid();
		if (devnull < 0)
			child_fail(fe, "lab: cannot open the run's standard input\n");
		if (enter_netns(ns) != 0)
			child_fail(fe, ns_msg);
		dup2(devnull, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		if (l->run_as && (setgroups((size_t)drop.n_groups, drop.groups) != 0 ||
				  setgid(l->run_gid) != 0 || setuid(l->run_uid) != 0))
			child_fail(2, "lab: cannot become the test user\n");
		execve(prog, (char *const *)argv, l->run_as ? drop.envp : environ);
		_exit(127);
	}
	free(drop.envp);
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (now_ms() - start > timeout_ms) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			fprintf(stderr, "lab: meshdoctor still running after %d ms, killed\n", timeout_ms);
			break;
		}
		sleep_ms(5);
	}
	r->elapsed_ms = now_ms() - start;
	r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r->out = lab_read_file(outp);
	r->err = lab_read_file(errp);
	if (json_stdout)
		r->report = cJSON_Parse(r->out);
	return 0;
}

bool lab_report_has_finding(const cJSON *report, const char *rule_id)
{
	return lab_report_finding_index(report, rule_id) >= 0;
}

int lab_report_finding_index(const cJSON *report, const char *rule_id)
{
	const cJSON *fs = cJSON_GetObjectItemCaseSensitive(report, "findings"), *f;
	int i = 0;

	cJSON_ArrayForEach(f, fs) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(f, "rule");

		if (cJSON_IsString(id) && strcmp(id->valuestring, rule_id) == 0)
			return i;
		i++;
	}
	return -1;
}

size_t lab_report_n_findings(const cJSON *report)
{
	return (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(report, "findings"));
}

/* The fact object named fact in the report's probes, or NULL. */
static const cJSON *report_fact_node(const cJSON *report, const char *fact)
{
	const cJSON *probes = cJSON_GetObjectItemCaseSensitive(report, "probes"), *p, *x;

	cJSON_ArrayForEach(p, probes) {
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(p, "facts")) {
			const cJSON *name = cJSON_GetObjectItemCaseSensitive(x, "name");

			if (cJSON_IsString(name) && strcmp(name->valuestring, fact) == 0)
				return x;
		}
	}
	return NULL;
}

const char *lab_report_fact(const cJSON *report, const char *fact, char *buf, size_t len)
{
	const cJSON *x = report_fact_node(report, fact);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(x, "value");

	if (!x)
		return NULL;
	if (cJSON_IsString(v))
		snprintf(buf, len, "%s", v->valuestring);
	else if (cJSON_IsBool(v))
		snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
	else if (cJSON_IsNumber(v)) {
		if (v->valuedouble == (double)(long long)v->valuedouble)
			snprintf(buf, len, "%lld", (long long)v->valuedouble);
		else
			snprintf(buf, len, "%.2f", v->valuedouble);
	} else
		snprintf(buf, len, "null");
	return buf;
}

const char *lab_report_evidence(const cJSON *report, const char *fact)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(report_fact_node(report, fact), "evidence");

	return cJSON_IsString(e) ? e->valuestring : NULL;
}

int lab_run_md_stdin(struct lab *l, const char *ns, const char *const args[], const char *input,
		     int timeout_ms, struct lab_md_result *r)
{
	const char *path = lab_path(l, "md.stdin");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), rc;
	size_t len = strlen(input);

	if (fd < 0 || write(fd, input, len) != (ssize_t)len) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	l->stdin_path = path;
	rc = lab_run_md(l, ns, args, timeout_ms, r);
	l->stdin_path = NULL;
	unlink(path);
	return rc;
}

int lab_run_md_as(struct lab *l, const char *ns, const char *user, const char *const args[],
		  int timeout_ms, struct lab_md_result *r)
{
	struct passwd *pw = getpwnam(user);
	int rc;

	if (!pw) {
		fprintf(stderr, "lab: no user %s\n", user);
		return -1;
	}
	l->run_as = true;
	l->run_uid = pw->pw_uid;
	l->run_gid = pw->pw_gid;
	snprintf(l->run_user, sizeof(l->run_user), "%s", user);
	snprintf(l->run_home, sizeof(l->run_home), "%s", pw->pw_dir);
	rc = lab_run_md(l, ns, args, timeout_ms, r);
	l->run_as = false;
	return rc;
}

int lab_sshd_root_host(struct lab *l, const char *ns_srv, const char *ns_cli, const char *host,
		       int port, const char *extra, struct lab_sshd *out)
{
	const char *dir = l->dir;
	char conf[4096], *pub;
	int fd;
	size_t len;
	const char *argv[] = { "/usr/sbin/sshd", "-D", "-e", "-f", out->config, NULL };

	snprintf(out->key, sizeof(out->key), "%s/client_ed25519", dir);
	snprintf(out->kh, sizeof(out->kh), "%s/known_hosts", dir);
	snprintf(out->config, sizeof(out->config), "%s/sshd_config", dir);
	if (lab_sh(l, NULL, "mkdir -p -m0755 /run/sshd && cd %s && "
		   "ssh-keygen -q -t ed25519 -N '' -C lab -f hostkey_ed25519 && "
		   "ssh-keygen -q -t ed25519 -N '' -C lab -f client_ed25519 && "
		   "cp client_ed25519.pub authorized_keys && chmod 644 authorized_keys", dir) != 0)
		return -1;
	pub = lab_read_file(lab_path(l, "hostkey_ed25519.pub"));
	if (!pub)
		return -1;
	if (port == 22)
		snprintf(conf, sizeof(conf), "%s %s", host, pub);
	else
		snprintf(conf, sizeof(conf), "[%s]:%d %s", host, port, pub);
	free(pub);
	fd = open(out->kh, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	len = strlen(conf);
	if (fd < 0 || write(fd, conf, len) != (ssize_t)len) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	snprintf(conf, sizeof(conf),
		 "ListenAddress %s:%d\nHostKey %s/hostkey_ed25519\nPidFile %s/sshd.pid\n"
		 "AuthorizedKeysFile %s/authorized_keys\nPasswordAuthentication no\n"
		 "KbdInteractiveAuthentication no\nUsePAM no\nPermitRootLogin prohibit-password\n"
		 "StrictModes no\nLogLevel VERBOSE\n%s", host, port, dir, dir, dir,
		 extra ? extra : "");
	fd = open(out->config, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	len = strlen(conf);
	if (fd < 0 || write(fd, conf, len) != (ssize_t)len) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if (lab_spawn(l, ns_srv, argv, "sshd.log") <= 0)
		return -1;
	return lab_wait_tcp(l, ns_cli, host, port, 5000);
}
