/* ssh.c — the SSH reachability probe: TCP connect, banner, key exchange, host key against
 * known_hosts, authentication, then OS detection and sudo over the session it leaves in
 * ctx->session for the probes after it.
 *
 * Each step is a fact with its evidence and a checklist mark; a failing step ends the probe
 * with MD_OK (the failure is data).  The rules that read these facts are rules/ssh.rules;
 * the decision tree they encode is seeds/002_c74f733de84f5218.txt. */
#include "probes/ssh.h"
#include "probes/probe.h"
#include "core/net.h"
#include "core/session_ssh.h"

#include <libssh2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define P "ssh"

/* ==================================================================================== */
/* Banner                                                                               */
/* ==================================================================================== */

static void copy_span(char *out, size_t n, const char *p, size_t len)
{
	if (len >= n)
		len = n - 1;
	memcpy(out, p, len);
	out[len] = '\0';
}

int ssh_banner_parse(const char *line, struct ssh_banner *b)
{
	const char *proto, *soft, *dash, *sp, *v;

	memset(b, 0, sizeof(*b));
	b->openssh_major = b->openssh_minor = -1;
	if (strncmp(line, "SSH-", 4) != 0)
		return MD_EPARSE;
	proto = line + 4;
	dash = strchr(proto, '-');
	if (!dash || dash == proto)
		return MD_EPARSE;
	copy_span(b->proto, sizeof(b->proto), proto, (size_t)(dash - proto));
	soft = dash + 1;
	sp = strchr(soft, ' ');
	copy_span(b->software, sizeof(b->software), soft, sp ? (size_t)(sp - soft) : strlen(soft));
	if (!b->software[0])
		return MD_EPARSE;
	if (sp)
		snprintf(b->comments, sizeof(b->comments), "%s", sp + 1);
	/* Microsoft's port names itself OpenSSH_for_Windows_<version> (Win32-OpenSSH). */
	if (strncmp(b->software, "OpenSSH_for_Windows_", 20) == 0) {
		b->windows = true;
		v = b->software + 20;
	} else if (strncmp(b->software, "OpenSSH_", 8) == 0) {
		v = b->software + 8;
	} else {
		return MD_OK;
	}
	if (sscanf(v, "%d.%d", &b->openssh_major, &b->openssh_minor) != 2)
		b->openssh_major = b->openssh_minor = -1;
	return MD_OK;
}

bool ssh_openssh_at_least(const struct ssh_banner *b, int major, int minor)
{
	if (b->openssh_major < 0)
		return false;
	return b->openssh_major > major || (b->openssh_major == major && b->openssh_minor >= minor);
}

/* RFC 4253 §4.2 caps the identification line at 255 characters; OpenSSH reads longer
 * pre-banner lines, so allow some slack before calling it "not SSH". */
#define BANNER_LINE_MAX 1024
#define BANNER_PREAMBLE_MAX 8192

enum ssh_scan ssh_banner_scan(const char *buf, size_t len, size_t *skip, size_t *line_len,
			      bool *other)
{
	size_t pos = 0;

	*skip = *line_len = 0;
	while (pos < len) {
		const char *start = buf + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - start) : len - pos;

		if (memchr(start, '\0', l))
			return SSH_SCAN_NOT_SSH;
		if (!nl) {
			size_t cmp = l < 4 ? l : 4;

			if (memcmp(start, "SSH-", cmp) != 0)
				*other = true;
			return l > BANNER_LINE_MAX ? SSH_SCAN_NOT_SSH : SSH_SCAN_MORE;
		}
		if (l >= 4 && memcmp(start, "SSH-", 4) == 0) {
			*skip = pos;
			*line_len = l && start[l - 1] == '\r' ? l - 1 : l;
			return SSH_SCAN_BANNER;
		}
		*other = true;
		if (l > BANNER_LINE_MAX)
			return SSH_SCAN_NOT_SSH;
		pos += l + 1;
		if (pos > BANNER_PREAMBLE_MAX)
			return SSH_SCAN_NOT_SSH;
	}
	return SSH_SCAN_MORE;
}

void ssh_escape(const void *p, size_t len, char *out, size_t out_size)
{
	const unsigned char *s = p;
	size_t o = 0;

	if (!out_size)
		return;
	for (size_t i = 0; i < len; i++) {
		char tmp[8];
		unsigned char c = s[i];

		switch (c) {
		case '\r': snprintf(tmp, sizeof(tmp), "\\r"); break;
		case '\n': snprintf(tmp, sizeof(tmp), "\\n"); break;
		case '\t': snprintf(tmp, sizeof(tmp), "\\t"); break;
		case '\\': snprintf(tmp, sizeof(tmp), "\\\\"); break;
		case '"': snprintf(tmp, sizeof(tmp), "\\\""); break;
		default:
			if (c >= 0x20 && c < 0x7f)
				snprintf(tmp, sizeof(tmp), "%c", c);
			else
				snprintf(tmp, sizeof(tmp), "\\x%02x", c);
		}
		if (o + strlen(tmp) + 1 > out_size)
			break;
		memcpy(out + o, tmp, strlen(tmp));
		o += strlen(tmp);
	}
	out[o] = '\0';
}

/* ==================================================================================== */
/* The server's SSH_MSG_KEXINIT                                                         */
/* ==================================================================================== */

/* An SSH "uint32" (RFC 4251 §5): four bytes, most significant first. */
static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An SSH "string" (RFC 4251 §5): uint32 length, bytes. */
static int get_string(const unsigned char **p, const unsigned char *end, const unsigned char **s,
		      size_t *len)
{
	uint32_t l;

	if (end - *p < 4)
		return MD_EPARSE;
	l = get_u32(*p);
	*p += 4;
	if ((size_t)(end - *p) < l)
		return MD_EPARSE;
	*s = *p;
	*len = l;
	*p += l;
	return MD_OK;
}

#define SSH_MSG_KEXINIT 20
#define KEXINIT_COOKIE_LEN 16

static int kexinit_bad(char *why, size_t why_n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int kexinit_bad(char *why, size_t why_n, const char *fmt, ...)
{
	va_list ap;

	if (why && why_n) {
		va_start(ap, fmt);
		vsnprintf(why, why_n, fmt, ap);
		va_end(ap);
	}
	return MD_EPARSE;
}

/* RFC 4251 §5 name-list: names separated by single commas, none empty; §6: printable
 * US-ASCII without commas, at most 64 characters. */
static bool namelist_valid(const unsigned char *s, size_t len)
{
	size_t name_len = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == ',') {
			if (name_len == 0)
				return false;
			name_len = 0;
			continue;
		}
		if (s[i] <= 0x20 || s[i] >= 0x7f || ++name_len > SSH_ALG_NAME_MAX)
			return false;
	}
	return len == 0 || name_len > 0;
}

static const char *const kexinit_list_names[SSH_KEXINIT_N] = {
	"kex_algorithms", "server_host_key_algorithms", "encryption_algorithms_client_to_server",
	"encryption_algorithms_server_to_client", "mac_algorithms_client_to_server",
	"mac_algorithms_server_to_client", "compression_algorithms_client_to_server",
	"compression_algorithms_server_to_client", "languages_client_to_server",
	"languages_server_to_client",
};

int ssh_kexinit_parse(const unsigned char *pkt, size_t len, struct ssh_kexinit *k, char *why,
		      size_t why_n)
{
	const unsigned char *p, *end;
	uint32_t packet_len;
	unsigned pad;

	memset(k, 0, sizeof(*k));
	if (len < 5)
		return kexinit_bad(why, why_n, "packet of %zu bytes, shorter than its header", len);
	packet_len = get_u32(pkt);
	if ((uint64_t)packet_len + 4 != len)
		return kexinit_bad(why, why_n, "packet_length %" PRIu32 " does not match the %zu bytes of the packet",
				   packet_len, len);
	if (len > SSH_PACKET_MAX)
		return kexinit_bad(why, why_n, "packet of %zu bytes, over the %u of RFC 4253 §6.1", len,
				   SSH_PACKET_MAX);
	pad = pkt[4];
	/* RFC 4253 §6: at least four bytes of padding, and a payload. */
	if (pad < 4 || (size_t)pad + 1 >= packet_len)
		return kexinit_bad(why, why_n, "padding_length %u in a packet_length of %" PRIu32, pad,
				   packet_len);
	p = pkt + 5;
	end = pkt + 4 + packet_len - pad; /* the end of the payload */
	if (p[0] != SSH_MSG_KEXINIT)
		return kexinit_bad(why, why_n, "first packet is message %u, not SSH_MSG_KEXINIT (%d)", p[0],
				   SSH_MSG_KEXINIT);
	p++;
	if (end - p < KEXINIT_COOKIE_LEN)
		return kexinit_bad(why, why_n, "SSH_MSG_KEXINIT ends inside its cookie");
	p += KEXINIT_COOKIE_LEN;
	for (int i = 0; i < SSH_KEXINIT_N; i++) {
		const unsigned char *s;
		size_t l;

		if (get_string(&p, end, &s, &l))
			return kexinit_bad(why, why_n, "SSH_MSG_KEXINIT: %s runs past the end of the payload",
					   kexinit_list_names[i]);
		if (!namelist_valid(s, l))
			return kexinit_bad(why, why_n, "SSH_MSG_KEXINIT: %s is not a list of algorithm names",
					   kexinit_list_names[i]);
		k->list[i] = (const char *)s;
		k->len[i] = l;
	}
	if (end - p < 5)
		return kexinit_bad(why, why_n,
				   "SSH_MSG_KEXINIT ends before first_kex_packet_follows and its reserved field");
	if (p[0] > 1)
		return kexinit_bad(why, why_n, "SSH_MSG_KEXINIT: first_kex_packet_follows is %u, not a boolean",
				   p[0]);
	k->first_kex_follows = p[0] == 1;
	return MD_OK;
}

enum ssh_kexinit_scan ssh_kexinit_scan(const unsigned char *buf, size_t len, struct ssh_kexinit *k,
				       const char **banner, size_t *banner_len, size_t *used,
				       char *why, size_t why_n)
{
	const char *text = (const char *)buf;
	const char *nl;
	size_t skip, line_len, at;
	bool other = false;
	uint32_t packet_len;

	*banner = NULL;
	*banner_len = *used = 0;
	if (why && why_n)
		why[0] = '\0';
	switch (ssh_banner_scan(text, len, &skip, &line_len, &other)) {
	case SSH_SCAN_MORE:
		return SSH_KEXINIT_MORE;
	case SSH_SCAN_NOT_SSH:
		kexinit_bad(why, why_n, "no SSH identification line");
		return SSH_KEXINIT_BAD;
	case SSH_SCAN_BANNER:
		break;
	}
	nl = memchr(text + skip, '\n', len - skip);
	at = (size_t)(nl - text) + 1;
	if (len - at < 4)
		return SSH_KEXINIT_MORE;
	packet_len = get_u32(buf + at);
	if ((uint64_t)packet_len + 4 > SSH_PACKET_MAX) {
		kexinit_bad(why, why_n, "packet_length %" PRIu32 ": a packet over the %u bytes of RFC 4253 §6.1",
			    packet_len, SSH_PACKET_MAX);
		return SSH_KEXINIT_BAD;
	}
	if (len - at < (size_t)packet_len + 4)
		return SSH_KEXINIT_MORE;
	if (ssh_kexinit_parse(buf + at, (size_t)packet_len + 4, k, why, why_n))
		return SSH_KEXINIT_BAD;
	*banner = text + skip;
	*banner_len = line_len;
	*used = at + packet_len + 4;
	return SSH_KEXINIT_OK;
}

bool ssh_namelist_has(const char *list, size_t len, const char *name)
{
	size_t n = strlen(name), i = 0;

	while (i < len) {
		const char *c = memchr(list + i, ',', len - i);
		size_t l = c ? (size_t)(c - (list + i)) : len - i;

		if (l == n && memcmp(list + i, name, n) == 0)
			return true;
		i += l + 1;
	}
	return false;
}

const char *ssh_alg_pick(const struct ssh_alg_list *client, const char *server, size_t server_len)
{
	for (size_t i = 0; i < client->n; i++)
		if (client->v[i] && ssh_namelist_has(server, server_len, client->v[i]))
			return client->v[i];
	return NULL;
}

bool ssh_cipher_is_aead(const char *name)
{
	static const char *const aead[] = {
		"chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
		"AEAD_AES_128_GCM", "AEAD_AES_256_GCM",
	};

	for (size_t i = 0; i < sizeof(aead) / sizeof(aead[0]); i++)
		if (strcmp(name, aead[i]) == 0)
			return true;
	return false;
}

enum ssh_alg_cat ssh_kex_no_common(const struct ssh_kexinit *k,
				   const struct ssh_alg_list client[SSH_ALG_N])
{
	const char *cs, *sc;

	if (!ssh_alg_pick(&client[SSH_ALG_KEX], k->list[SSH_KEXINIT_KEX], k->len[SSH_KEXINIT_KEX]))
		return SSH_ALG_KEX;
	if (!ssh_alg_pick(&client[SSH_ALG_HOSTKEY], k->list[SSH_KEXINIT_HOSTKEY],
			  k->len[SSH_KEXINIT_HOSTKEY]))
		return SSH_ALG_HOSTKEY;
	cs = ssh_alg_pick(&client[SSH_ALG_CIPHER], k->list[SSH_KEXINIT_CIPHER_CS],
			  k->len[SSH_KEXINIT_CIPHER_CS]);
	sc = ssh_alg_pick(&client[SSH_ALG_CIPHER], k->list[SSH_KEXINIT_CIPHER_SC],
			  k->len[SSH_KEXINIT_CIPHER_SC]);
	if (!cs || !sc)
		return SSH_ALG_CIPHER;
	/* An AEAD cipher authenticates the data itself: no MAC is negotiated for its
	 * direction (OpenSSH's kex.c choose_enc / choose_mac, libssh2 1.11 alike). */
	if ((!ssh_cipher_is_aead(cs) &&
	     !ssh_alg_pick(&client[SSH_ALG_MAC], k->list[SSH_KEXINIT_MAC_CS], k->len[SSH_KEXINIT_MAC_CS])) ||
	    (!ssh_cipher_is_aead(sc) &&
	     !ssh_alg_pick(&client[SSH_ALG_MAC], k->list[SSH_KEXINIT_MAC_SC], k->len[SSH_KEXINIT_MAC_SC])))
		return SSH_ALG_MAC;
	return SSH_ALG_N;
}

const char *ssh_alg_cat_name(enum ssh_alg_cat c)
{
	switch (c) {
	case SSH_ALG_KEX: return "kex";
	case SSH_ALG_HOSTKEY: return "hostkey";
	case SSH_ALG_CIPHER: return "cipher";
	case SSH_ALG_MAC: return "mac";
	case SSH_ALG_N: break;
	}
	return "none";
}

/* ==================================================================================== */
/* Keys                                                                                 */
/* ==================================================================================== */

static int b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes base64 (white space ignored, stops at '=' or the end).  Returns the length,
 * or -1 on a bad character or when out is too small. */
static long b64_decode(const char *in, size_t len, unsigned char *out, size_t n)
{
	unsigned acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int v;

		if (isspace((unsigned char)in[i]))
			continue;
		if (in[i] == '=')
			break;
		v = b64_value((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= n)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return (long)o;
}

int ssh_blob_type(const unsigned char *blob, size_t len, char *out, size_t n)
{
	const unsigned char *p = blob, *s;
	size_t l;

	if (get_string(&p, blob + len, &s, &l) || l == 0 || l >= n)
		return MD_EPARSE;
	memcpy(out, s, l);
	out[l] = '\0';
	return MD_OK;
}

int ssh_key_info(const char *text, size_t len, struct ssh_keyinfo *ki)
{
	static const char oss_begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
	static const char oss_end[] = "-----END OPENSSH PRIVATE KEY-----";
	static const struct { const char *begin, *type; } pem[] = {
		{ "-----BEGIN RSA PRIVATE KEY-----", "ssh-rsa" },
		{ "-----BEGIN DSA PRIVATE KEY-----", "ssh-dss" },
		{ "-----BEGIN EC PRIVATE KEY-----", "ecdsa" },
		{ "-----BEGIN PRIVATE KEY-----", "unknown" },
		{ "-----BEGIN ENCRYPTED PRIVATE KEY-----", "unknown" },
	};
	const char *b, *e;

	memset(ki, 0, sizeof(*ki));
	snprintf(ki->type, sizeof(ki->type), "unknown");
	b = memmem(text, len, oss_begin, sizeof(oss_begin) - 1);
	if (b) {
		/* PROTOCOL.key in OpenSSH: "openssh-key-v1\0", string ciphername, string kdfname,
		 * string kdfoptions, uint32 nkeys, string publickey, ... — the public part and
		 * the cipher name are never encrypted. */
		unsigned char *raw;
		const unsigned char *p, *end, *s;
		size_t l;
		long n;
		int rc = MD_EPARSE;

		b += sizeof(oss_begin) - 1;
		e = memmem(b, len - (size_t)(b - text), oss_end, sizeof(oss_end) - 1);
		if (!e)
			return MD_EPARSE;
		raw = malloc((size_t)(e - b));
		if (!raw)
			return MD_ENOMEM;
		n = b64_decode(b, (size_t)(e - b), raw, (size_t)(e - b));
		if (n < 15 || memcmp(raw, "openssh-key-v1", 15) != 0)
			goto out;
		p = raw + 15;
		end = raw + n;
		if (get_string(&p, end, &s, &l))
			goto out;
		ki->encrypted = !(l == 4 && memcmp(s, "none", 4) == 0);
		if (get_string(&p, end, &s, &l) || get_string(&p, end, &s, &l) || end - p < 4)
			goto out;
		p += 4;
		if (get_string(&p, end, &s, &l))
			goto out;
		if (ssh_blob_type(s, l, ki->type, sizeof(ki->type)))
			goto out;
		if (l <= sizeof(ki->pub)) {
			memcpy(ki->pub, s, l);
			ki->pub_len = l;
		}
		rc = MD_OK;
out:
		/* raw holds the private section too (unencrypted keys). */
		OPENSSL_cleanse(raw, (size_t)(e - b));
		free(raw);
		return rc;
	}
	for (size_t i = 0; i < sizeof(pem) / sizeof(pem[0]); i++) {
		if (!memmem(text, len, pem[i].begin, strlen(pem[i].begin)))
			continue;
		snprintf(ki->type, sizeof(ki->type), "%s", pem[i].type);
		ki->encrypted = memmem(text, len, "Proc-Type: 4,ENCRYPTED", 22) != NULL ||
				strstr(pem[i].begin, "ENCRYPTED") != NULL;
		return MD_OK;
	}
	return MD_EPARSE;
}

int ssh_fingerprint(const unsigned char *blob, size_t len, char *out, size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	int l;

	if (!EVP_Digest(blob, len, md, &md_len, EVP_sha256(), NULL))
		return MD_EIO;
	l = EVP_EncodeBlock((unsigned char *)b64, md, (int)md_len);
	while (l > 0 && b64[l - 1] == '=')
		b64[--l] = '\0';
	if ((size_t)snprintf(out, n, "SHA256:%s", b64) >= n)
		return MD_ETOOBIG;
	return MD_OK;
}

/* ==================================================================================== */
/* ssh-agent                                                                            */
/* ==================================================================================== */

/* draft-miller-ssh-agent §3, §5.1 */
#define AGENT_FAILURE 5
#define AGENTC_REQUEST_IDENTITIES 11
#define AGENT_IDENTITIES_ANSWER 12
#define AGENTC_SIGN_REQUEST 13
#define AGENT_SIGN_RESPONSE 14
#define AGENT_RSA_SHA2_256 2
#define AGENT_RSA_SHA2_512 4
/* OpenSSH's limits: AGENT_MAX_LEN in authfd.c, MAX_AGENT_IDENTITIES. */
#define AGENT_MSG_MAX (256u * 1024)
#define AGENT_KEYS_MAX 2048u

static unsigned char *put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	return p + 4;
}

static unsigned char *put_string(unsigned char *p, const void *s, size_t len)
{
	p = put_u32(p, (uint32_t)len);
	memcpy(p, s, len);
	return p + len;
}

/* All of p out, or all of n bytes in, before the deadline (the socket is non-blocking). */
static int io_all(int fd, bool out, void *buf, size_t n, const struct md_deadline *dl)
{
	unsigned char *p = buf;

	while (n) {
		ssize_t k = out ? send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT)
				: recv(fd, p, n, MSG_DONTWAIT);

		if (k > 0) {
			p += k;
			n -= (size_t)k;
		} else if (k < 0 && errno == EINTR) {
			continue;
		} else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int rc = md_net_wait(fd, out ? POLLOUT : POLLIN, dl);

			if (rc)
				return rc;
		} else {
			return MD_EIO; /* closed by the agent, or a socket error */
		}
	}
	return MD_OK;
}

int ssh_agent_request(int fd, const unsigned char *req, size_t req_len, unsigned char **resp,
		      size_t *resp_len, const struct md_deadline *dl)
{
	unsigned char hdr[4];
	uint32_t len;
	int rc;

	*resp = NULL;
	*resp_len = 0;
	put_u32(hdr, (uint32_t)req_len);
	if ((rc = io_all(fd, true, hdr, 4, dl)) || (rc = io_all(fd, true, (void *)req, req_len, dl)) ||
	    (rc = io_all(fd, false, hdr, 4, dl)))
		return rc;
	len = get_u32(hdr);
	if (len == 0 || len > AGENT_MSG_MAX)
		return len ? MD_ETOOBIG : MD_EIO;
	*resp = malloc(len);
	if (!*resp)
		return MD_ENOMEM;
	rc = io_all(fd, false, *resp, len, dl);
	if (rc) {
		free(*resp);
		*resp = NULL;
		return rc;
	}
	*resp_len = len;
	return MD_OK;
}

void ssh_agent_keys_free(struct ssh_agent_keys *keys)
{
	for (size_t i = 0; keys->v && i < keys->n; i++) {
		free(keys->v[i].blob);
		free(keys->v[i].comment);
	}
	free(keys->v);
	keys->v = NULL;
	keys->n = 0;
}

int ssh_agent_parse_identities(const unsigned char *msg, size_t len, struct ssh_agent_keys *keys)
{
	const unsigned char *p, *end, *blob, *comment;
	size_t blob_len, comment_len;
	struct ssh_agent_keys k = { 0 };
	uint32_t n;

	memset(keys, 0, sizeof(*keys));
	if (len < 5 || msg[0] != AGENT_IDENTITIES_ANSWER)
		return MD_EPARSE;
	p = msg + 5;
	end = msg + len;
	n = get_u32(msg + 1);
	if (n > AGENT_KEYS_MAX)
		return MD_EPARSE;
	k.v = calloc(n ? n : 1, sizeof(*k.v));
	if (!k.v)
		return MD_ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct ssh_agent_key *x = &k.v[k.n];

		if (get_string(&p, end, &blob, &blob_len) || get_string(&p, end, &comment, &comment_len)) {
			ssh_agent_keys_free(&k);
			return MD_EPARSE;
		}
		x->blob = malloc(blob_len ? blob_len : 1);
		x->comment = malloc(comment_len + 1);
		k.n++;
		if (!x->blob || !x->comment) {
			ssh_agent_keys_free(&k);
			return MD_ENOMEM;
		}
		memcpy(x->blob, blob, blob_len);
		x->blob_len = blob_len;
		memcpy(x->comment, comment, comment_len);
		x->comment[comment_len] = '\0';
	}
	*keys = k;
	return MD_OK;
}

int ssh_agent_parse_signature(const unsigned char *msg, size_t len, char *alg, size_t alg_n,
			      const unsigned char **sig, size_t *sig_len)
{
	const unsigned char *p, *blob, *a, *end;
	size_t blob_len, a_len;

	if (len < 1)
		return MD_EPARSE;
	if (msg[0] == AGENT_FAILURE)
		return MD_EAUTH;
	p = msg + 1;
	if (msg[0] != AGENT_SIGN_RESPONSE || get_string(&p, msg + len, &blob, &blob_len))
		return MD_EPARSE;
	/* The signature blob (RFC 4253 §6.6): string algorithm, string signature. */
	p = blob;
	end = blob + blob_len;
	if (get_string(&p, end, &a, &a_len) || a_len >= alg_n || get_string(&p, end, sig, sig_len))
		return MD_EPARSE;
	memcpy(alg, a, a_len);
	alg[a_len] = '\0';
	return MD_OK;
}

int ssh_userauth_sign_alg(const unsigned char *data, size_t len, char *alg, size_t n)
{
	/* RFC 4252 §7: string session id, byte SSH_MSG_USERAUTH_REQUEST (50), string user,
	 * string service, string "publickey", boolean TRUE, string algorithm, string key. */
	const unsigned char *p = data, *end = data + len, *s;
	size_t l;

	if (get_string(&p, end, &s, &l) || end - p < 1 || *p++ != 50 || get_string(&p, end, &s, &l) ||
	    get_string(&p, end, &s, &l) || get_string(&p, end, &s, &l) || l != 9 ||
	    memcmp(s, "publickey", 9) != 0 || end - p < 1)
		return MD_EPARSE;
	p++;
	if (get_string(&p, end, &s, &l) || l == 0 || l >= n)
		return MD_EPARSE;
	memcpy(alg, s, l);
	alg[l] = '\0';
	return MD_OK;
}

/* Connects to the agent's socket before the deadline.  why: one line for evidence. */
static int agent_connect(const char *path, const struct md_deadline *dl, int *fd_out, char *why,
			 size_t why_n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	*fd_out = -1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(why, why_n, "%s: path too long for a Unix socket", path);
		return MD_EINVAL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, why_n, "socket: %s", strerror(errno));
		return MD_EIO;
	}
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (errno == EINTR)
			continue;
		/* A Unix socket says EAGAIN when the listener's backlog is full: the agent
		 * accepts no more connections.  Retry until the deadline. */
		if (errno == EAGAIN && md_deadline_left_ms(dl) > 0) {
			poll(NULL, 0, 20);
			continue;
		}
		int e = errno;

		snprintf(why, why_n, "connect %s: %s", path,
			 e == EAGAIN ? "the agent accepts no connection" : strerror(e));
		close(fd);
		return e == EAGAIN ? MD_ETIMEOUT : MD_EIO;
	}
	*fd_out = fd;
	return MD_OK;
}

/* ==================================================================================== */
/* known_hosts                                                                          */
/* ==================================================================================== */

void ssh_known_hosts_name(const char *host, int port, const char *alias, char *out, size_t n)
{
	/* OpenSSH writes the bare name for the default port, else "[name]:port"
	 * (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"); a HostKeyAlias replaces both
	 * (ssh_config(5)). */
	if (alias && *alias)
		snprintf(out, n, "%s", alias);
	else if (port == 22 || port <= 0)
		snprintf(out, n, "%s", host);
	else
		snprintf(out, n, "[%s]:%d", host, port);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

#define KNOWN_HOSTS_MAX (4u * 1024 * 1024)

/* Reads a whole file of at most max bytes.  MD_OK, MD_ENOTFOUND, MD_ETOOBIG, MD_ENOMEM,
 * or MD_EIO with errno saying why (EACCES, EISDIR, ...). */
static int read_small_file(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	size_t have = 0;
	int fd, e;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? MD_ENOTFOUND : MD_EIO;
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return MD_EIO;
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return MD_ETOOBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return MD_ENOMEM;
	}
	while (have < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + have, (size_t)st.st_size - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			close(fd);
			free(buf);
			errno = e;
			return MD_EIO;
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	buf[have] = '\0';
	*out = buf;
	*len = have;
	return MD_OK;
}

static void note(char *notes, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(char *notes, size_t n, const char *fmt, ...)
{
	size_t used = strlen(notes);
	va_list ap;

	if (used + 3 >= n)
		return;
	if (used)
		used += (size_t)snprintf(notes + used, n - used, "; ");
	va_start(ap, fmt);
	vsnprintf(notes + used, n - used, fmt, ap);
	va_end(ap);
}

/* OpenSSH's match_pattern(): '*' any run of characters, '?' any one; case is folded
 * here because ssh(1) lower-cases the host name and match_hostname() the pattern. */
static bool wild_match(const char *s, const char *p)
{
	for (;;) {
		if (!*p)
			return !*s;
		if (*p == '*') {
			while (*p == '*')
				p++;
			if (!*p)
				return true;
			for (; *s; s++)
				if (wild_match(s, p))
					return true;
			return false;
		}
		if (!*s)
			return false;
		if (*p != '?' && tolower((unsigned char)*p) != tolower((unsigned char)*s))
			return false;
		s++;
		p++;
	}
}

/* HashKnownHosts (ssh_config(5)): a hashed host field is
 * "|1|base64(salt)|base64(HMAC-SHA1(key = salt, name))". */
#define KH_HASH_MAGIC "|1|"
#define KH_SALT_LEN 20 /* SHA-1's output size, as OpenSSH's salts */

static bool host_hmac(const unsigned char *salt, size_t salt_len, const char *name,
		      unsigned char *out, unsigned int *out_len)
{
	return HMAC(EVP_sha1(), salt, (int)salt_len, (const unsigned char *)name, strlen(name), out,
		    out_len) != NULL;
}

static bool hashed_match(const char *field, const char *name)
{
	unsigned char salt[64], want[64], got[EVP_MAX_MD_SIZE];
	unsigned int got_len = 0;
	const char *salt_b64 = field + strlen(KH_HASH_MAGIC), *bar = strchr(salt_b64, '|');
	long salt_len, want_len;

	if (!bar)
		return false;
	salt_len = b64_decode(salt_b64, (size_t)(bar - salt_b64), salt, sizeof(salt));
	want_len = b64_decode(bar + 1, strlen(bar + 1), want, sizeof(want));
	if (salt_len <= 0 || want_len <= 0 || !host_hmac(salt, (size_t)salt_len, name, got, &got_len))
		return false;
	return (long)got_len == want_len && CRYPTO_memcmp(got, want, got_len) == 0;
}

/* The hashed form of name with a fresh salt, into out (at least 64 bytes). */
static int hash_host_name(const char *name, char *out, size_t n)
{
	unsigned char salt[KH_SALT_LEN], mac[EVP_MAX_MD_SIZE];
	char salt_b64[4 * ((KH_SALT_LEN + 2) / 3) + 1], mac_b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	unsigned int mac_len = 0;

	if (RAND_bytes(salt, sizeof(salt)) != 1 || !host_hmac(salt, sizeof(salt), name, mac, &mac_len))
		return MD_EIO;
	EVP_EncodeBlock((unsigned char *)salt_b64, salt, sizeof(salt));
	EVP_EncodeBlock((unsigned char *)mac_b64, mac, (int)mac_len);
	if ((size_t)snprintf(out, n, KH_HASH_MAGIC "%s|%s", salt_b64, mac_b64) >= n)
		return MD_ETOOBIG;
	return MD_OK;
}

int ssh_known_hosts_match(const char *field, const char *name)
{
	int positive = 0;

	if (strncmp(field, KH_HASH_MAGIC, strlen(KH_HASH_MAGIC)) == 0)
		return hashed_match(field, name) ? 1 : 0;
	/* match_pattern_list() in OpenSSH's match.c: a matching "!pattern" rules the line
	 * out whatever else matches. */
	while (*field) {
		size_t len = strcspn(field, ",");
		char pat[1024];
		bool neg = *field == '!';

		copy_span(pat, sizeof(pat), field + neg, len - neg);
		if (len > neg && wild_match(name, pat)) {
			if (neg)
				return -1;
			positive = 1;
		}
		field += len;
		if (*field == ',')
			field++;
	}
	return positive;
}

enum kh_marker { KH_PLAIN, KH_REVOKED, KH_CA };

/* One known_hosts line split in place: "[@marker] hosts type base64 [comment]".  false
 * for a line that is not an entry (unknown marker, missing fields). */
static bool kh_split(char *line, enum kh_marker *marker, char **hosts, char **b64)
{
	char *save = NULL, *f[4];
	int k = 0;

	for (char *tok = strtok_r(line, " \t", &save); tok && k < 4; tok = strtok_r(NULL, " \t", &save))
		f[k++] = tok;
	*marker = KH_PLAIN;
	if (k && f[0][0] == '@') {
		if (strcmp(f[0], "@revoked") == 0)
			*marker = KH_REVOKED;
		else if (strcmp(f[0], "@cert-authority") == 0)
			*marker = KH_CA;
		else
			return false;
		if (k < 4)
			return false;
		*hosts = f[1];
		*b64 = f[3];
		return true;
	}
	if (k < 3)
		return false;
	*hosts = f[0];
	*b64 = f[2];
	return true;
}

/* One entry a scan found: the file (one of the caller's strings) and line, and for a
 * "changed" key the type and fingerprint of the key on file. */
struct kh_hit {
	const char *file; /* NULL: none found */
	int line;
	char type[48];
	char fp[80];
};

/* What a scan of the files is looking for and what it found. */
struct kh_scan {
	const char *name;
	const unsigned char *key; /* NULL: only collect the key types on file */
	size_t key_len;
	char key_type[48];
	struct kh_hit rev, match;
	struct kh_hit changed_same;  /* first entry with another key of the presented type */
	struct kh_hit changed_other; /* first entry with a key of another type */
	struct kh_hit rsa;           /* first entry with another key, an RSA one */
	char types[160];             /* the plain entries' key types */
	char *notes, *unread;
	size_t notes_len, unread_len;
};

/* Whether item is one of the comma-separated names in list. */
static bool in_list(const char *list, const char *item)
{
	size_t il = strlen(item);

	for (const char *p = list; *p;) {
		size_t l = strcspn(p, ",");

		if (l == il && memcmp(p, item, l) == 0)
			return true;
		p += l;
		if (*p == ',')
			p++;
	}
	return false;
}

static void add_type(char *list, size_t n, const char *type)
{
	if (in_list(list, type) || strlen(list) + strlen(type) + 2 > n)
		return;
	if (*list)
		strcat(list, ",");
	strcat(list, type);
}

static void kh_hit(struct kh_hit *h, const char *file, int line, const char *type,
		   const unsigned char *blob, size_t blob_len)
{
	if (h->file)
		return;
	h->file = file;
	h->line = line;
	if (type) {
		snprintf(h->type, sizeof(h->type), "%s", type);
		ssh_fingerprint(blob, blob_len, h->fp, sizeof(h->fp));
	}
}

static int kh_scan_file(const char *file, struct kh_scan *s)
{
	char *text, *next;
	size_t len, skipped = 0, ca = 0;
	int lineno = 0, rc;
	unsigned char *blob = NULL;

	rc = read_small_file(file, KNOWN_HOSTS_MAX, &text, &len);
	if (rc == MD_ENOTFOUND) {
		note(s->notes, s->notes_len, "%s: not found", file);
		return MD_OK;
	}
	if (rc == MD_ENOMEM)
		return rc;
	if (rc) {
		/* OpenSSH's load_hostkeys() skips such a file (a debug message only); so
		 * does this scan, but the caller is told. */
		note(s->unread, s->unread_len, "%s: %s", file,
		     rc == MD_ETOOBIG ? "larger than 4 MiB, not read" : strerror(errno));
		return MD_OK;
	}
	blob = malloc(len + 1);
	if (!blob) {
		free(text);
		return MD_ENOMEM;
	}
	/* Every line counts, blank and comment lines too: the numbers are the ones
	 * `ssh-keygen -F` and an editor show. */
	for (char *p = text; p; p = next) {
		enum kh_marker marker;
		char *hosts, *b64, type[48], *nl = strchr(p, '\n');
		long blen;
		bool same;

		next = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		if (!nl && !*p)
			break;
		lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#' || *p == '\r')
			continue;
		if (!kh_split(p, &marker, &hosts, &b64) ||
		    (blen = b64_decode(b64, strlen(b64), blob, len)) <= 0 ||
		    ssh_blob_type(blob, (size_t)blen, type, sizeof(type))) {
			skipped++;
			continue;
		}
		if (ssh_known_hosts_match(hosts, s->name) != 1)
			continue;
		if (marker == KH_CA) {
			ca++;
			continue;
		}
		if (marker == KH_PLAIN)
			add_type(s->types, sizeof(s->types), type);
		if (!s->key)
			continue;
		same = (size_t)blen == s->key_len && memcmp(blob, s->key, s->key_len) == 0;
		if (marker == KH_REVOKED) {
			/* sshd(8): "the key contained on the line is revoked and must not
			 * ever be accepted". */
			if (same)
				kh_hit(&s->rev, file, lineno, NULL, NULL, 0);
		} else if (same) {
			kh_hit(&s->match, file, lineno, NULL, NULL, 0);
		} else {
			/* OpenSSH's check_hostkeys_by_key_or_type(): any other key on file
			 * for the name, of whatever type, is a changed host key ("A
			 * non-matching key exists"), never a new one. */
			kh_hit(strcmp(type, s->key_type) == 0 ? &s->changed_same : &s->changed_other,
			       file, lineno, type, blob, (size_t)blen);
			/* Named when this libssh2 cannot ask for it (ssh_hostkey_unverifiable()). */
			if (strcmp(type, "ssh-rsa") == 0)
				kh_hit(&s->rsa, file, lineno, type, blob, (size_t)blen);
		}
	}
	if (skipped)
		note(s->notes, s->notes_len, "%s: %zu line(s) skipped (not a known_hosts entry)", file,
		     skipped);
	if (ca)
		note(s->notes, s->notes_len,
		     "%s: %zu @cert-authority line(s) for %s not used (host certificates are not checked)",
		     file, ca, s->name);
	free(blob);
	free(text);
	return MD_OK;
}

int ssh_known_hosts_check(const char *const *files, size_t n, const char *name,
			  const unsigned char *key, size_t key_len, struct ssh_kh_result *r,
			  struct md_err *err)
{
	struct kh_scan s = { .name = name, .key = key, .key_len = key_len };
	const struct kh_hit *w;
	int rc = MD_OK;

	memset(r, 0, sizeof(*r));
	r->status = SSH_HOSTKEY_UNKNOWN;
	s.notes = r->notes;
	s.notes_len = sizeof(r->notes);
	s.unread = r->unread;
	s.unread_len = sizeof(r->unread);
	if (ssh_blob_type(key, key_len, s.key_type, sizeof(s.key_type)))
		return md_err_set(err, MD_EINVAL, "known_hosts", "the host key blob has no key type");
	for (size_t i = 0; i < n && rc == MD_OK; i++)
		rc = kh_scan_file(files[i], &s);
	if (rc)
		return md_err_set(err, rc, "known_hosts", "reading known_hosts: %s", md_status_name(rc));
	snprintf(r->types, sizeof(r->types), "%s", s.types);
	/* As OpenSSH's check_key_in_hostkeys(): revoked first, then a match in any file,
	 * then "changed". */
	if (s.rev.file) {
		w = &s.rev;
		r->status = SSH_HOSTKEY_REVOKED;
	} else if (s.match.file) {
		w = &s.match;
		r->status = SSH_HOSTKEY_MATCH;
	} else if (s.changed_same.file || s.changed_other.file) {
		w = s.changed_same.file ? &s.changed_same : &s.changed_other;
		r->status = SSH_HOSTKEY_CHANGED;
		snprintf(r->known_type, sizeof(r->known_type), "%s", w->type);
		snprintf(r->known_fp, sizeof(r->known_fp), "%s", w->fp);
		if (s.rsa.file) {
			snprintf(r->rsa_file, sizeof(r->rsa_file), "%s", s.rsa.file);
			r->rsa_line = s.rsa.line;
			snprintf(r->rsa_fp, sizeof(r->rsa_fp), "%s", s.rsa.fp);
		}
	} else {
		return MD_OK;
	}
	snprintf(r->file, sizeof(r->file), "%s", w->file);
	r->line = w->line;
	return MD_OK;
}

void ssh_known_hosts_types(const char *const *files, size_t n, const char *name, char *out,
			   size_t out_n)
{
	char notes[512] = "", unread[512] = "";
	struct kh_scan s = { .name = name, .notes = notes, .notes_len = sizeof(notes),
			     .unread = unread, .unread_len = sizeof(unread) };

	for (size_t i = 0; i < n; i++)
		if (kh_scan_file(files[i], &s))
			break;
	snprintf(out, out_n, "%s", s.types);
}

/* OpenSSH 9's default HostKeyAlgorithms without certificates and security keys, and the
 * key type each algorithm is for. */
static const struct {
	const char *alg, *key_type;
} hostkey_algs[] = {
	{ "ssh-ed25519", "ssh-ed25519" },
	{ "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256" },
	{ "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384" },
	{ "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521" },
	{ "rsa-sha2-512", "ssh-rsa" },
	{ "rsa-sha2-256", "ssh-rsa" },
	{ "ssh-rsa", "ssh-rsa" },
};

void ssh_hostkey_order(const char *known_types, const char *const *supported, size_t n_supported,
		       char *out, size_t n)
{
	if (n)
		out[0] = '\0';
	/* Two passes: the algorithms whose key type known_hosts holds, then the rest. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < sizeof(hostkey_algs) / sizeof(hostkey_algs[0]); i++) {
			bool known = in_list(known_types, hostkey_algs[i].key_type), ok = false;

			if (known != (pass == 0))
				continue;
			for (size_t j = 0; j < n_supported && !ok; j++)
				ok = strcmp(supported[j], hostkey_algs[i].alg) == 0;
			if (ok && strlen(out) + strlen(hostkey_algs[i].alg) + 2 <= n) {
				if (*out)
					strcat(out, ",");
				strcat(out, hostkey_algs[i].alg);
			}
		}
}

bool ssh_hostkey_unverifiable(const char *known_types, const char *presented_type,
			      const char *const *supported, size_t n_supported, const char *asked,
			      const char *negotiated)
{
	bool rsa_asked = false;

	if (!negotiated || !*negotiated || in_list(known_types, presented_type) ||
	    !in_list(known_types, "ssh-rsa"))
		return false;
	/* libssh2 1.11 and later verify rsa-sha2-256 and rsa-sha2-512 host key signatures
	 * (and ask for them first when RSA is on file): then the server would have shown
	 * its RSA key, if it has one. */
	for (size_t i = 0; i < n_supported; i++)
		if (strncmp(supported[i], "rsa-sha2-", 9) == 0)
			return false;
	for (const char *p = asked; *p;) {
		size_t l = strcspn(p, ",");

		if (l == strlen(negotiated) && memcmp(p, negotiated, l) == 0)
			return rsa_asked;
		if (l == 7 && memcmp(p, "ssh-rsa", 7) == 0)
			rsa_asked = true;
		p += l;
		if (*p == ',')
			p++;
	}
	return false;
}

bool ssh_hostkey_algs_offer_rsa(const char *list, size_t len)
{
	static const char *const rsa[] = {
		"rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", "rsa-sha2-512-cert-v01@openssh.com",
		"rsa-sha2-256-cert-v01@openssh.com", "ssh-rsa-cert-v01@openssh.com",
	};

	for (size_t i = 0; i < sizeof(rsa) / sizeof(rsa[0]); i++)
		if (ssh_namelist_has(list, len, rsa[i]))
			return true;
	return false;
}

static int mkdirs(char *path, mode_t mode)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, mode) < 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int ssh_known_hosts_add(const char *file, const char *name, bool hashed, const unsigned char *key,
			size_t key_len, struct md_err *err)
{
	int fd, rc = MD_OK;
	char type[48], dir[PATH_MAX], *slash, *b64 = NULL, last = '\n', host[128];
	struct stat st;
	FILE *fp;

	if (ssh_blob_type(key, key_len, type, sizeof(type)))
		return md_err_set(err, MD_EINVAL, "known_hosts", "the host key blob has no key type");
	if (hashed && hash_host_name(name, host, sizeof(host)))
		return md_err_set(err, MD_EIO, "known_hosts", "hashing %s: no random salt", name);
	snprintf(dir, sizeof(dir), "%s", file);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (stat(dir, &st) < 0 && mkdirs(dir, 0700) < 0)
			return md_err_set(err, MD_EIO, "known_hosts", "mkdir %s: %s", dir,
					  strerror(errno));
	}
	fd = open(file, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return md_err_set(err, MD_EIO, "known_hosts", "open %s: %s", file, strerror(errno));
	if (fstat(fd, &st) == 0 && st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)
		last = '\n';
	b64 = malloc(4 * ((key_len + 2) / 3) + 1);
	fp = b64 ? fdopen(fd, "a") : NULL;
	if (!fp) {
		close(fd);
		free(b64);
		return md_err_set(err, MD_ENOMEM, "known_hosts", "out of memory");
	}
	EVP_EncodeBlock((unsigned char *)b64, key, (int)key_len);
	fprintf(fp, "%s%s %s %s\n", last == '\n' ? "" : "\n", hashed ? host : name, type, b64);
	if (fclose(fp) != 0)
		rc = md_err_set(err, MD_EIO, "known_hosts", "write %s: %s", file, strerror(errno));
	free(b64);
	return rc;
}

/* ==================================================================================== */
/* The probe                                                                            */
/* ==================================================================================== */

/* How long to wait for the server to speak first before letting libssh2 send our own
 * identification: SSH servers send theirs on accept (RFC 4253 §4.2), while some other
 * protocols (HTTP) stay silent until the client speaks, as `ssh` does at once. */
#define BANNER_PEEK_MS 1000
/* After a line that is not "SSH-", how long an SSH line may still take to follow. */
#define BANNER_GRACE_MS 500

enum banner_outcome { BANNER_OK, BANNER_SILENT, BANNER_NOT_SSH, BANNER_CLOSED, BANNER_NONE };

/* Peeks at what the server sends first (MSG_PEEK: the bytes stay for libssh2), and
 * consumes the lines before the "SSH-" line, which libssh2 1.10 would take for the
 * banner.  BANNER_SILENT: nothing arrived within BANNER_PEEK_MS. */
static enum banner_outcome peek_banner(int fd, const struct md_deadline *dl, char *line,
				       size_t line_n, char *first, size_t first_n)
{
	char buf[BANNER_PREAMBLE_MAX + BANNER_LINE_MAX];
	struct md_deadline quiet = md_deadline_min(*dl, md_deadline_after(md_now_ms(), BANNER_PEEK_MS));
	int64_t grace_end = 0;
	ssize_t have = 0, n;
	char pre[64];
	size_t pre_len = 0;

	line[0] = first[0] = '\0';
	bool other = false;

	for (;;) {
		size_t skip, l;
		enum ssh_scan sc;

		if (have == 0) {
			int prc = md_net_wait(fd, POLLIN, &quiet);

			if (prc == MD_ETIMEOUT)
				return md_deadline_left_ms(dl) <= 0 ? BANNER_NONE : BANNER_SILENT;
		} else {
			/* Peeked data stays readable, so wait for more with a short tick; a peer
			 * that already closed its side (POLLRDHUP) will send nothing more. */
			struct md_deadline tick = md_deadline_min(*dl, md_deadline_after(md_now_ms(), 20));
			struct pollfd p = { .fd = fd, .events = POLLRDHUP };

			if (poll(&p, 1, md_deadline_poll_ms(&tick)) > 0) {
				ssh_escape(buf, (size_t)(have < 64 ? have : 64), first, first_n);
				return other ? BANNER_NOT_SSH : BANNER_CLOSED;
			}
		}
		n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			n = have;
		} else if (n <= 0) {
			if (have || pre_len) {
				ssh_escape(pre_len ? pre : buf, pre_len ? pre_len : (size_t)have, first,
					   first_n);
				return BANNER_NOT_SSH;
			}
			snprintf(first, first_n, "%s", n == 0 ? "connection closed" : strerror(errno));
			return BANNER_CLOSED;
		}
		have = n;
		sc = ssh_banner_scan(buf, (size_t)have, &skip, &l, &other);
		if (sc == SSH_SCAN_BANNER) {
			copy_span(line, line_n, buf + skip, l);
			if (skip) {
				/* RFC 4253 §4.2 allows these lines; hand libssh2 the SSH- line. */
				if (!pre_len) {
					pre_len = skip < sizeof(pre) ? skip : sizeof(pre);
					memcpy(pre, buf, pre_len);
				}
				if (recv(fd, buf, skip, 0) != (ssize_t)skip)
					return BANNER_CLOSED;
				ssh_escape(pre, pre_len, first, first_n);
			}
			return BANNER_OK;
		}
		if (sc == SSH_SCAN_NOT_SSH || (other && grace_end && md_now_ms() >= grace_end)) {
			ssh_escape(buf, (size_t)(have < 64 ? have : 64), first, first_n);
			return BANNER_NOT_SSH;
		}
		if (other && !grace_end)
			grace_end = md_now_ms() + BANNER_GRACE_MS;
		if (md_deadline_left_ms(dl) <= 0) {
			ssh_escape(buf, (size_t)(have < 64 ? have : 64), first, first_n);
			return other ? BANNER_NOT_SSH : BANNER_NONE;
		}
	}
}

static void format_addr(const char *host, int port, char *out, size_t n)
{
	if (strchr(host, ':'))
		snprintf(out, n, "[%s]:%d", host, port);
	else
		snprintf(out, n, "%s:%d", host, port);
}

static const char *tcp_value(int rc, const struct md_err *e)
{
	switch (rc) {
	case MD_EREFUSED: return "refused";
	case MD_ETIMEOUT:
		/* A lookup still running at the deadline: the name server did not answer, which
		 * says nothing about whether the name exists. */
		return md_net_resolve_timed_out(rc, e) ? "resolve-timeout" : "timeout";
	case MD_EUNREACH:
	case MD_EPERM: return "unreachable";
	case MD_ERESOLVE: return "no-such-host";
	}
	return "error";
}

/* Loops a non-blocking libssh2 call until it stops saying EAGAIN or the deadline passes. */
#define SSH_STEP(rc, ms, dl, call)                                                        \
	do {                                                                              \
		while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN)                           \
			if (md_session_wait((ms), (dl))) {                                \
				(rc) = LIBSSH2_ERROR_TIMEOUT;                             \
				break;                                                    \
			}                                                                 \
	} while (0)

static const char *ssh_error(LIBSSH2_SESSION *ssh)
{
	char *msg = NULL;

	libssh2_session_last_error(ssh, &msg, NULL, 0);
	return msg && *msg ? msg : "unknown libssh2 error";
}

/* ---- Authentication ---- */

struct auth_run {
	int tried, tried_rsa;
	char keys[1024];      /* what was offered, for evidence */
	char skipped[1024];   /* identity files not offered, and why */
	char encrypted[1024]; /* passphrase-protected files */
	char last[256];       /* libssh2's last refusal */
	char method[600];     /* on success: "agent" or "publickey:<file>" */
	char method_ev[600];
};

static bool denial(int rc)
{
	return rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED || rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED;
}

static void tried(struct auth_run *ar, const char *what, const char *type)
{
	ar->tried++;
	if (strcmp(type, "ssh-rsa") == 0)
		ar->tried_rsa++;
	note(ar->keys, sizeof(ar->keys), "%s (%s)", what, type);
}

static const char *user_of(const struct md_target *t)
{
	return t->user && *t->user ? t->user : "root";
}

/* An agent answers a local request in a few milliseconds, unless it waits for a person
 * (a key added with `ssh-add -c` asks for a confirmation before signing) or hangs.  It
 * gets half of the time left, at most this long, so that the identity files keep the
 * other half. */
#define AGENT_WAIT_MAX_MS 10000

#define CERT_SUFFIX "-cert-v01@openssh.com"

uint32_t ssh_agent_sign_flags(const char *alg)
{
	/* By prefix: the certificate algorithms rsa-sha2-256-cert-v01@openssh.com and
	 * rsa-sha2-512-cert-v01@openssh.com sign with the same hashes. */
	if (strncmp(alg, "rsa-sha2-256", 12) == 0 && (!alg[12] || strcmp(alg + 12, CERT_SUFFIX) == 0))
		return AGENT_RSA_SHA2_256;
	if (strncmp(alg, "rsa-sha2-512", 12) == 0 && (!alg[12] || strcmp(alg + 12, CERT_SUFFIX) == 0))
		return AGENT_RSA_SHA2_512;
	return 0;
}

void ssh_sig_alg_of(const char *alg, char *out, size_t n)
{
	size_t l = strlen(alg), sl = strlen(CERT_SUFFIX);

	if (l > sl && strcmp(alg + l - sl, CERT_SUFFIX) == 0) {
		/* Security-key types keep their "@openssh.com": sk-ssh-ed25519@openssh.com. */
		bool sk = strncmp(alg, "sk-", 3) == 0;

		snprintf(out, n, "%.*s%s", (int)(l - sl), alg, sk ? "@openssh.com" : "");
	} else {
		snprintf(out, n, "%s", alg);
	}
}

struct agent_sign_ctx {
	int fd;
	const struct md_deadline *dl;
	const struct ssh_agent_key *key;
	/* MD_OK; MD_EAUTH (the agent refused), MD_EPARSE (a malformed signature) and
	 * MD_EPROTO (signed with another algorithm than asked), after which the connection
	 * is still in step; MD_ENOMEM; anything else leaves it unusable (MD_ETIMEOUT,
	 * MD_EIO, MD_ETOOBIG: an answer may still be on its way or unread).  1: not called. */
	int status;
	char alg[64];      /* the algorithm libssh2 asked for ("" when not found) */
	char got_alg[64];  /* MD_EPROTO: the one the agent signed with */
};

/* libssh2's signing callback for libssh2_userauth_publickey(): one SIGN_REQUEST to the
 * agent, bounded by the agent's deadline.  The signature is malloc'd because libssh2
 * frees it with the session's allocator, libssh2's default (md_session_new_ssh() passes
 * none). */
static LIBSSH2_USERAUTH_PUBLICKEY_SIGN_FUNC(agent_sign)
{
	struct agent_sign_ctx *c = *abstract;
	const struct ssh_agent_key *k = c->key;
	unsigned char *req, *q, *resp = NULL;
	const unsigned char *sg;
	size_t resp_len = 0, sg_len;
	uint32_t flags = 0;
	char alg[64];

	(void)session;
	/* RSA keys sign with the algorithm libssh2 put in the request (ssh-rsa in libssh2
	 * 1.10, rsa-sha2-* in later versions): draft-miller-ssh-agent §5.3 flags. */
	if (ssh_userauth_sign_alg(data, data_len, c->alg, sizeof(c->alg)) == MD_OK)
		flags = ssh_agent_sign_flags(c->alg);
	else
		c->alg[0] = '\0';
	req = malloc(1 + 4 + k->blob_len + 4 + data_len + 4);
	if (!req) {
		c->status = MD_ENOMEM;
		return -1;
	}
	q = req;
	*q++ = AGENTC_SIGN_REQUEST;
	q = put_string(q, k->blob, k->blob_len);
	q = put_string(q, data, data_len);
	q = put_u32(q, flags);
	c->status = ssh_agent_request(c->fd, req, (size_t)(q - req), &resp, &resp_len, c->dl);
	free(req);
	if (c->status == MD_OK)
		c->status = ssh_agent_parse_signature(resp, resp_len, alg, sizeof(alg), &sg, &sg_len);
	if (c->status == MD_OK && c->alg[0]) {
		/* An agent that ignores the flags signs an RSA key with SHA-1 ("ssh-rsa"):
		 * the server would refuse that signature, and the refusal would be blamed
		 * on the key.  OpenSSH's client checks the same (sshkey_check_sigtype()). */
		char want[64];

		ssh_sig_alg_of(c->alg, want, sizeof(want));
		if (strcmp(alg, want) != 0) {
			snprintf(c->got_alg, sizeof(c->got_alg), "%s", alg);
			c->status = MD_EPROTO;
		}
	}
	if (c->status == MD_OK) {
		*sig = malloc(sg_len ? sg_len : 1);
		if (*sig) {
			memcpy(*sig, sg, sg_len);
			*sig_len = sg_len;
		} else {
			c->status = MD_ENOMEM;
		}
	}
	free(resp);
	return c->status == MD_OK ? 0 : -1;
}

int ssh_identity_info(const char *file, struct ssh_keyinfo *ki)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	memset(ki, 0, sizeof(*ki));
	snprintf(ki->type, sizeof(ki->type), "unknown");
	rc = read_small_file(file, 1024 * 1024, &text, &len);
	if (rc)
		return rc;
	rc = ssh_key_info(text, len, ki);
	/* An unencrypted key's text is the private key itself. */
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

bool ssh_identity_blob(const char *file, unsigned char *out, size_t n, size_t *len)
{
	char pub[PATH_MAX], *text = NULL, type[64], b64[8192];
	size_t tl;
	long l = -1;
	struct ssh_keyinfo *ki;

	snprintf(pub, sizeof(pub), "%s.pub", file);
	if (read_small_file(pub, 64 * 1024, &text, &tl) == MD_OK) {
		if (sscanf(text, "%63s %8191s", type, b64) == 2)
			l = b64_decode(b64, strlen(b64), out, n);
		free(text);
		if (l > 0) {
			*len = (size_t)l;
			return true;
		}
	}
	ki = calloc(1, sizeof(*ki));
	if (ki && ssh_identity_info(file, ki) == MD_OK && ki->pub_len && ki->pub_len <= n) {
		memcpy(out, ki->pub, ki->pub_len);
		l = (long)ki->pub_len;
	}
	free(ki);
	*len = l > 0 ? (size_t)l : 0;
	return l > 0;
}

/* The identity files' public key blobs, read once for all the agent's keys. */
struct id_blobs {
	unsigned char blob[MD_TARGET_MAX_FILES][2048];
	size_t len[MD_TARGET_MAX_FILES]; /* 0: the file did not say */
	size_t n;
};

static void id_blobs_read(const struct md_target *t, struct id_blobs *ib)
{
	ib->n = t->n_identities < MD_TARGET_MAX_FILES ? t->n_identities : MD_TARGET_MAX_FILES;
	for (size_t i = 0; i < ib->n; i++)
		if (!ssh_identity_blob(t->identities[i], ib->blob[i], sizeof(ib->blob[i]), &ib->len[i]))
			ib->len[i] = 0;
}

/* IdentitiesOnly (ssh_config(5)): only the identity files' keys, "even if ssh-agent
 * offers more identities" — the agent still signs for those it holds.  ib: NULL
 * without IdentitiesOnly. */
static bool agent_key_allowed(const struct id_blobs *ib, const struct ssh_agent_key *k)
{
	if (!ib)
		return true;
	for (size_t i = 0; i < ib->n; i++)
		if (ib->len[i] && ib->len[i] == k->blob_len && memcmp(ib->blob[i], k->blob, k->blob_len) == 0)
			return true;
	return false;
}

/* Why the agent's connection cannot be used after an attempt: one line for evidence. */
static void agent_unusable(const struct agent_sign_ctx *c, const char *sock, const char *what,
			   const char *type, char *why, size_t why_n)
{
	const char *how;

	switch (c->status) {
	case MD_ETIMEOUT: how = "no answer before its deadline"; break;
	case MD_EIO: how = "the agent closed the connection"; break;
	case MD_ETOOBIG: how = "an answer over 256 KiB, not read"; break;
	default: how = md_status_name(c->status);
	}
	snprintf(why, why_n, "%s did not sign with %s (%s): %s", sock, what, type, how);
}

/* The agent's keys, all agent I/O bounded by the agent's own deadline; the server's
 * answers by dl.  Records ssh.agent.  MD_OK (logged in), MD_EAUTH (all refused, none, or
 * no usable agent: go on with the identity files), MD_ETIMEOUT (the server did not
 * answer), MD_EIO, MD_ENOMEM. */
static int auth_agent(struct md_session *ms, const struct md_target *t, const struct md_deadline *dl,
		      struct auth_run *ar, struct md_facts *f)
{
	LIBSSH2_SESSION *ssh = md_session_ssh(ms);
	const char *user = user_of(t);
	const char *sock = t->identity_agent ? t->identity_agent : getenv("SSH_AUTH_SOCK");
	const char *from = t->identity_agent ? "IdentityAgent" : "SSH_AUTH_SOCK";
	struct ssh_agent_keys keys = { 0 };
	struct id_blobs *ib = NULL;
	struct md_deadline adl;
	unsigned char req = AGENTC_REQUEST_IDENTITIES, *resp = NULL;
	size_t resp_len = 0, skipped = 0;
	char why[PATH_MAX + 64] = "", value[16] = "error", wrong_alg[600] = "";
	int64_t left, t0 = md_now_ms();
	int fd = -1, rc, result = MD_EAUTH;

	if (t->identity_agent && strcmp(t->identity_agent, "none") == 0) {
		md_fact_str(f, P, "ssh.agent", "disabled", "IdentityAgent none in ssh_config: no agent asked");
		return MD_EAUTH;
	}
	if (!sock || !*sock) {
		md_fact_str(f, P, "ssh.agent", "none", "SSH_AUTH_SOCK is not set: no agent to ask");
		return MD_EAUTH;
	}
	md_fact_strf(f, P, "ssh.agent_socket", sock, "from %s", from);
	left = md_deadline_left_ms(dl);
	adl = md_deadline_min(*dl, md_deadline_after(t0, left / 2 < AGENT_WAIT_MAX_MS ? left / 2 : AGENT_WAIT_MAX_MS));
	rc = agent_connect(sock, &adl, &fd, why, sizeof(why));
	if (rc == MD_OK) {
		rc = ssh_agent_request(fd, &req, 1, &resp, &resp_len, &adl);
		if (rc == MD_ETIMEOUT)
			snprintf(why, sizeof(why),
				 "%s accepted the connection but did not answer REQUEST_IDENTITIES within %lld ms",
				 sock, (long long)(md_now_ms() - t0));
		else if (rc && rc != MD_ENOMEM)
			snprintf(why, sizeof(why), "%s: REQUEST_IDENTITIES: %s", sock,
				 rc == MD_EIO ? "the agent closed the connection" :
				 rc == MD_ETOOBIG ? "an answer over 256 KiB" : md_status_name(rc));
		else if (rc == MD_OK && (rc = ssh_agent_parse_identities(resp, resp_len, &keys)) == MD_EPARSE)
			snprintf(why, sizeof(why), "%s: not an identities answer (message type %u)", sock,
				 resp_len ? resp[0] : 0);
	}
	/* With IdentitiesOnly, the identity files' public keys, read once for every agent
	 * key. */
	if (rc == MD_OK && t->identities_only) {
		ib = calloc(1, sizeof(*ib));
		if (ib)
			id_blobs_read(t, ib);
		else
			rc = MD_ENOMEM;
	}
	if (rc == MD_ENOMEM) {
		result = MD_ENOMEM;
		goto out;
	}
	if (rc) {
		snprintf(value, sizeof(value), "%s", rc == MD_ETIMEOUT ? "unresponsive" :
						     fd < 0 ? "unreachable" : "error");
		note(ar->skipped, sizeof(ar->skipped), "agent %s", why);
		goto out;
	}
	snprintf(value, sizeof(value), "ok");
	snprintf(why, sizeof(why), "%zu key(s) from %s", keys.n, sock);
	for (size_t i = 0; i < keys.n; i++) {
		const struct ssh_agent_key *k = &keys.v[i];
		struct agent_sign_ctx c = { .fd = fd, .dl = &adl, .key = k, .status = 1 };
		void *abstract = &c;
		char type[48] = "unknown", what[300];

		ssh_blob_type(k->blob, k->blob_len, type, sizeof(type));
		snprintf(what, sizeof(what), "agent key %s", k->comment);
		if (!agent_key_allowed(ib, k)) {
			skipped++;
			note(ar->skipped, sizeof(ar->skipped), "%s (%s): not an identity file's key (IdentitiesOnly yes)",
			     what, type);
			continue;
		}
		SSH_STEP(rc, ms, dl, libssh2_userauth_publickey(ssh, user, k->blob, k->blob_len, agent_sign, &abstract));
		if (c.status == MD_EPROTO) {
			/* Not the server's refusal: the signature never reached it. */
			char got[200];

			ssh_escape(c.got_alg, strlen(c.got_alg), got, sizeof(got));
			note(wrong_alg, sizeof(wrong_alg), "%s (%s): the agent signed with %s, %s was requested",
			     what, type, got, c.alg);
			note(ar->skipped, sizeof(ar->skipped), "%s (%s): the agent signed with %s, %s was requested",
			     what, type, got, c.alg);
			continue;
		}
		tried(ar, what, type);
		if (rc == 0) {
			snprintf(ar->method, sizeof(ar->method), "agent");
			snprintf(ar->method_ev, sizeof(ar->method_ev), "%s (%s) accepted for %s", what,
				 type, user);
			result = MD_OK;
			break;
		}
		if (c.status == MD_ENOMEM) {
			result = MD_ENOMEM;
			break;
		}
		if (c.status == MD_EAUTH || c.status == MD_EPARSE) {
			note(ar->skipped, sizeof(ar->skipped), "agent %s", c.status == MD_EAUTH ?
			     "refused to sign (a confirmation declined?)" : "sent a malformed signature");
			continue;
		}
		if (c.status != MD_OK && c.status != 1) {
			/* A request may still be pending there, or part of an answer unread:
			 * never use this connection again, go on with the identity files. */
			snprintf(value, sizeof(value), "%s", c.status == MD_ETIMEOUT ? "unresponsive" : "error");
			agent_unusable(&c, sock, what, type, why, sizeof(why));
			note(ar->skipped, sizeof(ar->skipped), "agent %s", why);
			break;
		}
		if (rc == LIBSSH2_ERROR_TIMEOUT) {
			result = MD_ETIMEOUT;
			break;
		}
		snprintf(ar->last, sizeof(ar->last), "%s", ssh_error(ssh));
		if (!denial(rc)) {
			result = MD_EIO;
			break;
		}
	}
	if (skipped && strcmp(value, "ok") == 0)
		snprintf(why + strlen(why), sizeof(why) - strlen(why), ", %zu not offered (IdentitiesOnly yes)",
			 skipped);
	if (wrong_alg[0] && strcmp(value, "ok") == 0)
		snprintf(why + strlen(why), sizeof(why) - strlen(why), "; not used: %s", wrong_alg);
out:
	if (result != MD_ENOMEM)
		md_fact_strf(f, P, "ssh.agent", value, "%s (%s)", why, from);
	if (strcmp(value, "unresponsive") == 0)
		md_fact_check(f, "ssh.agent", MD_CHECK_WARN, "SSH agent did not answer: not used");
	free(ib);
	ssh_agent_keys_free(&keys);
	free(resp);
	if (fd >= 0)
		close(fd);
	return result;
}

/* The target's identity files, in order. */
static int auth_files(struct md_session *ms, const struct md_target *t,
		      const struct md_deadline *dl, struct auth_run *ar)
{
	LIBSSH2_SESSION *ssh = md_session_ssh(ms);

	for (size_t i = 0; i < t->n_identities; i++) {
		const char *file = t->identities[i];
		struct ssh_keyinfo ki;
		char pub[PATH_MAX], what[PATH_MAX + 16];
		int rc;

		rc = ssh_identity_info(file, &ki);
		if (rc == MD_ENOMEM)
			return MD_ENOMEM;
		if (rc && rc != MD_EPARSE) {
			/* OpenSSH silently skips the default identity files that do not exist. */
			if (rc != MD_ENOTFOUND || t->identities_explicit)
				note(ar->skipped, sizeof(ar->skipped), "%s: %s", file,
				     rc == MD_ENOTFOUND ? "not found" : "unreadable");
			continue;
		}
		if (ki.encrypted) {
			/* meshdoctor never asks for a passphrase (BatchMode=yes, seeds/002). */
			note(ar->encrypted, sizeof(ar->encrypted), "%s", file);
			continue;
		}
		snprintf(pub, sizeof(pub), "%s.pub", file);
		if (access(pub, R_OK) != 0)
			pub[0] = '\0';
		snprintf(what, sizeof(what), "%s", file);
		/* An empty passphrase, never NULL: libssh2's OpenSSL callback calls strlen() on it. */
		SSH_STEP(rc, ms, dl,
			 libssh2_userauth_publickey_fromfile_ex(ssh, user_of(t), (unsigned)strlen(user_of(t)),
								pub[0] ? pub : NULL, file, ""));
		if (rc == 0) {
			tried(ar, what, ki.type);
			snprintf(ar->method, sizeof(ar->method), "publickey:%s", file);
			snprintf(ar->method_ev, sizeof(ar->method_ev), "key %s (%s) accepted for %s",
				 file, ki.type, user_of(t));
			return MD_OK;
		}
		if (rc == LIBSSH2_ERROR_TIMEOUT)
			return MD_ETIMEOUT;
		if (rc == LIBSSH2_ERROR_FILE) {
			note(ar->skipped, sizeof(ar->skipped), "%s: %s", file, ssh_error(ssh));
			continue;
		}
		snprintf(ar->last, sizeof(ar->last), "%s", ssh_error(ssh));
		if (!denial(rc))
			return MD_EIO;
		tried(ar, what, ki.type);
	}
	return MD_EAUTH;
}

/* libssh2 before 1.11 signs user authentication with RSA keys as "ssh-rsa" (SHA-1) only;
 * OpenSSH 8.8 and later refuse that signature by default (OpenSSH 8.8 release notes,
 * PubkeyAcceptedAlgorithms: sshd logs "signature algorithm ssh-rsa not in
 * PubkeyAcceptedAlgorithms"). */
static bool libssh2_rsa_sha1_only(void)
{
	return libssh2_version(0x010b00) == NULL;
}

static void record_auth(struct md_facts *f, const struct md_target *t, const struct ssh_banner *b,
			bool have_banner, int rc, const char *methods, struct auth_run *ar,
			const char *error_text)
{
	char label[700];

	if (ar->encrypted[0])
		md_fact_strf(f, P, "ssh.identity_encrypted", ar->encrypted,
			     "passphrase-protected, not offered (meshdoctor never prompts): %s",
			     ar->encrypted);
	md_fact_int(f, P, "ssh.auth_keys_tried", ar->tried, ar->keys[0] ? ar->keys : "no key offered");
	if (methods)
		md_fact_str(f, P, "ssh.auth_methods_offered", methods,
			    "libssh2_userauth_list: the methods the server lets this user try");
	if (rc == MD_OK) {
		md_fact_str(f, P, "ssh.auth", "ok", ar->method_ev);
		md_fact_str(f, P, "ssh.auth_method", ar->method, ar->method_ev);
		snprintf(label, sizeof(label), "Logged in as %s (%s)", user_of(t), ar->method);
		md_fact_check(f, "ssh.auth", MD_CHECK_OK, label);
		return;
	}
	if (rc == MD_EAUTH) {
		bool trap = ar->tried > 0 && ar->tried_rsa == ar->tried && have_banner &&
			    ssh_openssh_at_least(b, 8, 8) && libssh2_rsa_sha1_only();

		md_fact_strf(f, P, "ssh.auth", "denied", "%s refused %s: %s%s%s",
			     b->software[0] ? b->software : "the server", user_of(t),
			     ar->keys[0] ? ar->keys : "no key to offer",
			     ar->last[0] ? "; libssh2: " : "", ar->last);
		if (ar->skipped[0])
			md_fact_str(f, P, "ssh.auth_skipped", ar->skipped, "identity files not offered");
		if (trap) {
			char ev[1600];

			snprintf(ev, sizeof(ev),
				 "only RSA keys were offered (%s); libssh2 %s signs them with ssh-rsa "
				 "(SHA-1), which %s (OpenSSH >= 8.8) refuses by default",
				 ar->keys, libssh2_version(0), b->software);
			md_fact_bool(f, P, "ssh.auth_rsa_sha1_only", true, ev);
		} else {
			md_fact_bool(f, P, "ssh.auth_rsa_sha1_only", false,
				     "a non-RSA key was offered, no key was, or the server is not "
				     "OpenSSH >= 8.8");
		}
		snprintf(label, sizeof(label), "Authentication as %s denied", user_of(t));
		md_fact_check(f, "ssh.auth", MD_CHECK_FAIL, label);
		return;
	}
	md_fact_str(f, P, "ssh.auth", "error", error_text);
	snprintf(label, sizeof(label), "Authentication as %s did not complete", user_of(t));
	md_fact_check(f, "ssh.auth", MD_CHECK_FAIL, label);
}

static int authenticate(struct md_session *ms, const struct md_target *t,
			const struct md_deadline *dl, struct md_facts *f,
			const struct ssh_banner *b, bool have_banner)
{
	LIBSSH2_SESSION *ssh = md_session_ssh(ms);
	const char *user = user_of(t);
	struct auth_run *ar = calloc(1, sizeof(*ar));
	char *methods = NULL, err_text[1400] = "";
	int rc = MD_EAUTH;

	if (!ar)
		return MD_ENOMEM;
	/* The "none" request: the server answers with the methods it allows. */
	for (;;) {
		const char *list = libssh2_userauth_list(ssh, user, (unsigned)strlen(user));

		if (list) {
			methods = strdup(list);
			break;
		}
		if (libssh2_userauth_authenticated(ssh)) {
			snprintf(ar->method, sizeof(ar->method), "none");
			snprintf(ar->method_ev, sizeof(ar->method_ev), "the server let %s in without a key", user);
			rc = MD_OK;
			goto done;
		}
		if (libssh2_session_last_errno(ssh) != LIBSSH2_ERROR_EAGAIN) {
			snprintf(err_text, sizeof(err_text), "userauth list for %s: %s", user, ssh_error(ssh));
			rc = MD_EIO;
			goto done;
		}
		if (md_session_wait(ms, dl)) {
			snprintf(err_text, sizeof(err_text), "userauth list for %s: no answer before the deadline", user);
			rc = MD_ETIMEOUT;
			goto done;
		}
	}
	if (!methods) {
		rc = MD_ENOMEM;
		goto done;
	}
	if (!strstr(methods, "publickey")) {
		snprintf(ar->last, sizeof(ar->last), "the server does not offer publickey");
		rc = MD_EAUTH;
		goto done;
	}
	/* Agent first, then identity files: the order `ssh` uses. */
	rc = auth_agent(ms, t, dl, ar, f);
	if (rc == MD_EAUTH)
		rc = auth_files(ms, t, dl, ar);
	if (rc == MD_ETIMEOUT)
		snprintf(err_text, sizeof(err_text), "authentication as %s: no answer before the deadline (offered: %s)",
			 user, ar->keys[0] ? ar->keys : "nothing yet");
	else if (rc == MD_EIO)
		snprintf(err_text, sizeof(err_text), "authentication as %s: %s", user, ar->last[0] ? ar->last : ssh_error(ssh));
done:
	if (rc == MD_ENOMEM) {
		free(methods);
		free(ar);
		return MD_ENOMEM;
	}
	record_auth(f, t, b, have_banner, rc, methods, ar, err_text);
	free(methods);
	free(ar);
	return rc;
}

/* ---- Steps ---- */

static void record_banner(struct md_facts *f, const char *line, struct ssh_banner *b,
			  const char *pre)
{
	char label[300];

	ssh_banner_parse(line, b);
	md_fact_str(f, P, "ssh.banner", line, "remote identification string (RFC 4253 §4.2)");
	if (pre && *pre)
		md_fact_strf(f, P, "ssh.banner_status", "ok",
			     "\"%s\" after other lines \"%s\"", line, pre);
	else
		md_fact_strf(f, P, "ssh.banner_status", "ok", "\"%s\"", line);
	md_fact_str(f, P, "ssh.server_software", b->software, line);
	md_fact_bool(f, P, "ssh.server_windows", b->windows, line);
	snprintf(label, sizeof(label), "SSH banner: %s", b->software);
	md_fact_check(f, "ssh.banner_status", MD_CHECK_OK, label);
}

static void record_no_banner(struct md_facts *f, enum banner_outcome bo, const char *addr,
			     const char *first, int64_t waited_ms)
{
	switch (bo) {
	case BANNER_NOT_SSH:
		md_fact_strf(f, P, "ssh.banner_status", "not-ssh", "%s sent \"%s\"", addr, first);
		md_fact_str(f, P, "ssh.first_bytes", first, "printable-escaped, at most 64 bytes");
		md_fact_check(f, "ssh.banner_status", MD_CHECK_FAIL, "SSH banner: not an SSH server");
		break;
	case BANNER_CLOSED:
		md_fact_strf(f, P, "ssh.banner_status", "closed",
			     "%s closed the connection before its banner (%s)", addr, first);
		md_fact_check(f, "ssh.banner_status", MD_CHECK_FAIL, "SSH banner: connection closed");
		break;
	default:
		md_fact_strf(f, P, "ssh.banner_status", "none",
			     "no identification string from %s in %lld ms%s%s%s", addr,
			     (long long)waited_ms, first[0] ? " (partial: \"" : "", first,
			     first[0] ? "\")" : "");
		md_fact_check(f, "ssh.banner_status", MD_CHECK_FAIL, "SSH banner: none before the deadline");
	}
}

/* The known_hosts files OpenSSH reads: the user's, then the system-wide ones that exist
 * (ssh_config(5) UserKnownHostsFile, GlobalKnownHostsFile, as `ssh -G` gave them). */
static size_t known_hosts_files(const struct md_target *t, const char **files, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n_known_hosts && n < max; i++)
		files[n++] = t->known_hosts[i];
	/* Those that exist: one that cannot be read is then named, not passed over. */
	for (size_t i = 0; i < t->n_global_known_hosts && n < max; i++) {
		struct stat st;

		if (stat(t->global_known_hosts[i], &st) == 0 || errno != ENOENT)
			files[n++] = t->global_known_hosts[i];
	}
	return n;
}

/* ==================================================================================== */
/* What the server offers: its SSH_MSG_KEXINIT, over a second connection                */
/* ==================================================================================== */

/* The second connection may take this long at most, within the probe's deadline. */
#define KEXINIT_READ_MS 3000
/* The most a server may send before its first packet is complete. */
#define KEXINIT_BUF_MAX (BANNER_PREAMBLE_MAX + BANNER_LINE_MAX + 2 + SSH_PACKET_MAX)
/* A server list longer than this is cut at a name for the fact's value. */
#define SERVER_LIST_MAX 2048

/* Reads the server's SSH_MSG_KEXINIT over a connection of its own to peer: sends an
 * identification, reads the server's and its first binary packet, and closes without
 * sending anything else (libssh2 does not show what the server offered).  MD_OK with
 * *buf_out (malloc'd, the caller frees) holding the bytes k and *banner point into; else
 * MD_ETIMEOUT, MD_EIO, MD_EPARSE, MD_ENOMEM or a connect error, with why filled. */
static int read_server_kexinit(const struct md_addr *peer, const struct md_deadline *dl,
			       unsigned char **buf_out, struct ssh_kexinit *k, const char **banner,
			       size_t *banner_len, char *why, size_t why_n)
{
	struct md_deadline kdl = md_deadline_min(*dl, md_deadline_after(md_now_ms(), KEXINIT_READ_MS));
	char ident[96];
	unsigned char *buf = NULL;
	size_t have = 0, used;
	struct md_err e = { 0 };
	bool done;
	int fd = -1, rc, soerr = 0;
	socklen_t sl = sizeof(soerr);

	*buf_out = NULL;
	/* RFC 4253 §4.2: softwareversion is printable US-ASCII without spaces or '-'. */
	snprintf(ident, sizeof(ident), "SSH-2.0-meshdoctor_%.40s", MD_VERSION);
	for (char *c = ident + 19; *c; c++)
		if (*c <= 0x20 || *c >= 0x7f || *c == '-')
			*c = '_';
	strcat(ident, "\r\n");

	rc = md_net_connect_start((const struct sockaddr *)&peer->ss, peer->len, SOCK_STREAM, &fd,
				  &done, &e);
	if (rc) {
		snprintf(why, why_n, "%s", e.msg);
		return rc;
	}
	if (!done) {
		rc = md_net_wait(fd, POLLOUT, &kdl);
		if (rc == MD_OK && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
			soerr = errno;
		if (rc == MD_OK && soerr)
			rc = md_net_classify_errno(soerr);
		if (rc) {
			snprintf(why, why_n, "connect %s: %s", peer->text,
				 rc == MD_ETIMEOUT ? "no answer before the deadline"
				 : soerr ? strerror(soerr) : "poll failed");
			goto out;
		}
	}
	rc = io_all(fd, true, ident, strlen(ident), &kdl);
	if (rc) {
		snprintf(why, why_n, "sending the identification to %s: %s", peer->text,
			 rc == MD_ETIMEOUT ? "no progress before the deadline" : "connection closed");
		goto out;
	}
	buf = malloc(KEXINIT_BUF_MAX);
	if (!buf) {
		rc = MD_ENOMEM;
		snprintf(why, why_n, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t n;

		switch (ssh_kexinit_scan(buf, have, k, banner, banner_len, &used, why, why_n)) {
		case SSH_KEXINIT_OK:
			rc = MD_OK;
			goto out;
		case SSH_KEXINIT_BAD:
			rc = MD_EPARSE;
			goto out;
		case SSH_KEXINIT_MORE:
			break;
		}
		if (have == KEXINIT_BUF_MAX) {
			rc = MD_ETOOBIG;
			snprintf(why, why_n, "%zu bytes without a complete first packet", have);
			goto out;
		}
		n = recv(fd, buf + have, KEXINIT_BUF_MAX - have, MSG_DONTWAIT);
		if (n > 0) {
			have += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			rc = md_net_wait(fd, POLLIN, &kdl);
			if (rc) {
				snprintf(why, why_n, "%s sent %zu bytes and no complete SSH_MSG_KEXINIT before the deadline",
					 peer->text, have);
				goto out;
			}
		} else {
			rc = MD_EIO;
			snprintf(why, why_n, "%s closed the connection after %zu bytes, before a complete SSH_MSG_KEXINIT%s%s",
				 peer->text, have, n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
			goto out;
		}
	}
out:
	close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	*buf_out = buf;
	return MD_OK;
}

/* A server name-list as a fact value: whole, or cut after a name when it is very long. */
static void server_list(const struct ssh_kexinit *k, enum ssh_kexinit_list i, char *out, size_t n)
{
	size_t len = k->len[i];

	if (len < n && len <= SERVER_LIST_MAX) {
		memcpy(out, k->list[i], len);
		out[len] = '\0';
		return;
	}
	len = n - 5 < SERVER_LIST_MAX ? n - 5 : SERVER_LIST_MAX;
	while (len && k->list[i][len] != ',')
		len--;
	memcpy(out, k->list[i], len);
	snprintf(out + len, n - len, ",...");
}

static void join_algs(const struct ssh_alg_list *l, char *out, size_t n)
{
	out[0] = '\0';
	for (size_t i = 0; i < l->n; i++)
		if (strlen(out) + strlen(l->v[i]) + 2 <= n) {
			if (out[0])
				strcat(out, ",");
			strcat(out, l->v[i]);
		}
}

/* Records one of the server's lists: ssh.server_X from list cs, and, when the server to
 * client list differs, says so in the evidence. */
static void record_server_list(struct md_facts *f, const char *name, const struct ssh_kexinit *k,
			       enum ssh_kexinit_list cs, int sc, const char *from)
{
	char v[SERVER_LIST_MAX + 8], other[SERVER_LIST_MAX + 8], ev[2 * SERVER_LIST_MAX + 400];

	server_list(k, cs, v, sizeof(v));
	if (sc < 0 || (k->len[cs] == k->len[sc] && memcmp(k->list[cs], k->list[sc], k->len[cs]) == 0)) {
		snprintf(ev, sizeof(ev), "%s%s", from, sc < 0 ? "" : "; the same both ways");
	} else {
		server_list(k, (enum ssh_kexinit_list)sc, other, sizeof(other));
		snprintf(ev, sizeof(ev), "%s; this is the client-to-server list, the server-to-client one is %s",
			 from, other);
	}
	md_fact_str(f, P, name, v, ev);
}

/* ==================================================================================== */
/* Host key                                                                             */
/* ==================================================================================== */

/* Whether this libssh2 could not have been shown the RSA key on file for the name
 * (ssh_hostkey_unverifiable()); asked: the host key algorithms asked for. */
static bool rsa_unverifiable(LIBSSH2_SESSION *ssh, const struct ssh_kh_result *kh, const char *type,
			     const char *asked)
{
	const char **algs = NULL;
	int n = libssh2_session_supported_algs(ssh, LIBSSH2_METHOD_HOSTKEY, &algs);
	bool r = ssh_hostkey_unverifiable(kh->types, type, algs, n > 0 ? (size_t)n : 0, asked,
					  libssh2_session_methods(ssh, LIBSSH2_METHOD_HOSTKEY));

	if (n > 0)
		libssh2_free(ssh, (void *)algs);
	return r && kh->rsa_file[0];
}

/* Whether the server still offers an RSA host key: 1 or 0 from its SSH_MSG_KEXINIT, read
 * over a connection of its own to peer (within dl, at most KEXINIT_READ_MS), its host key
 * algorithms then recorded as ssh.server_hostkey_algorithms and copied into algs; -1 when
 * they could not be read (why says why). */
static int server_offers_rsa(const struct md_addr *peer, const struct md_deadline *dl,
			     struct md_facts *f, char *algs, size_t algs_n, char *why, size_t why_n)
{
	struct ssh_kexinit k;
	unsigned char *buf = NULL;
	const char *banner;
	size_t banner_len;
	char bl[300], from[600];
	bool rsa;

	if (read_server_kexinit(peer, dl, &buf, &k, &banner, &banner_len, why, why_n))
		return -1;
	copy_span(bl, sizeof(bl), banner, banner_len);
	snprintf(from, sizeof(from),
		 "SSH_MSG_KEXINIT of %s, read over a second connection to see whether the server still "
		 "offers an RSA host key",
		 bl);
	record_server_list(f, "ssh.server_hostkey_algorithms", &k, SSH_KEXINIT_HOSTKEY, -1, from);
	server_list(&k, SSH_KEXINIT_HOSTKEY, algs, algs_n);
	rsa = ssh_hostkey_algs_offer_rsa(k.list[SSH_KEXINIT_HOSTKEY], k.len[SSH_KEXINIT_HOSTKEY]);
	free(buf);
	return rsa;
}

/* Records an RSA key on file that this libssh2 could not be shown (rsa_unverifiable())
 * as unverifiable and returns the error that leaves the probe incomplete.  rsa_algs: the
 * server's host key algorithms when they still offer RSA; NULL when they could not be
 * read (why says why). */
static int record_unverifiable(LIBSSH2_SESSION *ssh, const struct ssh_kh_result *kh,
			       const char *name, const char *type, const char *fp, const char *asked,
			       const char *rsa_algs, const char *why, struct md_facts *f,
			       struct md_err *err)
{
	const char *lib = libssh2_version(0);
	char srv[SERVER_LIST_MAX + 500];

	if (rsa_algs)
		snprintf(srv, sizeof(srv), "; the server still offers an RSA host key (its host key algorithms: %s)",
			 rsa_algs);
	else
		snprintf(srv, sizeof(srv),
			 "; whether the server still has an RSA host key is not known either (its "
			 "SSH_MSG_KEXINIT could not be read: %s)",
			 why);
	md_fact_strf(f, P, "ssh.hostkey", "unverifiable",
		     "%s:%d holds ssh-rsa %s for %s, and no %s key; the server presented %s %s. "
		     "libssh2 %s asks for RSA host keys only as ssh-rsa (SHA-1), which the server "
		     "does not offer (asked for %s; it chose %s), so whether the host key is the "
		     "one on file could not be checked: nothing recorded, authentication not attempted%s",
		     kh->rsa_file, kh->rsa_line, kh->rsa_fp, name, type, type, fp, lib, asked,
		     libssh2_session_methods(ssh, LIBSSH2_METHOD_HOSTKEY), srv);
	md_fact_str(f, P, "ssh.known_hosts_file", kh->rsa_file, NULL);
	md_fact_int(f, P, "ssh.known_hosts_line", kh->rsa_line, NULL);
	md_fact_str(f, P, "ssh.hostkey_known_type", "ssh-rsa", NULL);
	md_fact_str(f, P, "ssh.hostkey_known_fingerprint", kh->rsa_fp, NULL);
	md_fact_str(f, P, "ssh.libssh2_version", lib, "libssh2_version(): the libssh2 meshdoctor runs with");
	md_fact_check(f, "ssh.hostkey", MD_CHECK_WARN,
		      "Host key not verified: libssh2 cannot ask for the RSA key on file");
	return md_err_set(err, MD_EPROTO, "hostkey",
			  "host key of %s not verified: known_hosts holds its RSA key, which "
			  "libssh2 %s cannot ask for (no rsa-sha2-* host key algorithm); "
			  "authentication and the host were not checked",
			  name, lib);
}

/* MD_OK to go on to authentication; MD_EHOSTKEY for a changed or revoked key (a
 * finding); another code, with err set, for a key that could not be checked (the probe
 * did not complete).  Never go on unless MD_OK.  asked: the host key algorithms asked for
 * (prefer_host_keys()); peer and dl: for a second connection, to ask an RSA key's server
 * whether it still has one (server_offers_rsa()). */
static int check_host_key(struct md_session *ms, const struct md_target *t, const char *name,
			  const char *const *files, size_t n_files, const char *asked,
			  const struct md_addr *peer, const struct md_deadline *dl, struct md_facts *f,
			  struct md_err *err)
{
	LIBSSH2_SESSION *ssh = md_session_ssh(ms);
	struct ssh_kh_result kh;
	struct md_err e = { 0 };
	const unsigned char *key;
	char type[48] = "unknown", fp[80] = "", label[400], why[400] = "";
	char algs[SERVER_LIST_MAX + 8] = "", srv[SERVER_LIST_MAX + 500] = "";
	size_t len = 0;
	int ktype = 0, rc;

	key = (const unsigned char *)libssh2_session_hostkey(ssh, &len, &ktype);
	if (!key || ssh_blob_type(key, len, type, sizeof(type)) || ssh_fingerprint(key, len, fp, sizeof(fp))) {
		md_fact_str(f, P, "ssh.hostkey", "error", "libssh2_session_hostkey returned no key");
		md_fact_check(f, "ssh.hostkey", MD_CHECK_FAIL, "Host key: none");
		return MD_EHOSTKEY;
	}
	md_fact_str(f, P, "ssh.hostkey_type", type, NULL);
	md_fact_str(f, P, "ssh.hostkey_fingerprint", fp, "SHA-256 of the key blob, as ssh-keygen -l prints");
	md_fact_str(f, P, "ssh.known_hosts_name", name,
		    t->host_key_alias ? "HostKeyAlias from ssh_config: the name OpenSSH looks up in known_hosts"
				      : "the name OpenSSH looks up in known_hosts");
	rc = ssh_known_hosts_check(files, n_files, name, key, len, &kh, &e);
	if (rc) {
		md_fact_str(f, P, "ssh.hostkey", "error", e.msg);
		md_fact_check(f, "ssh.hostkey", MD_CHECK_FAIL, "Host key: could not read known_hosts");
		return MD_EHOSTKEY;
	}
	if (kh.unread[0])
		md_fact_str(f, P, "ssh.known_hosts_unread", kh.unread,
			    "known_hosts files that exist but could not be read (skipped, as ssh skips them)");
	switch (kh.status) {
	case SSH_HOSTKEY_MATCH:
		md_fact_strf(f, P, "ssh.hostkey", "match", "%s:%d: %s %s %s%s%s", kh.file, kh.line, name,
			     type, fp, kh.unread[0] ? "; not read: " : "", kh.unread);
		md_fact_check(f, "ssh.hostkey", MD_CHECK_OK, "Host key matches known_hosts");
		return MD_OK;
	case SSH_HOSTKEY_REVOKED:
		/* ssh(1) refuses a revoked key outright ("REVOKED HOST KEY DETECTED"). */
		md_fact_strf(f, P, "ssh.hostkey", "revoked",
			     "%s:%d marks %s %s as @revoked for %s; the server presented it", kh.file,
			     kh.line, type, fp, name);
		md_fact_str(f, P, "ssh.known_hosts_file", kh.file, NULL);
		md_fact_int(f, P, "ssh.known_hosts_line", kh.line, NULL);
		md_fact_check(f, "ssh.hostkey", MD_CHECK_FAIL, "Host key REVOKED: authentication not attempted");
		return MD_EHOSTKEY;
	case SSH_HOSTKEY_CHANGED:
		/* OpenSSH 8.8 and later offer an RSA host key only as rsa-sha2-*, which `ssh`
		 * asks for when known_hosts holds the RSA key and then verifies; libssh2 before
		 * 1.11 can ask only for ssh-rsa, so the server showed another key.  If the
		 * server still has an RSA key, this is not a changed key for `ssh`, and
		 * meshdoctor cannot tell; if it has none, `ssh` is shown this key too. */
		if (rsa_unverifiable(ssh, &kh, type, asked)) {
			rc = server_offers_rsa(peer, dl, f, algs, sizeof(algs), why, sizeof(why));
			if (rc != 0)
				return record_unverifiable(ssh, &kh, name, type, fp, asked,
							   rc > 0 ? algs : NULL, why, f, err);
			snprintf(srv, sizeof(srv),
				 "; it no longer offers an RSA host key (its host key algorithms: %s), so "
				 "`ssh` is shown this key too and says REMOTE HOST IDENTIFICATION HAS CHANGED",
				 algs);
		}
		/* Also when the entry on file is of another type: ssh(1) says "REMOTE HOST
		 * IDENTIFICATION HAS CHANGED" for it and refuses the host, whether the
		 * server lost that key or something else answers. */
		md_fact_strf(f, P, "ssh.hostkey", "changed",
			     "%s:%d holds %s %s for %s; the server presented %s %s%s", kh.file, kh.line,
			     kh.known_type, kh.known_fp, name, type, fp, srv);
		md_fact_str(f, P, "ssh.known_hosts_file", kh.file, NULL);
		md_fact_int(f, P, "ssh.known_hosts_line", kh.line, NULL);
		md_fact_str(f, P, "ssh.hostkey_known_type", kh.known_type, NULL);
		md_fact_str(f, P, "ssh.hostkey_known_fingerprint", kh.known_fp, NULL);
		md_fact_check(f, "ssh.hostkey", MD_CHECK_FAIL, "Host key CHANGED: authentication not attempted");
		return MD_EHOSTKEY;
	case SSH_HOSTKEY_UNKNOWN:
		break;
	}
	if (kh.unread[0]) {
		/* A file that could not be read may hold another key for the host: then the
		 * key is a changed one, not a new one.  ssh(1) would go on without the file;
		 * meshdoctor neither records the key nor logs in (docs/ssh.md#known_hosts). */
		md_fact_strf(f, P, "ssh.hostkey", "unchecked",
			     "no entry for %s in the known_hosts files read, but could not read %s: %s %s "
			     "not recorded, authentication not attempted%s%s",
			     name, kh.unread, type, fp, kh.notes[0] ? "; " : "", kh.notes);
		md_fact_check(f, "ssh.hostkey", MD_CHECK_WARN,
			      "Host key not checked: a known_hosts file could not be read");
		return md_err_set(err, MD_EIO, "known_hosts",
				  "host key not checked: a known_hosts file could not be read");
	}
	md_fact_strf(f, P, "ssh.hostkey", "unknown", "no entry for %s in %s%s%s", name,
		     t->n_known_hosts ? t->known_hosts[0] : "(no known_hosts file)",
		     kh.notes[0] ? "; " : "", kh.notes);
	/* StrictHostKeyChecking=accept-new (seeds/002): record a first-seen key, refuse
	 * only a changed or revoked one. */
	md_err_clear(&e);
	if (t->n_known_hosts &&
	    ssh_known_hosts_add(t->known_hosts[0], name, t->hash_known_hosts, key, len, &e) == MD_OK) {
		md_fact_bool(f, P, "ssh.hostkey_added", true, NULL);
		md_fact_strf(f, P, "ssh.hostkey_added_to", t->known_hosts[0], "appended \"%s %s\" (%s)%s",
			     name, type, fp, t->hash_known_hosts ? ", the name hashed (HashKnownHosts yes)" : "");
		snprintf(label, sizeof(label), "Host key was new: added to %s", t->known_hosts[0]);
	} else {
		md_fact_bool(f, P, "ssh.hostkey_added", false, e.msg[0] ? e.msg : "no known_hosts file");
		snprintf(label, sizeof(label), "Host key is new and could not be recorded");
	}
	md_fact_check(f, "ssh.hostkey", MD_CHECK_WARN, label);
	return MD_OK;
}

/* Asks the server for the host key known_hosts holds, as OpenSSH does: without this a
 * server with several host keys presents its ed25519 key although known_hosts has only
 * its ECDSA key, and the host would look new.  Only names this libssh2 supports are
 * passed: libssh2 1.10 strips unknown ones with an overlapping memcpy.  Writes the
 * preference, for evidence, into pref. */
static void prefer_host_keys(LIBSSH2_SESSION *ssh, const char *const *files, size_t n_files,
			     const char *name, char *known, size_t known_n, char *pref, size_t pref_n)
{
	const char **algs = NULL;
	int n = libssh2_session_supported_algs(ssh, LIBSSH2_METHOD_HOSTKEY, &algs);

	ssh_known_hosts_types(files, n_files, name, known, known_n);
	ssh_hostkey_order(known, algs, n > 0 ? (size_t)n : 0, pref, pref_n);
	if (n > 0)
		libssh2_free(ssh, (void *)algs);
	if (pref[0])
		libssh2_session_method_pref(ssh, LIBSSH2_METHOD_HOSTKEY, pref);
}

/* ==================================================================================== */
/* After a failed key exchange: what the server offered                                */
/* ==================================================================================== */

/* After the key exchange failed: reads what the server offers and records it with the
 * first category that has no algorithm in common with this libssh2 (hostkey: the
 * algorithms asked for, pref).  Returns that category, SSH_ALG_N when each has one, or -1
 * when the server's lists could not be read (why says why). */
static int explain_kex_failure(LIBSSH2_SESSION *ssh, const struct md_addr *peer, const char *addr,
			       const char *pref, const struct md_deadline *dl, struct md_facts *f,
			       char *why, size_t why_n)
{
	static const int methods[SSH_ALG_N] = { LIBSSH2_METHOD_KEX, LIBSSH2_METHOD_HOSTKEY,
						LIBSSH2_METHOD_CRYPT_CS, LIBSSH2_METHOD_MAC_CS };
	static const char *const what[SSH_ALG_N] = { "key exchange algorithm", "host key algorithm",
						     "cipher", "MAC" };
	const char **algs[SSH_ALG_N] = { NULL };
	const char *hk[16], *banner;
	struct ssh_alg_list client[SSH_ALG_N];
	struct ssh_kexinit k;
	unsigned char *buf = NULL;
	char pref_copy[256], from[600], bl[300], mine[1200], theirs[SERVER_LIST_MAX + 8];
	char ev[SERVER_LIST_MAX + 1800];
	const char *lib = libssh2_version(0);
	enum ssh_alg_cat cat;
	enum ssh_kexinit_list srv = SSH_KEXINIT_KEX;
	size_t banner_len;
	int rc;

	rc = read_server_kexinit(peer, dl, &buf, &k, &banner, &banner_len, why, why_n);
	if (rc)
		return -1;
	for (int i = 0; i < SSH_ALG_N; i++) {
		int n = libssh2_session_supported_algs(ssh, methods[i], &algs[i]);

		client[i] = (struct ssh_alg_list){ .v = n > 0 ? algs[i] : NULL, .n = n > 0 ? (size_t)n : 0 };
		if (n <= 0)
			algs[i] = NULL;
	}
	/* The host key algorithms asked for (prefer_host_keys()), when a preference was set. */
	if (pref[0]) {
		size_t n = 0;

		snprintf(pref_copy, sizeof(pref_copy), "%s", pref);
		for (char *save = NULL, *t = strtok_r(pref_copy, ",", &save); t && n < 16;
		     t = strtok_r(NULL, ",", &save))
			hk[n++] = t;
		client[SSH_ALG_HOSTKEY] = (struct ssh_alg_list){ .v = hk, .n = n };
	}
	cat = ssh_kex_no_common(&k, client);

	copy_span(bl, sizeof(bl), banner, banner_len);
	snprintf(from, sizeof(from),
		 "SSH_MSG_KEXINIT of %s, read over a second connection after the key exchange failed", bl);
	record_server_list(f, "ssh.server_kex_algorithms", &k, SSH_KEXINIT_KEX, -1, from);
	record_server_list(f, "ssh.server_hostkey_algorithms", &k, SSH_KEXINIT_HOSTKEY, -1, from);
	record_server_list(f, "ssh.server_ciphers", &k, SSH_KEXINIT_CIPHER_CS, SSH_KEXINIT_CIPHER_SC, from);
	record_server_list(f, "ssh.server_macs", &k, SSH_KEXINIT_MAC_CS, SSH_KEXINIT_MAC_SC, from);
	md_fact_str(f, P, "ssh.libssh2_version", lib, "libssh2_version(): the libssh2 meshdoctor runs with");

	switch (cat) {
	case SSH_ALG_KEX: srv = SSH_KEXINIT_KEX; break;
	case SSH_ALG_HOSTKEY: srv = SSH_KEXINIT_HOSTKEY; break;
	case SSH_ALG_CIPHER:
		srv = ssh_alg_pick(&client[cat], k.list[SSH_KEXINIT_CIPHER_CS], k.len[SSH_KEXINIT_CIPHER_CS])
			      ? SSH_KEXINIT_CIPHER_SC : SSH_KEXINIT_CIPHER_CS;
		break;
	case SSH_ALG_MAC: {
		const char *cs = ssh_alg_pick(&client[SSH_ALG_CIPHER], k.list[SSH_KEXINIT_CIPHER_CS],
					      k.len[SSH_KEXINIT_CIPHER_CS]);

		srv = (cs && !ssh_cipher_is_aead(cs) &&
		       !ssh_alg_pick(&client[cat], k.list[SSH_KEXINIT_MAC_CS], k.len[SSH_KEXINIT_MAC_CS]))
			      ? SSH_KEXINIT_MAC_CS : SSH_KEXINIT_MAC_SC;
		break;
	}
	case SSH_ALG_N: break;
	}
	if (cat == SSH_ALG_N) {
		const char *mac = ssh_alg_pick(&client[SSH_ALG_MAC], k.list[SSH_KEXINIT_MAC_CS],
					       k.len[SSH_KEXINIT_MAC_CS]);

		snprintf(ev, sizeof(ev),
			 "every category has an algorithm in common with libssh2 %s (kex %s, host key %s, "
			 "cipher %s, MAC %s): the key exchange with %s failed for another reason",
			 lib, ssh_alg_pick(&client[SSH_ALG_KEX], k.list[SSH_KEXINIT_KEX], k.len[SSH_KEXINIT_KEX]),
			 ssh_alg_pick(&client[SSH_ALG_HOSTKEY], k.list[SSH_KEXINIT_HOSTKEY],
				      k.len[SSH_KEXINIT_HOSTKEY]),
			 ssh_alg_pick(&client[SSH_ALG_CIPHER], k.list[SSH_KEXINIT_CIPHER_CS],
				      k.len[SSH_KEXINIT_CIPHER_CS]),
			 mac ? mac : "none needed (AEAD cipher)", addr);
		md_fact_str(f, P, "ssh.kex_no_common", "none", ev);
	} else {
		const char *dir = srv == SSH_KEXINIT_CIPHER_CS || srv == SSH_KEXINIT_MAC_CS ? " (client to server)"
				  : srv == SSH_KEXINIT_CIPHER_SC || srv == SSH_KEXINIT_MAC_SC ? " (server to client)"
											     : "";
		char label[300];

		join_algs(&client[cat], mine, sizeof(mine));
		server_list(&k, srv, theirs, sizeof(theirs));
		if (cat == SSH_ALG_HOSTKEY && pref[0])
			snprintf(ev, sizeof(ev),
				 "no %s in common: %s offers %s; meshdoctor asked for %s (those libssh2 %s supports)",
				 what[cat], addr, theirs[0] ? theirs : "none", mine, lib);
		else
			snprintf(ev, sizeof(ev), "no %s in common%s: %s offers %s; libssh2 %s supports %s",
				 what[cat], dir, addr, theirs[0] ? theirs : "none", lib, mine);
		md_fact_str(f, P, "ssh.kex_no_common", ssh_alg_cat_name(cat), ev);
		md_fact_str(f, P, "ssh.kex_no_common_server", theirs, from);
		md_fact_str(f, P, "ssh.kex_no_common_client", mine,
			    cat == SSH_ALG_HOSTKEY && pref[0]
				    ? "the host key algorithms meshdoctor asked for (those this libssh2 supports)"
				    : "libssh2_session_supported_algs()");
		snprintf(label, sizeof(label), "No %s in common with libssh2 %s (ssh itself may connect)",
			 what[cat], lib);
		md_fact_check(f, "ssh.kex_no_common", MD_CHECK_WARN, label);
	}
	for (int i = 0; i < SSH_ALG_N; i++)
		if (algs[i])
			libssh2_free(ssh, (void *)algs[i]);
	free(buf);
	return (int)cat;
}

/* What came of ssh_config, and what of it meshdoctor does not follow. */
static void record_config(const struct md_target *t, const char *addr, struct md_facts *f)
{
	char v[1100];

	switch (t->ssh_config) {
	case MD_SSH_CONFIG_READ:
		md_fact_str(f, P, "ssh.config", "read", "`ssh -G` printed the effective ssh_config");
		break;
	case MD_SSH_CONFIG_SKIPPED:
		md_fact_str(f, P, "ssh.config", "skipped", "--no-ssh-config: OpenSSH's defaults");
		break;
	case MD_SSH_CONFIG_NO_CLIENT:
	case MD_SSH_CONFIG_FAILED:
		/* An alias then does not resolve: the name is dialled as written. */
		md_fact_str(f, P, "ssh.config", t->ssh_config == MD_SSH_CONFIG_FAILED ? "failed" : "no-client",
			    t->ssh_config_error);
		md_fact_str(f, P, "ssh.config_error", t->ssh_config_error, NULL);
		if (t->ssh_config == MD_SSH_CONFIG_FAILED)
			md_fact_check(f, "ssh.config", MD_CHECK_WARN,
				      "ssh_config: `ssh -G` failed, OpenSSH's defaults used");
		break;
	}
	/* ssh_config(5) ProxyJump / ProxyCommand: `ssh` reaches the host through another
	 * one; meshdoctor dials it directly, so its diagnosis is of that path. */
	if (t->proxy_jump || t->proxy_command) {
		snprintf(v, sizeof(v), "%s %s", t->proxy_jump ? "ProxyJump" : "ProxyCommand",
			 t->proxy_jump ? t->proxy_jump : t->proxy_command);
		md_fact_strf(f, P, "ssh.proxy", v,
			     "ssh_config reaches %s through %s; meshdoctor does not follow it and connects directly to %s",
			     t->host, v, addr);
		md_fact_check(f, "ssh.proxy", MD_CHECK_WARN, "ssh_config proxy not followed: direct path checked");
	}
}

static int ssh_run(struct md_ctx *ctx, struct md_facts *f, struct md_err *err)
{
	const struct md_target *t = ctx->target;
	const struct md_deadline *dl = &ctx->deadline;
	const char *host = t->hostname ? t->hostname : t->host;
	int port = t->port > 0 ? t->port : 22;
	char addr[300], label[400], line[300], first[300], kex_ev[400];
	char kh_name[300], known_types[160], pref[256];
	const char *kh_files[MD_TARGET_MAX_FILES + 2];
	size_t n_kh;
	struct ssh_banner b;
	bool have_banner = false;
	enum banner_outcome bo;
	struct md_session *ms;
	struct md_addr peer;
	struct md_err e = { 0 };
	LIBSSH2_SESSION *ssh;
	const char *rb;
	int64_t t0;
	int fd = -1, rc;

	memset(&b, 0, sizeof(b));
	b.openssh_major = b.openssh_minor = -1;
	format_addr(host, port, addr, sizeof(addr));
	md_fact_str(f, P, "ssh.addr", addr, NULL);
	record_config(t, addr, f);
	md_fact_str(f, P, "ssh.host", t->host ? t->host : host, NULL);
	md_fact_int(f, P, "ssh.port", port, NULL);
	md_fact_str(f, P, "ssh.user", user_of(t), NULL);

	/* TCP */
	snprintf(label, sizeof(label), "TCP connect to %s", addr);
	rc = md_net_connect_tcp(host, port, dl, &fd, &peer, &e);
	if (rc) {
		md_fact_str(f, P, "ssh.tcp", tcp_value(rc, &e), e.msg);
		md_fact_str(f, P, "ssh.tcp_error", e.msg, NULL);
		md_fact_check(f, "ssh.tcp", MD_CHECK_FAIL, label);
		/* No answer about the name: nothing was learnt about SSH, so the probe could
		 * not complete (check exits 3, "could not tell"). */
		if (md_net_resolve_timed_out(rc, &e))
			return md_err_set(err, rc, e.where, "%s", e.msg);
		return MD_OK;
	}
	md_fact_strf(f, P, "ssh.tcp", "connected", "connect %s: connected", peer.text);
	md_fact_check(f, "ssh.tcp", MD_CHECK_OK, label);

	/* Banner */
	t0 = md_now_ms();
	bo = peek_banner(fd, dl, line, sizeof(line), first, sizeof(first));
	if (bo == BANNER_OK) {
		record_banner(f, line, &b, first);
		have_banner = true;
	} else if (bo != BANNER_SILENT) {
		record_no_banner(f, bo, addr, first, md_now_ms() - t0);
		close(fd);
		return MD_OK;
	}

	/* Key exchange */
	ms = md_session_new_ssh(fd, err);
	if (!ms)
		return err->code;
	ssh = md_session_ssh(ms);
	n_kh = known_hosts_files(t, kh_files, sizeof(kh_files) / sizeof(kh_files[0]));
	ssh_known_hosts_name(host, port, t->host_key_alias, kh_name, sizeof(kh_name));
	prefer_host_keys(ssh, kh_files, n_kh, kh_name, known_types, sizeof(known_types), pref,
			 sizeof(pref));
	SSH_STEP(rc, ms, dl, libssh2_session_handshake(ssh, fd));
	rb = libssh2_session_banner_get(ssh);
	if (!have_banner) {
		/* The server waited for our identification (sent by libssh2). */
		if (rb && strncmp(rb, "SSH-", 4) == 0) {
			snprintf(line, sizeof(line), "%s", rb);
			record_banner(f, line, &b, NULL);
			have_banner = true;
		} else {
			const unsigned char *raw;
			size_t n_raw = md_session_first_bytes(ms, &raw);

			if (n_raw)
				ssh_escape(raw, n_raw, first, sizeof(first));
			else
				snprintf(first, sizeof(first), "%s", rc == LIBSSH2_ERROR_TIMEOUT ? "" : ssh_error(ssh));
			record_no_banner(f, n_raw ? BANNER_NOT_SSH :
					 rc == LIBSSH2_ERROR_TIMEOUT ? BANNER_NONE : BANNER_CLOSED,
					 addr, first, md_now_ms() - t0);
			md_session_free(ms);
			return MD_OK;
		}
	}
	if (rc) {
		bool timed_out = rc == LIBSSH2_ERROR_TIMEOUT;
		char why[400] = "";
		int cat = -1;

		snprintf(kex_ev, sizeof(kex_ev), "handshake with %s: %s", addr,
			 timed_out ? "no answer before the deadline" : ssh_error(ssh));
		md_fact_str(f, P, "ssh.kex", timed_out ? "timeout" : "failed", kex_ev);
		md_fact_check(f, "ssh.kex", MD_CHECK_FAIL, "SSH key exchange did not complete");
		/* libssh2 says only "Unable to exchange encryption keys": ask the server what
		 * it offers, so that a host `ssh` reaches is not blamed for what this libssh2
		 * lacks (OpenSSH 8.8 and later offer rsa-sha2-* and no ssh-rsa for an RSA host
		 * key, which libssh2 before 1.11 cannot verify). */
		if (!timed_out)
			cat = explain_kex_failure(ssh, &peer, addr, pref, dl, f, why, sizeof(why));
		if (cat < 0 && why[0])
			md_fact_strf(f, P, "ssh.kex_error", kex_ev,
				     "the server's algorithm lists could not be read: %s", why);
		else
			md_fact_str(f, P, "ssh.kex_error", kex_ev, NULL);
		md_session_free(ms);
		/* No algorithm in common: the host may be fine for `ssh`, and nothing after the
		 * key exchange was checked, so the probe did not complete (check exits 3 unless
		 * something is critical). */
		if (cat >= 0 && cat < SSH_ALG_N)
			return md_err_set(err, MD_EPROTO, "kex",
					  "key exchange with %s: no %s algorithm in common with libssh2 %s; "
					  "authentication and the host were not checked",
					  addr, ssh_alg_cat_name((enum ssh_alg_cat)cat), libssh2_version(0));
		return MD_OK;
	}
	{
		const char *kex = libssh2_session_methods(ssh, LIBSSH2_METHOD_KEX);
		const char *hk = libssh2_session_methods(ssh, LIBSSH2_METHOD_HOSTKEY);
		const char *cs = libssh2_session_methods(ssh, LIBSSH2_METHOD_CRYPT_CS);

		md_fact_strf(f, P, "ssh.kex", "ok", "kex %s, host key %s, cipher %s; host key algorithms asked for: %s%s%s%s",
			     kex ? kex : "?", hk ? hk : "?", cs ? cs : "?", pref,
			     known_types[0] ? " (known_hosts holds " : "", known_types,
			     known_types[0] ? ")" : "");
		md_fact_check(f, "ssh.kex", MD_CHECK_OK, "SSH key exchange");
	}

	/* Host key, then authentication: never after a changed or revoked key, nor one
	 * that could not be checked.  Then nothing was learnt about authentication: the
	 * probe did not complete (check exits 3 unless something is critical). */
	rc = check_host_key(ms, t, kh_name, kh_files, n_kh, pref, &peer, dl, f, err);
	if (rc != MD_OK) {
		md_session_free(ms);
		/* A changed or revoked key is a finding; one that could not be checked
		 * (unchecked, unverifiable) leaves the probe incomplete. */
		return rc == MD_EHOSTKEY ? MD_OK : rc;
	}
	rc = authenticate(ms, t, dl, f, &b, have_banner);
	if (rc == MD_ENOMEM) {
		md_session_free(ms);
		return md_err_set(err, MD_ENOMEM, "ssh", "out of memory");
	}
	if (rc != MD_OK) {
		md_session_free(ms);
		return MD_OK;
	}

	/* What the host runs is the host probe's to find out; the banner's word is all the
	 * session knows until then (the run's POSIX batch is not sent to Windows). */
	if (b.windows)
		md_session_set_os(ms, "windows");
	ctx->session = ms;
	return MD_OK;
}

static const char *const ssh_provides[] = {
	"ssh.addr", "ssh.host", "ssh.port", "ssh.user", "ssh.tcp", "ssh.tcp_error",
	"ssh.banner", "ssh.banner_status", "ssh.first_bytes", "ssh.server_software",
	"ssh.server_windows", "ssh.kex", "ssh.kex_error", "ssh.server_kex_algorithms",
	"ssh.server_hostkey_algorithms", "ssh.server_ciphers", "ssh.server_macs", "ssh.libssh2_version",
	"ssh.kex_no_common", "ssh.kex_no_common_server", "ssh.kex_no_common_client",
	"ssh.hostkey", "ssh.hostkey_type",
	"ssh.hostkey_fingerprint", "ssh.hostkey_known_type", "ssh.hostkey_known_fingerprint",
	"ssh.hostkey_added", "ssh.hostkey_added_to", "ssh.known_hosts_name", "ssh.known_hosts_file",
	"ssh.known_hosts_line", "ssh.known_hosts_unread", "ssh.auth", "ssh.auth_method", "ssh.auth_methods_offered",
	"ssh.auth_keys_tried", "ssh.auth_skipped", "ssh.auth_rsa_sha1_only",
	"ssh.identity_encrypted", "ssh.agent", "ssh.agent_socket", "ssh.config", "ssh.config_error",
	"ssh.proxy", NULL,
};

/* Checking SSH means checking the host it leads to: `--probes ssh` answers OS and sudo. */
static const char *const ssh_brings[] = { "host", NULL };

const struct md_probe probe_ssh = {
	.name = "ssh",
	.desc = "SSH reachability: TCP, banner, host key, authentication (with the host probe)",
	.provides = ssh_provides,
	.needs = MD_OPENS_SESSION,
	.brings = ssh_brings,
	.budget_ms = 0,
	.run = ssh_run,
};
