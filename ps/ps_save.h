/*
 * A shard's part of a checkpoint, written in the background: the shard is
 * copied in memory at the moment the chief names (a step boundary in sync
 * mode), then a thread writes the copy while the shard goes on training.
 */
#ifndef PS_SAVE_H
#define PS_SAVE_H

#include "ckpt.h"
#include "ps_shard.h"

#include <stdint.h>

typedef struct ps_save ps_save_t;

/* Caller owns; ps_save_destroy() waits for a write in progress. */
ps_save_t *ps_save_new(void);
void ps_save_destroy(ps_save_t **p);

/* 1 from ps_save_start() until ps_save_finish() has reported the write. */
int ps_save_busy(const ps_save_t *s);

/*
 * Copies the shard (index of nps) and starts writing it into the folder
 * dir. Returns 0, or PSC_EAGAIN while an earlier write is busy.
 */
int ps_save_start(ps_save_t *s, const ps_shard_t *shard, int index, int nps,
                  const char *dir);

/* The folder of the write started last (borrowed). */
const char *ps_save_dir(const ps_save_t *s);

/*
 * When the write has ended: returns 1 with its result in *rc (0 or a
 * PSC_E*, err says why), *file and *version; else 0. With wait set, blocks
 * until it has ended.
 */
int ps_save_finish(ps_save_t *s, int wait, int *rc, struct ckpt_file *file,
                   uint64_t *version, char *err);

#endif
