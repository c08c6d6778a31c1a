/* ts_facts.c — the tailscale probe's state facts (probes/ts_state.h): what the parsers
 * found, recorded with the command and the exact text as evidence.  Observations only;
 * rules/tailscale.rules says what is wrong (docs/tailscale.md#facts-recorded). */
#include "probes/ts_state.h"

#include <stdio.h>
#include <string.h>

#define P "tailscale"

/* ==== status ============================================================================ */

static int record_login(struct md_facts *f, const char *shown, const struct md_ts_state *st)
{
	int rc = MD_OK;

	if (st->auth_url[0])
		rc = md_fact_strf(f, P, "tailscale.auth_url", st->auth_url, "%s: \"AuthURL\": \"%s\"",
				  shown, st->auth_url);
	if (rc == MD_OK && st->register_id[0])
		rc = md_fact_strf(f, P, "tailscale.register_id", st->register_id,
				  "%s: the AuthURL's /register/ segment", shown);
	if (rc == MD_OK && st->register_form)
		rc = md_fact_strf(f, P, "tailscale.register_form", st->register_form,
				  "%s: AuthURL /register/%s", shown,
				  strcmp(st->register_form, "auth-id") == 0 ? "hskey-authreq-... (Headscale 0.29+)" :
				  strcmp(st->register_form, "nodekey") == 0 ? "nodekey:... (Headscale <= 0.22)" :
				  "<id> (Headscale 0.23-0.28)");
	if (rc == MD_OK)
		rc = md_fact_boolf(f, P, "tailscale.self_online", st->self_online,
				   "%s: Self \"Online\": %s", shown, st->self_online ? "true" : "false");
	return rc;
}

/* Self.KeyExpiry against the run's clock: days left, rounded down (negative once past). */
static int record_expiry(struct md_facts *f, const char *shown, const struct md_ts_state *st,
			 int64_t now_s)
{
	int64_t left = st->key_expiry_s - now_s;
	int64_t days = left >= 0 ? left / 86400 : -((-left + 86399) / 86400);
	bool expired = st->self_expired || (st->key_expiry[0] && left <= 0);
	int rc = MD_OK;

	if (st->key_expiry[0]) {
		rc = md_fact_strf(f, P, "tailscale.key_expiry", st->key_expiry,
				  "%s: Self \"KeyExpiry\": \"%s\"", shown, st->key_expiry);
		if (rc == MD_OK)
			rc = md_fact_intf(f, P, "tailscale.key_expiry_days", days,
					  "KeyExpiry %s vs this run's clock: %lld s %s", st->key_expiry,
					  (long long)(left >= 0 ? left : -left), left >= 0 ? "left" : "ago");
	}
	if (rc == MD_OK && (st->key_expiry[0] || st->self_expired))
		rc = md_fact_boolf(f, P, "tailscale.key_expired", expired, "%s: %s%s%s", shown,
				   st->self_expired ? "Self \"Expired\": true" : "Self \"KeyExpiry\": ",
				   st->self_expired ? "" : st->key_expiry,
				   expired && !st->self_expired ? " is past (this run's clock)" : "");
	else if (rc == MD_OK && st->has_tailnet)
		rc = md_fact_boolf(f, P, "tailscale.key_expired", false,
				   "%s: Self has no KeyExpiry (the node key does not expire)", shown);
	return rc;
}

static int record_peers(struct md_facts *f, const char *shown, const struct md_ts_state *st)
{
	struct { const char *name; int v; const char *what; } c[] = {
		{ "tailscale.peers", st->peers, "Peer entries" },
		{ "tailscale.peers_online", st->peers_online, "peers with \"Online\": true" },
		{ "tailscale.peers_offline", st->peers_offline, "peers with \"Online\": false" },
		{ "tailscale.peers_direct", st->peers_direct, "active peers with a CurAddr (direct)" },
		{ "tailscale.peers_derp", st->peers_derp,
		  "active peers with only a Relay (via DERP)" },
		{ "tailscale.peers_peer_relay", st->peers_peer_relay, "active peers via a PeerRelay" },
		{ "tailscale.peers_idle", st->peers_idle, "online peers not Active (no current path)" },
	};
	int rc = MD_OK;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]) && rc == MD_OK; i++)
		rc = md_fact_intf(f, P, c[i].name, c[i].v, "%s: %d %s", shown, c[i].v, c[i].what);
	return rc;
}

int md_ts_record_state(struct md_facts *f, const char *shown, const struct md_ts_state *st,
		       int64_t now_s, const char *target)
{
	int rc = MD_OK;

	if (st->version[0])
		rc = md_fact_strf(f, P, "tailscale.version", st->version, "%s: \"Version\": \"%s\"",
				  shown, st->version);
	if (rc == MD_OK)
		rc = record_login(f, shown, st);
	if (rc == MD_OK)
		rc = record_expiry(f, shown, st, now_s);
	if (rc == MD_OK && st->n_ips)
		rc = md_fact_strf(f, P, "tailscale.ips", st->ips, "%s: \"TailscaleIPs\": [%s]", shown,
				  st->ips);
	if (rc == MD_OK && st->has_tailnet)
		rc = md_fact_boolf(f, P, "tailscale.magicdns_enabled", st->magicdns_enabled,
				   "%s: CurrentTailnet \"MagicDNSEnabled\": %s", shown,
				   st->magicdns_enabled ? "true" : "false");
	if (rc == MD_OK && target && st->magicdns_suffix[0])
		rc = md_fact_boolf(f, P, "tailscale.target_magicdns",
				   md_ts_name_under(target, st->magicdns_suffix),
				   "target \"%s\" %s the MagicDNS suffix \"%s\"", target,
				   md_ts_name_under(target, st->magicdns_suffix) ? "is under" : "is not under",
				   st->magicdns_suffix);
	if (rc == MD_OK)
		rc = md_fact_intf(f, P, "tailscale.health_count", st->n_health, "%s: \"Health\": %s%d %s",
				  shown, st->n_health ? "" : "[] ", st->n_health,
				  st->n_health == 1 ? "warning" : "warnings");
	if (rc == MD_OK && st->n_health)
		rc = md_fact_strf(f, P, "tailscale.health", st->health, "%s: \"Health\": [%s]", shown,
				  st->health);
	if (rc == MD_OK)
		rc = record_peers(f, shown, st);
	return rc;
}

/* ==== prefs ============================================================================= */

int md_ts_record_prefs(struct md_facts *f, const char *shown, const struct md_ts_prefs *p,
		       const char *login_server)
{
	struct { const char *name, *field; bool v, have; } b[] = {
		{ "tailscale.want_running", "WantRunning", p->want_running, p->has_want_running },
		{ "tailscale.logged_out", "LoggedOut", p->logged_out, true },
		{ "tailscale.force_daemon", "ForceDaemon", p->force_daemon, true },
		{ "tailscale.corp_dns", "CorpDNS", p->corp_dns, p->has_corp_dns },
	};
	int rc = MD_OK;

	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]) && rc == MD_OK; i++)
		if (b[i].have)
			rc = md_fact_boolf(f, P, b[i].name, b[i].v, "%s: \"%s\": %s", shown, b[i].field,
					   b[i].v ? "true" : "false");
	if (rc == MD_OK && login_server) {
		bool same = md_ts_same_control(p->control_url, login_server);

		rc = md_fact_boolf(f, P, "tailscale.control_matches", same,
				   "%s: \"ControlURL\": \"%s\" %s --login-server %s", shown,
				   p->control_url, same ? "is" : "is not", login_server);
	}
	return rc;
}

/* ==== version =========================================================================== */

int md_ts_record_version(struct md_facts *f, const char *shown, const struct md_ts_version *v,
			 const char *status_stderr, const char *daemon_version)
{
	char client[96], daemon[96], line[300];
	int rc = MD_OK;

	if (v)
		rc = md_fact_strf(f, P, "tailscale.client_version", v->short_version,
				  "%s: %s%s%s", shown, v->short_version,
				  v->long_version[0] ? ", long version: " : "", v->long_version);
	if (rc)
		return rc;
	/* The CLI warns by itself on every command that talks to tailscaled (§4.1). */
	if (md_ts_skew_warning(status_stderr, client, sizeof(client), daemon, sizeof(daemon))) {
		snprintf(line, sizeof(line), "Warning: client version \"%s\" != tailscaled server "
			 "version \"%s\"", client, daemon);
		return md_fact_boolf(f, P, "tailscale.version_skew", true,
				     "tailscale status --json (stderr): %s", line);
	}
	if (v && daemon_version && daemon_version[0])
		return md_fact_boolf(f, P, "tailscale.version_skew",
				     md_ts_versions_differ(v->short_version, daemon_version),
				     "CLI %s (tailscale version), daemon %s (status \"Version\")",
				     v->short_version, daemon_version);
	return MD_OK;
}

/* ==== daemon, netcheck ================================================================== */

int md_ts_record_daemon(struct md_facts *f, const char *shown, const char *text, bool *found)
{
	char line[600];
	const char *hint = md_ts_daemon_error(text, line, sizeof(line));
	int rc;

	*found = hint != NULL;
	if (!hint)
		return MD_OK;
	rc = md_fact_strf(f, P, "tailscale.daemon", "unreachable", "%s: %s", shown, line);
	if (rc == MD_OK)
		rc = md_fact_strf(f, P, "tailscale.daemon_error", line, "%s (stderr)", shown);
	if (rc == MD_OK)
		rc = md_fact_strf(f, P, "tailscale.daemon_hint", hint,
				  "which of the CLI's daemon-unreachable messages: %s", line);
	if (rc == MD_OK)
		rc = md_fact_check(f, "tailscale.daemon", MD_CHECK_FAIL, "Tailscale daemon reachable");
	return rc;
}

int md_ts_record_netcheck(struct md_facts *f, const char *shown, const struct md_ts_netcheck *n)
{
	int rc = md_fact_boolf(f, P, "tailscale.netcheck_udp", n->udp, "%s: \"UDP\": %s%s%s", shown,
			       n->udp ? "true" : "false", n->global_v4[0] ? ", \"GlobalV4\": " : "",
			       n->global_v4);

	if (rc == MD_OK)
		rc = md_fact_intf(f, P, "tailscale.netcheck_derp", n->preferred_derp,
				  "%s: \"PreferredDERP\": %d", shown, n->preferred_derp);
	if (rc == MD_OK && n->mapping_varies[0])
		rc = md_fact_strf(f, P, "tailscale.netcheck_mapping_varies", n->mapping_varies,
				  "%s: \"MappingVariesByDestIP\": \"%s\"", shown, n->mapping_varies);
	return rc;
}
