/* fuzz_ssh_kexinit — a server's identification and first binary packet, SSH_MSG_KEXINIT
 * (core/ssh_kex.c, RFC 4253 §6, §7.1): scanned as ssh_kexinit_read() scans what it reads,
 * then the lists compared with a client's as the ssh probe compares them after a failed
 * key exchange; and the input parsed as one packet. */
#include "core/err.h"
#include "core/known_hosts.h"
#include "core/ssh_kex.h"
#include "tests/fuzz/fuzz.h"

static const char *const kex[] = { "curve25519-sha256", "ecdh-sha2-nistp256",
				   "diffie-hellman-group14-sha256" };
static const char *const hostkey[] = { "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa" };
static const char *const cipher[] = { "aes128-ctr", "aes256-gcm@openssh.com",
				      "chacha20-poly1305@openssh.com" };
static const char *const mac[] = { "hmac-sha2-256", "hmac-sha1" };
static const struct ssh_alg_list client[SSH_ALG_N] = {
	{ kex, 3 }, { hostkey, 3 }, { cipher, 3 }, { mac, 2 },
};

static void use(const struct ssh_kexinit *k)
{
	char text[SSH_SERVER_LIST_MAX + 8];

	for (int i = 0; i < SSH_KEXINIT_N; i++)
		ssh_kexinit_list_text(k, (enum ssh_kexinit_list)i, text, sizeof(text));
	(void)ssh_kex_no_common(k, client);
	(void)ssh_alg_pick(&client[SSH_ALG_CIPHER], k->list[SSH_KEXINIT_CIPHER_CS],
			   k->len[SSH_KEXINIT_CIPHER_CS]);
	(void)ssh_hostkey_algs_offer_rsa(k->list[SSH_KEXINIT_HOSTKEY], k->len[SSH_KEXINIT_HOSTKEY]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ssh_kexinit k;
	const char *banner = NULL;
	size_t banner_len = 0, used = 0;
	char why[256];

	if (ssh_kexinit_scan(data, size, &k, &banner, &banner_len, &used, why, sizeof(why)) ==
	    SSH_KEXINIT_OK)
		use(&k);
	if (ssh_kexinit_parse(data, size, &k, why, sizeof(why)) == MD_OK)
		use(&k);
	return 0;
}
