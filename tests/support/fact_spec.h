/* fact_spec.h — facts and findings for rule tests, written compactly:
 * "name=value;name=value": "quoted" is a string, true/false a bool, an integer an int,
 * anything else a string. */
#ifndef MD_TESTS_FACT_SPEC_H
#define MD_TESTS_FACT_SPEC_H

#include "core/facts.h"
#include "rules/engine.h"

/* Records each fact of spec under probe; -1 on a malformed spec (an item without '=')
 * or when a fact cannot be recorded. */
int test_put_facts(struct md_facts *f, const char *probe, const char *spec);

/* Index of the finding of rule id in ev, -1 when it did not fire. */
int test_finding_index(const struct md_evaluation *ev, const char *id);

/* One rule file evaluated over facts: the rule set, the facts and the result together. */
struct test_eval {
	struct md_ruleset rs;
	struct md_facts facts;
	struct md_evaluation ev;
	struct md_err err;
};

/* Empties t and loads rules_file: 0, or -1 with the reason in t->err.msg.  Whatever it
 * returns, test_eval_cleanup(t) frees what t holds. */
int test_eval_load(struct test_eval *t, const char *rules_file);
/* Evaluates the rules over t->facts (secrets masked): 0, or -1. */
int test_eval_run(struct test_eval *t);
/* test_eval_load, the facts of spec recorded under probe, test_eval_run. */
int test_eval_spec(struct test_eval *t, const char *rules_file, const char *probe,
		   const char *spec);
void test_eval_cleanup(struct test_eval *t);

#endif
