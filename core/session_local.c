/* session_local.c — the local kind of session: the target is this machine.  Commands run
 * as `/bin/sh -c CMD` through md_proc_run() (its own process group, killed at the
 * deadline; a secret on stdin, never in argv); files are read and replaced here. */
#include "core/proc.h"
#include "core/session.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

static int local_exec(void *impl, const char *cmd, const void *in, size_t in_len,
		      struct md_exec *x, const struct md_deadline *dl, struct md_err *err)
{
	const char *const argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct md_proc_result r;
	int rc;

	(void)impl;
	md_proc_result_init(&r, MD_SESSION_MAX_OUTPUT);
	rc = md_proc_run(argv, in, in_len, dl, &r, err);
	if (rc == MD_OK) {
		x->exit_status = r.exit_code;
		/* The output moves over whole: both buffers have the same cap. */
		md_buf_cleanup(&x->out);
		md_buf_cleanup(&x->err);
		x->out = r.out;
		x->err = r.err;
		md_buf_init(&r.out, 0);
		md_buf_init(&r.err, 0);
	}
	md_proc_result_cleanup(&r);
	return rc;
}

static int errno_status(int e)
{
	return e == ENOENT || e == ENOTDIR ? MD_ENOTFOUND : e == EACCES || e == EPERM ? MD_EPERM
											: MD_EIO;
}

static int local_read_file(void *impl, const char *path, struct md_buf *out,
			   const struct md_deadline *dl, struct md_err *err)
{
	char chunk[16384];
	int fd, rc = MD_OK;

	(void)impl;
	(void)dl; /* a local file does not block on the network */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return md_err_set(err, errno_status(errno), "read", "read %s: %s", path, strerror(errno));
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = md_err_set(err, MD_EIO, "read", "read %s: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if (out->len + (size_t)n > MD_SESSION_MAX_FILE) {
			rc = md_err_set(err, MD_ETOOBIG, "read", "read %s: over %u bytes", path,
					MD_SESSION_MAX_FILE);
			break;
		}
		rc = md_buf_append(out, chunk, (size_t)n);
		if (rc) {
			md_err_set(err, rc, "read", "read %s: %s", path,
				   rc == MD_ETOOBIG ? "over the size allowed" : "out of memory");
			break;
		}
	}
	close(fd);
	return rc;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int local_write_file(void *impl, const char *path, const void *data, size_t len, int mode,
			    const struct md_deadline *dl, struct md_err *err)
{
	char tmp[PATH_MAX];
	int fd, e;

	(void)impl;
	(void)dl;
	if (snprintf(tmp, sizeof(tmp), "%s.md-XXXXXX", path) >= (int)sizeof(tmp))
		return md_err_set(err, MD_EINVAL, "write", "write %.200s: path too long", path);
	fd = mkostemp(tmp, O_CLOEXEC); /* 0600 */
	if (fd < 0)
		return md_err_set(err, errno_status(errno), "write", "write %s: %s", path, strerror(errno));
	if (write_all(fd, data, len) != 0 || fchmod(fd, (mode_t)(mode & 0777)) != 0 || fsync(fd) != 0) {
		e = errno;
		close(fd);
		unlink(tmp);
		return md_err_set(err, errno_status(e), "write", "write %s: %s", path, strerror(e));
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		e = errno;
		unlink(tmp);
		return md_err_set(err, errno_status(e), "write", "write %s: %s", path, strerror(e));
	}
	return MD_OK;
}

static const struct md_session_ops local_ops = {
	.kind = "local",
	.exec = local_exec,
	.read_file = local_read_file,
	.write_file = local_write_file,
};

struct md_session *md_session_new_local(struct md_err *err)
{
	struct utsname u;
	const char *os = NULL;

	if (uname(&u) == 0 && strcmp(u.sysname, "Linux") == 0)
		os = "linux";
	return md_session_new(&local_ops, NULL, "this machine", os, err);
}
