#include "ps_save.h"

#include "psc_alloc.h"
#include "psc_err.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ps_save {
    pthread_t thread;
    int busy;           /* a thread was started and not yet joined */
    atomic_int written; /* set by the thread as its last act */
    float *arrays[CKPT_MAX_ARRAYS];
    size_t cap; /* elements each array has room for */
    struct ckpt_shard_data data;
    char dir[4096];
    int rc;
    struct ckpt_file file;
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
    s->rc = ckpt_write_shard(s->dir, &s->data, &s->file, s->err);
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

int ps_save_start(ps_save_t *s, const ps_shard_t *shard, int index, int nps,
                  const char *dir)
{
    if (s->busy)
        return PSC_EAGAIN;
    int narrays = ps_shard_num_arrays(shard);
    size_t size = ps_shard_layout(shard)->size;
    s_reserve(s, narrays, size);
    ps_shard_snapshot(shard, s->arrays);
    memset(&s->data, 0, sizeof s->data);
    s->data.shard = index;
    s->data.nps = nps;
    s->data.version = ps_shard_version(shard);
    s->data.size = size;
    s->data.narrays = narrays;
    for (int a = 0; a < narrays; a++)
        s->data.arrays[a] = s->arrays[a];
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    atomic_store(&s->written, 0);
    if (pthread_create(&s->thread, NULL, s_write, s) != 0) {
        /* No thread to spare: write now, training waits this once. */
        s_write(s);
        return 0;
    }
    s->busy = 1;
    return 0;
}

int ps_save_finish(ps_save_t *s, int wait, int *rc, struct ckpt_file *file,
                   uint64_t *version, char *err)
{
    if (!s->busy && !atomic_load(&s->written))
        return 0;
    if (!wait && !atomic_load(&s->written))
        return 0;
    s_join(s);
    atomic_store(&s->written, 0);
    *rc = s->rc;
    *file = s->file;
    *version = s->data.version;
    if (s->rc != 0)
        snprintf(err, PSC_ERR_LEN, "%s", s->err);
    return 1;
}
