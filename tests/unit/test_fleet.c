/* Unit tests: several hosts' checks in one process at once — md_check_run() on threads,
 * each against its own loopback address of one real OpenSSH sshd, in a network namespace
 * of the test's own, so nothing leaves it (tests/support/fleet.c).  `make tsan` runs the
 * same under ThreadSanitizer (tests/tsan/tsan_fleet.c).  Needs root, as sshd does. */
#include "tests/support/fleet.h"

#include <criterion/criterion.h>

static void setup(void)
{
	char why[512];

	cr_assert_eq(fleet_setup(why, sizeof(why)), 0, "%s", why);
}

TestSuite(fleet, .init = setup, .fini = fleet_teardown, .timeout = 90);

Test(fleet, four_hosts_checked_at_once_each_get_their_own_result)
{
	char why[512];

	cr_assert_eq(fleet_run(why, sizeof(why)), 0, "%s", why);
}
