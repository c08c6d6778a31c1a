/* fuzz_ssh_g — what `ssh -G` prints (core/target.c): "key value" lines applied to a
 * target. */
#include "core/target.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	struct md_target t = { 0 };
	struct md_err err = { 0 };

	if (!text)
		return 0;
	if (md_target_parse("root@h1.example", &t, &err) == MD_OK)
		md_target_apply_ssh_g(&t, text, "/root");
	md_target_cleanup(&t);
	free(text);
	return 0;
}
