/*
 * The training step of the sparse models: the rows of the batch's
 * features are pulled, the gradient is pushed as rows (sparse) plus the
 * bias (dense), and the dense reply carries the new bias and the version.
 */
#ifndef WORKER_SPARSE_H
#define WORKER_SPARSE_H

#include "worker_self.h"

/* Loads the worker's sparse data, its order and the placement. 0, or
 * PSC_E* with a line in err. */
int worker_sparse_setup(self_t *self, char *err);

/* One step, returning as worker_self.h says. */
int worker_sparse_step(self_t *self, char *err);

void worker_sparse_release(self_t *self);

#endif
