/* lab_prepare.c — `meshdoctor prepare` end to end: a real OpenSSH sshd (with its SFTP
 * server), a real user whose sudo asks for a password, real sudo and visudo.
 *
 * The host namespace (10.77.0.2) runs sshd under strace, which records the argv of every
 * program sshd and its children start: the tests check that the sudo password is in none
 * of them, nor in anything meshdoctor printed.  The client namespace (10.77.0.1) runs
 * meshdoctor.  The user and its sudoers entries are made for each test and removed after.
 *
 * Run from the repository root: MD_BIN=./meshdoctor MD_BUILD=build build/tests/lab_prepare */
#include "tests/support/lab.h"
#include "tests/support/lab_assert.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOST "10.77.0.2"
#define PASSWORD "Lab-pw 'q' $x!"

static struct lab *L;
static const char *cli, *srv;
static char key[256], kh[300], user[33], home[300], dropin[300], target[64];
static struct lab_md_result res;

static void setup(void)
{
	unsetenv("SSH_AUTH_SOCK");
	memset(&res, 0, sizeof(res));
	user[0] = '\0';
	L = lab_new("prep");
	cr_assert(L, "lab_new");
	cli = lab_netns(L, "prc");
	srv = lab_netns(L, "prs");
	cr_assert(cli && srv, "namespaces");
	cr_assert_eq(lab_veth(L, cli, "mdpc0", "10.77.0.1/24", srv, "mdps0", HOST "/24"), 0, "veth");
	snprintf(key, sizeof(key), "%s", lab_path(L, "client_ed25519"));
	snprintf(kh, sizeof(kh), "%s", lab_path(L, "known_hosts"));
}

static void teardown(void)
{
	lab_md_result_free(&res);
	if (user[0] && L)
		lab_sh(L, NULL, "userdel %s; rm -f /etc/sudoers.d/mdlab-%s %s", user, user, dropin);
	user[0] = '\0';
	lab_free(L);
	L = NULL;
}

TestSuite(lab_prepare, .init = setup, .fini = teardown);

/* A user with a home, the password PASSWORD and `sudo` that asks for it; sshd (under
 * strace, logging execve) that lets it in with the lab's key and serves SFTP. */
static void start_host(void)
{
	char text[2048], conf[300], keys[300];

	snprintf(user, sizeof(user), "mdpr%d", (int)getpid());
	snprintf(home, sizeof(home), "%s", lab_path(L, "home"));
	snprintf(dropin, sizeof(dropin), "/etc/sudoers.d/meshdoctor-%s", user);
	snprintf(target, sizeof(target), "%s@" HOST, user);
	snprintf(text, sizeof(text), "%s:%s\n", user, PASSWORD);
	lab_write_file(lab_path(L, "chpasswd"), text, 0600);
	cr_assert_eq(lab_sh(L, NULL, "useradd -M -N -d %s -s /bin/sh %s && mkdir -m 0755 %s && "
			    "chown %s %s && chpasswd < %s", home, user, home, user, home,
			    lab_path(L, "chpasswd")), 0, "useradd %s", user);
	snprintf(text, sizeof(text), "%s ALL=(ALL) ALL\n", user);
	snprintf(conf, sizeof(conf), "/etc/sudoers.d/mdlab-%s", user);
	lab_write_file(conf, text, 0440);
	cr_assert_eq(lab_sh(L, NULL, "ssh-keygen -q -t ed25519 -N '' -C lab -f %s && "
			    "ssh-keygen -q -t ed25519 -N '' -C lab -f %s", key,
			    lab_path(L, "hostkey")), 0);
	snprintf(keys, sizeof(keys), "%s", lab_path(L, "keys"));
	cr_assert_eq(lab_sh(L, NULL, "mkdir -p -m0755 /run/sshd %s && cp %s.pub %s/%s && chmod 644 "
			    "%s/%s && printf '" HOST " %%s\\n' \"$(cut -d' ' -f1,2 %s.pub)\" > %s",
			    keys, key, keys, user, keys, user, lab_path(L, "hostkey"), kh), 0);
	snprintf(conf, sizeof(conf), "%s", lab_path(L, "sshd_config"));
	snprintf(text, sizeof(text),
		 "ListenAddress " HOST "\nHostKey %s\nPidFile %s\nAuthorizedKeysFile %s/%%u\n"
		 "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
		 "StrictModes no\nSubsystem sftp internal-sftp\nLogLevel VERBOSE\n",
		 lab_path(L, "hostkey"), lab_path(L, "sshd.pid"), keys);
	lab_write_file(conf, text, 0644);
	{
		const char *argv[] = { "strace", "-f", "-qq", "-e", "trace=execve", "-s", "4096",
				       "-o", lab_path(L, "execve.log"), "/usr/sbin/sshd", "-D", "-e",
				       "-f", conf, "-p", "22", NULL };
		char log[300];

		snprintf(log, sizeof(log), "%s", argv[8]);
		argv[8] = log;
		cr_assert_gt(lab_spawn(L, srv, argv, "sshd.log"), 0, "sshd");
	}
	cr_assert_eq(lab_wait_tcp(L, cli, HOST, 22, 10000), 0, "sshd did not listen: %s",
		     lab_path(L, "sshd.log"));
}

/* meshdoctor prepare TARGET [extra...] with input on its standard input. */
static void prepare(const char *input, const char *extra1, const char *extra2)
{
	const char *args[] = { "prepare", target, "--identity", key, "--known-hosts", kh,
			       "--no-ssh-config", "--timeout", "20s", extra1, extra2, NULL };

	lab_md_result_free(&res);
	memset(&res, 0, sizeof(res));
	cr_assert_eq(lab_run_md_stdin(L, cli, args, input, 90000, &res), 0, "lab_run_md");
}

/* The password is in no argv the host saw and nowhere meshdoctor wrote. */
static void assert_password_nowhere(void)
{
	char *log = lab_read_file(lab_path(L, "execve.log"));
	bool saw_sudo = strstr(log, "\"sudo\", \"-S\"") != NULL;
	bool leaked = strstr(log, "Lab-pw") != NULL;

	free(log);
	cr_assert(saw_sudo, "strace recorded no sudo -S: %s", lab_path(L, "execve.log"));
	cr_assert_not(leaked, "the password is in an argv on the host: %s", lab_path(L, "execve.log"));
	cr_assert_null(strstr(res.out, "Lab-pw"), "stdout has the password:\n%s", res.out);
	cr_assert_null(strstr(res.err, "Lab-pw"), "stderr has the password:\n%s", res.err);
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

Test(lab_prepare, password_sudo_becomes_passwordless_verified_then_nothing_to_do, .timeout = 180)
{
	char staged[400];
	struct stat st;
	char *text;

	start_host();
	snprintf(staged, sizeof(staged), "%s/.meshdoctor-sudoers.new", home);
	prepare(PASSWORD "\n", "--password-stdin", "--yes");
	cr_assert_eq(res.exit_code, 0, "exit %d\nstdout: %s\nstderr: %s", res.exit_code, res.out,
		     res.err);
	cr_assert(strstr(res.out, "prepare-sudo on "), "%s", res.out);
	cr_assert(strstr(res.out, "standard input: <sudo password from standard input>"), "%s", res.out);
	cr_assert(strstr(res.out, "prepare-sudo: applied 2 of 2 steps"), "%s", res.out);
	cr_assert(strstr(res.out, "verified: host.sudo = nopasswd"), "%s", res.out);
	cr_assert_eq(stat(dropin, &st), 0, "%s was not installed", dropin);
	cr_assert_eq(st.st_mode & 07777, 0440, "mode %o", st.st_mode & 07777);
	cr_assert_eq(st.st_uid, 0);
	text = lab_read_file(dropin);
	cr_assert(strstr(text, "NOPASSWD: MESHDOCTOR_MDPR"), "%s", text);
	free(text);
	cr_assert_not(exists(staged), "the staged copy was left in the home");
	cr_assert_eq(lab_sh(L, NULL, "su -s /bin/sh -c 'sudo -n true' %s", user), 0,
		     "sudo -n true still fails for %s", user);
	assert_password_nowhere();

	/* Twice: nothing to do, nothing asked, nothing changed. */
	prepare("", "--yes", NULL);
	cr_assert_eq(res.exit_code, 0, "exit %d\n%s%s", res.exit_code, res.out, res.err);
	cr_assert(strstr(res.out, "nothing to do: "), "%s", res.out);
	cr_assert(strstr(res.out, "host.sudo = nopasswd"), "%s", res.out);
}

Test(lab_prepare, dry_run_prints_what_the_host_would_receive_and_changes_nothing, .timeout = 120)
{
	char staged[400];

	start_host();
	snprintf(staged, sizeof(staged), "%s/.meshdoctor-sudoers.new", home);
	prepare("", "--dry-run", NULL);
	cr_assert_eq(res.exit_code, 0, "exit %d\n%s%s", res.exit_code, res.out, res.err);
	cr_assert(strstr(res.out, "Dry run: nothing was changed."), "%s", res.out);
	cr_assert(strstr(res.out, "  1. would write .meshdoctor-sudoers.new (mode 0600, "), "%s", res.out);
	cr_assert(strstr(res.out, "  2. would run: sh -c 'sudo -S -p "), "%s", res.out);
	cr_assert(strstr(res.out, "      | <sudo password from the terminal>\n"), "%s", res.out);
	cr_assert_not(exists(dropin));
	cr_assert_not(exists(staged));
	cr_assert_neq(lab_sh(L, NULL, "su -s /bin/sh -c 'sudo -n true' %s 2>/dev/null", user), 0,
		      "sudo became passwordless in a dry run");
}

Test(lab_prepare, wrong_password_stops_at_the_step_with_sudos_words_and_installs_nothing,
     .timeout = 120)
{
	char staged[400];

	start_host();
	snprintf(staged, sizeof(staged), "%s/.meshdoctor-sudoers.new", home);
	prepare("Lab-pw-wrong\n", "--password-stdin", "--yes");
	cr_assert_eq(res.exit_code, 2, "exit %d\n%s%s", res.exit_code, res.out, res.err);
	cr_assert(strstr(res.err, "step 2 (") && strstr(res.err, "failed: exit 1: "), "%s", res.err);
	cr_assert(strstr(res.err, "incorrect password") || strstr(res.err, "Sorry, try again"),
		  "%s", res.err);
	cr_assert(strstr(res.err, "stopped there (1 of 2 steps done)"), "%s", res.err);
	cr_assert_not(exists(dropin), "installed with a wrong password");
	cr_assert_not(exists(staged), "the staged copy was left in the home");
	assert_password_nowhere();
}

Test(lab_prepare, without_a_terminal_or_yes_it_asks_for_yes_and_changes_nothing, .timeout = 120)
{
	start_host();
	prepare(PASSWORD "\n", "--password-stdin", NULL);
	cr_assert_eq(res.exit_code, 64, "exit %d\n%s%s", res.exit_code, res.out, res.err);
	cr_assert(strstr(res.err, "no terminal to ask on: give --yes"), "%s", res.err);
	cr_assert_not(exists(dropin));
}

/* fix: the finding ssh-sudo-needs-password names prepare-sudo, which fix plans, applies
 * and verifies by checking again: before has the finding, after does not. */
static void fix(const char *input, const char *extra1, const char *extra2)
{
	const char *args[] = { "fix", target, "--identity", key, "--known-hosts", kh,
			       "--no-ssh-config", "--probes", "ssh", "--rules", "rules",
			       "--timeout", "20s", "--json", "-", extra1, extra2, NULL };

	lab_md_result_free(&res);
	memset(&res, 0, sizeof(res));
	cr_assert_eq(lab_run_md_stdin(L, cli, args, input, 90000, &res), 0, "lab_run_md");
}

static bool report_has(const char *which, const char *rule)
{
	return lab_report_has_finding(cJSON_GetObjectItemCaseSensitive(res.report, which), rule);
}

Test(lab_prepare, fix_applies_prepare_sudo_for_its_finding_and_the_check_after_has_none,
     .timeout = 180)
{
	start_host();
	/* With the JSON on standard output, the plans go to standard error. */
	fix("", "--dry-run", NULL);
	cr_assert(strstr(res.err, "prepare-sudo on "), "%s", res.err);
	cr_assert(strstr(res.err, "Dry run: nothing was changed."), "%s", res.err);
	cr_assert_str_empty(res.out);
	cr_assert_eq(res.exit_code, 1, "the dry run exits with the check's verdict: %d\n%s%s",
		     res.exit_code, res.out, res.err);
	cr_assert_not(exists(dropin));

	fix(PASSWORD "\n", "--password-stdin", "--yes");
	cr_assert(res.report, "no JSON\nstdout: %s\nstderr: %s", res.out, res.err);
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(res.report, "schema")->valuestring,
			 "meshdoctor/fix/v1");
	cr_assert(report_has("before", "ssh-sudo-needs-password"), "%s", res.out);
	cr_assert_not(report_has("after", "ssh-sudo-needs-password"), "%s", res.out);
	cr_assert_eq(res.exit_code, 0, "exit %d\n%s", res.exit_code, res.err);
	cr_assert(exists(dropin));
	assert_password_nowhere();
}
