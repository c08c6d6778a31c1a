/* test_port.c — the port probe's parsers, its facts over a replay session, and port.rules.
 *
 * The /proc/net and `ss -ltnup` texts below were captured on this project's Debian 12
 * machine from real sockets (socat listeners in a network namespace: 127.0.0.1:8080,
 * 0.0.0.0:22, [::]:443, UDP 0.0.0.0:41641 and [::]:5353).  The macOS `netstat -an` lines
 * are the seed's (seeds/004_3ac6a098e1c6561c.txt, step 4) inside the full layout macOS
 * prints.  The scoped and IPv4-mapped `ss -ltnup` lines and the matching /proc/net lines
 * were captured the same way (python3 sockets in a namespace on a veth with 100.64.0.2,
 * fd7a:115c:a1e0::2 and fe80::1; iproute2 6.1.0, x86_64).  No network: the probe runs
 * with no target host (no active checks) over a replay session (core/session.h). */
#include "core/facts.h"
#include "core/session.h"
#include "tests/support/session_replay.h"
#include "core/hostcmd.h"
#include "probes/port.h"
#include "probes/probe.h"
#include "rules/engine.h"

#include "tests/support/fact_spec.h"
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

extern const struct md_probe probe_port;

static struct md_listeners L;

static void remove_fake_bin(void);

static void setup(void)
{
	md_listeners_init(&L);
}

static void teardown(void)
{
	md_listeners_cleanup(&L);
	remove_fake_bin(); /* also when an assert ended the test early */
}

TestSuite(port, .init = setup, .fini = teardown, .timeout = 10);

static void assert_listener(const char *proto, const char *addr, int port, int pid,
			    const char *process)
{
	const struct md_listener *x = md_listeners_find(&L, proto, port);

	cr_assert_not_null(x, "no %s listener on port %d (have %zu)", proto, port, L.n);
	cr_assert_str_eq(x->addr, addr, "%s/%d: addr %s, want %s", proto, port, x->addr, addr);
	cr_assert_eq(x->pid, pid, "%s/%d: pid %d, want %d", proto, port, x->pid, pid);
	cr_assert_str_eq(x->process, process, "%s/%d: process \"%s\", want \"%s\"", proto, port,
			 x->process, process);
}

/* ==== /proc/net ======================================================================= */

static const char proc_tcp[] =
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     \n"
	"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 11873 1 00000000daaef4c8 100 0 0 10 0                     \n"
	"   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 11870 1 00000000c088df2d 100 0 0 10 0                     \n"
	/* an established connection (st 01) is not a listener */
	"   2: 0200000A:0016 0100000A:D431 01 00000000:00000000 02:0009F6A1 00000000     0        0 12001 4 0000000012345678 20 4 30 10 -1                    \n";

static const char proc_tcp6[] =
	"  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	"   0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12453 1 000000000ae2dd9f 100 0 0 10 0\n"
	/* ::1 port 8443: the last word is 0x00000001 in network order = 01000000 in memory */
	"   1: 00000000000000000000000001000000:20FB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12460 1 000000000ae2dd00 100 0 0 10 0\n";

static const char proc_udp[] =
	"   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            \n"
	" 5961: 00000000:A2A9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 11876 2 000000006283889e 0         \n"
	/* a connected UDP socket (st 01, a peer) is not listening */
	" 5962: 0200000A:A2AA 0100000A:0035 01 00000000:00000000 00:00000000 00000000     0        0 11877 2 000000006283889f 0         \n";

static const char proc_udp6[] =
	"  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
	" 2441: 00000000000000000000000000000000:14E9 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 12456 2 000000005961fe38 0\n";

Test(port, proc_net_tcp_lists_only_listening_sockets_with_their_inodes)
{
	cr_assert_eq(md_port_parse_proc_net(proc_tcp, "tcp", false, &L, NULL), MD_OK);
	cr_assert_eq(L.n, 2, "listeners: %zu", L.n);
	assert_listener("tcp", "127.0.0.1", 8080, 0, "");
	assert_listener("tcp", "0.0.0.0", 22, 0, "");
	cr_assert_eq(md_listeners_find(&L, "tcp", 8080)->inode, 11873ul);
	cr_assert_eq(md_listeners_find(&L, "tcp", 22)->inode, 11870ul);
}

Test(port, proc_net_tcp6_decodes_each_word_in_memory_order)
{
	cr_assert_eq(md_port_parse_proc_net(proc_tcp6, "tcp6", false, &L, NULL), MD_OK);
	cr_assert_eq(L.n, 2);
	assert_listener("tcp", "::", 443, 0, "");
	assert_listener("tcp", "::1", 8443, 0, "");
}

Test(port, proc_net_udp_keeps_unconnected_sockets_only)
{
	cr_assert_eq(md_port_parse_proc_net(proc_udp, "udp", false, &L, NULL), MD_OK);
	cr_assert_eq(md_port_parse_proc_net(proc_udp6, "udp6", false, &L, NULL), MD_OK);
	cr_assert_eq(L.n, 2, "listeners: %zu", L.n);
	assert_listener("udp", "0.0.0.0", 41641, 0, "");
	assert_listener("udp", "::", 5353, 0, "");
}

/* ==== /proc/net byte order ============================================================== */

/* Captured on x86_64 (little-endian): each word is the hex of the in-memory u32. */
static const char proc_tcp_le[] =
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	"   0: 02004064:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 259661 1 00000000a95ab0e6 100 0 0 10 0\n"
	"   2: 0100007F:1388 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 259663 1 000000001c27bd7f 100 0 0 10 0\n";

static const char proc_tcp6_le[] =
	"  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	"   0: 00000000000000000000000001000000:0277 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 259659 1 0000000047dda844 100 0 0 10 0\n"
	"   1: 0000000000000000FFFF00000100007F:2328 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 259660 1 000000003239e2c1 100 0 0 10 0\n"
	"   2: 000080FE000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 259656 1 00000000afe89b8d 100 0 0 10 0\n"
	"   3: 5C117AFD0000E0A10000000002000000:20FB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 259657 1 00000000e75198c1 100 0 0 10 0\n";

/* The same sockets as a big-endian kernel (s390x) prints them: the words' bytes in
 * network order.  Written from the kernel's format (get_tcp4_sock, get_tcp6_sock), not
 * captured: no big-endian machine was at hand. */
static const char proc_tcp_be[] =
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	"   0: 64400002:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 259661 1 00000000a95ab0e6 100 0 0 10 0\n"
	"   2: 7F000001:1388 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 259663 1 000000001c27bd7f 100 0 0 10 0\n";

static const char proc_tcp6_be[] =
	"  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	"   0: 00000000000000000000000000000001:0277 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 259659 1 0000000047dda844 100 0 0 10 0\n"
	"   1: 00000000000000000000FFFF7F000001:2328 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 259660 1 000000003239e2c1 100 0 0 10 0\n"
	"   2: FE800000000000000000000000000001:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 259656 1 00000000afe89b8d 100 0 0 10 0\n"
	"   3: FD7A115CA1E000000000000000000002:20FB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 259657 1 00000000e75198c1 100 0 0 10 0\n";

static void assert_known_addresses(void)
{
	assert_listener("tcp", "100.64.0.2", 8080, 0, "");
	assert_listener("tcp", "127.0.0.1", 5000, 0, "");
	assert_listener("tcp", "::1", 631, 0, "");
	assert_listener("tcp", "::ffff:127.0.0.1", 9000, 0, "");
	assert_listener("tcp", "fe80::1", 22, 0, "");
	assert_listener("tcp", "fd7a:115c:a1e0::2", 8443, 0, "");
}

Test(port, proc_net_little_endian_known_addresses)
{
	cr_assert_eq(md_port_parse_proc_net(proc_tcp_le, "tcp", false, &L, NULL), MD_OK);
	cr_assert_eq(md_port_parse_proc_net(proc_tcp6_le, "tcp6", false, &L, NULL), MD_OK);
	cr_assert_eq(L.n, 6, "listeners: %zu", L.n);
	assert_known_addresses();
}

Test(port, proc_net_big_endian_known_addresses)
{
	cr_assert_eq(md_port_parse_proc_net(proc_tcp_be, "tcp", true, &L, NULL), MD_OK);
	cr_assert_eq(md_port_parse_proc_net(proc_tcp6_be, "tcp6", true, &L, NULL), MD_OK);
	cr_assert_eq(L.n, 6, "listeners: %zu", L.n);
	assert_known_addresses();
}

Test(port, byte_order_of_this_machine)
{
	cr_assert_eq(md_port_host_big_endian(), __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__);
}

/* ==== the /proc/net fallback's output ==================================================== */

/* What the fallback prints for the byte order: od's number, or after a failed od, dd's
 * copy of the byte itself. */
#define ELF_OD_LE "## elf od\n   1\n"
#define ELF_OD_BE "## elf od\n   2\n"
#define ELF_DD_LE "## elf od\n## elf dd\n\x01\n"
#define ELF_DD_BE "## elf od\n## elf dd\n\x02\n"
#define ELF_NONE "## elf od\n## elf dd\n\n"

static char cat_buf[8192];

/* The byte-order lines, the four sections (NULL: the file does not exist; "!":
 * unreadable) and, with end, the marker. */
static const char *proc_cat(const char *elf, const char *tcp, const char *tcp6,
			    const char *udp, const char *udp6, bool end)
{
	const char *body[4] = { tcp, tcp6, udp, udp6 };
	static const char *const kinds[4] = { "tcp", "tcp6", "udp", "udp6" };
	size_t n = (size_t)snprintf(cat_buf, sizeof(cat_buf), "%s", elf);

	for (size_t k = 0; k < 4; k++)
		n += (size_t)snprintf(cat_buf + n, sizeof(cat_buf) - n, "## %s\n%s", kinds[k],
				      !body[k] ? "" : strcmp(body[k], "!") ? body[k] : "## unreadable\n");
	if (end)
		snprintf(cat_buf + n, sizeof(cat_buf) - n, MD_PORT_END_MARKER "\n");
	return cat_buf;
}

struct order_case {
	char elf[48];
	bool big;
	char order[80];
};

ParameterizedTestParameters(port, proc_cat_reads_the_byte_order_from_the_elf_header)
{
	static struct order_case cases[] = {
		{ ELF_OD_LE, false, "EI_DATA 1 in the ELF header of /proc/self/exe, read with od" },
		{ ELF_OD_BE, true, "EI_DATA 2 in the ELF header of /proc/self/exe, read with od" },
		/* BusyBox od with trailing blanks, CRLF */
		{ "## elf od\n 2 \r\n", true, "EI_DATA 2 in the ELF header of /proc/self/exe, read with od" },
		{ ELF_DD_LE, false, "EI_DATA 1 in the ELF header of /proc/self/exe, read with dd" },
		{ ELF_DD_BE, true, "EI_DATA 2 in the ELF header of /proc/self/exe, read with dd" },
	};

	return cr_make_param_array(struct order_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct order_case *c, port, proc_cat_reads_the_byte_order_from_the_elf_header)
{
	char order[96];
	bool big = !c->big;

	md_listeners_init(&L);
	cr_assert_eq(md_port_parse_proc_cat(proc_cat(c->elf, c->big ? proc_tcp_be : proc_tcp_le,
						     c->big ? proc_tcp6_be : proc_tcp6_le, proc_udp,
						     NULL, true),
					    &L, &big, order, sizeof(order), NULL),
		     MD_OK, "%s", cat_buf);
	cr_assert_eq(big, c->big, "%s", c->elf);
	cr_assert_str_eq(order, c->order);
	assert_known_addresses();
}

struct unknown_order_case {
	char elf[64];
	char label[48];
};

ParameterizedTestParameters(port, proc_cat_without_a_byte_order_assumes_little_endian)
{
	static struct unknown_order_case cases[] = {
		{ ELF_NONE, "od and dd both failed" },
		{ "", "no byte-order lines at all" },
		/* not an EI_DATA value: ELFDATANONE, od's other formats, text from dd */
		{ "## elf od\n   0\n", "EI_DATA 0" },
		{ "## elf od\n0000000 002\n", "od -b output" },
		{ "## elf od\n## elf dd\n2\n", "text where dd gives a byte" },
		{ "## elf od\n\x02\n", "a byte where od gives text" },
		{ "## elf od\n   12\n", "two digits" },
	};

	return cr_make_param_array(struct unknown_order_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct unknown_order_case *c, port, proc_cat_without_a_byte_order_assumes_little_endian)
{
	char order[96];
	bool big = true;

	md_listeners_init(&L);
	cr_assert_eq(md_port_parse_proc_cat(proc_cat(c->elf, proc_tcp_le, proc_tcp6_le, proc_udp, NULL, true),
					    &L, &big, order, sizeof(order), NULL),
		     MD_OK, "%s", c->label);
	cr_assert(!big, "%s", c->label);
	cr_assert_str_eq(order, "byte order unknown: the ELF header of /proc/self/exe could not be read",
			 "%s", c->label);
	assert_known_addresses();
}

Test(port, proc_cat_without_ipv6_tables_is_complete)
{
	char order[96];
	bool big;

	cr_assert_eq(md_port_parse_proc_cat(proc_cat(ELF_OD_LE, proc_tcp, NULL, proc_udp, NULL, true), &L,
					    &big, order, sizeof(order), NULL),
		     MD_OK);
	assert_listener("tcp", "0.0.0.0", 22, 0, "");
}

struct cat_case {
	bool tcp, tcp_unreadable, udp, end;
	char want[64];
};

ParameterizedTestParameters(port, proc_cat_incomplete)
{
	static struct cat_case cases[] = {
		{ true, false, true, false, "ends without \"## end of listeners\"" },
		{ false, false, true, true, "no /proc/net/tcp in the output" },
		{ true, true, true, true, "/proc/net/tcp exists but could not be read" },
		{ true, false, false, true, "no /proc/net/udp in the output" },
	};

	return cr_make_param_array(struct cat_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct cat_case *c, port, proc_cat_incomplete)
{
	char order[96];
	bool big;
	struct md_err e = { 0 };
	const char *text = proc_cat(ELF_OD_LE, c->tcp ? (c->tcp_unreadable ? "!" : proc_tcp) : NULL,
				    proc_tcp6, c->udp ? proc_udp : NULL, proc_udp6, c->end);

	md_listeners_init(&L);
	cr_assert_eq(md_port_parse_proc_cat(text, &L, &big, order, sizeof(order), &e), MD_EPARSE,
		     "%s", text);
	cr_assert(strstr(e.msg, c->want), "message \"%s\" lacks %s", e.msg, c->want);
}

/* cat printed part of /proc/net/tcp, with no newline after its last line, then failed. */
Test(port, proc_cat_unreadable_marker_glued_to_a_partial_line)
{
	char order[96];
	bool big;
	struct md_err e = { 0 };
	const char *text = proc_cat(ELF_OD_LE,
				    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
				    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 11873 1 00000000daaef4c8 100 0 0 10 0\n"
				    "   1: 00000000:0016 00000000:0000 0A 0000## unreadable\n",
				    proc_tcp6, proc_udp, proc_udp6, true);

	cr_assert_eq(md_port_parse_proc_cat(text, &L, &big, order, sizeof(order), &e), MD_EPARSE,
		     "%s", text);
	cr_assert(strstr(e.msg, "/proc/net/tcp exists but could not be read"), "%s", e.msg);
}

/* The fallback command itself, run by /bin/sh on this machine (no network): with this
 * machine's od, and with an od that fails (BusyBox without CONFIG_DESKTOP rejects -t, -j
 * and -N), which leaves the byte order to dd.  fake_bin: a directory put first in PATH. */
static char *run_proc_cat_here(const char *fake_bin)
{
	char *cmd = NULL, *out = NULL;
	size_t cap = 0, len = 0;
	FILE *p;

	cr_assert_geq(asprintf(&cmd, "PATH='%s':\"$PATH\"; %s", fake_bin ? fake_bin : "",
			       md_port_proc_cat_command()), 0);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	for (;;) {
		char chunk[4096];
		size_t got = fread(chunk, 1, sizeof(chunk), p);
		char *grown;

		if (!got)
			break;
		grown = realloc(out, cap = len + got + 1);
		cr_assert_not_null(grown);
		out = grown;
		memcpy(out + len, chunk, got);
		len += got;
	}
	pclose(p);
	free(cmd);
	cr_assert_not_null(out, "no output");
	out[len] = '\0';
	(void)cap;
	return out;
}

static char fake_dir[64];

static void fake_bin(const char *name, const char *script)
{
	char path[128];
	FILE *f;

	if (!fake_dir[0]) {
		snprintf(fake_dir, sizeof(fake_dir), "/tmp/md-port-bin.XXXXXX");
		cr_assert_not_null(mkdtemp(fake_dir));
	}
	snprintf(path, sizeof(path), "%s/%s", fake_dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", script);
	fclose(f);
	cr_assert_eq(chmod(path, 0755), 0);
}

static void remove_fake_bin(void)
{
	char cmd[128];

	if (!fake_dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fake_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", fake_dir);
	fake_dir[0] = '\0';
}

Test(port, fallback_command_reads_this_machines_byte_order)
{
	char order[96], want[96], *out;
	bool big = !md_port_host_big_endian();
	int ei_data = md_port_host_big_endian() ? 2 : 1;

	md_listeners_init(&L);
	out = run_proc_cat_here(NULL);
	cr_assert_eq(md_port_parse_proc_cat(out, &L, &big, order, sizeof(order), NULL), MD_OK, "%s", out);
	cr_assert_eq(big, md_port_host_big_endian());
	snprintf(want, sizeof(want), "EI_DATA %d in the ELF header of /proc/self/exe, read with od", ei_data);
	cr_assert_str_eq(order, want, "%s", out);
	free(out);
	/* An od without -t (or none): dd copies the byte. */
	fake_bin("od", "echo 'od: invalid option -- A' >&2; exit 1");
	md_listeners_cleanup(&L);
	out = run_proc_cat_here(fake_dir);
	big = !md_port_host_big_endian();
	cr_assert_eq(md_port_parse_proc_cat(out, &L, &big, order, sizeof(order), NULL), MD_OK, "%s", out);
	cr_assert_eq(big, md_port_host_big_endian());
	snprintf(want, sizeof(want), "EI_DATA %d in the ELF header of /proc/self/exe, read with dd", ei_data);
	cr_assert_str_eq(order, want, "%s", out);
	free(out);
}

Test(port, fallback_command_marks_a_table_cat_left_half_read)
{
	char order[96], *out;
	bool big;
	struct md_err e = { 0 };

	/* A cat that prints the start of /proc/net/tcp, no newline, then fails. */
	fake_bin("cat", "case \"$1\" in */tcp) printf '  sl  local_address rem'; exit 1 ;; esac\n"
			"exec /bin/cat \"$@\"");
	out = run_proc_cat_here(fake_dir);
	cr_assert_eq(md_port_parse_proc_cat(out, &L, &big, order, sizeof(order), &e), MD_EPARSE, "%s", out);
	cr_assert(strstr(e.msg, "/proc/net/tcp exists but could not be read"), "%s\n%s", e.msg, out);
	cr_assert(strstr(out, "  sl  local_address rem\n## unreadable\n"), "the marker on a line of its own:\n%s", out);
	free(out);
}

Test(port, proc_net_without_header_is_a_parse_error)
{
	struct md_err e = { 0 };

	cr_assert_eq(md_port_parse_proc_net("garbage\n", "tcp", false, &L, &e), MD_EPARSE);
	cr_assert(strstr(e.msg, "/proc/net/tcp"), "%s", e.msg);
	cr_assert_eq(md_port_parse_proc_net("", "udp", false, &L, NULL), MD_EPARSE);
}

Test(port, socket_inode_from_an_fd_link)
{
	cr_assert_eq(md_port_socket_inode("socket:[11870]"), 11870ul);
	cr_assert_eq(md_port_socket_inode("pipe:[11819]"), 0ul);
	cr_assert_eq(md_port_socket_inode("/dev/null"), 0ul);
	cr_assert_eq(md_port_socket_inode("socket:[12"), 0ul);
}

/* ==== ss, netstat, PowerShell ========================================================= */

static const char ss_out[] =
	"Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess                         \n"
	"udp   UNCONN 0      0            0.0.0.0:41641      0.0.0.0:*    users:((\"socat\",pid=7130,fd=5))\n"
	"udp   UNCONN 0      0                  *:5353             *:*    users:((\"socat\",pid=7131,fd=5))\n"
	"tcp   LISTEN 0      5          127.0.0.1:8080       0.0.0.0:*    users:((\"socat\",pid=7129,fd=5))\n"
	"tcp   LISTEN 0      5            0.0.0.0:22         0.0.0.0:*    users:((\"sshd\",pid=640,fd=3),(\"sshd\",pid=641,fd=3))\n"
	"tcp   LISTEN 0      5               [::]:443           [::]:*    users:((\"socat\",pid=7128,fd=5))\n"
	/* as a non-root user sees it: no process column; scoped addresses */
	"tcp   LISTEN 0      4096   127.0.0.53%lo:53         0.0.0.0:*          \n"
	"udp   UNCONN 0      0      [fe80::1%eth0]:123          [::]:*          \n";

Test(port, ss_output_gives_listeners_and_owning_processes)
{
	cr_assert_eq(md_port_parse_ss(ss_out, &L, NULL), MD_OK);
	cr_assert_eq(L.n, 7, "listeners: %zu", L.n);
	assert_listener("udp", "0.0.0.0", 41641, 7130, "socat");
	assert_listener("udp", "*", 5353, 7131, "socat");
	assert_listener("tcp", "127.0.0.1", 8080, 7129, "socat");
	assert_listener("tcp", "0.0.0.0", 22, 640, "sshd");
	assert_listener("tcp", "::", 443, 7128, "socat");
	assert_listener("tcp", "127.0.0.53", 53, 0, "");
	assert_listener("udp", "fe80::1", 123, 0, "");
}

/* The process of each row comes from that row only, never from a later one. */
static const char ss_some_users[] =
	"Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\n"
	/* no process column (another user's socket) */
	"tcp   LISTEN 0      128          0.0.0.0:22         0.0.0.0:*\n"
	/* cut short inside the name: no closing quote on this line */
	"tcp   LISTEN 0      128          0.0.0.0:25         0.0.0.0:*    users:((\"exi\n"
	/* a name without pid= */
	"tcp   LISTEN 0      128          0.0.0.0:53         0.0.0.0:*    users:((\"dnsmasq\"))\n"
	"tcp   LISTEN 0      128          0.0.0.0:80         0.0.0.0:*    users:((\"nginx\",pid=812,fd=6))\n";

Test(port, ss_process_names_come_from_their_own_line)
{
	cr_assert_eq(md_port_parse_ss(ss_some_users, &L, NULL), MD_OK);
	cr_assert_eq(L.n, 4, "listeners: %zu", L.n);
	assert_listener("tcp", "0.0.0.0", 22, 0, "");
	assert_listener("tcp", "0.0.0.0", 25, 0, "");
	assert_listener("tcp", "0.0.0.0", 53, 0, "dnsmasq");
	assert_listener("tcp", "0.0.0.0", 80, 812, "nginx");
}

/* Captured: sockets bound to an interface (a link-local address, SO_BINDTODEVICE). */
static const char ss_scoped[] =
	"Netid State  Recv-Q Send-Q       Local Address:Port Peer Address:PortProcess                            \n"
	"udp   UNCONN 0      0         [fe80::1]%mdcap0:546          [::]:*    users:((\"python3\",pid=7202,fd=12))\n"
	"tcp   LISTEN 0      128             100.64.0.2:8080      0.0.0.0:*    users:((\"python3\",pid=7202,fd=8)) \n"
	"tcp   LISTEN 0      128         0.0.0.0%mdcap0:68        0.0.0.0:*    users:((\"python3\",pid=7202,fd=9)) \n"
	"tcp   LISTEN 0      128              127.0.0.1:5000      0.0.0.0:*    users:((\"python3\",pid=7202,fd=11))\n"
	"tcp   LISTEN 0      128                  [::1]:631          [::]:*    users:((\"python3\",pid=7202,fd=6)) \n"
	"tcp   LISTEN 0      128     [::ffff:127.0.0.1]:9000            *:*    users:((\"python3\",pid=7202,fd=7)) \n"
	"tcp   LISTEN 0      128       [fe80::1]%mdcap0:22           [::]:*    users:((\"python3\",pid=7202,fd=3)) \n"
	"tcp   LISTEN 0      128    [fd7a:115c:a1e0::2]:8443         [::]:*    users:((\"python3\",pid=7202,fd=4)) \n"
	"tcp   LISTEN 0      128                      *:443             *:*    users:((\"python3\",pid=7202,fd=5)) \n";

/* iproute2 before IPv6 addresses were bracketed. */
static const char ss_old[] =
	"Netid  State      Recv-Q Send-Q Local Address:Port               Peer Address:Port              \n"
	"tcp    LISTEN     0      128          :::22                      :::*                  \n"
	"tcp    LISTEN     0      128         ::1:631                     :::*                  \n"
	"udp    UNCONN     0      0      fe80::1%eth0:123                 :::*                  \n";

static void assert_scope(const char *proto, int port, const char *scope)
{
	const struct md_listener *x = md_listeners_find(&L, proto, port);

	cr_assert_not_null(x, "no %s listener on port %d", proto, port);
	cr_assert_str_eq(x->scope, scope, "%s/%d: scope \"%s\", want \"%s\"", proto, port, x->scope,
			 scope);
}

Test(port, ss_scoped_addresses_split_into_address_interface_and_port)
{
	cr_assert_eq(md_port_parse_ss(ss_scoped, &L, NULL), MD_OK);
	cr_assert_eq(L.n, 9, "listeners: %zu", L.n);
	assert_listener("udp", "fe80::1", 546, 7202, "python3");
	assert_scope("udp", 546, "mdcap0");
	assert_listener("tcp", "fe80::1", 22, 7202, "python3");
	assert_scope("tcp", 22, "mdcap0");
	assert_listener("tcp", "0.0.0.0", 68, 7202, "python3");
	assert_scope("tcp", 68, "mdcap0");
	assert_listener("tcp", "100.64.0.2", 8080, 7202, "python3");
	assert_scope("tcp", 8080, "");
	assert_listener("tcp", "::1", 631, 7202, "python3");
	assert_listener("tcp", "::ffff:127.0.0.1", 9000, 7202, "python3");
	assert_listener("tcp", "fd7a:115c:a1e0::2", 8443, 7202, "python3");
	assert_scope("tcp", 8443, "");
	assert_listener("tcp", "*", 443, 7202, "python3");
}

Test(port, ss_zone_inside_brackets_and_older_unbracketed_output)
{
	cr_assert_eq(md_port_parse_ss(ss_out, &L, NULL), MD_OK);
	assert_scope("udp", 123, "eth0"); /* [fe80::1%eth0]:123 */
	assert_scope("tcp", 53, "lo");    /* 127.0.0.53%lo:53 */
	md_listeners_cleanup(&L);
	cr_assert_eq(md_port_parse_ss(ss_old, &L, NULL), MD_OK);
	cr_assert_eq(L.n, 3, "listeners: %zu", L.n);
	assert_listener("tcp", "::", 22, 0, "");
	assert_listener("tcp", "::1", 631, 0, "");
	assert_listener("udp", "fe80::1", 123, 0, "");
	assert_scope("udp", 123, "eth0");
}

Test(port, scoped_listener_in_the_table)
{
	char *j;

	cr_assert_eq(md_port_parse_ss(ss_scoped, &L, NULL), MD_OK);
	j = md_listeners_json(&L);
	cr_assert_not_null(j);
	cr_assert(strstr(j, "{\"proto\":\"tcp\",\"addr\":\"fe80::1\",\"scope\":\"mdcap0\",\"port\":22,"), "%s", j);
	cr_assert(strstr(j, "{\"proto\":\"tcp\",\"addr\":\"100.64.0.2\",\"scope\":null,\"port\":8080,"), "%s", j);
	free(j);
}

Test(port, ss_output_without_header_is_a_parse_error)
{
	cr_assert_eq(md_port_parse_ss("bash: ss: command not found\n", &L, NULL), MD_EPARSE);
}

static const char netstat_darwin[] =
	"Active Internet connections (including servers)\n"
	"Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)    \n"
	"tcp4       0      0  100.102.226.62.52144   100.88.14.7.22         ESTABLISHED\n"
	"tcp4       0      0  *.443                  *.*                    LISTEN     \n"
	"tcp6       0      0  *.443                  *.*                    LISTEN     \n"
	"tcp4       0      0  127.0.0.1.18080        *.*                    LISTEN     \n"
	"tcp6       0      0  fe80::1%lo0.631        *.*                    LISTEN     \n"
	"udp4       0      0  *.41641                *.*                               \n"
	"udp4       0      0  192.168.1.23.58123     17.253.4.125.123                  \n"
	"Active LOCAL (UNIX) domain sockets\n"
	"Address          Type   Recv-Q Send-Q            Inode             Conn             Refs          Nextref Addr\n"
	"9a1c1f2b9e2e7a3d stream      0      0                0 9a1c1f2b9e2e7b05                0                0 /var/run/mDNSResponder\n";

Test(port, macos_netstat_shows_the_seeds_443_listeners)
{
	cr_assert_eq(md_port_parse_netstat_darwin(netstat_darwin, &L, NULL), MD_OK);
	cr_assert_eq(L.n, 4, "listeners: %zu", L.n);
	assert_listener("tcp", "*", 443, 0, "");
	assert_listener("tcp", "127.0.0.1", 18080, 0, "");
	assert_listener("tcp", "fe80::1", 631, 0, "");
	assert_listener("udp", "*", 41641, 0, "");
	cr_assert_null(md_listeners_find(&L, "tcp", 52144));
	cr_assert_null(md_listeners_find(&L, "udp", 58123), "a connected UDP socket is not a listener");
}

static const char windows_out[] =
	"tcp 0.0.0.0 22 3456 sshd\r\n"
	"tcp :: 22 3456 sshd\r\n"
	"tcp 100.64.0.3 443 2920 tailscaled\r\n"
	"udp 0.0.0.0 41641 2920 tailscaled\r\n"
	"udp :: 5353 1876 svchost\r\n"
	"\r\n";

Test(port, windows_powershell_lines_with_crlf)
{
	cr_assert_eq(md_port_parse_windows(windows_out, &L, NULL), MD_OK);
	cr_assert_eq(L.n, 5, "listeners: %zu", L.n);
	assert_listener("tcp", "0.0.0.0", 22, 3456, "sshd");
	assert_listener("tcp", "100.64.0.3", 443, 2920, "tailscaled");
	assert_listener("udp", "0.0.0.0", 41641, 2920, "tailscaled");
}

Test(port, windows_link_local_zone_goes_to_scope)
{
	char *j;

	cr_assert_eq(md_port_parse_windows("tcp fe80::1%12 22 3456 sshd\r\n"
					   "udp fe80::5c2a:1bff:fe3e:7a01%7 5353 1876 svchost\r\n"
					   "tcp ::1 8080 900 headscale\r\n",
					   &L, NULL),
		     MD_OK);
	cr_assert_eq(L.n, 3, "listeners: %zu", L.n);
	assert_listener("tcp", "fe80::1", 22, 3456, "sshd");
	assert_scope("tcp", 22, "12");
	assert_listener("udp", "fe80::5c2a:1bff:fe3e:7a01", 5353, 1876, "svchost");
	assert_scope("udp", 5353, "7");
	assert_scope("tcp", 8080, "");
	j = md_listeners_json(&L);
	cr_assert_not_null(j);
	cr_assert(strstr(j, "{\"proto\":\"tcp\",\"addr\":\"fe80::1\",\"scope\":\"12\",\"port\":22,"), "%s", j);
	free(j);
}

Test(port, powershell_encoded_command_is_utf16le_base64)
{
	char *enc = NULL;
	unsigned char dec[8192];
	const char *script = md_port_windows_script();
	int n;

	/* `[Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes('Get-Date'))` */
	cr_assert_eq(md_hostcmd_encode_powershell("Get-Date", &enc, NULL), MD_OK);
	cr_assert_str_eq(enc, "RwBlAHQALQBEAGEAdABlAA==");
	free(enc);
	/* The real script survives the round trip. */
	cr_assert_eq(md_hostcmd_encode_powershell(script, &enc, NULL), MD_OK);
	n = EVP_DecodeBlock(dec, (const unsigned char *)enc, (int)strlen(enc));
	cr_assert_geq(n, (int)strlen(script) * 2);
	for (size_t i = 0; i < strlen(script); i++)
		cr_assert(dec[2 * i] == (unsigned char)script[i] && dec[2 * i + 1] == 0, "char %zu", i);
	cr_assert(strstr(script, "Get-NetTCPConnection -State Listen"));
	cr_assert(strstr(script, "Get-NetUDPEndpoint"));
	free(enc);
	/* UTF-8 becomes UTF-16LE: [Text.Encoding]::Unicode.GetBytes('caf\u00e9') */
	cr_assert_eq(md_hostcmd_encode_powershell("caf\xc3\xa9", &enc, NULL), MD_OK);
	cr_assert_str_eq(enc, "YwBhAGYA6QA=");
	free(enc);
	cr_assert_eq(md_hostcmd_encode_powershell("caf\xc3", &enc, NULL), MD_EINVAL, "cut UTF-8");
	cr_assert_null(enc);
}

/* ==== --port-list ====================================================================== */

Test(port, port_list_accepts_ports_ranges_and_protocols)
{
	struct md_port_spec v[32];
	size_t n = 0;

	cr_assert_eq(md_port_parse_list("8443, 5000/udp,9000-9002,53/tcp,8443", v, 32, &n, NULL),
		     MD_OK);
	cr_assert_eq(n, 6, "n = %zu", n);
	cr_assert(v[0].port == 8443 && !v[0].udp);
	cr_assert(v[1].port == 5000 && v[1].udp);
	cr_assert(v[2].port == 9000 && v[4].port == 9002);
	cr_assert(v[5].port == 53 && !v[5].udp);
}

struct bad_list {
	char s[32];
	char want[40];
};

ParameterizedTestParameters(port, port_list_rejects)
{
	static struct bad_list cases[] = {
		{ "0", "\"0\"" }, { "70000", "\"70000\"" }, { "5-3", "\"5-3\"" }, { "x", "\"x\"" },
		{ "22/sctp", "protocol must be tcp or udp" }, { "1-", "\"1-\"" }, { "22a", "\"22a\"" },
	};

	return cr_make_param_array(struct bad_list, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_list *c, port, port_list_rejects)
{
	struct md_port_spec v[8];
	size_t n = 0;
	struct md_err e = { 0 };

	cr_assert_eq(md_port_parse_list(c->s, v, 8, &n, &e), MD_EINVAL, "input \"%s\"", c->s);
	cr_assert(strstr(e.msg, c->want), "input \"%s\": message \"%s\" lacks %s", c->s, e.msg,
		  c->want);
}

Test(port, port_list_over_the_cap_is_an_error)
{
	struct md_port_spec v[4];
	size_t n = 0;
	struct md_err e = { 0 };

	cr_assert_eq(md_port_parse_list("1-10", v, 4, &n, &e), MD_EINVAL);
	cr_assert(strstr(e.msg, "more than 4"), "%s", e.msg);
}

Test(port, listener_table_json)
{
	char *j;

	cr_assert_eq(md_port_parse_ss(ss_out, &L, NULL), MD_OK);
	j = md_listeners_json(&L);
	cr_assert_not_null(j);
	cr_assert(strstr(j, "{\"proto\":\"tcp\",\"addr\":\"0.0.0.0\",\"scope\":null,\"port\":22,"
			    "\"pid\":640,\"process\":\"sshd\"}"), "%s", j);
	cr_assert(strstr(j, "\"addr\":\"127.0.0.53\",\"scope\":\"lo\",\"port\":53,\"pid\":null,"
			    "\"process\":null"), "%s", j);
	free(j);
}

/* ==== the probe over a replay session ================================================== */

static int run_probe(const struct md_replay_entry *e, size_t n, const char *os,
		     struct md_facts *f, struct md_err *err)
{
	struct md_session *s = md_session_new_replay(e, n, os);
	struct md_options o = { .timeout_ms = 2000 };
	struct md_ctx ctx = {
		.target = NULL, /* no host: the active checks are skipped, no network */
		.session = s,
		.deadline = md_deadline_after(md_now_ms(), 2000),
		.opt = &o,
	};
	int rc;

	cr_assert_not_null(s);
	rc = probe_port.run(&ctx, f, err);
	md_session_free(s);
	return rc;
}

/* text followed by the end marker the listing commands print (a fresh static buffer per
 * slot, so that several can be live in one replay table). */
static const char *done(int slot, const char *text)
{
	static char buf[3][8192];

	snprintf(buf[slot], sizeof(buf[slot]), "%s" MD_PORT_END_MARKER "\n", text);
	return buf[slot];
}

static const char *fact_text(const struct md_facts *f, const char *name, char *buf, size_t len)
{
	const struct md_fact *x = md_facts_get(f, name);

	if (!x)
		return NULL;
	md_fact_value_text(x, buf, len, false);
	return buf;
}

#define assert_fact(f, name, want)                                                            \
	do {                                                                                  \
		char b_[256];                                                                 \
		const char *v_ = fact_text(f, name, b_, sizeof(b_));                          \
		cr_assert_not_null(v_, "fact %s missing", name);                              \
		cr_assert_str_eq(v_, want, "fact %s = \"%s\", want \"%s\"", name, v_, want);   \
	} while (0)

Test(port, linux_listeners_over_ssh_become_listen_facts)
{
	const struct md_replay_entry e[] = { { "ss -ltnup", 0, done(0, ss_out), "", false } };
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(run_probe(e, 1, "linux", &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "port.listeners_source", "ss -ltnup");
	assert_fact(&f, "port.listeners", "7");
	assert_fact(&f, "port.listen.tcp.22", "true");
	assert_fact(&f, "port.listen.tcp.443", "true");
	assert_fact(&f, "port.listen.tcp.8080", "true");
	assert_fact(&f, "port.listen.tcp.2222", "false");
	assert_fact(&f, "port.listen.udp.41641", "true");
	assert_fact(&f, "port.addr", "unresolved");
	cr_assert(strstr(md_facts_get(&f, "port.listen.tcp.22")->evidence,
			 "tcp 0.0.0.0:22 (pid 640 sshd)"), "%s",
		  md_facts_get(&f, "port.listen.tcp.22")->evidence);
	cr_assert_null(md_facts_get(&f, "port.tcp.22"), "no active check without a target");
	cr_assert_eq(f.n_tables, 2, "tables: %zu", f.n_tables); /* local_listeners, listeners */
	md_facts_cleanup(&f);
}

Test(port, linux_without_ss_falls_back_to_proc_net)
{
	const struct md_replay_entry e[] = {
		{ "ss -ltnup", 127, "", "bash: ss: command not found\n", false },
		{ md_port_proc_cat_command(), 0,
		  proc_cat(ELF_OD_LE, proc_tcp, proc_tcp6, proc_udp, proc_udp6, true), "", false },
	};
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(run_probe(e, 2, "linux", &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "port.listeners_source", "cat /proc/net/{tcp,tcp6,udp,udp6}");
	cr_assert(strstr(md_facts_get(&f, "port.listeners_source")->evidence,
			 "; addresses read as little-endian (EI_DATA 1 in the ELF header of "
			 "/proc/self/exe, read with od)"), "%s",
		  md_facts_get(&f, "port.listeners_source")->evidence);
	assert_fact(&f, "port.listeners", "6");
	assert_fact(&f, "port.listen.tcp.443", "true");
	assert_fact(&f, "port.listen.udp.41641", "true");
	assert_fact(&f, "port.listen.tcp.2222", "false");
	md_facts_cleanup(&f);
}

Test(port, big_endian_remote_proc_net_names_the_right_addresses)
{
	const struct md_replay_entry e[] = {
		{ "ss -ltnup", 127, "", "sh: ss: not found\n", false },
		{ md_port_proc_cat_command(), 0,
		  proc_cat(ELF_DD_BE, proc_tcp_be, proc_tcp6_be, proc_udp, NULL, true), "", false },
	};
	struct md_facts f;
	struct md_err err = { 0 };
	const char *ev;

	md_facts_init(&f);
	cr_assert_eq(run_probe(e, 2, "linux", &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "port.listen.tcp.8080", "true");
	ev = md_facts_get(&f, "port.listen.tcp.8080")->evidence;
	cr_assert(strstr(ev, "tcp 100.64.0.2:8080"), "%s", ev);
	ev = md_facts_get(&f, "port.listen.tcp.22")->evidence;
	cr_assert(strstr(ev, "tcp [fe80::1]:22"), "%s", ev);
	ev = md_facts_get(&f, "port.listeners_source")->evidence;
	cr_assert(strstr(ev, "; addresses read as big-endian (EI_DATA 2 in the ELF header of "
			 "/proc/self/exe, read with dd)"), "%s", ev);
	md_facts_cleanup(&f);
}

Test(port, unreadable_remote_proc_net_is_incomplete_not_empty)
{
	const struct md_replay_entry e[] = {
		{ "ss -ltnup", 127, "", "sh: ss: not found\n", false },
		{ md_port_proc_cat_command(), 0, proc_cat(ELF_OD_LE, "!", proc_tcp6, proc_udp, proc_udp6, true),
		  "cat: /proc/net/tcp: Permission denied\n", false },
	};
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(run_probe(e, 2, "linux", &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "port.listeners_source", "incomplete");
	cr_assert(strstr(md_facts_get(&f, "port.listeners_source")->evidence,
			 "/proc/net/tcp exists but could not be read"), "%s",
		  md_facts_get(&f, "port.listeners_source")->evidence);
	cr_assert_null(md_facts_get(&f, "port.listen.tcp.22"));
	cr_assert_null(md_facts_get(&f, "port.listeners"));
	md_facts_cleanup(&f);
}

Test(port, linux_ss_output_without_the_end_marker_is_incomplete)
{
	/* Exit 0, but the table stops after two rows: nothing may be concluded about 22. */
	const struct md_replay_entry e[] = {
		{ "ss -ltnup", 0,
		  "Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\n"
		  "udp   UNCONN 0      0            0.0.0.0:41641      0.0.0.0:*\n",
		  "", false },
	};
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(run_probe(e, 1, "linux", &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "port.listeners_source", "incomplete");
	cr_assert(strstr(md_facts_get(&f, "port.listeners_source")->evidence,
			 "ss -ltnup: exit 0, but the output (2 lines) ends without \"## end of listeners\""),
		  "%s", md_facts_get(&f, "port.listeners_source")->evidence);
	cr_assert_null(md_facts_get(&f, "port.listen.tcp.22"));
	cr_assert_null(md_facts_get(&f, "port.listen.udp.41641"));
	md_facts_cleanup(&f);
}

Test(port, scoped_listener_in_evidence)
{
	const struct md_replay_entry e[] = { { "ss -ltnup", 0, done(0, ss_scoped), "", false } };
	struct md_facts f;
	struct md_err err = { 0 };
	const char *ev;

	md_facts_init(&f);
	cr_assert_eq(run_probe(e, 1, "linux", &f, &err), MD_OK, "%s", err.msg);
	ev = md_facts_get(&f, "port.listen.tcp.22")->evidence;
	cr_assert_str_eq(ev, "ss -ltnup: tcp [fe80::1%mdcap0]:22 (pid 7202 python3)");
	md_facts_cleanup(&f);
}

Test(port, macos_listeners_over_ssh)
{
	const struct md_replay_entry e[] = { { "netstat -an", 0, done(0, netstat_darwin), "", false } };
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(run_probe(e, 1, "darwin", &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "port.listeners_source", "netstat -an");
	assert_fact(&f, "port.listen.tcp.443", "true");
	assert_fact(&f, "port.listen.tcp.22", "false");
	md_facts_cleanup(&f);
}

Test(port, macos_netstat_failing_or_cut_short_is_not_nothing_listening)
{
	const struct md_replay_entry cut[] = { { "netstat -an", 0, netstat_darwin, "", false } };
	const struct md_replay_entry failed[] = {
		{ "netstat -an", 1, netstat_darwin, "netstat: sysctl: net.inet.tcp.pcblist_n: Operation not permitted\n", false },
	};
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(run_probe(cut, 1, "darwin", &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "port.listeners_source", "incomplete");
	cr_assert_null(md_facts_get(&f, "port.listen.tcp.22"));
	md_facts_cleanup(&f);
	md_facts_init(&f);
	cr_assert_eq(run_probe(failed, 1, "darwin", &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "port.listeners_source", "failed");
	cr_assert(strstr(md_facts_get(&f, "port.listeners_source")->evidence, "netstat -an: exit 1: netstat: sysctl"),
		  "%s", md_facts_get(&f, "port.listeners_source")->evidence);
	cr_assert_null(md_facts_get(&f, "port.listen.tcp.22"));
	md_facts_cleanup(&f);
}

Test(port, windows_listeners_over_ssh_with_encoded_command)
{
	const struct md_replay_entry e[] = {
		{ "powershell -NoProfile -NonInteractive -EncodedCommand ", 0, done(0, windows_out), "", false },
	};
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(run_probe(e, 1, "windows", &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "port.listeners", "5");
	assert_fact(&f, "port.listen.tcp.443", "true");
	assert_fact(&f, "port.listen.tcp.8080", "false");
	md_facts_cleanup(&f);
}

struct win_case {
	char out[160];
	char label[40];
};

ParameterizedTestParameters(port, windows_output_without_the_end_marker)
{
	static struct win_case cases[] = {
		/* Get-NetTCPConnection missing or failing quietly: exit 0, no output at all. */
		{ "", "empty output" },
		{ "\r\n", "a blank line" },
		/* cut short after the TCP rows */
		{ "tcp 0.0.0.0 22 3456 sshd\r\ntcp :: 22 3456 sshd\r\n", "TCP rows only" },
	};

	return cr_make_param_array(struct win_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct win_case *c, port, windows_output_without_the_end_marker)
{
	const struct md_replay_entry e[] = {
		{ "powershell -NoProfile -NonInteractive -EncodedCommand ", 0, c->out, "", false },
	};
	struct md_facts f;
	struct md_err err = { 0 };
	const struct md_fact *src;

	md_facts_init(&f);
	cr_assert_eq(run_probe(e, 1, "windows", &f, &err), MD_OK, "%s", err.msg);
	src = md_facts_get(&f, "port.listeners_source");
	cr_assert_not_null(src);
	cr_assert_str_eq(src->str, "incomplete", "%s: %s", c->label, src->str);
	cr_assert(strstr(src->evidence, "ends without \"## end of listeners\""), "%s: %s", c->label,
		  src->evidence);
	cr_assert_null(md_facts_get(&f, "port.listen.tcp.22"), "%s", c->label);
	cr_assert_null(md_facts_get(&f, "port.listen.tcp.8080"), "%s: not \"nothing listens\"", c->label);
	cr_assert_null(md_facts_get(&f, "port.listeners"), "%s", c->label);
	md_facts_cleanup(&f);
}

Test(port, windows_script_ends_with_the_marker_only_after_both_cmdlets)
{
	const char *s = md_port_windows_script();
	const char *tcp = strstr(s, "Get-NetTCPConnection -State Listen");
	const char *udp = strstr(s, "Get-NetUDPEndpoint");
	const char *end = strstr(s, "'" MD_PORT_END_MARKER "'");

	cr_assert(strstr(s, "$ErrorActionPreference = 'Stop'"), "%s", s);
	cr_assert(strstr(s, "ObjectNotFound"), "no listener at all is not an error: %s", s);
	cr_assert(tcp && udp && end && tcp < end && udp < end, "%s", s);
	cr_assert_null(strstr(s, "SilentlyContinue'"), "no error may pass silently: %s", s);
}

Test(port, a_hanging_listing_is_a_fact_not_an_error)
{
	const struct md_replay_entry e[] = { { "ss -ltnup", 0, NULL, NULL, true } };
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(run_probe(e, 1, "linux", &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "port.listeners_source", "failed");
	cr_assert(strstr(md_facts_get(&f, "port.listeners_source")->evidence, "ss -ltnup"));
	cr_assert_null(md_facts_get(&f, "port.listen.tcp.22"));
	md_facts_cleanup(&f);
}

Test(port, a_bad_port_list_is_the_probes_error)
{
	struct md_session *s = md_session_new_replay(NULL, 0, "linux");
	struct md_options o = { .port_list = "22,nope" };
	struct md_ctx ctx = { .session = s, .deadline = md_deadline_after(md_now_ms(), 1000),
			      .opt = &o };
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(probe_port.run(&ctx, &f, &err), MD_EINVAL);
	cr_assert(strstr(err.msg, "nope"), "%s", err.msg);
	md_facts_cleanup(&f);
	md_session_free(s);
}

/* ==== port.rules ======================================================================= */

struct rule_case {
	char rule[48];
	char facts[256]; /* "name=value;..." (true/false -> bool, digits -> int, else string) */
	bool fires;
};

ParameterizedTestParameters(port, rules)
{
	static struct rule_case cases[] = {
		{ "port-ssh-answers-without-listener",
		  "port.addr=100.64.0.2;port.tcp.22=open;port.listen.tcp.22=false;port.listeners_source=ss -ltnup", true },
		{ "port-ssh-answers-without-listener", "port.tcp.22=open;port.listen.tcp.22=true", false },
		{ "port-serve-answers-without-listener",
		  "port.tcp.443=open;port.listen.tcp.443=false;tailscale.serve_configured=true", true },
		{ "port-serve-answers-without-listener",
		  "port.tcp.443=open;port.listen.tcp.443=false;tailscale.serve_configured=false", false },
		{ "port-listener-refused-22", "port.tcp.22=refused;port.listen.tcp.22=true", true },
		{ "port-listener-refused-443", "port.tcp.443=refused;port.listen.tcp.443=true", true },
		{ "port-listener-refused-8080", "port.tcp.8080=refused;port.listen.tcp.8080=true", true },
		{ "port-listener-refused-8080", "port.tcp.8080=refused;port.listen.tcp.8080=false", false },
		{ "port-listener-filtered-22", "port.tcp.22=filtered;port.listen.tcp.22=true", true },
		{ "port-listener-filtered-443", "port.tcp.443=filtered;port.listen.tcp.443=true", true },
		{ "port-listener-filtered-8080", "port.tcp.8080=filtered;port.listen.tcp.8080=true", true },
		{ "port-listener-filtered-8080", "port.tcp.8080=open;port.listen.tcp.8080=true", false },
	};

	return cr_make_param_array(struct rule_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct rule_case *c, port, rules)
{
	struct test_eval t;

	cr_assert_eq(test_eval_spec(&t, "rules/port.rules", "test", c->facts), 0, "%s", t.err.msg);
	cr_assert_eq((test_finding_index(&t.ev, c->rule) >= 0), c->fires, "%s with %s: fired %d, want %d", c->rule,
		     c->facts, !c->fires, c->fires);
	test_eval_cleanup(&t);
}

/* Every cause and advice of port.rules, as a report shows it: facts fill in as words, so a
 * bool fact must not stand in a sentence as "(true)", and an IPv6 address must not be
 * glued to a port ("fd7a::2:22" reads as one address). */
struct render_case {
	char rule[48];
	char facts[320];
};

#define RENDER_COMMON "port.addr=fd7a:115c:a1e0::2;port.listeners_source=ss -ltnup;"

ParameterizedTestParameters(port, rule_text_reads_as_sentences)
{
	static struct render_case cases[] = {
		{ "port-ssh-answers-without-listener", RENDER_COMMON "port.tcp.22=open;port.listen.tcp.22=false" },
		{ "port-serve-answers-without-listener",
		  RENDER_COMMON "port.tcp.443=open;port.listen.tcp.443=false;tailscale.serve_configured=true" },
		{ "port-listener-refused-22", RENDER_COMMON "port.tcp.22=refused;port.listen.tcp.22=true" },
		{ "port-listener-refused-443", RENDER_COMMON "port.tcp.443=refused;port.listen.tcp.443=true" },
		{ "port-listener-refused-8080", RENDER_COMMON "port.tcp.8080=refused;port.listen.tcp.8080=true" },
		{ "port-listener-filtered-22", RENDER_COMMON "port.tcp.22=filtered;port.listen.tcp.22=true" },
		{ "port-listener-filtered-443", RENDER_COMMON "port.tcp.443=filtered;port.listen.tcp.443=true" },
		{ "port-listener-filtered-8080", RENDER_COMMON "port.tcp.8080=filtered;port.listen.tcp.8080=true" },
	};

	return cr_make_param_array(struct render_case, cases, sizeof(cases) / sizeof(cases[0]));
}

static void assert_sentence(const char *rule, const char *what, const char *text)
{
	static const char *const bools[] = { "(true)", "(false)", " true ", " false ", " true,",
					     " false,", " true.", " false.", " true:", " false:" };

	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
		cr_assert_null(strstr(text, bools[i]), "%s %s shows a bool: %s", rule, what, text);
	cr_assert_null(strchr(text, '{'), "%s %s: a fact left unfilled: %s", rule, what, text);
	cr_assert_null(strstr(text, "fd7a:115c:a1e0::2:"), "%s %s: address glued to a port: %s", rule,
		       what, text);
}

ParameterizedTest(struct render_case *c, port, rule_text_reads_as_sentences)
{
	struct test_eval t;
	const struct md_finding *x;
	int i;

	cr_assert_eq(test_eval_spec(&t, "rules/port.rules", "test", c->facts), 0, "%s", t.err.msg);
	i = test_finding_index(&t.ev, c->rule);
	cr_assert_geq(i, 0, "%s did not fire with %s", c->rule, c->facts);
	x = &t.ev.findings[i];
	assert_sentence(c->rule, "cause", x->cause);
	for (size_t k = 0; k < x->n_advice; k++)
		assert_sentence(c->rule, "advice", x->advice[k]);
	test_eval_cleanup(&t);
}
