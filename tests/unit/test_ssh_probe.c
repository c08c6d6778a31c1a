/* test_ssh_probe.c — the ssh probe without a network: the replay session it is tested
 * with, and every rule in rules/ssh.rules fired from facts.  The SSH client's own tests
 * are in test_ssh_banner.c, test_ssh_kex.c, test_ssh_keys.c, test_ssh_agent.c and
 * test_known_hosts.c. */
#include "core/facts.h"
#include "core/proc.h"
#include "core/session.h"
#include "core/session_ssh.h"
#include "tests/support/session_replay.h"
#include "rules/engine.h"

#include "tests/support/fact_spec.h"
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ==================================================================================== */
/* Replay session                                                                       */
/* ==================================================================================== */

Test(replay, answers_by_prefix_and_127_otherwise, .timeout = 10)
{
	const struct md_replay_entry e[] = {
		{ "tailscale status", 0, "100.64.0.1 sfspark1\n", "warn\n", false },
	};
	struct md_session *s = md_session_new_replay(e, 1, "linux");
	struct md_deadline dl = md_deadline_after(md_now_ms(), 1000);
	struct md_exec x;
	struct md_err err = { 0 };

	cr_assert(s);
	cr_assert_str_eq(md_session_os(s), "linux");
	cr_assert_null(md_session_ssh(s));
	md_exec_init(&x);
	cr_assert_eq(md_session_exec(s, "tailscale status --json", "in", 2, &x, &dl, &err), MD_OK);
	cr_assert_eq(x.exit_status, 0);
	cr_assert_str_eq(md_buf_str(&x.out), "100.64.0.1 sfspark1\n");
	cr_assert_str_eq(md_buf_str(&x.err), "warn\n");
	cr_assert_eq(md_session_exec(s, "nosuch --flag", NULL, 0, &x, &dl, &err), MD_OK);
	cr_assert_eq(x.exit_status, 127);
	cr_assert_str_eq(md_buf_str(&x.out), "", "buffers are reset between commands");
	cr_assert_str_eq(md_buf_str(&x.err), "nosuch: command not found\n");
	md_session_set_os(s, "windows");
	cr_assert_str_eq(md_session_os(s), "windows");
	md_exec_cleanup(&x);
	md_session_free(s);
	md_session_free(NULL);
}

Test(replay, hang_is_a_timeout_error, .timeout = 10)
{
	const struct md_replay_entry e[] = { { "sleep", 0, NULL, NULL, true } };
	struct md_session *s = md_session_new_replay(e, 1, NULL);
	struct md_deadline dl = md_deadline_after(md_now_ms(), 1000);
	struct md_exec x;
	struct md_err err = { 0 };

	md_exec_init(&x);
	cr_assert_eq(md_session_exec(s, "sleep 100", NULL, 0, &x, &dl, &err), MD_ETIMEOUT);
	cr_assert(strstr(err.msg, "sleep 100"), "%s", err.msg);
	md_exec_cleanup(&x);
	md_session_free(s);
}

/* ==================================================================================== */
/* rules/ssh.rules: every rule fires from the facts the probe records                   */
/* ==================================================================================== */

struct rule_case {
	const char *facts; /* "name=value;..." values: "quoted" string, true/false, integer */
	const char *want_first; /* the first finding */
	const char *superseded; /* a rule that must be "superseded" in the path, or NULL */
};

#define BASE "ssh.addr=\"10.77.0.2:22\";ssh.host=\"h1\";ssh.port=22;ssh.user=\"steve\";"
#define CONNECTED BASE "ssh.tcp=\"connected\";ssh.banner_status=\"ok\";ssh.server_windows=false;" \
	"ssh.server_software=\"OpenSSH_9.2p1\";ssh.banner=\"SSH-2.0-OpenSSH_9.2p1\";"
#define KEXED CONNECTED "ssh.kex=\"ok\";ssh.hostkey=\"match\";ssh.hostkey_type=\"ssh-ed25519\";" \
	"ssh.hostkey_fingerprint=\"SHA256:x\";ssh.known_hosts_name=\"h1\";"
/* A failed key exchange, the server's lists read again, and category cat without a common
 * algorithm; hk: the server's host key algorithms. */
#define KEX_NO_COMMON(cat, hk) CONNECTED "ssh.kex=\"failed\";" \
	"ssh.kex_error=\"handshake with 10.77.0.2:22: Unable to exchange encryption keys\";" \
	"ssh.server_kex_algorithms=\"curve25519-sha256\";ssh.server_hostkey_algorithms=\"" hk "\";" \
	"ssh.server_ciphers=\"chacha20-poly1305@openssh.com\";ssh.server_macs=\"hmac-sha2-256\";" \
	"ssh.libssh2_version=\"1.10.0\";ssh.kex_no_common=\"" cat "\";"
#define DENIED KEXED "ssh.auth=\"denied\";ssh.auth_methods_offered=\"publickey\";"

static const struct rule_case ssh_rules_fire_cases[] = {
	{ KEXED "ssh.config=\"failed\";ssh.config_error=\"`ssh -G h1`: /root/.ssh/config line 3: Bad configuration option: hostnme\";"
	  "ssh.auth=\"ok\";host.os=\"linux\";host.sudo=\"nopasswd\"", "ssh-config-failed", NULL },
	{ KEXED "ssh.config=\"read\";ssh.proxy=\"ProxyJump jumper@bastion:2200\";"
	  "ssh.auth=\"ok\";host.os=\"linux\";host.sudo=\"nopasswd\"", "ssh-proxy-not-followed", NULL },
	{ BASE "ssh.tcp=\"refused\";ssh.tcp_error=\"connect 10.77.0.2:22: Connection refused\"",
	  "ssh-connection-refused", NULL },
	{ BASE "ssh.tcp=\"timeout\";ssh.tcp_error=\"connect: no answer\"", "ssh-connection-timeout", NULL },
	{ BASE "ssh.tcp=\"unreachable\";ssh.tcp_error=\"connect: Network is unreachable\"",
	  "ssh-host-unreachable", NULL },
	{ BASE "ssh.tcp=\"no-such-host\";ssh.tcp_error=\"resolve h1: Name or service not known\"",
	  "ssh-name-not-resolved", NULL },
	{ "ssh.addr=\"office-one.local:2222\";ssh.host=\"office-one.local\";ssh.port=2222;"
	  "ssh.user=\"steve\";ssh.tcp=\"no-such-host\";ssh.tcp_error=\"resolve\"",
	  "ssh-mdns-name-not-resolved", "ssh-name-not-resolved" },
	{ BASE "ssh.tcp=\"connected\";ssh.banner_status=\"not-ssh\";ssh.first_bytes=\"HTTP/1.1 400\"",
	  "ssh-not-ssh-server", NULL },
	{ BASE "ssh.tcp=\"connected\";ssh.banner_status=\"none\"", "ssh-no-banner", NULL },
	{ BASE "ssh.tcp=\"connected\";ssh.banner_status=\"closed\"", "ssh-closed-before-banner", NULL },
	{ CONNECTED "ssh.kex=\"timeout\";ssh.kex_error=\"handshake: no answer\"",
	  "ssh-handshake-failed", NULL },
	{ KEX_NO_COMMON("hostkey", "rsa-sha2-512,rsa-sha2-256") "ssh.kex_no_common_server=\"rsa-sha2-512,rsa-sha2-256\";"
	  "ssh.kex_no_common_client=\"ssh-ed25519,ssh-rsa\"", "ssh-hostkey-rsa-sha2-only", "ssh-handshake-failed" },
	{ KEX_NO_COMMON("hostkey", "rsa-sha2-512,rsa-sha2-256") "ssh.kex_no_common_server=\"rsa-sha2-512,rsa-sha2-256\";"
	  "ssh.kex_no_common_client=\"ssh-ed25519,ssh-rsa\"", "ssh-hostkey-rsa-sha2-only", "ssh-kex-no-common-algorithm" },
	{ KEX_NO_COMMON("cipher", "ssh-ed25519") "ssh.kex_no_common_server=\"chacha20-poly1305@openssh.com\";"
	  "ssh.kex_no_common_client=\"aes128-ctr,aes256-ctr\"", "ssh-kex-no-common-algorithm", "ssh-handshake-failed" },
	{ CONNECTED "ssh.kex=\"ok\";ssh.hostkey=\"changed\";ssh.hostkey_fingerprint=\"SHA256:x\";"
	  "ssh.hostkey_type=\"ssh-ed25519\";ssh.hostkey_known_type=\"ecdsa-sha2-nistp256\";"
	  "ssh.hostkey_known_fingerprint=\"SHA256:y\";"
	  "ssh.known_hosts_name=\"h1\";ssh.known_hosts_file=\"/root/.ssh/known_hosts\";ssh.known_hosts_line=3",
	  "ssh-hostkey-changed", NULL },
	{ CONNECTED "ssh.kex=\"ok\";ssh.hostkey=\"unchecked\";ssh.hostkey_fingerprint=\"SHA256:x\";"
	  "ssh.hostkey_type=\"ssh-ed25519\";ssh.known_hosts_name=\"h1\";"
	  "ssh.known_hosts_unread=\"/etc/ssh/ssh_known_hosts: Permission denied\"",
	  "ssh-hostkey-unchecked", NULL },
	{ CONNECTED "ssh.kex=\"ok\";ssh.hostkey=\"unverifiable\";ssh.hostkey_fingerprint=\"SHA256:x\";"
	  "ssh.hostkey_type=\"ssh-ed25519\";ssh.hostkey_known_type=\"ssh-rsa\";"
	  "ssh.hostkey_known_fingerprint=\"SHA256:y\";ssh.libssh2_version=\"1.10.0\";"
	  "ssh.known_hosts_name=\"h1\";ssh.known_hosts_file=\"/root/.ssh/known_hosts\";ssh.known_hosts_line=3",
	  "ssh-hostkey-unverifiable", NULL },
	{ CONNECTED "ssh.kex=\"ok\";ssh.hostkey=\"revoked\";ssh.hostkey_fingerprint=\"SHA256:x\";"
	  "ssh.known_hosts_name=\"h1\";ssh.known_hosts_file=\"/etc/ssh/ssh_known_hosts\";ssh.known_hosts_line=4",
	  "ssh-hostkey-revoked", NULL },
	{ KEXED "ssh.hostkey=\"unknown\";ssh.hostkey_added=true;ssh.hostkey_added_to=\"/root/.ssh/known_hosts\";"
	  "ssh.auth=\"ok\";host.os=\"linux\";host.sudo=\"nopasswd\"", "ssh-hostkey-added", NULL },
	{ DENIED "ssh.auth_keys_tried=1;ssh.auth_rsa_sha1_only=false", "ssh-permission-denied", NULL },
	{ DENIED "ssh.auth_keys_tried=1;ssh.auth_rsa_sha1_only=false;ssh.server_windows=true",
	  "ssh-permission-denied-windows", "ssh-permission-denied" },
	{ DENIED "ssh.auth_keys_tried=1;ssh.auth_rsa_sha1_only=true", "ssh-rsa-sha1-only",
	  "ssh-permission-denied" },
	{ DENIED "ssh.auth_keys_tried=0;ssh.auth_rsa_sha1_only=false;ssh.identity_encrypted=\"/k\"",
	  "ssh-no-usable-key", "ssh-permission-denied" },
	{ KEXED "ssh.auth=\"denied\";ssh.auth_methods_offered=\"password,keyboard-interactive\";"
	  "ssh.auth_keys_tried=0;ssh.auth_rsa_sha1_only=false", "ssh-publickey-not-offered",
	  "ssh-permission-denied" },
	{ KEXED "ssh.auth=\"denied\";ssh.auth_methods_offered=\"password\";ssh.server_windows=true;"
	  "ssh.auth_keys_tried=0;ssh.auth_rsa_sha1_only=false", "ssh-publickey-not-offered",
	  "ssh-permission-denied-windows" },
	{ KEXED "ssh.auth=\"error\";ssh.auth_keys_tried=1", "ssh-auth-incomplete", NULL },
	{ KEXED "ssh.agent=\"unresponsive\";ssh.agent_socket=\"/tmp/ssh-x/agent.1\";ssh.auth=\"ok\";"
	  "host.os=\"linux\";host.sudo=\"nopasswd\"", "ssh-agent-unresponsive", NULL },
	{ KEXED "ssh.auth=\"ok\";host.os=\"linux\";host.sudo=\"password\"", "ssh-sudo-needs-password", NULL },
};

static void ssh_rules_fire_one(const struct rule_case *c)
{
	struct md_ruleset rs;
	struct md_facts f;
	struct md_evaluation ev = { 0 };
	struct md_err err = { 0 };

	md_ruleset_init(&rs);
	md_facts_init(&f);
	cr_assert_eq(md_rules_load_file(&rs, "rules/ssh.rules", &err), MD_OK, "%s", err.msg);
	cr_assert_eq(test_put_facts(&f, "ssh", c->facts), 0);
	cr_assert_eq(md_rules_evaluate(&rs, &f, false, &ev), MD_OK);
	cr_assert_geq(ev.n_findings, 1, "no finding for %s", c->facts);
	cr_assert_str_eq(ev.findings[0].rule->id, c->want_first, "first finding for %s", c->facts);
	cr_assert_null(strstr(ev.findings[0].cause, "{ssh."), "uninterpolated cause: %s",
		       ev.findings[0].cause);
	if (c->superseded)
		for (size_t i = 0; i < ev.n_path; i++)
			if (strcmp(ev.path[i].rule->id, c->superseded) == 0)
				cr_assert_eq(ev.path[i].result, MD_RULE_SUPERSEDED, "%s", c->superseded);
	md_evaluation_cleanup(&ev);
	md_facts_cleanup(&f);
	md_ruleset_cleanup(&rs);
}

Test(ssh_rules, fire, .timeout = 10)
{
	for (size_t i = 0; i < sizeof(ssh_rules_fire_cases) / sizeof(ssh_rules_fire_cases[0]); i++)
		ssh_rules_fire_one(&ssh_rules_fire_cases[i]);
}

/* The findings of facts under rules/ssh.rules: their ids, first first, and severities. */
static void ssh_rules_findings(const char *facts, const char *const *ids, const enum md_severity *sev)
{
	struct md_ruleset rs;
	struct md_facts f;
	struct md_evaluation ev = { 0 };
	struct md_err err = { 0 };
	size_t n = 0;

	md_ruleset_init(&rs);
	md_facts_init(&f);
	cr_assert_eq(md_rules_load_file(&rs, "rules/ssh.rules", &err), MD_OK, "%s", err.msg);
	cr_assert_eq(test_put_facts(&f, "ssh", facts), 0);
	cr_assert_eq(md_rules_evaluate(&rs, &f, false, &ev), MD_OK);
	for (; ids[n]; n++) {
		int i = test_finding_index(&ev, ids[n]);

		cr_assert_geq(i, 0, "%s did not fire for %s", ids[n], facts);
		cr_assert_eq(ev.findings[i].severity, sev[n], "severity of %s", ids[n]);
	}
	cr_assert_eq(ev.n_findings, n, "findings for %s: %zu, first %s", facts, ev.n_findings,
		     ev.n_findings ? ev.findings[0].rule->id : "");
	if (n)
		cr_assert_str_eq(ev.findings[0].rule->id, ids[0]);
	md_evaluation_cleanup(&ev);
	md_facts_cleanup(&f);
	md_ruleset_cleanup(&rs);
}

/* No algorithm in common with libssh2: a warning, never the critical ssh-handshake-failed,
 * since `ssh` may connect; only a failure with every category in common stays critical. */
Test(ssh_rules, no_common_algorithm_is_a_warning_not_a_failed_handshake, .timeout = 10)
{
	const char *rsa[] = { "ssh-hostkey-rsa-sha2-only", NULL };
	const char *other[] = { "ssh-kex-no-common-algorithm", NULL };
	const char *none[] = { "ssh-handshake-failed", NULL };
	const enum md_severity warn[] = { MD_SEV_WARNING }, crit[] = { MD_SEV_CRITICAL };

	ssh_rules_findings(KEX_NO_COMMON("hostkey", "rsa-sha2-512,rsa-sha2-256"), rsa, warn);
	ssh_rules_findings(KEX_NO_COMMON("hostkey", "rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-512"), rsa, warn);
	/* A host key other than RSA among them (or ssh-rsa itself) is not the RSA case. */
	ssh_rules_findings(KEX_NO_COMMON("hostkey", "ssh-dss"), other, warn);
	ssh_rules_findings(KEX_NO_COMMON("hostkey", "rsa-sha2-512,sk-ssh-ed25519@openssh.com"), other, warn);
	ssh_rules_findings(KEX_NO_COMMON("hostkey", "xrsa-sha2-512"), other, warn);
	ssh_rules_findings(KEX_NO_COMMON("kex", "ssh-ed25519"), other, warn);
	ssh_rules_findings(KEX_NO_COMMON("cipher", "ssh-ed25519"), other, warn);
	ssh_rules_findings(KEX_NO_COMMON("mac", "ssh-ed25519"), other, warn);
	/* Everything in common: the failure is something else, and stays critical. */
	ssh_rules_findings(KEX_NO_COMMON("none", "rsa-sha2-512,rsa-sha2-256"), none, crit);
	/* The lists could not be read: as before. */
	ssh_rules_findings(CONNECTED "ssh.kex=\"failed\";ssh.kex_error=\"handshake: Unable to exchange encryption keys\"",
			   none, crit);
}

/* An RSA key on file that this libssh2 could not ask for: a warning alone, never the
 * critical ssh-hostkey-changed, since `ssh` verifies the RSA key. */
Test(ssh_rules, unverifiable_host_key_is_a_warning_not_a_changed_key, .timeout = 10)
{
	const char *unverifiable[] = { "ssh-hostkey-unverifiable", NULL };
	const char *changed[] = { "ssh-hostkey-changed", NULL };
	const enum md_severity warn[] = { MD_SEV_WARNING }, crit[] = { MD_SEV_CRITICAL };
#define HOSTKEY(v) CONNECTED "ssh.kex=\"ok\";ssh.hostkey=\"" v "\";ssh.hostkey_fingerprint=\"SHA256:x\";" \
	"ssh.hostkey_type=\"ssh-ed25519\";ssh.hostkey_known_type=\"ssh-rsa\";" \
	"ssh.hostkey_known_fingerprint=\"SHA256:y\";ssh.libssh2_version=\"1.10.0\";ssh.known_hosts_name=\"h1\";" \
	"ssh.known_hosts_file=\"/root/.ssh/known_hosts\";ssh.known_hosts_line=1"

	ssh_rules_findings(HOSTKEY("unverifiable"), unverifiable, warn);
	ssh_rules_findings(HOSTKEY("changed"), changed, crit);
#undef HOSTKEY
}

Test(ssh_rules, healthy_host_fires_nothing, .timeout = 10)
{
	struct md_ruleset rs;
	struct md_facts f;
	struct md_evaluation ev = { 0 };
	struct md_err err = { 0 };

	md_ruleset_init(&rs);
	md_facts_init(&f);
	cr_assert_eq(md_rules_load_file(&rs, "rules/ssh.rules", &err), MD_OK, "%s", err.msg);
	cr_assert_eq(test_put_facts(&f, "ssh",
				    KEXED "ssh.auth=\"ok\";ssh.auth_method=\"publickey:/k\";"
				    "ssh.auth_keys_tried=1;host.os=\"linux\";host.sudo=\"nopasswd\""),
		     0);
	cr_assert_eq(md_rules_evaluate(&rs, &f, false, &ev), MD_OK);
	cr_assert_eq(ev.n_findings, 0, "fired: %s", ev.n_findings ? ev.findings[0].rule->id : "");
	md_evaluation_cleanup(&ev);
	md_facts_cleanup(&f);
	md_ruleset_cleanup(&rs);
}

