/* cmd_report.c — `meshdoctor report FILE`: render a saved JSON report. */
#include "cli/cli.h"
#include "report/report.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_REPORT_BYTES (64u * 1024 * 1024)

struct report_args {
	bool markdown, verbose;
};

static const struct cli_option options[] = {
	{ "markdown", 0, NULL, "render as Markdown, for a bug ticket", NULL, "options", CO_NONE,
	  cli_set_true, offsetof(struct report_args, markdown) },
	{ "text", 0, NULL, "render as text (the default)", NULL, "options", CO_NONE, cli_set_false,
	  offsetof(struct report_args, markdown) },
	{ "verbose", 'v', NULL, "evidence for every observation, every fact, the rules' path",
	  NULL, "options", CO_NONE, cli_set_true, offsetof(struct report_args, verbose) },
	CLI_OPTION_HELP("options"),
	{ 0 },
};

static int report_main(int argc, char **argv)
{
	struct report_args a = { 0 };
	struct md_buf in, out;
	struct md_err err = { 0 };
	cJSON *doc = NULL;
	int rc = cli_parse(&cmd_report, argc, argv, &a);

	if (rc != CLI_GO_ON)
		return rc;
	rc = MD_EXIT_USAGE;
	if (optind != argc - 1) {
		cli_error("report needs one FILE (try --help)");
		return MD_EXIT_USAGE;
	}
	md_buf_init(&in, MAX_REPORT_BYTES);
	md_buf_init(&out, 0);
	if (cli_read_file(argv[optind], &in, "a report"))
		goto out;
	if (md_report_parse(md_buf_str(&in), &doc, &err)) {
		cli_error("%s: %s", argv[optind], err.msg);
		goto out;
	}
	if (a.markdown) {
		if (md_report_markdown(doc, &out)) {
			cli_error("out of memory rendering %s", argv[optind]);
			rc = MD_EXIT_UNKNOWN;
			goto out;
		}
	} else {
		struct md_text_opts to = { .color = cli_use_color(STDOUT_FILENO), .verbose = a.verbose };

		if (md_report_text(doc, &to, &out)) {
			cli_error("out of memory rendering %s", argv[optind]);
			rc = MD_EXIT_UNKNOWN;
			goto out;
		}
	}
	rc = cli_write_output("-", &out) ? MD_EXIT_UNKNOWN : MD_EXIT_OK;
out:
	cJSON_Delete(doc);
	md_buf_cleanup(&in);
	md_buf_cleanup(&out);
	return rc;
}

const struct cli_command cmd_report = {
	.name = "report",
	.main = report_main,
	.summary = "Render a saved JSON report as text or Markdown",
	.synopsis = "[--markdown | --text] [-v] FILE",
	.description = "Renders a report written by `meshdoctor check --json FILE` as text (default) or\n"
		       "Markdown for a bug ticket.  FILE '-' reads standard input.",
	.options = options,
	.operands = CO_FILE,
	.usage_on_bad_option = true,
};
