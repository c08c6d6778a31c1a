/* ts_state.h — the Tailscale node's state, as the tailscale probe reads it: parsers for
 * `tailscale status --json` (the state half: login, key expiry, health, peers),
 * `tailscale debug prefs`, `tailscale version`, `tailscale netcheck --format=json` and the
 * CLI's daemon-unreachable messages, split from the probe's I/O (probes/tailscale.c) and
 * unit-tested on fixtures/tailscale/ (tests/unit/test_ts_state.c).  The facts they become
 * are described in docs/tailscale.md; md_ts_record_*() (probes/ts_facts.c) record them.
 *
 * Every parser takes NUL-terminated text from the host, never fails on unknown or missing
 * fields (they change between Tailscale releases) and returns MD_EPARSE, with one line in
 * err, for text that is not what the command prints. */
#ifndef MD_PROBE_TS_STATE_H
#define MD_PROBE_TS_STATE_H

#include "core/err.h"
#include "core/facts.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The extra steps of the host batch: `tailscale version` rides in the batch; netcheck runs
 * alone, and only when no peer is reached directly (docs/tailscale.md#netcheck). */
#define MD_TS_STEP_VERSION "tailscale.version"
#define MD_TS_STEP_NETCHECK "tailscale.netcheck"
#define MD_TS_ARGS_VERSION "version"
#define MD_TS_ARGS_NETCHECK "netcheck --format=json"

/* ipnstate.Status, the parts about the node's own state and its peers
 * (reference §2.1-2.3; docs/tailscale.md#node-state). */
struct md_ts_state {
	char version[96];          /* Version: the daemon's long version */
	char backend_state[32];
	char auth_url[512];        /* AuthURL, "" unless a login waits */
	char register_id[128];     /* the AuthURL's last segment after "/register/", or "" */
	const char *register_form; /* "auth-id" (hskey-authreq-, Headscale 0.29+), "nodekey"
				    * (Headscale <= 0.22), "key" (0.23-0.28), NULL: none */
	bool self_online;          /* Self.Online: connected to the control server */
	bool self_expired;         /* Self.Expired (omitempty) */
	char key_expiry[48];       /* Self.KeyExpiry as printed, "" when absent (no expiry) */
	int64_t key_expiry_s;      /* the same in seconds since the epoch; 0 when absent */
	char ips[256];             /* TailscaleIPs joined by ", " */
	int n_ips;
	bool has_tailnet;          /* CurrentTailnet is not null */
	bool magicdns_enabled;     /* CurrentTailnet.MagicDNSEnabled */
	char magicdns_suffix[256];
	int n_health;
	char health[1024];         /* Health entries joined by " | " (cut at the buffer) */
	/* Peers by the path `tailscale status` would print (md_ts_peer_path()). */
	int peers, peers_online, peers_offline, peers_direct, peers_derp, peers_peer_relay,
	    peers_idle;
};

/* MD_EPARSE when json is not an object with BackendState. */
int md_ts_parse_state(const char *json, struct md_ts_state *out, struct md_err *err);

/* The report's table of the status's peers (docs/tailscale.md#peers): a JSON array, one
 * object a peer, members host, dns_name, ip (the first TailscaleIP), os, online, active,
 * path (md_ts_peer_path()), cur_addr, relay, peer_relay, last_handshake ("" for Go's
 * zero time), rx_bytes, tx_bytes; ShareeNode peers left out.  *out is malloc'd text
 * ("[]" without peers).  MD_EPARSE as md_ts_parse_state(), MD_ENOMEM. */
int md_ts_peers_table(const char *json, char **out, struct md_err *err);


/* ipn.Prefs from `tailscale debug prefs` (tab-indented JSON). */
struct md_ts_prefs {
	char control_url[256];
	bool want_running, logged_out, force_daemon, corp_dns;
	bool has_corp_dns, has_want_running; /* the field was there */
};

/* MD_EPARSE when json is not an object with a string ControlURL. */
int md_ts_parse_prefs(const char *json, struct md_ts_prefs *out, struct md_err *err);

/* `tailscale version`: the CLI's short version on the first line ("1.86.2"), then
 * indented "key: value" lines; "long version:" when the build prints it. */
struct md_ts_version {
	char short_version[64];
	char long_version[96];     /* "" when not printed */
};

/* MD_EPARSE when the first line is not a version (digits and dots first). */
int md_ts_parse_version(const char *text, struct md_ts_version *out, struct md_err *err);

/* The CLI's stderr warning `Warning: client version "A" != tailscaled server version "B"`
 * (reference §4.1): true with A and B copied out. */
bool md_ts_skew_warning(const char *text, char *client, size_t client_len, char *daemon,
			size_t daemon_len);
/* True when the CLI's short version differs from the daemon's long version's release
 * part (the text before its first '-'): "1.86.2" vs "1.80.0-t..." differ. */
bool md_ts_versions_differ(const char *client_short, const char *daemon_long);

/* netcheck.Report from `tailscale netcheck --format=json` (stdout; the stderr warning
 * line is not part of it). */
struct md_ts_netcheck {
	bool udp;
	int preferred_derp;        /* region id, 0 when none */
	char mapping_varies[8];    /* MappingVariesByDestIP: "true", "false" or "" */
	char global_v4[64];
};

/* MD_EPARSE when json is not an object with a bool UDP. */
int md_ts_parse_netcheck(const char *json, struct md_ts_netcheck *out, struct md_err *err);

/* Which of the CLI's daemon-unreachable messages of reference §4.1 text holds:
 * "linux" (no tailscaled process), "linux-systemd" (the unit is loaded but not active),
 * "windows", "macos", "other" (another OS), "socket" (a tailscaled process exists but
 * its socket fails) or "raw" (the client library's own message); NULL when none.  line
 * gets the matching line (cut at line_len). */
const char *md_ts_daemon_error(const char *text, char *line, size_t line_len);

/* True when the two control URLs name the same server: scheme and host compared without
 * case, the default port made explicit, trailing '/' dropped; "" is Tailscale's default
 * (https://controlplane.tailscale.com). */
bool md_ts_same_control(const char *a, const char *b);

/* True when host is a name under the MagicDNS suffix ("box.mesh.internal" under
 * "mesh.internal"; a trailing dot on either is ignored). */
bool md_ts_name_under(const char *host, const char *suffix);

/* ==== recording (probes/ts_facts.c) =================================================== */

/* The tailscale.* facts of state, read by command `shown`; now_s is the run's clock
 * (key expiry), target the name meshdoctor was given (MagicDNS).  MD_OK or MD_ENOMEM. */
int md_ts_record_state(struct md_facts *f, const char *shown, const struct md_ts_state *st,
		       int64_t now_s, const char *target);
/* The prefs' facts, and against the expected login server (NULL: not given) whether
 * ControlURL is that server. */
int md_ts_record_prefs(struct md_facts *f, const char *shown, const struct md_ts_prefs *p,
		       const char *login_server);
/* tailscale.client_version and tailscale.version_skew from `tailscale version` (v, NULL
 * when unread) and the status step's stderr (the CLI's own skew warning). */
int md_ts_record_version(struct md_facts *f, const char *shown, const struct md_ts_version *v,
			 const char *status_stderr, const char *daemon_version);
/* tailscale.daemon = "unreachable" with the CLI's exact line and tailscale.daemon_hint,
 * when text holds a daemon-unreachable message: *found true. */
int md_ts_record_daemon(struct md_facts *f, const char *shown, const char *text, bool *found);
int md_ts_record_netcheck(struct md_facts *f, const char *shown, const struct md_ts_netcheck *n);

#endif
