/* headscale_parse.c — Headscale's JSON and CLI text into values (headscale.h). */
#include "probes/headscale.h"
#include "core/text.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ==== small helpers =================================================================== */

static void copy(char *dst, size_t len, const char *s)
{
	snprintf(dst, len, "%s", s ? s : "");
}

/* The member under either spelling: snake_case (-o json, <= 0.29) or camelCase (0.30,
 * REST). */
static const cJSON *get2(const cJSON *o, const char *snake, const char *camel)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, snake);

	return v || !camel ? v : cJSON_GetObjectItemCaseSensitive(o, camel);
}

static const char *str_of(const cJSON *v)
{
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An id: a number (node always, user since 0.24, key since 0.26) or a string. */
static void id_of(const cJSON *v, char *out, size_t len)
{
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e18)
		snprintf(out, len, "%.0f", v->valuedouble);
	else
		copy(out, len, str_of(v));
}

static bool bool_of(const cJSON *v)
{
	return cJSON_IsTrue(v);
}

/* {"seconds": N, "nanos": N} (protobuf Timestamp through encoding/json), or RFC 3339
 * text.  Go's zero time (year 1, seconds -62135596800) and the epoch mean "not set". */
static struct md_hs_time time_of(const cJSON *v)
{
	struct md_hs_time t = { 0 };

	if (cJSON_IsObject(v)) {
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(v, "seconds");

		if (cJSON_IsNumber(s) && s->valuedouble > 0 && s->valuedouble < 1e15)
			t.set = true, t.s = (int64_t)s->valuedouble;
		else if (cJSON_IsString(s) && atoll(s->valuestring) > 0) /* int64 as text */
			t.set = true, t.s = atoll(s->valuestring);
	} else if (cJSON_IsString(v) && md_parse_rfc3339(v->valuestring, &t.s) == MD_OK) {
		t.set = t.s > 0;
	}
	return t;
}

/* The list of a document: an array, or the array under key (REST), or null (empty). */
static int list_of(const char *json, const char *key, cJSON **doc, const cJSON **arr,
		   struct md_err *err)
{
	const char *end = NULL;

	*arr = NULL;
	*doc = cJSON_ParseWithOpts(json ? json : "", &end, 0);
	if (!*doc) {
		const char *at = cJSON_GetErrorPtr();

		return md_err_set(err, MD_EPARSE, "headscale", "not JSON (at byte %ld)",
				  at && json && at >= json ? (long)(at - json) : 0L);
	}
	if (cJSON_IsNull(*doc))
		return MD_OK;
	if (cJSON_IsObject(*doc)) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(*doc, key);

		if (cJSON_IsNull(a))
			return MD_OK;
		if (cJSON_IsArray(a))
			return *arr = a, MD_OK;
	} else if (cJSON_IsArray(*doc)) {
		return *arr = *doc, MD_OK;
	}
	cJSON_Delete(*doc);
	*doc = NULL;
	return md_err_set(err, MD_EPARSE, "headscale", "not a JSON list (an array, or {\"%s\": [...]})", key);
}

/* The owner's name: a User object ({"id", "name"}), or a name (pre-auth keys < 0.26). */
static void user_of(const cJSON *v, char *out, size_t len)
{
	if (cJSON_IsObject(v))
		copy(out, len, str_of(cJSON_GetObjectItemCaseSensitive(v, "name")));
	else
		copy(out, len, str_of(v));
}

/* ==== lists ============================================================================ */

static void node_of(const cJSON *o, struct md_hs_node *n)
{
	const cJSON *ips = get2(o, "ip_addresses", "ipAddresses"), *ip;

	if (!cJSON_IsArray(ips))
		ips = NULL;

	memset(n, 0, sizeof(*n));
	id_of(cJSON_GetObjectItemCaseSensitive(o, "id"), n->id, sizeof(n->id));
	copy(n->name, sizeof(n->name), str_of(cJSON_GetObjectItemCaseSensitive(o, "name")));
	copy(n->given_name, sizeof(n->given_name), str_of(get2(o, "given_name", "givenName")));
	user_of(cJSON_GetObjectItemCaseSensitive(o, "user"), n->user, sizeof(n->user));
	cJSON_ArrayForEach(ip, ips) {
		if (n->n_ips < MD_HS_IPS && cJSON_IsString(ip))
			copy(n->ips[n->n_ips++], sizeof(n->ips[0]), ip->valuestring);
	}
	n->online = bool_of(cJSON_GetObjectItemCaseSensitive(o, "online"));
	n->expiry = time_of(cJSON_GetObjectItemCaseSensitive(o, "expiry"));
	n->last_seen = time_of(get2(o, "last_seen", "lastSeen"));
}

/* Only the masked form of a 0.28+ key is kept (HS 0.28 `list` prints
 * "hskey-auth-<12 chars>-***"); a legacy key (48 hex) is printed in full and is a
 * secret: nothing of it is kept. */
static void key_shown(const char *key, char *out, size_t len)
{
	size_t n = key ? strlen(key) : 0;

	out[0] = '\0';
	if (n == 11 + 12 + 4 && strncmp(key, "hskey-auth-", 11) == 0 && strcmp(key + n - 4, "-***") == 0)
		copy(out, len, key);
}

static void key_of(const cJSON *o, struct md_hs_key *k)
{
	memset(k, 0, sizeof(*k));
	id_of(cJSON_GetObjectItemCaseSensitive(o, "id"), k->id, sizeof(k->id));
	user_of(cJSON_GetObjectItemCaseSensitive(o, "user"), k->user, sizeof(k->user));
	key_shown(str_of(cJSON_GetObjectItemCaseSensitive(o, "key")), k->shown, sizeof(k->shown));
	k->reusable = bool_of(cJSON_GetObjectItemCaseSensitive(o, "reusable"));
	k->ephemeral = bool_of(cJSON_GetObjectItemCaseSensitive(o, "ephemeral"));
	k->used = bool_of(cJSON_GetObjectItemCaseSensitive(o, "used"));
	k->expiration = time_of(cJSON_GetObjectItemCaseSensitive(o, "expiration"));
}

static void user_entry_of(const cJSON *o, struct md_hs_user *u)
{
	memset(u, 0, sizeof(*u));
	id_of(cJSON_GetObjectItemCaseSensitive(o, "id"), u->id, sizeof(u->id));
	copy(u->name, sizeof(u->name), str_of(cJSON_GetObjectItemCaseSensitive(o, "name")));
}

/* Parses a list of objects with fill() into a malloc'ed array of elem-byte entries. */
static int parse_list(const char *json, const char *key, size_t elem,
		      void (*fill)(const cJSON *, void *), void **out, size_t *n, struct md_err *err)
{
	cJSON *doc;
	const cJSON *arr, *it;
	size_t cnt = 0;
	char *v = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	rc = list_of(json, key, &doc, &arr, err);
	if (rc != MD_OK)
		return rc;
	cJSON_ArrayForEach(it, arr) {
		cnt += cJSON_IsObject(it) ? 1 : 0;
	}
	if (cnt) {
		v = calloc(cnt, elem);
		if (!v) {
			cJSON_Delete(doc);
			return md_err_set(err, MD_ENOMEM, "headscale", "out of memory");
		}
	}
	cnt = 0;
	cJSON_ArrayForEach(it, arr) {
		if (cJSON_IsObject(it))
			fill(it, v + elem * cnt++);
	}
	cJSON_Delete(doc);
	*out = v;
	*n = cnt;
	return MD_OK;
}

static void fill_node(const cJSON *o, void *p) { node_of(o, p); }
static void fill_key(const cJSON *o, void *p) { key_of(o, p); }
static void fill_user(const cJSON *o, void *p) { user_entry_of(o, p); }

int md_hs_parse_nodes(const char *json, struct md_hs_node **out, size_t *n, struct md_err *err)
{
	return parse_list(json, "nodes", sizeof(**out), fill_node, (void **)out, n, err);
}

int md_hs_parse_keys(const char *json, struct md_hs_key **out, size_t *n, struct md_err *err)
{
	return parse_list(json, "preAuthKeys", sizeof(**out), fill_key, (void **)out, n, err);
}

int md_hs_parse_users(const char *json, struct md_hs_user **out, size_t *n, struct md_err *err)
{
	return parse_list(json, "users", sizeof(**out), fill_user, (void **)out, n, err);
}

bool md_hs_key_usable(const struct md_hs_key *k, int64_t now_s)
{
	if (k->expiration.set && k->expiration.s <= now_s)
		return false;
	return k->reusable || !k->used;
}

/* ==== HTTP bodies ====================================================================== */

/* The string member name of the JSON object body, into out. */
static int body_member(const char *body, const char *name, char *out, size_t len)
{
	cJSON *doc = cJSON_Parse(body ? body : "");
	const cJSON *v = cJSON_IsObject(doc) ? cJSON_GetObjectItemCaseSensitive(doc, name) : NULL;
	int rc = MD_EPARSE;

	out[0] = '\0';
	if (cJSON_IsString(v)) {
		copy(out, len, v->valuestring);
		rc = MD_OK;
	}
	cJSON_Delete(doc);
	return rc;
}

int md_hs_parse_health(const char *body, char *out, size_t len)
{
	return body_member(body, "status", out, len);
}

int md_hs_parse_version_body(const char *body, char *out, size_t len)
{
	return body_member(body, "version", out, len);
}

int md_hs_parse_key_body(const char *body, char *out, size_t len)
{
	int rc = body_member(body, "publicKey", out, len);
	size_t n = strlen(out);

	if (rc == MD_OK && (n != 5 + 64 || strncmp(out, "mkey:", 5) != 0))
		rc = MD_EPARSE;
	for (size_t i = 5; rc == MD_OK && i < n; i++)
		if (!isxdigit((unsigned char)out[i]))
			rc = MD_EPARSE;
	if (rc != MD_OK)
		out[0] = '\0';
	return rc;
}

/* ==== CLI text ========================================================================= */

int md_hs_parse_cli_version(const char *text, char *out, size_t len, int *major, int *minor)
{
	for (const char *p = text ? text : ""; *p; p++) {
		const char *s = p, *q;
		long a, b;
		char *e;

		if (p != text && (isalnum((unsigned char)p[-1]) || p[-1] == '.'))
			continue;
		if (*s == 'v')
			s++;
		if (!isdigit((unsigned char)*s))
			continue;
		a = strtol(s, &e, 10);
		if (*e != '.' || !isdigit((unsigned char)e[1]) || a > 999)
			continue;
		b = strtol(e + 1, &e, 10);
		if (b > 9999)
			continue;
		for (q = e; *q && (isalnum((unsigned char)*q) || *q == '.' || *q == '-' || *q == '+'); q++)
			;
		snprintf(out, len, "%.*s", (int)(q - p), p);
		*major = (int)a;
		*minor = (int)b;
		return MD_OK;
	}
	if (len)
		out[0] = '\0';
	return MD_EPARSE;
}

static void one_line(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;

	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	for (size_t i = 0; i < n && o + 1 < len; i++)
		out[o++] = (s[i] == '\n' || s[i] == '\r' || s[i] == '\t') ? ' ' : s[i];
	if (len)
		out[o] = '\0';
}

void md_hs_cli_error(const char *text, char *out, size_t len)
{
	const char *p = text ? text : "", *e;
	cJSON *doc;

	if (len)
		out[0] = '\0';
	while (*p && isspace((unsigned char)*p))
		p++;
	if (*p == '{' && (doc = cJSON_Parse(p))) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "error");

		if (cJSON_IsString(m)) {
			one_line(m->valuestring, strlen(m->valuestring), out, len);
			cJSON_Delete(doc);
			return;
		}
		cJSON_Delete(doc);
	}
	e = strstr(p, "Error: ");
	if (e && (e == p || e[-1] == '\n'))
		p = e + 7;
	one_line(p, strcspn(p, "\n"), out, len);
}

int md_hs_parse_ts_version(const char *text, int *major, int *minor)
{
	char v[64];

	return md_hs_parse_cli_version(text, v, sizeof(v), major, minor);
}
