/* tls_handshake.c — the TLS probe's handshake from this machine (OpenSSL), on its own
 * thread or the caller's: TCP under the deadline, a ClientHello with SNI and ALPN h2 /
 * http/1.1, the trust store loaded while it is in flight, and the outcome classified into
 * struct hs (probes/tls_internal.h) with its exact evidence.  probes/tls.c records it. */

#include "probes/tls_internal.h"

#include "core/text.h"
#include "core/net.h"
#include "probes/tls.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int verify_idx = -1;
static pthread_once_t verify_once = PTHREAD_ONCE_INIT;

static void verify_idx_init(void)
{
	verify_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* Keeps going whatever the chain looks like (we want the certificate's details either
 * way) and remembers the first problem: with several, the first is the root of it. */
static int verify_cb(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct hs *h = ssl ? SSL_get_ex_data(ssl, verify_idx) : NULL;

	if (!ok && h && h->verify_code == X509_V_OK) {
		h->verify_code = X509_STORE_CTX_get_error(x);
		h->verify_depth = X509_STORE_CTX_get_error_depth(x);
	}
	return 1;
}

/* True when dir holds OpenSSL hash links ("5ad8a5d6.0", made by c_rehash /
 * update-ca-certificates). */
static bool has_hash_links(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	while (d && !found && (e = readdir(d))) {
		size_t n = strspn(e->d_name, "0123456789abcdef");

		found = n == 8 && e->d_name[8] == '.' && isdigit((unsigned char)e->d_name[9]);
	}
	if (d)
		closedir(d);
	return found;
}

/* The bundle file of the system store: SSL_CERT_FILE, else OpenSSL's default. */
static const char *bundle_file(void)
{
	const char *f = getenv(X509_get_default_cert_file_env());

	return f ? f : X509_get_default_cert_file();
}

/* The system's trust store.  SSL_CTX_set_default_verify_paths() parses the whole CA
 * bundle up front (Debian: /etc/ssl/certs/ca-certificates.crt, ~140 certificates, tens
 * of milliseconds — most of what `openssl s_client` spends on a check).  The hashed
 * directory (SSL_CERT_DIR, else OpenSSL's default) holds the same CAs and OpenSSL reads
 * from it only the issuer it needs (X509_LOOKUP_hash_dir), so it is tried first; the
 * bundle is read only if the issuer is not found there (trust_verify). */
static void system_trust(struct hs *h)
{
	const char *dir = getenv(X509_get_default_cert_dir_env());

	if (!dir)
		dir = X509_get_default_cert_dir();
	if (has_hash_links(dir) && SSL_CTX_load_verify_dir(h->ctx, dir) == 1) {
		h->trust_lazy = true;
		return;
	}
	ERR_clear_error();
	SSL_CTX_set_default_verify_paths(h->ctx);
}

/* Loads the trust store (--ca, else the system's) into the context, once.  Called when the
 * ClientHello is out and the client waits for the server, so reading the CA file overlaps
 * the round trip and the server's key exchange instead of delaying the ClientHello.  The
 * store is consulted only when the server's certificate is verified, and trust_verify()
 * below makes sure it is loaded by then whatever the timing. */
static void load_trust(struct hs *h)
{
	if (h->trust_loaded)
		return;
	h->trust_loaded = true;
	if (!h->ca_file) {
		system_trust(h);
		return;
	}
	if (SSL_CTX_load_verify_locations(h->ctx, h->ca_file, NULL) != 1) {
		char t[200];

		ERR_error_string_n(ERR_get_error(), t, sizeof(t));
		ERR_clear_error();
		snprintf(h->trust_err, sizeof(h->trust_err), "load --ca %s: %s", h->ca_file, t);
	}
}

static bool issuer_missing(int e)
{
	return e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	       e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
	       e == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE ||
	       e == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
	       e == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT;
}

/* OpenSSL's certificate check (SSL_CTX_set_cert_verify_callback), with the trust store
 * made sure of first; when only the hashed directory was used and it lacks the issuer,
 * the bundle file is read and the chain verified once more. */
static int trust_verify(X509_STORE_CTX *x, void *arg)
{
	struct hs *h = arg;
	X509_STORE_CTX *again;
	int ok;

	load_trust(h);
	ok = X509_verify_cert(x);
	if (!h->trust_lazy || !issuer_missing(h->verify_code))
		return ok;
	h->trust_lazy = false;
	if (X509_STORE_load_file(SSL_CTX_get_cert_store(h->ctx), bundle_file()) != 1) {
		ERR_clear_error();
		return ok;
	}
	again = X509_STORE_CTX_new();
	if (!again ||
	    !X509_STORE_CTX_init(again, SSL_CTX_get_cert_store(h->ctx), X509_STORE_CTX_get0_cert(x),
				 X509_STORE_CTX_get0_untrusted(x))) {
		X509_STORE_CTX_free(again);
		return ok;
	}
	X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(again), X509_STORE_CTX_get0_param(x));
	X509_STORE_CTX_set_verify_cb(again, verify_cb);
	X509_STORE_CTX_set_ex_data(again, SSL_get_ex_data_X509_STORE_CTX_idx(),
				   X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx()));
	h->verify_code = X509_V_OK;
	h->verify_depth = 0;
	ok = X509_verify_cert(again);
	X509_STORE_CTX_set_error(x, X509_STORE_CTX_get_error(again));
	X509_STORE_CTX_free(again);
	ERR_clear_error();
	return ok;
}

void md_tls_name_text(const X509_NAME *n, char *out, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long got;

	out[0] = '\0';
	if (!b)
		return;
	X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	got = BIO_get_mem_data(b, &p);
	if (got > 0)
		snprintf(out, len, "%.*s", (int)got, p);
	BIO_free(b);
}

void md_tls_sans_text(X509 *cert, char *out, size_t len)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	size_t off = 0;

	out[0] = '\0';
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char item[300] = "";

		if (g->type == GEN_DNS) {
			snprintf(item, sizeof(item), "DNS:%.*s", ASN1_STRING_length(g->d.dNSName),
				 (const char *)ASN1_STRING_get0_data(g->d.dNSName));
		} else if (g->type == GEN_IPADD) {
			const unsigned char *ip = ASN1_STRING_get0_data(g->d.iPAddress);
			int n = ASN1_STRING_length(g->d.iPAddress);
			char t[64] = "?";

			if (n == 4)
				inet_ntop(AF_INET, ip, t, sizeof(t));
			else if (n == 16)
				inet_ntop(AF_INET6, ip, t, sizeof(t));
			snprintf(item, sizeof(item), "IP:%s", t);
		} else {
			continue;
		}
		if (off < len)
			off += (size_t)snprintf(out + off, len - off, "%s%s", off ? ", " : "", item);
	}
	GENERAL_NAMES_free(gens);
}

static void cert_details(struct hs *h, SSL *ssl)
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	const ASN1_TIME *na;
	struct tm tm;
	int days = 0, secs = 0;

	if (!cert)
		return;
	h->have_cert = true;
	md_tls_name_text(X509_get_subject_name(cert), h->subject, sizeof(h->subject));
	md_tls_name_text(X509_get_issuer_name(cert), h->issuer, sizeof(h->issuer));
	md_tls_sans_text(cert, h->sans, sizeof(h->sans));
	na = X509_get0_notAfter(cert);
	if (ASN1_TIME_to_tm(na, &tm) == 1)
		strftime(h->not_after, sizeof(h->not_after), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (ASN1_TIME_diff(&days, &secs, NULL, na) == 1)
		h->days_left = md_tls_days_left(days, secs); /* negative once expired */
	X509_free(cert);
}

/* Text of the first error on this thread's OpenSSL queue, and its alert if it is one. */
static void ssl_error_text(struct hs *h, int ssl_err, int sys_errno, char *out, size_t len)
{
	unsigned long e = ERR_get_error();

	out[0] = '\0';
	if (e) {
		int reason = ERR_GET_REASON(e);
		const char *rs = ERR_reason_error_string(e);

		ERR_error_string_n(e, out, len);
		/* OpenSSL reports a received fatal alert as reason SSL_AD_REASON_OFFSET + the
		 * alert number (<openssl/ssl.h>; 1080 = SSL_R_TLSV1_ALERT_INTERNAL_ERROR in
		 * <openssl/sslerr.h>). */
		if (ERR_GET_LIB(e) == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET &&
		    reason < SSL_AD_REASON_OFFSET + 256) {
			h->alert = reason - SSL_AD_REASON_OFFSET;
			md_copy_str(h->alert_text, sizeof(h->alert_text), rs);
		}
		ERR_clear_error();
		return;
	}
	if (ssl_err == SSL_ERROR_SYSCALL && sys_errno)
		snprintf(out, len, "%s", strerror(sys_errno));
	else if (ssl_err == SSL_ERROR_SYSCALL || ssl_err == SSL_ERROR_ZERO_RETURN)
		snprintf(out, len, "the server closed the connection during the handshake");
	else
		snprintf(out, len, "SSL_connect failed (SSL_get_error %d)", ssl_err);
}

/* A timeout within less than STEP_MIN_MS tells nothing about the server: the deadline was
 * spent before the handshake started (docs/tls.md#when-the-deadline-runs-short). */
static void deadline_spent(struct hs *h)
{
	char was[sizeof(h->hs_ev)];

	if (h->budget_ms >= STEP_MIN_MS)
		return;
	if (strcmp(h->tcp, "timeout") == 0) {
		md_copy_str(h->tcp, sizeof(h->tcp), "skipped");
		snprintf(h->tcp_ev, sizeof(h->tcp_ev), "deadline spent: %lld ms were left for the "
			 "connection to %.200s:%d (less than %d ms)", (long long)h->budget_ms, h->host,
			 h->port, STEP_MIN_MS);
		snprintf(h->hs_ev, sizeof(h->hs_ev), "%s", h->tcp_ev);
	} else if (strcmp(h->handshake, "timeout") == 0) {
		md_copy_str(was, sizeof(was), h->hs_ev);
		md_copy_str(h->handshake, sizeof(h->handshake), "skipped");
		snprintf(h->hs_ev, sizeof(h->hs_ev), "deadline spent: %lld ms were left for the "
			 "handshake (less than %d ms): %.400s", (long long)h->budget_ms, STEP_MIN_MS,
			 was);
	}
}

/* TCP to h->host:h->port.  False, with tcp/handshake and their evidence recorded, when no
 * connection was made. */
static bool tcp_step(struct hs *h, int *fd, struct md_addr *peer, int64_t t0)
{
	struct md_err e = { 0 };
	int rc = md_net_connect_tcp(h->host, h->port, &h->dl, fd, peer, &e);

	md_copy_str(h->addr, sizeof(h->addr), peer->text[0] ? peer->text : "");
	if (rc != MD_OK) {
		const char *v = rc == MD_EREFUSED ? "refused"
			      : md_net_resolve_timed_out(rc, &e) ? "resolve-timeout"
			      : rc == MD_ETIMEOUT ? "timeout"
			      : rc == MD_EUNREACH ? "unreachable" : rc == MD_ERESOLVE ? "resolve-failed"
			      : "error";

		md_copy_str(h->tcp, sizeof(h->tcp), v);
		md_copy_str(h->tcp_ev, sizeof(h->tcp_ev), e.msg);
		md_copy_str(h->handshake, sizeof(h->handshake), "skipped");
		snprintf(h->hs_ev, sizeof(h->hs_ev), "no TCP connection: %s", e.msg);
		return false;
	}
	md_copy_str(h->tcp, sizeof(h->tcp), "connected");
	snprintf(h->tcp_ev, sizeof(h->tcp_ev), "connect %s: TCP connection accepted in %lld ms",
		 peer->text, (long long)(md_now_ms() - t0));
	fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) | O_NONBLOCK);
	return true;
}

/* The client's context and connection on fd: ALPN h2 and http/1.1, the SNI, the name or
 * address to verify, our verify callbacks.  NULL (h->ctx still to free) when OpenSSL
 * could not set up. */
static SSL *ssl_setup(struct hs *h, int fd)
{
	static const unsigned char alpn[] = "\x02h2\x08http/1.1";
	SSL *ssl;

	h->ctx = SSL_CTX_new(TLS_client_method());
	if (!h->ctx)
		return NULL;
	SSL_CTX_set_verify(h->ctx, SSL_VERIFY_PEER, verify_cb);
	SSL_CTX_set_cert_verify_callback(h->ctx, trust_verify, h);
	ssl = SSL_new(h->ctx);
	if (!ssl)
		return NULL;
	SSL_set_ex_data(ssl, verify_idx, h);
	SSL_set_fd(ssl, fd);
	SSL_set_alpn_protos(ssl, alpn, sizeof(alpn) - 1);
	if (h->sni[0])
		SSL_set_tlsext_host_name(ssl, h->sni);
	if (h->verify_name[0]) {
		if (md_net_is_ip_literal(h->verify_name))
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), h->verify_name);
		else
			SSL_set1_host(ssl, h->verify_name);
	}
	return ssl;
}

/* A failed SSL_connect(): an alert from the server, or another error. */
static void record_ssl_failure(struct hs *h, SSL *ssl, int r, const char *peer)
{
	int se = SSL_get_error(ssl, r);
	int sys = errno;
	char t[300];

	ssl_error_text(h, se, sys, t, sizeof(t));
	if (h->alert >= 0) {
		md_copy_str(h->handshake, sizeof(h->handshake), "alert");
		snprintf(h->hs_ev, sizeof(h->hs_ev),
			 "%s: the server sent a fatal alert: %s (SSL alert number %d)", peer, t,
			 h->alert);
	} else {
		md_copy_str(h->handshake, sizeof(h->handshake), "error");
		snprintf(h->hs_ev, sizeof(h->hs_ev), "%s: %s", peer, t);
	}
}

/* SSL_connect() on the non-blocking socket until it completes, fails or the deadline
 * passes.  True when the handshake completed; otherwise handshake and its evidence are
 * recorded. */
static bool connect_until_done(struct hs *h, SSL *ssl, int fd, const char *peer, int64_t t0)
{
	for (;;) {
		int r = SSL_connect(ssl), se, pr;
		struct pollfd p = { .fd = fd };

		if (r == 1)
			return true;
		se = SSL_get_error(ssl, r);
		if (se != SSL_ERROR_WANT_READ && se != SSL_ERROR_WANT_WRITE) {
			record_ssl_failure(h, ssl, r, peer);
			return false;
		}
		if (se == SSL_ERROR_WANT_READ)
			load_trust(h);
		p.events = se == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		pr = poll(&p, 1, md_deadline_poll_ms(&h->dl));
		if (pr > 0 || (pr < 0 && errno == EINTR))
			continue;
		/* TCP accepted, but no ServerHello (or the rest) before the deadline: the
		 * seed's `curl: (28)` after "Client hello (1)". */
		md_copy_str(h->handshake, sizeof(h->handshake), "timeout");
		snprintf(h->hs_ev, sizeof(h->hs_ev),
			 "TCP connected to %s, ClientHello sent (SNI %s), no answer within %lld ms "
			 "(OpenSSL state: %s)",
			 peer, h->sni[0] ? h->sni : "none", (long long)(md_now_ms() - t0),
			 SSL_state_string_long(ssl));
		return false;
	}
}

/* Completed: what was agreed and what the certificate says. */
static void record_completed(struct hs *h, SSL *ssl, const char *peer)
{
	const unsigned char *ap = NULL;
	unsigned int al = 0;
	bool ok;

	md_copy_str(h->protocol, sizeof(h->protocol), SSL_get_version(ssl));
	md_copy_str(h->cipher, sizeof(h->cipher), SSL_get_cipher_name(ssl));
	SSL_get0_alpn_selected(ssl, &ap, &al);
	if (al)
		snprintf(h->alpn, sizeof(h->alpn), "%.*s", (int)al, ap);
	else
		md_copy_str(h->alpn, sizeof(h->alpn), "none");
	cert_details(h, ssl);
	if (h->verify_code == X509_V_OK)
		h->verify_code = SSL_get_verify_result(ssl);
	ok = h->verify_code == X509_V_OK;
	md_copy_str(h->verify_text, sizeof(h->verify_text),
		 X509_verify_cert_error_string(h->verify_code));
	md_copy_str(h->handshake, sizeof(h->handshake), ok ? "ok" : "verify-failed");
	snprintf(h->hs_ev, sizeof(h->hs_ev), "%s: %s %s, ALPN %s, certificate %s%s%s", peer,
		 h->protocol, h->cipher, h->alpn, ok ? "verified" : "not verified: ",
		 ok ? "" : h->verify_text, h->ca_file ? " (against --ca)" : "");
	SSL_shutdown(ssl); /* one close_notify; never wait for the answer */
}

static void handshake(struct hs *h)
{
	struct md_addr peer = { 0 };
	SSL *ssl = NULL;
	int fd = -1;
	int64_t t0 = md_now_ms();

	pthread_once(&verify_once, verify_idx_init);
	h->alert = -1;
	h->verify_code = X509_V_OK;
	h->budget_ms = md_deadline_left_ms(&h->dl);
	if (!tcp_step(h, &fd, &peer, t0))
		goto out;
	ssl = ssl_setup(h, fd);
	if (!ssl) {
		md_copy_str(h->handshake, sizeof(h->handshake), "error");
		snprintf(h->hs_ev, sizeof(h->hs_ev), "OpenSSL set-up failed");
		goto out;
	}
	if (!connect_until_done(h, ssl, fd, peer.text, t0))
		goto out;
	if (h->trust_err[0]) {
		md_copy_str(h->handshake, sizeof(h->handshake), "error");
		md_copy_str(h->hs_ev, sizeof(h->hs_ev), h->trust_err);
		goto out;
	}
	record_completed(h, ssl, peer.text);
out:
	h->ms = md_now_ms() - t0;
	deadline_spent(h);
	SSL_free(ssl);
	SSL_CTX_free(h->ctx);
	h->ctx = NULL;
	if (fd >= 0)
		close(fd);
	ERR_clear_error();
}

void *tls_handshake_thread(void *arg)
{
	sigset_t set;

	/* A write to a socket the server already closed raises SIGPIPE in this thread:
	 * block it here so it can never end the process (the error comes back as EPIPE). */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	handshake(arg);
	ERR_clear_error();
	return NULL;
}

/* The handshake on the calling thread, with SIGPIPE held back for its duration (as in
 * tls_handshake_thread) and any SIGPIPE it raised discarded before the mask is restored. */
void tls_handshake_inline(struct hs *h)
{
	sigset_t set, old;
	struct timespec zero = { 0, 0 };

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	handshake(h);
	while (sigtimedwait(&set, NULL, &zero) == SIGPIPE)
		;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	ERR_clear_error();
}
