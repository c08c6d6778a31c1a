/* windows.h — the Windows probe's script and the parser of what it prints (probes/windows.c,
 * probes/windows_parse.c), exposed for tests/unit/test_windows.c and the fuzz harness.
 *
 * The probe sends one PowerShell script per run (-EncodedCommand, core/hostcmd.h) and
 * reads back its stdout, framed in sections:
 *
 *   #md <nonce> begin <section>        a section starts
 *   ...                                its body, lines as below
 *   #md <nonce> end <section>          it is complete
 *   #md <nonce> done <over>            the script got to its end (<over> 1: past its limit)
 *
 * The nonce (MD_WIN_NONCE_LEN hex digits, random per run) keeps a program's own output
 * from faking a frame.  Lines end in "\r\n" or "\n"; a UTF-8 BOM before any line is
 * dropped; a section with no end frame is kept as far as it got and named in .truncated;
 * a section that never began is named in .missing; PowerShell error records
 * ("Get-Service : ...", "At line:1 char:5", "+ CategoryInfo ...") are skipped, the first one
 * kept in .ps_error.  Bodies (docs/windows.md has the full list):
 *
 *   service      status=<Running|Stopped|...|missing>, start=<Automatic|Manual|Disabled>
 *   proc         tailscaled=<pid/session ...|none>, tailscale-ipn=<same>
 *   cli          path=<tailscale.exe|none>, version=<ProductVersion>
 *   pipes        <name>\t<listed|unlisted>\t<ok|error>\t<Exception: message (HRESULT 0x...)>
 *   whoami       `whoami /groups /fo csv /nh` as printed
 *   session      id=<SessionId of the script's process>
 *   quser        `quser` stdout, stderr, then exit=<n>
 *   reg          <key>\t<value name>\t<value>   (AuthKey: "present", never the value)
 *                <key>\t-\tabsent                (the key does not exist)
 *   files        server-state.conf=<True|False>, join-mesh.ps1=<True|False>, acl=<...>
 *   status       exit=<n>, then err=<line> for each line tailscale.exe wrote to stderr
 *   status-json  `tailscale status --json` stdout as printed
 */
#ifndef MD_PROBES_WINDOWS_H
#define MD_PROBES_WINDOWS_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>

#define MD_WIN_NONCE_LEN 16
#define MD_WIN_MAX_PIPES 8
/* cmd.exe takes command lines of at most 8191 characters: the whole PowerShell line
 * (prefix + base64 of the UTF-16LE script) must fit, so the script stays small. */
#define MD_WIN_CMDLINE_MAX 8191
/* The two pipe names meshdoctor always tries: the open-source client's
 * (reference/tailscale-headscale-formats.md §5) and the one seeds/001 and seeds/000 name. */
#define MD_WIN_PIPE_REAL "ProtectedPrefix\\Administrators\\Tailscale\\tailscaled"
#define MD_WIN_PIPE_SEED "ProtectedPrefix\\LocalService\\tailscale-ipn"

struct md_win_pipe {
	char name[160];     /* under \\.\pipe\ */
	bool listed;        /* it was in the listing of \\.\pipe\ */
	char open[12];      /* "ok", "denied", "timeout", "absent" (unlisted, timed out),
			     * "busy", "not_found", "error" */
	char error[300];    /* the exception as the script printed it, "" when ok */
	long win32;         /* the Win32 error in its HRESULT (0x8007NNNN), -1 when none */
};

/* Tri-state values: -1 = not known (the section is missing or said nothing). */
struct md_win_state {
	bool framed;               /* at least one frame of this nonce */
	bool done;                 /* the done frame came */
	bool over_limit;           /* the done frame said the script passed its limit */
	char missing[160];         /* sections that never began, space-separated */
	char truncated[160];       /* sections without an end frame */
	char ps_error[300];        /* the first PowerShell error record line, "" if none */

	char service[24];          /* "running", "stopped", "missing", other status lower-cased; "" */
	char service_start[24];
	int daemon_running, tray_running;        /* tailscaled.exe, tailscale-ipn.exe */
	char daemon_procs[80], tray_procs[80];   /* "4242/0" (pid/session), "" */
	char cli_path[260];        /* "" unknown; "none": found in neither install dir */
	char cli_version[64];

	struct md_win_pipe pipes[MD_WIN_MAX_PIPES];
	size_t n_pipes;

	char logon[16];            /* "network", "interactive", "batch", "service", "" */
	char logon_group[120];     /* the group's name as whoami printed it */
	int elevated;              /* S-1-5-32-544 enabled (not deny-only) */
	int session_id;
	int interactive_users;     /* Active sessions in quser; 0 for "No User exists" */
	char interactive_line[160];/* the first Active line, or quser's message */

	char login_url[256];       /* policy key first, then the legacy key */
	char login_url_key[48];
	char unattended[32];
	char unattended_key[48];
	int authkey;               /* AuthKey value present in either key (0 once the reg
				    * section began, 1 when a line said present) */
	char reg_keys[120];        /* which keys exist: "policy", "ipn", "" */

	int state_file, join_script;
	char join_acl[300];

	int status_exit;           /* -1: not run (no CLI, or no section) */
	char status_error[400];    /* its stderr, lines joined by a space */
	char backend_state[32];    /* from the JSON, "" when it did not answer */
	char cli_json_version[64];
};

void md_win_state_init(struct md_win_state *s);

/* Parses the script's stdout (len bytes; NULs end nothing: they are dropped) framed by
 * nonce into *s (md_win_state_init()ed).  Never fails on what the host printed: missing
 * sections and garbage become "not known".  MD_OK; MD_EINVAL for a bad nonce. */
int md_win_parse(const char *out, size_t len, const char *nonce, struct md_win_state *s);

/* The pipe named name in s, or NULL.  Borrowed from s. */
const struct md_win_pipe *md_win_pipe_find(const struct md_win_state *s, const char *name);

struct md_facts;
/* Records the windows.* facts of what s says (all but windows.applies and windows.script,
 * which say how the run went), each with its evidence.  MD_OK, MD_ENOMEM. */
int md_win_record(struct md_facts *f, const struct md_win_state *s);

/* The script for nonce and a host-side limit of limit_ms (at least 1000): it ends with
 * exit 124 when its steps went past the limit (md_hostcmd_ended_by_limit()).  *out
 * malloc'ed; MD_EINVAL (bad nonce, limit), MD_ENOMEM. */
int md_win_script(const char *nonce, long limit_ms, char **out, struct md_err *err);

#endif
