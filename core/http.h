/* http.h — a small HTTP/1.1 GET client with a deadline, over TCP or TLS (OpenSSL).
 *
 * Enough to ask a Headscale server its /health, /version and /key (docs/headscale.md):
 * one request per connection (`Connection: close`), the response framed by
 * Content-Length, by chunked transfer coding (RFC 9112 section 7.1) or by the end of the
 * connection, and capped at MD_HTTP_MAX_RESPONSE bytes.  The response parser is pure and
 * apart from the I/O, so that it is unit-tested and fuzzed on its own. */
#ifndef MD_HTTP_H
#define MD_HTTP_H

#include "core/deadline.h"
#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>

/* The most a response (status line, headers and body) may take; more is MD_ETOOBIG. */
#define MD_HTTP_MAX_RESPONSE (256u * 1024)

/* A URL as the client dials it: http[s]://HOST[:PORT][/PATH]. */
struct md_http_url {
	bool https;
	char host[256];   /* a name or an address; an IPv6 literal without its brackets */
	int port;         /* the URL's, else 80 / 443 */
	char path[512];   /* the URL's path without a trailing '/', "" when none */
};

/* Parses url.  MD_EINVAL (one line in err) for another scheme, an empty or malformed
 * host, a port outside 1-65535, a userinfo part ("user@"), or a host that is not
 * [A-Za-z0-9.-] or an IP literal. */
int md_http_parse_url(const char *url, struct md_http_url *u, struct md_err *err);

/* One parsed response.  body is malloc'ed, NUL-terminated (a NUL inside stays: body_len
 * says how long it is), the chunked coding already removed; NULL before parsing. */
struct md_http_response {
	int status;              /* 100-599 */
	char reason[64];         /* the reason phrase, "" when none */
	char content_type[128];  /* the Content-Type header, "" when absent */
	char *body;
	size_t body_len;
};

void md_http_response_init(struct md_http_response *r);
void md_http_response_cleanup(struct md_http_response *r);

/* Parses raw[0..len) as an HTTP/1.x response to a GET; eof says the connection has
 * ended, so a body with neither Content-Length nor chunked coding ends there.
 *   MD_OK       complete: r filled (its earlier body freed);
 *   *more=true  (with MD_OK) incomplete so far: read more and call again, r untouched;
 *   MD_EPARSE   not an HTTP response, or malformed framing, with one line in err;
 *   MD_ENOMEM.
 * At eof an incomplete response is MD_EPARSE ("the connection closed after N bytes"). */
int md_http_parse_response(const char *raw, size_t len, bool eof, struct md_http_response *r,
			   bool *more, struct md_err *err);

/* What one GET did.  stage says where it stopped: "resolve", "connect", "tls", "send",
 * "receive", or "done" when a response was parsed (whatever its status). */
struct md_http_result {
	const char *stage;       /* static */
	char peer[64];           /* the address connected to, "" before */
	struct md_http_response resp;
	int64_t ms;              /* time taken */
};

void md_http_result_init(struct md_http_result *r);
void md_http_result_cleanup(struct md_http_result *r);

/* GETs u's path followed by path (e.g. "/health") within dl; with https the server's
 * certificate is checked against ca_file (NULL: the system store) and u->host.
 *   MD_OK: a response (res->resp; any status);
 *   MD_ERESOLVE, MD_EREFUSED, MD_EUNREACH, MD_ETIMEOUT (at any stage), MD_EPROTO (a TLS
 *   failure, or an answer that is not HTTP), MD_ETOOBIG, MD_EIO, MD_ENOMEM: err says what
 *   happened in one line naming the peer, res->stage where. */
int md_http_get(const struct md_http_url *u, const char *path, const char *ca_file,
		const struct md_deadline *dl, struct md_http_result *res, struct md_err *err);

#endif
