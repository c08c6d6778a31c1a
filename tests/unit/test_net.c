/* Unit tests: name resolution and TCP connect under a deadline (core/net.c), and what the
 * ssh probe and rules/ssh.rules make of a name server that does not answer.
 *
 * Each test runs in its own process (criterion), which moves into a private network
 * namespace (only lo, up) and a private mount namespace in which /etc/resolv.conf,
 * /etc/hosts, /etc/nsswitch.conf and /etc/gai.conf are the test's own files.  Nothing
 * leaves the namespace and the machine's own files are never changed.  Needs root
 * (CAP_SYS_ADMIN), like the lab tests. */
#include "core/net.h"
#include "core/proc.h"
#include "core/target.h"
#include "probes/probe.h"
#include "rules/engine.h"
#include "tests/support/fact_spec.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A name for the tests' own resolver and hosts file (RFC 2606 reserves .test). */
#define NAME "nothing.meshdoctor.test"
#define TWO "two.meshdoctor.test"

/* ---- The private namespaces ---- */

static void bind_text(const char *target, const char *text)
{
	char path[] = "/tmp/md-test-net-XXXXXX";
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cr_assert_eq(mount(path, target, NULL, MS_BIND, NULL), 0, "bind %s: %s", target,
		     strerror(errno));
	unlink(path); /* the mount keeps the file */
}

static void lo_up(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(s, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0, "lo up: %s", strerror(errno));
	close(s);
}

/* resolv.conf: the name server is 127.0.0.1, in this namespace only.  Its own timeouts
 * are long (5 s x 2 attempts), so a lookup that waits for them cannot pass for one that
 * stopped at the deadline. */
static void private_resolver(const char *hosts)
{
	cr_assert_eq(unshare(CLONE_NEWNS | CLONE_NEWNET), 0,
		     "unshare: %s (these tests need root, as the lab tests do)", strerror(errno));
	/* Private first, so that no mount below propagates back to the machine. */
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0, "%s", strerror(errno));
	lo_up();
	bind_text("/etc/resolv.conf", "nameserver 127.0.0.1\nsearch .\noptions timeout:5 attempts:2\n");
	bind_text("/etc/hosts", hosts);
	bind_text("/etc/nsswitch.conf", "hosts: files dns\n");
	if (access("/etc/gai.conf", F_OK) == 0)
		bind_text("/etc/gai.conf", ""); /* glibc's built-in RFC 6724 order */
}

/* ---- A name server on 127.0.0.1:53 that answers late, or never ---- */

struct dns_server {
	int fd;
	int delay_ms; /* < 0: never answer */
	pthread_t tid;
};

struct dns_reply {
	struct dns_server *d;
	struct sockaddr_storage to;
	socklen_t to_len;
	size_t n;
	unsigned char msg[512];
};

/* Answers one query with NXDOMAIN (RFC 1035 section 4.1.1: QR set, RCODE 3) after the
 * server's delay. */
static void *dns_reply(void *arg)
{
	struct dns_reply *r = arg;
	int ms = r->d->delay_ms;

	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
	r->msg[2] = 0x81; /* QR, RD */
	r->msg[3] = 0x83; /* RA, NXDOMAIN */
	sendto(r->d->fd, r->msg, r->n, 0, (struct sockaddr *)&r->to, r->to_len);
	free(r);
	return NULL;
}

/* Reads queries; answers each on its own thread after delay_ms, or never (delay_ms < 0). */
static void *dns_serve(void *arg)
{
	struct dns_server *d = arg;

	for (;;) {
		struct dns_reply *r = calloc(1, sizeof(*r));
		pthread_t tid;
		ssize_t n;

		if (!r)
			return NULL;
		r->d = d;
		r->to_len = sizeof(r->to);
		n = recvfrom(d->fd, r->msg, sizeof(r->msg), 0, (struct sockaddr *)&r->to, &r->to_len);
		if (n < 12 || d->delay_ms < 0) {
			free(r);
			if (n < 0)
				return NULL;
			continue;
		}
		r->n = (size_t)n;
		if (pthread_create(&tid, NULL, dns_reply, r) == 0)
			pthread_detach(tid);
		else
			free(r);
	}
}

static void dns_start(struct dns_server *d, int delay_ms)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(53),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	d->delay_ms = delay_ms;
	d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(d->fd, 0);
	cr_assert_eq(bind(d->fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind :53: %s",
		     strerror(errno));
	cr_assert_eq(pthread_create(&d->tid, NULL, dns_serve, d), 0);
	pthread_detach(d->tid);
}

/* ---- Resolution ---- */

Test(resolve, returns_at_the_deadline_when_the_name_server_never_answers, .timeout = 30)
{
	struct dns_server d;
	struct addrinfo *ai = NULL;
	struct md_err e = { 0 };
	int64_t t0, took;
	struct md_deadline dl;
	int rc;

	private_resolver("127.0.0.1 localhost\n");
	dns_start(&d, -1);
	t0 = md_now_ms();
	dl = md_deadline_after(t0, 500);
	rc = md_net_resolve(NAME, 22, SOCK_STREAM, &dl, &ai, &e);
	took = md_now_ms() - t0;
	cr_assert_eq(rc, MD_ETIMEOUT, "rc %d: %s", rc, e.msg);
	cr_assert_leq(took, 550, "returned after %lld ms, deadline 500 ms", (long long)took);
	cr_assert_null(ai);
	cr_assert(md_net_resolve_timed_out(rc, &e));
	cr_assert_str_eq(e.where, "resolve");
	cr_assert(strstr(e.msg, "resolve " NAME ": "), "%s", e.msg);
}

Test(resolve, an_answer_after_the_deadline_is_dropped_safely, .timeout = 30)
{
	struct dns_server d;
	struct addrinfo *ai = NULL;
	struct md_err e = { 0 };
	struct md_deadline dl;

	private_resolver("127.0.0.1 localhost\n");
	dns_start(&d, 300);
	for (int i = 0; i < 3; i++) {
		md_err_clear(&e);
		dl = md_deadline_after(md_now_ms(), 100);
		cr_assert_eq(md_net_resolve(NAME, 22, SOCK_STREAM, &dl, &ai, &e), MD_ETIMEOUT, "%s",
			     e.msg);
	}
	/* The lookups finish on their own threads and free themselves (ASan checks the
	 * accesses). */
	usleep(1500 * 1000);
}

/* A program must not exit() while a lookup runs getaddrinfo() on its own thread:
 * md_net_pending_lookups() counts them. */
Test(resolve, lookups_left_at_the_deadline_are_counted_until_they_end, .timeout = 30)
{
	struct dns_server d;
	struct addrinfo *ai = NULL;
	struct md_err e = { 0 };
	struct md_deadline dl;
	int64_t t0;

	private_resolver("127.0.0.1 localhost\n");
	dns_start(&d, 600);
	cr_assert_eq(md_net_pending_lookups(), 0);
	dl = md_deadline_after(md_now_ms(), 100);
	cr_assert_eq(md_net_resolve(NAME, 22, SOCK_STREAM, &dl, &ai, &e), MD_ETIMEOUT, "%s", e.msg);
	cr_assert_eq(md_net_pending_lookups(), 1, "the lookup still runs");
	t0 = md_now_ms();
	while (md_net_pending_lookups() && md_now_ms() - t0 < 10000)
		usleep(20 * 1000);
	cr_assert_eq(md_net_pending_lookups(), 0, "the lookup ended (NXDOMAIN after 600 ms)");
	/* An answer in time leaves nothing behind. */
	dl = md_deadline_after(md_now_ms(), 5000);
	cr_assert_eq(md_net_resolve(NAME, 22, SOCK_STREAM, &dl, &ai, &e), MD_ERESOLVE);
	cr_assert_eq(md_net_pending_lookups(), 0);
}

Test(resolve, an_answer_in_time_is_used, .timeout = 30)
{
	struct dns_server d;
	struct addrinfo *ai = NULL;
	struct md_err e = { 0 };
	struct md_deadline dl = md_deadline_after(md_now_ms(), 5000);

	private_resolver("127.0.0.1 localhost\n10.1.2.3 " NAME "\n");
	dns_start(&d, 0);
	cr_assert_eq(md_net_resolve(NAME, 22, SOCK_STREAM, &dl, &ai, &e), MD_OK, "%s", e.msg);
	cr_assert_not_null(ai);
	cr_assert_eq(ai->ai_family, AF_INET);
	freeaddrinfo(ai);
	md_err_clear(&e);
	cr_assert_eq(md_net_resolve("other.meshdoctor.test", 22, SOCK_STREAM, &dl, &ai, &e),
		     MD_ERESOLVE, "%s", e.msg);
	cr_assert_null(ai);
	cr_assert_not(md_net_resolve_timed_out(MD_ERESOLVE, &e));
}

/* ---- Connecting to a name with two addresses (::1 first, then 127.0.0.1) ---- */

#define TWO_HOSTS "127.0.0.1 localhost\n::1 " TWO "\n127.0.0.1 " TWO "\n"

/* A TCP listener on the loopback address of family, port 0 for any. */
static int listen_on(int family, int port, int backlog)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	cr_assert_geq(fd, 0);
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	cr_assert_eq(family == AF_INET ? bind(fd, (struct sockaddr *)&a4, sizeof(a4))
				       : bind(fd, (struct sockaddr *)&a6, sizeof(a6)),
		     0, "bind: %s", strerror(errno));
	cr_assert_eq(listen(fd, backlog), 0);
	return fd;
}

static int port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* A listener whose accept queue is full: Linux then drops further SYNs, as a firewall
 * that drops packets does.  *filler is the connection that fills the queue. */
static int listen_dropping(int family, int port, int *filler)
{
	int fd = listen_on(family, port, 0);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	*filler = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(connect(*filler, (struct sockaddr *)&ss, sl), 0, "%s", strerror(errno));
	return fd;
}

/* The premise of the tests below: the resolver lists ::1 before 127.0.0.1. */
static void assert_ipv6_first(void)
{
	struct addrinfo *ai = NULL;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 2000);

	cr_assert_eq(md_net_resolve(TWO, 1, SOCK_STREAM, &dl, &ai, NULL), MD_OK);
	cr_assert(ai && ai->ai_next, "two addresses");
	cr_assert_eq(ai->ai_family, AF_INET6, "::1 first");
	cr_assert_eq(ai->ai_next->ai_family, AF_INET);
	freeaddrinfo(ai);
}

Test(connect, a_dropping_first_address_does_not_use_up_the_deadline, .timeout = 30)
{
	struct md_addr peer = { 0 };
	struct md_err e = { 0 };
	int filler, v6, v4, port, fd = -1;
	int64_t t0;
	struct md_deadline dl;
	char want[64];

	private_resolver(TWO_HOSTS);
	assert_ipv6_first();
	v6 = listen_dropping(AF_INET6, 0, &filler);
	port = port_of(v6);
	v4 = listen_on(AF_INET, port, 8);
	t0 = md_now_ms();
	dl = md_deadline_after(t0, 3000);
	cr_assert_eq(md_net_connect_tcp(TWO, port, &dl, &fd, &peer, &e), MD_OK, "%s", e.msg);
	cr_assert_lt(md_now_ms() - t0, 1500, "connected after %lld ms",
		     (long long)(md_now_ms() - t0));
	snprintf(want, sizeof(want), "127.0.0.1:%d", port);
	cr_assert_str_eq(peer.text, want);
	cr_assert_geq(fd, 0);
	close(fd);
	close(v4);
	close(filler);
	close(v6);
}

Test(connect, code_and_message_come_from_the_same_attempt, .timeout = 30)
{
	struct md_err e = { 0 };
	int filler, v4, port, fd = -1, rc;
	struct md_deadline dl;
	char want[128];

	private_resolver(TWO_HOSTS);
	assert_ipv6_first();
	/* [::1]:port refuses (nothing listens), 127.0.0.1:port drops. */
	v4 = listen_dropping(AF_INET, 0, &filler);
	port = port_of(v4);
	dl = md_deadline_after(md_now_ms(), 1000);
	rc = md_net_connect_tcp(TWO, port, &dl, &fd, NULL, &e);
	cr_assert_eq(rc, MD_EREFUSED, "rc %d (%s): %s", rc, md_status_name(rc), e.msg);
	cr_assert_eq(e.code, rc);
	cr_assert_eq(fd, -1);
	snprintf(want, sizeof(want), "connect [::1]:%d: Connection refused", port);
	cr_assert(strncmp(e.msg, want, strlen(want)) == 0, "%s", e.msg);
	snprintf(want, sizeof(want), "connect 127.0.0.1:%d: no answer before the deadline", port);
	cr_assert(strstr(e.msg, want), "the other address is named too: %s", e.msg);
	close(filler);
	close(v4);
}

Test(connect, every_address_dropping_is_a_timeout_within_the_deadline, .timeout = 30)
{
	struct md_err e = { 0 };
	int f4, f6, v4, v6, port, fd = -1, rc;
	int64_t t0 = md_now_ms();
	struct md_deadline dl;

	private_resolver(TWO_HOSTS);
	v6 = listen_dropping(AF_INET6, 0, &f6);
	port = port_of(v6);
	v4 = listen_dropping(AF_INET, port, &f4);
	t0 = md_now_ms();
	dl = md_deadline_after(t0, 700);
	rc = md_net_connect_tcp(TWO, port, &dl, &fd, NULL, &e);
	cr_assert_eq(rc, MD_ETIMEOUT, "%s", e.msg);
	cr_assert_not(md_net_resolve_timed_out(rc, &e), "a connect timeout, not a lookup's");
	cr_assert_leq(md_now_ms() - t0, 770);
	cr_assert(strstr(e.msg, "[::1]") && strstr(e.msg, "127.0.0.1"), "%s", e.msg);
	close(f4);
	close(f6);
	close(v4);
	close(v6);
}

/* ---- The ssh probe, its rule and the exit status ---- */

extern const struct md_probe probe_ssh;

Test(ssh_resolve, the_probe_records_resolve_timeout_not_no_such_host, .timeout = 30)
{
	struct dns_server d;
	struct md_target t = { 0 };
	struct md_options opt = { .timeout_ms = 500 };
	struct md_ctx ctx = { .target = &t, .opt = &opt };
	struct md_facts f;
	struct md_ruleset rs;
	struct md_evaluation ev = { 0 };
	struct md_err e = { 0 };
	const struct md_fact *x;
	int64_t t0;
	int rc;

	private_resolver("127.0.0.1 localhost\n");
	dns_start(&d, -1);
	md_facts_init(&f);
	md_ruleset_init(&rs);
	cr_assert_eq(md_target_parse("root@" NAME, &t, &e), MD_OK, "%s", e.msg);
	t0 = md_now_ms();
	ctx.deadline = md_deadline_after(t0, 500);
	rc = probe_ssh.run(&ctx, &f, &e);
	cr_assert_leq(md_now_ms() - t0, 550);
	cr_assert_eq(rc, MD_ETIMEOUT, "the probe could not complete: %d", rc);
	cr_assert_str_eq(e.where, "resolve");
	x = md_facts_get(&f, "ssh.tcp");
	cr_assert_not_null(x);
	cr_assert_str_eq(x->str, "resolve-timeout");
	cr_assert(strstr(x->evidence, "resolve " NAME ": "), "%s", x->evidence);
	cr_assert_null(ctx.session);

	cr_assert_eq(md_rules_load_dir(&rs, "rules", &e), MD_OK, "%s", e.msg);
	cr_assert_eq(md_rules_evaluate(&rs, &f, false, &ev), MD_OK);
	cr_assert_geq(test_finding_index(&ev, "ssh-resolve-timeout"), 0);
	cr_assert_lt(test_finding_index(&ev, "ssh-name-not-resolved"), 0);
	for (size_t i = 0; i < ev.n_findings; i++)
		cr_assert_neq(ev.findings[i].severity, MD_SEV_CRITICAL, "critical: %s",
			      ev.findings[i].rule->id);
	md_evaluation_cleanup(&ev);
	md_ruleset_cleanup(&rs);
	md_facts_cleanup(&f);
	md_target_cleanup(&t);
}

Test(ssh_resolve, the_rule_is_a_warning_citing_the_lookup, .timeout = 30)
{
	struct test_eval t;
	int i;

	cr_assert_eq(test_eval_load(&t, "rules/ssh.rules"), 0, "%s", t.err.msg);
	cr_assert_eq(test_put_facts(&t.facts, "ssh",
				    "ssh.addr=\"h1.example:22\";ssh.host=\"h1.example\";ssh.port=22;"
				    "ssh.user=\"steve\";ssh.tcp=\"resolve-timeout\";ssh.tcp_error="
				    "\"resolve h1.example: no answer from the name service before "
				    "the deadline\""),
		     0);
	cr_assert_eq(test_eval_run(&t), 0);
	cr_assert_eq(t.ev.n_findings, 1);
	i = test_finding_index(&t.ev, "ssh-resolve-timeout");
	cr_assert_eq(i, 0);
	cr_assert_eq(t.ev.findings[i].severity, MD_SEV_WARNING);
	cr_assert(strstr(t.ev.findings[i].cause, "h1.example"), "%s", t.ev.findings[i].cause);
	cr_assert_str_eq(t.ev.findings[i].rule->source, "seeds/002_c74f733de84f5218.txt");
	test_eval_cleanup(&t);
}

Test(ssh_resolve, check_exits_could_not_tell, .timeout = 30)
{
	const char *bin = getenv("MD_BIN") ? getenv("MD_BIN") : "./meshdoctor";
	const char *argv[] = { bin, "check", "--probes", "ssh", "--timeout", "1s",
			       "--no-ssh-config", "--rules", "rules", "--json", "-",
			       "root@" NAME, NULL };
	struct dns_server d;
	struct md_proc_result r;
	struct md_err e = { 0 };
	struct md_deadline dl;
	int64_t t0;

	private_resolver("127.0.0.1 localhost\n");
	dns_start(&d, -1);
	md_proc_result_init(&r, 1 << 20);
	t0 = md_now_ms();
	dl = md_deadline_after(t0, 15000);
	cr_assert_eq(md_proc_run(argv, NULL, 0, &dl, &r, &e), MD_OK, "%s", e.msg);
	cr_assert_eq(r.exit_code, 3, "exit %d: %s%s", r.exit_code, md_buf_str(&r.out),
		     md_buf_str(&r.err));
	cr_assert_lt(md_now_ms() - t0, 3000, "the run kept its deadline");
	cr_assert(strstr(md_buf_str(&r.out), "\"ssh-resolve-timeout\""), "%s", md_buf_str(&r.out));
	cr_assert(strstr(md_buf_str(&r.out), "\"resolve-timeout\""), "%s", md_buf_str(&r.out));
	/* The lookup still runs when check ends: no crash, and no sanitizer report from an
	 * exit under it (build-san). */
	cr_assert_null(strstr(md_buf_str(&r.err), "Sanitizer"), "%s", md_buf_str(&r.err));
	md_proc_result_cleanup(&r);
}

/* The TLS probe tells a silent name server from a port that drops packets: a firewall
 * finding (tls-port-timeout) would blame the wrong thing. */
Test(tls_resolve, a_silent_name_server_is_not_a_silent_port, .timeout = 30)
{
	const char *bin = getenv("MD_BIN") ? getenv("MD_BIN") : "./meshdoctor";
	const char *argv[] = { bin, "check", "--probes", "tls", "--tls-port", "443",
			       "--timeout", "1s", "--no-ssh-config", "--rules", "rules",
			       "--json", "-", "root@" NAME, NULL };
	struct dns_server d;
	struct md_proc_result r;
	struct md_err e = { 0 };
	struct md_deadline dl;
	const char *out;

	private_resolver("127.0.0.1 localhost\n");
	dns_start(&d, -1);
	md_proc_result_init(&r, 1 << 20);
	dl = md_deadline_after(md_now_ms(), 15000);
	cr_assert_eq(md_proc_run(argv, NULL, 0, &dl, &r, &e), MD_OK, "%s", e.msg);
	out = md_buf_str(&r.out);
	cr_assert(strstr(out, "\"resolve-timeout\""), "%s%s", out, md_buf_str(&r.err));
	cr_assert(strstr(out, "\"findings\":\t[]"), "no finding: %s", out);
	cr_assert_eq(r.exit_code, 3, "HTTPS was asked for and nothing was learnt: %s", out);
	md_proc_result_cleanup(&r);
}
