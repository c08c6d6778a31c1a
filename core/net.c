#include "core/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

/* One name lookup, shared by the caller and the thread that runs getaddrinfo().  That
 * thread cannot be stopped, and glibc's getaddrinfo_a() cannot give up on a running
 * lookup either (gai_cancel() answers EAI_NOTCANCELED, and waiting for it takes the
 * resolver's own timeouts, resolv.conf(5) "timeout" x "attempts", often 10 s or more).  So
 * the caller leaves at its deadline and whichever side lets go last frees the lookup: the
 * caller when the answer came in time, the thread when the caller had already left. */
struct lookup {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC, the deadline's clock */
	int refs;          /* under mu: 2 while both sides hold it */
	bool done;         /* under mu */
	int gai_rc, sys_errno;
	struct addrinfo hints, *res;
	char service[16];
	char host[];
};

static void lookup_release(struct lookup *l)
{
	int refs;

	pthread_mutex_lock(&l->mu);
	refs = --l->refs;
	pthread_mutex_unlock(&l->mu);
	if (refs)
		return;
	if (l->res)
		freeaddrinfo(l->res);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

static void *lookup_thread(void *arg)
{
	struct lookup *l = arg;
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(l->host, l->service, &l->hints, &res);
	int e = errno;

	pthread_mutex_lock(&l->mu);
	l->gai_rc = rc;
	l->sys_errno = e;
	l->res = rc ? NULL : res;
	l->done = true;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	lookup_release(l);
	return NULL;
}

static struct lookup *lookup_new(const char *host, const char *service, int socktype)
{
	size_t n = strlen(host) + 1;
	struct lookup *l = calloc(1, sizeof(*l) + n);
	pthread_condattr_t ca;

	if (!l)
		return NULL;
	memcpy(l->host, host, n);
	snprintf(l->service, sizeof(l->service), "%s", service);
	l->hints.ai_family = AF_UNSPEC;
	l->hints.ai_socktype = socktype;
	l->hints.ai_flags = AI_NUMERICSERV;
	l->refs = 1;
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cv, &ca);
	pthread_condattr_destroy(&ca);
	return l;
}

/* Starts the lookup thread: MD_OK (the thread holds a reference) or an errno. */
static int lookup_start(struct lookup *l)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t tid;
	int rc;

	/* Signals (SIGINT, SIGPIPE, ...) stay with the threads that expect them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	l->refs = 2;
	rc = pthread_create(&tid, &attr, lookup_thread, l);
	if (rc)
		l->refs = 1;
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

bool md_net_resolve_timed_out(int rc, const struct md_err *err)
{
	return rc == MD_ETIMEOUT && err && strcmp(err->where, "resolve") == 0;
}

int md_net_resolve(const char *host, int port, int socktype, const struct md_deadline *dl,
		   struct addrinfo **out, struct md_err *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = socktype };
	struct lookup *l;
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
	/* getaddrinfo() has no timeout: it runs on its own thread while this one waits for
	 * it until the deadline. */
	l = lookup_new(host, service, socktype);
	if (!l)
		return md_err_set(err, MD_ENOMEM, "resolve", "resolve %s: out of memory", host);
	rc = lookup_start(l);
	if (rc) {
		lookup_release(l);
		return md_err_set(err, MD_EIO, "resolve", "resolve %s: cannot start the lookup: %s",
				  host, strerror(rc));
	}
	pthread_mutex_lock(&l->mu);
	while (!l->done) {
		int64_t left = md_deadline_left_ms(dl);
		struct timespec ts;

		if (left <= 0)
			break;
		if (left > 3600 * 1000)
			left = 3600 * 1000; /* no deadline: wait an hour at a time */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += left / 1000;
		ts.tv_nsec += (left % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&l->cv, &l->mu, &ts);
	}
	if (!l->done) {
		pthread_mutex_unlock(&l->mu);
		lookup_release(l); /* the thread frees it when getaddrinfo() returns */
		return md_err_set(err, MD_ETIMEOUT, "resolve",
				  "resolve %s: no answer from the name service before the deadline",
				  host);
	}
	rc = l->gai_rc;
	*out = l->res;
	l->res = NULL;
	pthread_mutex_unlock(&l->mu);
	if (rc) {
		const char *why = rc == EAI_SYSTEM ? strerror(l->sys_errno) : gai_strerror(rc);

		rc = md_err_set(err, MD_ERESOLVE, "resolve", "resolve %s: %s", host, why);
		lookup_release(l);
		return rc;
	}
	lookup_release(l);
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
