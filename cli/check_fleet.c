/* check_fleet.c — `meshdoctor check` over many hosts (several TARGETs, --inventory FILE):
 * the checks on a pool of threads (run/fleet.h), then one line a host and the findings
 * grouped by cause across hosts; --json one document with every host's report, --ndjson
 * one report a line as each host finishes.  The exit code is the worst host's. */
#include "cli/check_fleet.h"

#include "report/report.h"
#include "run/fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What the summary keeps of one host: a line, and its findings' rules. */
struct host_sum {
	int verdict;
	char error[256];              /* the check could not run: why */
	const struct md_rule **rules; /* its findings' rules, in the report's order */
	size_t n_rules;
};

struct fleet_out {
	const struct cli_fleet *f;
	struct host_sum *hosts;
	cJSON *all;                   /* --json: every host's {target, report} */
	FILE *ndjson;
	int write_failed;
};

static const char *verdict_name(int v)
{
	static const char *const names[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

	return v >= 0 && v <= 3 ? names[v] : "UNKNOWN";
}

/* CRITICAL, then UNKNOWN (could not tell), then WARNING, then OK: as one host's verdict. */
static int worse(int a, int b)
{
	static const int rank[] = { 0, 1, 3, 2 };

	return rank[b & 3] > rank[a & 3] ? b : a;
}

/* The report as one line of --ndjson, and into --json's document. */
static void keep_report(struct fleet_out *o, size_t i, const struct md_host_result *res)
{
	cJSON *doc = NULL;

	if (o->ndjson || o->all)
		doc = cli_report_of(res, o->f->rules, o->f->rules_dir, o->f->show_secrets);
	if ((o->ndjson || o->all) && !doc) {
		o->write_failed = 1;
		return;
	}
	if (o->ndjson) {
		char *line = cJSON_PrintUnformatted(doc);

		if (!line || fprintf(o->ndjson, "%s\n", line) < 0 || fflush(o->ndjson) != 0)
			o->write_failed = 1;
		free(line);
	}
	if (o->all) {
		cJSON *h = cJSON_CreateObject();

		if (!h || !cJSON_AddStringToObject(h, "target", o->f->specs[i]) ||
		    !cJSON_AddItemToArray(o->all, h)) {
			cJSON_Delete(h);
			o->write_failed = 1;
		} else {
			cJSON_AddItemToObject(h, "report", doc);
			doc = NULL;
		}
	}
	cJSON_Delete(doc);
}

static void on_done(void *arg, size_t i, int rc, const struct md_host_result *res,
		    const struct md_err *err)
{
	struct fleet_out *o = arg;
	struct host_sum *h = &o->hosts[i];

	if (rc != MD_OK) {
		h->verdict = MD_EXIT_UNKNOWN;
		snprintf(h->error, sizeof(h->error), "%s", err->msg);
		return;
	}
	h->verdict = (int)res->verdict;
	h->rules = calloc(res->eval.n_findings ? res->eval.n_findings : 1, sizeof(*h->rules));
	if (h->rules) {
		for (size_t k = 0; k < res->eval.n_findings; k++)
			h->rules[k] = res->eval.findings[k].rule;
		h->n_rules = res->eval.n_findings;
	}
	keep_report(o, i, res);
}

/* One line a host, in the order given. */
static void print_table(FILE *to, const struct fleet_out *o)
{
	size_t w = 4;

	for (size_t i = 0; i < o->f->n; i++)
		if (strlen(o->f->specs[i]) > w)
			w = strlen(o->f->specs[i]);
	if (w > 40)
		w = 40;
	fprintf(to, "%-*s  %-8s  %8s  %s\n", (int)w, "HOST", "VERDICT", "FINDINGS", "TOP FINDING");
	for (size_t i = 0; i < o->f->n; i++) {
		const struct host_sum *h = &o->hosts[i];
		const struct md_rule *top = h->n_rules ? h->rules[0] : NULL;

		fprintf(to, "%-*s  %-8s  %8zu  %s%s%s\n", (int)w, o->f->specs[i],
			verdict_name(h->verdict), h->n_rules,
			h->error[0] ? h->error : top ? top->id : "-",
			top && top->title ? ": " : "", top && top->title ? top->title : "");
	}
}

/* The findings grouped by rule across hosts, in the rules' order of first appearance. */
static void print_by_cause(FILE *to, const struct fleet_out *o)
{
	const struct md_rule **seen = calloc(o->f->rules->n + 1, sizeof(*seen));
	size_t n_seen = 0;

	if (!seen)
		return;
	for (size_t i = 0; i < o->f->n; i++)
		for (size_t k = 0; k < o->hosts[i].n_rules; k++) {
			const struct md_rule *r = o->hosts[i].rules[k];
			bool known = false;

			for (size_t s = 0; s < n_seen; s++)
				known |= seen[s] == r;
			if (!known && n_seen < o->f->rules->n)
				seen[n_seen++] = r;
		}
	if (n_seen)
		fprintf(to, "\nfindings by cause:\n");
	for (size_t s = 0; s < n_seen; s++) {
		size_t count = 0;

		for (size_t i = 0; i < o->f->n; i++)
			for (size_t k = 0; k < o->hosts[i].n_rules; k++)
				count += o->hosts[i].rules[k] == seen[s];
		fprintf(to, "  %s (%s) on %zu host%s:", seen[s]->id,
			md_severity_name(seen[s]->severity), count, count == 1 ? "" : "s");
		for (size_t i = 0; i < o->f->n; i++)
			for (size_t k = 0; k < o->hosts[i].n_rules; k++)
				if (o->hosts[i].rules[k] == seen[s])
					fprintf(to, " %s", o->f->specs[i]);
		fprintf(to, "\n      %s\n", seen[s]->title ? seen[s]->title : "");
	}
	free(seen);
}

/* s as a Prometheus label value: \\, \" and \n escaped (exposition format). */
static int prom_label(struct md_buf *b, const char *s)
{
	int rc = MD_OK;

	for (; *s && rc == MD_OK; s++)
		rc = *s == '\\' ? md_buf_puts(b, "\\\\") : *s == '"' ? md_buf_puts(b, "\\\"")
		   : *s == '\n' ? md_buf_puts(b, "\\n") : md_buf_append(b, s, 1);
	return rc;
}

/* The textfile: each host's verdict, and one gauge a (host, rule) that fired. */
static int write_prom(const struct fleet_out *o, int worst)
{
	const struct cli_fleet *f = o->f;
	struct md_buf b;
	int rc;

	md_buf_init(&b, 0);
	rc = md_buf_puts(&b, "# HELP meshdoctor_host_verdict The host's check: 0 OK, 1 WARNING, "
			 "2 CRITICAL, 3 UNKNOWN.\n# TYPE meshdoctor_host_verdict gauge\n");
	for (size_t i = 0; i < f->n && rc == MD_OK; i++) {
		rc |= md_buf_puts(&b, "meshdoctor_host_verdict{target=\"");
		rc |= prom_label(&b, f->specs[i]);
		rc |= md_buf_printf(&b, "\"} %d\n", o->hosts[i].verdict);
	}
	rc |= md_buf_puts(&b, "# HELP meshdoctor_finding 1 for each rule that fired on the host.\n"
			  "# TYPE meshdoctor_finding gauge\n");
	for (size_t i = 0; i < f->n && rc == MD_OK; i++)
		for (size_t k = 0; k < o->hosts[i].n_rules; k++) {
			const struct md_rule *r = o->hosts[i].rules[k];

			rc |= md_buf_puts(&b, "meshdoctor_finding{target=\"");
			rc |= prom_label(&b, f->specs[i]);
			rc |= md_buf_puts(&b, "\",rule=\"");
			rc |= prom_label(&b, r->id);
			rc |= md_buf_printf(&b, "\",severity=\"%s\"} 1\n", md_severity_name(r->severity));
		}
	rc |= md_buf_printf(&b, "# HELP meshdoctor_worst_verdict The worst host's verdict (the exit "
			    "code).\n# TYPE meshdoctor_worst_verdict gauge\nmeshdoctor_worst_verdict "
			    "%d\n# HELP meshdoctor_hosts Hosts checked.\n# TYPE meshdoctor_hosts gauge\n"
			    "meshdoctor_hosts %zu\n", worst, f->n);
	if (rc == MD_OK)
		rc = cli_write_output(f->prom_path, &b) ? MD_EIO : MD_OK;
	md_buf_cleanup(&b);
	return rc;
}

static FILE *open_ndjson(const char *path)
{
	if (!path)
		return NULL;
	if (strcmp(path, "-") == 0 || strcmp(path, "/dev/stdout") == 0)
		return stdout;
	return fopen(path, "w");
}

int cli_check_fleet(const struct cli_fleet *f)
{
	struct fleet_out o = { .f = f };
	struct md_fleet_opts fo = { .jobs = f->jobs, .check = f->check, .rules = f->rules,
				    .done = on_done, .arg = &o };
	struct md_err err = { 0 };
	bool json_out = f->json_path && cli_output_fd(f->json_path) == STDOUT_FILENO;
	bool nd_out = f->ndjson_path && (strcmp(f->ndjson_path, "-") == 0 ||
					 strcmp(f->ndjson_path, "/dev/stdout") == 0);
	FILE *to = json_out || nd_out ? stderr : stdout;
	int rc = MD_EXIT_OK;

	o.hosts = calloc(f->n, sizeof(*o.hosts));
	o.all = f->json_path ? cJSON_CreateArray() : NULL;
	o.ndjson = open_ndjson(f->ndjson_path);
	if (!o.hosts || (f->json_path && !o.all) || (f->ndjson_path && !o.ndjson)) {
		cli_error(f->ndjson_path && !o.ndjson ? "--ndjson %s: cannot write the file"
						      : "out of memory", f->ndjson_path);
		rc = MD_EXIT_UNKNOWN;
		goto out;
	}
	if (md_fleet_run(f->specs, f->n, &fo, &err) != MD_OK) {
		cli_error("%s", err.msg);
		rc = err.code == MD_EINVAL ? MD_EXIT_USAGE : MD_EXIT_UNKNOWN;
		goto out;
	}
	for (size_t i = 0; i < f->n; i++)
		rc = worse(rc, o.hosts[i].verdict);
	print_table(to, &o);
	print_by_cause(to, &o);
	fprintf(to, "\n%zu host%s checked; the worst: %s (exit %d)\n", f->n, f->n == 1 ? "" : "s",
		verdict_name(rc), rc);
	if (f->json_path) {
		struct md_buf buf;
		cJSON *doc = cJSON_CreateObject();

		md_buf_init(&buf, 0);
		if (!doc || !cJSON_AddStringToObject(doc, "schema", "meshdoctor/fleet/v1") ||
		    !cJSON_AddNumberToObject(doc, "exit_code", rc)) {
			o.write_failed = 1;
		} else {
			cJSON_AddItemToObject(doc, "hosts", o.all);
			o.all = NULL;
			if (md_report_json_text(doc, &buf) != MD_OK || cli_write_output(f->json_path, &buf))
				o.write_failed = 1;
		}
		cJSON_Delete(doc);
		md_buf_cleanup(&buf);
	}
	if (f->prom_path && write_prom(&o, rc) != MD_OK)
		o.write_failed = 1;
	if (o.write_failed) {
		cli_error("a report could not be written in full");
		rc = MD_EXIT_UNKNOWN;
	}
out:
	if (o.ndjson && o.ndjson != stdout && fclose(o.ndjson) != 0)
		rc = MD_EXIT_UNKNOWN;
	for (size_t i = 0; o.hosts && i < f->n; i++)
		free(o.hosts[i].rules);
	free(o.hosts);
	cJSON_Delete(o.all);
	return rc;
}
