/* cli.h — what the subcommands share: exit codes, rule loading, output. */
#ifndef MD_CLI_H
#define MD_CLI_H

#include "cli/options.h"
#include "core/buf.h"
#include "rules/engine.h"

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes (monitoring-plugins convention, so `check` runs as a Nagios/Icinga check). */
enum {
	MD_EXIT_OK = 0,
	MD_EXIT_WARNING = 1,
	MD_EXIT_CRITICAL = 2,
	MD_EXIT_UNKNOWN = 3,
	MD_EXIT_USAGE = 64, /* bad command line or input (sysexits EX_USAGE) */
};

/* The subcommands, each described by its table (options.h), listed in cli/main.c. */
extern const struct cli_command cmd_check, cmd_fix, cmd_prepare, cmd_provision, cmd_probes, cmd_rules, cmd_report, cmd_version,
	cmd_completion, cmd_man;

/* One line to stderr: "meshdoctor: <msg>", control characters shown as \xNN. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The rules directory: --rules DIR, else $MESHDOCTOR_RULES, else rules/ beside the binary
 * (a build tree), else the installed one.  Loads it into rs; on error prints one line
 * (FILE:LINE: message) and returns non-zero.  *dir_out is the directory used (static). */
int cli_load_rules(const char *opt_dir, struct md_ruleset *rs, const char **dir_out);

/* The standard stream PATH names: STDOUT_FILENO for "-", /dev/stdout, /dev/fd/1,
 * /proc/self/fd/1 or another path to the file or device standard output writes to;
 * likewise STDERR_FILENO; -1 for any other path. */
int cli_output_fd(const char *path);

/* Writes buf to path at once.  A standard stream (cli_output_fd) is written through its
 * descriptor, so a redirected file is neither replaced nor overwritten from its start; a
 * device, FIFO or socket, and a descriptor name (/dev/fd/N, /dev/stdout, /dev/stderr,
 * /proc/self/fd/N, /proc/PID/fd/N), are opened (never created) and appended to in place;
 * any other file, new or not (under /dev/shm too), is replaced by a temporary file in
 * the same directory (mode 0600 while written, then the mode of the file it replaces, or
 * 0644 less the umask) and rename(), so a reader never sees half a report and a failure
 * leaves no temporary file.  0 or -1 (message printed). */
int cli_write_output(const char *path, const struct md_buf *buf);

/* The file a report to PATH lands in, as an absolute name into out (n bytes): the real
 * path of what exists; else the real path of its directory and its last component (that
 * of the file a dangling symbolic link names), so ./a.json and a.json give one name before
 * either exists.  0, or -1 when the directory does not resolve or out is too small. */
int cli_output_name(const char *path, char *out, size_t n);

/* Checks, before any probe runs, that PATH ("-" is stdout) can be written as
 * cli_write_output() will: not a directory; what is written in place exists and is
 * writable; any other file is in a directory that exists and is writable.  Prints a
 * one-line error naming OPTION and returns -1 when it cannot. */
int cli_check_output_path(const char *option, const char *path);

/* Colours on stdout: only on a TTY and when NO_COLOR is unset (https://no-color.org). */
bool cli_use_color(int fd);

/* The whole of path ('-': standard input) into b, at most b's cap (b->max bytes; what
 * names what the file should be in the message for a larger one).  0, or -1 said. */
int cli_read_file(const char *path, struct md_buf *b, const char *what);

/* --timeout DURATION into an int64_t of milliseconds: cli_parse_duration_ms(), and at
 * least CLI_MIN_TIMEOUT_MS, under which no connect or handshake could even be tried. */
#define CLI_MIN_TIMEOUT_MS 100
int cli_set_timeout(const struct cli_option *o, void *dst, const char *arg);
/* --login-server URL: a URL whose host is a name or an address (const char *). */
int cli_set_login_server(const struct cli_option *o, void *dst, const char *arg);

/* The SSH options of a command whose argument struct type has a struct md_check_opts
 * named co (check, prepare): one definition, so --help, the man page and the completion
 * say the same of them for every command. */
#define CLI_TARGET_OPTIONS(type, grp)                                                      \
	{ "user", 'l', "USER", "SSH user", "from ~/.ssh/config, else $USER", grp, CO_NONE,   \
	  cli_set_string, offsetof(type, co.target.user) },                                   \
	{ "port", 'p', "PORT", "SSH port", "from ~/.ssh/config, else 22", grp, CO_NONE,      \
	  cli_set_port, offsetof(type, co.target.port) },                                     \
	{ "identity", 'i', "FILE", "private key to offer (only this one; the agent is still " \
	  "asked)", NULL, grp, CO_FILE, cli_set_string, offsetof(type, co.target.identity) }, \
	{ "known-hosts", 0, "FILE", "known_hosts file", "from ~/.ssh/config", grp, CO_FILE,  \
	  cli_set_string, offsetof(type, co.target.known_hosts) },                            \
	{ "ssh-config", 'F', "FILE", "read this ssh_config instead of ~/.ssh/config", NULL,  \
	  grp, CO_FILE, cli_set_string, offsetof(type, co.target.ssh_config) },               \
	{ "no-ssh-config", 0, NULL, "do not read ~/.ssh/config (through `ssh -G`)", NULL,    \
	  grp, CO_NONE, cli_set_true, offsetof(type, co.target.no_ssh_config) }

/* What a command's main returns as its exit code rc: at once (_exit, after a flush) while
 * a name lookup past its deadline may still run on its own thread, else rc. */
int cli_exit(int rc);

/* The report tree (report/report.h) of one host's check, or NULL when out of memory. */
struct md_host_result;
cJSON *cli_report_of(const struct md_host_result *res, const struct md_ruleset *rules,
		     const char *rules_dir, bool show_secrets);

/* cli/prompt.c.  A yes/no question on the terminal (/dev/tty): 1 yes, 0 no (anything but
 * y/yes), -1 no terminal. */
int cli_confirm(const char *question);
/* A secret typed on the terminal without echo, into buf (NUL-ended, at most n - 1
 * bytes): its length, or -1 (no terminal, end of input, longer than buf). */
int cli_read_secret_tty(const char *prompt, char *buf, size_t n);
/* The first line of standard input as a secret (--password-stdin): as above. */
int cli_read_secret_stdin(char *buf, size_t n);

/* A duration → milliseconds, rounded up to a whole one: a bare number is seconds ("4",
 * "1.5"), or with a unit "4s", "2500ms", "2m".  0 for zero; -1 when malformed (a sign,
 * spaces, an exponent, another unit) or over a day. */
int64_t cli_parse_duration_ms(const char *s);

#endif
