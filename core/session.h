/* session.h — an SSH session to the target (libssh2), opened step by step so the ssh
 * probe can record a fact for each step, then shared by every later probe through
 * md_session_exec().
 *
 * Every call takes the deadline and converts it just before it blocks
 * (libssh2_session_set_timeout and poll on the socket). */
#ifndef MD_SESSION_H
#define MD_SESSION_H

#include "core/buf.h"
#include "core/deadline.h"
#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>

struct md_session;

/* Result of one remote command.  out and err are capped (MD_SESSION_MAX_OUTPUT each). */
#define MD_SESSION_MAX_OUTPUT (4u * 1024 * 1024)

struct md_exec {
	/* Remote exit status; -1 when unknown: killed by a signal (see exit_signal), or the
	 * connection broke before the channel closed.  Callers must take -1 as "did not
	 * succeed".  libssh2 cannot tell a server that closed the channel cleanly without
	 * sending a status from one that sent 0: that case reads 0. */
	int exit_status;
	char exit_signal[32]; /* remote signal name, "" if none */
	struct md_buf out;
	struct md_buf err;
};

void md_exec_init(struct md_exec *x);
void md_exec_cleanup(struct md_exec *x);

/* Runs cmd on the target.  Secrets go on stdin (in/in_len), never in cmd.
 * MD_OK when the command ran (whatever its exit status, which may be unknown: -1);
 * MD_ETIMEOUT when the deadline passed (the command is abandoned and the session is not
 * used again: later calls return MD_EIO, because the transport may hold half a packet);
 * MD_ETOOBIG when stdout or stderr went over MD_SESSION_MAX_OUTPUT, MD_ENOMEM when there
 * was no memory to hold them (in both cases the channel is closed, the session stays
 * usable); MD_EIO.  x must have been md_exec_init()ed; its buffers are reset first. */
int md_session_exec(struct md_session *s, const char *cmd, const void *in, size_t in_len,
		    struct md_exec *x, const struct md_deadline *dl, struct md_err *err);

/* What the connected host runs, as detected by the ssh probe: "linux", "darwin",
 * "windows", ... or NULL before detection.  Borrowed, lives as long as s. */
const char *md_session_os(const struct md_session *s);
void md_session_set_os(struct md_session *s, const char *os);

/* Closes the connection (if any) and frees everything.  NULL-safe. */
void md_session_free(struct md_session *s);

/* ---- A real session, opened step by step by the ssh probe ---- */
struct _LIBSSH2_SESSION;

/* Wraps a connected TCP socket in a libssh2 session in non-blocking mode, before the
 * handshake.  The fd belongs to the session from now on (closed by md_session_free(), and
 * also here on failure).  NULL with err set when libssh2 cannot be initialised. */
struct md_session *md_session_new_ssh(int fd, struct md_err *err);
/* The libssh2 session (borrowed, lives as long as s); NULL for a replay session.  It is in
 * non-blocking mode: loop on LIBSSH2_ERROR_EAGAIN with md_session_wait(). */
struct _LIBSSH2_SESSION *md_session_ssh(struct md_session *s);
/* The first bytes (at most 64) libssh2 read from the server, for evidence when the peer
 * turns out not to speak SSH.  *p is borrowed from s. */
size_t md_session_first_bytes(const struct md_session *s, const unsigned char **p);
/* Waits until the socket is ready in the direction libssh2 is blocked on, or the
 * deadline: MD_OK, MD_ETIMEOUT or MD_EIO. */
int md_session_wait(struct md_session *s, const struct md_deadline *dl);

/* ---- Replay session for unit tests (tests/support): answers commands from a table. ---- */
struct md_replay_entry {
	const char *cmd_prefix; /* matches when cmd starts with this */
	int exit_status;
	const char *out;
	const char *err;
	bool hang;              /* behave as if the command never ends: MD_ETIMEOUT */
};
/* A session whose md_session_exec() answers from entries (borrowed, must outlive it).
 * A command that matches no entry exits 127 with "command not found" on stderr. */
struct md_session *md_session_new_replay(const struct md_replay_entry *entries, size_t n,
					 const char *os);

#endif
