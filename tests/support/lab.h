/* lab.h — the test lab: network namespaces, real servers and the meshdoctor binary.
 *
 * Every namespace is named "mdlab-<pid>-<suffix>", every process the lab starts is
 * tracked by pid, and lab_free() tears all of it down (it also runs from an atexit
 * handler).  If a test process dies hard, scripts/lab-sweep.sh removes what is left.
 *
 * Traffic rule: an address inside a namespace is reachable only from another namespace,
 * so lab clients (meshdoctor included) run inside a namespace: lab_run_md() and
 * lab_spawn() refuse a NULL namespace and check, after setns(), that the child really is
 * in the named namespace and not in the root one. */
#ifndef MD_LAB_H
#define MD_LAB_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lab;

/* A new lab with its own temporary directory (/tmp/mdlab-<pid>-<tag>). NULL on failure. */
struct lab *lab_new(const char *tag);
/* Kills every tracked process (TERM, then KILL), every process left in the lab's
 * namespaces, deletes the namespaces and the directory.  NULL-safe. */
void lab_free(struct lab *l);

const char *lab_dir(const struct lab *l);
/* lab_dir() + "/" + name, in a buffer owned by the lab (valid until lab_free). */
const char *lab_path(struct lab *l, const char *name);

/* Creates namespace "mdlab-<pid>-<suffix>" with lo up; returns its name (owned by the lab)
 * or NULL. */
const char *lab_netns(struct lab *l, const char *suffix);
/* Joins two namespaces with a veth pair and assigns the addresses (CIDR, e.g.
 * "10.77.0.1/24"); both ends up.  if_a/if_b name the ends (<= 15 chars). 0 on success. */
int lab_veth(struct lab *l, const char *ns_a, const char *if_a, const char *cidr_a,
	     const char *ns_b, const char *if_b, const char *cidr_b);

/* Starts argv inside namespace ns (required), stdout+stderr appended to
 * lab_path(log_name).  The process is tracked.  Returns its pid or -1. */
pid_t lab_spawn(struct lab *l, const char *ns, const char *const argv[], const char *log_name);
/* Stops one tracked process (TERM, then KILL after 1 s) and reaps it. */
void lab_stop(struct lab *l, pid_t pid);

/* Runs a shell command line (test set-up only, e.g. nft rules) inside ns (NULL = the root
 * namespace, allowed only for commands that touch no network such as ssh-keygen), waits,
 * returns its exit code (or -1).  Output goes to lab_path("sh.log"). */
int lab_sh(struct lab *l, const char *ns, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Polls until something accepts TCP on host:port inside ns, up to timeout_ms. 0 when it does. */
int lab_wait_tcp(struct lab *l, const char *ns, const char *host, int port, int timeout_ms);
/* A lab host: a real OpenSSH sshd listening on host:port inside ns_srv (reached from
 * ns_cli), with a host key and a client key made for it in the lab's directory; root may
 * log in with the client key; known_hosts (host, or [host]:port) holds the host key.
 * extra: more sshd_config lines (SetEnv, ForceCommand, Subsystem, ...), or NULL.  0 once it
 * listens, -1 otherwise (see sshd.log and sh.log). */
struct lab_sshd {
	char key[300];    /* the client's private key (--identity) */
	char kh[300];     /* known_hosts (--known-hosts) */
	char config[300]; /* its sshd_config */
};
int lab_sshd_root_host(struct lab *l, const char *ns_srv, const char *ns_cli, const char *host,
		       int port, const char *extra, struct lab_sshd *out);

/* The whole of path, NUL-ended and malloc'd ("" when it cannot be read; NULL only when
 * out of memory). */
char *lab_read_file(const char *path);

/* Polls until path exists, up to timeout_ms. 0 when it does. */
int lab_wait_file(const char *path, int timeout_ms);

struct lab_md_result {
	int exit_code;
	char *out;          /* stdout */
	char *err;          /* stderr */
	cJSON *report;      /* parsed report when "--json -" was among the args and stdout parsed */
	int64_t elapsed_ms; /* wall time of the run */
};
void lab_md_result_free(struct lab_md_result *r);

/* Runs the meshdoctor binary (env MD_BIN, default ./meshdoctor) inside ns with args
 * (NULL-terminated, without argv[0]).  Kills it after timeout_ms.  0 when it ran. */
int lab_run_md(struct lab *l, const char *ns, const char *const args[], int timeout_ms,
	       struct lab_md_result *r);

/* lab_run_md() with input (a string) on meshdoctor's standard input instead of
 * /dev/null (--password-stdin). */
int lab_run_md_stdin(struct lab *l, const char *ns, const char *const args[], const char *input,
		     int timeout_ms, struct lab_md_result *r);

/* lab_run_md() as another local user: the child enters ns as root, then takes the
 * user's uid, gid and groups and its HOME, so that programs meshdoctor runs (`ssh -G`)
 * read that user's ~/.ssh; SSH_AUTH_SOCK is not passed on (an agent there is not the
 * user's).  -1 when the user does not exist. */
int lab_run_md_as(struct lab *l, const char *ns, const char *user, const char *const args[],
		  int timeout_ms, struct lab_md_result *r);

/* Helpers over a report: the finding ids (rule) in order, and a fact's value as text.
 * lab_report_has_finding: true when a finding with rule id is present. */
bool lab_report_has_finding(const cJSON *report, const char *rule_id);
/* Index of the finding in the findings array, -1 if absent. */
int lab_report_finding_index(const cJSON *report, const char *rule_id);
/* The fact's value as text ("refused", "3", "true"), or NULL. Borrowed from report. */
const char *lab_report_fact(const cJSON *report, const char *fact, char *buf, size_t len);
/* The evidence text of fact in the report; NULL when the fact or its evidence is missing. */
const char *lab_report_evidence(const cJSON *report, const char *fact);
size_t lab_report_n_findings(const cJSON *report);

/* Path of a binary the build made (e.g. "tests/helpers/tlsalert"): $MD_BUILD/<rel>. */
const char *lab_build_path(struct lab *l, const char *rel);

#endif
