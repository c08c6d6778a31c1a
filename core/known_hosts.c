/* known_hosts.c — OpenSSH's known_hosts files: lookup as check_key_in_hostkeys() in
 * OpenSSH's hostfile.c does it, and appends as StrictHostKeyChecking=accept-new makes them. */
#include "core/known_hosts.h"
#include "core/deadline.h"
#include "core/ssh_kex.h"
#include "core/ssh_keys.h"
#include "core/ssh_wire.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void ssh_known_hosts_name(const char *host, int port, const char *alias, char *out, size_t n)
{
	/* OpenSSH writes the bare name for the default port, else "[name]:port"
	 * (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"); a HostKeyAlias replaces both
	 * (ssh_config(5)). */
	if (alias && *alias)
		snprintf(out, n, "%s", alias);
	else if (port == 22 || port <= 0)
		snprintf(out, n, "%s", host);
	else
		snprintf(out, n, "[%s]:%d", host, port);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

#define KNOWN_HOSTS_MAX (4u * 1024 * 1024)

/* OpenSSH's match_pattern(): '*' any run of characters, '?' any one; case is folded
 * here because ssh(1) lower-cases the host name and match_hostname() the pattern.
 *
 * OpenSSH recurses at every '*' and so takes exponential time on `*?*?*?...` against a
 * long name that does not match.  This is the two-pointer match with one backtrack
 * point: on a mismatch only the last '*' seen takes one more character.  Retrying an
 * earlier '*' is never needed, because whatever it could take the last one can take as
 * well; so the work is at most (|s| + 1) * (|p| + 1) steps.  Each step is one unit of
 * *budget; false with *budget at 0 when it runs out before an answer. */
static bool wild_match(const char *s, const char *p, size_t p_len, unsigned long *budget)
{
	const char *pe = p + p_len, *star_p = NULL, *star_s = NULL;

	while (*s) {
		if (*budget == 0)
			return false;
		--*budget;
		if (p < pe && *p == '*') {
			while (p < pe && *p == '*')
				p++;
			if (p == pe)
				return true;
			star_p = p;
			star_s = s;
		} else if (p < pe && (*p == '?' || tolower((unsigned char)*p) == tolower((unsigned char)*s))) {
			p++;
			s++;
		} else if (star_p) {
			p = star_p;
			s = ++star_s;
		} else {
			return false;
		}
	}
	while (p < pe && *p == '*')
		p++;
	return p == pe;
}

/* HashKnownHosts (ssh_config(5)): a hashed host field is
 * "|1|base64(salt)|base64(HMAC-SHA1(key = salt, name))". */
#define KH_HASH_MAGIC "|1|"
#define KH_SALT_LEN 20 /* SHA-1's output size, as OpenSSH's salts */

static bool host_hmac(const unsigned char *salt, size_t salt_len, const char *name,
		      unsigned char *out, unsigned int *out_len)
{
	return HMAC(EVP_sha1(), salt, (int)salt_len, (const unsigned char *)name, strlen(name), out,
		    out_len) != NULL;
}

static bool hashed_match(const char *field, const char *name)
{
	unsigned char salt[64], want[64], got[EVP_MAX_MD_SIZE];
	unsigned int got_len = 0;
	const char *salt_b64 = field + strlen(KH_HASH_MAGIC), *bar = strchr(salt_b64, '|');
	long salt_len, want_len;

	if (!bar)
		return false;
	salt_len = ssh_b64_decode(salt_b64, (size_t)(bar - salt_b64), salt, sizeof(salt));
	want_len = ssh_b64_decode(bar + 1, strlen(bar + 1), want, sizeof(want));
	if (salt_len <= 0 || want_len <= 0 || !host_hmac(salt, (size_t)salt_len, name, got, &got_len))
		return false;
	return (long)got_len == want_len && CRYPTO_memcmp(got, want, got_len) == 0;
}

/* The hashed form of name with a fresh salt, into out (at least 64 bytes). */
static int hash_host_name(const char *name, char *out, size_t n)
{
	unsigned char salt[KH_SALT_LEN], mac[EVP_MAX_MD_SIZE];
	char salt_b64[4 * ((KH_SALT_LEN + 2) / 3) + 1], mac_b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	unsigned int mac_len = 0;

	if (RAND_bytes(salt, sizeof(salt)) != 1 || !host_hmac(salt, sizeof(salt), name, mac, &mac_len))
		return MD_EIO;
	EVP_EncodeBlock((unsigned char *)salt_b64, salt, sizeof(salt));
	EVP_EncodeBlock((unsigned char *)mac_b64, mac, (int)mac_len);
	if ((size_t)snprintf(out, n, KH_HASH_MAGIC "%s|%s", salt_b64, mac_b64) >= n)
		return MD_ETOOBIG;
	return MD_OK;
}

int ssh_known_hosts_match_budget(const char *field, const char *name, unsigned long *budget)
{
	int positive = 0;

	if (strncmp(field, KH_HASH_MAGIC, strlen(KH_HASH_MAGIC)) == 0)
		return hashed_match(field, name) ? 1 : 0;
	/* match_pattern_list() in OpenSSH's match.c: a matching "!pattern" rules the line
	 * out whatever else matches. */
	while (*field) {
		size_t len = strcspn(field, ",");
		bool neg = *field == '!';

		if (len > neg && wild_match(name, field + neg, len - neg, budget)) {
			if (neg)
				return -1;
			positive = 1;
		}
		if (*budget == 0)
			return SSH_KH_MATCH_OVER_BUDGET;
		field += len;
		if (*field == ',')
			field++;
	}
	return positive;
}

int ssh_known_hosts_match(const char *field, const char *name)
{
	unsigned long budget = SSH_KH_MATCH_STEPS_MAX;

	return ssh_known_hosts_match_budget(field, name, &budget);
}

enum kh_marker { KH_PLAIN, KH_REVOKED, KH_CA };

/* One known_hosts line split in place: "[@marker] hosts type base64 [comment]".  false
 * for a line that is not an entry (unknown marker, missing fields). */
static bool kh_split(char *line, enum kh_marker *marker, char **hosts, char **b64)
{
	char *save = NULL, *f[4];
	int k = 0;

	for (char *tok = strtok_r(line, " \t", &save); tok && k < 4; tok = strtok_r(NULL, " \t", &save))
		f[k++] = tok;
	*marker = KH_PLAIN;
	if (k && f[0][0] == '@') {
		if (strcmp(f[0], "@revoked") == 0)
			*marker = KH_REVOKED;
		else if (strcmp(f[0], "@cert-authority") == 0)
			*marker = KH_CA;
		else
			return false;
		if (k < 4)
			return false;
		*hosts = f[1];
		*b64 = f[3];
		return true;
	}
	if (k < 3)
		return false;
	*hosts = f[0];
	*b64 = f[2];
	return true;
}

/* One entry a scan found: the file (one of the caller's strings) and line, and for a
 * "changed" key the type and fingerprint of the key on file. */
struct kh_hit {
	const char *file; /* NULL: none found */
	int line;
	char type[48];
	char fp[80];
};

/* What a scan of the files is looking for and what it found. */
struct kh_scan {
	const char *name;
	const unsigned char *key; /* NULL: only collect the key types on file */
	size_t key_len;
	char key_type[48];
	struct kh_hit rev, match;
	struct kh_hit changed_same;  /* first entry with another key of the presented type */
	struct kh_hit changed_other; /* first entry with a key of another type */
	struct kh_hit rsa;           /* first entry with another key, an RSA one */
	char types[160];             /* the plain entries' key types */
	char *notes, *unread;
	size_t notes_len, unread_len;
};

/* Whether item is one of the comma-separated names in list. */
static bool in_list(const char *list, const char *item)
{
	size_t il = strlen(item);

	for (const char *p = list; *p;) {
		size_t l = strcspn(p, ",");

		if (l == il && memcmp(p, item, l) == 0)
			return true;
		p += l;
		if (*p == ',')
			p++;
	}
	return false;
}

static void add_type(char *list, size_t n, const char *type)
{
	if (in_list(list, type) || strlen(list) + strlen(type) + 2 > n)
		return;
	if (*list)
		strcat(list, ",");
	strcat(list, type);
}

static void kh_hit(struct kh_hit *h, const char *file, int line, const char *type,
		   const unsigned char *blob, size_t blob_len)
{
	if (h->file)
		return;
	h->file = file;
	h->line = line;
	if (type) {
		snprintf(h->type, sizeof(h->type), "%s", type);
		ssh_fingerprint(blob, blob_len, h->fp, sizeof(h->fp));
	}
}

/* The work all the lines of one file may take in matching (a file has at most
 * KNOWN_HOSTS_MAX bytes, but the steps grow with the name's length times the file's). */
#define KH_FILE_STEPS_MAX (1ul << 26)

/* Lines not used because their host patterns take too much work to match. */
struct kh_costly {
	size_t lines;
	int first;
	bool file_spent; /* the file's budget ran out at line first */
};

/* ssh_known_hosts_match() within the line's budget and what is left of the file's
 * (*file_left, decreased by the steps taken). */
static int kh_line_match(const char *hosts, const char *name, unsigned long *file_left)
{
	unsigned long line = *file_left < SSH_KH_MATCH_STEPS_MAX ? *file_left : SSH_KH_MATCH_STEPS_MAX;
	unsigned long before = line;
	int m = ssh_known_hosts_match_budget(hosts, name, &line);

	*file_left -= before - line;
	return m;
}

/* A file with lines left out counts as not read in full: the caller does not record a
 * key on the strength of it (ssh_known_hosts_check()). */
static void kh_note_costly(struct kh_scan *s, const char *file, const struct kh_costly *c)
{
	if (c->file_spent)
		ssh_note(s->unread, s->unread_len,
			 "%s: host patterns need over %lu steps to match in all, not read from line %d on",
			 file, KH_FILE_STEPS_MAX, c->first);
	else if (c->lines)
		ssh_note(s->unread, s->unread_len,
			 "%s: %zu line(s) not used, their host patterns needing over %lu steps to match (first: line %d)",
			 file, c->lines, SSH_KH_MATCH_STEPS_MAX, c->first);
}

static int kh_scan_file(const char *file, struct kh_scan *s)
{
	struct kh_costly costly = { 0 };
	unsigned long file_left = KH_FILE_STEPS_MAX;
	int m;
	char *text, *next;
	size_t len, skipped = 0, ca = 0;
	int lineno = 0, rc;
	unsigned char *blob = NULL;

	rc = ssh_read_small_file(file, KNOWN_HOSTS_MAX, &text, &len);
	if (rc == MD_ENOTFOUND) {
		ssh_note(s->notes, s->notes_len, "%s: not found", file);
		return MD_OK;
	}
	if (rc == MD_ENOMEM)
		return rc;
	if (rc) {
		/* OpenSSH's load_hostkeys() skips such a file (a debug message only); so
		 * does this scan, but the caller is told. */
		ssh_note(s->unread, s->unread_len, "%s: %s", file,
		     rc == MD_ETOOBIG ? "larger than 4 MiB, not read" : strerror(errno));
		return MD_OK;
	}
	blob = malloc(len + 1);
	if (!blob) {
		free(text);
		return MD_ENOMEM;
	}
	/* Every line counts, blank and comment lines too: the numbers are the ones
	 * `ssh-keygen -F` and an editor show. */
	for (char *p = text; p; p = next) {
		enum kh_marker marker;
		char *hosts, *b64, type[48], *nl = strchr(p, '\n');
		long blen;
		bool same;

		next = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		if (!nl && !*p)
			break;
		lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#' || *p == '\r')
			continue;
		if (!kh_split(p, &marker, &hosts, &b64) ||
		    (blen = ssh_b64_decode(b64, strlen(b64), blob, len)) <= 0 ||
		    ssh_blob_type(blob, (size_t)blen, type, sizeof(type))) {
			skipped++;
			continue;
		}
		m = kh_line_match(hosts, s->name, &file_left);
		if (m == SSH_KH_MATCH_OVER_BUDGET) {
			if (!costly.lines++)
				costly.first = lineno;
			if (file_left == 0) {
				costly.first = lineno;
				costly.file_spent = true;
				break;
			}
			continue;
		}
		if (m != 1)
			continue;
		if (marker == KH_CA) {
			ca++;
			continue;
		}
		if (marker == KH_PLAIN)
			add_type(s->types, sizeof(s->types), type);
		if (!s->key)
			continue;
		same = (size_t)blen == s->key_len && memcmp(blob, s->key, s->key_len) == 0;
		if (marker == KH_REVOKED) {
			/* sshd(8): "the key contained on the line is revoked and must not
			 * ever be accepted". */
			if (same)
				kh_hit(&s->rev, file, lineno, NULL, NULL, 0);
		} else if (same) {
			kh_hit(&s->match, file, lineno, NULL, NULL, 0);
		} else {
			/* OpenSSH's check_hostkeys_by_key_or_type(): any other key on file
			 * for the name, of whatever type, is a changed host key ("A
			 * non-matching key exists"), never a new one. */
			kh_hit(strcmp(type, s->key_type) == 0 ? &s->changed_same : &s->changed_other,
			       file, lineno, type, blob, (size_t)blen);
			/* Named when this libssh2 cannot ask for it (ssh_hostkey_unverifiable()). */
			if (strcmp(type, "ssh-rsa") == 0)
				kh_hit(&s->rsa, file, lineno, type, blob, (size_t)blen);
		}
	}
	if (skipped)
		ssh_note(s->notes, s->notes_len, "%s: %zu line(s) skipped (not a known_hosts entry)", file,
		     skipped);
	kh_note_costly(s, file, &costly);
	if (ca)
		ssh_note(s->notes, s->notes_len,
		     "%s: %zu @cert-authority line(s) for %s not used (host certificates are not checked)",
		     file, ca, s->name);
	free(blob);
	free(text);
	return MD_OK;
}

int ssh_known_hosts_check(const char *const *files, size_t n, const char *name,
			  const unsigned char *key, size_t key_len, struct ssh_kh_result *r,
			  struct md_err *err)
{
	struct kh_scan s = { .name = name, .key = key, .key_len = key_len };
	const struct kh_hit *w;
	int rc = MD_OK;

	memset(r, 0, sizeof(*r));
	r->status = SSH_HOSTKEY_UNKNOWN;
	s.notes = r->notes;
	s.notes_len = sizeof(r->notes);
	s.unread = r->unread;
	s.unread_len = sizeof(r->unread);
	if (ssh_blob_type(key, key_len, s.key_type, sizeof(s.key_type)))
		return md_err_set(err, MD_EINVAL, "known_hosts", "the host key blob has no key type");
	for (size_t i = 0; i < n && rc == MD_OK; i++)
		rc = kh_scan_file(files[i], &s);
	if (rc)
		return md_err_set(err, rc, "known_hosts", "reading known_hosts: %s", md_status_name(rc));
	snprintf(r->types, sizeof(r->types), "%s", s.types);
	/* As OpenSSH's check_key_in_hostkeys(): revoked first, then a match in any file,
	 * then "changed". */
	if (s.rev.file) {
		w = &s.rev;
		r->status = SSH_HOSTKEY_REVOKED;
	} else if (s.match.file) {
		w = &s.match;
		r->status = SSH_HOSTKEY_MATCH;
	} else if (s.changed_same.file || s.changed_other.file) {
		w = s.changed_same.file ? &s.changed_same : &s.changed_other;
		r->status = SSH_HOSTKEY_CHANGED;
		snprintf(r->known_type, sizeof(r->known_type), "%s", w->type);
		snprintf(r->known_fp, sizeof(r->known_fp), "%s", w->fp);
		if (s.rsa.file) {
			snprintf(r->rsa_file, sizeof(r->rsa_file), "%s", s.rsa.file);
			r->rsa_line = s.rsa.line;
			snprintf(r->rsa_fp, sizeof(r->rsa_fp), "%s", s.rsa.fp);
		}
	} else {
		return MD_OK;
	}
	snprintf(r->file, sizeof(r->file), "%s", w->file);
	r->line = w->line;
	return MD_OK;
}

void ssh_known_hosts_types(const char *const *files, size_t n, const char *name, char *out,
			   size_t out_n)
{
	char notes[512] = "", unread[512] = "";
	struct kh_scan s = { .name = name, .notes = notes, .notes_len = sizeof(notes),
			     .unread = unread, .unread_len = sizeof(unread) };

	for (size_t i = 0; i < n; i++)
		if (kh_scan_file(files[i], &s))
			break;
	snprintf(out, out_n, "%s", s.types);
}

/* OpenSSH 9's default HostKeyAlgorithms without certificates and security keys, and the
 * key type each algorithm is for. */
static const struct {
	const char *alg, *key_type;
} hostkey_algs[] = {
	{ "ssh-ed25519", "ssh-ed25519" },
	{ "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256" },
	{ "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384" },
	{ "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521" },
	{ "rsa-sha2-512", "ssh-rsa" },
	{ "rsa-sha2-256", "ssh-rsa" },
	{ "ssh-rsa", "ssh-rsa" },
};

void ssh_hostkey_order(const char *known_types, const char *const *supported, size_t n_supported,
		       char *out, size_t n)
{
	if (n)
		out[0] = '\0';
	/* Two passes: the algorithms whose key type known_hosts holds, then the rest. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < sizeof(hostkey_algs) / sizeof(hostkey_algs[0]); i++) {
			bool known = in_list(known_types, hostkey_algs[i].key_type), ok = false;

			if (known != (pass == 0))
				continue;
			for (size_t j = 0; j < n_supported && !ok; j++)
				ok = strcmp(supported[j], hostkey_algs[i].alg) == 0;
			if (ok && strlen(out) + strlen(hostkey_algs[i].alg) + 2 <= n) {
				if (*out)
					strcat(out, ",");
				strcat(out, hostkey_algs[i].alg);
			}
		}
}

bool ssh_hostkey_unverifiable(const char *known_types, const char *presented_type,
			      const char *const *supported, size_t n_supported, const char *asked,
			      const char *negotiated)
{
	bool rsa_asked = false;

	if (!negotiated || !*negotiated || in_list(known_types, presented_type) ||
	    !in_list(known_types, "ssh-rsa"))
		return false;
	/* libssh2 1.11 and later verify rsa-sha2-256 and rsa-sha2-512 host key signatures
	 * (and ask for them first when RSA is on file): then the server would have shown
	 * its RSA key, if it has one. */
	for (size_t i = 0; i < n_supported; i++)
		if (strncmp(supported[i], "rsa-sha2-", 9) == 0)
			return false;
	for (const char *p = asked; *p;) {
		size_t l = strcspn(p, ",");

		if (l == strlen(negotiated) && memcmp(p, negotiated, l) == 0)
			return rsa_asked;
		if (l == 7 && memcmp(p, "ssh-rsa", 7) == 0)
			rsa_asked = true;
		p += l;
		if (*p == ',')
			p++;
	}
	return false;
}

bool ssh_hostkey_algs_offer_rsa(const char *list, size_t len)
{
	static const char *const rsa[] = {
		"rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", "rsa-sha2-512-cert-v01@openssh.com",
		"rsa-sha2-256-cert-v01@openssh.com", "ssh-rsa-cert-v01@openssh.com",
	};

	for (size_t i = 0; i < sizeof(rsa) / sizeof(rsa[0]); i++)
		if (ssh_namelist_has(list, len, rsa[i]))
			return true;
	return false;
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

/* An exclusive flock on fd, so that two runs (threads or processes) adding keys at once
 * write whole lines one after the other.  Other holders only append a line, so waiting is
 * short; after KH_LOCK_WAIT_MS it is an error rather than a hang. */
#define KH_LOCK_WAIT_MS 2000
static int lock_file(int fd)
{
	int64_t end = md_now_ms() + KH_LOCK_WAIT_MS;

	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if ((errno != EWOULDBLOCK && errno != EINTR) || md_now_ms() >= end)
			return -1;
		nanosleep(&ts, NULL);
	}
	return 0;
}

int ssh_known_hosts_add(const char *file, const char *name, bool hashed, const unsigned char *key,
			size_t key_len, struct md_err *err)
{
	int fd, rc = MD_OK;
	char type[48], dir[PATH_MAX], *slash, *b64 = NULL, last = '\n', host[128];
	struct stat st;
	FILE *fp;

	if (ssh_blob_type(key, key_len, type, sizeof(type)))
		return md_err_set(err, MD_EINVAL, "known_hosts", "the host key blob has no key type");
	if (hashed && hash_host_name(name, host, sizeof(host)))
		return md_err_set(err, MD_EIO, "known_hosts", "hashing %s: no random salt", name);
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
	if (lock_file(fd) != 0) {
		rc = md_err_set(err, MD_EIO, "known_hosts", "lock %s: %s", file,
				errno == EWOULDBLOCK ? "another process kept it locked for 2 s"
						     : strerror(errno));
		close(fd);
		return rc;
	}
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
	fprintf(fp, "%s%s %s %s\n", last == '\n' ? "" : "\n", hashed ? host : name, type, b64);
	if (fclose(fp) != 0)
		rc = md_err_set(err, MD_EIO, "known_hosts", "write %s: %s", file, strerror(errno));
	free(b64);
	return rc;
}

