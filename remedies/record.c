/* record.c — the recording session of dry runs (remedy.h): it runs nothing and writes
 * nothing, and logs each request as the host would have received it. */
#include "remedies/remedy.h"

#include "core/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct recorder {
	struct md_buf *log;
	unsigned n;
};

/* data's lines, indented, each printable: what a dry run shows of stdin and files. */
static int log_text(struct md_buf *log, const char *data, size_t len)
{
	int rc = MD_OK;

	for (size_t i = 0; i < len && rc == MD_OK;) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (data + i)) : len - i;
		char *raw = malloc(n + 1), *shown = malloc(4 * n + 8);

		if (!raw || !shown) {
			free(raw);
			free(shown);
			return MD_ENOMEM;
		}
		memcpy(raw, data + i, n);
		raw[n] = '\0';
		/* A NUL inside the line ends it here; the byte count said what it was. */
		md_printable(raw, shown, 4 * n + 8);
		rc = md_buf_printf(log, "      | %s\n", shown);
		free(raw);
		free(shown);
		i += n + 1;
	}
	return rc;
}

static int rec_exec(void *impl, const char *cmd, const void *in, size_t in_len, struct md_exec *x,
		    const struct md_deadline *dl, struct md_err *err)
{
	struct recorder *r = impl;
	int rc;

	(void)dl;
	md_buf_reset(&x->out);
	md_buf_reset(&x->err);
	x->exit_status = 0;
	x->exit_signal[0] = '\0';
	rc = md_buf_printf(r->log, "  %u. would run: %s\n", ++r->n, cmd);
	if (rc == MD_OK && in_len) {
		rc = md_buf_printf(r->log, "     with on its standard input:\n");
		if (rc == MD_OK)
			rc = log_text(r->log, in, in_len);
	}
	if (rc != MD_OK)
		return md_err_set(err, MD_ENOMEM, "dry-run", "out of memory");
	return MD_OK;
}

static int rec_write(void *impl, const char *path, const void *data, size_t len, int mode,
		     const struct md_deadline *dl, struct md_err *err)
{
	struct recorder *r = impl;
	int rc;

	(void)dl;
	rc = md_buf_printf(r->log, "  %u. would write %s (mode %04o, %zu bytes):\n", ++r->n, path,
			   (unsigned)mode, len);
	if (rc == MD_OK)
		rc = log_text(r->log, data, len);
	if (rc != MD_OK)
		return md_err_set(err, MD_ENOMEM, "dry-run", "out of memory");
	return MD_OK;
}

static int rec_read(void *impl, const char *path, struct md_buf *out, const struct md_deadline *dl,
		    struct md_err *err)
{
	(void)impl;
	(void)out;
	(void)dl;
	return md_err_set(err, MD_ENOTFOUND, "dry-run", "%s: a dry run reads no file", path);
}

static const struct md_session_ops recording_ops = {
	.kind = "recording",
	.exec = rec_exec,
	.read_file = rec_read,
	.write_file = rec_write,
	.free = free,
};

struct md_session *md_session_new_recording(const char *peer, const char *os, struct md_buf *log,
					    struct md_err *err)
{
	struct recorder *r = calloc(1, sizeof(*r));

	if (!r) {
		md_err_set(err, MD_ENOMEM, "dry-run", "out of memory");
		return NULL;
	}
	r->log = log;
	return md_session_new(&recording_ops, r, peer, os, err);
}
