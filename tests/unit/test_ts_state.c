/* test_ts_state.c — the Tailscale node's state (probes/ts_state.c, probes/ts_facts.c) and
 * rules/tailscale.rules: the parsers on fixtures/tailscale/ and each rule on facts.
 *
 * Tailscale is a FIXTURE here: the files hold `tailscale status --json`, `debug prefs`,
 * `version`, `netcheck --format=json` and the CLI's daemon-unreachable messages in the real
 * formats (fixtures/tailscale/README.md). */
#include "core/facts.h"
#include "core/text.h"
#include "probes//ts_state.h"
#include "tests/support/fact_spec.h"
#include "tests/support/fixture.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(ts_state, .timeout = 15);

/* 2026-09-01T00:00:00Z, the clock of the expiry tests. */
#define NOW_S 1788220800LL

static char *fixture(const char *name)
{
	return test_fixture("tailscale", name);
}

static void parse_state(const char *name, struct md_ts_state *st)
{
	char *j = fixture(name);
	struct md_err e = { 0 };

	cr_assert_eq(md_ts_parse_state(j, st, &e), MD_OK, "%s: %s", name, e.msg);
	free(j);
}

static void parse_prefs(const char *name, struct md_ts_prefs *p)
{
	char *j = fixture(name);
	struct md_err e = { 0 };

	cr_assert_eq(md_ts_parse_prefs(j, p, &e), MD_OK, "%s: %s", name, e.msg);
	free(j);
}

/* ==== status ============================================================================ */

Test(ts_state, healthy_headscale_node_tailscale_fixture)
{
	struct md_ts_state st;

	parse_state("status-headscale-running.json", &st);
	cr_assert_str_eq(st.backend_state, "Running");
	cr_assert_str_eq(st.version, "1.86.2-tb1a9c3e4f-gd8c7b6a5e");
	cr_assert_str_eq(st.auth_url, "");
	cr_assert_null(st.register_form);
	cr_assert(st.self_online);
	cr_assert_str_eq(st.key_expiry, "", "Headscale sends no KeyExpiry by default");
	cr_assert_str_eq(st.ips, "100.64.0.2, fd7a:115c:a1e0::2");
	cr_assert(st.has_tailnet && st.magicdns_enabled);
	cr_assert_str_eq(st.magicdns_suffix, "mesh.internal");
	cr_assert_eq(st.n_health, 0);
	cr_assert_eq(st.peers, 2);
	cr_assert_eq(st.peers_direct, 1);
	cr_assert_eq(st.peers_derp, 1);
	cr_assert_eq(st.peers_online, 2);
}

Test(ts_state, every_peer_path_is_counted_tailscale_fixture)
{
	struct md_ts_state st;

	parse_state("status-peer-paths.json", &st);
	cr_assert_eq(st.peers, 5);
	cr_assert_eq(st.peers_direct, 1);
	cr_assert_eq(st.peers_derp, 1);
	cr_assert_eq(st.peers_peer_relay, 1);
	cr_assert_eq(st.peers_idle, 1);
	cr_assert_eq(st.peers_offline, 1);
}

Test(ts_state, derp_only_peers_tailscale_fixture)
{
	struct md_ts_state st;

	parse_state("status-derp-only.json", &st);
	cr_assert_eq(st.peers_derp, 2);
	cr_assert_eq(st.peers_direct, 0);
}

Test(ts_state, needslogin_on_headscale_029_gives_the_auth_id_tailscale_fixture)
{
	struct md_ts_state st;

	parse_state("status-needslogin.json", &st);
	cr_assert_str_eq(st.backend_state, "NeedsLogin");
	cr_assert_str_eq(st.register_id, "hskey-authreq-Z8cJYxCMdhbRP-QE5Ftu13RS");
	cr_assert_str_eq(st.register_form, "auth-id");
	cr_assert(!st.self_online);
	cr_assert(!st.has_tailnet, "CurrentTailnet is null before a netmap");
	cr_assert_eq(st.n_ips, 0);
	cr_assert_eq(st.peers, 0, "Peer is null");
}

Test(ts_state, needslogin_on_older_headscale_gives_the_key_tailscale_fixture)
{
	struct md_ts_state st;

	parse_state("status-needslogin-hs026.json", &st);
	cr_assert_str_eq(st.register_id, "Z8cJYxCMdhbRPQE5Ftu13RSa");
	cr_assert_str_eq(st.register_form, "key");
}

Test(ts_state, key_expiry_and_expired_tailscale_fixture)
{
	struct md_ts_state st;

	parse_state("status-key-expiring.json", &st);
	cr_assert_str_eq(st.key_expiry, "2026-09-03T09:00:00Z");
	cr_assert_eq(st.key_expiry_s, NOW_S + 2 * 86400 + 9 * 3600);
	cr_assert(!st.self_expired);
	parse_state("status-key-expired.json", &st);
	cr_assert(st.self_expired);
	cr_assert_str_eq(st.backend_state, "NeedsLogin");
	cr_assert_str_eq(st.health, "You are logged out.");
}

Test(ts_state, health_warnings_are_joined_tailscale_fixture)
{
	struct md_ts_state st;

	parse_state("status-health-warnings.json", &st);
	cr_assert_eq(st.n_health, 2);
	cr_assert(strstr(st.health, "relay server. Your Internet connection might be down"), "%s",
		  st.health);
	cr_assert(strstr(st.health, " | Tailscale couldn't listen for incoming UDP connections."),
		  "%s", st.health);
}

Test(ts_state, other_states_tailscale_fixture)
{
	struct md_ts_state st;

	parse_state("status-nostate.json", &st);
	cr_assert_str_eq(st.backend_state, "NoState");
	parse_state("status-stopped.json", &st);
	cr_assert_str_eq(st.backend_state, "Stopped");
	cr_assert_str_eq(st.health, "Tailscale is stopped.");
	parse_state("status-needs-machine-auth.json", &st);
	cr_assert_str_eq(st.backend_state, "NeedsMachineAuth");
	parse_state("status-login-error.json", &st);
	cr_assert(strstr(st.health, "The last login error was: fetch control key: Get "
				    "\"http://sfspark1.local:8080/key?v=130\""), "%s", st.health);
}

Test(ts_state, peers_table_one_row_a_peer_tailscale_fixture)
{
	char *j = fixture("status-headscale-running.json"), *t = NULL;
	struct md_err e = { 0 };

	cr_assert_eq(md_ts_peers_table(j, &t, &e), MD_OK, "%s", e.msg);
	cr_assert(strstr(t, "{\"host\":\"sfspark1\",\"dns_name\":\"sfspark1.mesh.internal\","
			    "\"ip\":\"100.64.0.1\",\"os\":\"linux\",\"online\":true,\"active\":true,"
			    "\"path\":\"direct\",\"cur_addr\":\"192.168.1.10:41641\",\"relay\":\"fra\","
			    "\"peer_relay\":\"\",\"last_handshake\":\"2026-08-25T14:02:58.118204519+02:00\","
			    "\"rx_bytes\":148220,\"tx_bytes\":96512}"), "%s", t);
	cr_assert(strstr(t, "\"host\":\"DESKTOP-7Q2K9LM\""), "%s", t);
	cr_assert(strstr(t, "\"path\":\"derp\""), "%s", t);
	free(t);
	free(j);
	j = fixture("status-needslogin.json");
	cr_assert_eq(md_ts_peers_table(j, &t, &e), MD_OK, "%s", e.msg);
	cr_assert_str_eq(t, "[]", "Peer is null");
	free(t);
	free(j);
	cr_assert_eq(md_ts_peers_table("{}", &t, &e), MD_EPARSE);
	cr_assert_null(t);
}

Test(ts_state, status_that_is_not_a_status_is_a_parse_error)
{
	static const char *const bad[] = { "", "null", "[]", "{\"Version\":\"1.86.2\"}", "{", "\"x\"" };
	struct md_ts_state st;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct md_err e = { 0 };

		cr_assert_eq(md_ts_parse_state(bad[i], &st, &e), MD_EPARSE, "input %s", bad[i]);
		cr_assert(strstr(e.msg, "no BackendState"), "%s", e.msg);
	}
}

Test(ts_state, rfc3339_times_as_go_prints_them)
{
	int64_t t;

	cr_assert_eq(md_parse_rfc3339("2026-09-01T00:00:00Z", &t), MD_OK);
	cr_assert_eq(t, NOW_S);
	cr_assert_eq(md_parse_rfc3339("2026-09-01T02:00:00.118204519+02:00", &t), MD_OK);
	cr_assert_eq(t, NOW_S);
	cr_assert_eq(md_parse_rfc3339("2026-08-31T19:00:00-05:00", &t), MD_OK);
	cr_assert_eq(t, NOW_S);
	cr_assert_eq(md_parse_rfc3339("2026-09-01 00:00:00Z", &t), MD_EPARSE);
	cr_assert_eq(md_parse_rfc3339("2026-09-01T00:00:00", &t), MD_EPARSE);
	cr_assert_eq(md_parse_rfc3339("2026-13-01T00:00:00Z", &t), MD_EPARSE);
	cr_assert_eq(md_parse_rfc3339("2026-09-01T00:00:00Zjunk", &t), MD_EPARSE);
}

/* ==== prefs, version, netcheck, messages ================================================ */

Test(ts_state, prefs_fields_tailscale_fixture)
{
	struct md_ts_prefs p;

	parse_prefs("prefs-headscale.json", &p);
	cr_assert_str_eq(p.control_url, "http://sfspark1.local:8080");
	cr_assert(p.want_running && p.corp_dns && !p.logged_out && !p.force_daemon);
	cr_assert(p.has_corp_dns && p.has_want_running);
	parse_prefs("prefs-stopped.json", &p);
	cr_assert(!p.want_running);
	parse_prefs("prefs-logged-out.json", &p);
	cr_assert(p.logged_out && !p.want_running);
	parse_prefs("prefs-corpdns-off.json", &p);
	cr_assert(!p.corp_dns && p.has_corp_dns);
	parse_prefs("prefs-tailscale.json", &p);
	cr_assert_str_eq(p.control_url, "https://controlplane.tailscale.com");
}

Test(ts_state, prefs_without_controlurl_is_a_parse_error)
{
	struct md_ts_prefs p;
	struct md_err e = { 0 };

	cr_assert_eq(md_ts_parse_prefs("{\"WantRunning\": true}", &p, &e), MD_EPARSE);
	cr_assert(strstr(e.msg, "no ControlURL"), "%s", e.msg);
	cr_assert_eq(md_ts_parse_prefs("garbage", &p, NULL), MD_EPARSE);
}

Test(ts_state, version_output_tailscale_fixture)
{
	char *t = fixture("version-1.86.2.txt");
	struct md_ts_version v;
	struct md_err e = { 0 };

	cr_assert_eq(md_ts_parse_version(t, &v, &e), MD_OK, "%s", e.msg);
	cr_assert_str_eq(v.short_version, "1.86.2");
	cr_assert_str_eq(v.long_version, "1.86.2-tb1a9c3e4f-gd8c7b6a5e");
	free(t);
	cr_assert_eq(md_ts_parse_version("1.80.3\n", &v, NULL), MD_OK);
	cr_assert_str_eq(v.long_version, "");
	cr_assert_eq(md_ts_parse_version("fixture: unknown subcommand\n", &v, &e), MD_EPARSE);
	cr_assert_eq(md_ts_parse_version("", &v, NULL), MD_EPARSE);
	cr_assert_eq(md_ts_parse_version("1.8; rm -rf /\n", &v, NULL), MD_EPARSE);
}

Test(ts_state, version_skew_tailscale_fixture)
{
	char *t = fixture("stderr-version-skew.txt");
	char a[96], b[96];

	cr_assert(md_ts_skew_warning(t, a, sizeof(a), b, sizeof(b)));
	cr_assert_str_eq(a, "1.80.3-t4c2e8a1b9-g0f1e2d3c4");
	cr_assert_str_eq(b, "1.86.2-tb1a9c3e4f-gd8c7b6a5e");
	free(t);
	cr_assert(!md_ts_skew_warning("", a, sizeof(a), b, sizeof(b)));
	cr_assert(!md_ts_skew_warning("Warning: client version \"1.2", a, sizeof(a), b, sizeof(b)));
	cr_assert(md_ts_versions_differ("1.80.3", "1.86.2-tb1a9c3e4f-gd8c7b6a5e"));
	cr_assert(!md_ts_versions_differ("1.86.2", "1.86.2-tb1a9c3e4f-gd8c7b6a5e"));
	cr_assert(md_ts_versions_differ("1.86", "1.86.2-t"));
	cr_assert(!md_ts_versions_differ("", "1.86.2"));
}

Test(ts_state, netcheck_report_tailscale_fixture)
{
	char *t = fixture("netcheck-udp-blocked.json");
	struct md_ts_netcheck n;
	struct md_err e = { 0 };

	cr_assert_eq(md_ts_parse_netcheck(t, &n, &e), MD_OK, "%s", e.msg);
	cr_assert(!n.udp);
	cr_assert_eq(n.preferred_derp, 4);
	cr_assert_str_eq(n.global_v4, "");
	free(t);
	t = fixture("netcheck-udp-ok.json");
	cr_assert_eq(md_ts_parse_netcheck(t, &n, &e), MD_OK, "%s", e.msg);
	cr_assert(n.udp);
	cr_assert_str_eq(n.mapping_varies, "false");
	cr_assert_str_eq(n.global_v4, "203.0.113.7:41641");
	free(t);
	cr_assert_eq(md_ts_parse_netcheck("# Warning: this JSON format", &n, &e), MD_EPARSE);
	cr_assert_eq(md_ts_parse_netcheck("{\"UDP\": \"true\"}", &n, NULL), MD_EPARSE);
}

/* Parameters are copied to the test's process: arrays, not pointers. */
struct daemon_case {
	char file[64], hint[16];
};

ParameterizedTestParameters(ts_state, daemon_unreachable_messages)
{
	static struct daemon_case cases[] = {
		{ "unreachable-linux.txt", "linux" },
		{ "unreachable-linux-systemd.txt", "linux-systemd" },
		{ "unreachable-windows.txt", "windows" },
		{ "unreachable-macos.txt", "macos" },
		{ "unreachable-socket.txt", "socket" },
	};

	return cr_make_param_array(struct daemon_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct daemon_case *c, ts_state, daemon_unreachable_messages)
{
	char *t = fixture(c->file), line[600], want[600];
	const char *hint = md_ts_daemon_error(t, line, sizeof(line));

	cr_assert_not_null(hint, "%s: not recognised", c->file);
	cr_assert_str_eq(hint, c->hint, "%s", c->file);
	snprintf(want, sizeof(want), "%.*s", (int)strcspn(t, "\n"), t);
	cr_assert_str_eq(line, want, "the exact line of %s", c->file);
	free(t);
}

Test(ts_state, other_os_and_unrelated_text)
{
	char line[200];

	cr_assert_str_eq(md_ts_daemon_error("x\nfailed to connect to local tailscaled process; it "
					    "doesn't appear to be running\n", line, sizeof(line)), "other");
	cr_assert_str_eq(line, "failed to connect to local tailscaled process; it doesn't appear to be running");
	cr_assert_null(md_ts_daemon_error("Logged out.\n", line, sizeof(line)));
	cr_assert_null(md_ts_daemon_error(NULL, line, sizeof(line)));
}

Test(ts_state, control_urls_compare_as_servers)
{
	cr_assert(md_ts_same_control("http://sfspark1.local:8080", "http://sfspark1.local:8080/"));
	cr_assert(md_ts_same_control("HTTP://SFSpark1.local:8080", "http://sfspark1.local:8080"));
	cr_assert(md_ts_same_control("https://hs.example.com", "https://hs.example.com:443"));
	cr_assert(md_ts_same_control("", "https://controlplane.tailscale.com"));
	cr_assert(!md_ts_same_control("http://sfspark1.local:8080", "http://old-headscale.lan:8080"));
	cr_assert(!md_ts_same_control("http://hs.example.com", "https://hs.example.com"));
	cr_assert(!md_ts_same_control("http://hs:8080", "http://hs:9090"));
	cr_assert(md_ts_same_control("http://[fd00::1]:8080", "http://[FD00::1]:8080/"));
}

Test(ts_state, magicdns_names)
{
	cr_assert(md_ts_name_under("sfspark2.mesh.internal", "mesh.internal"));
	cr_assert(md_ts_name_under("sfspark2.mesh.internal.", "mesh.internal"));
	cr_assert(!md_ts_name_under("mesh.internal", "mesh.internal"));
	cr_assert(!md_ts_name_under("xmesh.internal", "mesh.internal"));
	cr_assert(!md_ts_name_under("10.0.0.2", "mesh.internal"));
	cr_assert(!md_ts_name_under("box", ""));
}

/* ==== facts ============================================================================= */

static const char *value(const struct md_facts *f, const char *name, char *buf, size_t len)
{
	const struct md_fact *fact = md_facts_get(f, name);

	if (!fact)
		return NULL;
	md_fact_value_text(fact, buf, len, false);
	return buf;
}

#define assert_value(f, name, want)                                                         \
	do {                                                                                \
		char b_[1024];                                                              \
		const char *v_ = value((f), (name), b_, sizeof(b_));                        \
		cr_assert_not_null(v_, "fact %s missing", (name));                          \
		cr_assert_str_eq(v_, (want), "fact %s", (name));                            \
		cr_assert_not_null(md_facts_get((f), (name))->evidence, "%s: no evidence", (name)); \
	} while (0)

Test(ts_state, state_facts_with_evidence_tailscale_fixture)
{
	struct md_facts f;
	struct md_ts_state st;

	md_facts_init(&f);
	parse_state("status-key-expiring.json", &st);
	cr_assert_eq(md_ts_record_state(&f, "tailscale status --json", &st, NOW_S,
					"sfspark2.mesh.internal"), MD_OK);
	assert_value(&f, "tailscale.version", "1.86.2-tb1a9c3e4f-gd8c7b6a5e");
	assert_value(&f, "tailscale.self_online", "true");
	assert_value(&f, "tailscale.key_expiry", "2026-09-03T09:00:00Z");
	assert_value(&f, "tailscale.key_expiry_days", "2");
	assert_value(&f, "tailscale.key_expired", "false");
	assert_value(&f, "tailscale.ips", "100.64.0.2, fd7a:115c:a1e0::2");
	assert_value(&f, "tailscale.magicdns_enabled", "true");
	assert_value(&f, "tailscale.target_magicdns", "true");
	assert_value(&f, "tailscale.health_count", "0");
	assert_value(&f, "tailscale.peers", "2");
	assert_value(&f, "tailscale.peers_direct", "1");
	assert_value(&f, "tailscale.peers_derp", "1");
	cr_assert_null(md_facts_get(&f, "tailscale.health"));
	cr_assert(strstr(md_facts_get(&f, "tailscale.key_expiry")->evidence, "\"KeyExpiry\""));
	md_facts_cleanup(&f);
}

Test(ts_state, expired_key_by_the_clock_and_by_the_control_server_tailscale_fixture)
{
	struct md_facts f;
	struct md_ts_state st;

	md_facts_init(&f);
	parse_state("status-key-expiring.json", &st);
	cr_assert_eq(md_ts_record_state(&f, "s", &st, NOW_S + 3 * 86400, NULL), MD_OK);
	assert_value(&f, "tailscale.key_expired", "true");
	assert_value(&f, "tailscale.key_expiry_days", "-1");
	md_facts_cleanup(&f);
	md_facts_init(&f);
	parse_state("status-key-expired.json", &st);
	cr_assert_eq(md_ts_record_state(&f, "s", &st, NOW_S - 90 * 86400, NULL), MD_OK);
	assert_value(&f, "tailscale.key_expired", "true");
	cr_assert(strstr(md_facts_get(&f, "tailscale.key_expired")->evidence, "\"Expired\": true"));
	md_facts_cleanup(&f);
}

Test(ts_state, login_facts_tailscale_fixture)
{
	struct md_facts f;
	struct md_ts_state st;

	md_facts_init(&f);
	parse_state("status-needslogin.json", &st);
	cr_assert_eq(md_ts_record_state(&f, "tailscale status --json", &st, NOW_S, "newbox"), MD_OK);
	assert_value(&f, "tailscale.auth_url",
		     "http://sfspark1.local:8080/register/hskey-authreq-Z8cJYxCMdhbRP-QE5Ftu13RS");
	assert_value(&f, "tailscale.register_id", "hskey-authreq-Z8cJYxCMdhbRP-QE5Ftu13RS");
	assert_value(&f, "tailscale.register_form", "auth-id");
	assert_value(&f, "tailscale.self_online", "false");
	cr_assert_null(md_facts_get(&f, "tailscale.key_expired"), "no netmap: cannot tell");
	md_facts_cleanup(&f);
}

Test(ts_state, prefs_facts_and_the_expected_server_tailscale_fixture)
{
	struct md_facts f;
	struct md_ts_prefs p;

	md_facts_init(&f);
	parse_prefs("prefs-other-server.json", &p);
	cr_assert_eq(md_ts_record_prefs(&f, "tailscale debug prefs", &p, "http://sfspark1.local:8080"),
		     MD_OK);
	assert_value(&f, "tailscale.want_running", "true");
	assert_value(&f, "tailscale.logged_out", "false");
	assert_value(&f, "tailscale.force_daemon", "false");
	assert_value(&f, "tailscale.corp_dns", "true");
	assert_value(&f, "tailscale.control_matches", "false");
	cr_assert(strstr(md_facts_get(&f, "tailscale.control_matches")->evidence,
			 "\"ControlURL\": \"http://old-headscale.lan:8080\" is not --login-server"));
	md_facts_cleanup(&f);
	md_facts_init(&f);
	cr_assert_eq(md_ts_record_prefs(&f, "tailscale debug prefs", &p, NULL), MD_OK);
	cr_assert_null(md_facts_get(&f, "tailscale.control_matches"), "nothing expected");
	md_facts_cleanup(&f);
}

Test(ts_state, version_and_daemon_facts_tailscale_fixture)
{
	struct md_facts f;
	struct md_ts_version v;
	char *skew = fixture("stderr-version-skew.txt"), *down = fixture("unreachable-windows.txt");
	bool found;

	md_facts_init(&f);
	cr_assert_eq(md_ts_parse_version("1.80.3\n", &v, NULL), MD_OK);
	cr_assert_eq(md_ts_record_version(&f, "tailscale version", &v, skew,
					  "1.86.2-tb1a9c3e4f-gd8c7b6a5e"), MD_OK);
	assert_value(&f, "tailscale.client_version", "1.80.3");
	assert_value(&f, "tailscale.version_skew", "true");
	cr_assert(strstr(md_facts_get(&f, "tailscale.version_skew")->evidence,
			 "Warning: client version \"1.80.3-t4c2e8a1b9-g0f1e2d3c4\""));
	cr_assert_eq(md_ts_record_daemon(&f, "tailscale status --json", down, &found), MD_OK);
	cr_assert(found);
	assert_value(&f, "tailscale.daemon", "unreachable");
	assert_value(&f, "tailscale.daemon_hint", "windows");
	assert_value(&f, "tailscale.daemon_error",
		     "failed to connect to local tailscaled process; is the Tailscale service running?");
	md_facts_cleanup(&f);
	md_facts_init(&f);
	cr_assert_eq(md_ts_record_version(&f, "tailscale version", &v, "", "1.80.3-tabc"), MD_OK);
	assert_value(&f, "tailscale.version_skew", "false");
	md_facts_cleanup(&f);
	free(skew);
	free(down);
}

/* ==== rules/tailscale.rules ============================================================= */

struct rule_case {
	char rule[48];
	char facts[560];
	bool fires;  /* a finding (not superseded) */
	bool top;    /* and the first one */
};

#define RUNNING "tailscale.cli=ok;tailscale.backend_state=Running;tailscale.control=headscale;"
#define HEALTHY RUNNING "tailscale.peers=2;tailscale.peers_direct=1;tailscale.peers_derp=1;" \
	"tailscale.peers_peer_relay=0;tailscale.health_count=0;tailscale.want_running=true;" \
	"tailscale.corp_dns=true;tailscale.magicdns_enabled=true;tailscale.target_magicdns=true;" \
	"tailscale.version_skew=false;tailscale.key_expired=false"

ParameterizedTestParameters(ts_state, rules)
{
	static struct rule_case cases[] = {
		{ "tailscale-not-installed",
		  "tailscale.cli=missing;tailscale.login_server=http://sfspark1.local:8080", true, true },
		{ "tailscale-not-installed", "tailscale.cli=missing", false, false },
		{ "tailscale-daemon-not-running",
		  "tailscale.cli=error;tailscale.daemon=unreachable;tailscale.daemon_hint=other", true, true },
		{ "tailscale-daemon-not-running",
		  "tailscale.daemon=unreachable;tailscale.daemon_hint=linux", false, false },
		{ "tailscale-daemon-not-running-linux",
		  "tailscale.daemon=unreachable;tailscale.daemon_hint=linux", true, true },
		{ "tailscale-daemon-not-running-linux",
		  "tailscale.daemon=unreachable;tailscale.daemon_hint=linux-systemd", true, true },
		{ "tailscale-daemon-not-running-windows",
		  "tailscale.daemon=unreachable;tailscale.daemon_hint=windows", true, true },
		{ "tailscale-daemon-not-running-macos",
		  "tailscale.daemon=unreachable;tailscale.daemon_hint=macos", true, true },
		{ "tailscale-daemon-socket-error",
		  "tailscale.daemon=unreachable;tailscale.daemon_hint=socket", true, true },
		{ "tailscale-nostate", "tailscale.backend_state=NoState;tailscale.health_count=0", true, true },
		{ "tailscale-needs-login", "tailscale.backend_state=NeedsLogin;tailscale.control=tailscale;"
		  "tailscale.auth_url=https://login.tailscale.com/a/1a2b3c", true, true },
		{ "tailscale-needs-login-headscale", "tailscale.backend_state=NeedsLogin;"
		  "tailscale.control=headscale;tailscale.register_form=key;"
		  "tailscale.register_id=Z8cJYxCMdhbRPQE5Ftu13RSa", true, true },
		{ "tailscale-needs-login", "tailscale.backend_state=NeedsLogin;tailscale.control=headscale;"
		  "tailscale.register_form=key", false, false },
		{ "tailscale-needs-login-headscale-auth-id", "tailscale.backend_state=NeedsLogin;"
		  "tailscale.control=headscale;tailscale.register_form=auth-id;"
		  "tailscale.register_id=hskey-authreq-Z8cJYxCMdhbRP-QE5Ftu13RS", true, true },
		{ "tailscale-login-error", "tailscale.backend_state=NeedsLogin;tailscale.health_count=1;"
		  "tailscale.health=\"You are logged out. The last login error was: fetch control key\"",
		  true, true },
		{ "tailscale-health-warnings", "tailscale.backend_state=NeedsLogin;tailscale.health_count=1;"
		  "tailscale.health=\"You are logged out. The last login error was: x\"", false, false },
		{ "tailscale-key-expired", "tailscale.backend_state=NeedsLogin;tailscale.key_expired=true;"
		  "tailscale.key_expiry=2026-08-01T09:00:00Z;tailscale.health_count=1;"
		  "tailscale.health=\"You are logged out.\"", true, true },
		{ "tailscale-needs-login", "tailscale.backend_state=NeedsLogin;tailscale.key_expired=true",
		  false, false },
		{ "tailscale-needs-machine-auth", "tailscale.backend_state=NeedsMachineAuth", true, true },
		{ "tailscale-stopped", "tailscale.backend_state=Stopped;tailscale.want_running=false;"
		  "tailscale.health_count=1;tailscale.health=\"Tailscale is stopped.\"", true, true },
		{ "tailscale-stopped", RUNNING "tailscale.want_running=false", true, true },
		{ "tailscale-stopped", "tailscale.backend_state=NeedsLogin;tailscale.want_running=false",
		  false, false },
		{ "tailscale-key-expiring", HEALTHY ";tailscale.key_expiry_days=2", true, true },
		{ "tailscale-key-expiring", HEALTHY ";tailscale.key_expiry_days=30", false, false },
		{ "tailscale-wrong-control-server", RUNNING "tailscale.control_matches=false;"
		  "tailscale.control_url=http://old-headscale.lan:8080;"
		  "tailscale.login_server=http://sfspark1.local:8080", true, true },
		{ "tailscale-peers-derp-only", RUNNING "tailscale.peers_derp=2;tailscale.peers_direct=0;"
		  "tailscale.peers_peer_relay=0;tailscale.netcheck_udp=true", true, true },
		{ "tailscale-udp-blocked", RUNNING "tailscale.peers_derp=2;tailscale.peers_direct=0;"
		  "tailscale.peers_peer_relay=0;tailscale.netcheck_udp=false", true, true },
		{ "tailscale-peers-derp-only", RUNNING "tailscale.peers_derp=2;tailscale.peers_direct=0;"
		  "tailscale.peers_peer_relay=0;tailscale.netcheck_udp=false", false, false },
		{ "tailscale-magicdns-off", HEALTHY ";tailscale.corp_dns=false", true, true },
		{ "tailscale-magicdns-off", RUNNING "tailscale.target_magicdns=false;tailscale.corp_dns=false",
		  false, false },
		{ "tailscale-health-warnings", HEALTHY ";tailscale.health_count=1;"
		  "tailscale.health=\"Tailscale couldn't listen for incoming UDP connections.\"", true, true },
		{ "tailscale-version-skew", HEALTHY ";tailscale.version_skew=true;"
		  "tailscale.client_version=1.80.3;tailscale.version=1.86.2-t", true, true },
	};

	return cr_make_param_array(struct rule_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct rule_case *c, ts_state, rules)
{
	struct test_eval t;
	int i;

	cr_assert_eq(test_eval_spec(&t, "rules/tailscale.rules", "tailscale", c->facts), 0, "%s",
		     t.err.msg);
	i = test_finding_index(&t.ev, c->rule);
	cr_assert_eq(i >= 0, c->fires, "%s with %s: want fired=%d", c->rule, c->facts, c->fires);
	if (c->top)
		cr_assert_eq(i, 0, "%s with %s: not the top finding", c->rule, c->facts);
	test_eval_cleanup(&t);
}

Test(ts_state, a_healthy_headscale_node_fires_no_rule)
{
	struct test_eval t;

	cr_assert_eq(test_eval_spec(&t, "rules/tailscale.rules", "tailscale",
				    HEALTHY ";tailscale.daemon=reachable;tailscale.netcheck=not-needed"),
		     0, "%s", t.err.msg);
	cr_assert_eq(t.ev.n_findings, 0, "findings on a healthy node");
	test_eval_cleanup(&t);
}
