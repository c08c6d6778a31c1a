/* err.h — error codes and the one-line error every layer below cli/ fills.
 *
 * Functions return int: MD_OK (0) or a negative enum md_status.  The first error set on a
 * struct md_err wins, so the root cause survives the cleanup that follows it. */
#ifndef MD_ERR_H
#define MD_ERR_H

#include <stddef.h>
#include <stdint.h>

struct md_buf;

enum md_status {
	MD_OK = 0,
	MD_EINVAL = -1,    /* bad input from the user or a file */
	MD_ENOMEM = -2,
	MD_ETIMEOUT = -3,  /* the deadline passed */
	MD_EIO = -4,       /* local I/O or system call failed */
	MD_EREFUSED = -5,  /* connection refused */
	MD_EUNREACH = -6,  /* no route to host / network unreachable */
	MD_ERESOLVE = -7,  /* name did not resolve */
	MD_EPROTO = -8,    /* peer spoke something unexpected */
	MD_EAUTH = -9,     /* authentication denied */
	MD_EHOSTKEY = -10, /* host key did not match */
	MD_ENOTFOUND = -11,
	MD_EPARSE = -12,   /* input could not be parsed */
	MD_ETOOBIG = -13,  /* over a cap (remote output, file size) */
	MD_EPERM = -14,    /* not permitted (e.g. capture without CAP_NET_RAW) */
	MD_ESKIP = -15,    /* does not apply (a probe's prerequisite is missing) */
};

struct md_err {
	int code;       /* enum md_status, 0 while unset */
	char where[32]; /* operation, e.g. "connect", "rules" */
	char msg[256];  /* one line, no trailing newline */
};

/* Sets e (if e is non-NULL and still unset) and returns code, so callers can write
 * `return md_err_set(err, MD_EIO, "open", "%s: %s", path, strerror(errno));`.
 * The message is kept on one line (line breaks and tabs become spaces) and made safe for
 * a terminal (md_escape_str). */
int md_err_set(struct md_err *e, int code, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void md_err_clear(struct md_err *e);
/* Short stable name of a code ("timeout", "refused", ...), for facts and reports. */
const char *md_status_name(int code);

/* Text safe to show on a terminal.  Strings from a peer (an SSH banner, a server's error,
 * a command's output) may carry escape sequences that would move the cursor, retitle the
 * window or rewrite what was printed before.  These functions copy text with every C0
 * control (U+0000–U+001F), DEL (0x7f), C1 control (U+0080–U+009F, whether encoded as
 * UTF-8 or as a raw byte), Unicode bidirectional control (U+061C, U+200E, U+200F,
 * U+202A–U+202E, U+2066–U+2069) and every byte that is not part of valid UTF-8 (RFC 3629)
 * written as \xNN, one per byte; valid UTF-8 text (✓, ✗, accented letters) is kept. */

/* Decodes the character at s (in a NUL-terminated string): its length in bytes, with its
 * code point in *cp, when s starts with a whole, shortest-form UTF-8 sequence of a code
 * point that is not a surrogate and not above U+10FFFF (RFC 3629 section 4); 0 at the
 * terminating NUL or at a byte that does not start such a sequence (*cp unchanged). */
size_t md_utf8_decode(const char *s, uint32_t *cp);
/* Length of the character at p (in a NUL-terminated string) when it may be shown as it
 * is: printable ASCII or a valid UTF-8 sequence (md_utf8_decode) of a code point that is
 * neither a C1 control nor a bidirectional control.
 * 0 when the byte at p is to be escaped. */
size_t md_escape_shown_len(const char *p);
/* Appends s (NUL-terminated; NULL appends nothing) to out.  MD_OK or MD_ENOMEM/MD_ETOOBIG. */
int md_escape_buf(struct md_buf *out, const char *s);
/* Writes s into out (cap bytes, NUL-terminated), stopping before the first character or
 * escape that does not fit whole.  Returns the length written. */
size_t md_escape_str(char *out, size_t cap, const char *s);

#endif
