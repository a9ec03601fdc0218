/*
 * Unit test for replies that send ranges of a shard's values in place: a
 * range being sent is never written (the write waits, then moves the
 * values to a spare), other ranges are written in place meanwhile, and a
 * range whose send is done is written in place again. A send "in flight"
 * here is a message queued on an inproc socket nobody has read yet.
 * Also: a sync step sums its gradients in worker order, whatever order
 * they came in, and no push is applied past the job's last step, even
 * when pushes in pieces are open at once. Softsync applies once every c
 * gradients, summed in (worker, arrival) order and each scaled by the
 * staleness policy.
 */
#include "ps_shard.h"

#include "psc_err.h"
#include "test.h"

#include <string.h>
#include <zmq.h>

#define N    ((size_t) 4096) /* elements per range; the shard holds two */
#define LR   0.5f
#define GRAD 1.0f

/* The async job of the rig and of the last-step tests. */
static const char *const s_async_sets[] = {"mode=async", "optimizer=sgd",
                                           "learning_rate=0.5"};

struct rig {
    struct job *job;
    placement_t *pl;
    ps_shard_t *shard;
    void *zctx;
    void *out; /* the "network": sends queue here... */
    void *in;  /* ...until read from here */
    float grad[N];
};

static void s_rig_start(struct rig *r)
{
    char err[PSC_ERR_LEN] = "";
    r->job = job_new(NULL, s_async_sets, 3, err);
    CHECK(r->job != NULL);
    size_t size = 2 * N;
    r->pl = placement_new(&size, 1, 1, size);
    r->shard = ps_shard_new(r->job, r->pl, 0, 1, NULL);
    float *init = calloc(size, sizeof *init);
    for (size_t i = 0; i < size; i++)
        init[i] = (float) i;
    ps_shard_init_slice(r->shard, 0, init);
    ps_shard_init_done(r->shard);
    free(init);
    for (size_t i = 0; i < N; i++)
        r->grad[i] = GRAD;
    r->zctx = zmq_ctx_new();
    r->out = zmq_socket(r->zctx, ZMQ_PAIR);
    r->in = zmq_socket(r->zctx, ZMQ_PAIR);
    int linger = 0;
    zmq_setsockopt(r->out, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(r->in, ZMQ_LINGER, &linger, sizeof linger);
    CHECK_OK(zmq_bind(r->in, "inproc://replies"));
    CHECK_OK(zmq_connect(r->out, "inproc://replies"));
}

static void s_rig_stop(struct rig *r)
{
    ps_shard_destroy(&r->shard);
    zmq_close(r->out);
    zmq_close(r->in);
    zmq_ctx_term(r->zctx);
    placement_destroy(&r->pl);
    job_destroy(&r->job);
}

/* Sends count values from buf's data on, as a reply would, unread. */
static void s_send(struct rig *r, wire_buf_t *buf, size_t count)
{
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__PARAMS, "ps:0");
    struct wire_frame f = {wire_buf_data(buf), count * sizeof(float), count,
                           buf};
    CHECK_OK(wire_send(r->out, NULL, 0, &h, &f, 1));
}

/* Reads the next reply and checks its values: want + i for element i. */
static void s_expect_sent(struct rig *r, float want)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    CHECK(zmq_msg_recv(&m, r->in, 0) >= 0); /* the header */
    CHECK(zmq_msg_more(&m));
    CHECK(zmq_msg_recv(&m, r->in, 0) >= 0);
    CHECK(zmq_msg_size(&m) == N * sizeof(float));
    const float *v = zmq_msg_data(&m);
    for (size_t i = 0; i < N; i++)
        CHECK(v[i] == want + (float) i);
    zmq_msg_close(&m); /* the send is done: its hold goes */
}

/* Applies the gradient to range r_index of a push begun earlier. */
static void s_range(struct rig *r, const struct ps_piecewise *pw, int r_index)
{
    ps_shard_push_range(r->shard, pw, (size_t) r_index * N, r->grad, 0, N,
                        NULL);
}

/* Element i of range 0 after k pushes: i - k * LR * GRAD. */
static void s_expect_values(struct rig *r, int k)
{
    const float *v = ps_shard_values(r->shard);
    for (size_t i = 0; i < 2 * N; i++)
        CHECK(v[i] == (float) i - (float) k * LR * GRAD);
}

/* A shard of n elements, all 0, for a job of sets (caller destroys all). */
static ps_shard_t *s_small(struct job **job, placement_t **pl,
                           const char *const *sets, int nsets, int nworkers,
                           size_t n)
{
    char err[PSC_ERR_LEN] = "";
    *job = job_new(NULL, sets, nsets, err);
    CHECK(*job != NULL);
    *pl = placement_new(&n, 1, 1, n);
    ps_shard_t *s = ps_shard_new(*job, *pl, 0, nworkers, NULL);
    float zero[4] = {0};
    ps_shard_init_slice(s, 0, zero);
    ps_shard_init_done(s);
    return s;
}

/*
 * Three workers' gradients 1e8, 1 and -1e8: in worker order they sum to 0
 * (1e8 + 1 rounds to 1e8), in the arrival order 2, 0, 1 to 1. The step
 * must come out as the worker order's.
 */
static void test_sync_worker_order(void)
{
    static const char *const sets[] = {"mode=sync", "optimizer=sgd",
                                       "learning_rate=1"};
    static const float g[3] = {1e8f, 1.0f, -1e8f};
    static const int arrival[3] = {2, 0, 1};
    struct job *job = NULL;
    placement_t *pl = NULL;
    ps_shard_t *s = s_small(&job, &pl, sets, 3, 3, 4);
    for (int i = 0; i < 3; i++) {
        float grad[4] = {g[arrival[i]], g[arrival[i]], g[arrival[i]],
                         g[arrival[i]]};
        const void *slices[1] = {grad};
        enum ps_push_result want = i < 2 ? PS_PUSH_AGGREGATED : PS_PUSH_STEPPED;
        CHECK(ps_shard_push(s, arrival[i], 0, slices, 0, 1.0f) == want);
    }
    CHECK(ps_shard_version(s) == 1);
    for (int k = 0; k < 4; k++)
        CHECK(ps_shard_values(s)[k] == 0.0f);
    ps_shard_destroy(&s);
    placement_destroy(&pl);
    job_destroy(&job);
}

/* One push of value g in every element; checks what it came to. */
static void s_push4(ps_shard_t *s, int worker, uint64_t read, float g,
                    enum ps_push_result want)
{
    float grad[4] = {g, g, g, g};
    const void *slices[1] = {grad};
    CHECK(ps_shard_push(s, worker, read, slices, 0, 1.0f) == want);
}

static void s_expect4(const ps_shard_t *s, float want)
{
    for (int k = 0; k < 4; k++)
        CHECK(ps_shard_values(s)[k] == want);
}

/*
 * 2-softsync of 4 workers: c = 2, an update every second gradient of any
 * staleness, whichever workers bring them; sgd at rate 1, so the values
 * move by minus the mean of the round's two gradients.
 */
static void test_softsync_rounds(void)
{
    static const char *const sets[] = {"mode=softsync", "softsync_n=2",
                                       "optimizer=sgd", "learning_rate=1"};
    struct job *job = NULL;
    placement_t *pl = NULL;
    ps_shard_t *s = s_small(&job, &pl, sets, 4, 4, 4);
    s_push4(s, 1, 0, 2.0f, PS_PUSH_AGGREGATED);
    CHECK(ps_shard_version(s) == 0);
    s_push4(s, 3, 0, 4.0f, PS_PUSH_STEPPED);
    CHECK(ps_shard_version(s) == 1);
    s_expect4(s, -3.0f);
    CHECK(ps_shard_last_push(s)->applied_to == 0);
    /* One worker twice in a round: both count, and it completes it. */
    s_push4(s, 0, 1, 1.0f, PS_PUSH_AGGREGATED);
    CHECK(ps_shard_last_push(s)->applied_to == 1);
    s_push4(s, 0, 1, 3.0f, PS_PUSH_STEPPED);
    CHECK(ps_shard_version(s) == 2);
    s_expect4(s, -5.0f);
    /* Stale gradients count too (policy none: at the full rate). */
    s_push4(s, 2, 0, 2.0f, PS_PUSH_AGGREGATED);
    CHECK(ps_shard_last_push(s)->tau == 2);
    s_push4(s, 1, 1, 2.0f, PS_PUSH_STEPPED);
    CHECK(ps_shard_last_push(s)->tau == 1);
    CHECK(ps_shard_version(s) == 3);
    s_expect4(s, -7.0f);
    CHECK(ps_shard_taken(s)[0] == 2 && ps_shard_taken(s)[1] == 2);
    CHECK(ps_shard_staleness_sum(s)[2] == 2);
    CHECK(ps_shard_dropped(s)[0] == 0);
    ps_shard_destroy(&s);
    placement_destroy(&pl);
    job_destroy(&job);
}

/*
 * A round's sum is in (worker, arrival) order, whatever order the
 * gradients came in: 1e8 by worker 0, then -1e8 and 1 by worker 1, in
 * that order, sum to 1; in the arrival order -1e8, 1, 1e8 to 0 (-1e8 + 1
 * rounds to -1e8). 1-softsync of 3 workers: c = 3, so the mean is 1/3.
 */
static void test_softsync_order(void)
{
    static const char *const sets[] = {"mode=softsync", "softsync_n=1",
                                       "optimizer=sgd", "learning_rate=1"};
    struct job *job = NULL;
    placement_t *pl = NULL;
    ps_shard_t *s = s_small(&job, &pl, sets, 4, 3, 4);
    s_push4(s, 1, 0, -1e8f, PS_PUSH_AGGREGATED);
    s_push4(s, 1, 0, 1.0f, PS_PUSH_AGGREGATED);
    s_push4(s, 0, 0, 1e8f, PS_PUSH_STEPPED);
    CHECK(ps_shard_version(s) == 1);
    s_expect4(s, -(1.0f / 3.0f));
    ps_shard_destroy(&s);
    placement_destroy(&pl);
    job_destroy(&job);
}

/*
 * The staleness policy scales each gradient of a round by its own rate:
 * inverse gives a gradient of staleness 4 a quarter of the rate; drop
 * refuses one above max_staleness, and it does not count towards c.
 */
static void test_softsync_stale(void)
{
    static const char *const inverse[] = {"mode=softsync", "softsync_n=2",
                                          "optimizer=sgd", "learning_rate=1",
                                          "staleness_policy=inverse"};
    struct job *job = NULL;
    placement_t *pl = NULL;
    ps_shard_t *s = s_small(&job, &pl, inverse, 5, 4, 4);
    for (int i = 0; i < 8; i++) /* four updates of 0 */
        s_push4(s, i % 4, (uint64_t) (i / 2), 0.0f,
                i % 2 ? PS_PUSH_STEPPED : PS_PUSH_AGGREGATED);
    CHECK(ps_shard_version(s) == 4);
    s_push4(s, 0, 0, 8.0f, PS_PUSH_AGGREGATED); /* tau 4: rate 1/4 */
    CHECK(ps_shard_last_push(s)->lr == 0.25f);
    s_push4(s, 1, 4, 2.0f, PS_PUSH_STEPPED); /* tau 0: rate 1 */
    CHECK(ps_shard_last_push(s)->lr == 1.0f);
    s_expect4(s, -(8.0f / 4 + 2.0f) / 2);
    ps_shard_destroy(&s);
    placement_destroy(&pl);
    job_destroy(&job);

    static const char *const drop[] = {
        "mode=softsync",   "softsync_n=2",          "optimizer=sgd",
        "learning_rate=1", "staleness_policy=drop", "max_staleness=1"};
    s = s_small(&job, &pl, drop, 6, 4, 4);
    s_push4(s, 0, 0, 1.0f, PS_PUSH_AGGREGATED);
    s_push4(s, 1, 0, 1.0f, PS_PUSH_STEPPED);
    s_push4(s, 2, 0, 1.0f, PS_PUSH_AGGREGATED); /* tau 1: kept */
    s_push4(s, 3, 1, 1.0f, PS_PUSH_STEPPED);
    s_push4(s, 0, 0, 5.0f, PS_PUSH_DROPPED); /* tau 2 */
    CHECK(ps_shard_last_push(s)->lr == 0.0f);
    CHECK(strcmp(ps_shard_last_push(s)->why, "stale") == 0);
    CHECK(ps_shard_version(s) == 2);
    s_push4(s, 1, 2, 1.0f, PS_PUSH_AGGREGATED);
    CHECK(ps_shard_dropped(s)[0] == 1);
    s_expect4(s, -2.0f);
    ps_shard_destroy(&s);
    placement_destroy(&pl);
    job_destroy(&job);
}

/* n = workers: c = 1, each gradient an update of its own, as in async. */
static void test_softsync_one(void)
{
    static const char *const sets[] = {"mode=softsync", "softsync_n=3",
                                       "optimizer=sgd", "learning_rate=1",
                                       "staleness_policy=inverse"};
    struct job *job = NULL;
    placement_t *pl = NULL;
    ps_shard_t *s = s_small(&job, &pl, sets, 5, 3, 4);
    s_push4(s, 0, 0, 1.0f, PS_PUSH_STEPPED);
    s_push4(s, 1, 0, 1.0f, PS_PUSH_STEPPED);
    s_push4(s, 2, 0, 4.0f, PS_PUSH_STEPPED); /* tau 2: rate 1/2 */
    CHECK(ps_shard_version(s) == 3);
    s_expect4(s, -4.0f);
    ps_shard_destroy(&s);
    placement_destroy(&pl);
    job_destroy(&job);
}

/* Async pushes past the last step are dropped unapplied, uncounted. */
static void test_last_step(void)
{
    struct job *job = NULL;
    placement_t *pl = NULL;
    ps_shard_t *s = s_small(&job, &pl, s_async_sets, 3, 1, 4);
    ps_shard_set_last_step(s, 2);
    float grad[4] = {1, 1, 1, 1};
    const void *slices[1] = {grad};
    CHECK(ps_shard_push(s, 0, 0, slices, 0, 1.0f) == PS_PUSH_APPLIED);
    CHECK(ps_shard_push(s, 0, 0, slices, 0, 1.0f) == PS_PUSH_APPLIED);
    CHECK(ps_shard_push(s, 0, 1, slices, 0, 1.0f) == PS_PUSH_DROPPED);
    struct ps_piecewise pw;
    CHECK(ps_shard_push_begin(s, 0, 2, &pw) == PS_PUSH_DROPPED);
    ps_shard_push_range(s, &pw, 0, grad, 0, 4, NULL);
    ps_shard_push_end(s, &pw);
    CHECK(ps_shard_version(s) == 2);
    CHECK(ps_shard_dropped(s)[0] == 0);
    for (int k = 0; k < 4; k++)
        CHECK(ps_shard_values(s)[k] == -1.0f);
    ps_shard_destroy(&s);
    placement_destroy(&pl);
    job_destroy(&job);
}

/* Two pushes in pieces open at the last version: one of them is the end. */
static void test_last_step_pieces(void)
{
    struct job *job = NULL;
    placement_t *pl = NULL;
    ps_shard_t *s = s_small(&job, &pl, s_async_sets, 3, 2, 4);
    ps_shard_set_last_step(s, 1);
    struct ps_piecewise a, b;
    CHECK(ps_shard_push_begin(s, 0, 0, &a) == PS_PUSH_APPLIED);
    CHECK(ps_shard_push_begin(s, 1, 0, &b) == PS_PUSH_DROPPED);
    ps_shard_push_end(s, &b);
    ps_shard_push_end(s, &a);
    CHECK(ps_shard_version(s) == 1);
    ps_shard_destroy(&s);
    placement_destroy(&pl);
    job_destroy(&job);
}

int main(void)
{
    test_sync_worker_order();
    test_softsync_rounds();
    test_softsync_order();
    test_softsync_stale();
    test_softsync_one();
    test_last_step();
    test_last_step_pieces();

    struct rig r;
    s_rig_start(&r);
    struct ps_piecewise pw;

    /* Push 1: range 0 replied in place; range 1 written meanwhile. */
    CHECK(ps_shard_push_begin(r.shard, 0, 0, &pw) == PS_PUSH_APPLIED);
    s_range(&r, &pw, 0);
    wire_buf_t *view = ps_shard_range_view(r.shard, 0, N);
    CHECK(view != NULL && wire_buf_data(view) == ps_shard_values(r.shard));
    s_send(&r, view, N);
    s_range(&r, &pw, 1);
    ps_shard_push_end(r.shard, &pw);
    CHECK(ps_shard_out_of_place(r.shard) == 0);

    /* Push 2 writes range 0 while its reply is unread: the values move. */
    CHECK(ps_shard_push_begin(r.shard, 0, 1, &pw) == PS_PUSH_APPLIED);
    s_range(&r, &pw, 0);
    CHECK(ps_shard_out_of_place(r.shard) == 1);
    s_range(&r, &pw, 1);
    ps_shard_push_end(r.shard, &pw);
    s_expect_values(&r, 2);
    s_expect_sent(&r, -LR * GRAD); /* push 1's values, untorn */

    /* A range whose reply has been read is written in place again. */
    CHECK(ps_shard_push_begin(r.shard, 0, 2, &pw) == PS_PUSH_APPLIED);
    s_range(&r, &pw, 0);
    s_send(&r, ps_shard_range_view(r.shard, 0, N), N);
    s_expect_sent(&r, -3 * LR * GRAD);
    s_range(&r, &pw, 1);
    ps_shard_push_end(r.shard, &pw);
    CHECK(ps_shard_out_of_place(r.shard) == 1);
    s_expect_values(&r, 3);

    /* A whole reply in flight holds every range: the values move too. */
    s_send(&r, ps_shard_values_buf(r.shard), N);
    CHECK(ps_shard_push_begin(r.shard, 0, 3, &pw) == PS_PUSH_APPLIED);
    s_range(&r, &pw, 1);
    CHECK(ps_shard_out_of_place(r.shard) == 2);
    s_range(&r, &pw, 0);
    ps_shard_push_end(r.shard, &pw);
    s_expect_values(&r, 4);
    s_expect_sent(&r, -3 * LR * GRAD);
    CHECK(ps_shard_version(r.shard) == 4);

    /* An unread reply outlives the shard; freed once (the ASan run). */
    s_send(&r, ps_shard_range_view(r.shard, N, N), N);
    s_rig_stop(&r);
    printf("ps_shard: ok\n");
    return 0;
}
