#include "core/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void md_addr_format(const struct sockaddr *sa, socklen_t len, char *out, size_t n)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	(void)len;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
		snprintf(out, n, "%s:%d", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		snprintf(out, n, "[%s]:%d", host, port);
	} else {
		snprintf(out, n, "?");
	}
}

bool md_net_is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

int md_net_classify_errno(int e)
{
	switch (e) {
	case ECONNREFUSED: return MD_EREFUSED;
	case ETIMEDOUT: return MD_ETIMEOUT;
	case EHOSTUNREACH:
	case ENETUNREACH:
	case ENETDOWN:
	case EHOSTDOWN: return MD_EUNREACH;
	case EPERM:
	case EACCES: return MD_EPERM; /* e.g. a local firewall rejects the packet */
	}
	return MD_EIO;
}

int md_net_resolve(const char *host, int port, int socktype, const struct md_deadline *dl,
		   struct addrinfo **out, struct md_err *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = socktype };
	struct gaicb req = { 0 }, *list[1] = { &req };
	char service[16];
	int rc;

	*out = NULL;
	snprintf(service, sizeof(service), "%d", port);
	if (md_net_is_ip_literal(host)) {
		/* A literal never touches the resolver, so it cannot block. */
		hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
		rc = getaddrinfo(host, service, &hints, out);
		if (rc)
			return md_err_set(err, MD_ERESOLVE, "resolve", "resolve %s: %s", host,
					  gai_strerror(rc));
		return MD_OK;
	}
	/* getaddrinfo() has no timeout; glibc's asynchronous form does, so the lookup of a
	 * name obeys the deadline like every other network step. */
	hints.ai_flags = AI_NUMERICSERV;
	req.ar_name = host;
	req.ar_service = service;
	req.ar_request = &hints;
	rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
	if (rc)
		return md_err_set(err, MD_ERESOLVE, "resolve", "resolve %s: %s", host,
				  gai_strerror(rc));
	for (;;) {
		int64_t left = md_deadline_left_ms(dl);
		struct timespec ts;

		if (left <= 0) {
			gai_cancel(&req);
			/* A request that could not be cancelled must finish before req goes out
			 * of scope: it is bounded by the resolver's own timeouts. */
			while (gai_error(&req) == EAI_INPROGRESS)
				gai_suspend((const struct gaicb *const *)list, 1, NULL);
			if (req.ar_result)
				freeaddrinfo(req.ar_result);
			return md_err_set(err, MD_ETIMEOUT, "resolve",
					  "resolve %s: no answer before the deadline", host);
		}
		if (left == INT64_MAX)
			left = 3600 * 1000;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000;
		rc = gai_suspend((const struct gaicb *const *)list, 1, &ts);
		if (gai_error(&req) != EAI_INPROGRESS)
			break;
		(void)rc;
	}
	rc = gai_error(&req);
	if (rc) {
		if (req.ar_result)
			freeaddrinfo(req.ar_result);
		return md_err_set(err, MD_ERESOLVE, "resolve", "resolve %s: %s", host,
				  gai_strerror(rc));
	}
	*out = req.ar_result;
	return MD_OK;
}

int md_net_connect_start(const struct sockaddr *sa, socklen_t len, int socktype, int *fd_out,
			 bool *done, struct md_err *err)
{
	char peer[64];
	int fd;

	*fd_out = -1;
	*done = false;
	fd = socket(sa->sa_family, socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return md_err_set(err, MD_EIO, "socket", "socket: %s", strerror(errno));
	if (connect(fd, sa, len) == 0) {
		*done = true;
	} else if (errno != EINPROGRESS) {
		int e = errno;

		close(fd);
		md_addr_format(sa, len, peer, sizeof(peer));
		return md_err_set(err, md_net_classify_errno(e), "connect", "connect %s: %s", peer,
				  strerror(e));
	}
	*fd_out = fd;
	return MD_OK;
}

int md_net_wait(int fd, short events, const struct md_deadline *dl)
{
	struct pollfd p = { .fd = fd, .events = events };
	int rc;

	for (;;) {
		rc = poll(&p, 1, md_deadline_poll_ms(dl));
		if (rc > 0)
			return MD_OK;
		if (rc == 0)
			return MD_ETIMEOUT;
		if (errno != EINTR)
			return MD_EIO;
	}
}

static int connect_one(const struct addrinfo *ai, const struct md_deadline *dl, int *fd_out,
		       struct md_err *err)
{
	char peer[64];
	bool done;
	int fd, rc, soerr = 0;
	socklen_t sl = sizeof(soerr);

	rc = md_net_connect_start(ai->ai_addr, ai->ai_addrlen, SOCK_STREAM, &fd, &done, err);
	if (rc)
		return rc;
	md_addr_format(ai->ai_addr, ai->ai_addrlen, peer, sizeof(peer));
	if (!done) {
		rc = md_net_wait(fd, POLLOUT, dl);
		if (rc == MD_ETIMEOUT) {
			close(fd);
			return md_err_set(err, MD_ETIMEOUT, "connect",
					  "connect %s: no answer before the deadline", peer);
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (soerr) {
			close(fd);
			return md_err_set(err, md_net_classify_errno(soerr), "connect",
					  "connect %s: %s", peer, strerror(soerr));
		}
	}
	/* Back to blocking: later reads use poll() with the deadline themselves. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	*fd_out = fd;
	return MD_OK;
}

int md_net_connect_tcp(const char *host, int port, const struct md_deadline *dl, int *fd_out,
		       struct md_addr *peer, struct md_err *err)
{
	struct addrinfo *res = NULL;
	struct md_err first = { 0 };
	int rc;

	*fd_out = -1;
	rc = md_net_resolve(host, port, SOCK_STREAM, dl, &res, err);
	if (rc)
		return rc;
	rc = MD_EIO;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		struct md_err e = { 0 };

		rc = connect_one(ai, dl, fd_out, &e);
		if (rc == MD_OK) {
			if (peer) {
				memcpy(&peer->ss, ai->ai_addr, ai->ai_addrlen);
				peer->len = ai->ai_addrlen;
				md_addr_format(ai->ai_addr, ai->ai_addrlen, peer->text,
					       sizeof(peer->text));
			}
			break;
		}
		if (!first.code)
			first = e;
		if (rc == MD_ETIMEOUT)
			break; /* the deadline is spent */
	}
	freeaddrinfo(res);
	if (rc && err && !err->code)
		*err = first;
	return rc;
}
