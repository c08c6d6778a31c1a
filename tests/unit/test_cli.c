/* Unit tests of the command line: usage errors, exit codes, --help, rule listing and the
 * report command.  They run the meshdoctor binary ($MD_BIN) on inputs that need no
 * network: every target here is rejected before any probe runs, or only an empty capture
 * file is read.  cli/common.c is also compiled in, so that a test can make a system call
 * fail inside cli_write_output().
 *
 * Every run of the binary has its own 20 s deadline (md_proc_run kills it), so the tests
 * set no criterion .timeout: with -j2, criterion's bookkeeping for pending timeouts is
 * still allocated when the runner exits, which LeakSanitizer reports under SAN=1. */
#include "core/proc.h"
/* cli_write_output() itself, for the tests that make a system call fail inside it. */
#include "cli/common.c"

#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct run {
	int code;
	char out[65536];
	char err[4096];
};

static void md(struct run *r, const char *const args[])
{
	const char *argv[32];
	const char *bin = getenv("MD_BIN");
	struct md_proc_result pr;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 20000);
	size_t n = 0;

	argv[n++] = bin && *bin ? bin : "./meshdoctor";
	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	md_proc_result_init(&pr, 1 << 20);
	cr_assert_eq(md_proc_run(argv, NULL, 0, &dl, &pr, NULL), MD_OK, "ran %s", argv[0]);
	r->code = pr.exit_code;
	snprintf(r->out, sizeof(r->out), "%s", md_buf_str(&pr.out));
	snprintf(r->err, sizeof(r->err), "%s", md_buf_str(&pr.err));
	md_proc_result_cleanup(&pr);
}

static void assert_one_line_error(const struct run *r, const char *part)
{
	cr_assert_eq(r->code, 64, "exit code %d, stderr: %s", r->code, r->err);
	cr_assert(strstr(r->err, part), "stderr '%s' lacks '%s'", r->err, part);
	cr_assert(strncmp(r->err, "meshdoctor: ", 12) == 0, "stderr: %s", r->err);
	cr_assert_eq(strchr(r->err, '\n'), r->err + strlen(r->err) - 1, "exactly one line: %s", r->err);
	cr_assert_str_eq(r->out, "", "nothing on stdout");
}

Test(cli, malformed_targets_are_usage_errors)
{
	static const char *const bad[] = { "host:0", "user@", "-oProxyCommand=x", "h;id", "[::1", NULL };
	struct run r;

	for (size_t i = 0; bad[i]; i++) {
		const char *args[] = { "check", "--", bad[i], NULL };

		md(&r, args);
		assert_one_line_error(&r, "target");
	}
}

Test(cli, bad_options_are_usage_errors)
{
	struct run r;
	const char *a1[] = { "check", "--probes", "ssh,nosuch", "h", NULL };
	const char *a2[] = { "check", "--timeout", "soon", "h", NULL };
	const char *a3[] = { "check", "--port", "70000", "h", NULL };
	const char *a4[] = { "check", NULL };
	const char *a5[] = { "frobnicate", NULL };
	const char *a6[] = { "check", "--pcap", "/nonexistent.pcap", "h", NULL };
	const char *a7[] = { "check", "-F", "/nonexistent.conf", "h", NULL };
	const char *a8[] = { "check", "-F", "/dev/null", "--no-ssh-config", "h", NULL };

	md(&r, a1);
	assert_one_line_error(&r, "unknown probe 'nosuch'");
	md(&r, a2);
	assert_one_line_error(&r, "--timeout 'soon'");
	md(&r, a3);
	assert_one_line_error(&r, "--port '70000'");
	md(&r, a4);
	assert_one_line_error(&r, "needs a TARGET");
	md(&r, a5);
	assert_one_line_error(&r, "unknown command 'frobnicate'");
	md(&r, a6);
	assert_one_line_error(&r, "--pcap /nonexistent.pcap");
	md(&r, a7);
	assert_one_line_error(&r, "--ssh-config /nonexistent.conf: cannot read");
	md(&r, a8);
	assert_one_line_error(&r, "exclude each other");
}

Test(cli, help_lists_every_command_and_exit_code)
{
	struct run r;
	const char *a1[] = { "--help", NULL };
	const char *a2[] = { "check", "--help", NULL };

	md(&r, a1);
	cr_assert_eq(r.code, 0);
	for (const char *const *w = (const char *const[]){ "check", "probes", "rules", "report",
							     "version", "64", "UNKNOWN", NULL };
	     *w; w++)
		cr_assert(strstr(r.out, *w), "--help lacks %s", *w);
	md(&r, a2);
	cr_assert_eq(r.code, 0);
	cr_assert(strstr(r.out, "--json FILE") && strstr(r.out, "--probes LIST") &&
		  strstr(r.out, "--timeout"), "%s", r.out);
}

Test(cli, version_names_the_schema)
{
	struct run r;
	const char *a[] = { "version", NULL };

	md(&r, a);
	cr_assert_eq(r.code, 0);
	cr_assert(strstr(r.out, "meshdoctor ") && strstr(r.out, "meshdoctor/report/v1"), "%s", r.out);
}

Test(cli, probes_lists_each_probe_and_its_facts)
{
	struct run r;
	const char *a[] = { "probes", NULL };

	md(&r, a);
	cr_assert_eq(r.code, 0);
	cr_assert(strstr(r.out, "ssh — ") && strstr(r.out, "ssh.tcp"), "%s", r.out);
}

Test(cli, rules_lists_and_explains)
{
	struct run r;
	const char *a1[] = { "rules", NULL };
	const char *a2[] = { "rules", "explain", "ssh-connection-refused", NULL };
	const char *a3[] = { "rules", "explain", "no-such-rule", NULL };

	md(&r, a1);
	cr_assert_eq(r.code, 0);
	cr_assert(strstr(r.out, "ssh-connection-refused") && strstr(r.out, "seeds/002"), "%s", r.out);
	cr_assert(strstr(r.out, "  [remedy applied by meshdoctor: prepare-sudo]\n"), "%s", r.out);
	cr_assert(strstr(r.out, "rules whose remedy meshdoctor applies (marked): "), "%s", r.out);
	md(&r, a2);
	cr_assert_eq(r.code, 0);
	cr_assert(strstr(r.out, "when:") && strstr(r.out, "ssh.tcp") && strstr(r.out, "from probe ssh"),
		  "%s", r.out);
	md(&r, a3);
	assert_one_line_error(&r, "no rule 'no-such-rule'");
}

Test(cli, a_rule_file_with_a_mistake_is_named_with_its_line)
{
	char dir[] = "/tmp/mdcli-rules-XXXXXX";
	char path[128];
	FILE *f;
	struct run r;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bad.rules", dir);
	f = fopen(path, "w");
	fputs("[rule ok-one]\nwhen = ssh.tcp == \"refused\"\nseverity = critical\ncause = x\n"
	      "source = seeds/x\n\n[rule broken]\nwhen = ssh.tcp == \n", f);
	fclose(f);
	{
		const char *a[] = { "check", "--rules", dir, "somehost", NULL };

		md(&r, a);
		assert_one_line_error(&r, "bad.rules:8:");
	}
	{
		const char *a[] = { "rules", "check", dir, NULL };

		md(&r, a);
		cr_assert_eq(r.code, 64);
		cr_assert(strstr(r.err, "bad.rules:8:"), "%s", r.err);
	}
	unlink(path);
	rmdir(dir);
}

Test(cli, report_renders_a_saved_report_and_rejects_others)
{
	char path[] = "/tmp/mdcli-report-XXXXXX";
	int fd = mkstemp(path);
	struct run r;
	const char *json =
		"{\"schema\":\"meshdoctor/report/v1\",\"tool\":{\"name\":\"meshdoctor\",\"version\":\"0.1.0\"},"
		"\"target\":{\"spec\":\"box\",\"user\":\"u\",\"hostname\":\"box\",\"port\":22},"
		"\"verdict\":{\"status\":\"ok\",\"exit_code\":0},\"probes\":[],\"findings\":[]}";

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, json, strlen(json)), (ssize_t)strlen(json));
	close(fd);
	{
		const char *a[] = { "report", "--markdown", path, NULL };

		md(&r, a);
		cr_assert_eq(r.code, 0, "%s", r.err);
		cr_assert(strstr(r.out, "## meshdoctor check `box`: ok") && strstr(r.out, "No problem found"),
			  "%s", r.out);
	}
	fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert_eq(write(fd, "{\"schema\":\"x\"}", 14), 14);
	close(fd);
	{
		const char *a[] = { "report", path, NULL };

		md(&r, a);
		assert_one_line_error(&r, "not a meshdoctor report");
	}
	unlink(path);
}

/* One raw IPv4/UDP frame from 10.79.0.1:51821 to 10.79.0.2:51820 (or back) carrying a
 * WireGuard message of len bytes: type, three zero bytes, then the indices given. */
static void put_wg(pcap_dumper_t *d, int ms, bool back, uint8_t type, uint32_t idx1,
		   uint32_t idx2, size_t len)
{
	uint8_t f[20 + 8 + 148] = { 0 };
	struct pcap_pkthdr h = { .ts = { 1700000000 + ms / 1000, (ms % 1000) * 1000 } };
	size_t total = 28 + len;
	uint32_t sum = 0;

	f[0] = 0x45, f[2] = (uint8_t)(total >> 8), f[3] = (uint8_t)total, f[8] = 64, f[9] = 17;
	memcpy(f + 12, back ? "\x0a\x4f\x00\x02\x0a\x4f\x00\x01" : "\x0a\x4f\x00\x01\x0a\x4f\x00\x02", 8);
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(f[i] << 8 | f[i + 1]);
	sum = (sum & 0xffff) + (sum >> 16);
	f[10] = (uint8_t)(~sum >> 8), f[11] = (uint8_t)~sum;
	memcpy(f + 20, back ? "\xca\x6c\xca\x6d" : "\xca\x6d\xca\x6c", 4); /* 51820 / 51821 */
	f[24] = (uint8_t)((8 + len) >> 8), f[25] = (uint8_t)(8 + len);
	f[28] = type;
	memcpy(f + 32, &idx1, 4);
	memcpy(f + 36, &idx2, 4);
	h.caplen = h.len = (bpf_u_int32)total;
	pcap_dump((u_char *)d, &h, f);
}

/* A healthy conversation written with libpcap's own dump functions (a handshake, data
 * both ways): `check --pcap` on it runs without any network and finds nothing wrong, so
 * the output options can be exercised. */
static void healthy_capture(char *path, size_t n)
{
	pcap_t *dead = pcap_open_dead(DLT_RAW, 65535);
	pcap_dumper_t *d;

	snprintf(path, n, "/tmp/mdcli-%d.pcap", (int)getpid());
	cr_assert_not_null(dead);
	d = pcap_dump_open(dead, path);
	cr_assert_not_null(d, "%s", pcap_geterr(dead));
	put_wg(d, 0, false, 1, 0x11111111, 0, 148);               /* initiation */
	put_wg(d, 2, true, 2, 0x22222222, 0x11111111, 92);        /* response */
	put_wg(d, 3, false, 4, 0x22222222, 0, 48);                /* data, confirms it */
	put_wg(d, 4, true, 4, 0x11111111, 0, 48);
	pcap_dump_close(d);
	pcap_close(dead);
}

/* A capture with no packet at all: meshdoctor cannot tell, and says so. */
static void empty_capture(char *path, size_t n)
{
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d;

	snprintf(path, n, "/tmp/mdcli-%d-empty.pcap", (int)getpid());
	cr_assert_not_null(dead);
	d = pcap_dump_open(dead, path);
	cr_assert_not_null(d, "%s", pcap_geterr(dead));
	pcap_dump_close(d);
	pcap_close(dead);
}

Test(cli, an_empty_capture_is_unknown_with_the_likely_causes_not_ok)
{
	char cap[64];
	struct run r;
	const char *a[] = { "check", "box", "--probes", "wireguard", "--pcap", cap, NULL };

	empty_capture(cap, sizeof(cap));
	md(&r, a);
	cr_assert_eq(r.code, 3, "UNKNOWN: exit %d\n%s%s", r.code, r.out, r.err);
	cr_assert(strstr(r.out, "no WireGuard packets in"), "%s", r.out);
	cr_assert(strstr(r.out, "--wg-port"), "the causes: %s", r.out);
	cr_assert(strstr(r.out, "DERP"), "the causes: %s", r.out);
	cr_assert_null(strstr(r.out, "no problem found"), "%s", r.out);
	unlink(cap);
}

Test(cli, output_paths_are_checked_before_probes_and_devices_are_written_in_place)
{
	char cap[64], fifo[64], file[64], link[64];
	struct stat st;
	struct run r;

	healthy_capture(cap, sizeof(cap));
	{
		const char *a[] = { "check", "box", "--probes", "wireguard", "--pcap", cap,
				    "--json", "/tmp", NULL };

		md(&r, a);
		assert_one_line_error(&r, "is a directory");
	}
	{
		const char *a[] = { "check", "box", "--probes", "wireguard", "--pcap", cap,
				    "--markdown", "/no/such/dir/r.md", NULL };

		md(&r, a);
		assert_one_line_error(&r, "does not exist");
	}
	/* A FIFO stands for any device (/dev/null, /dev/stdout): it must stay what it is. */
	snprintf(fifo, sizeof(fifo), "/tmp/mdcli-%d.fifo", (int)getpid());
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	{
		int rd = open(fifo, O_RDONLY | O_NONBLOCK);
		const char *a[] = { "check", "box", "--probes", "wireguard", "--pcap", cap,
				    "--json", fifo, NULL };
		char got[8192];
		ssize_t n;

		cr_assert_geq(rd, 0);
		md(&r, a);
		cr_assert_eq(r.code, 0, "%s", r.err);
		n = read(rd, got, sizeof(got) - 1);
		cr_assert_gt(n, 0, "the report went into the FIFO");
		got[n] = '\0';
		cr_assert(strstr(got, "meshdoctor/report/v1"), "%s", got);
		close(rd);
	}
	cr_assert_eq(stat(fifo, &st), 0);
	cr_assert(S_ISFIFO(st.st_mode), "the FIFO was replaced by a file");
	unlink(fifo);
	/* A symbolic link keeps pointing at the file, which receives the report. */
	snprintf(file, sizeof(file), "/tmp/mdcli-%d.json", (int)getpid());
	snprintf(link, sizeof(link), "/tmp/mdcli-%d.link", (int)getpid());
	cr_assert_eq(symlink(file, link), 0);
	{
		const char *a[] = { "check", "box", "--probes", "wireguard", "--pcap", cap,
				    "--json", link, NULL };

		md(&r, a);
		cr_assert_eq(r.code, 0, "%s", r.err);
	}
	cr_assert_eq(lstat(link, &st), 0);
	cr_assert(S_ISLNK(st.st_mode), "the link was replaced");
	cr_assert_eq(stat(file, &st), 0);
	cr_assert_gt(st.st_size, 0);
	unlink(link);
	unlink(file);
	unlink(cap);
}

/* ---- meshdoctor report on hand-made reports ---------------------------------------- */

#define SCHEMA "\"schema\":\"meshdoctor/report/v1\""

/* Writes text to a new temporary file; path receives its name. */
static void temp_report(char *path, size_t n, const char *text)
{
	int fd;

	snprintf(path, n, "/tmp/mdcli-rep-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* `report` renders text, verbose text and Markdown from text; each must succeed, show
 * every missing member as '?' (never "(null)") and contain want. */
static void assert_renders(const char *text, const char *want)
{
	static const char *const modes[][2] = { { "--text", NULL }, { "-v", NULL }, { "--markdown", NULL } };
	char path[64];
	struct run r;

	temp_report(path, sizeof(path), text);
	for (size_t i = 0; i < 3; i++) {
		const char *a[] = { "report", modes[i][0], path, NULL };

		md(&r, a);
		cr_assert_eq(r.code, 0, "report %s on %s: exit %d, stderr: %s", modes[i][0], text,
			     r.code, r.err);
		cr_assert_null(strstr(r.out, "(null)"), "report %s on %s printed (null):\n%s",
			       modes[i][0], text, r.out);
		cr_assert(!want || strstr(r.out, want), "report %s on %s lacks '%s':\n%s",
			  modes[i][0], text, want, r.out);
	}
	unlink(path);
}

static void assert_rejected(const char *text, const char *part)
{
	char path[64];
	struct run r;
	const char *a[] = { "report", path, NULL };

	temp_report(path, sizeof(path), text);
	md(&r, a);
	assert_one_line_error(&r, part);
	unlink(path);
}

Test(cli, report_renders_members_that_are_missing_as_question_marks)
{
	/* The least a report can be. */
	assert_renders("{" SCHEMA ",\"tool\":{},\"target\":{},\"verdict\":{},\"probes\":[],"
		       "\"findings\":[]}", "?");
	/* A checklist fact with neither label nor name; a finding, a path step and a cited
	 * fact with nothing in them. */
	assert_renders("{" SCHEMA ",\"tool\":{},\"target\":{},\"verdict\":{},"
		       "\"probes\":[{\"facts\":[{\"check\":\"ok\"},{\"check\":\"fail\",\"value\":\"x\"},{}]},"
		       "{\"status\":\"error\"},{\"status\":\"skipped\",\"facts\":[]}],"
		       "\"findings\":[{},{\"evidence\":[{}],\"advice\":[null,5]}],"
		       "\"path\":[{},{\"missing\":[{}]}]}", "?");
	/* Members of the wrong type are missing members. */
	assert_renders("{" SCHEMA ",\"tool\":{\"version\":1},\"target\":{\"spec\":[],\"port\":\"22\"},"
		       "\"verdict\":{\"status\":7,\"exit_code\":\"two\"},"
		       "\"probes\":[{\"name\":{},\"status\":1,\"message\":2,\"facts\":[{\"name\":3,"
		       "\"check\":4,\"label\":5,\"value\":{\"a\":1},\"evidence\":6}]}],"
		       "\"findings\":[{\"rule\":1,\"severity\":2,\"title\":3,\"cause\":4,\"remedy\":5,"
		       "\"source\":6,\"evidence\":[{\"fact\":1,\"value\":[],\"evidence\":2}]}],"
		       "\"path\":[{\"rule\":1,\"result\":2,\"trace\":3,\"superseded_by\":4,"
		       "\"missing\":[{\"fact\":1,\"probe\":2}]}]}", "?");
}

Test(cli, report_rejects_a_malformed_report_in_one_line)
{
	assert_rejected("{" SCHEMA ",\"tool\":{},\"target\":{},\"verdict\":{},\"probes\":\"x\","
			"\"findings\":[]}", "\"probes\"");
	assert_rejected("{" SCHEMA ",\"tool\":{},\"target\":{},\"verdict\":{},\"probes\":[],"
			"\"findings\":{}}", "\"findings\"");
	assert_rejected("{" SCHEMA ",\"tool\":[],\"target\":{},\"verdict\":{},\"probes\":[],"
			"\"findings\":[]}", "\"tool\"");
	assert_rejected("{" SCHEMA ",\"tool\":{},\"target\":5,\"verdict\":{},\"probes\":[],"
			"\"findings\":[]}", "\"target\"");
	assert_rejected("{" SCHEMA ",\"tool\":{},\"target\":{},\"verdict\":{},\"probes\":[5],"
			"\"findings\":[]}", "\"probes\"");
	assert_rejected("{" SCHEMA ",\"tool\":{},\"target\":{},\"verdict\":{},"
			"\"probes\":[{\"facts\":{}}],\"findings\":[]}", "facts");
	assert_rejected("{" SCHEMA ",\"tool\":{},\"target\":{},\"verdict\":{},"
			"\"probes\":[{\"facts\":[\"x\"]}],\"findings\":[]}", "facts");
	assert_rejected("{" SCHEMA ",\"tool\":{},\"target\":{},\"verdict\":{},\"probes\":[],"
			"\"findings\":[[]]}", "\"findings\"");
	assert_rejected("{" SCHEMA ",\"tool\":{},\"target\":{},\"verdict\":{},\"probes\":[],"
			"\"findings\":[{\"evidence\":{}}]}", "evidence");
	assert_rejected("{" SCHEMA ",\"tool\":{},\"target\":{},\"verdict\":{},\"probes\":[],"
			"\"findings\":[],\"path\":{}}", "\"path\"");
	assert_rejected("[]", "not a meshdoctor report");
	assert_rejected("", "not JSON");
}

Test(cli, error_messages_show_control_characters_as_hex)
{
	struct run r;
	const char *a1[] = { "report", "/nonexistent/\033]0;owned\007\xc2\x9b" "2J", NULL };
	const char *a2[] = { "frob\033[2J\nnicate", NULL };

	md(&r, a1);
	assert_one_line_error(&r, "/nonexistent/\\x1b]0;owned\\x07\\xc2\\x9b2J");
	cr_assert_null(strchr(r.err, '\033'), "%s", r.err);
	md(&r, a2);
	assert_one_line_error(&r, "unknown command 'frob\\x1b[2J\\x0anicate'");
}

/* ---- where --json and --markdown write ---------------------------------------------- */

/* Runs `sh -c script` with $0 = meshdoctor and $1 = an empty capture file: for output
 * redirections and umask, which md() cannot express. */
static void sh(struct run *r, const char *script, const char *cap)
{
	const char *bin = getenv("MD_BIN");
	const char *args[] = { "/bin/sh", "-c", script, bin && *bin ? bin : "./meshdoctor", cap, NULL };
	struct md_proc_result pr;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 20000);

	md_proc_result_init(&pr, 1 << 20);
	cr_assert_eq(md_proc_run(args, NULL, 0, &dl, &pr, NULL), MD_OK);
	r->code = pr.exit_code;
	snprintf(r->out, sizeof(r->out), "%s", md_buf_str(&pr.out));
	snprintf(r->err, sizeof(r->err), "%s", md_buf_str(&pr.err));
	md_proc_result_cleanup(&pr);
}

static char *slurp_file(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "rb");
	size_t n;

	cr_assert_not_null(f, "%s", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

Test(cli, json_to_dev_stdout_writes_into_the_redirected_file_in_place)
{
	static const char *const names[] = { "/dev/stdout", "/proc/self/fd/1", "/dev/fd/1", NULL };
	char cap[64], file[64], script[512];
	struct stat before, after;
	struct run r;

	healthy_capture(cap, sizeof(cap));
	snprintf(file, sizeof(file), "/tmp/mdcli-%d-out.json", (int)getpid());
	for (size_t i = 0; names[i]; i++) {
		const char *got;

		unlink(file);
		cr_assert_eq(close(open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600)), 0);
		cr_assert_eq(stat(file, &before), 0);
		snprintf(script, sizeof(script),
			 "exec \"$0\" check box --probes wireguard --pcap \"$1\" --json %s >%s",
			 names[i], file);
		sh(&r, script, cap);
		cr_assert_eq(r.code, 0, "--json %s: exit %d: %s", names[i], r.code, r.err);
		cr_assert_eq(stat(file, &after), 0);
		cr_assert(before.st_ino == after.st_ino && before.st_dev == after.st_dev,
			  "--json %s replaced the file standard output goes to", names[i]);
		cr_assert_eq(after.st_mode & 07777, 0600, "--json %s changed the mode", names[i]);
		got = slurp_file(file);
		cr_assert_eq(strncmp(got, "{", 1), 0, "--json %s: the file holds only the JSON:\n%s",
			     names[i], got);
		cr_assert(strstr(got, "\"schema\":\t\"meshdoctor/report/v1\""), "%s", got);
		cr_assert_null(strstr(got, "meshdoctor check box"), "no text with the JSON: %s", got);
	}
	/* Appending to standard output appends the report. */
	cr_assert_eq(close(open(file, O_WRONLY | O_TRUNC)), 0);
	snprintf(script, sizeof(script), "echo first >%s; "
		 "exec \"$0\" check box --probes wireguard --pcap \"$1\" --json /dev/stdout >>%s",
		 file, file);
	sh(&r, script, cap);
	cr_assert_eq(r.code, 0, "%s", r.err);
	cr_assert_eq(strncmp(slurp_file(file), "first\n{", 7), 0, "%s", slurp_file(file));
	/* The same for standard error. */
	snprintf(script, sizeof(script),
		 "exec \"$0\" check box --probes wireguard --pcap \"$1\" --markdown /dev/stderr 2>%s",
		 file);
	cr_assert_eq(stat(file, &before), 0);
	sh(&r, script, cap);
	cr_assert_eq(r.code, 0, "%s", r.err);
	cr_assert_eq(stat(file, &after), 0);
	cr_assert_eq(before.st_ino, after.st_ino, "--markdown /dev/stderr replaced the file");
	cr_assert(strstr(slurp_file(file), "## meshdoctor check `box`"), "%s", slurp_file(file));
	cr_assert(strstr(r.out, "meshdoctor check box"), "the text still goes to stdout: %s", r.out);
	unlink(file);
	unlink(cap);
}

/* Whether directory dir holds a file whose name starts with prefix and has ".tmp." in it:
 * a temporary file left behind. */
static bool stray_temp(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	cr_assert_not_null(d, "%s", dir);
	while (!found && (e = readdir(d)))
		found = strncmp(e->d_name, prefix, strlen(prefix)) == 0 && strstr(e->d_name, ".tmp.");
	closedir(d);
	return found;
}

Test(cli, a_regular_file_under_dev_is_replaced_like_any_other)
{
	char cap[64], file[64], name[32];
	struct stat st;
	struct run r;
	int fd;

	healthy_capture(cap, sizeof(cap));
	snprintf(name, sizeof(name), "mdcli-%d", (int)getpid());
	snprintf(file, sizeof(file), "/dev/shm/%s.json", name);
	/* A new file is created, not refused at the end of the run. */
	unlink(file);
	{
		const char *a[] = { "check", "box", "--probes", "wireguard", "--pcap", cap,
				    "--json", file, NULL };

		md(&r, a);
		cr_assert_eq(r.code, 0, "--json %s: exit %d: %s", file, r.code, r.err);
		cr_assert_eq(stat(file, &st), 0, "--json %s made no file", file);
		cr_assert_eq(strncmp(slurp_file(file), "{", 1), 0, "%s", slurp_file(file));
	}
	/* An existing file holds one report afterwards, not the old text and a report. */
	fd = open(file, O_WRONLY | O_TRUNC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "old text\n", 9), 9);
	close(fd);
	{
		const char *a[] = { "check", "box", "--probes", "wireguard", "--pcap", cap,
				    "--markdown", file, NULL };

		md(&r, a);
		cr_assert_eq(r.code, 0, "%s", r.err);
		cr_assert_eq(strncmp(slurp_file(file), "## meshdoctor check", 19), 0,
			     "--markdown %s did not replace the file:\n%s", file, slurp_file(file));
	}
	cr_assert_not(stray_temp("/dev/shm", name), "a temporary file was left in /dev/shm");
	unlink(file);
	unlink(cap);
}

Test(cli, a_descriptor_name_is_appended_to_and_must_be_open)
{
	static const char *const names[] = { "/dev/fd/3", "/proc/self/fd/3", "/proc/$$/fd/3", NULL };
	char cap[64], file[64], script[512];
	struct stat before, after;
	struct run r;

	healthy_capture(cap, sizeof(cap));
	snprintf(file, sizeof(file), "/tmp/mdcli-%d-fd3.json", (int)getpid());
	for (size_t i = 0; names[i]; i++) {
		unlink(file);
		snprintf(script, sizeof(script), "echo first >%s; "
			 "exec \"$0\" check box --probes wireguard --pcap \"$1\" --json %s 3>>%s",
			 file, names[i], file);
		cr_assert_eq(close(open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600)), 0);
		cr_assert_eq(stat(file, &before), 0);
		sh(&r, script, cap);
		cr_assert_eq(r.code, 0, "--json %s: exit %d: %s", names[i], r.code, r.err);
		cr_assert_eq(stat(file, &after), 0);
		cr_assert_eq(before.st_ino, after.st_ino, "--json %s replaced the file", names[i]);
		cr_assert_eq(strncmp(slurp_file(file), "first\n{", 7), 0, "--json %s:\n%s", names[i],
			     slurp_file(file));
	}
	{
		const char *a[] = { "check", "box", "--probes", "wireguard", "--pcap", cap,
				    "--json", "/dev/fd/9", NULL };

		md(&r, a);
		assert_one_line_error(&r, "--json /dev/fd/9: no such open file descriptor");
	}
	unlink(file);
	unlink(cap);
}

/* fchmod() and fsync() as cli_write_output() calls them here: failing with EIO when asked;
 * fsync() raising SIGINT first when asked, as Ctrl-C would come while the report is
 * written (its temporary file then whole, not yet renamed). */
static bool fail_fchmod, fail_fsync, sigint_in_fsync;

int fchmod(int fd, mode_t mode)
{
	if (fail_fchmod) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fchmod, fd, mode);
}

int fsync(int fd)
{
	if (sigint_in_fsync)
		raise(SIGINT);
	if (fail_fsync) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fsync, fd);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d, "%s", dir);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

Test(cli, a_report_that_cannot_be_written_leaves_no_descriptor_and_no_file)
{
	char dir[] = "/tmp/mdcli-fail-XXXXXX", path[64];
	struct md_buf buf;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r.json", dir);
	md_buf_init(&buf, 0);
	cr_assert_eq(md_buf_puts(&buf, "{}\n"), MD_OK);
	for (int k = 0; k < 2; k++) {
		int fds = count_entries("/proc/self/fd");

		fail_fchmod = k == 0;
		fail_fsync = k == 1;
		cr_assert_eq(cli_write_output(path, &buf), -1, "%s failed", k ? "fsync" : "fchmod");
		cr_assert_eq(count_entries("/proc/self/fd"), fds, "%s failed: a descriptor is left open",
			     k ? "fsync" : "fchmod");
		cr_assert_eq(count_entries(dir), 0, "%s failed: a file is left in %s",
			     k ? "fsync" : "fchmod", dir);
	}
	fail_fchmod = fail_fsync = false;
	cr_assert_eq(cli_write_output(path, &buf), 0);
	cr_assert_str_eq(slurp_file(path), "{}\n");
	cr_assert_eq(count_entries(dir), 1);
	md_buf_cleanup(&buf);
	unlink(path);
	rmdir(dir);
}

/* SIGINT while the report is written: the run ends by the signal, as it would without
 * meshdoctor's handler, and leaves the old report as it was, or no report when there was
 * none, and no temporary file. */
Test(cli, a_report_interrupted_while_written_leaves_the_old_one_or_none)
{
	static const char old_text[] = "{\"old\": \"report\"}\n";
	char dir[] = "/tmp/mdcli-int-XXXXXX", path[64];
	struct md_buf buf;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r.json", dir);
	md_buf_init(&buf, 0);
	cr_assert_eq(md_buf_puts(&buf, "{\"new\": \"report\"}\n"), MD_OK);
	for (int had_old = 0; had_old < 2; had_old++) {
		pid_t pid;
		int st = 0;

		if (had_old) {
			FILE *fp = fopen(path, "w");

			cr_assert_not_null(fp);
			fputs(old_text, fp);
			fclose(fp);
		}
		pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			sigint_in_fsync = true;
			cli_write_output(path, &buf);
			_exit(0);
		}
		cr_assert_eq(waitpid(pid, &st, 0), pid);
		cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT, "not ended by SIGINT: status %#x", st);
		cr_assert_eq(count_entries(dir), had_old, "%s: %d entries (a temporary file left?)", dir,
			     count_entries(dir));
		if (had_old)
			cr_assert_str_eq(slurp_file(path), old_text);
	}
	md_buf_cleanup(&buf);
	unlink(path);
	rmdir(dir);
}

/* A signal ignored by whoever started meshdoctor stays ignored while a report is written. */
Test(cli, an_ignored_sigint_stays_ignored_while_a_report_is_written)
{
	char dir[] = "/tmp/mdcli-ign-XXXXXX", path[64];
	struct md_buf buf;
	pid_t pid;
	int st = 0;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r.json", dir);
	md_buf_init(&buf, 0);
	cr_assert_eq(md_buf_puts(&buf, "{}\n"), MD_OK);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		signal(SIGINT, SIG_IGN);
		sigint_in_fsync = true;
		_exit(cli_write_output(path, &buf) == 0 ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	cr_assert_str_eq(slurp_file(path), "{}\n");
	cr_assert_eq(count_entries(dir), 1);
	md_buf_cleanup(&buf);
	unlink(path);
	rmdir(dir);
}

Test(cli, report_files_keep_the_mode_of_the_file_they_replace)
{
	char cap[64], file[64], script[512];
	struct stat st;
	struct run r;

	healthy_capture(cap, sizeof(cap));
	snprintf(file, sizeof(file), "/tmp/mdcli-%d-mode.json", (int)getpid());
	/* A report kept private stays private. */
	unlink(file);
	cr_assert_eq(close(open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600)), 0);
	cr_assert_eq(chmod(file, 0600), 0);
	snprintf(script, sizeof(script), "umask 022; exec \"$0\" check box --probes wireguard "
		 "--pcap \"$1\" --json %s", file);
	sh(&r, script, cap);
	cr_assert_eq(r.code, 0, "%s", r.err);
	cr_assert_eq(stat(file, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	cr_assert(strstr(slurp_file(file), "meshdoctor/report/v1"));
	/* Another mode is kept too, whatever the umask. */
	cr_assert_eq(chmod(file, 0640), 0);
	snprintf(script, sizeof(script), "umask 077; exec \"$0\" check box --probes wireguard "
		 "--pcap \"$1\" --markdown %s", file);
	sh(&r, script, cap);
	cr_assert_eq(r.code, 0, "%s", r.err);
	cr_assert_eq(stat(file, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0640, "mode %o", st.st_mode & 07777);
	/* A new file: 0644 less the umask. */
	for (int i = 0; i < 2; i++) {
		unlink(file);
		snprintf(script, sizeof(script), "umask %s; exec \"$0\" check box --probes wireguard "
			 "--pcap \"$1\" --json %s", i ? "027" : "022", file);
		sh(&r, script, cap);
		cr_assert_eq(r.code, 0, "%s", r.err);
		cr_assert_eq(stat(file, &st), 0);
		cr_assert_eq(st.st_mode & 07777, i ? 0640 : 0644, "mode %o", st.st_mode & 07777);
	}
	unlink(file);
	unlink(cap);
}

Test(cli, two_reports_to_one_place_and_repeated_probes_are_usage_errors)
{
	char cap[64], file[64];
	struct run r;

	healthy_capture(cap, sizeof(cap));
	snprintf(file, sizeof(file), "/tmp/mdcli-%d-both", (int)getpid());
	{
		const char *a[] = { "check", "box", "--probes", "wireguard", "--pcap", cap,
				    "--json", "-", "--markdown", "-", NULL };

		md(&r, a);
		assert_one_line_error(&r, "standard output");
	}
	{
		const char *a[] = { "check", "box", "--probes", "wireguard", "--pcap", cap,
				    "--json", "/dev/stdout", "--markdown", "-", NULL };

		md(&r, a);
		assert_one_line_error(&r, "standard output");
	}
	{
		const char *a[] = { "check", "box", "--probes", "wireguard", "--pcap", cap,
				    "--json", file, "--markdown", file, NULL };

		md(&r, a);
		assert_one_line_error(&r, "same file");
	}
	{
		const char *a[] = { "check", "box", "--probes", "wireguard,wireguard", "--pcap", cap, NULL };

		md(&r, a);
		assert_one_line_error(&r, "--probes: 'wireguard' named twice");
	}
	{
		static char many[8192];
		const char *a[] = { "check", "box", "--probes", many, "--pcap", cap, NULL };

		many[0] = '\0';
		for (int i = 0; i < 500; i++)
			strcat(many, i ? ",wireguard" : "wireguard");
		md(&r, a);
		assert_one_line_error(&r, "named twice");
	}
	{
		const char *a[] = { "check", "box", "--probes", ",", "--pcap", cap, NULL };

		md(&r, a);
		assert_one_line_error(&r, "name at least one probe");
	}
	unlink(file);
	unlink(cap);
}

Test(cli, two_reports_to_one_new_file_by_two_names_are_a_usage_error)
{
	char cap[64], file[64], dotted[64], rel[64], dot_rel[64], link[64];
	struct stat st;
	struct run r;

	healthy_capture(cap, sizeof(cap));
	snprintf(file, sizeof(file), "/tmp/mdcli-%d-new.json", (int)getpid());
	snprintf(dotted, sizeof(dotted), "/tmp/./mdcli-%d-new.json", (int)getpid());
	snprintf(rel, sizeof(rel), "mdcli-%d-new.json", (int)getpid());
	snprintf(dot_rel, sizeof(dot_rel), "./mdcli-%d-new.json", (int)getpid());
	snprintf(link, sizeof(link), "/tmp/mdcli-%d-new.link", (int)getpid());
	unlink(file);
	unlink(rel);
	cr_assert_eq(symlink(file, link), 0);
	{
		const char *a[] = { "check", "box", "--probes", "wireguard", "--pcap", cap,
				    "--json", file, "--markdown", dotted, NULL };

		md(&r, a);
		assert_one_line_error(&r, "same file");
	}
	{
		const char *a[] = { "check", "box", "--probes", "wireguard", "--pcap", cap,
				    "--json", rel, "--markdown", dot_rel, NULL };

		md(&r, a);
		assert_one_line_error(&r, "same file");
	}
	{
		/* A link to a file not yet there: the report would create that file. */
		const char *a[] = { "check", "box", "--probes", "wireguard", "--pcap", cap,
				    "--json", link, "--markdown", file, NULL };

		md(&r, a);
		assert_one_line_error(&r, "same file");
	}
	cr_assert_neq(stat(file, &st), 0, "nothing was written");
	cr_assert_neq(stat(rel, &st), 0, "nothing was written");
	unlink(link);
	unlink(cap);
}

Test(cli, rule_text_is_shown_with_control_characters_as_hex)
{
	char dir[] = "/tmp/mdcli-rules-XXXXXX";
	char path[128];
	FILE *f;
	struct run r;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/odd.rules", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("[rule odd-one]\nwhen = ssh.tcp == \"\033[2J\"\nseverity = warning\n"
	      "title = t\033]0;owned\007\ncause = c\xc2\x9b" "1m\nadvice = a\xe2\x80\xae" "gnp\n"
	      "source = s\033[8m\n", f);
	fclose(f);
	{
		const char *a[] = { "rules", "explain", "odd-one", "--rules", dir, NULL };

		md(&r, a);
		cr_assert_eq(r.code, 0, "%s", r.err);
		cr_assert_null(strchr(r.out, '\033'), "%s", r.out);
		cr_assert_null(strchr(r.out, '\007'), "%s", r.out);
		cr_assert(strstr(r.out, "odd-one — t\\x1b]0;owned\\x07\n"), "%s", r.out);
		cr_assert(strstr(r.out, "  when:       ssh.tcp == \"\\x1b[2J\"\n"), "%s", r.out);
		cr_assert(strstr(r.out, "  cause:      c\\xc2\\x9b1m\n"), "%s", r.out);
		cr_assert(strstr(r.out, "  advice:     1. a\\xe2\\x80\\xaegnp\n"), "%s", r.out);
		cr_assert(strstr(r.out, "  source:     s\\x1b[8m\n"), "%s", r.out);
	}
	{
		const char *a[] = { "rules", "--rules", dir, NULL };

		md(&r, a);
		cr_assert_eq(r.code, 0, "%s", r.err);
		cr_assert_null(strchr(r.out, '\033'), "%s", r.out);
		cr_assert(strstr(r.out, "odd.rules:1  s\\x1b[8m\n"), "%s", r.out);
	}
	unlink(path);
	rmdir(dir);
}
