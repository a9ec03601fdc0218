/*
 * Sparse request plans: an LSD radix sort of (key, position) pairs over
 * only the bits the largest key has, in digits of up to 12 bits (keys of a
 * 10 M-row table take two passes), skipping a digit every key shares; then
 * a stable counting pass by shard.
 */
/* As in optim.c: GCC's -O2 vectoriser skips loops of unknown length. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif

#include "keyplan.h"

#include "psc_alloc.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define RADIX_BITS   12
#define RADIX_PASSES 6 /* 6 x 12 bits >= 64 */

struct ent {
    uint64_t key;
    uint32_t pos; /* in the caller's order */
};

struct keyplan {
    size_t n;
    size_t cap;
    struct ent *ents; /* sorted by (shard, key) */
    struct ent *tmp;
    uint64_t *keys; /* distinct, in plan order */
    uint32_t *run;  /* ents[run[u]..run[u+1]) hold distinct key u */
    size_t count;
    int nps;
    int cap_nps;
    size_t *first; /* per shard, and first[nps] = count */
    size_t *start; /* scratch of the shard pass */
    uint32_t hist[RADIX_PASSES][1 << RADIX_BITS];
};

keyplan_t *keyplan_new(void)
{
    return psc_xcalloc(1, sizeof(keyplan_t));
}

void keyplan_destroy(keyplan_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    keyplan_t *k = *p;
    free(k->ents);
    free(k->tmp);
    free(k->keys);
    free(k->run);
    free(k->first);
    free(k->start);
    free(k);
    *p = NULL;
}

static void s_reserve(keyplan_t *p, size_t n, int nps)
{
    if (n == 0)
        n = 1; /* run[] always has room for its end mark */
    if (n > p->cap) {
        p->cap = n;
        p->ents = psc_xrealloc(p->ents, n * sizeof *p->ents);
        p->tmp = psc_xrealloc(p->tmp, n * sizeof *p->tmp);
        p->keys = psc_xrealloc(p->keys, n * sizeof *p->keys);
        p->run = psc_xrealloc(p->run, (n + 1) * sizeof *p->run);
    }
    if (nps > p->cap_nps) {
        p->cap_nps = nps;
        p->first = psc_xrealloc(p->first, (size_t) (nps + 1) * sizeof(size_t));
        p->start = psc_xrealloc(p->start, (size_t) (nps + 1) * sizeof(size_t));
    }
}

/* Sorts ents by key, stable; swaps ents and tmp as it goes. */
static void s_radix(keyplan_t *p)
{
    size_t n = p->n;
    uint64_t bits_used = 0;
    for (size_t i = 0; i < n; i++)
        bits_used |= p->ents[i].key;
    int nbits = bits_used ? 64 - __builtin_clzll(bits_used) : 0;
    int passes = (nbits + RADIX_BITS - 1) / RADIX_BITS;
    if (passes == 0)
        return;
    int bits = (nbits + passes - 1) / passes;
    uint64_t mask = ((uint64_t) 1 << bits) - 1;
    size_t buckets = (size_t) 1 << bits;
    for (int d = 0; d < passes; d++)
        memset(p->hist[d], 0, buckets * sizeof p->hist[d][0]);
    for (size_t i = 0; i < n; i++) {
        for (int d = 0; d < passes; d++)
            p->hist[d][(p->ents[i].key >> (d * bits)) & mask]++;
    }
    for (int d = 0; d < passes; d++) {
        uint32_t *h = p->hist[d];
        uint32_t sum = 0;
        int trivial = 0;
        for (size_t b = 0; b < buckets; b++) {
            uint32_t c = h[b];
            trivial |= c == n;
            h[b] = sum;
            sum += c;
        }
        if (trivial)
            continue; /* every key has the same digit here */
        for (size_t i = 0; i < n; i++) {
            struct ent e = p->ents[i];
            p->tmp[h[(e.key >> (d * bits)) & mask]++] = e;
        }
        struct ent *t = p->ents;
        p->ents = p->tmp;
        p->tmp = t;
    }
}

/* Groups the sorted ents by shard, keeping key order within a shard. */
static void s_by_shard(keyplan_t *p)
{
    size_t *start = p->start;
    uint64_t nps = (uint64_t) p->nps;
    memset(start, 0, (size_t) (p->nps + 1) * sizeof *start);
    for (size_t i = 0; i < p->n; i++)
        start[p->ents[i].key % nps + 1]++;
    for (int s = 0; s < p->nps; s++)
        start[s + 1] += start[s];
    for (size_t i = 0; i < p->n; i++) {
        struct ent e = p->ents[i];
        p->tmp[start[e.key % nps]++] = e;
    }
    struct ent *t = p->ents;
    p->ents = p->tmp;
    p->tmp = t;
}

/* Merges repeats into distinct keys and counts them per shard. */
static void s_dedupe(keyplan_t *p)
{
    uint64_t nps = (uint64_t) p->nps;
    size_t u = 0;
    memset(p->first, 0, (size_t) (p->nps + 1) * sizeof *p->first);
    for (size_t i = 0; i < p->n; i++) {
        if (i == 0 || p->ents[i].key != p->ents[i - 1].key) {
            p->keys[u] = p->ents[i].key;
            p->run[u] = (uint32_t) i;
            p->first[p->ents[i].key % nps + 1]++;
            u++;
        }
    }
    p->run[u] = (uint32_t) p->n;
    p->count = u;
    for (int s = 0; s < p->nps; s++)
        p->first[s + 1] += p->first[s];
}

void keyplan_build(keyplan_t *p, const uint64_t *keys, size_t n, int nps)
{
    assert(nps >= 1 && n < UINT32_MAX);
    s_reserve(p, n, nps);
    p->n = n;
    p->nps = nps;
    for (size_t i = 0; i < n; i++)
        p->ents[i] = (struct ent){keys[i], (uint32_t) i};
    s_radix(p);
    if (nps > 1)
        s_by_shard(p);
    s_dedupe(p);
}

size_t keyplan_count(const keyplan_t *p)
{
    return p->count;
}

const uint64_t *keyplan_keys(const keyplan_t *p)
{
    return p->keys;
}

size_t keyplan_shard_first(const keyplan_t *p, int shard)
{
    return p->first[shard];
}

size_t keyplan_shard_count(const keyplan_t *p, int shard)
{
    return p->first[shard + 1] - p->first[shard];
}

static void s_add_row(float *restrict dst, const float *restrict src,
                      size_t width)
{
    for (size_t k = 0; k < width; k++) /* vectorised */
        dst[k] += src[k];
}

void keyplan_gather_rows(const keyplan_t *p, size_t begin, size_t end,
                         const float *src, size_t width, float *dst)
{
    size_t bytes = width * sizeof(float);
    for (size_t u = begin; u < end; u++) {
        float *row = dst + (u - begin) * width;
        uint32_t i = p->run[u];
        if (width == 1)
            row[0] = src[p->ents[i].pos];
        else
            memcpy(row, src + (size_t) p->ents[i].pos * width, bytes);
        for (i++; i < p->run[u + 1]; i++)
            s_add_row(row, src + (size_t) p->ents[i].pos * width, width);
    }
}

void keyplan_gather(const keyplan_t *p, int shard, const float *src,
                    size_t width, float *dst)
{
    keyplan_gather_rows(p, p->first[shard], p->first[shard + 1], src, width,
                        dst);
}

void keyplan_scatter_rows(const keyplan_t *p, size_t begin, size_t end,
                          const float *src, size_t width, float *dst)
{
    size_t bytes = width * sizeof(float);
    for (size_t u = begin; u < end; u++) {
        const float *row = src + (u - begin) * width;
        for (uint32_t i = p->run[u]; i < p->run[u + 1]; i++) {
            if (width == 1)
                dst[p->ents[i].pos] = row[0];
            else
                memcpy(dst + (size_t) p->ents[i].pos * width, row, bytes);
        }
    }
}

void keyplan_scatter(const keyplan_t *p, int shard, const float *src,
                     size_t width, float *dst)
{
    keyplan_scatter_rows(p, p->first[shard], p->first[shard + 1], src, width,
                         dst);
}
