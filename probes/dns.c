/* dns.c — the dns probe: does each name that matters resolve, by which path, and to what.
 *
 * The names: the target's host name (the ssh config's HostName, or the `.local` name
 * typed when HostName is an address), and the login server's host (--login-server, else
 * tailscale.control_url).  For each, every path on its own, each query under its share of
 * the probe's deadline (seeds/002: "DNS resolution failing (Docker VM) → use IP address
 * instead of .local hostname" needs to know which path fails, and where):
 *   system   getaddrinfo(), what programs here get (through nsswitch.conf's hosts: line);
 *   unicast  each nameserver of resolv.conf, an A and an AAAA query built with ldns;
 *   mdns     an ldns-built query to 224.0.0.251:5353 from an ephemeral port, any
 *            responder's reply taken (RFC 6762 section 6.7, legacy unicast): `.local` only;
 *   remote   `getent hosts NAME` on the target, through the run's host batch.
 * The probe records what each path said (addresses, rcode, timeout, network error, the
 * server, the time taken) and whether the paths agree; dns.rules judges (docs/dns.md). */
#include "probes/dns.h"

#include "core/buf.h"
#include "core/deadline.h"
#include "core/facts.h"
#include "core/hostbatch.h"
#include "core/hostcmd.h"
#include "core/net.h"
#include "core/session.h"
#include "probes/probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glob.h>
#include <ldns/ldns.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define P "dns"
#define CONF_MAX (64 * 1024)
#define GETENT_LIMIT_S 4
/* Once the A reply is in, the AAAA one gets this much longer: a server that answers one
 * answers both within a round trip. */
#define AAAA_GRACE_MS 300
#define ADDRS_MAX 256
/* An mDNS responder answers a query for its own (unique) name at once (RFC 6762 section
 * 6: only shared records wait 20-120 ms), so silence this long is an answer too. */
#define MDNS_MAX_MS 1500

/* What one path said about one name. */
struct path_res {
	char status[16];        /* ok nodata nxdomain servfail refused timeout neterror ... */
	char addrs[ADDRS_MAX];  /* "a,b" */
	char server[64];        /* who answered / was asked */
	char detail[300];       /* the exact error, for evidence */
	int64_t ms;
};

/* One name and what the run found about it. */
struct name_job {
	const char *role;       /* "target", "login" */
	char name[256];
	char ip_hint[64];       /* an address known another way (ssh config HostName) */
	char ip_hint_src[96];
	int port;               /* login server: its URL's port */
	char step[MD_HOSTBATCH_ID_MAX];
	char cmd[320];
};

/* ==== small helpers =================================================================== */

static void set(char *dst, size_t len, const char *fmt, const char *s)
{
	snprintf(dst, len, fmt, s ? s : "");
}

static void add_addr(char *list, size_t len, const char *a)
{
	size_t o = strlen(list);
	char probe[ADDRS_MAX + 2];

	snprintf(probe, sizeof(probe), ",%s,", list);
	{
		char needle[MD_DNS_ADDR_MAX + 2];

		snprintf(needle, sizeof(needle), ",%s,", a);
		if (strstr(probe, needle))
			return;
	}
	if (o + strlen(a) + 2 < len)
		snprintf(list + o, len - o, "%s%s", o ? "," : "", a);
}

/* A file's text (capped), or NULL with why. */
static char *read_text(const char *path, char *why, size_t why_len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!fp) {
		snprintf(why, why_len, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(CONF_MAX + 1);
	if (!buf) {
		fclose(fp);
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, CONF_MAX, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static const char *conf_path(const char *env, const char *def)
{
	const char *p = getenv(env);

	return p && *p ? p : def;
}

/* A deadline for one of steps_left steps: its share of what is left. */
static struct md_deadline share(const struct md_ctx *ctx, int steps_left)
{
	int64_t left = md_deadline_left_ms(&ctx->deadline);

	if (left == INT64_MAX)
		left = 5000 * (int64_t)steps_left; /* no deadline: 5 s a step */
	if (steps_left < 1)
		steps_left = 1;
	return md_deadline_min(ctx->deadline, md_deadline_after(md_now_ms(), left / steps_left));
}

/* ==== queries (ldns builds and parses, the socket waits on the deadline) ============== */

struct query {
	ldns_pkt *pkt[2];       /* A, AAAA */
	uint16_t id[2];
	bool got[2];
};

static int query_build(struct query *q, const char *name, bool rd, struct path_res *r)
{
	static const ldns_rr_type types[2] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA };

	for (int i = 0; i < 2; i++) {
		ldns_status s = ldns_pkt_query_new_frm_str(&q->pkt[i], name, types[i], LDNS_RR_CLASS_IN,
							   rd ? LDNS_RD : 0);

		if (s != LDNS_STATUS_OK) {
			set(r->status, sizeof(r->status), "%s", "error");
			snprintf(r->detail, sizeof(r->detail), "query for '%.200s': %s", name,
				 ldns_get_errorstr_by_id(s));
			return -1;
		}
		q->id[i] = (uint16_t)(ldns_get_random() ^ (i ? 0x5a5a : 0));
		if (i && q->id[1] == q->id[0])
			q->id[1] ^= 1;
		ldns_pkt_set_id(q->pkt[i], q->id[i]);
	}
	return 0;
}

static void query_free(struct query *q)
{
	ldns_pkt_free(q->pkt[0]);
	ldns_pkt_free(q->pkt[1]);
}

static int query_send(int fd, struct query *q, const struct sockaddr *to, socklen_t to_len,
		      struct path_res *r)
{
	for (int i = 0; i < 2; i++) {
		uint8_t *wire = NULL;
		size_t n = 0;
		ssize_t w;

		if (ldns_pkt2wire(&wire, q->pkt[i], &n) != LDNS_STATUS_OK) {
			set(r->status, sizeof(r->status), "%s", "error");
			snprintf(r->detail, sizeof(r->detail), "cannot build the query");
			return -1;
		}
		w = to ? sendto(fd, wire, n, 0, to, to_len) : send(fd, wire, n, 0);
		free(wire);
		if (w < 0) {
			set(r->status, sizeof(r->status), "%s", "neterror");
			snprintf(r->detail, sizeof(r->detail), "send to %s: %s", r->server, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Takes one reply: 1 when it was one of ours (r filled as far as it says), 0 when not. */
static int take_reply(struct query *q, const uint8_t *buf, size_t n, struct path_res *r,
		      bool *rcode_final)
{
	ldns_pkt *a = NULL;
	ldns_rr_list *ans;
	int which = -1;
	char rc_buf[16];

	if (ldns_wire2pkt(&a, buf, n) != LDNS_STATUS_OK)
		return 0;
	for (int i = 0; i < 2; i++)
		if (!q->got[i] && ldns_pkt_id(a) == q->id[i] && ldns_pkt_qr(a))
			which = i;
	if (which < 0) {
		ldns_pkt_free(a);
		return 0;
	}
	q->got[which] = true;
	ans = ldns_pkt_answer(a);
	for (size_t k = 0; ans && k < ldns_rr_list_rr_count(ans); k++) {
		ldns_rr *rr = ldns_rr_list_rr(ans, k);
		ldns_rdf *d = ldns_rr_rd_count(rr) ? ldns_rr_rdf(rr, 0) : NULL;
		char text[INET6_ADDRSTRLEN];
		int fam = ldns_rr_get_type(rr) == LDNS_RR_TYPE_A ? AF_INET
			  : ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA ? AF_INET6 : 0;

		if (fam && d && ldns_rdf_size(d) == (fam == AF_INET ? 4u : 16u) &&
		    inet_ntop(fam, ldns_rdf_data(d), text, sizeof(text)))
			add_addr(r->addrs, sizeof(r->addrs), text);
	}
	if (which == 0 || !r->status[0] || strcmp(r->status, "nodata") == 0) {
		const char *rn = md_dns_rcode_name((int)ldns_pkt_get_rcode(a), rc_buf, sizeof(rc_buf));

		set(r->status, sizeof(r->status), "%s", strcmp(rn, "noerror") == 0 ? "nodata" : rn);
		*rcode_final = strcmp(rn, "noerror") != 0;
	}
	if (r->addrs[0])
		set(r->status, sizeof(r->status), "%s", "ok");
	ldns_pkt_free(a);
	return 1;
}

/* Waits for the replies until dl: unicast ends with both replies (or the A reply plus
 * AAAA_GRACE_MS, or an error rcode); mDNS with the first reply that has an address. */
static void query_wait(int fd, struct query *q, bool mdns, const struct md_deadline *dl,
		       struct path_res *r)
{
	struct md_deadline end = *dl;
	uint8_t buf[4096];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct sockaddr_storage from;
		socklen_t from_len = sizeof(from);
		bool final = false;
		ssize_t n;
		int pr = poll(&p, 1, md_deadline_poll_ms(&end));

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			break;
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &from_len);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			set(r->status, sizeof(r->status), "%s", "neterror");
			snprintf(r->detail, sizeof(r->detail), "receive from %s: %s", r->server,
				 strerror(errno));
			return;
		}
		if (!take_reply(q, buf, (size_t)n, r, &final))
			continue;
		if (mdns) {
			md_addr_format((struct sockaddr *)&from, from_len, r->server, sizeof(r->server));
			if (r->addrs[0])
				return;
			continue;
		}
		if (final || (q->got[0] && q->got[1]))
			return;
		if (q->got[0])
			end = md_deadline_min(*dl, md_deadline_after(md_now_ms(), AAAA_GRACE_MS));
	}
	if (!r->status[0]) {
		set(r->status, sizeof(r->status), "%s", "timeout");
		snprintf(r->detail, sizeof(r->detail), "no reply from %s before the deadline", r->server);
	}
}

/* One name asked of one server (unicast, connected so that ICMP errors come back) or of
 * the mDNS group (mdns). */
static void dns_query(const char *server, int port, bool mdns, const char *name,
		      const struct md_deadline *dl, struct path_res *r)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct query q = { 0 };
	socklen_t len;
	int64_t t0 = md_now_ms();
	char addr[MD_DNS_ADDR_MAX];
	int fd = -1;

	memset(r, 0, sizeof(*r));
	snprintf(r->server, sizeof(r->server), "%s%s%s:%d", strchr(server, ':') ? "[" : "", server,
		 strchr(server, ':') ? "]" : "", port);
	snprintf(addr, sizeof(addr), "%.*s", (int)strcspn(server, "%"), server);
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (strchr(server, '%'))
			s6->sin6_scope_id = if_nametoindex(strchr(server, '%') + 1);
		len = sizeof(*s6);
	} else {
		set(r->status, sizeof(r->status), "%s", "error");
		snprintf(r->detail, sizeof(r->detail), "'%.60s' is not an address", server);
		return;
	}
	if (query_build(&q, name, !mdns, r))
		goto out;
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (!mdns && connect(fd, (struct sockaddr *)&ss, len) < 0)) {
		set(r->status, sizeof(r->status), "%s", "neterror");
		snprintf(r->detail, sizeof(r->detail), "%s %s: %s", fd < 0 ? "socket" : "connect",
			 r->server, strerror(errno));
		goto out;
	}
	if (query_send(fd, &q, mdns ? (struct sockaddr *)&ss : NULL, len, r) == 0)
		query_wait(fd, &q, mdns, dl, r);
out:
	r->ms = md_now_ms() - t0;
	if (fd >= 0)
		close(fd);
	query_free(&q);
}

/* ==== the system resolver ============================================================== */

static void system_lookup(const char *name, const struct md_deadline *dl, struct path_res *r)
{
	struct addrinfo *res = NULL;
	struct md_err e = { 0 };
	int64_t t0 = md_now_ms();
	int rc;

	memset(r, 0, sizeof(*r));
	set(r->server, sizeof(r->server), "%s", "getaddrinfo");
	rc = md_net_resolve(name, 0, SOCK_STREAM, dl, &res, &e);
	r->ms = md_now_ms() - t0;
	if (rc == MD_OK) {
		for (struct addrinfo *a = res; a; a = a->ai_next) {
			char text[INET6_ADDRSTRLEN];
			const void *p = a->ai_family == AF_INET
				? (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr
				: (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;

			if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) &&
			    inet_ntop(a->ai_family, p, text, sizeof(text)))
				add_addr(r->addrs, sizeof(r->addrs), text);
		}
		freeaddrinfo(res);
		set(r->status, sizeof(r->status), "%s", r->addrs[0] ? "ok" : "nodata");
		return;
	}
	snprintf(r->detail, sizeof(r->detail), "%s", e.msg);
	/* md_net_resolve keeps gai_strerror()'s text: EAI_NONAME and EAI_NODATA say the name
	 * does not exist for the name service, EAI_AGAIN that it could not ask (glibc's
	 * getaddrinfo(3)). */
	if (md_net_resolve_timed_out(rc, &e))
		set(r->status, sizeof(r->status), "%s", "timeout");
	else if (strstr(e.msg, gai_strerror(EAI_NONAME)) || strstr(e.msg, gai_strerror(EAI_NODATA)))
		set(r->status, sizeof(r->status), "%s", "notfound");
	else if (strstr(e.msg, gai_strerror(EAI_AGAIN)))
		set(r->status, sizeof(r->status), "%s", "tempfail");
	else
		set(r->status, sizeof(r->status), "%s", "error");
}

/* ==== the target's resolver ============================================================ */

static void getent_cmd(struct name_job *j)
{
	struct md_buf b;

	md_buf_init(&b, sizeof(j->cmd) - 1);
	snprintf(j->step, sizeof(j->step), "dns.getent.%s", j->role);
	if (md_buf_puts(&b, "getent hosts ") == MD_OK && md_hostcmd_sh_quote(&b, j->name) == MD_OK)
		snprintf(j->cmd, sizeof(j->cmd), "%s", md_buf_str(&b));
	else
		j->cmd[0] = '\0';
	md_buf_cleanup(&b);
}

static void remote_result(const struct md_host_out *o, struct path_res *r)
{
	if (o->state != MD_HOST_RAN) {
		set(r->status, sizeof(r->status), "%s", o->state == MD_HOST_SKIPPED ? "skipped" : "error");
		snprintf(r->detail, sizeof(r->detail), "%s", o->state == MD_HOST_SKIPPED
			 ? "not run: the deadline was spent" : o->why);
		return;
	}
	if (md_hostcmd_ended_by_limit(o->limit_s, o->exit_status, NULL)) {
		set(r->status, sizeof(r->status), "%s", "timeout");
		snprintf(r->detail, sizeof(r->detail), "no answer within %d s on the host", o->limit_s);
		return;
	}
	/* getent(1): exit 2 "One or more supplied key could not be found in the database". */
	if (o->exit_status == 0 && md_dns_parse_getent(md_buf_str(&o->out), r->addrs, sizeof(r->addrs)))
		set(r->status, sizeof(r->status), "%s", "ok");
	else if (o->exit_status == 0 || o->exit_status == 2)
		set(r->status, sizeof(r->status), "%s", "notfound");
	else if (o->exit_status == 127)
		set(r->status, sizeof(r->status), "%s", "no-getent");
	else
		set(r->status, sizeof(r->status), "%s", "error");
	snprintf(r->detail, sizeof(r->detail), "exit %d%s%.200s", o->exit_status,
		 o->err.len ? ": " : "", md_buf_str(&o->err));
}

static bool host_is_windows(const struct md_session *s)
{
	const char *os = s ? md_session_os((struct md_session *)s) : NULL;

	return os && strcmp(os, "windows") == 0;
}

/* ==== which names ====================================================================== */

/* The target's name: the ssh config's HostName unless it is an address; then the `.local`
 * name as typed, with that address known for it. */
static bool target_job(const struct md_ctx *ctx, struct name_job *j)
{
	const struct md_target *t = ctx->target;
	const char *hn = t ? (t->hostname ? t->hostname : t->host) : NULL;

	memset(j, 0, sizeof(*j));
	j->role = "target";
	if (!hn)
		return false;
	if (!md_net_is_ip_literal(hn)) {
		set(j->name, sizeof(j->name), "%s", hn);
	} else if (t->host && md_dns_is_local(t->host)) {
		set(j->name, sizeof(j->name), "%s", t->host);
		set(j->ip_hint, sizeof(j->ip_hint), "%s", hn);
		set(j->ip_hint_src, sizeof(j->ip_hint_src), "%s", "the ssh config's HostName");
	} else {
		return false;
	}
	getent_cmd(j);
	return true;
}

static bool login_job(const char *url, struct name_job *j)
{
	memset(j, 0, sizeof(*j));
	j->role = "login";
	if (!url || md_dns_url_host(url, j->name, sizeof(j->name), &j->port) != MD_OK ||
	    md_net_is_ip_literal(j->name))
		return false;
	if (!j->port)
		j->port = strncmp(url, "https:", 6) == 0 ? 443 : 80;
	getent_cmd(j);
	return true;
}

static int dns_host_steps(const struct md_ctx *ctx, struct md_hostbatch *b, struct md_err *err)
{
	struct name_job j;
	int rc = MD_OK;

	if (host_is_windows(ctx->session))
		return MD_OK;
	if (target_job(ctx, &j) && j.cmd[0])
		rc = md_hostbatch_add(b, j.step, j.cmd, GETENT_LIMIT_S, err);
	if (rc == MD_OK && ctx->opt && login_job(ctx->opt->login_server, &j) && j.cmd[0])
		rc = md_hostbatch_add(b, j.step, j.cmd, GETENT_LIMIT_S, err);
	return rc;
}

/* ==== facts ============================================================================ */

static int put_path(struct md_facts *f, const char *role, const char *path, const struct path_res *r)
{
	char n[96], ev[600];
	int rc;

	snprintf(ev, sizeof(ev), "%s: %s%s%s (%lld ms)", r->server, r->status,
		 r->addrs[0] ? " " : "", r->addrs, (long long)r->ms);
	if (r->detail[0])
		snprintf(ev + strlen(ev), sizeof(ev) - strlen(ev), "; %s", r->detail);
	snprintf(n, sizeof(n), "dns.%s.%s", role, path);
	rc = md_fact_str(f, P, n, r->status, ev);
	if (rc == MD_OK && r->addrs[0]) {
		snprintf(n, sizeof(n), "dns.%s.%s_addrs", role, path);
		rc = md_fact_str(f, P, n, r->addrs, r->server);
	}
	if (rc == MD_OK && r->server[0]) {
		snprintf(n, sizeof(n), "dns.%s.%s_server", role, path);
		rc = md_fact_str(f, P, n, r->server, NULL);
	}
	if (rc == MD_OK && strcmp(r->status, "skipped") != 0) {
		snprintf(n, sizeof(n), "dns.%s.%s_ms", role, path);
		rc = md_fact_int(f, P, n, r->ms, "time taken");
	}
	return rc;
}

/* The unicast path as a whole: the first server with addresses; else the first with an
 * answer (the resolver takes the first answer, error or not: resolv.conf(5)); else what
 * the first server did. */
static const struct path_res *unicast_pick(const struct path_res *ns, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ns[i].status, "ok") == 0)
			return &ns[i];
	for (size_t i = 0; i < n; i++)
		if (strcmp(ns[i].status, "timeout") != 0 && strcmp(ns[i].status, "neterror") != 0 &&
		    strcmp(ns[i].status, "error") != 0)
			return &ns[i];
	return n ? &ns[0] : NULL;
}

struct name_res {
	struct path_res sys, ns[MD_DNS_MAXNS], uni, mdns, remote;
	size_t n_ns;
};

static bool is_loopback(const char *a)
{
	return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0;
}

/* Whether the paths that answered agree, and the address to use. */
static int put_compare(struct md_facts *f, const struct name_job *j, const struct name_res *x)
{
	const struct path_res *v[4] = { &x->sys, &x->uni, &x->mdns, &x->remote };
	static const char *const names[4] = { "system", "unicast", "mdns", "remote" };
	char n[96], ev[700];
	int rc = MD_OK;
	bool differ = false;

	for (int a = 0; a < 4 && !differ; a++)
		for (int b = a + 1; b < 4 && !differ; b++)
			if (strcmp(v[a]->status, "ok") == 0 && strcmp(v[b]->status, "ok") == 0 &&
			    md_dns_addrs_disjoint(v[a]->addrs, v[b]->addrs)) {
				differ = true;
				snprintf(ev, sizeof(ev), "%s says %s; %s says %s", names[a], v[a]->addrs,
					 names[b], v[b]->addrs);
			}
	snprintf(n, sizeof(n), "dns.%s.agree", j->role);
	rc = md_fact_bool(f, P, n, !differ, differ ? ev : "no two paths that answered disagree");
	if (rc == MD_OK && differ) {
		snprintf(n, sizeof(n), "dns.%s.differ", j->role);
		rc = md_fact_str(f, P, n, ev, NULL);
	}
	for (int k = 0; rc == MD_OK && k < 4; k++) {
		int i = (int[]){ 1, 2, 0, 3 }[k]; /* unicast, mdns, system, the target's */
		char first[MD_DNS_ADDR_MAX];

		snprintf(first, sizeof(first), "%.*s", (int)strcspn(v[i]->addrs, ","), v[i]->addrs);
		if (strcmp(v[i]->status, "ok") != 0 || !first[0] || is_loopback(first))
			continue;
		snprintf(n, sizeof(n), "dns.%s.ip", j->role);
		return md_fact_strf(f, P, n, first, "the %s path's answer for %s", names[i], j->name);
	}
	if (rc == MD_OK && j->ip_hint[0]) {
		snprintf(n, sizeof(n), "dns.%s.ip", j->role);
		rc = md_fact_strf(f, P, n, j->ip_hint, "%s for %s", j->ip_hint_src, j->name);
	}
	return rc;
}

static int put_name(struct md_facts *f, const struct name_job *j, struct name_res *x)
{
	char n[96], label[400];
	const struct path_res *u = unicast_pick(x->ns, x->n_ns);
	int rc;

	snprintf(n, sizeof(n), "dns.%s.name", j->role);
	rc = md_fact_str(f, P, n, j->name, strcmp(j->role, "login") == 0 ? "the login server's host"
			 : "the target's host name");
	snprintf(n, sizeof(n), "dns.%s.local", j->role);
	if (rc == MD_OK)
		rc = md_fact_bool(f, P, n, md_dns_is_local(j->name), "names under .local are mDNS's (RFC 6762)");
	if (rc == MD_OK && j->port) {
		snprintf(n, sizeof(n), "dns.%s.port", j->role);
		rc = md_fact_int(f, P, n, j->port, "the login server URL's port");
	}
	if (u)
		x->uni = *u;
	else {
		set(x->uni.status, sizeof(x->uni.status), "%s", "none");
		set(x->uni.detail, sizeof(x->uni.detail), "%s", "resolv.conf names no nameserver");
	}
	for (size_t i = 0; rc == MD_OK && i < x->n_ns; i++) {
		char path[24];

		snprintf(path, sizeof(path), "ns%zu", i + 1);
		rc = put_path(f, j->role, path, &x->ns[i]);
	}
	if (rc == MD_OK)
		rc = put_path(f, j->role, "system", &x->sys);
	if (rc == MD_OK)
		rc = put_path(f, j->role, "unicast", &x->uni);
	if (rc == MD_OK)
		rc = put_path(f, j->role, "mdns", &x->mdns);
	if (rc == MD_OK)
		rc = put_path(f, j->role, "remote", &x->remote);
	snprintf(n, sizeof(n), "dns.%s.system", j->role);
	snprintf(label, sizeof(label), "resolve %.200s (system resolver)%s%.150s", j->name,
		 x->sys.addrs[0] ? ": " : "", x->sys.addrs);
	if (rc == MD_OK)
		rc = md_fact_check(f, n, strcmp(x->sys.status, "ok") == 0 ? MD_CHECK_OK : MD_CHECK_FAIL, label);
	return rc == MD_OK ? put_compare(f, j, x) : rc;
}

/* This machine's resolver configuration. */
static int put_config(struct md_facts *f, struct md_dns_resolv *rv, struct md_dns_nss *ns)
{
	const char *rp = conf_path(MD_DNS_ENV_RESOLV_CONF, MD_DNS_RESOLV_CONF);
	const char *np = conf_path(MD_DNS_ENV_NSSWITCH_CONF, MD_DNS_NSSWITCH_CONF);
	char why[300], list[200] = "";
	char *text = read_text(rp, why, sizeof(why));
	glob_t g;
	int rc;

	md_dns_parse_resolv(text, rv);
	free(text);
	for (size_t i = 0; i < rv->n_ns; i++)
		add_addr(list, sizeof(list), rv->ns[i]);
	rc = md_fact_str(f, P, "dns.resolv_conf", text ? "read" : "missing", text ? rp : why);
	if (rc == MD_OK)
		rc = md_fact_strf(f, P, "dns.nameservers", list, "%s: %zu nameserver line(s) used, %zu ignored",
				  rp, rv->n_ns, rv->n_ignored);
	if (rc == MD_OK)
		rc = md_fact_strf(f, P, "dns.resolver", rv->manager, "%s: its header and servers", rp);
	text = read_text(np, why, sizeof(why));
	md_dns_parse_nsswitch(text, ns);
	if (rc == MD_OK)
		rc = md_fact_strf(f, P, "dns.nsswitch_hosts", ns->found ? ns->line : "missing", "%s%s",
				  text ? np : why, text && !ns->found ? ": no hosts: line" : "");
	free(text);
	if (rc == MD_OK)
		rc = md_fact_boolf(f, P, "dns.nss_mdns", ns->mdns, "%s hosts: %s", np,
				   ns->found ? ns->line : "(none)");
	/* Is nss-mdns installed at all (Debian's libnss-mdns)? */
	if (rc == MD_OK) {
		bool have = glob("/lib/*/libnss_mdns*.so.2", 0, NULL, &g) == 0 ||
			    glob("/usr/lib/*/libnss_mdns*.so.2", 0, NULL, &g) == 0 ||
			    glob("/usr/lib/libnss_mdns*.so.2", 0, NULL, &g) == 0;
		rc = md_fact_boolf(f, P, "dns.nss_mdns_installed", have, "%s",
				   have ? g.gl_pathv[0] : "no libnss_mdns*.so.2 under /lib, /usr/lib");
		globfree(&g);
	}
	if (rc == MD_OK) {
		struct stat st;
		bool up = stat("/run/avahi-daemon/socket", &st) == 0;

		rc = md_fact_boolf(f, P, "dns.avahi", up, "/run/avahi-daemon/socket (nss-mdns asks avahi "
				   "there): %s", up ? "present" : "absent");
	}
	return rc;
}

/* ==== the run ========================================================================== */

/* The local paths for one name: the system resolver, each nameserver, mDNS; steps_after
 * more steps come after these ones and keep their shares. */
static void resolve_local(const struct md_ctx *ctx, const struct name_job *j,
			  const struct md_dns_resolv *rv, int steps_after, struct name_res *x)
{
	bool local = md_dns_is_local(j->name);
	int steps = 1 + (int)rv->n_ns + (local ? 1 : 0) + steps_after;
	struct md_deadline dl;

	dl = share(ctx, steps--);
	system_lookup(j->name, &dl, &x->sys);
	x->n_ns = rv->n_ns;
	for (size_t i = 0; i < rv->n_ns; i++) {
		dl = share(ctx, steps--);
		dns_query(rv->ns[i], 53, false, j->name, &dl, &x->ns[i]);
	}
	if (local) {
		dl = md_deadline_min(share(ctx, steps--), md_deadline_after(md_now_ms(), MDNS_MAX_MS));
		dns_query(MD_DNS_MDNS_GROUP, MD_DNS_MDNS_PORT, true, j->name, &dl, &x->mdns);
	} else {
		set(x->mdns.status, sizeof(x->mdns.status), "%s", "skipped");
		set(x->mdns.detail, sizeof(x->mdns.detail), "%s", "not a .local name: mDNS does not answer it");
	}
}

/* The target's own answer for the name, from the batch or alone. */
static int resolve_remote(struct md_ctx *ctx, struct md_facts *f, const struct name_job *j,
			  struct path_res *r, struct md_err *err)
{
	struct md_session *s = md_ctx_session(ctx);
	struct md_host_out o;
	int64_t t0 = md_now_ms();
	int rc;

	memset(r, 0, sizeof(*r));
	set(r->server, sizeof(r->server), "%s", "the target (getent hosts)");
	if (!s || !j->cmd[0] || host_is_windows(s) ||
	    strcmp(md_ctx_host_os(ctx, f), "windows") == 0) {
		set(r->status, sizeof(r->status), "%s", "skipped");
		set(r->detail, sizeof(r->detail), "%s", !s ? "no session to the target"
		    : !j->cmd[0] ? "the name cannot be quoted for the host's shell"
		    : "a Windows host: not asked");
		return MD_OK;
	}
	md_host_out_init(&o);
	rc = md_ctx_host(ctx, j->step, j->cmd, GETENT_LIMIT_S, &ctx->deadline, &o, err);
	if (rc == MD_OK)
		remote_result(&o, r);
	else if (rc == MD_ESKIP)
		set(r->status, sizeof(r->status), "%s", "skipped"), rc = MD_OK;
	md_host_out_cleanup(&o);
	r->ms = md_now_ms() - t0;
	return rc;
}

/* The login server's URL: --login-server, else the node's ControlURL (tailscale probe). */
static const char *login_url(struct md_ctx *ctx, struct md_facts *f, const char **src)
{
	const char *u;

	if (ctx->opt && ctx->opt->login_server) {
		*src = "--login-server";
		return ctx->opt->login_server;
	}
	if (md_ctx_session(ctx))
		md_ctx_wait_probe(ctx, "tailscale", f);
	u = md_facts_str(f, "tailscale.control_url");
	*src = "tailscale.control_url";
	return u && *u ? u : NULL;
}

static int dns_run(struct md_ctx *ctx, struct md_facts *f, struct md_err *err)
{
	struct md_dns_resolv rv;
	struct md_dns_nss nss;
	struct name_job jobs[2];
	struct name_res *res = calloc(2, sizeof(*res));
	const char *src = NULL, *url;
	bool have[2];
	int rc;

	if (!res)
		return md_err_set(err, MD_ENOMEM, P, "out of memory");
	rc = put_config(f, &rv, &nss);
	have[0] = target_job(ctx, &jobs[0]);
	have[1] = ctx->opt && login_job(ctx->opt->login_server, &jobs[1]);
	if (rc == MD_OK && have[0])
		resolve_local(ctx, &jobs[0], &rv, have[1] ? 2 + (int)rv.n_ns : 0, &res[0]);
	url = rc == MD_OK ? login_url(ctx, f, &src) : NULL;
	if (!have[1] && url) {
		have[1] = login_job(url, &jobs[1]);
		if (!have[1] && rc == MD_OK)
			rc = md_fact_strf(f, P, "dns.login.name", "", "%s %s: no host name to resolve", src, url);
	}
	if (rc == MD_OK && have[1])
		resolve_local(ctx, &jobs[1], &rv, 0, &res[1]);
	for (int i = 0; i < 2 && rc == MD_OK; i++)
		if (have[i])
			rc = resolve_remote(ctx, f, &jobs[i], &res[i].remote, err);
	for (int i = 0; i < 2 && rc == MD_OK; i++)
		if (have[i])
			rc = put_name(f, &jobs[i], &res[i]);
	if (rc == MD_OK && !have[0])
		rc = md_fact_str(f, P, "dns.target.name", "", "the target is an address: nothing to resolve");
	free(res);
	if (rc && !err->code)
		md_err_set(err, rc, P, "dns probe: %s", md_status_name(rc));
	return rc;
}

static const char *const dns_provides[] = {
	"dns.resolv_conf", "dns.nameservers", "dns.resolver", "dns.nsswitch_hosts", "dns.nss_mdns",
	"dns.nss_mdns_installed", "dns.avahi",
	"dns.*.name", "dns.*.local", "dns.*.port", "dns.*.ip", "dns.*.agree", "dns.*.differ",
	"dns.*.system", "dns.*.system_addrs", "dns.*.system_server", "dns.*.system_ms",
	"dns.*.unicast", "dns.*.unicast_addrs", "dns.*.unicast_server", "dns.*.unicast_ms",
	"dns.*.ns1", "dns.*.ns1_addrs", "dns.*.ns1_server", "dns.*.ns1_ms",
	"dns.*.ns2", "dns.*.ns2_addrs", "dns.*.ns2_server", "dns.*.ns2_ms",
	"dns.*.ns3", "dns.*.ns3_addrs", "dns.*.ns3_server", "dns.*.ns3_ms",
	"dns.*.mdns", "dns.*.mdns_addrs", "dns.*.mdns_server", "dns.*.mdns_ms",
	"dns.*.remote", "dns.*.remote_addrs", "dns.*.remote_server", "dns.*.remote_ms",
	NULL,
};

/* The host's OS decides whether getent is asked; the login server's URL may come from
 * the tailscale probe's ControlURL. */
static const char *const dns_reads[] = { "host", "tailscale", NULL };

const struct md_probe probe_dns = {
	.name = "dns",
	.desc = "the target's and the login server's names by every path: system resolver, each "
		"nameserver, mDNS, and the target's own getent",
	.provides = dns_provides,
	.needs = MD_USES_SESSION,
	.reads = dns_reads,
	.host_steps = dns_host_steps,
	.run = dns_run,
};
