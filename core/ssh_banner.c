/* ssh_banner.c — the identification string (RFC 4253 §4.2). */
#include "core/ssh_banner.h"
#include "core/err.h"
#include "core/net.h"
#include "core/ssh_wire.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int ssh_banner_parse(const char *line, struct ssh_banner *b)
{
	const char *proto, *soft, *dash, *sp, *v;

	memset(b, 0, sizeof(*b));
	b->openssh_major = b->openssh_minor = -1;
	if (strncmp(line, "SSH-", 4) != 0)
		return MD_EPARSE;
	proto = line + 4;
	dash = strchr(proto, '-');
	if (!dash || dash == proto)
		return MD_EPARSE;
	ssh_copy_span(b->proto, sizeof(b->proto), proto, (size_t)(dash - proto));
	soft = dash + 1;
	sp = strchr(soft, ' ');
	ssh_copy_span(b->software, sizeof(b->software), soft, sp ? (size_t)(sp - soft) : strlen(soft));
	if (!b->software[0])
		return MD_EPARSE;
	if (sp)
		snprintf(b->comments, sizeof(b->comments), "%s", sp + 1);
	/* Microsoft's port names itself OpenSSH_for_Windows_<version> (Win32-OpenSSH). */
	if (strncmp(b->software, "OpenSSH_for_Windows_", 20) == 0) {
		b->windows = true;
		v = b->software + 20;
	} else if (strncmp(b->software, "OpenSSH_", 8) == 0) {
		v = b->software + 8;
	} else {
		return MD_OK;
	}
	if (sscanf(v, "%d.%d", &b->openssh_major, &b->openssh_minor) != 2)
		b->openssh_major = b->openssh_minor = -1;
	return MD_OK;
}

bool ssh_openssh_at_least(const struct ssh_banner *b, int major, int minor)
{
	if (b->openssh_major < 0)
		return false;
	return b->openssh_major > major || (b->openssh_major == major && b->openssh_minor >= minor);
}

enum ssh_scan ssh_banner_scan(const char *buf, size_t len, size_t *skip, size_t *line_len,
			      bool *other)
{
	size_t pos = 0;

	*skip = *line_len = 0;
	while (pos < len) {
		const char *start = buf + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - start) : len - pos;

		if (memchr(start, '\0', l))
			return SSH_SCAN_NOT_SSH;
		if (!nl) {
			size_t cmp = l < 4 ? l : 4;

			if (memcmp(start, "SSH-", cmp) != 0)
				*other = true;
			return l > SSH_BANNER_LINE_MAX ? SSH_SCAN_NOT_SSH : SSH_SCAN_MORE;
		}
		if (l >= 4 && memcmp(start, "SSH-", 4) == 0) {
			*skip = pos;
			*line_len = l && start[l - 1] == '\r' ? l - 1 : l;
			return SSH_SCAN_BANNER;
		}
		*other = true;
		if (l > SSH_BANNER_LINE_MAX)
			return SSH_SCAN_NOT_SSH;
		pos += l + 1;
		if (pos > SSH_BANNER_PREAMBLE_MAX)
			return SSH_SCAN_NOT_SSH;
	}
	return SSH_SCAN_MORE;
}

/* How long to wait for the server to speak first before letting libssh2 send our own
 * identification: SSH servers send theirs on accept (RFC 4253 §4.2), while some other
 * protocols (HTTP) stay silent until the client speaks, as `ssh` does at once. */
#define BANNER_PEEK_MS 1000
/* After a line that is not "SSH-", how long an SSH line may still take to follow. */
#define BANNER_GRACE_MS 500

/* Peeks at what the server sends first (MSG_PEEK: the bytes stay for libssh2), and
 * consumes the lines before the "SSH-" line, which libssh2 1.10 would take for the
 * banner.  SSH_PEEK_SILENT: nothing arrived within BANNER_PEEK_MS. */
enum ssh_peek ssh_banner_peek(int fd, const struct md_deadline *dl, char *line,
				       size_t line_n, char *first, size_t first_n)
{
	char buf[SSH_BANNER_PREAMBLE_MAX + SSH_BANNER_LINE_MAX];
	struct md_deadline quiet = md_deadline_min(*dl, md_deadline_after(md_now_ms(), BANNER_PEEK_MS));
	int64_t grace_end = 0;
	ssize_t have = 0, n;
	char pre[64];
	size_t pre_len = 0;

	line[0] = first[0] = '\0';
	bool other = false;

	for (;;) {
		size_t skip, l;
		enum ssh_scan sc;

		if (have == 0) {
			int prc = md_net_wait(fd, POLLIN, &quiet);

			if (prc == MD_ETIMEOUT)
				return md_deadline_left_ms(dl) <= 0 ? SSH_PEEK_NONE : SSH_PEEK_SILENT;
		} else {
			/* Peeked data stays readable, so wait for more with a short tick; a peer
			 * that already closed its side (POLLRDHUP) will send nothing more. */
			struct md_deadline tick = md_deadline_min(*dl, md_deadline_after(md_now_ms(), 20));
			struct pollfd p = { .fd = fd, .events = POLLRDHUP };

			if (poll(&p, 1, md_deadline_poll_ms(&tick)) > 0) {
				ssh_escape(buf, (size_t)(have < 64 ? have : 64), first, first_n);
				return other ? SSH_PEEK_NOT_SSH : SSH_PEEK_CLOSED;
			}
		}
		n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			n = have;
		} else if (n <= 0) {
			if (have || pre_len) {
				ssh_escape(pre_len ? pre : buf, pre_len ? pre_len : (size_t)have, first,
					   first_n);
				return SSH_PEEK_NOT_SSH;
			}
			snprintf(first, first_n, "%s", n == 0 ? "connection closed" : strerror(errno));
			return SSH_PEEK_CLOSED;
		}
		have = n;
		sc = ssh_banner_scan(buf, (size_t)have, &skip, &l, &other);
		if (sc == SSH_SCAN_BANNER) {
			ssh_copy_span(line, line_n, buf + skip, l);
			if (skip) {
				/* RFC 4253 §4.2 allows these lines; hand libssh2 the SSH- line. */
				if (!pre_len) {
					pre_len = skip < sizeof(pre) ? skip : sizeof(pre);
					memcpy(pre, buf, pre_len);
				}
				if (recv(fd, buf, skip, 0) != (ssize_t)skip)
					return SSH_PEEK_CLOSED;
				ssh_escape(pre, pre_len, first, first_n);
			}
			return SSH_PEEK_OK;
		}
		if (sc == SSH_SCAN_NOT_SSH || (other && grace_end && md_now_ms() >= grace_end)) {
			ssh_escape(buf, (size_t)(have < 64 ? have : 64), first, first_n);
			return SSH_PEEK_NOT_SSH;
		}
		if (other && !grace_end)
			grace_end = md_now_ms() + BANNER_GRACE_MS;
		if (md_deadline_left_ms(dl) <= 0) {
			ssh_escape(buf, (size_t)(have < 64 ? have : 64), first, first_n);
			return other ? SSH_PEEK_NOT_SSH : SSH_PEEK_NONE;
		}
	}
}
