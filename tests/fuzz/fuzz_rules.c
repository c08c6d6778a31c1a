/* fuzz_rules — a rule file (rules/parse.c, rules/ops.c): parsing and regex compilation,
 * then evaluation against an empty fact store. */
#include "rules/engine.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	struct md_ruleset rs;
	struct md_err err = { 0 };

	if (!text)
		return 0;
	md_ruleset_init(&rs);
	if (md_rules_load_string(&rs, "fuzz.rules", text, &err) == MD_OK) {
		struct md_facts f;
		struct md_evaluation ev = { 0 };

		md_facts_init(&f);
		md_rules_evaluate(&rs, &f, false, &ev);
		md_evaluation_cleanup(&ev);
		md_facts_cleanup(&f);
	}
	md_ruleset_cleanup(&rs);
	free(text);
	return 0;
}
