/* install_tailscale.c — the remedy install-tailscale: the Tailscale CLI is not on the
 * host (tailscale.cli = missing).  On Linux, as seeds/002 provisions ("Tailscale
 * installation": `curl -fsSL https://tailscale.com/install.sh | sudo sh`), but in two
 * steps so that nothing runs what was not wholly downloaded: the official install script
 * (or a mirror's, --install-url) is fetched into the user's home, then run as root (or
 * through passwordless sudo) and removed.  Verified: the tailscale probe finds the CLI.
 * macOS and Windows get the command to run instead. */
#include "remedies/remedy.h"

#include "core/hostcmd.h"

#include <stdio.h>
#include <string.h>

#define SCRIPT ".meshdoctor-tailscale-install.sh"
#define FETCH_LIMIT_S 120

static const char *refusal(const struct md_remedy_in *in)
{
	const char *os = md_facts_str(in->facts, "host.os");
	const char *sudo = md_facts_str(in->facts, "host.sudo");

	if (!md_facts_str(in->facts, "tailscale.cli"))
		return "the tailscale probe did not say whether the CLI is installed (tailscale.cli "
		       "is missing): run `meshdoctor check` on the host to see why";
	if (os && strcmp(os, "windows") == 0)
		return "on Windows: `winget install --id Tailscale.Tailscale --source winget -e "
		       "--accept-package-agreements --accept-source-agreements` (--source winget: the "
		       "msstore source fails its certificate check, seeds/001)";
	if (os && strcmp(os, "darwin") == 0)
		return "on macOS: `brew install --cask tailscale` (or the App Store's Tailscale)";
	if (!os || strcmp(os, "linux") != 0)
		return "the install script is for Linux (host.os is not linux): install Tailscale "
		       "as that system's packages do";
	if (in->user && strcmp(in->user, "root") != 0 && !(sudo && strcmp(sudo, "nopasswd") == 0))
		return "installing needs root: sudo asks for a password here (host.sudo): run "
		       "`meshdoctor prepare` on the host first";
	return NULL;
}

/* curl, else wget, fetches url into SCRIPT within FETCH_LIMIT_S; a partial file is
 * removed. */
static int fetch_cmd(const char *url, struct md_buf *cmd)
{
	struct md_buf inner;
	int rc;

	md_buf_init(&inner, 0);
	rc = md_buf_printf(&inner, "if command -v curl >/dev/null 2>&1; then curl -fsSL "
			   "--max-time %d -o " SCRIPT " ", FETCH_LIMIT_S);
	rc |= md_hostcmd_sh_quote(&inner, url);
	rc |= md_buf_printf(&inner, "; else wget -q -T %d -O " SCRIPT " ", FETCH_LIMIT_S);
	rc |= md_hostcmd_sh_quote(&inner, url);
	rc |= md_buf_puts(&inner, "; fi || { rc=$?; rm -f " SCRIPT "; exit $rc; }");
	rc |= md_buf_puts(cmd, "sh -c ");
	rc |= md_hostcmd_sh_quote(cmd, md_buf_str(&inner));
	md_buf_cleanup(&inner);
	return rc ? MD_ENOMEM : MD_OK;
}

static int install_tailscale_plan(const struct md_remedy_in *in, struct md_plan *p,
				  struct md_err *err)
{
	const char *cli = md_facts_str(in->facts, "tailscale.cli");
	const char *url = in->install_url ? in->install_url : MD_TAILSCALE_INSTALL_URL;
	bool root = in->user && strcmp(in->user, "root") == 0;
	const char *why;
	struct md_buf fetch;
	int rc;

	p->verify_probes = "tailscale";
	p->verify_fact = "tailscale.cli";
	p->verify_value = "missing";
	p->verify_differs = true;
	if (cli && strcmp(cli, "missing") != 0) {
		snprintf(p->nothing, sizeof(p->nothing), "the Tailscale CLI is installed "
			 "(tailscale.cli = %s)", cli);
		return MD_OK;
	}
	if ((why = refusal(in))) {
		snprintf(p->refused, sizeof(p->refused), "%s", why);
		return MD_OK;
	}
	md_buf_init(&fetch, 0);
	rc = fetch_cmd(url, &fetch);
	if (rc == MD_OK)
		rc = md_plan_run(p, "download the install script into the user's home (curl, else "
				 "wget)", md_buf_str(&fetch), NULL);
	if (rc == MD_OK)
		rc = md_plan_run(p, "run it as root, then remove it",
				 root ? "sh -c 'sh " SCRIPT "; rc=$?; rm -f " SCRIPT "; exit $rc'"
				      : "sh -c 'sudo -n -- sh " SCRIPT "; rc=$?; rm -f " SCRIPT "; exit $rc'",
				 NULL);
	md_buf_cleanup(&fetch);
	if (rc != MD_OK)
		return md_err_set(err, MD_ENOMEM, "install-tailscale", "out of memory");
	return MD_OK;
}

static const char *const needs[] = { "tailscale.cli", "host.os", "host.sudo", NULL };

const struct md_remedy remedy_install_tailscale = {
	.name = "install-tailscale",
	.summary = "install Tailscale on Linux with the official install script (or a mirror's)",
	.needs = needs,
	.plan = install_tailscale_plan,
};
