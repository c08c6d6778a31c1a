/* fuzz_ts_prefs — `tailscale debug prefs` from a host (probes/ts_parse.c,
 * probes/ts_state.c): ControlURL, the prefs' flags, the control-server comparison. */
#include "probes/tailscale.h"
#include "probes/ts_state.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_text(data, size), url[256], why[1024];
	struct md_ts_prefs p;
	struct md_facts f;

	if (!s)
		return 0;
	if (md_ts_parse_prefs_control(s, url, sizeof(url), NULL) == MD_OK)
		(void)md_ts_control_kind(url, NULL, why, sizeof(why));
	if (md_ts_parse_prefs(s, &p, NULL) == MD_OK) {
		md_facts_init(&f);
		md_ts_record_prefs(&f, "tailscale debug prefs", &p, "http://sfspark1.local:8080");
		md_facts_cleanup(&f);
	}
	/* The URL comparison on the raw text as well: any ControlURL a host may print. */
	(void)md_ts_same_control(s, "http://sfspark1.local:8080");
	free(s);
	return 0;
}
