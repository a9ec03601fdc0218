/*
 * Free TCP ports on one host, for a cluster started on a single machine:
 * the kernel picks each port when a socket binds to port 0.
 */
#ifndef LAUNCH_PORTS_H
#define LAUNCH_PORTS_H

/*
 * Writes n distinct free ports on host into ports. Returns 0; PSC_ECONFIG
 * when host does not resolve; PSC_ENET when a socket cannot be bound there.
 * err gets one line. The ports are free when the call returns, not
 * reserved: another program could still take one before our tasks bind.
 */
int launch_ports_pick(const char *host, int *ports, int n, char *err);

#endif
