/* fuzz_ts_prefs — `tailscale debug prefs` from a host (probes/ts_parse.c): ControlURL and
 * the control-server heuristic on it. */
#include "probes/tailscale.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_text(data, size), url[256], why[1024];

	if (!s)
		return 0;
	if (md_ts_parse_prefs_control(s, url, sizeof(url), NULL) == MD_OK)
		(void)md_ts_control_kind(url, NULL, why, sizeof(why));
	free(s);
	return 0;
}
