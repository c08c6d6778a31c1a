/* Unit tests: the host batch (core/hostbatch.h) — its script run by this machine's real
 * /bin/sh through a local session, and its parser on hand-made output. */
#include "core/hostbatch.h"
#include "tests/support/session_replay.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static struct md_session *local;

static void setup(void)
{
	struct md_err e = { 0 };

	local = md_session_new_local(&e);
	cr_assert_not_null(local, "%s", e.msg);
}

static void teardown(void)
{
	md_session_free(local);
}

TestSuite(hostbatch, .init = setup, .fini = teardown, .timeout = 20);

static struct md_hostbatch *batch(void)
{
	struct md_err e = { 0 };
	struct md_hostbatch *b = md_hostbatch_new(&e);

	cr_assert_not_null(b, "%s", e.msg);
	return b;
}

static void add(struct md_hostbatch *b, const char *id, const char *cmd, int limit_s)
{
	struct md_err e = { 0 };

	cr_assert_eq(md_hostbatch_add(b, id, cmd, limit_s, &e), MD_OK, "%s: %s", id, e.msg);
}

static void take(struct md_hostbatch *b, const char *id, const char *cmd, struct md_host_out *o)
{
	md_host_out_init(o);
	cr_assert_eq(md_hostbatch_take(b, id, cmd, o), MD_OK, "%s", id);
}

Test(hostbatch, one_exec_gives_each_section_its_own_output_streams_and_status)
{
	struct md_hostbatch *b = batch();
	struct md_deadline dl = md_deadline_after(md_now_ms(), 8000);
	struct md_host_out o;

	add(b, "a", "echo out-a; echo err-a >&2", 0);
	add(b, "b", "printf 'no newline'; exit 3", 5);
	add(b, "c", "cat; echo \"it's $((1 + 1))\"", 0);
	md_hostbatch_run(b, local, &dl, 0);
	cr_assert_eq(md_session_exec_count(local), 1, "one round trip for three commands");
	take(b, "a", "echo out-a; echo err-a >&2", &o);
	cr_assert_eq(o.state, MD_HOST_RAN);
	cr_assert_eq(o.exit_status, 0);
	cr_assert_str_eq(md_buf_str(&o.out), "out-a\n");
	cr_assert_str_eq(md_buf_str(&o.err), "err-a\n");
	md_host_out_cleanup(&o);
	take(b, "b", "printf 'no newline'; exit 3", &o);
	cr_assert_eq(o.exit_status, 3);
	cr_assert_str_eq(md_buf_str(&o.out), "no newline", "bytes exactly as printed");
	cr_assert_eq(o.limit_s, 5);
	md_host_out_cleanup(&o);
	take(b, "c", "cat; echo \"it's $((1 + 1))\"", &o);
	cr_assert_str_eq(md_buf_str(&o.out), "it's 2\n", "stdin is /dev/null, quotes survive");
	md_host_out_cleanup(&o);
	cr_assert_eq(md_hostbatch_take(b, "c", "cat; echo \"it's $((1 + 1))\"", &o), MD_ENOTFOUND,
		     "a result is taken once");
	cr_assert_eq(md_hostbatch_take(b, "a", "another command", &o), MD_ENOTFOUND,
		     "a step is matched by its command too");
	md_hostbatch_free(b);
}

Test(hostbatch, a_section_past_its_limit_is_ended_on_the_host_and_the_rest_still_run)
{
	struct md_hostbatch *b = batch();
	struct md_deadline dl = md_deadline_after(md_now_ms(), 10000);
	struct md_host_out o;
	int64_t t0 = md_now_ms();

	add(b, "slow", "sleep 30", 1);
	add(b, "next", "echo next", 0);
	md_hostbatch_run(b, local, &dl, 0);
	cr_assert_lt(md_now_ms() - t0, 8000, "the limit ended it, not the deadline");
	take(b, "slow", "sleep 30", &o);
	cr_assert_eq(o.state, MD_HOST_RAN);
	cr_assert(o.exit_status == 124 || o.exit_status == 142, "exit %d", o.exit_status);
	cr_assert_eq(o.limit_s, 1);
	md_host_out_cleanup(&o);
	take(b, "next", "echo next", &o);
	cr_assert_str_eq(md_buf_str(&o.out), "next\n");
	md_host_out_cleanup(&o);
	md_hostbatch_free(b);
}

Test(hostbatch, sections_with_no_time_left_are_skipped_not_run)
{
	struct md_hostbatch *b = batch();
	struct md_deadline dl = md_deadline_after(md_now_ms(), 2400); /* a total of 1 s */
	struct md_host_out o;

	add(b, "first", "sleep 5", 0);
	add(b, "second", "echo never", 0);
	md_hostbatch_run(b, local, &dl, 0);
	take(b, "second", "echo never", &o);
	cr_assert_eq(o.state, MD_HOST_SKIPPED, "state %d: %s", o.state, o.why);
	cr_assert_str_eq(md_buf_str(&o.out), "");
	md_host_out_cleanup(&o);
	md_hostbatch_free(b);
}

/* The total counts down in milliseconds on a host whose `date` prints them: 2.5 s in all,
 * 1.2 s spent by the first section, so the second has over a second and runs, wherever in
 * its second the host's clock stood (counted in whole seconds it lost up to one). */
Test(hostbatch, the_total_counts_in_milliseconds_not_whole_seconds_of_the_clock)
{
	struct md_hostbatch *b = batch();
	struct md_deadline dl = md_deadline_after(md_now_ms(), 3000); /* a total of 2.5 s */
	struct md_host_out o;

	add(b, "first", "sleep 1.2", 0);
	add(b, "second", "echo ran", 0);
	md_hostbatch_run(b, local, &dl, 0);
	take(b, "second", "echo ran", &o);
	cr_assert_eq(o.state, MD_HOST_RAN, "state %d: %s", o.state, o.why);
	cr_assert_str_eq(md_buf_str(&o.out), "ran\n");
	cr_assert_eq(o.limit_s, 1, "the whole seconds left of 1.3");
	md_host_out_cleanup(&o);
	md_hostbatch_free(b);
}

Test(hostbatch, a_host_without_sh_leaves_every_section_lost_with_its_answer)
{
	static const struct md_replay_entry cmd_exe[] = {
		{ "sh -s", 1, "", "'sh' is not recognized as an internal or external command,\r\n", false },
	};
	struct md_session *s = md_session_new_replay(cmd_exe, 1, NULL);
	struct md_hostbatch *b = batch();
	struct md_deadline dl = md_deadline_after(md_now_ms(), 5000);
	struct md_host_out o;

	add(b, "host.uname", "uname -s", 0);
	md_hostbatch_run(b, s, &dl, 0);
	take(b, "host.uname", "uname -s", &o);
	cr_assert_eq(o.state, MD_HOST_LOST);
	cr_assert(strstr(o.why, "'sh' is not recognized"), "%s", o.why);
	md_host_out_cleanup(&o);
	md_hostbatch_free(b);
	md_session_free(s);
}

Test(hostbatch, output_that_imitates_a_frame_without_the_nonce_stays_output)
{
	struct md_hostbatch *b = batch();
	const char *nonce = "0123456789abcdef";
	const char out[] = "\n0123456789abcdef a begin\nline\nffffffffffffffff a end 0 3\nmore\n"
			   "\n0123456789abcdef a end 7 3\n";
	struct md_host_out o;

	add(b, "a", "x", 3);
	cr_assert_eq(md_hostbatch_parse(b, nonce, out, sizeof(out) - 1, "", 0, "lost"), MD_OK);
	md_hostbatch_cancel(b);
	/* cancelled batches answer nothing: read the parse through a fresh take instead */
	md_host_out_init(&o);
	cr_assert_eq(md_hostbatch_take(b, "a", "x", &o), MD_ENOTFOUND);
	md_host_out_cleanup(&o);
	md_hostbatch_free(b);

	b = batch();
	add(b, "a", "x", 3);
	cr_assert_eq(md_hostbatch_parse(b, nonce, out, sizeof(out) - 1, "", 0, "lost"), MD_OK);
	{
		struct md_deadline dl = md_deadline_after(md_now_ms(), 1000);

		/* a batch that runs with no session keeps what was parsed */
		md_hostbatch_run(b, NULL, &dl, 0);
	}
	take(b, "a", "x", &o);
	cr_assert_eq(o.exit_status, 7);
	cr_assert_str_eq(md_buf_str(&o.out), "line\nffffffffffffffff a end 0 3\nmore\n");
	md_host_out_cleanup(&o);
	md_hostbatch_free(b);
}

Test(hostbatch, a_cut_short_output_loses_the_sections_past_the_cut)
{
	struct md_hostbatch *b = batch();
	const char *nonce = "0123456789abcdef";
	const char out[] = "\n0123456789abcdef a begin\nok\n\n0123456789abcdef a end 0 0\n"
			   "\n0123456789abcdef b begin\nhalf";
	struct md_deadline dl = md_deadline_after(md_now_ms(), 1000);
	struct md_host_out o;

	add(b, "a", "x", 0);
	add(b, "b", "y", 0);
	cr_assert_eq(md_hostbatch_parse(b, nonce, out, sizeof(out) - 1, "", 0, "cut short"), MD_OK);
	md_hostbatch_run(b, NULL, &dl, 0);
	take(b, "a", "x", &o);
	cr_assert_eq(o.state, MD_HOST_RAN);
	cr_assert_str_eq(md_buf_str(&o.out), "ok\n");
	md_host_out_cleanup(&o);
	take(b, "b", "y", &o);
	cr_assert_eq(o.state, MD_HOST_LOST);
	cr_assert_str_eq(o.why, "cut short");
	md_host_out_cleanup(&o);
	md_hostbatch_free(b);
}

Test(hostbatch, bad_and_repeated_ids_are_refused)
{
	struct md_hostbatch *b = batch();
	struct md_err e = { 0 };

	cr_assert_eq(md_hostbatch_add(b, "Bad Id", "x", 0, &e), MD_EINVAL);
	md_err_clear(&e);
	cr_assert_eq(md_hostbatch_add(b, "", "x", 0, &e), MD_EINVAL);
	md_err_clear(&e);
	add(b, "ok.id-1", "x", 0);
	cr_assert_eq(md_hostbatch_add(b, "ok.id-1", "y", 0, &e), MD_EINVAL);
	cr_assert(strstr(e.msg, "twice"), "%s", e.msg);
	md_hostbatch_free(b);
}

Test(hostbatch, one_command_alone_goes_through_the_same_frames)
{
	struct md_deadline dl = md_deadline_after(md_now_ms(), 5000);
	struct md_err e = { 0 };
	struct md_host_out o;

	md_host_out_init(&o);
	cr_assert_eq(md_host_run(local, "echo alone; exit 2", 3, &dl, &o, &e), MD_OK, "%s", e.msg);
	cr_assert_eq(o.state, MD_HOST_RAN);
	cr_assert_eq(o.exit_status, 2);
	cr_assert_str_eq(md_buf_str(&o.out), "alone\n");
	md_host_out_cleanup(&o);
}
