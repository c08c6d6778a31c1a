/* start_tailscaled.c — the remedy start-tailscaled: the Tailscale CLI is installed but
 * tailscaled does not answer (tailscale.daemon = unreachable) on a Linux host: start it
 * and make it start at boot with systemd (`systemctl enable --now tailscaled`), as root or
 * through passwordless sudo, then re-run the tailscale probe: tailscale.daemon must be
 * reachable.  Elsewhere the plan says what to do instead. */
#include "remedies/remedy.h"

#include <stdio.h>
#include <string.h>

#define ENABLE "systemctl enable --now tailscaled"

/* Why nothing is planned for this host, or NULL. */
static const char *refusal(const char *daemon, const char *hint, const char *os, const char *user,
			   const char *sudo)
{
	if (!daemon)
		return "the tailscale probe did not say whether tailscaled answers (tailscale.daemon "
		       "is missing): run `meshdoctor check` on the host to see why";
	if (os && strcmp(os, "windows") == 0)
		return "on Windows: `Start-Service Tailscale` in an elevated PowerShell (and "
		       "`Set-Service Tailscale -StartupType Automatic`); meshdoctor does not start "
		       "Windows services";
	if (hint && strcmp(hint, "macos") == 0)
		return "on macOS: open the Tailscale app (or, for the open-source daemon, `sudo brew "
		       "services start tailscale`)";
	if (hint && strcmp(hint, "socket") == 0)
		return "a tailscaled process exists but its socket fails: see the finding's evidence "
		       "and `journalctl -u tailscaled -n 50`; restarting it is left to you";
	if (!hint || (strcmp(hint, "linux") != 0 && strcmp(hint, "linux-systemd") != 0))
		return "the CLI's message does not say which init system runs tailscaled here "
		       "(tailscale.daemon_hint): start it as the host's init system does";
	if (user && strcmp(user, "root") != 0 && !(sudo && strcmp(sudo, "nopasswd") == 0))
		return "starting tailscaled needs root: sudo asks for a password here (host.sudo): "
		       "run `meshdoctor prepare` on the host first";
	return NULL;
}

static int start_tailscaled_plan(const struct md_remedy_in *in, struct md_plan *p,
				 struct md_err *err)
{
	const char *daemon = md_facts_str(in->facts, "tailscale.daemon");
	const char *why = refusal(daemon, md_facts_str(in->facts, "tailscale.daemon_hint"),
				  md_facts_str(in->facts, "host.os"), in->user,
				  md_facts_str(in->facts, "host.sudo"));
	bool root = in->user && strcmp(in->user, "root") == 0;

	p->verify_probes = "tailscale";
	p->verify_fact = "tailscale.daemon";
	p->verify_value = "reachable";
	if (daemon && strcmp(daemon, "reachable") == 0) {
		snprintf(p->nothing, sizeof(p->nothing), "tailscaled answers (tailscale.daemon = "
			 "reachable)");
		return MD_OK;
	}
	if (why) {
		snprintf(p->refused, sizeof(p->refused), "%s", why);
		return MD_OK;
	}
	if (md_plan_run(p, "start tailscaled now and at every boot (systemd)",
			root ? ENABLE : "sudo -n -- " ENABLE, NULL) != MD_OK)
		return md_err_set(err, MD_ENOMEM, "start-tailscaled", "out of memory");
	return MD_OK;
}

static const char *const needs[] = { "tailscale.daemon", "tailscale.daemon_hint", "host.os",
				     "host.sudo", NULL };

const struct md_remedy remedy_start_tailscaled = {
	.name = "start-tailscaled",
	.summary = "start tailscaled and enable it at boot (systemd, as root or with passwordless sudo)",
	.needs = needs,
	.plan = start_tailscaled_plan,
};
