/* facts.h — the fact store: named observations with a typed value and their evidence.
 *
 * A fact is what a probe saw, never a verdict: `ssh.tcp = "refused"` with the evidence
 * `connect 10.0.0.2:22: Connection refused`.  "Could not tell" is recorded as a fact too
 * (`dns.status = "timeout"`).  The store copies everything it is given.  Setting a name
 * again replaces the earlier value (the later observation wins).
 *
 * Names are dotted and start with the probe's name (`ssh.banner`, `tls.alert`).
 * Secrets are a type of their own and are masked in every output unless asked for. */
#ifndef MD_FACTS_H
#define MD_FACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum md_fact_type {
	MD_FACT_STR,
	MD_FACT_INT,
	MD_FACT_REAL,
	MD_FACT_BOOL,
	MD_FACT_SECRET, /* a string that never appears in output unless asked */
};

/* What output shows instead of a secret's value, and of its evidence. */
#define MD_SECRET_MASK "********"

struct md_fact {
	char *name;
	enum md_fact_type type;
	char *str;       /* STR, SECRET */
	int64_t num;     /* INT; BOOL as 0/1 */
	double real;     /* REAL */
	char *evidence;  /* command, exact error text or packet summary; may be NULL */
	char *probe;     /* which probe recorded it */
	int64_t at_ms;   /* wall clock, ms since the epoch */
	/* Checklist line (optional): whether the observed step completed, as the probe saw
	 * it — not a diagnosis.  label == NULL: not a checklist item. */
	/* A checklist line: OK ✓, FAIL ✗, WARN !, SKIP - (not applicable here). */
	enum md_check { MD_CHECK_NONE, MD_CHECK_OK, MD_CHECK_FAIL, MD_CHECK_WARN, MD_CHECK_SKIP } check;
	char *label;     /* "TCP connect to 10.0.0.2:22" */
};

/* A table a probe keeps for the report (e.g. one row per WireGuard endpoint pair):
 * JSON text, an array of objects, as cJSON printed it.  The report parses it back and
 * embeds it; failing to parse it is taken for memory running out. */
struct md_table {
	char *probe;
	char *name;
	char *json;
};

struct md_facts {
	struct md_fact *v;
	size_t n, cap;
	struct md_table *tables;
	size_t n_tables, cap_tables;
};

void md_facts_init(struct md_facts *f);
void md_facts_cleanup(struct md_facts *f);

/* Each returns MD_OK or MD_ENOMEM / MD_EINVAL (bad name).  evidence may be NULL. */
int md_fact_str(struct md_facts *f, const char *probe, const char *name, const char *value,
		const char *evidence);
int md_fact_int(struct md_facts *f, const char *probe, const char *name, int64_t value,
		const char *evidence);
int md_fact_real(struct md_facts *f, const char *probe, const char *name, double value,
		 const char *evidence);
int md_fact_bool(struct md_facts *f, const char *probe, const char *name, bool value,
		 const char *evidence);
int md_fact_secret(struct md_facts *f, const char *probe, const char *name, const char *value,
		   const char *evidence);
/* printf-style evidence. */
int md_fact_strf(struct md_facts *f, const char *probe, const char *name, const char *value,
		 const char *evidence_fmt, ...) __attribute__((format(printf, 5, 6)));

/* md_fact_int / md_fact_bool with printf-style evidence. */
int md_fact_intf(struct md_facts *f, const char *probe, const char *name, int64_t value,
		 const char *evidence_fmt, ...) __attribute__((format(printf, 5, 6)));
int md_fact_boolf(struct md_facts *f, const char *probe, const char *name, bool value,
		  const char *evidence_fmt, ...) __attribute__((format(printf, 5, 6)));

/* Marks fact `name` (already recorded) as a checklist line: ✓ OK, ✗ FAIL, ! WARN. */
int md_fact_check(struct md_facts *f, const char *name, enum md_check check, const char *label);

/* Borrowed; valid until the store changes.  NULL when absent. */
const struct md_fact *md_facts_get(const struct md_facts *f, const char *name);
/* Convenience: the string value of a STR fact, else NULL. */
const char *md_facts_str(const struct md_facts *f, const char *name);

int md_facts_table(struct md_facts *f, const char *probe, const char *name, const char *json);

/* Copies into dst every fact and table of src that probe recorded, as they are (value,
 * evidence, time, checklist line); a name dst already has is replaced.  MD_OK or
 * MD_ENOMEM. */
int md_facts_copy_probe(struct md_facts *dst, const struct md_facts *src, const char *probe);

/* Writes the value as text into out ("refused", "3", "true", "1.50", "********"). */
void md_fact_value_text(const struct md_fact *fact, char *out, size_t len, bool show_secrets);
/* The evidence as output shows it: NULL when there is none; MD_SECRET_MASK for a secret
 * unless show_secrets, since a secret's evidence (the command or text it was read from)
 * holds the secret too; else the evidence.  Borrowed from fact, or static. */
const char *md_fact_evidence_text(const struct md_fact *fact, bool show_secrets);
const char *md_fact_type_name(enum md_fact_type t);
/* Valid fact name: [a-z0-9_] segments joined by dots, may contain '-' inside a segment. */
bool md_fact_name_valid(const char *name);
/* Glob over dotted names: '*' matches one segment, a trailing ".**" any rest. */
bool md_fact_pattern_match(const char *pattern, const char *name);

#endif
