/* probe_run.h — how one probe's run went: what the report shows of it and what the
 * verdict weighs.  Apart from probes/ so that report/ and rules/ need nothing from there. */
#ifndef MD_PROBE_RUN_H
#define MD_PROBE_RUN_H

#include <stdint.h>

struct md_probe_run {
	const char *probe;   /* the probe's name (static: the registry's) */
	int status;          /* MD_OK ran, MD_ESKIP skipped, other: could not complete */
	char message[512];   /* why skipped / what failed ("" when ran) */
	int64_t duration_ms;
};

#endif
