/*
 * The chief's part of checkpoints: when to take one, ordering every ps to
 * write its shard at one version, the manifest written last (with each
 * worker's place in its data), the pointer file and the old ones pruned;
 * and, at start-up, which checkpoint a job resumes from.
 */
#ifndef CHIEF_CKPT_H
#define CHIEF_CKPT_H

#include "ckpt.h"
#include "job.h"
#include "placement.h"
#include "psc.pb-c.h"

#include <stdint.h>

typedef struct chief_ckpt chief_ckpt_t;

/*
 * vars (nvars, copied) are the model's variables; placement (borrowed) is
 * where they live on the nps ps. router is the chief's control socket.
 * Caller owns; chief_ckpt_destroy().
 */
chief_ckpt_t *chief_ckpt_new(const struct job *job, const char *run_id,
                             const struct ckpt_var *vars, int nvars,
                             const placement_t *placement, int nworkers,
                             void *router);
void chief_ckpt_destroy(chief_ckpt_t **p);

/*
 * The checkpoint a job starts from, by the job's restore option: 0 with
 * its folder in dir and its manifest in *m (release it), PSC_ENOTFOUND to
 * start afresh, or PSC_ECONFIG with one line in err (an explicit folder
 * that is not valid, or a model that differs from the job's).
 */
int chief_ckpt_pick_restore(const struct job *job, const struct ckpt_var *vars,
                            int nvars, char *dir, size_t cap,
                            struct ckpt_manifest *m, char *err);

/* The job resumed at step from the checkpoint folder dir: no checkpoint is
 * due before the next one. */
void chief_ckpt_start_from(chief_ckpt_t *c, uint64_t step, const char *dir);

/*
 * The folder of the newest complete checkpoint of this run (the restored
 * one until one is written; "" when there is none). Borrowed; valid until
 * the next call into chief_ckpt. *completed counts the checkpoints this
 * chief has completed, so a caller can tell a new one.
 */
const char *chief_ckpt_newest(const chief_ckpt_t *c, uint64_t *completed);

/*
 * The model was rolled back to the checkpoint folder dir ("" : to its
 * initial values) at step, where the n workers w had drawn their examples:
 * an order in progress is given up, and the next one is due an interval
 * from now.
 */
void chief_ckpt_roll_back(chief_ckpt_t *c, uint64_t step, const char *dir,
                          const struct ckpt_worker *w, int n);

/* Where each worker resumes in its data (examples drawn before). */
void chief_ckpt_set_positions(chief_ckpt_t *c, const struct ckpt_worker *w,
                              int n);
uint64_t chief_ckpt_position(const chief_ckpt_t *c, int worker);

/* A worker's step report (version it got back, examples it drew). */
void chief_ckpt_on_report(chief_ckpt_t *c, int worker, uint64_t step,
                          uint64_t examples);

/* A ps's SAVED answer. */
void chief_ckpt_on_saved(chief_ckpt_t *c, int ps, const Psc__Header *h);

/*
 * While training, at step: orders a checkpoint when one is due and none is
 * in progress, and completes one whose shards are written. sync is 1 in
 * sync mode (shards save at one version).
 */
void chief_ckpt_tick(chief_ckpt_t *c, uint64_t step, int sync);

/*
 * At the end: a last checkpoint of the shards as they are, waited for up
 * to timeout_s while serve(arg, ms) handles the control socket. Returns 0
 * or a PSC_E*.
 */
int chief_ckpt_final(chief_ckpt_t *c, uint64_t step, double timeout_s,
                     void (*serve)(void *arg, int timeout_ms), void *arg);

#endif
