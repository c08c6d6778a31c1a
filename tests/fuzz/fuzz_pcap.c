/* fuzz_pcap — a capture file given with --pcap (probes/wireguard.c wg_read_pcap()): the
 * pcap or pcapng container read by libpcap, each frame through the WireGuard and disco
 * decoder, then the summary facts recorded.  (fuzz_wg_frames feeds the decoder frames
 * directly, for each link type.) */
#include "probes/wireguard.h"
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("capture", MFD_CLOEXEC), dlt = -1;
	char path[64];
	struct wg_analyser *a;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 5000);
	struct md_err err = { 0 };
	struct md_facts f;
	uint64_t frames = 0;

	if (fd < 0)
		return 0;
	a = wg_analyser_new();
	if (a && write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		wg_analyser_add_port(a, 51820);
		wg_analyser_add_port(a, 41641);
		if (wg_read_pcap(a, path, &dl, &frames, &dlt, &err) != MD_EINVAL) {
			md_facts_init(&f);
			wg_analyser_record(a, &f, "pcap:fuzz", 1.0);
			md_facts_cleanup(&f);
		}
	}
	wg_analyser_free(a);
	close(fd);
	return 0;
}
