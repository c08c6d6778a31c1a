/* Unit tests of the option tables (cli/options.h) and of what is generated from them:
 * the tables are consistent, getopt_long's table accepts every option, and --help, the
 * man page and the bash completion name every option, command and exit code.  Durations
 * (--timeout) are parsed here too.  cli/ is linked in (main() renamed, see Makefile) so
 * that the tests read the very tables the binary ($MD_BIN) parses with; the generated
 * files are read from $MD_BUILD (build/), as `make` wrote them.  No network. */
#include "cli/cli.h"
#include "cli/options.h"
#include "core/proc.h"
#include "probes/probe.h"
#include "run/check.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <criterion/redirect.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* The file NAME in the build directory (build/ unless $MD_BUILD says), malloc'd. */
static char *build_file(const char *name)
{
	const char *dir = getenv("MD_BUILD");
	char path[512];
	FILE *f;
	long n;
	char *s;

	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "build", name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "open %s: build it (make %s)", path, path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = calloc(1, (size_t)n + 1);
	cr_assert_not_null(s);
	cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n, "read %s", path);
	fclose(f);
	return s;
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

/* ---- --help, the man page, the completion ----------------------------------- */

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

/* s as the man page writes it: '-' as "\-". */
static void roff_name(char *out, size_t n, const char *prefix, const char *s)
{
	size_t k = (size_t)snprintf(out, n, "%s", prefix);

	for (; *s && k + 3 < n; s++) {
		if (*s == '-')
			out[k++] = '\\';
		out[k++] = *s;
	}
	out[k] = '\0';
}

/* Lines of roff: a request is one that man(7) knows; text never has a bare '-'. */
static void assert_roff_clean(const char *page)
{
	static const char *const requests[] = { ".\\\"", ".TH ", ".SH ", ".SS ", ".TP", ".PP", ".B ",
						".I ", ".BR ", ".br", ".nh", NULL };

	for (const char *l = page; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != 0)) {
		size_t n = strcspn(l, "\n");
		bool known = l[0] != '.' && l[0] != '\'';

		for (const char *const *r = requests; !known && *r; r++)
			known = strncmp(l, *r, strlen(*r)) == 0;
		cr_assert(known, "unknown request: %.*s", (int)n, l);
		if (strncmp(l, ".\\\"", 3) == 0)
			continue;
		for (size_t i = 0; i < n; i++)
			cr_assert(l[i] != '-' || (i > 0 && l[i - 1] == '\\'), "bare '-' in: %.*s", (int)n, l);
		for (size_t i = 0; i < n; i++)
			cr_assert((unsigned char)l[i] < 0x80, "non-ASCII byte in: %.*s", (int)n, l);
	}
}

Test(options, the_man_page_has_every_command_option_and_exit_code)
{
	const char *a[] = { "__man", NULL };
	char *page = build_file("meshdoctor.1"), want[96];
	struct run r;

	md(&r, a);
	cr_assert_eq(r.code, 0, "__man: %s", r.err);
	cr_assert_str_eq(page, r.out, "build/meshdoctor.1 is not what `meshdoctor __man` prints now");
	cr_assert(strstr(page, "\n.TH MESHDOCTOR 1 "), "no .TH");
	assert_roff_clean(page);
	FOR_EACH_COMMAND(cmd) {
		if (cmd != &cli_root) {
			roff_name(want, sizeof(want), "\n.SS ", cmd->name);
			cr_assert(cmd->hidden == !strstr(page, want), "%s: .SS %s", cmd->name,
				  cmd->hidden ? "though hidden" : "missing");
		}
		for (const struct cli_option *o = cmd->options; !cmd->hidden && o->name; o++) {
			roff_name(want, sizeof(want), "\\fB\\-\\-", o->name);
			cr_assert(strstr(page, want), "man page lacks --%s of %s", o->name, cmd->name);
			snprintf(want, sizeof(want), "\n.TP\n\\fB\\-%c\\fR, ", o->short_name);
			cr_assert(!o->short_name || strstr(page, want), "man page lacks -%c", o->short_name);
		}
	}
	for (size_t i = 0; i < cli_n_exit_codes; i++) {
		snprintf(want, sizeof(want), "\n.TP\n.B %d\n", cli_exit_codes[i].code);
		cr_assert(strstr(page, want), "man page lacks exit code %d", cli_exit_codes[i].code);
	}
	cr_assert(strstr(page, ".SH EXIT STATUS\n"));
	run_free(&r);
	free(page);
}

Test(options, groff_renders_the_man_page_without_warnings)
{
	const char *dir = getenv("MD_BUILD");
	char path[512];
	const char *argv[] = { "groff", "-man", "-Tutf8", "-ww", "-z", path, NULL };
	struct run r;

	if (access("/usr/bin/groff", X_OK) != 0)
		cr_skip_test("groff is not installed (Debian: groff-base)");
	snprintf(path, sizeof(path), "%s/meshdoctor.1", dir && *dir ? dir : "build");
	run_argv(&r, argv);
	cr_assert_eq(r.code, 0, "groff: %s", r.err);
	cr_assert_str_eq(r.err, "", "groff warns");
	run_free(&r);
}

/* The line of script that starts with prefix ("\nNAME": at a line's start), up to its
 * end (a static copy, until the next call). */
static const char *script_line(const char *script, const char *prefix)
{
	static char line[4096];
	const char *p = strstr(script, prefix);

	cr_assert_not_null(p, "no line '%s'", prefix);
	p += *p == '\n';
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(p, "\n"), p);
	return line;
}

/* word appears in the space-separated list of line, after its first '. */
static bool in_list(const char *line, const char *word)
{
	size_t n = strlen(word);
	const char *p = strchr(line, '\'');

	for (p = p ? p + 1 : line; (p = strstr(p, word)); p++)
		if ((p[-1] == ' ' || p[-1] == '\'') && (p[n] == ' ' || p[n] == '\''))
			return true;
	return false;
}

Test(options, the_completion_script_has_every_command_and_option)
{
	const char *a[] = { "completion", "bash", NULL };
	char *script = build_file("meshdoctor.bash"), want[96], cmds[1024];
	struct run r;

	snprintf(cmds, sizeof(cmds), "%s", script_line(script, "\n_meshdoctor_commands="));

	md(&r, a);
	cr_assert_eq(r.code, 0, "completion bash: %s", r.err);
	cr_assert_str_eq(script, r.out, "build/meshdoctor.bash is not what `completion bash` prints");
	FOR_EACH_COMMAND(cmd) {
		const char *opts;

		if (cmd == &cli_root) {
			opts = cmds;
		} else {
			cr_assert(cmd->hidden == !in_list(cmds, cmd->name), "%s %s", cmd->name,
				  cmd->hidden ? "completed though hidden" : "not completed");
			if (cmd->hidden)
				continue;
			snprintf(want, sizeof(want), "\n\t'%s') _meshdoctor_w=", cmd->name);
			opts = script_line(script, want);
		}
		for (const struct cli_option *o = cmd->options; o->name; o++) {
			snprintf(want, sizeof(want), "--%s", o->name);
			cr_assert(in_list(opts, want), "%s: %s not completed", cmd->name, want);
			snprintf(want, sizeof(want), "-%c", o->short_name);
			cr_assert(!o->short_name || in_list(opts, want), "%s: %s", cmd->name, want);
			snprintf(want, sizeof(want), "'%s --%s')", cmd->name, o->name);
			cr_assert(!o->arg || cmd == &cli_root || strstr(script, want), "%s: no kind for --%s",
				  cmd->name, o->name);
		}
	}
	for (size_t i = 0; i < md_n_probes; i++)
		cr_assert(in_list(script_line(script, "\n_meshdoctor_probes="), md_probes[i]->name));
	run_free(&r);
	free(script);
}

/* ---- completion in bash ------------------------------------------------------ */

/* Criterion runs each parameter in its own process: the table holds arrays, not pointers. */
struct comp_case {
	char words[64]; /* COMP_WORDS, as bash words */
	int cword;
	char want[128]; /* COMPREPLY, one a line, sorted */
};

ParameterizedTestParameters(completion, completes_in_bash)
{
	static struct comp_case cases[] = {
		{ "meshdoctor check --pr", 2, "--probes\n--prom\n" },
		{ "meshdoctor ch", 1, "check\n" },
		{ "meshdoctor --v", 1, "--version\n" },
		{ "meshdoctor report --", 2, "--help\n--markdown\n--text\n--verbose\n" },
		{ "meshdoctor check --probes ssh,t", 3, "ssh,tailscale\nssh,tls\n" },
		{ "meshdoctor check --probes = ssh,", 4, "ssh,dns\nssh,headscale\nssh,host\nssh,port\nssh,tailscale\nssh,tls\nssh,windows\nssh,wireguard\n" },
		{ "meshdoctor check --json d/", 3, "d/a.json\nd/b.txt\nd/sub\n" },
		{ "meshdoctor check --rules=d/", 2, "" }, /* one word: '=' not a break here */
		{ "meshdoctor check --rules = d/", 4, "d/sub\n" },
		{ "meshdoctor check -F d/a", 3, "d/a.json\n" },
		{ "meshdoctor check --iface l", 3, "lo\n" },
		{ "meshdoctor check --timeout ''", 3, "" },
		{ "meshdoctor check off", 2, "office-one\n" },
		{ "meshdoctor check steve@off", 2, "steve@office-one\n" },
		{ "meshdoctor check steve @ kn", 4, "known.example\n" },
		{ "meshdoctor check -v --timeout 5 10.0.0.", 5, "10.0.0.5\n10.0.0.9\n" },
		{ "meshdoctor rules ''", 2, "check\nexplain\n" },
		{ "meshdoctor rules --rules d ch", 4, "check\n" },
		{ "meshdoctor rules check d/s", 3, "d/sub\n" },
		{ "meshdoctor report d/a", 2, "d/a.json\n" },
		{ "meshdoctor completion ''", 2, "bash\n" },
		{ "meshdoctor __m", 1, "" },
	};

	return cr_make_param_array(struct comp_case, cases, sizeof(cases) / sizeof(cases[0]));
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

ParameterizedTest(struct comp_case *c, completion, completes_in_bash)
{
	char dir[] = "/tmp/mdopt-XXXXXX", path[256], script[1024], *bash_file;
	const char *argv[] = { "bash", "--norc", "--noprofile", "-c", script, NULL };
	struct run r;

	cr_assert_not_null(mkdtemp(dir));
	/* HOME with an ssh_config and a known_hosts; d/ with two files and a directory. */
	snprintf(path, sizeof(path), "%s/.ssh", dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/.ssh/config", dir);
	write_file(path, "Host office-one office-*\n  HostName 192.0.2.1\n");
	snprintf(path, sizeof(path), "%s/.ssh/known_hosts", dir);
	write_file(path, "known.example,10.0.0.5 ssh-ed25519 AAAA\n|1|aGFzaA==|aGFzaA== ssh-ed25519 AAAA\n"
			 "[10.0.0.9]:2222 ssh-ed25519 AAAA\n# a comment\n");
	snprintf(path, sizeof(path), "%s/d", dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/d/sub", dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/d/a.json", dir);
	write_file(path, "{}");
	snprintf(path, sizeof(path), "%s/d/b.txt", dir);
	write_file(path, "");
	bash_file = realpath(getenv("MD_BUILD") && *getenv("MD_BUILD") ? getenv("MD_BUILD") : "build", NULL);
	cr_assert_not_null(bash_file);
	snprintf(script, sizeof(script),
		 "HOME=%s; cd \"$HOME\" || exit 9; source %s/meshdoctor.bash || exit 8\n"
		 "COMP_WORDS=(%s); COMP_CWORD=%d; _meshdoctor || exit 7\n"
		 "((${#COMPREPLY[@]})) && printf '%%s\\n' \"${COMPREPLY[@]}\" | LC_ALL=C sort\n"
		 "exit 0", dir, bash_file, c->words, c->cword);
	free(bash_file);
	run_argv(&r, argv);
	cr_assert_eq(r.code, 0, "%s: exit %d: %s", c->words, r.code, r.err);
	cr_assert_str_eq(r.err, "", "%s: stderr", c->words);
	cr_assert_str_eq(r.out, c->want, "COMP_WORDS=(%s) COMP_CWORD=%d", c->words, c->cword);
	run_free(&r);
	snprintf(path, sizeof(path), "rm -rf -- '%s'", dir);
	cr_assert_eq(system(path), 0);
}

/* ---- durations --------------------------------------------------------------- */

struct duration_case {
	char s[16];
	int64_t ms;
};

ParameterizedTestParameters(duration, parses)
{
	static struct duration_case cases[] = {
		{ "4", 4000 }, { "1.5", 1500 }, { "4s", 4000 }, { "1.5s", 1500 }, { "5000ms", 5000 },
		{ "2500ms", 2500 }, { "2m", 120000 }, { "0.5m", 30000 }, { ".5", 500 }, { "5.", 5000 },
		{ "0.001", 1 }, { "0.0001", 1 }, { "1ms", 1 }, { "0.5ms", 1 }, { "0", 0 }, { "0ms", 0 },
		{ "86400", 86400000 }, { "1440m", 86400000 },
		{ "86401", -1 }, { "1441m", -1 }, { "", -1 }, { "soon", -1 }, { "-5", -1 },
		{ "+5", -1 }, { " 5", -1 }, { "5 ", -1 }, { "5h", -1 }, { "5S", -1 }, { "1e3", -1 },
		{ "0x10", -1 }, { "inf", -1 }, { "nan", -1 }, { "1.2.3", -1 }, { ".", -1 },
		{ "s", -1 }, { "5sec", -1 }, { "5mss", -1 },
	};

	return cr_make_param_array(struct duration_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct duration_case *c, duration, parses)
{
	cr_assert_eq(cli_parse_duration_ms(c->s), c->ms, "'%s' → %lld ms, want %lld", c->s,
		     (long long)cli_parse_duration_ms(c->s), (long long)c->ms);
}

static void assert_one_line_error(const struct run *r, const char *part, const char *input)
{
	cr_assert_eq(r->code, 64, "%s: exit code %d, stderr: %s", input, r->code, r->err);
	cr_assert(strstr(r->err, part), "%s: stderr '%s' lacks '%s'", input, r->err, part);
	cr_assert(strncmp(r->err, "meshdoctor: ", 12) == 0, "stderr: %s", r->err);
	cr_assert_eq(strchr(r->err, '\n'), r->err + strlen(r->err) - 1, "one line: %s", r->err);
	cr_assert_str_eq(r->out, "", "nothing on stdout");
}

Test(duration, a_timeout_too_short_to_try_anything_is_a_usage_error)
{
	static const char *const short_ones[] = { "0.001", "1ms", "99ms", "0.05", "0", NULL };
	static const char *const fine[] = { "4", "100ms", "0.1", "1.5s", "2m", NULL };
	struct run r;

	for (size_t i = 0; short_ones[i]; i++) {
		const char *a[] = { "check", "--timeout", short_ones[i], "host:0", NULL };

		md(&r, a);
		assert_one_line_error(&r, "too short", short_ones[i]);
		cr_assert(strstr(r.err, "at least 100ms"), "%s", r.err);
		run_free(&r);
	}
	/* Accepted: the run stops at the malformed target after the options. */
	for (size_t i = 0; fine[i]; i++) {
		const char *a[] = { "check", "--timeout", fine[i], "host:0", NULL };

		md(&r, a);
		assert_one_line_error(&r, "target", fine[i]);
		cr_assert(!strstr(r.err, "--timeout"), "--timeout %s: %s", fine[i], r.err);
		run_free(&r);
	}
}
