/*
 * A step's pieces are kept per worker as they come; the step is applied
 * from one concatenation in worker order, planned by keyplan (a stable
 * sort, so a key's rows are summed in that order).
 */
#include "ps_sparse_sync.h"

#include "keyplan.h"
#include "psc_alloc.h"

#include <stdlib.h>
#include <string.h>

/* One worker's part of the step being gathered. */
struct part {
    uint64_t *keys;
    float *rows;
    size_t n;
    size_t cap;
    int done; /* its last piece came */
};

struct ps_sparse_sync {
    ps_sparse_t *t;
    int nworkers;
    int replicas;
    int done; /* workers whose part is complete */
    size_t width;
    struct part *parts;
    uint64_t *dropped;
    keyplan_t *plan;
    uint64_t *all_keys; /* the step's keys and rows, in worker order */
    float *all_rows;
    float *sums; /* one summed row per distinct key */
    size_t all_cap;
};

ps_sparse_sync_t *ps_sparse_sync_new(ps_sparse_t *t, int nworkers, int replicas)
{
    ps_sparse_sync_t *s = psc_xcalloc(1, sizeof *s);
    s->t = t;
    s->nworkers = nworkers;
    s->replicas = replicas > 0 ? replicas : nworkers;
    s->width = ps_sparse_width(t);
    s->parts = psc_xcalloc((size_t) nworkers, sizeof *s->parts);
    s->dropped = psc_xcalloc((size_t) nworkers, sizeof *s->dropped);
    s->plan = keyplan_new();
    return s;
}

void ps_sparse_sync_destroy(ps_sparse_sync_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    ps_sparse_sync_t *s = *p;
    for (int w = 0; w < s->nworkers; w++) {
        free(s->parts[w].keys);
        free(s->parts[w].rows);
    }
    free(s->parts);
    free(s->dropped);
    keyplan_destroy(&s->plan);
    free(s->all_keys);
    free(s->all_rows);
    free(s->sums);
    free(s);
    *p = NULL;
}

static void s_append(struct part *p, size_t width, const uint64_t *keys,
                     size_t n, const float *rows)
{
    if (p->n + n > p->cap) {
        p->cap = (p->n + n) * 2;
        p->keys = psc_xrealloc(p->keys, p->cap * sizeof *p->keys);
        p->rows = psc_xrealloc(p->rows, p->cap * width * sizeof *p->rows);
    }
    memcpy(p->keys + p->n, keys, n * sizeof *keys);
    memcpy(p->rows + p->n * width, rows, n * width * sizeof *rows);
    p->n += n;
}

/* The complete parts, in worker order, into all_keys and all_rows. */
static size_t s_concatenate(ps_sparse_sync_t *s)
{
    size_t total = 0;
    for (int w = 0; w < s->nworkers; w++)
        total += s->parts[w].done ? s->parts[w].n : 0;
    if (total > s->all_cap) {
        s->all_cap = total;
        free(s->all_keys);
        free(s->all_rows);
        free(s->sums);
        s->all_keys = psc_xmalloc(total * sizeof *s->all_keys);
        s->all_rows = psc_xmalloc(total * s->width * sizeof *s->all_rows);
        s->sums = psc_xmalloc(total * s->width * sizeof *s->sums);
    }
    size_t at = 0;
    for (int w = 0; w < s->nworkers; w++) {
        const struct part *p = &s->parts[w];
        if (!p->done || p->n == 0)
            continue;
        memcpy(s->all_keys + at, p->keys, p->n * sizeof *p->keys);
        memcpy(s->all_rows + at * s->width, p->rows,
               p->n * s->width * sizeof *p->rows);
        at += p->n;
    }
    return total;
}

void ps_sparse_sync_reset(ps_sparse_sync_t *s)
{
    for (int w = 0; w < s->nworkers; w++) {
        s->parts[w].n = 0;
        s->parts[w].done = 0;
    }
    s->done = 0;
}

/* Sums, averages over the step's gradients and applies; the next step
 * starts empty. */
static void s_apply(ps_sparse_sync_t *s)
{
    size_t total = s_concatenate(s);
    size_t count = 0;
    if (total > 0) {
        keyplan_build(s->plan, s->all_keys, total, 1);
        count = keyplan_count(s->plan);
        keyplan_gather(s->plan, 0, s->all_rows, s->width, s->sums);
        float inv = 1.0f / (float) s->replicas;
        for (size_t k = 0; k < count * s->width; k++) /* vectorised */
            s->sums[k] *= inv;
    }
    ps_sparse_push(s->t, count > 0 ? keyplan_keys(s->plan) : NULL, count,
                   s->sums, 0, NULL, 0, 1);
    ps_sparse_sync_reset(s);
}

enum ps_sparse_sync_result ps_sparse_sync_add(ps_sparse_sync_t *s, int worker,
                                              uint64_t step,
                                              const uint64_t *keys, size_t n,
                                              const float *rows, int last,
                                              const char **why)
{
    uint64_t now = ps_sparse_version(s->t);
    if (worker < 0 || worker >= s->nworkers) {
        *why = "sync sparse gradients come from workers only";
        return PS_SPARSE_SYNC_REFUSED;
    }
    if (step < now || s->parts[worker].done) {
        s->dropped[worker] += last;
        return PS_SPARSE_SYNC_STALE;
    }
    if (step > now) {
        *why = "sparse gradient for a step the table has not reached: is "
               "another job's worker sending here?";
        return PS_SPARSE_SYNC_REFUSED;
    }
    struct part *p = &s->parts[worker];
    s_append(p, s->width, keys, n, rows);
    if (last) {
        p->done = 1;
        if (++s->done == s->replicas)
            s_apply(s);
    }
    return PS_SPARSE_SYNC_TAKEN;
}

const uint64_t *ps_sparse_sync_dropped(const ps_sparse_sync_t *s)
{
    return s->dropped;
}
