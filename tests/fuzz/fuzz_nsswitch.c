/* fuzz_nsswitch — nsswitch.conf text (probes/dns_parse.c): the hosts: line. */
#include "probes/dns.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	struct md_dns_nss n;

	if (!text)
		return 0;
	md_dns_parse_nsswitch(text, &n);
	if (strlen(n.line) >= sizeof(n.line) || (n.mdns && !n.mdns_source[0]))
		abort();
	free(text);
	return 0;
}
