/*
 * Port picking by binding to port 0. Every socket stays open until all
 * ports are chosen; otherwise the kernel could hand out one port twice.
 */
#include "launch_ports.h"

#include "psc_alloc.h"
#include "psc_err.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int s_resolve(const char *host, struct addrinfo **out, char *err)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int rc = getaddrinfo(host, "0", &hints, out);
    if (rc != 0)
        return psc_seterr(err, PSC_ECONFIG, "cannot resolve --host '%s': %s",
                          host, gai_strerror(rc));
    return 0;
}

static int s_port_of(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *) ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *) ss)->sin_port);
}

/* Binds a new socket to ai's address, port 0; returns the socket in *fd. */
static int s_bind_one(const struct addrinfo *ai, const char *host, int *fd,
                      int *port, char *err)
{
    int s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (s < 0)
        return psc_seterr(err, PSC_ENET, "cannot open a socket for '%s': %s",
                          host, strerror(errno));
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (bind(s, ai->ai_addr, ai->ai_addrlen) != 0 ||
        getsockname(s, (struct sockaddr *) &ss, &len) != 0) {
        int e = errno;
        close(s);
        return psc_seterr(err, PSC_ENET,
                          "cannot bind a port on '%s': %s: give a local "
                          "address with --host",
                          host, strerror(e));
    }
    *fd = s;
    *port = s_port_of(&ss);
    return 0;
}

int launch_ports_pick(const char *host, int *ports, int n, char *err)
{
    struct addrinfo *ai = NULL;
    int rc = s_resolve(host, &ai, err);
    if (rc != 0)
        return rc;
    int *fds = psc_xcalloc((size_t) n, sizeof *fds);
    int nopen = 0;
    while (nopen < n) {
        rc = s_bind_one(ai, host, &fds[nopen], &ports[nopen], err);
        if (rc != 0)
            break;
        nopen++;
    }
    for (int i = 0; i < nopen; i++)
        close(fds[i]);
    free(fds);
    freeaddrinfo(ai);
    return rc;
}
