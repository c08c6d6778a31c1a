#include "core/err.h"
#include "core/buf.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int md_err_set(struct md_err *e, int code, const char *where, const char *fmt, ...)
{
	char raw[1024];
	va_list ap;

	if (!e || e->code != 0)
		return code;
	e->code = code;
	snprintf(e->where, sizeof(e->where), "%s", where ? where : "");
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* One line: a multi-line message from a peer must not break the format. */
	for (char *p = raw; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	md_escape_str(e->msg, sizeof(e->msg), raw);
	return code;
}

void md_err_clear(struct md_err *e)
{
	if (e)
		memset(e, 0, sizeof(*e));
}

const char *md_status_name(int code)
{
	switch (code) {
	case MD_OK: return "ok";
	case MD_EINVAL: return "invalid";
	case MD_ENOMEM: return "no-memory";
	case MD_ETIMEOUT: return "timeout";
	case MD_EIO: return "io-error";
	case MD_EREFUSED: return "refused";
	case MD_EUNREACH: return "unreachable";
	case MD_ERESOLVE: return "no-such-host";
	case MD_EPROTO: return "protocol-error";
	case MD_EAUTH: return "denied";
	case MD_EHOSTKEY: return "hostkey-mismatch";
	case MD_ENOTFOUND: return "not-found";
	case MD_EPARSE: return "parse-error";
	case MD_ETOOBIG: return "too-big";
	case MD_EPERM: return "permission-denied";
	case MD_ESKIP: return "skipped";
	}
	return "error";
}

size_t md_utf8_decode(const char *s, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char lo = 0x80, hi = 0xbf;
	uint32_t c;
	size_t n;

	if (p[0] < 0x80) {
		*cp = p[0];
		return p[0] ? 1 : 0;
	}
	/* RFC 3629 section 4: the second byte's range rules out overlong forms, surrogates
	 * and code points above U+10FFFF. */
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		c = p[0] & 0x0f;
		if (p[0] == 0xe0)
			lo = 0xa0; /* overlong */
		else if (p[0] == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		c = p[0] & 0x07;
		if (p[0] == 0xf0)
			lo = 0x90; /* overlong */
		else if (p[0] == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (p[1] < lo || p[1] > hi)
		return 0;
	/* The NUL at the end is not a continuation byte, so this never reads past it. */
	for (size_t i = 1; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	*cp = c;
	return n;
}

/* The Unicode bidirectional controls (UAX #9): a remote string holding them can reorder
 * how the text around it is displayed, so that the terminal shows something other than
 * what was received. */
static bool is_bidi_control(uint32_t cp)
{
	return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

size_t md_escape_shown_len(const char *s)
{
	uint32_t cp;
	size_t n = md_utf8_decode(s, &cp);

	if (!n || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || is_bidi_control(cp))
		return 0;
	return n;
}

/* The next piece of s as it is to be shown: either s itself (*len bytes) or an escape
 * written into esc. */
static const char *next_piece(const char *s, char esc[5], size_t *len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c = (unsigned char)*s;

	*len = md_escape_shown_len(s);
	if (*len)
		return s;
	esc[0] = '\\';
	esc[1] = 'x';
	esc[2] = hex[c >> 4];
	esc[3] = hex[c & 15];
	esc[4] = '\0';
	*len = 4;
	return esc;
}

int md_escape_buf(struct md_buf *out, const char *s)
{
	int rc = MD_OK;

	while (s && *s && rc == MD_OK) {
		const char *start = s;
		char esc[5];
		size_t len;

		/* Runs of characters shown as they are go in one append. */
		while (*s && md_escape_shown_len(s))
			s += md_escape_shown_len(s);
		if (s > start) {
			rc = md_buf_append(out, start, (size_t)(s - start));
			continue;
		}
		next_piece(s, esc, &len);
		rc = md_buf_append(out, esc, len);
		s++;
	}
	return rc;
}

size_t md_escape_str(char *out, size_t cap, const char *s)
{
	size_t n = 0;

	if (!cap)
		return 0;
	while (s && *s) {
		char esc[5];
		size_t len;
		const char *piece = next_piece(s, esc, &len);

		if (n + len + 1 > cap)
			break;
		memcpy(out + n, piece, len);
		n += len;
		s += piece == s ? len : 1;
	}
	out[n] = '\0';
	return n;
}
