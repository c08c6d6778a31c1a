/* tailscale.c — the Tailscale probe: the node's state on the target, read with its own CLI
 * over the session (docs/tailscale.md).
 *
 * Three reads, nothing changed on the host: `tailscale status --json` (backend state, the
 * MagicDNS name, certificate domains, the tailnet), `tailscale debug prefs` (ControlURL:
 * Tailscale's control server or a Headscale) and `tailscale serve status --json` (what
 * `tailscale serve` is configured to do).  On a POSIX host they are sections of the run's
 * one batch (core/hostbatch.h), each under its own host-side limit; the command finds the
 * CLI on PATH or in the macOS app bundle itself, since the OS is not known yet when the
 * batch is built.  On Windows each runs alone through the PowerShell limit script
 * (core/hostcmd.h).  The tls probe reads the facts before its handshake (the MagicDNS
 * name is the SNI tailscaled serves), so when the reads run alone they get at most
 * STATE_SHARE_PCT of what is left.  Parsing is split out (probes/tailscale.h) and
 * unit-tested on fixtures/tailscale/. */
#include "probes/tailscale.h"

#include "core/text.h"
#include "core/buf.h"
#include "core/facts.h"
#include "core/hostbatch.h"
#include "core/hostcmd.h"
#include "core/session.h"
#include "probes/probe.h"

#include <cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* ==== parsers ========================================================================= */

static const char *json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

/* DNSName is an FQDN with the trailing dot (docs/tailscale.md#node-status). */
static void strip_dot(char *name)
{
	size_t n = strlen(name);

	if (n && name[n - 1] == '.')
		name[n - 1] = '\0';
}

static void ts_peer(const cJSON *o, struct md_ts_peer *p)
{
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(o, "TailscaleIPs"), *ip;

	memset(p, 0, sizeof(*p));
	md_copy_str(p->host_name, sizeof(p->host_name), json_str(o, "HostName"));
	md_copy_str(p->dns_name, sizeof(p->dns_name), json_str(o, "DNSName"));
	strip_dot(p->dns_name);
	cJSON_ArrayForEach(ip, ips)
		if (cJSON_IsString(ip) && p->n_ips < MD_TS_PEER_IPS)
			md_copy_str(p->ips[p->n_ips++], sizeof(p->ips[0]), ip->valuestring);
	md_copy_str(p->cur_addr, sizeof(p->cur_addr), json_str(o, "CurAddr"));
	md_copy_str(p->relay, sizeof(p->relay), json_str(o, "Relay"));
	md_copy_str(p->peer_relay, sizeof(p->peer_relay), json_str(o, "PeerRelay"));
	p->online = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "Online"));
	p->active = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "Active"));
}

/* Peer is an object keyed by node key ("nodekey:..."), null before the first netmap. */
static int ts_peers(const cJSON *root, struct md_ts_peers *out, struct md_err *err)
{
	const cJSON *peer = cJSON_GetObjectItemCaseSensitive(root, "Peer"), *it;
	int n = cJSON_IsObject(peer) ? cJSON_GetArraySize(peer) : 0;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return MD_OK;
	out->v = calloc((size_t)n, sizeof(*out->v));
	if (!out->v)
		return md_err_set(err, MD_ENOMEM, "tailscale", "tailscale status --json: %d peers: "
				  "out of memory", n);
	cJSON_ArrayForEach(it, peer)
		if (cJSON_IsObject(it) &&
		    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "ShareeNode")))
			ts_peer(it, &out->v[out->n++]);
	return MD_OK;
}

void md_ts_peers_free(struct md_ts_peers *peers)
{
	if (!peers)
		return;
	free(peers->v);
	peers->v = NULL;
	peers->n = 0;
}

/* The order of the CLI's own status line (cmd/tailscale/cli/status.go). */
const char *md_ts_peer_path(const struct md_ts_peer *p)
{
	if (!p->active)
		return p->online ? "idle" : "offline";
	if (p->relay[0] && !p->cur_addr[0] && !p->peer_relay[0])
		return "derp";
	if (p->cur_addr[0])
		return "direct";
	if (p->peer_relay[0])
		return "peer-relay";
	return "unknown";
}

int md_ts_parse_status(const char *json, struct md_ts_status *out, struct md_err *err)
{
	return md_ts_parse_status_peers(json, out, NULL, err);
}

int md_ts_parse_status_peers(const char *json, struct md_ts_status *out,
			     struct md_ts_peers *peers, struct md_err *err)
{
	cJSON *root = cJSON_Parse(json);
	const cJSON *self, *tn, *cd;
	int rc = MD_OK;

	memset(out, 0, sizeof(*out));
	if (peers)
		memset(peers, 0, sizeof(*peers));
	if (!cJSON_IsObject(root) || !json_str(root, "BackendState")) {
		cJSON_Delete(root);
		return md_err_set(err, MD_EPARSE, "tailscale",
				  "tailscale status --json: not a status object (no BackendState)");
	}
	md_copy_str(out->backend_state, sizeof(out->backend_state), json_str(root, "BackendState"));
	self = cJSON_GetObjectItemCaseSensitive(root, "Self");
	if (cJSON_IsObject(self)) {
		md_copy_str(out->dns_name, sizeof(out->dns_name), json_str(self, "DNSName"));
		md_copy_str(out->self_id, sizeof(out->self_id), json_str(self, "ID"));
		md_copy_str(out->os, sizeof(out->os), json_str(self, "OS"));
	}
	strip_dot(out->dns_name);
	tn = cJSON_GetObjectItemCaseSensitive(root, "CurrentTailnet");
	if (cJSON_IsObject(tn)) {
		md_copy_str(out->tailnet, sizeof(out->tailnet), json_str(tn, "Name"));
		md_copy_str(out->magicdns_suffix, sizeof(out->magicdns_suffix),
			 json_str(tn, "MagicDNSSuffix"));
	}
	if (!out->magicdns_suffix[0])
		md_copy_str(out->magicdns_suffix, sizeof(out->magicdns_suffix),
			 json_str(root, "MagicDNSSuffix"));
	cd = cJSON_GetObjectItemCaseSensitive(root, "CertDomains");
	if (cJSON_IsArray(cd)) {
		out->cert_domains = cJSON_GetArraySize(cd);
		if (out->cert_domains > 0 && cJSON_IsString(cJSON_GetArrayItem(cd, 0)))
			md_copy_str(out->cert_domain, sizeof(out->cert_domain),
				 cJSON_GetArrayItem(cd, 0)->valuestring);
	}
	if (peers)
		rc = ts_peers(root, peers, err);
	cJSON_Delete(root);
	return rc;
}

/* Looks through one ServeConfig object (top level, a Foreground session or a Service). */
static void serve_scan(const cJSON *cfg, struct md_ts_serve *out, bool foreground)
{
	const cJSON *tcp = cJSON_GetObjectItemCaseSensitive(cfg, "TCP");
	const cJSON *web = cJSON_GetObjectItemCaseSensitive(cfg, "Web");
	const cJSON *svcs = cJSON_GetObjectItemCaseSensitive(cfg, "Services");
	const cJSON *it;

	if ((cJSON_IsObject(tcp) && tcp->child) || (cJSON_IsObject(web) && web->child) ||
	    (cJSON_IsObject(svcs) && svcs->child))
		out->configured = true;
	cJSON_ArrayForEach(it, tcp) {
		const cJSON *https = cJSON_GetObjectItemCaseSensitive(it, "HTTPS");
		int port = atoi(it->string ? it->string : "0");

		if (out->https_port == 0 && cJSON_IsTrue(https) && port > 0) {
			out->https_port = port;
			out->foreground = foreground;
		}
	}
	/* Web keys are "<host>:<port>"; take the entry for the HTTPS port. */
	cJSON_ArrayForEach(it, web) {
		const char *key = it->string, *colon = key ? strrchr(key, ':') : NULL;
		const cJSON *handlers = cJSON_GetObjectItemCaseSensitive(it, "Handlers"), *h;
		const char *proxy = NULL;

		if (!colon || out->host[0])
			continue;
		if (out->https_port && atoi(colon + 1) != out->https_port)
			continue;
		md_copy_str(out->host, sizeof(out->host), key);
		h = cJSON_GetObjectItemCaseSensitive(handlers, "/");
		proxy = json_str(h, "Proxy");
		cJSON_ArrayForEach(h, handlers)
			if (!proxy)
				proxy = json_str(h, "Proxy");
		md_copy_str(out->proxy, sizeof(out->proxy), proxy);
	}
	cJSON_ArrayForEach(it, svcs)
		serve_scan(it, out, foreground);
}

int md_ts_parse_serve(const char *json, struct md_ts_serve *out, struct md_err *err)
{
	cJSON *root = cJSON_Parse(json);
	const cJSON *fg, *it;

	memset(out, 0, sizeof(*out));
	/* The CLI prints `{}` for no config; the LocalAPI's `null` means the same
	 * (docs/tailscale.md#serve-configuration). */
	if (cJSON_IsNull(root)) {
		cJSON_Delete(root);
		return MD_OK;
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return md_err_set(err, MD_EPARSE, "tailscale",
				  "tailscale serve status --json: not a JSON object");
	}
	serve_scan(root, out, false);
	fg = cJSON_GetObjectItemCaseSensitive(root, "Foreground");
	cJSON_ArrayForEach(it, fg)
		serve_scan(it, out, true);
	cJSON_Delete(root);
	return MD_OK;
}

int md_ts_parse_prefs_control(const char *json, char *out, size_t len, struct md_err *err)
{
	cJSON *root = cJSON_Parse(json);
	const cJSON *v;

	out[0] = '\0';
	v = cJSON_GetObjectItemCaseSensitive(root, "ControlURL");
	if (!cJSON_IsObject(root) || !cJSON_IsString(v)) {
		cJSON_Delete(root);
		return md_err_set(err, MD_EPARSE, "tailscale",
				  "tailscale debug prefs: no ControlURL in the output");
	}
	md_copy_str(out, len, v->valuestring);
	cJSON_Delete(root);
	return MD_OK;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

/* The control heuristic, in order of reliability:
 *  1. ControlURL (ipn.Prefs): empty means the default (controlplane.tailscale.com); a
 *     host under tailscale.com is Tailscale's; any other host is a self-hosted control
 *     server, which for the meshes meshdoctor serves is Headscale.
 *  2. Without prefs, the status: a MagicDNS suffix under ts.net, or any CertDomains, is
 *     Tailscale's control (Headscale never sends CertDomains); a Self.ID that is a plain
 *     decimal number is Headscale's node id — Tailscale's StableNodeIDs are not plain
 *     numbers.
 * CertDomains null alone proves nothing: a Tailscale tailnet without HTTPS enabled also
 * has none (that is the seed's very case).  Described for users in
 * docs/tailscale.md#control-server-tailscale-or-headscale. */
const char *md_ts_control_kind(const char *control_url, const struct md_ts_status *st,
			       char *why, size_t why_len)
{
	if (control_url) {
		char host[256] = "";
		const char *h = strstr(control_url, "://");

		if (!control_url[0]) {
			snprintf(why, why_len, "ControlURL is empty (the default, controlplane.tailscale.com)");
			return "tailscale";
		}
		h = h ? h + 3 : control_url;
		snprintf(host, sizeof(host), "%.*s", (int)strcspn(h, ":/"), h);
		if (strcasecmp(host, "tailscale.com") == 0 || ends_with(host, ".tailscale.com")) {
			snprintf(why, why_len, "ControlURL %s is Tailscale's", control_url);
			return "tailscale";
		}
		snprintf(why, why_len, "ControlURL %s is not under tailscale.com: a self-hosted "
			 "(Headscale) control server", control_url);
		return "headscale";
	}
	if (st) {
		bool digits = st->self_id[0] != '\0';

		for (const char *p = st->self_id; *p; p++)
			digits = digits && isdigit((unsigned char)*p);
		if (st->cert_domains > 0) {
			snprintf(why, why_len, "status lists %d CertDomains (Headscale never sends any)",
				 st->cert_domains);
			return "tailscale";
		}
		if (ends_with(st->magicdns_suffix, ".ts.net")) {
			snprintf(why, why_len, "MagicDNS suffix %s is under ts.net", st->magicdns_suffix);
			return "tailscale";
		}
		if (digits) {
			snprintf(why, why_len, "Self.ID \"%s\" is a plain node number, as Headscale sends",
				 st->self_id);
			return "headscale";
		}
	}
	snprintf(why, why_len, "neither the prefs nor the status tell the control server apart");
	return "unknown";
}


/* ==== the serve Proxy as a URL ========================================================== */

static bool port_ok(const char *p, size_t n)
{
	long v = 0;

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return false;
		v = v * 10 + (p[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* HOST[:PORT][/PATH] with HOST a DNS name or IPv4 address (letters, digits, '.', '-';
 * starting with a letter or digit) or a bracketed IPv6 address, PORT 1-65535 and PATH
 * from [A-Za-z0-9._~/-]: a URL no shell can read anything else into (docs/tls.md). */
static bool authority_path_ok(const char *p)
{
	const char *h = p;

	if (*p == '[') {
		for (p++; isxdigit((unsigned char)*p) || *p == ':' || *p == '.'; p++)
			;
		if (*p != ']' || p == h + 1)
			return false;
		p++;
	} else {
		if (!isalnum((unsigned char)*p))
			return false;
		while (isalnum((unsigned char)*p) || *p == '.' || *p == '-')
			p++;
	}
	if (*p == ':') {
		size_t n = strspn(++p, "0123456789");

		if (!port_ok(p, n))
			return false;
		p += n;
	}
	if (*p && *p != '/')
		return false;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._~/-", *p))
			return false;
	return true;
}

int md_ts_backend_url(const char *proxy, char *out, size_t len, bool *insecure)
{
	const char *scheme = "http://", *rest = proxy;
	bool bare_port = proxy[strspn(proxy, "0123456789")] == '\0';
	int n;

	*insecure = false;
	out[0] = '\0';
	/* ipn.HTTPHandler.Proxy accepts a bare port, host:port or a URL
	 * (docs/tailscale.md#serve-configuration).  The value comes from the host and the URL
	 * goes into a shell command there, so only the strict form is accepted. */
	if (bare_port) {
		if (!port_ok(proxy, strlen(proxy)))
			return MD_EINVAL;
		scheme = "http://127.0.0.1:";
	} else if (strncmp(proxy, "https+insecure://", 17) == 0) {
		scheme = "https://";
		rest = proxy + 17;
		*insecure = true;
	} else if (strncmp(proxy, "http://", 7) == 0) {
		rest = proxy + 7;
	} else if (strncmp(proxy, "https://", 8) == 0) {
		scheme = "https://";
		rest = proxy + 8;
	} else if (strstr(proxy, "://")) {
		return MD_EINVAL;
	}
	if (!bare_port && !authority_path_ok(rest)) {
		*insecure = false;
		return MD_EINVAL;
	}
	n = snprintf(out, len, "%s%s", scheme, rest);
	if (n < 0 || (size_t)n >= len) {
		out[0] = '\0';
		*insecure = false;
		return MD_EINVAL;
	}
	return MD_OK;
}


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

/* The control server: ControlURL from the prefs, else the status heuristic. */
static int record_control(struct md_facts *f, const struct step *s, const struct md_ts_status *st)
{
	char why[1024], control_url[256], prefs_why[600] = "";
	bool have_url = false;
	const char *kind;
	int rc = MD_OK;

	if (step_ok(s) && md_ts_parse_prefs_control(md_buf_str(&s->out), control_url,
						    sizeof(control_url), NULL) == MD_OK) {
		have_url = true;
		rc = md_fact_strf(f, P, "tailscale.control_url", control_url,
				  "%s: \"ControlURL\": \"%s\"", s->shown, control_url);
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

/* The three reads as sections of the run's batch: status first, the serve configuration
 * next, the prefs last (a wedged `debug prefs` then costs only its own answer). */
static int ts_host_steps(const struct md_ctx *ctx, struct md_hostbatch *b, struct md_err *err)
{
	static const char *const steps[][2] = {
		{ MD_TS_STEP_STATUS, MD_TS_ARGS_STATUS },
		{ MD_TS_STEP_SERVE, MD_TS_ARGS_SERVE },
		{ MD_TS_STEP_PREFS, MD_TS_ARGS_PREFS },
	};
	char cmd[512];
	int rc = MD_OK;

	if (banner_windows(ctx))
		return MD_OK;
	for (size_t i = 0; i < 3 && rc == MD_OK; i++) {
		md_ts_cli_cmd(steps[i][1], cmd, sizeof(cmd));
		rc = md_hostbatch_add(b, steps[i][0], cmd, MD_TS_STEP_LIMIT_S, err);
	}
	return rc;
}

static int ts_run(struct md_ctx *ctx, struct md_facts *f, struct md_err *err)
{
	struct step st, prefs, serve;
	struct md_ts_status status;
	struct md_deadline dl = ctx->deadline;
	void (*read)(struct md_ctx *, struct step *, const struct md_deadline *);
	bool ok = false;
	int rc;

	if (!md_ctx_session(ctx))
		return md_err_set(err, MD_ESKIP, P, "no SSH session: the Tailscale CLI is read on the host");
	read = strcmp(md_ctx_host_os(ctx, f), "windows") == 0 ? read_windows : read_posix;
	if (ctx->deadline.end_ms)
		dl = md_deadline_after(md_now_ms(),
				       md_deadline_left_ms(&ctx->deadline) * STATE_SHARE_PCT / 100);
	step_init(&st, MD_TS_STEP_STATUS, MD_TS_ARGS_STATUS);
	step_init(&prefs, MD_TS_STEP_PREFS, MD_TS_ARGS_PREFS);
	step_init(&serve, MD_TS_STEP_SERVE, MD_TS_ARGS_SERVE);
	read(ctx, &st, &dl);
	rc = record_status(f, &st, &status, &ok);
	/* Only a CLI that answered is asked more. */
	if (rc == MD_OK && ok) {
		read(ctx, &prefs, &dl);
		rc = record_control(f, &prefs, &status);
	}
	if (rc == MD_OK && ok) {
		read(ctx, &serve, &dl);
		rc = record_serve(f, &serve);
	}
	step_cleanup(&st);
	step_cleanup(&prefs);
	step_cleanup(&serve);
	if (rc)
		return md_err_set(err, rc, P, "tailscale probe: %s", md_status_name(rc));
	return MD_OK;
}

static const char *const ts_provides[] = {
	"tailscale.cli", "tailscale.backend_state", "tailscale.dns_name", "tailscale.cert_domains",
	"tailscale.magicdns_suffix", "tailscale.tailnet", "tailscale.control",
	"tailscale.control_url", "tailscale.serve_configured", "tailscale.serve_https_port",
	"tailscale.serve_host", "tailscale.serve_proxy", "tailscale.serve_status", NULL,
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
