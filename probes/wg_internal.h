/* wg_internal.h — the WireGuard analyser's state, shared by the decoder
 * (probes/wg_decode.c: the per-frame hot path) and its results (probes/wg_results.c:
 * totals, the endpoints table, facts, reading a capture file).  Private to those two. */
#ifndef MD_PROBES_WG_INTERNAL_H
#define MD_PROBES_WG_INTERNAL_H

#include "probes/wireguard.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROBE "wireguard"

/* ------------------------------------------------------------------------------------ */
/* State                                                                                */
/* ------------------------------------------------------------------------------------ */

/* The hot path identifies an endpoint by three words loaded straight from the packet
 * (family | port << 16 | first 4 address bytes << 32, then the other 12 address bytes of
 * IPv6), so hashing and comparing never reload small stores as wide words.  struct
 * wg_endpoint is made from a key only for a new pair or an example. */
struct ep_key {
	uint64_t w[3];
};

#define KEY_PORT_MASK 0xffff0000ull

enum idx_kind { IDX_SEEN, IDX_INIT, IDX_RESP };

/* One WireGuard session index, as announced by an initiation or response (or first seen
 * as a receiver index, when the capture started inside a session). */
struct wg_index {           /* 64 bytes: one cache line */
	uint32_t idx;
	uint8_t used, kind, answered, confirmed;
	uint8_t has_sender;
	uint32_t pair;          /* slot in pairs[] of the message that announced it */
	struct ep_key sender;   /* source of the last message that named it as receiver */
	int64_t ts_us;          /* when it was announced (for the RTT) */
	uint64_t pair_serial;   /* ... valid while pairs[pair].serial matches */
	uint64_t last_seq;
} __attribute__((aligned(64)));

struct pair_slot {
	struct wg_pair p;
	uint64_t serial;
};

/* What every packet of a pair touches, in two cache lines; the rest of struct wg_pair
 * (pairs[]) is touched only by handshakes, rare kinds and new pairs.  The counters here
 * are merged into the struct wg_pair copies that wg_analyser_pairs() hands out. */
struct pair_hot {
	struct ep_key local, remote;
	uint64_t packets;
	int64_t last_us;           /* also the eviction order */
	uint64_t data_packets[2];  /* [0] tx, [1] rx */
	uint64_t data_bytes[2];
	uint64_t keepalives[2];
	uint32_t recv_idx[2];      /* the last receiver index seen each way: a transport   */
	uint8_t recv_known[2];     /* message naming it again needs no index-table lookup */
} __attribute__((aligned(64)));

enum example {
	EX_INIT, EX_RESP, EX_COOKIE, EX_DATA, EX_KEEPALIVE, EX_DISCO, EX_NON_WG, EX_BAD_SIZE,
	EX_FRAGMENT, EX_TRUNCATED, EX_ROAM, EX_BURST, EX_N
};

struct wg_analyser {
	uint64_t ports[65536 / 64];
	struct ep_key local[WG_MAX_ADDRS], target[WG_MAX_ADDRS]; /* ports 0 */
	size_t n_local, n_target;
	/* Each slot's hash, 0 = empty: lookups scan this 4 KiB array and touch a slot only
	 * on a hash match, instead of missing the cache on every slot they pass. */
	uint32_t pair_h[WG_MAX_PAIRS];
	struct pair_hot hot[WG_MAX_PAIRS];
	struct pair_slot pairs[WG_MAX_PAIRS];
	struct wg_index idx[WG_MAX_INDICES];
	uint64_t seq, next_serial;
	int32_t last_pair; /* cache: slot of the last pair touched, -1 none */
	double rtt[WG_RTT_SAMPLES];
	uint64_t rng;
	/* The ports as a short list, next to the totals that every packet updates anyway:
	 * the 8 KiB bitmap falls out of L1 between packets.  n_port_list > 16: bitmap only. */
	uint16_t port_list[16];
	unsigned n_port_list;
	struct wg_totals t;
	char ex[EX_N][360];
};

/* Shared helpers (wg_decode.c). */
/* A capture time (µs since the epoch) as UTC text for evidence. */
void wg_fmt_time(int64_t us, char *out, size_t len);

#endif
