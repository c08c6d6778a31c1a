/* ops.c — the comparison operators of rule conditions, as a table.
 *
 * Each operator is one entry {name, parse, eval, free}, the shape of the keyword entries
 * in suricata's src/detect-*.c (a setup function that validates and prepares, a match
 * function that only decides, a free function): to add an operator, write the three
 * functions and add a row to `ops` below; the parser finds it by name.
 *
 * Semantics (docs/rules.md, "Comparisons"):
 *  - string fact vs string literal: byte-wise (strcmp) order;
 *  - int/real fact vs numeric literal: numeric;
 *  - bool fact vs true/false;
 *  - other mixes: the string side is read as a number if it is one, else the comparison is
 *    false — for every operator, `!=` included — and never an error;
 *  - secrets compare on their real value (only traces and reports mask them);
 *  - `~` is a POSIX extended regular expression (regcomp REG_EXTENDED|REG_NOSUB) matched
 *    against the value's text, `contains` a substring test on the same text. */
#include "rules/expr.h"

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- value helpers */

char *md_fact_text(const struct md_fact *x, bool show_secrets)
{
	size_t len = 64;
	char *out;

	if ((x->type == MD_FACT_STR || x->type == MD_FACT_SECRET) && x->str)
		len += strlen(x->str);
	out = malloc(len);
	if (out)
		md_fact_value_text(x, out, len, show_secrets);
	return out;
}

/* Reads s as a number with the literal syntax -?[0-9]+(.[0-9]+)? (no spaces, no hex, no
 * "inf"), so that "22" compares as 22 but "0x16" or " 22" stay strings. */
static bool parse_number(const char *s, bool *is_int, int64_t *i, double *d)
{
	const char *p = s;
	bool dot = false;
	char *end;

	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return false;
	while ((*p >= '0' && *p <= '9') || (*p == '.' && !dot)) {
		if (*p == '.') {
			dot = true;
			if (p[1] < '0' || p[1] > '9')
				return false;
		}
		p++;
	}
	if (*p)
		return false;
	errno = 0;
	*d = strtod(s, &end);
	if (*end || errno == ERANGE)
		return false;
	*is_int = false;
	if (!dot) {
		errno = 0;
		long long v = strtoll(s, &end, 10);

		if (!*end && errno == 0) {
			*is_int = true;
			*i = v;
		}
	}
	return true;
}

bool md_parse_number_literal(const char *s, struct md_lit *l)
{
	bool is_int;
	int64_t i = 0;
	double d;

	if (!parse_number(s, &is_int, &i, &d))
		return false;
	l->type = is_int ? MD_LIT_INT : MD_LIT_REAL;
	l->num = i;
	l->real = d;
	return true;
}

static int sign_i(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

static bool sign_d(double a, double b, int *out)
{
	if (isnan(a) || isnan(b))
		return false;
	*out = (a > b) - (a < b);
	return true;
}

/* A number on one side: int/real.  Returns false when incomparable. */
static bool cmp_num(bool a_int, int64_t ai, double ad, bool b_int, int64_t bi, double bd,
		    int *out)
{
	if (a_int && b_int) {
		*out = sign_i(ai, bi);
		return true;
	}
	return sign_d(a_int ? (double)ai : ad, b_int ? (double)bi : bd, out);
}

/* Orders the fact's value against the literal: *out < 0, 0, > 0.  False when the two
 * cannot be compared (see the header comment); the operator then yields false. */
static bool compare(const struct md_fact *f, const struct md_lit *l, int *out)
{
	bool is_int;
	int64_t i = 0;
	double d = 0;

	switch (f->type) {
	case MD_FACT_STR:
	case MD_FACT_SECRET:
		if (l->type == MD_LIT_STR) {
			int c = strcmp(f->str ? f->str : "", l->str);

			*out = (c > 0) - (c < 0);
			return true;
		}
		if (l->type == MD_LIT_BOOL || !f->str || !parse_number(f->str, &is_int, &i, &d))
			return false;
		return cmp_num(is_int, i, d, l->type == MD_LIT_INT, l->num, l->real, out);
	case MD_FACT_INT:
	case MD_FACT_REAL: {
		bool f_int = f->type == MD_FACT_INT;

		if (l->type == MD_LIT_BOOL)
			return false;
		if (l->type == MD_LIT_STR) {
			if (!parse_number(l->str, &is_int, &i, &d))
				return false;
			return cmp_num(f_int, f->num, f->real, is_int, i, d, out);
		}
		return cmp_num(f_int, f->num, f->real, l->type == MD_LIT_INT, l->num, l->real,
			       out);
	}
	case MD_FACT_BOOL:
		if (l->type != MD_LIT_BOOL)
			return false;
		*out = sign_i(f->num != 0, l->num != 0);
		return true;
	}
	return false;
}

/* ---------------------------------------------------------------- parse (load time) */

static const char *lit_kind(const struct md_lit *l)
{
	switch (l->type) {
	case MD_LIT_STR: return "a string";
	case MD_LIT_INT: return "an integer";
	case MD_LIT_REAL: return "a number";
	case MD_LIT_BOOL: return l->num ? "true" : "false";
	}
	return "?";
}

static bool parse_any(struct md_expr *e, char *msg, size_t len)
{
	(void)e, (void)msg, (void)len;
	return true;
}

static bool parse_order(struct md_expr *e, char *msg, size_t len)
{
	if (e->lits[0].type == MD_LIT_BOOL) {
		snprintf(msg, len, "'%s' needs a number or a \"string\" to compare with, not %s",
			 e->op->name, e->lits[0].text);
		return false;
	}
	return true;
}

static bool parse_string_only(struct md_expr *e, char *msg, size_t len)
{
	if (e->lits[0].type != MD_LIT_STR) {
		snprintf(msg, len, "'%s' needs a \"quoted string\", got %s %s", e->op->name,
			 lit_kind(&e->lits[0]), e->lits[0].text);
		return false;
	}
	return true;
}

/* Limits on `~` patterns.  glibc's regcomp expands a counted repetition by copying its
 * operand (posix/regcomp.c, parse_dup_op): `(a{1,255}){1,255}` costs 150 MB and 0.1 s,
 * one more level 10 GB and half a minute, and `(a{1,32767})` 8 GB; `x+` is `x x*`, so each
 * '+' on a repeated part doubles it.  A back-reference
 * makes regexec backtrack, which takes seconds on a few hundred bytes of a fact's text.
 * Rules are read on every run, so a pattern must stay cheap to compile and to match. */
#define REGEX_MAX_LEN 512
#define REGEX_MAX_DUP 255
/* The parts (characters, brackets, operators and groups, each copy counted) a pattern
 * compiles to.  Copies side by side are not nested, so REGEX_MAX_DUP does not bound
 * them, and glibc's epsilon closures grow with the square of the parts when many are
 * optional: `(a?){255}` 56 times (504 bytes) took 1.6 GB and 12 s, once 0.7 MB. */
#define REGEX_MAX_PARTS 1024

/* Digits at *p as a number (capped at 100000, more than any limit), -1 when none. */
static long read_count(const char **p)
{
	long v = -1;

	for (; **p >= '0' && **p <= '9'; (*p)++) {
		v = (v < 0 ? 0 : v) * 10 + (**p - '0');
		if (v > 100000)
			v = 100000;
	}
	return v;
}

/* Reads "{m}", "{m,}", "{m,n}" or "{,n}" at s (s[0] == '{'); false when s is not one
 * (regcomp then reads the brace as it sees fit).  *end is just past the '}'; *max the
 * larger bound given. */
static bool read_interval(const char *s, const char **end, long *max)
{
	const char *p = s + 1;
	long lo = read_count(&p), hi = lo;

	if (*p == ',') {
		p++;
		hi = read_count(&p);
	}
	if (*p != '}' || (lo < 0 && hi < 0))
		return false;
	*end = p + 1;
	*max = lo > hi ? lo : hi;
	return true;
}

/* Skips a bracket expression "[...]" starting at s[0] == '['; returns the character after
 * it, or NULL when it is never closed (regcomp reports that). */
static const char *skip_bracket(const char *s)
{
	const char *p = s + 1;

	if (*p == '^')
		p++;
	if (*p == ']')
		p++; /* a ']' first is a member */
	while (*p && *p != ']') {
		if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			char close = p[1];
			const char *q = p + 2;

			while (*q && !(q[0] == close && q[1] == ']'))
				q++;
			if (!*q)
				return NULL;
			p = q + 2;
			continue;
		}
		p++;
	}
	return *p ? p + 1 : NULL;
}

/* Adds n parts to the group at depth d (parts[d]) and to *total; false when *total then
 * exceeds REGEX_MAX_PARTS. */
static bool add_parts(long *parts, size_t d, long n, long *total)
{
	parts[d] += n;
	*total += n;
	return *total <= REGEX_MAX_PARTS;
}

/* How many parts re compiles to, at most REGEX_MAX_PARTS + 1 (counting stops there):
 * each character, bracket expression and operator one, a group two more than what is
 * in it, a counted repetition its operand once per count, x+ its operand twice (x x*).
 * Assumes regex_affordable()'s other limits, so that the counts stay small. */
static long regex_parts(const char *re)
{
	long parts[REGEX_MAX_LEN + 2], total = 0, last = 0;
	size_t depth = 0;
	bool ok = true;

	parts[0] = 0;
	for (const char *p = re; *p && ok;) {
		const char *end;
		long max;

		if (*p == '(') {
			parts[++depth] = 0;
			last = 0;
			p++;
		} else if (*p == ')' && depth > 0) {
			last = parts[depth--] + 2;
			parts[depth] += last - 2; /* already in total */
			ok = add_parts(parts, depth, 2, &total);
			p++;
		} else if (*p == '{' && last && read_interval(p, &end, &max)) {
			/* the operand once per count, and the operator */
			ok = add_parts(parts, depth, last * (max > 1 ? max - 1 : 0) + 1, &total);
			last = last * (max > 1 ? max : 1) + 1;
			p = end;
		} else if (*p == '+' && last) {
			ok = add_parts(parts, depth, last + 1, &total);
			last = 2 * last + 1;
			p++;
		} else if ((*p == '*' || *p == '?') && last) {
			ok = add_parts(parts, depth, 1, &total);
			last++;
			p++;
		} else {
			/* a character, an escape, a bracket expression, an anchor or '|' */
			if (*p == '[')
				end = skip_bracket(p);
			else
				end = p + (*p == '\\' && p[1] ? 2 : 1);
			last = (*p == '|' || *p == '^' || *p == '$') ? 0 : 1;
			ok = add_parts(parts, depth, 1, &total);
			p = end ? end : p + strlen(p);
		}
	}
	return total;
}

/* The emptiness of the parts regex_empty_loop() has read: per group depth, whether an
 * alternative already read can match the empty string and whether the current one can
 * so far; and the last part, the operand a repetition would apply to. */
struct empty_scan {
	bool alt[REGEX_MAX_LEN + 2], branch[REGEX_MAX_LEN + 2];
	size_t d;
	bool have_last, last, before_last;
};

static void empty_part(struct empty_scan *e, bool empty)
{
	e->before_last = e->branch[e->d];
	e->last = empty;
	e->have_last = true;
	e->branch[e->d] = e->before_last && empty;
}

/* Whether a repetition without an upper bound (`*`, `+`, `{m,}`) applies to a part that
 * can match the empty string: `(d?)*`, `d?+`, `(a|)*`, `(^)*`.  glibc's regcomp then has a
 * loop of empty transitions, and its closures over such loops take exponential time:
 * `(a?|d?+){20}` (12 bytes) took 4 s, each more copy doubling it.  Such a pattern always
 * has an equivalent without (`d*` for `(d?)*`).  The repetition's position, or NULL. */
static const char *regex_empty_loop(const char *re)
{
	static const char zero_width[] = "bB<>`'"; /* GNU anchors: \b \B \< \> \` \' */
	struct empty_scan e = { .branch[0] = true };

	for (const char *p = re, *end; *p; p = end) {
		long max;

		end = p + 1;
		if (*p == '(') {
			e.alt[++e.d] = false;
			e.branch[e.d] = true;
			e.have_last = false;
		} else if (*p == ')' && e.d > 0) {
			bool empty = e.alt[e.d] || e.branch[e.d];

			e.d--;
			empty_part(&e, empty);
		} else if (*p == '|') {
			e.alt[e.d] = e.alt[e.d] || e.branch[e.d];
			e.branch[e.d] = true;
			e.have_last = false;
		} else if (e.have_last && (*p == '*' || *p == '+' || *p == '?' ||
					   (*p == '{' && read_interval(p, &end, &max)))) {
			const char *q = p + 1;
			bool unbounded = *p == '*' || *p == '+' || (*p == '{' && end[-2] == ',');
			bool lo0 = *p == '*' || *p == '?' || (*p == '{' && read_count(&q) <= 0);

			if (unbounded && e.last)
				return p;
			e.last = e.last || lo0;
			e.branch[e.d] = e.before_last && e.last;
		} else if (*p == '^' || *p == '$') {
			empty_part(&e, true);
		} else if (*p == '\\' && p[1]) {
			empty_part(&e, strchr(zero_width, p[1]) != NULL);
			end = p + 2;
		} else {
			if (*p == '[')
				end = skip_bracket(p);
			if (!end)
				break;
			empty_part(&e, false);
		}
	}
	return NULL;
}

/* Checks a `~` pattern against the limits above; false with one line in msg. */
static bool regex_affordable(const struct md_lit *l, char *msg, size_t len)
{
	const char *re = l->str;
	size_t n = strlen(re);
	/* copies[d]: how many copies of its operand the counted repetitions in group level d
	 * (0 = the whole pattern) make at most, nested counts multiplied (1: none). */
	long copies[REGEX_MAX_LEN + 2];
	size_t depth = 0;
	/* The operand a repetition would apply to: none, or an atom, whose own copies count
	 * the counted repetitions it is or contains (1: none). */
	bool atom = false;
	long atom_copies = 1;

	if (n > REGEX_MAX_LEN) {
		snprintf(msg, len,
			 "regular expression %.40s... is %zu bytes long (at most %d): split it into several ~ tests",
			 l->text, n, REGEX_MAX_LEN);
		return false;
	}
	copies[0] = 1;
	for (const char *p = re; *p;) {
		const char *end;
		long max = 0, total;

		switch (*p) {
		case '\\':
			if (p[1] >= '1' && p[1] <= '9') {
				snprintf(msg, len,
					 "regular expression %.60s: back-references such as \\%c are not allowed (glibc matches them by backtracking)",
					 l->text, p[1]);
				return false;
			}
			p += p[1] ? 2 : 1;
			atom = true;
			atom_copies = 1;
			break;
		case '[':
			end = skip_bracket(p);
			p = end ? end : p + strlen(p);
			atom = true;
			atom_copies = 1;
			break;
		case '(':
			copies[++depth] = 1;
			p++;
			atom = false;
			break;
		case ')':
			if (depth > 0) {
				atom_copies = copies[depth--];
				if (atom_copies > copies[depth])
					copies[depth] = atom_copies;
			} else {
				atom_copies = 1;
			}
			atom = true;
			p++;
			break;
		case '{':
			if (!atom || !read_interval(p, &end, &max)) {
				atom = true;
				atom_copies = 1;
				p++;
				break;
			}
			if (max > REGEX_MAX_DUP) {
				snprintf(msg, len,
					 "regular expression %.60s: '%.*s' counts past %d (use + or * for \"many\")",
					 l->text, (int)(end - p), p, REGEX_MAX_DUP);
				return false;
			}
			/* Nested counts multiply: `([0-9]{1,3}\\.){3}` is 9 copies, fine;
			 * `(a{1,255}){1,255}` is 65,025. */
			total = atom_copies * (max > 1 ? max : 1);
			if (total > REGEX_MAX_DUP) {
				snprintf(msg, len,
					 "regular expression %.60s: '%.*s' repeats a part that has a counted repetition already, %ld copies in all (at most %d; use + or * for one of them)",
					 l->text, (int)(end - p), p, total, REGEX_MAX_DUP);
				return false;
			}
			atom_copies = total;
			if (total > copies[depth])
				copies[depth] = total;
			p = end;
			break;
		case '|':
		case '^':
		case '$':
			atom = false;
			p++;
			break;
		case '+':
			/* glibc compiles x+ as x x*: a copy of its operand, so stacked or nested
			 * +'s double the pattern each (`[a-z]+` then 17 more '+': 170 MB). */
			if (atom && atom_copies * 2 > REGEX_MAX_DUP) {
				snprintf(msg, len,
					 "regular expression %.60s: a '+' repeats a part that is repeated already, %ld copies in all (at most %d; one + is enough)",
					 l->text, atom_copies * 2, REGEX_MAX_DUP);
				return false;
			}
			if (atom) {
				atom_copies *= 2;
				if (atom_copies > copies[depth])
					copies[depth] = atom_copies;
			}
			p++;
			break;
		case '*':
		case '?':
			p++; /* unbounded or optional: one copy of the operand, which stays the atom */
			break;
		default:
			atom = true;
			atom_copies = 1;
			p++;
			break;
		}
	}
	return true;
}

static bool parse_regex(struct md_expr *e, char *msg, size_t len)
{
	const char *loop;
	regex_t *re;
	int rc;

	if (!parse_string_only(e, msg, len))
		return false;
	if (!regex_affordable(&e->lits[0], msg, len))
		return false;
	if ((loop = regex_empty_loop(e->lits[0].str))) {
		snprintf(msg, len,
			 "regular expression %.48s: '%c' repeats a part that can match nothing (write d* for (d?)*)",
			 e->lits[0].text, *loop);
		return false;
	}
	if (regex_parts(e->lits[0].str) > REGEX_MAX_PARTS) {
		snprintf(msg, len,
			 "regular expression %.48s: over %d parts with its repetitions written out (repeat fewer or shorter parts)",
			 e->lits[0].text, REGEX_MAX_PARTS);
		return false;
	}
	re = calloc(1, sizeof(*re));
	if (!re) {
		snprintf(msg, len, "out of memory");
		return false;
	}
	rc = regcomp(re, e->lits[0].str, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		char why[128];

		regerror(rc, re, why, sizeof(why));
		free(re);
		snprintf(msg, len, "bad regular expression %s: %s (POSIX extended syntax expected)",
			 e->lits[0].text, why);
		return false;
	}
	e->op_data = re;
	return true;
}

static void free_regex(struct md_expr *e)
{
	if (e->op_data) {
		regfree(e->op_data);
		free(e->op_data);
		e->op_data = NULL;
	}
}

/* ---------------------------------------------------------------- eval (run time) */

static bool eval_eq(const struct md_expr *e, const struct md_fact *f)
{
	int c;

	return compare(f, &e->lits[0], &c) && c == 0;
}

static bool eval_ne(const struct md_expr *e, const struct md_fact *f)
{
	int c;

	return compare(f, &e->lits[0], &c) && c != 0;
}

static bool eval_lt(const struct md_expr *e, const struct md_fact *f)
{
	int c;

	return compare(f, &e->lits[0], &c) && c < 0;
}

static bool eval_le(const struct md_expr *e, const struct md_fact *f)
{
	int c;

	return compare(f, &e->lits[0], &c) && c <= 0;
}

static bool eval_gt(const struct md_expr *e, const struct md_fact *f)
{
	int c;

	return compare(f, &e->lits[0], &c) && c > 0;
}

static bool eval_ge(const struct md_expr *e, const struct md_fact *f)
{
	int c;

	return compare(f, &e->lits[0], &c) && c >= 0;
}

static bool eval_regex(const struct md_expr *e, const struct md_fact *f)
{
	char *text = md_fact_text(f, true);
	bool ok = text && regexec(e->op_data, text, 0, NULL, 0) == 0;

	free(text);
	return ok;
}

static bool eval_contains(const struct md_expr *e, const struct md_fact *f)
{
	char *text = md_fact_text(f, true);
	bool ok = text && strstr(text, e->lits[0].str) != NULL;

	free(text);
	return ok;
}

static bool eval_in(const struct md_expr *e, const struct md_fact *f)
{
	int c;

	for (size_t i = 0; i < e->n_lits; i++)
		if (compare(f, &e->lits[i], &c) && c == 0)
			return true;
	return false;
}

/* ---------------------------------------------------------------- the table */

static const struct md_op ops[] = {
	{ "==", false, parse_any, eval_eq, NULL },
	{ "!=", false, parse_any, eval_ne, NULL },
	{ "<=", false, parse_order, eval_le, NULL },
	{ ">=", false, parse_order, eval_ge, NULL },
	{ "<", false, parse_order, eval_lt, NULL },
	{ ">", false, parse_order, eval_gt, NULL },
	{ "~", false, parse_regex, eval_regex, free_regex },
	{ "contains", false, parse_string_only, eval_contains, NULL },
	{ "in", true, parse_any, eval_in, NULL },
};

const char *const md_op_names[] = { "==", "!=", "<", "<=", ">", ">=", "~", "contains", "in",
				     NULL };

const struct md_op *md_op_find(const char *name)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}

void md_lit_cleanup(struct md_lit *l)
{
	free(l->str);
	free(l->text);
	l->str = l->text = NULL;
}

void md_expr_free(struct md_expr *e)
{
	/* `a && b && c` is a left-deep tree: follow e->a in a loop and recurse only into
	 * e->b, so freeing a long chain needs no deep stack. */
	while (e) {
		struct md_expr *a = e->a;

		md_expr_free(e->b);
		if (e->op && e->op->free)
			e->op->free(e);
		for (size_t i = 0; i < e->n_lits; i++)
			md_lit_cleanup(&e->lits[i]);
		free(e->lits);
		free(e->fact);
		free(e);
		e = a;
	}
}
