/* fuzz_windows_sections — the Windows probe's framed script output (probes/windows_parse.c):
 * whatever the host printed, parsed with the nonce the corpus uses, then recorded as facts
 * (probes/windows.c md_win_record), as the probe does with a real answer. */
#include "core/facts.h"
#include "probes/windows.h"
#include "tests/fuzz/fuzz.h"

#define NONCE "0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct md_win_state s;
	struct md_facts f;

	md_win_state_init(&s);
	md_win_parse((const char *)data, size, NONCE, &s);
	md_facts_init(&f);
	if (s.framed)
		md_win_record(&f, &s);
	md_facts_cleanup(&f);
	return 0;
}
