/* check_fleet.h — `meshdoctor check` over many hosts (cli/check_fleet.c). */
#ifndef MD_CLI_CHECK_FLEET_H
#define MD_CLI_CHECK_FLEET_H

#include "cli/cli.h"
#include "run/check.h"

#include <stdbool.h>
#include <stddef.h>

struct cli_fleet {
	const char *const *specs;     /* the TARGETs */
	size_t n;
	const struct md_check_opts *check;
	const struct md_ruleset *rules;
	const char *rules_dir;
	int jobs;                     /* 0: the default */
	const char *json_path;        /* one document with every host's report */
	const char *ndjson_path;      /* one report a line, as each host finishes */
	const char *prom_path;        /* a Prometheus textfile, replaced at once */
	bool show_secrets;
};

/* Checks every host, prints the table and the findings by cause, writes the reports
 * asked for.  The exit code: the worst host's (CRITICAL, then UNKNOWN, then WARNING). */
int cli_check_fleet(const struct cli_fleet *f);

#endif
