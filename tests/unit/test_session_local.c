/* Unit tests: the local and replay kinds of session, through the session interface. */
#include "core/session.h"
#include "tests/support/session_replay.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct md_deadline soon(void)
{
	return md_deadline_after(md_now_ms(), 5000);
}

Test(session_local, runs_commands_under_sh_with_stdin_status_and_both_streams, .timeout = 10)
{
	struct md_err e = { 0 };
	struct md_deadline dl = soon();
	struct md_session *s = md_session_new_local(&e);
	struct md_exec x;

	cr_assert_not_null(s, "%s", e.msg);
	cr_assert_str_eq(md_session_kind(s), "local");
	cr_assert_str_eq(md_session_os(s), "linux");
	md_exec_init(&x);
	cr_assert_eq(md_session_exec(s, "cat; echo err >&2; exit 3", "in", 2, &x, &dl, &e), MD_OK,
		     "%s", e.msg);
	cr_assert_eq(x.exit_status, 3);
	cr_assert_str_eq(md_buf_str(&x.out), "in");
	cr_assert_str_eq(md_buf_str(&x.err), "err\n");
	cr_assert_eq(md_session_exec_count(s), 1);
	md_exec_cleanup(&x);
	md_session_free(s);
}

Test(session_local, a_command_past_its_deadline_is_killed, .timeout = 10)
{
	struct md_err e = { 0 };
	struct md_deadline dl = md_deadline_after(md_now_ms(), 200);
	struct md_session *s = md_session_new_local(&e);
	struct md_exec x;
	int64_t t0 = md_now_ms();

	md_exec_init(&x);
	cr_assert_eq(md_session_exec(s, "sleep 30", NULL, 0, &x, &dl, &e), MD_ETIMEOUT);
	cr_assert_lt(md_now_ms() - t0, 5000, "returned at its deadline");
	md_exec_cleanup(&x);
	md_session_free(s);
}

Test(session_local, files_are_replaced_whole_with_the_mode_asked_for, .timeout = 10)
{
	char dir[] = "/tmp/md-test-local-XXXXXX", path[300], other[300];
	struct md_err e = { 0 };
	struct md_deadline dl = soon();
	struct md_session *s = md_session_new_local(&e);
	struct md_buf b;
	struct stat st;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(other, sizeof(other), "%s/nosuch/f", dir);
	md_buf_init(&b, 0);
	cr_assert_eq(md_session_write_file(s, path, "old, longer\n", 12, 0644, &dl, &e), MD_OK);
	cr_assert_eq(md_session_write_file(s, path, "new\n", 4, 0600, &dl, &e), MD_OK, "%s", e.msg);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(md_session_read_file(s, path, &b, &dl, &e), MD_OK, "%s", e.msg);
	cr_assert_str_eq(md_buf_str(&b), "new\n");
	cr_assert_eq(md_session_write_file(s, other, "x", 1, 0600, &dl, &e), MD_ENOTFOUND);
	md_err_clear(&e);
	cr_assert_eq(md_session_read_file(s, other, &b, &dl, &e), MD_ENOTFOUND);
	cr_assert(strstr(e.msg, other), "names the file: %s", e.msg);
	unlink(path);
	rmdir(dir);
	md_buf_cleanup(&b);
	md_session_free(s);
}

Test(session_replay, logs_what_it_was_asked_and_keeps_what_was_written, .timeout = 10)
{
	const struct md_replay_entry t[] = { { "uname", 0, "Linux\n", NULL, false } };
	struct md_session *s = md_session_new_replay(t, 1, NULL);
	struct md_deadline dl = soon();
	struct md_err e = { 0 };
	struct md_exec x;
	struct md_buf b;

	md_exec_init(&x);
	md_buf_init(&b, 0);
	cr_assert_eq(md_session_exec(s, "uname -s", NULL, 0, &x, &dl, &e), MD_OK);
	cr_assert_eq(md_session_exec(s, "id -u", NULL, 0, &x, &dl, &e), MD_OK);
	cr_assert_eq(x.exit_status, 127);
	cr_assert_eq(md_session_exec_count(s), 2);
	cr_assert_str_eq(md_replay_cmd(s, 0), "uname -s");
	cr_assert_str_eq(md_replay_cmd(s, 1), "id -u");
	cr_assert_null(md_replay_cmd(s, 2));
	cr_assert_eq(md_session_write_file(s, "C:/temp/join-mesh.ps1", "tailscale up\n", 13, 0600, &dl,
					   &e), MD_OK);
	cr_assert_str_eq(md_replay_file(s, "C:/temp/join-mesh.ps1"), "tailscale up\n");
	cr_assert_eq(md_session_read_file(s, "C:/temp/join-mesh.ps1", &b, &dl, &e), MD_OK);
	cr_assert_str_eq(md_buf_str(&b), "tailscale up\n");
	cr_assert_eq(md_session_read_file(s, "/nosuch", &b, &dl, &e), MD_ENOTFOUND);
	md_buf_cleanup(&b);
	md_exec_cleanup(&x);
	md_session_free(s);
}
