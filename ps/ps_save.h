/*
 * A ps's part of a checkpoint, written in the background: the dense shard
 * and the sparse table are each copied in memory at the moment the chief
 * names (a step boundary in sync mode: each when it reaches the version),
 * then a thread writes the copies while the ps goes on training.
 */
#ifndef PS_SAVE_H
#define PS_SAVE_H

#include "ckpt.h"
#include "ps_shard.h"
#include "ps_sparse.h"

#include <stdint.h>

typedef struct ps_save ps_save_t;

/* What a write made (ps_save_finish()). */
struct ps_save_result {
    int rc; /* 0 or a PSC_E* */
    struct ckpt_file file;
    uint64_t version;
    int has_sparse; /* the sparse file below was written */
    struct ckpt_file sparse;
    uint64_t sparse_version;
    uint64_t sparse_rows;
    uint64_t sparse_pending;
    uint32_t sparse_slot_floats;
};

/* Caller owns; ps_save_destroy() waits for a write in progress. */
ps_save_t *ps_save_new(void);
void ps_save_destroy(ps_save_t **p);

/* 1 from ps_save_start() until ps_save_finish() has reported the write. */
int ps_save_busy(const ps_save_t *s);

/*
 * Begins a checkpoint of ps index of nps into the folder dir: copy the
 * shard with ps_save_copy_shard() and, when the job has one, the table
 * with ps_save_copy_sparse(), then ps_save_write(). Returns 0, or
 * PSC_EAGAIN while an earlier write is busy.
 */
int ps_save_start(ps_save_t *s, int index, int nps, const char *dir);

/* Copies the shard's arrays and version (the workers' pause). */
void ps_save_copy_shard(ps_save_t *s, const ps_shard_t *shard);

/* Copies the table's rows, admission counts and version. */
void ps_save_copy_sparse(ps_save_t *s, const ps_sparse_t *t);

/* Starts the thread that writes the copies (on this one, when no thread
 * can be had). */
void ps_save_write(ps_save_t *s);

/* Gives up a checkpoint begun and not written (a version passed). */
void ps_save_cancel(ps_save_t *s);

/* The folder of the write started last (borrowed). */
const char *ps_save_dir(const ps_save_t *s);

/*
 * When the write has ended: returns 1 with its result in *res (err says
 * why when res->rc is not 0); else 0. With wait set, blocks until it has
 * ended.
 */
int ps_save_finish(ps_save_t *s, int wait, struct ps_save_result *res,
                   char *err);

#endif
