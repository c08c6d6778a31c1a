#include "core/target.h"
#include "core/proc.h"

#include <ctype.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void md_target_cleanup(struct md_target *t)
{
	free(t->spec);
	free(t->user);
	free(t->host);
	free(t->hostname);
	for (size_t i = 0; i < t->n_identities; i++)
		free(t->identities[i]);
	for (size_t i = 0; i < t->n_known_hosts; i++)
		free(t->known_hosts[i]);
	for (size_t i = 0; i < t->n_global_known_hosts; i++)
		free(t->global_known_hosts[i]);
	free(t->identity_agent);
	free(t->host_key_alias);
	free(t->proxy_jump);
	free(t->proxy_command);
	free(t->ssh_config_error);
	memset(t, 0, sizeof(*t));
}

int md_parse_port(const char *s)
{
	long v = 0;

	if (!s || !*s || strlen(s) > 5)
		return -1;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : -1;
}

static bool valid_user(const char *u)
{
	if (!*u || *u == '-')
		return false;
	for (const char *p = u; *p; p++)
		if (!(isalnum((unsigned char)*p) || strchr("._-$\\@", *p)))
			return false;
	return true;
}

/* Host names, aliases and IP literals: letters, digits, '.', '-', '_' (aliases) and ':'
 * inside brackets.  Nothing a shell or ssh's option parser could take for syntax. */
static bool valid_host(const char *h, bool v6)
{
	if (!*h || *h == '-' || *h == '.')
		return false;
	for (const char *p = h; *p; p++) {
		if (isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '_')
			continue;
		if (v6 && (*p == ':' || *p == '%'))
			continue;
		return false;
	}
	return strlen(h) <= 253;
}

int md_target_parse(const char *spec, struct md_target *t, struct md_err *err)
{
	const char *at, *hp;
	char *host = NULL;
	int port = 0;

	memset(t, 0, sizeof(*t));
	if (!spec || !*spec)
		return md_err_set(err, MD_EINVAL, "target", "empty target: give HOST, USER@HOST or USER@HOST:PORT");
	t->spec = strdup(spec);
	if (!t->spec)
		return MD_ENOMEM;
	for (const char *p = spec; *p; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return md_err_set(err, MD_EINVAL, "target",
					  "target '%s' contains white space or a control character", spec);
	at = strrchr(spec, '@');
	hp = spec;
	if (at) {
		size_t ul = (size_t)(at - spec);

		t->user = strndup(spec, ul);
		if (!t->user)
			return MD_ENOMEM;
		if (!valid_user(t->user))
			return md_err_set(err, MD_EINVAL, "target",
					  "target '%s': '%s' is not a valid user name", spec, t->user);
		hp = at + 1;
	}
	if (*hp == '[') {
		const char *close = strchr(hp, ']');

		if (!close)
			return md_err_set(err, MD_EINVAL, "target",
					  "target '%s': '[' without ']' (IPv6 form is [ADDR]:PORT)", spec);
		host = strndup(hp + 1, (size_t)(close - hp - 1));
		if (!host)
			return MD_ENOMEM;
		if (close[1] == ':') {
			port = md_parse_port(close + 2);
			if (port < 0)
				goto bad_port;
		} else if (close[1]) {
			free(host);
			return md_err_set(err, MD_EINVAL, "target",
					  "target '%s': unexpected text after ']'", spec);
		}
		if (!valid_host(host, true))
			goto bad_host;
	} else {
		const char *colon = strchr(hp, ':');

		if (colon && strchr(colon + 1, ':')) {
			/* A bare IPv6 literal: no port can be given this way. */
			host = strdup(hp);
			if (!host)
				return MD_ENOMEM;
			if (!valid_host(host, true))
				goto bad_host;
		} else {
			host = colon ? strndup(hp, (size_t)(colon - hp)) : strdup(hp);
			if (!host)
				return MD_ENOMEM;
			if (colon) {
				port = md_parse_port(colon + 1);
				if (port < 0)
					goto bad_port;
			}
			if (!valid_host(host, false))
				goto bad_host;
		}
	}
	t->host = host;
	t->port = port;
	return MD_OK;
bad_port:
	free(host);
	return md_err_set(err, MD_EINVAL, "target", "target '%s': port must be a number from 1 to 65535",
			  spec);
bad_host:
	md_err_set(err, MD_EINVAL, "target", "target '%s': '%s' is not a valid host name or address",
		   spec, *host ? host : "(empty)");
	free(host);
	return MD_EINVAL;
}

static char *expand_home(const char *path, const char *home)
{
	char *out;

	if (path[0] == '~' && path[1] == '/' && home) {
		if (asprintf(&out, "%s%s", home, path + 1) < 0)
			return NULL;
		return out;
	}
	return strdup(path);
}

static int add_file(char **list, size_t *n, const char *path, const char *home)
{
	if (*n >= MD_TARGET_MAX_FILES)
		return MD_OK;
	for (size_t i = 0; i < *n; i++)
		if (strcmp(list[i], path) == 0)
			return MD_OK;
	list[*n] = expand_home(path, home);
	if (!list[*n])
		return MD_ENOMEM;
	(*n)++;
	return MD_OK;
}

/* A list of files on one line, separated by spaces, or "none" (ssh_config(5)). */
static int set_files(char **list, size_t *n, bool *none, char *val, const char *home)
{
	char *save = NULL;

	if (strcmp(val, "none") == 0) {
		*none = true;
		return MD_OK;
	}
	for (char *tok = strtok_r(val, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (add_file(list, n, tok, home))
			return MD_ENOMEM;
	return MD_OK;
}

static int set_str(char **dst, const char *val)
{
	free(*dst);
	*dst = strdup(val);
	return *dst ? MD_OK : MD_ENOMEM;
}

int md_target_apply_ssh_g(struct md_target *t, const char *text, const char *home)
{
	const char *line = text;
	bool user_kh_given = t->n_known_hosts > 0 || t->known_hosts_none;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char key[64], val[1024];
		const char *sp = memchr(line, ' ', len);
		int rc = MD_OK;

		if (sp && (size_t)(sp - line) < sizeof(key) && len - (size_t)(sp - line) - 1 < sizeof(val)) {
			size_t kl = (size_t)(sp - line), vl = len - kl - 1;

			memcpy(key, line, kl);
			key[kl] = '\0';
			memcpy(val, sp + 1, vl);
			val[vl] = '\0';
			if (strcmp(key, "user") == 0 && !t->user) {
				rc = set_str(&t->user, val);
			} else if (strcmp(key, "hostname") == 0) {
				rc = set_str(&t->hostname, val);
			} else if (strcmp(key, "port") == 0 && !t->port) {
				t->port = md_parse_port(val) > 0 ? md_parse_port(val) : 22;
			} else if (strcmp(key, "identityfile") == 0 && !t->identities_explicit) {
				rc = add_file(t->identities, &t->n_identities, val, home);
			} else if (strcmp(key, "hashknownhosts") == 0) {
				t->hash_known_hosts = strcmp(val, "yes") == 0;
			} else if (strcmp(key, "identitiesonly") == 0) {
				t->identities_only = strcmp(val, "yes") == 0;
			} else if (strcmp(key, "identityagent") == 0) {
				/* "SSH_AUTH_SOCK" means the environment variable, as without the
				 * option; anything else is a socket path (`ssh -G` has expanded ~
				 * and ${VAR}) or "none". */
				if (strcmp(val, "SSH_AUTH_SOCK") != 0) {
					char *p = expand_home(val, home);

					free(t->identity_agent);
					t->identity_agent = p;
					rc = p ? MD_OK : MD_ENOMEM;
				}
			} else if (strcmp(key, "hostkeyalias") == 0) {
				rc = set_str(&t->host_key_alias, val);
			} else if (strcmp(key, "userknownhostsfile") == 0 && !user_kh_given) {
				rc = set_files(t->known_hosts, &t->n_known_hosts, &t->known_hosts_none, val,
					       home);
			} else if (strcmp(key, "globalknownhostsfile") == 0 && !t->n_global_known_hosts) {
				rc = set_files(t->global_known_hosts, &t->n_global_known_hosts,
					       &t->global_known_hosts_none, val, home);
			} else if (strcmp(key, "proxyjump") == 0 && strcmp(val, "none") != 0) {
				rc = set_str(&t->proxy_jump, val);
			} else if (strcmp(key, "proxycommand") == 0 && strcmp(val, "none") != 0) {
				rc = set_str(&t->proxy_command, val);
			}
		}
		if (rc)
			return rc;
		line = nl ? nl + 1 : NULL;
	}
	return MD_OK;
}

/* This user's passwd entry, read reentrantly (several hosts' runs may resolve targets at
 * once): its home directory (dir) or login name into out.  False when there is none. */
static bool passwd_field(bool dir, char *out, size_t n)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) != 0 || !res)
		return false;
	snprintf(out, n, "%s", dir ? pw.pw_dir : pw.pw_name);
	return true;
}

/* $HOME, else the passwd entry's home directory (in buf); NULL when neither says. */
static const char *home_dir(char *buf, size_t n)
{
	const char *h = getenv("HOME");

	if (h && *h)
		return h;
	return passwd_field(true, buf, n) ? buf : NULL;
}

/* What `ssh -G` (-F o->ssh_config) says of t->host, applied to t: ssh_config's Host and
 * Match blocks, Include and canonicalisation, all as `ssh` reads them.  Its failure is an
 * error only for a file the user named; otherwise t->ssh_config says what happened. */
static int apply_ssh_config(struct md_target *t, const struct md_target_opts *o,
			    const char *home, const struct md_deadline *dl, struct md_err *err)
{
	char portbuf[16];
	const char *argv[16];
	int n = 0;
	struct md_proc_result r;
	struct md_deadline d = md_deadline_min(*dl, md_deadline_after(md_now_ms(), 2000));
	int prc;

	argv[n++] = "ssh";
	if (o && o->ssh_config) {
		argv[n++] = "-F";
		argv[n++] = o->ssh_config;
	}
	argv[n++] = "-G";
	/* -T: without it, ssh 9 also says "Pseudo-terminal will not be allocated"
	 * on stderr, which would hide the line that explains a failure. */
	argv[n++] = "-T";
	if (t->user) {
		argv[n++] = "-l";
		argv[n++] = t->user;
	}
	if (t->port) {
		snprintf(portbuf, sizeof(portbuf), "%d", t->port);
		argv[n++] = "-p";
		argv[n++] = portbuf;
	}
	argv[n++] = "--";
	argv[n++] = t->host;
	argv[n] = NULL;
	md_proc_result_init(&r, 256 * 1024);
	prc = md_proc_run(argv, NULL, 0, &d, &r, NULL);
	if (prc == MD_OK && r.exit_code == 0) {
		if (md_target_apply_ssh_g(t, md_buf_str(&r.out), home)) {
			md_proc_result_cleanup(&r);
			return MD_ENOMEM;
		}
		t->ssh_config = MD_SSH_CONFIG_READ;
	} else {
		char first[256];
		const char *e = md_buf_str(&r.err);

		/* ssh's first complaint, else why it did not answer. */
		snprintf(first, sizeof(first), "%.*s", (int)strcspn(e, "\r\n"), e);
		if (!*first && prc == MD_OK)
			snprintf(first, sizeof(first), "exit status %d", r.exit_code);
		else if (!*first)
			snprintf(first, sizeof(first), "%s",
				 prc == MD_ETIMEOUT ? "no answer within 2 s" : md_status_name(prc));
		/* The user named this file: ssh rejecting it must not pass unnoticed. */
		if (o && o->ssh_config) {
			md_proc_result_cleanup(&r);
			return md_err_set(err, MD_EINVAL, "target",
					  "--ssh-config %s: `ssh -G` failed: %s", o->ssh_config,
					  first);
		}
		/* Without -F it is not fatal (the target may not need ~/.ssh/config),
		 * but an alias will not resolve: the ssh probe records why. */
		t->ssh_config = prc == MD_ENOTFOUND ? MD_SSH_CONFIG_NO_CLIENT : MD_SSH_CONFIG_FAILED;
		if (asprintf(&t->ssh_config_error, "`ssh -G %s`: %s", t->host,
			     prc == MD_ENOTFOUND ? "ssh is not installed (not found on PATH)" : first) < 0) {
			t->ssh_config_error = NULL;
			md_proc_result_cleanup(&r);
			return MD_ENOMEM;
		}
	}
	md_proc_result_cleanup(&r);
	return MD_OK;
}

int md_target_resolve(struct md_target *t, const struct md_target_opts *o,
		      const struct md_deadline *dl, struct md_err *err)
{
	char home_buf[PATH_MAX];
	const char *home = home_dir(home_buf, sizeof(home_buf));
	static const char *const def_ids[] = { "~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa" };
	static const char *const def_global_kh[] = { "/etc/ssh/ssh_known_hosts",
						     "/etc/ssh/ssh_known_hosts2" };

	if (o && o->user) {
		if (!valid_user(o->user))
			return md_err_set(err, MD_EINVAL, "target", "--user '%s' is not a valid user name",
					  o->user);
		free(t->user);
		t->user = strdup(o->user);
	}
	if (o && o->port)
		t->port = o->port;
	if (o && o->identity) {
		if (access(o->identity, R_OK) != 0)
			return md_err_set(err, MD_EINVAL, "target",
					  "--identity %s: cannot read the file", o->identity);
		t->identities_explicit = true;
		if (add_file(t->identities, &t->n_identities, o->identity, home))
			return MD_ENOMEM;
	}
	if (o && o->known_hosts)
		if (add_file(t->known_hosts, &t->n_known_hosts, o->known_hosts, home))
			return MD_ENOMEM;

	if (o && o->ssh_config && o->no_ssh_config)
		return md_err_set(err, MD_EINVAL, "target",
				  "--ssh-config and --no-ssh-config exclude each other; give one");
	if (o && o->ssh_config && access(o->ssh_config, R_OK) != 0)
		return md_err_set(err, MD_EINVAL, "target", "--ssh-config %s: cannot read the file",
				  o->ssh_config);
	if (!(o && o->no_ssh_config)) {
		int rc = apply_ssh_config(t, o, home, dl, err);

		if (rc)
			return rc;
	}
	if (!t->user) {
		const char *u = getenv("USER");
		char name[256];

		if (!(u && *u))
			u = passwd_field(false, name, sizeof(name)) ? name : "root";
		t->user = strdup(u);
	}
	if (!t->hostname)
		t->hostname = strdup(t->host);
	if (!t->port)
		t->port = 22;
	if (!t->n_identities)
		for (size_t i = 0; i < sizeof(def_ids) / sizeof(def_ids[0]); i++)
			if (add_file(t->identities, &t->n_identities, def_ids[i], home))
				return MD_ENOMEM;
	if (!t->n_known_hosts && !t->known_hosts_none)
		if (add_file(t->known_hosts, &t->n_known_hosts, "~/.ssh/known_hosts", home))
			return MD_ENOMEM;
	if (!t->n_global_known_hosts && !t->global_known_hosts_none)
		for (size_t i = 0; i < sizeof(def_global_kh) / sizeof(def_global_kh[0]); i++)
			if (add_file(t->global_known_hosts, &t->n_global_known_hosts, def_global_kh[i],
				     home))
				return MD_ENOMEM;
	if (!t->user || !t->hostname)
		return MD_ENOMEM;
	return MD_OK;
}
