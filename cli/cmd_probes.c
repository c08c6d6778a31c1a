/* cmd_probes.c — `meshdoctor probes`: every probe and the facts it can record. */
#include "cli/cli.h"
#include "probes/probe.h"

#include <stdio.h>
#include <string.h>

int cmd_probes_main(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: meshdoctor probes\n\nLists the probes in the order `check` runs them,\n"
		       "with the facts each one can record ('*' stands for one name part).\n");
		return MD_EXIT_OK;
	}
	if (argc > 1) {
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
