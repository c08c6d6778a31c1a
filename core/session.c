/* session.c — what every kind of session shares: the dispatch through its ops, one call
 * at a time, the host's family and the count of commands run. */
#include "core/session.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct md_session {
	const struct md_session_ops *ops;
	void *impl;
	char peer[80];
	char *os;
	unsigned n_exec;
	/* One call at a time: the ops of a libssh2 session must not run on two threads. */
	pthread_mutex_t mu;
};

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

struct md_session *md_session_new(const struct md_session_ops *ops, void *impl, const char *peer,
				  const char *os, struct md_err *err)
{
	struct md_session *s = calloc(1, sizeof(*s));

	if (s && os && !(s->os = strdup(os))) {
		free(s);
		s = NULL;
	}
	if (!s) {
		if (ops->free)
			ops->free(impl);
		md_err_set(err, MD_ENOMEM, "session", "out of memory");
		return NULL;
	}
	s->ops = ops;
	s->impl = impl;
	snprintf(s->peer, sizeof(s->peer), "%s", peer ? peer : "?");
	pthread_mutex_init(&s->mu, NULL);
	return s;
}

void *md_session_impl(const struct md_session *s, const struct md_session_ops *ops)
{
	return s && s->ops == ops ? s->impl : NULL;
}

int md_session_exec(struct md_session *s, const char *cmd, const void *in, size_t in_len,
		    struct md_exec *x, const struct md_deadline *dl, struct md_err *err)
{
	int rc;

	if (!s || !cmd || !x)
		return md_err_set(err, MD_EINVAL, "exec", "exec: no session or no command");
	md_buf_reset(&x->out);
	md_buf_reset(&x->err);
	x->exit_status = -1;
	x->exit_signal[0] = '\0';
	pthread_mutex_lock(&s->mu);
	s->n_exec++;
	rc = s->ops->exec(s->impl, cmd, in, in ? in_len : 0, x, dl, err);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int md_session_read_file(struct md_session *s, const char *path, struct md_buf *out,
			 const struct md_deadline *dl, struct md_err *err)
{
	int rc;

	if (!s || !path || !out)
		return md_err_set(err, MD_EINVAL, "read", "read: no session or no path");
	md_buf_reset(out);
	if (!s->ops->read_file)
		return md_err_set(err, MD_EINVAL, "read", "read %s on %s: this session has no files",
				  path, s->peer);
	pthread_mutex_lock(&s->mu);
	rc = s->ops->read_file(s->impl, path, out, dl, err);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int md_session_write_file(struct md_session *s, const char *path, const void *data, size_t len,
			  int mode, const struct md_deadline *dl, struct md_err *err)
{
	int rc;

	if (!s || !path || (!data && len))
		return md_err_set(err, MD_EINVAL, "write", "write: no session or no path");
	if (!s->ops->write_file)
		return md_err_set(err, MD_EINVAL, "write", "write %s on %s: this session has no files",
				  path, s->peer);
	pthread_mutex_lock(&s->mu);
	rc = s->ops->write_file(s->impl, path, data ? data : "", len, mode, dl, err);
	pthread_mutex_unlock(&s->mu);
	return rc;
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
	pthread_mutex_lock(&s->mu);
	free(s->os);
	s->os = copy;
	pthread_mutex_unlock(&s->mu);
}

const char *md_session_kind(const struct md_session *s)
{
	return s ? s->ops->kind : NULL;
}

const char *md_session_peer(const struct md_session *s)
{
	return s ? s->peer : NULL;
}

unsigned md_session_exec_count(const struct md_session *s)
{
	unsigned n;

	if (!s)
		return 0;
	pthread_mutex_lock((pthread_mutex_t *)&s->mu);
	n = s->n_exec;
	pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
	return n;
}

void md_session_free(struct md_session *s)
{
	if (!s)
		return;
	if (s->ops->free)
		s->ops->free(s->impl);
	pthread_mutex_destroy(&s->mu);
	free(s->os);
	free(s);
}
