/* fleet.h — several hosts' checks at once, for tests: one real OpenSSH sshd in a network
 * namespace of the calling process's own, reached on a loopback address per host, and
 * md_fleet_run() checking them all at once on its pool of threads.  Used by tests/unit/test_fleet.c
 * (criterion) and tests/tsan/tsan_fleet.c (a plain program: criterion cannot run under
 * ThreadSanitizer).  Needs root, as sshd does. */
#ifndef MD_TEST_FLEET_H
#define MD_TEST_FLEET_H

#include <stddef.h>

#define FLEET_HOSTS 4

/* Enters a new network namespace (lo up) and starts sshd there.  0, or -1 with why. */
int fleet_setup(char *why, size_t n);
void fleet_teardown(void);
/* Checks FLEET_HOSTS hosts at once and checks each result: its own address, host key
 * match, login, host.os, the listing, every probe complete.  0, or -1 with why. */
int fleet_run(char *why, size_t n);

#endif
