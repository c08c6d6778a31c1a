/* test_ssh_keys.c — core/ssh_keys: private key files (OpenSSH and PEM, encrypted or not),
 * public key blobs and fingerprints (as ssh-keygen -l prints them), and the wiping of
 * private key material. */
#include "core/facts.h"
#include "core/known_hosts.h"
#include "core/session.h"
#include "core/session_ssh.h"
#include "core/ssh_agent.h"
#include "core/ssh_banner.h"
#include "core/ssh_kex.h"
#include "core/ssh_keys.h"
#include "core/ssh_wire.h"
#include "tests/support/ssh_fixtures.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <libssh2.h>
#include <openssl/evp.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ==================================================================================== */
/* Keys                                                                                 */
/* ==================================================================================== */

struct key_case {
	const char *text;
	const char *type;
	bool encrypted;
};

static const struct key_case keys_info_cases[] = {
	{ KEY_ED25519, "ssh-ed25519", false },
	{ KEY_ED25519_ENC, "ssh-ed25519", true },
	{ KEY_RSA, "ssh-rsa", false },
	{ KEY_ECDSA, "ecdsa-sha2-nistp256", false },
	{ KEY_RSA_PEM, "ssh-rsa", false },
	{ KEY_RSA_PEM_ENC, "ssh-rsa", true },
};

static void keys_info_one(const struct key_case *c)
{
	struct ssh_keyinfo ki;

	cr_assert_eq(ssh_key_info(c->text, strlen(c->text), &ki), MD_OK, "%.40s", c->text);
	cr_assert_str_eq(ki.type, c->type);
	cr_assert_eq(ki.encrypted, c->encrypted, "encrypted for a %s key", c->type);
}

Test(keys, info, .timeout = 10)
{
	for (size_t i = 0; i < sizeof(keys_info_cases) / sizeof(keys_info_cases[0]); i++)
		keys_info_one(&keys_info_cases[i]);
}

Test(keys, info_rejects_a_public_key, .timeout = 10)
{
	struct ssh_keyinfo ki;
	const char *pub = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGHUwlgAIenmb9ckpU5UWyiRURoTGeHKUKxnIAdOpWP+ x";

	cr_assert_eq(ssh_key_info(pub, strlen(pub), &ki), MD_EPARSE);
}

Test(keys, fingerprint_matches_ssh_keygen, .timeout = 10)
{
	unsigned char blob[256];
	size_t n = blob_of(PUB_A, blob);
	char fp[80], type[48];

	cr_assert_eq(ssh_fingerprint(blob, n, fp, sizeof(fp)), MD_OK);
	cr_assert_str_eq(fp, PUB_A_FP);
	cr_assert_eq(ssh_blob_type(blob, n, type, sizeof(type)), MD_OK);
	cr_assert_str_eq(type, "ssh-ed25519");
	cr_assert_eq(ssh_blob_type(blob, 3, type, sizeof(type)), MD_EPARSE, "truncated blob");
}

Test(keys, info_gives_the_public_key_of_an_openssh_key, .timeout = 10)
{
	struct ssh_keyinfo ki;
	unsigned char blob[256];
	size_t n = blob_of(PUB_A, blob);

	cr_assert_eq(ssh_key_info(KEY_ED25519, strlen(KEY_ED25519), &ki), MD_OK);
	cr_assert_eq(ki.pub_len, n);
	cr_assert_eq(memcmp(ki.pub, blob, n), 0);
	/* Encrypted keys keep their public part in the clear. */
	cr_assert_eq(ssh_key_info(KEY_ED25519_ENC, strlen(KEY_ED25519_ENC), &ki), MD_OK);
	cr_assert_gt(ki.pub_len, 0);
	cr_assert_eq(ssh_key_info(KEY_RSA_PEM, strlen(KEY_RSA_PEM), &ki), MD_OK);
	cr_assert_eq(ki.pub_len, 0, "PEM does not say");
}

/* Private key material is wiped before it is freed.  The test binary's free() takes
 * the place of the C library's (symbol interposition; not under ASan, whose free is its
 * own): while armed, it looks for the marker in every block freed. */
#ifndef __SANITIZE_ADDRESS__
#include <malloc.h>
extern void __libc_free(void *p);
static const char *free_marker;
static bool marker_freed;

void free(void *p)
{
	if (p && free_marker && !marker_freed &&
	    memmem(p, malloc_usable_size(p), free_marker, strlen(free_marker)))
		marker_freed = true;
	__libc_free(p);
}

static void watch_free(const char *marker)
{
	marker_freed = false;
	free_marker = marker;
}

static bool unwatch_free(void)
{
	free_marker = NULL;
	return marker_freed;
}

Test(keys, private_key_material_is_wiped_before_free, .timeout = 10)
{
	struct ssh_keyinfo ki;
	unsigned char blob[2048];
	char path[] = "/tmp/md-test-key-XXXXXX";
	size_t n;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, KEY_ED25519, strlen(KEY_ED25519)), (ssize_t)strlen(KEY_ED25519));
	close(fd);
	/* The decoded key: "openssh-key-v1", then the public and the private section. */
	watch_free("openssh-key-v1");
	cr_assert_eq(ssh_key_info(KEY_ED25519, strlen(KEY_ED25519), &ki), MD_OK);
	cr_assert_not(unwatch_free(), "ssh_key_info freed the decoded key unwiped");
	/* The file's text, read to find its type or its public key (no .pub beside it). */
	watch_free("PRIVATE KEY");
	cr_assert_eq(ssh_identity_info(path, &ki), MD_OK);
	cr_assert_not(unwatch_free(), "ssh_identity_info freed the key file's text unwiped");
	cr_assert_str_eq(ki.type, "ssh-ed25519");
	watch_free("PRIVATE KEY");
	cr_assert(ssh_identity_blob(path, blob, sizeof(blob), &n));
	cr_assert_not(unwatch_free(), "ssh_identity_blob freed the key file's text unwiped");
	cr_assert_eq(n, ki.pub_len);
	unlink(path);
}
#endif

