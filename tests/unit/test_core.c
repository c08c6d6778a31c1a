/* Unit tests: deadlines, buffers, the fact store, errors and running local programs. */
#include "core/buf.h"
#include "core/deadline.h"
#include "core/err.h"
#include "core/facts.h"
#include "core/proc.h"
#include "core/text.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

Test(deadline, left_time_is_computed_from_the_given_now)
{
	struct md_deadline dl = md_deadline_after(1000, 500);

	cr_assert_eq(md_deadline_left_at(&dl, 1000), 500);
	cr_assert_eq(md_deadline_left_at(&dl, 1400), 100);
	cr_assert_leq(md_deadline_left_at(&dl, 1600), 0);
}

Test(deadline, none_never_expires_and_never_wins_min)
{
	struct md_deadline none = { 0 }, a = md_deadline_after(0, 100);

	cr_assert_eq(md_deadline_left_at(&none, 123456789), INT64_MAX);
	cr_assert_eq(md_deadline_min(none, a).end_ms, a.end_ms);
	cr_assert_eq(md_deadline_min(a, none).end_ms, a.end_ms);
	cr_assert_eq(md_deadline_poll_ms(&none), -1);
}

Test(deadline, min_picks_the_earlier)
{
	struct md_deadline a = md_deadline_after(0, 100), b = md_deadline_after(0, 50);

	cr_assert_eq(md_deadline_min(a, b).end_ms, 50);
}

Test(buf, appends_and_stays_nul_terminated)
{
	struct md_buf b;

	md_buf_init(&b, 0);
	cr_assert_str_eq(md_buf_str(&b), "");
	cr_assert_eq(md_buf_printf(&b, "%s-%d", "a", 1), MD_OK);
	cr_assert_eq(md_buf_puts(&b, " tail \n"), MD_OK);
	md_buf_rstrip(&b);
	cr_assert_str_eq(md_buf_str(&b), "a-1 tail");
	md_buf_cleanup(&b);
}

Test(buf, refuses_to_grow_past_its_cap)
{
	struct md_buf b;

	md_buf_init(&b, 8);
	cr_assert_eq(md_buf_puts(&b, "12345678"), MD_OK);
	cr_assert_eq(md_buf_puts(&b, "9"), MD_ETOOBIG);
	cr_assert_eq(md_buf_printf(&b, "%d", 1), MD_ETOOBIG);
	cr_assert_str_eq(md_buf_str(&b), "12345678", "content kept, nothing half-written");
	md_buf_cleanup(&b);
}

Test(buf, grow_doubles_only_when_full_and_refuses_overflow)
{
	size_t cap = 0;
	int *v = md_grow(NULL, &cap, 0, sizeof(int), 4), *w;

	cr_assert_not_null(v);
	cr_assert_eq(cap, 4, "the first capacity");
	w = md_grow(v, &cap, 3, sizeof(int), 4);
	cr_assert_eq(w, v, "room left: the same array");
	cr_assert_eq(cap, 4);
	v = md_grow(w, &cap, 4, sizeof(int), 4);
	cr_assert_not_null(v);
	cr_assert_eq(cap, 8, "full: doubled");
	{
		size_t huge = SIZE_MAX / 2 + 1;

		cr_assert_null(md_grow(v, &huge, huge, sizeof(int), 4), "overflow is refused");
		cr_assert_eq(huge, SIZE_MAX / 2 + 1, "capacity unchanged");
	}
	free(v);
}

Test(facts, records_typed_values_with_evidence)
{
	struct md_facts f;
	const struct md_fact *x;
	char v[64];

	md_facts_init(&f);
	cr_assert_eq(md_fact_str(&f, "ssh", "ssh.tcp", "refused", "connect 10.0.0.2:22: Connection refused"), MD_OK);
	cr_assert_eq(md_fact_int(&f, "wireguard", "wg.responses", 0, NULL), MD_OK);
	cr_assert_eq(md_fact_bool(&f, "ssh", "ssh.server_windows", true, "banner"), MD_OK);
	cr_assert_eq(md_fact_real(&f, "wireguard", "wg.handshake_rtt_ms", 1.5, NULL), MD_OK);
	x = md_facts_get(&f, "ssh.tcp");
	cr_assert_not_null(x);
	cr_assert_str_eq(x->str, "refused");
	cr_assert_str_eq(x->evidence, "connect 10.0.0.2:22: Connection refused");
	cr_assert_str_eq(x->probe, "ssh");
	cr_assert_gt(x->at_ms, 0);
	md_fact_value_text(md_facts_get(&f, "wg.responses"), v, sizeof(v), false);
	cr_assert_str_eq(v, "0");
	md_fact_value_text(md_facts_get(&f, "ssh.server_windows"), v, sizeof(v), false);
	cr_assert_str_eq(v, "true");
	md_fact_value_text(md_facts_get(&f, "wg.handshake_rtt_ms"), v, sizeof(v), false);
	cr_assert_str_eq(v, "1.50");
	cr_assert_null(md_facts_get(&f, "ssh.auth"));
	md_facts_cleanup(&f);
}

Test(facts, later_observation_replaces_earlier)
{
	struct md_facts f;

	md_facts_init(&f);
	md_fact_str(&f, "ssh", "ssh.auth", "error", "first");
	md_fact_str(&f, "ssh", "ssh.auth", "ok", "second");
	cr_assert_eq(f.n, 1);
	cr_assert_str_eq(md_facts_str(&f, "ssh.auth"), "ok");
	cr_assert_str_eq(md_facts_get(&f, "ssh.auth")->evidence, "second");
	md_facts_cleanup(&f);
}

Test(facts, secrets_are_masked_unless_asked)
{
	struct md_facts f;
	char v[64];

	md_facts_init(&f);
	md_fact_secret(&f, "headscale", "headscale.authkey", "hskey-auth-abc", NULL);
	md_fact_value_text(md_facts_get(&f, "headscale.authkey"), v, sizeof(v), false);
	cr_assert_str_eq(v, "********");
	md_fact_value_text(md_facts_get(&f, "headscale.authkey"), v, sizeof(v), true);
	cr_assert_str_eq(v, "hskey-auth-abc");
	md_facts_cleanup(&f);
}

Test(facts, rejects_invalid_names)
{
	struct md_facts f;
	static const char *const bad[] = { "", "Ssh.tcp", "ssh..tcp", ".ssh", "ssh.", "ssh tcp",
					   "ssh.-x", NULL };

	md_facts_init(&f);
	for (size_t i = 0; bad[i]; i++)
		cr_assert_eq(md_fact_str(&f, "p", bad[i], "v", NULL), MD_EINVAL, "name '%s'", bad[i]);
	cr_assert_eq(md_fact_str(&f, "p", "port.tcp.443", "open", NULL), MD_OK);
	cr_assert_eq(md_fact_str(&f, "p", "wg.data-rx", "1", NULL), MD_OK);
	cr_assert_eq(f.n, 2);
	md_facts_cleanup(&f);
}

Test(facts, checklist_marks_need_an_existing_fact)
{
	struct md_facts f;

	md_facts_init(&f);
	cr_assert_eq(md_fact_check(&f, "ssh.tcp", MD_CHECK_OK, "x"), MD_ENOTFOUND);
	md_fact_str(&f, "ssh", "ssh.tcp", "connected", NULL);
	cr_assert_eq(md_fact_check(&f, "ssh.tcp", MD_CHECK_OK, "TCP connect"), MD_OK);
	cr_assert_eq(md_facts_get(&f, "ssh.tcp")->check, MD_CHECK_OK);
	cr_assert_str_eq(md_facts_get(&f, "ssh.tcp")->label, "TCP connect");
	md_facts_cleanup(&f);
}

Test(err, first_error_wins_and_stays_one_line)
{
	struct md_err e = { 0 };

	cr_assert_eq(md_err_set(&e, MD_EREFUSED, "connect", "connect %s: %s", "h:22", "refused\nmore"),
		     MD_EREFUSED);
	cr_assert_eq(md_err_set(&e, MD_EIO, "close", "later"), MD_EIO);
	cr_assert_eq(e.code, MD_EREFUSED);
	cr_assert_str_eq(e.where, "connect");
	cr_assert_str_eq(e.msg, "connect h:22: refused more");
	cr_assert_eq(md_err_set(NULL, MD_EIO, "x", "y"), MD_EIO, "NULL err is allowed");
}

Test(proc, captures_output_exit_code_and_stdin)
{
	const char *argv[] = { "sh", "-c", "cat; echo err >&2; exit 3", NULL };
	struct md_proc_result r;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 5000);

	md_proc_result_init(&r, 1024);
	cr_assert_eq(md_proc_run(argv, "secret-on-stdin", 15, &dl, &r, NULL), MD_OK);
	cr_assert_eq(r.exit_code, 3);
	cr_assert_str_eq(md_buf_str(&r.out), "secret-on-stdin");
	cr_assert_str_eq(md_buf_str(&r.err), "err\n");
	md_proc_result_cleanup(&r);
}

Test(proc, kills_a_program_at_the_deadline, .timeout = 10)
{
	const char *argv[] = { "sleep", "30", NULL };
	struct md_proc_result r;
	struct md_err e = { 0 };
	int64_t t0 = md_now_ms();
	struct md_deadline dl = md_deadline_after(t0, 300);

	md_proc_result_init(&r, 1024);
	cr_assert_eq(md_proc_run(argv, NULL, 0, &dl, &r, &e), MD_ETIMEOUT);
	cr_assert_lt(md_now_ms() - t0, 3000, "returned soon after the deadline");
	cr_assert(strstr(e.msg, "sleep"));
	md_proc_result_cleanup(&r);
}

Test(proc, missing_program_is_not_found)
{
	const char *argv[] = { "/nonexistent/meshdoctor-nothing", NULL };
	struct md_proc_result r;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 2000);

	md_proc_result_init(&r, 1024);
	cr_assert_eq(md_proc_run(argv, NULL, 0, &dl, &r, NULL), MD_ENOTFOUND);
	md_proc_result_cleanup(&r);
}

Test(proc, output_over_the_cap_is_an_error)
{
	const char *argv[] = { "sh", "-c", "head -c 100000 /dev/zero", NULL };
	struct md_proc_result r;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 5000);

	md_proc_result_init(&r, 1000);
	cr_assert_eq(md_proc_run(argv, NULL, 0, &dl, &r, NULL), MD_ETOOBIG);
	md_proc_result_cleanup(&r);
}

Test(proc, a_program_that_closes_its_output_but_goes_on_is_killed_at_the_deadline,
     .timeout = 10)
{
	char pidfile[] = "/tmp/md-test-proc-XXXXXX", script[256];
	const char *argv[] = { "sh", "-c", script, NULL };
	struct md_proc_result r;
	struct md_err e = { 0 };
	int64_t t0 = md_now_ms();
	struct md_deadline dl = md_deadline_after(t0, 300);
	FILE *fp;
	int fd = mkstemp(pidfile), pid = 0;

	cr_assert_geq(fd, 0);
	close(fd);
	snprintf(script, sizeof(script), "echo $$ > %s; exec >/dev/null 2>&1; exec sleep 30",
		 pidfile);
	md_proc_result_init(&r, 1024);
	cr_assert_eq(md_proc_run(argv, NULL, 0, &dl, &r, &e), MD_ETIMEOUT, "%s", e.msg);
	cr_assert_lt(md_now_ms() - t0, 1500, "returned after %lld ms",
		     (long long)(md_now_ms() - t0));
	cr_assert(strstr(e.msg, "still running at the deadline"), "%s", e.msg);
	cr_assert_eq(r.exit_code, 128 + SIGKILL);
	fp = fopen(pidfile, "r");
	cr_assert_not_null(fp);
	cr_assert_eq(fscanf(fp, "%d", &pid), 1);
	fclose(fp);
	unlink(pidfile);
	cr_assert(kill(pid, 0) < 0 && errno == ESRCH, "pid %d is gone (killed and reaped)", pid);
	md_proc_result_cleanup(&r);
}

/* With SIGCHLD ignored the kernel reaps the program itself, and waitpid() fails with
 * ECHILD: its exit status is lost, which must be an error, never exit code 0. */
Test(proc, a_status_that_cannot_be_collected_is_an_error, .timeout = 10)
{
	const char *argv[] = { "sh", "-c", "exit 7", NULL };
	struct md_proc_result r;
	struct md_err e = { 0 };
	struct md_deadline dl = md_deadline_after(md_now_ms(), 5000);

	signal(SIGCHLD, SIG_IGN);
	md_proc_result_init(&r, 1024);
	cr_assert_eq(md_proc_run(argv, NULL, 0, &dl, &r, &e), MD_EIO, "exit code %d", r.exit_code);
	cr_assert_eq(r.exit_code, -1);
	cr_assert(strstr(e.msg, "sh: waitpid: "), "%s", e.msg);
	signal(SIGCHLD, SIG_DFL);
	md_proc_result_cleanup(&r);
}

/* Under ASan an allocation that fails aborts (and the sanitizer maps more than any address
 * space limit allows), so this runs in the plain build only. */
#ifndef __SANITIZE_ADDRESS__
static size_t vm_size(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	size_t kb = 0;

	cr_assert_not_null(fp);
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "VmSize: %zu kB", &kb) == 1)
			break;
	fclose(fp);
	cr_assert_gt(kb, 0);
	return kb * 1024;
}

Test(proc, no_memory_for_the_output_is_out_of_memory_not_too_big, .timeout = 10)
{
	const char *argv[] = { "head", "-c", "268435456", "/dev/zero", NULL };
	struct md_proc_result r;
	struct md_err e = { 0 };
	struct md_deadline dl = md_deadline_after(md_now_ms(), 8000);
	struct rlimit old, lim;
	int rc;

	md_proc_result_init(&r, 0); /* no cap: only memory runs out */
	cr_assert_eq(getrlimit(RLIMIT_AS, &old), 0);
	lim = old;
	lim.rlim_cur = vm_size() + 48u * 1024 * 1024;
	cr_assert_eq(setrlimit(RLIMIT_AS, &lim), 0);
	rc = md_proc_run(argv, NULL, 0, &dl, &r, &e);
	setrlimit(RLIMIT_AS, &old);
	cr_assert_eq(rc, MD_ENOMEM, "rc %d: %s", rc, e.msg);
	cr_assert(strstr(e.msg, "head: out of memory"), "%s", e.msg);
	md_proc_result_cleanup(&r);
}
#endif

/* core/text: what remote text becomes in evidence. */
Test(text, first_line_skips_empty_lines_and_drops_the_line_end)
{
	char out[16];

	md_first_line("\r\n\nfirst\r\nsecond\n", out, sizeof(out));
	cr_assert_str_eq(out, "first");
	md_first_line("\n\r\n", out, sizeof(out));
	cr_assert_str_eq(out, "");
	md_first_line(NULL, out, sizeof(out));
	cr_assert_str_eq(out, "");
	md_first_line("a line longer than out", out, sizeof(out));
	cr_assert_str_eq(out, "a line longer t");
}

Test(text, printable_escapes_control_bytes_backslash_and_non_ascii)
{
	char out[64], tiny[8];

	md_printable("ok\x1b[2J\\\n\xc3\xa9", out, sizeof(out));
	cr_assert_str_eq(out, "ok\\x1b[2J\\x5c\\x0a\\xc3\\xa9");
	/* Cut before an escape that would not fit whole. */
	md_printable("ab\ncd", tiny, sizeof(tiny));
	cr_assert_str_eq(tiny, "ab\\x0a");
	md_copy_str(tiny, sizeof(tiny), NULL);
	cr_assert_str_eq(tiny, "");
	md_copy_str(tiny, sizeof(tiny), "truncated");
	cr_assert_str_eq(tiny, "truncat");
}
