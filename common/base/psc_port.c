/*
 * Free TCP ports: each from a socket bound to port 0, kept listening until
 * all ports of the call are chosen, then parked in TIME_WAIT (psc_port.h
 * says why).
 */
#include "psc_port.h"

#include "psc_alloc.h"
#include "psc_err.h"

#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* The reserving connection is local; this only bounds a hang. */
#define S_TIMEOUT_S 5

static int s_resolve(const char *host, struct addrinfo **out, char *err)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int rc = getaddrinfo(host, "0", &hints, out);
    if (rc != 0)
        return psc_seterr(err, PSC_ECONFIG, "cannot resolve '%s': %s", host,
                          gai_strerror(rc));
    return 0;
}

static int s_port_of(const struct sockaddr_storage *ss)
{
    /* ss is what s_listen() filled in. The analyzer cannot see that
     * psc_seterr() (another file) returns its code: it has s_listen() fail
     * and return 0. */
    /* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *) ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *) ss)->sin_port);
}

/*
 * Opens a socket listening on ai's address, port 0: the socket in *fd, its
 * address (with the port the kernel chose) in *ss.
 */
static int s_listen(const struct addrinfo *ai, const char *host, int *fd,
                    struct sockaddr_storage *ss, socklen_t *len, char *err)
{
    int s =
        socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (s < 0)
        return psc_seterr(err, PSC_ENET, "cannot open a socket for '%s': %s",
                          host, strerror(errno));
    /* The TIME_WAIT socket inherits it; the task's own bind needs that. */
    int one = 1;
    *len = sizeof *ss;
    if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(s, ai->ai_addr, ai->ai_addrlen) != 0 || listen(s, 1) != 0 ||
        getsockname(s, (struct sockaddr *) ss, len) != 0) {
        int e = errno;
        close(s);
        return psc_seterr(err, PSC_ENET, "cannot bind a port on '%s': %s", host,
                          strerror(e));
    }
    *fd = s;
    return 0;
}

/* Connects to a socket of ours; returns the accepted end, or -1 and errno. */
static int s_accept_own(int listener, int client,
                        const struct sockaddr_storage *ss, socklen_t len)
{
    struct timeval tv = {S_TIMEOUT_S, 0};
    if (setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        connect(client, (const struct sockaddr *) ss, len) != 0)
        return -1;
    return accept(listener, NULL, NULL);
}

/* Parks the port of listener in TIME_WAIT, which the kernel keeps. */
static int s_reserve(int listener, const struct sockaddr_storage *ss,
                     socklen_t len, const char *host, char *err)
{
    int client = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int accepted = client < 0 ? -1 : s_accept_own(listener, client, ss, len);
    int e = errno;
    /* The end that closes first is the one left in TIME_WAIT. */
    if (accepted >= 0)
        close(accepted);
    if (client >= 0)
        close(client);
    if (accepted < 0)
        return psc_seterr(err, PSC_ENET, "cannot reserve port %d on '%s': %s",
                          s_port_of(ss), host, strerror(e));
    return 0;
}

int psc_port_pick(const char *host, int *ports, int n, char *err)
{
    assert(n >= 1);
    struct addrinfo *ai = NULL;
    int rc = s_resolve(host, &ai, err);
    if (rc != 0)
        return rc;
    int *fds = psc_xcalloc((size_t) n, sizeof *fds);
    int nopen = 0;
    while (rc == 0 && nopen < n) {
        struct sockaddr_storage ss;
        socklen_t len;
        rc = s_listen(ai, host, &fds[nopen], &ss, &len, err);
        if (rc != 0)
            break;
        nopen++;
        ports[nopen - 1] = s_port_of(&ss);
        rc = s_reserve(fds[nopen - 1], &ss, len, host, err);
    }
    /* Only now: while they listen, no port of this call is chosen twice. */
    for (int i = 0; i < nopen; i++)
        close(fds[i]);
    free(fds);
    freeaddrinfo(ai);
    return rc;
}
