/*
 * One ps task's part of the sparse table: the rows whose key k has
 * k % nps == this ps, stored densely as local rows x width (local row
 * k / nps), with the optimizer's slots beside them. Rows are updated
 * lazily: a push touches only the rows it names (TensorFlow's sparse
 * apply; Adam counts its steps per table, as LazyAdam does). No sockets
 * here; ps_server.c feeds it validated messages.
 */
#ifndef PS_SPARSE_H
#define PS_SPARSE_H

#include "job.h"
#include "pool.h"

#include <stddef.h>

#include <stdint.h>

typedef struct ps_sparse ps_sparse_t;

/*
 * The shard of ps `shard` of nps, or NULL when the job has no sparse
 * table. Caller owns; ps_sparse_destroy(). Large requests are shared
 * among pool's threads (borrowed; may be NULL).
 */
ps_sparse_t *ps_sparse_new(const struct job *job, int shard, int nps,
                           pool_t *pool);
void ps_sparse_destroy(ps_sparse_t **p);

/* Sets every row to its initial value from the job's seed. */
void ps_sparse_init(ps_sparse_t *t);

size_t ps_sparse_width(const ps_sparse_t *t);

/* Pushes applied so far: the version SPARSE_PARAMS carry. */
uint64_t ps_sparse_version(const ps_sparse_t *t);

/*
 * Checks that every key exists and lives on this shard. Returns NULL, or
 * a static text saying what is wrong.
 */
const char *ps_sparse_check(const ps_sparse_t *t, const uint64_t *keys,
                            size_t n);

/*
 * Applies one gradient row per key (n x width values, float32 4-byte
 * aligned or, with f16 set, binary16 at any alignment) with the job's
 * optimizer. Keys must have passed ps_sparse_check(); a key named twice is
 * applied twice. With reply non-NULL, each updated row is also written
 * there (n x width, binary16 with reply_f16 set) while it is in the cache,
 * as ps_sparse_gather() would afterwards. A push may come in pieces:
 * the table's version (Adam's step) counts it once, at its last piece.
 */
void ps_sparse_push(ps_sparse_t *t, const uint64_t *keys, size_t n,
                    const void *rows, int f16, void *reply, int reply_f16,
                    int last);

/* Copies the rows of keys into dst: n x width float32, or binary16. */
void ps_sparse_gather(const ps_sparse_t *t, const uint64_t *keys, size_t n,
                      void *dst, int f16);

#endif
