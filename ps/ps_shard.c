/*
 * Update rules of a shard.
 */
#include "ps_shard.h"

#include "optim.h"
#include "psc_alloc.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

struct ps_shard {
    const struct job *job;
    const struct placement_shard *layout;
    struct optim_config optim;
    int nworkers;
    int replicas; /* sync: gradients per step */
    int ready;
    uint64_t version;
    float *values;
    float *slot0;
    float *slot1;
    float *accum; /* sync: sum of this step's gradients */
    int accum_count;
    uint64_t applied;
    uint64_t *dropped;
    uint64_t *clock; /* pushes per worker, for bounded staleness */
    int *lost;
    uint64_t hist[PS_HIST_BINS];
};

ps_shard_t *ps_shard_new(const struct job *job, const placement_t *pl,
                         int shard, int nworkers)
{
    ps_shard_t *s = psc_xcalloc(1, sizeof *s);
    s->job = job;
    s->layout = &pl->shards[shard];
    job_optim_config(job, &s->optim);
    s->nworkers = nworkers;
    s->replicas = job->replicas_to_aggregate > 0
                      ? (int) job->replicas_to_aggregate
                      : nworkers;
    size_t n = s->layout->size;
    size_t bytes = (n > 0 ? n : 1) * sizeof(float);
    s->values = psc_xaligned(bytes);
    int nslots = optim_num_slots(s->optim.kind);
    s->slot0 = nslots >= 1 ? psc_xaligned(bytes) : NULL;
    s->slot1 = nslots >= 2 ? psc_xaligned(bytes) : NULL;
    optim_init_slots(&s->optim, s->slot0, s->slot1, n);
    if (job->mode == JOB_SYNC) {
        s->accum = psc_xaligned(bytes);
        memset(s->accum, 0, bytes);
    }
    s->dropped = psc_xcalloc((size_t) nworkers + 1, sizeof *s->dropped);
    s->clock = psc_xcalloc((size_t) nworkers + 1, sizeof *s->clock);
    s->lost = psc_xcalloc((size_t) nworkers + 1, sizeof *s->lost);
    return s;
}

void ps_shard_destroy(ps_shard_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    ps_shard_t *s = *p;
    free(s->values);
    free(s->slot0);
    free(s->slot1);
    free(s->accum);
    free(s->dropped);
    free(s->clock);
    free(s->lost);
    free(s);
    *p = NULL;
}

const struct placement_shard *ps_shard_layout(const ps_shard_t *s)
{
    return s->layout;
}

void ps_shard_init_slice(ps_shard_t *s, int slice, const float *values)
{
    const struct placement_slice *sl = &s->layout->slices[slice];
    memcpy(s->values + sl->shard_offset, values, sl->len * sizeof(float));
}

void ps_shard_init_done(ps_shard_t *s)
{
    s->ready = 1;
    s->version = 0;
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
    return s->values;
}

/* Applies one gradient per slice with learning rate lr and a scale. */
static void s_apply(ps_shard_t *s, float lr, const float *const *slices,
                    float scale)
{
    uint64_t t = s->version + 1;
    for (int i = 0; i < s->layout->nslices; i++) {
        size_t off = s->layout->slices[i].shard_offset;
        optim_apply(&s->optim, lr, t, s->values + off,
                    s->slot0 ? s->slot0 + off : NULL,
                    s->slot1 ? s->slot1 + off : NULL, slices[i], scale,
                    s->layout->slices[i].len);
    }
    s->version++;
    s->applied++;
}

static void s_accumulate(ps_shard_t *s, const float *const *slices)
{
    for (int i = 0; i < s->layout->nslices; i++) {
        float *restrict acc = s->accum + s->layout->slices[i].shard_offset;
        const float *restrict g = slices[i];
        size_t n = s->layout->slices[i].len;
        for (size_t k = 0; k < n; k++)
            acc[k] += g[k];
    }
}

static enum ps_push_result s_push_sync(ps_shard_t *s, int w, uint64_t read,
                                       const float *const *slices)
{
    if (read < s->version) {
        s->dropped[w < 0 ? s->nworkers : w]++;
        return PS_PUSH_DROPPED;
    }
    s_accumulate(s, slices);
    if (++s->accum_count < s->replicas)
        return PS_PUSH_AGGREGATED;
    const float *parts[WIRE_MAX_FRAMES];
    for (int i = 0; i < s->layout->nslices; i++)
        parts[i] = s->accum + s->layout->slices[i].shard_offset;
    s_apply(s, optim_lr(&s->optim, s->version), parts,
            1.0f / (float) s->replicas);
    memset(s->accum, 0, s->layout->size * sizeof(float));
    s->accum_count = 0;
    s->hist[0]++;
    return PS_PUSH_STEPPED;
}

static enum ps_push_result s_push_async(ps_shard_t *s, int w, uint64_t read,
                                        const float *const *slices)
{
    uint64_t tau = s->version - read;
    s->hist[tau < PS_HIST_BINS ? tau : PS_HIST_BINS - 1]++;
    if (s->job->staleness == JOB_STALE_DROP &&
        tau > (uint64_t) s->job->max_staleness) {
        s->dropped[w < 0 ? s->nworkers : w]++;
        return PS_PUSH_DROPPED;
    }
    float lr = optim_lr(&s->optim, s->version);
    if (s->job->staleness == JOB_STALE_INVERSE && tau > 1)
        lr /= (float) tau;
    s_apply(s, lr, slices, 1.0f);
    return PS_PUSH_APPLIED;
}

enum ps_push_result ps_shard_push(ps_shard_t *s, int worker, uint64_t read,
                                  const float *const *slices)
{
    if (worker >= 0)
        s->clock[worker]++;
    if (s->job->mode == JOB_SYNC)
        return s_push_sync(s, worker, read, slices);
    return s_push_async(s, worker, read, slices);
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

uint64_t ps_shard_applied(const ps_shard_t *s)
{
    return s->applied;
}
