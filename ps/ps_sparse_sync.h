/*
 * Sync mode for the sparse table: the row gradients of one step are
 * gathered from the first N workers that send theirs (N =
 * replicas_to_aggregate, or every worker), summed in worker order (so the
 * same job and seed give the same rows whatever order they arrive in),
 * averaged over N and applied as one update; gradients for a step already
 * applied are dropped. Each variable aggregates on its own, as
 * TensorFlow's accumulators do. Every worker sends every ps its part of
 * each step, empty when it touched no row there, so a ps can count them.
 */
#ifndef PS_SPARSE_SYNC_H
#define PS_SPARSE_SYNC_H

#include "ps_sparse.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ps_sparse_sync ps_sparse_sync_t;

/* For table t (borrowed) and a cluster of nworkers. Caller owns. */
ps_sparse_sync_t *ps_sparse_sync_new(ps_sparse_t *t, int nworkers,
                                     int replicas);
void ps_sparse_sync_destroy(ps_sparse_sync_t **p);

enum ps_sparse_sync_result {
    PS_SPARSE_SYNC_TAKEN = 0, /* kept for its step (applied when complete) */
    PS_SPARSE_SYNC_STALE,     /* for a step already applied: dropped */
    PS_SPARSE_SYNC_REFUSED,   /* see *why */
};

/*
 * One piece of worker's row gradients (float32) for step. last is set on
 * the worker's last piece for the step; the N-th last piece applies the
 * step. Keys must have passed ps_sparse_check().
 */
enum ps_sparse_sync_result ps_sparse_sync_add(ps_sparse_sync_t *s, int worker,
                                              uint64_t step,
                                              const uint64_t *keys, size_t n,
                                              const float *rows, int last,
                                              const char **why);

/* Forgets the step being gathered (the table was initialised afresh). */
void ps_sparse_sync_reset(ps_sparse_sync_t *s);

/* Gradients dropped as stale so far, per worker (nworkers of them). */
const uint64_t *ps_sparse_sync_dropped(const ps_sparse_sync_t *s);

#endif
