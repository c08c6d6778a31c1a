/* check.c — md_check_run(): selection, budgets, the probes on threads, the verdict.
 *
 * Each selected probe is a job.  A job starts when the probes it runs after have
 * finished (and, for one that needs the session, when the probe that opens it has): a
 * probe that needs nothing of the others starts at once.  Each job records into a store
 * of its own, seeded with copies of the facts of the probes it runs after, so no two
 * threads ever share a store; when every job is over the stores are joined in registry
 * order.  When the session opener finishes with a session, the host steps of every job
 * that will use it go into one batch (core/hostbatch.h), run on a thread of its own. */
#include "run/check.h"
#include "core/hostbatch.h"
#include "core/net.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The host batch's time on the host: this share of what is left of the run when the
 * session is up, so that what runs after it (a TLS handshake, `tailscale cert`) keeps
 * time of its own however slow the host's commands are. */
#define BATCH_SHARE_PCT 50

enum job_state { JOB_WAITING, JOB_RUNNING, JOB_DONE };

struct engine;

struct job {
	const struct md_probe *p;
	struct md_probe_run *run;
	struct md_facts facts;
	struct md_ctx ctx;
	struct engine *eng;
	enum job_state state;   /* under eng->mu */
	pthread_t th;
	bool threaded;
};

struct engine {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *jobs;
	size_t n;
	const struct md_target *target;
	const struct md_options *opt;
	struct md_deadline run_dl;
	struct md_session *session;   /* the opener's, once opened */
	bool opened;                  /* under mu: the opener finished (or there is none) */
	struct md_hostbatch *batch;
	int64_t batch_host_ms;        /* the batch's time on the host */
	struct md_session *batch_session; /* set before the batch's thread starts */
	pthread_t batch_th;
	bool batch_threaded;
};

/* ==== selection ========================================================================== */

static void known_names(char *out, size_t n)
{
	out[0] = '\0';
	for (size_t i = 0; i < md_n_probes; i++) {
		strncat(out, md_probes[i]->name, n - strlen(out) - 1);
		if (i + 1 < md_n_probes)
			strncat(out, ", ", n - strlen(out) - 1);
	}
}

/* Adds what sel[i] runs after or brings (and the session's opener when it needs the
 * session), and what those do, until nothing changes. */
static void close_selection(bool *sel)
{
	bool changed = true;

	while (changed) {
		changed = false;
		for (size_t i = 0; i < md_n_probes; i++) {
			const char *const *lists[2] = { md_probes[i]->after, md_probes[i]->brings };

			if (!sel[i])
				continue;
			/* A probe that needs the session brings the probe that opens it. */
			for (size_t k = 0; k < md_n_probes && (md_probes[i]->needs & MD_NEEDS_SESSION); k++)
				if ((md_probes[k]->needs & MD_OPENS_SESSION) && !sel[k])
					sel[k] = changed = true;
			for (int l = 0; l < 2; l++)
				for (const char *const *a = lists[l]; a && *a; a++) {
					int k = md_probe_index(*a);

					if (k >= 0 && !sel[k])
						sel[k] = changed = true;
				}
		}
	}
}

int md_check_select(const char *list, const struct md_options *opt, bool *sel, struct md_err *err)
{
	char *copy, *save = NULL;
	size_t n = 0;
	int rc = MD_OK;

	for (size_t i = 0; i < md_n_probes; i++) {
		const struct md_probe *p = md_probes[i];

		sel[i] = list == NULL &&
			 (!(p->needs & MD_NEEDS_OPT_IN) || (p->wanted && p->wanted(opt)));
	}
	if (!list) {
		close_selection(sel);
		return MD_OK;
	}
	copy = strdup(list);
	if (!copy)
		return md_err_set(err, MD_ENOMEM, "probes", "out of memory");
	for (char *tok = strtok_r(copy, ",", &save); tok && rc == MD_OK;
	     tok = strtok_r(NULL, ",", &save), n++) {
		int k = md_probe_index(tok);
		char names[256];

		/* Each probe runs once: a name given again is a mistake in the list. */
		if (k >= 0 && sel[k])
			rc = md_err_set(err, MD_EINVAL, "probes", "--probes: '%s' named twice; name each probe once",
					tok);
		else if (k >= 0)
			sel[k] = true;
		else {
			known_names(names, sizeof(names));
			rc = md_err_set(err, MD_EINVAL, "probes", "--probes: unknown probe '%s' (known: %s)",
					tok, names);
		}
	}
	free(copy);
	if (rc == MD_OK && n == 0)
		rc = md_err_set(err, MD_EINVAL, "probes",
				"--probes '%s': name at least one probe (see: meshdoctor probes)", list);
	if (rc == MD_OK)
		close_selection(sel);
	return rc;
}

/* ==== the verdict ========================================================================= */

enum md_verdict md_check_verdict(const struct md_evaluation *ev, const struct md_probe_run *runs,
				 size_t n)
{
	bool warn = false, unknown = false;

	for (size_t i = 0; i < ev->n_findings; i++) {
		if (ev->findings[i].severity == MD_SEV_CRITICAL)
			return MD_VERDICT_CRITICAL;
		if (ev->findings[i].severity == MD_SEV_WARNING)
			warn = true;
	}
	for (size_t i = 0; i < n; i++) {
		/* Capturing without the right to capture is the operator's problem to fix
		 * (root or CAP_NET_RAW): a critical condition, not an unknown. */
		if (runs[i].status == MD_EPERM)
			return MD_VERDICT_CRITICAL;
		if (runs[i].status != MD_OK && runs[i].status != MD_ESKIP)
			unknown = true;
	}
	if (unknown)
		return MD_VERDICT_UNKNOWN;
	return warn ? MD_VERDICT_WARNING : MD_VERDICT_OK;
}

/* ==== the jobs ============================================================================ */

static struct job *job_of(struct engine *e, const char *name)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->jobs[i].p->name, name) == 0)
			return &e->jobs[i];
	return NULL;
}

static struct md_session *wait_session(struct md_ctx *ctx)
{
	struct engine *e = ctx->engine;
	struct md_session *s;

	pthread_mutex_lock(&e->mu);
	while (!e->opened)
		pthread_cond_wait(&e->cv, &e->mu);
	s = e->session;
	pthread_mutex_unlock(&e->mu);
	return s;
}

/* The ctx's wait_probe: for a probe's .reads. */
static int wait_probe(struct md_ctx *ctx, const char *name, struct md_facts *facts)
{
	struct engine *e = ctx->engine;
	struct job *d = job_of(e, name);

	if (!d)
		return MD_ENOTFOUND;
	pthread_mutex_lock(&e->mu);
	while (d->state != JOB_DONE)
		pthread_cond_wait(&e->cv, &e->mu);
	pthread_mutex_unlock(&e->mu);
	/* Done: its store is no longer written to. */
	return md_facts_copy_probe(facts, &d->facts, d->p->name);
}

/* Under e->mu: whether j may start now. */
static bool ready(const struct engine *e, const struct job *j)
{
	for (const char *const *a = j->p->after; a && *a; a++) {
		const struct job *d = job_of((struct engine *)e, *a);

		if (d && d->state != JOB_DONE)
			return false;
	}
	return !(j->p->needs & MD_NEEDS_SESSION) || e->opened;
}

/* Copies into j's store the facts and tables of the probes it runs after (finished). */
static int seed(struct job *j)
{
	int rc = MD_OK;

	for (const char *const *a = j->p->after; a && *a && rc == MD_OK; a++) {
		const struct job *d = job_of(j->eng, *a);

		if (d)
			rc = md_facts_copy_probe(&j->facts, &d->facts, d->p->name);
	}
	return rc;
}

static void *batch_main(void *arg)
{
	struct engine *e = arg;

	md_hostbatch_run(e->batch, e->batch_session, &e->run_dl, e->batch_host_ms);
	return NULL;
}

/* The opener finished: every job that will use the session adds its host steps to the
 * batch, which starts; then the session is announced.  Runs on the opener's thread. */
static void session_up(struct engine *e, struct md_session *s)
{
	struct md_err err = { 0 };
	int64_t left = md_deadline_left_ms(&e->run_dl);

	if (s)
		for (size_t i = 0; i < e->n; i++) {
			struct job *j = &e->jobs[i];
			struct md_ctx c = j->ctx;

			if (!j->p->host_steps || !(j->p->needs & (MD_NEEDS_SESSION | MD_USES_SESSION)))
				continue;
			c.session = s;
			md_err_clear(&err);
			/* A step that cannot be added runs alone later: nothing is lost. */
			(void)j->p->host_steps(&c, e->batch, &err);
		}
	if (s && md_hostbatch_count(e->batch)) {
		/* The host's total is the share; the answer may still come until the run's end. */
		e->batch_host_ms = e->run_dl.end_ms ? left * BATCH_SHARE_PCT / 100 : 0;
		e->batch_session = s;
		e->batch_threaded = pthread_create(&e->batch_th, NULL, batch_main, e) == 0;
		if (!e->batch_threaded)
			batch_main(e);
	} else {
		md_hostbatch_cancel(e->batch);
	}
	pthread_mutex_lock(&e->mu);
	e->session = s;
	e->opened = true;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	struct engine *e = j->eng;
	struct md_err err = { 0 };
	int64_t t0 = md_now_ms();

	j->ctx.deadline = md_deadline_min(
		e->run_dl, md_deadline_after(t0, j->p->budget ? j->p->budget(e->opt) : j->p->budget_ms));
	if (j->p->needs & MD_NEEDS_SESSION)
		j->ctx.session = e->session;
	if ((j->p->needs & MD_NEEDS_SESSION) && !j->ctx.session) {
		j->run->status = MD_ESKIP;
		snprintf(j->run->message, sizeof(j->run->message), "needs an SSH session: %s",
			 job_of(e, "ssh") ? "the ssh probe did not log in" : "the ssh probe was not selected");
	} else if ((j->run->status = seed(j)) != MD_OK) {
		snprintf(j->run->message, sizeof(j->run->message), "out of memory");
	} else {
		j->run->status = j->p->run(&j->ctx, &j->facts, &err);
		if (j->run->status != MD_OK)
			snprintf(j->run->message, sizeof(j->run->message), "%s",
				 err.msg[0] ? err.msg : md_status_name(j->run->status));
	}
	j->run->duration_ms = md_now_ms() - t0;
	if (j->p->needs & MD_OPENS_SESSION)
		session_up(e, j->run->status == MD_OK ? j->ctx.session : NULL);
	pthread_mutex_lock(&e->mu);
	j->state = JOB_DONE;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* Starts every job that is ready, until all have finished.  Jobs that cannot get a thread
 * run here, one after the other. */
static void run_jobs(struct engine *e)
{
	pthread_mutex_lock(&e->mu);
	for (;;) {
		bool running = false;

		for (size_t i = 0; i < e->n; i++) {
			struct job *j = &e->jobs[i];

			if (j->state == JOB_WAITING && ready(e, j)) {
				j->state = JOB_RUNNING;
				pthread_mutex_unlock(&e->mu);
				j->threaded = pthread_create(&j->th, NULL, job_main, j) == 0;
				if (!j->threaded)
					job_main(j);
				pthread_mutex_lock(&e->mu);
			}
			running |= j->state == JOB_RUNNING;
		}
		if (!running)
			break; /* none left, or none that can ever start (see below) */
		pthread_cond_wait(&e->cv, &e->mu);
	}
	/* A job still waiting with nothing running waits for a probe that will never finish:
	 * the registry rules that out (md_probes_check), but it must not hang the run. */
	for (size_t i = 0; i < e->n; i++)
		if (e->jobs[i].state == JOB_WAITING) {
			e->jobs[i].state = JOB_DONE;
			e->jobs[i].run->status = MD_EINVAL;
			snprintf(e->jobs[i].run->message, sizeof(e->jobs[i].run->message),
				 "could not start: what it runs after did not finish");
		}
	pthread_mutex_unlock(&e->mu);
	for (size_t i = 0; i < e->n; i++)
		if (e->jobs[i].threaded)
			pthread_join(e->jobs[i].th, NULL);
	if (e->batch_threaded)
		pthread_join(e->batch_th, NULL);
}

/* ==== the run ============================================================================= */

void md_host_result_init(struct md_host_result *r)
{
	memset(r, 0, sizeof(*r));
	md_facts_init(&r->facts);
	r->verdict = MD_VERDICT_UNKNOWN;
}

void md_host_result_cleanup(struct md_host_result *r)
{
	md_session_free(r->session);
	md_evaluation_cleanup(&r->eval);
	md_facts_cleanup(&r->facts);
	md_target_cleanup(&r->target);
	free(r->runs);
	memset(r, 0, sizeof(*r));
}

static void engine_cleanup(struct engine *e)
{
	for (size_t i = 0; e->jobs && i < e->n; i++)
		md_facts_cleanup(&e->jobs[i].facts);
	free(e->jobs);
	md_hostbatch_free(e->batch);
	pthread_cond_destroy(&e->cv);
	pthread_mutex_destroy(&e->mu);
}

/* The jobs for the selection, in registry order, each with its slot in out->runs. */
static int engine_init(struct engine *e, const bool *sel, const struct md_options *opt,
		       struct md_host_result *out, struct md_err *err)
{
	memset(e, 0, sizeof(*e));
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	e->target = &out->target;
	e->opt = opt;
	e->opened = true;
	e->jobs = calloc(md_n_probes, sizeof(*e->jobs));
	out->runs = calloc(md_n_probes, sizeof(*out->runs));
	e->batch = md_hostbatch_new(err);
	if (!e->jobs || !out->runs || !e->batch)
		return md_err_set(err, MD_ENOMEM, "check", "out of memory");
	for (size_t i = 0; i < md_n_probes; i++) {
		struct job *j = &e->jobs[e->n];

		if (!sel[i])
			continue;
		j->p = md_probes[i];
		j->eng = e;
		j->run = &out->runs[out->n_runs++];
		j->run->probe = j->p->name;
		md_facts_init(&j->facts);
		j->ctx = (struct md_ctx){ .target = e->target, .opt = opt, .batch = e->batch,
					  .wait_session = wait_session, .wait_probe = wait_probe,
					  .engine = e };
		if (j->p->needs & MD_OPENS_SESSION)
			e->opened = false;
		e->n++;
	}
	return MD_OK;
}

/* The run's deadline: --timeout for the network waits, plus the budget of each probe
 * whose work takes time by design (a live capture). */
static struct md_deadline run_deadline(const bool *sel, const struct md_options *opt, int64_t start)
{
	int64_t budget = opt->timeout_ms > 0 ? opt->timeout_ms : MD_DEFAULT_TIMEOUT_MS;

	for (size_t i = 0; i < md_n_probes; i++)
		if (sel[i] && md_probes[i]->budget)
			budget += md_probes[i]->budget(opt);
	return md_deadline_after(start, budget);
}

static int evaluate(const struct md_ruleset *rules, const struct md_options *opt,
		    struct md_host_result *out, struct md_err *err)
{
	struct md_ruleset view = *rules;

	/* The registry names the probe that would record a missing fact. */
	if (!view.fact_owner)
		view.fact_owner = md_probe_fact_owner;
	if (md_rules_evaluate(&view, &out->facts, opt->show_secrets, &out->eval) != MD_OK)
		return md_err_set(err, MD_ENOMEM, "rules", "out of memory evaluating the rules");
	out->verdict = md_check_verdict(&out->eval, out->runs, out->n_runs);
	return MD_OK;
}

int md_check_run(const char *spec, const struct md_check_opts *opts, const struct md_ruleset *rules,
		 struct md_host_result *out, struct md_err *err)
{
	const struct md_options *opt = &opts->probe;
	struct engine e;
	bool *sel = NULL;
	int64_t start = md_now_ms();
	int rc;

	md_host_result_init(out);
	out->started_wall_ms = md_wall_ms();
	sel = calloc(md_n_probes, sizeof(*sel));
	if (!sel)
		return md_err_set(err, MD_ENOMEM, "check", "out of memory");
	rc = md_check_select(opts->probes, opt, sel, err);
	if (rc == MD_OK)
		rc = md_target_parse(spec, &out->target, err);
	if (rc == MD_OK) {
		rc = engine_init(&e, sel, opt, out, err);
		e.run_dl = run_deadline(sel, opt, start);
		if (rc == MD_OK)
			rc = md_target_resolve(&out->target, &opts->target, &e.run_dl, err);
		if (rc == MD_OK) {
			run_jobs(&e);
			for (size_t i = 0; i < e.n && rc == MD_OK; i++)
				rc = md_facts_copy_probe(&out->facts, &e.jobs[i].facts, e.jobs[i].p->name);
			if (rc)
				rc = md_err_set(err, rc, "check", "out of memory");
		}
		if (rc == MD_OK)
			rc = evaluate(rules, opt, out, err);
		if (opts->keep_session) {
			const struct md_fact *os = md_facts_get(&out->facts, "host.os");

			/* During the run the session knew only what the banner said. */
			if (e.session && os && os->str && strcmp(os->str, "unknown") != 0)
				md_session_set_os(e.session, os->str);
			out->session = e.session;
		}
		else
			md_session_free(e.session);
		engine_cleanup(&e);
	}
	out->duration_ms = md_now_ms() - start;
	free(sel);
	return rc;
}
