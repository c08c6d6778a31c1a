/* test_windows.c — the Windows probe's script and the parser of its framed output
 * (probes/windows.c, probes/windows_parse.c), on the outputs in fixtures/windows/
 * (ps-*.out: what the script prints in each scenario, CRLF line ends, nonce
 * 0123456789abcdef), and rules/windows.rules over the facts recorded from them.  No
 * network: the fixture PowerShell (fixtures/windows/fake-powershell.sh) is run once as a
 * local program to check that it decodes -EncodedCommand as PowerShell does. */
#include "core/facts.h"
#include "core/hostcmd.h"
#include "probes/windows.h"
#include "tests/support/fact_spec.h"
#include "tests/support/fixture.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NONCE "0123456789abcdef"

TestSuite(windows, .timeout = 20);

static void parse_fixture(const char *name, struct md_win_state *s)
{
	char *text = test_fixture("windows", name);

	md_win_state_init(s);
	cr_assert_eq(md_win_parse(text, strlen(text), NONCE, s), MD_OK, "%s", name);
	free(text);
}

/* ==== the script ======================================================================== */

Test(windows, script_fits_one_cmd_exe_line_and_never_asks_for_the_authkey_value)
{
	char *script = NULL, *cmd = NULL;
	struct md_err err = { 0 };

	cr_assert_eq(md_win_script(NONCE, 20000, &script, &err), MD_OK, "%s", err.msg);
	cr_assert_eq(md_hostcmd_powershell(script, &cmd, &err), MD_OK, "%s", err.msg);
	cr_assert_lt(strlen(cmd), MD_WIN_CMDLINE_MAX, "command line of %zu characters", strlen(cmd));
	cr_assert(strstr(script, "$n='" NONCE "'"), "the nonce is set where the fixture finds it");
	cr_assert(strstr(script, "$L=20000"));
	cr_assert(strstr(script, "exit 124"), "past its limit it exits as `timeout` does");
	cr_assert(strstr(script, MD_WIN_PIPE_REAL) && strstr(script, MD_WIN_PIPE_SEED));
	/* AuthKey only in the list of values whose presence is printed */
	cr_assert(strstr(script, "foreach($v in @('AuthKey')){if($g.$v -ne $null){\"$h`t$v`tpresent\"}}"));
	cr_assert_null(strstr(strstr(script, "'LoginURL','UnattendedMode'"), "AuthKey')){if($g.$v -ne $null){\"$h`t$v`t$(O"));
	free(cmd);
	free(script);
}

Test(windows, script_refuses_a_bad_nonce_or_limit)
{
	char *script = (char *)"x";
	struct md_err err = { 0 };

	cr_assert_eq(md_win_script("0123", 5000, &script, &err), MD_EINVAL);
	cr_assert_null(script);
	cr_assert_eq(md_win_script("0123456789abcdeg", 5000, &script, &err), MD_EINVAL);
	cr_assert(strstr(err.msg, "bad nonce"), "%s", err.msg);
	err = (struct md_err){ 0 };
	cr_assert_eq(md_win_script(NONCE, 999, &script, &err), MD_EINVAL);
	cr_assert(strstr(err.msg, "under a second"), "%s", err.msg);
}

/* The fixture PowerShell decodes base64 UTF-16LE with base64 -d | iconv: a script with
 * quotes, $, backticks, non-ASCII and newlines comes out of its log as it went in. */
/* Runs the fixture as `powershell ARGS` runs on the lab host: no shell in between. */
static int run_fixture(const char *dir, const char *cmd)
{
	char env_dir[300], out[300], *args = strdup(cmd + strlen("powershell ")), *argv[8];
	char *envp[] = { env_dir, (char *)"PATH=/usr/bin:/bin", NULL };
	size_t n = 0;
	int status = -1, fd;
	pid_t pid;

	cr_assert(args);
	snprintf(env_dir, sizeof(env_dir), "MD_FAKE_WIN_DIR=%s", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	argv[n++] = (char *)"/bin/sh";
	argv[n++] = (char *)"fixtures/windows/fake-powershell.sh";
	for (char *w = strtok(args, " "); w && n + 1 < 8; w = strtok(NULL, " "))
		argv[n++] = w;
	argv[n] = NULL;
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(126);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	free(args);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The fixture PowerShell decodes base64 UTF-16LE with base64 -d | iconv: a script with
 * quotes, $, backticks, non-ASCII and newlines comes out of its log as it went in. */
Test(windows, fixture_powershell_decodes_the_encoded_command_exactly)
{
	static const char script[] =
		"$n='" NONCE "'\n"
		"Write-Output 'it''s' \"$env:USERNAME `t\" $(Get-Date)\r\n"
		"# caf\xc3\xa9 \xe2\x80\x99quoted\xe2\x80\x99 \xf0\x9f\x98\x80 %COMSPEC% & | < >\n";
	static const char *const files[] = { "scenario", "decoded.log", "argv.log", "out" };
	char dir[] = "/tmp/mdwin-XXXXXX", path[300], *cmd = NULL, *log;
	FILE *fp;
	long n;

	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/scenario", dir);
	fp = fopen(path, "w");
	cr_assert(fp);
	fputs("#md @NONCE@ done 0\n", fp);
	fclose(fp);
	cr_assert_eq(md_hostcmd_powershell(script, &cmd, NULL), MD_OK);
	cr_assert_eq(run_fixture(dir, cmd), 0, "%s", cmd);
	snprintf(path, sizeof(path), "%s/decoded.log", dir);
	fp = fopen(path, "rb");
	cr_assert(fp, "%s", path);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	log = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(log, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	/* the shell's $(...) drops the script's last newline */
	cr_assert_eq(strncmp(log, script, strlen(script) - 1), 0, "decoded:\n%s", log);
	free(log);
	free(cmd);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	cr_assert_eq(rmdir(dir), 0, "%s", dir);
}

/* ==== the parser on each scenario ======================================================= */

Test(windows, parses_the_seeds_isolated_state)
{
	struct md_win_state s;
	const struct md_win_pipe *real, *seed;

	parse_fixture("ps-isolated.out", &s);
	cr_assert(s.framed && s.done && !s.over_limit);
	cr_assert_str_eq(s.missing, "");
	cr_assert_str_eq(s.truncated, "");
	cr_assert_str_eq(s.service, "running");
	cr_assert_str_eq(s.service_start, "Automatic");
	cr_assert_eq(s.daemon_running, 1);
	cr_assert_str_eq(s.daemon_procs, "4242/0");
	cr_assert_eq(s.tray_running, 0);
	cr_assert_str_eq(s.cli_path, "C:\\Program Files\\Tailscale\\tailscale.exe");
	cr_assert_str_eq(s.cli_version, "1.86.2");
	cr_assert_eq(s.n_pipes, 2);
	real = md_win_pipe_find(&s, MD_WIN_PIPE_REAL);
	seed = md_win_pipe_find(&s, MD_WIN_PIPE_SEED);
	cr_assert(real && seed);
	cr_assert(real->listed);
	cr_assert_str_eq(real->open, "denied");
	cr_assert_eq(real->win32, 5);
	cr_assert_str_eq(real->error, "UnauthorizedAccessException: Access to the path is denied. (HRESULT 0x80070005)");
	cr_assert(!seed->listed);
	cr_assert_str_eq(seed->open, "absent");
	cr_assert_eq(seed->win32, -1, "0x8013 is not a Win32 HRESULT");
	cr_assert_str_eq(s.logon, "network");
	cr_assert_str_eq(s.logon_group, "NT AUTHORITY\\NETWORK");
	cr_assert_eq(s.elevated, 1);
	cr_assert_eq(s.session_id, 0);
	cr_assert_eq(s.interactive_users, 1);
	cr_assert(strstr(s.interactive_line, "steve") && strstr(s.interactive_line, "console"));
	cr_assert_str_eq(s.login_url, "http://sfspark1.local:8080");
	cr_assert_str_eq(s.login_url_key, "HKLM:\\SOFTWARE\\Tailscale IPN");
	cr_assert_str_eq(s.unattended, "always");
	cr_assert_eq(s.authkey, 1);
	cr_assert_str_eq(s.reg_keys, "ipn");
	cr_assert_eq(s.state_file, 1);
	cr_assert_eq(s.join_script, 0);
	cr_assert_eq(s.status_exit, 1);
	cr_assert_str_eq(s.status_error, "error: failed to connect to local Tailscale daemon; it doesn't appear to be running (waiting for Tailscale...)");
	cr_assert_str_eq(s.backend_state, "");
}

Test(windows, parses_the_server_mode_nostate_stopped_and_missing_states)
{
	struct md_win_state s;

	parse_fixture("ps-server-mode-401.out", &s);
	cr_assert_eq(s.tray_running, 1);
	cr_assert_str_eq(s.tray_procs, "5388/1");
	cr_assert_str_eq(md_win_pipe_find(&s, MD_WIN_PIPE_REAL)->open, "ok");
	cr_assert(strstr(s.status_error, "401 Unauthorized: Tailscale already in use by OFFICE-ONE\\alice, pid 5120"),
		  "%s", s.status_error);
	cr_assert_eq(s.authkey, 0, "no AuthKey value in this scenario");

	parse_fixture("ps-nostate.out", &s);
	cr_assert_eq(s.status_exit, 0);
	cr_assert_str_eq(s.backend_state, "NoState");
	cr_assert_eq(s.interactive_users, 0);
	cr_assert_str_eq(s.interactive_line, "No User exists for *");

	parse_fixture("ps-stopped.out", &s);
	cr_assert_str_eq(s.service, "stopped");
	cr_assert_eq(s.daemon_running, 0);
	cr_assert_str_eq(md_win_pipe_find(&s, MD_WIN_PIPE_REAL)->open, "absent");

	parse_fixture("ps-not-installed.out", &s);
	cr_assert_str_eq(s.service, "missing");
	cr_assert_str_eq(s.cli_path, "none");
	cr_assert_str_eq(s.missing, "", "no status sections without a CLI: %s", s.missing);
	cr_assert_eq(s.status_exit, -1);
	cr_assert_str_eq(s.reg_keys, "");
	cr_assert_eq(s.authkey, 0);

	parse_fixture("ps-healthy.out", &s);
	cr_assert_str_eq(s.backend_state, "Running");
	cr_assert_str_eq(s.status_error, "");
	cr_assert_str_eq(s.truncated, "", "the JSON ends before its end frame: %s", s.truncated);
	cr_assert(s.done);
}

/* ==== robustness ========================================================================= */

Test(windows, takes_bom_lf_error_records_and_missing_sections)
{
	static const char out[] =
		"\xef\xbb\xbf#md " NONCE " begin service\n"
		"Get-Service : Cannot find any service with service name 'Tailscale'.\n"
		"At line:1 char:1\n"
		"+ Get-Service Tailscale\n"
		"    + CategoryInfo          : ObjectNotFound: (Tailscale:String) [Get-Service], ServiceCommandException\n"
		"status=missing\n"
		"#md " NONCE " end service\n"
		"#< CLIXML\n"
		"#md ffffffffffffffff begin cli\n"     /* another nonce: not ours */
		"path=C:\\evil.exe\n"
		"\xef\xbb\xbf#md " NONCE " begin whoami\r\n"
		"\"NT AUTHORITY\\INTERACTIVE\",\"Well-known group\",\"S-1-5-4\",\"Mandatory group, Enabled by default, Enabled group\"\r\n"
		"\"BUILTIN\\Administrators\",\"Alias\",\"S-1-5-32-544\",\"Group used for deny only\"\r\n";
	struct md_win_state s;

	md_win_state_init(&s);
	cr_assert_eq(md_win_parse(out, sizeof(out) - 1, NONCE, &s), MD_OK);
	cr_assert(s.framed && !s.done);
	cr_assert_str_eq(s.service, "missing");
	cr_assert(strstr(s.ps_error, "Get-Service : Cannot find any service"), "%s", s.ps_error);
	cr_assert_str_eq(s.cli_path, "", "a frame of another nonce is not ours");
	cr_assert_str_eq(s.logon, "interactive");
	cr_assert_eq(s.elevated, 0, "deny-only Administrators is not elevated");
	cr_assert_str_eq(s.truncated, "whoami");
	cr_assert_eq(s.authkey, -1, "no reg section: not known");
	cr_assert(strstr(s.missing, "proc") && strstr(s.missing, "pipes") && strstr(s.missing, "status"),
		  "%s", s.missing);
}

Test(windows, garbage_and_empty_output_are_not_known_never_an_error)
{
	static const char *const bad[] = {
		"", "\r\n\r\n", "#md", "#md " NONCE, "#md " NONCE " begin", "#md " NONCE " begin nosuch\nx=1\n",
		"#md " NONCE " end service\n", "#md " NONCE " begin pipes\n\t\t\t\n" MD_WIN_PIPE_REAL "\n",
		"#md " NONCE " begin status-json\n{\"BackendState\": 7\n",
		"#md " NONCE " begin quser\nexit=1\n#md " NONCE " begin quser\n",
		"#md " NONCE " done 1\n",
	};
	struct md_win_state s;
	static const char nul[] = "#md " NONCE " begin cli\npath=C:\\a\x1b[31m\xc3\xa9\0b\n";

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		md_win_state_init(&s);
		cr_assert_eq(md_win_parse(bad[i], strlen(bad[i]), NONCE, &s), MD_OK, "case %zu", i);
		cr_assert_str_eq(s.service, "", "case %zu", i);
		cr_assert_eq(s.status_exit, -1, "case %zu", i);
		cr_assert_str_eq(s.backend_state, "", "case %zu", i);
	}
	/* NUL bytes, control characters and non-ASCII never reach a field */
	md_win_state_init(&s);
	cr_assert_eq(md_win_parse(nul, sizeof(nul) - 1, NONCE, &s), MD_OK);
	cr_assert_str_eq(s.cli_path, "C:\\a?[31m??b");
	cr_assert_eq(md_win_parse("", 0, "short", &s), MD_EINVAL);
	cr_assert_eq(md_win_parse(NULL, 0, NONCE, &s), MD_OK);
}

Test(windows, more_pipes_than_it_keeps_and_long_lines_are_cut)
{
	char out[8192];
	size_t n = 0;
	struct md_win_state s;

	n += (size_t)snprintf(out + n, sizeof(out) - n, "#md " NONCE " begin pipes\n");
	for (int i = 0; i < 12; i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "tailscale-%d\tlisted\tok\t\n", i);
	n += (size_t)snprintf(out + n, sizeof(out) - n, "#md " NONCE " end pipes\n#md " NONCE " begin cli\npath=");
	memset(out + n, 'x', 3000);
	n += 3000;
	n += (size_t)snprintf(out + n, sizeof(out) - n, "\n#md " NONCE " end cli\n");
	md_win_state_init(&s);
	cr_assert_eq(md_win_parse(out, n, NONCE, &s), MD_OK);
	cr_assert_eq(s.n_pipes, MD_WIN_MAX_PIPES);
	cr_assert_eq(strlen(s.cli_path), sizeof(s.cli_path) - 1);
}

/* ==== the facts and the rules ============================================================ */

static void eval_fixture(struct test_eval *t, const char *name)
{
	struct md_win_state s;

	parse_fixture(name, &s);
	cr_assert_eq(test_eval_load(t, "rules/windows.rules"), 0, "%s", t->err.msg);
	cr_assert_eq(md_fact_str(&t->facts, "host", "host.os", "windows", NULL), MD_OK);
	cr_assert_eq(md_win_record(&t->facts, &s), MD_OK);
	cr_assert_eq(test_eval_run(t), 0);
}

static void findings_text(const struct md_evaluation *ev, char *out, size_t n)
{
	out[0] = '\0';
	for (size_t i = 0; i < ev->n_findings; i++)
		snprintf(out + strlen(out), n - strlen(out), "%s ", ev->findings[i].rule->id);
}

struct rule_case {
	char fixture[40];
	char first[48];   /* the top finding, "" for none */
	char also[48];    /* another that fires too, "" for none */
	size_t n;         /* how many findings in all */
};

ParameterizedTestParameters(windows, rules_on_each_scenario)
{
	static struct rule_case cases[] = {
		{ "ps-isolated.out", "windows-ipn-session-isolation", "", 1 },
		{ "ps-server-mode-401.out", "windows-server-mode-other-user", "windows-tray-app-holds-state", 2 },
		{ "ps-nostate.out", "windows-backend-nostate", "", 1 },
		{ "ps-stopped.out", "windows-tailscale-service-stopped", "", 1 },
		{ "ps-not-installed.out", "windows-tailscale-not-installed", "", 1 },
		{ "ps-healthy.out", "", "", 0 },
	};
	return cr_make_param_array(struct rule_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct rule_case *rc, windows, rules_on_each_scenario)
{
	struct test_eval t;
	char got[512];

	eval_fixture(&t, rc->fixture);
	findings_text(&t.ev, got, sizeof(got));
	cr_assert_eq(t.ev.n_findings, rc->n, "%s: %s", rc->fixture, got);
	if (rc->first[0])
		cr_assert_eq(test_finding_index(&t.ev, rc->first), 0, "%s: %s", rc->fixture, got);
	if (rc->also[0])
		cr_assert_geq(test_finding_index(&t.ev, rc->also), 0, "%s: %s", rc->fixture, got);
	for (size_t i = 0; i < t.ev.n_findings; i++)
		cr_assert_null(strchr(t.ev.findings[i].cause, '{'), "%s: %s", t.ev.findings[i].rule->id,
			       t.ev.findings[i].cause);
	test_eval_cleanup(&t);
}

/* The isolation finding names the remedy and keeps the seed's list of what does not work,
 * and the facts it cites carry both pipe names with what opening each returned. */
Test(windows, isolation_finding_carries_the_seed_list_and_both_pipes)
{
	struct test_eval t;
	const struct md_finding *x;
	const struct md_fact *p;
	bool not_work = false;

	eval_fixture(&t, "ps-isolated.out");
	cr_assert_eq(test_finding_index(&t.ev, "windows-ipn-session-isolation"), 0);
	x = &t.ev.findings[0];
	cr_assert_str_eq(x->rule->remedy, "join-script");
	for (size_t i = 0; i < x->rule->n_advice; i++)
		if (strstr(x->rule->advice[i], "Do NOT retry") && strstr(x->rule->advice[i], "PsExec -s") &&
		    strstr(x->rule->advice[i], "Task Scheduler as SYSTEM") && strstr(x->rule->advice[i], "WMI/CIM"))
			not_work = true;
	cr_assert(not_work, "the seed's \"What Does NOT Work\" list is in the advice");
	p = md_facts_get(&t.facts, "windows.pipe.tailscaled");
	cr_assert(p && strstr(p->evidence, "\\\\.\\pipe\\" MD_WIN_PIPE_REAL) &&
		  strstr(p->evidence, "Access to the path is denied.") && strstr(p->evidence, "Win32 error 5"),
		  "%s", p ? p->evidence : "(none)");
	p = md_facts_get(&t.facts, "windows.pipe.tailscale_ipn");
	cr_assert(p && strstr(p->evidence, "\\\\.\\pipe\\" MD_WIN_PIPE_SEED) &&
		  strstr(p->evidence, "The operation has timed out."), "%s", p ? p->evidence : "(none)");
	cr_assert_str_eq(md_facts_str(&t.facts, "windows.authkey_policy"), "present");
	test_eval_cleanup(&t);
}

/* facts of spec, plus windows.status_error = error (its text holds ';'), evaluated. */
static void eval_with_error(struct test_eval *t, const char *spec, const char *error)
{
	cr_assert_eq(test_eval_load(t, "rules/windows.rules"), 0, "%s", t->err.msg);
	cr_assert_eq(test_put_facts(&t->facts, "windows", spec), 0, "%s", spec);
	cr_assert_eq(md_fact_str(&t->facts, "windows", "windows.status_error", error, NULL), MD_OK);
	cr_assert_eq(test_eval_run(t), 0);
}

/* Seed 000 step 4: the tray app running while the CLI is refused; the real client's
 * wording for a running daemon whose pipe fails (§4.1) is isolation too. */
Test(windows, tray_app_and_the_real_clients_wording)
{
	struct test_eval t;

	eval_with_error(&t, "host.os=\"windows\";windows.service=\"stopped\";windows.tray_process=true;"
			    "windows.status_exit=1",
			"failed to connect to local tailscaled process; is the Tailscale service running?");
	cr_assert_eq(test_finding_index(&t.ev, "windows-tailscale-service-stopped"), 0);
	cr_assert_geq(test_finding_index(&t.ev, "windows-tray-app-holds-state"), 1);
	test_eval_cleanup(&t);
	eval_with_error(&t, "host.os=\"windows\";windows.service=\"running\";windows.tray_process=true;"
			    "windows.logon=\"network\";windows.status_exit=1",
			"failed to connect to local tailscaled (which appears to be running as tailscaled.exe, "
			"pid 4242). Got error: Access is denied.");
	cr_assert_eq(test_finding_index(&t.ev, "windows-ipn-session-isolation"), 0);
	cr_assert_eq(test_finding_index(&t.ev, "windows-tray-app-holds-state"), -1, "superseded");
	cr_assert_eq(t.ev.n_findings, 1);
	test_eval_cleanup(&t);
}

/* The script's limit ended the CLI (it waits up to 5 s for a daemon it cannot reach): no
 * diagnosis from a missing answer, only the advice to give it more time. */
Test(windows, status_cut_by_the_limit_asks_for_more_time)
{
	struct test_eval t;

	eval_with_error(&t, "host.os=\"windows\";windows.service=\"running\";windows.logon=\"network\";"
			    "windows.status_exit=124",
			"C:\\Program Files\\Tailscale\\tailscale.exe ended by its limit");
	cr_assert_eq(test_finding_index(&t.ev, "windows-status-cut-short"), 0);
	cr_assert_eq(t.ev.n_findings, 1);
	test_eval_cleanup(&t);
}

/* The done frame says whether the script went past its limit; quser's exit 127 (no quser
 * on this edition) leaves the interactive sessions unknown. */
Test(windows, done_frame_and_quser_that_did_not_run)
{
	static const char out[] =
		"#md " NONCE " begin quser\r\n"
		"'quser.exe' is not recognized\r\n"
		"exit=127\r\n"
		"#md " NONCE " end quser\r\n"
		"#md " NONCE " done 1\r\n";
	struct md_win_state s;

	md_win_state_init(&s);
	cr_assert_eq(md_win_parse(out, sizeof(out) - 1, NONCE, &s), MD_OK);
	cr_assert(s.done && s.over_limit);
	cr_assert_eq(s.interactive_users, -1);
}
