/* fuzz_resolv_conf — resolv.conf text (probes/dns_parse.c): nameservers, search, manager. */
#include "probes/dns.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	struct md_dns_resolv r;

	if (!text)
		return 0;
	md_dns_parse_resolv(text, &r);
	if (r.n_ns > MD_DNS_MAXNS || strlen(r.search) >= sizeof(r.search))
		abort();
	free(text);
	return 0;
}
