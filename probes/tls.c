/* tls.c — the TLS probe: does HTTPS on the target complete, and if not, why.
 *
 * From this machine: a TLS handshake (OpenSSL) to host:443 (--tls-port, --tls-host) with
 * SNI (--sni, else the MagicDNS name, else the target's name), offering ALPN h2 and
 * http/1.1 and verifying against the system store or --ca.  The outcome is classified,
 * with the exact evidence: TCP refused / no answer; TCP accepted but no ServerHello before
 * the deadline; an alert from the server (`internal_error`, which OpenSSL prints as
 * `tlsv1 alert internal error`); a certificate that is expired, not yet valid, for another
 * name, untrusted or self-signed; or success with protocol, cipher, ALPN, names and days
 * left.  The handshake runs in its own thread under the probe's deadline, so a silent
 * server costs the deadline and nothing more, while the SSH steps below run beside it.
 *
 * Over the SSH session, for `tailscale serve` (seeds/004_3ac6a098e1c6561c.txt): the
 * Tailscale state comes from the tailscale probe (probes/tailscale.c), whose facts this
 * probe waits for before the handshake (the MagicDNS name is the SNI; the serve
 * configuration says whether HTTPS is expected).  This probe asks the host itself whether
 * the serve backend answers HTTP (curl, else wget) and whether the tailnet can issue a
 * certificate (`tailscale cert` under a hard limit on the host: ok / failed with its
 * message / hang): through core/hostbatch on POSIX hosts, through the PowerShell limit
 * script (core/hostcmd.h) on Windows.  Classifiers are split out (probes/tls.h) and
 * unit-tested. */
#include "probes/tls.h"

#include "core/hostbatch.h"
#include "probes/tailscale.h"

#include "core/buf.h"
#include "core/deadline.h"
#include "core/facts.h"
#include "core/hostcmd.h"
#include "core/net.h"
#include "core/session.h"
#include "probes/probe.h"

#include <arpa/inet.h>
#include <cJSON.h>
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

#define PROBE "tls"

/* `tailscale cert` gets at most this long: in the seed it "hangs indefinitely", and a
 * working tailnet answers "in <5 seconds" (seeds/004, Resolution step 3). */
#define CERT_MAX_MS 4000
#define BACKEND_MAX_S 3
/* A step with less than this left is not started (a remote command) or, for the handshake,
 * a timeout within it is not taken for one: it is recorded as `skipped`, "deadline spent".
 * The host-side limit counts whole seconds, and a wait this short says nothing about a
 * server or a CLI that hangs. */
#define STEP_MIN_MS 1000
/* Without any deadline the handshake still ends. */
#define HANDSHAKE_DEFAULT_MS 10000

/* ==== classifiers ===================================================================== */

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

/* First non-empty line of s into out. */
static void first_line(const char *s, char *out, size_t len)
{
	out[0] = '\0';
	while (s && *s) {
		size_t n = strcspn(s, "\r\n");

		if (n) {
			snprintf(out, len, "%.*s", (int)n, s);
			return;
		}
		s += strspn(s, "\r\n");
	}
}

/* Remote text (a serve Proxy, a name from the status) for evidence: printable ASCII kept,
 * anything else as \xNN, so that it can neither end a line nor drive a terminal. */
static void printable(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 5 < len; in++) {
		unsigned char c = (unsigned char)*in;

		if (c >= ' ' && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

const char *md_tls_classify_cert(bool ended_by_limit, int exit_status, const char *out,
				 const char *err, char *msg, size_t msg_len)
{
	msg[0] = '\0';
	if (ended_by_limit) {
		snprintf(msg, msg_len, "no result within the limit (ended on the host)");
		return "hang";
	}
	if (exit_status == 0 && out && strstr(out, "-----BEGIN CERTIFICATE-----")) {
		snprintf(msg, msg_len, "certificate issued");
		return "ok";
	}
	first_line(err, msg, msg_len);
	if (!msg[0])
		first_line(out, msg, msg_len);
	if (!msg[0])
		snprintf(msg, msg_len, "exit status %d", exit_status);
	/* A non-operator gets 403, shown as `Access denied: cert access denied`
	 * (docs/tailscale.md#permissions). */
	if (strstr(msg, "Access denied") || strstr(msg, "access denied"))
		return "denied";
	return "failed";
}

/* RFC 1123 host names: labels of letters, digits and '-', not at either end of a label, at
 * most 63 characters each and 253 in all.  This is what MagicDNS names are made of, and
 * nothing in it means anything to sh, cmd.exe or PowerShell. */
bool md_tls_dns_name_ok(const char *name)
{
	size_t label = 0, total = strlen(name);

	if (total == 0 || total > 253)
		return false;
	for (const char *p = name; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '.') {
			if (label == 0 || p[-1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && name[total - 1] != '-';
}

/* Whole days from now to notAfter, rounded down: 0 while less than a day is left, -1 from
 * the moment it expired until a day later.  ASN1_TIME_diff() gives days and seconds with
 * the same sign, so truncating would call a certificate that expired hours ago 0. */
int md_tls_days_left(int days, int secs)
{
	int64_t t = (int64_t)days * 86400 + secs;

	return (int)(t >= 0 ? t / 86400 : -((-t + 86399) / 86400));
}

const char *md_tls_classify_backend(int exit_status, const char *out, int *http_code)
{
	char *end;
	long code;

	(void)exit_status; /* curl exits 28 on timeout, 7 on refused, and prints 000 */
	*http_code = 0;
	if (!out)
		return "down";
	while (isspace((unsigned char)*out))
		out++;
	code = strtol(out, &end, 10);
	if (end == out)
		return "down";
	*http_code = (int)code;
	return code >= 100 && code <= 599 ? "answering" : "down";
}

const char *md_tls_alert_name(int alert)
{
	/* RFC 8446 section 6 (and RFC 5246 7.2 for the older ones). */
	static const struct { int code; const char *name; } t[] = {
		{ 0, "close_notify" }, { 10, "unexpected_message" }, { 20, "bad_record_mac" },
		{ 21, "decryption_failed" }, { 22, "record_overflow" },
		{ 30, "decompression_failure" }, { 40, "handshake_failure" },
		{ 41, "no_certificate" }, { 42, "bad_certificate" },
		{ 43, "unsupported_certificate" }, { 44, "certificate_revoked" },
		{ 45, "certificate_expired" }, { 46, "certificate_unknown" },
		{ 47, "illegal_parameter" }, { 48, "unknown_ca" }, { 49, "access_denied" },
		{ 50, "decode_error" }, { 51, "decrypt_error" }, { 60, "export_restriction" },
		{ 70, "protocol_version" }, { 71, "insufficient_security" },
		{ 80, "internal_error" }, { 86, "inappropriate_fallback" },
		{ 90, "user_canceled" }, { 100, "no_renegotiation" },
		{ 109, "missing_extension" }, { 110, "unsupported_extension" },
		{ 111, "certificate_unobtainable" }, { 112, "unrecognized_name" },
		{ 113, "bad_certificate_status_response" }, { 114, "bad_certificate_hash_value" },
		{ 115, "unknown_psk_identity" }, { 116, "certificate_required" },
		{ 120, "no_application_protocol" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].code == alert)
			return t[i].name;
	return NULL;
}

const char *md_tls_verify_class(long e)
{
	switch (e) {
	case X509_V_OK:
		return "ok";
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "not-yet-valid";
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
	case X509_V_ERR_EMAIL_MISMATCH:
		return "hostname-mismatch";
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		return "self-signed";
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_REJECTED:
	case X509_V_ERR_INVALID_CA:
		return "untrusted";
	}
	return "invalid";
}

/* Windows: every command the probe runs there goes through the PowerShell limit script
 * (core/hostcmd.h), which starts file with args and ends it after limit_s, exiting 124.
 * MD_ETOOBIG when the command does not fit in out (len), which is then "". */
static int windows_cmd(const char *file, const char *args, int limit_s, char *out, size_t len,
		       struct md_err *err)
{
	char *cmd = NULL;
	int rc;

	if (len)
		out[0] = '\0';
	rc = md_hostcmd_windows_limited(file, args, limit_s, &cmd, err);
	if (rc)
		return rc;
	if (strlen(cmd) >= len)
		rc = md_err_set(err, MD_ETOOBIG, PROBE, "%s: command too long", file);
	else
		memcpy(out, cmd, strlen(cmd) + 1);
	free(cmd);
	return rc;
}

int md_tls_cert_cmd(const char *os, int limit_s, const char *name, char *out, size_t len,
		    struct md_err *err)
{
	struct md_buf args;
	int rc;

	if (len)
		out[0] = '\0';
	if (!md_tls_dns_name_ok(name))
		return md_err_set(err, MD_EINVAL, PROBE, "tailscale cert: the certificate name is "
				  "not a DNS name (letters, digits, '-' and '.'): not asked");
	md_buf_init(&args, 0);
	rc = md_buf_puts(&args, "cert --cert-file=- ");
	/* The name is a checked DNS name; quoted all the same. */
	if (os && strcmp(os, "windows") == 0) {
		if (rc == MD_OK)
			rc = md_buf_puts(&args, name);
		if (rc == MD_OK)
			rc = windows_cmd("tailscale", md_buf_str(&args), limit_s, out, len, err);
	} else {
		if (rc == MD_OK)
			rc = md_hostcmd_sh_quote(&args, name);
		if (rc == MD_OK && md_ts_cli_cmd(md_buf_str(&args), out, len) != MD_OK)
			rc = md_err_set(err, MD_ETOOBIG, PROBE, "tailscale cert: command too long");
	}
	md_buf_cleanup(&args);
	if (rc && (!err || !err->code))
		md_err_set(err, rc, PROBE, "tailscale cert: %s", md_status_name(rc));
	return rc;
}

/* ==== the handshake (its own thread) =================================================== */

struct hs {
	/* in */
	char host[256];
	int port;
	char sni[256];       /* "" = send none */
	char verify_name[256]; /* name or IP the certificate must match; "" = none */
	const char *ca_file;
	struct md_deadline dl;
	int64_t budget_ms;   /* left of dl when the handshake started */
	/* trust store, loaded while the ClientHello is in flight (see load_trust) */
	SSL_CTX *ctx;
	bool trust_loaded;
	bool trust_lazy;     /* only the hashed CA directory so far */
	char trust_err[256];
	/* out */
	char addr[80];
	char tcp[16];
	char tcp_ev[300];
	char handshake[16];
	char hs_ev[600];
	int alert;           /* -1 none */
	char alert_text[128];
	long verify_code;
	char verify_text[160];
	int verify_depth;
	bool have_cert;
	char protocol[24], cipher[80], alpn[32];
	char subject[256], issuer[256], sans[600], not_after[40];
	int days_left;
	int64_t ms;
};

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
			copy_str(h->alert_text, sizeof(h->alert_text), rs);
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
		copy_str(h->tcp, sizeof(h->tcp), "skipped");
		snprintf(h->tcp_ev, sizeof(h->tcp_ev), "deadline spent: %lld ms were left for the "
			 "connection to %.200s:%d (less than %d ms)", (long long)h->budget_ms, h->host,
			 h->port, STEP_MIN_MS);
		snprintf(h->hs_ev, sizeof(h->hs_ev), "%s", h->tcp_ev);
	} else if (strcmp(h->handshake, "timeout") == 0) {
		copy_str(was, sizeof(was), h->hs_ev);
		copy_str(h->handshake, sizeof(h->handshake), "skipped");
		snprintf(h->hs_ev, sizeof(h->hs_ev), "deadline spent: %lld ms were left for the "
			 "handshake (less than %d ms): %.400s", (long long)h->budget_ms, STEP_MIN_MS,
			 was);
	}
}

static void handshake(struct hs *h)
{
	static const unsigned char alpn[] = "\x02h2\x08http/1.1";
	struct md_err e = { 0 };
	struct md_addr peer = { 0 };
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	int fd = -1, rc;
	int64_t t0 = md_now_ms();

	h->alert = -1;
	h->verify_code = X509_V_OK;
	h->budget_ms = md_deadline_left_ms(&h->dl);
	rc = md_net_connect_tcp(h->host, h->port, &h->dl, &fd, &peer, &e);
	copy_str(h->addr, sizeof(h->addr), peer.text[0] ? peer.text : "");
	if (rc != MD_OK) {
		const char *v = rc == MD_EREFUSED ? "refused"
			      : md_net_resolve_timed_out(rc, &e) ? "resolve-timeout"
			      : rc == MD_ETIMEOUT ? "timeout"
			      : rc == MD_EUNREACH ? "unreachable" : rc == MD_ERESOLVE ? "resolve-failed"
			      : "error";

		copy_str(h->tcp, sizeof(h->tcp), v);
		copy_str(h->tcp_ev, sizeof(h->tcp_ev), e.msg);
		copy_str(h->handshake, sizeof(h->handshake), "skipped");
		snprintf(h->hs_ev, sizeof(h->hs_ev), "no TCP connection: %s", e.msg);
		goto out;
	}
	copy_str(h->tcp, sizeof(h->tcp), "connected");
	snprintf(h->tcp_ev, sizeof(h->tcp_ev), "connect %s: TCP connection accepted in %lld ms",
		 peer.text, (long long)(md_now_ms() - t0));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		goto ssl_setup_failed;
	h->ctx = ctx;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	SSL_CTX_set_cert_verify_callback(ctx, trust_verify, h);
	ssl = SSL_new(ctx);
	if (!ssl)
		goto ssl_setup_failed;
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
	for (;;) {
		int r = SSL_connect(ssl), se, pr;
		struct pollfd p = { .fd = fd };

		if (r == 1)
			break;
		se = SSL_get_error(ssl, r);
		if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE) {
			if (se == SSL_ERROR_WANT_READ)
				load_trust(h);
			p.events = se == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
			pr = poll(&p, 1, md_deadline_poll_ms(&h->dl));
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr > 0)
				continue;
			/* TCP accepted, but no ServerHello (or the rest) before the deadline:
			 * the seed's `curl: (28)` after "Client hello (1)". */
			copy_str(h->handshake, sizeof(h->handshake), "timeout");
			snprintf(h->hs_ev, sizeof(h->hs_ev),
				 "TCP connected to %s, ClientHello sent (SNI %s), no answer within "
				 "%lld ms (OpenSSL state: %s)",
				 peer.text, h->sni[0] ? h->sni : "none",
				 (long long)(md_now_ms() - t0), SSL_state_string_long(ssl));
			goto out;
		}
		{
			int sys = errno;
			char t[300];

			ssl_error_text(h, se, sys, t, sizeof(t));
			if (h->alert >= 0) {
				copy_str(h->handshake, sizeof(h->handshake), "alert");
				snprintf(h->hs_ev, sizeof(h->hs_ev),
					 "%s: the server sent a fatal alert: %s (SSL alert number %d)",
					 peer.text, t, h->alert);
			} else {
				copy_str(h->handshake, sizeof(h->handshake), "error");
				snprintf(h->hs_ev, sizeof(h->hs_ev), "%s: %s", peer.text, t);
			}
			goto out;
		}
	}
	if (h->trust_err[0]) {
		copy_str(h->handshake, sizeof(h->handshake), "error");
		copy_str(h->hs_ev, sizeof(h->hs_ev), h->trust_err);
		goto out;
	}
	/* Completed: collect what was agreed and what the certificate says. */
	{
		const unsigned char *ap = NULL;
		unsigned int al = 0;

		copy_str(h->protocol, sizeof(h->protocol), SSL_get_version(ssl));
		copy_str(h->cipher, sizeof(h->cipher), SSL_get_cipher_name(ssl));
		SSL_get0_alpn_selected(ssl, &ap, &al);
		if (al)
			snprintf(h->alpn, sizeof(h->alpn), "%.*s", (int)al, ap);
		else
			copy_str(h->alpn, sizeof(h->alpn), "none");
		cert_details(h, ssl);
		if (h->verify_code == X509_V_OK)
			h->verify_code = SSL_get_verify_result(ssl);
		copy_str(h->verify_text, sizeof(h->verify_text),
			 X509_verify_cert_error_string(h->verify_code));
		copy_str(h->handshake, sizeof(h->handshake),
			 h->verify_code == X509_V_OK ? "ok" : "verify-failed");
		snprintf(h->hs_ev, sizeof(h->hs_ev), "%s: %s %s, ALPN %s, certificate %s%s%s",
			 peer.text, h->protocol, h->cipher, h->alpn,
			 h->verify_code == X509_V_OK ? "verified" : "not verified: ",
			 h->verify_code == X509_V_OK ? "" : h->verify_text,
			 h->ca_file ? " (against --ca)" : "");
		SSL_shutdown(ssl); /* one close_notify; never wait for the answer */
	}
	goto out;

ssl_setup_failed:
	copy_str(h->handshake, sizeof(h->handshake), "error");
	snprintf(h->hs_ev, sizeof(h->hs_ev), "OpenSSL set-up failed");
out:
	h->ms = md_now_ms() - t0;
	deadline_spent(h);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	ERR_clear_error();
}

static void *handshake_thread(void *arg)
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
 * handshake_thread) and any SIGPIPE it raised discarded before the mask is restored. */
static void handshake_inline(struct hs *h)
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

/* ==== commands on the host over SSH =================================================== */

/* Known once tls_run() asked md_ctx_host_os(). */
static const char *host_os(const struct md_ctx *ctx)
{
	return ctx->host_os ? ctx->host_os : "linux";
}


struct run {
	int rc;            /* md_session_exec's; MD_ETIMEOUT: our own deadline ran out */
	bool skipped;      /* not started: less than STEP_MIN_MS was left (left_ms) */
	int64_t left_ms;
	bool ended;        /* the host-side limit ended it (md_hostcmd_ended_by_limit) */
	int limit_s;       /* the host-side limit, 0 = none */
	int64_t max_ms;    /* our own limit for it */
	struct md_exec x;
	char cmd[8192];    /* what was sent (on Windows, the PowerShell script: windows_cmd) */
	char shown[800];   /* what it amounts to, for evidence ("tailscale cert ...") */
	char errmsg[256];
};

/* The time a step gets: max_ms, or what is left of dl when that is less.  False (the step
 * is skipped, r->left_ms says why) when that is under STEP_MIN_MS.  r->limit_s is the
 * host-side limit: it ends margin_ms before ours, so the host's answer still arrives. */
static bool step_start(struct run *r, const struct md_deadline *dl, int64_t max_ms,
		       int64_t margin_ms)
{
	int64_t left = md_deadline_left_ms(dl);

	if (left < max_ms)
		max_ms = left;
	if (max_ms < STEP_MIN_MS) {
		r->skipped = true;
		r->left_ms = max_ms > 0 ? max_ms : 0;
		return false;
	}
	r->max_ms = max_ms;
	r->limit_s = (int)((max_ms - margin_ms) / 1000);
	if (r->limit_s < 1)
		r->limit_s = 1;
	return true;
}

/* Runs r->cmd within r->max_ms of ctx->deadline. */
static void run_exec(struct md_ctx *ctx, struct run *r)
{
	struct md_deadline dl = md_deadline_min(ctx->deadline,
						md_deadline_after(md_now_ms(), r->max_ms));
	struct md_err e = { 0 };

	if (!r->shown[0])
		snprintf(r->shown, sizeof(r->shown), "%.799s", r->cmd);
	md_exec_init(&r->x);
	r->rc = md_session_exec(ctx->session, r->cmd, NULL, 0, &r->x, &dl, &e);
	r->ended = r->rc == MD_OK &&
		   md_hostcmd_ended_by_limit(r->limit_s, r->x.exit_status, r->x.exit_signal);
	copy_str(r->errmsg, sizeof(r->errmsg), e.msg);
}

/* POSIX: runs r->cmd as host step id (core/hostbatch: `sh -c` under the host-side limit
 * limit_s, which md_lim enforces) within r->max_ms of ctx->deadline, its result as an
 * md_exec in r->x. */
static void run_host(struct md_ctx *ctx, struct run *r, const char *id, int limit_s)
{
	struct md_deadline dl = md_deadline_min(ctx->deadline,
						md_deadline_after(md_now_ms(), r->max_ms));
	struct md_host_out o;
	struct md_err e = { 0 };

	if (!r->shown[0])
		snprintf(r->shown, sizeof(r->shown), "%.799s", r->cmd);
	md_exec_init(&r->x);
	md_host_out_init(&o);
	r->rc = md_ctx_host(ctx, id, r->cmd, limit_s, &dl, &o, &e);
	if (r->rc != MD_OK) {
		copy_str(r->errmsg, sizeof(r->errmsg), e.msg);
	} else if (o.state == MD_HOST_SKIPPED) {
		r->skipped = true;
		r->left_ms = md_deadline_left_ms(&dl);
	} else if (o.state == MD_HOST_LOST) {
		r->rc = o.rc ? o.rc : MD_EIO;
		copy_str(r->errmsg, sizeof(r->errmsg), o.why);
	} else {
		r->x.exit_status = o.exit_status;
		r->ended = md_hostcmd_ended_by_limit(o.limit_s, o.exit_status, NULL);
		md_buf_cleanup(&r->x.out);
		md_buf_cleanup(&r->x.err);
		r->x.out = o.out;
		r->x.err = o.err;
		md_buf_init(&o.out, 0);
		md_buf_init(&o.err, 0);
	}
	md_host_out_cleanup(&o);
}

/* The command could not be built (windows_cmd): recorded as a failure to run it. */
static void build_failed(struct run *r, const struct md_err *e)
{
	md_exec_init(&r->x);
	r->rc = e->code ? e->code : MD_EINVAL;
	copy_str(r->errmsg, sizeof(r->errmsg), e->msg);
}

/* One-line summary of a command's failure for evidence. */
static void run_failure(const struct run *r, char *out, size_t len)
{
	char line[200];

	if (r->skipped) {
		snprintf(out, len, "%.400s: not run: deadline spent (%lld ms left, %d needed)",
			 r->shown, (long long)r->left_ms, STEP_MIN_MS);
		return;
	}
	if (r->rc != MD_OK) {
		snprintf(out, len, "%.400s: %.250s", r->shown, r->errmsg[0] ? r->errmsg : md_status_name(r->rc));
		return;
	}
	if (r->ended) {
		snprintf(out, len, "%.400s: no answer within %d s (ended on the host)", r->shown,
			 r->limit_s);
		return;
	}
	first_line(md_buf_str(&r->x.err), line, sizeof(line));
	if (!line[0])
		first_line(md_buf_str(&r->x.out), line, sizeof(line));
	snprintf(out, len, "%.400s: exit %d%s%.200s", r->shown, r->x.exit_status, line[0] ? ": " : "", line);
}

static bool cmd_missing(const struct run *r)
{
	const char *e = md_buf_str(&r->x.err);

	return r->rc == MD_OK && !r->skipped &&
	       (r->x.exit_status == 127 || strstr(e, "not recognized as") ||
		strstr(e, "command not found"));
}

/* ==== the probe ======================================================================== */

/* What the tailscale probe recorded (docs/tailscale.md), as far as TLS needs it. */
struct ts_state {
	bool cli_ok;        /* tailscale.cli = ok */
	char dns_name[256]; /* tailscale.dns_name */
	struct md_ts_serve serve; /* tailscale.serve_configured, _https_port, _host, _proxy */
	bool have_serve;    /* the serve configuration was read */
	bool proxy_unsafe;  /* the serve Proxy is not a URL meshdoctor passes to a shell */
	char domain[256];
	bool cert_done;
};

static void ts_from_facts(const struct md_facts *f, struct ts_state *ts)
{
	const struct md_fact *x;
	const char *v;

	memset(ts, 0, sizeof(*ts));
	v = md_facts_str(f, "tailscale.cli");
	ts->cli_ok = v && strcmp(v, "ok") == 0;
	copy_str(ts->dns_name, sizeof(ts->dns_name), md_facts_str(f, "tailscale.dns_name"));
	x = md_facts_get(f, "tailscale.serve_configured");
	ts->have_serve = x != NULL;
	ts->serve.configured = x && x->num;
	x = md_facts_get(f, "tailscale.serve_https_port");
	ts->serve.https_port = x ? (int)x->num : 0;
	copy_str(ts->serve.host, sizeof(ts->serve.host), md_facts_str(f, "tailscale.serve_host"));
	copy_str(ts->serve.proxy, sizeof(ts->serve.proxy), md_facts_str(f, "tailscale.serve_proxy"));
	ts->proxy_unsafe = strcmp(ts->serve.proxy, "unsafe-proxy-url") == 0;
}

/* curl.exe on a Windows host, through the script of windows_cmd: curl ends itself after
 * --max-time, and the script's limit r->limit_s (PowerShell's start-up taken off what the
 * step gets) comes a second later, so that it ends only a curl that hangs; its exit 124
 * (r->ended) is the script's, as curl's own exit statuses stay under 100. */
static void backend_fetch_windows(struct md_ctx *ctx, struct run *r, const char *url,
				  bool insecure)
{
	struct md_err e = { 0 };
	char args[800];

	if (!step_start(r, &ctx->deadline, (BACKEND_MAX_S + 1) * 1000 + 1500, 1500))
		return;
	if (r->limit_s > BACKEND_MAX_S + 1)
		r->limit_s = BACKEND_MAX_S + 1;
	snprintf(args, sizeof(args), "-s %s-o NUL -w \"%%{http_code}\" --max-time %d \"%s\"",
		 insecure ? "-k " : "", r->limit_s > 1 ? r->limit_s - 1 : 1, url);
	snprintf(r->shown, sizeof(r->shown), "curl.exe %.780s", args);
	if (windows_cmd("curl.exe", args, r->limit_s, r->cmd, sizeof(r->cmd), &e)) {
		build_failed(r, &e);
		return;
	}
	run_exec(ctx, r);
}

/* curl (else wget) on the host fetches url within what is left; r->limit_s is the
 * transfer's --max-time / -T, at most BACKEND_MAX_S. */
static void backend_fetch(struct md_ctx *ctx, struct run *r, const char *url, bool insecure,
			  bool windows, bool wget)
{
	if (windows) {
		backend_fetch_windows(ctx, r, url, insecure);
		return;
	}
	if (!step_start(r, &ctx->deadline, (BACKEND_MAX_S + 2) * 1000, 2000))
		return;
	if (r->limit_s > BACKEND_MAX_S)
		r->limit_s = BACKEND_MAX_S;
	if (wget)
		snprintf(r->cmd, sizeof(r->cmd), "wget -q -O /dev/null -T %d %s'%s'", r->limit_s,
			 insecure ? "--no-check-certificate " : "", url);
	else
		snprintf(r->cmd, sizeof(r->cmd),
			 "curl -s %s-o /dev/null -w '%%{http_code}' --max-time %d '%s'",
			 insecure ? "-k " : "", r->limit_s, url);
	snprintf(r->shown, sizeof(r->shown), "%.799s", r->cmd);
	/* curl and wget end themselves; the host's limit a second later ends only one that
	 * hangs (their own exit statuses stay under 100) */
	r->limit_s++;
	run_host(ctx, r, wget ? "tls.backend-wget" : "tls.backend", r->limit_s);
}

/* Does the serve backend answer HTTP, asked from the target itself (seeds/004 step 6). */
static int backend_check(struct md_ctx *ctx, struct md_facts *f, const struct ts_state *ts)
{
	struct run r = { 0 };
	char url[600], why[1024];
	bool insecure, windows = strcmp(host_os(ctx), "windows") == 0;
	const char *cls;
	int code = 0, rc;

	if (ts->proxy_unsafe || md_ts_backend_url(ts->serve.proxy, url, sizeof(url),
						  &insecure) != MD_OK)
		return md_fact_str(f, PROBE, "tls.backend", "unsafe-proxy-url",
				   "the serve Proxy is not a plain http(s) URL (see "
				   "tailscale.serve_proxy): not passed to a shell on the host");
	backend_fetch(ctx, &r, url, insecure, windows, false);
	if (cmd_missing(&r) && !windows) {
		/* No curl: wget's exit status says as much (0 fetched, 8 the server answered
		 * with an error status, 4 network failure). */
		md_exec_cleanup(&r.x);
		memset(&r, 0, sizeof(r));
		backend_fetch(ctx, &r, url, insecure, windows, true);
		if (!r.skipped && r.rc == MD_OK && !cmd_missing(&r)) {
			cls = r.x.exit_status == 0 || r.x.exit_status == 8 ? "answering" : "down";
			rc = md_fact_strf(f, PROBE, "tls.backend", cls, "%s: exit %d", r.shown,
					  r.x.exit_status);
			goto done;
		}
	}
	/* a curl.exe the script on Windows had to end: nothing known about the backend */
	if (r.skipped || r.rc != MD_OK || r.ended || cmd_missing(&r)) {
		if (r.skipped)
			snprintf(r.shown, sizeof(r.shown), "fetch %.300s on the host", url);
		run_failure(&r, why, sizeof(why));
		rc = md_fact_str(f, PROBE, "tls.backend", r.skipped ? "skipped" : "unknown", why);
		goto done;
	}
	cls = md_tls_classify_backend(r.x.exit_status, md_buf_str(&r.x.out), &code);
	rc = md_fact_strf(f, PROBE, "tls.backend", cls, "%s: HTTP %s (exit %d)", r.shown,
			  md_buf_str(&r.x.out)[0] ? md_buf_str(&r.x.out) : "none", r.x.exit_status);
	if (rc == MD_OK)
		rc = md_fact_intf(f, PROBE, "tls.backend_http", code, "%s", r.shown);
done:
	if (rc == MD_OK)
		rc = md_fact_str(f, PROBE, "tls.backend_url", url, "serve Proxy handler");
	if (rc == MD_OK) {
		const char *v = md_facts_str(f, "tls.backend");
		char label[700];

		snprintf(label, sizeof(label), "Serve backend %s, asked from the host", url);
		rc = md_fact_check(f, "tls.backend",
				   v && strcmp(v, "answering") == 0 ? MD_CHECK_OK
				   : v && strcmp(v, "skipped") == 0 ? MD_CHECK_SKIP : MD_CHECK_FAIL,
				   label);
	}
	md_exec_cleanup(&r.x);
	return rc;
}

/* `tailscale cert` under a hard limit on the host.  --cert-file=- writes only the public
 * certificate to stdout and, with no --key-file, no key anywhere (cmd/tailscale/cli/cert.go
 * writes the key only when its path is set): the check leaves nothing on the host.  Only
 * the host's own limit ending the command is a hang: when our deadline runs out first,
 * nothing is known (docs/tls.md#certificate-issuance-with-tailscale-cert). */
static int cert_check(struct md_ctx *ctx, struct md_facts *f, struct ts_state *ts)
{
	struct run r = { 0 };
	struct md_err ce = { 0 };
	bool windows = strcmp(host_os(ctx), "windows") == 0;
	char msg[300], why[1024];
	const char *cls;
	int rc;

	ts->cert_done = true;
	snprintf(r.shown, sizeof(r.shown), "tailscale cert --cert-file=- %.300s", ts->domain);
	/* PowerShell takes a while to start: its limit ends earlier */
	if (!step_start(&r, &ctx->deadline, CERT_MAX_MS, windows ? 1500 : 500)) {
		run_failure(&r, why, sizeof(why));
		return md_fact_str(f, PROBE, "tls.cert_issue", "skipped", why);
	}
	if (md_tls_cert_cmd(host_os(ctx), r.limit_s, ts->domain, r.cmd, sizeof(r.cmd), &ce)) {
		printable(ts->domain, msg, sizeof(msg));
		return md_fact_strf(f, PROBE, "tls.cert_issue", "skipped", "\"%s\": %s", msg, ce.msg);
	}
	if (windows)
		run_exec(ctx, &r);
	else
		run_host(ctx, &r, "tls.cert", r.limit_s);
	if (r.rc != MD_OK) {
		if (r.rc == MD_ETIMEOUT)
			snprintf(why, sizeof(why), "%s: no answer within meshdoctor's own %lld ms, "
				 "before the host's limit of %d s ended it: not known to hang",
				 r.shown, (long long)r.max_ms, r.limit_s);
		else
			run_failure(&r, why, sizeof(why));
		rc = md_fact_str(f, PROBE, "tls.cert_issue", "unknown", why);
		md_exec_cleanup(&r.x);
		return rc;
	}
	cls = md_tls_classify_cert(r.ended, r.x.exit_status, md_buf_str(&r.x.out),
				   md_buf_str(&r.x.err), msg, sizeof(msg));
	if (strcmp(cls, "hang") == 0)
		snprintf(why, sizeof(why), "no result within the limit (exit %d%s%s: ended on the "
			 "host)", r.x.exit_status, r.x.exit_signal[0] ? ", signal " : "",
			 r.x.exit_signal);
	else
		copy_str(why, sizeof(why), msg);
	rc = md_fact_str(f, PROBE, "tls.cert_domain", ts->domain, "the node's MagicDNS name");
	if (rc == MD_OK)
		rc = md_fact_strf(f, PROBE, "tls.cert_issue", cls, "%s (over SSH, limit %d s): %s",
				  r.shown, r.limit_s, why);
	if (rc == MD_OK && strcmp(cls, "ok"))
		rc = md_fact_str(f, PROBE, "tls.cert_error", msg, r.shown);
	if (rc == MD_OK) {
		char label[1024];

		snprintf(label, sizeof(label), "Certificate issuance (tailscale cert %s)",
			 ts->domain);
		rc = md_fact_check(f, "tls.cert_issue",
				   strcmp(cls, "ok") == 0 ? MD_CHECK_OK : MD_CHECK_FAIL, label);
	}
	md_exec_cleanup(&r.x);
	return rc;
}

/* expected: HTTPS is wanted on this port; when it is not, nothing there is no failure. */
static int record_handshake(struct md_facts *f, const struct hs *h, bool expected)
{
	bool connected = strcmp(h->tcp, "connected") == 0;
	char label[400];
	int rc;

	rc = md_fact_str(f, PROBE, "tls.tcp", h->tcp, h->tcp_ev);
	if (rc == MD_OK) {
		snprintf(label, sizeof(label), "TCP connect to %s:%d%s", h->host, h->port,
			 connected || expected ? "" : " (no HTTPS expected here)");
		rc = md_fact_check(f, "tls.tcp", connected ? MD_CHECK_OK
				   : strcmp(h->tcp, "skipped") == 0 ? MD_CHECK_SKIP
				   : expected ? MD_CHECK_FAIL : MD_CHECK_SKIP, label);
	}
	if (rc == MD_OK && h->addr[0])
		rc = md_fact_str(f, PROBE, "tls.addr", h->addr, "dialled for the TLS handshake");
	if (rc == MD_OK)
		rc = md_fact_str(f, PROBE, "tls.handshake", h->handshake, h->hs_ev);
	if (rc == MD_OK) {
		bool ok = strcmp(h->handshake, "ok") == 0;

		snprintf(label, sizeof(label), "TLS handshake%s%s%s", h->sni[0] ? " (SNI " : "",
			 h->sni, h->sni[0] ? ")" : "");
		rc = md_fact_check(f, "tls.handshake",
				   ok ? MD_CHECK_OK
				   : strcmp(h->handshake, "skipped") == 0
				   ? (expected ? MD_CHECK_WARN : MD_CHECK_SKIP)
				   : MD_CHECK_FAIL, label);
	}
	if (rc == MD_OK)
		rc = md_fact_intf(f, PROBE, "tls.handshake_ms", h->ms, "time from connect to outcome");
	if (rc == MD_OK && h->alert >= 0) {
		const char *name = md_tls_alert_name(h->alert);
		char num[32];

		snprintf(num, sizeof(num), "alert_%d", h->alert);
		rc = md_fact_strf(f, PROBE, "tls.alert", name ? name : num,
				  "%s (SSL alert number %d)", h->alert_text, h->alert);
		if (rc == MD_OK)
			rc = md_fact_str(f, PROBE, "tls.alert_text", h->alert_text, h->hs_ev);
	}
	if (rc == MD_OK && strcmp(h->handshake, "error") == 0)
		rc = md_fact_str(f, PROBE, "tls.error", h->hs_ev, NULL);
	if (rc || !h->protocol[0])
		return rc;
	/* The handshake completed: what was agreed, and the certificate. */
	rc = md_fact_strf(f, PROBE, "tls.verify", md_tls_verify_class(h->verify_code),
			  "X509_V_ERR %ld at depth %d: %s", h->verify_code, h->verify_depth,
			  h->verify_text);
	if (rc == MD_OK)
		rc = md_fact_intf(f, PROBE, "tls.verify_code", h->verify_code, "%s", h->verify_text);
	if (rc == MD_OK) {
		snprintf(label, sizeof(label), "Certificate verification%s",
			 h->ca_file ? " (against --ca)" : "");
		rc = md_fact_check(f, "tls.verify", h->verify_code ? MD_CHECK_FAIL : MD_CHECK_OK,
				   label);
	}
	if (rc == MD_OK)
		rc = md_fact_str(f, PROBE, "tls.protocol", h->protocol, h->hs_ev);
	if (rc == MD_OK)
		rc = md_fact_str(f, PROBE, "tls.cipher", h->cipher, h->hs_ev);
	if (rc == MD_OK)
		rc = md_fact_str(f, PROBE, "tls.alpn", h->alpn, "offered h2,http/1.1");
	if (rc == MD_OK && h->have_cert) {
		rc = md_fact_str(f, PROBE, "tls.subject", h->subject, "peer certificate");
		if (rc == MD_OK)
			rc = md_fact_str(f, PROBE, "tls.issuer", h->issuer, "peer certificate");
		if (rc == MD_OK)
			rc = md_fact_str(f, PROBE, "tls.sans", h->sans, "subjectAltName");
		if (rc == MD_OK)
			rc = md_fact_str(f, PROBE, "tls.not_after", h->not_after, "peer certificate");
		if (rc == MD_OK)
			rc = md_fact_intf(f, PROBE, "tls.days_left", h->days_left, "notAfter %s", h->not_after);
	}
	return rc;
}

static const char *target_host(const struct md_ctx *ctx)
{
	if (ctx->target && ctx->target->hostname)
		return ctx->target->hostname;
	return ctx->target ? ctx->target->host : NULL;
}

/* What to dial and which name to send and verify: recorded as tls.sni, tls.name and
 * tls.host. */
static int handshake_setup(const struct md_ctx *ctx, struct md_facts *f, struct hs *h,
			   const char *dial)
{
	const struct md_options *o = ctx->opt;
	const char *sni_src, *known;
	int rc;

	copy_str(h->host, sizeof(h->host), dial);
	h->port = o && o->tls_port > 0 ? o->tls_port : 443;
	h->ca_file = o ? o->ca_file : NULL;
	h->dl = ctx->deadline.end_ms ? ctx->deadline
				     : md_deadline_after(md_now_ms(), HANDSHAKE_DEFAULT_MS);
	known = md_facts_str(f, "tailscale.dns_name");
	if (o && o->sni) {
		copy_str(h->sni, sizeof(h->sni), o->sni);
		sni_src = "--sni";
	} else if (known && *known) {
		copy_str(h->sni, sizeof(h->sni), known);
		sni_src = "the MagicDNS name (tailscale.dns_name)";
	} else if (!md_net_is_ip_literal(target_host(ctx) ? target_host(ctx) : dial)) {
		copy_str(h->sni, sizeof(h->sni), target_host(ctx) ? target_host(ctx) : dial);
		sni_src = "the target's name";
	} else {
		sni_src = "none: the target is an IP address (RFC 6066 3: no SNI for literals)";
	}
	/* The certificate must match the SNI name, or the dialled IP when there is none. */
	copy_str(h->verify_name, sizeof(h->verify_name), h->sni[0] ? h->sni : dial);
	rc = md_fact_strf(f, PROBE, "tls.sni", h->sni, "from %s", sni_src);
	if (rc == MD_OK)
		rc = md_fact_str(f, PROBE, "tls.name", h->verify_name,
				 h->sni[0] ? "the certificate must match the SNI name"
				 : "no SNI: the certificate must match the dialled address");
	if (rc == MD_OK) {
		char hp[300];

		snprintf(hp, sizeof(hp), "%s%s%s:%d", strchr(dial, ':') ? "[" : "", dial,
			 strchr(dial, ':') ? "]" : "", h->port);
		rc = md_fact_str(f, PROBE, "tls.host", hp, o && o->tls_host ? "--tls-host"
				 : "the target");
	}
	return rc;
}

static int tls_run(struct md_ctx *ctx, struct md_facts *f, struct md_err *err)
{
	struct hs *h = calloc(1, sizeof(*h));
	struct ts_state ts = { 0 };
	const struct md_options *o = ctx->opt;
	const char *dial = o && o->tls_host ? o->tls_host : target_host(ctx);
	pthread_t th;
	bool threaded = false;
	bool expected;
	int rc = MD_OK;

	if (!h)
		return md_err_set(err, MD_ENOMEM, PROBE, "out of memory");
	if (!dial) {
		free(h);
		return md_err_set(err, MD_ESKIP, PROBE, "no host to dial");
	}
	pthread_once(&verify_once, verify_idx_init);
	/* The Tailscale state first: its MagicDNS name is the SNI tailscaled serves.  The
	 * tailscale probe reads it (and keeps to its share of the deadline); outside the
	 * engine its facts are in f already. */
	if (md_ctx_session(ctx)) {
		md_ctx_host_os(ctx, f);
		rc = md_ctx_wait_probe(ctx, "tailscale", f);
		if (rc != MD_OK && rc != MD_ENOTFOUND)
			goto out;
		rc = MD_OK;
	}
	ts_from_facts(f, &ts);

	rc = handshake_setup(ctx, f, h, dial);
	if (rc)
		goto out;

	/* With a session the SSH steps run beside the handshake; without one there is
	 * nothing to overlap, and the handshake runs here. */
	if (ctx->session)
		threaded = pthread_create(&th, NULL, handshake_thread, h) == 0;
	if (!threaded)
		handshake_inline(h);

	/* Beside the handshake: the serve configuration, its backend, the certificate. */
	if (ts.cli_ok) {
		if (ts.serve.proxy[0])
			rc = backend_check(ctx, f, &ts);
		copy_str(ts.domain, sizeof(ts.domain), ts.dns_name);
		if (!ts.domain[0] && ts.serve.host[0])
			snprintf(ts.domain, sizeof(ts.domain), "%.*s",
				 (int)strcspn(ts.serve.host, ":"), ts.serve.host);
		/* Ask for a certificate only when HTTPS serve is in play: it is what the
		 * seed's question needs, and on a healthy host it would be a needless ACME
		 * request. */
		if (rc == MD_OK && ts.serve.configured && md_tls_dns_name_ok(ts.domain))
			rc = cert_check(ctx, f, &ts);
	}
	if (threaded)
		pthread_join(th, NULL);
	threaded = false;
	if (rc)
		goto out;
	/* Whether HTTPS is expected here at all: asked for on the command line, or a serve
	 * HTTPS port configured.  A host with nothing on 443 is not a problem otherwise. */
	expected = (o && (o->tls_port > 0 || o->tls_host || o->sni || o->ca_file)) ||
		   ts.serve.https_port > 0;
	rc = record_handshake(f, h, expected);
	if (rc)
		goto out;
	if (o && (o->tls_port > 0 || o->tls_host || o->sni || o->ca_file))
		rc = md_fact_boolf(f, PROBE, "tls.expected", true, "a --tls-port/--tls-host/--sni/--ca option");
	else if (ts.serve.https_port > 0)
		rc = md_fact_boolf(f, PROBE, "tls.expected", true, "tailscale serve has HTTPS on port %d",
				ts.serve.https_port);
	else
		rc = md_fact_boolf(f, PROBE, "tls.expected", false,
				"no --tls-* option and no tailscale serve HTTPS configuration");
	if (rc)
		goto out;
	/* A failed handshake with no serve config seen: the certificate question still
	 * explains it, if there is time left to ask (cert_check records `skipped` if not). */
	if (ts.cli_ok && !ts.cert_done && md_tls_dns_name_ok(ts.domain) &&
	    (strcmp(h->handshake, "timeout") == 0 || strcmp(h->handshake, "alert") == 0))
		rc = cert_check(ctx, f, &ts);
	if (rc == MD_OK && ts.cli_ok && !ts.cert_done)
		rc = md_fact_str(f, PROBE, "tls.cert_issue", "skipped",
				 !ts.have_serve ? "the serve configuration was not read: certificate "
						  "issuance not asked"
				 : ts.serve.configured ? "no valid MagicDNS name to ask for"
				 : "no HTTPS serve configuration: certificate issuance not asked");
	/* HTTPS was wanted and the name server never answered: nothing was learnt about the
	 * port, so the probe could not complete (check exits 3, as the ssh probe does). */
	if (rc == MD_OK && expected && strcmp(h->tcp, "resolve-timeout") == 0)
		rc = md_err_set(err, MD_ETIMEOUT, "resolve", "%s", h->tcp_ev);
out:
	if (threaded)
		pthread_join(th, NULL);
	free(h);
	if (rc && !err->code)
		md_err_set(err, rc, PROBE, "tls probe: %s", md_status_name(rc));
	return rc;
}

static const char *const tls_provides[] = {
	"tls.tcp", "tls.addr", "tls.sni", "tls.handshake", "tls.handshake_ms", "tls.alert",
	"tls.alert_text", "tls.error", "tls.verify", "tls.verify_code", "tls.protocol",
	"tls.cipher", "tls.alpn", "tls.subject", "tls.issuer", "tls.sans", "tls.not_after",
	"tls.days_left", "tls.cert_issue", "tls.cert_error", "tls.backend", "tls.backend_http",
	"tls.backend_url", "tls.host", "tls.name", "tls.expected", "tls.cert_domain", NULL,
};

/* The tailscale probe's facts (the MagicDNS name, the serve configuration) before the
 * handshake; the host's OS decides how the remote steps are run.  Naming tls in --probes
 * runs tailscale too: without it there is no serve to check. */
static const char *const tls_reads[] = { "tailscale", "host", NULL };
static const char *const tls_brings[] = { "tailscale", NULL };

const struct md_probe probe_tls = {
	.name = "tls",
	.desc = "TLS handshake and certificate; tailscale serve config, backend and `tailscale cert`",
	.provides = tls_provides,
	.needs = MD_USES_SESSION,
	.reads = tls_reads,
	.brings = tls_brings,
	.budget_ms = 0,
	.run = tls_run,
};
