/* ssh_agent.c — the ssh-agent protocol over its Unix socket, every read and write bounded
 * by the caller's deadline. */
#include "core/ssh_agent.h"
#include "core/err.h"
#include "core/ssh_wire.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* OpenSSH's limits: AGENT_MAX_LEN in authfd.c, MAX_AGENT_IDENTITIES. */
#define AGENT_MSG_MAX (256u * 1024)
#define AGENT_KEYS_MAX 2048u


int ssh_agent_request(int fd, const unsigned char *req, size_t req_len, unsigned char **resp,
		      size_t *resp_len, const struct md_deadline *dl)
{
	unsigned char hdr[4];
	uint32_t len;
	int rc;

	*resp = NULL;
	*resp_len = 0;
	ssh_put_u32(hdr, (uint32_t)req_len);
	if ((rc = ssh_io_all(fd, true, hdr, 4, dl)) || (rc = ssh_io_all(fd, true, (void *)req, req_len, dl)) ||
	    (rc = ssh_io_all(fd, false, hdr, 4, dl)))
		return rc;
	len = ssh_get_u32(hdr);
	if (len == 0 || len > AGENT_MSG_MAX)
		return len ? MD_ETOOBIG : MD_EIO;
	*resp = malloc(len);
	if (!*resp)
		return MD_ENOMEM;
	rc = ssh_io_all(fd, false, *resp, len, dl);
	if (rc) {
		free(*resp);
		*resp = NULL;
		return rc;
	}
	*resp_len = len;
	return MD_OK;
}

void ssh_agent_keys_free(struct ssh_agent_keys *keys)
{
	for (size_t i = 0; keys->v && i < keys->n; i++) {
		free(keys->v[i].blob);
		free(keys->v[i].comment);
	}
	free(keys->v);
	keys->v = NULL;
	keys->n = 0;
}

int ssh_agent_parse_identities(const unsigned char *msg, size_t len, struct ssh_agent_keys *keys)
{
	const unsigned char *p, *end, *blob, *comment;
	size_t blob_len, comment_len;
	struct ssh_agent_keys k = { 0 };
	uint32_t n;

	memset(keys, 0, sizeof(*keys));
	if (len < 5 || msg[0] != SSH_AGENT_IDENTITIES_ANSWER)
		return MD_EPARSE;
	p = msg + 5;
	end = msg + len;
	n = ssh_get_u32(msg + 1);
	if (n > AGENT_KEYS_MAX)
		return MD_EPARSE;
	k.v = calloc(n ? n : 1, sizeof(*k.v));
	if (!k.v)
		return MD_ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct ssh_agent_key *x = &k.v[k.n];

		if (ssh_get_string(&p, end, &blob, &blob_len) || ssh_get_string(&p, end, &comment, &comment_len)) {
			ssh_agent_keys_free(&k);
			return MD_EPARSE;
		}
		x->blob = malloc(blob_len ? blob_len : 1);
		x->comment = malloc(comment_len + 1);
		k.n++;
		if (!x->blob || !x->comment) {
			ssh_agent_keys_free(&k);
			return MD_ENOMEM;
		}
		memcpy(x->blob, blob, blob_len);
		x->blob_len = blob_len;
		memcpy(x->comment, comment, comment_len);
		x->comment[comment_len] = '\0';
	}
	*keys = k;
	return MD_OK;
}

int ssh_agent_parse_signature(const unsigned char *msg, size_t len, char *alg, size_t alg_n,
			      const unsigned char **sig, size_t *sig_len)
{
	const unsigned char *p, *blob, *a, *end;
	size_t blob_len, a_len;

	if (len < 1)
		return MD_EPARSE;
	if (msg[0] == SSH_AGENT_FAILURE)
		return MD_EAUTH;
	p = msg + 1;
	if (msg[0] != SSH_AGENT_SIGN_RESPONSE || ssh_get_string(&p, msg + len, &blob, &blob_len))
		return MD_EPARSE;
	/* The signature blob (RFC 4253 §6.6): string algorithm, string signature. */
	p = blob;
	end = blob + blob_len;
	if (ssh_get_string(&p, end, &a, &a_len) || a_len >= alg_n || ssh_get_string(&p, end, sig, sig_len))
		return MD_EPARSE;
	memcpy(alg, a, a_len);
	alg[a_len] = '\0';
	return MD_OK;
}

int ssh_userauth_sign_alg(const unsigned char *data, size_t len, char *alg, size_t n)
{
	/* RFC 4252 §7: string session id, byte SSH_MSG_USERAUTH_REQUEST (50), string user,
	 * string service, string "publickey", boolean TRUE, string algorithm, string key. */
	const unsigned char *p = data, *end = data + len, *s;
	size_t l;

	if (ssh_get_string(&p, end, &s, &l) || end - p < 1 || *p++ != 50 || ssh_get_string(&p, end, &s, &l) ||
	    ssh_get_string(&p, end, &s, &l) || ssh_get_string(&p, end, &s, &l) || l != 9 ||
	    memcmp(s, "publickey", 9) != 0 || end - p < 1)
		return MD_EPARSE;
	p++;
	if (ssh_get_string(&p, end, &s, &l) || l == 0 || l >= n)
		return MD_EPARSE;
	memcpy(alg, s, l);
	alg[l] = '\0';
	return MD_OK;
}

/* Connects to the agent's socket before the deadline.  why: one line for evidence. */
int ssh_agent_connect(const char *path, const struct md_deadline *dl, int *fd_out, char *why,
			 size_t why_n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	*fd_out = -1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(why, why_n, "%s: path too long for a Unix socket", path);
		return MD_EINVAL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, why_n, "socket: %s", strerror(errno));
		return MD_EIO;
	}
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (errno == EINTR)
			continue;
		/* A Unix socket says EAGAIN when the listener's backlog is full: the agent
		 * accepts no more connections.  Retry until the deadline. */
		if (errno == EAGAIN && md_deadline_left_ms(dl) > 0) {
			poll(NULL, 0, 20);
			continue;
		}
		int e = errno;

		snprintf(why, why_n, "connect %s: %s", path,
			 e == EAGAIN ? "the agent accepts no connection" : strerror(e));
		close(fd);
		return e == EAGAIN ? MD_ETIMEOUT : MD_EIO;
	}
	*fd_out = fd;
	return MD_OK;
}


#define CERT_SUFFIX "-cert-v01@openssh.com"

uint32_t ssh_agent_sign_flags(const char *alg)
{
	/* By prefix: the certificate algorithms rsa-sha2-256-cert-v01@openssh.com and
	 * rsa-sha2-512-cert-v01@openssh.com sign with the same hashes. */
	if (strncmp(alg, "rsa-sha2-256", 12) == 0 && (!alg[12] || strcmp(alg + 12, CERT_SUFFIX) == 0))
		return SSH_AGENT_RSA_SHA2_256;
	if (strncmp(alg, "rsa-sha2-512", 12) == 0 && (!alg[12] || strcmp(alg + 12, CERT_SUFFIX) == 0))
		return SSH_AGENT_RSA_SHA2_512;
	return 0;
}

void ssh_sig_alg_of(const char *alg, char *out, size_t n)
{
	size_t l = strlen(alg), sl = strlen(CERT_SUFFIX);

	if (l > sl && strcmp(alg + l - sl, CERT_SUFFIX) == 0) {
		/* Security-key types keep their "@openssh.com": sk-ssh-ed25519@openssh.com. */
		bool sk = strncmp(alg, "sk-", 3) == 0;

		snprintf(out, n, "%.*s%s", (int)(l - sl), alg, sk ? "@openssh.com" : "");
	} else {
		snprintf(out, n, "%s", alg);
	}
}
