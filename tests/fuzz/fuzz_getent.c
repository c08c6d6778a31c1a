/* fuzz_getent — `getent hosts NAME` output from a host (probes/dns_parse.c), and the
 * login server's URL. */
#include "probes/dns.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	char out[64], host[64];
	int port;

	if (!text)
		return 0;
	if (md_dns_parse_getent(text, out, sizeof(out)) == 0 && out[0])
		abort();
	if (md_dns_url_host(text, host, sizeof(host), &port) == MD_OK && (!host[0] || port < 0 || port > 65535))
		abort();
	free(text);
	return 0;
}
