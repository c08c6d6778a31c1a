/* headscale.h — the headscale probe's parsers, exposed for tests and fuzzing.
 *
 * The probe (probes/headscale.c, `probe_headscale`) asks the login server its /health,
 * /version and /key over HTTP(S) from here, asks the target whether it reaches /health
 * too, and, where the target runs Headscale, reads its CLI: `headscale version`, `nodes
 * list -o json`, `preauthkeys list -o json`, `users list -o json`, and `systemctl
 * is-active headscale` (docs/headscale.md).  Everything that turns Headscale's text into
 * values is here and pure, tested on fixtures in the real formats of Headscale 0.22 to
 * 0.30 (fixtures/headscale/):
 *   - `-o json` is Go's encoding/json of protobuf structs: snake_case, omitempty, times
 *     as {"seconds": N, "nanos": N}; ids are strings before 0.24 (users) / 0.26 (keys);
 *   - 0.30 and the REST API use camelCase, string ids and RFC 3339 times;
 *   - a pre-auth key's `user` is a name before 0.26, a User object since. */
#ifndef MD_PROBE_HEADSCALE_H
#define MD_PROBE_HEADSCALE_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MD_HS_NAME_MAX 128
#define MD_HS_IPS 4

/* A time as Headscale writes it; set is false when absent, null, or Go's zero time. */
struct md_hs_time {
	bool set;
	int64_t s;        /* seconds since the epoch (UTC) */
};

struct md_hs_node {
	char id[24];                      /* the node id, as text */
	char name[MD_HS_NAME_MAX];        /* the OS host name */
	char given_name[MD_HS_NAME_MAX];  /* the DNS label */
	char user[MD_HS_NAME_MAX];        /* its user's name */
	char ips[MD_HS_IPS][48];
	int n_ips;
	bool online;
	struct md_hs_time expiry, last_seen;
};

struct md_hs_key {
	char id[24];
	char user[MD_HS_NAME_MAX];        /* the owner's name, "" for a tagged key */
	/* What may be shown of the key: the masked "hskey-auth-<prefix>-***" that `list`
	 * prints for 0.28+ keys; "" for a legacy key, which `list` prints in full. */
	char shown[48];
	bool reusable, ephemeral, used;
	struct md_hs_time expiration;
};

struct md_hs_user {
	char id[24];
	char name[MD_HS_NAME_MAX];
};

/* Each parses a list as `headscale ... list -o json` prints it (a JSON array; also the
 * REST API's {"nodes": [...]} / {"preAuthKeys": [...]} / {"users": [...]}, and `null`,
 * which Go prints for an empty list).  *out is malloc'ed (NULL when the list is empty),
 * *n its length.  Entries that are not objects are skipped.  MD_EPARSE (with the reason)
 * when the text is not such a list; MD_ENOMEM. */
int md_hs_parse_nodes(const char *json, struct md_hs_node **out, size_t *n, struct md_err *err);
int md_hs_parse_keys(const char *json, struct md_hs_key **out, size_t *n, struct md_err *err);
int md_hs_parse_users(const char *json, struct md_hs_user **out, size_t *n, struct md_err *err);

/* A key a node could register with now: not expired at now_s (no expiration: not
 * expired), and reusable or not yet used. */
bool md_hs_key_usable(const struct md_hs_key *k, int64_t now_s);


/* The "status" of GET /health's body ({"status":"pass"} / {"status":"fail"}) into out;
 * MD_EPARSE when the body is not such an object. */
int md_hs_parse_health(const char *body, char *out, size_t len);
/* The "version" of GET /version's body (0.27+) into out; MD_EPARSE otherwise. */
int md_hs_parse_version_body(const char *body, char *out, size_t len);
/* GET /key?v=N's body: the Noise "publicKey" ("mkey:" + 64 hex) into out; MD_EPARSE
 * otherwise. */
int md_hs_parse_key_body(const char *body, char *out, size_t len);

/* A version in `headscale version`'s output ("v0.26.1", "headscale version v0.29.2",
 * {"version": "v0.23.0"}, or a line "version: 0.22.3"): the first MAJOR.MINOR[.PATCH],
 * with an optional 'v', into out (as written, with its suffix such as "-beta1"), and its
 * numbers.  MD_EPARSE when there is none. */
int md_hs_parse_cli_version(const char *text, char *out, size_t len, int *major, int *minor);

/* The message of a failed `headscale ... -o json` (stderr `{"error": "MSG"}`) or of the
 * human form (`Error: MSG`), on one line, into out; else the first non-empty line.
 * "" for empty text. */
void md_hs_cli_error(const char *text, char *out, size_t len);

/* MAJOR.MINOR of a Tailscale version ("1.78.1", "1.80.0-t1234abcd"); MD_EPARSE. */
int md_hs_parse_ts_version(const char *text, int *major, int *minor);

#endif
