/* test_tailscale.c — the Tailscale probe (probes/tailscale.c): its parsers on fixtures, and
 * its reads of the CLI over a replay session, batched on POSIX hosts and through the
 * PowerShell limit script on Windows.
 *
 * Tailscale is a FIXTURE here: fixtures/tailscale/ holds `tailscale status --json`,
 * `tailscale serve status --json` and `tailscale debug prefs` output in the real formats
 * (docs/tailscale.md).  There is no PowerShell here either: Windows commands are checked by
 * decoding them. */
#include "core/facts.h"
#include "core/hostbatch.h"
#include "core/hostcmd.h"
#include "core/session.h"
#include "probes/probe.h"
#include "probes/tailscale.h"
#include "tests/support/fixture.h"
#include "tests/support/session_replay.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct md_probe probe_tailscale;

TestSuite(tailscale, .timeout = 15);

static char *fixture(const char *name)
{
	return test_fixture("tailscale", name);
}

/* ==== tailscale status --json ========================================================== */

Test(tailscale, status_of_the_seed_host_tailscale_fixture)
{
	char *j = fixture("status-seed004-https-off.json");
	struct md_ts_status st;

	cr_assert_eq(md_ts_parse_status(j, &st, NULL), MD_OK);
	cr_assert_str_eq(st.backend_state, "Running");
	cr_assert_str_eq(st.dns_name, "mneme-macbook-pro14.ayu-scylla.ts.net", "trailing dot removed");
	cr_assert_str_eq(st.magicdns_suffix, "ayu-scylla.ts.net");
	cr_assert_str_eq(st.tailnet, "l@example.com");
	cr_assert_str_eq(st.os, "macOS");
	cr_assert_eq(st.cert_domains, 0, "CertDomains null: HTTPS not enabled");
	free(j);
}

Test(tailscale, status_with_https_enabled_lists_cert_domains_tailscale_fixture)
{
	char *j = fixture("status-seed004-https-on.json");
	struct md_ts_status st;

	cr_assert_eq(md_ts_parse_status(j, &st, NULL), MD_OK);
	cr_assert_eq(st.cert_domains, 1);
	cr_assert_str_eq(st.cert_domain, "mneme-macbook-pro14.ayu-scylla.ts.net");
	free(j);
}

Test(tailscale, status_of_a_headscale_node_tailscale_fixture)
{
	char *j = fixture("status-headscale-running.json");
	struct md_ts_status st;

	cr_assert_eq(md_ts_parse_status(j, &st, NULL), MD_OK);
	cr_assert_str_eq(st.dns_name, "sfspark2.mesh.internal");
	cr_assert_str_eq(st.self_id, "2");
	cr_assert_str_eq(st.tailnet, "sfspark1.local");
	cr_assert_str_eq(st.magicdns_suffix, "mesh.internal");
	cr_assert_eq(st.cert_domains, 0);
	free(j);
}

Test(tailscale, status_in_needslogin_has_no_name_tailscale_fixture)
{
	char *j = fixture("status-needslogin.json");
	struct md_ts_status st;

	cr_assert_eq(md_ts_parse_status(j, &st, NULL), MD_OK);
	cr_assert_str_eq(st.backend_state, "NeedsLogin");
	cr_assert_str_eq(st.dns_name, "");
	cr_assert_str_eq(st.tailnet, "", "CurrentTailnet is null");
	free(j);
}

Test(tailscale, status_that_is_not_json_is_a_parse_error)
{
	struct md_ts_status st;
	struct md_err e = { 0 };

	cr_assert_eq(md_ts_parse_status("failed to connect to local tailscaled; it doesn't "
					    "appear to be running", &st, &e), MD_EPARSE);
	cr_assert(strstr(e.msg, "BackendState"), "%s", e.msg);
	cr_assert_eq(md_ts_parse_status("{\"Version\": \"1.2\"}", &st, NULL), MD_EPARSE);
}

/* ==== tailscale serve status --json ==================================================== */

Test(tailscale, serve_config_of_the_seed_tailscale_fixture)
{
	char *j = fixture("serve-seed004.json");
	struct md_ts_serve s;

	cr_assert_eq(md_ts_parse_serve(j, &s, NULL), MD_OK);
	cr_assert(s.configured);
	cr_assert_eq(s.https_port, 443);
	cr_assert_str_eq(s.host, "mneme-macbook-pro14.ayu-scylla.ts.net:443");
	cr_assert_str_eq(s.proxy, "http://127.0.0.1:18080");
	cr_assert(!s.foreground);
	free(j);
}

Test(tailscale, empty_serve_config_tailscale_fixture)
{
	char *j = fixture("serve-empty.json");
	struct md_ts_serve s;

	cr_assert_eq(md_ts_parse_serve(j, &s, NULL), MD_OK);
	cr_assert(!s.configured);
	cr_assert_eq(s.https_port, 0);
	cr_assert_eq(md_ts_parse_serve("null", &s, NULL), MD_OK, "the LocalAPI's null");
	cr_assert(!s.configured);
	free(j);
}

Test(tailscale, foreground_serve_config_tailscale_fixture)
{
	char *j = fixture("serve-foreground.json");
	struct md_ts_serve s;

	cr_assert_eq(md_ts_parse_serve(j, &s, NULL), MD_OK);
	cr_assert(s.configured);
	cr_assert(s.foreground);
	cr_assert_eq(s.https_port, 443);
	cr_assert_str_eq(s.proxy, "18080");
	free(j);
}

Test(tailscale, tcp_forward_serve_has_no_https_tailscale_fixture)
{
	char *j = fixture("serve-tcp-forward.json");
	struct md_ts_serve s;

	cr_assert_eq(md_ts_parse_serve(j, &s, NULL), MD_OK);
	cr_assert(s.configured);
	cr_assert_eq(s.https_port, 0);
	cr_assert_str_eq(s.proxy, "");
	cr_assert_eq(md_ts_parse_serve("No serve config", &s, NULL), MD_EPARSE);
	free(j);
}

/* ==== control server =================================================================== */

Test(tailscale, prefs_control_url_tailscale_fixture)
{
	char *a = fixture("prefs-tailscale.json"), *b = fixture("prefs-headscale.json");
	char url[256], why[256];

	cr_assert_eq(md_ts_parse_prefs_control(a, url, sizeof(url), NULL), MD_OK);
	cr_assert_str_eq(url, "https://controlplane.tailscale.com");
	cr_assert_str_eq(md_ts_control_kind(url, NULL, why, sizeof(why)), "tailscale");
	cr_assert_eq(md_ts_parse_prefs_control(b, url, sizeof(url), NULL), MD_OK);
	cr_assert_str_eq(url, "http://sfspark1.local:8080");
	cr_assert_str_eq(md_ts_control_kind(url, NULL, why, sizeof(why)), "headscale");
	cr_assert(strstr(why, "sfspark1.local"), "%s", why);
	cr_assert_eq(md_ts_parse_prefs_control("Access denied", url, sizeof(url), NULL), MD_EPARSE);
	free(a);
	free(b);
}

struct kind_case {
	char url[64];      /* "-" = prefs unknown */
	char status[48];   /* fixture name, "" = none */
	char want[12];
};

ParameterizedTestParameters(tailscale, control_kind)
{
	static struct kind_case cases[] = {
		{ "", "", "tailscale" },
		{ "https://login.tailscale.com", "", "tailscale" },
		{ "https://hs.example.net", "", "headscale" },
		{ "https://tailscale.com.evil.example", "", "headscale" },
		{ "-", "status-seed004-https-off.json", "tailscale" },
		{ "-", "status-headscale-running.json", "headscale" },
		{ "-", "status-needslogin.json", "unknown" },
		{ "-", "", "unknown" },
	};

	return cr_make_param_array(struct kind_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct kind_case *c, tailscale, control_kind)
{
	struct md_ts_status st;
	char why[256];
	char *j = c->status[0] ? fixture(c->status) : NULL;

	if (j)
		cr_assert_eq(md_ts_parse_status(j, &st, NULL), MD_OK);
	cr_assert_str_eq(md_ts_control_kind(strcmp(c->url, "-") ? c->url : NULL, j ? &st : NULL,
					     why, sizeof(why)),
			 c->want, "url %s status %s (%s)", c->url, c->status, why);
	free(j);
}

/* ==== the serve Proxy as a URL ========================================================= */

struct url_case {
	char proxy[64];
	int rc;
	char want[64];
	bool insecure;
};

ParameterizedTestParameters(tailscale, backend_url)
{
	static struct url_case cases[] = {
		{ "http://127.0.0.1:18080", MD_OK, "http://127.0.0.1:18080", false },
		{ "18080", MD_OK, "http://127.0.0.1:18080", false },
		{ "localhost:3000", MD_OK, "http://localhost:3000", false },
		{ "https+insecure://127.0.0.1:8443", MD_OK, "https://127.0.0.1:8443", true },
		{ "http://[::1]:3000/api/v1", MD_OK, "http://[::1]:3000/api/v1", false },
		{ "https://backend.lan:8443/a_b/c-d.e~f", MD_OK, "https://backend.lan:8443/a_b/c-d.e~f",
		  false },
		{ "http://localhost", MD_OK, "http://localhost", false },
		{ "10.0.0.5:80/x", MD_OK, "http://10.0.0.5:80/x", false },
		/* hostile or merely odd: never put in a command */
		{ "http://x/'; rm -rf ~; '", MD_EINVAL, "", false },
		{ "http://a b", MD_EINVAL, "", false },
		{ "", MD_EINVAL, "", false },
		{ "http://127.0.0.1:8080/$(id)", MD_EINVAL, "", false },
		{ "http://127.0.0.1:8080/`id`", MD_EINVAL, "", false },
		{ "http://127.0.0.1:8080/%0aid", MD_EINVAL, "", false },
		{ "http://127.0.0.1:8080/&calc", MD_EINVAL, "", false },
		{ "http://127.0.0.1:8080/|calc", MD_EINVAL, "", false },
		{ "http://127.0.0.1:8080/%COMSPEC%", MD_EINVAL, "", false },
		{ "http://127.0.0.1:8080/a;id", MD_EINVAL, "", false },
		{ "http://127.0.0.1:8080/?q=1", MD_EINVAL, "", false },
		{ "http://127.0.0.1:8080/a\"b", MD_EINVAL, "", false },
		{ "http://127.0.0.1:8080/a^b", MD_EINVAL, "", false },
		{ "http://127.0.0.1:8080/a>b", MD_EINVAL, "", false },
		{ "http://127.0.0.1:8080/a\nb", MD_EINVAL, "", false },
		{ "http://user@127.0.0.1:8080", MD_EINVAL, "", false },
		{ "http://-K/etc/passwd", MD_EINVAL, "", false },
		{ "http://127.0.0.1:0", MD_EINVAL, "", false },
		{ "http://127.0.0.1:65536", MD_EINVAL, "", false },
		{ "http://127.0.0.1:", MD_EINVAL, "", false },
		{ "http://[::1;id]:80", MD_EINVAL, "", false },
		{ "http://", MD_EINVAL, "", false },
		{ "file:///etc/passwd", MD_EINVAL, "", false },
		{ "unix:/var/run/app.sock", MD_EINVAL, "", false },
		{ "ftp://127.0.0.1:21", MD_EINVAL, "", false },
		{ "HTTP://127.0.0.1:80", MD_EINVAL, "", false },
		{ "99999", MD_EINVAL, "", false },
	};

	return cr_make_param_array(struct url_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct url_case *c, tailscale, backend_url)
{
	char out[128] = "";
	bool insecure = false;

	cr_assert_eq(md_ts_backend_url(c->proxy, out, sizeof(out), &insecure), c->rc, "%s",
		     c->proxy);
	if (c->rc != MD_OK)
		cr_assert_str_eq(out, "", "no URL for %s", c->proxy);
	if (c->rc == MD_OK) {
		cr_assert_str_eq(out, c->want, "%s", c->proxy);
		cr_assert_eq(insecure, c->insecure, "%s", c->proxy);
	}
}

/* ==== the probe over a replay session =================================================== */

static struct md_facts facts;
static struct md_session *sess;

#define assert_fact(name, want)                                                               \
	do {                                                                                  \
		char b_[512];                                                                 \
		const struct md_fact *x_ = md_facts_get(&facts, name);                        \
		cr_assert_not_null(x_, "fact %s missing", name);                              \
		md_fact_value_text(x_, b_, sizeof(b_), false);                                \
		cr_assert_str_eq(b_, want, "fact %s = \"%s\", want \"%s\" (%s)", name, b_, want, \
				 x_->evidence ? x_->evidence : "");                           \
	} while (0)

static const char *evidence(const char *name)
{
	const struct md_fact *x = md_facts_get(&facts, name);

	cr_assert_not_null(x, "fact %s missing", name);
	return x->evidence ? x->evidence : "";
}

/* The POSIX command of `tailscale ARGS` (a host step), or the Windows script. */
static const char *cli(const char *os, int limit_s, const char *args)
{
	static char buf[8][8192];
	static int next;
	char *b = buf[next++ % 8], *w = NULL;

	if (os && strcmp(os, "windows") == 0) {
		cr_assert_eq(md_hostcmd_windows_limited("tailscale", args, limit_s, &w, NULL), MD_OK);
		snprintf(b, sizeof(buf[0]), "%s", w);
		free(w);
	} else {
		cr_assert_eq(md_ts_cli_cmd(args, b, sizeof(buf[0])), MD_OK);
	}
	return b;
}

/* Runs the probe over a replay session of os (the banner's word, and the host's OS here),
 * within deadline_ms, its reads in a batch first when batched. */
static int run_ts(const struct md_replay_entry *e, size_t n, const char *os, bool batched,
		  int64_t deadline_ms)
{
	struct md_err err = { 0 };
	struct md_hostbatch *b = NULL;
	struct md_ctx ctx = { 0 };
	int rc;

	md_facts_init(&facts);
	sess = md_session_new_replay(e, n, os);
	cr_assert(sess);
	ctx.session = sess;
	ctx.deadline = md_deadline_after(md_now_ms(), deadline_ms);
	if (batched) {
		b = md_hostbatch_new(&err);
		cr_assert(b);
		cr_assert_eq(probe_tailscale.host_steps(&ctx, b, &err), MD_OK, "%s", err.msg);
		md_hostbatch_run(b, sess, &ctx.deadline, 0);
		ctx.batch = b;
	}
	rc = probe_tailscale.run(&ctx, &facts, &err);
	cr_assert(rc == MD_OK, "%s", err.msg);
	md_hostbatch_free(b);
	return rc;
}

static void fini(void)
{
	md_facts_cleanup(&facts);
	md_session_free(sess);
	sess = NULL;
}

/* The i-th command sent was cmd, under a host-side limit of limit_s (-1: alone). */
static void assert_sent(size_t i, const char *cmd, int limit_s)
{
	cr_assert_str_eq(md_replay_cmd(sess, i) ? md_replay_cmd(sess, i) : "(none)", cmd, "command %zu", i);
	cr_assert_eq(md_replay_limit(sess, i), limit_s, "command %zu: limit %d, want %d", i,
		     md_replay_limit(sess, i), limit_s);
}

/* The script of a Windows command, decoded (base64 of UTF-16LE, ASCII here). */
static void decode_ps(const char *cmd, char *out, size_t len)
{
	const char *b64 = cmd + strlen(MD_HOSTCMD_POWERSHELL);
	unsigned char *u16 = malloc(strlen(cmd));
	int n;
	size_t o = 0;

	cr_assert(strncmp(cmd, MD_HOSTCMD_POWERSHELL, strlen(MD_HOSTCMD_POWERSHELL)) == 0, "%s", cmd);
	cr_assert_eq(strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
		     strlen(b64), "%s", cmd);
	n = EVP_DecodeBlock(u16, (const unsigned char *)b64, (int)strlen(b64));
	for (int i = 0; i + 1 < n && o + 1 < len && (u16[i] || u16[i + 1]); i += 2) {
		cr_assert_eq(u16[i + 1], 0, "not ASCII at %d", i);
		out[o++] = (char)u16[i];
	}
	out[o] = '\0';
	free(u16);
}

static void assert_windows_script(const char *c, const char *args, int limit_s)
{
	char script[4096], want[256];

	decode_ps(c, script, sizeof(script));
	snprintf(want, sizeof(want), "\n$l = %d\n", limit_s * 1000);
	cr_assert(strstr(script, want), "limit %d s: %s", limit_s, script);
	cr_assert(strstr(script, "\n$i.FileName = 'tailscale'\n"), "%s", script);
	snprintf(want, sizeof(want), "\n$i.Arguments = '%s'\n", args);
	cr_assert(strstr(script, want), "%s", script);
	cr_assert(strstr(script, "\nif (-not $p.WaitForExit($l)) { try { $p.Kill() } catch { }; "
				 "exit 124 }\n"), "%s", script);
}

/* The batch carries the four reads, each with its limit, the CLI found on PATH or in
 * the macOS app; Windows gets none (its commands are PowerShell lines of their own). */
Test(tailscale, tailscale_commands_carry_a_limit_on_the_host, .fini = fini)
{
	static const struct md_replay_entry none[] = { { NULL, 0, NULL, NULL, false } };
	struct md_hostbatch *b;
	struct md_buf script;
	struct md_ctx ctx = { 0 };
	struct md_err err = { 0 };
	char c[8192], *w = NULL;

	md_facts_init(&facts);
	sess = md_session_new_replay(none, 0, NULL);
	ctx.session = sess;
	b = md_hostbatch_new(&err);
	cr_assert_eq(probe_tailscale.host_steps(&ctx, b, &err), MD_OK, "%s", err.msg);
	cr_assert_eq(md_hostbatch_count(b), 4);
	md_buf_init(&script, 0);
	cr_assert_eq(md_hostbatch_script(b, "0123456789abcdef", 10000, &script), MD_OK);
	cr_assert(strstr(md_buf_str(&script), "\nmd_run tailscale.status 4 't="), "%s", md_buf_str(&script));
	cr_assert(strstr(md_buf_str(&script), "\nmd_run tailscale.version 4 't="), "%s", md_buf_str(&script));
	cr_assert(strstr(md_buf_str(&script), "\nmd_run tailscale.serve 4 't="), "%s", md_buf_str(&script));
	cr_assert(strstr(md_buf_str(&script), "\nmd_run tailscale.prefs 4 't="), "%s", md_buf_str(&script));
	md_buf_cleanup(&script);
	md_hostbatch_free(b);
	md_ts_cli_cmd("status --json", c, sizeof(c));
	cr_assert(strstr(c, "; exec tailscale status --json"), "%s", c);
	cr_assert(strstr(c, "t=/Applications/Tailscale.app/Contents/MacOS/Tailscale; "), "%s", c);
	cr_assert(strstr(c, "exec \"$t\" status --json;"), "%s", c);
	cr_assert_eq(md_ts_cli_cmd("status --json", c, 20), MD_ETOOBIG);
	cr_assert_str_eq(c, "");
	md_session_free(sess);
	sess = md_session_new_replay(none, 0, "windows");
	ctx.session = sess;
	b = md_hostbatch_new(&err);
	cr_assert_eq(probe_tailscale.host_steps(&ctx, b, &err), MD_OK);
	cr_assert_eq(md_hostbatch_count(b), 0, "no batch for Windows");
	md_hostbatch_free(b);
	/* Windows: the one PowerShell script, limit in it; a quote in the arguments is
	 * doubled: it cannot end PowerShell's string */
	assert_windows_script(cli("windows", 3, "status --json"), "status --json", 3);
	assert_windows_script(cli("windows", 2, "debug prefs"), "debug prefs", 2);
	assert_windows_script(cli("windows", 4, "serve status --json"), "serve status --json", 4);
	cr_assert_eq(md_hostcmd_windows_limited("tailscale", "x'; calc; '", 1, &w, NULL), MD_OK);
	assert_windows_script(w, "x''; calc; ''", 1);
	free(w);
}

/* A healthy POSIX host: the four reads are sections of one exec; netcheck is not needed. */
Test(tailscale, healthy_posix_host_reads_the_cli_in_one_exec_tailscale_fixture, .fini = fini)
{
	char *status = fixture("status-seed004-https-off.json");
	char *serve = fixture("serve-seed004.json");
	char *prefs = fixture("prefs-tailscale.json");
	const struct md_replay_entry e[] = {
		{ cli("linux", 4, "status --json"), 0, status, "", false },
		{ cli("linux", 4, "version"), 0, "1.78.1\n  go version: go1.23.4\n", "", false },
		{ cli("linux", 4, "serve status --json"), 0, serve, "", false },
		{ cli("linux", 4, "debug prefs"), 0, prefs, "", false },
	};

	run_ts(e, 4, NULL, true, 20000);
	cr_assert_eq(md_session_exec_count(sess), 1, "one round trip, not %u", md_session_exec_count(sess));
	assert_sent(0, cli("linux", 4, "status --json"), 4);
	assert_sent(1, cli("linux", 4, "version"), 4);
	assert_sent(2, cli("linux", 4, "serve status --json"), 4);
	assert_sent(3, cli("linux", 4, "debug prefs"), 4);
	assert_fact("tailscale.daemon", "reachable");
	assert_fact("tailscale.client_version", "1.78.1");
	assert_fact("tailscale.version_skew", "false");
	assert_fact("tailscale.netcheck", "not-needed");
	assert_fact("tailscale.want_running", "true");
	assert_fact("tailscale.cli", "ok");
	cr_assert_str_eq(evidence("tailscale.cli"), "tailscale status --json");
	assert_fact("tailscale.backend_state", "Running");
	assert_fact("tailscale.dns_name", "mneme-macbook-pro14.ayu-scylla.ts.net");
	assert_fact("tailscale.cert_domains", "0");
	assert_fact("tailscale.magicdns_suffix", "ayu-scylla.ts.net");
	assert_fact("tailscale.tailnet", "l@example.com");
	assert_fact("tailscale.control", "tailscale");
	assert_fact("tailscale.control_url", "https://controlplane.tailscale.com");
	assert_fact("tailscale.serve_configured", "true");
	assert_fact("tailscale.serve_https_port", "443");
	assert_fact("tailscale.serve_host", "mneme-macbook-pro14.ayu-scylla.ts.net:443");
	assert_fact("tailscale.serve_proxy", "http://127.0.0.1:18080");
	cr_assert_str_eq(md_facts_get(&facts, "tailscale.cli")->probe, "tailscale");
	cr_assert_null(md_facts_get(&facts, "tailscale.serve_status"));
	free(status);
	free(serve);
	free(prefs);
}

/* Not batched (no engine): each read alone, still under its limit on the host. */
Test(tailscale, reads_run_alone_without_a_batch_tailscale_fixture, .fini = fini)
{
	char *status = fixture("status-headscale-running.json");
	char *serve = fixture("serve-headscale.json");
	const struct md_replay_entry e[] = {
		{ cli("linux", 4, "status --json"), 0, status, "", false },
		{ cli("linux", 4, "version"), 0, "1.86.2\n", "", false },
		{ cli("linux", 4, "debug prefs"), 1, "", "Access denied: prefs read access denied\n", false },
		{ cli("linux", 4, "serve status --json"), 0, serve, "", false },
	};

	run_ts(e, 4, NULL, false, 20000);
	cr_assert_eq(md_session_exec_count(sess), 4);
	assert_sent(0, cli("linux", 4, "status --json"), 4);
	assert_sent(1, cli("linux", 4, "version"), 4);
	assert_sent(2, cli("linux", 4, "debug prefs"), 4);
	assert_sent(3, cli("linux", 4, "serve status --json"), 4);
	assert_fact("tailscale.control", "headscale");
	cr_assert(strstr(evidence("tailscale.control"), "prefs unread: tailscale debug prefs: exit 1: "
			 "Access denied"), "%s", evidence("tailscale.control"));
	cr_assert_null(md_facts_get(&facts, "tailscale.control_url"));
	assert_fact("tailscale.serve_configured", "true");
	free(status);
	free(serve);
}

/* 142 = 128 + SIGALRM: perl's alarm ended it (macOS has no `timeout`); 124 from
 * `timeout`.  Either way the host's limit, batched or not. */
Test(tailscale, a_wedged_tailscale_cli_is_ended_on_the_host_tailscale_fixture, .fini = fini)
{
	static const int status[] = { 142, 124 };

	for (int batched = 0; batched < 2; batched++) {
		const struct md_replay_entry e[] = {
			{ cli("linux", 4, "status --json"), status[batched], "", "", false },
		};

		run_ts(e, 1, NULL, batched, 20000);
		assert_fact("tailscale.cli", "error");
		cr_assert_str_eq(evidence("tailscale.cli"),
				 "tailscale status --json: no answer within 4 s (ended on the host)");
		cr_assert_null(md_facts_get(&facts, "tailscale.serve_configured"));
		cr_assert_null(md_facts_get(&facts, "tailscale.control"));
		fini();
	}
}

/* No CLI on a POSIX host: the shell's 127. */
Test(tailscale, posix_host_without_the_cli_is_missing_tailscale_fixture, .fini = fini)
{
	const struct md_replay_entry e[] = {
		{ cli("linux", 4, "status --json"), 127, "", "sh: 1: exec: tailscale: not found\n", false },
	};

	run_ts(e, 1, NULL, true, 20000);
	assert_fact("tailscale.cli", "missing");
	cr_assert(strstr(evidence("tailscale.cli"), "exit 127: sh: 1: exec: tailscale: not found"),
		  "%s", evidence("tailscale.cli"));
	cr_assert_null(md_facts_get(&facts, "tailscale.serve_configured"));
	cr_assert_null(md_facts_get(&facts, "tailscale.serve_status"));
}

/* The batch had no time left for a section: skipped, said so. */
Test(tailscale, a_section_the_batch_had_no_time_for_is_skipped_tailscale_fixture, .fini = fini)
{
	char *status = fixture("status-seed004-https-off.json");
	const struct md_replay_entry e[] = {
		{ cli("linux", 4, "status --json"), 0, status, "", false },
	};
	struct md_hostbatch *b;
	struct md_ctx ctx = { 0 };
	struct md_err err = { 0 };
	char nonce[] = "0123456789abcdef", out[400];

	md_facts_init(&facts);
	sess = md_session_new_replay(e, 1, NULL);
	ctx.session = sess;
	ctx.deadline = md_deadline_after(md_now_ms(), 20000);
	b = md_hostbatch_new(&err);
	cr_assert_eq(probe_tailscale.host_steps(&ctx, b, &err), MD_OK);
	snprintf(out, sizeof(out), "\n%s tailscale.status begin\n\n%s tailscale.status end skipped 0\n",
		 nonce, nonce);
	cr_assert_eq(md_hostbatch_parse(b, nonce, out, strlen(out), "", 0, NULL), MD_OK);
	md_hostbatch_run(b, NULL, &ctx.deadline, 0); /* no session: marks it done */
	ctx.batch = b;
	cr_assert_eq(probe_tailscale.run(&ctx, &facts, &err), MD_OK, "%s", err.msg);
	assert_fact("tailscale.cli", "skipped");
	cr_assert(strstr(evidence("tailscale.cli"), "tailscale status --json: not run: deadline spent"),
		  "%s", evidence("tailscale.cli"));
	cr_assert_eq(md_session_exec_count(sess), 0);
	md_hostbatch_free(b);
	free(status);
}

/* Windows: each read alone through the PowerShell script, its limit in it. */
Test(tailscale, windows_reads_through_powershell_tailscale_fixture, .fini = fini)
{
	char *status = fixture("status-seed004-https-off.json");
	char *serve = fixture("serve-seed004.json");
	char *prefs = fixture("prefs-tailscale.json");
	const struct md_replay_entry e[] = {
		{ cli("windows", 3, "status --json"), 0, status, "", false },
		{ cli("windows", 3, "version"), 0, "1.86.2\r\n", "", false },
		{ cli("windows", 3, "debug prefs"), 0, prefs, "", false },
		{ cli("windows", 3, "serve status --json"), 0, serve, "", false },
	};

	run_ts(e, 4, "windows", true, 20000);
	cr_assert_eq(md_session_exec_count(sess), 4, "no batch on Windows");
	assert_sent(0, cli("windows", 3, "status --json"), -1);
	assert_sent(1, cli("windows", 3, "version"), -1);
	assert_sent(2, cli("windows", 3, "debug prefs"), -1);
	assert_sent(3, cli("windows", 3, "serve status --json"), -1);
	assert_windows_script(md_replay_cmd(sess, 0), "status --json", 3);
	assert_fact("tailscale.cli", "ok");
	cr_assert_str_eq(evidence("tailscale.cli"), "tailscale status --json");
	assert_fact("tailscale.control_url", "https://controlplane.tailscale.com");
	assert_fact("tailscale.serve_configured", "true");
	free(status);
	free(serve);
	free(prefs);
}

/* No tailscale.exe to start: the script says so and exits 127, as a shell would. */
Test(tailscale, windows_without_the_cli_is_missing_tailscale_fixture, .fini = fini)
{
	const struct md_replay_entry e[] = {
		{ cli("windows", 3, "status --json"), 127, "",
		  "tailscale: The system cannot find the file specified\r\n", false },
	};

	run_ts(e, 1, "windows", false, 20000);
	assert_fact("tailscale.cli", "missing");
}

Test(tailscale, without_a_session_the_probe_is_skipped)
{
	struct md_ctx ctx = { .deadline = md_deadline_after(md_now_ms(), 1000) };
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(probe_tailscale.run(&ctx, &f, &err), MD_ESKIP);
	cr_assert_eq(f.n, 0);
	md_facts_cleanup(&f);
}
