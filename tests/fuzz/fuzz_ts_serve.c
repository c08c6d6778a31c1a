/* fuzz_ts_serve — `tailscale serve status --json` from a host (probes/ts_parse.c): the
 * serve configuration and the check of its Proxy before it goes into a command. */
#include "probes/tailscale.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_text(data, size), url[600];
	struct md_ts_serve sv;
	bool insecure;

	if (!s)
		return 0;
	if (md_ts_parse_serve(s, &sv, NULL) == MD_OK && sv.proxy[0])
		(void)md_ts_backend_url(sv.proxy, url, sizeof(url), &insecure);
	(void)md_ts_backend_url(s, url, sizeof(url), &insecure);
	free(s);
	return 0;
}
