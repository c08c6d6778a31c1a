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
#include "probes/wg_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WINDOW 8 /* hash probe window: a full window evicts its least recently seen entry */

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

void wg_fmt_time(int64_t us, char *out, size_t len)
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
	wg_fmt_time(ts, when, sizeof(when));
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
/* One message on its pair, as on_message() dispatches it. */
struct msg {
	struct wg_analyser *a;
	const struct ep_key *s, *d;
	int64_t ts;
	struct pair_slot *ps;
	struct pair_hot *hp;
	struct wg_pair *pr;
	bool tx;
	int dir;             /* 0 tx, 1 rx */
};

/* Records index idx as announced by m's message (kind IDX_INIT or IDX_RESP). */
static void announce(const struct msg *m, uint32_t idx, enum idx_kind kind)
{
	struct wg_index *e = idx_put(m->a, idx);

	e->kind = kind;
	e->ts_us = m->ts;
	e->pair = (uint32_t)(m->ps - m->a->pairs);
	e->pair_serial = m->ps->serial;
}

static void on_init(const struct msg *m, const uint8_t *p)
{
	struct wg_totals *t = &m->a->t;
	struct wg_pair *pr = m->pr;
	uint32_t sender = le32(p + 4), b;

	t->initiations++;
	if (m->tx) {
		t->initiations_tx++;
		pr->initiations_tx++;
		b = ++pr->burst_tx;
	} else {
		t->initiations_rx++;
		pr->initiations_rx++;
		b = ++pr->burst_rx;
	}
	if (b > pr->max_init_burst)
		pr->max_init_burst = b;
	if (b > t->max_init_burst) {
		t->max_init_burst = b;
		if (b >= 2)
			example(m->a, EX_BURST, m->ts, m->s, m->d,
				"%u initiations in a row without a confirmed handshake (last sender "
				"index 0x%08x)", b, sender);
	}
	example(m->a, EX_INIT, m->ts, m->s, m->d, "148 bytes, sender index 0x%08x", sender);
	announce(m, sender, IDX_INIT);
}

static void on_resp(const struct msg *m, const uint8_t *p)
{
	struct wg_analyser *a = m->a;
	struct wg_totals *t = &a->t;
	uint32_t sender = le32(p + 4), receiver = le32(p + 8);
	struct wg_index *e;

	t->responses++;
	if (m->tx) {
		t->responses_tx++;
		m->pr->responses_tx++;
	} else {
		t->responses_rx++;
		m->pr->responses_rx++;
	}
	example(a, EX_RESP, m->ts, m->s, m->d, "92 bytes, sender index 0x%08x, receiver 0x%08x",
		sender, receiver);
	e = note_receiver(a, m->pr, receiver, m->s, m->d, m->ts);
	if (e->kind == IDX_INIT && !e->answered && m->ts >= e->ts_us) {
		struct wg_pair *ip = idx_pair(a, e);

		e->answered = 1;
		t->handshakes_completed++;
		if (!ip)
			ip = m->pr;
		ip->handshakes_completed++;
		add_rtt(a, ip, (double)(m->ts - e->ts_us) / 1000.0);
	}
	announce(m, sender, IDX_RESP);
}

static void on_cookie(const struct msg *m, const uint8_t *p)
{
	struct wg_totals *t = &m->a->t;
	uint32_t receiver = le32(p + 4);

	t->cookie_replies++;
	if (m->tx) {
		t->cookie_replies_tx++;
		m->pr->cookie_replies_tx++;
	} else {
		t->cookie_replies_rx++;
		m->pr->cookie_replies_rx++;
	}
	example(m->a, EX_COOKIE, m->ts, m->s, m->d, "64 bytes, receiver index 0x%08x", receiver);
	note_receiver(m->a, m->pr, receiver, m->s, m->d, m->ts);
}

/* A transport message: data, or a keepalive (no payload). */
static void on_transport(const struct msg *m, enum wg_kind k, const uint8_t *p, size_t len)
{
	struct wg_analyser *a = m->a;
	struct wg_totals *t = &a->t;
	struct pair_hot *hp = m->hp;
	uint32_t receiver = le32(p + 4);
	int dir = m->dir;
	struct wg_index *e;

	if (k == WG_KIND_KEEPALIVE) {
		t->keepalives++;
		hp->keepalives[dir]++;
		if (!a->ex[EX_KEEPALIVE][0])
			example(a, EX_KEEPALIVE, m->ts, m->s, m->d, "32 bytes, receiver index 0x%08x",
				receiver);
	} else {
		if (m->tx) {
			t->data_tx_packets++;
			t->data_tx_bytes += len;
		} else {
			t->data_rx_packets++;
			t->data_rx_bytes += len;
		}
		hp->data_packets[dir]++;
		hp->data_bytes[dir] += len;
		if (!a->ex[EX_DATA][0])
			example(a, EX_DATA, m->ts, m->s, m->d, "%zu bytes, receiver index 0x%08x", len,
				receiver);
	}
	/* The same receiver index on the same pair as last time: neither a roam nor a first
	 * confirmation, so the index table is left alone. */
	if (hp->recv_known[dir] && hp->recv_idx[dir] == receiver)
		return;
	hp->recv_idx[dir] = receiver;
	hp->recv_known[dir] = 1;
	e = note_receiver(a, m->pr, receiver, m->s, m->d, m->ts);
	if (e->kind == IDX_RESP && !e->confirmed) {
		/* The initiator's first transport message: the session works. */
		e->confirmed = 1;
		t->handshakes_confirmed++;
		m->pr->handshakes_confirmed++;
		if (m->tx)
			m->pr->burst_tx = 0;
		else
			m->pr->burst_rx = 0;
	}
}

/* Not a WireGuard message (or one of the wrong size). */
static void on_other(const struct msg *m, enum wg_kind k, const uint8_t *p, size_t len,
		     size_t avail)
{
	struct wg_analyser *a = m->a;

	a->t.non_wg++;
	m->pr->non_wg++;
	if (k == WG_KIND_BAD_SIZE) {
		a->t.bad_size++;
		example(a, EX_BAD_SIZE, m->ts, m->s, m->d,
			"type %u with reserved zero bytes but %zu bytes long", p[0], len);
	}
	if (avail)
		example(a, EX_NON_WG, m->ts, m->s, m->d, "%zu bytes starting %02x", len, p[0]);
	else
		example(a, EX_NON_WG, m->ts, m->s, m->d, "%zu bytes", len);
}

static void on_message(struct wg_analyser *a, enum wg_kind k, const uint8_t *p, size_t len,
		       size_t avail, const struct ep_key *s, const struct ep_key *d, uint32_t h,
		       int64_t ts)
{
	bool tx;
	uint32_t slot = pair_get(a, s, d, h, k, ts, &tx);
	struct msg m = { a, s, d, ts, &a->pairs[slot], &a->hot[slot], &a->pairs[slot].p, tx,
			 tx ? 0 : 1 };

	switch (k) {
	case WG_KIND_INIT:
		on_init(&m, p);
		break;
	case WG_KIND_RESP:
		on_resp(&m, p);
		break;
	case WG_KIND_COOKIE:
		on_cookie(&m, p);
		break;
	case WG_KIND_DATA:
	case WG_KIND_KEEPALIVE:
		on_transport(&m, k, p, len);
		break;
	case WG_KIND_DISCO:
		a->t.disco++;
		m.pr->disco++;
		example(a, EX_DISCO, ts, s, d, "%zu bytes, Tailscale disco magic", len);
		return;
	default:
		on_other(&m, k, p, len, avail);
		return;
	}
	a->t.messages++;
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

/* One captured frame on its way down the decoder. */
struct frame {
	struct wg_analyser *a;
	int64_t ts;
	const uint8_t *d;
	uint32_t caplen, wirelen;
};

/* Where the IP layer left the datagram. */
struct ip_view {
	int ver;
	const uint8_t *saddr, *daddr;
	size_t l4, iplen;       /* UDP's offset in the frame; the IP payload's length */
	bool first_frag;        /* the first fragment of a datagram: only its start is here */
};

/* Counts the frame as cut short inside `where`; false, so the caller stops. */
static bool cut(const struct frame *f, const char *where)
{
	truncated(f->a, f->ts, f->caplen, f->wirelen, where);
	return false;
}

/* Link layer → *off (where IP starts) and *ver (4 or 6); false when the frame is not IP,
 * or cut short (counted). */
static bool link_layer(const struct frame *f, int dlt, size_t *off, int *ver)
{
	const uint8_t *d = f->d;
	uint32_t caplen = f->caplen;
	uint16_t etype = 0;

	*ver = 0;
	switch (dlt) {
	case DLT_EN10MB:
		if (caplen < 14)
			return cut(f, "Ethernet header");
		etype = be16(d + 12);
		*off = 14;
		break;
	case DLT_LINUX_SLL: /* 16 bytes; protocol at 14 (pcap-linktype(7): LINKTYPE_LINUX_SLL) */
		if (caplen < 16)
			return cut(f, "SLL header");
		etype = be16(d + 14);
		*off = 16;
		break;
	case DLT_LINUX_SLL2: /* 20 bytes; protocol at 0 (LINKTYPE_LINUX_SLL2) */
		if (caplen < 20)
			return cut(f, "SLL2 header");
		etype = be16(d);
		*off = 20;
		break;
	case DLT_NULL:
	case DLT_LOOP: {
		/* 4-byte address family: host order of the capturing machine (NULL) or
		 * network order (LOOP); accept either.  IPv6 is 10 (Linux), 24, 28 or 30
		 * (the BSDs, macOS). */
		uint32_t fb, fl;

		if (caplen < 4)
			return cut(f, "loopback header");
		fb = be32(d);
		fl = le32(d);
		*off = 4;
		if (fb == 2 || fl == 2)
			*ver = 4;
		else if (fb == 10 || fb == 24 || fb == 28 || fb == 30 || fl == 10 || fl == 24 ||
			 fl == 28 || fl == 30)
			*ver = 6;
		else
			return false;
		return true;
	}
	case DLT_RAW:
	case 101:
	case DLT_IPV4:
	case DLT_IPV6:
		if (caplen < 1)
			return cut(f, "IP header");
		*off = 0;
		*ver = d[0] >> 4;
		return true;
	default:
		return false;
	}
	/* 802.1Q (0x8100), 802.1ad (0x88a8) and the old QinQ 0x9100 tags: 4 bytes each, the
	 * inner ethertype in the last 2. */
	for (int tags = 0; (etype == 0x8100 || etype == 0x88a8 || etype == 0x9100) && tags < 4;
	     tags++) {
		if (caplen < *off + 4)
			return cut(f, "VLAN tag");
		etype = be16(d + *off + 2);
		*off += 4;
	}
	if (etype == 0x0800)
		*ver = 4;
	else if (etype == 0x86dd)
		*ver = 6;
	return *ver != 0;
}

/* IPv4 at off (RFC 791): UDP only; a later fragment is counted and ends here. */
static bool ipv4(const struct frame *f, size_t off, struct ip_view *ip)
{
	const uint8_t *d = f->d;
	struct ep_key s, t;
	size_t ihl, tot;
	uint16_t frag;

	if (f->caplen < off + 20)
		return cut(f, "IPv4 header");
	if (d[off] >> 4 != 4)
		return false;
	ihl = (size_t)(d[off] & 0x0f) * 4;
	tot = be16(d + off + 2);
	if (ihl < 20 || tot < ihl || d[off + 9] != 17 /* UDP */)
		return false;
	ip->ver = 4;
	ip->saddr = d + off + 12;
	ip->daddr = d + off + 16;
	frag = be16(d + off + 6);
	if (frag & 0x1fff) { /* a later fragment: no UDP header */
		key_make(&s, 4, ip->saddr, 0);
		key_make(&t, 4, ip->daddr, 0);
		fragment(f->a, f->ts, &s, &t, frag & 0x1fff, true);
		return false;
	}
	ip->first_frag = frag & 0x2000; /* MF at offset 0: the UDP header is here */
	if (f->caplen < off + ihl)
		return cut(f, "IPv4 options");
	ip->l4 = off + ihl;
	ip->iplen = tot - ihl;
	return true;
}

/* An IPv6 fragment header at ip->l4 (RFC 8200 4.5): false after counting a later
 * fragment; else whether this is the first one (*first), its length in *hl. */
static bool ipv6_fragment(const struct frame *f, struct ip_view *ip, size_t *hl)
{
	const uint8_t *d = f->d;
	struct ep_key s, t;
	uint16_t fo;

	if (f->caplen < ip->l4 + 8)
		return cut(f, "IPv6 fragment header");
	fo = be16(d + ip->l4 + 2);
	if (fo & 0xfff8) { /* a later fragment */
		if (d[ip->l4] == 17) {
			key_make(&s, 6, ip->saddr, 0);
			key_make(&t, 6, ip->daddr, 0);
			fragment(f->a, f->ts, &s, &t, fo >> 3, true);
		}
		return false;
	}
	/* M set: the first fragment, with the UDP header; neither: an atomic fragment
	 * (RFC 6946), the datagram is whole. */
	ip->first_frag = fo & 1;
	*hl = 8;
	return true;
}

/* IPv6 at off: the extension headers before UDP skipped (RFC 8200 section 4). */
static bool ipv6(const struct frame *f, size_t off, struct ip_view *ip)
{
	const uint8_t *d = f->d;
	size_t rem;
	uint8_t nh;

	if (f->caplen < off + 40)
		return cut(f, "IPv6 header");
	if (d[off] >> 4 != 6)
		return false;
	rem = be16(d + off + 4);
	if (rem == 0) /* jumbogram (RFC 2675): trust the frame */
		rem = f->wirelen - off - 40;
	nh = d[off + 6];
	ip->ver = 6;
	ip->saddr = d + off + 8;
	ip->daddr = d + off + 24;
	ip->l4 = off + 40;
	for (int hops = 0; nh != 17; hops++) {
		size_t hl;

		if (hops >= 8)
			return false;
		switch (nh) {
		case 0: case 43: case 60: case 135: case 139: case 140:
		case 51:
			if (f->caplen < ip->l4 + 2)
				return cut(f, "IPv6 extension header");
			hl = nh == 51 ? ((size_t)d[ip->l4 + 1] + 2) * 4 : ((size_t)d[ip->l4 + 1] + 1) * 8;
			break;
		case 44:
			if (!ipv6_fragment(f, ip, &hl))
				return false;
			break;
		default:
			return false; /* not UDP (or ESP: unreadable) */
		}
		nh = d[ip->l4];
		if (hl > rem)
			return false;
		rem -= hl;
		ip->l4 += hl;
	}
	ip->iplen = rem;
	return true;
}

/* UDP (RFC 768) on a WireGuard port: the pair, then the message. */
static void udp(const struct frame *f, const struct ip_view *ip)
{
	struct wg_analyser *a = f->a;
	const uint8_t *u;
	struct ep_key s, t;
	uint16_t sport, dport;
	size_t ulen, plen, avail;
	uint32_t h;
	enum wg_kind k;

	if (f->caplen < ip->l4 + 8) {
		cut(f, "UDP header");
		return;
	}
	u = f->d + ip->l4;
	sport = be16(u);
	dport = be16(u + 2);
	if (!on_port(a, sport, dport))
		return;
	key_make(&s, ip->ver, ip->saddr, sport);
	key_make(&t, ip->ver, ip->daddr, dport);
	/* Start loading the pair's hash slot and hot lines while the rest is decoded. */
	h = pair_hash(&s, &t);
	__builtin_prefetch(&a->pair_h[h % WG_MAX_PAIRS]);
	__builtin_prefetch(&a->hot[h % WG_MAX_PAIRS]);
	__builtin_prefetch((const char *)&a->hot[h % WG_MAX_PAIRS] + 64);
	a->t.packets++;
	if (!a->t.first_us)
		a->t.first_us = f->ts;
	a->t.last_us = f->ts;
	if (ip->first_frag)
		fragment(a, f->ts, &s, &t, 0, false);
	ulen = be16(u + 4);
	if (ulen < 8 || ip->iplen < 8) {
		on_message(a, WG_KIND_NON_WG, NULL, 0, 0, &s, &t, h, f->ts);
		return;
	}
	/* The datagram's length: UDP's, bounded by what the IP header and the wire carried,
	 * except in a first fragment, which holds only the start of it. */
	plen = ulen - 8;
	avail = f->caplen - ip->l4 - 8;
	if (avail > ip->iplen - 8)
		avail = ip->iplen - 8;
	if (!ip->first_frag) {
		if (plen > ip->iplen - 8)
			plen = ip->iplen - 8;
		if (ip->l4 + 8 + plen > f->wirelen) /* the headers claim more than the wire carried */
			plen = f->wirelen - ip->l4 - 8;
	}
	if (avail > plen)
		avail = plen;
	k = wg_classify(u + 8, avail, plen);
	if (k == WG_KIND_TRUNCATED) {
		a->t.packets--; /* truncated() counts it */
		cut(f, "WireGuard header");
		return;
	}
	on_message(a, k, u + 8, plen, avail, &s, &t, h, f->ts);
}

void wg_analyser_frame(struct wg_analyser *a, int dlt, int64_t ts, const uint8_t *d,
		       uint32_t caplen, uint32_t wirelen)
{
	struct frame f = { a, ts, d, caplen, wirelen < caplen ? caplen : wirelen };
	struct ip_view ip = { 0 };
	size_t off = 0;
	int ver;

	a->seq++;
	a->t.frames++;
	if (!link_layer(&f, dlt, &off, &ver))
		return;
	if (ver == 4 ? ipv4(&f, off, &ip) : ver == 6 ? ipv6(&f, off, &ip) : false)
		udp(&f, &ip);
}

