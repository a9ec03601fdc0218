/*
 * Timed client threads, for psc and for bare ZeroMQ.
 */
#include "bench_run.h"

#include "bench_keys.h"
#include "jobvars.h"
#include "keyplan.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_time.h"
#include "psclient.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct run;

#define RAW_FRAMES 64

/*
 * One request to one server: payload frame sizes out, bytes back; one
 * in pieces (sparse, or dense on the f16 wire) goes as messages of about
 * rows / pieces rows (or values) each.
 */
struct shape {
    int nout;
    size_t out[RAW_FRAMES];
    uint64_t back;
    size_t rows;
    size_t pieces;
    uint64_t *keys; /* sparse: the shard's keys, frame 0 (a table server
                       updates their rows); NULL: frames of zeros */
};


/* One client thread. */
struct client {
    struct run *run;
    int index;
    void *state;
    int rc;
    char err[PSC_ERR_LEN];
    long *counts;    /* per repeat */
    double *elapsed; /* per repeat */
};

/* How a kind of client starts, makes one request, and stops. */
struct client_ops {
    int (*start)(struct client *c);
    int (*once)(struct client *c, long iter);
    void (*stop)(struct client *c);
};

struct run {
    const struct bench_load *ld;
    const struct client_ops *ops;
    const bench_cluster_t *cl;
    const bench_raw_t *raw;
    const uint64_t *keysets;
    void *zctx;
    pthread_barrier_t barrier;
};

uint64_t *bench_run_keysets(size_t keys, int nsets, uint64_t rows, double zipf)
{
    uint64_t *k =
        psc_xmalloc((keys > 0 ? keys : 1) * (size_t) nsets * sizeof(uint64_t));
    for (int i = 0; i < nsets; i++)
        bench_keys_fill(k + (size_t) i * keys, keys, rows, zipf,
                        (uint64_t) i + 1);
    return k;
}

static void *s_client_main(void *arg)
{
    struct client *c = arg;
    const struct bench_load *ld = c->run->ld;
    c->rc = c->run->ops->start(c);
    long iter = 0;
    for (int w = 0; w < ld->warmup && c->rc == 0; w++)
        c->rc = c->run->ops->once(c, iter++);
    for (int r = 0; r < ld->repeats; r++) {
        /* Every client starts each timed run together. */
        pthread_barrier_wait(&c->run->barrier);
        double t0 = psc_now();
        double end = t0 + ld->seconds;
        long n = 0;
        while (c->rc == 0 && (n == 0 || psc_now() < end)) {
            c->rc = c->run->ops->once(c, iter++);
            n++;
        }
        c->counts[r] = n;
        c->elapsed[r] = psc_now() - t0;
    }
    c->run->ops->stop(c);
    return NULL;
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a;
    double y = *(const double *) b;
    return (x > y) - (x < y);
}

/* Runs the clients and turns their counts into round trips per second. */
static int s_run(struct run *run, struct bench_stat *st, char *err)
{
    const struct bench_load *ld = run->ld;
    int n = ld->clients;
    struct client *cs = psc_xcalloc((size_t) n, sizeof *cs);
    pthread_t *th = psc_xcalloc((size_t) n, sizeof *th);
    pthread_barrier_init(&run->barrier, NULL, (unsigned) n);
    for (int i = 0; i < n; i++) {
        cs[i].run = run;
        cs[i].index = i;
        cs[i].counts = psc_xcalloc((size_t) ld->repeats, sizeof(long));
        cs[i].elapsed = psc_xcalloc((size_t) ld->repeats, sizeof(double));
        pthread_create(&th[i], NULL, s_client_main, &cs[i]);
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        if (cs[i].rc != 0 && rc == 0)
            rc = psc_seterr(err, cs[i].rc, "client %d: %s", i, cs[i].err);
    }
    double *rates = psc_xcalloc((size_t) ld->repeats, sizeof *rates);
    for (int r = 0; r < ld->repeats; r++) {
        long total = 0;
        double longest = 0;
        for (int i = 0; i < n; i++) {
            total += cs[i].counts[r];
            if (cs[i].elapsed[r] > longest)
                longest = cs[i].elapsed[r];
        }
        rates[r] = longest > 0 ? (double) total / longest : 0;
    }
    qsort(rates, (size_t) ld->repeats, sizeof *rates, s_cmp_double);
    int m = ld->repeats;
    st->med = m % 2 ? rates[m / 2] : (rates[m / 2 - 1] + rates[m / 2]) / 2;
    st->min = rates[0];
    st->max = rates[m - 1];
    for (int i = 0; i < n; i++) {
        free(cs[i].counts);
        free(cs[i].elapsed);
    }
    pthread_barrier_destroy(&run->barrier);
    free(rates);
    free(cs);
    free(th);
    return rc;
}

/* ---- psc clients ---- */

struct psc_state {
    struct boot b;
    psclient_t *pc;
    wire_buf_t *grad;
    float *params;
    const float *values;
    float *rows_grad;
    float *rows_out;
};

static int s_psc_start(struct client *c)
{
    struct psc_state *s = psc_xcalloc(1, sizeof *s);
    c->state = s;
    const bench_cluster_t *cl = c->run->cl;
    if (bench_cluster_boot(cl, c->index, c->run->zctx, &s->b, c->err) != 0)
        return PSC_ECONFIG;
    const placement_t *pl = bench_cluster_placement(cl);
    size_t total = 0;
    for (int i = 0; i < pl->nps; i++)
        total += pl->shards[i].size;
    s->grad = wire_buf_new((total + 1) * sizeof(float));
    float *g = wire_buf_data(s->grad);
    for (size_t i = 0; i < total; i++)
        g[i] = 1e-3f * (float) (1 + i % 7);
    s->params = psc_xaligned((total + 1) * sizeof(float));
    size_t rows = c->run->ld->keys * jobvars_sparse_width(s->b.job) + 1;
    s->rows_grad = psc_xaligned(rows * sizeof(float));
    s->rows_out = psc_xaligned(rows * sizeof(float));
    for (size_t i = 0; i < rows; i++)
        s->rows_grad[i] = 1e-3f;
    s->pc = psclient_new(&s->b, pl, NULL, c->err);
    return s->pc != NULL ? 0 : PSC_ENET;
}

static int s_psc_once(struct client *c, long iter)
{
    struct psc_state *s = c->state;
    const struct bench_load *ld = c->run->ld;
    int rc = 0;
    float *into = s->params;
    switch (ld->op) {
    case BENCH_PUSHPULL:
        rc = psclient_push(s->pc, s->grad);
        break;
    case BENCH_PUSH:
        rc = psclient_push_only(s->pc, s->grad);
        into = NULL;
        break;
    case BENCH_PULL:
        rc = psclient_pull(s->pc, 0);
        break;
    case BENCH_SPARSE: {
        size_t set = (size_t) (iter + c->index) % BENCH_KEYSETS;
        rc = psclient_sparse_push(s->pc, c->run->keysets + set * ld->keys,
                                  ld->keys, s->rows_grad, s->rows_out);
        into = NULL;
        break;
    }
    }
    if (rc == 0)
        rc = psclient_wait(s->pc, NULL, NULL, NULL, 60, c->err);
    /* The client reads the fresh values where they arrived, as workers do. */
    if (rc == 0 && into != NULL)
        s->values = psclient_values(s->pc, into);
    else if (rc != 0)
        psc_seterr(c->err, rc, "cannot send a request");
    return rc;
}

static void s_psc_stop(struct client *c)
{
    struct psc_state *s = c->state;
    if (s == NULL)
        return;
    psclient_destroy(&s->pc);
    wire_buf_release(&s->grad);
    free(s->params);
    free(s->rows_grad);
    free(s->rows_out);
    bench_cluster_boot_release(&s->b);
    free(s);
    c->state = NULL;
}

static const struct client_ops s_psc_ops = {s_psc_start, s_psc_once,
                                            s_psc_stop};

static struct shape *s_shapes(const bench_cluster_t *cl,
                              const struct bench_load *ld,
                              const uint64_t *keysets, int *nsets);

static void s_shapes_free(struct shape *sh, int n)
{
    for (int i = 0; i < n; i++)
        free(sh[i].keys);
    free(sh);
}

/* Payload bytes per round trip on the wire, averaged over the key sets. */
static void s_count_bytes(const bench_cluster_t *cl,
                          const struct bench_load *ld, const uint64_t *keysets,
                          struct bench_stat *st)
{
    int nsets = 0;
    struct shape *sh = s_shapes(cl, ld, keysets, &nsets);
    int nps = bench_cluster_nps(cl);
    double out = 0;
    double back = 0;
    for (int i = 0; i < nsets * nps; i++) {
        for (int f = 0; f < sh[i].nout; f++)
            out += (double) sh[i].out[f];
        back += (double) sh[i].back;
    }
    st->bytes_out = out / nsets;
    st->bytes_back = back / nsets;
    s_shapes_free(sh, nsets * nps);
}

/* Counts the bytes, then runs the clients in a context of their own. */
static int s_measure(struct run *run, struct bench_stat *st, char *err)
{
    s_count_bytes(run->cl, run->ld, run->keysets, st);
    run->zctx = zmq_ctx_new();
    zmq_ctx_set(run->zctx, ZMQ_IO_THREADS,
                (int) bench_cluster_job(run->cl)->zmq_io_threads);
    int rc = s_run(run, st, err);
    zmq_ctx_term(run->zctx);
    return rc;
}

int bench_run_psc(bench_cluster_t *cl, const struct bench_load *ld,
                  const uint64_t *keysets, struct bench_stat *st, char *err)
{
    struct run run = {ld, &s_psc_ops, cl, NULL, keysets, NULL, {{0}}};
    return s_measure(&run, st, err);
}

/* ---- raw ZeroMQ clients ---- */

struct raw_state {
    void *socks[BENCH_RAW_MAX];
    int n;
    struct shape *shapes; /* [set][server] */
    int nsets;
    int nshapes;
    char *buf;
};

/* The messages psc sends to and gets from each shard, per key set. */
static struct shape *s_shapes(const bench_cluster_t *cl,
                              const struct bench_load *ld,
                              const uint64_t *keysets, int *nsets)
{
    const struct job *job = bench_cluster_job(cl);
    const placement_t *pl = bench_cluster_placement(cl);
    size_t elem = job->wire_f16 ? 2 : 4;
    int nps = pl->nps;
    *nsets = ld->op == BENCH_SPARSE ? BENCH_KEYSETS : 1;
    struct shape *sh = psc_xcalloc((size_t) *nsets * (size_t) nps, sizeof *sh);
    keyplan_t *kp = keyplan_new();
    size_t w = jobvars_sparse_width(job);
    for (int k = 0; k < *nsets; k++) {
        if (ld->op == BENCH_SPARSE)
            keyplan_build(kp, keysets + (size_t) k * ld->keys, ld->keys, nps);
        for (int s = 0; s < nps; s++) {
            struct shape *x = &sh[k * nps + s];
            if (ld->op == BENCH_SPARSE) {
                size_t cnt = keyplan_shard_count(kp, s);
                x->nout = cnt > 0 ? 2 : 0;
                x->out[0] = cnt * 8;
                x->out[1] = cnt * w * elem;
                x->back = cnt * w * elem;
                x->rows = cnt;
                x->keys = psc_xmalloc(cnt * 8 + 8);
                memcpy(x->keys, keyplan_keys(kp) + keyplan_shard_first(kp, s),
                       cnt * 8);
                x->pieces = cnt == 0 || ld->raw_whole
                                ? 1
                                : psclient_sparse_pieces(cnt, 8 + w * elem);
                continue;
            }
            const struct placement_shard *ps = &pl->shards[s];
            x->pieces = ld->op == BENCH_PULL || ld->raw_whole
                            ? 1
                            : psclient_dense_pieces(job, ps);
            x->rows = ps->size;
            if (x->pieces > 1) {
                x->nout = 1;
                x->out[0] = ps->size * elem;
                x->back = ld->op == BENCH_PUSH ? 0 : ps->size * elem;
                continue;
            }
            if (ld->op != BENCH_PULL) {
                x->nout = ps->nslices;
                for (int i = 0; i < ps->nslices; i++)
                    x->out[i] = ps->slices[i].len * elem;
            }
            if (ld->op != BENCH_PUSH)
                x->back = ps->size * elem;
        }
    }
    keyplan_destroy(&kp);
    return sh;
}

static int s_raw_start(struct client *c)
{
    struct raw_state *s = psc_xcalloc(1, sizeof *s);
    c->state = s;
    const bench_raw_t *raw = c->run->raw;
    s->n = bench_raw_count(raw);
    s->shapes = s_shapes(c->run->cl, c->run->ld, c->run->keysets, &s->nsets);
    s->nshapes = s->nsets * bench_cluster_nps(c->run->cl);
    size_t most = 8;
    for (int i = 0; i < s->nsets * s->n; i++) {
        for (int f = 0; f < s->shapes[i].nout; f++)
            most = s->shapes[i].out[f] > most ? s->shapes[i].out[f] : most;
    }
    s->buf = psc_xaligned(most);
    memset(s->buf, 0, most);
    const struct job *job = bench_cluster_job(c->run->cl);
    for (int i = 0; i < s->n; i++) {
        int hwm = 0;
        int buf =
            job->zmq_sockbuf_bytes > 0 ? (int) job->zmq_sockbuf_bytes : -1;
        int linger = 0;
        s->socks[i] = zmq_socket(c->run->zctx, ZMQ_DEALER);
        zmq_setsockopt(s->socks[i], ZMQ_SNDHWM, &hwm, sizeof hwm);
        zmq_setsockopt(s->socks[i], ZMQ_RCVHWM, &hwm, sizeof hwm);
        zmq_setsockopt(s->socks[i], ZMQ_SNDBUF, &buf, sizeof buf);
        zmq_setsockopt(s->socks[i], ZMQ_RCVBUF, &buf, sizeof buf);
        zmq_setsockopt(s->socks[i], ZMQ_LINGER, &linger, sizeof linger);
        if (zmq_connect(s->socks[i], bench_raw_endpoint(raw, i)) != 0)
            return psc_seterr(c->err, PSC_ENET, "cannot connect to '%s'",
                              bench_raw_endpoint(raw, i));
    }
    return 0;
}

/* Sends one message: want bytes back, and payload frames of sizes out,
 * the first from keys when not NULL. */
static int s_raw_message(struct raw_state *s, int i, uint64_t want,
                         const size_t *out, int nout, const uint64_t *keys)
{
    if (zmq_send(s->socks[i], &want, sizeof want, nout > 0 ? ZMQ_SNDMORE : 0) <
        0)
        return PSC_ENET;
    for (int f = 0; f < nout; f++) {
        zmq_msg_t m;
        void *data = f == 0 && keys != NULL ? (void *) keys : s->buf;
        zmq_msg_init_data(&m, data, out[f], NULL, NULL);
        if (zmq_msg_send(&m, s->socks[i], f + 1 < nout ? ZMQ_SNDMORE : 0) < 0) {
            zmq_msg_close(&m);
            return PSC_ENET;
        }
    }
    return 0;
}

/* Sends request x to server i, in its pieces as psclient would. */
static int s_raw_send(struct raw_state *s, int i, const struct shape *x)
{
    if (x->pieces <= 1)
        return s_raw_message(s, i, x->back, x->out, x->nout, x->keys);
    for (size_t p = 0; p < x->pieces; p++) {
        size_t rows = x->rows * (p + 1) / x->pieces - x->rows * p / x->pieces;
        size_t out[RAW_FRAMES];
        for (int f = 0; f < x->nout; f++)
            out[f] = x->out[f] / x->rows * rows;
        const uint64_t *keys =
            x->keys != NULL ? x->keys + x->rows * p / x->pieces : NULL;
        if (s_raw_message(s, i, x->back / x->rows * rows, out, x->nout, keys) !=
            0)
            return PSC_ENET;
    }
    return 0;
}

/* Receives the answers to request x from server i. */
static int s_raw_recv(struct raw_state *s, int i, const struct shape *x)
{
    for (size_t p = 0; p < x->pieces; p++) {
        int more = 1;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, s->socks[i], 0) < 0) {
                zmq_msg_close(&m);
                return PSC_ENET;
            }
            more = zmq_msg_more(&m);
            zmq_msg_close(&m);
        }
    }
    return 0;
}

static int s_raw_once(struct client *c, long iter)
{
    struct raw_state *s = c->state;
    const struct shape *set =
        &s->shapes[((size_t) (iter + c->index) % (size_t) s->nsets) *
                   (size_t) s->n];
    /* Like psclient: every request out before any reply is awaited. */
    for (int i = 0; i < s->n; i++) {
        if ((set[i].nout > 0 || set[i].back > 0) && s_raw_send(s, i, &set[i]))
            return psc_seterr(c->err, PSC_ENET, "raw send failed");
    }
    for (int i = 0; i < s->n; i++) {
        if ((set[i].nout > 0 || set[i].back > 0) && s_raw_recv(s, i, &set[i]))
            return psc_seterr(c->err, PSC_ENET, "raw receive failed");
    }
    return 0;
}

static void s_raw_stop(struct client *c)
{
    struct raw_state *s = c->state;
    if (s == NULL)
        return;
    for (int i = 0; i < s->n; i++) {
        if (s->socks[i] != NULL)
            zmq_close(s->socks[i]);
    }
    s_shapes_free(s->shapes, s->nshapes);
    free(s->buf);
    free(s);
    c->state = NULL;
}

static const struct client_ops s_raw_ops = {s_raw_start, s_raw_once,
                                            s_raw_stop};

int bench_run_raw(const bench_raw_t *raw, const bench_cluster_t *cl,
                  const struct bench_load *ld, const uint64_t *keysets,
                  struct bench_stat *st, char *err)
{
    struct run run = {ld, &s_raw_ops, cl, raw, keysets, NULL, {{0}}};
    return s_measure(&run, st, err);
}
