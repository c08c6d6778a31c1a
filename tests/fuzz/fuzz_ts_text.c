/* fuzz_ts_text — the Tailscale CLI's other output from a host (probes/ts_state.c):
 * `tailscale version`, the version-skew warning, the daemon-unreachable messages,
 * `tailscale netcheck --format=json` and RFC 3339 times, and the facts they become. */
#include "core/text.h"
#include "probes/ts_state.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_text(data, size), a[96], b[96], line[600];
	struct md_ts_version v;
	struct md_ts_netcheck n;
	struct md_facts f;
	bool found;
	int64_t t;

	if (!s)
		return 0;
	md_facts_init(&f);
	if (md_ts_parse_version(s, &v, NULL) == MD_OK)
		md_ts_record_version(&f, "tailscale version", &v, s, "1.86.2-tb1a9c3e4f-gd8c7b6a5e");
	(void)md_ts_skew_warning(s, a, sizeof(a), b, sizeof(b));
	(void)md_ts_daemon_error(s, line, sizeof(line));
	md_ts_record_daemon(&f, "tailscale status --json", s, &found);
	if (md_ts_parse_netcheck(s, &n, NULL) == MD_OK)
		md_ts_record_netcheck(&f, "tailscale netcheck --format=json", &n);
	(void)md_parse_rfc3339(s, &t);
	(void)md_ts_versions_differ(s, "1.86.2-t");
	(void)md_ts_name_under(s, "mesh.internal");
	md_facts_cleanup(&f);
	free(s);
	return 0;
}
