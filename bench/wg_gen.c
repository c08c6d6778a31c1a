/* wg_gen — writes a pcap file of synthetic WireGuard traffic for bench/wg_vs_tshark.sh.
 *
 *   wg_gen FILE SIZE_MB
 *
 * Ethernet + IPv4 (one peer in eight on IPv6) + UDP, written with libpcap's own dump
 * functions.  Traffic: PEERS peers talking to one hub (192.0.2.1, or 2001:db8::1),
 * half on UDP 41641 (Tailscale) and half on 51820; each peer re-handshakes every 120 s
 * of capture time (initiation 148, response 92, whitepaper 5.4), then sends transport data
 * both ways: full-size packets (1452-byte WireGuard messages for a 1420-byte tunnel MTU),
 * small ones (96) and keepalives (32); Tailscale peers also send some disco frames.
 * Frames are prepared once and patched per packet (indices, counter, timestamp), so the
 * generator runs at write speed.  Deterministic (fixed seed). */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEERS 200
#define MTU_MSG 1452

struct peer {
	uint8_t ip[16];
	int v6;
	uint16_t port, hub_port;
	uint32_t idx_peer, idx_hub; /* the session's indices (each side's own) */
	int64_t next_hs_us;
	uint64_t counter;
};

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static const uint8_t hub4[4] = { 192, 0, 2, 1 };
static const uint8_t hub6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

/* Builds the frame for a message of wg_len bytes from the peer (up) or the hub; the
 * WireGuard bytes after the header are left as they were (random filler). */
static size_t frame(uint8_t *f, const struct peer *p, int up, size_t wg_len)
{
	size_t ip_off = 14, udp_off;

	f[12] = p->v6 ? 0x86 : 0x08;
	f[13] = p->v6 ? 0xdd : 0x00;
	if (p->v6) {
		f[ip_off] = 0x60;
		be16(f + ip_off + 4, (uint16_t)(8 + wg_len));
		f[ip_off + 6] = 17;
		f[ip_off + 7] = 64;
		memcpy(f + ip_off + 8, up ? p->ip : hub6, 16);
		memcpy(f + ip_off + 24, up ? hub6 : p->ip, 16);
		udp_off = ip_off + 40;
	} else {
		f[ip_off] = 0x45;
		f[ip_off + 1] = 0;
		be16(f + ip_off + 2, (uint16_t)(28 + wg_len));
		f[ip_off + 6] = 0x40; /* DF */
		f[ip_off + 7] = 0;
		f[ip_off + 8] = 64;
		f[ip_off + 9] = 17;
		memcpy(f + ip_off + 12, up ? p->ip : hub4, 4);
		memcpy(f + ip_off + 16, up ? hub4 : p->ip, 4);
		udp_off = ip_off + 20;
	}
	be16(f + udp_off, up ? p->port : p->hub_port);
	be16(f + udp_off + 2, up ? p->hub_port : p->port);
	be16(f + udp_off + 4, (uint16_t)(8 + wg_len));
	return udp_off + 8;
}

int main(int argc, char **argv)
{
	static uint8_t f[2048];
	static struct peer peers[PEERS];
	struct pcap_pkthdr h;
	pcap_t *dead;
	pcap_dumper_t *d;
	FILE *fp;
	uint64_t target, written = 24, n = 0;
	int64_t ts = 1700000000000000ll;

	if (argc != 3) {
		fprintf(stderr, "usage: wg_gen FILE SIZE_MB\n");
		return 64;
	}
	target = (uint64_t)atoll(argv[2]) << 20;
	fp = fopen(argv[1], "wb");
	if (!fp) {
		perror(argv[1]);
		return 1;
	}
	setvbuf(fp, NULL, _IOFBF, 4 << 20);
	dead = pcap_open_dead(DLT_EN10MB, 65535);
	d = pcap_dump_fopen(dead, fp);
	if (!d) {
		fprintf(stderr, "pcap_dump_fopen: %s\n", pcap_geterr(dead));
		return 1;
	}
	for (size_t i = 0; i < sizeof(f); i++)
		f[i] = (uint8_t)rnd();
	memcpy(f, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
	for (int i = 0; i < PEERS; i++) {
		struct peer *p = &peers[i];

		p->v6 = i % 8 == 7;
		if (p->v6) {
			memcpy(p->ip, hub6, 16);
			p->ip[14] = (uint8_t)(i >> 8);
			p->ip[15] = (uint8_t)(i + 2);
		} else {
			p->ip[0] = 198;
			p->ip[1] = 51;
			p->ip[2] = (uint8_t)(100 + i / 250);
			p->ip[3] = (uint8_t)(1 + i % 250);
		}
		p->hub_port = i % 2 ? 41641 : 51820;
		p->port = (uint16_t)(i % 2 ? 41641 : 40000 + i);
		p->next_hs_us = ts + (int64_t)(rnd() % 120000000);
		p->idx_peer = (uint32_t)rnd();
		p->idx_hub = (uint32_t)rnd();
	}
	while (written < target) {
		struct peer *p = &peers[rnd() % PEERS];
		uint64_t r = rnd();
		int up = (int)(r & 1);
		size_t off, wg_len;
		uint8_t *w;

		ts += 400 + (int64_t)(r >> 54); /* ~0.9 ms per packet: ~10 Mbit/s, 1 GB ~ 12 min */
		if (ts >= p->next_hs_us) {
			/* Re-handshake: initiation from the peer, response from the hub. */
			p->idx_peer = (uint32_t)rnd();
			p->idx_hub = (uint32_t)rnd();
			p->next_hs_us = ts + 120000000;
			for (int k = 0; k < 2; k++) {
				wg_len = k ? 92 : 148;
				off = frame(f, p, !k, wg_len);
				w = f + off;
				w[0] = (uint8_t)(k + 1);
				w[1] = w[2] = w[3] = 0;
				le32(w + 4, k ? p->idx_hub : p->idx_peer);
				if (k)
					le32(w + 8, p->idx_peer);
				h.ts.tv_sec = ts / 1000000;
				h.ts.tv_usec = ts % 1000000;
				h.caplen = h.len = (bpf_u_int32)(off + wg_len);
				pcap_dump((u_char *)d, &h, f);
				written += 16 + h.caplen;
				n++;
				ts += 300;
			}
			continue;
		}
		r >>= 1;
		if (p->hub_port == 41641 && r % 200 == 0) {
			/* Disco: magic, 32-byte key, 24-byte nonce, sealed ping. */
			wg_len = 6 + 32 + 24 + 44;
			off = frame(f, p, up, wg_len);
			memcpy(f + off, "\x54\x53\xf0\x9f\x92\xac", 6);
		} else {
			r %= 100;
			wg_len = r < 62 ? MTU_MSG : r < 92 ? 96 : 32;
			off = frame(f, p, up, wg_len);
			w = f + off;
			w[0] = 4;
			w[1] = w[2] = w[3] = 0;
			le32(w + 4, up ? p->idx_hub : p->idx_peer);
			memcpy(w + 8, &p->counter, 8);
			p->counter++;
		}
		h.ts.tv_sec = ts / 1000000;
		h.ts.tv_usec = ts % 1000000;
		h.caplen = h.len = (bpf_u_int32)(off + wg_len);
		pcap_dump((u_char *)d, &h, f);
		written += 16 + h.caplen;
		n++;
	}
	pcap_dump_close(d);
	pcap_close(dead);
	fprintf(stderr, "wg_gen: %llu packets, %llu bytes\n", (unsigned long long)n,
		(unsigned long long)written);
	return 0;
}
