/* hostbatch.h — the commands a check reads from a host, run in one round trip.
 *
 * Every exec over SSH pays for the remote login shell's start-up (a heavy ~/.bashrc costs
 * hundreds of milliseconds), so the probes' first commands on a POSIX host run as the
 * sections of one script, framed on stdout and stderr and parsed apart again:
 *
 *   the exec:   sh -s                      (any login shell can start it; the script goes
 *                                           on stdin, so nothing is quoted for that shell)
 *   the script: md_run ID LIMIT 'CMD' ...  (each CMD under `sh -c`, stdin /dev/null, with
 *                                           a host-side limit: `timeout`, else perl's alarm)
 *   the frames: "\n<nonce> ID begin\n" ... "\n<nonce> ID end STATUS LIMIT\n" on stdout,
 *               the same without STATUS on stderr
 *
 * The nonce is random per batch, so a command's own output cannot fake a frame.  Each
 * section gets its own limit, capped by what is left of the batch's total on the host's
 * clock; a section with under a second left is not started ("skipped").  A command run
 * alone (a step no batch carried) goes through the same script with one section.
 *
 * A batch is filled (md_hostbatch_add), run once (md_hostbatch_run), then read by the
 * probes (md_hostbatch_take), which may run on other threads: take waits until the run is
 * over.  Windows hosts get no batch (their commands are PowerShell lines of their own). */
#ifndef MD_HOSTBATCH_H
#define MD_HOSTBATCH_H

#include "core/buf.h"
#include "core/deadline.h"
#include "core/err.h"
#include "core/session.h"

#include <stdbool.h>
#include <stddef.h>

#define MD_HOSTBATCH_MAX_STEPS 32
#define MD_HOSTBATCH_ID_MAX 32  /* [a-z0-9._-], 1..31 characters */
#define MD_HOSTBATCH_NONCE_LEN 16

struct md_hostbatch;

/* What became of one section. */
struct md_host_out {
	enum md_host_state {
		MD_HOST_RAN,      /* it ran: exit_status, out, err */
		MD_HOST_SKIPPED,  /* not started: under a second of the batch's time was left */
		MD_HOST_LOST,     /* no frame for it: the batch failed or was cut short (why) */
	} state;
	int exit_status;      /* as the host's shell saw it: 124/142 when its limit ended it */
	int rc;               /* MD_HOST_LOST: what running the batch returned (MD_ETIMEOUT:
			       * meshdoctor's own deadline passed first), else MD_OK */
	int limit_s;          /* the limit it ran under (0: none) */
	struct md_buf out, err;
	char why[256];        /* MD_HOST_LOST: what happened to the batch */
};

void md_host_out_init(struct md_host_out *o);
void md_host_out_cleanup(struct md_host_out *o);

struct md_hostbatch *md_hostbatch_new(struct md_err *err);
void md_hostbatch_free(struct md_hostbatch *b);

/* Adds a section: id (unique), cmd (a POSIX shell command line, run under `sh -c`),
 * limit_s (its host-side limit in seconds; 0: only the batch's total).  MD_EINVAL for a
 * bad or repeated id, MD_ETOOBIG past MD_HOSTBATCH_MAX_STEPS, MD_ENOMEM; MD_EINVAL once
 * the batch has run. */
int md_hostbatch_add(struct md_hostbatch *b, const char *id, const char *cmd, int limit_s,
		     struct md_err *err);
size_t md_hostbatch_count(const struct md_hostbatch *b);

/* The script for the sections added so far, with this nonce (MD_HOSTBATCH_NONCE_LEN
 * characters of [0-9a-f]) and total_ms (the batch's whole time on the host; at least 1 s).
 * Pure: exposed for tests. */
int md_hostbatch_script(const struct md_hostbatch *b, const char *nonce, int64_t total_ms,
			struct md_buf *out);
/* Cuts what the script printed (stdout, stderr) into its sections' results, by the
 * frames of nonce.  A section with no frame is MD_HOST_LOST with why (e.g. the host's
 * stderr when it could not run `sh`).  Pure: exposed for tests and fuzzing. */
int md_hostbatch_parse(struct md_hostbatch *b, const char *nonce, const char *out, size_t out_len,
		       const char *err, size_t err_len, const char *why_lost);

/* Runs the batch over s (once; later calls do nothing), waiting for the answer until dl.
 * The sections' time on the host is host_ms in all (0: what is left of dl), less a margin
 * for the answer to arrive before dl.  Whatever happens, every section ends with a result
 * and md_hostbatch_take() stops waiting. */
void md_hostbatch_run(struct md_hostbatch *b, struct md_session *s, const struct md_deadline *dl,
		      int64_t host_ms);
/* Marks the batch as never to run (no session): take() answers MD_ENOTFOUND at once. */
void md_hostbatch_cancel(struct md_hostbatch *b);

/* The result of section id, if it was added with exactly this cmd: waits for the run,
 * then moves the result into *o (md_host_out_init()ed) once; MD_OK.  MD_ENOTFOUND when
 * the batch holds no such section (or it was taken, or the batch was cancelled): run the
 * command alone with md_host_run(). */
int md_hostbatch_take(struct md_hostbatch *b, const char *id, const char *cmd,
		      struct md_host_out *o);

/* Runs one command alone, as a batch of one section, under limit_s (0: none but dl). */
int md_host_run(struct md_session *s, const char *cmd, int limit_s, const struct md_deadline *dl,
		struct md_host_out *o, struct md_err *err);

#endif
