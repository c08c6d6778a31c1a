/* inventory.h — the hosts of a run over many hosts, from a file (`check --inventory FILE`).
 *
 * Two formats, told apart line by line:
 *   - meshdoctor's: one TARGET a line ([user@]host[:port] or an ssh_config alias), with
 *     optional settings after it: `port=N`, `user=NAME`; `#` and `;` start comments;
 *   - Ansible's INI inventory: `[group]` headers, `name ansible_host=ADDR ansible_port=N
 *     ansible_user=U` (and the older ansible_ssh_host/_port/_user); `[group:vars]` and
 *     `[group:children]` sections hold no hosts and are skipped; other variables are
 *     Ansible's and ignored.
 * A host listed twice (in two groups, say) is checked once.  Mistakes are errors naming the
 * line: a malformed target, a bad port, an unknown setting outside an Ansible section, a
 * host range (`web[01:50]`), which is not expanded. */
#ifndef MD_INVENTORY_H
#define MD_INVENTORY_H

#include "core/err.h"

#include <stddef.h>

#define MD_INVENTORY_MAX_HOSTS 10000
#define MD_INVENTORY_MAX_LINE 4096

struct md_inv_host {
	char *spec;  /* the TARGET to check: [user@]host[:port] ([addr]:port for IPv6) */
	char *name;  /* the name the inventory gives it (Ansible's inventory name) */
	int line;    /* where it was listed first */
};

struct md_inventory {
	struct md_inv_host *v;
	size_t n, cap;
};

/* Parses text[0..len) (NUL bytes are an error) into inv (zeroed by the caller, freed with
 * md_inventory_free() in every case).  MD_OK; MD_EINVAL with err saying "line N: what
 * and what to write instead"; MD_ETOOBIG past MD_INVENTORY_MAX_HOSTS; MD_ENOMEM. */
int md_inventory_parse(const char *text, size_t len, struct md_inventory *inv, struct md_err *err);
void md_inventory_free(struct md_inventory *inv);

#endif
