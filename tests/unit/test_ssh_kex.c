/* test_ssh_kex.c — core/ssh_kex: the server's SSH_MSG_KEXINIT (captures in fixtures/ssh/,
 * packets built here, truncated and hostile ones) and the algorithm categories it has in
 * common with libssh2. */
#include "core/facts.h"
#include "core/known_hosts.h"
#include "core/session.h"
#include "core/session_ssh.h"
#include "core/ssh_agent.h"
#include "core/ssh_banner.h"
#include "core/ssh_kex.h"
#include "core/ssh_keys.h"
#include "core/ssh_wire.h"
#include "tests/support/ssh_fixtures.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <libssh2.h>
#include <openssl/evp.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ==================================================================================== */
/* The server's SSH_MSG_KEXINIT (RFC 4253 §7.1) and the algorithm categories            */
/* ==================================================================================== */

static bool list_is(const struct ssh_kexinit *k, enum ssh_kexinit_list i, const char *want)
{
	return k->len[i] == strlen(want) && memcmp(k->list[i], want, k->len[i]) == 0;
}

#define OPENSSH92_KEX "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256," \
	"curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521," \
	"diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512," \
	"diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,kex-strict-s-v00@openssh.com"
#define OPENSSH92_CIPHERS "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr," \
	"aes128-gcm@openssh.com,aes256-gcm@openssh.com"
#define OPENSSH92_MACS "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com," \
	"hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com," \
	"umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1"


Test(kexinit, openssh_9_2_with_only_an_rsa_host_key, .timeout = 10)
{
	unsigned char *buf;
	struct ssh_kexinit k;

	scan_fixture("fixtures/ssh/kexinit-rsa-only.bin", &buf, &k);
	cr_assert(list_is(&k, SSH_KEXINIT_KEX, OPENSSH92_KEX));
	cr_assert(list_is(&k, SSH_KEXINIT_HOSTKEY, "rsa-sha2-512,rsa-sha2-256"), "%.*s",
		  (int)k.len[SSH_KEXINIT_HOSTKEY], k.list[SSH_KEXINIT_HOSTKEY]);
	cr_assert(list_is(&k, SSH_KEXINIT_CIPHER_CS, OPENSSH92_CIPHERS));
	cr_assert(list_is(&k, SSH_KEXINIT_CIPHER_SC, OPENSSH92_CIPHERS));
	cr_assert(list_is(&k, SSH_KEXINIT_MAC_CS, OPENSSH92_MACS));
	cr_assert(list_is(&k, SSH_KEXINIT_MAC_SC, OPENSSH92_MACS));
	cr_assert(list_is(&k, SSH_KEXINIT_COMP_CS, "none,zlib@openssh.com"));
	cr_assert(list_is(&k, SSH_KEXINIT_COMP_SC, "none,zlib@openssh.com"));
	cr_assert(list_is(&k, SSH_KEXINIT_LANG_CS, ""));
	cr_assert(list_is(&k, SSH_KEXINIT_LANG_SC, ""));
	cr_assert_not(k.first_kex_follows);
	free(buf);
}

Test(kexinit, openssh_9_2_restricted_to_chacha20, .timeout = 10)
{
	unsigned char *buf;
	struct ssh_kexinit k;

	scan_fixture("fixtures/ssh/kexinit-chacha-only.bin", &buf, &k);
	cr_assert(list_is(&k, SSH_KEXINIT_HOSTKEY, "ssh-ed25519"));
	cr_assert(list_is(&k, SSH_KEXINIT_CIPHER_CS, "chacha20-poly1305@openssh.com"));
	cr_assert(list_is(&k, SSH_KEXINIT_CIPHER_SC, "chacha20-poly1305@openssh.com"));
	cr_assert(list_is(&k, SSH_KEXINIT_MAC_CS, OPENSSH92_MACS));
	free(buf);
}

Test(kexinit, openssh_9_2_with_the_default_host_keys, .timeout = 10)
{
	unsigned char *buf;
	struct ssh_kexinit k;

	scan_fixture("fixtures/ssh/kexinit-default.bin", &buf, &k);
	cr_assert(list_is(&k, SSH_KEXINIT_HOSTKEY, "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256"));
	cr_assert(list_is(&k, SSH_KEXINIT_CIPHER_CS, OPENSSH92_CIPHERS));
	free(buf);
}

/* An unencrypted packet holding payload[0..n) with pad bytes of padding (zeros). */
static size_t packet_of(unsigned char *out, const unsigned char *payload, size_t n, unsigned pad)
{
	uint32_t l = (uint32_t)(n + pad + 1);

	out[0] = (unsigned char)(l >> 24);
	out[1] = (unsigned char)(l >> 16);
	out[2] = (unsigned char)(l >> 8);
	out[3] = (unsigned char)l;
	out[4] = (unsigned char)pad;
	memcpy(out + 5, payload, n);
	memset(out + 5 + n, 0, pad);
	return 5 + n + pad;
}

/* An SSH_MSG_KEXINIT payload: the ten lists ("" where NULL), then first_kex_packet_follows
 * and the reserved uint32; its length. */
static size_t kexinit_payload(unsigned char *out, const char *const lists[10], unsigned char follows)
{
	size_t o = 0;

	out[o++] = 20;
	memset(out + o, 0xa5, 16);
	o += 16;
	for (int i = 0; i < 10; i++) {
		const char *s = lists[i] ? lists[i] : "";
		uint32_t l = (uint32_t)strlen(s);

		out[o++] = (unsigned char)(l >> 24);
		out[o++] = (unsigned char)(l >> 16);
		out[o++] = (unsigned char)(l >> 8);
		out[o++] = (unsigned char)l;
		memcpy(out + o, s, l);
		o += l;
	}
	out[o++] = follows;
	memset(out + o, 0, 4);
	return o + 4;
}

/* ssh_kexinit_parse() on a copy of pkt[0..n) of exactly that size (a read past its end is
 * caught under SAN=1).  The copy is freed: only the result and why are to be read. */
static int parse_exact(const unsigned char *pkt, size_t n, struct ssh_kexinit *k, char *why, size_t why_n)
{
	unsigned char *copy = malloc(n ? n : 1);
	int rc;

	memcpy(copy, pkt, n);
	rc = ssh_kexinit_parse(copy, n, k, why, why_n);
	free(copy);
	return rc;
}

static const char *const good_lists[10] = {
	"curve25519-sha256", "ssh-ed25519", "aes128-ctr", "aes128-ctr", "hmac-sha2-256",
	"hmac-sha2-256", "none", "none", NULL, NULL,
};

Test(kexinit, a_packet_built_here_parses, .timeout = 10)
{
	unsigned char payload[512], pkt[600];
	struct ssh_kexinit k;
	char why[256] = "";
	size_t n = packet_of(pkt, payload, kexinit_payload(payload, good_lists, 1), 7);

	cr_assert_eq(parse_exact(pkt, n, &k, why, sizeof(why)), MD_OK, "%s", why);
	/* The lists point into the bytes parsed: parse them in place to read them. */
	cr_assert_eq(ssh_kexinit_parse(pkt, n, &k, why, sizeof(why)), MD_OK, "%s", why);
	cr_assert(list_is(&k, SSH_KEXINIT_KEX, "curve25519-sha256"));
	cr_assert(list_is(&k, SSH_KEXINIT_MAC_SC, "hmac-sha2-256"));
	cr_assert(k.first_kex_follows);
}

struct bad_lists_case {
	int which;         /* the list replaced */
	const char *list;  /* by this */
	const char *why;   /* the reason names */
};

static const struct bad_lists_case bad_lists_cases[] = {
	{ 0, ",curve25519-sha256", "kex_algorithms" },
	{ 1, "ssh-ed25519,", "server_host_key_algorithms" },
	{ 2, "aes128-ctr,,aes256-ctr", "encryption_algorithms_client_to_server" },
	{ 3, "aes128 ctr", "encryption_algorithms_server_to_client" },
	{ 4, "hmac\tsha1", "mac_algorithms_client_to_server" },
	{ 5, "hmac-sha2-256\x7f", "mac_algorithms_server_to_client" },
	{ 6, "z\xc3\xa9", "compression_algorithms_client_to_server" },
	{ 9, "en,", "languages_server_to_client" },
	/* RFC 4251 §6: names are at most 64 characters. */
	{ 0, "a-name-of-sixty-five-characters-is-one-more-than-rfc-4251-allows-", "kex_algorithms" },
};

Test(kexinit, lists_that_are_not_name_lists_are_refused, .timeout = 10)
{
	for (size_t i = 0; i < sizeof(bad_lists_cases) / sizeof(bad_lists_cases[0]); i++) {
		const struct bad_lists_case *c = &bad_lists_cases[i];
		const char *lists[10];
		unsigned char payload[512], pkt[600];
		struct ssh_kexinit k;
		char why[256] = "";
		size_t n;

		memcpy(lists, good_lists, sizeof(lists));
		lists[c->which] = c->list;
		n = packet_of(pkt, payload, kexinit_payload(payload, lists, 0), 4);
		cr_assert_eq(parse_exact(pkt, n, &k, why, sizeof(why)), MD_EPARSE, "list %d \"%s\"", c->which,
			     c->list);
		cr_assert(strstr(why, c->why), "list %d \"%s\": %s", c->which, c->list, why);
	}
	{
		/* 64 characters is the most, and fine. */
		const char *lists[10];
		unsigned char payload[512], pkt[600];
		struct ssh_kexinit k;
		size_t n;

		memcpy(lists, good_lists, sizeof(lists));
		lists[0] = "a-name-of-sixty-four-characters-is-the-most-rfc-4251-allows-xxxx";
		cr_assert_eq(strlen(lists[0]), 64);
		n = packet_of(pkt, payload, kexinit_payload(payload, lists, 0), 4);
		cr_assert_eq(parse_exact(pkt, n, &k, NULL, 0), MD_OK);
	}
}

Test(kexinit, malformed_packets_are_refused_with_a_reason, .timeout = 10)
{
	unsigned char payload[512], pkt[600], bad[600];
	struct ssh_kexinit k;
	char why[256];
	size_t pl = kexinit_payload(payload, good_lists, 0);
	size_t n = packet_of(pkt, payload, pl, 4);

	/* padding_length under 4 (RFC 4253 §6). */
	memcpy(bad, pkt, n);
	bad[4] = 3;
	cr_assert_eq(parse_exact(bad, n, &k, why, sizeof(why)), MD_EPARSE);
	cr_assert(strstr(why, "padding_length 3"), "%s", why);
	/* Padding that leaves no payload. */
	bad[4] = (unsigned char)(n - 5);
	cr_assert_eq(parse_exact(bad, n, &k, why, sizeof(why)), MD_EPARSE, "padding over the payload");
	/* Another message first: SSH_MSG_IGNORE (2). */
	memcpy(bad, pkt, n);
	bad[5] = 2;
	cr_assert_eq(parse_exact(bad, n, &k, why, sizeof(why)), MD_EPARSE);
	cr_assert(strstr(why, "message 2, not SSH_MSG_KEXINIT"), "%s", why);
	/* packet_length that does not match the bytes given. */
	cr_assert_eq(parse_exact(pkt, n - 1, &k, why, sizeof(why)), MD_EPARSE);
	cr_assert(strstr(why, "does not match"), "%s", why);
	cr_assert_eq(parse_exact(pkt, 4, &k, why, sizeof(why)), MD_EPARSE, "shorter than a header");
	/* A list whose length runs past the payload (into the padding, then past the end). */
	memcpy(bad, pkt, n);
	bad[5 + 17] = 0x7f;
	cr_assert_eq(parse_exact(bad, n, &k, why, sizeof(why)), MD_EPARSE);
	cr_assert(strstr(why, "kex_algorithms runs past the end"), "%s", why);
	{
		/* The last list says 2 bytes, and the payload ends there: its bytes would be the
		 * padding, here valid name characters. */
		const char *lists[10];
		unsigned char p2[600];
		size_t n2, pl2;

		memcpy(lists, good_lists, sizeof(lists));
		lists[9] = "en";
		pl2 = kexinit_payload(payload, lists, 0) - 5 - 2;
		n2 = packet_of(p2, payload, pl2, 6);
		memset(p2 + 5 + pl2, 'e', 6);
		cr_assert_eq(parse_exact(p2, n2, &k, why, sizeof(why)), MD_EPARSE, "a list may not reach the padding");
		cr_assert(strstr(why, "languages_server_to_client runs past the end"), "%s", why);
		pl = kexinit_payload(payload, good_lists, 0);
	}
	/* The payload ends inside the cookie, and before first_kex_packet_follows. */
	{
		unsigned char p2[600];
		size_t n2 = packet_of(p2, payload, 10, 4);

		cr_assert_eq(parse_exact(p2, n2, &k, why, sizeof(why)), MD_EPARSE);
		cr_assert(strstr(why, "cookie"), "%s", why);
		n2 = packet_of(p2, payload, pl - 3, 4);
		cr_assert_eq(parse_exact(p2, n2, &k, why, sizeof(why)), MD_EPARSE);
		cr_assert(strstr(why, "first_kex_packet_follows"), "%s", why);
	}
	/* first_kex_packet_follows must be a boolean. */
	pl = kexinit_payload(payload, good_lists, 2);
	n = packet_of(pkt, payload, pl, 4);
	cr_assert_eq(parse_exact(pkt, n, &k, why, sizeof(why)), MD_EPARSE);
	cr_assert(strstr(why, "not a boolean"), "%s", why);
}

Test(kexinit, scan_refuses_an_oversized_packet_before_reading_it, .timeout = 10)
{
	const char ident[] = "SSH-2.0-OpenSSH_9.2p1\r\n";
	unsigned char buf[64];
	struct ssh_kexinit k;
	const char *banner;
	size_t blen, used, n = strlen(ident);
	char why[256];

	memcpy(buf, ident, n);
	memcpy(buf + n, "\xff\xff\xff\xff", 4);
	cr_assert_eq(ssh_kexinit_scan(buf, n + 4, &k, &banner, &blen, &used, why, sizeof(why)),
		     SSH_KEXINIT_BAD);
	cr_assert(strstr(why, "packet_length 4294967295"), "%s", why);
	/* 35000 bytes in all is the most (RFC 4253 §6.1): 34996 waits for the rest, 34997 is refused. */
	memcpy(buf + n, "\x00\x00\x88\xb4", 4);
	cr_assert_eq(ssh_kexinit_scan(buf, n + 4, &k, &banner, &blen, &used, why, sizeof(why)),
		     SSH_KEXINIT_MORE, "%s", why);
	memcpy(buf + n, "\x00\x00\x88\xb5", 4);
	cr_assert_eq(ssh_kexinit_scan(buf, n + 4, &k, &banner, &blen, &used, why, sizeof(why)),
		     SSH_KEXINIT_BAD);
	/* Something that is not SSH. */
	cr_assert_eq(ssh_kexinit_scan((const unsigned char *)"\x16\x03\x01\x00\x05", 5, &k, &banner, &blen,
				      &used, why, sizeof(why)),
		     SSH_KEXINIT_BAD);
	cr_assert(strstr(why, "no SSH identification"), "%s", why);
}

Test(kexinit, scan_skips_lines_before_the_identification, .timeout = 10)
{
	const char pre[] = "Authorised use only\r\nSSH-2.0-dropbear_2022.83\r\n";
	unsigned char payload[512], buf[700];
	struct ssh_kexinit k;
	const char *banner;
	size_t blen, used, n = strlen(pre);
	char why[256] = "";

	memcpy(buf, pre, n);
	n += packet_of(buf + n, payload, kexinit_payload(payload, good_lists, 0), 4);
	cr_assert_eq(ssh_kexinit_scan(buf, n, &k, &banner, &blen, &used, why, sizeof(why)), SSH_KEXINIT_OK,
		     "%s", why);
	cr_assert_eq(blen, strlen("SSH-2.0-dropbear_2022.83"));
	cr_assert(memcmp(banner, "SSH-2.0-dropbear_2022.83", blen) == 0);
	cr_assert_eq(used, n);
}

/* Every byte of a real capture changed to each of a few values, and random changes: the
 * scanner answers, never reads outside the buffer (SAN=1), and an OK still has every
 * list inside the packet. */
Test(kexinit, mutated_captures_never_read_out_of_bounds, .timeout = 10)
{
	static const unsigned char values[] = { 0x00, 0x01, 0x04, 0x2c, 0x7f, 0x80, 0xff };
	size_t len, blen, used;
	unsigned char *orig = read_fixture_bytes("fixtures/ssh/kexinit-rsa-only.bin", &len);
	unsigned char *buf = malloc(len);
	const char *banner;
	struct ssh_kexinit k;
	unsigned seed = 4253;

	for (size_t i = 0; i < len; i++)
		for (size_t v = 0; v < sizeof(values); v++) {
			memcpy(buf, orig, len);
			buf[i] = values[v];
			if (ssh_kexinit_scan(buf, len, &k, &banner, &blen, &used, NULL, 0) == SSH_KEXINIT_OK)
				for (int l = 0; l < SSH_KEXINIT_N; l++)
					cr_assert((const unsigned char *)k.list[l] >= buf &&
						  (const unsigned char *)k.list[l] + k.len[l] <= buf + len,
						  "byte %zu = %#x: list %d outside the buffer", i, values[v], l);
		}
	for (int round = 0; round < 3000; round++) {
		memcpy(buf, orig, len);
		for (int j = 0; j < 4; j++)
			buf[rand_r(&seed) % len] = (unsigned char)rand_r(&seed);
		(void)ssh_kexinit_scan(buf, len, &k, &banner, &blen, &used, NULL, 0);
		(void)ssh_kexinit_scan(buf, rand_r(&seed) % len, &k, &banner, &blen, &used, NULL, 0);
	}
	free(buf);
	free(orig);
}

/* libssh2 1.10.0's lists (libssh2_session_supported_algs on Debian 12), with the host key
 * algorithms meshdoctor asks for (ssh_hostkey_order()). */
static const char *const lib110_kex[] = {
	"curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
	"ecdh-sha2-nistp521", "diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512",
	"diffie-hellman-group18-sha512", "diffie-hellman-group14-sha256", "diffie-hellman-group14-sha1",
	"diffie-hellman-group1-sha1", "diffie-hellman-group-exchange-sha1",
};
static const char *const lib110_hostkey[] = {
	"ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa",
};
static const char *const lib110_cipher[] = {
	"aes128-ctr", "aes192-ctr", "aes256-ctr", "aes256-cbc", "rijndael-cbc@lysator.liu.se", "aes192-cbc",
	"aes128-cbc", "blowfish-cbc", "arcfour128", "arcfour", "cast128-cbc", "3des-cbc",
};
static const char *const lib110_mac[] = {
	"hmac-sha2-256", "hmac-sha2-512", "hmac-sha1", "hmac-sha1-96", "hmac-md5", "hmac-md5-96",
	"hmac-ripemd160", "hmac-ripemd160@openssh.com",
};
#define ALGS(a) { .v = (a), .n = sizeof(a) / sizeof((a)[0]) }
static const struct ssh_alg_list lib110[SSH_ALG_N] = {
	ALGS(lib110_kex), ALGS(lib110_hostkey), ALGS(lib110_cipher), ALGS(lib110_mac),
};

static enum ssh_alg_cat no_common_of_fixture(const char *rel, const struct ssh_alg_list *client)
{
	unsigned char *buf;
	struct ssh_kexinit k;
	enum ssh_alg_cat c;

	scan_fixture(rel, &buf, &k);
	c = ssh_kex_no_common(&k, client);
	free(buf);
	return c;
}

Test(kexinit, categories_without_a_common_algorithm_in_real_captures, .timeout = 10)
{
	cr_assert_eq(no_common_of_fixture("fixtures/ssh/kexinit-rsa-only.bin", lib110), SSH_ALG_HOSTKEY);
	cr_assert_eq(no_common_of_fixture("fixtures/ssh/kexinit-chacha-only.bin", lib110), SSH_ALG_CIPHER);
	cr_assert_eq(no_common_of_fixture("fixtures/ssh/kexinit-default.bin", lib110), SSH_ALG_N);
	cr_assert_str_eq(ssh_alg_cat_name(SSH_ALG_HOSTKEY), "hostkey");
	cr_assert_str_eq(ssh_alg_cat_name(SSH_ALG_CIPHER), "cipher");
	cr_assert_str_eq(ssh_alg_cat_name(SSH_ALG_N), "none");
	/* With rsa-sha2-512 (libssh2 1.11), the RSA-only server has a host key algorithm in common. */
	{
		static const char *const hk111[] = { "ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa" };
		struct ssh_alg_list lib[SSH_ALG_N];

		memcpy(lib, lib110, sizeof(lib));
		lib[SSH_ALG_HOSTKEY] = (struct ssh_alg_list)ALGS(hk111);
		cr_assert_eq(no_common_of_fixture("fixtures/ssh/kexinit-rsa-only.bin", lib), SSH_ALG_N);
	}
}

/* A packet of the given kex, host key, cipher (c2s, s2c) and MAC (c2s, s2c) lists, parsed. */
static enum ssh_alg_cat no_common_of(const char *kex, const char *hk, const char *ccs, const char *csc,
				     const char *mcs, const char *msc)
{
	const char *lists[10] = { kex, hk, ccs, csc, mcs, msc, "none", "none", NULL, NULL };
	unsigned char payload[1024], pkt[1100];
	struct ssh_kexinit k;
	size_t n = packet_of(pkt, payload, kexinit_payload(payload, lists, 0), 4);

	cr_assert_eq(ssh_kexinit_parse(pkt, n, &k, NULL, 0), MD_OK);
	return ssh_kex_no_common(&k, lib110);
}

Test(kexinit, categories_in_the_order_of_the_key_exchange, .timeout = 10)
{
	/* The first category without a common algorithm is named, in RFC 4253 §7.1 order. */
	cr_assert_eq(no_common_of("sntrup761x25519-sha512@openssh.com", "rsa-sha2-512", "aes128-gcm@openssh.com",
				  "aes128-gcm@openssh.com", "umac-64@openssh.com", "umac-64@openssh.com"),
		     SSH_ALG_KEX);
	cr_assert_eq(no_common_of("curve25519-sha256", "", "aes128-ctr", "aes128-ctr", "hmac-sha1", "hmac-sha1"),
		     SSH_ALG_HOSTKEY, "an empty list has nothing in common");
	/* One direction is enough to fail. */
	cr_assert_eq(no_common_of("curve25519-sha256", "ssh-ed25519", "aes256-ctr", "aes256-gcm@openssh.com",
				  "hmac-sha1", "hmac-sha1"),
		     SSH_ALG_CIPHER);
	cr_assert_eq(no_common_of("curve25519-sha256", "ssh-ed25519", "aes256-ctr", "aes256-ctr",
				  "hmac-sha2-256-etm@openssh.com", "hmac-sha2-256-etm@openssh.com"),
		     SSH_ALG_MAC);
	cr_assert_eq(no_common_of("curve25519-sha256", "ssh-ed25519", "aes256-ctr", "aes256-ctr", "hmac-sha1",
				  "umac-128-etm@openssh.com"),
		     SSH_ALG_MAC, "server to client");
	cr_assert_eq(no_common_of("ecdh-sha2-nistp256,curve25519-sha256", "ssh-ed25519", "aes256-ctr",
				  "aes256-ctr", "hmac-sha1", "hmac-sha1"),
		     SSH_ALG_N);
}

Test(kexinit, an_aead_cipher_needs_no_mac, .timeout = 10)
{
	static const char *const ciphers[] = { "aes256-gcm@openssh.com", "aes256-ctr" };
	const char *lists[10] = { "curve25519-sha256", "ssh-ed25519", "aes256-gcm@openssh.com,aes256-ctr",
				  "aes256-gcm@openssh.com,aes256-ctr", "umac-64-etm@openssh.com",
				  "umac-64-etm@openssh.com", "none", "none", NULL, NULL };
	unsigned char payload[1024], pkt[1100];
	struct ssh_kexinit k;
	struct ssh_alg_list lib[SSH_ALG_N];
	size_t n = packet_of(pkt, payload, kexinit_payload(payload, lists, 0), 4);

	cr_assert_eq(ssh_kexinit_parse(pkt, n, &k, NULL, 0), MD_OK);
	memcpy(lib, lib110, sizeof(lib));
	lib[SSH_ALG_CIPHER] = (struct ssh_alg_list)ALGS(ciphers);
	cr_assert_eq(ssh_kex_no_common(&k, lib), SSH_ALG_N, "aes256-gcm is chosen: no MAC negotiated");
	cr_assert_eq(ssh_kex_no_common(&k, lib110), SSH_ALG_MAC, "aes256-ctr is chosen: a MAC is needed");
	cr_assert(ssh_cipher_is_aead("chacha20-poly1305@openssh.com"));
	cr_assert_not(ssh_cipher_is_aead("aes256-ctr"));
}

Test(kexinit, the_client_order_decides, .timeout = 10)
{
	static const char *const client[] = { "b", "c", "a" };
	struct ssh_alg_list l = ALGS(client);

	cr_assert_str_eq(ssh_alg_pick(&l, "a,c,b", 5), "b");
	cr_assert_str_eq(ssh_alg_pick(&l, "a,c", 3), "c");
	cr_assert_null(ssh_alg_pick(&l, "d,e", 3));
	cr_assert_null(ssh_alg_pick(&l, "", 0));
	cr_assert_not(ssh_namelist_has("aes128-ctr,aes256-ctr", 21, "aes128"), "whole names only");
	cr_assert(ssh_namelist_has("aes128-ctr,aes256-ctr", 21, "aes256-ctr"));
	cr_assert_not(ssh_namelist_has("aes128-ctr,aes256-ctr", 20, "aes256-ctr"), "only len bytes");
}

