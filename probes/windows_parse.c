/* windows_parse.c — cutting the Windows probe's script output into sections (the frame
 * format of probes/windows.h) and reading each one.  Pure: no I/O, tested on the outputs
 * in fixtures/windows/ and fuzzed by tests/fuzz/fuzz_windows_sections.c. */
#include "probes/windows.h"

#include "core/text.h"

#include <cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void md_win_state_init(struct md_win_state *s)
{
	memset(s, 0, sizeof(*s));
	s->daemon_running = s->tray_running = -1;
	s->elevated = s->session_id = s->interactive_users = -1;
	s->authkey = s->state_file = s->join_script = -1;
	s->status_exit = -1;
}

const struct md_win_pipe *md_win_pipe_find(const struct md_win_state *s, const char *name)
{
	for (size_t i = 0; i < s->n_pipes; i++)
		if (strcasecmp(s->pipes[i].name, name) == 0)
			return &s->pipes[i];
	return NULL;
}

/* src into dst (n bytes, the order of md_printable()) with printable ASCII kept and anything else as '?': host text for
 * evidence, which must neither end a line nor drive a terminal.  Unlike md_printable(),
 * backslashes stay: Windows paths and pipe names are full of them. */
static void clean(const char *src, char *dst, size_t n)
{
	size_t i = 0;

	for (; src && *src && i + 1 < n; src++)
		dst[i++] = (unsigned char)*src >= ' ' && (unsigned char)*src < 0x7f ? *src : '?';
	if (n)
		dst[i] = '\0';
}

/* ---- lines ------------------------------------------------------------------------------ */

/* One line of the output, without its "\r\n" / "\n", a leading BOM, and NULs; cut at
 * 1023 bytes. */
struct line {
	char text[1024];
};

/* Reads the line at *p (up to end) into l; advances *p.  False at the end. */
static bool next_line(const char **p, const char *end, struct line *l)
{
	const char *s = *p, *e;
	size_t n = 0;

	if (s >= end)
		return false;
	e = memchr(s, '\n', (size_t)(end - s));
	if (!e)
		e = end;
	*p = e < end ? e + 1 : end;
	if (e - s >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	while (e > s && e[-1] == '\r')
		e--;
	/* tabs separate fields; other control bytes and non-ASCII never reach evidence */
	for (; s < e && n + 1 < sizeof(l->text); s++)
		if (*s != '\0')
			l->text[n++] = *s == '\t' || ((unsigned char)*s >= ' ' && (unsigned char)*s < 0x7f)
					       ? *s : '?';
	l->text[n] = '\0';
	return true;
}

/* A PowerShell error record's lines, as the host prints them on the streams it merges:
 * "Cmdlet : message", "At line:1 char:5", "+ ~~~~", "    + CategoryInfo : ...". */
static bool error_record(const char *t)
{
	const char *c;

	while (*t == ' ')
		t++;
	if (strncmp(t, "At line:", 8) == 0 || strncmp(t, "+ ", 2) == 0 || strcmp(t, "+") == 0)
		return true;
	c = strstr(t, " : ");
	if (!c || c == t)
		return false;
	for (const char *q = t; q < c; q++)
		if (!(isalnum((unsigned char)*q) || *q == '-'))
			return false;
	return true;
}

/* ---- the sections ----------------------------------------------------------------------- */

enum sec { S_SERVICE, S_PROC, S_CLI, S_PIPES, S_WHOAMI, S_SESSION, S_QUSER, S_REG, S_FILES,
	   S_STATUS, S_STATUS_JSON, S_N };

static const char *const sec_names[S_N] = {
	"service", "proc", "cli", "pipes", "whoami", "session", "quser", "reg", "files",
	"status", "status-json",
};

static int sec_find(const char *name)
{
	for (int i = 0; i < S_N; i++)
		if (strcmp(sec_names[i], name) == 0)
			return i;
	return -1;
}

/* "key=value": value of key in t, or NULL. */
static const char *kv(const char *t, const char *key)
{
	size_t n = strlen(key);

	return strncmp(t, key, n) == 0 && t[n] == '=' ? t + n + 1 : NULL;
}

static int to_int(const char *v, int dflt)
{
	char *e;
	long x;

	if (!v)
		return dflt;
	x = strtol(v, &e, 10);
	return e != v && x >= -1000000 && x <= 1000000 ? (int)x : dflt;
}

static void lower_copy(char *dst, size_t n, const char *src)
{
	size_t i = 0;

	for (; src[i] && i + 1 < n; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

static void line_service(struct md_win_state *s, const char *t)
{
	const char *v;

	if ((v = kv(t, "status")))
		lower_copy(s->service, sizeof(s->service), v);
	else if ((v = kv(t, "start")))
		md_copy_str(s->service_start, sizeof(s->service_start), v);
}

static void line_proc(struct md_win_state *s, const char *t)
{
	const char *v;
	bool daemon = (v = kv(t, "tailscaled")) != NULL;

	if (!daemon && !(v = kv(t, "tailscale-ipn")))
		return;
	if (daemon) {
		s->daemon_running = strcmp(v, "none") != 0 && *v;
		md_copy_str(s->daemon_procs, sizeof(s->daemon_procs), s->daemon_running ? v : "");
	} else {
		s->tray_running = strcmp(v, "none") != 0 && *v;
		md_copy_str(s->tray_procs, sizeof(s->tray_procs), s->tray_running ? v : "");
	}
}

static void line_cli(struct md_win_state *s, const char *t)
{
	const char *v;

	if ((v = kv(t, "path")))
		md_copy_str(s->cli_path, sizeof(s->cli_path), v);
	else if ((v = kv(t, "version")))
		md_copy_str(s->cli_version, sizeof(s->cli_version), v);
}

/* What the exception says about the open: .NET's NamedPipeClientStream.Connect(ms) throws
 * TimeoutException when no such pipe appears in time, UnauthorizedAccessException for
 * ERROR_ACCESS_DENIED, IOException "All pipe instances are busy" for ERROR_PIPE_BUSY. */
static void classify_open(struct md_win_pipe *p, const char *result)
{
	const char *h = strstr(p->error, "HRESULT 0x");
	unsigned long hr;

	p->win32 = -1;
	if (h && sscanf(h + 8, "%lx", &hr) == 1 && (hr & 0xffff0000UL) == 0x80070000UL)
		p->win32 = (long)(hr & 0xffff);
	if (strcmp(result, "ok") == 0)
		md_copy_str(p->open, sizeof(p->open), "ok");
	else if (strstr(p->error, "UnauthorizedAccess") || p->win32 == 5)
		md_copy_str(p->open, sizeof(p->open), "denied");
	else if (strstr(p->error, "Timeout"))
		md_copy_str(p->open, sizeof(p->open), p->listed ? "timeout" : "absent");
	else if (p->win32 == 231 || strstr(p->error, "pipe instances are busy"))
		md_copy_str(p->open, sizeof(p->open), "busy");
	else if (p->win32 == 2 || strstr(p->error, "FileNotFound"))
		md_copy_str(p->open, sizeof(p->open), "not_found");
	else
		md_copy_str(p->open, sizeof(p->open), "error");
}

static void line_pipe(struct md_win_state *s, const char *t)
{
	char f[4][300] = { "", "", "", "" };
	struct md_win_pipe *p;
	size_t k = 0, n = 0;

	for (; *t && k < 4; t++) {
		if (*t == '\t') {
			f[k++][n] = '\0';
			n = 0;
		} else if (n + 1 < sizeof(f[0])) {
			f[k][n++] = *t;
		}
	}
	if (k < 4)
		f[k][n] = '\0';
	if (k < 2 || !f[0][0] || s->n_pipes >= MD_WIN_MAX_PIPES || md_win_pipe_find(s, f[0]))
		return;
	p = &s->pipes[s->n_pipes++];
	md_copy_str(p->name, sizeof(p->name), f[0]);
	p->listed = strcmp(f[1], "listed") == 0;
	clean(f[3], p->error, sizeof(p->error));
	classify_open(p, f[2]);
}

/* `whoami /groups /fo csv /nh`: "name","type","SID","attributes".  The logon's well-known
 * group (NETWORK S-1-5-2, INTERACTIVE S-1-5-4, BATCH S-1-5-3, SERVICE S-1-5-6) says how
 * the session logged on; Administrators S-1-5-32-544 is "Enabled group" only when
 * elevated ("Group used for deny only" under UAC's filtered token). */
static void line_whoami(struct md_win_state *s, const char *t)
{
	static const struct { const char *sid, *logon; } logons[] = {
		{ "\"S-1-5-2\"", "network" }, { "\"S-1-5-4\"", "interactive" },
		{ "\"S-1-5-3\"", "batch" }, { "\"S-1-5-6\"", "service" },
	};

	for (size_t i = 0; i < sizeof(logons) / sizeof(logons[0]); i++)
		if (strstr(t, logons[i].sid) && !s->logon[0]) {
			const char *e = t[0] == '"' ? strchr(t + 1, '"') : NULL;
			size_t n = e ? (size_t)(e - t - 1) : 0;

			md_copy_str(s->logon, sizeof(s->logon), logons[i].logon);
			if (n >= sizeof(s->logon_group))
				n = sizeof(s->logon_group) - 1;
			memcpy(s->logon_group, t + 1, n);
			s->logon_group[n] = '\0';
		}
	if (strstr(t, "\"S-1-5-32-544\""))
		s->elevated = strstr(t, "Enabled group") && !strstr(t, "deny only");
}

/* quser: a header ("USERNAME SESSIONNAME ID STATE IDLE TIME LOGON TIME"), then one line per
 * session, STATE "Active" or "Disc"; with nobody logged on, "No User exists for *" on
 * stderr and exit 1. */
static void line_quser(struct md_win_state *s, const char *t)
{
	const char *v;

	if ((v = kv(t, "exit"))) {
		/* quser ran and listed no session; another exit without "No User exists" (127:
		 * no quser on this edition) leaves it unknown */
		if (s->interactive_users < 0 && to_int(v, -1) == 0)
			s->interactive_users = 0;
		return;
	}
	if (strstr(t, "No User exists")) {
		s->interactive_users = 0;
		clean(t, s->interactive_line, sizeof(s->interactive_line));
		return;
	}
	if (strstr(t, "USERNAME") && strstr(t, "STATE"))
		return;
	if (strstr(t, " Active ")) {
		if (s->interactive_users < 0)
			s->interactive_users = 0;
		if (s->interactive_users++ == 0)
			clean(t, s->interactive_line, sizeof(s->interactive_line));
	} else if (strstr(t, " Disc ") && s->interactive_users < 0) {
		s->interactive_users = 0;
	}
}

static void line_reg(struct md_win_state *s, const char *t)
{
	const char *a = strchr(t, '\t'), *b = a ? strchr(a + 1, '\t') : NULL;
	char key[200], name[64], val[256];
	bool policy;
	size_t n;

	if (!a || !b)
		return;
	n = (size_t)(a - t) < sizeof(key) ? (size_t)(a - t) : sizeof(key) - 1;
	memcpy(key, t, n);
	key[n] = '\0';
	n = (size_t)(b - a - 1) < sizeof(name) ? (size_t)(b - a - 1) : sizeof(name) - 1;
	memcpy(name, a + 1, n);
	name[n] = '\0';
	clean(b + 1, val, sizeof(val));
	policy = strstr(key, "Policies") != NULL;
	if (strcmp(name, "-") == 0)
		return;
	if (!strstr(s->reg_keys, policy ? "policy" : "ipn"))
		snprintf(s->reg_keys + strlen(s->reg_keys), sizeof(s->reg_keys) - strlen(s->reg_keys),
			 "%s%s", s->reg_keys[0] ? " " : "", policy ? "policy" : "ipn");
	/* The policy key wins over the legacy one (§5): it is listed first, so keep the first. */
	if (strcasecmp(name, "LoginURL") == 0 && !s->login_url[0]) {
		md_copy_str(s->login_url, sizeof(s->login_url), val);
		md_copy_str(s->login_url_key, sizeof(s->login_url_key), key);
	} else if (strcasecmp(name, "UnattendedMode") == 0 && !s->unattended[0]) {
		md_copy_str(s->unattended, sizeof(s->unattended), val);
		md_copy_str(s->unattended_key, sizeof(s->unattended_key), key);
	} else if (strcasecmp(name, "AuthKey") == 0) {
		/* Only "present" is ever printed for it; anything else is not kept either. */
		s->authkey = 1;
	}
}

static int true_false(const char *v)
{
	return strcasecmp(v, "True") == 0 ? 1 : strcasecmp(v, "False") == 0 ? 0 : -1;
}

static void line_files(struct md_win_state *s, const char *t)
{
	const char *v;

	if ((v = kv(t, "server-state.conf")))
		s->state_file = true_false(v);
	else if ((v = kv(t, "join-mesh.ps1")))
		s->join_script = true_false(v);
	else if ((v = kv(t, "acl")))
		clean(v, s->join_acl, sizeof(s->join_acl));
}

static void line_status(struct md_win_state *s, const char *t)
{
	const char *v;
	size_t n = strlen(s->status_error);

	if ((v = kv(t, "exit"))) {
		s->status_exit = to_int(v, -1);
	} else if ((v = kv(t, "err")) && *v && n + 2 < sizeof(s->status_error)) {
		if (n)
			s->status_error[n++] = ' ';
		clean(v, s->status_error + n, sizeof(s->status_error) - n);
	}
}

/* ---- the frames ------------------------------------------------------------------------- */

static void add_name(char *list, size_t n, const char *name)
{
	size_t l = strlen(list);

	snprintf(list + l, n - l, "%s%s", l ? " " : "", name);
}

struct parse {
	struct md_win_state *s;
	int cur;              /* section open, -1 none */
	bool seen[S_N], ended[S_N];
	char *json;           /* status-json's body */
	size_t json_len, json_cap;
};

static void json_add(struct parse *p, const char *t)
{
	size_t n = strlen(t);
	char *j;

	if (p->json_len + n + 2 > 256 * 1024)
		return; /* more than any status: keep what came */
	if (p->json_len + n + 2 > p->json_cap) {
		size_t cap = (p->json_len + n + 2) * 2;

		if (!(j = realloc(p->json, cap)))
			return;
		p->json = j;
		p->json_cap = cap;
	}
	memcpy(p->json + p->json_len, t, n);
	p->json_len += n;
	p->json[p->json_len++] = '\n';
	p->json[p->json_len] = '\0';
}

static void body_line(struct parse *p, const char *t)
{
	struct md_win_state *s = p->s;

	if (p->cur == S_STATUS_JSON) {
		json_add(p, t);
		return;
	}
	if (p->cur != S_WHOAMI && p->cur != S_QUSER && error_record(t)) {
		if (!s->ps_error[0])
			clean(t, s->ps_error, sizeof(s->ps_error));
		return;
	}
	switch (p->cur) {
	case S_SERVICE: line_service(s, t); break;
	case S_PROC: line_proc(s, t); break;
	case S_CLI: line_cli(s, t); break;
	case S_PIPES: line_pipe(s, t); break;
	case S_WHOAMI: line_whoami(s, t); break;
	case S_SESSION: s->session_id = to_int(kv(t, "id"), s->session_id); break;
	case S_QUSER: line_quser(s, t); break;
	case S_REG: line_reg(s, t); break;
	case S_FILES: line_files(s, t); break;
	case S_STATUS: line_status(s, t); break;
	default: break;
	}
}

/* "#md <nonce> <verb> <arg>": true (verb, arg filled) when t is a frame of nonce. */
static bool frame(const char *t, const char *nonce, char *verb, size_t nv, char *arg, size_t na)
{
	const char *v, *a;
	size_t n;

	if (strncmp(t, "#md ", 4) != 0 || strncmp(t + 4, nonce, MD_WIN_NONCE_LEN) != 0 ||
	    t[4 + MD_WIN_NONCE_LEN] != ' ')
		return false;
	v = t + 5 + MD_WIN_NONCE_LEN;
	a = strchr(v, ' ');
	n = a ? (size_t)(a - v) : strlen(v);
	if (n == 0 || n >= nv)
		return false;
	memcpy(verb, v, n);
	verb[n] = '\0';
	md_copy_str(arg, na, a ? a + 1 : "");
	return true;
}

static void on_frame(struct parse *p, const char *verb, const char *arg)
{
	int k = sec_find(arg);

	if (strcmp(verb, "done") == 0) {
		p->s->done = true;
		p->s->over_limit = strcmp(arg, "1") == 0;
		p->cur = -1;
	} else if (strcmp(verb, "begin") == 0 && k >= 0 && !p->seen[k]) {
		p->seen[k] = true;
		p->cur = k;
		if (k == S_REG)
			p->s->authkey = 0; /* read: absent unless a line says present */
	} else if (strcmp(verb, "end") == 0 && k >= 0 && k == p->cur) {
		p->ended[k] = true;
		p->cur = -1;
	}
}

/* BackendState and Version of `tailscale status --json` (§2.1); other fields are the
 * tailscale probe's. */
static void read_json(struct parse *p)
{
	cJSON *j, *b, *v;

	if (!p->json || !(j = cJSON_Parse(p->json)))
		return;
	b = cJSON_GetObjectItemCaseSensitive(j, "BackendState");
	v = cJSON_GetObjectItemCaseSensitive(j, "Version");
	if (cJSON_IsString(b))
		clean(b->valuestring, p->s->backend_state, sizeof(p->s->backend_state));
	if (cJSON_IsString(v))
		clean(v->valuestring, p->s->cli_json_version, sizeof(p->s->cli_json_version));
	cJSON_Delete(j);
}

static bool nonce_ok(const char *nonce)
{
	if (!nonce || strlen(nonce) != MD_WIN_NONCE_LEN)
		return false;
	for (const char *c = nonce; *c; c++)
		if (!isxdigit((unsigned char)*c))
			return false;
	return true;
}

int md_win_parse(const char *out, size_t len, const char *nonce, struct md_win_state *s)
{
	struct parse p = { .s = s, .cur = -1 };
	const char *at = out, *end = out + len;
	struct line l;
	char verb[16], arg[32];

	if (!nonce_ok(nonce))
		return MD_EINVAL;
	while (out && next_line(&at, end, &l)) {
		if (frame(l.text, nonce, verb, sizeof(verb), arg, sizeof(arg))) {
			s->framed = true;
			on_frame(&p, verb, arg);
		} else if (p.cur >= 0) {
			body_line(&p, l.text);
		}
	}
	read_json(&p);
	for (int k = 0; k < S_N; k++) {
		/* status and status-json exist only when there is a CLI to ask */
		if (!p.seen[k] && !(k >= S_STATUS && strcmp(s->cli_path, "none") == 0))
			add_name(s->missing, sizeof(s->missing), sec_names[k]);
		else if (p.seen[k] && !p.ended[k])
			add_name(s->truncated, sizeof(s->truncated), sec_names[k]);
	}
	free(p.json);
	return MD_OK;
}
