/* known_hosts.h — OpenSSH's known_hosts files (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"):
 * looking a host's key up, the key types on file, the host key algorithms to ask for, and
 * recording a first-seen key.
 *
 * meshdoctor reads the files itself rather than through libssh2's knownhost API, which
 * compares names literally (no wildcards, negation or case folding), skips marker lines
 * (so a @revoked key would be accepted) and turns one line with several names into
 * several entries (so line numbers drift). */
#ifndef MD_KNOWN_HOSTS_H
#define MD_KNOWN_HOSTS_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>

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
 * when not, -1 when a negated pattern ("!pat") matches, which excludes the line,
 * SSH_KH_MATCH_OVER_BUDGET when the field needs too much work to tell.  The
 * field is a comma-separated list of patterns ('*' and '?' wildcards, compared without
 * regard to case) or one hashed name "|1|salt|hmac" (HMAC-SHA1, as `ssh-keygen -H`
 * writes it). */
int ssh_known_hosts_match(const char *field, const char *name);
/* The work one line's host field may take: patterns are matched in at most
 * (strlen(name) + 1) * (pattern length + 1) steps (OpenSSH's own matcher takes
 * exponential time on `*?*?*?...`), and a line that needs more than this is not used. */
#define SSH_KH_MATCH_STEPS_MAX (1ul << 20)
#define SSH_KH_MATCH_OVER_BUDGET (-2)
/* ssh_known_hosts_match() (which allows SSH_KH_MATCH_STEPS_MAX) spending at most *budget
 * steps, one per character comparison: *budget is decreased by the steps taken, and
 * SSH_KH_MATCH_OVER_BUDGET is returned when it runs out before the answer is known. */
int ssh_known_hosts_match_budget(const char *field, const char *name, unsigned long *budget);
/* Checks key (a host key blob) for name against every file, as OpenSSH does
 * (check_key_in_hostkeys() in hostfile.c): a @revoked line for it wins; else a plain
 * entry with this key in any file is a match; else any plain entry for the name, whatever
 * its key type, means CHANGED (the first one with a key of the presented key's type is
 * named, else the first one); else UNKNOWN.  Missing files are noted, not errors; a file
 * that exists but cannot be read (permissions, over 4 MiB, a directory) is skipped as
 * OpenSSH skips it and named in unread, so that the caller never records a key on the
 * strength of an incomplete check; so are lines left out because their host patterns
 * need more than SSH_KH_MATCH_STEPS_MAX steps, and the rest of a file whose lines need
 * more than 64 Mi steps in all.  @cert-authority lines are not used (host
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

#endif
