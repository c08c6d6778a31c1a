/* test_wireguard.c — the WireGuard decoder, analyser, offline probe and rules.
 *
 * Every capture file here is made at run time: frames are built byte by byte from the
 * formats (WireGuard whitepaper 5.4, RFC 791/8200/768, pcap-linktype(7)) and written with
 * libpcap's own pcap_open_dead() + pcap_dump(), into a temporary directory.  The one
 * pcapng file is written by a 40-line writer below (draft-ietf-opsawg-pcapng: SHB, IDB,
 * EPB), because libpcap 1.10 cannot write pcapng.  No network is touched; the permission
 * test drops CAP_NET_RAW and asks for a capture on lo, which fails before any packet.
 *
 * Tailscale is a FIXTURE here: the wg.ts_* facts are recorded from `tailscale status
 * --json` output in the real format (fixtures/tailscale/status-peer-paths.json: a peer on
 * each path), as the probe would get it from the CLI after a live capture. */
#include "core/facts.h"
#include "probes/probe.h"
#include "probes/tailscale.h"
#include "probes/wireguard.h"
#include "rules/engine.h"
#include "tests/support/fact_spec.h"
#include "tests/support/fixture.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <linux/capability.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

extern const struct md_probe probe_wireguard;

/* ------------------------------------------------------------------------------------ */
/* Temporary directory                                                                  */
/* ------------------------------------------------------------------------------------ */

static char tmpdir[64];
static int n_files;

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/md-wg-unit-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp");
	n_files = 0;
}

static void teardown(void)
{
	char path[128];

	for (int i = 0; i < n_files; i++) {
		snprintf(path, sizeof(path), "%s/%d.pcap", tmpdir, i);
		unlink(path);
	}
	rmdir(tmpdir);
}

TestSuite(wireguard, .init = setup, .fini = teardown, .timeout = 30);

/* ------------------------------------------------------------------------------------ */
/* WireGuard messages                                                                   */
/* ------------------------------------------------------------------------------------ */

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static size_t wg_msg(uint8_t *o, int type, size_t len, uint32_t a, uint32_t b)
{
	/* Body bytes are arbitrary (ciphertext); fill them so nothing depends on zeros. */
	for (size_t i = 0; i < len; i++)
		o[i] = (uint8_t)(0xa5 ^ i);
	o[0] = (uint8_t)type;
	o[1] = o[2] = o[3] = 0;
	if (len >= 8)
		put_le32(o + 4, a);
	if (len >= 12 && type == 2)
		put_le32(o + 8, b);
	return len;
}

static size_t wg_init(uint8_t *o, uint32_t sender) { return wg_msg(o, 1, 148, sender, 0); }
static size_t wg_resp(uint8_t *o, uint32_t sender, uint32_t recv)
{
	return wg_msg(o, 2, 92, sender, recv);
}
static size_t wg_cookie(uint8_t *o, uint32_t recv) { return wg_msg(o, 3, 64, recv, 0); }
static size_t wg_data(uint8_t *o, uint32_t recv, size_t inner)
{
	return wg_msg(o, 4, 32 + (inner + 15) / 16 * 16, recv, 0);
}
static const uint8_t disco_magic[6] = { 0x54, 0x53, 0xf0, 0x9f, 0x92, 0xac };

/* ------------------------------------------------------------------------------------ */
/* Frames                                                                               */
/* ------------------------------------------------------------------------------------ */

struct pkt {
	const char *src, *dst;  /* IPv4 or IPv6 literal */
	uint16_t sport, dport;
	const uint8_t *payload;
	size_t plen;
	int vlan_tags;          /* Ethernet / SLL: 802.1ad + 802.1Q tags */
	int v6_ext;             /* IPv6: hop-by-hop, then destination options headers */
	int frag;               /* 1 first fragment, 2 later fragment, 3 IPv6 atomic fragment */
	uint32_t null_family;   /* DLT_NULL / DLT_LOOP family value (default 2 / 10) */
};

static void be16w(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* IP + UDP datagram for p into o; returns its length. */
static size_t build_ip(uint8_t *o, const struct pkt *p, int *ver)
{
	struct in_addr s4, d4;
	struct in6_addr s6, d6;
	size_t n, udp_len = 8 + p->plen;
	uint8_t *u;

	if (inet_pton(AF_INET, p->src, &s4) == 1) {
		cr_assert_eq(inet_pton(AF_INET, p->dst, &d4), 1);
		*ver = 4;
		memset(o, 0, 20);
		o[0] = 0x45;
		be16w(o + 2, (uint16_t)(20 + udp_len));
		o[8] = 64;
		o[9] = 17;
		if (p->frag == 1)
			be16w(o + 6, 0x2000);          /* MF, offset 0 */
		else if (p->frag == 2)
			be16w(o + 6, 185);             /* offset 185*8, last fragment */
		memcpy(o + 12, &s4, 4);
		memcpy(o + 16, &d4, 4);
		n = 20;
		if (p->frag == 2) {                    /* a later fragment: no UDP header */
			memcpy(o + n, p->payload, p->plen);
			be16w(o + 2, (uint16_t)(20 + p->plen));
			return n + p->plen;
		}
	} else {
		size_t ext = 0;

		cr_assert_eq(inet_pton(AF_INET6, p->src, &s6), 1, "address %s", p->src);
		cr_assert_eq(inet_pton(AF_INET6, p->dst, &d6), 1);
		*ver = 6;
		memset(o, 0, 40);
		o[0] = 0x60;
		o[7] = 64;
		memcpy(o + 8, &s6, 16);
		memcpy(o + 24, &d6, 16);
		n = 40;
		uint8_t *nh = o + 6;
		for (int i = 0; i < p->v6_ext; i++) {
			/* Hop-by-hop (0) first, destination options (60) after: 16 bytes each,
			 * PadN filled. */
			*nh = i == 0 ? 0 : 60;
			memset(o + n, 0, 16);
			o[n + 1] = 1;       /* (1 + 1) * 8 = 16 bytes */
			o[n + 2] = 1;       /* PadN */
			o[n + 3] = 12;
			nh = o + n;
			n += 16;
			ext += 16;
		}
		if (p->frag) {
			*nh = 44;
			memset(o + n, 0, 8);
			if (p->frag == 1)
				be16w(o + n + 2, 0x0001);               /* M */
			else if (p->frag == 2)
				be16w(o + n + 2, (uint16_t)(185 << 3)); /* offset, last */
			/* frag == 3: offset 0, M 0: an atomic fragment, the datagram is whole */
			nh = o + n;
			n += 8;
			ext += 8;
		}
		*nh = 17;
		be16w(o + 4, (uint16_t)(ext + udp_len));
		if (p->frag == 2) {
			memcpy(o + n, p->payload, p->plen);
			be16w(o + 4, (uint16_t)(ext + p->plen));
			return n + p->plen;
		}
	}
	u = o + n;
	be16w(u, p->sport);
	be16w(u + 2, p->dport);
	be16w(u + 4, (uint16_t)udp_len);
	be16w(u + 6, 0);
	memcpy(u + 8, p->payload, p->plen);
	return n + udp_len;
}

/* A whole frame of link type dlt; returns its length. */
static size_t build(uint8_t *o, int dlt, const struct pkt *p)
{
	uint8_t ip[2048];
	int ver = 0;
	size_t iplen = build_ip(ip, p, &ver), n = 0;
	uint16_t etype = ver == 4 ? 0x0800 : 0x86dd;
	uint32_t fam;

	switch (dlt) {
	case DLT_EN10MB:
		memcpy(o, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
		n = 12;
		for (int i = 0; i < p->vlan_tags; i++) {
			be16w(o + n, i == 0 && p->vlan_tags > 1 ? 0x88a8 : 0x8100);
			be16w(o + n + 2, (uint16_t)(100 + i));
			n += 4;
		}
		be16w(o + n, etype);
		n += 2;
		break;
	case DLT_LINUX_SLL:
		memset(o, 0, 16);
		be16w(o + 2, 1);  /* ARPHRD_ETHER */
		be16w(o + 4, 6);
		be16w(o + 14, p->vlan_tags ? 0x8100 : etype);
		n = 16;
		for (int i = 0; i < p->vlan_tags; i++) {
			be16w(o + n, (uint16_t)(100 + i));
			be16w(o + n + 2, i + 1 < p->vlan_tags ? 0x8100 : etype);
			n += 4;
		}
		break;
	case DLT_LINUX_SLL2:
		memset(o, 0, 20);
		be16w(o, etype);
		o[7] = 3;         /* ifindex */
		be16w(o + 8, 1);
		o[11] = 6;
		n = 20;
		break;
	case DLT_NULL:
		fam = p->null_family ? p->null_family : (ver == 4 ? 2 : 10);
		memcpy(o, &fam, 4); /* host byte order, as the capturing machine wrote it */
		n = 4;
		break;
	case DLT_LOOP:
		fam = p->null_family ? p->null_family : (ver == 4 ? 2 : 10);
		o[0] = (uint8_t)(fam >> 24);
		o[1] = (uint8_t)(fam >> 16);
		o[2] = (uint8_t)(fam >> 8);
		o[3] = (uint8_t)fam;
		n = 4;
		break;
	default: /* DLT_RAW, DLT_IPV4, DLT_IPV6 */
		break;
	}
	memcpy(o + n, ip, iplen);
	return n + iplen;
}

/* ------------------------------------------------------------------------------------ */
/* Capture files                                                                        */
/* ------------------------------------------------------------------------------------ */

struct cap {
	pcap_t *dead;
	pcap_dumper_t *d;
	char path[128];
	int dlt;
};

static void cap_open(struct cap *c, int dlt)
{
	c->dlt = dlt;
	snprintf(c->path, sizeof(c->path), "%s/%d.pcap", tmpdir, n_files++);
	c->dead = pcap_open_dead(dlt, 65535);
	cr_assert_not_null(c->dead);
	c->d = pcap_dump_open(c->dead, c->path);
	cr_assert_not_null(c->d, "pcap_dump_open %s: %s", c->path, pcap_geterr(c->dead));
}

/* Writes the frame for p at time ms (since a fixed epoch); caplen 0 = whole frame. */
static void cap_put(struct cap *c, double ms, const struct pkt *p, size_t caplen)
{
	uint8_t frame[2100];
	size_t len = build(frame, c->dlt, p);
	struct pcap_pkthdr h = { 0 };
	int64_t us = 1700000000000000ll + (int64_t)(ms * 1000);

	h.ts.tv_sec = us / 1000000;
	h.ts.tv_usec = us % 1000000;
	h.len = (bpf_u_int32)len;
	h.caplen = (bpf_u_int32)(caplen && caplen < len ? caplen : len);
	pcap_dump((u_char *)c->d, &h, frame);
}

static const char *cap_close(struct cap *c)
{
	pcap_dump_close(c->d);
	pcap_close(c->dead);
	return c->path;
}

static struct wg_analyser *new_analyser(const char *target)
{
	struct wg_analyser *a = wg_analyser_new();
	struct sockaddr_storage ss = { 0 };

	cr_assert_not_null(a);
	wg_analyser_add_port(a, WG_PORT_TAILSCALE);
	wg_analyser_add_port(a, WG_PORT_WIREGUARD);
	if (target) {
		if (inet_pton(AF_INET, target, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
			ss.ss_family = AF_INET;
		else if (inet_pton(AF_INET6, target, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
			ss.ss_family = AF_INET6;
		cr_assert_eq(wg_analyser_add_target(a, (struct sockaddr *)&ss), MD_OK);
	}
	return a;
}

static struct wg_analyser *analyse(const char *path, const char *target)
{
	struct wg_analyser *a = new_analyser(target);
	struct md_err err = { 0 };
	struct md_deadline dl = { 0 };
	uint64_t n;
	int rc = wg_read_pcap(a, path, &dl, &n, NULL, &err);

	cr_assert_eq(rc, MD_OK, "wg_read_pcap %s: %s", path, err.msg);
	return a;
}

/* The conversation most tests use: A (local side) initiates to B, B answers after
 * 1.5 ms, then data both ways and a keepalive. */
static const char *A4 = "10.79.0.1", *B4 = "10.79.0.2";
static const char *A6 = "fd00:79::1", *B6 = "fd00:79::2";

static void put_healthy(struct cap *c, const char *a, const char *b, int vlan, int v6_ext)
{
	uint8_t m[256];
	struct pkt p = { .vlan_tags = vlan, .v6_ext = v6_ext, .payload = m };
	struct pkt q = p;

	p.src = a, p.dst = b, p.sport = 51821, p.dport = 51820;
	q.src = b, q.dst = a, q.sport = 51820, q.dport = 51821;
	p.plen = wg_init(m, 0x11111111);
	cap_put(c, 0, &p, 0);
	q.plen = wg_resp(m, 0x22222222, 0x11111111);
	cap_put(c, 1.5, &q, 0);
	p.plen = wg_data(m, 0x22222222, 84);  /* confirms the session */
	cap_put(c, 2, &p, 0);
	q.plen = wg_data(m, 0x11111111, 84);
	cap_put(c, 3, &q, 0);
	p.plen = wg_data(m, 0x22222222, 84);
	cap_put(c, 1000, &p, 0);
	q.plen = wg_data(m, 0x11111111, 84);
	cap_put(c, 1001, &q, 0);
	p.plen = wg_data(m, 0x22222222, 0);   /* keepalive */
	cap_put(c, 2000, &p, 0);
}

static void assert_healthy(const struct wg_analyser *a, const char *what)
{
	const struct wg_totals *t = wg_analyser_totals(a);
	double rtt = 0;

	cr_assert_eq(t->packets, 7, "%s: packets %llu", what, (unsigned long long)t->packets);
	cr_assert_eq(t->messages, 7, "%s: messages", what);
	cr_assert_eq(t->initiations_tx, 1, "%s: initiations_tx %llu", what,
		     (unsigned long long)t->initiations_tx);
	cr_assert_eq(t->responses_rx, 1, "%s: responses_rx", what);
	cr_assert_eq(t->data_tx_packets, 2, "%s: data_tx", what);
	cr_assert_eq(t->data_rx_packets, 2, "%s: data_rx", what);
	cr_assert_eq(t->data_tx_bytes, 2 * 128, "%s: data_tx_bytes %llu", what,
		     (unsigned long long)t->data_tx_bytes);
	cr_assert_eq(t->keepalives, 1, "%s: keepalives", what);
	cr_assert_eq(t->handshakes_completed, 1, "%s: completed", what);
	cr_assert_eq(t->handshakes_confirmed, 1, "%s: confirmed", what);
	cr_assert_eq(t->max_init_burst, 1, "%s: burst", what);
	cr_assert_eq(t->endpoints, 1, "%s: endpoints", what);
	cr_assert_eq(t->truncated + t->fragments + t->non_wg + t->disco, 0, "%s: extras", what);
	cr_assert(wg_analyser_rtt_median_ms(a, &rtt), "%s: no RTT", what);
	cr_assert_float_eq(rtt, 1.5, 1e-6, "%s: rtt %f", what, rtt);
}

/* ------------------------------------------------------------------------------------ */
/* Classification                                                                       */
/* ------------------------------------------------------------------------------------ */

struct cls_case {
	int type;
	size_t len, avail;
	int reserved;       /* value for byte 2 */
	enum wg_kind want;
};

ParameterizedTestParameters(wireguard, classify)
{
	static struct cls_case cases[] = {
		{ 1, 148, 148, 0, WG_KIND_INIT },     { 1, 147, 147, 0, WG_KIND_BAD_SIZE },
		{ 1, 180, 180, 0, WG_KIND_BAD_SIZE }, { 2, 92, 92, 0, WG_KIND_RESP },
		{ 2, 93, 93, 0, WG_KIND_BAD_SIZE },   { 3, 64, 64, 0, WG_KIND_COOKIE },
		{ 3, 48, 48, 0, WG_KIND_BAD_SIZE },   { 4, 32, 32, 0, WG_KIND_KEEPALIVE },
		{ 4, 48, 48, 0, WG_KIND_DATA },       { 4, 31, 31, 0, WG_KIND_BAD_SIZE },
		{ 4, 1452, 64, 0, WG_KIND_DATA },     /* snaplen cut the body: still fine */
		{ 1, 148, 148, 7, WG_KIND_NON_WG },   /* reserved byte set */
		{ 5, 148, 148, 0, WG_KIND_NON_WG },   { 0, 148, 148, 0, WG_KIND_NON_WG },
		{ 1, 148, 3, 0, WG_KIND_TRUNCATED },  { 2, 92, 10, 0, WG_KIND_TRUNCATED },
		{ 4, 100, 7, 0, WG_KIND_TRUNCATED },  { 1, 3, 3, 0, WG_KIND_NON_WG },
		{ 1, 148, 0, 0, WG_KIND_TRUNCATED },
	};
	return cr_make_param_array(struct cls_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct cls_case *c, wireguard, classify)
{
	uint8_t m[2000];

	wg_msg(m, c->type, c->len < sizeof(m) ? c->len : sizeof(m), 1, 2);
	if (c->len >= 3)
		m[2] = (uint8_t)c->reserved;
	/* Copy exactly avail bytes into a heap buffer so ASan catches an over-read. */
	uint8_t *p = malloc(c->avail ? c->avail : 1);
	memcpy(p, m, c->avail);
	enum wg_kind k = wg_classify(p, c->avail, c->len);
	free(p);
	cr_assert_eq(k, c->want, "type %d len %zu avail %zu reserved %d: got %s, want %s", c->type,
		     c->len, c->avail, c->reserved, wg_kind_name(k), wg_kind_name(c->want));
}

Test(wireguard, classify_disco_and_other)
{
	uint8_t m[80] = { 0 };

	memcpy(m, disco_magic, 6);
	cr_assert_eq(wg_classify(m, 80, 80), WG_KIND_DISCO);
	cr_assert_eq(wg_classify(m, 4, 80), WG_KIND_TRUNCATED, "disco magic cut short");
	m[5] = 0;
	cr_assert_eq(wg_classify(m, 80, 80), WG_KIND_NON_WG, "almost disco");
	cr_assert_eq(wg_classify((const uint8_t *)"hello world", 11, 11), WG_KIND_NON_WG);
	cr_assert_eq(wg_classify(NULL, 0, 0), WG_KIND_NON_WG, "empty datagram");
}

/* ------------------------------------------------------------------------------------ */
/* Link types                                                                           */
/* ------------------------------------------------------------------------------------ */

struct link_case {
	int dlt;
	int v6;
	uint32_t null_family;
};

ParameterizedTestParameters(wireguard, link_types)
{
	static struct link_case cases[] = {
		{ DLT_EN10MB, 0, 0 },     { DLT_EN10MB, 1, 0 },     { DLT_LINUX_SLL, 0, 0 },
		{ DLT_LINUX_SLL, 1, 0 },  { DLT_LINUX_SLL2, 0, 0 }, { DLT_LINUX_SLL2, 1, 0 },
		{ DLT_RAW, 0, 0 },        { DLT_RAW, 1, 0 },        { DLT_IPV4, 0, 0 },
		{ DLT_IPV6, 1, 0 },       { DLT_NULL, 0, 0 },       { DLT_NULL, 1, 0 },
		{ DLT_NULL, 1, 30 },      /* macOS writes AF_INET6 = 30 */
		{ DLT_LOOP, 0, 0 },       { DLT_LOOP, 1, 24 },      /* OpenBSD AF_INET6 = 24 */
	};
	return cr_make_param_array(struct link_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct link_case *lc, wireguard, link_types)
{
	struct cap c;
	uint8_t m[256];
	const char *a = lc->v6 ? A6 : A4, *b = lc->v6 ? B6 : B4;
	char what[64];
	struct wg_analyser *an;

	cap_open(&c, lc->dlt);
	if (lc->null_family) {
		/* Same conversation, with the family value of another OS. */
		struct pkt p = { .src = a, .dst = b, .sport = 51821, .dport = 51820,
				 .payload = m, .null_family = lc->null_family };
		struct pkt q = p;

		q.src = b, q.dst = a, q.sport = 51820, q.dport = 51821;
		p.plen = wg_init(m, 0x11111111);
		cap_put(&c, 0, &p, 0);
		q.plen = wg_resp(m, 0x22222222, 0x11111111);
		cap_put(&c, 1.5, &q, 0);
		cap_close(&c);
		an = analyse(c.path, b);
		cr_assert_eq(wg_analyser_totals(an)->handshakes_completed, 1, "dlt %d family %u",
			     lc->dlt, lc->null_family);
		wg_analyser_free(an);
		return;
	}
	put_healthy(&c, a, b, 0, 0);
	cap_close(&c);
	snprintf(what, sizeof(what), "%s %s", pcap_datalink_val_to_name(lc->dlt),
		 lc->v6 ? "IPv6" : "IPv4");
	an = analyse(c.path, b);
	assert_healthy(an, what);
	wg_analyser_free(an);
}

Test(wireguard, vlan_tags_ethernet_and_sll)
{
	for (int tags = 1; tags <= 2; tags++) {
		struct cap c;
		struct wg_analyser *an;
		char what[64];

		cap_open(&c, DLT_EN10MB);
		put_healthy(&c, A4, B4, tags, 0);
		cap_close(&c);
		snprintf(what, sizeof(what), "Ethernet with %d VLAN tags", tags);
		an = analyse(c.path, B4);
		assert_healthy(an, what);
		wg_analyser_free(an);
	}
	struct cap c;
	cap_open(&c, DLT_LINUX_SLL);
	put_healthy(&c, A6, B6, 1, 0);
	cap_close(&c);
	struct wg_analyser *an = analyse(c.path, B6);
	assert_healthy(an, "SLL with a VLAN tag, IPv6");
	wg_analyser_free(an);
}

Test(wireguard, ipv6_extension_headers_are_skipped)
{
	struct cap c;
	struct wg_analyser *an;

	cap_open(&c, DLT_EN10MB);
	put_healthy(&c, A6, B6, 0, 2);
	cap_close(&c);
	an = analyse(c.path, B6);
	assert_healthy(an, "IPv6 with hop-by-hop and destination options");
	wg_analyser_free(an);
}

/* ------------------------------------------------------------------------------------ */
/* Fragments, truncation, other traffic                                                 */
/* ------------------------------------------------------------------------------------ */

Test(wireguard, fragments_are_counted_not_decoded)
{
	struct cap c;
	uint8_t m[1600];
	struct pkt p = { .src = A4, .dst = B4, .sport = 51821, .dport = 51820, .payload = m };
	struct wg_analyser *an;
	const struct wg_totals *t;

	cap_open(&c, DLT_EN10MB);
	p.plen = wg_data(m, 0x22222222, 1400);
	p.frag = 1;
	cap_put(&c, 0, &p, 0);               /* IPv4 first fragment (MF) */
	p.frag = 2;
	p.plen = 60;
	cap_put(&c, 0.1, &p, 0);             /* IPv4 later fragment */
	p.src = A6, p.dst = B6;
	p.frag = 1;
	p.plen = wg_data(m, 0x22222222, 1400);
	cap_put(&c, 0.2, &p, 0);             /* IPv6 first fragment */
	p.frag = 2;
	p.plen = 60;
	cap_put(&c, 0.3, &p, 0);             /* IPv6 later fragment */
	p.frag = 3;
	p.plen = wg_init(m, 7);
	cap_put(&c, 0.4, &p, 0);             /* IPv6 atomic fragment: whole, decoded */
	p.src = A4, p.dst = B4, p.sport = p.dport = 53, p.frag = 1;
	cap_put(&c, 0.5, &p, 0);             /* first fragment of other traffic: ignored */
	cap_close(&c);
	an = analyse(c.path, NULL);
	t = wg_analyser_totals(an);
	cr_assert_eq(t->fragments, 4, "fragments %llu", (unsigned long long)t->fragments);
	cr_assert_eq(t->initiations, 1, "the atomic fragment is a whole initiation");
	/* First fragments hold the WireGuard header: decoded, with UDP's length. */
	cr_assert_eq(t->data_tx_packets, 2, "data %llu", (unsigned long long)t->data_tx_packets);
	cr_assert_eq(t->data_tx_bytes, 2 * (32 + 1408));
	cr_assert_eq(t->packets, 5);
	cr_assert_not_null(wg_analyser_example(an, "wg.fragments"));
	wg_analyser_free(an);
}

Test(wireguard, truncated_frames_are_counted)
{
	struct cap c;
	uint8_t m[256];
	struct pkt p = { .src = A4, .dst = B4, .sport = 51821, .dport = 51820, .payload = m };
	struct wg_analyser *an;
	const struct wg_totals *t;

	cap_open(&c, DLT_EN10MB);
	p.plen = wg_init(m, 1);
	cap_put(&c, 0, &p, 10);       /* inside the Ethernet header */
	cap_put(&c, 1, &p, 14 + 12);  /* inside the IPv4 header */
	cap_put(&c, 2, &p, 14 + 24);  /* inside the UDP header */
	cap_put(&c, 3, &p, 14 + 28 + 2); /* 2 bytes of the WireGuard header */
	cap_put(&c, 4, &p, 14 + 28 + 8); /* enough: type, reserved, sender index */
	p.src = A6, p.dst = B6;
	cap_put(&c, 5, &p, 14 + 30);  /* inside the IPv6 header */
	cap_close(&c);
	an = analyse(c.path, NULL);
	t = wg_analyser_totals(an);
	cr_assert_eq(t->truncated, 5, "truncated %llu", (unsigned long long)t->truncated);
	cr_assert_eq(t->initiations, 1, "the frame with 8 WireGuard bytes decodes");
	cr_assert_eq(t->packets, 6);
	cr_assert_not_null(strstr(wg_analyser_example(an, "wg.truncated"), "10 of"),
			   "%s", wg_analyser_example(an, "wg.truncated"));
	wg_analyser_free(an);
}

/* Every prefix of every frame kind, fed from an exact-size heap buffer: with ASan
 * (make SAN=1) any read past caplen is caught. */
Test(wireguard, never_reads_past_caplen)
{
	static const int dlts[] = { DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
				    DLT_IPV4, DLT_IPV6, DLT_NULL, DLT_LOOP };
	uint8_t m[256], frame[2100];
	struct wg_analyser *an = new_analyser(NULL);

	for (size_t d = 0; d < sizeof(dlts) / sizeof(dlts[0]); d++)
		for (int v = 0; v < 6; v++) {
			struct pkt p = { .src = v & 1 ? A6 : A4, .dst = v & 1 ? B6 : B4,
					 .sport = 51820, .dport = 41641, .payload = m,
					 .vlan_tags = dlts[d] == DLT_EN10MB ? v / 2 : 0,
					 .v6_ext = v & 1 ? v / 2 : 0 };
			size_t len;

			p.plen = v < 2 ? wg_resp(m, 1, 2) : v < 4 ? wg_data(m, 3, 17) : wg_init(m, 9);
			len = build(frame, dlts[d], &p);
			for (size_t cut = 0; cut <= len; cut++) {
				uint8_t *b = malloc(cut ? cut : 1);

				memcpy(b, frame, cut);
				wg_analyser_frame(an, dlts[d], 1000, b, (uint32_t)cut, (uint32_t)len);
				free(b);
			}
		}
	cr_assert_gt(wg_analyser_totals(an)->truncated, 0);
	wg_analyser_free(an);
}

Test(wireguard, disco_and_non_wireguard_on_the_port)
{
	struct cap c;
	uint8_t m[256];
	struct pkt p = { .src = A4, .dst = B4, .sport = 41641, .dport = 41641, .payload = m };
	struct wg_analyser *an;
	const struct wg_totals *t;

	cap_open(&c, DLT_EN10MB);
	memset(m, 0x11, sizeof(m));
	memcpy(m, disco_magic, 6);
	p.plen = 6 + 32 + 24 + 40;       /* magic, disco key, nonce, sealed box */
	cap_put(&c, 0, &p, 0);
	cap_put(&c, 1, &p, 0);
	memcpy(m, "GET / HTTP/1.1\r\n", 16);
	p.plen = 16;
	cap_put(&c, 2, &p, 0);           /* something else on the port */
	p.plen = wg_msg(m, 1, 180, 5, 0); /* type 1, reserved zero, wrong size */
	cap_put(&c, 3, &p, 0);
	p.plen = wg_init(m, 5);
	p.sport = 5353, p.dport = 5353;  /* not a WireGuard port: ignored */
	cap_put(&c, 4, &p, 0);
	cap_close(&c);
	an = analyse(c.path, NULL);
	t = wg_analyser_totals(an);
	cr_assert_eq(t->disco, 2);
	cr_assert_eq(t->non_wg, 2);
	cr_assert_eq(t->bad_size, 1);
	cr_assert_eq(t->messages, 0);
	cr_assert_eq(t->packets, 4, "the frame on port 5353 is not counted");
	cr_assert_eq(t->frames, 5);
	cr_assert_not_null(strstr(wg_analyser_example(an, "wg.bad_size"), "180 bytes"));
	wg_analyser_free(an);
}

Test(wireguard, extra_port_from_the_option)
{
	struct wg_analyser *an = new_analyser(NULL);
	uint8_t m[256], frame[512];
	struct pkt p = { .src = A4, .dst = B4, .sport = 4000, .dport = 51999, .payload = m };
	size_t len;

	p.plen = wg_init(m, 1);
	len = build(frame, DLT_RAW, &p);
	wg_analyser_frame(an, DLT_RAW, 1, frame, (uint32_t)len, (uint32_t)len);
	cr_assert_eq(wg_analyser_totals(an)->packets, 0);
	wg_analyser_add_port(an, 51999);
	wg_analyser_frame(an, DLT_RAW, 2, frame, (uint32_t)len, (uint32_t)len);
	cr_assert_eq(wg_analyser_totals(an)->initiations, 1);
	wg_analyser_free(an);
}

/* ------------------------------------------------------------------------------------ */
/* Pairing, RTT, bursts, roaming, direction                                             */
/* ------------------------------------------------------------------------------------ */

/* Feeds one WireGuard message straight to the analyser (raw IPv4). */
static void feed(struct wg_analyser *an, double ms, const char *src, uint16_t sport,
		 const char *dst, uint16_t dport, const uint8_t *m, size_t mlen)
{
	uint8_t frame[2100];
	struct pkt p = { .src = src, .dst = dst, .sport = sport, .dport = dport, .payload = m,
			 .plen = mlen };
	size_t len = build(frame, DLT_RAW, &p);

	wg_analyser_frame(an, DLT_RAW, 1700000000000000ll + (int64_t)(ms * 1000), frame,
			  (uint32_t)len, (uint32_t)len);
}

Test(wireguard, pairs_responses_with_initiations_by_index)
{
	struct wg_analyser *an = new_analyser(B4);
	uint8_t m[256];
	double med = 0;
	const struct wg_totals *t;

	/* Three interleaved handshakes answered out of order: RTTs 3, 1 and 2 ms. */
	feed(an, 0, A4, 51821, B4, 51820, m, wg_init(m, 0xa1));
	feed(an, 1, A4, 51821, B4, 51820, m, wg_init(m, 0xa2));
	feed(an, 2, A4, 51821, B4, 51820, m, wg_init(m, 0xa3));
	feed(an, 2, B4, 51820, A4, 51821, m, wg_resp(m, 0xb2, 0xa2));
	feed(an, 3, B4, 51820, A4, 51821, m, wg_resp(m, 0xb1, 0xa1));
	feed(an, 4, B4, 51820, A4, 51821, m, wg_resp(m, 0xb3, 0xa3));
	/* A duplicate response and one for an initiation before the capture: no RTT. */
	feed(an, 5, B4, 51820, A4, 51821, m, wg_resp(m, 0xb4, 0xa3));
	feed(an, 6, B4, 51820, A4, 51821, m, wg_resp(m, 0xb5, 0xdead));
	t = wg_analyser_totals(an);
	cr_assert_eq(t->responses, 5);
	cr_assert_eq(t->handshakes_completed, 3);
	cr_assert(wg_analyser_rtt_median_ms(an, &med));
	cr_assert_float_eq(med, 2.0, 1e-9, "median %f", med);
	/* Little-endian indices: 0x000000a1 is a1 00 00 00 on the wire. */
	cr_assert_not_null(strstr(wg_analyser_example(an, "wg.initiations"), "0x000000a1"));
	wg_analyser_free(an);
}

Test(wireguard, unanswered_initiations_make_a_burst)
{
	struct wg_analyser *an = new_analyser(B4);
	uint8_t m[256];
	const struct wg_totals *t;

	for (int i = 0; i < 4; i++) /* WireGuard retries every 5 s */
		feed(an, i * 5000.0, A4, 51821, B4, 51820, m, wg_init(m, 0x100 + (uint32_t)i));
	t = wg_analyser_totals(an);
	cr_assert_eq(t->initiations_tx, 4);
	cr_assert_eq(t->responses_rx, 0);
	cr_assert_eq(t->max_init_burst, 4);
	cr_assert_not_null(strstr(wg_analyser_example(an, "wg.max_init_burst"), "4 initiations"));
	/* A handshake that completes and is confirmed ends the burst. */
	feed(an, 20000, A4, 51821, B4, 51820, m, wg_init(m, 0x200));
	feed(an, 20001, B4, 51820, A4, 51821, m, wg_resp(m, 0x300, 0x200));
	feed(an, 20002, A4, 51821, B4, 51820, m, wg_data(m, 0x300, 0));
	feed(an, 30000, A4, 51821, B4, 51820, m, wg_init(m, 0x201));
	t = wg_analyser_totals(an);
	cr_assert_eq(t->max_init_burst, 5, "5 in a row before the confirmation");
	cr_assert_eq(t->handshakes_confirmed, 1);
	struct wg_pair rows[4];
	cr_assert_eq(wg_analyser_pairs(an, rows, 4), 1);
	cr_assert_eq(rows[0].burst_tx, 1, "a new burst started after the confirmation");
	wg_analyser_free(an);
}

Test(wireguard, answered_but_never_confirmed_is_still_a_burst)
{
	/* Responses come back but the initiator never sends data with them (e.g. a
	 * preshared-key mismatch): the handshakes "complete" by index, not in fact. */
	struct wg_analyser *an = new_analyser(B4);
	uint8_t m[256];

	for (uint32_t i = 0; i < 3; i++) {
		feed(an, i * 5000.0, A4, 51821, B4, 51820, m, wg_init(m, 0x10 + i));
		feed(an, i * 5000.0 + 1, B4, 51820, A4, 51821, m, wg_resp(m, 0x20 + i, 0x10 + i));
	}
	cr_assert_eq(wg_analyser_totals(an)->handshakes_completed, 3);
	cr_assert_eq(wg_analyser_totals(an)->handshakes_confirmed, 0);
	cr_assert_eq(wg_analyser_totals(an)->max_init_burst, 3);
	wg_analyser_free(an);
}

/* Transport messages that repeat a pair's last receiver index skip the index table; a
 * re-key (new indices) on the same pair must still be seen and confirmed. */
Test(wireguard, rekey_on_the_same_pair_is_confirmed_again)
{
	struct wg_analyser *an = new_analyser(B4);
	uint8_t m[256];
	const struct wg_totals *t;

	for (uint32_t k = 0; k < 3; k++) {
		double t0 = k * 120000.0;

		feed(an, t0, A4, 51821, B4, 51820, m, wg_init(m, 0x100 + k));
		feed(an, t0 + 1, B4, 51820, A4, 51821, m, wg_resp(m, 0x200 + k, 0x100 + k));
		for (int i = 0; i < 5; i++) {
			feed(an, t0 + 2 + i, A4, 51821, B4, 51820, m, wg_data(m, 0x200 + k, 100));
			feed(an, t0 + 3 + i, B4, 51820, A4, 51821, m, wg_data(m, 0x100 + k, 100));
		}
	}
	t = wg_analyser_totals(an);
	cr_assert_eq(t->handshakes_completed, 3);
	cr_assert_eq(t->handshakes_confirmed, 3);
	cr_assert_eq(t->max_init_burst, 1);
	cr_assert_eq(t->data_tx_packets, 15);
	cr_assert_eq(t->data_rx_packets, 15);
	cr_assert_eq(t->endpoint_changes, 0);
	wg_analyser_free(an);
}

Test(wireguard, cookie_replies_by_direction)
{
	struct wg_analyser *an = new_analyser(B4);
	uint8_t m[256];
	const struct wg_totals *t;

	feed(an, 0, A4, 51821, B4, 51820, m, wg_init(m, 0x1));
	feed(an, 1, B4, 51820, A4, 51821, m, wg_cookie(m, 0x1));
	feed(an, 2, B4, 51820, A4, 51821, m, wg_init(m, 0x2));
	feed(an, 3, A4, 51821, B4, 51820, m, wg_cookie(m, 0x2));
	t = wg_analyser_totals(an);
	cr_assert_eq(t->cookie_replies, 2);
	cr_assert_eq(t->cookie_replies_rx, 1);
	cr_assert_eq(t->cookie_replies_tx, 1);
	cr_assert_eq(t->handshakes_completed, 0);
	wg_analyser_free(an);
}

Test(wireguard, roaming_peer_is_an_endpoint_change)
{
	struct wg_analyser *an = new_analyser(NULL);
	uint8_t m[256];
	const struct wg_totals *t;
	struct wg_pair rows[8];

	feed(an, 0, A4, 51820, B4, 51820, m, wg_init(m, 0xa));
	feed(an, 1, B4, 51820, A4, 51820, m, wg_resp(m, 0xb, 0xa));
	feed(an, 2, A4, 51820, B4, 51820, m, wg_data(m, 0xb, 64));
	feed(an, 3, B4, 51820, A4, 51820, m, wg_data(m, 0xa, 64));
	/* B's NAT mapping changes: same receiver index, new source ip:port. */
	feed(an, 1000, "198.51.100.7", 40000, A4, 51820, m, wg_data(m, 0xa, 64));
	feed(an, 1001, "198.51.100.7", 40000, A4, 51820, m, wg_data(m, 0xa, 64));
	feed(an, 1002, A4, 51820, "198.51.100.7", 40000, m, wg_data(m, 0xb, 64));
	t = wg_analyser_totals(an);
	cr_assert_eq(t->endpoint_changes, 1, "changes %llu", (unsigned long long)t->endpoint_changes);
	cr_assert_eq(t->endpoints, 2);
	cr_assert_eq(wg_analyser_pairs(an, rows, 8), 2);
	cr_assert_eq(rows[1].endpoint_changes, 1, "the change lands on the new pair");
	cr_assert_eq(rows[1].data_rx_packets + rows[1].data_tx_packets, 3);
	cr_assert_not_null(strstr(wg_analyser_example(an, "wg.endpoint_changes"),
				  "earlier from 10.79.0.2:51820"),
			   "%s", wg_analyser_example(an, "wg.endpoint_changes"));
	wg_analyser_free(an);
}

Test(wireguard, direction_from_local_address_target_or_initiator)
{
	uint8_t m[256];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct wg_pair rows[2];
	struct wg_analyser *an;

	/* Local address wins: B's address is ours, so B's packets are tx. */
	an = new_analyser(B4);
	inet_pton(AF_INET, B4, &sa.sin_addr);
	wg_analyser_add_local(an, (struct sockaddr *)&sa);
	feed(an, 0, A4, 51820, B4, 51820, m, wg_init(m, 1));
	cr_assert_eq(wg_analyser_totals(an)->initiations_rx, 1);
	wg_analyser_pairs(an, rows, 2);
	cr_assert_eq(rows[0].basis, WG_BASIS_LOCAL_ADDRESS);
	wg_analyser_free(an);

	/* Target: the side that is not the target is local. */
	an = new_analyser(A4);
	feed(an, 0, A4, 51820, B4, 51820, m, wg_init(m, 1));
	cr_assert_eq(wg_analyser_totals(an)->initiations_rx, 1);
	wg_analyser_pairs(an, rows, 2);
	cr_assert_eq(rows[0].basis, WG_BASIS_TARGET);
	wg_analyser_free(an);

	/* Neither: the initiator is local, even when the response is seen first. */
	an = new_analyser(NULL);
	feed(an, 0, B4, 51820, A4, 51820, m, wg_resp(m, 2, 1));
	feed(an, 1, A4, 51820, B4, 51820, m, wg_init(m, 3));
	cr_assert_eq(wg_analyser_totals(an)->responses_rx, 1);
	cr_assert_eq(wg_analyser_totals(an)->initiations_tx, 1);
	wg_analyser_pairs(an, rows, 2);
	cr_assert_eq(rows[0].basis, WG_BASIS_FIRST_SEEN);
	wg_analyser_free(an);
}

Test(wireguard, memory_is_bounded)
{
	struct wg_analyser *an = new_analyser(NULL);
	uint8_t m[256];
	char src[32];
	const struct wg_totals *t;
	static struct wg_pair rows[WG_MAX_PAIRS + 1];

	/* 20000 endpoint pairs and 20000 indices: the tables keep their size. */
	for (int i = 0; i < 20000; i++) {
		snprintf(src, sizeof(src), "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
		feed(an, i, src, 51820, B4, 51820, m, wg_init(m, (uint32_t)i * 2654435761u));
	}
	t = wg_analyser_totals(an);
	cr_assert_eq(t->endpoints, 20000);
	cr_assert_geq(t->endpoints_evicted, 20000 - WG_MAX_PAIRS);
	cr_assert_geq(t->indices_evicted, 20000 - WG_MAX_INDICES);
	cr_assert_leq(wg_analyser_pairs(an, rows, WG_MAX_PAIRS + 1), WG_MAX_PAIRS);
	/* A recent initiation is still found for pairing after all that churn. */
	feed(an, 30000, B4, 51820, "10.0.78.31", 51820, m, wg_resp(m, 77, 19999u * 2654435761u));
	cr_assert_eq(wg_analyser_totals(an)->handshakes_completed, 1);
	wg_analyser_free(an);
}

/* Random mutations of valid frames of every link type, in exact-size buffers. */
Test(wireguard, fuzz_frames)
{
	static const int dlts[] = { DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
				    DLT_IPV4, DLT_IPV6, DLT_NULL, DLT_LOOP };
	struct wg_analyser *an = new_analyser(NULL);
	uint8_t m[256], frame[2100];
	uint64_t s = 0x1234567u;

	for (int it = 0; it < 200000; it++) {
		int dlt = dlts[it % 8];
		struct pkt p = { .src = it & 1 ? A6 : A4, .dst = it & 1 ? B6 : B4, .sport = 51820,
				 .dport = 51820, .payload = m, .v6_ext = (it >> 1) % 3,
				 .vlan_tags = (it >> 3) % 3, .frag = (it >> 5) % 7 == 0 };
		size_t len, cut;
		uint8_t *b;

		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		switch (s % 4) {
		case 0: p.plen = wg_init(m, (uint32_t)s); break;
		case 1: p.plen = wg_resp(m, (uint32_t)s, (uint32_t)(s >> 32)); break;
		case 2: p.plen = wg_data(m, (uint32_t)(s >> 8), s % 200); break;
		default: p.plen = wg_cookie(m, (uint32_t)s); break;
		}
		len = build(frame, dlt, &p);
		for (int k = 0; k < 1 + (int)(s >> 40) % 4; k++) { /* flip a few bytes */
			s ^= s << 13, s ^= s >> 7, s ^= s << 17;
			frame[s % len] = (uint8_t)(s >> 24);
		}
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		cut = s % 3 == 0 ? (size_t)(s >> 20) % (len + 1) : len;
		b = malloc(cut ? cut : 1);
		memcpy(b, frame, cut);
		wg_analyser_frame(an, dlt, it, b, (uint32_t)cut, (uint32_t)(s % 5 ? len : s % 4000));
		free(b);
	}
	cr_assert_eq(wg_analyser_totals(an)->frames, 200000);
	wg_analyser_free(an);
}

/* ------------------------------------------------------------------------------------ */
/* The probe, offline                                                                   */
/* ------------------------------------------------------------------------------------ */

struct probe_run {
	struct md_target target;
	struct md_options opt;
	struct md_ctx ctx;
	struct md_facts facts;
	struct md_err err;
	int rc;
};

static void run_probe(struct probe_run *r, const char *target, const char *pcap_file,
		      const char *iface)
{
	memset(r, 0, sizeof(*r));
	r->target.spec = r->target.host = r->target.hostname = (char *)target;
	r->opt.pcap_file = pcap_file;
	r->opt.iface = iface;
	r->opt.capture_seconds = 1;
	r->ctx.target = &r->target;
	r->ctx.opt = &r->opt;
	r->ctx.deadline = md_deadline_after(md_now_ms(), 10000);
	md_facts_init(&r->facts);
	r->rc = probe_wireguard.run(&r->ctx, &r->facts, &r->err);
}

static int64_t fact_int(const struct md_facts *f, const char *name)
{
	const struct md_fact *x = md_facts_get(f, name);

	cr_assert_not_null(x, "fact %s missing", name);
	cr_assert_eq(x->type, MD_FACT_INT, "fact %s type", name);
	return x->num;
}

Test(wireguard, probe_offline_records_facts_and_table)
{
	struct cap c;
	struct probe_run r;
	const struct md_fact *x;
	cJSON *tab, *row;
	char want[160];

	cap_open(&c, DLT_LINUX_SLL);
	put_healthy(&c, A4, B4, 0, 0);
	cap_close(&c);
	run_probe(&r, B4, c.path, NULL);
	cr_assert_eq(r.rc, MD_OK, "run: %s", r.err.msg);
	snprintf(want, sizeof(want), "pcap:%s", c.path);
	cr_assert_str_eq(md_facts_str(&r.facts, "wg.source"), want);
	cr_assert_str_eq(md_facts_str(&r.facts, "wg.capture"), "ok");
	cr_assert_str_eq(md_facts_str(&r.facts, "wg.link_type"), "LINUX_SLL");
	cr_assert_str_eq(md_facts_str(&r.facts, "wg.direction_basis"), "target");
	cr_assert_eq(fact_int(&r.facts, "wg.packets"), 7);
	cr_assert_eq(fact_int(&r.facts, "wg.initiations"), 1);
	cr_assert_eq(fact_int(&r.facts, "wg.initiations_tx"), 1);
	cr_assert_eq(fact_int(&r.facts, "wg.responses_rx"), 1);
	cr_assert_eq(fact_int(&r.facts, "wg.data_tx_packets"), 2);
	cr_assert_eq(fact_int(&r.facts, "wg.data_rx_packets"), 2);
	cr_assert_eq(fact_int(&r.facts, "wg.keepalives"), 1);
	cr_assert_eq(fact_int(&r.facts, "wg.handshakes_completed"), 1);
	cr_assert_eq(fact_int(&r.facts, "wg.max_init_burst"), 1);
	cr_assert_eq(fact_int(&r.facts, "wg.fragments"), 0);
	x = md_facts_get(&r.facts, "wg.handshake_rtt_ms");
	cr_assert_not_null(x);
	cr_assert_float_eq(x->real, 1.5, 1e-9);
	x = md_facts_get(&r.facts, "wg.capture_seconds");
	cr_assert_float_eq(x->real, 2.0, 1e-9, "span of the packets: %f", x->real);
	x = md_facts_get(&r.facts, "wg.initiations");
	cr_assert_not_null(strstr(x->evidence, "10.79.0.1:51821 -> 10.79.0.2:51820"), "%s",
			   x->evidence);
	x = md_facts_get(&r.facts, "wg.handshakes_completed");
	cr_assert_eq(x->check, MD_CHECK_OK);

	cr_assert_eq(r.facts.n_tables, 1);
	cr_assert_str_eq(r.facts.tables[0].name, "endpoints");
	cr_assert_str_eq(r.facts.tables[0].probe, "wireguard");
	tab = cJSON_Parse(r.facts.tables[0].json);
	cr_assert(cJSON_IsArray(tab) && cJSON_GetArraySize(tab) == 1, "%s", r.facts.tables[0].json);
	row = cJSON_GetArrayItem(tab, 0);
	cr_assert_str_eq(cJSON_GetObjectItem(row, "local")->valuestring, "10.79.0.1:51821");
	cr_assert_str_eq(cJSON_GetObjectItem(row, "remote")->valuestring, "10.79.0.2:51820");
	cr_assert_eq(cJSON_GetObjectItem(row, "data_rx_bytes")->valuedouble, 256);
	cr_assert_float_eq(cJSON_GetObjectItem(row, "handshake_rtt_avg_ms")->valuedouble, 1.5, 1e-9);
	cr_assert_str_eq(cJSON_GetObjectItem(row, "first_seen")->valuestring,
			 "2023-11-14T22:13:20.000Z");
	cJSON_Delete(tab);
	md_facts_cleanup(&r.facts);
}

/* Minimal pcapng (draft-ietf-opsawg-pcapng): Section Header, Interface Description,
 * Enhanced Packet blocks, little-endian. */
static void ng_block(FILE *fp, uint32_t type, const void *body, uint32_t n)
{
	uint32_t total = 12 + (n + 3) / 4 * 4;
	static const uint8_t pad[4];

	fwrite(&type, 4, 1, fp);
	fwrite(&total, 4, 1, fp);
	fwrite(body, 1, n, fp);
	fwrite(pad, 1, (4 - n % 4) % 4, fp);
	fwrite(&total, 4, 1, fp);
}

Test(wireguard, probe_reads_pcapng)
{
	char path[128];
	FILE *fp;
	uint8_t shb[16] = { 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
			    0xff, 0xff, 0xff, 0xff };
	uint8_t idb[8] = { 1, 0, 0, 0, 0, 0, 0, 0 }; /* linktype 1 (Ethernet), snaplen 0 */
	uint8_t m[256], frame[512], epb[600];
	struct pkt p = { .src = A4, .dst = B4, .sport = 51821, .dport = 51820, .payload = m };
	struct probe_run r;

	snprintf(path, sizeof(path), "%s/%d.pcap", tmpdir, n_files++);
	fp = fopen(path, "wb");
	cr_assert_not_null(fp);
	ng_block(fp, 0x0a0d0d0a, shb, sizeof(shb));
	ng_block(fp, 1, idb, sizeof(idb));
	for (int i = 0; i < 2; i++) {
		uint32_t len, hdr[5];
		uint64_t us = 1700000000000000ull + (uint64_t)i * 1500;

		p.plen = i == 0 ? wg_init(m, 0x51) : wg_resp(m, 0x52, 0x51);
		if (i) {
			p.src = B4, p.dst = A4, p.sport = 51820, p.dport = 51821;
		}
		len = (uint32_t)build(frame, DLT_EN10MB, &p);
		hdr[0] = 0;                    /* interface 0 */
		hdr[1] = (uint32_t)(us >> 32); /* default resolution: microseconds */
		hdr[2] = (uint32_t)us;
		hdr[3] = hdr[4] = len;
		memcpy(epb, hdr, sizeof(hdr));
		memcpy(epb + sizeof(hdr), frame, len);
		ng_block(fp, 6, epb, (uint32_t)sizeof(hdr) + len);
	}
	fclose(fp);
	run_probe(&r, B4, path, NULL);
	cr_assert_eq(r.rc, MD_OK, "run: %s", r.err.msg);
	cr_assert_eq(fact_int(&r.facts, "wg.handshakes_completed"), 1);
	cr_assert_float_eq(md_facts_get(&r.facts, "wg.handshake_rtt_ms")->real, 1.5, 1e-9);
	md_facts_cleanup(&r.facts);
}

Test(wireguard, probe_rejects_missing_and_bad_files)
{
	struct probe_run r;
	char path[128];
	FILE *fp;
	struct cap c;

	run_probe(&r, B4, "/nonexistent/x.pcap", NULL);
	cr_assert_eq(r.rc, MD_EINVAL);
	cr_assert_not_null(strstr(r.err.msg, "open /nonexistent/x.pcap: No such file"), "%s",
			   r.err.msg);
	cr_assert_str_eq(md_facts_str(&r.facts, "wg.capture"), "error");
	md_facts_cleanup(&r.facts);

	snprintf(path, sizeof(path), "%s/%d.pcap", tmpdir, n_files++);
	fp = fopen(path, "w");
	fputs("this is not a capture file at all\n", fp);
	fclose(fp);
	run_probe(&r, B4, path, NULL);
	cr_assert_eq(r.rc, MD_EINVAL);
	cr_assert_not_null(strstr(r.err.msg, "open "), "%s", r.err.msg);
	md_facts_cleanup(&r.facts);

	cap_open(&c, DLT_IEEE802_11);
	cap_close(&c);
	run_probe(&r, B4, c.path, NULL);
	cr_assert_eq(r.rc, MD_EINVAL);
	cr_assert_not_null(strstr(r.err.msg, "link type IEEE802_11"), "%s", r.err.msg);
	md_facts_cleanup(&r.facts);
}

Test(wireguard, probe_rejects_bad_options)
{
	struct probe_run r;

	memset(&r, 0, sizeof(r));
	r.opt.capture_seconds = -1;
	r.ctx.opt = &r.opt;
	md_facts_init(&r.facts);
	cr_assert_eq(probe_wireguard.run(&r.ctx, &r.facts, &r.err), MD_EINVAL);
	cr_assert_not_null(strstr(r.err.msg, "--capture-seconds"));
	memset(&r.err, 0, sizeof(r.err));
	r.opt.capture_seconds = 1;
	r.opt.wg_ports[0] = 70000;
	r.opt.n_wg_ports = 1;
	cr_assert_eq(probe_wireguard.run(&r.ctx, &r.facts, &r.err), MD_EINVAL);
	cr_assert_not_null(strstr(r.err.msg, "--wg-port 70000"));
	md_facts_cleanup(&r.facts);
}

/* Live capture without CAP_NET_RAW: one clear line and MD_EPERM (the CLI exits 2).
 * Criterion runs each test in its own process, so dropping the capability here
 * affects nothing else. */
Test(wireguard, live_capture_without_permission_is_eperm)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	struct probe_run r;

	cr_assert_eq(syscall(SYS_capget, &h, d), 0);
	d[CAP_NET_RAW / 32].effective &= ~(1u << (CAP_NET_RAW % 32));
	d[CAP_NET_RAW / 32].permitted &= ~(1u << (CAP_NET_RAW % 32));
	d[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
	d[CAP_NET_ADMIN / 32].permitted &= ~(1u << (CAP_NET_ADMIN % 32));
	cr_assert_eq(syscall(SYS_capset, &h, d), 0);
	run_probe(&r, "127.0.0.1", NULL, "lo");
	cr_assert_eq(r.rc, MD_EPERM, "rc %d: %s", r.rc, r.err.msg);
	cr_assert_str_eq(r.err.msg, "capture on lo: permission denied: live capture needs root "
				    "or CAP_NET_RAW (or analyse a saved capture with --pcap FILE)");
	cr_assert_str_eq(md_facts_str(&r.facts, "wg.capture"), "permission-denied");
	cr_assert_eq(md_facts_get(&r.facts, "wg.capture")->check, MD_CHECK_FAIL);
	md_facts_cleanup(&r.facts);
}

/* ------------------------------------------------------------------------------------ */
/* Tailscale on the capturing machine (wg_tailscale.c)                                  */
/* ------------------------------------------------------------------------------------ */

/* wg_ts_record() into f (initialised) on fixtures/tailscale/NAME as the CLI's answer
 * (exit 0), for a target with names (NULL-terminated, or NULL) and addresses ai. */
static void ts_record(struct md_facts *f, const char *name, const char *const *names,
		      const struct addrinfo *ai)
{
	char *json = test_fixture("tailscale", name);
	struct wg_ts_cli cli = { .rc = MD_OK, .exit_code = 0, .out = json, .err = "" };
	struct wg_ts_target t = { .addrs = ai };

	for (size_t i = 0; names && names[i] && i < 2; i++)
		t.names[i] = names[i];
	cr_assert_eq(wg_ts_record(f, &cli, &t), MD_OK);
	free(json);
}

static const char *evidence(const struct md_facts *f, const char *name)
{
	const struct md_fact *x = md_facts_get(f, name);

	cr_assert_not_null(x, "fact %s missing", name);
	return x->evidence ? x->evidence : "";
}

Test(wireguard, peer_paths_are_classified_as_the_cli_does_tailscale_fixture)
{
	static const struct { const char *host, *path, *dns; } want[] = {
		{ "sfspark1", "direct", "sfspark1.mesh.internal" },
		{ "DESKTOP-7Q2K9LM", "derp", "winbox.mesh.internal" },
		{ "nas", "peer-relay", "nas.mesh.internal" },
		{ "pi4", "idle", "pi4.mesh.internal" },
		{ "oldlaptop", "offline", "oldlaptop.mesh.internal" },
	};
	char *j = test_fixture("tailscale", "status-peer-paths.json");
	struct md_ts_status st;
	struct md_ts_peers peers;
	size_t seen = 0;

	cr_assert_eq(md_ts_parse_status_peers(j, &st, &peers, NULL), MD_OK);
	cr_assert_str_eq(st.backend_state, "Running");
	cr_assert_str_eq(st.dns_name, "sfspark2.mesh.internal");
	cr_assert_eq(peers.n, 5);
	for (size_t i = 0; i < peers.n; i++)
		for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
			if (strcmp(peers.v[i].host_name, want[k].host))
				continue;
			seen++;
			cr_assert_str_eq(md_ts_peer_path(&peers.v[i]), want[k].path, "%s",
					 want[k].host);
			cr_assert_str_eq(peers.v[i].dns_name, want[k].dns, "trailing dot removed");
			cr_assert_eq(peers.v[i].n_ips, 2);
		}
	cr_assert_eq(seen, 5);
	md_ts_peers_free(&peers);
	free(j);
}

Test(wireguard, path_classification_follows_the_cli_order)
{
	struct md_ts_peer p = { .relay = "fra", .online = true };

	cr_assert_str_eq(md_ts_peer_path(&p), "idle");
	p.online = false;
	cr_assert_str_eq(md_ts_peer_path(&p), "offline");
	p.active = true; /* active while offline: the path still counts */
	cr_assert_str_eq(md_ts_peer_path(&p), "derp");
	snprintf(p.peer_relay, sizeof(p.peer_relay), "203.0.113.45:40123:vni:7");
	cr_assert_str_eq(md_ts_peer_path(&p), "peer-relay", "Relay is set even off DERP");
	snprintf(p.cur_addr, sizeof(p.cur_addr), "192.168.1.10:41641");
	cr_assert_str_eq(md_ts_peer_path(&p), "direct");
	memset(&p, 0, sizeof(p));
	p.active = true;
	cr_assert_str_eq(md_ts_peer_path(&p), "unknown");
}

Test(wireguard, sharee_nodes_and_a_null_peer_map_are_left_out)
{
	struct md_ts_status st;
	struct md_ts_peers peers;

	cr_assert_eq(md_ts_parse_status_peers(
			     "{\"BackendState\": \"Running\", \"Peer\": {\"nodekey:01\": "
			     "{\"HostName\": \"shared\", \"Active\": true, \"CurAddr\": "
			     "\"198.51.100.1:41641\", \"ShareeNode\": true}}}", &st, &peers, NULL),
		     MD_OK);
	cr_assert_eq(peers.n, 0);
	md_ts_peers_free(&peers);
	cr_assert_eq(md_ts_parse_status_peers("{\"BackendState\": \"Stopped\", \"Peer\": null}",
						  &st, &peers, NULL), MD_OK);
	cr_assert_eq(peers.n, 0);
	cr_assert_null(peers.v);
}

Test(wireguard, status_facts_count_and_name_the_peers_tailscale_fixture)
{
	const char *const names[] = { "winbox", NULL };
	struct md_facts f;

	md_facts_init(&f);
	ts_record(&f, "status-peer-paths.json", names, NULL);
	cr_assert_str_eq(md_facts_str(&f, "wg.ts_state"), "Running");
	cr_assert_eq(fact_int(&f, "wg.ts_peers_online"), 4);
	cr_assert_eq(fact_int(&f, "wg.ts_peers_active"), 3);
	cr_assert_eq(fact_int(&f, "wg.ts_peers_direct"), 1);
	cr_assert_eq(fact_int(&f, "wg.ts_peers_derp"), 1);
	cr_assert_eq(fact_int(&f, "wg.ts_peers_peer_relay"), 1);
	cr_assert_str_eq(evidence(&f, "wg.ts_peers_derp"),
			 "tailscale status --json: DESKTOP-7Q2K9LM via DERP fra");
	cr_assert_str_eq(evidence(&f, "wg.ts_peers_direct"),
			 "tailscale status --json: sfspark1 direct 192.168.1.10:41641");
	cr_assert_str_eq(evidence(&f, "wg.ts_peers_peer_relay"),
			 "tailscale status --json: nas via peer relay 203.0.113.45:40123:vni:7");
	cr_assert_str_eq(evidence(&f, "wg.ts_state"),
			 "tailscale status --json: \"BackendState\": \"Running\", 5 peers");
	cr_assert_str_eq(md_facts_str(&f, "wg.ts_target_path"), "derp");
	cr_assert_not_null(strstr(evidence(&f, "wg.ts_target_path"),
				  "peer DESKTOP-7Q2K9LM (winbox.mesh.internal, 100.64.0.3) is the "
				  "target (the target winbox is its name): \"Online\": true, "
				  "\"Active\": true, \"CurAddr\": \"\", \"Relay\": \"fra\""),
			  "%s", evidence(&f, "wg.ts_target_path"));
	cr_assert_eq(md_facts_get(&f, "wg.ts_state")->check, MD_CHECK_WARN, "a peer over DERP");
	md_facts_cleanup(&f);
}

Test(wireguard, target_found_by_name_address_or_resolved_address_tailscale_fixture)
{
	static const struct { const char *name, *path; } cases[] = {
		{ "sfspark1", "direct" },                    /* HostName and short name */
		{ "SFSPARK1.mesh.internal.", "direct" },     /* MagicDNS name, any case, a dot */
		{ "desktop-7q2k9lm", "derp" },               /* HostName, not the DNS label */
		{ "100.64.0.4", "peer-relay" },              /* a Tailscale IP */
		{ "fd7a:115c:a1e0:0::5", "idle" },           /* IPv6, written differently */
		{ "oldlaptop", "offline" },
		{ "10.79.0.2", NULL },                       /* not a peer: no fact */
		{ "mesh", NULL },
	};
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct addrinfo ai = { .ai_family = AF_INET, .ai_addr = (struct sockaddr *)&sin,
			       .ai_addrlen = sizeof(sin) };
	const char *const lan[] = { "winbox-lan", NULL };
	struct md_facts f;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const names[] = { cases[i].name, NULL };

		md_facts_init(&f);
		ts_record(&f, "status-peer-paths.json", names, NULL);
		if (cases[i].path)
			cr_assert_str_eq(md_facts_str(&f, "wg.ts_target_path"), cases[i].path, "%s",
					 cases[i].name);
		else
			cr_assert_null(md_facts_get(&f, "wg.ts_target_path"), "%s", cases[i].name);
		md_facts_cleanup(&f);
	}
	/* A name only this machine knows, which resolves to a peer's Tailscale IP. */
	inet_pton(AF_INET, "100.64.0.3", &sin.sin_addr);
	md_facts_init(&f);
	ts_record(&f, "status-peer-paths.json", lan, &ai);
	cr_assert_str_eq(md_facts_str(&f, "wg.ts_target_path"), "derp");
	cr_assert_not_null(strstr(evidence(&f, "wg.ts_target_path"),
				  "the target resolves to its Tailscale IP 100.64.0.3"));
	md_facts_cleanup(&f);
}

/* A large tailnet: the evidence names the first six peers and counts the others. */
Test(wireguard, many_relayed_peers_are_counted_not_all_named)
{
	char json[4096];
	size_t o = 0;
	struct wg_ts_cli cli = { .rc = MD_OK, .out = json, .err = "" };
	struct md_facts f;

	o += (size_t)snprintf(json + o, sizeof(json) - o,
			      "{\"BackendState\": \"Running\", \"Peer\": {");
	for (int i = 0; i < 8; i++)
		o += (size_t)snprintf(json + o, sizeof(json) - o,
				      "%s\"nodekey:%02d\": {\"HostName\": \"n%d\", "
				      "\"CurAddr\": \"\", \"Relay\": \"fra\", \"PeerRelay\": \"\", "
				      "\"Online\": true, \"Active\": true}", i ? ", " : "", i, i);
	snprintf(json + o, sizeof(json) - o, "}}");
	md_facts_init(&f);
	cr_assert_eq(wg_ts_record(&f, &cli, NULL), MD_OK);
	cr_assert_eq(fact_int(&f, "wg.ts_peers_derp"), 8);
	cr_assert_str_eq(evidence(&f, "wg.ts_peers_derp"),
			 "tailscale status --json: n0 via DERP fra, n1 via DERP fra, n2 via DERP "
			 "fra, n3 via DERP fra, n4 via DERP fra, n5 via DERP fra, and 2 more");
	md_facts_cleanup(&f);
}

Test(wireguard, needslogin_node_has_no_peers_tailscale_fixture)
{
	struct md_facts f;

	md_facts_init(&f);
	ts_record(&f, "status-needslogin.json", NULL, NULL);
	cr_assert_str_eq(md_facts_str(&f, "wg.ts_state"), "NeedsLogin");
	cr_assert_eq(fact_int(&f, "wg.ts_peers_online"), 0);
	cr_assert_eq(fact_int(&f, "wg.ts_peers_derp"), 0);
	cr_assert_str_eq(evidence(&f, "wg.ts_peers_derp"),
			 "tailscale status --json: no active peer relayed over DERP");
	cr_assert_eq(md_facts_get(&f, "wg.ts_state")->check, MD_CHECK_WARN);
	md_facts_cleanup(&f);
}

Test(wireguard, cli_missing_failing_or_garbled_is_a_state)
{
	static const struct {
		struct { int rc, exit_code; char out[64], err[160], errmsg[80]; } cli;
		char state[16], evidence[200];
	} cases[] = {
		{ { MD_ENOTFOUND, -1, "", "", "tailscale: No such file or directory" },
		  "missing", "tailscale status --json: tailscale: No such file or directory" },
		{ { MD_OK, 1, "", "failed to connect to local tailscaled; it doesn't appear to be "
		    "running (sudo systemctl start tailscaled ?)\nmore\n", "" },
		  "error", "tailscale status --json: exit 1: failed to connect to local "
		  "tailscaled; it doesn't appear to be running "
		  "(sudo systemctl start tailscaled ?)" },
		{ { MD_ETIMEOUT, -1, "", "", "tailscale: still running at the deadline, killed" },
		  "error", "tailscale status --json: tailscale: still running at the deadline, "
		  "killed" },
		{ { MD_EIO, -1, "", "", "" }, "error", "tailscale status --json: io-error" },
		{ { MD_OK, 0, "{\"Peer\": {}}", "", "" }, "error",
		  "tailscale status --json: not a status object (no BackendState)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wg_ts_cli cli = { .rc = cases[i].cli.rc, .exit_code = cases[i].cli.exit_code,
					 .out = cases[i].cli.out, .err = cases[i].cli.err,
					 .errmsg = cases[i].cli.errmsg };
		struct md_facts f;

		md_facts_init(&f);
		cr_assert_eq(wg_ts_record(&f, &cli, NULL), MD_OK);
		cr_assert_str_eq(md_facts_str(&f, "wg.ts_state"), cases[i].state, "case %zu", i);
		cr_assert_str_eq(evidence(&f, "wg.ts_state"), cases[i].evidence, "case %zu", i);
		cr_assert_null(md_facts_get(&f, "wg.ts_peers_derp"), "no counts without a status");
		md_facts_cleanup(&f);
	}
}

/* Every fact the probe records is named in its provides list (`meshdoctor probes`, and the
 * probe named for an undecided rule). */
Test(wireguard, every_recorded_fact_is_provided_tailscale_fixture)
{
	struct cap c;
	struct probe_run r;
	const char *const names[] = { "winbox", NULL };

	cap_open(&c, DLT_LINUX_SLL);
	put_healthy(&c, A4, B4, 0, 0);
	cap_close(&c);
	run_probe(&r, B4, c.path, NULL);
	cr_assert_eq(r.rc, MD_OK, "run: %s", r.err.msg);
	cr_assert_null(md_facts_get(&r.facts, "wg.ts_state"), "--pcap: no Tailscale state");
	/* What only a live capture adds. */
	ts_record(&r.facts, "status-peer-paths.json", names, NULL);
	md_fact_str(&r.facts, "wireguard", "wg.iface", "veth0", NULL);
	md_fact_int(&r.facts, "wireguard", "wg.capture_dropped", 0, NULL);
	md_fact_str(&r.facts, "wireguard", "wg.capture_shortened", "deadline", NULL);
	for (size_t i = 0; i < r.facts.n; i++) {
		bool listed = false;

		for (const char *const *p = probe_wireguard.provides; *p; p++)
			listed = listed || strcmp(*p, r.facts.v[i].name) == 0;
		cr_assert(listed, "%s is not in the wireguard probe's provides", r.facts.v[i].name);
	}
	md_facts_cleanup(&r.facts);
}

/* ------------------------------------------------------------------------------------ */
/* Rules: every rule in rules/wireguard.rules fires on its facts; healthy fires none     */
/* ------------------------------------------------------------------------------------ */

struct fact_set {
	const char *name;
	int64_t v;
};

static void healthy_facts(struct md_facts *f)
{
	static const struct fact_set base[] = {
		{ "wg.packets", 40 }, { "wg.messages", 40 }, { "wg.initiations", 1 },
		{ "wg.initiations_tx", 1 }, { "wg.initiations_rx", 0 }, { "wg.responses", 1 },
		{ "wg.responses_tx", 0 }, { "wg.responses_rx", 1 }, { "wg.cookie_replies", 0 },
		{ "wg.cookie_replies_tx", 0 }, { "wg.cookie_replies_rx", 0 },
		{ "wg.data_tx_packets", 19 }, { "wg.data_rx_packets", 19 },
		{ "wg.keepalives", 0 }, { "wg.disco", 0 }, { "wg.non_wg", 0 }, { "wg.bad_size", 0 },
		{ "wg.fragments", 0 }, { "wg.truncated", 0 }, { "wg.handshakes_completed", 1 },
		{ "wg.handshakes_confirmed", 1 }, { "wg.max_init_burst", 1 },
		{ "wg.endpoints", 1 }, { "wg.endpoint_changes", 0 },
	};
	md_facts_init(f);
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		md_fact_int(f, "wireguard", base[i].name, base[i].v, NULL);
	md_fact_str(f, "wireguard", "wg.source", "live:veth0", NULL);
	md_fact_real(f, "wireguard", "wg.capture_seconds", 3.0, NULL);
	md_fact_real(f, "wireguard", "wg.handshake_rtt_ms", 0.4, NULL);
}

/* Criterion copies parameters into the test's own process, where pointers into the
 * parent's data are not valid: strings are held in arrays. */
struct rule_case {
	char rule[40];                /* expected to fire ("" = none from this file) */
	struct { char name[40]; int64_t v; } set[6]; /* overrides on the healthy facts */
	char not_fired[40];           /* a rule that must not fire (or be superseded) */
};

ParameterizedTestParameters(wireguard, rules)
{
	static struct rule_case cases[] = {
		{ "", { { "", 0 } }, "" },
		{ "wg-handshake-unanswered",
		  { { "wg.responses_rx", 0 }, { "wg.responses", 0 }, { "wg.handshakes_completed", 0 },
		    { "wg.data_tx_packets", 0 }, { "wg.data_rx_packets", 0 }, { "", 0 } },
		  "wg-handshake-not-answered-here" },
		{ "wg-handshake-unanswered", /* long capture: the storm is superseded */
		  { { "wg.responses_rx", 0 }, { "wg.responses", 0 }, { "wg.max_init_burst", 6 },
		    { "wg.initiations_tx", 6 }, { "wg.data_rx_packets", 0 }, { "", 0 } },
		  "wg-handshake-storm" },
		{ "wg-handshake-not-answered-here",
		  { { "wg.initiations_tx", 0 }, { "wg.initiations_rx", 2 }, { "wg.responses_rx", 0 },
		    { "wg.responses", 0 }, { "wg.handshakes_completed", 0 }, { "", 0 } },
		  "wg-handshake-unanswered" },
		{ "wg-handshake-storm",
		  { { "wg.max_init_burst", 4 }, { "wg.initiations_tx", 4 }, { "wg.responses_rx", 4 },
		    { "wg.handshakes_confirmed", 0 }, { "", 0 } },
		  "wg-handshake-unanswered" },
		{ "wg-handshake-storm", /* answered, never confirmed (a preshared-key mismatch) */
		  { { "wg.max_init_burst", 3 }, { "wg.handshakes_completed", 3 },
		    { "wg.handshakes_confirmed", 0 }, { "wg.data_tx_packets", 0 },
		    { "wg.data_rx_packets", 0 }, { "", 0 } },
		  "wg-handshake-no-data" },
		{ "wg-peer-under-load",
		  { { "wg.cookie_replies", 2 }, { "wg.cookie_replies_rx", 2 }, { "", 0 } },
		  "wg-handshake-unanswered" },
		{ "wg-handshake-no-data",
		  { { "wg.data_tx_packets", 0 }, { "wg.data_rx_packets", 0 }, { "wg.keepalives", 3 },
		    { "", 0 } },
		  "wg-data-tx-only" },
		{ "wg-data-tx-only", { { "wg.data_rx_packets", 0 }, { "", 0 } },
		  "wg-handshake-no-data" },
		{ "wg-data-rx-only", { { "wg.data_tx_packets", 0 }, { "", 0 } },
		  "wg-data-tx-only" },
		{ "wg-traffic-relayed-derp",
		  { { "wg.ts_peers_derp", 1 }, { "wg.ts_peers_active", 2 }, { "wg.messages", 0 },
		    { "wg.disco", 4 }, { "", 0 } },
		  "wg-capture-missed-tailscale-traffic" },
		{ "wg-capture-missed-tailscale-traffic", /* direct peers, nothing captured */
		  { { "wg.ts_peers_direct", 2 }, { "wg.ts_peers_peer_relay", 0 },
		    { "wg.ts_peers_derp", 0 }, { "wg.packets", 0 }, { "wg.messages", 0 } },
		  "wg-traffic-relayed-derp" },
		{ "wg-fragmented", { { "wg.fragments", 12 }, { "", 0 } }, "" },
		{ "wg-port-shared", { { "wg.non_wg", 5 }, { "wg.bad_size", 1 }, { "", 0 } }, "" },
	};
	return cr_make_param_array(struct rule_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct rule_case *rc, wireguard, rules)
{
	struct test_eval t;
	bool fired = false;
	char got[512] = "";

	cr_assert_eq(test_eval_load(&t, "rules/wireguard.rules"), 0, "%s", t.err.msg);
	healthy_facts(&t.facts);
	for (size_t i = 0; i < 6 && rc->set[i].name[0]; i++)
		md_fact_int(&t.facts, "wireguard", rc->set[i].name, rc->set[i].v, NULL);
	cr_assert_eq(test_eval_run(&t), 0);
	for (size_t i = 0; i < t.ev.n_findings; i++) {
		const char *id = t.ev.findings[i].rule->id;

		strncat(got, id, sizeof(got) - strlen(got) - 2);
		strcat(got, " ");
		if (strcmp(id, rc->rule) == 0)
			fired = true;
		if (rc->not_fired[0])
			cr_assert_str_neq(id, rc->not_fired, "%s also fired (findings: %s)",
					  rc->not_fired, got);
		/* Interpolation left no placeholder behind. */
		cr_assert_null(strchr(t.ev.findings[i].cause, '{'), "%s: %s", id,
			       t.ev.findings[i].cause);
	}
	if (*rc->rule)
		cr_assert(fired, "%s did not fire (findings: %s)", rc->rule, got);
	else
		cr_assert_eq(t.ev.n_findings, 0, "healthy facts fired: %s", got);
	test_eval_cleanup(&t);
}

/* Tailscale says the target itself goes through DERP: the target's finding replaces the
 * general one. */
Test(wireguard, target_relayed_over_derp_replaces_the_general_finding)
{
	struct test_eval t;

	cr_assert_eq(test_eval_load(&t, "rules/wireguard.rules"), 0, "%s", t.err.msg);
	healthy_facts(&t.facts);
	cr_assert_eq(test_put_facts(&t.facts, "wireguard",
				    "wg.ts_target_path=derp;wg.ts_peers_derp=1;wg.ts_peers_active=1;"
				    "wg.messages=0;wg.disco=3"),
		     0);
	cr_assert_eq(test_eval_run(&t), 0);
	cr_assert_eq(test_finding_index(&t.ev, "wg-target-relayed-derp"), 0);
	cr_assert_eq(test_finding_index(&t.ev, "wg-traffic-relayed-derp"), -1, "superseded");
	test_eval_cleanup(&t);
}

/* A --pcap analysis records no wg.ts_* fact: the Tailscale leaves stay undecided, and the
 * trace names the wireguard probe as the one that would record them. */
Test(wireguard, tailscale_rules_are_undecided_without_the_tailscale_facts)
{
	struct test_eval t;
	int seen = 0;

	cr_assert_eq(test_eval_load(&t, "rules/wireguard.rules"), 0, "%s", t.err.msg);
	healthy_facts(&t.facts);
	md_fact_int(&t.facts, "wireguard", "wg.messages", 0, NULL);
	md_fact_int(&t.facts, "wireguard", "wg.packets", 0, NULL);
	cr_assert_eq(test_eval_run(&t), 0);
	for (size_t i = 0; i < t.ev.n_path; i++)
		if (strcmp(t.ev.path[i].rule->id, "wg-traffic-relayed-derp") == 0 ||
		    strcmp(t.ev.path[i].rule->id, "wg-capture-missed-tailscale-traffic") == 0) {
			seen++;
			cr_assert_eq(t.ev.path[i].result, MD_RULE_UNDECIDED, "%s", t.ev.path[i].trace);
			cr_assert_not_null(strstr(t.ev.path[i].trace, "missing, probe wireguard"), "%s",
					   t.ev.path[i].trace);
		}
	cr_assert_eq(seen, 2);
	test_eval_cleanup(&t);
}

/* The rules on what the probe records: the fixture's status after a capture that saw
 * nothing at all.  One peer goes over DERP (the warning); one goes direct, and the capture
 * missed it too (the info). */
Test(wireguard, derp_rule_fires_on_the_recorded_status_tailscale_fixture)
{
	/* a target that is none of the peers: the general finding */
	const char *const names[] = { "nas.lan", NULL };
	struct test_eval t;
	const struct md_finding *x;
	int i;

	cr_assert_eq(test_eval_load(&t, "rules/wireguard.rules"), 0, "%s", t.err.msg);
	healthy_facts(&t.facts);
	for (size_t k = 0; k < t.facts.n; k++)
		if (t.facts.v[k].type == MD_FACT_INT)
			t.facts.v[k].num = 0;
	ts_record(&t.facts, "status-peer-paths.json", names, NULL);
	cr_assert_eq(test_eval_run(&t), 0);
	cr_assert_eq(t.ev.n_findings, 2);
	i = test_finding_index(&t.ev, "wg-traffic-relayed-derp");
	cr_assert_eq(i, 0, "the warning first");
	x = &t.ev.findings[i];
	cr_assert_not_null(strstr(x->cause, "reaches 1 of its 3 active peers only through a DERP "
				  "relay"), "%s", x->cause);
	cr_assert_str_eq(x->evidence[0].fact, "wg.ts_peers_derp");
	cr_assert_str_eq(x->evidence[0].value, "1");
	cr_assert_str_eq(x->evidence[0].evidence,
			 "tailscale status --json: DESKTOP-7Q2K9LM via DERP fra");
	cr_assert_str_eq(x->evidence[0].probe, "wireguard");
	cr_assert_eq(test_finding_index(&t.ev, "wg-capture-missed-tailscale-traffic"), 1);
	test_eval_cleanup(&t);
}
