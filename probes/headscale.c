/* headscale.c — the headscale probe: is the login server up and healthy, does the target
 * reach it, and, where the target runs Headscale, what its CLI says about the target's
 * node and the pre-auth keys (seeds/002: "Auth key generation failed → Is Headscale
 * running? `sudo systemctl status headscale`").
 *
 * The login server: --login-server, else the node's ControlURL (tailscale.control_url).
 *   here     GET /health, /key?v=N (what tailscaled fetches first) and /version (0.27+),
 *            each under its share of the deadline (core/http.h; TLS with https);
 *   target   `curl` (else `wget`) of /health from the target, through the host batch;
 *   CLI      on a target with `headscale` on PATH: version, nodes, pre-auth keys, users
 *            (-o json), and `systemctl is-active headscale`.
 * The probe records what each said; headscale.rules judges (docs/headscale.md). */
#include "probes/headscale.h"

#include "core/buf.h"
#include "core/deadline.h"
#include "core/facts.h"
#include "core/hostbatch.h"
#include "core/hostcmd.h"
#include "core/http.h"
#include "core/net.h"
#include "core/session.h"
#include "probes/probe.h"
#include "probes/ssh.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define P "headscale"
/* Headscale's CLI gives up after cli.timeout, 5 s by default (HS config); the step's
 * host-side limit lets it say so itself. */
#define CLI_LIMIT_S 6
#define REACH_LIMIT_S 4
/* The capability version sent to /key: any >= 39 gets today's {"legacyPublicKey",
 * "publicKey"} answer (HS hscontrol/handlers.go); 106 is Tailscale 1.74's. */
#define KEY_CAPVER 106
/* Per-user `preauthkeys list --user` for Headscale < 0.28: at most this many users. */
#define MAX_USER_LISTS 8
#define EXCERPT 200

#define STEP_VERSION "headscale.version"
#define STEP_NODES "headscale.nodes"
#define STEP_KEYS "headscale.keys"
#define STEP_USERS "headscale.users"
#define STEP_UNIT "headscale.unit"
#define STEP_REACH "headscale.reach"

/* Each CLI step runs only where `headscale` is on PATH (else exit 127, as a shell says). */
#define HS_CMD(args) "command -v headscale >/dev/null 2>&1 || exit 127; headscale " args
static const char *const cli_steps[][2] = {
	{ STEP_VERSION, HS_CMD("version") },
	{ STEP_NODES, HS_CMD("nodes list -o json") },
	{ STEP_KEYS, HS_CMD("preauthkeys list -o json") },
	{ STEP_USERS, HS_CMD("users list -o json") },
	{ STEP_UNIT, "command -v systemctl >/dev/null 2>&1 || exit 127; systemctl is-active headscale" },
};
#define N_CLI (sizeof(cli_steps) / sizeof(cli_steps[0]))

/* ==== small helpers =================================================================== */

static struct md_deadline share(const struct md_ctx *ctx, int steps_left)
{
	int64_t left = md_deadline_left_ms(&ctx->deadline);

	if (left == INT64_MAX)
		left = 5000 * (int64_t)steps_left;
	if (steps_left < 1)
		steps_left = 1;
	return md_deadline_min(ctx->deadline, md_deadline_after(md_now_ms(), left / steps_left));
}

static bool is_windows(struct md_ctx *ctx, struct md_facts *f)
{
	const char *os = ctx->session ? md_session_os(ctx->session) : NULL;

	if (os && strcmp(os, "windows") == 0)
		return true;
	return f && strcmp(md_ctx_host_os(ctx, f), "windows") == 0;
}

/* text's first EXCERPT bytes on one line, safe for a terminal. */
static void excerpt(const char *text, size_t n, char *out, size_t len)
{
	char tmp[EXCERPT + 1];
	size_t k = n < EXCERPT ? n : EXCERPT;

	memcpy(tmp, text ? text : "", text ? k : 0);
	tmp[text ? k : 0] = '\0';
	for (char *p = tmp; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	md_escape_str(out, len, tmp);
	if (n > EXCERPT && strlen(out) + 4 < len)
		strcat(out, "...");
}

static void iso_time(int64_t s, char *out, size_t len)
{
	time_t t = (time_t)s;
	struct tm tm;

	if (gmtime_r(&t, &tm))
		strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		snprintf(out, len, "%lld", (long long)s);
}

/* ==== the login server, from here ===================================================== */

struct get_res {
	int rc;
	struct md_err e;
	struct md_http_result r;
	char shown[700];   /* the URL asked */
};

static const char *conn_value(const struct get_res *g)
{
	switch (g->rc) {
	case MD_OK: return "ok";
	case MD_EREFUSED: return "refused";
	case MD_ETIMEOUT: return md_net_resolve_timed_out(g->rc, &g->e) ? "resolve-timeout" : "timeout";
	case MD_ERESOLVE: return "resolve-failed";
	case MD_EUNREACH: return "unreachable";
	case MD_EPROTO: return strcmp(g->r.stage, "tls") == 0 ? "tls-error" : "not-http";
	default: return "error";
	}
}

static void get(const struct md_http_url *u, const char *path, const char *ca,
		const struct md_deadline *dl, struct get_res *g)
{
	memset(&g->e, 0, sizeof(g->e));
	md_http_result_init(&g->r);
	snprintf(g->shown, sizeof(g->shown), "GET %s://%s%.256s%s:%d%.300s%.32s", u->https ? "https" : "http",
		 strchr(u->host, ':') ? "[" : "", u->host, strchr(u->host, ':') ? "]" : "", u->port, u->path, path);
	g->rc = md_http_get(u, path, ca, dl, &g->r, &g->e);
}

/* "GET URL: 200 OK, Content-Type X, body {...} (3 ms)", or the error. */
static void get_evidence(const struct get_res *g, char *ev, size_t len)
{
	char body[EXCERPT * 4 + 8];

	if (g->rc != MD_OK) {
		snprintf(ev, len, "%s: %s (%s, %lld ms)", g->shown, g->e.msg, g->r.stage, (long long)g->r.ms);
		return;
	}
	excerpt(g->r.resp.body, g->r.resp.body_len, body, sizeof(body));
	snprintf(ev, len, "%.600s: %d %.60s, Content-Type \"%.100s\", body %.400s (%lld ms)", g->shown, g->r.resp.status,
		 g->r.resp.reason, g->r.resp.content_type, body[0] ? body : "(empty)", (long long)g->r.ms);
}

/* headscale.health: "pass", "fail" (the JSON's status), "status-N" (another answer), or
 * how the connection failed. */
static int put_health(struct md_facts *f, const struct get_res *g, const char *url)
{
	char ev[1200], v[32], st[32], body[EXCERPT * 4 + 8], label[600];
	int rc;

	get_evidence(g, ev, sizeof(ev));
	if (g->rc != MD_OK)
		snprintf(v, sizeof(v), "%s", conn_value(g));
	else if (md_hs_parse_health(g->r.resp.body, st, sizeof(st)) == MD_OK &&
		 (strcmp(st, "pass") == 0 || strcmp(st, "fail") == 0))
		snprintf(v, sizeof(v), "%s", st);
	else
		snprintf(v, sizeof(v), "status-%d", g->r.resp.status);
	rc = md_fact_str(f, P, "headscale.health", v, ev);
	if (rc == MD_OK && g->rc == MD_OK) {
		excerpt(g->r.resp.body, g->r.resp.body_len, body, sizeof(body));
		rc = md_fact_int(f, P, "headscale.health_status", g->r.resp.status, g->shown);
		if (rc == MD_OK)
			rc = md_fact_str(f, P, "headscale.health_body", body, g->shown);
	}
	snprintf(label, sizeof(label), "Headscale /health at %.400s: %s", url, v);
	if (rc == MD_OK)
		rc = md_fact_check(f, "headscale.health", strcmp(v, "pass") == 0 ? MD_CHECK_OK : MD_CHECK_FAIL,
				   label);
	return rc;
}

static int put_key(struct md_facts *f, const struct get_res *g)
{
	char ev[1200], v[32], mkey[80];
	int rc;

	get_evidence(g, ev, sizeof(ev));
	if (g->rc != MD_OK)
		snprintf(v, sizeof(v), "%s", conn_value(g));
	else if (g->r.resp.status == 200 && md_hs_parse_key_body(g->r.resp.body, mkey, sizeof(mkey)) == MD_OK)
		snprintf(v, sizeof(v), "ok");
	else
		snprintf(v, sizeof(v), "status-%d", g->r.resp.status);
	rc = md_fact_str(f, P, "headscale.key", v, ev);
	if (rc == MD_OK && g->rc == MD_OK)
		rc = md_fact_int(f, P, "headscale.key_status", g->r.resp.status, g->shown);
	return rc;
}

/* /version: "v0.29.2" (0.27+); a 404 says the server is older. */
static int put_version(struct md_facts *f, const struct get_res *g)
{
	char ev[1200], ver[64], v[32];
	int rc;

	get_evidence(g, ev, sizeof(ev));
	if (g->rc != MD_OK)
		snprintf(v, sizeof(v), "%s", conn_value(g));
	else if (g->r.resp.status == 200 && md_hs_parse_version_body(g->r.resp.body, ver, sizeof(ver)) == MD_OK)
		snprintf(v, sizeof(v), "ok");
	else if (g->r.resp.status == 404)
		snprintf(v, sizeof(v), "absent");
	else
		snprintf(v, sizeof(v), "status-%d", g->r.resp.status);
	rc = md_fact_str(f, P, "headscale.version_endpoint", v, ev);
	if (rc == MD_OK && strcmp(v, "ok") == 0) {
		char safe[128];

		md_escape_str(safe, sizeof(safe), ver);
		rc = md_fact_strf(f, P, "headscale.server_version", safe, "%s: \"version\": \"%s\"", g->shown, safe);
	}
	return rc;
}

static int put_skipped(struct md_facts *f, const char *name, const char *why)
{
	return md_fact_str(f, P, name, "skipped", why);
}

/* /health, /key, /version from here.  Once a connection fails (refused, timeout, TLS, no
 * name), the others are not tried: they would fail the same way. */
static int check_server(struct md_ctx *ctx, struct md_facts *f, const struct md_http_url *u,
			const char *url)
{
	const char *ca = ctx->opt ? ctx->opt->ca_file : NULL;
	char path[32], why[400];
	struct get_res *g = calloc(1, sizeof(*g));
	struct md_deadline dl;
	int rc;

	if (!g)
		return MD_ENOMEM;
	dl = share(ctx, 5);
	get(u, "/health", ca, &dl, g);
	rc = put_health(f, g, url);
	if (rc == MD_OK)
		rc = md_fact_str(f, P, "headscale.http", conn_value(g), g->rc ? g->e.msg : g->shown);
	if (rc == MD_OK && g->rc != MD_OK)
		rc = md_fact_str(f, P, "headscale.http_error", g->e.msg, g->shown);
	if (g->rc != MD_OK) {
		snprintf(why, sizeof(why), "not tried: /health's connection failed (%s)", conn_value(g));
		md_http_result_cleanup(&g->r);
		if (rc == MD_OK)
			rc = put_skipped(f, "headscale.key", why);
		if (rc == MD_OK)
			rc = put_skipped(f, "headscale.version_endpoint", why);
		free(g);
		return rc;
	}
	md_http_result_cleanup(&g->r);
	snprintf(path, sizeof(path), "/key?v=%d", KEY_CAPVER);
	dl = share(ctx, 4);
	get(u, path, ca, &dl, g);
	if (rc == MD_OK)
		rc = put_key(f, g);
	md_http_result_cleanup(&g->r);
	dl = share(ctx, 3);
	get(u, "/version", ca, &dl, g);
	if (rc == MD_OK)
		rc = put_version(f, g);
	md_http_result_cleanup(&g->r);
	free(g);
	return rc;
}

/* ==== the login server, from the target =============================================== */

/* `curl` prints the status code (-w), else `wget` says by its exit status (0: 2xx, 8: an
 * error status, 4: network failure: wget(1) EXIT STATUS); neither: exit 127. */
static int reach_cmd(const char *url, char *cmd, size_t len)
{
	struct md_buf b, q;
	int rc;

	md_buf_init(&b, len - 1);
	md_buf_init(&q, 0);
	rc = md_buf_printf(&q, "%s/health", url);
	if (rc == MD_OK)
		rc = md_buf_puts(&b, "if command -v curl >/dev/null 2>&1; then curl -sS -m 3 -o /dev/null "
				 "-w 'http %{http_code}' ");
	if (rc == MD_OK)
		rc = md_hostcmd_sh_quote(&b, md_buf_str(&q));
	if (rc == MD_OK)
		rc = md_buf_puts(&b, "; elif command -v wget >/dev/null 2>&1; then wget -q -T 3 -t 1 -O /dev/null ");
	if (rc == MD_OK)
		rc = md_hostcmd_sh_quote(&b, md_buf_str(&q));
	if (rc == MD_OK)
		rc = md_buf_puts(&b, "; else echo 'neither curl nor wget is installed' >&2; exit 127; fi");
	if (rc == MD_OK)
		snprintf(cmd, len, "%s", md_buf_str(&b));
	md_buf_cleanup(&b);
	md_buf_cleanup(&q);
	return rc;
}

/* headscale.target_reach: "ok" (an HTTP answer, any status), "failed", "no-client",
 * "timeout"; evidence: what the client said. */
static int put_reach(struct md_facts *f, const struct md_host_out *o, const char *cmd_shown)
{
	const char *out = md_buf_str(&o->out), *err = md_buf_str(&o->err);
	char ev[900], e1[400], v[16];
	int code = 0;

	excerpt(err, strlen(err), e1, sizeof(e1));
	if (o->state != MD_HOST_RAN)
		snprintf(v, sizeof(v), "%s", "lost");
	else if (md_hostcmd_ended_by_limit(o->limit_s, o->exit_status, NULL))
		snprintf(v, sizeof(v), "%s", "timeout");
	else if (o->exit_status == 127)
		snprintf(v, sizeof(v), "%s", "no-client");
	else if ((sscanf(out, "http %d", &code) == 1 && code >= 100) || o->exit_status == 0 ||
		 o->exit_status == 8)
		snprintf(v, sizeof(v), "%s", "ok");
	else
		snprintf(v, sizeof(v), "%s", "failed");
	snprintf(ev, sizeof(ev), "the target: %.400s: exit %d%s%.40s%s%.300s", cmd_shown, o->exit_status,
		 out[0] ? ", stdout " : "", out, e1[0] ? ", stderr: " : "", o->state == MD_HOST_RAN ? e1 : o->why);
	if (md_fact_str(f, P, "headscale.target_reach", v, ev) != MD_OK)
		return MD_ENOMEM;
	if (code >= 100 && md_fact_int(f, P, "headscale.target_reach_status", code, cmd_shown) != MD_OK)
		return MD_ENOMEM;
	return md_fact_check(f, "headscale.target_reach", strcmp(v, "ok") == 0 ? MD_CHECK_OK : MD_CHECK_FAIL,
			     "the target reaches the login server's /health");
}

static int check_reach(struct md_ctx *ctx, struct md_facts *f, const char *url)
{
	char cmd[1400], shown[700];
	struct md_host_out o;
	struct md_err e = { 0 };
	int rc;

	if (!md_ctx_session(ctx))
		return put_skipped(f, "headscale.target_reach", "no session to the target");
	if (is_windows(ctx, f))
		return put_skipped(f, "headscale.target_reach", "a Windows host: not asked");
	if (reach_cmd(url, cmd, sizeof(cmd)) != MD_OK)
		return put_skipped(f, "headscale.target_reach", "the URL cannot be quoted for the host's shell");
	snprintf(shown, sizeof(shown), "curl -sS -m 3 %.600s/health", url);
	md_host_out_init(&o);
	rc = md_ctx_host(ctx, STEP_REACH, cmd, REACH_LIMIT_S, &ctx->deadline, &o, &e);
	if (rc == MD_OK)
		rc = put_reach(f, &o, shown);
	else if (rc != MD_ENOMEM)
		rc = put_skipped(f, "headscale.target_reach", e.msg);
	md_host_out_cleanup(&o);
	return rc;
}

/* ==== the CLI on the target ============================================================ */

/* Where the CLI is read: the target (through the run's batch), or the --headscale-host
 * session with a batch of its own. */
struct cli {
	struct md_ctx *ctx;
	struct md_session *s;       /* --headscale-host's session (owned), else NULL */
	struct md_hostbatch *b;     /* its batch (owned) */
	char where[300];            /* "the target", or the host as given */
	struct md_host_out o[N_CLI];
	bool ran[N_CLI];
	int major, minor;
	char version[64];
	struct md_hs_user *users;
	size_t n_users;
};

static int cli_exec(struct cli *c, const char *id, const char *cmd, struct md_host_out *o, struct md_err *e)
{
	if (!c->s)
		return md_ctx_host(c->ctx, id, cmd, CLI_LIMIT_S, &c->ctx->deadline, o, e);
	if (c->b && md_hostbatch_take(c->b, id, cmd, o) == MD_OK)
		return MD_OK;
	return md_host_run(c->s, cmd, CLI_LIMIT_S, &c->ctx->deadline, o, e);
}

static bool step_ok(const struct cli *c, size_t i)
{
	return c->ran[i] && c->o[i].state == MD_HOST_RAN && c->o[i].exit_status == 0;
}

/* The first CLI failure: headscale.cli_error with the exact message, and which command. */
static int put_cli_error(struct md_facts *f, const struct cli *c, size_t i, const char *shown)
{
	char msg[600], safe[700];

	if (md_facts_get(f, "headscale.cli_error"))
		return MD_OK;
	md_hs_cli_error(md_buf_str(&c->o[i].err)[0] ? md_buf_str(&c->o[i].err) : md_buf_str(&c->o[i].out),
			msg, sizeof(msg));
	md_escape_str(safe, sizeof(safe), msg);
	if (md_fact_strf(f, P, "headscale.cli_error", safe, "%s: `%s`: exit %d", c->where, shown,
			 c->o[i].exit_status) != MD_OK)
		return MD_ENOMEM;
	return md_fact_strf(f, P, "headscale.cli_error_cmd", shown, "the first CLI command that failed on %s",
			    c->where);
}

/* The names and addresses the target's node may go by in Headscale's list. */
struct wanted {
	char names[4][MD_HS_NAME_MAX];
	int n_names;
	char ips[8][48];
	int n_ips;
};

static void want_name(struct wanted *w, const char *s, bool first_label)
{
	if (!s || !*s || w->n_names >= 4)
		return;
	if (md_net_is_ip_literal(s)) {
		if (w->n_ips < 8)
			snprintf(w->ips[w->n_ips++], sizeof(w->ips[0]), "%s", s);
		return;
	}
	snprintf(w->names[w->n_names], sizeof(w->names[0]), "%.*s",
		 first_label ? (int)strcspn(s, ".") : (int)strlen(s), s);
	if (w->names[w->n_names][0])
		w->n_names++;
}

static void want_ips(struct wanted *w, const char *list)
{
	while (list && *list && w->n_ips < 8) {
		size_t n = strcspn(list, ", ");

		if (n && n < sizeof(w->ips[0]))
			snprintf(w->ips[w->n_ips++], sizeof(w->ips[0]), "%.*s", (int)n, list);
		list += n;
		list += strspn(list, ", ");
	}
}

static void wanted_of(const struct md_ctx *ctx, const struct md_facts *f, struct wanted *w)
{
	memset(w, 0, sizeof(*w));
	want_name(w, md_facts_str(f, "tailscale.dns_name"), true);
	want_name(w, md_facts_str(f, "tailscale.host_name"), false);
	want_ips(w, md_facts_str(f, "tailscale.ips"));
	if (ctx->target) {
		want_name(w, ctx->target->host, true);
		if (ctx->target->hostname && strcmp(ctx->target->hostname, ctx->target->host ? ctx->target->host : "") != 0)
			want_name(w, ctx->target->hostname, true);
	}
}

/* How node n matches w: "given_name NAME", "name NAME", "ip IP", or NULL. */
static bool node_matches(const struct md_hs_node *n, const struct wanted *w, char *how, size_t len)
{
	for (int i = 0; i < w->n_names; i++) {
		if (strcasecmp(n->given_name, w->names[i]) == 0)
			return snprintf(how, len, "given_name %s", n->given_name), true;
		if (strcasecmp(n->name, w->names[i]) == 0)
			return snprintf(how, len, "name %s", n->name), true;
	}
	for (int i = 0; i < w->n_ips; i++)
		for (int k = 0; k < n->n_ips; k++)
			if (strcmp(n->ips[k], w->ips[i]) == 0)
				return snprintf(how, len, "ip %s", n->ips[k]), true;
	return false;
}

static void wanted_text(const struct wanted *w, char *out, size_t len)
{
	out[0] = '\0';
	for (int i = 0; i < w->n_names; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? ", " : "", w->names[i]);
	for (int i = 0; i < w->n_ips; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? ", " : "", w->ips[i]);
}

static int put_node(struct md_facts *f, const struct md_hs_node *n, const char *how, int64_t now_s)
{
	char exp[32] = "", ev[300];
	bool expired = n->expiry.set && n->expiry.s <= now_s;
	int rc;

	rc = md_fact_boolf(f, P, "headscale.node.registered", true, "`headscale nodes list`: node %s matched by %s",
			   n->id, how);
	if (rc == MD_OK)
		rc = md_fact_check(f, "headscale.node.registered", MD_CHECK_OK, "the target's node is registered in Headscale");
	if (rc == MD_OK)
		rc = md_fact_str(f, P, "headscale.node.id", n->id, "`headscale nodes list`: id");
	if (rc == MD_OK)
		rc = md_fact_str(f, P, "headscale.node.name", n->given_name[0] ? n->given_name : n->name,
				 "`headscale nodes list`: given_name");
	if (rc == MD_OK)
		rc = md_fact_str(f, P, "headscale.node.hostname", n->name, "`headscale nodes list`: name");
	if (rc == MD_OK)
		rc = md_fact_str(f, P, "headscale.node.user", n->user, "`headscale nodes list`: user.name");
	if (rc == MD_OK)
		rc = md_fact_bool(f, P, "headscale.node.online", n->online, n->online ? "\"online\": true"
				  : "no \"online\": true (omitted when false)");
	if (n->expiry.set)
		iso_time(n->expiry.s, exp, sizeof(exp));
	snprintf(ev, sizeof(ev), "no expiry set");
	if (n->expiry.set) {
		char now[32];

		iso_time(now_s, now, sizeof(now));
		snprintf(ev, sizeof(ev), "expiry %s, now %s", exp, now);
	}
	if (rc == MD_OK)
		rc = md_fact_bool(f, P, "headscale.node.expired", expired, ev);
	if (rc == MD_OK && n->expiry.set)
		rc = md_fact_str(f, P, "headscale.node.expiry", exp, "`headscale nodes list`: expiry");
	if (rc == MD_OK && n->last_seen.set) {
		char ls[32];

		iso_time(n->last_seen.s, ls, sizeof(ls));
		rc = md_fact_str(f, P, "headscale.node.last_seen", ls, "`headscale nodes list`: last_seen");
	}
	return rc;
}

static int put_nodes(struct md_ctx *ctx, struct md_facts *f, const struct cli *c, int64_t now_s)
{
	struct md_hs_node *v = NULL;
	struct md_err e = { 0 };
	struct wanted w;
	char how[200], names[600];
	size_t n = 0;
	int rc;

	if (md_hs_parse_nodes(md_buf_str(&c->o[1].out), &v, &n, &e) != MD_OK)
		return md_fact_strf(f, P, "headscale.nodes_error", e.msg, "`headscale nodes list -o json`: %s", e.msg);
	rc = md_fact_intf(f, P, "headscale.nodes", (int64_t)n, "`headscale nodes list -o json`: %zu node(s)", n);
	wanted_of(ctx, f, &w);
	wanted_text(&w, names, sizeof(names));
	for (size_t i = 0; rc == MD_OK && i < n; i++)
		if (node_matches(&v[i], &w, how, sizeof(how))) {
			rc = put_node(f, &v[i], how, now_s);
			free(v);
			return rc;
		}
	free(v);
	if (rc == MD_OK && w.n_names + w.n_ips == 0)
		return md_fact_str(f, P, "headscale.node.registered_unknown", "no name or address known for the target",
				   "no tailscale.dns_name, tailscale.host_name, tailscale.ips, nor a target name");
	if (rc == MD_OK)
		rc = md_fact_boolf(f, P, "headscale.node.registered", false,
				   "`headscale nodes list -o json`: none of %zu node(s) has the name or address %s", n, names);
	if (rc == MD_OK)
		rc = md_fact_check(f, "headscale.node.registered", MD_CHECK_FAIL, "the target's node is registered in Headscale");
	return rc;
}


/* Tallies one key list into the counts; usable ones go to list as "ID (shown, user U,
 * reusable, expires T)" — never the key itself (headscale.h: md_hs_key.shown). */
struct key_tally {
	size_t total, usable, expired, used;
	char list[900];
};

static void tally_keys(const struct md_hs_key *v, size_t n, int64_t now_s, struct key_tally *t)
{
	for (size_t i = 0; i < n; i++) {
		const struct md_hs_key *k = &v[i];
		char exp[32] = "never";
		size_t o = strlen(t->list);

		t->total++;
		if (k->expiration.set && k->expiration.s <= now_s) {
			t->expired++;
			continue;
		}
		if (!md_hs_key_usable(k, now_s)) {
			t->used++;
			continue;
		}
		t->usable++;
		if (k->expiration.set)
			iso_time(k->expiration.s, exp, sizeof(exp));
		snprintf(t->list + o, sizeof(t->list) - o, "%sid %s%s%s%s, user %s%s%s, expires %s", o ? "; " : "", k->id,
			 k->shown[0] ? " (" : "", k->shown, k->shown[0] ? ")" : "", k->user[0] ? k->user : "(tagged)",
			 k->reusable ? ", reusable" : "", k->ephemeral ? ", ephemeral" : "", exp);
	}
}

/* Headscale < 0.28 lists keys per user (`--user NAME`; a numeric id since 0.26). */
static int keys_per_user(struct cli *c, int64_t now_s, struct key_tally *t,
			 char *why, size_t why_len)
{
	int rc = MD_OK;

	for (size_t i = 0; i < c->n_users && i < MAX_USER_LISTS && rc == MD_OK; i++) {
		struct md_buf cmd;
		struct md_host_out o;
		struct md_err e = { 0 };
		struct md_hs_key *v = NULL;
		size_t n = 0;
		char id[MD_HOSTBATCH_ID_MAX];
		const char *who = c->minor >= 26 || c->major > 0 ? c->users[i].id : c->users[i].name;

		md_buf_init(&cmd, 1024);
		md_host_out_init(&o);
		snprintf(id, sizeof(id), "headscale.keys.%zu", i);
		rc = md_buf_puts(&cmd, HS_CMD("preauthkeys list -o json --user "));
		if (rc == MD_OK)
			rc = md_hostcmd_sh_quote(&cmd, who);
		if (rc == MD_OK)
			rc = cli_exec(c, id, md_buf_str(&cmd), &o, &e);
		if (rc == MD_OK && o.state == MD_HOST_RAN && o.exit_status == 0 &&
		    md_hs_parse_keys(md_buf_str(&o.out), &v, &n, &e) == MD_OK)
			tally_keys(v, n, now_s, t);
		else if (!why[0])
			snprintf(why, why_len, "`headscale preauthkeys list --user %s`: %s", who,
				 e.msg[0] ? e.msg : md_buf_str(&o.err));
		if (rc == MD_ESKIP || rc == MD_EIO || rc == MD_ETIMEOUT)
			rc = MD_OK;
		free(v);
		md_host_out_cleanup(&o);
		md_buf_cleanup(&cmd);
	}
	return rc;
}

static int put_keys(struct md_facts *f, struct cli *c, int64_t now_s)
{
	struct key_tally t;
	struct md_hs_key *v = NULL;
	struct md_err e = { 0 };
	char why[600] = "", ev[1200];
	const char *how = "`headscale preauthkeys list -o json`";
	size_t n = 0;
	int rc = MD_OK;

	memset(&t, 0, sizeof(t));
	if (step_ok(c, 2) && md_hs_parse_keys(md_buf_str(&c->o[2].out), &v, &n, &e) == MD_OK) {
		tally_keys(v, n, now_s, &t);
		free(v);
	} else if (c->n_users) {
		how = "`headscale preauthkeys list -o json --user U` for each user";
		rc = keys_per_user(c, now_s, &t, why, sizeof(why));
		if (rc == MD_OK && t.total == 0 && why[0])
			return md_fact_str(f, P, "headscale.keys_error", why, how);
	} else {
		return md_fact_str(f, P, "headscale.keys_error", e.msg[0] ? e.msg : "no list of keys and no users",
				   how);
	}
	snprintf(ev, sizeof(ev), "%s: %zu key(s): %zu usable, %zu expired, %zu used (not reusable)%s%s", how,
		 t.total, t.usable, t.expired, t.used, t.usable ? ": " : "", t.list);
	if (rc == MD_OK)
		rc = md_fact_int(f, P, "headscale.keys", (int64_t)t.total, ev);
	if (rc == MD_OK)
		rc = md_fact_int(f, P, "headscale.keys_usable", (int64_t)t.usable, ev);
	if (rc == MD_OK)
		rc = md_fact_int(f, P, "headscale.keys_expired", (int64_t)t.expired, ev);
	if (rc == MD_OK)
		rc = md_fact_int(f, P, "headscale.keys_used", (int64_t)t.used, ev);
	if (rc == MD_OK && t.usable)
		rc = md_fact_str(f, P, "headscale.keys_usable_list", t.list, how);
	return rc;
}

static int put_users(struct md_facts *f, struct cli *c)
{
	struct md_err e = { 0 };
	char names[600] = "";

	if (md_hs_parse_users(md_buf_str(&c->o[3].out), &c->users, &c->n_users, &e) != MD_OK)
		return md_fact_strf(f, P, "headscale.users_error", e.msg, "`headscale users list -o json`: %s", e.msg);
	for (size_t i = 0; i < c->n_users; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? "," : "", c->users[i].name);
	if (md_fact_intf(f, P, "headscale.users", (int64_t)c->n_users, "`headscale users list -o json`: %s",
			 names[0] ? names : "(none)") != MD_OK)
		return MD_ENOMEM;
	return md_fact_str(f, P, "headscale.users_list", names, "`headscale users list -o json`");
}

/* The Tailscale client's version (tailscale.version, when the tailscale probe records it):
 * Headscale 0.29 needs Tailscale >= 1.80 (HS CHANGELOG). */
static int put_client(struct md_facts *f)
{
	const char *tv = md_facts_str(f, "tailscale.version");
	int major, minor;

	if (!tv || md_hs_parse_ts_version(tv, &major, &minor) != MD_OK)
		return MD_OK;
	if (md_fact_strf(f, P, "headscale.client_version", tv, "tailscale.version: %s", tv) != MD_OK)
		return MD_ENOMEM;
	return md_fact_intf(f, P, "headscale.client_minor", major == 1 ? minor : 9999,
			    "Tailscale %s: minor version of 1.x", tv);
}

static int put_unit(struct md_facts *f, const struct cli *c)
{
	const struct md_host_out *o = &c->o[4];
	char state[64], err[300];

	if (o->state != MD_HOST_RAN || o->exit_status == 127)
		return MD_OK; /* no systemd: nothing to say */
	excerpt(md_buf_str(&o->out), strcspn(md_buf_str(&o->out), "\n"), state, sizeof(state));
	excerpt(md_buf_str(&o->err), o->err.len, err, sizeof(err));
	return md_fact_strf(f, P, "headscale.unit", state[0] ? state : "unknown",
			    "%s: `systemctl is-active headscale`: exit %d, \"%s\"%s%s", c->where, o->exit_status, state,
			    err[0] ? ", stderr: " : "", err);
}

/* headscale.cli: "found" or "absent"; then the version, users, keys, nodes. */
static int read_cli(struct md_facts *f, struct cli *c)
{
	int64_t now_s = md_wall_ms() / 1000;
	int rc = MD_OK;

	for (size_t i = 0; i < N_CLI && rc != MD_ENOMEM; i++) {
		struct md_err e = { 0 };

		md_host_out_init(&c->o[i]);
		rc = cli_exec(c, cli_steps[i][0], cli_steps[i][1], &c->o[i], &e);
		c->ran[i] = rc == MD_OK;
	}
	if (rc == MD_ENOMEM)
		return rc;
	rc = MD_OK;
	if (!c->ran[0] || c->o[0].state != MD_HOST_RAN)
		return rc;
	/* `systemctl is-active` says "inactive" for a unit that does not exist: the unit's
	 * state is Headscale's only where its CLI is installed. */
	if (c->o[0].exit_status == 127)
		return md_fact_strf(f, P, "headscale.cli", "absent", "%s: `command -v headscale`: not on PATH", c->where);
	rc = put_unit(f, c);
	if (rc == MD_OK)
		rc = md_fact_strf(f, P, "headscale.cli", "found", "%s: `headscale version` ran", c->where);
	if (rc == MD_OK && md_hs_parse_cli_version(md_buf_str(&c->o[0].out), c->version, sizeof(c->version),
						   &c->major, &c->minor) == MD_OK) {
		rc = md_fact_strf(f, P, "headscale.cli_version", c->version, "%s: `headscale version`: %s",
				  c->where, c->version);
		if (rc == MD_OK)
			rc = md_fact_intf(f, P, "headscale.version_minor", c->major ? 1000 : c->minor,
					  "MINOR of `headscale version` %s (0.MINOR; 1000 for 1.x or later)", c->version);
	}
	for (size_t i = 0; i < 4 && rc == MD_OK; i++)
		if (c->ran[i] && c->o[i].state == MD_HOST_RAN && c->o[i].exit_status != 0 && (i != 2 || c->minor >= 28))
			rc = put_cli_error(f, c, i, cli_steps[i][1] + strlen(HS_CMD("")) - strlen("headscale "));
	if (rc == MD_OK && step_ok(c, 3))
		rc = put_users(f, c);
	if (rc == MD_OK && (step_ok(c, 2) || c->n_users))
		rc = put_keys(f, c, now_s);
	if (rc == MD_OK && step_ok(c, 1))
		rc = put_nodes(c->ctx, f, c, now_s);
	return rc;
}

/* ==== the run ========================================================================== */

/* The login server's URL: --login-server, else the node's ControlURL (tailscale probe)
 * when it is not Tailscale's own. */
static const char *login_url(struct md_ctx *ctx, struct md_facts *f, const char **src)
{
	const char *u, *kind;

	if (ctx->opt && ctx->opt->login_server) {
		*src = "--login-server";
		return ctx->opt->login_server;
	}
	*src = "tailscale.control_url";
	u = md_facts_str(f, "tailscale.control_url");
	kind = md_facts_str(f, "tailscale.control");
	if (kind && strcmp(kind, "tailscale") == 0)
		return NULL;
	return u && *u ? u : NULL;
}

static int hs_host_steps(const struct md_ctx *ctx, struct md_hostbatch *b, struct md_err *err)
{
	const char *os = ctx->session ? md_session_os(ctx->session) : NULL;
	char cmd[1400];
	int rc = MD_OK;

	if (os && strcmp(os, "windows") == 0)
		return MD_OK;
	/* With --headscale-host the CLI is read there, not on the target. */
	for (size_t i = 0; i < N_CLI && rc == MD_OK && !(ctx->opt && ctx->opt->headscale_host); i++)
		rc = md_hostbatch_add(b, cli_steps[i][0], cli_steps[i][1], CLI_LIMIT_S, err);
	if (rc == MD_OK && ctx->opt && ctx->opt->login_server &&
	    reach_cmd(ctx->opt->login_server, cmd, sizeof(cmd)) == MD_OK)
		rc = md_hostbatch_add(b, STEP_REACH, cmd, REACH_LIMIT_S, err);
	return rc;
}

static int server_part(struct md_ctx *ctx, struct md_facts *f)
{
	const char *src = NULL, *url;
	struct md_http_url u;
	struct md_err e = { 0 };
	char shown[700];
	int rc;

	if (md_ctx_session(ctx))
		md_ctx_wait_probe(ctx, "tailscale", f);
	url = login_url(ctx, f, &src);
	if (!url)
		return md_fact_str(f, P, "headscale.url", "", "no --login-server given, and no Headscale "
				   "ControlURL known (tailscale.control_url)");
	md_escape_str(shown, sizeof(shown), url);
	rc = md_fact_strf(f, P, "headscale.url", shown, "from %s", src);
	if (rc == MD_OK && md_http_parse_url(url, &u, &e) != MD_OK)
		return md_fact_str(f, P, "headscale.http", "bad-url", e.msg);
	if (rc == MD_OK)
		rc = check_server(ctx, f, &u, shown);
	if (rc == MD_OK)
		rc = check_reach(ctx, f, url);
	return rc;
}

/* --headscale-host: a session of its own, with the SSH options of the run (the target's
 * user and port are the target's), and a batch for the CLI's commands. */
static int open_hs_host(struct md_ctx *ctx, struct md_facts *f, struct cli *c)
{
	const char *spec = ctx->opt->headscale_host;
	struct md_target_opts o = { 0 };
	struct md_target t = { 0 };
	struct md_err e = { 0 };
	struct md_deadline dl = share(ctx, 2);
	int rc;

	if (ctx->opt->ssh_opts)
		o = *ctx->opt->ssh_opts;
	o.user = NULL;
	o.port = 0;
	md_escape_str(c->where, sizeof(c->where), spec);
	rc = md_target_parse(spec, &t, &e);
	if (rc == MD_OK)
		rc = md_target_resolve(&t, &o, &dl, &e);
	if (rc == MD_OK)
		rc = md_ssh_open(&t, &dl, &c->s, &e);
	md_target_cleanup(&t);
	if (rc == MD_ENOMEM)
		return rc;
	if (rc != MD_OK)
		return md_fact_str(f, P, "headscale.host_ssh", "failed", e.msg) == MD_OK ? MD_ESKIP : MD_ENOMEM;
	if (md_fact_strf(f, P, "headscale.host_ssh", "ok", "ssh %s: authenticated", c->where) != MD_OK)
		return MD_ENOMEM;
	c->b = md_hostbatch_new(&e);
	for (size_t i = 0; c->b && i < N_CLI && rc == MD_OK; i++)
		rc = md_hostbatch_add(c->b, cli_steps[i][0], cli_steps[i][1], CLI_LIMIT_S, &e);
	if (c->b && rc == MD_OK)
		md_hostbatch_run(c->b, c->s, &ctx->deadline, 0);
	return MD_OK;
}

/* The CLI: on --headscale-host, else on the target (a POSIX one). */
static int cli_part(struct md_ctx *ctx, struct md_facts *f, struct cli *c)
{
	int rc;

	c->ctx = ctx;
	if (ctx->opt && ctx->opt->headscale_host) {
		if (md_fact_str(f, P, "headscale.host", ctx->opt->headscale_host, "--headscale-host") != MD_OK)
			return MD_ENOMEM;
		rc = open_hs_host(ctx, f, c);
		return rc == MD_OK ? read_cli(f, c) : rc == MD_ESKIP ? MD_OK : rc;
	}
	if (!md_ctx_session(ctx) || is_windows(ctx, f))
		return MD_OK;
	snprintf(c->where, sizeof(c->where), "the target");
	if (md_fact_str(f, P, "headscale.host", "the target", "no --headscale-host: the target's CLI, if any") != MD_OK)
		return MD_ENOMEM;
	return read_cli(f, c);
}

static int hs_run(struct md_ctx *ctx, struct md_facts *f, struct md_err *err)
{
	struct cli *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return md_err_set(err, MD_ENOMEM, P, "out of memory");
	rc = server_part(ctx, f);
	if (rc == MD_OK)
		rc = cli_part(ctx, f, c);
	if (rc == MD_OK)
		rc = put_client(f);
	for (size_t i = 0; i < N_CLI; i++)
		if (c->ran[i] || c->o[i].out.data || c->o[i].err.data)
			md_host_out_cleanup(&c->o[i]);
	md_hostbatch_free(c->b);
	md_session_free(c->s);
	free(c->users);
	free(c);
	if (rc && !err->code)
		md_err_set(err, rc, P, "headscale probe: %s", md_status_name(rc));
	return rc;
}

static const char *const hs_provides[] = {
	"headscale.url", "headscale.host", "headscale.host_ssh", "headscale.http", "headscale.http_error", "headscale.health",
	"headscale.health_status", "headscale.health_body", "headscale.key", "headscale.key_status",
	"headscale.version_endpoint", "headscale.server_version", "headscale.target_reach",
	"headscale.target_reach_status", "headscale.cli", "headscale.cli_version",
	"headscale.version_minor", "headscale.cli_error", "headscale.cli_error_cmd", "headscale.unit",
	"headscale.users", "headscale.users_list", "headscale.users_error", "headscale.keys",
	"headscale.keys_usable", "headscale.keys_expired", "headscale.keys_used",
	"headscale.keys_usable_list", "headscale.keys_error", "headscale.nodes", "headscale.nodes_error",
	"headscale.node.*", "headscale.client_version", "headscale.client_minor", NULL,
};

/* The OS decides whether the CLI is asked; the login server may be the node's ControlURL,
 * and the node's names and addresses find it in Headscale's list. */
static const char *const hs_reads[] = { "host", "tailscale", NULL };

const struct md_probe probe_headscale = {
	.name = "headscale",
	.desc = "the login (Headscale) server: /health, /key, /version from here and the target; "
		"its CLI where the target runs it (node, pre-auth keys, unit)",
	.provides = hs_provides,
	.needs = MD_USES_SESSION,
	.reads = hs_reads,
	.host_steps = hs_host_steps,
	.run = hs_run,
};
