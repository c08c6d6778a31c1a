/* fuzz_headscale_json — what a Headscale host prints or serves (probes/headscale_parse.c):
 * `headscale nodes|preauthkeys|users list -o json` in every version's shape, the bodies
 * of /health, /version and /key, `headscale version`, and the CLI's error output. */
#include "core/text.h"
#include "probes/headscale.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	struct md_hs_node *nodes;
	struct md_hs_key *keys;
	struct md_hs_user *users;
	char out[128];
	size_t n;
	int a, b;
	int64_t t;

	if (!text)
		return 0;
	if (md_hs_parse_nodes(text, &nodes, &n, NULL) == MD_OK) {
		for (size_t i = 0; i < n; i++)
			if (nodes[i].n_ips < 0 || nodes[i].n_ips > MD_HS_IPS)
				abort();
		free(nodes);
	}
	if (md_hs_parse_keys(text, &keys, &n, NULL) == MD_OK) {
		for (size_t i = 0; i < n; i++)
			(void)md_hs_key_usable(&keys[i], 1796083200);
		free(keys);
	}
	if (md_hs_parse_users(text, &users, &n, NULL) == MD_OK)
		free(users);
	(void)md_hs_parse_health(text, out, sizeof(out));
	(void)md_hs_parse_version_body(text, out, sizeof(out));
	if (md_hs_parse_key_body(text, out, sizeof(out)) == MD_OK && strncmp(out, "mkey:", 5) != 0)
		abort();
	if (md_hs_parse_cli_version(text, out, sizeof(out), &a, &b) == MD_OK && (!out[0] || a < 0 || b < 0))
		abort();
	(void)md_parse_rfc3339(text, &t);
	md_hs_cli_error(text, out, sizeof(out));
	if (strchr(out, '\n'))
		abort();
	free(text);
	return 0;
}
