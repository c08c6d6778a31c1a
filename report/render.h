/* render.h — small readers over the report's JSON tree, shared by text.c and markdown.c. */
#ifndef MD_RENDER_H
#define MD_RENDER_H

#include "core/buf.h"
#include "core/facts.h"

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
/* Appends the member's number with printf format fmt (one double), times scale; "?" when
 * absent or not a number.  MD_OK or MD_ENOMEM/MD_ETOOBIG. */
int md_j_put_num(struct md_buf *out, const cJSON *o, const char *key, const char *fmt,
		 double scale);
/* How many probes did not complete (status "error"), as the verdict line counts them. */
int md_j_failed_probes(const cJSON *doc);
/* What fact x of doc shows, x being an element of probes[].facts or a fact a finding cites
 * (findings[].evidence): its value as text into val (md_j_value_text) and, in *ev, its
 * evidence (borrowed from the tree, or NULL).  When x is a secret whose value the report
 * masks (MD_SECRET_MASK or none), or cites one, both are MD_SECRET_MASK: a report may come
 * from a meshdoctor that masked only the value.  Returns val. */
const char *md_j_fact_shown(const cJSON *doc, const cJSON *x, char *val, size_t len,
			    const char **ev);
/* s, or "?" for a member that is missing (a hand-made or damaged report). */
const char *md_j_or_q(const char *s);

#endif
