/*
 * A worker task: trains on its share of the data. Each step pulls the
 * newest values (they arrive in the reply to the previous push), computes
 * the loss and gradient with OpenBLAS, waits out any injected straggler
 * delay, and pushes the gradient to every shard at once.
 */
#ifndef WORKER_H
#define WORKER_H

#include "boot.h"

/*
 * Runs until the chief says stop. Returns the process exit status: 0 when
 * the chief said stop, PSC_EXIT_CONFIG (2) on a configuration error or when
 * the chief refused this worker, PSC_EXIT_RETRY (138) on a runtime failure,
 * 128+N when signal N stopped it (psc_exit_status()).
 */
int worker_run(const struct boot *b);

#endif
