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

int md_proc_run(const char *const argv[], const void *in, size_t in_len,
		const struct md_deadline *dl, struct md_proc_result *r, struct md_err *err)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 }, pexec[2] = { -1, -1 };
	int rc = MD_OK, status = 0, exec_errno = 0, wait_errno = 0, rrc;
	bool killed = false;
	size_t in_off = 0;
	pid_t pid;

	if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC) ||
	    pipe2(pexec, O_CLOEXEC)) {
		rc = md_err_set(err, MD_EIO, "exec", "pipe: %s", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		rc = md_err_set(err, MD_EIO, "exec", "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		int e;

		setpgid(0, 0);
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(perr[1], 2);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], (char *const *)argv);
		e = errno;
		if (write(pexec[1], &e, sizeof(e)) < 0) {
			/* nothing more can be said */
		}
		_exit(127);
	}
	setpgid(pid, pid);
	close_fd(&pin[0]);
	close_fd(&pout[1]);
	close_fd(&perr[1]);
	close_fd(&pexec[1]);
	/* pexec closes when execvp() succeeds (O_CLOEXEC) or carries its errno; exec can
	 * stall too (a program on a hung network file system), so the deadline holds here. */
	{
		struct pollfd p = { .fd = pexec[0], .events = POLLIN };
		int prc;

		while ((prc = poll(&p, 1, md_deadline_poll_ms(dl))) < 0 && errno == EINTR)
			;
		if (prc == 0) {
			struct md_deadline grace = md_deadline_after(md_now_ms(), REAP_GRACE_MS);

			kill_group(pid);
			reap(pid, &grace, &status, &wait_errno);
			rc = md_err_set(err, MD_ETIMEOUT, "exec", "%s: not started at the deadline, killed",
					argv[0]);
			goto out;
		}
	}
	if (read(pexec[0], &exec_errno, sizeof(exec_errno)) == sizeof(exec_errno)) {
		struct md_deadline grace = md_deadline_after(md_now_ms(), REAP_GRACE_MS);

		reap(pid, &grace, &status, &wait_errno); /* it is at _exit() */
		rc = md_err_set(err, exec_errno == ENOENT ? MD_ENOTFOUND : MD_EIO, "exec", "%s: %s",
				argv[0], strerror(exec_errno));
		goto out;
	}
	fcntl(pin[1], F_SETFL, O_NONBLOCK);
	if (in_len == 0)
		close_fd(&pin[1]);
	while (pout[0] >= 0 || perr[0] >= 0) {
		struct pollfd p[3];
		int n = 0, prc;

		if (pout[0] >= 0)
			p[n++] = (struct pollfd){ .fd = pout[0], .events = POLLIN };
		if (perr[0] >= 0)
			p[n++] = (struct pollfd){ .fd = perr[0], .events = POLLIN };
		if (pin[1] >= 0)
			p[n++] = (struct pollfd){ .fd = pin[1], .events = POLLOUT };
		prc = poll(p, n, md_deadline_poll_ms(dl));
		if (prc < 0 && errno == EINTR)
			continue;
		if (prc <= 0) {
			kill_group(pid);
			killed = true;
			rc = md_err_set(err, MD_ETIMEOUT, "exec",
					"%s: still running at the deadline, killed", argv[0]);
			break;
		}
		for (int i = 0; i < n; i++) {
			char chunk[4096];
			ssize_t got;
			int arc;

			if (!p[i].revents)
				continue;
			if (p[i].fd == pin[1]) {
				ssize_t w = write(pin[1], (const char *)in + in_off, in_len - in_off);

				if (w > 0)
					in_off += (size_t)w;
				if (w < 0 || in_off == in_len)
					close_fd(&pin[1]);
				continue;
			}
			got = read(p[i].fd, chunk, sizeof(chunk));
			if (got <= 0) {
				if (p[i].fd == pout[0])
					close_fd(&pout[0]);
				else
					close_fd(&perr[0]);
				continue;
			}
			arc = md_buf_append(p[i].fd == pout[0] ? &r->out : &r->err, chunk,
					    (size_t)got);
			if (arc) {
				kill_group(pid);
				killed = true;
				if (arc == MD_ETOOBIG)
					rc = md_err_set(err, arc, "exec", "%s: output over %zu bytes",
							argv[0], r->out.max);
				else
					rc = md_err_set(err, arc, "exec",
							"%s: out of memory reading its output", argv[0]);
				close_fd(&pout[0]);
				close_fd(&perr[0]);
				break;
			}
		}
	}
	close_fd(&pin[1]);
	/* Its output is closed, but the program may go on (it closed its ends, or left a
	 * child holding them): the deadline still holds. */
	if (!killed) {
		rrc = reap(pid, dl, &status, &wait_errno);
		if (rrc == MD_ETIMEOUT) {
			kill_group(pid);
			killed = true;
			rc = md_err_set(err, MD_ETIMEOUT, "exec",
					"%s: still running at the deadline, killed", argv[0]);
		} else if (rrc != MD_OK) {
			/* Its status is lost (SIGCHLD ignored, or reaped elsewhere): never
			 * pretend it succeeded. */
			rc = md_err_set(err, MD_EIO, "exec", "%s: waitpid: %s", argv[0],
					strerror(wait_errno));
			goto out;
		}
	}
	if (killed) {
		struct md_deadline grace = md_deadline_after(md_now_ms(), REAP_GRACE_MS);

		if (reap(pid, &grace, &status, &wait_errno) != MD_OK)
			goto out; /* stuck in the kernel: left behind, exit_code stays -1 */
	}
	if (WIFEXITED(status))
		r->exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		r->exit_code = 128 + WTERMSIG(status);
out:
	close_fd(&pin[0]);
	close_fd(&pin[1]);
	close_fd(&pout[0]);
	close_fd(&pout[1]);
	close_fd(&perr[0]);
	close_fd(&perr[1]);
	close_fd(&pexec[0]);
	close_fd(&pexec[1]);
	return rc;
}
