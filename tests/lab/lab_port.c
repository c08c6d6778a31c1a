/* lab_port.c — the port probe and rules/port.rules end to end, against real sockets.
 *
 * Each test builds two namespaces joined by a veth pair: the "host" (10.82.0.2) with
 * listeners (socat), nft rules that drop or redirect, and for one test an sshd; the client
 * (10.82.0.1) runs meshdoctor.  Cases: TCP open / refused / dropped by nft (filtered), UDP
 * closed (ICMP port unreachable) / open|filtered, 1,000 ports under one deadline; the
 * listener table read over SSH (`ss -ltnup`, or /proc/net in the target's byte order when
 * `ss` is missing), and read from /proc/net when meshdoctor runs
 * on the host itself — which also shows a loopback-only listener, a firewalled listener
 * and port 22 answering without a listener (as Tailscale SSH does; here an nft redirect).
 *
 * Run from the repository root: MD_BIN=./meshdoctor MD_BUILD=build build/tests/lab_port */
#include "tests/support/lab.h"
#include "tests/support/lab_assert.h"

#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOST "10.82.0.2"

static struct lab *L;
static const char *cli, *srv;
static struct lab_md_result res;

/* The evidence of fact name in the last report, "" when there is none. */
static const char *ev(const char *name)
{
	const char *e = lab_report_evidence(res.report, name);

	return e ? e : "";
}

#define fact(name) lab_fact(&res, (name))
#define assert_fact(name, want) lab_assert_fact(&res, (name), (want))
#define assert_findings(ids) lab_assert_findings(&res, (ids))
static char dir[256];

static void setup(void)
{
	unsetenv("SSH_AUTH_SOCK");
	memset(&res, 0, sizeof(res));
	L = lab_new("port");
	cr_assert(L, "lab_new");
	cli = lab_netns(L, "portc");
	srv = lab_netns(L, "ports");
	cr_assert(cli && srv, "namespaces");
	cr_assert_eq(lab_veth(L, cli, "mdpc0", "10.82.0.1/24", srv, "mdps0", HOST "/24"), 0, "veth");
	snprintf(dir, sizeof(dir), "%s", lab_dir(L));
}

static void teardown(void)
{
	lab_md_result_free(&res);
	lab_free(L);
	L = NULL;
}

TestSuite(lab_port, .init = setup, .fini = teardown);

/* ==== set-up helpers =================================================================== */

/* socat listener in the host namespace: "TCP4-LISTEN:8443,bind=10.82.0.2,fork,reuseaddr". */
static void listen_socat(const char *spec)
{
	const char *argv[] = { "socat", "-u", spec, "/dev/null", NULL };

	cr_assert_gt(lab_spawn(L, srv, argv, "socat.log"), 0, "socat %s", spec);
}

static void wait_listen(const char *ns, const char *proto, int port)
{
	/* ss in the namespace itself: works for UDP too, and never sends a packet. */
	cr_assert_eq(lab_sh(L, ns, "for i in $(seq 100); do ss -Hln%s 'sport = :%d' | grep -q . && "
			    "exit 0; sleep 0.05; done; exit 1", strcmp(proto, "udp") ? "t" : "u", port),
		     0, "nothing listens on %s/%d", proto, port);
}

static void nft(const char *ns, const char *rules)
{
	cr_assert_eq(lab_sh(L, ns, "%s", rules), 0, "nft: %s", rules);
}

static void run(const char *ns, const char *const *args)
{
	lab_md_result_free(&res);
	memset(&res, 0, sizeof(res));
	cr_assert_eq(lab_run_md(L, ns, args, 60000, &res), 0, "lab_run_md");
	cr_assert(res.report, "no JSON report (exit %d)\nstdout: %s\nstderr: %s", res.exit_code,
		  res.out, res.err);
}

/* A table the port probe kept ("listeners", "checks"), or NULL. */
static const cJSON *table(const char *name)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(res.report, "probes")) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(p, "name");

		if (cJSON_IsString(n) && strcmp(n->valuestring, "port") == 0)
			return cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(p, "tables"), name);
	}
	return NULL;
}

/* ==== active checks from another namespace =============================================== */

Test(lab_port, open_refused_filtered_and_udp_closed_under_one_deadline, .timeout = 60)
{
	const char *args[] = { "check", HOST, "--probes", "port", "--rules", "rules",
			       "--port-list", "8443,8444,8445,5000/udp,5001/udp",
			       "--timeout", "5s", "--json", "-", NULL };

	listen_socat("TCP4-LISTEN:8443,bind=" HOST ",fork,reuseaddr");
	listen_socat("UDP4-RECVFROM:5001,bind=" HOST ",fork");
	wait_listen(srv, "tcp", 8443);
	wait_listen(srv, "udp", 5001);
	nft(srv, "nft add table inet mdport && nft add chain inet mdport in "
		 "'{ type filter hook input priority 0; policy accept; }' && "
		 "nft add rule inet mdport in tcp dport 8445 drop");
	run(cli, args);
	assert_fact("port.addr", HOST);
	assert_fact("port.tcp.8443", "open");
	assert_fact("port.tcp.8444", "refused");
	assert_fact("port.tcp.8445", "filtered");
	assert_fact("port.udp.5000", "closed");
	assert_fact("port.udp.5001", "open|filtered");
	/* the mesh's own ports are always checked */
	assert_fact("port.tcp.22", "refused");
	assert_fact("port.tcp.8080", "refused");
	assert_fact("port.udp.41641", "closed");
	assert_fact("port.checked", "13");
	cr_assert(strstr(ev("port.tcp.8444"), "connect " HOST ":8444: Connection refused"),
		  "%s", ev("port.tcp.8444"));
	cr_assert(strstr(ev("port.udp.5000"), "ICMP port unreachable"), "%s",
		  ev("port.udp.5000"));
	cr_assert(strstr(ev("port.tcp.8445"), "no answer within"), "%s",
		  ev("port.tcp.8445"));
	/* No SSH session, the target is another machine: its listeners are unknown, said so. */
	assert_fact("port.listeners_source", "none");
	cr_assert_null(fact("port.listen.tcp.8443"));
	cr_assert(cJSON_GetArraySize(table("checks")) == 13);
	{
		const char *none[] = { NULL };

		assert_findings(none);
	}
	/* One deadline for all: the silent ones cost ~2 s (the active-check cap), not 5 s each. */
	cr_assert_leq(res.elapsed_ms, 3000, "took %lld ms", (long long)res.elapsed_ms);
}

Test(lab_port, a_thousand_ports_in_parallel, .timeout = 60)
{
	const char *args[] = { "check", HOST, "--probes", "port", "--rules", "rules",
			       "--port-list", "20000-20999", "--timeout", "5s", "--json", "-", NULL };

	listen_socat("TCP4-LISTEN:20500,bind=" HOST ",fork,reuseaddr");
	wait_listen(srv, "tcp", 20500);
	run(cli, args);
	assert_fact("port.checked", "1008");
	assert_fact("port.tcp.20500", "open");
	assert_fact("port.tcp.20000", "refused");
	assert_fact("port.tcp.20999", "refused");
	cr_assert_leq(res.elapsed_ms, 1500, "1,000 refused ports took %lld ms",
		      (long long)res.elapsed_ms);
}

/* ==== the host checking itself: /proc/net listeners ====================================== */

Test(lab_port, local_listeners_reveal_loopback_firewall_and_redirect, .timeout = 60)
{
	const char *args[] = { "check", HOST, "--probes", "port", "--rules", "rules",
			       "--timeout", "5s", "--json", "-", NULL };
	const char *want[] = { "port-listener-refused-8080", "port-listener-filtered-443",
			       "port-ssh-answers-without-listener", NULL };
	const cJSON *row;
	bool saw_socat = false;

	/* Headscale's example config: listen_addr 127.0.0.1:8080. */
	listen_socat("TCP4-LISTEN:8080,bind=127.0.0.1,fork,reuseaddr");
	/* Something on 443, behind a drop rule. */
	listen_socat("TCP4-LISTEN:443,bind=0.0.0.0,fork,reuseaddr");
	/* Port 22 answered by something that is not listening on 22 (the way Tailscale SSH
	 * answers from tailscaled's netstack): an nft redirect to 2200. */
	listen_socat("TCP4-LISTEN:2200,bind=0.0.0.0,fork,reuseaddr");
	wait_listen(srv, "tcp", 8080);
	wait_listen(srv, "tcp", 443);
	wait_listen(srv, "tcp", 2200);
	nft(srv, "nft add table inet mdport && nft add chain inet mdport in "
		 "'{ type filter hook input priority 0; policy accept; }' && "
		 "nft add rule inet mdport in tcp dport 443 drop && "
		 "nft add table ip mdnat && nft add chain ip mdnat out "
		 "'{ type nat hook output priority -100; policy accept; }' && "
		 "nft add rule ip mdnat out tcp dport 22 redirect to :2200");
	run(srv, args); /* meshdoctor on the host itself */
	assert_fact("port.listeners_source", "local");
	assert_fact("port.listen.tcp.8080", "true");
	assert_fact("port.tcp.8080", "refused");
	assert_fact("port.listen.tcp.443", "true");
	assert_fact("port.tcp.443", "filtered");
	assert_fact("port.listen.tcp.22", "false");
	assert_fact("port.tcp.22", "open");
	cr_assert(strstr(ev("port.listen.tcp.8080"), "tcp 127.0.0.1:8080 (pid "), "%s",
		  ev("port.listen.tcp.8080"));
	cr_assert(strstr(ev("port.listen.tcp.8080"), "socat)"), "owner from /proc/PID/fd: %s",
		  ev("port.listen.tcp.8080"));
	cJSON_ArrayForEach(row, table("listeners")) {
		const cJSON *pr = cJSON_GetObjectItemCaseSensitive(row, "process");

		saw_socat |= cJSON_IsString(pr) && strcmp(pr->valuestring, "socat") == 0;
	}
	cr_assert(saw_socat, "listeners table without owners\n%s", res.out);
	assert_findings(want);
	cr_assert_eq(res.exit_code, 1, "warnings and info only\n%s", res.out);
}

/* ==== the target's listeners over SSH ===================================================== */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	cr_assert_eq(lab_sh(L, NULL, "cd %s && %s", dir, cmd), 0, "set-up failed: %s", cmd);
}

/* sshd on HOST:22 with its own config (plus extra lines) and host key, key login for root;
 * known_hosts written. */
static void start_sshd(const char *extra)
{
	char conf[1024], path[300], line[1024], *pub = NULL;
	size_t cap = 0;
	FILE *fp;

	cr_assert_eq(lab_sh(L, NULL, "mkdir -p -m0755 /run/sshd"), 0);
	sh("ssh-keygen -q -t ed25519 -N '' -C lab -f hostkey_ed25519");
	sh("ssh-keygen -q -t ed25519 -N '' -C lab -f client_ed25519");
	sh("cp client_ed25519.pub authorized_keys && chmod 644 authorized_keys");
	snprintf(conf, sizeof(conf),
		 "ListenAddress " HOST "\nHostKey %s/hostkey_ed25519\nPidFile %s/sshd.pid\n"
		 "AuthorizedKeysFile %s/authorized_keys\nPasswordAuthentication no\n"
		 "KbdInteractiveAuthentication no\nUsePAM no\nPermitRootLogin prohibit-password\n"
		 "StrictModes no\n%s", dir, dir, dir, extra);
	snprintf(path, sizeof(path), "%s/sshd_config", dir);
	fp = fopen(path, "w");
	cr_assert(fp);
	fputs(conf, fp);
	fclose(fp);
	fp = fopen(lab_path(L, "hostkey_ed25519.pub"), "r");
	cr_assert(fp);
	cr_assert_gt(getline(&pub, &cap, fp), 0);
	fclose(fp);
	snprintf(line, sizeof(line), HOST " %s", pub);
	free(pub);
	fp = fopen(lab_path(L, "known_hosts"), "w");
	cr_assert(fp);
	fputs(line, fp);
	fclose(fp);
	{
		const char *argv[] = { "/usr/sbin/sshd", "-D", "-e", "-f", path, "-p", "22", NULL };

		cr_assert_gt(lab_spawn(L, srv, argv, "sshd.log"), 0, "sshd");
	}
	wait_listen(srv, "tcp", 22);
}

/* Also the healthy-host check for the port and TLS probes: an sshd host with no Tailscale
 * and nothing on 443 makes no port or TLS rule fire. */
Test(lab_port, remote_listener_table_over_ssh, .timeout = 60)
{
	char key[300], kh[300];
	const char *args[] = { "check", "root@" HOST, "--identity", key, "--known-hosts", kh,
			       "--no-ssh-config", "--probes", "ssh,port,tls", "--rules", "rules",
			       "--timeout", "5s", "--json", "-", NULL };
	const cJSON *row;
	bool saw_sshd = false;

	snprintf(key, sizeof(key), "%s/client_ed25519", dir);
	snprintf(kh, sizeof(kh), "%s/known_hosts", dir);
	start_sshd("");
	listen_socat("UDP4-RECVFROM:41641,bind=0.0.0.0,fork");
	wait_listen(srv, "udp", 41641);
	run(cli, args);
	assert_fact("ssh.auth", "ok");
	assert_fact("port.listeners_source", "ss -ltnup");
	assert_fact("port.listen.tcp.22", "true");
	assert_fact("port.tcp.22", "open");
	assert_fact("port.listen.udp.41641", "true");
	assert_fact("port.udp.41641", "open|filtered");
	assert_fact("port.listen.tcp.443", "false");
	cr_assert(strstr(ev("port.listen.tcp.22"), "ss -ltnup: tcp " HOST ":22 (pid "), "%s",
		  ev("port.listen.tcp.22"));
	cJSON_ArrayForEach(row, table("listeners")) {
		const cJSON *pr = cJSON_GetObjectItemCaseSensitive(row, "process");

		saw_sshd |= cJSON_IsString(pr) && strcmp(pr->valuestring, "sshd") == 0;
	}
	cr_assert(saw_sshd, "%s", res.out);
	assert_fact("tailscale.cli", "missing");
	assert_fact("tls.tcp", "refused");
	assert_fact("tls.expected", "false");
	{
		const char *none[] = { NULL };

		assert_findings(none);
	}
	cr_assert_eq(res.exit_code, 0, "%s", res.out);
}

/* A listing that takes 2.5 s over SSH, longer than the active checks' 2 s cap.  sshd runs
 * every command through a wrapper (ForceCommand) that, for `ss`, waits 2.5 s and only then
 * lifts an nft rule dropping connections to 8443 (a socat listener) and 30000 (nothing):
 * the kernel's SYN retransmission 3 s after each check started gets the answer.  Had the
 * cap counted from the checks' launch, it would have run out during the listing and both
 * ports would look filtered. */
Test(lab_port, slow_listener_table_leaves_the_active_checks_their_time, .timeout = 60)
{
	char key[300], kh[300], conf[400];
	const char *args[] = { "check", "root@" HOST, "--identity", key, "--known-hosts", kh,
			       "--no-ssh-config", "--probes", "ssh,port", "--rules", "rules",
			       "--port-list", "8443,30000", "--timeout", "10s", "--json", "-", NULL };
	const cJSON *row;
	double ms_8443 = -1;

	snprintf(key, sizeof(key), "%s/client_ed25519", dir);
	snprintf(kh, sizeof(kh), "%s/known_hosts", dir);
	/* The host's `ss` (the listing runs inside the batch's script, so the slow one is
	 * first on PATH): it takes 2.5 s, then lets 8443's retransmitted SYN through. */
	sh("mkdir -p slowbin && printf '%%s\\n' '#!/bin/sh' 'sleep 2.5; nft delete table inet mdslow' "
	   "\"exec $(command -v ss) \\\"\\$@\\\"\" > slowbin/ss && chmod 755 slowbin/ss && "
	   "printf '%%s\\n' '#!/bin/sh' 'PATH=%s/slowbin:$PATH exec /bin/sh -c \"$SSH_ORIGINAL_COMMAND\"' "
	   "> slow.sh && chmod 755 slow.sh", dir);
	snprintf(conf, sizeof(conf), "ForceCommand %s/slow.sh\n", dir);
	start_sshd(conf);
	listen_socat("TCP4-LISTEN:8443,bind=" HOST ",fork,reuseaddr");
	wait_listen(srv, "tcp", 8443);
	nft(srv, "nft add table inet mdslow && nft add chain inet mdslow in "
		 "'{ type filter hook input priority 0; policy accept; }' && "
		 "nft add rule inet mdslow in tcp dport '{ 8443, 30000 }' drop");
	run(cli, args);
	assert_fact("ssh.auth", "ok");
	assert_fact("port.listeners_source", "ss -ltnup");
	assert_fact("port.listen.tcp.8443", "true");
	assert_fact("port.tcp.8443", "open");
	assert_fact("port.tcp.30000", "refused");
	cJSON_ArrayForEach(row, table("checks")) {
		const cJSON *port = cJSON_GetObjectItemCaseSensitive(row, "port");
		const cJSON *ms = cJSON_GetObjectItemCaseSensitive(row, "ms");

		if (cJSON_IsNumber(port) && port->valueint == 8443 && cJSON_IsNumber(ms))
			ms_8443 = ms->valuedouble;
	}
	/* answered by the retransmitted SYN, after the 2 s the cap used to allow */
	cr_assert_geq(ms_8443, 2500, "8443 answered after %.0f ms", ms_8443);
	cr_assert_lt(res.elapsed_ms, 9000, "took %lld ms", (long long)res.elapsed_ms);
}

/* A Linux host without iproute2: `ss` is missing (a stand-in first on the session's PATH
 * answers exit 127, as a shell does for a missing command), so the probe reads /proc/net over SSH
 * and this machine's byte order from the ELF header of a binary: with od first, then with
 * an od that rejects -t/-j/-N (BusyBox without CONFIG_DESKTOP), which leaves it to dd.
 * The addresses must come out right either way. */
Test(lab_port, without_ss_the_proc_tables_are_read_in_the_targets_byte_order, .timeout = 60)
{
	char key[300], kh[300], conf[400], want[160];
	const char *args[] = { "check", "root@" HOST, "--identity", key, "--known-hosts", kh,
			       "--no-ssh-config", "--probes", "ssh,port", "--rules", "rules",
			       "--port-list", "8443", "--timeout", "10s", "--json", "-", NULL };
	const char *order = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? "big-endian (EI_DATA 2"
								  : "little-endian (EI_DATA 1";

	snprintf(key, sizeof(key), "%s/client_ed25519", dir);
	snprintf(kh, sizeof(kh), "%s/known_hosts", dir);
	sh("mkdir -p fakebin && printf '%%s\\n' '#!/bin/sh' 'echo \"sh: ss: not found\" >&2' 'exit 127' "
	   "> fakebin/ss && chmod 755 fakebin/ss && "
	   "printf '%%s\\n' '#!/bin/sh' 'PATH=%s/fakebin:$PATH exec /bin/sh -c \"$SSH_ORIGINAL_COMMAND\"' "
	   "> nossh.sh && chmod 755 nossh.sh", dir);
	snprintf(conf, sizeof(conf), "ForceCommand %s/nossh.sh\n", dir);
	start_sshd(conf);
	listen_socat("TCP4-LISTEN:8443,bind=127.0.0.1,fork,reuseaddr");
	wait_listen(srv, "tcp", 8443);

	run(cli, args);
	assert_fact("ssh.auth", "ok");
	assert_fact("port.listeners_source", "cat /proc/net/{tcp,tcp6,udp,udp6}");
	snprintf(want, sizeof(want), "; addresses read as %s in the ELF header of /proc/self/exe, read with od)",
		 order);
	cr_assert(strstr(ev("port.listeners_source"), want), "%s", ev("port.listeners_source"));
	assert_fact("port.listen.tcp.22", "true");
	cr_assert(strstr(ev("port.listen.tcp.22"), "tcp " HOST ":22"), "%s",
		  ev("port.listen.tcp.22"));
	assert_fact("port.listen.tcp.8443", "true");
	cr_assert(strstr(ev("port.listen.tcp.8443"), "tcp 127.0.0.1:8443"), "%s",
		  ev("port.listen.tcp.8443"));

	sh("printf '%%s\\n' '#!/bin/sh' 'echo \"od: invalid option -- A\" >&2' 'exit 1' > fakebin/od && "
	   "chmod 755 fakebin/od");
	run(cli, args);
	assert_fact("port.listeners_source", "cat /proc/net/{tcp,tcp6,udp,udp6}");
	snprintf(want, sizeof(want), "; addresses read as %s in the ELF header of /proc/self/exe, read with dd)",
		 order);
	cr_assert(strstr(ev("port.listeners_source"), want), "%s", ev("port.listeners_source"));
	cr_assert(strstr(ev("port.listen.tcp.22"), "tcp " HOST ":22"), "%s",
		  ev("port.listen.tcp.22"));
	cr_assert(strstr(ev("port.listen.tcp.8443"), "tcp 127.0.0.1:8443"), "%s",
		  ev("port.listen.tcp.8443"));
}
