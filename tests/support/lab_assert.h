/* lab_assert.h — criterion assertions over a meshdoctor JSON report (struct lab_md_result),
 * shared by the lab tests.  Header-only: the support library itself does not link
 * criterion. */
#ifndef MD_TESTS_LAB_ASSERT_H
#define MD_TESTS_LAB_ASSERT_H

#include "tests/support/lab.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* A fact's value as text, or NULL; the last 8 answers stay valid. */
static inline const char *lab_fact(const struct lab_md_result *r, const char *name)
{
	static char buf[8][1024];
	static unsigned next;
	char *b = buf[next++ % 8];

	return lab_report_fact(r->report, name, b, sizeof(buf[0]));
}

static inline void lab_assert_fact(const struct lab_md_result *r, const char *name,
				   const char *want)
{
	const char *got = lab_fact(r, name);

	cr_assert(got, "fact %s missing\n%s", name, r->out);
	cr_assert_str_eq(got, want, "fact %s\n%s", name, r->out);
}

/* Exactly the findings ids (NULL-terminated), ids[0] the top one. */
static inline void lab_assert_findings(const struct lab_md_result *r, const char *const *ids)
{
	size_t n = 0;

	for (; ids[n]; n++)
		cr_assert(lab_report_has_finding(r->report, ids[n]), "finding %s missing\n%s",
			  ids[n], r->out);
	cr_assert_eq(lab_report_n_findings(r->report), n, "findings: want %zu\n%s", n, r->out);
	if (n)
		cr_assert_eq(lab_report_finding_index(r->report, ids[0]), 0, "%s not first\n%s",
			     ids[0], r->out);
}

static inline void lab_write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	cr_assert(fp, "%s", path);
	fputs(text, fp);
	fclose(fp);
	chmod(path, mode);
}

#endif
