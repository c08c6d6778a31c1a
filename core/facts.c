#include "core/facts.h"
#include "core/buf.h"
#include "core/deadline.h"
#include "core/err.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void md_facts_init(struct md_facts *f)
{
	memset(f, 0, sizeof(*f));
}

static void fact_free(struct md_fact *x)
{
	free(x->name);
	if (x->str && x->type == MD_FACT_SECRET)
		memset(x->str, 0, strlen(x->str));
	free(x->str);
	free(x->evidence);
	free(x->probe);
	free(x->label);
}

void md_facts_cleanup(struct md_facts *f)
{
	for (size_t i = 0; i < f->n; i++)
		fact_free(&f->v[i]);
	free(f->v);
	for (size_t i = 0; i < f->n_tables; i++) {
		free(f->tables[i].probe);
		free(f->tables[i].name);
		free(f->tables[i].json);
	}
	free(f->tables);
	memset(f, 0, sizeof(*f));
}

bool md_fact_name_valid(const char *name)
{
	bool seg_start = true;

	if (!name || !*name)
		return false;
	for (const char *p = name; *p; p++) {
		if (*p == '.') {
			if (seg_start)
				return false;
			seg_start = true;
			continue;
		}
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_' ||
		      (*p == '-' && !seg_start)))
			return false;
		seg_start = false;
	}
	return !seg_start;
}

static struct md_fact *slot(struct md_facts *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i].name, name) == 0) {
			fact_free(&f->v[i]);
			memset(&f->v[i], 0, sizeof(f->v[i]));
			return &f->v[i];
		}
	{
		struct md_fact *v = md_grow(f->v, &f->cap, f->n, sizeof(*v), 32);

		if (!v)
			return NULL;
		f->v = v;
	}
	memset(&f->v[f->n], 0, sizeof(f->v[0]));
	return &f->v[f->n++];
}

static int put(struct md_facts *f, const char *probe, const char *name, enum md_fact_type type,
	       const char *s, int64_t num, double real, const char *evidence)
{
	struct md_fact *x;

	if (!md_fact_name_valid(name))
		return MD_EINVAL;
	x = slot(f, name);
	if (!x)
		return MD_ENOMEM;
	x->name = strdup(name);
	x->type = type;
	x->str = s ? strdup(s) : NULL;
	x->num = num;
	x->real = real;
	x->evidence = evidence ? strdup(evidence) : NULL;
	x->probe = strdup(probe ? probe : "");
	x->at_ms = md_wall_ms();
	if (!x->name || (s && !x->str) || (evidence && !x->evidence) || !x->probe) {
		/* Leave no half-made fact behind: drop the slot. */
		fact_free(x);
		*x = f->v[--f->n];
		return MD_ENOMEM;
	}
	return MD_OK;
}

int md_fact_str(struct md_facts *f, const char *probe, const char *name, const char *value,
		const char *evidence)
{
	return put(f, probe, name, MD_FACT_STR, value ? value : "", 0, 0, evidence);
}

int md_fact_int(struct md_facts *f, const char *probe, const char *name, int64_t value,
		const char *evidence)
{
	return put(f, probe, name, MD_FACT_INT, NULL, value, 0, evidence);
}

int md_fact_real(struct md_facts *f, const char *probe, const char *name, double value,
		 const char *evidence)
{
	return put(f, probe, name, MD_FACT_REAL, NULL, 0, value, evidence);
}

int md_fact_bool(struct md_facts *f, const char *probe, const char *name, bool value,
		 const char *evidence)
{
	return put(f, probe, name, MD_FACT_BOOL, NULL, value ? 1 : 0, 0, evidence);
}

int md_fact_secret(struct md_facts *f, const char *probe, const char *name, const char *value,
		   const char *evidence)
{
	return put(f, probe, name, MD_FACT_SECRET, value ? value : "", 0, 0, evidence);
}

int md_fact_strf(struct md_facts *f, const char *probe, const char *name, const char *value,
		 const char *evidence_fmt, ...)
{
	char ev[1024];
	va_list ap;

	va_start(ap, evidence_fmt);
	vsnprintf(ev, sizeof(ev), evidence_fmt, ap);
	va_end(ap);
	return md_fact_str(f, probe, name, value, ev);
}

int md_fact_intf(struct md_facts *f, const char *probe, const char *name, int64_t value,
		 const char *evidence_fmt, ...)
{
	char ev[1024];
	va_list ap;

	va_start(ap, evidence_fmt);
	vsnprintf(ev, sizeof(ev), evidence_fmt, ap);
	va_end(ap);
	return md_fact_int(f, probe, name, value, ev);
}

int md_fact_boolf(struct md_facts *f, const char *probe, const char *name, bool value,
		  const char *evidence_fmt, ...)
{
	char ev[1024];
	va_list ap;

	va_start(ap, evidence_fmt);
	vsnprintf(ev, sizeof(ev), evidence_fmt, ap);
	va_end(ap);
	return md_fact_bool(f, probe, name, value, ev);
}

int md_fact_check(struct md_facts *f, const char *name, enum md_check check, const char *label)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i].name, name) == 0) {
			char *l = strdup(label ? label : name);

			if (!l)
				return MD_ENOMEM;
			free(f->v[i].label);
			f->v[i].label = l;
			f->v[i].check = check;
			return MD_OK;
		}
	return MD_ENOTFOUND;
}

const struct md_fact *md_facts_get(const struct md_facts *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i].name, name) == 0)
			return &f->v[i];
	return NULL;
}

const char *md_facts_str(const struct md_facts *f, const char *name)
{
	const struct md_fact *x = md_facts_get(f, name);

	return x && x->type == MD_FACT_STR ? x->str : NULL;
}

int md_facts_table(struct md_facts *f, const char *probe, const char *name, const char *json)
{
	struct md_table *t;

	for (size_t i = 0; i < f->n_tables; i++)
		if (strcmp(f->tables[i].name, name) == 0) {
			char *j = strdup(json);

			if (!j)
				return MD_ENOMEM;
			free(f->tables[i].json);
			f->tables[i].json = j;
			return MD_OK;
		}
	if (f->n_tables == f->cap_tables) {
		size_t cap = f->cap_tables ? f->cap_tables * 2 : 4;
		struct md_table *v = realloc(f->tables, cap * sizeof(*v));

		if (!v)
			return MD_ENOMEM;
		f->tables = v;
		f->cap_tables = cap;
	}
	t = &f->tables[f->n_tables];
	t->probe = strdup(probe);
	t->name = strdup(name);
	t->json = strdup(json);
	if (!t->probe || !t->name || !t->json) {
		free(t->probe);
		free(t->name);
		free(t->json);
		return MD_ENOMEM;
	}
	f->n_tables++;
	return MD_OK;
}

void md_fact_value_text(const struct md_fact *x, char *out, size_t len, bool show_secrets)
{
	switch (x->type) {
	case MD_FACT_STR:
		snprintf(out, len, "%s", x->str);
		break;
	case MD_FACT_SECRET:
		snprintf(out, len, "%s", show_secrets ? x->str : MD_SECRET_MASK);
		break;
	case MD_FACT_INT:
		snprintf(out, len, "%lld", (long long)x->num);
		break;
	case MD_FACT_REAL:
		snprintf(out, len, "%.2f", x->real);
		break;
	case MD_FACT_BOOL:
		snprintf(out, len, "%s", x->num ? "true" : "false");
		break;
	}
}

const char *md_fact_evidence_text(const struct md_fact *x, bool show_secrets)
{
	if (!x->evidence)
		return NULL;
	return x->type == MD_FACT_SECRET && !show_secrets ? MD_SECRET_MASK : x->evidence;
}

const char *md_fact_type_name(enum md_fact_type t)
{
	switch (t) {
	case MD_FACT_STR: return "string";
	case MD_FACT_INT: return "int";
	case MD_FACT_REAL: return "real";
	case MD_FACT_BOOL: return "bool";
	case MD_FACT_SECRET: return "secret";
	}
	return "?";
}

bool md_fact_pattern_match(const char *pat, const char *name)
{
	while (*pat && *name) {
		if (strcmp(pat, "**") == 0)
			return true;
		if (*pat == '*') {
			while (*name && *name != '.')
				name++;
			pat++;
			continue;
		}
		if (*pat != *name)
			return false;
		pat++;
		name++;
	}
	return (*pat == '\0' || strcmp(pat, "**") == 0 || strcmp(pat, ".**") == 0) && *name == '\0';
}

int md_facts_copy_probe(struct md_facts *dst, const struct md_facts *src, const char *probe)
{
	int rc = MD_OK;

	for (size_t i = 0; i < src->n && rc == MD_OK; i++) {
		const struct md_fact *x = &src->v[i];

		if (strcmp(x->probe, probe) != 0)
			continue;
		rc = put(dst, x->probe, x->name, x->type, x->str, x->num, x->real, x->evidence);
		if (rc == MD_OK) {
			struct md_fact *y = &dst->v[dst->n - 1];

			if (strcmp(y->name, x->name) != 0) /* it replaced an earlier one */
				y = (struct md_fact *)md_facts_get(dst, x->name);
			y->at_ms = x->at_ms;
			if (x->label)
				rc = md_fact_check(dst, x->name, x->check, x->label);
		}
	}
	for (size_t i = 0; i < src->n_tables && rc == MD_OK; i++)
		if (strcmp(src->tables[i].probe, probe) == 0)
			rc = md_facts_table(dst, probe, src->tables[i].name, src->tables[i].json);
	return rc;
}
