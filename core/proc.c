#include "core/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* After SIGKILL, how long to wait for the kernel to end the program before leaving it
 * (a process blocked in the kernel, e.g. on a dead NFS server, outlives SIGKILL). */
#define REAP_GRACE_MS 1000

void md_proc_result_init(struct md_proc_result *r, size_t max_out)
{
	r->exit_code = -1;
	md_buf_init(&r->out, max_out);
	md_buf_init(&r->err, max_out);
}

void md_proc_result_cleanup(struct md_proc_result *r)
{
	md_buf_cleanup(&r->out);
	md_buf_cleanup(&r->err);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Reaps pid, waiting until the deadline at most: MD_OK with *status, MD_ETIMEOUT while it
 * still runs, MD_EIO when it cannot be waited for (*wait_errno says why: ECHILD when
 * someone else reaped it, e.g. with SIGCHLD ignored).  Waits on a pidfd (Linux 5.3) so
 * that the exit wakes it at once; without one, polls every 10 ms. */
static int reap(pid_t pid, const struct md_deadline *dl, int *status, int *wait_errno)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0), rc;

	*wait_errno = 0;
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		int ms;

		if (r == pid) {
			rc = MD_OK;
			break;
		}
		if (r < 0 && errno != EINTR) {
			*wait_errno = errno;
			rc = MD_EIO;
			break;
		}
		ms = md_deadline_poll_ms(dl);
		if (ms == 0) {
			rc = MD_ETIMEOUT;
			break;
		}
		if (pfd >= 0) {
			struct pollfd p = { .fd = pfd, .events = POLLIN };

			poll(&p, 1, ms);
		} else {
			poll(NULL, 0, ms < 0 || ms > 10 ? 10 : ms);
		}
	}
	if (pfd >= 0)
		close(pfd);
	return rc;
}

/* The program runs in its own process group (setpgid in both parent and child, so that
 * neither order of the two wins a race): this ends it and everything it started. */
static void kill_group(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
}

/* One child being run: its pipes (ours are [0] of out/err/exec, [1] of in). */
struct child {
	const char *name;
	pid_t pid;
	int in[2], out[2], err[2], exec[2];
	const char *data;
	size_t len, off;     /* stdin still to write */
	bool killed;
};

/* Forks and execs argv with the pipes; MD_OK or MD_EIO. */
static int spawn(struct child *c, const char *const argv[], struct md_err *err)
{
	if (pipe2(c->in, O_CLOEXEC) || pipe2(c->out, O_CLOEXEC) || pipe2(c->err, O_CLOEXEC) ||
	    pipe2(c->exec, O_CLOEXEC))
		return md_err_set(err, MD_EIO, "exec", "pipe: %s", strerror(errno));
	c->pid = fork();
	if (c->pid < 0)
		return md_err_set(err, MD_EIO, "exec", "fork: %s", strerror(errno));
	if (c->pid == 0) {
		int e;

		setpgid(0, 0);
		dup2(c->in[0], 0);
		dup2(c->out[1], 1);
		dup2(c->err[1], 2);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], (char *const *)argv);
		e = errno;
		if (write(c->exec[1], &e, sizeof(e)) < 0) {
			/* nothing more can be said */
		}
		_exit(127);
	}
	setpgid(c->pid, c->pid);
	close_fd(&c->in[0]);
	close_fd(&c->out[1]);
	close_fd(&c->err[1]);
	close_fd(&c->exec[1]);
	return MD_OK;
}

/* Waits for the exec: the exec pipe closes when execvp() succeeds (O_CLOEXEC) or carries
 * its errno.  Exec can stall too (a program on a hung network file system), so the
 * deadline holds here.  MD_OK once the program runs. */
static int started(struct child *c, const struct md_deadline *dl, int *status, struct md_err *err)
{
	struct pollfd p = { .fd = c->exec[0], .events = POLLIN };
	struct md_deadline grace;
	int prc, exec_errno = 0, wait_errno = 0;

	while ((prc = poll(&p, 1, md_deadline_poll_ms(dl))) < 0 && errno == EINTR)
		;
	if (prc == 0) {
		grace = md_deadline_after(md_now_ms(), REAP_GRACE_MS);
		kill_group(c->pid);
		reap(c->pid, &grace, status, &wait_errno);
		return md_err_set(err, MD_ETIMEOUT, "exec", "%s: not started at the deadline, killed",
				  c->name);
	}
	if (read(c->exec[0], &exec_errno, sizeof(exec_errno)) != sizeof(exec_errno))
		return MD_OK;
	grace = md_deadline_after(md_now_ms(), REAP_GRACE_MS);
	reap(c->pid, &grace, status, &wait_errno); /* it is at _exit() */
	return md_err_set(err, exec_errno == ENOENT ? MD_ENOTFOUND : MD_EIO, "exec", "%s: %s",
			  c->name, strerror(exec_errno));
}

/* One ready descriptor: stdin written, or output read into r.  MD_OK, or the error that
 * ended the run (the child is then killed). */
static int pump_one(struct child *c, int fd, struct md_proc_result *r, struct md_err *err)
{
	char chunk[4096];
	ssize_t got;
	int arc;

	if (fd == c->in[1]) {
		ssize_t w = write(c->in[1], c->data + c->off, c->len - c->off);

		if (w > 0)
			c->off += (size_t)w;
		if (w < 0 || c->off == c->len)
			close_fd(&c->in[1]);
		return MD_OK;
	}
	got = read(fd, chunk, sizeof(chunk));
	if (got <= 0) {
		close_fd(fd == c->out[0] ? &c->out[0] : &c->err[0]);
		return MD_OK;
	}
	arc = md_buf_append(fd == c->out[0] ? &r->out : &r->err, chunk, (size_t)got);
	if (!arc)
		return MD_OK;
	kill_group(c->pid);
	c->killed = true;
	close_fd(&c->out[0]);
	close_fd(&c->err[0]);
	if (arc == MD_ETOOBIG)
		return md_err_set(err, arc, "exec", "%s: output over %zu bytes", c->name, r->out.max);
	return md_err_set(err, arc, "exec", "%s: out of memory reading its output", c->name);
}

/* Feeds stdin and reads stdout and stderr until both close, within dl. */
static int pump(struct child *c, const struct md_deadline *dl, struct md_proc_result *r,
		struct md_err *err)
{
	int rc = MD_OK;

	fcntl(c->in[1], F_SETFL, O_NONBLOCK);
	if (c->len == 0)
		close_fd(&c->in[1]);
	while (rc == MD_OK && (c->out[0] >= 0 || c->err[0] >= 0)) {
		struct pollfd p[3];
		int n = 0, prc;

		if (c->out[0] >= 0)
			p[n++] = (struct pollfd){ .fd = c->out[0], .events = POLLIN };
		if (c->err[0] >= 0)
			p[n++] = (struct pollfd){ .fd = c->err[0], .events = POLLIN };
		if (c->in[1] >= 0)
			p[n++] = (struct pollfd){ .fd = c->in[1], .events = POLLOUT };
		prc = poll(p, n, md_deadline_poll_ms(dl));
		if (prc < 0 && errno == EINTR)
			continue;
		if (prc <= 0) {
			kill_group(c->pid);
			c->killed = true;
			return md_err_set(err, MD_ETIMEOUT, "exec",
					  "%s: still running at the deadline, killed", c->name);
		}
		for (int i = 0; i < n && rc == MD_OK; i++)
			if (p[i].revents)
				rc = pump_one(c, p[i].fd, r, err);
	}
	return rc;
}

/* Its output is closed, but the program may go on (it closed its ends, or left a child
 * holding them): the deadline still holds.  Then its exit code into r. */
static int finish(struct child *c, const struct md_deadline *dl, int rc, struct md_proc_result *r,
		  struct md_err *err)
{
	int status = 0, wait_errno = 0;

	if (!c->killed) {
		int rrc = reap(c->pid, dl, &status, &wait_errno);

		if (rrc == MD_ETIMEOUT) {
			kill_group(c->pid);
			c->killed = true;
			rc = md_err_set(err, MD_ETIMEOUT, "exec",
					"%s: still running at the deadline, killed", c->name);
		} else if (rrc != MD_OK) {
			/* Its status is lost (SIGCHLD ignored, or reaped elsewhere): never pretend
			 * it succeeded. */
			return md_err_set(err, MD_EIO, "exec", "%s: waitpid: %s", c->name,
					  strerror(wait_errno));
		}
	}
	if (c->killed) {
		struct md_deadline grace = md_deadline_after(md_now_ms(), REAP_GRACE_MS);

		if (reap(c->pid, &grace, &status, &wait_errno) != MD_OK)
			return rc; /* stuck in the kernel: left behind, exit_code stays -1 */
	}
	if (WIFEXITED(status))
		r->exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		r->exit_code = 128 + WTERMSIG(status);
	return rc;
}

int md_proc_run(const char *const argv[], const void *in, size_t in_len,
		const struct md_deadline *dl, struct md_proc_result *r, struct md_err *err)
{
	struct child c = { .name = argv[0], .pid = -1, .in = { -1, -1 }, .out = { -1, -1 },
			   .err = { -1, -1 }, .exec = { -1, -1 }, .data = in, .len = in_len };
	int rc, status = 0;

	rc = spawn(&c, argv, err);
	if (rc == MD_OK)
		rc = started(&c, dl, &status, err);
	if (rc == MD_OK) {
		rc = pump(&c, dl, r, err);
		close_fd(&c.in[1]);
		rc = finish(&c, dl, rc, r, err);
	}
	for (int i = 0; i < 2; i++) {
		close_fd(&c.in[i]);
		close_fd(&c.out[i]);
		close_fd(&c.err[i]);
		close_fd(&c.exec[i]);
	}
	return rc;
}
