/* prepare_sudo.c — the remedy prepare-sudo: passwordless sudo for the SSH user, so that
 * provisioning can run its commands non-interactively (seeds/001 and 002: `mesh remote
 * prepare` before `provision`).
 *
 * When `sudo -n true` says a password is required (host.sudo = "password"), the plan is:
 *   1. write a sudoers drop-in to the user's home over the session's files (SFTP), 0600;
 *   2. as root through `sudo -S` (the password on the command's standard input, never in
 *      its arguments): `visudo -cf` it, and only when it parses install it as
 *      /etc/sudoers.d/meshdoctor-USER, root-owned and 0440; then the user removes the
 *      staged copy whatever happened;
 * then the host probe is re-run and must show host.sudo = "nopasswd".  With host.sudo
 * already "nopasswd" there is nothing to do.  The drop-in allows the commands
 * provisioning runs (MESHDOCTOR_CMDS below), or every command with sudo_all. */
#include "remedies/remedy.h"

#include "core/hostcmd.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* What provisioning runs as root: the probe's own `sudo -n true`, the Tailscale CLI and
 * daemon, the service manager, the package manager, and `install` for files. */
#define MESHDOCTOR_CMDS                                                                   \
	"/usr/bin/true, /bin/true, /usr/bin/tailscale, /usr/sbin/tailscaled, "            \
	"/usr/local/bin/tailscale, /usr/bin/systemctl, /bin/systemctl, /usr/bin/apt-get, " \
	"/usr/bin/install"

#define STAGED ".meshdoctor-sudoers.new"

/* A user name sudoers takes as it is and a file name sudo reads: POSIX portable names
 * (letters, digits, '.', '_', '-', not starting with '-'). */
static bool plain_user(const char *u)
{
	if (!u || !*u || *u == '-' || strlen(u) > 64)
		return false;
	for (; *u; u++)
		if (!isalnum((unsigned char)*u) && *u != '.' && *u != '_' && *u != '-')
			return false;
	return true;
}

/* sudo skips files in /etc/sudoers.d whose names contain '.' (sudoers(5), #includedir):
 * the user's '.' becomes '_' in the drop-in's name.  Cmnd_Alias names are upper case. */
static void names_for(const char *user, char *file, size_t file_n, char *alias, size_t alias_n)
{
	size_t i = 0;

	snprintf(file, file_n, "/etc/sudoers.d/meshdoctor-%s", user);
	for (char *p = file + strlen("/etc/sudoers.d/"); *p; p++)
		if (*p == '.')
			*p = '_';
	i = (size_t)snprintf(alias, alias_n, "MESHDOCTOR_");
	for (; *user && i + 1 < alias_n; user++)
		alias[i++] = isalnum((unsigned char)*user) ? (char)toupper((unsigned char)*user) : '_';
	alias[i] = '\0';
}

/* Why a plan cannot be made from host.sudo = v, and what to do instead; NULL: it can. */
static const char *refusal(const char *v, const char *os)
{
	if (os && strcmp(os, "windows") == 0)
		return "the host runs Windows: sudo does not apply (provisioning uses an "
		       "administrator session there)";
	if (!v)
		return "the host probe did not say whether sudo needs a password (host.sudo is "
		       "missing): run `meshdoctor check` on the host to see why";
	if (strcmp(v, "absent") == 0)
		return "sudo is not installed: as root, install it (Debian/Ubuntu: apt-get install "
		       "sudo), then run prepare again";
	if (strcmp(v, "denied") == 0)
		return "the user may not use sudo at all: as root, add them to the sudo (or wheel) "
		       "group, then run prepare again";
	if (strcmp(v, "password") != 0)
		return "`sudo -n true` neither worked nor asked for a password (host.sudo is not "
		       "\"password\"): see its evidence in `meshdoctor check`";
	return NULL;
}

/* The root step: check the staged drop-in with visudo and install it; then, as the user,
 * remove the staged copy whatever happened (a wrong password included). */
static int install_cmd(const char *dropin, struct md_buf *cmd)
{
	struct md_buf inner;
	int rc;

	md_buf_init(&inner, 0);
	rc = md_buf_puts(&inner, "sudo -S -p '' -- /bin/sh -c ");
	rc |= md_hostcmd_sh_quote(&inner, "visudo -cf \"$1\" >&2 && install -o root -g 0 -m 0440 "
					  "\"$1\" \"$2\"");
	rc |= md_buf_puts(&inner, " meshdoctor-prepare ");
	rc |= md_hostcmd_sh_quote(&inner, STAGED);
	rc |= md_buf_puts(&inner, " ");
	rc |= md_hostcmd_sh_quote(&inner, dropin);
	rc |= md_buf_puts(&inner, "; rc=$?; rm -f ");
	rc |= md_hostcmd_sh_quote(&inner, STAGED);
	rc |= md_buf_puts(&inner, "; exit $rc");
	rc |= md_buf_puts(cmd, "sh -c ");
	rc |= md_hostcmd_sh_quote(cmd, md_buf_str(&inner));
	md_buf_cleanup(&inner);
	return rc ? MD_ENOMEM : MD_OK;
}

static int prepare_sudo_plan(const struct md_remedy_in *in, struct md_plan *p, struct md_err *err)
{
	const char *v = md_facts_str(in->facts, "host.sudo");
	const char *why = refusal(v, md_facts_str(in->facts, "host.os"));
	char dropin[128], alias[96], text[1024];
	struct md_buf cmd;
	int rc;

	p->verify_probes = "host";
	p->verify_fact = "host.sudo";
	p->verify_value = "nopasswd";
	if (v && strcmp(v, "nopasswd") == 0) {
		snprintf(p->nothing, sizeof(p->nothing), "%s already runs sudo without a password "
			 "(host.sudo = nopasswd)", in->user ? in->user : "the user");
		return MD_OK;
	}
	if (why) {
		snprintf(p->refused, sizeof(p->refused), "%s", why);
		return MD_OK;
	}
	if (!plain_user(in->user)) {
		snprintf(p->refused, sizeof(p->refused), "the user name '%s' is not one a sudoers "
			 "drop-in can name safely (letters, digits, '.', '_', '-')",
			 in->user ? in->user : "");
		return MD_OK;
	}
	names_for(in->user, dropin, sizeof(dropin), alias, sizeof(alias));
	if (in->sudo_all)
		snprintf(text, sizeof(text), "# meshdoctor prepare: passwordless sudo for %s "
			 "(every command, --sudo-all)\n%s ALL=(ALL) NOPASSWD: ALL\n", in->user,
			 in->user);
	else
		snprintf(text, sizeof(text), "# meshdoctor prepare: passwordless sudo for %s, for "
			 "the commands provisioning runs\nCmnd_Alias %s = %s\n%s ALL=(root) "
			 "NOPASSWD: %s\n", in->user, alias, MESHDOCTOR_CMDS, in->user, alias);
	md_buf_init(&cmd, 0);
	rc = install_cmd(dropin, &cmd);
	if (rc == MD_OK)
		rc = md_plan_write(p, "stage the sudoers drop-in in the user's home", STAGED, text,
				   strlen(text), 0600);
	if (rc == MD_OK) {
		char what[256];

		snprintf(what, sizeof(what), "as root (sudo, password on standard input): check it "
			 "with visudo, install it as %s (root, 0440), remove the staged copy", dropin);
		rc = md_plan_run(p, what, md_buf_str(&cmd), "sudo-password");
	}
	md_buf_cleanup(&cmd);
	if (rc != MD_OK)
		return md_err_set(err, MD_ENOMEM, "prepare-sudo", "out of memory");
	return MD_OK;
}

static const char *const needs[] = { "host.sudo", "host.os", NULL };
static const char *const secrets[] = { "sudo-password", NULL };

const struct md_remedy remedy_prepare_sudo = {
	.name = "prepare-sudo",
	.summary = "passwordless sudo for the SSH user (a sudoers drop-in checked by visudo)",
	.needs = needs,
	.secrets = secrets,
	.plan = prepare_sudo_plan,
};
