/* plan.c — a remedy's plan: its steps, printed, applied through a session, verified. */
#include "remedies/remedy.h"

#include "core/buf.h"
#include "core/text.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void md_plan_init(struct md_plan *p, const char *remedy)
{
	memset(p, 0, sizeof(*p));
	p->remedy = remedy;
}

void md_plan_cleanup(struct md_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].what);
		free(p->v[i].cmd);
		free(p->v[i].path);
		free(p->v[i].data);
	}
	free(p->v);
	p->v = NULL;
	p->n = p->cap = 0;
}

static struct md_plan_step *new_step(struct md_plan *p, enum md_step_kind kind, const char *what)
{
	struct md_plan_step *v = md_grow(p->v, &p->cap, p->n, sizeof(*v), 4), *s;

	if (!v)
		return NULL;
	p->v = v;
	s = &v[p->n];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->what = strdup(what ? what : "");
	if (!s->what)
		return NULL;
	p->n++;
	return s;
}

int md_plan_run(struct md_plan *p, const char *what, const char *cmd, const char *stdin_secret)
{
	struct md_plan_step *s = new_step(p, MD_STEP_RUN, what);

	if (!s || !(s->cmd = strdup(cmd)))
		return MD_ENOMEM;
	s->stdin_secret = stdin_secret;
	return MD_OK;
}

int md_plan_write(struct md_plan *p, const char *what, const char *path, const char *data,
		  size_t len, int mode)
{
	struct md_plan_step *s = new_step(p, MD_STEP_WRITE, what);

	if (!s || !(s->path = strdup(path)) || !(s->data = malloc(len + 1)))
		return MD_ENOMEM;
	memcpy(s->data, data, len);
	s->data[len] = '\0';
	s->len = len;
	s->mode = mode;
	return MD_OK;
}

int md_plan_write_secret(struct md_plan *p, const char *what, const char *path,
			 const char *secret, int mode)
{
	int rc = md_plan_write(p, what, path, "", 0, mode);

	if (rc == MD_OK)
		p->v[p->n - 1].data_secret = secret;
	return rc;
}

static const struct md_secret *find_secret(const struct md_secret *v, size_t n, const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* text indented by four spaces a line, each line printable (md_printable). */
static int put_indented(struct md_buf *out, const char *text, size_t len)
{
	int rc = MD_OK;

	for (size_t i = 0; i < len && rc == MD_OK;) {
		size_t n = strcspn(text + i, "\n");
		char line[512], raw[512];

		snprintf(raw, sizeof(raw), "%.*s", (int)(n < sizeof(raw) - 1 ? n : sizeof(raw) - 1),
			 text + i);
		md_printable(raw, line, sizeof(line));
		rc = md_buf_printf(out, "    %s%s\n", line, n >= sizeof(raw) ? " [...]" : "");
		i += n + 1;
	}
	return rc;
}

int md_plan_print(const struct md_plan *p, const char *host, const struct md_secret *secrets,
		  size_t n_secrets, struct md_buf *out)
{
	int rc = MD_OK;

	if (p->refused[0])
		return md_buf_printf(out, "%s on %s: cannot apply: %s\n", p->remedy, host, p->refused);
	if (!p->n)
		return md_buf_printf(out, "%s on %s: nothing to do: %s\n", p->remedy, host,
				     p->nothing[0] ? p->nothing : "already as it should be");
	rc |= md_buf_printf(out, "%s on %s: %zu step%s\n", p->remedy, host, p->n, p->n == 1 ? "" : "s");
	for (size_t i = 0; i < p->n; i++) {
		const struct md_plan_step *s = &p->v[i];
		const struct md_secret *sec = find_secret(secrets, n_secrets, s->stdin_secret);
		const struct md_secret *dsec = find_secret(secrets, n_secrets, s->data_secret);

		rc |= md_buf_printf(out, "  %zu. %s\n", i + 1, s->what);
		if (s->kind == MD_STEP_RUN) {
			rc |= md_buf_printf(out, "     run: %s\n", s->cmd);
			if (s->stdin_secret)
				rc |= md_buf_printf(out, "     standard input: %s\n",
						    sec ? sec->shown : s->stdin_secret);
		} else if (s->data_secret) {
			rc |= md_buf_printf(out, "     write %s (mode %04o): %s\n", s->path,
					    (unsigned)s->mode, dsec ? dsec->shown : s->data_secret);
		} else {
			rc |= md_buf_printf(out, "     write %s (mode %04o, %zu bytes):\n", s->path,
					    (unsigned)s->mode, s->len);
			rc |= put_indented(out, s->data, s->len);
		}
	}
	if (p->verify_fact)
		rc |= md_buf_printf(out, "  then: re-run the %s probe and expect %s %s %s\n",
				    p->verify_probes, p->verify_fact, p->verify_differs ? "!=" : "=",
				    p->verify_value);
	return rc ? MD_ENOMEM : MD_OK;
}

/* text's non-empty lines joined by " / ", printable, into out. */
static void joined_lines(const char *text, char *out, size_t len)
{
	char raw[1024];
	size_t o = 0;

	for (const char *s = text; *s && o + 4 < sizeof(raw);) {
		size_t n = strcspn(s, "\r\n");

		if (n)
			o += (size_t)snprintf(raw + o, sizeof(raw) - o, "%s%.*s", o ? " / " : "",
					      (int)n, s);
		s += n;
		s += strspn(s, "\r\n");
	}
	raw[o < sizeof(raw) ? o : sizeof(raw) - 1] = '\0';
	md_printable(raw, out, len);
}

/* The evidence of a command that did not succeed: its status and what it said. */
static void run_evidence(const struct md_exec *x, char *out, size_t len)
{
	char said[800];

	joined_lines(md_buf_str(&x->err), said, sizeof(said));
	if (!said[0])
		joined_lines(md_buf_str(&x->out), said, sizeof(said));
	if (x->exit_signal[0])
		snprintf(out, len, "killed by SIG%s%s%s", x->exit_signal, said[0] ? ": " : "", said);
	else
		snprintf(out, len, "exit %d%s%s", x->exit_status, said[0] ? ": " : "", said);
}

/* One RUN step: its secret (value, or placeholder in a dry run) and a newline on stdin. */
static int apply_run(const struct md_plan_step *st, const struct md_secret *sec, struct md_session *s,
		     const struct md_deadline *dl, char *ev, size_t ev_len, struct md_err *err)
{
	struct md_exec x;
	char *in = NULL;
	size_t in_len = 0;
	int rc;

	if (sec) {
		const char *v = sec->value ? sec->value : sec->shown;
		size_t n = sec->value ? sec->len : strlen(sec->shown);

		in = malloc(n + 1);
		if (!in)
			return md_err_set(err, MD_ENOMEM, "remedy", "out of memory");
		memcpy(in, v, n);
		in[n] = '\n';
		in_len = n + 1;
	}
	md_exec_init(&x);
	rc = md_session_exec(s, st->cmd, in, in_len, &x, dl, err);
	if (in) {
		OPENSSL_cleanse(in, in_len);
		free(in);
	}
	if (rc == MD_OK && x.exit_status != 0) {
		run_evidence(&x, ev, ev_len);
		rc = MD_EIO;
	} else if (rc != MD_OK) {
		snprintf(ev, ev_len, "%s", err->msg);
		rc = rc == MD_ENOMEM ? MD_ENOMEM : MD_EIO;
	}
	md_exec_cleanup(&x);
	return rc;
}

int md_plan_apply(const struct md_plan *p, struct md_session *s, const struct md_secret *secrets,
		  size_t n_secrets, const struct md_deadline *dl, struct md_apply_result *res,
		  struct md_err *err)
{
	memset(res, 0, sizeof(*res));
	for (size_t i = 0; i < p->n; i++) {
		const struct md_plan_step *st = &p->v[i];
		const char *need = st->kind == MD_STEP_RUN ? st->stdin_secret : st->data_secret;
		const struct md_secret *sec = find_secret(secrets, n_secrets, need);
		struct md_err e = { 0 };
		int rc;

		if (need && !sec)
			return md_err_set(err, MD_EINVAL, "remedy", "step %zu (%s) needs the secret %s, "
					  "which was not given", i + 1, st->what, need);
		if (st->kind == MD_STEP_RUN) {
			rc = apply_run(st, sec, s, dl, res->evidence, sizeof(res->evidence), &e);
		} else if (sec) {
			/* The value, or in a dry run its placeholder. */
			rc = md_session_write_file(s, st->path, sec->value ? sec->value : sec->shown,
						   sec->value ? sec->len : strlen(sec->shown), st->mode,
						   dl, &e);
			if (rc != MD_OK)
				snprintf(res->evidence, sizeof(res->evidence), "write %s: %s", st->path,
					 e.msg);
		} else {
			rc = md_session_write_file(s, st->path, st->data, st->len, st->mode, dl, &e);
			if (rc != MD_OK)
				snprintf(res->evidence, sizeof(res->evidence), "write %s: %s", st->path,
					 e.msg);
		}
		if (rc == MD_ENOMEM)
			return md_err_set(err, MD_ENOMEM, "remedy", "out of memory");
		if (rc != MD_OK) {
			res->failed = i + 1;
			return md_err_set(err, MD_EIO, "remedy", "step %zu (%s) failed: %s", i + 1,
					  st->what, res->evidence);
		}
		res->done++;
	}
	return MD_OK;
}

bool md_plan_verified(const struct md_plan *p, const struct md_facts *facts)
{
	const char *v;

	if (!p->verify_fact)
		return true;
	v = md_facts_str(facts, p->verify_fact);
	return v && (strcmp(v, p->verify_value) == 0) != p->verify_differs;
}
