/* Every rule in rules/ must be made to fire by some test: this test fails when a rule id
 * appears, quoted, in no unit or lab test source (the tests that assert a finding by id). */
#include "rules/engine.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *sources;
static size_t sources_len;

static void add_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	cr_assert_not_null(d, "cannot open %s (run from the repository root)", dir);
	while ((e = readdir(d))) {
		char path[512];
		FILE *f;
		long n;

		if (!strstr(e->d_name, ".c") || strcmp(e->d_name, "test_rules_coverage.c") == 0 ||
		    strncmp(e->d_name, "test_rules_", 11) == 0)
			continue; /* the engine's own tests use made-up rules */
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "rb");
		if (!f)
			continue;
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		fseek(f, 0, SEEK_SET);
		sources = realloc(sources, sources_len + (size_t)n + 1);
		sources_len += fread(sources + sources_len, 1, (size_t)n, f);
		sources[sources_len] = '\0';
		fclose(f);
	}
	closedir(d);
}

Test(rules_coverage, every_rule_is_fired_by_a_test)
{
	struct md_ruleset rs;
	struct md_err err = { 0 };
	char missing[4096] = "";

	md_ruleset_init(&rs);
	cr_assert_eq(md_rules_load_dir(&rs, "rules", &err), MD_OK, "%s", err.msg);
	cr_assert_gt(rs.n, 0);
	add_dir("tests/unit");
	add_dir("tests/lab");
	for (size_t i = 0; i < rs.n; i++) {
		char quoted[128];

		snprintf(quoted, sizeof(quoted), "\"%s\"", rs.v[i]->id);
		if (!strstr(sources, quoted))
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), " %s",
				 rs.v[i]->id);
	}
	cr_assert_str_eq(missing, "", "rules no test fires:%s", missing);
	md_ruleset_cleanup(&rs);
	free(sources);
}
