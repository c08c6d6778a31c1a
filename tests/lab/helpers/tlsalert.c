/* tlsalert.c — a tiny TLS server for the lab, for the two failures openssl s_server cannot
 * produce (s_server sends unrecognized_name or handshake_failure, never internal_error):
 *
 *   tlsalert alert ADDR PORT   answers every ClientHello with a fatal internal_error alert
 *                              (80), from the servername callback — what Go's crypto/tls,
 *                              and so tailscaled's serve, sends when it has no certificate;
 *   tlsalert hang ADDR PORT    accepts TCP and never answers (the seed's handshake that
 *                              "times out after 60s").
 *
 * Test program: prints to stderr, exits on bad usage.  One connection at a time is enough
 * for the lab (meshdoctor makes one TLS connection per run). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* OpenSSL >= 1.1.1 calls this for every ClientHello, with or without SNI. */
static int refuse_cb(SSL *s, int *alert, void *arg)
{
	(void)s;
	(void)arg;
	*alert = SSL_AD_INTERNAL_ERROR;
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static int listen_on(const char *addr, int port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd, one = 1;

	if (strchr(addr, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1)
			return -1;
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, addr, &a->sin_addr) != 1)
			return -1;
		len = sizeof(*a);
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 64) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	int lfd, held[512], n_held = 0;
	bool alert;
	SSL_CTX *ctx = NULL;

	if (argc != 4 || (strcmp(argv[1], "alert") && strcmp(argv[1], "hang"))) {
		fprintf(stderr, "usage: tlsalert alert|hang ADDR PORT\n");
		return 64;
	}
	alert = strcmp(argv[1], "alert") == 0;
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_on(argv[2], atoi(argv[3]));
	if (lfd < 0) {
		perror("tlsalert: listen");
		return 1;
	}
	if (alert) {
		ctx = SSL_CTX_new(TLS_server_method());
		if (!ctx)
			return 1;
		SSL_CTX_set_tlsext_servername_callback(ctx, refuse_cb);
	}
	fprintf(stderr, "tlsalert: %s mode on %s:%s\n", argv[1], argv[2], argv[3]);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		if (!alert) {
			/* Hold it open, never read or write; drop the oldest when full. */
			if (n_held == (int)(sizeof(held) / sizeof(held[0]))) {
				close(held[0]);
				memmove(held, held + 1, sizeof(held) - sizeof(held[0]));
				n_held--;
			}
			held[n_held++] = fd;
			continue;
		}
		{
			struct timeval tv = { 5, 0 };
			SSL *ssl = SSL_new(ctx);

			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			if (ssl) {
				SSL_set_fd(ssl, fd);
				if (SSL_accept(ssl) != 1)
					ERR_clear_error(); /* expected: we sent the alert */
				SSL_free(ssl);
			}
			close(fd);
		}
	}
}
