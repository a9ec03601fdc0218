/*
 * Fork-join over a mutex and two condition variables: a generation number
 * starts a loop, a count of parts outstanding ends it.
 */
#include "pool.h"

#include "psc_alloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define POOL_ALIGN 64

struct part {
    size_t begin;
    size_t end;
};

struct pool {
    int threads;
    pthread_t *helpers;
    pthread_mutex_t lock;
    pthread_cond_t start;
    pthread_cond_t done;
    unsigned long generation;
    int quit;
    int pending; /* helpers' parts of the current loop not yet done */
    int nparts;  /* parts of the current loop, the caller's included */
    pool_fn fn;
    void *arg;
    struct part parts[];
};

struct helper {
    pool_t *p;
    int index; /* its part of each loop */
};

static void *s_helper_main(void *arg)
{
    struct helper h = *(struct helper *) arg;
    free(arg);
    pool_t *p = h.p;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->generation == seen && !p->quit)
            pthread_cond_wait(&p->start, &p->lock);
        if (p->quit)
            break;
        seen = p->generation;
        if (h.index >= p->nparts)
            continue;
        struct part part = p->parts[h.index];
        pool_fn fn = p->fn;
        void *fn_arg = p->arg;
        pthread_mutex_unlock(&p->lock);
        fn(fn_arg, part.begin, part.end);
        pthread_mutex_lock(&p->lock);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static int s_auto_threads(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        return 1;
    return cores < POOL_AUTO_MAX ? (int) cores : POOL_AUTO_MAX;
}

pool_t *pool_new(int threads)
{
    if (threads <= 0)
        threads = s_auto_threads();
    pool_t *p =
        psc_xcalloc(1, sizeof *p + (size_t) threads * sizeof(struct part));
    p->threads = threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->start, NULL);
    pthread_cond_init(&p->done, NULL);
    p->helpers = psc_xcalloc((size_t) threads, sizeof *p->helpers);
    for (int i = 1; i < threads; i++) {
        struct helper *h = psc_xmalloc(sizeof *h);
        *h = (struct helper){p, i};
        if (pthread_create(&p->helpers[i], NULL, s_helper_main, h) != 0) {
            free(h);
            p->threads = i; /* fewer helpers: still correct, only slower */
            break;
        }
    }
    return p;
}

void pool_destroy(pool_t **pp)
{
    if (pp == NULL || *pp == NULL)
        return;
    pool_t *p = *pp;
    pthread_mutex_lock(&p->lock);
    p->quit = 1;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->lock);
    for (int i = 1; i < p->threads; i++)
        pthread_join(p->helpers[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->start);
    pthread_cond_destroy(&p->done);
    free(p->helpers);
    free(p);
    *pp = NULL;
}

int pool_threads(const pool_t *p)
{
    return p != NULL ? p->threads : 1;
}

/* Cuts [0, n) into k parts starting at multiples of POOL_ALIGN. */
static void s_cut(pool_t *p, size_t n, int k)
{
    size_t share = n / (size_t) k;
    for (int i = 0; i < k; i++) {
        size_t begin = (share * (size_t) i) / POOL_ALIGN * POOL_ALIGN;
        p->parts[i].begin = begin;
        if (i > 0)
            p->parts[i - 1].end = begin;
    }
    p->parts[k - 1].end = n;
}

void pool_for(pool_t *p, size_t n, size_t grain, pool_fn fn, void *arg)
{
    if (grain < POOL_ALIGN)
        grain = POOL_ALIGN;
    size_t most = n / grain;
    int k = p != NULL ? p->threads : 1;
    if ((size_t) k > most)
        k = (int) most;
    if (k <= 1) {
        fn(arg, 0, n);
        return;
    }
    pthread_mutex_lock(&p->lock);
    s_cut(p, n, k);
    p->fn = fn;
    p->arg = arg;
    p->nparts = k;
    p->pending = k - 1;
    p->generation++;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->lock);
    fn(arg, p->parts[0].begin, p->parts[0].end);
    pthread_mutex_lock(&p->lock);
    while (p->pending > 0)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}
