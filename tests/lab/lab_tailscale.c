/* lab_tailscale.c — the tailscale probe's node state and rules/tailscale.rules end to end,
 * over real SSH.
 *
 * Each test builds two namespaces joined by a veth pair: the "host" (10.83.0.2) runs a real
 * sshd, the client (10.83.0.1) runs meshdoctor.  Tailscale cannot run here, so the host's
 * PATH (sshd_config SetEnv) holds a FIXTURE stand-in for the Tailscale CLI
 * (fixtures/tailscale/fake-tailscale.sh) answering `status --json`, `version`,
 * `debug prefs`, `serve status --json` and `netcheck --format=json` from the fixture files
 * in their real formats, or the CLI's daemon-unreachable messages: every test name says
 * "fixture".  One scenario per rule, and a healthy node on Headscale with no finding.
 *
 * Run from the repository root as root: MD_BIN=./meshdoctor MD_BUILD=build build/tests/lab_tailscale */
#include "tests/support/lab.h"
#include "tests/support/lab_assert.h"

#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOST "10.83.0.2"
#define LOGIN "http://sfspark1.local:8080"

static struct lab *L;
static const char *cli, *srv;
static struct lab_md_result res;
static char dir[256], key[300], kh[300], repo[512];

#define fact(name) lab_fact(&res, (name))
#define assert_fact(name, want) lab_assert_fact(&res, (name), (want))
#define assert_findings(ids) lab_assert_findings(&res, (ids))

static void setup(void)
{
	unsetenv("SSH_AUTH_SOCK");
	memset(&res, 0, sizeof(res));
	cr_assert(getcwd(repo, sizeof(repo)));
	L = lab_new("ts");
	cr_assert(L, "lab_new");
	cli = lab_netns(L, "tsc");
	srv = lab_netns(L, "tss");
	cr_assert(cli && srv, "namespaces");
	cr_assert_eq(lab_veth(L, cli, "mdtsc0", "10.83.0.1/24", srv, "mdtss0", HOST "/24"), 0, "veth");
	snprintf(dir, sizeof(dir), "%s", lab_dir(L));
}

static void teardown(void)
{
	lab_md_result_free(&res);
	lab_free(L);
	L = NULL;
}

TestSuite(lab_tailscale, .init = setup, .fini = teardown);

/* ==== set-up ============================================================================ */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	/* Set-up that touches no network runs in the root namespace. */
	cr_assert_eq(lab_sh(L, NULL, "cd %s && %s", dir, cmd), 0, "set-up failed: %s (see %s)", cmd,
		     lab_path(L, "sh.log"));
}

/* A fixture file into the fake CLI's directory as NAME. */
static void ts_file(const char *fixture, const char *name)
{
	sh("cp %s/fixtures/tailscale/%s ts/%s", repo, fixture, name);
}

/* The fake CLI's directory with status.json (NULL: none) and prefs.json (NULL: none);
 * with_cli false leaves the CLI off the host's PATH. */
static void ts_dir(const char *status, const char *prefs, bool with_cli)
{
	sh("mkdir -p bin ts");
	if (with_cli)
		sh("cp %s/fixtures/tailscale/fake-tailscale.sh bin/tailscale && chmod 755 bin/tailscale",
		   repo);
	if (status)
		ts_file(status, "status.json");
	if (prefs)
		ts_file(prefs, "prefs.json");
}

/* sshd on HOST:22 whose sessions get PATH with dir/bin first and MD_FAKE_TS_DIR, and an
 * SFTP server (remedies write files). */
static void start_host(void)
{
	char extra[1024];
	struct lab_sshd s;

	snprintf(extra, sizeof(extra), "Subsystem sftp internal-sftp\n"
		 "SetEnv PATH=%s/bin:/usr/sbin:/usr/bin:/sbin:/bin MD_FAKE_TS_DIR=%s/ts\n", dir, dir);
	cr_assert_eq(lab_sshd_root_host(L, srv, cli, HOST, 22, extra, &s), 0,
		     "sshd does not listen (logs in %s)", dir);
	snprintf(key, sizeof(key), "%s", s.key);
	snprintf(kh, sizeof(kh), "%s", s.kh);
}

/* meshdoctor check root@HOST --probes ssh,tailscale [--login-server URL] [extra] --json -. */
static void check_extra(const char *login_server, const char *extra)
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
	args[n++] = "ssh,tailscale";
	args[n++] = "--rules";
	args[n++] = "rules";
	args[n++] = "--timeout";
	args[n++] = "10s";
	if (login_server) {
		args[n++] = "--login-server";
		args[n++] = login_server;
	}
	if (extra)
		args[n++] = extra;
	args[n++] = "--json";
	args[n++] = "-";
	args[n] = NULL;
	lab_md_result_free(&res);
	memset(&res, 0, sizeof(res));
	cr_assert_eq(lab_run_md(L, cli, args, 60000, &res), 0, "lab_run_md");
	cr_assert(res.report, "no JSON report (exit %d)\nstdout: %s\nstderr: %s", res.exit_code,
		  res.out, res.err);
	assert_fact("ssh.auth", "ok");
}

static void check(const char *login_server)
{
	check_extra(login_server, NULL);
}

/* What the fake CLI was asked, one call a line. */
static char *argv_log(void)
{
	FILE *fp = fopen(lab_path(L, "ts/argv.log"), "r");
	static char buf[4096];
	size_t n;

	cr_assert(fp, "the fixture CLI was never run");
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static void assert_top(const char *rule, int exit_code)
{
	cr_assert_eq(lab_report_finding_index(res.report, rule), 0, "%s not the top finding\n%s", rule,
		     res.out);
	cr_assert_eq(res.exit_code, exit_code, "exit %d\n%s", res.exit_code, res.out);
}

/* The text of the report's findings, to look for advice. */
static bool findings_say(const char *text)
{
	char *s = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(res.report, "findings"));
	bool found = s && strstr(s, text);

	free(s);
	return found;
}

/* --json: every tailscale.* fact of the report comes with its evidence; their number. */
static int assert_ts_evidence(void)
{
	const cJSON *p, *x;
	int n = 0;

	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(res.report, "probes"))
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(p, "facts")) {
			const cJSON *name = cJSON_GetObjectItemCaseSensitive(x, "name");
			const cJSON *ev = cJSON_GetObjectItemCaseSensitive(x, "evidence");

			if (!cJSON_IsString(name) || strncmp(name->valuestring, "tailscale.", 10))
				continue;
			n++;
			cr_assert(cJSON_IsString(ev) && ev->valuestring[0], "%s has no evidence\n%s",
				  name->valuestring, res.out);
		}
	return n;
}

/* ==== a healthy node ==================================================================== */

Test(lab_tailscale, healthy_headscale_node_has_no_finding_fixture, .timeout = 60)
{
	int n_ts;

	ts_dir("status-headscale-running.json", "prefs-headscale.json", true);
	ts_file("serve-headscale.json", "serve.json");
	start_host();
	check(LOGIN);
	{
		const char *none[] = { NULL };

		assert_findings(none);
	}
	cr_assert_eq(res.exit_code, 0, "%s", res.out);
	assert_fact("tailscale.daemon", "reachable");
	assert_fact("tailscale.backend_state", "Running");
	assert_fact("tailscale.control", "headscale");
	assert_fact("tailscale.control_matches", "true");
	assert_fact("tailscale.client_version", "1.86.2");
	assert_fact("tailscale.version_skew", "false");
	assert_fact("tailscale.peers_direct", "1");
	assert_fact("tailscale.peers_derp", "1");
	assert_fact("tailscale.netcheck", "not-needed");
	assert_fact("tailscale.health_count", "0");
	/* One round trip of four reads; netcheck was not needed. */
	cr_assert_str_eq(argv_log(), "status --json\nversion\nserve status --json\ndebug prefs\n");
	/* The peers table, one row a peer. */
	{
		const cJSON *p, *peers = NULL, *row;
		int n = 0;

		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(res.report, "probes")) {
			const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "name"));

			if (name && strcmp(name, "tailscale") == 0)
				peers = cJSON_GetObjectItemCaseSensitive(
					cJSON_GetObjectItemCaseSensitive(p, "tables"), "peers");
		}
		cr_assert(cJSON_IsArray(peers), "no peers table\n%s", res.out);
		cJSON_ArrayForEach(row, peers) {
			const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "path"));

			n++;
			cr_assert(path && (strcmp(path, "direct") == 0 || strcmp(path, "derp") == 0), "%s",
				  res.out);
		}
		cr_assert_eq(n, 2, "%s", res.out);
	}
	/* --json: every tailscale.* fact comes with its evidence. */
	n_ts = assert_ts_evidence();
	cr_assert_geq(n_ts, 30, "only %d tailscale.* facts\n%s", n_ts, res.out);
}

/* ==== login ============================================================================= */

Test(lab_tailscale, needslogin_on_headscale_029_names_auth_register_fixture, .timeout = 60)
{
	ts_dir("status-needslogin.json", "prefs-headscale.json", true);
	start_host();
	check(LOGIN);
	assert_top("tailscale-needs-login-headscale-auth-id", 2);
	cr_assert(!lab_report_has_finding(res.report, "tailscale-needs-login"), "superseded\n%s", res.out);
	assert_fact("tailscale.register_id", "hskey-authreq-Z8cJYxCMdhbRP-QE5Ftu13RS");
	cr_assert(findings_say("headscale auth register --auth-id hskey-authreq-Z8cJYxCMdhbRP-QE5Ftu13RS "
			       "--user USER"), "%s", res.out);
	assert_ts_evidence();
}

Test(lab_tailscale, needslogin_on_older_headscale_names_nodes_register_fixture, .timeout = 60)
{
	ts_dir("status-needslogin-hs026.json", "prefs-headscale.json", true);
	start_host();
	check(NULL);
	assert_top("tailscale-needs-login-headscale", 2);
	cr_assert(findings_say("headscale nodes register --user USER --key Z8cJYxCMdhbRPQE5Ftu13RSa"),
		  "%s", res.out);
}

Test(lab_tailscale, failed_login_shows_its_error_fixture, .timeout = 60)
{
	ts_dir("status-login-error.json", "prefs-logged-out.json", true);
	start_host();
	check(NULL);
	assert_top("tailscale-login-error", 2);
	cr_assert(findings_say("lookup sfspark1.local: no such host"), "%s", res.out);
}

Test(lab_tailscale, machine_waiting_for_approval_fixture, .timeout = 60)
{
	ts_dir("status-needs-machine-auth.json", "prefs-tailscale.json", true);
	start_host();
	check(NULL);
	assert_top("tailscale-needs-machine-auth", 2);
}

Test(lab_tailscale, expired_node_key_fixture, .timeout = 60)
{
	ts_dir("status-key-expired.json", "prefs-headscale.json", true);
	start_host();
	check(NULL);
	assert_top("tailscale-key-expired", 2);
	cr_assert(!lab_report_has_finding(res.report, "tailscale-needs-login"), "superseded\n%s", res.out);
	assert_fact("tailscale.key_expired", "true");
}

/* The expiry is two and a half days from now, written when the test runs: the fixture's shape
 * with a date this run's clock puts in the warning window. */
Test(lab_tailscale, node_key_expiring_soon_is_a_warning_fixture, .timeout = 60)
{
	ts_dir(NULL, "prefs-headscale.json", true);
	sh("sed \"s/2026-09-03T09:00:00Z/$(date -u -d '+2 days +12 hours' +%%Y-%%m-%%dT%%H:%%M:%%SZ)/\" "
	   "%s/fixtures/tailscale/status-key-expiring.json > ts/status.json", repo);
	start_host();
	check(NULL);
	{
		const char *want[] = { "tailscale-key-expiring", NULL };

		assert_findings(want);
	}
	cr_assert_eq(res.exit_code, 1, "%s", res.out);
	assert_fact("tailscale.key_expiry_days", "2");
}

/* ==== state ============================================================================= */

Test(lab_tailscale, stopped_node_fixture, .timeout = 60)
{
	ts_dir("status-stopped.json", "prefs-stopped.json", true);
	start_host();
	check(NULL);
	{
		const char *want[] = { "tailscale-stopped", NULL };

		assert_findings(want);
	}
	assert_fact("tailscale.want_running", "false");
}

Test(lab_tailscale, backend_in_nostate_fixture, .timeout = 60)
{
	ts_dir("status-nostate.json", "prefs-headscale.json", true);
	start_host();
	check(NULL);
	assert_top("tailscale-nostate", 2);
	cr_assert(findings_say("--unattended"), "%s", res.out);
}

Test(lab_tailscale, daemon_not_running_on_linux_fixture, .timeout = 60)
{
	ts_dir("status-headscale-running.json", "prefs-headscale.json", true);
	ts_file("unreachable-linux.txt", "daemon-down");
	start_host();
	check(NULL);
	assert_top("tailscale-daemon-not-running-linux", 2);
	cr_assert(!lab_report_has_finding(res.report, "tailscale-daemon-not-running"), "%s", res.out);
	assert_fact("tailscale.daemon", "unreachable");
	assert_fact("tailscale.daemon_hint", "linux");
	assert_fact("tailscale.daemon_error", "failed to connect to local tailscaled; it doesn't appear "
					      "to be running (sudo systemctl start tailscaled ?)");
	assert_fact("tailscale.client_version", "1.86.2");
	cr_assert(findings_say("systemctl enable --now tailscaled"), "%s", res.out);
	assert_ts_evidence();
}

/* The other platforms' wording of the same failure, each with its own advice. */
Test(lab_tailscale, daemon_unreachable_macos_and_socket_wording_fixture, .timeout = 60)
{
	static const char *const cases[][3] = {
		{ "unreachable-macos.txt", "tailscale-daemon-not-running-macos", "open -a Tailscale" },
		{ "unreachable-socket.txt", "tailscale-daemon-socket-error", "tailscaled.sock" },
	};

	ts_dir("status-headscale-running.json", "prefs-headscale.json", true);
	start_host();
	for (size_t i = 0; i < 2; i++) {
		ts_file(cases[i][0], "daemon-down");
		check(NULL);
		assert_top(cases[i][1], 2);
		cr_assert(!lab_report_has_finding(res.report, "tailscale-daemon-not-running"), "%s",
			  res.out);
		cr_assert(findings_say(cases[i][2]), "%s: %s", cases[i][1], res.out);
	}
}

Test(lab_tailscale, cli_not_installed_on_a_mesh_host_fixture, .timeout = 60)
{
	ts_dir(NULL, NULL, false);
	start_host();
	check(LOGIN);
	assert_top("tailscale-not-installed", 2);
	assert_fact("tailscale.cli", "missing");
}

/* ==== control server, paths, DNS, health, versions ===================================== */

Test(lab_tailscale, logged_in_to_another_control_server_fixture, .timeout = 60)
{
	ts_dir("status-headscale-running.json", "prefs-other-server.json", true);
	start_host();
	check(LOGIN);
	{
		const char *want[] = { "tailscale-wrong-control-server", NULL };

		assert_findings(want);
	}
	assert_fact("tailscale.control_matches", "false");
	cr_assert(findings_say("--login-server " LOGIN " --force-reauth"), "%s", res.out);
}

Test(lab_tailscale, derp_only_with_udp_blocked_fixture, .timeout = 60)
{
	ts_dir("status-derp-only.json", "prefs-headscale.json", true);
	ts_file("netcheck-udp-blocked.json", "netcheck.json");
	start_host();
	check(NULL);
	{
		const char *want[] = { "tailscale-udp-blocked", NULL };

		assert_findings(want);
	}
	assert_fact("tailscale.netcheck", "ok");
	assert_fact("tailscale.netcheck_udp", "false");
	cr_assert(strstr(argv_log(), "netcheck --format=json\n"), "%s", argv_log());
	assert_ts_evidence();
}

Test(lab_tailscale, derp_only_with_udp_working_fixture, .timeout = 60)
{
	ts_dir("status-derp-only.json", "prefs-headscale.json", true);
	ts_file("netcheck-udp-ok.json", "netcheck.json");
	start_host();
	check(NULL);
	{
		const char *want[] = { "tailscale-peers-derp-only", NULL };

		assert_findings(want);
	}
	cr_assert_eq(res.exit_code, 1, "%s", res.out);
	assert_fact("tailscale.netcheck_udp", "true");
}

/* Asked for, netcheck runs on a healthy node too (alone, after the batch). */
Test(lab_tailscale, netcheck_when_asked_on_a_healthy_node_fixture, .timeout = 60)
{
	ts_dir("status-headscale-running.json", "prefs-headscale.json", true);
	ts_file("netcheck-udp-ok.json", "netcheck.json");
	start_host();
	check_extra(LOGIN, "--netcheck");
	{
		const char *none[] = { NULL };

		assert_findings(none);
	}
	cr_assert_eq(res.exit_code, 0, "%s", res.out);
	assert_fact("tailscale.netcheck", "ok");
	assert_fact("tailscale.netcheck_udp", "true");
	assert_fact("tailscale.netcheck_derp", "4");
	assert_fact("tailscale.netcheck_mapping_varies", "false");
	cr_assert_str_eq(argv_log(), "status --json\nversion\nserve status --json\ndebug prefs\n"
				     "netcheck --format=json\n");
}

Test(lab_tailscale, health_warnings_fixture, .timeout = 60)
{
	ts_dir("status-health-warnings.json", "prefs-headscale.json", true);
	start_host();
	check(NULL);
	{
		const char *want[] = { "tailscale-health-warnings", NULL };

		assert_findings(want);
	}
	assert_fact("tailscale.health_count", "2");
	cr_assert(findings_say("Tailscale couldn't listen for incoming UDP connections."), "%s", res.out);
}

Test(lab_tailscale, cli_and_daemon_version_skew_fixture, .timeout = 60)
{
	ts_dir("status-headscale-running.json", "prefs-headscale.json", true);
	ts_file("version-1.80.3.txt", "version.txt");
	ts_file("stderr-version-skew.txt", "status.stderr");
	start_host();
	check(NULL);
	{
		const char *want[] = { "tailscale-version-skew", NULL };

		assert_findings(want);
	}
	assert_fact("tailscale.client_version", "1.80.3");
	cr_assert(strstr(lab_report_evidence(res.report, "tailscale.version_skew"),
			 "Warning: client version \"1.80.3-t4c2e8a1b9-g0f1e2d3c4\" != tailscaled server "
			 "version \"1.86.2-tb1a9c3e4f-gd8c7b6a5e\""), "%s", res.out);
}

/* The target is named by its MagicDNS name (an ssh_config alias here), and the node
 * does not use Tailscale's DNS. */
Test(lab_tailscale, magicdns_name_with_accept_dns_off_fixture, .timeout = 60)
{
	char cfg[300], text[1200];
	const char *args[] = { "check", "sfspark2.mesh.internal", "-F", cfg, "--probes", "ssh,tailscale",
			       "--rules", "rules", "--timeout", "10s", "--json", "-", NULL };

	ts_dir("status-headscale-running.json", "prefs-corpdns-off.json", true);
	start_host();
	snprintf(cfg, sizeof(cfg), "%s/ssh_config", dir);
	snprintf(text, sizeof(text),
		 "Host sfspark2.mesh.internal\n  HostName " HOST "\n  User root\n  IdentityFile %s\n"
		 "  IdentitiesOnly yes\n  UserKnownHostsFile %s\n", key, kh);
	lab_write_file(cfg, text, 0644);
	lab_md_result_free(&res);
	memset(&res, 0, sizeof(res));
	cr_assert_eq(lab_run_md(L, cli, args, 60000, &res), 0, "lab_run_md");
	cr_assert(res.report, "no report\n%s\n%s", res.out, res.err);
	assert_fact("ssh.auth", "ok");
	assert_fact("tailscale.target_magicdns", "true");
	{
		const char *want[] = { "tailscale-magicdns-off", NULL };

		assert_findings(want);
	}
}

/* ==== fix: start-tailscaled ============================================================== */

/* meshdoctor fix root@HOST --probes ssh,tailscale --yes --json - (or --dry-run). */
static void fix(const char *mode)
{
	const char *args[] = { "fix", "root@" HOST, "--identity", key, "--known-hosts", kh,
			       "--no-ssh-config", "--probes", "ssh,tailscale", "--rules", "rules",
			       "--timeout", "10s", mode, "--json", "-", NULL };

	lab_md_result_free(&res);
	memset(&res, 0, sizeof(res));
	cr_assert_eq(lab_run_md(L, cli, args, 60000, &res), 0, "lab_run_md");
}

static char *systemctl_log(void)
{
	char path[400];
	FILE *fp;
	char *text = calloc(1, 4096);

	snprintf(path, sizeof(path), "%s/ts/systemctl.log", dir);
	fp = fopen(path, "r");
	if (fp && text) {
		size_t n = fread(text, 1, 4095, fp);

		text[n] = '\0';
	}
	if (fp)
		fclose(fp);
	return text;
}

Test(lab_tailscale, fix_starts_tailscaled_and_the_check_after_finds_it_running_fixture,
     .timeout = 90)
{
	const cJSON *after;
	char *log;

	ts_dir("status-headscale-running.json", "prefs-headscale.json", true);
	ts_file("unreachable-linux.txt", "daemon-down");
	sh("cp %s/fixtures/tailscale/fake-systemctl.sh bin/systemctl && chmod 755 bin/systemctl", repo);
	start_host();

	fix("--dry-run");
	cr_assert(strstr(res.err, "start-tailscaled on root@" HOST ": 1 step"), "%s", res.err);
	cr_assert(strstr(res.err, "  1. would run: systemctl enable --now tailscaled\n"), "%s", res.err);
	log = systemctl_log();
	cr_assert_str_empty(log, "the dry run ran systemctl: %s", log);
	free(log);

	fix("--yes");
	cr_assert(res.report, "no JSON (exit %d)\n%s\n%s", res.exit_code, res.out, res.err);
	cr_assert(lab_report_has_finding(cJSON_GetObjectItemCaseSensitive(res.report, "before"),
					 "tailscale-daemon-not-running-linux"), "%s", res.err);
	after = cJSON_GetObjectItemCaseSensitive(res.report, "after");
	cr_assert_eq(lab_report_n_findings(after), 0, "findings after the fix\n%s", res.out);
	cr_assert(strstr(res.err, "start-tailscaled: verified: tailscale.daemon = reachable"), "%s",
		  res.err);
	cr_assert_eq(res.exit_code, 0, "exit %d\n%s", res.exit_code, res.err);
	log = systemctl_log();
	cr_assert_str_eq(log, "enable --now tailscaled\n");
	free(log);
}

Test(lab_tailscale, fix_stops_at_a_failing_systemctl_with_its_words_fixture, .timeout = 90)
{
	ts_dir("status-headscale-running.json", "prefs-headscale.json", true);
	ts_file("unreachable-linux.txt", "daemon-down");
	sh("cp %s/fixtures/tailscale/fake-systemctl.sh bin/systemctl && chmod 755 bin/systemctl && "
	   "echo 'Failed to enable unit: Unit file tailscaled.service does not exist.' > "
	   "ts/systemctl-fails", repo);
	start_host();
	fix("--yes");
	cr_assert_eq(res.exit_code, 2, "exit %d\n%s", res.exit_code, res.err);
	cr_assert(strstr(res.err, "start-tailscaled: step 1 (start tailscaled now and at every boot "
			 "(systemd)) failed: exit 1: Failed to enable unit: Unit file "
			 "tailscaled.service does not exist."), "%s", res.err);
}

/* ==== fix: tailscale-up ================================================================== */

#define AUTHKEY "hskey-auth-Xb3RvcFqYb7n-7k3cY5vWwLkR0Rm9LqzQbyFT2hJ8"

static void fix_up(const char *mode, const char *keyfile)
{
	const char *args[] = { "fix", "root@" HOST, "--identity", key, "--known-hosts", kh,
			       "--no-ssh-config", "--probes", "ssh,tailscale", "--rules", "rules",
			       "--timeout", "10s", "--login-server", LOGIN, "--authkey-file",
			       keyfile, mode, "--json", "-", NULL };

	lab_md_result_free(&res);
	memset(&res, 0, sizeof(res));
	cr_assert_eq(lab_run_md(L, cli, args, 90000, &res), 0, "lab_run_md");
}

static bool file_has(const char *rel, const char *text)
{
	char path[400], buf[8192] = "";
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fp = fopen(path, "r");
	if (!fp)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return strstr(buf, text) != NULL;
}

Test(lab_tailscale, fix_moves_the_node_to_the_login_server_with_a_key_file_fixture,
     .timeout = 120)
{
	char keyfile[400];

	ts_dir("status-headscale-running.json", "prefs-other-server.json", true);
	ts_file("status-headscale-running.json", "up-status.json");
	ts_file("prefs-headscale.json", "up-prefs.json");
	sh("printf '%%s\\n' %s > ts/expected-authkey && printf '%%s\\n' %s > authkey && "
	   "chmod 600 authkey", AUTHKEY, AUTHKEY);
	snprintf(keyfile, sizeof(keyfile), "%s/authkey", dir);
	start_host();

	fix_up("--dry-run", keyfile);
	cr_assert(strstr(res.err, "tailscale-up on root@" HOST ": 2 steps"), "%s", res.err);
	cr_assert(strstr(res.err, "would write .meshdoctor-authkey (mode 0600, "), "%s", res.err);
	cr_assert(strstr(res.err, "      | <auth key from "), "%s", res.err);
	cr_assert(strstr(res.err, "--auth-key=file:.meshdoctor-authkey --timeout=20s --reset "
			 "--force-reauth"), "%s", res.err);
	cr_assert_null(strstr(res.err, "Xb3RvcFq"), "the dry run shows the key:\n%s", res.err);
	cr_assert(!file_has("ts/argv.log", "up "), "the dry run ran tailscale up");

	fix_up("--yes", keyfile);
	cr_assert(res.report, "no JSON (exit %d)\n%s\n%s", res.exit_code, res.out, res.err);
	cr_assert(lab_report_has_finding(cJSON_GetObjectItemCaseSensitive(res.report, "before"),
					 "tailscale-wrong-control-server"), "%s", res.err);
	cr_assert_eq(lab_report_n_findings(cJSON_GetObjectItemCaseSensitive(res.report, "after")), 0,
		     "%s", res.err);
	cr_assert(strstr(res.err, "tailscale-up: verified: tailscale.backend_state = Running"), "%s",
		  res.err);
	cr_assert_eq(res.exit_code, 0, "exit %d\n%s", res.exit_code, res.err);
	cr_assert(file_has("ts/up-authkey-seen", "yes"), "the fixture CLI did not get the key");
	cr_assert(file_has("ts/argv.log", "up --login-server=" LOGIN " --auth-key=file:"
			   ".meshdoctor-authkey"), "argv.log");
	cr_assert(!file_has("ts/argv.log", "Xb3RvcFq"), "the key is in an argv on the host");
	cr_assert_null(strstr(res.out, "Xb3RvcFq"), "the report has the key");
	cr_assert_null(strstr(res.err, "Xb3RvcFq"), "stderr has the key");
	cr_assert_neq(access("/root/.meshdoctor-authkey", F_OK), 0, "the key file was left behind");
}

Test(lab_tailscale, fix_with_a_key_the_server_refuses_stops_with_its_words_fixture,
     .timeout = 120)
{
	char keyfile[400];

	ts_dir("status-headscale-running.json", "prefs-other-server.json", true);
	sh("echo hskey-auth-expected > ts/expected-authkey && echo hskey-auth-wrong > authkey && "
	   "chmod 600 authkey");
	snprintf(keyfile, sizeof(keyfile), "%s/authkey", dir);
	start_host();
	fix_up("--yes", keyfile);
	cr_assert_eq(res.exit_code, 2, "exit %d\n%s", res.exit_code, res.err);
	cr_assert(strstr(res.err, "failed: exit 1: backend error: invalid key: unable to validate "
			 "API key"), "%s", res.err);
	cr_assert_neq(access("/root/.meshdoctor-authkey", F_OK), 0, "the key file was left behind");
}

/* NeedsLogin on Headscale: the finding is the registration (advice), the one it refines
 * is tailscale-up, which fix applies with the key. */
Test(lab_tailscale, fix_logs_a_waiting_node_in_with_the_key_fixture, .timeout = 120)
{
	char keyfile[400];

	ts_dir("status-needslogin.json", "prefs-headscale.json", true);
	ts_file("status-headscale-running.json", "up-status.json");
	sh("echo %s > authkey && chmod 600 authkey", AUTHKEY);
	snprintf(keyfile, sizeof(keyfile), "%s/authkey", dir);
	start_host();
	fix_up("--yes", keyfile);
	cr_assert(res.report, "no JSON (exit %d)\n%s\n%s", res.exit_code, res.out, res.err);
	cr_assert(lab_report_has_finding(cJSON_GetObjectItemCaseSensitive(res.report, "before"),
					 "tailscale-needs-login-headscale-auth-id"), "%s", res.err);
	cr_assert(strstr(res.err, "tailscale-needs-login-headscale-auth-id: advice only, remedy "
			 "headscale-register"), "%s", res.err);
	cr_assert(strstr(res.err, "tailscale-up: verified: tailscale.backend_state = Running"), "%s",
		  res.err);
	cr_assert_eq(res.exit_code, 0, "exit %d\n%s", res.exit_code, res.err);
}

/* ==== provision ========================================================================== */

/* An HTTP server in the host's namespace serving www/install.sh, a fixture install script
 * that puts the fixture CLI on the host's PATH, as the real one installs tailscale. */
static void serve_install_script(void)
{
	char www[400];
	const char *argv[] = { "python3", "-m", "http.server", "8000", "--bind", HOST,
			       "--directory", www, NULL };

	snprintf(www, sizeof(www), "%s/www", dir);
	sh("mkdir -p www && printf '#!/bin/sh\\nset -e\\ncp %s/fixtures/tailscale/fake-tailscale.sh "
	   "%s/bin/tailscale\\nchmod 755 %s/bin/tailscale\\necho \"Installation complete! Log in to "
	   "start using Tailscale by running:\"\\n' > www/install.sh", repo, dir, dir);
	cr_assert_gt(lab_spawn(L, srv, argv, "http.log"), 0, "http.server");
	cr_assert_eq(lab_wait_tcp(L, cli, HOST, 8000, 10000), 0, "http.server does not listen");
}

static void provision(const char *keyfile)
{
	const char *args[] = { "provision", "root@" HOST, "--identity", key, "--known-hosts", kh,
			       "--no-ssh-config", "--timeout", "10s", "--login-server", LOGIN,
			       "--authkey-file", keyfile, "--install-url",
			       "http://" HOST ":8000/install.sh", "--yes", NULL };

	lab_md_result_free(&res);
	memset(&res, 0, sizeof(res));
	cr_assert_eq(lab_run_md(L, cli, args, 120000, &res), 0, "lab_run_md");
}

Test(lab_tailscale, provision_installs_logs_in_and_a_second_run_changes_nothing_fixture,
     .timeout = 180)
{
	char keyfile[400];

	ts_dir("status-needslogin.json", "prefs-headscale.json", false);
	ts_file("status-headscale-running.json", "up-status.json");
	sh("printf '%%s\\n' %s > ts/expected-authkey && printf '%%s\\n' %s > authkey && "
	   "chmod 600 authkey", AUTHKEY, AUTHKEY);
	snprintf(keyfile, sizeof(keyfile), "%s/authkey", dir);
	start_host();
	serve_install_script();

	provision(keyfile);
	cr_assert_eq(res.exit_code, 0, "exit %d\nstdout: %s\nstderr: %s", res.exit_code, res.out,
		     res.err);
	cr_assert(strstr(res.err, "[1/4] prepare-sudo on root@" HOST ": nothing to do"), "%s", res.err);
	cr_assert(strstr(res.err, "[2/4] install-tailscale on root@" HOST ": 2 steps"), "%s", res.err);
	cr_assert(strstr(res.err, "install-tailscale: applied 2 of 2 steps"), "%s", res.err);
	cr_assert(strstr(res.err, "[3/4] start-tailscaled on root@" HOST ": nothing to do"), "%s",
		  res.err);
	cr_assert(strstr(res.err, "tailscale-up: applied 2 of 2 steps"), "%s", res.err);
	cr_assert(strstr(res.out, "provisioned: root@" HOST " is Running on " LOGIN " with 100.64."),
		  "%s", res.out);
	cr_assert(file_has("ts/up-authkey-seen", "yes"));
	cr_assert(!file_has("ts/argv.log", "Xb3RvcFq"), "the key is in an argv on the host");
	cr_assert_null(strstr(res.err, "Xb3RvcFq"));
	cr_assert_neq(access("/root/.meshdoctor-tailscale-install.sh", F_OK), 0, "script left behind");
	cr_assert_neq(access("/root/.meshdoctor-authkey", F_OK), 0, "key file left behind");

	/* Again: every step has nothing to do. */
	sh("rm -f ts/argv.log");
	provision(keyfile);
	cr_assert_eq(res.exit_code, 0, "exit %d\n%s", res.exit_code, res.err);
	cr_assert(strstr(res.err, "[2/4] install-tailscale on root@" HOST ": nothing to do"), "%s",
		  res.err);
	cr_assert(strstr(res.err, "[4/4] tailscale-up on root@" HOST ": nothing to do"), "%s", res.err);
	cr_assert_null(strstr(res.err, "applied"), "%s", res.err);
	cr_assert(!file_has("ts/argv.log", "up "), "tailscale up ran again");
	cr_assert(strstr(res.out, "provisioned: "), "%s", res.out);
}
