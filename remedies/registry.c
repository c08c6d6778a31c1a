/* registry.c — every remedy meshdoctor can apply.
 *
 * How to add a remedy: write remedies/NAME.c exporting one `const struct md_remedy
 * remedy_NAME` whose plan() turns facts into steps (remedy.h), declare it below and list
 * it in md_remedies; rules name it in their `remedy =` line, and `meshdoctor rules` then
 * shows that rule's remedy as one meshdoctor applies. */
#include "remedies/remedy.h"

#include <string.h>

extern const struct md_remedy remedy_prepare_sudo, remedy_start_tailscaled, remedy_tailscale_up,
	remedy_install_tailscale;

const struct md_remedy *const md_remedies[] = {
	&remedy_prepare_sudo,
	&remedy_start_tailscaled,
	&remedy_tailscale_up,
	&remedy_install_tailscale,
	NULL,
};

const struct md_remedy *md_remedy_find(const char *name)
{
	for (size_t i = 0; name && md_remedies[i]; i++)
		if (strcmp(md_remedies[i]->name, name) == 0)
			return md_remedies[i];
	return NULL;
}
