/* options.h — a command's options as one table.
 *
 * Each subcommand describes itself once, in a struct cli_command: its synopsis, its
 * description and a table of struct cli_option.  getopt_long's table, `--help`, the man
 * page (`meshdoctor __man`) and the bash completion (`meshdoctor completion bash`) are
 * all generated from it, so none of them can drift from what the parser accepts.
 *
 * An option stores its argument through set(), into the command's own struct (dst) at
 * offset off: the generic setters below cover strings, flags, ports and readable files;
 * a command writes its own for the rest (cmd_check.c: --timeout, --wg-port). */
#ifndef MD_CLI_OPTIONS_H
#define MD_CLI_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* What an argument (or a command's operand) completes to in the shell. */
enum cli_complete {
	CO_NONE,   /* free text: nothing to offer */
	CO_FILE,
	CO_DIR,
	CO_HOST,   /* [USER@]HOST: Host aliases in ~/.ssh/config, names in known_hosts */
	CO_PROBES, /* a comma-separated list of probe names */
	CO_IFACE,  /* a network interface, or "any" */
	CO_WORDS,  /* one of the command's words (struct cli_command .words) */
};

struct cli_option;

/* Stores arg (NULL for a flag) into dst for option o.  0, CLI_HELP, CLI_DONE, or -1
 * with one line printed (cli_error) naming the option and what to give instead. */
typedef int cli_setter(const struct cli_option *o, void *dst, const char *arg);

enum {
	CLI_HELP = 1, /* set(): print the command's help and exit 0 */
	CLI_DONE = 2, /* set(): the option did the command's work (--version): exit 0 */
};

struct cli_option {
	const char *name;          /* long name, without "--" */
	char short_name;           /* 0: none */
	const char *arg;           /* the argument's placeholder ("FILE"); NULL for a flag */
	const char *help;          /* one paragraph: the printers wrap it */
	const char *def;           /* the default, shown as "(default: DEF)"; NULL: none */
	const char *group;         /* its heading ("options", "SSH options"); the options of
				    * one group are consecutive */
	enum cli_complete complete; /* what the argument completes to */
	cli_setter *set;
	size_t off;                /* where set() stores, in dst: offsetof(struct ..., field) */
};

/* A word a command takes as its first operand (`rules explain ID`), and what the
 * operand after it completes to. */
struct cli_word {
	const char *word;
	enum cli_complete next;
};

struct cli_command {
	const char *name;          /* "check"; the root's: "meshdoctor" */
	int (*main)(int argc, char **argv); /* given argc - 1, argv + 1; NULL for the root */
	const char *summary;       /* one line for the command list (the root's: the man
				    * page's NAME line) */
	const char *synopsis;      /* what follows "meshdoctor NAME ", one form a line */
	const char *description;   /* paragraphs apart by a blank line; lines are kept in
				    * --help and filled in the man page */
	const struct cli_option *options; /* ends with { 0 } */
	enum cli_complete operands; /* what the operands complete to */
	const struct cli_word *words; /* CO_WORDS: ends with { 0 } */
	const struct cli_command *const *commands; /* the root's subcommands, NULL-ended */
	bool exit_codes;           /* --help lists the exit codes */
	bool usage_on_bad_option;  /* an unknown option prints the whole usage (else a
				    * "Try 'meshdoctor NAME --help'." line) */
	bool hidden;               /* left out of the command list and the completion */
};

/* The root (cli/main.c): its options and, in .commands, every subcommand. */
extern const struct cli_command cli_root;

/* One exit code and what it means: the table --help and the man page print. */
struct cli_exit_code {
	int code;
	const char *meaning;
};
extern const struct cli_exit_code cli_exit_codes[];
extern const size_t cli_n_exit_codes;

#define CLI_MAX_OPTIONS 40

/* getopt_long's tables for one command: long option i returns CLI_LONG_BASE + i. */
struct cli_getopt {
	struct option longopts[CLI_MAX_OPTIONS + 1];
	char shortopts[2 * CLI_MAX_OPTIONS + 1];
};
#define CLI_LONG_BASE 256

/* Fills g from options.  0, or -1 when there are more than CLI_MAX_OPTIONS. */
int cli_getopt_build(const struct cli_option *options, struct cli_getopt *g);

/* The index in options of what getopt_long returned (a short letter or CLI_LONG_BASE +
 * i), or -1 ('?', ':', anything else). */
int cli_option_index(const struct cli_option *options, int c);

/* The option that arg names exactly ("--name" or "-c"), or NULL. */
const struct cli_option *cli_option_find(const struct cli_option *options, const char *arg);

#define CLI_GO_ON (-1)

/* Parses the options of argv (argv[0]: the command's name) into dst, through each
 * option's set(), in the order given; operands may come between options.  CLI_GO_ON
 * when the command goes on, with its operands from argv[optind]; else the exit code to
 * return: MD_EXIT_OK after --help (printed on stdout) or an option that did the work,
 * MD_EXIT_USAGE after a bad option or value (said on stderr). */
int cli_parse(const struct cli_command *cmd, int argc, char **argv, void *dst);

/* Prints cmd's --help: usage, description, its commands (the root), its options by
 * group, wrapped to 80 columns, and the exit codes when it lists them. */
void cli_help(FILE *f, const struct cli_command *cmd);

/* Writes an option's help and its default ("(default: DEF)") to f, as they appear in
 * --help and the man page (before wrapping or escaping). */
void cli_option_text(FILE *f, const struct cli_option *o);

/* Generic setters; off names a field of the type said. */
cli_setter cli_set_string;   /* const char *: arg */
cli_setter cli_set_true;     /* bool: true */
cli_setter cli_set_false;    /* bool: false */
cli_setter cli_set_port;     /* int: 1..65535, else "--NAME 'ARG': give a port number ..." */
cli_setter cli_set_readable; /* const char *: arg, when the file can be read */
cli_setter cli_set_help;     /* nothing: CLI_HELP */

#define CLI_OPTION_HELP(grp)                                                               \
	{ .name = "help", .short_name = 'h', .help = "show this help and exit", .group = grp, \
	  .set = cli_set_help }

/* The man page of root and its subcommands (roff, man(7)).  0, or -1 on a write error. */
int cli_man(FILE *f, const struct cli_command *root);

/* The bash completion script for root and its subcommands (function _meshdoctor).
 * 0, or -1 on a write error. */
int cli_bash_completion(FILE *f, const struct cli_command *root);

/* Writes what gen() makes for root to standard output at once (never half a file).  The
 * exit code: MD_EXIT_OK, else MD_EXIT_UNKNOWN with one line naming what (out of memory,
 * a write error). */
int cli_emit(int (*gen)(FILE *f, const struct cli_command *root), const struct cli_command *root,
	     const char *what);

#endif
