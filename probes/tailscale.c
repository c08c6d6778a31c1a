/* tailscale.c — the Tailscale probe: the node's state on the target, read with its own CLI
 * over the session (docs/tailscale.md).
 *
 * Reads, nothing changed on the host: `tailscale status --json` (backend state, login,
 * key expiry, health, peers, the MagicDNS name, certificate domains, the tailnet),
 * `tailscale version` (the CLI's version, against the daemon's), `tailscale debug prefs`
 * (ControlURL: Tailscale's control server or a Headscale; WantRunning, CorpDNS, ...) and
 * `tailscale serve status --json` (what `tailscale serve` is configured to do); and
 * `tailscale netcheck` only when peers are relayed and none is direct.  On a POSIX host
 * the first four are sections of the run's one batch (core/hostbatch.h), each under its
 * own host-side limit; the command finds the CLI on PATH or in the macOS app bundle
 * itself, since the OS is not known yet when the batch is built.  On Windows each runs
 * alone through the PowerShell limit script (core/hostcmd.h).  The tls probe reads the
 * facts before its handshake (the MagicDNS name is the SNI tailscaled serves), so when the
 * reads run alone they get at most STATE_SHARE_PCT of what is left.  Parsing is split out
 * (probes/ts_parse.c, probes/ts_state.c) and unit-tested on fixtures/tailscale/; the state
 * facts are recorded by probes/ts_facts.c. */
#include "probes/tailscale.h"

#include "core/text.h"
#include "core/buf.h"
#include "core/facts.h"
#include "core/hostbatch.h"
#include "core/hostcmd.h"
#include "core/session.h"
#include "probes/probe.h"
#include "probes/ts_state.h"

#include <cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define P "tailscale"

/* Each read gets at most this long: MD_TS_STEP_LIMIT_S on the host, and our margin for
 * the answer to arrive. */
#define CMD_MAX_MS 5000
/* A read with less than this left is not started: recorded as skipped, "deadline spent". */
#define STEP_MIN_MS 1000
/* Reads run alone (Windows, or no batch carried them) get at most this share of what is
 * left, in percent: the tls probe's handshake, which waits for them, keeps the rest. */
#define STATE_SHARE_PCT 50
/* The host's limit ends this much before ours; PowerShell takes a while to start. */
#define MARGIN_POSIX_MS 500
#define MARGIN_WINDOWS_MS 1500

/* ==== the CLI's commands =============================================================== */

/* The macOS GUI app's binary is not on PATH (seeds/004 calls
 * /Applications/Tailscale.app/Contents/MacOS/tailscale).  exec: the host-side limit then
 * signals the CLI itself. */
#define MACOS_CLI "/Applications/Tailscale.app/Contents/MacOS/Tailscale"

int md_ts_cli_cmd(const char *args, char *out, size_t len)
{
	int n = snprintf(out, len, "t=" MACOS_CLI "; command -v tailscale >/dev/null 2>&1 || "
			 "[ ! -x \"$t\" ] || exec \"$t\" %s; exec tailscale %s", args, args);

	if (n < 0 || (size_t)n >= len) {
		if (len)
			out[0] = '\0';
		return MD_ETOOBIG;
	}
	return MD_OK;
}

int md_ts_local_status(const struct md_deadline *dl, struct md_proc_result *r, struct md_err *err)
{
	static const char *const argv[] = { "tailscale", "status", "--json", NULL };

	return md_proc_run(argv, NULL, 0, dl, r, err);
}

/* ==== reading the CLI ================================================================== */

/* One read: what came of `tailscale ARGS`. */
struct step {
	const char *id, *args;
	char shown[64];      /* "tailscale status --json", for evidence */
	bool skipped;        /* not started: under STEP_MIN_MS was left */
	bool batch_skipped;  /* ... of the batch's time on the host */
	int64_t left_ms;
	int rc;              /* MD_OK: it ran (exit_status); else why not (errmsg) */
	char errmsg[256];
	bool ended;          /* the host-side limit ended it */
	int limit_s;
	int exit_status;
	struct md_buf out, err;
};

static void step_init(struct step *s, const char *id, const char *args)
{
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->args = args;
	snprintf(s->shown, sizeof(s->shown), "tailscale %s", args);
	md_buf_init(&s->out, MD_SESSION_MAX_OUTPUT);
	md_buf_init(&s->err, MD_SESSION_MAX_OUTPUT);
}

static void step_cleanup(struct step *s)
{
	md_buf_cleanup(&s->out);
	md_buf_cleanup(&s->err);
}

/* The time a read run alone gets: CMD_MAX_MS, or what is left of dl when that is less;
 * false (skipped) under STEP_MIN_MS.  Its host-side limit ends margin_ms before ours. */
static bool step_time(struct step *s, const struct md_deadline *dl, int64_t margin_ms,
		      struct md_deadline *step_dl)
{
	int64_t left = md_deadline_left_ms(dl), max_ms = CMD_MAX_MS;

	if (left < max_ms)
		max_ms = left;
	if (max_ms < STEP_MIN_MS) {
		s->skipped = true;
		s->left_ms = max_ms > 0 ? max_ms : 0;
		return false;
	}
	s->limit_s = (int)((max_ms - margin_ms) / 1000);
	if (s->limit_s < 1)
		s->limit_s = 1;
	if (s->limit_s > MD_TS_STEP_LIMIT_S)
		s->limit_s = MD_TS_STEP_LIMIT_S;
	*step_dl = md_deadline_min(*dl, md_deadline_after(md_now_ms(), max_ms));
	return true;
}

static void step_from_host(struct step *s, struct md_host_out *o)
{
	if (o->state == MD_HOST_SKIPPED) {
		s->skipped = s->batch_skipped = true;
		return;
	}
	if (o->state == MD_HOST_LOST) {
		s->rc = o->rc ? o->rc : MD_EIO;
		snprintf(s->errmsg, sizeof(s->errmsg), "%s", o->why);
		return;
	}
	s->exit_status = o->exit_status;
	s->limit_s = o->limit_s;
	s->ended = md_hostcmd_ended_by_limit(o->limit_s, o->exit_status, NULL);
	md_buf_cleanup(&s->out);
	md_buf_cleanup(&s->err);
	s->out = o->out;
	s->err = o->err;
	md_buf_init(&o->out, 0);
	md_buf_init(&o->err, 0);
}

/* POSIX: the section from the run's batch, else the command alone within dl. */
static void read_posix(struct md_ctx *ctx, struct step *s, const struct md_deadline *dl)
{
	struct md_host_out o;
	struct md_deadline step_dl;
	struct md_err e = { 0 };
	char cmd[512];

	md_host_out_init(&o);
	md_ts_cli_cmd(s->args, cmd, sizeof(cmd));
	if (md_hostbatch_take(ctx->batch, s->id, cmd, &o) != MD_OK) {
		if (!step_time(s, dl, MARGIN_POSIX_MS, &step_dl))
			goto out;
		s->rc = md_ctx_host(ctx, s->id, cmd, s->limit_s, &step_dl, &o, &e);
		if (s->rc != MD_OK) {
			snprintf(s->errmsg, sizeof(s->errmsg), "%s", e.msg);
			goto out;
		}
	}
	step_from_host(s, &o);
out:
	md_host_out_cleanup(&o);
}

/* Windows: the PowerShell limit script around tailscale.exe, alone. */
static void read_windows(struct md_ctx *ctx, struct step *s, const struct md_deadline *dl)
{
	struct md_deadline step_dl;
	struct md_err e = { 0 };
	struct md_exec x;
	char *cmd = NULL;

	if (!step_time(s, dl, MARGIN_WINDOWS_MS, &step_dl))
		return;
	md_exec_init(&x);
	s->rc = md_hostcmd_windows_limited("tailscale", s->args, s->limit_s, &cmd, &e);
	if (s->rc == MD_OK)
		s->rc = md_session_exec(ctx->session, cmd, NULL, 0, &x, &step_dl, &e);
	if (s->rc == MD_OK) {
		s->exit_status = x.exit_status;
		s->ended = md_hostcmd_ended_by_limit(s->limit_s, x.exit_status, x.exit_signal);
		md_buf_cleanup(&s->out);
		md_buf_cleanup(&s->err);
		s->out = x.out;
		s->err = x.err;
		md_buf_init(&x.out, 0);
		md_buf_init(&x.err, 0);
	} else {
		snprintf(s->errmsg, sizeof(s->errmsg), "%s", e.msg[0] ? e.msg : md_status_name(s->rc));
	}
	md_exec_cleanup(&x);
	free(cmd);
}

/* One line on what went wrong with a read, for evidence. */
static void step_failure(const struct step *s, char *out, size_t len)
{
	char line[200];

	if (s->batch_skipped) {
		snprintf(out, len, "%s: not run: deadline spent (under a second of the host batch's "
			 "time was left)", s->shown);
	} else if (s->skipped) {
		snprintf(out, len, "%s: not run: deadline spent (%lld ms left, %d needed)", s->shown,
			 (long long)s->left_ms, STEP_MIN_MS);
	} else if (s->rc != MD_OK) {
		snprintf(out, len, "%s: %.250s", s->shown, s->errmsg[0] ? s->errmsg : md_status_name(s->rc));
	} else if (s->ended) {
		snprintf(out, len, "%s: no answer within %d s (ended on the host)", s->shown, s->limit_s);
	} else {
		md_first_line(md_buf_str(&s->err), line, sizeof(line));
		if (!line[0])
			md_first_line(md_buf_str(&s->out), line, sizeof(line));
		snprintf(out, len, "%s: exit %d%s%.200s", s->shown, s->exit_status, line[0] ? ": " : "",
			 line);
	}
}

static bool step_ok(const struct step *s)
{
	return !s->skipped && s->rc == MD_OK && !s->ended && s->exit_status == 0;
}

static bool cli_missing(const struct step *s)
{
	const char *e = md_buf_str(&s->err);

	return s->rc == MD_OK && !s->skipped &&
	       (s->exit_status == 127 || strstr(e, "not recognized as") || strstr(e, "command not found"));
}

/* ==== the facts ======================================================================== */

static int record_status_facts(struct md_facts *f, const struct step *s, const struct md_ts_status *st)
{
	int rc = md_fact_str(f, P, "tailscale.cli", "ok", s->shown);

	if (rc == MD_OK)
		rc = md_fact_strf(f, P, "tailscale.backend_state", st->backend_state,
				  "%s: \"BackendState\": \"%s\"", s->shown, st->backend_state);
	if (rc == MD_OK && st->dns_name[0])
		rc = md_fact_strf(f, P, "tailscale.dns_name", st->dns_name,
				  "%s: Self.DNSName \"%s.\"", s->shown, st->dns_name);
	if (rc == MD_OK)
		rc = md_fact_intf(f, P, "tailscale.cert_domains", st->cert_domains,
				  "%s: \"CertDomains\": %s%s%s", s->shown,
				  st->cert_domains ? "[\"" : "null", st->cert_domains ? st->cert_domain : "",
				  st->cert_domains ? "\", ...]" : "");
	if (rc == MD_OK && st->magicdns_suffix[0])
		rc = md_fact_strf(f, P, "tailscale.magicdns_suffix", st->magicdns_suffix,
				  "%s: CurrentTailnet.MagicDNSSuffix", s->shown);
	if (rc == MD_OK && st->tailnet[0])
		rc = md_fact_strf(f, P, "tailscale.tailnet", st->tailnet, "%s: CurrentTailnet.Name",
				  s->shown);
	return rc;
}

/* tailscale.cli and, when the status was read, the status's facts.  *ok: it was. */
static int record_status(struct md_facts *f, const struct step *s, struct md_ts_status *st, bool *ok)
{
	struct md_err pe = { 0 };
	char why[1024];

	*ok = false;
	if (s->skipped) {
		step_failure(s, why, sizeof(why));
		return md_fact_str(f, P, "tailscale.cli", "skipped", why);
	}
	if (cli_missing(s)) {
		step_failure(s, why, sizeof(why));
		return md_fact_str(f, P, "tailscale.cli", "missing", why);
	}
	if (s->rc == MD_OK && md_ts_parse_status(md_buf_str(&s->out), st, &pe) == MD_OK) {
		*ok = true;
		return record_status_facts(f, s, st);
	}
	step_failure(s, why, sizeof(why));
	if (s->rc == MD_OK && !s->ended && s->exit_status == 0 && pe.msg[0])
		snprintf(why + strlen(why), sizeof(why) - strlen(why), " (%s)", pe.msg);
	return md_fact_str(f, P, "tailscale.cli", "error", why);
}

/* The daemon's side of a status read: reachable when the status came back, else the
 * CLI's daemon-unreachable message when it printed one (stderr, or stdout for commands
 * that print there).  *unreachable: it did. */
static int record_daemon(struct md_facts *f, const struct step *s, bool ok, bool *unreachable)
{
	int rc;

	*unreachable = false;
	if (ok)
		return md_fact_strf(f, P, "tailscale.daemon", "reachable", "%s answered", s->shown);
	if (s->rc != MD_OK || s->skipped)
		return MD_OK;
	rc = md_ts_record_daemon(f, s->shown, md_buf_str(&s->err), unreachable);
	if (rc == MD_OK && !*unreachable)
		rc = md_ts_record_daemon(f, s->shown, md_buf_str(&s->out), unreachable);
	return rc;
}

/* The state facts of a status that was read (probes/ts_facts.c). */
static int record_state(struct md_ctx *ctx, struct md_facts *f, const struct step *s,
			struct md_ts_state *state)
{
	const char *target = ctx->target ? ctx->target->host : NULL;

	char *table = NULL;
	int rc;

	if (md_ts_parse_state(md_buf_str(&s->out), state, NULL) != MD_OK)
		return MD_OK;
	rc = md_ts_record_state(f, s->shown, state, (int64_t)time(NULL), target);
	if (rc == MD_OK && md_ts_peers_table(md_buf_str(&s->out), &table, NULL) == MD_OK)
		rc = md_facts_table(f, P, "peers", table);
	free(table);
	return rc;
}

/* `tailscale version`, and the skew warning the status read printed. */
static int record_version(struct md_facts *f, const struct step *v, const struct step *st,
			  const char *daemon_version)
{
	struct md_ts_version ver;
	bool have = step_ok(v) && md_ts_parse_version(md_buf_str(&v->out), &ver, NULL) == MD_OK;
	char why[1024];
	int rc = MD_OK;

	if (!have) {
		step_failure(v, why, sizeof(why));
		rc = md_fact_str(f, P, "tailscale.version_read", v->skipped ? "skipped" : "error", why);
	}
	if (rc == MD_OK)
		rc = md_ts_record_version(f, v->shown, have ? &ver : NULL, md_buf_str(&st->err),
					  daemon_version);
	return rc;
}

/* netcheck costs seconds of STUN and DERP probing on the host, so it runs only when asked
 * (--netcheck) or when it can explain something: peers are reached over DERP and none
 * directly (docs/tailscale.md#netcheck). */
static int record_netcheck(struct md_ctx *ctx, struct md_facts *f, struct step *n,
			   const struct md_ts_state *state, const struct md_deadline *dl,
			   void (*read)(struct md_ctx *, struct step *, const struct md_deadline *))
{
	struct md_ts_netcheck nc;
	char why[1024];

	bool asked = ctx->opt && ctx->opt->netcheck;

	if (!asked && (state->peers_derp == 0 || state->peers_direct > 0))
		return md_fact_strf(f, P, "tailscale.netcheck", "not-needed",
				    "not run: %d peers direct, %d via DERP (it runs when peers are "
				    "relayed and none is direct, or with --netcheck)", state->peers_direct,
				    state->peers_derp);
	read(ctx, n, dl);
	if (step_ok(n) && md_ts_parse_netcheck(md_buf_str(&n->out), &nc, NULL) == MD_OK) {
		int rc = md_fact_strf(f, P, "tailscale.netcheck", "ok", "%s", n->shown);

		return rc == MD_OK ? md_ts_record_netcheck(f, n->shown, &nc) : rc;
	}
	step_failure(n, why, sizeof(why));
	return md_fact_str(f, P, "tailscale.netcheck", n->skipped ? "skipped" : "error", why);
}

/* The control server: ControlURL from the prefs, else the status heuristic. */
static int record_control(struct md_facts *f, const struct step *s, const struct md_ts_status *st,
			  const char *login_server)
{
	char why[1024], control_url[256], prefs_why[600] = "";
	bool have_url = false;
	const char *kind;
	int rc = MD_OK;

	if (step_ok(s) && md_ts_parse_prefs_control(md_buf_str(&s->out), control_url,
						    sizeof(control_url), NULL) == MD_OK) {
		struct md_ts_prefs prefs;

		have_url = true;
		rc = md_fact_strf(f, P, "tailscale.control_url", control_url,
				  "%s: \"ControlURL\": \"%s\"", s->shown, control_url);
		if (rc == MD_OK && md_ts_parse_prefs(md_buf_str(&s->out), &prefs, NULL) == MD_OK)
			rc = md_ts_record_prefs(f, s->shown, &prefs, login_server);
	} else {
		step_failure(s, prefs_why, sizeof(prefs_why));
	}
	if (rc)
		return rc;
	kind = md_ts_control_kind(have_url ? control_url : NULL, st, why, sizeof(why));
	rc = md_fact_strf(f, P, "tailscale.control", kind, "%s%s%s%s", why,
			  prefs_why[0] ? " (prefs unread: " : "", prefs_why, prefs_why[0] ? ")" : "");
	if (rc == MD_OK)
		rc = md_fact_check(f, "tailscale.control",
				   strcmp(kind, "unknown") ? MD_CHECK_OK : MD_CHECK_WARN,
				   "Tailscale control server");
	return rc;
}

static int record_serve_facts(struct md_facts *f, const struct step *s, struct md_ts_serve *sv)
{
	char label[1024], proxy[600], url[600];
	bool insecure, unsafe;
	int rc;

	/* The Proxy is remote data that ends up in a command and in advice: anything but a
	 * plain URL is recorded as unsafe-proxy-url and never used. */
	unsafe = sv->proxy[0] && md_ts_backend_url(sv->proxy, url, sizeof(url), &insecure) != MD_OK;
	md_printable(sv->proxy, proxy, sizeof(proxy));
	if (unsafe)
		md_copy_str(sv->proxy, sizeof(sv->proxy), "unsafe-proxy-url");
	if (sv->configured)
		rc = md_fact_boolf(f, P, "tailscale.serve_configured", true, "%s: %s%s%s%s%s", s->shown,
				   sv->https_port ? "TCP port with \"HTTPS\": true" : "a config",
				   sv->host[0] ? ", Web \"" : "", sv->host,
				   sv->proxy[0] ? "\" -> Proxy " : "", sv->proxy);
	else
		rc = md_fact_boolf(f, P, "tailscale.serve_configured", false, "%s: {}", s->shown);
	if (rc == MD_OK && sv->https_port)
		rc = md_fact_intf(f, P, "tailscale.serve_https_port", sv->https_port,
				  "%s: \"TCP\": {\"%d\": {\"HTTPS\": true}}%s", s->shown, sv->https_port,
				  sv->foreground ? " (foreground session)" : "");
	if (rc == MD_OK && sv->host[0])
		rc = md_fact_strf(f, P, "tailscale.serve_host", sv->host, "%s: the Web entry of the HTTPS port",
				  s->shown);
	if (rc == MD_OK && sv->proxy[0])
		rc = md_fact_strf(f, P, "tailscale.serve_proxy", sv->proxy,
				  "%s: Web \"%s\" handler Proxy \"%s\"%s", s->shown, sv->host, proxy,
				  unsafe ? " is not a plain http(s) URL: not used" : "");
	if (rc == MD_OK && sv->configured) {
		snprintf(label, sizeof(label), "tailscale serve configured (%s%s%s)",
			 sv->host[0] ? sv->host : "no HTTPS", sv->proxy[0] ? " -> " : "", sv->proxy);
		rc = md_fact_check(f, "tailscale.serve_configured", MD_CHECK_OK, label);
	}
	return rc;
}

static int record_serve(struct md_facts *f, const struct step *s)
{
	struct md_ts_serve sv;
	char why[1024];

	if (step_ok(s) && md_ts_parse_serve(md_buf_str(&s->out), &sv, NULL) == MD_OK)
		return record_serve_facts(f, s, &sv);
	step_failure(s, why, sizeof(why));
	return md_fact_str(f, P, "tailscale.serve_status", s->skipped ? "skipped" : "error", why);
}

/* ==== the probe ======================================================================== */

static bool banner_windows(const struct md_ctx *ctx)
{
	const char *os = md_session_os(ctx->session);

	return os && strcmp(os, "windows") == 0;
}

/* The reads as sections of the run's batch: status first, the CLI's version (no daemon
 * needed) and the serve configuration next, the prefs last (a wedged `debug prefs` then
 * costs only its own answer).  netcheck is not in the batch: it runs only when needed. */
static int ts_host_steps(const struct md_ctx *ctx, struct md_hostbatch *b, struct md_err *err)
{
	static const char *const steps[][2] = {
		{ MD_TS_STEP_STATUS, MD_TS_ARGS_STATUS },
		{ MD_TS_STEP_VERSION, MD_TS_ARGS_VERSION },
		{ MD_TS_STEP_SERVE, MD_TS_ARGS_SERVE },
		{ MD_TS_STEP_PREFS, MD_TS_ARGS_PREFS },
	};
	char cmd[512];
	int rc = MD_OK;

	if (banner_windows(ctx))
		return MD_OK;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]) && rc == MD_OK; i++) {
		md_ts_cli_cmd(steps[i][1], cmd, sizeof(cmd));
		rc = md_hostbatch_add(b, steps[i][0], cmd, MD_TS_STEP_LIMIT_S, err);
	}
	return rc;
}

/* The reads after a status that answered (or a daemon that did not): the CLI's version,
 * the prefs, the serve configuration, netcheck when it can explain relayed peers. */
static int ts_more(struct md_ctx *ctx, struct md_facts *f, struct step *steps, bool ok,
		   const struct md_ts_status *status, const struct md_deadline *dl,
		   void (*read)(struct md_ctx *, struct step *, const struct md_deadline *))
{
	struct md_ts_state state;
	int rc;

	memset(&state, 0, sizeof(state));
	rc = ok ? record_state(ctx, f, &steps[0], &state) : MD_OK;
	if (rc == MD_OK) {
		read(ctx, &steps[1], dl);
		rc = record_version(f, &steps[1], &steps[0], state.version);
	}
	if (!ok)
		return rc;
	if (rc == MD_OK) {
		read(ctx, &steps[2], dl);
		rc = record_control(f, &steps[2], status, ctx->opt ? ctx->opt->login_server : NULL);
	}
	if (rc == MD_OK) {
		read(ctx, &steps[3], dl);
		rc = record_serve(f, &steps[3]);
	}
	if (rc == MD_OK)
		rc = record_netcheck(ctx, f, &steps[4], &state, dl, read);
	return rc;
}

static int ts_run(struct md_ctx *ctx, struct md_facts *f, struct md_err *err)
{
	static const char *const ids[][2] = {
		{ MD_TS_STEP_STATUS, MD_TS_ARGS_STATUS }, { MD_TS_STEP_VERSION, MD_TS_ARGS_VERSION },
		{ MD_TS_STEP_PREFS, MD_TS_ARGS_PREFS }, { MD_TS_STEP_SERVE, MD_TS_ARGS_SERVE },
		{ MD_TS_STEP_NETCHECK, MD_TS_ARGS_NETCHECK },
	};
	struct step steps[5];
	struct md_ts_status status;
	struct md_deadline dl = ctx->deadline;
	void (*read)(struct md_ctx *, struct step *, const struct md_deadline *);
	bool ok = false, unreachable = false;
	int rc;

	if (!md_ctx_session(ctx))
		return md_err_set(err, MD_ESKIP, P, "no SSH session: the Tailscale CLI is read on the host");
	read = strcmp(md_ctx_host_os(ctx, f), "windows") == 0 ? read_windows : read_posix;
	if (ctx->deadline.end_ms)
		dl = md_deadline_after(md_now_ms(),
				       md_deadline_left_ms(&ctx->deadline) * STATE_SHARE_PCT / 100);
	for (size_t i = 0; i < 5; i++)
		step_init(&steps[i], ids[i][0], ids[i][1]);
	read(ctx, &steps[0], &dl);
	rc = record_status(f, &steps[0], &status, &ok);
	/* The expected control server, whatever the CLI said: a host without Tailscale is
	 * only a problem when it is meant to be on that mesh. */
	if (rc == MD_OK && ctx->opt && ctx->opt->login_server)
		rc = md_fact_strf(f, P, "tailscale.login_server", ctx->opt->login_server,
				  "--login-server %s (the expected control server)",
				  ctx->opt->login_server);
	if (rc == MD_OK)
		rc = record_daemon(f, &steps[0], ok, &unreachable);
	/* Only a CLI that answered, or told that the daemon did not, is asked more. */
	if (rc == MD_OK && (ok || unreachable))
		rc = ts_more(ctx, f, steps, ok, &status, &dl, read);
	for (size_t i = 0; i < 5; i++)
		step_cleanup(&steps[i]);
	if (rc)
		return md_err_set(err, rc, P, "tailscale probe: %s", md_status_name(rc));
	return MD_OK;
}

static const char *const ts_provides[] = {
	"tailscale.cli", "tailscale.backend_state", "tailscale.dns_name", "tailscale.cert_domains",
	"tailscale.magicdns_suffix", "tailscale.tailnet", "tailscale.control",
	"tailscale.control_url", "tailscale.serve_configured", "tailscale.serve_https_port",
	"tailscale.serve_host", "tailscale.serve_proxy", "tailscale.serve_status",
	/* the node's state (probes/ts_facts.c) */
	"tailscale.daemon", "tailscale.daemon_error", "tailscale.daemon_hint", "tailscale.version",
	"tailscale.client_version", "tailscale.version_read", "tailscale.version_skew",
	"tailscale.auth_url", "tailscale.register_id", "tailscale.register_form",
	"tailscale.self_online", "tailscale.key_expiry", "tailscale.key_expiry_days",
	"tailscale.key_expired", "tailscale.ips", "tailscale.magicdns_enabled",
	"tailscale.target_magicdns", "tailscale.health_count", "tailscale.health",
	"tailscale.peers", "tailscale.peers_online", "tailscale.peers_offline",
	"tailscale.peers_direct", "tailscale.peers_derp", "tailscale.peers_peer_relay",
	"tailscale.peers_idle", "tailscale.want_running", "tailscale.logged_out",
	"tailscale.force_daemon", "tailscale.corp_dns", "tailscale.login_server",
	"tailscale.control_matches", "tailscale.netcheck", "tailscale.netcheck_udp",
	"tailscale.netcheck_derp", "tailscale.netcheck_mapping_varies", NULL,
};

/* The host's OS decides how the CLI is run (md_ctx_host_os). */
static const char *const ts_reads[] = { "host", NULL };

/* MD_USES_SESSION, not MD_NEEDS_SESSION: the probes that bring this one (port, tls) use
 * the session only when there is one, and naming them in --probes must not open SSH; with
 * no session the probe is skipped. */

const struct md_probe probe_tailscale = {
	.name = "tailscale",
	.desc = "the Tailscale node on the target: status, prefs (control server), serve config",
	.provides = ts_provides,
	.needs = MD_USES_SESSION,
	.reads = ts_reads,
	.host_steps = ts_host_steps,
	.run = ts_run,
};
