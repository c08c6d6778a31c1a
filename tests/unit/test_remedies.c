/* test_remedies.c — remedies/: plans from facts, printing, the recording session of dry
 * runs, applying through a session, and the remedy prepare-sudo. */
#include "core/facts.h"
#include "core/session.h"
#include "remedies/remedy.h"
#include "tests/support/session_replay.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct md_remedy *prepare_sudo(void)
{
	const struct md_remedy *r = md_remedy_find("prepare-sudo");

	cr_assert(r, "prepare-sudo is not in the registry");
	return r;
}

/* The plan prepare-sudo makes for user with host.sudo = sudo (NULL: no fact) on os. */
static void plan_for(const char *user, const char *sudo, const char *os, bool all,
		     struct md_plan *p)
{
	struct md_facts f;
	struct md_remedy_in in = { .facts = &f, .user = user, .sudo_all = all };
	struct md_err e = { 0 };

	md_facts_init(&f);
	if (sudo)
		cr_assert_eq(md_fact_str(&f, "host", "host.sudo", sudo, "`sudo -n true` exit 1"), MD_OK);
	if (os)
		cr_assert_eq(md_fact_str(&f, "host", "host.os", os, NULL), MD_OK);
	md_plan_init(p, "prepare-sudo");
	cr_assert_eq(prepare_sudo()->plan(&in, p, &e), MD_OK, "%s", e.msg);
	md_facts_cleanup(&f);
}

static const struct md_secret dry_secret = { .name = "sudo-password",
					     .shown = "<sudo password from the terminal>" };

Test(prepare_sudo, password_sudo_gives_two_steps_stage_then_visudo_and_install)
{
	struct md_plan p;

	plan_for("alice", "password", "linux", false, &p);
	cr_assert_eq(p.n, 2);
	cr_assert_str_empty(p.refused);
	cr_assert_eq(p.v[0].kind, MD_STEP_WRITE);
	cr_assert_str_eq(p.v[0].path, ".meshdoctor-sudoers.new");
	cr_assert_eq(p.v[0].mode, 0600);
	cr_assert(strstr(p.v[0].data, "Cmnd_Alias MESHDOCTOR_ALICE = /usr/bin/true"), "%s", p.v[0].data);
	cr_assert(strstr(p.v[0].data, "\nalice ALL=(root) NOPASSWD: MESHDOCTOR_ALICE\n"), "%s", p.v[0].data);
	cr_assert_eq(p.v[1].kind, MD_STEP_RUN);
	cr_assert_str_eq(p.v[1].stdin_secret, "sudo-password");
	/* sudo runs visudo and install; the user's shell removes the staged copy after it,
	 * whatever sudo said; the whole line under sh, whatever the login shell. */
	cr_assert_str_eq(p.v[1].cmd,
			 "sh -c 'sudo -S -p '\\'''\\'' -- /bin/sh -c '\\''visudo -cf \"$1\" >&2 && "
			 "install -o root -g 0 -m 0440 \"$1\" \"$2\"'\\'' meshdoctor-prepare "
			 "'\\''.meshdoctor-sudoers.new'\\'' '\\''/etc/sudoers.d/meshdoctor-alice'\\''; "
			 "rc=$?; rm -f '\\''.meshdoctor-sudoers.new'\\''; exit $rc'");
	cr_assert_str_eq(p.verify_fact, "host.sudo");
	cr_assert_str_eq(p.verify_value, "nopasswd");
	md_plan_cleanup(&p);
}

Test(prepare_sudo, sudo_all_allows_every_command)
{
	struct md_plan p;

	plan_for("bob", "password", NULL, true, &p);
	cr_assert_eq(p.n, 2);
	cr_assert(strstr(p.v[0].data, "\nbob ALL=(ALL) NOPASSWD: ALL\n"), "%s", p.v[0].data);
	cr_assert_null(strstr(p.v[0].data, "Cmnd_Alias"));
	md_plan_cleanup(&p);
}

Test(prepare_sudo, a_dot_in_the_user_is_not_in_the_drop_in_name_sudo_would_skip)
{
	struct md_plan p;

	plan_for("j.doe", "password", "linux", false, &p);
	cr_assert(strstr(p.v[1].cmd, "'\\''/etc/sudoers.d/meshdoctor-j_doe'\\''"), "%s", p.v[1].cmd);
	cr_assert(strstr(p.v[0].data, "Cmnd_Alias MESHDOCTOR_J_DOE = "), "%s", p.v[0].data);
	cr_assert(strstr(p.v[0].data, "\nj.doe ALL=(root) NOPASSWD: MESHDOCTOR_J_DOE\n"));
	md_plan_cleanup(&p);
}

Test(prepare_sudo, already_passwordless_is_nothing_to_do)
{
	struct md_plan p;
	struct md_buf out;

	plan_for("alice", "nopasswd", "linux", false, &p);
	cr_assert_eq(p.n, 0);
	cr_assert(strstr(p.nothing, "host.sudo = nopasswd"), "%s", p.nothing);
	md_buf_init(&out, 0);
	cr_assert_eq(md_plan_print(&p, "alice@office-one", NULL, 0, &out), MD_OK);
	cr_assert(strstr(md_buf_str(&out), "prepare-sudo on alice@office-one: nothing to do: "),
		  "%s", md_buf_str(&out));
	md_buf_cleanup(&out);
	md_plan_cleanup(&p);
}

Test(prepare_sudo, refuses_where_it_cannot_help_and_says_what_to_do)
{
	static const struct { const char *sudo, *os, *says; } cases[] = {
		{ "absent", "linux", "apt-get install sudo" },
		{ "denied", "linux", "sudo (or wheel) group" },
		{ "error", "linux", "neither worked nor asked" },
		{ NULL, "linux", "host.sudo is missing" },
		{ "password", "windows", "Windows" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct md_plan p;

		plan_for("alice", cases[i].sudo, cases[i].os, false, &p);
		cr_assert_eq(p.n, 0, "case %zu", i);
		cr_assert(strstr(p.refused, cases[i].says), "case %zu: %s", i, p.refused);
		md_plan_cleanup(&p);
	}
}

Test(prepare_sudo, a_user_name_that_could_inject_is_refused)
{
	const char *bad[] = { "a b", "x;reboot", "-n", "root'", "", NULL };

	for (size_t i = 0; bad[i]; i++) {
		struct md_plan p;

		plan_for(bad[i], "password", "linux", false, &p);
		cr_assert_eq(p.n, 0, "%s", bad[i]);
		cr_assert(strstr(p.refused, "not one a sudoers drop-in can name"), "%s", p.refused);
		md_plan_cleanup(&p);
	}
}

Test(plan, printed_plan_shows_each_step_the_file_and_the_secret_by_its_placeholder)
{
	struct md_plan p;
	struct md_buf out;
	const char *s;

	plan_for("alice", "password", "linux", false, &p);
	md_buf_init(&out, 0);
	cr_assert_eq(md_plan_print(&p, "alice@office-one", &dry_secret, 1, &out), MD_OK);
	s = md_buf_str(&out);
	cr_assert(strstr(s, "prepare-sudo on alice@office-one: 2 steps\n"), "%s", s);
	cr_assert(strstr(s, "  1. stage the sudoers drop-in"), "%s", s);
	cr_assert(strstr(s, "     write .meshdoctor-sudoers.new (mode 0600, "), "%s", s);
	cr_assert(strstr(s, "    alice ALL=(root) NOPASSWD: MESHDOCTOR_ALICE\n"), "%s", s);
	cr_assert(strstr(s, "     run: sh -c 'sudo -S -p "), "%s", s);
	cr_assert(strstr(s, "     standard input: <sudo password from the terminal>\n"), "%s", s);
	cr_assert(strstr(s, "  then: re-run the host probe and expect host.sudo = nopasswd\n"), "%s", s);
	md_buf_cleanup(&out);
	md_plan_cleanup(&p);
}

/* The dry run goes through md_plan_apply() like the real run: what the recording session
 * logs is what a host gets, the secret as its placeholder. */
Test(plan, dry_run_records_what_the_host_would_receive_and_runs_nothing)
{
	struct md_plan p;
	struct md_buf log;
	struct md_err e = { 0 };
	struct md_apply_result ar;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 1000);
	struct md_session *rec;
	const char *s;

	plan_for("alice", "password", "linux", false, &p);
	md_buf_init(&log, 0);
	rec = md_session_new_recording("10.0.0.5:22", "linux", &log, &e);
	cr_assert(rec);
	cr_assert_eq(md_plan_apply(&p, rec, &dry_secret, 1, &dl, &ar, &e), MD_OK, "%s", e.msg);
	cr_assert_eq(ar.done, 2);
	s = md_buf_str(&log);
	cr_assert(strstr(s, "  1. would write .meshdoctor-sudoers.new (mode 0600, "), "%s", s);
	cr_assert(strstr(s, "      | alice ALL=(root) NOPASSWD: MESHDOCTOR_ALICE\n"), "%s", s);
	cr_assert(strstr(s, "  2. would run: sh -c 'sudo -S -p "), "%s", s);
	cr_assert(strstr(s, "     with on its standard input:\n      | <sudo password from the terminal>\n"),
		  "%s", s);
	md_session_free(rec);
	md_buf_cleanup(&log);
	md_plan_cleanup(&p);
}

/* Applied through a session: the file over the session's files, the command with the
 * password on its standard input only, and the command line free of it. */
Test(plan, apply_writes_the_file_and_gives_the_secret_on_stdin_only)
{
	static const struct md_replay_entry ok[] = { { "sh -c 'sudo -S ", 0, "", "", false } };
	struct md_secret sec = dry_secret;
	struct md_plan p;
	struct md_err e = { 0 };
	struct md_apply_result ar;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 1000);
	struct md_session *s = md_session_new_replay(ok, 1, "linux");
	const char *in;
	size_t in_len;

	sec.value = "pa'ss $word";
	sec.len = strlen(sec.value);
	plan_for("alice", "password", "linux", false, &p);
	cr_assert_eq(md_plan_apply(&p, s, &sec, 1, &dl, &ar, &e), MD_OK, "%s", e.msg);
	cr_assert_eq(ar.done, 2);
	cr_assert(md_replay_file(s, ".meshdoctor-sudoers.new"));
	cr_assert(strstr(md_replay_file(s, ".meshdoctor-sudoers.new"), "NOPASSWD"));
	cr_assert_eq(md_session_exec_count(s), 1);
	cr_assert_null(strstr(md_replay_cmd(s, 0), "word"), "%s", md_replay_cmd(s, 0));
	in = md_replay_last_stdin(s, &in_len);
	cr_assert_eq(in_len, strlen("pa'ss $word\n"));
	cr_assert_str_eq(in, "pa'ss $word\n");
	md_session_free(s);
	md_plan_cleanup(&p);
}

Test(plan, a_failing_step_stops_the_plan_with_its_status_and_all_it_said)
{
	static const struct md_replay_entry wrong[] = {
		{ "sudo -S ", 1, "", "Sorry, try again.\nsudo: 1 incorrect password attempt\n", false },
		{ "echo after", 0, "", "", false },
	};
	struct md_secret sec = dry_secret;
	struct md_plan p;
	struct md_err e = { 0 };
	struct md_apply_result ar;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 1000);
	struct md_session *s = md_session_new_replay(wrong, 2, "linux");

	sec.value = "wrong";
	sec.len = 5;
	md_plan_init(&p, "test");
	cr_assert_eq(md_plan_run(&p, "first", "sudo -S true", "sudo-password"), MD_OK);
	cr_assert_eq(md_plan_run(&p, "second", "echo after", NULL), MD_OK);
	cr_assert_eq(md_plan_apply(&p, s, &sec, 1, &dl, &ar, &e), MD_EIO);
	cr_assert_eq(ar.failed, 1);
	cr_assert_eq(ar.done, 0);
	cr_assert_str_eq(ar.evidence, "exit 1: Sorry, try again. / sudo: 1 incorrect password attempt");
	cr_assert(strstr(e.msg, "step 1 (first) failed: exit 1: "), "%s", e.msg);
	cr_assert_eq(md_session_exec_count(s), 1, "the plan went on after a failed step");
	md_session_free(s);
	md_plan_cleanup(&p);
}

Test(plan, a_step_whose_secret_was_not_given_is_refused_before_it_runs)
{
	struct md_plan p;
	struct md_err e = { 0 };
	struct md_apply_result ar;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 1000);
	struct md_session *s = md_session_new_replay(NULL, 0, "linux");

	md_plan_init(&p, "test");
	cr_assert_eq(md_plan_run(&p, "needs a key", "tailscale up", "auth-key"), MD_OK);
	cr_assert_eq(md_plan_apply(&p, s, NULL, 0, &dl, &ar, &e), MD_EINVAL);
	cr_assert(strstr(e.msg, "auth-key"), "%s", e.msg);
	cr_assert_eq(md_session_exec_count(s), 0);
	md_session_free(s);
	md_plan_cleanup(&p);
}

Test(plan, verified_only_with_the_value_wanted)
{
	struct md_plan p;
	struct md_facts f;

	plan_for("alice", "password", "linux", false, &p);
	md_facts_init(&f);
	cr_assert_not(md_plan_verified(&p, &f));
	cr_assert_eq(md_fact_str(&f, "host", "host.sudo", "password", NULL), MD_OK);
	cr_assert_not(md_plan_verified(&p, &f));
	md_facts_cleanup(&f);
	md_facts_init(&f);
	cr_assert_eq(md_fact_str(&f, "host", "host.sudo", "nopasswd", NULL), MD_OK);
	cr_assert(md_plan_verified(&p, &f));
	md_facts_cleanup(&f);
	md_plan_cleanup(&p);
}

/* start-tailscaled: what the facts of the tailscale and host probes make of it. */
static void ts_plan(const char *user, const char *daemon, const char *hint, const char *os,
		    const char *sudo, struct md_plan *p)
{
	const struct md_remedy *r = md_remedy_find("start-tailscaled");
	struct md_facts f;
	struct md_remedy_in in = { .facts = &f, .user = user };
	struct md_err e = { 0 };

	cr_assert(r, "start-tailscaled is not in the registry");
	md_facts_init(&f);
	if (daemon)
		md_fact_str(&f, "tailscale", "tailscale.daemon", daemon, NULL);
	if (hint)
		md_fact_str(&f, "tailscale", "tailscale.daemon_hint", hint, NULL);
	if (os)
		md_fact_str(&f, "host", "host.os", os, NULL);
	if (sudo)
		md_fact_str(&f, "host", "host.sudo", sudo, NULL);
	md_plan_init(p, r->name);
	cr_assert_eq(r->plan(&in, p, &e), MD_OK, "%s", e.msg);
	md_facts_cleanup(&f);
}

Test(start_tailscaled, systemd_as_root_or_through_passwordless_sudo)
{
	struct md_plan p;

	ts_plan("root", "unreachable", "linux", "linux", NULL, &p);
	cr_assert_eq(p.n, 1);
	cr_assert_str_eq(p.v[0].cmd, "systemctl enable --now tailscaled");
	cr_assert_null(p.v[0].stdin_secret);
	cr_assert_str_eq(p.verify_fact, "tailscale.daemon");
	cr_assert_str_eq(p.verify_value, "reachable");
	md_plan_cleanup(&p);
	ts_plan("steve", "unreachable", "linux-systemd", "linux", "nopasswd", &p);
	cr_assert_eq(p.n, 1);
	cr_assert_str_eq(p.v[0].cmd, "sudo -n -- systemctl enable --now tailscaled");
	md_plan_cleanup(&p);
}

Test(start_tailscaled, nothing_to_do_or_refused_with_what_to_do)
{
	static const struct { const char *user, *daemon, *hint, *os, *sudo, *says; } cases[] = {
		{ "steve", "unreachable", "linux", "linux", "password", "run `meshdoctor prepare`" },
		{ "steve", "unreachable", "windows", "windows", NULL, "Start-Service Tailscale" },
		{ "steve", "unreachable", "macos", "darwin", "nopasswd", "Tailscale app" },
		{ "root", "unreachable", "socket", "linux", NULL, "socket fails" },
		{ "root", "unreachable", "raw", "linux", NULL, "which init system" },
		{ "root", NULL, NULL, "linux", NULL, "tailscale.daemon is missing" },
	};
	struct md_plan p;

	ts_plan("root", "reachable", NULL, "linux", NULL, &p);
	cr_assert_eq(p.n, 0);
	cr_assert(strstr(p.nothing, "tailscaled answers"), "%s", p.nothing);
	cr_assert_str_empty(p.refused);
	md_plan_cleanup(&p);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ts_plan(cases[i].user, cases[i].daemon, cases[i].hint, cases[i].os, cases[i].sudo, &p);
		cr_assert_eq(p.n, 0, "case %zu", i);
		cr_assert(strstr(p.refused, cases[i].says), "case %zu: %s", i, p.refused);
		md_plan_cleanup(&p);
	}
}

/* What the dry run shows is what a real run sends: the same commands, in order. */
Test(plan, the_dry_run_records_the_commands_the_real_run_sends)
{
	static const struct md_replay_entry ok[] = { { "", 0, "", "", false } };
	struct md_plan p;
	struct md_buf log;
	struct md_err e = { 0 };
	struct md_apply_result ar;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 1000);
	struct md_session *rec, *real;
	struct md_secret sec = dry_secret;
	char want[2048];

	sec.value = "pw";
	sec.len = 2;
	plan_for("alice", "password", "linux", false, &p);
	md_buf_init(&log, 0);
	rec = md_session_new_recording("h", "linux", &log, &e);
	real = md_session_new_replay(ok, 1, "linux");
	cr_assert_eq(md_plan_apply(&p, rec, &dry_secret, 1, &dl, &ar, &e), MD_OK);
	cr_assert_eq(md_plan_apply(&p, real, &sec, 1, &dl, &ar, &e), MD_OK);
	cr_assert_eq(md_session_exec_count(real), 1);
	snprintf(want, sizeof(want), "  2. would run: %s\n", md_replay_cmd(real, 0));
	cr_assert(strstr(md_buf_str(&log), want), "dry run:\n%s\nreal: %s", md_buf_str(&log),
		  md_replay_cmd(real, 0));
	cr_assert_str_eq(md_replay_file(real, p.v[0].path), p.v[0].data);
	md_session_free(rec);
	md_session_free(real);
	md_buf_cleanup(&log);
	md_plan_cleanup(&p);
}

/* tailscale-up: the key never in a command, the flags the state calls for. */
static void up_plan(const char *user, const char *state, int matches, int expired,
		    const char *login, bool key, const char *sudo, const char *os, struct md_plan *p)
{
	const struct md_remedy *r = md_remedy_find("tailscale-up");
	struct md_facts f;
	struct md_remedy_in in = { .facts = &f, .user = user, .login_server = login,
				   .have_authkey = key };
	struct md_err e = { 0 };

	cr_assert(r);
	md_facts_init(&f);
	if (state)
		md_fact_str(&f, "tailscale", "tailscale.backend_state", state, NULL);
	if (matches >= 0)
		md_fact_bool(&f, "tailscale", "tailscale.control_matches", matches, NULL);
	if (expired >= 0)
		md_fact_bool(&f, "tailscale", "tailscale.key_expired", expired, NULL);
	if (sudo)
		md_fact_str(&f, "host", "host.sudo", sudo, NULL);
	if (os)
		md_fact_str(&f, "host", "host.os", os, NULL);
	md_plan_init(p, r->name);
	cr_assert_eq(r->plan(&in, p, &e), MD_OK, "%s", e.msg);
	md_facts_cleanup(&f);
}

Test(tailscale_up, the_key_goes_to_a_file_and_the_state_picks_the_flags)
{
	struct md_plan p;

	up_plan("root", "NeedsLogin", -1, -1, "http://hs.example:8080", true, NULL, "linux", &p);
	cr_assert_eq(p.n, 2);
	cr_assert_eq(p.v[0].kind, MD_STEP_WRITE);
	cr_assert_str_eq(p.v[0].data_secret, "auth-key");
	cr_assert_eq(p.v[0].mode, 0600);
	cr_assert_str_eq(p.v[1].cmd, "sh -c 'tailscale up '\\''--login-server=http://hs.example:8080'\\'' "
				     "--auth-key=file:.meshdoctor-authkey --timeout=20s; rc=$?; rm -f "
				     ".meshdoctor-authkey; exit $rc'");
	md_plan_cleanup(&p);
	up_plan("steve", "Running", 1, 1, "http://hs", true, "nopasswd", "linux", &p);
	cr_assert(strstr(p.v[1].cmd, "sudo -n -- tailscale up ") && strstr(p.v[1].cmd, " --force-reauth;"),
		  "%s", p.v[1].cmd);
	md_plan_cleanup(&p);
	up_plan("root", "Running", 0, 0, "http://hs", true, NULL, "linux", &p);
	cr_assert(strstr(p.v[1].cmd, " --reset --force-reauth;"), "%s", p.v[1].cmd);
	md_plan_cleanup(&p);
	/* Stopped: a bare `tailscale up`, no key needed. */
	up_plan("root", "Stopped", 1, 0, NULL, false, NULL, "linux", &p);
	cr_assert_eq(p.n, 1);
	cr_assert_str_eq(p.v[0].cmd, "sh -c 'tailscale up'");
	md_plan_cleanup(&p);
	/* A URL that tries to end the quoting stays one word. */
	up_plan("root", "NeedsLogin", -1, -1, "http://h'$(reboot)", true, NULL, "linux", &p);
	cr_assert(strstr(p.v[1].cmd, "'\\''--login-server=http://h'\\''\\'\\'''\\''$(reboot)'\\''"),
		  "%s", p.v[1].cmd);
	md_plan_cleanup(&p);
}

Test(tailscale_up, running_is_nothing_to_do_and_missing_inputs_are_said)
{
	static const struct { const char *user, *state, *login; bool key; const char *sudo, *os, *says; } c[] = {
		{ "root", "NeedsLogin", NULL, true, NULL, "linux", "give --login-server" },
		{ "root", "NeedsLogin", "http://hs", false, NULL, "linux", "give --authkey-file" },
		{ "steve", "NeedsLogin", "http://hs", true, "password", "linux", "meshdoctor prepare" },
		{ "steve", "NeedsLogin", "http://hs", true, NULL, "windows", "join-script" },
		{ "root", NULL, "http://hs", true, NULL, "linux", "backend_state is missing" },
	};
	struct md_plan p;

	up_plan("root", "Running", 1, 0, "http://hs", true, NULL, "linux", &p);
	cr_assert_eq(p.n, 0);
	cr_assert(strstr(p.nothing, "Running"), "%s", p.nothing);
	md_plan_cleanup(&p);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		up_plan(c[i].user, c[i].state, -1, -1, c[i].login, c[i].key, c[i].sudo, c[i].os, &p);
		cr_assert_eq(p.n, 0, "case %zu", i);
		cr_assert(strstr(p.refused, c[i].says), "case %zu: %s", i, p.refused);
		md_plan_cleanup(&p);
	}
}

/* install-tailscale: fetched whole, then run as root; a mirror's URL stays one word. */
Test(install_tailscale, fetched_then_run_as_root_and_removed)
{
	const struct md_remedy *r = md_remedy_find("install-tailscale");
	struct md_facts f;
	struct md_remedy_in in = { .facts = &f, .user = "steve", .install_url = "http://m/i.sh;x" };
	struct md_plan p;
	struct md_err e = { 0 };

	cr_assert(r);
	md_facts_init(&f);
	md_fact_str(&f, "tailscale", "tailscale.cli", "missing", NULL);
	md_fact_str(&f, "host", "host.os", "linux", NULL);
	md_fact_str(&f, "host", "host.sudo", "nopasswd", NULL);
	md_plan_init(&p, r->name);
	cr_assert_eq(r->plan(&in, &p, &e), MD_OK);
	cr_assert_eq(p.n, 2);
	cr_assert(strstr(p.v[0].cmd, "curl -fsSL --max-time 120 -o .meshdoctor-tailscale-install.sh "
			 "'\\''http://m/i.sh;x'\\''"), "%s", p.v[0].cmd);
	cr_assert_str_eq(p.v[1].cmd, "sh -c 'sudo -n -- sh .meshdoctor-tailscale-install.sh; rc=$?; "
				     "rm -f .meshdoctor-tailscale-install.sh; exit $rc'");
	cr_assert(p.verify_differs);
	md_plan_cleanup(&p);
	md_facts_cleanup(&f);

	md_facts_init(&f);
	md_fact_str(&f, "tailscale", "tailscale.cli", "ok", NULL);
	md_plan_init(&p, r->name);
	cr_assert_eq(r->plan(&in, &p, &e), MD_OK);
	cr_assert_eq(p.n, 0);
	cr_assert(strstr(p.nothing, "installed"), "%s", p.nothing);
	cr_assert(md_plan_verified(&p, &f), "cli = ok is installed");
	md_plan_cleanup(&p);
	md_facts_cleanup(&f);

	md_facts_init(&f);
	md_fact_str(&f, "tailscale", "tailscale.cli", "missing", NULL);
	md_fact_str(&f, "host", "host.os", "windows", NULL);
	md_plan_init(&p, r->name);
	cr_assert_eq(r->plan(&in, &p, &e), MD_OK);
	cr_assert(strstr(p.refused, "winget install --id Tailscale.Tailscale --source winget"), "%s",
		  p.refused);
	cr_assert_not(md_plan_verified(&p, &f), "cli = missing is not installed");
	md_plan_cleanup(&p);
	md_facts_cleanup(&f);
}
