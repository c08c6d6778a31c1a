/* session_ssh.c — the SSH kind of session: commands over libssh2 channels, files over
 * SFTP.
 *
 * The libssh2 session runs in non-blocking mode for its whole life: each call that would
 * block returns LIBSSH2_ERROR_EAGAIN and we poll() the socket in the direction libssh2 is
 * waiting for, bounded by the caller's deadline (libssh2's own timeout bounds each wait,
 * not a whole call, so a peer that drips bytes could stretch a blocking call well past
 * it). */
#include "core/session_ssh.h"
#include "core/net.h"

#include <libssh2.h>
#include <libssh2_sftp.h>
#include <openssl/rand.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct ssh_sess {
	LIBSSH2_SESSION *ssh;
	int fd;
	char peer[64];        /* "10.77.0.2:22", for error messages */
	/* A command was abandoned half-way at its deadline: the transport may hold a
	 * half-written packet, so the session is not used again. */
	bool broken;
	unsigned char first[64]; /* the first bytes libssh2 read from the server */
	size_t n_first;
	LIBSSH2_SFTP *sftp;   /* opened on the first file operation */
};

static void ssh_free(void *impl);
static int ssh_exec(void *impl, const char *cmd, const void *in, size_t in_len,
		    struct md_exec *x, const struct md_deadline *dl, struct md_err *err);
static int ssh_read_file(void *impl, const char *path, struct md_buf *out,
			 const struct md_deadline *dl, struct md_err *err);
static int ssh_write_file(void *impl, const char *path, const void *data, size_t len, int mode,
			  const struct md_deadline *dl, struct md_err *err);

static const struct md_session_ops ssh_ops = {
	.kind = "ssh",
	.exec = ssh_exec,
	.read_file = ssh_read_file,
	.write_file = ssh_write_file,
	.free = ssh_free,
};

/* ------------------------------------------------------------------------------------ */
/* The connection                                                                       */
/* ------------------------------------------------------------------------------------ */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void init_libssh2(void)
{
	init_rc = libssh2_init(0);
}

/* libssh2's own socket read (_libssh2_recv: -errno on failure), keeping a copy of the
 * first bytes: when the peer is not an SSH server, they are the evidence of what it is,
 * and libssh2 keeps only the line it took for a banner. */
static LIBSSH2_RECV_FUNC(recording_recv)
{
	struct ssh_sess *s = *abstract;
	ssize_t n = recv(socket, buffer, length, flags);

	if (n < 0)
		return errno == EWOULDBLOCK || errno == ENOENT ? -EAGAIN : -errno;
	if (n > 0 && s && s->n_first < sizeof(s->first)) {
		size_t k = sizeof(s->first) - s->n_first;

		if ((size_t)n < k)
			k = (size_t)n;
		memcpy(s->first + s->n_first, buffer, k);
		s->n_first += k;
	}
	return n;
}

size_t md_session_first_bytes(const struct md_session *ms, const unsigned char **p)
{
	const struct ssh_sess *s = md_session_impl(ms, &ssh_ops);

	*p = s ? s->first : NULL;
	return s ? s->n_first : 0;
}

struct md_session *md_session_new_ssh(int fd, struct md_err *err)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct ssh_sess *s;
	char peer[64];
	int one = 1;

	pthread_once(&init_once, init_libssh2);
	if (init_rc != 0) {
		close(fd);
		md_err_set(err, MD_EIO, "ssh", "libssh2_init failed (%d)", init_rc);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		md_err_set(err, MD_ENOMEM, "ssh", "out of memory");
		return NULL;
	}
	s->fd = fd;
	/* SSH sends many small packets (channel open, exec request, EOF, close) and waits
	 * for each answer: with Nagle's algorithm each would sit out the peer's delayed
	 * ACK.  OpenSSH's client sets TCP_NODELAY too. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		md_addr_format((struct sockaddr *)&ss, sl, peer, sizeof(peer));
	else
		snprintf(peer, sizeof(peer), "?");
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	s->ssh = libssh2_session_init_ex(NULL, NULL, NULL, s);
	if (!s->ssh) {
		ssh_free(s);
		md_err_set(err, MD_ENOMEM, "ssh", "libssh2_session_init failed");
		return NULL;
	}
	libssh2_session_callback_set(s->ssh, LIBSSH2_CALLBACK_RECV, (void *)recording_recv);
	libssh2_session_set_blocking(s->ssh, 0);
	return md_session_new(&ssh_ops, s, peer, NULL, err);
}

struct _LIBSSH2_SESSION *md_session_ssh(struct md_session *ms)
{
	struct ssh_sess *s = md_session_impl(ms, &ssh_ops);

	return s ? s->ssh : NULL;
}

/* md_session_wait() on the implementation. */
static int wait_sock(struct ssh_sess *s, const struct md_deadline *dl)
{
	struct md_deadline tick;
	short ev = 0;
	int dir;

	if (!s || !s->ssh)
		return MD_EIO;
	if (md_deadline_left_ms(dl) <= 0)
		return MD_ETIMEOUT;
	dir = libssh2_session_block_directions(s->ssh);
	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		ev |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		ev |= POLLOUT;
	if (ev)
		return md_net_wait(s->fd, ev, dl);
	/* EAGAIN without a direction: retry soon rather than sleep on the wrong event. */
	tick = md_deadline_min(*dl, md_deadline_after(md_now_ms(), 10));
	if (md_net_wait(s->fd, POLLIN, &tick) == MD_EIO)
		return MD_EIO;
	return md_deadline_left_ms(dl) <= 0 ? MD_ETIMEOUT : MD_OK;
}

int md_session_wait(struct md_session *ms, const struct md_deadline *dl)
{
	return wait_sock(md_session_impl(ms, &ssh_ops), dl);
}


static void ssh_free(void *impl)
{
	struct ssh_sess *s = impl;

	if (!s)
		return;
	if (s->ssh) {
		/* One non-blocking try at a polite goodbye, then shut the socket so that
		 * libssh2's clean-up (which would wait for the peer's channel-close answers)
		 * fails fast instead of waiting on a peer that stopped talking. */
		if (s->sftp && !s->broken)
			libssh2_sftp_shutdown(s->sftp);
		if (!s->broken)
			libssh2_session_disconnect(s->ssh, "meshdoctor done");
		shutdown(s->fd, SHUT_RDWR);
		libssh2_session_set_blocking(s->ssh, 1);
		libssh2_session_set_timeout(s->ssh, 100);
		libssh2_session_free(s->ssh);
	}
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

/* ------------------------------------------------------------------------------------ */
/* Commands                                                                             */
/* ------------------------------------------------------------------------------------ */

const char *md_ssh_last_error(LIBSSH2_SESSION *ssh)
{
	char *msg = NULL;

	libssh2_session_last_error(ssh, &msg, NULL, 0);
	return msg && *msg ? msg : "unknown libssh2 error";
}

static const char *last_error(struct ssh_sess *s)
{
	return md_ssh_last_error(s->ssh);
}

static int exec_timeout(struct ssh_sess *s, const char *cmd, struct md_err *err)
{
	s->broken = true;
	return md_err_set(err, MD_ETIMEOUT, "exec", "exec `%s` on %s: no answer before the deadline",
			  cmd, s->peer);
}

/* Reads whatever is available on both streams.  *progress is set when bytes arrived. */
static int drain(struct ssh_sess *s, LIBSSH2_CHANNEL *ch, struct md_exec *x, const char *cmd,
		 bool *progress, struct md_err *err)
{
	char buf[16384];
	int rc;

	for (int stream = 0; stream <= SSH_EXTENDED_DATA_STDERR; stream++) {
		struct md_buf *b = stream ? &x->err : &x->out;

		for (;;) {
			ssize_t n = libssh2_channel_read_ex(ch, stream, buf, sizeof(buf));

			if (n == LIBSSH2_ERROR_EAGAIN || n == 0)
				break;
			if (n < 0)
				return md_err_set(err, MD_EIO, "exec", "exec `%s` on %s: read: %s",
						  cmd, s->peer, last_error(s));
			*progress = true;
			rc = md_buf_append(b, buf, (size_t)n);
			if (rc == MD_ETOOBIG)
				return md_err_set(err, MD_ETOOBIG, "exec",
						  "exec `%s` on %s: %s over %u bytes", cmd, s->peer,
						  stream ? "stderr" : "stdout",
						  (unsigned)MD_SESSION_MAX_OUTPUT);
			if (rc)
				return md_err_set(err, rc, "exec", "exec `%s` on %s: %s: out of memory",
						  cmd, s->peer, stream ? "stderr" : "stdout");
		}
	}
	return MD_OK;
}

static int real_exec(struct ssh_sess *s, const char *cmd, const unsigned char *in,
		     size_t in_len, struct md_exec *x, const struct md_deadline *dl,
		     struct md_err *err)
{
	LIBSSH2_CHANNEL *ch;
	size_t sent = 0;
	bool eof_sent = false;
	char *sig = NULL;
	size_t sig_len = 0;
	int rc;

	if (s->broken)
		return md_err_set(err, MD_EIO, "exec",
				  "exec `%s` on %s: session unusable after an earlier timeout", cmd,
				  s->peer);
	while (!(ch = libssh2_channel_open_session(s->ssh))) {
		if (libssh2_session_last_errno(s->ssh) != LIBSSH2_ERROR_EAGAIN)
			return md_err_set(err, MD_EIO, "exec", "exec `%s` on %s: open channel: %s",
					  cmd, s->peer, last_error(s));
		if (wait_sock(s, dl))
			return exec_timeout(s, cmd, err);
	}
	while ((rc = libssh2_channel_exec(ch, cmd)) == LIBSSH2_ERROR_EAGAIN)
		if (wait_sock(s, dl)) {
			rc = exec_timeout(s, cmd, err);
			goto out;
		}
	if (rc < 0) {
		rc = md_err_set(err, MD_EIO, "exec", "exec `%s` on %s: %s", cmd, s->peer,
				last_error(s));
		goto out;
	}
	/* Stdin first (secrets travel here, never in cmd), then EOF so the command sees
	 * the end of its input; output is read meanwhile so neither side stalls on a full
	 * window. */
	for (;;) {
		bool progress = false;

		if (sent < in_len) {
			ssize_t w = libssh2_channel_write(ch, (const char *)in + sent, in_len - sent);

			if (w > 0) {
				sent += (size_t)w;
				progress = true;
			} else if (w < 0 && w != LIBSSH2_ERROR_EAGAIN) {
				rc = md_err_set(err, MD_EIO, "exec", "exec `%s` on %s: write: %s",
						cmd, s->peer, last_error(s));
				goto out;
			}
		} else if (!eof_sent) {
			int e = libssh2_channel_send_eof(ch);

			if (e == 0) {
				eof_sent = true;
				progress = true;
			} else if (e != LIBSSH2_ERROR_EAGAIN) {
				rc = md_err_set(err, MD_EIO, "exec", "exec `%s` on %s: send EOF: %s",
						cmd, s->peer, last_error(s));
				goto out;
			}
		}
		rc = drain(s, ch, x, cmd, &progress, err);
		if (rc)
			goto out;
		/* libssh2_channel_eof() stays 0 while data for the channel is queued. */
		if (libssh2_channel_eof(ch))
			break;
		if (md_deadline_left_ms(dl) <= 0 || (!progress && wait_sock(s, dl))) {
			rc = exec_timeout(s, cmd, err);
			goto out;
		}
	}
	while ((rc = libssh2_channel_close(ch)) == LIBSSH2_ERROR_EAGAIN)
		if (wait_sock(s, dl)) {
			rc = exec_timeout(s, cmd, err);
			goto out;
		}
	if (rc == 0)
		while ((rc = libssh2_channel_wait_closed(ch)) == LIBSSH2_ERROR_EAGAIN)
			if (wait_sock(s, dl)) {
				rc = exec_timeout(s, cmd, err);
				goto out;
			}
	/* The exit status comes just before the server's close (RFC 4254 section 6.10).
	 * libssh2 reports 0 when none came, so it is read only after a clean close; when
	 * the connection broke first the status is unknown (-1) and the output is what
	 * arrived. */
	if (rc == 0)
		x->exit_status = libssh2_channel_get_exit_status(ch);
	rc = MD_OK;
	if (libssh2_channel_get_exit_signal(ch, &sig, &sig_len, NULL, NULL, NULL, NULL) == 0 &&
	    sig) {
		snprintf(x->exit_signal, sizeof(x->exit_signal), "%.*s", (int)sig_len, sig);
		libssh2_free(s->ssh, sig);
		/* Killed by a signal: there is no exit status (libssh2 still says 0). */
		x->exit_status = -1;
	}
out:
	/* After a timeout the channel is left to libssh2_session_free(): freeing it here
	 * would wait for the peer's close, past the deadline. */
	if (!s->broken)
		while (libssh2_channel_free(ch) == LIBSSH2_ERROR_EAGAIN)
			if (wait_sock(s, dl)) {
				s->broken = true;
				break;
			}
	return rc;
}


static int ssh_exec(void *impl, const char *cmd, const void *in, size_t in_len,
		    struct md_exec *x, const struct md_deadline *dl, struct md_err *err)
{
	return real_exec(impl, cmd, in, in_len, x, dl, err);
}

/* ------------------------------------------------------------------------------------ */
/* Files, over SFTP                                                                     */
/* ------------------------------------------------------------------------------------ */

/* One SFTP error as a status and a line: "read /etc/x on 10.0.0.2:22: no such file". */
static int sftp_fail(struct ssh_sess *s, const char *op, const char *path, struct md_err *err)
{
	unsigned long fx = s->sftp ? libssh2_sftp_last_error(s->sftp) : 0;
	int code = MD_EIO;
	const char *why;

	if (libssh2_session_last_errno(s->ssh) != LIBSSH2_ERROR_SFTP_PROTOCOL)
		return md_err_set(err, MD_EIO, op, "%s %s on %s: %s", op, path, s->peer, last_error(s));
	switch (fx) {
	case LIBSSH2_FX_NO_SUCH_FILE:
	case LIBSSH2_FX_NO_SUCH_PATH:
		code = MD_ENOTFOUND;
		why = "no such file or directory";
		break;
	case LIBSSH2_FX_PERMISSION_DENIED:
	case LIBSSH2_FX_WRITE_PROTECT:
		code = MD_EPERM;
		why = "permission denied";
		break;
	case LIBSSH2_FX_FILE_ALREADY_EXISTS:
		why = "file exists";
		break;
	case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
	case LIBSSH2_FX_QUOTA_EXCEEDED:
		why = "no space left";
		break;
	default:
		why = "SFTP error";
		break;
	}
	return md_err_set(err, code, op, "%s %s on %s: %s (SFTP status %lu)", op, path, s->peer, why, fx);
}

static int sftp_timeout(struct ssh_sess *s, const char *op, const char *path, struct md_err *err)
{
	/* A request may be half sent: the transport is not used again (see exec_timeout). */
	s->broken = true;
	return md_err_set(err, MD_ETIMEOUT, op, "%s %s on %s: no answer before the deadline", op,
			  path, s->peer);
}

/* The SFTP subsystem, started on first use.  MD_OK or an error with err set. */
static int sftp_start(struct ssh_sess *s, const char *op, const char *path,
		      const struct md_deadline *dl, struct md_err *err)
{
	if (s->broken)
		return md_err_set(err, MD_EIO, op, "%s %s on %s: session unusable after an earlier timeout",
				  op, path, s->peer);
	while (!s->sftp) {
		s->sftp = libssh2_sftp_init(s->ssh);
		if (s->sftp)
			break;
		if (libssh2_session_last_errno(s->ssh) != LIBSSH2_ERROR_EAGAIN)
			return md_err_set(err, MD_EIO, op, "%s %s on %s: SFTP: %s", op, path, s->peer,
					  last_error(s));
		if (wait_sock(s, dl))
			return sftp_timeout(s, op, path, err);
	}
	return MD_OK;
}

/* Opens path with flags/mode, waiting out EAGAIN.  NULL with err set. */
static LIBSSH2_SFTP_HANDLE *sftp_open(struct ssh_sess *s, const char *op, const char *path,
				      unsigned long flags, long mode, const struct md_deadline *dl,
				      struct md_err *err)
{
	LIBSSH2_SFTP_HANDLE *h;

	while (!(h = libssh2_sftp_open_ex(s->sftp, path, (unsigned)strlen(path), flags, mode,
					  LIBSSH2_SFTP_OPENFILE))) {
		if (libssh2_session_last_errno(s->ssh) != LIBSSH2_ERROR_EAGAIN) {
			sftp_fail(s, op, path, err);
			return NULL;
		}
		if (wait_sock(s, dl)) {
			sftp_timeout(s, op, path, err);
			return NULL;
		}
	}
	return h;
}

static int sftp_close(struct ssh_sess *s, LIBSSH2_SFTP_HANDLE *h, const struct md_deadline *dl)
{
	int rc;

	while ((rc = libssh2_sftp_close_handle(h)) == LIBSSH2_ERROR_EAGAIN)
		if (wait_sock(s, dl)) {
			s->broken = true;
			return MD_ETIMEOUT;
		}
	return rc == 0 ? MD_OK : MD_EIO;
}

static int ssh_read_file(void *impl, const char *path, struct md_buf *out,
			 const struct md_deadline *dl, struct md_err *err)
{
	struct ssh_sess *s = impl;
	LIBSSH2_SFTP_HANDLE *h;
	char chunk[16384];
	int rc;

	rc = sftp_start(s, "read", path, dl, err);
	if (rc)
		return rc;
	h = sftp_open(s, "read", path, LIBSSH2_FXF_READ, 0, dl, err);
	if (!h)
		return err ? err->code : MD_EIO;
	for (;;) {
		ssize_t n = libssh2_sftp_read(h, chunk, sizeof(chunk));

		if (n == LIBSSH2_ERROR_EAGAIN) {
			if (wait_sock(s, dl)) {
				rc = sftp_timeout(s, "read", path, err);
				break;
			}
			continue;
		}
		if (n < 0) {
			rc = sftp_fail(s, "read", path, err);
			break;
		}
		if (n == 0)
			break;
		if (out->len + (size_t)n > MD_SESSION_MAX_FILE) {
			rc = md_err_set(err, MD_ETOOBIG, "read", "read %s on %s: over %u bytes", path,
					s->peer, MD_SESSION_MAX_FILE);
			break;
		}
		rc = md_buf_append(out, chunk, (size_t)n);
		if (rc) {
			md_err_set(err, rc, "read", "read %s on %s: %s", path, s->peer,
				   rc == MD_ETOOBIG ? "over the size allowed" : "out of memory");
			break;
		}
	}
	if (!s->broken)
		sftp_close(s, h, dl);
	return rc;
}

/* Writes all of data to h. */
static int sftp_write_all(struct ssh_sess *s, LIBSSH2_SFTP_HANDLE *h, const char *path,
			  const char *data, size_t len, const struct md_deadline *dl,
			  struct md_err *err)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = libssh2_sftp_write(h, data + off, len - off);

		if (n == LIBSSH2_ERROR_EAGAIN) {
			if (wait_sock(s, dl))
				return sftp_timeout(s, "write", path, err);
			continue;
		}
		if (n < 0)
			return sftp_fail(s, "write", path, err);
		off += (size_t)n;
	}
	return MD_OK;
}

static int sftp_call(struct ssh_sess *s, const char *op, const char *path, int rc_first,
		     int (*again)(struct ssh_sess *, const void *), const void *arg,
		     const struct md_deadline *dl, struct md_err *err)
{
	int rc = rc_first;

	while (rc == LIBSSH2_ERROR_EAGAIN) {
		if (wait_sock(s, dl))
			return sftp_timeout(s, op, path, err);
		rc = again(s, arg);
	}
	return rc == 0 ? MD_OK : sftp_fail(s, op, path, err);
}

struct two_paths {
	const char *from, *to;
};

static int do_unlink(struct ssh_sess *s, const void *arg)
{
	const char *p = arg;

	return libssh2_sftp_unlink_ex(s->sftp, p, (unsigned)strlen(p));
}

static int do_rename(struct ssh_sess *s, const void *arg)
{
	const struct two_paths *t = arg;

	return libssh2_sftp_rename_ex(s->sftp, t->from, (unsigned)strlen(t->from), t->to,
				      (unsigned)strlen(t->to),
				      LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC |
				      LIBSSH2_SFTP_RENAME_NATIVE);
}

/* Moves tmp over path.  OpenSSH's sftp-server speaks SFTP version 3, whose RENAME fails
 * when the new name exists (it links, and link(2) will not replace), and libssh2 1.10
 * cannot send the posix-rename@openssh.com extension: when the first rename fails the old
 * file is removed and the rename tried once more, so no file exists only for one round
 * trip. */
static int replace_file(struct ssh_sess *s, const char *tmp, const char *path,
			const struct md_deadline *dl, struct md_err *err)
{
	struct two_paths t = { tmp, path };
	struct md_err first = { 0 };

	if (sftp_call(s, "rename", path, do_rename(s, &t), do_rename, &t, dl, &first) == MD_OK)
		return MD_OK;
	if (first.code == MD_ETIMEOUT || s->broken)
		return md_err_set(err, first.code, first.where, "%s", first.msg);
	if (sftp_call(s, "remove", path, do_unlink(s, path), do_unlink, path, dl, err) != MD_OK &&
	    err && err->code != MD_ENOTFOUND)
		return err->code;
	if (err && err->code == MD_ENOTFOUND)
		md_err_clear(err);
	return sftp_call(s, "rename", path, do_rename(s, &t), do_rename, &t, dl, err);
}

static int ssh_write_file(void *impl, const char *path, const void *data, size_t len, int mode,
			  const struct md_deadline *dl, struct md_err *err)
{
	struct ssh_sess *s = impl;
	LIBSSH2_SFTP_HANDLE *h;
	unsigned char rnd[6];
	char tmp[1200];
	int rc;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return md_err_set(err, MD_EIO, "write", "write %s: no random bytes for a temporary name",
				  path);
	if (snprintf(tmp, sizeof(tmp), "%s.md-%02x%02x%02x%02x%02x%02x", path, rnd[0], rnd[1],
		     rnd[2], rnd[3], rnd[4], rnd[5]) >= (int)sizeof(tmp))
		return md_err_set(err, MD_EINVAL, "write", "write %.200s: path too long", path);
	rc = sftp_start(s, "write", path, dl, err);
	if (rc)
		return rc;
	/* Created with the final mode and O_EXCL: never readable by others while written,
	 * never a file someone else prepared. */
	h = sftp_open(s, "write", tmp, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL,
		      mode & 0777, dl, err);
	if (!h)
		return err ? err->code : MD_EIO;
	rc = sftp_write_all(s, h, path, data, len, dl, err);
	if (s->broken)
		return rc;
	if (sftp_close(s, h, dl) != MD_OK && rc == MD_OK)
		rc = s->broken ? sftp_timeout(s, "write", path, err) : sftp_fail(s, "write", path, err);
	if (rc == MD_OK)
		rc = replace_file(s, tmp, path, dl, err);
	if (rc != MD_OK && !s->broken) {
		struct md_err ignore = { 0 };

		sftp_call(s, "remove", tmp, do_unlink(s, tmp), do_unlink, tmp, dl, &ignore);
	}
	return rc;
}
