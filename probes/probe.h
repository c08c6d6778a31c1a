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
	/* dns probe */
	const char *login_server; /* --login-server URL: its host is resolved too (default:
				   * the node's ControlURL, tailscale.control_url); the tailscale
				   * probe compares ControlURL with it */
	/* tailscale probe */
	bool netcheck;          /* --netcheck: run `tailscale netcheck` on the host even when
				 * no peer is relayed */
	/* headscale probe */
	const char *headscale_host; /* --headscale-host [USER@]HOST[:PORT]: where Headscale's
				     * CLI is read (default: the target, when it has one) */
	/* The run's SSH options (--identity, --known-hosts, --ssh-config, ...) for sessions to
	 * other hosts than the target (--headscale-host); NULL: ssh_config's defaults. */
	const struct md_target_opts *ssh_opts;
};

struct md_hostbatch;
struct md_host_out;

/* What a probe is given.  It reads the facts of the probes it runs after (.after) from
 * the store its run() gets: they are copied there before it starts. */
struct md_ctx {
	const struct md_target *target;
	struct md_session *session;      /* the session, for probes that need one; else NULL
					  * (MD_USES_SESSION probes: md_ctx_session()) */
	struct md_deadline deadline;     /* the probe's deadline: min(run deadline, its budget) */
	const struct md_options *opt;
	struct md_hostbatch *batch;      /* this run's host batch (md_ctx_host()); NULL outside
					  * the engine: commands then run alone */
	/* The engine's: waits until the session is known (NULL: none will come). */
	struct md_session *(*wait_session)(struct md_ctx *ctx);
	/* The engine's: waits until probe `name` (one of .reads) has finished and copies its
	 * facts into facts.  MD_OK, MD_ENOTFOUND when it is not part of the run, MD_ENOMEM. */
	int (*wait_probe)(struct md_ctx *ctx, const char *name, struct md_facts *facts);
	void *engine;
	const char *host_os;             /* md_ctx_host_os()'s answer, once asked */
};

enum md_probe_needs {
	MD_NEEDS_NOTHING = 0,
	MD_NEEDS_SESSION = 1 << 0,   /* starts once the session is up; skipped without one */
	MD_NEEDS_OPT_IN = 1 << 1,    /* runs only when named in --probes (or its options
				      * ask for it): e.g. a live capture that takes seconds */
	MD_OPENS_SESSION = 1 << 2,   /* opens the session the others use (ssh): sets
				      * ctx->session before it returns */
	MD_USES_SESSION = 1 << 3,    /* starts at once, and uses the session when there is
				      * one: md_ctx_session() waits for it */
};

struct md_probe {
	const char *name;            /* "ssh", "port", "tls", "wireguard" */
	const char *desc;            /* one line for `meshdoctor probes` */
	const char *const *provides; /* fact names, NULL-terminated; '*' matches one segment */
	unsigned needs;              /* enum md_probe_needs */
	/* Probes whose facts this one reads (NULL-terminated names, or NULL): it starts when
	 * they have finished, and naming it in --probes runs them too. */
	const char *const *after;
	/* Probes that naming this one in --probes runs too, without waiting for them: their
	 * facts complete the rules about this one's (port.rules reads tailscale.*). */
	const char *const *brings;
	/* Probes whose facts this one reads part-way through its run (md_ctx_wait_probe()),
	 * after work of its own that needs nothing from them: port checks ports from here
	 * while the host probe finds out the OS. */
	const char *const *reads;
	int64_t budget_ms;           /* own budget inside the run's (0 = the run's) */
	/* Optional: the budget for these options (e.g. capture time + slack), overriding
	 * budget_ms; the run's deadline is extended by the same amount beyond --timeout. */
	int64_t (*budget)(const struct md_options *opt);
	/* Optional: true when these options ask for the probe (MD_NEEDS_OPT_IN probes). */
	bool (*wanted)(const struct md_options *opt);
	/* Optional: the host commands run() will read first (md_ctx_host() with the same id
	 * and command), added to the run's batch as soon as the session is up so that they
	 * share one round trip.  ctx->session is set; the probe has not started. */
	int (*host_steps)(const struct md_ctx *ctx, struct md_hostbatch *b, struct md_err *err);
	int (*run)(struct md_ctx *ctx, struct md_facts *facts, struct md_err *err);
};

/* The session for a MD_USES_SESSION probe: waits until the probe that opens it has
 * finished; NULL when there is none. */
struct md_session *md_ctx_session(struct md_ctx *ctx);
/* Waits until probe name (in the probe's .reads) has finished, and copies its facts into
 * facts (the store run() was given).  MD_OK; MD_ENOTFOUND when that probe is not part of
 * the run (or outside the engine); MD_ENOMEM. */
int md_ctx_wait_probe(struct md_ctx *ctx, const char *name, struct md_facts *facts);
/* The host's OS for building its commands: host.os from the host probe (waited for, its
 * facts copied into facts: the probe must list "host" in .reads), else what the session
 * knows (the banner), else "linux".  Asked once per run; static or facts-owned string. */
const char *md_ctx_host_os(struct md_ctx *ctx, struct md_facts *facts);
/* Runs host command cmd (POSIX, under `sh -c`, host-side limit limit_s) as step id: the
 * result from the run's batch when host_steps() added it there, else run alone now within
 * dl.  o must be md_host_out_init()ed.  MD_OK (o says what happened), MD_ENOMEM; without
 * a session MD_ESKIP. */
int md_ctx_host(struct md_ctx *ctx, const char *id, const char *cmd, int limit_s,
		const struct md_deadline *dl, struct md_host_out *o, struct md_err *err);

/* The registry (probes/registry.c): every probe, in an order that puts each after the
 * probes it runs after and the session's users after its opener (md_probes_check()). */
extern const struct md_probe *const md_probes[];
extern const size_t md_n_probes;

const struct md_probe *md_probe_find(const char *name);
/* Index of the probe in md_probes, -1 if unknown. */
int md_probe_index(const char *name);
/* Checks the registry: every name in .after, .reads and .brings is a probe, no probe
 * waits for itself (through .after and .reads, directly or not), and the order of
 * md_probes puts every probe after those it waits for and after the session's opener
 * when it needs or uses the session.  MD_OK, or
 * MD_EINVAL naming the first mistake.  A unit test runs it on md_probes. */
int md_probes_check(const struct md_probe *const *v, size_t n, struct md_err *err);
/* The probe that can record fact `name` (matching `provides` patterns), or NULL. */
const struct md_probe *md_probe_for_fact(const char *name);
/* Its name (static), or NULL: what struct md_ruleset's fact_owner asks. */
const char *md_probe_fact_owner(const char *name);

#endif
