/* hostcmd.h — building the command lines meshdoctor sends to a host's shell.
 *
 * Anything that came from outside (a target's name, a path, a name the host printed, a
 * secret) goes into a command only through these quoting helpers, so that it stays one
 * word or one string whatever it contains.  POSIX commands are run under a host-side limit
 * by core/hostbatch (its md_lim: `timeout`, else perl's alarm); Windows commands go through
 * PowerShell, given the script base64-encoded (-EncodedCommand) so that neither cmd.exe
 * nor PowerShell parses any of it, and, when they need a limit, through one script that
 * starts the program and ends it at the limit (md_hostcmd_windows_limited). */
#ifndef MD_HOSTCMD_H
#define MD_HOSTCMD_H

#include "core/buf.h"
#include "core/err.h"

#include <stdbool.h>

/* The prefix every PowerShell command line starts with; the base64 script follows. */
#define MD_HOSTCMD_POWERSHELL "powershell -NoProfile -NonInteractive -EncodedCommand "

/* PowerShell's -EncodedCommand argument for script: its UTF-8 text as UTF-16LE, in base64
 * ("powershell -?").  *out is malloc'ed (NULL on failure); MD_EINVAL when script is not
 * valid UTF-8 (overlong forms, surrogates and code points past U+10FFFF included),
 * MD_ENOMEM. */
int md_hostcmd_encode_powershell(const char *script, char **out, struct md_err *err);

/* The whole command line: MD_HOSTCMD_POWERSHELL and the encoded script.  *out malloc'ed;
 * errors as md_hostcmd_encode_powershell. */
int md_hostcmd_powershell(const char *script, char **out, struct md_err *err);

/* The PowerShell command line that starts program file with the argument string args
 * (ProcessStartInfo: no shell in between), copies its stdout and stderr through byte for
 * byte, and ends it after limit_s seconds, exiting 124 like `timeout`; a program that
 * cannot be started exits 127, as a shell says.  file and args are put in single-quoted
 * PowerShell strings (md_hostcmd_ps_quote), so no value can end them.  *out malloc'ed;
 * MD_EINVAL for limit_s < 1 or text that is not UTF-8, MD_ENOMEM. */
int md_hostcmd_windows_limited(const char *file, const char *args, int limit_s, char **out,
			       struct md_err *err);

/* True when a command run under a host-side limit of limit_s was ended by that limit:
 * exit 124 (`timeout`, or the Windows script), 137 (SIGKILL) or 142 (SIGALRM, perl's
 * alarm), or the signal ALRM / KILL itself (exit_signal may be NULL).  Always false with
 * limit_s 0 (no limit: the status is the program's own). */
bool md_hostcmd_ended_by_limit(int limit_s, int exit_status, const char *exit_signal);

/* Appends word to out as one POSIX shell word: in single quotes, each quote written as
 * '\''.  Nothing inside single quotes is special to sh (POSIX XCU 2.2.2).  MD_OK,
 * MD_ENOMEM, MD_ETOOBIG (out's cap). */
int md_hostcmd_sh_quote(struct md_buf *out, const char *word);

/* Appends s to out as a single-quoted PowerShell string: '...' with every quote doubled,
 * including the typographic quotes U+2018 to U+201B that PowerShell also takes for one
 * (about_Quoting_Rules).  MD_OK, MD_ENOMEM, MD_ETOOBIG. */
int md_hostcmd_ps_quote(struct md_buf *out, const char *s);

#endif
