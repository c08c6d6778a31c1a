/* session_ssh.h — the SSH kind of session (libssh2), opened step by step so that the ssh
 * probe can record a fact for each step (core/ssh_client.h does the steps).
 *
 * The libssh2 session runs in non-blocking mode for its whole life: a call that would
 * block returns LIBSSH2_ERROR_EAGAIN, and md_session_wait() polls the socket in the
 * direction libssh2 waits for, bounded by the caller's deadline.  Files go over SFTP. */
#ifndef MD_SESSION_SSH_H
#define MD_SESSION_SSH_H

#include "core/session.h"

struct _LIBSSH2_SESSION;

/* Wraps a connected TCP socket in a libssh2 session in non-blocking mode, before the
 * handshake.  The fd belongs to the session from now on (closed by md_session_free(), and
 * also here on failure).  NULL with err set when libssh2 cannot be initialised. */
struct md_session *md_session_new_ssh(int fd, struct md_err *err);
/* The libssh2 session (borrowed, lives as long as s); NULL when s is another kind.  It is
 * in non-blocking mode: loop on LIBSSH2_ERROR_EAGAIN with md_session_wait(). */
struct _LIBSSH2_SESSION *md_session_ssh(struct md_session *s);
/* The first bytes (at most 64) libssh2 read from the server, for evidence when the peer
 * turns out not to speak SSH.  *p is borrowed from s. */
size_t md_session_first_bytes(const struct md_session *s, const unsigned char **p);
/* Waits until the socket is ready in the direction libssh2 is blocked on, or the
 * deadline: MD_OK, MD_ETIMEOUT or MD_EIO. */
int md_session_wait(struct md_session *s, const struct md_deadline *dl);

/* libssh2's last error message for ssh ("unknown libssh2 error" when it has none);
 * borrowed, valid until the next libssh2 call on ssh. */
const char *md_ssh_last_error(struct _LIBSSH2_SESSION *ssh);

/* Loops a non-blocking libssh2 call on session ms until it stops saying EAGAIN, waiting
 * on the socket with md_session_wait(); rc becomes LIBSSH2_ERROR_TIMEOUT at the deadline.
 * (Needs <libssh2.h>.) */
#define MD_SSH_STEP(rc, ms, dl, call)                                                     \
	do {                                                                              \
		while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN)                           \
			if (md_session_wait((ms), (dl))) {                                \
				(rc) = LIBSSH2_ERROR_TIMEOUT;                             \
				break;                                                    \
			}                                                                 \
	} while (0)

#endif
