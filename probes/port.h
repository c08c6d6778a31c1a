/* port.h — the port probe's parsers, exposed for tests/unit/test_port.c.
 *
 * The probe (probes/port.c, `probe_port`) reads listener tables and runs active checks;
 * everything here only turns text into structs, so it is tested on fixture text with no
 * network and no /proc.  Every function returns MD_OK or a negative enum md_status. */
#ifndef MD_PROBE_PORT_H
#define MD_PROBE_PORT_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>

/* One listening socket: TCP in LISTEN, or a bound, unconnected UDP socket. */
struct md_listener {
	char proto[4];     /* "tcp" or "udp" (IPv4 and IPv6 alike) */
	char addr[48];     /* local address as text: "0.0.0.0", "::", "127.0.0.1", "*";
			    * never with brackets or a zone */
	char scope[16];    /* interface the socket is bound to ("eth0" of fe80::1%eth0), "" */
	int port;
	unsigned long inode; /* socket inode from /proc/net/... (0 when unknown) */
	int pid;           /* owning process, 0 when unknown */
	char process[32];  /* its name ("sshd"), "" when unknown */
};

struct md_listeners {
	struct md_listener *v;
	size_t n, cap;
};

void md_listeners_init(struct md_listeners *l);
void md_listeners_cleanup(struct md_listeners *l);
/* Appends a copy of x (a duplicate proto/addr/port is kept once). MD_OK or MD_ENOMEM. */
int md_listeners_add(struct md_listeners *l, const struct md_listener *x);
/* The first listener on proto/port, NULL if none.  Borrowed from l. */
const struct md_listener *md_listeners_find(const struct md_listeners *l, const char *proto,
					    int port);

/* Text of /proc/net/tcp, tcp6, udp or udp6 (kind = "tcp", "tcp6", "udp", "udp6"): appends
 * the listening sockets (TCP state 0A LISTEN; UDP state 07 with no remote peer).  The
 * kernel prints each 32-bit word of an address as the hex of its in-memory value, so the
 * text depends on the byte order of the machine that printed it: big_endian says which
 * (false for x86 and arm64 Linux; md_port_host_big_endian() for this machine).
 * MD_EPARSE when the header is missing. */
int md_port_parse_proc_net(const char *text, const char *kind, bool big_endian,
			   struct md_listeners *out, struct md_err *err);
/* This machine's byte order (true: big-endian). */
bool md_port_host_big_endian(void);

/* The line every listing command prints after its table.  Output without it was cut short
 * or comes from a command that failed quietly, and says nothing about what does not
 * listen. */
#define MD_PORT_END_MARKER "## end of listeners"
/* True when text has MD_PORT_END_MARKER as a line of its own (CRLF tolerated). */
bool md_port_output_complete(const char *text);

/* The /proc/net fallback run over SSH on Linux without `ss` (static string).  It prints
 * "## elf od" and the target's byte order as `od -An -tu1 -j5 -N1 /proc/self/exe` prints
 * EI_DATA of the ELF header (" 1" little-endian, " 2" big-endian), or, when that od fails,
 * "## elf dd" and the byte itself as `dd` copies it; then for each of tcp, tcp6, udp,
 * udp6 a "## KIND" line and the file (nothing when it does not exist; "## unreadable" on
 * a line of its own when cat failed), then MD_PORT_END_MARKER. */
const char *md_port_proc_cat_command(void);
/* Parses that output.  Addresses are decoded in the byte order it read: *big_endian, and
 * order (order_len bytes) says how it was read ("EI_DATA 2 in the ELF header of
 * /proc/self/exe, read with od") or that it could not be, and little-endian is assumed.
 * MD_EPARSE when the marker is missing or the tcp or udp table is absent or unreadable
 * ("## unreadable" also counts at the end of a table's last, partial line) (tcp6/udp6 may
 * be absent: IPv6 disabled) — err says which. */
int md_port_parse_proc_cat(const char *text, struct md_listeners *out, bool *big_endian,
			   char *order, size_t order_len, struct md_err *err);
/* "socket:[12345]" (a /proc/PID/fd link) -> 12345; 0 when it is not a socket. */
unsigned long md_port_socket_inode(const char *link);
/* Output of `ss -ltnup` (Linux).  Process from users:(("sshd",pid=640,fd=3)) when shown.
 * Local addresses as ss prints them: "0.0.0.0:22", "*:443", "[::1]:631",
 * "[fe80::1]%eth0:22", "0.0.0.0%eth0:68", "127.0.0.53%lo:53", and from older iproute2
 * ":::22", "fe80::1%eth0:22"; also "[fe80::1%eth0]:22".  The address is stored without
 * brackets, the interface in scope. */
int md_port_parse_ss(const char *text, struct md_listeners *out, struct md_err *err);
/* Output of `netstat -an` on macOS: tcp4/tcp6 LISTEN rows and udp4/udp6 rows bound to
 * `*.*`; stops at the unix-socket section.  "*.443" -> addr "*", port 443. */
int md_port_parse_netstat_darwin(const char *text, struct md_listeners *out, struct md_err *err);
/* Output of the PowerShell script md_port_windows_script(): lines
 * "tcp|udp ADDR PORT PID [NAME]" (CRLF tolerated); a zone in ADDR ("fe80::1%12", the
 * interface index) is stored in scope.  Whether the output is complete is
 * md_port_output_complete()'s question, not this one's. */
int md_port_parse_windows(const char *text, struct md_listeners *out, struct md_err *err);
/* The PowerShell text sent to Windows (Get-NetTCPConnection -State Listen and
 * Get-NetUDPEndpoint, one line per socket, then MD_PORT_END_MARKER only when both
 * succeeded). Static string. */
const char *md_port_windows_script(void);

/* One port to check actively. */
struct md_port_spec {
	int port;
	bool udp;
};

#define MD_PORT_MAX_CHECKS 4096

/* Parses --port-list: "8443,5000/udp,9000-9010,53/tcp" (whitespace ignored).  Appends to
 * v (capacity max) skipping duplicates; *n is updated.  MD_EINVAL with the bad item. */
int md_port_parse_list(const char *s, struct md_port_spec *v, size_t max, size_t *n,
		       struct md_err *err);

/* Listener table as JSON text (array of {"proto","addr","scope","port","pid","process"});
 * malloc'ed, NULL when out of memory. */
char *md_listeners_json(const struct md_listeners *l);

#endif
