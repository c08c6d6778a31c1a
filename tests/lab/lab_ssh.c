/* lab_ssh.c — the ssh probe and rules/ssh.rules end to end, against a real OpenSSH sshd.
 *
 * Each test builds its own two namespaces joined by a veth pair: the "host" (10.77.0.2)
 * runs sshd with its own config, host key and authorized_keys,
 * or tests/lab/helpers/fakessh for listeners that are not working SSH servers; the client
 * namespace (10.77.0.1) runs meshdoctor.  Assertions read the JSON report: the exact
 * finding ids and the key facts.
 *
 * Run from the repository root: MD_BIN=./meshdoctor MD_BUILD=build build/tests/lab_ssh */
#include "core/session.h"
#include "core/target.h"
#include "probes/probe.h"
#include "tests/support/lab.h"
#include "tests/support/lab_assert.h"

#include <criterion/criterion.h>
#include <libssh2.h>

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOST "10.77.0.2"
#define TIMEOUT_MS 3000 /* --timeout for the cases that wait out the deadline */

static struct lab *L;
static const char *cli, *srv;
static char key[256], key_pub[300], hostkey_pub[256], kh[400], conf[256];
static char user[33];    /* a local user created by one test, removed in fini */
static struct lab_md_result res;

#define fact(name) lab_fact(&res, (name))
#define assert_fact(name, want) lab_assert_fact(&res, (name), (want))
#define assert_findings(ids) lab_assert_findings(&res, (ids))

static void setup(void)
{
	/* A developer's agent must not change what the lab sees. */
	unsetenv("SSH_AUTH_SOCK");
	memset(&res, 0, sizeof(res));
	user[0] = '\0';
	L = lab_new("ssh");
	cr_assert(L, "lab_new");
	cli = lab_netns(L, "sshc");
	srv = lab_netns(L, "sshs");
	cr_assert(cli && srv, "namespaces");
	cr_assert_eq(lab_veth(L, cli, "mdsc0", "10.77.0.1/24", srv, "mdss0", HOST "/24"), 0, "veth");
	snprintf(key, sizeof(key), "%s", lab_path(L, "client_ed25519"));
	snprintf(key_pub, sizeof(key_pub), "%s.pub", key);
	snprintf(hostkey_pub, sizeof(hostkey_pub), "%s", lab_path(L, "hostkey_ed25519.pub"));
	snprintf(kh, sizeof(kh), "%s", lab_path(L, "known_hosts"));
	snprintf(conf, sizeof(conf), "%s", lab_path(L, "sshd_config"));
}

static void teardown(void)
{
	lab_md_result_free(&res);
	if (user[0] && L) {
		lab_sh(L, NULL, "userdel %s; rm -f /etc/sudoers.d/mdlab-%s", user, user);
		user[0] = '\0';
	}
	lab_free(L);
	L = NULL;
}

TestSuite(lab_ssh, .init = setup, .fini = teardown);

/* ---- set-up helpers ---- */

static void keygen(const char *path, const char *type_args, const char *pass)
{
	cr_assert_eq(lab_sh(L, NULL, "ssh-keygen -q %s -N '%s' -C lab -f %s", type_args, pass, path), 0,
		     "ssh-keygen %s", path);
}

/* An empty ssh_config for the OpenSSH client runs: neither the user's nor /dev/null
 * (on a shared machine it has been seen replaced by a regular file with content). */
static const char *empty_config(void)
{
	static char path[300];

	snprintf(path, sizeof(path), "%s", lab_path(L, "ssh_config"));
	lab_write_file(path, "", 0644);
	return path;
}

/* known_hosts with one line: name + the public key in pub_path. */
static void known_hosts_with(const char *name, const char *pub_path)
{
	char *pub = lab_read_file(pub_path), line[1024];
	char type[64] = "", b64[900] = "";

	sscanf(pub, "%63s %899s", type, b64);
	snprintf(line, sizeof(line), "%s %s %s\n", name, type, b64);
	lab_write_file(kh, line, 0600);
	free(pub);
}

/* Host key (hostkey: its private key file, NULL for a new ed25519 key in hostkey_ed25519,
 * the only HostKey line), client key, authorized_keys = authorized (a .pub path), sshd on
 * HOST:22.  extra: more sshd_config lines, written first: sshd takes the first value it
 * reads for a keyword, so they override the defaults below. */
static void start_sshd_hostkey(const char *authorized, const char *extra, const char *hostkey)
{
	char text[2048], hk[300];

	cr_assert_eq(lab_sh(L, NULL, "mkdir -p -m0755 /run/sshd"), 0);
	snprintf(hk, sizeof(hk), "%s", hostkey ? hostkey : lab_path(L, "hostkey_ed25519"));
	if (!hostkey)
		keygen(hk, "-t ed25519", "");
	if (access(key, F_OK) != 0)
		keygen(key, "-t ed25519", "");
	cr_assert_eq(lab_sh(L, NULL, "mkdir -p %s && cp %s %s/root && chmod 755 %s && chmod 644 %s/root",
			    lab_path(L, "keys"), authorized, lab_path(L, "keys"), lab_path(L, "keys"),
			    lab_path(L, "keys")),
		     0);
	snprintf(text, sizeof(text),
		 "%s"
		 "ListenAddress " HOST "\n"
		 "HostKey %s\n"
		 "PidFile %s\n"
		 "AuthorizedKeysFile %s/%%u\n"
		 "PasswordAuthentication no\n"
		 "KbdInteractiveAuthentication no\n"
		 "UsePAM no\n"
		 "PermitRootLogin prohibit-password\n"
		 "StrictModes no\n"
		 "LogLevel VERBOSE\n",
		 extra ? extra : "", hk, lab_path(L, "sshd.pid"), lab_path(L, "keys"));
	lab_write_file(conf, text, 0644);
	{
		const char *argv[] = { "/usr/sbin/sshd", "-D", "-e", "-f", conf, "-p", "22", NULL };

		cr_assert_gt(lab_spawn(L, srv, argv, "sshd.log"), 0, "sshd");
	}
	cr_assert_eq(lab_wait_tcp(L, cli, HOST, 22, 5000), 0, "sshd did not listen: %s",
		     lab_path(L, "sshd.log"));
}

static void start_sshd(const char *authorized, const char *extra)
{
	start_sshd_hostkey(authorized, extra, NULL);
}

static void start_fake(const char *mode)
{
	const char *argv[] = { lab_build_path(L, "tests/helpers/fakessh"), mode, HOST, "22", NULL };
	char bin[512];

	snprintf(bin, sizeof(bin), "%s", argv[0]);
	argv[0] = bin;
	cr_assert_eq(access(bin, X_OK), 0, "%s missing: build it (make %s)", bin, bin);
	cr_assert_gt(lab_spawn(L, srv, argv, "fakessh.log"), 0);
	cr_assert_eq(lab_wait_tcp(L, cli, HOST, 22, 3000), 0, "fakessh %s did not listen", mode);
}

/* meshdoctor check TARGET --identity KEY --known-hosts KH --probes ssh --json - [more]. */
static void check(const char *target, const char *identity, const char *timeout)
{
	const char *args[] = { "check", target, "--identity", identity, "--known-hosts", kh,
			       "--probes", "ssh", "--rules", "rules", "--timeout", timeout,
			       "--json", "-", NULL };

	lab_md_result_free(&res);
	memset(&res, 0, sizeof(res));
	cr_assert_eq(lab_run_md(L, cli, args, 60000, &res), 0, "lab_run_md");
	cr_assert(res.report, "no JSON report (exit %d)\nstdout: %s\nstderr: %s", res.exit_code,
		  res.out, res.err);
}

/* check() for the runs that could hang: meshdoctor is killed after kill_ms. */
static void check_within(const char *target, const char *identity, const char *timeout, int kill_ms)
{
	const char *args[] = { "check", target, "--identity", identity, "--known-hosts", kh,
			       "--probes", "ssh", "--rules", "rules", "--timeout", timeout,
			       "--json", "-", NULL };

	lab_md_result_free(&res);
	cr_assert_eq(lab_run_md(L, cli, args, kill_ms, &res), 0, "lab_run_md");
	cr_assert(res.report, "no JSON report (exit %d after %lld ms)\nstdout: %s\nstderr: %s",
		  res.exit_code, (long long)res.elapsed_ms, res.out, res.err);
}

/* A real ssh-agent on sock holding the private key file add (NULL: none). */
static void start_agent(const char *sock, const char *add)
{
	const char *argv[] = { "ssh-agent", "-D", "-a", sock, NULL };

	cr_assert_gt(lab_spawn(L, cli, argv, "agent.log"), 0);
	cr_assert_eq(lab_wait_file(sock, 3000), 0, "agent socket");
	if (add)
		cr_assert_eq(lab_sh(L, NULL, "SSH_AUTH_SOCK=%s ssh-add %s", sock, add), 0, "ssh-add %s", add);
}

/* tests/lab/helpers/fakeagent on sock: "silent", or "sign-hang", "sign-wrong-alg",
 * "sign-toobig" (offering pub). */
static void start_fake_agent(const char *mode, const char *sock, const char *pub)
{
	const char *argv[] = { lab_build_path(L, "tests/helpers/fakeagent"), mode, sock, pub, NULL };
	char bin[512];

	snprintf(bin, sizeof(bin), "%s", argv[0]);
	argv[0] = bin;
	cr_assert_eq(access(bin, X_OK), 0, "%s missing: build it (make %s)", bin, bin);
	cr_assert_gt(lab_spawn(L, cli, argv, "fakeagent.log"), 0);
	cr_assert_eq(lab_wait_file(sock, 3000), 0, "fakeagent %s did not listen", mode);
}

/* The path entry of rule id: "fired", "not", "undecided", "superseded". */
static const char *path_result(const char *id)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(res.report, "path")) {
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(p, "rule");
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, "result");

		if (cJSON_IsString(r) && strcmp(r->valuestring, id) == 0 && cJSON_IsString(v))
			return v->valuestring;
	}
	return "";
}

static void assert_within_deadline(int timeout_ms)
{
	cr_assert_leq(res.elapsed_ms, timeout_ms + timeout_ms / 10,
		      "run took %lld ms with --timeout %d ms", (long long)res.elapsed_ms, timeout_ms);
}

/* How many connections to sshd identified themselves as software (sshd logs "remote
 * software version X" at LogLevel DEBUG1). */
static int sshd_idents(const char *software)
{
	char *log = lab_read_file(lab_path(L, "sshd.log")), pat[128];
	int n = 0;

	snprintf(pat, sizeof(pat), "remote software version %s", software);
	for (const char *p = log; (p = strstr(p, pat)); p++)
		n++;
	free(log);
	return n;
}

/* The report's status ("ok", "error", "skipped") or message of probe name, "" when absent. */
static const char *probe_member(const char *name, const char *member)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(res.report, "probes")) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(p, "name");
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, member);

		if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0 && cJSON_IsString(v))
			return v->valuestring;
	}
	return "";
}
#define probe_status(name) probe_member((name), "status")
#define probe_message(name) probe_member((name), "message")

/* ---- cases ---- */

Test(lab_ssh, healthy_host_logs_in_and_fires_nothing, .timeout = 60)
{
	start_sshd(key_pub, "LogLevel DEBUG1\n");
	known_hosts_with(HOST, hostkey_pub);
	check("root@" HOST, key, "5s");
	cr_assert_eq(res.exit_code, 0, "exit %d\n%s", res.exit_code, res.out);
	assert_fact("ssh.tcp", "connected");
	assert_fact("ssh.addr", HOST ":22");
	assert_fact("ssh.banner_status", "ok");
	cr_assert(strncmp(fact("ssh.banner"), "SSH-2.0-OpenSSH_", 16) == 0, "%s", fact("ssh.banner"));
	cr_assert(strncmp(fact("ssh.server_software"), "OpenSSH_", 8) == 0);
	assert_fact("ssh.server_windows", "false");
	assert_fact("ssh.kex", "ok");
	assert_fact("ssh.hostkey", "match");
	assert_fact("ssh.hostkey_type", "ssh-ed25519");
	cr_assert(strncmp(fact("ssh.hostkey_fingerprint"), "SHA256:", 7) == 0);
	assert_fact("ssh.auth", "ok");
	{
		char want[300];

		snprintf(want, sizeof(want), "publickey:%s", key);
		assert_fact("ssh.auth_method", want);
	}
	assert_fact("host.os", "linux");
	assert_fact("host.sudo", "nopasswd");
	{
		const char *none[] = { NULL };

		assert_findings(none);
	}
	/* The server's algorithm lists are read again only after a failed key exchange. */
	cr_assert_null(fact("ssh.kex_no_common"));
	cr_assert_null(fact("ssh.server_kex_algorithms"));
	cr_assert_null(fact("ssh.server_hostkey_algorithms"));
	cr_assert_null(fact("ssh.server_ciphers"));
	cr_assert_null(fact("ssh.server_macs"));
	cr_assert_eq(sshd_idents("libssh2_"), 1, "the probe's own connection");
	cr_assert_eq(sshd_idents("meshdoctor_"), 0, "a second connection");
}

/* A Host alias from an ssh_config (-F, as `ssh -F` reads it; ~/.ssh/config otherwise):
 * address, user, key and known_hosts all come from the file, none from the command line. */
Test(lab_ssh, ssh_config_alias_works_as_it_does_for_ssh, .timeout = 60)
{
	char text[1024], path[300];

	start_sshd(key_pub, NULL);
	known_hosts_with(HOST, hostkey_pub);
	snprintf(path, sizeof(path), "%s", lab_path(L, "alias_config"));
	snprintf(text, sizeof(text),
		 "Host office-one\n"
		 "  HostName " HOST "\n"
		 "  User root\n"
		 "  Port 22\n"
		 "  IdentityFile %s\n"
		 "  IdentitiesOnly yes\n"
		 "  UserKnownHostsFile %s\n",
		 key, kh);
	lab_write_file(path, text, 0644);
	{
		const char *args[] = { "check", "office-one", "-F", path, "--probes", "ssh",
				       "--rules", "rules", "--timeout", "5s", "--json", "-", NULL };

		cr_assert_eq(lab_run_md(L, cli, args, 60000, &res), 0, "lab_run_md");
		cr_assert(res.report, "no JSON report (exit %d)\n%s\n%s", res.exit_code, res.out, res.err);
	}
	cr_assert_eq(res.exit_code, 0, "exit %d\n%s", res.exit_code, res.out);
	assert_fact("ssh.addr", HOST ":22");
	assert_fact("ssh.hostkey", "match");
	assert_fact("ssh.auth", "ok");
	{
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(res.report, "target");

		cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(t, "hostname")->valuestring, HOST);
		cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(t, "user")->valuestring, "root");
		cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "ssh_config")));
	}
}

/* meshdoctor check TARGET -F CONFIG --probes ssh --json - (everything else from CONFIG). */
static void check_with_config(const char *target, const char *config)
{
	const char *args[] = { "check", target, "-F", config, "--probes", "ssh", "--rules", "rules",
			       "--timeout", "5s", "--json", "-", NULL };

	lab_md_result_free(&res);
	cr_assert_eq(lab_run_md(L, cli, args, 60000, &res), 0, "lab_run_md");
	cr_assert(res.report, "no JSON report (exit %d)\n%s\n%s", res.exit_code, res.out, res.err);
}

/* ssh_config(5) HostKeyAlias names the known_hosts entry, and GlobalKnownHostsFile /
 * UserKnownHostsFile say which files are read: here the host key is pinned in a
 * system-wide file under the alias only, and the user's file is empty.  `ssh` with the
 * same config and StrictHostKeyChecking=yes logs in; so must meshdoctor, without
 * recording the key again under the address. */
Test(lab_ssh, ssh_config_host_key_alias_and_known_hosts_files_are_honoured, .timeout = 60)
{
	char text[1500], path[300], global[300], line[1200], type[64] = "", b64[900] = "", *pub, *after;

	start_sshd(key_pub, NULL);
	lab_write_file(kh, "", 0600);
	snprintf(global, sizeof(global), "%s", lab_path(L, "global_known_hosts"));
	pub = lab_read_file(hostkey_pub);
	sscanf(pub, "%63s %899s", type, b64);
	free(pub);
	snprintf(line, sizeof(line), "# pinned by the administrator\noffice-key %s %s\n", type, b64);
	lab_write_file(global, line, 0644);
	snprintf(path, sizeof(path), "%s", lab_path(L, "alias_config"));
	snprintf(text, sizeof(text),
		 "Host office-one\n"
		 "  HostName " HOST "\n"
		 "  User root\n"
		 "  IdentityFile %s\n"
		 "  HostKeyAlias Office-Key\n"
		 "  UserKnownHostsFile %s\n"
		 "  GlobalKnownHostsFile %s\n",
		 key, kh, global);
	lab_write_file(path, text, 0644);
	check_with_config("office-one", path);
	assert_fact("ssh.config", "read");
	assert_fact("ssh.known_hosts_name", "office-key");
	assert_fact("ssh.hostkey", "match");
	cr_assert(strstr(res.out, "global_known_hosts:2: office-key"), "the match is not line 2 of %s\n%s",
		  global, res.out);
	cr_assert_null(fact("ssh.hostkey_added"), "the key is known: nothing to record");
	assert_fact("ssh.auth", "ok");
	cr_assert_eq(lab_report_n_findings(res.report), 0, "%s", res.out);
	after = lab_read_file(kh);
	cr_assert_str_eq(after, "", "the user's known_hosts was written: %s", after);
	free(after);
	cr_assert_eq(lab_sh(L, cli, "ssh -F %s -o BatchMode=yes -o StrictHostKeyChecking=yes office-one true",
			    path),
		     0, "ssh with the same config did not log in");
}

/* ProxyJump: `ssh` would go through the jump host; meshdoctor says it checked the direct
 * path instead (here the direct path works). */
Test(lab_ssh, ssh_config_proxy_jump_is_named_and_the_direct_path_checked, .timeout = 60)
{
	const char *want[] = { "ssh-proxy-not-followed", NULL };
	char text[1024], path[300];

	start_sshd(key_pub, NULL);
	known_hosts_with(HOST, hostkey_pub);
	snprintf(path, sizeof(path), "%s", lab_path(L, "jump_config"));
	snprintf(text, sizeof(text),
		 "Host office-one\n"
		 "  HostName " HOST "\n"
		 "  User root\n"
		 "  IdentityFile %s\n"
		 "  UserKnownHostsFile %s\n"
		 "  ProxyJump jumper@bastion.example:2200\n",
		 key, kh);
	lab_write_file(path, text, 0644);
	check_with_config("office-one", path);
	assert_fact("ssh.proxy", "ProxyJump jumper@bastion.example:2200");
	assert_fact("ssh.addr", HOST ":22");
	assert_fact("ssh.auth", "ok");
	assert_findings(want);
	cr_assert_eq(res.exit_code, 1, "warning only");
}

/* `ssh -G` failing without -F (a broken ~/.ssh/config) must not pass silently: an alias
 * defined there does not resolve.  meshdoctor runs as a user of its own whose
 * ~/.ssh/config has a keyword ssh rejects (ssh reads the home directory from the
 * password database, not $HOME). */
Test(lab_ssh, failing_ssh_config_is_reported_not_ignored, .timeout = 60)
{
	const char *want[] = { "ssh-config-failed", NULL };
	char home[300], target_key[400], target_kh[400];

	start_sshd(key_pub, NULL);
	snprintf(user, sizeof(user), "mdcf%d", (int)getpid());
	snprintf(home, sizeof(home), "%s", lab_path(L, "home_cf"));
	snprintf(target_key, sizeof(target_key), "%s/.ssh/id_ed25519", home);
	snprintf(target_kh, sizeof(target_kh), "%s/.ssh/known_hosts", home);
	cr_assert_eq(lab_sh(L, NULL, "useradd -M -N -d %s -s /bin/sh %s", home, user), 0, "useradd");
	cr_assert_eq(lab_sh(L, NULL, "mkdir -p %s/.ssh && cp %s %s && cp %s %s.pub", home, key, target_key,
			    key_pub, target_key),
		     0);
	known_hosts_with(HOST, hostkey_pub);
	cr_assert_eq(lab_sh(L, NULL, "cp %s %s", kh, target_kh), 0);
	lab_write_file(lab_path(L, "home_cf/.ssh/config"),
		       "Host office-one\n  HostName " HOST "\n  HostNmae typo.example\n", 0644);
	cr_assert_eq(lab_sh(L, NULL, "chown -R %s %s && chmod 700 %s/.ssh && chmod 600 %s", user, home, home,
			    target_key),
		     0);
	{
		const char *args[] = { "check", "root@" HOST, "--identity", target_key, "--known-hosts",
				       target_kh, "--probes", "ssh", "--rules", "rules", "--timeout", "5s",
				       "--json", "-", NULL };

		/* root's agent must not reach the user meshdoctor runs as. */
		setenv("SSH_AUTH_SOCK", lab_path(L, "root_agent.sock"), 1);
		cr_assert_eq(lab_run_md_as(L, cli, user, args, 60000, &res), 0);
		unsetenv("SSH_AUTH_SOCK");
		cr_assert(res.report, "no JSON report (exit %d)\n%s\n%s", res.exit_code, res.out, res.err);
	}
	assert_fact("ssh.agent", "none");
	assert_fact("ssh.config", "failed");
	cr_assert(strstr(fact("ssh.config_error"), "Bad configuration option"), "%s",
		  fact("ssh.config_error"));
	assert_fact("ssh.auth", "ok");
	assert_findings(want);
	cr_assert_eq(res.exit_code, 1, "warning only");
	/* The alias from that file: not resolved, and the report says why. */
	lab_md_result_free(&res);
	{
		const char *args[] = { "check", "office-one", "--probes", "ssh", "--rules", "rules",
				       "--timeout", "5s", "--json", "-", NULL };

		cr_assert_eq(lab_run_md_as(L, cli, user, args, 60000, &res), 0);
		cr_assert(res.report, "no JSON report (exit %d)\n%s\n%s", res.exit_code, res.out, res.err);
	}
	assert_fact("ssh.config", "failed");
	assert_fact("ssh.host", "office-one");
	cr_assert(lab_report_has_finding(res.report, "ssh-config-failed"), "%s", res.out);
}

Test(lab_ssh, nothing_listening_is_refused, .timeout = 60)
{
	const char *want[] = { "ssh-connection-refused", NULL };

	keygen(key, "-t ed25519", "");
	lab_write_file(kh, "", 0600);
	check("root@" HOST, key, "5s");
	assert_fact("ssh.tcp", "refused");
	assert_fact("ssh.tcp_error", "connect " HOST ":22: Connection refused");
	assert_findings(want);
	cr_assert_eq(res.exit_code, 2);
}

Test(lab_ssh, dropped_packets_time_out_within_the_deadline, .timeout = 60)
{
	const char *want[] = { "ssh-connection-timeout", NULL };

	start_sshd(key_pub, NULL);
	known_hosts_with(HOST, hostkey_pub);
	cr_assert_eq(lab_sh(L, srv,
			    "nft add table inet mdssh && "
			    "nft add chain inet mdssh in '{ type filter hook input priority 0; policy accept; }' && "
			    "nft add rule inet mdssh in tcp dport 22 drop"),
		     0, "nft");
	check("root@" HOST, key, "3000ms");
	assert_within_deadline(TIMEOUT_MS);
	assert_fact("ssh.tcp", "timeout");
	cr_assert(strstr(fact("ssh.tcp_error"), "connect " HOST ":22"), "%s", fact("ssh.tcp_error"));
	assert_findings(want);
	cr_assert_eq(res.exit_code, 2);
}

Test(lab_ssh, key_not_authorised_is_permission_denied, .timeout = 60)
{
	const char *want[] = { "ssh-permission-denied", NULL };

	keygen(lab_path(L, "other_ed25519"), "-t ed25519", "");
	start_sshd(lab_path(L, "other_ed25519.pub"), NULL);
	known_hosts_with(HOST, hostkey_pub);
	check("root@" HOST, key, "5s");
	assert_fact("ssh.hostkey", "match");
	assert_fact("ssh.auth", "denied");
	assert_fact("ssh.auth_keys_tried", "1");
	assert_fact("ssh.auth_methods_offered", "publickey");
	assert_fact("ssh.auth_rsa_sha1_only", "false");
	cr_assert_null(fact("host.os"), "no session without authentication");
	assert_findings(want);
	cr_assert_eq(res.exit_code, 2);
}

Test(lab_ssh, changed_host_key_stops_before_authentication, .timeout = 60)
{
	const char *want[] = { "ssh-hostkey-changed", NULL };
	char *log;

	keygen(lab_path(L, "impostor"), "-t ed25519", "");
	start_sshd(key_pub, NULL);
	known_hosts_with(HOST, lab_path(L, "impostor.pub"));
	check("root@" HOST, key, "5s");
	assert_fact("ssh.hostkey", "changed");
	assert_fact("ssh.known_hosts_file", kh);
	assert_fact("ssh.known_hosts_line", "1");
	assert_fact("ssh.known_hosts_name", HOST);
	cr_assert_null(fact("ssh.auth"), "authentication must not be attempted");
	assert_findings(want);
	cr_assert_eq(res.exit_code, 2);
	log = lab_read_file(lab_path(L, "sshd.log"));
	cr_assert_null(strstr(log, "publickey"), "sshd saw an authentication attempt:\n%s", log);
	free(log);
}

/* known_hosts holds the host's ECDSA key; the server now offers only ed25519.  OpenSSH
 * (hostfile.c, check_hostkeys_by_key_or_type(): "A non-matching key exists") calls that a
 * changed host key and refuses; accept-new must not record the ed25519 key beside it. */
Test(lab_ssh, key_of_another_type_on_file_is_a_changed_key, .timeout = 60)
{
	const char *want[] = { "ssh-hostkey-changed", NULL };
	char *before, *after, *log;

	keygen(lab_path(L, "old_ecdsa"), "-t ecdsa -b 256", "");
	start_sshd(key_pub, NULL);
	known_hosts_with(HOST, lab_path(L, "old_ecdsa.pub"));
	before = lab_read_file(kh);
	check("root@" HOST, key, "5s");
	assert_fact("ssh.hostkey", "changed");
	assert_fact("ssh.hostkey_type", "ssh-ed25519");
	assert_fact("ssh.hostkey_known_type", "ecdsa-sha2-nistp256");
	cr_assert(strncmp(fact("ssh.hostkey_known_fingerprint"), "SHA256:", 7) == 0);
	assert_fact("ssh.known_hosts_file", kh);
	assert_fact("ssh.known_hosts_line", "1");
	cr_assert_null(fact("ssh.hostkey_added"), "nothing may be recorded");
	cr_assert_null(fact("ssh.auth"), "authentication must not be attempted");
	assert_findings(want);
	cr_assert_eq(res.exit_code, 2);
	after = lab_read_file(kh);
	cr_assert_str_eq(after, before, "known_hosts was modified");
	free(after);
	log = lab_read_file(lab_path(L, "sshd.log"));
	cr_assert_null(strstr(log, "publickey"), "sshd saw an authentication attempt:\n%s", log);
	free(log);
	/* OpenSSH's client refuses the same host with the same file, and leaves it alone. */
	cr_assert_neq(lab_sh(L, cli,
			     "ssh -F %s -o BatchMode=yes -o StrictHostKeyChecking=accept-new "
			     "-o HostKeyAlgorithms=ssh-ed25519 -o UserKnownHostsFile=%s -i %s root@" HOST
			     " true 2>%s",
			     empty_config(), kh, key, lab_path(L, "ssh.err")),
		      0, "ssh logged in although known_hosts holds another key");
	log = lab_read_file(lab_path(L, "ssh.err"));
	cr_assert(strstr(log, "HOST IDENTIFICATION HAS CHANGED"), "ssh said:\n%s", log);
	free(log);
	after = lab_read_file(kh);
	cr_assert_str_eq(after, before, "ssh modified known_hosts");
	free(after);
	free(before);
}

/* Whether this libssh2 asks for RSA host keys with SHA-2 signatures (rsa-sha2-*, 1.11 and
 * later), as the probe finds out. */
static bool libssh2_has_rsa_sha2_hostkeys(void)
{
	LIBSSH2_SESSION *s;
	const char **algs = NULL;
	bool has = false;
	int n;

	libssh2_init(0);
	s = libssh2_session_init();
	cr_assert(s);
	n = libssh2_session_supported_algs(s, LIBSSH2_METHOD_HOSTKEY, &algs);
	for (int i = 0; i < n; i++)
		if (strncmp(algs[i], "rsa-sha2-", 9) == 0)
			has = true;
	if (n > 0)
		libssh2_free(s, (void *)algs);
	libssh2_session_free(s);
	return has;
}

/* `ssh-keygen -lf pub`'s SHA256 fingerprint into out. */
static void fingerprint_of(const char *pub, char *out, size_t n)
{
	char *text, fp[128] = "";

	cr_assert_eq(lab_sh(L, NULL, "ssh-keygen -E sha256 -lf %s > %s", pub, lab_path(L, "fp.txt")), 0);
	text = lab_read_file(lab_path(L, "fp.txt"));
	sscanf(text, "%*s %127s", fp);
	free(text);
	snprintf(out, n, "%s", fp);
}

/* known_hosts holds only the host's RSA key (what years of `ssh` leave); the server
 * (OpenSSH 9.2) has an RSA and an ed25519 host key.  `ssh` asks for rsa-sha2-512 and
 * verifies the RSA key.  libssh2 before 1.11 can ask only for ssh-rsa, which OpenSSH 8.8
 * and later do not offer, so it is shown the ed25519 key: meshdoctor cannot tell whether
 * the host key is the one on file, and must not call it changed. */
Test(lab_ssh, rsa_key_on_file_and_another_presented_is_unverifiable_not_changed, .timeout = 90)
{
	const char *want[] = { "ssh-hostkey-unverifiable", NULL };
	char rsa_host[300], rsa_host_pub[310], extra[400], rsa_fp[128], ed_fp[128], want_file[600];
	char *before, *after, *log, *text;
	const char *ev;

	snprintf(rsa_host, sizeof(rsa_host), "%s", lab_path(L, "hostkey_rsa"));
	snprintf(rsa_host_pub, sizeof(rsa_host_pub), "%s.pub", rsa_host);
	keygen(rsa_host, "-t rsa -b 2048", "");
	snprintf(extra, sizeof(extra), "LogLevel DEBUG1\nHostKey %s\n", rsa_host);
	start_sshd(key_pub, extra);
	/* As a user has it: the RSA key as `ssh-keyscan -t rsa` (or `ssh` long ago) wrote it. */
	cr_assert_eq(lab_sh(L, cli, "ssh-keyscan -t rsa -p 22 " HOST " > %s 2>/dev/null", kh), 0);
	text = lab_read_file(kh);
	cr_assert(strncmp(text, HOST " ssh-rsa AAAA", strlen(HOST) + 13) == 0, "known_hosts: %s", text);
	free(text);
	fingerprint_of(rsa_host_pub, rsa_fp, sizeof(rsa_fp));
	fingerprint_of(hostkey_pub, ed_fp, sizeof(ed_fp));
	before = lab_read_file(kh);
	check("root@" HOST, key, "5s");
	if (libssh2_has_rsa_sha2_hostkeys()) {
		/* libssh2 1.11 and later ask for rsa-sha2-512 first and verify the RSA key. */
		assert_fact("ssh.hostkey", "match");
		assert_fact("ssh.hostkey_type", "ssh-rsa");
		assert_fact("ssh.auth", "ok");
		free(before);
		return;
	}
	assert_fact("ssh.kex", "ok");
	assert_fact("ssh.hostkey", "unverifiable");
	assert_fact("ssh.hostkey_type", "ssh-ed25519");
	assert_fact("ssh.hostkey_fingerprint", ed_fp);
	assert_fact("ssh.hostkey_known_type", "ssh-rsa");
	assert_fact("ssh.hostkey_known_fingerprint", rsa_fp);
	assert_fact("ssh.known_hosts_file", kh);
	assert_fact("ssh.known_hosts_line", "1");
	assert_fact("ssh.libssh2_version", libssh2_version(0));
	ev = lab_report_evidence(res.report, "ssh.hostkey");
	snprintf(want_file, sizeof(want_file), "%s:1 holds ssh-rsa %s", kh, rsa_fp);
	cr_assert(ev && strstr(ev, want_file) && strstr(ev, ed_fp) && strstr(ev, "presented ssh-ed25519"),
		  "the evidence names both keys: %s", ev ? ev : "(none)");
	/* The server still offers its RSA key (read over a second connection): not changed. */
	cr_assert(strstr(ev, "the server still offers an RSA host key"), "%s", ev);
	assert_fact("ssh.server_hostkey_algorithms", "rsa-sha2-512,rsa-sha2-256,ssh-ed25519");
	cr_assert_null(fact("ssh.kex_no_common"));
	cr_assert_null(fact("ssh.hostkey_added"), "nothing may be recorded");
	cr_assert_null(fact("ssh.auth"), "authentication must not be attempted");
	assert_findings(want);
	cr_assert_str_eq(path_result("ssh-hostkey-changed"), "not");
	/* A warning, and the probe did not complete: "could not tell", never critical. */
	cr_assert_eq(res.exit_code, 3, "exit %d\n%s", res.exit_code, res.out);
	cr_assert_str_eq(probe_status("ssh"), "error");
	cr_assert(strstr(probe_message("ssh"), "not verified"), "%s", probe_message("ssh"));
	after = lab_read_file(kh);
	cr_assert_str_eq(after, before, "known_hosts was modified");
	free(after);
	log = lab_read_file(lab_path(L, "sshd.log"));
	cr_assert_null(strstr(log, "userauth-request"), "sshd saw an authentication attempt:\n%s", log);
	free(log);
	/* `ssh` logs in with the same file, without recording anything: it sees no change. */
	cr_assert_eq(lab_sh(L, cli,
			    "ssh -F %s -o BatchMode=yes -o StrictHostKeyChecking=yes -o UpdateHostKeys=no "
			    "-o UserKnownHostsFile=%s -i %s root@" HOST " true",
			    empty_config(), kh, key),
		     0, "ssh did not log in with the RSA key on file");
	after = lab_read_file(kh);
	cr_assert_str_eq(after, before, "ssh modified known_hosts");
	free(after);

	/* The first advice: ssh records the host's other keys (UpdateHostKeys) after verifying
	 * the RSA one; then meshdoctor finds the ed25519 key and logs in. */
	cr_assert_eq(lab_sh(L, cli,
			    "ssh -F %s -o BatchMode=yes -o StrictHostKeyChecking=yes -o UpdateHostKeys=yes "
			    "-o UserKnownHostsFile=%s -i %s root@" HOST " 'sleep 1'",
			    empty_config(), kh, key),
		     0, "ssh -o UpdateHostKeys=yes did not log in");
	after = lab_read_file(kh);
	cr_assert(strstr(after, "ssh-ed25519"), "ssh recorded no ed25519 key: %s", after);
	free(after);
	check("root@" HOST, key, "5s");
	assert_fact("ssh.hostkey", "match");
	assert_fact("ssh.hostkey_type", "ssh-ed25519");
	assert_fact("ssh.auth", "ok");
	cr_assert_eq(res.exit_code, 0, "exit %d\n%s", res.exit_code, res.out);

	/* Another ed25519 key on file beside the RSA one: a key of a type on file that is not
	 * the server's is a changed key, for `ssh` too. */
	keygen(lab_path(L, "old_ed25519"), "-t ed25519", "");
	{
		char line[1200], *pub = lab_read_file(lab_path(L, "old_ed25519.pub")), type[64] = "", b64[900] = "";

		sscanf(pub, "%63s %899s", type, b64);
		free(pub);
		snprintf(line, sizeof(line), "%s" HOST " %s %s\n", before, type, b64);
		lab_write_file(kh, line, 0600);
	}
	check("root@" HOST, key, "5s");
	assert_fact("ssh.hostkey", "changed");
	assert_fact("ssh.hostkey_known_type", "ssh-ed25519");
	assert_fact("ssh.known_hosts_line", "2");
	{
		const char *changed[] = { "ssh-hostkey-changed", NULL };

		assert_findings(changed);
	}
	cr_assert_eq(res.exit_code, 2, "exit %d\n%s", res.exit_code, res.out);
	free(before);
}

/* known_hosts holds only an RSA key for the host, and the server (OpenSSH 9.2) has only
 * an ed25519 host key.  libssh2 before 1.11 cannot ask for rsa-sha2-*, but the server's
 * SSH_MSG_KEXINIT offers no RSA host key algorithm at all: `ssh` too is shown the ed25519
 * key and says REMOTE HOST IDENTIFICATION HAS CHANGED, so meshdoctor says changed. */
Test(lab_ssh, rsa_key_on_file_and_no_rsa_host_key_is_a_changed_key, .timeout = 90)
{
	const char *want[] = { "ssh-hostkey-changed", NULL };
	char rsa_fp[128], ed_fp[128];
	char *before, *after, *log;
	const char *ev;

	keygen(lab_path(L, "old_rsa"), "-t rsa -b 2048", "");
	start_sshd(key_pub, "LogLevel DEBUG1\n");
	known_hosts_with(HOST, lab_path(L, "old_rsa.pub"));
	fingerprint_of(lab_path(L, "old_rsa.pub"), rsa_fp, sizeof(rsa_fp));
	fingerprint_of(hostkey_pub, ed_fp, sizeof(ed_fp));
	before = lab_read_file(kh);
	check("root@" HOST, key, "5s");
	assert_fact("ssh.kex", "ok");
	assert_fact("ssh.hostkey", "changed");
	assert_fact("ssh.hostkey_type", "ssh-ed25519");
	assert_fact("ssh.hostkey_fingerprint", ed_fp);
	assert_fact("ssh.hostkey_known_type", "ssh-rsa");
	assert_fact("ssh.hostkey_known_fingerprint", rsa_fp);
	assert_fact("ssh.known_hosts_file", kh);
	assert_fact("ssh.known_hosts_line", "1");
	if (!libssh2_has_rsa_sha2_hostkeys()) {
		/* libssh2 1.11 and later ask for rsa-sha2-* and need not ask the server. */
		assert_fact("ssh.server_hostkey_algorithms", "ssh-ed25519");
		ev = lab_report_evidence(res.report, "ssh.hostkey");
		cr_assert(ev && strstr(ev, "no longer offers an RSA host key"), "%s", ev ? ev : "(none)");
	}
	cr_assert_null(fact("ssh.hostkey_added"), "nothing may be recorded");
	cr_assert_null(fact("ssh.auth"), "authentication must not be attempted");
	assert_findings(want);
	cr_assert_str_eq(path_result("ssh-hostkey-unverifiable"), "not");
	cr_assert_eq(res.exit_code, 2, "exit %d\n%s", res.exit_code, res.out);
	after = lab_read_file(kh);
	cr_assert_str_eq(after, before, "known_hosts was modified");
	free(after);
	log = lab_read_file(lab_path(L, "sshd.log"));
	cr_assert_null(strstr(log, "userauth-request"), "sshd saw an authentication attempt:\n%s", log);
	free(log);
	/* OpenSSH's client, with its default host key algorithms, refuses the same host. */
	cr_assert_neq(lab_sh(L, cli,
			     "ssh -F %s -o BatchMode=yes -o StrictHostKeyChecking=accept-new "
			     "-o UserKnownHostsFile=%s -i %s root@" HOST " true 2>%s",
			     empty_config(), kh, key, lab_path(L, "ssh.err")),
		      0, "ssh logged in although known_hosts holds an RSA key the server lacks");
	log = lab_read_file(lab_path(L, "ssh.err"));
	cr_assert(strstr(log, "REMOTE HOST IDENTIFICATION HAS CHANGED"), "ssh said:\n%s", log);
	free(log);
	after = lab_read_file(kh);
	cr_assert_str_eq(after, before, "ssh modified known_hosts");
	free(after);
	free(before);
}

/* As above, but sshd takes one unauthenticated connection at a time (MaxStartups 1), so
 * the second connection that would read its SSH_MSG_KEXINIT is closed: whether the server
 * still has an RSA key is not known, and the key stays unverifiable, with the reason. */
Test(lab_ssh, rsa_key_on_file_and_server_lists_unreadable_stays_unverifiable, .timeout = 90)
{
	const char *want[] = { "ssh-hostkey-unverifiable", NULL };
	char *before, *after, *log;
	const char *ev;

	if (libssh2_has_rsa_sha2_hostkeys())
		cr_skip_test("this libssh2 asks for rsa-sha2-*: an RSA key on file is never unverifiable");
	keygen(lab_path(L, "old_rsa"), "-t rsa -b 2048", "");
	start_sshd(key_pub, "LogLevel DEBUG1\nMaxStartups 1\n");
	known_hosts_with(HOST, lab_path(L, "old_rsa.pub"));
	before = lab_read_file(kh);
	check("root@" HOST, key, "5s");
	assert_fact("ssh.hostkey", "unverifiable");
	ev = lab_report_evidence(res.report, "ssh.hostkey");
	cr_assert(ev && strstr(ev, "whether the server still has an RSA host key is not known either "
				   "(its SSH_MSG_KEXINIT could not be read: " HOST ":22 "),
		  "%s", ev ? ev : "(none)");
	cr_assert_null(fact("ssh.server_hostkey_algorithms"));
	cr_assert_null(fact("ssh.auth"), "authentication must not be attempted");
	assert_findings(want);
	cr_assert_eq(res.exit_code, 3, "exit %d\n%s", res.exit_code, res.out);
	after = lab_read_file(kh);
	cr_assert_str_eq(after, before, "known_hosts was modified");
	free(after);
	free(before);
	log = lab_read_file(lab_path(L, "sshd.log"));
	cr_assert_null(strstr(log, "userauth-request"), "sshd saw an authentication attempt:\n%s", log);
	free(log);
}

/* sshd(8): a @revoked key "must not ever be accepted", even where another line lists it
 * for the host.  meshdoctor refuses it as `ssh` does, before any authentication. */
Test(lab_ssh, revoked_host_key_is_refused_like_ssh_does, .timeout = 60)
{
	const char *want[] = { "ssh-hostkey-revoked", NULL };
	char *pub = NULL, type[64] = "", b64[900] = "", text[2048], *log;

	start_sshd(key_pub, NULL);
	pub = lab_read_file(hostkey_pub);
	sscanf(pub, "%63s %899s", type, b64);
	free(pub);
	snprintf(text, sizeof(text), HOST " %s %s\n# retired after the laptop was lost\n@revoked * %s %s\n",
		 type, b64, type, b64);
	lab_write_file(kh, text, 0600);
	check("root@" HOST, key, "5s");
	assert_fact("ssh.hostkey", "revoked");
	assert_fact("ssh.known_hosts_file", kh);
	assert_fact("ssh.known_hosts_line", "3");
	cr_assert_null(fact("ssh.auth"), "authentication must not be attempted");
	assert_findings(want);
	cr_assert_eq(res.exit_code, 2);
	log = lab_read_file(lab_path(L, "sshd.log"));
	cr_assert_null(strstr(log, "publickey"), "sshd saw an authentication attempt:\n%s", log);
	free(log);
	/* OpenSSH's client refuses the same file. */
	cr_assert_neq(lab_sh(L, cli,
			     "ssh -F %s -o BatchMode=yes -o StrictHostKeyChecking=accept-new "
			     "-o UserKnownHostsFile=%s -i %s root@" HOST " true 2>%s",
			     empty_config(), kh, key, lab_path(L, "ssh.err")),
		      0, "ssh logged in with a revoked host key");
	log = lab_read_file(lab_path(L, "ssh.err"));
	cr_assert(strstr(log, "REVOKED"), "ssh said:\n%s", log);
	free(log);
}

/* A server with ed25519 and ECDSA host keys, and a known_hosts that holds only the ECDSA
 * key (recorded by an older client, or pinned by an administrator): `ssh` asks for ECDSA
 * first and finds the key known; so must meshdoctor, without appending a second line. */
Test(lab_ssh, host_key_of_the_type_on_file_is_asked_for, .timeout = 60)
{
	char extra[400], *before, *after;

	keygen(lab_path(L, "hostkey_ecdsa"), "-t ecdsa -b 256", "");
	snprintf(extra, sizeof(extra), "HostKey %s\n", lab_path(L, "hostkey_ecdsa"));
	start_sshd(key_pub, extra);
	known_hosts_with(HOST, lab_path(L, "hostkey_ecdsa.pub"));
	before = lab_read_file(kh);
	check("root@" HOST, key, "5s");
	assert_fact("ssh.hostkey", "match");
	assert_fact("ssh.hostkey_type", "ecdsa-sha2-nistp256");
	cr_assert_null(fact("ssh.hostkey_added"), "no second key recorded");
	assert_fact("ssh.auth", "ok");
	cr_assert_eq(lab_report_n_findings(res.report), 0, "%s", res.out);
	after = lab_read_file(kh);
	cr_assert_str_eq(after, before, "known_hosts changed");
	free(before);
	free(after);
	/* The same file with only the ed25519 key: ed25519 is asked for, as before. */
	known_hosts_with(HOST, hostkey_pub);
	check("root@" HOST, key, "5s");
	assert_fact("ssh.hostkey", "match");
	assert_fact("ssh.hostkey_type", "ssh-ed25519");
}

Test(lab_ssh, unknown_host_key_is_accepted_and_recorded, .timeout = 60)
{
	const char *want[] = { "ssh-hostkey-added", NULL };
	char dir[300];
	struct stat st;

	start_sshd(key_pub, NULL);
	snprintf(dir, sizeof(dir), "%s", lab_path(L, "home/.ssh"));
	snprintf(kh, sizeof(kh), "%s/known_hosts", dir); /* neither exists yet */
	check("root@" HOST, key, "5s");
	assert_fact("ssh.hostkey", "unknown");
	assert_fact("ssh.hostkey_added", "true");
	assert_fact("ssh.hostkey_added_to", kh);
	assert_fact("ssh.auth", "ok");
	assert_findings(want);
	cr_assert_eq(res.exit_code, 0, "info findings only");
	cr_assert_eq(stat(dir, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0700, "dir mode %o", st.st_mode & 0777);
	cr_assert_eq(stat(kh, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "known_hosts mode %o", st.st_mode & 0777);
	/* The next run finds it, as `ssh` would. */
	check("root@" HOST, key, "5s");
	assert_fact("ssh.hostkey", "match");
	cr_assert_eq(lab_report_n_findings(res.report), 0, "%s", res.out);
	/* And OpenSSH accepts the line meshdoctor wrote. */
	cr_assert_eq(lab_sh(L, cli,
			    "ssh -F %s -o BatchMode=yes -o StrictHostKeyChecking=yes "
			    "-o UserKnownHostsFile=%s -i %s root@" HOST " true", empty_config(), kh, key),
		     0, "ssh rejected the recorded key");
}

/* ssh_config(5) HashKnownHosts yes: the new key's line names the host hashed, and
 * OpenSSH's own tools find it. */
Test(lab_ssh, ssh_config_hash_known_hosts_writes_a_hashed_line, .timeout = 60)
{
	char text[1024], path[300], *written;

	start_sshd(key_pub, NULL);
	snprintf(path, sizeof(path), "%s", lab_path(L, "hash_config"));
	snprintf(text, sizeof(text),
		 "Host office-one\n  HostName " HOST "\n  User root\n  IdentityFile %s\n"
		 "  UserKnownHostsFile %s\n  HashKnownHosts yes\n",
		 key, kh);
	lab_write_file(path, text, 0644);
	check_with_config("office-one", path);
	assert_fact("ssh.hostkey", "unknown");
	assert_fact("ssh.hostkey_added", "true");
	assert_fact("ssh.auth", "ok");
	written = lab_read_file(kh);
	cr_assert(strncmp(written, "|1|", 3) == 0, "not hashed: %s", written);
	cr_assert_null(strstr(written, HOST), "the address is in the clear: %s", written);
	free(written);
	cr_assert_eq(lab_sh(L, NULL, "ssh-keygen -F " HOST " -f %s | grep -q 'found: line 1'", kh), 0,
		     "ssh-keygen -F does not find the line");
	check_with_config("office-one", path);
	assert_fact("ssh.hostkey", "match");
	cr_assert_eq(lab_sh(L, cli, "ssh -F %s -o BatchMode=yes -o StrictHostKeyChecking=yes office-one true",
			    path),
		     0, "ssh rejected the recorded key");
}

/* A known_hosts file meshdoctor cannot read (here the system-wide one, root's 0600, read
 * by another user) may hold another key for the host.  OpenSSH skips the file; meshdoctor
 * reads the others the same way but neither records the key nor logs in, and says why. */
Test(lab_ssh, unreadable_known_hosts_file_stops_accept_new, .timeout = 60)
{
	const char *want[] = { "ssh-hostkey-unchecked", NULL };
	char home[300], ukey[400], ukh[400], global[300], cfg[400], text[1500], *log, *after;

	start_sshd(key_pub, NULL);
	snprintf(user, sizeof(user), "mdkh%d", (int)getpid());
	snprintf(home, sizeof(home), "%s", lab_path(L, "home_kh"));
	snprintf(ukey, sizeof(ukey), "%s/.ssh/id_ed25519", home);
	snprintf(ukh, sizeof(ukh), "%s/.ssh/known_hosts", home);
	snprintf(cfg, sizeof(cfg), "%s/ssh_config", home);
	snprintf(global, sizeof(global), "%s", lab_path(L, "global_known_hosts"));
	cr_assert_eq(lab_sh(L, NULL, "useradd -M -N -d %s -s /bin/sh %s", home, user), 0, "useradd");
	cr_assert_eq(lab_sh(L, NULL, "mkdir -p %s/.ssh && cp %s %s && cp %s %s.pub && : > %s", home, key,
			    ukey, key_pub, ukey, ukh),
		     0);
	snprintf(text, sizeof(text),
		 "Host office-one\n  HostName " HOST "\n  User root\n  IdentityFile %s\n"
		 "  UserKnownHostsFile %s\n  GlobalKnownHostsFile %s\n",
		 ukey, ukh, global);
	lab_write_file(cfg, text, 0644);
	known_hosts_with(HOST, hostkey_pub);
	cr_assert_eq(lab_sh(L, NULL, "cp %s %s && chmod 600 %s", kh, global, global), 0);
	cr_assert_eq(lab_sh(L, NULL, "chown -R %s %s && chmod 700 %s/.ssh && chmod 600 %s && chmod 755 %s",
			    user, home, home, ukey, lab_path(L, "")),
		     0);
	{
		const char *args[] = { "check", "office-one", "-F", cfg, "--probes", "ssh", "--rules", "rules",
				       "--timeout", "5s", "--json", "-", NULL };

		cr_assert_eq(lab_run_md_as(L, cli, user, args, 60000, &res), 0);
		cr_assert(res.report, "no JSON report (exit %d)\n%s\n%s", res.exit_code, res.out, res.err);
	}
	assert_fact("ssh.hostkey", "unchecked");
	cr_assert(strstr(fact("ssh.known_hosts_unread"), "global_known_hosts: Permission denied"), "%s",
		  fact("ssh.known_hosts_unread"));
	cr_assert_null(fact("ssh.hostkey_added"), "nothing may be recorded");
	cr_assert_null(fact("ssh.auth"), "authentication must not be attempted");
	assert_findings(want);
	cr_assert_eq(res.exit_code, 3, "could not tell: exit %d", res.exit_code);
	after = lab_read_file(ukh);
	cr_assert_str_eq(after, "", "the user's known_hosts was written: %s", after);
	free(after);
	log = lab_read_file(lab_path(L, "sshd.log"));
	cr_assert_null(strstr(log, "publickey"), "sshd saw an authentication attempt:\n%s", log);
	free(log);
	/* Readable again: the key matches there and the check logs in. */
	cr_assert_eq(lab_sh(L, NULL, "chmod 644 %s", global), 0);
	lab_md_result_free(&res);
	{
		const char *args[] = { "check", "office-one", "-F", cfg, "--probes", "ssh", "--rules", "rules",
				       "--timeout", "5s", "--json", "-", NULL };

		cr_assert_eq(lab_run_md_as(L, cli, user, args, 60000, &res), 0);
		cr_assert(res.report, "no JSON report (exit %d)\n%s\n%s", res.exit_code, res.out, res.err);
	}
	assert_fact("ssh.hostkey", "match");
	assert_fact("ssh.auth", "ok");
}

Test(lab_ssh, http_listener_is_not_ssh, .timeout = 60)
{
	const char *want[] = { "ssh-not-ssh-server", NULL };

	keygen(key, "-t ed25519", "");
	lab_write_file(kh, "", 0600);
	start_fake("http");
	check("root@" HOST, key, "5s");
	assert_fact("ssh.tcp", "connected");
	assert_fact("ssh.banner_status", "not-ssh");
	cr_assert(strncmp(fact("ssh.first_bytes"), "HTTP/1.1 400 Bad Request\\r\\n", 28) == 0, "%s",
		  fact("ssh.first_bytes"));
	assert_findings(want);
	cr_assert_lt(res.elapsed_ms, 3000, "not-SSH should be quick: %lld ms", (long long)res.elapsed_ms);
}

Test(lab_ssh, listener_that_answers_only_when_spoken_to_is_not_ssh, .timeout = 60)
{
	const char *want[] = { "ssh-not-ssh-server", NULL };

	keygen(key, "-t ed25519", "");
	lab_write_file(kh, "", 0600);
	start_fake("http-wait");
	check("root@" HOST, key, "5s");
	assert_fact("ssh.banner_status", "not-ssh");
	cr_assert(strncmp(fact("ssh.first_bytes"), "HTTP/1.1 400", 12) == 0, "%s", fact("ssh.first_bytes"));
	assert_findings(want);
}

Test(lab_ssh, silent_listener_has_no_banner_and_the_deadline_holds, .timeout = 60)
{
	const char *want[] = { "ssh-no-banner", NULL };

	keygen(key, "-t ed25519", "");
	lab_write_file(kh, "", 0600);
	start_fake("silent");
	check("root@" HOST, key, "3000ms");
	assert_within_deadline(TIMEOUT_MS);
	assert_fact("ssh.tcp", "connected");
	assert_fact("ssh.banner_status", "none");
	cr_assert_null(fact("ssh.banner"));
	assert_findings(want);
	cr_assert_eq(res.exit_code, 2);
}

Test(lab_ssh, listener_that_closes_at_once, .timeout = 60)
{
	const char *want[] = { "ssh-closed-before-banner", NULL };

	keygen(key, "-t ed25519", "");
	lab_write_file(kh, "", 0600);
	start_fake("close");
	check("root@" HOST, key, "5s");
	assert_fact("ssh.banner_status", "closed");
	assert_findings(want);
}

Test(lab_ssh, windows_banner_is_recognised, .timeout = 60)
{
	const char *want[] = { "ssh-handshake-failed", NULL };

	keygen(key, "-t ed25519", "");
	lab_write_file(kh, "", 0600);
	start_fake("windows");
	check("steve@" HOST, key, "3000ms");
	assert_within_deadline(TIMEOUT_MS);
	assert_fact("ssh.banner_status", "ok");
	assert_fact("ssh.banner", "SSH-2.0-OpenSSH_for_Windows_9.5");
	assert_fact("ssh.server_software", "OpenSSH_for_Windows_9.5");
	assert_fact("ssh.server_windows", "true");
	assert_fact("ssh.kex", "timeout");
	assert_findings(want);
}

/* A server that sends its banner and closes the connection when the client answers: the
 * key exchange fails, and the second connection that would read the server's
 * SSH_MSG_KEXINIT ends the same way, so there are no lists to compare.  The failure then
 * stays critical, and the evidence says why the lists could not be read. */
Test(lab_ssh, kexinit_unreadable_after_a_failed_key_exchange_stays_critical, .timeout = 60)
{
	const char *want[] = { "ssh-handshake-failed", NULL };
	const char *ev;

	keygen(key, "-t ed25519", "");
	lab_write_file(kh, "", 0600);
	start_fake("banner-close");
	check("root@" HOST, key, "5s");
	assert_within_deadline(5000);
	assert_fact("ssh.banner_status", "ok");
	assert_fact("ssh.banner", "SSH-2.0-OpenSSH_9.2p1");
	assert_fact("ssh.kex", "failed");
	ev = lab_report_evidence(res.report, "ssh.kex_error");
	cr_assert(ev && strstr(ev, "the server's algorithm lists could not be read: " HOST ":22 closed the connection") &&
			  strstr(ev, "before a complete SSH_MSG_KEXINIT"),
		  "%s", ev ? ev : "(none)");
	cr_assert_null(fact("ssh.kex_no_common"));
	cr_assert_null(fact("ssh.server_hostkey_algorithms"));
	assert_findings(want);
	cr_assert_eq(res.exit_code, 2, "exit %d\n%s", res.exit_code, res.out);
	cr_assert_str_eq(probe_status("ssh"), "ok");
}

Test(lab_ssh, sudo_that_needs_a_password_is_a_warning, .timeout = 60)
{
	const char *want[] = { "ssh-sudo-needs-password", NULL };
	char target[64], keys_file[300], line[300], *ev;
	const cJSON *f;
	bool found;

	/* A user of its own (pid-unique: other test processes may run at the same time).
	 * usermod -p '*': Debian's useradd locks the account, and with UsePAM no sshd
	 * refuses locked accounts ("account is locked"). */
	snprintf(user, sizeof(user), "mdsu%d", (int)getpid());
	cr_assert_eq(lab_sh(L, NULL, "useradd -M -N -d /nonexistent -s /bin/sh %s && usermod -p '*' %s",
			    user, user),
		     0, "useradd %s", user);
	snprintf(line, sizeof(line), "%s ALL=(ALL) ALL\n", user);
	snprintf(keys_file, sizeof(keys_file), "/etc/sudoers.d/mdlab-%s", user);
	lab_write_file(keys_file, line, 0440);
	start_sshd(key_pub, NULL);
	snprintf(keys_file, sizeof(keys_file), "%s/%s", lab_path(L, "keys"), user);
	cr_assert_eq(lab_sh(L, NULL, "cp %s %s && chmod 644 %s", key_pub, keys_file, keys_file), 0);
	known_hosts_with(HOST, hostkey_pub);
	snprintf(target, sizeof(target), "%s@" HOST, user);
	check(target, key, "5s");
	assert_fact("ssh.auth", "ok");
	assert_fact("host.os", "linux");
	assert_fact("host.sudo", "password");
	assert_findings(want);
	cr_assert_eq(res.exit_code, 1, "warning only");
	f = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(res.report, "findings"), 0);
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(f, "remedy")->valuestring, "prepare-sudo");
	ev = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(f, "evidence"));
	found = ev && strstr(ev, "sudo: a password is required");
	free(ev);
	cr_assert(found, "evidence lacks sudo's message\n%s", res.out);
}

Test(lab_ssh, rsa_key_refused_for_sha1_while_ssh_logs_in, .timeout = 60)
{
	const char *want[] = { "ssh-rsa-sha1-only", NULL };
	char rsa[300], rsa_pub[310];
	char *log;

	snprintf(rsa, sizeof(rsa), "%s", lab_path(L, "client_rsa"));
	snprintf(rsa_pub, sizeof(rsa_pub), "%s.pub", rsa);
	keygen(rsa, "-t rsa -b 2048", "");
	start_sshd(rsa_pub, NULL);
	known_hosts_with(HOST, hostkey_pub);
	check("root@" HOST, rsa, "5s");
	assert_fact("ssh.auth", "denied");
	assert_fact("ssh.auth_rsa_sha1_only", "true");
	assert_findings(want);
	cr_assert_str_eq(path_result("ssh-permission-denied"), "superseded");
	/* The same key, authorised, logs in with OpenSSH's client (rsa-sha2-512). */
	cr_assert_eq(lab_sh(L, cli,
			    "ssh -F %s -o BatchMode=yes -o StrictHostKeyChecking=yes "
			    "-o UserKnownHostsFile=%s -i %s root@" HOST " true", empty_config(), kh, rsa),
		     0, "ssh -i %s should log in", rsa);
	log = lab_read_file(lab_path(L, "sshd.log"));
	cr_assert(strstr(log, "ssh-rsa not in PubkeyAcceptedAlgorithms"), "sshd log:\n%s", log);
	free(log);
}

/* `ssh` with the lab's known_hosts and the client key logs in to HOST: 0, or ssh's exit. */
static int real_ssh_logs_in(void)
{
	return lab_sh(L, cli,
		      "ssh -F %s -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=%s "
		      "-i %s root@" HOST " true",
		      empty_config(), kh, key);
}

/* The only host key is RSA: OpenSSH 9.2 offers it as rsa-sha2-512 and rsa-sha2-256, not as
 * ssh-rsa (SHA-1, disabled since OpenSSH 8.8), and libssh2 before 1.11 can verify an RSA
 * host key only as ssh-rsa.  `ssh` logs in; meshdoctor must say that the limit is its own,
 * not report a failed handshake as a fault of the host. */
Test(lab_ssh, rsa_only_host_key_is_not_blamed_on_the_host, .timeout = 60)
{
	const char *want[] = { "ssh-hostkey-rsa-sha2-only", NULL };
	char rsa_host[300], rsa_host_pub[310];
	const char *ev;

	snprintf(rsa_host, sizeof(rsa_host), "%s", lab_path(L, "hostkey_rsa"));
	snprintf(rsa_host_pub, sizeof(rsa_host_pub), "%s.pub", rsa_host);
	keygen(rsa_host, "-t rsa -b 2048", "");
	keygen(key, "-t ed25519", "");
	start_sshd_hostkey(key_pub, "LogLevel DEBUG1\n", rsa_host);
	known_hosts_with(HOST, rsa_host_pub);
	check("root@" HOST, key, "5s");
	assert_within_deadline(5000);
	if (libssh2_version(0x010b00)) {
		/* libssh2 1.11 and later verify rsa-sha2-* host keys: nothing to explain. */
		assert_fact("ssh.kex", "ok");
		cr_assert_null(fact("ssh.kex_no_common"));
		cr_assert_eq(sshd_idents("meshdoctor_"), 0);
		return;
	}
	assert_fact("ssh.kex", "failed");
	assert_fact("ssh.kex_no_common", "hostkey");
	assert_fact("ssh.server_hostkey_algorithms", "rsa-sha2-512,rsa-sha2-256");
	cr_assert(strstr(fact("ssh.server_kex_algorithms"), "curve25519-sha256"), "%s",
		  fact("ssh.server_kex_algorithms"));
	cr_assert(strstr(fact("ssh.server_ciphers"), "aes256-ctr"), "%s", fact("ssh.server_ciphers"));
	cr_assert(strstr(fact("ssh.server_macs"), "hmac-sha2-256"), "%s", fact("ssh.server_macs"));
	assert_fact("ssh.libssh2_version", libssh2_version(0));
	assert_fact("ssh.kex_no_common_server", "rsa-sha2-512,rsa-sha2-256");
	cr_assert(strstr(fact("ssh.kex_no_common_client"), "ssh-rsa"), "%s", fact("ssh.kex_no_common_client"));
	ev = lab_report_evidence(res.report, "ssh.kex_no_common");
	cr_assert(ev && strstr(ev, "offers rsa-sha2-512,rsa-sha2-256") && strstr(ev, "ssh-ed25519") &&
			  strstr(ev, "ssh-rsa"),
		  "the evidence names both lists: %s", ev ? ev : "(none)");
	assert_findings(want);
	cr_assert_str_eq(path_result("ssh-handshake-failed"), "superseded");
	cr_assert_str_eq(path_result("ssh-kex-no-common-algorithm"), "superseded");
	/* A warning, and the probe did not complete: "could not tell", never critical. */
	cr_assert_eq(res.exit_code, 3, "exit %d\n%s", res.exit_code, res.out);
	cr_assert_str_eq(probe_status("ssh"), "error");
	cr_assert(strstr(probe_message("ssh"), "no hostkey algorithm in common with libssh2"), "%s",
		  probe_message("ssh"));
	/* One more connection, which sent only an identification. */
	cr_assert_eq(sshd_idents("libssh2_"), 1);
	cr_assert_eq(sshd_idents("meshdoctor_"), 1);
	/* And `ssh` itself logs in to the same server (with rsa-sha2-512). */
	cr_assert_eq(real_ssh_logs_in(), 0, "ssh did not log in");
}

/* sshd_config restricted to a cipher this libssh2 lacks: the category is named, as a
 * warning; `ssh` logs in. */
Test(lab_ssh, cipher_libssh2_lacks_is_named_and_not_blamed_on_the_host, .timeout = 60)
{
	const char *want[] = { "ssh-kex-no-common-algorithm", NULL };
	LIBSSH2_SESSION *s;
	const char **algs = NULL;
	bool lacks = true;
	int n;

	/* The case needs a libssh2 without chacha20-poly1305 (1.10 has none). */
	libssh2_init(0);
	s = libssh2_session_init();
	cr_assert(s);
	n = libssh2_session_supported_algs(s, LIBSSH2_METHOD_CRYPT_CS, &algs);
	for (int i = 0; i < n; i++)
		if (strcmp(algs[i], "chacha20-poly1305@openssh.com") == 0)
			lacks = false;
	if (n > 0)
		libssh2_free(s, (void *)algs);
	libssh2_session_free(s);
	cr_assert(lacks, "libssh2 %s supports chacha20-poly1305@openssh.com: this case needs another cipher",
		  libssh2_version(0));

	start_sshd(key_pub, "Ciphers chacha20-poly1305@openssh.com\n");
	known_hosts_with(HOST, hostkey_pub);
	check("root@" HOST, key, "5s");
	assert_fact("ssh.kex", "failed");
	assert_fact("ssh.kex_no_common", "cipher");
	assert_fact("ssh.server_ciphers", "chacha20-poly1305@openssh.com");
	assert_fact("ssh.server_hostkey_algorithms", "ssh-ed25519");
	assert_fact("ssh.kex_no_common_server", "chacha20-poly1305@openssh.com");
	cr_assert(strstr(fact("ssh.kex_no_common_client"), "aes256-ctr"), "%s", fact("ssh.kex_no_common_client"));
	cr_assert(strstr(lab_report_evidence(res.report, "ssh.kex_no_common"),
			 "no cipher in common (client to server)"),
		  "%s", lab_report_evidence(res.report, "ssh.kex_no_common"));
	assert_findings(want);
	cr_assert_str_eq(path_result("ssh-handshake-failed"), "superseded");
	cr_assert_eq(res.exit_code, 3, "exit %d\n%s", res.exit_code, res.out);
	cr_assert_eq(real_ssh_logs_in(), 0, "ssh did not log in");
}

/* sshd_config PubkeyAuthentication no: the server offers only passwords.  The key may be
 * in authorized_keys or not; what is wrong is that the server takes no key at all. */
Test(lab_ssh, server_without_publickey_is_not_blamed_on_authorized_keys, .timeout = 60)
{
	const char *want[] = { "ssh-publickey-not-offered", NULL };
	char *log;

	start_sshd(key_pub, "PubkeyAuthentication no\nPasswordAuthentication yes\n");
	known_hosts_with(HOST, hostkey_pub);
	check("root@" HOST, key, "5s");
	assert_fact("ssh.auth", "denied");
	assert_fact("ssh.auth_methods_offered", "password");
	assert_fact("ssh.auth_keys_tried", "0");
	assert_findings(want);
	cr_assert_str_eq(path_result("ssh-permission-denied"), "superseded");
	cr_assert_eq(res.exit_code, 2);
	log = lab_read_file(lab_path(L, "sshd.log"));
	cr_assert_null(strstr(log, "Accepted publickey"), "sshd log:\n%s", log);
	free(log);
}

Test(lab_ssh, passphrase_key_only_means_no_usable_key, .timeout = 60)
{
	const char *want[] = { "ssh-no-usable-key", NULL };

	keygen(key, "-t ed25519", "secret");
	start_sshd(key_pub, NULL);
	known_hosts_with(HOST, hostkey_pub);
	check("root@" HOST, key, "5s");
	assert_fact("ssh.auth", "denied");
	assert_fact("ssh.auth_keys_tried", "0");
	assert_fact("ssh.identity_encrypted", key);
	assert_findings(want);
}

Test(lab_ssh, no_route_is_unreachable, .timeout = 60)
{
	const char *want[] = { "ssh-host-unreachable", NULL };

	keygen(key, "-t ed25519", "");
	lab_write_file(kh, "", 0600);
	check("root@10.99.0.1", key, "5s");
	assert_fact("ssh.tcp", "unreachable");
	assert_fact("ssh.tcp_error", "connect 10.99.0.1:22: Network is unreachable");
	assert_findings(want);
}

Test(lab_ssh, names_that_do_not_resolve, .timeout = 60)
{
	const char *plain[] = { "ssh-name-not-resolved", NULL };
	const char *mdns[] = { "ssh-mdns-name-not-resolved", NULL };

	keygen(key, "-t ed25519", "");
	lab_write_file(kh, "", 0600);
	/* RFC 2606: .invalid never resolves; the client namespace has no route to any DNS
	 * server, so nothing leaves the machine. */
	check("root@nosuch.invalid", key, "5s");
	assert_fact("ssh.tcp", "no-such-host");
	cr_assert(strncmp(fact("ssh.tcp_error"), "resolve nosuch.invalid: ", 24) == 0, "%s",
		  fact("ssh.tcp_error"));
	assert_findings(plain);
	check("steve@office-one.local", key, "5s");
	assert_fact("ssh.tcp", "no-such-host");
	assert_findings(mdns);
	cr_assert_str_eq(path_result("ssh-name-not-resolved"), "superseded");
}

/* ---- md_session_exec() over a real session ---- */

extern const struct md_probe probe_ssh, probe_host;

/* Moves this test process into the client namespace (the traffic rule in lab.h: clients
 * never dial from the root namespace) and checks that it got there. */
static void enter_client_ns(void)
{
	char path[256];
	struct stat want, self;
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", cli);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s", path);
	cr_assert_eq(setns(fd, CLONE_NEWNET), 0, "setns %s", cli);
	close(fd);
	cr_assert_eq(stat(path, &want), 0);
	cr_assert_eq(stat("/proc/self/ns/net", &self), 0);
	cr_assert_eq(want.st_ino, self.st_ino, "not in %s", cli);
}

Test(lab_ssh, session_exec_stdin_stderr_status_signal_cap_and_deadline, .timeout = 60)
{
	struct md_target t = { 0 };
	struct md_target_opts o = { .identity = key, .known_hosts = kh, .no_ssh_config = true };
	struct md_options opt = { .timeout_ms = 10000 };
	struct md_ctx ctx = { .target = &t, .opt = &opt };
	struct md_deadline dl = md_deadline_after(md_now_ms(), 10000), short_dl;
	struct md_facts f;
	struct md_exec x;
	struct md_err err = { 0 };
	int64_t t0;

	start_sshd(key_pub, NULL);
	known_hosts_with(HOST, hostkey_pub);
	enter_client_ns();
	md_facts_init(&f);
	md_exec_init(&x);
	cr_assert_eq(md_target_parse("root@" HOST, &t, &err), MD_OK, "%s", err.msg);
	cr_assert_eq(md_target_resolve(&t, &o, &dl, &err), MD_OK, "%s", err.msg);
	ctx.deadline = dl;
	cr_assert_eq(probe_ssh.run(&ctx, &f, &err), MD_OK, "%s", err.msg);
	cr_assert(ctx.session, "no session: ssh.auth = %s", md_facts_str(&f, "ssh.auth"));
	cr_assert_null(md_session_os(ctx.session), "an OpenSSH banner says nothing of the OS");
	cr_assert_eq(probe_host.run(&ctx, &f, &err), MD_OK, "%s", err.msg);
	cr_assert_str_eq(md_facts_str(&f, "host.os"), "linux");

	/* stdin is written, then EOF: cat ends. */
	cr_assert_eq(md_session_exec(ctx.session, "cat", "secret on stdin\n", 16, &x, &dl, &err), MD_OK,
		     "%s", err.msg);
	cr_assert_str_eq(md_buf_str(&x.out), "secret on stdin\n");
	cr_assert_eq(x.exit_status, 0);

	/* stdout and stderr apart, the exit status. */
	cr_assert_eq(md_session_exec(ctx.session, "echo out; echo err >&2; exit 3", NULL, 0, &x, &dl, &err),
		     MD_OK, "%s", err.msg);
	cr_assert_str_eq(md_buf_str(&x.out), "out\n");
	cr_assert_str_eq(md_buf_str(&x.err), "err\n");
	cr_assert_eq(x.exit_status, 3);

	/* A signal instead of a status. */
	cr_assert_eq(md_session_exec(ctx.session, "kill -TERM $$", NULL, 0, &x, &dl, &err), MD_OK, "%s",
		     err.msg);
	cr_assert_str_eq(x.exit_signal, "TERM");
	cr_assert_eq(x.exit_status, -1);

	/* Output over the cap is an error, not a silent truncation; the session survives. */
	cr_assert_eq(md_session_exec(ctx.session, "head -c 5000000 /dev/zero", NULL, 0, &x, &dl, &err),
		     MD_ETOOBIG);
	md_err_clear(&err);
	cr_assert_eq(md_session_exec(ctx.session, "echo again", NULL, 0, &x, &dl, &err), MD_OK, "%s",
		     err.msg);
	cr_assert_str_eq(md_buf_str(&x.out), "again\n");

	/* The deadline holds; the session is not used after a half-finished command. */
	t0 = md_now_ms();
	short_dl = md_deadline_after(t0, 1000);
	cr_assert_eq(md_session_exec(ctx.session, "sleep 30", NULL, 0, &x, &short_dl, &err),
		     MD_ETIMEOUT);
	cr_assert_leq(md_now_ms() - t0, 1100, "exec took %lld ms", (long long)(md_now_ms() - t0));
	cr_assert(strstr(err.msg, "sleep 30"), "%s", err.msg);
	md_err_clear(&err);
	cr_assert_eq(md_session_exec(ctx.session, "true", NULL, 0, &x, &dl, &err), MD_EIO);
	t0 = md_now_ms();
	md_session_free(ctx.session);
	cr_assert_leq(md_now_ms() - t0, 500, "free took %lld ms", (long long)(md_now_ms() - t0));
	md_exec_cleanup(&x);
	md_facts_cleanup(&f);
	md_target_cleanup(&t);
}

Test(lab_ssh, agent_key_is_tried_first, .timeout = 60)
{
	char sock[300], rsa[300];

	snprintf(sock, sizeof(sock), "%s", lab_path(L, "agent.sock"));
	snprintf(rsa, sizeof(rsa), "%s", lab_path(L, "unauthorised_rsa"));
	keygen(rsa, "-t rsa -b 2048", "");
	start_sshd(key_pub, NULL);
	known_hosts_with(HOST, hostkey_pub);
	start_agent(sock, key);
	setenv("SSH_AUTH_SOCK", sock, 1);
	/* The identity file is not authorised: only the agent's key can log in. */
	check("root@" HOST, rsa, "5s");
	assert_fact("ssh.auth", "ok");
	assert_fact("ssh.auth_method", "agent");
	assert_fact("ssh.auth_keys_tried", "1");
	cr_assert_eq(lab_report_n_findings(res.report), 0, "%s", res.out);
}

/* An agent that accepts the connection and never answers: `ssh` would hang on it for
 * ever.  meshdoctor gives it part of the deadline, says so, and still logs in with the
 * identity file. */
Test(lab_ssh, silent_agent_is_bounded_and_identity_files_still_tried, .timeout = 60)
{
	const char *want[] = { "ssh-agent-unresponsive", NULL };
	char sock[300], want_method[400];

	snprintf(sock, sizeof(sock), "%s", lab_path(L, "silent.sock"));
	start_sshd(key_pub, NULL);
	known_hosts_with(HOST, hostkey_pub);
	start_fake_agent("silent", sock, NULL);
	setenv("SSH_AUTH_SOCK", sock, 1);
	check_within("root@" HOST, key, "3000ms", 15000);
	assert_within_deadline(TIMEOUT_MS);
	assert_fact("ssh.agent", "unresponsive");
	assert_fact("ssh.agent_socket", sock);
	assert_fact("ssh.auth", "ok");
	snprintf(want_method, sizeof(want_method), "publickey:%s", key);
	assert_fact("ssh.auth_method", want_method);
	assert_findings(want);
	cr_assert_eq(res.exit_code, 1, "warning only");
}

/* An agent that lists a key and never signs with it (a confirmation nobody gives): the
 * signature request is bounded too, and the same key from its file logs in. */
Test(lab_ssh, agent_that_never_signs_is_bounded, .timeout = 60)
{
	const char *want[] = { "ssh-agent-unresponsive", NULL };
	char sock[300], want_method[400];

	snprintf(sock, sizeof(sock), "%s", lab_path(L, "hang.sock"));
	start_sshd(key_pub, NULL);
	known_hosts_with(HOST, hostkey_pub);
	start_fake_agent("sign-hang", sock, key_pub);
	setenv("SSH_AUTH_SOCK", sock, 1);
	check_within("root@" HOST, key, "3000ms", 15000);
	assert_within_deadline(TIMEOUT_MS);
	assert_fact("ssh.agent", "unresponsive");
	assert_fact("ssh.auth", "ok");
	snprintf(want_method, sizeof(want_method), "publickey:%s", key);
	assert_fact("ssh.auth_method", want_method);
	assert_fact("ssh.auth_keys_tried", "2");
	assert_findings(want);
}

/* An agent that signs with another algorithm than the one asked for: the signature is
 * not sent (the server would refuse it, and the key would look unauthorised); the key is
 * named with both algorithms and the identity file still logs in. */
Test(lab_ssh, agent_signing_with_another_algorithm_is_not_blamed_on_the_server, .timeout = 60)
{
	char sock[300], want_method[400];
	const char *ev;

	snprintf(sock, sizeof(sock), "%s", lab_path(L, "wrong.sock"));
	start_sshd(key_pub, NULL);
	known_hosts_with(HOST, hostkey_pub);
	start_fake_agent("sign-wrong-alg", sock, key_pub);
	setenv("SSH_AUTH_SOCK", sock, 1);
	check("root@" HOST, key, "5s");
	assert_fact("ssh.agent", "ok");
	ev = lab_report_evidence(res.report, "ssh.agent");
	cr_assert(ev && strstr(ev, "the agent signed with ssh-rsa, ssh-ed25519 was requested"), "%s",
		  ev ? ev : "(none)");
	assert_fact("ssh.auth", "ok");
	snprintf(want_method, sizeof(want_method), "publickey:%s", key);
	assert_fact("ssh.auth_method", want_method);
	assert_fact("ssh.auth_keys_tried", "1");
	cr_assert_eq(lab_report_n_findings(res.report), 0, "%s", res.out);
}

/* An agent whose answer is over the size limit leaves its connection out of step (the
 * rest of that answer is never read): it is not asked again, and the identity files
 * are. */
Test(lab_ssh, agent_answer_over_the_limit_makes_the_agent_unusable, .timeout = 60)
{
	char sock[300], want_method[400];
	const char *ev;

	snprintf(sock, sizeof(sock), "%s", lab_path(L, "big.sock"));
	start_sshd(key_pub, NULL);
	known_hosts_with(HOST, hostkey_pub);
	start_fake_agent("sign-toobig", sock, key_pub);
	setenv("SSH_AUTH_SOCK", sock, 1);
	check("root@" HOST, key, "5s");
	assert_fact("ssh.agent", "error");
	ev = lab_report_evidence(res.report, "ssh.agent");
	cr_assert(ev && strstr(ev, "over 256 KiB"), "%s", ev ? ev : "(none)");
	assert_fact("ssh.auth", "ok");
	snprintf(want_method, sizeof(want_method), "publickey:%s", key);
	assert_fact("ssh.auth_method", want_method);
}

/* ssh_config(5) IdentityAgent: "none" keeps the agent out even when SSH_AUTH_SOCK is
 * set; a path names the agent when SSH_AUTH_SOCK is not set. */
Test(lab_ssh, ssh_config_identity_agent_none_and_path, .timeout = 60)
{
	char sock[300], other[300], text[2048], path[300];

	snprintf(sock, sizeof(sock), "%s", lab_path(L, "agent.sock"));
	snprintf(other, sizeof(other), "%s", lab_path(L, "unauthorised_ed25519"));
	keygen(other, "-t ed25519", "");
	start_sshd(key_pub, NULL);
	known_hosts_with(HOST, hostkey_pub);
	start_agent(sock, key);
	snprintf(path, sizeof(path), "%s", lab_path(L, "agent_config"));
	snprintf(text, sizeof(text),
		 "Host office-one\n  HostName " HOST "\n  User root\n  IdentityFile %s\n"
		 "  UserKnownHostsFile %s\n  IdentityAgent none\n",
		 other, kh);
	lab_write_file(path, text, 0644);
	setenv("SSH_AUTH_SOCK", sock, 1);
	check_with_config("office-one", path);
	assert_fact("ssh.agent", "disabled");
	assert_fact("ssh.auth", "denied");
	assert_fact("ssh.auth_keys_tried", "1");
	unsetenv("SSH_AUTH_SOCK");
	snprintf(text, sizeof(text),
		 "Host office-one\n  HostName " HOST "\n  User root\n  IdentityFile %s\n"
		 "  UserKnownHostsFile %s\n  IdentityAgent %s\n",
		 other, kh, sock);
	lab_write_file(path, text, 0644);
	check_with_config("office-one", path);
	assert_fact("ssh.agent", "ok");
	assert_fact("ssh.agent_socket", sock);
	assert_fact("ssh.auth", "ok");
	assert_fact("ssh.auth_method", "agent");
}

/* ssh_config(5) IdentitiesOnly yes: agent keys that are not an identity file's are not
 * offered (with many agent keys, they would use up the server's MaxAuthTries); the agent
 * still signs for an identity file's key it holds. */
Test(lab_ssh, ssh_config_identities_only_keeps_other_agent_keys_out, .timeout = 60)
{
	char sock[300], second[300], text[1024], path[300], want_method[400];

	snprintf(sock, sizeof(sock), "%s", lab_path(L, "agent.sock"));
	snprintf(second, sizeof(second), "%s", lab_path(L, "second_ed25519"));
	keygen(second, "-t ed25519", "");
	start_sshd(key_pub, NULL);
	/* Both keys may log in. */
	cr_assert_eq(lab_sh(L, NULL, "cat %s.pub >> %s", second, lab_path(L, "keys/root")), 0);
	known_hosts_with(HOST, hostkey_pub);
	start_agent(sock, key);
	setenv("SSH_AUTH_SOCK", sock, 1);
	snprintf(path, sizeof(path), "%s", lab_path(L, "only_config"));
	snprintf(text, sizeof(text),
		 "Host office-one\n  HostName " HOST "\n  User root\n  IdentityFile %s\n"
		 "  UserKnownHostsFile %s\n  IdentitiesOnly yes\n",
		 second, kh);
	lab_write_file(path, text, 0644);
	check_with_config("office-one", path);
	snprintf(want_method, sizeof(want_method), "publickey:%s", second);
	assert_fact("ssh.auth_method", want_method);
	assert_fact("ssh.auth_keys_tried", "1");
	assert_fact("ssh.agent", "ok");
	/* The identity file's key is in the agent: the agent signs. */
	snprintf(text, sizeof(text),
		 "Host office-one\n  HostName " HOST "\n  User root\n  IdentityFile %s\n"
		 "  UserKnownHostsFile %s\n  IdentitiesOnly yes\n",
		 key, kh);
	lab_write_file(path, text, 0644);
	check_with_config("office-one", path);
	assert_fact("ssh.auth_method", "agent");
	assert_fact("ssh.auth_keys_tried", "1");
}
