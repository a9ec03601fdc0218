/*
 * One ps task's shard: its slices of every variable, the optimizer's slots
 * beside them, the version (updates applied), and the rules that decide
 * what a gradient does: sync (average the first N for the current version,
 * drop late ones), async (apply on arrival, scaled or dropped by
 * staleness) or softsync (average every c gradients to arrive, each scaled
 * or dropped by staleness). No sockets here; ps_server.c feeds it messages.
 */
#ifndef PS_SHARD_H
#define PS_SHARD_H

#include "job.h"
#include "placement.h"
#include "pool.h"
#include "wire.h"

#include <stddef.h>
#include <stdint.h>

#define PS_HIST_BINS 64

typedef struct ps_shard ps_shard_t;

/* What a pushed gradient came to. */
enum ps_push_result {
    PS_PUSH_APPLIED,    /* async: applied now */
    PS_PUSH_AGGREGATED, /* sync, softsync: counted towards the current step */
    PS_PUSH_STEPPED,    /* sync, softsync: it completed the step, which was
                           applied */
    PS_PUSH_DROPPED,    /* too late (sync), too stale (async policy drop)
                           or past the job's last step */
};

/*
 * Caller owns; ps_shard_destroy(). shard: this ps's index in placement.
 * Large updates are shared among pool's threads (borrowed; may be NULL).
 */
ps_shard_t *ps_shard_new(const struct job *job, const placement_t *pl,
                         int shard, int nworkers, pool_t *pool);
void ps_shard_destroy(ps_shard_t **p);

/* Elements and slices held; the placement's view (borrowed). */
const struct placement_shard *ps_shard_layout(const ps_shard_t *s);

/* Sets the initial values of slice i and, after the last, version 0. */
void ps_shard_init_slice(ps_shard_t *s, int slice, const float *values);
void ps_shard_init_done(ps_shard_t *s);

/* Sets every initial value from the job's seed (jobvars_init_shard()). */
void ps_shard_init_seed(ps_shard_t *s);
int ps_shard_ready(const ps_shard_t *s);

uint64_t ps_shard_version(const ps_shard_t *s);

/*
 * The job's last step (0, the default: no end). Once the version reaches
 * it, every push is dropped unapplied (and not counted as a drop), so the
 * shard ends at exactly that version however many pushes were in flight.
 */
void ps_shard_set_last_step(ps_shard_t *s, uint64_t last_step);

/* Arrays a checkpoint of the shard holds: the values, then each slot. */
int ps_shard_num_arrays(const ps_shard_t *s);

/* Copies the values and the optimizer's slots into arrays[0..n-1]. */
void ps_shard_snapshot(const ps_shard_t *s, float *const *arrays);

/*
 * Restoring from a checkpoint instead of initial values: begin gives the
 * shard's own arrays (values, then each slot) to read into; done sets the
 * version (the updates the checkpoint had applied) and readies the shard.
 */
void ps_shard_restore_begin(ps_shard_t *s, float **arrays);
void ps_shard_restore_done(ps_shard_t *s, uint64_t version);

/*
 * Offers one gradient, computed by worker (index, or -1 for a client that
 * is not a worker) from version `read`, one array per slice as it came off
 * the wire: float32 (4-byte aligned) or, with f16 set, binary16 at any
 * alignment, converted in cache-sized chunks on the way into the update.
 * read must not exceed the current version. Each value counts scale times
 * (1, or less to clip the gradient's norm: ps_guard_gradient()).
 */
enum ps_push_result ps_shard_push(ps_shard_t *s, int worker, uint64_t read,
                                  const void *const *slices, int f16,
                                  float scale);

/*
 * A push that arrives in pieces (async mode, no staleness bound): decided
 * once, at its first piece, applied range by range as the pieces come, and
 * counted in the version once, at its last.
 */
struct ps_piecewise {
    enum ps_push_result result; /* PS_PUSH_APPLIED or PS_PUSH_DROPPED */
    float lr;
};

/* Decides a push in pieces as ps_shard_push() would, and counts it. */
enum ps_push_result ps_shard_push_begin(ps_shard_t *s, int worker,
                                        uint64_t read, struct ps_piecewise *pw);

/*
 * Applies count gradient values (float32, 4-byte aligned, or binary16 with
 * f16 set) to the shard's elements [offset, offset + count), unless the
 * push was dropped. With out non-NULL, the range's new values go there as
 * replies send them: binary16 with wire_dtype f16, else float32.
 */
void ps_shard_push_range(ps_shard_t *s, const struct ps_piecewise *pw,
                         size_t offset, const void *g, int f16, size_t count,
                         void *out);

/*
 * The float32 values of elements [first, first + count) as a buffer that
 * a reply sends without copying (borrowed: the shard keeps a reference
 * until the send is done), or NULL when too many such replies are in
 * flight (copy the values instead). While a reply sends a range, a write
 * to it waits for the send to finish (briefly; then the update moves the
 * values to a spare buffer), so no reply sees torn values.
 */
wire_buf_t *ps_shard_range_view(ps_shard_t *s, size_t first, size_t count);

/* Ends a push in pieces: an applied one advances the version. */
void ps_shard_push_end(ps_shard_t *s, const struct ps_piecewise *pw);

/* The values (borrowed; changes with the next update). */
const float *ps_shard_values(const ps_shard_t *s);

/*
 * The buffer holding the values, for zero-copy replies (borrowed). A send
 * that holds a reference keeps it unchanged: the next update then reads it
 * and writes a spare buffer (out of place), so no reply sees torn values.
 */
wire_buf_t *ps_shard_values_buf(ps_shard_t *s);

/*
 * The values as replies put them on the wire (borrowed): the values buffer
 * itself, or with wire_dtype f16 their binary16 form, narrowed during the
 * update that made them.
 */
wire_buf_t *ps_shard_wire_values(ps_shard_t *s);

/* How many updates ran out of place because a send held the values. */
uint64_t ps_shard_out_of_place(const ps_shard_t *s);

/*
 * Bounded staleness: 1 when worker may receive parameters now (it is at
 * most ssp_bound pushes ahead of the slowest live worker), always 1 when
 * the bound is off or the client is not a worker.
 */
int ps_shard_may_pull(const ps_shard_t *s, int worker);

/* Marks a worker lost: it no longer holds back bounded staleness. */
void ps_shard_worker_lost(ps_shard_t *s, int worker);

/* Where the first non-finite number of a shard is. */
struct ps_shard_bad {
    const char *array; /* "values" or the slot's name; static */
    size_t element;    /* in the shard */
    float value;
};

/*
 * Looks for a NaN or infinity in the values and the optimizer's slots: 1
 * with *where set when there is one (the shard must not train on), else 0.
 * A full read of the shard: call it at intervals, not per update.
 */
int ps_shard_find_nonfinite(const ps_shard_t *s, struct ps_shard_bad *where);

/*
 * Statistics for the chief (borrowed arrays): per worker (nworkers + 1, the
 * last for clients that are not workers) the gradients dropped, taken
 * (applied, or summed into a step) and their staleness summed; and the
 * taken ones by staleness (PS_HIST_BINS, the last bin "or more").
 */
const uint64_t *ps_shard_dropped(const ps_shard_t *s);
const uint64_t *ps_shard_taken(const ps_shard_t *s);
const uint64_t *ps_shard_staleness_sum(const ps_shard_t *s);
const uint64_t *ps_shard_staleness_hist(const ps_shard_t *s);

/* What the last push (ps_shard_push() or ps_shard_push_begin()) came to. */
struct ps_push_info {
    uint64_t tau;        /* the shard's version then, minus the one read */
    uint64_t applied_to; /* the shard's version then: the update it joins */
    float lr;            /* the learning rate it got (0: dropped) */
    const char *why;     /* dropped: "late" (sync) or "stale"; else NULL */
};
const struct ps_push_info *ps_shard_last_push(const ps_shard_t *s);
uint64_t ps_shard_applied(const ps_shard_t *s);

#endif
