/*
 * psc-test-ports N: prints N distinct free TCP ports on 127.0.0.1, one a
 * line, for the shell tests' TF_CONFIGs (tests/lib.sh). They come from
 * psc_port_pick(), so they are reserved as psc_port.h says: parked in the
 * kernel's TIME_WAIT, not held by this program, which exits at once. A
 * shell test could not keep a holder alive until exactly when its role
 * binaries have bound (it only learns that from their logs, and a holder
 * that listened would make those binds fail), while a TIME_WAIT port is
 * refused to every other bind and connect for 60 s yet free for a ZeroMQ
 * bind, which sets SO_REUSEADDR. Pick all ports of a cluster in one call.
 */
#include "psc_err.h"
#include "psc_port.h"

#include <stdio.h>
#include <stdlib.h>

/* More than any test cluster needs; a typo should not bind thousands. */
#define MAX_PORTS 64

int main(int argc, char **argv)
{
    char *end = NULL;
    long n = argc == 2 ? strtol(argv[1], &end, 10) : 0;
    if (argc != 2 || *end != '\0' || n < 1 || n > MAX_PORTS) {
        fprintf(stderr, "usage: psc-test-ports N (1 to %d)\n", MAX_PORTS);
        return 2;
    }
    int ports[MAX_PORTS];
    char err[PSC_ERR_LEN] = "";
    if (psc_port_pick("127.0.0.1", ports, (int) n, err) != 0) {
        fprintf(stderr, "psc-test-ports: %s\n", err);
        return 1;
    }
    for (long i = 0; i < n; i++)
        printf("%d\n", ports[i]);
    return 0;
}
