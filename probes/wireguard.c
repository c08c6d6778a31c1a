/* wireguard.c — the "wireguard" probe: what WireGuard packets do on the wire.
 *
 * Live: captures with libpcap on --iface (default: the interface that routes to the
 * target, or "any" when that is itself a tunnel such as tailscale0, whose traffic is the
 * decrypted inside of WireGuard) for --capture-seconds (default 3), with a BPF filter on
 * UDP 41641 (Tailscale), 51820 and every --wg-port, plus IP fragments of UDP.
 * Offline: reads --pcap FILE (pcap or pcapng) through the same analyser, so the same
 * traffic gives the same facts either way.  Decoding and counting: probes/wg_decode.c.
 *
 * Budget (budget(), which `check` also adds to the run's deadline): a live capture gets
 * --capture-seconds + WG_SLACK_MS (2 s) for resolving the target, opening the device and
 * recording facts, + WG_TS_MS (2 s) for `tailscale status --json`; --pcap gets
 * WG_SLACK_MS + WG_MS_PER_MB per MB of file (offline analysis reads ~0.25 ms/MB from the
 * page cache (bench/wg_vs_tshark.sh), so that leaves room for a cold disk).
 * The capture always stops WG_RESERVE_MS + WG_TS_MIN_MS before the deadline, so a shorter
 * deadline gives a shorter capture: wg.capture_seconds is the time actually captured (and
 * wg.capture_shortened says why).
 *
 * Opt-in (MD_NEEDS_OPT_IN): a capture takes seconds, so the probe runs when named in
 * --probes or when --pcap, --iface or --wg-port ask for it (wanted()).
 *
 * Permissions: opening a live capture needs root or CAP_NET_RAW.  Without it run() records
 * wg.capture = "permission-denied" and returns MD_EPERM with one line saying so (the CLI
 * exits 2); --pcap needs no privilege.
 *
 * Tailscale: after a live capture (never with --pcap: today's state says nothing about an
 * old file) `tailscale status --json` runs on this machine, under WG_TS_MS, for the wg.ts_*
 * facts (probes/wg_tailscale.c): whether the peers' traffic goes direct or over DERP, which
 * a capture without WireGuard packets cannot tell by itself.  The live budget holds
 * WG_TS_MS more, and the capture keeps WG_TS_MIN_MS of the deadline for it. */
#include "core/net.h"
#include "core/proc.h"
#include "probes/probe.h"
#include "probes/tailscale.h"
#include "probes/wireguard.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROBE "wireguard"
#define WG_DEFAULT_SECONDS 3
#define WG_MAX_SECONDS 3600
#define WG_SLACK_MS 2000
#define WG_MS_PER_MB 5
#define WG_RESERVE_MS 150   /* kept after the capture for stats and facts */
#define WG_RESOLVE_MS 1000  /* at most this long for the target's addresses */
#define WG_TS_MS 2000       /* `tailscale status --json` at most this long */
#define WG_TS_MIN_MS 500    /* kept for it when the deadline cuts the capture short */
#define WG_TS_MAX_OUT (8u << 20) /* its output: a large tailnet's status is megabytes */

struct wg_run {
	struct wg_analyser *a;
	int dlt;
};

/* ------------------------------------------------------------------------------------ */
/* Target addresses and the interface that routes to the target                         */
/* ------------------------------------------------------------------------------------ */

static const char *target_host(const struct md_ctx *ctx)
{
	if (!ctx->target)
		return NULL;
	return ctx->target->hostname ? ctx->target->hostname : ctx->target->host;
}

/* The interface holding local address sa; flags too.  false when none does. */
static bool iface_of(const struct sockaddr *sa, char *name, size_t len, unsigned *flags)
{
	struct ifaddrs *ifs, *i;
	bool found = false;

	if (getifaddrs(&ifs) != 0)
		return false;
	for (i = ifs; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != sa->sa_family)
			continue;
		if (sa->sa_family == AF_INET)
			found = memcmp(&((struct sockaddr_in *)i->ifa_addr)->sin_addr,
				       &((const struct sockaddr_in *)sa)->sin_addr, 4) == 0;
		else if (sa->sa_family == AF_INET6)
			found = memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
				       &((const struct sockaddr_in6 *)sa)->sin6_addr, 16) == 0;
		if (found) {
			snprintf(name, len, "%s", i->ifa_name);
			*flags = i->ifa_flags;
		}
	}
	freeifaddrs(ifs);
	return found;
}

/* Picks the capture interface for the target: the kernel's route choice, seen through a
 * connected UDP socket (connect() on UDP sends nothing) and getsockname().  A tunnel
 * (point-to-point or no-ARP, e.g. tailscale0 or wg0) carries WireGuard's *inside*, not its
 * UDP packets, and the outside route to the peer's endpoint is unknown here: use "any". */
static void default_iface(const struct addrinfo *ai, char *out, size_t len, char *why,
			  size_t wlen)
{
	snprintf(out, len, "any");
	snprintf(why, wlen, "target address unknown: capturing on any");
	for (; ai; ai = ai->ai_next) {
		struct sockaddr_storage ss, local;
		socklen_t sl = sizeof(local);
		char addr[64], name[IF_NAMESIZE + 1];
		unsigned flags = 0;
		int fd;

		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = htons(WG_PORT_WIREGUARD);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(WG_PORT_WIREGUARD);
		md_addr_format(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr));
		fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, (struct sockaddr *)&ss, ai->ai_addrlen) != 0 ||
		    getsockname(fd, (struct sockaddr *)&local, &sl) != 0) {
			snprintf(why, wlen, "no route to %s (%s): capturing on any", addr,
				 strerror(errno));
			close(fd);
			continue;
		}
		close(fd);
		if (!iface_of((struct sockaddr *)&local, name, sizeof(name), &flags)) {
			snprintf(why, wlen, "route to %s: local address not on any interface: "
				 "capturing on any", addr);
			continue;
		}
		if ((flags & IFF_POINTOPOINT) || ((flags & IFF_NOARP) && !(flags & IFF_LOOPBACK))) {
			snprintf(why, wlen, "route to %s goes through the tunnel %s, whose outer "
				 "UDP packets leave elsewhere: capturing on any", addr, name);
			return;
		}
		snprintf(out, len, "%s", name);
		snprintf(why, wlen, "interface routing to %s", addr);
		return;
	}
}

static void add_local_addrs(struct wg_analyser *a)
{
	struct ifaddrs *ifs;

	if (getifaddrs(&ifs) != 0)
		return;
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next)
		if (i->ifa_addr && wg_analyser_add_local(a, i->ifa_addr) == MD_ETOOBIG)
			break;
	freeifaddrs(ifs);
}

/* ------------------------------------------------------------------------------------ */
/* Live capture                                                                         */
/* ------------------------------------------------------------------------------------ */

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct wg_run *r = (struct wg_run *)user;

	wg_analyser_frame(r->a, r->dlt, (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec, bytes,
			  h->caplen, h->len);
}

/* BPF: UDP on any WireGuard port, IPv4 UDP fragments (MF or offset, RFC 791) and IPv6
 * fragments of UDP (fragment header right after the fixed header).  On Ethernet, also
 * behind a VLAN tag ("vlan" shifts the offsets for what follows it, pcap-filter(7));
 * libpcap has no "vlan" for Linux cooked captures, where the kernel moved the tag into
 * metadata anyway. */
static void build_filter(int dlt, const int *ports, size_t n, char *out, size_t len)
{
	char inner[1024];
	size_t o = 0;

	o += (size_t)snprintf(inner + o, sizeof(inner) - o, "(udp and (");
	for (size_t i = 0; i < n && o < sizeof(inner); i++)
		o += (size_t)snprintf(inner + o, sizeof(inner) - o, "%sport %d", i ? " or " : "",
				      ports[i]);
	if (o < sizeof(inner))
		snprintf(inner + o, sizeof(inner) - o, ")) or (ip and ip[9] == 17 and "
			 "ip[6:2] & 0x3fff != 0) or (ip6 and ip6[6] == 44 and ip6[40] == 17)");
	if (dlt == DLT_EN10MB)
		snprintf(out, len, "(%s) or (vlan and (%s))", inner, inner);
	else
		snprintf(out, len, "%s", inner);
}

/* pcap_activate() failed with act: wg.capture says how, and what the probe returns. */
static int activate_failed(pcap_t *p, int act, const char *iface, struct md_facts *f,
			   struct md_err *err)
{
	const char *why = act == PCAP_ERROR ? pcap_geterr(p) : pcap_statustostr(act);
	char ev[600];
	int rc;

	snprintf(ev, sizeof(ev), "pcap_activate %s: %s", iface, why);
	if (act == PCAP_ERROR_PERM_DENIED) {
		md_fact_str(f, PROBE, "wg.capture", "permission-denied", ev);
		md_fact_check(f, "wg.capture", MD_CHECK_FAIL, "Open the capture");
		rc = md_err_set(err, MD_EPERM, "capture",
				"capture on %s: permission denied: live capture needs root "
				"or CAP_NET_RAW (or analyse a saved capture with --pcap FILE)",
				iface);
	} else if (act == PCAP_ERROR_NO_SUCH_DEVICE) {
		md_fact_str(f, PROBE, "wg.capture", "no-such-interface", ev);
		md_fact_check(f, "wg.capture", MD_CHECK_FAIL, "Open the capture");
		rc = md_err_set(err, MD_EINVAL, "capture", "capture on %s: no such interface",
				iface);
	} else if (act == PCAP_ERROR_IFACE_NOT_UP) {
		/* An observation, not a failure of the probe. */
		md_fact_str(f, PROBE, "wg.capture", "interface-down", ev);
		md_fact_check(f, "wg.capture", MD_CHECK_FAIL, "Open the capture");
		rc = MD_OK;
	} else {
		md_fact_str(f, PROBE, "wg.capture", "error", ev);
		md_fact_check(f, "wg.capture", MD_CHECK_FAIL, "Open the capture");
		rc = md_err_set(err, MD_EIO, "capture", "capture on %s: %s", iface, why);
	}
	return rc;
}

static int capture_live(struct md_ctx *ctx, struct wg_analyser *a, const char *iface,
			int seconds, const int *ports, size_t n_ports, struct md_facts *f,
			struct md_err *err, double *captured_s)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "", filter[2400], ev[3000], label[160];
	struct bpf_program prog = { 0 };
	struct pcap_stat st;
	struct md_deadline stop, reserve_dl;
	struct wg_run run = { .a = a };
	pcap_t *p;
	int rc = MD_OK, fd, act;
	int64_t t0, t1;
	const char *dlt_name;

	*captured_s = 0;
	p = pcap_create(iface, errbuf);
	if (!p) {
		md_fact_strf(f, PROBE, "wg.capture", "error", "pcap_create %s: %s", iface, errbuf);
		md_fact_check(f, "wg.capture", MD_CHECK_FAIL, "Open the capture");
		return md_err_set(err, MD_EIO, "capture", "capture on %s: %s", iface, errbuf);
	}
	pcap_set_snaplen(p, WG_SNAPLEN);
	pcap_set_promisc(p, 0);
	pcap_set_immediate_mode(p, 1); /* deliver each packet now, not when a block fills */
	pcap_set_buffer_size(p, 4 << 20);
	act = pcap_activate(p);
	if (act < 0) {
		rc = activate_failed(p, act, iface, f, err);
		pcap_close(p);
		return rc;
	}
	/* On "any", SLL2 also carries the interface index; SLL is the fallback. */
	if (strcmp(iface, "any") == 0)
		pcap_set_datalink(p, DLT_LINUX_SLL2);
	run.dlt = pcap_datalink(p);
	dlt_name = pcap_datalink_val_to_name(run.dlt);
	if (!wg_link_supported(run.dlt)) {
		md_fact_strf(f, PROBE, "wg.capture", "error", "link type %s (%d) on %s",
			     dlt_name ? dlt_name : "?", run.dlt, iface);
		rc = md_err_set(err, MD_EINVAL, "capture", "capture on %s: link type %s is not "
				"decoded", iface, dlt_name ? dlt_name : "?");
		goto out;
	}
	build_filter(run.dlt, ports, n_ports, filter, sizeof(filter));
	if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0 ||
	    pcap_setfilter(p, &prog) != 0) {
		if (prog.bf_insns)
			pcap_freecode(&prog);
		md_fact_strf(f, PROBE, "wg.capture", "error", "filter %s: %s", filter, pcap_geterr(p));
		rc = md_err_set(err, MD_EIO, "capture", "capture on %s: filter: %s", iface,
				pcap_geterr(p));
		goto out;
	}
	pcap_freecode(&prog);
	if (pcap_setnonblock(p, 1, errbuf) != 0 || (fd = pcap_get_selectable_fd(p)) < 0) {
		md_fact_strf(f, PROBE, "wg.capture", "error", "pcap_setnonblock %s: %s", iface, errbuf);
		rc = md_err_set(err, MD_EIO, "capture", "capture on %s: no selectable descriptor",
				iface);
		goto out;
	}

	t0 = md_now_ms();
	stop = md_deadline_after(t0, (int64_t)seconds * 1000);
	reserve_dl = ctx->deadline;
	if (reserve_dl.end_ms)
		reserve_dl.end_ms -= WG_RESERVE_MS + WG_TS_MIN_MS;
	stop = md_deadline_min(stop, reserve_dl);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int left = md_deadline_poll_ms(&stop);

		if (left <= 0)
			break;
		if (poll(&pfd, 1, left) < 0 && errno != EINTR) {
			rc = md_err_set(err, MD_EIO, "capture", "poll on %s: %s", iface,
					strerror(errno));
			break;
		}
		if (pcap_dispatch(p, -1, on_packet, (u_char *)&run) == PCAP_ERROR) {
			md_fact_strf(f, PROBE, "wg.capture", "error", "pcap_dispatch %s: %s", iface,
				     pcap_geterr(p));
			rc = md_err_set(err, MD_EIO, "capture", "capture on %s: %s", iface,
					pcap_geterr(p));
			goto out;
		}
	}
	pcap_dispatch(p, -1, on_packet, (u_char *)&run); /* what arrived with the last poll */
	t1 = md_now_ms();
	*captured_s = (double)(t1 - t0) / 1000.0;
	memset(&st, 0, sizeof(st));
	pcap_stats(p, &st);
	snprintf(ev, sizeof(ev), "pcap on %s, link type %s, snaplen %d, filter \"%s\"; %u packets "
		 "received, %u dropped", iface, dlt_name ? dlt_name : "?", WG_SNAPLEN, filter,
		 st.ps_recv, st.ps_drop + st.ps_ifdrop);
	md_fact_str(f, PROBE, "wg.capture", rc == MD_OK ? "ok" : "error", ev);
	snprintf(label, sizeof(label), "Captured %.1f s of WireGuard ports on %s", *captured_s,
		 iface);
	md_fact_check(f, "wg.capture", rc == MD_OK ? MD_CHECK_OK : MD_CHECK_FAIL, label);
	md_fact_int(f, PROBE, "wg.capture_dropped", (int64_t)st.ps_drop + st.ps_ifdrop,
		    "pcap_stats: dropped by the kernel buffer or the interface");
	md_fact_str(f, PROBE, "wg.link_type", dlt_name ? dlt_name : "?", NULL);
	if (*captured_s + 0.05 < seconds)
		md_fact_strf(f, PROBE, "wg.capture_shortened", "deadline",
			     "capture stopped after %.2f s of %d s: the probe's deadline came first",
			     *captured_s, seconds);
out:
	pcap_close(p);
	return rc;
}

/* ------------------------------------------------------------------------------------ */
/* Tailscale's view of this machine's peers                                             */
/* ------------------------------------------------------------------------------------ */

static int tailscale_status(const struct md_ctx *ctx, const struct addrinfo *ai,
			    struct md_facts *f)
{
	struct md_deadline dl = md_deadline_min(ctx->deadline,
						md_deadline_after(md_now_ms(), WG_TS_MS));
	struct md_proc_result r;
	struct md_err e = { 0 };
	struct wg_ts_cli cli;
	struct wg_ts_target t = { .addrs = ai };
	size_t n = 0;
	int rc;

	if (ctx->target && ctx->target->host)
		t.names[n++] = ctx->target->host;
	if (ctx->target && ctx->target->hostname)
		t.names[n++] = ctx->target->hostname;
	md_proc_result_init(&r, WG_TS_MAX_OUT);
	cli.rc = md_ts_local_status(&dl, &r, &e);
	cli.exit_code = r.exit_code;
	cli.out = md_buf_str(&r.out);
	cli.err = md_buf_str(&r.err);
	cli.errmsg = e.msg;
	rc = wg_ts_record(f, &cli, &t);
	md_proc_result_cleanup(&r);
	return rc;
}

/* ------------------------------------------------------------------------------------ */
/* The probe                                                                            */
/* ------------------------------------------------------------------------------------ */

/* The ports to watch: Tailscale's, WireGuard's and up to 8 of --wg-port. */
static int watched_ports(const struct md_options *o, int *ports, size_t *n_ports,
			 struct md_err *err)
{
	*n_ports = 0;
	ports[(*n_ports)++] = WG_PORT_TAILSCALE;
	ports[(*n_ports)++] = WG_PORT_WIREGUARD;
	for (size_t i = 0; i < o->n_wg_ports && i < 8; i++) {
		if (o->wg_ports[i] < 1 || o->wg_ports[i] > 65535)
			return md_err_set(err, MD_EINVAL, "options", "--wg-port %d: not a port",
					  o->wg_ports[i]);
		if (o->wg_ports[i] != WG_PORT_TAILSCALE && o->wg_ports[i] != WG_PORT_WIREGUARD)
			ports[(*n_ports)++] = o->wg_ports[i];
	}
	return MD_OK;
}

/* The target's addresses orient tx/rx when no local address does (offline files); *ai is
 * the caller's to free.  Why they could not be had goes to why. */
static void add_target_addrs(const struct md_ctx *ctx, struct wg_analyser *a, const char *host,
			     struct addrinfo **ai, char *why, size_t why_len)
{
	struct md_deadline dl = md_deadline_min(ctx->deadline,
						md_deadline_after(md_now_ms(), WG_RESOLVE_MS));
	struct md_err rerr = { 0 };

	if (!host || !*host)
		return;
	if (md_net_resolve(host, 0, SOCK_DGRAM, &dl, ai, &rerr) == MD_OK) {
		for (struct addrinfo *i = *ai; i; i = i->ai_next)
			wg_analyser_add_target(a, i->ai_addr);
	} else {
		snprintf(why, why_len, "%s", rerr.msg);
	}
}

/* --pcap FILE into the analyser.  MD_OK: go on to record what it saw (a damaged tail or
 * the deadline leaves a partial but usable read); else the file could not be read. */
static int read_offline(struct md_ctx *ctx, struct wg_analyser *a, const char *file,
			struct md_facts *f, double *captured_s, struct md_err *err)
{
	uint64_t frames = 0;
	struct md_err perr = { 0 };
	const struct wg_totals *t;
	char label[160];
	int dlt = -1, rc;

	rc = wg_read_pcap(a, file, &ctx->deadline, &frames, &dlt, &perr);
	if (dlt >= 0) {
		const char *name = pcap_datalink_val_to_name(dlt);

		md_fact_str(f, PROBE, "wg.link_type", name ? name : "?", NULL);
	}
	if (rc == MD_EINVAL || (rc == MD_EIO && frames == 0)) {
		md_fact_str(f, PROBE, "wg.capture", "error", perr.msg);
		md_fact_check(f, "wg.capture", MD_CHECK_FAIL, "Read the capture file");
		return md_err_set(err, rc, perr.where, "%s", perr.msg);
	}
	t = wg_analyser_totals(a);
	*captured_s = t->last_us > t->first_us ? (double)(t->last_us - t->first_us) / 1e6 : 0;
	if (rc != MD_OK) {
		md_fact_str(f, PROBE, "wg.capture", "partial", perr.msg);
		md_fact_check(f, "wg.capture", MD_CHECK_WARN, "Read the capture file (partly)");
		return MD_OK;
	}
	md_fact_strf(f, PROBE, "wg.capture", "ok", "read %s: %llu frames", file,
		     (unsigned long long)frames);
	snprintf(label, sizeof(label), "Read %llu frames from the capture file",
		 (unsigned long long)frames);
	md_fact_check(f, "wg.capture", MD_CHECK_OK, label);
	return MD_OK;
}

/* Tailscale's own view (live captures) says its peers are reached: a finding then says
 * why the port carried nothing (DERP, or a capture in the wrong place). */
static bool tailscale_accounts_for_it(const struct md_facts *f)
{
	const struct md_fact *active = md_facts_get(f, "wg.ts_peers_active");

	return active && active->type == MD_FACT_INT && active->num > 0;
}

/* Zero WireGuard messages is not "no problem": meshdoctor could not tell, unless
 * Tailscale's view explains it.  MD_ENOTFOUND with the likely causes, else MD_OK. */
static int nothing_seen(const struct wg_analyser *a, const struct md_facts *f,
			const struct md_options *o, const char *iface, struct md_err *err)
{
	const struct wg_totals *t = wg_analyser_totals(a);
	char ports[64] = "";
	size_t n = 0;

	if (t->messages || tailscale_accounts_for_it(f))
		return MD_OK;
	n += (size_t)snprintf(ports + n, sizeof(ports) - n, "%d, %d", WG_PORT_TAILSCALE,
			      WG_PORT_WIREGUARD);
	for (size_t i = 0; i < o->n_wg_ports && i < 8 && n < sizeof(ports); i++)
		if (o->wg_ports[i] != WG_PORT_TAILSCALE && o->wg_ports[i] != WG_PORT_WIREGUARD)
			n += (size_t)snprintf(ports + n, sizeof(ports) - n, ", %d", o->wg_ports[i]);
	if (o->pcap_file)
		return md_err_set(err, MD_ENOTFOUND, "wireguard",
				  "no WireGuard packets in %.200s (%llu frames, UDP ports %s): cannot "
				  "tell whether the tunnel works. Likely: captured on another interface "
				  "or port (--wg-port), the tunnel idle or never started, or its "
				  "traffic only through DERP (TCP 443)",
				  o->pcap_file, (unsigned long long)t->frames, ports);
	return md_err_set(err, MD_ENOTFOUND, "wireguard",
			  "no WireGuard packets on %s (UDP ports %s): cannot tell whether the tunnel "
			  "works. Likely: the tunnel uses another interface (--iface) or port "
			  "(--wg-port), is idle or never started, or its traffic goes only through "
			  "DERP (TCP 443)",
			  iface, ports);
}

static int run(struct md_ctx *ctx, struct md_facts *f, struct md_err *err)
{
	static const struct md_options no_opt;
	const struct md_options *o = ctx->opt ? ctx->opt : &no_opt;
	int ports[2 + 8], rc, seconds;
	size_t n_ports = 0;
	struct wg_analyser *a = NULL;
	struct addrinfo *ai = NULL;
	char source[4200], iface[IF_NAMESIZE + 8] = "", why[300] = "";
	double captured_s = 0;

	seconds = o->capture_seconds ? o->capture_seconds : WG_DEFAULT_SECONDS;
	if (seconds < 0 || seconds > WG_MAX_SECONDS)
		return md_err_set(err, MD_EINVAL, "options", "--capture-seconds %d: must be 1..%d",
				  o->capture_seconds, WG_MAX_SECONDS);
	rc = watched_ports(o, ports, &n_ports, err);
	if (rc != MD_OK)
		return rc;
	a = wg_analyser_new();
	if (!a)
		return md_err_set(err, MD_ENOMEM, "wireguard", "out of memory");
	for (size_t i = 0; i < n_ports; i++)
		wg_analyser_add_port(a, (uint16_t)ports[i]);
	add_target_addrs(ctx, a, target_host(ctx), &ai, why, sizeof(why));

	if (o->pcap_file) {
		snprintf(source, sizeof(source), "pcap:%s", o->pcap_file);
		rc = read_offline(ctx, a, o->pcap_file, f, &captured_s, err);
		if (rc != MD_OK)
			goto out;
	} else {
		if (o->iface && *o->iface) {
			snprintf(iface, sizeof(iface), "%s", o->iface);
			snprintf(why, sizeof(why), "--iface");
		} else {
			default_iface(ai, iface, sizeof(iface), why, sizeof(why));
		}
		snprintf(source, sizeof(source), "live:%s", iface);
		md_fact_str(f, PROBE, "wg.iface", iface, why);
		add_local_addrs(a);
		rc = capture_live(ctx, a, iface, seconds, ports, n_ports, f, err, &captured_s);
		if (rc != MD_OK || md_facts_str(f, "wg.capture") == NULL ||
		    strcmp(md_facts_str(f, "wg.capture"), "ok") != 0)
			goto out;
	}
	if (wg_analyser_record(a, f, source, captured_s) != MD_OK ||
	    (!o->pcap_file && tailscale_status(ctx, ai, f) != MD_OK))
		rc = md_err_set(err, MD_ENOMEM, "wireguard", "recording facts: out of memory");
	else
		rc = nothing_seen(a, f, o, iface, err);
out:
	if (ai)
		freeaddrinfo(ai);
	wg_analyser_free(a);
	return rc;
}

static int64_t budget(const struct md_options *o)
{
	struct stat st;

	if (o->pcap_file)
		return WG_SLACK_MS + (stat(o->pcap_file, &st) == 0
					      ? (int64_t)(st.st_size >> 20) * WG_MS_PER_MB : 0);
	return (int64_t)(o->capture_seconds > 0 ? o->capture_seconds : WG_DEFAULT_SECONDS) *
		       1000 + WG_SLACK_MS + WG_TS_MS;
}

static bool wanted(const struct md_options *o)
{
	return o->pcap_file || (o->iface && *o->iface) || o->n_wg_ports > 0;
}

static const char *const provides[] = {
	/* the capture (here) */
	"wg.source", "wg.capture", "wg.iface", "wg.link_type", "wg.capture_seconds",
	"wg.capture_shortened", "wg.capture_dropped",
	/* what it saw (wg_decode.c) */
	"wg.packets", "wg.messages", "wg.initiations", "wg.initiations_tx", "wg.initiations_rx",
	"wg.responses", "wg.responses_tx", "wg.responses_rx", "wg.cookie_replies",
	"wg.cookie_replies_tx", "wg.cookie_replies_rx", "wg.data_tx_packets",
	"wg.data_rx_packets", "wg.data_tx_bytes", "wg.data_rx_bytes", "wg.keepalives",
	"wg.disco", "wg.non_wg", "wg.bad_size", "wg.fragments", "wg.truncated",
	"wg.handshakes_completed", "wg.handshakes_confirmed", "wg.handshake_rtt_ms",
	"wg.max_init_burst", "wg.endpoints", "wg.endpoint_changes", "wg.direction_basis",
	/* Tailscale on this machine, live captures only (wg_tailscale.c) */
	"wg.ts_state", "wg.ts_peers_online", "wg.ts_peers_active", "wg.ts_peers_direct",
	"wg.ts_peers_derp", "wg.ts_peers_peer_relay", "wg.ts_target_path", NULL,
};

const struct md_probe probe_wireguard = {
	.name = "wireguard",
	.desc = "WireGuard packets on the wire: handshakes, data, disco (live capture or --pcap)",
	.provides = provides,
	.needs = MD_NEEDS_OPT_IN,
	.budget_ms = WG_DEFAULT_SECONDS * 1000 + WG_SLACK_MS + WG_TS_MS, /* budget() refines it */
	.budget = budget,
	.wanted = wanted,
	.run = run,
};
