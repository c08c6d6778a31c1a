/* cmd_fix.c — `meshdoctor fix TARGET`: check, the findings' remedies that meshdoctor
 * applies as plans, shown, dry-run or asked for and applied, then the check again: the
 * host after, and what changed from before.
 *
 * A finding whose remedy meshdoctor does not apply is listed as advice only; a remedy
 * named by several findings is planned once.  The exit code is the verdict of the check
 * after (before, with --dry-run), or 2 when a step failed. */
#include "cli/apply.h"
#include "cli/cli.h"
#include "core/net.h"
#include "remedies/remedy.h"
#include "report/report.h"
#include "run/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PLANS 16

struct fix_args {
	struct md_check_opts co;
	const char *json_path, *rules_opt, *authkey_file, *install_url;
	int64_t apply_ms;
	bool password_stdin, sudo_all, dry_run, yes;
};

#define AT(field) offsetof(struct fix_args, field)
#define GENERAL "options"
#define SSH "SSH options"

static int set_output(const struct cli_option *o, void *dst, const char *arg)
{
	if (cli_check_output_path("--json", arg))
		return -1;
	return cli_set_string(o, dst, arg);
}

static const struct cli_option options[] = {
	{ "dry-run", 'n', NULL, "print the plans and exactly what the host would receive "
	  "(secrets as placeholders, not asked for); change nothing", NULL, GENERAL, CO_NONE,
	  cli_set_true, AT(dry_run) },
	{ "yes", 'y', NULL, "apply without asking (needed when there is no terminal to ask on)",
	  NULL, GENERAL, CO_NONE, cli_set_true, AT(yes) },
	{ "password-stdin", 0, NULL, "read the sudo password, when a plan needs it, from the "
	  "first line of standard input instead of the terminal", NULL, GENERAL, CO_NONE,
	  cli_set_true, AT(password_stdin) },
	{ "sudo-all", 0, NULL, "prepare-sudo: allow every command without a password", NULL,
	  GENERAL, CO_NONE, cli_set_true, AT(sudo_all) },
	{ "authkey-file", 0, "FILE", "tailscale-up: the pre-auth key, on the first line of FILE "
	  "(written to the host over SFTP, 0600, removed after; never on a command line)", NULL,
	  GENERAL, CO_FILE, cli_set_readable, AT(authkey_file) },
	{ "login-server", 0, "URL", "the login (Headscale) server the node must be on, e.g. "
	  "http://sfspark1.local:8080", "the node's ControlURL", GENERAL, CO_NONE,
	  cli_set_login_server, AT(co.probe.login_server) },
	{ "install-url", 0, "URL", "install-tailscale: the install script to fetch on the host "
	  "(a mirror's)", MD_TAILSCALE_INSTALL_URL, GENERAL, CO_NONE, cli_set_string,
	  AT(install_url) },
	{ "apply-timeout", 0, "DURATION", "deadline for applying the plans (tailscale up alone "
	  "may wait 20 s)", "60s", GENERAL, CO_NONE, cli_set_timeout, AT(apply_ms) },
	{ "json", 0, "FILE", "write {before, after} as JSON to FILE ('-': standard output, "
	  "instead of the text)", NULL, GENERAL, CO_FILE, set_output, AT(json_path) },
	{ "probes", 0, "LIST", "check with only these probes, comma-separated (and what they "
	  "need)", NULL, GENERAL, CO_PROBES, cli_set_string, AT(co.probes) },
	{ "timeout", 0, "DURATION", "deadline for each check and for applying: seconds (5, "
	  "1.5) or 5s, 2500ms, 2m", "10s", GENERAL, CO_NONE, cli_set_timeout,
	  AT(co.probe.timeout_ms) },
	{ "rules", 0, "DIR", "load rule files from DIR instead of the installed rules", NULL,
	  GENERAL, CO_DIR, cli_set_string, AT(rules_opt) },
	CLI_OPTION_HELP(GENERAL),
	CLI_TARGET_OPTIONS(struct fix_args, SSH),
	{ 0 },
};

/* Plans rule r's remedy into plans[*n] unless it is planned already.  -1 (said) when
 * the remedy failed; 1 when r's remedy is not one meshdoctor applies; else 0. */
static int plan_rule(FILE *to, const struct md_rule *r, const struct md_remedy_in *in,
		     struct md_plan *plans, int *n)
{
	const struct md_remedy *m = r->remedy ? md_remedy_find(r->remedy) : NULL;
	struct md_err err = { 0 };

	if (!m)
		return 1;
	for (int k = 0; k < *n; k++)
		if (strcmp(plans[k].remedy, m->name) == 0)
			return 0;
	if (*n == MAX_PLANS)
		return 0;
	md_plan_init(&plans[*n], m->name);
	if (m->plan(in, &plans[*n], &err) != MD_OK) {
		md_plan_cleanup(&plans[*n]);
		fprintf(to, "%s: %s\n", m->name, err.msg);
		return -1;
	}
	(*n)++;
	return 0;
}

/* The plans of the findings' remedies meshdoctor applies, each remedy once, in the
 * findings' order; the others are listed as advice only.  A finding that a more specific
 * one replaced still brings its remedy when that one's is advice only (NeedsLogin on
 * Headscale: registering the node is advice, `tailscale up` with a key is applied).  The
 * count, or -1 (said). */
static int make_plans(FILE *to, const struct md_host_result *res, const struct fix_args *a,
		      struct md_plan *plans)
{
	struct md_remedy_in in = { .facts = &res->facts, .user = res->target.user,
				   .sudo_all = a->sudo_all, .login_server = a->co.probe.login_server,
				   .have_authkey = a->authkey_file != NULL,
				   .install_url = a->install_url };
	int n = 0, rc;

	for (size_t i = 0; i < res->eval.n_findings; i++) {
		const struct md_rule *r = res->eval.findings[i].rule;

		if ((rc = plan_rule(to, r, &in, plans, &n)) < 0)
			return -1;
		if (rc == 1)
			fprintf(to, "%s: advice only%s%s (see the finding below)\n", r->id,
				r->remedy ? ", remedy " : "", r->remedy ? r->remedy : "");
	}
	for (size_t i = 0; i < res->eval.n_path; i++)
		if (res->eval.path[i].result == MD_RULE_SUPERSEDED &&
		    plan_rule(to, res->eval.path[i].rule, &in, plans, &n) < 0)
			return -1;
	return n;
}

static bool has_finding(const struct md_host_result *res, const char *id)
{
	for (size_t i = 0; i < res->eval.n_findings; i++)
		if (strcmp(res->eval.findings[i].rule->id, id) == 0)
			return true;
	return false;
}

/* Before → after: each finding of before, fixed or still there; new ones. */
static void print_changes(const struct md_host_result *before, const struct md_host_result *after)
{
	printf("\nbefore → after:\n");
	for (size_t i = 0; i < before->eval.n_findings; i++) {
		const char *id = before->eval.findings[i].rule->id;

		printf("  %-6s %s\n", has_finding(after, id) ? "still" : "fixed", id);
	}
	for (size_t i = 0; i < after->eval.n_findings; i++) {
		const char *id = after->eval.findings[i].rule->id;

		if (!has_finding(before, id))
			printf("  %-6s %s\n", "new", id);
	}
}

/* The after report as text (or both as JSON); the exit code: after's verdict. */
static int output(const struct fix_args *a, const struct md_host_result *before,
		  const struct md_host_result *after, const struct md_ruleset *rules,
		  const char *rules_dir)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *b = cli_report_of(before, rules, rules_dir, false);
	cJSON *f = cli_report_of(after, rules, rules_dir, false);
	struct md_buf buf;
	int rc = (int)after->verdict;

	md_buf_init(&buf, 0);
	if (!doc || !b || !f || !cJSON_AddStringToObject(doc, "schema", "meshdoctor/fix/v1")) {
		cJSON_Delete(b);
		cJSON_Delete(f);
		rc = MD_EXIT_UNKNOWN;
		cli_error("out of memory building the report");
		goto out;
	}
	cJSON_AddItemToObject(doc, "before", b);
	cJSON_AddItemToObject(doc, "after", f);
	if (a->json_path && (md_report_json_text(doc, &buf) != MD_OK ||
			     cli_write_output(a->json_path, &buf) != 0))
		rc = MD_EXIT_UNKNOWN;
	if (!(a->json_path && cli_output_fd(a->json_path) == STDOUT_FILENO)) {
		struct md_text_opts to = { .color = cli_use_color(STDOUT_FILENO) };

		md_buf_reset(&buf);
		if (after != before)
			print_changes(before, after);
		if (md_report_text(f, &to, &buf) != MD_OK || cli_write_output("-", &buf) != 0)
			rc = MD_EXIT_UNKNOWN;
	}
out:
	md_buf_cleanup(&buf);
	cJSON_Delete(doc);
	return rc;
}

/* Each applied plan's verification, in the facts of the check after: said for each.
 * False when one did not take effect. */
static bool verified(FILE *to, const struct md_plan *plans, size_t n,
		     const struct md_host_result *after)
{
	bool all = true;

	for (size_t i = 0; i < n; i++) {
		const char *v;

		if (plans[i].refused[0] || !plans[i].n || !plans[i].verify_fact)
			continue;
		v = md_facts_str(&after->facts, plans[i].verify_fact);
		if (md_plan_verified(&plans[i], &after->facts)) {
			fprintf(to, "%s: verified: %s %s %s\n", plans[i].remedy, plans[i].verify_fact,
				plans[i].verify_differs ? "!=" : "=", plans[i].verify_value);
		} else {
			cli_error("%s: applied, but it did not take effect: %s = %s (wanted %s%s)",
				  plans[i].remedy, plans[i].verify_fact, v ? v : "(not observed)",
				  plans[i].verify_differs ? "other than " : "", plans[i].verify_value);
			all = false;
		}
	}
	return all;
}

/* Plans from before, shown; dry-run, or asked for, applied, and checked again into
 * after.  The exit code. */
static int fix(const char *target, const struct fix_args *a, struct md_host_result *before,
	       struct md_host_result *after, const struct md_ruleset *rules, const char *rules_dir)
{
	struct md_plan plans[MAX_PLANS];
	struct cli_secrets sec;
	struct md_err err = { 0 };
	struct md_check_opts co = a->co;
	/* The JSON on standard output: everything else to standard error. */
	FILE *to = a->json_path && cli_output_fd(a->json_path) == STDOUT_FILENO ? stderr : stdout;
	size_t with_steps = 0;
	int n = make_plans(to, before, a, plans), rc;

	if (n < 0)
		return MD_EXIT_UNKNOWN;
	cli_secrets_init(&sec, a->password_stdin, a->authkey_file);
	if (cli_show_plans(to, plans, (size_t)n, target, &sec, &with_steps) != MD_OK) {
		rc = MD_EXIT_UNKNOWN;
	} else if (!with_steps) {
		fprintf(to, "%s: nothing meshdoctor can apply\n", target);
		rc = output(a, before, before, rules, rules_dir);
	} else if (a->dry_run) {
		rc = cli_dry_run(to, plans, (size_t)n, before->session, &sec);
		if (rc == MD_EXIT_OK)
			rc = (int)before->verdict;
	} else if ((rc = cli_consent_and_secrets(plans, (size_t)n, with_steps, target, a->yes,
						 &sec))) {
		rc = rc == CLI_DECLINED ? (int)before->verdict : rc;
	} else if ((rc = cli_apply_plans(to, plans, (size_t)n, before->session, &sec,
					 a->apply_ms)) == 0) {
		md_session_free(before->session);
		before->session = NULL;
		co.keep_session = false;
		if (md_check_run(target, &co, rules, after, &err) != MD_OK) {
			cli_error("the check after: %s", err.msg);
			rc = MD_EXIT_UNKNOWN;
		} else {
			rc = output(a, before, after, rules, rules_dir);
			if (!verified(to, plans, (size_t)n, after))
				rc = MD_EXIT_CRITICAL;
		}
	}
	cli_secrets_wipe(&sec);
	for (int i = 0; i < n; i++)
		md_plan_cleanup(&plans[i]);
	return rc;
}

static int fix_main(int argc, char **argv)
{
	struct fix_args a = { .co.probe = { .timeout_ms = 10000, .capture_seconds = 3 },
			      .apply_ms = 60000 };
	struct md_host_result before, after;
	struct md_ruleset rules;
	struct md_err err = { 0 };
	const char *rules_dir = NULL;
	int rc;

	md_ruleset_init(&rules);
	md_host_result_init(&before);
	md_host_result_init(&after);
	rc = cli_parse(&cmd_fix, argc, argv, &a);
	if (rc != CLI_GO_ON)
		goto out;
	rc = MD_EXIT_USAGE;
	if (optind != argc - 1) {
		cli_error(optind >= argc ? "fix needs a TARGET: [USER@]HOST[:PORT] (try --help)"
					 : "fix takes one TARGET, got more (try --help)");
		goto out;
	}
	if (a.dry_run && a.yes) {
		cli_error("--dry-run and --yes exclude each other: give one");
		goto out;
	}
	if (cli_load_rules(a.rules_opt, &rules, &rules_dir))
		goto out;
	a.co.keep_session = true;
	if (md_check_run(argv[optind], &a.co, &rules, &before, &err) != MD_OK) {
		cli_error("%s", err.msg);
		rc = err.code == MD_ENOMEM ? MD_EXIT_UNKNOWN : MD_EXIT_USAGE;
		goto out;
	}
	rc = fix(argv[optind], &a, &before, &after, &rules, rules_dir);
out:
	md_host_result_cleanup(&before);
	md_host_result_cleanup(&after);
	md_ruleset_cleanup(&rules);
	return cli_exit(rc);
}

const struct cli_command cmd_fix = {
	.name = "fix",
	.main = fix_main,
	.summary = "Check HOST, apply the remedies meshdoctor knows for its findings, check again",
	.synopsis = "[OPTIONS] TARGET",
	.description =
		"Runs the check of TARGET, then, for each finding whose remedy meshdoctor applies\n"
		"(`meshdoctor rules` marks them), makes the remedy's plan: the exact commands and\n"
		"files, printed before anything runs.  Findings whose remedy is advice only are\n"
		"listed as such.  Asks on a terminal (--yes: does not ask), reads the secrets the\n"
		"steps take, applies the plans in order over the check's SSH session and stops at\n"
		"the first failed step with its evidence; then checks again and prints the host\n"
		"after, with each finding before marked fixed or still there.  --dry-run prints\n"
		"exactly what the host would receive and changes nothing.  The exit code is the\n"
		"check's after (before, with --dry-run).",
	.options = options,
	.operands = CO_HOST,
	.exit_codes = true,
};
