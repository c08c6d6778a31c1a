/* cmd_prepare.c — `meshdoctor prepare TARGET`: passwordless sudo for the SSH user (the
 * remedy prepare-sudo), the step before provisioning.
 *
 * check (ssh and host probes, the session kept) → plan → printed → dry run on a recording
 * session, or: asked on the terminal (--yes: not asked) → the sudo password read (from the
 * terminal without echo, or --password-stdin) → applied over the session → the host probe
 * re-run to verify. */
#include "cli/cli.h"
#include "core/net.h"
#include "remedies/remedy.h"
#include "run/check.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PASSWORD_MAX 1024

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

/* The plan's steps as the host would receive them, through a recording session. */
static int dry_run(const struct md_plan *plan, const struct md_host_result *res,
		   const struct md_secret *sec)
{
	struct md_buf log;
	struct md_err err = { 0 };
	struct md_apply_result ar;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 1000);
	struct md_session *rec;
	int rc = MD_EXIT_OK;

	md_buf_init(&log, 0);
	rec = md_session_new_recording(md_session_peer(res->session), md_session_os(res->session),
				       &log, &err);
	if (!rec || md_plan_apply(plan, rec, sec, 1, &dl, &ar, &err) != MD_OK) {
		cli_error("dry run: %s", err.msg);
		rc = MD_EXIT_UNKNOWN;
	} else {
		printf("\nDry run: nothing was changed.  What %s would receive:\n%s",
		       md_session_peer(res->session), md_buf_str(&log));
	}
	md_session_free(rec);
	md_buf_cleanup(&log);
	return rc;
}

/* Asks before acting (unless --yes) and reads the password.  0 to go on, else the exit
 * code. */
static int consent_and_password(const struct prepare_args *a, const char *target,
				const struct md_plan *plan, char *pw, size_t pw_n, int *pw_len)
{
	char q[512], prompt[300];

	if (!a->yes) {
		int c;

		snprintf(q, sizeof(q), "Apply these %zu steps to %s?", plan->n, target);
		c = cli_confirm(q);
		if (c < 0) {
			cli_error("no terminal to ask on: give --yes to apply, or --dry-run to see "
				  "what would be done");
			return MD_EXIT_USAGE;
		}
		if (c == 0) {
			fprintf(stderr, "meshdoctor: nothing done\n");
			return MD_EXIT_OK;
		}
	}
	snprintf(prompt, sizeof(prompt), "[sudo] password for %s: ", target);
	*pw_len = a->password_stdin ? cli_read_secret_stdin(pw, pw_n)
				    : cli_read_secret_tty(prompt, pw, pw_n);
	if (*pw_len < 0) {
		cli_error(a->password_stdin ? "--password-stdin: no password on standard input (one "
					      "line, at most %d bytes)"
					    : "no terminal to read the sudo password from: give "
					      "--password-stdin (at most %d bytes)", PASSWORD_MAX - 1);
		return MD_EXIT_USAGE;
	}
	return 0;
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
		printf("verified: %s = %s (%s)\n", plan->verify_fact, plan->verify_value,
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
	struct md_secret sec = { .name = "sudo-password",
				 .shown = "<sudo password from the terminal>" };
	struct md_plan plan;
	struct md_buf shown;
	struct md_err err = { 0 };
	struct md_apply_result ar;
	struct md_deadline dl;
	char pw[PASSWORD_MAX];
	int rc, pw_len = 0;

	if (a->password_stdin)
		sec.shown = "<sudo password from standard input>";
	md_plan_init(&plan, "prepare-sudo");
	md_buf_init(&shown, 0);
	rc = md_remedy_find("prepare-sudo")->plan(&in, &plan, &err);
	if (rc == MD_OK)
		rc = md_plan_print(&plan, target, &sec, 1, &shown);
	if (rc != MD_OK) {
		cli_error("%s", rc == MD_ENOMEM ? "out of memory" : err.msg);
		rc = MD_EXIT_UNKNOWN;
		goto out;
	}
	fputs(md_buf_str(&shown), plan.refused[0] ? stderr : stdout);
	if (plan.refused[0] || !plan.n) {
		rc = plan.refused[0] ? MD_EXIT_CRITICAL : MD_EXIT_OK;
		goto out;
	}
	if (a->dry_run) {
		rc = dry_run(&plan, res, &sec);
		goto out;
	}
	rc = consent_and_password(a, target, &plan, pw, sizeof(pw), &pw_len);
	if (rc != 0 || pw_len < 0)
		goto out;
	sec.value = pw;
	sec.len = (size_t)pw_len;
	dl = md_deadline_after(md_now_ms(), a->co.probe.timeout_ms);
	rc = md_plan_apply(&plan, res->session, &sec, 1, &dl, &ar, &err);
	OPENSSL_cleanse(pw, sizeof(pw));
	if (rc != MD_OK) {
		cli_error("%s; stopped there (%zu of %zu steps done)", err.msg, ar.done, plan.n);
		rc = rc == MD_ENOMEM ? MD_EXIT_UNKNOWN : MD_EXIT_CRITICAL;
		goto out;
	}
	printf("applied: %zu of %zu steps\n", ar.done, plan.n);
	md_session_free(res->session);
	res->session = NULL;
	rc = verify(target, a, &plan, rules);
out:
	md_buf_cleanup(&shown);
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
	if (md_net_pending_lookups() > 0) {
		fflush(NULL);
		_exit(rc);
	}
	return rc;
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
