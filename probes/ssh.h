/* ssh.h — the ssh probe (`probe_ssh` in probes/ssh.c).  The SSH client it drives is in
 * core/: ssh_banner.h, ssh_kex.h, ssh_keys.h, ssh_agent.h, known_hosts.h. */
#ifndef MD_PROBE_SSH_H
#define MD_PROBE_SSH_H

#include "core/known_hosts.h"
#include "core/ssh_agent.h"
#include "core/ssh_banner.h"
#include "core/ssh_kex.h"
#include "core/ssh_keys.h"
#include "core/ssh_wire.h"

#endif
