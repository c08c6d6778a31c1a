/* fuzz_ssh_agent — an ssh-agent's answers (core/ssh_agent.c, draft-miller-ssh-agent): the
 * input read back as the answer to a request over a socket pair (the length-prefixed
 * framing), then parsed as an identities answer and as a sign response; and the data a
 * client signs, for the algorithm it names. */
#include "core/err.h"
#include "core/ssh_agent.h"
#include "tests/fuzz/fuzz.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

/* The answer the agent at the other end of a socket pair sends: the input itself, then
 * the end of the stream. */
static void framed(const uint8_t *data, size_t size)
{
	int sv[2];
	unsigned char req[1] = { SSH_AGENTC_REQUEST_IDENTITIES }, *resp = NULL;
	size_t resp_len = 0;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 2000);
	struct ssh_agent_keys keys;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	/* At most what the socket buffers hold, so that this write does not block. */
	if (size > 65536)
		size = 65536;
	if (write(sv[1], data, size) == (ssize_t)size) {
		shutdown(sv[1], SHUT_WR);
		if (ssh_agent_request(sv[0], req, sizeof(req), &resp, &resp_len, &dl) == MD_OK &&
		    ssh_agent_parse_identities(resp, resp_len, &keys) == MD_OK)
			ssh_agent_keys_free(&keys);
		free(resp);
	}
	close(sv[0]);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ssh_agent_keys keys;
	const unsigned char *sig;
	size_t sig_len;
	char alg[64];

	if (ssh_agent_parse_identities(data, size, &keys) == MD_OK)
		ssh_agent_keys_free(&keys);
	(void)ssh_agent_parse_signature(data, size, alg, sizeof(alg), &sig, &sig_len);
	(void)ssh_userauth_sign_alg(data, size, alg, sizeof(alg));
	framed(data, size);
	return 0;
}
