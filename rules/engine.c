/* engine.c — loading rule sets and evaluating them over the facts.
 *
 * Loading: every *.rules file of a directory, sorted by name, each parsed completely
 * (rules/parse.c) before any of its rules joins the set, so a file with a mistake
 * contributes nothing.  Ids are unique across the set (collectd's plugin registry warns
 * and overwrites a duplicate; a diagnosis must not silently depend on file order, so we
 * reject it), and `supersedes` must name rules that exist, without cycles.  The set keeps
 * a hash index of its ids (rules/parse.h), added to as rules join it, and both checks,
 * evaluation's supersedes and md_rules_find() look ids up there: linear in the rules.
 *
 * Evaluation: each rule's condition in three-valued (Kleene) logic — a comparison on a
 * fact that was not recorded is unknown, and unknown rules are "undecided" with the facts
 * that were missing and the probes that would record them.  Every comparison is evaluated
 * (no short-circuit) so the trace shows all of them and specificity counts all of them. */
#include "rules/engine.h"

#include "core/buf.h"
#include "rules/parse.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A rule file is a few kilobytes; anything near this is not a rule file. */
#define RULE_FILE_MAX ((size_t)4 << 20)
/* Long values (banners, error texts) are shortened in traces; the report has them whole. */
#define TRACE_VALUE_MAX 200

const char *md_severity_name(enum md_severity s)
{
	switch (s) {
	case MD_SEV_INFO: return "info";
	case MD_SEV_WARNING: return "warning";
	case MD_SEV_CRITICAL: return "critical";
	}
	return "?";
}

const char *md_rule_result_name(enum md_rule_result r)
{
	switch (r) {
	case MD_RULE_FIRED: return "fired";
	case MD_RULE_NOT: return "not";
	case MD_RULE_UNDECIDED: return "undecided";
	case MD_RULE_SUPERSEDED: return "superseded";
	}
	return "?";
}

/* ================================================================ the rule set */

void md_ruleset_init(struct md_ruleset *rs)
{
	memset(rs, 0, sizeof(*rs));
}

void md_ruleset_cleanup(struct md_ruleset *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		md_rule_free(rs->v[i]);
	free(rs->v);
	for (size_t i = 0; i < rs->n_files; i++)
		free(rs->files[i]);
	free(rs->files);
	if (rs->ids)
		md_rule_index_cleanup(rs->ids);
	free(rs->ids);
	memset(rs, 0, sizeof(*rs));
}

/* Position of the rule with this id in rs->v, or -1. */
static long rule_pos(const struct md_ruleset *rs, const char *id)
{
	return rs->ids ? md_rule_index_find(rs->ids, rs->v, id) : -1;
}

/* Indexes rs->v[i], once rs->v[0..i) are.  MD_OK or MD_ENOMEM. */
static int index_rule(struct md_ruleset *rs, size_t i)
{
	if (!rs->ids) {
		rs->ids = malloc(sizeof(*rs->ids));
		if (!rs->ids)
			return MD_ENOMEM;
		md_rule_index_init(rs->ids);
	}
	return md_rule_index_add(rs->ids, rs->v, i);
}

/* Re-indexes rs->v[0..n) after rules were taken out of it: the index's table already has
 * room for more, so this allocates nothing and cannot fail (md_rule_index_build). */
static void reindex(struct md_ruleset *rs)
{
	if (rs->ids)
		(void)md_rule_index_build(rs->ids, rs->v, rs->n);
}

const struct md_rule *md_rules_find(const struct md_ruleset *rs, const char *id)
{
	long j = rule_pos(rs, id);

	return j >= 0 ? rs->v[j] : NULL;
}

static void collect_facts(const struct md_expr *e, const char **out, size_t max, size_t *n)
{
	if (!e)
		return;
	collect_facts(e->a, out, max, n);
	collect_facts(e->b, out, max, n);
	if (!e->fact || *n >= max)
		return;
	for (size_t i = 0; i < *n; i++)
		if (strcmp(out[i], e->fact) == 0)
			return;
	out[(*n)++] = e->fact;
}

size_t md_rule_facts(const struct md_rule *r, const char **out, size_t max)
{
	size_t n = 0;

	collect_facts(r->expr, out, max, &n);
	return n;
}

/* Drops every rule loaded from file (and the file from the list). */
static void remove_file(struct md_ruleset *rs, const char *file)
{
	char *name = strdup(file); /* file may point into a rule we free */
	size_t k = 0;

	for (size_t i = 0; i < rs->n; i++) {
		if (strcmp(rs->v[i]->file, name ? name : file) == 0)
			md_rule_free(rs->v[i]);
		else
			rs->v[k++] = rs->v[i];
	}
	rs->n = k;
	k = 0;
	for (size_t i = 0; i < rs->n_files; i++) {
		if (name && strcmp(rs->files[i], name) == 0)
			free(rs->files[i]);
		else
			rs->files[k++] = rs->files[i];
	}
	rs->n_files = k;
	free(name);
	reindex(rs);
}

/* Finds a cycle among `supersedes` edges from rule `start` by an iterative depth-first
 * search (a chain of thousands of rules must not need a deep C stack).  colour: 0 new,
 * 1 on the current path, 2 done; to[i][k] is the position of rules i's k-th target (all
 * resolved).  Returns the rule whose edge closes the cycle, or -1. */
static long find_cycle(const struct md_ruleset *rs, long *const *to, size_t start,
		       unsigned char *colour, size_t *stack, size_t *edge)
{
	size_t top = 0;

	stack[0] = start;
	edge[0] = 0;
	colour[start] = 1;
	while (1) {
		size_t i = stack[top];

		if (edge[top] < rs->v[i]->n_supersedes) {
			size_t j = (size_t)to[i][edge[top]++];

			if (colour[j] == 1)
				return (long)i;
			if (colour[j] == 0) {
				colour[j] = 1;
				stack[++top] = j;
				edge[top] = 0;
			}
			continue;
		}
		colour[i] = 2;
		if (top == 0)
			return -1;
		top--;
	}
}

/* Checks that every `supersedes` names a loaded rule and that they form no cycle.  On a
 * mistake returns MD_EPARSE and the index of the rule at fault in *bad.  O(rules + edges):
 * ids are looked up through the set's index. */
static int check_supersedes(const struct md_ruleset *rs, struct md_err *err, size_t *bad)
{
	unsigned char *colour = NULL;
	size_t *stack = NULL, *edge = NULL, n_edges = 0;
	long **to = NULL, *targets = NULL;
	int rc = MD_OK;

	for (size_t i = 0; i < rs->n; i++)
		n_edges += rs->v[i]->n_supersedes;
	to = calloc(rs->n ? rs->n : 1, sizeof(*to));
	targets = calloc(n_edges ? n_edges : 1, sizeof(*targets));
	colour = calloc(rs->n ? rs->n : 1, 1);
	stack = calloc(rs->n ? rs->n : 1, sizeof(*stack));
	edge = calloc(rs->n ? rs->n : 1, sizeof(*edge));
	if (!to || !targets || !colour || !stack || !edge) {
		rc = md_err_set(err, MD_ENOMEM, "rules", "rules: out of memory");
		goto out;
	}
	n_edges = 0;
	for (size_t i = 0; i < rs->n; i++) {
		const struct md_rule *r = rs->v[i];
		const struct md_rule_ext *x = (const struct md_rule_ext *)r;

		to[i] = targets + n_edges;
		for (size_t k = 0; k < r->n_supersedes; k++) {
			long j = rule_pos(rs, r->supersedes[k]);

			if (j < 0) {
				*bad = i;
				rc = md_err_set(err, MD_EPARSE, "rules",
						"%s:%d: rule \"%s\" supersedes unknown rule \"%s\" (no rule with that id is loaded)",
						r->file, x->supersedes_line, r->id, r->supersedes[k]);
				goto out;
			}
			targets[n_edges++] = j;
		}
	}
	for (size_t i = 0; i < rs->n; i++) {
		long c = colour[i] ? -1 : find_cycle(rs, to, i, colour, stack, edge);

		if (c >= 0) {
			const struct md_rule *r = rs->v[c];

			*bad = (size_t)c;
			rc = md_err_set(err, MD_EPARSE, "rules",
					"%s:%d: supersedes cycle: rule \"%s\" supersedes a rule that, directly or not, supersedes it",
					r->file, ((const struct md_rule_ext *)r)->supersedes_line, r->id);
			goto out;
		}
	}
out:
	free(edge);
	free(stack);
	free(colour);
	free(targets);
	free(to);
	return rc;
}

/* Parses text and adds its rules; resolve: check `supersedes` now (else the caller does,
 * once every file of a directory is in). */
static int load_text(struct md_ruleset *rs, const char *name, const char *text, bool resolve,
		     struct md_err *err)
{
	struct md_rule **rules = NULL, **v;
	size_t n = 0, bad;
	char **files, *fname;
	int rc;

	rc = md_rules_parse(name, text, &rules, &n, err);
	if (rc)
		return rc;
	/* The text's own ids are unique (the parser checked); against the set, by its index. */
	for (size_t i = 0; i < n; i++) {
		long j = rule_pos(rs, rules[i]->id);

		if (j >= 0) {
			rc = md_err_set(err, MD_EPARSE, "rules",
					"%s:%d: duplicate rule id \"%s\" (already defined at %s:%d)", name,
					rules[i]->line, rules[i]->id, rs->v[j]->file, rs->v[j]->line);
			goto fail;
		}
	}
	fname = strdup(name);
	v = realloc(rs->v, (rs->n + n + 1) * sizeof(*v));
	if (v)
		rs->v = v;
	files = realloc(rs->files, (rs->n_files + 1) * sizeof(*files));
	if (files)
		rs->files = files;
	if (!fname || !v || !files) {
		free(fname);
		rc = md_err_set(err, MD_ENOMEM, "rules", "%s: out of memory", name);
		goto fail;
	}
	rs->files[rs->n_files++] = fname;
	if (n)
		memcpy(rs->v + rs->n, rules, n * sizeof(*rules));
	for (size_t i = rs->n; i < rs->n + n && rc == MD_OK; i++)
		rc = index_rule(rs, i);
	rs->n += n;
	if (rc)
		rc = md_err_set(err, rc, "rules", "%s: out of memory", name);
	else if (resolve)
		rc = check_supersedes(rs, err, &bad);
	if (rc) {
		/* Take back exactly what this text added (another text may share its name). */
		rs->n -= n;
		free(rs->files[--rs->n_files]);
		reindex(rs);
		goto fail;
	}
	free(rules);
	return rc;
fail:
	for (size_t i = 0; i < n; i++)
		md_rule_free(rules[i]);
	free(rules);
	return rc;
}

int md_rules_load_string(struct md_ruleset *rs, const char *name, const char *text,
			 struct md_err *err)
{
	return load_text(rs, name, text, true, err);
}

static int load_file(struct md_ruleset *rs, const char *path, bool resolve, struct md_err *err)
{
	FILE *fp = fopen(path, "r");
	struct md_buf b;
	char chunk[8192];
	size_t got;
	int rc = MD_OK;

	if (!fp)
		return md_err_set(err, errno == ENOENT ? MD_ENOTFOUND : MD_EIO, "rules",
				  "open rule file %s: %s", path, strerror(errno));
	md_buf_init(&b, RULE_FILE_MAX);
	while (rc == MD_OK && (got = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		rc = md_buf_append(&b, chunk, got);
	if (rc == MD_ETOOBIG)
		rc = md_err_set(err, rc, "rules", "read rule file %s: larger than %zu bytes", path,
				RULE_FILE_MAX);
	else if (rc)
		rc = md_err_set(err, rc, "rules", "read rule file %s: out of memory", path);
	else if (ferror(fp))
		rc = md_err_set(err, MD_EIO, "rules", "read rule file %s: %s", path, strerror(errno));
	fclose(fp);
	if (rc == MD_OK && b.len && memchr(b.data, '\0', b.len)) {
		const char *nul = memchr(b.data, '\0', b.len);
		int line = 1;

		for (const char *p = b.data; p < nul; p++)
			line += *p == '\n';
		rc = md_err_set(err, MD_EPARSE, "rules", "%s:%d: NUL byte in a rule file (expected text)",
				path, line);
	}
	if (rc == MD_OK)
		rc = load_text(rs, path, md_buf_str(&b), resolve, err);
	md_buf_cleanup(&b);
	return rc;
}

int md_rules_load_file(struct md_ruleset *rs, const char *path, struct md_err *err)
{
	return load_file(rs, path, true, err);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_rule_file(const char *name)
{
	size_t len = strlen(name);

	/* Hidden files are editor droppings (".#x.rules" lock files), not rules. */
	return name[0] != '.' && len > 6 && strcmp(name + len - 6, ".rules") == 0;
}

int md_rules_load_dir(struct md_ruleset *rs, const char *dir, struct md_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, bad;
	int rc = MD_OK, first = MD_OK;

	if (!d)
		return md_err_set(err, errno == ENOENT ? MD_ENOTFOUND : MD_EIO, "rules",
				  "open rules directory %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char **v;

		if (!is_rule_file(de->d_name))
			continue;
		v = realloc(names, (n + 1) * sizeof(*v));
		if (!v || !(v[n] = strdup(de->d_name))) {
			names = v ? v : names;
			rc = md_err_set(err, MD_ENOMEM, "rules", "read rules directory %s: out of memory",
					dir);
			goto out;
		}
		names = v;
		n++;
	}
	if (n == 0) {
		/* Zero rules would make every host look healthy: say so rather than pass. */
		rc = md_err_set(err, MD_ENOTFOUND, "rules", "rules directory %s: no *.rules files in it",
				dir);
		goto out;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(dir) + strlen(names[i]) + 2;
		char *path = malloc(len);

		if (!path) {
			rc = md_err_set(err, MD_ENOMEM, "rules", "%s: out of memory", dir);
			goto out;
		}
		snprintf(path, len, "%s/%s", dir, names[i]);
		rc = load_file(rs, path, false, err);
		free(path);
		if (rc == MD_ENOMEM)
			goto out;
		/* A bad file is left out; the others still load, and the first error is kept. */
		if (rc && first == MD_OK)
			first = rc;
	}
	/* Once all files are in, `supersedes` may name a rule of any of them.  A file whose
	 * rule names an unknown one is dropped; that may orphan another, hence the loop. */
	while ((rc = check_supersedes(rs, err, &bad)) == MD_EPARSE) {
		if (first == MD_OK)
			first = rc;
		remove_file(rs, rs->v[bad]->file);
	}
	if (rc == MD_OK)
		rc = first;
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

/* ================================================================ evaluation */

struct ectx {
	const struct md_facts *facts;
	const struct md_ruleset *rs;
	struct md_buf trace;
	struct md_missing *missing;
	size_t n_missing;
	unsigned n_true; /* leaf tests that evaluated true: the rule's specificity */
	bool oom;
};

/* The probe that would record fact name, as the caller told the ruleset; NULL if none. */
static const char *owner_of(const struct md_ruleset *rs, const char *name)
{
	return rs && rs->fact_owner ? rs->fact_owner(name) : NULL;
}

static const char *tv_name(enum md_tv v)
{
	return v == MD_TV_TRUE ? "true" : v == MD_TV_FALSE ? "false" : "unknown";
}

static void out(struct ectx *c, const char *s)
{
	if (md_buf_puts(&c->trace, s) != MD_OK)
		c->oom = true;
}

static void outf(struct ectx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void outf(struct ectx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (md_buf_vprintf(&c->trace, fmt, ap) != MD_OK)
		c->oom = true;
	va_end(ap);
}

/* A string value as the trace shows it: quoted, escaped, one line, shortened. */
static void out_quoted(struct ectx *c, const char *s)
{
	size_t i;

	out(c, "\"");
	for (i = 0; s[i] && i < TRACE_VALUE_MAX; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			outf(c, "\\%c", ch);
		else if (ch == '\n')
			out(c, "\\n");
		else if (ch == '\r')
			out(c, "\\r");
		else if (ch == '\t')
			out(c, "\\t");
		else if (ch < 0x20 || ch == 0x7f)
			outf(c, "\\x%02x", ch);
		else
			outf(c, "%c", ch);
	}
	out(c, s[i] ? "...\"" : "\"");
}

/* Secrets are masked in traces whatever show_secrets says: the path is for debugging the
 * rules, never the place to read a key. */
static void out_value(struct ectx *c, const struct md_fact *f)
{
	switch (f->type) {
	case MD_FACT_STR:
		out_quoted(c, f->str ? f->str : "");
		break;
	case MD_FACT_SECRET:
		out(c, "\"" MD_SECRET_MASK "\"");
		break;
	case MD_FACT_INT:
		outf(c, "%lld", (long long)f->num);
		break;
	case MD_FACT_REAL:
		outf(c, "%g", f->real);
		break;
	case MD_FACT_BOOL:
		out(c, f->num ? "true" : "false");
		break;
	}
}

static void note_missing(struct ectx *c, const char *name)
{
	const char *p;
	struct md_missing *v;

	for (size_t i = 0; i < c->n_missing; i++)
		if (strcmp(c->missing[i].fact, name) == 0)
			return;
	v = realloc(c->missing, (c->n_missing + 1) * sizeof(*v));
	if (!v) {
		c->oom = true;
		return;
	}
	c->missing = v;
	p = owner_of(c->rs, name);
	v[c->n_missing].fact = strdup(name);
	v[c->n_missing].probe = p ? strdup(p) : NULL;
	if (!v[c->n_missing].fact || (p && !v[c->n_missing].probe)) {
		free(v[c->n_missing].fact);
		free(v[c->n_missing].probe);
		c->oom = true;
		return;
	}
	c->n_missing++;
}

/* " [name = value]" or " [name missing, probe ssh]". */
static void out_observed(struct ectx *c, const char *name, const struct md_fact *f)
{
	const char *p;

	if (f) {
		outf(c, " [%s = ", name);
		out_value(c, f);
		out(c, "]");
		return;
	}
	p = owner_of(c->rs, name);
	if (p)
		outf(c, " [%s missing, probe %s]", name, p);
	else
		outf(c, " [%s missing, no probe records it]", name);
}

static bool truthy(const struct md_fact *f)
{
	switch (f->type) {
	case MD_FACT_BOOL:
	case MD_FACT_INT:
		return f->num != 0;
	case MD_FACT_REAL:
		return f->real != 0;
	case MD_FACT_STR:
	case MD_FACT_SECRET:
		return f->str && *f->str;
	}
	return false;
}

static enum md_tv kleene_and(enum md_tv a, enum md_tv b)
{
	if (a == MD_TV_FALSE || b == MD_TV_FALSE)
		return MD_TV_FALSE;
	if (a == MD_TV_UNKNOWN || b == MD_TV_UNKNOWN)
		return MD_TV_UNKNOWN;
	return MD_TV_TRUE;
}

static enum md_tv kleene_or(enum md_tv a, enum md_tv b)
{
	if (a == MD_TV_TRUE || b == MD_TV_TRUE)
		return MD_TV_TRUE;
	if (a == MD_TV_UNKNOWN || b == MD_TV_UNKNOWN)
		return MD_TV_UNKNOWN;
	return MD_TV_FALSE;
}

/* Evaluates e and writes its trace.  show: append " → result" after a compound node
 * (comparisons always show theirs; the top level shows " ⇒ result" instead). */
static enum md_tv eval(const struct md_expr *e, struct ectx *c, bool show)
{
	const struct md_fact *f = e->fact ? md_facts_get(c->facts, e->fact) : NULL;
	bool leaf = false;
	enum md_tv r = MD_TV_UNKNOWN;

	if (e->paren)
		out(c, "(");
	switch (e->kind) {
	case MD_EX_AND:
	case MD_EX_OR: {
		enum md_tv a = eval(e->a, c, true), b;

		out(c, e->kind == MD_EX_AND ? " && " : " || ");
		b = eval(e->b, c, true);
		r = e->kind == MD_EX_AND ? kleene_and(a, b) : kleene_or(a, b);
		break;
	}
	case MD_EX_NOT:
		out(c, "!");
		r = eval(e->a, c, false);
		if (r != MD_TV_UNKNOWN)
			r = r == MD_TV_TRUE ? MD_TV_FALSE : MD_TV_TRUE;
		break;
	case MD_EX_CMP:
		leaf = true;
		outf(c, "%s %s ", e->fact, e->op->name);
		if (e->op->list) {
			out(c, "(");
			for (size_t i = 0; i < e->n_lits; i++)
				outf(c, "%s%s", i ? ", " : "", e->lits[i].text);
			out(c, ")");
		} else {
			out(c, e->lits[0].text);
		}
		out_observed(c, e->fact, f);
		if (f)
			r = e->op->eval(e, f) ? MD_TV_TRUE : MD_TV_FALSE;
		else
			note_missing(c, e->fact);
		break;
	case MD_EX_TRUTHY:
		leaf = true;
		out(c, e->fact);
		out_observed(c, e->fact, f);
		if (f)
			r = truthy(f) ? MD_TV_TRUE : MD_TV_FALSE;
		else
			note_missing(c, e->fact);
		break;
	case MD_EX_EXISTS:
	case MD_EX_MISSING:
		/* Never unknown: whether a fact was recorded is itself known. */
		leaf = true;
		outf(c, "%s(%s)", e->kind == MD_EX_EXISTS ? "exists" : "missing", e->fact);
		r = (f != NULL) == (e->kind == MD_EX_EXISTS) ? MD_TV_TRUE : MD_TV_FALSE;
		break;
	}
	if (leaf) {
		outf(c, " → %s", tv_name(r));
		if (r == MD_TV_TRUE)
			c->n_true++;
	}
	if (e->paren)
		out(c, ")");
	if (!leaf && show && (e->paren || e->kind == MD_EX_NOT))
		outf(c, " → %s", tv_name(r));
	return r;
}

/* {fact.name} → the fact's value text; anything else stays as written. */
static char *interpolate(const char *text, const struct md_facts *facts, bool show_secrets)
{
	struct md_buf b;
	const char *p = text;
	int rc = MD_OK;

	md_buf_init(&b, 0);
	while (rc == MD_OK && *p) {
		const char *open = strchr(p, '{'), *close;
		char *name;
		const struct md_fact *f;

		if (!open) {
			rc = md_buf_puts(&b, p);
			break;
		}
		rc = md_buf_append(&b, p, (size_t)(open - p));
		close = strchr(open + 1, '}');
		if (rc || !close) {
			if (rc == MD_OK)
				rc = md_buf_puts(&b, open);
			break;
		}
		name = strndup(open + 1, (size_t)(close - open - 1));
		if (!name) {
			rc = MD_ENOMEM;
			break;
		}
		f = md_fact_name_valid(name) ? md_facts_get(facts, name) : NULL;
		if (f) {
			char *v = md_fact_text(f, show_secrets);

			rc = v ? md_buf_puts(&b, v) : MD_ENOMEM;
			free(v);
			p = close + 1;
		} else {
			/* Not a recorded fact: keep the '{' and read on from the next character, so
			 * "{{x}}" still finds {x}. */
			rc = md_buf_append(&b, "{", 1);
			p = open + 1;
		}
		free(name);
	}
	if (rc) {
		md_buf_cleanup(&b);
		return NULL;
	}
	if (!b.data)
		return strdup("");
	return md_buf_steal(&b);
}

static void finding_cleanup(struct md_finding *x)
{
	free(x->cause);
	for (size_t i = 0; i < x->n_advice; i++)
		free(x->advice[i]);
	free(x->advice);
	for (size_t i = 0; i < x->n_evidence; i++) {
		free(x->evidence[i].fact);
		free(x->evidence[i].value);
		free(x->evidence[i].evidence);
		free(x->evidence[i].probe);
	}
	free(x->evidence);
	memset(x, 0, sizeof(*x));
}

static int make_finding(const struct md_ruleset *rs, const struct md_rule *r,
			const struct md_facts *facts, bool show,
			struct md_finding *x)
{
	memset(x, 0, sizeof(*x));
	x->rule = r;
	x->severity = r->severity;
	x->cause = interpolate(r->cause, facts, show);
	if (!x->cause)
		goto oom;
	if (r->n_advice) {
		x->advice = calloc(r->n_advice, sizeof(*x->advice));
		if (!x->advice)
			goto oom;
		for (; x->n_advice < r->n_advice; x->n_advice++)
			if (!(x->advice[x->n_advice] = interpolate(r->advice[x->n_advice], facts, show)))
				goto oom;
	}
	if (r->n_evidence) {
		x->evidence = calloc(r->n_evidence, sizeof(*x->evidence));
		if (!x->evidence)
			goto oom;
	}
	for (; x->n_evidence < r->n_evidence; x->n_evidence++) {
		struct md_cited *c = &x->evidence[x->n_evidence];
		const struct md_fact *f = md_facts_get(facts, r->evidence[x->n_evidence]);
		const char *probe = f ? f->probe : owner_of(rs, r->evidence[x->n_evidence]);
		/* A secret's evidence may quote it (the command that read it, say): it is
		 * masked with the value. */
		const char *evidence = f ? md_fact_evidence_text(f, show) : NULL;

		c->fact = strdup(r->evidence[x->n_evidence]);
		c->value = f ? md_fact_text(f, show) : NULL;
		c->evidence = evidence ? strdup(evidence) : NULL;
		c->probe = probe ? strdup(probe) : NULL;
		if (!c->fact || (f && !c->value) || (evidence && !c->evidence) ||
		    (probe && !c->probe)) {
			x->n_evidence++; /* so cleanup frees this one too */
			goto oom;
		}
	}
	return MD_OK;
oom:
	finding_cleanup(x);
	return MD_ENOMEM;
}

struct order {
	size_t idx;
	enum md_severity sev;
	unsigned spec;
};

static int cmp_order(const void *pa, const void *pb)
{
	const struct order *a = pa, *b = pb;

	if (a->sev != b->sev)
		return a->sev > b->sev ? -1 : 1;
	if (a->spec != b->spec)
		return a->spec > b->spec ? -1 : 1;
	return (a->idx > b->idx) - (a->idx < b->idx);
}

void md_evaluation_cleanup(struct md_evaluation *ev)
{
	for (size_t i = 0; i < ev->n_findings; i++)
		finding_cleanup(&ev->findings[i]);
	free(ev->findings);
	for (size_t i = 0; i < ev->n_path; i++) {
		free(ev->path[i].trace);
		for (size_t k = 0; k < ev->path[i].n_missing; k++) {
			free(ev->path[i].missing[k].fact);
			free(ev->path[i].missing[k].probe);
		}
		free(ev->path[i].missing);
	}
	free(ev->path);
	memset(ev, 0, sizeof(*ev));
}

int md_rules_evaluate(const struct md_ruleset *rs, const struct md_facts *f, bool show_secrets,
		      struct md_evaluation *ev)
{
	struct order *ord = NULL;
	size_t n_ord = 0;
	unsigned *spec = NULL;

	memset(ev, 0, sizeof(*ev));
	if (rs->n == 0)
		return MD_OK;
	ev->path = calloc(rs->n, sizeof(*ev->path));
	spec = calloc(rs->n, sizeof(*spec));
	ord = calloc(rs->n, sizeof(*ord));
	if (!ev->path || !spec || !ord)
		goto oom;
	for (size_t i = 0; i < rs->n; i++) {
		struct ectx c = { .facts = f, .rs = rs };
		struct md_step *st = &ev->path[i];
		enum md_tv r;

		md_buf_init(&c.trace, 0);
		r = eval(rs->v[i]->expr, &c, false);
		outf(&c, " ⇒ %s", tv_name(r));
		st->rule = rs->v[i];
		st->result = r == MD_TV_TRUE ? MD_RULE_FIRED :
			     r == MD_TV_FALSE ? MD_RULE_NOT : MD_RULE_UNDECIDED;
		st->trace = c.oom ? NULL : md_buf_steal(&c.trace);
		md_buf_cleanup(&c.trace);
		/* Missing facts matter only when they left the rule undecided. */
		if (r == MD_TV_UNKNOWN) {
			st->missing = c.missing;
			st->n_missing = c.n_missing;
		} else {
			for (size_t k = 0; k < c.n_missing; k++) {
				free(c.missing[k].fact);
				free(c.missing[k].probe);
			}
			free(c.missing);
		}
		ev->n_path++;
		spec[i] = c.n_true;
		if (c.oom || !st->trace)
			goto oom;
	}
	/* A more specific rule that fired replaces the less specific one it names, when that
	 * one fired too.  Compare with the condition's result, so that a superseding rule
	 * which is itself superseded still replaces its own targets. */
	for (size_t i = 0; i < rs->n; i++) {
		const struct md_rule *a = rs->v[i];

		if (ev->path[i].result != MD_RULE_FIRED && ev->path[i].result != MD_RULE_SUPERSEDED)
			continue;
		for (size_t k = 0; k < a->n_supersedes; k++) {
			long j = rule_pos(rs, a->supersedes[k]);

			if (j >= 0 && ev->path[j].result == MD_RULE_FIRED) {
				ev->path[j].result = MD_RULE_SUPERSEDED;
				ev->path[j].superseded_by = a->id;
			}
		}
	}
	for (size_t i = 0; i < rs->n; i++)
		if (ev->path[i].result == MD_RULE_FIRED)
			ord[n_ord++] = (struct order){ i, rs->v[i]->severity, spec[i] };
	qsort(ord, n_ord, sizeof(*ord), cmp_order);
	if (n_ord) {
		ev->findings = calloc(n_ord, sizeof(*ev->findings));
		if (!ev->findings)
			goto oom;
	}
	for (size_t k = 0; k < n_ord; k++) {
		if (make_finding(rs, rs->v[ord[k].idx], f, show_secrets, &ev->findings[k]) != MD_OK)
			goto oom;
		ev->n_findings++;
	}
	free(ord);
	free(spec);
	return MD_OK;
oom:
	free(ord);
	free(spec);
	md_evaluation_cleanup(ev);
	return MD_ENOMEM;
}
