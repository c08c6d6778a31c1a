/* Unit tests: the JSON report, its reading back, and the text and Markdown renderings
 * (golden files in fixtures/reports/). */
#include "report/render.h"
#include "report/report.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
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


struct fixture {
	struct md_target target;
	struct md_facts facts;
	struct md_evaluation ev;
	struct md_probe_run runs[1];
	char *advice[2];
	struct md_cited cited[2];
	struct md_step path[2];
	struct md_finding findings[2];
	struct md_report r;
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
	fx->runs[0] = (struct md_probe_run){ .probe = "ssh", .status = MD_OK, .duration_ms = 37 };
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
	fx->r = r;
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

Test(report, numbers_from_the_tree_print_with_their_format_or_as_question_marks)
{
	cJSON *o = cJSON_Parse("{\"port\":2222,\"ms\":1234,\"s\":\"22\"}");
	struct md_buf b;

	cr_assert_not_null(o);
	md_buf_init(&b, 0);
	cr_assert_eq(md_j_put_num(&b, o, "port", "%.0f", 1), MD_OK);
	cr_assert_eq(md_j_put_num(&b, o, "ms", " %.1f", 1 / 1000.0), MD_OK);
	cr_assert_eq(md_j_put_num(&b, o, "s", " %.0f", 1), MD_OK);
	cr_assert_eq(md_j_put_num(&b, o, "none", " %.0f", 1), MD_OK);
	cr_assert_str_eq(md_buf_str(&b), "2222 1.2??");
	md_buf_cleanup(&b);
	cJSON_Delete(o);
}

Test(report, a_probe_table_that_does_not_parse_fails_the_report)
{
	struct fixture fx;
	cJSON *doc;

	build(&fx);
	/* Only cJSON's own output is stored as a table; anything else cannot come from a
	 * probe, so the builder takes the failure for memory running out. */
	cr_assert_eq(md_facts_table(&fx.facts, "ssh", "sessions", "[{\"user\":"), MD_OK);
	doc = md_report_build(&fx.r);
	cr_assert_null(doc);
	destroy(&fx);
}

/* ---- text that remote hosts wrote never drives the terminal ------------------------- */

/* Arrays, not pointers: criterion hands parameters to another process. */
struct esc_case {
	char in[64], want[96];
};

static struct esc_case esc_cases[] = {
	{ "plain text, ✓ ✗ é ü 日本 😀", "plain text, ✓ ✗ é ü 日本 😀" },
	{ "\033]0;owned\007", "\\x1b]0;owned\\x07" },          /* OSC: retitle the window */
	{ "a\033[2Jb", "a\\x1b[2Jb" },                          /* CSI: clear the screen */
	{ "tab\there\r\n", "tab\\x09here\\x0d\\x0a" },
	{ "del\177", "del\\x7f" },
	{ "c1-utf8 \xc2\x9b" "31m", "c1-utf8 \\xc2\\x9b31m" },  /* U+009B, CSI as UTF-8 */
	{ "c1-raw \x9b" "31m", "c1-raw \\x9b31m" },             /* 0x9B, CSI as one byte */
	{ "nbsp\xc2\xa0ok", "nbsp\xc2\xa0ok" },                 /* U+00A0 is text */
	{ "bad \xff \xc0\xaf \xe2\x9c \xed\xa0\x80 \xf4\x90\x80\x80",
	  "bad \\xff \\xc0\\xaf \\xe2\\x9c \\xed\\xa0\\x80 \\xf4\\x90\\x80\\x80" },
	{ "back\\slash", "back\\slash" },
	/* Bidirectional controls would make "evil\u202egnp.exe" display as "evilexe.png". */
	{ "evil\xe2\x80\xaegnp", "evil\\xe2\\x80\\xaegnp" },            /* U+202E */
	{ "\xe2\x81\xa6x\xe2\x81\xa9", "\\xe2\\x81\\xa6x\\xe2\\x81\\xa9" }, /* U+2066, U+2069 */
	{ "\xe2\x80\x8f\xd8\x9c", "\\xe2\\x80\\x8f\\xd8\\x9c" },   /* U+200F, U+061C */
	{ "dash \xe2\x80\x94 \xe2\x80\xaf", "dash \xe2\x80\x94 \xe2\x80\xaf" }, /* U+2014, U+202F stay */
};

ParameterizedTestParameters(escape, control_characters_become_hex)
{
	return cr_make_param_array(struct esc_case, esc_cases, sizeof(esc_cases) / sizeof(esc_cases[0]));
}

ParameterizedTest(const struct esc_case *c, escape, control_characters_become_hex)
{
	struct md_buf b;
	char small[512];

	md_buf_init(&b, 0);
	cr_assert_eq(md_escape_buf(&b, c->in), MD_OK);
	cr_assert_str_eq(md_buf_str(&b), c->want, "escape of \"%s\"", c->want);
	md_escape_str(small, sizeof(small), c->in);
	cr_assert_str_eq(small, c->want, "escape (fixed buffer) of \"%s\"", c->want);
	md_buf_cleanup(&b);
}

Test(escape, fixed_buffer_never_cuts_an_escape_or_a_character)
{
	char out[8];

	cr_assert_eq(md_escape_str(out, 6, "ab\033cd"), 2);
	cr_assert_str_eq(out, "ab");
	cr_assert_eq(md_escape_str(out, 6, "✓✓"), 3);
	cr_assert_str_eq(out, "✓");
	cr_assert_eq(md_escape_str(out, 1, "x"), 0);
	cr_assert_str_eq(out, "");
}

Test(escape, error_messages_are_one_line_without_controls)
{
	struct md_err e = { 0 };

	md_err_set(&e, MD_EPROTO, "ssh", "banner %s", "SSH-2.0-x\033]0;pwned\007\r\nnext\tline\x9b");
	cr_assert_str_eq(e.msg, "banner SSH-2.0-x\\x1b]0;pwned\\x07  next line\\x9b");
}

/* A report whose every remote-derived string carries escape sequences. */
static cJSON *hostile_doc(struct md_facts *facts, struct md_target *target)
{
	static struct md_rule rule = {
		.id = "r\033[1mule", .file = "x.rules", .line = 1, .when = "x", .severity = MD_SEV_WARNING,
		.title = "title \033[2J", .cause = "x", .source = "src\x9b",
	};
	static char *advice[] = { "do \033]8;;http://evil\033\\this\033]8;;\033\\" };
	static struct md_cited cited[] = { { "ssh.banner", "SSH-2.0-\033[31mevil", "banner \xc2\x9b" "1m", "ssh" } };
	static struct md_finding fin;
	static struct md_evaluation ev;
	static struct md_probe_run runs[2];
	struct md_report r;

	cr_assert_eq(md_target_parse("box", target, NULL), MD_OK);
	md_facts_init(facts);
	md_fact_str(facts, "ssh", "ssh.banner", "SSH-2.0-\033[31mevil\x7f", "read \033[8mhidden\033[0m");
	md_fact_check(facts, "ssh.banner", MD_CHECK_OK, "banner \033]0;title\007");
	md_fact_str(facts, "ssh", "ssh.other", "\x9b" "2J", "\xc2\x9b" "2J");
	fin = (struct md_finding){ .rule = &rule, .severity = MD_SEV_WARNING,
		.cause = "The server said \033[31mSSH-2.0-evil\033[0m.", .advice = advice, .n_advice = 1,
		.evidence = cited, .n_evidence = 1 };
	ev = (struct md_evaluation){ .findings = &fin, .n_findings = 1 };
	runs[0] = (struct md_probe_run){ .probe = "ssh", .status = MD_OK };
	runs[1] = (struct md_probe_run){ .probe = "tls", .status = MD_ETIMEOUT };
	snprintf(runs[1].message, sizeof(runs[1].message), "peer said \033[5mblink");
	r = (struct md_report){ .target = target, .facts = facts, .runs = runs, .n_runs = 2,
		.eval = &ev, .exit_code = 1 };
	return md_report_build(&r);
}

/* No ESC, BEL, DEL or C1 control, raw or as UTF-8, and no byte outside valid UTF-8,
 * except the colour codes the text renderer writes itself. */
static void assert_no_controls(const char *s, const char *what)
{
	static const char *const styles[] = { "\033[32m", "\033[31m", "\033[33m", "\033[2m",
					      "\033[1m", "\033[0m" };
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = *p < 0x80 ? 1 : *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;
		bool style = false;

		for (size_t i = 0; *p == 033 && i < sizeof(styles) / sizeof(styles[0]); i++)
			if (strncmp((const char *)p, styles[i], strlen(styles[i])) == 0) {
				p += strlen(styles[i]);
				style = true;
				break;
			}
		if (style)
			continue;
		cr_assert((*p >= 0x20 && *p != 0x7f) || *p == '\n' || *p >= 0x80,
			  "%s: control 0x%02x at offset %zu:\n%s", what, *p, (size_t)(p - (const unsigned char *)s), s);
		cr_assert(*p < 0x80 || (*p >= 0xc2 && *p <= 0xf4), "%s: byte 0x%02x at offset %zu", what,
			  *p, (size_t)(p - (const unsigned char *)s));
		for (size_t i = 1; i < n; i++)
			cr_assert(p[i] >= 0x80 && p[i] <= 0xbf, "%s: cut UTF-8 at offset %zu", what,
				  (size_t)(p - (const unsigned char *)s));
		cr_assert(!(*p == 0xc2 && p[1] <= 0x9f), "%s: U+00%02X at offset %zu", what, p[1],
			  (size_t)(p - (const unsigned char *)s));
		p += n;
	}
}

Test(escape, text_rendering_shows_remote_controls_as_hex)
{
	struct md_facts facts;
	struct md_target target;
	struct md_buf b;
	cJSON *doc = hostile_doc(&facts, &target);

	md_buf_init(&b, 0);
	for (int color = 0; color < 2; color++)
		for (int verbose = 0; verbose < 2; verbose++) {
			struct md_text_opts to = { .color = color, .verbose = verbose };

			md_buf_reset(&b);
			cr_assert_eq(md_report_text(doc, &to, &b), MD_OK);
			assert_no_controls(md_buf_str(&b), "text");
			cr_assert(strstr(md_buf_str(&b), "SSH-2.0-\\x1b[31mevil\\x7f"), "%s", md_buf_str(&b));
			cr_assert(strstr(md_buf_str(&b), "banner \\x1b]0;title\\x07"), "%s", md_buf_str(&b));
		}
	md_buf_cleanup(&b);
	cJSON_Delete(doc);
	md_facts_cleanup(&facts);
	md_target_cleanup(&target);
}

Test(escape, markdown_escapes_controls_and_markup)
{
	struct md_facts facts;
	struct md_target target;
	struct md_buf b;
	cJSON *doc = hostile_doc(&facts, &target);

	md_buf_init(&b, 0);
	cr_assert_eq(md_report_markdown(doc, &b), MD_OK);
	assert_no_controls(md_buf_str(&b), "markdown");
	cr_assert(strstr(md_buf_str(&b), "The server said \\\\x1b\\[31mSSH-2.0-evil\\\\x1b\\[0m."),
		  "%s", md_buf_str(&b));
	md_buf_cleanup(&b);
	cJSON_Delete(doc);
	md_facts_cleanup(&facts);
	md_target_cleanup(&target);
}

Test(escape, markdown_values_cannot_break_code_spans_or_tables)
{
	static const char *const json =
		"{\"schema\":\"meshdoctor/report/v1\",\"tool\":{},\"target\":{\"spec\":\"a`b\"},"
		"\"verdict\":{},\"probes\":[{\"name\":\"p|q\",\"status\":\"ok\",\"facts\":[{\"name\":\"x|y\","
		"\"value\":\"v|w\\nnext\",\"evidence\":\"<img src=x onerror=alert(1)> *b* [l](u)\"}]}],"
		"\"findings\":[{\"severity\":\"warning\",\"title\":\"t ##\",\"rule\":\"r``\",\"cause\":\"c\","
		"\"evidence\":[{\"fact\":\"f\",\"value\":\"``x\",\"evidence\":\" \"}],"
		"\"advice\":[\"&amp; _u_\"]}]}";
	cJSON *doc = NULL;
	struct md_buf b;
	const char *s;

	cr_assert_eq(md_report_parse(json, &doc, NULL), MD_OK);
	md_buf_init(&b, 0);
	cr_assert_eq(md_report_markdown(doc, &b), MD_OK);
	s = md_buf_str(&b);
	cr_assert(strstr(s, "## meshdoctor check `` a`b ``: ?\n"), "%s", s);
	cr_assert(strstr(s, "#### warning: t \\#\\# (``` r`` ```)\n"), "%s", s);
	cr_assert(strstr(s, "- `f` = ``` ``x ```: ` `\n"), "%s", s);
	cr_assert(strstr(s, "1. \\&amp; \\_u\\_\n"), "%s", s);
	cr_assert(strstr(s, "| p\\|q | x\\|y | v\\|w\\\\x0anext | "
			    "\\<img src=x onerror=alert(1)\\> \\*b\\* \\[l\\](u) |\n"), "%s", s);
	md_buf_cleanup(&b);
	cJSON_Delete(doc);
}

Test(escape, markdown_table_cells_and_bare_links_stay_text)
{
	/* A name with a backslash before its '|', and values GFM would turn into links
	 * without any markup: a URL, a www. name, an e-mail address (the target's user@host
	 * too). */
	static const char *const json =
		"{\"schema\":\"meshdoctor/report/v1\",\"tool\":{},"
		"\"target\":{\"user\":\"steve\",\"hostname\":\"office.example\"},\"verdict\":{},"
		"\"probes\":[{\"name\":\"ssh\",\"status\":\"ok\",\"facts\":[{\"name\":\"a\\\\|b\","
		"\"value\":\"see http://evil.example/x|y now\",\"evidence\":\"WWW.evil.example a@b.example\"}]}],"
		"\"findings\":[{\"severity\":\"warning\",\"title\":\"t\",\"cause\":\"mail x@evil.example_ now\","
		"\"advice\":[\"open https://evil.example/*x* or www.evil.example\"]}]}";
	cJSON *doc = NULL;
	struct md_buf b;
	const char *s;

	cr_assert_eq(md_report_parse(json, &doc, NULL), MD_OK);
	md_buf_init(&b, 0);
	cr_assert_eq(md_report_markdown(doc, &b), MD_OK);
	s = md_buf_str(&b);
	cr_assert(strstr(s, "- Target: `steve@office.example` port ?\n"), "%s", s);
	cr_assert(strstr(s, "**Cause.** mail `x@evil.example_` now\n"), "%s", s);
	cr_assert(strstr(s, "1. open `https://evil.example/*x*` or `www.evil.example`\n"), "%s", s);
	cr_assert(strstr(s, "| ssh | a\\\\\\|b | see `http://evil.example/x\\|y` now | "
			    "`WWW.evil.example` `a@b.example` |\n"), "%s", s);
	md_buf_cleanup(&b);
	cJSON_Delete(doc);
}

Test(escape, json_text_escapes_every_control_and_stays_utf8)
{
	struct md_facts facts;
	struct md_target target;
	struct md_buf b;
	cJSON *doc = hostile_doc(&facts, &target), *back;
	const cJSON *p, *f;
	char *copy;

	md_buf_init(&b, 0);
	cr_assert_eq(md_report_json_text(doc, &b), MD_OK);
	/* JSON's own layout indents with tabs. */
	copy = strdup(md_buf_str(&b));
	for (char *q = copy; *q; q++)
		if (*q == '\t')
			*q = ' ';
	assert_no_controls(copy, "json");
	free(copy);
	cr_assert(strstr(md_buf_str(&b), "SSH-2.0-\\u001b[31mevil\\u007f"), "%s", md_buf_str(&b));
	cr_assert(strstr(md_buf_str(&b), "\"\\u009b2J\""), "%s", md_buf_str(&b));
	back = cJSON_Parse(md_buf_str(&b));
	cr_assert_not_null(back);
	p = cJSON_GetArrayItem(cJSON_GetObjectItem(back, "probes"), 0);
	f = cJSON_GetArrayItem(cJSON_GetObjectItem(p, "facts"), 0);
	cr_assert_str_eq(cJSON_GetObjectItem(f, "value")->valuestring, "SSH-2.0-\033[31mevil\x7f");
	cJSON_Delete(back);
	md_buf_cleanup(&b);
	cJSON_Delete(doc);
	md_facts_cleanup(&facts);
	md_target_cleanup(&target);
}

Test(escape, utf8_decode_gives_code_points_of_valid_sequences_only)
{
	static const struct { const char *in; size_t len; uint32_t cp; } cases[] = {
		{ "a", 1, 'a' }, { "\x7f", 1, 0x7f }, { "\xc2\x9b", 2, 0x9b }, { "\xc3\xa9", 2, 0xe9 },
		{ "\xe2\x80\x8e", 3, 0x200e }, { "\xd8\x9c", 2, 0x61c }, { "\xef\xbf\xbd", 3, 0xfffd },
		{ "\xf0\x9f\x98\x80", 4, 0x1f600 }, { "\xf4\x8f\xbf\xbf", 4, 0x10ffff },
		{ "", 0, 0 }, { "\xff", 0, 0 }, { "\x80", 0, 0 }, { "\xc0\xaf", 0, 0 },
		{ "\xe0\x9f\xbf", 0, 0 }, { "\xed\xa0\x80", 0, 0 }, { "\xf4\x90\x80\x80", 0, 0 },
		{ "\xe2\x80", 0, 0 }, { "\xe2\x80x", 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t cp = 0;

		cr_assert_eq(md_utf8_decode(cases[i].in, &cp), cases[i].len, "case %zu", i);
		if (cases[i].len)
			cr_assert_eq(cp, cases[i].cp, "case %zu: U+%04X", i, (unsigned)cp);
	}
}

Test(escape, json_writes_a_hidden_character_as_its_code_point_and_reads_it_back)
{
	static const char *const values[] = {
		"left\xe2\x80\x8emark", "evil\xe2\x80\xaegnp", "\xd8\x9c\xe2\x81\xa6x\xe2\x81\xa9",
		"c1 \xc2\x9b ok \xc3\xa9", "bad \xff byte",
	};
	static const char *const escapes[] = {
		"left\\u200emark", "evil\\u202egnp", "\\u061c\\u2066x\\u2069", "c1 \\u009b ok \xc3\xa9",
		"bad \\u00ff byte",
	};
	struct md_probe_run run = { .probe = "ssh", .status = MD_OK };
	struct md_target target;
	struct md_facts facts;
	struct md_report r;
	struct md_buf b;
	cJSON *doc, *back;
	const cJSON *x;
	size_t i = 0;

	cr_assert_eq(md_target_parse("box", &target, NULL), MD_OK);
	md_facts_init(&facts);
	for (size_t k = 0; k < sizeof(values) / sizeof(values[0]); k++) {
		char name[16];

		snprintf(name, sizeof(name), "ssh.v%zu", k);
		cr_assert_eq(md_fact_str(&facts, "ssh", name, values[k], NULL), MD_OK);
	}
	r = (struct md_report){ .target = &target, .facts = &facts, .runs = &run, .n_runs = 1 };
	doc = md_report_build(&r);
	cr_assert_not_null(doc);
	md_buf_init(&b, 0);
	cr_assert_eq(md_report_json_text(doc, &b), MD_OK);
	for (size_t k = 0; k < sizeof(escapes) / sizeof(escapes[0]); k++)
		cr_assert(strstr(md_buf_str(&b), escapes[k]), "no %s in:\n%s", escapes[k], md_buf_str(&b));
	cr_assert_null(strstr(md_buf_str(&b), "\\u00e2"), "a character written byte by byte:\n%s",
		       md_buf_str(&b));
	back = cJSON_Parse(md_buf_str(&b));
	cr_assert_not_null(back);
	cJSON_ArrayForEach(x, cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(back, "probes"), 0),
						  "facts")) {
		const char *v = cJSON_GetObjectItem(x, "value")->valuestring;

		/* The byte that is not UTF-8 reads back as U+00FF. */
		cr_assert_str_eq(v, i == 4 ? "bad \xc3\xbf byte" : values[i], "fact %zu", i);
		i++;
	}
	cr_assert_eq(i, 5);
	cJSON_Delete(back);
	md_buf_cleanup(&b);
	cJSON_Delete(doc);
	md_facts_cleanup(&facts);
	md_target_cleanup(&target);
}

/* ---- the verdict line says what the exit code says ---------------------------------- */

/* A run with no finding: ssh ran, tls failed with status, port was skipped. */
static cJSON *unfinished_doc(int tls_status, int exit_code)
{
	static struct md_probe_run runs[3];
	static struct md_evaluation ev;
	static struct md_target target;
	static struct md_facts facts;
	struct md_report r;
	cJSON *doc;

	cr_assert_eq(md_target_parse("box", &target, NULL), MD_OK);
	md_facts_init(&facts);
	runs[0] = (struct md_probe_run){ .probe = "ssh", .status = MD_OK };
	runs[1] = (struct md_probe_run){ .probe = "tls", .status = tls_status };
	snprintf(runs[1].message, sizeof(runs[1].message), "connect box:443: timed out");
	runs[2] = (struct md_probe_run){ .probe = "port", .status = MD_ESKIP };
	snprintf(runs[2].message, sizeof(runs[2].message), "needs an SSH session");
	ev = (struct md_evaluation){ 0 };
	r = (struct md_report){ .target = &target, .facts = &facts, .runs = runs, .n_runs = 3,
		.eval = &ev, .exit_code = exit_code };
	doc = md_report_build(&r);
	md_facts_cleanup(&facts);
	md_target_cleanup(&target);
	cr_assert_not_null(doc);
	return doc;
}

static void render_both(const cJSON *doc, struct md_buf *text, struct md_buf *md)
{
	struct md_text_opts to = { 0 };

	md_buf_init(text, 0);
	md_buf_init(md, 0);
	cr_assert_eq(md_report_text(doc, &to, text), MD_OK);
	cr_assert_eq(md_report_markdown(doc, md), MD_OK);
}

Test(verdict, a_probe_that_did_not_complete_is_not_no_problem)
{
	cJSON *doc = unfinished_doc(MD_ETIMEOUT, 3);
	struct md_buf t, m;

	render_both(doc, &t, &m);
	cr_assert_null(strstr(md_buf_str(&t), "no problem found"), "%s", md_buf_str(&t));
	cr_assert(strstr(md_buf_str(&t), "\nUNKNOWN: could not tell: 1 probe did not complete — see above, exit 3\n"),
		  "%s", md_buf_str(&t));
	/* The failed probe has its own mark and word; the skipped one keeps '-'. */
	cr_assert(strstr(md_buf_str(&t), "  ? tls: did not complete\n      connect box:443: timed out\n"),
		  "%s", md_buf_str(&t));
	cr_assert(strstr(md_buf_str(&t), "  - port: skipped\n"), "%s", md_buf_str(&t));
	cr_assert_null(strstr(md_buf_str(&t), "- tls"), "%s", md_buf_str(&t));
	cr_assert_null(strstr(md_buf_str(&m), "No problem found"), "%s", md_buf_str(&m));
	cr_assert(strstr(md_buf_str(&m), "No finding, but 1 probe did not complete"), "%s", md_buf_str(&m));
	md_buf_cleanup(&t);
	md_buf_cleanup(&m);
	cJSON_Delete(doc);
}

Test(verdict, critical_without_a_finding_is_not_no_problem)
{
	cJSON *doc = unfinished_doc(MD_EPERM, 2);
	struct md_buf t, m;

	render_both(doc, &t, &m);
	cr_assert(strstr(md_buf_str(&t), "\nCRITICAL: 1 probe did not complete — see above, exit 2\n"),
		  "%s", md_buf_str(&t));
	cr_assert_null(strstr(md_buf_str(&m), "No problem found"), "%s", md_buf_str(&m));
	md_buf_cleanup(&t);
	md_buf_cleanup(&m);
	cJSON_Delete(doc);
}

Test(verdict, no_problem_only_when_everything_ran_and_exit_is_zero)
{
	cJSON *doc = unfinished_doc(MD_OK, 0);
	struct md_buf t, m;

	render_both(doc, &t, &m);
	cr_assert(strstr(md_buf_str(&t), "\nOK: no problem found, exit 0\n"), "%s", md_buf_str(&t));
	cr_assert(strstr(md_buf_str(&m), "No problem found."), "%s", md_buf_str(&m));
	md_buf_cleanup(&t);
	md_buf_cleanup(&m);
	cJSON_Delete(doc);
}

/* ---- secrets: value and evidence masked everywhere ---------------------------------- */

/* A run whose secret fact a finding cites, the finding made by the rule engine with the
 * same show_secrets as the report. */
static cJSON *secret_doc(struct md_facts *facts, struct md_target *target, bool show)
{
	struct md_probe_run runs[1] = { { .probe = "tailscale", .status = MD_OK } };
	struct md_evaluation ev = { 0 };
	struct md_ruleset rs;
	struct md_err err = { 0 };
	struct md_report r;
	cJSON *doc;

	cr_assert_eq(md_target_parse("box", target, NULL), MD_OK);
	md_facts_init(facts);
	md_fact_secret(facts, "tailscale", "tailscale.authkey", "hskey-auth-SECRETSECRET",
		       "tailscale up --authkey=hskey-auth-SECRETSECRET");
	md_fact_check(facts, "tailscale.authkey", MD_CHECK_WARN, "auth key");
	md_ruleset_init(&rs);
	cr_assert_eq(md_rules_load_string(&rs, "x.rules",
					  "[rule authkey-expired]\nwhen = tailscale.authkey ~ \"^hskey-\"\n"
					  "severity = warning\ncause = key {tailscale.authkey}\n"
					  "evidence = tailscale.authkey\nsource = s\n", &err),
		     MD_OK, "%s", err.msg);
	cr_assert_eq(md_rules_evaluate(&rs, facts, show, &ev), MD_OK);
	cr_assert_eq(ev.n_findings, 1);
	r = (struct md_report){ .target = target, .facts = facts, .runs = runs, .n_runs = 1,
		.eval = &ev, .rules = &rs, .exit_code = 1, .show_secrets = show };
	doc = md_report_build(&r);
	md_evaluation_cleanup(&ev);
	md_ruleset_cleanup(&rs);
	return doc;
}

static void assert_no_secret_anywhere(const cJSON *doc, const char *secret, bool json)
{
	struct md_buf b;
	struct md_text_opts to = { .verbose = true };

	md_buf_init(&b, 0);
	cr_assert_eq(md_report_json_text(doc, &b), MD_OK);
	cr_assert(!json || !strstr(md_buf_str(&b), secret), "JSON:\n%s", md_buf_str(&b));
	md_buf_reset(&b);
	cr_assert_eq(md_report_text(doc, &to, &b), MD_OK);
	cr_assert_null(strstr(md_buf_str(&b), secret), "text:\n%s", md_buf_str(&b));
	md_buf_reset(&b);
	to.verbose = false;
	cr_assert_eq(md_report_text(doc, &to, &b), MD_OK);
	cr_assert_null(strstr(md_buf_str(&b), secret), "text:\n%s", md_buf_str(&b));
	md_buf_reset(&b);
	cr_assert_eq(md_report_markdown(doc, &b), MD_OK);
	cr_assert_null(strstr(md_buf_str(&b), secret), "Markdown:\n%s", md_buf_str(&b));
	md_buf_cleanup(&b);
}

Test(secrets, evidence_of_a_secret_fact_is_masked_like_its_value)
{
	struct md_facts facts;
	struct md_target target;
	cJSON *doc = secret_doc(&facts, &target, false);
	const cJSON *fact = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(
		cJSON_GetObjectItem(doc, "probes"), 0), "facts"), 0);
	const cJSON *cite = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(
		cJSON_GetObjectItem(doc, "findings"), 0), "evidence"), 0);

	cr_assert_str_eq(cJSON_GetObjectItem(fact, "value")->valuestring, "********");
	cr_assert_str_eq(cJSON_GetObjectItem(fact, "evidence")->valuestring, "********");
	cr_assert_str_eq(cJSON_GetObjectItem(cite, "value")->valuestring, "********");
	cr_assert_str_eq(cJSON_GetObjectItem(cite, "evidence")->valuestring, "********");
	assert_no_secret_anywhere(doc, "SECRETSECRET", true);
	cJSON_Delete(doc);
	md_facts_cleanup(&facts);
	md_target_cleanup(&target);
}

Test(secrets, show_secrets_shows_the_evidence_too)
{
	struct md_facts facts;
	struct md_target target;
	cJSON *doc = secret_doc(&facts, &target, true);
	const cJSON *fact = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(
		cJSON_GetObjectItem(doc, "probes"), 0), "facts"), 0);
	const cJSON *cite = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(
		cJSON_GetObjectItem(doc, "findings"), 0), "evidence"), 0);

	cr_assert_str_eq(cJSON_GetObjectItem(fact, "evidence")->valuestring,
			 "tailscale up --authkey=hskey-auth-SECRETSECRET");
	cr_assert_str_eq(cJSON_GetObjectItem(cite, "value")->valuestring, "hskey-auth-SECRETSECRET");
	cr_assert_str_eq(cJSON_GetObjectItem(cite, "evidence")->valuestring,
			 "tailscale up --authkey=hskey-auth-SECRETSECRET");
	cJSON_Delete(doc);
	md_facts_cleanup(&facts);
	md_target_cleanup(&target);
}

Test(secrets, a_secret_facts_evidence_is_masked_unless_asked_in_one_place)
{
	struct md_facts f;

	md_facts_init(&f);
	md_fact_secret(&f, "p", "p.key", "hunter2", "read hunter2");
	md_fact_secret(&f, "p", "p.bare", "hunter2", NULL);
	md_fact_str(&f, "p", "p.tcp", "refused", "connect: refused");
	cr_assert_str_eq(md_fact_evidence_text(md_facts_get(&f, "p.key"), false), MD_SECRET_MASK);
	cr_assert_str_eq(md_fact_evidence_text(md_facts_get(&f, "p.key"), true), "read hunter2");
	cr_assert_null(md_fact_evidence_text(md_facts_get(&f, "p.bare"), false));
	cr_assert_str_eq(md_fact_evidence_text(md_facts_get(&f, "p.tcp"), false), "connect: refused");
	md_facts_cleanup(&f);
}

Test(secrets, a_saved_report_with_a_masked_secret_never_shows_its_evidence)
{
	/* As older meshdoctor wrote them: the value masked, the evidence not. */
	static const char *const json =
		"{\"schema\":\"meshdoctor/report/v1\",\"tool\":{},\"target\":{},\"verdict\":{},"
		"\"probes\":[{\"name\":\"tailscale\",\"status\":\"ok\",\"facts\":[{\"name\":\"tailscale.authkey\","
		"\"type\":\"secret\",\"value\":\"********\",\"evidence\":\"--authkey=SECRETSECRET\","
		"\"check\":\"warn\",\"label\":\"auth key\"}]}],"
		"\"findings\":[{\"rule\":\"r\",\"evidence\":[{\"fact\":\"tailscale.authkey\","
		"\"value\":\"********\",\"evidence\":\"--authkey=SECRETSECRET\"}]}]}";
	cJSON *doc = NULL;

	cr_assert_eq(md_report_parse(json, &doc, NULL), MD_OK);
	/* `report` renders text and Markdown only. */
	assert_no_secret_anywhere(doc, "SECRETSECRET", false);
	cJSON_Delete(doc);
}

/* ---- out of memory: the whole report or none of it --------------------------------- */

static long allocs, fail_at, live;
static bool fail_after;

/* cJSON's allocator for these tests: allocation number fail_at fails (and every later one
 * when fail_after); live counts what is not yet freed. */
static void *failing_malloc(size_t n)
{
	void *p;

	allocs++;
	if (allocs == fail_at || (fail_after && allocs > fail_at))
		return NULL;
	p = malloc(n);
	live += p != NULL;
	return p;
}

static void counting_free(void *p)
{
	live -= p != NULL;
	free(p);
}

/* Fails each allocation md_report_build makes in turn: each time it must return the
 * complete report or NULL, with nothing left allocated. */
static void assert_all_or_nothing(const struct md_report *r, bool persistent)
{
	cJSON_Hooks hooks = { failing_malloc, counting_free };
	cJSON *ref = md_report_build(r);
	long k;

	cr_assert_not_null(ref);
	for (k = 1;; k++) {
		cJSON *doc;

		allocs = live = 0;
		fail_at = k;
		fail_after = persistent;
		cJSON_InitHooks(&hooks);
		doc = md_report_build(r);
		if (doc) {
			cr_assert(cJSON_Compare(doc, ref, true),
				  "allocation %ld failed and a partial report came back", k);
			cJSON_Delete(doc);
		}
		cr_assert_eq(live, 0, "allocation %ld failed: %ld blocks left", k, live);
		cJSON_InitHooks(NULL);
		if (allocs < k)
			break; /* no allocation failed: every one has been tried */
	}
	cr_assert_gt(k, 50, "only %ld allocations", k);
	cJSON_Delete(ref);
}

Test(report, out_of_memory_while_building_leaves_no_partial_report)
{
	struct fixture fx;

	build(&fx);
	assert_all_or_nothing(&fx.r, false);
	assert_all_or_nothing(&fx.r, true);
	/* A probe's table is parsed; memory running out there fails the report too. */
	cr_assert_eq(md_facts_table(&fx.facts, "ssh", "sessions", "[{\"user\":\"steve\"}]"), MD_OK);
	assert_all_or_nothing(&fx.r, true);
	destroy(&fx);
}

/* A rule's `commands` in a cause or advice are code spans in Markdown (the user copies them);
 * a lone backtick from a host stays text, and what sits between stays escaped prose. */
Test(escape, markdown_rule_commands_are_code_and_lone_backticks_text)
{
	static const char *const json =
		"{\"schema\":\"meshdoctor/report/v1\",\"tool\":{},"
		"\"target\":{\"user\":\"steve\",\"hostname\":\"h\"},\"verdict\":{},\"probes\":[],"
		"\"findings\":[{\"severity\":\"critical\",\"title\":\"t\","
		"\"cause\":\"banner `x*y` then a lone ` and *z*\","
		"\"advice\":[\"Install it: `ssh-copy-id -p 22 root@10.0.0.2`, or *edit* it.\","
		"\"`a`|`b`\"]}]}";
	cJSON *doc = NULL;
	struct md_buf b;
	const char *s;

	cr_assert_eq(md_report_parse(json, &doc, NULL), MD_OK);
	md_buf_init(&b, 0);
	cr_assert_eq(md_report_markdown(doc, &b), MD_OK);
	s = md_buf_str(&b);
	cr_assert(strstr(s, "**Cause.** banner `x*y` then a lone \\` and \\*z\\*\n"), "%s", s);
	cr_assert(strstr(s, "1. Install it: `ssh-copy-id -p 22 root@10.0.0.2`, or \\*edit\\* it.\n"),
		  "%s", s);
	cr_assert(strstr(s, "2. `a`\\|`b`\n"), "%s", s);
	md_buf_cleanup(&b);
	cJSON_Delete(doc);
}
