#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int md_err_set(struct md_err *e, int code, const char *where, const char *fmt, ...)
{
	va_list ap;

	if (!e || e->code != 0)
		return code;
	e->code = code;
	snprintf(e->where, sizeof(e->where), "%s", where ? where : "");
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	/* One line: a multi-line message from a peer must not break the format. */
	for (char *p = e->msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
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
