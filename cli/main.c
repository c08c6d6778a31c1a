/* main.c — the subcommand table.  --help, the man page and the completion are generated
 * from it and from each command's option table (options.h), so none of them can drift. */
#include "cli/cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static void print_version(void)
{
	printf("meshdoctor %s (report schema meshdoctor/report/v1)\n", MD_VERSION);
}

static int set_version(const struct cli_option *o, void *dst, const char *arg)
{
	(void)o;
	(void)dst;
	(void)arg;
	print_version();
	return CLI_DONE;
}

static const struct cli_option help_only[] = {
	CLI_OPTION_HELP("options"),
	{ 0 },
};

static int version_main(int argc, char **argv)
{
	int rc = cli_parse(&cmd_version, argc, argv, NULL);

	/* Operands are ignored, as `meshdoctor --version ARGS` does. */
	if (rc != CLI_GO_ON)
		return rc;
	print_version();
	return MD_EXIT_OK;
}

const struct cli_command cmd_version = {
	.name = "version",
	.main = version_main,
	.summary = "Print the version",
	.description = "Prints meshdoctor's version and the schema of the reports it writes.",
	.options = help_only,
};

static const struct cli_command *const commands[] = {
	&cmd_check, &cmd_fix, &cmd_prepare, &cmd_provision, &cmd_probes, &cmd_rules, &cmd_report, &cmd_version, &cmd_completion, &cmd_man,
	NULL,
};

/* Only as the first argument: `meshdoctor check --help` is check's own. */
static const struct cli_option root_options[] = {
	{ .name = "help", .short_name = 'h', .help = "list the commands and the exit codes (also: "
	  "`meshdoctor help`)", .group = "options", .set = cli_set_help },
	{ .name = "version", .help = "print the version, as `meshdoctor version` does",
	  .group = "options", .set = set_version },
	{ 0 },
};

const struct cli_command cli_root = {
	.name = "meshdoctor",
	.summary = "diagnose self-hosted Tailscale/Headscale WireGuard meshes",
	.synopsis = "COMMAND [ARGS]",
	.description = "Diagnoses self-hosted Tailscale/Headscale WireGuard meshes.",
	.options = root_options,
	.commands = commands,
	.exit_codes = true,
};

int main(int argc, char **argv)
{
	const struct cli_option *o;

	/* A peer closing a pipe must be an error return, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		cli_help(stderr, &cli_root);
		return MD_EXIT_USAGE;
	}
	o = cli_option_find(cli_root.options, argv[1]);
	if (o || strcmp(argv[1], "help") == 0) {
		if (!o || o->set(o, NULL, NULL) == CLI_HELP)
			cli_help(stdout, &cli_root);
		return MD_EXIT_OK;
	}
	for (const struct cli_command *const *c = commands; *c; c++)
		if (strcmp(argv[1], (*c)->name) == 0)
			return (*c)->main(argc - 1, argv + 1);
	cli_error("unknown command '%s' (try: meshdoctor --help)", argv[1]);
	return MD_EXIT_USAGE;
}
