/* wg_tailscale.c — Tailscale's own view of the capturing machine's peers, for the
 * WireGuard probe (docs/wireguard.md#tailscale-on-the-capturing-machine).
 *
 * A capture with no WireGuard packet means little on its own: the peers may be idle, or
 * Tailscale may carry their traffic over a DERP relay (TCP 443).  Right after a live
 * capture, wireguard.c runs `tailscale status --json` on this machine
 * (md_ts_local_status()) and hands the outcome here, which records the wg.ts_* facts: how
 * many peers are online and active, and how the active ones are reached (direct, DERP,
 * peer relay), naming them in the evidence.
 *
 * No I/O here, so the unit tests drive it with the fixtures in fixtures/tailscale/.  The
 * JSON is read by the Tailscale module's status parser (probes/tailscale.h), and each
 * peer's path is classified as the CLI prints it (md_ts_peer_path()). */
#include "probes/tailscale.h"
#include "probes/wireguard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define PROBE "wireguard"
#define LISTED 6 /* peers named in one evidence line; the others are counted */

/* The active peers of one path, as an evidence line. */
struct peer_list {
	char text[700];
	size_t len;
	int n;
};

struct ts_counts {
	int online, active;
	struct peer_list direct, derp, relay;
};

static const char *peer_name(const struct md_ts_peer *p)
{
	return p->host_name[0] ? p->host_name : p->dns_name;
}

static void list_add(struct peer_list *l, const struct md_ts_peer *p, const char *how,
		     const char *where)
{
	if (l->n++ >= LISTED || l->len >= sizeof(l->text))
		return;
	l->len += (size_t)snprintf(l->text + l->len, sizeof(l->text) - l->len, "%s%s %s %s",
				   l->n > 1 ? ", " : "", peer_name(p), how, where);
}

static int record_list(struct md_facts *f, const char *name, const struct peer_list *l,
		       const char *none)
{
	char more[32] = "";

	if (l->n > LISTED)
		snprintf(more, sizeof(more), ", and %d more", l->n - LISTED);
	return md_fact_intf(f, PROBE, name, l->n, "%s: %s%s", WG_TS_CMD, l->n ? l->text : none,
			    more);
}

static void count(struct ts_counts *c, const struct md_ts_peers *peers)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < peers->n; i++) {
		const struct md_ts_peer *p = &peers->v[i];
		const char *path = md_ts_peer_path(p);

		c->online += p->online;
		c->active += p->active;
		if (strcmp(path, "direct") == 0)
			list_add(&c->direct, p, "direct", p->cur_addr);
		else if (strcmp(path, "derp") == 0)
			list_add(&c->derp, p, "via DERP", p->relay);
		else if (strcmp(path, "peer-relay") == 0)
			list_add(&c->relay, p, "via peer relay", p->peer_relay);
	}
}

/* ---- the target among the peers --------------------------------------------------- */

/* An IP literal or socket address as a family and 16 bytes (IPv4 in the first 4). */
static int ip_of_text(const char *s, unsigned char out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, out) == 1)
		return AF_INET6;
	return 0;
}

static int ip_of_sockaddr(const struct sockaddr *sa, unsigned char out[16])
{
	memset(out, 0, 16);
	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return AF_INET6;
	}
	return 0;
}

/* The peer's TailscaleIP equal to (family, ip), or NULL. */
static const char *peer_ip(const struct md_ts_peer *p, int family, const unsigned char *ip)
{
	unsigned char b[16];

	for (int i = 0; family && i < p->n_ips; i++)
		if (ip_of_text(p->ips[i], b) == family && memcmp(b, ip, 16) == 0)
			return p->ips[i];
	return NULL;
}

static bool same_name(const char *a, size_t alen, const char *name, size_t n)
{
	return alen == n && n > 0 && strncasecmp(a, name, n) == 0;
}

/* Whether name (a trailing dot allowed) names the peer: its MagicDNS name, the short form
 * of it (what MagicDNS also resolves) or its HostName. */
static bool name_is_peer(const struct md_ts_peer *p, const char *name)
{
	size_t n = strlen(name);

	if (n && name[n - 1] == '.')
		n--;
	return same_name(p->dns_name, strlen(p->dns_name), name, n) ||
	       same_name(p->dns_name, strcspn(p->dns_name, "."), name, n) ||
	       same_name(p->host_name, strlen(p->host_name), name, n);
}

/* Whether the peer is the target; why says how it matched. */
static bool is_target(const struct md_ts_peer *p, const struct wg_ts_target *t, char *why,
		      size_t len)
{
	unsigned char ip[16];
	const char *hit;

	for (size_t i = 0; i < sizeof(t->names) / sizeof(t->names[0]) && t->names[i]; i++) {
		if ((hit = peer_ip(p, ip_of_text(t->names[i], ip), ip))) {
			snprintf(why, len, "the target %s is its Tailscale IP", t->names[i]);
			return true;
		}
		if (name_is_peer(p, t->names[i])) {
			snprintf(why, len, "the target %s is its name", t->names[i]);
			return true;
		}
	}
	for (const struct addrinfo *a = t->addrs; a; a = a->ai_next)
		if ((hit = peer_ip(p, ip_of_sockaddr(a->ai_addr, ip), ip))) {
			snprintf(why, len, "the target resolves to its Tailscale IP %s", hit);
			return true;
		}
	return false;
}

static int record_target(struct md_facts *f, const struct md_ts_peers *peers,
			 const struct wg_ts_target *t)
{
	char why[300];

	for (size_t i = 0; t && i < peers->n; i++) {
		const struct md_ts_peer *p = &peers->v[i];

		if (!is_target(p, t, why, sizeof(why)))
			continue;
		return md_fact_strf(f, PROBE, "wg.ts_target_path", md_ts_peer_path(p),
				    "%s: peer %s (%s, %s) is the target (%s): \"Online\": %s, "
				    "\"Active\": %s, \"CurAddr\": \"%s\", \"Relay\": \"%s\", "
				    "\"PeerRelay\": \"%s\"", WG_TS_CMD, peer_name(p), p->dns_name,
				    p->n_ips ? p->ips[0] : "no address", why,
				    p->online ? "true" : "false", p->active ? "true" : "false",
				    p->cur_addr, p->relay, p->peer_relay);
	}
	return MD_OK;
}

/* ---- the facts --------------------------------------------------------------------- */

/* First line of the CLI's complaint: stderr, else stdout. */
static void cli_failure(const struct wg_ts_cli *cli, char *out, size_t len)
{
	const char *s = cli->err && cli->err[0] ? cli->err : cli->out ? cli->out : "";

	snprintf(out, len, "%s: exit %d%s%.*s", WG_TS_CMD, cli->exit_code, s[0] ? ": " : "",
		 (int)strcspn(s, "\r\n"), s);
}

static int record_counts(struct md_facts *f, const struct md_ts_status *st,
			 const struct md_ts_peers *peers, const struct wg_ts_target *t)
{
	struct ts_counts c;
	char label[200];
	int rc;

	count(&c, peers);
	rc = md_fact_intf(f, PROBE, "wg.ts_peers_online", c.online,
			  "%s: %d of %zu peers \"Online\": true", WG_TS_CMD, c.online, peers->n);
	rc = rc ? rc : md_fact_intf(f, PROBE, "wg.ts_peers_active", c.active,
				    "%s: %d of %zu peers \"Active\": true (a packet sent to them "
				    "in the last two minutes)", WG_TS_CMD, c.active, peers->n);
	rc = rc ? rc : record_list(f, "wg.ts_peers_direct", &c.direct,
				   "no active peer with a \"CurAddr\"");
	rc = rc ? rc : record_list(f, "wg.ts_peers_derp", &c.derp,
				   "no active peer relayed over DERP");
	rc = rc ? rc : record_list(f, "wg.ts_peers_peer_relay", &c.relay,
				   "no active peer behind a peer relay");
	rc = rc ? rc : record_target(f, peers, t);
	if (rc)
		return rc;
	snprintf(label, sizeof(label), "Tailscale on this machine (active peers: %d direct, "
		 "%d over DERP, %d via a peer relay)", c.direct.n, c.derp.n, c.relay.n);
	return md_fact_check(f, "wg.ts_state", strcmp(st->backend_state, "Running") == 0 &&
			     c.derp.n == 0 ? MD_CHECK_OK : MD_CHECK_WARN, label);
}

int wg_ts_record(struct md_facts *f, const struct wg_ts_cli *cli, const struct wg_ts_target *t)
{
	struct md_ts_status st;
	struct md_ts_peers peers;
	struct md_err pe = { 0 };
	char ev[600];
	int rc;

	if (cli->rc == MD_ENOTFOUND)
		return md_fact_strf(f, PROBE, "wg.ts_state", "missing", "%s: %s", WG_TS_CMD,
				    cli->errmsg && cli->errmsg[0] ? cli->errmsg : "not found");
	if (cli->rc != MD_OK) {
		snprintf(ev, sizeof(ev), "%s: %s", WG_TS_CMD,
			 cli->errmsg && cli->errmsg[0] ? cli->errmsg : md_status_name(cli->rc));
	} else if (cli->exit_code != 0) {
		cli_failure(cli, ev, sizeof(ev));
	} else if ((rc = md_ts_parse_status_peers(cli->out ? cli->out : "", &st, &peers,
						       &pe)) != MD_OK) {
		if (rc == MD_ENOMEM)
			return rc;
		snprintf(ev, sizeof(ev), "%s", pe.msg);
	} else {
		rc = md_fact_strf(f, PROBE, "wg.ts_state", st.backend_state,
				  "%s: \"BackendState\": \"%s\", %zu peers", WG_TS_CMD,
				  st.backend_state, peers.n);
		if (rc == MD_OK)
			rc = record_counts(f, &st, &peers, t);
		md_ts_peers_free(&peers);
		return rc;
	}
	rc = md_fact_str(f, PROBE, "wg.ts_state", "error", ev);
	return rc ? rc : md_fact_check(f, "wg.ts_state", MD_CHECK_WARN,
				       "Read Tailscale's status on this machine");
}
