/* lab_wireguard.c — the wireguard probe against real WireGuard (wireguard-go) in two
 * network namespaces joined by a veth pair.
 *
 *   ns 1 (10.79.0.1 on veth0, tunnel 100.64.7.1)  <-- veth -->  ns 2 (10.79.0.2, 100.64.7.2)
 *
 * Both ends listen on UDP 51820.  Traffic is ICMP echo through the tunnel from ns 1
 * (tests/lab/helpers/wg_ping.c), started a second after meshdoctor so the whole exchange
 * falls inside the capture.  meshdoctor always runs inside a namespace.  For the
 * live-equals-offline checks, tcpdump writes the same traffic to a file that meshdoctor
 * then analyses with --pcap.
 *
 * wireguard-go's UAPI sockets (/var/run/wireguard/IF.sock) are global, so interface names
 * carry this process's pid and the case letter. */
#include "tests/support/lab.h"

#include <cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct lab *lab;

static void setup(void)
{
	lab = lab_new("wg");
	cr_assert_not_null(lab, "lab_new");
}

static void teardown(void)
{
	lab_free(lab);
	lab = NULL;
}

TestSuite(lab_wireguard, .init = setup, .fini = teardown, .timeout = 60);

/* ------------------------------------------------------------------------------------ */
/* Two WireGuard peers                                                                  */
/* ------------------------------------------------------------------------------------ */

enum {
	WG_PSK_ONE_SIDE = 1 << 0,      /* a preshared key on ns 1 only */
	WG_WRONG_PEER_KEY = 1 << 1,    /* ns 1 has a wrong public key for ns 2 */
	WG_ALLOWED_IPS_WRONG = 1 << 2, /* ns 2's AllowedIPs for ns 1 miss 100.64.7.1 */
	WG_MTU_1280 = 1 << 3,          /* veth MTU 1280: 1420-byte tunnel packets fragment */
};

struct wg_lab {
	const char *ns[2];
	char ifname[2][16];
	char key[2][300], pub[2][300];
	char psk[300], other_pub[300];
};

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void wg_lab_up(struct wg_lab *w, char c, unsigned opts)
{
	char name[32], sock[64];

	memset(w, 0, sizeof(*w));
	for (int i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "wg%c%d", c, i + 1);
		w->ns[i] = lab_netns(lab, name);
		cr_assert_not_null(w->ns[i], "netns %s", name);
		snprintf(w->ifname[i], sizeof(w->ifname[i]), "wgl%05u%c%u",
			 (unsigned)getpid() % 100000u, c, (unsigned)i % 2u + 1u);
		snprintf(name, sizeof(name), "k%d.key", i + 1);
		snprintf(w->key[i], sizeof(w->key[i]), "%s", lab_path(lab, name));
		snprintf(name, sizeof(name), "k%d.pub", i + 1);
		snprintf(w->pub[i], sizeof(w->pub[i]), "%s", lab_path(lab, name));
		/* Keys go to files; the private key never appears in argv or a log. */
		cr_assert_eq(lab_sh(lab, NULL, "umask 077 && wg genkey > %s && wg pubkey < %s > %s",
				    w->key[i], w->key[i], w->pub[i]), 0, "wg genkey");
	}
	cr_assert_eq(lab_veth(lab, w->ns[0], "veth0", "10.79.0.1/24", w->ns[1], "veth0",
			      "10.79.0.2/24"), 0, "veth");
	if (opts & WG_MTU_1280)
		for (int i = 0; i < 2; i++)
			cr_assert_eq(lab_sh(lab, w->ns[i], "ip link set veth0 mtu 1280"), 0);
	for (int i = 0; i < 2; i++) {
		const char *argv[] = { "wireguard-go", "-f", w->ifname[i], NULL };

		snprintf(name, sizeof(name), "wireguard-go-%d.log", i + 1);
		cr_assert_gt(lab_spawn(lab, w->ns[i], argv, name), 0, "wireguard-go");
		snprintf(sock, sizeof(sock), "/var/run/wireguard/%s.sock", w->ifname[i]);
		cr_assert_eq(lab_wait_file(sock, 5000), 0, "wireguard-go did not open %s", sock);
	}
	snprintf(w->other_pub, sizeof(w->other_pub), "%s", w->pub[1]);
	if (opts & WG_WRONG_PEER_KEY) {
		snprintf(w->other_pub, sizeof(w->other_pub), "%s", lab_path(lab, "k3.pub"));
		cr_assert_eq(lab_sh(lab, NULL, "wg genkey | wg pubkey > %s", w->other_pub), 0);
	}
	snprintf(w->psk, sizeof(w->psk), "%s", lab_path(lab, "psk"));
	cr_assert_eq(lab_sh(lab, NULL, "umask 077 && wg genpsk > %s", w->psk), 0);
	cr_assert_eq(lab_sh(lab, w->ns[0],
			    "wg set %s private-key %s listen-port 51820 peer \"$(cat %s)\" %s %s "
			    "endpoint 10.79.0.2:51820 allowed-ips 100.64.7.2/32 && "
			    "ip addr add 100.64.7.1/32 dev %s && ip link set %s up && "
			    "ip route add 100.64.7.2/32 dev %s",
			    w->ifname[0], w->key[0], w->other_pub,
			    opts & WG_PSK_ONE_SIDE ? "preshared-key" : "",
			    opts & WG_PSK_ONE_SIDE ? w->psk : "", w->ifname[0], w->ifname[0],
			    w->ifname[0]), 0, "configure ns 1");
	cr_assert_eq(lab_sh(lab, w->ns[1],
			    "wg set %s private-key %s listen-port 51820 peer \"$(cat %s)\" "
			    "endpoint 10.79.0.1:51820 allowed-ips %s && "
			    "ip addr add 100.64.7.2/32 dev %s && ip link set %s up && "
			    "ip route add 100.64.7.1/32 dev %s",
			    w->ifname[1], w->key[1], w->pub[0],
			    opts & WG_ALLOWED_IPS_WRONG ? "100.64.99.1/32" : "100.64.7.1/32",
			    w->ifname[1], w->ifname[1], w->ifname[1]), 0, "configure ns 2");
}

/* ICMP echo from ns 1 through the tunnel after delay_ms. */
static void ping_later(struct wg_lab *w, int count, int interval_ms, int delay_ms, int size)
{
	char n[16], iv[16], dl[16], sz[16];
	const char *argv[] = { lab_build_path(lab, "tests/helpers/wg_ping"), "100.64.7.2", n, iv,
			       dl, sz, NULL };

	snprintf(n, sizeof(n), "%d", count);
	snprintf(iv, sizeof(iv), "%d", interval_ms);
	snprintf(dl, sizeof(dl), "%d", delay_ms);
	snprintf(sz, sizeof(sz), "%d", size);
	cr_assert_gt(lab_spawn(lab, w->ns[0], argv, "ping.log"), 0, "wg_ping");
}

/* tcpdump writing every UDP packet on iface to path (link type dlt, e.g. "LINUX_SLL", or
 * NULL for tcpdump's choice); returns once it listens. */
static pid_t tcpdump_start(const char *ns, const char *iface, const char *dlt, const char *path)
{
	const char *argv[] = { "tcpdump", "-i", iface, "--immediate-mode", "-U", "-Z", "root",
			       "-w", path, dlt ? "-y" : "udp", dlt ? dlt : NULL, dlt ? "udp" : NULL,
			       NULL };
	const char *log = lab_path(lab, "tcpdump.log");
	pid_t pid = lab_spawn(lab, ns, argv, "tcpdump.log");

	cr_assert_gt(pid, 0, "tcpdump");
	for (int i = 0; i < 150; i++) {
		FILE *fp = fopen(log, "r");
		char line[256];
		bool ready = false;

		while (fp && fgets(line, sizeof(line), fp))
			ready = ready || strstr(line, "listening on") != NULL;
		if (fp)
			fclose(fp);
		if (ready)
			return pid;
		sleep_ms(20);
	}
	cr_assert_fail("tcpdump did not start listening (see %s)", log);
	return -1;
}

/* ------------------------------------------------------------------------------------ */
/* meshdoctor                                                                           */
/* ------------------------------------------------------------------------------------ */

/* iface NULL: no --iface, the probe picks the interface that routes to the target. */
static void md_live(const char *ns, const char *target, const char *iface, int seconds,
		    struct lab_md_result *r)
{
	char secs[16];
	const char *args[] = { "check", target, "--probes", "wireguard", "--capture-seconds", secs,
			       "--json", "-", iface ? "--iface" : NULL, iface, NULL };

	snprintf(secs, sizeof(secs), "%d", seconds);
	cr_assert_eq(lab_run_md(lab, ns, args, (seconds + 15) * 1000, r), 0, "run meshdoctor");
	cr_assert_not_null(r->report, "no JSON report; exit %d, stderr: %s", r->exit_code, r->err);
}

static void md_offline(const char *ns, const char *target, const char *file,
		       struct lab_md_result *r)
{
	const char *args[] = { "check", target, "--probes", "wireguard", "--pcap", file,
			       "--json", "-", NULL };

	cr_assert_eq(lab_run_md(lab, ns, args, 20000, r), 0, "run meshdoctor --pcap");
	cr_assert_not_null(r->report, "no JSON report; exit %d, stderr: %s", r->exit_code, r->err);
}

/* meshdoctor in the background (the other side of a two-sided capture), report to a file. */
static pid_t md_live_bg(const char *ns, const char *target, int seconds, const char *json)
{
	const char *bin = getenv("MD_BIN");
	char secs[16];
	const char *argv[] = { bin && *bin ? bin : "./meshdoctor", "check", target, "--probes",
			       "wireguard", "--iface", "veth0", "--capture-seconds", secs, "--json",
			       json, NULL };

	snprintf(secs, sizeof(secs), "%d", seconds);
	unlink(json);
	return lab_spawn(lab, ns, argv, "md-bg.log");
}

static cJSON *wait_json(const char *path, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		FILE *fp = fopen(path, "r");

		if (fp) {
			static char buf[1 << 20];
			size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
			cJSON *j;

			fclose(fp);
			buf[n] = '\0';
			j = cJSON_Parse(buf);
			if (j)
				return j;
		}
		sleep_ms(50);
	}
	return NULL;
}

static const char *fact(const cJSON *report, const char *name)
{
	static char bufs[8][128];
	static int next;
	char *b = bufs[next++ % 8];

	return lab_report_fact(report, name, b, 128);
}

static long long fact_n(const cJSON *report, const char *name)
{
	const char *v = fact(report, name);

	cr_assert_not_null(v, "fact %s missing", name);
	return atoll(v);
}

static const char *findings(const cJSON *report)
{
	static char out[1024];
	const cJSON *f;

	out[0] = '\0';
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(report, "findings")) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(f, "rule");

		if (cJSON_IsString(id) && strlen(out) + strlen(id->valuestring) + 2 < sizeof(out)) {
			strcat(out, id->valuestring);
			strcat(out, " ");
		}
	}
	return out;
}

#define assert_finding(rep, id)                                                              \
	cr_assert(lab_report_has_finding(rep, id), "%s missing; findings: %s", id,          \
		  findings(rep))
#define assert_no_finding(rep, id)                                                           \
	cr_assert(!lab_report_has_finding(rep, id), "%s fired; findings: %s", id, findings(rep))

/* The offline analysis of the tcpdump file must say what the live capture said. */
static void assert_same(const cJSON *live, const cJSON *off)
{
	static const char *const counts[] = {
		"wg.packets", "wg.messages", "wg.initiations", "wg.initiations_tx",
		"wg.initiations_rx", "wg.responses", "wg.responses_tx", "wg.responses_rx",
		"wg.cookie_replies", "wg.data_tx_packets", "wg.data_rx_packets",
		"wg.data_tx_bytes", "wg.data_rx_bytes", "wg.keepalives", "wg.disco", "wg.non_wg",
		"wg.fragments", "wg.truncated", "wg.handshakes_completed",
		"wg.handshakes_confirmed", "wg.max_init_burst", "wg.endpoints",
		"wg.endpoint_changes",
	};
	const char *a, *b;

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		a = fact(live, counts[i]);
		b = fact(off, counts[i]);
		cr_assert(a && b && strcmp(a, b) == 0, "%s: live %s, offline %s", counts[i],
			  a ? a : "(missing)", b ? b : "(missing)");
	}
	/* Each packet socket stamps its own copy of a packet: microseconds apart. */
	a = fact(live, "wg.handshake_rtt_ms");
	b = fact(off, "wg.handshake_rtt_ms");
	cr_assert((a == NULL) == (b == NULL), "handshake_rtt_ms: live %s, offline %s",
		  a ? a : "-", b ? b : "-");
	if (a)
		cr_assert_lt(fabs(atof(a) - atof(b)), 0.3, "handshake_rtt_ms: live %s, offline %s",
			     a, b);
	cr_assert_str_eq(findings(live), findings(off));
}

/* ------------------------------------------------------------------------------------ */
/* Cases                                                                                */
/* ------------------------------------------------------------------------------------ */

static void healthy_case(char c, const char *iface, const char *live_dlt, const char *off_dlt)
{
	struct wg_lab w;
	struct lab_md_result live, off;
	const char *pcap = lab_path(lab, "same.pcap");
	char pcap_copy[512];
	pid_t td;
	const cJSON *p0, *tab;

	snprintf(pcap_copy, sizeof(pcap_copy), "%s", pcap);
	wg_lab_up(&w, c, 0);
	td = tcpdump_start(w.ns[0], iface, off_dlt, pcap_copy);
	ping_later(&w, 4, 300, 1000, 56);
	md_live(w.ns[0], "10.79.0.2", iface, 4, &live);
	lab_stop(lab, td);

	cr_assert_eq(live.exit_code, 0, "healthy: exit %d, findings: %s, stderr: %s",
		     live.exit_code, findings(live.report), live.err);
	cr_assert_eq(lab_report_n_findings(live.report), 0, "findings: %s", findings(live.report));
	cr_assert_str_eq(fact(live.report, "wg.capture"), "ok");
	cr_assert_str_eq(fact(live.report, "wg.link_type"), live_dlt);
	cr_assert_str_eq(fact(live.report, "wg.direction_basis"), "local-address");
	cr_assert_eq(fact_n(live.report, "wg.initiations_tx"), 1);
	cr_assert_eq(fact_n(live.report, "wg.responses_rx"), 1);
	cr_assert_eq(fact_n(live.report, "wg.handshakes_completed"), 1);
	cr_assert_eq(fact_n(live.report, "wg.handshakes_confirmed"), 1);
	cr_assert_eq(fact_n(live.report, "wg.data_tx_packets"), 4);
	cr_assert_eq(fact_n(live.report, "wg.data_rx_packets"), 4);
	/* 56-byte echo + 28 bytes of headers, padded to 96, + 32 = 128. */
	cr_assert_eq(fact_n(live.report, "wg.data_tx_bytes"), 4 * 128);
	cr_assert_not_null(fact(live.report, "wg.handshake_rtt_ms"));
	p0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(live.report, "probes"), 0);
	tab = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(p0, "tables"),
					       "endpoints");
	cr_assert(cJSON_IsArray(tab) && cJSON_GetArraySize(tab) == 1, "endpoints table");
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(tab, 0),
							  "remote")->valuestring,
			 "10.79.0.2:51820");

	md_offline(w.ns[0], "10.79.0.2", pcap_copy, &off);
	cr_assert_eq(off.exit_code, 0, "offline: exit %d, %s", off.exit_code, off.err);
	cr_assert_str_eq(fact(off.report, "wg.link_type"), off_dlt);
	assert_same(live.report, off.report);
	lab_md_result_free(&live);
	lab_md_result_free(&off);
}

Test(lab_wireguard, healthy_on_the_veth_live_equals_offline)
{
	healthy_case('h', "veth0", "EN10MB", "EN10MB");
}

Test(lab_wireguard, healthy_on_any_sll2_live_equals_sll_offline)
{
	/* meshdoctor asks for SLL2 on "any"; tcpdump is told to write SLL. */
	healthy_case('a', "any", "LINUX_SLL2", "LINUX_SLL");
}

/* Both sides capture at once: ns 2 in the background, ns 1 in the foreground. */
static void two_sided(struct wg_lab *w, int seconds, struct lab_md_result *r1, cJSON **r2,
		      const char *pcap1)
{
	const char *json2 = lab_path(lab, "side2.json");
	char json2_copy[512];
	pid_t bg, td = -1;

	snprintf(json2_copy, sizeof(json2_copy), "%s", json2);
	if (pcap1)
		td = tcpdump_start(w->ns[0], "veth0", NULL, pcap1);
	bg = md_live_bg(w->ns[1], "10.79.0.1", seconds, json2_copy);
	cr_assert_gt(bg, 0);
	ping_later(w, 3, 300, 1000, 56);
	md_live(w->ns[0], "10.79.0.2", "veth0", seconds, r1);
	if (td > 0)
		lab_stop(lab, td);
	*r2 = wait_json(json2_copy, (seconds + 10) * 1000);
	lab_stop(lab, bg);
	cr_assert_not_null(*r2, "no report from ns 2 (see md-bg.log)");
}

Test(lab_wireguard, udp_from_the_responder_dropped_by_nft)
{
	struct wg_lab w;
	struct lab_md_result r1, off;
	cJSON *r2;
	char pcap[512];

	snprintf(pcap, sizeof(pcap), "%s", lab_path(lab, "nft.pcap"));
	wg_lab_up(&w, 'n', 0);
	cr_assert_eq(lab_sh(lab, w.ns[1], "nft add table inet mdlabwg && "
			    "nft add chain inet mdlabwg in '{ type filter hook input priority 0; "
			    "policy accept; }' && nft add rule inet mdlabwg in udp dport 51820 drop"),
		     0, "nft");
	two_sided(&w, 4, &r1, &r2, pcap);

	/* Initiator's side: initiations leave, nothing comes back. */
	cr_assert_eq(r1.exit_code, 2, "exit %d; findings: %s", r1.exit_code, findings(r1.report));
	assert_finding(r1.report, "wg-handshake-unanswered");
	assert_no_finding(r1.report, "wg-handshake-not-answered-here");
	cr_assert_geq(fact_n(r1.report, "wg.initiations_tx"), 1);
	cr_assert_eq(fact_n(r1.report, "wg.responses_rx"), 0);
	/* Responder's side: the capture sees them arrive (before netfilter), no answer. */
	assert_finding(r2, "wg-handshake-not-answered-here");
	assert_no_finding(r2, "wg-handshake-unanswered");
	cr_assert_geq(fact_n(r2, "wg.initiations_rx"), 1);

	md_offline(w.ns[0], "10.79.0.2", pcap, &off);
	assert_same(r1.report, off.report);
	lab_md_result_free(&off);
	lab_md_result_free(&r1);
	cJSON_Delete(r2);
}

Test(lab_wireguard, wrong_peer_key)
{
	struct wg_lab w;
	struct lab_md_result r1;
	cJSON *r2;

	/* ns 1 holds a public key that is not ns 2's: ns 2 cannot authenticate the
	 * initiations (mac1 fails) and drops them silently. */
	wg_lab_up(&w, 'k', WG_WRONG_PEER_KEY);
	two_sided(&w, 4, &r1, &r2, NULL);
	assert_finding(r1.report, "wg-handshake-unanswered");
	cr_assert_eq(fact_n(r1.report, "wg.responses"), 0);
	assert_finding(r2, "wg-handshake-not-answered-here");
	lab_md_result_free(&r1);
	cJSON_Delete(r2);
}

Test(lab_wireguard, preshared_key_mismatch_is_a_handshake_storm)
{
	struct wg_lab w;
	struct lab_md_result r;

	/* ns 2 answers (the responder mixes in its own, empty, preshared key), ns 1 cannot
	 * open the answer and retries every 5 s: responses, never a session. */
	wg_lab_up(&w, 's', WG_PSK_ONE_SIDE);
	ping_later(&w, 14, 1000, 500, 56);
	md_live(w.ns[0], "10.79.0.2", "veth0", 13, &r);
	assert_finding(r.report, "wg-handshake-storm");
	assert_no_finding(r.report, "wg-handshake-unanswered");
	assert_no_finding(r.report, "wg-handshake-no-data");
	cr_assert_geq(fact_n(r.report, "wg.max_init_burst"), 3);
	cr_assert_geq(fact_n(r.report, "wg.responses_rx"), 3);
	cr_assert_eq(fact_n(r.report, "wg.handshakes_confirmed"), 0);
	lab_md_result_free(&r);
}

Test(lab_wireguard, allowed_ips_missing_on_the_peer_is_one_way_data)
{
	struct wg_lab w;
	struct lab_md_result r;

	wg_lab_up(&w, 'i', WG_ALLOWED_IPS_WRONG);
	ping_later(&w, 4, 300, 1000, 56);
	md_live(w.ns[0], "10.79.0.2", "veth0", 4, &r);
	assert_finding(r.report, "wg-data-tx-only");
	assert_no_finding(r.report, "wg-handshake-unanswered");
	cr_assert_eq(fact_n(r.report, "wg.handshakes_confirmed"), 1);
	cr_assert_eq(fact_n(r.report, "wg.data_rx_packets"), 0);
	lab_md_result_free(&r);
}

Test(lab_wireguard, keepalives_only_is_handshake_without_data)
{
	struct wg_lab w;
	struct lab_md_result r;
	char cmd[512];

	wg_lab_up(&w, 'p', 0);
	/* A persistent keepalive makes ns 1 set up a session with nothing to send. */
	snprintf(cmd, sizeof(cmd), "sleep 1; wg set %s peer \"$(cat %s)\" persistent-keepalive 1",
		 w.ifname[0], w.pub[1]);
	{
		const char *argv[] = { "sh", "-c", cmd, NULL };

		cr_assert_gt(lab_spawn(lab, w.ns[0], argv, "keepalive.log"), 0);
	}
	md_live(w.ns[0], "10.79.0.2", NULL, 4, &r);
	/* Without --iface: the interface that routes to the target. */
	cr_assert_str_eq(fact(r.report, "wg.iface"), "veth0");
	assert_finding(r.report, "wg-handshake-no-data");
	cr_assert_eq(fact_n(r.report, "wg.handshakes_confirmed"), 1);
	cr_assert_geq(fact_n(r.report, "wg.keepalives"), 2);
	lab_md_result_free(&r);
}

Test(lab_wireguard, small_path_mtu_fragments_the_tunnel)
{
	struct wg_lab w;
	struct lab_md_result r;

	/* Tunnel MTU 1420 over a 1280-byte path: big tunnel packets leave in fragments. */
	wg_lab_up(&w, 'f', WG_MTU_1280);
	ping_later(&w, 3, 300, 1000, 1300);
	md_live(w.ns[0], "10.79.0.2", "veth0", 4, &r);
	assert_finding(r.report, "wg-fragmented");
	cr_assert_geq(fact_n(r.report, "wg.fragments"), 6);
	/* First fragments still carry the WireGuard header: data is counted both ways. */
	cr_assert_eq(fact_n(r.report, "wg.data_tx_packets"), 3);
	cr_assert_eq(fact_n(r.report, "wg.data_rx_packets"), 3);
	lab_md_result_free(&r);
}

/* ------------------------------------------------------------------------------------ */
/* Tailscale on the capturing machine                                                   */
/* ------------------------------------------------------------------------------------ */

/* Two namespaces on a veth and no WireGuard at all: ns 1 is the fixture's own node
 * (100.64.0.2), ns 2 holds 100.64.0.3, the fixture's peer that Tailscale relays over DERP
 * (DESKTOP-7Q2K9LM, winbox).  Tailscale itself cannot run here, so the `tailscale` that
 * meshdoctor finds first on its PATH is fixtures/tailscale/fake-tailscale.sh answering
 * from fixtures/tailscale/status-peer-paths.json; without it, no `tailscale` at all. */
static const char *quiet_pair(char c)
{
	char n1[16], n2[16];
	const char *ns1, *ns2;

	snprintf(n1, sizeof(n1), "ts%c1", c);
	snprintf(n2, sizeof(n2), "ts%c2", c);
	ns1 = lab_netns(lab, n1);
	ns2 = lab_netns(lab, n2);
	cr_assert(ns1 && ns2, "netns");
	cr_assert_eq(lab_veth(lab, ns1, "veth0", "100.64.0.2/24", ns2, "veth0", "100.64.0.3/24"),
		     0, "veth");
	return ns1;
}

/* md_live() with PATH (and MD_FAKE_TS_DIR when ts_dir) set for the meshdoctor child only. */
static void md_live_path(const char *ns, const char *path, const char *ts_dir,
			 struct lab_md_result *r)
{
	char *saved = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");

	cr_assert_not_null(saved);
	setenv("PATH", path, 1);
	if (ts_dir)
		setenv("MD_FAKE_TS_DIR", ts_dir, 1);
	md_live(ns, "100.64.0.3", NULL, 1, r);
	setenv("PATH", saved, 1);
	unsetenv("MD_FAKE_TS_DIR");
	free(saved);
}

/* The evidence text with which finding rule cites fact, or NULL. */
static const char *cited(const cJSON *report, const char *rule, const char *fact)
{
	const cJSON *f, *e;

	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(report, "findings")) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(f, "rule");

		if (!cJSON_IsString(id) || strcmp(id->valuestring, rule) != 0)
			continue;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(f, "evidence")) {
			const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "fact");
			const cJSON *ev = cJSON_GetObjectItemCaseSensitive(e, "evidence");

			if (cJSON_IsString(name) && strcmp(name->valuestring, fact) == 0)
				return cJSON_IsString(ev) ? ev->valuestring : NULL;
		}
	}
	return NULL;
}

Test(lab_wireguard, no_packets_while_tailscale_relays_over_derp_tailscale_fixture)
{
	static const char *const want[][2] = {
		/* a real capture on the veth, which carried no WireGuard */
		{ "wg.capture", "ok" }, { "wg.iface", "veth0" }, { "wg.packets", "0" },
		{ "wg.messages", "0" },
		/* Tailscale's view, from the fixture CLI */
		{ "wg.ts_state", "Running" }, { "wg.ts_peers_online", "4" },
		{ "wg.ts_peers_active", "3" }, { "wg.ts_peers_derp", "1" },
		{ "wg.ts_peers_direct", "1" }, { "wg.ts_peers_peer_relay", "1" },
		{ "wg.ts_target_path", "derp" },
	};
	const char *ns = quiet_pair('d');
	char bin[512], ts[512], path[4096], cwd[512];
	struct lab_md_result r;

	snprintf(bin, sizeof(bin), "%s", lab_path(lab, "bin"));
	snprintf(ts, sizeof(ts), "%s", lab_path(lab, "ts"));
	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	cr_assert_eq(lab_sh(lab, NULL, "mkdir -p %s %s && "
			    "cp %s/fixtures/tailscale/fake-tailscale.sh %s/tailscale && "
			    "chmod 755 %s/tailscale && "
			    "cp %s/fixtures/tailscale/status-peer-paths.json %s/status.json",
			    bin, ts, cwd, bin, bin, cwd, ts), 0, "install the fixture CLI");
	snprintf(path, sizeof(path), "%s:%s", bin,
		 getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	md_live_path(ns, path, ts, &r);

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *got = fact(r.report, want[i][0]);

		cr_assert(got && strcmp(got, want[i][1]) == 0, "%s: %s, want %s", want[i][0],
			  got ? got : "(missing)", want[i][1]);
	}

	/* The target is the relayed peer: its own finding comes first, in place of the
	 * general one. */
	assert_finding(r.report, "wg-target-relayed-derp");
	cr_assert_eq(lab_report_finding_index(r.report, "wg-target-relayed-derp"), 0,
		     "findings: %s", findings(r.report));
	cr_assert_eq(lab_report_finding_index(r.report, "wg-traffic-relayed-derp"), -1,
		     "superseded: %s", findings(r.report));
	cr_assert_str_eq(cited(r.report, "wg-target-relayed-derp", "wg.ts_peers_derp"),
			 "tailscale status --json: DESKTOP-7Q2K9LM via DERP fra");
	/* sfspark1 goes direct, yet nothing at all crossed the port: the capture missed it. */
	assert_finding(r.report, "wg-capture-missed-tailscale-traffic");
	cr_assert_eq(lab_report_n_findings(r.report), 2, "findings: %s", findings(r.report));
	cr_assert_eq(r.exit_code, 1, "a warning: exit %d, stderr: %s", r.exit_code, r.err);
	lab_md_result_free(&r);
}

Test(lab_wireguard, no_tailscale_cli_is_recorded_as_missing)
{
	const char *ns = quiet_pair('m');
	char empty[512];
	struct lab_md_result r;
	const cJSON *p0;
	const char *ev;

	/* PATH with nothing on it: no `tailscale` wherever the host may have one. */
	snprintf(empty, sizeof(empty), "%s", lab_path(lab, "empty-path"));
	cr_assert_eq(lab_sh(lab, NULL, "mkdir -p %s", empty), 0);
	md_live_path(ns, empty, NULL, &r);

	/* The quiet pair carries no WireGuard packet and no Tailscale view explains that:
	 * the verdict is "cannot tell" (exit 3), with the facts the capture did record. */
	cr_assert_eq(r.exit_code, 3, "exit %d, findings: %s, stderr: %s", r.exit_code,
		     findings(r.report), r.err);
	p0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.report, "probes"), 0);
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(p0, "status")->valuestring, "error");
	cr_assert(strstr(cJSON_GetObjectItemCaseSensitive(p0, "message")->valuestring,
			 "no WireGuard packets on veth0 (UDP ports 41641, 51820): cannot tell"),
		  "message: %s", cJSON_GetObjectItemCaseSensitive(p0, "message")->valuestring);
	cr_assert_str_eq(fact(r.report, "wg.capture"), "ok");
	cr_assert_str_eq(fact(r.report, "wg.ts_state"), "missing");
	ev = NULL;
	{
		const cJSON *x;

		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(p0, "facts"))
			if (strcmp(cJSON_GetObjectItemCaseSensitive(x, "name")->valuestring,
				   "wg.ts_state") == 0)
				ev = cJSON_GetObjectItemCaseSensitive(x, "evidence")->valuestring;
	}
	cr_assert_not_null(ev);
	cr_assert_str_eq(ev, "tailscale status --json: tailscale: No such file or directory");
	cr_assert_null(fact(r.report, "wg.ts_peers_derp"));
	cr_assert_eq(lab_report_n_findings(r.report), 0, "findings: %s", findings(r.report));
	lab_md_result_free(&r);
}
