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
#include "psc_num.h"
#include "psc_port.h"

#include <stdio.h>
#include <stdlib.h>

/* More than any test cluster needs; a typo should not bind thousands. */
#define MAX_PORTS 64

int main(int argc, char **argv)
{
    int n = 0;
    if (argc != 2 || psc_num_int(argv[1], 1, MAX_PORTS, &n) != 0) {
        fprintf(stderr, "usage: psc-test-ports N (1 to %d)\n", MAX_PORTS);
        return 2;
    }
    int ports[MAX_PORTS];
    char err[PSC_ERR_LEN] = "";
    if (psc_port_pick("127.0.0.1", ports, n, err) != 0) {
        fprintf(stderr, "psc-test-ports: %s\n", err);
        return 1;
    }
    for (int i = 0; i < n; i++)
        printf("%d\n", ports[i]);
    return 0;
}
