/* probe.h — the probe interface.
 *
 * A probe observes and records facts; it never decides what is wrong (that is the rule
 * engine's job).  A failing step is data: record it as a fact (`tls.handshake = "timeout"`)
 * and return MD_OK.  Return an error only when the probe itself could not run (bad
 * option, out of memory): the report then marks the probe "error" and `check` can exit 3.
 * Return MD_ESKIP when a prerequisite is missing (no SSH session, not applicable to this
 * OS): the probe is listed as skipped, with err->msg saying why. */
#ifndef MD_PROBE_H
#define MD_PROBE_H

#include "core/deadline.h"
#include "core/err.h"
#include "core/facts.h"
#include "core/target.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct md_session;

#define MD_MAX_PORTS 64

/* Options from the command line that probes read.  Zero / NULL = default. */
struct md_options {
	int64_t timeout_ms;     /* the run's budget (--timeout), default 5000 */
	bool verbose;
	bool show_secrets;
	/* port probe */
	const char *port_list;  /* --port-list "8443,5000/udp" (added to the mesh's ports) */
	/* tls probe */
	int tls_port;           /* --tls-port, default 443 */
	const char *sni;        /* --sni; default: the MagicDNS name when known, else the host */
	const char *ca_file;    /* --ca, default: the system store */
	const char *tls_host;   /* --tls-host: address to dial for TLS (default: the target) */
	/* wireguard probe */
	const char *iface;      /* --iface, default: the interface routing to the target */
	int capture_seconds;    /* --capture-seconds, default 3 */
	const char *pcap_file;  /* --pcap FILE: analyse offline instead of capturing */
	int wg_ports[8];        /* --wg-port (repeatable) on top of 41641 and 51820 */
	size_t n_wg_ports;
};

/* What a probe is given.  Probes read facts recorded by earlier probes through facts. */
struct md_ctx {
	const struct md_target *target;
	struct md_session *session;      /* NULL until the ssh probe opened one, or without SSH */
	struct md_deadline deadline;     /* the probe's deadline: min(run deadline, its budget) */
	const struct md_options *opt;
};

enum md_probe_needs {
	MD_NEEDS_NOTHING = 0,
	MD_NEEDS_SESSION = 1 << 0,   /* skipped without an SSH session */
	MD_NEEDS_OPT_IN = 1 << 1,    /* runs only when named in --probes (or its options
				      * ask for it): e.g. a live capture that takes seconds */
};

struct md_probe {
	const char *name;            /* "ssh", "port", "tls", "wireguard" */
	const char *desc;            /* one line for `meshdoctor probes` */
	const char *const *provides; /* fact names, NULL-terminated; '*' matches one segment */
	unsigned needs;              /* enum md_probe_needs */
	int64_t budget_ms;           /* own budget inside the run's (0 = the run's) */
	/* Optional: the budget for these options (e.g. capture time + slack), overriding
	 * budget_ms; the run's deadline is extended by the same amount beyond --timeout. */
	int64_t (*budget)(const struct md_options *opt);
	/* Optional: true when these options ask for the probe (MD_NEEDS_OPT_IN probes). */
	bool (*wanted)(const struct md_options *opt);
	int (*run)(struct md_ctx *ctx, struct md_facts *facts, struct md_err *err);
};


/* The registry (probes/registry.c): every probe, in the order `check` runs them. */
extern const struct md_probe *const md_probes[];
extern const size_t md_n_probes;

const struct md_probe *md_probe_find(const char *name);
/* The probe that can record fact `name` (matching `provides` patterns), or NULL. */
const struct md_probe *md_probe_for_fact(const char *name);
/* Its name (static), or NULL: what struct md_ruleset's fact_owner asks. */
const char *md_probe_fact_owner(const char *name);

#endif
