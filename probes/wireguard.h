/* wireguard.h — WireGuard packet decoder and analyser (pure: no capture, no network).
 *
 * probes/wireguard.c captures frames (live with libpcap, or from a file) and hands each one
 * to wg_analyser_frame(); everything that looks at bytes lives in probes/wg_decode.c so the
 * unit tests and the fuzz loop can drive it with crafted frames.
 *
 * What one frame goes through (every read is bounded by the captured length, never by a
 * length field):
 *   link layer   DLT_EN10MB (+ up to 4 802.1Q / 802.1ad tags), DLT_LINUX_SLL, DLT_LINUX_SLL2,
 *                DLT_RAW / LINKTYPE_IPV4 / LINKTYPE_IPV6, DLT_NULL and DLT_LOOP;
 *   network      IPv4 (options skipped) and IPv6 (hop-by-hop, routing, destination options,
 *                AH and the mobility/HIP/shim6 headers skipped; at most 8 headers);
 *   transport    UDP with a source or destination port in the analyser's port set;
 *   WireGuard    message types from the whitepaper, section 5.4 (and
 *                docs/wireguard.md#wireguard-messages):
 *                  1 handshake initiation  148 bytes, sender index at 4
 *                  2 handshake response     92 bytes, sender index at 4, receiver at 8
 *                  3 cookie reply           64 bytes, receiver index at 4
 *                  4 transport data        >= 32 bytes, receiver index at 4 (32 = keepalive)
 *                each followed by three reserved zero bytes; indices are little-endian.
 *                Tailscale disco frames share the port and start with 54 53 f0 9f 92 ac.
 *
 * Counting, as recorded in the wg.* facts:
 *   packets      frames on a WireGuard port, plus UDP fragments, plus truncated frames;
 *   fragments    IPv4 UDP fragments (MF or offset set) and IPv6 fragments of UDP.  A
 *                first fragment carries the UDP and WireGuard headers: it is counted only
 *                when on a WireGuard port, and decoded too (its size from UDP's length).
 *                Later fragments carry no ports: every one of them is counted (so
 *                fragments of other UDP traffic are included), none is decoded;
 *   truncated    frames cut short (caplen) before their UDP ports, or before the WireGuard
 *                header fields the analyser reads (16 bytes at most);
 *   non_wg       anything else on the port (bad_size is the subset that had a WireGuard
 *                type byte and zero reserved bytes but the wrong length).
 *
 * Direction.  Every endpoint pair has a "local" side; "tx" means sent by the local side and
 * "rx" received by it.  The local side is decided when the pair is first seen, in order:
 *   1. local-address: one side's IP is an address of the capturing host (live captures
 *      only; wireguard.c adds them with wg_analyser_add_local());
 *   2. target: the other side's IP is one of the target's addresses;
 *   3. first-seen: neither is known (an offline file from elsewhere): the side that sent
 *      the first initiation (or received the first response, or else sent the first packet)
 *      is taken as local.
 *
 * Handshakes.  An initiation's sender index is remembered; a response whose receiver index
 * matches completes the handshake (RTT = response time - initiation time, as the capture
 * saw them: on the initiator's side that is the network round trip plus the responder's
 * work).  The first transport message addressed to the responder's index confirms it.
 * A run of initiations from one side of a pair with no confirmed handshake in between is a
 * "burst"; max_init_burst is the longest burst (3 or more is a handshake storm: WireGuard
 * retries every 5 s, whitepaper section 6.4).
 *
 * Roaming.  A transport message names its receiver by index, so when packets carrying the
 * same receiver index arrive from a new ip:port the peer moved (whitepaper section 2.1,
 * "built-in roaming"): endpoint_changes counts that.
 *
 * Memory is fixed when the analyser is created (about 0.7 MB) and never grows with the
 * input: endpoint pairs (WG_MAX_PAIRS) and indices (WG_MAX_INDICES) live in hash tables
 * whose probe window is bounded; a full window evicts its least recently seen entry.  RTT
 * samples for the median are kept up to WG_RTT_SAMPLES, then reservoir-sampled with a
 * fixed seed (so the same traffic gives the same median).  No allocation per packet. */
#ifndef MD_WIREGUARD_H
#define MD_WIREGUARD_H

#include "core/deadline.h"
#include "core/err.h"
#include "core/facts.h"

#include <stdbool.h>
#include <stddef.h>
#include <netdb.h>
#include <stdint.h>
#include <sys/socket.h>

#define WG_PORT_TAILSCALE 41641 /* tailscaled's default on Linux packages and Windows */
#define WG_PORT_WIREGUARD 51820 /* the conventional WireGuard ListenPort */

#define WG_MAX_PAIRS 1024
#define WG_MAX_INDICES 4096
#define WG_RTT_SAMPLES 1024
#define WG_MAX_ADDRS 64
#define WG_TABLE_ROWS 64 /* rows in the report's endpoints table (busiest first) */

/* Snapshot length for live captures: the largest link header (SLL2, 20 bytes, or Ethernet
 * with 4 VLAN tags, 30) + IPv6 with a few extension headers + UDP + the 16 WireGuard
 * header bytes the analyser reads fits easily; 512 keeps the kernel copy small. */
#define WG_SNAPLEN 512

enum wg_kind {
	WG_KIND_INIT,      /* type 1, 148 bytes */
	WG_KIND_RESP,      /* type 2, 92 bytes */
	WG_KIND_COOKIE,    /* type 3, 64 bytes */
	WG_KIND_DATA,      /* type 4, > 32 bytes */
	WG_KIND_KEEPALIVE, /* type 4, exactly 32 bytes */
	WG_KIND_DISCO,     /* Tailscale disco magic */
	WG_KIND_BAD_SIZE,  /* WireGuard type and reserved bytes, wrong length (non-WireGuard) */
	WG_KIND_NON_WG,    /* anything else */
	WG_KIND_TRUNCATED, /* fewer bytes captured than the fields needed */
};

/* Classifies a UDP payload: avail bytes were captured out of len on the wire (avail <=
 * len).  Reads at most 16 bytes, never past avail. */
enum wg_kind wg_classify(const uint8_t *payload, size_t avail, size_t len);
const char *wg_kind_name(enum wg_kind k);

/* An IP address and UDP port; family is 4 or 6; unused address bytes are zero, so two
 * endpoints compare with memcmp. */
struct wg_endpoint {
	uint8_t family;
	uint8_t pad;
	uint16_t port;   /* host order */
	uint8_t addr[16];
};

/* Writes "10.0.0.1:51820" or "[fd00::1]:51820". */
void wg_endpoint_format(const struct wg_endpoint *e, char *out, size_t len);

enum wg_basis {
	WG_BASIS_LOCAL_ADDRESS,
	WG_BASIS_TARGET,
	WG_BASIS_FIRST_SEEN,
};
const char *wg_basis_name(enum wg_basis b); /* "local-address", "target", "first-seen" */

/* Counters of one endpoint pair; tx/rx relative to its local side (see above). */
struct wg_pair {
	struct wg_endpoint local, remote;
	uint64_t packets;
	int64_t first_us, last_us;                 /* capture timestamps, µs since the epoch */
	uint64_t data_tx_packets, data_rx_packets;
	uint64_t data_tx_bytes, data_rx_bytes;     /* WireGuard message bytes (UDP payload) */
	uint64_t keepalives_tx, keepalives_rx;
	enum wg_basis basis;
	uint64_t initiations_tx, initiations_rx;
	uint64_t responses_tx, responses_rx;
	uint64_t cookie_replies_tx, cookie_replies_rx;
	uint64_t disco, non_wg;
	uint64_t handshakes_completed, handshakes_confirmed;
	uint64_t endpoint_changes;                 /* roams that landed on this pair */
	uint32_t burst_tx, burst_rx;               /* current initiation bursts */
	uint32_t max_init_burst;
	uint32_t rtt_n;
	double rtt_min_ms, rtt_max_ms, rtt_sum_ms;
	bool used;
};

struct wg_totals {
	uint64_t frames;           /* every frame given to the analyser */
	uint64_t packets;
	uint64_t messages;         /* valid WireGuard messages (types 1-4) */
	uint64_t initiations, initiations_tx, initiations_rx;
	uint64_t responses, responses_tx, responses_rx;
	uint64_t cookie_replies, cookie_replies_tx, cookie_replies_rx;
	uint64_t data_tx_packets, data_rx_packets, data_tx_bytes, data_rx_bytes;
	uint64_t keepalives;
	uint64_t disco, non_wg, bad_size, fragments, truncated;
	uint64_t handshakes_completed, handshakes_confirmed;
	uint64_t endpoint_changes;
	uint64_t endpoints;        /* distinct endpoint pairs seen (evicted ones included) */
	uint64_t endpoints_evicted, indices_evicted;
	uint32_t max_init_burst;
	uint64_t rtt_n;            /* RTT samples seen (the median uses at most WG_RTT_SAMPLES) */
	int64_t first_us, last_us; /* first and last frame on a WireGuard port (0 = none) */
	unsigned basis_seen;       /* bit (1 << enum wg_basis) per basis used */
};

struct wg_analyser;

/* A new analyser with an empty port set; NULL when out of memory.  Free with
 * wg_analyser_free() (NULL-safe). */
struct wg_analyser *wg_analyser_new(void);
void wg_analyser_free(struct wg_analyser *a);

void wg_analyser_add_port(struct wg_analyser *a, uint16_t port);
bool wg_analyser_has_port(const struct wg_analyser *a, uint16_t port);
/* Addresses of the capturing host / of the target (AF_INET or AF_INET6; others ignored).
 * MD_ETOOBIG past WG_MAX_ADDRS. */
int wg_analyser_add_local(struct wg_analyser *a, const struct sockaddr *sa);
int wg_analyser_add_target(struct wg_analyser *a, const struct sockaddr *sa);

/* Whether the link type (a DLT_ value from pcap_datalink()) is decoded. */
bool wg_link_supported(int dlt);

/* One captured frame: link type dlt, capture time ts_us (µs since the epoch), caplen bytes
 * at data out of wirelen on the wire.  Never fails; unknown frames are just counted. */
void wg_analyser_frame(struct wg_analyser *a, int dlt, int64_t ts_us, const uint8_t *data,
		       uint32_t caplen, uint32_t wirelen);

/* Borrowed, valid until the analyser is freed or given another frame. */
const struct wg_totals *wg_analyser_totals(const struct wg_analyser *a);
/* Median handshake RTT in ms; false when no handshake completed. */
bool wg_analyser_rtt_median_ms(const struct wg_analyser *a, double *out);
/* Copies of the pairs still in the table (evicted ones are only in the totals), busiest
 * first, at most max; returns how many were written to out. */
size_t wg_analyser_pairs(const struct wg_analyser *a, struct wg_pair *out, size_t max);
/* Evidence line for a fact name ("wg.initiations" -> "first: 10.0.0.1:51820 -> ...") or
 * NULL; borrowed. */
const char *wg_analyser_example(const struct wg_analyser *a, const char *fact);

/* The endpoints table as JSON text (an array of objects, busiest first, at most
 * WG_TABLE_ROWS rows).  *out is malloc'd (caller frees) or NULL on MD_ENOMEM. */
int wg_analyser_table_json(const struct wg_analyser *a, char **out);

/* Records every wg.* summary fact (and the endpoints table) into f, attributed to probe
 * "wireguard".  source is "live:IFACE" or "pcap:FILE"; seconds the capture's length. */
int wg_analyser_record(const struct wg_analyser *a, struct md_facts *f, const char *source,
		       double seconds);

/* Reads a pcap or pcapng file with libpcap and feeds every frame to a, stopping at dl.
 * *frames_read gets the count and *dlt the link type (each may be NULL; dlt -1 when the
 * file did not open).  MD_EINVAL when the file cannot be opened or
 * its link type is not decoded (err: "open FILE: reason"), MD_ETIMEOUT when dl passed
 * first (the frames read so far are in a), MD_EIO on a read error midway. */
int wg_read_pcap(struct wg_analyser *a, const char *path, const struct md_deadline *dl,
		 uint64_t *frames_read, int *dlt, struct md_err *err);

/* Tailscale on the capturing machine (probes/wg_tailscale.c,
 * docs/wireguard.md#tailscale-on-the-capturing-machine): after a live capture,
 * wireguard.c runs WG_TS_CMD here and hands over what came of it. */
#define WG_TS_CMD "tailscale status --json"

struct wg_ts_cli {
	int rc;             /* md_proc_run's: MD_OK (it ran to its end), MD_ENOTFOUND, ... */
	int exit_code;
	const char *out;    /* stdout */
	const char *err;    /* stderr */
	const char *errmsg; /* md_proc_run's message when rc != MD_OK */
};

/* The target, to find it among the peers: its names as written and as resolved (NULL
 * ends the list; each matched, ignoring case, against DNSName, DNSName's first label and
 * HostName, or as an IP literal against TailscaleIPs) and its resolved addresses. */
struct wg_ts_target {
	const char *names[3];
	const struct addrinfo *addrs; /* may be NULL */
};

/* Records wg.ts_state ("missing" when the CLI is not installed, "error" when it failed or
 * printed no status, else the BackendState) and, once the status was read,
 * wg.ts_peers_online, wg.ts_peers_active, wg.ts_peers_direct, wg.ts_peers_derp,
 * wg.ts_peers_peer_relay and, when the target is one of the peers, wg.ts_target_path
 * (md_ts_peer_path()).  t may be NULL.  MD_ENOMEM is the only error. */
int wg_ts_record(struct md_facts *f, const struct wg_ts_cli *cli, const struct wg_ts_target *t);

#endif
