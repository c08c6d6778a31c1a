/* lab_headscale.c — the headscale probe and rules/headscale.rules end to end.
 *
 * Two namespaces joined by a veth pair: the "host" (10.83.0.2) runs a real sshd and the
 * login server, the client (10.83.0.1) runs meshdoctor.  Headscale and Tailscale cannot
 * run here, so both are FIXTURES, served the way the real ones serve (hence "fixture" in
 * every test name):
 *   - tests/lab/helpers/hsfake, Headscale's HTTP endpoints (/health, /version, /key) on
 *     10.83.0.2:8080, healthy, unhealthy or hanging;
 *   - fixtures/headscale/fake-headscale.sh as `headscale` and `systemctl` on the sshd
 *     host's PATH (sshd_config SetEnv), answering from the JSON fixtures beside it, and
 *     fixtures/tailscale/fake-tailscale.sh as `tailscale` (the node sfspark2).
 * The target's curl of /health runs on the host, inside its namespace (nft there drops it
 * in one test); one test uses a real TLS server (openssl s_server) as an https login server.
 *
 * Run from the repository root, as root: MD_BIN=./meshdoctor MD_BUILD=build build/tests/lab_headscale */
#include "tests/support/lab.h"
#include "tests/support/lab_assert.h"

#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOST "10.83.0.2"
#define URL "http://" HOST ":8080"

static struct lab *L;
static const char *cli, *srv;
static struct lab_md_result res;
static char dir[256], key[300], kh[300], repo[512];
static const char *login_url = URL; /* --login-server */

#define assert_fact(name, want) lab_assert_fact(&res, (name), (want))

static void setup(void)
{
	unsetenv("SSH_AUTH_SOCK");
	memset(&res, 0, sizeof(res));
	L = lab_new("hs");
	cr_assert(L, "lab_new");
	cli = lab_netns(L, "hsc");
	srv = lab_netns(L, "hss");
	cr_assert(cli && srv, "namespaces");
	cr_assert_eq(lab_veth(L, cli, "mdhc0", "10.83.0.1/24", srv, "mdhs0", HOST "/24"), 0, "veth");
	snprintf(dir, sizeof(dir), "%s", lab_dir(L));
	cr_assert(getcwd(repo, sizeof(repo)));
	login_url = URL;
}

static void teardown(void)
{
	lab_md_result_free(&res);
	lab_free(L);
	L = NULL;
}

TestSuite(lab_headscale, .init = setup, .fini = teardown);

/* ==== set-up =========================================================================== */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	cr_assert_eq(lab_sh(L, NULL, "cd %s && %s", dir, cmd), 0, "set-up failed: %s (see %s)", cmd,
		     lab_path(L, "sh.log"));
}

static void wait_port(int port)
{
	cr_assert_eq(lab_wait_tcp(L, cli, HOST, port, 5000), 0, "nothing listens on %s:%d (logs in %s)",
		     HOST, port, dir);
}

/* The Headscale fixture's HTTP server on HOST:8080 (mode: healthy, unhealthy, old, hang). */
static void start_hsfake(const char *mode)
{
	const char *argv[] = { lab_build_path(L, "tests/helpers/hsfake"), mode, HOST, "8080", NULL };

	cr_assert_gt(lab_spawn(L, srv, argv, "hsfake.log"), 0, "hsfake");
	wait_port(8080);
}

/* The CLI's answers: the fixture files for nodes, pre-auth keys and users, the version
 * and the unit's state. */
static void hs_answers(const char *nodes, const char *keys, const char *version, const char *unit)
{
	sh("cp %s/fixtures/headscale/%s hs/nodes.json && cp %s/fixtures/headscale/%s hs/preauthkeys.json && "
	   "cp %s/fixtures/headscale/users-0.29.json hs/users.json && echo %s > hs/version && echo %s > hs/unit",
	   repo, nodes, repo, keys, repo, version, unit);
}

static void start_sshd(int port, const char *hsdir)
{
	char conf[2048], cpath[600], pstr[8], name[64];
	const char *argv[] = { "/usr/sbin/sshd", "-D", "-e", "-f", cpath, "-p", pstr, NULL };

	snprintf(conf, sizeof(conf),
		 "ListenAddress " HOST "\nHostKey %s/hostkey_ed25519\nPidFile %s/sshd%d.pid\n"
		 "AuthorizedKeysFile %s/authorized_keys\nPasswordAuthentication no\n"
		 "KbdInteractiveAuthentication no\nUsePAM no\nPermitRootLogin prohibit-password\n"
		 "StrictModes no\nLogLevel VERBOSE\n"
		 "SetEnv PATH=%s/bin:/usr/sbin:/usr/bin:/sbin:/bin MD_FAKE_HS_DIR=%s/%s MD_FAKE_TS_DIR=%s/ts\n",
		 dir, dir, port, dir, dir, dir, hsdir, dir);
	snprintf(name, sizeof(name), "sshd_config%d", port);
	lab_write_file(lab_path(L, name), conf, 0644);
	snprintf(cpath, sizeof(cpath), "%s/%s", dir, name);
	snprintf(pstr, sizeof(pstr), "%d", port);
	snprintf(name, sizeof(name), "sshd%d.log", port);
	cr_assert_gt(lab_spawn(L, srv, argv, name), 0, "sshd");
	wait_port(port);
}

/* sshd on HOST:22 whose sessions find the fixture `headscale`, `systemctl` and
 * `tailscale` first on PATH, answering from hs/ and ts/. */
static void start_host(void)
{
	char line[1200], *pub = NULL;
	size_t cap = 0;
	FILE *fp;

	snprintf(key, sizeof(key), "%s/client_ed25519", dir);
	snprintf(kh, sizeof(kh), "%s/known_hosts", dir);
	cr_assert_eq(lab_sh(L, NULL, "mkdir -p -m0755 /run/sshd"), 0);
	sh("ssh-keygen -q -t ed25519 -N '' -C lab -f hostkey_ed25519");
	sh("ssh-keygen -q -t ed25519 -N '' -C lab -f client_ed25519");
	sh("cp client_ed25519.pub authorized_keys && chmod 644 authorized_keys");
	sh("mkdir -p bin hs hs2 ts && cp %s/fixtures/headscale/fake-headscale.sh bin/headscale && "
	   "cp %s/fixtures/headscale/fake-headscale.sh bin/systemctl && "
	   "cp %s/fixtures/tailscale/fake-tailscale.sh bin/tailscale && chmod 755 bin/*", repo, repo, repo);
	sh("cp %s/fixtures/tailscale/status-headscale-running.json ts/status.json && "
	   "cp %s/fixtures/tailscale/prefs-headscale.json ts/prefs.json", repo, repo);
	fp = fopen(lab_path(L, "hostkey_ed25519.pub"), "r");
	cr_assert(fp);
	cr_assert_gt(getline(&pub, &cap, fp), 0);
	fclose(fp);
	snprintf(line, sizeof(line), HOST " %s[" HOST "]:2222 %s", pub, pub);
	lab_write_file(kh, line, 0600);
	free(pub);
	start_sshd(22, "hs");
}

/* meshdoctor check root@HOST --probes ssh,tailscale,headscale --login-server URL
 * [--headscale-host HSHOST]. */
static void check_on(const char *timeout, const char *hs_host)
{
	const char *args[] = { "check", "root@" HOST, "--identity", key, "--known-hosts", kh, "--no-ssh-config",
			       "--probes", "ssh,tailscale,headscale", "--rules", "rules", "--timeout", timeout,
			       "--login-server", login_url, "--json", "-", hs_host ? "--headscale-host" : NULL,
			       hs_host, NULL };

	/* The node is on the login server of this test (the tailscale probe compares them). */
	sh("sed -i 's#\"ControlURL\": \"[^\"]*\"#\"ControlURL\": \"%s\"#' ts/prefs.json", login_url);
	lab_md_result_free(&res);
	memset(&res, 0, sizeof(res));
	cr_assert_eq(lab_run_md(L, cli, args, 60000, &res), 0, "lab_run_md");
	cr_assert(res.report, "no JSON report (exit %d)\nstdout: %s\nstderr: %s", res.exit_code, res.out, res.err);
	assert_fact("ssh.auth", "ok");
}

static void check(const char *timeout)
{
	check_on(timeout, NULL);
}

static bool any_headscale_finding(void)
{
	const cJSON *fs = cJSON_GetObjectItemCaseSensitive(res.report, "findings"), *f;

	cJSON_ArrayForEach(f, fs) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(f, "rule");

		if (cJSON_IsString(id) && strncmp(id->valuestring, "headscale-", 10) == 0)
			return true;
	}
	return false;
}

/* cp of fixtures/headscale/NAME to hs/AS. */
static void hs_file(const char *name, const char *as)
{
	sh("cp %s/fixtures/headscale/%s hs/%s", repo, name, as);
}

/* How many commands the target's fixture CLI (hs/) answered. */
static int lab_access_count_hs(void)
{
	FILE *fp = fopen(lab_path(L, "hs/argv.log"), "r");
	int n = 0, ch;

	if (!fp)
		return 0;
	while ((ch = fgetc(fp)) != EOF)
		n += ch == '\n';
	fclose(fp);
	return n;
}

/* Every headscale.* fact of the report carries its evidence; returns how many there are. */
static int assert_headscale_evidence(void)
{
	const cJSON *p, *x;
	int n = 0;

	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(res.report, "probes")) {
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(p, "facts")) {
			const cJSON *name = cJSON_GetObjectItemCaseSensitive(x, "name");
			const cJSON *ev = cJSON_GetObjectItemCaseSensitive(x, "evidence");

			if (!cJSON_IsString(name) || strncmp(name->valuestring, "headscale.", 10) != 0)
				continue;
			n++;
			cr_assert(cJSON_IsString(ev) && ev->valuestring[0], "%s has no evidence", name->valuestring);
		}
	}
	return n;
}

static void assert_top(const char *rule)
{
	cr_assert_eq(lab_report_finding_index(res.report, rule), 0, "%s is not the top finding\n%s", rule, res.out);
}

/* ==== scenarios ======================================================================== */

Test(lab_headscale, healthy_headscale_and_node_exit_0_no_finding_fixture, .timeout = 90)
{
	start_hsfake("healthy");
	start_host();
	hs_answers("nodes-0.29.json", "preauthkeys-0.29.json", "v0.29.2", "active");
	check("8s");
	assert_fact("headscale.http", "ok");
	assert_fact("headscale.health", "pass");
	assert_fact("headscale.health_status", "200");
	assert_fact("headscale.key", "ok");
	assert_fact("headscale.server_version", "v0.29.2");
	assert_fact("headscale.target_reach", "ok");
	assert_fact("headscale.target_reach_status", "200");
	assert_fact("headscale.unit", "active");
	assert_fact("headscale.cli_version", "v0.29.2");
	assert_fact("headscale.node.registered", "true");
	assert_fact("headscale.node.name", "sfspark2");
	assert_fact("headscale.node.online", "true");
	assert_fact("headscale.node.expired", "false");
	assert_fact("headscale.keys_usable", "1");
	cr_assert_gt(assert_headscale_evidence(), 25);
	cr_assert_not(any_headscale_finding(), "%s", res.out);
	cr_assert_eq(res.exit_code, 0, "%s", res.out);
}

Test(lab_headscale, health_failing_is_the_headscale_finding_fixture, .timeout = 90)
{
	start_hsfake("unhealthy");
	start_host();
	hs_answers("nodes-0.29.json", "preauthkeys-0.29.json", "v0.29.2", "active");
	check("8s");
	assert_fact("headscale.health", "fail");
	assert_fact("headscale.health_status", "500");
	assert_top("headscale-unhealthy");
	cr_assert(strstr(lab_report_evidence(res.report, "headscale.health"), "{\"status\":\"fail\"}"), "%s", res.out);
	cr_assert_eq(res.exit_code, 2);
}

/* seeds/002 "Auth key generation failed → Is Headscale running?": nothing on 8080 and the
 * unit inactive. */
Test(lab_headscale, port_8080_refused_and_unit_inactive_is_not_running_fixture, .timeout = 90)
{
	start_host();
	hs_answers("nodes-0.29.json", "preauthkeys-0.29.json", "v0.29.2", "inactive");
	check("8s");
	assert_fact("headscale.http", "refused");
	assert_fact("headscale.unit", "inactive");
	assert_fact("headscale.key", "skipped");
	assert_fact("headscale.target_reach", "failed");
	assert_top("headscale-not-running");
	cr_assert_not(lab_report_has_finding(res.report, "headscale-refused"), "superseded\n%s", res.out);
	cr_assert_not(lab_report_has_finding(res.report, "headscale-target-cannot-reach"),
		      "we cannot reach it either\n%s", res.out);
	cr_assert(strstr(res.out, "systemctl start headscale"), "%s", res.out);
	cr_assert_eq(res.exit_code, 2);
}

Test(lab_headscale, unit_inactive_while_it_answers_is_a_warning_fixture, .timeout = 90)
{
	start_hsfake("healthy");
	start_host();
	hs_answers("nodes-0.29.json", "preauthkeys-0.29.json", "v0.29.2", "failed");
	check("8s");
	assert_fact("headscale.unit", "failed");
	assert_top("headscale-unit-inactive");
	cr_assert_eq(lab_report_n_findings(res.report), 1, "%s", res.out);
	cr_assert_eq(res.exit_code, 1);
}

Test(lab_headscale, target_not_registered_fixture, .timeout = 90)
{
	start_hsfake("old");
	start_host();
	/* The node's name and addresses are in none of the listed nodes (office-one there has
	 * the fixture node's 100.64.0.2: a node of its own is given another). */
	sh("sed -i 's/100\\.64\\.0\\.2\"/100.64.0.99\"/; s/fd7a:115c:a1e0::2\"/fd7a:115c:a1e0::99\"/' "
	   "ts/status.json");
	hs_answers("nodes-0.26.json", "preauthkeys-0.29.json", "v0.29.2", "active");
	check("8s");
	assert_fact("headscale.version_endpoint", "absent");
	assert_fact("headscale.node.registered", "false");
	assert_top("headscale-node-not-registered");
	cr_assert_eq(res.exit_code, 2);
}

/* No usable key, and the keys' secrets in no report and no command line. */
Test(lab_headscale, no_usable_preauth_key_fixture, .timeout = 90)
{
	char *log = NULL;
	size_t cap = 0;
	FILE *fp;

	start_hsfake("healthy");
	start_host();
	hs_answers("nodes-0.29.json", "preauthkeys-0.29-none-usable.json", "v0.29.2", "active");
	check("8s");
	assert_fact("headscale.keys", "2");
	assert_fact("headscale.keys_usable", "0");
	assert_top("headscale-no-usable-key");
	cr_assert_eq(res.exit_code, 1);
	cr_assert_not(strstr(res.out, "VfFcdslQVqUd-t9V3"), "%s", res.out);
	fp = fopen(lab_path(L, "hs/argv.log"), "r");
	cr_assert(fp, "the fixture CLI was not run");
	while (getline(&log, &cap, fp) > 0)
		cr_assert(!strstr(log, "hskey-auth-") && !strstr(log, "--auth-key"), "%s", log);
	free(log);
	fclose(fp);
}

Test(lab_headscale, hanging_server_is_a_timeout_fixture, .timeout = 90)
{
	start_hsfake("hang");
	start_host();
	hs_answers("nodes-0.29.json", "preauthkeys-0.29.json", "v0.29.2", "active");
	check("6s");
	assert_fact("headscale.http", "timeout");
	assert_fact("headscale.version_endpoint", "skipped");
	assert_top("headscale-timeout");
	cr_assert_eq(res.exit_code, 2);
}

/* --headscale-host: the CLI is read on that host (its own answers in hs2/), not on the
 * target. */
Test(lab_headscale, cli_read_on_the_headscale_host_fixture, .timeout = 90)
{
	start_hsfake("healthy");
	start_host();
	hs_answers("nodes-0.26.json", "preauthkeys-0.29.json", "v0.29.2", "active");
	sh("cp %s/fixtures/headscale/nodes-0.29.json hs2/nodes.json && "
	   "cp %s/fixtures/headscale/preauthkeys-0.29.json hs2/preauthkeys.json && "
	   "cp %s/fixtures/headscale/users-0.29.json hs2/users.json && echo v0.28.0 > hs2/version && "
	   "echo failed > hs2/unit", repo, repo, repo);
	start_sshd(2222, "hs2");
	check_on("8s", "root@" HOST ":2222");
	assert_fact("headscale.host", "root@" HOST ":2222");
	assert_fact("headscale.host_ssh", "ok");
	assert_fact("headscale.cli_version", "v0.28.0");
	assert_fact("headscale.node.registered", "true");
	assert_fact("headscale.unit", "failed");
	cr_assert(strstr(lab_report_evidence(res.report, "headscale.unit"), HOST ":2222"), "%s", res.out);
	assert_top("headscale-unit-inactive");
	cr_assert_eq(lab_report_n_findings(res.report), 1, "%s", res.out);
	cr_assert_eq(lab_access_count_hs(), 0, "the target's CLI was asked");
}

Test(lab_headscale, unreachable_headscale_host_is_a_fact_fixture, .timeout = 90)
{
	start_hsfake("healthy");
	start_host();
	hs_answers("nodes-0.29.json", "preauthkeys-0.29.json", "v0.29.2", "active");
	check_on("8s", "root@" HOST ":2223");
	assert_fact("headscale.host_ssh", "failed");
	cr_assert(strstr(lab_report_evidence(res.report, "headscale.host_ssh"), "refused"), "%s", res.out);
	cr_assert_null(lab_fact(&res, "headscale.cli"), "%s", res.out);
	assert_top("headscale-host-unreachable");
}

/* Headscale 0.26: `preauthkeys list` needs --user ID, keys are legacy hex printed in full
 * (never in the report), the target's node expired. */
Test(lab_headscale, headscale_0_26_keys_per_user_and_expired_node_fixture, .timeout = 90)
{
	char *log = NULL;
	size_t cap = 0;
	bool per_user = false;
	FILE *fp;

	start_hsfake("old");
	start_host();
	hs_answers("nodes-0.26.json", "preauthkeys-0.26.json", "v0.26.1", "active");
	hs_file("users-0.26.json", "users.json");
	sh("touch hs/keys-need-user && cp %s/fixtures/tailscale/status-headscale-running.json ts/status.json && "
	   "sed -i 's/sfspark2/office-one/g' ts/status.json", repo);
	check("8s");
	assert_fact("headscale.cli_version", "v0.26.1");
	assert_fact("headscale.version_endpoint", "absent");
	assert_fact("headscale.keys", "2");
	assert_fact("headscale.keys_usable", "1");
	assert_fact("headscale.node.registered", "true");
	assert_fact("headscale.node.name", "office-one");
	assert_fact("headscale.node.expired", "true");
	assert_top("headscale-node-expired");
	assert_headscale_evidence();
	cr_assert_null(lab_fact(&res, "headscale.cli_error"), "%s", res.out);
	cr_assert_not(strstr(res.out, "6c0e3c5ab1f24e0f"), "a legacy key in the report\n%s", res.out);
	cr_assert_not(strstr(res.out, "0f1e2d3c4b5a6978"), "a legacy key in the report\n%s", res.out);
	fp = fopen(lab_path(L, "hs/argv.log"), "r");
	cr_assert(fp);
	while (getline(&log, &cap, fp) > 0)
		per_user |= strstr(log, "preauthkeys list -o json --user 1") != NULL;
	free(log);
	fclose(fp);
	cr_assert(per_user, "no per-user list");
	cr_assert_eq(res.exit_code, 2);
}

/* The login server answers this machine, but the target's packets to it are dropped (nft
 * on the target's namespace): the target cannot reach it while we can. */
Test(lab_headscale, target_cannot_reach_the_login_server_fixture, .timeout = 90)
{
	const char *argv[] = { lab_build_path(L, "tests/helpers/hsfake"), "healthy", "10.83.0.1", "8080", NULL };
	const char *reach;

	cr_assert_gt(lab_spawn(L, cli, argv, "hsfake.log"), 0, "hsfake");
	cr_assert_eq(lab_wait_tcp(L, cli, "10.83.0.1", 8080, 5000), 0, "hsfake on 10.83.0.1:8080");
	start_host();
	hs_answers("nodes-0.29.json", "preauthkeys-0.29.json", "v0.29.2", "active");
	cr_assert_eq(lab_sh(L, srv, "nft add table inet mdhs && nft add chain inet mdhs out "
				    "'{ type filter hook output priority 0; }' && "
				    "nft add rule inet mdhs out tcp dport 8080 drop"), 0, "nft");
	login_url = "http://10.83.0.1:8080";
	check("8s");
	assert_fact("headscale.health", "pass");
	/* curl's own -m 3, or the batch's limit on the host, whichever ends it first. */
	reach = lab_fact(&res, "headscale.target_reach");
	cr_assert(reach && (strcmp(reach, "failed") == 0 || strcmp(reach, "timeout") == 0), "%s", res.out);
	cr_assert(strstr(lab_report_evidence(res.report, "headscale.target_reach"), "curl"), "%s", res.out);
	assert_top("headscale-target-cannot-reach");
	cr_assert_eq(res.exit_code, 2);
}

/* An https login server whose certificate is self-signed (openssl s_server, a real TLS
 * server): the probe's TLS check fails the way tailscaled's would. */
Test(lab_headscale, https_login_server_with_an_untrusted_certificate_fixture, .timeout = 90)
{
	char cert[300], pkey[300];
	const char *argv[] = { "openssl", "s_server", "-accept", HOST ":8443", "-cert", cert, "-key", pkey,
			       "-www", "-quiet", NULL };

	start_host();
	hs_answers("nodes-0.29.json", "preauthkeys-0.29.json", "v0.29.2", "active");
	sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout hs.key -out hs.crt "
	   "-days 90 -subj '/CN=" HOST "' -addext 'subjectAltName=IP:" HOST "' 2>/dev/null");
	snprintf(cert, sizeof(cert), "%s/hs.crt", dir);
	snprintf(pkey, sizeof(pkey), "%s/hs.key", dir);
	cr_assert_gt(lab_spawn(L, srv, argv, "s_server.log"), 0, "s_server");
	wait_port(8443);
	login_url = "https://" HOST ":8443";
	check("8s");
	assert_fact("headscale.http", "tls-error");
	cr_assert(strstr(lab_report_evidence(res.report, "headscale.health"), "certificate verify failed"), "%s",
		  res.out);
	assert_fact("headscale.key", "skipped");
	assert_top("headscale-tls-error");
	cr_assert_eq(res.exit_code, 2);
}
