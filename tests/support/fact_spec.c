#include "tests/support/fact_spec.h"
#include "probes/probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int put_one(struct md_facts *f, const char *probe, char *item)
{
	char *eq = strchr(item, '=');
	char *v, *end;
	size_t n;
	long long i;

	if (!eq)
		return -1;
	*eq = '\0';
	v = eq + 1;
	n = strlen(v);
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v[n - 1] = '\0';
		return md_fact_str(f, probe, item, v + 1, "test") == MD_OK ? 0 : -1;
	}
	if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
		return md_fact_bool(f, probe, item, v[0] == 't', "test") == MD_OK ? 0 : -1;
	i = strtoll(v, &end, 10);
	if (*v && *end == '\0')
		return md_fact_int(f, probe, item, i, "test") == MD_OK ? 0 : -1;
	return md_fact_str(f, probe, item, v, "test") == MD_OK ? 0 : -1;
}

int test_put_facts(struct md_facts *f, const char *probe, const char *spec)
{
	char *copy = strdup(spec), *save = NULL;
	int rc = copy ? 0 : -1;

	for (char *it = copy ? strtok_r(copy, ";", &save) : NULL; it && rc == 0;
	     it = strtok_r(NULL, ";", &save))
		rc = put_one(f, probe, it);
	free(copy);
	return rc;
}

int test_finding_index(const struct md_evaluation *ev, const char *id)
{
	for (size_t i = 0; i < ev->n_findings; i++)
		if (strcmp(ev->findings[i].rule->id, id) == 0)
			return (int)i;
	return -1;
}

int test_eval_load(struct test_eval *t, const char *rules_file)
{
	memset(t, 0, sizeof(*t));
	md_ruleset_init(&t->rs);
	/* The real probes' names for missing facts, as `check` has them. */
	t->rs.fact_owner = md_probe_fact_owner;
	md_facts_init(&t->facts);
	return md_rules_load_file(&t->rs, rules_file, &t->err) == MD_OK ? 0 : -1;
}

int test_eval_run(struct test_eval *t)
{
	md_evaluation_cleanup(&t->ev);
	if (md_rules_evaluate(&t->rs, &t->facts, false, &t->ev) != MD_OK) {
		snprintf(t->err.msg, sizeof(t->err.msg), "evaluation failed");
		return -1;
	}
	return 0;
}

int test_eval_spec(struct test_eval *t, const char *rules_file, const char *probe,
		   const char *spec)
{
	if (test_eval_load(t, rules_file) != 0)
		return -1;
	if (test_put_facts(&t->facts, probe, spec) != 0) {
		snprintf(t->err.msg, sizeof(t->err.msg), "bad fact spec: %s", spec);
		return -1;
	}
	return test_eval_run(t);
}

void test_eval_cleanup(struct test_eval *t)
{
	md_evaluation_cleanup(&t->ev);
	md_facts_cleanup(&t->facts);
	md_ruleset_cleanup(&t->rs);
}
