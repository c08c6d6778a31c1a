/* Unit tests: md_session_exec() over a real libssh2 session, without a network: OpenSSH's
 * sshd runs in inetd mode (`sshd -i`) on one end of a socketpair, with its own host key,
 * configuration and authorized key in a temporary directory.  Needs root, as sshd does
 * (like the lab tests). */
#include "core/proc.h"
#include "core/session.h"
#include "core/session_ssh.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <libssh2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/md-test-session-XXXXXX";
static char path_buf[4][300];
static pid_t sshd_pid = -1;
static struct md_session *s;

static const char *in_dir(int slot, const char *name)
{
	snprintf(path_buf[slot], sizeof(path_buf[slot]), "%s/%s", dir, name);
	return path_buf[slot];
}

static void run(const char *const argv[])
{
	struct md_proc_result r;
	struct md_err e = { 0 };
	struct md_deadline dl = md_deadline_after(md_now_ms(), 10000);

	md_proc_result_init(&r, 65536);
	cr_assert_eq(md_proc_run(argv, NULL, 0, &dl, &r, &e), MD_OK, "%s: %s", argv[0], e.msg);
	cr_assert_eq(r.exit_code, 0, "%s: %s", argv[0], md_buf_str(&r.err));
	md_proc_result_cleanup(&r);
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	cr_assert_not_null(fp, "%s: %s", path, strerror(errno));
	fputs(text, fp);
	fclose(fp);
}

static void setup(void)
{
	char conf[1024];
	int sv[2];

	cr_assert_not_null(mkdtemp(dir));
	{
		const char *host[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
				       in_dir(0, "hostkey"), NULL };
		const char *user[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
				       in_dir(1, "key"), NULL };
		const char *auth[] = { "cp", in_dir(2, "key.pub"), in_dir(3, "authorized_keys"),
				       NULL };

		run(host);
		run(user);
		run(auth);
	}
	/* sshd's privilege separation directory (Debian: /run/sshd), as the lab makes it. */
	mkdir("/run/sshd", 0755);
	snprintf(conf, sizeof(conf),
		 "HostKey %s/hostkey\n"
		 "AuthorizedKeysFile %s/authorized_keys\n"
		 "PidFile none\n"
		 "PasswordAuthentication no\n"
		 "KbdInteractiveAuthentication no\n"
		 "UsePAM no\n"
		 "PermitRootLogin prohibit-password\n"
		 "StrictModes no\n"
		 "Subsystem sftp internal-sftp\n"
		 "LogLevel ERROR\n",
		 dir, dir);
	write_file(in_dir(0, "sshd_config"), conf);

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	sshd_pid = fork();
	cr_assert_geq(sshd_pid, 0);
	if (sshd_pid == 0) {
		int log = open(in_dir(1, "sshd.log"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		dup2(sv[1], 0);
		dup2(sv[1], 1);
		if (log >= 0)
			dup2(log, 2);
		execl("/usr/sbin/sshd", "sshd", "-i", "-e", "-f", in_dir(0, "sshd_config"),
		      (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	{
		struct md_err e = { 0 };
		struct md_deadline dl = md_deadline_after(md_now_ms(), 10000);
		LIBSSH2_SESSION *ssh;
		int rc;

		s = md_session_new_ssh(sv[0], &e);
		cr_assert_not_null(s, "%s", e.msg);
		ssh = md_session_ssh(s);
		while ((rc = libssh2_session_handshake(ssh, sv[0])) == LIBSSH2_ERROR_EAGAIN)
			cr_assert_eq(md_session_wait(s, &dl), MD_OK, "handshake");
		cr_assert_eq(rc, 0, "handshake: %d (see %s)", rc, in_dir(1, "sshd.log"));
		while ((rc = libssh2_userauth_publickey_fromfile(ssh, "root", in_dir(2, "key.pub"),
								 in_dir(3, "key"), NULL)) ==
		       LIBSSH2_ERROR_EAGAIN)
			cr_assert_eq(md_session_wait(s, &dl), MD_OK, "auth");
		cr_assert_eq(rc, 0, "auth: %d (see %s)", rc, in_dir(1, "sshd.log"));
	}
}

static void teardown(void)
{
	md_session_free(s);
	s = NULL;
	if (sshd_pid > 0) {
		kill(sshd_pid, SIGKILL);
		waitpid(sshd_pid, NULL, 0);
	}
	{
		const char *argv[] = { "rm", "-rf", dir, NULL };

		run(argv);
	}
}

TestSuite(session, .init = setup, .fini = teardown, .timeout = 30);

Test(session, exit_status_and_output)
{
	struct md_exec x;
	struct md_err e = { 0 };
	struct md_deadline dl = md_deadline_after(md_now_ms(), 10000);

	md_exec_init(&x);
	cr_assert_eq(md_session_exec(s, "cat; echo err >&2; exit 3", "in", 2, &x, &dl, &e), MD_OK,
		     "%s", e.msg);
	cr_assert_eq(x.exit_status, 3);
	cr_assert_str_eq(md_buf_str(&x.out), "in");
	cr_assert_str_eq(md_buf_str(&x.err), "err\n");
	cr_assert_eq(md_session_exec(s, "true", NULL, 0, &x, &dl, &e), MD_OK, "%s", e.msg);
	cr_assert_eq(x.exit_status, 0);
	md_exec_cleanup(&x);
}

Test(session, connection_lost_before_the_exit_status_is_unknown_not_success)
{
	struct md_exec x;
	struct md_err e = { 0 };
	struct md_deadline dl = md_deadline_after(md_now_ms(), 10000);
	int rc;

	md_exec_init(&x);
	/* Output first, then the end of output (the server sends EOF), then the server's
	 * session process (the command's parent) dies: no exit-status, no close. */
	rc = md_session_exec(s, "echo partial; exec >/dev/null 2>&1 </dev/null; sleep 1; kill -9 $PPID",
			     NULL, 0, &x, &dl, &e);
	cr_assert_eq(rc, MD_OK, "%s", e.msg);
	cr_assert_str_eq(md_buf_str(&x.out), "partial\n");
	cr_assert_eq(x.exit_status, -1, "exit status %d: unknown, never success", x.exit_status);
	md_exec_cleanup(&x);
}

/* ---- Files over SFTP ---- */

Test(session, a_file_written_over_sftp_reads_back_whole_with_its_mode)
{
	struct md_err e = { 0 };
	struct md_deadline dl = md_deadline_after(md_now_ms(), 10000);
	const char *path = in_dir(0, "join-mesh.ps1");
	char data[70000];
	struct md_buf b;
	struct stat st;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)('a' + i % 26);
	md_buf_init(&b, 0);
	cr_assert_eq(md_session_write_file(s, path, data, sizeof(data), 0600, &dl, &e), MD_OK, "%s",
		     e.msg);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
	cr_assert_eq((size_t)st.st_size, sizeof(data));
	cr_assert_eq(md_session_read_file(s, path, &b, &dl, &e), MD_OK, "%s", e.msg);
	cr_assert_eq(b.len, sizeof(data));
	cr_assert(memcmp(b.data, data, sizeof(data)) == 0);
	md_buf_cleanup(&b);
}

Test(session, writing_over_an_existing_file_replaces_it_and_leaves_no_temporary_file)
{
	struct md_err e = { 0 };
	struct md_deadline dl = md_deadline_after(md_now_ms(), 10000);
	const char *path = in_dir(0, "report.json");
	char cmd[400];
	struct md_exec x;
	struct md_buf b;

	md_buf_init(&b, 0);
	write_file(path, "the old one, longer than the new one\n");
	cr_assert_eq(md_session_write_file(s, path, "new\n", 4, 0644, &dl, &e), MD_OK, "%s", e.msg);
	cr_assert_eq(md_session_read_file(s, path, &b, &dl, &e), MD_OK, "%s", e.msg);
	cr_assert_str_eq(md_buf_str(&b), "new\n");
	md_exec_init(&x);
	snprintf(cmd, sizeof(cmd), "ls -a %s", dir);
	cr_assert_eq(md_session_exec(s, cmd, NULL, 0, &x, &dl, &e), MD_OK, "%s", e.msg);
	cr_assert_null(strstr(md_buf_str(&x.out), ".md-"), "a temporary file is left: %s",
		       md_buf_str(&x.out));
	md_exec_cleanup(&x);
	md_buf_cleanup(&b);
}

Test(session, a_missing_file_or_directory_is_not_found)
{
	struct md_err e = { 0 };
	struct md_deadline dl = md_deadline_after(md_now_ms(), 10000);
	struct md_buf b;

	md_buf_init(&b, 0);
	cr_assert_eq(md_session_read_file(s, in_dir(0, "nosuch"), &b, &dl, &e), MD_ENOTFOUND, "%s",
		     e.msg);
	cr_assert(strstr(e.msg, "no such file"), "%s", e.msg);
	md_err_clear(&e);
	cr_assert_eq(md_session_write_file(s, in_dir(0, "nosuch/x"), "x", 1, 0600, &dl, &e),
		     MD_ENOTFOUND, "%s", e.msg);
	/* and the session still runs commands */
	{
		struct md_exec x;

		md_exec_init(&x);
		cr_assert_eq(md_session_exec(s, "true", NULL, 0, &x, &dl, &e), MD_OK);
		md_exec_cleanup(&x);
	}
	md_buf_cleanup(&b);
}

Test(session, counts_the_commands_it_ran)
{
	struct md_err e = { 0 };
	struct md_deadline dl = md_deadline_after(md_now_ms(), 10000);
	struct md_exec x;

	md_exec_init(&x);
	cr_assert_eq(md_session_exec_count(s), 0);
	cr_assert_eq(md_session_exec(s, "true", NULL, 0, &x, &dl, &e), MD_OK);
	cr_assert_eq(md_session_exec(s, "true", NULL, 0, &x, &dl, &e), MD_OK);
	cr_assert_eq(md_session_exec_count(s), 2);
	cr_assert_str_eq(md_session_kind(s), "ssh");
	md_exec_cleanup(&x);
}

/* Under ASan realloc is the sanitizer's own, so this runs in the plain build only.  The
 * test binary's realloc takes the place of the C library's (symbol interposition): when
 * armed, it refuses sizes from fail_from on, which only the output buffer reaches, so
 * libssh2's own packets are never the allocation that fails. */
#ifndef __SANITIZE_ADDRESS__
extern void *__libc_realloc(void *p, size_t n);
static size_t fail_from; /* 0: never */

void *realloc(void *p, size_t n)
{
	if (fail_from && n >= fail_from) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, n);
}

Test(session, no_memory_for_the_output_fails_instead_of_dropping_it)
{
	struct md_exec x;
	struct md_err e = { 0 };
	struct md_deadline dl = md_deadline_after(md_now_ms(), 10000);
	int rc;

	md_exec_init(&x);
	fail_from = 2u * 1024 * 1024;
	rc = md_session_exec(s, "head -c 3000000 /dev/zero", NULL, 0, &x, &dl, &e);
	fail_from = 0;
	cr_assert_eq(rc, MD_ENOMEM, "rc %d (%zu bytes kept): %s", rc, x.out.len, e.msg);
	cr_assert(strstr(e.msg, "stdout: out of memory"), "%s", e.msg);
	md_exec_cleanup(&x);
}
#endif
