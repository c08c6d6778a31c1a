/* Unit tests of the option tables (cli/options.h) and of what is generated from them:
 * the tables are consistent, getopt_long's table accepts every option, and --help names
 * every option, command and exit code.  cli/ is linked in (main() renamed, see Makefile)
 * so that the tests read the very tables the binary ($MD_BIN) parses with.  No network. */
#include "cli/cli.h"
#include "cli/options.h"
#include "core/proc.h"
#include "probes/probe.h"
#include "run/check.h"

#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ----------------------------------------------------------------- */

struct run {
	int code;
	char *out; /* malloc'd */
	char *err;
};

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

/* Runs argv (argv[0] found on PATH, or a path) with a 20 s deadline. */
static void run_argv(struct run *r, const char *const argv[])
{
	struct md_proc_result pr;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 20000);

	md_proc_result_init(&pr, 1 << 20);
	cr_assert_eq(md_proc_run(argv, NULL, 0, &dl, &pr, NULL), MD_OK, "ran %s", argv[0]);
	r->code = pr.exit_code;
	r->out = strdup(md_buf_str(&pr.out));
	r->err = strdup(md_buf_str(&pr.err));
	md_proc_result_cleanup(&pr);
}

/* Runs the meshdoctor binary with args (NULL-terminated). */
static void md(struct run *r, const char *const args[])
{
	const char *argv[16];
	const char *bin = getenv("MD_BIN");
	size_t n = 0;

	argv[n++] = bin && *bin ? bin : "./meshdoctor";
	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	run_argv(r, argv);
}

/* The root, then every subcommand, hidden ones included; NULL-terminated. */
static const struct cli_command *const *all_commands(void)
{
	static const struct cli_command *v[32];
	size_t n = 0;

	if (v[0])
		return v;
	v[n++] = &cli_root;
	for (const struct cli_command *const *c = cli_root.commands; *c; c++) {
		cr_assert_lt(n, sizeof(v) / sizeof(v[0]) - 1);
		v[n++] = *c;
	}
	v[n] = NULL;
	return v;
}

#define FOR_EACH_COMMAND(c) \
	for (const struct cli_command *const *c##_at = all_commands(), *c; (c = *c##_at); c##_at++)

static bool word_chars(const char *s, const char *allowed)
{
	return *s && strspn(s, allowed) == strlen(s);
}

/* ---- the tables -------------------------------------------------------------- */

static void assert_option_consistent(const struct cli_command *cmd, const struct cli_option *o)
{
	char text[2048];
	FILE *t;

	cr_assert(word_chars(o->name, "abcdefghijklmnopqrstuvwxyz0123456789-") && o->name[0] != '-',
		  "%s: option name '%s'", cmd->name, o->name);
	cr_assert(o->help && *o->help, "%s --%s has no help", cmd->name, o->name);
	cr_assert(!strchr(o->help, '\n'), "%s --%s: help is one paragraph", cmd->name, o->name);
	cr_assert(o->group && *o->group, "%s --%s has no group", cmd->name, o->name);
	cr_assert_not_null(o->set, "%s --%s has no setter", cmd->name, o->name);
	cr_assert(!o->short_name || isalnum((unsigned char)o->short_name), "%s --%s: short name '%c'",
		  cmd->name, o->name, o->short_name);
	if (o->arg)
		cr_assert(word_chars(o->arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"), "%s --%s: placeholder '%s'",
			  cmd->name, o->name, o->arg);
	else
		cr_assert(o->complete == CO_NONE && !o->def, "%s --%s: a flag completes nothing and "
			  "has no default", cmd->name, o->name);
	/* --help's option text is laid out from a 1 KiB buffer. */
	t = fmemopen(text, sizeof(text), "w");
	cr_assert_not_null(t);
	cli_option_text(t, o);
	cr_assert_lt(ftell(t), 1000, "%s --%s: help too long", cmd->name, o->name);
	fclose(t);
}

Test(options, every_table_is_consistent)
{
	FOR_EACH_COMMAND(cmd) {
		size_t n = 0;
		bool help = false;

		cr_assert(cmd->name && *cmd->name && cmd->summary && *cmd->summary, "a command without "
			  "a name or summary");
		cr_assert(cmd == &cli_root || cmd->main, "%s has no main", cmd->name);
		cr_assert(cmd->operands != CO_WORDS || (cmd->words && cmd->words[0].word), "%s: words",
			  cmd->name);
		for (const struct cli_option *o = cmd->options; o->name; o++, n++) {
			assert_option_consistent(cmd, o);
			help |= o->set == cli_set_help;
			for (const struct cli_option *p = cmd->options; p < o; p++) {
				cr_assert(strcmp(p->name, o->name) != 0, "%s: --%s twice", cmd->name, o->name);
				cr_assert(!o->short_name || p->short_name != o->short_name, "%s: -%c twice",
					  cmd->name, o->short_name);
				/* A group's options are consecutive: it has one heading. */
				cr_assert(strcmp(p->group, o->group) != 0 || strcmp(o[-1].group, o->group) == 0,
					  "%s: group '%s' is split", cmd->name, o->group);
			}
		}
		cr_assert(help, "%s has no --help", cmd->name);
		cr_assert_lt(n, CLI_MAX_OPTIONS, "%s: %zu options", cmd->name, n);
		FOR_EACH_COMMAND(other)
			cr_assert(other == cmd || strcmp(other->name, cmd->name) != 0, "command %s twice",
				  cmd->name);
	}
}

/* getopt_long over argv (argc entries) with cmd's table: the option indexes it returns,
 * into got[], and the arguments, into args[]; -2 for what cli_option_index rejects. */
static int getopt_all(const struct cli_command *cmd, int argc, char **argv, int *got,
		      const char **args)
{
	struct cli_getopt g;
	int c, n = 0;

	cr_assert_eq(cli_getopt_build(cmd->options, &g), 0, "%s", cmd->name);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts, NULL)) != -1) {
		int i = cli_option_index(cmd->options, c);

		got[n] = i < 0 ? -2 : i;
		args[n++] = optarg;
	}
	opterr = 1;
	return n;
}

Test(options, the_getopt_table_built_from_a_table_accepts_each_option)
{
	FOR_EACH_COMMAND(cmd) {
		for (const struct cli_option *o = cmd->options; o->name; o++) {
			int i = (int)(o - cmd->options), got[4];
			const char *args[4];
			char lng[64], eq[80], shrt[3] = { '-', o->short_name, 0 };
			char *v1[] = { "x", lng, "ARG", NULL }, *v2[] = { "x", eq, NULL },
			     *v3[] = { "x", shrt, "ARG", NULL };

			snprintf(lng, sizeof(lng), "--%s", o->name);
			snprintf(eq, sizeof(eq), "--%s=ARG", o->name);
			cr_assert_eq(getopt_all(cmd, o->arg ? 3 : 2, v1, got, args), 1, "%s %s", cmd->name, lng);
			cr_assert_eq(got[0], i, "%s %s", cmd->name, lng);
			if (o->arg) {
				cr_assert_str_eq(args[0], "ARG", "%s %s ARG", cmd->name, lng);
				cr_assert_eq(getopt_all(cmd, 2, v2, got, args), 1);
				cr_assert(got[0] == i && strcmp(args[0], "ARG") == 0, "%s %s", cmd->name, eq);
			}
			if (o->short_name) {
				cr_assert_eq(getopt_all(cmd, o->arg ? 3 : 2, v3, got, args), 1);
				cr_assert_eq(got[0], i, "%s %s", cmd->name, shrt);
			}
			cr_assert_eq(cli_option_find(cmd->options, lng), o, "%s", lng);
		}
		{
			char *v[] = { "x", "--no-such-option", NULL };
			int got[2];
			const char *args[2];

			cr_assert_eq(getopt_all(cmd, 2, v, got, args), 1);
			cr_assert_eq(got[0], -2, "%s accepts --no-such-option", cmd->name);
		}
	}
}

Test(options, the_defaults_shown_are_the_defaults)
{
	const struct cli_option *t = cli_option_find(cmd_check.options, "--timeout");

	cr_assert_not_null(t);
	cr_assert_eq(cli_parse_duration_ms(t->def), MD_DEFAULT_TIMEOUT_MS, "--timeout (default: %s)",
		     t->def);
}

/* A command of the test's own, to see what cli_parse() stores and returns. */
struct dummy {
	const char *name;
	bool flag;
	int port;
};

static const struct cli_option dummy_options[] = {
	{ "name", 'n', "NAME", "a name", NULL, "options", CO_NONE, cli_set_string,
	  offsetof(struct dummy, name) },
	{ "flag", 'f', NULL, "a flag", NULL, "options", CO_NONE, cli_set_true,
	  offsetof(struct dummy, flag) },
	{ "port", 0, "PORT", "a port", "22", "options", CO_NONE, cli_set_port,
	  offsetof(struct dummy, port) },
	CLI_OPTION_HELP("options"),
	{ 0 },
};

static const struct cli_command dummy_cmd = {
	.name = "dummy", .summary = "a test", .options = dummy_options,
};

Test(options, parse_stores_each_option_and_leaves_the_operands, .init = cr_redirect_stderr)
{
	struct dummy d = { 0 };
	char *ok[] = { "dummy", "op1", "-n", "box", "--port=2222", "op2", "-f", NULL };
	char *bad_port[] = { "dummy", "--port", "0", NULL };
	char *bad_option[] = { "dummy", "--nope", NULL };

	cr_assert_eq(cli_parse(&dummy_cmd, 7, ok, &d), CLI_GO_ON);
	cr_assert(d.name && strcmp(d.name, "box") == 0 && d.flag && d.port == 2222);
	/* getopt_long moves the operands to the end, in their order. */
	cr_assert_eq(optind, 5);
	cr_assert(strcmp(ok[5], "op1") == 0 && strcmp(ok[6], "op2") == 0);
	cr_assert_eq(cli_parse(&dummy_cmd, 3, bad_port, &d), MD_EXIT_USAGE);
	cr_assert_eq(cli_parse(&dummy_cmd, 2, bad_option, &d), MD_EXIT_USAGE);
	fflush(stderr);
	cr_assert_stderr_eq_str("meshdoctor: --port '0': give a port number from 1 to 65535\n"
				"dummy: unrecognized option '--nope'\n"
				"Try 'meshdoctor dummy --help'.\n");
}

/* ---- --help ----------------------------------- */

static void assert_help_names_options(const struct cli_command *cmd, const char *out)
{
	char want[96];

	for (const struct cli_option *o = cmd->options; o->name; o++) {
		if (o->short_name)
			snprintf(want, sizeof(want), "  -%c, --%s%s%s", o->short_name, o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(want, sizeof(want), "  --%s%s%s", o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
		cr_assert(strstr(out, want), "%s --help lacks '%s':\n%s", cmd->name, want, out);
		snprintf(want, sizeof(want), "\n%s:\n", o->group);
		cr_assert(strstr(out, want), "%s --help lacks heading '%s'", cmd->name, o->group);
	}
}

Test(options, help_of_each_command_names_every_option)
{
	FOR_EACH_COMMAND(cmd) {
		const char *a1[] = { cmd->name, "--help", NULL }, *a2[] = { cmd->name, "-h", NULL };
		struct run r, s;
		char want[32];

		md(&r, cmd == &cli_root ? a1 + 1 : a1);
		cr_assert_eq(r.code, 0, "%s --help: exit %d, stderr %s", cmd->name, r.code, r.err);
		cr_assert_str_eq(r.err, "", "%s --help", cmd->name);
		assert_help_names_options(cmd, r.out);
		for (size_t i = 0; cmd->exit_codes && i < cli_n_exit_codes; i++) {
			snprintf(want, sizeof(want), "\n  %-3d %.12s", cli_exit_codes[i].code,
				 cli_exit_codes[i].meaning);
			cr_assert(strstr(r.out, want), "%s --help lacks exit code %d", cmd->name,
				  cli_exit_codes[i].code);
		}
		for (const struct cli_command *const *c = cmd->commands; c && *c; c++) {
			snprintf(want, sizeof(want), "\n  %s ", (*c)->name);
			cr_assert((*c)->hidden == !strstr(r.out, want), "%s: %s listed %s", cmd->name,
				  (*c)->name, (*c)->hidden ? "though hidden" : "not");
		}
		md(&s, cmd == &cli_root ? a2 + 1 : a2);
		cr_assert(s.code == 0 && strcmp(s.out, r.out) == 0, "%s -h is not --help", cmd->name);
		run_free(&r);
		run_free(&s);
	}
}
