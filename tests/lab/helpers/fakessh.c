/* fakessh — TCP listeners that are not (working) SSH servers, for tests/lab/lab_ssh.c.
 *
 *   fakessh MODE ADDR PORT
 *
 * MODE:
 *   http       on accept, send an HTTP 400 response and close (a web server on the port)
 *   http-wait  wait for the client's first line, then answer HTTP 400 and close (a web
 *              server that speaks only when spoken to, as real ones do)
 *   silent     accept and never send anything; swallow input (a hung server or proxy)
 *   close      accept and close at once (sshd refusing the client before its banner)
 *   windows    send "SSH-2.0-OpenSSH_for_Windows_9.5\r\n", then swallow input (the banner
 *              of Windows' OpenSSH with no key exchange behind it)
 *   banner-close  send "SSH-2.0-OpenSSH_9.2p1\r\n", then close as soon as the client sends
 *              anything (its identification): every connection, the key exchange's and a
 *              second one that would read the server's SSH_MSG_KEXINIT, ends before any
 *              packet
 *
 * One process, poll() over the listener and every client; runs until killed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS 64

static const char http400[] = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
			      "Content-Length: 11\r\nConnection: close\r\n\r\nBad Request";
static const char windows_banner[] = "SSH-2.0-OpenSSH_for_Windows_9.5\r\n";
static const char openssh_banner[] = "SSH-2.0-OpenSSH_9.2p1\r\n";

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

int main(int argc, char **argv)
{
	struct pollfd pfd[MAX_CLIENTS + 1];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *mode;
	int lfd, one = 1;
	size_t n = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: fakessh http|http-wait|silent|close|windows|banner-close ADDR PORT\n");
		return 64;
	}
	mode = argv[1];
	sa.sin_port = htons((unsigned short)atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) {
		fprintf(stderr, "fakessh: bad address %s\n", argv[2]);
		return 64;
	}
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 16) < 0) {
		fprintf(stderr, "fakessh: listen %s:%s: %s\n", argv[2], argv[3], strerror(errno));
		return 1;
	}
	fprintf(stderr, "fakessh: %s on %s:%s\n", mode, argv[2], argv[3]);
	pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (pfd[0].revents & POLLIN) {
			int c = accept(lfd, NULL, NULL);

			if (c >= 0) {
				if (strcmp(mode, "http") == 0) {
					send_all(c, http400, sizeof(http400) - 1);
					close(c);
				} else if (strcmp(mode, "close") == 0 || n > MAX_CLIENTS) {
					close(c);
				} else {
					if (strcmp(mode, "windows") == 0)
						send_all(c, windows_banner, sizeof(windows_banner) - 1);
					else if (strcmp(mode, "banner-close") == 0)
						send_all(c, openssh_banner, sizeof(openssh_banner) - 1);
					pfd[n++] = (struct pollfd){ .fd = c, .events = POLLIN };
				}
			}
		}
		for (size_t i = 1; i < n; i++) {
			char buf[4096];
			ssize_t r;

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = recv(pfd[i].fd, buf, sizeof(buf), 0);
			if (r > 0 && strcmp(mode, "http-wait") == 0 && memchr(buf, '\n', (size_t)r)) {
				send_all(pfd[i].fd, http400, sizeof(http400) - 1);
				r = 0;
			}
			if (r > 0 && strcmp(mode, "banner-close") == 0)
				r = 0;
			if (r <= 0) {
				close(pfd[i].fd);
				pfd[i--] = pfd[--n];
			}
		}
	}
}
