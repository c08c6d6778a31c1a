/* fuzz_listeners — the listener tables a host prints (probes/port.c): `ss -ltnup`,
 * macOS `netstat -an`, the PowerShell listing, /proc/net as the proc-cat command prints
 * it.  The first byte picks the parser; the rest is the text. */
#include "probes/port.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct md_listeners l;
	struct md_err err = { 0 };
	char order[96], *text;
	bool big;

	if (size < 1 || !(text = fuzz_text(data + 1, size - 1)))
		return 0;
	md_listeners_init(&l);
	switch (data[0] % 4) {
	case 0:
		md_port_parse_ss(text, &l, &err);
		break;
	case 1:
		md_port_parse_netstat_darwin(text, &l, &err);
		break;
	case 2:
		md_port_parse_windows(text, &l, &err);
		md_port_output_complete(text);
		break;
	default:
		md_port_parse_proc_cat(text, &l, &big, order, sizeof(order), &err);
		break;
	}
	free(md_listeners_json(&l));
	md_listeners_cleanup(&l);
	free(text);
	return 0;
}
