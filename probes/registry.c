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

extern const struct md_probe probe_ssh, probe_host, probe_tailscale;
extern const struct md_probe probe_port, probe_tls;
extern const struct md_probe probe_dns, probe_headscale, probe_wireguard, probe_windows;

const struct md_probe *const md_probes[] = {
	&probe_ssh, &probe_host, &probe_tailscale,
	&probe_port, &probe_tls, &probe_dns,
	&probe_headscale, &probe_wireguard, &probe_windows,
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

int md_probe_index(const char *name)
{
	for (size_t i = 0; i < md_n_probes; i++)
		if (strcmp(md_probes[i]->name, name) == 0)
			return (int)i;
	return -1;
}

static long index_in(const struct md_probe *const *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i]->name, name) == 0)
			return (long)i;
	return -1;
}

/* Whether v[from] waits for v[to] (.after or .reads), directly or through others; depth
 * bounds a cycle. */
static bool reaches(const struct md_probe *const *v, size_t n, size_t from, size_t to, size_t depth)
{
	const char *const *lists[2] = { v[from]->after, v[from]->reads };

	if (depth > n)
		return true; /* longer than any path without a cycle */
	for (int l = 0; l < 2; l++)
		for (const char *const *a = lists[l]; a && *a; a++) {
			long k = index_in(v, n, *a);

			if (k < 0)
				continue;
			if ((size_t)k == to || reaches(v, n, (size_t)k, to, depth + 1))
				return true;
		}
	return false;
}

int md_probes_check(const struct md_probe *const *v, size_t n, struct md_err *err)
{
	long opener = -1;

	for (size_t i = 0; i < n; i++)
		if (v[i]->needs & MD_OPENS_SESSION) {
			if (opener >= 0)
				return md_err_set(err, MD_EINVAL, "registry", "probes %s and %s both open the session",
						  v[opener]->name, v[i]->name);
			opener = (long)i;
		}
	for (size_t i = 0; i < n; i++) {
		const char *const *lists[3] = { v[i]->after, v[i]->reads, v[i]->brings };

		if (index_in(v, n, v[i]->name) != (long)i)
			return md_err_set(err, MD_EINVAL, "registry", "probe %s is listed twice", v[i]->name);
		for (int l = 0; l < 3; l++)
			for (const char *const *a = lists[l]; a && *a; a++) {
				long k = index_in(v, n, *a);

				if (k < 0)
					return md_err_set(err, MD_EINVAL, "registry", "probe %s names an unknown probe '%s'",
							  v[i]->name, *a);
				if (l < 2 && reaches(v, n, (size_t)k, i, 0))
					return md_err_set(err, MD_EINVAL, "registry",
							  "probes %s and %s wait for each other (a cycle)",
							  v[i]->name, *a);
				if (l < 2 && k > (long)i)
					return md_err_set(err, MD_EINVAL, "registry",
							  "probe %s waits for %s but is listed before it",
							  v[i]->name, *a);
			}
		if ((v[i]->needs & (MD_NEEDS_SESSION | MD_USES_SESSION)) && opener > (long)i)
			return md_err_set(err, MD_EINVAL, "registry",
					  "probe %s uses the session but is listed before %s, which opens it",
					  v[i]->name, v[opener]->name);
	}
	return MD_OK;
}
