/*
 * A worker task: trains on its share of the data. Each step pulls the
 * newest values (they arrive in the reply to the previous push), computes
 * the loss and gradient with OpenBLAS, waits out any injected straggler
 * delay, and pushes the gradient to every shard at once.
 */
#ifndef WORKER_H
#define WORKER_H

#include "boot.h"

/* Runs until the chief says stop; returns the process exit status. */
int worker_run(const struct boot *b);

#endif
