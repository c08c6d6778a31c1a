/* cmd_check.c — `meshdoctor check TARGET`: probes → facts → rules → findings → report. */
#include "cli/cli.h"
#include "core/deadline.h"
#include "core/facts.h"
#include "core/net.h"
#include "core/session.h"
#include "core/target.h"
#include "probes/probe.h"
#include "report/report.h"
#include "run/check.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_CAPTURE_S 3

static void usage(FILE *f)
{
	fprintf(f,
		"usage: meshdoctor check [OPTIONS] TARGET\n"
		"\n"
		"Runs the probes against TARGET, applies the rules and prints a checklist of what was\n"
		"observed, then each finding: its cause, the evidence, what to do and its source.\n"
		"TARGET is [USER@]HOST[:PORT] ([ADDR]:PORT for IPv6) or a Host alias from ~/.ssh/config.\n"
		"\n"
		"options:\n"
		"  --json FILE           write the report as JSON to FILE ('-' or /dev/stdout: to\n"
		"                        standard output, instead of the text); a file is replaced\n"
		"                        at once and keeps its mode\n"
		"  --markdown FILE       write the report as Markdown to FILE ('-': standard output,\n"
		"                        instead of the text); not where --json writes\n"
		"  --probes LIST         run only these probes, comma-separated, each once (see\n"
		"                        `meshdoctor probes`); wireguard runs only when named, or\n"
		"                        with --pcap/--iface/--wg-port\n"
		"  --timeout DURATION    deadline for the whole run: 5000, 5000ms, 5s (default 5s);\n"
		"                        a live WireGuard capture adds --capture-seconds to it\n"
		"  -l, --user USER       SSH user (default: from ~/.ssh/config, else $USER)\n"
		"  -p, --port PORT       SSH port (default: from ~/.ssh/config, else 22)\n"
		"  -i, --identity FILE   private key to offer (only this one; the agent is still asked)\n"
		"  --known-hosts FILE    known_hosts file (default: from ~/.ssh/config)\n"
		"  -F, --ssh-config FILE read this ssh_config instead of ~/.ssh/config\n"
		"  --no-ssh-config       do not read ~/.ssh/config (through `ssh -G`)\n"
		"  --rules DIR           load rule files from DIR instead of the installed rules\n"
		"  -v, --verbose         evidence for every observation, every fact, the rules' path\n"
		"  --show-secrets        show secret values (and their evidence) instead of ********\n"
		"  -h, --help            this text\n"
		"\n"
		"probe options:\n"
		"  --port-list LIST      more ports for the port probe: 8443,3478/udp\n"
		"  --tls-port PORT       port of the TLS check (default 443)\n"
		"  --tls-host HOST       address to dial for the TLS check (default: the target)\n"
		"  --sni NAME            server name to send (default: MagicDNS name, else the host)\n"
		"  --ca FILE             CA certificates to verify against (default: system store)\n"
		"  --iface IF            interface to capture WireGuard on (default: the one routing\n"
		"                        to the target; 'any' for all)\n"
		"  --capture-seconds N   how long to capture WireGuard packets (default 3)\n"
		"  --pcap FILE           analyse a capture file (pcap or pcapng) instead of capturing\n"
		"  --wg-port PORT        another WireGuard UDP port to watch (41641 and 51820 always)\n"
		"\n"
		"exit codes: 0 OK, 1 warnings only, 2 critical finding, 3 could not tell (a probe\n"
		"could not complete), 64 usage or input error.\n");
}

enum {
	OPT_JSON = 256, OPT_MARKDOWN, OPT_PROBES, OPT_TIMEOUT, OPT_KNOWN_HOSTS, OPT_NO_SSH_CONFIG,
	OPT_RULES, OPT_SHOW_SECRETS, OPT_PORT_LIST, OPT_TLS_PORT, OPT_TLS_HOST, OPT_SNI, OPT_CA,
	OPT_IFACE, OPT_CAPTURE, OPT_PCAP, OPT_WG_PORT,
};

static const struct option longopts[] = {
	{ "json", required_argument, NULL, OPT_JSON },
	{ "markdown", required_argument, NULL, OPT_MARKDOWN },
	{ "probes", required_argument, NULL, OPT_PROBES },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "user", required_argument, NULL, 'l' },
	{ "port", required_argument, NULL, 'p' },
	{ "identity", required_argument, NULL, 'i' },
	{ "known-hosts", required_argument, NULL, OPT_KNOWN_HOSTS },
	{ "no-ssh-config", no_argument, NULL, OPT_NO_SSH_CONFIG },
	{ "ssh-config", required_argument, NULL, 'F' },
	{ "rules", required_argument, NULL, OPT_RULES },
	{ "verbose", no_argument, NULL, 'v' },
	{ "show-secrets", no_argument, NULL, OPT_SHOW_SECRETS },
	{ "help", no_argument, NULL, 'h' },
	{ "port-list", required_argument, NULL, OPT_PORT_LIST },
	{ "tls-port", required_argument, NULL, OPT_TLS_PORT },
	{ "tls-host", required_argument, NULL, OPT_TLS_HOST },
	{ "sni", required_argument, NULL, OPT_SNI },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "iface", required_argument, NULL, OPT_IFACE },
	{ "capture-seconds", required_argument, NULL, OPT_CAPTURE },
	{ "pcap", required_argument, NULL, OPT_PCAP },
	{ "wg-port", required_argument, NULL, OPT_WG_PORT },
	{ NULL, 0, NULL, 0 },
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

static int parse_port_opt(const char *name, const char *v, int *out)
{
	int p = md_parse_port(v);

	if (p < 0) {
		cli_error("%s '%s': give a port number from 1 to 65535", name, v);
		return -1;
	}
	*out = p;
	return 0;
}

/* Renders the result as asked: JSON and Markdown to their files, the text to standard
 * output unless a report already goes there.  The exit code: the verdict, or UNKNOWN when
 * a rendering could not be written. */
static int output(const struct md_host_result *res, const struct md_ruleset *rules,
		  const char *rules_dir, const struct md_options *opt, const char *json_path,
		  const char *md_path)
{
	struct md_report r = {
		.target = &res->target, .facts = &res->facts, .runs = res->runs, .n_runs = res->n_runs,
		.eval = &res->eval, .rules = rules, .rules_dir = rules_dir,
		.started_wall_ms = res->started_wall_ms, .duration_ms = res->duration_ms,
		.exit_code = (int)res->verdict, .show_secrets = opt->show_secrets,
	};
	bool text = !(json_path && cli_output_fd(json_path) == STDOUT_FILENO) &&
		    !(md_path && cli_output_fd(md_path) == STDOUT_FILENO);
	cJSON *doc = md_report_build(&r);
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

int cmd_check_main(int argc, char **argv)
{
	struct md_check_opts co = { .probe = { .timeout_ms = MD_DEFAULT_TIMEOUT_MS,
					       .capture_seconds = DEFAULT_CAPTURE_S } };
	struct md_options *o = &co.probe;
	struct md_target_opts *t = &co.target;
	struct md_host_result res;
	struct md_ruleset rules;
	struct md_err err = { 0 };
	const char *json_path = NULL, *md_path = NULL, *rules_opt = NULL, *rules_dir = NULL;
	int c, rc = MD_EXIT_USAGE;

	md_ruleset_init(&rules);
	md_host_result_init(&res);
	optind = 1;
	while ((c = getopt_long(argc, argv, "l:p:i:F:vh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			if (cli_check_output_path("--json", optarg))
				goto out;
			json_path = optarg;
			break;
		case OPT_MARKDOWN:
			if (cli_check_output_path("--markdown", optarg))
				goto out;
			md_path = optarg;
			break;
		case OPT_PROBES: co.probes = optarg; break;
		case OPT_TIMEOUT:
			o->timeout_ms = cli_parse_duration_ms(optarg);
			if (o->timeout_ms <= 0) {
				cli_error("--timeout '%s': give a positive duration such as 5s or 2500ms", optarg);
				goto out;
			}
			break;
		case 'l': t->user = optarg; break;
		case 'p':
			if (parse_port_opt("--port", optarg, &t->port))
				goto out;
			break;
		case 'i': t->identity = optarg; break;
		case OPT_KNOWN_HOSTS: t->known_hosts = optarg; break;
		case OPT_NO_SSH_CONFIG: t->no_ssh_config = true; break;
		case 'F': t->ssh_config = optarg; break;
		case OPT_RULES: rules_opt = optarg; break;
		case 'v': o->verbose = true; break;
		case OPT_SHOW_SECRETS: o->show_secrets = true; break;
		case 'h': usage(stdout); rc = MD_EXIT_OK; goto out;
		case OPT_PORT_LIST: o->port_list = optarg; break;
		case OPT_TLS_PORT:
			if (parse_port_opt("--tls-port", optarg, &o->tls_port))
				goto out;
			break;
		case OPT_TLS_HOST: o->tls_host = optarg; break;
		case OPT_SNI: o->sni = optarg; break;
		case OPT_CA:
			if (access(optarg, R_OK) != 0) {
				cli_error("--ca %s: cannot read the file", optarg);
				goto out;
			}
			o->ca_file = optarg;
			break;
		case OPT_IFACE: o->iface = optarg; break;
		case OPT_CAPTURE: {
			int64_t s = cli_parse_duration_ms(optarg);

			/* A bare number is seconds here. */
			if (s > 0 && strspn(optarg, "0123456789") == strlen(optarg))
				s *= 1000;
			if (s <= 0 || s > 3600 * 1000) {
				cli_error("--capture-seconds '%s': give a number of seconds from 1 to 3600", optarg);
				goto out;
			}
			o->capture_seconds = (int)((s + 999) / 1000);
			break;
		}
		case OPT_PCAP:
			if (access(optarg, R_OK) != 0) {
				cli_error("--pcap %s: cannot read the file", optarg);
				goto out;
			}
			o->pcap_file = optarg;
			break;
		case OPT_WG_PORT:
			if (o->n_wg_ports >= sizeof(o->wg_ports) / sizeof(o->wg_ports[0])) {
				cli_error("--wg-port: at most 8 extra ports");
				goto out;
			}
			if (parse_port_opt("--wg-port", optarg, &o->wg_ports[o->n_wg_ports]))
				goto out;
			o->n_wg_ports++;
			break;
		default:
			fprintf(stderr, "Try 'meshdoctor check --help'.\n");
			goto out;
		}
	}
	if (optind != argc - 1) {
		cli_error(optind >= argc ? "check needs a TARGET: [USER@]HOST[:PORT] (try --help)"
					 : "check takes one TARGET, got more (try --help)");
		goto out;
	}
	if (check_outputs(json_path, md_path))
		goto out;
	if (cli_load_rules(rules_opt, &rules, &rules_dir))
		goto out;
	if (md_check_run(argv[optind], &co, &rules, &res, &err) != MD_OK) {
		cli_error("%s", err.msg);
		rc = err.code == MD_ENOMEM ? MD_EXIT_UNKNOWN : MD_EXIT_USAGE;
		goto out;
	}
	/* A live capture without the right to capture: said at once, not only in the report. */
	for (size_t i = 0; i < res.n_runs; i++)
		if (res.runs[i].status == MD_EPERM)
			cli_error("%s", res.runs[i].message);
	rc = output(&res, &rules, rules_dir, o, json_path, md_path);
out:
	md_host_result_cleanup(&res);
	md_ruleset_cleanup(&rules);
	/* A name lookup left at its deadline may still run NSS code on its own thread:
	 * exit() would run library destructors under it.  Flush and leave at once. */
	if (md_net_pending_lookups() > 0) {
		fflush(NULL);
		_exit(rc);
	}
	return rc;
}
