/* ssh.c — the SSH reachability probe: TCP connect, banner, key exchange, host key against
 * known_hosts, authentication, then OS detection and sudo over the session it leaves in
 * ctx->session for the probes after it.
 *
 * Each step is a fact with its evidence and a checklist mark; a failing step ends the probe
 * with MD_OK (the failure is data).  The rules that read these facts are rules/ssh.rules;
 * the decision tree they encode is seeds/002_c74f733de84f5218.txt. */
#include "probes/ssh.h"
#include "probes/probe.h"
#include "core/net.h"

#include <libssh2.h>
#include <openssl/evp.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define P "ssh"

/* ==================================================================================== */
/* Banner                                                                               */
/* ==================================================================================== */

static void copy_span(char *out, size_t n, const char *p, size_t len)
{
	if (len >= n)
		len = n - 1;
	memcpy(out, p, len);
	out[len] = '\0';
}

int ssh_banner_parse(const char *line, struct ssh_banner *b)
{
	const char *proto, *soft, *dash, *sp, *v;

	memset(b, 0, sizeof(*b));
	b->openssh_major = b->openssh_minor = -1;
	if (strncmp(line, "SSH-", 4) != 0)
		return MD_EPARSE;
	proto = line + 4;
	dash = strchr(proto, '-');
	if (!dash || dash == proto)
		return MD_EPARSE;
	copy_span(b->proto, sizeof(b->proto), proto, (size_t)(dash - proto));
	soft = dash + 1;
	sp = strchr(soft, ' ');
	copy_span(b->software, sizeof(b->software), soft, sp ? (size_t)(sp - soft) : strlen(soft));
	if (!b->software[0])
		return MD_EPARSE;
	if (sp)
		snprintf(b->comments, sizeof(b->comments), "%s", sp + 1);
	/* Microsoft's port names itself OpenSSH_for_Windows_<version> (Win32-OpenSSH). */
	if (strncmp(b->software, "OpenSSH_for_Windows_", 20) == 0) {
		b->windows = true;
		v = b->software + 20;
	} else if (strncmp(b->software, "OpenSSH_", 8) == 0) {
		v = b->software + 8;
	} else {
		return MD_OK;
	}
	if (sscanf(v, "%d.%d", &b->openssh_major, &b->openssh_minor) != 2)
		b->openssh_major = b->openssh_minor = -1;
	return MD_OK;
}

bool ssh_openssh_at_least(const struct ssh_banner *b, int major, int minor)
{
	if (b->openssh_major < 0)
		return false;
	return b->openssh_major > major || (b->openssh_major == major && b->openssh_minor >= minor);
}

/* RFC 4253 §4.2 caps the identification line at 255 characters; OpenSSH reads longer
 * pre-banner lines, so allow some slack before calling it "not SSH". */
#define BANNER_LINE_MAX 1024
#define BANNER_PREAMBLE_MAX 8192

enum ssh_scan ssh_banner_scan(const char *buf, size_t len, size_t *skip, size_t *line_len,
			      bool *other)
{
	size_t pos = 0;

	*skip = *line_len = 0;
	while (pos < len) {
		const char *start = buf + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - start) : len - pos;

		if (memchr(start, '\0', l))
			return SSH_SCAN_NOT_SSH;
		if (!nl) {
			size_t cmp = l < 4 ? l : 4;

			if (memcmp(start, "SSH-", cmp) != 0)
				*other = true;
			return l > BANNER_LINE_MAX ? SSH_SCAN_NOT_SSH : SSH_SCAN_MORE;
		}
		if (l >= 4 && memcmp(start, "SSH-", 4) == 0) {
			*skip = pos;
			*line_len = l && start[l - 1] == '\r' ? l - 1 : l;
			return SSH_SCAN_BANNER;
		}
		*other = true;
		if (l > BANNER_LINE_MAX)
			return SSH_SCAN_NOT_SSH;
		pos += l + 1;
		if (pos > BANNER_PREAMBLE_MAX)
			return SSH_SCAN_NOT_SSH;
	}
	return SSH_SCAN_MORE;
}

void ssh_escape(const void *p, size_t len, char *out, size_t out_size)
{
	const unsigned char *s = p;
	size_t o = 0;

	if (!out_size)
		return;
	for (size_t i = 0; i < len; i++) {
		char tmp[8];
		unsigned char c = s[i];

		switch (c) {
		case '\r': snprintf(tmp, sizeof(tmp), "\\r"); break;
		case '\n': snprintf(tmp, sizeof(tmp), "\\n"); break;
		case '\t': snprintf(tmp, sizeof(tmp), "\\t"); break;
		case '\\': snprintf(tmp, sizeof(tmp), "\\\\"); break;
		case '"': snprintf(tmp, sizeof(tmp), "\\\""); break;
		default:
			if (c >= 0x20 && c < 0x7f)
				snprintf(tmp, sizeof(tmp), "%c", c);
			else
				snprintf(tmp, sizeof(tmp), "\\x%02x", c);
		}
		if (o + strlen(tmp) + 1 > out_size)
			break;
		memcpy(out + o, tmp, strlen(tmp));
		o += strlen(tmp);
	}
	out[o] = '\0';
}

/* ==================================================================================== */
/* Keys                                                                                 */
/* ==================================================================================== */

static int b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes base64 (white space ignored, stops at '=' or the end).  Returns the length,
 * or -1 on a bad character or when out is too small. */
static long b64_decode(const char *in, size_t len, unsigned char *out, size_t n)
{
	unsigned acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int v;

		if (isspace((unsigned char)in[i]))
			continue;
		if (in[i] == '=')
			break;
		v = b64_value((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= n)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return (long)o;
}

/* An SSH "string" (RFC 4251 §5): uint32 length, bytes. */
static int get_string(const unsigned char **p, const unsigned char *end, const unsigned char **s,
		      size_t *len)
{
	uint32_t l;

	if (end - *p < 4)
		return MD_EPARSE;
	l = (uint32_t)(*p)[0] << 24 | (uint32_t)(*p)[1] << 16 | (uint32_t)(*p)[2] << 8 | (*p)[3];
	*p += 4;
	if ((size_t)(end - *p) < l)
		return MD_EPARSE;
	*s = *p;
	*len = l;
	*p += l;
	return MD_OK;
}

int ssh_blob_type(const unsigned char *blob, size_t len, char *out, size_t n)
{
	const unsigned char *p = blob, *s;
	size_t l;

	if (get_string(&p, blob + len, &s, &l) || l == 0 || l >= n)
		return MD_EPARSE;
	memcpy(out, s, l);
	out[l] = '\0';
	return MD_OK;
}

int ssh_key_info(const char *text, size_t len, struct ssh_keyinfo *ki)
{
	static const char oss_begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
	static const char oss_end[] = "-----END OPENSSH PRIVATE KEY-----";
	static const struct { const char *begin, *type; } pem[] = {
		{ "-----BEGIN RSA PRIVATE KEY-----", "ssh-rsa" },
		{ "-----BEGIN DSA PRIVATE KEY-----", "ssh-dss" },
		{ "-----BEGIN EC PRIVATE KEY-----", "ecdsa" },
		{ "-----BEGIN PRIVATE KEY-----", "unknown" },
		{ "-----BEGIN ENCRYPTED PRIVATE KEY-----", "unknown" },
	};
	const char *b, *e;

	memset(ki, 0, sizeof(*ki));
	snprintf(ki->type, sizeof(ki->type), "unknown");
	b = memmem(text, len, oss_begin, sizeof(oss_begin) - 1);
	if (b) {
		/* PROTOCOL.key in OpenSSH: "openssh-key-v1\0", string ciphername, string kdfname,
		 * string kdfoptions, uint32 nkeys, string publickey, ... — the public part and
		 * the cipher name are never encrypted. */
		unsigned char *raw;
		const unsigned char *p, *end, *s;
		size_t l;
		long n;
		int rc = MD_EPARSE;

		b += sizeof(oss_begin) - 1;
		e = memmem(b, len - (size_t)(b - text), oss_end, sizeof(oss_end) - 1);
		if (!e)
			return MD_EPARSE;
		raw = malloc((size_t)(e - b));
		if (!raw)
			return MD_ENOMEM;
		n = b64_decode(b, (size_t)(e - b), raw, (size_t)(e - b));
		if (n < 15 || memcmp(raw, "openssh-key-v1", 15) != 0)
			goto out;
		p = raw + 15;
		end = raw + n;
		if (get_string(&p, end, &s, &l))
			goto out;
		ki->encrypted = !(l == 4 && memcmp(s, "none", 4) == 0);
		if (get_string(&p, end, &s, &l) || get_string(&p, end, &s, &l) || end - p < 4)
			goto out;
		p += 4;
		if (get_string(&p, end, &s, &l))
			goto out;
		if (ssh_blob_type(s, l, ki->type, sizeof(ki->type)))
			goto out;
		rc = MD_OK;
out:
		free(raw);
		return rc;
	}
	for (size_t i = 0; i < sizeof(pem) / sizeof(pem[0]); i++) {
		if (!memmem(text, len, pem[i].begin, strlen(pem[i].begin)))
			continue;
		snprintf(ki->type, sizeof(ki->type), "%s", pem[i].type);
		ki->encrypted = memmem(text, len, "Proc-Type: 4,ENCRYPTED", 22) != NULL ||
				strstr(pem[i].begin, "ENCRYPTED") != NULL;
		return MD_OK;
	}
	return MD_EPARSE;
}

int ssh_fingerprint(const unsigned char *blob, size_t len, char *out, size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	int l;

	if (!EVP_Digest(blob, len, md, &md_len, EVP_sha256(), NULL))
		return MD_EIO;
	l = EVP_EncodeBlock((unsigned char *)b64, md, (int)md_len);
	while (l > 0 && b64[l - 1] == '=')
		b64[--l] = '\0';
	if ((size_t)snprintf(out, n, "SHA256:%s", b64) >= n)
		return MD_ETOOBIG;
	return MD_OK;
}

/* ==================================================================================== */
/* known_hosts                                                                          */
/* ==================================================================================== */

static const struct {
	int hostkey_type; /* LIBSSH2_HOSTKEY_TYPE_* */
	int kh_type;      /* LIBSSH2_KNOWNHOST_KEY_* */
	const char *name;
} key_types[] = {
	{ LIBSSH2_HOSTKEY_TYPE_RSA, LIBSSH2_KNOWNHOST_KEY_SSHRSA, "ssh-rsa" },
	{ LIBSSH2_HOSTKEY_TYPE_DSS, LIBSSH2_KNOWNHOST_KEY_SSHDSS, "ssh-dss" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_256, "ecdsa-sha2-nistp256" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_384, LIBSSH2_KNOWNHOST_KEY_ECDSA_384, "ecdsa-sha2-nistp384" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_ECDSA_521, "ecdsa-sha2-nistp521" },
	{ LIBSSH2_HOSTKEY_TYPE_ED25519, LIBSSH2_KNOWNHOST_KEY_ED25519, "ssh-ed25519" },
};

static int key_type_index(int hostkey_type)
{
	for (size_t i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
		if (key_types[i].hostkey_type == hostkey_type)
			return (int)i;
	return -1;
}

void ssh_known_hosts_name(const char *host, int port, char *out, size_t n)
{
	/* OpenSSH writes the bare name for the default port, else "[name]:port"
	 * (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"). */
	if (port == 22 || port <= 0)
		snprintf(out, n, "%s", host);
	else
		snprintf(out, n, "[%s]:%d", host, port);
}

#define KNOWN_HOSTS_MAX (4u * 1024 * 1024)

static int read_small_file(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? MD_ENOTFOUND : MD_EIO;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size > max) {
		close(fd);
		return MD_ETOOBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return MD_ENOMEM;
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n < 0) {
		free(buf);
		return MD_EIO;
	}
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	return MD_OK;
}

static void note(char *notes, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(char *notes, size_t n, const char *fmt, ...)
{
	size_t used = strlen(notes);
	va_list ap;

	if (used + 3 >= n)
		return;
	if (used)
		used += (size_t)snprintf(notes + used, n - used, "; ");
	va_start(ap, fmt);
	vsnprintf(notes + used, n - used, fmt, ap);
	va_end(ap);
}

/* The base64 key field of a known_hosts line ("[@marker] names type key [comment]"). */
static void line_key_fingerprint(const char *line, char *out, size_t n)
{
	char copy[16384];
	char *save = NULL, *tok, *fields[3];
	int k = 0;
	unsigned char raw[8192];
	long len;

	snprintf(copy, sizeof(copy), "%s", line);
	for (tok = strtok_r(copy, " \t", &save); tok && k < 3; tok = strtok_r(NULL, " \t", &save))
		fields[k++] = tok;
	out[0] = '\0';
	if (k < 3)
		return;
	len = b64_decode(fields[2], strlen(fields[2]), raw, sizeof(raw));
	if (len > 0)
		ssh_fingerprint(raw, (size_t)len, out, n);
}

/* Checks one file.  *status is MATCH / CHANGED / UNKNOWN for this file alone. */
static int check_file(LIBSSH2_SESSION *tmp, const char *file, const char *name,
		      const unsigned char *key, size_t key_len, int kh_type,
		      enum ssh_hostkey_status *status, int *line_out, char *known_fp, size_t fp_len,
		      char *notes, size_t notes_len)
{
	LIBSSH2_KNOWNHOSTS *kh;
	struct libssh2_knownhost *found = NULL, *it = NULL, *prev = NULL;
	char *text, *p;
	size_t len, added = 0, skipped = 0, cap = 64;
	int *line_of = NULL, lineno = 1, rc;
	char **line_text = NULL;

	*status = SSH_HOSTKEY_UNKNOWN;
	*line_out = 0;
	rc = read_small_file(file, KNOWN_HOSTS_MAX, &text, &len);
	if (rc == MD_ENOTFOUND) {
		note(notes, notes_len, "%s: not found", file);
		return MD_OK;
	}
	if (rc) {
		note(notes, notes_len, "%s: %s", file, rc == MD_ETOOBIG ? "too large" : strerror(errno));
		return MD_OK;
	}
	kh = libssh2_knownhost_init(tmp);
	line_of = malloc(cap * sizeof(*line_of));
	line_text = malloc(cap * sizeof(*line_text));
	if (!kh || !line_of || !line_text) {
		rc = MD_ENOMEM;
		goto out;
	}
	/* Line by line rather than libssh2_knownhost_readfile(), which stops at the first
	 * line it cannot parse (an @cert-authority marker, a key type it does not know) and
	 * silently ignores the rest of the file. */
	for (char *next = text; next && *next; lineno++) {
		char *nl = strchr(next, '\n');
		size_t l;

		p = next;
		if (nl)
			*nl = '\0';
		next = nl ? nl + 1 : NULL;
		while (*p == ' ' || *p == '\t')
			p++;
		l = strlen(p);
		while (l && (p[l - 1] == '\r' || p[l - 1] == ' '))
			p[--l] = '\0';
		if (!l || *p == '#')
			continue;
		if (*p == '@' ||
		    libssh2_knownhost_readline(kh, p, l, LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0) {
			skipped++;
			continue;
		}
		if (added == cap) {
			int *nl = realloc(line_of, 2 * cap * sizeof(*nl));
			char **nt = nl ? realloc(line_text, 2 * cap * sizeof(*nt)) : NULL;

			if (nl)
				line_of = nl;
			if (!nt) {
				rc = MD_ENOMEM;
				goto out;
			}
			line_text = nt;
			cap *= 2;
		}
		line_of[added] = lineno;
		line_text[added] = p;
		added++;
	}
	if (skipped)
		note(notes, notes_len, "%s: %zu line(s) skipped (markers or key types libssh2 cannot read)",
		     file, skipped);
	/* The exact name OpenSSH would look up: port -1 so that libssh2 does not also
	 * try the bare host name for a non-default port (OpenSSH does not). */
	rc = libssh2_knownhost_checkp(kh, name, -1, (const char *)key, key_len,
				      LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
					      kh_type,
				      &found);
	if (rc == LIBSSH2_KNOWNHOST_CHECK_MATCH || rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH) {
		size_t idx = 0;

		*status = rc == LIBSSH2_KNOWNHOST_CHECK_MATCH ? SSH_HOSTKEY_MATCH : SSH_HOSTKEY_CHANGED;
		while (found && libssh2_knownhost_get(kh, &it, prev) == 0) {
			if (it == found && idx < added) {
				*line_out = line_of[idx];
				if (*status == SSH_HOSTKEY_CHANGED)
					line_key_fingerprint(line_text[idx], known_fp, fp_len);
				break;
			}
			prev = it;
			idx++;
		}
	}
	rc = MD_OK;
out:
	if (kh)
		libssh2_knownhost_free(kh);
	free(line_of);
	free(line_text);
	free(text);
	return rc;
}

int ssh_known_hosts_check(const char *const *files, size_t n, const char *host, int port,
			  const unsigned char *key, size_t key_len, int key_type,
			  struct ssh_kh_result *r, struct md_err *err)
{
	LIBSSH2_SESSION *tmp;
	char name[300];
	int ti = key_type_index(key_type), rc = MD_OK;
	bool changed = false;

	memset(r, 0, sizeof(*r));
	r->status = SSH_HOSTKEY_UNKNOWN;
	if (ti < 0)
		return md_err_set(err, MD_EINVAL, "known_hosts", "host key type %d unknown", key_type);
	/* libssh2's known-hosts collection hangs off a session; a throw-away one keeps this
	 * usable before (and without) a connection. */
	tmp = libssh2_session_init();
	if (!tmp)
		return md_err_set(err, MD_ENOMEM, "known_hosts", "libssh2_session_init failed");
	ssh_known_hosts_name(host, port, name, sizeof(name));
	for (size_t i = 0; i < n; i++) {
		enum ssh_hostkey_status st;
		char fp[80] = "";
		int line;

		rc = check_file(tmp, files[i], name, key, key_len, key_types[ti].kh_type, &st, &line,
				fp, sizeof(fp), r->notes, sizeof(r->notes));
		if (rc) {
			md_err_set(err, rc, "known_hosts", "%s: %s", files[i], md_status_name(rc));
			break;
		}
		/* As OpenSSH: a matching key in any file is a match; otherwise the first file
		 * holding another key of this type for the name makes it "changed". */
		if (st == SSH_HOSTKEY_MATCH) {
			r->status = SSH_HOSTKEY_MATCH;
			snprintf(r->file, sizeof(r->file), "%s", files[i]);
			r->line = line;
			r->known_fp[0] = '\0';
			break;
		}
		if (st == SSH_HOSTKEY_CHANGED && !changed) {
			changed = true;
			r->status = SSH_HOSTKEY_CHANGED;
			snprintf(r->file, sizeof(r->file), "%s", files[i]);
			r->line = line;
			snprintf(r->known_fp, sizeof(r->known_fp), "%s", fp);
		}
	}
	libssh2_session_free(tmp);
	return rc;
}

static int mkdirs(char *path, mode_t mode)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, mode) < 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int ssh_known_hosts_add(const char *file, const char *host, int port, const unsigned char *key,
			size_t key_len, int key_type, struct md_err *err)
{
	int ti = key_type_index(key_type), fd, rc = MD_OK;
	char name[300], dir[PATH_MAX], *slash, *b64 = NULL, last = '\n';
	struct stat st;
	FILE *fp;

	if (ti < 0)
		return md_err_set(err, MD_EINVAL, "known_hosts", "host key type %d unknown", key_type);
	snprintf(dir, sizeof(dir), "%s", file);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (stat(dir, &st) < 0 && mkdirs(dir, 0700) < 0)
			return md_err_set(err, MD_EIO, "known_hosts", "mkdir %s: %s", dir,
					  strerror(errno));
	}
	fd = open(file, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return md_err_set(err, MD_EIO, "known_hosts", "open %s: %s", file, strerror(errno));
	if (fstat(fd, &st) == 0 && st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)
		last = '\n';
	b64 = malloc(4 * ((key_len + 2) / 3) + 1);
	fp = b64 ? fdopen(fd, "a") : NULL;
	if (!fp) {
		close(fd);
		free(b64);
		return md_err_set(err, MD_ENOMEM, "known_hosts", "out of memory");
	}
	EVP_EncodeBlock((unsigned char *)b64, key, (int)key_len);
	ssh_known_hosts_name(host, port, name, sizeof(name));
	fprintf(fp, "%s%s %s %s\n", last == '\n' ? "" : "\n", name, key_types[ti].name, b64);
	if (fclose(fp) != 0)
		rc = md_err_set(err, MD_EIO, "known_hosts", "write %s: %s", file, strerror(errno));
	free(b64);
	return rc;
}

/* ==================================================================================== */
/* On the host: OS and sudo                                                             */
/* ==================================================================================== */

const char *ssh_os_from_uname(const char *out, char *buf, size_t n)
{
	size_t l = 0;

	while (*out && isspace((unsigned char)*out))
		out++;
	if (!*out || n == 0)
		return NULL;
	if (strncmp(out, "Linux", 5) == 0)
		return snprintf(buf, n, "linux"), buf;
	if (strncmp(out, "Darwin", 6) == 0)
		return snprintf(buf, n, "darwin"), buf;
	/* Git Bash, MSYS2 and Cygwin on Windows answer MINGW64_NT-10.0-19045 etc. */
	if (strncmp(out, "MINGW", 5) == 0 || strncmp(out, "MSYS", 4) == 0 ||
	    strncmp(out, "CYGWIN", 6) == 0)
		return snprintf(buf, n, "windows"), buf;
	while (out[l] && (isalnum((unsigned char)out[l]) || out[l] == '_' || out[l] == '-') &&
	       l + 1 < n) {
		buf[l] = (char)tolower((unsigned char)out[l]);
		l++;
	}
	buf[l] = '\0';
	return l ? buf : NULL;
}

const char *ssh_sudo_classify(int exit_status, const char *e)
{
	if (exit_status == 0)
		return "nopasswd";
	/* sudo(8): -n "non-interactive: ... if a password is required for the command to run,
	 * sudo will display an error message and exit".  A user with no sudoers entry gets
	 * the same message. */
	if (strstr(e, "a password is required") || strstr(e, "a terminal is required"))
		return "password";
	if (exit_status == 127 || strstr(e, "sudo: not found") ||
	    strstr(e, "sudo: command not found") || strstr(e, "No such file or directory"))
		return "absent";
	if (strstr(e, "is not in the sudoers file") || strstr(e, "is not allowed to") ||
	    strstr(e, "may not run sudo"))
		return "denied";
	return "error";
}

/* First line of a command's output, for evidence. */
static void first_line(const char *s, char *out, size_t n)
{
	while (*s == '\r' || *s == '\n')
		s++;
	copy_span(out, n, s, strcspn(s, "\r\n"));
}

/* One round trip for both questions: every exec pays for the remote login shell's start-up
 * (a heavy ~/.bashrc costs hundreds of ms), so OS and sudo share a command.  `sh -c`
 * keeps it POSIX whatever the login shell is (fish and csh have no `$?`); LC_ALL=C keeps
 * sudo's messages in English for ssh_sudo_classify().  On Windows, cmd.exe and PowerShell
 * fail on `sh`, and `cmd /c ver` answers instead. */
#define HOST_CMD "sh -c 'uname -s; LC_ALL=C sudo -n true; echo \"md-sudo-exit:$?\"'"
#define SUDO_MARK "md-sudo-exit:"

int ssh_host_parse(const char *out, int *sudo_exit, char *uname_line, size_t n)
{
	const char *mark = strstr(out, SUDO_MARK);

	first_line(out, uname_line, n);
	if (strncmp(uname_line, SUDO_MARK, strlen(SUDO_MARK)) == 0)
		uname_line[0] = '\0';
	if (!mark || (mark != out && mark[-1] != '\n'))
		return MD_EPARSE;
	*sudo_exit = atoi(mark + strlen(SUDO_MARK));
	return MD_OK;
}

static void record_sudo(struct md_facts *f, int sudo_exit, struct md_buf *err)
{
	const char *v = ssh_sudo_classify(sudo_exit, md_buf_str(err));
	bool ok = strcmp(v, "nopasswd") == 0;

	md_buf_rstrip(err);
	md_fact_strf(f, P, "host.sudo", v, "`sudo -n true` exit %d%s%s", sudo_exit,
		     err->len ? ", stderr: " : "", md_buf_str(err));
	md_fact_check(f, "host.sudo", ok ? MD_CHECK_OK : MD_CHECK_WARN,
		      ok ? "sudo without a password" :
		      strcmp(v, "password") == 0 ? "sudo needs a password" :
		      strcmp(v, "absent") == 0 ? "sudo is not installed" :
		      strcmp(v, "denied") == 0 ? "sudo refuses this user" : "sudo: error");
}

int ssh_host_facts(struct md_session *s, bool banner_windows, struct md_facts *f,
		   const struct md_deadline *dl)
{
	struct md_exec x;
	struct md_err e = { 0 };
	char os_buf[64], line[256], uname_ev[600];
	const char *os = NULL;
	int rc, sudo_exit = -1;
	bool have_sudo = false;

	md_exec_init(&x);
	rc = md_session_exec(s, HOST_CMD, NULL, 0, &x, dl, &e);
	if (rc == MD_ETIMEOUT) {
		md_fact_str(f, P, "host.os", "unknown", e.msg);
		md_fact_check(f, "host.os", MD_CHECK_WARN, "OS detection: no answer");
		goto out;
	}
	if (rc == MD_OK && ssh_host_parse(md_buf_str(&x.out), &sudo_exit, line, sizeof(line)) == MD_OK &&
	    (os = ssh_os_from_uname(line, os_buf, sizeof(os_buf)))) {
		have_sudo = true;
		md_fact_strf(f, P, "host.os", os, "`uname -s` printed \"%s\"", line);
	} else {
		first_line(rc ? e.msg : md_buf_str(&x.err), line, sizeof(line));
		snprintf(uname_ev, sizeof(uname_ev), "`uname -s` (via sh) exit %d: %s", x.exit_status, line);
		/* Windows' default shell (cmd.exe or PowerShell) has no sh or uname, but
		 * `cmd /c ver` works from both. */
		md_err_clear(&e);
		rc = md_session_exec(s, "cmd /c ver", NULL, 0, &x, dl, &e);
		if (rc == MD_OK && x.exit_status == 0 && strstr(md_buf_str(&x.out), "Windows")) {
			os = "windows";
			first_line(md_buf_str(&x.out), line, sizeof(line));
			md_fact_strf(f, P, "host.os", os, "%s; `cmd /c ver` printed \"%s\"", uname_ev,
				     line);
		} else if (banner_windows) {
			os = "windows";
			md_fact_strf(f, P, "host.os", os, "%s; the banner names OpenSSH_for_Windows",
				     uname_ev);
		} else {
			md_fact_strf(f, P, "host.os", "unknown", "%s; `cmd /c ver` did not answer either",
				     uname_ev);
			md_fact_check(f, "host.os", MD_CHECK_WARN, "OS detection: unknown");
			goto out;
		}
	}
	md_session_set_os(s, os);
	snprintf(line, sizeof(line), "OS: %s", os);
	md_fact_check(f, "host.os", MD_CHECK_OK, line);
	/* sudo matters where provisioning runs it: Linux and other Unix hosts. */
	if (strcmp(os, "windows") != 0 && have_sudo)
		record_sudo(f, sudo_exit, &x.err);
out:
	md_exec_cleanup(&x);
	return MD_OK;
}

/* ==================================================================================== */
/* The probe                                                                            */
/* ==================================================================================== */

/* How long to wait for the server to speak first before letting libssh2 send our own
 * identification: SSH servers send theirs on accept (RFC 4253 §4.2), while some other
 * protocols (HTTP) stay silent until the client speaks, as `ssh` does at once. */
#define BANNER_PEEK_MS 1000
/* After a line that is not "SSH-", how long an SSH line may still take to follow. */
#define BANNER_GRACE_MS 500

enum banner_outcome { BANNER_OK, BANNER_SILENT, BANNER_NOT_SSH, BANNER_CLOSED, BANNER_NONE };

/* Peeks at what the server sends first (MSG_PEEK: the bytes stay for libssh2), and
 * consumes the lines before the "SSH-" line, which libssh2 1.10 would take for the
 * banner.  BANNER_SILENT: nothing arrived within BANNER_PEEK_MS. */
static enum banner_outcome peek_banner(int fd, const struct md_deadline *dl, char *line,
				       size_t line_n, char *first, size_t first_n)
{
	char buf[BANNER_PREAMBLE_MAX + BANNER_LINE_MAX];
	struct md_deadline quiet = md_deadline_min(*dl, md_deadline_after(md_now_ms(), BANNER_PEEK_MS));
	int64_t grace_end = 0;
	ssize_t have = 0, n;
	char pre[64];
	size_t pre_len = 0;

	line[0] = first[0] = '\0';
	bool other = false;

	for (;;) {
		size_t skip, l;
		enum ssh_scan sc;

		if (have == 0) {
			int prc = md_net_wait(fd, POLLIN, &quiet);

			if (prc == MD_ETIMEOUT)
				return md_deadline_left_ms(dl) <= 0 ? BANNER_NONE : BANNER_SILENT;
		} else {
			/* Peeked data stays readable, so wait for more with a short tick; a peer
			 * that already closed its side (POLLRDHUP) will send nothing more. */
			struct md_deadline tick = md_deadline_min(*dl, md_deadline_after(md_now_ms(), 20));
			struct pollfd p = { .fd = fd, .events = POLLRDHUP };

			if (poll(&p, 1, md_deadline_poll_ms(&tick)) > 0) {
				ssh_escape(buf, (size_t)(have < 64 ? have : 64), first, first_n);
				return other ? BANNER_NOT_SSH : BANNER_CLOSED;
			}
		}
		n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			n = have;
		} else if (n <= 0) {
			if (have || pre_len) {
				ssh_escape(pre_len ? pre : buf, pre_len ? pre_len : (size_t)have, first,
					   first_n);
				return BANNER_NOT_SSH;
			}
			snprintf(first, first_n, "%s", n == 0 ? "connection closed" : strerror(errno));
			return BANNER_CLOSED;
		}
		have = n;
		sc = ssh_banner_scan(buf, (size_t)have, &skip, &l, &other);
		if (sc == SSH_SCAN_BANNER) {
			copy_span(line, line_n, buf + skip, l);
			if (skip) {
				/* RFC 4253 §4.2 allows these lines; hand libssh2 the SSH- line. */
				if (!pre_len) {
					pre_len = skip < sizeof(pre) ? skip : sizeof(pre);
					memcpy(pre, buf, pre_len);
				}
				if (recv(fd, buf, skip, 0) != (ssize_t)skip)
					return BANNER_CLOSED;
				ssh_escape(pre, pre_len, first, first_n);
			}
			return BANNER_OK;
		}
		if (sc == SSH_SCAN_NOT_SSH || (other && grace_end && md_now_ms() >= grace_end)) {
			ssh_escape(buf, (size_t)(have < 64 ? have : 64), first, first_n);
			return BANNER_NOT_SSH;
		}
		if (other && !grace_end)
			grace_end = md_now_ms() + BANNER_GRACE_MS;
		if (md_deadline_left_ms(dl) <= 0) {
			ssh_escape(buf, (size_t)(have < 64 ? have : 64), first, first_n);
			return other ? BANNER_NOT_SSH : BANNER_NONE;
		}
	}
}

static void format_addr(const char *host, int port, char *out, size_t n)
{
	if (strchr(host, ':'))
		snprintf(out, n, "[%s]:%d", host, port);
	else
		snprintf(out, n, "%s:%d", host, port);
}

static const char *tcp_value(int rc, const struct md_err *e)
{
	switch (rc) {
	case MD_EREFUSED: return "refused";
	case MD_ETIMEOUT:
		/* A lookup still running at the deadline: the name server did not answer, which
		 * says nothing about whether the name exists. */
		return md_net_resolve_timed_out(rc, e) ? "resolve-timeout" : "timeout";
	case MD_EUNREACH:
	case MD_EPERM: return "unreachable";
	case MD_ERESOLVE: return "no-such-host";
	}
	return "error";
}

/* Loops a non-blocking libssh2 call until it stops saying EAGAIN or the deadline passes. */
#define SSH_STEP(rc, ms, dl, call)                                                        \
	do {                                                                              \
		while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN)                           \
			if (md_session_wait((ms), (dl))) {                                \
				(rc) = LIBSSH2_ERROR_TIMEOUT;                             \
				break;                                                    \
			}                                                                 \
	} while (0)

static const char *ssh_error(LIBSSH2_SESSION *ssh)
{
	char *msg = NULL;

	libssh2_session_last_error(ssh, &msg, NULL, 0);
	return msg && *msg ? msg : "unknown libssh2 error";
}

/* ---- Authentication ---- */

struct auth_run {
	int tried, tried_rsa;
	char keys[1024];      /* what was offered, for evidence */
	char skipped[1024];   /* identity files not offered, and why */
	char encrypted[1024]; /* passphrase-protected files */
	char last[256];       /* libssh2's last refusal */
	char method[600];     /* on success: "agent" or "publickey:<file>" */
	char method_ev[600];
};

static bool denial(int rc)
{
	return rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED || rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED;
}

static void tried(struct auth_run *ar, const char *what, const char *type)
{
	ar->tried++;
	if (strcmp(type, "ssh-rsa") == 0)
		ar->tried_rsa++;
	note(ar->keys, sizeof(ar->keys), "%s (%s)", what, type);
}

/* The agent's keys.  libssh2 1.10's agent code is driven in blocking mode, bounded by
 * libssh2_session_set_timeout(left) before each call.  MD_OK (logged in), MD_EAUTH (all
 * refused or none), MD_ETIMEOUT, MD_EIO. */
static int auth_agent(struct md_session *ms, const char *user, const struct md_deadline *dl,
		      struct auth_run *ar)
{
	LIBSSH2_SESSION *ssh = md_session_ssh(ms);
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	const char *sock = getenv("SSH_AUTH_SOCK");
	LIBSSH2_AGENT *ag;
	int result = MD_EAUTH;

	if (!sock || !*sock)
		return MD_EAUTH;
	ag = libssh2_agent_init(ssh);
	if (!ag)
		return MD_EAUTH;
	libssh2_session_set_blocking(ssh, 1);
	if (libssh2_agent_connect(ag) || libssh2_agent_list_identities(ag)) {
		note(ar->skipped, sizeof(ar->skipped), "agent %s: %s", sock, ssh_error(ssh));
		goto out;
	}
	while (libssh2_agent_get_identity(ag, &id, prev) == 0) {
		int64_t left = md_deadline_left_ms(dl);
		char type[48] = "unknown", what[300];
		int rc;

		if (left <= 0) {
			result = MD_ETIMEOUT;
			break;
		}
		libssh2_session_set_timeout(ssh, left > LONG_MAX / 2 ? 0 : (long)left);
		ssh_blob_type(id->blob, id->blob_len, type, sizeof(type));
		snprintf(what, sizeof(what), "agent key %s", id->comment ? id->comment : "");
		tried(ar, what, type);
		rc = libssh2_agent_userauth(ag, user, id);
		if (rc == 0) {
			snprintf(ar->method, sizeof(ar->method), "agent");
			snprintf(ar->method_ev, sizeof(ar->method_ev), "%s (%s) accepted for %s", what,
				 type, user);
			result = MD_OK;
			break;
		}
		if (rc == LIBSSH2_ERROR_TIMEOUT) {
			result = MD_ETIMEOUT;
			break;
		}
		snprintf(ar->last, sizeof(ar->last), "%s", ssh_error(ssh));
		if (!denial(rc) && rc != LIBSSH2_ERROR_AGENT_PROTOCOL) {
			result = MD_EIO;
			break;
		}
		prev = id;
	}
out:
	libssh2_agent_disconnect(ag);
	libssh2_agent_free(ag);
	libssh2_session_set_timeout(ssh, 0);
	libssh2_session_set_blocking(ssh, 0);
	return result;
}

static const char *user_of(const struct md_target *t)
{
	return t->user && *t->user ? t->user : "root";
}

/* The target's identity files, in order. */
static int auth_files(struct md_session *ms, const struct md_target *t,
		      const struct md_deadline *dl, struct auth_run *ar)
{
	LIBSSH2_SESSION *ssh = md_session_ssh(ms);

	for (size_t i = 0; i < t->n_identities; i++) {
		const char *file = t->identities[i];
		struct ssh_keyinfo ki;
		char pub[PATH_MAX], *text = NULL, what[PATH_MAX + 16];
		size_t len;
		int rc;

		rc = read_small_file(file, 1024 * 1024, &text, &len);
		if (rc) {
			/* OpenSSH silently skips the default identity files that do not exist. */
			if (rc != MD_ENOTFOUND || t->identities_explicit)
				note(ar->skipped, sizeof(ar->skipped), "%s: %s", file,
				     rc == MD_ENOTFOUND ? "not found" : "unreadable");
			continue;
		}
		if (ssh_key_info(text, len, &ki) != MD_OK)
			snprintf(ki.type, sizeof(ki.type), "unknown");
		free(text);
		if (ki.encrypted) {
			/* meshdoctor never asks for a passphrase (BatchMode=yes, seeds/002). */
			note(ar->encrypted, sizeof(ar->encrypted), "%s", file);
			continue;
		}
		snprintf(pub, sizeof(pub), "%s.pub", file);
		if (access(pub, R_OK) != 0)
			pub[0] = '\0';
		snprintf(what, sizeof(what), "%s", file);
		/* An empty passphrase, never NULL: libssh2's OpenSSL callback calls strlen() on it. */
		SSH_STEP(rc, ms, dl,
			 libssh2_userauth_publickey_fromfile_ex(ssh, user_of(t), (unsigned)strlen(user_of(t)),
								pub[0] ? pub : NULL, file, ""));
		if (rc == 0) {
			tried(ar, what, ki.type);
			snprintf(ar->method, sizeof(ar->method), "publickey:%s", file);
			snprintf(ar->method_ev, sizeof(ar->method_ev), "key %s (%s) accepted for %s",
				 file, ki.type, user_of(t));
			return MD_OK;
		}
		if (rc == LIBSSH2_ERROR_TIMEOUT)
			return MD_ETIMEOUT;
		if (rc == LIBSSH2_ERROR_FILE) {
			note(ar->skipped, sizeof(ar->skipped), "%s: %s", file, ssh_error(ssh));
			continue;
		}
		snprintf(ar->last, sizeof(ar->last), "%s", ssh_error(ssh));
		if (!denial(rc))
			return MD_EIO;
		tried(ar, what, ki.type);
	}
	return MD_EAUTH;
}

/* libssh2 before 1.11 signs user authentication with RSA keys as "ssh-rsa" (SHA-1) only;
 * OpenSSH 8.8 and later refuse that signature by default (OpenSSH 8.8 release notes,
 * PubkeyAcceptedAlgorithms: sshd logs "signature algorithm ssh-rsa not in
 * PubkeyAcceptedAlgorithms"). */
static bool libssh2_rsa_sha1_only(void)
{
	return libssh2_version(0x010b00) == NULL;
}

static void record_auth(struct md_facts *f, const struct md_target *t, const struct ssh_banner *b,
			bool have_banner, int rc, const char *methods, struct auth_run *ar,
			const char *error_text)
{
	char label[700];

	if (ar->encrypted[0])
		md_fact_strf(f, P, "ssh.identity_encrypted", ar->encrypted,
			     "passphrase-protected, not offered (meshdoctor never prompts): %s",
			     ar->encrypted);
	md_fact_int(f, P, "ssh.auth_keys_tried", ar->tried, ar->keys[0] ? ar->keys : "no key offered");
	if (methods)
		md_fact_str(f, P, "ssh.auth_methods_offered", methods,
			    "libssh2_userauth_list: the methods the server lets this user try");
	if (rc == MD_OK) {
		md_fact_str(f, P, "ssh.auth", "ok", ar->method_ev);
		md_fact_str(f, P, "ssh.auth_method", ar->method, ar->method_ev);
		snprintf(label, sizeof(label), "Logged in as %s (%s)", user_of(t), ar->method);
		md_fact_check(f, "ssh.auth", MD_CHECK_OK, label);
		return;
	}
	if (rc == MD_EAUTH) {
		bool trap = ar->tried > 0 && ar->tried_rsa == ar->tried && have_banner &&
			    ssh_openssh_at_least(b, 8, 8) && libssh2_rsa_sha1_only();

		md_fact_strf(f, P, "ssh.auth", "denied", "%s refused %s: %s%s%s",
			     b->software[0] ? b->software : "the server", user_of(t),
			     ar->keys[0] ? ar->keys : "no key to offer",
			     ar->last[0] ? "; libssh2: " : "", ar->last);
		if (ar->skipped[0])
			md_fact_str(f, P, "ssh.auth_skipped", ar->skipped, "identity files not offered");
		if (trap) {
			char ev[1600];

			snprintf(ev, sizeof(ev),
				 "only RSA keys were offered (%s); libssh2 %s signs them with ssh-rsa "
				 "(SHA-1), which %s (OpenSSH >= 8.8) refuses by default",
				 ar->keys, libssh2_version(0), b->software);
			md_fact_bool(f, P, "ssh.auth_rsa_sha1_only", true, ev);
		} else {
			md_fact_bool(f, P, "ssh.auth_rsa_sha1_only", false,
				     "a non-RSA key was offered, no key was, or the server is not "
				     "OpenSSH >= 8.8");
		}
		snprintf(label, sizeof(label), "Authentication as %s denied", user_of(t));
		md_fact_check(f, "ssh.auth", MD_CHECK_FAIL, label);
		return;
	}
	md_fact_str(f, P, "ssh.auth", "error", error_text);
	snprintf(label, sizeof(label), "Authentication as %s did not complete", user_of(t));
	md_fact_check(f, "ssh.auth", MD_CHECK_FAIL, label);
}

static int authenticate(struct md_session *ms, const struct md_target *t,
			const struct md_deadline *dl, struct md_facts *f,
			const struct ssh_banner *b, bool have_banner)
{
	LIBSSH2_SESSION *ssh = md_session_ssh(ms);
	const char *user = user_of(t);
	struct auth_run *ar = calloc(1, sizeof(*ar));
	char *methods = NULL, err_text[1400] = "";
	int rc = MD_EAUTH;

	if (!ar)
		return MD_ENOMEM;
	/* The "none" request: the server answers with the methods it allows. */
	for (;;) {
		const char *list = libssh2_userauth_list(ssh, user, (unsigned)strlen(user));

		if (list) {
			methods = strdup(list);
			break;
		}
		if (libssh2_userauth_authenticated(ssh)) {
			snprintf(ar->method, sizeof(ar->method), "none");
			snprintf(ar->method_ev, sizeof(ar->method_ev), "the server let %s in without a key", user);
			rc = MD_OK;
			goto done;
		}
		if (libssh2_session_last_errno(ssh) != LIBSSH2_ERROR_EAGAIN) {
			snprintf(err_text, sizeof(err_text), "userauth list for %s: %s", user, ssh_error(ssh));
			rc = MD_EIO;
			goto done;
		}
		if (md_session_wait(ms, dl)) {
			snprintf(err_text, sizeof(err_text), "userauth list for %s: no answer before the deadline", user);
			rc = MD_ETIMEOUT;
			goto done;
		}
	}
	if (!methods) {
		rc = MD_ENOMEM;
		goto done;
	}
	if (!strstr(methods, "publickey")) {
		snprintf(ar->last, sizeof(ar->last), "the server does not offer publickey");
		rc = MD_EAUTH;
		goto done;
	}
	/* Agent first, then identity files: the order `ssh` uses. */
	rc = auth_agent(ms, user, dl, ar);
	if (rc == MD_EAUTH)
		rc = auth_files(ms, t, dl, ar);
	if (rc == MD_ETIMEOUT)
		snprintf(err_text, sizeof(err_text), "authentication as %s: no answer before the deadline (offered: %s)",
			 user, ar->keys[0] ? ar->keys : "nothing yet");
	else if (rc == MD_EIO)
		snprintf(err_text, sizeof(err_text), "authentication as %s: %s", user, ar->last[0] ? ar->last : ssh_error(ssh));
done:
	if (rc == MD_ENOMEM) {
		free(methods);
		free(ar);
		return MD_ENOMEM;
	}
	record_auth(f, t, b, have_banner, rc, methods, ar, err_text);
	free(methods);
	free(ar);
	return rc;
}

/* ---- Steps ---- */

static void record_banner(struct md_facts *f, const char *line, struct ssh_banner *b,
			  const char *pre)
{
	char label[300];

	ssh_banner_parse(line, b);
	md_fact_str(f, P, "ssh.banner", line, "remote identification string (RFC 4253 §4.2)");
	if (pre && *pre)
		md_fact_strf(f, P, "ssh.banner_status", "ok",
			     "\"%s\" after other lines \"%s\"", line, pre);
	else
		md_fact_strf(f, P, "ssh.banner_status", "ok", "\"%s\"", line);
	md_fact_str(f, P, "ssh.server_software", b->software, line);
	md_fact_bool(f, P, "ssh.server_windows", b->windows, line);
	snprintf(label, sizeof(label), "SSH banner: %s", b->software);
	md_fact_check(f, "ssh.banner_status", MD_CHECK_OK, label);
}

static void record_no_banner(struct md_facts *f, enum banner_outcome bo, const char *addr,
			     const char *first, int64_t waited_ms)
{
	switch (bo) {
	case BANNER_NOT_SSH:
		md_fact_strf(f, P, "ssh.banner_status", "not-ssh", "%s sent \"%s\"", addr, first);
		md_fact_str(f, P, "ssh.first_bytes", first, "printable-escaped, at most 64 bytes");
		md_fact_check(f, "ssh.banner_status", MD_CHECK_FAIL, "SSH banner: not an SSH server");
		break;
	case BANNER_CLOSED:
		md_fact_strf(f, P, "ssh.banner_status", "closed",
			     "%s closed the connection before its banner (%s)", addr, first);
		md_fact_check(f, "ssh.banner_status", MD_CHECK_FAIL, "SSH banner: connection closed");
		break;
	default:
		md_fact_strf(f, P, "ssh.banner_status", "none",
			     "no identification string from %s in %lld ms%s%s%s", addr,
			     (long long)waited_ms, first[0] ? " (partial: \"" : "", first,
			     first[0] ? "\")" : "");
		md_fact_check(f, "ssh.banner_status", MD_CHECK_FAIL, "SSH banner: none before the deadline");
	}
}

/* MD_OK to go on to authentication; MD_EHOSTKEY for a changed key (never go on). */
static int check_host_key(struct md_session *ms, const struct md_target *t, const char *host_in,
			  int port, struct md_facts *f)
{
	LIBSSH2_SESSION *ssh = md_session_ssh(ms);
	struct ssh_kh_result kh;
	struct md_err e = { 0 };
	const unsigned char *key;
	char type[48] = "unknown", fp[80] = "", name[300], label[400];
	static const char *const global_kh[] = { "/etc/ssh/ssh_known_hosts",
						 "/etc/ssh/ssh_known_hosts2" };
	const char *files[MD_TARGET_MAX_FILES + 2];
	size_t len = 0, n_files = 0;
	int ktype = 0, rc;

	char host[256];

	/* ssh(1) lower-cases the host name before it looks it up in known_hosts. */
	snprintf(host, sizeof(host), "%s", host_in);
	for (char *p = host; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	key = (const unsigned char *)libssh2_session_hostkey(ssh, &len, &ktype);
	if (!key || ssh_blob_type(key, len, type, sizeof(type)) || ssh_fingerprint(key, len, fp, sizeof(fp))) {
		md_fact_str(f, P, "ssh.hostkey", "error", "libssh2_session_hostkey returned no key");
		md_fact_check(f, "ssh.hostkey", MD_CHECK_FAIL, "Host key: none");
		return MD_EHOSTKEY;
	}
	ssh_known_hosts_name(host, port, name, sizeof(name));
	md_fact_str(f, P, "ssh.hostkey_type", type, NULL);
	md_fact_str(f, P, "ssh.hostkey_fingerprint", fp, "SHA-256 of the key blob, as ssh-keygen -l prints");
	md_fact_str(f, P, "ssh.known_hosts_name", name, "the name OpenSSH looks up in known_hosts");
	/* The user's files, then the system-wide ones OpenSSH also reads
	 * (ssh_config(5) GlobalKnownHostsFile), when they exist. */
	for (size_t i = 0; i < t->n_known_hosts && n_files < MD_TARGET_MAX_FILES; i++)
		files[n_files++] = t->known_hosts[i];
	for (size_t i = 0; i < sizeof(global_kh) / sizeof(global_kh[0]); i++)
		if (access(global_kh[i], R_OK) == 0)
			files[n_files++] = global_kh[i];
	rc = ssh_known_hosts_check(files, n_files, host, port, key, len, ktype, &kh, &e);
	if (rc) {
		md_fact_str(f, P, "ssh.hostkey", "error", e.msg);
		md_fact_check(f, "ssh.hostkey", MD_CHECK_FAIL, "Host key: could not read known_hosts");
		return MD_EHOSTKEY;
	}
	switch (kh.status) {
	case SSH_HOSTKEY_MATCH:
		md_fact_strf(f, P, "ssh.hostkey", "match", "%s:%d: %s %s %s", kh.file, kh.line, name, type, fp);
		md_fact_check(f, "ssh.hostkey", MD_CHECK_OK, "Host key matches known_hosts");
		return MD_OK;
	case SSH_HOSTKEY_CHANGED:
		md_fact_strf(f, P, "ssh.hostkey", "changed",
			     "%s:%d holds %s %s for %s; the server presented %s", kh.file, kh.line,
			     type, kh.known_fp[0] ? kh.known_fp : "another key", name, fp);
		md_fact_str(f, P, "ssh.known_hosts_file", kh.file, NULL);
		md_fact_int(f, P, "ssh.known_hosts_line", kh.line, NULL);
		md_fact_str(f, P, "ssh.hostkey_known_fingerprint", kh.known_fp, NULL);
		md_fact_check(f, "ssh.hostkey", MD_CHECK_FAIL, "Host key CHANGED: authentication not attempted");
		return MD_EHOSTKEY;
	case SSH_HOSTKEY_UNKNOWN:
		break;
	}
	md_fact_strf(f, P, "ssh.hostkey", "unknown", "no entry for %s in %s%s%s", name,
		     t->n_known_hosts ? t->known_hosts[0] : "(no known_hosts file)",
		     kh.notes[0] ? "; " : "", kh.notes);
	/* StrictHostKeyChecking=accept-new (seeds/002): record a first-seen key, refuse
	 * only a changed one. */
	md_err_clear(&e);
	if (t->n_known_hosts &&
	    ssh_known_hosts_add(t->known_hosts[0], host, port, key, len, ktype, &e) == MD_OK) {
		md_fact_bool(f, P, "ssh.hostkey_added", true, NULL);
		md_fact_strf(f, P, "ssh.hostkey_added_to", t->known_hosts[0], "appended \"%s %s\" (%s)",
			     name, type, fp);
		snprintf(label, sizeof(label), "Host key was new: added to %s", t->known_hosts[0]);
	} else {
		md_fact_bool(f, P, "ssh.hostkey_added", false, e.msg[0] ? e.msg : "no known_hosts file");
		snprintf(label, sizeof(label), "Host key is new and could not be recorded");
	}
	md_fact_check(f, "ssh.hostkey", MD_CHECK_WARN, label);
	return MD_OK;
}

/* OpenSSH's own order (ssh_config(5) HostKeyAlgorithms): ed25519 first, so that the key
 * compared with known_hosts is the one `ssh` recorded there.  Only names this libssh2
 * supports are passed: libssh2 1.10 strips unknown ones with an overlapping memcpy. */
static void prefer_host_keys(LIBSSH2_SESSION *ssh)
{
	static const char *const order[] = { "ssh-ed25519", "ecdsa-sha2-nistp256",
					     "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
					     "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa" };
	const char **algs = NULL;
	char pref[256] = "";
	int n = libssh2_session_supported_algs(ssh, LIBSSH2_METHOD_HOSTKEY, &algs);

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		for (int j = 0; j < n; j++)
			if (strcmp(order[i], algs[j]) == 0) {
				if (pref[0])
					strcat(pref, ",");
				strcat(pref, order[i]);
			}
	if (n > 0)
		libssh2_free(ssh, (void *)algs);
	if (pref[0])
		libssh2_session_method_pref(ssh, LIBSSH2_METHOD_HOSTKEY, pref);
}

static int ssh_run(struct md_ctx *ctx, struct md_facts *f, struct md_err *err)
{
	const struct md_target *t = ctx->target;
	const struct md_deadline *dl = &ctx->deadline;
	const char *host = t->hostname ? t->hostname : t->host;
	int port = t->port > 0 ? t->port : 22;
	char addr[300], label[400], line[300], first[300], kex_ev[400];
	struct ssh_banner b;
	bool have_banner = false;
	enum banner_outcome bo;
	struct md_session *ms;
	struct md_addr peer;
	struct md_err e = { 0 };
	LIBSSH2_SESSION *ssh;
	const char *rb;
	int64_t t0;
	int fd = -1, rc;

	memset(&b, 0, sizeof(b));
	b.openssh_major = b.openssh_minor = -1;
	format_addr(host, port, addr, sizeof(addr));
	md_fact_str(f, P, "ssh.addr", addr, NULL);
	md_fact_str(f, P, "ssh.host", t->host ? t->host : host, NULL);
	md_fact_int(f, P, "ssh.port", port, NULL);
	md_fact_str(f, P, "ssh.user", user_of(t), NULL);

	/* TCP */
	snprintf(label, sizeof(label), "TCP connect to %s", addr);
	rc = md_net_connect_tcp(host, port, dl, &fd, &peer, &e);
	if (rc) {
		md_fact_str(f, P, "ssh.tcp", tcp_value(rc, &e), e.msg);
		md_fact_str(f, P, "ssh.tcp_error", e.msg, NULL);
		md_fact_check(f, "ssh.tcp", MD_CHECK_FAIL, label);
		/* No answer about the name: nothing was learnt about SSH, so the probe could
		 * not complete (check exits 3, "could not tell"). */
		if (md_net_resolve_timed_out(rc, &e))
			return md_err_set(err, rc, e.where, "%s", e.msg);
		return MD_OK;
	}
	md_fact_strf(f, P, "ssh.tcp", "connected", "connect %s: connected", peer.text);
	md_fact_check(f, "ssh.tcp", MD_CHECK_OK, label);

	/* Banner */
	t0 = md_now_ms();
	bo = peek_banner(fd, dl, line, sizeof(line), first, sizeof(first));
	if (bo == BANNER_OK) {
		record_banner(f, line, &b, first);
		have_banner = true;
	} else if (bo != BANNER_SILENT) {
		record_no_banner(f, bo, addr, first, md_now_ms() - t0);
		close(fd);
		return MD_OK;
	}

	/* Key exchange */
	ms = md_session_new_ssh(fd, err);
	if (!ms)
		return err->code;
	ssh = md_session_ssh(ms);
	prefer_host_keys(ssh);
	SSH_STEP(rc, ms, dl, libssh2_session_handshake(ssh, fd));
	rb = libssh2_session_banner_get(ssh);
	if (!have_banner) {
		/* The server waited for our identification (sent by libssh2). */
		if (rb && strncmp(rb, "SSH-", 4) == 0) {
			snprintf(line, sizeof(line), "%s", rb);
			record_banner(f, line, &b, NULL);
			have_banner = true;
		} else {
			const unsigned char *raw;
			size_t n_raw = md_session_first_bytes(ms, &raw);

			if (n_raw)
				ssh_escape(raw, n_raw, first, sizeof(first));
			else
				snprintf(first, sizeof(first), "%s", rc == LIBSSH2_ERROR_TIMEOUT ? "" : ssh_error(ssh));
			record_no_banner(f, n_raw ? BANNER_NOT_SSH :
					 rc == LIBSSH2_ERROR_TIMEOUT ? BANNER_NONE : BANNER_CLOSED,
					 addr, first, md_now_ms() - t0);
			md_session_free(ms);
			return MD_OK;
		}
	}
	if (rc) {
		snprintf(kex_ev, sizeof(kex_ev), "handshake with %s: %s", addr,
			 rc == LIBSSH2_ERROR_TIMEOUT ? "no answer before the deadline" : ssh_error(ssh));
		md_fact_str(f, P, "ssh.kex", rc == LIBSSH2_ERROR_TIMEOUT ? "timeout" : "failed", kex_ev);
		md_fact_str(f, P, "ssh.kex_error", kex_ev, NULL);
		md_fact_check(f, "ssh.kex", MD_CHECK_FAIL, "SSH key exchange did not complete");
		md_session_free(ms);
		return MD_OK;
	}
	{
		const char *kex = libssh2_session_methods(ssh, LIBSSH2_METHOD_KEX);
		const char *hk = libssh2_session_methods(ssh, LIBSSH2_METHOD_HOSTKEY);
		const char *cs = libssh2_session_methods(ssh, LIBSSH2_METHOD_CRYPT_CS);

		md_fact_strf(f, P, "ssh.kex", "ok", "kex %s, host key %s, cipher %s",
			     kex ? kex : "?", hk ? hk : "?", cs ? cs : "?");
		md_fact_check(f, "ssh.kex", MD_CHECK_OK, "SSH key exchange");
	}

	/* Host key, then authentication: never after a changed key. */
	if (check_host_key(ms, t, host, port, f) != MD_OK) {
		md_session_free(ms);
		return MD_OK;
	}
	rc = authenticate(ms, t, dl, f, &b, have_banner);
	if (rc == MD_ENOMEM) {
		md_session_free(ms);
		return md_err_set(err, MD_ENOMEM, "ssh", "out of memory");
	}
	if (rc != MD_OK) {
		md_session_free(ms);
		return MD_OK;
	}

	/* On the host */
	ssh_host_facts(ms, b.windows, f, dl);
	ctx->session = ms;
	return MD_OK;
}

static const char *const ssh_provides[] = {
	"ssh.addr", "ssh.host", "ssh.port", "ssh.user", "ssh.tcp", "ssh.tcp_error",
	"ssh.banner", "ssh.banner_status", "ssh.first_bytes", "ssh.server_software",
	"ssh.server_windows", "ssh.kex", "ssh.kex_error", "ssh.hostkey", "ssh.hostkey_type",
	"ssh.hostkey_fingerprint", "ssh.hostkey_known_fingerprint", "ssh.hostkey_added",
	"ssh.hostkey_added_to", "ssh.known_hosts_name", "ssh.known_hosts_file",
	"ssh.known_hosts_line", "ssh.auth", "ssh.auth_method", "ssh.auth_methods_offered",
	"ssh.auth_keys_tried", "ssh.auth_skipped", "ssh.auth_rsa_sha1_only",
	"ssh.identity_encrypted", "host.os", "host.sudo", NULL,
};

const struct md_probe probe_ssh = {
	.name = "ssh",
	.desc = "SSH reachability: TCP, banner, host key, authentication, OS and sudo",
	.provides = ssh_provides,
	.needs = MD_NEEDS_NOTHING,
	.budget_ms = 0,
	.run = ssh_run,
};
