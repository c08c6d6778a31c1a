/* fuzz_http_response — an HTTP/1.x response as a server sends it (core/http.c), parsed
 * both as still arriving and at the end of the connection; and the input as a URL. */
#include "core/http.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct md_http_response r;
	struct md_http_url u;
	char *text;
	bool more;

	md_http_response_init(&r);
	for (int eof = 0; eof < 2; eof++) {
		int rc = md_http_parse_response((const char *)data, size, eof, &r, &more, NULL);

		if (rc == MD_OK && !more && (!r.body || r.status < 100 || r.status > 999 || r.body_len > size))
			abort();
		if (rc != MD_OK && more)
			abort();
	}
	md_http_response_cleanup(&r);
	text = fuzz_text(data, size);
	if (text && md_http_parse_url(text, &u, NULL) == MD_OK && (!u.host[0] || u.port < 1 || u.port > 65535))
		abort();
	free(text);
	return 0;
}
