/*
 * One ps task's part of the sparse table: the rows whose key k has
 * k % nps == this ps, in a hash table keyed by the 64-bit key. A row is
 * created on its first push or pull (after sparse.min_count pushes when
 * the job filters), from jobvars_init_row(), with the optimizer's slots
 * beside it, and dropped when not pushed for sparse.expire_steps updates.
 * Rows are updated lazily: a push touches only the rows it names (Adam
 * counts steps per row, Adagrad keeps one accumulator per row as
 * TorchRec's row-wise Adagrad). No sockets here; ps_server.c feeds it
 * validated messages.
 */
#ifndef PS_SPARSE_H
#define PS_SPARSE_H

#include "ckpt_sparse.h"
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

/* Drops every row (each reads as its initial value again) and every
 * admission count, and sets the version to 0. */
void ps_sparse_init(ps_sparse_t *t);

size_t ps_sparse_width(const ps_sparse_t *t);

/* Pushes applied so far: the version SPARSE_PARAMS carry. */
uint64_t ps_sparse_version(const ps_sparse_t *t);

/* Rows held now, and the bytes the table holds for them (rows, index,
 * admission counts and scratch). */
size_t ps_sparse_rows(const ps_sparse_t *t);
size_t ps_sparse_bytes(const ps_sparse_t *t);

/*
 * Checks that every key lives on this shard and, unless any key may name a
 * row (JOBVARS_ANY_KEY), is below the table's rows. Returns NULL, or
 * a static text saying what is wrong.
 */
const char *ps_sparse_check(const ps_sparse_t *t, const uint64_t *keys,
                            size_t n);

/*
 * Applies one gradient row per key (n x width values, float32 4-byte
 * aligned or, with f16 set, binary16 at any alignment) with the job's
 * optimizer. Keys must have passed ps_sparse_check(); a key named twice is
 * applied twice. A key
 * the admission filter has not let in yet is only counted (its reply row
 * is the initial value). With reply non-NULL, each updated row is also written
 * there (n x width, binary16 with reply_f16 set) while it is in the cache,
 * as ps_sparse_gather() would afterwards. A push may come in pieces:
 * the table's version (Adam's step) counts it once, at its last piece.
 */
void ps_sparse_push(ps_sparse_t *t, const uint64_t *keys, size_t n,
                    const void *rows, int f16, void *reply, int reply_f16,
                    int last);

/*
 * Copies the rows of keys into dst: n x width float32, or binary16. A row
 * not held yet is created, unless the job filters by min_count: it then
 * reads as its initial value and is not created.
 */
void ps_sparse_gather(ps_sparse_t *t, const uint64_t *keys, size_t n, void *dst,
                      int f16);

/* Floats of optimizer slots each row holds: Adagrad's one, Momentum's
 * width, Adam's 2 x width, SGD's none. */
size_t ps_sparse_slot_floats(const ps_sparse_t *t);

/* Keys the admission filter is counting (pushed, no row yet). */
size_t ps_sparse_pending(const ps_sparse_t *t);

/*
 * The table for a checkpoint: each row as a record (ckpt_sparse.h) into
 * records (ps_sparse_rows() x ckpt_sparse_record_bytes() bytes) and each
 * admission count into pending (ps_sparse_pending() x
 * CKPT_SPARSE_PENDING_BYTES bytes). A pass over memory: no hashing.
 */
void ps_sparse_snapshot(const ps_sparse_t *t, uint8_t *records,
                        uint8_t *pending);

/*
 * Restoring, after ps_sparse_init(): puts row in the table (replacing a
 * row of its key), with its slots, last push and steps as saved. Returns
 * 0, or 1 when the key belongs to another ps (nothing done).
 */
int ps_sparse_restore_row(ps_sparse_t *t, const struct ckpt_sparse_row *row);

/* Room in the index for rows rows without growing it on the way: one
 * rehash instead of one per doubling. */
void ps_sparse_reserve(ps_sparse_t *t, size_t rows);

/* Restoring: key's admission count (0 or 1 when it belongs elsewhere). */
int ps_sparse_restore_count(ps_sparse_t *t, uint64_t key, uint32_t count);

/* The record the expiry sweep looks at next (records in snapshot order). */
size_t ps_sparse_sweep_at(const ps_sparse_t *t);

/* Restoring ends: the table's version (its pushes) is version, and the
 * expiry sweep goes on at record sweep_at (0 when the rows were re-cut). */
void ps_sparse_restore_done(ps_sparse_t *t, uint64_t version, size_t sweep_at);

#endif
