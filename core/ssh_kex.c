/* ssh_kex.c — SSH_MSG_KEXINIT (RFC 4253 §7.1): parsing, reading, comparing. */
#include "core/ssh_kex.h"
#include "core/err.h"
#include "core/ssh_banner.h"
#include "core/ssh_wire.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>


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
	packet_len = ssh_get_u32(pkt);
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

		if (ssh_get_string(&p, end, &s, &l))
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
	packet_len = ssh_get_u32(buf + at);
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


/* The second connection may take this long at most, within the probe's deadline. */
#define KEXINIT_READ_MS 3000
/* The most a server may send before its first packet is complete. */
#define KEXINIT_BUF_MAX (SSH_BANNER_PREAMBLE_MAX + SSH_BANNER_LINE_MAX + 2 + SSH_PACKET_MAX)

/* Reads the server's SSH_MSG_KEXINIT over a connection of its own to peer: sends an
 * identification, reads the server's and its first binary packet, and closes without
 * sending anything else (libssh2 does not show what the server offered).  MD_OK with
 * *buf_out (malloc'd, the caller frees) holding the bytes k and *banner point into; else
 * MD_ETIMEOUT, MD_EIO, MD_EPARSE, MD_ENOMEM or a connect error, with why filled. */
int ssh_kexinit_read(const struct md_addr *peer, const struct md_deadline *dl,
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
	rc = ssh_io_all(fd, true, ident, strlen(ident), &kdl);
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
void ssh_kexinit_list_text(const struct ssh_kexinit *k, enum ssh_kexinit_list i, char *out, size_t n)
{
	size_t len = k->len[i];

	if (len < n && len <= SSH_SERVER_LIST_MAX) {
		memcpy(out, k->list[i], len);
		out[len] = '\0';
		return;
	}
	len = n - 5 < SSH_SERVER_LIST_MAX ? n - 5 : SSH_SERVER_LIST_MAX;
	while (len && k->list[i][len] != ',')
		len--;
	memcpy(out, k->list[i], len);
	snprintf(out + len, n - len, ",...");
}

void ssh_alg_list_join(const struct ssh_alg_list *l, char *out, size_t n)
{
	out[0] = '\0';
	for (size_t i = 0; i < l->n; i++)
		if (strlen(out) + strlen(l->v[i]) + 2 <= n) {
			if (out[0])
				strcat(out, ",");
			strcat(out, l->v[i]);
		}
}
