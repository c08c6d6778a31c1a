/* Unit tests: the check engine's registry check (md_probes_check()) on the real registry
 * and on made-up broken ones, and the --probes selection (md_check_select()). */
#include "run/check.h"
#include "run/fleet.h"

#include <criterion/criterion.h>
#include <string.h>

TestSuite(engine, .timeout = 10);

static int noop(struct md_ctx *ctx, struct md_facts *f, struct md_err *e)
{
	(void)ctx, (void)f, (void)e;
	return MD_OK;
}

static const char *const after_a[] = { "a", NULL };
static const char *const after_b[] = { "b", NULL };
static const char *const after_zz[] = { "zz", NULL };

static const struct md_probe p_open = { .name = "a", .needs = MD_OPENS_SESSION, .run = noop };
static const struct md_probe p_open2 = { .name = "b", .needs = MD_OPENS_SESSION, .run = noop };
static const struct md_probe p_user = { .name = "b", .needs = MD_NEEDS_SESSION, .run = noop };
static const struct md_probe p_uses = { .name = "c", .needs = MD_USES_SESSION, .run = noop };
static const struct md_probe p_after_a = { .name = "b", .after = after_a, .run = noop };
static const struct md_probe p_a_after_b = { .name = "a", .after = after_b, .run = noop };
static const struct md_probe p_unknown = { .name = "c", .after = after_zz, .run = noop };
static const struct md_probe p_brings_unknown = { .name = "c", .brings = after_zz, .run = noop };

static void expect_bad(const struct md_probe *const *v, size_t n, const char *words)
{
	struct md_err e = { 0 };

	cr_assert_eq(md_probes_check(v, n, &e), MD_EINVAL);
	cr_assert(strstr(e.msg, words), "'%s' lacks '%s'", e.msg, words);
}

Test(engine, the_real_registry_is_consistent)
{
	struct md_err e = { 0 };

	cr_assert_eq(md_probes_check(md_probes, md_n_probes, &e), MD_OK, "%s", e.msg);
}

Test(engine, a_consistent_made_up_registry_passes)
{
	const struct md_probe *v[] = { &p_open, &p_after_a, &p_uses };
	struct md_err e = { 0 };

	cr_assert_eq(md_probes_check(v, 3, &e), MD_OK, "%s", e.msg);
}

Test(engine, two_openers_are_refused)
{
	const struct md_probe *v[] = { &p_open, &p_open2 };

	expect_bad(v, 2, "both open the session");
}

Test(engine, a_session_user_before_the_opener_is_refused)
{
	const struct md_probe *v[] = { &p_user, &p_open };
	const struct md_probe *w[] = { &p_uses, &p_open };

	expect_bad(v, 2, "listed before a, which opens it");
	expect_bad(w, 2, "listed before a, which opens it");
}

Test(engine, a_probe_listed_before_what_it_runs_after_is_refused)
{
	const struct md_probe *v[] = { &p_after_a, &p_uses, &p_open };

	expect_bad(v, 3, "waits for a but is listed before it");
}

Test(engine, a_cycle_is_refused)
{
	const struct md_probe *v[] = { &p_a_after_b, &p_after_a };

	expect_bad(v, 2, "a cycle");
}

Test(engine, unknown_names_in_after_and_brings_are_refused)
{
	const struct md_probe *v[] = { &p_unknown };
	const struct md_probe *w[] = { &p_brings_unknown };

	expect_bad(v, 1, "unknown probe 'zz'");
	expect_bad(w, 1, "unknown probe 'zz'");
}

Test(engine, a_probe_listed_twice_is_refused)
{
	const struct md_probe *v[] = { &p_open, &p_uses, &p_uses };

	expect_bad(v, 3, "listed twice");
}

static void select_ok(const char *list, bool *sel)
{
	struct md_options opt = { 0 };
	struct md_err e = { 0 };

	cr_assert_eq(md_check_select(list, &opt, sel, &e), MD_OK, "%s", e.msg);
}

static void select_bad(const char *list, const char *words)
{
	struct md_options opt = { 0 };
	bool sel[64];
	struct md_err e = { 0 };

	cr_assert_eq(md_check_select(list, &opt, sel, &e), MD_EINVAL, "%s accepted", list);
	cr_assert(strstr(e.msg, words), "'%s' lacks '%s'", e.msg, words);
}

Test(engine, no_list_selects_every_probe_but_the_opt_in_ones)
{
	bool sel[64];

	cr_assert_lt(md_n_probes, 64);
	select_ok(NULL, sel);
	for (size_t i = 0; i < md_n_probes; i++)
		cr_assert_eq(sel[i], !(md_probes[i]->needs & MD_NEEDS_OPT_IN), "%s", md_probes[i]->name);
}

Test(engine, a_named_probe_brings_what_it_runs_after_and_the_session_opener)
{
	bool sel[64];

	for (size_t i = 0; i < md_n_probes; i++) {
		const struct md_probe *p = md_probes[i];

		select_ok(p->name, sel);
		cr_assert(sel[i]);
		for (const char *const *a = p->after; a && *a; a++)
			cr_assert(sel[md_probe_index(*a)], "%s without %s", p->name, *a);
		for (const char *const *a = p->brings; a && *a; a++)
			cr_assert(sel[md_probe_index(*a)], "%s without %s", p->name, *a);
		if (p->needs & MD_NEEDS_SESSION)
			cr_assert(sel[md_probe_index("ssh")], "%s without ssh", p->name);
	}
}

Test(engine, only_the_named_probes_run_with_what_they_bring)
{
	bool sel[64];

	select_ok("ssh", sel);
	for (size_t i = 0; i < md_n_probes; i++) {
		const char *name = md_probes[i]->name;

		if (strcmp(name, "ssh") == 0 || strcmp(name, "host") == 0)
			cr_assert(sel[i], "%s not selected with --probes ssh", name);
		else
			cr_assert_not(sel[i], "%s selected with --probes ssh", name);
	}
}

static const struct md_probe p_reads_b = { .name = "a", .reads = after_b, .run = noop };

Test(engine, a_cycle_through_reads_is_refused)
{
	const struct md_probe *v[] = { &p_reads_b, &p_after_a };

	expect_bad(v, 2, "a cycle");
}

Test(engine, bad_lists_are_refused_with_a_reason)
{
	select_bad("nosuch", "unknown probe 'nosuch' (known: ssh");
	select_bad("ssh,ssh", "'ssh' named twice");
	select_bad(",", "name at least one probe");
	select_bad("", "name at least one probe");
}

/* run/fleet: every host handed to done() exactly once, one call at a time, whatever
 * the number of threads; bad job counts refused before any check. */
struct fleet_seen {
	int calls[8];
	int rcs[8];
	int in_done, overlap;
};

static void fleet_done(void *arg, size_t i, int rc, const struct md_host_result *res,
		       const struct md_err *err)
{
	struct fleet_seen *s = arg;

	(void)res;
	(void)err;
	if (__atomic_fetch_add(&s->in_done, 1, __ATOMIC_SEQ_CST))
		s->overlap = 1;
	s->calls[i]++;
	s->rcs[i] = rc;
	__atomic_fetch_sub(&s->in_done, 1, __ATOMIC_SEQ_CST);
}

Test(fleet, every_host_reported_once_for_any_number_of_jobs)
{
	/* Malformed targets: md_check_run() refuses each at once, no network needed. */
	const char *specs[8] = { "a/1", "a/2", "a/3", "a/4", "a/5", "a/6", "a/7", "a/8" };
	struct md_ruleset rules;
	struct md_check_opts co = { .probes = "ssh" };
	struct md_err err = { 0 };

	md_ruleset_init(&rules);
	for (int jobs = 0; jobs <= 9; jobs += 3) {
		struct fleet_seen s = { .in_done = 0 };
		struct md_fleet_opts fo = { .jobs = jobs, .check = &co, .rules = &rules,
					    .done = fleet_done, .arg = &s };

		cr_assert_eq(md_fleet_run(specs, 8, &fo, &err), MD_OK, "%s", err.msg);
		for (int i = 0; i < 8; i++) {
			cr_assert_eq(s.calls[i], 1, "jobs %d: host %d reported %d times", jobs, i,
				     s.calls[i]);
			cr_assert_eq(s.rcs[i], MD_EINVAL);
		}
		cr_assert_not(s.overlap, "done() ran twice at once");
	}
	{
		struct md_fleet_opts bad = { .jobs = MD_FLEET_MAX_JOBS + 1, .check = &co,
					     .rules = &rules, .done = fleet_done };

		cr_assert_eq(md_fleet_run(specs, 8, &bad, &err), MD_EINVAL);
		bad.jobs = -1;
		cr_assert_eq(md_fleet_run(specs, 8, &bad, &err), MD_EINVAL);
		cr_assert(strstr(err.msg, "jobs"), "%s", err.msg);
	}
	md_ruleset_cleanup(&rules);
}
