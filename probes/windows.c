/* windows.c — the Windows probe: can this SSH session reach the Tailscale daemon's named
 * pipe, and if not, why (docs/windows.md; seeds/001_a31a29467ab79340.txt,
 * seeds/000_7a33896b2accb699.txt; reference/tailscale-headscale-formats.md §4.1, §5).
 *
 * It runs after the host probe, and only when host.os is "windows" (elsewhere it records
 * windows.applies = false and runs nothing).  One PowerShell script, one round trip: sent
 * with -EncodedCommand (core/hostcmd.h), it reads the service, the processes, the CLI, the
 * pipes and an open attempt of each, the session's logon type, elevation and id, quser,
 * the registry policy values, the state file, the join script and `tailscale status
 * --json`, and prints them in the sections of probes/windows.h, which windows_parse.c
 * reads apart.  The script carries its own host-side limit (every program it starts is
 * ended at what is left of it; past it, it exits 124) because Windows has no `timeout`
 * to put around PowerShell.  It never prints the AuthKey policy value, only whether it
 * is there: a secret must not reach the output, so it is never read into it. */
#include "probes/windows.h"

#include "core/buf.h"
#include "core/facts.h"
#include "core/hostcmd.h"
#include "core/session.h"
#include "core/text.h"
#include "probes/probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#define P "windows"
/* The script's limit is what is left of the probe's deadline less this margin for the
 * answer to come back, and at most LIMIT_MAX_MS. */
#define MARGIN_MS 1500
#define LIMIT_MAX_MS 20000

/* ==== the script ======================================================================= */

/* Compact on purpose: cmd.exe cuts command lines at 8191 characters, and the base64 of
 * UTF-16LE is 8/3 of the script's length (a unit test checks the fit).  PowerShell 5.1
 * syntax.  X runs a program without a shell under the time left; O makes one line. */
static const char script_fmt[] =
	"$ErrorActionPreference='SilentlyContinue';$ProgressPreference='SilentlyContinue'\n"
	"[Console]::OutputEncoding=New-Object Text.UTF8Encoding $false\n"
	"$n='%s';$L=%ld;$w=[Diagnostics.Stopwatch]::StartNew()\n"
	"function B($s){\"#md $n begin $s\"};function E($s){\"#md $n end $s\"}\n"
	"function O($s){(\"$s\" -replace '[\\r\\n\\t]+',' ').Trim()}\n"
	"function X($f,$a,$m){$i=New-Object Diagnostics.ProcessStartInfo $f,$a\n"
	"$i.UseShellExecute=$false;$i.RedirectStandardOutput=$true;$i.RedirectStandardError=$true\n"
	"try{$p=[Diagnostics.Process]::Start($i)}catch{return @{c=127;o='';e=$_.Exception.Message}}\n"
	"$o=$p.StandardOutput.ReadToEndAsync();$e=$p.StandardError.ReadToEndAsync()\n"
	"if(-not $p.WaitForExit([Math]::Max(1,[Math]::Min($m,$L-$w.ElapsedMilliseconds)))){\n"
	"try{$p.Kill()}catch{};return @{c=124;o='';e=\"$f ended by its limit\"}}\n"
	"@{c=$p.ExitCode;o=$o.Result;e=$e.Result}}\n"
	"B service;$s=Get-Service Tailscale;if($s){\"status=$($s.Status)\";\"start=$($s.StartType)\"}"
	"else{'status=missing'};E service\n"
	"B proc;foreach($x in 'tailscaled','tailscale-ipn'){$p=@(Get-Process $x)\n"
	"if($p){\"$x=\"+(($p|%%{\"$($_.Id)/$($_.SessionId)\"}) -join ' ')}else{\"$x=none\"}};E proc\n"
	"B cli;$c=$null;foreach($d in \"$env:ProgramFiles\\Tailscale\",\"${env:ProgramFiles(x86)}\\Tailscale IPN\"){\n"
	"if(Test-Path \"$d\\tailscale.exe\"){$c=\"$d\\tailscale.exe\";break}}\n"
	"if($c){\"path=$c\";\"version=\"+(Get-Item $c).VersionInfo.ProductVersion}else{'path=none'};E cli\n"
	"B pipes;$k=@('" MD_WIN_PIPE_REAL "','" MD_WIN_PIPE_SEED "')\n"
	"$t=@([IO.Directory]::GetFiles('\\\\.\\pipe\\')|%%{$_.Substring(9)}|?{$_ -match 'tailscale'})\n"
	"foreach($q in @($t+$k|select -Unique)){$r='ok';$m='';$a=New-Object IO.Pipes.NamedPipeClientStream '.',$q,'InOut'\n"
	"try{$a.Connect(500)}catch{$x=$_.Exception;if($x.InnerException){$x=$x.InnerException}\n"
	"$r='error';$m=\"$($x.GetType().Name): $(O $x.Message) (HRESULT 0x\"+('{0:X8}' -f $x.HResult)+')'}\n"
	"$a.Dispose();\"$q`t$(if($t -contains $q){'listed'}else{'unlisted'})`t$r`t$m\"};E pipes\n"
	"B whoami;(X whoami.exe '/groups /fo csv /nh' 5000).o;E whoami\n"
	"B session;\"id=$((Get-Process -Id $PID).SessionId)\";E session\n"
	"B quser;$r=X quser.exe '' 5000;$r.o;$r.e;\"exit=$($r.c)\";E quser\n"
	"B reg;foreach($h in 'HKLM:\\SOFTWARE\\Policies\\Tailscale','HKLM:\\SOFTWARE\\Tailscale IPN'){\n"
	"$g=Get-ItemProperty $h;if(-not $g){\"$h`t-`tabsent\";continue}\n"
	"foreach($v in 'LoginURL','UnattendedMode'){if($g.$v -ne $null){\"$h`t$v`t$(O $g.$v)\"}}\n"
	"foreach($v in @('AuthKey')){if($g.$v -ne $null){\"$h`t$v`tpresent\"}}};E reg\n"
	"B files;\"server-state.conf=$(Test-Path \"$env:ProgramData\\Tailscale\\server-state.conf\")\"\n"
	"$j='C:\\temp\\join-mesh.ps1';\"join-mesh.ps1=$(Test-Path $j)\"\n"
	"if(Test-Path $j){\"acl=\"+(O (((Get-Acl $j).Access|%%{\"$($_.IdentityReference):$($_.FileSystemRights)\"}) -join '; '))};E files\n"
	"if($c){$r=X $c 'status --json' 8000;B status;\"exit=$($r.c)\";($r.e -split \"`r?`n\")|?{$_}|%%{\"err=$_\"};E status\n"
	"B status-json;$r.o;E status-json}\n"
	"$z=[int]($w.ElapsedMilliseconds -gt $L);\"#md $n done $z\";if($z){exit 124}\n";

int md_win_script(const char *nonce, long limit_ms, char **out, struct md_err *err)
{
	size_t n;

	*out = NULL;
	if (!nonce || strlen(nonce) != MD_WIN_NONCE_LEN || strspn(nonce, "0123456789abcdef") != MD_WIN_NONCE_LEN)
		return md_err_set(err, MD_EINVAL, P, "script: bad nonce");
	if (limit_ms < 1000)
		return md_err_set(err, MD_EINVAL, P, "script: a limit under a second (%ld ms)", limit_ms);
	n = sizeof(script_fmt) + 64;
	if (!(*out = malloc(n)))
		return md_err_set(err, MD_ENOMEM, P, "script: out of memory");
	snprintf(*out, n, script_fmt, nonce, limit_ms);
	return MD_OK;
}

/* ==== recording what it read ============================================================ */

static const char *tri(int v, const char *yes, const char *no)
{
	return v < 0 ? "not known" : v ? yes : no;
}

static int record_service(struct md_facts *f, const struct md_win_state *s)
{
	const char *v = s->service[0] ? s->service : "unknown";
	int rc;

	rc = md_fact_strf(f, P, "windows.service", v, "`Get-Service Tailscale`: %s%s%s",
			  strcmp(v, "missing") == 0 ? "no such service" : v,
			  s->service_start[0] ? ", start type " : "", s->service_start);
	if (rc == MD_OK)
		rc = md_fact_check(f, "windows.service", strcmp(v, "running") == 0 ? MD_CHECK_OK : MD_CHECK_FAIL,
				   "Tailscale service running");
	if (rc == MD_OK && s->daemon_running >= 0)
		rc = md_fact_boolf(f, P, "windows.daemon_process", s->daemon_running == 1,
				   "`Get-Process tailscaled`: %s", s->daemon_running ? s->daemon_procs : "none");
	if (rc == MD_OK && s->tray_running >= 0)
		rc = md_fact_boolf(f, P, "windows.tray_process", s->tray_running == 1,
				   "`Get-Process tailscale-ipn` (pid/session): %s",
				   s->tray_running ? s->tray_procs : "none");
	if (rc == MD_OK && s->cli_path[0])
		rc = md_fact_strf(f, P, "windows.cli_path", s->cli_path, "%s",
				  strcmp(s->cli_path, "none") == 0
					  ? "tailscale.exe is in neither C:\\Program Files\\Tailscale nor C:\\Program Files (x86)\\Tailscale IPN"
					  : "Test-Path: tailscale.exe found there");
	if (rc == MD_OK && s->cli_version[0])
		rc = md_fact_strf(f, P, "windows.cli_version", s->cli_version,
				  "ProductVersion of %s", s->cli_path);
	return rc;
}

/* The fact name of a pipe: the two meshdoctor knows by name, others by their place. */
static void pipe_fact(const struct md_win_pipe *p, size_t i, char *out, size_t n)
{
	if (strcasecmp(p->name, MD_WIN_PIPE_REAL) == 0)
		snprintf(out, n, "windows.pipe.tailscaled");
	else if (strcasecmp(p->name, MD_WIN_PIPE_SEED) == 0)
		snprintf(out, n, "windows.pipe.tailscale_ipn");
	else
		snprintf(out, n, "windows.pipe.other%zu", i);
}

static int record_pipes(struct md_facts *f, const struct md_win_state *s)
{
	char name[64], listed[600] = "", label[200];
	int rc = MD_OK;

	for (size_t i = 0; i < s->n_pipes && rc == MD_OK; i++) {
		const struct md_win_pipe *p = &s->pipes[i];
		char w32[48] = "";

		pipe_fact(p, i, name, sizeof(name));
		if (p->win32 >= 0)
			snprintf(w32, sizeof(w32), ", Win32 error %ld", p->win32);
		rc = md_fact_strf(f, P, name, p->open, "open \\\\.\\pipe\\%s (%s under \\\\.\\pipe\\, 500 ms): %s%s",
				  p->name, p->listed ? "listed" : "not listed",
				  strcmp(p->open, "ok") == 0 ? "opened" : p->error, w32);
		snprintf(label, sizeof(label), "open \\\\.\\pipe\\%s", p->name);
		if (rc == MD_OK)
			rc = md_fact_check(f, name, strcmp(p->open, "ok") == 0 ? MD_CHECK_OK :
					   strcmp(p->open, "absent") == 0 ? MD_CHECK_SKIP : MD_CHECK_FAIL, label);
		if (p->listed)
			snprintf(listed + strlen(listed), sizeof(listed) - strlen(listed), "%s\\\\.\\pipe\\%s",
				 listed[0] ? ", " : "", p->name);
	}
	if (rc == MD_OK && s->n_pipes)
		rc = md_fact_strf(f, P, "windows.pipes", listed[0] ? listed : "none",
				  "[IO.Directory]::GetFiles('\\\\.\\pipe\\'), names containing \"tailscale\"");
	return rc;
}

static int record_session(struct md_facts *f, const struct md_win_state *s)
{
	int rc = MD_OK;

	if (s->logon[0])
		rc = md_fact_strf(f, P, "windows.logon", s->logon, "`whoami /groups`: %s",
				  s->logon_group);
	else
		rc = md_fact_strf(f, P, "windows.logon", "unknown",
				  "`whoami /groups` named none of NETWORK, INTERACTIVE, BATCH, SERVICE");
	if (rc == MD_OK && s->elevated >= 0)
		rc = md_fact_boolf(f, P, "windows.elevated", s->elevated == 1,
				   "`whoami /groups`: BUILTIN\\Administrators (S-1-5-32-544) %s",
				   s->elevated ? "enabled" : "deny-only or absent");
	if (rc == MD_OK && s->session_id >= 0)
		rc = md_fact_intf(f, P, "windows.session_id", s->session_id,
				  "(Get-Process -Id $PID).SessionId");
	if (rc == MD_OK && s->interactive_users >= 0)
		rc = md_fact_intf(f, P, "windows.interactive_users", s->interactive_users,
				  "`quser`: %s", s->interactive_line[0] ? s->interactive_line : "no Active session");
	return rc;
}

static int record_config(struct md_facts *f, const struct md_win_state *s)
{
	int rc = MD_OK;

	if (s->login_url[0])
		rc = md_fact_strf(f, P, "windows.login_url", s->login_url, "%s\\LoginURL", s->login_url_key);
	if (rc == MD_OK && s->unattended[0])
		rc = md_fact_strf(f, P, "windows.unattended", s->unattended, "%s\\UnattendedMode",
				  s->unattended_key);
	/* present or absent only: the value itself is never read into the output */
	if (rc == MD_OK && s->authkey >= 0)
		rc = md_fact_strf(f, P, "windows.authkey_policy", s->authkey == 1 ? "present" : "absent",
				  "AuthKey under HKLM\\SOFTWARE\\Policies\\Tailscale or HKLM\\SOFTWARE\\Tailscale IPN (the value is never read)");
	if (rc == MD_OK && s->state_file >= 0)
		rc = md_fact_boolf(f, P, "windows.state_file", s->state_file == 1,
				   "Test-Path %%ProgramData%%\\Tailscale\\server-state.conf: %s",
				   tri(s->state_file, "True", "False"));
	if (rc == MD_OK && s->join_script >= 0)
		rc = md_fact_boolf(f, P, "windows.join_script", s->join_script == 1,
				   "Test-Path C:\\temp\\join-mesh.ps1: %s", tri(s->join_script, "True", "False"));
	if (rc == MD_OK && s->join_acl[0])
		rc = md_fact_strf(f, P, "windows.join_script_acl", s->join_acl, "(Get-Acl C:\\temp\\join-mesh.ps1).Access");
	return rc;
}

static int record_status(struct md_facts *f, const struct md_win_state *s)
{
	int rc;

	if (s->status_exit < 0)
		return md_fact_strf(f, P, "windows.status_exit", "not_run", "%s",
				    strcmp(s->cli_path, "none") == 0 ? "no tailscale.exe to run"
								    : "`tailscale status --json` gave no answer");
	rc = md_fact_intf(f, P, "windows.status_exit", s->status_exit,
			  "`tailscale status --json` from this session: exit %d", s->status_exit);
	if (rc == MD_OK && s->status_error[0])
		rc = md_fact_strf(f, P, "windows.status_error", s->status_error,
				  "`tailscale status --json` stderr: %s", s->status_error);
	if (rc == MD_OK && s->backend_state[0])
		rc = md_fact_strf(f, P, "windows.backend_state", s->backend_state,
				  "`tailscale status --json`: \"BackendState\": \"%s\"%s%s", s->backend_state,
				  s->cli_json_version[0] ? ", Version " : "", s->cli_json_version);
	if (rc == MD_OK)
		rc = md_fact_check(f, "windows.status_exit", s->status_exit == 0 ? MD_CHECK_OK : MD_CHECK_FAIL,
				   "tailscale status from this SSH session");
	return rc;
}

int md_win_record(struct md_facts *f, const struct md_win_state *s)
{
	int rc = record_service(f, s);

	if (rc == MD_OK)
		rc = record_pipes(f, s);
	if (rc == MD_OK)
		rc = record_session(f, s);
	if (rc == MD_OK)
		rc = record_config(f, s);
	if (rc == MD_OK)
		rc = record_status(f, s);
	return rc;
}

/* ==== running it ========================================================================= */

/* windows.script: how the run went — "ok", "partial" (sections missing or cut), "limit"
 * (the script's own limit ended steps), "no_answer" (no frame: PowerShell did not run it),
 * "timeout", "error". */
static int record_script(struct md_facts *f, int rc, const struct md_exec *x, const struct md_err *e,
			 const struct md_win_state *s, long limit_ms)
{
	char first[300], line[300];
	const char *v;

	/* the host's own stderr (PowerShell could not run the script): never raw into evidence */
	md_first_line(md_buf_str(&x->err), first, sizeof(first));
	md_printable(first, line, sizeof(line));
	if (rc == MD_ETIMEOUT)
		return md_fact_strf(f, P, "windows.script", "timeout", "PowerShell script: %s", e->msg);
	if (rc != MD_OK)
		return md_fact_strf(f, P, "windows.script", "error", "PowerShell script: %s", e->msg);
	if (!s->framed)
		v = "no_answer";
	else if (md_hostcmd_ended_by_limit((int)((limit_ms + 999) / 1000), x->exit_status, x->exit_signal) ||
		 s->over_limit)
		v = "limit";
	else if (!s->done || s->missing[0] || s->truncated[0])
		v = "partial";
	else
		v = "ok";
	return md_fact_strf(f, P, "windows.script", v,
			    "powershell -EncodedCommand (one script, limit %ld ms): exit %d%s%s%s%s%s%s%s%s",
			    limit_ms, x->exit_status, s->missing[0] ? "; sections missing: " : "", s->missing,
			    s->truncated[0] ? "; cut short: " : "", s->truncated,
			    s->ps_error[0] ? "; PowerShell error: " : "", s->ps_error,
			    line[0] ? "; stderr: " : "", line);
}

static void make_nonce(char *out)
{
	unsigned char r[MD_WIN_NONCE_LEN / 2];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		/* no entropy: a fixed nonce still frames the output, it only guards less */
		memset(r, 0x5a, sizeof(r));
	}
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

static int run_script(struct md_ctx *ctx, struct md_facts *f, struct md_err *err)
{
	char nonce[MD_WIN_NONCE_LEN + 1], *script = NULL, *cmd = NULL;
	long limit_ms = LIMIT_MAX_MS;
	struct md_win_state s;
	struct md_exec x;
	struct md_err e = { 0 };
	int rc;

	if (ctx->deadline.end_ms) {
		int64_t left = md_deadline_left_ms(&ctx->deadline) - MARGIN_MS;

		limit_ms = left < 1000 ? 1000 : left > LIMIT_MAX_MS ? LIMIT_MAX_MS : (long)left;
	}
	make_nonce(nonce);
	md_exec_init(&x);
	md_win_state_init(&s);
	rc = md_win_script(nonce, limit_ms, &script, err);
	if (rc == MD_OK)
		rc = md_hostcmd_powershell(script, &cmd, err);
	if (rc != MD_OK)
		goto out;
	rc = md_session_exec(ctx->session, cmd, NULL, 0, &x, &ctx->deadline, &e);
	if (rc == MD_OK)
		md_win_parse(x.out.data, x.out.len, nonce, &s);
	rc = record_script(f, rc, &x, &e, &s, limit_ms);
	if (rc == MD_OK && s.framed)
		rc = md_win_record(f, &s);
	if (rc != MD_OK)
		rc = md_err_set(err, rc, P, "recording facts: %s", md_status_name(rc));
out:
	md_exec_cleanup(&x);
	free(cmd);
	free(script);
	return rc;
}

static int win_run(struct md_ctx *ctx, struct md_facts *f, struct md_err *err)
{
	const char *os = md_facts_str(f, "host.os");

	if (!md_ctx_session(ctx))
		return md_err_set(err, MD_ESKIP, P, "no SSH session: the Windows probe runs on the host");
	if (!os || strcmp(os, "windows") != 0) {
		int rc = md_fact_boolf(f, P, "windows.applies", false,
				       "host.os is %s: nothing is run on the host", os ? os : "not known");

		if (rc == MD_OK)
			rc = md_fact_check(f, "windows.applies", MD_CHECK_SKIP, "Windows named-pipe checks (not Windows)");
		return rc == MD_OK ? MD_OK : md_err_set(err, rc, P, "out of memory");
	}
	if (md_fact_boolf(f, P, "windows.applies", true, "host.os is windows") != MD_OK)
		return md_err_set(err, MD_ENOMEM, P, "out of memory");
	return run_script(ctx, f, err);
}

static const char *const win_provides[] = {
	"windows.applies", "windows.script", "windows.service", "windows.daemon_process",
	"windows.tray_process", "windows.cli_path", "windows.cli_version", "windows.pipes",
	"windows.pipe.*", "windows.logon", "windows.elevated", "windows.session_id",
	"windows.interactive_users", "windows.login_url", "windows.unattended",
	"windows.authkey_policy", "windows.state_file", "windows.join_script",
	"windows.join_script_acl", "windows.status_exit", "windows.status_error",
	"windows.backend_state", NULL,
};
static const char *const win_after[] = { "host", NULL };

const struct md_probe probe_windows = {
	.name = "windows",
	.desc = "Windows: the Tailscale service, its named pipes from this SSH session, logon type, policy (one PowerShell script)",
	.provides = win_provides,
	.needs = MD_NEEDS_SESSION,
	.after = win_after,
	.run = win_run,
};
