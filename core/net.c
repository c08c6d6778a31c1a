#include "core/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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

/* Lookup threads that have not returned from getaddrinfo() yet. */
static atomic_int pending_lookups;

int md_net_pending_lookups(void)
{
	return atomic_load(&pending_lookups);
}

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
	atomic_fetch_sub(&pending_lookups, 1);
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
	atomic_fetch_add(&pending_lookups, 1);
	rc = pthread_create(&tid, &attr, lookup_thread, l);
	if (rc) {
		l->refs = 1;
		atomic_fetch_sub(&pending_lookups, 1);
	}
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
	if (fd < 0) {
		int e = errno;

		md_addr_format(sa, len, peer, sizeof(peer));
		return md_err_set(err, MD_EIO, "socket", "connect %s: socket: %s", peer, strerror(e));
	}
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

/* ---- Connecting to a host with several addresses ---- */

/* RFC 8305 section 5 ("Happy Eyeballs"): the next address is tried when the previous
 * attempt failed, or 250 ms after it started while it is still running, so an address
 * family that drops packets (often IPv6) does not spend the whole deadline. */
#define CONNECT_ATTEMPT_DELAY_MS 250
#define CONNECT_MAX_RUNNING 8
#define CONNECT_MAX_FAILURES 8

struct connect_failure {
	int rc;
	char msg[sizeof(((struct md_err *)0)->msg)];
};

struct connect_run {
	struct connect_failure fail[CONNECT_MAX_FAILURES];
	size_t n_fail;
	size_t n_tried; /* failures beyond CONNECT_MAX_FAILURES are counted, not kept */
};

static void connect_failed(struct connect_run *r, int rc, const char *msg)
{
	struct connect_failure *f;

	r->n_tried++;
	if (r->n_fail == CONNECT_MAX_FAILURES)
		return;
	f = &r->fail[r->n_fail++];
	f->rc = rc;
	snprintf(f->msg, sizeof(f->msg), "%s", msg);
}

/* How much a failure says about the host: a refusal is an answer from it; a timeout says
 * more than an error local to this machine (an address family without a route here). */
static int failure_rank(int rc)
{
	switch (rc) {
	case MD_EREFUSED: return 4;
	case MD_ETIMEOUT: return 3;
	case MD_EPERM: return 2;
	case MD_EUNREACH: return 1;
	}
	return 0;
}

/* Reports the most telling failure (the later one among equals): its code and its text
 * first, then what the other addresses said. */
static int connect_report(const struct connect_run *r, struct md_err *err)
{
	char msg[sizeof(err->msg)];
	size_t best = 0, len;

	for (size_t i = 1; i < r->n_fail; i++)
		if (failure_rank(r->fail[i].rc) >= failure_rank(r->fail[best].rc))
			best = i;
	len = (size_t)snprintf(msg, sizeof(msg), "%s", r->fail[best].msg);
	for (size_t i = 0; i < r->n_fail && len < sizeof(msg); i++)
		if (i != best)
			len += (size_t)snprintf(msg + len, sizeof(msg) - len, "; %s", r->fail[i].msg);
	if (r->n_tried > r->n_fail && len < sizeof(msg))
		snprintf(msg + len, sizeof(msg) - len, "; %zu more addresses failed",
			 r->n_tried - r->n_fail);
	return md_err_set(err, r->fail[best].rc, "connect", "%s", msg);
}

struct connect_attempt {
	int fd;
	const struct addrinfo *ai;
};

static void attempt_timed_out(struct connect_run *r, const struct connect_attempt *a)
{
	char peer[64], msg[128];

	md_addr_format(a->ai->ai_addr, a->ai->ai_addrlen, peer, sizeof(peer));
	snprintf(msg, sizeof(msg), "connect %s: no answer before the deadline", peer);
	connect_failed(r, MD_ETIMEOUT, msg);
}

/* Result of a finished non-blocking connect: MD_OK or the failure (recorded in r). */
static int attempt_result(struct connect_run *r, const struct connect_attempt *a)
{
	char peer[64], msg[160];
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (!soerr)
		return MD_OK;
	md_addr_format(a->ai->ai_addr, a->ai->ai_addrlen, peer, sizeof(peer));
	snprintf(msg, sizeof(msg), "connect %s: %s", peer, strerror(soerr));
	connect_failed(r, md_net_classify_errno(soerr), msg);
	return md_net_classify_errno(soerr);
}

static void connected(int fd, const struct addrinfo *ai, int *fd_out, struct md_addr *peer)
{
	/* Back to blocking: later reads use poll() with the deadline themselves. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	*fd_out = fd;
	if (peer) {
		memcpy(&peer->ss, ai->ai_addr, ai->ai_addrlen);
		peer->len = ai->ai_addrlen;
		md_addr_format(ai->ai_addr, ai->ai_addrlen, peer->text, sizeof(peer->text));
	}
}

/* Tries the addresses of list in order, staggered (see CONNECT_ATTEMPT_DELAY_MS); the
 * first to connect wins and the others are closed. */
static int connect_addrs(const struct addrinfo *list, const struct md_deadline *dl,
			 int *fd_out, struct md_addr *peer, struct md_err *err)
{
	struct connect_attempt run[CONNECT_MAX_RUNNING];
	struct connect_run r = { .n_fail = 0 };
	const struct addrinfo *next = list;
	size_t n_run = 0;
	int64_t next_start_ms = 0;
	int rc = MD_EIO;

	for (;;) {
		struct pollfd p[CONNECT_MAX_RUNNING];
		int64_t now = md_now_ms(), left = md_deadline_left_at(dl, now);
		int wait_ms, prc;

		if (left <= 0)
			break;
		while (next && n_run < CONNECT_MAX_RUNNING && (n_run == 0 || now >= next_start_ms)) {
			const struct addrinfo *ai = next;
			struct md_err e = { 0 };
			bool done;
			int fd;

			next = next->ai_next;
			rc = md_net_connect_start(ai->ai_addr, ai->ai_addrlen, SOCK_STREAM, &fd, &done,
						  &e);
			if (rc) {
				connect_failed(&r, rc, e.msg);
				continue; /* failed at once: the next address without waiting */
			}
			if (done) {
				rc = MD_OK;
				connected(fd, ai, fd_out, peer);
				goto out;
			}
			run[n_run++] = (struct connect_attempt){ .fd = fd, .ai = ai };
			next_start_ms = now + CONNECT_ATTEMPT_DELAY_MS;
		}
		if (n_run == 0)
			break; /* every address failed */
		wait_ms = left > INT32_MAX ? INT32_MAX : (int)left;
		if (next && n_run < CONNECT_MAX_RUNNING && next_start_ms - now < wait_ms)
			wait_ms = next_start_ms > now ? (int)(next_start_ms - now) : 0;
		for (size_t i = 0; i < n_run; i++)
			p[i] = (struct pollfd){ .fd = run[i].fd, .events = POLLOUT };
		prc = poll(p, n_run, wait_ms);
		if (prc < 0 && errno != EINTR) {
			rc = md_err_set(err, MD_EIO, "connect", "poll: %s", strerror(errno));
			goto out;
		}
		for (size_t i = n_run; prc > 0 && i-- > 0;) {
			if (!p[i].revents)
				continue;
			if (attempt_result(&r, &run[i]) == MD_OK) {
				const struct addrinfo *ai = run[i].ai;
				int fd = run[i].fd;

				run[i] = run[--n_run];
				connected(fd, ai, fd_out, peer);
				rc = MD_OK;
				goto out;
			}
			close(run[i].fd);
			run[i] = run[--n_run];
			next_start_ms = md_now_ms(); /* a failure starts the next address at once */
		}
	}
	/* The deadline passed, or no address is left. */
	for (size_t i = 0; i < n_run; i++)
		attempt_timed_out(&r, &run[i]);
	if (r.n_fail == 0 && next) {
		struct connect_attempt none = { .fd = -1, .ai = next };

		attempt_timed_out(&r, &none); /* the deadline passed before the first try */
	}
	if (r.n_fail == 0)
		rc = md_err_set(err, MD_ERESOLVE, "connect", "connect: no address to try");
	else
		rc = connect_report(&r, err);
out:
	for (size_t i = 0; i < n_run; i++)
		close(run[i].fd);
	return rc;
}

int md_net_connect_tcp(const char *host, int port, const struct md_deadline *dl, int *fd_out,
		       struct md_addr *peer, struct md_err *err)
{
	struct addrinfo *res = NULL;
	int rc;

	*fd_out = -1;
	rc = md_net_resolve(host, port, SOCK_STREAM, dl, &res, err);
	if (rc)
		return rc;
	rc = connect_addrs(res, dl, fd_out, peer, err);
	freeaddrinfo(res);
	return rc;
}
