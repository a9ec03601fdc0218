/*
 * Socket set-up shared by every role.
 */
#include "net.h"

#include "psc_err.h"
#include "psc_log.h"
#include "psc_sig.h"
#include "psc_time.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

void *net_socket(void *zctx, int type, const char *identity)
{
    void *s = zmq_socket(zctx, type);
    if (s == NULL)
        return NULL;
    /*
     * Every request gets one reply, so queues are bounded by the protocol;
     * a high-water mark would make ROUTER sockets drop replies silently.
     */
    int hwm = 0;
    int linger = 2000;
    int ipv6 = 1;
    int sndbuf = 4 << 20;
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_IPV6, &ipv6, sizeof ipv6);
    zmq_setsockopt(s, ZMQ_SNDBUF, &sndbuf, sizeof sndbuf);
    zmq_setsockopt(s, ZMQ_RCVBUF, &sndbuf, sizeof sndbuf);
    /*
     * A ROUTER keeps ZeroMQ's default of no handover: while a task's
     * connection lives, another connection naming itself after the task is
     * not heard, and cannot cut the task off (with handover it could, for
     * good: the task's own connection is not taken back). A task restarted
     * after its process ended connects anew once the old connection closed.
     */
    if (identity != NULL)
        zmq_setsockopt(s, ZMQ_ROUTING_ID, identity, strlen(identity));
    return s;
}

void net_set_sockbuf(void *sock, long bytes)
{
    /* ZeroMQ's -1 leaves the kernel's autotuned buffers alone. */
    int v = bytes > 0 ? (int) bytes : -1;
    zmq_setsockopt(sock, ZMQ_SNDBUF, &v, sizeof v);
    zmq_setsockopt(sock, ZMQ_RCVBUF, &v, sizeof v);
}

int net_bind(void *sock, int port, char *err)
{
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://*:%d", port);
    if (zmq_bind(sock, ep) != 0)
        return psc_seterr(err, PSC_ENET,
                          "cannot bind '%s': %s: is another process using "
                          "port %d?",
                          ep, zmq_strerror(zmq_errno()), port);
    return 0;
}

static int s_resolves(const char *host)
{
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return 0;
    freeaddrinfo(res);
    return 1;
}

int net_connect(void *sock, const char *host, int port, double deadline,
                char *err)
{
    double backoff = 0.1;
    int logged = 0;
    while (!s_resolves(host)) {
        if (psc_sig_stop_requested())
            return psc_seterr(err, PSC_EINTR, "stopped by signal");
        if (psc_now() >= deadline)
            return psc_seterr(err, PSC_ETIMEDOUT,
                              "host name '%s' does not resolve: check the "
                              "address in TF_CONFIG",
                              host);
        if (!logged) {
            psc_log_info("waiting for host name '%s' to resolve", host);
            logged = 1;
        }
        poll(NULL, 0, (int) (backoff * 1000));
        backoff = backoff * 2 > 2.0 ? 2.0 : backoff * 2;
    }
    char ep[300];
    int v6 = strchr(host, ':') != NULL;
    snprintf(ep, sizeof ep, v6 ? "tcp://[%s]:%d" : "tcp://%s:%d", host, port);
    if (zmq_connect(sock, ep) != 0)
        return psc_seterr(err, PSC_ENET, "cannot connect to '%s': %s", ep,
                          zmq_strerror(zmq_errno()));
    return 0;
}

void net_close(void **sock)
{
    if (sock == NULL || *sock == NULL)
        return;
    zmq_close(*sock);
    *sock = NULL;
}
