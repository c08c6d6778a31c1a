/* err.h — error codes and the one-line error every layer below cli/ fills.
 *
 * Functions return int: MD_OK (0) or a negative enum md_status.  The first error set on a
 * struct md_err wins, so the root cause survives the cleanup that follows it. */
#ifndef MD_ERR_H
#define MD_ERR_H

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
 * `return md_err_set(err, MD_EIO, "open", "%s: %s", path, strerror(errno));`. */
int md_err_set(struct md_err *e, int code, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void md_err_clear(struct md_err *e);
/* Short stable name of a code ("timeout", "refused", ...), for facts and reports. */
const char *md_status_name(int code);

#endif
