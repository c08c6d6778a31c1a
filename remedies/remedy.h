/* remedy.h — remedies: named actions that change a host, as plans of exact steps.
 *
 * A remedy turns a host's facts into a plan (struct md_plan): the steps, each one command
 * or one file write on the host, that make what a rule found wrong right.  The plan is
 * data, so that it can be printed before anything runs, applied through any session
 * (core/session.h) and, for a dry run, applied to a recording session that prints what it
 * is asked and changes nothing (md_session_new_recording()).  A plan that finds nothing
 * to do says why (md_plan.nothing): applying a remedy twice changes nothing the second
 * time.  After applying, the caller re-runs the probes the plan names (verify_probes)
 * and md_plan_verified() says whether the fact it names now has the value it wants.
 *
 * Secrets (a sudo password, an auth key) never enter a step's command or a written file's
 * text that is shown: a step names the secret it writes to the command's standard input,
 * and md_plan_apply() gives the secret's value there, or in a dry run its placeholder
 * (`<sudo password from the terminal>`). */
#ifndef MD_REMEDIES_REMEDY_H
#define MD_REMEDIES_REMEDY_H

#include "core/buf.h"
#include "core/deadline.h"
#include "core/err.h"
#include "core/facts.h"
#include "core/session.h"

#include <stdbool.h>
#include <stddef.h>

enum md_step_kind {
	MD_STEP_RUN,   /* run cmd on the host; it must exit 0 */
	MD_STEP_WRITE, /* write data[0..len) to path with mode, over the session's files (SFTP) */
};

struct md_plan_step {
	enum md_step_kind kind;
	char *what;              /* one line: what the step is for */
	char *cmd;               /* RUN: the command line (never a secret in it) */
	const char *stdin_secret; /* RUN: the secret (md_secret.name) written to its standard
				   * input, followed by a newline; NULL: none */
	char *path;              /* WRITE: where */
	char *data;              /* WRITE: what (never a secret) */
	const char *data_secret; /* WRITE: the secret (md_secret.name) to write instead of
				  * data (a key file, mode 0600); NULL: data */
	size_t len;
	int mode;
};

struct md_plan {
	const char *remedy;      /* the remedy's name */
	struct md_plan_step *v;
	size_t n, cap;
	char nothing[512];       /* set when there is nothing to do: why */
	char refused[512];       /* set when the remedy cannot apply here: why, what to do */
	/* How to tell it worked: the probes to re-run, and the fact and the value they must
	 * then show. */
	const char *verify_probes;
	const char *verify_fact;
	const char *verify_value;
	bool verify_differs;     /* the fact must exist and differ from verify_value */
};

/* A secret a plan's step may need.  shown is what a dry run writes instead. */
struct md_secret {
	const char *name;        /* "sudo-password" */
	const char *shown;       /* "<sudo password from the terminal>" */
	const char *value;       /* NULL in a dry run */
	size_t len;
};

/* What a remedy's plan is made from: the host's facts and the command's options. */
struct md_remedy_in {
	const struct md_facts *facts;
	const char *user;        /* the SSH user the session logged in as */
	bool sudo_all;           /* prepare-sudo: NOPASSWD for every command, not only those
				  * provisioning runs */
	const char *login_server; /* --login-server URL, or NULL */
	bool have_authkey;       /* an auth key was given (--authkey-file): secret "auth-key" */
	const char *install_url; /* install-tailscale: the install script, NULL: the official */
};

#define MD_TAILSCALE_INSTALL_URL "https://tailscale.com/install.sh"

struct md_remedy {
	const char *name;
	const char *summary;     /* one line */
	const char *const *needs; /* facts the plan reads, NULL-ended */
	const char *const *secrets; /* secrets its steps may take, NULL-ended (or NULL) */
	/* Fills plan (md_plan_init()ed by the caller): steps, or nothing / refused.  MD_OK,
	 * MD_ENOMEM; err said. */
	int (*plan)(const struct md_remedy_in *in, struct md_plan *plan, struct md_err *err);
};

/* Every remedy meshdoctor can apply (remedies/registry.c), and one by name (NULL if none). */
extern const struct md_remedy *const md_remedies[];
const struct md_remedy *md_remedy_find(const char *name);

void md_plan_init(struct md_plan *p, const char *remedy);
void md_plan_cleanup(struct md_plan *p);
/* Appends a step.  The strings are copied; data may hold any bytes.  MD_OK, MD_ENOMEM. */
int md_plan_run(struct md_plan *p, const char *what, const char *cmd, const char *stdin_secret);
int md_plan_write(struct md_plan *p, const char *what, const char *path, const char *data,
		  size_t len, int mode);
/* A file whose content is the secret named secret (never in the plan itself). */
int md_plan_write_secret(struct md_plan *p, const char *what, const char *path,
			 const char *secret, int mode);

/* The plan as a numbered list, each step's command or file (mode, size and text) as it
 * will run, the secret it takes by its placeholder; or why there is nothing to do. */
int md_plan_print(const struct md_plan *p, const char *host, const struct md_secret *secrets,
		  size_t n_secrets, struct md_buf *out);

/* What became of applying a plan. */
struct md_apply_result {
	size_t done;             /* steps that completed */
	size_t failed;           /* 1-based index of the step that failed, 0: none */
	char evidence[1024];     /* the failed step's exit status and output, or error */
};

/* Applies the steps in order through s, each before dl, and stops at the first that
 * fails (a command that exits non-zero, a write refused) with its evidence in *res.
 * Each step's secret comes from secrets by name: its value, or its placeholder when the
 * value is NULL (a dry run on a recording session).  MD_OK when every step completed;
 * MD_EIO (a step failed: res says which and why), MD_EINVAL (a step wants a secret that
 * was not given), MD_ENOMEM. */
int md_plan_apply(const struct md_plan *p, struct md_session *s, const struct md_secret *secrets,
		  size_t n_secrets, const struct md_deadline *dl, struct md_apply_result *res,
		  struct md_err *err);

/* True when facts (of the verifying re-run) show verify_fact = verify_value (or, with
 * verify_differs, any other value). */
bool md_plan_verified(const struct md_plan *p, const struct md_facts *facts);

/* ---- A recording session, for dry runs ---- */
/* A session that runs nothing: each command (and what its standard input would get) and
 * each file write (path, mode and text) is appended to log, numbered, and answered with
 * exit status 0 and no output.  os as md_session_set_os().  NULL with err set when out of
 * memory.  log must outlive the session. */
struct md_session *md_session_new_recording(const char *peer, const char *os, struct md_buf *log,
					    struct md_err *err);

#endif
