/* port.c — the port probe: who listens on the target, and what answers from here.
 *
 * Three views, each recorded with its evidence:
 *   1. the target's listeners: over the SSH session (`ss -ltnup` on Linux, `netstat -an`
 *      on macOS, PowerShell Get-NetTCPConnection / Get-NetUDPEndpoint on Windows), or from
 *      this machine's own kernel tables when the target is this machine;
 *   2. this machine's listeners, read from /proc/net/{tcp,tcp6,udp,udp6} with the owning
 *      process found through /proc/PID/fd socket inodes.  The kernel's tables show
 *      listeners that `lsof` misses (seeds/004_3ac6a098e1c6561c.txt, "Lessons Learned" 1);
 *   3. active checks from this machine to the ports a mesh uses, all in parallel with
 *      non-blocking sockets and one deadline: TCP open / refused / filtered; UDP closed
 *      (ICMP port unreachable on a connected socket) or open|filtered.
 *
 * A known blind spot, recorded rather than hidden: Tailscale SSH is served from
 * tailscaled's own network stack, so port 22 can answer on the 100.x address while no
 * process listens on 22 in `ss`/`netstat` (rules/port.rules turns that into a finding).
 *
 * Parsing is split from I/O (probes/port.h) and unit-tested in tests/unit/test_port.c. */
#include "probes/port.h"

#include "core/buf.h"
#include "core/deadline.h"
#include "core/facts.h"
#include "core/hostbatch.h"
#include "core/hostcmd.h"
#include "core/net.h"
#include "core/session.h"
#include "probes/probe.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROBE "port"

/* ==== local listeners (this machine's kernel) ========================================= */

/* Fills pid/process of listeners by matching socket inodes under /proc/PID/fd.  Processes
 * of other users are unreadable without root: their sockets stay without an owner. */
static void find_owners(struct md_listeners *l)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	size_t left = 0;

	for (size_t i = 0; i < l->n; i++)
		left += l->v[i].inode && !l->v[i].pid;
	if (!proc || !left) {
		if (proc)
			closedir(proc);
		return;
	}
	while (left && (de = readdir(proc))) {
		char path[300], link[64], comm[32] = "";
		DIR *fds;
		struct dirent *fe;
		int pid = atoi(de->d_name);
		bool have_comm = false;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", pid);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((fe = readdir(fds))) {
			unsigned long ino;
			ssize_t n;

			if (fe->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/fd/%s", pid, fe->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			ino = md_port_socket_inode(link);
			if (!ino)
				continue;
			for (size_t i = 0; i < l->n; i++) {
				if (l->v[i].inode != ino || l->v[i].pid)
					continue;
				if (!have_comm) {
					FILE *f;

					snprintf(path, sizeof(path), "/proc/%d/comm", pid);
					f = fopen(path, "r");
					if (f) {
						if (fgets(comm, sizeof(comm), f))
							comm[strcspn(comm, "\n")] = '\0';
						fclose(f);
					}
					have_comm = true;
				}
				l->v[i].pid = pid;
				snprintf(l->v[i].process, sizeof(l->v[i].process), "%s", comm);
				left--;
			}
		}
		closedir(fds);
	}
	closedir(proc);
}

static char *slurp_file(const char *path)
{
	struct md_buf b;
	char chunk[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	md_buf_init(&b, 64u << 20);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (md_buf_append(&b, chunk, (size_t)n)) {
			close(fd);
			md_buf_cleanup(&b);
			return NULL;
		}
	close(fd);
	return md_buf_steal(&b);
}

/* Reads this network namespace's tables (the /proc/net of the calling process). */
static int read_local_listeners(struct md_listeners *l, char *why, size_t why_len)
{
	static const char *const kinds[] = { "tcp", "tcp6", "udp", "udp6" };
	int ok = 0;

	why[0] = '\0';
	for (size_t i = 0; i < 4; i++) {
		char path[32];
		char *text;
		struct md_err e = { 0 };

		snprintf(path, sizeof(path), "/proc/net/%s", kinds[i]);
		text = slurp_file(path);
		if (!text) {
			/* tcp6/udp6 are absent when IPv6 is disabled: not an error. */
			if (i % 2 == 0)
				snprintf(why, why_len, "read %s: %s", path, strerror(errno));
			continue;
		}
		if (md_port_parse_proc_net(text, kinds[i], md_port_host_big_endian(), l, &e) == MD_OK)
			ok++;
		else
			snprintf(why, why_len, "%s", e.msg);
		free(text);
	}
	find_owners(l);
	return ok ? MD_OK : MD_EIO;
}

/* ==== the target's listeners over SSH ================================================= */

/* The /proc fallback for Linux hosts without `ss` (iproute2): the same kernel tables,
 * "## unreadable" when a table exists but cannot be read (on a line of its own: a cat that
 * fails mid-way may leave a line without its newline), and the end marker
 * (md_port_parse_proc_cat).  The tables' addresses are in the target's byte order (see
 * parse_proc_addr), which `uname -m` does not always tell ("mips" is printed by big- and
 * little-endian MIPS alike, and big-endian MIPS routers without iproute2 are just the hosts
 * that come here), so the command reads it from the ELF header of a binary of the target
 * itself: byte EI_DATA (offset 5 of e_ident; System V ABI, "ELF Identification") is 1 for
 * little-endian (ELFDATA2LSB), 2 for big-endian (ELFDATA2MSB).  /proc/self/exe is the
 * binary that reads it.  `od -An -tu1 -j5 -N1` prints it as a number with GNU coreutils and
 * BusyBox built with CONFIG_DESKTOP; BusyBox without it (OpenWrt's default) has an `od`
 * without -t/-j/-N or none at all, but does have `dd`, whose copy of the byte itself is
 * the fallback. */
static const char proc_cat_cmd[] =
	"echo '## elf od'; od -An -tu1 -j5 -N1 /proc/self/exe 2>/dev/null || "
	"{ echo '## elf dd'; dd if=/proc/self/exe bs=1 skip=5 count=1 2>/dev/null; echo; }; "
	"for f in tcp tcp6 udp udp6; do echo \"## $f\"; "
	"if [ -e /proc/net/$f ]; then cat /proc/net/$f || { echo; echo '## unreadable'; }; fi; done; "
	"echo '" MD_PORT_END_MARKER "'";

const char *md_port_proc_cat_command(void)
{
	return proc_cat_cmd;
}


/* How much of the target's listener table could be read. */
enum table_state {
	TABLE_OK,
	TABLE_FAILED,     /* the command could not run, timed out, or exited non-zero */
	TABLE_INCOMPLETE, /* it ran, but its output is not the whole table */
};

/* Why an output without the end marker cannot be trusted: one line for the evidence. */
static void incomplete_why(char *why, size_t why_len, const char *source, const struct md_exec *x)
{
	size_t lines = 0;

	for (const char *q = md_buf_str(&x->out); *q; q++)
		lines += *q == '\n';
	snprintf(why, why_len,
		 "%.90s: exit %d, but the output (%zu lines) ends without \"" MD_PORT_END_MARKER
		 "\": a command failed quietly or the output was cut short%s%.60s",
		 source, x->exit_status, lines, x->err.len ? "; stderr: " : "", md_buf_str(&x->err));
}

#define SS_CMD "ss -ltnup && echo '" MD_PORT_END_MARKER "'"
#define NETSTAT_CMD "netstat -an && echo '" MD_PORT_END_MARKER "'"
#define STEP_SS "port.ss"
#define LISTING_LIMIT_S 10

/* A POSIX listing through the run's batch (or alone), as an md_exec: rc MD_OK when it ran;
 * else why it did not, in e. */
static int host_listing(struct md_ctx *ctx, const char *id, const char *cmd, struct md_exec *x,
			struct md_err *e)
{
	struct md_host_out o;
	int rc;

	md_host_out_init(&o);
	rc = md_ctx_host(ctx, id, cmd, LISTING_LIMIT_S, &ctx->deadline, &o, e);
	if (rc == MD_OK && o.state == MD_HOST_RAN) {
		x->exit_status = o.exit_status;
		rc = md_buf_append(&x->out, o.out.data, o.out.len);
		if (rc == MD_OK)
			rc = md_buf_append(&x->err, o.err.data, o.err.len);
	} else if (rc == MD_OK && o.state == MD_HOST_SKIPPED) {
		rc = md_err_set(e, MD_ETIMEOUT, "port", "not run: under a second of the deadline was left");
	} else if (rc == MD_OK) {
		rc = md_err_set(e, o.rc ? o.rc : MD_EIO, "port", "%s", o.why);
	}
	md_host_out_cleanup(&o);
	return rc;
}

/* The run's batch carries `ss` for a POSIX host (most are Linux): read once the host
 * probe has said which OS it is. */
static int port_host_steps(const struct md_ctx *ctx, struct md_hostbatch *b, struct md_err *err)
{
	const char *os = md_session_os(ctx->session);

	if (os && strcmp(os, "windows") == 0)
		return MD_OK;
	return md_hostbatch_add(b, STEP_SS, SS_CMD, LISTING_LIMIT_S, err);
}

/* PowerShell's listing on Windows. */
static enum table_state windows_listing(struct md_ctx *ctx, struct md_listeners *l, struct md_exec *x,
					struct md_err *e)
{
	char *cmd = NULL;
	int rc = md_hostcmd_powershell(md_port_windows_script(), &cmd, e);

	if (rc == MD_OK)
		rc = md_session_exec(ctx->session, cmd, NULL, 0, x, &ctx->deadline, e);
	free(cmd);
	if (rc != MD_OK || x->exit_status != 0)
		return TABLE_FAILED;
	/* PowerShell exits 0 with no output at all when a cmdlet is missing or quietly returns
	 * nothing: only the marker says the table is whole. */
	if (!md_port_output_complete(md_buf_str(&x->out)))
		return TABLE_INCOMPLETE;
	return md_port_parse_windows(md_buf_str(&x->out), l, e) == MD_OK ? TABLE_OK : TABLE_FAILED;
}

/* Runs the OS's listener listing over the session.  *source names the command, *note adds
 * to its evidence (the byte order /proc/net was read in), *why says what went wrong. */
static enum table_state remote_listeners(struct md_ctx *ctx, struct md_facts *f, struct md_listeners *l,
					 char *source, size_t source_len, char *note,
					 size_t note_len, char *why, size_t why_len)
{
	const char *os = md_ctx_host_os(ctx, f);
	struct md_exec x;
	struct md_err e = { 0 };
	enum table_state st = TABLE_FAILED;
	int rc;

	md_exec_init(&x);
	why[0] = note[0] = '\0';
	if (strcmp(os, "windows") == 0) {
		snprintf(source, source_len, "powershell Get-NetTCPConnection -State Listen; Get-NetUDPEndpoint");
		st = windows_listing(ctx, l, &x, &e);
	} else if (strcmp(os, "darwin") == 0) {
		snprintf(source, source_len, "netstat -an");
		rc = host_listing(ctx, "port.netstat", NETSTAT_CMD, &x, &e);
		if (rc == MD_OK && x.exit_status == 0) {
			st = TABLE_INCOMPLETE;
			if (md_port_output_complete(md_buf_str(&x.out)))
				st = md_port_parse_netstat_darwin(md_buf_str(&x.out), l, &e) == MD_OK
					     ? TABLE_OK
					     : TABLE_FAILED;
		}
	} else {
		snprintf(source, source_len, "ss -ltnup");
		rc = host_listing(ctx, STEP_SS, SS_CMD, &x, &e);
		if (rc == MD_OK && x.exit_status == 0) {
			st = TABLE_INCOMPLETE;
			if (md_port_output_complete(md_buf_str(&x.out)))
				st = md_port_parse_ss(md_buf_str(&x.out), l, &e) == MD_OK ? TABLE_OK
											 : TABLE_FAILED;
		} else if (rc == MD_OK) {
			/* No iproute2 (exit 127) or another failure: the kernel's tables. */
			char order[96];
			bool big;

			md_exec_cleanup(&x);
			md_exec_init(&x);
			snprintf(source, source_len, "cat /proc/net/{tcp,tcp6,udp,udp6}");
			rc = host_listing(ctx, "port.proc", proc_cat_cmd, &x, &e);
			if (rc == MD_OK) {
				rc = md_port_parse_proc_cat(md_buf_str(&x.out), l, &big, order, sizeof(order),
							    &e);
				st = rc == MD_OK ? TABLE_OK : rc == MD_EPARSE ? TABLE_INCOMPLETE : TABLE_FAILED;
				snprintf(note, note_len, "; addresses read as %s-endian (%s)",
					 big ? "big" : "little", order);
				/* The parser says what is missing (kept below: why is set). */
				if (st == TABLE_INCOMPLETE)
					snprintf(why, why_len, "%.90s: %.160s", source, e.msg);
			}
		}
	}
	if (st == TABLE_INCOMPLETE && !why[0])
		incomplete_why(why, why_len, source, &x);
	else if (st == TABLE_FAILED) {
		if (e.msg[0])
			snprintf(why, why_len, "%.90s: %.160s", source, e.msg);
		else if (x.err.len)
			snprintf(why, why_len, "%.90s: exit %d: %.120s", source, x.exit_status,
				 md_buf_str(&x.err));
		else
			snprintf(why, why_len, "%.90s: exit %d", source, x.exit_status);
	}
	md_exec_cleanup(&x);
	return st;
}

/* ==== active checks ==================================================================== */

/* The ports a mesh uses (docs/ports.md#ports-checked, seeds/002 and seeds/004): SSH 22 and WSL2's 2222, Headscale 8080, tailscale serve 443, Syncthing's
 * GUI 8384 (and the next two a second/third instance picks), tailscaled's UDP 41641. */
static const struct md_port_spec mesh_ports[] = {
	{ 22, false }, { 2222, false }, { 8080, false }, { 443, false },
	{ 8384, false }, { 8385, false }, { 8386, false }, { 41641, true },
};

/* A silent (filtered) port must not eat the whole run: the checks share one deadline,
 * the probe's, but at most this long after the probe starts waiting for them. */
#define ACTIVE_MAX_MS 2000

enum check_state { CK_PENDING, CK_OPEN, CK_REFUSED, CK_FILTERED, CK_CLOSED, CK_OPEN_FILTERED,
		   CK_UNTRIED };

struct check {
	struct md_port_spec spec;
	int fd;
	bool started;
	enum check_state state;
	int64_t start_ms, rtt_ms;
	char why[96];
};

static const char *state_name(enum check_state s)
{
	switch (s) {
	case CK_OPEN: return "open";
	case CK_REFUSED: return "refused";
	case CK_FILTERED: return "filtered";
	case CK_CLOSED: return "closed";
	case CK_OPEN_FILTERED: return "open|filtered";
	case CK_UNTRIED: return "untested";
	case CK_PENDING: break;
	}
	return "pending";
}

static void finish(struct check *c, enum check_state s, const char *why)
{
	c->state = s;
	c->rtt_ms = md_now_ms() - c->start_ms;
	snprintf(c->why, sizeof(c->why), "%s", why);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void classify_errno(struct check *c, int e)
{
	if (e == ECONNREFUSED)
		finish(c, c->spec.udp ? CK_CLOSED : CK_REFUSED,
		       c->spec.udp ? "ICMP port unreachable (Connection refused)" : strerror(e));
	else if (e == EHOSTUNREACH || e == ENETUNREACH || e == EACCES || e == EPERM)
		/* An ICMP "administratively prohibited" (nft/iptables reject) or a local
		 * firewall: something filters the port. */
		finish(c, CK_FILTERED, strerror(e));
	else
		finish(c, CK_FILTERED, strerror(e));
}

static void start_check(struct check *c, const struct sockaddr_storage *base, socklen_t len)
{
	struct sockaddr_storage sa = *base;
	int fd;

	c->started = true;
	c->start_ms = md_now_ms();
	if (sa.ss_family == AF_INET)
		((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)c->spec.port);
	else
		((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)c->spec.port);
	fd = socket(sa.ss_family, (c->spec.udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK |
				     SOCK_CLOEXEC, 0);
	if (fd < 0) {
		c->fd = -1;
		finish(c, CK_UNTRIED, strerror(errno));
		return;
	}
	c->fd = fd;
	if (connect(fd, (struct sockaddr *)&sa, len) != 0 && errno != EINPROGRESS) {
		classify_errno(c, errno);
		return;
	}
	if (c->spec.udp) {
		/* An empty datagram: a closed port answers with ICMP port unreachable, which
		 * the connected socket reports as ECONNREFUSED (RFC 1122 4.1.3.3; udp(7)). */
		if (send(fd, "", 0, 0) < 0 && errno != EAGAIN)
			classify_errno(c, errno);
	}
}

/* Raises the soft fd limit towards need (nmap does the same); returns how many checks may
 * be in flight at once. */
static size_t fd_window(size_t need)
{
	struct rlimit rl;
	size_t w;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 200;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need + 64) {
		rlim_t want = need + 64;

		if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
			want = rl.rlim_max;
		if (want > rl.rlim_cur) {
			rl.rlim_cur = want;
			setrlimit(RLIMIT_NOFILE, &rl);
			getrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		return need;
	w = rl.rlim_cur > 96 ? (size_t)rl.rlim_cur - 64 : 32;
	return w < need ? w : need;
}

/* Starts up to window checks; returns the number in flight. */
static size_t launch(struct check *c, size_t n, size_t window, size_t inflight,
		     const struct sockaddr_storage *sa, socklen_t len)
{
	for (size_t i = 0; i < n && inflight < window; i++) {
		if (c[i].started)
			continue;
		start_check(&c[i], sa, len);
		if (c[i].state == CK_PENDING)
			inflight++;
	}
	return inflight;
}

static bool all_started(const struct check *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!c[i].started)
			return false;
	return true;
}

/* Polls the in-flight checks until all are answered or dl passes; unanswered TCP is
 * "filtered", unanswered UDP "open|filtered", never-started "untested". */
static void run_checks(struct check *c, size_t n, size_t window, const struct md_deadline *dl,
		       const struct sockaddr_storage *sa, socklen_t len)
{
	struct pollfd *pf = calloc(window ? window : 1, sizeof(*pf));
	size_t *idx = calloc(window ? window : 1, sizeof(*idx));
	size_t inflight = 0;

	for (size_t i = 0; i < n; i++)
		if (c[i].started && c[i].state == CK_PENDING)
			inflight++;
	for (;;) {
		size_t np = 0, tcp_pending = 0;
		int64_t first_start = INT64_MAX, max_rtt = -1;
		int rc, wait_ms;

		inflight = launch(c, n, window, inflight, sa, len);
		if (!pf || !idx)
			break;
		for (size_t i = 0; i < n; i++) {
			if (!c[i].started)
				continue;
			if (c[i].start_ms < first_start)
				first_start = c[i].start_ms;
			if (c[i].state == CK_OPEN || c[i].state == CK_REFUSED || c[i].state == CK_CLOSED)
				max_rtt = c[i].rtt_ms > max_rtt ? c[i].rtt_ms : max_rtt;
			if (c[i].state != CK_PENDING)
				continue;
			tcp_pending += !c[i].spec.udp;
			if (np < window) {
				pf[np].fd = c[i].fd;
				pf[np].events = c[i].spec.udp ? POLLIN : POLLOUT;
				pf[np].revents = 0;
				idx[np++] = i;
			}
		}
		if (np == 0)
			break;
		wait_ms = md_deadline_poll_ms(dl);
		/* Only UDP left and the host has answered something: an ICMP port unreachable
		 * comes back within about one round trip, so silence after several round trips
		 * (at least 500 ms) already means open|filtered — as nmap's adaptive UDP
		 * timeout does — instead of holding every run to the full cap. */
		if (!tcp_pending && max_rtt >= 0 && all_started(c, n)) {
			int64_t cut = first_start + (4 * max_rtt > 500 ? 4 * max_rtt : 500) - md_now_ms();

			if (cut < 0)
				cut = 0;
			if (wait_ms < 0 || cut < wait_ms)
				wait_ms = (int)cut;
		}
		rc = poll(pf, np, wait_ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			break;
		for (size_t k = 0; k < np; k++) {
			struct check *x = &c[idx[k]];
			int soerr = 0;
			socklen_t sl = sizeof(soerr);

			if (!pf[k].revents)
				continue;
			inflight--;
			if (x->spec.udp) {
				char b[1];
				ssize_t got = recv(x->fd, b, sizeof(b), MSG_DONTWAIT);

				if (got >= 0)
					finish(x, CK_OPEN, "a datagram came back");
				else if (errno == EAGAIN)
					inflight++; /* spurious wake-up */
				else
					classify_errno(x, errno);
				continue;
			}
			if (getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
				soerr = errno;
			if (soerr == 0)
				finish(x, CK_OPEN, "TCP handshake completed");
			else
				classify_errno(x, soerr);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!c[i].started) {
			c[i].started = true;
			c[i].fd = -1;
			c[i].start_ms = md_now_ms();
			finish(&c[i], CK_UNTRIED, "not started before the deadline (too many ports)");
		} else if (c[i].state == CK_PENDING) {
			char why[96];

			snprintf(why, sizeof(why), "no answer within %lld ms",
				 (long long)(md_now_ms() - c[i].start_ms));
			finish(&c[i], c[i].spec.udp ? CK_OPEN_FILTERED : CK_FILTERED, why);
		}
	}
	free(pf);
	free(idx);
}

/* ==== the probe ======================================================================== */

static bool addr_is_local(const struct sockaddr_storage *ss)
{
	struct ifaddrs *ifa = NULL;
	bool local = false;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		if ((ntohl(a->sin_addr.s_addr) >> 24) == 127)
			return true;
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
			return true;
	}
	if (getifaddrs(&ifa) != 0)
		return false;
	for (struct ifaddrs *i = ifa; i && !local; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != ss->ss_family)
			continue;
		if (ss->ss_family == AF_INET)
			local = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr ==
				((const struct sockaddr_in *)ss)->sin_addr.s_addr;
		else
			local = memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
				       &((const struct sockaddr_in6 *)ss)->sin6_addr,
				       sizeof(struct in6_addr)) == 0;
	}
	freeifaddrs(ifa);
	return local;
}

/* "10.0.0.2" or "fd7a::2" (no port, no brackets). */
static void bare_addr(const struct sockaddr_storage *ss, char *out, size_t len)
{
	const void *a = ss->ss_family == AF_INET
				? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
				: (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

	if (!inet_ntop(ss->ss_family, a, out, (socklen_t)len))
		snprintf(out, len, "?");
}

static const char *target_host(const struct md_ctx *ctx)
{
	if (ctx->target && ctx->target->hostname)
		return ctx->target->hostname;
	return ctx->target ? ctx->target->host : NULL;
}

/* Evidence text for one listener: "tcp 0.0.0.0:443 (pid 812 tailscaled)",
 * "udp [fe80::1%eth0]:546" (RFC 6874 puts the zone inside the brackets). */
static void listener_text(const struct md_listener *x, char *out, size_t len)
{
	bool v6 = strchr(x->addr, ':') != NULL;
	int n = snprintf(out, len, "%s %s%s%s%s%s:%d", x->proto, v6 ? "[" : "", x->addr,
			 x->scope[0] ? "%" : "", x->scope, v6 ? "]" : "", x->port);

	if (n > 0 && (size_t)n < len && x->pid > 0)
		snprintf(out + n, len - (size_t)n, " (pid %d %s)", x->pid, x->process);
	else if (n > 0 && (size_t)n < len && x->process[0])
		snprintf(out + n, len - (size_t)n, " (%s)", x->process);
}

/* port.listen.PROTO.PORT for each checked port, from the target's listener table. */
static int record_listen_facts(struct md_facts *f, const struct check *c, size_t n,
			       const struct md_listeners *l, const char *source)
{
	for (size_t i = 0; i < n; i++) {
		const char *proto = c[i].spec.udp ? "udp" : "tcp";
		char name[48], ev[512];
		size_t off = 0;
		bool found = false;
		int rc;

		ev[0] = '\0';
		for (size_t k = 0; k < l->n; k++) {
			char t[128];

			if (l->v[k].port != c[i].spec.port || strcmp(l->v[k].proto, proto))
				continue;
			listener_text(&l->v[k], t, sizeof(t));
			off += (size_t)snprintf(ev + off, off < sizeof(ev) ? sizeof(ev) - off : 0,
						"%s%s", found ? ", " : "", t);
			if (off >= sizeof(ev))
				off = sizeof(ev) - 1;
			found = true;
		}
		/* In a large scan a "false" per port says nothing the listener table does not:
		 * keep the mesh's ports (what the rules read) and the ports that do listen. */
		if (!found && n > MD_MAX_PORTS && i >= sizeof(mesh_ports) / sizeof(mesh_ports[0]))
			continue;
		snprintf(name, sizeof(name), "port.listen.%s.%d", proto, c[i].spec.port);
		if (found)
			rc = md_fact_boolf(f, PROBE, name, true, "%s: %s", source, ev);
		else
			rc = md_fact_boolf(f, PROBE, name, false, "%s: nothing listens on %s port %d", source,
					proto, c[i].spec.port);
		if (rc)
			return rc;
	}
	return MD_OK;
}

static char *checks_json(const struct check *c, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	char *s;

	if (!arr)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		if (!o)
			break;
		cJSON_AddItemToArray(arr, o);
		cJSON_AddStringToObject(o, "proto", c[i].spec.udp ? "udp" : "tcp");
		cJSON_AddNumberToObject(o, "port", c[i].spec.port);
		cJSON_AddStringToObject(o, "state", state_name(c[i].state));
		cJSON_AddNumberToObject(o, "ms", (double)c[i].rtt_ms);
		cJSON_AddStringToObject(o, "detail", c[i].why);
	}
	s = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	return s;
}

static int put_table(struct md_facts *f, const char *name, char *json)
{
	int rc;

	if (!json)
		return MD_ENOMEM;
	rc = md_facts_table(f, PROBE, name, json);
	free(json);
	return rc;
}

/* One run of the probe: the checks and where they go. */
struct run {
	struct check *c;
	size_t n, window;
	struct sockaddr_storage sa;
	socklen_t salen;
	char addr[64];
	bool have_addr, target_local;
};

/* The ports to check: the mesh's, the TLS port, then --port-list. */
static int make_checks(const struct md_ctx *ctx, struct run *r, struct md_err *err)
{
	struct md_port_spec *specs = calloc(MD_PORT_MAX_CHECKS, sizeof(*specs));
	int rc = MD_OK;

	if (!specs)
		return md_err_set(err, MD_ENOMEM, PROBE, "out of memory");
	for (size_t i = 0; i < sizeof(mesh_ports) / sizeof(mesh_ports[0]); i++)
		specs[r->n++] = mesh_ports[i];
	if (ctx->opt && ctx->opt->tls_port > 0 && ctx->opt->tls_port != 443)
		specs[r->n++] = (struct md_port_spec){ ctx->opt->tls_port, false };
	if (ctx->opt && ctx->opt->port_list)
		rc = md_port_parse_list(ctx->opt->port_list, specs, MD_PORT_MAX_CHECKS, &r->n, err);
	if (rc == MD_OK && !(r->c = calloc(r->n, sizeof(*r->c))))
		rc = md_err_set(err, MD_ENOMEM, PROBE, "out of memory");
	for (size_t i = 0; rc == MD_OK && i < r->n; i++) {
		r->c[i].spec = specs[i];
		r->c[i].fd = -1;
	}
	free(specs);
	return rc;
}

/* The target's address (port.addr), and the active checks started there. */
static int start_checks(struct md_ctx *ctx, struct md_facts *f, struct run *r)
{
	const char *host = target_host(ctx);
	struct addrinfo *ai = NULL;
	struct md_err e = { 0 };
	int rc;

	if (host && md_net_resolve(host, 0, SOCK_STREAM, &ctx->deadline, &ai, &e) == MD_OK && ai &&
	    ai->ai_addrlen <= sizeof(r->sa)) {
		memcpy(&r->sa, ai->ai_addr, ai->ai_addrlen);
		r->salen = ai->ai_addrlen;
		r->have_addr = true;
		bare_addr(&r->sa, r->addr, sizeof(r->addr));
		r->target_local = addr_is_local(&r->sa);
	}
	if (ai)
		freeaddrinfo(ai);
	if (r->have_addr)
		rc = md_fact_strf(f, PROBE, "port.addr", r->addr, "%s resolved to %s%s", host, r->addr,
				  r->target_local ? " (an address of this machine)" : "");
	else
		rc = md_fact_strf(f, PROBE, "port.addr", "unresolved", "%s",
				  e.msg[0] ? e.msg : "no target host");
	r->window = fd_window(r->n);
	if (rc == MD_OK && r->have_addr)
		launch(r->c, r->n, r->window, 0, &r->sa, r->salen);
	return rc;
}

/* This machine's listeners (the kernel's own tables). */
static int local_table(struct md_facts *f, struct md_listeners *local)
{
	char why[384];
	int rc = read_local_listeners(local, why, sizeof(why));

	if (rc != MD_OK)
		return md_fact_intf(f, PROBE, "port.local_listeners", -1, "%s", why);
	rc = md_fact_int(f, PROBE, "port.local_listeners", (int64_t)local->n,
			 "/proc/net/tcp, tcp6, udp, udp6 of this machine");
	return rc == MD_OK ? put_table(f, "local_listeners", md_listeners_json(local)) : rc;
}

/* The target's listeners: over SSH, or our own tables when the target is us.  *have says
 * whether remote is a whole table; source names it. */
static int target_table(struct md_ctx *ctx, struct md_facts *f, const struct run *r,
			const struct md_listeners *local, struct md_listeners *remote, bool *have,
			char *source, size_t source_len)
{
	char why[384], note[160];
	int rc = MD_OK;

	*have = false;
	if (md_ctx_session(ctx)) {
		switch (remote_listeners(ctx, f, remote, source, source_len, note, sizeof(note), why,
					 sizeof(why))) {
		case TABLE_OK:
			*have = true;
			return md_fact_strf(f, PROBE, "port.listeners_source", source,
					    "run over the SSH session%s", note);
		case TABLE_INCOMPLETE:
			/* Rows that did arrive prove a listener, but a missing row proves nothing:
			 * no port.listen.* fact at all, rather than false ones. */
			return md_fact_strf(f, PROBE, "port.listeners_source", "incomplete", "%s", why);
		case TABLE_FAILED:
			return md_fact_strf(f, PROBE, "port.listeners_source", "failed", "%s", why);
		}
	}
	if (!r->target_local)
		return md_fact_str(f, PROBE, "port.listeners_source", "none",
				   "no SSH session: the target's listener table cannot be read");
	for (size_t i = 0; i < local->n && rc == MD_OK; i++)
		rc = md_listeners_add(remote, &local->v[i]);
	snprintf(source, source_len, "/proc/net (the target is this machine)");
	*have = rc == MD_OK;
	if (rc == MD_OK)
		rc = md_fact_str(f, PROBE, "port.listeners_source", "local",
				 "the target resolves to an address of this machine: "
				 "read /proc/net/{tcp,tcp6,udp,udp6}");
	return rc;
}

/* The target's table as facts: its size, the table, and each checked port's listener. */
static int record_table(struct md_ctx *ctx, struct md_facts *f, const struct run *r,
			const struct md_listeners *remote, bool have, const char *source)
{
	char label[160];
	int rc;

	if (!have)
		return ctx->session ? md_fact_check(f, "port.listeners_source", MD_CHECK_WARN,
						    "Listeners on the target (over SSH)")
				    : MD_OK;
	rc = md_fact_int(f, PROBE, "port.listeners", (int64_t)remote->n, source);
	if (rc == MD_OK) {
		snprintf(label, sizeof(label), "Listeners on the target (%s)", source);
		rc = md_fact_check(f, "port.listeners", MD_CHECK_OK, label);
	}
	if (rc == MD_OK)
		rc = put_table(f, "listeners", md_listeners_json(remote));
	if (rc == MD_OK)
		rc = record_listen_facts(f, r->c, r->n, remote, source);
	return rc;
}

/* Collects the active checks.  The cap counts from here, not from their start: reading the
 * tables over SSH can take seconds (a slow `ss`, a loaded host), and had it used up the
 * cap, checks still in flight or not yet started (more ports than file descriptors) would
 * have been given no time at all and looked filtered.  The probe's own deadline still
 * bounds everything. */
static int collect_checks(struct md_ctx *ctx, struct md_facts *f, struct run *r)
{
	size_t open = 0, closed = 0, filtered = 0;
	bool v6 = strchr(r->addr, ':') != NULL;
	struct md_deadline adl = md_deadline_min(ctx->deadline,
						 md_deadline_after(md_now_ms(), ACTIVE_MAX_MS));
	char label[160];
	int rc = MD_OK;

	run_checks(r->c, r->n, r->window, &adl, &r->sa, r->salen);
	for (size_t i = 0; i < r->n && rc == MD_OK; i++) {
		const struct check *c = &r->c[i];
		char name[48];

		snprintf(name, sizeof(name), "port.%s.%d", c->spec.udp ? "udp" : "tcp", c->spec.port);
		rc = md_fact_strf(f, PROBE, name, state_name(c->state), "%s %s%s%s:%d: %s",
				  c->spec.udp ? "udp" : "connect", v6 ? "[" : "", r->addr, v6 ? "]" : "",
				  c->spec.port, c->why);
		open += c->state == CK_OPEN;
		closed += c->state == CK_REFUSED || c->state == CK_CLOSED;
		filtered += c->state == CK_FILTERED || c->state == CK_OPEN_FILTERED;
	}
	if (rc == MD_OK)
		rc = put_table(f, "checks", checks_json(r->c, r->n));
	if (rc == MD_OK)
		rc = md_fact_int(f, PROBE, "port.checked", (int64_t)r->n,
				 "parallel non-blocking connects from this machine");
	if (rc == MD_OK) {
		snprintf(label, sizeof(label),
			 "Ports checked from here on %s (%zu open, %zu refused/closed, %zu no answer)",
			 r->addr, open, closed, filtered);
		rc = md_fact_check(f, "port.checked", MD_CHECK_OK, label);
	}
	return rc;
}

static int port_run(struct md_ctx *ctx, struct md_facts *f, struct md_err *err)
{
	struct run r = { 0 };
	struct md_listeners local, remote;
	char source[96];
	bool have = false;
	int rc;

	md_listeners_init(&local);
	md_listeners_init(&remote);
	rc = make_checks(ctx, &r, err);
	/* 1. The active checks start first: the kernel completes handshakes and collects ICMP
	 *    errors while the listener tables are read.  2. This machine's listeners.  3. The
	 *    target's.  4. The checks' results. */
	if (rc == MD_OK)
		rc = start_checks(ctx, f, &r);
	if (rc == MD_OK)
		rc = local_table(f, &local);
	if (rc == MD_OK)
		rc = target_table(ctx, f, &r, &local, &remote, &have, source, sizeof(source));
	if (rc == MD_OK)
		rc = record_table(ctx, f, &r, &remote, have, source);
	if (rc == MD_OK && r.have_addr)
		rc = collect_checks(ctx, f, &r);
	md_listeners_cleanup(&local);
	md_listeners_cleanup(&remote);
	for (size_t i = 0; r.c && i < r.n; i++)
		if (r.c[i].fd >= 0)
			close(r.c[i].fd);
	free(r.c);
	if (rc && !err->code)
		md_err_set(err, rc, PROBE, "port probe: %s", md_status_name(rc));
	return rc;
}

static const char *const port_provides[] = {
	"port.addr", "port.tcp.*", "port.udp.*", "port.listen.tcp.*", "port.listen.udp.*",
	"port.listeners", "port.listeners_source", "port.local_listeners", "port.checked", NULL,
};

/* The OS decides which listing to read (listing_os). */
static const char *const port_reads[] = { "host", NULL };

/* port.rules decides some rules on tailscale.serve_configured: `--probes port` runs the
 * tailscale probe too. */
static const char *const port_brings[] = { "tailscale", NULL };

const struct md_probe probe_port = {
	.name = "port",
	.desc = "listeners on the target (ss/netstat/PowerShell, /proc/net) and active TCP/UDP checks",
	.provides = port_provides,
	.needs = MD_USES_SESSION,
	.reads = port_reads,
	.brings = port_brings,
	.budget_ms = 0,
	.host_steps = port_host_steps,
	.run = port_run,
};
