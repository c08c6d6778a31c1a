#include "report/render.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *md_j_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

double md_j_num(const cJSON *o, const char *key, double def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

int md_j_put_num(struct md_buf *out, const cJSON *o, const char *key, const char *fmt,
		 double scale)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v))
		return md_buf_puts(out, "?");
	return md_buf_printf(out, fmt, v->valuedouble * scale);
}

const char *md_j_value_text(const cJSON *v, char *buf, size_t len)
{
	if (cJSON_IsString(v))
		snprintf(buf, len, "%s", v->valuestring);
	else if (cJSON_IsBool(v))
		snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
	else if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
		 fabs(v->valuedouble) < 9e15)
		snprintf(buf, len, "%lld", (long long)v->valuedouble);
	else if (cJSON_IsNumber(v))
		snprintf(buf, len, "%.2f", v->valuedouble);
	else if (cJSON_IsNull(v))
		snprintf(buf, len, "null");
	else
		snprintf(buf, len, "?");
	return buf;
}

const char *md_j_or_q(const char *s)
{
	return s ? s : "?";
}

int md_j_failed_probes(const cJSON *doc)
{
	const cJSON *p;
	int n = 0;

	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(doc, "probes")) {
		const char *status = md_j_str(p, "status");

		n += status && strcmp(status, "ok") != 0 && strcmp(status, "skipped") != 0;
	}
	return n;
}

/* Whether fact (an element of probes[].facts) is a secret whose value the report masks. */
static bool fact_masked(const cJSON *fact)
{
	const char *type = md_j_str(fact, "type"), *value = md_j_str(fact, "value");

	return type && strcmp(type, "secret") == 0 &&
	       (!value || strcmp(value, MD_SECRET_MASK) == 0);
}

/* Whether the fact named name is such a secret anywhere in doc (for cited facts). */
static bool secret_masked(const cJSON *doc, const char *name)
{
	const cJSON *p, *x;

	if (!name)
		return false;
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(doc, "probes"))
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(p, "facts")) {
			const char *n = md_j_str(x, "name");

			if (n && strcmp(n, name) == 0 && fact_masked(x))
				return true;
		}
	return false;
}

const char *md_j_fact_shown(const cJSON *doc, const cJSON *x, char *val, size_t len,
			    const char **ev)
{
	*ev = md_j_str(x, "evidence");
	if (fact_masked(x) || secret_masked(doc, md_j_str(x, "fact"))) {
		snprintf(val, len, "%s", MD_SECRET_MASK);
		*ev = *ev ? MD_SECRET_MASK : NULL;
		return val;
	}
	return md_j_value_text(cJSON_GetObjectItemCaseSensitive(x, "value"), val, len);
}
