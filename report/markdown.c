/* markdown.c — the report as Markdown, to paste into a bug ticket. */
#include "report/render.h"
#include "report/report.h"

#include <string.h>

/* Table cells: a '|' or a newline in a value would break the table. */
static int cell(struct md_buf *out, const char *s)
{
	int rc = 0;

	for (const char *p = s ? s : ""; *p; p++) {
		if (*p == '|')
			rc |= md_buf_puts(out, "\\|");
		else if (*p == '\n' || *p == '\r')
			rc |= md_buf_puts(out, " ");
		else
			rc |= md_buf_append(out, p, 1);
	}
	return rc;
}

static int code(struct md_buf *out, const char *s)
{
	int rc = md_buf_puts(out, "`");

	/* Backticks inside inline code would end it; swap them for a lookalike quote. */
	for (const char *p = s ? s : ""; *p; p++)
		rc |= *p == '`' ? md_buf_puts(out, "'") : *p == '\n' ? md_buf_puts(out, " ")
								   : md_buf_append(out, p, 1);
	return rc | md_buf_puts(out, "`");
}

int md_report_markdown(const cJSON *doc, struct md_buf *out)
{
	const cJSON *target = cJSON_GetObjectItemCaseSensitive(doc, "target");
	const cJSON *verdict = cJSON_GetObjectItemCaseSensitive(doc, "verdict");
	const cJSON *tool = cJSON_GetObjectItemCaseSensitive(doc, "tool");
	const cJSON *f, *p, *x, *e, *a;
	char val[512];
	int rc = 0;

	rc |= md_buf_printf(out, "## meshdoctor check `%s`: %s\n\n",
			    md_j_str(target, "spec") ? md_j_str(target, "spec") : "?",
			    md_j_str(verdict, "status") ? md_j_str(verdict, "status") : "?");
	rc |= md_buf_printf(out, "- Target: %s@%s port %.0f\n", md_j_str(target, "user") ?: "?",
			    md_j_str(target, "hostname") ?: "?", md_j_num(target, "port", 0));
	rc |= md_buf_printf(out, "- When: %s (%.0f ms)\n", md_j_str(doc, "generated_at") ?: "?",
			    md_j_num(doc, "duration_ms", 0));
	rc |= md_buf_printf(out, "- meshdoctor %s, exit code %.0f\n\n",
			    md_j_str(tool, "version") ?: "?", md_j_num(verdict, "exit_code", 3));
	rc |= md_buf_puts(out, "### Findings\n\n");
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "findings")) == 0)
		rc |= md_buf_puts(out, "No problem found.\n\n");
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(doc, "findings")) {
		int n = 1;

		rc |= md_buf_printf(out, "#### %s: %s (`%s`)\n\n", md_j_or_q(md_j_str(f, "severity")),
				    md_j_or_q(md_j_str(f, "title") ?: md_j_str(f, "rule")),
				    md_j_or_q(md_j_str(f, "rule")));
		rc |= md_buf_printf(out, "**Cause.** %s\n\n**Evidence.**\n\n",
				    md_j_or_q(md_j_str(f, "cause")));
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(f, "evidence")) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "value");

			rc |= md_buf_printf(out, "- `%s` = ", md_j_or_q(md_j_str(e, "fact")));
			if (cJSON_IsNull(v))
				rc |= md_buf_puts(out, "(not observed)");
			else
				rc |= code(out, md_j_value_text(v, val, sizeof(val)));
			if (md_j_str(e, "evidence")) {
				rc |= md_buf_puts(out, ": ");
				rc |= code(out, md_j_str(e, "evidence"));
			}
			rc |= md_buf_puts(out, "\n");
		}
		rc |= md_buf_puts(out, "\n**What to do.**\n\n");
		cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(f, "advice"))
			rc |= md_buf_printf(out, "%d. %s\n", n++, cJSON_IsString(a) ? a->valuestring : "?");
		if (md_j_str(f, "remedy"))
			rc |= md_buf_printf(out, "\nRemedy action: `%s`.\n",
					    md_j_str(f, "remedy"));
		rc |= md_buf_printf(out, "\nSource: `%s`\n\n", md_j_or_q(md_j_str(f, "source")));
	}
	rc |= md_buf_puts(out, "### Observations\n\n| probe | fact | value | evidence |\n|---|---|---|---|\n");
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(doc, "probes")) {
		const char *status = md_j_str(p, "status");

		if (status && strcmp(status, "ok") != 0) {
			rc |= md_buf_printf(out, "| %s | (%s) | | ", md_j_or_q(md_j_str(p, "name")), status);
			rc |= cell(out, md_j_str(p, "message"));
			rc |= md_buf_puts(out, " |\n");
		}
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(p, "facts")) {
			md_j_value_text(cJSON_GetObjectItemCaseSensitive(x, "value"), val, sizeof(val));
			rc |= md_buf_printf(out, "| %s | `%s` | ", md_j_or_q(md_j_str(p, "name")),
					    md_j_or_q(md_j_str(x, "name")));
			rc |= cell(out, val);
			rc |= md_buf_puts(out, " | ");
			rc |= cell(out, md_j_str(x, "evidence"));
			rc |= md_buf_puts(out, " |\n");
		}
	}
	return rc ? MD_ENOMEM : MD_OK;
}
