/* wg_ping — traffic through a lab WireGuard tunnel: ICMP echo requests (RFC 792) to an
 * IPv4 address, answered by the peer's kernel, so the lab needs no `ping` binary.
 *
 *   wg_ping ADDR COUNT INTERVAL_MS [DELAY_MS [SIZE]]
 *
 * Waits DELAY_MS, then sends COUNT requests of SIZE payload bytes (default 56), one every
 * INTERVAL_MS, collecting replies meanwhile (and for one interval after the last).
 * Prints "sent N received M" and exits 0 (replies or not: the lab asserts on the capture).
 * Needs a raw socket (root), like the rest of the lab. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint16_t checksum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int count_replies(int fd, int wait_ms, uint16_t id)
{
	uint8_t buf[65536];
	int got = 0;
	int64_t end = now_ms() + wait_ms;

	for (;;) {
		int64_t left = end - now_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return got;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 28)
			continue;
		{
			size_t ihl = (size_t)(buf[0] & 15) * 4;

			/* Echo reply (type 0) carrying our identifier. */
			if ((size_t)n >= ihl + 8 && buf[ihl] == 0 &&
			    (uint16_t)(buf[ihl + 4] << 8 | buf[ihl + 5]) == id)
				got++;
		}
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	int count, interval, delay = 0, size = 56, fd, sent = 0, got = 0;
	uint16_t id = (uint16_t)getpid();
	uint8_t pkt[65536];

	if (argc < 4 || inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
		fprintf(stderr, "usage: wg_ping ADDR COUNT INTERVAL_MS [DELAY_MS [SIZE]]\n");
		return 64;
	}
	count = atoi(argv[2]);
	interval = atoi(argv[3]);
	if (argc > 4)
		delay = atoi(argv[4]);
	if (argc > 5)
		size = atoi(argv[5]);
	if (size < 0 || size > 65000)
		return 64;
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (fd < 0) {
		fprintf(stderr, "wg_ping: socket: %s\n", strerror(errno));
		return 1;
	}
	usleep((useconds_t)delay * 1000);
	for (int i = 0; i < count; i++) {
		size_t n = 8 + (size_t)size;
		uint16_t c;

		memset(pkt, 0, n);
		pkt[0] = 8; /* echo request */
		pkt[4] = (uint8_t)(id >> 8);
		pkt[5] = (uint8_t)id;
		pkt[6] = (uint8_t)(i >> 8);
		pkt[7] = (uint8_t)i;
		for (size_t j = 8; j < n; j++)
			pkt[j] = (uint8_t)j;
		c = checksum(pkt, n);
		pkt[2] = (uint8_t)(c >> 8);
		pkt[3] = (uint8_t)c;
		if (sendto(fd, pkt, n, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)n)
			sent++;
		else
			fprintf(stderr, "wg_ping: sendto %s: %s\n", argv[1], strerror(errno));
		got += count_replies(fd, interval, id);
	}
	printf("sent %d received %d\n", sent, got);
	close(fd);
	return 0;
}
