/* cmd_completion.c — `meshdoctor completion bash`: the bash completion script, from the
 * same tables as --help.
 *
 * The script is data (which options each command has, what their arguments complete to)
 * generated from the tables, and one fixed function that walks the words typed so far.
 * It needs bash 4 (mapfile) and nothing from the bash-completion package, so that it
 * can also be sourced on its own and tested by setting COMP_WORDS. */
#include "cli/cli.h"
#include "probes/probe.h"

#include <stdlib.h>
#include <string.h>

static const char *kind(enum cli_complete c)
{
	switch (c) {
	case CO_FILE: return "file";
	case CO_DIR: return "dir";
	case CO_HOST: return "host";
	case CO_PROBES: return "probes";
	case CO_IFACE: return "iface";
	case CO_WORDS: return "words";
	case CO_NONE: break;
	}
	return "none";
}

/* s as one single-quoted bash word. */
static void sq(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	fputc('\'', f);
}

static bool listed(const struct cli_command *c)
{
	return !c->hidden;
}

/* _meshdoctor_kind CMD OPT: a case line per option that takes an argument. */
static void kinds(FILE *f, const struct cli_command *root)
{
	char word[128];

	fputs("# _meshdoctor_kind CMD OPT: sets _meshdoctor_k to what the argument of CMD's option\n"
	      "# OPT completes to; fails when OPT is no option of CMD that takes one.\n"
	      "_meshdoctor_kind()\n{\n\tcase \"$1 $2\" in\n", f);
	for (const struct cli_command *const *c = root->commands; *c; c++) {
		if (!listed(*c))
			continue;
		for (const struct cli_option *o = (*c)->options; o->name; o++) {
			if (!o->arg)
				continue;
			fputc('\t', f);
			if (o->short_name) {
				snprintf(word, sizeof(word), "%s -%c", (*c)->name, o->short_name);
				sq(f, word);
				fputc('|', f);
			}
			snprintf(word, sizeof(word), "%s --%s", (*c)->name, o->name);
			sq(f, word);
			fprintf(f, ") _meshdoctor_k=%s ;;\n", kind(o->complete));
		}
	}
	fputs("\t*) return 1 ;;\n\tesac\n}\n\n", f);
}

/* Every spelling of the options of cmd, one word list. */
static void option_words(FILE *f, const struct cli_command *cmd)
{
	char *words = NULL;
	size_t len = 0;
	FILE *w = open_memstream(&words, &len);

	if (!w)
		return;
	for (const struct cli_option *o = cmd->options; o->name; o++) {
		if (o->short_name)
			fprintf(w, "-%c ", o->short_name);
		fprintf(w, "--%s%s", o->name, o[1].name ? " " : "");
	}
	fclose(w);
	sq(f, words ? words : "");
	free(words);
}

/* The listed commands, then the root's options, one word list. */
static void first_words(FILE *f, const struct cli_command *root)
{
	char *words = NULL;
	size_t len = 0;
	FILE *w = open_memstream(&words, &len);

	if (!w)
		return;
	for (const struct cli_command *const *c = root->commands; *c; c++)
		if (listed(*c))
			fprintf(w, "%s ", (*c)->name);
	for (const struct cli_option *o = root->options; o->name; o++) {
		if (o->short_name)
			fprintf(w, "-%c ", o->short_name);
		fprintf(w, "--%s%s", o->name, o[1].name ? " " : "");
	}
	fclose(w);
	sq(f, words ? words : "");
	free(words);
}

/* _meshdoctor_options CMD. */
static void options(FILE *f, const struct cli_command *root)
{
	fputs("# _meshdoctor_options CMD: sets _meshdoctor_w to CMD's options.\n"
	      "_meshdoctor_options()\n{\n\tcase $1 in\n", f);
	for (const struct cli_command *const *c = root->commands; *c; c++) {
		if (!listed(*c))
			continue;
		fputc('\t', f);
		sq(f, (*c)->name);
		fputs(") _meshdoctor_w=", f);
		option_words(f, *c);
		fputs(" ;;\n", f);
	}
	fputs("\t*) _meshdoctor_w= ;;\n\tesac\n}\n\n", f);
}

static void operand(FILE *f, const struct cli_command *c)
{
	fputc('\t', f);
	sq(f, c->name);
	if (c->operands != CO_WORDS || !c->words) {
		fprintf(f, ") _meshdoctor_k=%s ;;\n", kind(c->operands));
		return;
	}
	/* The first operand is one of the words; the next one what that word takes. */
	fputs(")\n\t\tif (($2 == 0)); then\n\t\t\t_meshdoctor_k=words _meshdoctor_w=", f);
	{
		char list[256] = "";

		for (const struct cli_word *w = c->words; w->word; w++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 w == c->words ? "" : " ", w->word);
		sq(f, list);
	}
	fputs("\n\t\telif (($2 == 1)); then\n\t\t\tcase $3 in\n", f);
	for (const struct cli_word *w = c->words; w->word; w++) {
		fputs("\t\t\t", f);
		sq(f, w->word);
		fprintf(f, ") _meshdoctor_k=%s ;;\n", kind(w->next));
	}
	fputs("\t\t\tesac\n\t\tfi ;;\n", f);
}

/* _meshdoctor_operand CMD N FIRST. */
static void operands(FILE *f, const struct cli_command *root)
{
	fputs("# _meshdoctor_operand CMD N FIRST: sets _meshdoctor_k (and _meshdoctor_w) to what\n"
	      "# CMD's operand N (from 0) completes to; FIRST is operand 0.\n"
	      "_meshdoctor_operand()\n{\n\t_meshdoctor_k=none _meshdoctor_w=\n\tcase $1 in\n", f);
	for (const struct cli_command *const *c = root->commands; *c; c++)
		if (listed(*c) && (*c)->operands != CO_NONE)
			operand(f, *c);
	fputs("\tesac\n}\n\n", f);
}

/* What does not depend on the tables: the helpers and the walk over COMP_WORDS. */
static const char helpers[] =
	"# _meshdoctor_hosts CUR: Host aliases from ~/.ssh/config and the names in\n"
	"# ~/.ssh/known_hosts (not hashed ones, not patterns), after USER@ if CUR has one.\n"
	"_meshdoctor_hosts()\n"
	"{\n"
	"\tlocal cur=$1 user= hosts\n"
	"\tif [[ $cur == *@* ]]; then\n"
	"\t\tuser=${cur%%@*}@ cur=${cur#*@}\n"
	"\tfi\n"
	"\thosts=$(awk 'tolower($1) == \"host\" { for (i = 2; i <= NF; i++) if ($i !~ /[*?!]/) print $i }' \\\n"
	"\t\t~/.ssh/config 2>/dev/null\n"
	"\t\tawk '/^[ \\t]*(#|$)/ { next } { f = $1 } /^@/ { f = $2 } f ~ /^[|]/ { next }\n"
	"\t\t\t{ n = split(f, a, \",\"); for (i = 1; i <= n; i++) { h = a[i]; if (h ~ /[*?!]/) continue\n"
	"\t\t\t  sub(/^\\[/, \"\", h); sub(/\\]:[0-9]+$/, \"\", h); print h } }' \\\n"
	"\t\t~/.ssh/known_hosts 2>/dev/null)\n"
	"\tmapfile -t COMPREPLY < <(compgen -P \"$user\" -W \"$hosts\" -- \"$cur\")\n"
	"}\n"
	"\n"
	"# _meshdoctor_list CUR WORDS: one more of WORDS for the comma-separated list CUR,\n"
	"# leaving out those it names already; no space after it, so a comma can follow.\n"
	"_meshdoctor_list()\n"
	"{\n"
	"\tlocal head= last=$1 w\n"
	"\tif [[ $1 == *,* ]]; then\n"
	"\t\thead=${1%,*}, last=${1##*,}\n"
	"\tfi\n"
	"\tCOMPREPLY=()\n"
	"\tfor w in $2; do\n"
	"\t\t[[ ,$head == *,\"$w\",* ]] && continue\n"
	"\t\t[[ $w == \"$last\"* ]] && COMPREPLY+=(\"$head$w\")\n"
	"\tdone\n"
	"\tcompopt -o nospace 2>/dev/null\n"
	"}\n"
	"\n"
	"# _meshdoctor_complete KIND CUR: the words for CUR of that kind, in COMPREPLY.\n"
	"_meshdoctor_complete()\n"
	"{\n"
	"\tCOMPREPLY=()\n"
	"\tcase $1 in\n"
	"\tfile) compopt -o filenames 2>/dev/null\n"
	"\t\tmapfile -t COMPREPLY < <(compgen -f -- \"$2\") ;;\n"
	"\tdir) compopt -o filenames 2>/dev/null\n"
	"\t\tmapfile -t COMPREPLY < <(compgen -d -- \"$2\") ;;\n"
	"\thost) _meshdoctor_hosts \"$2\" ;;\n"
	"\tprobes) _meshdoctor_list \"$2\" \"$_meshdoctor_probes\" ;;\n"
	"\tiface) mapfile -t COMPREPLY < <(compgen -W \"any $(ls /sys/class/net 2>/dev/null)\" -- \"$2\") ;;\n"
	"\twords) mapfile -t COMPREPLY < <(compgen -W \"$_meshdoctor_w\" -- \"$2\") ;;\n"
	"\tesac\n"
	"}\n"
	"\n"
	"_meshdoctor()\n"
	"{\n"
	"\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev= opt= cmd= first= w i n=0 dd=0\n"
	"\tlocal _meshdoctor_k= _meshdoctor_w=\n"
	"\tCOMPREPLY=()\n"
	"\t((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	"\t# --opt=value comes as three words: '=' breaks words (COMP_WORDBREAKS).\n"
	"\tif [[ $cur == = ]]; then\n"
	"\t\topt=$prev cur=\n"
	"\telif [[ $prev == = ]] && ((COMP_CWORD > 1)); then\n"
	"\t\topt=${COMP_WORDS[COMP_CWORD-2]}\n"
	"\telse\n"
	"\t\topt=$prev\n"
	"\tfi\n"
	"\t# '@' breaks words too: after USER@ only the host is completed.\n"
	"\t[[ $cur == @ ]] && cur=\n"
	"\t# The command, then its operands so far; an option's argument is no operand.\n"
	"\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	"\t\tw=${COMP_WORDS[i]}\n"
	"\t\tif [[ -z $cmd ]]; then\n"
	"\t\t\t[[ $w == -* ]] || cmd=$w\n"
	"\t\t\tcontinue\n"
	"\t\tfi\n"
	"\t\tif ((!dd)); then\n"
	"\t\t\tcase $w in\n"
	"\t\t\t--) dd=1; continue ;;\n"
	"\t\t\t-?*)\n"
	"\t\t\t\tif _meshdoctor_kind \"$cmd\" \"$w\"; then\n"
	"\t\t\t\t\tif [[ ${COMP_WORDS[i+1]} == = ]]; then ((i += 2)); else ((i += 1)); fi\n"
	"\t\t\t\tfi\n"
	"\t\t\t\tcontinue ;;\n"
	"\t\t\tesac\n"
	"\t\tfi\n"
	"\t\t((n == 0)) && first=$w\n"
	"\t\t((n += 1))\n"
	"\tdone\n"
	"\tif [[ -z $cmd ]]; then\n"
	"\t\tmapfile -t COMPREPLY < <(compgen -W \"$_meshdoctor_commands\" -- \"$cur\")\n"
	"\telif ((!dd)) && _meshdoctor_kind \"$cmd\" \"$opt\"; then\n"
	"\t\t_meshdoctor_complete \"$_meshdoctor_k\" \"$cur\"\n"
	"\telif ((!dd)) && [[ $cur == -* ]]; then\n"
	"\t\t_meshdoctor_options \"$cmd\"\n"
	"\t\tmapfile -t COMPREPLY < <(compgen -W \"$_meshdoctor_w\" -- \"$cur\")\n"
	"\telse\n"
	"\t\t_meshdoctor_operand \"$cmd\" \"$n\" \"$first\"\n"
	"\t\t_meshdoctor_complete \"$_meshdoctor_k\" \"$cur\"\n"
	"\tfi\n"
	"\treturn 0\n"
	"}\n"
	"\n"
	"complete -F _meshdoctor meshdoctor\n";

int cli_bash_completion(FILE *f, const struct cli_command *root)
{
	fputs("# bash completion for meshdoctor: generated by `meshdoctor completion bash` from the\n"
	      "# option tables of its commands, as --help and the man page are; do not edit.\n"
	      "# Install as .../bash-completion/completions/meshdoctor, or run:\n"
	      "#   source <(meshdoctor completion bash)\n\n", f);
	/* The commands and the root's options: what the first word can be. */
	fputs("_meshdoctor_commands=", f);
	first_words(f, root);
	fputs("\n_meshdoctor_probes='", f);
	for (size_t i = 0; i < md_n_probes; i++)
		fprintf(f, "%s%s", i ? " " : "", md_probes[i]->name);
	fputs("'\n\n", f);
	kinds(f, root);
	options(f, root);
	operands(f, root);
	fputs(helpers, f);
	return ferror(f) ? -1 : 0;
}

static int completion_main(int argc, char **argv)
{
	int rc = cli_parse(&cmd_completion, argc, argv, NULL);

	if (rc != CLI_GO_ON)
		return rc;
	if (optind != argc - 1 || strcmp(argv[optind], "bash") != 0) {
		cli_error("completion needs a shell, and bash is the one it knows: meshdoctor completion bash");
		return MD_EXIT_USAGE;
	}
	return cli_emit(cli_bash_completion, &cli_root, "the completion script");
}

static const struct cli_option options_table[] = {
	CLI_OPTION_HELP("options"),
	{ 0 },
};

static const struct cli_word shells[] = {
	{ "bash", CO_NONE },
	{ 0 },
};

const struct cli_command cmd_completion = {
	.name = "completion",
	.main = completion_main,
	.summary = "Print the shell completion script: `meshdoctor completion bash`",
	.synopsis = "bash",
	.description = "Prints the bash completion script for meshdoctor: commands, options, files\n"
		       "and directories, probe names for --probes, hosts from ~/.ssh/config and\n"
		       "~/.ssh/known_hosts for TARGET.  `make install` installs it; or run\n"
		       "source <(meshdoctor completion bash).",
	.options = options_table,
	.operands = CO_WORDS,
	.words = shells,
};
