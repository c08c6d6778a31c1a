/* session_replay.c — see session_replay.h. */
#include "tests/support/session_replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct replay_file {
	char *path, *text;
};

struct replay {
	const struct md_replay_entry *entries;
	size_t n_entries;
	char **cmds;
	int *limits;         /* per command: its batch section's limit, -1 when run alone */
	size_t n_cmds, cap_cmds, cap_limits;
	struct replay_file *files;
	size_t n_files, cap_files;
	char *last_in;       /* what the last command run alone got on its standard input */
	size_t last_in_len;
};

static int log_cmd_limit(struct replay *r, const char *cmd, int limit)
{
	char **v = md_grow(r->cmds, &r->cap_cmds, r->n_cmds, sizeof(*v), 8);
	int *l = v ? md_grow(r->limits, &r->cap_limits, r->n_cmds, sizeof(*l), 8) : NULL;
	char *copy = strdup(cmd);

	if (v)
		r->cmds = v;
	if (l)
		r->limits = l;
	if (!v || !l || !copy) {
		free(copy);
		return MD_ENOMEM;
	}
	r->limits[r->n_cmds] = limit;
	r->cmds[r->n_cmds++] = copy;
	return MD_OK;
}

static int log_cmd(struct replay *r, const char *cmd)
{
	return log_cmd_limit(r, cmd, -1);
}

static const struct md_replay_entry *find_entry(const struct replay *r, const char *cmd)
{
	for (size_t i = 0; i < r->n_entries; i++) {
		const struct md_replay_entry *e = &r->entries[i];

		if (e->cmd_prefix && strncmp(cmd, e->cmd_prefix, strlen(e->cmd_prefix)) == 0)
			return e;
	}
	return NULL;
}

/* The word after "md_run ID LIMIT " in a batch script: POSIX single quotes, '\'' for a
 * quote (core/hostbatch.c).  Returns a malloc'ed copy, *end after it; NULL on a bad line. */
static char *unquote(const char *p, const char **end)
{
	struct md_buf b;

	md_buf_init(&b, 0);
	while (*p == '\'') {
		const char *q = strchr(p + 1, '\'');

		if (!q || md_buf_append(&b, p + 1, (size_t)(q - p - 1)))
			goto bad;
		p = q + 1;
		if (strncmp(p, "\\'", 2) == 0) {
			if (md_buf_puts(&b, "'"))
				goto bad;
			p += 2;
		}
	}
	*end = p;
	if (md_buf_puts(&b, ""))
		goto bad;
	return md_buf_steal(&b);
bad:
	md_buf_cleanup(&b);
	return NULL;
}

/* One section of a batch: framed as the script's md_run would frame it. */
static int batch_section(struct replay *r, const char *nonce, const char *id, int limit,
			 const char *cmd, struct md_exec *x)
{
	const struct md_replay_entry *e = find_entry(r, cmd);
	int rc = log_cmd_limit(r, cmd, limit);

	if (rc == MD_OK)
		rc = md_buf_printf(&x->out, "\n%s %s begin\n%s", nonce, id, e && e->out ? e->out : "");
	if (rc == MD_OK && e)
		rc = md_buf_printf(&x->err, "\n%s %s begin\n%s", nonce, id, e->err ? e->err : "");
	else if (rc == MD_OK)
		rc = md_buf_printf(&x->err, "\n%s %s begin\nsh: 1: %.*s: not found\n", nonce, id,
				   (int)strcspn(cmd, " "), cmd);
	if (rc == MD_OK)
		rc = md_buf_printf(&x->out, "\n%s %s end %d %d\n", nonce, id, e ? e->exit_status : 127,
				   limit);
	if (rc == MD_OK)
		rc = md_buf_printf(&x->err, "\n%s %s end\n", nonce, id);
	return rc;
}

/* `sh -s` with a host batch on stdin (core/hostbatch.c): each section is answered from the
 * table as if run alone, and framed with the script's nonce; a section whose entry hangs
 * makes the whole exec hang. */
static int batch_exec(struct replay *r, const char *script, struct md_exec *x, struct md_err *err)
{
	char nonce[64];
	const char *p;
	int rc = MD_OK;

	if (sscanf(script, "md_m=%63[0-9a-f]", nonce) != 1)
		return md_err_set(err, MD_EINVAL, "exec", "replay: `sh -s` without a batch script");
	for (p = script; rc == MD_OK && (p = strstr(p, "\nmd_run ")); ) {
		char id[64], *cmd;
		int limit, used = 0;
		const struct md_replay_entry *e;

		if (sscanf(p, "\nmd_run %63s %d %n", id, &limit, &used) != 2 || !used)
			return md_err_set(err, MD_EINVAL, "exec", "replay: a malformed md_run line");
		cmd = unquote(p + used, &p);
		if (!cmd)
			return md_err_set(err, MD_EINVAL, "exec", "replay: a malformed md_run command");
		e = find_entry(r, cmd);
		if (e && e->hang) {
			rc = log_cmd_limit(r, cmd, limit);
			free(cmd);
			return rc ? md_err_set(err, rc, "exec", "out of memory")
				  : md_err_set(err, MD_ETIMEOUT, "exec",
					       "exec `sh -s` on replay: no answer before the deadline");
		}
		rc = batch_section(r, nonce, id, limit, cmd, x);
		free(cmd);
	}
	x->exit_status = 0;
	return rc ? md_err_set(err, rc, "exec", "out of memory") : MD_OK;
}

static int replay_exec(void *impl, const char *cmd, const void *in, size_t in_len,
		       struct md_exec *x, const struct md_deadline *dl, struct md_err *err)
{
	struct replay *r = impl;

	(void)dl;
	/* A batch, unless the table answers `sh -s` itself (a host without sh). */
	if (strcmp(cmd, "sh -s") == 0 && in && !find_entry(r, cmd)) {
		char *script = strndup(in, in_len);
		int rc;

		if (!script)
			return md_err_set(err, MD_ENOMEM, "exec", "out of memory");
		rc = batch_exec(r, script, x, err);
		free(script);
		return rc;
	}
	if (log_cmd(r, cmd))
		return md_err_set(err, MD_ENOMEM, "exec", "out of memory");
	free(r->last_in);
	r->last_in = malloc(in_len + 1);
	if (!r->last_in)
		return md_err_set(err, MD_ENOMEM, "exec", "out of memory");
	if (in_len)
		memcpy(r->last_in, in, in_len);
	r->last_in[in_len] = '\0';
	r->last_in_len = in_len;
	for (size_t i = 0; i < r->n_entries; i++) {
		const struct md_replay_entry *e = &r->entries[i];
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

static struct replay_file *find_file(const struct replay *r, const char *path)
{
	for (size_t i = 0; i < r->n_files; i++)
		if (strcmp(r->files[i].path, path) == 0)
			return &r->files[i];
	return NULL;
}

static int put_file(struct replay *r, const char *path, const char *data, size_t len)
{
	struct replay_file *f = find_file(r, path);
	char *text = malloc(len + 1);

	if (!text)
		return MD_ENOMEM;
	memcpy(text, data, len);
	text[len] = '\0';
	if (!f) {
		struct replay_file *v = md_grow(r->files, &r->cap_files, r->n_files, sizeof(*v), 4);

		if (!v || !(path = strdup(path))) {
			free(text);
			return MD_ENOMEM;
		}
		r->files = v;
		f = &r->files[r->n_files++];
		f->path = (char *)path;
		f->text = NULL;
	}
	free(f->text);
	f->text = text;
	return MD_OK;
}

static int replay_read(void *impl, const char *path, struct md_buf *out,
		       const struct md_deadline *dl, struct md_err *err)
{
	const struct replay_file *f = find_file(impl, path);

	(void)dl;
	if (!f)
		return md_err_set(err, MD_ENOTFOUND, "read", "read %s on replay: no such file", path);
	return md_buf_puts(out, f->text);
}

static int replay_write(void *impl, const char *path, const void *data, size_t len, int mode,
			const struct md_deadline *dl, struct md_err *err)
{
	(void)mode;
	(void)dl;
	if (put_file(impl, path, data, len))
		return md_err_set(err, MD_ENOMEM, "write", "out of memory");
	return MD_OK;
}

static void replay_free(void *impl)
{
	struct replay *r = impl;

	if (!r)
		return;
	free(r->last_in);
	for (size_t i = 0; i < r->n_cmds; i++)
		free(r->cmds[i]);
	for (size_t i = 0; i < r->n_files; i++) {
		free(r->files[i].path);
		free(r->files[i].text);
	}
	free(r->cmds);
	free(r->limits);
	free(r->files);
	free(r);
}

static const struct md_session_ops replay_ops = {
	.kind = "replay",
	.exec = replay_exec,
	.read_file = replay_read,
	.write_file = replay_write,
	.free = replay_free,
};

struct md_session *md_session_new_replay(const struct md_replay_entry *entries, size_t n,
					 const char *os)
{
	struct replay *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->entries = entries;
	r->n_entries = n;
	return md_session_new(&replay_ops, r, "replay", os, NULL);
}

int md_replay_put_file(struct md_session *s, const char *path, const char *text)
{
	struct replay *r = md_session_impl(s, &replay_ops);

	return r ? put_file(r, path, text, strlen(text)) : MD_EINVAL;
}

const char *md_replay_file(const struct md_session *s, const char *path)
{
	struct replay *r = md_session_impl(s, &replay_ops);
	const struct replay_file *f = r ? find_file(r, path) : NULL;

	return f ? f->text : NULL;
}

const char *md_replay_cmd(const struct md_session *s, size_t i)
{
	struct replay *r = md_session_impl(s, &replay_ops);

	return r && i < r->n_cmds ? r->cmds[i] : NULL;
}

int md_replay_limit(const struct md_session *s, size_t i)
{
	struct replay *r = md_session_impl(s, &replay_ops);

	return r && i < r->n_cmds ? r->limits[i] : -1;
}

const char *md_replay_last_stdin(const struct md_session *s, size_t *len)
{
	const struct replay *r = md_session_impl(s, &replay_ops);

	if (len)
		*len = r && r->last_in ? r->last_in_len : 0;
	return r ? r->last_in : NULL;
}
