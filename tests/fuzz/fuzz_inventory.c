/* fuzz_inventory — inventory files (core/inventory.c): meshdoctor's one-target-a-line
 * format and Ansible's INI inventory. */
#include "core/inventory.h"
#include "core/target.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct md_inventory inv = { 0 };
	struct md_err err = { 0 };
	int rc = md_inventory_parse((const char *)data, size, &inv, &err);

	if (rc == MD_OK) {
		/* Every host found is a target check accepts, listed once. */
		for (size_t i = 0; i < inv.n; i++) {
			struct md_target t = { 0 };
			struct md_err e = { 0 };

			if (md_target_parse(inv.v[i].spec, &t, &e) != MD_OK || inv.v[i].line < 1)
				abort();
			md_target_cleanup(&t);
			for (size_t k = 0; k < i; k++)
				if (strcmp(inv.v[k].spec, inv.v[i].spec) == 0)
					abort();
		}
	} else if (!err.msg[0]) {
		abort();
	}
	md_inventory_free(&inv);
	return 0;
}
