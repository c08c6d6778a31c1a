/* lab_fleet.c — `meshdoctor check` over many hosts: one real OpenSSH sshd in a namespace
 * that has only lo, listening on 0.0.0.0, so that every 127.0.0.N is a "host" of its own
 * (reference/lab-recipes.md §8); per-host behaviour by `Match LocalAddress`.  meshdoctor
 * runs in the same namespace.
 *
 * Run from the repository root: MD_BIN=./meshdoctor MD_BUILD=build build/tests/lab_fleet */
#include "tests/support/lab.h"
#include "tests/support/lab_assert.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOSTS 12
#define DENIED "127.0.0.5"   /* AuthorizedKeysFile /dev/null: permission denied */
#define DENIED2 "127.0.0.9"
#define CLOSED "127.0.0.12"  /* no sshd on this port for it: known_hosts has it, ssh refused */

static struct lab *L;
static const char *ns;
static char key[256], kh[300], inv[300];
static struct lab_md_result res;

static void setup(void)
{
	unsetenv("SSH_AUTH_SOCK");
	memset(&res, 0, sizeof(res));
	L = lab_new("fleet");
	cr_assert(L, "lab_new");
	ns = lab_netns(L, "fl");
	cr_assert(ns, "namespace");
	snprintf(key, sizeof(key), "%s", lab_path(L, "client"));
	snprintf(kh, sizeof(kh), "%s", lab_path(L, "known_hosts"));
	snprintf(inv, sizeof(inv), "%s", lab_path(L, "inventory"));
}

static void teardown(void)
{
	lab_md_result_free(&res);
	lab_free(L);
	L = NULL;
}

TestSuite(lab_fleet, .init = setup, .fini = teardown);

/* sshd on 0.0.0.0:2222 in ns (127.0.0.12 is dropped by nft so that it answers nothing);
 * the inventory lists 127.0.0.2 .. 127.0.0.(HOSTS+1) in meshdoctor's format and in
 * Ansible's. */
static void start_fleet(void)
{
	char text[2048], conf[300];
	FILE *fp;

	cr_assert_eq(lab_sh(L, NULL, "ssh-keygen -q -t ed25519 -N '' -C lab -f %s && "
			    "ssh-keygen -q -t ed25519 -N '' -C lab -f %s && mkdir -p -m0755 /run/sshd",
			    key, lab_path(L, "hostkey")), 0);
	cr_assert_eq(lab_sh(L, NULL, "mkdir -p %s && cp %s.pub %s/root && chmod 644 %s/root && "
			    "for i in $(seq 2 %d); do printf '[127.0.0.%%s]:2222 %%s\\n' $i "
			    "\"$(cut -d' ' -f1,2 %s.pub)\"; done > %s",
			    lab_path(L, "keys"), key, lab_path(L, "keys"), lab_path(L, "keys"),
			    HOSTS + 1, lab_path(L, "hostkey"), kh), 0);
	snprintf(conf, sizeof(conf), "%s", lab_path(L, "sshd_config"));
	snprintf(text, sizeof(text),
		 "ListenAddress 0.0.0.0:2222\nHostKey %s\nPidFile %s\nAuthorizedKeysFile %s/%%u\n"
		 "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
		 "StrictModes no\nMaxStartups 100:30:200\nLogLevel ERROR\n"
		 "Match LocalAddress " DENIED "," DENIED2 "\n    AuthorizedKeysFile /dev/null\n",
		 lab_path(L, "hostkey"), lab_path(L, "sshd.pid"), lab_path(L, "keys"));
	lab_write_file(conf, text, 0644);
	{
		const char *argv[] = { "/usr/sbin/sshd", "-D", "-e", "-f", conf, NULL };

		cr_assert_gt(lab_spawn(L, ns, argv, "sshd.log"), 0, "sshd");
	}
	cr_assert_eq(lab_wait_tcp(L, ns, "127.0.0.2", 2222, 10000), 0, "sshd did not listen");
	cr_assert_eq(lab_sh(L, ns, "nft add table inet mdfleet && nft add chain inet mdfleet in "
			    "'{ type filter hook input priority 0; }' && nft add rule inet mdfleet in "
			    "ip daddr " CLOSED " tcp dport 2222 reject with tcp reset"), 0, "nft");
	fp = fopen(inv, "w");
	cr_assert(fp);
	fprintf(fp, "# the lab fleet\n");
	for (int i = 2; i <= HOSTS + 1; i++)
		fprintf(fp, "root@127.0.0.%d port=2222\n", i);
	fclose(fp);
}

static void check_fleet(const char *extra1, const char *extra2)
{
	const char *args[] = { "check", "--inventory", inv, "--identity", key, "--known-hosts", kh,
			       "--no-ssh-config", "--probes", "ssh", "--rules", "rules", "--timeout",
			       "10s", "-j", "6", extra1, extra2, NULL };

	lab_md_result_free(&res);
	memset(&res, 0, sizeof(res));
	cr_assert_eq(lab_run_md(L, ns, args, 120000, &res), 0, "lab_run_md");
}

static const cJSON *host_report(const char *target)
{
	const cJSON *h;

	cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(res.report, "hosts"))
		if (strcmp(cJSON_GetObjectItemCaseSensitive(h, "target")->valuestring, target) == 0)
			return cJSON_GetObjectItemCaseSensitive(h, "report");
	return NULL;
}

Test(lab_fleet, twelve_hosts_two_causes_grouped_with_their_hosts_and_the_worst_exit, .timeout = 240)
{
	const char *table_denied = "root@" DENIED ":2222";
	const cJSON *rep;

	start_fleet();
	check_fleet("--json", "-");
	cr_assert(res.report, "no JSON\nstdout: %.2000s\nstderr: %s", res.out, res.err);
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(res.report, "schema")->valuestring,
			 "meshdoctor/fleet/v1");
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(res.report, "hosts")), HOSTS);
	cr_assert_eq(res.exit_code, 2, "exit %d\n%s", res.exit_code, res.err);
	/* Each host's own report: the healthy ones logged in, the denied ones were denied. */
	rep = host_report("root@127.0.0.2:2222");
	cr_assert(rep);
	cr_assert_eq(lab_report_n_findings(rep), 0, "127.0.0.2 has findings");
	rep = host_report(table_denied);
	cr_assert(rep && lab_report_has_finding(rep, "ssh-permission-denied"), "%s", res.err);
	rep = host_report("root@" CLOSED ":2222");
	cr_assert(rep && lab_report_has_finding(rep, "ssh-connection-refused"), "%s", res.err);
	/* The table and the causes go to standard error with the JSON on standard output. */
	cr_assert(strstr(res.err, "HOST "), "%s", res.err);
	cr_assert(strstr(res.err, "ssh-permission-denied (critical) on 2 hosts: root@" DENIED
			 ":2222 root@" DENIED2 ":2222\n"), "%s", res.err);
	cr_assert(strstr(res.err, "ssh-connection-refused (critical) on 1 host: root@" CLOSED
			 ":2222\n"), "%s", res.err);
	cr_assert(strstr(res.err, "12 hosts checked; the worst: CRITICAL (exit 2)"), "%s", res.err);
}

Test(lab_fleet, ndjson_one_report_a_line_as_each_host_finishes, .timeout = 240)
{
	char *line, *save = NULL;
	int n = 0;

	start_fleet();
	check_fleet("--ndjson", "-");
	for (line = strtok_r(res.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cJSON *doc = cJSON_Parse(line);

		cr_assert(doc, "not JSON: %.200s", line);
		cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(doc, "schema")->valuestring,
				 "meshdoctor/report/v1");
		cJSON_Delete(doc);
		n++;
	}
	cr_assert_eq(n, HOSTS, "%d lines", n);
	cr_assert_eq(res.exit_code, 2);
}

/* --prom: the textfile Prometheus' own checker accepts, with each host's verdict and the
 * rules that fired. */
Test(lab_fleet, prometheus_textfile_passes_promtool_with_verdicts_and_findings, .timeout = 240)
{
	char prom[300], *text;
	FILE *fp;
	long n;

	snprintf(prom, sizeof(prom), "%s", lab_path(L, "meshdoctor.prom"));
	start_fleet();
	check_fleet("--prom", prom);
	cr_assert_eq(res.exit_code, 2, "exit %d\n%s", res.exit_code, res.err);
	cr_assert_eq(lab_sh(L, NULL, "promtool check metrics < %s > %s 2>&1", prom,
			    lab_path(L, "promtool.out")), 0, "promtool refused %s (see %s)", prom,
		     lab_path(L, "promtool.out"));
	fp = fopen(prom, "r");
	cr_assert(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	text = calloc(1, (size_t)n + 1);
	cr_assert(text && fread(text, 1, (size_t)n, fp) == (size_t)n);
	fclose(fp);
	cr_assert(strstr(text, "meshdoctor_host_verdict{target=\"root@127.0.0.2:2222\"} 0\n"), "%s", text);
	cr_assert(strstr(text, "meshdoctor_host_verdict{target=\"root@" DENIED ":2222\"} 2\n"), "%s", text);
	cr_assert(strstr(text, "meshdoctor_finding{target=\"root@" DENIED ":2222\",rule=\"ssh-permission-"
			 "denied\",severity=\"critical\"} 1\n"), "%s", text);
	cr_assert(strstr(text, "meshdoctor_worst_verdict 2\nmeshdoctor_hosts") ||
		  strstr(text, "meshdoctor_worst_verdict 2\n"), "%s", text);
	free(text);
}
