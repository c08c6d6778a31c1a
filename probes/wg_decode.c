/* wg_decode.c — WireGuard frame decoder and per-endpoint analyser (see wireguard.h).
 *
 * Hot path: wg_analyser_frame() runs once per captured frame, so it allocates nothing and
 * formats nothing (except the first example of each kind, kept for evidence).  Offline
 * analysis runs at about 2x the speed limit of `cat FILE >/dev/null` (bench/wg_vs_tshark.sh),
 * most of which is libpcap's own reading; what keeps the analysis small, measured with perf
 * on 1.1 GB of randomly interleaved traffic from 200 peers:
 *   - endpoints are compared and hashed as words loaded from the packet (struct ep_key);
 *   - a pair's per-packet counters live in two cache lines (struct pair_hot), prefetched
 *     as soon as the ports are known, with the slot hashes in a separate 4 KiB array;
 *   - a transport message that repeats its pair's last receiver index skips the index
 *     table (it can be neither a roam nor a first confirmation);
 *   - the read buffer is page-aligned (the kernel's copy into a misaligned one ran 4x
 *     slower). */
#include "probes/wireguard.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROBE "wireguard"
#define WINDOW 8 /* hash probe window: a full window evicts its least recently seen entry */

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

/* ------------------------------------------------------------------------------------ */
/* Small helpers                                                                        */
/* ------------------------------------------------------------------------------------ */

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint32_t hash_u32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

static inline uint32_t load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline void key_make(struct ep_key *k, int family, const uint8_t *addr, uint16_t port)
{
	k->w[0] = (uint64_t)family | (uint64_t)port << 16 | (uint64_t)load32(addr) << 32;
	if (family == 6) {
		memcpy(&k->w[1], addr + 4, 8);
		k->w[2] = load32(addr + 12);
	} else {
		k->w[1] = k->w[2] = 0;
	}
}

static inline bool key_eq(const struct ep_key *a, const struct ep_key *b)
{
	return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) | (a->w[2] ^ b->w[2])) == 0;
}

static inline bool key_addr_eq(const struct ep_key *a, const struct ep_key *b)
{
	return (((a->w[0] ^ b->w[0]) & ~KEY_PORT_MASK) | (a->w[1] ^ b->w[1]) |
		(a->w[2] ^ b->w[2])) == 0;
}

static void key_to_ep(const struct ep_key *k, struct wg_endpoint *e)
{
	uint32_t v = (uint32_t)(k->w[0] >> 32);

	memset(e, 0, sizeof(*e));
	e->family = (uint8_t)(k->w[0] & 0xff);
	e->port = (uint16_t)(k->w[0] >> 16);
	memcpy(e->addr, &v, 4);
	if (e->family == 6) {
		memcpy(e->addr + 4, &k->w[1], 8);
		v = (uint32_t)k->w[2];
		memcpy(e->addr + 12, &v, 4);
	}
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void fmt_time(int64_t us, char *out, size_t len)
{
	time_t sec = (time_t)(us / 1000000);
	struct tm tm;

	if (!gmtime_r(&sec, &tm) ||
	    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (int)(us % 1000000 / 1000)) < 0)
		snprintf(out, len, "%lld", (long long)us);
}

void wg_endpoint_format(const struct wg_endpoint *e, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (e->family == 4) {
		inet_ntop(AF_INET, e->addr, ip, sizeof(ip));
		snprintf(out, len, "%s:%u", ip, e->port);
	} else {
		inet_ntop(AF_INET6, e->addr, ip, sizeof(ip));
		snprintf(out, len, "[%s]:%u", ip, e->port);
	}
}

const char *wg_basis_name(enum wg_basis b)
{
	switch (b) {
	case WG_BASIS_LOCAL_ADDRESS: return "local-address";
	case WG_BASIS_TARGET: return "target";
	case WG_BASIS_FIRST_SEEN: return "first-seen";
	}
	return "?";
}

const char *wg_kind_name(enum wg_kind k)
{
	static const char *const names[] = {
		[WG_KIND_INIT] = "initiation", [WG_KIND_RESP] = "response",
		[WG_KIND_COOKIE] = "cookie-reply", [WG_KIND_DATA] = "data",
		[WG_KIND_KEEPALIVE] = "keepalive", [WG_KIND_DISCO] = "disco",
		[WG_KIND_BAD_SIZE] = "bad-size", [WG_KIND_NON_WG] = "non-wireguard",
		[WG_KIND_TRUNCATED] = "truncated",
	};
	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

/* ------------------------------------------------------------------------------------ */
/* Classification of a UDP payload                                                      */
/* ------------------------------------------------------------------------------------ */

/* Tailscale disco magic "TS" + U+1F4AC (tailscale/tailscale disco/disco.go;
 * docs/wireguard.md#tailscale-disco-frames). */
static const uint8_t disco_magic[6] = { 0x54, 0x53, 0xf0, 0x9f, 0x92, 0xac };

enum wg_kind wg_classify(const uint8_t *p, size_t avail, size_t len)
{
	size_t need;
	enum wg_kind k;

	if (avail > len)
		avail = len;
	if (len >= sizeof(disco_magic) && p && avail >= 1 && p[0] == disco_magic[0]) {
		if (avail < sizeof(disco_magic))
			return WG_KIND_TRUNCATED;
		if (memcmp(p, disco_magic, sizeof(disco_magic)) == 0)
			return WG_KIND_DISCO;
		return WG_KIND_NON_WG;
	}
	if (len < 4)
		return WG_KIND_NON_WG;
	if (avail < 4)
		return WG_KIND_TRUNCATED;
	/* Whitepaper 5.4: one type byte, then three reserved bytes that are zero. */
	if (p[0] < 1 || p[0] > 4 || p[1] || p[2] || p[3])
		return WG_KIND_NON_WG;
	switch (p[0]) {
	case 1: k = len == 148 ? WG_KIND_INIT : WG_KIND_BAD_SIZE; need = 8; break;
	case 2: k = len == 92 ? WG_KIND_RESP : WG_KIND_BAD_SIZE; need = 12; break;
	case 3: k = len == 64 ? WG_KIND_COOKIE : WG_KIND_BAD_SIZE; need = 8; break;
	default:
		/* Transport data: 16-byte header + encrypted payload (padded to 16) + 16-byte
		 * tag, so an empty payload (a keepalive) is exactly 32 bytes. */
		k = len == 32 ? WG_KIND_KEEPALIVE : len > 32 ? WG_KIND_DATA : WG_KIND_BAD_SIZE;
		need = 8;
		break;
	}
	if (k != WG_KIND_BAD_SIZE && avail < need)
		return WG_KIND_TRUNCATED;
	return k;
}

/* ------------------------------------------------------------------------------------ */
/* Analyser set-up                                                                      */
/* ------------------------------------------------------------------------------------ */

struct wg_analyser *wg_analyser_new(void)
{
	/* Cache-line aligned, so each index entry is exactly one line. */
	size_t size = (sizeof(struct wg_analyser) + 63) / 64 * 64;
	struct wg_analyser *a = aligned_alloc(64, size);

	if (!a)
		return NULL;
	memset(a, 0, size);
	a->last_pair = -1;
	a->rng = 0x9e3779b97f4a7c15ull; /* fixed seed: same traffic, same median */
	a->next_serial = 1;
	return a;
}

void wg_analyser_free(struct wg_analyser *a)
{
	free(a);
}

void wg_analyser_add_port(struct wg_analyser *a, uint16_t port)
{
	if (wg_analyser_has_port(a, port))
		return;
	a->ports[port >> 6] |= 1ull << (port & 63);
	if (a->n_port_list < 16)
		a->port_list[a->n_port_list] = port;
	a->n_port_list++;
}

static inline bool on_port(const struct wg_analyser *a, uint16_t sport, uint16_t dport)
{
	if (a->n_port_list > 16)
		return wg_analyser_has_port(a, sport) || wg_analyser_has_port(a, dport);
	for (unsigned i = 0; i < a->n_port_list; i++)
		if (a->port_list[i] == sport || a->port_list[i] == dport)
			return true;
	return false;
}

bool wg_analyser_has_port(const struct wg_analyser *a, uint16_t port)
{
	return a->ports[port >> 6] >> (port & 63) & 1;
}

static int add_addr(struct ep_key *set, size_t *n, const struct sockaddr *sa)
{
	struct ep_key k;

	if (!sa)
		return MD_EINVAL;
	if (sa->sa_family == AF_INET)
		key_make(&k, 4, (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr, 0);
	else if (sa->sa_family == AF_INET6)
		key_make(&k, 6, (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr, 0);
	else
		return MD_OK;
	for (size_t i = 0; i < *n; i++)
		if (key_eq(&set[i], &k))
			return MD_OK;
	if (*n >= WG_MAX_ADDRS)
		return MD_ETOOBIG;
	set[(*n)++] = k;
	return MD_OK;
}

int wg_analyser_add_local(struct wg_analyser *a, const struct sockaddr *sa)
{
	return add_addr(a->local, &a->n_local, sa);
}

int wg_analyser_add_target(struct wg_analyser *a, const struct sockaddr *sa)
{
	return add_addr(a->target, &a->n_target, sa);
}

static bool addr_in(const struct ep_key *set, size_t n, const struct ep_key *k)
{
	for (size_t i = 0; i < n; i++)
		if (key_addr_eq(&set[i], k))
			return true;
	return false;
}

/* ------------------------------------------------------------------------------------ */
/* Tables                                                                               */
/* ------------------------------------------------------------------------------------ */

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static inline uint64_t key_hash(const struct ep_key *k)
{
	return mix64(k->w[0] ^ mix64(k->w[1] ^ mix64(k->w[2] + 0x9e3779b97f4a7c15ull)));
}

/* Symmetric (a sum), so both directions of a pair land in the same place; never 0 (the
 * mark of an empty slot). */
static uint32_t pair_hash(const struct ep_key *x, const struct ep_key *y)
{
	uint32_t h = (uint32_t)((key_hash(x) + key_hash(y)) >> 16);

	return h ? h : 1;
}

static inline bool pair_matches(const struct pair_hot *pk, const struct ep_key *s,
				const struct ep_key *d)
{
	return (key_eq(&pk->local, s) && key_eq(&pk->remote, d)) ||
	       (key_eq(&pk->local, d) && key_eq(&pk->remote, s));
}

/* Decides which of src / dst is the local side of a new pair (see wireguard.h). */
static void orient(const struct wg_analyser *a, struct wg_pair *p, struct pair_hot *pk,
		   const struct ep_key *s, const struct ep_key *d, enum wg_kind k)
{
	bool src_local;

	if (addr_in(a->local, a->n_local, s) || addr_in(a->local, a->n_local, d)) {
		src_local = addr_in(a->local, a->n_local, s);
		p->basis = WG_BASIS_LOCAL_ADDRESS;
	} else if (addr_in(a->target, a->n_target, d) || addr_in(a->target, a->n_target, s)) {
		src_local = addr_in(a->target, a->n_target, d);
		p->basis = WG_BASIS_TARGET;
	} else {
		/* The initiator is taken as local: it sent an initiation, or receives a
		 * response or cookie reply; otherwise the first sender. */
		src_local = !(k == WG_KIND_RESP || k == WG_KIND_COOKIE);
		p->basis = WG_BASIS_FIRST_SEEN;
	}
	pk->local = src_local ? *s : *d;
	pk->remote = src_local ? *d : *s;
	key_to_ep(&pk->local, &p->local);
	key_to_ep(&pk->remote, &p->remote);
}

/* The slot of the pair of s and d, created when new; *tx says whether s is its local side.
 * A pair already seen costs its two hot cache lines and nothing else. */
static uint32_t pair_get(struct wg_analyser *a, const struct ep_key *s, const struct ep_key *d,
			 uint32_t h, enum wg_kind k, int64_t ts, bool *tx)
{
	uint32_t victim = 0, i, slot;
	int64_t oldest = INT64_MAX;
	struct pair_slot *ps;
	struct pair_hot *hp;

	if (a->last_pair >= 0 && pair_matches(&a->hot[a->last_pair], s, d)) {
		slot = (uint32_t)a->last_pair;
		goto found;
	}
	for (i = 0; i < WINDOW; i++) {
		slot = (h + i) % WG_MAX_PAIRS;
		if (!a->pair_h[slot])
			break;
		if (a->pair_h[slot] == h && pair_matches(&a->hot[slot], s, d)) {
			a->last_pair = (int32_t)slot;
			goto found;
		}
	}
	/* New: the first empty slot of the window, else its least recently seen pair. */
	for (i = 0; i < WINDOW; i++) {
		slot = (h + i) % WG_MAX_PAIRS;
		if (!a->pair_h[slot]) {
			victim = slot;
			break;
		}
		if (a->hot[slot].last_us < oldest) {
			oldest = a->hot[slot].last_us;
			victim = slot;
		}
	}
	slot = victim;
	ps = &a->pairs[slot];
	if (a->pair_h[slot])
		a->t.endpoints_evicted++;
	memset(ps, 0, sizeof(*ps));
	memset(&a->hot[slot], 0, sizeof(a->hot[slot]));
	ps->p.used = true;
	a->pair_h[slot] = h;
	ps->serial = a->next_serial++;
	orient(a, &ps->p, &a->hot[slot], s, d, k);
	ps->p.first_us = ts;
	a->t.endpoints++;
	a->t.basis_seen |= 1u << ps->p.basis;
	a->last_pair = (int32_t)slot;
found:
	hp = &a->hot[slot];
	*tx = key_eq(&hp->local, s);
	hp->last_us = ts;
	hp->packets++;
	return slot;
}

static struct wg_index *idx_find(struct wg_analyser *a, uint32_t idx)
{
	uint32_t h = hash_u32(idx);

	for (uint32_t i = 0; i < WINDOW; i++) {
		struct wg_index *e = &a->idx[(h + i) % WG_MAX_INDICES];

		if (!e->used)
			return NULL;
		if (e->idx == idx)
			return e;
	}
	return NULL;
}

/* The entry for idx, reset (a new announcement of the same index replaces the old one). */
static struct wg_index *idx_put(struct wg_analyser *a, uint32_t idx)
{
	uint32_t h = hash_u32(idx);
	uint64_t oldest = UINT64_MAX;
	struct wg_index *victim = NULL;

	for (uint32_t i = 0; i < WINDOW; i++) {
		struct wg_index *e = &a->idx[(h + i) % WG_MAX_INDICES];

		if (!e->used || e->idx == idx) {
			victim = e;
			break;
		}
		if (e->last_seq < oldest) {
			oldest = e->last_seq;
			victim = e;
		}
	}
	if (victim->used && victim->idx != idx)
		a->t.indices_evicted++;
	memset(victim, 0, sizeof(*victim));
	victim->used = 1;
	victim->idx = idx;
	victim->last_seq = a->seq;
	return victim;
}

static struct wg_pair *idx_pair(struct wg_analyser *a, const struct wg_index *e)
{
	struct pair_slot *ps = &a->pairs[e->pair];

	return ps->p.used && ps->serial == e->pair_serial ? &ps->p : NULL;
}

/* ------------------------------------------------------------------------------------ */
/* Per-message bookkeeping                                                              */
/* ------------------------------------------------------------------------------------ */

/* Keeps the first example of each kind as evidence (EX_BURST: the latest, longest burst).
 * Formats only when it will keep the text, so the hot path pays one test. */
static void example(struct wg_analyser *a, enum example ex, int64_t ts,
		    const struct ep_key *s, const struct ep_key *d, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void example(struct wg_analyser *a, enum example ex, int64_t ts,
		    const struct ep_key *s, const struct ep_key *d, const char *fmt, ...)
{
	char when[40], src[64], dst[64], what[140];
	struct wg_endpoint e;
	va_list ap;

	if (a->ex[ex][0] && ex != EX_BURST)
		return;
	fmt_time(ts, when, sizeof(when));
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (s && d) {
		key_to_ep(s, &e);
		wg_endpoint_format(&e, src, sizeof(src));
		key_to_ep(d, &e);
		wg_endpoint_format(&e, dst, sizeof(dst));
		snprintf(a->ex[ex], sizeof(a->ex[ex]), "%s %s: %s -> %s, %s",
			 ex == EX_BURST ? "longest ending" : "first at", when, src, dst, what);
	} else {
		snprintf(a->ex[ex], sizeof(a->ex[ex]), "first at %s: %s", when, what);
	}
}

static void add_rtt(struct wg_analyser *a, struct wg_pair *p, double ms)
{
	uint64_t n = a->t.rtt_n++;

	if (n < WG_RTT_SAMPLES) {
		a->rtt[n] = ms;
	} else {
		uint64_t j = xorshift(&a->rng) % (n + 1); /* reservoir sampling */

		if (j < WG_RTT_SAMPLES)
			a->rtt[j] = ms;
	}
	if (!p)
		return;
	if (p->rtt_n == 0 || ms < p->rtt_min_ms)
		p->rtt_min_ms = ms;
	if (p->rtt_n == 0 || ms > p->rtt_max_ms)
		p->rtt_max_ms = ms;
	p->rtt_n++;
	p->rtt_sum_ms += ms;
}

/* A message naming idx as its receiver arrived from s: roaming when s changed. */
static struct wg_index *note_receiver(struct wg_analyser *a, struct wg_pair *p, uint32_t idx,
				      const struct ep_key *s, const struct ep_key *d,
				      int64_t ts)
{
	struct wg_index *e = idx_find(a, idx);

	if (!e) {
		e = idx_put(a, idx);
		e->kind = IDX_SEEN;
	}
	e->last_seq = a->seq;
	if (e->has_sender && !key_eq(&e->sender, s)) {
		char from[64];
		struct wg_endpoint prev;

		a->t.endpoint_changes++;
		p->endpoint_changes++;
		if (!a->ex[EX_ROAM][0]) {
			key_to_ep(&e->sender, &prev);
			wg_endpoint_format(&prev, from, sizeof(from));
			example(a, EX_ROAM, ts, s, d, "receiver index 0x%08x, earlier from %s", idx,
				from);
		}
	}
	e->sender = *s;
	e->has_sender = 1;
	return e;
}

/* One classified datagram on a WireGuard port: len bytes long, avail of them captured at p
 * (the kinds that read fields have avail >= the bytes they read, see wg_classify). */
static void on_message(struct wg_analyser *a, enum wg_kind k, const uint8_t *p, size_t len,
		       size_t avail, const struct ep_key *s, const struct ep_key *d, uint32_t h,
		       int64_t ts)
{
	bool tx;
	uint32_t slot = pair_get(a, s, d, h, k, ts, &tx);
	struct pair_slot *ps = &a->pairs[slot];
	struct pair_hot *hp = &a->hot[slot];
	struct wg_pair *pr = &ps->p;
	struct wg_totals *t = &a->t;
	int dir = tx ? 0 : 1;
	struct wg_index *e;
	uint32_t sender, receiver;

	switch (k) {
	case WG_KIND_INIT:
		sender = le32(p + 4);
		t->initiations++;
		if (tx) {
			t->initiations_tx++;
			pr->initiations_tx++;
			pr->burst_tx++;
		} else {
			t->initiations_rx++;
			pr->initiations_rx++;
			pr->burst_rx++;
		}
		{
			uint32_t b = tx ? pr->burst_tx : pr->burst_rx;

			if (b > pr->max_init_burst)
				pr->max_init_burst = b;
			if (b > t->max_init_burst) {
				t->max_init_burst = b;
				if (b >= 2)
					example(a, EX_BURST, ts, s, d,
						"%u initiations in a row without a confirmed "
						"handshake (last sender index 0x%08x)", b, sender);
			}
		}
		example(a, EX_INIT, ts, s, d, "148 bytes, sender index 0x%08x", sender);
		e = idx_put(a, sender);
		e->kind = IDX_INIT;
		e->ts_us = ts;
		e->pair = (uint32_t)(ps - a->pairs);
		e->pair_serial = ps->serial;
		break;
	case WG_KIND_RESP:
		sender = le32(p + 4);
		receiver = le32(p + 8);
		t->responses++;
		if (tx) {
			t->responses_tx++;
			pr->responses_tx++;
		} else {
			t->responses_rx++;
			pr->responses_rx++;
		}
		example(a, EX_RESP, ts, s, d, "92 bytes, sender index 0x%08x, receiver 0x%08x",
			sender, receiver);
		e = note_receiver(a, pr, receiver, s, d, ts);
		if (e->kind == IDX_INIT && !e->answered && ts >= e->ts_us) {
			struct wg_pair *ip = idx_pair(a, e);

			e->answered = 1;
			t->handshakes_completed++;
			if (!ip)
				ip = pr;
			ip->handshakes_completed++;
			add_rtt(a, ip, (double)(ts - e->ts_us) / 1000.0);
		}
		e = idx_put(a, sender);
		e->kind = IDX_RESP;
		e->ts_us = ts;
		e->pair = (uint32_t)(ps - a->pairs);
		e->pair_serial = ps->serial;
		break;
	case WG_KIND_COOKIE:
		receiver = le32(p + 4);
		t->cookie_replies++;
		if (tx) {
			t->cookie_replies_tx++;
			pr->cookie_replies_tx++;
		} else {
			t->cookie_replies_rx++;
			pr->cookie_replies_rx++;
		}
		example(a, EX_COOKIE, ts, s, d, "64 bytes, receiver index 0x%08x", receiver);
		note_receiver(a, pr, receiver, s, d, ts);
		break;
	case WG_KIND_DATA:
	case WG_KIND_KEEPALIVE:
		receiver = le32(p + 4);
		if (k == WG_KIND_KEEPALIVE) {
			t->keepalives++;
			hp->keepalives[dir]++;
			if (!a->ex[EX_KEEPALIVE][0])
				example(a, EX_KEEPALIVE, ts, s, d, "32 bytes, receiver index 0x%08x",
					receiver);
		} else {
			if (tx) {
				t->data_tx_packets++;
				t->data_tx_bytes += len;
			} else {
				t->data_rx_packets++;
				t->data_rx_bytes += len;
			}
			hp->data_packets[dir]++;
			hp->data_bytes[dir] += len;
			if (!a->ex[EX_DATA][0])
				example(a, EX_DATA, ts, s, d, "%zu bytes, receiver index 0x%08x", len,
					receiver);
		}
		/* The same receiver index on the same pair as last time: neither a roam nor a
		 * first confirmation, so the index table is left alone. */
		if (hp->recv_known[dir] && hp->recv_idx[dir] == receiver)
			break;
		hp->recv_idx[dir] = receiver;
		hp->recv_known[dir] = 1;
		e = note_receiver(a, pr, receiver, s, d, ts);
		if (e->kind == IDX_RESP && !e->confirmed) {
			/* The initiator's first transport message: the session works. */
			e->confirmed = 1;
			t->handshakes_confirmed++;
			pr->handshakes_confirmed++;
			if (tx)
				pr->burst_tx = 0;
			else
				pr->burst_rx = 0;
		}
		break;
	case WG_KIND_DISCO:
		t->disco++;
		pr->disco++;
		example(a, EX_DISCO, ts, s, d, "%zu bytes, Tailscale disco magic", len);
		return;
	default:
		t->non_wg++;
		pr->non_wg++;
		if (k == WG_KIND_BAD_SIZE) {
			t->bad_size++;
			example(a, EX_BAD_SIZE, ts, s, d,
				"type %u with reserved zero bytes but %zu bytes long", p[0], len);
		}
		if (avail)
			example(a, EX_NON_WG, ts, s, d, "%zu bytes starting %02x", len, p[0]);
		else
			example(a, EX_NON_WG, ts, s, d, "%zu bytes", len);
		return;
	}
	t->messages++;
}

/* ------------------------------------------------------------------------------------ */
/* Frame decoding                                                                       */
/* ------------------------------------------------------------------------------------ */

bool wg_link_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
	case 101: /* LINKTYPE_RAW, should libpcap not map it */
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
		return true;
	}
	return false;
}

static void truncated(struct wg_analyser *a, int64_t ts, uint32_t caplen, uint32_t wirelen,
		      const char *where)
{
	a->t.truncated++;
	a->t.packets++;
	example(a, EX_TRUNCATED, ts, NULL, NULL, "%u of %u bytes captured, cut inside the %s",
		caplen, wirelen, where);
}

/* Counts a UDP fragment.  packet: also count it as a packet (a later fragment, whose ports
 * are unknown; a first fragment on a WireGuard port is counted by the decode path). */
static void fragment(struct wg_analyser *a, int64_t ts, const struct ep_key *sk,
		     const struct ep_key *dk, unsigned off8, bool packet)
{
	char src[INET6_ADDRSTRLEN] = "?", dst[INET6_ADDRSTRLEN] = "?";
	struct wg_endpoint s, d;
	int af;

	a->t.fragments++;
	if (packet)
		a->t.packets++;
	if (a->ex[EX_FRAGMENT][0])
		return;
	key_to_ep(sk, &s);
	key_to_ep(dk, &d);
	af = s.family == 4 ? AF_INET : AF_INET6;
	inet_ntop(af, s.addr, src, sizeof(src));
	inet_ntop(af, d.addr, dst, sizeof(dst));
	example(a, EX_FRAGMENT, ts, NULL, NULL, "UDP fragment %s -> %s at offset %u", src, dst,
		off8 * 8);
}

#define TRUNC(where)                                           \
	do {                                                   \
		truncated(a, ts, caplen, wirelen, where);      \
		return;                                        \
	} while (0)

void wg_analyser_frame(struct wg_analyser *a, int dlt, int64_t ts, const uint8_t *d,
		       uint32_t caplen, uint32_t wirelen)
{
	size_t off = 0, l4, iplen, avail;
	uint16_t etype = 0;
	struct ep_key s, t;
	const uint8_t *saddr = NULL, *daddr = NULL;
	uint16_t sport, dport;
	uint32_t h;
	const uint8_t *u;
	size_t ulen, plen;
	int ver = 0;
	bool first_frag = false;

	a->seq++;
	a->t.frames++;
	if (wirelen < caplen)
		wirelen = caplen;

	/* Link layer → ethertype (or the IP version for raw / loopback). */
	switch (dlt) {
	case DLT_EN10MB:
		if (caplen < 14)
			TRUNC("Ethernet header");
		etype = be16(d + 12);
		off = 14;
		break;
	case DLT_LINUX_SLL: /* 16 bytes; protocol at 14 (pcap-linktype(7): LINKTYPE_LINUX_SLL) */
		if (caplen < 16)
			TRUNC("SLL header");
		etype = be16(d + 14);
		off = 16;
		break;
	case DLT_LINUX_SLL2: /* 20 bytes; protocol at 0 (LINKTYPE_LINUX_SLL2) */
		if (caplen < 20)
			TRUNC("SLL2 header");
		etype = be16(d);
		off = 20;
		break;
	case DLT_NULL:
	case DLT_LOOP: {
		/* 4-byte address family: host order of the capturing machine (NULL) or
		 * network order (LOOP); accept either.  IPv6 is 10 (Linux), 24, 28 or 30
		 * (the BSDs, macOS). */
		uint32_t fb, fl;

		if (caplen < 4)
			TRUNC("loopback header");
		fb = be32(d);
		fl = le32(d);
		off = 4;
		if (fb == 2 || fl == 2)
			ver = 4;
		else if (fb == 10 || fb == 24 || fb == 28 || fb == 30 || fl == 10 || fl == 24 ||
			 fl == 28 || fl == 30)
			ver = 6;
		else
			return;
		break;
	}
	case DLT_RAW:
	case 101:
	case DLT_IPV4:
	case DLT_IPV6:
		if (caplen < 1)
			TRUNC("IP header");
		ver = d[0] >> 4;
		break;
	default:
		return;
	}
	if (!ver) {
		/* 802.1Q (0x8100), 802.1ad (0x88a8) and the old QinQ 0x9100 tags: 4 bytes each,
		 * the inner ethertype in the last 2. */
		for (int tags = 0; (etype == 0x8100 || etype == 0x88a8 || etype == 0x9100) && tags < 4;
		     tags++) {
			if (caplen < off + 4)
				TRUNC("VLAN tag");
			etype = be16(d + off + 2);
			off += 4;
		}
		if (etype == 0x0800)
			ver = 4;
		else if (etype == 0x86dd)
			ver = 6;
		else
			return;
	}

	if (ver == 4) {
		size_t ihl, tot;
		uint16_t frag;

		if (caplen < off + 20)
			TRUNC("IPv4 header");
		if (d[off] >> 4 != 4)
			return;
		ihl = (size_t)(d[off] & 0x0f) * 4;
		tot = be16(d + off + 2);
		if (ihl < 20 || tot < ihl)
			return;
		if (d[off + 9] != 17) /* UDP */
			return;
		ver = 4;
		saddr = d + off + 12;
		daddr = d + off + 16;
		frag = be16(d + off + 6);
		if (frag & 0x1fff) { /* a later fragment (RFC 791): no UDP header */
			key_make(&s, 4, saddr, 0);
			key_make(&t, 4, daddr, 0);
			fragment(a, ts, &s, &t, frag & 0x1fff, true);
			return;
		}
		first_frag = frag & 0x2000; /* MF at offset 0: the UDP header is here */
		if (caplen < off + ihl)
			TRUNC("IPv4 options");
		l4 = off + ihl;
		iplen = tot - ihl;
	} else if (ver == 6) {
		uint8_t nh;
		size_t rem;

		if (caplen < off + 40)
			TRUNC("IPv6 header");
		if (d[off] >> 4 != 6)
			return;
		rem = be16(d + off + 4);
		if (rem == 0) /* jumbogram (RFC 2675): trust the frame */
			rem = wirelen - off - 40;
		nh = d[off + 6];
		saddr = d + off + 8;
		daddr = d + off + 24;
		l4 = off + 40;
		/* Extension headers (RFC 8200 section 4): skip what precedes UDP. */
		for (int hops = 0; nh != 17; hops++) {
			size_t hl;

			if (hops >= 8)
				return;
			switch (nh) {
			case 0: case 43: case 60: case 135: case 139: case 140:
			case 51:
				if (caplen < l4 + 2)
					TRUNC("IPv6 extension header");
				hl = nh == 51 ? ((size_t)d[l4 + 1] + 2) * 4 : ((size_t)d[l4 + 1] + 1) * 8;
				nh = d[l4];
				break;
			case 44: {
				uint16_t fo;

				if (caplen < l4 + 8)
					TRUNC("IPv6 fragment header");
				fo = be16(d + l4 + 2);
				if (fo & 0xfff8) { /* a later fragment */
					if (d[l4] == 17) {
						key_make(&s, 6, saddr, 0);
						key_make(&t, 6, daddr, 0);
						fragment(a, ts, &s, &t, fo >> 3, true);
					}
					return;
				}
				/* M set: the first fragment, with the UDP header; neither: an atomic
				 * fragment (RFC 6946), the datagram is whole. */
				first_frag = fo & 1;
				hl = 8;
				nh = d[l4];
				break;
			}
			default:
				return; /* not UDP (or ESP: unreadable) */
			}
			if (hl > rem)
				return;
			rem -= hl;
			l4 += hl;
		}
		iplen = rem;
	} else {
		return;
	}

	/* UDP (RFC 768). */
	if (caplen < l4 + 8)
		TRUNC("UDP header");
	u = d + l4;
	sport = be16(u);
	dport = be16(u + 2);
	if (!on_port(a, sport, dport))
		return;
	key_make(&s, ver, saddr, sport);
	key_make(&t, ver, daddr, dport);
	/* Start loading the pair's hash slot and hot lines while the rest is decoded. */
	h = pair_hash(&s, &t);
	__builtin_prefetch(&a->pair_h[h % WG_MAX_PAIRS]);
	__builtin_prefetch(&a->hot[h % WG_MAX_PAIRS]);
	__builtin_prefetch((const char *)&a->hot[h % WG_MAX_PAIRS] + 64);
	a->t.packets++;
	if (!a->t.first_us)
		a->t.first_us = ts;
	a->t.last_us = ts;
	if (first_frag)
		fragment(a, ts, &s, &t, 0, false);
	ulen = be16(u + 4);
	if (ulen < 8 || iplen < 8) {
		on_message(a, WG_KIND_NON_WG, NULL, 0, 0, &s, &t, h, ts);
		return;
	}
	/* The datagram's length: UDP's, bounded by what the IP header and the wire carried,
	 * except in a first fragment, which holds only the start of it. */
	plen = ulen - 8;
	avail = caplen - l4 - 8;
	if (avail > iplen - 8)
		avail = iplen - 8;
	if (!first_frag) {
		if (plen > iplen - 8)
			plen = iplen - 8;
		if (l4 + 8 + plen > wirelen) /* the headers claim more than the wire carried */
			plen = wirelen - l4 - 8;
	}
	if (avail > plen)
		avail = plen;
	{
		enum wg_kind k = wg_classify(u + 8, avail, plen);

		if (k == WG_KIND_TRUNCATED) {
			a->t.packets--; /* truncated() counts it */
			TRUNC("WireGuard header");
		}
		on_message(a, k, u + 8, plen, avail, &s, &t, h, ts);
	}
}

/* ------------------------------------------------------------------------------------ */
/* Results                                                                              */
/* ------------------------------------------------------------------------------------ */

const struct wg_totals *wg_analyser_totals(const struct wg_analyser *a)
{
	return &a->t;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

bool wg_analyser_rtt_median_ms(const struct wg_analyser *a, double *out)
{
	double v[WG_RTT_SAMPLES];
	size_t n = a->t.rtt_n < WG_RTT_SAMPLES ? (size_t)a->t.rtt_n : WG_RTT_SAMPLES;

	if (n == 0)
		return false;
	memcpy(v, a->rtt, n * sizeof(v[0]));
	qsort(v, n, sizeof(v[0]), cmp_double);
	*out = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return true;
}

static int cmp_pair(const void *x, const void *y, void *ctx)
{
	const struct wg_analyser *an = ctx;
	uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
	uint64_t pi = an->hot[i].packets, pj = an->hot[j].packets;
	int64_t fi = an->pairs[i].p.first_us, fj = an->pairs[j].p.first_us;

	if (pi != pj)
		return pi < pj ? 1 : -1;
	return fi < fj ? -1 : fi > fj;
}

size_t wg_analyser_pairs(const struct wg_analyser *a, struct wg_pair *out, size_t max)
{
	uint32_t order[WG_MAX_PAIRS];
	size_t n = 0;

	for (uint32_t i = 0; i < WG_MAX_PAIRS; i++)
		if (a->pair_h[i])
			order[n++] = i;
	qsort_r(order, n, sizeof(order[0]), cmp_pair, (void *)a);
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		const struct pair_hot *hp = &a->hot[order[i]];
		struct wg_pair *p = &out[i];

		*p = a->pairs[order[i]].p;
		p->packets = hp->packets;
		p->last_us = hp->last_us;
		p->data_tx_packets = hp->data_packets[0];
		p->data_rx_packets = hp->data_packets[1];
		p->data_tx_bytes = hp->data_bytes[0];
		p->data_rx_bytes = hp->data_bytes[1];
		p->keepalives_tx = hp->keepalives[0];
		p->keepalives_rx = hp->keepalives[1];
	}
	return n;
}

const char *wg_analyser_example(const struct wg_analyser *a, const char *fact)
{
	static const struct { const char *fact; enum example ex; } map[] = {
		{ "wg.initiations", EX_INIT }, { "wg.responses", EX_RESP },
		{ "wg.cookie_replies", EX_COOKIE }, { "wg.data", EX_DATA },
		{ "wg.keepalives", EX_KEEPALIVE }, { "wg.disco", EX_DISCO },
		{ "wg.non_wg", EX_NON_WG }, { "wg.bad_size", EX_BAD_SIZE },
		{ "wg.fragments", EX_FRAGMENT }, { "wg.truncated", EX_TRUNCATED },
		{ "wg.endpoint_changes", EX_ROAM }, { "wg.max_init_burst", EX_BURST },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].fact, fact) == 0)
			return a->ex[map[i].ex][0] ? a->ex[map[i].ex] : NULL;
	return NULL;
}

static bool add_num(cJSON *o, const char *k, double v)
{
	return cJSON_AddNumberToObject(o, k, v) != NULL;
}

static cJSON *pair_json(const struct wg_pair *p)
{
	cJSON *o = cJSON_CreateObject();
	char buf[64];
	bool ok;

	if (!o)
		return NULL;
	wg_endpoint_format(&p->local, buf, sizeof(buf));
	ok = cJSON_AddStringToObject(o, "local", buf) != NULL;
	wg_endpoint_format(&p->remote, buf, sizeof(buf));
	ok = ok && cJSON_AddStringToObject(o, "remote", buf);
	ok = ok && cJSON_AddStringToObject(o, "direction_basis", wg_basis_name(p->basis));
	ok = ok && add_num(o, "packets", (double)p->packets);
	ok = ok && add_num(o, "initiations_tx", (double)p->initiations_tx);
	ok = ok && add_num(o, "initiations_rx", (double)p->initiations_rx);
	ok = ok && add_num(o, "responses_tx", (double)p->responses_tx);
	ok = ok && add_num(o, "responses_rx", (double)p->responses_rx);
	ok = ok && add_num(o, "handshakes_completed", (double)p->handshakes_completed);
	ok = ok && add_num(o, "handshakes_confirmed", (double)p->handshakes_confirmed);
	if (p->rtt_n) {
		ok = ok && add_num(o, "handshake_rtt_min_ms", p->rtt_min_ms);
		ok = ok && add_num(o, "handshake_rtt_avg_ms", p->rtt_sum_ms / p->rtt_n);
		ok = ok && add_num(o, "handshake_rtt_max_ms", p->rtt_max_ms);
	}
	ok = ok && add_num(o, "cookie_replies_tx", (double)p->cookie_replies_tx);
	ok = ok && add_num(o, "cookie_replies_rx", (double)p->cookie_replies_rx);
	ok = ok && add_num(o, "data_tx_packets", (double)p->data_tx_packets);
	ok = ok && add_num(o, "data_rx_packets", (double)p->data_rx_packets);
	ok = ok && add_num(o, "data_tx_bytes", (double)p->data_tx_bytes);
	ok = ok && add_num(o, "data_rx_bytes", (double)p->data_rx_bytes);
	ok = ok && add_num(o, "keepalives_tx", (double)p->keepalives_tx);
	ok = ok && add_num(o, "keepalives_rx", (double)p->keepalives_rx);
	ok = ok && add_num(o, "disco", (double)p->disco);
	ok = ok && add_num(o, "non_wg", (double)p->non_wg);
	ok = ok && add_num(o, "endpoint_changes", (double)p->endpoint_changes);
	ok = ok && add_num(o, "max_init_burst", p->max_init_burst);
	fmt_time(p->first_us, buf, sizeof(buf));
	ok = ok && cJSON_AddStringToObject(o, "first_seen", buf);
	fmt_time(p->last_us, buf, sizeof(buf));
	ok = ok && cJSON_AddStringToObject(o, "last_seen", buf);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int wg_analyser_table_json(const struct wg_analyser *a, char **out)
{
	struct wg_pair *rows = calloc(WG_TABLE_ROWS, sizeof(*rows));
	size_t n = rows ? wg_analyser_pairs(a, rows, WG_TABLE_ROWS) : 0;
	cJSON *arr = rows ? cJSON_CreateArray() : NULL;

	*out = NULL;
	if (!arr) {
		free(rows);
		return MD_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		cJSON *o = pair_json(&rows[i]);

		if (!o) {
			cJSON_Delete(arr);
			free(rows);
			return MD_ENOMEM;
		}
		cJSON_AddItemToArray(arr, o);
	}
	free(rows);
	*out = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	return *out ? MD_OK : MD_ENOMEM;
}

/* ------------------------------------------------------------------------------------ */
/* Facts                                                                                */
/* ------------------------------------------------------------------------------------ */

static int fact_n(struct md_facts *f, const struct wg_analyser *a, const char *name, uint64_t v,
		  const char *evidence)
{
	if (!evidence)
		evidence = wg_analyser_example(a, name);
	return md_fact_int(f, PROBE, name, (int64_t)v, evidence);
}

int wg_analyser_record(const struct wg_analyser *a, struct md_facts *f, const char *source,
		       double seconds)
{
	const struct wg_totals *t = &a->t;
	char ev[512], label[160];
	double med;
	int rc = 0;
	char *json = NULL;
	const char *basis = "none";
	bool have_rtt = wg_analyser_rtt_median_ms(a, &med);

	snprintf(ev, sizeof(ev), "%llu frames read, %llu on the WireGuard ports",
		 (unsigned long long)t->frames, (unsigned long long)t->packets);
	rc |= md_fact_str(f, PROBE, "wg.source", source, ev);
	rc |= md_fact_real(f, PROBE, "wg.capture_seconds", seconds, NULL);
	rc |= fact_n(f, a, "wg.packets", t->packets, ev);
	rc |= fact_n(f, a, "wg.messages", t->messages,
		     "valid WireGuard messages (types 1-4 with the right size and reserved zero "
		     "bytes)");
	rc |= fact_n(f, a, "wg.initiations", t->initiations, NULL);
	rc |= fact_n(f, a, "wg.initiations_tx", t->initiations_tx, NULL);
	rc |= fact_n(f, a, "wg.initiations_rx", t->initiations_rx, NULL);
	rc |= fact_n(f, a, "wg.responses", t->responses, NULL);
	rc |= fact_n(f, a, "wg.responses_tx", t->responses_tx, wg_analyser_example(a, "wg.responses"));
	rc |= fact_n(f, a, "wg.responses_rx", t->responses_rx, wg_analyser_example(a, "wg.responses"));
	rc |= fact_n(f, a, "wg.cookie_replies", t->cookie_replies, NULL);
	rc |= fact_n(f, a, "wg.cookie_replies_tx", t->cookie_replies_tx,
		     wg_analyser_example(a, "wg.cookie_replies"));
	rc |= fact_n(f, a, "wg.cookie_replies_rx", t->cookie_replies_rx,
		     wg_analyser_example(a, "wg.cookie_replies"));
	snprintf(ev, sizeof(ev), "%llu bytes", (unsigned long long)t->data_tx_bytes);
	rc |= fact_n(f, a, "wg.data_tx_packets", t->data_tx_packets, ev);
	rc |= fact_n(f, a, "wg.data_tx_bytes", t->data_tx_bytes, NULL);
	snprintf(ev, sizeof(ev), "%llu bytes", (unsigned long long)t->data_rx_bytes);
	rc |= fact_n(f, a, "wg.data_rx_packets", t->data_rx_packets, ev);
	rc |= fact_n(f, a, "wg.data_rx_bytes", t->data_rx_bytes, NULL);
	rc |= fact_n(f, a, "wg.keepalives", t->keepalives, NULL);
	rc |= fact_n(f, a, "wg.disco", t->disco, NULL);
	rc |= fact_n(f, a, "wg.non_wg", t->non_wg, NULL);
	rc |= fact_n(f, a, "wg.bad_size", t->bad_size, NULL);
	rc |= fact_n(f, a, "wg.fragments", t->fragments, NULL);
	rc |= fact_n(f, a, "wg.truncated", t->truncated, NULL);
	snprintf(ev, sizeof(ev), "responses matched to an initiation by index; %llu confirmed by "
		 "a transport message", (unsigned long long)t->handshakes_confirmed);
	rc |= fact_n(f, a, "wg.handshakes_completed", t->handshakes_completed, ev);
	rc |= fact_n(f, a, "wg.handshakes_confirmed", t->handshakes_confirmed, NULL);
	if (have_rtt) {
		double lo = med, hi = med;
		size_t n = t->rtt_n < WG_RTT_SAMPLES ? (size_t)t->rtt_n : WG_RTT_SAMPLES;

		for (size_t i = 0; i < n; i++) {
			lo = a->rtt[i] < lo ? a->rtt[i] : lo;
			hi = a->rtt[i] > hi ? a->rtt[i] : hi;
		}
		snprintf(ev, sizeof(ev), "median of %llu handshakes (min %.3f ms, max %.3f ms), "
			 "initiation to response as captured", (unsigned long long)t->rtt_n, lo, hi);
		rc |= md_fact_real(f, PROBE, "wg.handshake_rtt_ms", med, ev);
	}
	rc |= fact_n(f, a, "wg.max_init_burst", t->max_init_burst, NULL);
	snprintf(ev, sizeof(ev), "%llu evicted from the table of %d", (unsigned long long)
		 t->endpoints_evicted, WG_MAX_PAIRS);
	rc |= fact_n(f, a, "wg.endpoints", t->endpoints, ev);
	rc |= fact_n(f, a, "wg.endpoint_changes", t->endpoint_changes, NULL);
	if (t->basis_seen) {
		int n = 0;

		for (int b = 0; b < 3; b++)
			if (t->basis_seen >> b & 1) {
				basis = wg_basis_name((enum wg_basis)b);
				n++;
			}
		if (n > 1)
			basis = "mixed";
	}
	rc |= md_fact_str(f, PROBE, "wg.direction_basis", basis,
			  "tx = sent by the local side: a local address, else the side that is "
			  "not the target, else the first initiator");

	/* Checklist: what the capture saw, step by step (the value follows the label). */
	rc |= md_fact_check(f, "wg.messages", t->messages ? MD_CHECK_OK : MD_CHECK_WARN,
			    t->messages ? "WireGuard packets seen" : "No WireGuard packets seen");
	if (t->initiations || t->responses) {
		if (t->handshakes_completed) {
			snprintf(label, sizeof(label), "WireGuard handshakes completed (median RTT "
				 "%.1f ms)", med);
			rc |= md_fact_check(f, "wg.handshakes_completed", MD_CHECK_OK, label);
		} else {
			snprintf(label, sizeof(label), "WireGuard handshakes completed (%llu "
				 "initiations, %llu responses)", (unsigned long long)t->initiations,
				 (unsigned long long)t->responses);
			rc |= md_fact_check(f, "wg.handshakes_completed", MD_CHECK_FAIL, label);
		}
	}
	if (t->messages) {
		snprintf(label, sizeof(label), "Tunnel data received (sent: %llu)",
			 (unsigned long long)t->data_tx_packets);
		rc |= md_fact_check(f, "wg.data_rx_packets",
				    t->data_tx_packets && t->data_rx_packets ? MD_CHECK_OK
									      : MD_CHECK_WARN,
				    label);
	}
	if (rc)
		return MD_ENOMEM;
	rc = wg_analyser_table_json(a, &json);
	if (rc == MD_OK)
		rc = md_facts_table(f, PROBE, "endpoints", json);
	free(json);
	return rc;
}

/* ------------------------------------------------------------------------------------ */
/* Offline reading                                                                      */
/* ------------------------------------------------------------------------------------ */

/* libpcap reads every record with fread(): a 128 KiB stdio buffer means few read(2)
 * calls while the buffer still sits in L2 for the second copy (into libpcap's packet
 * buffer).  Measured on 100 MB from the page cache: 4 KiB (the default) 45 ms, 128 KiB
 * 25 ms, 1 MiB 76 ms (the kernel's copy then misses the cache). */
#define READ_BUF (128u << 10)

int wg_read_pcap(struct wg_analyser *a, const char *path, const struct md_deadline *dl,
		 uint64_t *frames_read, int *dlt_out, struct md_err *err)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t n = 0;
	char *buf = NULL;
	pcap_t *p = NULL;
	FILE *fp;
	int rc = MD_OK, r, dlt;

	if (frames_read)
		*frames_read = 0;
	if (dlt_out)
		*dlt_out = -1;
	fp = fopen(path, "rb");
	if (!fp)
		return md_err_set(err, MD_EINVAL, "pcap", "open %s: %s", path, strerror(errno));
	/* Page-aligned: the kernel's copy into a buffer at a 16-byte offset ran 4x slower
	 * (seen when earlier allocations had moved malloc's mmap threshold). */
	buf = aligned_alloc(4096, READ_BUF);
	if (buf)
		setvbuf(fp, buf, _IOFBF, READ_BUF);
	posix_fadvise(fileno(fp), 0, 0, POSIX_FADV_SEQUENTIAL);
	/* Only this thread reads fp: libpcap makes two fread() calls per frame, and
	 * stdio's per-call lock is then a measurable share of the read. */
	__fsetlocking(fp, FSETLOCKING_BYCALLER);
	/* pcap_fopen_offline() owns fp from here on (pcap_close() closes it), and reads
	 * both pcap and pcapng. */
	p = pcap_fopen_offline(fp, errbuf);
	if (!p) {
		fclose(fp);
		rc = md_err_set(err, MD_EINVAL, "pcap", "open %s: %s", path, errbuf);
		goto out;
	}
	dlt = pcap_datalink(p);
	if (dlt_out)
		*dlt_out = dlt;
	if (!wg_link_supported(dlt)) {
		const char *name = pcap_datalink_val_to_name(dlt);

		rc = md_err_set(err, MD_EINVAL, "pcap", "read %s: link type %s (%d) is not decoded "
				"(Ethernet, Linux cooked SLL/SLL2, raw IP and loopback are)", path,
				name ? name : "?", dlt);
		goto out;
	}
	while ((r = pcap_next_ex(p, &h, &data)) == 1) {
		wg_analyser_frame(a, dlt, (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec, data,
				  h->caplen, h->len);
		if ((++n & 0xfff) == 0 && md_deadline_left_ms(dl) <= 0) {
			rc = md_err_set(err, MD_ETIMEOUT, "pcap",
					"read %s: deadline passed after %llu frames", path,
					(unsigned long long)n);
			goto out;
		}
	}
	if (r == PCAP_ERROR)
		rc = md_err_set(err, MD_EIO, "pcap", "read %s: %s (after %llu frames)", path,
				pcap_geterr(p), (unsigned long long)n);
out:
	if (frames_read)
		*frames_read = n;
	if (p)
		pcap_close(p);
	free(buf);
	return rc;
}
