/* registry.c — every probe meshdoctor knows, in the order `check` runs them.
 *
 * How to add a probe:
 *   1. write probes/NAME.c exporting `const struct md_probe probe_NAME` (everything else
 *      static), listing every fact it can record in .provides;
 *   2. add it below: the ssh probe stays first, because it opens the session the others use;
 *   3. add rules that use its facts under rules/, and tests under tests/unit and tests/lab.
 * Nothing else needs to change: `meshdoctor probes`, `--probes` and the engine's "which
 * probe would answer this fact" all read this table. */
#include "probes/probe.h"

#include <string.h>

extern const struct md_probe probe_ssh;
extern const struct md_probe probe_port, probe_tls;
extern const struct md_probe probe_wireguard;

const struct md_probe *const md_probes[] = {
	&probe_ssh,
	&probe_port, &probe_tls,
	&probe_wireguard,
};
const size_t md_n_probes = sizeof(md_probes) / sizeof(md_probes[0]);

const struct md_probe *md_probe_find(const char *name)
{
	for (size_t i = 0; i < md_n_probes; i++)
		if (strcmp(md_probes[i]->name, name) == 0)
			return md_probes[i];
	return NULL;
}

const struct md_probe *md_probe_for_fact(const char *name)
{
	for (size_t i = 0; i < md_n_probes; i++)
		for (const char *const *p = md_probes[i]->provides; p && *p; p++)
			if (md_fact_pattern_match(*p, name))
				return md_probes[i];
	return NULL;
}

const char *md_probe_fact_owner(const char *name)
{
	const struct md_probe *p = md_probe_for_fact(name);

	return p ? p->name : NULL;
}
