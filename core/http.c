/* http.c — the HTTP/1.1 GET client of http.h: URL, response parser, then the I/O. */
#include "core/http.h"

#include "core/buf.h"
#include "core/net.h"
#include "core/target.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Interim 1xx responses skipped before the final one (RFC 9110 section 15.2). */
#define MAX_INTERIM 4

/* ==== URL ============================================================================== */

static bool host_ok(const char *h)
{
	if (!h[0])
		return false;
	if (md_net_is_ip_literal(h))
		return true;
	for (const char *p = h; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
			return false;
	return true;
}

int md_http_parse_url(const char *url, struct md_http_url *u, struct md_err *err)
{
	const char *p, *end, *hs, *he;
	size_t hl;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		p = url + 8, u->https = true;
	else
		return md_err_set(err, MD_EINVAL, "url", "%s: not an http:// or https:// URL", url);
	end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(end - p)))
		return md_err_set(err, MD_EINVAL, "url", "%s: a user name in the URL is not supported", url);
	hs = p;
	if (*p == '[') {
		hs = p + 1;
		he = memchr(hs, ']', (size_t)(end - hs));
		if (!he)
			return md_err_set(err, MD_EINVAL, "url", "%s: unclosed '[' in the host", url);
		p = he + 1;
	} else {
		he = hs + strcspn(hs, ":/?#");
		p = he;
	}
	hl = (size_t)(he - hs);
	if (hl == 0 || hl >= sizeof(u->host))
		return md_err_set(err, MD_EINVAL, "url", "%s: no host, or one that is too long", url);
	memcpy(u->host, hs, hl);
	u->host[hl] = '\0';
	if (!host_ok(u->host))
		return md_err_set(err, MD_EINVAL, "url", "%s: '%s' is not a host name or an address", url,
				  u->host);
	u->port = u->https ? 443 : 80;
	if (*p == ':') {
		char digits[8];
		size_t n = (size_t)(end - p - 1);

		if (n == 0 || n >= sizeof(digits))
			return md_err_set(err, MD_EINVAL, "url", "%s: bad port", url);
		memcpy(digits, p + 1, n);
		digits[n] = '\0';
		u->port = md_parse_port(digits);
		if (u->port < 0)
			return md_err_set(err, MD_EINVAL, "url", "%s: port '%s' is not 1-65535", url, digits);
	} else if (p != end) {
		return md_err_set(err, MD_EINVAL, "url", "%s: unexpected text after the host", url);
	}
	if (*end == '/') {
		size_t n = strcspn(end, "?#");

		while (n > 0 && end[n - 1] == '/')
			n--;
		if (n >= sizeof(u->path))
			return md_err_set(err, MD_EINVAL, "url", "%s: path too long", url);
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)end[i] <= ' ' || end[i] == 0x7f)
				return md_err_set(err, MD_EINVAL, "url", "%s: a control character or space in the path", url);
		memcpy(u->path, end, n);
		u->path[n] = '\0';
	}
	return MD_OK;
}

/* ==== response parser ================================================================== */

void md_http_response_init(struct md_http_response *r)
{
	memset(r, 0, sizeof(*r));
}

void md_http_response_cleanup(struct md_http_response *r)
{
	free(r->body);
	md_http_response_init(r);
}

/* The line at *pos (up to '\n', a '\r' before it dropped): its start and length, *pos
 * moved past it.  false when no '\n' is left. */
static bool next_line(const char *raw, size_t len, size_t *pos, const char **line, size_t *n)
{
	const char *nl = memchr(raw + *pos, '\n', len - *pos);

	if (!nl)
		return false;
	*line = raw + *pos;
	*n = (size_t)(nl - *line);
	if (*n && (*line)[*n - 1] == '\r')
		(*n)--;
	*pos = (size_t)(nl - raw) + 1;
	return true;
}

struct head {
	int status;
	char reason[64], content_type[128];
	bool chunked, have_length;
	uint64_t length;
};

static int parse_status_line(const char *l, size_t n, struct head *h, struct md_err *err)
{
	size_t r;

	if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)l[7]) || l[8] != ' ' ||
	    !isdigit((unsigned char)l[9]) || !isdigit((unsigned char)l[10]) ||
	    !isdigit((unsigned char)l[11]) || (n > 12 && l[12] != ' '))
		return md_err_set(err, MD_EPARSE, "http", "not an HTTP/1.x status line: \"%.*s\"",
				  (int)(n < 60 ? n : 60), l);
	h->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	if (h->status < 100)
		return md_err_set(err, MD_EPARSE, "http", "status %d out of range", h->status);
	r = n > 13 ? n - 13 : 0;
	snprintf(h->reason, sizeof(h->reason), "%.*s", (int)r, r ? l + 13 : "");
	return MD_OK;
}

static bool name_is(const char *l, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n == k && strncasecmp(l, name, k) == 0;
}

static int parse_header(const char *l, size_t n, struct head *h, struct md_err *err)
{
	const char *colon = memchr(l, ':', n);
	const char *v;
	size_t vn, name_n;

	if (!colon || colon == l || l[0] == ' ' || l[0] == '\t')
		return md_err_set(err, MD_EPARSE, "http", "malformed header line \"%.*s\"",
				  (int)(n < 60 ? n : 60), l);
	name_n = (size_t)(colon - l);
	v = colon + 1;
	vn = n - name_n - 1;
	while (vn && (*v == ' ' || *v == '\t'))
		v++, vn--;
	while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
		vn--;
	if (name_is(l, name_n, "content-type")) {
		snprintf(h->content_type, sizeof(h->content_type), "%.*s", (int)vn, v);
	} else if (name_is(l, name_n, "transfer-encoding")) {
		/* chunked must be the last coding (RFC 9112 section 6.1) */
		h->chunked = vn >= 7 && strncasecmp(v + vn - 7, "chunked", 7) == 0;
	} else if (name_is(l, name_n, "content-length")) {
		uint64_t x = 0;

		if (vn == 0 || vn > 18)
			return md_err_set(err, MD_EPARSE, "http", "bad Content-Length \"%.*s\"", (int)(vn < 40 ? vn : 40), v);
		for (size_t i = 0; i < vn; i++) {
			if (!isdigit((unsigned char)v[i]))
				return md_err_set(err, MD_EPARSE, "http", "bad Content-Length \"%.*s\"",
						  (int)(vn < 40 ? vn : 40), v);
			x = x * 10 + (uint64_t)(v[i] - '0');
		}
		if (h->have_length && x != h->length)
			return md_err_set(err, MD_EPARSE, "http", "two different Content-Length headers");
		h->have_length = true;
		h->length = x;
	}
	return MD_OK;
}

/* The head from *pos: status line and headers up to the empty line.  *more when the
 * empty line has not arrived. */
static int parse_head(const char *raw, size_t len, size_t *pos, struct head *h, bool *more,
		      struct md_err *err)
{
	const char *l;
	size_t n;
	int rc;

	memset(h, 0, sizeof(*h));
	if (!next_line(raw, len, pos, &l, &n))
		return *more = true, MD_OK;
	rc = parse_status_line(l, n, h, err);
	while (rc == MD_OK) {
		if (!next_line(raw, len, pos, &l, &n))
			return *more = true, MD_OK;
		if (n == 0)
			return MD_OK;
		rc = parse_header(l, n, h, err);
	}
	return rc;
}

/* Removes the chunked coding from raw[pos..len) into out: MD_OK with *more while the last
 * chunk or the trailers have not arrived. */
static int dechunk(const char *raw, size_t len, size_t pos, struct md_buf *out, bool *more,
		   struct md_err *err)
{
	for (;;) {
		const char *l;
		size_t n, hex = 0;
		uint64_t size = 0;

		if (!next_line(raw, len, &pos, &l, &n))
			return *more = true, MD_OK;
		while (hex < n && isxdigit((unsigned char)l[hex])) {
			if (hex >= 15)
				return md_err_set(err, MD_EPARSE, "http", "chunk size too long");
			size = size * 16 + (uint64_t)(isdigit((unsigned char)l[hex]) ? l[hex] - '0'
						      : (tolower((unsigned char)l[hex]) - 'a' + 10));
			hex++;
		}
		if (hex == 0 || (hex < n && l[hex] != ';' && l[hex] != ' ' && l[hex] != '\t'))
			return md_err_set(err, MD_EPARSE, "http", "bad chunk size line \"%.*s\"",
					  (int)(n < 40 ? n : 40), l);
		if (size == 0)
			break;
		if (size > len - pos || len - pos - size < 1)
			return *more = true, MD_OK;
		if (md_buf_append(out, raw + pos, (size_t)size) != MD_OK)
			return md_err_set(err, MD_ENOMEM, "http", "out of memory");
		pos += (size_t)size;
		if (raw[pos] == '\r')
			pos++;
		if (pos >= len)
			return *more = true, MD_OK;
		if (raw[pos] != '\n')
			return md_err_set(err, MD_EPARSE, "http", "no line end after a chunk's data");
		pos++;
	}
	for (;;) { /* trailers, up to the empty line */
		const char *l;
		size_t n;

		if (!next_line(raw, len, &pos, &l, &n))
			return *more = true, MD_OK;
		if (n == 0)
			return MD_OK;
	}
}

static int take_body(const char *raw, size_t len, size_t pos, bool eof, const struct head *h,
		     struct md_buf *body, bool *more, struct md_err *err)
{
	bool none = h->status == 204 || h->status == 304;

	if (none)
		return MD_OK;
	if (h->chunked)
		return dechunk(raw, len, pos, body, more, err);
	if (h->have_length) {
		if (h->length > len - pos)
			return *more = true, MD_OK;
		len = pos + (size_t)h->length;
	} else if (!eof) {
		return *more = true, MD_OK;
	}
	if (md_buf_append(body, raw + pos, len - pos) != MD_OK)
		return md_err_set(err, MD_ENOMEM, "http", "out of memory");
	return MD_OK;
}

int md_http_parse_response(const char *raw, size_t len, bool eof, struct md_http_response *r,
			   bool *more, struct md_err *err)
{
	struct head h;
	struct md_buf body;
	size_t pos = 0;
	int rc = MD_OK;

	*more = false;
	md_buf_init(&body, 0);
	for (int i = 0; i <= MAX_INTERIM; i++) {
		rc = parse_head(raw, len, &pos, &h, more, err);
		if (rc != MD_OK || *more || h.status >= 200)
			break;
	}
	if (rc == MD_OK && !*more && h.status < 200)
		rc = md_err_set(err, MD_EPARSE, "http", "more than %d interim (1xx) responses", MAX_INTERIM);
	if (rc == MD_OK && !*more)
		rc = take_body(raw, len, pos, eof, &h, &body, more, err);
	if (rc == MD_OK && *more && eof) {
		*more = false;
		rc = md_err_set(err, MD_EPARSE, "http", len ? "the connection closed after %zu bytes, in the "
				"middle of the response" : "the connection closed without a response", len);
	}
	if (rc == MD_OK && !*more) {
		if (md_buf_append(&body, "", 0) != MD_OK) {
			md_buf_cleanup(&body);
			return md_err_set(err, MD_ENOMEM, "http", "out of memory");
		}
		md_http_response_cleanup(r);
		r->status = h.status;
		memcpy(r->reason, h.reason, sizeof(r->reason));
		memcpy(r->content_type, h.content_type, sizeof(r->content_type));
		r->body_len = body.len;
		r->body = md_buf_steal(&body);
		if (!r->body)
			r->body = calloc(1, 1);
		if (!r->body)
			rc = md_err_set(err, MD_ENOMEM, "http", "out of memory");
	}
	md_buf_cleanup(&body);
	return rc;
}

/* ==== the I/O ========================================================================== */

struct conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	const char *peer;
	const struct md_deadline *dl;
};

void md_http_result_init(struct md_http_result *r)
{
	memset(r, 0, sizeof(*r));
	r->stage = "resolve";
	md_http_response_init(&r->resp);
}

void md_http_result_cleanup(struct md_http_result *r)
{
	md_http_response_cleanup(&r->resp);
	md_http_result_init(r);
}

static void conn_close(struct conn *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->ctx)
		SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
}

/* Waits as OpenSSL asks (want = SSL_get_error()); MD_OK to retry, MD_ETIMEOUT. */
static int ssl_wait(struct conn *c, int want)
{
	return md_net_wait(c->fd, want == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, c->dl);
}

static void ssl_error_text(SSL *ssl, int se, char *out, size_t len)
{
	unsigned long e = ERR_peek_last_error();
	long v = SSL_get_verify_result(ssl);

	if (v != X509_V_OK)
		snprintf(out, len, "certificate verify failed: %s", X509_verify_cert_error_string(v));
	else if (e)
		snprintf(out, len, "%s", ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "TLS error");
	else if (se == SSL_ERROR_SYSCALL || se == SSL_ERROR_ZERO_RETURN)
		snprintf(out, len, "the connection closed during the TLS handshake");
	else
		snprintf(out, len, "TLS handshake failed (SSL_get_error %d)", se);
	ERR_clear_error();
}

static int tls_start(struct conn *c, const char *host, const char *ca_file, struct md_err *err)
{
	char why[256];

	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx || !(c->ssl = SSL_new(c->ctx)))
		return md_err_set(err, MD_ENOMEM, "tls", "cannot set up TLS (OpenSSL)");
	SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
	if (ca_file ? SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL) != 1
		    : SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
		ERR_clear_error();
		return md_err_set(err, MD_EIO, "tls", "cannot load CA certificates%s%s", ca_file ? " from " : "",
				  ca_file ? ca_file : "");
	}
	SSL_set_fd(c->ssl, c->fd);
	if (md_net_is_ip_literal(host)) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), host);
	} else {
		SSL_set_tlsext_host_name(c->ssl, host);
		SSL_set1_host(c->ssl, host);
	}
	for (;;) {
		int r = SSL_connect(c->ssl), se;

		if (r == 1)
			return MD_OK;
		se = SSL_get_error(c->ssl, r);
		if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE) {
			if (ssl_wait(c, se) != MD_OK)
				return md_err_set(err, MD_ETIMEOUT, "tls", "TLS handshake with %s: no answer before the deadline",
						  c->peer);
			continue;
		}
		ssl_error_text(c->ssl, se, why, sizeof(why));
		return md_err_set(err, MD_EPROTO, "tls", "TLS handshake with %s: %s", c->peer, why);
	}
}

static int conn_write(struct conn *c, const char *p, size_t n, struct md_err *err)
{
	while (n > 0) {
		ssize_t w;

		if (c->ssl) {
			int r = SSL_write(c->ssl, p, (int)n), se;

			if (r > 0) {
				p += r, n -= (size_t)r;
				continue;
			}
			se = SSL_get_error(c->ssl, r);
			if ((se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE) && ssl_wait(c, se) == MD_OK)
				continue;
			return md_err_set(err, se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE ? MD_ETIMEOUT : MD_EIO,
					  "send", "sending the request to %s failed", c->peer);
		}
		w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w, n -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (md_net_wait(c->fd, POLLOUT, c->dl) != MD_OK)
				return md_err_set(err, MD_ETIMEOUT, "send", "sending the request to %s: deadline passed", c->peer);
		} else {
			return md_err_set(err, MD_EIO, "send", "send to %s: %s", c->peer, strerror(errno));
		}
	}
	return MD_OK;
}

/* Reads what is there into buf: > 0 bytes read, 0 at the end, < 0 an MD_ error. */
static long conn_read(struct conn *c, char *buf, size_t n, struct md_err *err)
{
	for (;;) {
		ssize_t r;

		if (c->ssl) {
			int k = SSL_read(c->ssl, buf, (int)n), se;

			if (k > 0)
				return k;
			se = SSL_get_error(c->ssl, k);
			if (se == SSL_ERROR_ZERO_RETURN || (se == SSL_ERROR_SYSCALL && ERR_peek_error() == 0))
				return 0; /* close_notify, or the peer closed the TCP connection */
			if (se != SSL_ERROR_WANT_READ && se != SSL_ERROR_WANT_WRITE) {
				ERR_clear_error();
				return md_err_set(err, MD_EIO, "receive", "reading from %s: TLS error", c->peer);
			}
			if (ssl_wait(c, se) != MD_OK)
				return md_err_set(err, MD_ETIMEOUT, "receive", "%s: no (complete) answer before the deadline", c->peer);
			continue;
		}
		r = recv(c->fd, buf, n, 0);
		if (r >= 0)
			return (long)r;
		if (errno != EAGAIN && errno != EINTR)
			return md_err_set(err, md_net_classify_errno(errno) == MD_EREFUSED ? MD_EREFUSED : MD_EIO,
					  "receive", "recv from %s: %s", c->peer, strerror(errno));
		if (md_net_wait(c->fd, POLLIN, c->dl) != MD_OK)
			return md_err_set(err, MD_ETIMEOUT, "receive", "%s: no (complete) answer before the deadline", c->peer);
	}
}

static int exchange(struct conn *c, const struct md_http_url *u, const char *path,
		    struct md_http_result *res, struct md_err *err)
{
	struct md_buf req, in;
	char chunk[4096];
	bool more = true, v6 = strchr(u->host, ':') != NULL;
	int rc;

	md_buf_init(&req, 0);
	md_buf_init(&in, MD_HTTP_MAX_RESPONSE);
	rc = md_buf_printf(&req, "GET %s%s HTTP/1.1\r\nHost: %s%s%s", u->path, path, v6 ? "[" : "", u->host,
			   v6 ? "]" : "");
	if (rc == MD_OK && u->port != (u->https ? 443 : 80))
		rc = md_buf_printf(&req, ":%d", u->port);
	if (rc == MD_OK)
		rc = md_buf_puts(&req, "\r\nUser-Agent: meshdoctor/" MD_VERSION "\r\nAccept: */*\r\n"
				 "Connection: close\r\n\r\n");
	if (rc != MD_OK) {
		rc = md_err_set(err, MD_ENOMEM, "http", "out of memory");
		goto out;
	}
	res->stage = "send";
	rc = conn_write(c, req.data, req.len, err);
	res->stage = "receive";
	while (rc == MD_OK && more) {
		long n = conn_read(c, chunk, sizeof(chunk), err);

		if (n < 0) {
			rc = (int)n;
			break;
		}
		if (n > 0 && md_buf_append(&in, chunk, (size_t)n) != MD_OK) {
			rc = md_err_set(err, MD_ETOOBIG, "receive", "%s: the response is over %u bytes", c->peer,
					MD_HTTP_MAX_RESPONSE);
			break;
		}
		rc = md_http_parse_response(in.data ? in.data : "", in.len, n == 0, &res->resp, &more, err);
		if (rc == MD_EPARSE) {
			struct md_err e2 = *err;

			md_err_clear(err);
			rc = md_err_set(err, MD_EPROTO, "receive", "%s: %s", c->peer, e2.msg);
		}
	}
	if (rc == MD_OK)
		res->stage = "done";
out:
	md_buf_cleanup(&req);
	md_buf_cleanup(&in);
	return rc;
}

int md_http_get(const struct md_http_url *u, const char *path, const char *ca_file,
		const struct md_deadline *dl, struct md_http_result *res, struct md_err *err)
{
	struct conn c = { .fd = -1, .dl = dl };
	struct md_addr peer;
	int64_t t0 = md_now_ms();
	int rc;

	memset(&peer, 0, sizeof(peer));
	res->stage = "connect";
	rc = md_net_connect_tcp(u->host, u->port, dl, &c.fd, &peer, err);
	if (rc != MD_OK) {
		if (rc == MD_ERESOLVE || md_net_resolve_timed_out(rc, err))
			res->stage = "resolve";
		goto out;
	}
	snprintf(res->peer, sizeof(res->peer), "%s", peer.text);
	c.peer = res->peer;
	if (fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK) < 0) {
		rc = md_err_set(err, MD_EIO, "connect", "fcntl: %s", strerror(errno));
		goto out;
	}
	if (u->https) {
		res->stage = "tls";
		rc = tls_start(&c, u->host, ca_file, err);
	}
	if (rc == MD_OK)
		rc = exchange(&c, u, path, res, err);
out:
	conn_close(&c);
	res->ms = md_now_ms() - t0;
	return rc;
}
