/*
 * Sparse rows of a shard. The hot loops touch rows in the order the keys
 * came (clients send them sorted, so memory is walked forwards) and ask
 * for the next rows ahead of time, since random rows miss every cache.
 * The table asks for transparent huge pages: with 4 KiB pages every row of
 * a table of gigabytes also misses the TLB.
 */
#define _DEFAULT_SOURCE /* MADV_HUGEPAGE */

/* As in optim.c: GCC's -O2 vectoriser skips loops of unknown length. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif

#include "ps_sparse.h"

#include "f16.h"
#include "jobvars.h"
#include "optim.h"
#include "psc_alloc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Rows asked for ahead of the one being updated: enough to hide a DRAM
 * miss behind the updates of the rows in between. */
#define AHEAD 16
/* Elements widened from binary16 at a time. */
#define CHUNK 4096

struct ps_sparse {
    const struct job *job;
    pool_t *pool; /* borrowed */
    struct optim_config optim;
    int shard;
    int nps;
    int shift;      /* log2(nps) when nps is a power of two, else -1 */
    uint64_t rows;  /* in the whole table */
    uint64_t local; /* rows held here */
    size_t width;
    float *values;
    float *slot0;
    float *slot1;
    uint64_t version;
};

/* Huge-page alignment: 2 MiB on x86-64 and most arm64 systems. */
#define HUGE_ALIGN ((size_t) 2 << 20)

/* n floats, zeroed when zero is set, on huge pages where the OS has them. */
static float *s_table(size_t n, int zero)
{
    size_t bytes = (n > 0 ? n : 1) * sizeof(float);
    void *p = NULL;
    if (posix_memalign(&p, HUGE_ALIGN, bytes) != 0)
        return psc_xcalloc(n > 0 ? n : 1, sizeof(float));
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE);
#endif
    if (zero)
        memset(p, 0, bytes);
    return p;
}

ps_sparse_t *ps_sparse_new(const struct job *job, int shard, int nps,
                           pool_t *pool)
{
    uint64_t rows = jobvars_sparse_rows(job);
    if (rows == 0)
        return NULL;
    ps_sparse_t *t = psc_xcalloc(1, sizeof *t);
    t->job = job;
    t->pool = pool;
    job_optim_config(job, &t->optim);
    t->shard = shard;
    t->nps = nps;
    t->shift = -1;
    for (int b = 0; b < 31; b++) {
        if (nps == 1 << b)
            t->shift = b;
    }
    t->rows = rows;
    t->local =
        rows / (uint64_t) nps + ((uint64_t) shard < rows % (uint64_t) nps);
    t->width = jobvars_sparse_width(job);
    size_t n = (size_t) t->local * t->width;
    t->values = s_table(n, 0);
    int nslots = optim_num_slots(t->optim.kind);
    t->slot0 = nslots >= 1 ? s_table(n, 1) : NULL;
    t->slot1 = nslots >= 2 ? s_table(n, 1) : NULL;
    if (t->optim.kind == OPTIM_ADAGRAD)
        optim_init_slots(&t->optim, t->slot0, NULL, n);
    return t;
}

void ps_sparse_destroy(ps_sparse_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    free((*p)->values);
    free((*p)->slot0);
    free((*p)->slot1);
    free(*p);
    *p = NULL;
}

/* Rows to a thread at least; fewer are not worth waking one for. */
static size_t s_grain(const ps_sparse_t *t)
{
    size_t rows = ((size_t) 1 << 15) / t->width;
    return rows > 256 ? rows : 256;
}

static void s_init_part(void *arg, size_t begin, size_t end)
{
    ps_sparse_t *t = arg;
    for (size_t r = begin; r < end; r++) {
        uint64_t key = (uint64_t) r * (uint64_t) t->nps + (uint64_t) t->shard;
        jobvars_init_row(t->job, key, t->values + r * t->width);
    }
}

void ps_sparse_init(ps_sparse_t *t)
{
    pool_for(t->pool, (size_t) t->local, s_grain(t), s_init_part, t);
    t->version = 0;
}

size_t ps_sparse_width(const ps_sparse_t *t)
{
    return t->width;
}

uint64_t ps_sparse_version(const ps_sparse_t *t)
{
    return t->version;
}

const char *ps_sparse_check(const ps_sparse_t *t, const uint64_t *keys,
                            size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (keys[i] >= t->rows)
            return "sparse key beyond the table's rows";
        uint64_t shard = t->shift >= 0
                             ? keys[i] & (((uint64_t) 1 << t->shift) - 1)
                             : keys[i] % (uint64_t) t->nps;
        if (shard != (uint64_t) t->shard)
            return "sparse key belongs to another ps";
    }
    return NULL;
}

/* Where row key starts; a shift, not a division, for 1, 2, 4... ps. */
static size_t s_offset(const ps_sparse_t *t, uint64_t key)
{
    uint64_t local = t->shift >= 0 ? key >> t->shift : key / (uint64_t) t->nps;
    return (size_t) local * t->width;
}

/*
 * Always inlined: GCC finds that a function which only prefetches has no
 * side effects, and deletes the calls.
 */
static inline __attribute__((always_inline)) void
s_prefetch(const ps_sparse_t *t, const float *base, const uint64_t *keys,
           size_t i, size_t n)
{
    if (i + AHEAD >= n)
        return;
    const char *row = (const char *) (base + s_offset(t, keys[i + AHEAD]));
    size_t bytes = t->width * sizeof(float);
    /* The first four cache lines (a 64-float row); wider rows rely on the
     * hardware's prefetcher. */
    __builtin_prefetch(row, 0, 3);
    if (bytes > 64)
        __builtin_prefetch(row + 64, 0, 3);
    if (bytes > 128)
        __builtin_prefetch(row + 128, 0, 3);
    if (bytes > 192)
        __builtin_prefetch(row + 192, 0, 3);
}

/* Copies one row into a reply: float32, or narrowed to binary16. */
static void s_reply_row(void *reply, int reply_f16, size_t i, size_t w,
                        const float *row)
{
    if (reply == NULL)
        return;
    if (reply_f16)
        f16_from_f32((uint16_t *) reply + i * w, row, w);
    else if (w == 1)
        ((float *) reply)[i] = row[0];
    else
        memcpy((float *) reply + i * w, row, w * sizeof(float));
}

/* SGD from float32 rows: the common case, without per-row calls. */
static void s_sgd_rows(ps_sparse_t *t, const uint64_t *keys, size_t n,
                       const float *g, float lr, void *reply, int reply_f16)
{
    size_t w = t->width;
    for (size_t i = 0; i < n; i++) {
        s_prefetch(t, t->values, keys, i, n);
        float *restrict row = t->values + s_offset(t, keys[i]);
        const float *restrict gi = g + i * w;
        for (size_t k = 0; k < w; k++) /* vectorised */
            row[k] -= lr * gi[k];
        s_reply_row(reply, reply_f16, i, w, row);
    }
}

/* Any optimizer, from float32 or binary16 rows. */
static void s_optim_rows(ps_sparse_t *t, const uint64_t *keys, size_t n,
                         const void *rows, int f16, float lr, uint64_t step,
                         void *reply, int reply_f16)
{
    float wide[CHUNK];
    size_t w = t->width;
    for (size_t i = 0; i < n; i++) {
        s_prefetch(t, t->values, keys, i, n);
        size_t off = s_offset(t, keys[i]);
        for (size_t k = 0; k < w; k += CHUNK) {
            size_t m = w - k < CHUNK ? w - k : CHUNK;
            const float *g = (const float *) rows + i * w + k;
            if (f16) {
                f16_to_f32(wide, (const uint16_t *) rows + i * w + k, m);
                g = wide;
            }
            optim_apply(&t->optim, lr, step, t->values + off + k,
                        t->slot0 ? t->slot0 + off + k : NULL,
                        t->slot1 ? t->slot1 + off + k : NULL, g, 1.0f, m);
        }
        s_reply_row(reply, reply_f16, i, w, t->values + off);
    }
}

/* One push, as the pool's threads share its keys. */
struct push_run {
    ps_sparse_t *t;
    const uint64_t *keys;
    const void *rows;
    int f16;
    float lr;
    uint64_t step;
    void *reply;
    int reply_f16;
};

/* Element i * width of a row array of 2- or 4-byte values. */
static const void *s_row_at(const void *rows, int f16, size_t i, size_t w)
{
    return (const char *) rows + i * w * (f16 ? 2 : 4);
}

static void s_push_part(void *arg, size_t begin, size_t end)
{
    const struct push_run *r = arg;
    size_t w = r->t->width;
    const void *rows = s_row_at(r->rows, r->f16, begin, w);
    void *reply = r->reply == NULL
                      ? NULL
                      : (void *) s_row_at(r->reply, r->reply_f16, begin, w);
    if (r->t->optim.kind == OPTIM_SGD && !r->f16)
        s_sgd_rows(r->t, r->keys + begin, end - begin, rows, r->lr, reply,
                   r->reply_f16);
    else
        s_optim_rows(r->t, r->keys + begin, end - begin, rows, r->f16, r->lr,
                     r->step, reply, r->reply_f16);
}

/* Threads may share a push only when no row is named twice. */
static int s_increasing(const uint64_t *keys, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        if (keys[i] <= keys[i - 1])
            return 0;
    }
    return 1;
}

void ps_sparse_push(ps_sparse_t *t, const uint64_t *keys, size_t n,
                    const void *rows, int f16, void *reply, int reply_f16,
                    int last)
{
    struct push_run r = {.t = t,
                         .keys = keys,
                         .rows = rows,
                         .f16 = f16,
                         .lr = optim_lr(&t->optim, t->version),
                         .step = t->version + 1,
                         .reply = reply,
                         .reply_f16 = reply_f16};
    pool_t *pool =
        pool_threads(t->pool) > 1 && s_increasing(keys, n) ? t->pool : NULL;
    pool_for(pool, n, s_grain(t), s_push_part, &r);
    if (last)
        t->version++;
}

struct gather_run {
    const ps_sparse_t *t;
    const uint64_t *keys;
    void *dst;
    int f16;
};

static void s_gather_part(void *arg, size_t begin, size_t end)
{
    const struct gather_run *r = arg;
    const ps_sparse_t *t = r->t;
    size_t w = t->width;
    for (size_t i = begin; i < end; i++) {
        s_prefetch(t, t->values, r->keys, i, end);
        const float *row = t->values + s_offset(t, r->keys[i]);
        if (!r->f16 && w == 1)
            ((float *) r->dst)[i] = row[0];
        else if (r->f16)
            f16_from_f32((uint16_t *) r->dst + i * w, row, w);
        else
            memcpy((float *) r->dst + i * w, row, w * sizeof(float));
    }
}

void ps_sparse_gather(const ps_sparse_t *t, const uint64_t *keys, size_t n,
                      void *dst, int f16)
{
    struct gather_run r = {t, keys, dst, f16};
    pool_for(t->pool, n, s_grain(t), s_gather_part, &r);
}
