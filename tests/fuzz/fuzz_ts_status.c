/* fuzz_ts_status — `tailscale status --json` from a host (probes/ts_parse.c): the status
 * with its peers and the path to each. */
#include "probes/tailscale.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_text(data, size), why[1024];
	struct md_ts_status st;
	struct md_ts_peers peers;

	if (!s)
		return 0;
	if (md_ts_parse_status_peers(s, &st, &peers, NULL) == MD_OK) {
		for (size_t i = 0; i < peers.n; i++)
			(void)md_ts_peer_path(&peers.v[i]);
		md_ts_peers_free(&peers);
		(void)md_ts_control_kind(NULL, &st, why, sizeof(why));
	}
	free(s);
	return 0;
}
