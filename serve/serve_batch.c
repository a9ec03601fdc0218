/*
 * The batcher: predict requests queue as tasks on the caller's stack; one
 * batch thread at a time gathers the oldest task and later ones for the
 * same version into a batch while the others run theirs, so a batch fills
 * while the previous one is in OpenBLAS. A caller sleeps on its task's
 * condition variable until a batch thread says it is done.
 *
 * The queue bound: the rows waiting in the queue (not yet taken into a
 * batch) may not exceed max_enqueued_batches * max_batch_size. A request
 * that would go beyond is refused at once, unless the queue is empty, so a
 * request bigger than the bound still runs (alone) when nothing waits.
 */
#include "serve_batch.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One request waiting for its batch; lives on the caller's stack. */
struct task {
    const struct serve_version *v;
    const float *x;
    int rows;
    float *probs;
    struct timespec enqueued; /* CLOCK_MONOTONIC */
    int done;                 /* under the batcher's lock */
    int rc;
    pthread_cond_t cond; /* done was set */
    struct task *next;
};

struct serve_batcher {
    struct serve_batching cfg;
    void (*on_batch)(void *arg, int rows);
    void *arg;
    long max_rows; /* the queue bound, in rows */
    pthread_mutex_t mu;
    pthread_cond_t work; /* a task came, one was taken, or stop */
    pthread_cond_t idle; /* a caller left (destroy waits for them all) */
    struct task *head;   /* FIFO, oldest first */
    struct task *tail;
    long queued_rows;
    int gathering; /* a batch thread is filling a batch */
    int stopping;
    int callers; /* callers inside serve_batcher_predict() */
    int nthreads;
    pthread_t *threads;
};

/* A batch thread's scratch: the gathered inputs and their outputs. */
struct scratch {
    float *x;
    size_t xcap;
    float *probs;
    size_t pcap;
};

static void s_deadline(struct timespec *ts, const struct timespec *from,
                       long micros)
{
    long long ns = (long long) from->tv_nsec + (long long) micros * 1000;
    ts->tv_sec = from->tv_sec + (time_t) (ns / 1000000000);
    ts->tv_nsec = (long) (ns % 1000000000);
}

static int s_passed(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec != deadline->tv_sec)
        return now.tv_sec > deadline->tv_sec;
    return now.tv_nsec >= deadline->tv_nsec;
}

/*
 * The rows of the batch that head would start: head, then later tasks of
 * its version in queue order while they fit. *full is set when the batch
 * cannot grow (max_batch_size reached, or a task of its version did not
 * fit and must go first in a later batch).
 */
static long s_batch_rows(const struct serve_batcher *b, int *full)
{
    const struct task *first = b->head;
    long rows = first->rows;
    *full = rows >= b->cfg.max_batch_size;
    for (const struct task *t = first->next; t != NULL && !*full; t = t->next) {
        if (t->v != first->v)
            continue;
        if (rows + t->rows > b->cfg.max_batch_size) {
            *full = 1;
            break;
        }
        rows += t->rows;
        *full = rows >= b->cfg.max_batch_size;
    }
    return rows;
}

/*
 * Unlinks the batch s_batch_rows() describes into a list of its own, in
 * queue order. Returns its first task.
 */
static struct task *s_take_batch(struct serve_batcher *b, long rows)
{
    const struct serve_version *v = b->head->v;
    struct task *batch = NULL;
    struct task **btail = &batch;
    struct task **link = &b->head;
    b->tail = NULL;
    long left = rows;
    while (*link != NULL) {
        struct task *t = *link;
        if (left > 0 && t->v == v && t->rows <= left) {
            left -= t->rows;
            *link = t->next;
            t->next = NULL;
            *btail = t;
            btail = &t->next;
            continue;
        }
        b->tail = t;
        link = &t->next;
    }
    b->queued_rows -= rows;
    return batch;
}

/*
 * Waits, as the one gathering thread, until the oldest task's batch is
 * full or its timeout has passed, then takes it. Returns NULL when the
 * batcher stops. Called and returns with b->mu held.
 */
static struct task *s_gather(struct serve_batcher *b, long *rows)
{
    while (!b->stopping && (b->gathering || b->head == NULL))
        pthread_cond_wait(&b->work, &b->mu);
    if (b->stopping)
        return NULL;
    b->gathering = 1;
    for (;;) {
        int full = 0;
        *rows = s_batch_rows(b, &full);
        struct timespec deadline;
        s_deadline(&deadline, &b->head->enqueued, b->cfg.batch_timeout_micros);
        if (full || s_passed(&deadline))
            break;
        pthread_cond_timedwait(&b->work, &b->mu, &deadline);
        if (b->stopping) {
            b->gathering = 0;
            return NULL;
        }
    }
    struct task *batch = s_take_batch(b, *rows);
    b->gathering = 0;
    /* Another thread may start gathering the next batch now. */
    pthread_cond_broadcast(&b->work);
    return batch;
}

static void s_grow(float **p, size_t *cap, size_t n)
{
    if (*p != NULL && n <= *cap)
        return;
    free(*p);
    *cap = n > 0 ? n : 1;
    *p = psc_xmalloc(*cap * sizeof **p);
}

/* Runs one batch: alone in place, or copied together and scattered back. */
static void s_run(struct scratch *s, struct task *batch, long rows)
{
    const struct export_model *m = &batch->v->model;
    if (batch->next == NULL) {
        export_predict(m, batch->x, batch->rows, batch->probs);
        return;
    }
    size_t in = (size_t) m->input_dim;
    size_t out = (size_t) m->classes;
    s_grow(&s->x, &s->xcap, (size_t) rows * in);
    s_grow(&s->probs, &s->pcap, (size_t) rows * out);
    size_t at = 0;
    for (const struct task *t = batch; t != NULL; t = t->next) {
        memcpy(s->x + at * in, t->x, (size_t) t->rows * in * sizeof *s->x);
        at += (size_t) t->rows;
    }
    export_predict(m, s->x, (int) rows, s->probs);
    at = 0;
    for (struct task *t = batch; t != NULL; t = t->next) {
        memcpy(t->probs, s->probs + at * out,
               (size_t) t->rows * out * sizeof *t->probs);
        at += (size_t) t->rows;
    }
}

static void *s_thread(void *arg)
{
    struct serve_batcher *b = arg;
    struct scratch s = {0};
    pthread_mutex_lock(&b->mu);
    for (;;) {
        long rows = 0;
        struct task *batch = s_gather(b, &rows);
        if (batch == NULL)
            break;
        pthread_mutex_unlock(&b->mu);
        /* The callers are asleep until done: x and probs are ours. */
        s_run(&s, batch, rows);
        if (b->on_batch != NULL)
            b->on_batch(b->arg, (int) rows);
        pthread_mutex_lock(&b->mu);
        while (batch != NULL) {
            struct task *next = batch->next;
            batch->rc = 0;
            batch->done = 1;
            pthread_cond_signal(&batch->cond);
            batch = next;
        }
    }
    pthread_mutex_unlock(&b->mu);
    free(s.x);
    free(s.probs);
    return NULL;
}

static long s_at_least(long v, long min)
{
    return v < min ? min : v;
}

serve_batcher_t *serve_batcher_new(const struct serve_batching *cfg,
                                   void (*on_batch)(void *arg, int rows),
                                   void *arg)
{
    struct serve_batcher *b = psc_xcalloc(1, sizeof *b);
    b->cfg = *cfg;
    b->cfg.max_batch_size = s_at_least(cfg->max_batch_size, 1);
    b->cfg.batch_timeout_micros = s_at_least(cfg->batch_timeout_micros, 0);
    b->cfg.num_batch_threads = s_at_least(cfg->num_batch_threads, 1);
    b->cfg.max_enqueued_batches = s_at_least(cfg->max_enqueued_batches, 1);
    b->max_rows = b->cfg.max_enqueued_batches * b->cfg.max_batch_size;
    b->on_batch = on_batch;
    b->arg = arg;
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->work, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&b->idle, NULL);
    if (!cfg->enabled)
        return b;
    b->threads =
        psc_xcalloc((size_t) b->cfg.num_batch_threads, sizeof *b->threads);
    for (long i = 0; i < b->cfg.num_batch_threads; i++) {
        int rc = pthread_create(&b->threads[i], NULL, s_thread, b);
        if (rc != 0) {
            psc_log_err("cannot start batch thread %ld: %s", i, strerror(rc));
            serve_batcher_destroy(&b);
            return NULL;
        }
        b->nthreads++;
    }
    psc_log_info("batching: up to %ld rows or %ld us per batch, %ld "
                 "threads, at most %ld rows queued",
                 b->cfg.max_batch_size, b->cfg.batch_timeout_micros,
                 b->cfg.num_batch_threads, b->max_rows);
    return b;
}

void serve_batcher_destroy(serve_batcher_t **p)
{
    struct serve_batcher *b = p != NULL ? *p : NULL;
    if (b == NULL)
        return;
    pthread_mutex_lock(&b->mu);
    b->stopping = 1;
    pthread_cond_broadcast(&b->work);
    pthread_mutex_unlock(&b->mu);
    for (int i = 0; i < b->nthreads; i++)
        pthread_join(b->threads[i], NULL);
    pthread_mutex_lock(&b->mu);
    /* No thread runs batches now: fail what still waits. */
    for (struct task *t = b->head; t != NULL; t = t->next) {
        t->rc = PSC_EINTR;
        t->done = 1;
        pthread_cond_signal(&t->cond);
    }
    b->head = NULL;
    b->tail = NULL;
    b->queued_rows = 0;
    while (b->callers > 0)
        pthread_cond_wait(&b->idle, &b->mu);
    pthread_mutex_unlock(&b->mu);
    pthread_cond_destroy(&b->idle);
    pthread_cond_destroy(&b->work);
    pthread_mutex_destroy(&b->mu);
    free(b->threads);
    free(b);
    *p = NULL;
}

/* Queues t and sleeps until a batch thread or destroy says done. */
static int s_enqueue_wait(struct serve_batcher *b, struct task *t, char *err)
{
    pthread_mutex_lock(&b->mu);
    if (b->stopping) {
        pthread_mutex_unlock(&b->mu);
        return psc_seterr(err, PSC_EINTR, "batcher is stopping");
    }
    if (b->queued_rows > 0 && b->queued_rows + t->rows > b->max_rows) {
        pthread_mutex_unlock(&b->mu);
        return psc_seterr(err, PSC_EAGAIN, "batch queue is full");
    }
    clock_gettime(CLOCK_MONOTONIC, &t->enqueued);
    if (b->tail != NULL)
        b->tail->next = t;
    else
        b->head = t;
    b->tail = t;
    b->queued_rows += t->rows;
    b->callers++;
    pthread_cond_broadcast(&b->work);
    while (!t->done)
        pthread_cond_wait(&t->cond, &b->mu);
    b->callers--;
    if (b->callers == 0 && b->stopping)
        pthread_cond_signal(&b->idle);
    pthread_mutex_unlock(&b->mu);
    if (t->rc == PSC_EINTR)
        return psc_seterr(err, PSC_EINTR, "batcher is stopping");
    return t->rc;
}

int serve_batcher_predict(serve_batcher_t *b, const struct serve_version *v,
                          const float *x, int rows, float *probs, char *err)
{
    if (rows <= 0)
        return 0;
    if (!b->cfg.enabled) {
        export_predict(&v->model, x, rows, probs);
        if (b->on_batch != NULL)
            b->on_batch(b->arg, rows);
        return 0;
    }
    struct task t = {
        .v = v, .x = x, .rows = rows, .probs = probs, .rc = PSC_EINTR};
    pthread_cond_init(&t.cond, NULL);
    int rc = s_enqueue_wait(b, &t, err);
    pthread_cond_destroy(&t.cond);
    return rc;
}
