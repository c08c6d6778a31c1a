/* Unit tests: the JSON report, its reading back, and the text and Markdown renderings
 * (golden files in fixtures/reports/). */
#include "report/report.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct md_rule rule_denied = {
	.id = "ssh-permission-denied", .file = "rules/ssh.rules", .line = 10,
	.when = "ssh.auth == \"denied\"", .severity = MD_SEV_CRITICAL,
	.title = "SSH permission denied", .cause = "x", .remedy = "copy-key",
	.source = "seeds/002_c74f733de84f5218.txt",
};
static struct md_rule rule_sudo = {
	.id = "sudo-needs-password", .file = "rules/ssh.rules", .line = 30,
	.when = "host.sudo == \"password\"", .severity = MD_SEV_WARNING,
	.title = "sudo needs a password", .cause = "x", .source = "seeds/002_c74f733de84f5218.txt",
};

static const struct md_probe fake_probe = { .name = "ssh", .desc = "fake" };

struct fixture {
	struct md_target target;
	struct md_facts facts;
	struct md_evaluation ev;
	struct md_probe_run runs[1];
	char *advice[2];
	struct md_cited cited[2];
	struct md_step path[2];
	struct md_finding findings[2];
	cJSON *doc;
};

static void build(struct fixture *fx)
{
	struct md_report r;

	memset(fx, 0, sizeof(*fx));
	cr_assert_eq(md_target_parse("steve@office-one:2222", &fx->target, NULL), MD_OK);
	fx->target.hostname = strdup("10.0.0.2");
	md_facts_init(&fx->facts);
	md_fact_str(&fx->facts, "ssh", "ssh.tcp", "connected", "connect 10.0.0.2:2222");
	md_fact_check(&fx->facts, "ssh.tcp", MD_CHECK_OK, "TCP connect to 10.0.0.2:2222");
	md_fact_str(&fx->facts, "ssh", "ssh.auth", "denied", "Username/PublicKey combination invalid");
	md_fact_check(&fx->facts, "ssh.auth", MD_CHECK_FAIL, "authentication");
	md_fact_str(&fx->facts, "ssh", "host.os", "linux", "uname -s: Linux");
	md_fact_check(&fx->facts, "host.os", MD_CHECK_OK, "OS: linux");
	md_fact_str(&fx->facts, "ssh", "tls.tcp", "refused", "connect 10.0.0.2:443: Connection refused");
	md_fact_check(&fx->facts, "tls.tcp", MD_CHECK_SKIP, "TCP connect to 10.0.0.2:443 (no HTTPS expected here)");
	md_fact_int(&fx->facts, "ssh", "ssh.port", 2222, NULL);
	md_fact_secret(&fx->facts, "ssh", "ssh.authkey", "hskey-auth-SECRETSECRET", "generated");
	for (size_t i = 0; i < fx->facts.n; i++)
		fx->facts.v[i].at_ms = 1795000000000LL;
	fx->runs[0] = (struct md_probe_run){ .probe = &fake_probe, .status = MD_OK, .duration_ms = 37 };
	fx->advice[0] = "Add your key | with a pipe to authorized_keys.";
	fx->advice[1] = "Or run `ssh-copy-id`.";
	fx->cited[0] = (struct md_cited){ "ssh.auth", "denied", "Username/PublicKey combination invalid", "ssh" };
	fx->cited[1] = (struct md_cited){ "ssh.key", NULL, NULL, NULL };
	fx->findings[0] = (struct md_finding){ .rule = &rule_denied, .severity = MD_SEV_CRITICAL,
		.cause = "The server refused every key offered for user steve.",
		.advice = fx->advice, .n_advice = 2, .evidence = fx->cited, .n_evidence = 2 };
	fx->path[0] = (struct md_step){ .rule = &rule_denied, .result = MD_RULE_FIRED,
		.trace = "ssh.auth == \"denied\" [ssh.auth = \"denied\"] → true" };
	fx->path[1] = (struct md_step){ .rule = &rule_sudo, .result = MD_RULE_UNDECIDED,
		.trace = "host.sudo == \"password\" [host.sudo missing] → unknown" };
	fx->ev = (struct md_evaluation){ .findings = fx->findings, .n_findings = 1,
		.path = fx->path, .n_path = 2 };
	r = (struct md_report){ .target = &fx->target, .facts = &fx->facts, .runs = fx->runs,
		.n_runs = 1, .eval = &fx->ev, .started_wall_ms = 1795000000123LL,
		.duration_ms = 412, .exit_code = 2 };
	fx->doc = md_report_build(&r);
	cr_assert_not_null(fx->doc);
}

static void destroy(struct fixture *fx)
{
	cJSON_Delete(fx->doc);
	md_facts_cleanup(&fx->facts);
	md_target_cleanup(&fx->target);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	static char buf[65536];
	size_t n;

	cr_assert_not_null(f, "golden file %s missing (run with MD_UPDATE_GOLDEN=1)", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void assert_golden(const char *path, const char *got)
{
	if (getenv("MD_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "wb");

		fputs(got, f);
		fclose(f);
	}
	cr_assert_str_eq(got, read_file(path), "rendering differs from %s", path);
}

Test(report, json_has_the_v1_members_and_typed_values)
{
	struct fixture fx;
	const cJSON *probes, *facts, *f0, *port, *key;

	build(&fx);
	cr_assert_str_eq(cJSON_GetObjectItem(fx.doc, "schema")->valuestring, "meshdoctor/report/v1");
	cr_assert_str_eq(cJSON_GetObjectItem(fx.doc, "generated_at")->valuestring, "2026-11-18T11:06:40.123Z");
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(fx.doc, "verdict"), "status")->valuestring, "critical");
	probes = cJSON_GetObjectItem(fx.doc, "probes");
	cr_assert_eq(cJSON_GetArraySize(probes), 1);
	facts = cJSON_GetObjectItem(cJSON_GetArrayItem(probes, 0), "facts");
	cr_assert_eq(cJSON_GetArraySize(facts), 6);
	f0 = cJSON_GetArrayItem(facts, 0);
	cr_assert_str_eq(cJSON_GetObjectItem(f0, "check")->valuestring, "ok");
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(facts, 3), "check")->valuestring,
			 "skip");
	port = cJSON_GetArrayItem(facts, 4);
	cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(port, "value")), "int facts are JSON numbers");
	cr_assert_null(cJSON_GetObjectItem(port, "check"), "no check member without a checklist mark");
	key = cJSON_GetArrayItem(facts, 5);
	cr_assert_str_eq(cJSON_GetObjectItem(key, "value")->valuestring, "********");
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(
		cJSON_GetArrayItem(cJSON_GetObjectItem(fx.doc, "findings"), 0), "evidence"), 1), "value")),
		"a cited fact that was not observed is null");
	destroy(&fx);
}

Test(report, no_output_contains_a_secret)
{
	struct fixture fx;
	struct md_buf b;
	struct md_text_opts to = { .verbose = true };

	build(&fx);
	md_buf_init(&b, 0);
	cr_assert_eq(md_report_json_text(fx.doc, &b), MD_OK);
	cr_assert_null(strstr(md_buf_str(&b), "SECRETSECRET"));
	md_buf_reset(&b);
	cr_assert_eq(md_report_text(fx.doc, &to, &b), MD_OK);
	cr_assert_null(strstr(md_buf_str(&b), "SECRETSECRET"));
	md_buf_reset(&b);
	cr_assert_eq(md_report_markdown(fx.doc, &b), MD_OK);
	cr_assert_null(strstr(md_buf_str(&b), "SECRETSECRET"));
	md_buf_cleanup(&b);
	destroy(&fx);
}

Test(report, text_rendering_matches_golden)
{
	struct fixture fx;
	struct md_buf b;
	struct md_text_opts to = { 0 };

	build(&fx);
	md_buf_init(&b, 0);
	cr_assert_eq(md_report_text(fx.doc, &to, &b), MD_OK);
	assert_golden("fixtures/reports/denied.txt", md_buf_str(&b));
	md_buf_reset(&b);
	to.verbose = true;
	cr_assert_eq(md_report_text(fx.doc, &to, &b), MD_OK);
	assert_golden("fixtures/reports/denied-verbose.txt", md_buf_str(&b));
	cr_assert_null(strchr(md_buf_str(&b), '\033'), "no colour unless asked");
	md_buf_cleanup(&b);
	destroy(&fx);
}

Test(report, markdown_matches_golden_and_escapes_table_cells)
{
	struct fixture fx;
	struct md_buf b;

	build(&fx);
	md_buf_init(&b, 0);
	cr_assert_eq(md_report_markdown(fx.doc, &b), MD_OK);
	assert_golden("fixtures/reports/denied.md", md_buf_str(&b));
	md_buf_cleanup(&b);
	destroy(&fx);
}

Test(report, saved_report_reads_back_and_renders_the_same)
{
	struct fixture fx;
	struct md_buf a, b, j;
	struct md_text_opts to = { 0 };
	cJSON *back = NULL;

	build(&fx);
	md_buf_init(&a, 0);
	md_buf_init(&b, 0);
	md_buf_init(&j, 0);
	md_report_json_text(fx.doc, &j);
	cr_assert_eq(md_report_parse(md_buf_str(&j), &back, NULL), MD_OK);
	md_report_text(fx.doc, &to, &a);
	md_report_text(back, &to, &b);
	cr_assert_str_eq(md_buf_str(&a), md_buf_str(&b));
	cJSON_Delete(back);
	md_buf_cleanup(&a);
	md_buf_cleanup(&b);
	md_buf_cleanup(&j);
	destroy(&fx);
}

Test(report, parse_rejects_what_is_not_a_report)
{
	struct md_err e = { 0 };
	cJSON *doc = NULL;

	cr_assert_eq(md_report_parse("{", &doc, &e), MD_EPARSE);
	cr_assert(strstr(e.msg, "not JSON"));
	md_err_clear(&e);
	cr_assert_eq(md_report_parse("{\"schema\":\"other/v9\"}", &doc, &e), MD_EPARSE);
	cr_assert(strstr(e.msg, "meshdoctor/report/v1"), "%s", e.msg);
	md_err_clear(&e);
	cr_assert_eq(md_report_parse("{\"schema\":\"meshdoctor/report/v1\",\"tool\":{}}", &doc, &e), MD_EPARSE);
	cr_assert(strstr(e.msg, "\"target\""), "%s", e.msg);
	cr_assert_null(doc);
}
