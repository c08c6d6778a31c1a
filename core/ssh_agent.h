/* ssh_agent.h — the ssh-agent protocol (draft-miller-ssh-agent): uint32 length, byte
 * type, contents.
 *
 * meshdoctor talks to the agent itself rather than through libssh2's agent functions,
 * which read the agent socket in blocking mode with no timeout: an agent that accepts the
 * connection and never answers would hang the check for ever. */
#ifndef MD_SSH_AGENT_H
#define MD_SSH_AGENT_H

#include "core/deadline.h"

#include <stddef.h>
#include <stdint.h>

/* draft-miller-ssh-agent §3, §5.1 */
#define SSH_AGENT_FAILURE 5
#define SSH_AGENTC_REQUEST_IDENTITIES 11
#define SSH_AGENT_IDENTITIES_ANSWER 12
#define SSH_AGENTC_SIGN_REQUEST 13
#define SSH_AGENT_SIGN_RESPONSE 14
#define SSH_AGENT_RSA_SHA2_256 2
#define SSH_AGENT_RSA_SHA2_512 4

struct ssh_agent_key {
	unsigned char *blob;
	size_t blob_len;
	char *comment;
};
struct ssh_agent_keys {
	struct ssh_agent_key *v;
	size_t n;
};
/* Sends one request (type byte and contents, without the length) on the agent socket fd
 * and reads the answer into *resp (malloc'd, type byte first), all before the deadline.
 * MD_OK, MD_ETIMEOUT, MD_EIO (the agent closed the connection or a socket error),
 * MD_ETOOBIG (an answer over 256 KiB), MD_ENOMEM. */
int ssh_agent_request(int fd, const unsigned char *req, size_t req_len, unsigned char **resp,
		      size_t *resp_len, const struct md_deadline *dl);
/* Parses SSH_AGENT_IDENTITIES_ANSWER.  MD_OK, MD_EPARSE (another message or malformed),
 * MD_ENOMEM.  keys is filled on MD_OK only; free it with ssh_agent_keys_free(). */
int ssh_agent_parse_identities(const unsigned char *msg, size_t len, struct ssh_agent_keys *keys);
void ssh_agent_keys_free(struct ssh_agent_keys *keys);
/* Parses SSH_AGENT_SIGN_RESPONSE: *sig points, inside msg, at the signature itself (the
 * blob's second string, after the algorithm name, which *alg gets).  MD_OK, MD_EAUTH
 * (SSH_AGENT_FAILURE: the agent refused to sign), MD_EPARSE. */
int ssh_agent_parse_signature(const unsigned char *msg, size_t len, char *alg, size_t alg_n,
			      const unsigned char **sig, size_t *sig_len);
/* The SSH_AGENTC_SIGN_REQUEST flags for public key algorithm alg (draft-miller-ssh-agent
 * §5.3): SSH_AGENT_RSA_SHA2_256 (2) for rsa-sha2-256 and its certificate form
 * rsa-sha2-256-cert-v01@openssh.com, SSH_AGENT_RSA_SHA2_512 (4) likewise, else 0. */
uint32_t ssh_agent_sign_flags(const char *alg);
/* The signature algorithm a signature made for public key algorithm alg must name
 * (PROTOCOL.certkeys in OpenSSH: a certificate signs as its plain key type):
 * "rsa-sha2-512-cert-v01@openssh.com" gives "rsa-sha2-512",
 * "sk-ssh-ed25519-cert-v01@openssh.com" "sk-ssh-ed25519@openssh.com", "ssh-ed25519" itself. */
void ssh_sig_alg_of(const char *alg, char *out, size_t n);
/* The public key algorithm named in the data a client signs for "publickey"
 * authentication (RFC 4252 §7: session id, then the SSH_MSG_USERAUTH_REQUEST), e.g.
 * "rsa-sha2-512".  MD_OK or MD_EPARSE. */
int ssh_userauth_sign_alg(const unsigned char *data, size_t len, char *alg, size_t n);

/* Connects to the agent's Unix socket path before the deadline (*fd_out: non-blocking,
 * close-on-exec; -1 on failure).  MD_OK, MD_EINVAL (path too long), MD_ETIMEOUT (the
 * agent accepts no connection), MD_EIO; why gets one line for evidence. */
int ssh_agent_connect(const char *path, const struct md_deadline *dl, int *fd_out, char *why,
		      size_t why_n);

#endif
