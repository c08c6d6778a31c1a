/* ssh_banner.h — the server's identification string (RFC 4253 §4.2): parsing it, finding
 * it among the lines a server may send first, and peeking at it on a fresh connection
 * before libssh2 takes over. */
#ifndef MD_SSH_BANNER_H
#define MD_SSH_BANNER_H

#include "core/deadline.h"

#include <stdbool.h>
#include <stddef.h>

/* RFC 4253 §4.2 caps the identification line at 255 characters; OpenSSH reads longer
 * pre-banner lines, so allow some slack before calling it "not SSH". */
#define SSH_BANNER_LINE_MAX 1024
#define SSH_BANNER_PREAMBLE_MAX 8192

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


/* What the server sent first on a fresh connection (ssh_banner_peek()). */
enum ssh_peek {
	SSH_PEEK_OK,      /* its "SSH-" line */
	SSH_PEEK_SILENT,  /* nothing within a second: it waits for the client to speak */
	SSH_PEEK_NOT_SSH, /* something else (first: those bytes, escaped) */
	SSH_PEEK_CLOSED,  /* it closed the connection first (first: how) */
	SSH_PEEK_NONE,    /* the deadline passed (first: a partial line, if any) */
};
/* Peeks at what the server sends first on fd (MSG_PEEK: the bytes stay for libssh2), and
 * consumes the lines before the "SSH-" line, which libssh2 1.10 would take for the
 * banner.  SSH_PEEK_OK: line (line_n bytes) gets the identification line, and first the
 * lines before it (escaped), if any.  Otherwise first says what came, for evidence. */
enum ssh_peek ssh_banner_peek(int fd, const struct md_deadline *dl, char *line, size_t line_n,
			      char *first, size_t first_n);

#endif
