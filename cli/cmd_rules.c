/* cmd_rules.c — `meshdoctor rules [--rules DIR]` and `meshdoctor rules explain ID`. */
#include "cli/cli.h"
#include "probes/probe.h"
#include "remedies/remedy.h"

#include <stdio.h>
#include <string.h>

/* ---- output --------------------------------------------------------------------
 *
 * Rule files may come from anyone (--rules DIR): their text is shown with control and
 * bidirectional characters as \xNN (md_escape_buf), so it cannot drive the terminal. */

/* s made safe for a terminal, then padded with spaces to width bytes. */
static void put_pad(const char *s, size_t width)
{
	struct md_buf b;

	md_buf_init(&b, 0);
	if (md_escape_buf(&b, s ? s : "") != MD_OK) {
		md_buf_cleanup(&b);
		md_buf_init(&b, 0);
		md_buf_puts(&b, "(out of memory)");
	}
	fputs(md_buf_str(&b), stdout);
	for (size_t n = b.len; n < width; n++)
		putchar(' ');
	md_buf_cleanup(&b);
}

static void put(const char *s)
{
	put_pad(s, 0);
}

/* "  label s\n", s made safe. */
static void line(const char *label, const char *s)
{
	printf("  %s ", label);
	put(s);
	putchar('\n');
}

static void explain(const struct md_rule *r)
{
	const char *facts[64];
	size_t n = md_rule_facts(r, facts, 64);

	put(r->id);
	fputs(" — ", stdout);
	put(r->title ? r->title : "(no title)");
	fputs("\n  defined:    ", stdout);
	put(r->file);
	printf(":%d\n", r->line);
	printf("  severity:   %s\n", md_severity_name(r->severity));
	line("when:      ", r->when);
	line("cause:     ", r->cause);
	for (size_t i = 0; i < r->n_evidence; i++)
		line(i ? "           " : "evidence:  ", r->evidence[i]);
	for (size_t i = 0; i < r->n_advice; i++) {
		printf("  %s %zu. ", i ? "           " : "advice:    ", i + 1);
		put(r->advice[i]);
		putchar('\n');
	}
	if (!r->remedy) {
		line("remedy:    ", "(none)");
	} else {
		const struct md_remedy *m = md_remedy_find(r->remedy);

		fputs("  remedy:     ", stdout);
		put(r->remedy);
		if (m) {
			fputs(" (meshdoctor applies it: ", stdout);
			put(m->summary);
			fputs(")\n", stdout);
		} else {
			fputs(" (advice only: meshdoctor does not apply it yet)\n", stdout);
		}
	}
	line("source:    ", r->source);
	for (size_t i = 0; i < r->n_supersedes; i++)
		line(i ? "           " : "supersedes:", r->supersedes[i]);
	printf("  facts it needs:\n");
	for (size_t i = 0; i < n; i++) {
		const struct md_probe *p = md_probe_for_fact(facts[i]);

		fputs("    ", stdout);
		put_pad(facts[i], 32);
		printf(" %s%s\n", p ? "from probe " : "", p ? p->name : "(no probe records it yet)");
	}
}

static const struct cli_option options[] = {
	{ "rules", 0, "DIR", "load rule files from DIR instead of the installed rules", NULL,
	  "options", CO_DIR, cli_set_string, 0 },
	CLI_OPTION_HELP("options"),
	{ 0 },
};

static int rules_main(int argc, char **argv)
{
	struct md_ruleset rs;
	const char *dir_opt = NULL, *dir = NULL;
	size_t applied = 0, advice = 0;
	int rc = cli_parse(&cmd_rules, argc, argv, &dir_opt);

	if (rc != CLI_GO_ON)
		return rc;
	rc = MD_EXIT_USAGE;
	md_ruleset_init(&rs);
	if (optind < argc && strcmp(argv[optind], "check") == 0) {
		if (optind + 2 != argc) {
			cli_error("rules check needs one DIR");
			return MD_EXIT_USAGE;
		}
		if (cli_load_rules(argv[optind + 1], &rs, &dir))
			goto out;
		put(dir);
		printf(": %zu rules in %zu files, no mistakes\n", rs.n, rs.n_files);
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
	printf("%zu rules from ", rs.n);
	put(dir);
	fputs("\n\n", stdout);
	for (size_t i = 0; i < rs.n; i++) {
		const struct md_rule *r = rs.v[i];
		const char *base = strrchr(r->file, '/');

		fputs("  ", stdout);
		put_pad(r->id, 34);
		printf(" %-8s ", md_severity_name(r->severity));
		put(base ? base + 1 : r->file);
		printf(":%d  ", r->line);
		put(r->source);
		if (r->remedy && md_remedy_find(r->remedy)) {
			fputs("  [remedy applied by meshdoctor: ", stdout);
			put(r->remedy);
			putchar(']');
			applied++;
		} else if (r->remedy) {
			advice++;
		}
		putchar('\n');
	}
	printf("\nrules whose remedy meshdoctor applies (marked): %zu; whose remedy is advice "
	       "only: %zu (`meshdoctor rules explain ID` says more)\n", applied, advice);
	rc = MD_EXIT_OK;
out:
	md_ruleset_cleanup(&rs);
	return rc;
}

static const struct cli_word words[] = {
	{ "explain", CO_NONE },
	{ "check", CO_DIR },
	{ 0 },
};

const struct cli_command cmd_rules = {
	.name = "rules",
	.main = rules_main,
	.summary = "List the loaded rules; `rules explain ID` shows one in full",
	.synopsis = "[--rules DIR]\nexplain ID [--rules DIR]\ncheck DIR",
	.description = "Lists the loaded rules (id, severity, where it is defined, its source document),\n"
		       "shows one rule in full with the facts it needs and the probe that records each,\n"
		       "or checks rule files for mistakes (exit 64 with FILE:LINE: message).",
	.options = options,
	.operands = CO_WORDS,
	.words = words,
	.usage_on_bad_option = true,
};
