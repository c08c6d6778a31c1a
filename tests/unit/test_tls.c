/* test_tls.c — the TLS probe's parsers and classifiers on Tailscale fixtures, the probe's
 * Tailscale steps over a replay session, and tls.rules (the seed-004 decision tree).
 *
 * Tailscale is a FIXTURE here: fixtures/tailscale/ holds `tailscale status --json`,
 * `tailscale serve status --json` and `tailscale debug prefs` output in the real formats
 * (docs/tailscale.md).  No network: the probe tests run in a fresh, empty network
 * namespace (unshare), where the handshake's connect fails at once with "Network is
 * unreachable". */
#include "core/facts.h"
#include "core/session.h"
#include "tests/support/session_replay.h"
#include "core/hostcmd.h"
#include "probes/port.h"
#include "probes/probe.h"
#include "probes/tailscale.h"
#include "probes/tls.h"
#include "rules/engine.h"

#include "tests/support/fact_spec.h"
#include "tests/support/fixture.h"
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct md_probe probe_tls, probe_tailscale;

TestSuite(tls, .timeout = 15);

static char *fixture(const char *name)
{
	return test_fixture("tailscale", name);
}

/* ==== tailscale cert, the backend, alerts, verification ================================ */

Test(tls, cert_outcomes)
{
	char msg[256];

	cr_assert_str_eq(md_tls_classify_cert(true, 124, "", "", msg, sizeof(msg)), "hang");
	/* 124 from the CLI itself, with no limit of ours around it, is just a failure */
	cr_assert_str_eq(md_tls_classify_cert(false, 124, "", "", msg, sizeof(msg)), "failed");
	cr_assert_str_eq(md_tls_classify_cert(false, 0, "-----BEGIN CERTIFICATE-----\nMIIB\n", "",
					      msg, sizeof(msg)), "ok");
	/* HTTPS unavailable (always so under Headscale; docs/tls.md#headscale-no-certificates). */
	cr_assert_str_eq(md_tls_classify_cert(false, 1, "",
		"500 Internal Server Error: your Tailscale account does not support getting TLS certs\n",
		msg, sizeof(msg)), "failed");
	cr_assert_str_eq(msg, "500 Internal Server Error: your Tailscale account does not support "
			      "getting TLS certs");
	cr_assert_str_eq(md_tls_classify_cert(false, 1, "",
		"\ninvalid domain \"x.ts.net\"; must be one of [\"a.ts.net\"]\n", msg, sizeof(msg)),
		"failed");
	cr_assert(strncmp(msg, "invalid domain", 14) == 0, "%s", msg);
	cr_assert_str_eq(md_tls_classify_cert(false, 1, "", "Access denied: cert access denied\n",
					      msg, sizeof(msg)), "denied");
	cr_assert_str_eq(md_tls_classify_cert(false, 3, "", "", msg, sizeof(msg)), "failed");
	cr_assert_str_eq(msg, "exit status 3");
}

struct days_case {
	int days, secs, want;
};

ParameterizedTestParameters(tls, days_left)
{
	static struct days_case cases[] = {
		{ 0, -5 * 3600, -1 },   /* expired five hours ago */
		{ 0, -1, -1 },          /* expired a second ago */
		{ -1, 0, -1 },          /* exactly a day ago */
		{ -1, -3600, -2 },      /* a day and an hour ago */
		{ -300, -10, -301 },
		{ 0, 0, 0 },            /* expires now */
		{ 0, 86399, 0 },        /* less than a day left */
		{ 5, 100, 5 },
		{ 89, 86399, 89 },
	};

	return cr_make_param_array(struct days_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct days_case *c, tls, days_left)
{
	cr_assert_eq(md_tls_days_left(c->days, c->secs), c->want,
		     "ASN1_TIME_diff %d days %d s: got %d, want %d", c->days, c->secs,
		     md_tls_days_left(c->days, c->secs), c->want);
}

struct name_case {
	char name[300];
	bool ok;
};

ParameterizedTestParameters(tls, dns_names)
{
	static struct name_case cases[] = {
		{ "mneme-macbook-pro14.ayu-scylla.ts.net", true },
		{ "sfspark2.mesh.internal", true },
		{ "a", true },
		{ "x1.tail1234.ts.net", true },
		{ "", false },
		{ "a..b", false },
		{ ".a.b", false },
		{ "a.b.", false },
		{ "-a.b", false },
		{ "a-.b", false },
		{ "a.b-", false },
		{ "a_b.ts.net", false },
		{ "a b.ts.net", false },
		{ "a'b.ts.net", false },
		{ "a\"b.ts.net", false },
		{ "a&calc.ts.net", false },
		{ "a|b", false },
		{ "a%PATH%b", false },
		{ "$(id).ts.net", false },
		{ "a;b", false },
		{ "a\nb", false },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.ts.net", false },
	};

	return cr_make_param_array(struct name_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct name_case *c, tls, dns_names)
{
	cr_assert_eq(md_tls_dns_name_ok(c->name), c->ok, "\"%s\": want %d", c->name, c->ok);
}

/* The script inside "powershell ... -EncodedCommand B64" (base64 of UTF-16LE, ASCII). */
static void decode_powershell(const char *cmd, char *out, size_t len)
{
	const char *b64 = strstr(cmd, "-EncodedCommand ");
	unsigned char *u16;
	int n;
	size_t o = 0;

	cr_assert_not_null(b64, "%s", cmd);
	b64 += 16;
	u16 = malloc(strlen(b64));
	cr_assert_not_null(u16);
	n = EVP_DecodeBlock(u16, (const unsigned char *)b64, (int)strlen(b64));
	cr_assert_gt(n, 0, "%s", b64);
	for (int i = 0; i + 1 < n && o + 1 < len; i += 2) {
		if (u16[i] == 0 && u16[i + 1] == 0)
			break; /* base64 padding decodes to trailing zeros */
		cr_assert_eq(u16[i + 1], 0, "not UTF-16LE ASCII at %d", i);
		out[o++] = (char)u16[i];
	}
	out[o] = '\0';
	free(u16);
}

/* The command line of a Windows command: PowerShell with the script encoded, so after the
 * switches only letters, digits, '+', '/' and '=' (nothing cmd.exe or PowerShell reads). */
static void assert_encoded_command(const char *c)
{
	cr_assert(strncmp(c, "powershell -NoProfile -NonInteractive -EncodedCommand ", 54) == 0,
		  "%s", c);
	cr_assert_eq(strspn(c + 54, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
		     strlen(c + 54), "%s", c);
}

/* The script of a Windows command (probes/tls.c, windows_cmd): it starts file with args
 * (as quoted in the script), forwards stdout and stderr byte for byte, ends the program
 * after limit_s and exits 124 then, and otherwise exits with the program's status. */
static void assert_windows_script(const char *c, const char *file, const char *args, int limit_s)
{
	char script[4096], want[1024];
	const char *kill, *wait_all, *exit_code;

	assert_encoded_command(c);
	decode_powershell(c, script, sizeof(script));
	snprintf(want, sizeof(want), "\n$l = %d\n", limit_s * 1000);
	cr_assert(strstr(script, want), "limit %d s: %s", limit_s, script);
	snprintf(want, sizeof(want), "\n$i.FileName = '%s'\n", file);
	cr_assert(strstr(script, want), "%s", script);
	snprintf(want, sizeof(want), "\n$i.Arguments = '%s'\n", args);
	cr_assert(strstr(script, want), "%s", script);
	cr_assert(strstr(script, "\n$i.UseShellExecute = $false\n"), "%s", script);
	cr_assert(strstr(script, "\n$i.RedirectStandardOutput = $true\n"), "%s", script);
	/* stdout and stderr: the program's bytes, copied as they are */
	cr_assert(strstr(script, "\n$o = $p.StandardOutput.BaseStream.CopyToAsync("
				 "[Console]::OpenStandardOutput())\n"), "%s", script);
	cr_assert(strstr(script, "\n$e = $p.StandardError.BaseStream.CopyToAsync("
				 "[Console]::OpenStandardError())\n"), "%s", script);
	cr_assert_null(strstr(script, "[Console]::Out"), "nothing else on stdout: %s", script);
	cr_assert_null(strstr(script, "Write-Output"), "%s", script);
	cr_assert_null(strstr(script, "ReadToEnd"), "%s", script);
	/* the limit: kill, exit 124; the copies finish within it too */
	kill = strstr(script, "\nif (-not $p.WaitForExit($l)) { try { $p.Kill() } catch { }; "
			      "exit 124 }\n");
	cr_assert_not_null(kill, "%s", script);
	wait_all = strstr(script, "\nif (-not [System.Threading.Tasks.Task]::WaitAll("
				  "[System.Threading.Tasks.Task[]]@($o, $e), [int]$r)) { exit 124 }\n");
	cr_assert_not_null(wait_all, "%s", script);
	exit_code = strstr(script, "\nexit $p.ExitCode\n");
	cr_assert_not_null(exit_code, "%s", script);
	cr_assert(kill < wait_all && wait_all < exit_code, "%s", script);
	/* a program that cannot be started: 127, as a shell says */
	cr_assert(strstr(script, "catch { [Console]::Error.WriteLine($i.FileName + ': ' + "
				 "$_.Exception.Message); exit 127 }"), "%s", script);
}

Test(tls, cert_command_is_quoted_for_each_shell)
{
	char c[8192];
	struct md_err err = { 0 };

	/* POSIX shells: single quotes; the limit is the host step's (core/hostbatch's md_lim,
	 * checked in the replay tests below), the CLI found on PATH or in the macOS app */
	cr_assert_eq(md_tls_cert_cmd("linux", 3, "node1.tail1234.ts.net", c, sizeof(c), &err), MD_OK,
		     "%s", err.msg);
	cr_assert(strstr(c, "; exec tailscale cert --cert-file=- 'node1.tail1234.ts.net'"), "%s", c);
	cr_assert_eq(md_tls_cert_cmd("darwin", 3, "node1.tail1234.ts.net", c, sizeof(c), &err),
		     MD_OK);
	cr_assert(strstr(c, "t=/Applications/Tailscale.app/Contents/MacOS/Tailscale;"), "%s", c);
	cr_assert(strstr(c, "exec \"$t\" cert --cert-file=- 'node1.tail1234.ts.net'"), "%s", c);
	cr_assert_eq(md_tls_cert_cmd(NULL, 2, "node1.tail1234.ts.net", c, sizeof(c), &err), MD_OK);
	cr_assert(strstr(c, "exec tailscale cert --cert-file=- 'node1.tail1234.ts.net'"), "%s", c);

	/* Windows: cmd.exe knows no single quotes; PowerShell gets the script encoded, so the
	 * command line holds only letters, digits, '+', '/' and '=' after the switches. */
	cr_assert_eq(md_tls_cert_cmd("windows", 3, "node1.tail1234.ts.net", c, sizeof(c), &err),
		     MD_OK, "%s", err.msg);
	cr_assert_null(strchr(c, '\''), "%s", c);
	assert_windows_script(c, "tailscale", "cert --cert-file=- node1.tail1234.ts.net", 3);
}

ParameterizedTestParameters(tls, cert_command_refuses_names_that_are_not_dns_names)
{
	static struct name_case cases[] = {
		{ "a'; rm -rf ~; 'b", false },
		{ "x.ts.net\" & calc & \"", false },
		{ "x.ts.net' -- --help", false },
		{ "x.ts.net;id", false },
		{ "%COMSPEC%", false },
		{ "$(id)", false },
		{ "a\rb", false },
		{ "", false },
	};

	return cr_make_param_array(struct name_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct name_case *c, tls, cert_command_refuses_names_that_are_not_dns_names)
{
	static const char *const os[] = { "linux", "darwin", "windows", NULL };
	char out[8192];

	for (int i = 0; i < 4; i++) {
		struct md_err err = { 0 };

		strcpy(out, "unchanged");
		cr_assert_eq(md_tls_cert_cmd(os[i], 3, c->name, out, sizeof(out), &err), MD_EINVAL,
			     "%s on %s", c->name, os[i] ? os[i] : "sh");
		cr_assert_str_eq(out, "", "nothing built for %s", c->name);
		cr_assert(err.msg[0], "an error message for %s", c->name);
	}
}

Test(tls, backend_http_codes)
{
	int code;

	cr_assert_str_eq(md_tls_classify_backend(0, "200", &code), "answering");
	cr_assert_eq(code, 200);
	cr_assert_str_eq(md_tls_classify_backend(22, "502", &code), "answering",
			 "an error status still means something answers");
	cr_assert_str_eq(md_tls_classify_backend(7, "000", &code), "down");
	cr_assert_str_eq(md_tls_classify_backend(28, "", &code), "down");
}

Test(tls, alert_names_per_rfc8446)
{
	cr_assert_str_eq(md_tls_alert_name(80), "internal_error");
	cr_assert_str_eq(md_tls_alert_name(112), "unrecognized_name");
	cr_assert_str_eq(md_tls_alert_name(40), "handshake_failure");
	cr_assert_str_eq(md_tls_alert_name(48), "unknown_ca");
	cr_assert_null(md_tls_alert_name(255));
}

Test(tls, verify_classes)
{
	cr_assert_str_eq(md_tls_verify_class(X509_V_OK), "ok");
	cr_assert_str_eq(md_tls_verify_class(X509_V_ERR_CERT_HAS_EXPIRED), "expired");
	cr_assert_str_eq(md_tls_verify_class(X509_V_ERR_CERT_NOT_YET_VALID), "not-yet-valid");
	cr_assert_str_eq(md_tls_verify_class(X509_V_ERR_HOSTNAME_MISMATCH), "hostname-mismatch");
	cr_assert_str_eq(md_tls_verify_class(X509_V_ERR_IP_ADDRESS_MISMATCH), "hostname-mismatch");
	cr_assert_str_eq(md_tls_verify_class(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT), "self-signed");
	cr_assert_str_eq(md_tls_verify_class(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
			 "untrusted");
	cr_assert_str_eq(md_tls_verify_class(X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN), "untrusted");
	cr_assert_str_eq(md_tls_verify_class(X509_V_ERR_CERT_REVOKED), "invalid");
}

/* ==== the probe over a replay session (Tailscale CLI output from fixtures) ============== */

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
		char b_[512];                                                                 \
		const char *v_ = fact_text(f, name, b_, sizeof(b_));                          \
		cr_assert_not_null(v_, "fact %s missing", name);                              \
		cr_assert_str_eq(v_, want, "fact %s = \"%s\", want \"%s\"", name, v_, want);   \
	} while (0)

/* A network namespace of our own with lo down: any connect fails at once, no packet
 * leaves (criterion runs each test in its own process). */
static void no_network(void)
{
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET) needs root");
}

/* The command sent for `tailscale ARGS` with a host-side limit of limit_s: on POSIX the
 * host step's command (its limit is the section's: assert_ran), on Windows the PowerShell
 * limit script.  With the 20 s deadline below, 4 s for status/prefs/serve (5 s budget) and
 * 3 s for cert (4 s). */
static const char *ts_cmd(const char *os, int limit_s, const char *args)
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

/* What the last run sent: each command and its section's limit (-1: an exec of its own). */
static struct { char cmd[8192]; int limit; } ran[16];
static size_t n_ran;

/* The tailscale probe, then the tls probe, on one store and session: outside the engine,
 * tls finds the tailscale.* facts in its store. */
static int run_probe_within(const struct md_replay_entry *e, size_t n, const char *os,
			    const struct md_options *o, int64_t deadline_ms, struct md_facts *f,
			    struct md_err *err)
{
	struct md_session *s = md_session_new_replay(e, n, os);
	struct md_target t = { .host = "100.102.226.62", .hostname = "100.102.226.62", .port = 22 };
	struct md_ctx ctx = { .target = &t, .session = s,
			      .deadline = md_deadline_after(md_now_ms(), deadline_ms), .opt = o };
	int rc;

	cr_assert_not_null(s);
	rc = probe_tailscale.run(&ctx, f, err);
	if (rc == MD_OK)
		rc = probe_tls.run(&ctx, f, err);
	for (n_ran = 0; n_ran < 16 && md_replay_cmd(s, n_ran); n_ran++) {
		snprintf(ran[n_ran].cmd, sizeof(ran[0].cmd), "%s", md_replay_cmd(s, n_ran));
		ran[n_ran].limit = md_replay_limit(s, n_ran);
	}
	md_session_free(s);
	return rc;
}

/* The last run sent cmd, under a host-side limit of limit_s. */
static void assert_ran(const char *cmd, int limit_s)
{
	for (size_t i = 0; i < n_ran; i++)
		if (strcmp(ran[i].cmd, cmd) == 0) {
			cr_assert_eq(ran[i].limit, limit_s, "%s: limit %d, want %d", cmd, ran[i].limit,
				     limit_s);
			return;
		}
	cr_assert_fail("not sent: %s", cmd);
}

static int run_probe(const struct md_replay_entry *e, size_t n, const char *os,
		     const struct md_options *o, struct md_facts *f, struct md_err *err)
{
	return run_probe_within(e, n, os, o, 20000, f, err);
}

static const char *evidence(const struct md_facts *f, const char *name)
{
	const struct md_fact *x = md_facts_get(f, name);

	cr_assert_not_null(x, "fact %s missing", name);
	return x->evidence ? x->evidence : "";
}

Test(tls, seed_host_over_replay_records_tailscale_facts_tailscale_fixture, .init = no_network)
{
	char *status = fixture("status-seed004-https-off.json");
	char *serve = fixture("serve-seed004.json");
	char *prefs = fixture("prefs-tailscale.json");
	const struct md_replay_entry e[] = {
		{ ts_cmd("darwin", 4, "status --json"), 0, status, "", false },
		{ ts_cmd("darwin", 4, "debug prefs"), 0, prefs, "", false },
		{ ts_cmd("darwin", 4, "serve status --json"), 0, serve, "", false },
		{ "curl -s -o /dev/null -w '%{http_code}' --max-time 3 'http://127.0.0.1:18080'",
		  0, "200", "", false },
		/* the seed's `tailscale cert` "hangs indefinitely": the host's timeout ends it */
		{ ts_cmd("darwin", 3, "cert --cert-file=- 'mneme-macbook-pro14.ayu-scylla.ts.net'"),
		  124, "", "", false },
	};
	struct md_options o = { 0 };
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(run_probe(e, 5, "darwin", &o, &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "tailscale.cli", "ok");
	assert_fact(&f, "tailscale.backend_state", "Running");
	assert_fact(&f, "tailscale.dns_name", "mneme-macbook-pro14.ayu-scylla.ts.net");
	assert_fact(&f, "tailscale.cert_domains", "0");
	assert_fact(&f, "tailscale.control", "tailscale");
	assert_fact(&f, "tailscale.control_url", "https://controlplane.tailscale.com");
	assert_fact(&f, "tailscale.serve_configured", "true");
	assert_fact(&f, "tailscale.serve_https_port", "443");
	assert_fact(&f, "tailscale.serve_proxy", "http://127.0.0.1:18080");
	assert_fact(&f, "tls.backend", "answering");
	assert_fact(&f, "tls.backend_http", "200");
	assert_fact(&f, "tls.cert_issue", "hang");
	assert_fact(&f, "tls.cert_domain", "mneme-macbook-pro14.ayu-scylla.ts.net");
	/* SNI from the MagicDNS name; the target is an IP */
	assert_fact(&f, "tls.sni", "mneme-macbook-pro14.ayu-scylla.ts.net");
	assert_fact(&f, "tls.host", "100.102.226.62:443");
	assert_fact(&f, "tls.expected", "true");
	assert_fact(&f, "tls.tcp", "unreachable");
	assert_fact(&f, "tls.handshake", "skipped");
	cr_assert(strstr(md_facts_get(&f, "tls.tcp")->evidence, "100.102.226.62:443"), "%s",
		  md_facts_get(&f, "tls.tcp")->evidence);
	/* each under its limit on the host: 4 s for the CLI's reads, 3 s for cert, and curl's
	 * own --max-time 3 with the host's limit a second later */
	assert_ran(ts_cmd("darwin", 4, "status --json"), 4);
	assert_ran(ts_cmd("darwin", 4, "debug prefs"), 4);
	assert_ran(ts_cmd("darwin", 4, "serve status --json"), 4);
	assert_ran("curl -s -o /dev/null -w '%{http_code}' --max-time 3 'http://127.0.0.1:18080'", 4);
	assert_ran(ts_cmd("darwin", 3, "cert --cert-file=- 'mneme-macbook-pro14.ayu-scylla.ts.net'"), 3);
	md_facts_cleanup(&f);
	free(status);
	free(serve);
	free(prefs);
}

Test(tls, headscale_node_over_replay_tailscale_fixture, .init = no_network)
{
	char *status = fixture("status-headscale-running.json");
	char *serve = fixture("serve-headscale.json");
	const struct md_replay_entry e[] = {
		{ ts_cmd("linux", 4, "status --json"), 0, status, "", false },
		/* prefs unreadable: the status heuristic decides */
		{ ts_cmd("linux", 4, "debug prefs"), 1, "", "Access denied: prefs read access denied\n",
		  false },
		{ ts_cmd("linux", 4, "serve status --json"), 0, serve, "", false },
		{ "curl ", 7, "000", "", false },
		{ ts_cmd("linux", 3, "cert --cert-file=- 'sfspark2.mesh.internal'"), 1, "",
		  "500 Internal Server Error: your Tailscale account does not support getting TLS certs\n",
		  false },
	};
	struct md_options o = { 0 };
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(run_probe(e, 5, "linux", &o, &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "tailscale.control", "headscale");
	cr_assert_null(md_facts_get(&f, "tailscale.control_url"));
	assert_fact(&f, "tls.backend", "down");
	assert_fact(&f, "tls.cert_issue", "failed");
	assert_fact(&f, "tls.cert_error", "500 Internal Server Error: your Tailscale account does "
					  "not support getting TLS certs");
	assert_fact(&f, "tls.sni", "sfspark2.mesh.internal");
	md_facts_cleanup(&f);
	free(status);
	free(serve);
}

Test(tls, no_tailscale_cli_and_no_serve_tailscale_fixture, .init = no_network)
{
	const struct md_replay_entry e[] = {
		{ ts_cmd("linux", 4, "status --json"), 127, "",
		  "timeout: failed to run command 'tailscale': No such file or directory\n", false },
	};
	struct md_options o = { .sni = "node1.tail1234.ts.net" };
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(run_probe(e, 1, "linux", &o, &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "tailscale.cli", "missing");
	assert_fact(&f, "tls.sni", "node1.tail1234.ts.net");
	assert_fact(&f, "tls.expected", "true");
	cr_assert_null(md_facts_get(&f, "tls.cert_issue"), "no CLI: certificate never asked");
	cr_assert_null(md_facts_get(&f, "tailscale.serve_configured"));
	md_facts_cleanup(&f);
}

/* The Tailscale state is read before the handshake (its MagicDNS name is the SNI), and
 * gets at most half of what is left: with 6 s, 3 s, so status, prefs and the serve
 * configuration run with a limit of 2 s on the host instead of 4 s; the steps beside the
 * handshake keep theirs. */
Test(tls, state_before_the_handshake_gets_half_the_deadline_tailscale_fixture, .init = no_network)
{
	char *status = fixture("status-seed004-https-off.json");
	char *serve = fixture("serve-seed004.json");
	char *prefs = fixture("prefs-tailscale.json");
	const struct md_replay_entry e[] = {
		{ ts_cmd("darwin", 2, "status --json"), 0, status, "", false },
		{ ts_cmd("darwin", 2, "debug prefs"), 0, prefs, "", false },
		{ ts_cmd("darwin", 2, "serve status --json"), 0, serve, "", false },
		{ "curl -s -o /dev/null -w '%{http_code}' --max-time 3 'http://127.0.0.1:18080'",
		  0, "200", "", false },
		{ ts_cmd("darwin", 3, "cert --cert-file=- 'mneme-macbook-pro14.ayu-scylla.ts.net'"),
		  124, "", "", false },
	};
	struct md_options o = { 0 };
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(run_probe_within(e, 5, "darwin", &o, 6000, &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "tailscale.cli", "ok");
	assert_fact(&f, "tailscale.control_url", "https://controlplane.tailscale.com");
	assert_fact(&f, "tailscale.serve_configured", "true");
	assert_fact(&f, "tls.backend", "answering");
	assert_fact(&f, "tls.cert_issue", "hang");
	cr_assert(strstr(evidence(&f, "tls.cert_issue"), "exit 124"), "%s",
		  evidence(&f, "tls.cert_issue"));
	assert_ran(ts_cmd("darwin", 2, "status --json"), 2);
	assert_ran(ts_cmd("darwin", 2, "debug prefs"), 2);
	assert_ran(ts_cmd("darwin", 2, "serve status --json"), 2);
	assert_ran(ts_cmd("darwin", 3, "cert --cert-file=- 'mneme-macbook-pro14.ayu-scylla.ts.net'"), 3);
	md_facts_cleanup(&f);
	free(status);
	free(serve);
	free(prefs);
}

/* With 1.5 s left, the state's half is under a second: not run, and said so. */
Test(tls, less_than_a_second_for_the_state_is_skipped_not_a_hang_tailscale_fixture,
     .init = no_network)
{
	char *status = fixture("status-seed004-https-off.json");
	const struct md_replay_entry e[] = {
		{ "t=", 0, status, "", false },
	};
	struct md_options o = { 0 };
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(run_probe_within(e, 1, "linux", &o, 1500, &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "tailscale.cli", "skipped");
	cr_assert(strstr(evidence(&f, "tailscale.cli"), "tailscale status --json: not run: "
			 "deadline spent"), "%s", evidence(&f, "tailscale.cli"));
	cr_assert_null(md_facts_get(&f, "tls.cert_issue"));
	/* the handshake still ran, on its own share */
	assert_fact(&f, "tls.tcp", "unreachable");
	md_facts_cleanup(&f);
	free(status);
}

/* `tailscale cert` still running when meshdoctor's own deadline ran out is not known to
 * hang: only the host's limit ending it says so. */
Test(tls, cert_cut_off_by_our_deadline_is_not_a_hang_tailscale_fixture, .init = no_network)
{
	char *status = fixture("status-seed004-https-off.json");
	char *serve = fixture("serve-seed004.json");
	char *prefs = fixture("prefs-tailscale.json");
	const struct md_replay_entry e[] = {
		{ ts_cmd("darwin", 4, "status --json"), 0, status, "", false },
		{ ts_cmd("darwin", 4, "debug prefs"), 0, prefs, "", false },
		{ ts_cmd("darwin", 4, "serve status --json"), 0, serve, "", false },
		{ "curl ", 0, "200", "", false },
		{ ts_cmd("darwin", 3, "cert --cert-file=- 'mneme-macbook-pro14.ayu-scylla.ts.net'"), 0,
		  "", "", true },
	};
	struct md_options o = { 0 };
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(run_probe(e, 5, "darwin", &o, &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "tls.cert_issue", "unknown");
	cr_assert(strstr(evidence(&f, "tls.cert_issue"), "not known to hang"), "%s",
		  evidence(&f, "tls.cert_issue"));
	cr_assert_null(md_facts_get(&f, "tls.cert_error"));
	md_facts_cleanup(&f);
	free(status);
	free(serve);
	free(prefs);
}

Test(tls, cert_killed_by_the_hosts_limit_is_a_hang_tailscale_fixture, .init = no_network)
{
	char *status = fixture("status-seed004-https-off.json");
	char *serve = fixture("serve-seed004.json");
	const struct md_replay_entry e[] = {
		{ ts_cmd("linux", 4, "status --json"), 0, status, "", false },
		{ ts_cmd("linux", 4, "serve status --json"), 0, serve, "", false },
		{ "curl ", 0, "200", "", false },
		/* 137 = 128 + SIGKILL */
		{ ts_cmd("linux", 3, "cert --cert-file=- 'mneme-macbook-pro14.ayu-scylla.ts.net'"),
		  137, "", "", false },
	};
	struct md_options o = { 0 };
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(run_probe(e, 4, "linux", &o, &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "tls.cert_issue", "hang");
	md_facts_cleanup(&f);
	free(status);
	free(serve);
}

/* Replaces the first from in s (size len) with to. */
static void swap_text(char *s, size_t len, const char *from, const char *to)
{
	char *at = strstr(s, from);
	size_t tail;

	cr_assert_not_null(at, "\"%s\" not in %s", from, s);
	tail = strlen(at + strlen(from));
	cr_assert_lt(strlen(s) - strlen(from) + strlen(to), len);
	memmove(at + strlen(to), at + strlen(from), tail + 1);
	memcpy(at, to, strlen(to));
}

/* The Windows command that runs file with args under limit_s, made from the probe's
 * `tailscale status --json` script with only the program and its arguments swapped: the
 * probe has one script for every command it runs on Windows. */
static void windows_cmd_from_status(const char *file, const char *args, int limit_s, char *out,
				    size_t len)
{
	char script[4096], line[1024], *enc = NULL;
	struct md_err err = { 0 };

	decode_powershell(ts_cmd("windows", limit_s, "status --json"), script, sizeof(script));
	snprintf(line, sizeof(line), "\n$i.FileName = '%s'\n", file);
	swap_text(script, sizeof(script), "\n$i.FileName = 'tailscale'\n", line);
	snprintf(line, sizeof(line), "\n$i.Arguments = '%s'\n", args);
	swap_text(script, sizeof(script), "\n$i.Arguments = 'status --json'\n", line);
	cr_assert_eq(md_hostcmd_encode_powershell(script, &enc, &err), MD_OK, "%s", err.msg);
	cr_assert_lt(snprintf(out, len, "powershell -NoProfile -NonInteractive -EncodedCommand %s",
			      enc), (int)len);
	free(enc);
}

#define WIN_CURL "-s -o NUL -w \"%{http_code}\" --max-time 3 \"http://127.0.0.1:18080\""

/* A Windows host: every command through the PowerShell script with its own limit, which
 * starts a second or so earlier than on Linux for PowerShell's start-up (of the 5 s budget,
 * 3 s for status/prefs/serve; of the 4 s for cert, 2 s); curl.exe ends itself after 3 s,
 * and the script a second later (4 s). */
Test(tls, windows_host_runs_every_command_through_powershell_tailscale_fixture,
     .init = no_network)
{
	char *status = fixture("status-seed004-https-off.json");
	char *serve = fixture("serve-seed004.json");
	char *prefs = fixture("prefs-tailscale.json");
	static char cert[8192], curl[8192];
	struct md_err ce = { 0 };
	const struct md_replay_entry e[] = {
		{ ts_cmd("windows", 3, "status --json"), 0, status, "", false },
		{ ts_cmd("windows", 3, "debug prefs"), 0, prefs, "", false },
		{ ts_cmd("windows", 3, "serve status --json"), 0, serve, "", false },
		{ curl, 0, "200", "", false },
		{ cert, 124, "", "", false },
	};
	struct md_options o = { 0 };
	struct md_facts f;
	struct md_err err = { 0 };

	cr_assert_eq(md_tls_cert_cmd("windows", 2, "mneme-macbook-pro14.ayu-scylla.ts.net", cert,
				     sizeof(cert), &ce), MD_OK, "%s", ce.msg);
	windows_cmd_from_status("curl.exe", WIN_CURL, 4, curl, sizeof(curl));
	assert_windows_script(curl, "curl.exe", WIN_CURL, 4);
	md_facts_init(&f);
	cr_assert_eq(run_probe(e, 5, "windows", &o, &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "tailscale.cli", "ok");
	cr_assert_str_eq(evidence(&f, "tailscale.cli"), "tailscale status --json");
	assert_fact(&f, "tailscale.control_url", "https://controlplane.tailscale.com");
	assert_fact(&f, "tailscale.serve_configured", "true");
	assert_fact(&f, "tls.backend", "answering");
	cr_assert_str_eq(evidence(&f, "tls.backend"), "curl.exe " WIN_CURL ": HTTP 200 (exit 0)");
	assert_fact(&f, "tls.cert_issue", "hang");
	cr_assert(strstr(evidence(&f, "tls.cert_issue"), "limit 2 s"), "%s",
		  evidence(&f, "tls.cert_issue"));
	md_facts_cleanup(&f);
	free(status);
	free(serve);
	free(prefs);
}

/* The limits on Windows come from what is left, as on Linux: with 7.6 s, the state gets
 * 3.8 s, so status, prefs and the serve configuration run with 2 s on the host instead of
 * 3 s. */
Test(tls, windows_limits_follow_the_deadline_tailscale_fixture, .init = no_network)
{
	char *status = fixture("status-seed004-https-off.json");
	char *serve = fixture("serve-seed004.json");
	char *prefs = fixture("prefs-tailscale.json");
	static char cert[8192], curl[8192];
	struct md_err ce = { 0 };
	const struct md_replay_entry e[] = {
		{ ts_cmd("windows", 2, "status --json"), 0, status, "", false },
		{ ts_cmd("windows", 2, "debug prefs"), 0, prefs, "", false },
		{ ts_cmd("windows", 2, "serve status --json"), 0, serve, "", false },
		{ curl, 0, "200", "", false },
		{ cert, 1, "", "boom\n", false },
	};
	struct md_options o = { 0 };
	struct md_facts f;
	struct md_err err = { 0 };

	cr_assert_eq(md_tls_cert_cmd("windows", 2, "mneme-macbook-pro14.ayu-scylla.ts.net", cert,
				     sizeof(cert), &ce), MD_OK, "%s", ce.msg);
	windows_cmd_from_status("curl.exe", WIN_CURL, 4, curl, sizeof(curl));
	md_facts_init(&f);
	cr_assert_eq(run_probe_within(e, 5, "windows", &o, 7600, &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "tailscale.cli", "ok");
	assert_fact(&f, "tailscale.control_url", "https://controlplane.tailscale.com");
	assert_fact(&f, "tailscale.serve_configured", "true");
	assert_fact(&f, "tls.backend", "answering");
	assert_fact(&f, "tls.cert_issue", "failed");
	md_facts_cleanup(&f);
	free(status);
	free(serve);
	free(prefs);
}

/* A wedged CLI on Windows is ended by the script (exit 124) and recorded exactly as
 * `timeout` ending it on Linux: an error, with the host's limit in the evidence. */
Test(tls, windows_status_ended_by_the_hosts_limit_is_recorded_as_on_linux_tailscale_fixture,
     .init = no_network)
{
	static const struct { const char *os; int limit_s; } hosts[] = {
		{ "linux", 4 }, { "windows", 3 },
	};

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		const struct md_replay_entry e[] = {
			{ ts_cmd(hosts[i].os, hosts[i].limit_s, "status --json"), 124, "", "", false },
		};
		struct md_options o = { 0 };
		struct md_facts f;
		struct md_err err = { 0 };
		char want[200];

		md_facts_init(&f);
		cr_assert_eq(run_probe(e, 1, hosts[i].os, &o, &f, &err), MD_OK, "%s: %s",
			     hosts[i].os, err.msg);
		assert_fact(&f, "tailscale.cli", "error");
		snprintf(want, sizeof(want),
			 "tailscale status --json: no answer within %d s (ended on the host)",
			 hosts[i].limit_s);
		cr_assert_str_eq(evidence(&f, "tailscale.cli"), want, "%s", hosts[i].os);
		cr_assert_null(md_facts_get(&f, "tailscale.serve_configured"), "%s", hosts[i].os);
		cr_assert_null(md_facts_get(&f, "tls.cert_issue"), "%s", hosts[i].os);
		/* the handshake still ran */
		assert_fact(&f, "tls.tcp", "unreachable");
		md_facts_cleanup(&f);
	}
}

/* The serve status, and a curl.exe that does not end itself, ended by the script. */
Test(tls, windows_serve_status_and_backend_ended_by_the_hosts_limit_tailscale_fixture,
     .init = no_network)
{
	char *status = fixture("status-seed004-https-off.json");
	char *serve = fixture("serve-seed004.json");
	char *prefs = fixture("prefs-tailscale.json");
	static char cert[8192], curl[8192];
	struct md_err ce = { 0 };
	const struct md_replay_entry wedged_serve[] = {
		{ ts_cmd("windows", 3, "status --json"), 0, status, "", false },
		{ ts_cmd("windows", 3, "debug prefs"), 0, prefs, "", false },
		{ ts_cmd("windows", 3, "serve status --json"), 124, "", "", false },
	};
	const struct md_replay_entry wedged_curl[] = {
		{ ts_cmd("windows", 3, "status --json"), 0, status, "", false },
		{ ts_cmd("windows", 3, "debug prefs"), 0, prefs, "", false },
		{ ts_cmd("windows", 3, "serve status --json"), 0, serve, "", false },
		{ curl, 124, "", "", false },
		{ cert, 1, "", "boom\n", false },
	};
	struct md_options o = { 0 };
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(run_probe(wedged_serve, 3, "windows", &o, &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "tailscale.cli", "ok");
	assert_fact(&f, "tailscale.serve_status", "error");
	cr_assert_str_eq(evidence(&f, "tailscale.serve_status"),
			 "tailscale serve status --json: no answer within 3 s (ended on the host)");
	md_facts_cleanup(&f);

	cr_assert_eq(md_tls_cert_cmd("windows", 2, "mneme-macbook-pro14.ayu-scylla.ts.net", cert,
				     sizeof(cert), &ce), MD_OK, "%s", ce.msg);
	windows_cmd_from_status("curl.exe", WIN_CURL, 4, curl, sizeof(curl));
	md_facts_init(&f);
	cr_assert_eq(run_probe(wedged_curl, 5, "windows", &o, &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "tls.backend", "unknown");
	cr_assert_str_eq(evidence(&f, "tls.backend"),
			 "curl.exe " WIN_CURL ": no answer within 4 s (ended on the host)");
	cr_assert_null(md_facts_get(&f, "tls.backend_http"));
	/* the session stayed usable: the certificate was still asked */
	assert_fact(&f, "tls.cert_issue", "failed");
	md_facts_cleanup(&f);
	free(status);
	free(serve);
	free(prefs);
}

/* The serve configuration is the host's to write: a Proxy that is not a plain URL is
 * recorded as unsafe-proxy-url, shown escaped, and never fetched. */
Test(tls, hostile_serve_proxy_is_never_run_tailscale_fixture, .init = no_network)
{
	char *status = fixture("status-seed004-https-off.json");
	const char *serve =
		"{\"TCP\": {\"443\": {\"HTTPS\": true}}, \"Web\": {\"mneme-macbook-pro14.ayu-"
		"scylla.ts.net:443\": {\"Handlers\": {\"/\": {\"Proxy\": "
		"\"http://127.0.0.1:18080/\\u001b[2J$(touch /tmp/x)\"}}}}}\n";
	const struct md_replay_entry e[] = {
		{ ts_cmd("linux", 4, "status --json"), 0, status, "", false },
		{ ts_cmd("linux", 4, "serve status --json"), 0, serve, "", false },
		/* were anything fetched, it would answer */
		{ "curl ", 0, "200", "", false },
		{ "wget ", 0, "", "", false },
		{ ts_cmd("linux", 3, "cert --cert-file=- 'mneme-macbook-pro14.ayu-scylla.ts.net'"), 1,
		  "", "boom\n", false },
	};
	struct md_options o = { 0 };
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(run_probe(e, 5, "linux", &o, &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "tailscale.serve_configured", "true");
	assert_fact(&f, "tailscale.serve_proxy", "unsafe-proxy-url");
	cr_assert(strstr(evidence(&f, "tailscale.serve_proxy"),
			 "Proxy \"http://127.0.0.1:18080/\\x1b[2J$(touch /tmp/x)\" is not a plain"),
		  "%s", evidence(&f, "tailscale.serve_proxy"));
	cr_assert_null(strchr(evidence(&f, "tailscale.serve_configured"), '\x1b'), "%s",
		       evidence(&f, "tailscale.serve_configured"));
	assert_fact(&f, "tls.backend", "unsafe-proxy-url");
	cr_assert_null(md_facts_get(&f, "tls.backend_url"));
	cr_assert_null(md_facts_get(&f, "tls.backend_http"));
	md_facts_cleanup(&f);
	free(status);
}

/* A MagicDNS name that is no DNS name never reaches a command. */
Test(tls, certificate_not_asked_for_a_name_that_is_not_a_dns_name_tailscale_fixture,
     .init = no_network)
{
	const char *status = "{\"BackendState\": \"Running\", \"Self\": {\"DNSName\": "
			     "\"x';id;'.ts.net.\", \"ID\": \"nABC\"}}";
	char *serve = fixture("serve-seed004.json");
	const struct md_replay_entry e[] = {
		{ ts_cmd("linux", 4, "status --json"), 0, status, "", false },
		{ ts_cmd("linux", 4, "serve status --json"), 0, serve, "", false },
		{ "curl ", 0, "200", "", false },
		{ "t=/Applications/Tailscale.app/Contents/MacOS/Tailscale; command -v tailscale "
		  ">/dev/null 2>&1 || [ ! -x \"$t\" ] || exec \"$t\" cert", 124, "", "", false },
	};
	struct md_options o = { 0 };
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(run_probe(e, 4, "linux", &o, &f, &err), MD_OK, "%s", err.msg);
	assert_fact(&f, "tls.cert_issue", "skipped");
	cr_assert_null(md_facts_get(&f, "tls.cert_domain"));
	md_facts_cleanup(&f);
	free(serve);
}

Test(tls, without_session_or_target_the_probe_is_skipped)
{
	struct md_options o = { 0 };
	struct md_ctx ctx = { .opt = &o, .deadline = md_deadline_after(md_now_ms(), 1000) };
	struct md_facts f;
	struct md_err err = { 0 };

	md_facts_init(&f);
	cr_assert_eq(probe_tls.run(&ctx, &f, &err), MD_ESKIP);
	md_facts_cleanup(&f);
}

/* ==== tls.rules ========================================================================= */

struct rule_case {
	char rule[40];
	char facts[480]; /* "name=value;..." (true/false -> bool, digits -> int, else string) */
	bool fires;
};

#define SEED_CHAIN                                                                            \
	"tailscale.serve_configured=true;tailscale.serve_proxy=http://127.0.0.1:18080;"       \
	"tailscale.dns_name=mneme-macbook-pro14.ayu-scylla.ts.net;port.listen.tcp.443=true;"  \
	"tls.tcp=connected;tls.backend=answering;tailscale.cert_domains=0;tls.sni=x"

ParameterizedTestParameters(tls, rules)
{
	static struct rule_case cases[] = {
		{ "tls-https-certs-not-enabled",
		  SEED_CHAIN ";tls.handshake=timeout;tls.cert_issue=hang;tailscale.control=tailscale", true },
		{ "tls-https-certs-not-enabled",
		  SEED_CHAIN ";tls.handshake=alert;tls.alert=internal_error;tls.cert_issue=failed;tailscale.control=unknown", true },
		{ "tls-https-certs-not-enabled",
		  SEED_CHAIN ";tls.handshake=timeout;tls.cert_issue=ok;tailscale.control=tailscale", false },
		{ "tls-https-certs-not-enabled",
		  SEED_CHAIN ";tls.handshake=timeout;tls.cert_issue=failed;tailscale.control=headscale", false },
		/* a deadline spent elsewhere proves nothing */
		{ "tls-https-certs-not-enabled",
		  SEED_CHAIN ";tls.handshake=timeout;tls.cert_issue=unknown;tailscale.control=tailscale", false },
		{ "tls-https-certs-not-enabled",
		  SEED_CHAIN ";tls.handshake=timeout;tls.cert_issue=skipped;tailscale.control=tailscale", false },
		{ "tls-https-certs-not-enabled",
		  SEED_CHAIN ";tls.handshake=skipped;tls.cert_issue=hang;tailscale.control=tailscale", false },
		{ "tls-headscale-no-https-certs",
		  SEED_CHAIN ";tls.handshake=timeout;tls.cert_issue=failed;tailscale.control=headscale;"
		  "tls.cert_error=500 Internal Server Error: your Tailscale account does not support getting TLS certs", true },
		{ "tls-headscale-no-https-certs",
		  "tailscale.control=headscale;tls.cert_issue=failed;tailscale.serve_configured=false;"
		  "tls.handshake=ok;tls.cert_error=your Tailscale account does not support getting TLS certs", false },
		{ "tls-serve-listener-missing", "tailscale.serve_configured=true;tls.tcp=refused", true },
		{ "tls-serve-backend-down", "tailscale.serve_configured=true;tls.backend=down", true },
		{ "tls-handshake-timeout", "tls.handshake=timeout;tls.tcp=connected", true },
		{ "tls-handshake-alert", "tls.handshake=alert;tls.alert=internal_error", true },
		{ "tls-handshake-error", "tls.handshake=error;tls.tcp=connected;tls.error=wrong version number", true },
		{ "tls-handshake-error", "tls.handshake=skipped;tls.tcp=refused", false },
		{ "tls-cert-expired", "tls.verify=expired", true },
		{ "tls-cert-not-yet-valid", "tls.verify=not-yet-valid", true },
		{ "tls-cert-name-mismatch", "tls.verify=hostname-mismatch", true },
		{ "tls-cert-untrusted", "tls.verify=untrusted", true },
		{ "tls-cert-self-signed", "tls.verify=self-signed", true },
		{ "tls-cert-invalid", "tls.verify=invalid", true },
		{ "tls-cert-expiring-soon", "tls.verify=ok;tls.days_left=9", true },
		{ "tls-cert-expiring-soon", "tls.verify=ok;tls.days_left=60", false },
		{ "tls-port-refused", "tls.expected=true;tls.tcp=refused", true },
		{ "tls-port-refused", "tls.expected=false;tls.tcp=refused", false },
		{ "tls-port-timeout", "tls.expected=true;tls.tcp=timeout", true },
		{ "tls-cert-issue-hangs", "tls.cert_issue=hang", true },
		{ "tls-cert-issue-fails", "tls.cert_issue=failed;tls.cert_error=boom", true },
		{ "tls-cert-issue-denied", "tls.cert_issue=denied;tls.cert_error=Access denied: cert access denied", true },
	};

	return cr_make_param_array(struct rule_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct rule_case *c, tls, rules)
{
	struct test_eval t;

	cr_assert_eq(test_eval_spec(&t, "rules/tls.rules", "test", c->facts), 0, "%s", t.err.msg);
	cr_assert_eq(test_finding_index(&t.ev, c->rule) >= 0, c->fires, "%s with %s: want fired=%d",
		     c->rule, c->facts, c->fires);
	test_eval_cleanup(&t);
}

Test(tls, seed_chain_is_the_top_finding_and_supersedes_the_generic_ones)
{
	struct test_eval t;

	cr_assert_eq(test_eval_load(&t, "rules/tls.rules"), 0, "%s", t.err.msg);
	cr_assert_eq(test_put_facts(&t.facts, "test",
				    SEED_CHAIN ";tls.handshake=timeout;tls.cert_issue=hang;"
				    "tailscale.control=tailscale"),
		     0);
	cr_assert_eq(test_eval_run(&t), 0);
	cr_assert_eq(test_finding_index(&t.ev, "tls-https-certs-not-enabled"), 0);
	cr_assert_eq(test_finding_index(&t.ev, "tls-handshake-timeout"), -1, "superseded");
	cr_assert_eq(test_finding_index(&t.ev, "tls-cert-issue-hangs"), -1, "superseded");
	test_eval_cleanup(&t);
}
