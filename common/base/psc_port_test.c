/*
 * Unit test for psc_port: the ports of one call are distinct, a picked
 * port stays reserved after the call (a later call does not pick it, a
 * bind without SO_REUSEADDR fails) and is still free for a listener that
 * sets SO_REUSEADDR as ZeroMQ does; an address not of this machine fails.
 */
#include "psc_port.h"

#include "psc_err.h"
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define FIRST  32
#define SECOND 256

/* Binds 127.0.0.1:port, with SO_REUSEADDR and listening when reuse is 1;
 * returns the socket, or -1 with errno. */
static int s_bind(int port, int reuse)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    CHECK_OK(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse));
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t) port);
    if (bind(fd, (struct sockaddr *) &a, sizeof a) != 0 ||
        (reuse && listen(fd, 1) != 0)) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int s_contains(const int *ports, int n, int port)
{
    for (int i = 0; i < n; i++)
        if (ports[i] == port)
            return 1;
    return 0;
}

static void test_distinct_and_reserved(void)
{
    char err[PSC_ERR_LEN] = "";
    int first[FIRST];
    int second[SECOND];
    CHECK_OK(psc_port_pick("127.0.0.1", first, FIRST, err));
    for (int i = 0; i < FIRST; i++) {
        CHECK(first[i] > 0 && first[i] < 65536);
        CHECK(!s_contains(first, i, first[i]));
    }
    /* Without the reservation, 256 more picks would likely hit one. */
    CHECK_OK(psc_port_pick("127.0.0.1", second, SECOND, err));
    for (int i = 0; i < SECOND; i++)
        CHECK(!s_contains(first, FIRST, second[i]));
    for (int i = 0; i < FIRST; i++) {
        errno = 0;
        CHECK_EQ(s_bind(first[i], 0), -1);
        CHECK_EQ(errno, EADDRINUSE);
        int fd = s_bind(first[i], 1);
        CHECK(fd >= 0);
        close(fd);
    }
}

static void test_errors(void)
{
    char err[PSC_ERR_LEN] = "";
    int port = 0;
    /* TEST-NET-1 (RFC 5737): no interface of this machine has it. */
    CHECK_EQ(psc_port_pick("192.0.2.1", &port, 1, err), PSC_ENET);
    CHECK_CONTAINS(err, "cannot bind a port on '192.0.2.1': ");
    /* A name that does not resolve needs a DNS answer; not asked here. */
}

int main(void)
{
    test_distinct_and_reserved();
    test_errors();
    printf("psc_port: ok\n");
    return 0;
}
