/* check.h — the check engine: run the probes on one host and evaluate the rules.
 *
 * `meshdoctor check`, `fix`, `provision` and runs over many hosts all call
 * md_check_run(): it selects the probes (with the ones they depend on), gives each its
 * share of the deadline, runs them as their dependencies allow (several at once, on
 * threads: a probe that needs nothing from the host starts at once, the host's commands
 * run in one batch as soon as the session is up), then evaluates the rules over what
 * they observed.  It prints nothing: selection mistakes come back as an md_err.
 *
 * Runs are independent: several md_check_run() calls may run at once on threads of one
 * process, each with its own target, options and result (the ruleset is only read). */
#ifndef MD_RUN_CHECK_H
#define MD_RUN_CHECK_H

#include "core/err.h"
#include "core/facts.h"
#include "core/probe_run.h"
#include "core/session.h"
#include "core/target.h"
#include "probes/probe.h"
#include "rules/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes and verdicts (monitoring-plugins convention, so `check` runs as a
 * Nagios/Icinga check). */
enum md_verdict {
	MD_VERDICT_OK = 0,
	MD_VERDICT_WARNING = 1,
	MD_VERDICT_CRITICAL = 2,
	MD_VERDICT_UNKNOWN = 3,
};

#define MD_DEFAULT_TIMEOUT_MS 5000

/* What to run.  Zero / NULL = default. */
struct md_check_opts {
	const char *probes;            /* --probes "ssh,tls": only these (and what they need) */
	struct md_options probe;       /* the probes' options (timeout_ms: the run's budget) */
	struct md_target_opts target;  /* --user, --port, --identity, ... */
	/* Keep the session open in the result (fix and provision go on using it). */
	bool keep_session;
};

/* What one host's check found. */
struct md_host_result {
	struct md_target target;       /* as resolved */
	struct md_facts facts;         /* every probe's facts, in probe order */
	struct md_probe_run *runs;     /* one per selected probe, in registry order */
	size_t n_runs;
	struct md_evaluation eval;
	enum md_verdict verdict;
	int64_t started_wall_ms;
	int64_t duration_ms;
	/* The session the probes used when keep_session was asked (owned: freed by
	 * md_host_result_cleanup()), else NULL. */
	struct md_session *session;
};

void md_host_result_init(struct md_host_result *r);
void md_host_result_cleanup(struct md_host_result *r);

/* Parses a --probes list against the registry into sel[md_n_probes] (true: run it),
 * adding what the named probes depend on; without a list, every probe but the opt-in
 * ones no option asked for.  MD_EINVAL with a one-line message: an unknown probe (the
 * known ones listed), one named twice, an empty list. */
int md_check_select(const char *list, const struct md_options *opt, bool *sel, struct md_err *err);

/* Runs the check of spec (TARGET as the user wrote it) with opts and rules (read only,
 * its fact_owner is not needed: the engine answers for the registry).  MD_OK with *out
 * filled (whatever the probes found: out->verdict says); MD_EINVAL for a malformed target
 * or a bad selection, MD_ENOMEM; err says what.  out is md_host_result_init()ed first and
 * must be cleaned up by the caller in every case. */
int md_check_run(const char *spec, const struct md_check_opts *opts, const struct md_ruleset *rules,
		 struct md_host_result *out, struct md_err *err);

/* The verdict of an evaluation and the probes' runs: a critical finding wins; then a
 * probe that could not complete makes it UNKNOWN (a live capture without the right to
 * capture is CRITICAL: the operator's to fix); then warnings. */
enum md_verdict md_check_verdict(const struct md_evaluation *ev, const struct md_probe_run *runs,
				 size_t n);

#endif
