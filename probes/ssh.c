/* ssh.c — the ssh probe: TCP, the server's banner, the key exchange, the host key against
 * known_hosts, authentication (agent, then identity files), each step recorded as facts.
 * The SSH client it drives lives in core/ (ssh_banner, ssh_kex, ssh_keys, ssh_agent,
 * known_hosts); authentication is in probes/ssh_auth.c.  On success the probe hands its
 * session to the probes that need one. */
#include "probes/ssh.h"
#include "probes/ssh_auth.h"
#include "probes/probe.h"
#include "core/known_hosts.h"
#include "core/net.h"
#include "core/session_ssh.h"
#include "core/ssh_banner.h"
#include "core/ssh_kex.h"
#include "core/ssh_wire.h"

#include <libssh2.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define P "ssh"

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

static void record_no_banner(struct md_facts *f, enum ssh_peek bo, const char *addr,
			     const char *first, int64_t waited_ms)
{
	switch (bo) {
	case SSH_PEEK_NOT_SSH:
		md_fact_strf(f, P, "ssh.banner_status", "not-ssh", "%s sent \"%s\"", addr, first);
		md_fact_str(f, P, "ssh.first_bytes", first, "printable-escaped, at most 64 bytes");
		md_fact_check(f, "ssh.banner_status", MD_CHECK_FAIL, "SSH banner: not an SSH server");
		break;
	case SSH_PEEK_CLOSED:
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
size_t ssh_known_hosts_files(const struct md_target *t, const char **files, size_t max)
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
/* Records one of the server's lists: ssh.server_X from list cs, and, when the server to
 * client list differs, says so in the evidence. */
static void record_server_list(struct md_facts *f, const char *name, const struct ssh_kexinit *k,
			       enum ssh_kexinit_list cs, int sc, const char *from)
{
	char v[SSH_SERVER_LIST_MAX + 8], other[SSH_SERVER_LIST_MAX + 8], ev[2 * SSH_SERVER_LIST_MAX + 400];

	ssh_kexinit_list_text(k, cs, v, sizeof(v));
	if (sc < 0 || (k->len[cs] == k->len[sc] && memcmp(k->list[cs], k->list[sc], k->len[cs]) == 0)) {
		snprintf(ev, sizeof(ev), "%s%s", from, sc < 0 ? "" : "; the same both ways");
	} else {
		ssh_kexinit_list_text(k, (enum ssh_kexinit_list)sc, other, sizeof(other));
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

	if (ssh_kexinit_read(peer, dl, &buf, &k, &banner, &banner_len, why, why_n))
		return -1;
	ssh_copy_span(bl, sizeof(bl), banner, banner_len);
	snprintf(from, sizeof(from),
		 "SSH_MSG_KEXINIT of %s, read over a second connection to see whether the server still "
		 "offers an RSA host key",
		 bl);
	record_server_list(f, "ssh.server_hostkey_algorithms", &k, SSH_KEXINIT_HOSTKEY, -1, from);
	ssh_kexinit_list_text(&k, SSH_KEXINIT_HOSTKEY, algs, algs_n);
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
	char srv[SSH_SERVER_LIST_MAX + 500];

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
 * (ssh_hostkey_prefer()); peer and dl: for a second connection, to ask an RSA key's server
 * whether it still has one (server_offers_rsa()). */
int ssh_hostkey_check(struct md_session *ms, const struct md_target *t, const char *name,
			  const char *const *files, size_t n_files, const char *asked,
			  const struct md_addr *peer, const struct md_deadline *dl, struct md_facts *f,
			  struct md_err *err)
{
	LIBSSH2_SESSION *ssh = md_session_ssh(ms);
	struct ssh_kh_result kh;
	struct md_err e = { 0 };
	const unsigned char *key;
	char type[48] = "unknown", fp[80] = "", label[400], why[400] = "";
	char algs[SSH_SERVER_LIST_MAX + 8] = "", srv[SSH_SERVER_LIST_MAX + 500] = "";
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
void ssh_hostkey_prefer(LIBSSH2_SESSION *ssh, const char *const *files, size_t n_files,
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
	char pref_copy[256], from[600], bl[300], mine[1200], theirs[SSH_SERVER_LIST_MAX + 8];
	char ev[SSH_SERVER_LIST_MAX + 1800];
	const char *lib = libssh2_version(0);
	enum ssh_alg_cat cat;
	enum ssh_kexinit_list srv = SSH_KEXINIT_KEX;
	size_t banner_len;
	int rc;

	rc = ssh_kexinit_read(peer, dl, &buf, &k, &banner, &banner_len, why, why_n);
	if (rc)
		return -1;
	for (int i = 0; i < SSH_ALG_N; i++) {
		int n = libssh2_session_supported_algs(ssh, methods[i], &algs[i]);

		client[i] = (struct ssh_alg_list){ .v = n > 0 ? algs[i] : NULL, .n = n > 0 ? (size_t)n : 0 };
		if (n <= 0)
			algs[i] = NULL;
	}
	/* The host key algorithms asked for (ssh_hostkey_prefer()), when a preference was set. */
	if (pref[0]) {
		size_t n = 0;

		snprintf(pref_copy, sizeof(pref_copy), "%s", pref);
		for (char *save = NULL, *t = strtok_r(pref_copy, ",", &save); t && n < 16;
		     t = strtok_r(NULL, ",", &save))
			hk[n++] = t;
		client[SSH_ALG_HOSTKEY] = (struct ssh_alg_list){ .v = hk, .n = n };
	}
	cat = ssh_kex_no_common(&k, client);

	ssh_copy_span(bl, sizeof(bl), banner, banner_len);
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

		ssh_alg_list_join(&client[cat], mine, sizeof(mine));
		ssh_kexinit_list_text(&k, srv, theirs, sizeof(theirs));
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

/* The key exchange did not complete (rc from libssh2_session_handshake): ssh.kex and
 * ssh.kex_error, with what the server offers when libssh2 only says it failed.  What
 * ssh_run() returns.  Frees ms. */
static int record_kex_failure(struct md_session *ms, int rc, const struct md_addr *peer,
			      const char *addr, const char *pref, const struct md_deadline *dl,
			      struct md_facts *f, struct md_err *err)
{
	LIBSSH2_SESSION *ssh = md_session_ssh(ms);
	char kex_ev[400];
	bool timed_out = rc == LIBSSH2_ERROR_TIMEOUT;
	char why[400] = "";
	int cat = -1;

	snprintf(kex_ev, sizeof(kex_ev), "handshake with %s: %s", addr,
		 timed_out ? "no answer before the deadline" : md_ssh_last_error(ssh));
	md_fact_str(f, P, "ssh.kex", timed_out ? "timeout" : "failed", kex_ev);
	md_fact_check(f, "ssh.kex", MD_CHECK_FAIL, "SSH key exchange did not complete");
	/* libssh2 says only "Unable to exchange encryption keys": ask the server what
	 * it offers, so that a host `ssh` reaches is not blamed for what this libssh2
	 * lacks (OpenSSH 8.8 and later offer rsa-sha2-* and no ssh-rsa for an RSA host
	 * key, which libssh2 before 1.11 cannot verify). */
	if (!timed_out)
		cat = explain_kex_failure(ssh, peer, addr, pref, dl, f, why, sizeof(why));
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

/* The key exchange completed: what was agreed, and what was asked for. */
static void record_kex_ok(LIBSSH2_SESSION *ssh, const char *pref, const char *known_types,
			  struct md_facts *f)
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

/* No banner before the handshake, nor one after it: what came instead (or nothing).
 * Frees ms. */
static void record_no_banner_after(struct md_session *ms, int rc, const char *addr,
				   int64_t t0, struct md_facts *f)
{
	LIBSSH2_SESSION *ssh = md_session_ssh(ms);
	const unsigned char *raw;
	size_t n_raw = md_session_first_bytes(ms, &raw);
	char first[300];

	if (n_raw)
		ssh_escape(raw, n_raw, first, sizeof(first));
	else
		snprintf(first, sizeof(first), "%s", rc == LIBSSH2_ERROR_TIMEOUT ? "" : md_ssh_last_error(ssh));
	record_no_banner(f, n_raw ? SSH_PEEK_NOT_SSH :
			 rc == LIBSSH2_ERROR_TIMEOUT ? SSH_PEEK_NONE : SSH_PEEK_CLOSED,
			 addr, first, md_now_ms() - t0);
	md_session_free(ms);
}

static int ssh_run(struct md_ctx *ctx, struct md_facts *f, struct md_err *err)
{
	const struct md_target *t = ctx->target;
	const struct md_deadline *dl = &ctx->deadline;
	const char *host = t->hostname ? t->hostname : t->host;
	int port = t->port > 0 ? t->port : 22;
	char addr[300], label[400], line[300], first[300];
	char kh_name[300], known_types[160], pref[256];
	const char *kh_files[MD_TARGET_MAX_FILES + 2];
	size_t n_kh;
	struct ssh_banner b;
	bool have_banner = false;
	enum ssh_peek bo;
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
	md_fact_str(f, P, "ssh.user", ssh_auth_user(t), NULL);

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
	bo = ssh_banner_peek(fd, dl, line, sizeof(line), first, sizeof(first));
	if (bo == SSH_PEEK_OK) {
		record_banner(f, line, &b, first);
		have_banner = true;
	} else if (bo != SSH_PEEK_SILENT) {
		record_no_banner(f, bo, addr, first, md_now_ms() - t0);
		close(fd);
		return MD_OK;
	}

	/* Key exchange */
	ms = md_session_new_ssh(fd, err);
	if (!ms)
		return err->code;
	ssh = md_session_ssh(ms);
	n_kh = ssh_known_hosts_files(t, kh_files, sizeof(kh_files) / sizeof(kh_files[0]));
	ssh_known_hosts_name(host, port, t->host_key_alias, kh_name, sizeof(kh_name));
	ssh_hostkey_prefer(ssh, kh_files, n_kh, kh_name, known_types, sizeof(known_types), pref,
			 sizeof(pref));
	MD_SSH_STEP(rc, ms, dl, libssh2_session_handshake(ssh, fd));
	rb = libssh2_session_banner_get(ssh);
	if (!have_banner) {
		/* The server waited for our identification (sent by libssh2). */
		if (rb && strncmp(rb, "SSH-", 4) == 0) {
			snprintf(line, sizeof(line), "%s", rb);
			record_banner(f, line, &b, NULL);
			have_banner = true;
		} else {
			record_no_banner_after(ms, rc, addr, t0, f);
			return MD_OK;
		}
	}
	if (rc)
		return record_kex_failure(ms, rc, &peer, addr, pref, dl, f, err);
	record_kex_ok(ssh, pref, known_types, f);

	/* Host key, then authentication: never after a changed or revoked key, nor one
	 * that could not be checked.  Then nothing was learnt about authentication: the
	 * probe did not complete (check exits 3 unless something is critical). */
	rc = ssh_hostkey_check(ms, t, kh_name, kh_files, n_kh, pref, &peer, dl, f, err);
	if (rc != MD_OK) {
		md_session_free(ms);
		/* A changed or revoked key is a finding; one that could not be checked
		 * (unchecked, unverifiable) leaves the probe incomplete. */
		return rc == MD_EHOSTKEY ? MD_OK : rc;
	}
	rc = ssh_authenticate(ms, t, dl, f, &b, have_banner);
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
