/* fuzz_report — a saved JSON report (report/json.c), as `meshdoctor report FILE` reads
 * it, then rendered as text and as Markdown. */
#include "report/report.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	struct md_err err = { 0 };
	cJSON *doc = NULL;

	if (!text)
		return 0;
	if (md_report_parse(text, &doc, &err) == MD_OK) {
		struct md_text_opts o = { .verbose = true };
		struct md_buf buf;

		md_buf_init(&buf, 0);
		md_report_text(doc, &o, &buf);
		md_buf_reset(&buf);
		md_report_markdown(doc, &buf);
		md_buf_cleanup(&buf);
		cJSON_Delete(doc);
	}
	free(text);
	return 0;
}
