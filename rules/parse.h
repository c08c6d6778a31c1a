/* parse.h — reading rule files and conditions (private to rules/; docs/rules.md is the
 * user's description of the syntax).
 *
 * Every mistake is reported as MD_EPARSE with err->msg "FILE:LINE: message" (one line),
 * and a text with a mistake yields no rules at all. */
#ifndef MD_RULES_PARSE_H
#define MD_RULES_PARSE_H

#include "core/err.h"
#include "rules/engine.h"
#include "rules/expr.h"

#include <stddef.h>

/* What the parser knows about a rule beyond struct md_rule.  Rules are allocated as this
 * struct (pub first), so a struct md_rule * from a ruleset can be cast back to it. */
struct md_rule_ext {
	struct md_rule pub;
	int supersedes_line; /* line of the `supersedes =` key, for load-time checks */
};

/* Maps byte offsets of a (possibly continued) value back to the lines they came from:
 * segment i starts at value offset off[i] and was read from line line[i]. */
struct md_srcmap {
	size_t *off;
	int *line;
	size_t n, cap;
};

/* Parses a condition.  file and map (may be NULL: line is then map_line) locate errors.
 * *out is the owned tree, NULL on failure. */
int md_expr_parse(const char *text, const char *file, const struct md_srcmap *map,
		  int map_line, struct md_expr **out, struct md_err *err);

/* Parses the text of one rule file.  *out receives an owned array of *n_out owned rules
 * (free each with md_rule_free, then the array), in file order.  Ids are checked for
 * duplicates within this text only; the caller checks them against other files and
 * resolves `supersedes`. */
int md_rules_parse(const char *file, const char *text, struct md_rule ***out, size_t *n_out,
		   struct md_err *err);

void md_rule_free(struct md_rule *r);

/* Rule ids -> positions in an array of rules, so that duplicate ids and `supersedes`
 * targets are found in O(1) each rather than by a scan of every rule (20,000 rules took
 * seconds).  Open addressing over a power-of-two table; a slot holds position + 1 (0 =
 * empty).  The index refers to the array it was built from by position: pass the same
 * array (the pointer may have moved by realloc) to every call. */
struct md_rule_index {
	size_t *slot;
	size_t cap; /* 0, or a power of two at least twice the entries */
	size_t n;
};

void md_rule_index_init(struct md_rule_index *ix);
void md_rule_index_cleanup(struct md_rule_index *ix);
/* Indexes v[0..n) (the first of equal ids wins).  When ix's table has room for n already
 * (rules were taken out of the array or moved in it), it is refilled in place: no
 * allocation, MD_OK.  Otherwise MD_OK or MD_ENOMEM (ix left empty). */
int md_rule_index_build(struct md_rule_index *ix, struct md_rule *const *v, size_t n);
/* Adds v[i], growing the table from v[0..i] when needed.  MD_OK or MD_ENOMEM. */
int md_rule_index_add(struct md_rule_index *ix, struct md_rule *const *v, size_t i);
/* Position of the rule with this id in v, or -1. */
long md_rule_index_find(const struct md_rule_index *ix, struct md_rule *const *v,
			const char *id);

/* [a-z0-9-]+: rule ids, remedy names and supersedes entries. */
bool md_rule_id_valid(const char *s);

#endif
