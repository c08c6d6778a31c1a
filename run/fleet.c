/* fleet.c — see fleet.h. */
#include "run/fleet.h"

#include <pthread.h>
#include <stdlib.h>

struct fleet {
	const char *const *specs;
	size_t n, next;
	const struct md_fleet_opts *o;
	pthread_mutex_t take;  /* next */
	pthread_mutex_t report; /* one done() at a time */
};

static void *worker(void *arg)
{
	struct fleet *fl = arg;

	for (;;) {
		struct md_host_result res;
		struct md_err err = { 0 };
		size_t i;
		int rc;

		pthread_mutex_lock(&fl->take);
		i = fl->next < fl->n ? fl->next++ : fl->n;
		pthread_mutex_unlock(&fl->take);
		if (i == fl->n)
			return NULL;
		rc = md_check_run(fl->specs[i], fl->o->check, fl->o->rules, &res, &err);
		pthread_mutex_lock(&fl->report);
		fl->o->done(fl->o->arg, i, rc, &res, &err);
		pthread_mutex_unlock(&fl->report);
		md_host_result_cleanup(&res);
	}
}

int md_fleet_run(const char *const *specs, size_t n, const struct md_fleet_opts *o,
		 struct md_err *err)
{
	struct fleet fl = { .specs = specs, .n = n, .o = o };
	size_t jobs = o->jobs > 0 ? (size_t)o->jobs : MD_FLEET_DEFAULT_JOBS, started = 0;
	pthread_t *th;

	if (o->jobs < 0 || o->jobs > MD_FLEET_MAX_JOBS)
		return md_err_set(err, MD_EINVAL, "fleet", "jobs must be from 1 to %d",
				  MD_FLEET_MAX_JOBS);
	if (jobs > n)
		jobs = n;
	if (!n)
		return MD_OK;
	th = calloc(jobs, sizeof(*th));
	if (!th)
		return md_err_set(err, MD_ENOMEM, "fleet", "out of memory");
	pthread_mutex_init(&fl.take, NULL);
	pthread_mutex_init(&fl.report, NULL);
	for (; started < jobs; started++)
		if (pthread_create(&th[started], NULL, worker, &fl) != 0)
			break;
	/* Fewer threads than asked still check every host; none at all, on this one. */
	if (!started)
		worker(&fl);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&fl.take);
	pthread_mutex_destroy(&fl.report);
	free(th);
	return MD_OK;
}
