/* ssh_keys.h — key files and key blobs: the type and public part of a private key file
 * (OpenSSH or PEM), whether it is passphrase-protected, and fingerprints. */
#ifndef MD_SSH_KEYS_H
#define MD_SSH_KEYS_H

#include <stdbool.h>
#include <stddef.h>

struct ssh_keyinfo {
	char type[48];   /* "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "unknown" */
	bool encrypted;  /* passphrase-protected */
	unsigned char pub[2048]; /* the public key blob (OpenSSH format only, never encrypted) */
	size_t pub_len;          /* 0 when the file does not say (PEM) */
};
/* Reads a private key file's text (OpenSSH "openssh-key-v1" or PEM).  MD_OK or
 * MD_EPARSE when it is not a private key (ki->type is then "unknown").  What it decodes is
 * wiped before it is freed. */
int ssh_key_info(const char *text, size_t len, struct ssh_keyinfo *ki);
/* ssh_key_info() of the private key file: MD_OK, MD_EPARSE (not a key), MD_ENOTFOUND,
 * MD_EIO (unreadable), MD_ETOOBIG (over 1 MiB) or MD_ENOMEM.  The file's text is wiped
 * before it is freed. */
int ssh_identity_info(const char *file, struct ssh_keyinfo *ki);
/* The public key blob of an identity file: FILE.pub, else the public part of an
 * OpenSSH-format private key (read as ssh_identity_info() reads it).  false when neither
 * says. */
bool ssh_identity_blob(const char *file, unsigned char *out, size_t n, size_t *len);
/* The key type named at the start of a public key blob ("ssh-rsa"). MD_OK or MD_EPARSE. */
int ssh_blob_type(const unsigned char *blob, size_t len, char *out, size_t n);
/* "SHA256:<base64 without padding>" of a key blob, as `ssh-keygen -l` prints it. */
int ssh_fingerprint(const unsigned char *blob, size_t len, char *out, size_t n);


#endif
