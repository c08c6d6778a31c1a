/* tailscale.h — the Tailscale probe's parsers and commands, exposed for tests and for the
 * probes that read Tailscale's output too.
 *
 * The probe (probes/tailscale.c, `probe_tailscale`) reads the node's state on the target
 * over the session with the `tailscale` CLI (`status --json`, `debug prefs`, `serve status
 * --json`) and records every tailscale.* fact (docs/tailscale.md).  The tls probe reads
 * those facts (the MagicDNS name for its SNI, the serve configuration); the wireguard
 * probe reads this machine's own status with md_ts_local_status() and the status parser
 * (probes/wg_tailscale.c).  Everything that turns text into values is here, tested on
 * fixtures in the real formats (fixtures/tailscale/). */
#ifndef MD_PROBE_TAILSCALE_H
#define MD_PROBE_TAILSCALE_H

#include "core/deadline.h"
#include "core/err.h"
#include "core/proc.h"

#include <stdbool.h>
#include <stddef.h>

/* The host batch's steps (core/hostbatch.h) and what each runs: `tailscale ARGS` as
 * md_ts_cli_cmd() writes it. */
#define MD_TS_STEP_STATUS "tailscale.status"
#define MD_TS_STEP_SERVE "tailscale.serve"
#define MD_TS_STEP_PREFS "tailscale.prefs"
#define MD_TS_ARGS_STATUS "status --json"
#define MD_TS_ARGS_SERVE "serve status --json"
#define MD_TS_ARGS_PREFS "debug prefs"
/* Each of them gets this host-side limit in seconds: the CLI itself keeps retrying to
 * reach tailscaled for a few seconds (docs/tailscale.md#how-the-cli-is-run). */
#define MD_TS_STEP_LIMIT_S 4

/* What `tailscale status --json` (ipnstate.Status) says about the node
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
int md_ts_parse_status(const char *json, struct md_ts_status *out, struct md_err *err);

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

/* md_ts_parse_status, and with peers non-NULL the Peer entries too, minus those with
 * "ShareeNode": true (the CLI hides them).  MD_ENOMEM when the peers do not fit in memory. */
int md_ts_parse_status_peers(const char *json, struct md_ts_status *out,
			     struct md_ts_peers *peers, struct md_err *err);
void md_ts_peers_free(struct md_ts_peers *peers);

/* The path to a peer as `tailscale status` prints it: "direct" (active, CurAddr set),
 * "derp" (active, only Relay set), "peer-relay" (active, PeerRelay set), "idle" (not
 * active), "offline" (not active and not online) or "unknown" (active, no path yet). */
const char *md_ts_peer_path(const struct md_ts_peer *p);

/* What `tailscale serve status --json` (ipn.ServeConfig) says
 * (docs/tailscale.md#serve-configuration).  `{}` = nothing configured. */
struct md_ts_serve {
	bool configured;    /* any TCP, Web or Services entry (top level or Foreground) */
	int https_port;     /* first TCP port with "HTTPS": true; 0 if none */
	char host[256];     /* the Web key for that port, "name.ts.net:443"; "" if none */
	char proxy[512];    /* that Web entry's Proxy handler ("/" first), "" if none */
	bool foreground;    /* found under Foreground (a `tailscale serve` without --bg) */
};

int md_ts_parse_serve(const char *json, struct md_ts_serve *out, struct md_err *err);

/* ControlURL from `tailscale debug prefs` (ipn.Prefs, tab-indented JSON).  "" when the
 * field is empty (the default control server).  MD_EPARSE for other text. */
int md_ts_parse_prefs_control(const char *json, char *out, size_t len, struct md_err *err);

/* Which control server the node uses: "tailscale", "headscale" or "unknown".
 * control_url may be NULL (prefs unreadable), st may be NULL.  why gets the reason.
 * Heuristic (documented in tailscale.c): the ControlURL host when known (*.tailscale.com
 * -> tailscale, anything else -> headscale, the self-hosted control server of the meshes
 * meshdoctor serves); else the status: a *.ts.net MagicDNS suffix or cert domains ->
 * tailscale, a purely decimal Self.ID -> headscale. */
const char *md_ts_control_kind(const char *control_url, const struct md_ts_status *st,
			       char *why, size_t why_len);

/* The serve Proxy value as a URL curl can fetch on the host: "18080" ->
 * "http://127.0.0.1:18080", "localhost:3000" -> "http://localhost:3000",
 * "https+insecure://127.0.0.1:8443" -> "https://127.0.0.1:8443" with *insecure.
 * Only http, https and https+insecure, a host that is a DNS name, an IPv4 address or a
 * bracketed IPv6 address, a port of 1-65535 and a path of [A-Za-z0-9._~/-] are accepted:
 * MD_EINVAL (out "") for anything else, which is then never run (the probe records
 * tailscale.serve_proxy = "unsafe-proxy-url"). */
int md_ts_backend_url(const char *proxy, char *out, size_t len, bool *insecure);

/* The POSIX command (for `sh -c`, under a host-side limit from core/hostbatch) that runs
 * `tailscale ARGS`: the CLI on PATH, else the macOS app's
 * /Applications/Tailscale.app/Contents/MacOS/Tailscale, so that it needs no OS known
 * beforehand.  args is inserted as it is: callers quote what needs quoting
 * (md_hostcmd_sh_quote).  MD_ETOOBIG when out (len) is too small (out is then ""). */
int md_ts_cli_cmd(const char *args, char *out, size_t len);

/* `tailscale status --json` on this machine (not the target), within dl, into r
 * (md_proc_result_init()ed with the caller's cap): md_proc_run()'s answer. */
int md_ts_local_status(const struct md_deadline *dl, struct md_proc_result *r, struct md_err *err);

#endif
