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

/* ---- Keys */
struct ssh_keyinfo {
	char type[48];   /* "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "unknown" */
	bool encrypted;  /* passphrase-protected */
};
/* Reads a private key file's text (OpenSSH "openssh-key-v1" or PEM).  MD_OK or
 * MD_EPARSE when it is not a private key. */
int ssh_key_info(const char *text, size_t len, struct ssh_keyinfo *ki);
/* The key type named at the start of a public key blob ("ssh-rsa"). MD_OK or MD_EPARSE. */
int ssh_blob_type(const unsigned char *blob, size_t len, char *out, size_t n);
/* "SHA256:<base64 without padding>" of a key blob, as `ssh-keygen -l` prints it. */
int ssh_fingerprint(const unsigned char *blob, size_t len, char *out, size_t n);

/* ---- known_hosts (OpenSSH format, hashed names too) */
enum ssh_hostkey_status { SSH_HOSTKEY_MATCH, SSH_HOSTKEY_UNKNOWN, SSH_HOSTKEY_CHANGED };
struct ssh_kh_result {
	enum ssh_hostkey_status status;
	char file[512];     /* MATCH / CHANGED: the file holding the entry */
	int line;           /* and its line */
	char known_fp[80];  /* CHANGED: fingerprint of the key on file */
	char notes[512];    /* files that were missing or unreadable, lines skipped */
};
/* "host" for port 22, else "[host]:port" — the name OpenSSH writes and `ssh-keygen -R` takes. */
void ssh_known_hosts_name(const char *host, int port, char *out, size_t n);
/* Checks key (a blob of libssh2 LIBSSH2_HOSTKEY_TYPE_* key_type) for host:port against
 * every file, as OpenSSH does: a match in any file wins, else an entry with another key
 * of the same type means CHANGED, else UNKNOWN.  Missing files are noted, not errors. */
int ssh_known_hosts_check(const char *const *files, size_t n, const char *host, int port,
			  const unsigned char *key, size_t key_len, int key_type,
			  struct ssh_kh_result *r, struct md_err *err);
/* Appends "name type base64" to file as StrictHostKeyChecking=accept-new would, creating
 * the directory (0700) and the file (0600) when missing. */
int ssh_known_hosts_add(const char *file, const char *host, int port, const unsigned char *key,
			size_t key_len, int key_type, struct md_err *err);

/* ---- On the host, over the session */
/* "linux", "darwin", "windows" (MSYS/Cygwin uname too), else the lower-cased first word
 * of `uname -s`; NULL when out is empty.  Writes into buf. */
const char *ssh_os_from_uname(const char *out, char *buf, size_t n);
/* host.sudo from `sudo -n true`: "nopasswd", "password", "absent", "denied" or "error". */
const char *ssh_sudo_classify(int exit_status, const char *err_text);
/* Output of the combined OS + sudo command (see HOST_CMD in ssh.c): the first line (uname)
 * into uname_line ("" when absent) and the exit status of `sudo -n true`.  MD_EPARSE when
 * the sudo marker line is missing (the command did not run under sh). */
int ssh_host_parse(const char *out, int *sudo_exit, char *uname_line, size_t n);
/* Records host.os (and tells the session) and, on a Unix host, host.sudo. */
int ssh_host_facts(struct md_session *s, bool banner_windows, struct md_facts *f,
		   const struct md_deadline *dl);

#endif
