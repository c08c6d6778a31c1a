/* proc.h — run a local program (never through a shell) under a deadline.
 *
 * argv goes straight to execvp(): a target name or a secret can never be interpreted by
 * a shell.  Secrets go on stdin (in/in_len).  Output is captured into capped buffers.
 * The program runs in its own process group.  When the deadline passes, whether it is
 * still writing or has closed its output and just does not exit, the group is killed
 * with SIGKILL, the program reaped and MD_ETIMEOUT returned. */
#ifndef MD_PROC_H
#define MD_PROC_H

#include "core/buf.h"
#include "core/deadline.h"
#include "core/err.h"

#include <stddef.h>

struct md_proc_result {
	int exit_code;  /* exit status, or 128 + signal; -1 when it could not be reaped */
	struct md_buf out;
	struct md_buf err;
};

void md_proc_result_init(struct md_proc_result *r, size_t max_out);
void md_proc_result_cleanup(struct md_proc_result *r);

/* MD_OK when the program ran to its end (whatever its exit code), MD_ENOTFOUND when it
 * does not exist, MD_ETIMEOUT, MD_ETOOBIG (output over the cap), MD_ENOMEM (no memory
 * for its output; the program is killed) or MD_EIO. */
int md_proc_run(const char *const argv[], const void *in, size_t in_len,
		const struct md_deadline *dl, struct md_proc_result *r, struct md_err *err);

#endif
