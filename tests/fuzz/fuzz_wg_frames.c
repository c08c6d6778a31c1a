/* fuzz_wg_frames — captured frames through the WireGuard and disco decoder
 * (probes/wg_decode.c): the first byte picks the link type, then frames of
 * [2-byte big-endian length][bytes], then the summary facts are recorded.  (Reading the
 * pcap/pcapng container itself is libpcap's.) */
#include "probes/wireguard.h"
#include "tests/fuzz/fuzz.h"

#include <pcap/dlt.h>

static const int links[] = { DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW, 101,
			     DLT_IPV4, DLT_IPV6, DLT_NULL, DLT_LOOP };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_analyser *a = wg_analyser_new();
	struct md_facts f;
	int dlt;
	int64_t ts = 1700000000000000LL;

	if (!a || size < 1) {
		wg_analyser_free(a);
		return 0;
	}
	dlt = links[data[0] % (sizeof(links) / sizeof(links[0]))];
	wg_analyser_add_port(a, 51820);
	wg_analyser_add_port(a, 41641);
	for (size_t i = 1; i + 2 <= size;) {
		size_t n = (size_t)data[i] << 8 | data[i + 1];

		i += 2;
		if (n > size - i)
			n = size - i;
		wg_analyser_frame(a, dlt, ts, data + i, (uint32_t)n, (uint32_t)n);
		ts += 1000 * (int64_t)(n % 97);
		i += n;
	}
	md_facts_init(&f);
	wg_analyser_record(a, &f, "pcap:fuzz", 1.0);
	md_facts_cleanup(&f);
	wg_analyser_free(a);
	return 0;
}
