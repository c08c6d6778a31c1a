/* tls_internal.h — what the TLS probe (probes/tls.c) shares with its handshake
 * (probes/tls_handshake.c).  Private to those two. */
#ifndef MD_PROBES_TLS_INTERNAL_H
#define MD_PROBES_TLS_INTERNAL_H

#include "core/text.h"
#include "core/deadline.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* A step with less than this left is not started (a remote command) or, for the handshake,
 * a timeout within it is not taken for one: it is recorded as `skipped`, "deadline spent".
 * The host-side limit counts whole seconds, and a wait this short says nothing about a
 * server or a CLI that hangs. */
#define STEP_MIN_MS 1000

/* One handshake: what to dial and verify (in), what happened (out). */
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

/* The handshake into h, on a thread of its own (SIGPIPE blocked there) ... */
void *tls_handshake_thread(void *arg);
/* ... or on the calling thread, SIGPIPE held back for its duration. */
void tls_handshake_inline(struct hs *h);

#endif
