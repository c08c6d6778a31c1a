/* Unit tests: target parsing ([user@]host[:port]) and `ssh -G` output. */
#include "core/facts.h"
#include "core/target.h"
#include "report/report.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Criterion runs each parameter in its own process: the table holds arrays, not pointers. */
struct good_case {
	char spec[48], user[16], host[32];
	int port;
};

ParameterizedTestParameters(target, parses_valid_specs)
{
	static struct good_case cases[] = {
		{ "office-one", "", "office-one", 0 },
		{ "steve@office-one.local", "steve", "office-one.local", 0 },
		{ "steve@office-one.local:2222", "steve", "office-one.local", 2222 },
		{ "10.0.0.2:22", "", "10.0.0.2", 22 },
		{ "root@[fd7a:115c:a1e0::2]:2222", "root", "fd7a:115c:a1e0::2", 2222 },
		{ "[::1]", "", "::1", 0 },
		{ "fd7a:115c:a1e0::3", "", "fd7a:115c:a1e0::3", 0 },
		{ "DOMAIN\\steve@winbox", "DOMAIN\\steve", "winbox", 0 },
		{ "a@b@host", "a@b", "host", 0 },
		{ "my_alias", "", "my_alias", 0 },
		{ "h:65535", "", "h", 65535 },
	};
	return cr_make_param_array(struct good_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct good_case *c, target, parses_valid_specs)
{
	struct md_target t;
	struct md_err err = { 0 };
	int rc = md_target_parse(c->spec, &t, &err);

	cr_assert_eq(rc, MD_OK, "spec %s: %s", c->spec, err.msg);
	if (c->user[0])
		cr_assert_str_eq(t.user, c->user, "spec %s", c->spec);
	else
		cr_assert_null(t.user, "spec %s", c->spec);
	cr_assert_str_eq(t.host, c->host, "spec %s", c->spec);
	cr_assert_eq(t.port, c->port, "spec %s: port %d", c->spec, t.port);
	md_target_cleanup(&t);
}

struct bad_case {
	char spec[32], msg_part[32];
};

ParameterizedTestParameters(target, rejects_malformed_specs)
{
	static struct bad_case cases[] = {
		{ "", "empty target" },
		{ "host:0", "port must be a number" },
		{ "host:65536", "port must be a number" },
		{ "host:22x", "port must be a number" },
		{ "host:", "port must be a number" },
		{ "@host", "not a valid user name" },
		{ "-oProxyCommand=x", "not a valid host" },
		{ "user@-x", "not a valid host" },
		{ "user@", "not a valid host" },
		{ "ho st", "white space" },
		{ "host;rm", "not a valid host" },
		{ "[::1", "without ']'" },
		{ "[::1]x", "unexpected text" },
		{ "host$(id)", "not a valid host" },
		{ "h\tx", "white space" },
	};
	return cr_make_param_array(struct bad_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_case *c, target, rejects_malformed_specs)
{
	struct md_target t;
	struct md_err err = { 0 };
	int rc = md_target_parse(c->spec, &t, &err);

	cr_assert_eq(rc, MD_EINVAL, "spec '%s' accepted", c->spec);
	cr_assert(strstr(err.msg, c->msg_part), "spec '%s': message '%s' lacks '%s'", c->spec,
		  err.msg, c->msg_part);
	cr_assert_null(strchr(err.msg, '\n'), "message is one line");
	md_target_cleanup(&t);
}

Test(target, applies_ssh_g_output_like_ssh)
{
	struct md_target t;
	const char *g = "user steve\nhostname 10.0.0.2\nport 2222\n"
			"identityfile ~/.ssh/id_ed25519\nidentityfile ~/.ssh/work_key\n"
			"userknownhostsfile ~/.ssh/known_hosts ~/.ssh/known_hosts2\n"
			"stricthostkeychecking accept-new\n";

	cr_assert_eq(md_target_parse("office", &t, NULL), MD_OK);
	cr_assert_eq(md_target_apply_ssh_g(&t, g, "/home/steve"), MD_OK);
	cr_assert_str_eq(t.user, "steve");
	cr_assert_str_eq(t.hostname, "10.0.0.2");
	cr_assert_eq(t.port, 2222);
	cr_assert_eq(t.n_identities, 2);
	cr_assert_str_eq(t.identities[0], "/home/steve/.ssh/id_ed25519");
	cr_assert_str_eq(t.identities[1], "/home/steve/.ssh/work_key");
	cr_assert_eq(t.n_known_hosts, 2);
	cr_assert_str_eq(t.known_hosts[1], "/home/steve/.ssh/known_hosts2");
	md_target_cleanup(&t);
}

Test(target, explicit_user_and_port_win_over_ssh_config)
{
	struct md_target t;

	cr_assert_eq(md_target_parse("root@office:22", &t, NULL), MD_OK);
	cr_assert_eq(md_target_apply_ssh_g(&t, "user steve\nport 2222\nhostname office\n", "/h"), MD_OK);
	cr_assert_str_eq(t.user, "root");
	cr_assert_eq(t.port, 22);
	md_target_cleanup(&t);
}

Test(target, resolve_without_ssh_config_uses_openssh_defaults)
{
	struct md_target t;
	struct md_target_opts o = { .no_ssh_config = true, .user = "alice" };
	struct md_deadline dl = { 0 };

	cr_assert_eq(md_target_parse("box", &t, NULL), MD_OK);
	cr_assert_eq(md_target_resolve(&t, &o, &dl, NULL), MD_OK);
	cr_assert_str_eq(t.user, "alice");
	cr_assert_str_eq(t.hostname, "box");
	cr_assert_eq(t.port, 22);
	cr_assert_geq(t.n_identities, 1);
	cr_assert(strstr(t.identities[0], ".ssh/id_ed25519"));
	cr_assert_eq(t.n_known_hosts, 1);
	md_target_cleanup(&t);
}

Test(target, port_parser_bounds)
{
	cr_assert_eq(md_parse_port("1"), 1);
	cr_assert_eq(md_parse_port("65535"), 65535);
	cr_assert_eq(md_parse_port("0"), -1);
	cr_assert_eq(md_parse_port("-1"), -1);
	cr_assert_eq(md_parse_port("99999"), -1);
	cr_assert_eq(md_parse_port("000022"), -1, "more than five digits is not a port");
	cr_assert_eq(md_parse_port(NULL), -1);
}

Test(target, applies_identity_agent_alias_known_hosts_and_proxy_settings)
{
	struct md_target t;
	const char *g = "user steve\nhostname 10.0.0.2\nport 22\nidentitiesonly yes\n"
			"identityagent ~/.ssh/agent.sock\nhostkeyalias office-key\n"
			"identityfile ~/.ssh/id_ed25519\n"
			"globalknownhostsfile /etc/mesh/known_hosts /etc/mesh/known_hosts2\n"
			"userknownhostsfile none\nproxyjump jumper@bastion:2200\n";

	cr_assert_eq(md_target_parse("office", &t, NULL), MD_OK);
	cr_assert_eq(md_target_apply_ssh_g(&t, g, "/home/steve"), MD_OK);
	cr_assert(t.identities_only);
	cr_assert_str_eq(t.identity_agent, "/home/steve/.ssh/agent.sock");
	cr_assert_str_eq(t.host_key_alias, "office-key");
	cr_assert_eq(t.n_global_known_hosts, 2);
	cr_assert_str_eq(t.global_known_hosts[1], "/etc/mesh/known_hosts2");
	cr_assert(t.known_hosts_none);
	cr_assert_eq(t.n_known_hosts, 0);
	cr_assert_str_eq(t.proxy_jump, "jumper@bastion:2200");
	cr_assert_null(t.proxy_command);
	md_target_cleanup(&t);
}

Test(target, identity_agent_none_and_the_environment_variable)
{
	struct md_target t;

	cr_assert_eq(md_target_parse("office", &t, NULL), MD_OK);
	cr_assert_eq(md_target_apply_ssh_g(&t, "identityagent none\nidentitiesonly no\n", "/h"), MD_OK);
	cr_assert_str_eq(t.identity_agent, "none");
	cr_assert_not(t.identities_only);
	md_target_cleanup(&t);
	/* "SSH_AUTH_SOCK" names the variable: the same as no IdentityAgent at all. */
	cr_assert_eq(md_target_parse("office", &t, NULL), MD_OK);
	cr_assert_eq(md_target_apply_ssh_g(&t, "identityagent SSH_AUTH_SOCK\nproxycommand nc %h %p\n",
					   "/h"), MD_OK);
	cr_assert_null(t.identity_agent);
	cr_assert_str_eq(t.proxy_command, "nc %h %p");
	md_target_cleanup(&t);
}

Test(target, known_hosts_option_wins_over_ssh_config)
{
	struct md_target t;
	struct md_target_opts o = { .known_hosts = "/tmp/kh", .no_ssh_config = true };
	struct md_deadline dl = { 0 };

	cr_assert_eq(md_target_parse("box", &t, NULL), MD_OK);
	cr_assert_eq(md_target_resolve(&t, &o, &dl, NULL), MD_OK);
	cr_assert_eq(md_target_apply_ssh_g(&t, "userknownhostsfile none\n", "/h"), MD_OK);
	cr_assert_not(t.known_hosts_none);
	cr_assert_eq(t.n_known_hosts, 1);
	cr_assert_str_eq(t.known_hosts[0], "/tmp/kh");
	md_target_cleanup(&t);
}

Test(target, resolve_without_ssh_config_has_openssh_global_known_hosts)
{
	struct md_target t;
	struct md_target_opts o = { .no_ssh_config = true };
	struct md_deadline dl = { 0 };

	cr_assert_eq(md_target_parse("box", &t, NULL), MD_OK);
	cr_assert_eq(md_target_resolve(&t, &o, &dl, NULL), MD_OK);
	cr_assert_eq(t.ssh_config, MD_SSH_CONFIG_SKIPPED);
	cr_assert_eq(t.n_global_known_hosts, 2);
	cr_assert_str_eq(t.global_known_hosts[0], "/etc/ssh/ssh_known_hosts");
	cr_assert_str_eq(t.global_known_hosts[1], "/etc/ssh/ssh_known_hosts2");
	cr_assert_null(t.identity_agent);
	md_target_cleanup(&t);
}

Test(target, missing_ssh_client_is_recorded_not_ignored)
{
	struct md_target t;
	struct md_target_opts o = { 0 };
	struct md_deadline dl = md_deadline_after(md_now_ms(), 5000);
	struct md_err err = { 0 };

	setenv("PATH", "/nonexistent-md-test", 1); /* this test's own process */
	cr_assert_eq(md_target_parse("office-alias", &t, NULL), MD_OK);
	cr_assert_eq(md_target_resolve(&t, &o, &dl, &err), MD_OK, "%s", err.msg);
	cr_assert_eq(t.ssh_config, MD_SSH_CONFIG_NO_CLIENT);
	cr_assert(t.ssh_config_error && strstr(t.ssh_config_error, "not installed"), "%s",
		  t.ssh_config_error ? t.ssh_config_error : "(null)");
	cr_assert_str_eq(t.hostname, "office-alias", "the name as written");
	md_target_cleanup(&t);
}

/* The real `ssh -G` reading a real ssh_config: the settings arrive as ssh prints them. */
Test(target, ssh_g_reports_the_settings_meshdoctor_honours, .timeout = 10)
{
	char dir[] = "/tmp/md-test-target-XXXXXX", path[128], text[512];
	struct md_target t;
	struct md_target_opts o = { .ssh_config = path };
	struct md_deadline dl = md_deadline_after(md_now_ms(), 5000);
	struct md_err err = { 0 };
	FILE *fp;

	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config", dir);
	snprintf(text, sizeof(text),
		 "Host office-one\n"
		 "  HostName 10.0.0.2\n"
		 "  IdentitiesOnly yes\n"
		 "  IdentityAgent %s/agent.sock\n"
		 "  HostKeyAlias Office-Key\n"
		 "  UserKnownHostsFile %s/kh\n"
		 "  GlobalKnownHostsFile none\n"
		 "  HashKnownHosts yes\n"
		 "  ProxyJump jumper@bastion:2200\n",
		 dir, dir);
	fp = fopen(path, "w");
	cr_assert(fp);
	fputs(text, fp);
	fclose(fp);
	cr_assert_eq(md_target_parse("office-one", &t, NULL), MD_OK);
	cr_assert_eq(md_target_resolve(&t, &o, &dl, &err), MD_OK, "%s", err.msg);
	cr_assert_eq(t.ssh_config, MD_SSH_CONFIG_READ);
	cr_assert_str_eq(t.hostname, "10.0.0.2");
	cr_assert(t.identities_only);
	cr_assert(t.identity_agent && strstr(t.identity_agent, "/agent.sock"));
	cr_assert_str_eq(t.host_key_alias, "office-key", "ssh lower-cases HostKeyAlias");
	cr_assert_eq(t.n_known_hosts, 1);
	cr_assert(strstr(t.known_hosts[0], "/kh"));
	cr_assert(t.global_known_hosts_none);
	cr_assert_eq(t.n_global_known_hosts, 0);
	cr_assert_str_eq(t.proxy_jump, "jumper@bastion:2200");
	cr_assert(t.hash_known_hosts, "HashKnownHosts yes");
	/* The report says ssh_config was read. */
	{
		struct md_facts f;
		struct md_report r = { .target = &t };
		cJSON *doc;

		md_facts_init(&f);
		r.facts = &f;
		doc = md_report_build(&r);
		cr_assert_not_null(doc);
		cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
				  cJSON_GetObjectItemCaseSensitive(doc, "target"), "ssh_config")));
		cJSON_Delete(doc);
		md_facts_cleanup(&f);
	}
	md_target_cleanup(&t);
	unlink(path);
	rmdir(dir);
}

Test(target, hash_known_hosts_follows_ssh_g)
{
	struct md_target t;

	cr_assert_eq(md_target_parse("office", &t, NULL), MD_OK);
	cr_assert_eq(md_target_apply_ssh_g(&t, "hostname office\nhashknownhosts no\n", "/h"), MD_OK);
	cr_assert_not(t.hash_known_hosts);
	cr_assert_eq(md_target_apply_ssh_g(&t, "hashknownhosts yes\n", "/h"), MD_OK);
	cr_assert(t.hash_known_hosts);
	md_target_cleanup(&t);
}
