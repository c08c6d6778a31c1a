/* fuzz_hostbatch — cutting a host batch's output apart (core/hostbatch.c): what a host's
 * stdout and stderr say, split at the input's first NUL, for a batch of three sections
 * framed by a fixed nonce. */
#include "core/hostbatch.h"
#include "tests/fuzz/fuzz.h"

#define NONCE "0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t out_len = nul ? (size_t)(nul - data) : size;
	struct md_err err = { 0 };
	struct md_hostbatch *b = md_hostbatch_new(&err);
	static const char *const ids[] = { "host.uname", "port.ss", "x" };

	if (!b)
		return 0;
	for (size_t i = 0; i < 3; i++)
		md_hostbatch_add(b, ids[i], "true", 5, &err);
	md_hostbatch_parse(b, NONCE, (const char *)data, out_len,
			   nul ? (const char *)nul + 1 : "", nul ? size - out_len - 1 : 0, "lost");
	md_hostbatch_free(b);
	return 0;
}
