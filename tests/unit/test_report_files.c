/* Unit tests: a report file is replaced whole or not at all.  The real binary writes
 * --json into a small tmpfs that fills up, and is interrupted (SIGINT) while a probe waits;
 * either way the report that was there stays as it was and no temporary file is left.
 * Needs root (mount, and a network namespace of the test's own: the probe waits on a
 * listener on its loopback that never speaks). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OLD "{\"old\": \"report\"}\n"

static char dir[] = "/tmp/md-test-reports-XXXXXX";
static char report[300];

static void setup(void)
{
	FILE *fp;

	cr_assert_eq(unshare(CLONE_NEWNET | CLONE_NEWNS), 0, "unshare needs root");
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0, "%s", strerror(errno));
	cr_assert_eq(system("ip link set lo up"), 0);
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(mount("tmpfs", dir, "tmpfs", 0, "size=64k"), 0, "mount tmpfs: %s", strerror(errno));
	snprintf(report, sizeof(report), "%s/r.json", dir);
	fp = fopen(report, "w");
	cr_assert_not_null(fp);
	fputs(OLD, fp);
	fclose(fp);
}

static void teardown(void)
{
	umount2(dir, MNT_DETACH);
	rmdir(dir);
}

TestSuite(report_files, .init = setup, .fini = teardown, .timeout = 30);

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *fp = fopen(path, "r");
	size_t n;

	cr_assert_not_null(fp, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* The names in dir other than r.json and filler: a temporary file left behind. */
static void assert_nothing_left(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	cr_assert_not_null(d);
	while ((e = readdir(d)))
		cr_assert(e->d_name[0] == '.' || strcmp(e->d_name, "r.json") == 0 ||
			  strcmp(e->d_name, "filler") == 0, "left in %s: %s", dir, e->d_name);
	closedir(d);
	cr_assert_str_eq(slurp(report), OLD, "the old report changed");
}

/* Starts the binary with args (stdout and stderr to err_path); its pid. */
static pid_t start(const char *const args[], const char *err_path)
{
	const char *bin = getenv("MD_BIN");
	const char *argv[32];
	size_t n = 0;
	pid_t pid;

	argv[n++] = bin && *bin ? bin : "./meshdoctor";
	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

Test(report_files, a_full_disk_leaves_the_old_report_and_no_temporary_file)
{
	char filler[320], log[] = "/tmp/md-test-reports-log-XXXXXX";
	const char *args[] = { "check", "root@127.0.0.1", "--port", "1", "--no-ssh-config",
			       "--probes", "ssh", "--rules", "rules", "--json", report, NULL };
	int st, fd = mkstemp(log);

	cr_assert_geq(fd, 0);
	close(fd);
	/* Fill the tmpfs: the new report cannot be written whole. */
	snprintf(filler, sizeof(filler), "dd if=/dev/zero of=%s/filler bs=1k 2>/dev/null; true", dir);
	cr_assert_eq(system(filler), 0);
	waitpid(start(args, log), &st, 0);
	cr_assert(WIFEXITED(st));
	cr_assert_eq(WEXITSTATUS(st), 3, "exit %d: %s", WEXITSTATUS(st), slurp(log));
	cr_assert(strstr(slurp(log), "No space left on device"), "%s", slurp(log));
	assert_nothing_left();
	unlink(log);
}

Test(report_files, an_interrupted_run_leaves_the_old_report_and_no_temporary_file)
{
	char log[] = "/tmp/md-test-reports-log-XXXXXX", port[16];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	const char *args[] = { "check", "root@127.0.0.1", "--port", port, "--no-ssh-config",
			       "--probes", "ssh", "--rules", "rules", "--timeout", "20s",
			       "--json", report, NULL };
	int st, fd = mkstemp(log), srv = socket(AF_INET, SOCK_STREAM, 0);
	struct timespec pause = { 0, 500 * 1000 * 1000 };
	pid_t pid;

	cr_assert_geq(fd, 0);
	close(fd);
	/* A listener that never accepts: the connection is made, no banner ever comes. */
	cr_assert_eq(bind(srv, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(srv, 8), 0);
	cr_assert_eq(getsockname(srv, (struct sockaddr *)&a, &alen), 0);
	snprintf(port, sizeof(port), "%d", ntohs(a.sin_port));
	pid = start(args, log);
	nanosleep(&pause, NULL);
	cr_assert_eq(kill(pid, SIGINT), 0);
	waitpid(pid, &st, 0);
	cr_assert(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) != 0), "ended normally: %s",
		  slurp(log));
	assert_nothing_left();
	close(srv);
	unlink(log);
}
