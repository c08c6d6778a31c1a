/* session.h — a way to act on a target: run a command, read a file, write a file.
 *
 * One interface, three kinds:
 *   - ssh (core/session_ssh.h): libssh2, opened step by step by the ssh probe or in one
 *     call by md_ssh_open(); files go over SFTP;
 *   - local (md_session_new_local()): the target is this machine; commands run under
 *     /bin/sh, files are read and written here;
 *   - others that tests and dry runs build with md_session_new() (tests/support: a replay
 *     session answering from a table and logging what it was asked).
 * Probes and remedies see only this header.  Every call takes the deadline and converts
 * it just before it blocks.  Calls on one session are serialised (a libssh2 session must
 * not be used by two threads at once), so probes on several threads may share it. */
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
/* The largest file md_session_read_file() reads. */
#define MD_SESSION_MAX_FILE (4u * 1024 * 1024)

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
 * MD_ETIMEOUT when the deadline passed (over SSH the command is abandoned and the session
 * is not used again: later calls return MD_EIO, because the transport may hold half a
 * packet); MD_ETOOBIG when stdout or stderr went over MD_SESSION_MAX_OUTPUT, MD_ENOMEM
 * when there was no memory to hold them (in both cases the session stays usable); MD_EIO.
 * x must have been md_exec_init()ed; its buffers are reset first. */
int md_session_exec(struct md_session *s, const char *cmd, const void *in, size_t in_len,
		    struct md_exec *x, const struct md_deadline *dl, struct md_err *err);

/* Reads the file at path on the target into out (reset first; at most
 * MD_SESSION_MAX_FILE bytes, or out's own cap when smaller).  MD_OK, MD_ENOTFOUND,
 * MD_EPERM, MD_ETOOBIG, MD_ETIMEOUT, MD_EIO; MD_EINVAL when this kind of session has no
 * files. */
int md_session_read_file(struct md_session *s, const char *path, struct md_buf *out,
			 const struct md_deadline *dl, struct md_err *err);

/* Replaces the file at path on the target with data[0..len): written to a temporary file
 * beside it, created with mode (e.g. 0600, never wider while it is written), then renamed
 * over path, so a reader sees the old file or the new one, never half.  The file's bytes
 * never pass through a command line.  MD_OK, MD_EPERM, MD_ENOTFOUND (no such directory),
 * MD_ETIMEOUT, MD_EIO; MD_EINVAL when this kind of session has no files. */
int md_session_write_file(struct md_session *s, const char *path, const void *data, size_t len,
			  int mode, const struct md_deadline *dl, struct md_err *err);

/* What the transport knows of the host's family: "windows" (the SSH banner named
 * OpenSSH_for_Windows, or set by whoever detected it), the local machine's "linux", or
 * NULL: a POSIX shell is assumed.  The host probe records the full answer as the fact
 * host.os, which is what probes read.  Borrowed, lives until the next set or the free. */
const char *md_session_os(const struct md_session *s);
void md_session_set_os(struct md_session *s, const char *os);

/* "ssh", "local", or the kind another implementation gave; and the peer for messages
 * ("10.77.0.2:22", "this machine").  Borrowed, live as long as s. */
const char *md_session_kind(const struct md_session *s);
const char *md_session_peer(const struct md_session *s);
/* Commands run so far through md_session_exec() (benchmarks and tests count round trips). */
unsigned md_session_exec_count(const struct md_session *s);

/* Closes the connection (if any) and frees everything.  NULL-safe. */
void md_session_free(struct md_session *s);

/* ---- A session on this machine ---- */
/* Commands run as `/bin/sh -c CMD` (md_proc_run: own process group, killed at the
 * deadline); the OS is uname's.  NULL with err set when out of memory. */
struct md_session *md_session_new_local(struct md_err *err);

/* ---- Implementing a kind of session ---- */
struct md_session_ops {
	const char *kind;
	int (*exec)(void *impl, const char *cmd, const void *in, size_t in_len, struct md_exec *x,
		    const struct md_deadline *dl, struct md_err *err);
	/* May be NULL: the session has no files (MD_EINVAL). */
	int (*read_file)(void *impl, const char *path, struct md_buf *out,
			 const struct md_deadline *dl, struct md_err *err);
	int (*write_file)(void *impl, const char *path, const void *data, size_t len, int mode,
			  const struct md_deadline *dl, struct md_err *err);
	void (*free)(void *impl); /* may be NULL */
};

/* A session of the kind ops describes, owning impl (freed by ops->free with the session,
 * and here on failure).  peer and os are copied; os may be NULL.  NULL with err set when
 * out of memory. */
struct md_session *md_session_new(const struct md_session_ops *ops, void *impl, const char *peer,
				  const char *os, struct md_err *err);
/* impl when s is of the kind ops describes, else NULL. */
void *md_session_impl(const struct md_session *s, const struct md_session_ops *ops);

#endif
