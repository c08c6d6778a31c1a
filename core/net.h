/* net.h — name resolution and TCP/UDP connects bounded by a deadline.
 *
 * Errors are classified so probes can record them as facts: MD_ERESOLVE (name did not
 * resolve), MD_EREFUSED, MD_ETIMEOUT (no answer before the deadline: filtered or host
 * down), MD_EUNREACH (no route), MD_EIO (anything else).  err->msg names the operation and
 * the peer: "connect 10.0.0.2:22: Connection refused".  A name lookup that was still
 * running at the deadline is MD_ETIMEOUT with err->where "resolve" (see
 * md_net_resolve_timed_out()): the name server did not answer, which says nothing about
 * whether the name exists. */
#ifndef MD_NET_H
#define MD_NET_H

#include "core/deadline.h"
#include "core/err.h"

#include <netdb.h>
#include <stdbool.h>
#include <sys/socket.h>

struct md_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[64]; /* "10.0.0.2:22", "[fd00::2]:22" */
};

/* Resolves host (name or literal) for socktype (SOCK_STREAM / SOCK_DGRAM).
 * On success *out is a getaddrinfo list the caller frees with freeaddrinfo().  Returns at
 * the deadline even when the resolver is still waiting for its name server (MD_ETIMEOUT,
 * where "resolve"); the lookup then finishes on its own thread and frees itself. */
int md_net_resolve(const char *host, int port, int socktype, const struct md_deadline *dl,
		   struct addrinfo **out, struct md_err *err);
/* True when rc and err (may be NULL) say that the name lookup did not finish in time. */
bool md_net_resolve_timed_out(int rc, const struct md_err *err);
/* How many lookups that md_net_resolve() left at their deadline are still inside
 * getaddrinfo().  Such a thread may be running NSS modules when the program exits, and
 * exit()'s destructors would pull their state from under it: a program ends with
 * _exit() while this is not 0. */
int md_net_pending_lookups(void);

/* TCP connect to host:port.  The addresses are tried in the resolver's order, the next
 * one when the previous attempt failed or 250 ms after it started (RFC 8305 section 5),
 * so one address that drops packets does not use up the deadline; the first to connect
 * wins.  *fd_out is a connected, blocking socket; peer (may be NULL) gets its address.
 * When none connects, the code and the first part of err->msg come from the most telling
 * attempt (refused, then timeout, then local errors; the later among equals) and the
 * message goes on with the other addresses' errors. */
int md_net_connect_tcp(const char *host, int port, const struct md_deadline *dl, int *fd_out,
		       struct md_addr *peer, struct md_err *err);

/* Non-blocking connect to one address; MD_OK with *fd_out in progress or connected
 * (*done tells which), or an error. */
int md_net_connect_start(const struct sockaddr *sa, socklen_t len, int socktype, int *fd_out,
			 bool *done, struct md_err *err);

/* Waits for events on fd until the deadline: MD_OK, MD_ETIMEOUT or MD_EIO. */
int md_net_wait(int fd, short events, const struct md_deadline *dl);

/* Maps an errno from connect() to an md_status. */
int md_net_classify_errno(int e);

void md_addr_format(const struct sockaddr *sa, socklen_t len, char *out, size_t n);
bool md_net_is_ip_literal(const char *host);

#endif
