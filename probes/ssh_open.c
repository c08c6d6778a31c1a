/* ssh_open.c — md_ssh_open(): a session to another host than the target, through the ssh
 * probe's own steps (probes/ssh.c), their facts kept apart and turned into one line. */
#include "probes/ssh.h"

#include "core/known_hosts.h"
#include "core/session_ssh.h"

#include <errno.h>
#include <libssh2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The step's own words, from the scratch facts the ssh probe's steps recorded. */
static int failed(struct md_facts *f, const char *fact, int code, const char *addr, struct md_err *err)
{
	const struct md_fact *x = md_facts_get(f, fact);
	char v[64] = "";

	if (x)
		md_fact_value_text(x, v, sizeof(v), false);
	return md_err_set(err, code, "ssh", "ssh %s: %s %s%s%s", addr, fact + 4, v[0] ? v : "failed",
			  x && x->evidence ? ": " : "", x && x->evidence ? x->evidence : "");
}

int md_ssh_open(const struct md_target *t, const struct md_deadline *dl, struct md_session **out,
		struct md_err *err)
{
	const char *host = t->hostname ? t->hostname : t->host;
	int port = t->port > 0 ? t->port : 22, fd = -1, rc;
	const char *files[MD_TARGET_MAX_FILES * 2];
	char addr[300], name[300], known[160], pref[256];
	struct ssh_banner b;
	struct md_addr peer;
	struct md_facts f;
	struct md_session *ms;
	size_t n;

	*out = NULL;
	snprintf(addr, sizeof(addr), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
	rc = md_net_connect_tcp(host, port, dl, &fd, &peer, err);
	if (rc != MD_OK)
		return rc;
	ms = md_session_new_ssh(fd, err);
	if (!ms)
		return err->code;
	md_facts_init(&f);
	memset(&b, 0, sizeof(b));
	b.openssh_major = b.openssh_minor = -1;
	n = ssh_known_hosts_files(t, files, sizeof(files) / sizeof(files[0]));
	ssh_known_hosts_name(host, port, t->host_key_alias, name, sizeof(name));
	ssh_hostkey_prefer(md_session_ssh(ms), files, n, name, known, sizeof(known), pref, sizeof(pref));
	MD_SSH_STEP(rc, ms, dl, libssh2_session_handshake(md_session_ssh(ms), fd));
	if (rc != 0) {
		rc = md_err_set(err, rc == LIBSSH2_ERROR_TIMEOUT ? MD_ETIMEOUT : MD_EPROTO, "ssh",
				"ssh %s: key exchange: %s", addr, rc == LIBSSH2_ERROR_TIMEOUT ?
				"no answer before the deadline" : md_ssh_last_error(md_session_ssh(ms)));
		goto out;
	}
	rc = ssh_hostkey_check(ms, t, name, files, n, pref, &peer, dl, &f, err);
	if (rc == MD_EHOSTKEY)
		rc = failed(&f, "ssh.hostkey", MD_EHOSTKEY, addr, err);
	if (rc == MD_OK) {
		rc = ssh_authenticate(ms, t, dl, &f, &b, false);
		if (rc != MD_OK && rc != MD_ENOMEM)
			rc = failed(&f, "ssh.auth", MD_EAUTH, addr, err);
		else if (rc == MD_ENOMEM)
			rc = md_err_set(err, MD_ENOMEM, "ssh", "out of memory");
	}
out:
	md_facts_cleanup(&f);
	if (rc == MD_OK)
		*out = ms;
	else
		md_session_free(ms);
	return rc;
}
