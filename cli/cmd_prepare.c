/* cmd_prepare.c — `meshdoctor prepare TARGET`: passwordless sudo for the SSH user (the
 * remedy prepare-sudo), the step before provisioning.
 *
 * check (ssh and host probes, the session kept) → plan → printed → dry run on a recording
 * session, or: asked on the terminal (--yes: not asked) → the sudo password read (from the
 * terminal without echo, or --password-stdin) → applied over the session → the host probe
 * re-run to verify. */
#include "cli/apply.h"
#include "cli/cli.h"
#include "core/net.h"
#include "remedies/remedy.h"
#include "run/check.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct prepare_args {
	struct md_check_opts co;
	bool password_stdin, sudo_all, dry_run, yes;
};

#define AT(field) offsetof(struct prepare_args, field)
#define GENERAL "options"
#define SSH "SSH options"

static const struct cli_option options[] = {
	{ "dry-run", 'n', NULL, "print the plan and exactly what the host would receive (the "
	  "password shown as a placeholder and not asked for); change nothing", NULL, GENERAL,
	  CO_NONE, cli_set_true, AT(dry_run) },
	{ "yes", 'y', NULL, "apply without asking (needed when there is no terminal to ask on)",
	  NULL, GENERAL, CO_NONE, cli_set_true, AT(yes) },
	{ "password-stdin", 0, NULL, "read the sudo password from the first line of standard "
	  "input instead of the terminal", NULL, GENERAL, CO_NONE, cli_set_true, AT(password_stdin) },
	{ "sudo-all", 0, NULL, "allow every command without a password, not only those "
	  "provisioning runs (tailscale, tailscaled, systemctl, apt-get, install, true)", NULL,
	  GENERAL, CO_NONE, cli_set_true, AT(sudo_all) },
	{ "timeout", 0, "DURATION", "deadline for the check and for each later phase (apply, "
	  "verify): seconds (5, 1.5) or 5s, 2500ms, 2m", "10s", GENERAL, CO_NONE, cli_set_timeout,
	  AT(co.probe.timeout_ms) },
	CLI_OPTION_HELP(GENERAL),
	CLI_TARGET_OPTIONS(struct prepare_args, SSH),
	{ 0 },
};

/* Why the check left no session to act on: the first SSH step that did not succeed. */
static void no_session_reason(const struct md_host_result *res, char *out, size_t len)
{
	static const char *const steps[] = { "ssh.tcp", "ssh.banner", "ssh.kex", "ssh.hostkey",
					     "ssh.auth", NULL };

	for (size_t i = 0; steps[i]; i++) {
		const struct md_fact *f = md_facts_get(&res->facts, steps[i]);
		const char *v = md_facts_str(&res->facts, steps[i]);

		if (f && v && strcmp(v, "ok") != 0 && strcmp(v, "connected") != 0 &&
		    strcmp(v, "match") != 0) {
			snprintf(out, len, "%s = %s%s%s", steps[i], v, f->evidence ? ": " : "",
				 f->evidence ? f->evidence : "");
			return;
		}
	}
	for (size_t i = 0; i < res->n_runs; i++)
		if (res->runs[i].status != MD_OK && res->runs[i].message[0]) {
			snprintf(out, len, "%s", res->runs[i].message);
			return;
		}
	snprintf(out, len, "no SSH session");
}

/* The host probe again, on a new session: did the drop-in take effect? */
static int verify(const char *target, const struct prepare_args *a, const struct md_plan *plan,
		  const struct md_ruleset *rules)
{
	struct md_check_opts co = a->co;
	struct md_host_result res;
	struct md_err err = { 0 };
	const struct md_fact *f;
	int rc = MD_EXIT_OK;

	co.probes = plan->verify_probes;
	co.keep_session = false;
	md_host_result_init(&res);
	if (md_check_run(target, &co, rules, &res, &err) != MD_OK) {
		cli_error("verify: %s", err.msg);
		md_host_result_cleanup(&res);
		return MD_EXIT_UNKNOWN;
	}
	f = md_facts_get(&res.facts, plan->verify_fact);
	if (md_plan_verified(plan, &res.facts)) {
		printf("verified: %s %s %s (%s)\n", plan->verify_fact,
		       plan->verify_differs ? "!=" : "=", plan->verify_value,
		       f && f->evidence ? f->evidence : "");
	} else {
		cli_error("applied, but it did not take effect: %s = %s%s%s", plan->verify_fact,
			  md_facts_str(&res.facts, plan->verify_fact) ?: "(not observed)",
			  f && f->evidence ? ": " : "", f && f->evidence ? f->evidence : "");
		rc = MD_EXIT_CRITICAL;
	}
	md_host_result_cleanup(&res);
	return rc;
}

/* Plans, shows, and applies (or only records, with --dry-run) prepare-sudo. */
static int prepare(const char *target, const struct prepare_args *a, struct md_host_result *res,
		   const struct md_ruleset *rules)
{
	struct md_remedy_in in = { .facts = &res->facts, .user = res->target.user,
				   .sudo_all = a->sudo_all };
	struct cli_secrets sec;
	struct md_plan plan;
	struct md_err err = { 0 };
	size_t with_steps = 0;
	int rc;

	cli_secrets_init(&sec, a->password_stdin, NULL);
	md_plan_init(&plan, "prepare-sudo");
	if (md_remedy_find("prepare-sudo")->plan(&in, &plan, &err) != MD_OK ||
	    cli_show_plans(stdout, &plan, 1, target, &sec, &with_steps) != MD_OK) {
		cli_error("out of memory");
		rc = MD_EXIT_UNKNOWN;
	} else if (plan.refused[0] || !with_steps) {
		rc = plan.refused[0] ? MD_EXIT_CRITICAL : MD_EXIT_OK;
	} else if (a->dry_run) {
		rc = cli_dry_run(stdout, &plan, 1, res->session, &sec);
	} else if ((rc = cli_consent_and_secrets(&plan, 1, with_steps, target, a->yes, &sec))) {
		rc = rc == CLI_DECLINED ? MD_EXIT_OK : rc;
	} else {
		rc = cli_apply_plans(stdout, &plan, 1, res->session, &sec, a->co.probe.timeout_ms);
		cli_secrets_wipe(&sec);
		if (rc == 0) {
			md_session_free(res->session);
			res->session = NULL;
			rc = verify(target, a, &plan, rules);
		}
	}
	cli_secrets_wipe(&sec);
	md_plan_cleanup(&plan);
	return rc;
}

static int prepare_main(int argc, char **argv)
{
	struct prepare_args a = { .co.probe = { .timeout_ms = 10000 } };
	struct md_host_result res;
	struct md_ruleset rules;
	struct md_err err = { 0 };
	char why[1200];
	int rc;

	md_ruleset_init(&rules);
	md_host_result_init(&res);
	rc = cli_parse(&cmd_prepare, argc, argv, &a);
	if (rc != CLI_GO_ON)
		goto out;
	rc = MD_EXIT_USAGE;
	if (optind != argc - 1) {
		cli_error(optind >= argc ? "prepare needs a TARGET: [USER@]HOST[:PORT] (try --help)"
					 : "prepare takes one TARGET, got more (try --help)");
		goto out;
	}
	if (a.dry_run && a.yes) {
		cli_error("--dry-run and --yes exclude each other: give one");
		goto out;
	}
	a.co.probes = "host";
	a.co.keep_session = true;
	if (md_check_run(argv[optind], &a.co, &rules, &res, &err) != MD_OK) {
		cli_error("%s", err.msg);
		rc = err.code == MD_ENOMEM ? MD_EXIT_UNKNOWN : MD_EXIT_USAGE;
		goto out;
	}
	if (!res.session) {
		no_session_reason(&res, why, sizeof(why));
		cli_error("cannot act on %s: %s (`meshdoctor check %s` says why)", argv[optind], why,
			  argv[optind]);
		rc = MD_EXIT_UNKNOWN;
		goto out;
	}
	rc = prepare(argv[optind], &a, &res, &rules);
out:
	md_host_result_cleanup(&res);
	md_ruleset_cleanup(&rules);
	return cli_exit(rc);
}

const struct cli_command cmd_prepare = {
	.name = "prepare",
	.main = prepare_main,
	.summary = "Give the SSH user passwordless sudo on HOST, the step before provisioning",
	.synopsis = "[OPTIONS] TARGET",
	.description =
		"Checks how sudo behaves for the SSH user on TARGET (`sudo -n true`).  When it asks\n"
		"for a password, prints the plan: a sudoers drop-in staged in the user's home over\n"
		"SFTP, checked with `visudo -cf` and installed as /etc/sudoers.d/meshdoctor-USER\n"
		"(root, 0440) through `sudo -S`, the password written to its standard input, never\n"
		"to a command line.  Asks before applying on a terminal (--yes: does not ask), then\n"
		"verifies that `sudo -n true` works.  When sudo already needs no password, nothing\n"
		"is done.  --dry-run prints exactly what the host would receive and changes nothing.",
	.options = options,
	.operands = CO_HOST,
	.exit_codes = true,
};
