/* ts_state.c — parsers of the Tailscale node's state (probes/ts_state.h): text in, values
 * out, no I/O.  Formats: /work/shared/reference/tailscale-headscale-formats.md §1-4, as
 * summarised in docs/tailscale.md. */
#include "probes/ts_state.h"
#include "core/text.h"

#include "probes/tailscale.h"

#include <cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define W "tailscale"

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

static bool jtrue(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static void cpy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

/* Appends s to buf (len) after sep when buf is not empty; what does not fit is cut. */
static void join(char *buf, size_t len, const char *sep, const char *s)
{
	size_t n = strlen(buf);

	if (n + 1 >= len)
		return;
	snprintf(buf + n, len - n, "%s%s", n ? sep : "", s);
}

/* ==== time ============================================================================== */

/* ==== status: the node's state ========================================================= */

/* Headscale's AuthURL forms (reference §2.6): <= 0.22 /register/nodekey:<hex>; 0.23-0.28
 * /register/<24 URL-safe chars>; 0.29+ /register/hskey-authreq-<24>.  Tailscale's own
 * login URLs (https://login.tailscale.com/a/...) have no /register/. */
static void register_id(struct md_ts_state *st)
{
	const char *r = strstr(st->auth_url, "/register/");
	size_t n;

	if (!r)
		return;
	r += strlen("/register/");
	n = strcspn(r, "/?#");
	if (n == 0 || n >= sizeof(st->register_id))
		return;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)r[i]) && !strchr("-_:", r[i]))
			return;
	snprintf(st->register_id, sizeof(st->register_id), "%.*s", (int)n, r);
	if (strncmp(st->register_id, "hskey-authreq-", 14) == 0)
		st->register_form = "auth-id";
	else if (strncmp(st->register_id, "nodekey:", 8) == 0)
		st->register_form = "nodekey";
	else
		st->register_form = "key";
}

static void state_self(const cJSON *self, struct md_ts_state *st)
{
	const char *exp = jstr(self, "KeyExpiry");

	st->self_online = jtrue(self, "Online");
	st->self_expired = jtrue(self, "Expired");
	if (exp && md_parse_rfc3339(exp, &st->key_expiry_s) == MD_OK)
		cpy(st->key_expiry, sizeof(st->key_expiry), exp);
}

/* Counts each peer by its path, as `tailscale status` prints it; ShareeNode peers are
 * hidden by the CLI and not counted. */
static void state_peers(const cJSON *peer, struct md_ts_state *st)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, peer) {
		struct md_ts_peer p;
		const char *path;

		if (!cJSON_IsObject(it) || jtrue(it, "ShareeNode"))
			continue;
		memset(&p, 0, sizeof(p));
		cpy(p.cur_addr, sizeof(p.cur_addr), jstr(it, "CurAddr"));
		cpy(p.relay, sizeof(p.relay), jstr(it, "Relay"));
		cpy(p.peer_relay, sizeof(p.peer_relay), jstr(it, "PeerRelay"));
		p.online = jtrue(it, "Online");
		p.active = jtrue(it, "Active");
		path = md_ts_peer_path(&p);
		st->peers++;
		if (p.online)
			st->peers_online++;
		else
			st->peers_offline++;
		if (strcmp(path, "direct") == 0)
			st->peers_direct++;
		else if (strcmp(path, "derp") == 0)
			st->peers_derp++;
		else if (strcmp(path, "peer-relay") == 0)
			st->peers_peer_relay++;
		else if (strcmp(path, "idle") == 0)
			st->peers_idle++;
	}
}

int md_ts_parse_state(const char *json, struct md_ts_state *st, struct md_err *err)
{
	cJSON *root = cJSON_Parse(json);
	const cJSON *self, *tn, *ips, *health, *it;

	memset(st, 0, sizeof(*st));
	if (!cJSON_IsObject(root) || !jstr(root, "BackendState")) {
		cJSON_Delete(root);
		return md_err_set(err, MD_EPARSE, W,
				  "tailscale status --json: not a status object (no BackendState)");
	}
	cpy(st->version, sizeof(st->version), jstr(root, "Version"));
	cpy(st->backend_state, sizeof(st->backend_state), jstr(root, "BackendState"));
	cpy(st->auth_url, sizeof(st->auth_url), jstr(root, "AuthURL"));
	register_id(st);
	ips = cJSON_GetObjectItemCaseSensitive(root, "TailscaleIPs");
	cJSON_ArrayForEach(it, ips)
		if (cJSON_IsString(it)) {
			join(st->ips, sizeof(st->ips), ", ", it->valuestring);
			st->n_ips++;
		}
	self = cJSON_GetObjectItemCaseSensitive(root, "Self");
	if (cJSON_IsObject(self))
		state_self(self, st);
	tn = cJSON_GetObjectItemCaseSensitive(root, "CurrentTailnet");
	if (cJSON_IsObject(tn)) {
		st->has_tailnet = true;
		st->magicdns_enabled = jtrue(tn, "MagicDNSEnabled");
		cpy(st->magicdns_suffix, sizeof(st->magicdns_suffix), jstr(tn, "MagicDNSSuffix"));
	}
	if (!st->magicdns_suffix[0])
		cpy(st->magicdns_suffix, sizeof(st->magicdns_suffix), jstr(root, "MagicDNSSuffix"));
	health = cJSON_GetObjectItemCaseSensitive(root, "Health");
	cJSON_ArrayForEach(it, health)
		if (cJSON_IsString(it)) {
			join(st->health, sizeof(st->health), " | ", it->valuestring);
			st->n_health++;
		}
	state_peers(cJSON_GetObjectItemCaseSensitive(root, "Peer"), st);
	cJSON_Delete(root);
	return MD_OK;
}

/* One row of the peers table. */
static int peer_row(const cJSON *it, cJSON *rows)
{
	static const char zero[] = "0001-01-01T00:00:00Z";
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(it, "TailscaleIPs");
	const cJSON *ip = cJSON_IsArray(ips) ? cJSON_GetArrayItem(ips, 0) : NULL;
	const char *hs = jstr(it, "LastHandshake");
	cJSON *row = cJSON_CreateObject();
	struct md_ts_peer p;
	char dns[256];

	if (!row || !cJSON_AddItemToArray(rows, row)) {
		cJSON_Delete(row);
		return MD_ENOMEM;
	}
	memset(&p, 0, sizeof(p));
	cpy(p.cur_addr, sizeof(p.cur_addr), jstr(it, "CurAddr"));
	cpy(p.relay, sizeof(p.relay), jstr(it, "Relay"));
	cpy(p.peer_relay, sizeof(p.peer_relay), jstr(it, "PeerRelay"));
	p.online = jtrue(it, "Online");
	p.active = jtrue(it, "Active");
	cpy(dns, sizeof(dns), jstr(it, "DNSName"));
	if (dns[0] && dns[strlen(dns) - 1] == '.')
		dns[strlen(dns) - 1] = '\0';
	if (!cJSON_AddStringToObject(row, "host", jstr(it, "HostName") ? jstr(it, "HostName") : "") ||
	    !cJSON_AddStringToObject(row, "dns_name", dns) ||
	    !cJSON_AddStringToObject(row, "ip", cJSON_IsString(ip) ? ip->valuestring : "") ||
	    !cJSON_AddStringToObject(row, "os", jstr(it, "OS") ? jstr(it, "OS") : "") ||
	    !cJSON_AddBoolToObject(row, "online", p.online) ||
	    !cJSON_AddBoolToObject(row, "active", p.active) ||
	    !cJSON_AddStringToObject(row, "path", md_ts_peer_path(&p)) ||
	    !cJSON_AddStringToObject(row, "cur_addr", p.cur_addr) ||
	    !cJSON_AddStringToObject(row, "relay", p.relay) ||
	    !cJSON_AddStringToObject(row, "peer_relay", p.peer_relay) ||
	    !cJSON_AddStringToObject(row, "last_handshake", hs && strcmp(hs, zero) ? hs : "") ||
	    !cJSON_AddNumberToObject(row, "rx_bytes",
				     cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "RxBytes"))) ||
	    !cJSON_AddNumberToObject(row, "tx_bytes",
				     cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "TxBytes"))))
		return MD_ENOMEM;
	return MD_OK;
}

int md_ts_peers_table(const char *json, char **out, struct md_err *err)
{
	cJSON *root = cJSON_Parse(json), *rows = NULL;
	const cJSON *it;
	int rc = MD_OK;

	*out = NULL;
	if (!cJSON_IsObject(root) || !jstr(root, "BackendState")) {
		cJSON_Delete(root);
		return md_err_set(err, MD_EPARSE, W,
				  "tailscale status --json: not a status object (no BackendState)");
	}
	rows = cJSON_CreateArray();
	if (!rows)
		rc = MD_ENOMEM;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "Peer"))
		if (rc == MD_OK && cJSON_IsObject(it) && !jtrue(it, "ShareeNode"))
			rc = peer_row(it, rows);
	if (rc == MD_OK && !(*out = cJSON_PrintUnformatted(rows)))
		rc = MD_ENOMEM;
	cJSON_Delete(rows);
	cJSON_Delete(root);
	if (rc)
		return md_err_set(err, rc, W, "tailscale status --json: peers table: out of memory");
	return MD_OK;
}

/* ==== prefs ============================================================================= */

int md_ts_parse_prefs(const char *json, struct md_ts_prefs *p, struct md_err *err)
{
	cJSON *root = cJSON_Parse(json);
	const cJSON *v;

	memset(p, 0, sizeof(*p));
	if (!cJSON_IsObject(root) || !jstr(root, "ControlURL")) {
		cJSON_Delete(root);
		return md_err_set(err, MD_EPARSE, W, "tailscale debug prefs: no ControlURL in the output");
	}
	cpy(p->control_url, sizeof(p->control_url), jstr(root, "ControlURL"));
	v = cJSON_GetObjectItemCaseSensitive(root, "WantRunning");
	p->has_want_running = cJSON_IsBool(v);
	p->want_running = cJSON_IsTrue(v);
	v = cJSON_GetObjectItemCaseSensitive(root, "CorpDNS");
	p->has_corp_dns = cJSON_IsBool(v);
	p->corp_dns = cJSON_IsTrue(v);
	p->logged_out = jtrue(root, "LoggedOut");
	/* omitempty: absent means false (reference §1.4, Prefs). */
	p->force_daemon = jtrue(root, "ForceDaemon");
	cJSON_Delete(root);
	return MD_OK;
}

/* ==== version =========================================================================== */

int md_ts_parse_version(const char *text, struct md_ts_version *v, struct md_err *err)
{
	const char *line = text, *lv;
	size_t n;

	memset(v, 0, sizeof(*v));
	line += strspn(line, " \t\r\n");
	n = strcspn(line, "\r\n");
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(v->short_version) || !isdigit((unsigned char)line[0]) ||
	    strspn(line, "0123456789.") < 3)
		return md_err_set(err, MD_EPARSE, W, "tailscale version: the first line is not a version");
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)line[i]) && !strchr(".-+_", line[i]))
			return md_err_set(err, MD_EPARSE, W,
					  "tailscale version: the first line is not a version");
	snprintf(v->short_version, sizeof(v->short_version), "%.*s", (int)n, line);
	lv = strstr(line, "\n  long version: ");
	if (lv) {
		lv += strlen("\n  long version: ");
		n = strcspn(lv, "\r\n ");
		if (n < sizeof(v->long_version))
			snprintf(v->long_version, sizeof(v->long_version), "%.*s", (int)n, lv);
	}
	return MD_OK;
}

/* Copies the text between the quote at *p and the next one. */
static const char *quoted(const char *p, char *out, size_t len)
{
	const char *end;

	if (*p != '"' || !(end = strchr(p + 1, '"')))
		return NULL;
	snprintf(out, len, "%.*s", (int)(end - p - 1), p + 1);
	return end + 1;
}

bool md_ts_skew_warning(const char *text, char *client, size_t client_len, char *daemon,
			size_t daemon_len)
{
	static const char a[] = "Warning: client version ", b[] = " != tailscaled server version ";
	const char *p = text ? strstr(text, a) : NULL;

	if (!p)
		return false;
	p = quoted(p + strlen(a), client, client_len);
	if (!p || strncmp(p, b, strlen(b)) != 0)
		return false;
	return quoted(p + strlen(b), daemon, daemon_len) != NULL;
}

bool md_ts_versions_differ(const char *client_short, const char *daemon_long)
{
	size_t n = strcspn(daemon_long, "-");
	size_t c = strcspn(client_short, "-");

	if (!client_short[0] || !daemon_long[0])
		return false;
	return c != n || strncmp(client_short, daemon_long, n) != 0;
}

/* ==== netcheck ========================================================================== */

int md_ts_parse_netcheck(const char *json, struct md_ts_netcheck *n, struct md_err *err)
{
	cJSON *root = cJSON_Parse(json);
	const cJSON *udp, *derp;

	memset(n, 0, sizeof(*n));
	udp = cJSON_GetObjectItemCaseSensitive(root, "UDP");
	if (!cJSON_IsObject(root) || !cJSON_IsBool(udp)) {
		cJSON_Delete(root);
		return md_err_set(err, MD_EPARSE, W,
				  "tailscale netcheck --format=json: not a report (no UDP)");
	}
	n->udp = cJSON_IsTrue(udp);
	derp = cJSON_GetObjectItemCaseSensitive(root, "PreferredDERP");
	if (cJSON_IsNumber(derp) && derp->valuedouble >= 0 && derp->valuedouble < 1e6)
		n->preferred_derp = (int)derp->valuedouble;
	cpy(n->mapping_varies, sizeof(n->mapping_varies), jstr(root, "MappingVariesByDestIP"));
	cpy(n->global_v4, sizeof(n->global_v4), jstr(root, "GlobalV4"));
	cJSON_Delete(root);
	return MD_OK;
}

/* ==== the CLI's messages ================================================================ */

/* Reference §4.1 (TS cmd/tailscale/cli/diag.go, client/local/local.go); the more specific
 * text first. */
static const struct { const char *text, *hint; } daemon_msgs[] = {
	{ "failed to connect to local tailscaled (which appears to be running as", "socket" },
	{ "failed to connect to local tailscaled process; is the Tailscale service running?", "windows" },
	{ "failed to connect to local Tailscale service; is Tailscale running?", "macos" },
	{ "failed to connect to local tailscaled process; it doesn't appear to be running", "other" },
	{ "failed to connect to local tailscaled; it doesn't appear to be running", "linux" },
	{ "Failed to connect to local Tailscale daemon for /localapi/v0/", "raw" },
};

const char *md_ts_daemon_error(const char *text, char *line, size_t line_len)
{
	if (line_len)
		line[0] = '\0';
	if (!text)
		return NULL;
	for (size_t i = 0; i < sizeof(daemon_msgs) / sizeof(daemon_msgs[0]); i++) {
		const char *p = strstr(text, daemon_msgs[i].text), *start;
		size_t n;

		if (!p)
			continue;
		for (start = p; start > text && start[-1] != '\n'; start--)
			;
		n = strcspn(start, "\r\n");
		if (line_len)
			snprintf(line, line_len, "%.*s", (int)n, start);
		/* The raw message's hint names systemd when the unit is loaded but not active. */
		if (strcmp(daemon_msgs[i].hint, "raw") == 0 &&
		    strstr(p, "systemd tailscaled.service not running."))
			return "linux-systemd";
		return daemon_msgs[i].hint;
	}
	return NULL;
}

/* ==== names and URLs ==================================================================== */

/* scheme://host:port of url, lower-cased, the default port filled in; path dropped when
 * it is only "/". */
static void control_key(const char *url, char *out, size_t len)
{
	const char *rest = url, *colon;
	char scheme[16] = "https", host[256];
	size_t hn;
	int port;

	if (!url[0])
		rest = "https://controlplane.tailscale.com";
	if (strstr(rest, "://")) {
		size_t sn = (size_t)(strstr(rest, "://") - rest);

		snprintf(scheme, sizeof(scheme), "%.*s", (int)(sn < 15 ? sn : 15), rest);
		rest += sn + 3;
	}
	for (char *s = scheme; *s; s++)
		*s = (char)tolower((unsigned char)*s);
	hn = strcspn(rest, "/?#");
	snprintf(host, sizeof(host), "%.*s", (int)(hn < 255 ? hn : 255), rest);
	for (char *s = host; *s; s++)
		*s = (char)tolower((unsigned char)*s);
	colon = strrchr(host, ':');
	if (colon && !strchr(colon, ']')) {
		port = atoi(colon + 1);
		host[colon - host] = '\0';
	} else {
		port = strcmp(scheme, "http") == 0 ? 80 : 443;
	}
	rest += hn;
	while (*rest == '/')
		rest++;
	snprintf(out, len, "%s://%s:%d/%s", scheme, host, port, rest);
	/* A trailing '/' on the path does not change the server either. */
	while (strlen(out) && out[strlen(out) - 1] == '/')
		out[strlen(out) - 1] = '\0';
}

bool md_ts_same_control(const char *a, const char *b)
{
	char ka[512], kb[512];

	control_key(a ? a : "", ka, sizeof(ka));
	control_key(b ? b : "", kb, sizeof(kb));
	return strcmp(ka, kb) == 0;
}

bool md_ts_name_under(const char *host, const char *suffix)
{
	size_t h = strlen(host), s = strlen(suffix);

	if (h && host[h - 1] == '.')
		h--;
	if (s && suffix[s - 1] == '.')
		s--;
	if (s == 0 || h <= s + 1)
		return false;
	return host[h - s - 1] == '.' && strncasecmp(host + h - s, suffix, s) == 0;
}
