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

#endif
