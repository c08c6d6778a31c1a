/* port_parse.c — the port probe's parsers (see probes/port.h): the listener list, the
 * tables a host prints (`ss -ltnup`, macOS `netstat -an`, the PowerShell listing, /proc/net
 * directly or as the proc-cat command prints it) and --port-list.  No I/O: unit-tested in
 * tests/unit/test_port.c and fuzzed by tests/fuzz/fuzz_listeners.c. */
#include "probes/port.h"

#include "core/buf.h"
#include "core/err.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ==== /proc/net as the proc-cat command prints it ==================================== */

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
