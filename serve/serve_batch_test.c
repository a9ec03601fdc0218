/*
 * Tests for the batcher: with batching off the caller predicts; with it
 * on, 8 threads' single rows for two versions come back as export_predict
 * alone gives them, in batches bigger than one and never mixing versions;
 * a request bigger than max_batch_size runs alone; a full queue refuses at
 * once; destroy fails the requests still waiting.
 */
#include "serve_batch.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define S_IN      784
#define S_CLASSES 10

struct seen {
    atomic_int batches;
    atomic_int rows;
    atomic_int largest;
};

static void s_on_batch(void *arg, int rows)
{
    struct seen *s = arg;
    atomic_fetch_add(&s->batches, 1);
    atomic_fetch_add(&s->rows, rows);
    int old = atomic_load(&s->largest);
    while (rows > old && !atomic_compare_exchange_weak(&s->largest, &old, rows))
        ;
}

/* A 784 -> 10 softmax with weights from seed. */
static void s_version(struct serve_version *v, long number, unsigned seed)
{
    memset(v, 0, sizeof *v);
    v->model_name = "fashion";
    v->number = number;
    struct export_model *m = &v->model;
    m->dtype = EXPORT_F32;
    m->height = 28;
    m->width = 28;
    m->input_dim = S_IN;
    m->input_scale = 1.0f / 255.0f;
    m->classes = S_CLASSES;
    m->nlayers = 1;
    struct export_layer *L = &m->layers[0];
    L->in = S_IN;
    L->out = S_CLASSES;
    L->relu = 0;
    L->kernel = psc_xmalloc((size_t) S_IN * S_CLASSES * sizeof *L->kernel);
    L->bias = psc_xmalloc(S_CLASSES * sizeof *L->bias);
    unsigned r = seed;
    for (int i = 0; i < S_IN * S_CLASSES; i++) {
        r = r * 1103515245u + 12345u;
        L->kernel[i] = (float) ((int) (r >> 16) % 2001 - 1000) / 20000.0f;
    }
    for (int i = 0; i < S_CLASSES; i++)
        L->bias[i] = 0.01f * (float) i;
}

/* Pixel values 0..255 for row i. */
static void s_pixels(float *x, int i)
{
    unsigned r = 77u + (unsigned) i * 2654435761u;
    for (int k = 0; k < S_IN; k++) {
        r = r * 1103515245u + 12345u;
        x[k] = (float) ((r >> 16) % 256);
    }
}

static void s_check_same(const struct serve_version *v, const float *x,
                         int rows, const float *probs)
{
    float *want = psc_xmalloc((size_t) rows * S_CLASSES * sizeof *want);
    export_predict(&v->model, x, rows, want);
    for (int i = 0; i < rows * S_CLASSES; i++)
        CHECK_NEAR(probs[i], want[i], 1e-6);
    free(want);
}

static struct serve_batching s_cfg(int enabled, long max_batch, long timeout_us,
                                   long threads, long max_enqueued)
{
    struct serve_batching b = {.enabled = enabled,
                               .max_batch_size = max_batch,
                               .batch_timeout_micros = timeout_us,
                               .num_batch_threads = threads,
                               .max_enqueued_batches = max_enqueued};
    return b;
}

static void test_off(const struct serve_version *v)
{
    struct seen seen = {0};
    struct serve_batching cfg = s_cfg(0, 32, 1000, 2, 100);
    serve_batcher_t *b = serve_batcher_new(&cfg, s_on_batch, &seen);
    CHECK(b != NULL);
    float x[3 * S_IN];
    float probs[3 * S_CLASSES];
    for (int i = 0; i < 3; i++)
        s_pixels(x + i * S_IN, i);
    char err[PSC_ERR_LEN] = "";
    CHECK_OK(serve_batcher_predict(b, v, x, 3, probs, err));
    s_check_same(v, x, 3, probs);
    CHECK_EQ(atomic_load(&seen.batches), 1);
    CHECK_EQ(atomic_load(&seen.rows), 3);
    serve_batcher_destroy(&b);
    CHECK(b == NULL);
    serve_batcher_destroy(&b);
}

#define S_THREADS 8
#define S_EACH    40

struct client {
    serve_batcher_t *b;
    const struct serve_version *v[2];
    int index;
    int failed;
};

static void *s_client(void *arg)
{
    struct client *c = arg;
    float x[S_IN];
    float probs[S_CLASSES];
    float want[S_CLASSES];
    for (int k = 0; k < S_EACH; k++) {
        const struct serve_version *v = c->v[(c->index + k) % 2];
        s_pixels(x, c->index * S_EACH + k);
        char err[PSC_ERR_LEN] = "";
        if (serve_batcher_predict(c->b, v, x, 1, probs, err) != 0) {
            fprintf(stderr, "predict: %s\n", err);
            c->failed = 1;
            return NULL;
        }
        export_predict(&v->model, x, 1, want);
        for (int i = 0; i < S_CLASSES; i++)
            if (!(fabsf(probs[i] - want[i]) <= 1e-6f))
                c->failed = 1;
    }
    return NULL;
}

static void test_concurrent(const struct serve_version *v1,
                            const struct serve_version *v2)
{
    struct seen seen = {0};
    struct serve_batching cfg = s_cfg(1, 8, 20000, 2, 100);
    serve_batcher_t *b = serve_batcher_new(&cfg, s_on_batch, &seen);
    CHECK(b != NULL);
    pthread_t th[S_THREADS];
    struct client c[S_THREADS];
    for (int i = 0; i < S_THREADS; i++) {
        c[i] = (struct client){.b = b, .v = {v1, v2}, .index = i};
        CHECK_OK(pthread_create(&th[i], NULL, s_client, &c[i]));
    }
    for (int i = 0; i < S_THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ(c[i].failed, 0);
    }
    CHECK_EQ(atomic_load(&seen.rows), S_THREADS * S_EACH);
    CHECK(atomic_load(&seen.largest) > 1);
    CHECK(atomic_load(&seen.largest) <= 8);
    CHECK(atomic_load(&seen.batches) < S_THREADS * S_EACH);
    serve_batcher_destroy(&b);
}

/* A request bigger than max_batch_size is one batch, not split. */
static void test_big_alone(const struct serve_version *v)
{
    struct seen seen = {0};
    struct serve_batching cfg = s_cfg(1, 8, 1000, 1, 100);
    serve_batcher_t *b = serve_batcher_new(&cfg, s_on_batch, &seen);
    enum { rows = 20 };
    float *x = psc_xmalloc((size_t) rows * S_IN * sizeof *x);
    float probs[rows * S_CLASSES];
    for (int i = 0; i < rows; i++)
        s_pixels(x + i * S_IN, 100 + i);
    char err[PSC_ERR_LEN] = "";
    CHECK_OK(serve_batcher_predict(b, v, x, rows, probs, err));
    s_check_same(v, x, rows, probs);
    CHECK_EQ(atomic_load(&seen.batches), 1);
    CHECK_EQ(atomic_load(&seen.largest), rows);
    serve_batcher_destroy(&b);
    free(x);
}

struct waiter {
    serve_batcher_t *b;
    const struct serve_version *v;
    int rc;
    char err[PSC_ERR_LEN];
};

static void *s_waiter(void *arg)
{
    struct waiter *w = arg;
    float x[S_IN];
    float probs[S_CLASSES];
    s_pixels(x, 5);
    /* Refused while the other thread's rows wait: try again. */
    do
        w->rc = serve_batcher_predict(w->b, w->v, x, 1, probs, w->err);
    while (w->rc == PSC_EAGAIN);
    return NULL;
}

static double s_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

/*
 * One thread's row for v1 waits (10 s timeout) for a batch to fill; the
 * bound is 1 x 4 rows, so 5 rows for v2 are refused once it is queued
 * (before, they run at once: bigger than a batch, into an empty queue,
 * and the row for v1 is the one refused).
 * destroy then fails the waiting row without waiting out its timeout.
 */
static void test_full_then_destroy(const struct serve_version *v1,
                                   const struct serve_version *v2)
{
    struct seen seen = {0};
    struct serve_batching cfg = s_cfg(1, 4, 10 * 1000 * 1000, 1, 1);
    serve_batcher_t *b = serve_batcher_new(&cfg, s_on_batch, &seen);
    struct waiter w = {.b = b, .v = v1, .rc = 1};
    pthread_t th;
    CHECK_OK(pthread_create(&th, NULL, s_waiter, &w));
    float x[5 * S_IN];
    float probs[5 * S_CLASSES];
    for (int i = 0; i < 5; i++)
        s_pixels(x + i * S_IN, 200 + i);
    char err[PSC_ERR_LEN] = "";
    int rc = 0;
    for (int tries = 0; tries < 5000 && rc == 0; tries++) {
        rc = serve_batcher_predict(b, v2, x, 5, probs, err);
        if (rc == 0) {
            s_check_same(v2, x, 5, probs);
            nanosleep(&(struct timespec){0, 1000000}, NULL);
        }
    }
    CHECK_EQ(rc, PSC_EAGAIN);
    CHECK_STR(err, "batch queue is full");
    /* Still refused: the row waits on. */
    CHECK_EQ(serve_batcher_predict(b, v2, x, 5, probs, err), PSC_EAGAIN);
    double t0 = s_seconds();
    serve_batcher_destroy(&b);
    pthread_join(th, NULL);
    CHECK(s_seconds() - t0 < 5.0);
    CHECK_EQ(w.rc, PSC_EINTR);
    CHECK_STR(w.err, "batcher is stopping");
}

int main(void)
{
    struct serve_version v1;
    struct serve_version v2;
    s_version(&v1, 1, 1);
    s_version(&v2, 2, 2);
    test_off(&v1);
    test_concurrent(&v1, &v2);
    test_big_alone(&v1);
    test_full_then_destroy(&v1, &v2);
    export_model_release(&v1.model);
    export_model_release(&v2.model);
    printf("serve_batch_test: ok\n");
    return 0;
}
