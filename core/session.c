/* session.c — the SSH session (libssh2) every probe after `ssh` runs commands through,
 * and the replay session unit tests use instead of a network.
 *
 * The libssh2 session runs in non-blocking mode for its whole life: each call that would
 * block returns LIBSSH2_ERROR_EAGAIN and we poll() the socket in the direction libssh2 is
 * waiting for, bounded by the caller's deadline (libssh2's own timeout bounds each wait,
 * not a whole call, so a peer that drips bytes could stretch a blocking call well past
 * it). */
#include "core/session.h"
#include "core/net.h"

#include <libssh2.h>

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

struct md_session {
	LIBSSH2_SESSION *ssh; /* NULL for a replay session */
	int fd;
	char peer[64];        /* "10.77.0.2:22", for error messages */
	/* A command was abandoned half-way at its deadline: the transport may hold a
	 * half-written packet, so the session is not used again. */
	bool broken;
	unsigned char first[64]; /* the first bytes libssh2 read from the server */
	size_t n_first;
	char *os;
	const struct md_replay_entry *replay;
	size_t n_replay;
};

/* ------------------------------------------------------------------------------------ */
/* Common                                                                               */
/* ------------------------------------------------------------------------------------ */

void md_exec_init(struct md_exec *x)
{
	x->exit_status = -1;
	x->exit_signal[0] = '\0';
	md_buf_init(&x->out, MD_SESSION_MAX_OUTPUT);
	md_buf_init(&x->err, MD_SESSION_MAX_OUTPUT);
}

void md_exec_cleanup(struct md_exec *x)
{
	md_buf_cleanup(&x->out);
	md_buf_cleanup(&x->err);
}

const char *md_session_os(const struct md_session *s)
{
	return s ? s->os : NULL;
}

void md_session_set_os(struct md_session *s, const char *os)
{
	char *copy;

	if (!s)
		return;
	copy = os ? strdup(os) : NULL;
	if (os && !copy)
		return; /* out of memory: keep the earlier value */
	free(s->os);
	s->os = copy;
}

struct _LIBSSH2_SESSION *md_session_ssh(struct md_session *s)
{
	return s ? s->ssh : NULL;
}

void md_session_free(struct md_session *s)
{
	if (!s)
		return;
	if (s->ssh) {
		/* One non-blocking try at a polite goodbye, then shut the socket so that
		 * libssh2's clean-up (which would wait for the peer's channel-close answers)
		 * fails fast instead of waiting on a peer that stopped talking. */
		if (!s->broken)
			libssh2_session_disconnect(s->ssh, "meshdoctor done");
		shutdown(s->fd, SHUT_RDWR);
		libssh2_session_set_blocking(s->ssh, 1);
		libssh2_session_set_timeout(s->ssh, 100);
		libssh2_session_free(s->ssh);
	}
	if (s->fd >= 0)
		close(s->fd);
	free(s->os);
	free(s);
}

/* ------------------------------------------------------------------------------------ */
/* Real sessions                                                                        */
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
	struct md_session *s = *abstract;
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

size_t md_session_first_bytes(const struct md_session *s, const unsigned char **p)
{
	*p = s ? s->first : NULL;
	return s ? s->n_first : 0;
}

struct md_session *md_session_new_ssh(int fd, struct md_err *err)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct md_session *s;

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
	{
		int one = 1;

		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		md_addr_format((struct sockaddr *)&ss, sl, s->peer, sizeof(s->peer));
	else
		snprintf(s->peer, sizeof(s->peer), "?");
	s->ssh = libssh2_session_init_ex(NULL, NULL, NULL, s);
	if (s->ssh)
		libssh2_session_callback_set(s->ssh, LIBSSH2_CALLBACK_RECV, (void *)recording_recv);
	if (!s->ssh) {
		md_session_free(s);
		md_err_set(err, MD_ENOMEM, "ssh", "libssh2_session_init failed");
		return NULL;
	}
	libssh2_session_set_blocking(s->ssh, 0);
	return s;
}

int md_session_wait(struct md_session *s, const struct md_deadline *dl)
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

static const char *last_error(struct md_session *s)
{
	char *msg = NULL;

	libssh2_session_last_error(s->ssh, &msg, NULL, 0);
	return msg && *msg ? msg : "unknown libssh2 error";
}

static int exec_timeout(struct md_session *s, const char *cmd, struct md_err *err)
{
	s->broken = true;
	return md_err_set(err, MD_ETIMEOUT, "exec", "exec `%s` on %s: no answer before the deadline",
			  cmd, s->peer);
}

/* Reads whatever is available on both streams.  *progress is set when bytes arrived. */
static int drain(struct md_session *s, LIBSSH2_CHANNEL *ch, struct md_exec *x, const char *cmd,
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

static int real_exec(struct md_session *s, const char *cmd, const unsigned char *in,
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
		if (md_session_wait(s, dl))
			return exec_timeout(s, cmd, err);
	}
	while ((rc = libssh2_channel_exec(ch, cmd)) == LIBSSH2_ERROR_EAGAIN)
		if (md_session_wait(s, dl)) {
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
		if (md_deadline_left_ms(dl) <= 0 || (!progress && md_session_wait(s, dl))) {
			rc = exec_timeout(s, cmd, err);
			goto out;
		}
	}
	while ((rc = libssh2_channel_close(ch)) == LIBSSH2_ERROR_EAGAIN)
		if (md_session_wait(s, dl)) {
			rc = exec_timeout(s, cmd, err);
			goto out;
		}
	if (rc == 0)
		while ((rc = libssh2_channel_wait_closed(ch)) == LIBSSH2_ERROR_EAGAIN)
			if (md_session_wait(s, dl)) {
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
			if (md_session_wait(s, dl)) {
				s->broken = true;
				break;
			}
	return rc;
}

/* ------------------------------------------------------------------------------------ */
/* Replay sessions                                                                      */
/* ------------------------------------------------------------------------------------ */

struct md_session *md_session_new_replay(const struct md_replay_entry *entries, size_t n,
					 const char *os)
{
	struct md_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->fd = -1;
	s->replay = entries;
	s->n_replay = n;
	snprintf(s->peer, sizeof(s->peer), "replay");
	if (os) {
		s->os = strdup(os);
		if (!s->os) {
			free(s);
			return NULL;
		}
	}
	return s;
}

static int replay_exec(struct md_session *s, const char *cmd, struct md_exec *x,
		       struct md_err *err)
{
	for (size_t i = 0; i < s->n_replay; i++) {
		const struct md_replay_entry *e = &s->replay[i];
		int rc;

		if (!e->cmd_prefix || strncmp(cmd, e->cmd_prefix, strlen(e->cmd_prefix)) != 0)
			continue;
		if (e->hang)
			return md_err_set(err, MD_ETIMEOUT, "exec",
					  "exec `%s` on replay: no answer before the deadline", cmd);
		rc = md_buf_puts(&x->out, e->out ? e->out : "");
		if (rc == MD_OK)
			rc = md_buf_puts(&x->err, e->err ? e->err : "");
		if (rc)
			return md_err_set(err, rc, "exec", "exec `%s` on replay: %s", cmd,
					  md_status_name(rc));
		x->exit_status = e->exit_status;
		return MD_OK;
	}
	x->exit_status = 127;
	return md_buf_printf(&x->err, "%.*s: command not found\n", (int)strcspn(cmd, " "), cmd);
}

/* ------------------------------------------------------------------------------------ */

int md_session_exec(struct md_session *s, const char *cmd, const void *in, size_t in_len,
		    struct md_exec *x, const struct md_deadline *dl, struct md_err *err)
{
	if (!s || !cmd || !x)
		return md_err_set(err, MD_EINVAL, "exec", "exec: no session or no command");
	md_buf_reset(&x->out);
	md_buf_reset(&x->err);
	x->exit_status = -1;
	x->exit_signal[0] = '\0';
	if (!s->ssh)
		return replay_exec(s, cmd, x, err);
	return real_exec(s, cmd, in, in ? in_len : 0, x, dl, err);
}
