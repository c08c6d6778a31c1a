/* fuzz_tls_cert — the server certificate's fields the TLS probe records (probes/tls.c):
 * the input as a DER certificate (as the handshake receives it; OpenSSL decodes it),
 * then its subject, issuer and subjectAltName as text and the days left to its notAfter,
 * as cert_details() reads them; and the input as the text `tailscale cert` and curl print,
 * through their classifiers. */
#include "probes/tls.h"
#include "tests/fuzz/fuzz.h"

#include <openssl/asn1.h>
#include <openssl/x509.h>
#include <time.h>

static void cert_fields(const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	X509 *cert = d2i_X509(NULL, &p, (long)size);
	char subject[256], issuer[256], sans[600], not_after[40];
	const ASN1_TIME *na;
	struct tm tm;
	int days = 0, secs = 0;

	if (!cert)
		return;
	md_tls_name_text(X509_get_subject_name(cert), subject, sizeof(subject));
	md_tls_name_text(X509_get_issuer_name(cert), issuer, sizeof(issuer));
	md_tls_sans_text(cert, sans, sizeof(sans));
	na = X509_get0_notAfter(cert);
	if (na && ASN1_TIME_to_tm(na, &tm) == 1)
		strftime(not_after, sizeof(not_after), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (na && ASN1_TIME_diff(&days, &secs, NULL, na) == 1)
		(void)md_tls_days_left(days, secs);
	X509_free(cert);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size), msg[256];
	int code;

	cert_fields(data, size);
	if (text) {
		(void)md_tls_classify_cert(false, 1, "", text, msg, sizeof(msg));
		(void)md_tls_classify_cert(true, 124, text, text, msg, sizeof(msg));
		(void)md_tls_classify_backend(0, text, &code);
		(void)md_tls_dns_name_ok(text);
	}
	free(text);
	return 0;
}
