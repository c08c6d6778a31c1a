/* tls.h — the TLS probe's parsers and classifiers, exposed for tests/unit/test_tls.c.
 *
 * The probe (probes/tls.c, `probe_tls`) does the I/O: a TLS handshake from this machine,
 * and over the SSH session the Tailscale CLI (`tailscale status --json`, `tailscale serve
 * status --json`, `tailscale debug prefs`, `tailscale cert`) and an HTTP request to the
 * serve backend.  The tailscale.* facts come from this probe reading the CLI on the host
 * (docs/tailscale.md).  Everything below only turns text into values,
 * so it is tested on fixtures in the real formats (fixtures/tailscale/).  The status
 * parser also reads the capturing machine's own status for the WireGuard probe
 * (probes/wg_tailscale.c). */
#ifndef MD_PROBE_TLS_H
#define MD_PROBE_TLS_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>

/* What `tailscale status --json` (ipnstate.Status) tells the TLS probe
 * (docs/tailscale.md#node-status). */
struct md_ts_status {
	char backend_state[32];    /* "Running", "NeedsLogin", ... */
	char dns_name[256];        /* Self.DNSName without the trailing dot; "" if none */
	char magicdns_suffix[256]; /* CurrentTailnet.MagicDNSSuffix (or the top-level one) */
	char tailnet[256];         /* CurrentTailnet.Name; "" when CurrentTailnet is null */
	char self_id[64];          /* Self.ID (StableNodeID; Headscale: the decimal node id) */
	char os[32];               /* Self.OS */
	int cert_domains;          /* entries in CertDomains (null -> 0) */
	char cert_domain[256];     /* the first one, "" if none */
};

/* MD_EPARSE when json is not an object with BackendState. */
int md_tls_parse_ts_status(const char *json, struct md_ts_status *out, struct md_err *err);

/* One entry of the status's Peer object (ipnstate.PeerStatus, keyed by node key), as far
 * as the WireGuard probe needs it to tell how this machine reaches each peer
 * (docs/wireguard.md#tailscale-on-the-capturing-machine). */
#define MD_TS_PEER_IPS 4
struct md_ts_peer {
	char host_name[64];
	char dns_name[256];             /* DNSName without the trailing dot */
	char ips[MD_TS_PEER_IPS][48];   /* TailscaleIPs (the first MD_TS_PEER_IPS) */
	int n_ips;
	char cur_addr[64];              /* "ip:port" when direct, "" otherwise */
	char relay[32];                 /* home DERP region code, present even when direct */
	char peer_relay[96];            /* "ip:port:vni:N" via a peer relay, "" otherwise */
	bool online, active;
};

struct md_ts_peers {
	struct md_ts_peer *v;           /* malloc'd: md_ts_peers_free() */
	size_t n;
};

/* md_tls_parse_ts_status, and with peers non-NULL the Peer entries too, minus those with
 * "ShareeNode": true (the CLI hides them).  MD_ENOMEM when the peers do not fit in memory. */
int md_tls_parse_ts_status_peers(const char *json, struct md_ts_status *out,
				 struct md_ts_peers *peers, struct md_err *err);
void md_ts_peers_free(struct md_ts_peers *peers);

/* The path to a peer as `tailscale status` prints it: "direct" (active, CurAddr set),
 * "derp" (active, only Relay set), "peer-relay" (active, PeerRelay set), "idle" (not
 * active), "offline" (not active and not online) or "unknown" (active, no path yet). */
const char *md_ts_peer_path(const struct md_ts_peer *p);

/* What `tailscale serve status --json` (ipn.ServeConfig) tells the TLS probe
 * (docs/tailscale.md#serve-configuration).  `{}` = nothing configured. */
struct md_ts_serve {
	bool configured;    /* any TCP, Web or Services entry (top level or Foreground) */
	int https_port;     /* first TCP port with "HTTPS": true; 0 if none */
	char host[256];     /* the Web key for that port, "name.ts.net:443"; "" if none */
	char proxy[512];    /* that Web entry's Proxy handler ("/" first), "" if none */
	bool foreground;    /* found under Foreground (a `tailscale serve` without --bg) */
};

int md_tls_parse_serve(const char *json, struct md_ts_serve *out, struct md_err *err);

/* ControlURL from `tailscale debug prefs` (ipn.Prefs, tab-indented JSON).  "" when the
 * field is empty (the default control server).  MD_EPARSE for other text. */
int md_tls_parse_prefs_control(const char *json, char *out, size_t len, struct md_err *err);

/* Which control server the node uses: "tailscale", "headscale" or "unknown".
 * control_url may be NULL (prefs unreadable), st may be NULL.  why gets the reason.
 * Heuristic (documented in tls.c): the ControlURL host when known (*.tailscale.com ->
 * tailscale, anything else -> headscale, the self-hosted control server of the meshes
 * meshdoctor serves); else the status: a *.ts.net MagicDNS suffix or cert domains ->
 * tailscale, a purely decimal Self.ID -> headscale. */
const char *md_tls_control_kind(const char *control_url, const struct md_ts_status *st,
				char *why, size_t why_len);

/* Result of `tailscale cert`: "ok", "failed", "hang" or "denied".  ended_by_limit: the
 * host-side limit ended the command (md_hostcmd_ended_by_limit) — the only way to "hang"; a
 * command our own deadline cut off is not classified at all.  msg gets the message that
 * explains it (the first line of stderr, e.g. "500 Internal Server Error: your Tailscale
 * account does not support getting TLS certs"). */
const char *md_tls_classify_cert(bool ended_by_limit, int exit_status, const char *out,
				 const char *err, char *msg, size_t msg_len);

/* True for a host name by RFC 1123: dot-separated labels of 1-63 letters, digits and '-'
 * (no '-' first or last), 253 characters at most, no trailing dot. */
bool md_tls_dns_name_ok(const char *name);

/* The command that asks the host of os for a certificate for name, with a host-side
 * limit of limit_s: `tailscale cert --cert-file=- 'NAME'` through md_tls_remote_cmd on
 * POSIX shells; on Windows a PowerShell script passed with -EncodedCommand that starts the
 * CLI and ends it after limit_s, exiting 124.  MD_EINVAL (nothing built) when name is not
 * md_tls_dns_name_ok(); MD_ETOOBIG when out is too small. */
int md_tls_cert_cmd(const char *os, int limit_s, const char *name, char *out, size_t len,
		    struct md_err *err);

/* The serve Proxy value as a URL curl can fetch on the host: "18080" ->
 * "http://127.0.0.1:18080", "localhost:3000" -> "http://localhost:3000",
 * "https+insecure://127.0.0.1:8443" -> "https://127.0.0.1:8443" with *insecure.
 * Only http, https and https+insecure, a host that is a DNS name, an IPv4 address or a
 * bracketed IPv6 address, a port of 1-65535 and a path of [A-Za-z0-9._~/-] are accepted:
 * MD_EINVAL (out "") for anything else, which is then never run. */
int md_tls_backend_url(const char *proxy, char *out, size_t len, bool *insecure);

/* Whole days left until a certificate's notAfter, from ASN1_TIME_diff()'s days and
 * seconds (same sign), rounded down: negative as soon as it has expired. */
int md_tls_days_left(int days, int secs);

/* curl -w '%{http_code}' output: "answering" for any HTTP status, "down" for 000 / empty. */
const char *md_tls_classify_backend(int exit_status, const char *out, int *http_code);

/* The shell command that runs `tailscale ARGS` on a host of os ("linux", "darwin",
 * "windows", NULL = a POSIX shell) with a limit of limit_s seconds enforced on the host
 * (`timeout`, else perl's alarm; ended commands exit 124 or 142).  On macOS the CLI is
 * looked up on PATH, then in /Applications/Tailscale.app.  Windows: a PowerShell
 * -EncodedCommand script that ends the command after limit_s and exits 124. */
void md_tls_remote_cmd(const char *os, int limit_s, const char *args, char *out, size_t len);

/* RFC 8446 section 6 name of a TLS alert ("internal_error" for 80), NULL if unknown. */
const char *md_tls_alert_name(int alert);

/* Class of an X509_V_ERR_* code: "ok", "expired", "not-yet-valid", "hostname-mismatch",
 * "self-signed", "untrusted" or "invalid". */
const char *md_tls_verify_class(long x509_err);

#endif
