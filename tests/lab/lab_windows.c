/* lab_windows.c — the Windows probe and rules/windows.rules end to end, on a lab host that
 * answers as Windows does.
 *
 * Windows cannot run here, so every test is a FIXTURE test: a real OpenSSH sshd in its own
 * namespace (10.83.0.2) runs each command through fixtures/windows/fake-cmd.sh
 * (ForceCommand), which answers as cmd.exe, OpenSSH for Windows' default shell: `sh` is
 * "not recognized", `cmd /c ver` prints the Windows version (so the host probe finds
 * host.os = windows), and `powershell ...` runs fixtures/windows/fake-powershell.sh, which
 * really decodes -EncodedCommand (base64 of UTF-16LE), logs the decoded script, and prints
 * what the script prints on Windows in the state of a scenario file
 * (fixtures/windows/scenarios/).  The sshd banner is Debian's OpenSSH, not
 * OpenSSH_for_Windows (sshd cannot be made to send another version string), so detection
 * rests on `cmd /c ver`.  meshdoctor runs in the client namespace (10.83.0.1).
 *
 * Run from the repository root, as root:
 *   MD_BIN=./meshdoctor MD_BUILD=build build/tests/lab_windows */
#include "tests/support/lab.h"
#include "tests/support/lab_assert.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOST "10.83.0.2"
/* The AuthKey value planted in the isolated scenario's registry (fixtures/windows/scenarios/
 * isolated.txt): it must appear in no report and no script meshdoctor sends. */
#define PLANTED "hskey-auth-PLANTEDdoNotLeak7f3a9c1e5b"

static struct lab *L;
static const char *cli, *srv;
static struct lab_md_result res;
static char dir[256], key[300], kh[300];

#define fact(name) lab_fact(&res, (name))
#define assert_fact(name, want) lab_assert_fact(&res, (name), (want))
#define assert_findings(ids) lab_assert_findings(&res, (ids))

static void setup(void)
{
	unsetenv("SSH_AUTH_SOCK");
	memset(&res, 0, sizeof(res));
	L = lab_new("win");
	cr_assert(L, "lab_new");
	cli = lab_netns(L, "winc");
	srv = lab_netns(L, "wins");
	cr_assert(cli && srv, "namespaces");
	cr_assert_eq(lab_veth(L, cli, "mdwc0", "10.83.0.1/24", srv, "mdws0", HOST "/24"), 0, "veth");
	snprintf(dir, sizeof(dir), "%s", lab_dir(L));
}

static void teardown(void)
{
	lab_md_result_free(&res);
	lab_free(L);
	L = NULL;
}

TestSuite(lab_windows, .init = setup, .fini = teardown, .timeout = 90);

/* ==== set-up ============================================================================ */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	/* set-up commands that touch no network run in the root namespace */
	cr_assert_eq(lab_sh(L, NULL, "cd %s && %s", dir, cmd), 0, "set-up failed: %s (see %s)", cmd,
		     lab_path(L, "sh.log"));
}

/* sshd on HOST:22 whose every command goes through the fixture cmd.exe, with the fixture
 * PowerShell answering from scenario (a file of fixtures/windows/scenarios/). */
static void start_windows_host(const char *scenario)
{
	char extra[1024], cwd[512];
	struct lab_sshd s;

	cr_assert(getcwd(cwd, sizeof(cwd)));
	sh("mkdir -p win/bin && cp %s/fixtures/windows/fake-cmd.sh win/cmd.sh && "
	   "cp %s/fixtures/windows/fake-powershell.sh win/bin/powershell && "
	   "cp %s/fixtures/windows/ssh_cmd_ver.stdout %s/fixtures/windows/scenarios/*.json win/ && "
	   "cp %s/fixtures/windows/scenarios/%s win/scenario && chmod 755 win/cmd.sh win/bin/powershell",
	   cwd, cwd, cwd, cwd, cwd, scenario);
	snprintf(extra, sizeof(extra), "SetEnv MD_FAKE_WIN_DIR=%s/win\nForceCommand %s/win/cmd.sh\n",
		 dir, dir);
	cr_assert_eq(lab_sshd_root_host(L, srv, cli, HOST, 22, extra, &s), 0,
		     "sshd did not listen (logs in %s)", dir);
	snprintf(key, sizeof(key), "%s", s.key);
	snprintf(kh, sizeof(kh), "%s", s.kh);
}

/* The host answers from another scenario from now on. */
static void use_scenario(const char *scenario)
{
	char cwd[512];

	cr_assert(getcwd(cwd, sizeof(cwd)));
	sh("cp %s/fixtures/windows/scenarios/%s win/scenario", cwd, scenario);
}

/* meshdoctor check root@HOST --probes windows (which brings ssh and host), as JSON when
 * json (windows.script then must be script), else the text checklist. */
static void check_script(bool json, const char *script)
{
	const char *args[24];
	size_t n = 0;

	args[n++] = "check";
	args[n++] = "root@" HOST;
	args[n++] = "--identity";
	args[n++] = key;
	args[n++] = "--known-hosts";
	args[n++] = kh;
	args[n++] = "--no-ssh-config";
	args[n++] = "--probes";
	args[n++] = "windows";
	args[n++] = "--rules";
	args[n++] = "rules";
	args[n++] = "--timeout";
	args[n++] = "15s";
	if (json) {
		args[n++] = "--json";
		args[n++] = "-";
	}
	args[n] = NULL;
	lab_md_result_free(&res);
	memset(&res, 0, sizeof(res));
	cr_assert_eq(lab_run_md(L, cli, args, 60000, &res), 0, "lab_run_md");
	if (json) {
		cr_assert(res.report, "no JSON report (exit %d)\nstdout: %s\nstderr: %s", res.exit_code,
			  res.out, res.err);
		assert_fact("ssh.auth", "ok");
		assert_fact("host.os", "windows");
		assert_fact("windows.applies", "true");
		assert_fact("windows.script", script);
	}
}

static void check(bool json)
{
	check_script(json, "ok");
}

static const char *ev(const char *name)
{
	const char *e = lab_report_evidence(res.report, name);

	cr_assert(e, "no evidence for %s\n%s", name, res.out);
	return e;
}

/* ==== the scenarios ===================================================================== */

/* seeds/001: service running, the CLI refused, a network logon. */
Test(lab_windows, fixture_seed_isolated_state_gives_the_isolation_finding_first)
{
	static const char *const want[] = { "windows-ipn-session-isolation", NULL };
	char *cmds, *first;

	start_windows_host("isolated.txt");
	check(true);
	assert_findings(want);
	assert_fact("windows.service", "running");
	assert_fact("windows.logon", "network");
	assert_fact("windows.elevated", "true");
	assert_fact("windows.pipe.tailscaled", "denied");
	assert_fact("windows.pipe.tailscale_ipn", "absent");
	assert_fact("windows.authkey_policy", "present");
	assert_fact("windows.login_url", "http://sfspark1.local:8080");
	cr_assert(strstr(ev("windows.pipe.tailscaled"), "\\\\.\\pipe\\ProtectedPrefix\\Administrators\\Tailscale\\tailscaled"),
		  "%s", ev("windows.pipe.tailscaled"));
	cr_assert(strstr(ev("windows.pipe.tailscaled"), "UnauthorizedAccessException: Access to the path is denied."));
	cr_assert(strstr(ev("windows.pipe.tailscale_ipn"), "\\\\.\\pipe\\ProtectedPrefix\\LocalService\\tailscale-ipn"),
		  "%s", ev("windows.pipe.tailscale_ipn"));
	cr_assert(strstr(ev("windows.pipe.tailscale_ipn"), "TimeoutException: The operation has timed out."));
	cr_assert(strstr(ev("windows.status_error"), "failed to connect to local Tailscale daemon"),
		  "%s", ev("windows.status_error"));
	/* one PowerShell round trip: `sh -s` (refused), `cmd /c ver`, then the script */
	cmds = lab_read_file(lab_path(L, "win/commands.log"));
	first = strstr(cmds, "powershell -NoProfile -NonInteractive -EncodedCommand ");
	cr_assert(first, "%s", cmds);
	cr_assert_null(strstr(first + 1, "powershell"), "one PowerShell run:\n%s", cmds);
	cr_assert(strstr(cmds, "cmd /c ver\n"), "%s", cmds);
	free(cmds);
}

/* The text checklist: the isolation finding first, both pipes with their open results,
 * the join-script remedy and the seed's list of what does not work. */
Test(lab_windows, fixture_seed_isolated_state_text_names_both_pipes_and_the_remedy)
{
	const char *iso, *other;

	start_windows_host("isolated.txt");
	check(false);
	cr_assert_eq(res.exit_code, 2, "critical: exit %d\n%s%s", res.exit_code, res.out, res.err);
	iso = strstr(res.out, "windows-ipn-session-isolation");
	cr_assert(iso, "%s", res.out);
	other = strstr(res.out, "windows-tray-app-holds-state");
	cr_assert(!other, "%s", res.out);
	cr_assert(strstr(res.out, "join-script"), "%s", res.out);
	cr_assert(strstr(res.out, "ProtectedPrefix\\Administrators\\Tailscale\\tailscaled"), "%s", res.out);
	cr_assert(strstr(res.out, "Access to the path is denied."), "%s", res.out);
	cr_assert(strstr(res.out, "ProtectedPrefix\\LocalService\\tailscale-ipn"), "%s", res.out);
	cr_assert(strstr(res.out, "The operation has timed out."), "%s", res.out);
	cr_assert(strstr(res.out, "Do NOT retry") && strstr(res.out, "PsExec -s"), "%s", res.out);
}

Test(lab_windows, fixture_server_mode_401_gives_the_other_user_finding)
{
	static const char *const want[] = { "windows-server-mode-other-user", "windows-tray-app-holds-state", NULL };

	start_windows_host("server-mode-401.txt");
	check(true);
	assert_findings(want);
	assert_fact("windows.pipe.tailscaled", "ok");
	assert_fact("windows.tray_process", "true");
	cr_assert(strstr(fact("windows.status_error"), "401 Unauthorized: Tailscale already in use by OFFICE-ONE\\alice, pid 5120"),
		  "%s", fact("windows.status_error"));
}

Test(lab_windows, fixture_nostate_gives_the_unattended_finding)
{
	static const char *const want[] = { "windows-backend-nostate", NULL };

	start_windows_host("nostate.txt");
	check(true);
	assert_findings(want);
	assert_fact("windows.backend_state", "NoState");
	assert_fact("windows.status_exit", "0");
	assert_fact("windows.interactive_users", "0");
}

Test(lab_windows, fixture_service_stopped_and_not_installed)
{
	static const char *const stopped[] = { "windows-tailscale-service-stopped", NULL };
	static const char *const missing[] = { "windows-tailscale-not-installed", NULL };

	start_windows_host("stopped.txt");
	check(true);
	assert_findings(stopped);
	assert_fact("windows.service", "stopped");
	use_scenario("not-installed.txt");
	check(true);
	assert_findings(missing);
	assert_fact("windows.service", "missing");
	assert_fact("windows.cli_path", "none");
	assert_fact("windows.status_exit", "not_run");
}

Test(lab_windows, fixture_healthy_host_gives_no_windows_finding)
{
	static const char *const none[] = { NULL };

	start_windows_host("healthy.txt");
	check(true);
	assert_findings(none);
	cr_assert_eq(res.exit_code, 0, "exit %d\n%s", res.exit_code, res.out);
	assert_fact("windows.backend_state", "Running");
}

/* The AuthKey planted in the scenario's registry reaches neither the report nor any
 * script meshdoctor sent (the fixture logs each one decoded, and its argv). */
Test(lab_windows, fixture_planted_authkey_never_reaches_the_report_or_the_script)
{
	char *decoded, *argv_log;

	start_windows_host("isolated.txt");
	sh("grep -q '%s' win/scenario", PLANTED); /* the plant is there to be leaked */
	check(true);
	cr_assert_null(strstr(res.out, PLANTED), "the JSON report holds the AuthKey value");
	cr_assert_null(strstr(res.err, PLANTED));
	check(false);
	cr_assert_null(strstr(res.out, PLANTED), "the text report holds the AuthKey value");
	decoded = lab_read_file(lab_path(L, "win/decoded.log"));
	argv_log = lab_read_file(lab_path(L, "win/argv.log"));
	cr_assert(strstr(decoded, "AuthKey"), "the script was logged decoded: %.200s", decoded);
	cr_assert_null(strstr(decoded, PLANTED));
	cr_assert_null(strstr(argv_log, PLANTED));
	free(decoded);
	free(argv_log);
}

/* The script's own limit ended tailscale.exe and the script said so (done 1, exit 124):
 * the run is "limit", and the finding asks for more time instead of a diagnosis. */
Test(lab_windows, fixture_script_past_its_limit_asks_for_more_time)
{
	static const char *const want[] = { "windows-status-cut-short", NULL };

	start_windows_host("limit.txt");
	check_script(true, "limit");
	assert_findings(want);
	assert_fact("windows.status_exit", "124");
	cr_assert(strstr(ev("windows.script"), "exit 124"), "%s", ev("windows.script"));
}

/* A host whose PowerShell does not start (here: not there at all, so cmd.exe does not
 * recognise it): the run says so, with cmd.exe's own line, and no rule guesses. */
Test(lab_windows, fixture_without_powershell_is_no_answer_and_no_finding)
{
	static const char *const none[] = { NULL };

	start_windows_host("healthy.txt");
	sh("rm win/bin/powershell");
	check_script(true, "no_answer");
	assert_findings(none);
	cr_assert(strstr(ev("windows.script"), "'powershell' is not recognized as an internal or external command"),
		  "%s", ev("windows.script"));
	cr_assert_null(fact("windows.service"), "nothing read, nothing recorded");
}
