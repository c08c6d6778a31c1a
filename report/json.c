/* json.c — builds and reads the report's JSON document (schema meshdoctor/report/v1). */
#include "report/report.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

const char *md_verdict_name(int exit_code)
{
	switch (exit_code) {
	case 0: return "ok";
	case 1: return "warning";
	case 2: return "critical";
	}
	return "unknown";
}

void md_format_time(int64_t wall_ms, char *out, size_t len)
{
	time_t s = (time_t)(wall_ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(wall_ms % 1000));
}

static cJSON *str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

#define MASK "********"

static cJSON *fact_value(const struct md_fact *x, bool show_secrets)
{
	switch (x->type) {
	case MD_FACT_STR: return cJSON_CreateString(x->str);
	case MD_FACT_SECRET: return cJSON_CreateString(show_secrets ? x->str : MASK);
	case MD_FACT_INT: return cJSON_CreateNumber((double)x->num);
	case MD_FACT_REAL: return cJSON_CreateNumber(x->real);
	case MD_FACT_BOOL: return cJSON_CreateBool(x->num != 0);
	}
	return cJSON_CreateNull();
}

static const char *check_name(enum md_check c)
{
	switch (c) {
	case MD_CHECK_OK: return "ok";
	case MD_CHECK_FAIL: return "fail";
	case MD_CHECK_WARN: return "warn";
	case MD_CHECK_SKIP: return "skip";
	case MD_CHECK_NONE: break;
	}
	return NULL;
}

static cJSON *fact_json(const struct md_fact *x, bool show_secrets)
{
	cJSON *o = cJSON_CreateObject();
	char at[40];

	md_format_time(x->at_ms, at, sizeof(at));
	cJSON_AddStringToObject(o, "name", x->name);
	cJSON_AddStringToObject(o, "type", md_fact_type_name(x->type));
	cJSON_AddItemToObject(o, "value", fact_value(x, show_secrets));
	/* A secret's evidence is the command or text it came from, so it holds the secret
	 * too: masked with the value. */
	cJSON_AddItemToObject(o, "evidence", str_or_null(x->evidence && x->type == MD_FACT_SECRET &&
							   !show_secrets ? MASK : x->evidence));
	cJSON_AddStringToObject(o, "probe", x->probe);
	cJSON_AddStringToObject(o, "at", at);
	if (x->check != MD_CHECK_NONE) {
		cJSON_AddStringToObject(o, "check", check_name(x->check));
		cJSON_AddItemToObject(o, "label", str_or_null(x->label));
	}
	return o;
}

static const char *run_status(int status)
{
	if (status == MD_OK)
		return "ok";
	if (status == MD_ESKIP)
		return "skipped";
	return "error";
}

static cJSON *probes_json(const struct md_report *r)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < r->n_runs; i++) {
		const struct md_probe_run *run = &r->runs[i];
		cJSON *p = cJSON_CreateObject(), *facts = cJSON_CreateArray(), *tables = NULL;

		cJSON_AddStringToObject(p, "name", run->probe->name);
		cJSON_AddStringToObject(p, "status", run_status(run->status));
		cJSON_AddNumberToObject(p, "duration_ms", (double)run->duration_ms);
		cJSON_AddItemToObject(p, "message", run->message[0] ? cJSON_CreateString(run->message)
								     : cJSON_CreateNull());
		for (size_t j = 0; j < r->facts->n; j++)
			if (strcmp(r->facts->v[j].probe, run->probe->name) == 0)
				cJSON_AddItemToArray(facts, fact_json(&r->facts->v[j], r->show_secrets));
		cJSON_AddItemToObject(p, "facts", facts);
		for (size_t j = 0; j < r->facts->n_tables; j++) {
			const struct md_table *t = &r->facts->tables[j];
			cJSON *tj;

			if (strcmp(t->probe, run->probe->name) != 0)
				continue;
			tj = cJSON_Parse(t->json);
			if (!tj)
				continue; /* a probe's malformed table never breaks the report */
			if (!tables)
				tables = cJSON_CreateObject();
			cJSON_AddItemToObject(tables, t->name, tj);
		}
		cJSON_AddItemToObject(p, "tables", tables ? tables : cJSON_CreateObject());
		cJSON_AddItemToArray(arr, p);
	}
	return arr;
}

static cJSON *strings(char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

static bool masked_secret(const struct md_report *r, const char *name)
{
	const struct md_fact *f = r->facts && name ? md_facts_get(r->facts, name) : NULL;

	return f && f->type == MD_FACT_SECRET && !r->show_secrets;
}

static cJSON *findings_json(const struct md_report *r)
{
	const struct md_evaluation *ev = r->eval;
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; ev && i < ev->n_findings; i++) {
		const struct md_finding *f = &ev->findings[i];
		cJSON *o = cJSON_CreateObject(), *evid = cJSON_CreateArray();

		cJSON_AddStringToObject(o, "rule", f->rule->id);
		cJSON_AddStringToObject(o, "severity", md_severity_name(f->severity));
		cJSON_AddItemToObject(o, "title", str_or_null(f->rule->title));
		cJSON_AddStringToObject(o, "cause", f->cause);
		for (size_t j = 0; j < f->n_evidence; j++) {
			cJSON *c = cJSON_CreateObject();
			const struct md_cited *cf = &f->evidence[j];
			bool mask = masked_secret(r, cf->fact);

			cJSON_AddStringToObject(c, "fact", cf->fact);
			cJSON_AddItemToObject(c, "value", str_or_null(mask && cf->value ? MASK : cf->value));
			cJSON_AddItemToObject(c, "evidence",
					      str_or_null(mask && cf->evidence ? MASK : cf->evidence));
			cJSON_AddItemToObject(c, "probe", str_or_null(f->evidence[j].probe));
			cJSON_AddItemToArray(evid, c);
		}
		cJSON_AddItemToObject(o, "evidence", evid);
		cJSON_AddItemToObject(o, "advice", strings(f->advice, f->n_advice));
		cJSON_AddItemToObject(o, "remedy", str_or_null(f->rule->remedy));
		cJSON_AddStringToObject(o, "source", f->rule->source);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *path_json(const struct md_evaluation *ev)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; ev && i < ev->n_path; i++) {
		const struct md_step *s = &ev->path[i];
		cJSON *o = cJSON_CreateObject(), *miss = cJSON_CreateArray();

		cJSON_AddStringToObject(o, "rule", s->rule->id);
		cJSON_AddStringToObject(o, "result", md_rule_result_name(s->result));
		cJSON_AddItemToObject(o, "trace", str_or_null(s->trace));
		for (size_t j = 0; j < s->n_missing; j++) {
			cJSON *m = cJSON_CreateObject();

			cJSON_AddStringToObject(m, "fact", s->missing[j].fact);
			cJSON_AddItemToObject(m, "probe", str_or_null(s->missing[j].probe));
			cJSON_AddItemToArray(miss, m);
		}
		cJSON_AddItemToObject(o, "missing", miss);
		if (s->superseded_by)
			cJSON_AddStringToObject(o, "superseded_by", s->superseded_by);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

cJSON *md_report_build(const struct md_report *r)
{
	cJSON *doc = cJSON_CreateObject(), *tool, *target, *verdict, *rules;
	char at[40];
	int warnings = 0, critical = 0;

	if (!doc)
		return NULL;
	md_format_time(r->started_wall_ms, at, sizeof(at));
	cJSON_AddStringToObject(doc, "schema", MD_REPORT_SCHEMA);
	tool = cJSON_AddObjectToObject(doc, "tool");
	cJSON_AddStringToObject(tool, "name", "meshdoctor");
	cJSON_AddStringToObject(tool, "version", MD_VERSION);
	cJSON_AddStringToObject(doc, "generated_at", at);
	cJSON_AddNumberToObject(doc, "duration_ms", (double)r->duration_ms);
	target = cJSON_AddObjectToObject(doc, "target");
	cJSON_AddItemToObject(target, "spec", str_or_null(r->target->spec));
	cJSON_AddItemToObject(target, "user", str_or_null(r->target->user));
	cJSON_AddItemToObject(target, "host", str_or_null(r->target->host));
	cJSON_AddItemToObject(target, "hostname", str_or_null(r->target->hostname));
	cJSON_AddNumberToObject(target, "port", r->target->port);
	cJSON_AddBoolToObject(target, "ssh_config", r->target->from_ssh_config);
	for (size_t i = 0; r->eval && i < r->eval->n_findings; i++) {
		if (r->eval->findings[i].severity == MD_SEV_CRITICAL)
			critical++;
		else if (r->eval->findings[i].severity == MD_SEV_WARNING)
			warnings++;
	}
	verdict = cJSON_AddObjectToObject(doc, "verdict");
	cJSON_AddStringToObject(verdict, "status", md_verdict_name(r->exit_code));
	cJSON_AddNumberToObject(verdict, "exit_code", r->exit_code);
	cJSON_AddNumberToObject(verdict, "critical", critical);
	cJSON_AddNumberToObject(verdict, "warnings", warnings);
	cJSON_AddItemToObject(doc, "probes", probes_json(r));
	cJSON_AddItemToObject(doc, "findings", findings_json(r));
	cJSON_AddItemToObject(doc, "path", path_json(r->eval));
	rules = cJSON_AddObjectToObject(doc, "rules");
	cJSON_AddItemToObject(rules, "dir", str_or_null(r->rules_dir));
	cJSON_AddNumberToObject(rules, "count", r->rules ? (double)r->rules->n : 0);
	cJSON_AddItemToObject(rules, "files", r->rules ? strings(r->rules->files, r->rules->n_files)
						       : cJSON_CreateArray());
	return doc;
}

/* cJSON escapes C0 controls, '"' and '\\' in strings but writes DEL, C1 controls and bytes
 * that are not UTF-8 as they are: a report shown with `cat` could then still drive the
 * terminal, and RFC 8259 section 8.1 wants UTF-8.  Outside strings cJSON writes only ASCII,
 * so every such byte is inside a string, where \u00NN names the same code point (a byte
 * that is not UTF-8 is read as Latin-1, so nothing is lost). */
static int put_json(struct md_buf *out, const char *s)
{
	int rc = MD_OK;

	while (*s && rc == MD_OK) {
		const unsigned char *u = (const unsigned char *)s;
		size_t n = md_escape_shown_len(s);

		if (n || *u < 0x20) { /* text, or cJSON's own newlines and tabs */
			rc = md_buf_append(out, s, n ? n : 1);
			s += n ? n : 1;
		} else if (u[0] == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f) {
			rc = md_buf_printf(out, "\\u%04x", u[1]);
			s += 2;
		} else {
			rc = md_buf_printf(out, "\\u%04x", u[0]);
			s++;
		}
	}
	return rc;
}

int md_report_json_text(const cJSON *doc, struct md_buf *out)
{
	char *s = cJSON_Print(doc);
	int rc;

	if (!s)
		return MD_ENOMEM;
	/* cJSON indents with tabs; reports are read by people in tickets, so keep that and
	 * end with a newline. */
	rc = put_json(out, s);
	if (!rc)
		rc = md_buf_puts(out, "\n");
	cJSON_free(s);
	return rc;
}

/* An array whose elements are all objects (absent is allowed when optional). */
static bool objects(const cJSON *a, bool optional)
{
	const cJSON *x;

	if (!a)
		return optional;
	if (!cJSON_IsArray(a))
		return false;
	cJSON_ArrayForEach(x, a)
		if (!cJSON_IsObject(x))
			return false;
	return true;
}

/* The containers the renderers walk must have their documented types; a leaf that is
 * missing or of another type is rendered as "?", so it is not checked here. */
static int check_shape(const cJSON *doc, struct md_err *err)
{
	static const char *const objs[] = { "tool", "target", "verdict" };
	const cJSON *x, *a;
	int i;

	for (size_t k = 0; k < sizeof(objs) / sizeof(objs[0]); k++)
		if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(doc, objs[k])))
			return md_err_set(err, MD_EPARSE, "report", "\"%s\" must be an object", objs[k]);
	if (!objects(cJSON_GetObjectItemCaseSensitive(doc, "probes"), false))
		return md_err_set(err, MD_EPARSE, "report", "\"probes\" must be an array of objects");
	i = 0;
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(doc, "probes")) {
		if (!objects(cJSON_GetObjectItemCaseSensitive(x, "facts"), true))
			return md_err_set(err, MD_EPARSE, "report",
					  "probes[%d].facts must be an array of objects", i);
		i++;
	}
	if (!objects(cJSON_GetObjectItemCaseSensitive(doc, "findings"), false))
		return md_err_set(err, MD_EPARSE, "report", "\"findings\" must be an array of objects");
	i = 0;
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(doc, "findings")) {
		a = cJSON_GetObjectItemCaseSensitive(x, "advice");
		if (!objects(cJSON_GetObjectItemCaseSensitive(x, "evidence"), true))
			return md_err_set(err, MD_EPARSE, "report",
					  "findings[%d].evidence must be an array of objects", i);
		if (a && !cJSON_IsArray(a))
			return md_err_set(err, MD_EPARSE, "report",
					  "findings[%d].advice must be an array", i);
		i++;
	}
	if (!objects(cJSON_GetObjectItemCaseSensitive(doc, "path"), true))
		return md_err_set(err, MD_EPARSE, "report", "\"path\" must be an array of objects");
	i = 0;
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(doc, "path")) {
		if (!objects(cJSON_GetObjectItemCaseSensitive(x, "missing"), true))
			return md_err_set(err, MD_EPARSE, "report",
					  "path[%d].missing must be an array of objects", i);
		i++;
	}
	return MD_OK;
}

int md_report_parse(const char *text, cJSON **out, struct md_err *err)
{
	static const char *const required[] = { "tool", "target", "verdict", "probes", "findings" };
	cJSON *doc = cJSON_Parse(text);
	const cJSON *schema;

	*out = NULL;
	if (!doc)
		return md_err_set(err, MD_EPARSE, "report", "not JSON (error near: %.40s)",
				  cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() : "?");
	schema = cJSON_GetObjectItemCaseSensitive(doc, "schema");
	if (!cJSON_IsString(schema) || strcmp(schema->valuestring, MD_REPORT_SCHEMA) != 0) {
		cJSON_Delete(doc);
		return md_err_set(err, MD_EPARSE, "report",
				  "not a meshdoctor report: \"schema\" must be \"%s\"", MD_REPORT_SCHEMA);
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!cJSON_GetObjectItemCaseSensitive(doc, required[i])) {
			cJSON_Delete(doc);
			return md_err_set(err, MD_EPARSE, "report", "report has no \"%s\" member",
					  required[i]);
		}
	if (check_shape(doc, err) != MD_OK) {
		cJSON_Delete(doc);
		return MD_EPARSE;
	}
	*out = doc;
	return MD_OK;
}
