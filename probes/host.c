/* host.c — the host probe: host.os and host.sudo, over the session the ssh probe opened.
 *
 * On a POSIX host both questions are sections of the run's one batch (core/hostbatch.h):
 * `uname -s`, and `sudo -n true` (sudo matters where provisioning runs it).  A host whose
 * banner names OpenSSH_for_Windows gets no batch (the ssh probe told the session); one
 * whose shell cannot run `sh` at all loses the batch, and `cmd /c ver`, which works from
 * cmd.exe and PowerShell alike, answers instead.  During the run the session knows only what the banner
 * said (the other probes' POSIX steps find out for themselves); the engine gives it host.os
 * once the run is over, for whoever goes on using the session. */
#include "probes/host.h"

#include "core/text.h"
#include "core/buf.h"
#include "core/facts.h"
#include "core/hostbatch.h"
#include "core/session.h"
#include "probes/probe.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define P "host"
#define STEP_LIMIT_S 5

const char *md_host_os_from_uname(const char *out, char *buf, size_t n)
{
	size_t l = 0;

	while (*out && isspace((unsigned char)*out))
		out++;
	if (!*out || n == 0)
		return NULL;
	if (strncmp(out, "Linux", 5) == 0)
		return snprintf(buf, n, "linux"), buf;
	if (strncmp(out, "Darwin", 6) == 0)
		return snprintf(buf, n, "darwin"), buf;
	/* Git Bash, MSYS2 and Cygwin on Windows answer MINGW64_NT-10.0-19045 etc. */
	if (strncmp(out, "MINGW", 5) == 0 || strncmp(out, "MSYS", 4) == 0 ||
	    strncmp(out, "CYGWIN", 6) == 0)
		return snprintf(buf, n, "windows"), buf;
	while (out[l] && (isalnum((unsigned char)out[l]) || out[l] == '_' || out[l] == '-') &&
	       l + 1 < n) {
		buf[l] = (char)tolower((unsigned char)out[l]);
		l++;
	}
	buf[l] = '\0';
	return l ? buf : NULL;
}

const char *md_host_sudo_classify(int exit_status, const char *e)
{
	if (exit_status == 0)
		return "nopasswd";
	/* sudo(8): -n "non-interactive: ... if a password is required for the command to run,
	 * sudo will display an error message and exit".  A user with no sudoers entry gets
	 * the same message. */
	if (strstr(e, "a password is required") || strstr(e, "a terminal is required"))
		return "password";
	if (exit_status == 127 || strstr(e, "sudo: not found") ||
	    strstr(e, "sudo: command not found") || strstr(e, "No such file or directory"))
		return "absent";
	if (strstr(e, "is not in the sudoers file") || strstr(e, "is not allowed to") ||
	    strstr(e, "may not run sudo"))
		return "denied";
	return "error";
}

static bool banner_windows(const struct md_ctx *ctx)
{
	const char *os = md_session_os(ctx->session);

	return os && strcmp(os, "windows") == 0;
}

static int host_steps(const struct md_ctx *ctx, struct md_hostbatch *b, struct md_err *err)
{
	int rc;

	if (banner_windows(ctx))
		return MD_OK;
	rc = md_hostbatch_add(b, HOST_STEP_UNAME, HOST_CMD_UNAME, STEP_LIMIT_S, err);
	if (rc == MD_OK)
		rc = md_hostbatch_add(b, HOST_STEP_SUDO, HOST_CMD_SUDO, STEP_LIMIT_S, err);
	return rc;
}

/* What became of a step, for evidence: "exit 1: <stderr's first line>" or why it did not. */
static void step_ev(const struct md_host_out *o, char *out, size_t n)
{
	char line[200];

	if (o->state == MD_HOST_RAN) {
		md_first_line(md_buf_str(&o->err), line, sizeof(line));
		snprintf(out, n, "exit %d%s%s", o->exit_status, line[0] ? ": " : "", line);
	} else if (o->state == MD_HOST_SKIPPED) {
		snprintf(out, n, "not run: under a second of the deadline was left");
	} else {
		snprintf(out, n, "%s", o->why);
	}
}

static void record_sudo(struct md_facts *f, const struct md_host_out *o)
{
	struct md_buf err = o->err;
	const char *v;
	bool ok;

	if (o->state != MD_HOST_RAN) {
		char ev[300];

		step_ev(o, ev, sizeof(ev));
		md_fact_strf(f, P, "host.sudo", "unknown", "`sudo -n true`: %s", ev);
		md_fact_check(f, "host.sudo", MD_CHECK_WARN, "sudo: no answer");
		return;
	}
	md_buf_rstrip(&err);
	v = md_host_sudo_classify(o->exit_status, md_buf_str(&err));
	ok = strcmp(v, "nopasswd") == 0;
	md_fact_strf(f, P, "host.sudo", v, "`sudo -n true` exit %d%s%s", o->exit_status,
		     err.len ? ", stderr: " : "", md_buf_str(&err));
	md_fact_check(f, "host.sudo", ok ? MD_CHECK_OK : MD_CHECK_WARN,
		      ok ? "sudo without a password" :
		      strcmp(v, "password") == 0 ? "sudo needs a password" :
		      strcmp(v, "absent") == 0 ? "sudo is not installed" :
		      strcmp(v, "denied") == 0 ? "sudo refuses this user" : "sudo: error");
}

/* No POSIX answer: `cmd /c ver`, else the banner.  The OS, or NULL (host.os recorded as
 * unknown).  uname_ev says what `uname -s` gave. */
static const char *windows_or_unknown(struct md_ctx *ctx, struct md_facts *f, const char *uname_ev)
{
	struct md_exec x;
	struct md_err e = { 0 };
	char line[420];
	const char *os = NULL;
	int rc;

	md_exec_init(&x);
	rc = md_session_exec(ctx->session, HOST_CMD_VER, NULL, 0, &x, &ctx->deadline, &e);
	if (rc == MD_OK && x.exit_status == 0 && strstr(md_buf_str(&x.out), "Windows")) {
		os = "windows";
		md_first_line(md_buf_str(&x.out), line, sizeof(line));
		md_fact_strf(f, P, "host.os", os, "%s; `cmd /c ver` printed \"%s\"", uname_ev, line);
	} else if (banner_windows(ctx)) {
		os = "windows";
		md_fact_strf(f, P, "host.os", os, "%s; the banner names OpenSSH_for_Windows", uname_ev);
	} else if (rc == MD_ETIMEOUT) {
		md_fact_strf(f, P, "host.os", "unknown", "%s; `cmd /c ver`: %s", uname_ev, e.msg);
		md_fact_check(f, "host.os", MD_CHECK_WARN, "OS detection: no answer");
	} else {
		md_fact_strf(f, P, "host.os", "unknown", "%s; `cmd /c ver` did not answer either",
			     uname_ev);
		md_fact_check(f, "host.os", MD_CHECK_WARN, "OS detection: unknown");
	}
	md_exec_cleanup(&x);
	return os;
}

static int host_run(struct md_ctx *ctx, struct md_facts *f, struct md_err *err)
{
	struct md_host_out un, su;
	char os_buf[64], line[420], ev[600];
	const char *os = NULL;
	int rc = MD_OK;

	md_host_out_init(&un);
	md_host_out_init(&su);
	if (banner_windows(ctx)) {
		snprintf(ev, sizeof(ev), "`uname -s` not asked: the banner names OpenSSH_for_Windows");
	} else {
		rc = md_ctx_host(ctx, HOST_STEP_UNAME, HOST_CMD_UNAME, STEP_LIMIT_S, &ctx->deadline, &un, err);
		if (rc != MD_OK)
			goto out;
		md_first_line(md_buf_str(&un.out), line, sizeof(line));
		if (un.state == MD_HOST_RAN && un.exit_status == 0 &&
		    (os = md_host_os_from_uname(line, os_buf, sizeof(os_buf)))) {
			md_fact_strf(f, P, "host.os", os, "`uname -s` printed \"%s\"", line);
		} else if (un.state == MD_HOST_LOST && un.rc == MD_ETIMEOUT) {
			md_fact_strf(f, P, "host.os", "unknown", "`uname -s`: %s", un.why);
			md_fact_check(f, "host.os", MD_CHECK_WARN, "OS detection: no answer");
			goto out;
		}
		step_ev(&un, line, sizeof(line));
		snprintf(ev, sizeof(ev), "`uname -s` (via sh): %s", line);
	}
	if (!os && !(os = windows_or_unknown(ctx, f, ev)))
		goto out;
	snprintf(line, sizeof(line), "OS: %s", os);
	md_fact_check(f, "host.os", MD_CHECK_OK, line);
	if (strcmp(os, "windows") != 0) {
		rc = md_ctx_host(ctx, HOST_STEP_SUDO, HOST_CMD_SUDO, STEP_LIMIT_S, &ctx->deadline, &su, err);
		if (rc == MD_OK)
			record_sudo(f, &su);
	}
out:
	md_host_out_cleanup(&un);
	md_host_out_cleanup(&su);
	return rc == MD_ENOMEM ? md_err_set(err, MD_ENOMEM, P, "out of memory") : MD_OK;
}

static const char *const host_provides[] = { "host.os", "host.sudo", NULL };

const struct md_probe probe_host = {
	.name = "host",
	.desc = "the host over the session: its OS (uname -s, else cmd /c ver) and sudo -n",
	.provides = host_provides,
	.needs = MD_NEEDS_SESSION,
	.host_steps = host_steps,
	.run = host_run,
};
