/* fuzz_ts_status — `tailscale status --json` from a host (probes/ts_parse.c,
 * probes/ts_state.c): the status with its peers, the node's state, the facts the state
 * becomes and the peers table. */
#include "probes/tailscale.h"
#include "probes/ts_state.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_text(data, size);
	struct md_ts_status st;
	struct md_ts_peers peers;
	struct md_ts_state state;
	struct md_facts f;
	char *table;

	if (!s)
		return 0;
	if (md_ts_parse_status_peers(s, &st, &peers, NULL) == MD_OK) {
		for (size_t i = 0; i < peers.n; i++)
			(void)md_ts_peer_path(&peers.v[i]);
		md_ts_peers_free(&peers);
	}
	if (md_ts_peers_table(s, &table, NULL) == MD_OK)
		free(table);
	if (md_ts_parse_state(s, &state, NULL) == MD_OK) {
		md_facts_init(&f);
		md_ts_record_state(&f, "tailscale status --json", &state, 1788220800, "box.mesh.internal");
		md_facts_cleanup(&f);
	}
	free(s);
	return 0;
}
