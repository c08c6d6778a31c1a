/* Lab tests: the dns probe against a real dnsmasq in a network namespace (lab recipes
 * section 4): an answer, NXDOMAIN for an unknown name of its zone, REFUSED for a name
 * outside its zones, and a silent server (a socket that receives and never answers) for
 * the timeout.  meshdoctor runs in the client namespace; its resolv.conf is the lab's own
 * file (MESHDOCTOR_RESOLV_CONF).  mDNS: a real avahi-daemon publishing meshhost.local in
 * a namespace of its own, its /run/avahi-daemon a private bind mount (the recipe's). */
#include "tests/support/lab.h"
#include "tests/support/lab_assert.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DNS_ADDR "10.83.0.2"
#define SILENT_ADDR "10.83.0.4"

static struct lab *L;
static const char *cli, *srv;
static struct lab_md_result res;

static void setup(void)
{
	char conf[1024];

	memset(&res, 0, sizeof(res));
	L = lab_new("dns");
	cr_assert(L, "lab_new");
	cli = lab_netns(L, "dnsc");
	srv = lab_netns(L, "dnss");
	cr_assert(cli && srv, "namespaces");
	cr_assert_eq(lab_veth(L, cli, "mddc0", "10.83.0.1/24", srv, "mdds0", DNS_ADDR "/24"), 0, "veth");
	cr_assert_eq(lab_sh(L, srv, "ip addr add %s/24 dev mdds0", SILENT_ADDR), 0, "second address");
	snprintf(conf, sizeof(conf),
		 "port=53\nlisten-address=%s\nbind-interfaces\nno-resolv\nno-hosts\nno-poll\n"
		 "log-queries\nlog-facility=-\nuser=root\npid-file=%s\nlocal=/lab.test/\n"
		 "host-record=node1.lab.test,100.64.0.1\n"
		 "host-record=node2.lab.test,100.64.0.2,fd7a:115c:a1e0::2\n",
		 DNS_ADDR, lab_path(L, "dnsmasq.pid"));
	lab_write_file(lab_path(L, "dnsmasq.conf"), conf, 0644);
	{
		char cpath[512];
		const char *argv[] = { "dnsmasq", "-k", "-C", cpath, NULL };

		snprintf(cpath, sizeof(cpath), "%s", lab_path(L, "dnsmasq.conf"));
		cr_assert_gt(lab_spawn(L, srv, argv, "dnsmasq.log"), 0, "dnsmasq");
	}
	{
		const char *argv[] = { "socat", "-u", "UDP4-RECV:53,bind=" SILENT_ADDR, "OPEN:/dev/null", NULL };

		cr_assert_gt(lab_spawn(L, srv, argv, "silent.log"), 0, "silent server");
	}
	cr_assert_eq(lab_wait_file(lab_path(L, "dnsmasq.pid"), 3000), 0, "dnsmasq started");
	usleep(300 * 1000);
}

static void teardown(void)
{
	lab_md_result_free(&res);
	lab_free(L);
	L = NULL;
	unsetenv("MESHDOCTOR_RESOLV_CONF");
	unsetenv("MD_BIN");
}

TestSuite(lab_dns, .init = setup, .fini = teardown);

/* meshdoctor check NAME --probes dns against a resolv.conf naming these servers. */
static void check(const char *name, const char *servers)
{
	const char *args[] = { "check", name, "--probes", "dns", "--no-ssh-config", "--timeout", "4",
			       "--json", "-", NULL };
	char text[256] = "";

	for (const char *p = servers; *p;) {
		size_t n = strcspn(p, ",");

		snprintf(text + strlen(text), sizeof(text) - strlen(text), "nameserver %.*s\n", (int)n, p);
		p += n + (p[n] == ',');
	}
	lab_write_file(lab_path(L, "resolv.conf"), text, 0644);
	setenv("MESHDOCTOR_RESOLV_CONF", lab_path(L, "resolv.conf"), 1);
	lab_md_result_free(&res);
	memset(&res, 0, sizeof(res));
	cr_assert_eq(lab_run_md(L, cli, args, 15000, &res), 0, "meshdoctor ran");
	cr_assert_not_null(res.report, "a JSON report; stderr: %s", res.err ? res.err : "");
}

Test(lab_dns, answer_from_the_name_server, .timeout = 60)
{
	check("node2.lab.test", DNS_ADDR);
	lab_assert_fact(&res, "dns.nameservers", DNS_ADDR);
	lab_assert_fact(&res, "dns.target.unicast", "ok");
	lab_assert_fact(&res, "dns.target.ns1", "ok");
	lab_assert_fact(&res, "dns.target.unicast_addrs", "100.64.0.2,fd7a:115c:a1e0::2");
	lab_assert_fact(&res, "dns.target.unicast_server", DNS_ADDR ":53");
	lab_assert_fact(&res, "dns.target.mdns", "skipped");
	cr_assert(!lab_report_has_finding(res.report, "dns-nxdomain"));
	cr_assert(!lab_report_has_finding(res.report, "dns-timeout"));
}

Test(lab_dns, nxdomain_for_an_unknown_name, .timeout = 60)
{
	check("nope.lab.test", DNS_ADDR);
	lab_assert_fact(&res, "dns.target.unicast", "nxdomain");
	cr_assert(lab_report_has_finding(res.report, "dns-nxdomain"), "%s", res.out);
}

Test(lab_dns, refused_outside_the_zones, .timeout = 60)
{
	check("node1.elsewhere.test", DNS_ADDR);
	lab_assert_fact(&res, "dns.target.unicast", "refused");
	cr_assert(lab_report_has_finding(res.report, "dns-refused"), "%s", res.out);
}

Test(lab_dns, silent_server_times_out_within_the_deadline, .timeout = 60)
{
	check("node1.lab.test", SILENT_ADDR);
	lab_assert_fact(&res, "dns.target.unicast", "timeout");
	cr_assert(lab_report_has_finding(res.report, "dns-timeout"), "%s", res.out);
	/* --timeout 4, plus 10% */
	cr_assert_lt(res.elapsed_ms, 4400, "took %lld ms", (long long)res.elapsed_ms);
}

Test(lab_dns, dead_first_server_then_an_answer, .timeout = 60)
{
	check("node1.lab.test", SILENT_ADDR "," DNS_ADDR);
	lab_assert_fact(&res, "dns.target.ns1", "timeout");
	lab_assert_fact(&res, "dns.target.ns2", "ok");
	lab_assert_fact(&res, "dns.target.unicast", "ok");
	cr_assert(lab_report_has_finding(res.report, "dns-first-nameserver-dead"), "%s", res.out);
}

/* ==== mDNS (avahi-daemon) ============================================================== */

static void start_avahi(void)
{
	const char *m = lab_netns(L, "dnsm");
	char conf[512], cmd[1024];

	cr_assert(m, "namespace");
	cr_assert_eq(lab_veth(L, cli, "mddc1", "10.84.0.1/24", m, "mddm0", "10.84.0.2/24"), 0, "veth");
	cr_assert_eq(lab_sh(L, cli, "ip route add 224.0.0.0/4 dev mddc1"), 0, "multicast route");
	snprintf(conf, sizeof(conf),
		 "[server]\nhost-name=meshhost\ndomain-name=local\nuse-ipv4=yes\nuse-ipv6=no\n"
		 "allow-interfaces=mddm0\nenable-dbus=no\n[wide-area]\nenable-wide-area=no\n"
		 "[publish]\npublish-addresses=yes\npublish-hinfo=no\npublish-workstation=no\n");
	lab_write_file(lab_path(L, "avahi.conf"), conf, 0644);
	cr_assert_eq(lab_sh(L, NULL, "mkdir -p %s /run/avahi-daemon", lab_path(L, "avahi-run")), 0);
	snprintf(cmd, sizeof(cmd), "mount --bind %s /run/avahi-daemon && exec avahi-daemon -f %s "
		 "--no-drop-root --no-chroot --no-rlimits", lab_path(L, "avahi-run"), lab_path(L, "avahi.conf"));
	{
		const char *argv[] = { "unshare", "-m", "--propagation", "private", "sh", "-c", cmd, NULL };

		cr_assert_gt(lab_spawn(L, m, argv, "avahi.log"), 0, "avahi-daemon");
	}
	cr_assert_eq(lab_wait_file(lab_path(L, "avahi-run/socket"), 5000), 0, "avahi started");
	usleep(1500 * 1000); /* it probes its name before it answers for it */
}

Test(lab_dns, mdns_answers_a_local_name, .timeout = 60)
{
	start_avahi();
	check("meshhost.local", DNS_ADDR);
	lab_assert_fact(&res, "dns.target.local", "true");
	lab_assert_fact(&res, "dns.target.mdns", "ok");
	lab_assert_fact(&res, "dns.target.mdns_addrs", "10.84.0.2");
	lab_assert_fact(&res, "dns.target.mdns_server", "10.84.0.2:5353");
	lab_assert_fact(&res, "dns.target.ip", "10.84.0.2");
	cr_assert(!lab_report_has_finding(res.report, "dns-local-unresolved"), "%s", res.out);
}

Test(lab_dns, mdns_silence_for_an_unknown_local_name, .timeout = 60)
{
	start_avahi();
	check("nosuch.local", DNS_ADDR);
	lab_assert_fact(&res, "dns.target.mdns", "timeout");
	cr_assert(lab_report_has_finding(res.report, "dns-local-unresolved"), "%s", res.out);
}

/* ==== the system resolver (nsswitch.conf and resolv.conf in a mount namespace) ========= */

/* meshdoctor from now on runs in a mount namespace of its own where /etc/nsswitch.conf has
 * this hosts: line, /etc/resolv.conf names the lab's dnsmasq and /run/avahi-daemon is the
 * lab avahi's, so that getaddrinfo() and nss-mdns see the lab, not this machine. */
static void system_resolver(const char *hosts_line)
{
	char text[256], wrapper[2048], self[1024];
	const char *bin = getenv("MD_BIN") ? getenv("MD_BIN") : "./meshdoctor";
	ssize_t n;

	snprintf(text, sizeof(text), "hosts: %s\n", hosts_line);
	lab_write_file(lab_path(L, "nsswitch.conf"), text, 0644);
	lab_write_file(lab_path(L, "sys-resolv.conf"), "nameserver " DNS_ADDR "\n", 0644);
	n = readlink("/proc/self/cwd", self, sizeof(self) - 1);
	cr_assert_gt(n, 0);
	self[n] = '\0';
	if (bin[0] == '/')
		self[0] = '\0';
	snprintf(wrapper, sizeof(wrapper),
		 "#!/bin/sh\nexec unshare -m --propagation private sh -c 'mount --bind %s /etc/nsswitch.conf "
		 "&& mount --bind %s /etc/resolv.conf && mount --bind %s /run/avahi-daemon && exec %s%s%s "
		 "\"$@\"' sh \"$@\"\n", lab_path(L, "nsswitch.conf"), lab_path(L, "sys-resolv.conf"),
		 lab_path(L, "avahi-run"), self, self[0] ? "/" : "", bin);
	lab_write_file(lab_path(L, "md-wrapper"), wrapper, 0755);
	setenv("MD_BIN", lab_path(L, "md-wrapper"), 1);
}

Test(lab_dns, mdns_answers_but_nsswitch_lacks_mdns, .timeout = 60)
{
	start_avahi();
	system_resolver("files dns");
	check("meshhost.local", DNS_ADDR);
	lab_assert_fact(&res, "dns.nsswitch_hosts", "files dns");
	lab_assert_fact(&res, "dns.nss_mdns", "false");
	lab_assert_fact(&res, "dns.target.mdns", "ok");
	cr_assert(strcmp(lab_fact(&res, "dns.target.system"), "ok") != 0);
	cr_assert(lab_report_has_finding(res.report, "dns-nss-mdns-not-configured"), "%s", res.out);
	cr_assert(!lab_report_has_finding(res.report, "dns-local-unresolved"), "%s", res.out);
}

Test(lab_dns, system_resolver_through_nss_mdns, .timeout = 60)
{
	start_avahi();
	system_resolver("files mdns4_minimal [NOTFOUND=return] dns");
	check("meshhost.local", DNS_ADDR);
	lab_assert_fact(&res, "dns.nss_mdns", "true");
	lab_assert_fact(&res, "dns.target.system", "ok");
	lab_assert_fact(&res, "dns.target.system_addrs", "10.84.0.2");
	lab_assert_fact(&res, "dns.target.agree", "true");
	cr_assert_eq(lab_report_n_findings(res.report), 0, "%s", res.out);
}
