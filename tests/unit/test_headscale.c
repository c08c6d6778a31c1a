/* test_headscale.c — the headscale probe (probes/headscale.c): its parsers on fixtures of
 * every Headscale shape (0.22, 0.26, 0.29, 0.30), the CLI read over a replay session, and
 * headscale.rules.
 *
 * Headscale is a FIXTURE here: fixtures/headscale/ holds `headscale ... list -o json`
 * output, the bodies of /health, /version and /key, and the CLI's errors in the real
 * formats (fixtures/headscale/README.md, docs/headscale.md). */
#include "core/facts.h"
#include "core/hostbatch.h"
#include "probes/headscale.h"
#include "core/text.h"
#include "probes/probe.h"
#include "tests/support/fact_spec.h"
#include "tests/support/fixture.h"
#include "tests/support/session_replay.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct md_probe probe_headscale;

TestSuite(headscale, .timeout = 15);

/* 2026-12-01: after the fixtures' PAST (2026-01-01), before their FUT (2099). */
#define NOW_S 1796083200

static char *fixture(const char *name)
{
	return test_fixture("headscale", name);
}

/* ==== lists ============================================================================ */

Test(headscale, nodes_0_29_fixture)
{
	char *j = fixture("nodes-0.29.json");
	struct md_hs_node *v;
	size_t n;

	cr_assert_eq(md_hs_parse_nodes(j, &v, &n, NULL), MD_OK);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(v[0].id, "3");
	cr_assert_str_eq(v[0].name, "DESKTOP-7Q2K9LM");
	cr_assert_str_eq(v[0].given_name, "winbox");
	cr_assert_str_eq(v[0].user, "alice");
	cr_assert_eq(v[0].n_ips, 2);
	cr_assert_str_eq(v[0].ips[1], "fd7a:115c:a1e0::3");
	cr_assert(v[0].online);
	cr_assert_not(v[0].expiry.set, "no expiry member: none set");
	cr_assert(v[0].last_seen.set);
	cr_assert_eq(v[0].last_seen.s, 1788263031);
	cr_assert_not(v[2].online, "online is omitted when false");
	cr_assert(v[2].expiry.set);
	cr_assert_eq(v[2].expiry.s, 1767225600);
	free(v);
	free(j);
}

Test(headscale, nodes_0_26_and_0_22_fixture)
{
	char *j = fixture("nodes-0.26.json");
	struct md_hs_node *v;
	size_t n;

	cr_assert_eq(md_hs_parse_nodes(j, &v, &n, NULL), MD_OK);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(v[1].given_name, "office-one");
	cr_assert_str_eq(v[1].user, "mesh");
	cr_assert(v[1].expiry.set);
	free(v);
	free(j);
	j = fixture("nodes-0.22.json");
	cr_assert_eq(md_hs_parse_nodes(j, &v, &n, NULL), MD_OK);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(v[0].user, "mesh", "0.22: the user's id is a string");
	cr_assert_not(v[0].expiry.set, "Go's zero time (-62135596800) is no expiry");
	free(v);
	free(j);
}

Test(headscale, nodes_0_30_camel_case_and_rfc3339_fixture)
{
	char *j = fixture("nodes-0.30.json");
	struct md_hs_node *v;
	size_t n;

	cr_assert_eq(md_hs_parse_nodes(j, &v, &n, NULL), MD_OK);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(v[0].id, "3");
	cr_assert_str_eq(v[0].given_name, "winbox");
	cr_assert_eq(v[0].n_ips, 2);
	cr_assert(v[0].last_seen.set);
	cr_assert_eq(v[0].last_seen.s, 1788253431);
	cr_assert_not(v[0].expiry.set, "0001-01-01T00:00:00Z is no expiry");
	free(v);
	free(j);
}

Test(headscale, rest_wrapper_and_null_lists)
{
	struct md_hs_node *v;
	struct md_hs_user *u;
	size_t n;

	cr_assert_eq(md_hs_parse_nodes("{\"nodes\":[{\"id\":\"9\",\"givenName\":\"a\"}]}", &v, &n, NULL), MD_OK);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(v[0].id, "9");
	free(v);
	cr_assert_eq(md_hs_parse_nodes("null\n", &v, &n, NULL), MD_OK);
	cr_assert_eq(n, 0);
	cr_assert_null(v);
	cr_assert_eq(md_hs_parse_users("[1, \"x\", {\"id\": 2, \"name\": \"b\"}]", &u, &n, NULL), MD_OK);
	cr_assert_eq(n, 1, "entries that are not objects are skipped");
	cr_assert_str_eq(u[0].id, "2");
	free(u);
}

struct bad_list {
	char json[48];
};

ParameterizedTestParameters(headscale, bad_lists_are_parse_errors)
{
	static struct bad_list v[] = { { "" }, { "[" }, { "{\"error\": \"x\"}" }, { "42" }, { "\"a\"" },
				       { "Error: unable to read/write" } };

	return cr_make_param_array(struct bad_list, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct bad_list *b, headscale, bad_lists_are_parse_errors)
{
	struct md_hs_key *v = NULL;
	struct md_err e = { 0 };
	size_t n = 7;

	cr_assert_eq(md_hs_parse_keys(b->json, &v, &n, &e), MD_EPARSE, "%s", b->json);
	cr_assert_null(v);
	cr_assert_eq(n, 0);
	cr_assert(e.msg[0] && !strchr(e.msg, '\n'), "%s: %s", b->json, e.msg);
}

/* ==== pre-auth keys ==================================================================== */

Test(headscale, preauthkeys_0_29_usable_ones_fixture)
{
	char *j = fixture("preauthkeys-0.29.json");
	struct md_hs_key *v;
	size_t n;

	cr_assert_eq(md_hs_parse_keys(j, &v, &n, NULL), MD_OK);
	cr_assert_eq(n, 4);
	cr_assert_str_eq(v[0].id, "7");
	cr_assert_str_eq(v[0].user, "alice");
	cr_assert_str_eq(v[0].shown, "hskey-auth-VfFcdslQVqUd-***");
	cr_assert(v[0].reusable && v[0].used);
	cr_assert_not(md_hs_key_usable(&v[0], NOW_S), "expired in 2026-09");
	cr_assert(md_hs_key_usable(&v[1], NOW_S), "reusable, not expired");
	cr_assert_not(md_hs_key_usable(&v[2], NOW_S), "single-use and used");
	cr_assert_str_eq(v[3].user, "", "a tagged key has no user");
	cr_assert_not(md_hs_key_usable(&v[3], NOW_S), "expired");
	free(v);
	free(j);
}

/* Before 0.28 `list` prints the whole key: nothing of it may be kept. */
Test(headscale, legacy_keys_are_never_kept_fixture)
{
	char *j = fixture("preauthkeys-0.26.json");
	struct md_hs_key *v;
	size_t n;

	cr_assert_eq(md_hs_parse_keys(j, &v, &n, NULL), MD_OK);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(v[0].id, "1");
	cr_assert_str_eq(v[0].user, "mesh", "0.26: the user is an object");
	cr_assert_str_eq(v[0].shown, "");
	cr_assert_str_eq(v[1].shown, "");
	cr_assert(md_hs_key_usable(&v[1], NOW_S), "unused single-use key, not expired");
	free(v);
	free(j);
	j = fixture("preauthkeys-0.22.json");
	cr_assert_eq(md_hs_parse_keys(j, &v, &n, NULL), MD_OK);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(v[0].id, "1", "0.22: the key's id is a string");
	cr_assert_str_eq(v[0].user, "mesh", "0.22: the user is a name");
	cr_assert_str_eq(v[0].shown, "");
	free(v);
	free(j);
}

/* ==== text ============================================================================= */

Test(headscale, rfc3339_times)
{
	int64_t t;

	cr_assert_eq(md_parse_rfc3339("2026-08-26T12:00:00Z", &t), MD_OK);
	cr_assert_eq(t, 1787745600);
	cr_assert_eq(md_parse_rfc3339("2026-08-26T14:00:00.123456789+02:00", &t), MD_OK);
	cr_assert_eq(t, 1787745600);
	cr_assert_eq(md_parse_rfc3339("2026-08-26", &t), MD_EPARSE);
	cr_assert_eq(md_parse_rfc3339("2026-08-26T12:00:00", &t), MD_EPARSE, "no zone");
	cr_assert_eq(md_parse_rfc3339("2026-13-26T12:00:00Z", &t), MD_EPARSE);
}

Test(headscale, http_bodies_fixture)
{
	char out[96];
	char *h = fixture("health-pass.json"), *f = fixture("health-fail.json");
	char *v = fixture("version.json"), *k = fixture("key.json");

	cr_assert_eq(md_hs_parse_health(h, out, sizeof(out)), MD_OK);
	cr_assert_str_eq(out, "pass");
	cr_assert_eq(md_hs_parse_health(f, out, sizeof(out)), MD_OK);
	cr_assert_str_eq(out, "fail");
	cr_assert_eq(md_hs_parse_version_body(v, out, sizeof(out)), MD_OK);
	cr_assert_str_eq(out, "v0.29.2");
	cr_assert_eq(md_hs_parse_key_body(k, out, sizeof(out)), MD_OK);
	cr_assert_str_eq(out, "mkey:5c1e38a8f0b2d64f9e3a7c1b0d2e4f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e");
	cr_assert_eq(md_hs_parse_key_body("{\"publicKey\":\"mkey:00\"}", out, sizeof(out)), MD_EPARSE);
	cr_assert_eq(md_hs_parse_health("404 page not found\n", out, sizeof(out)), MD_EPARSE);
	free(h), free(f), free(v), free(k);
}

Test(headscale, cli_versions)
{
	char v[64];
	int a, b;

	cr_assert_eq(md_hs_parse_cli_version("v0.22.3\n", v, sizeof(v), &a, &b), MD_OK);
	cr_assert_str_eq(v, "v0.22.3");
	cr_assert_eq(b, 22);
	cr_assert_eq(md_hs_parse_cli_version("{\n\t\"version\": \"v0.26.0-beta.1\"\n}\n", v, sizeof(v), &a, &b), MD_OK);
	cr_assert_str_eq(v, "v0.26.0-beta.1");
	cr_assert_eq(md_hs_parse_cli_version("headscale version v0.29.2\ncommit: 2f3c7e1a\n", v, sizeof(v), &a, &b),
		     MD_OK);
	cr_assert_eq(a, 0);
	cr_assert_eq(b, 29);
	cr_assert_eq(md_hs_parse_cli_version("command not found", v, sizeof(v), &a, &b), MD_EPARSE);
	cr_assert_eq(md_hs_parse_ts_version("1.78.1\n  tailscale commit: abc\n", &a, &b), MD_OK);
	cr_assert_eq(b, 78);
}

Test(headscale, cli_errors_fixture)
{
	char *p = fixture("cli-socket-permission.stderr"), *r = fixture("cli-connection-refused.stderr");
	char msg[512];

	md_hs_cli_error(p, msg, sizeof(msg));
	cr_assert_str_eq(msg, "unable to read/write to headscale socket \"/var/run/headscale/headscale.sock\", "
			      "do you have the correct permissions? err: dial unix /var/run/headscale/headscale.sock: "
			      "connect: permission denied");
	md_hs_cli_error(r, msg, sizeof(msg));
	cr_assert(strncmp(msg, "rpc error: code = Unavailable", 29) == 0, "%s", msg);
	md_hs_cli_error("", msg, sizeof(msg));
	cr_assert_str_eq(msg, "");
	free(p), free(r);
}

/* ==== the CLI over a replay session ==================================================== */

static struct md_facts facts;
static struct md_session *sess;

#define assert_fact(name, want)                                                               \
	do {                                                                                  \
		char b_[1024];                                                                \
		const struct md_fact *x_ = md_facts_get(&facts, name);                        \
		cr_assert_not_null(x_, "fact %s missing", name);                              \
		md_fact_value_text(x_, b_, sizeof(b_), false);                                \
		cr_assert_str_eq(b_, want, "fact %s = \"%s\", want \"%s\" (%s)", name, b_, want, \
				 x_->evidence ? x_->evidence : "");                           \
	} while (0)

#define HS "command -v headscale >/dev/null 2>&1 || exit 127; headscale "
#define UNIT "command -v systemctl >/dev/null 2>&1 || exit 127; systemctl is-active headscale"

/* Runs the probe over a replay session, its reads batched, with the node's MagicDNS name
 * as the tailscale probe would have recorded it (NULL: none). */
static void run_hs(const struct md_replay_entry *e, size_t n, const char *dns_name)
{
	struct md_err err = { 0 };
	struct md_hostbatch *b;
	struct md_ctx ctx = { 0 };
	struct md_options opt = { 0 };

	md_facts_init(&facts);
	if (dns_name)
		cr_assert_eq(md_fact_str(&facts, "tailscale", "tailscale.dns_name", dns_name, NULL), MD_OK);
	sess = md_session_new_replay(e, n, NULL);
	cr_assert(sess);
	ctx.session = sess;
	ctx.opt = &opt;
	ctx.deadline = md_deadline_after(md_now_ms(), 10000);
	b = md_hostbatch_new(&err);
	cr_assert(b);
	cr_assert_eq(probe_headscale.host_steps(&ctx, b, &err), MD_OK, "%s", err.msg);
	md_hostbatch_run(b, sess, &ctx.deadline, 0);
	ctx.batch = b;
	cr_assert_eq(probe_headscale.run(&ctx, &facts, &err), MD_OK, "%s", err.msg);
	md_hostbatch_free(b);
}

static void fini(void)
{
	md_facts_cleanup(&facts);
	md_session_free(sess);
	sess = NULL;
}

/* No fact and no evidence holds any part of a key's secret. */
static void assert_no_secret(const char *secret)
{
	for (size_t i = 0; i < facts.n; i++) {
		const struct md_fact *x = &facts.v[i];

		cr_assert(!x->str || !strstr(x->str, secret), "%s = %s", x->name, x->str);
		cr_assert(!x->evidence || !strstr(x->evidence, secret), "%s: %s", x->name, x->evidence);
	}
}

Test(headscale, cli_0_29_healthy_node_fixture, .fini = fini)
{
	char *nodes = fixture("nodes-0.29.json"), *keys = fixture("preauthkeys-0.29.json");
	char *users = fixture("users-0.29.json");
	const struct md_replay_entry e[] = {
		{ HS "version", 0, "headscale version v0.29.2\n", "", false },
		{ HS "nodes list -o json", 0, nodes, "", false },
		{ HS "preauthkeys list -o json", 0, keys, "", false },
		{ HS "users list -o json", 0, users, "", false },
		{ UNIT, 0, "active\n", "", false },
	};

	run_hs(e, 5, "winbox.example.com");
	assert_fact("headscale.url", "");
	assert_fact("headscale.cli", "found");
	assert_fact("headscale.cli_version", "v0.29.2");
	assert_fact("headscale.version_minor", "29");
	assert_fact("headscale.unit", "active");
	assert_fact("headscale.users", "2");
	assert_fact("headscale.node.registered", "true");
	assert_fact("headscale.node.id", "3");
	assert_fact("headscale.node.user", "alice");
	assert_fact("headscale.node.online", "true");
	assert_fact("headscale.node.expired", "false");
	assert_fact("headscale.keys", "4");
	assert_fact("headscale.keys_usable", "1");
	assert_fact("headscale.keys_usable_list",
		    "id 8 (hskey-auth-Qm3xT0bPz9Lk-***), user alice, reusable, expires 2099-01-01T00:00:00Z");
	cr_assert_null(md_facts_get(&facts, "headscale.cli_error"));
	free(nodes), free(keys), free(users);
}

Test(headscale, cli_expired_node_matched_by_name_fixture, .fini = fini)
{
	char *nodes = fixture("nodes-0.29.json");
	const struct md_replay_entry e[] = {
		{ HS "version", 0, "v0.28.0\n", "", false },
		{ HS "nodes list -o json", 0, nodes, "", false },
		{ HS "preauthkeys list -o json", 0, "[]", "", false },
		{ HS "users list -o json", 0, "[]", "", false },
	};

	run_hs(e, 4, "oldlaptop.example.com");
	assert_fact("headscale.node.registered", "true");
	assert_fact("headscale.node.expired", "true");
	assert_fact("headscale.node.online", "false");
	assert_fact("headscale.node.expiry", "2026-01-01T00:00:00Z");
	assert_fact("headscale.keys", "0");
	assert_fact("headscale.keys_usable", "0");
	cr_assert_null(md_facts_get(&facts, "headscale.unit"), "no systemctl: no unit fact");
	free(nodes);
}

Test(headscale, cli_node_not_registered_fixture, .fini = fini)
{
	char *nodes = fixture("nodes-0.29.json");
	const struct md_replay_entry e[] = {
		{ HS "version", 0, "v0.29.2\n", "", false },
		{ HS "nodes list -o json", 0, nodes, "", false },
	};

	run_hs(e, 2, "newbox.example.com");
	assert_fact("headscale.node.registered", "false");
	cr_assert(strstr(md_facts_get(&facts, "headscale.node.registered")->evidence, "newbox"));
	free(nodes);
}

/* 0.26: `list` needs --user (a numeric id since 0.26) and prints legacy keys in full. */
Test(headscale, cli_0_26_keys_per_user_never_shown_fixture, .fini = fini)
{
	char *keys = fixture("preauthkeys-0.26.json"), *users = fixture("users-0.26.json");
	char *nodes = fixture("nodes-0.26.json");
	const struct md_replay_entry e[] = {
		{ HS "version", 0, "v0.26.1\n", "", false },
		{ HS "nodes list -o json", 0, nodes, "", false },
		{ HS "preauthkeys list -o json --user '1'", 0, keys, "", false },
		{ HS "preauthkeys list -o json", 1, "", "{\n\t\"error\": \"required flag(s) \\\"user\\\" not set\"\n}\n", false },
		{ HS "users list -o json", 0, users, "", false },
		{ UNIT, 0, "active\n", "", false },
	};

	run_hs(e, 6, "office-one.mesh.example.com");
	assert_fact("headscale.keys", "2");
	assert_fact("headscale.keys_usable", "1");
	assert_fact("headscale.keys_usable_list", "id 2, user mesh, expires 2099-01-01T00:00:00Z");
	assert_fact("headscale.node.expired", "true");
	cr_assert_null(md_facts_get(&facts, "headscale.cli_error"), "the list without --user is expected to fail < 0.28");
	assert_no_secret("6c0e3c5ab1f24e0f");
	assert_no_secret("0f1e2d3c4b5a6978");
	free(keys), free(users), free(nodes);
}

Test(headscale, cli_socket_permission_error_fixture, .fini = fini)
{
	char *perm = fixture("cli-socket-permission.stderr");
	const struct md_replay_entry e[] = {
		{ HS "version", 0, "v0.29.2\n", "", false },
		{ HS "nodes list -o json", 1, "", perm, false },
		{ HS "preauthkeys list -o json", 1, "", perm, false },
		{ HS "users list -o json", 1, "", perm, false },
		{ UNIT, 3, "inactive\n", "", false },
	};

	run_hs(e, 5, NULL);
	assert_fact("headscale.unit", "inactive");
	cr_assert(strstr(md_facts_str(&facts, "headscale.cli_error"), "do you have the correct permissions"));
	assert_fact("headscale.cli_error_cmd", "headscale nodes list -o json");
	cr_assert_null(md_facts_get(&facts, "headscale.node.registered"));
	free(perm);
}

Test(headscale, no_headscale_on_path_fixture, .fini = fini)
{
	static const struct md_replay_entry e[] = { { UNIT, 4, "inactive\n", "", false } };

	run_hs(e, 1, NULL);
	assert_fact("headscale.cli", "absent");
	cr_assert_null(md_facts_get(&facts, "headscale.unit"), "no Headscale here: its unit says nothing");
	cr_assert_null(md_facts_get(&facts, "headscale.nodes"));
}

/* ==== headscale.rules ================================================================== */

struct rule_case {
	char rule[40];
	char facts[400]; /* "name=value;..." (fact_spec.h) */
	bool fires;
};

#define UP "headscale.url=http://hs:8080;headscale.http=ok;headscale.health=pass;"

ParameterizedTestParameters(headscale, rules)
{
	static struct rule_case cases[] = {
		{ "headscale-not-running", "headscale.http=refused;headscale.health=refused;headscale.unit=inactive", true },
		{ "headscale-refused", "headscale.http=refused;headscale.unit=inactive", false }, /* superseded */
		{ "headscale-refused", "headscale.http=refused;headscale.http_error=connect 127.0.0.1:8080: Connection refused", true },
		{ "headscale-not-running", "headscale.http=refused;headscale.unit=active", false },
		{ "headscale-timeout", "headscale.http=timeout", true },
		{ "headscale-name-unresolved", "headscale.http=resolve-failed", true },
		{ "headscale-name-unresolved", "headscale.http=resolve-timeout", true },
		{ "headscale-tls-error", "headscale.http=tls-error", true },
		{ "headscale-not-http", "headscale.http=not-http", true },
		{ "headscale-unhealthy", "headscale.http=ok;headscale.health=fail;headscale.health_status=500", true },
		{ "headscale-unhealthy", UP, false },
		{ "headscale-health-unexpected", "headscale.http=ok;headscale.health=status-502", true },
		{ "headscale-unit-inactive", UP "headscale.unit=failed", true },
		{ "headscale-unit-inactive", UP "headscale.unit=active", false },
		{ "headscale-cli-socket-permission", "headscale.cli_error=unable to read/write to headscale socket "
		  "\"/var/run/headscale/headscale.sock\", do you have the correct permissions? err: x", true },
		{ "headscale-cli-failed", "headscale.cli_error=unable to read/write to headscale socket "
		  "\"/s\", do you have the correct permissions?", false }, /* superseded */
		{ "headscale-cli-failed", "headscale.cli_error=rpc error: code = Unavailable", true },
		{ "headscale-node-not-registered", UP "headscale.node.registered=false", true },
		{ "headscale-node-not-registered", UP "headscale.node.registered=true", false },
		{ "headscale-node-expired", "headscale.node.registered=true;headscale.node.expired=true", true },
		{ "headscale-node-offline", "headscale.node.online=false;headscale.node.expired=false", true },
		{ "headscale-node-offline", "headscale.node.online=false;headscale.node.expired=true", false },
		{ "headscale-no-usable-key", "headscale.keys=2;headscale.keys_usable=0;headscale.keys_expired=1;"
		  "headscale.keys_used=1", true },
		{ "headscale-no-usable-key", "headscale.keys=2;headscale.keys_usable=1", false },
		{ "headscale-client-too-old", "headscale.version_minor=29;headscale.client_minor=78", true },
		{ "headscale-client-too-old", "headscale.version_minor=29;headscale.client_minor=80", false },
		{ "headscale-client-too-old", "headscale.version_minor=28;headscale.client_minor=60", false },
		{ "headscale-client-too-old", "headscale.version_minor=29", false },
		{ "headscale-host-unreachable", "headscale.host=root@hs:22;headscale.host_ssh=failed", true },
		{ "headscale-host-unreachable", "headscale.host=root@hs:22;headscale.host_ssh=ok", false },
		{ "headscale-target-cannot-reach", UP "headscale.target_reach=failed", true },
		{ "headscale-target-cannot-reach", UP "headscale.target_reach=ok", false },
		{ "headscale-target-cannot-reach", "headscale.health=refused;headscale.target_reach=failed", false },
	};

	return cr_make_param_array(struct rule_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct rule_case *c, headscale, rules)
{
	struct test_eval t;

	cr_assert_eq(test_eval_spec(&t, "rules/headscale.rules", "headscale", c->facts), 0, "%s", t.err.msg);
	cr_assert_eq((test_finding_index(&t.ev, c->rule) >= 0), c->fires, "%s with %s: fired %d, want %d",
		     c->rule, c->facts, !c->fires, c->fires);
	test_eval_cleanup(&t);
}

/* A healthy Headscale, its node registered, online and not expired, a usable key: no
 * finding at all. */
Test(headscale, healthy_headscale_gives_no_finding)
{
	struct test_eval t;

	cr_assert_eq(test_eval_spec(&t, "rules/headscale.rules", "headscale",
				    UP "headscale.key=ok;headscale.version_endpoint=ok;headscale.target_reach=ok;"
				    "headscale.unit=active;headscale.cli=found;headscale.version_minor=29;"
				    "headscale.client_minor=92;headscale.node.registered=true;headscale.node.online=true;"
				    "headscale.node.expired=false;headscale.keys=3;headscale.keys_usable=1"), 0, "%s", t.err.msg);
	cr_assert_eq(t.ev.n_findings, 0, "first: %s", t.ev.n_findings ? t.ev.findings[0].rule->id : "");
	test_eval_cleanup(&t);
}
