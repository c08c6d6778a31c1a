/* ssh.h — the ssh probe's parsing and host-side steps, exposed for unit tests.
 *
 * Everything here is pure (text in, result out) or runs over a struct md_session, so
 * tests/unit/test_ssh_probe.c can drive it with fixtures and a replay session.  The probe
 * itself is `probe_ssh` in probes/ssh.c. */
#ifndef MD_PROBE_SSH_H
#define MD_PROBE_SSH_H

#include "core/deadline.h"
#include "core/err.h"
#include "core/facts.h"
#include "core/session.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Identification string (RFC 4253 §4.2: "SSH-protoversion-softwareversion SP comments") */
struct ssh_banner {
	char proto[16];      /* "2.0" */
	char software[128];  /* "OpenSSH_9.2p1", "OpenSSH_for_Windows_9.5" */
	char comments[128];  /* "Debian-2+deb12u3", "" */
	bool windows;        /* Microsoft's port: OpenSSH_for_Windows_* */
	int openssh_major;   /* 9 for OpenSSH_9.2p1; -1 when not OpenSSH */
	int openssh_minor;
};
/* Parses one identification line (without CR LF).  MD_OK or MD_EPARSE when it is not
 * "SSH-<proto>-<software>". */
int ssh_banner_parse(const char *line, struct ssh_banner *b);
/* True when the banner names OpenSSH major.minor or later. */
bool ssh_openssh_at_least(const struct ssh_banner *b, int major, int minor);

/* What the first bytes a server sent say (RFC 4253 §4.2: a server MAY send other lines
 * before its "SSH-" line; OpenSSH rejects NUL bytes there). */
enum ssh_scan {
	SSH_SCAN_MORE,    /* incomplete: wait for more bytes */
	SSH_SCAN_BANNER,  /* found the "SSH-" line */
	SSH_SCAN_NOT_SSH, /* cannot be SSH (NUL byte, line or preamble too long) */
};
/* Scans buf[0..len).  SSH_SCAN_BANNER: *skip = bytes of the lines before it, *line_len =
 * its length without CR LF.  *other is set when a line (or the start of one) that is not
 * "SSH-" was seen. */
enum ssh_scan ssh_banner_scan(const char *buf, size_t len, size_t *skip, size_t *line_len,
			      bool *other);

/* Printable form of bytes for evidence: \r \n \t \\ \" and \xNN for the rest. */
void ssh_escape(const void *p, size_t len, char *out, size_t out_size);

/* ---- The server's algorithm lists: SSH_MSG_KEXINIT (RFC 4253 §7.1)
 *
 * After a failed key exchange the probe reads them over a connection of its own (libssh2
 * does not show what the server offered) to say which category has no algorithm in
 * common with this libssh2. */

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

/* ---- Keys */
struct ssh_keyinfo {
	char type[48];   /* "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "unknown" */
	bool encrypted;  /* passphrase-protected */
	unsigned char pub[2048]; /* the public key blob (OpenSSH format only, never encrypted) */
	size_t pub_len;          /* 0 when the file does not say (PEM) */
};
/* Reads a private key file's text (OpenSSH "openssh-key-v1" or PEM).  MD_OK or
 * MD_EPARSE when it is not a private key (ki->type is then "unknown").  What it decodes is
 * wiped before it is freed. */
int ssh_key_info(const char *text, size_t len, struct ssh_keyinfo *ki);
/* ssh_key_info() of the private key file: MD_OK, MD_EPARSE (not a key), MD_ENOTFOUND,
 * MD_EIO (unreadable), MD_ETOOBIG (over 1 MiB) or MD_ENOMEM.  The file's text is wiped
 * before it is freed. */
int ssh_identity_info(const char *file, struct ssh_keyinfo *ki);
/* The public key blob of an identity file: FILE.pub, else the public part of an
 * OpenSSH-format private key (read as ssh_identity_info() reads it).  false when neither
 * says. */
bool ssh_identity_blob(const char *file, unsigned char *out, size_t n, size_t *len);
/* The key type named at the start of a public key blob ("ssh-rsa"). MD_OK or MD_EPARSE. */
int ssh_blob_type(const unsigned char *blob, size_t len, char *out, size_t n);
/* "SHA256:<base64 without padding>" of a key blob, as `ssh-keygen -l` prints it. */
int ssh_fingerprint(const unsigned char *blob, size_t len, char *out, size_t n);

/* ---- known_hosts (OpenSSH format: sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT")
 *
 * meshdoctor reads the files itself rather than through libssh2's knownhost API, which
 * compares names literally (no wildcards, negation or case folding), skips marker lines
 * (so a @revoked key would be accepted) and turns one line with several names into
 * several entries (so line numbers drift). */
enum ssh_hostkey_status {
	SSH_HOSTKEY_MATCH,   /* a plain entry for the name holds this key */
	SSH_HOSTKEY_UNKNOWN, /* no plain entry for the name in the files read */
	SSH_HOSTKEY_CHANGED, /* plain entries for the name, none with this key (of any type) */
	SSH_HOSTKEY_REVOKED, /* a @revoked line for the name holds this key: never log in */
};
struct ssh_kh_result {
	enum ssh_hostkey_status status;
	char file[512];         /* MATCH / CHANGED / REVOKED: the file holding the entry */
	int line;               /* and its line (1-based, as `ssh-keygen -F` counts) */
	char known_type[48];    /* CHANGED: type of the key on file ("ecdsa-sha2-nistp256") */
	char known_fp[80];      /* CHANGED: its fingerprint */
	char types[160];        /* the key types of the plain entries for the name, first seen
				 * first, comma-separated (as ssh_known_hosts_types()) */
	char rsa_file[512];     /* CHANGED: the first plain entry for the name with an RSA key */
	int rsa_line;           /* ("" and 0 when none) */
	char rsa_fp[80];        /* and its key's fingerprint */
	char unread[512];       /* files that exist but could not be read, with the error
				 * ("FILE: Permission denied"); "" when every file was read */
	char notes[512];        /* files that were missing, lines skipped */
};
/* The name OpenSSH looks up and records: alias (ssh_config HostKeyAlias) when given,
 * else "host" for port 22 and "[host]:port" otherwise; lower-cased, as ssh(1) does. */
void ssh_known_hosts_name(const char *host, int port, const char *alias, char *out, size_t n);
/* Whether a known_hosts host field covers name (already lower-cased): 1 when it does, 0
 * when not, -1 when a negated pattern ("!pat") matches, which excludes the line.  The
 * field is a comma-separated list of patterns ('*' and '?' wildcards, compared without
 * regard to case) or one hashed name "|1|salt|hmac" (HMAC-SHA1, as `ssh-keygen -H`
 * writes it). */
int ssh_known_hosts_match(const char *field, const char *name);
/* Checks key (a host key blob) for name against every file, as OpenSSH does
 * (check_key_in_hostkeys() in hostfile.c): a @revoked line for it wins; else a plain
 * entry with this key in any file is a match; else any plain entry for the name, whatever
 * its key type, means CHANGED (the first one with a key of the presented key's type is
 * named, else the first one); else UNKNOWN.  Missing files are noted, not errors; a file
 * that exists but cannot be read (permissions, over 4 MiB, a directory) is skipped as
 * OpenSSH skips it and named in unread, so that the caller never records a key on the
 * strength of an incomplete check.  @cert-authority lines are not used (host
 * certificates are not checked). */
int ssh_known_hosts_check(const char *const *files, size_t n, const char *name,
			  const unsigned char *key, size_t key_len, struct ssh_kh_result *r,
			  struct md_err *err);
/* The key types ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa") of the plain entries
 * for name in files, comma-separated, first seen first; "" when none. */
void ssh_known_hosts_types(const char *const *files, size_t n, const char *name, char *out,
			   size_t out_n);
/* The host key algorithms to ask for, as OpenSSH orders them (ssh_config(5)
 * HostKeyAlgorithms, order_hostkeyalgs() in sshconnect2.c): its default order, with the
 * algorithms for the key types in known_types first, so that the server presents the
 * key known_hosts holds.  Only names in supported are written (comma-separated). */
void ssh_hostkey_order(const char *known_types, const char *const *supported, size_t n_supported,
		       char *out, size_t n);
/* Whether this libssh2 cannot tell a host key that known_hosts does not hold
 * (SSH_HOSTKEY_CHANGED) from the RSA key on file, where `ssh` can: known_types (the key
 * types on file for the name, ssh_kh_result.types) include ssh-rsa but not presented_type
 * (the type of the key the server presented); supported (the host key algorithms of
 * libssh2_session_supported_algs()) has no rsa-sha2-* algorithm (RFC 8332), so RSA host
 * keys can be asked for only as ssh-rsa (SHA-1); and the server did not agree to ssh-rsa:
 * asked (the host key algorithms asked for, comma-separated, ssh_hostkey_order()) names
 * ssh-rsa before negotiated (the algorithm the key exchange chose), and RFC 4253 §7.1
 * chooses the client's first that the server offers.  OpenSSH 8.8 and later offer RSA
 * host keys only as rsa-sha2-512 and rsa-sha2-256, which `ssh` asks for.  false when
 * negotiated is NULL or not in asked.  Another key of a type on file is never this case:
 * it is a changed key. */
bool ssh_hostkey_unverifiable(const char *known_types, const char *presented_type,
			      const char *const *supported, size_t n_supported, const char *asked,
			      const char *negotiated);
/* Whether a server's server_host_key_algorithms (the name-list list[0..len) of its
 * SSH_MSG_KEXINIT) offer an RSA host key: rsa-sha2-512, rsa-sha2-256 (RFC 8332), ssh-rsa,
 * or their -cert-v01@openssh.com forms.  For an unverifiable RSA key on file
 * (ssh_hostkey_unverifiable()): when none is offered, `ssh` too would be shown another
 * key, and calls it changed. */
bool ssh_hostkey_algs_offer_rsa(const char *list, size_t len);
/* Appends "name type base64" to file as StrictHostKeyChecking=accept-new would, creating
 * the directory (0700) and the file (0600) when missing.  hashed (ssh_config(5)
 * HashKnownHosts): the name is written as "|1|salt|hmac", HMAC-SHA1 keyed with a fresh
 * random salt, which ssh_known_hosts_match() and `ssh-keygen -F` recognise. */
int ssh_known_hosts_add(const char *file, const char *name, bool hashed, const unsigned char *key,
			size_t key_len, struct md_err *err);

/* ---- ssh-agent protocol (draft-miller-ssh-agent): uint32 length, byte type, contents
 *
 * meshdoctor talks to the agent itself rather than through libssh2's agent functions,
 * which read the agent socket in blocking mode with no timeout: an agent that accepts the
 * connection and never answers would hang the check for ever. */
struct ssh_agent_key {
	unsigned char *blob;
	size_t blob_len;
	char *comment;
};
struct ssh_agent_keys {
	struct ssh_agent_key *v;
	size_t n;
};
/* Sends one request (type byte and contents, without the length) on the agent socket fd
 * and reads the answer into *resp (malloc'd, type byte first), all before the deadline.
 * MD_OK, MD_ETIMEOUT, MD_EIO (the agent closed the connection or a socket error),
 * MD_ETOOBIG (an answer over 256 KiB), MD_ENOMEM. */
int ssh_agent_request(int fd, const unsigned char *req, size_t req_len, unsigned char **resp,
		      size_t *resp_len, const struct md_deadline *dl);
/* Parses SSH_AGENT_IDENTITIES_ANSWER.  MD_OK, MD_EPARSE (another message or malformed),
 * MD_ENOMEM.  keys is filled on MD_OK only; free it with ssh_agent_keys_free(). */
int ssh_agent_parse_identities(const unsigned char *msg, size_t len, struct ssh_agent_keys *keys);
void ssh_agent_keys_free(struct ssh_agent_keys *keys);
/* Parses SSH_AGENT_SIGN_RESPONSE: *sig points, inside msg, at the signature itself (the
 * blob's second string, after the algorithm name, which *alg gets).  MD_OK, MD_EAUTH
 * (SSH_AGENT_FAILURE: the agent refused to sign), MD_EPARSE. */
int ssh_agent_parse_signature(const unsigned char *msg, size_t len, char *alg, size_t alg_n,
			      const unsigned char **sig, size_t *sig_len);
/* The SSH_AGENTC_SIGN_REQUEST flags for public key algorithm alg (draft-miller-ssh-agent
 * §5.3): SSH_AGENT_RSA_SHA2_256 (2) for rsa-sha2-256 and its certificate form
 * rsa-sha2-256-cert-v01@openssh.com, SSH_AGENT_RSA_SHA2_512 (4) likewise, else 0. */
uint32_t ssh_agent_sign_flags(const char *alg);
/* The signature algorithm a signature made for public key algorithm alg must name
 * (PROTOCOL.certkeys in OpenSSH: a certificate signs as its plain key type):
 * "rsa-sha2-512-cert-v01@openssh.com" gives "rsa-sha2-512",
 * "sk-ssh-ed25519-cert-v01@openssh.com" "sk-ssh-ed25519@openssh.com", "ssh-ed25519" itself. */
void ssh_sig_alg_of(const char *alg, char *out, size_t n);
/* The public key algorithm named in the data a client signs for "publickey"
 * authentication (RFC 4252 §7: session id, then the SSH_MSG_USERAUTH_REQUEST), e.g.
 * "rsa-sha2-512".  MD_OK or MD_EPARSE. */
int ssh_userauth_sign_alg(const unsigned char *data, size_t len, char *alg, size_t n);


#endif
