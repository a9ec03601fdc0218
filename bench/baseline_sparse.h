/*
 * psc-baseline for the sparse models: a worker's sparse_lr or
 * embedding_mlp step and the ps's table and dense updates in one process,
 * with no network.
 */
#ifndef BASELINE_SPARSE_H
#define BASELINE_SPARSE_H

#include "job.h"

/*
 * Trains steps steps and prints one JSON line (examples/s, the test
 * AUC, logloss and accuracy), taking batches as worker `worker` of
 * `nworkers` would. Returns 0, or PSC_E* with one line in err.
 */
int baseline_sparse(const struct job *job, long steps, int worker, int nworkers,
                    char *err);

#endif
