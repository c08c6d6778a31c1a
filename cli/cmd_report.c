/* cmd_report.c — `meshdoctor report FILE`: render a saved JSON report. */
#include "cli/cli.h"
#include "report/report.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_REPORT_BYTES (64u * 1024 * 1024)

static void usage(FILE *f)
{
	fprintf(f, "usage: meshdoctor report [--markdown | --text] [-v] FILE\n\n"
		   "Renders a report written by `meshdoctor check --json FILE` as text (default) or\n"
		   "Markdown for a bug ticket.  FILE '-' reads standard input.\n");
}

static int slurp(const char *path, struct md_buf *b)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char chunk[65536];
	size_t n;

	if (!f) {
		cli_error("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (md_buf_append(b, chunk, n)) {
			cli_error("%s: larger than %u MiB, not a report", path, MAX_REPORT_BYTES >> 20);
			if (f != stdin)
				fclose(f);
			return -1;
		}
	if (ferror(f)) {
		cli_error("cannot read %s: %s", path, strerror(errno));
		if (f != stdin)
			fclose(f);
		return -1;
	}
	if (f != stdin)
		fclose(f);
	return 0;
}

int cmd_report_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "markdown", no_argument, NULL, 'm' },
		{ "text", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct md_buf in, out;
	struct md_err err = { 0 };
	bool markdown = false, verbose = false;
	cJSON *doc = NULL;
	int c, rc = MD_EXIT_USAGE;

	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': markdown = true; break;
		case 't': markdown = false; break;
		case 'v': verbose = true; break;
		case 'h': usage(stdout); return MD_EXIT_OK;
		default: usage(stderr); return MD_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_error("report needs one FILE (try --help)");
		return MD_EXIT_USAGE;
	}
	md_buf_init(&in, MAX_REPORT_BYTES);
	md_buf_init(&out, 0);
	if (slurp(argv[optind], &in))
		goto out;
	if (md_report_parse(md_buf_str(&in), &doc, &err)) {
		cli_error("%s: %s", argv[optind], err.msg);
		goto out;
	}
	if (markdown) {
		if (md_report_markdown(doc, &out)) {
			cli_error("out of memory rendering %s", argv[optind]);
			rc = MD_EXIT_UNKNOWN;
			goto out;
		}
	} else {
		struct md_text_opts to = { .color = cli_use_color(STDOUT_FILENO), .verbose = verbose };

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
