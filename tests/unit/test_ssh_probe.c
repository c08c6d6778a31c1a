/* test_ssh_probe.c — the ssh probe without a network: banner parsing and scanning, key
 * files, fingerprints, the ssh-agent protocol over a socketpair, known_hosts (plain,
 * patterns, [host]:port, hashed, markers, line numbers, changed, accept-new; checked
 * against `ssh-keygen -F`), host key algorithm order, OS and sudo detection over a replay
 * session (Windows outputs from fixtures/windows/), the replay session itself, the
 * server's SSH_MSG_KEXINIT (captures in fixtures/ssh/, truncated and hostile packets) and
 * the algorithm categories it has in common with libssh2, and every rule in
 * rules/ssh.rules fired from facts.
 *
 * The private keys below are throw-away test keys generated for this file. */
#include "core/facts.h"
#include "core/proc.h"
#include "core/session.h"
#include "core/session_ssh.h"
#include "tests/support/session_replay.h"
#include "probes/ssh.h"
#include "rules/engine.h"

#include "tests/support/fact_spec.h"
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <libssh2.h>
#include <openssl/evp.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ==================================================================================== */
/* Fixtures                                                                             */
/* ==================================================================================== */

static const char KEY_ED25519[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
	"QyNTUxOQAAACBh1MJYACHp5m/XJKVOVFsokVEaExnhylCsZyAHTqVj/gAAAJCNJGZ2jSRm\n"
	"dgAAAAtzc2gtZWQyNTUxOQAAACBh1MJYACHp5m/XJKVOVFsokVEaExnhylCsZyAHTqVj/g\n"
	"AAAECLsjMpVlzfN1VrB1lgsPEruBuBOhUYWjkJZlXiYVXA9GHUwlgAIenmb9ckpU5UWyiR\n"
	"URoTGeHKUKxnIAdOpWP+AAAADHRlc3QtZWQyNTUxOQE=\n"
	"-----END OPENSSH PRIVATE KEY-----\n";

static const char KEY_ED25519_ENC[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABBpDyua5z\n"
	"UaCuZXzItQezSuAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIFKYF8tzrXCpMGYJ\n"
	"TuuHV8lm6hR2qMrhLic7SoZruftxAAAAkGpt/zG5NHpwexG/FSuV/CGpLaeSwjlbVFTZvb\n"
	"6bG2X4ic51mElgDzPQkKm3J93pFsE0x7j8A5s4gU+6MP49OEQlWwZQWdxGlJ2v879JKjbV\n"
	"JWL04TmxPrOYVC7DCnEKQLKrLFog5mbwhDqHDdmIm5B1E4yW+KFfYjwJ3NzLo0aQFyq63R\n"
	"ORxHbGy2VX/unWHw==\n"
	"-----END OPENSSH PRIVATE KEY-----\n";

static const char KEY_RSA[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAlwAAAAdzc2gtcn\n"
	"NhAAAAAwEAAQAAAIEA1bAZBf3htykFlQujRFQvHtedME2EBUUUT8oQIbBr5/Ob0X9pR8Tj\n"
	"fmk1miYT2A1kNhGex2WtSoZravB3DTWLfvS4Sh7rMnSZOcxjwLBV1XYgtqTRSqcWqLxBhJ\n"
	"E5ITHRZMWMbSGSZoApJC+ON5nLXe8DVkWxRDVh8bDAmr4ZDScAAAIAP3Z65j92euYAAAAH\n"
	"c3NoLXJzYQAAAIEA1bAZBf3htykFlQujRFQvHtedME2EBUUUT8oQIbBr5/Ob0X9pR8Tjfm\n"
	"k1miYT2A1kNhGex2WtSoZravB3DTWLfvS4Sh7rMnSZOcxjwLBV1XYgtqTRSqcWqLxBhJE5\n"
	"ITHRZMWMbSGSZoApJC+ON5nLXe8DVkWxRDVh8bDAmr4ZDScAAAADAQABAAAAgAjnlLNeOA\n"
	"i06emjGYOganJDk+ZOZKD/lvAYQIHW4zhAO48IWy/FcaFz6uroiU0oibODGnW+s/D2FwXW\n"
	"zW88evqU48mzzOcFMCAuo763y8glYR4LQ4j/uiAiqUtLliFZCUrE1ZklL6i/Dcey4hoQaw\n"
	"0DdMSoDFzSij1txok6wVdpAAAAQQCVihJ+DXUbP7450E1T0Z8hqeqS0DBggeIn0pzwRfuD\n"
	"YTDn/hwy4fEMndlKGzAXzaVzOjPRHrr9r9tt+Fwf93G+AAAAQQDq9WNxRYjUaYjJuTs0tM\n"
	"65//ERSkorpPSZkulAgoPOUkGLM/ExpxQhwdAnog5zQ5U3wrFxpGH7rQ+tK9H3wqPzAAAA\n"
	"QQDo0w/2POE0R49hWU9wVWJ9ZGlNQ0xKyDy7h4WUQkqaFhMv0ACw8fvH/2U3d3YPpb1rcE\n"
	"CjlfELlNPDp6AQnmL9AAAACHRlc3QtcnNhAQI=\n"
	"-----END OPENSSH PRIVATE KEY-----\n";

static const char KEY_ECDSA[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAaAAAABNlY2RzYS\n"
	"1zaGEyLW5pc3RwMjU2AAAACG5pc3RwMjU2AAAAQQQ7eXut81sef3zavWefLBMSEIbCamv4\n"
	"MacJW21Z/FziTEKeIBdQ1x0j9xHYnM2qjNK3TH5K4E1ApCeUh36q66J5AAAAoIsTpaWLE6\n"
	"WlAAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBDt5e63zWx5/fNq9\n"
	"Z58sExIQhsJqa/gxpwlbbVn8XOJMQp4gF1DXHSP3EdiczaqM0rdMfkrgTUCkJ5SHfqrron\n"
	"kAAAAhAPO9xjqQhrwO16+r/bMMIDArzIBH+gvv4yZ8Rtsjy22jAAAAB3Jvb3RAdm0=\n"
	"-----END OPENSSH PRIVATE KEY-----\n";

/* PEM keys: only the headers matter to ssh_key_info(). */
static const char KEY_RSA_PEM[] =
	"-----BEGIN RSA PRIVATE KEY-----\n"
	"MIICXgIBAAKBgQDLzGk3+h7OCa7JiMfcsPyzpUiHfn73Ko1Nfe9/1m20JUB0zZOo\n"
	"-----END RSA PRIVATE KEY-----\n";

static const char KEY_RSA_PEM_ENC[] =
	"-----BEGIN RSA PRIVATE KEY-----\n"
	"Proc-Type: 4,ENCRYPTED\n"
	"DEK-Info: AES-128-CBC,02AF216D677C3874882E80C1162CC300\n"
	"\n"
	"6MKldymVyjTxH70NY6Luq+jPL7TihaAq+wqx69Mh7j1Th6WH/wpsmJGs0RKm7Ug4\n"
	"-----END RSA PRIVATE KEY-----\n";

/* Public halves (ssh-keygen -lf: SHA256:dp4r... and SHA256:deyg...). */
static const char PUB_A[] = "AAAAC3NzaC1lZDI1NTE5AAAAIGHUwlgAIenmb9ckpU5UWyiRURoTGeHKUKxnIAdOpWP+";
static const char PUB_A_FP[] = "SHA256:dp4rJVnCfbq+5171eNFJvqDd6Hl/QvwSMeIF8PWHytU";
static const char PUB_B[] = "AAAAC3NzaC1lZDI1NTE5AAAAIJz+qOWW3qEdySn1hpV+rXwJXV7TtJnVWyRfilL9LblR";
static const char PUB_B_FP[] = "SHA256:deygHrHunhONVjfd0lrYpgSkxNEfHgsMmLlQM09p5Og";
/* `ssh-keygen -H` of "[10.1.2.3]:2222 ssh-ed25519 PUB_A". */
static const char HASHED_A[] =
	"|1|SJAB9Uzaw/D8nwPeTHnGCLp6Xfc=|6mQZEldwRaHCHw142v/1VYZDoE8= ssh-ed25519 "
	"AAAAC3NzaC1lZDI1NTE5AAAAIGHUwlgAIenmb9ckpU5UWyiRURoTGeHKUKxnIAdOpWP+";

static size_t blob_of(const char *b64, unsigned char *out)
{
	int n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)strlen(b64));
	size_t pad = 0;

	cr_assert_gt(n, 0, "base64 %s", b64);
	for (const char *p = b64 + strlen(b64); p > b64 && p[-1] == '='; p--)
		pad++;
	return (size_t)n - pad;
}

static char *read_fixture(const char *rel)
{
	FILE *fp = fopen(rel, "rb");
	char *buf;
	long n;

	cr_assert(fp, "fixture %s (tests run from the repository root)", rel);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	cr_assert(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return buf;
}

static char tmpdir[64];

static void mk_tmp(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/md-test-ssh-XXXXXX");
	cr_assert(mkdtemp(tmpdir));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tmp(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = '\0';
}

static const char *tmp_path(const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", tmpdir, name);
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	cr_assert(fp, "%s", path);
	fputs(text, fp);
	fclose(fp);
}

/* ==================================================================================== */
/* Banner                                                                               */
/* ==================================================================================== */

struct banner_case {
	const char *line;
	int rc;
	const char *software;
	const char *comments;
	bool windows;
	int major, minor;
	bool at_least_8_8;
};

static const struct banner_case banner_parse_cases[] = {
	{ "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", MD_OK, "OpenSSH_9.2p1", "Debian-2+deb12u3",
	  false, 9, 2, true },
	{ "SSH-2.0-OpenSSH_for_Windows_9.5", MD_OK, "OpenSSH_for_Windows_9.5", "", true, 9, 5,
	  true },
	{ "SSH-2.0-OpenSSH_for_Windows_8.1", MD_OK, "OpenSSH_for_Windows_8.1", "", true, 8, 1,
	  false },
	{ "SSH-2.0-OpenSSH_8.8", MD_OK, "OpenSSH_8.8", "", false, 8, 8, true },
	{ "SSH-2.0-OpenSSH_8.4p1 Raspbian-5", MD_OK, "OpenSSH_8.4p1", "Raspbian-5", false, 8, 4,
	  false },
	{ "SSH-2.0-OpenSSH_10.0", MD_OK, "OpenSSH_10.0", "", false, 10, 0, true },
	{ "SSH-2.0-dropbear_2022.83", MD_OK, "dropbear_2022.83", "", false, -1, -1, false },
	{ "SSH-1.99-Cisco-1.25", MD_OK, "Cisco-1.25", "", false, -1, -1, false },
	{ "HTTP/1.1 400 Bad Request", MD_EPARSE, "", "", false, -1, -1, false },
	{ "SSH-2.0-", MD_EPARSE, "", "", false, -1, -1, false },
};

static void banner_parse_one(const struct banner_case *c)
{
	struct ssh_banner b;

	cr_assert_eq(ssh_banner_parse(c->line, &b), c->rc, "rc for %s", c->line);
	if (c->rc)
		return;
	cr_assert_str_eq(b.software, c->software, "software of %s", c->line);
	cr_assert_str_eq(b.comments, c->comments, "comments of %s", c->line);
	cr_assert_eq(b.windows, c->windows, "windows for %s", c->line);
	cr_assert_eq(b.openssh_major, c->major, "major of %s", c->line);
	cr_assert_eq(b.openssh_minor, c->minor, "minor of %s", c->line);
	cr_assert_eq(ssh_openssh_at_least(&b, 8, 8), c->at_least_8_8, ">= 8.8 for %s", c->line);
}

Test(banner, parse, .timeout = 10)
{
	for (size_t i = 0; i < sizeof(banner_parse_cases) / sizeof(banner_parse_cases[0]); i++)
		banner_parse_one(&banner_parse_cases[i]);
}

Test(banner, scan_finds_the_ssh_line_after_other_lines, .timeout = 10)
{
	const char buf[] = "Welcome to the box\r\nauthorised use only\r\nSSH-2.0-OpenSSH_9.2p1\r\n";
	size_t skip, len;
	bool other = false;

	cr_assert_eq(ssh_banner_scan(buf, strlen(buf), &skip, &len, &other), SSH_SCAN_BANNER);
	cr_assert_eq(skip, strlen("Welcome to the box\r\nauthorised use only\r\n"));
	cr_assert_eq(len, strlen("SSH-2.0-OpenSSH_9.2p1"));
	cr_assert(other);
}

Test(banner, scan_plain_banner_lf_only, .timeout = 10)
{
	const char buf[] = "SSH-2.0-OpenSSH_9.2p1\n";
	size_t skip, len;
	bool other = false;

	cr_assert_eq(ssh_banner_scan(buf, strlen(buf), &skip, &len, &other), SSH_SCAN_BANNER);
	cr_assert_eq(skip, 0);
	cr_assert_eq(len, strlen("SSH-2.0-OpenSSH_9.2p1"));
	cr_assert_not(other);
}

Test(banner, scan_waits_for_an_incomplete_ssh_line, .timeout = 10)
{
	size_t skip, len;
	bool other = false;

	cr_assert_eq(ssh_banner_scan("SSH-2.0-Open", 12, &skip, &len, &other), SSH_SCAN_MORE);
	cr_assert_not(other);
	cr_assert_eq(ssh_banner_scan("SS", 2, &skip, &len, &other), SSH_SCAN_MORE);
	cr_assert_not(other);
}

Test(banner, scan_flags_http_and_binary, .timeout = 10)
{
	const char http[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
	const char bin[] = "\x16\x03\x01\x00\x05hello";
	size_t skip, len;
	bool other = false;

	cr_assert_eq(ssh_banner_scan(http, strlen(http), &skip, &len, &other), SSH_SCAN_MORE);
	cr_assert(other, "HTTP lines are not SSH lines");
	other = false;
	cr_assert_eq(ssh_banner_scan(bin, sizeof(bin) - 1, &skip, &len, &other), SSH_SCAN_NOT_SSH,
		     "a NUL byte is never SSH");
	other = false;
	cr_assert_eq(ssh_banner_scan("HTT", 3, &skip, &len, &other), SSH_SCAN_MORE);
	cr_assert(other, "\"HTT\" cannot start \"SSH-\"");
}

Test(banner, scan_rejects_an_endless_line, .timeout = 10)
{
	char buf[2048];
	size_t skip, len;
	bool other = false;

	memset(buf, 'A', sizeof(buf));
	cr_assert_eq(ssh_banner_scan(buf, sizeof(buf), &skip, &len, &other), SSH_SCAN_NOT_SSH);
}

Test(banner, escape_is_printable, .timeout = 10)
{
	char out[128];

	ssh_escape("HTTP/1.1 400\r\n\x01\"\\", 17, out, sizeof(out));
	cr_assert_str_eq(out, "HTTP/1.1 400\\r\\n\\x01\\\"\\\\");
	ssh_escape("abcdef", 6, out, 4);
	cr_assert_str_eq(out, "abc", "truncates at the buffer, never overflows");
}

/* ==================================================================================== */
/* The server's SSH_MSG_KEXINIT (RFC 4253 §7.1) and the algorithm categories            */
/* ==================================================================================== */

/* The whole of a binary fixture; *len its size. */
static unsigned char *read_fixture_bytes(const char *rel, size_t *len)
{
	FILE *fp = fopen(rel, "rb");
	unsigned char *buf;
	long n;

	cr_assert(fp, "fixture %s (tests run from the repository root)", rel);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	cr_assert_gt(n, 0, "%s is empty", rel);
	buf = malloc((size_t)n);
	cr_assert(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

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

/* Scans a fixture whole, and checks that every shorter prefix (copied into a buffer of
 * exactly its size, so that a read past the end is caught under SAN=1) asks for more. */
static void scan_fixture(const char *rel, unsigned char **bytes, struct ssh_kexinit *k)
{
	size_t len, blen, used;
	const char *banner;
	char why[256];
	unsigned char *buf = read_fixture_bytes(rel, &len);

	for (size_t i = 0; i < len; i++) {
		unsigned char *part = malloc(i ? i : 1);
		struct ssh_kexinit pk;

		memcpy(part, buf, i);
		cr_assert_eq(ssh_kexinit_scan(part, i, &pk, &banner, &blen, &used, why, sizeof(why)),
			     SSH_KEXINIT_MORE, "%s: the first %zu of %zu bytes: %s", rel, i, len, why);
		free(part);
	}
	cr_assert_eq(ssh_kexinit_scan(buf, len, k, &banner, &blen, &used, why, sizeof(why)), SSH_KEXINIT_OK,
		     "%s: %s", rel, why);
	cr_assert_eq(used, len, "%s: the capture ends with the packet", rel);
	cr_assert_eq(blen, strlen("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10"));
	cr_assert(memcmp(banner, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10", blen) == 0);
	*bytes = buf;
}

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

/* ==================================================================================== */
/* Keys                                                                                 */
/* ==================================================================================== */

struct key_case {
	const char *text;
	const char *type;
	bool encrypted;
};

static const struct key_case keys_info_cases[] = {
	{ KEY_ED25519, "ssh-ed25519", false },
	{ KEY_ED25519_ENC, "ssh-ed25519", true },
	{ KEY_RSA, "ssh-rsa", false },
	{ KEY_ECDSA, "ecdsa-sha2-nistp256", false },
	{ KEY_RSA_PEM, "ssh-rsa", false },
	{ KEY_RSA_PEM_ENC, "ssh-rsa", true },
};

static void keys_info_one(const struct key_case *c)
{
	struct ssh_keyinfo ki;

	cr_assert_eq(ssh_key_info(c->text, strlen(c->text), &ki), MD_OK, "%.40s", c->text);
	cr_assert_str_eq(ki.type, c->type);
	cr_assert_eq(ki.encrypted, c->encrypted, "encrypted for a %s key", c->type);
}

Test(keys, info, .timeout = 10)
{
	for (size_t i = 0; i < sizeof(keys_info_cases) / sizeof(keys_info_cases[0]); i++)
		keys_info_one(&keys_info_cases[i]);
}

Test(keys, info_rejects_a_public_key, .timeout = 10)
{
	struct ssh_keyinfo ki;
	const char *pub = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGHUwlgAIenmb9ckpU5UWyiRURoTGeHKUKxnIAdOpWP+ x";

	cr_assert_eq(ssh_key_info(pub, strlen(pub), &ki), MD_EPARSE);
}

Test(keys, fingerprint_matches_ssh_keygen, .timeout = 10)
{
	unsigned char blob[256];
	size_t n = blob_of(PUB_A, blob);
	char fp[80], type[48];

	cr_assert_eq(ssh_fingerprint(blob, n, fp, sizeof(fp)), MD_OK);
	cr_assert_str_eq(fp, PUB_A_FP);
	cr_assert_eq(ssh_blob_type(blob, n, type, sizeof(type)), MD_OK);
	cr_assert_str_eq(type, "ssh-ed25519");
	cr_assert_eq(ssh_blob_type(blob, 3, type, sizeof(type)), MD_EPARSE, "truncated blob");
}

Test(keys, info_gives_the_public_key_of_an_openssh_key, .timeout = 10)
{
	struct ssh_keyinfo ki;
	unsigned char blob[256];
	size_t n = blob_of(PUB_A, blob);

	cr_assert_eq(ssh_key_info(KEY_ED25519, strlen(KEY_ED25519), &ki), MD_OK);
	cr_assert_eq(ki.pub_len, n);
	cr_assert_eq(memcmp(ki.pub, blob, n), 0);
	/* Encrypted keys keep their public part in the clear. */
	cr_assert_eq(ssh_key_info(KEY_ED25519_ENC, strlen(KEY_ED25519_ENC), &ki), MD_OK);
	cr_assert_gt(ki.pub_len, 0);
	cr_assert_eq(ssh_key_info(KEY_RSA_PEM, strlen(KEY_RSA_PEM), &ki), MD_OK);
	cr_assert_eq(ki.pub_len, 0, "PEM does not say");
}

/* Private key material is wiped before it is freed.  The test binary's free() takes
 * the place of the C library's (symbol interposition; not under ASan, whose free is its
 * own): while armed, it looks for the marker in every block freed. */
#ifndef __SANITIZE_ADDRESS__
#include <malloc.h>
extern void __libc_free(void *p);
static const char *free_marker;
static bool marker_freed;

void free(void *p)
{
	if (p && free_marker && !marker_freed &&
	    memmem(p, malloc_usable_size(p), free_marker, strlen(free_marker)))
		marker_freed = true;
	__libc_free(p);
}

static void watch_free(const char *marker)
{
	marker_freed = false;
	free_marker = marker;
}

static bool unwatch_free(void)
{
	free_marker = NULL;
	return marker_freed;
}

Test(keys, private_key_material_is_wiped_before_free, .timeout = 10)
{
	struct ssh_keyinfo ki;
	unsigned char blob[2048];
	char path[] = "/tmp/md-test-key-XXXXXX";
	size_t n;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, KEY_ED25519, strlen(KEY_ED25519)), (ssize_t)strlen(KEY_ED25519));
	close(fd);
	/* The decoded key: "openssh-key-v1", then the public and the private section. */
	watch_free("openssh-key-v1");
	cr_assert_eq(ssh_key_info(KEY_ED25519, strlen(KEY_ED25519), &ki), MD_OK);
	cr_assert_not(unwatch_free(), "ssh_key_info freed the decoded key unwiped");
	/* The file's text, read to find its type or its public key (no .pub beside it). */
	watch_free("PRIVATE KEY");
	cr_assert_eq(ssh_identity_info(path, &ki), MD_OK);
	cr_assert_not(unwatch_free(), "ssh_identity_info freed the key file's text unwiped");
	cr_assert_str_eq(ki.type, "ssh-ed25519");
	watch_free("PRIVATE KEY");
	cr_assert(ssh_identity_blob(path, blob, sizeof(blob), &n));
	cr_assert_not(unwatch_free(), "ssh_identity_blob freed the key file's text unwiped");
	cr_assert_eq(n, ki.pub_len);
	unlink(path);
}
#endif

/* ==================================================================================== */
/* ssh-agent protocol (over a socketpair: no network)                                   */
/* ==================================================================================== */

static unsigned char *put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	return p + 4;
}

static unsigned char *putstr(unsigned char *p, const void *s, size_t n)
{
	p = put32(p, (uint32_t)n);
	memcpy(p, s, n);
	return p + n;
}

/* SSH_AGENT_IDENTITIES_ANSWER with PUB_A ("laptop") and PUB_B (""). */
static size_t identities_answer(unsigned char *msg)
{
	unsigned char a[256], b[256], *p = msg;
	size_t na = blob_of(PUB_A, a), nb = blob_of(PUB_B, b);

	*p++ = 12;
	p = put32(p, 2);
	p = putstr(p, a, na);
	p = putstr(p, "laptop", 6);
	p = putstr(p, b, nb);
	p = putstr(p, "", 0);
	return (size_t)(p - msg);
}

static void nonblocking_pair(int sv[2])
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
}

Test(agent, silent_agent_times_out_at_the_deadline, .timeout = 10)
{
	int sv[2];
	unsigned char req = 11, *resp = (unsigned char *)"x";
	size_t resp_len = 1;
	int64_t t0 = md_now_ms();
	struct md_deadline dl = md_deadline_after(t0, 300);

	nonblocking_pair(sv);
	cr_assert_eq(ssh_agent_request(sv[0], &req, 1, &resp, &resp_len, &dl), MD_ETIMEOUT);
	cr_assert_geq(md_now_ms() - t0, 290);
	cr_assert_leq(md_now_ms() - t0, 600, "took %lld ms", (long long)(md_now_ms() - t0));
	cr_assert_null(resp);
	cr_assert_eq(resp_len, 0);
	close(sv[0]);
	close(sv[1]);
}

Test(agent, agent_that_sends_half_an_answer_times_out, .timeout = 10)
{
	int sv[2];
	unsigned char req = 11, *resp, half[] = { 0, 0, 0, 40, 12, 0 };
	size_t resp_len;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 300);

	nonblocking_pair(sv);
	cr_assert_eq(write(sv[1], half, sizeof(half)), (ssize_t)sizeof(half));
	cr_assert_eq(ssh_agent_request(sv[0], &req, 1, &resp, &resp_len, &dl), MD_ETIMEOUT);
	close(sv[0]);
	close(sv[1]);
}

Test(agent, closed_agent_is_an_io_error, .timeout = 10)
{
	int sv[2];
	unsigned char req = 11, *resp;
	size_t resp_len;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 1000);

	nonblocking_pair(sv);
	close(sv[1]);
	cr_assert_eq(ssh_agent_request(sv[0], &req, 1, &resp, &resp_len, &dl), MD_EIO);
	close(sv[0]);
}

Test(agent, request_sends_a_framed_message_and_reads_the_answer, .timeout = 10)
{
	int sv[2];
	unsigned char req = 11, *resp, msg[1024], framed[1100], got[16];
	size_t len = identities_answer(msg), resp_len;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 1000);
	struct ssh_agent_keys keys;
	unsigned char a[256];
	size_t na = blob_of(PUB_A, a);

	nonblocking_pair(sv);
	put32(framed, (uint32_t)len);
	memcpy(framed + 4, msg, len);
	cr_assert_eq(write(sv[1], framed, len + 4), (ssize_t)(len + 4));
	cr_assert_eq(ssh_agent_request(sv[0], &req, 1, &resp, &resp_len, &dl), MD_OK);
	cr_assert_eq(read(sv[1], got, sizeof(got)), 5, "the request: length 1, type 11");
	cr_assert_eq(memcmp(got, "\0\0\0\1\13", 5), 0);
	cr_assert_eq(resp_len, len);
	cr_assert_eq(ssh_agent_parse_identities(resp, resp_len, &keys), MD_OK);
	cr_assert_eq(keys.n, 2);
	cr_assert_str_eq(keys.v[0].comment, "laptop");
	cr_assert_eq(keys.v[0].blob_len, na);
	cr_assert_eq(memcmp(keys.v[0].blob, a, na), 0);
	cr_assert_str_eq(keys.v[1].comment, "");
	ssh_agent_keys_free(&keys);
	free(resp);
	close(sv[0]);
	close(sv[1]);
}

Test(agent, oversized_answer_is_refused, .timeout = 10)
{
	int sv[2];
	unsigned char req = 11, *resp, hdr[] = { 0, 0x10, 0, 0 }; /* 1 MiB */
	size_t resp_len;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 1000);

	nonblocking_pair(sv);
	cr_assert_eq(write(sv[1], hdr, 4), 4);
	cr_assert_eq(ssh_agent_request(sv[0], &req, 1, &resp, &resp_len, &dl), MD_ETOOBIG);
	close(sv[0]);
	close(sv[1]);
}

Test(agent, identities_parser_rejects_bad_answers, .timeout = 10)
{
	unsigned char msg[1024];
	size_t len = identities_answer(msg);
	struct ssh_agent_keys keys;

	cr_assert_eq(ssh_agent_parse_identities(msg, len - 1, &keys), MD_EPARSE, "truncated");
	cr_assert_eq(keys.n, 0);
	msg[0] = 5; /* SSH_AGENT_FAILURE */
	cr_assert_eq(ssh_agent_parse_identities(msg, len, &keys), MD_EPARSE);
	msg[0] = 12;
	put32(msg + 1, 0x7fffffff);
	cr_assert_eq(ssh_agent_parse_identities(msg, len, &keys), MD_EPARSE, "absurd count");
	put32(msg + 1, 0);
	cr_assert_eq(ssh_agent_parse_identities(msg, 5, &keys), MD_OK, "no keys");
	cr_assert_eq(keys.n, 0);
	ssh_agent_keys_free(&keys);
}

Test(agent, signature_parser, .timeout = 10)
{
	unsigned char msg[256], inner[128], *p = inner, *q = msg;
	const unsigned char *sig;
	size_t sig_len;
	char alg[64];

	p = putstr(p, "ssh-ed25519", 11);
	p = putstr(p, "SIGNATURE-BYTES", 15);
	*q++ = 14;
	q = putstr(q, inner, (size_t)(p - inner));
	cr_assert_eq(ssh_agent_parse_signature(msg, (size_t)(q - msg), alg, sizeof(alg), &sig, &sig_len), MD_OK);
	cr_assert_str_eq(alg, "ssh-ed25519");
	cr_assert_eq(sig_len, 15);
	cr_assert_eq(memcmp(sig, "SIGNATURE-BYTES", 15), 0);
	cr_assert_eq(ssh_agent_parse_signature(msg, (size_t)(q - msg) - 1, alg, sizeof(alg), &sig, &sig_len),
		     MD_EPARSE);
	msg[0] = 5;
	cr_assert_eq(ssh_agent_parse_signature(msg, 1, alg, sizeof(alg), &sig, &sig_len), MD_EAUTH,
		     "SSH_AGENT_FAILURE: refused");
}

Test(agent, algorithm_in_the_signed_userauth_data, .timeout = 10)
{
	unsigned char data[512], *p = data;
	char alg[64];

	p = putstr(p, "0123456789abcdef0123456789abcdef", 32); /* session id */
	*p++ = 50;
	p = putstr(p, "steve", 5);
	p = putstr(p, "ssh-connection", 14);
	p = putstr(p, "publickey", 9);
	*p++ = 1;
	p = putstr(p, "rsa-sha2-512", 12);
	p = putstr(p, "KEYBLOB", 7);
	cr_assert_eq(ssh_userauth_sign_alg(data, (size_t)(p - data), alg, sizeof(alg)), MD_OK);
	cr_assert_str_eq(alg, "rsa-sha2-512");
	data[36] = 51;
	cr_assert_eq(ssh_userauth_sign_alg(data, (size_t)(p - data), alg, sizeof(alg)), MD_EPARSE);
}

/* draft-miller-ssh-agent §5.3: the SHA-2 flags go with the RSA algorithms and their
 * certificate forms; the signature must name the algorithm asked for, without the
 * certificate suffix. */
Test(agent, sign_flags_and_expected_signature_algorithm, .timeout = 10)
{
	static const struct { const char *alg; uint32_t flags; const char *sig; } cases[] = {
		{ "ssh-ed25519", 0, "ssh-ed25519" },
		{ "ssh-rsa", 0, "ssh-rsa" },
		{ "rsa-sha2-256", 2, "rsa-sha2-256" },
		{ "rsa-sha2-512", 4, "rsa-sha2-512" },
		{ "rsa-sha2-256-cert-v01@openssh.com", 2, "rsa-sha2-256" },
		{ "rsa-sha2-512-cert-v01@openssh.com", 4, "rsa-sha2-512" },
		{ "ssh-rsa-cert-v01@openssh.com", 0, "ssh-rsa" },
		{ "ssh-ed25519-cert-v01@openssh.com", 0, "ssh-ed25519" },
		{ "ecdsa-sha2-nistp256-cert-v01@openssh.com", 0, "ecdsa-sha2-nistp256" },
		{ "sk-ssh-ed25519-cert-v01@openssh.com", 0, "sk-ssh-ed25519@openssh.com" },
		{ "sk-ecdsa-sha2-nistp256@openssh.com", 0, "sk-ecdsa-sha2-nistp256@openssh.com" },
		{ "rsa-sha2-2560", 0, "rsa-sha2-2560" },
		{ "rsa-sha2-512-other", 0, "rsa-sha2-512-other" },
	};
	char sig[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(ssh_agent_sign_flags(cases[i].alg), cases[i].flags, "flags for %s",
			     cases[i].alg);
		ssh_sig_alg_of(cases[i].alg, sig, sizeof(sig));
		cr_assert_str_eq(sig, cases[i].sig, "signature algorithm for %s", cases[i].alg);
	}
}

Test(agent, empty_messages_are_malformed, .timeout = 10)
{
	struct ssh_agent_keys keys;
	const unsigned char *sg;
	size_t sg_len;
	char alg[64];

	cr_assert_eq(ssh_agent_parse_identities(NULL, 0, &keys), MD_EPARSE);
	cr_assert_eq(ssh_agent_parse_signature(NULL, 0, alg, sizeof(alg), &sg, &sg_len), MD_EPARSE);
}

/* ==================================================================================== */
/* known_hosts                                                                          */
/* ==================================================================================== */

TestSuite(known_hosts, .init = mk_tmp, .fini = rm_tmp);

/* Checks key_b64 for host:port against a file holding file_text (and a missing file). */
static struct ssh_kh_result check(const char *file_text, const char *host, int port,
				  const char *key_b64)
{
	char path[128], name[300];
	const char *files[2];
	unsigned char blob[256];
	size_t n = blob_of(key_b64, blob);
	struct ssh_kh_result r;
	struct md_err e = { 0 };

	files[0] = tmp_path("missing_known_hosts", path, sizeof(path));
	files[1] = tmp_path("known_hosts", (char[128]){ 0 }, 128);
	write_file(files[1], file_text);
	ssh_known_hosts_name(host, port, NULL, name, sizeof(name));
	cr_assert_eq(ssh_known_hosts_check(files, 2, name, blob, n, &r, &e), MD_OK, "%s", e.msg);
	return r;
}

Test(known_hosts, match_with_port_form, .timeout = 10)
{
	char text[512];
	struct ssh_kh_result r;

	snprintf(text, sizeof(text), "# comment\n\n10.9.9.9 ssh-ed25519 %s\n[10.1.2.3]:2222 ssh-ed25519 %s\n",
		 PUB_B, PUB_A);
	r = check(text, "10.1.2.3", 2222, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert_eq(r.line, 4, "line %d", r.line);
	cr_assert(strstr(r.file, "/known_hosts"));
	cr_assert(strstr(r.notes, "missing_known_hosts: not found"), "notes: %s", r.notes);
}

Test(known_hosts, match_port_22_uses_bare_name, .timeout = 10)
{
	char text[512];

	snprintf(text, sizeof(text), "office-one ssh-ed25519 %s\n", PUB_A);
	cr_assert_eq(check(text, "office-one", 22, PUB_A).status, SSH_HOSTKEY_MATCH);
}

Test(known_hosts, bare_entry_does_not_cover_another_port, .timeout = 10)
{
	/* The seed's layout: Windows sshd on 22 and WSL2's on 2222, same name, two keys.
	 * OpenSSH looks up only "[office-one]:2222" for port 2222. */
	char text[512];

	snprintf(text, sizeof(text), "office-one ssh-ed25519 %s\n", PUB_B);
	cr_assert_eq(check(text, "office-one", 2222, PUB_A).status, SSH_HOSTKEY_UNKNOWN);
}

Test(known_hosts, changed_names_file_line_and_old_key, .timeout = 10)
{
	char text[512];
	struct ssh_kh_result r;

	snprintf(text, sizeof(text), "other ssh-ed25519 %s\n[127.0.0.1]:2222 ssh-ed25519 %s\n", PUB_A,
		 PUB_B);
	r = check(text, "127.0.0.1", 2222, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_CHANGED);
	cr_assert_eq(r.line, 2);
	cr_assert_str_eq(r.known_fp, PUB_B_FP);
}

Test(known_hosts, hashed_entry_matches, .timeout = 10)
{
	char text[512];

	snprintf(text, sizeof(text), "%s\n", HASHED_A);
	cr_assert_eq(check(text, "10.1.2.3", 2222, PUB_A).status, SSH_HOSTKEY_MATCH);
	cr_assert_eq(check(text, "10.1.2.4", 2222, PUB_A).status, SSH_HOSTKEY_UNKNOWN);
}

Test(known_hosts, unreadable_lines_do_not_hide_later_ones, .timeout = 10)
{
	/* libssh2_knownhost_readfile() would stop at the first of these. */
	char text[1024];
	struct ssh_kh_result r;

	snprintf(text, sizeof(text),
		 "@cert-authority *.example.org ssh-ed25519 %s\n"
		 "broken line\n"
		 "host.example sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIE\n"
		 "@unknown-marker 10.1.2.3 ssh-ed25519 %s\n"
		 "[10.1.2.3]:2222 ssh-ed25519 %s\n",
		 PUB_B, PUB_A, PUB_A);
	r = check(text, "10.1.2.3", 2222, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH, "notes: %s", r.notes);
	cr_assert_eq(r.line, 5);
	cr_assert(strstr(r.notes, "skipped"), "notes: %s", r.notes);
}

Test(known_hosts, match_in_any_file_wins_over_changed, .timeout = 10)
{
	char p1[128], p2[128];
	const char *files[2] = { tmp_path("kh1", p1, sizeof(p1)), tmp_path("kh2", p2, sizeof(p2)) };
	unsigned char blob[256];
	size_t n = blob_of(PUB_A, blob);
	struct ssh_kh_result r;
	char text[512];

	snprintf(text, sizeof(text), "[h]:2222 ssh-ed25519 %s\n", PUB_B);
	write_file(files[0], text);
	snprintf(text, sizeof(text), "[h]:2222 ssh-ed25519 %s\n", PUB_A);
	write_file(files[1], text);
	cr_assert_eq(ssh_known_hosts_check(files, 2, "[h]:2222", blob, n, &r, NULL), MD_OK);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert_str_eq(r.file, files[1]);
}

/* ---- host patterns (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT") ---- */

struct pattern_case {
	char field[64], name[40];
	int want; /* 1 match, 0 no match, -1 excluded by a negation */
};

ParameterizedTestParameters(known_hosts, host_patterns)
{
	static struct pattern_case cases[] = {
		{ "office-one", "office-one", 1 },
		{ "office-one", "office-two", 0 },
		{ "OFFICE-One", "office-one", 1 },              /* case-insensitive */
		{ "*.example.org", "box.example.org", 1 },
		{ "*.example.org", "example.org", 0 },
		{ "*", "anything", 1 },
		{ "office-?", "office-1", 1 },
		{ "office-?", "office-12", 0 },
		{ "10.1.*", "10.1.2.3", 1 },
		{ "a,b,office-one", "office-one", 1 },          /* comma-separated names */
		{ "*.lan,!printer.lan", "nas.lan", 1 },
		{ "*.lan,!printer.lan", "printer.lan", -1 },    /* negation rules the line out */
		{ "!printer.lan,*.lan", "printer.lan", -1 },    /* whatever the order */
		{ "!printer.lan", "nas.lan", 0 },               /* a negation alone matches nothing */
		{ "[10.1.2.3]:2222", "[10.1.2.3]:2222", 1 },
		{ "[10.1.2.3]:2222", "10.1.2.3", 0 },
		{ "[10.1.2.*]:2222", "[10.1.2.9]:2222", 1 },
		{ "[10.1.2.*]:2222", "[10.1.2.9]:22", 0 },
		{ "10.1.2.3", "[10.1.2.3]:2222", 0 },
	};
	return cr_make_param_array(struct pattern_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct pattern_case *c, known_hosts, host_patterns, .timeout = 10)
{
	cr_assert_eq(ssh_known_hosts_match(c->field, c->name), c->want, "'%s' against '%s'", c->field,
		     c->name);
}

Test(known_hosts, hashed_field_is_one_name, .timeout = 10)
{
	const char *field = "|1|SJAB9Uzaw/D8nwPeTHnGCLp6Xfc=|6mQZEldwRaHCHw142v/1VYZDoE8=";

	cr_assert_eq(ssh_known_hosts_match(field, "[10.1.2.3]:2222"), 1);
	cr_assert_eq(ssh_known_hosts_match(field, "[10.1.2.3]:22"), 0);
	cr_assert_eq(ssh_known_hosts_match("|1|notbase64!|x", "h"), 0);
}

Test(known_hosts, lookup_name_lower_case_port_form_and_alias, .timeout = 10)
{
	char n[300];

	ssh_known_hosts_name("Office-One", 22, NULL, n, sizeof(n));
	cr_assert_str_eq(n, "office-one");
	ssh_known_hosts_name("Office-One", 2222, NULL, n, sizeof(n));
	cr_assert_str_eq(n, "[office-one]:2222");
	/* HostKeyAlias replaces the name and the port form (ssh_config(5)). */
	ssh_known_hosts_name("10.1.2.3", 2222, "Office-Key", n, sizeof(n));
	cr_assert_str_eq(n, "office-key");
}

Test(known_hosts, wildcard_and_case_entries_match_with_their_own_line, .timeout = 10)
{
	char text[1024];
	struct ssh_kh_result r;

	snprintf(text, sizeof(text),
		 "*.lan,!printer.lan ssh-ed25519 %s\n"
		 "OFFICE-? ssh-ed25519 %s\n"
		 "[10.1.2.*]:2222 ssh-ed25519 %s\n",
		 PUB_A, PUB_A, PUB_A);
	r = check(text, "nas.lan", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert_eq(r.line, 1);
	cr_assert_eq(check(text, "printer.lan", 22, PUB_A).status, SSH_HOSTKEY_UNKNOWN);
	r = check(text, "Office-1", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert_eq(r.line, 2);
	r = check(text, "10.1.2.7", 2222, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert_eq(r.line, 3);
}

Test(known_hosts, line_numbers_count_every_line_and_each_line_once, .timeout = 10)
{
	/* Several names on one line are one entry: the next line's number must not drift. */
	char text[1024];
	struct ssh_kh_result r;

	snprintf(text, sizeof(text),
		 "alpha,beta,gamma,delta ssh-ed25519 %s\n"
		 "\n"
		 "# a comment\n"
		 "one,two,three ssh-ed25519 %s\n"
		 "office-one,10.0.0.2 ssh-ed25519 %s\n",
		 PUB_B, PUB_B, PUB_B);
	r = check(text, "10.0.0.2", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_CHANGED);
	cr_assert_eq(r.line, 5, "line %d", r.line);
	r = check(text, "gamma", 22, PUB_B);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert_eq(r.line, 1, "line %d", r.line);
}

Test(known_hosts, revoked_key_wins_over_a_match, .timeout = 10)
{
	char text[1024];
	struct ssh_kh_result r;

	snprintf(text, sizeof(text),
		 "10.0.0.2 ssh-ed25519 %s\n"
		 "@revoked * ssh-ed25519 %s\n",
		 PUB_A, PUB_A);
	r = check(text, "10.0.0.2", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_REVOKED);
	cr_assert_eq(r.line, 2);
	/* Another key is not affected by the revocation. */
	snprintf(text, sizeof(text),
		 "10.0.0.2 ssh-ed25519 %s\n"
		 "@revoked * ssh-ed25519 %s\n",
		 PUB_A, PUB_B);
	cr_assert_eq(check(text, "10.0.0.2", 22, PUB_A).status, SSH_HOSTKEY_MATCH);
	/* A @revoked line names hosts like any other: it applies to those it matches. */
	snprintf(text, sizeof(text), "@revoked other.lan ssh-ed25519 %s\n10.0.0.2 ssh-ed25519 %s\n",
		 PUB_A, PUB_A);
	cr_assert_eq(check(text, "10.0.0.2", 22, PUB_A).status, SSH_HOSTKEY_MATCH);
}

Test(known_hosts, revoked_in_a_later_file_wins, .timeout = 10)
{
	char p1[128], p2[128];
	const char *files[2] = { tmp_path("kh1", p1, sizeof(p1)), tmp_path("kh2", p2, sizeof(p2)) };
	unsigned char blob[256];
	size_t n = blob_of(PUB_A, blob);
	struct ssh_kh_result r;
	char text[512];

	snprintf(text, sizeof(text), "h ssh-ed25519 %s\n", PUB_A);
	write_file(files[0], text);
	snprintf(text, sizeof(text), "# global\n@revoked h,g ssh-ed25519 %s\n", PUB_A);
	write_file(files[1], text);
	cr_assert_eq(ssh_known_hosts_check(files, 2, "h", blob, n, &r, NULL), MD_OK);
	cr_assert_eq(r.status, SSH_HOSTKEY_REVOKED);
	cr_assert_str_eq(r.file, files[1]);
	cr_assert_eq(r.line, 2);
}

Test(known_hosts, cert_authority_lines_are_noted_not_used, .timeout = 10)
{
	char text[512];
	struct ssh_kh_result r;

	snprintf(text, sizeof(text), "@cert-authority *.lan ssh-ed25519 %s\n", PUB_A);
	r = check(text, "nas.lan", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_UNKNOWN);
	cr_assert(strstr(r.notes, "@cert-authority"), "notes: %s", r.notes);
}

/* ECDSA public key of KEY_ECDSA above. */
static const char PUB_ECDSA[] =
	"AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBDt5e63zWx5/fNq9Z58sExIQhsJqa/gxpwlbbVn8"
	"XOJMQp4gF1DXHSP3EdiczaqM0rdMfkrgTUCkJ5SHfqrronk=";

/* OpenSSH's check_hostkeys_by_key_or_type(): a key of another type on file for the name
 * makes the presented key a changed one, not a new one (`ssh` says "REMOTE HOST
 * IDENTIFICATION HAS CHANGED" and refuses). */
Test(known_hosts, a_key_of_another_type_on_file_is_changed, .timeout = 10)
{
	char text[512], fp[80];
	unsigned char blob[256];
	size_t n = blob_of(PUB_ECDSA, blob);
	struct ssh_kh_result r;

	cr_assert_eq(ssh_fingerprint(blob, n, fp, sizeof(fp)), MD_OK);
	snprintf(text, sizeof(text), "# pinned\n10.0.0.2 ecdsa-sha2-nistp256 %s\n", PUB_ECDSA);
	r = check(text, "10.0.0.2", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_CHANGED, "status %d", r.status);
	cr_assert_eq(r.line, 2);
	cr_assert(strstr(r.file, "/known_hosts"), "%s", r.file);
	cr_assert_str_eq(r.known_type, "ecdsa-sha2-nistp256");
	cr_assert_str_eq(r.known_fp, fp);
	/* The entry of the presented key's type is the one named, wherever it is. */
	snprintf(text, sizeof(text), "10.0.0.2 ecdsa-sha2-nistp256 %s\n10.0.0.2 ssh-ed25519 %s\n",
		 PUB_ECDSA, PUB_B);
	r = check(text, "10.0.0.2", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_CHANGED);
	cr_assert_eq(r.line, 2);
	cr_assert_str_eq(r.known_type, "ssh-ed25519");
	cr_assert_str_eq(r.known_fp, PUB_B_FP);
	/* A line with the key itself still wins, whatever else is on file. */
	snprintf(text, sizeof(text), "10.0.0.2 ecdsa-sha2-nistp256 %s\n10.0.0.2 ssh-ed25519 %s\n",
		 PUB_ECDSA, PUB_A);
	r = check(text, "10.0.0.2", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert_eq(r.line, 2);
	/* Keys for other names say nothing about this one. */
	snprintf(text, sizeof(text), "10.0.0.3 ecdsa-sha2-nistp256 %s\n", PUB_ECDSA);
	cr_assert_eq(check(text, "10.0.0.2", 22, PUB_A).status, SSH_HOSTKEY_UNKNOWN);
}

/* A file that exists but cannot be read is skipped, as OpenSSH skips it, and named: the
 * caller must not take "unknown" for the whole answer. */
Test(known_hosts, files_that_cannot_be_read_are_named, .timeout = 10)
{
	char dir[128], big[128], good[128], text[512];
	const char *files[3] = { tmp_path("kh_dir", dir, sizeof(dir)), tmp_path("kh_big", big, sizeof(big)),
				 tmp_path("kh_good", good, sizeof(good)) };
	unsigned char blob[256];
	size_t n = blob_of(PUB_A, blob);
	struct ssh_kh_result r;
	int fd;

	cr_assert_eq(mkdir(files[0], 0700), 0);
	fd = open(files[1], O_WRONLY | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 5 * 1024 * 1024), 0);
	close(fd);
	write_file(files[2], "");
	cr_assert_eq(ssh_known_hosts_check(files, 3, "h", blob, n, &r, NULL), MD_OK);
	cr_assert_eq(r.status, SSH_HOSTKEY_UNKNOWN);
	cr_assert(strstr(r.unread, "kh_dir: Is a directory"), "unread: %s", r.unread);
	cr_assert(strstr(r.unread, "kh_big: larger than 4 MiB"), "unread: %s", r.unread);
	cr_assert_null(strstr(r.unread, "kh_good"), "unread: %s", r.unread);
	/* A missing file is not an unread one. */
	files[0] = tmp_path("kh_missing", dir, sizeof(dir));
	cr_assert_eq(ssh_known_hosts_check(files, 1, "h", blob, n, &r, NULL), MD_OK);
	cr_assert_str_eq(r.unread, "");
	/* A match in the files that were read still stands. */
	files[0] = tmp_path("kh_dir", dir, sizeof(dir));
	snprintf(text, sizeof(text), "h ssh-ed25519 %s\n", PUB_A);
	write_file(files[2], text);
	cr_assert_eq(ssh_known_hosts_check(files, 3, "h", blob, n, &r, NULL), MD_OK);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert(strstr(r.unread, "kh_dir"), "unread: %s", r.unread);
}

/* Permissions: run as an unprivileged user in a child, since root reads anything. */
Test(known_hosts, a_file_without_read_permission_is_named, .timeout = 10)
{
	char path[128], text[512];
	const char *files[1] = { tmp_path("kh_private", path, sizeof(path)) };
	unsigned char blob[256];
	size_t n = blob_of(PUB_A, blob);
	int status = 0;
	pid_t pid;

	snprintf(text, sizeof(text), "h ssh-ed25519 %s\n", PUB_B);
	write_file(files[0], text);
	cr_assert_eq(chmod(files[0], 0600), 0);
	cr_assert_eq(chmod(tmpdir, 0755), 0);
	if (geteuid() != 0)
		cr_assert_eq(chmod(files[0], 0000), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct ssh_kh_result r;

		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(2);
		if (ssh_known_hosts_check(files, 1, "h", blob, n, &r, NULL) != MD_OK)
			_exit(3);
		if (r.status != SSH_HOSTKEY_UNKNOWN)
			_exit(4);
		_exit(strstr(r.unread, "kh_private: Permission denied") ? 0 : 5);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
}

Test(known_hosts, types_on_file_for_a_name, .timeout = 10)
{
	char path[128], text[1024], types[160];
	const char *files[1] = { tmp_path("kh", path, sizeof(path)) };

	snprintf(text, sizeof(text),
		 "10.0.0.2 ecdsa-sha2-nistp256 %s\n"
		 "@revoked 10.0.0.2 ssh-ed25519 %s\n"
		 "other ssh-ed25519 %s\n"
		 "*.lan,10.0.0.* ssh-ed25519 %s\n"
		 "10.0.0.2 ecdsa-sha2-nistp256 %s\n",
		 PUB_ECDSA, PUB_A, PUB_A, PUB_B, PUB_ECDSA);
	write_file(files[0], text);
	ssh_known_hosts_types(files, 1, "10.0.0.2", types, sizeof(types));
	cr_assert_str_eq(types, "ecdsa-sha2-nistp256,ssh-ed25519");
	ssh_known_hosts_types(files, 1, "nowhere", types, sizeof(types));
	cr_assert_str_eq(types, "");
}

Test(known_hosts, host_key_order_puts_known_types_first, .timeout = 10)
{
	/* What libssh2 1.10 supports (libssh2_session_supported_algs). */
	static const char *const sup[] = { "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
					   "ecdsa-sha2-nistp521", "ssh-ed25519", "ssh-rsa", "ssh-dss" };
	char out[256];

	ssh_hostkey_order("", sup, 6, out, sizeof(out));
	cr_assert_str_eq(out, "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,ssh-rsa");
	ssh_hostkey_order("ecdsa-sha2-nistp256", sup, 6, out, sizeof(out));
	cr_assert_str_eq(out, "ecdsa-sha2-nistp256,ssh-ed25519,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,ssh-rsa");
	ssh_hostkey_order("ssh-rsa,ecdsa-sha2-nistp384", sup, 6, out, sizeof(out));
	cr_assert_str_eq(out, "ecdsa-sha2-nistp384,ssh-rsa,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp521");
}

/* RSA public key of KEY_RSA above, and its fingerprint (`ssh-keygen -lf`). */
static const char PUB_RSA[] =
	"AAAAB3NzaC1yc2EAAAADAQABAAAAgQDVsBkF/eG3KQWVC6NEVC8e150wTYQFRRRPyhAhsGvn85vRf2lHxON+aTWaJhPY"
	"DWQ2EZ7HZa1Khmtq8HcNNYt+9LhKHusydJk5zGPAsFXVdiC2pNFKpxaovEGEkTkhMdFkxYxtIZJmgCkkL443mctd7wNW"
	"RbFENWHxsMCavhkNJw==";
static const char PUB_RSA_FP[] = "SHA256:3zqNwwpBMip/wRNcuN/6knThAnaFpxUuUDqjrM7DoUI";

/* A changed key names the first entry with an RSA key too, for a caller that finds this
 * libssh2 could not have asked for it, and every type on file for the name. */
Test(known_hosts, changed_names_the_rsa_entry_and_the_types_on_file, .timeout = 10)
{
	char text[1024];
	struct ssh_kh_result r;

	snprintf(text, sizeof(text),
		 "10.0.0.2 ecdsa-sha2-nistp256 %s\n"
		 "other ssh-rsa %s\n"
		 "10.0.0.2 ssh-rsa %s\n",
		 PUB_ECDSA, PUB_RSA, PUB_RSA);
	r = check(text, "10.0.0.2", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_CHANGED);
	cr_assert_eq(r.line, 1, "the first entry, of another type, as before");
	cr_assert_str_eq(r.known_type, "ecdsa-sha2-nistp256");
	cr_assert(strstr(r.rsa_file, "/known_hosts"), "%s", r.rsa_file);
	cr_assert_eq(r.rsa_line, 3);
	cr_assert_str_eq(r.rsa_fp, PUB_RSA_FP);
	cr_assert_str_eq(r.types, "ecdsa-sha2-nistp256,ssh-rsa");
	/* Without an RSA entry for the name, none is named. */
	snprintf(text, sizeof(text), "10.0.0.2 ssh-ed25519 %s\nother ssh-rsa %s\n", PUB_B, PUB_RSA);
	r = check(text, "10.0.0.2", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_CHANGED);
	cr_assert_str_eq(r.rsa_file, "");
	cr_assert_eq(r.rsa_line, 0);
	cr_assert_str_eq(r.types, "ssh-ed25519");
	/* A match, too, says which types are on file. */
	snprintf(text, sizeof(text), "10.0.0.2 ssh-rsa %s\n10.0.0.2 ssh-ed25519 %s\n", PUB_RSA, PUB_A);
	r = check(text, "10.0.0.2", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert_str_eq(r.types, "ssh-rsa,ssh-ed25519");
}

/* libssh2_session_supported_algs(LIBSSH2_METHOD_HOSTKEY) of libssh2 1.10 (no rsa-sha2-*)
 * and 1.11 (rsa-sha2-512 and rsa-sha2-256 first). */
static const char *const hk110[] = { "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
				     "ssh-ed25519", "ssh-rsa", "ssh-dss" };
static const char *const hk111[] = { "ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com",
				     "rsa-sha2-256", "rsa-sha2-512", "ssh-rsa", "ecdsa-sha2-nistp256",
				     "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-dss" };
#define N110 (sizeof(hk110) / sizeof(hk110[0]))
#define N111 (sizeof(hk111) / sizeof(hk111[0]))

struct unverifiable_case {
	const char *known, *presented, *asked, *negotiated;
	bool lib111;
	bool want;
	const char *why;
};

static const struct unverifiable_case unverifiable_cases[] = {
	/* What a user has after years of `ssh`, against OpenSSH >= 8.8 with RSA + ed25519. */
	{ "ssh-rsa", "ssh-ed25519", "ssh-rsa,ssh-ed25519,ecdsa-sha2-nistp256", "ssh-ed25519", false, true,
	  "only RSA on file, libssh2 1.10, ssh-rsa refused" },
	{ "ssh-rsa", "ecdsa-sha2-nistp256", "ssh-rsa,ssh-ed25519,ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256",
	  false, true, "another type presented, also ECDSA" },
	{ "ecdsa-sha2-nistp256,ssh-rsa", "ssh-ed25519",
	  "ecdsa-sha2-nistp256,ssh-rsa,ssh-ed25519", "ssh-ed25519", false, true,
	  "RSA among other types on file, the presented type not on file" },
	/* The presented type is on file with another key: changed, whatever else is. */
	{ "ssh-rsa,ssh-ed25519", "ssh-ed25519", "ssh-ed25519,ssh-rsa,ecdsa-sha2-nistp256", "ssh-ed25519",
	  false, false, "an ed25519 key on file differs" },
	{ "ssh-ed25519,ssh-rsa", "ssh-ed25519", "ssh-ed25519,ssh-rsa", "ssh-ed25519", false, false,
	  "an ed25519 key on file differs, RSA later" },
	/* No RSA on file: libssh2 could ask for every type on file. */
	{ "ecdsa-sha2-nistp256", "ssh-ed25519", "ecdsa-sha2-nistp256,ssh-ed25519,ssh-rsa", "ssh-ed25519", false,
	  false, "ECDSA on file, the server has none" },
	{ "", "ssh-ed25519", "ssh-ed25519,ssh-rsa", "ssh-ed25519", false, false, "nothing on file" },
	/* The server agreed to ssh-rsa: its RSA key was shown, and differs. */
	{ "ssh-rsa", "ssh-rsa", "ssh-rsa,ssh-ed25519", "ssh-rsa", false, false, "RSA negotiated as ssh-rsa" },
	/* libssh2 1.11 asks for rsa-sha2-*: had the server an RSA key, it would have shown it. */
	{ "ssh-rsa", "ssh-ed25519", "rsa-sha2-512,rsa-sha2-256,ssh-rsa,ssh-ed25519", "ssh-ed25519", true, false,
	  "libssh2 with rsa-sha2-*" },
	/* ssh-rsa not asked before the algorithm chosen (or not at all): no conclusion. */
	{ "ssh-rsa", "ssh-ed25519", "ssh-ed25519,ssh-rsa", "ssh-ed25519", false, false, "ssh-rsa asked after" },
	{ "ssh-rsa", "ssh-ed25519", "ssh-ed25519,ecdsa-sha2-nistp256", "ssh-ed25519", false, false,
	  "ssh-rsa not asked" },
	{ "ssh-rsa", "ssh-ed25519", "", "ssh-ed25519", false, false, "nothing asked (libssh2's default)" },
	{ "ssh-rsa", "ssh-ed25519", "ssh-rsa,ssh-ed25519", NULL, false, false, "no algorithm chosen" },
	{ "ssh-rsa", "ssh-ed25519", "ssh-rsa,ecdsa-sha2-nistp256", "ssh-ed25519", false, false,
	  "the algorithm chosen was not asked for" },
	/* Names are compared whole. */
	{ "ssh-rsa", "ssh-ed25519", "ssh-rsa-cert-v01@openssh.com,ssh-ed25519", "ssh-ed25519", false, false,
	  "a certificate algorithm is not ssh-rsa" },
	{ "ssh-rsa-cert-v01@openssh.com", "ssh-ed25519", "ssh-rsa,ssh-ed25519", "ssh-ed25519", false, false,
	  "a type that only begins with ssh-rsa" },
};

Test(known_hosts, rsa_on_file_is_unverifiable_only_when_libssh2_cannot_ask_for_it, .timeout = 10)
{
	for (size_t i = 0; i < sizeof(unverifiable_cases) / sizeof(unverifiable_cases[0]); i++) {
		const struct unverifiable_case *c = &unverifiable_cases[i];
		bool got = ssh_hostkey_unverifiable(c->known, c->presented, c->lib111 ? hk111 : hk110,
						    c->lib111 ? N111 : N110, c->asked, c->negotiated);

		cr_assert_eq(got, c->want, "%s: known %s, presented %s, asked %s, chose %s: %d", c->why,
			     c->known, c->presented, c->asked, c->negotiated ? c->negotiated : "(null)", got);
	}
}

/* After an unverifiable RSA key: does the server still offer an RSA host key?  If not,
 * `ssh` would be shown another key too and call it changed. */
Test(known_hosts, a_server_without_an_rsa_host_key_algorithm_has_no_rsa_key, .timeout = 10)
{
	static const struct {
		const char *list;
		bool want;
	} cases[] = {
		{ "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256", true },
		{ "rsa-sha2-256", true },
		{ "ssh-ed25519,ssh-rsa", true },
		{ "rsa-sha2-512-cert-v01@openssh.com,ssh-ed25519", true },
		{ "ssh-ed25519,rsa-sha2-256-cert-v01@openssh.com", true },
		{ "ssh-rsa-cert-v01@openssh.com", true },
		{ "ssh-ed25519", false },
		{ "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384", false },
		{ "ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com", false },
		{ "", false },
		/* Names are compared whole. */
		{ "ssh-rsa-sha2-512,rsa-sha2-5120,x-ssh-rsa,ssh-rs", false },
		{ "rsa-sha2-512@example.com,rsa-sha2", false },
		{ "ssh-dss", false },
	};
	unsigned char *buf;
	struct ssh_kexinit k;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(ssh_hostkey_algs_offer_rsa(cases[i].list, strlen(cases[i].list)), cases[i].want,
			     "%s", cases[i].list);
	/* Only len bytes count: a list is not NUL-terminated where it lies in the packet. */
	cr_assert_not(ssh_hostkey_algs_offer_rsa("ssh-ed25519,ssh-rsa", strlen("ssh-ed25519")));
	cr_assert_not(ssh_hostkey_algs_offer_rsa("ssh-rsa", 6));
	/* The lists OpenSSH 9.2 sends (fixtures/ssh). */
	scan_fixture("fixtures/ssh/kexinit-default.bin", &buf, &k);
	cr_assert(ssh_hostkey_algs_offer_rsa(k.list[SSH_KEXINIT_HOSTKEY], k.len[SSH_KEXINIT_HOSTKEY]));
	free(buf);
	scan_fixture("fixtures/ssh/kexinit-rsa-only.bin", &buf, &k);
	cr_assert(ssh_hostkey_algs_offer_rsa(k.list[SSH_KEXINIT_HOSTKEY], k.len[SSH_KEXINIT_HOSTKEY]));
	free(buf);
	scan_fixture("fixtures/ssh/kexinit-chacha-only.bin", &buf, &k);
	cr_assert_not(ssh_hostkey_algs_offer_rsa(k.list[SSH_KEXINIT_HOSTKEY], k.len[SSH_KEXINIT_HOSTKEY]));
	free(buf);
}

/* What the probe asks for when known_hosts holds only the RSA key, and what a server
 * with RSA and ed25519 host keys then chooses: OpenSSH 9.2 offers
 * rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519 (fixtures/ssh). */
Test(known_hosts, the_order_asked_for_with_rsa_on_file_leads_to_unverifiable, .timeout = 10)
{
	static const char server[] = "rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519";
	char asked[256], copy[256];
	const char *v[16];
	struct ssh_alg_list l = { .v = v };
	const char *chosen;

	ssh_hostkey_order("ssh-rsa", hk110, N110, asked, sizeof(asked));
	cr_assert_str_eq(asked, "ssh-rsa,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521");
	snprintf(copy, sizeof(copy), "%s", asked);
	for (char *save = NULL, *t = strtok_r(copy, ",", &save); t && l.n < 16; t = strtok_r(NULL, ",", &save))
		v[l.n++] = t;
	chosen = ssh_alg_pick(&l, server, strlen(server));
	cr_assert_str_eq(chosen, "ssh-ed25519");
	cr_assert(ssh_hostkey_unverifiable("ssh-rsa", "ssh-ed25519", hk110, N110, asked, chosen));
	/* libssh2 1.11: rsa-sha2-512 is asked for first, and chosen. */
	ssh_hostkey_order("ssh-rsa", hk111, N111, asked, sizeof(asked));
	cr_assert(strncmp(asked, "rsa-sha2-512,rsa-sha2-256,ssh-rsa,", 34) == 0, "%s", asked);
}

/* OpenSSH itself as the reference: `ssh-keygen -F NAME -f FILE` lists the lines it finds
 * for NAME (plain, hashed and marked ones).  The same lines must match here. */
static void keygen_lines(const char *file, const char *name, char *out, size_t n)
{
	const char *argv[] = { "ssh-keygen", "-F", name, "-f", file, NULL };
	struct md_deadline dl = md_deadline_after(md_now_ms(), 10000);
	struct md_proc_result r;
	const char *line;

	out[0] = '\0';
	md_proc_result_init(&r, 64 * 1024);
	cr_assert_eq(md_proc_run(argv, NULL, 0, &dl, &r, NULL), MD_OK, "ssh-keygen");
	for (line = md_buf_str(&r.out); line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *at = strstr(line, "found: line ");

		if (line[0] == '#' && at && at < strchr(line, '\n'))
			snprintf(out + strlen(out), n - strlen(out), "%d ", atoi(at + 12));
	}
	md_proc_result_cleanup(&r);
}

static void our_lines(const char *text, const char *name, char *out, size_t n)
{
	char *copy = strdup(text), *save = NULL;
	int lineno = 0;

	out[0] = '\0';
	/* strtok_r would skip empty lines: walk them by hand. */
	for (char *p = copy; p && *p; lineno++) {
		char *nl = strchr(p, '\n'), *f1, *f2;

		if (nl)
			*nl = '\0';
		f1 = strtok_r(p, " ", &save);
		f2 = f1 ? strtok_r(NULL, " ", &save) : NULL;
		if (f1 && f1[0] == '@')
			f1 = f2;
		if (f1 && f1[0] != '#' && ssh_known_hosts_match(f1, name) == 1)
			snprintf(out + strlen(out), n - strlen(out), "%d ", lineno + 1);
		p = nl ? nl + 1 : NULL;
	}
	free(copy);
}

Test(known_hosts, matches_the_lines_ssh_keygen_finds, .timeout = 10)
{
	static const char *const names[] = {
		"office-one", "office-bad", "nas.lan", "printer.lan", "[10.1.2.3]:2222",
		"10.1.2.3", "host", "hoost", "alpha", "delta", "gamma.example.org",
	};
	char path[128], text[2048], want[256], got[256];

	snprintf(text, sizeof(text),
		 "# known_hosts as people write them\n"
		 "alpha,beta,OFFICE-*,!office-bad ssh-ed25519 %s\n"
		 "\n"
		 "@revoked *.lan ssh-ed25519 %s\n"
		 "*.lan,!printer.lan ssh-ed25519 %s\n"
		 "[10.1.2.*]:2222 ssh-ed25519 %s\n"
		 "@cert-authority *.example.org ssh-ed25519 %s\n"
		 "h?st ssh-ed25519 %s comment\n"
		 "%s\n"
		 "delta,gamma.example.org ssh-ed25519 %s\n",
		 PUB_A, PUB_B, PUB_A, PUB_A, PUB_B, PUB_A, HASHED_A, PUB_B);
	write_file(tmp_path("kh", path, sizeof(path)), text);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		keygen_lines(path, names[i], want, sizeof(want));
		our_lines(text, names[i], got, sizeof(got));
		cr_assert_str_eq(got, want, "lines for %s: ours '%s', ssh-keygen -F '%s'", names[i], got,
				 want);
	}
}

Test(known_hosts, add_creates_private_dir_and_file_then_matches, .timeout = 10)
{
	char path[128], dir[128], line[512];
	unsigned char blob[256];
	size_t n = blob_of(PUB_A, blob);
	struct stat st;
	struct ssh_kh_result r;
	const char *files[1];
	FILE *fp;

	tmp_path("new/.ssh/known_hosts", path, sizeof(path));
	tmp_path("new/.ssh", dir, sizeof(dir));
	cr_assert_eq(ssh_known_hosts_add(path, "[10.1.2.3]:2222", false, blob, n, NULL), MD_OK);
	cr_assert_eq(stat(dir, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0700, "dir mode %o", st.st_mode & 0777);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "file mode %o", st.st_mode & 0777);
	fp = fopen(path, "r");
	cr_assert(fp);
	cr_assert(fgets(line, sizeof(line), fp));
	fclose(fp);
	cr_assert(strncmp(line, "[10.1.2.3]:2222 ssh-ed25519 ", 28) == 0, "line: %s", line);
	cr_assert(strstr(line, PUB_A), "line: %s", line);
	files[0] = path;
	cr_assert_eq(ssh_known_hosts_check(files, 1, "[10.1.2.3]:2222", blob, n, &r, NULL), MD_OK);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
}

Test(known_hosts, add_keeps_a_file_without_final_newline_intact, .timeout = 10)
{
	char path[128], text[512], want[512];
	unsigned char blob[256];
	size_t n = blob_of(PUB_A, blob);
	char *got;

	tmp_path("kh", path, sizeof(path));
	snprintf(text, sizeof(text), "other ssh-ed25519 %s", PUB_B);
	write_file(path, text);
	cr_assert_eq(ssh_known_hosts_add(path, "office-one", false, blob, n, NULL), MD_OK);
	got = read_fixture(path);
	snprintf(want, sizeof(want), "other ssh-ed25519 %s\noffice-one ssh-ed25519 %s\n", PUB_B, PUB_A);
	cr_assert_str_eq(got, want);
	free(got);
}

/* HashKnownHosts yes: the name is written hashed, and OpenSSH finds the line. */
Test(known_hosts, add_hashed_writes_a_line_ssh_keygen_finds, .timeout = 10)
{
	char path[128], line[512], lines[64];
	unsigned char blob[256];
	size_t n = blob_of(PUB_A, blob);
	struct ssh_kh_result r;
	const char *files[1];
	FILE *fp;

	tmp_path("kh_hashed", path, sizeof(path));
	cr_assert_eq(ssh_known_hosts_add(path, "[10.1.2.3]:2222", true, blob, n, NULL), MD_OK);
	cr_assert_eq(ssh_known_hosts_add(path, "office-one", true, blob, n, NULL), MD_OK);
	fp = fopen(path, "r");
	cr_assert(fp);
	cr_assert(fgets(line, sizeof(line), fp));
	fclose(fp);
	cr_assert(strncmp(line, "|1|", 3) == 0, "line: %s", line);
	cr_assert_null(strstr(line, "10.1.2.3"), "the name is in the clear: %s", line);
	cr_assert(strstr(line, " ssh-ed25519 ") && strstr(line, PUB_A), "line: %s", line);
	keygen_lines(path, "[10.1.2.3]:2222", lines, sizeof(lines));
	cr_assert_str_eq(lines, "1 ", "ssh-keygen -F found lines '%s'", lines);
	keygen_lines(path, "office-one", lines, sizeof(lines));
	cr_assert_str_eq(lines, "2 ", "ssh-keygen -F found lines '%s'", lines);
	keygen_lines(path, "[10.1.2.4]:2222", lines, sizeof(lines));
	cr_assert_str_eq(lines, "");
	files[0] = path;
	cr_assert_eq(ssh_known_hosts_check(files, 1, "[10.1.2.3]:2222", blob, n, &r, NULL), MD_OK);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert_eq(r.line, 1);
}

/* ==================================================================================== */
/* Replay session                                                                       */
/* ==================================================================================== */

Test(replay, answers_by_prefix_and_127_otherwise, .timeout = 10)
{
	const struct md_replay_entry e[] = {
		{ "tailscale status", 0, "100.64.0.1 sfspark1\n", "warn\n", false },
	};
	struct md_session *s = md_session_new_replay(e, 1, "linux");
	struct md_deadline dl = md_deadline_after(md_now_ms(), 1000);
	struct md_exec x;
	struct md_err err = { 0 };

	cr_assert(s);
	cr_assert_str_eq(md_session_os(s), "linux");
	cr_assert_null(md_session_ssh(s));
	md_exec_init(&x);
	cr_assert_eq(md_session_exec(s, "tailscale status --json", "in", 2, &x, &dl, &err), MD_OK);
	cr_assert_eq(x.exit_status, 0);
	cr_assert_str_eq(md_buf_str(&x.out), "100.64.0.1 sfspark1\n");
	cr_assert_str_eq(md_buf_str(&x.err), "warn\n");
	cr_assert_eq(md_session_exec(s, "nosuch --flag", NULL, 0, &x, &dl, &err), MD_OK);
	cr_assert_eq(x.exit_status, 127);
	cr_assert_str_eq(md_buf_str(&x.out), "", "buffers are reset between commands");
	cr_assert_str_eq(md_buf_str(&x.err), "nosuch: command not found\n");
	md_session_set_os(s, "windows");
	cr_assert_str_eq(md_session_os(s), "windows");
	md_exec_cleanup(&x);
	md_session_free(s);
	md_session_free(NULL);
}

Test(replay, hang_is_a_timeout_error, .timeout = 10)
{
	const struct md_replay_entry e[] = { { "sleep", 0, NULL, NULL, true } };
	struct md_session *s = md_session_new_replay(e, 1, NULL);
	struct md_deadline dl = md_deadline_after(md_now_ms(), 1000);
	struct md_exec x;
	struct md_err err = { 0 };

	md_exec_init(&x);
	cr_assert_eq(md_session_exec(s, "sleep 100", NULL, 0, &x, &dl, &err), MD_ETIMEOUT);
	cr_assert(strstr(err.msg, "sleep 100"), "%s", err.msg);
	md_exec_cleanup(&x);
	md_session_free(s);
}

/* ==================================================================================== */
/* rules/ssh.rules: every rule fires from the facts the probe records                   */
/* ==================================================================================== */

struct rule_case {
	const char *facts; /* "name=value;..." values: "quoted" string, true/false, integer */
	const char *want_first; /* the first finding */
	const char *superseded; /* a rule that must be "superseded" in the path, or NULL */
};

#define BASE "ssh.addr=\"10.77.0.2:22\";ssh.host=\"h1\";ssh.port=22;ssh.user=\"steve\";"
#define CONNECTED BASE "ssh.tcp=\"connected\";ssh.banner_status=\"ok\";ssh.server_windows=false;" \
	"ssh.server_software=\"OpenSSH_9.2p1\";ssh.banner=\"SSH-2.0-OpenSSH_9.2p1\";"
#define KEXED CONNECTED "ssh.kex=\"ok\";ssh.hostkey=\"match\";ssh.hostkey_type=\"ssh-ed25519\";" \
	"ssh.hostkey_fingerprint=\"SHA256:x\";ssh.known_hosts_name=\"h1\";"
/* A failed key exchange, the server's lists read again, and category cat without a common
 * algorithm; hk: the server's host key algorithms. */
#define KEX_NO_COMMON(cat, hk) CONNECTED "ssh.kex=\"failed\";" \
	"ssh.kex_error=\"handshake with 10.77.0.2:22: Unable to exchange encryption keys\";" \
	"ssh.server_kex_algorithms=\"curve25519-sha256\";ssh.server_hostkey_algorithms=\"" hk "\";" \
	"ssh.server_ciphers=\"chacha20-poly1305@openssh.com\";ssh.server_macs=\"hmac-sha2-256\";" \
	"ssh.libssh2_version=\"1.10.0\";ssh.kex_no_common=\"" cat "\";"
#define DENIED KEXED "ssh.auth=\"denied\";ssh.auth_methods_offered=\"publickey\";"

static const struct rule_case ssh_rules_fire_cases[] = {
	{ KEXED "ssh.config=\"failed\";ssh.config_error=\"`ssh -G h1`: /root/.ssh/config line 3: Bad configuration option: hostnme\";"
	  "ssh.auth=\"ok\";host.os=\"linux\";host.sudo=\"nopasswd\"", "ssh-config-failed", NULL },
	{ KEXED "ssh.config=\"read\";ssh.proxy=\"ProxyJump jumper@bastion:2200\";"
	  "ssh.auth=\"ok\";host.os=\"linux\";host.sudo=\"nopasswd\"", "ssh-proxy-not-followed", NULL },
	{ BASE "ssh.tcp=\"refused\";ssh.tcp_error=\"connect 10.77.0.2:22: Connection refused\"",
	  "ssh-connection-refused", NULL },
	{ BASE "ssh.tcp=\"timeout\";ssh.tcp_error=\"connect: no answer\"", "ssh-connection-timeout", NULL },
	{ BASE "ssh.tcp=\"unreachable\";ssh.tcp_error=\"connect: Network is unreachable\"",
	  "ssh-host-unreachable", NULL },
	{ BASE "ssh.tcp=\"no-such-host\";ssh.tcp_error=\"resolve h1: Name or service not known\"",
	  "ssh-name-not-resolved", NULL },
	{ "ssh.addr=\"office-one.local:2222\";ssh.host=\"office-one.local\";ssh.port=2222;"
	  "ssh.user=\"steve\";ssh.tcp=\"no-such-host\";ssh.tcp_error=\"resolve\"",
	  "ssh-mdns-name-not-resolved", "ssh-name-not-resolved" },
	{ BASE "ssh.tcp=\"connected\";ssh.banner_status=\"not-ssh\";ssh.first_bytes=\"HTTP/1.1 400\"",
	  "ssh-not-ssh-server", NULL },
	{ BASE "ssh.tcp=\"connected\";ssh.banner_status=\"none\"", "ssh-no-banner", NULL },
	{ BASE "ssh.tcp=\"connected\";ssh.banner_status=\"closed\"", "ssh-closed-before-banner", NULL },
	{ CONNECTED "ssh.kex=\"timeout\";ssh.kex_error=\"handshake: no answer\"",
	  "ssh-handshake-failed", NULL },
	{ KEX_NO_COMMON("hostkey", "rsa-sha2-512,rsa-sha2-256") "ssh.kex_no_common_server=\"rsa-sha2-512,rsa-sha2-256\";"
	  "ssh.kex_no_common_client=\"ssh-ed25519,ssh-rsa\"", "ssh-hostkey-rsa-sha2-only", "ssh-handshake-failed" },
	{ KEX_NO_COMMON("hostkey", "rsa-sha2-512,rsa-sha2-256") "ssh.kex_no_common_server=\"rsa-sha2-512,rsa-sha2-256\";"
	  "ssh.kex_no_common_client=\"ssh-ed25519,ssh-rsa\"", "ssh-hostkey-rsa-sha2-only", "ssh-kex-no-common-algorithm" },
	{ KEX_NO_COMMON("cipher", "ssh-ed25519") "ssh.kex_no_common_server=\"chacha20-poly1305@openssh.com\";"
	  "ssh.kex_no_common_client=\"aes128-ctr,aes256-ctr\"", "ssh-kex-no-common-algorithm", "ssh-handshake-failed" },
	{ CONNECTED "ssh.kex=\"ok\";ssh.hostkey=\"changed\";ssh.hostkey_fingerprint=\"SHA256:x\";"
	  "ssh.hostkey_type=\"ssh-ed25519\";ssh.hostkey_known_type=\"ecdsa-sha2-nistp256\";"
	  "ssh.hostkey_known_fingerprint=\"SHA256:y\";"
	  "ssh.known_hosts_name=\"h1\";ssh.known_hosts_file=\"/root/.ssh/known_hosts\";ssh.known_hosts_line=3",
	  "ssh-hostkey-changed", NULL },
	{ CONNECTED "ssh.kex=\"ok\";ssh.hostkey=\"unchecked\";ssh.hostkey_fingerprint=\"SHA256:x\";"
	  "ssh.hostkey_type=\"ssh-ed25519\";ssh.known_hosts_name=\"h1\";"
	  "ssh.known_hosts_unread=\"/etc/ssh/ssh_known_hosts: Permission denied\"",
	  "ssh-hostkey-unchecked", NULL },
	{ CONNECTED "ssh.kex=\"ok\";ssh.hostkey=\"unverifiable\";ssh.hostkey_fingerprint=\"SHA256:x\";"
	  "ssh.hostkey_type=\"ssh-ed25519\";ssh.hostkey_known_type=\"ssh-rsa\";"
	  "ssh.hostkey_known_fingerprint=\"SHA256:y\";ssh.libssh2_version=\"1.10.0\";"
	  "ssh.known_hosts_name=\"h1\";ssh.known_hosts_file=\"/root/.ssh/known_hosts\";ssh.known_hosts_line=3",
	  "ssh-hostkey-unverifiable", NULL },
	{ CONNECTED "ssh.kex=\"ok\";ssh.hostkey=\"revoked\";ssh.hostkey_fingerprint=\"SHA256:x\";"
	  "ssh.known_hosts_name=\"h1\";ssh.known_hosts_file=\"/etc/ssh/ssh_known_hosts\";ssh.known_hosts_line=4",
	  "ssh-hostkey-revoked", NULL },
	{ KEXED "ssh.hostkey=\"unknown\";ssh.hostkey_added=true;ssh.hostkey_added_to=\"/root/.ssh/known_hosts\";"
	  "ssh.auth=\"ok\";host.os=\"linux\";host.sudo=\"nopasswd\"", "ssh-hostkey-added", NULL },
	{ DENIED "ssh.auth_keys_tried=1;ssh.auth_rsa_sha1_only=false", "ssh-permission-denied", NULL },
	{ DENIED "ssh.auth_keys_tried=1;ssh.auth_rsa_sha1_only=false;ssh.server_windows=true",
	  "ssh-permission-denied-windows", "ssh-permission-denied" },
	{ DENIED "ssh.auth_keys_tried=1;ssh.auth_rsa_sha1_only=true", "ssh-rsa-sha1-only",
	  "ssh-permission-denied" },
	{ DENIED "ssh.auth_keys_tried=0;ssh.auth_rsa_sha1_only=false;ssh.identity_encrypted=\"/k\"",
	  "ssh-no-usable-key", "ssh-permission-denied" },
	{ KEXED "ssh.auth=\"denied\";ssh.auth_methods_offered=\"password,keyboard-interactive\";"
	  "ssh.auth_keys_tried=0;ssh.auth_rsa_sha1_only=false", "ssh-publickey-not-offered",
	  "ssh-permission-denied" },
	{ KEXED "ssh.auth=\"denied\";ssh.auth_methods_offered=\"password\";ssh.server_windows=true;"
	  "ssh.auth_keys_tried=0;ssh.auth_rsa_sha1_only=false", "ssh-publickey-not-offered",
	  "ssh-permission-denied-windows" },
	{ KEXED "ssh.auth=\"error\";ssh.auth_keys_tried=1", "ssh-auth-incomplete", NULL },
	{ KEXED "ssh.agent=\"unresponsive\";ssh.agent_socket=\"/tmp/ssh-x/agent.1\";ssh.auth=\"ok\";"
	  "host.os=\"linux\";host.sudo=\"nopasswd\"", "ssh-agent-unresponsive", NULL },
	{ KEXED "ssh.auth=\"ok\";host.os=\"linux\";host.sudo=\"password\"", "ssh-sudo-needs-password", NULL },
};

static void ssh_rules_fire_one(const struct rule_case *c)
{
	struct md_ruleset rs;
	struct md_facts f;
	struct md_evaluation ev = { 0 };
	struct md_err err = { 0 };

	md_ruleset_init(&rs);
	md_facts_init(&f);
	cr_assert_eq(md_rules_load_file(&rs, "rules/ssh.rules", &err), MD_OK, "%s", err.msg);
	cr_assert_eq(test_put_facts(&f, "ssh", c->facts), 0);
	cr_assert_eq(md_rules_evaluate(&rs, &f, false, &ev), MD_OK);
	cr_assert_geq(ev.n_findings, 1, "no finding for %s", c->facts);
	cr_assert_str_eq(ev.findings[0].rule->id, c->want_first, "first finding for %s", c->facts);
	cr_assert_null(strstr(ev.findings[0].cause, "{ssh."), "uninterpolated cause: %s",
		       ev.findings[0].cause);
	if (c->superseded)
		for (size_t i = 0; i < ev.n_path; i++)
			if (strcmp(ev.path[i].rule->id, c->superseded) == 0)
				cr_assert_eq(ev.path[i].result, MD_RULE_SUPERSEDED, "%s", c->superseded);
	md_evaluation_cleanup(&ev);
	md_facts_cleanup(&f);
	md_ruleset_cleanup(&rs);
}

Test(ssh_rules, fire, .timeout = 10)
{
	for (size_t i = 0; i < sizeof(ssh_rules_fire_cases) / sizeof(ssh_rules_fire_cases[0]); i++)
		ssh_rules_fire_one(&ssh_rules_fire_cases[i]);
}

/* The findings of facts under rules/ssh.rules: their ids, first first, and severities. */
static void ssh_rules_findings(const char *facts, const char *const *ids, const enum md_severity *sev)
{
	struct md_ruleset rs;
	struct md_facts f;
	struct md_evaluation ev = { 0 };
	struct md_err err = { 0 };
	size_t n = 0;

	md_ruleset_init(&rs);
	md_facts_init(&f);
	cr_assert_eq(md_rules_load_file(&rs, "rules/ssh.rules", &err), MD_OK, "%s", err.msg);
	cr_assert_eq(test_put_facts(&f, "ssh", facts), 0);
	cr_assert_eq(md_rules_evaluate(&rs, &f, false, &ev), MD_OK);
	for (; ids[n]; n++) {
		int i = test_finding_index(&ev, ids[n]);

		cr_assert_geq(i, 0, "%s did not fire for %s", ids[n], facts);
		cr_assert_eq(ev.findings[i].severity, sev[n], "severity of %s", ids[n]);
	}
	cr_assert_eq(ev.n_findings, n, "findings for %s: %zu, first %s", facts, ev.n_findings,
		     ev.n_findings ? ev.findings[0].rule->id : "");
	if (n)
		cr_assert_str_eq(ev.findings[0].rule->id, ids[0]);
	md_evaluation_cleanup(&ev);
	md_facts_cleanup(&f);
	md_ruleset_cleanup(&rs);
}

/* No algorithm in common with libssh2: a warning, never the critical ssh-handshake-failed,
 * since `ssh` may connect; only a failure with every category in common stays critical. */
Test(ssh_rules, no_common_algorithm_is_a_warning_not_a_failed_handshake, .timeout = 10)
{
	const char *rsa[] = { "ssh-hostkey-rsa-sha2-only", NULL };
	const char *other[] = { "ssh-kex-no-common-algorithm", NULL };
	const char *none[] = { "ssh-handshake-failed", NULL };
	const enum md_severity warn[] = { MD_SEV_WARNING }, crit[] = { MD_SEV_CRITICAL };

	ssh_rules_findings(KEX_NO_COMMON("hostkey", "rsa-sha2-512,rsa-sha2-256"), rsa, warn);
	ssh_rules_findings(KEX_NO_COMMON("hostkey", "rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-512"), rsa, warn);
	/* A host key other than RSA among them (or ssh-rsa itself) is not the RSA case. */
	ssh_rules_findings(KEX_NO_COMMON("hostkey", "ssh-dss"), other, warn);
	ssh_rules_findings(KEX_NO_COMMON("hostkey", "rsa-sha2-512,sk-ssh-ed25519@openssh.com"), other, warn);
	ssh_rules_findings(KEX_NO_COMMON("hostkey", "xrsa-sha2-512"), other, warn);
	ssh_rules_findings(KEX_NO_COMMON("kex", "ssh-ed25519"), other, warn);
	ssh_rules_findings(KEX_NO_COMMON("cipher", "ssh-ed25519"), other, warn);
	ssh_rules_findings(KEX_NO_COMMON("mac", "ssh-ed25519"), other, warn);
	/* Everything in common: the failure is something else, and stays critical. */
	ssh_rules_findings(KEX_NO_COMMON("none", "rsa-sha2-512,rsa-sha2-256"), none, crit);
	/* The lists could not be read: as before. */
	ssh_rules_findings(CONNECTED "ssh.kex=\"failed\";ssh.kex_error=\"handshake: Unable to exchange encryption keys\"",
			   none, crit);
}

/* An RSA key on file that this libssh2 could not ask for: a warning alone, never the
 * critical ssh-hostkey-changed, since `ssh` verifies the RSA key. */
Test(ssh_rules, unverifiable_host_key_is_a_warning_not_a_changed_key, .timeout = 10)
{
	const char *unverifiable[] = { "ssh-hostkey-unverifiable", NULL };
	const char *changed[] = { "ssh-hostkey-changed", NULL };
	const enum md_severity warn[] = { MD_SEV_WARNING }, crit[] = { MD_SEV_CRITICAL };
#define HOSTKEY(v) CONNECTED "ssh.kex=\"ok\";ssh.hostkey=\"" v "\";ssh.hostkey_fingerprint=\"SHA256:x\";" \
	"ssh.hostkey_type=\"ssh-ed25519\";ssh.hostkey_known_type=\"ssh-rsa\";" \
	"ssh.hostkey_known_fingerprint=\"SHA256:y\";ssh.libssh2_version=\"1.10.0\";ssh.known_hosts_name=\"h1\";" \
	"ssh.known_hosts_file=\"/root/.ssh/known_hosts\";ssh.known_hosts_line=1"

	ssh_rules_findings(HOSTKEY("unverifiable"), unverifiable, warn);
	ssh_rules_findings(HOSTKEY("changed"), changed, crit);
#undef HOSTKEY
}

Test(ssh_rules, healthy_host_fires_nothing, .timeout = 10)
{
	struct md_ruleset rs;
	struct md_facts f;
	struct md_evaluation ev = { 0 };
	struct md_err err = { 0 };

	md_ruleset_init(&rs);
	md_facts_init(&f);
	cr_assert_eq(md_rules_load_file(&rs, "rules/ssh.rules", &err), MD_OK, "%s", err.msg);
	cr_assert_eq(test_put_facts(&f, "ssh",
				    KEXED "ssh.auth=\"ok\";ssh.auth_method=\"publickey:/k\";"
				    "ssh.auth_keys_tried=1;host.os=\"linux\";host.sudo=\"nopasswd\""),
		     0);
	cr_assert_eq(md_rules_evaluate(&rs, &f, false, &ev), MD_OK);
	cr_assert_eq(ev.n_findings, 0, "fired: %s", ev.n_findings ? ev.findings[0].rule->id : "");
	md_evaluation_cleanup(&ev);
	md_facts_cleanup(&f);
	md_ruleset_cleanup(&rs);
}
