/* Unit tests: the host probe (probes/host.c) — its parsers, and its facts over a replay
 * session that answers the sections of a host batch as a POSIX shell would, with Windows'
 * answers from fixtures/windows (stand-ins: Windows cannot run here). */
#include "core/hostbatch.h"
#include "probes/host.h"
#include "probes/probe.h"
#include "tests/support/session_replay.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct md_probe probe_host;

static char *read_fixture(const char *rel)
{
	FILE *fp = fopen(rel, "rb");
	char *buf;
	long n;

	cr_assert(fp, "fixture %s (tests run from the repository root)", rel);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	cr_assert(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return buf;
}

struct sudo_case {
	int exit_status;
	const char *err;
	const char *want;
};

static const struct sudo_case sudo_cases[] = {
	{ 0, "", "nopasswd" },
	{ 0, "sudo: unable to resolve host h1: Name or service not known\n", "nopasswd" },
	{ 1, "sudo: a password is required\n", "password" },
	{ 1, "sudo: a terminal is required to read the password; either use the -S option\n", "password" },
	{ 127, "sh: 1: sudo: not found\n", "absent" },
	{ 127, "bash: line 1: sudo: command not found\n", "absent" },
	{ 1, "steve is not in the sudoers file.  This incident will be reported.\n", "denied" },
	{ 1, "Sorry, user steve is not allowed to execute '/usr/bin/true' as root on h1.\n", "denied" },
	{ 1, "sudo: PAM account management error: Authentication service cannot retrieve\n", "error" },
};

Test(host, sudo_classify, .timeout = 10)
{
	for (size_t i = 0; i < sizeof(sudo_cases) / sizeof(sudo_cases[0]); i++)
		cr_assert_str_eq(md_host_sudo_classify(sudo_cases[i].exit_status, sudo_cases[i].err),
				 sudo_cases[i].want, "exit %d, %s", sudo_cases[i].exit_status,
				 sudo_cases[i].err);
}

Test(host, os_from_uname, .timeout = 10)
{
	char buf[64];

	cr_assert_str_eq(md_host_os_from_uname("Linux\n", buf, sizeof(buf)), "linux");
	cr_assert_str_eq(md_host_os_from_uname("Darwin", buf, sizeof(buf)), "darwin");
	cr_assert_str_eq(md_host_os_from_uname("FreeBSD\n", buf, sizeof(buf)), "freebsd");
	cr_assert_str_eq(md_host_os_from_uname("CYGWIN_NT-10.0", buf, sizeof(buf)), "windows");
	cr_assert_null(md_host_os_from_uname("  \n", buf, sizeof(buf)));
}

static struct md_facts facts;
static struct md_session *sess;

static void facts_init(void)
{
	md_facts_init(&facts);
	sess = NULL;
}

static void facts_fini(void)
{
	md_facts_cleanup(&facts);
	md_session_free(sess);
}

TestSuite(host_replay, .init = facts_init, .fini = facts_fini);

static void assert_fact(const char *name, const char *want)
{
	const struct md_fact *f = md_facts_get(&facts, name);

	cr_assert(f, "fact %s missing", name);
	cr_assert_str_eq(f->str, want, "%s (evidence: %s)", name, f->evidence ? f->evidence : "");
}

static const char *evidence(const char *name)
{
	const struct md_fact *f = md_facts_get(&facts, name);

	cr_assert(f && f->evidence, "fact %s (or its evidence) missing", name);
	return f->evidence;
}

/* Runs the probe over a replay session whose banner said Windows (os "windows") or not
 * (NULL), with its steps in a batch first when batched. */
static void run_host(const struct md_replay_entry *e, size_t n, const char *banner_os, bool batched)
{
	struct md_err err = { 0 };
	struct md_hostbatch *b = NULL;
	struct md_ctx ctx = { 0 };

	sess = md_session_new_replay(e, n, banner_os);
	cr_assert(sess);
	ctx.session = sess;
	ctx.deadline = md_deadline_after(md_now_ms(), 2000);
	if (batched) {
		b = md_hostbatch_new(&err);
		cr_assert(b);
		cr_assert_eq(probe_host.host_steps(&ctx, b, &err), MD_OK, "%s", err.msg);
		md_hostbatch_run(b, sess, &ctx.deadline, 0);
		ctx.batch = b;
	}
	cr_assert_eq(probe_host.run(&ctx, &facts, &err), MD_OK, "%s", err.msg);
	md_hostbatch_free(b);
}

static const struct md_replay_entry linux_nopasswd[] = {
	{ "uname -s", 0, "Linux\n", "", false },
	{ "LC_ALL=C sudo -n true", 0, "", "", false },
};

Test(host_replay, linux_with_passwordless_sudo, .timeout = 10)
{
	run_host(linux_nopasswd, 2, NULL, false);
	assert_fact("host.os", "linux");
	cr_assert_str_eq(evidence("host.os"), "`uname -s` printed \"Linux\"");
	assert_fact("host.sudo", "nopasswd");
	cr_assert_eq(md_facts_get(&facts, "host.sudo")->check, MD_CHECK_OK);
}

Test(host_replay, both_questions_share_one_exec_in_a_batch, .timeout = 10)
{
	run_host(linux_nopasswd, 2, NULL, true);
	assert_fact("host.os", "linux");
	assert_fact("host.sudo", "nopasswd");
	cr_assert_eq(md_session_exec_count(sess), 1, "one round trip, not %u",
		     md_session_exec_count(sess));
	cr_assert_str_eq(md_replay_cmd(sess, 0), "uname -s");
	cr_assert_str_eq(md_replay_cmd(sess, 1), "LC_ALL=C sudo -n true");
}

Test(host_replay, without_a_batch_each_question_is_an_exec_of_its_own, .timeout = 10)
{
	run_host(linux_nopasswd, 2, NULL, false);
	cr_assert_eq(md_session_exec_count(sess), 2);
}

Test(host_replay, linux_sudo_needs_password_keeps_stderr, .timeout = 10)
{
	const struct md_replay_entry e[] = {
		{ "uname -s", 0, "Linux\n", "", false },
		{ "LC_ALL=C sudo -n true", 1, "", "sudo: a password is required\n", false },
	};

	run_host(e, 2, NULL, true);
	assert_fact("host.sudo", "password");
	cr_assert_str_eq(evidence("host.sudo"), "`sudo -n true` exit 1, stderr: sudo: a password is required");
	cr_assert_eq(md_facts_get(&facts, "host.sudo")->check, MD_CHECK_WARN);
}

Test(host_replay, darwin_without_sudo, .timeout = 10)
{
	const struct md_replay_entry e[] = {
		{ "uname -s", 0, "Darwin\n", "", false },
		{ "LC_ALL=C sudo -n true", 127, "", "sh: sudo: command not found\n", false },
	};

	run_host(e, 2, NULL, true);
	assert_fact("host.os", "darwin");
	assert_fact("host.sudo", "absent");
}

/* cmd.exe cannot start `sh`: the batch is lost, and `cmd /c ver` answers. */
Test(host_replay, windows_cmd_exe_from_fixtures, .timeout = 10)
{
	char *sh_err = read_fixture("fixtures/windows/ssh_sh_cmd.stderr");
	char *ver = read_fixture("fixtures/windows/ssh_cmd_ver.stdout");
	const struct md_replay_entry e[] = {
		{ "sh -s", 1, "", sh_err, false },
		{ "cmd /c ver", 0, ver, "", false },
	};

	run_host(e, 2, NULL, true);
	assert_fact("host.os", "windows");
	cr_assert(strstr(evidence("host.os"), "Microsoft Windows [Version 10.0.19045.3803]"), "%s",
		  evidence("host.os"));
	cr_assert(strstr(evidence("host.os"), "'sh' is not recognized"), "%s", evidence("host.os"));
	cr_assert_null(md_facts_get(&facts, "host.sudo"), "no sudo question on Windows");
	free(sh_err);
	free(ver);
}

Test(host_replay, windows_powershell_falls_back_to_banner, .timeout = 10)
{
	char *sh_err = read_fixture("fixtures/windows/ssh_sh_powershell.stderr");
	const struct md_replay_entry e[] = {
		{ "sh -s", 1, "", sh_err, false },
		{ "cmd /c ver", 1, "", "Access is denied.\r\n", false },
	};

	run_host(e, 2, "windows", false);
	assert_fact("host.os", "windows");
	cr_assert(strstr(evidence("host.os"), "OpenSSH_for_Windows"));
	cr_assert_eq(md_replay_cmd(sess, 0) != NULL, true);
	cr_assert_str_eq(md_replay_cmd(sess, 0), "cmd /c ver", "no POSIX command after a Windows banner");
	free(sh_err);
}

Test(host_replay, a_windows_banner_gets_no_batch, .timeout = 10)
{
	char *ver = read_fixture("fixtures/windows/ssh_cmd_ver.stdout");
	const struct md_replay_entry e[] = { { "cmd /c ver", 0, ver, "", false } };

	run_host(e, 1, "windows", true);
	assert_fact("host.os", "windows");
	cr_assert_eq(md_session_exec_count(sess), 1);
	cr_assert_str_eq(md_replay_cmd(sess, 0), "cmd /c ver");
	free(ver);
}

Test(host_replay, windows_git_bash_uname, .timeout = 10)
{
	char *out = read_fixture("fixtures/windows/ssh_uname_gitbash.stdout");
	const struct md_replay_entry e[] = {
		{ "uname -s", 0, out, "", false },
		{ "LC_ALL=C sudo -n true", 127, "", "bash: sudo: command not found\n", false },
	};

	run_host(e, 2, NULL, true);
	assert_fact("host.os", "windows");
	cr_assert_null(md_facts_get(&facts, "host.sudo"));
	free(out);
}

Test(host_replay, unknown_os_is_a_fact, .timeout = 10)
{
	run_host(NULL, 0, NULL, true);
	assert_fact("host.os", "unknown");
	cr_assert_eq(md_facts_get(&facts, "host.os")->check, MD_CHECK_WARN);
}

Test(host_replay, hanging_command_times_out, .timeout = 10)
{
	const struct md_replay_entry e[] = { { "uname -s", 0, NULL, NULL, true } };

	run_host(e, 1, NULL, true);
	assert_fact("host.os", "unknown");
	cr_assert(strstr(evidence("host.os"), "no answer before the deadline"), "%s", evidence("host.os"));
}
