/* expr.h — the parsed form of a rule's condition (private to rules/).
 *
 * A condition is a tree of md_expr nodes.  Leaves test one fact: a comparison through an
 * operator from the table in rules/ops.c (`ssh.tcp == "refused"`, `x in ("a", "b")`,
 * `x ~ "re"`), a bare name (`ssh.sudo`: truthy), exists(NAME) or missing(NAME).
 * Everything is validated when the rule is loaded (operands, regular expressions), so
 * evaluation never meets a syntax error. */
#ifndef MD_RULES_EXPR_H
#define MD_RULES_EXPR_H

#include "core/facts.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Three-valued (Kleene) logic: a comparison on a fact that was not recorded is unknown. */
enum md_tv { MD_TV_FALSE = 0, MD_TV_TRUE = 1, MD_TV_UNKNOWN = 2 };

enum md_lit_type { MD_LIT_STR, MD_LIT_INT, MD_LIT_REAL, MD_LIT_BOOL };

struct md_lit {
	enum md_lit_type type;
	char *str;    /* MD_LIT_STR: the unescaped text */
	int64_t num;  /* MD_LIT_INT; MD_LIT_BOOL as 0/1 */
	double real;  /* MD_LIT_REAL, and MD_LIT_INT converted */
	char *text;   /* as written in the rule file (for traces) */
};

enum md_expr_kind {
	MD_EX_AND,
	MD_EX_OR,
	MD_EX_NOT,
	MD_EX_CMP,     /* fact OP literal(s): op != NULL */
	MD_EX_TRUTHY,  /* bare fact name */
	MD_EX_EXISTS,  /* exists(fact) */
	MD_EX_MISSING, /* missing(fact) */
};

struct md_op;

struct md_expr {
	enum md_expr_kind kind;
	bool paren;               /* written inside parentheses (kept for the trace) */
	struct md_expr *a, *b;    /* AND/OR: both; NOT: a */
	char *fact;               /* leaves */
	const struct md_op *op;   /* MD_EX_CMP */
	struct md_lit *lits;      /* MD_EX_CMP: one literal, or the list of `in (...)` */
	size_t n_lits;
	void *op_data;            /* owned by op (e.g. the compiled regex), freed by op->free */
};

/* One entry of the operator table (rules/ops.c).
 *  parse: checks the literal(s) already stored in e and prepares op_data; on a mistake
 *         writes one line into msg and returns false.
 *  eval:  the fact is present (missing facts are handled by the caller); never fails.
 *  free:  releases op_data (may be NULL when there is nothing to release). */
struct md_op {
	const char *name;
	bool list;                /* takes `( LIT, LIT, ... )` instead of one literal */
	bool (*parse)(struct md_expr *e, char *msg, size_t len);
	bool (*eval)(const struct md_expr *e, const struct md_fact *fact);
	void (*free)(struct md_expr *e);
};

/* The operator named name ("==", "~", "contains", "in"), or NULL. */
const struct md_op *md_op_find(const char *name);
/* Names of every operator, NULL-terminated (for messages and docs). */
extern const char *const md_op_names[];

/* Reads a numeric literal (-?[0-9]+(.[0-9]+)?) into l's type, num and real; false if s
 * is not one. */
bool md_parse_number_literal(const char *s, struct md_lit *l);

void md_expr_free(struct md_expr *e);
void md_lit_cleanup(struct md_lit *l);

/* Text of a fact's value as a comparison sees it: the real value, secrets included.
 * Owned by the caller; NULL when out of memory. */
char *md_fact_text(const struct md_fact *fact, bool show_secrets);

#endif
