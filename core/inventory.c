/* inventory.c — see inventory.h. */
#include "core/inventory.h"

#include "core/buf.h"
#include "core/target.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where the parser is: in a section that lists hosts or one that does not. */
struct inv_parse {
	struct md_inventory *inv;
	bool ansible;      /* a [section] header was seen: host variables are Ansible's */
	bool skip;         /* in a [group:vars] or [group:children] section */
	int line;
	struct md_err *err;
};

/* What one host line says. */
struct inv_line {
	char name[256], host[256], user[64];
	int port;
};

void md_inventory_free(struct md_inventory *inv)
{
	for (size_t i = 0; i < inv->n; i++) {
		free(inv->v[i].spec);
		free(inv->v[i].name);
	}
	free(inv->v);
	memset(inv, 0, sizeof(*inv));
}

static int line_err(struct inv_parse *p, const char *fmt, const char *word)
{
	char shown[80];

	snprintf(shown, sizeof(shown), "%.60s%s", word, strlen(word) > 60 ? "..." : "");
	for (char *c = shown; *c; c++)
		if (!isprint((unsigned char)*c))
			*c = '?';
	md_err_set(p->err, MD_EINVAL, "inventory", "line %d: ", p->line);
	snprintf(p->err->msg + strlen(p->err->msg), sizeof(p->err->msg) - strlen(p->err->msg), fmt,
		 shown);
	return MD_EINVAL;
}

/* `[group]`, `[group:vars]`, `[group:children]`: a line that starts with '[' and ends
 * with ']' with no ':' but those suffixes (`[fd7a::2]` is an IPv6 host). */
static bool is_header(const char *s)
{
	size_t n = strlen(s);
	const char *colon = strchr(s, ':');

	if (n < 3 || s[0] != '[' || s[n - 1] != ']')
		return false;
	return !colon || strcmp(colon, ":vars]") == 0 || strcmp(colon, ":children]") == 0;
}

static void header(struct inv_parse *p, const char *s)
{
	p->ansible = true;
	p->skip = strchr(s, ':') != NULL;
}

static int parse_port(struct inv_parse *p, const char *v, int *port)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (!*v || *end || n < 1 || n > 65535 || !isdigit((unsigned char)*v))
		return line_err(p, "port '%s': give a number from 1 to 65535", v);
	*port = (int)n;
	return MD_OK;
}

/* One key=value setting after the host. */
static int setting(struct inv_parse *p, const char *word, struct inv_line *l)
{
	const char *eq = strchr(word, '=');
	char key[64];
	const char *v;

	if (!eq || eq == word || (size_t)(eq - word) >= sizeof(key))
		return line_err(p, "'%s' after the host: settings are key=value (port=, user=)",
				word);
	snprintf(key, sizeof(key), "%.*s", (int)(eq - word), word);
	v = eq + 1;
	if (strcmp(key, "port") == 0 || strcmp(key, "ansible_port") == 0 ||
	    strcmp(key, "ansible_ssh_port") == 0)
		return parse_port(p, v, &l->port);
	if (strcmp(key, "user") == 0 || strcmp(key, "ansible_user") == 0 ||
	    strcmp(key, "ansible_ssh_user") == 0) {
		if (!*v || *v == '-' || strlen(v) >= sizeof(l->user) || strpbrk(v, "@:[]"))
			return line_err(p, "user '%s': give a user name", v);
		snprintf(l->user, sizeof(l->user), "%s", v);
		return MD_OK;
	}
	if (strcmp(key, "ansible_host") == 0 || strcmp(key, "ansible_ssh_host") == 0) {
		if (!*v || *v == '-' || strlen(v) >= sizeof(l->host))
			return line_err(p, "ansible_host '%s': give a host name or address", v);
		snprintf(l->host, sizeof(l->host), "%s", v);
		return MD_OK;
	}
	if (p->ansible || strncmp(key, "ansible_", 8) == 0)
		return MD_OK; /* an Ansible variable: not meshdoctor's */
	return line_err(p, "unknown setting '%s' (port=N, user=NAME, or Ansible's ansible_host=, "
			"ansible_port=, ansible_user=)", key);
}

/* The TARGET of l: user@ and :port only when given, IPv6 in brackets. */
static int make_spec(const struct inv_line *l, char **out)
{
	const char *host = l->host[0] ? l->host : l->name;
	bool v6 = strchr(host, ':') && host[0] != '[';
	char port[16] = "";

	if (l->port)
		snprintf(port, sizeof(port), ":%d", l->port);
	if (asprintf(out, "%s%s%s%s%s%s", l->user, l->user[0] ? "@" : "",
		     v6 && l->port ? "[" : "", host, v6 && l->port ? "]" : "", port) < 0) {
		*out = NULL;
		return MD_ENOMEM;
	}
	return MD_OK;
}

static int add_host(struct inv_parse *p, const struct inv_line *l)
{
	struct md_inventory *inv = p->inv;
	struct md_target t = { 0 };
	struct md_err e = { 0 };
	struct md_inv_host *v;
	char *spec;
	int rc = make_spec(l, &spec);

	if (rc)
		return md_err_set(p->err, MD_ENOMEM, "inventory", "out of memory");
	rc = md_target_parse(spec, &t, &e);
	md_target_cleanup(&t);
	if (rc != MD_OK) {
		free(spec);
		return line_err(p, "'%s' is not a target: [user@]host[:port] or an ssh_config alias",
				l->name);
	}
	for (size_t i = 0; i < inv->n; i++)
		if (strcmp(inv->v[i].spec, spec) == 0) {
			free(spec);
			return MD_OK;
		}
	if (inv->n >= MD_INVENTORY_MAX_HOSTS) {
		free(spec);
		return md_err_set(p->err, MD_ETOOBIG, "inventory", "line %d: more than %d hosts",
				  p->line, MD_INVENTORY_MAX_HOSTS);
	}
	v = md_grow(inv->v, &inv->cap, inv->n, sizeof(*v), 16);
	if (!v || !(v[inv->n].name = strdup(l->name))) {
		free(spec);
		if (v)
			inv->v = v;
		return md_err_set(p->err, MD_ENOMEM, "inventory", "out of memory");
	}
	inv->v = v;
	v[inv->n].spec = spec;
	v[inv->n].line = p->line;
	inv->n++;
	return MD_OK;
}

/* A host line: the host (or inventory name), then settings. */
static int host_line(struct inv_parse *p, char *s)
{
	struct inv_line l = { .port = 0 };
	char *save = NULL, *w = strtok_r(s, " \t", &save);
	int rc;

	if (strlen(w) >= sizeof(l.name))
		return line_err(p, "'%s': a host name is at most 255 characters", w);
	if (w[0] == '-')
		return line_err(p, "'%s': a host name cannot start with '-'", w);
	if (strchr(w, '[') && w[0] != '[')
		return line_err(p, "'%s': host ranges are not expanded; list each host", w);
	snprintf(l.name, sizeof(l.name), "%s", w);
	while ((w = strtok_r(NULL, " \t", &save)))
		if ((rc = setting(p, w, &l)) != MD_OK)
			return rc;
	return add_host(p, &l);
}

/* One line, without its end: a comment, a header, or a host. */
static int one_line(struct inv_parse *p, char *s)
{
	char *c;

	s += strspn(s, " \t");
	for (c = s; *c; c++)
		if ((*c == '#' || *c == ';') && (c == s || c[-1] == ' ' || c[-1] == '\t')) {
			*c = '\0';
			break;
		}
	for (c = s + strlen(s); c > s && (c[-1] == ' ' || c[-1] == '\t' || c[-1] == '\r'); c--)
		c[-1] = '\0';
	if (!*s)
		return MD_OK;
	if (is_header(s)) {
		header(p, s);
		return MD_OK;
	}
	if (p->skip)
		return MD_OK;
	return host_line(p, s);
}

int md_inventory_parse(const char *text, size_t len, struct md_inventory *inv, struct md_err *err)
{
	struct inv_parse p = { .inv = inv, .err = err };
	char line[MD_INVENTORY_MAX_LINE + 1];

	if (memchr(text, '\0', len))
		return md_err_set(err, MD_EINVAL, "inventory", "the file holds a NUL byte: not a text "
				  "inventory");
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
		int rc;

		p.line++;
		if (n > MD_INVENTORY_MAX_LINE)
			return md_err_set(err, MD_EINVAL, "inventory", "line %d: longer than %d bytes",
					  p.line, MD_INVENTORY_MAX_LINE);
		memcpy(line, text + i, n);
		line[n] = '\0';
		if ((rc = one_line(&p, line)) != MD_OK)
			return rc;
		i += n + 1;
	}
	return MD_OK;
}
