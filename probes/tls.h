/* tls.h — the TLS probe's classifiers and command builders, exposed for
 * tests/unit/test_tls.c.
 *
 * The probe (probes/tls.c, `probe_tls`) does the I/O: a TLS handshake from this machine,
 * and over the SSH session `tailscale cert` and an HTTP request to the serve backend.  The
 * tailscale.* facts it reads come from the tailscale probe (probes/tailscale.h,
 * docs/tailscale.md).  Everything below only turns text into values or builds a command. */
#ifndef MD_PROBE_TLS_H
#define MD_PROBE_TLS_H

#include "core/err.h"

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>

/* Result of `tailscale cert`: "ok", "failed", "hang" or "denied".  ended_by_limit: the
 * host-side limit ended the command (md_hostcmd_ended_by_limit) — the only way to "hang"; a
 * command our own deadline cut off is not classified at all.  msg gets the message that
 * explains it (the first line of stderr, e.g. "500 Internal Server Error: your Tailscale
 * account does not support getting TLS certs"). */
const char *md_tls_classify_cert(bool ended_by_limit, int exit_status, const char *out,
				 const char *err, char *msg, size_t msg_len);

/* True for a host name by RFC 1123: dot-separated labels of 1-63 letters, digits and '-'
 * (no '-' first or last), 253 characters at most, no trailing dot. */
bool md_tls_dns_name_ok(const char *name);

/* The command that asks the host of os for a certificate for name: on POSIX hosts
 * `tailscale cert --cert-file=- 'NAME'` as md_ts_cli_cmd() runs the CLI, for a host step
 * whose limit core/hostbatch enforces; on Windows the PowerShell limit script
 * (md_hostcmd_windows_limited) that starts the CLI and ends it after limit_s, exiting 124.
 * MD_EINVAL (nothing built) when name is not md_tls_dns_name_ok(); MD_ETOOBIG when out is
 * too small. */
int md_tls_cert_cmd(const char *os, int limit_s, const char *name, char *out, size_t len,
		    struct md_err *err);

/* Whole days left until a certificate's notAfter, from ASN1_TIME_diff()'s days and
 * seconds (same sign), rounded down: negative as soon as it has expired. */
int md_tls_days_left(int days, int secs);

/* curl -w '%{http_code}' output: "answering" for any HTTP status, "down" for 000 / empty. */
const char *md_tls_classify_backend(int exit_status, const char *out, int *http_code);

/* RFC 8446 section 6 name of a TLS alert ("internal_error" for 80), NULL if unknown. */
const char *md_tls_alert_name(int alert);

/* Class of an X509_V_ERR_* code: "ok", "expired", "not-yet-valid", "hostname-mismatch",
 * "self-signed", "untrusted" or "invalid". */
const char *md_tls_verify_class(long x509_err);

/* The fields of the server's certificate that the probe records (tls.subject, tls.issuer,
 * tls.sans), as text: a name in RFC 2253 form ("CN=node1.tail1234.ts.net"), and the
 * subjectAltName DNS and IP entries ("DNS:node1.tail1234.ts.net, IP:100.64.0.1"), cut to
 * len - 1 bytes; "" when there are none. */
void md_tls_name_text(const X509_NAME *n, char *out, size_t len);
void md_tls_sans_text(X509 *cert, char *out, size_t len);

#endif
