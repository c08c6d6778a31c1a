/* fuzz_known_hosts — known_hosts files (core/known_hosts.c): the input's first line is
 * the name looked up, the rest the file's text (plain and hashed |1| lines, markers,
 * patterns), checked for a fixed ed25519 key as the ssh probe checks a server's; and the
 * first line as a host field against a name, where the matcher's work must stay within
 * (name length + 1) * (field length + 1) steps. */
#include "core/err.h"
#include "core/known_hosts.h"
#include "core/ssh_wire.h"
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* The ed25519 key blob a server presents, base64 as in a known_hosts line. */
static const char key_b64[] = "AAAAC3NzaC1lZDI1NTE5AAAAIGHUwlgAIenmb9ckpU5UWyiRURoTGeHKUKxnIAdOpWP+";

static void matcher_bound(const char *field, const char *name)
{
	unsigned long budget = ~0ul;
	unsigned long bound = (strlen(name) + 1) * (strlen(field) + 1);

	(void)ssh_known_hosts_match_budget(field, name, &budget);
	if (~0ul - budget > bound)
		abort(); /* more work than the two-pointer match can take */
	(void)ssh_known_hosts_match(field, name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size), *nl, path[64], types[160];
	unsigned char key[64];
	long key_len = ssh_b64_decode(key_b64, strlen(key_b64), key, sizeof(key));
	const char *files[1] = { path };
	struct ssh_kh_result r;
	int fd;

	if (!text)
		return 0;
	nl = strchr(text, '\n');
	if (nl)
		*nl = '\0';
	matcher_bound(text, "office-one.tailnet-abcd.ts.net");
	matcher_bound("*.ts.net,!*bad*,office-?,[10.1.2.*]:2222", text);
	fd = memfd_create("known_hosts", MFD_CLOEXEC);
	if (fd >= 0 && nl && write(fd, nl + 1, size - (size_t)(nl + 1 - text)) >= 0) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		(void)ssh_known_hosts_check(files, 1, text, key, (size_t)key_len, &r, NULL);
		ssh_known_hosts_types(files, 1, text, types, sizeof(types));
	}
	if (fd >= 0)
		close(fd);
	free(text);
	return 0;
}
