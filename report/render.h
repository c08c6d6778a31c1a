/* render.h — small readers over the report's JSON tree, shared by text.c and markdown.c. */
#ifndef MD_RENDER_H
#define MD_RENDER_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* The member's string, or NULL when absent / not a string.  Borrowed from the tree. */
const char *md_j_str(const cJSON *o, const char *key);
/* The member's number, or def. */
double md_j_num(const cJSON *o, const char *key, double def);
/* A fact or cited value as text into buf ("refused", "22", "true", "null"); "?" when
 * absent or not a string, number, boolean or null. */
const char *md_j_value_text(const cJSON *v, char *buf, size_t len);
/* How many probes did not complete (status "error"), as the verdict line counts them. */
int md_j_failed_probes(const cJSON *doc);
/* What a masked secret is shown as. */
#define MD_J_MASK "********"
/* Whether fact (an element of probes[].facts) is a secret whose value the report masks;
 * its evidence is then shown masked too (a report may come from a meshdoctor that
 * masked only the value). */
bool md_j_fact_masked(const cJSON *fact);
/* Whether the fact named name is such a secret anywhere in doc (for cited evidence). */
bool md_j_secret_masked(const cJSON *doc, const char *name);
/* s, or "?" for a member that is missing (a hand-made or damaged report). */
const char *md_j_or_q(const char *s);

#endif
