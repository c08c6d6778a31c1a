/* test_rules_engine.c — evaluating rules over facts: operators on each fact type,
 * three-valued logic, traces, interpolation, evidence, supersedes, ordering, loading a
 * directory.  No network.  Fact names under "zz." are provided by no probe, so these
 * tests do not depend on which probes the registry lists. */
#include "probes/probe.h"
#include "rules/engine.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct md_ruleset rs;
static struct md_facts facts;
static struct md_evaluation ev;
static char tmpdir[64]; /* a test's scratch directory, removed by teardown */

static void remove_tmpdir(void);

static void setup(void)
{
	md_ruleset_init(&rs);
	md_facts_init(&facts);
	memset(&ev, 0, sizeof(ev));
}

static void teardown(void)
{
	md_evaluation_cleanup(&ev);
	md_ruleset_cleanup(&rs);
	md_facts_cleanup(&facts);
	remove_tmpdir(); /* also when an assert ended the test early */
}

TestSuite(engine, .init = setup, .fini = teardown);

static void load(const char *text)
{
	struct md_err err = { 0 };

	cr_assert_eq(md_rules_load_string(&rs, "t.rules", text, &err), MD_OK, "%s\n%s", err.msg,
		     text);
}

static void evaluate(bool show_secrets)
{
	md_evaluation_cleanup(&ev);
	cr_assert_eq(md_rules_evaluate(&rs, &facts, show_secrets, &ev), MD_OK);
	cr_assert_eq(ev.n_path, rs.n);
}

/* Facts of every type, the same for every operator case. */
static void sample_facts(void)
{
	char long_text[301];

	memset(long_text, 'a', 300);
	long_text[300] = '\0';
	cr_assert_eq(md_fact_str(&facts, "zz", "zz.str", "refused", "connect: Connection refused"), 0);
	cr_assert_eq(md_fact_str(&facts, "zz", "zz.empty", "", NULL), 0);
	cr_assert_eq(md_fact_str(&facts, "zz", "zz.numstr", "22", NULL), 0);
	cr_assert_eq(md_fact_str(&facts, "zz", "zz.quote", "say \"hi\"\n", NULL), 0);
	cr_assert_eq(md_fact_str(&facts, "zz", "zz.long", long_text, NULL), 0);
	cr_assert_eq(md_fact_int(&facts, "zz", "zz.port", 22, NULL), 0);
	cr_assert_eq(md_fact_int(&facts, "zz", "zz.zero", 0, NULL), 0);
	cr_assert_eq(md_fact_int(&facts, "zz", "zz.neg", -5, NULL), 0);
	cr_assert_eq(md_fact_int(&facts, "zz", "zz.big", 9007199254740993LL, NULL), 0);
	cr_assert_eq(md_fact_real(&facts, "zz", "zz.ratio", 1.5, NULL), 0);
	cr_assert_eq(md_fact_real(&facts, "zz", "zz.rzero", 0.0, NULL), 0);
	cr_assert_eq(md_fact_bool(&facts, "zz", "zz.yes", true, NULL), 0);
	cr_assert_eq(md_fact_bool(&facts, "zz", "zz.no", false, NULL), 0);
	cr_assert_eq(md_fact_secret(&facts, "zz", "zz.key", "hunter2", NULL), 0);
}

/* ---------------------------------------------------------------- operators */

/* Inline text: Criterion may run each parameter in a fresh process. */
struct op_case {
	char cond[160];
	char want; /* 'T' fired, 'F' not, 'U' undecided */
};

static struct op_case op_cases[] = {
	/* string fact, string literal: byte order */
	{ "zz.str == \"refused\"", 'T' }, { "zz.str != \"refused\"", 'F' },
	{ "zz.str == \"Refused\"", 'F' }, { "zz.str != \"Refused\"", 'T' },
	{ "zz.str < \"s\"", 'T' }, { "zz.str > \"s\"", 'F' }, { "zz.str >= \"refused\"", 'T' },
	{ "zz.str <= \"refusea\"", 'F' }, { "zz.empty == \"\"", 'T' },
	{ "zz.quote contains \"say \\\"hi\\\"\"", 'T' },
	{ "zz.str ~ \"^ref\"", 'T' }, { "zz.str ~ \"^REF\"", 'F' }, { "zz.str ~ \"x|fus\"", 'T' },
	{ "zz.str ~ \"^(re)+fused$\"", 'T' }, { "zz.quote ~ \"\\\"hi\\\"\"", 'T' },
	{ "zz.str contains \"fuse\"", 'T' }, { "zz.str contains \"x\"", 'F' },
	{ "zz.str contains \"\"", 'T' },
	{ "zz.str in (\"a\", \"refused\")", 'T' }, { "zz.str in (\"a\", \"b\")", 'F' },
	/* string fact vs number / bool: numeric if the string is a number, else false */
	{ "zz.str == 1", 'F' }, { "zz.str != 1", 'F' }, { "zz.str < 1", 'F' },
	{ "zz.str == true", 'F' }, { "zz.str != false", 'F' },
	{ "zz.numstr == 22", 'T' }, { "zz.numstr > 21.5", 'T' }, { "zz.numstr < 3", 'F' },
	{ "zz.numstr == \"22\"", 'T' }, { "zz.numstr < \"3\"", 'T' }, /* strings: lexicographic */
	{ "zz.numstr in (21, 22)", 'T' },
	/* int fact */
	{ "zz.port == 22", 'T' }, { "zz.port != 22", 'F' }, { "zz.port == 2222", 'F' },
	{ "zz.port != 2222", 'T' }, { "zz.port < 1024", 'T' }, { "zz.port <= 22", 'T' },
	{ "zz.port > 22", 'F' }, { "zz.port >= 22", 'T' }, { "zz.port == 22.0", 'T' },
	{ "zz.port < 22.5", 'T' }, { "zz.port == \"22\"", 'T' }, { "zz.port > \"3\"", 'T' },
	{ "zz.port == \"ssh\"", 'F' }, { "zz.port != \"ssh\"", 'F' }, { "zz.port == true", 'F' },
	{ "zz.port ~ \"^2+$\"", 'T' }, { "zz.port contains \"2\"", 'T' },
	{ "zz.port in (21, 22)", 'T' }, { "zz.port in (\"22\")", 'T' }, { "zz.port in (1, 2)", 'F' },
	{ "zz.neg == -5", 'T' }, { "zz.neg < -4", 'T' }, { "zz.neg > -4.5", 'F' },
	/* 2^53 + 1: integers compare exactly, not through a double */
	{ "zz.big == 9007199254740993", 'T' }, { "zz.big == 9007199254740992", 'F' },
	/* real fact */
	{ "zz.ratio == 1.5", 'T' }, { "zz.ratio > 1", 'T' }, { "zz.ratio < 1", 'F' },
	{ "zz.ratio != 2", 'T' }, { "zz.ratio ~ \"^1\\\\.50$\"", 'T' }, { "zz.ratio == \"1.5\"", 'T' },
	/* bool fact */
	{ "zz.yes == true", 'T' }, { "zz.yes == false", 'F' }, { "zz.no == false", 'T' },
	{ "zz.no != true", 'T' }, { "zz.yes == 1", 'F' }, { "zz.yes == \"true\"", 'F' },
	{ "zz.yes ~ \"^true$\"", 'T' }, { "zz.yes in (false, true)", 'T' },
	/* bare names */
	{ "zz.str", 'T' }, { "zz.empty", 'F' }, { "zz.port", 'T' }, { "zz.zero", 'F' },
	{ "zz.ratio", 'T' }, { "zz.rzero", 'F' }, { "zz.yes", 'T' }, { "zz.no", 'F' },
	{ "zz.key", 'T' }, { "!zz.no", 'T' },
	/* secrets compare on their real value */
	{ "zz.key == \"hunter2\"", 'T' }, { "zz.key contains \"hunt\"", 'T' },
	{ "zz.key ~ \"2$\"", 'T' }, { "zz.key == \"********\"", 'F' },
	/* missing facts: comparisons unknown, exists/missing never */
	{ "zz.none == 1", 'U' }, { "zz.none != 1", 'U' }, { "zz.none", 'U' },
	{ "zz.none ~ \"a\"", 'U' }, { "zz.none in (1)", 'U' }, { "!zz.none", 'U' },
	{ "exists(zz.none)", 'F' }, { "missing(zz.none)", 'T' },
	{ "exists(zz.str)", 'T' }, { "missing(zz.str)", 'F' }, { "exists(zz.no)", 'T' },
};

ParameterizedTestParameters(engine, operator_on_fact_type)
{
	return cr_make_param_array(struct op_case, op_cases, sizeof(op_cases) / sizeof(op_cases[0]));
}

static char result_letter(enum md_rule_result r)
{
	return r == MD_RULE_FIRED ? 'T' : r == MD_RULE_NOT ? 'F' : r == MD_RULE_UNDECIDED ? 'U' : '?';
}

static void check_condition(const char *cond, char want)
{
	char text[512];

	snprintf(text, sizeof(text), "[rule r]\nwhen = %s\nseverity = info\ncause = c\nsource = s\n",
		 cond);
	load(text);
	evaluate(false);
	cr_expect_eq(result_letter(ev.path[0].result), want, "%s: got %c, want %c (trace: %s)", cond,
		     result_letter(ev.path[0].result), want, ev.path[0].trace);
}

ParameterizedTest(struct op_case *c, engine, operator_on_fact_type, .timeout = 10)
{
	sample_facts();
	check_condition(c->cond, c->want);
}

/* ---------------------------------------------------------------- three-valued logic */

/* T, F, U stand for a true, a false and an unknown comparison. */
#define T "zz.str == \"refused\""
#define F "zz.port == 2222"
#define U "zz.none == 1"

static struct op_case kleene_cases[] = {
	{ T " && " T, 'T' }, { T " && " F, 'F' }, { T " && " U, 'U' },
	{ F " && " U, 'F' }, { U " && " F, 'F' }, { U " && " U, 'U' },
	{ T " || " U, 'T' }, { U " || " T, 'T' }, { F " || " U, 'U' }, { F " || " F, 'F' },
	{ U " || " U, 'U' },
	{ "!(" U ")", 'U' }, { "!(" T ")", 'F' }, { "!(" F " && " U ")", 'T' },
	{ "!(" T " && " U ")", 'U' }, { "(" U " || " T ") && " F, 'F' },
	{ U " || " T " && " F, 'U' }, /* && binds tighter: U || (T && F) */
	{ F " && " T " || " T, 'T' }, /* (F && T) || T */
	{ "missing(zz.none) && " T, 'T' }, { "exists(zz.none) || " U, 'U' },
	{ "exists(zz.none) && " U, 'F' },
};

ParameterizedTestParameters(engine, kleene_logic)
{
	return cr_make_param_array(struct op_case, kleene_cases,
				   sizeof(kleene_cases) / sizeof(kleene_cases[0]));
}

ParameterizedTest(struct op_case *c, engine, kleene_logic, .timeout = 10)
{
	sample_facts();
	check_condition(c->cond, c->want);
}

#undef T
#undef F
#undef U

/* ---------------------------------------------------------------- traces */

#define RULE(id, sev, cond) \
	"[rule " id "]\nwhen = " cond "\nseverity = " sev "\ncause = " id "\nsource = s\n"

Test(engine, trace_shows_each_comparison_with_its_value, .timeout = 10)
{
	md_fact_str(&facts, "zz", "zz.tcp", "refused", NULL);
	md_fact_int(&facts, "zz", "zz.port", 22, NULL);
	load(RULE("a", "critical", "zz.tcp == \"refused\" && zz.port == 2222")
	     RULE("b", "critical", "zz.tcp == \"refused\" && !(zz.port == 2222)")
	     RULE("c", "info", "(zz.port < 1024 || zz.none) && exists(zz.tcp)")
	     RULE("d", "info", "zz.tcp in (\"open\", \"refused\")"));
	evaluate(false);
	cr_expect_str_eq(ev.path[0].trace,
			 "zz.tcp == \"refused\" [zz.tcp = \"refused\"] → true && "
			 "zz.port == 2222 [zz.port = 22] → false ⇒ false");
	cr_expect_eq(ev.path[0].result, MD_RULE_NOT);
	cr_expect_str_eq(ev.path[1].trace,
			 "zz.tcp == \"refused\" [zz.tcp = \"refused\"] → true && "
			 "!(zz.port == 2222 [zz.port = 22] → false) → true ⇒ true");
	cr_expect_eq(ev.path[1].result, MD_RULE_FIRED);
	cr_expect_str_eq(ev.path[2].trace,
			 "(zz.port < 1024 [zz.port = 22] → true || "
			 "zz.none [zz.none missing, no probe records it] → unknown) → true && "
			 "exists(zz.tcp) → true ⇒ true");
	cr_expect_eq(ev.path[2].n_missing, 0, "decided rules list no missing facts");
	cr_expect_str_eq(ev.path[3].trace,
			 "zz.tcp in (\"open\", \"refused\") [zz.tcp = \"refused\"] → true ⇒ true");
	for (size_t i = 0; i < ev.n_path; i++)
		cr_expect_eq(ev.path[i].rule, rs.v[i], "path in load order");
}

Test(engine, undecided_rule_names_missing_facts_and_probes, .timeout = 10)
{
	md_fact_str(&facts, "zz", "zz.tcp", "refused", NULL);
	load(RULE("a", "critical", "zz.tcp == \"refused\" && zz.none == 1 && zz.other && zz.none != 2"));
	evaluate(false);
	cr_assert_eq(ev.path[0].result, MD_RULE_UNDECIDED);
	cr_assert_eq(ev.path[0].n_missing, 2, "each missing fact once");
	cr_expect_str_eq(ev.path[0].missing[0].fact, "zz.none");
	cr_expect_null(ev.path[0].missing[0].probe, "no probe records zz.*");
	cr_expect_str_eq(ev.path[0].missing[1].fact, "zz.other");
	cr_expect_null(md_probe_for_fact("zz.none"));
	cr_expect_neq(strstr(ev.path[0].trace, "[zz.none missing, no probe records it] → unknown"),
		      NULL, "%s", ev.path[0].trace);
	cr_expect_eq(strcmp(ev.path[0].trace + strlen(ev.path[0].trace) - strlen("⇒ unknown"),
			    "⇒ unknown"),
		     0, "%s", ev.path[0].trace);
	cr_expect_eq(ev.n_findings, 0);
}

Test(engine, trace_masks_secrets_and_shortens_long_values, .timeout = 10)
{
	sample_facts();
	load(RULE("a", "info", "zz.key ~ \"^hun\"") RULE("b", "info", "zz.long contains \"a\"")
	     RULE("c", "info", "zz.quote ~ \"hi\" && zz.ratio > 1"));
	evaluate(true); /* even with secrets shown in findings */
	cr_expect_str_eq(ev.path[0].trace, "zz.key ~ \"^hun\" [zz.key = \"********\"] → true ⇒ true");
	cr_expect_null(strstr(ev.path[0].trace, "hunter2"));
	cr_expect_lt(strlen(ev.path[1].trace), 300, "%s", ev.path[1].trace);
	cr_expect_neq(strstr(ev.path[1].trace, "aaa...\"]"), NULL, "%s", ev.path[1].trace);
	cr_expect_str_eq(ev.path[2].trace,
			 "zz.quote ~ \"hi\" [zz.quote = \"say \\\"hi\\\"\\n\"] → true && "
			 "zz.ratio > 1 [zz.ratio = 1.5] → true ⇒ true");
}

/* ---------------------------------------------------------------- findings */

Test(engine, finding_interpolates_cause_and_advice, .timeout = 10)
{
	md_fact_str(&facts, "zz", "zz.addr", "10.0.0.2", NULL);
	md_fact_int(&facts, "zz", "zz.port", 22, NULL);
	md_fact_secret(&facts, "zz", "zz.key", "hunter2", NULL);
	load("[rule a]\nwhen = zz.port == 22\nseverity = warning\n"
	     "cause = Refused on {zz.addr}:{zz.port}; key {zz.key}; unknown {zz.nope}; "
	     "{Not A Name}; {{zz.port}}; {unclosed\n"
	     "advice = Connect to {zz.addr} port {zz.port}\nadvice = No braces here\n"
	     "source = s\n");
	evaluate(false);
	cr_assert_eq(ev.n_findings, 1);
	cr_expect_eq(ev.findings[0].rule, rs.v[0]);
	cr_expect_eq(ev.findings[0].severity, MD_SEV_WARNING);
	cr_expect_str_eq(ev.findings[0].cause,
			 "Refused on 10.0.0.2:22; key ********; unknown {zz.nope}; {Not A Name}; "
			 "{22}; {unclosed");
	cr_assert_eq(ev.findings[0].n_advice, 2);
	cr_expect_str_eq(ev.findings[0].advice[0], "Connect to 10.0.0.2 port 22");
	cr_expect_str_eq(ev.findings[0].advice[1], "No braces here");
	evaluate(true);
	cr_expect_neq(strstr(ev.findings[0].cause, "key hunter2;"), NULL, "%s", ev.findings[0].cause);
}

Test(engine, finding_cites_evidence_facts, .timeout = 10)
{
	md_fact_str(&facts, "zz", "zz.tcp", "refused", "connect 10.0.0.2:22: Connection refused");
	md_fact_secret(&facts, "zz", "zz.key", "hunter2", "read from agent: hunter2");
	md_fact_bool(&facts, "other", "zz.flag", true, NULL);
	load("[rule a]\nwhen = zz.tcp == \"refused\"\nseverity = critical\ncause = c\n"
	     "evidence = zz.tcp, zz.key, zz.flag, zz.none\nsource = s\n");
	evaluate(false);
	cr_assert_eq(ev.n_findings, 1);
	cr_assert_eq(ev.findings[0].n_evidence, 4);
	struct md_cited *c = ev.findings[0].evidence;

	cr_expect_str_eq(c[0].fact, "zz.tcp");
	cr_expect_str_eq(c[0].value, "refused");
	cr_expect_str_eq(c[0].evidence, "connect 10.0.0.2:22: Connection refused");
	cr_expect_str_eq(c[0].probe, "zz");
	cr_expect_str_eq(c[1].value, "********");
	cr_expect_str_eq(c[1].evidence, "********", "a secret's evidence may quote it");
	cr_expect_str_eq(c[2].value, "true");
	cr_expect_null(c[2].evidence);
	cr_expect_str_eq(c[2].probe, "other");
	cr_expect_str_eq(c[3].fact, "zz.none");
	cr_expect_null(c[3].value, "a missing cited fact has no value");
	cr_expect_null(c[3].evidence);
	cr_expect_null(c[3].probe, "and no probe records zz.*");
	evaluate(true);
	cr_expect_str_eq(ev.findings[0].evidence[1].value, "hunter2");
	cr_expect_str_eq(ev.findings[0].evidence[1].evidence, "read from agent: hunter2");
}

Test(engine, supersedes_replaces_the_less_specific_rule, .timeout = 10)
{
	md_fact_str(&facts, "zz", "zz.tcp", "refused", NULL);
	md_fact_int(&facts, "zz", "zz.port", 2222, NULL);
	/* `specific` names `general` before it is defined: resolved after loading. */
	load(RULE("specific", "warning", "zz.tcp == \"refused\" && zz.port == 2222")
	     "supersedes = general\n"
	     RULE("general", "critical", "zz.tcp == \"refused\"")
	     RULE("other", "info", "zz.port > 1"));
	evaluate(false);
	cr_expect_eq(ev.path[0].result, MD_RULE_FIRED);
	cr_expect_eq(ev.path[1].result, MD_RULE_SUPERSEDED);
	cr_expect_str_eq(ev.path[1].superseded_by, "specific");
	cr_expect_null(ev.path[0].superseded_by);
	cr_assert_eq(ev.n_findings, 2, "the superseded rule is no finding");
	cr_expect_str_eq(ev.findings[0].rule->id, "specific");
	cr_expect_str_eq(ev.findings[1].rule->id, "other");
	cr_expect_str_eq(md_rule_result_name(ev.path[1].result), "superseded");

	/* The specific rule does not fire: the general one stands. */
	md_fact_int(&facts, "zz", "zz.port", 22, NULL);
	evaluate(false);
	cr_expect_eq(ev.path[0].result, MD_RULE_NOT);
	cr_expect_eq(ev.path[1].result, MD_RULE_FIRED);
	cr_expect_null(ev.path[1].superseded_by);
	cr_assert_eq(ev.n_findings, 2);
	cr_expect_str_eq(ev.findings[0].rule->id, "general");

	/* Only the specific one fires: the other keeps its own result. */
	md_fact_str(&facts, "zz", "zz.tcp", "open", NULL);
	evaluate(false);
	cr_expect_eq(ev.path[1].result, MD_RULE_NOT);
}

Test(engine, supersedes_chains_and_undecided_targets_stay, .timeout = 10)
{
	md_fact_bool(&facts, "zz", "zz.a", true, NULL);
	load(RULE("c", "info", "zz.a") "supersedes = b, u\n"
	     RULE("b", "info", "zz.a") "supersedes = a\n"
	     RULE("a", "info", "zz.a")
	     RULE("u", "info", "zz.none"));
	evaluate(false);
	cr_expect_eq(ev.path[0].result, MD_RULE_FIRED);
	cr_expect_eq(ev.path[1].result, MD_RULE_SUPERSEDED);
	cr_expect_str_eq(ev.path[1].superseded_by, "c");
	cr_expect_eq(ev.path[2].result, MD_RULE_SUPERSEDED, "b fired, so it replaces a");
	cr_expect_str_eq(ev.path[2].superseded_by, "b");
	cr_expect_eq(ev.path[3].result, MD_RULE_UNDECIDED, "only a rule that fired is superseded");
	cr_assert_eq(ev.n_findings, 1);
	cr_expect_str_eq(ev.findings[0].rule->id, "c");
}

Test(engine, findings_sorted_by_severity_then_specificity_then_order, .timeout = 10)
{
	md_fact_int(&facts, "zz", "zz.a", 1, NULL);
	md_fact_int(&facts, "zz", "zz.b", 2, NULL);
	md_fact_int(&facts, "zz", "zz.c", 3, NULL);
	load(RULE("info-1", "info", "zz.a == 1 && zz.b == 2 && zz.c == 3")
	     RULE("crit-general", "critical", "zz.a == 1")
	     RULE("warn-2", "warning", "zz.a == 1 && zz.b == 2")
	     RULE("crit-specific", "critical", "zz.a == 1 && zz.b == 2 && exists(zz.c)")
	     RULE("crit-general-2", "critical", "zz.a == 1 || zz.b == 7")
	     RULE("crit-not", "critical", "zz.a == 2")
	     RULE("crit-negated", "critical", "!(zz.a == 5) && zz.b == 2"));
	evaluate(false);
	static const char *want[] = { "crit-specific", "crit-general", "crit-general-2",
				      "crit-negated", "warn-2", "info-1" };
	cr_assert_eq(ev.n_findings, 6);
	for (size_t i = 0; i < 6; i++)
		cr_expect_str_eq(ev.findings[i].rule->id, want[i], "finding %zu: %s, want %s", i,
				 ev.findings[i].rule->id, want[i]);
}

Test(engine, empty_ruleset_and_names, .timeout = 10)
{
	evaluate(false);
	cr_expect_eq(ev.n_findings, 0);
	cr_expect_eq(ev.n_path, 0);
	cr_expect_str_eq(md_severity_name(MD_SEV_INFO), "info");
	cr_expect_str_eq(md_severity_name(MD_SEV_WARNING), "warning");
	cr_expect_str_eq(md_severity_name(MD_SEV_CRITICAL), "critical");
	cr_expect_str_eq(md_rule_result_name(MD_RULE_FIRED), "fired");
	cr_expect_str_eq(md_rule_result_name(MD_RULE_NOT), "not");
	cr_expect_str_eq(md_rule_result_name(MD_RULE_UNDECIDED), "undecided");
	cr_expect_str_eq(md_rule_result_name(MD_RULE_SUPERSEDED), "superseded");
}

Test(engine, longest_allowed_condition_evaluates_and_traces, .timeout = 10)
{
	/* 1024 tests (the parser's cap) joined by '&&', the last one false. */
	size_t cap = 1024 * 24 + 128, len = 0;
	char *text = malloc(cap);

	cr_assert_not_null(text);
	len += (size_t)snprintf(text, cap, "[rule big]\nwhen = zz.port == 22");
	for (int i = 1; i < 1023; i++)
		len += (size_t)snprintf(text + len, cap - len, " && zz.port == 22");
	snprintf(text + len, cap - len, " && zz.yes == false\nseverity = info\ncause = c\nsource = s\n");
	load(text);
	free(text);
	sample_facts();
	evaluate(false);
	cr_expect_eq(ev.path[0].result, MD_RULE_NOT);
	cr_expect(strstr(ev.path[0].trace, "zz.yes == false [zz.yes = true] → false ⇒ false"), "%.200s",
		  ev.path[0].trace);
}

Test(engine, fixture_rules_evaluate, .timeout = 10)
{
	struct md_err err = { 0 };

	cr_assert_eq(md_rules_load_file(&rs, "fixtures/rules/good-every-key.rules", &err), MD_OK,
		     "%s", err.msg);
	md_fact_str(&facts, "fixture", "fixture.tcp", "refused", "connect: refused");
	md_fact_int(&facts, "fixture", "fixture.port", 2222, NULL);
	md_fact_str(&facts, "fixture", "fixture.addr", "10.0.0.2", NULL);
	evaluate(false);
	/* 2222: the specific rule fires (banner missing), the general one does not (port). */
	cr_expect_eq(ev.path[0].result, MD_RULE_NOT, "%s", ev.path[0].trace);
	cr_expect_eq(ev.path[1].result, MD_RULE_FIRED, "%s", ev.path[1].trace);
	/* exists(fixture.h) is false, so the rule is false though other facts are missing */
	cr_expect_eq(ev.path[2].result, MD_RULE_NOT, "%s", ev.path[2].trace);
	md_fact_int(&facts, "fixture", "fixture.port", 22, NULL);
	evaluate(false);
	cr_assert_eq(ev.n_findings, 1);
	cr_expect_str_eq(ev.findings[0].cause, "Nothing accepts connections on 10.0.0.2 port 22.");
	cr_expect_str_eq(ev.findings[0].rule->remedy, "start-fixture");
}

/* ---------------------------------------------------------------- directories */

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	cr_assert_not_null(fp, "%s", path);
	fputs(text, fp);
	fclose(fp);
}

static void make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/md-rules-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
	static const char *names[] = { "10-a.rules", "20-b.rules", "30-bad.rules", "40-orphan.rules",
				       "50-uses-orphan.rules", ".hidden.rules", "notes.txt" };
	char path[256];

	if (!tmpdir[0])
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	rmdir(tmpdir);
	tmpdir[0] = '\0';
}

Test(engine, load_dir_sorted_bad_files_contribute_nothing, .timeout = 10)
{
	struct md_err err = { 0 };
	char prefix[256];
	int rc;

	make_tmpdir();
	write_file("20-b.rules", RULE("b-1", "info", "zz.x") RULE("b-2", "info", "zz.x"));
	/* a-1 supersedes a rule of a later file: fine once the directory is loaded */
	write_file("10-a.rules", RULE("a-1", "info", "zz.x") "supersedes = b-2\n");
	write_file("30-bad.rules", RULE("bad-1", "info", "zz.x") "severity = oops\n");
	write_file("40-orphan.rules", RULE("orphan", "info", "zz.x") "supersedes = nowhere\n");
	write_file("50-uses-orphan.rules", RULE("uses-orphan", "info", "zz.x") "supersedes = orphan\n");
	write_file(".hidden.rules", "this is not a rule file\n");
	write_file("notes.txt", "neither is this\n");
	rc = md_rules_load_dir(&rs, tmpdir, &err);
	cr_expect_eq(rc, MD_EPARSE);
	snprintf(prefix, sizeof(prefix), "%s/30-bad.rules:6: duplicate key \"severity\"", tmpdir);
	cr_expect_eq(strncmp(err.msg, prefix, strlen(prefix)), 0, "%s", err.msg);
	cr_assert_eq(rs.n, 3, "a-1, b-1, b-2 kept; bad, orphan and what needs orphan dropped");
	cr_expect_str_eq(rs.v[0]->id, "a-1");
	cr_expect_str_eq(rs.v[1]->id, "b-1");
	cr_expect_str_eq(rs.v[2]->id, "b-2");
	cr_assert_eq(rs.n_files, 2);
	cr_expect_neq(strstr(rs.files[0], "/10-a.rules"), NULL);
	cr_expect_neq(strstr(rs.files[1], "/20-b.rules"), NULL);

	/* The supersedes error alone is reported with its file and line. */
	md_ruleset_cleanup(&rs);
	md_ruleset_init(&rs);
	md_err_clear(&err);
	snprintf(prefix, sizeof(prefix), "%s/30-bad.rules", tmpdir);
	unlink(prefix);
	cr_expect_eq(md_rules_load_dir(&rs, tmpdir, &err), MD_EPARSE);
	snprintf(prefix, sizeof(prefix),
		 "%s/40-orphan.rules:6: rule \"orphan\" supersedes unknown rule \"nowhere\"", tmpdir);
	cr_expect_eq(strncmp(err.msg, prefix, strlen(prefix)), 0, "%s", err.msg);
	cr_expect_eq(rs.n, 3);
}

Test(engine, load_dir_missing_or_empty_is_not_found, .timeout = 10)
{
	struct md_err err = { 0 };
	char want[256];

	cr_expect_eq(md_rules_load_dir(&rs, "/nonexistent/md-rules", &err), MD_ENOTFOUND);
	cr_expect_str_eq(err.msg, "open rules directory /nonexistent/md-rules: No such file or directory");
	make_tmpdir();
	md_err_clear(&err);
	cr_expect_eq(md_rules_load_dir(&rs, tmpdir, &err), MD_ENOTFOUND);
	snprintf(want, sizeof(want), "rules directory %s: no *.rules files in it", tmpdir);
	cr_expect_str_eq(err.msg, want);
}

/* The set's id index follows the rules as files join it, as a rejected file is taken back
 * and as a directory load drops files: md_rules_find and the duplicate check see exactly
 * the rules the set holds (under SAN=1, an index entry left pointing at a rule that was
 * taken back is a use after free). */
Test(engine, find_sees_rules_of_files_loaded_one_after_another, .timeout = 10)
{
	struct md_err err = { 0 };
	const struct md_rule *r;

	cr_assert_eq(md_rules_load_string(&rs, "one.rules", RULE("a-1", "info", "zz.x")
							      RULE("a-2", "info", "zz.x"), &err),
		     MD_OK, "%s", err.msg);
	cr_assert_eq(md_rules_load_string(&rs, "two.rules", RULE("b-1", "info", "zz.x")
							      "supersedes = a-2\n", &err),
		     MD_OK, "%s", err.msg);
	r = md_rules_find(&rs, "a-2");
	cr_assert_not_null(r);
	cr_expect_str_eq(r->file, "one.rules");
	cr_expect_eq(r->line, 6);
	r = md_rules_find(&rs, "b-1");
	cr_assert_not_null(r);
	cr_expect_str_eq(r->file, "two.rules");
	cr_expect_not_null(md_rules_find(&rs, "a-1"));
	cr_expect_null(md_rules_find(&rs, "b-2"));

	/* A duplicate of a rule of the first file, in the third: file:line of both. */
	cr_expect_eq(md_rules_load_string(&rs, "three.rules", RULE("c-1", "info", "zz.x")
								 RULE("a-2", "info", "zz.x"), &err),
		     MD_EPARSE);
	cr_expect_str_eq(err.msg, "three.rules:6: duplicate rule id \"a-2\" (already defined at one.rules:6)");
	cr_expect_null(md_rules_find(&rs, "c-1"), "nothing of three.rules is kept");
	cr_expect_str_eq(md_rules_find(&rs, "a-2")->file, "one.rules");

	/* Taken back after it joined the set: its rules leave the index too. */
	md_err_clear(&err);
	cr_expect_eq(md_rules_load_string(&rs, "four.rules", RULE("d-1", "info", "zz.x")
								"supersedes = nowhere\n", &err),
		     MD_EPARSE);
	cr_expect_null(md_rules_find(&rs, "d-1"));
	cr_assert_eq(rs.n, 3);
	/* and its id is free again */
	md_err_clear(&err);
	cr_assert_eq(md_rules_load_string(&rs, "five.rules", RULE("e-1", "info", "zz.x")
							       RULE("d-1", "info", "zz.x"), &err),
		     MD_OK, "%s", err.msg);
	cr_expect_str_eq(md_rules_find(&rs, "d-1")->file, "five.rules");
	cr_expect_eq(md_rules_find(&rs, "d-1"), rs.v[4]);
	cr_expect_eq(md_rules_find(&rs, "e-1"), rs.v[3]);
	/* Duplicates are still caught after the take-back. */
	md_err_clear(&err);
	cr_expect_eq(md_rules_load_string(&rs, "six.rules", RULE("b-1", "info", "zz.x"), &err), MD_EPARSE);
	cr_expect_str_eq(err.msg, "six.rules:1: duplicate rule id \"b-1\" (already defined at two.rules:1)");
}

Test(engine, find_after_a_directory_load_dropped_files, .timeout = 10)
{
	struct md_err err = { 0 };
	const char *kept[] = { "a-1", "b-1", "b-2", "z-1" };

	make_tmpdir();
	write_file("10-a.rules", RULE("a-1", "info", "zz.x"));
	write_file("20-orphan.rules", RULE("o-1", "info", "zz.x") "supersedes = nowhere\n"
				      RULE("o-2", "info", "zz.x"));
	write_file("30-b.rules", RULE("b-1", "info", "zz.x") RULE("b-2", "info", "zz.x")
				 "supersedes = a-1\n");
	write_file("40-z.rules", RULE("z-1", "info", "zz.x"));
	cr_expect_eq(md_rules_load_dir(&rs, tmpdir, &err), MD_EPARSE);
	cr_assert_eq(rs.n, 4, "%s", err.msg);
	/* The rules after the dropped file moved up in the array: found where they are now. */
	for (size_t i = 0; i < 4; i++) {
		const struct md_rule *r = md_rules_find(&rs, kept[i]);

		cr_assert_not_null(r, "%s", kept[i]);
		cr_expect_eq(r, rs.v[i], "%s found at another position", kept[i]);
	}
	cr_expect_null(md_rules_find(&rs, "o-1"));
	cr_expect_null(md_rules_find(&rs, "o-2"));
	/* b-2 still supersedes a-1 through the index */
	md_fact_bool(&facts, "zz", "zz.x", true, NULL);
	evaluate(false);
	cr_expect_eq(ev.path[0].result, MD_RULE_SUPERSEDED);
	cr_expect_str_eq(ev.path[0].superseded_by, "b-2");
	cr_expect_eq(ev.n_findings, 3);
}
