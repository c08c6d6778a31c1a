/* ssh_kex.h — the server's algorithm lists: SSH_MSG_KEXINIT (RFC 4253 §7.1), parsed from
 * the bytes a server sends first, read over a connection of its own, and compared with
 * the client's algorithms.
 *
 * After a failed key exchange the ssh probe reads them (libssh2 does not show what the
 * server offered) to say which category has no algorithm in common with this libssh2. */
#ifndef MD_SSH_KEX_H
#define MD_SSH_KEX_H

#include "core/deadline.h"
#include "core/net.h"

#include <stdbool.h>
#include <stddef.h>

/* RFC 4253 §6.1: the largest packet an implementation must accept, length field included. */
#define SSH_PACKET_MAX 35000u
/* RFC 4251 §6: an algorithm name is at most 64 characters. */
#define SSH_ALG_NAME_MAX 64u

/* The ten name-lists of SSH_MSG_KEXINIT, in their order on the wire. */
enum ssh_kexinit_list {
	SSH_KEXINIT_KEX,
	SSH_KEXINIT_HOSTKEY,
	SSH_KEXINIT_CIPHER_CS,
	SSH_KEXINIT_CIPHER_SC,
	SSH_KEXINIT_MAC_CS,
	SSH_KEXINIT_MAC_SC,
	SSH_KEXINIT_COMP_CS,
	SSH_KEXINIT_COMP_SC,
	SSH_KEXINIT_LANG_CS,
	SSH_KEXINIT_LANG_SC,
	SSH_KEXINIT_N,
};
/* A parsed SSH_MSG_KEXINIT.  list[i] points into the bytes parsed (not NUL-terminated,
 * len[i] bytes, possibly 0) and lives as long as they do.  Every list was checked to be
 * comma-separated names of 1 to SSH_ALG_NAME_MAX printable US-ASCII characters
 * (RFC 4251 §5 "name-list"). */
struct ssh_kexinit {
	const char *list[SSH_KEXINIT_N];
	size_t len[SSH_KEXINIT_N];
	bool first_kex_follows;
};
/* Parses one unencrypted binary packet (RFC 4253 §6: uint32 packet_length, byte
 * padding_length, payload, at least 4 bytes of padding; no MAC yet), pkt[0..len) being
 * exactly the packet, whose payload must be SSH_MSG_KEXINIT (20, a 16-byte cookie, the ten
 * name-lists, boolean first_kex_packet_follows, uint32 0).  Bytes after those fields in
 * the payload are ignored.  Nothing outside pkt[0..len) is read.  MD_OK, or MD_EPARSE
 * with the reason in why (may be NULL). */
int ssh_kexinit_parse(const unsigned char *pkt, size_t len, struct ssh_kexinit *k, char *why,
		      size_t why_n);

enum ssh_kexinit_scan {
	SSH_KEXINIT_MORE, /* incomplete: read more bytes */
	SSH_KEXINIT_OK,   /* *k holds the server's SSH_MSG_KEXINIT */
	SSH_KEXINIT_BAD,  /* not SSH, or a malformed or oversized packet: why says which */
};
/* Scans what a server sent on a fresh connection, buf[0..len): lines before its
 * identification (as ssh_banner_scan()), the "SSH-" line, then its first binary packet,
 * parsed by ssh_kexinit_parse().  A packet_length that makes the packet longer than
 * SSH_PACKET_MAX is SSH_KEXINIT_BAD at once, before its bytes arrive.  On SSH_KEXINIT_OK
 * *banner points at the identification line in buf (*banner_len bytes, without CR LF)
 * and *used is the number of bytes up to the end of the packet. */
enum ssh_kexinit_scan ssh_kexinit_scan(const unsigned char *buf, size_t len, struct ssh_kexinit *k,
				       const char **banner, size_t *banner_len, size_t *used,
				       char *why, size_t why_n);

/* True when the name-list list[0..len) holds name exactly. */
bool ssh_namelist_has(const char *list, size_t len, const char *name);

/* The algorithm categories the client and the server must agree on, in the order the key
 * exchange negotiates them (RFC 4253 §7.1). */
enum ssh_alg_cat { SSH_ALG_KEX, SSH_ALG_HOSTKEY, SSH_ALG_CIPHER, SSH_ALG_MAC, SSH_ALG_N };
/* A client's algorithms for one category, in its order of preference. */
struct ssh_alg_list {
	const char *const *v;
	size_t n;
};
/* RFC 4253 §7.1: the algorithm chosen is the client's first that the server also offers.
 * NULL when there is none. */
const char *ssh_alg_pick(const struct ssh_alg_list *client, const char *server, size_t server_len);
/* True for the ciphers that authenticate the data themselves (chacha20-poly1305@openssh.com,
 * aes128-gcm@openssh.com, aes256-gcm@openssh.com, AEAD_AES_*_GCM): OpenSSH then uses
 * no MAC, whatever the MAC lists say. */
bool ssh_cipher_is_aead(const char *name);
/* The first category in which the client (client[SSH_ALG_KEX..SSH_ALG_MAC]) and the server
 * have no algorithm in common: SSH_ALG_KEX, SSH_ALG_HOSTKEY, SSH_ALG_CIPHER (either
 * direction), SSH_ALG_MAC (either direction whose chosen cipher is not AEAD), or
 * SSH_ALG_N when every category has one. */
enum ssh_alg_cat ssh_kex_no_common(const struct ssh_kexinit *k,
				   const struct ssh_alg_list client[SSH_ALG_N]);
/* "kex", "hostkey", "cipher", "mac"; "none" for SSH_ALG_N. */
const char *ssh_alg_cat_name(enum ssh_alg_cat c);


/* A server name-list longer than this is cut at a name for a fact's value. */
#define SSH_SERVER_LIST_MAX 2048

/* Reads the server's SSH_MSG_KEXINIT over a connection of its own to peer (within dl, at
 * most 3 s): sends an identification, reads the server's and its first binary packet,
 * and closes without sending anything else.  MD_OK with *buf_out (malloc'd, the caller
 * frees) holding the bytes k and *banner point into; else MD_ETIMEOUT, MD_EIO,
 * MD_EPARSE, MD_ETOOBIG, MD_ENOMEM or a connect error, with why filled. */
int ssh_kexinit_read(const struct md_addr *peer, const struct md_deadline *dl,
		     unsigned char **buf_out, struct ssh_kexinit *k, const char **banner,
		     size_t *banner_len, char *why, size_t why_n);
/* List i of k as text for a fact's value: whole, or cut after a name (",..." added) when
 * longer than SSH_SERVER_LIST_MAX or n - 1. */
void ssh_kexinit_list_text(const struct ssh_kexinit *k, enum ssh_kexinit_list i, char *out, size_t n);
/* l's names, comma-separated, as many as fit in out (n bytes). */
void ssh_alg_list_join(const struct ssh_alg_list *l, char *out, size_t n);

#endif
