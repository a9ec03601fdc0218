/*
 * Free TCP ports for a cluster started on one machine (psc-launch,
 * psc-bench, the tests): the kernel picks each port, and the port stays
 * reserved for the task that binds it after this process has let go of it.
 *
 * Two races are closed here. Picking one port at a time and closing it
 * lets the kernel hand out the same port again, so every socket of one call
 * stays open until all ports are chosen: the ports of a call are distinct.
 * Between the call and the task's bind, another program (or the next call)
 * could be given the port. A process holding the socket until the child
 * has bound would need to know when that happens, which a shell test does
 * not; so the port is parked in TCP TIME_WAIT instead: a connection to it
 * is accepted and closed by the listening side first. For the next 60 s
 * (Linux's TIME_WAIT) the kernel gives the port to no bind to port 0 and
 * no outgoing connection, and a bind without SO_REUSEADDR fails, while a
 * bind with SO_REUSEADDR, which ZeroMQ sets on every TCP listener,
 * succeeds. The reservation lives in the kernel, not in this process, so
 * it holds for ports printed by a helper program that then exits. What it
 * cannot stop is a program that binds that very port with SO_REUSEADDR.
 */
#ifndef PSC_PORT_H
#define PSC_PORT_H

/* How long a picked port stays reserved: Linux's TIME_WAIT. */
#define PSC_PORT_RESERVED_S 60

/*
 * Writes n (>= 1) distinct free TCP ports on host (a numeric address or a
 * name of this machine, such as "127.0.0.1") into ports, the caller's
 * array of n. Each is reserved as the header comment says: the task that
 * uses it must bind it with SO_REUSEADDR (any ZeroMQ tcp:// bind does)
 * within PSC_PORT_RESERVED_S seconds. Returns 0; PSC_ECONFIG when host
 * does not resolve; PSC_ENET when a port cannot be bound or reserved
 * there. On failure err (PSC_ERR_LEN bytes, may be NULL) gets one line and
 * ports is unspecified. Holds no resource after it returns.
 */
int psc_port_pick(const char *host, int *ports, int n, char *err);

#endif
