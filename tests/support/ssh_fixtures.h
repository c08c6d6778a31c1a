/* ssh_fixtures.h — what the SSH client's unit tests share: throw-away test keys generated
 * for these tests, known_hosts lines, fixture files read from the repository root, and a
 * temporary directory per test (mk_tmp() / rm_tmp() as a suite's .init / .fini). */
#ifndef MD_TEST_SSH_FIXTURES_H
#define MD_TEST_SSH_FIXTURES_H

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include "core/ssh_kex.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MD_UNUSED __attribute__((unused))

static const char KEY_ED25519[] MD_UNUSED =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
	"QyNTUxOQAAACBh1MJYACHp5m/XJKVOVFsokVEaExnhylCsZyAHTqVj/gAAAJCNJGZ2jSRm\n"
	"dgAAAAtzc2gtZWQyNTUxOQAAACBh1MJYACHp5m/XJKVOVFsokVEaExnhylCsZyAHTqVj/g\n"
	"AAAECLsjMpVlzfN1VrB1lgsPEruBuBOhUYWjkJZlXiYVXA9GHUwlgAIenmb9ckpU5UWyiR\n"
	"URoTGeHKUKxnIAdOpWP+AAAADHRlc3QtZWQyNTUxOQE=\n"
	"-----END OPENSSH PRIVATE KEY-----\n";

static const char KEY_ED25519_ENC[] MD_UNUSED =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABBpDyua5z\n"
	"UaCuZXzItQezSuAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIFKYF8tzrXCpMGYJ\n"
	"TuuHV8lm6hR2qMrhLic7SoZruftxAAAAkGpt/zG5NHpwexG/FSuV/CGpLaeSwjlbVFTZvb\n"
	"6bG2X4ic51mElgDzPQkKm3J93pFsE0x7j8A5s4gU+6MP49OEQlWwZQWdxGlJ2v879JKjbV\n"
	"JWL04TmxPrOYVC7DCnEKQLKrLFog5mbwhDqHDdmIm5B1E4yW+KFfYjwJ3NzLo0aQFyq63R\n"
	"ORxHbGy2VX/unWHw==\n"
	"-----END OPENSSH PRIVATE KEY-----\n";

static const char KEY_RSA[] MD_UNUSED =
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

static const char KEY_ECDSA[] MD_UNUSED =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAaAAAABNlY2RzYS\n"
	"1zaGEyLW5pc3RwMjU2AAAACG5pc3RwMjU2AAAAQQQ7eXut81sef3zavWefLBMSEIbCamv4\n"
	"MacJW21Z/FziTEKeIBdQ1x0j9xHYnM2qjNK3TH5K4E1ApCeUh36q66J5AAAAoIsTpaWLE6\n"
	"WlAAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBDt5e63zWx5/fNq9\n"
	"Z58sExIQhsJqa/gxpwlbbVn8XOJMQp4gF1DXHSP3EdiczaqM0rdMfkrgTUCkJ5SHfqrron\n"
	"kAAAAhAPO9xjqQhrwO16+r/bMMIDArzIBH+gvv4yZ8Rtsjy22jAAAAB3Jvb3RAdm0=\n"
	"-----END OPENSSH PRIVATE KEY-----\n";

/* PEM keys: only the headers matter to ssh_key_info(). */
static const char KEY_RSA_PEM[] MD_UNUSED =
	"-----BEGIN RSA PRIVATE KEY-----\n"
	"MIICXgIBAAKBgQDLzGk3+h7OCa7JiMfcsPyzpUiHfn73Ko1Nfe9/1m20JUB0zZOo\n"
	"-----END RSA PRIVATE KEY-----\n";

static const char KEY_RSA_PEM_ENC[] MD_UNUSED =
	"-----BEGIN RSA PRIVATE KEY-----\n"
	"Proc-Type: 4,ENCRYPTED\n"
	"DEK-Info: AES-128-CBC,02AF216D677C3874882E80C1162CC300\n"
	"\n"
	"6MKldymVyjTxH70NY6Luq+jPL7TihaAq+wqx69Mh7j1Th6WH/wpsmJGs0RKm7Ug4\n"
	"-----END RSA PRIVATE KEY-----\n";

/* Public halves (ssh-keygen -lf: SHA256:dp4r... and SHA256:deyg...). */
static const char PUB_A[] MD_UNUSED = "AAAAC3NzaC1lZDI1NTE5AAAAIGHUwlgAIenmb9ckpU5UWyiRURoTGeHKUKxnIAdOpWP+";
static const char PUB_A_FP[] MD_UNUSED = "SHA256:dp4rJVnCfbq+5171eNFJvqDd6Hl/QvwSMeIF8PWHytU";
static const char PUB_B[] MD_UNUSED = "AAAAC3NzaC1lZDI1NTE5AAAAIJz+qOWW3qEdySn1hpV+rXwJXV7TtJnVWyRfilL9LblR";
static const char PUB_B_FP[] MD_UNUSED = "SHA256:deygHrHunhONVjfd0lrYpgSkxNEfHgsMmLlQM09p5Og";
/* `ssh-keygen -H` of "[10.1.2.3]:2222 ssh-ed25519 PUB_A". */
static const char HASHED_A[] MD_UNUSED =
	"|1|SJAB9Uzaw/D8nwPeTHnGCLp6Xfc=|6mQZEldwRaHCHw142v/1VYZDoE8= ssh-ed25519 "
	"AAAAC3NzaC1lZDI1NTE5AAAAIGHUwlgAIenmb9ckpU5UWyiRURoTGeHKUKxnIAdOpWP+";

static inline size_t blob_of(const char *b64, unsigned char *out)
{
	int n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)strlen(b64));
	size_t pad = 0;

	cr_assert_gt(n, 0, "base64 %s", b64);
	for (const char *p = b64 + strlen(b64); p > b64 && p[-1] == '='; p--)
		pad++;
	return (size_t)n - pad;
}

static inline char *read_fixture(const char *rel)
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

static char tmpdir[64] MD_UNUSED;

static inline void mk_tmp(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/md-test-ssh-XXXXXX");
	cr_assert(mkdtemp(tmpdir));
}

static inline int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void rm_tmp(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = '\0';
}

static inline const char *tmp_path(const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", tmpdir, name);
	return buf;
}

static inline void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	cr_assert(fp, "%s", path);
	fputs(text, fp);
	fclose(fp);
}

/* The whole of a binary fixture; *len its size. */
static inline unsigned char *read_fixture_bytes(const char *rel, size_t *len)
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

/* Scans a fixture whole, and checks that every shorter prefix (copied into a buffer of
 * exactly its size, so that a read past the end is caught under SAN=1) asks for more. */
static inline void scan_fixture(const char *rel, unsigned char **bytes, struct ssh_kexinit *k)
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

#endif
