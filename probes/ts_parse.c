/* ts_parse.c — the Tailscale probe's parsers of `tailscale status --json`,
 * `tailscale serve status --json` and `tailscale debug prefs` (ControlURL), the control
 * server heuristic and the serve Proxy check (probes/tailscale.h): text in, values out, no
 * I/O, unit-tested on fixtures/tailscale/ (tests/unit/test_tailscale.c).  The probe's I/O
 * and facts are in probes/tailscale.c; the node's state in probes/ts_state.c. */
#include "probes/tailscale.h"

#include "core/text.h"

#include <cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
/* ==== parsers ========================================================================= */

static const char *json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

/* DNSName is an FQDN with the trailing dot (docs/tailscale.md#node-status). */
static void strip_dot(char *name)
{
	size_t n = strlen(name);

	if (n && name[n - 1] == '.')
		name[n - 1] = '\0';
}

static void ts_peer(const cJSON *o, struct md_ts_peer *p)
{
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(o, "TailscaleIPs"), *ip;

	memset(p, 0, sizeof(*p));
	md_copy_str(p->host_name, sizeof(p->host_name), json_str(o, "HostName"));
	md_copy_str(p->dns_name, sizeof(p->dns_name), json_str(o, "DNSName"));
	strip_dot(p->dns_name);
	cJSON_ArrayForEach(ip, ips)
		if (cJSON_IsString(ip) && p->n_ips < MD_TS_PEER_IPS)
			md_copy_str(p->ips[p->n_ips++], sizeof(p->ips[0]), ip->valuestring);
	md_copy_str(p->cur_addr, sizeof(p->cur_addr), json_str(o, "CurAddr"));
	md_copy_str(p->relay, sizeof(p->relay), json_str(o, "Relay"));
	md_copy_str(p->peer_relay, sizeof(p->peer_relay), json_str(o, "PeerRelay"));
	p->online = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "Online"));
	p->active = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "Active"));
}

/* Peer is an object keyed by node key ("nodekey:..."), null before the first netmap. */
static int ts_peers(const cJSON *root, struct md_ts_peers *out, struct md_err *err)
{
	const cJSON *peer = cJSON_GetObjectItemCaseSensitive(root, "Peer"), *it;
	int n = cJSON_IsObject(peer) ? cJSON_GetArraySize(peer) : 0;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return MD_OK;
	out->v = calloc((size_t)n, sizeof(*out->v));
	if (!out->v)
		return md_err_set(err, MD_ENOMEM, "tailscale", "tailscale status --json: %d peers: "
				  "out of memory", n);
	cJSON_ArrayForEach(it, peer)
		if (cJSON_IsObject(it) &&
		    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "ShareeNode")))
			ts_peer(it, &out->v[out->n++]);
	return MD_OK;
}

void md_ts_peers_free(struct md_ts_peers *peers)
{
	if (!peers)
		return;
	free(peers->v);
	peers->v = NULL;
	peers->n = 0;
}

/* The order of the CLI's own status line (cmd/tailscale/cli/status.go). */
const char *md_ts_peer_path(const struct md_ts_peer *p)
{
	if (!p->active)
		return p->online ? "idle" : "offline";
	if (p->relay[0] && !p->cur_addr[0] && !p->peer_relay[0])
		return "derp";
	if (p->cur_addr[0])
		return "direct";
	if (p->peer_relay[0])
		return "peer-relay";
	return "unknown";
}

int md_ts_parse_status(const char *json, struct md_ts_status *out, struct md_err *err)
{
	return md_ts_parse_status_peers(json, out, NULL, err);
}

int md_ts_parse_status_peers(const char *json, struct md_ts_status *out,
			     struct md_ts_peers *peers, struct md_err *err)
{
	cJSON *root = cJSON_Parse(json);
	const cJSON *self, *tn, *cd;
	int rc = MD_OK;

	memset(out, 0, sizeof(*out));
	if (peers)
		memset(peers, 0, sizeof(*peers));
	if (!cJSON_IsObject(root) || !json_str(root, "BackendState")) {
		cJSON_Delete(root);
		return md_err_set(err, MD_EPARSE, "tailscale",
				  "tailscale status --json: not a status object (no BackendState)");
	}
	md_copy_str(out->backend_state, sizeof(out->backend_state), json_str(root, "BackendState"));
	self = cJSON_GetObjectItemCaseSensitive(root, "Self");
	if (cJSON_IsObject(self)) {
		md_copy_str(out->dns_name, sizeof(out->dns_name), json_str(self, "DNSName"));
		md_copy_str(out->self_id, sizeof(out->self_id), json_str(self, "ID"));
		md_copy_str(out->os, sizeof(out->os), json_str(self, "OS"));
	}
	strip_dot(out->dns_name);
	tn = cJSON_GetObjectItemCaseSensitive(root, "CurrentTailnet");
	if (cJSON_IsObject(tn)) {
		md_copy_str(out->tailnet, sizeof(out->tailnet), json_str(tn, "Name"));
		md_copy_str(out->magicdns_suffix, sizeof(out->magicdns_suffix),
			 json_str(tn, "MagicDNSSuffix"));
	}
	if (!out->magicdns_suffix[0])
		md_copy_str(out->magicdns_suffix, sizeof(out->magicdns_suffix),
			 json_str(root, "MagicDNSSuffix"));
	cd = cJSON_GetObjectItemCaseSensitive(root, "CertDomains");
	if (cJSON_IsArray(cd)) {
		out->cert_domains = cJSON_GetArraySize(cd);
		if (out->cert_domains > 0 && cJSON_IsString(cJSON_GetArrayItem(cd, 0)))
			md_copy_str(out->cert_domain, sizeof(out->cert_domain),
				 cJSON_GetArrayItem(cd, 0)->valuestring);
	}
	if (peers)
		rc = ts_peers(root, peers, err);
	cJSON_Delete(root);
	return rc;
}

/* Looks through one ServeConfig object (top level, a Foreground session or a Service). */
static void serve_scan(const cJSON *cfg, struct md_ts_serve *out, bool foreground)
{
	const cJSON *tcp = cJSON_GetObjectItemCaseSensitive(cfg, "TCP");
	const cJSON *web = cJSON_GetObjectItemCaseSensitive(cfg, "Web");
	const cJSON *svcs = cJSON_GetObjectItemCaseSensitive(cfg, "Services");
	const cJSON *it;

	if ((cJSON_IsObject(tcp) && tcp->child) || (cJSON_IsObject(web) && web->child) ||
	    (cJSON_IsObject(svcs) && svcs->child))
		out->configured = true;
	cJSON_ArrayForEach(it, tcp) {
		const cJSON *https = cJSON_GetObjectItemCaseSensitive(it, "HTTPS");
		int port = atoi(it->string ? it->string : "0");

		if (out->https_port == 0 && cJSON_IsTrue(https) && port > 0) {
			out->https_port = port;
			out->foreground = foreground;
		}
	}
	/* Web keys are "<host>:<port>"; take the entry for the HTTPS port. */
	cJSON_ArrayForEach(it, web) {
		const char *key = it->string, *colon = key ? strrchr(key, ':') : NULL;
		const cJSON *handlers = cJSON_GetObjectItemCaseSensitive(it, "Handlers"), *h;
		const char *proxy = NULL;

		if (!colon || out->host[0])
			continue;
		if (out->https_port && atoi(colon + 1) != out->https_port)
			continue;
		md_copy_str(out->host, sizeof(out->host), key);
		h = cJSON_GetObjectItemCaseSensitive(handlers, "/");
		proxy = json_str(h, "Proxy");
		cJSON_ArrayForEach(h, handlers)
			if (!proxy)
				proxy = json_str(h, "Proxy");
		md_copy_str(out->proxy, sizeof(out->proxy), proxy);
	}
	cJSON_ArrayForEach(it, svcs)
		serve_scan(it, out, foreground);
}

int md_ts_parse_serve(const char *json, struct md_ts_serve *out, struct md_err *err)
{
	cJSON *root = cJSON_Parse(json);
	const cJSON *fg, *it;

	memset(out, 0, sizeof(*out));
	/* The CLI prints `{}` for no config; the LocalAPI's `null` means the same
	 * (docs/tailscale.md#serve-configuration). */
	if (cJSON_IsNull(root)) {
		cJSON_Delete(root);
		return MD_OK;
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return md_err_set(err, MD_EPARSE, "tailscale",
				  "tailscale serve status --json: not a JSON object");
	}
	serve_scan(root, out, false);
	fg = cJSON_GetObjectItemCaseSensitive(root, "Foreground");
	cJSON_ArrayForEach(it, fg)
		serve_scan(it, out, true);
	cJSON_Delete(root);
	return MD_OK;
}

int md_ts_parse_prefs_control(const char *json, char *out, size_t len, struct md_err *err)
{
	cJSON *root = cJSON_Parse(json);
	const cJSON *v;

	out[0] = '\0';
	v = cJSON_GetObjectItemCaseSensitive(root, "ControlURL");
	if (!cJSON_IsObject(root) || !cJSON_IsString(v)) {
		cJSON_Delete(root);
		return md_err_set(err, MD_EPARSE, "tailscale",
				  "tailscale debug prefs: no ControlURL in the output");
	}
	md_copy_str(out, len, v->valuestring);
	cJSON_Delete(root);
	return MD_OK;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

/* The control heuristic, in order of reliability:
 *  1. ControlURL (ipn.Prefs): empty means the default (controlplane.tailscale.com); a
 *     host under tailscale.com is Tailscale's; any other host is a self-hosted control
 *     server, which for the meshes meshdoctor serves is Headscale.
 *  2. Without prefs, the status: a MagicDNS suffix under ts.net, or any CertDomains, is
 *     Tailscale's control (Headscale never sends CertDomains); a Self.ID that is a plain
 *     decimal number is Headscale's node id — Tailscale's StableNodeIDs are not plain
 *     numbers.
 * CertDomains null alone proves nothing: a Tailscale tailnet without HTTPS enabled also
 * has none (that is the seed's very case).  Described for users in
 * docs/tailscale.md#control-server-tailscale-or-headscale. */
const char *md_ts_control_kind(const char *control_url, const struct md_ts_status *st,
			       char *why, size_t why_len)
{
	if (control_url) {
		char host[256] = "";
		const char *h = strstr(control_url, "://");

		if (!control_url[0]) {
			snprintf(why, why_len, "ControlURL is empty (the default, controlplane.tailscale.com)");
			return "tailscale";
		}
		h = h ? h + 3 : control_url;
		snprintf(host, sizeof(host), "%.*s", (int)strcspn(h, ":/"), h);
		if (strcasecmp(host, "tailscale.com") == 0 || ends_with(host, ".tailscale.com")) {
			snprintf(why, why_len, "ControlURL %s is Tailscale's", control_url);
			return "tailscale";
		}
		snprintf(why, why_len, "ControlURL %s is not under tailscale.com: a self-hosted "
			 "(Headscale) control server", control_url);
		return "headscale";
	}
	if (st) {
		bool digits = st->self_id[0] != '\0';

		for (const char *p = st->self_id; *p; p++)
			digits = digits && isdigit((unsigned char)*p);
		if (st->cert_domains > 0) {
			snprintf(why, why_len, "status lists %d CertDomains (Headscale never sends any)",
				 st->cert_domains);
			return "tailscale";
		}
		if (ends_with(st->magicdns_suffix, ".ts.net")) {
			snprintf(why, why_len, "MagicDNS suffix %s is under ts.net", st->magicdns_suffix);
			return "tailscale";
		}
		if (digits) {
			snprintf(why, why_len, "Self.ID \"%s\" is a plain node number, as Headscale sends",
				 st->self_id);
			return "headscale";
		}
	}
	snprintf(why, why_len, "neither the prefs nor the status tell the control server apart");
	return "unknown";
}


/* ==== the serve Proxy as a URL ========================================================== */

static bool port_ok(const char *p, size_t n)
{
	long v = 0;

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return false;
		v = v * 10 + (p[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* HOST[:PORT][/PATH] with HOST a DNS name or IPv4 address (letters, digits, '.', '-';
 * starting with a letter or digit) or a bracketed IPv6 address, PORT 1-65535 and PATH
 * from [A-Za-z0-9._~/-]: a URL no shell can read anything else into (docs/tls.md). */
static bool authority_path_ok(const char *p)
{
	const char *h = p;

	if (*p == '[') {
		for (p++; isxdigit((unsigned char)*p) || *p == ':' || *p == '.'; p++)
			;
		if (*p != ']' || p == h + 1)
			return false;
		p++;
	} else {
		if (!isalnum((unsigned char)*p))
			return false;
		while (isalnum((unsigned char)*p) || *p == '.' || *p == '-')
			p++;
	}
	if (*p == ':') {
		size_t n = strspn(++p, "0123456789");

		if (!port_ok(p, n))
			return false;
		p += n;
	}
	if (*p && *p != '/')
		return false;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._~/-", *p))
			return false;
	return true;
}

int md_ts_backend_url(const char *proxy, char *out, size_t len, bool *insecure)
{
	const char *scheme = "http://", *rest = proxy;
	bool bare_port = proxy[strspn(proxy, "0123456789")] == '\0';
	int n;

	*insecure = false;
	out[0] = '\0';
	/* ipn.HTTPHandler.Proxy accepts a bare port, host:port or a URL
	 * (docs/tailscale.md#serve-configuration).  The value comes from the host and the URL
	 * goes into a shell command there, so only the strict form is accepted. */
	if (bare_port) {
		if (!port_ok(proxy, strlen(proxy)))
			return MD_EINVAL;
		scheme = "http://127.0.0.1:";
	} else if (strncmp(proxy, "https+insecure://", 17) == 0) {
		scheme = "https://";
		rest = proxy + 17;
		*insecure = true;
	} else if (strncmp(proxy, "http://", 7) == 0) {
		rest = proxy + 7;
	} else if (strncmp(proxy, "https://", 8) == 0) {
		scheme = "https://";
		rest = proxy + 8;
	} else if (strstr(proxy, "://")) {
		return MD_EINVAL;
	}
	if (!bare_port && !authority_path_ok(rest)) {
		*insecure = false;
		return MD_EINVAL;
	}
	n = snprintf(out, len, "%s%s", scheme, rest);
	if (n < 0 || (size_t)n >= len) {
		out[0] = '\0';
		*insecure = false;
		return MD_EINVAL;
	}
	return MD_OK;
}
