/* target.h — HOST as the user wrote it, resolved the way `ssh` would resolve it.
 *
 * Syntax: [user@]host[:port], with IPv6 literals in brackets ([fd7a::2]:2222).  When
 * OpenSSH's client is installed, `ssh -G` is asked for the effective configuration, so an
 * alias from ~/.ssh/config works as it does for `ssh` (HostName, User, Port, IdentityFile,
 * IdentitiesOnly, IdentityAgent, HostKeyAlias, UserKnownHostsFile, GlobalKnownHostsFile,
 * HashKnownHosts; ProxyJump and ProxyCommand are kept so the ssh probe can say it did not
 * follow them).
 * Explicit values (user@, :port, --user, --port, --identity, --known-hosts) win. */
#ifndef MD_TARGET_H
#define MD_TARGET_H

#include "core/deadline.h"
#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>

#define MD_TARGET_MAX_FILES 8

struct md_target {
	char *spec;     /* as given */
	char *user;     /* explicit or resolved; NULL before md_target_resolve() */
	char *host;     /* as written (may be an alias) */
	char *hostname; /* what to connect to (ssh config HostName), after resolve */
	int port;       /* explicit or resolved; 0 = not yet known */
	char *identities[MD_TARGET_MAX_FILES];
	size_t n_identities;
	bool identities_explicit; /* --identity given: use only those */
	char *known_hosts[MD_TARGET_MAX_FILES];   /* the user's: UserKnownHostsFile */
	size_t n_known_hosts;
	bool known_hosts_none;                    /* UserKnownHostsFile none */
	char *global_known_hosts[MD_TARGET_MAX_FILES]; /* GlobalKnownHostsFile */
	size_t n_global_known_hosts;
	bool global_known_hosts_none;             /* GlobalKnownHostsFile none */
	bool identities_only;   /* IdentitiesOnly yes: agent keys only if an identity file's */
	char *identity_agent;   /* IdentityAgent: a socket path or "none"; NULL: $SSH_AUTH_SOCK */
	char *host_key_alias;   /* HostKeyAlias (lower case), the name looked up in known_hosts */
	char *proxy_jump;       /* ProxyJump, as `ssh -G` prints it; NULL when none */
	char *proxy_command;    /* ProxyCommand; NULL when none */
	bool hash_known_hosts;  /* HashKnownHosts yes: a new known_hosts entry is hashed */
	enum md_ssh_config {
		MD_SSH_CONFIG_SKIPPED,   /* not read: --no-ssh-config (or not resolved yet) */
		MD_SSH_CONFIG_READ,      /* `ssh -G` answered */
		MD_SSH_CONFIG_FAILED,    /* `ssh -G` failed: ssh_config_error says how */
		MD_SSH_CONFIG_NO_CLIENT, /* no `ssh` on PATH */
	} ssh_config;
	char *ssh_config_error; /* one line; NULL unless MD_SSH_CONFIG_FAILED / _NO_CLIENT */
};

/* Parses spec into t (which the caller md_target_cleanup()s even on error).
 * MD_EINVAL with a one-line message for malformed input. */
int md_target_parse(const char *spec, struct md_target *t, struct md_err *err);

/* Overrides from the command line; NULL / 0 when not given. */
struct md_target_opts {
	const char *user;
	int port;
	const char *identity;
	const char *known_hosts;
	bool no_ssh_config;     /* do not run `ssh -G` */
	const char *ssh_config; /* `ssh -F FILE -G`: this file instead of ~/.ssh/config */
};

/* Fills user, hostname, port, identities and known_hosts.  Never fails for a missing
 * ssh client or a failing `ssh -G` without --ssh-config (falls back to OpenSSH's
 * defaults and says so in ssh_config / ssh_config_error); MD_EINVAL for bad overrides and
 * for an --ssh-config file `ssh -G` rejects. */
int md_target_resolve(struct md_target *t, const struct md_target_opts *o,
		      const struct md_deadline *dl, struct md_err *err);

/* Applies the text printed by `ssh -G` (lower-case "key value" lines).  Exposed for tests. */
int md_target_apply_ssh_g(struct md_target *t, const char *text, const char *home);

void md_target_cleanup(struct md_target *t);

/* Parses a port number "1".."65535"; -1 when invalid. */
int md_parse_port(const char *s);

#endif
