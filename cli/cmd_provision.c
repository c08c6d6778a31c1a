/* cmd_provision.c — `meshdoctor provision TARGET --login-server URL --authkey-file F`:
 * the seeds' provisioning sequence (seeds/002: SSH test, OS detection, install, connect,
 * verify) as remedies, each planned from what a fresh check of the host shows:
 *   prepare-sudo → install-tailscale → start-tailscaled → tailscale-up
 * A step with nothing to do is said and skipped, so provisioning a host already on the
 * mesh changes nothing.  It stops at the first step that cannot apply or fails, with its
 * evidence; at the end the node must be Running with a Tailscale address. */
#include "cli/apply.h"
#include "cli/cli.h"
#include "core/net.h"
#include "remedies/remedy.h"
#include "run/check.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct provision_args {
	struct md_check_opts co;
	const char *authkey_file, *install_url;
	int64_t apply_ms;
	bool password_stdin, sudo_all, dry_run, yes;
};

#define AT(field) offsetof(struct provision_args, field)
/* step(): stop here with exit 0 (a dry run, or the answer was no). */
#define STOP_OK (-100)
#define GENERAL "options"
#define SSH "SSH options"

static const char *const sequence[] = { "prepare-sudo", "install-tailscale", "start-tailscaled",
					"tailscale-up", NULL };

static const struct cli_option options[] = {
	{ "login-server", 0, "URL", "the login (Headscale) server to join, e.g. "
	  "http://sfspark1.local:8080 (required)", NULL, GENERAL, CO_NONE, cli_set_login_server,
	  AT(co.probe.login_server) },
	{ "authkey-file", 0, "FILE", "the pre-auth key, on the first line of FILE (written to the "
	  "host over SFTP, 0600, removed after; never on a command line)", NULL, GENERAL, CO_FILE,
	  cli_set_readable, AT(authkey_file) },
	{ "install-url", 0, "URL", "the Tailscale install script to fetch on the host (a mirror's)",
	  MD_TAILSCALE_INSTALL_URL, GENERAL, CO_NONE, cli_set_string, AT(install_url) },
	{ "dry-run", 'n', NULL, "print the first step's plan and what the host would receive; "
	  "change nothing (later steps are planned from the host once it has changed)", NULL,
	  GENERAL, CO_NONE, cli_set_true, AT(dry_run) },
	{ "yes", 'y', NULL, "apply without asking", NULL, GENERAL, CO_NONE, cli_set_true, AT(yes) },
	{ "password-stdin", 0, NULL, "prepare-sudo: read the sudo password from standard input",
	  NULL, GENERAL, CO_NONE, cli_set_true, AT(password_stdin) },
	{ "sudo-all", 0, NULL, "prepare-sudo: allow every command without a password", NULL,
	  GENERAL, CO_NONE, cli_set_true, AT(sudo_all) },
	{ "timeout", 0, "DURATION", "deadline for each check of the host", "10s", GENERAL, CO_NONE,
	  cli_set_timeout, AT(co.probe.timeout_ms) },
	{ "apply-timeout", 0, "DURATION", "deadline for applying each step", "120s", GENERAL,
	  CO_NONE, cli_set_timeout, AT(apply_ms) },
	CLI_OPTION_HELP(GENERAL),
	CLI_TARGET_OPTIONS(struct provision_args, SSH),
	{ 0 },
};

/* The host as it is now, the session kept.  0, or the exit code (said). */
static int look(const char *target, const struct provision_args *a, const struct md_ruleset *rules,
		struct md_host_result *res)
{
	struct md_check_opts co = a->co;
	struct md_err err = { 0 };

	co.probes = "ssh,host,tailscale";
	co.keep_session = true;
	md_host_result_cleanup(res);
	md_host_result_init(res);
	if (md_check_run(target, &co, rules, res, &err) != MD_OK) {
		cli_error("%s", err.msg);
		return err.code == MD_ENOMEM ? MD_EXIT_UNKNOWN : MD_EXIT_USAGE;
	}
	if (!res->session) {
		const char *auth = md_facts_str(&res->facts, "ssh.auth");
		const char *tcp = md_facts_str(&res->facts, "ssh.tcp");

		cli_error("cannot provision %s: no SSH session (ssh.tcp = %s, ssh.auth = %s; "
			  "`meshdoctor check %s` says why)", target, tcp ? tcp : "-",
			  auth ? auth : "-", target);
		return MD_EXIT_UNKNOWN;
	}
	return 0;
}

/* One step: planned from res, shown, dry-run or applied (*applied then set: the host
 * changed).  0 to go on, STOP_OK to stop with exit 0 (a dry run, a no), else the exit
 * code. */
static int step(size_t i, const char *target, const struct provision_args *a,
		struct md_host_result *res, struct cli_secrets *sec, bool *asked, bool *applied)
{
	const struct md_remedy *m = md_remedy_find(sequence[i]);
	struct md_remedy_in in = { .facts = &res->facts, .user = res->target.user,
				   .sudo_all = a->sudo_all, .login_server = a->co.probe.login_server,
				   .have_authkey = a->authkey_file != NULL,
				   .install_url = a->install_url };
	struct md_plan plan;
	struct md_err err = { 0 };
	size_t with_steps = 0;
	int rc = 0;

	md_plan_init(&plan, m->name);
	fprintf(stderr, "[%zu/4] ", i + 1);
	if (m->plan(&in, &plan, &err) != MD_OK ||
	    cli_show_plans(stderr, &plan, 1, target, sec, &with_steps) != MD_OK) {
		rc = MD_EXIT_UNKNOWN;
	} else if (plan.refused[0]) {
		rc = MD_EXIT_CRITICAL;
	} else if (!with_steps) {
		rc = 0;
	} else if (a->dry_run) {
		rc = cli_dry_run(stderr, &plan, 1, res->session, sec);
		fprintf(stderr, "The steps after it are planned from the host once this one is "
			"applied.\n");
		rc = rc == MD_EXIT_OK ? STOP_OK : rc;
	} else if ((rc = cli_consent_and_secrets(&plan, 1, with_steps, target, a->yes || *asked,
						 sec))) {
		rc = rc == CLI_DECLINED ? STOP_OK : rc;
	} else {
		*asked = true;
		rc = cli_apply_plans(stderr, &plan, 1, res->session, sec, a->apply_ms);
		*applied = rc == 0;
	}
	md_plan_cleanup(&plan);
	return rc;
}

/* The end: Running on the login server, with an address. */
static int verify_joined(const char *target, const struct md_host_result *res)
{
	const char *st = md_facts_str(&res->facts, "tailscale.backend_state");
	const char *ips = md_facts_str(&res->facts, "tailscale.ips");

	if (st && strcmp(st, "Running") == 0 && ips && *ips) {
		printf("provisioned: %s is Running on %s with %s\n", target,
		       md_facts_str(&res->facts, "tailscale.control_url") ?: "its control server", ips);
		return MD_EXIT_OK;
	}
	cli_error("%s is not on the mesh after provisioning: tailscale.backend_state = %s, "
		  "tailscale.ips = %s", target, st ? st : "(not observed)", ips && *ips ? ips : "none");
	return MD_EXIT_CRITICAL;
}

static int provision(const char *target, const struct provision_args *a,
		     const struct md_ruleset *rules)
{
	struct md_host_result res;
	struct cli_secrets sec;
	bool asked = false, stale = true; /* stale: the host changed since it was looked at */
	int rc = 0;

	md_host_result_init(&res);
	cli_secrets_init(&sec, a->password_stdin, a->authkey_file);
	for (size_t i = 0; sequence[i] && rc == 0; i++) {
		if (stale && (rc = look(target, a, rules, &res)) != 0)
			break;
		stale = false;
		rc = step(i, target, a, &res, &sec, &asked, &stale);
	}
	cli_secrets_wipe(&sec);
	if (rc == STOP_OK) {
		rc = MD_EXIT_OK;
	} else if (rc == 0) {
		if (stale)
			rc = look(target, a, rules, &res);
		if (rc == 0)
			rc = verify_joined(target, &res);
	}
	md_host_result_cleanup(&res);
	return rc;
}

static int provision_main(int argc, char **argv)
{
	struct provision_args a = { .co.probe = { .timeout_ms = 10000 }, .apply_ms = 120000 };
	struct md_ruleset rules;
	int rc;

	md_ruleset_init(&rules);
	rc = cli_parse(&cmd_provision, argc, argv, &a);
	if (rc != CLI_GO_ON)
		goto out;
	rc = MD_EXIT_USAGE;
	if (optind != argc - 1) {
		cli_error(optind >= argc ? "provision needs a TARGET: [USER@]HOST[:PORT] (try --help)"
					 : "provision takes one TARGET, got more (try --help)");
		goto out;
	}
	if (!a.co.probe.login_server) {
		cli_error("provision needs --login-server URL: the Headscale server to join");
		goto out;
	}
	if (a.dry_run && a.yes) {
		cli_error("--dry-run and --yes exclude each other: give one");
		goto out;
	}
	rc = provision(argv[optind], &a, &rules);
out:
	md_ruleset_cleanup(&rules);
	return cli_exit(rc);
}

const struct cli_command cmd_provision = {
	.name = "provision",
	.main = provision_main,
	.summary = "Join HOST to the mesh: sudo, install Tailscale, start it, log in with a key",
	.synopsis = "[OPTIONS] --login-server URL --authkey-file FILE TARGET",
	.description =
		"The provisioning sequence, each step planned from a fresh check of TARGET and\n"
		"skipped when there is nothing to do: prepare-sudo (passwordless sudo, for a user\n"
		"other than root), install-tailscale (the install script, downloaded then run),\n"
		"start-tailscaled, tailscale-up (the pre-auth key of --authkey-file written to a\n"
		"0600 file, never on a command line).  Each plan is printed before it runs; on a\n"
		"terminal meshdoctor asks once (--yes: does not ask).  It stops at the first step\n"
		"that cannot apply or fails, with its evidence, and ends by checking that the node\n"
		"is Running with a Tailscale address.  A host already on the mesh is left as it\n"
		"is.  Progress goes to standard error.",
	.options = options,
	.operands = CO_HOST,
	.exit_codes = true,
};
