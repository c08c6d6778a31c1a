/* cmd_check.c — `meshdoctor check TARGET`: probes → facts → rules → findings → report. */
#include "cli/cli.h"
#include "core/deadline.h"
#include "core/facts.h"
#include "core/net.h"
#include "core/session.h"
#include "core/target.h"
#include "probes/probe.h"
#include "report/report.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 5000
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

/* Which probes to run: the --probes list (validated), else every probe except the opt-in
 * ones that no option asked for. */
static int select_probes(const char *list, const struct md_options *opt, bool sel[])
{
	char *copy, *save = NULL;
	size_t n = 0;

	for (size_t i = 0; i < md_n_probes; i++) {
		const struct md_probe *p = md_probes[i];

		sel[i] = list == NULL &&
			 (!(p->needs & MD_NEEDS_OPT_IN) || (p->wanted && p->wanted(opt)));
	}
	if (!list)
		return 0;
	copy = strdup(list);
	if (!copy) {
		cli_error("out of memory");
		return -1;
	}
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		bool found = false;

		for (size_t i = 0; i < md_n_probes && !found; i++) {
			if (strcmp(md_probes[i]->name, tok) != 0)
				continue;
			/* Each probe runs once: a name given again is a mistake in the list. */
			if (sel[i]) {
				cli_error("--probes: '%s' named twice; name each probe once", tok);
				free(copy);
				return -1;
			}
			sel[i] = found = true;
		}
		if (!found) {
			char names[256] = "";

			for (size_t i = 0; i < md_n_probes; i++) {
				strncat(names, md_probes[i]->name, sizeof(names) - strlen(names) - 1);
				if (i + 1 < md_n_probes)
					strncat(names, ", ", sizeof(names) - strlen(names) - 1);
			}
			cli_error("--probes: unknown probe '%s' (known: %s)", tok, names);
			free(copy);
			return -1;
		}
		n++;
	}
	free(copy);
	if (n == 0) {
		cli_error("--probes '%s': name at least one probe (see: meshdoctor probes)", list);
		return -1;
	}
	return 0;
}

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

/* The verdict, as an exit code: a critical finding wins; then a probe that could not
 * complete makes the answer UNKNOWN; then warnings. */
static int verdict(const struct md_evaluation *ev, const struct md_probe_run *runs, size_t n)
{
	bool warn = false, unknown = false;

	for (size_t i = 0; i < ev->n_findings; i++) {
		if (ev->findings[i].severity == MD_SEV_CRITICAL)
			return MD_EXIT_CRITICAL;
		if (ev->findings[i].severity == MD_SEV_WARNING)
			warn = true;
	}
	for (size_t i = 0; i < n; i++) {
		/* Capturing without the right to capture is the operator's problem to fix
		 * (root or CAP_NET_RAW): a critical condition, not an unknown. */
		if (runs[i].status == MD_EPERM)
			return MD_EXIT_CRITICAL;
		if (runs[i].status != MD_OK && runs[i].status != MD_ESKIP)
			unknown = true;
	}
	if (unknown)
		return MD_EXIT_UNKNOWN;
	return warn ? MD_EXIT_WARNING : MD_EXIT_OK;
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

int cmd_check_main(int argc, char **argv)
{
	struct md_options opt = { .timeout_ms = DEFAULT_TIMEOUT_MS, .capture_seconds = DEFAULT_CAPTURE_S };
	struct md_target_opts topt = { 0 };
	struct md_target target;
	struct md_ruleset rules;
	struct md_facts facts;
	struct md_evaluation ev = { 0 };
	struct md_probe_run *runs = NULL;
	struct md_ctx ctx = { 0 };
	struct md_err err = { 0 };
	const char *json_path = NULL, *md_path = NULL, *probes_list = NULL, *rules_opt = NULL;
	const char *rules_dir = NULL;
	bool *sel = NULL;
	size_t n_runs = 0;
	int c, rc = MD_EXIT_USAGE;
	int64_t start_ms, start_wall, budget_ms;
	struct md_deadline run_dl;
	cJSON *doc = NULL;

	md_ruleset_init(&rules);
	md_facts_init(&facts);
	memset(&target, 0, sizeof(target));
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
		case OPT_PROBES: probes_list = optarg; break;
		case OPT_TIMEOUT:
			opt.timeout_ms = cli_parse_duration_ms(optarg);
			if (opt.timeout_ms <= 0) {
				cli_error("--timeout '%s': give a positive duration such as 5s or 2500ms", optarg);
				goto out;
			}
			break;
		case 'l': topt.user = optarg; break;
		case 'p':
			if (parse_port_opt("--port", optarg, &topt.port))
				goto out;
			break;
		case 'i': topt.identity = optarg; break;
		case OPT_KNOWN_HOSTS: topt.known_hosts = optarg; break;
		case OPT_NO_SSH_CONFIG: topt.no_ssh_config = true; break;
		case 'F': topt.ssh_config = optarg; break;
		case OPT_RULES: rules_opt = optarg; break;
		case 'v': opt.verbose = true; break;
		case OPT_SHOW_SECRETS: opt.show_secrets = true; break;
		case 'h': usage(stdout); rc = MD_EXIT_OK; goto out;
		case OPT_PORT_LIST: opt.port_list = optarg; break;
		case OPT_TLS_PORT:
			if (parse_port_opt("--tls-port", optarg, &opt.tls_port))
				goto out;
			break;
		case OPT_TLS_HOST: opt.tls_host = optarg; break;
		case OPT_SNI: opt.sni = optarg; break;
		case OPT_CA:
			if (access(optarg, R_OK) != 0) {
				cli_error("--ca %s: cannot read the file", optarg);
				goto out;
			}
			opt.ca_file = optarg;
			break;
		case OPT_IFACE: opt.iface = optarg; break;
		case OPT_CAPTURE: {
			int64_t s = cli_parse_duration_ms(optarg);

			/* A bare number is seconds here. */
			if (s > 0 && strspn(optarg, "0123456789") == strlen(optarg))
				s *= 1000;
			if (s <= 0 || s > 3600 * 1000) {
				cli_error("--capture-seconds '%s': give a number of seconds from 1 to 3600", optarg);
				goto out;
			}
			opt.capture_seconds = (int)((s + 999) / 1000);
			break;
		}
		case OPT_PCAP:
			if (access(optarg, R_OK) != 0) {
				cli_error("--pcap %s: cannot read the file", optarg);
				goto out;
			}
			opt.pcap_file = optarg;
			break;
		case OPT_WG_PORT:
			if (opt.n_wg_ports >= sizeof(opt.wg_ports) / sizeof(opt.wg_ports[0])) {
				cli_error("--wg-port: at most 8 extra ports");
				goto out;
			}
			if (parse_port_opt("--wg-port", optarg, &opt.wg_ports[opt.n_wg_ports]))
				goto out;
			opt.n_wg_ports++;
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
	/* One selection flag and at most one run per probe in the registry. */
	sel = calloc(md_n_probes, sizeof(*sel));
	runs = calloc(md_n_probes, sizeof(*runs));
	if (!sel || !runs) {
		cli_error("out of memory");
		goto out;
	}
	if (select_probes(probes_list, &opt, sel))
		goto out;
	if (cli_load_rules(rules_opt, &rules, &rules_dir))
		goto out;
	rules.fact_owner = md_probe_fact_owner;
	if (md_target_parse(argv[optind], &target, &err) != MD_OK) {
		cli_error("%s", err.msg);
		goto out;
	}

	start_ms = md_now_ms();
	start_wall = md_wall_ms();
	/* --timeout bounds the network waits; a probe whose work takes time by design (a
	 * live capture) extends the run by its own budget. */
	budget_ms = opt.timeout_ms;
	for (size_t i = 0; i < md_n_probes; i++)
		if (sel[i] && md_probes[i]->budget)
			budget_ms += md_probes[i]->budget(&opt);
	run_dl = md_deadline_after(start_ms, budget_ms);
	if (md_target_resolve(&target, &topt, &run_dl, &err) != MD_OK) {
		cli_error("%s", err.msg);
		goto out;
	}

	ctx.target = &target;
	ctx.opt = &opt;
	for (size_t i = 0; i < md_n_probes; i++) {
		const struct md_probe *p = md_probes[i];
		struct md_probe_run *run;
		int64_t t0;

		if (!sel[i])
			continue;
		run = &runs[n_runs++];
		memset(run, 0, sizeof(*run));
		run->probe = p->name;
		if ((p->needs & MD_NEEDS_SESSION) && !ctx.session) {
			run->status = MD_ESKIP;
			snprintf(run->message, sizeof(run->message), "needs an SSH session: %s",
				 sel[0] && strcmp(md_probes[0]->name, "ssh") == 0
					 ? "the ssh probe did not log in"
					 : "the ssh probe was not selected");
			continue;
		}
		md_err_clear(&err);
		t0 = md_now_ms();
		ctx.deadline = md_deadline_min(
			run_dl, md_deadline_after(t0, p->budget ? p->budget(&opt) : p->budget_ms));
		run->status = p->run(&ctx, &facts, &err);
		run->duration_ms = md_now_ms() - t0;
		if (run->status != MD_OK)
			snprintf(run->message, sizeof(run->message), "%s",
				 err.msg[0] ? err.msg : md_status_name(run->status));
		if (run->status == MD_EPERM)
			cli_error("%s", run->message);
	}

	if (md_rules_evaluate(&rules, &facts, opt.show_secrets, &ev) != MD_OK) {
		cli_error("out of memory evaluating the rules");
		rc = MD_EXIT_UNKNOWN;
		goto out;
	}
	rc = verdict(&ev, runs, n_runs);
	{
		struct md_report r = {
			.target = &target, .facts = &facts, .runs = runs, .n_runs = n_runs,
			.eval = &ev, .rules = &rules, .rules_dir = rules_dir,
			.started_wall_ms = start_wall, .duration_ms = md_now_ms() - start_ms,
			.exit_code = rc, .show_secrets = opt.show_secrets,
		};
		struct md_buf buf;
		/* The text goes to standard output unless a report already does. */
		bool text = !(json_path && cli_output_fd(json_path) == STDOUT_FILENO) &&
			    !(md_path && cli_output_fd(md_path) == STDOUT_FILENO);

		doc = md_report_build(&r);
		if (!doc) {
			cli_error("out of memory building the report");
			rc = MD_EXIT_UNKNOWN;
			goto out;
		}
		md_buf_init(&buf, 0);
		if (json_path && emit(json_path, md_report_json_text(doc, &buf), "JSON", &buf))
			rc = MD_EXIT_UNKNOWN;
		md_buf_reset(&buf);
		if (md_path && emit(md_path, md_report_markdown(doc, &buf), "Markdown", &buf))
			rc = MD_EXIT_UNKNOWN;
		md_buf_reset(&buf);
		if (text) {
			struct md_text_opts to = { .color = cli_use_color(STDOUT_FILENO),
						   .verbose = opt.verbose };

			if (emit("-", md_report_text(doc, &to, &buf), "text", &buf))
				rc = MD_EXIT_UNKNOWN;
		}
		md_buf_cleanup(&buf);
	}
out:
	cJSON_Delete(doc);
	md_session_free(ctx.session);
	md_evaluation_cleanup(&ev);
	md_facts_cleanup(&facts);
	md_ruleset_cleanup(&rules);
	md_target_cleanup(&target);
	free(runs);
	free(sel);
	/* A name lookup left at its deadline may still run NSS code on its own thread:
	 * exit() would run library destructors under it.  Flush and leave at once. */
	if (md_net_pending_lookups() > 0) {
		fflush(NULL);
		_exit(rc);
	}
	return rc;
}
