/* tailscale_up.c — the remedy tailscale-up: bring the node up on the login server with a
 * pre-auth key (seeds/002, "Mesh connection": `sudo tailscale up --login-server=URL
 * --authkey=KEY`), without the key ever on a command line.
 *
 * For a node in NeedsLogin or NoState, with an expired key, or logged in to another
 * control server: the key (--authkey-file, the secret "auth-key") is written over the
 * session's files to a 0600 file in the user's home, `tailscale up --login-server=URL
 * --auth-key=file:THAT --timeout=SECONDS` (with --force-reauth for an expired key, --reset
 * for another server) runs as root or through passwordless sudo, and the user's shell
 * removes the file whatever happened.  A Stopped node is started with a bare `tailscale
 * up` (its key and settings are kept).  Verified: tailscale.backend_state = Running. */
#include "remedies/remedy.h"

#include "core/hostcmd.h"

#include <stdio.h>
#include <string.h>

#define KEYFILE ".meshdoctor-authkey"
#define UP_TIMEOUT_S 20

/* The login server: --login-server, else the node's own ControlURL. */
static const char *login_of(const struct md_remedy_in *in)
{
	const char *u = in->login_server ? in->login_server
					 : md_facts_str(in->facts, "tailscale.control_url");

	return u && *u ? u : NULL;
}

/* What the state asks of `tailscale up`: 0 nothing, 1 a key, 2 a key and
 * --force-reauth, 3 a key and --reset; -1 a bare `up` (Stopped). */
static int need(const struct md_facts *f)
{
	const char *st = md_facts_str(f, "tailscale.backend_state");
	const struct md_fact *m = md_facts_get(f, "tailscale.control_matches");
	const struct md_fact *x = md_facts_get(f, "tailscale.key_expired");

	if (m && m->type == MD_FACT_BOOL && !m->num)
		return 3;
	if (x && x->type == MD_FACT_BOOL && x->num)
		return 2;
	if (st && (strcmp(st, "NeedsLogin") == 0 || strcmp(st, "NoState") == 0))
		return 1;
	if (st && strcmp(st, "Stopped") == 0)
		return -1;
	return 0;
}

static const char *refusal(const struct md_remedy_in *in, int kind)
{
	const char *os = md_facts_str(in->facts, "host.os");
	const char *sudo = md_facts_str(in->facts, "host.sudo");

	if (!md_facts_str(in->facts, "tailscale.backend_state"))
		return "the tailscale probe did not read the node's state (tailscale.backend_state "
		       "is missing): run `meshdoctor check` on the host to see why";
	if (os && strcmp(os, "windows") == 0)
		return "on Windows the CLI of an SSH session cannot reach the daemon (seeds/001): "
		       "join with the script of the join-script remedy in an interactive session";
	if (kind > 0 && !login_of(in))
		return "no login server: give --login-server URL";
	if (kind > 0 && !in->have_authkey)
		return "no pre-auth key: give --authkey-file FILE (on the Headscale host: `headscale "
		       "preauthkeys create --user USER --reusable --expiration 24h`)";
	if (in->user && strcmp(in->user, "root") != 0 && !(sudo && strcmp(sudo, "nopasswd") == 0))
		return "`tailscale up` needs root: sudo asks for a password here (host.sudo): run "
		       "`meshdoctor prepare` on the host first";
	return NULL;
}

/* sh -c 'SUDO tailscale up ARGS; rc=$?; rm -f KEYFILE; exit $rc'. */
static int up_cmd(const struct md_remedy_in *in, int kind, struct md_buf *cmd)
{
	bool root = in->user && strcmp(in->user, "root") == 0;
	struct md_buf inner, arg;
	int rc;

	md_buf_init(&inner, 0);
	md_buf_init(&arg, 0);
	rc = md_buf_puts(&inner, root ? "tailscale up" : "sudo -n -- tailscale up");
	if (kind > 0) {
		rc |= md_buf_printf(&arg, "--login-server=%s", login_of(in));
		rc |= md_buf_puts(&inner, " ");
		rc |= md_hostcmd_sh_quote(&inner, md_buf_str(&arg));
		rc |= md_buf_printf(&inner, " --auth-key=file:" KEYFILE " --timeout=%ds%s", UP_TIMEOUT_S,
				    kind == 2 ? " --force-reauth" : kind == 3 ? " --reset --force-reauth" : "");
		rc |= md_buf_puts(&inner, "; rc=$?; rm -f " KEYFILE "; exit $rc");
	}
	rc |= md_buf_puts(cmd, "sh -c ");
	rc |= md_hostcmd_sh_quote(cmd, md_buf_str(&inner));
	md_buf_cleanup(&inner);
	md_buf_cleanup(&arg);
	return rc ? MD_ENOMEM : MD_OK;
}

static int tailscale_up_plan(const struct md_remedy_in *in, struct md_plan *p, struct md_err *err)
{
	int kind = need(in->facts);
	const char *why;
	struct md_buf cmd;
	int rc = MD_OK;

	p->verify_probes = "tailscale";
	p->verify_fact = "tailscale.backend_state";
	p->verify_value = "Running";
	if (!kind && md_facts_str(in->facts, "tailscale.backend_state")) {
		snprintf(p->nothing, sizeof(p->nothing), "the node is %s on its control server",
			 md_facts_str(in->facts, "tailscale.backend_state"));
		return MD_OK;
	}
	if ((why = refusal(in, kind))) {
		snprintf(p->refused, sizeof(p->refused), "%s", why);
		return MD_OK;
	}
	md_buf_init(&cmd, 0);
	rc = up_cmd(in, kind, &cmd);
	if (rc == MD_OK && kind > 0)
		rc = md_plan_write_secret(p, "the pre-auth key into a file only the user can read",
					  KEYFILE, "auth-key", 0600);
	if (rc == MD_OK)
		rc = md_plan_run(p, kind > 0 ? "tailscale up on the login server with the key file, "
					       "then remove the file"
					     : "start the stopped node (tailscale up)",
				 md_buf_str(&cmd), NULL);
	md_buf_cleanup(&cmd);
	if (rc != MD_OK)
		return md_err_set(err, MD_ENOMEM, "tailscale-up", "out of memory");
	return MD_OK;
}

static const char *const needs[] = { "tailscale.backend_state", "tailscale.control_url",
				     "tailscale.control_matches", "tailscale.key_expired",
				     "host.os", "host.sudo", NULL };
static const char *const secrets[] = { "auth-key", NULL };

const struct md_remedy remedy_tailscale_up = {
	.name = "tailscale-up",
	.summary = "tailscale up on the login server with a pre-auth key from a file, never argv",
	.needs = needs,
	.secrets = secrets,
	.plan = tailscale_up_plan,
};
