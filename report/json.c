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

/* ---- building the tree ----------------------------------------------------------
 *
 * Every node is attached to its parent as soon as it is made, through put() and push():
 * a node that could not be made or attached is freed there and the builder notes that
 * memory ran out.  md_report_build() then frees the whole tree and returns NULL, so no
 * caller ever sees half a report. */

struct jb {
	bool oom;
};

/* Adds item (owned) to object o as key.  item, or NULL (item freed) on failure. */
static cJSON *put(struct jb *b, cJSON *o, const char *key, cJSON *item)
{
	if (item && o && cJSON_AddItemToObject(o, key, item))
		return item;
	cJSON_Delete(item);
	b->oom = true;
	return NULL;
}

/* Appends item (owned) to array a.  item, or NULL (item freed) on failure. */
static cJSON *push(struct jb *b, cJSON *a, cJSON *item)
{
	if (item && a && cJSON_AddItemToArray(a, item))
		return item;
	cJSON_Delete(item);
	b->oom = true;
	return NULL;
}

static cJSON *str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static void put_str(struct jb *b, cJSON *o, const char *key, const char *s)
{
	put(b, o, key, str_or_null(s));
}

static void put_num(struct jb *b, cJSON *o, const char *key, double v)
{
	put(b, o, key, cJSON_CreateNumber(v));
}

static cJSON *fact_value(const struct md_fact *x, bool show_secrets)
{
	switch (x->type) {
	case MD_FACT_STR: return str_or_null(x->str);
	case MD_FACT_SECRET: return str_or_null(show_secrets ? x->str : MD_SECRET_MASK);
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

static void fact_json(struct jb *b, cJSON *facts, const struct md_fact *x, bool show_secrets)
{
	cJSON *o = push(b, facts, cJSON_CreateObject());
	char at[40];

	md_format_time(x->at_ms, at, sizeof(at));
	put_str(b, o, "name", x->name);
	put_str(b, o, "type", md_fact_type_name(x->type));
	put(b, o, "value", fact_value(x, show_secrets));
	put_str(b, o, "evidence", md_fact_evidence_text(x, show_secrets));
	put_str(b, o, "probe", x->probe);
	put_str(b, o, "at", at);
	if (x->check != MD_CHECK_NONE) {
		put_str(b, o, "check", check_name(x->check));
		put_str(b, o, "label", x->label);
	}
}

static const char *run_status(int status)
{
	if (status == MD_OK)
		return "ok";
	if (status == MD_ESKIP)
		return "skipped";
	return "error";
}

static void tables_json(struct jb *b, cJSON *tables, const struct md_facts *facts,
			const char *probe)
{
	for (size_t j = 0; j < facts->n_tables; j++) {
		const struct md_table *t = &facts->tables[j];

		/* A table is what the probe printed with cJSON (md_facts_table), so it parses:
		 * a failure here is memory running out, and put() says so. */
		if (strcmp(t->probe, probe) == 0)
			put(b, tables, t->name, cJSON_Parse(t->json));
	}
}

static void probes_json(struct jb *b, cJSON *arr, const struct md_report *r)
{
	for (size_t i = 0; i < r->n_runs; i++) {
		const struct md_probe_run *run = &r->runs[i];
		cJSON *p = push(b, arr, cJSON_CreateObject()), *facts;

		put_str(b, p, "name", run->probe);
		put_str(b, p, "status", run_status(run->status));
		put_num(b, p, "duration_ms", (double)run->duration_ms);
		put_str(b, p, "message", run->message[0] ? run->message : NULL);
		facts = put(b, p, "facts", cJSON_CreateArray());
		for (size_t j = 0; r->facts && j < r->facts->n; j++)
			if (strcmp(r->facts->v[j].probe, run->probe) == 0)
				fact_json(b, facts, &r->facts->v[j], r->show_secrets);
		if (r->facts)
			tables_json(b, put(b, p, "tables", cJSON_CreateObject()), r->facts,
				    run->probe);
		else
			put(b, p, "tables", cJSON_CreateObject());
	}
}

static void strings(struct jb *b, cJSON *a, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		push(b, a, str_or_null(v[i]));
}

/* Cited facts are written as the rule engine gave them: masked there, with the same
 * show_secrets (md_rules_evaluate). */
static void findings_json(struct jb *b, cJSON *arr, const struct md_report *r)
{
	const struct md_evaluation *ev = r->eval;

	for (size_t i = 0; ev && i < ev->n_findings; i++) {
		const struct md_finding *f = &ev->findings[i];
		cJSON *o = push(b, arr, cJSON_CreateObject()), *evid;

		put_str(b, o, "rule", f->rule->id);
		put_str(b, o, "severity", md_severity_name(f->severity));
		put_str(b, o, "title", f->rule->title);
		put_str(b, o, "cause", f->cause);
		evid = put(b, o, "evidence", cJSON_CreateArray());
		for (size_t j = 0; j < f->n_evidence; j++) {
			const struct md_cited *cf = &f->evidence[j];
			cJSON *c = push(b, evid, cJSON_CreateObject());

			put_str(b, c, "fact", cf->fact);
			put_str(b, c, "value", cf->value);
			put_str(b, c, "evidence", cf->evidence);
			put_str(b, c, "probe", cf->probe);
		}
		strings(b, put(b, o, "advice", cJSON_CreateArray()), f->advice, f->n_advice);
		put_str(b, o, "remedy", f->rule->remedy);
		put_str(b, o, "source", f->rule->source);
	}
}

static void path_json(struct jb *b, cJSON *arr, const struct md_evaluation *ev)
{
	for (size_t i = 0; ev && i < ev->n_path; i++) {
		const struct md_step *s = &ev->path[i];
		cJSON *o = push(b, arr, cJSON_CreateObject()), *miss;

		put_str(b, o, "rule", s->rule->id);
		put_str(b, o, "result", md_rule_result_name(s->result));
		put_str(b, o, "trace", s->trace);
		miss = put(b, o, "missing", cJSON_CreateArray());
		for (size_t j = 0; j < s->n_missing; j++) {
			cJSON *m = push(b, miss, cJSON_CreateObject());

			put_str(b, m, "fact", s->missing[j].fact);
			put_str(b, m, "probe", s->missing[j].probe);
		}
		if (s->superseded_by)
			put_str(b, o, "superseded_by", s->superseded_by);
	}
}

cJSON *md_report_build(const struct md_report *r)
{
	struct jb b = { false };
	cJSON *doc = cJSON_CreateObject(), *tool, *target, *verdict, *rules;
	char at[40];
	int warnings = 0, critical = 0;

	if (!doc)
		return NULL;
	md_format_time(r->started_wall_ms, at, sizeof(at));
	put_str(&b, doc, "schema", MD_REPORT_SCHEMA);
	tool = put(&b, doc, "tool", cJSON_CreateObject());
	put_str(&b, tool, "name", "meshdoctor");
	put_str(&b, tool, "version", MD_VERSION);
	put_str(&b, doc, "generated_at", at);
	put_num(&b, doc, "duration_ms", (double)r->duration_ms);
	target = put(&b, doc, "target", cJSON_CreateObject());
	put_str(&b, target, "spec", r->target->spec);
	put_str(&b, target, "user", r->target->user);
	put_str(&b, target, "host", r->target->host);
	put_str(&b, target, "hostname", r->target->hostname);
	put_num(&b, target, "port", r->target->port);
	put(&b, target, "ssh_config", cJSON_CreateBool(r->target->ssh_config == MD_SSH_CONFIG_READ));
	for (size_t i = 0; r->eval && i < r->eval->n_findings; i++) {
		if (r->eval->findings[i].severity == MD_SEV_CRITICAL)
			critical++;
		else if (r->eval->findings[i].severity == MD_SEV_WARNING)
			warnings++;
	}
	verdict = put(&b, doc, "verdict", cJSON_CreateObject());
	put_str(&b, verdict, "status", md_verdict_name(r->exit_code));
	put_num(&b, verdict, "exit_code", r->exit_code);
	put_num(&b, verdict, "critical", critical);
	put_num(&b, verdict, "warnings", warnings);
	probes_json(&b, put(&b, doc, "probes", cJSON_CreateArray()), r);
	findings_json(&b, put(&b, doc, "findings", cJSON_CreateArray()), r);
	path_json(&b, put(&b, doc, "path", cJSON_CreateArray()), r->eval);
	rules = put(&b, doc, "rules", cJSON_CreateObject());
	put_str(&b, rules, "dir", r->rules_dir);
	put_num(&b, rules, "count", r->rules ? (double)r->rules->n : 0);
	strings(&b, put(&b, rules, "files", cJSON_CreateArray()), r->rules ? r->rules->files : NULL,
		r->rules ? r->rules->n_files : 0);
	if (b.oom) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

/* cJSON escapes C0 controls, '"' and '\\' in strings but writes DEL, C1 controls,
 * bidirectional controls and bytes that are not UTF-8 as they are: a report shown with
 * `cat` could then still drive the terminal or reorder what it shows, and RFC 8259
 * section 8.1 wants UTF-8.  Outside strings cJSON writes only ASCII, so every such byte is
 * inside a string.  A valid UTF-8 character that is not shown as it is becomes \uXXXX of
 * its code point (section 7), so it reads back the same; a byte that is not UTF-8 becomes
 * \u00NN, read as Latin-1, so nothing is lost. */
static int put_json(struct md_buf *out, const char *s)
{
	int rc = MD_OK;

	while (*s && rc == MD_OK) {
		size_t n = md_escape_shown_len(s);
		uint32_t cp;

		if (n || (unsigned char)*s < 0x20) { /* text, or cJSON's own newlines and tabs */
			rc = md_buf_append(out, s, n ? n : 1);
			s += n ? n : 1;
		} else if ((n = md_utf8_decode(s, &cp)) != 0) {
			/* Beyond the Basic Multilingual Plane: a surrogate pair (section 7). */
			if (cp > 0xffff)
				rc = md_buf_printf(out, "\\u%04x\\u%04x",
						   (unsigned)(0xd800 + ((cp - 0x10000) >> 10)),
						   (unsigned)(0xdc00 + ((cp - 0x10000) & 0x3ff)));
			else
				rc = md_buf_printf(out, "\\u%04x", (unsigned)cp);
			s += n;
		} else {
			rc = md_buf_printf(out, "\\u%04x", (unsigned char)*s);
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
