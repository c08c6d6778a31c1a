/* fakeagent — SSH agent stand-ins that misbehave, for tests/lab/lab_ssh.c.
 *
 *   fakeagent MODE SOCKET [PUBFILE]
 *
 * Listens on the Unix socket SOCKET (created, 0600) and, on each connection:
 *   silent     accepts, reads the requests and never answers (a hung agent, or one
 *              forwarded over an SSH connection that died)
 *   sign-hang  answers SSH2_AGENTC_REQUEST_IDENTITIES with the key in PUBFILE (an
 *              OpenSSH .pub file) and never answers the signature request (an agent
 *              waiting for a confirmation nobody gives)
 *   sign-wrong-alg  lists the key as sign-hang does and answers every signature request
 *              with a well-formed SSH_AGENT_SIGN_RESPONSE whose signature names "ssh-rsa"
 *              (an agent that ignores the algorithm asked for)
 *   sign-toobig  lists the key and answers a signature request with a length of 300 KiB,
 *              then a few bytes of it only, and keeps the connection open
 *
 * Messages as in draft-miller-ssh-agent §3: uint32 length, byte type, contents.  One
 * process, poll() over the listener and every client; runs until killed. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/evp.h>

#define MAX_CLIENTS 32
#define REQUEST_IDENTITIES 11
#define IDENTITIES_ANSWER 12
#define SIGN_REQUEST 13
#define SIGN_RESPONSE 14

enum mode { SILENT, SIGN_HANG, SIGN_WRONG_ALG, SIGN_TOOBIG };

struct client {
	int fd;
	unsigned char buf[65536];
	size_t have;
};

static unsigned char key_blob[4096];
static size_t key_len;

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static int load_pub(const char *path)
{
	char type[64], b64[8192];
	FILE *fp = fopen(path, "r");
	int n;

	if (!fp || fscanf(fp, "%63s %8191s", type, b64) != 2) {
		if (fp)
			fclose(fp);
		return -1;
	}
	fclose(fp);
	n = EVP_DecodeBlock(key_blob, (const unsigned char *)b64, (int)strlen(b64));
	if (n <= 0)
		return -1;
	key_len = (size_t)n;
	for (const char *p = b64 + strlen(b64); p > b64 && p[-1] == '='; p--)
		key_len--;
	return 0;
}

static void answer_identities(int fd)
{
	static const char comment[] = "fakeagent";
	unsigned char msg[4 + 1 + 4 + 4 + sizeof(key_blob) + 4 + sizeof(comment)], *p = msg + 4;

	*p++ = IDENTITIES_ANSWER;
	put_u32(p, 1);
	p += 4;
	put_u32(p, (uint32_t)key_len);
	memcpy(p + 4, key_blob, key_len);
	p += 4 + key_len;
	put_u32(p, sizeof(comment) - 1);
	memcpy(p + 4, comment, sizeof(comment) - 1);
	p += 4 + sizeof(comment) - 1;
	put_u32(msg, (uint32_t)(p - msg - 4));
	if (send(fd, msg, (size_t)(p - msg), MSG_NOSIGNAL) < 0)
		perror("fakeagent: send");
}

static void send_all(int fd, const unsigned char *p, size_t n)
{
	if (send(fd, p, n, MSG_NOSIGNAL) < 0)
		perror("fakeagent: send");
}

/* SSH_AGENT_SIGN_RESPONSE: string signature = (string "ssh-rsa", string 64 zero bytes). */
static void answer_wrong_alg(int fd)
{
	unsigned char msg[4 + 1 + 4 + 4 + 7 + 4 + 64] = { 0 }, *p = msg + 4;

	*p++ = SIGN_RESPONSE;
	put_u32(p, 4 + 7 + 4 + 64);
	p += 4;
	put_u32(p, 7);
	memcpy(p + 4, "ssh-rsa", 7);
	p += 4 + 7;
	put_u32(p, 64);
	p += 4 + 64;
	put_u32(msg, (uint32_t)(p - msg - 4));
	send_all(fd, msg, (size_t)(p - msg));
}

/* A length over the client's limit (256 KiB), then the start of the body only. */
static void answer_toobig(int fd)
{
	unsigned char msg[4 + 16] = { 0 };

	put_u32(msg, 300u * 1024);
	msg[4] = SIGN_RESPONSE;
	send_all(fd, msg, sizeof(msg));
}

/* Handles the complete messages in c->buf; keeps the rest. */
static void serve(struct client *c, enum mode mode)
{
	for (;;) {
		uint32_t len;

		if (c->have < 4)
			return;
		len = (uint32_t)c->buf[0] << 24 | (uint32_t)c->buf[1] << 16 | (uint32_t)c->buf[2] << 8 |
		      c->buf[3];
		if (len > sizeof(c->buf) - 4) {
			c->have = 0; /* too big for this stand-in: swallow */
			return;
		}
		if (c->have < 4 + len)
			return;
		if (mode != SILENT && len >= 1 && c->buf[4] == REQUEST_IDENTITIES)
			answer_identities(c->fd);
		else if (mode == SIGN_WRONG_ALG && len >= 1 && c->buf[4] == SIGN_REQUEST)
			answer_wrong_alg(c->fd);
		else if (mode == SIGN_TOOBIG && len >= 1 && c->buf[4] == SIGN_REQUEST)
			answer_toobig(c->fd);
		/* Anything else (the signature request in sign-hang) stays unanswered. */
		memmove(c->buf, c->buf + 4 + len, c->have - 4 - len);
		c->have -= 4 + len;
	}
}

int main(int argc, char **argv)
{
	static struct client clients[MAX_CLIENTS];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static const char *const names[] = { "silent", "sign-hang", "sign-wrong-alg", "sign-toobig" };
	int lfd, mode = -1;

	for (int i = 0; argc >= 3 && i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (strcmp(argv[1], names[i]) == 0)
			mode = i;
	if (mode < 0 || (mode != SILENT && argc < 4)) {
		fprintf(stderr, "usage: fakeagent silent|sign-hang|sign-wrong-alg|sign-toobig SOCKET [PUBFILE]\n");
		return 64;
	}
	if (mode != SILENT && load_pub(argv[3]) != 0) {
		fprintf(stderr, "fakeagent: cannot read the public key %s\n", argv[3]);
		return 1;
	}
	if (strlen(argv[2]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "fakeagent: socket path too long\n");
		return 1;
	}
	memcpy(sa.sun_path, argv[2], strlen(argv[2]) + 1);
	unlink(argv[2]);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	umask(077);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 16) != 0) {
		perror("fakeagent: listen");
		return 1;
	}
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	for (;;) {
		struct pollfd p[MAX_CLIENTS + 1];
		size_t n = 0, idx[MAX_CLIENTS + 1];

		p[n++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (size_t i = 0; i < MAX_CLIENTS; i++)
			if (clients[i].fd >= 0) {
				idx[n] = i;
				p[n++] = (struct pollfd){ .fd = clients[i].fd, .events = POLLIN };
			}
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("fakeagent: poll");
			return 1;
		}
		if (p[0].revents & POLLIN) {
			int fd = accept(lfd, NULL, NULL);

			for (size_t i = 0; fd >= 0 && i < MAX_CLIENTS; i++)
				if (clients[i].fd < 0) {
					clients[i].fd = fd;
					clients[i].have = 0;
					fd = -1;
				}
			if (fd >= 0)
				close(fd);
		}
		for (size_t k = 1; k < n; k++) {
			struct client *c = &clients[idx[k]];
			ssize_t r;

			if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);
			if (r <= 0) {
				close(c->fd);
				c->fd = -1;
				continue;
			}
			c->have += (size_t)r;
			serve(c, (enum mode)mode);
		}
	}
}
