/* fuzz_ssh_banner — what a server sends first (core/ssh_banner.c): the lines before its
 * identification scanned as ssh_banner_peek() scans them, then the "SSH-" line parsed
 * (RFC 4253 §4.2). */
#include "core/err.h"
#include "core/ssh_banner.h"
#include "core/ssh_wire.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t skip = 0, line_len = 0;
	bool other = false;
	char line[SSH_BANNER_LINE_MAX + 1], esc[256];
	struct ssh_banner b;
	char *text;

	if (ssh_banner_scan((const char *)data, size, &skip, &line_len, &other) == SSH_SCAN_BANNER) {
		ssh_copy_span(line, sizeof(line), (const char *)data + skip, line_len);
		if (ssh_banner_parse(line, &b) == MD_OK)
			(void)ssh_openssh_at_least(&b, 8, 8);
		ssh_escape(data, skip, esc, sizeof(esc));
	}
	/* Also the whole input as one line (libssh2's banner, as the probe reads it back). */
	text = fuzz_text(data, size);
	if (text && ssh_banner_parse(text, &b) == MD_OK)
		(void)ssh_openssh_at_least(&b, 9, 0);
	free(text);
	return 0;
}
