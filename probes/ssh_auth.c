/* ssh_auth.c — the ssh probe's authentication: the agent's keys (each signed through the
 * agent under the agent's own deadline), then the identity files, each attempt recorded
 * for the facts ssh.auth, ssh.agent and what was tried, refused or skipped. */
#include "probes/ssh_auth.h"
#include "probes/probe.h"
#include "core/net.h"
#include "core/session_ssh.h"
#include "core/ssh_agent.h"
#include "core/ssh_banner.h"
#include "core/ssh_kex.h"
#include "core/ssh_keys.h"
#include "core/ssh_wire.h"

#include <libssh2.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define P "ssh"

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
	ssh_note(ar->keys, sizeof(ar->keys), "%s (%s)", what, type);
}

const char *ssh_auth_user(const struct md_target *t)
{
	return t->user && *t->user ? t->user : "root";
}

/* An agent answers a local request in a few milliseconds, unless it waits for a person
 * (a key added with `ssh-add -c` asks for a confirmation before signing) or hangs.  It
 * gets half of the time left, at most this long, so that the identity files keep the
 * other half. */
#define AGENT_WAIT_MAX_MS 10000

struct agent_sign_ctx {
	int fd;
	const struct md_deadline *dl;
	const struct ssh_agent_key *key;
	/* MD_OK; MD_EAUTH (the agent refused), MD_EPARSE (a malformed signature) and
	 * MD_EPROTO (signed with another algorithm than asked), after which the connection
	 * is still in step; MD_ENOMEM; anything else leaves it unusable (MD_ETIMEOUT,
	 * MD_EIO, MD_ETOOBIG: an answer may still be on its way or unread).  1: not called. */
	int status;
	char alg[64];      /* the algorithm libssh2 asked for ("" when not found) */
	char got_alg[64];  /* MD_EPROTO: the one the agent signed with */
};

/* libssh2's signing callback for libssh2_userauth_publickey(): one SIGN_REQUEST to the
 * agent, bounded by the agent's deadline.  The signature is malloc'd because libssh2
 * frees it with the session's allocator, libssh2's default (md_session_new_ssh() passes
 * none). */
static LIBSSH2_USERAUTH_PUBLICKEY_SIGN_FUNC(agent_sign)
{
	struct agent_sign_ctx *c = *abstract;
	const struct ssh_agent_key *k = c->key;
	unsigned char *req, *q, *resp = NULL;
	const unsigned char *sg;
	size_t resp_len = 0, sg_len;
	uint32_t flags = 0;
	char alg[64];

	(void)session;
	/* RSA keys sign with the algorithm libssh2 put in the request (ssh-rsa in libssh2
	 * 1.10, rsa-sha2-* in later versions): draft-miller-ssh-agent §5.3 flags. */
	if (ssh_userauth_sign_alg(data, data_len, c->alg, sizeof(c->alg)) == MD_OK)
		flags = ssh_agent_sign_flags(c->alg);
	else
		c->alg[0] = '\0';
	req = malloc(1 + 4 + k->blob_len + 4 + data_len + 4);
	if (!req) {
		c->status = MD_ENOMEM;
		return -1;
	}
	q = req;
	*q++ = SSH_AGENTC_SIGN_REQUEST;
	q = ssh_put_string(q, k->blob, k->blob_len);
	q = ssh_put_string(q, data, data_len);
	q = ssh_put_u32(q, flags);
	c->status = ssh_agent_request(c->fd, req, (size_t)(q - req), &resp, &resp_len, c->dl);
	free(req);
	if (c->status == MD_OK)
		c->status = ssh_agent_parse_signature(resp, resp_len, alg, sizeof(alg), &sg, &sg_len);
	if (c->status == MD_OK && c->alg[0]) {
		/* An agent that ignores the flags signs an RSA key with SHA-1 ("ssh-rsa"):
		 * the server would refuse that signature, and the refusal would be blamed
		 * on the key.  OpenSSH's client checks the same (sshkey_check_sigtype()). */
		char want[64];

		ssh_sig_alg_of(c->alg, want, sizeof(want));
		if (strcmp(alg, want) != 0) {
			snprintf(c->got_alg, sizeof(c->got_alg), "%s", alg);
			c->status = MD_EPROTO;
		}
	}
	if (c->status == MD_OK) {
		*sig = malloc(sg_len ? sg_len : 1);
		if (*sig) {
			memcpy(*sig, sg, sg_len);
			*sig_len = sg_len;
		} else {
			c->status = MD_ENOMEM;
		}
	}
	free(resp);
	return c->status == MD_OK ? 0 : -1;
}

struct id_blobs {
	unsigned char blob[MD_TARGET_MAX_FILES][2048];
	size_t len[MD_TARGET_MAX_FILES]; /* 0: the file did not say */
	size_t n;
};

static void id_blobs_read(const struct md_target *t, struct id_blobs *ib)
{
	ib->n = t->n_identities < MD_TARGET_MAX_FILES ? t->n_identities : MD_TARGET_MAX_FILES;
	for (size_t i = 0; i < ib->n; i++)
		if (!ssh_identity_blob(t->identities[i], ib->blob[i], sizeof(ib->blob[i]), &ib->len[i]))
			ib->len[i] = 0;
}

/* IdentitiesOnly (ssh_config(5)): only the identity files' keys, "even if ssh-agent
 * offers more identities" — the agent still signs for those it holds.  ib: NULL
 * without IdentitiesOnly. */
static bool agent_key_allowed(const struct id_blobs *ib, const struct ssh_agent_key *k)
{
	if (!ib)
		return true;
	for (size_t i = 0; i < ib->n; i++)
		if (ib->len[i] && ib->len[i] == k->blob_len && memcmp(ib->blob[i], k->blob, k->blob_len) == 0)
			return true;
	return false;
}

/* Why the agent's connection cannot be used after an attempt: one line for evidence. */
static void agent_unusable(const struct agent_sign_ctx *c, const char *sock, const char *what,
			   const char *type, char *why, size_t why_n)
{
	const char *how;

	switch (c->status) {
	case MD_ETIMEOUT: how = "no answer before its deadline"; break;
	case MD_EIO: how = "the agent closed the connection"; break;
	case MD_ETOOBIG: how = "an answer over 256 KiB, not read"; break;
	default: how = md_status_name(c->status);
	}
	snprintf(why, why_n, "%s did not sign with %s (%s): %s", sock, what, type, how);
}

/* The agent at sock (connected into *fd) and its identities into keys, all within adl.
 * MD_OK, or the failure with why said. */
static int agent_identities(const char *sock, const struct md_deadline *adl, int64_t t0,
			    int *fd, struct ssh_agent_keys *keys, char *why, size_t why_n)
{
	unsigned char req = SSH_AGENTC_REQUEST_IDENTITIES, *resp = NULL;
	size_t resp_len = 0;
	int rc = ssh_agent_connect(sock, adl, fd, why, why_n);

	if (rc != MD_OK)
		return rc;
	rc = ssh_agent_request(*fd, &req, 1, &resp, &resp_len, adl);
	if (rc == MD_ETIMEOUT)
		snprintf(why, why_n,
			 "%s accepted the connection but did not answer REQUEST_IDENTITIES within %lld ms",
			 sock, (long long)(md_now_ms() - t0));
	else if (rc && rc != MD_ENOMEM)
		snprintf(why, why_n, "%s: REQUEST_IDENTITIES: %s", sock,
			 rc == MD_EIO ? "the agent closed the connection" :
			 rc == MD_ETOOBIG ? "an answer over 256 KiB" : md_status_name(rc));
	else if (rc == MD_OK && (rc = ssh_agent_parse_identities(resp, resp_len, keys)) == MD_EPARSE)
		snprintf(why, why_n, "%s: not an identities answer (message type %u)", sock,
			 resp_len ? resp[0] : 0);
	free(resp);
	return rc;
}

/* One agent's keys offered in turn (auth_agent). */
struct agent_try {
	struct md_session *ms;
	const struct md_deadline *dl;   /* the server's answers */
	struct md_deadline *adl;        /* the agent's */
	struct auth_run *ar;
	const struct id_blobs *ib;      /* IdentitiesOnly: the keys allowed, else NULL */
	const char *user, *sock;
	int fd;
	char value[16];                 /* ssh.agent */
	char why[PATH_MAX + 64];
	char wrong_alg[600];
	size_t skipped;
	int result;
};

/* The key offered and signed through the agent.  True when the offers end here (logged
 * in, or at->result says why not); false to go on with the next key. */
static bool agent_try_key(struct agent_try *at, const struct ssh_agent_key *k)
{
	LIBSSH2_SESSION *ssh = md_session_ssh(at->ms);
	struct agent_sign_ctx c = { .fd = at->fd, .dl = at->adl, .key = k, .status = 1 };
	void *abstract = &c;
	char type[48] = "unknown", what[300], got[200];
	int rc;

	ssh_blob_type(k->blob, k->blob_len, type, sizeof(type));
	snprintf(what, sizeof(what), "agent key %s", k->comment);
	if (!agent_key_allowed(at->ib, k)) {
		at->skipped++;
		ssh_note(at->ar->skipped, sizeof(at->ar->skipped),
			 "%s (%s): not an identity file's key (IdentitiesOnly yes)", what, type);
		return false;
	}
	MD_SSH_STEP(rc, at->ms, at->dl,
		    libssh2_userauth_publickey(ssh, at->user, k->blob, k->blob_len, agent_sign, &abstract));
	if (c.status == MD_EPROTO) {
		/* Not the server's refusal: the signature never reached it. */
		ssh_escape(c.got_alg, strlen(c.got_alg), got, sizeof(got));
		ssh_note(at->wrong_alg, sizeof(at->wrong_alg),
			 "%s (%s): the agent signed with %s, %s was requested", what, type, got, c.alg);
		ssh_note(at->ar->skipped, sizeof(at->ar->skipped),
			 "%s (%s): the agent signed with %s, %s was requested", what, type, got, c.alg);
		return false;
	}
	tried(at->ar, what, type);
	if (rc == 0) {
		snprintf(at->ar->method, sizeof(at->ar->method), "agent");
		snprintf(at->ar->method_ev, sizeof(at->ar->method_ev), "%s (%s) accepted for %s",
			 what, type, at->user);
		at->result = MD_OK;
		return true;
	}
	if (c.status == MD_ENOMEM) {
		at->result = MD_ENOMEM;
		return true;
	}
	if (c.status == MD_EAUTH || c.status == MD_EPARSE) {
		ssh_note(at->ar->skipped, sizeof(at->ar->skipped), "agent %s",
			 c.status == MD_EAUTH ? "refused to sign (a confirmation declined?)"
					      : "sent a malformed signature");
		return false;
	}
	if (c.status != MD_OK && c.status != 1) {
		/* A request may still be pending there, or part of an answer unread: never
		 * use this connection again, go on with the identity files. */
		snprintf(at->value, sizeof(at->value), "%s",
			 c.status == MD_ETIMEOUT ? "unresponsive" : "error");
		agent_unusable(&c, at->sock, what, type, at->why, sizeof(at->why));
		ssh_note(at->ar->skipped, sizeof(at->ar->skipped), "agent %s", at->why);
		return true;
	}
	if (rc == LIBSSH2_ERROR_TIMEOUT) {
		at->result = MD_ETIMEOUT;
		return true;
	}
	snprintf(at->ar->last, sizeof(at->ar->last), "%s", md_ssh_last_error(ssh));
	if (!denial(rc)) {
		at->result = MD_EIO;
		return true;
	}
	return false;
}

/* The agent's keys, all agent I/O bounded by the agent's own deadline; the server's
 * answers by dl.  Records ssh.agent.  MD_OK (logged in), MD_EAUTH (all refused, none, or
 * no usable agent: go on with the identity files), MD_ETIMEOUT (the server did not
 * answer), MD_EIO, MD_ENOMEM. */
static int auth_agent(struct md_session *ms, const struct md_target *t, const struct md_deadline *dl,
		      struct auth_run *ar, struct md_facts *f)
{
	const char *sock = t->identity_agent ? t->identity_agent : getenv("SSH_AUTH_SOCK");
	const char *from = t->identity_agent ? "IdentityAgent" : "SSH_AUTH_SOCK";
	struct ssh_agent_keys keys = { 0 };
	struct id_blobs *ib = NULL;
	struct md_deadline adl;
	struct agent_try at = { .ms = ms, .dl = dl, .adl = &adl, .ar = ar, .user = ssh_auth_user(t),
				.sock = sock, .fd = -1, .value = "error", .result = MD_EAUTH };
	int64_t left, t0 = md_now_ms();
	int rc;

	if (t->identity_agent && strcmp(t->identity_agent, "none") == 0) {
		md_fact_str(f, P, "ssh.agent", "disabled", "IdentityAgent none in ssh_config: no agent asked");
		return MD_EAUTH;
	}
	if (!sock || !*sock) {
		md_fact_str(f, P, "ssh.agent", "none", "SSH_AUTH_SOCK is not set: no agent to ask");
		return MD_EAUTH;
	}
	md_fact_strf(f, P, "ssh.agent_socket", sock, "from %s", from);
	left = md_deadline_left_ms(dl);
	adl = md_deadline_min(*dl, md_deadline_after(t0, left / 2 < AGENT_WAIT_MAX_MS ? left / 2 : AGENT_WAIT_MAX_MS));
	rc = agent_identities(sock, &adl, t0, &at.fd, &keys, at.why, sizeof(at.why));
	/* With IdentitiesOnly, the identity files' public keys, read once for every agent
	 * key. */
	if (rc == MD_OK && t->identities_only) {
		ib = calloc(1, sizeof(*ib));
		if (ib)
			id_blobs_read(t, ib);
		else
			rc = MD_ENOMEM;
	}
	at.ib = ib;
	if (rc == MD_ENOMEM) {
		at.result = MD_ENOMEM;
		goto out;
	}
	if (rc) {
		snprintf(at.value, sizeof(at.value), "%s", rc == MD_ETIMEOUT ? "unresponsive" :
						      at.fd < 0 ? "unreachable" : "error");
		ssh_note(ar->skipped, sizeof(ar->skipped), "agent %s", at.why);
		goto out;
	}
	snprintf(at.value, sizeof(at.value), "ok");
	snprintf(at.why, sizeof(at.why), "%zu key(s) from %s", keys.n, sock);
	for (size_t i = 0; i < keys.n; i++)
		if (agent_try_key(&at, &keys.v[i]))
			break;
	if (at.skipped && strcmp(at.value, "ok") == 0)
		snprintf(at.why + strlen(at.why), sizeof(at.why) - strlen(at.why),
			 ", %zu not offered (IdentitiesOnly yes)", at.skipped);
	if (at.wrong_alg[0] && strcmp(at.value, "ok") == 0)
		snprintf(at.why + strlen(at.why), sizeof(at.why) - strlen(at.why), "; not used: %s",
			 at.wrong_alg);
out:
	if (at.result != MD_ENOMEM)
		md_fact_strf(f, P, "ssh.agent", at.value, "%s (%s)", at.why, from);
	if (strcmp(at.value, "unresponsive") == 0)
		md_fact_check(f, "ssh.agent", MD_CHECK_WARN, "SSH agent did not answer: not used");
	free(ib);
	ssh_agent_keys_free(&keys);
	if (at.fd >= 0)
		close(at.fd);
	return at.result;
}

/* The target's identity files, in order. */
static int auth_files(struct md_session *ms, const struct md_target *t,
		      const struct md_deadline *dl, struct auth_run *ar)
{
	LIBSSH2_SESSION *ssh = md_session_ssh(ms);

	for (size_t i = 0; i < t->n_identities; i++) {
		const char *file = t->identities[i];
		struct ssh_keyinfo ki;
		char pub[PATH_MAX], what[PATH_MAX + 16];
		int rc;

		rc = ssh_identity_info(file, &ki);
		if (rc == MD_ENOMEM)
			return MD_ENOMEM;
		if (rc && rc != MD_EPARSE) {
			/* OpenSSH silently skips the default identity files that do not exist. */
			if (rc != MD_ENOTFOUND || t->identities_explicit)
				ssh_note(ar->skipped, sizeof(ar->skipped), "%s: %s", file,
				     rc == MD_ENOTFOUND ? "not found" : "unreadable");
			continue;
		}
		if (ki.encrypted) {
			/* meshdoctor never asks for a passphrase (BatchMode=yes, seeds/002). */
			ssh_note(ar->encrypted, sizeof(ar->encrypted), "%s", file);
			continue;
		}
		snprintf(pub, sizeof(pub), "%s.pub", file);
		if (access(pub, R_OK) != 0)
			pub[0] = '\0';
		snprintf(what, sizeof(what), "%s", file);
		/* An empty passphrase, never NULL: libssh2's OpenSSL callback calls strlen() on it. */
		MD_SSH_STEP(rc, ms, dl,
			 libssh2_userauth_publickey_fromfile_ex(ssh, ssh_auth_user(t), (unsigned)strlen(ssh_auth_user(t)),
								pub[0] ? pub : NULL, file, ""));
		if (rc == 0) {
			tried(ar, what, ki.type);
			snprintf(ar->method, sizeof(ar->method), "publickey:%s", file);
			snprintf(ar->method_ev, sizeof(ar->method_ev), "key %s (%s) accepted for %s",
				 file, ki.type, ssh_auth_user(t));
			return MD_OK;
		}
		if (rc == LIBSSH2_ERROR_TIMEOUT)
			return MD_ETIMEOUT;
		if (rc == LIBSSH2_ERROR_FILE) {
			ssh_note(ar->skipped, sizeof(ar->skipped), "%s: %s", file, md_ssh_last_error(ssh));
			continue;
		}
		snprintf(ar->last, sizeof(ar->last), "%s", md_ssh_last_error(ssh));
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
		snprintf(label, sizeof(label), "Logged in as %s (%s)", ssh_auth_user(t), ar->method);
		md_fact_check(f, "ssh.auth", MD_CHECK_OK, label);
		return;
	}
	if (rc == MD_EAUTH) {
		bool trap = ar->tried > 0 && ar->tried_rsa == ar->tried && have_banner &&
			    ssh_openssh_at_least(b, 8, 8) && libssh2_rsa_sha1_only();

		md_fact_strf(f, P, "ssh.auth", "denied", "%s refused %s: %s%s%s",
			     b->software[0] ? b->software : "the server", ssh_auth_user(t),
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
		snprintf(label, sizeof(label), "Authentication as %s denied", ssh_auth_user(t));
		md_fact_check(f, "ssh.auth", MD_CHECK_FAIL, label);
		return;
	}
	md_fact_str(f, P, "ssh.auth", "error", error_text);
	snprintf(label, sizeof(label), "Authentication as %s did not complete", ssh_auth_user(t));
	md_fact_check(f, "ssh.auth", MD_CHECK_FAIL, label);
}

int ssh_authenticate(struct md_session *ms, const struct md_target *t,
			const struct md_deadline *dl, struct md_facts *f,
			const struct ssh_banner *b, bool have_banner)
{
	LIBSSH2_SESSION *ssh = md_session_ssh(ms);
	const char *user = ssh_auth_user(t);
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
			snprintf(err_text, sizeof(err_text), "userauth list for %s: %s", user, md_ssh_last_error(ssh));
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
	rc = auth_agent(ms, t, dl, ar, f);
	if (rc == MD_EAUTH)
		rc = auth_files(ms, t, dl, ar);
	if (rc == MD_ETIMEOUT)
		snprintf(err_text, sizeof(err_text), "authentication as %s: no answer before the deadline (offered: %s)",
			 user, ar->keys[0] ? ar->keys : "nothing yet");
	else if (rc == MD_EIO)
		snprintf(err_text, sizeof(err_text), "authentication as %s: %s", user, ar->last[0] ? ar->last : md_ssh_last_error(ssh));
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
