/* cmd_probes.c — `meshdoctor probes`: every probe and the facts it can record. */
#include "cli/cli.h"
#include "probes/probe.h"

#include <stdio.h>
#include <string.h>

static const struct cli_option options[] = {
	CLI_OPTION_HELP("options"),
	{ 0 },
};

static int probes_main(int argc, char **argv)
{
	int rc = cli_parse(&cmd_probes, argc, argv, NULL);

	if (rc != CLI_GO_ON)
		return rc;
	if (optind < argc) {
		cli_error("probes takes no arguments (try: meshdoctor probes --help)");
		return MD_EXIT_USAGE;
	}
	for (size_t i = 0; i < md_n_probes; i++) {
		const struct md_probe *p = md_probes[i];

		printf("%s%s — %s\n", i ? "\n" : "", p->name, p->desc);
		if (p->needs & MD_NEEDS_SESSION)
			printf("  needs: an SSH session (from the ssh probe)\n");
		printf("  facts:\n");
		for (const char *const *f = p->provides; f && *f; f++)
			printf("    %s\n", *f);
	}
	return MD_EXIT_OK;
}

const struct cli_command cmd_probes = {
	.name = "probes",
	.main = probes_main,
	.summary = "List the probes and the facts each one can record",
	.description = "Lists the probes in the order `check` runs them,\n"
		       "with the facts each one can record ('*' stands for one name part).",
	.options = options,
};
