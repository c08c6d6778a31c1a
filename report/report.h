/* report.h — the report: one versioned JSON document (schema meshdoctor/report/v1) and
 * its renderings as text and Markdown.
 *
 * md_report_build() turns the run (facts, probe runs, evaluation) into the JSON tree; the
 * text and Markdown writers render a JSON tree, so a saved report renders exactly like a
 * live one (`meshdoctor report FILE`).  Writers never compute verdicts: the caller puts
 * the verdict in struct md_report.  Everything is built in memory and written once.
 * Secret facts are masked unless show_secrets.  The schema is documented in docs/report.md. */
#ifndef MD_REPORT_H
#define MD_REPORT_H

#include "core/buf.h"
#include "core/err.h"
#include "core/facts.h"
#include "core/target.h"
#include "core/probe_run.h"
#include "rules/engine.h"

#include <cJSON.h>
#include <stdbool.h>

#define MD_REPORT_SCHEMA "meshdoctor/report/v1"

struct md_report {
	const struct md_target *target;
	const struct md_facts *facts;
	const struct md_probe_run *runs;
	size_t n_runs;
	const struct md_evaluation *eval;
	const struct md_ruleset *rules;
	const char *rules_dir;
	int64_t started_wall_ms;
	int64_t duration_ms;
	int exit_code;        /* 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN */
	bool show_secrets;
};

/* Returns a new tree (cJSON_Delete) or NULL when out of memory; never a partial tree:
 * whatever was built is freed first.  A probe's table that is not valid JSON is left out. */
cJSON *md_report_build(const struct md_report *r);

/* Parses and checks a saved report: the schema, the required members and the types of
 * the containers the renderers walk (objects, arrays of objects).  Leaves that are missing
 * or of another type are not errors: the renderers show them as "?".  *out on success;
 * MD_EPARSE with a one-line message otherwise. */
int md_report_parse(const char *text, cJSON **out, struct md_err *err);

struct md_text_opts {
	bool color;    /* ANSI colours (the caller decides: TTY and no NO_COLOR) */
	bool verbose;  /* evidence on every line, all facts, the engine's path */
};

/* Human checklist + findings. */
int md_report_text(const cJSON *doc, const struct md_text_opts *o, struct md_buf *out);
/* Markdown for a bug ticket. */
int md_report_markdown(const cJSON *doc, struct md_buf *out);
/* Pretty JSON text (2-space indent, trailing newline). */
int md_report_json_text(const cJSON *doc, struct md_buf *out);

/* The verdict's name for an exit code: "ok", "warning", "critical", "unknown". */
const char *md_verdict_name(int exit_code);

/* ISO 8601 UTC with milliseconds, "2026-11-22T04:10:00.123Z". */
void md_format_time(int64_t wall_ms, char *out, size_t len);

#endif
