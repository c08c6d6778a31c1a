/* lab_tls.c — the TLS probe and rules/tls.rules end to end, against real TLS servers.
 *
 * Each test builds two namespaces joined by a veth pair: the "host" (10.81.0.2) runs the
 * servers, the client (10.81.0.1) runs meshdoctor.  Servers: `openssl s_server` with
 * certificates the test makes with the openssl CLI (a test CA; valid, expired and not yet
 * valid via `openssl ca -startdate/-enddate`, wrong name, self-signed, expiring soon),
 * tests/lab/helpers/tlsalert (a fatal internal_error alert; a listener that never answers),
 * Python's http.server as a serve backend, and nft for a dropped port.
 *
 * The seed-004 scenario (seeds/004_3ac6a098e1c6561c.txt) is rebuilt on a lab sshd host
 * whose PATH (sshd_config SetEnv) holds a FIXTURE stand-in for the Tailscale CLI
 * (fixtures/tailscale/fake-tailscale.sh answering from the JSON fixtures beside it):
 * Tailscale itself cannot run here, so the test names say "tailscale_fixture".
 *
 * Run from the repository root: MD_BIN=./meshdoctor MD_BUILD=build build/tests/lab_tls */
#include "tests/support/lab.h"
#include "tests/support/lab_assert.h"

#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOST "10.81.0.2"
#define NAME "node1.tail1234.ts.net"
#define SEED_NAME "mneme-macbook-pro14.ayu-scylla.ts.net"

static struct lab *L;
static const char *cli, *srv;
static struct lab_md_result res;

#define fact(name) lab_fact(&res, (name))
#define assert_fact(name, want) lab_assert_fact(&res, (name), (want))
#define assert_findings(ids) lab_assert_findings(&res, (ids))
static char dir[256];

static void setup(void)
{
	unsetenv("SSH_AUTH_SOCK");
	memset(&res, 0, sizeof(res));
	L = lab_new("tls");
	cr_assert(L, "lab_new");
	cli = lab_netns(L, "tlsc");
	srv = lab_netns(L, "tlss");
	cr_assert(cli && srv, "namespaces");
	cr_assert_eq(lab_veth(L, cli, "mdtc0", "10.81.0.1/24", srv, "mdts0", HOST "/24"), 0, "veth");
	snprintf(dir, sizeof(dir), "%s", lab_dir(L));
}

static void teardown(void)
{
	lab_md_result_free(&res);
	lab_free(L);
	L = NULL;
}

TestSuite(lab_tls, .init = setup, .fini = teardown);

/* ==== set-up helpers =================================================================== */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	/* Set-up commands that touch no network run in the root namespace. */
	cr_assert_eq(lab_sh(L, NULL, "cd %s && %s", dir, cmd), 0, "set-up failed: %s (see %s)", cmd,
		     lab_path(L, "sh.log"));
}

/* The test CA, and `openssl ca` set up for dated certs (`openssl x509` in OpenSSL 3.0
 * cannot set notBefore/notAfter). */
static void make_ca(void)
{
	char cnf[4096];

	sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
	   "-out ca.crt -days 3650 -subj '/CN=meshdoctor Test CA' 2>/dev/null");
	sh("mkdir -p newcerts && : > index.txt && echo 01 > serial");
	snprintf(cnf, sizeof(cnf),
		 "[ca]\ndefault_ca = labca\n[labca]\ndir = %s\ndatabase = %s/index.txt\n"
		 "new_certs_dir = %s/newcerts\nserial = %s/serial\ncertificate = %s/ca.crt\n"
		 "private_key = %s/ca.key\ndefault_md = sha256\npolicy = pol\n"
		 "copy_extensions = copy\nunique_subject = no\n[pol]\ncommonName = supplied\n",
		 dir, dir, dir, dir, dir, dir);
	lab_write_file(lab_path(L, "ca.cnf"), cnf, 0644);
}

/* A key and a CSR carrying its subjectAltName (copied into the cert by `openssl ca`). */
static void make_csr(const char *name, const char *cn, const char *san)
{
	sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s.key "
	   "-out %s.csr -subj '/CN=%s' -addext 'subjectAltName=%s' 2>/dev/null", name, name, cn, san);
}

/* A leaf signed by the test CA, valid from now for days. */
static void make_leaf(const char *name, const char *cn, const char *san, int days)
{
	make_csr(name, cn, san);
	sh("printf 'subjectAltName=%s\\n' > %s.ext && openssl x509 -req -in %s.csr -CA ca.crt "
	   "-CAkey ca.key -CAcreateserial -days %d -extfile %s.ext -out %s.crt 2>/dev/null",
	   san, name, name, days, name, name);
}

/* A leaf with fixed dates (YYYYMMDDHHMMSSZ): `openssl x509` in 3.0 cannot set them. */
static void make_dated(const char *name, const char *san, const char *start, const char *end)
{
	make_csr(name, NAME, san);
	sh("openssl ca -batch -config ca.cnf -in %s.csr -out %s.crt -startdate %s -enddate %s "
	   "-notext 2>/dev/null", name, name, start, end);
}

static void make_self_signed(const char *name, const char *san)
{
	sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s.key "
	   "-out %s.crt -days 90 -subj '/CN=%s' -addext 'subjectAltName=%s' 2>/dev/null", name,
	   name, NAME, san);
}

static void wait_port(int port)
{
	cr_assert_eq(lab_wait_tcp(L, cli, HOST, port, 5000), 0, "nothing listens on %s:%d (logs in %s)",
		     HOST, port, dir);
}

/* openssl s_server with cert NAME.crt on HOST(or bind):port. */
static void start_s_server(const char *name, const char *bind, int port)
{
	char accept[64], cert[300], key[300];
	const char *argv[] = { "openssl", "s_server", "-accept", accept, "-cert", cert, "-key", key,
			       "-www", "-quiet", "-alpn", "http/1.1", NULL };

	snprintf(accept, sizeof(accept), "%s:%d", bind, port);
	snprintf(cert, sizeof(cert), "%s/%s.crt", dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	cr_assert_gt(lab_spawn(L, srv, argv, "s_server.log"), 0, "s_server");
	wait_port(port);
}

static void start_tlsalert(const char *mode, const char *bind, int port)
{
	char bin[512], p[16];
	const char *argv[] = { bin, mode, bind, p, NULL };

	snprintf(bin, sizeof(bin), "%s", lab_build_path(L, "tests/helpers/tlsalert"));
	snprintf(p, sizeof(p), "%d", port);
	cr_assert_eq(access(bin, X_OK), 0, "%s missing: build it (make %s)", bin, bin);
	cr_assert_gt(lab_spawn(L, srv, argv, "tlsalert.log"), 0, "tlsalert");
	wait_port(port);
}

/* Python's http.server (Debian's /usr/bin/python3, not a pyenv shim) serving the lab dir. */
static void start_http(const char *bind, int port)
{
	char p[16];
	const char *argv[] = { "/usr/bin/python3", "-m", "http.server", p, "--bind", bind,
			       "--directory", dir, NULL };

	snprintf(p, sizeof(p), "%d", port);
	cr_assert_gt(lab_spawn(L, srv, argv, "http.log"), 0, "http.server");
	cr_assert_eq(lab_sh(L, srv, "for i in $(seq 100); do nc -z %s %d && exit 0; sleep 0.05; done; exit 1",
			    bind, port), 0, "http.server did not listen on %s:%d", bind, port);
}

/* A TLS server that answers the ClientHello only delay_s seconds after the connection, as
 * tailscaled does while it obtains the certificate for the name during the handshake
 * (docs/tls.md#no-serverhello-before-the-deadline).  Python's ssl module (Debian's
 * /usr/bin/python3), a thread per connection; cert NAME.crt and NAME.key. */
static void start_slow_tls(const char *name, const char *bind, int port, const char *delay_s)
{
	static const char script[] =
		"import socket, ssl, sys, threading, time\n"
		"cert, key, host, port, delay = sys.argv[1:6]\n"
		"ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
		"ctx.load_cert_chain(cert, key)\n"
		"srv = socket.create_server((host, int(port)))\n"
		"def serve(c):\n"
		"    time.sleep(float(delay))\n"
		"    try:\n"
		"        with ctx.wrap_socket(c, server_side=True) as t:\n"
		"            t.settimeout(2)\n"
		"            t.recv(4096)\n"
		"    except Exception:\n"
		"        c.close()\n"
		"while True:\n"
		"    c, _ = srv.accept()\n"
		"    threading.Thread(target=serve, args=(c,), daemon=True).start()\n";
	char py[300], cert[300], keyf[300], p[16];
	const char *argv[] = { "/usr/bin/python3", py, cert, keyf, bind, p, delay_s, NULL };

	snprintf(py, sizeof(py), "%s/slow_tls.py", dir);
	snprintf(cert, sizeof(cert), "%s/%s.crt", dir, name);
	snprintf(keyf, sizeof(keyf), "%s/%s.key", dir, name);
	snprintf(p, sizeof(p), "%d", port);
	lab_write_file(py, script, 0644);
	cr_assert_gt(lab_spawn(L, srv, argv, "slow_tls.log"), 0, "slow TLS server");
	wait_port(port);
}

/* ==== running meshdoctor =============================================================== */

static void run(const char *const *args)
{
	lab_md_result_free(&res);
	memset(&res, 0, sizeof(res));
	cr_assert_eq(lab_run_md(L, cli, args, 60000, &res), 0, "lab_run_md");
	cr_assert(res.report, "no JSON report (exit %d)\nstdout: %s\nstderr: %s", res.exit_code,
		  res.out, res.err);
}

/* TLS only, no SSH: meshdoctor check HOST --probes tls --tls-port P [--ca] [--sni] ... */
static void check_tls(int port, bool with_ca, const char *timeout)
{
	char p[16], ca[300];
	const char *args[24];
	size_t n = 0;

	snprintf(p, sizeof(p), "%d", port);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	args[n++] = "check";
	args[n++] = HOST;
	args[n++] = "--probes";
	args[n++] = "tls";
	args[n++] = "--rules";
	args[n++] = "rules";
	args[n++] = "--tls-port";
	args[n++] = p;
	args[n++] = "--sni";
	args[n++] = NAME;
	if (with_ca) {
		args[n++] = "--ca";
		args[n++] = ca;
	}
	args[n++] = "--timeout";
	args[n++] = timeout;
	args[n++] = "--json";
	args[n++] = "-";
	args[n] = NULL;
	run(args);
}

/* The facts a finding cites, as "name=value" lines. */
static bool finding_cites(const char *rule, const char *fact_name, const char *value)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(res.report, "findings")) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(f, "rule"), *e;

		if (!cJSON_IsString(id) || strcmp(id->valuestring, rule))
			continue;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(f, "evidence")) {
			const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "fact");
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "value");

			if (cJSON_IsString(n) && strcmp(n->valuestring, fact_name) == 0 &&
			    (!value || (cJSON_IsString(v) && strcmp(v->valuestring, value) == 0)))
				return true;
		}
	}
	return false;
}

/* ==== TLS failure classes (no SSH) ====================================================== */

Test(lab_tls, valid_certificate_completes_with_details_and_no_finding, .timeout = 60)
{
	make_ca();
	make_leaf("valid", NAME, "DNS:" NAME ",IP:" HOST, 90);
	start_s_server("valid", HOST, 8441);
	check_tls(8441, true, "5s");
	cr_assert_eq(res.exit_code, 0, "exit %d\n%s", res.exit_code, res.out);
	assert_fact("tls.tcp", "connected");
	assert_fact("tls.handshake", "ok");
	assert_fact("tls.verify", "ok");
	assert_fact("tls.protocol", "TLSv1.3");
	assert_fact("tls.alpn", "http/1.1");
	assert_fact("tls.sni", NAME);
	assert_fact("tls.subject", "CN=" NAME);
	assert_fact("tls.issuer", "CN=meshdoctor Test CA");
	assert_fact("tls.sans", "DNS:" NAME ", IP:" HOST);
	cr_assert(atoi(fact("tls.days_left")) >= 88, "days_left %s", fact("tls.days_left"));
	cr_assert(strlen(fact("tls.cipher")) > 0);
	{
		const char *none[] = { NULL };

		assert_findings(none);
	}
}

Test(lab_tls, expired_certificate, .timeout = 60)
{
	const char *want[] = { "tls-cert-expired", NULL };

	make_ca();
	make_dated("expired", "DNS:" NAME, "20240101000000Z", "20240401000000Z");
	start_s_server("expired", HOST, 8442);
	check_tls(8442, true, "5s");
	assert_fact("tls.handshake", "verify-failed");
	assert_fact("tls.verify", "expired");
	assert_fact("tls.verify_code", "10"); /* X509_V_ERR_CERT_HAS_EXPIRED */
	assert_fact("tls.not_after", "2024-04-01T00:00:00Z");
	cr_assert(atoi(fact("tls.days_left")) < -300, "days_left %s", fact("tls.days_left"));
	assert_findings(want);
	cr_assert_eq(res.exit_code, 2);
}

/* Expired three hours ago: less than a day, and still a negative number of days. */
Test(lab_tls, certificate_expired_hours_ago_has_negative_days_left, .timeout = 60)
{
	const char *want[] = { "tls-cert-expired", NULL };

	make_ca();
	make_dated("recent", "DNS:" NAME, "$(date -u -d '-2 days' +%Y%m%d%H%M%SZ)",
		   "$(date -u -d '-3 hours' +%Y%m%d%H%M%SZ)");
	start_s_server("recent", HOST, 8453);
	check_tls(8453, true, "5s");
	assert_fact("tls.verify", "expired");
	assert_fact("tls.days_left", "-1");
	assert_findings(want);
	cr_assert(strstr(res.out, "expired on "), "%s", res.out);
	cr_assert_null(strstr(res.out, "days left"), "%s", res.out);
}

Test(lab_tls, not_yet_valid_certificate, .timeout = 60)
{
	const char *want[] = { "tls-cert-not-yet-valid", NULL };

	make_ca();
	make_dated("future", "DNS:" NAME, "20900101000000Z", "20910101000000Z");
	start_s_server("future", HOST, 8445);
	check_tls(8445, true, "5s");
	assert_fact("tls.verify", "not-yet-valid");
	assert_fact("tls.verify_code", "9"); /* X509_V_ERR_CERT_NOT_YET_VALID */
	assert_findings(want);
}

Test(lab_tls, certificate_for_another_name, .timeout = 60)
{
	const char *want[] = { "tls-cert-name-mismatch", NULL };

	make_ca();
	make_leaf("wrongname", "other.example.net", "DNS:other.example.net", 90);
	start_s_server("wrongname", HOST, 8443);
	check_tls(8443, true, "5s");
	assert_fact("tls.verify", "hostname-mismatch");
	assert_fact("tls.verify_code", "62"); /* X509_V_ERR_HOSTNAME_MISMATCH */
	assert_fact("tls.sans", "DNS:other.example.net");
	assert_findings(want);
	cr_assert(finding_cites("tls-cert-name-mismatch", "tls.name", NAME), "%s", res.out);
}

Test(lab_tls, self_signed_certificate, .timeout = 60)
{
	const char *want[] = { "tls-cert-self-signed", NULL };

	make_ca();
	make_self_signed("self", "DNS:" NAME);
	start_s_server("self", HOST, 8444);
	check_tls(8444, true, "5s");
	assert_fact("tls.verify", "self-signed");
	assert_fact("tls.verify_code", "18"); /* X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT */
	assert_findings(want);
}

Test(lab_tls, certificate_from_an_unknown_ca_is_untrusted, .timeout = 60)
{
	const char *want[] = { "tls-cert-untrusted", NULL };

	make_ca();
	make_leaf("valid", NAME, "DNS:" NAME, 90);
	start_s_server("valid", HOST, 8449);
	check_tls(8449, false, "5s"); /* the system store does not know the test CA */
	assert_fact("tls.verify", "untrusted");
	assert_fact("tls.verify_code", "20"); /* X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY */
	assert_findings(want);
}

Test(lab_tls, certificate_expiring_within_14_days_is_a_warning, .timeout = 60)
{
	const char *want[] = { "tls-cert-expiring-soon", NULL };

	make_ca();
	make_leaf("soon", NAME, "DNS:" NAME, 5);
	start_s_server("soon", HOST, 8448);
	check_tls(8448, true, "5s");
	assert_fact("tls.verify", "ok");
	assert_fact("tls.handshake", "ok");
	cr_assert(atoi(fact("tls.days_left")) <= 5, "days_left %s", fact("tls.days_left"));
	assert_findings(want);
	cr_assert_eq(res.exit_code, 1, "warnings only");
}

Test(lab_tls, internal_error_alert_is_named, .timeout = 60)
{
	const char *want[] = { "tls-handshake-alert", NULL };

	start_tlsalert("alert", HOST, 8446);
	check_tls(8446, false, "5s");
	assert_fact("tls.tcp", "connected");
	assert_fact("tls.handshake", "alert");
	assert_fact("tls.alert", "internal_error");
	assert_fact("tls.alert_text", "tlsv1 alert internal error");
	cr_assert(strstr(res.out, "SSL alert number 80"), "%s", res.out);
	assert_findings(want);
}

Test(lab_tls, silent_server_costs_the_deadline_and_no_more, .timeout = 60)
{
	const char *want[] = { "tls-handshake-timeout", NULL };

	start_tlsalert("hang", HOST, 8447);
	check_tls(8447, false, "2s");
	assert_fact("tls.tcp", "connected");
	assert_fact("tls.handshake", "timeout");
	cr_assert(strstr(res.out, "SSLv3/TLS write client hello"), "%s", res.out);
	assert_findings(want);
	/* The bar: deadline + 10% at most, for the whole run. */
	cr_assert_leq(res.elapsed_ms, 2200, "run took %lld ms with --timeout 2s",
		      (long long)res.elapsed_ms);
	cr_assert_geq(res.elapsed_ms, 1800, "gave up early: %lld ms", (long long)res.elapsed_ms);
}

Test(lab_tls, plain_http_on_the_tls_port_is_a_handshake_error, .timeout = 60)
{
	const char *want[] = { "tls-handshake-error", NULL };

	start_http(HOST, 8450);
	check_tls(8450, false, "5s");
	assert_fact("tls.handshake", "error");
	cr_assert(strstr(fact("tls.error"), "wrong version number") ||
		  strstr(fact("tls.error"), "packet length too long") ||
		  strstr(fact("tls.error"), "record layer failure"), "%s", fact("tls.error"));
	assert_findings(want);
}

Test(lab_tls, refused_port_when_https_is_expected, .timeout = 60)
{
	const char *want[] = { "tls-port-refused", NULL };

	check_tls(8451, false, "3s");
	assert_fact("tls.tcp", "refused");
	assert_fact("tls.handshake", "skipped");
	assert_fact("tls.expected", "true");
	assert_findings(want);
}

Test(lab_tls, dropped_port_times_out_within_the_deadline, .timeout = 60)
{
	const char *want[] = { "tls-port-timeout", NULL };

	cr_assert_eq(lab_sh(L, srv, "nft add table inet mdtls && nft add chain inet mdtls in "
				    "'{ type filter hook input priority 0; policy accept; }' && "
				    "nft add rule inet mdtls in tcp dport 8452 drop"), 0, "nft");
	check_tls(8452, false, "2s");
	assert_fact("tls.tcp", "timeout");
	assert_findings(want);
	cr_assert_leq(res.elapsed_ms, 2200, "run took %lld ms", (long long)res.elapsed_ms);
}

/* ==== seed 004 on a lab sshd host with the fixture Tailscale CLI ======================== */

static char key[300], kh[300];

/* sshd on HOST:22 whose sessions get PATH with the fixture
 * `tailscale` first (sshd_config SetEnv), and MD_FAKE_TS_DIR pointing at its answers. */
static void start_ts_host(const char *status, const char *serve, const char *prefs,
			  const char *cert_mode)
{
	char extra[1024], cwd[512];
	struct lab_sshd s;

	cr_assert(getcwd(cwd, sizeof(cwd)));
	sh("mkdir -p bin ts && cp %s/fixtures/tailscale/fake-tailscale.sh bin/tailscale && "
	   "chmod 755 bin/tailscale", cwd);
	sh("cp %s/fixtures/tailscale/%s ts/status.json", cwd, status);
	if (serve)
		sh("cp %s/fixtures/tailscale/%s ts/serve.json", cwd, serve);
	if (prefs)
		sh("cp %s/fixtures/tailscale/%s ts/prefs.json", cwd, prefs);
	sh("echo %s > ts/cert-mode", cert_mode);
	/* known_hosts holds the host key, so no first-contact finding. */
	snprintf(extra, sizeof(extra),
		 "SetEnv PATH=%s/bin:/usr/sbin:/usr/bin:/sbin:/bin MD_FAKE_TS_DIR=%s/ts\n", dir, dir);
	cr_assert_eq(lab_sshd_root_host(L, srv, cli, HOST, 22, extra, &s), 0,
		     "sshd does not listen (logs in %s)", dir);
	snprintf(key, sizeof(key), "%s", s.key);
	snprintf(kh, sizeof(kh), "%s", s.kh);
}

/* meshdoctor check root@HOST --probes PROBES. */
static void check_host_probes(const char *probes, const char *timeout, const char *extra1,
			      const char *extra2)
{
	const char *args[24];
	size_t n = 0;

	args[n++] = "check";
	args[n++] = "root@" HOST;
	args[n++] = "--identity";
	args[n++] = key;
	args[n++] = "--known-hosts";
	args[n++] = kh;
	args[n++] = "--no-ssh-config";
	args[n++] = "--probes";
	args[n++] = probes;
	args[n++] = "--rules";
	args[n++] = "rules";
	args[n++] = "--timeout";
	args[n++] = timeout;
	if (extra1)
		args[n++] = extra1;
	if (extra2)
		args[n++] = extra2;
	args[n++] = "--json";
	args[n++] = "-";
	args[n] = NULL;
	run(args);
	assert_fact("ssh.auth", "ok");
}

/* meshdoctor check root@HOST with the ssh, port and tls probes. */
static void check_host(const char *timeout, const char *extra1, const char *extra2)
{
	check_host_probes("ssh,port,tls", timeout, extra1, extra2);
}

Test(lab_tls, seed004_alert_https_not_enabled_is_the_top_finding_tailscale_fixture, .timeout = 90)
{
	start_ts_host("status-seed004-https-off.json", "serve-seed004.json", "prefs-tailscale.json",
		      "hang");
	start_tlsalert("alert", "0.0.0.0", 443);
	start_http("127.0.0.1", 18080);
	check_host("8s", NULL, NULL);
	cr_assert_eq(lab_report_finding_index(res.report, "tls-https-certs-not-enabled"), 0,
		     "not the top finding\n%s", res.out);
	cr_assert(!lab_report_has_finding(res.report, "tls-handshake-alert"), "superseded\n%s", res.out);
	cr_assert(!lab_report_has_finding(res.report, "tls-cert-issue-hangs"), "superseded\n%s", res.out);
	/* The chain's evidence, as the seed found it. */
	assert_fact("tailscale.serve_configured", "true");
	assert_fact("tailscale.serve_proxy", "http://127.0.0.1:18080");
	assert_fact("tailscale.dns_name", SEED_NAME);
	assert_fact("tailscale.control", "tailscale");
	assert_fact("tailscale.cert_domains", "0");
	assert_fact("port.listen.tcp.443", "true");
	assert_fact("port.tcp.443", "open");
	assert_fact("tls.sni", SEED_NAME);
	assert_fact("tls.backend", "answering");
	assert_fact("tls.handshake", "alert");
	assert_fact("tls.alert", "internal_error");
	assert_fact("tls.cert_issue", "hang");
	cr_assert(finding_cites("tls-https-certs-not-enabled", "tls.handshake", "alert"), "%s", res.out);
	cr_assert(finding_cites("tls-https-certs-not-enabled", "tls.alert", "internal_error"), "%s",
		  res.out);
	cr_assert(finding_cites("tls-https-certs-not-enabled", "tls.cert_issue", "hang"), "%s", res.out);
	cr_assert(strstr(res.out, "login.tailscale.com/admin/dns"), "fix missing\n%s", res.out);
	cr_assert(strstr(res.out, "tailscale serve reset"), "%s", res.out);
	cr_assert(strstr(res.out, "tailscale funnel"), "alternative missing\n%s", res.out);
	cr_assert_eq(res.exit_code, 2);
}

Test(lab_tls, seed004_handshake_timeout_and_cert_hang_tailscale_fixture, .timeout = 90)
{
	start_ts_host("status-seed004-https-off.json", "serve-seed004.json", "prefs-tailscale.json",
		      "hang");
	start_tlsalert("hang", "0.0.0.0", 443);
	start_http("127.0.0.1", 18080);
	check_host("6s", NULL, NULL);
	cr_assert_eq(lab_report_finding_index(res.report, "tls-https-certs-not-enabled"), 0,
		     "not the top finding\n%s", res.out);
	cr_assert(!lab_report_has_finding(res.report, "tls-handshake-timeout"), "superseded\n%s",
		  res.out);
	assert_fact("tls.handshake", "timeout");
	assert_fact("tls.cert_issue", "hang");
	cr_assert(finding_cites("tls-https-certs-not-enabled", "tls.handshake", "timeout"), "%s",
		  res.out);
	cr_assert(finding_cites("tls-https-certs-not-enabled", "tls.cert_issue", "hang"), "%s", res.out);
	cr_assert_leq(res.elapsed_ms, 6600, "run took %lld ms with --timeout 6s",
		      (long long)res.elapsed_ms);
}

Test(lab_tls, headscale_variant_says_https_serve_cannot_work_tailscale_fixture, .timeout = 90)
{
	start_ts_host("status-headscale-running.json", "serve-headscale.json", "prefs-headscale.json",
		      "headscale");
	start_tlsalert("alert", "0.0.0.0", 443);
	start_http("127.0.0.1", 3000);
	check_host("6s", NULL, NULL);
	cr_assert_eq(lab_report_finding_index(res.report, "tls-headscale-no-https-certs"), 0,
		     "not the top finding\n%s", res.out);
	cr_assert(!lab_report_has_finding(res.report, "tls-https-certs-not-enabled"),
		  "no admin-console advice under Headscale\n%s", res.out);
	assert_fact("tailscale.control", "headscale");
	assert_fact("tailscale.control_url", "http://sfspark1.local:8080");
	assert_fact("tls.cert_issue", "failed");
	assert_fact("tls.cert_error", "500 Internal Server Error: your Tailscale account does not "
				      "support getting TLS certs");
	cr_assert(finding_cites("tls-headscale-no-https-certs", "tls.cert_error", NULL), "%s", res.out);
	{
		/* The Headscale finding's advice must not send the user to an admin console. */
		const cJSON *f = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(res.report, "findings"), 0);
		char *txt = cJSON_PrintUnformatted(f);

		cr_assert(!strstr(txt, "login.tailscale.com"), "%s", txt);
		cr_assert(strstr(txt, "reverse proxy"), "%s", txt);
		cr_assert(strstr(txt, "ssh -L"), "%s", txt);
		free(txt);
	}
}

Test(lab_tls, serve_backend_down_tailscale_fixture, .timeout = 90)
{
	start_ts_host("status-seed004-https-off.json", "serve-seed004.json", "prefs-tailscale.json",
		      "hang");
	start_tlsalert("alert", "0.0.0.0", 443);
	/* no backend on 18080 */
	check_host("8s", NULL, NULL);
	assert_fact("tls.backend", "down");
	assert_fact("tls.backend_http", "0");
	cr_assert(lab_report_has_finding(res.report, "tls-serve-backend-down"), "%s", res.out);
	cr_assert(!lab_report_has_finding(res.report, "tls-https-certs-not-enabled"),
		  "the chain needs an answering backend\n%s", res.out);
}

Test(lab_tls, serve_configured_but_nothing_on_443_tailscale_fixture, .timeout = 90)
{
	start_ts_host("status-seed004-https-off.json", "serve-seed004.json", "prefs-tailscale.json",
		      "hang");
	start_http("127.0.0.1", 18080);
	check_host("8s", NULL, NULL);
	assert_fact("tls.tcp", "refused");
	assert_fact("port.listen.tcp.443", "false");
	cr_assert_eq(lab_report_finding_index(res.report, "tls-serve-listener-missing"), 0, "%s",
		     res.out);
	cr_assert(!lab_report_has_finding(res.report, "tls-port-refused"), "superseded\n%s", res.out);
}

Test(lab_tls, healthy_serve_host_fires_nothing_tailscale_fixture, .timeout = 90)
{
	char ca[300];

	make_ca();
	make_leaf("serve", SEED_NAME, "DNS:" SEED_NAME, 90);
	start_ts_host("status-seed004-https-on.json", "serve-seed004.json", "prefs-tailscale.json",
		      "ok");
	sh("cp serve.crt ts/cert.pem");
	start_s_server("serve", "0.0.0.0", 443);
	start_http("127.0.0.1", 18080);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	check_host("8s", "--ca", ca);
	assert_fact("tls.handshake", "ok");
	assert_fact("tls.verify", "ok");
	assert_fact("tls.cert_issue", "ok");
	assert_fact("tls.backend", "answering");
	assert_fact("tailscale.cert_domains", "1");
	{
		const char *none[] = { NULL };

		assert_findings(none);
	}
	cr_assert_eq(res.exit_code, 0, "%s", res.out);
}

Test(lab_tls, cert_check_refused_to_the_user_is_only_info_tailscale_fixture, .timeout = 90)
{
	char ca[300];
	const char *want[] = { "tls-cert-issue-denied", NULL };

	make_ca();
	make_leaf("serve", SEED_NAME, "DNS:" SEED_NAME, 90);
	start_ts_host("status-seed004-https-on.json", "serve-seed004.json", "prefs-tailscale.json",
		      "denied");
	start_s_server("serve", "0.0.0.0", 443);
	start_http("127.0.0.1", 18080);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	check_host("8s", "--ca", ca);
	assert_fact("tls.cert_issue", "denied");
	assert_findings(want);
	cr_assert_eq(res.exit_code, 0, "info only\n%s", res.out);
}

/* A healthy serve host (HTTPS certificates enabled) whose tailscaled is slow: `tailscale
 * debug prefs` never answers (the host's limit ends it), `tailscale cert` takes 1.5 s, and
 * the serve answers its first handshake after 2.5 s, the time tailscaled takes to obtain
 * the certificate.  The Tailscale state read before the handshake must leave the handshake
 * its share of the deadline: the handshake completes, and no deadline spent elsewhere is
 * taken for the seed's hang.  (When the prefs could take their full 4 s, the handshake was
 * left about 1.5 s of the 6.5: it timed out, `tailscale cert` was cut off with under a
 * second, and tls-https-certs-not-enabled fired on a healthy host.) */
Test(lab_tls, slow_tailscale_cli_leaves_the_handshake_its_share_tailscale_fixture, .timeout = 90)
{
	const char *ev;
	char ca[300];

	make_ca();
	make_leaf("serve", SEED_NAME, "DNS:" SEED_NAME, 90);
	start_ts_host("status-seed004-https-on.json", "serve-seed004.json", "prefs-tailscale.json",
		      "ok");
	sh("cp serve.crt ts/cert.pem && echo 30 > ts/delay-debug && echo 1.5 > ts/delay-cert");
	start_slow_tls("serve", "0.0.0.0", 443, "2.5");
	start_http("127.0.0.1", 18080);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	check_host_probes("ssh,tls", "6.5s", "--ca", ca);
	cr_assert(!lab_report_has_finding(res.report, "tls-https-certs-not-enabled"),
		  "a deadline spent on the CLI taken for the seed's hang\n%s", res.out);
	cr_assert(!lab_report_has_finding(res.report, "tls-handshake-timeout"), "%s", res.out);
	assert_fact("tailscale.cli", "ok");
	assert_fact("tls.sni", SEED_NAME);
	assert_fact("tls.tcp", "connected");
	assert_fact("tls.handshake", "ok");
	assert_fact("tls.verify", "ok");
	assert_fact("tls.protocol", "TLSv1.3");
	ev = lab_report_evidence(res.report, "tls.handshake");
	cr_assert(ev && strstr(ev, "certificate verified"), "%s", ev ? ev : "(none)");
	cr_assert_geq(atoi(fact("tls.handshake_ms")), 2450, "the server's real wait: %s ms",
		      fact("tls.handshake_ms"));
	assert_fact("tls.cert_issue", "ok");
	/* Within the deadline, with room for a loaded machine: a hang would take 30 s. */
	cr_assert_leq(res.elapsed_ms, 8000, "run took %lld ms with --timeout 6.5s",
		      (long long)res.elapsed_ms);
}
