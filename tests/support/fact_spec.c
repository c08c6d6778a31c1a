#include "tests/support/fact_spec.h"

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
