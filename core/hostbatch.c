/* hostbatch.c — see hostbatch.h. */
#include "core/hostbatch.h"

#include <openssl/rand.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Our own deadline keeps this much beyond the host-side total, so that the host's answer
 * (a section ended by its limit) still arrives. */
#define MARGIN_MS 500

struct step {
	char id[MD_HOSTBATCH_ID_MAX];
	char *cmd;
	int limit_s;
	struct md_host_out out;
	bool taken;
};

struct md_hostbatch {
	struct step v[MD_HOSTBATCH_MAX_STEPS];
	size_t n;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started, done, cancelled; /* under mu */
};

void md_host_out_init(struct md_host_out *o)
{
	memset(o, 0, sizeof(*o));
	o->state = MD_HOST_LOST;
	o->exit_status = -1;
	md_buf_init(&o->out, MD_SESSION_MAX_OUTPUT);
	md_buf_init(&o->err, MD_SESSION_MAX_OUTPUT);
}

void md_host_out_cleanup(struct md_host_out *o)
{
	md_buf_cleanup(&o->out);
	md_buf_cleanup(&o->err);
}

struct md_hostbatch *md_hostbatch_new(struct md_err *err)
{
	struct md_hostbatch *b = calloc(1, sizeof(*b));

	if (!b) {
		md_err_set(err, MD_ENOMEM, "batch", "out of memory");
		return NULL;
	}
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	return b;
}

void md_hostbatch_free(struct md_hostbatch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free(b->v[i].cmd);
		md_host_out_cleanup(&b->v[i].out);
	}
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

static bool id_ok(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n < MD_HOSTBATCH_ID_MAX && strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

int md_hostbatch_add(struct md_hostbatch *b, const char *id, const char *cmd, int limit_s,
		     struct md_err *err)
{
	struct step *st;
	bool started;

	pthread_mutex_lock(&b->mu);
	started = b->started;
	pthread_mutex_unlock(&b->mu);
	if (started || !id_ok(id) || !cmd || limit_s < 0)
		return md_err_set(err, MD_EINVAL, "batch", "host step '%s': %s", id,
				  started ? "the batch already ran" : "bad id, command or limit");
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->v[i].id, id) == 0)
			return md_err_set(err, MD_EINVAL, "batch", "host step '%s' added twice", id);
	if (b->n >= MD_HOSTBATCH_MAX_STEPS)
		return md_err_set(err, MD_ETOOBIG, "batch", "more than %d host steps",
				  MD_HOSTBATCH_MAX_STEPS);
	st = &b->v[b->n];
	memset(st, 0, sizeof(*st));
	st->cmd = strdup(cmd);
	if (!st->cmd)
		return md_err_set(err, MD_ENOMEM, "batch", "out of memory");
	snprintf(st->id, sizeof(st->id), "%s", id);
	st->limit_s = limit_s;
	md_host_out_init(&st->out);
	b->n++;
	return MD_OK;
}

size_t md_hostbatch_count(const struct md_hostbatch *b)
{
	return b ? b->n : 0;
}

/* ---- The script ---------------------------------------------------------------------- */

/* POSIX sh: the limit is `timeout` (coreutils, BusyBox), else perl's alarm, which survives
 * the exec (POSIX alarm(2); macOS has perl but no timeout), else none.  The total counts
 * down in milliseconds: `date +%s%N` (GNU, BusyBox) when it prints digits only, else whole
 * seconds from `date +%s` (BSD; what is lost to the clock's granularity is then the
 * sections' loss, never past the total); without `date` the total is not counted down
 * (each section still has its own limit).  A section's limit is the whole seconds left. */
static const char prologue[] =
	"md_now() { md_t=$(date +%%s%%N 2>/dev/null); case $md_t in *[!0-9]*|'') md_t=;; esac\n"
	"\tif [ ${#md_t} -ge 16 ]; then echo \"${md_t%%??????}\"; "
	"else md_t=$(date +%%s 2>/dev/null) && echo $(( md_t * 1000 )) || echo 0; fi; }\n"
	"md_end=$(( $(md_now) + %d ))\n"
	"md_lim() { if command -v timeout >/dev/null 2>&1; then timeout \"$@\"; "
	"elif command -v perl >/dev/null 2>&1; then "
	"perl -e 'alarm shift @ARGV; exec @ARGV or exit 127' \"$@\"; else shift; \"$@\"; fi; }\n"
	"md_run() {\n"
	"\tmd_l=$(( (md_end - $(md_now)) / 1000 ))\n"
	"\t[ \"$2\" -gt 0 ] && [ \"$2\" -lt \"$md_l\" ] && md_l=$2\n"
	"\tprintf '\\n%%s %%s begin\\n' \"$md_m\" \"$1\"; printf '\\n%%s %%s begin\\n' \"$md_m\" \"$1\" >&2\n"
	"\tif [ \"$md_l\" -lt 1 ]; then md_s=skipped; "
	"else md_lim \"$md_l\" sh -c \"$3\" </dev/null; md_s=$?; fi\n"
	"\tprintf '\\n%%s %%s end %%s %%s\\n' \"$md_m\" \"$1\" \"$md_s\" \"$md_l\"; "
	"printf '\\n%%s %%s end\\n' \"$md_m\" \"$1\" >&2\n"
	"}\n";

/* cmd as one POSIX single-quoted word: a quote becomes '\''. */
static int put_quoted(struct md_buf *out, const char *cmd)
{
	int rc = md_buf_puts(out, "'");

	for (const char *p = cmd; rc == MD_OK && *p; p++)
		rc = *p == '\'' ? md_buf_puts(out, "'\\''") : md_buf_append(out, p, 1);
	return rc == MD_OK ? md_buf_puts(out, "'") : rc;
}

int md_hostbatch_script(const struct md_hostbatch *b, const char *nonce, int64_t total_ms,
			struct md_buf *out)
{
	int rc;

	md_buf_reset(out);
	rc = md_buf_printf(out, "md_m=%s\n", nonce);
	if (rc == MD_OK)
		rc = md_buf_printf(out, prologue, (int)(total_ms < 1000 ? 1000 : total_ms > INT32_MAX ? INT32_MAX : total_ms));
	for (size_t i = 0; rc == MD_OK && i < b->n; i++) {
		rc = md_buf_printf(out, "md_run %s %d ", b->v[i].id, b->v[i].limit_s);
		if (rc == MD_OK)
			rc = put_quoted(out, b->v[i].cmd);
		if (rc == MD_OK)
			rc = md_buf_puts(out, "\n");
	}
	return rc;
}

/* ---- Cutting the output apart -------------------------------------------------------- */

/* The bytes between "\n<nonce> <id> begin\n" and "\n<nonce> <id> end" in text, and what
 * follows "end" up to the line's end (*tail, *tail_len).  false when a frame is missing. */
static bool frame(const char *text, size_t len, const char *nonce, const char *id,
		  const char **body, size_t *body_len, const char **tail, size_t *tail_len)
{
	char mark[MD_HOSTBATCH_NONCE_LEN + MD_HOSTBATCH_ID_MAX + 16];
	const char *b, *e, *nl;
	int n;

	n = snprintf(mark, sizeof(mark), "\n%s %s begin\n", nonce, id);
	b = memmem(text, len, mark, (size_t)n);
	if (!b)
		return false;
	b += n;
	n = snprintf(mark, sizeof(mark), "\n%s %s end", nonce, id);
	e = memmem(b, len - (size_t)(b - text), mark, (size_t)n);
	if (!e)
		return false;
	*body = b;
	*body_len = (size_t)(e - b);
	*tail = e + n;
	nl = memchr(*tail, '\n', len - (size_t)(*tail - text));
	if (!nl)
		return false;
	*tail_len = (size_t)(nl - *tail);
	return true;
}

/* " STATUS LIMIT" after "end": a number or "skipped", then the limit. */
static void parse_tail(const char *t, size_t n, struct md_host_out *o)
{
	char buf[48];
	int status, limit;

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, t, n);
	buf[n] = '\0';
	if (sscanf(buf, " skipped %d", &limit) == 1) {
		o->state = MD_HOST_SKIPPED;
		o->limit_s = limit;
	} else if (sscanf(buf, " %d %d", &status, &limit) == 2 && status >= 0 && status <= 255) {
		o->state = MD_HOST_RAN;
		o->exit_status = status;
		o->limit_s = limit;
	} else {
		snprintf(o->why, sizeof(o->why), "the section's end frame is malformed");
	}
}

static int cut_one(struct step *st, const char *nonce, const char *out, size_t out_len,
		   const char *err, size_t err_len, const char *why_lost)
{
	const char *body, *tail;
	size_t body_len, tail_len;
	struct md_host_out *o = &st->out;
	int rc = MD_OK;

	md_buf_reset(&o->out);
	md_buf_reset(&o->err);
	o->state = MD_HOST_LOST;
	o->exit_status = -1;
	if (!frame(out, out_len, nonce, st->id, &body, &body_len, &tail, &tail_len)) {
		snprintf(o->why, sizeof(o->why), "%s", why_lost && *why_lost ? why_lost
			 : "no output framed for it: the batch was cut short or did not run");
		return MD_OK;
	}
	parse_tail(tail, tail_len, o);
	if (o->state == MD_HOST_LOST)
		return MD_OK;
	rc = md_buf_append(&o->out, body, body_len);
	/* stderr frames carry no status; a missing one leaves stderr empty. */
	if (rc == MD_OK && frame(err, err_len, nonce, st->id, &body, &body_len, &tail, &tail_len))
		rc = md_buf_append(&o->err, body, body_len);
	return rc;
}

int md_hostbatch_parse(struct md_hostbatch *b, const char *nonce, const char *out, size_t out_len,
		       const char *err, size_t err_len, const char *why_lost)
{
	int rc = MD_OK;

	for (size_t i = 0; rc == MD_OK && i < b->n; i++)
		rc = cut_one(&b->v[i], nonce, out ? out : "", out ? out_len : 0, err ? err : "",
			     err ? err_len : 0, why_lost);
	return rc;
}

/* ---- Running it ------------------------------------------------------------------------ */

static int make_nonce(char out[MD_HOSTBATCH_NONCE_LEN + 1])
{
	unsigned char r[MD_HOSTBATCH_NONCE_LEN / 2];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return MD_EIO;
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	return MD_OK;
}

/* What the host said when it could not run the batch: the first line of its stderr. */
static void lost_why(const struct md_exec *x, int rc, const struct md_err *e, char *out, size_t n)
{
	const char *s = md_buf_str(&x->err);
	size_t l;

	if (rc != MD_OK) {
		snprintf(out, n, "%s", e->msg[0] ? e->msg : md_status_name(rc));
		return;
	}
	while (*s == '\n' || *s == '\r')
		s++;
	l = strcspn(s, "\r\n");
	if (l)
		snprintf(out, n, "`sh -s` exit %d: %.*s", x->exit_status, (int)(l > 200 ? 200 : l), s);
	else
		snprintf(out, n, "`sh -s` exit %d with no frame: not a POSIX shell's answer",
			 x->exit_status);
}

/* Runs the sections over s; every one ends with a result.  MD_ENOMEM only. */
static int run_batch(struct md_hostbatch *b, struct md_session *s, const struct md_deadline *dl,
		     int64_t host_ms)
{
	char nonce[MD_HOSTBATCH_NONCE_LEN + 1], why[256];
	struct md_deadline ours = *dl;
	struct md_err e = { 0 };
	struct md_exec x;
	struct md_buf script;
	int64_t left = md_deadline_left_ms(dl);
	int64_t total;
	int rc;

	if (host_ms > 0 && host_ms < left)
		left = host_ms;
	total = left == INT64_MAX ? 3600 * 1000 : left - MARGIN_MS;
	md_buf_init(&script, 0);
	md_exec_init(&x);
	rc = make_nonce(nonce);
	if (rc == MD_OK)
		rc = md_hostbatch_script(b, nonce, total, &script);
	if (rc == MD_OK) {
		rc = md_session_exec(s, "sh -s", script.data, script.len, &x, &ours, &e);
		lost_why(&x, rc, &e, why, sizeof(why));
		for (size_t i = 0; i < b->n; i++)
			b->v[i].out.rc = rc;
		rc = md_hostbatch_parse(b, nonce, x.out.data, x.out.len, x.err.data, x.err.len, why);
	} else {
		snprintf(why, sizeof(why), "the batch could not be built: %s", md_status_name(rc));
		md_hostbatch_parse(b, "-", "", 0, "", 0, why);
	}
	md_exec_cleanup(&x);
	md_buf_cleanup(&script);
	return rc;
}

void md_hostbatch_run(struct md_hostbatch *b, struct md_session *s, const struct md_deadline *dl,
		      int64_t host_ms)
{
	pthread_mutex_lock(&b->mu);
	if (b->started) {
		pthread_mutex_unlock(&b->mu);
		return;
	}
	b->started = true;
	pthread_mutex_unlock(&b->mu);
	if (b->n && s)
		run_batch(b, s, dl, host_ms);
	pthread_mutex_lock(&b->mu);
	b->done = true;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

void md_hostbatch_cancel(struct md_hostbatch *b)
{
	pthread_mutex_lock(&b->mu);
	b->started = b->done = b->cancelled = true;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

int md_hostbatch_take(struct md_hostbatch *b, const char *id, const char *cmd,
		      struct md_host_out *o)
{
	struct step *st = NULL;

	if (!b)
		return MD_ENOTFOUND;
	for (size_t i = 0; i < b->n && !st; i++)
		if (strcmp(b->v[i].id, id) == 0 && strcmp(b->v[i].cmd, cmd) == 0)
			st = &b->v[i];
	pthread_mutex_lock(&b->mu);
	if (st && !b->cancelled)
		while (!b->done)
			pthread_cond_wait(&b->cv, &b->mu);
	if (!st || b->cancelled || st->taken) {
		pthread_mutex_unlock(&b->mu);
		return MD_ENOTFOUND;
	}
	st->taken = true;
	pthread_mutex_unlock(&b->mu);
	md_host_out_cleanup(o);
	*o = st->out;
	md_host_out_init(&st->out);
	return MD_OK;
}

int md_host_run(struct md_session *s, const char *cmd, int limit_s, const struct md_deadline *dl,
		struct md_host_out *o, struct md_err *err)
{
	struct md_hostbatch *b = md_hostbatch_new(err);
	int rc;

	if (!b)
		return MD_ENOMEM;
	rc = md_hostbatch_add(b, "cmd", cmd, limit_s, err);
	if (rc == MD_OK) {
		md_hostbatch_run(b, s, dl, 0);
		rc = md_hostbatch_take(b, "cmd", cmd, o);
	}
	md_hostbatch_free(b);
	return rc;
}
