/* test_port.c — the port probe's parsers, its facts over a replay session, and port.rules.
 *
 * The /proc/net and `ss -ltnup` texts below were captured on this project's Debian 12
 * machine from real sockets (socat listeners in a network namespace: 127.0.0.1:8080,
 * 0.0.0.0:22, [::]:443, UDP 0.0.0.0:41641 and [::]:5353).  The macOS `netstat -an` lines
 * are the seed's (seeds/004_3ac6a098e1c6561c.txt, step 4) inside the full layout macOS
 * prints.  No network: the probe runs with no target host (no active checks) over a
 * replay session (core/session.h). */
#include "core/facts.h"
#include "core/session.h"
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

extern const struct md_probe probe_port;

static struct md_listeners L;

static void setup(void)
{
	md_listeners_init(&L);
}

static void teardown(void)
{
	md_listeners_cleanup(&L);
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
	cr_assert_eq(md_port_parse_proc_net(proc_tcp, "tcp", &L, NULL), MD_OK);
	cr_assert_eq(L.n, 2, "listeners: %zu", L.n);
	assert_listener("tcp", "127.0.0.1", 8080, 0, "");
	assert_listener("tcp", "0.0.0.0", 22, 0, "");
	cr_assert_eq(md_listeners_find(&L, "tcp", 8080)->inode, 11873ul);
	cr_assert_eq(md_listeners_find(&L, "tcp", 22)->inode, 11870ul);
}

Test(port, proc_net_tcp6_decodes_each_word_in_memory_order)
{
	cr_assert_eq(md_port_parse_proc_net(proc_tcp6, "tcp6", &L, NULL), MD_OK);
	cr_assert_eq(L.n, 2);
	assert_listener("tcp", "::", 443, 0, "");
	assert_listener("tcp", "::1", 8443, 0, "");
}

Test(port, proc_net_udp_keeps_unconnected_sockets_only)
{
	cr_assert_eq(md_port_parse_proc_net(proc_udp, "udp", &L, NULL), MD_OK);
	cr_assert_eq(md_port_parse_proc_net(proc_udp6, "udp6", &L, NULL), MD_OK);
	cr_assert_eq(L.n, 2, "listeners: %zu", L.n);
	assert_listener("udp", "0.0.0.0", 41641, 0, "");
	assert_listener("udp", "::", 5353, 0, "");
}

Test(port, proc_net_without_header_is_a_parse_error)
{
	struct md_err e = { 0 };

	cr_assert_eq(md_port_parse_proc_net("garbage\n", "tcp", &L, &e), MD_EPARSE);
	cr_assert(strstr(e.msg, "/proc/net/tcp"), "%s", e.msg);
	cr_assert_eq(md_port_parse_proc_net("", "udp", &L, NULL), MD_EPARSE);
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

Test(port, powershell_encoded_command_is_utf16le_base64)
{
	char *enc = NULL;
	unsigned char dec[8192];
	const char *script = md_port_windows_script();
	int n;

	/* `[Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes('Get-Date'))` */
	cr_assert_eq(md_port_encode_powershell("Get-Date", &enc, NULL), MD_OK);
	cr_assert_str_eq(enc, "RwBlAHQALQBEAGEAdABlAA==");
	free(enc);
	/* The real script survives the round trip. */
	cr_assert_eq(md_port_encode_powershell(script, &enc, NULL), MD_OK);
	n = EVP_DecodeBlock(dec, (const unsigned char *)enc, (int)strlen(enc));
	cr_assert_geq(n, (int)strlen(script) * 2);
	for (size_t i = 0; i < strlen(script); i++)
		cr_assert(dec[2 * i] == (unsigned char)script[i] && dec[2 * i + 1] == 0, "char %zu", i);
	cr_assert(strstr(script, "Get-NetTCPConnection -State Listen"));
	cr_assert(strstr(script, "Get-NetUDPEndpoint"));
	free(enc);
	cr_assert_eq(md_port_encode_powershell("caf\xc3\xa9", &enc, NULL), MD_EINVAL);
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
	cr_assert(strstr(j, "{\"proto\":\"tcp\",\"addr\":\"0.0.0.0\",\"port\":22,\"pid\":640,"
			    "\"process\":\"sshd\"}"), "%s", j);
	cr_assert(strstr(j, "\"addr\":\"127.0.0.53\",\"port\":53,\"pid\":null,\"process\":null"), "%s",
		  j);
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
	const struct md_replay_entry e[] = { { "ss -ltnup", 0, ss_out, "", false } };
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
	static char cat[4096];
	const struct md_replay_entry e[] = {
		{ "ss -ltnup", 127, "", "bash: ss: command not found\n", false },
		{ "for f in tcp tcp6 udp udp6", 0, cat, "", false },
	};
	struct md_facts f;
	struct md_err err = { 0 };

	snprintf(cat, sizeof(cat), "## tcp\n%s## tcp6\n%s## udp\n%s## udp6\n%s", proc_tcp,
		 proc_tcp6, proc_udp, proc_udp6);
	md_facts_init(&f);
	cr_assert_eq(run_probe(e, 2, "linux", &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "port.listeners_source", "cat /proc/net/{tcp,tcp6,udp,udp6}");
	assert_fact(&f, "port.listeners", "6");
	assert_fact(&f, "port.listen.tcp.443", "true");
	assert_fact(&f, "port.listen.udp.41641", "true");
	assert_fact(&f, "port.listen.tcp.2222", "false");
	md_facts_cleanup(&f);
}

Test(port, macos_listeners_over_ssh)
{
	const struct md_replay_entry e[] = { { "netstat -an", 0, netstat_darwin, "", false } };
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(run_probe(e, 1, "darwin", &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "port.listeners_source", "netstat -an");
	assert_fact(&f, "port.listen.tcp.443", "true");
	assert_fact(&f, "port.listen.tcp.22", "false");
	md_facts_cleanup(&f);
}

Test(port, windows_listeners_over_ssh_with_encoded_command)
{
	const struct md_replay_entry e[] = {
		{ "powershell -NoProfile -NonInteractive -EncodedCommand ", 0, windows_out, "", false },
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
	struct md_ruleset rs;
	struct md_facts f;
	struct md_evaluation ev = { 0 };
	struct md_err err = { 0 };

	md_ruleset_init(&rs);
	md_facts_init(&f);
	cr_assert_eq(md_rules_load_file(&rs, "rules/port.rules", &err), MD_OK, "%s", err.msg);
	cr_assert_eq(test_put_facts(&f, "test", c->facts), 0, "%s", c->facts);
	cr_assert_eq(md_rules_evaluate(&rs, &f, false, &ev), MD_OK);
	cr_assert_eq((test_finding_index(&ev, c->rule) >= 0), c->fires, "%s with %s: fired %d, want %d", c->rule,
		     c->facts, !c->fires, c->fires);
	md_evaluation_cleanup(&ev);
	md_facts_cleanup(&f);
	md_ruleset_cleanup(&rs);
}
