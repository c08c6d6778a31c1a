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

/* ==== listener list ================================================================== */

void md_listeners_init(struct md_listeners *l)
{
	memset(l, 0, sizeof(*l));
}

void md_listeners_cleanup(struct md_listeners *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int md_listeners_add(struct md_listeners *l, const struct md_listener *x)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].proto, x->proto) == 0 && strcmp(l->v[i].addr, x->addr) == 0 &&
		    strcmp(l->v[i].scope, x->scope) == 0 && l->v[i].port == x->port)
			return MD_OK; /* e.g. SO_REUSEPORT sockets: one row is enough */
	{
		struct md_listener *v = md_grow(l->v, &l->cap, l->n, sizeof(*v), 16);

		if (!v)
			return MD_ENOMEM;
		l->v = v;
	}
	l->v[l->n++] = *x;
	return MD_OK;
}

const struct md_listener *md_listeners_find(const struct md_listeners *l, const char *proto,
					    int port)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].port == port && strcmp(l->v[i].proto, proto) == 0)
			return &l->v[i];
	return NULL;
}

char *md_listeners_json(const struct md_listeners *l)
{
	cJSON *arr = cJSON_CreateArray();
	char *s;

	if (!arr)
		return NULL;
	for (size_t i = 0; i < l->n; i++) {
		cJSON *o = cJSON_CreateObject();

		if (!o)
			break;
		cJSON_AddItemToArray(arr, o);
		cJSON_AddStringToObject(o, "proto", l->v[i].proto);
		cJSON_AddStringToObject(o, "addr", l->v[i].addr);
		if (l->v[i].scope[0])
			cJSON_AddStringToObject(o, "scope", l->v[i].scope);
		else
			cJSON_AddNullToObject(o, "scope");
		cJSON_AddNumberToObject(o, "port", l->v[i].port);
		if (l->v[i].pid > 0)
			cJSON_AddNumberToObject(o, "pid", l->v[i].pid);
		else
			cJSON_AddNullToObject(o, "pid");
		if (l->v[i].process[0])
			cJSON_AddStringToObject(o, "process", l->v[i].process);
		else
			cJSON_AddNullToObject(o, "process");
	}
	s = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	return s;
}

/* ==== parsers ========================================================================= */

/* Next line of text: [*p, end) without the '\n' (and a '\r' before it). */
static bool next_line(const char **p, const char **start, size_t *len)
{
	const char *s = *p, *e;

	if (!*s)
		return false;
	e = strchr(s, '\n');
	*start = s;
	*p = e ? e + 1 : s + strlen(s);
	*len = (size_t)((e ? e : *p) - s);
	if (*len && s[*len - 1] == '\r')
		(*len)--;
	return true;
}

/* Splits a line copy into white-space separated fields (in place). Returns the count. */
static size_t split_ws(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	for (char *t = strtok_r(line, " \t", &save); t && n < max; t = strtok_r(NULL, " \t", &save))
		f[n++] = t;
	return n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "0100007F:1F90" (IPv4) or 32 hex digits + ":PORT" (IPv6) -> text address and port.
 * The kernel prints each 32-bit word of the address with %08X of its in-memory value
 * (net/ipv4/tcp_ipv4.c get_tcp4_sock: inet_rcv_saddr, a __be32; net/ipv6/tcp_ipv6.c
 * get_tcp6_sock: s6_addr32[0..3]), and the port after ntohs(), as a plain number.  The
 * address is in network order in memory, so the word's bytes come out in the printing
 * machine's order: 127.0.0.1 is 0100007F from a little-endian host (x86, arm64),
 * 7F000001 from a big-endian one (s390x).  big_endian names the printer's order. */
static bool parse_proc_addr(const char *s, bool big_endian, char *addr, size_t addr_len,
			    int *port)
{
	const char *colon = strchr(s, ':');
	size_t hexlen;
	unsigned char bytes[16];
	unsigned long p;
	char *end;

	if (!colon)
		return false;
	hexlen = (size_t)(colon - s);
	if (hexlen != 8 && hexlen != 32)
		return false;
	for (size_t w = 0; w < hexlen / 8; w++) {
		uint32_t v = 0;

		for (size_t i = 0; i < 8; i++) {
			int h = hexval(s[w * 8 + i]);

			if (h < 0)
				return false;
			v = (v << 4) | (uint32_t)h;
		}
		for (size_t b = 0; b < 4; b++)
			bytes[w * 4 + b] = (unsigned char)(big_endian ? v >> (24 - 8 * b) : v >> (8 * b));
	}
	p = strtoul(colon + 1, &end, 16);
	if (end == colon + 1 || p > 65535)
		return false;
	*port = (int)p;
	return inet_ntop(hexlen == 8 ? AF_INET : AF_INET6, bytes, addr, (socklen_t)addr_len) != NULL;
}

static bool all_zero_peer(const char *s)
{
	for (; *s; s++)
		if (*s != '0' && *s != ':')
			return false;
	return true;
}

bool md_port_host_big_endian(void)
{
	const uint16_t one = 1;

	return *(const unsigned char *)&one == 0;
}

int md_port_parse_proc_net(const char *text, const char *kind, bool big_endian,
			   struct md_listeners *out, struct md_err *err)
{
	bool tcp = strncmp(kind, "tcp", 3) == 0, header = false;
	const char *p = text, *ls;
	size_t len;

	while (next_line(&p, &ls, &len)) {
		char line[512], *f[12];
		size_t n;
		struct md_listener x = { 0 };
		unsigned long st;

		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, ls, len);
		line[len] = '\0';
		n = split_ws(line, f, 12);
		if (n == 0)
			continue;
		if (strcmp(f[0], "sl") == 0) {
			header = true;
			continue;
		}
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode ... */
		if (n < 10 || !header)
			continue;
		st = strtoul(f[3], NULL, 16);
		/* include/net/tcp_states.h: 0x0A TCP_LISTEN; an unconnected UDP socket sits in
		 * 0x07 TCP_CLOSE with a zero peer. */
		if (tcp ? st != 0x0A : (st != 0x07 || !all_zero_peer(f[2])))
			continue;
		snprintf(x.proto, sizeof(x.proto), "%s", tcp ? "tcp" : "udp");
		if (!parse_proc_addr(f[1], big_endian, x.addr, sizeof(x.addr), &x.port))
			continue;
		x.inode = strtoul(f[9], NULL, 10);
		if (md_listeners_add(out, &x))
			return md_err_set(err, MD_ENOMEM, "listeners", "out of memory");
	}
	if (!header)
		return md_err_set(err, MD_EPARSE, "listeners", "/proc/net/%s: no header line", kind);
	return MD_OK;
}

unsigned long md_port_socket_inode(const char *link)
{
	char *end;
	unsigned long v;

	if (strncmp(link, "socket:[", 8) != 0)
		return 0;
	v = strtoul(link + 8, &end, 10);
	return *end == ']' ? v : 0;
}

/* LOCAL:PORT as ss prints it -> address, interface and port.  iproute2's ss
 * (misc/ss.c, inet_addr_print / sock_addr_print) brackets a numeric IPv6 address, prints
 * "*" for the IPv6 wildcard of a dual-stack socket, and appends "%IFNAME" after the address
 * of a socket bound to an interface:
 *   "0.0.0.0:22", "*:443", "[::]:443", "[::1]:631", "[::ffff:127.0.0.1]:9000",
 *   "[fe80::1]%eth0:22", "0.0.0.0%eth0:68", "127.0.0.53%lo:53";
 * older iproute2 printed IPv6 without brackets (":::22", "fe80::1%eth0:123"), and the zone
 * may also come inside the brackets as RFC 6874 writes it ("[fe80::1%eth0]:22"). */
static bool split_host_port(const char *s, char *addr, size_t addr_len, char *scope,
			    size_t scope_len, int *port)
{
	const char *colon = strrchr(s, ':'), *host_end, *pct = NULL, *a = s, *a_end;
	char *end;
	long p;

	if (!colon)
		return false;
	p = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || p < 0 || p > 65535)
		return false;
	host_end = colon;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', (size_t)(host_end - s));

		if (!close)
			return false;
		a = s + 1;
		a_end = close;
		/* the zone inside the brackets, or after them */
		pct = memchr(a, '%', (size_t)(a_end - a));
		if (pct) {
			if (close + 1 != host_end)
				return false;
			a_end = pct;
			pct++;
			host_end = close;
		} else if (close + 1 < host_end) {
			if (close[1] != '%')
				return false;
			pct = close + 2;
		}
	} else {
		pct = memchr(s, '%', (size_t)(host_end - s));
		a_end = pct ? pct : host_end;
		if (pct)
			pct++;
	}
	if (a_end == a || (size_t)(a_end - a) >= addr_len)
		return false;
	memcpy(addr, a, (size_t)(a_end - a));
	addr[a_end - a] = '\0';
	scope[0] = '\0';
	if (pct) {
		size_t n = (size_t)(host_end - pct);

		if (n == 0 || n >= scope_len)
			return false;
		memcpy(scope, pct, n);
		scope[n] = '\0';
	}
	*port = (int)p;
	return true;
}

/* The decimal number at s, not reading at or past end (no terminator needed); 0 when
 * there is none, at most 999,999,999. */
static int digits_int(const char *s, const char *end)
{
	int v = 0;

	for (; s < end && *s >= '0' && *s <= '9' && v < 100000000; s++)
		v = v * 10 + (*s - '0');
	return v;
}

int md_port_parse_ss(const char *text, struct md_listeners *out, struct md_err *err)
{
	const char *p = text, *ls;
	size_t len;
	bool header = false;

	while (next_line(&p, &ls, &len)) {
		char line[1024], *f[8];
		size_t n;
		struct md_listener x = { 0 };
		/* Everything about the process is looked for in this line only: the text goes on
		 * with the next lines, whose processes are theirs. */
		const char *le = ls + len, *users = memmem(ls, len, "users:((\"", 9);

		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, ls, len);
		line[len] = '\0';
		n = split_ws(line, f, 8);
		if (n == 0)
			continue;
		if (strcmp(f[0], "Netid") == 0) {
			header = true;
			continue;
		}
		/* Netid State Recv-Q Send-Q Local:Port Peer:Port [Process] */
		if (n < 6 || (strcmp(f[0], "tcp") && strcmp(f[0], "udp")))
			continue;
		if (strcmp(f[0], "tcp") == 0 && strcmp(f[1], "LISTEN"))
			continue;
		snprintf(x.proto, sizeof(x.proto), "%s", f[0]);
		if (!split_host_port(f[4], x.addr, sizeof(x.addr), x.scope, sizeof(x.scope), &x.port))
			continue;
		if (users) {
			/* users:(("sshd",pid=640,fd=3),...): the first process is enough. */
			const char *name = users + 9, *q = memchr(name, '"', (size_t)(le - name));

			if (q) {
				size_t nl = (size_t)(q - name);
				const char *close = memchr(q, ')', (size_t)(le - q));
				const char *pid = memmem(q, (size_t)((close ? close : le) - q), "pid=", 4);

				if (nl >= sizeof(x.process))
					nl = sizeof(x.process) - 1;
				memcpy(x.process, name, nl);
				x.process[nl] = '\0';
				if (pid)
					x.pid = digits_int(pid + 4, le);
			}
		}
		if (md_listeners_add(out, &x))
			return md_err_set(err, MD_ENOMEM, "listeners", "out of memory");
	}
	if (!header)
		return md_err_set(err, MD_EPARSE, "listeners", "ss: no header line in the output");
	return MD_OK;
}

/* macOS netstat prints "ADDR.PORT" ("*.443", "127.0.0.1.8080", "fe80::1%lo0.5353"). */
static bool split_dot_port(const char *s, char *addr, size_t addr_len, char *scope,
			   size_t scope_len, int *port)
{
	const char *dot = strrchr(s, '.');
	char tmp[sizeof(((struct md_listener *)0)->addr)];
	char *pct, *end;
	size_t n;
	long p;

	if (!dot)
		return false;
	p = strtol(dot + 1, &end, 10);
	if (end == dot + 1 || *end || p < 0 || p > 65535)
		return false;
	n = (size_t)(dot - s);
	if (n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	pct = strchr(tmp, '%');
	scope[0] = '\0';
	if (pct) {
		*pct = '\0';
		snprintf(scope, scope_len, "%s", pct + 1);
	}
	snprintf(addr, addr_len, "%s", tmp);
	*port = (int)p;
	return true;
}

int md_port_parse_netstat_darwin(const char *text, struct md_listeners *out, struct md_err *err)
{
	const char *p = text, *ls;
	size_t len;
	bool header = false;

	while (next_line(&p, &ls, &len)) {
		char line[512], *f[8];
		size_t n;
		struct md_listener x = { 0 };
		bool tcp, udp;

		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, ls, len);
		line[len] = '\0';
		if (strncmp(line, "Active LOCAL", 12) == 0 || strncmp(line, "Active Multipath", 16) == 0)
			break; /* unix sockets follow, with other columns */
		n = split_ws(line, f, 8);
		if (n == 0)
			continue;
		if (strcmp(f[0], "Proto") == 0) {
			header = true;
			continue;
		}
		/* Proto Recv-Q Send-Q Local Foreign (state) */
		tcp = strncmp(f[0], "tcp", 3) == 0;
		udp = strncmp(f[0], "udp", 3) == 0;
		if (n < 5 || (!tcp && !udp))
			continue;
		if (tcp && (n < 6 || strcmp(f[5], "LISTEN")))
			continue;
		if (udp && strcmp(f[4], "*.*"))
			continue;
		snprintf(x.proto, sizeof(x.proto), "%s", tcp ? "tcp" : "udp");
		if (!split_dot_port(f[3], x.addr, sizeof(x.addr), x.scope, sizeof(x.scope), &x.port))
			continue;
		if (md_listeners_add(out, &x))
			return md_err_set(err, MD_ENOMEM, "listeners", "out of memory");
	}
	if (!header)
		return md_err_set(err, MD_EPARSE, "listeners", "netstat: no header line in the output");
	return MD_OK;
}

int md_port_parse_windows(const char *text, struct md_listeners *out, struct md_err *err)
{
	const char *p = text, *ls;
	size_t len, rows = 0;

	while (next_line(&p, &ls, &len)) {
		char line[512], *f[6];
		size_t n;
		struct md_listener x = { 0 };
		char *end, *pct;
		long port;

		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, ls, len);
		line[len] = '\0';
		n = split_ws(line, f, 6);
		if (n < 4 || (strcmp(f[0], "tcp") && strcmp(f[0], "udp")))
			continue;
		port = strtol(f[2], &end, 10);
		if (*end || port < 0 || port > 65535)
			continue;
		snprintf(x.proto, sizeof(x.proto), "%s", f[0]);
		/* LocalAddress of a link-local socket carries the zone as an interface index:
		 * "fe80::1%12".  The address goes to addr, the zone to scope. */
		pct = strchr(f[1], '%');
		if (pct) {
			*pct = '\0';
			snprintf(x.scope, sizeof(x.scope), "%s", pct + 1);
		}
		snprintf(x.addr, sizeof(x.addr), "%s", f[1]);
		x.port = (int)port;
		x.pid = atoi(f[3]);
		if (n >= 5)
			snprintf(x.process, sizeof(x.process), "%s", f[4]);
		if (md_listeners_add(out, &x))
			return md_err_set(err, MD_ENOMEM, "listeners", "out of memory");
		rows++;
	}
	(void)rows;
	return MD_OK;
}

const char *md_port_windows_script(void)
{
	/* One line per socket, "proto address port pid name": trivial to parse and immune to
	 * the console width that Format-Table output depends on.  Every error stops the
	 * script ('Stop') before the end marker, except the one a query with no match gives
	 * ("No MSFT_NetTCPConnection objects found", category ObjectNotFound): no listener
	 * at all is an answer.  A process that exits meanwhile is named '-'. */
	return "$ErrorActionPreference = 'Stop'\n"
	       "function N($id) { $p = Get-Process -Id $id -ErrorAction SilentlyContinue; "
	       "if ($p) { $p.ProcessName } else { '-' } }\n"
	       "function L($get) { try { & $get } catch { "
	       "if ($_.CategoryInfo.Category -ne 'ObjectNotFound') { throw } } }\n"
	       "L { Get-NetTCPConnection -State Listen } | ForEach-Object { "
	       "'tcp {0} {1} {2} {3}' -f $_.LocalAddress, $_.LocalPort, $_.OwningProcess, (N $_.OwningProcess) }\n"
	       "L { Get-NetUDPEndpoint } | ForEach-Object { "
	       "'udp {0} {1} {2} {3}' -f $_.LocalAddress, $_.LocalPort, $_.OwningProcess, (N $_.OwningProcess) }\n"
	       "'" MD_PORT_END_MARKER "'\n";
}

bool md_port_output_complete(const char *text)
{
	const char *p = text, *ls;
	size_t len, mlen = strlen(MD_PORT_END_MARKER);

	while (next_line(&p, &ls, &len)) {
		while (len && (ls[len - 1] == ' ' || ls[len - 1] == '\t'))
			len--;
		if (len == mlen && memcmp(ls, MD_PORT_END_MARKER, mlen) == 0)
			return true;
	}
	return false;
}

int md_port_parse_list(const char *s, struct md_port_spec *v, size_t max, size_t *n,
		       struct md_err *err)
{
	const char *p = s;

	while (p && *p) {
		char item[64];
		size_t len = strcspn(p, ",");
		char *slash, *dash, *end, *q = item;
		long lo, hi;
		bool udp = false;

		if (len >= sizeof(item))
			return md_err_set(err, MD_EINVAL, "port-list", "--port-list: item too long");
		for (size_t i = 0; i < len; i++)
			if (!isspace((unsigned char)p[i]))
				*q++ = p[i];
		*q = '\0';
		p += len;
		if (*p == ',')
			p++;
		if (!item[0])
			continue;
		slash = strchr(item, '/');
		if (slash) {
			*slash = '\0';
			if (strcmp(slash + 1, "udp") == 0)
				udp = true;
			else if (strcmp(slash + 1, "tcp") != 0)
				return md_err_set(err, MD_EINVAL, "port-list",
						  "--port-list: \"%s/%s\": protocol must be tcp or udp",
						  item, slash + 1);
		}
		dash = strchr(item, '-');
		lo = strtol(item, &end, 10);
		if (end == item || (dash ? end != dash : *end != '\0'))
			goto bad;
		hi = lo;
		if (dash) {
			hi = strtol(dash + 1, &end, 10);
			if (end == dash + 1 || *end)
				goto bad;
		}
		if (lo < 1 || hi > 65535 || lo > hi)
			goto bad;
		for (long port = lo; port <= hi; port++) {
			bool dup = false;

			for (size_t i = 0; i < *n && !dup; i++)
				dup = v[i].port == port && v[i].udp == udp;
			if (dup)
				continue;
			if (*n >= max)
				return md_err_set(err, MD_EINVAL, "port-list",
						  "--port-list: more than %zu ports", max);
			v[*n].port = (int)port;
			v[*n].udp = udp;
			(*n)++;
		}
		continue;
bad:
		return md_err_set(err, MD_EINVAL, "port-list",
				  "--port-list: \"%s\" is not a port (1-65535) or a range A-B", item);
	}
	return MD_OK;
}

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

/* One line after "## elf od" (od's decimal text, " 2") or "## elf dd" (the raw byte):
 * the EI_DATA value 1 or 2, 0 when the line is not one. */
static int elf_data_value(const char *s, size_t len, bool raw)
{
	if (raw)
		return len == 1 && (s[0] == 1 || s[0] == 2) ? s[0] : 0;
	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return len == 1 && (s[0] == '1' || s[0] == '2') ? s[0] - '0' : 0;
}

int md_port_parse_proc_cat(const char *text, struct md_listeners *out, bool *big_endian,
			   char *order, size_t order_len, struct md_err *err)
{
	static const char *const kinds[] = { "tcp", "tcp6", "udp", "udp6" };
	struct md_buf sec[4];
	bool seen[4] = { false }, unreadable[4] = { false }, end = false;
	const char *p = text, *ls;
	char how[8] = "";
	size_t len;
	int cur = -1, last = -1, ei_data = 0, rc = MD_OK;

	*big_endian = false;
	snprintf(order, order_len,
		 "byte order unknown: the ELF header of /proc/self/exe could not be read");
	for (size_t k = 0; k < 4; k++)
		md_buf_init(&sec[k], 0);
	while (rc == MD_OK && next_line(&p, &ls, &len)) {
		if (len >= 3 && memcmp(ls, "## ", 3) == 0) {
			const char *d = ls + 3;
			size_t dl = len - 3;

			cur = -1;
			how[0] = '\0';
			if (len == strlen(MD_PORT_END_MARKER) && memcmp(ls, MD_PORT_END_MARKER, len) == 0) {
				end = true;
			} else if (dl == 6 && (memcmp(d, "elf od", 6) == 0 || memcmp(d, "elf dd", 6) == 0)) {
				snprintf(how, sizeof(how), "%.2s", d + 4);
			} else if (dl == 10 && memcmp(d, "unreadable", 10) == 0) {
				if (last >= 0)
					unreadable[last] = true;
			} else {
				for (size_t k = 0; k < 4; k++)
					if (dl == strlen(kinds[k]) && memcmp(d, kinds[k], dl) == 0) {
						seen[k] = true;
						cur = last = (int)k;
					}
			}
			continue;
		}
		if (len >= 13 && memcmp(ls + len - 13, "## unreadable", 13) == 0) {
			/* The marker glued to the partial last line of a cat that failed (a
			 * command other than ours, or one that printed no newline first). */
			if (last >= 0)
				unreadable[last] = true;
		} else if (how[0] && !ei_data) {
			ei_data = elf_data_value(ls, len, strcmp(how, "dd") == 0);
			if (ei_data) {
				*big_endian = ei_data == 2;
				snprintf(order, order_len,
					 "EI_DATA %d in the ELF header of /proc/self/exe, read with %s",
					 ei_data, how);
			}
		} else if (cur >= 0) {
			rc = md_buf_append(&sec[cur], ls, len);
			if (rc == MD_OK)
				rc = md_buf_append(&sec[cur], "\n", 1);
		}
	}
	if (rc) {
		rc = md_err_set(err, rc, "listeners", "out of memory");
		goto out;
	}
	if (!end) {
		rc = md_err_set(err, MD_EPARSE, "listeners",
				"the output ends without \"" MD_PORT_END_MARKER "\": it was cut short");
		goto out;
	}
	for (size_t k = 0; k < 4 && rc == MD_OK; k++) {
		bool v4 = k % 2 == 0;

		if (unreadable[k])
			rc = md_err_set(err, MD_EPARSE, "listeners", "/proc/net/%s exists but could not be read",
					kinds[k]);
		else if (!seen[k] || (v4 && sec[k].len == 0))
			/* tcp6/udp6 are absent when IPv6 is disabled; tcp and udp never are. */
			rc = md_err_set(err, MD_EPARSE, "listeners", "no /proc/net/%s in the output",
					kinds[k]);
		else if (sec[k].len)
			rc = md_port_parse_proc_net(md_buf_str(&sec[k]), kinds[k], *big_endian, out, err);
	}
out:
	for (size_t k = 0; k < 4; k++)
		md_buf_cleanup(&sec[k]);
	return rc;
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

static int port_run(struct md_ctx *ctx, struct md_facts *f, struct md_err *err)
{
	struct check *c = NULL;
	struct md_port_spec *specs = NULL;
	size_t n = 0, window;
	struct md_listeners local, remote;
	struct addrinfo *ai = NULL;
	struct sockaddr_storage sa;
	socklen_t salen = 0;
	struct md_deadline adl;
	char why[384], source[96], addr[64] = "";
	const char *host = target_host(ctx);
	bool have_addr = false, target_local = false, have_target_table = false;
	struct md_err e = { 0 };
	int rc = MD_OK;

	md_listeners_init(&local);
	md_listeners_init(&remote);

	/* The ports to check: the mesh's, then --port-list. */
	specs = calloc(MD_PORT_MAX_CHECKS, sizeof(*specs));
	if (!specs) {
		rc = md_err_set(err, MD_ENOMEM, PROBE, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < sizeof(mesh_ports) / sizeof(mesh_ports[0]); i++)
		specs[n++] = mesh_ports[i];
	if (ctx->opt && ctx->opt->tls_port > 0 && ctx->opt->tls_port != 443)
		specs[n++] = (struct md_port_spec){ ctx->opt->tls_port, false };
	if (ctx->opt && ctx->opt->port_list) {
		rc = md_port_parse_list(ctx->opt->port_list, specs, MD_PORT_MAX_CHECKS, &n, err);
		if (rc)
			goto out;
	}
	c = calloc(n, sizeof(*c));
	if (!c) {
		rc = md_err_set(err, MD_ENOMEM, PROBE, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		c[i].spec = specs[i];
		c[i].fd = -1;
	}

	/* 1. Start the active checks first: the kernel completes handshakes and collects
	 *    ICMP errors while the listener tables are read below.  Their time cap starts
	 *    only in step 4. */
	if (host) {
		rc = md_net_resolve(host, 0, SOCK_STREAM, &ctx->deadline, &ai, &e);
		if (rc == MD_OK && ai && ai->ai_addrlen <= sizeof(sa)) {
			memcpy(&sa, ai->ai_addr, ai->ai_addrlen);
			salen = ai->ai_addrlen;
			have_addr = true;
			bare_addr(&sa, addr, sizeof(addr));
			target_local = addr_is_local(&sa);
		}
		rc = MD_OK;
	}
	if (have_addr)
		rc = md_fact_strf(f, PROBE, "port.addr", addr, "%s resolved to %s%s", host, addr,
				  target_local ? " (an address of this machine)" : "");
	else
		rc = md_fact_strf(f, PROBE, "port.addr", "unresolved", "%s",
				  e.msg[0] ? e.msg : "no target host");
	if (rc)
		goto out;
	window = fd_window(n);
	if (have_addr)
		launch(c, n, window, 0, &sa, salen);

	/* 2. This machine's listeners (the kernel's own tables). */
	rc = read_local_listeners(&local, why, sizeof(why));
	if (rc == MD_OK) {
		rc = md_fact_int(f, PROBE, "port.local_listeners", (int64_t)local.n,
				 "/proc/net/tcp, tcp6, udp, udp6 of this machine");
		if (rc == MD_OK)
			rc = put_table(f, "local_listeners", md_listeners_json(&local));
	} else {
		rc = md_fact_intf(f, PROBE, "port.local_listeners", -1, "%s", why);
	}
	if (rc)
		goto out;

	/* 3. The target's listeners: over SSH, or our own tables when the target is us. */
	if (md_ctx_session(ctx)) {
		char note[160];

		switch (remote_listeners(ctx, f, &remote, source, sizeof(source), note, sizeof(note), why,
					 sizeof(why))) {
		case TABLE_OK:
			have_target_table = true;
			rc = md_fact_strf(f, PROBE, "port.listeners_source", source,
					  "run over the SSH session%s", note);
			break;
		case TABLE_INCOMPLETE:
			/* Rows that did arrive prove a listener, but a missing row proves nothing:
			 * no port.listen.* fact at all, rather than false ones. */
			rc = md_fact_strf(f, PROBE, "port.listeners_source", "incomplete", "%s", why);
			break;
		case TABLE_FAILED:
			rc = md_fact_strf(f, PROBE, "port.listeners_source", "failed", "%s", why);
			break;
		}
	} else if (target_local) {
		for (size_t i = 0; i < local.n && rc == MD_OK; i++)
			rc = md_listeners_add(&remote, &local.v[i]);
		snprintf(source, sizeof(source), "/proc/net (the target is this machine)");
		have_target_table = rc == MD_OK;
		if (rc == MD_OK)
			rc = md_fact_str(f, PROBE, "port.listeners_source", "local",
					 "the target resolves to an address of this machine: "
					 "read /proc/net/{tcp,tcp6,udp,udp6}");
	} else {
		rc = md_fact_str(f, PROBE, "port.listeners_source", "none",
				 "no SSH session: the target's listener table cannot be read");
	}
	if (rc)
		goto out;
	if (have_target_table) {
		char label[160];

		rc = md_fact_int(f, PROBE, "port.listeners", (int64_t)remote.n, source);
		if (rc == MD_OK) {
			snprintf(label, sizeof(label), "Listeners on the target (%s)", source);
			rc = md_fact_check(f, "port.listeners", MD_CHECK_OK, label);
		}
		if (rc == MD_OK)
			rc = put_table(f, "listeners", md_listeners_json(&remote));
		if (rc == MD_OK)
			rc = record_listen_facts(f, c, n, &remote, source);
	} else if (ctx->session) {
		rc = md_fact_check(f, "port.listeners_source", MD_CHECK_WARN,
				   "Listeners on the target (over SSH)");
	}
	if (rc)
		goto out;

	/* 4. Collect the active checks.  The cap counts from here, not from step 1: reading
	 *    the tables over SSH can take seconds (a slow `ss`, a loaded host), and had it
	 *    used up the cap, checks still in flight or not yet started (more ports than
	 *    file descriptors) would have been given no time at all and looked filtered.
	 *    The probe's own deadline still bounds everything. */
	if (have_addr) {
		size_t open = 0, closed = 0, filtered = 0;
		bool v6 = strchr(addr, ':') != NULL;
		char label[160];

		adl = md_deadline_min(ctx->deadline, md_deadline_after(md_now_ms(), ACTIVE_MAX_MS));
		run_checks(c, n, window, &adl, &sa, salen);
		for (size_t i = 0; i < n && rc == MD_OK; i++) {
			char name[48];

			snprintf(name, sizeof(name), "port.%s.%d", c[i].spec.udp ? "udp" : "tcp",
				 c[i].spec.port);
			rc = md_fact_strf(f, PROBE, name, state_name(c[i].state), "%s %s%s%s:%d: %s",
					  c[i].spec.udp ? "udp" : "connect", v6 ? "[" : "", addr,
					  v6 ? "]" : "", c[i].spec.port, c[i].why);
			open += c[i].state == CK_OPEN;
			closed += c[i].state == CK_REFUSED || c[i].state == CK_CLOSED;
			filtered += c[i].state == CK_FILTERED || c[i].state == CK_OPEN_FILTERED;
		}
		if (rc == MD_OK)
			rc = put_table(f, "checks", checks_json(c, n));
		if (rc == MD_OK)
			rc = md_fact_int(f, PROBE, "port.checked", (int64_t)n,
					 "parallel non-blocking connects from this machine");
		if (rc == MD_OK) {
			snprintf(label, sizeof(label),
				 "Ports checked from here on %s (%zu open, %zu refused/closed, %zu no answer)",
				 addr, open, closed, filtered);
			rc = md_fact_check(f, "port.checked", MD_CHECK_OK, label);
		}
	}
out:
	if (ai)
		freeaddrinfo(ai);
	md_listeners_cleanup(&local);
	md_listeners_cleanup(&remote);
	free(specs);
	if (c)
		for (size_t i = 0; i < n; i++)
			if (c[i].fd >= 0)
				close(c[i].fd);
	free(c);
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
