/* engine.h — the rule engine: decision trees as data files, evaluated over facts.
 *
 * Rule files (`*.rules`, see docs/rules.md) are loaded at run time from a directory, so
 * adding a rule needs no recompile.  Each rule is one leaf of a documented decision tree:
 * a condition over facts, the cause it concludes, the facts it cites as evidence, what to
 * do, the remedy action's name and the source document.
 *
 * Conditions use three-valued logic: a comparison on a fact that was not recorded is
 * "unknown", and a rule whose condition is unknown is "undecided"; the evaluation says
 * which facts were missing and which probe would record them.  The engine keeps the path
 * it took (every rule, its result and the trace of its condition). */
#ifndef MD_ENGINE_H
#define MD_ENGINE_H

#include "core/err.h"
#include "core/facts.h"

#include <stdbool.h>
#include <stddef.h>

enum md_severity {
	MD_SEV_INFO = 0,
	MD_SEV_WARNING = 1,
	MD_SEV_CRITICAL = 2,
};

struct md_expr; /* parsed condition, private to rules/ */

struct md_rule {
	char *id;          /* [rule ID]: lower-case, digits, '-' */
	char *file;        /* where it was loaded from */
	int line;          /* line of its [rule ...] header */
	char *when;        /* the condition as written */
	struct md_expr *expr;
	enum md_severity severity;
	char *title;       /* short name of the problem ("SSH connection refused") */
	char *cause;       /* one sentence; {fact.name} is replaced by the fact's value */
	char **evidence;   /* fact names to cite */
	size_t n_evidence;
	char **advice;     /* what to do, one step each; {fact.name} interpolated */
	size_t n_advice;
	char *remedy;      /* name of an action in remedies/, or NULL */
	char *source;      /* document it comes from (seeds/...) */
	char **supersedes; /* ids of less specific rules this one replaces when both fire */
	size_t n_supersedes;
};

struct md_rule_index; /* rule ids -> positions in v, private to rules/ (rules/parse.h) */

struct md_ruleset {
	struct md_rule **v;
	size_t n;
	char **files;      /* files loaded, in order */
	size_t n_files;
	struct md_rule_index *ids; /* ids of v[0..n), kept as rules are loaded; NULL before */
	/* The name of the probe that would record a fact that is missing, for the
	 * evaluation's "missing" lists, its traces and the findings' evidence; NULL (or a
	 * NULL answer): "no probe records it".  Set by whoever runs the probes (run/), so
	 * rules/ knows nothing of them.  The answer must live as long as the ruleset. */
	const char *(*fact_owner)(const char *fact);
};

void md_ruleset_init(struct md_ruleset *rs);
void md_ruleset_cleanup(struct md_ruleset *rs);

/* Loads every *.rules file in dir (sorted by name).  On a mistake: MD_EPARSE with
 * err->msg "FILE:LINE: message" and nothing from that file kept.  Duplicate ids across
 * files are rejected the same way. */
int md_rules_load_dir(struct md_ruleset *rs, const char *dir, struct md_err *err);
int md_rules_load_file(struct md_ruleset *rs, const char *path, struct md_err *err);
/* Same, from a string; name is used in messages. */
int md_rules_load_string(struct md_ruleset *rs, const char *name, const char *text,
			 struct md_err *err);

/* The rule with this id, through the set's id index; NULL if none.  Borrowed from rs. */
const struct md_rule *md_rules_find(const struct md_ruleset *rs, const char *id);
/* Every fact name a rule's condition mentions (borrowed from the rule), for `rules explain`. */
size_t md_rule_facts(const struct md_rule *r, const char **out, size_t max);

enum md_rule_result {
	MD_RULE_FIRED,      /* condition true: a finding */
	MD_RULE_NOT,        /* condition false */
	MD_RULE_UNDECIDED,  /* condition unknown: facts missing */
	MD_RULE_SUPERSEDED, /* fired, but a more specific rule that also fired replaces it */
};

struct md_cited {
	char *fact;
	char *value;     /* text of the value, secrets masked; NULL if the fact is missing */
	char *evidence;  /* the fact's evidence (may be NULL) */
	char *probe;
};

struct md_missing {
	char *fact;
	char *probe;     /* probe that would record it, NULL if none known */
};

struct md_finding {
	const struct md_rule *rule; /* borrowed from the ruleset */
	enum md_severity severity;
	char *cause;                /* interpolated */
	char **advice;              /* interpolated */
	size_t n_advice;
	struct md_cited *evidence;
	size_t n_evidence;
};

struct md_step {
	const struct md_rule *rule;
	enum md_rule_result result;
	char *trace;                /* e.g. `ssh.tcp == "refused" [ssh.tcp = "refused"] → true` */
	struct md_missing *missing;
	size_t n_missing;
	const char *superseded_by;  /* rule id, for MD_RULE_SUPERSEDED */
};

struct md_evaluation {
	struct md_finding *findings; /* sorted: severity, then specificity, then file order */
	size_t n_findings;
	struct md_step *path;        /* one per rule, in load order */
	size_t n_path;
};

int md_rules_evaluate(const struct md_ruleset *rs, const struct md_facts *f, bool show_secrets,
		      struct md_evaluation *out);
void md_evaluation_cleanup(struct md_evaluation *ev);

const char *md_severity_name(enum md_severity s);   /* "info", "warning", "critical" */
const char *md_rule_result_name(enum md_rule_result r); /* "fired", "not", "undecided", "superseded" */

#endif
