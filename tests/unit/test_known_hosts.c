/* test_known_hosts.c — core/known_hosts: plain, patterns, [host]:port, hashed, markers,
 * line numbers, changed keys, unreadable files, accept-new appends; checked against
 * `ssh-keygen -F`; and the host key algorithm order. */
#include "core/facts.h"
#include "core/known_hosts.h"
#include "core/proc.h"
#include "core/session.h"
#include "core/session_ssh.h"
#include "core/ssh_agent.h"
#include "core/ssh_banner.h"
#include "core/ssh_kex.h"
#include "core/ssh_keys.h"
#include "core/ssh_wire.h"
#include "tests/support/ssh_fixtures.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <libssh2.h>
#include <openssl/evp.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ==================================================================================== */
/* known_hosts                                                                          */
/* ==================================================================================== */

TestSuite(known_hosts, .init = mk_tmp, .fini = rm_tmp);

/* Checks key_b64 for host:port against a file holding file_text (and a missing file). */
static struct ssh_kh_result check(const char *file_text, const char *host, int port,
				  const char *key_b64)
{
	char path[128], name[300];
	const char *files[2];
	unsigned char blob[256];
	size_t n = blob_of(key_b64, blob);
	struct ssh_kh_result r;
	struct md_err e = { 0 };

	files[0] = tmp_path("missing_known_hosts", path, sizeof(path));
	files[1] = tmp_path("known_hosts", (char[128]){ 0 }, 128);
	write_file(files[1], file_text);
	ssh_known_hosts_name(host, port, NULL, name, sizeof(name));
	cr_assert_eq(ssh_known_hosts_check(files, 2, name, blob, n, &r, &e), MD_OK, "%s", e.msg);
	return r;
}

Test(known_hosts, match_with_port_form, .timeout = 10)
{
	char text[512];
	struct ssh_kh_result r;

	snprintf(text, sizeof(text), "# comment\n\n10.9.9.9 ssh-ed25519 %s\n[10.1.2.3]:2222 ssh-ed25519 %s\n",
		 PUB_B, PUB_A);
	r = check(text, "10.1.2.3", 2222, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert_eq(r.line, 4, "line %d", r.line);
	cr_assert(strstr(r.file, "/known_hosts"));
	cr_assert(strstr(r.notes, "missing_known_hosts: not found"), "notes: %s", r.notes);
}

Test(known_hosts, match_port_22_uses_bare_name, .timeout = 10)
{
	char text[512];

	snprintf(text, sizeof(text), "office-one ssh-ed25519 %s\n", PUB_A);
	cr_assert_eq(check(text, "office-one", 22, PUB_A).status, SSH_HOSTKEY_MATCH);
}

Test(known_hosts, bare_entry_does_not_cover_another_port, .timeout = 10)
{
	/* The seed's layout: Windows sshd on 22 and WSL2's on 2222, same name, two keys.
	 * OpenSSH looks up only "[office-one]:2222" for port 2222. */
	char text[512];

	snprintf(text, sizeof(text), "office-one ssh-ed25519 %s\n", PUB_B);
	cr_assert_eq(check(text, "office-one", 2222, PUB_A).status, SSH_HOSTKEY_UNKNOWN);
}

Test(known_hosts, changed_names_file_line_and_old_key, .timeout = 10)
{
	char text[512];
	struct ssh_kh_result r;

	snprintf(text, sizeof(text), "other ssh-ed25519 %s\n[127.0.0.1]:2222 ssh-ed25519 %s\n", PUB_A,
		 PUB_B);
	r = check(text, "127.0.0.1", 2222, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_CHANGED);
	cr_assert_eq(r.line, 2);
	cr_assert_str_eq(r.known_fp, PUB_B_FP);
}

Test(known_hosts, hashed_entry_matches, .timeout = 10)
{
	char text[512];

	snprintf(text, sizeof(text), "%s\n", HASHED_A);
	cr_assert_eq(check(text, "10.1.2.3", 2222, PUB_A).status, SSH_HOSTKEY_MATCH);
	cr_assert_eq(check(text, "10.1.2.4", 2222, PUB_A).status, SSH_HOSTKEY_UNKNOWN);
}

Test(known_hosts, unreadable_lines_do_not_hide_later_ones, .timeout = 10)
{
	/* libssh2_knownhost_readfile() would stop at the first of these. */
	char text[1024];
	struct ssh_kh_result r;

	snprintf(text, sizeof(text),
		 "@cert-authority *.example.org ssh-ed25519 %s\n"
		 "broken line\n"
		 "host.example sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIE\n"
		 "@unknown-marker 10.1.2.3 ssh-ed25519 %s\n"
		 "[10.1.2.3]:2222 ssh-ed25519 %s\n",
		 PUB_B, PUB_A, PUB_A);
	r = check(text, "10.1.2.3", 2222, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH, "notes: %s", r.notes);
	cr_assert_eq(r.line, 5);
	cr_assert(strstr(r.notes, "skipped"), "notes: %s", r.notes);
}

Test(known_hosts, match_in_any_file_wins_over_changed, .timeout = 10)
{
	char p1[128], p2[128];
	const char *files[2] = { tmp_path("kh1", p1, sizeof(p1)), tmp_path("kh2", p2, sizeof(p2)) };
	unsigned char blob[256];
	size_t n = blob_of(PUB_A, blob);
	struct ssh_kh_result r;
	char text[512];

	snprintf(text, sizeof(text), "[h]:2222 ssh-ed25519 %s\n", PUB_B);
	write_file(files[0], text);
	snprintf(text, sizeof(text), "[h]:2222 ssh-ed25519 %s\n", PUB_A);
	write_file(files[1], text);
	cr_assert_eq(ssh_known_hosts_check(files, 2, "[h]:2222", blob, n, &r, NULL), MD_OK);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert_str_eq(r.file, files[1]);
}

/* ---- host patterns (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT") ---- */

struct pattern_case {
	char field[64], name[40];
	int want; /* 1 match, 0 no match, -1 excluded by a negation */
};

ParameterizedTestParameters(known_hosts, host_patterns)
{
	static struct pattern_case cases[] = {
		{ "office-one", "office-one", 1 },
		{ "office-one", "office-two", 0 },
		{ "OFFICE-One", "office-one", 1 },              /* case-insensitive */
		{ "*.example.org", "box.example.org", 1 },
		{ "*.example.org", "example.org", 0 },
		{ "*", "anything", 1 },
		{ "office-?", "office-1", 1 },
		{ "office-?", "office-12", 0 },
		{ "10.1.*", "10.1.2.3", 1 },
		{ "a,b,office-one", "office-one", 1 },          /* comma-separated names */
		{ "*.lan,!printer.lan", "nas.lan", 1 },
		{ "*.lan,!printer.lan", "printer.lan", -1 },    /* negation rules the line out */
		{ "!printer.lan,*.lan", "printer.lan", -1 },    /* whatever the order */
		{ "!printer.lan", "nas.lan", 0 },               /* a negation alone matches nothing */
		{ "[10.1.2.3]:2222", "[10.1.2.3]:2222", 1 },
		{ "[10.1.2.3]:2222", "10.1.2.3", 0 },
		{ "[10.1.2.*]:2222", "[10.1.2.9]:2222", 1 },
		{ "[10.1.2.*]:2222", "[10.1.2.9]:22", 0 },
		{ "10.1.2.3", "[10.1.2.3]:2222", 0 },
	};
	return cr_make_param_array(struct pattern_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct pattern_case *c, known_hosts, host_patterns, .timeout = 10)
{
	cr_assert_eq(ssh_known_hosts_match(c->field, c->name), c->want, "'%s' against '%s'", c->field,
		     c->name);
}

Test(known_hosts, hashed_field_is_one_name, .timeout = 10)
{
	const char *field = "|1|SJAB9Uzaw/D8nwPeTHnGCLp6Xfc=|6mQZEldwRaHCHw142v/1VYZDoE8=";

	cr_assert_eq(ssh_known_hosts_match(field, "[10.1.2.3]:2222"), 1);
	cr_assert_eq(ssh_known_hosts_match(field, "[10.1.2.3]:22"), 0);
	cr_assert_eq(ssh_known_hosts_match("|1|notbase64!|x", "h"), 0);
}

Test(known_hosts, lookup_name_lower_case_port_form_and_alias, .timeout = 10)
{
	char n[300];

	ssh_known_hosts_name("Office-One", 22, NULL, n, sizeof(n));
	cr_assert_str_eq(n, "office-one");
	ssh_known_hosts_name("Office-One", 2222, NULL, n, sizeof(n));
	cr_assert_str_eq(n, "[office-one]:2222");
	/* HostKeyAlias replaces the name and the port form (ssh_config(5)). */
	ssh_known_hosts_name("10.1.2.3", 2222, "Office-Key", n, sizeof(n));
	cr_assert_str_eq(n, "office-key");
}

Test(known_hosts, wildcard_and_case_entries_match_with_their_own_line, .timeout = 10)
{
	char text[1024];
	struct ssh_kh_result r;

	snprintf(text, sizeof(text),
		 "*.lan,!printer.lan ssh-ed25519 %s\n"
		 "OFFICE-? ssh-ed25519 %s\n"
		 "[10.1.2.*]:2222 ssh-ed25519 %s\n",
		 PUB_A, PUB_A, PUB_A);
	r = check(text, "nas.lan", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert_eq(r.line, 1);
	cr_assert_eq(check(text, "printer.lan", 22, PUB_A).status, SSH_HOSTKEY_UNKNOWN);
	r = check(text, "Office-1", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert_eq(r.line, 2);
	r = check(text, "10.1.2.7", 2222, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert_eq(r.line, 3);
}

Test(known_hosts, line_numbers_count_every_line_and_each_line_once, .timeout = 10)
{
	/* Several names on one line are one entry: the next line's number must not drift. */
	char text[1024];
	struct ssh_kh_result r;

	snprintf(text, sizeof(text),
		 "alpha,beta,gamma,delta ssh-ed25519 %s\n"
		 "\n"
		 "# a comment\n"
		 "one,two,three ssh-ed25519 %s\n"
		 "office-one,10.0.0.2 ssh-ed25519 %s\n",
		 PUB_B, PUB_B, PUB_B);
	r = check(text, "10.0.0.2", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_CHANGED);
	cr_assert_eq(r.line, 5, "line %d", r.line);
	r = check(text, "gamma", 22, PUB_B);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert_eq(r.line, 1, "line %d", r.line);
}

Test(known_hosts, revoked_key_wins_over_a_match, .timeout = 10)
{
	char text[1024];
	struct ssh_kh_result r;

	snprintf(text, sizeof(text),
		 "10.0.0.2 ssh-ed25519 %s\n"
		 "@revoked * ssh-ed25519 %s\n",
		 PUB_A, PUB_A);
	r = check(text, "10.0.0.2", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_REVOKED);
	cr_assert_eq(r.line, 2);
	/* Another key is not affected by the revocation. */
	snprintf(text, sizeof(text),
		 "10.0.0.2 ssh-ed25519 %s\n"
		 "@revoked * ssh-ed25519 %s\n",
		 PUB_A, PUB_B);
	cr_assert_eq(check(text, "10.0.0.2", 22, PUB_A).status, SSH_HOSTKEY_MATCH);
	/* A @revoked line names hosts like any other: it applies to those it matches. */
	snprintf(text, sizeof(text), "@revoked other.lan ssh-ed25519 %s\n10.0.0.2 ssh-ed25519 %s\n",
		 PUB_A, PUB_A);
	cr_assert_eq(check(text, "10.0.0.2", 22, PUB_A).status, SSH_HOSTKEY_MATCH);
}

Test(known_hosts, revoked_in_a_later_file_wins, .timeout = 10)
{
	char p1[128], p2[128];
	const char *files[2] = { tmp_path("kh1", p1, sizeof(p1)), tmp_path("kh2", p2, sizeof(p2)) };
	unsigned char blob[256];
	size_t n = blob_of(PUB_A, blob);
	struct ssh_kh_result r;
	char text[512];

	snprintf(text, sizeof(text), "h ssh-ed25519 %s\n", PUB_A);
	write_file(files[0], text);
	snprintf(text, sizeof(text), "# global\n@revoked h,g ssh-ed25519 %s\n", PUB_A);
	write_file(files[1], text);
	cr_assert_eq(ssh_known_hosts_check(files, 2, "h", blob, n, &r, NULL), MD_OK);
	cr_assert_eq(r.status, SSH_HOSTKEY_REVOKED);
	cr_assert_str_eq(r.file, files[1]);
	cr_assert_eq(r.line, 2);
}

Test(known_hosts, cert_authority_lines_are_noted_not_used, .timeout = 10)
{
	char text[512];
	struct ssh_kh_result r;

	snprintf(text, sizeof(text), "@cert-authority *.lan ssh-ed25519 %s\n", PUB_A);
	r = check(text, "nas.lan", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_UNKNOWN);
	cr_assert(strstr(r.notes, "@cert-authority"), "notes: %s", r.notes);
}

/* ECDSA public key of KEY_ECDSA above. */
static const char PUB_ECDSA[] =
	"AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBDt5e63zWx5/fNq9Z58sExIQhsJqa/gxpwlbbVn8"
	"XOJMQp4gF1DXHSP3EdiczaqM0rdMfkrgTUCkJ5SHfqrronk=";

/* OpenSSH's check_hostkeys_by_key_or_type(): a key of another type on file for the name
 * makes the presented key a changed one, not a new one (`ssh` says "REMOTE HOST
 * IDENTIFICATION HAS CHANGED" and refuses). */
Test(known_hosts, a_key_of_another_type_on_file_is_changed, .timeout = 10)
{
	char text[512], fp[80];
	unsigned char blob[256];
	size_t n = blob_of(PUB_ECDSA, blob);
	struct ssh_kh_result r;

	cr_assert_eq(ssh_fingerprint(blob, n, fp, sizeof(fp)), MD_OK);
	snprintf(text, sizeof(text), "# pinned\n10.0.0.2 ecdsa-sha2-nistp256 %s\n", PUB_ECDSA);
	r = check(text, "10.0.0.2", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_CHANGED, "status %d", r.status);
	cr_assert_eq(r.line, 2);
	cr_assert(strstr(r.file, "/known_hosts"), "%s", r.file);
	cr_assert_str_eq(r.known_type, "ecdsa-sha2-nistp256");
	cr_assert_str_eq(r.known_fp, fp);
	/* The entry of the presented key's type is the one named, wherever it is. */
	snprintf(text, sizeof(text), "10.0.0.2 ecdsa-sha2-nistp256 %s\n10.0.0.2 ssh-ed25519 %s\n",
		 PUB_ECDSA, PUB_B);
	r = check(text, "10.0.0.2", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_CHANGED);
	cr_assert_eq(r.line, 2);
	cr_assert_str_eq(r.known_type, "ssh-ed25519");
	cr_assert_str_eq(r.known_fp, PUB_B_FP);
	/* A line with the key itself still wins, whatever else is on file. */
	snprintf(text, sizeof(text), "10.0.0.2 ecdsa-sha2-nistp256 %s\n10.0.0.2 ssh-ed25519 %s\n",
		 PUB_ECDSA, PUB_A);
	r = check(text, "10.0.0.2", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert_eq(r.line, 2);
	/* Keys for other names say nothing about this one. */
	snprintf(text, sizeof(text), "10.0.0.3 ecdsa-sha2-nistp256 %s\n", PUB_ECDSA);
	cr_assert_eq(check(text, "10.0.0.2", 22, PUB_A).status, SSH_HOSTKEY_UNKNOWN);
}

/* A file that exists but cannot be read is skipped, as OpenSSH skips it, and named: the
 * caller must not take "unknown" for the whole answer. */
Test(known_hosts, files_that_cannot_be_read_are_named, .timeout = 10)
{
	char dir[128], big[128], good[128], text[512];
	const char *files[3] = { tmp_path("kh_dir", dir, sizeof(dir)), tmp_path("kh_big", big, sizeof(big)),
				 tmp_path("kh_good", good, sizeof(good)) };
	unsigned char blob[256];
	size_t n = blob_of(PUB_A, blob);
	struct ssh_kh_result r;
	int fd;

	cr_assert_eq(mkdir(files[0], 0700), 0);
	fd = open(files[1], O_WRONLY | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 5 * 1024 * 1024), 0);
	close(fd);
	write_file(files[2], "");
	cr_assert_eq(ssh_known_hosts_check(files, 3, "h", blob, n, &r, NULL), MD_OK);
	cr_assert_eq(r.status, SSH_HOSTKEY_UNKNOWN);
	cr_assert(strstr(r.unread, "kh_dir: Is a directory"), "unread: %s", r.unread);
	cr_assert(strstr(r.unread, "kh_big: larger than 4 MiB"), "unread: %s", r.unread);
	cr_assert_null(strstr(r.unread, "kh_good"), "unread: %s", r.unread);
	/* A missing file is not an unread one. */
	files[0] = tmp_path("kh_missing", dir, sizeof(dir));
	cr_assert_eq(ssh_known_hosts_check(files, 1, "h", blob, n, &r, NULL), MD_OK);
	cr_assert_str_eq(r.unread, "");
	/* A match in the files that were read still stands. */
	files[0] = tmp_path("kh_dir", dir, sizeof(dir));
	snprintf(text, sizeof(text), "h ssh-ed25519 %s\n", PUB_A);
	write_file(files[2], text);
	cr_assert_eq(ssh_known_hosts_check(files, 3, "h", blob, n, &r, NULL), MD_OK);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert(strstr(r.unread, "kh_dir"), "unread: %s", r.unread);
}

/* Permissions: run as an unprivileged user in a child, since root reads anything. */
Test(known_hosts, a_file_without_read_permission_is_named, .timeout = 10)
{
	char path[128], text[512];
	const char *files[1] = { tmp_path("kh_private", path, sizeof(path)) };
	unsigned char blob[256];
	size_t n = blob_of(PUB_A, blob);
	int status = 0;
	pid_t pid;

	snprintf(text, sizeof(text), "h ssh-ed25519 %s\n", PUB_B);
	write_file(files[0], text);
	cr_assert_eq(chmod(files[0], 0600), 0);
	cr_assert_eq(chmod(tmpdir, 0755), 0);
	if (geteuid() != 0)
		cr_assert_eq(chmod(files[0], 0000), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct ssh_kh_result r;

		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(2);
		if (ssh_known_hosts_check(files, 1, "h", blob, n, &r, NULL) != MD_OK)
			_exit(3);
		if (r.status != SSH_HOSTKEY_UNKNOWN)
			_exit(4);
		_exit(strstr(r.unread, "kh_private: Permission denied") ? 0 : 5);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
}

Test(known_hosts, types_on_file_for_a_name, .timeout = 10)
{
	char path[128], text[1024], types[160];
	const char *files[1] = { tmp_path("kh", path, sizeof(path)) };

	snprintf(text, sizeof(text),
		 "10.0.0.2 ecdsa-sha2-nistp256 %s\n"
		 "@revoked 10.0.0.2 ssh-ed25519 %s\n"
		 "other ssh-ed25519 %s\n"
		 "*.lan,10.0.0.* ssh-ed25519 %s\n"
		 "10.0.0.2 ecdsa-sha2-nistp256 %s\n",
		 PUB_ECDSA, PUB_A, PUB_A, PUB_B, PUB_ECDSA);
	write_file(files[0], text);
	ssh_known_hosts_types(files, 1, "10.0.0.2", types, sizeof(types));
	cr_assert_str_eq(types, "ecdsa-sha2-nistp256,ssh-ed25519");
	ssh_known_hosts_types(files, 1, "nowhere", types, sizeof(types));
	cr_assert_str_eq(types, "");
}

Test(known_hosts, host_key_order_puts_known_types_first, .timeout = 10)
{
	/* What libssh2 1.10 supports (libssh2_session_supported_algs). */
	static const char *const sup[] = { "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
					   "ecdsa-sha2-nistp521", "ssh-ed25519", "ssh-rsa", "ssh-dss" };
	char out[256];

	ssh_hostkey_order("", sup, 6, out, sizeof(out));
	cr_assert_str_eq(out, "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,ssh-rsa");
	ssh_hostkey_order("ecdsa-sha2-nistp256", sup, 6, out, sizeof(out));
	cr_assert_str_eq(out, "ecdsa-sha2-nistp256,ssh-ed25519,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,ssh-rsa");
	ssh_hostkey_order("ssh-rsa,ecdsa-sha2-nistp384", sup, 6, out, sizeof(out));
	cr_assert_str_eq(out, "ecdsa-sha2-nistp384,ssh-rsa,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp521");
}

/* RSA public key of KEY_RSA above, and its fingerprint (`ssh-keygen -lf`). */
static const char PUB_RSA[] =
	"AAAAB3NzaC1yc2EAAAADAQABAAAAgQDVsBkF/eG3KQWVC6NEVC8e150wTYQFRRRPyhAhsGvn85vRf2lHxON+aTWaJhPY"
	"DWQ2EZ7HZa1Khmtq8HcNNYt+9LhKHusydJk5zGPAsFXVdiC2pNFKpxaovEGEkTkhMdFkxYxtIZJmgCkkL443mctd7wNW"
	"RbFENWHxsMCavhkNJw==";
static const char PUB_RSA_FP[] = "SHA256:3zqNwwpBMip/wRNcuN/6knThAnaFpxUuUDqjrM7DoUI";

/* A changed key names the first entry with an RSA key too, for a caller that finds this
 * libssh2 could not have asked for it, and every type on file for the name. */
Test(known_hosts, changed_names_the_rsa_entry_and_the_types_on_file, .timeout = 10)
{
	char text[1024];
	struct ssh_kh_result r;

	snprintf(text, sizeof(text),
		 "10.0.0.2 ecdsa-sha2-nistp256 %s\n"
		 "other ssh-rsa %s\n"
		 "10.0.0.2 ssh-rsa %s\n",
		 PUB_ECDSA, PUB_RSA, PUB_RSA);
	r = check(text, "10.0.0.2", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_CHANGED);
	cr_assert_eq(r.line, 1, "the first entry, of another type, as before");
	cr_assert_str_eq(r.known_type, "ecdsa-sha2-nistp256");
	cr_assert(strstr(r.rsa_file, "/known_hosts"), "%s", r.rsa_file);
	cr_assert_eq(r.rsa_line, 3);
	cr_assert_str_eq(r.rsa_fp, PUB_RSA_FP);
	cr_assert_str_eq(r.types, "ecdsa-sha2-nistp256,ssh-rsa");
	/* Without an RSA entry for the name, none is named. */
	snprintf(text, sizeof(text), "10.0.0.2 ssh-ed25519 %s\nother ssh-rsa %s\n", PUB_B, PUB_RSA);
	r = check(text, "10.0.0.2", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_CHANGED);
	cr_assert_str_eq(r.rsa_file, "");
	cr_assert_eq(r.rsa_line, 0);
	cr_assert_str_eq(r.types, "ssh-ed25519");
	/* A match, too, says which types are on file. */
	snprintf(text, sizeof(text), "10.0.0.2 ssh-rsa %s\n10.0.0.2 ssh-ed25519 %s\n", PUB_RSA, PUB_A);
	r = check(text, "10.0.0.2", 22, PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert_str_eq(r.types, "ssh-rsa,ssh-ed25519");
}

/* libssh2_session_supported_algs(LIBSSH2_METHOD_HOSTKEY) of libssh2 1.10 (no rsa-sha2-*)
 * and 1.11 (rsa-sha2-512 and rsa-sha2-256 first). */
static const char *const hk110[] = { "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
				     "ssh-ed25519", "ssh-rsa", "ssh-dss" };
static const char *const hk111[] = { "ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com",
				     "rsa-sha2-256", "rsa-sha2-512", "ssh-rsa", "ecdsa-sha2-nistp256",
				     "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-dss" };
#define N110 (sizeof(hk110) / sizeof(hk110[0]))
#define N111 (sizeof(hk111) / sizeof(hk111[0]))

struct unverifiable_case {
	const char *known, *presented, *asked, *negotiated;
	bool lib111;
	bool want;
	const char *why;
};

static const struct unverifiable_case unverifiable_cases[] = {
	/* What a user has after years of `ssh`, against OpenSSH >= 8.8 with RSA + ed25519. */
	{ "ssh-rsa", "ssh-ed25519", "ssh-rsa,ssh-ed25519,ecdsa-sha2-nistp256", "ssh-ed25519", false, true,
	  "only RSA on file, libssh2 1.10, ssh-rsa refused" },
	{ "ssh-rsa", "ecdsa-sha2-nistp256", "ssh-rsa,ssh-ed25519,ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256",
	  false, true, "another type presented, also ECDSA" },
	{ "ecdsa-sha2-nistp256,ssh-rsa", "ssh-ed25519",
	  "ecdsa-sha2-nistp256,ssh-rsa,ssh-ed25519", "ssh-ed25519", false, true,
	  "RSA among other types on file, the presented type not on file" },
	/* The presented type is on file with another key: changed, whatever else is. */
	{ "ssh-rsa,ssh-ed25519", "ssh-ed25519", "ssh-ed25519,ssh-rsa,ecdsa-sha2-nistp256", "ssh-ed25519",
	  false, false, "an ed25519 key on file differs" },
	{ "ssh-ed25519,ssh-rsa", "ssh-ed25519", "ssh-ed25519,ssh-rsa", "ssh-ed25519", false, false,
	  "an ed25519 key on file differs, RSA later" },
	/* No RSA on file: libssh2 could ask for every type on file. */
	{ "ecdsa-sha2-nistp256", "ssh-ed25519", "ecdsa-sha2-nistp256,ssh-ed25519,ssh-rsa", "ssh-ed25519", false,
	  false, "ECDSA on file, the server has none" },
	{ "", "ssh-ed25519", "ssh-ed25519,ssh-rsa", "ssh-ed25519", false, false, "nothing on file" },
	/* The server agreed to ssh-rsa: its RSA key was shown, and differs. */
	{ "ssh-rsa", "ssh-rsa", "ssh-rsa,ssh-ed25519", "ssh-rsa", false, false, "RSA negotiated as ssh-rsa" },
	/* libssh2 1.11 asks for rsa-sha2-*: had the server an RSA key, it would have shown it. */
	{ "ssh-rsa", "ssh-ed25519", "rsa-sha2-512,rsa-sha2-256,ssh-rsa,ssh-ed25519", "ssh-ed25519", true, false,
	  "libssh2 with rsa-sha2-*" },
	/* ssh-rsa not asked before the algorithm chosen (or not at all): no conclusion. */
	{ "ssh-rsa", "ssh-ed25519", "ssh-ed25519,ssh-rsa", "ssh-ed25519", false, false, "ssh-rsa asked after" },
	{ "ssh-rsa", "ssh-ed25519", "ssh-ed25519,ecdsa-sha2-nistp256", "ssh-ed25519", false, false,
	  "ssh-rsa not asked" },
	{ "ssh-rsa", "ssh-ed25519", "", "ssh-ed25519", false, false, "nothing asked (libssh2's default)" },
	{ "ssh-rsa", "ssh-ed25519", "ssh-rsa,ssh-ed25519", NULL, false, false, "no algorithm chosen" },
	{ "ssh-rsa", "ssh-ed25519", "ssh-rsa,ecdsa-sha2-nistp256", "ssh-ed25519", false, false,
	  "the algorithm chosen was not asked for" },
	/* Names are compared whole. */
	{ "ssh-rsa", "ssh-ed25519", "ssh-rsa-cert-v01@openssh.com,ssh-ed25519", "ssh-ed25519", false, false,
	  "a certificate algorithm is not ssh-rsa" },
	{ "ssh-rsa-cert-v01@openssh.com", "ssh-ed25519", "ssh-rsa,ssh-ed25519", "ssh-ed25519", false, false,
	  "a type that only begins with ssh-rsa" },
};

Test(known_hosts, rsa_on_file_is_unverifiable_only_when_libssh2_cannot_ask_for_it, .timeout = 10)
{
	for (size_t i = 0; i < sizeof(unverifiable_cases) / sizeof(unverifiable_cases[0]); i++) {
		const struct unverifiable_case *c = &unverifiable_cases[i];
		bool got = ssh_hostkey_unverifiable(c->known, c->presented, c->lib111 ? hk111 : hk110,
						    c->lib111 ? N111 : N110, c->asked, c->negotiated);

		cr_assert_eq(got, c->want, "%s: known %s, presented %s, asked %s, chose %s: %d", c->why,
			     c->known, c->presented, c->asked, c->negotiated ? c->negotiated : "(null)", got);
	}
}

/* After an unverifiable RSA key: does the server still offer an RSA host key?  If not,
 * `ssh` would be shown another key too and call it changed. */
Test(known_hosts, a_server_without_an_rsa_host_key_algorithm_has_no_rsa_key, .timeout = 10)
{
	static const struct {
		const char *list;
		bool want;
	} cases[] = {
		{ "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256", true },
		{ "rsa-sha2-256", true },
		{ "ssh-ed25519,ssh-rsa", true },
		{ "rsa-sha2-512-cert-v01@openssh.com,ssh-ed25519", true },
		{ "ssh-ed25519,rsa-sha2-256-cert-v01@openssh.com", true },
		{ "ssh-rsa-cert-v01@openssh.com", true },
		{ "ssh-ed25519", false },
		{ "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384", false },
		{ "ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com", false },
		{ "", false },
		/* Names are compared whole. */
		{ "ssh-rsa-sha2-512,rsa-sha2-5120,x-ssh-rsa,ssh-rs", false },
		{ "rsa-sha2-512@example.com,rsa-sha2", false },
		{ "ssh-dss", false },
	};
	unsigned char *buf;
	struct ssh_kexinit k;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(ssh_hostkey_algs_offer_rsa(cases[i].list, strlen(cases[i].list)), cases[i].want,
			     "%s", cases[i].list);
	/* Only len bytes count: a list is not NUL-terminated where it lies in the packet. */
	cr_assert_not(ssh_hostkey_algs_offer_rsa("ssh-ed25519,ssh-rsa", strlen("ssh-ed25519")));
	cr_assert_not(ssh_hostkey_algs_offer_rsa("ssh-rsa", 6));
	/* The lists OpenSSH 9.2 sends (fixtures/ssh). */
	scan_fixture("fixtures/ssh/kexinit-default.bin", &buf, &k);
	cr_assert(ssh_hostkey_algs_offer_rsa(k.list[SSH_KEXINIT_HOSTKEY], k.len[SSH_KEXINIT_HOSTKEY]));
	free(buf);
	scan_fixture("fixtures/ssh/kexinit-rsa-only.bin", &buf, &k);
	cr_assert(ssh_hostkey_algs_offer_rsa(k.list[SSH_KEXINIT_HOSTKEY], k.len[SSH_KEXINIT_HOSTKEY]));
	free(buf);
	scan_fixture("fixtures/ssh/kexinit-chacha-only.bin", &buf, &k);
	cr_assert_not(ssh_hostkey_algs_offer_rsa(k.list[SSH_KEXINIT_HOSTKEY], k.len[SSH_KEXINIT_HOSTKEY]));
	free(buf);
}

/* What the probe asks for when known_hosts holds only the RSA key, and what a server
 * with RSA and ed25519 host keys then chooses: OpenSSH 9.2 offers
 * rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519 (fixtures/ssh). */
Test(known_hosts, the_order_asked_for_with_rsa_on_file_leads_to_unverifiable, .timeout = 10)
{
	static const char server[] = "rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519";
	char asked[256], copy[256];
	const char *v[16];
	struct ssh_alg_list l = { .v = v };
	const char *chosen;

	ssh_hostkey_order("ssh-rsa", hk110, N110, asked, sizeof(asked));
	cr_assert_str_eq(asked, "ssh-rsa,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521");
	snprintf(copy, sizeof(copy), "%s", asked);
	for (char *save = NULL, *t = strtok_r(copy, ",", &save); t && l.n < 16; t = strtok_r(NULL, ",", &save))
		v[l.n++] = t;
	chosen = ssh_alg_pick(&l, server, strlen(server));
	cr_assert_str_eq(chosen, "ssh-ed25519");
	cr_assert(ssh_hostkey_unverifiable("ssh-rsa", "ssh-ed25519", hk110, N110, asked, chosen));
	/* libssh2 1.11: rsa-sha2-512 is asked for first, and chosen. */
	ssh_hostkey_order("ssh-rsa", hk111, N111, asked, sizeof(asked));
	cr_assert(strncmp(asked, "rsa-sha2-512,rsa-sha2-256,ssh-rsa,", 34) == 0, "%s", asked);
}

/* OpenSSH itself as the reference: `ssh-keygen -F NAME -f FILE` lists the lines it finds
 * for NAME (plain, hashed and marked ones).  The same lines must match here. */
static void keygen_lines(const char *file, const char *name, char *out, size_t n)
{
	const char *argv[] = { "ssh-keygen", "-F", name, "-f", file, NULL };
	struct md_deadline dl = md_deadline_after(md_now_ms(), 10000);
	struct md_proc_result r;
	const char *line;

	out[0] = '\0';
	md_proc_result_init(&r, 64 * 1024);
	cr_assert_eq(md_proc_run(argv, NULL, 0, &dl, &r, NULL), MD_OK, "ssh-keygen");
	for (line = md_buf_str(&r.out); line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *at = strstr(line, "found: line ");

		if (line[0] == '#' && at && at < strchr(line, '\n'))
			snprintf(out + strlen(out), n - strlen(out), "%d ", atoi(at + 12));
	}
	md_proc_result_cleanup(&r);
}

static void our_lines(const char *text, const char *name, char *out, size_t n)
{
	char *copy = strdup(text), *save = NULL;
	int lineno = 0;

	out[0] = '\0';
	/* strtok_r would skip empty lines: walk them by hand. */
	for (char *p = copy; p && *p; lineno++) {
		char *nl = strchr(p, '\n'), *f1, *f2;

		if (nl)
			*nl = '\0';
		f1 = strtok_r(p, " ", &save);
		f2 = f1 ? strtok_r(NULL, " ", &save) : NULL;
		if (f1 && f1[0] == '@')
			f1 = f2;
		if (f1 && f1[0] != '#' && ssh_known_hosts_match(f1, name) == 1)
			snprintf(out + strlen(out), n - strlen(out), "%d ", lineno + 1);
		p = nl ? nl + 1 : NULL;
	}
	free(copy);
}

Test(known_hosts, matches_the_lines_ssh_keygen_finds, .timeout = 10)
{
	static const char *const names[] = {
		"office-one", "office-bad", "nas.lan", "printer.lan", "[10.1.2.3]:2222",
		"10.1.2.3", "host", "hoost", "alpha", "delta", "gamma.example.org",
	};
	char path[128], text[2048], want[256], got[256];

	snprintf(text, sizeof(text),
		 "# known_hosts as people write them\n"
		 "alpha,beta,OFFICE-*,!office-bad ssh-ed25519 %s\n"
		 "\n"
		 "@revoked *.lan ssh-ed25519 %s\n"
		 "*.lan,!printer.lan ssh-ed25519 %s\n"
		 "[10.1.2.*]:2222 ssh-ed25519 %s\n"
		 "@cert-authority *.example.org ssh-ed25519 %s\n"
		 "h?st ssh-ed25519 %s comment\n"
		 "%s\n"
		 "delta,gamma.example.org ssh-ed25519 %s\n",
		 PUB_A, PUB_B, PUB_A, PUB_A, PUB_B, PUB_A, HASHED_A, PUB_B);
	write_file(tmp_path("kh", path, sizeof(path)), text);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		keygen_lines(path, names[i], want, sizeof(want));
		our_lines(text, names[i], got, sizeof(got));
		cr_assert_str_eq(got, want, "lines for %s: ours '%s', ssh-keygen -F '%s'", names[i], got,
				 want);
	}
}

Test(known_hosts, add_creates_private_dir_and_file_then_matches, .timeout = 10)
{
	char path[128], dir[128], line[512];
	unsigned char blob[256];
	size_t n = blob_of(PUB_A, blob);
	struct stat st;
	struct ssh_kh_result r;
	const char *files[1];
	FILE *fp;

	tmp_path("new/.ssh/known_hosts", path, sizeof(path));
	tmp_path("new/.ssh", dir, sizeof(dir));
	cr_assert_eq(ssh_known_hosts_add(path, "[10.1.2.3]:2222", false, blob, n, NULL), MD_OK);
	cr_assert_eq(stat(dir, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0700, "dir mode %o", st.st_mode & 0777);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "file mode %o", st.st_mode & 0777);
	fp = fopen(path, "r");
	cr_assert(fp);
	cr_assert(fgets(line, sizeof(line), fp));
	fclose(fp);
	cr_assert(strncmp(line, "[10.1.2.3]:2222 ssh-ed25519 ", 28) == 0, "line: %s", line);
	cr_assert(strstr(line, PUB_A), "line: %s", line);
	files[0] = path;
	cr_assert_eq(ssh_known_hosts_check(files, 1, "[10.1.2.3]:2222", blob, n, &r, NULL), MD_OK);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
}

Test(known_hosts, add_keeps_a_file_without_final_newline_intact, .timeout = 10)
{
	char path[128], text[512], want[512];
	unsigned char blob[256];
	size_t n = blob_of(PUB_A, blob);
	char *got;

	tmp_path("kh", path, sizeof(path));
	snprintf(text, sizeof(text), "other ssh-ed25519 %s", PUB_B);
	write_file(path, text);
	cr_assert_eq(ssh_known_hosts_add(path, "office-one", false, blob, n, NULL), MD_OK);
	got = read_fixture(path);
	snprintf(want, sizeof(want), "other ssh-ed25519 %s\noffice-one ssh-ed25519 %s\n", PUB_B, PUB_A);
	cr_assert_str_eq(got, want);
	free(got);
}

/* HashKnownHosts yes: the name is written hashed, and OpenSSH finds the line. */
Test(known_hosts, add_hashed_writes_a_line_ssh_keygen_finds, .timeout = 10)
{
	char path[128], line[512], lines[64];
	unsigned char blob[256];
	size_t n = blob_of(PUB_A, blob);
	struct ssh_kh_result r;
	const char *files[1];
	FILE *fp;

	tmp_path("kh_hashed", path, sizeof(path));
	cr_assert_eq(ssh_known_hosts_add(path, "[10.1.2.3]:2222", true, blob, n, NULL), MD_OK);
	cr_assert_eq(ssh_known_hosts_add(path, "office-one", true, blob, n, NULL), MD_OK);
	fp = fopen(path, "r");
	cr_assert(fp);
	cr_assert(fgets(line, sizeof(line), fp));
	fclose(fp);
	cr_assert(strncmp(line, "|1|", 3) == 0, "line: %s", line);
	cr_assert_null(strstr(line, "10.1.2.3"), "the name is in the clear: %s", line);
	cr_assert(strstr(line, " ssh-ed25519 ") && strstr(line, PUB_A), "line: %s", line);
	keygen_lines(path, "[10.1.2.3]:2222", lines, sizeof(lines));
	cr_assert_str_eq(lines, "1 ", "ssh-keygen -F found lines '%s'", lines);
	keygen_lines(path, "office-one", lines, sizeof(lines));
	cr_assert_str_eq(lines, "2 ", "ssh-keygen -F found lines '%s'", lines);
	keygen_lines(path, "[10.1.2.4]:2222", lines, sizeof(lines));
	cr_assert_str_eq(lines, "");
	files[0] = path;
	cr_assert_eq(ssh_known_hosts_check(files, 1, "[10.1.2.3]:2222", blob, n, &r, NULL), MD_OK);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert_eq(r.line, 1);
}

