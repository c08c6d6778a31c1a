/* host.h — the host probe: which OS the target runs, and whether sudo asks for a
 * password, read over the session (probes/host.c).  Parsing, exposed for tests. */
#ifndef MD_PROBES_HOST_H
#define MD_PROBES_HOST_H

#include <stddef.h>

/* The host's steps (ids in the run's batch, and their commands). */
#define HOST_STEP_UNAME "host.uname"
#define HOST_CMD_UNAME "uname -s"
#define HOST_STEP_SUDO "host.sudo"
/* LC_ALL=C keeps sudo's messages in English for md_host_sudo_classify(). */
#define HOST_CMD_SUDO "LC_ALL=C sudo -n true"
#define HOST_CMD_VER "cmd /c ver"

/* "linux", "darwin", "windows" (MSYS/Cygwin uname too), else the lower-cased first word
 * of `uname -s`; NULL when out is empty.  Writes into buf. */
const char *md_host_os_from_uname(const char *out, char *buf, size_t n);
/* host.sudo from `sudo -n true`: "nopasswd", "password", "absent", "denied" or "error". */
const char *md_host_sudo_classify(int exit_status, const char *err_text);

#endif
