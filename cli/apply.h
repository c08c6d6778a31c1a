/* apply.h — applying remedies' plans from a command (`prepare`, `fix`): shown, dry-run,
 * asked for, their secrets read, applied over the check's session.  Prints; returns exit
 * codes (cli.h). */
#ifndef MD_CLI_APPLY_H
#define MD_CLI_APPLY_H

#include "cli/cli.h"
#include "core/session.h"
#include "remedies/remedy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The secrets plans' steps may take, each shown by its placeholder until read. */
#define CLI_MAX_SECRETS 4
struct cli_secrets {
	struct md_secret v[CLI_MAX_SECRETS];
	size_t n;
	bool from_stdin;       /* --password-stdin */
	const char *authkey_file; /* --authkey-file: the auth key's file, or NULL */
	char shown_key[300];   /* "<auth key from FILE>" */
	char buf[CLI_MAX_SECRETS][1024]; /* the values read; wiped by cli_secrets_wipe() */
};

/* The secrets known: the sudo password (asked, or from standard input), the auth key
 * (read from authkey_file when a plan needs it). */
void cli_secrets_init(struct cli_secrets *s, bool from_stdin, const char *authkey_file);
void cli_secrets_wipe(struct cli_secrets *s);

/* Prints each plan to `to` (to stderr when it refuses); *with_steps: how many have steps to
 * apply.  MD_OK or MD_ENOMEM (said). */
int cli_show_plans(FILE *to, const struct md_plan *plans, size_t n, const char *target,
		   const struct cli_secrets *sec, size_t *with_steps);

/* The plans through a recording session: prints what the host would receive.  An exit
 * code. */
int cli_dry_run(FILE *to, const struct md_plan *plans, size_t n, struct md_session *s,
		const struct cli_secrets *sec);

/* Asks on the terminal unless yes, then reads the secrets the plans' steps take.  0 to
 * go on; CLI_DECLINED when the answer was no; else the exit code (said). */
#define CLI_DECLINED (-2)
int cli_consent_and_secrets(const struct md_plan *plans, size_t n, size_t with_steps,
			    const char *target, bool yes, struct cli_secrets *sec);

/* Applies the plans with steps, in order, over s within timeout_ms, and stops at the
 * first failed step (said, with its evidence).  0, or the exit code. */
int cli_apply_plans(FILE *to, const struct md_plan *plans, size_t n, struct md_session *s,
		    const struct cli_secrets *sec, int64_t timeout_ms);

#endif
