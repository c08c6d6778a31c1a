/* cmd_rules.c — `meshdoctor rules [--rules DIR]` and `meshdoctor rules explain ID`. */
#include "cli/cli.h"
#include "probes/probe.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: meshdoctor rules [--rules DIR]\n"
		   "       meshdoctor rules explain ID [--rules DIR]\n"
		   "       meshdoctor rules check DIR\n\n"
		   "Lists the loaded rules (id, severity, where it is defined, its source document),\n"
		   "shows one rule in full with the facts it needs and the probe that records each,\n"
		   "or checks rule files for mistakes (exit 64 with FILE:LINE: message).\n");
}

static void explain(const struct md_rule *r)
{
	const char *facts[64];
	size_t n = md_rule_facts(r, facts, 64);

	printf("%s — %s\n", r->id, r->title ? r->title : "(no title)");
	printf("  defined:    %s:%d\n", r->file, r->line);
	printf("  severity:   %s\n", md_severity_name(r->severity));
	printf("  when:       %s\n", r->when);
	printf("  cause:      %s\n", r->cause);
	for (size_t i = 0; i < r->n_evidence; i++)
		printf("  %s %s\n", i ? "           " : "evidence:  ", r->evidence[i]);
	for (size_t i = 0; i < r->n_advice; i++)
		printf("  %s %zu. %s\n", i ? "           " : "advice:    ", i + 1, r->advice[i]);
	printf("  remedy:     %s\n", r->remedy ? r->remedy : "(none)");
	printf("  source:     %s\n", r->source);
	for (size_t i = 0; i < r->n_supersedes; i++)
		printf("  %s %s\n", i ? "           " : "supersedes:", r->supersedes[i]);
	printf("  facts it needs:\n");
	for (size_t i = 0; i < n; i++) {
		const struct md_probe *p = md_probe_for_fact(facts[i]);

		printf("    %-32s %s%s\n", facts[i], p ? "from probe " : "",
		       p ? p->name : "(no probe records it yet)");
	}
}

int cmd_rules_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct md_ruleset rs;
	const char *dir_opt = NULL, *dir = NULL;
	int c, rc = MD_EXIT_USAGE;

	md_ruleset_init(&rs);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'r') {
			dir_opt = optarg;
		} else if (c == 'h') {
			usage(stdout);
			return MD_EXIT_OK;
		} else {
			usage(stderr);
			return MD_EXIT_USAGE;
		}
	}
	if (optind < argc && strcmp(argv[optind], "check") == 0) {
		if (optind + 2 != argc) {
			cli_error("rules check needs one DIR");
			return MD_EXIT_USAGE;
		}
		if (cli_load_rules(argv[optind + 1], &rs, &dir))
			goto out;
		printf("%s: %zu rules in %zu files, no mistakes\n", dir, rs.n, rs.n_files);
		rc = MD_EXIT_OK;
		goto out;
	}
	if (cli_load_rules(dir_opt, &rs, &dir))
		goto out;
	if (optind < argc && strcmp(argv[optind], "explain") == 0) {
		const struct md_rule *r;

		if (optind + 2 != argc) {
			cli_error("rules explain needs one rule ID (see: meshdoctor rules)");
			goto out;
		}
		r = md_rules_find(&rs, argv[optind + 1]);
		if (!r) {
			cli_error("no rule '%s' in %s (see: meshdoctor rules)", argv[optind + 1], dir);
			goto out;
		}
		explain(r);
		rc = MD_EXIT_OK;
		goto out;
	}
	if (optind < argc) {
		cli_error("unknown rules command '%s' (try: meshdoctor rules --help)", argv[optind]);
		goto out;
	}
	printf("%zu rules from %s\n\n", rs.n, dir);
	for (size_t i = 0; i < rs.n; i++) {
		const struct md_rule *r = rs.v[i];
		const char *base = strrchr(r->file, '/');

		printf("  %-34s %-8s %s:%d  %s\n", r->id, md_severity_name(r->severity),
		       base ? base + 1 : r->file, r->line, r->source);
	}
	rc = MD_EXIT_OK;
out:
	md_ruleset_cleanup(&rs);
	return rc;
}
