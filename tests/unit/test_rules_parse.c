/* test_rules_parse.c — rule-file syntax: every kind of mistake is reported as
 * "FILE:LINE: message" and keeps nothing of its file; valid files load whole.
 * No network.  Fixtures: fixtures/rules/ (bad-NAME.rules, good-NAME.rules); shipped: rules/. */
#include "rules/engine.h"
#include "rules/parse.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A minimal valid stanza, to append mistakes to. */
#define OK_RULE "[rule ok]\nwhen = a.b == 1\nseverity = info\ncause = c\nsource = s\n"
/* A stanza whose `when` is the given text (line 2). */
#define WHEN(cond) "[rule r]\nwhen = " cond "\nseverity = info\ncause = c\nsource = s\n"

/* Criterion may run each parameter in a fresh process (BoxFort), where pointers from the
 * parent's address space mean nothing: parameters hold their text inline. */
struct bad_case {
	char text[256];
	char prefix[32];   /* exact start of err.msg */
	char contains[128]; /* the message says what is wrong */
};

static struct bad_case bad_cases[] = {
	/* stanza structure */
	{ "[rule a]\nverdict = critical\n", "t.rules:2: ", "unknown key \"verdict\"" },
	{ "[rule a]\nwhen a.b == 1\n", "t.rules:2: ", "expected KEY = VALUE" },
	{ "[rule a]\njust words\n", "t.rules:2: ", "expected KEY = VALUE" },
	{ "[rule a]\n= x\n", "t.rules:2: ", "expected KEY = VALUE" },
	{ "when = a.b == 1\n", "t.rules:1: ", "outside a rule" },
	{ "# c\n   indented = x\n", "t.rules:2: ", "continuation line" },
	{ "[rule Upper]\n", "t.rules:1: ", "bad rule id \"Upper\"" },
	{ "[rule a b]\n", "t.rules:1: ", "bad rule id" },
	{ "[rules a]\n", "t.rules:1: ", "expected a stanza header [rule ID]" },
	{ "[rule]\n", "t.rules:1: ", "expected a stanza header" },
	{ "[rule a\n", "t.rules:1: ", "ending with ']'" },
	{ "[rule a] x\n", "t.rules:1: ", "ending with ']'" },
	{ OK_RULE "\n[rule ok]\n", "t.rules:7: ", "duplicate rule id \"ok\" (already defined at t.rules:1)" },
	{ "[rule a]\nwhen = a.b == 1\nwhen = a.b == 2\n", "t.rules:3: ", "duplicate key \"when\"" },
	{ "[rule a]\ncause =\n", "t.rules:2: ", "empty value for \"cause\"" },
	/* required keys: reported at the rule's header */
	{ "# x\n[rule a]\nwhen = a.b == 1\nseverity = info\ncause = c\n", "t.rules:2: ",
	  "has no \"source\"" },
	{ "[rule a]\nseverity = info\ncause = c\nsource = s\n", "t.rules:1: ", "has no \"when\"" },
	{ "[rule a]\nwhen = a.b\ncause = c\nsource = s\n", "t.rules:1: ", "has no \"severity\"" },
	{ "[rule a]\nwhen = a.b\nseverity = info\nsource = s\n", "t.rules:1: ", "has no \"cause\"" },
	{ OK_RULE "[rule b]\nwhen = a.b\n", "t.rules:6: ", "has no \"severity\"" },
	/* values */
	{ "[rule a]\nseverity = fatal\n", "t.rules:2: ",
	  "bad severity \"fatal\" (expected info, warning or critical)" },
	{ "[rule a]\nremedy = systemctl restart sshd\n", "t.rules:2: ", "bad remedy name" },
	{ "[rule a]\nremedy = rm;reboot\n", "t.rules:2: ", "bad remedy name" },
	{ "[rule a]\nevidence = ssh.tcp, SSH.Port\n", "t.rules:2: ", "invalid fact name \"SSH.Port\"" },
	{ "[rule a]\nevidence = ssh.tcp,,ssh.port\n", "t.rules:2: ", "empty item" },
	{ "[rule a]\nevidence = ssh.tcp,\n", "t.rules:2: ", "empty item" },
	{ "[rule a]\nsupersedes = other, Bad_Id\n", "t.rules:2: ", "invalid rule id \"Bad_Id\"" },
	{ "[rule a]\nsupersedes = a\n", "t.rules:2: ", "supersedes itself" },
	{ OK_RULE "supersedes = nope\n", "t.rules:6: ", "supersedes unknown rule \"nope\"" },
	{ "[rule a]\nwhen = a.b\nseverity = info\ncause = c\nsource = s\nsupersedes = b\n"
	  "[rule b]\nwhen = a.b\nseverity = info\ncause = c\nsource = s\nsupersedes = a\n",
	  "t.rules:12: ", "supersedes cycle" },
	/* conditions: names */
	{ WHEN("SSH.tcp == \"x\""), "t.rules:2: ", "invalid fact name \"SSH.tcp\"" },
	{ WHEN("ssh..tcp == 1"), "t.rules:2: ", "invalid fact name \"ssh..tcp\"" },
	{ WHEN("exists(Bad)"), "t.rules:2: ", "invalid fact name \"Bad\"" },
	{ WHEN("exists()"), "t.rules:2: ", "expected a fact name inside exists(...)" },
	{ WHEN("missing(a.b"), "t.rules:2: ", "expected ')' to close missing(a.b" },
	{ WHEN("\"refused\" == ssh.tcp"), "t.rules:2: ", "expected a fact name" },
	/* conditions: operators and operands */
	{ WHEN("a.b =="), "t.rules:2: ", "expected a literal (\"string\", number, true or false) after '==', got end of condition" },
	{ WHEN("a.b == refused"), "t.rules:2: ", "strings need double quotes" },
	{ WHEN("a.b == 1 &&"), "t.rules:2: ", "expected a condition after '&&'" },
	{ WHEN("a.b == 1 ||"), "t.rules:2: ", "expected a condition after '||'" },
	{ WHEN("&& a.b == 1"), "t.rules:2: ", "expected a condition" },
	{ WHEN("a.b == 1 && || a.c"), "t.rules:2: ", "got '||'" },
	{ WHEN("!"), "t.rules:2: ", "expected a condition after '!'" },
	{ WHEN("a.b = 1"), "t.rules:2: ", "'=' is not an operator (did you mean '=='?)" },
	{ WHEN("a.b == 1 & a.c"), "t.rules:2: ", "did you mean '&&'" },
	{ WHEN("a.b == 1 | a.c"), "t.rules:2: ", "did you mean '||'" },
	{ WHEN("a.b \"x\""), "t.rules:2: ", "expected an operator" },
	{ WHEN("a.b is 1"), "t.rules:2: ", "expected an operator" },
	{ WHEN("a.b == 1 a.c"), "t.rules:2: ", "after a complete condition" },
	{ WHEN("a.b == $x"), "t.rules:2: ", "unexpected character '$'" },
	{ WHEN("a.b ~ 5"), "t.rules:2: ", "'~' needs a \"quoted string\"" },
	{ WHEN("a.b contains true"), "t.rules:2: ", "'contains' needs a \"quoted string\"" },
	{ WHEN("a.b < true"), "t.rules:2: ", "'<' needs a number or a \"string\"" },
	{ WHEN("a.b ~ \"(\""), "t.rules:2: ", "bad regular expression \"(\"" },
	{ WHEN("a.b ~ \"x{2,1}\""), "t.rules:2: ", "bad regular expression" },
	/* regular expressions glibc would take gigabytes or minutes over */
	{ WHEN("a.b ~ \"(a{1,255}){1,255}\""), "t.rules:2: ",
	  "'{1,255}' repeats a part that has a counted repetition already, 65025 copies in all (at most 255" },
	{ WHEN("a.b ~ \"^((a{20})b|c){30}$\""), "t.rules:2: ", "'{30}' repeats a part that has a counted repetition already, 600 copies" },
	{ WHEN("a.b ~ \"x(a{16}{16})\""), "t.rules:2: ", "'{16}' repeats a part that has a counted repetition already, 256 copies" },
	{ WHEN("a.b ~ \"(a{1,20})*{20}\""), "t.rules:2: ", "400 copies" },
	{ WHEN("a.b ~ \"((a{4}){4}){16}\""), "t.rules:2: ", "256 copies" },
	{ WHEN("a.b ~ \"a{256}\""), "t.rules:2: ", "'{256}' counts past 255" },
	/* x+ compiles as x x*: stacked +'s double the pattern (18 of them: 170 MB) */
	{ WHEN("a.b ~ \"[a-z0-9]++++++++++++++++++\""), "t.rules:2: ",
	  "a '+' repeats a part that is repeated already, 256 copies in all (at most 255" },
	{ WHEN("a.b ~ \"((([ab]+)+)+){40}\""), "t.rules:2: ",
	  "'{40}' repeats a part that has a counted repetition already, 320 copies" },
	{ WHEN("a.b ~ \"(a{1,32767})\""), "t.rules:2: ", "'{1,32767}' counts past 255" },
	{ WHEN("a.b ~ \"[ab]{300,}\""), "t.rules:2: ", "'{300,}' counts past 255" },
	{ WHEN("a.b ~ \"x{,99999999999}\""), "t.rules:2: ", "counts past 255" },
	{ WHEN("a.b ~ \"(a)\\\\1\""), "t.rules:2: ", "back-references such as \\1 are not allowed" },
	{ "[rule a]\nwhen = a.b == 1\n    && a.c ~ \"a{1000}\"\nseverity = info\n", "t.rules:3: ",
	  "counts past 255" },
	/* copies side by side: glibc's epsilon closures grow with the square of the parts */
	{ WHEN("a.b ~ \"(a?){255}(a?){255}\""), "t.rules:2: ",
	  "rule \"r\": regular expression \"(a?){255}(a?){255}\": over 1024 parts with its repetitions written out" },
	{ WHEN("a.b ~ \"(a|b|){255}\""), "t.rules:2: ", "over 1024 parts" },
	{ WHEN("a.b ~ \"a{0,255}a{0,255}a{0,255}a{0,255}a{0,255}\""), "t.rules:2: ", "over 1024 parts" },
	{ WHEN("a.b ~ \"([a-z]+[0-9]+[.]+){100}\""), "t.rules:2: ", "over 1024 parts" },
	{ "[rule a]\nwhen = a.b == 1\n    && a.c ~ \"(x?){200}(y?){200}(z?){200}\"\nseverity = info\n",
	  "t.rules:3: ", "rule \"a\": regular expression" },
	/* an unbounded repetition of a part that can match nothing: a loop of empty transitions,
	 * whose closures glibc computes in exponential time ((a?|d?+){20}: 4 s) */
	{ WHEN("a.b ~ \"(a?|d?+){20}\""), "t.rules:2: ",
	  "rule \"r\": regular expression \"(a?|d?+){20}\": '+' repeats a part that can match nothing" },
	{ WHEN("a.b ~ \"x(d?)*\""), "t.rules:2: ", "'*' repeats a part that can match nothing" },
	{ WHEN("a.b ~ \"d*+\""), "t.rules:2: ", "'+' repeats a part that can match nothing" },
	{ WHEN("a.b ~ \"(a|)*\""), "t.rules:2: ", "'*' repeats a part that can match nothing" },
	{ WHEN("a.b ~ \"(x?y?)+\""), "t.rules:2: ", "'+' repeats a part that can match nothing" },
	{ WHEN("a.b ~ \"(^)*\""), "t.rules:2: ", "can match nothing" },
	{ WHEN("a.b ~ \"(d{0,3}){2,}\""), "t.rules:2: ", "'{' repeats a part that can match nothing" },
	{ WHEN("a.b in \"x\""), "t.rules:2: ", "expected '(' after 'in'" },
	{ WHEN("a.b in (\"x\" \"y\")"), "t.rules:2: ", "expected ',' or ')'" },
	{ WHEN("a.b in (\"x\","), "t.rules:2: ", "after ','" },
	{ WHEN("a.b in (\"x\""), "t.rules:2: ", "never closed" },
	{ WHEN("a.b in ()"), "t.rules:2: ", "expected a literal" },
	/* conditions: strings and parentheses */
	{ WHEN("a.b == \"refused"), "t.rules:2: ", "unterminated string" },
	{ WHEN("a.b == \"ends in backslash\\"), "t.rules:2: ", "unterminated string" },
	{ WHEN("a.b ~ \"\\d+\""), "t.rules:2: ", "unknown escape '\\d'" },
	{ WHEN("(a.b == 1"), "t.rules:2: ", "unbalanced parentheses: '(' is never closed" },
	{ WHEN("((a.b == 1) && a.c"), "t.rules:2: ", "unbalanced parentheses" },
	{ WHEN("a.b == 1)"), "t.rules:2: ", "unbalanced parentheses: unexpected ')'" },
	{ WHEN("()"), "t.rules:2: ", "unbalanced parentheses: unexpected ')'" },
	{ WHEN("!(a.b == 1))"), "t.rules:2: ", "unexpected ')'" },
	/* a continued condition: the error names the line it is on */
	{ "[rule a]\nwhen = a.b == 1\n    && a.c == \"x\"\n    && a.d ==\nseverity = info\n",
	  "t.rules:4: ", "after '=='" },
	{ "[rule a]\nwhen = a.b == 1\n\n    && (a.c == 2\n", "t.rules:4: ", "never closed" },
	/* a comment does not hide the mistake before it */
	{ "[rule a]\nseverity = fatal # was critical\n", "t.rules:2: ", "bad severity \"fatal\"" },
	/* CRLF files report the same lines */
	{ "[rule a]\r\nwhen = a.b ==\r\n", "t.rules:2: ", "after '=='" },
};

ParameterizedTestParameters(parse, rejects_mistake_with_file_and_line)
{
	return cr_make_param_array(struct bad_case, bad_cases, sizeof(bad_cases) / sizeof(bad_cases[0]));
}

ParameterizedTest(struct bad_case *c, parse, rejects_mistake_with_file_and_line, .timeout = 10)
{
	struct md_ruleset rs;
	struct md_err err = { 0 };
	int rc;

	md_ruleset_init(&rs);
	rc = md_rules_load_string(&rs, "t.rules", c->text, &err);
	cr_expect_eq(rc, MD_EPARSE, "rc %d for:\n%s", rc, c->text);
	cr_expect_eq(err.code, MD_EPARSE, "err.code for:\n%s", c->text);
	cr_expect_eq(strncmp(err.msg, c->prefix, strlen(c->prefix)), 0,
		     "message \"%s\" does not start with \"%s\" for:\n%s", err.msg, c->prefix, c->text);
	cr_expect_neq(strstr(err.msg, c->contains), NULL, "message \"%s\" lacks \"%s\" for:\n%s",
		      err.msg, c->contains, c->text);
	cr_expect_null(strchr(err.msg, '\n'), "message is one line: %s", err.msg);
	cr_expect_eq(rs.n, 0, "a file with a mistake contributes nothing (%zu rules kept): %s", rs.n,
		     c->text);
	md_ruleset_cleanup(&rs);
}

/* ---------------------------------------------------------------- valid input */

TestSuite(parse);

Test(parse, minimal_rule_loads_with_defaults, .timeout = 10)
{
	struct md_ruleset rs;
	struct md_err err = { 0 };
	const struct md_rule *r;

	md_ruleset_init(&rs);
	cr_assert_eq(md_rules_load_string(&rs, "t.rules", OK_RULE, &err), MD_OK, "%s", err.msg);
	cr_assert_eq(rs.n, 1);
	r = md_rules_find(&rs, "ok");
	cr_assert_not_null(r);
	cr_expect_str_eq(r->file, "t.rules");
	cr_expect_eq(r->line, 1);
	cr_expect_str_eq(r->when, "a.b == 1");
	cr_expect_str_eq(r->title, "ok", "title defaults to the id");
	cr_expect_null(r->remedy);
	cr_expect_eq(r->n_advice, 0);
	cr_expect_eq(r->n_evidence, 0);
	cr_expect_eq(rs.n_files, 1);
	cr_expect_str_eq(rs.files[0], "t.rules");
	cr_expect_null(md_rules_find(&rs, "nope"));
	md_ruleset_cleanup(&rs);
}

Test(parse, comments_continuations_and_repeated_advice, .timeout = 10)
{
	static const char text[] =
		"# leading comment\n"
		"\n"
		"  # indented comment\n"
		"[rule x-1]   # header comment\n"
		"when = a.b == \"has # inside\"   # trailing comment\n"
		"   && a.c ~ \"x#y\"\n"
		"severity = warning\n"
		"cause = first part\n"
		"\n"
		"    second part # cut here\n"
		"advice = step one\n"
		"advice =\n"
		"    step two,\n"
		"\tcontinued with a tab\n"
		"evidence = a.b , a.c,a.d\n"
		"supersedes = x-2\n"
		"source = seeds/002#section\n"
		"[rule x-2]\r\n"
		"when = a.b\r\n"
		"severity = critical\r\n"
		"cause = c\r\n"
		"source = s\r\n";
	struct md_ruleset rs;
	struct md_err err = { 0 };
	const struct md_rule *r;

	md_ruleset_init(&rs);
	cr_assert_eq(md_rules_load_string(&rs, "t.rules", text, &err), MD_OK, "%s", err.msg);
	cr_assert_eq(rs.n, 2);
	r = rs.v[0];
	cr_expect_str_eq(r->id, "x-1");
	cr_expect_eq(r->line, 4);
	cr_expect_str_eq(r->when, "a.b == \"has # inside\" && a.c ~ \"x#y\"");
	cr_expect_eq(r->severity, MD_SEV_WARNING);
	cr_expect_str_eq(r->cause, "first part second part");
	cr_assert_eq(r->n_advice, 2);
	cr_expect_str_eq(r->advice[0], "step one");
	cr_expect_str_eq(r->advice[1], "step two, continued with a tab");
	cr_assert_eq(r->n_evidence, 3);
	cr_expect_str_eq(r->evidence[0], "a.b");
	cr_expect_str_eq(r->evidence[1], "a.c");
	cr_expect_str_eq(r->evidence[2], "a.d");
	cr_assert_eq(r->n_supersedes, 1);
	cr_expect_str_eq(r->supersedes[0], "x-2");
	cr_expect_str_eq(r->source, "seeds/002#section", "'#' not after white space is text");
	cr_expect_str_eq(rs.v[1]->id, "x-2");
	cr_expect_eq(rs.v[1]->severity, MD_SEV_CRITICAL);
	cr_expect_str_eq(rs.v[1]->source, "s", "CR of CRLF is not part of the value");
	md_ruleset_cleanup(&rs);
}

Test(parse, condition_grammar_accepts_every_form, .timeout = 10)
{
	static const char *conds[] = {
		"a.b",
		"!a.b",
		"!!a.b",
		"a.b == \"x\"",
		"a.b != \"\"",
		"a.b == \"quote \\\" and backslash \\\\\"",
		"a.b == -3",
		"a.b >= 1.25",
		"a.b <= -0.5",
		"a.b == true",
		"a.b == false",
		"a.b<3&&a.c>=4||!a.d",
		"a.b ~ \"^SSH-2\\\\.0-OpenSSH_[0-9]+\"",
		"a.b contains \"refused\"",
		"a.b in (\"a\")",
		"a.b in (\"a\", 2, 3.5, true, \"d,e\")",
		"exists(a.b) && missing(a.c)",
		"exists (a.b)",
		"((a.b))",
		"(a.b || a.c) && !(a.d == 1 || a.e)",
		"exists.x == 1",
		"in.x && contains.y",
		"ssh.auth_methods-offered contains \"publickey\"",
		"a.b_2 == 2",
		"1x.y == 2",
	};
	for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); i++) {
		struct md_expr *e = NULL;
		struct md_err err = { 0 };

		cr_expect_eq(md_expr_parse(conds[i], "t", NULL, 1, &e, &err), MD_OK,
			     "condition %s: %s", conds[i], err.msg);
		cr_expect_not_null(e, "condition %s", conds[i]);
		md_expr_free(e);
	}
}

Test(parse, nesting_is_capped_not_a_stack_overflow, .timeout = 10)
{
	char cond[4096];
	struct md_expr *e = NULL;
	struct md_err err = { 0 };
	size_t n = 0;

	for (int i = 0; i < 1000; i++)
		cond[n++] = '(';
	strcpy(cond + n, "a.b");
	cr_expect_eq(md_expr_parse(cond, "t", NULL, 7, &e, &err), MD_EPARSE);
	cr_expect_str_eq(err.msg, "t:7: condition nested too deeply (more than 64 levels)");
	cr_expect_null(e);

	memset(cond, '!', 2000);
	strcpy(cond + 2000, "a.b");
	md_err_clear(&err);
	cr_expect_eq(md_expr_parse(cond, "t", NULL, 7, &e, &err), MD_EPARSE);
	cr_expect_null(e);
}

/* A stanza whose condition is n tests "a.b == 1" joined by op, split over lines of per_line
 * tests (continuation lines), so the error's line can be checked. */
static char *long_chain(size_t n, const char *op, size_t per_line)
{
	size_t cap = 64 + n * 24, len = 0;
	char *s = malloc(cap);

	cr_assert_not_null(s);
	len += (size_t)snprintf(s + len, cap - len, "[rule big]\nwhen = a.b == 1");
	for (size_t i = 1; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s %s a.b == 1",
					i % per_line ? "" : "\n   ", op);
	snprintf(s + len, cap - len, "\nseverity = info\ncause = c\nsource = s\n");
	return s;
}

Test(parse, long_and_or_chains_are_capped_not_a_stack_overflow, .timeout = 10)
{
	static const char *const ops[] = { "&&", "||" };

	for (size_t k = 0; k < 2; k++) {
		struct md_ruleset rs;
		struct md_err err = { 0 };
		char *text = long_chain(100000, ops[k], 100000);

		md_ruleset_init(&rs);
		cr_expect_eq(md_rules_load_string(&rs, "t.rules", text, &err), MD_EPARSE, "%s", ops[k]);
		cr_expect_str_eq(err.msg,
				 "t.rules:2: rule \"big\": condition has more than 1024 tests (split it into several rules)");
		cr_expect_eq(rs.n, 0);
		md_ruleset_cleanup(&rs);
		free(text);
	}
}

Test(parse, test_cap_names_the_continuation_line_it_is_reached_on, .timeout = 10)
{
	struct md_ruleset rs;
	struct md_err err = { 0 };
	/* 100 tests a line: line 2 holds tests 1-100, line 12 tests 1001-1100. */
	char *text = long_chain(1100, "&&", 100);

	md_ruleset_init(&rs);
	cr_expect_eq(md_rules_load_string(&rs, "t.rules", text, &err), MD_EPARSE);
	cr_expect_eq(strncmp(err.msg, "t.rules:12: rule \"big\": condition has more than 1024 tests", 58), 0,
		     "%s", err.msg);
	md_ruleset_cleanup(&rs);
	free(text);
	/* The cap itself loads. */
	text = long_chain(1024, "||", 50);
	md_err_clear(&err);
	cr_expect_eq(md_rules_load_string(&rs, "t.rules", text, &err), MD_OK, "%s", err.msg);
	cr_expect_eq(rs.n, 1);
	md_ruleset_cleanup(&rs);
	free(text);
}

Test(parse, deep_parentheses_in_a_rule_file_are_an_error, .timeout = 10)
{
	size_t n = 100000, len = 0, cap = 2 * n + 128;
	char *text = malloc(cap);
	struct md_ruleset rs;
	struct md_err err = { 0 };

	cr_assert_not_null(text);
	len += (size_t)snprintf(text, cap, "[rule deep]\nwhen = ");
	memset(text + len, '(', n);
	len += n;
	len += (size_t)snprintf(text + len, cap - len, "a.b");
	memset(text + len, ')', n);
	len += n;
	snprintf(text + len, cap - len, "\nseverity = info\ncause = c\nsource = s\n");
	md_ruleset_init(&rs);
	cr_expect_eq(md_rules_load_string(&rs, "t.rules", text, &err), MD_EPARSE);
	cr_expect_str_eq(err.msg, "t.rules:2: rule \"deep\": condition nested too deeply (more than 64 levels)");
	md_ruleset_cleanup(&rs);
	free(text);
}

Test(parse, regex_limits_leave_ordinary_patterns_alone, .timeout = 10)
{
	/* Rule-file text of the pattern (a backslash written twice). */
	static const char *const ok[] = {
		"a{255}", "(ab){2,255}", "x{,255}", "(a{2}|b{3})+", "(a{2})(b){4}", "[{]{2}",
		"[]{]{3}", "[[:digit:]{]{2}", "\\\\{300\\\\}", "(a+)+{2}", "^SSH-2\\\\.0-",
		"\\\\(x{2}\\\\){3}", "[\\\\1]",
		/* nested counts whose copies multiply to at most 255 */
		"([0-9]{1,3}\\\\.){3}[0-9]{1,3}", "^((a{2})b|c){3}$", "x(a{2}{3})", "(a{1,2})*{2}",
		"((a{3}){5}){17}", "(a{255}){1}",
		/* copies side by side, up to 1024 parts */
		"(a?){255}", "([a-z]+[0-9]+[.]+){90}", "(a{255})(b{255})(c{255})",
		/* repetitions of parts that always match something, and bounded ones of parts
		 * that may not */
		"(ab?)*", "d+*", "(a*)?", "(x?y)+", "(a|b)*", "(d?){3}", "(a?|d+){20}", "[?]*",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char text[256];
		struct md_ruleset rs;
		struct md_err err = { 0 };

		snprintf(text, sizeof(text), WHEN("a.b ~ \"%s\""), ok[i]);
		md_ruleset_init(&rs);
		cr_expect_eq(md_rules_load_string(&rs, "t.rules", text, &err), MD_OK, "%s: %s", ok[i],
			     err.msg);
		md_ruleset_cleanup(&rs);
	}
}

/* 56 optional parts of 255 copies each, side by side: 504 bytes that took glibc's regcomp
 * 1.6 GB and 12 s.  Refused before regcomp sees them. */
Test(parse, side_by_side_optional_copies_are_refused_with_the_rule_and_line, .timeout = 10)
{
	char pat[600] = "", text[800];
	struct md_ruleset rs;
	struct md_err err = { 0 };

	for (int i = 0; i < 56; i++)
		strcat(pat, "(a?){255}");
	snprintf(text, sizeof(text), "# many optional parts\n" WHEN("a.b ~ \"%s\""), pat);
	md_ruleset_init(&rs);
	cr_expect_eq(md_rules_load_string(&rs, "t.rules", text, &err), MD_EPARSE);
	cr_expect(strncmp(err.msg, "t.rules:3: rule \"r\": regular expression \"(a?){255}", 50) == 0, "%s",
		  err.msg);
	cr_expect(strstr(err.msg, "over 1024 parts"), "%s", err.msg);
	cr_expect_eq(rs.n, 0);
	md_ruleset_cleanup(&rs);
}

Test(parse, regex_longer_than_512_bytes_is_rejected, .timeout = 10)
{
	char pat[600], text[800];
	struct md_ruleset rs;
	struct md_err err = { 0 };

	memset(pat, 'x', sizeof(pat));
	pat[512] = '\0';
	snprintf(text, sizeof(text), WHEN("a.b ~ \"%s\""), pat);
	md_ruleset_init(&rs);
	cr_expect_eq(md_rules_load_string(&rs, "t.rules", text, &err), MD_OK, "512 bytes: %s", err.msg);
	md_ruleset_cleanup(&rs);
	pat[512] = 'x';
	pat[513] = '\0';
	snprintf(text, sizeof(text), WHEN("a.b ~ \"%s\""), pat);
	cr_expect_eq(md_rules_load_string(&rs, "t.rules", text, &err), MD_EPARSE);
	cr_expect(strncmp(err.msg, "t.rules:2: rule \"r\": regular expression \"xxxx", 45) == 0, "%s", err.msg);
	cr_expect(strstr(err.msg, "is 513 bytes long (at most 512)"), "%s", err.msg);
	cr_expect_eq(rs.n, 0);
	md_ruleset_cleanup(&rs);
}

Test(parse, rule_facts_lists_each_condition_fact_once, .timeout = 10)
{
	struct md_ruleset rs;
	struct md_err err = { 0 };
	const char *names[8];
	size_t n;

	md_ruleset_init(&rs);
	cr_assert_eq(md_rules_load_string(&rs, "t.rules",
					  WHEN("a.b == 1 && (a.c || !exists(a.d)) && a.b != 2 && a.e in (1, 2)"),
					  &err),
		     MD_OK, "%s", err.msg);
	n = md_rule_facts(rs.v[0], names, 8);
	cr_assert_eq(n, 4);
	cr_expect_str_eq(names[0], "a.b");
	cr_expect_str_eq(names[1], "a.c");
	cr_expect_str_eq(names[2], "a.d");
	cr_expect_str_eq(names[3], "a.e");
	cr_expect_eq(md_rule_facts(rs.v[0], names, 2), 2, "never writes past max");
	md_ruleset_cleanup(&rs);
}

/* ---------------------------------------------------------------- across texts and files */

Test(parse, duplicate_id_across_files_names_both_places, .timeout = 10)
{
	struct md_ruleset rs;
	struct md_err err = { 0 };

	md_ruleset_init(&rs);
	cr_assert_eq(md_rules_load_string(&rs, "one.rules", OK_RULE, &err), MD_OK, "%s", err.msg);
	cr_assert_eq(md_rules_load_string(&rs, "two.rules",
					  "[rule fine]\nwhen = a.b\nseverity = info\ncause = c\nsource = s\n\n" OK_RULE,
					  &err),
		     MD_EPARSE);
	cr_expect_str_eq(err.msg, "two.rules:7: duplicate rule id \"ok\" (already defined at one.rules:1)");
	cr_expect_eq(rs.n, 1, "nothing of two.rules is kept, not even its good rule");
	cr_expect_null(md_rules_find(&rs, "fine"));
	cr_expect_eq(rs.n_files, 1);
	md_ruleset_cleanup(&rs);
}

Test(parse, supersedes_may_name_a_rule_loaded_before, .timeout = 10)
{
	struct md_ruleset rs;
	struct md_err err = { 0 };

	md_ruleset_init(&rs);
	cr_assert_eq(md_rules_load_string(&rs, "one.rules", OK_RULE, &err), MD_OK, "%s", err.msg);
	cr_assert_eq(md_rules_load_string(&rs, "two.rules", WHEN("a.b") "supersedes = ok\n", &err),
		     MD_OK, "%s", err.msg);
	cr_expect_eq(rs.n, 2);
	md_ruleset_cleanup(&rs);
}

/* Rules r<from>..r<to-1>, each superseding the one before it (r<from> supersedes
 * r<first_target> when first_target >= 0); every stanza is 6 lines. */
static char *many_rules(int from, int to, int first_target, const char *extra)
{
	size_t cap = (size_t)(to - from) * 112 + strlen(extra) + 1, len = 0;
	char *s = malloc(cap);

	cr_assert_not_null(s);
	s[0] = '\0';
	for (int i = from; i < to; i++) {
		int target = i == from ? first_target : i - 1;

		len += (size_t)snprintf(s + len, cap - len,
					"[rule r%d]\nwhen = a.b == %d\nseverity = info\ncause = c\nsource = s\n",
					i, i);
		if (target >= 0)
			len += (size_t)snprintf(s + len, cap - len, "supersedes = r%d\n", target);
		else
			len += (size_t)snprintf(s + len, cap - len, "# first\n");
	}
	snprintf(s + len, cap - len, "%s", extra);
	return s;
}

/* Ids and supersedes targets are looked up through a hash index (the pairwise checks
 * they replaced took about 3 s for this file); what is tested here is that all 20,000 load
 * and are found, not how fast: speed is not asserted in tests. */
Test(parse, twenty_thousand_rules_load_and_are_indexed, .timeout = 10)
{
	struct md_ruleset rs;
	struct md_err err = { 0 };
	char *text = many_rules(0, 20000, -1, "");

	md_ruleset_init(&rs);
	cr_assert_eq(md_rules_load_string(&rs, "t.rules", text, &err), MD_OK, "%s", err.msg);
	cr_expect_eq(rs.n, 20000);
	cr_expect_not_null(md_rules_find(&rs, "r0"));
	cr_expect_not_null(md_rules_find(&rs, "r19999"));
	cr_expect_null(md_rules_find(&rs, "r20000"));
	md_ruleset_cleanup(&rs);
	free(text);
}

Test(parse, id_and_supersedes_mistakes_among_many_rules_name_their_lines, .timeout = 10)
{
	struct md_ruleset rs;
	struct md_err err = { 0 };
	char *text;

	/* A duplicate at the end of one text: rule r5 is at line 31. */
	text = many_rules(0, 20000, -1, "[rule r5]\n");
	md_ruleset_init(&rs);
	cr_expect_eq(md_rules_load_string(&rs, "t.rules", text, &err), MD_EPARSE);
	cr_expect_str_eq(err.msg, "t.rules:120001: duplicate rule id \"r5\" (already defined at t.rules:31)");
	free(text);
	/* Across texts. */
	text = many_rules(0, 10000, -1, "");
	md_err_clear(&err);
	cr_assert_eq(md_rules_load_string(&rs, "one.rules", text, &err), MD_OK, "%s", err.msg);
	free(text);
	text = many_rules(10000, 20000, 9999,
			  "[rule r9999]\nwhen = a.b\nseverity = info\ncause = c\nsource = s\n");
	cr_expect_eq(md_rules_load_string(&rs, "two.rules", text, &err), MD_EPARSE);
	cr_expect_str_eq(err.msg, "two.rules:60001: duplicate rule id \"r9999\" (already defined at one.rules:59995)");
	cr_expect_eq(rs.n, 10000);
	free(text);
	/* An unknown target. */
	text = many_rules(10000, 20000, 9999, "[rule x]\nwhen = a.b\nseverity = info\ncause = c\nsource = s\nsupersedes = r20000\n");
	md_err_clear(&err);
	cr_expect_eq(md_rules_load_string(&rs, "two.rules", text, &err), MD_EPARSE);
	cr_expect_str_eq(err.msg, "two.rules:60006: rule \"x\" supersedes unknown rule \"r20000\" (no rule with that id is loaded)");
	cr_expect_eq(rs.n, 10000);
	free(text);
	md_ruleset_cleanup(&rs);
	/* A cycle through 20,000 rules: r0 supersedes r19999, which leads back to r0. */
	text = many_rules(0, 20000, 19999, "");
	md_ruleset_init(&rs);
	md_err_clear(&err);
	cr_expect_eq(md_rules_load_string(&rs, "t.rules", text, &err), MD_EPARSE);
	cr_expect(strstr(err.msg, ": supersedes cycle: rule \"r"), "%s", err.msg);
	cr_expect_eq(rs.n, 0);
	free(text);
	md_ruleset_cleanup(&rs);
}

Test(parse, rejected_text_takes_back_only_its_own_rules, .timeout = 10)
{
	struct md_ruleset rs;
	struct md_err err = { 0 };

	md_ruleset_init(&rs);
	cr_assert_eq(md_rules_load_string(&rs, "same.rules", OK_RULE, &err), MD_OK, "%s", err.msg);
	cr_assert_eq(md_rules_load_string(&rs, "same.rules", WHEN("a.b") "supersedes = gone\n", &err),
		     MD_EPARSE);
	cr_expect_str_eq(err.msg, "same.rules:6: rule \"r\" supersedes unknown rule \"gone\" (no rule with that id is loaded)");
	cr_expect_eq(rs.n, 1);
	cr_expect_str_eq(rs.v[0]->id, "ok");
	cr_expect_eq(rs.n_files, 1);
	md_ruleset_cleanup(&rs);
}

struct bad_file {
	char name[64];   /* under fixtures/rules/ */
	int line;
	char contains[128];
};

static struct bad_file bad_files[] = {
	{ "bad-unknown-key.rules", 11, "unknown key \"verdict\"" },
	{ "bad-severity.rules", 3, "bad severity \"fatal\"" },
	{ "bad-regex.rules", 3, "bad regular expression \"^SSH-(2\"" },
	{ "bad-shell-remedy.rules", 6, "bad remedy name \"systemctl restart sshd\"" },
	{ "bad-continued-when.rules", 3, "unterminated string" },
	{ "bad-missing-source.rules", 7, "rule \"fixture-no-source\" has no \"source\"" },
};

ParameterizedTestParameters(parse, bad_fixture_file_is_rejected)
{
	return cr_make_param_array(struct bad_file, bad_files, sizeof(bad_files) / sizeof(bad_files[0]));
}

ParameterizedTest(struct bad_file *c, parse, bad_fixture_file_is_rejected, .timeout = 10)
{
	struct md_ruleset rs;
	struct md_err err = { 0 };
	char path[256], prefix[300];

	snprintf(path, sizeof(path), "fixtures/rules/%s", c->name);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, c->line);
	md_ruleset_init(&rs);
	cr_expect_eq(md_rules_load_file(&rs, path, &err), MD_EPARSE, "%s: %s", path, err.msg);
	cr_expect_eq(strncmp(err.msg, prefix, strlen(prefix)), 0, "\"%s\" should start with \"%s\"",
		     err.msg, prefix);
	cr_expect_neq(strstr(err.msg, c->contains), NULL, "\"%s\" lacks \"%s\"", err.msg, c->contains);
	cr_expect_eq(rs.n, 0, "%s: its good rules are not kept either", path);
	md_ruleset_cleanup(&rs);
}

Test(parse, fixture_with_every_key_parses, .timeout = 10)
{
	struct md_ruleset rs;
	struct md_err err = { 0 };
	const struct md_rule *r;

	md_ruleset_init(&rs);
	cr_assert_eq(md_rules_load_file(&rs, "fixtures/rules/good-every-key.rules", &err), MD_OK,
		     "%s", err.msg);
	cr_assert_eq(rs.n, 3);
	r = md_rules_find(&rs, "fixture-refused");
	cr_assert_not_null(r);
	cr_expect_eq(r->severity, MD_SEV_CRITICAL);
	cr_expect_str_eq(r->remedy, "start-fixture");
	cr_expect_str_eq(r->advice[0], "Check that the server runs: `systemctl status fixture`");
	cr_expect_str_eq(r->advice[1], "Check the port; a \"#\" inside quotes is kept");
	r = md_rules_find(&rs, "fixture-refused-2222");
	cr_assert_not_null(r);
	cr_expect_eq(r->line, 16);
	cr_expect_str_eq(r->supersedes[0], "fixture-refused");
	md_ruleset_cleanup(&rs);
}

Test(parse, missing_file_is_not_found, .timeout = 10)
{
	struct md_ruleset rs;
	struct md_err err = { 0 };

	md_ruleset_init(&rs);
	cr_expect_eq(md_rules_load_file(&rs, "fixtures/rules/no-such.rules", &err), MD_ENOTFOUND);
	cr_expect_str_eq(err.msg, "open rule file fixtures/rules/no-such.rules: No such file or directory");
	md_ruleset_cleanup(&rs);
}

Test(parse, nul_byte_is_rejected_with_its_line, .timeout = 10)
{
	char path[] = "/tmp/md-rules-nul-XXXXXX";
	int fd = mkstemp(path);
	struct md_ruleset rs;
	struct md_err err = { 0 };
	static const char text[] = OK_RULE "# x\0y\n";
	char prefix[64];

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	md_ruleset_init(&rs);
	cr_expect_eq(md_rules_load_file(&rs, path, &err), MD_EPARSE);
	snprintf(prefix, sizeof(prefix), "%s:6: NUL byte", path);
	cr_expect_eq(strncmp(err.msg, prefix, strlen(prefix)), 0, "%s", err.msg);
	cr_expect_eq(rs.n, 0);
	md_ruleset_cleanup(&rs);
	unlink(path);
}

/* Every rule file shipped in rules/ must load, alone and as the directory. */
Test(parse, shipped_rule_files_parse, .timeout = 10)
{
	glob_t g;
	struct md_ruleset all;
	struct md_err err = { 0 };

	md_ruleset_init(&all);
	if (glob("rules/*.rules", 0, NULL, &g) != 0) {
		/* None shipped yet: loading the directory must say so, not pass with 0 rules. */
		cr_expect_eq(md_rules_load_dir(&all, "rules", &err), MD_ENOTFOUND, "%s", err.msg);
		md_ruleset_cleanup(&all);
		return;
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct md_ruleset one;
		struct md_err e1 = { 0 };
		int rc;

		md_ruleset_init(&one);
		rc = md_rules_load_file(&one, g.gl_pathv[i], &e1);
		/* A shipped file may supersede rules of another shipped file; only then is
		 * loading it alone allowed to fail. */
		cr_expect(rc == MD_OK || strstr(e1.msg, "supersedes unknown rule"), "%s: %s",
			  g.gl_pathv[i], e1.msg);
		md_ruleset_cleanup(&one);
	}
	cr_expect_eq(md_rules_load_dir(&all, "rules", &err), MD_OK, "rules/: %s", err.msg);
	cr_expect_eq(all.n_files, g.gl_pathc);
	for (size_t i = 0; i < all.n; i++) {
		cr_expect_not_null(all.v[i]->expr, "%s", all.v[i]->id);
		cr_expect_not_null(all.v[i]->source, "%s", all.v[i]->id);
	}
	md_ruleset_cleanup(&all);
	globfree(&g);
}
