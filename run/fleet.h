/* fleet.h — many hosts' checks at once: md_check_run() for each on a pool of threads.
 *
 * Each host gets its own run (its own deadline from the options, its own session); at
 * most jobs run at once, so the whole run takes about ceil(n / jobs) deadlines at worst.
 * A host's result is handed to done() as soon as its check ends, one call at a time, and
 * freed when done() returns: memory grows with the hosts in flight, not with all hosts. */
#ifndef MD_RUN_FLEET_H
#define MD_RUN_FLEET_H

#include "run/check.h"

#include <stddef.h>

#define MD_FLEET_DEFAULT_JOBS 16
#define MD_FLEET_MAX_JOBS 256

struct md_fleet_opts {
	int jobs;                        /* 0: MD_FLEET_DEFAULT_JOBS; capped by the hosts */
	const struct md_check_opts *check;
	const struct md_ruleset *rules;
	/* Called once per host, in the order the checks end, never two at once: i is the
	 * host's index in specs; rc and err as md_check_run() returned them (res is filled
	 * when rc is MD_OK). */
	void (*done)(void *arg, size_t i, int rc, const struct md_host_result *res,
		     const struct md_err *err);
	void *arg;
};

/* Checks specs[0..n) as o says.  MD_OK when every host was checked (whatever each one's
 * verdict); MD_ENOMEM or MD_EINVAL (jobs) before any check when it cannot start. */
int md_fleet_run(const char *const *specs, size_t n, const struct md_fleet_opts *o,
		 struct md_err *err);

#endif
