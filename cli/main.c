/* main.c — the subcommand table; --help is printed from it, so it cannot drift. */
#include "cli/cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} cmds[] = {
	{ "check", cmd_check_main, "Diagnose HOST: run the probes, apply the rules, show findings and evidence" },
	{ "probes", cmd_probes_main, "List the probes and the facts each one can record" },
	{ "rules", cmd_rules_main, "List the loaded rules; `rules explain ID` shows one in full" },
	{ "report", cmd_report_main, "Render a saved JSON report as text or Markdown" },
	{ "version", cmd_version_main, "Print the version" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: meshdoctor COMMAND [ARGS]\n\n"
		   "Diagnoses self-hosted Tailscale/Headscale WireGuard meshes.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-9s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\n`meshdoctor COMMAND --help` describes a command's options.\n"
		   "\nexit codes:\n"
		   "  0   OK: no problem found\n"
		   "  1   WARNING: warnings only\n"
		   "  2   CRITICAL: at least one critical finding\n"
		   "  3   UNKNOWN: a probe could not complete, so meshdoctor could not tell\n"
		   "  64  usage or input error (bad option, malformed target, broken rule file)\n");
}

int main(int argc, char **argv)
{
	/* A peer closing a pipe must be an error return, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return MD_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return MD_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version_main(argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	cli_error("unknown command '%s' (try: meshdoctor --help)", argv[1]);
	return MD_EXIT_USAGE;
}

int cmd_version_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("meshdoctor %s (report schema meshdoctor/report/v1)\n", MD_VERSION);
	return MD_EXIT_OK;
}
