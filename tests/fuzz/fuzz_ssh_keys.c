/* fuzz_ssh_keys — key files and key blobs (core/ssh_keys.c): a private key file's text
 * (OpenSSH "openssh-key-v1" or PEM) as ssh_identity_info() reads it, and the input as a
 * public key blob (its type and fingerprint). */
#include "core/ssh_keys.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	struct ssh_keyinfo ki;
	char type[48], fp[80];

	if (!text)
		return 0;
	if (ssh_key_info(text, size, &ki) == 0 && ki.pub_len) {
		(void)ssh_blob_type(ki.pub, ki.pub_len, type, sizeof(type));
		(void)ssh_fingerprint(ki.pub, ki.pub_len, fp, sizeof(fp));
	}
	(void)ssh_blob_type(data, size, type, sizeof(type));
	(void)ssh_fingerprint(data, size, fp, sizeof(fp));
	free(text);
	return 0;
}
