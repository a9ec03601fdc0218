/*
 * Gradient checks of the ps. A scan compares each value's bits without
 * its sign as an unsigned integer: NaN and infinity have every exponent
 * bit set and so compare above any finite limit, and the loop of integer
 * maxima vectorises, so the check costs one read of the gradient.
 */
/* As in optim.c: GCC's -O2 vectoriser skips loops of unknown length. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif

#include "ps_guard.h"

#include "f16.h"
#include "psc_alloc.h"
#include "psc_clones.h"
#include "psc_log.h"
#include "psc_time.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* binary16 values widened at a time for the norm. */
#define CHUNK 4096

struct ps_guard {
    int nworkers;
    double max_norm;
    uint64_t *refused; /* per worker, then other clients */
    uint64_t unlogged; /* refusals since the last line */
    double next_log;   /* no line before then */
};

static const char s_why[] =
    "gradient holds a NaN, an infinity or a value beyond 1e18 (its square "
    "overflows float): refused, the values are unchanged";

ps_guard_t *ps_guard_new(int nworkers, double max_norm)
{
    ps_guard_t *g = psc_xcalloc(1, sizeof *g);
    g->nworkers = nworkers;
    g->max_norm = max_norm;
    g->refused = psc_xcalloc((size_t) nworkers + 1, sizeof *g->refused);
    return g;
}

void ps_guard_destroy(ps_guard_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    free((*p)->refused);
    free(*p);
    *p = NULL;
}

/* 1 when every |v[k]| <= limit; NaN compares false, so it fails too. A
 * float compare, not an unsigned max of the bits: SSE2 has no unsigned
 * max, and that loop was 3.5x slower there. */
PSC_CLONES static int s_within_f32(const float *v, size_t n, float limit)
{
    int all = 1;
    for (size_t k = 0; k < n; k++) /* vectorised */
        all &= fabsf(v[k]) <= limit;
    return all;
}

PSC_CLONES static uint16_t s_max_bits_f16(const uint16_t *v, size_t n)
{
    uint16_t most = 0;
    for (size_t k = 0; k < n; k++) { /* vectorised */
        uint16_t b = (uint16_t) (v[k] & 0x7fffu);
        most = b > most ? b : most;
    }
    return most;
}

/* 1 when every value is finite and at most PS_GUARD_MAX_ABS. */
static int s_sane(const void *values, int f16, size_t n)
{
    if (f16) /* binary16 tops out at 65504: only NaN and inf to refuse */
        return s_max_bits_f16(values, n) < 0x7c00u;
    return s_within_f32(values, n, PS_GUARD_MAX_ABS);
}

static double s_sumsq_f32(const float *v, size_t n)
{
    double sum = 0;
    for (size_t k = 0; k < n; k++)
        sum += (double) v[k] * (double) v[k];
    return sum;
}

static double s_sumsq(const void *values, int f16, size_t n)
{
    if (!f16)
        return s_sumsq_f32(values, n);
    float wide[CHUNK];
    double sum = 0;
    for (size_t k = 0; k < n; k += CHUNK) {
        size_t m = n - k < CHUNK ? n - k : CHUNK;
        f16_to_f32(wide, (const uint16_t *) values + k, m);
        sum += s_sumsq_f32(wide, m);
    }
    return sum;
}

/* Counts a refusal; one line for the first and then one per interval. */
static const char *s_refuse(ps_guard_t *g, int worker, const char *task)
{
    g->refused[worker >= 0 && worker < g->nworkers ? worker : g->nworkers]++;
    g->unlogged++;
    double now = psc_now();
    if (now >= g->next_log) {
        psc_log_warn("refused %llu gradients with non-finite or too large "
                     "values (the last from '%s'): the values are unchanged",
                     (unsigned long long) g->unlogged, task);
        g->unlogged = 0;
        g->next_log = now + PS_GUARD_LOG_S;
    }
    return s_why;
}

const char *ps_guard_values(ps_guard_t *g, int worker, const char *task,
                            const void *values, int f16, size_t n)
{
    if (s_sane(values, f16, n))
        return NULL;
    return s_refuse(g, worker, task);
}

const char *ps_guard_gradient(ps_guard_t *g, int worker, const char *task,
                              const struct placement_shard *lay,
                              const void *const *slices, int f16, float *scale)
{
    double sumsq = 0;
    *scale = 1.0f;
    for (int i = 0; i < lay->nslices; i++) {
        if (!s_sane(slices[i], f16, lay->slices[i].len))
            return s_refuse(g, worker, task);
        if (g->max_norm > 0)
            sumsq += s_sumsq(slices[i], f16, lay->slices[i].len);
    }
    double norm = sqrt(sumsq);
    if (g->max_norm > 0 && norm > g->max_norm)
        *scale = (float) (g->max_norm / norm);
    return NULL;
}

const uint64_t *ps_guard_refused(const ps_guard_t *g)
{
    return g->refused;
}

size_t ps_guard_first_nonfinite(const float *v, size_t n)
{
    /* The vectorised scan first: the element is looked for only if any. */
    if (s_within_f32(v, n, FLT_MAX))
        return n;
    for (size_t k = 0; k < n; k++) {
        if (!isfinite(v[k]))
            return k;
    }
    return n;
}
