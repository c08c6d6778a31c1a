/* ssh.h — the ssh probe (`probe_ssh` in probes/ssh.c).  The SSH client it drives is in
 * core/: ssh_banner.h, ssh_kex.h, ssh_keys.h, ssh_agent.h, known_hosts.h. */
#ifndef MD_PROBE_SSH_H
#define MD_PROBE_SSH_H

#include "core/known_hosts.h"
#include "core/ssh_agent.h"
#include "core/ssh_banner.h"
#include "core/ssh_kex.h"
#include "core/ssh_keys.h"
#include "core/ssh_wire.h"
#include "core/deadline.h"
#include "core/err.h"
#include "core/facts.h"
#include "core/net.h"
#include "core/session.h"
#include "core/target.h"

#include <stdbool.h>
#include <stddef.h>

struct _LIBSSH2_SESSION;

/* The ssh probe's steps that probes/ssh_open.c shares (defined in probes/ssh.c). */
const char *ssh_auth_user(const struct md_target *t);
/* The known_hosts files OpenSSH reads for t: the user's, then the system-wide ones that
 * exist (or cannot be read: those are named, not passed over). */
size_t ssh_known_hosts_files(const struct md_target *t, const char **files, size_t max);
void ssh_hostkey_prefer(struct _LIBSSH2_SESSION *ssh, const char *const *files, size_t n_files,
			const char *name, char *known, size_t known_n, char *pref, size_t pref_n);
int ssh_hostkey_check(struct md_session *ms, const struct md_target *t, const char *name,
		      const char *const *files, size_t n_files, const char *asked,
		      const struct md_addr *peer, const struct md_deadline *dl, struct md_facts *f,
		      struct md_err *err);
int ssh_authenticate(struct md_session *ms, const struct md_target *t, const struct md_deadline *dl,
		     struct md_facts *f, const struct ssh_banner *b, bool have_banner);

/* Opens an SSH session to another host than the target (e.g. the Headscale server of
 * --headscale-host), t resolved (md_target_resolve()), within dl: TCP, key exchange, the
 * host key checked against known_hosts as the ssh probe checks it (a changed or revoked
 * key refused, a first-seen one recorded as accept-new does), then authentication (agent,
 * identity files).  MD_OK with
 * *out owned by the caller (md_session_free()); otherwise *out NULL and err says, in one
 * line, which step failed and how (MD_EREFUSED, MD_ETIMEOUT, MD_EHOSTKEY, MD_EAUTH...). */
int md_ssh_open(const struct md_target *t, const struct md_deadline *dl, struct md_session **out,
		struct md_err *err);

#endif
