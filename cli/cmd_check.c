/* cmd_check.c — `meshdoctor check TARGET`: probes → facts → rules → findings → report. */
#include "cli/cli.h"
#include "core/deadline.h"
#include "core/facts.h"
#include "core/net.h"
#include "core/session.h"
#include "core/target.h"
#include "probes/dns.h"
#include "probes/probe.h"
#include "report/report.h"
#include "run/check.h"
#include "run/fleet.h"
#include "cli/check_fleet.h"
#include "core/inventory.h"

#include <stddef.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_CAPTURE_S 3

#define STR(x) STR_(x)
#define STR_(x) #x

/* What the options fill: the engine's options and what only the command reads. */
struct check_args {
	struct md_check_opts co;
	const char *json_path, *md_path, *rules_opt;
	const char *inventory, *ndjson_path, *prom_path;
	int jobs;
};

#define AT(field) offsetof(struct check_args, field)

/* --json and --markdown: checked before any probe runs. */
static int set_output(const struct cli_option *o, void *dst, const char *arg)
{
	char name[32];

	snprintf(name, sizeof(name), "--%s", o->name);
	if (cli_check_output_path(name, arg))
		return -1;
	return cli_set_string(o, dst, arg);
}

static int set_capture(const struct cli_option *o, void *dst, const char *arg)
{
	int64_t ms = cli_parse_duration_ms(arg);

	if (ms <= 0 || ms > 3600 * 1000) {
		cli_error("--%s '%s': give a number of seconds from 1 to 3600", o->name, arg);
		return -1;
	}
	*(int *)((char *)dst + o->off) = (int)((ms + 999) / 1000);
	return 0;
}

static int set_wg_port(const struct cli_option *o, void *dst, const char *arg)
{
	struct md_options *p = &((struct check_args *)dst)->co.probe;
	const size_t max = sizeof(p->wg_ports) / sizeof(p->wg_ports[0]);
	struct cli_option at = *o;

	if (p->n_wg_ports >= max) {
		cli_error("--%s: at most %zu extra ports", o->name, max);
		return -1;
	}
	at.off = AT(co.probe.wg_ports) + p->n_wg_ports * sizeof(p->wg_ports[0]);
	if (cli_set_port(&at, dst, arg))
		return -1;
	p->n_wg_ports++;
	return 0;
}

static int set_jobs(const struct cli_option *o, void *dst, const char *arg)
{
	char *end;
	long n = strtol(arg, &end, 10);

	if (!*arg || *end || n < 1 || n > MD_FLEET_MAX_JOBS) {
		cli_error("--%s '%s': give a number of hosts from 1 to %d", o->name, arg,
			  MD_FLEET_MAX_JOBS);
		return -1;
	}
	*(int *)((char *)dst + o->off) = (int)n;
	return 0;
}

static int set_ndjson(const struct cli_option *o, void *dst, const char *arg)
{
	if (strcmp(arg, "-") != 0 && cli_check_output_path("--ndjson", arg))
		return -1;
	return cli_set_string(o, dst, arg);
}

/* --headscale-host: a target as check takes one. */
static int set_headscale_host(const struct cli_option *o, void *dst, const char *arg)
{
	struct md_target t = { 0 };
	struct md_err e = { 0 };
	int rc = md_target_parse(arg, &t, &e);

	md_target_cleanup(&t);
	if (rc != MD_OK) {
		cli_error("--%s '%s': %s", o->name, arg, e.msg);
		return -1;
	}
	return cli_set_string(o, dst, arg);
}

#define GENERAL "options"
#define SSH "SSH options"
#define PORT "port probe options"
#define TLS "TLS probe options"
#define WG "WireGuard probe options"
#define DNS "DNS probe options"
#define TS "Tailscale probe options"
#define HSP "Headscale probe options"

static const struct cli_option options[] = {
	{ "json", 0, "FILE", "write the report as JSON to FILE ('-' or /dev/stdout: to standard "
	  "output, instead of the text); a file is replaced at once and keeps its mode",
	  NULL, GENERAL, CO_FILE, set_output, AT(json_path) },
	{ "markdown", 0, "FILE", "write the report as Markdown to FILE ('-': standard output, "
	  "instead of the text); not where --json writes", NULL, GENERAL, CO_FILE, set_output,
	  AT(md_path) },
	{ "inventory", 0, "FILE", "check every host of FILE too: one TARGET a line (port=, "
	  "user= after it) or an Ansible INI inventory", NULL, GENERAL, CO_FILE,
	  cli_set_readable, AT(inventory) },
	{ "jobs", 'j', "N", "with several hosts: how many to check at once", "16", GENERAL,
	  CO_NONE, set_jobs, AT(jobs) },
	{ "ndjson", 0, "FILE", "with several hosts: one JSON report a line, written as each "
	  "host finishes ('-': standard output)", NULL, GENERAL, CO_FILE, set_ndjson,
	  AT(ndjson_path) },
	{ "prom", 0, "FILE", "write a Prometheus textfile (per-host verdict, per-rule gauges) to "
	  "FILE, replaced at once (for node_exporter's textfile collector)", NULL, GENERAL, CO_FILE,
	  set_output, AT(prom_path) },
	{ "probes", 0, "LIST", "run only these probes, comma-separated, each once (see `meshdoctor "
	  "probes`); wireguard runs only when named, or with --pcap/--iface/--wg-port", NULL,
	  GENERAL, CO_PROBES, cli_set_string, AT(co.probes) },
	{ "timeout", 0, "DURATION", "deadline for the whole run: a number of seconds (5, 1.5) or "
	  "5s, 2500ms, 2m; at least " STR(CLI_MIN_TIMEOUT_MS) "ms; a live WireGuard capture adds "
	  "--capture-seconds to it", "5s", GENERAL, CO_NONE, cli_set_timeout, AT(co.probe.timeout_ms) },
	{ "rules", 0, "DIR", "load rule files from DIR instead of the installed rules", NULL,
	  GENERAL, CO_DIR, cli_set_string, AT(rules_opt) },
	{ "verbose", 'v', NULL, "evidence for every observation, every fact, the rules' path", NULL,
	  GENERAL, CO_NONE, cli_set_true, AT(co.probe.verbose) },
	{ "show-secrets", 0, NULL, "show secret values (and their evidence) instead of ********",
	  NULL, GENERAL, CO_NONE, cli_set_true, AT(co.probe.show_secrets) },
	CLI_OPTION_HELP(GENERAL),
	CLI_TARGET_OPTIONS(struct check_args, SSH),
	{ "port-list", 0, "LIST", "more ports for the port probe: 8443,3478/udp", NULL, PORT,
	  CO_NONE, cli_set_string, AT(co.probe.port_list) },
	{ "tls-port", 0, "PORT", "port of the TLS check", "443", TLS, CO_NONE, cli_set_port,
	  AT(co.probe.tls_port) },
	{ "tls-host", 0, "HOST", "address to dial for the TLS check", "the target", TLS, CO_HOST,
	  cli_set_string, AT(co.probe.tls_host) },
	{ "sni", 0, "NAME", "server name to send", "MagicDNS name, else the host", TLS, CO_NONE,
	  cli_set_string, AT(co.probe.sni) },
	{ "ca", 0, "FILE", "CA certificates to verify against", "system store", TLS, CO_FILE,
	  cli_set_readable, AT(co.probe.ca_file) },
	{ "login-server", 0, "URL", "the login (Headscale) server, e.g. http://sfspark1.local:8080: "
	  "the dns probe resolves its host here and on the target, the headscale probe asks it for "
	  "/health (here and from the target), /key and /version; the node's ControlURL must be "
	  "it", "the node's ControlURL", DNS, CO_NONE, cli_set_login_server,
	  AT(co.probe.login_server) },
	{ "netcheck", 0, NULL, "run `tailscale netcheck` on the host (UDP, nearest DERP) even "
	  "when no peer is relayed (without it: only when peers are relayed and none is direct)",
	  NULL, TS, CO_NONE, cli_set_true, AT(co.probe.netcheck) },
	{ "headscale-host", 0, "HOST", "the host that runs Headscale, [USER@]HOST[:PORT]: its CLI (nodes, "
	  "pre-auth keys, users) and `systemctl is-active headscale` are read there over SSH, with "
	  "the SSH options above", "the target, when it has `headscale` on PATH", HSP, CO_HOST,
	  set_headscale_host, AT(co.probe.headscale_host) },
	{ "iface", 0, "IF", "interface to capture WireGuard on ('any' for all)",
	  "the one routing to the target", WG, CO_IFACE, cli_set_string, AT(co.probe.iface) },
	{ "capture-seconds", 0, "N", "how long to capture WireGuard packets, in seconds",
	  STR(DEFAULT_CAPTURE_S), WG, CO_NONE, set_capture, AT(co.probe.capture_seconds) },
	{ "pcap", 0, "FILE", "analyse a capture file (pcap or pcapng) instead of capturing", NULL,
	  WG, CO_FILE, cli_set_readable, AT(co.probe.pcap_file) },
	{ "wg-port", 0, "PORT", "another WireGuard UDP port to watch (41641 and 51820 always); "
	  "may be given up to 8 times", NULL, WG, CO_NONE, set_wg_port, 0 },
	{ 0 },
};

/* --json and --markdown must not land in one place: two documents in one stream or file
 * would be neither JSON nor Markdown. */
static int check_outputs(const char *json_path, const char *md_path)
{
	char a_name[PATH_MAX], b_name[PATH_MAX];
	struct stat a, b;
	bool same;
	int fd;

	if (!json_path || !md_path)
		return 0;
	fd = cli_output_fd(json_path);
	if (fd >= 0 && fd == cli_output_fd(md_path)) {
		cli_error("--json and --markdown both write to standard %s; name a file for one of them",
			  fd == STDOUT_FILENO ? "output" : "error");
		return -1;
	}
	if (strcmp(json_path, md_path) == 0)
		same = true;
	else if (stat(json_path, &a) == 0 && stat(md_path, &b) == 0)
		same = S_ISREG(a.st_mode) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	else /* one is still to be made: by name (a.json and ./a.json) */
		same = cli_output_name(json_path, a_name, sizeof(a_name)) == 0 &&
		       cli_output_name(md_path, b_name, sizeof(b_name)) == 0 &&
		       strcmp(a_name, b_name) == 0;
	if (same) {
		cli_error("--json %s and --markdown %s name the same file; name two files", json_path,
			  md_path);
		return -1;
	}
	return 0;
}

/* Writes a rendering (render_rc: what the renderer returned) to path.  0 or -1, with one
 * line printed. */
static int emit(const char *path, int render_rc, const char *what, const struct md_buf *buf)
{
	if (render_rc != MD_OK) {
		cli_error("out of memory rendering the %s report", what);
		return -1;
	}
	return cli_write_output(path, buf);
}

/* Renders the result as asked: JSON and Markdown to their files, the text to standard
 * output unless a report already goes there.  The exit code: the verdict, or UNKNOWN when
 * a rendering could not be written. */
static int output(const struct md_host_result *res, const struct md_ruleset *rules,
		  const char *rules_dir, const struct md_options *opt, const char *json_path,
		  const char *md_path)
{
	bool text = !(json_path && cli_output_fd(json_path) == STDOUT_FILENO) &&
		    !(md_path && cli_output_fd(md_path) == STDOUT_FILENO);
	cJSON *doc = cli_report_of(res, rules, rules_dir, opt->show_secrets);
	struct md_buf buf;
	int rc = (int)res->verdict;

	if (!doc) {
		cli_error("out of memory building the report");
		return MD_EXIT_UNKNOWN;
	}
	md_buf_init(&buf, 0);
	if (json_path && emit(json_path, md_report_json_text(doc, &buf), "JSON", &buf))
		rc = MD_EXIT_UNKNOWN;
	md_buf_reset(&buf);
	if (md_path && emit(md_path, md_report_markdown(doc, &buf), "Markdown", &buf))
		rc = MD_EXIT_UNKNOWN;
	md_buf_reset(&buf);
	if (text) {
		struct md_text_opts to = { .color = cli_use_color(STDOUT_FILENO), .verbose = opt->verbose };

		if (emit("-", md_report_text(doc, &to, &buf), "text", &buf))
			rc = MD_EXIT_UNKNOWN;
	}
	md_buf_cleanup(&buf);
	cJSON_Delete(doc);
	return rc;
}

/* The TARGETs of the command line, then the inventory's: several hosts at once. */
static int check_many(const struct check_args *a, int n_args, char **args,
		      const struct md_ruleset *rules, const char *rules_dir)
{
	struct md_inventory inv = { 0 };
	struct md_err err = { 0 };
	struct md_buf text;
	const char **specs = NULL;
	size_t n = 0;
	int rc = MD_EXIT_USAGE;

	md_buf_init(&text, 4u * 1024 * 1024);
	if (a->md_path) {
		cli_error("--markdown writes one host's report: with several hosts, use --json or "
			  "--ndjson");
		goto out;
	}
	if (a->inventory) {
		if (cli_read_file(a->inventory, &text, "an inventory") != 0)
			goto out;
		if (md_inventory_parse(text.data ? text.data : "", text.len, &inv, &err) != MD_OK) {
			cli_error("--inventory %s: %s", a->inventory, err.msg);
			goto out;
		}
	}
	specs = calloc((size_t)n_args + inv.n + 1, sizeof(*specs));
	if (!specs) {
		cli_error("out of memory");
		rc = MD_EXIT_UNKNOWN;
		goto out;
	}
	for (int i = 0; i < n_args; i++)
		specs[n++] = args[i];
	for (size_t i = 0; i < inv.n; i++)
		specs[n++] = inv.v[i].spec;
	if (!n) {
		cli_error("--inventory %s lists no host", a->inventory);
		goto out;
	}
	{
		struct cli_fleet f = { .specs = specs, .n = n, .check = &a->co, .rules = rules,
				       .rules_dir = rules_dir, .jobs = a->jobs,
				       .json_path = a->json_path, .ndjson_path = a->ndjson_path,
				       .prom_path = a->prom_path,
				       .show_secrets = a->co.probe.show_secrets };

		rc = cli_check_fleet(&f);
	}
out:
	free(specs);
	md_inventory_free(&inv);
	md_buf_cleanup(&text);
	return rc;
}

static int check_main(int argc, char **argv)
{
	struct check_args a = { .co.probe = { .timeout_ms = MD_DEFAULT_TIMEOUT_MS,
					      .capture_seconds = DEFAULT_CAPTURE_S } };
	struct md_options *o = &a.co.probe;
	struct md_host_result res;
	struct md_ruleset rules;
	struct md_err err = { 0 };
	const char *rules_dir = NULL;
	int rc;

	md_ruleset_init(&rules);
	md_host_result_init(&res);
	rc = cli_parse(&cmd_check, argc, argv, &a);
	if (rc != CLI_GO_ON)
		goto out;
	o->ssh_opts = &a.co.target;
	rc = MD_EXIT_USAGE;
	if (optind >= argc && !a.inventory) {
		cli_error("check needs a TARGET: [USER@]HOST[:PORT], or --inventory FILE (try --help)");
		goto out;
	}
	if (check_outputs(a.json_path, a.md_path))
		goto out;
	if (cli_load_rules(a.rules_opt, &rules, &rules_dir))
		goto out;
	if (a.inventory || argc - optind > 1 || a.ndjson_path || a.prom_path) {
		rc = check_many(&a, argc - optind, argv + optind, &rules, rules_dir);
		goto out;
	}
	if (md_check_run(argv[optind], &a.co, &rules, &res, &err) != MD_OK) {
		cli_error("%s", err.msg);
		rc = err.code == MD_ENOMEM ? MD_EXIT_UNKNOWN : MD_EXIT_USAGE;
		goto out;
	}
	/* A live capture without the right to capture: said at once, not only in the report. */
	for (size_t i = 0; i < res.n_runs; i++)
		if (res.runs[i].status == MD_EPERM)
			cli_error("%s", res.runs[i].message);
	rc = output(&res, &rules, rules_dir, o, a.json_path, a.md_path);
out:
	md_host_result_cleanup(&res);
	md_ruleset_cleanup(&rules);
	return cli_exit(rc);
}

const struct cli_command cmd_check = {
	.name = "check",
	.main = check_main,
	.summary = "Diagnose HOST: run the probes, apply the rules, show findings and evidence",
	.synopsis = "[OPTIONS] TARGET",
	.description =
		"Runs the probes against TARGET, applies the rules and prints a checklist of what was\n"
		"observed, then each finding: its cause, the evidence, what to do and its source.\n"
		"TARGET is [USER@]HOST[:PORT] ([ADDR]:PORT for IPv6) or a Host alias from ~/.ssh/config.",
	.options = options,
	.operands = CO_HOST,
	.exit_codes = true,
};
