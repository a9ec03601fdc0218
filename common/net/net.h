/*
 * ZeroMQ sockets as psc uses them: the options every socket gets, binding a
 * task's port on all interfaces, and connecting to a peer by host name with
 * retries while the name does not resolve yet (compose and Kubernetes
 * create DNS names only once a peer's container or pod exists).
 */
#ifndef NET_H
#define NET_H

#include <stddef.h>

/*
 * Creates a socket of the given type with psc's options (high-water marks
 * for large messages, short linger, routing id when identity is non-NULL).
 * Returns NULL only when ZeroMQ cannot (the context is terminating).
 */
void *net_socket(void *zctx, int type, const char *identity);

/*
 * Sets the kernel send and receive buffers of a socket that carries
 * payloads (the zmq_sockbuf_bytes job option): bytes, or the OS's
 * autotuning when bytes is 0. Takes effect for connections made after it.
 */
void net_set_sockbuf(void *sock, long bytes);

/* Binds the port on every interface. Returns 0, or PSC_ENET and err. */
int net_bind(void *sock, int port, char *err);

/*
 * Connects sock to tcp://host:port. While host does not resolve, waits with
 * back-off (0.1 s doubling to 2 s), logging once whom it waits for, until
 * deadline (psc_now() seconds). Returns 0, PSC_ETIMEDOUT or PSC_EINTR (a
 * stop signal), with a line in err.
 */
int net_connect(void *sock, const char *host, int port, double deadline,
                char *err);

/* Closes a socket and sets *sock to NULL; accepts NULL. */
void net_close(void **sock);

#endif
