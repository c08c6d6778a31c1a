/* parse.c — rule files and conditions, read a line at a time.
 *
 * The syntax (docs/rules.md) is INI-like: `[rule ID]` starts a stanza, `KEY = VALUE` lines
 * fill it, `#` starts a comment (at the start of a line, or after white space outside a
 * "quoted string"), a line that starts with white space continues the previous value.
 * Everything is checked here, at load time, so the engine never meets a malformed rule:
 * a rule file is data written by people, and a mistake must point at its line
 * ("FILE:LINE: message") rather than surface as a wrong diagnosis later. */
#include "rules/parse.h"

#include "core/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deep enough for any hand-written condition, shallow enough for the C stack. */
#define MAX_DEPTH 64
/* Tests (comparisons, bare names, exists, missing) in one condition.  A chain of `&&` or
 * `||` is read in a loop, but it becomes a tree as deep as the chain is long, and the
 * engine walks that tree recursively (evaluation, trace, the facts it reads): the cap
 * keeps every walk a few thousand frames deep at most.  The shipped rules use < 20. */
#define MAX_TESTS 1024

static int perr(struct md_err *err, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int perr(struct md_err *err, const char *file, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return md_err_set(err, MD_EPARSE, "rules", "%s:%d: %s", file, line, msg);
}

bool md_rule_id_valid(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

/* ================================================================ the id index */

static uint64_t id_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

void md_rule_index_init(struct md_rule_index *ix)
{
	memset(ix, 0, sizeof(*ix));
}

void md_rule_index_cleanup(struct md_rule_index *ix)
{
	free(ix->slot);
	memset(ix, 0, sizeof(*ix));
}

long md_rule_index_find(const struct md_rule_index *ix, struct md_rule *const *v,
			const char *id)
{
	if (!ix->cap)
		return -1;
	for (size_t k = (size_t)id_hash(id) & (ix->cap - 1);; k = (k + 1) & (ix->cap - 1)) {
		size_t pos = ix->slot[k];

		if (!pos)
			return -1;
		if (strcmp(v[pos - 1]->id, id) == 0)
			return (long)(pos - 1);
	}
}

/* Puts position i in the first free slot of its probe sequence, unless its id is there. */
static void index_put(struct md_rule_index *ix, struct md_rule *const *v, size_t i)
{
	size_t k = (size_t)id_hash(v[i]->id) & (ix->cap - 1);

	for (; ix->slot[k]; k = (k + 1) & (ix->cap - 1))
		if (strcmp(v[ix->slot[k] - 1]->id, v[i]->id) == 0)
			return;
	ix->slot[k] = i + 1;
	ix->n++;
}

static int index_resize(struct md_rule_index *ix, struct md_rule *const *v, size_t n,
			size_t want)
{
	size_t cap = 16;
	size_t *slot;

	while (cap < 2 * want)
		cap *= 2;
	slot = calloc(cap, sizeof(*slot));
	if (!slot)
		return MD_ENOMEM;
	free(ix->slot);
	ix->slot = slot;
	ix->cap = cap;
	ix->n = 0;
	for (size_t i = 0; i < n; i++)
		index_put(ix, v, i);
	return MD_OK;
}

int md_rule_index_build(struct md_rule_index *ix, struct md_rule *const *v, size_t n)
{
	int rc;

	/* Rules taken out of a set (or moved up in its array) are re-indexed in the table the
	 * index has: nothing to allocate, so taking back a rejected file cannot fail. */
	if (ix->cap && 2 * n <= ix->cap) {
		memset(ix->slot, 0, ix->cap * sizeof(*ix->slot));
		ix->n = 0;
		for (size_t i = 0; i < n; i++)
			index_put(ix, v, i);
		return MD_OK;
	}
	rc = index_resize(ix, v, n, n);

	if (rc)
		md_rule_index_cleanup(ix);
	return rc;
}

int md_rule_index_add(struct md_rule_index *ix, struct md_rule *const *v, size_t i)
{
	if (2 * (ix->n + 1) > ix->cap)
		return index_resize(ix, v, i + 1, 2 * (i + 1));
	index_put(ix, v, i);
	return MD_OK;
}

/* ================================================================ conditions */

enum tok_kind { T_END, T_WORD, T_STR, T_OP, T_AND, T_OR, T_NOT, T_LP, T_RP, T_COMMA };

struct tok {
	enum tok_kind kind;
	size_t start, len; /* the raw text of the token */
	char *str;         /* T_STR: unescaped, owned */
};

struct parser {
	const char *s;
	size_t pos;
	struct tok cur;
	const char *file;
	const struct md_srcmap *map;
	int map_line;
	struct md_err *err;
	int depth;
	int tests;  /* leaves read so far, capped by MAX_TESTS */
	bool failed;
};

static int line_at(const struct parser *p, size_t off)
{
	int line = p->map_line;

	if (!p->map)
		return line;
	for (size_t i = 0; i < p->map->n; i++)
		if (p->map->off[i] <= off)
			line = p->map->line[i];
	return line;
}

static void *fail(struct parser *p, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void *fail(struct parser *p, size_t off, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!p->failed)
		perr(p->err, p->file, line_at(p, off), "%s", msg);
	p->failed = true;
	return NULL;
}

static void *oom(struct parser *p)
{
	if (!p->failed)
		md_err_set(p->err, MD_ENOMEM, "rules", "%s: out of memory", p->file);
	p->failed = true;
	return NULL;
}

/* The token as a message shows it: 'text' (shortened), or "end of condition". */
static const char *describe(const struct parser *p, const struct tok *t, char *buf, size_t len)
{
	if (t->kind == T_END)
		return "end of condition";
	if (t->len > 40)
		snprintf(buf, len, "'%.37s...'", p->s + t->start);
	else
		snprintf(buf, len, "'%.*s'", (int)t->len, p->s + t->start);
	return buf;
}

static bool tok_is(const struct parser *p, const char *word)
{
	return p->cur.kind == T_WORD && strlen(word) == p->cur.len &&
	       memcmp(p->s + p->cur.start, word, p->cur.len) == 0;
}

static bool word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

static bool lex_string(struct parser *p)
{
	const char *s = p->s;
	size_t start = p->pos;
	struct md_buf b;

	md_buf_init(&b, 0);
	p->pos++;
	while (s[p->pos] && s[p->pos] != '"') {
		char c = s[p->pos];

		if (c == '\\') {
			char n = s[p->pos + 1];

			if (n == '\0')
				break;
			if (n != '"' && n != '\\') {
				md_buf_cleanup(&b);
				fail(p, p->pos,
				     "unknown escape '\\%c' in a string (only \\\" and \\\\ are allowed; a regex backslash is written \\\\)",
				     n);
				return false;
			}
			c = n;
			p->pos++;
		}
		if (md_buf_append(&b, &c, 1) != MD_OK) {
			md_buf_cleanup(&b);
			oom(p);
			return false;
		}
		p->pos++;
	}
	if (s[p->pos] != '"') {
		md_buf_cleanup(&b);
		fail(p, start, "unterminated string %.30s (missing the closing '\"')", s + start);
		return false;
	}
	p->pos++;
	p->cur.str = md_buf_steal(&b);
	if (!p->cur.str)
		p->cur.str = strdup("");
	if (!p->cur.str) {
		oom(p);
		return false;
	}
	p->cur.kind = T_STR;
	return true;
}

/* Reads the next token into p->cur.  False (p->failed set) on a lexical mistake. */
static bool next(struct parser *p)
{
	const char *s = p->s;
	char c;

	free(p->cur.str);
	p->cur.str = NULL;
	if (p->failed)
		return false;
	while (s[p->pos] == ' ' || s[p->pos] == '\t')
		p->pos++;
	p->cur.start = p->pos;
	c = s[p->pos];
	if (c == '\0') {
		p->cur.kind = T_END;
	} else if (c == '"') {
		if (!lex_string(p))
			return false;
	} else if (c == '&' || c == '|') {
		if (s[p->pos + 1] != c) {
			fail(p, p->pos, "'%c' is not an operator (did you mean '%c%c'?)", c, c, c);
			return false;
		}
		p->cur.kind = c == '&' ? T_AND : T_OR;
		p->pos += 2;
	} else if (c == '=' || c == '<' || c == '>' || c == '!') {
		if (s[p->pos + 1] == '=') {
			p->cur.kind = T_OP;
			p->pos += 2;
		} else if (c == '=') {
			fail(p, p->pos, "'=' is not an operator (did you mean '=='?)");
			return false;
		} else {
			p->cur.kind = c == '!' ? T_NOT : T_OP;
			p->pos++;
		}
	} else if (c == '~') {
		p->cur.kind = T_OP;
		p->pos++;
	} else if (c == '(' || c == ')' || c == ',') {
		p->cur.kind = c == '(' ? T_LP : c == ')' ? T_RP : T_COMMA;
		p->pos++;
	} else if (word_char(c)) {
		while (word_char(s[p->pos]))
			p->pos++;
		p->cur.kind = T_WORD;
	} else {
		fail(p, p->pos, "unexpected character '%c' in condition", c);
		return false;
	}
	p->cur.len = p->pos - p->cur.start;
	return true;
}

static char *tok_dup(const struct parser *p)
{
	return strndup(p->s + p->cur.start, p->cur.len);
}

static struct md_expr *node_new(struct parser *p, enum md_expr_kind kind)
{
	struct md_expr *e = calloc(1, sizeof(*e));

	if (!e)
		return oom(p);
	e->kind = kind;
	return e;
}

static bool parse_literal(struct parser *p, struct md_lit *l, const char *after)
{
	char d[64];

	if (p->cur.kind == T_STR) {
		l->type = MD_LIT_STR;
		l->str = p->cur.str;
		p->cur.str = NULL;
	} else if (p->cur.kind == T_WORD) {
		char *w = tok_dup(p);

		if (!w)
			return oom(p), false;
		if (strcmp(w, "true") == 0 || strcmp(w, "false") == 0) {
			l->type = MD_LIT_BOOL;
			l->num = w[0] == 't';
		} else if (!md_parse_number_literal(w, l)) {
			fail(p, p->cur.start,
			     "expected a literal (\"string\", number, true or false) after '%s', got %s%s",
			     after, describe(p, &p->cur, d, sizeof(d)),
			     md_fact_name_valid(w) ? " (strings need double quotes)" : "");
			free(w);
			return false;
		}
		free(w);
	} else {
		fail(p, p->cur.start,
		     "expected a literal (\"string\", number, true or false) after '%s', got %s", after,
		     describe(p, &p->cur, d, sizeof(d)));
		return false;
	}
	l->text = tok_dup(p);
	if (!l->text)
		return oom(p), false;
	return next(p);
}

/* NAME OP LITERAL | NAME 'in' '(' LIT (',' LIT)* ')' ; cur is the operator. */
static struct md_expr *parse_comparison(struct parser *p, char *name)
{
	char d[64], msg[224], opname[16];
	size_t op_off = p->cur.start;
	const struct md_op *op;
	struct md_expr *e;

	snprintf(opname, sizeof(opname), "%.*s", (int)p->cur.len, p->s + p->cur.start);
	op = md_op_find(opname);
	if (!op) {
		free(name);
		return fail(p, op_off, "unknown operator '%s'", opname);
	}
	e = node_new(p, MD_EX_CMP);
	if (!e) {
		free(name);
		return NULL;
	}
	e->fact = name;
	e->op = op;
	if (!next(p))
		goto bad;
	if (op->list) {
		if (p->cur.kind != T_LP) {
			fail(p, p->cur.start, "expected '(' after '%s', got %s (write NAME in (\"a\", \"b\"))",
			     opname, describe(p, &p->cur, d, sizeof(d)));
			goto bad;
		}
		if (!next(p))
			goto bad;
		for (;;) {
			struct md_lit *v = realloc(e->lits, (e->n_lits + 1) * sizeof(*v));

			if (!v) {
				oom(p);
				goto bad;
			}
			e->lits = v;
			memset(&e->lits[e->n_lits], 0, sizeof(e->lits[0]));
			e->n_lits++;
			if (!parse_literal(p, &e->lits[e->n_lits - 1], e->n_lits == 1 ? "in (" : ","))
				goto bad;
			if (p->cur.kind == T_COMMA) {
				if (!next(p))
					goto bad;
				continue;
			}
			if (p->cur.kind == T_RP)
				break;
			if (p->cur.kind == T_END)
				fail(p, op_off, "unbalanced parentheses: the list after '%s' is never closed (expected ')')",
				     opname);
			else
				fail(p, p->cur.start, "expected ',' or ')' in the list after '%s', got %s",
				     opname, describe(p, &p->cur, d, sizeof(d)));
			goto bad;
		}
		if (!next(p))
			goto bad;
	} else {
		e->lits = calloc(1, sizeof(*e->lits));
		if (!e->lits) {
			oom(p);
			goto bad;
		}
		e->n_lits = 1;
		if (!parse_literal(p, &e->lits[0], opname))
			goto bad;
	}
	if (!op->parse(e, msg, sizeof(msg))) {
		fail(p, op_off, "%s", msg);
		goto bad;
	}
	return e;
bad:
	md_expr_free(e);
	return NULL;
}

static struct md_expr *parse_or(struct parser *p);

/* exists(NAME) / missing(NAME); cur is the keyword, followed by '('. */
static struct md_expr *parse_presence(struct parser *p, enum md_expr_kind kind)
{
	const char *kw = kind == MD_EX_EXISTS ? "exists" : "missing";
	size_t off = p->cur.start;
	struct md_expr *e;
	char d[64];

	if (!next(p) || !next(p)) /* the keyword, then '(' */
		return NULL;
	if (p->cur.kind != T_WORD)
		return fail(p, p->cur.start, "expected a fact name inside %s(...), got %s", kw,
			    describe(p, &p->cur, d, sizeof(d)));
	e = node_new(p, kind);
	if (!e)
		return NULL;
	e->fact = tok_dup(p);
	if (!e->fact) {
		md_expr_free(e);
		return oom(p);
	}
	if (!md_fact_name_valid(e->fact)) {
		fail(p, p->cur.start,
		     "invalid fact name \"%s\" (expected dotted lower-case names such as ssh.tcp)",
		     e->fact);
		md_expr_free(e);
		return NULL;
	}
	if (!next(p)) {
		md_expr_free(e);
		return NULL;
	}
	if (p->cur.kind != T_RP) {
		fail(p, p->cur.kind == T_END ? off : p->cur.start,
		     "unbalanced parentheses: expected ')' to close %s(%s, got %s", kw, e->fact,
		     describe(p, &p->cur, d, sizeof(d)));
		md_expr_free(e);
		return NULL;
	}
	if (!next(p)) {
		md_expr_free(e);
		return NULL;
	}
	return e;
}

static bool followed_by_paren(const struct parser *p)
{
	size_t i = p->cur.start + p->cur.len;

	while (p->s[i] == ' ' || p->s[i] == '\t')
		i++;
	return p->s[i] == '(';
}

static struct md_expr *parse_unary(struct parser *p);

static struct md_expr *parse_unary_inner(struct parser *p)
{
	char d[64];
	size_t off = p->cur.start;
	struct md_expr *e, *child;
	char *name;

	switch (p->cur.kind) {
	case T_NOT:
		if (!next(p))
			return NULL;
		if (p->cur.kind == T_END)
			return fail(p, off, "expected a condition after '!', got end of condition");
		child = parse_unary(p);
		if (!child)
			return NULL;
		e = node_new(p, MD_EX_NOT);
		if (!e) {
			md_expr_free(child);
			return NULL;
		}
		e->a = child;
		return e;
	case T_LP:
		if (++p->depth > MAX_DEPTH)
			return fail(p, off, "condition nested too deeply (more than %d levels)",
				    MAX_DEPTH);
		if (!next(p))
			return NULL;
		e = parse_or(p);
		p->depth--;
		if (!e)
			return NULL;
		if (p->cur.kind != T_RP) {
			md_expr_free(e);
			if (p->cur.kind == T_END)
				return fail(p, off, "unbalanced parentheses: '(' is never closed (expected ')')");
			return fail(p, p->cur.start, "expected ')' or an operator, got %s",
				    describe(p, &p->cur, d, sizeof(d)));
		}
		if (!next(p)) {
			md_expr_free(e);
			return NULL;
		}
		e->paren = true;
		return e;
	case T_WORD:
		if (++p->tests > MAX_TESTS)
			return fail(p, off,
				    "condition has more than %d tests (split it into several rules)",
				    MAX_TESTS);
		if (followed_by_paren(p) && tok_is(p, "exists"))
			return parse_presence(p, MD_EX_EXISTS);
		if (followed_by_paren(p) && tok_is(p, "missing"))
			return parse_presence(p, MD_EX_MISSING);
		name = tok_dup(p);
		if (!name)
			return oom(p);
		if (!md_fact_name_valid(name)) {
			fail(p, off, "invalid fact name \"%s\" (expected dotted lower-case names such as ssh.tcp)",
			     name);
			free(name);
			return NULL;
		}
		if (!next(p)) {
			free(name);
			return NULL;
		}
		if (p->cur.kind == T_OP || tok_is(p, "contains") || tok_is(p, "in"))
			return parse_comparison(p, name);
		if (p->cur.kind == T_WORD || p->cur.kind == T_STR) {
			fail(p, p->cur.start,
			     "expected an operator (== != < <= > >= ~ contains in), '&&' or '||' after %s, got %s",
			     name, describe(p, &p->cur, d, sizeof(d)));
			free(name);
			return NULL;
		}
		e = node_new(p, MD_EX_TRUTHY);
		if (!e) {
			free(name);
			return NULL;
		}
		e->fact = name;
		return e;
	case T_RP:
		return fail(p, off, "unbalanced parentheses: unexpected ')'");
	case T_END:
		return fail(p, off, "expected a condition, got end of condition");
	case T_STR:
		return fail(p, off, "expected a fact name, got %s (write conditions as NAME OP LITERAL)",
			    describe(p, &p->cur, d, sizeof(d)));
	default:
		return fail(p, off,
			    "expected a condition (a fact name, '!', '(', exists(NAME) or missing(NAME)), got %s",
			    describe(p, &p->cur, d, sizeof(d)));
	}
}

static struct md_expr *parse_unary(struct parser *p)
{
	struct md_expr *e;

	if (++p->depth > MAX_DEPTH)
		return fail(p, p->cur.start, "condition nested too deeply (more than %d levels)",
			    MAX_DEPTH);
	e = parse_unary_inner(p);
	p->depth--;
	return e;
}

static struct md_expr *parse_binary(struct parser *p, enum tok_kind t, enum md_expr_kind kind)
{
	struct md_expr *left = kind == MD_EX_OR ? parse_binary(p, T_AND, MD_EX_AND) : parse_unary(p);

	while (left && p->cur.kind == t) {
		size_t off = p->cur.start;
		struct md_expr *right, *e;

		if (!next(p))
			break;
		if (p->cur.kind == T_END) {
			fail(p, off, "expected a condition after '%s', got end of condition",
			     t == T_AND ? "&&" : "||");
			break;
		}
		right = kind == MD_EX_OR ? parse_binary(p, T_AND, MD_EX_AND) : parse_unary(p);
		if (!right)
			break;
		e = node_new(p, kind);
		if (!e) {
			md_expr_free(right);
			break;
		}
		e->a = left;
		e->b = right;
		left = e;
	}
	if (p->failed) {
		md_expr_free(left);
		return NULL;
	}
	return left;
}

static struct md_expr *parse_or(struct parser *p)
{
	return parse_binary(p, T_OR, MD_EX_OR);
}

int md_expr_parse(const char *text, const char *file, const struct md_srcmap *map,
		  int map_line, struct md_expr **out, struct md_err *err)
{
	struct parser p = { .s = text, .file = file, .map = map, .map_line = map_line, .err = err };
	struct md_expr *e = NULL;
	char d[64];

	*out = NULL;
	if (next(&p))
		e = parse_or(&p);
	if (e && p.cur.kind != T_END) {
		if (p.cur.kind == T_RP)
			fail(&p, p.cur.start, "unbalanced parentheses: unexpected ')'");
		else
			fail(&p, p.cur.start,
			     "unexpected %s after a complete condition (expected '&&', '||' or the end)",
			     describe(&p, &p.cur, d, sizeof(d)));
		md_expr_free(e);
		e = NULL;
	}
	free(p.cur.str);
	if (!e)
		return err && err->code ? err->code : MD_EPARSE;
	*out = e;
	return MD_OK;
}

/* ================================================================ rule files */

enum key_id { K_WHEN, K_SEVERITY, K_TITLE, K_CAUSE, K_EVIDENCE, K_ADVICE, K_REMEDY, K_SOURCE,
	      K_SUPERSEDES, K_COUNT };

static const char *const key_names[K_COUNT] = {
	"when", "severity", "title", "cause", "evidence", "advice", "remedy", "source",
	"supersedes",
};

#define KEYS_LIST "when, severity, title, cause, evidence, advice, remedy, source, supersedes"
#define REQUIRED_KEYS ((1u << K_WHEN) | (1u << K_SEVERITY) | (1u << K_CAUSE) | (1u << K_SOURCE))

/* A `KEY = VALUE` entry being read (its value may continue on the next lines). */
struct entry {
	bool active;
	enum key_id key;
	int line;
	struct md_buf val;
	struct md_srcmap map;
};

struct file_parser {
	const char *file;
	struct md_err *err;
	struct md_rule **rules;
	size_t n, cap;
	struct md_rule_ext *cur; /* rule being filled (also the last of rules) */
	unsigned seen;           /* keys set in cur */
	struct entry ent;
	struct md_rule_index ids; /* ids of rules[0..n) */
};

void md_rule_free(struct md_rule *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->file);
	free(r->when);
	md_expr_free(r->expr);
	free(r->title);
	free(r->cause);
	for (size_t i = 0; i < r->n_evidence; i++)
		free(r->evidence[i]);
	free(r->evidence);
	for (size_t i = 0; i < r->n_advice; i++)
		free(r->advice[i]);
	free(r->advice);
	free(r->remedy);
	free(r->source);
	for (size_t i = 0; i < r->n_supersedes; i++)
		free(r->supersedes[i]);
	free(r->supersedes);
	free(r);
}

static int map_add(struct md_srcmap *m, size_t off, int line)
{
	/* Two arrays, one capacity: the second grows from the first's old capacity. */
	if (m->n == m->cap) {
		size_t cap = m->cap, cap2 = m->cap;
		size_t *o = md_grow(m->off, &cap, m->n, sizeof(*o), 4);
		int *l;

		if (!o)
			return MD_ENOMEM;
		m->off = o;
		l = md_grow(m->line, &cap2, m->n, sizeof(*l), 4);
		if (!l)
			return MD_ENOMEM;
		m->line = l;
		m->cap = cap;
	}
	m->off[m->n] = off;
	m->line[m->n] = line;
	m->n++;
	return MD_OK;
}

static void entry_reset(struct entry *e)
{
	md_buf_reset(&e->val);
	e->map.n = 0;
	e->active = false;
}

static int fp_oom(struct file_parser *fp)
{
	return md_err_set(fp->err, MD_ENOMEM, "rules", "%s: out of memory", fp->file);
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

static int push_str(struct file_parser *fp, char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return fp_oom(fp);
	*v = nv;
	nv[*n] = strdup(s);
	if (!nv[*n])
		return fp_oom(fp);
	(*n)++;
	return MD_OK;
}

/* Splits "a, b, c" into v; each item is checked with valid(). */
static int split_list(struct file_parser *fp, const char *value, int line, const char *what,
		      bool (*valid)(const char *), const char *expected, char ***v, size_t *n)
{
	char *copy = strdup(value), *save = NULL, *tok;
	int rc = MD_OK;
	size_t len;

	if (!copy)
		return fp_oom(fp);
	len = strlen(copy);
	if (len == 0 || copy[0] == ',' || copy[len - 1] == ',' || strstr(copy, ",,")) {
		rc = perr(fp->err, fp->file, line, "empty item in the %s list (expected %s separated by ',')",
			  what, expected);
		goto out;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *item = trim(tok);

		if (!*item) {
			rc = perr(fp->err, fp->file, line,
				  "empty item in the %s list (expected %s separated by ',')", what,
				  expected);
			goto out;
		}
		if (!valid(item)) {
			rc = perr(fp->err, fp->file, line, "invalid %s \"%s\" (expected %s)", what, item,
				  expected);
			goto out;
		}
		rc = push_str(fp, v, n, item);
		if (rc)
			goto out;
	}
out:
	free(copy);
	return rc;
}

static int set_str(struct file_parser *fp, char **dst, const char *value)
{
	*dst = strdup(value);
	return *dst ? MD_OK : fp_oom(fp);
}

/* Stores the finished entry into the current rule. */
/* A condition's error names its rule: "FILE:LINE: rule "ID": message". */
static void name_rule(struct md_err *err, const char *file, const char *id)
{
	char msg[sizeof(err->msg)];
	size_t n = strlen(file);
	const char *p = err ? err->msg + n : NULL;

	if (!p || strncmp(err->msg, file, n) != 0 || *p++ != ':')
		return;
	p += strspn(p, "0123456789");
	if (p[0] != ':' || p[1] != ' ')
		return;
	p += 2;
	snprintf(msg, sizeof(msg), "%.*srule \"%s\": %s", (int)(p - err->msg), err->msg, id, p);
	memcpy(err->msg, msg, sizeof(msg));
}

static int finish_entry(struct file_parser *fp)
{
	struct entry *en = &fp->ent;
	const char *value = md_buf_str(&en->val);
	const char *key = key_names[en->key];
	struct md_rule *r;
	int rc = MD_OK;

	if (!en->active || !fp->cur)
		return MD_OK;
	en->active = false;
	r = &fp->cur->pub;
	if (!*value)
		return perr(fp->err, fp->file, en->line, "empty value for \"%s\"", key);
	if (en->key != K_ADVICE && (fp->seen & (1u << en->key)))
		return perr(fp->err, fp->file, en->line,
			    "duplicate key \"%s\" in rule \"%s\" (only advice may repeat)", key, r->id);
	fp->seen |= 1u << en->key;
	switch (en->key) {
	case K_WHEN:
		rc = md_expr_parse(value, fp->file, &en->map, en->line, &r->expr, fp->err);
		if (rc == MD_OK)
			rc = set_str(fp, &r->when, value);
		else
			name_rule(fp->err, fp->file, r->id);
		break;
	case K_SEVERITY:
		if (strcmp(value, "info") == 0)
			r->severity = MD_SEV_INFO;
		else if (strcmp(value, "warning") == 0)
			r->severity = MD_SEV_WARNING;
		else if (strcmp(value, "critical") == 0)
			r->severity = MD_SEV_CRITICAL;
		else
			rc = perr(fp->err, fp->file, en->line,
				  "bad severity \"%s\" (expected info, warning or critical)", value);
		break;
	case K_TITLE:
		rc = set_str(fp, &r->title, value);
		break;
	case K_CAUSE:
		rc = set_str(fp, &r->cause, value);
		break;
	case K_SOURCE:
		rc = set_str(fp, &r->source, value);
		break;
	case K_EVIDENCE:
		rc = split_list(fp, value, en->line, "fact name", md_fact_name_valid,
				"dotted lower-case fact names such as ssh.tcp", &r->evidence,
				&r->n_evidence);
		break;
	case K_ADVICE:
		rc = push_str(fp, &r->advice, &r->n_advice, value);
		break;
	case K_REMEDY:
		/* A name of an action in remedies/, never a command: rule files hold no shell. */
		if (!md_rule_id_valid(value))
			rc = perr(fp->err, fp->file, en->line,
				  "bad remedy name \"%s\" (expected the name of an action in remedies/: lower-case letters, digits and '-', e.g. start-sshd)",
				  value);
		else
			rc = set_str(fp, &r->remedy, value);
		break;
	case K_SUPERSEDES:
		rc = split_list(fp, value, en->line, "rule id", md_rule_id_valid,
				"rule ids of lower-case letters, digits and '-'", &r->supersedes,
				&r->n_supersedes);
		fp->cur->supersedes_line = en->line;
		for (size_t i = 0; rc == MD_OK && i < r->n_supersedes; i++)
			if (strcmp(r->supersedes[i], r->id) == 0)
				rc = perr(fp->err, fp->file, en->line, "rule \"%s\" supersedes itself",
					  r->id);
		break;
	case K_COUNT:
		break;
	}
	return rc;
}

static int finish_rule(struct file_parser *fp)
{
	struct md_rule *r;
	unsigned missing;

	if (!fp->cur)
		return MD_OK;
	r = &fp->cur->pub;
	missing = REQUIRED_KEYS & ~fp->seen;
	fp->cur = NULL;
	for (int k = 0; k < K_COUNT; k++)
		if (missing & (1u << k))
			return perr(fp->err, fp->file, r->line,
				    "rule \"%s\" has no \"%s\" (required: when, severity, cause, source)",
				    r->id, key_names[k]);
	if (!r->title)
		return set_str(fp, &r->title, r->id);
	return MD_OK;
}

static int start_rule(struct file_parser *fp, char *line, int lineno)
{
	char *p = line + 1, *id, *end;
	struct md_rule_ext *x;
	struct md_rule **v;

	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, "rule", 4) != 0 || (p[4] != ' ' && p[4] != '\t'))
		return perr(fp->err, fp->file, lineno, "expected a stanza header [rule ID], got \"%.60s\"",
			    line);
	p = trim(p + 4);
	end = strchr(p, ']');
	if (!end || end[1] != '\0')
		return perr(fp->err, fp->file, lineno,
			    "expected a stanza header [rule ID] ending with ']', got \"%.60s\"", line);
	*end = '\0';
	id = trim(p);
	if (!md_rule_id_valid(id))
		return perr(fp->err, fp->file, lineno,
			    "bad rule id \"%.60s\" (expected lower-case letters, digits and '-')", id);
	{
		long dup = md_rule_index_find(&fp->ids, fp->rules, id);

		if (dup >= 0)
			return perr(fp->err, fp->file, lineno,
				    "duplicate rule id \"%s\" (already defined at %s:%d)", id,
				    fp->rules[dup]->file, fp->rules[dup]->line);
	}
	v = md_grow(fp->rules, &fp->cap, fp->n, sizeof(*v), 16);
	if (!v)
		return fp_oom(fp);
	fp->rules = v;
	x = calloc(1, sizeof(*x));
	if (!x)
		return fp_oom(fp);
	v[fp->n++] = &x->pub;
	x->pub.line = lineno;
	x->pub.severity = MD_SEV_INFO;
	x->pub.id = strdup(id);
	x->pub.file = strdup(fp->file);
	if (!x->pub.id || !x->pub.file)
		return fp_oom(fp);
	if (md_rule_index_add(&fp->ids, fp->rules, fp->n - 1) != MD_OK)
		return fp_oom(fp);
	fp->cur = x;
	fp->seen = 0;
	return MD_OK;
}

static int start_entry(struct file_parser *fp, char *line, int lineno)
{
	char *eq = strchr(line, '='), *key, *value;
	int k;

	if (!eq)
		return perr(fp->err, fp->file, lineno, "expected KEY = VALUE or [rule ID], got \"%.60s\"",
			    line);
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	if (!*key || key[strspn(key, "abcdefghijklmnopqrstuvwxyz_")] != '\0')
		return perr(fp->err, fp->file, lineno, "expected KEY = VALUE or [rule ID], got \"%.60s=%.20s\"",
			    key, value);
	for (k = 0; k < K_COUNT; k++)
		if (strcmp(key, key_names[k]) == 0)
			break;
	if (k == K_COUNT)
		return perr(fp->err, fp->file, lineno, "unknown key \"%.40s\" (expected one of: " KEYS_LIST ")",
			    key);
	if (!fp->cur)
		return perr(fp->err, fp->file, lineno,
			    "\"%s\" outside a rule (start a stanza with [rule ID] first)", key);
	entry_reset(&fp->ent);
	fp->ent.active = true;
	fp->ent.key = (enum key_id)k;
	fp->ent.line = lineno;
	if (md_buf_puts(&fp->ent.val, value) != MD_OK || map_add(&fp->ent.map, 0, lineno) != MD_OK)
		return fp_oom(fp);
	return MD_OK;
}

static int continue_entry(struct file_parser *fp, char *line, int lineno)
{
	struct entry *en = &fp->ent;
	char *text = trim(line);

	if (!en->active)
		return perr(fp->err, fp->file, lineno,
			    "continuation line (it starts with white space) without a KEY = VALUE line before it");
	if (en->val.len && md_buf_puts(&en->val, " ") != MD_OK)
		return fp_oom(fp);
	if (map_add(&en->map, en->val.len, lineno) != MD_OK || md_buf_puts(&en->val, text) != MD_OK)
		return fp_oom(fp);
	return MD_OK;
}

/* Cuts a comment: '#' at the start of the line or after white space, outside a "string". */
static void strip_comment(char *line)
{
	bool quoted = false;

	for (char *p = line; *p; p++) {
		if (quoted) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				quoted = false;
		} else if (*p == '"') {
			quoted = true;
		} else if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	}
}

static int parse_line(struct file_parser *fp, char *line, int lineno)
{
	int rc;

	strip_comment(line);
	if (!*trim(line))
		return MD_OK; /* blank or comment: does not end a continued value */
	if (line[0] == ' ' || line[0] == '\t')
		return continue_entry(fp, line, lineno);
	rc = finish_entry(fp);
	if (rc)
		return rc;
	if (line[0] == '[') {
		rc = finish_rule(fp);
		return rc ? rc : start_rule(fp, trim(line), lineno);
	}
	return start_entry(fp, line, lineno);
}

int md_rules_parse(const char *file, const char *text, struct md_rule ***out, size_t *n_out,
		   struct md_err *err)
{
	struct file_parser fp = { .file = file, .err = err };
	const char *p = text;
	int lineno = 0, rc = MD_OK;

	*out = NULL;
	*n_out = 0;
	md_buf_init(&fp.ent.val, 0);
	while (rc == MD_OK && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = strndup(p, len);

		lineno++;
		if (!line) {
			rc = fp_oom(&fp);
			break;
		}
		if (len && line[len - 1] == '\r')
			line[len - 1] = '\0';
		rc = parse_line(&fp, line, lineno);
		free(line);
		p = nl ? nl + 1 : p + len;
	}
	if (rc == MD_OK)
		rc = finish_entry(&fp);
	if (rc == MD_OK)
		rc = finish_rule(&fp);
	md_buf_cleanup(&fp.ent.val);
	md_rule_index_cleanup(&fp.ids);
	free(fp.ent.map.off);
	free(fp.ent.map.line);
	if (rc != MD_OK) {
		for (size_t i = 0; i < fp.n; i++)
			md_rule_free(fp.rules[i]);
		free(fp.rules);
		return rc;
	}
	*out = fp.rules;
	*n_out = fp.n;
	return MD_OK;
}
