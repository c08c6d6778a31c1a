/* tsan_fleet — the test of tests/unit/test_fleet.c as a plain program, for `make tsan`:
 * criterion's test runner cannot start under ThreadSanitizer (its arena and TSan's shadow
 * memory collide).  Exit 0 when the hosts' runs ended as they must; a race makes TSan
 * end the program with its report (TSAN_OPTIONS=halt_on_error=1, scripts/run-tests.sh). */
#include "tests/support/fleet.h"

#include <stdio.h>

int main(void)
{
	char why[512];
	int rc = fleet_setup(why, sizeof(why));

	if (rc == 0)
		rc = fleet_run(why, sizeof(why));
	fleet_teardown();
	if (rc) {
		fprintf(stderr, "tsan_fleet: %s\n", why);
		return 1;
	}
	printf("tsan_fleet: %d hosts checked at once: ok\n", FLEET_HOSTS);
	return 0;
}
