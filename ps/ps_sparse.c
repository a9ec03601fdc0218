/*
 * Sparse rows of a shard in a hash table. Each row is a record (key, its
 * last push and step count when needed, values, slots) in 2 MiB slabs
 * kept dense: a dropped row's place takes the last row. The index is open
 * addressing with linear probing of 8-byte entries: 24 bits of the key's
 * hash (a probe rarely reads a record in vain) and the record's slab and
 * place. A request is resolved in one pass that asks for index entries
 * and then records ahead of time, since random rows miss every cache;
 * missing rows are created next, on one thread, and the updates then run
 * over the resolved rows, shared among the pool's threads.
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

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Rows asked for ahead of the one being updated: enough to hide a DRAM
 * miss behind the updates of the rows in between. */
#define AHEAD 16
/* Elements widened from binary16 at a time. */
#define CHUNK 4096

/* A slab: one huge page on x86-64 and most arm64 systems. */
#define SLAB_BYTES ((size_t) 2 << 20)

/* An index entry: tag (24 bits, top bit set so no entry is 0), slab (20
 * bits), place in the slab (20 bits). 0 is an empty bucket. */
#define PLACE_BITS 20
#define SLAB_BITS  20
#define TAG_SHIFT  (PLACE_BITS + SLAB_BITS)
#define PLACE_MASK (((uint64_t) 1 << PLACE_BITS) - 1)
#define SLAB_MASK  (((uint64_t) 1 << SLAB_BITS) - 1)
#define TAG_TOP    ((uint64_t) 1 << 63)

/* Initial buckets of the index and of the admission counts. */
#define MIN_BUCKETS ((size_t) 1024)

/* Admission counts: keys pushed too few times yet to hold a row. */
struct pending {
    uint64_t *keys;
    uint32_t *counts; /* 0: an empty bucket */
    size_t cap;       /* a power of two */
    size_t n;
};

struct ps_sparse {
    const struct job *job;
    pool_t *pool; /* borrowed */
    struct optim_config optim;
    int shard;
    int nps;
    uint64_t rows_limit; /* keys are below it, unless JOBVARS_ANY_KEY */
    size_t width;
    uint32_t min_count; /* pushes before a row is created (0 or 1: at once) */
    uint64_t expire;    /* updates without a push before a drop (0: never) */
    /* A record: key (8 bytes), then when expiring or Adam the last push's
     * version and the row's steps (4 bytes each), values, slots. */
    int has_meta;
    size_t values_at; /* bytes from the record's start */
    size_t slot_at;
    size_t stride; /* bytes per record, a multiple of 4 */
    size_t per_slab;
    char **slabs;
    size_t nslabs;
    size_t slab_cap;
    size_t count; /* rows held: records 0 .. count - 1 */
    uint64_t *index;
    size_t cap; /* buckets, a power of two */
    struct pending pend;
    size_t sweep_at; /* the record the expiry sweep looks at next */
    uint64_t version;
    /* Per request: hashes and resolved records (NULL: no row). */
    uint64_t *hashes;
    char **found;
    size_t scratch_cap;
};

/* MurmurHash3's finaliser: keys of one shard share their low bits. */
static uint64_t s_mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

static uint64_t s_tag(uint64_t h)
{
    return (h | TAG_TOP) >> TAG_SHIFT;
}

/* Records are 4-byte aligned (their floats'), so the key is copied. */
static uint64_t s_key_of(const char *rec)
{
    uint64_t key;
    memcpy(&key, rec, sizeof key);
    return key;
}

static uint32_t *s_meta(char *rec)
{
    return (uint32_t *) (void *) (rec + 8);
}

static float *s_values(const ps_sparse_t *t, char *rec)
{
    return (float *) (void *) (rec + t->values_at);
}

static float *s_slot(const ps_sparse_t *t, char *rec)
{
    return (float *) (void *) (rec + t->slot_at);
}

static char *s_rec(const ps_sparse_t *t, uint64_t e)
{
    return t->slabs[(e >> PLACE_BITS) & SLAB_MASK] +
           (size_t) (e & PLACE_MASK) * t->stride;
}

/* The entry for record r (its dense number) under hash h. */
static uint64_t s_entry(const ps_sparse_t *t, size_t r, uint64_t h)
{
    uint64_t slab = r / t->per_slab;
    uint64_t place = r % t->per_slab;
    assert(slab <= SLAB_MASK);
    return s_tag(h) << TAG_SHIFT | slab << PLACE_BITS | place;
}

/* Floats of slots per row: Adagrad's one, one or two per element. */
static size_t s_slot_floats(const struct optim_config *c, size_t width)
{
    if (c->kind == OPTIM_ADAGRAD)
        return 1;
    return (size_t) optim_num_slots(c->kind) * width;
}

static void s_layout(ps_sparse_t *t)
{
    t->has_meta = t->expire > 0 || t->optim.kind == OPTIM_ADAM;
    t->values_at = t->has_meta ? 16 : 8;
    t->slot_at = t->values_at + t->width * sizeof(float);
    size_t end = t->slot_at + s_slot_floats(&t->optim, t->width) * 4;
    /* Packed to the floats' alignment: at width 8 with Adagrad a record
     * is 44 bytes, where 8-byte alignment would make it 48. */
    t->stride = (end + 3) & ~(size_t) 3;
    size_t slab = t->stride > SLAB_BYTES ? t->stride : SLAB_BYTES;
    t->per_slab = slab / t->stride;
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
    t->rows_limit = rows;
    t->width = jobvars_sparse_width(job);
    t->min_count = job->sparse_min_count > UINT32_MAX
                       ? UINT32_MAX
                       : (uint32_t) job->sparse_min_count;
    /* Ages are 32-bit differences of versions. */
    t->expire = job->sparse_expire_steps > INT32_MAX
                    ? INT32_MAX
                    : (uint64_t) job->sparse_expire_steps;
    s_layout(t);
    t->cap = MIN_BUCKETS;
    t->index = psc_xcalloc(t->cap, sizeof *t->index);
    return t;
}

static void s_pending_release(struct pending *p)
{
    free(p->keys);
    free(p->counts);
    memset(p, 0, sizeof *p);
}

static void s_free_slabs(ps_sparse_t *t, size_t keep)
{
    while (t->nslabs > keep)
        free(t->slabs[--t->nslabs]);
}

void ps_sparse_destroy(ps_sparse_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    ps_sparse_t *t = *p;
    s_free_slabs(t, 0);
    free(t->slabs);
    free(t->index);
    s_pending_release(&t->pend);
    free(t->hashes);
    free(t->found);
    free(t);
    *p = NULL;
}

void ps_sparse_init(ps_sparse_t *t)
{
    s_free_slabs(t, 0);
    t->count = 0;
    free(t->index);
    t->cap = MIN_BUCKETS;
    t->index = psc_xcalloc(t->cap, sizeof *t->index);
    s_pending_release(&t->pend);
    t->sweep_at = 0;
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

size_t ps_sparse_rows(const ps_sparse_t *t)
{
    return t->count;
}

size_t ps_sparse_bytes(const ps_sparse_t *t)
{
    size_t slab = t->stride > SLAB_BYTES ? t->stride : SLAB_BYTES;
    return sizeof *t + t->nslabs * slab + t->slab_cap * sizeof(char *) +
           t->cap * sizeof(uint64_t) +
           t->pend.cap * (sizeof(uint64_t) + sizeof(uint32_t)) +
           t->scratch_cap * (sizeof(uint64_t) + sizeof(char *));
}

const char *ps_sparse_check(const ps_sparse_t *t, const uint64_t *keys,
                            size_t n)
{
    uint64_t limit = t->rows_limit;
    for (size_t i = 0; i < n && limit != JOBVARS_ANY_KEY; i++) {
        if (keys[i] >= limit)
            return "sparse key beyond the table's rows";
    }
    /* A division per key was 6 % of the ps's time in width-1 pushes: a mask
     * does for 1, 2, 4, ... ps. */
    uint64_t nps = (uint64_t) t->nps;
    uint64_t mine = (uint64_t) t->shard;
    if ((nps & (nps - 1)) == 0) {
        for (size_t i = 0; i < n; i++)
            if ((keys[i] & (nps - 1)) != mine)
                return "sparse key belongs to another ps";
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (jobvars_sparse_shard(keys[i], t->nps) != t->shard)
            return "sparse key belongs to another ps";
    }
    return NULL;
}

/* The bucket holding key, or t->cap when none does. */
static size_t s_find(const ps_sparse_t *t, uint64_t key, uint64_t h)
{
    size_t mask = t->cap - 1;
    uint64_t tag = s_tag(h);
    for (size_t b = (size_t) h & mask;; b = (b + 1) & mask) {
        uint64_t e = t->index[b];
        if (e == 0)
            return t->cap;
        if (e >> TAG_SHIFT == tag && s_key_of(s_rec(t, e)) == key)
            return b;
    }
}

static void s_place(uint64_t *index, size_t cap, uint64_t h, uint64_t e)
{
    size_t b = (size_t) h & (cap - 1);
    while (index[b] != 0)
        b = (b + 1) & (cap - 1);
    index[b] = e;
}

/* The index with cap buckets (a power of two, more than now): rows stay
 * where they are. */
static void s_rebuild_index(ps_sparse_t *t, size_t cap)
{
    uint64_t *index = psc_xcalloc(cap, sizeof *index);
    for (size_t b = 0; b < t->cap; b++) {
        uint64_t e = t->index[b];
        if (e != 0)
            s_place(index, cap, s_mix(s_key_of(s_rec(t, e))), e);
    }
    free(t->index);
    t->index = index;
    t->cap = cap;
}

/* Doubles the index's buckets. */
static void s_grow_index(ps_sparse_t *t)
{
    s_rebuild_index(t, t->cap * 2);
}

/* Fills a new row's slots: Adagrad's accumulator, zeros otherwise. */
static void s_init_slots(const ps_sparse_t *t, char *rec)
{
    size_t n = s_slot_floats(&t->optim, t->width);
    float *slot = s_slot(t, rec);
    if (t->optim.kind == OPTIM_ADAGRAD)
        slot[0] = t->optim.adagrad_initial;
    else if (n > 0)
        memset(slot, 0, n * sizeof(float));
}

/* A record for key (absent, hash h) in the index; its contents unset
 * but for the key. */
static char *s_new_record(ps_sparse_t *t, uint64_t key, uint64_t h)
{
    if ((t->count + 1) * 4 > t->cap * 3)
        s_grow_index(t);
    size_t r = t->count;
    if (r / t->per_slab == t->nslabs) {
        if (t->nslabs == t->slab_cap) {
            t->slab_cap = t->slab_cap > 0 ? t->slab_cap * 2 : 16;
            t->slabs = psc_xrealloc(t->slabs, t->slab_cap * sizeof *t->slabs);
        }
        size_t bytes = t->per_slab * t->stride;
        void *slab = NULL;
        if (posix_memalign(&slab, SLAB_BYTES, bytes) != 0)
            slab = psc_xmalloc(bytes);
#ifdef MADV_HUGEPAGE
        else
            madvise(slab, bytes, MADV_HUGEPAGE);
#endif
        t->slabs[t->nslabs++] = slab;
    }
    uint64_t e = s_entry(t, r, h);
    char *rec = s_rec(t, e);
    memcpy(rec, &key, sizeof key);
    s_place(t->index, t->cap, h, e);
    t->count++;
    return rec;
}

/* Creates the row of key (absent, hash h); stamped with version stamp. */
static char *s_create(ps_sparse_t *t, uint64_t key, uint64_t h, uint32_t stamp)
{
    char *rec = s_new_record(t, key, h);
    if (t->has_meta) {
        s_meta(rec)[0] = stamp;
        s_meta(rec)[1] = 0;
    }
    jobvars_init_row(t->job, key, s_values(t, rec));
    s_init_slots(t, rec);
    return rec;
}

/* Whether bucket home's chain runs from home through j past bucket i,
 * so an entry at j with that home may not move back to i. */
static int s_stays(size_t home, size_t i, size_t j)
{
    if (i <= j)
        return i < home && home <= j;
    return i < home || home <= j;
}

/* Empties bucket b and shifts the entries after it back into place. */
static void s_unplace(ps_sparse_t *t, size_t b)
{
    size_t mask = t->cap - 1;
    size_t i = b;
    size_t j = b;
    for (;;) {
        t->index[i] = 0;
        for (;;) {
            j = (j + 1) & mask;
            uint64_t e = t->index[j];
            if (e == 0)
                return;
            size_t home = (size_t) s_mix(s_key_of(s_rec(t, e))) & mask;
            if (!s_stays(home, i, j)) {
                t->index[i] = e;
                i = j;
                break;
            }
        }
    }
}

/* Drops record r: the last record moves into its place. */
static void s_drop(ps_sparse_t *t, size_t r)
{
    size_t last = t->count - 1;
    char *rec = t->slabs[r / t->per_slab] + (r % t->per_slab) * t->stride;
    uint64_t key = s_key_of(rec);
    s_unplace(t, s_find(t, key, s_mix(key)));
    if (r != last) {
        char *src =
            t->slabs[last / t->per_slab] + (last % t->per_slab) * t->stride;
        uint64_t h = s_mix(s_key_of(src));
        size_t b = s_find(t, s_key_of(src), h);
        memcpy(rec, src, t->stride);
        t->index[b] = s_entry(t, r, h);
    }
    t->count--;
    /* One spare slab, so a table at a slab's edge does not churn. */
    s_free_slabs(t, (t->count + t->per_slab - 1) / t->per_slab + 1);
}

/*
 * Looks at enough records to pass over the whole table every
 * expire / 2 updates, dropping those not pushed for expire updates: a
 * row goes between expire and 1.5 x expire updates after its last push.
 */
static void s_sweep(ps_sparse_t *t)
{
    size_t budget = (size_t) (2 * t->count / t->expire) + 16;
    uint32_t now = (uint32_t) t->version;
    for (size_t k = 0; k < budget && t->count > 0; k++) {
        if (t->sweep_at >= t->count)
            t->sweep_at = 0;
        size_t r = t->sweep_at;
        char *rec = t->slabs[r / t->per_slab] + (r % t->per_slab) * t->stride;
        if ((uint32_t) (now - s_meta(rec)[0]) >= t->expire)
            s_drop(t, r); /* the last record, now at r, is looked at next */
        else
            t->sweep_at++;
    }
}

/* Scratch for a request of n keys. */
static void s_scratch(ps_sparse_t *t, size_t n)
{
    if (n <= t->scratch_cap)
        return;
    free(t->hashes);
    free(t->found);
    t->scratch_cap = n;
    t->hashes = psc_xmalloc(n * sizeof *t->hashes);
    t->found = psc_xmalloc(n * sizeof *t->found);
}

/* The record of the first entry whose tag matches h, or NULL. */
static char *s_probe(const ps_sparse_t *t, uint64_t h)
{
    size_t mask = t->cap - 1;
    uint64_t tag = s_tag(h);
    for (size_t b = (size_t) h & mask;; b = (b + 1) & mask) {
        uint64_t e = t->index[b];
        if (e == 0)
            return NULL;
        if (e >> TAG_SHIFT == tag)
            return s_rec(t, e);
    }
}

/*
 * Resolves keys into t->found, reading only: a key's index bucket is asked
 * for 2 x AHEAD keys ahead, its record AHEAD keys ahead.
 */
static void s_resolve(ps_sparse_t *t, const uint64_t *keys, size_t n)
{
    s_scratch(t, n);
    uint64_t *h = t->hashes;
    char **found = t->found;
    size_t mask = t->cap - 1;
    for (size_t i = 0; i < n + 2 * AHEAD; i++) {
        if (i < n) {
            h[i] = s_mix(keys[i]);
            __builtin_prefetch(&t->index[h[i] & mask], 0, 3);
        }
        if (i >= AHEAD && i - AHEAD < n) {
            size_t j = i - AHEAD;
            found[j] = s_probe(t, h[j]);
            if (found[j] != NULL)
                __builtin_prefetch(found[j], 0, 3);
        }
        if (i >= 2 * AHEAD) {
            size_t k = i - 2 * AHEAD;
            if (found[k] != NULL && s_key_of(found[k]) != keys[k]) {
                size_t b = s_find(t, keys[k], h[k]);
                found[k] = b < t->cap ? s_rec(t, t->index[b]) : NULL;
            }
        }
    }
}

/* The admission count's bucket for key (hash h): its own, or an empty one. */
static size_t s_pending_slot(const struct pending *p, uint64_t key, uint64_t h)
{
    size_t b = (size_t) h & (p->cap - 1);
    while (p->counts[b] != 0 && p->keys[b] != key)
        b = (b + 1) & (p->cap - 1);
    return b;
}

static void s_pending_grow(struct pending *p)
{
    struct pending q = {0};
    q.cap = p->cap > 0 ? p->cap * 2 : MIN_BUCKETS;
    q.keys = psc_xmalloc(q.cap * sizeof *q.keys);
    q.counts = psc_xcalloc(q.cap, sizeof *q.counts);
    for (size_t b = 0; b < p->cap; b++) {
        if (p->counts[b] == 0)
            continue;
        size_t c = s_pending_slot(&q, p->keys[b], s_mix(p->keys[b]));
        q.keys[c] = p->keys[b];
        q.counts[c] = p->counts[b];
    }
    q.n = p->n;
    s_pending_release(p);
    *p = q;
}

/* Empties bucket b of the admission counts, shifting later ones back. */
static void s_pending_unplace(struct pending *p, size_t b)
{
    size_t mask = p->cap - 1;
    size_t i = b;
    size_t j = b;
    for (;;) {
        p->counts[i] = 0;
        for (;;) {
            j = (j + 1) & mask;
            if (p->counts[j] == 0)
                return;
            if (!s_stays((size_t) s_mix(p->keys[j]) & mask, i, j)) {
                p->keys[i] = p->keys[j];
                p->counts[i] = p->counts[j];
                i = j;
                break;
            }
        }
    }
}

/* Counts one push of key (hash h, no row); 1 when it is let in now. */
static int s_admit(ps_sparse_t *t, uint64_t key, uint64_t h)
{
    struct pending *p = &t->pend;
    if ((p->n + 1) * 4 > p->cap * 3)
        s_pending_grow(p);
    size_t b = s_pending_slot(p, key, h);
    if (p->counts[b] == 0) {
        p->keys[b] = key;
        p->n++;
    }
    p->counts[b]++;
    if (p->counts[b] < t->min_count)
        return 0;
    s_pending_unplace(p, b);
    p->n--;
    return 1;
}

/*
 * Creates the rows a push or pull names and lacks, on this thread: a
 * push's keys pass the admission filter first; a pull creates rows only
 * when there is none.
 */
static void s_materialise(ps_sparse_t *t, const uint64_t *keys, size_t n,
                          int push)
{
    if (!push && t->min_count > 1)
        return;
    uint32_t stamp = (uint32_t) (t->version + 1);
    for (size_t i = 0; i < n; i++) {
        /* The resolve pass asked for this bucket too long ago to count on
         * it still being cached in a large request. */
        if (i + AHEAD < n && t->found[i + AHEAD] == NULL)
            __builtin_prefetch(&t->index[t->hashes[i + AHEAD] & (t->cap - 1)],
                               0, 3);
        if (t->found[i] != NULL)
            continue;
        uint64_t h = t->hashes[i];
        /* A key named twice: its first mention may have created it. */
        size_t b = s_find(t, keys[i], h);
        if (b < t->cap)
            t->found[i] = s_rec(t, t->index[b]);
        else if (!push || t->min_count <= 1 || s_admit(t, keys[i], h))
            t->found[i] = s_create(t, keys[i], h, stamp);
    }
}

static inline __attribute__((always_inline)) void
s_prefetch_row(const ps_sparse_t *t, char *const *found, size_t i, size_t n)
{
    /* Always inlined: GCC finds that a function which only prefetches has
     * no side effects, and deletes the calls. */
    if (i + AHEAD >= n || found[i + AHEAD] == NULL)
        return;
    const char *row = found[i + AHEAD] + t->values_at;
    size_t bytes = t->width * sizeof(float);
    /* The first four cache lines (a 64-float row); wider rows rely on the
     * hardware's prefetcher. */
    __builtin_prefetch(row, 1, 3);
    if (bytes > 64)
        __builtin_prefetch(row + 64, 1, 3);
    if (bytes > 128)
        __builtin_prefetch(row + 128, 1, 3);
    if (bytes > 192)
        __builtin_prefetch(row + 192, 1, 3);
}

/* Writes row i of dst (float32, or binary16 with f16 set) from row. */
static void s_put_row(void *dst, int f16, size_t i, size_t w, const float *row)
{
    if (f16)
        f16_from_f32((uint16_t *) dst + i * w, row, w);
    else if (w == 1)
        ((float *) dst)[i] = row[0];
    else
        memcpy((float *) dst + i * w, row, w * sizeof(float));
}

/* Writes the initial value of key's row, which the table does not hold. */
static void s_put_initial(const ps_sparse_t *t, uint64_t key, void *dst,
                          int f16, size_t i)
{
    size_t w = t->width;
    if (!f16) {
        jobvars_init_row(t->job, key, (float *) dst + i * w);
        return;
    }
    float small[CHUNK];
    float *row = w <= CHUNK ? small : psc_xmalloc(w * sizeof(float));
    jobvars_init_row(t->job, key, row);
    f16_from_f32((uint16_t *) dst + i * w, row, w);
    if (row != small)
        free(row);
}

/* Elements [k, k + m) of gradient row i as float32 (wide: scratch). */
static const float *s_grad(const void *rows, int f16, size_t i, size_t w,
                           size_t k, size_t m, float *wide)
{
    if (!f16)
        return (const float *) rows + i * w + k;
    f16_to_f32(wide, (const uint16_t *) rows + i * w + k, m);
    return wide;
}

/* The sum of g[j]^2 in eight lanes: a single sum would wait on each add,
 * and float sums are not reordered into vectors without -ffast-math. */
static float s_sum_squares(const float *restrict g, size_t m)
{
    float lane[8] = {0};
    size_t j = 0;
    for (; j + 8 <= m; j += 8) {
        for (size_t l = 0; l < 8; l++)
            lane[l] += g[j + l] * g[j + l];
    }
    float sum = 0.0f;
    for (; j < m; j++)
        sum += g[j] * g[j];
    for (size_t l = 0; l < 8; l++)
        sum += lane[l];
    return sum;
}

/*
 * Row-wise Adagrad (TorchRec's): the row's one accumulator adds the mean
 * of g^2 over the row, and every element steps by lr / (sqrt(a) + eps).
 */
static void s_adagrad_row(const ps_sparse_t *t, float *restrict row, float *acc,
                          const void *rows, int f16, size_t i, float lr,
                          float *wide)
{
    size_t w = t->width;
    float sum = 0.0f;
    for (size_t k = 0; k < w; k += CHUNK) {
        size_t m = w - k < CHUNK ? w - k : CHUNK;
        const float *g = s_grad(rows, f16, i, w, k, m, wide);
        sum += s_sum_squares(g, m);
    }
    *acc += sum / (float) w;
    float step = lr / (sqrtf(*acc) + t->optim.epsilon);
    for (size_t k = 0; k < w; k += CHUNK) {
        size_t m = w - k < CHUNK ? w - k : CHUNK;
        const float *restrict g = s_grad(rows, f16, i, w, k, m, wide);
        float *restrict v = row + k;
        for (size_t j = 0; j < m; j++) /* vectorised */
            v[j] -= step * g[j];
    }
}

/* Momentum or Adam on one row: slots per element, Adam's own steps. */
static void s_elementwise_row(const ps_sparse_t *t, char *rec, const void *rows,
                              int f16, size_t i, float lr, float *wide)
{
    size_t w = t->width;
    float *v = s_values(t, rec);
    float *s0 = s_slot(t, rec);
    float *s1 = t->optim.kind == OPTIM_ADAM ? s0 + w : NULL;
    uint64_t step = 1;
    if (t->optim.kind == OPTIM_ADAM)
        step = ++s_meta(rec)[1];
    for (size_t k = 0; k < w; k += CHUNK) {
        size_t m = w - k < CHUNK ? w - k : CHUNK;
        const float *g = s_grad(rows, f16, i, w, k, m, wide);
        optim_apply(&t->optim, lr, step, v + k, s0 + k,
                    s1 != NULL ? s1 + k : NULL, g, 1.0f, m);
    }
}

/* One push, as the pool's threads share its keys. */
struct push_run {
    ps_sparse_t *t;
    const uint64_t *keys;
    const void *rows;
    int f16;
    float lr;
    uint32_t stamp;
    void *reply;
    int reply_f16;
};

/* SGD on one row: the common case, from float32 rows. */
static void s_sgd_row(float *restrict row, const float *restrict g, float lr,
                      size_t w)
{
    for (size_t k = 0; k < w; k++) /* vectorised */
        row[k] -= lr * g[k];
}

/* Row i of the push into record rec, with the job's optimizer. */
static void s_update_row(const struct push_run *r, char *rec, size_t i,
                         float *wide)
{
    ps_sparse_t *t = r->t;
    size_t w = t->width;
    float *v = s_values(t, rec);
    if (t->optim.kind == OPTIM_SGD && !r->f16) {
        s_sgd_row(v, (const float *) r->rows + i * w, r->lr, w);
    } else if (t->optim.kind == OPTIM_SGD) {
        for (size_t k = 0; k < w; k += CHUNK) {
            size_t m = w - k < CHUNK ? w - k : CHUNK;
            const float *g = s_grad(r->rows, r->f16, i, w, k, m, wide);
            optim_apply(&t->optim, r->lr, 1, v + k, NULL, NULL, g, 1.0f, m);
        }
    } else if (t->optim.kind == OPTIM_ADAGRAD) {
        s_adagrad_row(t, v, s_slot(t, rec), r->rows, r->f16, i, r->lr, wide);
    } else {
        s_elementwise_row(t, rec, r->rows, r->f16, i, r->lr, wide);
    }
}

/* Each updated row goes into the reply while it is in the cache; a row
 * the filter keeps out reads as its initial value. */
static void s_push_part(void *arg, size_t begin, size_t end)
{
    const struct push_run *r = arg;
    ps_sparse_t *t = r->t;
    char *const *found = t->found;
    float wide[CHUNK];
    for (size_t i = begin; i < end; i++) {
        s_prefetch_row(t, found, i, end);
        char *rec = found[i];
        if (rec != NULL) {
            s_update_row(r, rec, i, wide);
            if (t->expire > 0)
                s_meta(rec)[0] = r->stamp;
        }
        if (r->reply == NULL)
            continue;
        if (rec != NULL)
            s_put_row(r->reply, r->reply_f16, i, t->width, s_values(t, rec));
        else
            s_put_initial(t, r->keys[i], r->reply, r->reply_f16, i);
    }
}

/* Rows to a thread at least; fewer are not worth waking one for. */
static size_t s_grain(const ps_sparse_t *t)
{
    size_t rows = ((size_t) 1 << 15) / t->width;
    return rows > 256 ? rows : 256;
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

/* After a push's last piece: a new version, and maybe a sweep. */
static void s_next_version(ps_sparse_t *t)
{
    t->version++;
    if (t->expire == 0)
        return;
    s_sweep(t);
    /* A key not let in within expire updates starts counting again. */
    if (t->version % t->expire == 0 && t->pend.n > 0)
        s_pending_release(&t->pend);
}

void ps_sparse_push(ps_sparse_t *t, const uint64_t *keys, size_t n,
                    const void *rows, int f16, void *reply, int reply_f16,
                    int last)
{
    s_resolve(t, keys, n);
    s_materialise(t, keys, n, 1);
    struct push_run r = {.t = t,
                         .keys = keys,
                         .rows = rows,
                         .f16 = f16,
                         .lr = optim_lr(&t->optim, t->version),
                         .stamp = (uint32_t) (t->version + 1),
                         .reply = reply,
                         .reply_f16 = reply_f16};
    pool_t *pool =
        pool_threads(t->pool) > 1 && s_increasing(keys, n) ? t->pool : NULL;
    pool_for(pool, n, s_grain(t), s_push_part, &r);
    if (last)
        s_next_version(t);
}

struct gather_run {
    ps_sparse_t *t;
    const uint64_t *keys;
    void *dst;
    int f16;
};

static void s_gather_part(void *arg, size_t begin, size_t end)
{
    const struct gather_run *r = arg;
    ps_sparse_t *t = r->t;
    for (size_t i = begin; i < end; i++) {
        s_prefetch_row(t, t->found, i, end);
        if (t->found[i] != NULL)
            s_put_row(r->dst, r->f16, i, t->width, s_values(t, t->found[i]));
        else
            s_put_initial(t, r->keys[i], r->dst, r->f16, i);
    }
}

void ps_sparse_gather(ps_sparse_t *t, const uint64_t *keys, size_t n, void *dst,
                      int f16)
{
    s_resolve(t, keys, n);
    s_materialise(t, keys, n, 0);
    struct gather_run r = {t, keys, dst, f16};
    pool_for(t->pool, n, s_grain(t), s_gather_part, &r);
}

/* ---- checkpoints ---- */

size_t ps_sparse_slot_floats(const ps_sparse_t *t)
{
    return s_slot_floats(&t->optim, t->width);
}

size_t ps_sparse_pending(const ps_sparse_t *t)
{
    return t->pend.n;
}

void ps_sparse_snapshot(const ps_sparse_t *t, uint8_t *records,
                        uint8_t *pending)
{
    uint32_t w = (uint32_t) t->width;
    uint32_t ns = (uint32_t) s_slot_floats(&t->optim, t->width);
    size_t rec_bytes = ckpt_sparse_record_bytes(w, ns);
    for (size_t r = 0; r < t->count; r++) {
        char *rec = t->slabs[r / t->per_slab] + (r % t->per_slab) * t->stride;
        struct ckpt_sparse_row row = {
            .key = s_key_of(rec),
            .stamp = t->has_meta ? s_meta(rec)[0] : 0,
            .steps = t->has_meta ? s_meta(rec)[1] : 0,
            .values = s_values(t, rec),
            .slots = s_slot(t, rec),
        };
        ckpt_sparse_encode_row(records + r * rec_bytes, &row, w, ns);
    }
    size_t k = 0;
    for (size_t b = 0; b < t->pend.cap; b++) {
        if (t->pend.counts[b] == 0)
            continue;
        ckpt_sparse_encode_count(pending + k * CKPT_SPARSE_PENDING_BYTES,
                                 t->pend.keys[b], t->pend.counts[b]);
        k++;
    }
}

int ps_sparse_restore_row(ps_sparse_t *t, const struct ckpt_sparse_row *row)
{
    if (jobvars_sparse_shard(row->key, t->nps) != t->shard)
        return 1;
    uint64_t h = s_mix(row->key);
    size_t b = s_find(t, row->key, h);
    char *rec = b < t->cap ? s_rec(t, t->index[b]) : NULL;
    if (rec == NULL)
        rec = s_new_record(t, row->key, h);
    if (t->has_meta) {
        s_meta(rec)[0] = row->stamp;
        s_meta(rec)[1] = row->steps;
    }
    memcpy(s_values(t, rec), row->values, t->width * sizeof(float));
    size_t ns = s_slot_floats(&t->optim, t->width);
    if (ns > 0)
        memcpy(s_slot(t, rec), row->slots, ns * sizeof(float));
    return 0;
}

int ps_sparse_restore_count(ps_sparse_t *t, uint64_t key, uint32_t count)
{
    if (jobvars_sparse_shard(key, t->nps) != t->shard || count == 0)
        return 1;
    struct pending *p = &t->pend;
    if ((p->n + 1) * 4 > p->cap * 3)
        s_pending_grow(p);
    size_t b = s_pending_slot(p, key, s_mix(key));
    if (p->counts[b] == 0) {
        p->keys[b] = key;
        p->n++;
    }
    p->counts[b] = count;
    return 0;
}

void ps_sparse_reserve(ps_sparse_t *t, size_t rows)
{
    size_t cap = t->cap;
    while (rows * 4 > cap * 3)
        cap *= 2;
    if (cap > t->cap)
        s_rebuild_index(t, cap);
}

size_t ps_sparse_sweep_at(const ps_sparse_t *t)
{
    return t->sweep_at;
}

void ps_sparse_restore_done(ps_sparse_t *t, uint64_t version, size_t sweep_at)
{
    t->version = version;
    t->sweep_at = sweep_at < t->count ? sweep_at : 0;
}
