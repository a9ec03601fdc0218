/*
 * Update rules of a shard.
 *
 * The values live in a wire_buf that replies send without copying. An
 * update writes into it in place unless a send still holds it; then the
 * update runs out of place, reading the held buffer and writing a spare
 * one, which becomes the values: no reply ever sees torn values, and no
 * update pays for a copy. Replies to a push in pieces may send ranges of
 * the values in place (views); a piece reaching a range still being sent
 * waits for that send, briefly, before it moves the values. Gradients are
 * applied straight from the received frames; binary16 ones are widened a chunk
 * at a time so the widened floats stay in the L1 cache.
 */
/* As in optim.c: GCC's -O2 vectoriser skips loops of unknown length. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif

#include "ps_shard.h"

#include "f16.h"
#include "jobvars.h"
#include "optim.h"
#include "ps_guard.h"
#include "psc_alloc.h"
#include "psc_clones.h"
#include "psc_time.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

/* Elements widened from binary16 at a time: 16 KiB of floats. */
#define CHUNK 4096
/* Elements below which a second thread costs more than it saves. */
#define GRAIN ((size_t) 1 << 16)
/* Spare value buffers kept for out-of-place updates... */
#define SPARES 2
/* ...by shards up to this size; larger ones free a spare once sent. */
#define SPARE_KEEP_BYTES ((size_t) 64 << 20)
/* Replies in pieces sending ranges of the values in place, at most. */
#define HELD_MAX 32
/* How long a write waits for a reply to finish sending its range before
 * it moves the values to a spare instead (a copy of the whole shard). */
#define HELD_WAIT_S 0.005

/* A range of the values that a reply is sending in place. */
struct held {
    wire_buf_t *view; /* the shard's reference; busy while being sent */
    size_t first;
    size_t end;
};

struct ps_shard {
    const struct job *job;
    pool_t *pool; /* borrowed */
    const placement_t *pl;
    int index;
    const struct placement_shard *layout;
    struct optim_config optim;
    int nworkers;
    int replicas; /* sync: gradients per step; softsync: c per update */
    int ready;
    uint64_t version;
    uint64_t last_step; /* the job's last: no update past it (0: no end) */
    uint64_t open;      /* pushes in pieces begun, taken, not yet ended */
    wire_buf_t *values;
    wire_buf_t *spare[SPARES];  /* NULL, or a buffer a send may still hold */
    struct held held[HELD_MAX]; /* views of values, oldest first */
    int nheld;
    uint64_t out_of_place;
    wire_buf_t *half; /* f16 wire: the values in binary16, as replies send */
    int half_valid;
    float *slot0;
    float *slot1;
    float **kept; /* sync, softsync: this update's gradients... */
    int *kept_by; /* ...the worker of each, in arrival order... */
    int nkept;    /* ...and how many came */
    float *accum; /* their sum, in worker order */
    uint64_t *dropped;
    uint64_t *clock; /* pushes per worker, for bounded staleness */
    int *lost;
    uint64_t hist[PS_HIST_BINS]; /* taken gradients by staleness */
    uint64_t *tau_sum;           /* per worker: staleness of taken ones */
    uint64_t *taken;             /* per worker: gradients applied or summed */
    struct ps_push_info last;
};

static size_t s_bytes(const ps_shard_t *s)
{
    return (s->layout->size > 0 ? s->layout->size : 1) * sizeof(float);
}

/* Drops the views of values that no send holds any more. */
static void s_prune_held(ps_shard_t *s)
{
    int kept = 0;
    for (int i = 0; i < s->nheld; i++) {
        if (wire_buf_busy(s->held[i].view))
            s->held[kept++] = s->held[i];
        else
            wire_buf_release(&s->held[i].view);
    }
    s->nheld = kept;
}

/* Drops every view: the values moved to another buffer, or the shard goes
 * (sends in flight keep their views, and the old buffer, until done). */
static void s_forget_held(ps_shard_t *s)
{
    for (int i = 0; i < s->nheld; i++)
        wire_buf_release(&s->held[i].view);
    s->nheld = 0;
}

ps_shard_t *ps_shard_new(const struct job *job, const placement_t *pl,
                         int shard, int nworkers, pool_t *pool)
{
    ps_shard_t *s = psc_xcalloc(1, sizeof *s);
    s->job = job;
    s->pool = pool;
    s->pl = pl;
    s->index = shard;
    s->layout = &pl->shards[shard];
    job_optim_config(job, &s->optim);
    s->nworkers = nworkers;
    if (job->mode == JOB_SOFTSYNC)
        s->replicas = job_softsync_gradients(job, nworkers);
    else
        s->replicas = job->replicas_to_aggregate > 0
                          ? (int) job->replicas_to_aggregate
                          : nworkers;
    size_t bytes = s_bytes(s);
    s->values = wire_buf_new_huge(bytes);
    int nslots = optim_num_slots(s->optim.kind);
    s->slot0 = nslots >= 1 ? psc_xaligned_huge(bytes) : NULL;
    s->slot1 = nslots >= 2 ? psc_xaligned_huge(bytes) : NULL;
    optim_init_slots(&s->optim, s->slot0, s->slot1, s->layout->size);
    s->kept = psc_xcalloc((size_t) s->replicas + 1, sizeof *s->kept);
    s->kept_by = psc_xcalloc((size_t) s->replicas + 1, sizeof *s->kept_by);
    s->dropped = psc_xcalloc((size_t) nworkers + 1, sizeof *s->dropped);
    s->clock = psc_xcalloc((size_t) nworkers + 1, sizeof *s->clock);
    s->lost = psc_xcalloc((size_t) nworkers + 1, sizeof *s->lost);
    s->tau_sum = psc_xcalloc((size_t) nworkers + 1, sizeof *s->tau_sum);
    s->taken = psc_xcalloc((size_t) nworkers + 1, sizeof *s->taken);
    return s;
}

void ps_shard_destroy(ps_shard_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    ps_shard_t *s = *p;
    s_forget_held(s);
    wire_buf_release(&s->values);
    wire_buf_release(&s->half);
    for (int i = 0; i < SPARES; i++)
        wire_buf_release(&s->spare[i]);
    free(s->slot0);
    free(s->slot1);
    for (int i = 0; i < s->replicas; i++)
        free(s->kept[i]);
    free(s->kept);
    free(s->kept_by);
    free(s->accum);
    free(s->dropped);
    free(s->clock);
    free(s->lost);
    free(s->tau_sum);
    free(s->taken);
    free(s);
    *p = NULL;
}

const struct placement_shard *ps_shard_layout(const ps_shard_t *s)
{
    return s->layout;
}

/* A spare buffer no send holds, made when there is none. */
static wire_buf_t **s_free_spare(ps_shard_t *s)
{
    for (int i = 0; i < SPARES; i++) {
        if (s->spare[i] != NULL && !wire_buf_busy(s->spare[i]))
            return &s->spare[i];
    }
    int slot = 0;
    for (int i = SPARES - 1; i >= 0; i--) {
        if (s->spare[i] == NULL)
            slot = i;
    }
    wire_buf_release(&s->spare[slot]); /* the last send frees it */
    s->spare[slot] = wire_buf_new_huge(s_bytes(s));
    return &s->spare[slot];
}

/*
 * Where an update writes: the values themselves, or (a send holds them) a
 * spare; *slot is then set, and s_commit() makes the spare the values.
 */
static float *s_target(ps_shard_t *s, wire_buf_t ***slot)
{
    *slot = NULL;
    s_prune_held(s);
    if (!wire_buf_busy(s->values))
        return wire_buf_data(s->values);
    *slot = s_free_spare(s);
    s->out_of_place++;
    return wire_buf_data(**slot);
}

static void s_commit(ps_shard_t *s, wire_buf_t **slot)
{
    if (slot == NULL)
        return;
    s_forget_held(s);
    wire_buf_t *t = s->values;
    s->values = *slot;
    *slot = t;
    if (s_bytes(s) > SPARE_KEEP_BYTES)
        wire_buf_release(slot);
}

/* The values, safe to write in place (copied if a send holds them). */
static float *s_writable(ps_shard_t *s)
{
    s->half_valid = 0;
    wire_buf_t **slot = NULL;
    float *out = s_target(s, &slot);
    if (slot != NULL) {
        memcpy(out, wire_buf_data(s->values), s_bytes(s));
        s_commit(s, slot);
    }
    return out;
}

/* Waits, at most HELD_WAIT_S, for the sends holding view to finish. */
static int s_wait_sent(wire_buf_t *view)
{
    double until = psc_now() + HELD_WAIT_S;
    while (wire_buf_busy(view)) {
        if (psc_now() > until)
            return 0;
        sched_yield(); /* the I/O thread sending it may share this core */
    }
    return 1;
}

/*
 * The values, safe to write in [first, end): in place once no reply is
 * sending that range any more, else (a reply holds it too long, or a
 * whole reply holds the values) moved to a spare by s_writable().
 */
static float *s_range_writable(ps_shard_t *s, size_t first, size_t end)
{
    for (int i = 0; i < s->nheld; i++) {
        const struct held *h = &s->held[i];
        if (h->first < end && first < h->end && !s_wait_sent(h->view))
            return s_writable(s);
    }
    s_prune_held(s);
    if (wire_buf_holders(s->values) > s->nheld)
        return s_writable(s);
    s->half_valid = 0;
    return wire_buf_data(s->values);
}

void ps_shard_init_slice(ps_shard_t *s, int slice, const float *values)
{
    const struct placement_slice *sl = &s->layout->slices[slice];
    memcpy(s_writable(s) + sl->shard_offset, values, sl->len * sizeof(float));
}

void ps_shard_init_seed(ps_shard_t *s)
{
    jobvars_init_shard(s->job, s->pl, s->index, s_writable(s));
}

void ps_shard_init_done(ps_shard_t *s)
{
    s->ready = 1;
    s->version = 0;
}

int ps_shard_num_arrays(const ps_shard_t *s)
{
    return 1 + optim_num_slots(s->optim.kind);
}

/* The slots are there or not by the optimizer: arrays 1 and 2 with them. */
void ps_shard_snapshot(const ps_shard_t *s, float *const *arrays)
{
    size_t bytes = s->layout->size * sizeof(float);
    memcpy(arrays[0], wire_buf_data(s->values), bytes);
    if (s->slot0 != NULL)
        memcpy(arrays[1], s->slot0, bytes);
    if (s->slot1 != NULL)
        memcpy(arrays[2], s->slot1, bytes);
}

void ps_shard_restore_begin(ps_shard_t *s, float **arrays)
{
    arrays[0] = s_writable(s);
    if (s->slot0 != NULL)
        arrays[1] = s->slot0;
    if (s->slot1 != NULL)
        arrays[2] = s->slot1;
}

void ps_shard_restore_done(ps_shard_t *s, uint64_t version)
{
    s->half_valid = 0;
    s->ready = 1;
    s->version = version;
}

int ps_shard_ready(const ps_shard_t *s)
{
    return s->ready;
}

uint64_t ps_shard_version(const ps_shard_t *s)
{
    return s->version;
}

const float *ps_shard_values(const ps_shard_t *s)
{
    return wire_buf_data(s->values);
}

wire_buf_t *ps_shard_values_buf(ps_shard_t *s)
{
    return s->values;
}

uint64_t ps_shard_out_of_place(const ps_shard_t *s)
{
    return s->out_of_place;
}

/* The binary16 buffer to write, one no send holds. */
static uint16_t *s_half(ps_shard_t *s)
{
    size_t bytes = s->layout->size * 2 + 2;
    if (s->half == NULL || wire_buf_busy(s->half)) {
        wire_buf_release(&s->half); /* the last send frees it */
        s->half = wire_buf_new(bytes);
    }
    return wire_buf_data(s->half);
}

wire_buf_t *ps_shard_wire_values(ps_shard_t *s)
{
    if (!s->job->wire_f16)
        return s->values;
    if (!s->half_valid) {
        f16_from_f32(s_half(s), wire_buf_data(s->values), s->layout->size);
        s->half_valid = 1;
    }
    return s->half;
}

/* One run of n elements: in place when wo == wi, else out of place. */
static void s_update(ps_shard_t *s, float lr, float *wo, const float *wi,
                     size_t off, const float *g, float scale, size_t n)
{
    uint64_t t = s->version + 1;
    float *s0 = s->slot0 ? s->slot0 + off : NULL;
    float *s1 = s->slot1 ? s->slot1 + off : NULL;
    if (wo == wi)
        optim_apply(&s->optim, lr, t, wo + off, s0, s1, g, scale, n);
    else
        optim_apply_to(&s->optim, lr, t, wo + off, wi + off, s0, s1, g, scale,
                       n);
}

/*
 * One run's update, from float32 or binary16 gradient values. With half
 * set (f16 wire; half[0] is element off), each chunk of new values is also
 * narrowed for the replies while it is still in the cache.
 */
static void s_apply_slice(ps_shard_t *s, float *wo, const float *wi, float lr,
                          size_t off, const void *g, int f16, float scale,
                          size_t n, uint16_t *half)
{
    if (!f16 && half == NULL) {
        s_update(s, lr, wo, wi, off, g, scale, n);
        return;
    }
    if (f16 && half != NULL && s->optim.kind == OPTIM_SGD) {
        f16_sgd_step(wo + off, wi + off, g, lr * scale, half, n);
        return;
    }
    float wide[CHUNK];
    for (size_t k = 0; k < n; k += CHUNK) {
        size_t m = n - k < CHUNK ? n - k : CHUNK;
        const float *gk = (const float *) g + k;
        if (f16) {
            f16_to_f32(wide, (const uint16_t *) g + k, m);
            gk = wide;
        }
        s_update(s, lr, wo, wi, off + k, gk, scale, m);
        if (half != NULL)
            f16_from_f32(half + k, wo + off + k, m);
    }
}

/* One slice's update or accumulation, as the pool's threads share it. */
struct slice_run {
    ps_shard_t *s;
    float *wo;
    const float *wi;
    float lr;
    size_t off; /* the slice's first element in the shard */
    const void *g;
    int f16;
    float scale;
    uint16_t *half;   /* new values in binary16, or NULL... */
    float *copy;      /* ...or in float32, or NULL */
    size_t out_first; /* the element half[0] or copy[0] stands for */
};

/* Where element begin of the slice's gradient is. */
static const void *s_grad_at(const struct slice_run *r, size_t begin)
{
    if (r->f16)
        return (const uint16_t *) r->g + begin;
    return (const float *) r->g + begin;
}

static void s_apply_part(void *arg, size_t begin, size_t end)
{
    const struct slice_run *r = arg;
    size_t at = r->off + begin - r->out_first;
    s_apply_slice(r->s, r->wo, r->wi, r->lr, r->off + begin,
                  s_grad_at(r, begin), r->f16, r->scale, end - begin,
                  r->half != NULL ? r->half + at : NULL);
    if (r->copy != NULL)
        memcpy(r->copy + at, r->wo + r->off + begin,
               (end - begin) * sizeof(float));
}

/* Applies one gradient per slice with learning rate lr and a scale. */
static void s_apply(ps_shard_t *s, float lr, const void *const *slices, int f16,
                    float scale)
{
    wire_buf_t **slot = NULL;
    float *wo = s_target(s, &slot);
    struct slice_run r = {.s = s,
                          .wo = wo,
                          .wi = wire_buf_data(s->values),
                          .lr = lr,
                          .f16 = f16,
                          .scale = scale,
                          .half = s->job->wire_f16 ? s_half(s) : NULL};
    for (int i = 0; i < s->layout->nslices; i++) {
        r.off = s->layout->slices[i].shard_offset;
        /* The caller has a slice for each of the layout's, which is fixed
         * at ps_shard_new(); the analyzer lets calls given s change it. */
        /* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign) */
        r.g = slices[i];
        pool_for(s->pool, s->layout->slices[i].len, GRAIN, s_apply_part, &r);
    }
    s_commit(s, slot);
    s->half_valid = r.half != NULL;
    s->version++;
}

PSC_CLONES static void s_add(float *restrict acc, const float *restrict g,
                             size_t n)
{
    for (size_t k = 0; k < n; k++) /* vectorised */
        acc[k] += g[k];
}

/* A clipped gradient's values, kept as s_add() will sum them: the product
 * rounded once, as the sum of scale * g always had it. */
PSC_CLONES static void s_scale(float *restrict out, const float *restrict g,
                               float scale, size_t n)
{
    for (size_t k = 0; k < n; k++) /* vectorised */
        out[k] = scale * g[k];
}

static void s_keep_run(float *out, const float *g, float scale, size_t n)
{
    if (scale == 1.0f)
        memcpy(out, g, n * sizeof(float));
    else
        s_scale(out, g, scale, n);
}

/* One part of a slice's gradient into its kept buffer (r->wo). */
static void s_keep_part(void *arg, size_t begin, size_t end)
{
    const struct slice_run *r = arg;
    float *out = r->wo + r->off + begin;
    size_t n = end - begin;
    if (!r->f16) {
        s_keep_run(out, s_grad_at(r, begin), r->scale, n);
        return;
    }
    if (r->scale == 1.0f) {
        f16_to_f32(out, s_grad_at(r, begin), n);
        return;
    }
    float wide[CHUNK];
    for (size_t k = 0; k < n; k += CHUNK) {
        size_t m = n - k < CHUNK ? n - k : CHUNK;
        f16_to_f32(wide, (const uint16_t *) s_grad_at(r, begin) + k, m);
        s_scale(out + k, wide, r->scale, m);
    }
}

/*
 * Keeps one gradient of the step being gathered, scaled and in float32,
 * apart from the others until the step is complete: float addition is not
 * associative, so summing on arrival would make the values depend on the
 * order the gradients came in. The buffers are made once and reused.
 */
static void s_keep(ps_shard_t *s, int w, const void *const *slices, int f16,
                   float scale)
{
    int i = s->nkept++;
    if (s->kept[i] == NULL)
        s->kept[i] = psc_xaligned_huge(s_bytes(s));
    s->kept_by[i] = w;
    struct slice_run r = {.s = s, .wo = s->kept[i], .f16 = f16, .scale = scale};
    for (int k = 0; k < s->layout->nslices; k++) {
        r.off = s->layout->slices[k].shard_offset;
        r.g = slices[k];
        pool_for(s->pool, s->layout->slices[k].len, GRAIN, s_keep_part, &r);
    }
}

/* The kept gradients' indices by worker (stable: a worker that pushed
 * twice for a step keeps its arrival order). */
static void s_worker_order(const ps_shard_t *s, int *order)
{
    for (int i = 0; i < s->nkept; i++) {
        int j = i;
        while (j > 0 && s->kept_by[order[j - 1]] > s->kept_by[i]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
}

struct sum_run {
    ps_shard_t *s;
    const int *order;
};

/* The sum's first term, added to 0 as a running sum from 0 adds it (a
 * -0 becomes +0), in one pass instead of clearing first. */
PSC_CLONES static void s_add_to_zero(float *restrict acc,
                                     const float *restrict g, size_t n)
{
    for (size_t k = 0; k < n; k++) /* vectorised */
        acc[k] = 0.0f + g[k];
}

/* Elements [begin, end) of the sum. */
static void s_sum_part(void *arg, size_t begin, size_t end)
{
    const struct sum_run *r = arg;
    float *acc = r->s->accum + begin;
    s_add_to_zero(acc, r->s->kept[r->order[0]] + begin, end - begin);
    for (int i = 1; i < r->s->nkept; i++)
        s_add(acc, r->s->kept[r->order[i]] + begin, end - begin);
}

/* The step's gradients summed into accum, in worker order. */
static void s_sum_kept(ps_shard_t *s)
{
    if (s->accum == NULL)
        s->accum = psc_xaligned_huge(s_bytes(s));
    int *order = psc_xmalloc((size_t) s->nkept * sizeof *order);
    s_worker_order(s, order);
    struct sum_run r = {.s = s, .order = order};
    pool_for(s->pool, s->layout->size, GRAIN, s_sum_part, &r);
    free(order);
}

/* Index of a worker's counters: clients that are not workers share one. */
static int s_counter(const ps_shard_t *s, int w)
{
    return w < 0 ? s->nworkers : w;
}

/* Counts a gradient the shard takes (applies, or sums into a step). */
static void s_count_taken(ps_shard_t *s, int w, uint64_t tau, float lr)
{
    s->hist[tau < PS_HIST_BINS ? tau : PS_HIST_BINS - 1]++;
    s->tau_sum[s_counter(s, w)] += tau;
    s->taken[s_counter(s, w)]++;
    s->last.lr = lr;
    s->last.why = NULL;
}

/*
 * Keeps a gradient (scaled by scale) for the update; the replicas-th kept
 * one sums them all in order and applies their mean at rate lr.
 */
static enum ps_push_result s_keep_and_step(ps_shard_t *s, int w,
                                           const void *const *slices, int f16,
                                           float scale, float lr)
{
    s_keep(s, w, slices, f16, scale);
    if (s->nkept < s->replicas)
        return PS_PUSH_AGGREGATED;
    s_sum_kept(s);
    const void *parts[WIRE_MAX_FRAMES];
    for (int i = 0; i < s->layout->nslices; i++)
        parts[i] = s->accum + s->layout->slices[i].shard_offset;
    s_apply(s, lr, parts, 0, 1.0f / (float) s->replicas);
    s->nkept = 0;
    return PS_PUSH_STEPPED;
}

/* Counts a gradient the shard drops, and why (a static string). */
static enum ps_push_result s_count_dropped(ps_shard_t *s, int w,
                                           const char *why)
{
    s->dropped[s_counter(s, w)]++;
    s->last.lr = 0;
    s->last.why = why;
    return PS_PUSH_DROPPED;
}

static enum ps_push_result s_push_sync(ps_shard_t *s, int w, uint64_t read,
                                       const void *const *slices, int f16,
                                       float scale)
{
    s->last.tau = s->version - read;
    s->last.applied_to = s->version;
    if (read < s->version)
        return s_count_dropped(s, w, "late");
    float lr = optim_lr(&s->optim, s->version);
    s_count_taken(s, w, 0, lr);
    if (s->replicas <= 1) {
        /* One gradient per step: straight from the frames, no aggregate. */
        s_apply(s, lr, slices, f16, scale);
        return PS_PUSH_STEPPED;
    }
    return s_keep_and_step(s, w, slices, f16, scale, lr);
}

/*
 * The learning rate for a gradient of staleness tau under the job's policy:
 * alpha/tau (Zhang et al.'s staleness-aware rate; tau 0 and 1 keep alpha),
 * alpha/(tau + 1), or alpha/lambda for lambda workers.
 */
static float s_stale_lr(const ps_shard_t *s, float lr, uint64_t tau)
{
    switch (s->job->staleness) {
    case JOB_STALE_INVERSE:
        return tau > 1 ? lr / (float) tau : lr;
    case JOB_STALE_INVERSE_PLUS_ONE:
        return lr / (float) (tau + 1);
    case JOB_STALE_DIVIDE_BY_WORKERS:
        return lr / (float) (s->nworkers > 0 ? s->nworkers : 1);
    default:
        return lr;
    }
}

/* Async and softsync: counts a push's staleness and decides its learning
 * rate or drop. */
static enum ps_push_result s_async_decide(ps_shard_t *s, int w, uint64_t read,
                                          float *lr)
{
    uint64_t tau = s->version - read;
    s->last.tau = tau;
    s->last.applied_to = s->version;
    if (s->job->staleness == JOB_STALE_DROP &&
        tau > (uint64_t) s->job->max_staleness)
        return s_count_dropped(s, w, "stale");
    *lr = s_stale_lr(s, optim_lr(&s->optim, s->version), tau);
    s_count_taken(s, w, tau, *lr);
    return PS_PUSH_APPLIED;
}

static enum ps_push_result s_push_async(ps_shard_t *s, int w, uint64_t read,
                                        const void *const *slices, int f16,
                                        float scale)
{
    float lr = 0;
    if (s_async_decide(s, w, read, &lr) == PS_PUSH_DROPPED)
        return PS_PUSH_DROPPED;
    s_apply(s, lr, slices, f16, scale);
    return PS_PUSH_APPLIED;
}

/*
 * Softsync (Zhang et al.'s n-softsync): each gradient is taken on arrival,
 * whatever its staleness, with its learning rate under the job's policy
 * (or dropped as too stale), and kept scaled by that rate's share of the
 * base rate; once c = replicas have come, from any workers (one worker
 * may bring several), their sum in (worker, arrival) order is applied
 * once at the base rate, averaged over c. The sum is then the same
 * whatever order they came in. With c = 1 each is applied as it comes,
 * as in async mode.
 */
static enum ps_push_result s_push_softsync(ps_shard_t *s, int w, uint64_t read,
                                           const void *const *slices, int f16,
                                           float scale)
{
    float lr = 0;
    if (s_async_decide(s, w, read, &lr) == PS_PUSH_DROPPED)
        return PS_PUSH_DROPPED;
    if (s->replicas <= 1) {
        s_apply(s, lr, slices, f16, scale);
        return PS_PUSH_STEPPED;
    }
    float base = optim_lr(&s->optim, s->version);
    return s_keep_and_step(s, w, slices, f16,
                           base > 0 ? scale * (lr / base) : scale, base);
}

void ps_shard_set_last_step(ps_shard_t *s, uint64_t last_step)
{
    s->last_step = last_step;
}

/*
 * Whether the job has had its last update. Async workers that read the
 * version before it push after it: those gradients come too late for the
 * job, which ends at its last step exactly, and are not counted as drops.
 */
static int s_past_end(const ps_shard_t *s)
{
    /* Pushes in pieces still open each end in an update: counted, so two
     * begun at the last version do not both step past the end. */
    return s->last_step > 0 && s->version + s->open >= s->last_step;
}

/* A push past the end: the trace says so, no counter does. */
static enum ps_push_result s_drop_past_end(ps_shard_t *s, uint64_t read)
{
    s->last.tau = s->version - read;
    s->last.applied_to = s->version;
    s->last.lr = 0;
    s->last.why = "past_end";
    return PS_PUSH_DROPPED;
}

enum ps_push_result ps_shard_push(ps_shard_t *s, int worker, uint64_t read,
                                  const void *const *slices, int f16,
                                  float scale)
{
    if (s_past_end(s))
        return s_drop_past_end(s, read);
    if (worker >= 0)
        s->clock[worker]++;
    if (s->job->mode == JOB_SYNC)
        return s_push_sync(s, worker, read, slices, f16, scale);
    if (s->job->mode == JOB_SOFTSYNC)
        return s_push_softsync(s, worker, read, slices, f16, scale);
    return s_push_async(s, worker, read, slices, f16, scale);
}

enum ps_push_result ps_shard_push_begin(ps_shard_t *s, int worker,
                                        uint64_t read, struct ps_piecewise *pw)
{
    pw->lr = 0;
    if (s_past_end(s)) {
        pw->result = s_drop_past_end(s, read);
        return pw->result;
    }
    if (worker >= 0)
        s->clock[worker]++;
    pw->result = s_async_decide(s, worker, read, &pw->lr);
    if (pw->result != PS_PUSH_DROPPED)
        s->open++;
    return pw->result;
}

void ps_shard_push_range(ps_shard_t *s, const struct ps_piecewise *pw,
                         size_t offset, const void *g, int f16, size_t count,
                         void *out)
{
    int half = s->job->wire_f16;
    if (pw->result == PS_PUSH_DROPPED) {
        const float *v = ps_shard_values(s);
        if (out != NULL && half)
            f16_from_f32(out, v + offset, count);
        else if (out != NULL)
            memcpy(out, v + offset, count * sizeof(float));
        return;
    }
    float *w = s_range_writable(s, offset, offset + count);
    struct slice_run r = {.s = s,
                          .wo = w,
                          .wi = w,
                          .lr = pw->lr,
                          .off = offset,
                          .g = g,
                          .f16 = f16,
                          .scale = 1.0f,
                          .half = half ? out : NULL,
                          .copy = half ? NULL : out,
                          .out_first = offset};
    pool_for(s->pool, count, GRAIN, s_apply_part, &r);
}

wire_buf_t *ps_shard_range_view(ps_shard_t *s, size_t first, size_t count)
{
    s_prune_held(s);
    if (s->nheld == HELD_MAX)
        return NULL;
    struct held *h = &s->held[s->nheld++];
    h->view =
        wire_buf_view(s->values, first * sizeof(float), count * sizeof(float));
    h->first = first;
    h->end = first + count;
    return h->view;
}

void ps_shard_push_end(ps_shard_t *s, const struct ps_piecewise *pw)
{
    if (pw->result == PS_PUSH_DROPPED)
        return;
    s->version++;
    s->open--;
}

int ps_shard_may_pull(const ps_shard_t *s, int worker)
{
    if (s->job->mode != JOB_ASYNC || s->job->ssp_bound < 0 || worker < 0)
        return 1;
    uint64_t slowest = UINT64_MAX;
    for (int w = 0; w < s->nworkers; w++) {
        if (!s->lost[w] && s->clock[w] < slowest)
            slowest = s->clock[w];
    }
    if (slowest == UINT64_MAX)
        return 1;
    return s->clock[worker] <= slowest + (uint64_t) s->job->ssp_bound;
}

void ps_shard_worker_lost(ps_shard_t *s, int worker)
{
    if (worker >= 0 && worker < s->nworkers)
        s->lost[worker] = 1;
}

const uint64_t *ps_shard_dropped(const ps_shard_t *s)
{
    return s->dropped;
}

const uint64_t *ps_shard_staleness_hist(const ps_shard_t *s)
{
    return s->hist;
}

const uint64_t *ps_shard_staleness_sum(const ps_shard_t *s)
{
    return s->tau_sum;
}

const uint64_t *ps_shard_taken(const ps_shard_t *s)
{
    return s->taken;
}

const struct ps_push_info *ps_shard_last_push(const ps_shard_t *s)
{
    return &s->last;
}

/* Looks at one array; 1 (with *where set) when it holds a non-finite. */
static int s_find_nonfinite(const float *a, size_t n, const char *name,
                            struct ps_shard_bad *where)
{
    if (a == NULL)
        return 0;
    size_t k = ps_guard_first_nonfinite(a, n);
    if (k == n)
        return 0;
    where->array = name;
    where->element = k;
    where->value = a[k];
    return 1;
}

int ps_shard_find_nonfinite(const ps_shard_t *s, struct ps_shard_bad *where)
{
    size_t n = s->layout->size;
    return s_find_nonfinite(wire_buf_data(s->values), n, "values", where) ||
           s_find_nonfinite(s->slot0, n, optim_slot_name(s->optim.kind, 0),
                            where) ||
           s_find_nonfinite(s->slot1, n, optim_slot_name(s->optim.kind, 1),
                            where);
}

uint64_t ps_shard_applied(const ps_shard_t *s)
{
    /* Every applied update advances the version, and only that does. */
    return s->version;
}
