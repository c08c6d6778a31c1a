/* hsfake.c — a FIXTURE stand-in for Headscale's HTTP server in the lab (Headscale cannot
 * run here).  It answers the three endpoints meshdoctor's headscale probe asks, the way
 * Headscale 0.29's router does (HS hscontrol/app.go, handlers.go; Go's net/http framing:
 * Content-Type, Content-Length, Date):
 *
 *   GET /health      200 {"status":"pass"} (500 {"status":"fail"} when unhealthy),
 *                    Content-Type: application/health+json; charset=utf-8
 *   GET /version     200 {"version":"v0.29.2",...} (404 "404 page not found" when old)
 *   GET /key?v=N     200 {"legacyPublicKey":"mkey:0...","publicKey":"mkey:<hex>"}; without
 *                    v: 400 "capability version must be set"
 *   anything else    404 "404 page not found\n" (text/plain; charset=utf-8)
 *
 *   hsfake MODE ADDR PORT    MODE: healthy, unhealthy, old (0.26: no /version), hang
 *                            (accepts TCP and never answers)
 *
 * Test program: prints to stderr, exits on bad usage.  One connection at a time. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_HELD 64

static const char *mode;

static int listen_on(const char *addr, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
		return -1;
	return fd;
}

static void reply(int fd, int status, const char *reason, const char *type, const char *body)
{
	char head[512], date[64];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nDate: %s\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, reason, type, date, strlen(body));
	if (write(fd, head, strlen(head)) < 0 || write(fd, body, strlen(body)) < 0)
		perror("hsfake: write");
}

static void serve(int fd)
{
	char req[4096] = "", path[1024] = "";
	size_t n = 0;
	struct timeval tv = { .tv_sec = 2 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (n + 1 < sizeof(req) && !strstr(req, "\r\n\r\n")) {
		ssize_t r = read(fd, req + n, sizeof(req) - 1 - n);

		if (r <= 0)
			return;
		n += (size_t)r;
		req[n] = '\0';
	}
	if (sscanf(req, "GET %1023s HTTP/1.", path) != 1) {
		reply(fd, 400, "Bad Request", "text/plain; charset=utf-8", "400 Bad Request");
		return;
	}
	if (strcmp(path, "/health") == 0) {
		bool ok = strcmp(mode, "unhealthy") != 0;

		reply(fd, ok ? 200 : 500, ok ? "OK" : "Internal Server Error",
		      "application/health+json; charset=utf-8", ok ? "{\"status\":\"pass\"}" : "{\"status\":\"fail\"}");
	} else if (strcmp(path, "/version") == 0 && strcmp(mode, "old") != 0) {
		reply(fd, 200, "OK", "application/json", "{\"version\":\"v0.29.2\",\"commit\":\"2f3c7e1a\","
		      "\"buildTime\":\"2026-07-01T12:00:00Z\",\"go\":{\"version\":\"go1.26.4\",\"os\":\"linux\","
		      "\"arch\":\"amd64\"},\"dirty\":false}");
	} else if (strncmp(path, "/key", 4) == 0 && (path[4] == '\0' || path[4] == '?')) {
		if (!strstr(path, "v="))
			reply(fd, 400, "Bad Request", "text/plain; charset=utf-8", "capability version must be set");
		else
			reply(fd, 200, "OK", "application/json",
			      "{\"legacyPublicKey\":\"mkey:0000000000000000000000000000000000000000000000000000000000000000\","
			      "\"publicKey\":\"mkey:5c1e38a8f0b2d64f9e3a7c1b0d2e4f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e\"}");
	} else {
		reply(fd, 404, "Not Found", "text/plain; charset=utf-8", "404 page not found\n");
	}
}

int main(int argc, char **argv)
{
	int held[MAX_HELD], n_held = 0, lfd;

	if (argc != 4 || (strcmp(argv[1], "healthy") && strcmp(argv[1], "unhealthy") && strcmp(argv[1], "old") &&
			  strcmp(argv[1], "hang"))) {
		fprintf(stderr, "usage: hsfake healthy|unhealthy|old|hang ADDR PORT\n");
		return 64;
	}
	mode = argv[1];
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_on(argv[2], atoi(argv[3]));
	if (lfd < 0) {
		perror("hsfake: listen");
		return 1;
	}
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		if (strcmp(mode, "hang") == 0) {
			if (n_held < MAX_HELD)
				held[n_held++] = fd; /* never answered, never closed */
			else
				close(held[n_held % MAX_HELD]), held[n_held % MAX_HELD] = fd;
			continue;
		}
		serve(fd);
		close(fd);
	}
}
