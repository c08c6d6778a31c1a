/* ssh_keys.c — private key files (PROTOCOL.key in OpenSSH, PEM) and key blobs. */
#include "core/ssh_keys.h"
#include "core/err.h"
#include "core/ssh_wire.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ssh_blob_type(const unsigned char *blob, size_t len, char *out, size_t n)
{
	const unsigned char *p = blob, *s;
	size_t l;

	if (ssh_get_string(&p, blob + len, &s, &l) || l == 0 || l >= n)
		return MD_EPARSE;
	memcpy(out, s, l);
	out[l] = '\0';
	return MD_OK;
}

int ssh_key_info(const char *text, size_t len, struct ssh_keyinfo *ki)
{
	static const char oss_begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
	static const char oss_end[] = "-----END OPENSSH PRIVATE KEY-----";
	static const struct { const char *begin, *type; } pem[] = {
		{ "-----BEGIN RSA PRIVATE KEY-----", "ssh-rsa" },
		{ "-----BEGIN DSA PRIVATE KEY-----", "ssh-dss" },
		{ "-----BEGIN EC PRIVATE KEY-----", "ecdsa" },
		{ "-----BEGIN PRIVATE KEY-----", "unknown" },
		{ "-----BEGIN ENCRYPTED PRIVATE KEY-----", "unknown" },
	};
	const char *b, *e;

	memset(ki, 0, sizeof(*ki));
	snprintf(ki->type, sizeof(ki->type), "unknown");
	b = memmem(text, len, oss_begin, sizeof(oss_begin) - 1);
	if (b) {
		/* PROTOCOL.key in OpenSSH: "openssh-key-v1\0", string ciphername, string kdfname,
		 * string kdfoptions, uint32 nkeys, string publickey, ... — the public part and
		 * the cipher name are never encrypted. */
		unsigned char *raw;
		const unsigned char *p, *end, *s;
		size_t l;
		long n;
		int rc = MD_EPARSE;

		b += sizeof(oss_begin) - 1;
		e = memmem(b, len - (size_t)(b - text), oss_end, sizeof(oss_end) - 1);
		if (!e)
			return MD_EPARSE;
		raw = malloc((size_t)(e - b));
		if (!raw)
			return MD_ENOMEM;
		n = ssh_b64_decode(b, (size_t)(e - b), raw, (size_t)(e - b));
		if (n < 15 || memcmp(raw, "openssh-key-v1", 15) != 0)
			goto out;
		p = raw + 15;
		end = raw + n;
		if (ssh_get_string(&p, end, &s, &l))
			goto out;
		ki->encrypted = !(l == 4 && memcmp(s, "none", 4) == 0);
		if (ssh_get_string(&p, end, &s, &l) || ssh_get_string(&p, end, &s, &l) || end - p < 4)
			goto out;
		p += 4;
		if (ssh_get_string(&p, end, &s, &l))
			goto out;
		if (ssh_blob_type(s, l, ki->type, sizeof(ki->type)))
			goto out;
		if (l <= sizeof(ki->pub)) {
			memcpy(ki->pub, s, l);
			ki->pub_len = l;
		}
		rc = MD_OK;
out:
		/* raw holds the private section too (unencrypted keys). */
		OPENSSL_cleanse(raw, (size_t)(e - b));
		free(raw);
		return rc;
	}
	for (size_t i = 0; i < sizeof(pem) / sizeof(pem[0]); i++) {
		if (!memmem(text, len, pem[i].begin, strlen(pem[i].begin)))
			continue;
		snprintf(ki->type, sizeof(ki->type), "%s", pem[i].type);
		ki->encrypted = memmem(text, len, "Proc-Type: 4,ENCRYPTED", 22) != NULL ||
				strstr(pem[i].begin, "ENCRYPTED") != NULL;
		return MD_OK;
	}
	return MD_EPARSE;
}

int ssh_fingerprint(const unsigned char *blob, size_t len, char *out, size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	int l;

	if (!EVP_Digest(blob, len, md, &md_len, EVP_sha256(), NULL))
		return MD_EIO;
	l = EVP_EncodeBlock((unsigned char *)b64, md, (int)md_len);
	while (l > 0 && b64[l - 1] == '=')
		b64[--l] = '\0';
	if ((size_t)snprintf(out, n, "SHA256:%s", b64) >= n)
		return MD_ETOOBIG;
	return MD_OK;
}


int ssh_identity_info(const char *file, struct ssh_keyinfo *ki)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	memset(ki, 0, sizeof(*ki));
	snprintf(ki->type, sizeof(ki->type), "unknown");
	rc = ssh_read_small_file(file, 1024 * 1024, &text, &len);
	if (rc)
		return rc;
	rc = ssh_key_info(text, len, ki);
	/* An unencrypted key's text is the private key itself. */
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

bool ssh_identity_blob(const char *file, unsigned char *out, size_t n, size_t *len)
{
	char pub[PATH_MAX], *text = NULL, type[64], b64[8192];
	size_t tl;
	long l = -1;
	struct ssh_keyinfo *ki;

	snprintf(pub, sizeof(pub), "%s.pub", file);
	if (ssh_read_small_file(pub, 64 * 1024, &text, &tl) == MD_OK) {
		if (sscanf(text, "%63s %8191s", type, b64) == 2)
			l = ssh_b64_decode(b64, strlen(b64), out, n);
		free(text);
		if (l > 0) {
			*len = (size_t)l;
			return true;
		}
	}
	ki = calloc(1, sizeof(*ki));
	if (ki && ssh_identity_info(file, ki) == MD_OK && ki->pub_len && ki->pub_len <= n) {
		memcpy(out, ki->pub, ki->pub_len);
		l = (long)ki->pub_len;
	}
	free(ki);
	*len = l > 0 ? (size_t)l : 0;
	return l > 0;
}

