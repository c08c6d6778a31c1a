/* lab_ssh_patterns.c — host patterns that make OpenSSH-style matching take exponential
 * time (`*?*?*?...*?!` against a long name that lacks the '!'), end to end against a real
 * OpenSSH sshd: in known_hosts, where meshdoctor matches them itself, and in an
 * ssh_config Host line, which `ssh -G` matches (and which meshdoctor's deadline for
 * `ssh -G` bounds).
 *
 * Two namespaces joined by a veth pair: sshd in the "host" (10.77.1.2), meshdoctor in
 * the client (10.77.1.1).  Each run of meshdoctor is killed after 20 s; the assertions
 * are on what it reports, not on how long it took.
 *
 * Run from the repository root: MD_BIN=./meshdoctor MD_BUILD=build build/tests/lab_ssh_patterns */
#include "tests/support/lab.h"
#include "tests/support/lab_assert.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOST "10.77.1.2"
/* The 36-character pattern and 38-character HostKeyAlias. */
#define COSTLY "*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?\?!"
#define ALIAS "office-one.tailnet-abcd.ts.net.example"

static struct lab *L;
static const char *cli, *srv;
static char key[256], kh[400], cfg[400];
static struct lab_md_result res;

#define fact(name) lab_fact(&res, (name))
#define assert_fact(name, want) lab_assert_fact(&res, (name), (want))

static void setup(void)
{
	unsetenv("SSH_AUTH_SOCK");
	memset(&res, 0, sizeof(res));
	L = lab_new("sshpat");
	cr_assert(L, "lab_new");
	cli = lab_netns(L, "patc");
	srv = lab_netns(L, "pats");
	cr_assert(cli && srv, "namespaces");
	cr_assert_eq(lab_veth(L, cli, "mdpc0", "10.77.1.1/24", srv, "mdps0", HOST "/24"), 0, "veth");
	snprintf(key, sizeof(key), "%s", lab_path(L, "client_ed25519"));
	snprintf(kh, sizeof(kh), "%s", lab_path(L, "known_hosts"));
	snprintf(cfg, sizeof(cfg), "%s", lab_path(L, "ssh_config"));
}

static void teardown(void)
{
	lab_md_result_free(&res);
	lab_free(L);
	L = NULL;
}

TestSuite(lab_ssh_patterns, .init = setup, .fini = teardown);

/* sshd on HOST:22 with a new ed25519 host key, root logging in with key. */
static void start_sshd(void)
{
	char text[1024], *hk = strdup(lab_path(L, "hostkey_ed25519"));
	const char *conf = lab_path(L, "sshd_config");

	cr_assert_eq(lab_sh(L, NULL, "mkdir -p -m0755 /run/sshd && ssh-keygen -q -t ed25519 -N '' -f %s && "
			    "ssh-keygen -q -t ed25519 -N '' -f %s && cp %s.pub %s && chmod 644 %s",
			    hk, key, key, lab_path(L, "authorized_keys"), lab_path(L, "authorized_keys")),
		     0, "keys");
	snprintf(text, sizeof(text),
		 "ListenAddress " HOST "\n"
		 "HostKey %s\n"
		 "PidFile %s\n"
		 "AuthorizedKeysFile %s\n"
		 "PasswordAuthentication no\n"
		 "KbdInteractiveAuthentication no\n"
		 "UsePAM no\n"
		 "PermitRootLogin prohibit-password\n"
		 "StrictModes no\n",
		 hk, lab_path(L, "sshd.pid"), lab_path(L, "authorized_keys"));
	free(hk);
	conf = strdup(conf);
	lab_write_file(conf, text, 0644);
	{
		const char *argv[] = { "/usr/sbin/sshd", "-D", "-e", "-f", conf, "-p", "22", NULL };

		cr_assert_gt(lab_spawn(L, srv, argv, "sshd.log"), 0, "sshd");
	}
	free((char *)conf);
	cr_assert_eq(lab_wait_tcp(L, cli, HOST, 22, 5000), 0, "sshd did not listen");
}

/* The host key's "type base64". */
static void host_key(char *out, size_t n)
{
	char path[400], type[64] = "", b64[900] = "";
	FILE *fp;

	snprintf(path, sizeof(path), "%s.pub", lab_path(L, "hostkey_ed25519"));
	fp = fopen(path, "r");
	cr_assert(fp, "%s", path);
	cr_assert_eq(fscanf(fp, "%63s %899s", type, b64), 2);
	fclose(fp);
	snprintf(out, n, "%s %s", type, b64);
}

/* ssh_config: office-one (or the alias as a name) is HOST with the alias; host_line: a
 * Host line before it. */
static void write_config(const char *host_line)
{
	char text[1500];

	snprintf(text, sizeof(text),
		 "%s"
		 "Host office-one " ALIAS "\n"
		 "  HostName " HOST "\n"
		 "  User root\n"
		 "  IdentityFile %s\n"
		 "  HostKeyAlias " ALIAS "\n"
		 "  UserKnownHostsFile %s\n"
		 "  GlobalKnownHostsFile /dev/null\n",
		 host_line, key, kh);
	lab_write_file(cfg, text, 0644);
}

/* check TARGET -F cfg --probes ssh --timeout 3s --json -, killed after 20 s. */
static void run_check(const char *target)
{
	const char *args[] = { "check", target, "-F", cfg, "--probes", "ssh", "--rules", "rules",
			       "--timeout", "3s", "--json", "-", NULL };

	lab_md_result_free(&res);
	memset(&res, 0, sizeof(res));
	cr_assert_eq(lab_run_md(L, cli, args, 20000, &res), 0, "lab_run_md");
}

/* The costly line first, the alias's entry after it: the entry is found, the key matches
 * and meshdoctor logs in. */
Test(lab_ssh_patterns, a_costly_known_hosts_pattern_before_the_entry_gives_a_match, .timeout = 60)
{
	char hk[1000], text[2500];

	start_sshd();
	host_key(hk, sizeof(hk));
	snprintf(text, sizeof(text), COSTLY " %s\n" ALIAS " %s\n", hk, hk);
	lab_write_file(kh, text, 0600);
	write_config("");
	run_check("office-one");
	cr_assert(res.report, "no JSON report (exit %d)\n%s\n%s", res.exit_code, res.out, res.err);
	assert_fact("ssh.known_hosts_name", ALIAS);
	assert_fact("ssh.hostkey", "match");
	assert_fact("ssh.auth", "ok");
	cr_assert_null(fact("ssh.known_hosts_unread"), "a cheap line is read: %s", res.out);
	cr_assert_eq(res.exit_code, 0, "%s", res.out);
}

/* Only the costly line: it does not cover the alias, so the key is new and recorded as
 * accept-new records it. */
Test(lab_ssh_patterns, a_costly_known_hosts_pattern_alone_leaves_the_key_new, .timeout = 60)
{
	char hk[1000], text[2500], *after;
	FILE *fp;
	long n;

	start_sshd();
	host_key(hk, sizeof(hk));
	snprintf(text, sizeof(text), COSTLY " %s\n", hk);
	lab_write_file(kh, text, 0600);
	write_config("");
	run_check("office-one");
	cr_assert(res.report, "no JSON report (exit %d)\n%s\n%s", res.exit_code, res.out, res.err);
	assert_fact("ssh.hostkey", "unknown");
	assert_fact("ssh.hostkey_added", "true");
	assert_fact("ssh.auth", "ok");
	fp = fopen(kh, "r");
	cr_assert(fp);
	after = calloc(1, 4096);
	n = (long)fread(after, 1, 4095, fp);
	fclose(fp);
	cr_assert_gt(n, 0);
	cr_assert(strstr(after, "\n" ALIAS " ssh-ed25519 "), "not recorded under the alias: %s", after);
	free(after);
}

/* The same shape in an ssh_config Host line: `ssh -G` (OpenSSH's matcher) does not
 * finish, meshdoctor stops it at its deadline for `ssh -G` and says so in one line. */
Test(lab_ssh_patterns, a_costly_ssh_config_host_line_is_one_line_error, .timeout = 60)
{
	write_config("Host " COSTLY "\n  User nobody\n");
	run_check(ALIAS);
	cr_assert_eq(res.exit_code, 64, "exit %d\n%s\n%s", res.exit_code, res.out, res.err);
	cr_assert(strstr(res.err, "`ssh -G` failed: no answer within 2 s"), "stderr: %s", res.err);
	cr_assert_eq(strchr(res.err, '\n'), res.err + strlen(res.err) - 1, "one line: %s", res.err);
}
