/*
 * A client of every ps shard, as workers, the evaluator, the chief and
 * psc-bench use it: requests go to all shards before any reply is awaited,
 * gradients leave without copies (each frame points into the caller's
 * buffer), and replies are scattered straight into the flat parameter
 * array. Sparse requests are sorted and grouped by shard once (keyplan.h),
 * with each shard's rows contiguous. One request is outstanding at a time.
 */
#ifndef PSCLIENT_H
#define PSCLIENT_H

#include "boot.h"
#include "ctl.h"
#include "placement.h"
#include "wire.h"

#include <stdint.h>

typedef struct psclient psclient_t;

/*
 * Connects one DEALER per ps (routing id = this task's name, or identity
 * when non-NULL). Returns NULL with a line in err. Caller owns;
 * psclient_destroy(). The placement is borrowed and must outlive it.
 */
psclient_t *psclient_new(const struct boot *b, const placement_t *pl,
                         const char *identity, char *err);
void psclient_destroy(psclient_t **p);

/* Asks every shard for its values once it has version >= min_version. */
int psclient_pull(psclient_t *c, uint64_t min_version);

/*
 * Pushes a gradient (flat, laid out like the parameters) to every shard,
 * each marked with the version of that shard's values it was computed
 * from, asking for the updated values in the reply. grad must stay
 * unchanged until psclient_wait() returns 0.
 */
int psclient_push(psclient_t *c, wire_buf_t *grad);

/*
 * Like psclient_push() without asking for values: each shard answers with
 * PUSH_ACK once it has taken the gradient.
 */
int psclient_push_only(psclient_t *c, wire_buf_t *grad);

/*
 * The job's last step, which the INIT messages that follow tell every ps
 * (0, the default: no end); a ps applies no push past it.
 */
void psclient_set_last_step(psclient_t *c, uint64_t last_step);

/*
 * The model's generation (the chief's INIT and START say it): every
 * request carries it, and a ps refuses pushes of another (psclient_wait()
 * then returns PSC_EAGAIN: the model was rolled back since).
 */
void psclient_set_generation(psclient_t *c, uint64_t generation);

/* Sends INIT: every shard's slices of the flat initial values. */
int psclient_init(psclient_t *c, const float *values);

/* Sends INIT without values: every shard starts from the job's seed. */
int psclient_init_seed(psclient_t *c);

/*
 * Sends INIT to every ps telling it to load its shard from the checkpoint
 * folder ckpt_dir (any number of ps may have saved it); wait with
 * psclient_wait(), after which psclient_version() is each shard's version.
 */
int psclient_init_restore(psclient_t *c, const char *ckpt_dir);

/*
 * Pushes one gradient row per key (grad: n x width floats, width that of
 * the job's sparse table; keys in any order, repeats summed). With
 * rows_out non-NULL the shards answer with the updated rows, which
 * psclient_wait() writes to rows_out (n x width, the caller's order);
 * else they acknowledge. keys and grad are read during the call only;
 * rows_out must stay valid until psclient_wait() returns 0.
 */
int psclient_sparse_push(psclient_t *c, const uint64_t *keys, size_t n,
                         const float *grad, float *rows_out);

/*
 * A worker's row gradients for sync step `step` (the version of the
 * values it computed them from): every shard gets its part, empty when no
 * key lives there, and acknowledges it once it is counted for the step
 * (or dropped as late). Keys and grad as psclient_sparse_push().
 */
int psclient_sparse_push_step(psclient_t *c, const uint64_t *keys, size_t n,
                              const float *grad, uint64_t step);

/*
 * Messages a shard's part of a sparse request goes in, for rows of
 * row_bytes on the wire (keys included): pieces of at least 256 KiB, at
 * most 8, so that laying out, sending, applying and scattering overlap.
 */
size_t psclient_sparse_pieces(size_t rows, size_t row_bytes);

/*
 * Pieces a push to shard sh goes in: in async mode without a staleness
 * bound, pieces of at least 128 KiB (at most 16) on the f16 wire, and in
 * float32 for a shard of one slice of 8 MiB or more; else 1. Pieces
 * overlap converting, sending, applying and taking the values back.
 */
size_t psclient_dense_pieces(const struct job *job,
                             const struct placement_shard *sh);

/* Asks for the rows of keys; psclient_wait() writes them to rows_out. */
int psclient_sparse_pull(psclient_t *c, const uint64_t *keys, size_t n,
                         float *rows_out);

/*
 * What psclient_wait() returns when a chief message ended the wait: not an
 * error, and positive so that it cannot be taken for a PSC_E* code.
 */
#define PSCLIENT_WAIT_CTL 1

/*
 * Waits for every shard's reply to the last request, writing PARAMS into
 * params (flat) when non-NULL (psclient_values() reads them without a copy).
 * While waiting, serves ctl when non-NULL: a chief message other than a
 * heartbeat ends the wait with its type in *ctl_type (the replies stay
 * outstanding; call again to go on waiting). Returns 0 when all replies are
 * in, PSCLIENT_WAIT_CTL for a chief message (never without ctl), or
 * PSC_EINTR (signal), PSC_EREFUSED (a ps refused: err says why), PSC_EPROTO
 * (a reply that does not fit the request: err says so), PSC_EPEERGONE (lost
 * chief), PSC_EAGAIN (a ps holds no model, or one of another generation:
 * it was restarted or rolled back, and the chief will say when to go on),
 * PSC_ETIMEDOUT (timeout_s passed; 0 means no limit).
 */
int psclient_wait(psclient_t *c, float *params, ctl_t *ctl, int *ctl_type,
                  double timeout_s, char *err);

/*
 * The values of the last request's PARAMS replies as one flat array: the
 * received frame itself when one aligned float32 frame holds them all (one
 * ps shard, one slice), else written into flat (room for every value).
 * Borrowed; valid until the next request.
 */
const float *psclient_values(psclient_t *c, float *flat);

/*
 * Bytes sent to and received from the ps so far (headers and payload), for
 * dense and for sparse requests.
 */
struct psclient_traffic {
    uint64_t dense_pushed;
    uint64_t dense_pulled;
    uint64_t sparse_pushed;
    uint64_t sparse_pulled;
};
const struct psclient_traffic *psclient_traffic(const psclient_t *c);

/*
 * 1 when a ps answered the last push (dense or sparse) with WIRE_DROPPED:
 * its gradient was dropped, late or too stale, not applied; else 0. Read
 * it once psclient_wait() has returned 0.
 */
int psclient_last_push_dropped(const psclient_t *c);

/* Distinct keys of the last sparse request. */
size_t psclient_sparse_rows(const psclient_t *c);

/* The version of shard s's values last received. */
uint64_t psclient_version(const psclient_t *c, int shard);

/*
 * The lowest version last received of the shards holding dense values
 * (shard 0's when none does): each sync shard steps on its own, so shard 0
 * can be a step ahead of another one.
 */
uint64_t psclient_oldest_version(const psclient_t *c);

#endif
