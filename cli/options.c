/* options.c — parsing and --help from a command's option table (options.h). */
#include "cli/options.h"
#include "probes/dns.h"
#include "cli/cli.h"
#include "core/target.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where --help wraps, and the column an option's help starts in. */
#define WIDTH 80
#define HELP_COL 24

const struct cli_exit_code cli_exit_codes[] = {
	{ MD_EXIT_OK, "OK: no problem found (prepare: done and verified, or nothing to do; fix: after the fix; provision: on the mesh)" },
	{ MD_EXIT_WARNING, "WARNING: warnings only" },
	{ MD_EXIT_CRITICAL, "CRITICAL: at least one critical finding (also: a live capture "
			    "without the right to capture; prepare: a step failed, its change did "
			    "not take effect, or it cannot apply to the host, said why; fix, provision: a step failed or cannot apply)" },
	{ MD_EXIT_UNKNOWN, "UNKNOWN: a probe could not complete, so meshdoctor could not tell "
			   "(prepare, provision: the host could not be reached or logged in to)" },
	{ MD_EXIT_USAGE, "usage or input error (bad option, malformed target, broken rule file, "
			 "a malformed saved report)" },
};
const size_t cli_n_exit_codes = sizeof(cli_exit_codes) / sizeof(cli_exit_codes[0]);

/* ---- getopt ------------------------------------------------------------------ */

int cli_getopt_build(const struct cli_option *options, struct cli_getopt *g)
{
	size_t n = 0, s = 0;

	for (; options[n].name; n++) {
		const struct cli_option *o = &options[n];

		if (n >= CLI_MAX_OPTIONS)
			return -1;
		g->longopts[n] = (struct option){
			.name = o->name,
			.has_arg = o->arg ? required_argument : no_argument,
			.val = CLI_LONG_BASE + (int)n,
		};
		if (o->short_name) {
			g->shortopts[s++] = o->short_name;
			if (o->arg)
				g->shortopts[s++] = ':';
		}
	}
	g->longopts[n] = (struct option){ 0 };
	g->shortopts[s] = '\0';
	return 0;
}

int cli_option_index(const struct cli_option *options, int c)
{
	for (int i = 0; options[i].name; i++)
		if (c == CLI_LONG_BASE + i || (c < CLI_LONG_BASE && c > 0 && c == options[i].short_name &&
					       c != '?' && c != ':'))
			return i;
	return -1;
}

const struct cli_option *cli_option_find(const struct cli_option *options, const char *arg)
{
	for (const struct cli_option *o = options; o->name; o++)
		if ((arg[0] == '-' && arg[1] == '-' && strcmp(arg + 2, o->name) == 0) ||
		    (o->short_name && arg[0] == '-' && arg[1] == o->short_name && !arg[2]))
			return o;
	return NULL;
}

int cli_parse(const struct cli_command *cmd, int argc, char **argv, void *dst)
{
	struct cli_getopt g;
	int c;

	if (cli_getopt_build(cmd->options, &g)) {
		cli_error("%s: more than %d options", cmd->name, CLI_MAX_OPTIONS);
		return MD_EXIT_USAGE;
	}
	/* 0, not 1: glibc then starts afresh (permutation state included), so that one
	 * process can parse several command lines (the unit tests do). */
	optind = 0;
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts, NULL)) != -1) {
		int i = cli_option_index(cmd->options, c);
		const struct cli_option *o;

		if (i < 0) { /* getopt_long has said what was wrong */
			if (cmd->usage_on_bad_option)
				cli_help(stderr, cmd);
			else
				fprintf(stderr, "Try 'meshdoctor %s --help'.\n", cmd->name);
			return MD_EXIT_USAGE;
		}
		o = &cmd->options[i];
		switch (o->set(o, dst, optarg)) {
		case 0:
			break;
		case CLI_HELP:
			cli_help(stdout, cmd);
			return MD_EXIT_OK;
		case CLI_DONE:
			return MD_EXIT_OK;
		default:
			return MD_EXIT_USAGE;
		}
	}
	return CLI_GO_ON;
}

/* ---- --help ------------------------------------------------------------------ */

/* Terminal columns of s[0..n): bytes that do not continue a UTF-8 sequence. */
static size_t columns(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

/* Writes text's words from column col (at least indent), wrapping before WIDTH; each
 * further line starts at column indent.  Ends the line. */
static void wrap(FILE *f, const char *text, size_t col, size_t indent)
{
	const char *p = text + strspn(text, " ");

	while (*p) {
		size_t n = strcspn(p, " "), w = columns(p, n);

		if (col > indent && col + 1 + w > WIDTH) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, n, f);
		col += w;
		p += n;
		p += strspn(p, " ");
	}
	fputc('\n', f);
}

void cli_option_text(FILE *f, const struct cli_option *o)
{
	fputs(o->help, f);
	if (o->def)
		fprintf(f, " (default: %s)", o->def);
}

static void help_option(FILE *f, const struct cli_option *o)
{
	char spec[64], text[1024];
	FILE *t = fmemopen(text, sizeof(text), "w");
	int n;

	if (o->short_name)
		n = snprintf(spec, sizeof(spec), "-%c, --%s%s%s", o->short_name, o->name,
			     o->arg ? " " : "", o->arg ? o->arg : "");
	else
		n = snprintf(spec, sizeof(spec), "--%s%s%s", o->name, o->arg ? " " : "",
			     o->arg ? o->arg : "");
	text[0] = '\0';
	if (t) {
		cli_option_text(t, o);
		fclose(t);
	}
	fprintf(f, "  %s", spec);
	/* A long spec gets its help on the next line, like a short one's continuation. */
	if (n + 2 >= HELP_COL) {
		fprintf(f, "\n%*s", HELP_COL, "");
	} else {
		fprintf(f, "%*s", HELP_COL - 2 - n, "");
	}
	wrap(f, text, HELP_COL, HELP_COL);
}

static void help_commands(FILE *f, const struct cli_command *const *cmds)
{
	int width = 0;

	for (const struct cli_command *const *c = cmds; *c; c++)
		if (!(*c)->hidden && (int)strlen((*c)->name) > width)
			width = (int)strlen((*c)->name);
	fprintf(f, "\ncommands:\n");
	for (const struct cli_command *const *c = cmds; *c; c++)
		if (!(*c)->hidden)
			fprintf(f, "  %-*s %s\n", width, (*c)->name, (*c)->summary);
	fprintf(f, "\n`meshdoctor COMMAND --help` describes a command's options.\n");
}

void cli_help(FILE *f, const struct cli_command *cmd)
{
	bool root = cmd->commands != NULL, first = true;
	const char *group = NULL, *s = cmd->synopsis ? cmd->synopsis : "";

	/* One "usage:" line per form of the synopsis. */
	for (;;) {
		size_t n = strcspn(s, "\n");

		fprintf(f, "%s %s%s%s%.*s\n", first ? "usage:" : "      ", root ? "" : "meshdoctor ",
			cmd->name, n ? " " : "", (int)n, s);
		first = false;
		s += n;
		if (!*s++)
			break;
	}
	if (cmd->description)
		fprintf(f, "\n%s\n", cmd->description);
	if (root)
		help_commands(f, cmd->commands);
	for (const struct cli_option *o = cmd->options; o->name; o++) {
		if (!group || strcmp(group, o->group) != 0)
			fprintf(f, "\n%s:\n", o->group);
		group = o->group;
		help_option(f, o);
	}
	if (cmd->exit_codes) {
		fprintf(f, "\nexit codes:\n");
		for (size_t i = 0; i < cli_n_exit_codes; i++) {
			fprintf(f, "  %-3d ", cli_exit_codes[i].code);
			wrap(f, cli_exit_codes[i].meaning, 6, 6);
		}
	}
}

/* ---- generated files ------------------------------------------------------- */

int cli_emit(int (*gen)(FILE *f, const struct cli_command *root), const struct cli_command *root,
	     const char *what)
{
	struct md_buf out;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	if (!f) {
		cli_error("out of memory writing %s", what);
		return MD_EXIT_UNKNOWN;
	}
	rc = gen(f, root);
	if (fclose(f) || rc) {
		cli_error("out of memory writing %s", what);
		free(text);
		return MD_EXIT_UNKNOWN;
	}
	md_buf_init(&out, 0);
	if (md_buf_append(&out, text, len) != MD_OK) {
		cli_error("out of memory writing %s", what);
		rc = MD_EXIT_UNKNOWN;
	} else {
		rc = cli_write_output("-", &out) ? MD_EXIT_UNKNOWN : MD_EXIT_OK;
	}
	md_buf_cleanup(&out);
	free(text);
	return rc;
}

/* ---- setters ----------------------------------------------------------------- */

static void *field(const struct cli_option *o, void *dst)
{
	return (char *)dst + o->off;
}

int cli_set_string(const struct cli_option *o, void *dst, const char *arg)
{
	*(const char **)field(o, dst) = arg;
	return 0;
}

int cli_set_true(const struct cli_option *o, void *dst, const char *arg)
{
	(void)arg;
	*(bool *)field(o, dst) = true;
	return 0;
}

int cli_set_false(const struct cli_option *o, void *dst, const char *arg)
{
	(void)arg;
	*(bool *)field(o, dst) = false;
	return 0;
}

int cli_set_port(const struct cli_option *o, void *dst, const char *arg)
{
	int p = md_parse_port(arg);

	if (p < 0) {
		cli_error("--%s '%s': give a port number from 1 to 65535", o->name, arg);
		return -1;
	}
	*(int *)field(o, dst) = p;
	return 0;
}

int cli_set_readable(const struct cli_option *o, void *dst, const char *arg)
{
	if (access(arg, R_OK) != 0) {
		cli_error("--%s %s: cannot read the file", o->name, arg);
		return -1;
	}
	return cli_set_string(o, dst, arg);
}

int cli_set_help(const struct cli_option *o, void *dst, const char *arg)
{
	(void)o;
	(void)dst;
	(void)arg;
	return CLI_HELP;
}

/* --login-server: its host must be a name or an address. */
int cli_set_login_server(const struct cli_option *o, void *dst, const char *arg)
{
	char host[256];
	int port;

	if (md_dns_url_host(arg, host, sizeof(host), &port) != MD_OK) {
		cli_error("--%s '%s': give a URL such as http://sfspark1.local:8080 (a host name or "
			  "an address, and a port of 1-65535)", o->name, arg);
		return -1;
	}
	return cli_set_string(o, dst, arg);
}
