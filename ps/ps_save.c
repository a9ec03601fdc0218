#include "ps_save.h"

#include "ckpt_sparse.h"
#include "psc_alloc.h"
#include "psc_err.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The sparse table's copy, kept from one checkpoint to the next. */
struct sparse_copy {
    int taken;
    uint8_t *records;
    size_t records_cap; /* bytes */
    uint8_t *pending;
    size_t pending_cap;
    struct ckpt_sparse_data data;
};

struct ps_save {
    pthread_t thread;
    int started;        /* between ps_save_start() and write or cancel */
    int busy;           /* a thread was started and not yet joined */
    atomic_int written; /* set by the thread as its last act */
    float *arrays[CKPT_MAX_ARRAYS];
    size_t cap; /* elements each array has room for */
    struct ckpt_shard_data data;
    struct sparse_copy sp;
    char dir[4096];
    struct ps_save_result res;
    char err[PSC_ERR_LEN];
};

ps_save_t *ps_save_new(void)
{
    return psc_xcalloc(1, sizeof(ps_save_t));
}

static void s_join(ps_save_t *s)
{
    if (s->busy)
        pthread_join(s->thread, NULL);
    s->busy = 0;
}

void ps_save_destroy(ps_save_t **p)
{
    ps_save_t *s = *p;
    if (s == NULL)
        return;
    s_join(s);
    for (int a = 0; a < CKPT_MAX_ARRAYS; a++)
        free(s->arrays[a]);
    free(s->sp.records);
    free(s->sp.pending);
    free(s);
    *p = NULL;
}

const char *ps_save_dir(const ps_save_t *s)
{
    return s->dir;
}

int ps_save_busy(const ps_save_t *s)
{
    return s->busy || atomic_load(&s->written);
}

static void *s_write(void *arg)
{
    ps_save_t *s = arg;
    struct ps_save_result *res = &s->res;
    res->rc = ckpt_write_shard(s->dir, &s->data, &res->file, s->err);
    res->version = s->data.version;
    if (res->rc == 0 && s->sp.taken) {
        const struct ckpt_sparse_data *d = &s->sp.data;
        res->rc = ckpt_write_sparse(s->dir, d, &res->sparse, s->err);
        res->has_sparse = res->rc == 0;
        res->sparse_version = d->version;
        res->sparse_rows = d->rows;
        res->sparse_pending = d->npending;
        res->sparse_slot_floats = d->slot_floats;
    }
    atomic_store(&s->written, 1);
    return NULL;
}

/* Room for narrays x size floats, kept from one checkpoint to the next. */
static void s_reserve(ps_save_t *s, int narrays, size_t size)
{
    if (size <= s->cap && s->arrays[narrays - 1] != NULL)
        return;
    for (int a = 0; a < CKPT_MAX_ARRAYS; a++) {
        free(s->arrays[a]);
        s->arrays[a] =
            a < narrays ? psc_xaligned((size + 1) * sizeof(float)) : NULL;
    }
    s->cap = size;
}

int ps_save_start(ps_save_t *s, int index, int nps, const char *dir)
{
    if (s->busy)
        return PSC_EAGAIN;
    memset(&s->data, 0, sizeof s->data);
    s->data.shard = index;
    s->data.nps = nps;
    s->sp.taken = 0;
    memset(&s->res, 0, sizeof s->res);
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    s->started = 1;
    return 0;
}

void ps_save_copy_shard(ps_save_t *s, const ps_shard_t *shard)
{
    int narrays = ps_shard_num_arrays(shard);
    size_t size = ps_shard_layout(shard)->size;
    s_reserve(s, narrays, size);
    ps_shard_snapshot(shard, s->arrays);
    s->data.version = ps_shard_version(shard);
    s->data.size = size;
    s->data.narrays = narrays;
    for (int a = 0; a < narrays; a++)
        s->data.arrays[a] = s->arrays[a];
}

/* buf holds at least bytes (+1, so never 0) bytes. */
static void s_room(uint8_t **buf, size_t *cap, size_t bytes)
{
    if (bytes < *cap && *buf != NULL)
        return;
    free(*buf);
    *cap = bytes + bytes / 4 + 1;
    *buf = psc_xmalloc(*cap);
}

void ps_save_copy_sparse(ps_save_t *s, const ps_sparse_t *t)
{
    struct sparse_copy *c = &s->sp;
    struct ckpt_sparse_data *d = &c->data;
    memset(d, 0, sizeof *d);
    d->shard = s->data.shard;
    d->nps = s->data.nps;
    d->width = (uint32_t) ps_sparse_width(t);
    d->slot_floats = (uint32_t) ps_sparse_slot_floats(t);
    d->version = ps_sparse_version(t);
    d->sweep_at = ps_sparse_sweep_at(t);
    d->rows = ps_sparse_rows(t);
    d->npending = ps_sparse_pending(t);
    s_room(&c->records, &c->records_cap,
           d->rows * ckpt_sparse_record_bytes(d->width, d->slot_floats));
    s_room(&c->pending, &c->pending_cap,
           d->npending * CKPT_SPARSE_PENDING_BYTES);
    ps_sparse_snapshot(t, c->records, c->pending);
    d->records = c->records;
    d->pending = c->pending;
    c->taken = 1;
}

void ps_save_write(ps_save_t *s)
{
    s->started = 0;
    atomic_store(&s->written, 0);
    if (pthread_create(&s->thread, NULL, s_write, s) != 0) {
        /* No thread to spare: write now, training waits this once. */
        s_write(s);
        return;
    }
    s->busy = 1;
}

void ps_save_cancel(ps_save_t *s)
{
    s->started = 0;
    s->sp.taken = 0;
}

int ps_save_finish(ps_save_t *s, int wait, struct ps_save_result *res,
                   char *err)
{
    if (!s->busy && !atomic_load(&s->written))
        return 0;
    if (!wait && !atomic_load(&s->written))
        return 0;
    s_join(s);
    atomic_store(&s->written, 0);
    *res = s->res;
    if (s->res.rc != 0)
        snprintf(err, PSC_ERR_LEN, "%s", s->err);
    return 1;
}
