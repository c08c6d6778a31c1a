/* ssh_auth.h — the ssh probe's authentication (probes/ssh_auth.c), for probes/ssh.c. */
#ifndef MD_PROBES_SSH_AUTH_H
#define MD_PROBES_SSH_AUTH_H

#include "core/deadline.h"
#include "core/facts.h"
#include "core/session.h"
#include "core/ssh_banner.h"
#include "core/target.h"

#include <stdbool.h>

/* The user to log in as: the target's, else the local user's name. */
const char *ssh_auth_user(const struct md_target *t);

/* Logs in over ms (key exchange done, host key checked): the agent's keys, then the
 * identity files; records ssh.auth and what was tried.  MD_OK when logged in; MD_ENOMEM;
 * otherwise the failure is in the facts.  b and have_banner: the server's banner, for
 * what a refusal means (an OpenSSH that takes no SHA-1 RSA signature, say). */
int ssh_authenticate(struct md_session *ms, const struct md_target *t, const struct md_deadline *dl,
		     struct md_facts *f, const struct ssh_banner *b, bool have_banner);

#endif
