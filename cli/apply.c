/* apply.c — what `prepare` and `fix` share once remedies have made their plans: showing
 * them, the dry run on a recording session, asking, reading the secrets the steps take,
 * and applying them in order over the check's session. */
#include "cli/apply.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The secrets a step may name, how a dry run shows each, and how it is asked for. */
static const struct {
	const char *name, *shown_tty, *shown_stdin, *prompt;
} known_secrets[] = {
	{ "sudo-password", "<sudo password from the terminal>",
	  "<sudo password from standard input>", "[sudo] password for %s: " },
	{ "auth-key", NULL, NULL, NULL }, /* from --authkey-file */
};
#define N_KNOWN (sizeof(known_secrets) / sizeof(known_secrets[0]))
#define AUTH_KEY 1

void cli_secrets_init(struct cli_secrets *s, bool from_stdin, const char *authkey_file)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->shown_key, sizeof(s->shown_key), "<auth key from %s>",
		 authkey_file ? authkey_file : "--authkey-file");
	for (size_t i = 0; i < N_KNOWN; i++) {
		s->v[i].name = known_secrets[i].name;
		s->v[i].shown = i == AUTH_KEY ? s->shown_key
			      : from_stdin ? known_secrets[i].shown_stdin : known_secrets[i].shown_tty;
	}
	s->n = N_KNOWN;
	s->from_stdin = from_stdin;
	s->authkey_file = authkey_file;
}

void cli_secrets_wipe(struct cli_secrets *s)
{
	OPENSSL_cleanse(s->buf, sizeof(s->buf));
	for (size_t i = 0; i < s->n; i++) {
		s->v[i].value = NULL;
		s->v[i].len = 0;
	}
}

static bool plan_needs(const struct md_plan *p, const char *secret)
{
	for (size_t i = 0; i < p->n; i++)
		if ((p->v[i].stdin_secret && strcmp(p->v[i].stdin_secret, secret) == 0) ||
		    (p->v[i].data_secret && strcmp(p->v[i].data_secret, secret) == 0))
			return true;
	return false;
}

int cli_show_plans(FILE *to, const struct md_plan *plans, size_t n, const char *target,
		   const struct cli_secrets *sec, size_t *with_steps)
{
	struct md_buf out;
	int rc = MD_OK;

	*with_steps = 0;
	md_buf_init(&out, 0);
	for (size_t i = 0; i < n && rc == MD_OK; i++) {
		md_buf_reset(&out);
		rc = md_plan_print(&plans[i], target, sec->v, sec->n, &out);
		fputs(md_buf_str(&out), plans[i].refused[0] ? stderr : to);
		if (plans[i].n && !plans[i].refused[0])
			(*with_steps)++;
	}
	md_buf_cleanup(&out);
	if (rc != MD_OK)
		cli_error("out of memory");
	return rc;
}

int cli_dry_run(FILE *to, const struct md_plan *plans, size_t n, struct md_session *s,
		const struct cli_secrets *sec)
{
	struct md_buf log;
	struct md_err err = { 0 };
	struct md_apply_result ar;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 1000);
	struct md_session *rec;
	int rc = MD_EXIT_OK;

	md_buf_init(&log, 0);
	rec = md_session_new_recording(md_session_peer(s), md_session_os(s), &log, &err);
	for (size_t i = 0; rec && i < n && rc == MD_EXIT_OK; i++)
		if (!plans[i].refused[0] && md_plan_apply(&plans[i], rec, sec->v, sec->n, &dl, &ar,
							  &err) != MD_OK)
			rc = MD_EXIT_UNKNOWN;
	if (!rec || rc != MD_EXIT_OK) {
		cli_error("dry run: %s", err.msg);
		rc = MD_EXIT_UNKNOWN;
	} else {
		fprintf(to, "\nDry run: nothing was changed.  What %s would receive:\n%s",
		       md_session_peer(s), md_buf_str(&log));
	}
	md_session_free(rec);
	md_buf_cleanup(&log);
	return rc;
}

/* The auth key: the first line of --authkey-file, which only its owner may read. */
static int read_authkey(struct cli_secrets *s)
{
	struct md_buf b;
	size_t n;
	struct stat st;

	if (!s->authkey_file) {
		cli_error("a plan needs a pre-auth key: give --authkey-file FILE");
		return MD_EXIT_USAGE;
	}
	if (stat(s->authkey_file, &st) == 0 && (st.st_mode & 077))
		fprintf(stderr, "meshdoctor: warning: %s can be read by others (mode %04o): "
			"chmod 600 it\n", s->authkey_file, (unsigned)(st.st_mode & 07777));
	md_buf_init(&b, sizeof(s->buf[AUTH_KEY]) - 1);
	if (cli_read_file(s->authkey_file, &b, "a key file") != 0) {
		md_buf_cleanup(&b);
		return MD_EXIT_USAGE;
	}
	n = strcspn(md_buf_str(&b), "\r\n");
	memcpy(s->buf[AUTH_KEY], md_buf_str(&b), n);
	s->buf[AUTH_KEY][n] = '\0';
	OPENSSL_cleanse(b.data, b.len);
	md_buf_cleanup(&b);
	if (!n) {
		cli_error("--authkey-file %s: no key on its first line", s->authkey_file);
		return MD_EXIT_USAGE;
	}
	s->v[AUTH_KEY].value = s->buf[AUTH_KEY];
	s->v[AUTH_KEY].len = n;
	return 0;
}

/* The secret i for target: the key from its file, the password from standard input or
 * the terminal. */
static int read_secret(struct cli_secrets *s, size_t i, const char *target)
{
	char prompt[300];
	int len;

	if (i == AUTH_KEY)
		return read_authkey(s);
	snprintf(prompt, sizeof(prompt), known_secrets[i].prompt, target);
	len = s->from_stdin ? cli_read_secret_stdin(s->buf[i], sizeof(s->buf[i]))
			    : cli_read_secret_tty(prompt, s->buf[i], sizeof(s->buf[i]));
	if (len < 0) {
		cli_error(s->from_stdin ? "--password-stdin: no password on standard input (one "
					  "line, at most %zu bytes)"
					: "no terminal to read the sudo password from: give "
					  "--password-stdin (at most %zu bytes)", sizeof(s->buf[i]) - 1);
		return MD_EXIT_USAGE;
	}
	s->v[i].value = s->buf[i];
	s->v[i].len = (size_t)len;
	return 0;
}

int cli_consent_and_secrets(const struct md_plan *plans, size_t n, size_t with_steps,
			    const char *target, bool yes, struct cli_secrets *sec)
{
	char q[512];

	if (!yes) {
		int c;

		snprintf(q, sizeof(q), "Apply %s to %s?", with_steps == 1 ? "this plan" : "these plans",
			 target);
		c = cli_confirm(q);
		if (c < 0) {
			cli_error("no terminal to ask on: give --yes to apply, or --dry-run to see "
				  "what would be done");
			return MD_EXIT_USAGE;
		}
		if (c == 0) {
			fprintf(stderr, "meshdoctor: nothing done\n");
			return CLI_DECLINED;
		}
	}
	for (size_t i = 0; i < sec->n; i++) {
		bool needed = false;

		for (size_t k = 0; k < n; k++)
			needed |= !plans[k].refused[0] && plan_needs(&plans[k], sec->v[i].name);
		if (needed) {
			int rc = read_secret(sec, i, target);

			if (rc)
				return rc;
		}
	}
	return 0;
}

int cli_apply_plans(FILE *to, const struct md_plan *plans, size_t n, struct md_session *s,
		    const struct cli_secrets *sec, int64_t timeout_ms)
{
	struct md_deadline dl = md_deadline_after(md_now_ms(), timeout_ms);

	for (size_t i = 0; i < n; i++) {
		struct md_apply_result ar;
		struct md_err err = { 0 };
		int rc;

		if (plans[i].refused[0] || !plans[i].n)
			continue;
		rc = md_plan_apply(&plans[i], s, sec->v, sec->n, &dl, &ar, &err);
		if (rc != MD_OK) {
			cli_error("%s: %s; stopped there (%zu of %zu steps done)", plans[i].remedy,
				  err.msg, ar.done, plans[i].n);
			return rc == MD_ENOMEM ? MD_EXIT_UNKNOWN : MD_EXIT_CRITICAL;
		}
		fprintf(to, "%s: applied %zu of %zu steps\n", plans[i].remedy, ar.done, plans[i].n);
	}
	return 0;
}
