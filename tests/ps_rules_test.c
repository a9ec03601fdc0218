/*
 * The ps's update rules, end to end: a real psc-ps process on 127.0.0.1,
 * with this program playing the chief and the workers over real sockets.
 * Each scenario starts its own ps with its own job options, pushes known
 * gradients and checks the exact values, versions and statistics that come
 * back. Usage: ps_rules_test PATH-TO-psc-ps
 */
#include "job.h"
#include "model.h"
#include "placement.h"
#include "psc_err.h"
#include "psc_time.h"
#include "rig.h"
#include "test.h"
#include "wire.h"

#include <math.h>
#include <stdint.h>
#include <unistd.h>

#define NWORKERS  3
#define HIST_BINS 64
#define MAX_SETS  16
#define LR        0.5f
#define QUIET_MS  150   /* "not answered": nothing arrives within this */
#define REPLY_MS  20000 /* bound on anything that should arrive, unscaled */
#define TOL       1e-6

static const char *const s_worker_names[NWORKERS] = {"worker:0", "worker:1",
                                                     "worker:2"};

/* What the ps said in its last PS_STATS. */
struct stats {
    uint64_t version;
    uint64_t applied;
    uint64_t rejected;
    uint64_t dropped[NWORKERS];
    uint64_t hist[HIST_BINS];
    uint64_t refused[NWORKERS + 1]; /* gradients, per worker, then others */
    uint64_t refused_pulls;
    uint64_t parked;
};

/*
 * One ps under test, started and answered by the rig (bench/rig.h), and
 * every socket that talks to it.
 */
struct fixture {
    void *zctx;
    rig_t *rig;             /* the ps and the chief it registers with */
    void *init;             /* DEALER "chief:0": sends INIT */
    void *worker[NWORKERS]; /* DEALERs "worker:N" */
    int reply_ms;           /* REPLY_MS, scaled for this build */
    const struct job *job;
    placement_t *pl;
    const struct placement_shard *sh;
    size_t nparams;
    float *expect; /* the flat values the ps should hold now */
    float *grad;
    float *scratch;
    uint64_t version; /* the version the ps should be at now */
    uint64_t request_id;
    struct stats st;
    struct wire_counters counters;
};

/* Gradient number c: c times a pattern that differs between elements. */
static float s_grad(size_t i, int c)
{
    return (float) c * (1.0f + (float) (i % 4) * 0.25f);
}

static void s_fill_grad(struct fixture *r, int c)
{
    for (size_t i = 0; i < r->nparams; i++)
        r->grad[i] = s_grad(i, c);
}

/*
 * The expected effect of an async SGD update with gradient c on elements
 * [a, b): w -= lr * g. Computed in float, as the ps does, so only a
 * different rule can differ. The version counts whole updates only.
 */
static void s_model_apply_range(struct fixture *r, float lr, int c, size_t a,
                                size_t b)
{
    for (size_t i = a; i < b; i++)
        r->expect[i] -= lr * s_grad(i, c);
}

static void s_model_apply(struct fixture *r, float lr, int c)
{
    s_model_apply_range(r, lr, c, 0, r->nparams);
    r->version++;
}

/* A sync step: the sum of gradients c1 and c2, scaled by 1/2. */
static void s_model_apply_mean(struct fixture *r, int c1, int c2)
{
    float step = LR * (1.0f / 2.0f);
    for (size_t i = 0; i < r->nparams; i++)
        r->expect[i] -= step * (s_grad(i, c1) + s_grad(i, c2));
    r->version++;
}

static void *s_socket(struct fixture *r, int type, const char *id)
{
    void *s = zmq_socket(r->zctx, type);
    CHECK(s != NULL);
    int linger = 0;
    CHECK_OK(zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger));
    if (id != NULL)
        CHECK_OK(zmq_setsockopt(s, ZMQ_ROUTING_ID, id, strlen(id)));
    return s;
}

/* A DEALER with routing id id, connected to the ps. */
static void *s_dealer(struct fixture *r, const char *id)
{
    char ep[64];
    void *s = s_socket(r, ZMQ_DEALER, id);
    rig_endpoint(r->rig, 0, ep, sizeof ep);
    CHECK_OK(zmq_connect(s, ep));
    return s;
}

/* The placement the ps computes: softmax, one ps. */
static placement_t *s_placement(const struct job *job)
{
    char err[PSC_ERR_LEN] = "";
    model_t *m = model_new("softmax", NULL, 0, 784, 10, 1, err);
    CHECK(m != NULL);
    int n = model_num_vars(m);
    size_t sizes[8];
    CHECK(n == 2);
    for (int i = 0; i < n; i++)
        sizes[i] = model_var(m, i)->size;
    placement_t *p =
        placement_new(sizes, n, 1, (size_t) job->slice_min_bytes / 4);
    model_destroy(&m);
    return p;
}

/* The rig's PS_STATS callback; arg is the fixture. */
static void s_on_stats(void *arg, int ps, const Psc__PsStats *s)
{
    struct fixture *r = arg;
    CHECK_EQ(ps, 0);
    CHECK_EQ(s->n_dropped, NWORKERS);
    CHECK(s->n_staleness_hist >= 1 && s->n_staleness_hist <= HIST_BINS);
    memset(&r->st, 0, sizeof r->st);
    r->st.version = s->version;
    r->st.applied = s->applied;
    r->st.rejected = s->rejected_messages;
    memcpy(r->st.dropped, s->dropped, sizeof r->st.dropped);
    memcpy(r->st.hist, s->staleness_hist,
           s->n_staleness_hist * sizeof r->st.hist[0]);
    CHECK_EQ(s->n_refused_gradients, NWORKERS + 1);
    memcpy(r->st.refused, s->refused_gradients, sizeof r->st.refused);
    r->st.refused_pulls = s->refused_pulls;
    r->st.parked = s->parked;
}

/*
 * Waits up to ms for sock (NULL: only the chief) to become readable while
 * the rig answers the ps; anything wrong from the ps fails the test.
 * Returns 1 when sock is readable, or (sock NULL) as soon as the ps sent
 * the chief something; 0 on timeout.
 */
static int s_wait(struct fixture *r, void *sock, int ms)
{
    char err[PSC_ERR_LEN] = "";
    int rc = rig_poll(r->rig, sock, ms, err);
    if (rc < 0)
        fprintf(stderr, "%s\n", err);
    CHECK(rc >= 0);
    return rc;
}

/* Receives the next message on sock, which must be of the given type. */
static void s_recv(struct fixture *r, void *sock, int type, wire_msg_t *msg)
{
    if (!s_wait(r, sock, r->reply_ms)) {
        fprintf(stderr, "no %s within %d ms\n", wire_type_name(type),
                r->reply_ms);
        CHECK(0);
    }
    CHECK_OK(wire_recv(sock, 0, msg, &r->counters, ZMQ_DONTWAIT));
    if (msg->hdr->type != (Psc__MsgType) type)
        fprintf(stderr, "expected %s, got %s ('%s')\n", wire_type_name(type),
                wire_type_name(msg->hdr->type),
                msg->hdr->text ? msg->hdr->text : "");
    CHECK_EQ(msg->hdr->type, type);
    CHECK_STR(msg->hdr->task, "ps:0");
}

/* Checks that nothing arrives on sock for QUIET_MS: a reply is held. */
static void s_check_quiet(struct fixture *r, void *sock)
{
    CHECK(!s_wait(r, sock, QUIET_MS));
}

/* The next message on sock is PARAMS for request id: the expected values. */
static void s_expect_params(struct fixture *r, void *sock, uint64_t id)
{
    wire_msg_t msg;
    s_recv(r, sock, PSC__MSG_TYPE__PARAMS, &msg);
    CHECK_EQ(msg.hdr->request_id, id);
    CHECK_EQ(msg.hdr->step, r->version);
    CHECK_EQ(msg.hdr->shard, 0);
    CHECK_EQ(msg.hdr->codec, PSC__CODEC__F32);
    CHECK_EQ(msg.nframes, r->sh->nslices);
    for (int i = 0; i < r->sh->nslices; i++) {
        const struct placement_slice *sl = &r->sh->slices[i];
        CHECK_EQ(wire_frame_count(&msg, i), sl->len);
        const float *v = wire_frame_f32(&msg, i, r->scratch);
        const float *want = r->expect + sl->global_offset;
        for (size_t k = 0; k < sl->len; k++) {
            if (fabs((double) v[k] - (double) want[k]) > TOL)
                fprintf(stderr, "version %llu, slice %d, element %zu:\n",
                        (unsigned long long) r->version, i, k);
            CHECK_NEAR(v[k], want[k], TOL);
        }
    }
    wire_msg_release(&msg);
}

/* The next message on sock is ERROR for request id, its text saying why. */
static void s_expect_error(struct fixture *r, void *sock, uint64_t id,
                           const char *why)
{
    wire_msg_t msg;
    s_recv(r, sock, PSC__MSG_TYPE__ERROR, &msg);
    CHECK_EQ(msg.hdr->request_id, id);
    CHECK_CONTAINS(msg.hdr->text, why);
    wire_msg_release(&msg);
}

/* One frame per slice of the flat array values. */
static int s_frames(const struct fixture *r, const float *values,
                    struct wire_frame *frames)
{
    for (int i = 0; i < r->sh->nslices; i++) {
        const struct placement_slice *sl = &r->sh->slices[i];
        frames[i].data = values + sl->global_offset;
        frames[i].bytes = sl->len * sizeof(float);
        frames[i].count = sl->len;
        frames[i].buf = NULL;
    }
    return r->sh->nslices;
}

/* Sends a message with payload frames; returns its request id. */
static uint64_t s_send(struct fixture *r, void *sock, Psc__Header *h,
                       const struct wire_frame *frames, int n)
{
    h->request_id = ++r->request_id;
    CHECK_OK(wire_send(sock, NULL, 0, h, frames, n));
    return h->request_id;
}

/* Pushes gradient c, computed from version read, asking for the values. */
static uint64_t s_push_from(struct fixture *r, void *sock, const char *task,
                            uint64_t read, int c)
{
    struct wire_frame frames[WIRE_MAX_FRAMES];
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__PUSH, task);
    h.step = read;
    h.flags = WIRE_WANT_PARAMS;
    s_fill_grad(r, c);
    int n = s_frames(r, r->grad, frames);
    return s_send(r, sock, &h, frames, n);
}

static uint64_t s_push(struct fixture *r, int w, uint64_t read, int c)
{
    return s_push_from(r, r->worker[w], s_worker_names[w], read, c);
}

static uint64_t s_pull(struct fixture *r, void *sock, const char *task,
                       uint64_t min_version)
{
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__PULL, task);
    h.min_version = min_version;
    return s_send(r, sock, &h, NULL, 0);
}

static void s_print_stats(const char *what, const struct stats *s)
{
    fprintf(stderr, "%s: version %llu applied %llu rejected %llu dropped", what,
            (unsigned long long) s->version, (unsigned long long) s->applied,
            (unsigned long long) s->rejected);
    for (int w = 0; w < NWORKERS; w++)
        fprintf(stderr, " %llu", (unsigned long long) s->dropped[w]);
    fprintf(stderr, " hist");
    for (int i = 0; i < 8; i++)
        fprintf(stderr, " %llu", (unsigned long long) s->hist[i]);
    fprintf(stderr, " ... refused");
    for (int w = 0; w <= NWORKERS; w++)
        fprintf(stderr, " %llu", (unsigned long long) s->refused[w]);
    fprintf(stderr, " refused_pulls %llu parked %llu\n",
            (unsigned long long) s->refused_pulls,
            (unsigned long long) s->parked);
}

static int s_stats_equal(const struct stats *a, const struct stats *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* Waits until the ps's PS_STATS report exactly want. */
static void s_wait_stats(struct fixture *r, const struct stats *want)
{
    double deadline = psc_now() + r->reply_ms / 1000.0;
    while (!s_stats_equal(&r->st, want)) {
        int left = (int) ((deadline - psc_now()) * 1000.0);
        if (left <= 0) {
            s_print_stats("PS_STATS said", &r->st);
            s_print_stats("expected", want);
            CHECK(s_stats_equal(&r->st, want));
        }
        s_wait(r, NULL, left);
    }
}

/*
 * Starts a ps with the job options in sets (one "key=value" each) through
 * the rig, which answers its registration, and connects the chief's and
 * the workers' DEALERs.
 */
static void s_rig_start(struct fixture *r, void *zctx, const char *ps_path,
                        const char *const *sets, int nsets)
{
    char err[PSC_ERR_LEN] = "";
    memset(r, 0, sizeof *r);
    r->zctx = zctx;
    r->reply_ms = (int) (REPLY_MS * psc_test_time_scale());
    struct rig_spec spec = {.ps_path = ps_path,
                            .nps = 1,
                            .nworkers = NWORKERS,
                            .sets = sets,
                            .nsets = nsets,
                            .startup_s = r->reply_ms / 1000.0,
                            .on_stats = s_on_stats,
                            .arg = r};
    r->rig = rig_new(&spec, zctx, err);
    if (r->rig == NULL)
        fprintf(stderr, "rig: %s\n", err);
    CHECK(r->rig != NULL);
    r->job = rig_job(r->rig);
    r->pl = s_placement(r->job);
    r->sh = &r->pl->shards[0];
    r->nparams = r->sh->size;
    CHECK_EQ(r->nparams, 784 * 10 + 10);
    r->expect = calloc(r->nparams, sizeof(float));
    r->grad = calloc(r->nparams, sizeof(float));
    r->scratch = calloc(r->nparams, sizeof(float));
    CHECK(r->expect != NULL && r->grad != NULL && r->scratch != NULL);
    /* The ps binds its port before it registers: connecting now works. */
    r->init = s_dealer(r, "chief:0");
    for (int w = 0; w < NWORKERS; w++)
        r->worker[w] = s_dealer(r, s_worker_names[w]);
}

/* Sends INIT with the values w[i] = i * 0.0001 and waits for INIT_ACK. */
static void s_rig_init(struct fixture *r)
{
    struct wire_frame frames[WIRE_MAX_FRAMES];
    wire_msg_t msg;
    for (size_t i = 0; i < r->nparams; i++)
        r->expect[i] = (float) i * 0.0001f;
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__INIT, "chief:0");
    int n = s_frames(r, r->expect, frames);
    uint64_t id = s_send(r, r->init, &h, frames, n);
    s_recv(r, r->init, PSC__MSG_TYPE__INIT_ACK, &msg);
    CHECK_EQ(msg.hdr->request_id, id);
    wire_msg_release(&msg);
    r->version = 0;
}

/*
 * Sends STOP and checks that the ps reports want in its last PS_STATS,
 * says BYE and exits with status 0; then frees the fixture.
 */
static void s_rig_stop(struct fixture *r, const struct stats *want)
{
    char err[PSC_ERR_LEN] = "";
    int bad = rig_stop(r->rig, r->reply_ms / 1000.0 + 5.0, err);
    if (bad != 0)
        fprintf(stderr, "%s\n", err);
    CHECK_EQ(bad, 0);
    /* The final PS_STATS comes just before BYE on the same socket. */
    if (!s_stats_equal(&r->st, want)) {
        s_print_stats("final PS_STATS", &r->st);
        s_print_stats("expected", want);
    }
    CHECK(s_stats_equal(&r->st, want));
    zmq_close(r->init);
    for (int w = 0; w < NWORKERS; w++)
        zmq_close(r->worker[w]);
    rig_destroy(&r->rig);
    free(r->expect);
    free(r->grad);
    free(r->scratch);
    placement_destroy(&r->pl);
}

/* The job options every scenario shares; each adds its own. */
#define COMMON_SETS                                        \
    "model=softmax", "optimizer=sgd", "learning_rate=0.5", \
        "log_interval_s=0.2", "startup_timeout_s=10"
#define NELEMS(a) ((int) (sizeof(a) / sizeof((a)[0])))

/*
 * Async, policy none: every push applies the full learning rate whatever
 * its staleness. A pull for a future version is held until the version
 * exists; a pull for a present one is answered at once.
 */
static void test_async_none(void *zctx, const char *ps)
{
    static const char *const sets[] = {COMMON_SETS, "mode=async",
                                       "staleness_policy=none"};
    struct fixture r;
    s_rig_start(&r, zctx, ps, sets, NELEMS(sets));
    s_rig_init(&r);
    uint64_t id = s_push(&r, 0, 0, 1); /* staleness 0 */
    s_model_apply(&r, LR, 1);
    s_expect_params(&r, r.worker[0], id);
    id = s_push(&r, 1, 0, 2); /* staleness 1 */
    s_model_apply(&r, LR, 2);
    s_expect_params(&r, r.worker[1], id);
    id = s_push(&r, 2, 0, 3); /* staleness 2 */
    s_model_apply(&r, LR, 3);
    s_expect_params(&r, r.worker[2], id);
    CHECK_EQ(r.version, 3);

    id = s_pull(&r, r.worker[2], "worker:2", 3);
    s_expect_params(&r, r.worker[2], id);
    uint64_t held = s_pull(&r, r.worker[1], "worker:1", 4);
    s_check_quiet(&r, r.worker[1]);
    id = s_push(&r, 0, 1, 4); /* staleness 2 */
    s_model_apply(&r, LR, 4);
    s_expect_params(&r, r.worker[0], id);
    s_expect_params(&r, r.worker[1], held);

    struct stats want = {.version = 4, .applied = 4};
    want.hist[0] = 1;
    want.hist[1] = 1;
    want.hist[2] = 2;
    s_wait_stats(&r, &want);
    s_rig_stop(&r, &want);
    printf("ok async, staleness_policy none, pull for a future version\n");
}

/* Async, policy inverse: lr / max(1, staleness). */
static void test_async_inverse(void *zctx, const char *ps)
{
    static const char *const sets[] = {COMMON_SETS, "mode=async",
                                       "staleness_policy=inverse"};
    struct fixture r;
    s_rig_start(&r, zctx, ps, sets, NELEMS(sets));
    s_rig_init(&r);
    uint64_t id = s_push(&r, 0, 0, 1); /* staleness 0: full lr */
    s_model_apply(&r, LR, 1);
    s_expect_params(&r, r.worker[0], id);
    id = s_push(&r, 1, 0, 2); /* staleness 1: full lr */
    s_model_apply(&r, LR, 2);
    s_expect_params(&r, r.worker[1], id);
    id = s_push(&r, 2, 0, 3); /* staleness 2: lr / 2 */
    s_model_apply(&r, LR / 2.0f, 3);
    s_expect_params(&r, r.worker[2], id);
    id = s_push(&r, 0, 0, 4); /* staleness 3: lr / 3 */
    s_model_apply(&r, LR / 3.0f, 4);
    s_expect_params(&r, r.worker[0], id);
    CHECK_EQ(r.version, 4);

    struct stats want = {.version = 4, .applied = 4};
    for (int i = 0; i < 4; i++)
        want.hist[i] = 1;
    s_wait_stats(&r, &want);
    s_rig_stop(&r, &want);
    printf("ok async, staleness_policy inverse\n");
}

/* Async, policy drop, max_staleness 1: a push 2 versions old is dropped. */
static void test_async_drop(void *zctx, const char *ps)
{
    static const char *const sets[] = {
        COMMON_SETS, "mode=async", "staleness_policy=drop", "max_staleness=1"};
    struct fixture r;
    s_rig_start(&r, zctx, ps, sets, NELEMS(sets));
    s_rig_init(&r);
    uint64_t id = s_push(&r, 0, 0, 1); /* staleness 0 */
    s_model_apply(&r, LR, 1);
    s_expect_params(&r, r.worker[0], id);
    id = s_push(&r, 1, 0, 2); /* staleness 1: still applied */
    s_model_apply(&r, LR, 2);
    s_expect_params(&r, r.worker[1], id);
    id = s_push(&r, 2, 0, 3); /* staleness 2: dropped, values unchanged */
    s_expect_params(&r, r.worker[2], id);
    CHECK_EQ(r.version, 2);

    struct stats want = {.version = 2, .applied = 2};
    want.dropped[2] = 1; /* counted as dropped, not in the histogram */
    want.hist[0] = 1;
    want.hist[1] = 1;
    s_wait_stats(&r, &want);

    /* The dropped worker catches up with a fresh gradient. */
    id = s_push(&r, 2, 2, 4);
    s_model_apply(&r, LR, 4);
    s_expect_params(&r, r.worker[2], id);
    want.version = 3;
    want.applied = 3;
    want.hist[0] = 2;
    s_rig_stop(&r, &want);
    printf("ok async, staleness_policy drop\n");
}

/*
 * Pushes gradient c's shard elements [a, b) from version read as one piece
 * of request id (0: a new request), asking for values. One ps: shard order
 * is the flat order.
 */
static uint64_t s_push_piece(struct fixture *r, int w, uint64_t id,
                             uint64_t read, int c, size_t a, size_t b,
                             uint32_t more)
{
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__PUSH, s_worker_names[w]);
    h.step = read;
    h.flags = WIRE_WANT_PARAMS | WIRE_PIECE | more;
    h.offset = a;
    h.request_id = id != 0 ? id : ++r->request_id;
    s_fill_grad(r, c);
    struct wire_frame f = {r->grad + a, (b - a) * sizeof(float), b - a, NULL};
    CHECK_OK(wire_send(r->worker[w], NULL, 0, &h, &f, 1));
    return h.request_id;
}

/* The next message is the answer to a piece: elements [a, b) expected. */
static void s_expect_piece(struct fixture *r, int w, uint64_t id, size_t a,
                           size_t b)
{
    wire_msg_t msg;
    s_recv(r, r->worker[w], PSC__MSG_TYPE__PARAMS, &msg);
    CHECK_EQ(msg.hdr->request_id, id);
    CHECK_EQ(msg.hdr->step, r->version);
    CHECK_EQ(msg.hdr->offset, a);
    CHECK_EQ(msg.nframes, 1);
    CHECK_EQ(wire_frame_count(&msg, 0), b - a);
    const float *v = wire_frame_f32(&msg, 0, r->scratch);
    for (size_t k = a; k < b; k++)
        CHECK_NEAR(v[k - a], r->expect[k], TOL);
    wire_msg_release(&msg);
}

/*
 * Async pushes in pieces, policy drop with max_staleness 1: a push is
 * decided at its first piece, whatever happens before its last (here a
 * whole push from another worker in between), applied range by range, and
 * counted once; a stale one is dropped piece by piece, answered with the
 * current values; a piece that starts nothing is refused.
 */
static void test_async_pieces(void *zctx, const char *ps)
{
    static const char *const sets[] = {
        COMMON_SETS, "mode=async", "staleness_policy=drop", "max_staleness=1"};
    struct fixture r;
    s_rig_start(&r, zctx, ps, sets, NELEMS(sets));
    s_rig_init(&r);
    for (int i = 0; i < r.sh->nslices; i++)
        CHECK_EQ(r.sh->slices[i].shard_offset, r.sh->slices[i].global_offset);
    size_t n = r.nparams;
    size_t half = n / 2 + 3; /* pieces need not follow slice boundaries */
    uint64_t first = s_push_piece(&r, 0, 0, 0, 1, 0, half, WIRE_MORE);
    s_model_apply_range(&r, LR, 1, 0, half);
    s_expect_piece(&r, 0, first, 0, half);
    uint64_t id = s_push(&r, 1, 0, 2); /* whole, staleness 0, in between */
    s_model_apply(&r, LR, 2);
    s_expect_params(&r, r.worker[1], id);
    /* Staleness 0 when it began: the full rate, though 1 now. */
    id = s_push_piece(&r, 0, first, 0, 1, half, n, 0);
    s_model_apply_range(&r, LR, 1, half, n);
    r.version++;
    s_expect_piece(&r, 0, id, half, n);
    CHECK_EQ(r.version, 2);

    /* Staleness 2 at its first piece: dropped, both pieces. */
    id = s_push_piece(&r, 2, 0, 0, 3, 0, half, WIRE_MORE);
    s_expect_piece(&r, 2, id, 0, half);
    id = s_push_piece(&r, 2, id, 0, 3, half, n, 0);
    s_expect_piece(&r, 2, id, half, n);
    id = s_push_piece(&r, 1, 0, 2, 4, half, n, 0);
    s_expect_error(&r, r.worker[1], id, "out of order");

    struct stats want = {.version = 2, .applied = 2, .rejected = 1};
    want.dropped[2] = 1;
    want.hist[0] = 2;
    s_wait_stats(&r, &want);
    s_rig_stop(&r, &want);
    printf("ok async pushes in pieces, decided at the first\n");
}

/*
 * Sync, replicas_to_aggregate 2 of 3 workers: the first two gradients of a
 * version are averaged and applied once, their pushers answered only then;
 * a late gradient is dropped and answered with the current values.
 */
static void test_sync(void *zctx, const char *ps)
{
    static const char *const sets[] = {COMMON_SETS, "mode=sync",
                                       "replicas_to_aggregate=2"};
    struct fixture r;
    s_rig_start(&r, zctx, ps, sets, NELEMS(sets));
    s_rig_init(&r);
    uint64_t id0 = s_push(&r, 0, 0, 1);
    s_check_quiet(&r, r.worker[0]);
    uint64_t id1 = s_push(&r, 1, 0, 3);
    s_model_apply_mean(&r, 1, 3);
    s_expect_params(&r, r.worker[0], id0);
    s_expect_params(&r, r.worker[1], id1);
    uint64_t id2 = s_push(&r, 2, 0, 2); /* late for version 0: dropped */
    s_expect_params(&r, r.worker[2], id2);
    CHECK_EQ(r.version, 1);

    /* The histogram counts gradients taken into a step (staleness 0). */
    struct stats want = {.version = 1, .applied = 1};
    want.dropped[2] = 1;
    want.hist[0] = 2;
    s_wait_stats(&r, &want);

    /* The next step starts from an empty aggregate. */
    id2 = s_push(&r, 2, 1, 2);
    s_check_quiet(&r, r.worker[2]);
    id0 = s_push(&r, 0, 1, 4);
    s_model_apply_mean(&r, 2, 4);
    s_expect_params(&r, r.worker[2], id2);
    s_expect_params(&r, r.worker[0], id0);
    want.version = 2;
    want.applied = 2;
    want.hist[0] = 4;

    /* A step takes the first N whole gradients: no pushes in pieces. */
    uint64_t id = s_push_piece(&r, 1, 0, 2, 5, 0, r.nparams, 0);
    s_expect_error(&r, r.worker[1], id, "needs mode async");
    want.rejected = 1;
    s_wait_stats(&r, &want);
    s_rig_stop(&r, &want);
    printf("ok sync, replicas_to_aggregate 2 of 3; no pieces\n");
}

/*
 * A softsync update: the mean of n gradients c[k], each weighed by w[k]
 * (its staleness-scaled rate's share of the base rate).
 */
static void s_model_apply_soft(struct fixture *r, int n, const int *c,
                               const float *w)
{
    float step = LR * (1.0f / (float) n);
    for (size_t i = 0; i < r->nparams; i++) {
        float sum = 0;
        for (int k = 0; k < n; k++)
            sum += w[k] * s_grad(i, c[k]);
        r->expect[i] -= step * sum;
    }
    r->version++;
}

/*
 * 1-softsync of 3 workers: an update every c = 3 gradients, of any
 * staleness, from any workers (worker 0 brings two to the first); every
 * push is answered at once with the newest values; policy inverse halves
 * the rate of a gradient of staleness 2; no pushes in pieces.
 */
static void test_softsync(void *zctx, const char *ps)
{
    static const char *const sets[] = {COMMON_SETS, "mode=softsync",
                                       "softsync_n=1",
                                       "staleness_policy=inverse"};
    static const int c1[3] = {1, 2, 3}, c2[3] = {2, 3, 1}, c3[3] = {3, 1, 2};
    static const float full[3] = {1, 1, 1}, half[3] = {1, 1, 0.5f};
    struct fixture r;
    s_rig_start(&r, zctx, ps, sets, NELEMS(sets));
    s_rig_init(&r);
    uint64_t id = s_push(&r, 0, 0, 1);
    s_expect_params(&r, r.worker[0], id); /* at once, still version 0 */
    id = s_push(&r, 0, 0, 2);
    s_expect_params(&r, r.worker[0], id);
    id = s_push(&r, 1, 0, 3);
    s_model_apply_soft(&r, 3, c1, full);
    s_expect_params(&r, r.worker[1], id);

    id = s_push(&r, 2, 0, 1); /* staleness 1: the full rate */
    s_expect_params(&r, r.worker[2], id);
    id = s_push(&r, 0, 1, 2);
    s_expect_params(&r, r.worker[0], id);
    id = s_push(&r, 1, 1, 3);
    s_model_apply_soft(&r, 3, c2, full); /* worker order: 0, 1, 2 */
    s_expect_params(&r, r.worker[1], id);

    id = s_push(&r, 2, 0, 2); /* staleness 2: half the rate */
    s_expect_params(&r, r.worker[2], id);
    id = s_push(&r, 1, 2, 1);
    s_expect_params(&r, r.worker[1], id);
    id = s_push(&r, 0, 2, 3);
    s_model_apply_soft(&r, 3, c3, half);
    s_expect_params(&r, r.worker[0], id);
    CHECK_EQ(r.version, 3);

    id = s_push_piece(&r, 1, 0, 3, 5, 0, r.nparams, 0);
    s_expect_error(&r, r.worker[1], id, "needs mode async");
    struct stats want = {.version = 3, .applied = 3, .rejected = 1};
    want.hist[0] = 7;
    want.hist[1] = 1;
    want.hist[2] = 1;
    s_wait_stats(&r, &want);
    s_rig_stop(&r, &want);
    printf("ok softsync, n 1 of 3 workers: every 3 gradients; no pieces\n");
}

/*
 * Bounded staleness, ssp_bound 1: worker 0 may be one push ahead of the
 * slowest worker; its reply beyond that waits until both others pushed.
 */
static void test_bounded_staleness(void *zctx, const char *ps)
{
    static const char *const sets[] = {COMMON_SETS, "mode=async",
                                       "ssp_bound=1"};
    struct fixture r;
    s_rig_start(&r, zctx, ps, sets, NELEMS(sets));
    s_rig_init(&r);
    uint64_t id = s_push(&r, 0, 0, 1); /* one ahead: answered */
    s_model_apply(&r, LR, 1);
    s_expect_params(&r, r.worker[0], id);
    uint64_t held = s_push(&r, 0, 1, 2); /* two ahead: held */
    s_model_apply(&r, LR, 2);
    s_check_quiet(&r, r.worker[0]);
    id = s_push(&r, 1, 0, 3); /* worker 2 is still at 0 */
    s_model_apply(&r, LR, 3);
    s_expect_params(&r, r.worker[1], id);
    s_check_quiet(&r, r.worker[0]);
    id = s_push(&r, 2, 0, 4); /* the slowest is at 1 now */
    s_model_apply(&r, LR, 4);
    s_expect_params(&r, r.worker[0], held);
    s_expect_params(&r, r.worker[2], id);

    struct stats want = {.version = 4, .applied = 4};
    want.hist[0] = 2;
    want.hist[2] = 1;
    want.hist[3] = 1;
    s_wait_stats(&r, &want);
    s_rig_stop(&r, &want);
    printf("ok bounded staleness, ssp_bound 1\n");
}

/* Sends a header packed as is (any version, any type) and raw frames. */
static void s_send_packed(void *sock, const Psc__Header *h, int nempty)
{
    uint8_t buf[512];
    size_t len = psc__header__get_packed_size(h);
    CHECK(len <= sizeof buf);
    psc__header__pack(h, buf);
    CHECK(zmq_send(sock, buf, len, nempty > 0 ? ZMQ_SNDMORE : 0) >= 0);
    for (int i = 0; i < nempty; i++)
        CHECK(zmq_send(sock, "", 0, i + 1 < nempty ? ZMQ_SNDMORE : 0) >= 0);
}

/* Bytes that do not unpack as a Header. */
static void s_send_garbage(void *sock)
{
    uint8_t junk[32];
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < sizeof junk; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        junk[i] = (uint8_t) x;
    }
    Psc__Header *h = psc__header__unpack(NULL, sizeof junk, junk);
    CHECK(h == NULL);
    CHECK(zmq_send(sock, junk, sizeof junk, 0) >= 0);
}

/* The worker whose connection test_malformed() sends its messages on. */
#define RAW_WORKER 2
#define RAW_TASK   "worker:2"

/* A pull from the raw socket: the ps still serves, values unchanged. */
static void s_check_serves(struct fixture *r, void *raw)
{
    uint64_t id = s_pull(r, raw, RAW_TASK, 0);
    s_expect_params(r, raw, id);
}

/* Messages the wire drops silently (each counts as rejected). */
static void s_malformed_dropped(struct fixture *r, void *raw)
{
    struct wire_frame frames[WIRE_MAX_FRAMES];
    Psc__Header h;

    s_send_garbage(raw);
    s_check_serves(r, raw);

    wire_header_init(&h, PSC__MSG_TYPE__PULL, RAW_TASK);
    h.version = WIRE_VERSION + 1;
    s_send_packed(raw, &h, 0);
    s_check_serves(r, raw);

    /* The last frame holds one element less than its header says. */
    wire_header_init(&h, PSC__MSG_TYPE__PUSH, RAW_TASK);
    h.flags = WIRE_WANT_PARAMS;
    s_fill_grad(r, 1);
    int n = s_frames(r, r->grad, frames);
    frames[n - 1].bytes -= sizeof(float);
    s_send(r, raw, &h, frames, n);
    s_check_serves(r, raw);

    wire_header_init(&h, (Psc__MsgType) 99, RAW_TASK);
    s_send(r, raw, &h, NULL, 0);
    s_check_serves(r, raw);

    /* The wire drops a pull with payload before the ps sees it. */
    wire_header_init(&h, PSC__MSG_TYPE__PULL, RAW_TASK);
    s_send(r, raw, &h, frames, n);
    s_check_serves(r, raw);

    CHECK(zmq_send(raw, "", 0, 0) == 0); /* an empty header frame */
    s_check_serves(r, raw);

    wire_header_init(&h, PSC__MSG_TYPE__PUSH, RAW_TASK);
    s_send_packed(raw, &h, WIRE_MAX_FRAMES + 1);
    s_check_serves(r, raw);
}

/* Messages valid on the wire that the ps refuses with ERROR. */
static void s_malformed_refused(struct fixture *r, void *raw)
{
    struct wire_frame frames[WIRE_MAX_FRAMES];
    Psc__Header h;

    wire_header_init(&h, PSC__MSG_TYPE__PUSH, RAW_TASK);
    h.flags = WIRE_WANT_PARAMS;
    s_fill_grad(r, 1);
    int n = s_frames(r, r->grad, frames);
    CHECK(n >= 2);
    uint64_t id = s_send(r, raw, &h, frames, 1);
    s_expect_error(r, raw, id, "wrong number of slices");
    s_check_serves(r, raw);

    struct wire_frame swapped[2] = {frames[1], frames[0]};
    id = s_send(r, raw, &h, swapped, 2);
    s_expect_error(r, raw, id, "slice length differs");
    s_check_serves(r, raw);

    id = s_push_from(r, raw, RAW_TASK, r->version + 5, 1);
    s_expect_error(r, raw, id, "never had");
    s_check_serves(r, raw);

    wire_header_init(&h, PSC__MSG_TYPE__REPORT, RAW_TASK);
    id = s_send(r, raw, &h, NULL, 0);
    s_expect_error(r, raw, id, "not a request");
    s_check_serves(r, raw);
}

/*
 * Malformed and refused messages: the ps drops or refuses each, keeps its
 * values, counts it, and keeps serving. Also what happens before INIT, and
 * that a second INIT changes nothing.
 */
static void test_malformed(void *zctx, const char *ps)
{
    static const char *const sets[] = {COMMON_SETS, "mode=async"};
    struct fixture r;
    s_rig_start(&r, zctx, ps, sets, NELEMS(sets));
    /* A worker's own connection: only a worker's pushes get as far as the
     * checks under test. */
    void *raw = r.worker[RAW_WORKER];

    uint64_t id = s_push_from(&r, raw, RAW_TASK, 0, 1);
    s_expect_error(&r, raw, id, "not initialised");
    uint64_t held = s_pull(&r, raw, RAW_TASK, 0);
    s_check_quiet(&r, raw);
    s_rig_init(&r);
    s_expect_params(&r, raw, held);

    /* A second INIT is acknowledged and ignored. */
    struct wire_frame frames[WIRE_MAX_FRAMES];
    wire_msg_t msg;
    Psc__Header h;
    s_fill_grad(&r, 4);
    wire_header_init(&h, PSC__MSG_TYPE__INIT, "chief:0");
    int n = s_frames(&r, r.grad, frames);
    id = s_send(&r, r.init, &h, frames, n);
    s_recv(&r, r.init, PSC__MSG_TYPE__INIT_ACK, &msg);
    CHECK_EQ(msg.hdr->request_id, id);
    wire_msg_release(&msg);
    s_check_serves(&r, raw);

    s_malformed_dropped(&r, raw);
    s_malformed_refused(&r, raw);

    /* And a good gradient is still applied. */
    id = s_push(&r, 0, 0, 1);
    s_model_apply(&r, LR, 1);
    s_expect_params(&r, r.worker[0], id);

    struct stats want = {.version = 1, .applied = 1, .rejected = 12};
    want.hist[0] = 1;
    s_wait_stats(&r, &want);
    s_rig_stop(&r, &want);
    printf("ok malformed and refused messages\n");
}

/* Pushes the gradient whose every element is v from version read. */
static uint64_t s_push_value(struct fixture *r, int w, uint64_t read, float v)
{
    struct wire_frame frames[WIRE_MAX_FRAMES];
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__PUSH, s_worker_names[w]);
    h.step = read;
    h.flags = WIRE_WANT_PARAMS;
    for (size_t i = 0; i < r->nparams; i++)
        r->grad[i] = v;
    int n = s_frames(r, r->grad, frames);
    return s_send(r, r->worker[w], &h, frames, n);
}

/* The gradient check's refusal, as the ERROR's text says it. */
#define REFUSED_GRADIENT "a NaN, an infinity or a value beyond 1e18"

/*
 * Async: a gradient with one NaN, one with an infinity and one of 1e38
 * (its square overflows float) are refused with ERROR, counted per worker,
 * and leave the values as they were; a good gradient still applies.
 */
static void test_nonfinite_async(void *zctx, const char *ps)
{
    static const char *const sets[] = {COMMON_SETS, "mode=async"};
    struct fixture r;
    s_rig_start(&r, zctx, ps, sets, NELEMS(sets));
    s_rig_init(&r);
    uint64_t id = s_push_value(&r, 0, 0, 1.0f);
    for (size_t i = 0; i < r.nparams; i++)
        r.expect[i] -= LR * 1.0f;
    r.version++;
    s_expect_params(&r, r.worker[0], id);
    /* s_push_value() filled r.grad; one element poisons the rest. */
    r.grad[17] = NAN;
    struct wire_frame frames[WIRE_MAX_FRAMES];
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__PUSH, "worker:0");
    h.step = 1;
    h.flags = WIRE_WANT_PARAMS;
    id = s_send(&r, r.worker[0], &h, frames, s_frames(&r, r.grad, frames));
    s_expect_error(&r, r.worker[0], id, REFUSED_GRADIENT);
    id = s_push_value(&r, 1, 1, INFINITY);
    s_expect_error(&r, r.worker[1], id, REFUSED_GRADIENT);
    id = s_push_value(&r, 2, 1, -1e38f);
    s_expect_error(&r, r.worker[2], id, REFUSED_GRADIENT);
    id = s_pull(&r, r.worker[2], "worker:2", 0);
    s_expect_params(&r, r.worker[2], id);

    struct stats want = {.version = 1, .applied = 1, .rejected = 3};
    want.hist[0] = 1;
    want.refused[0] = want.refused[1] = want.refused[2] = 1;
    s_wait_stats(&r, &want);
    s_rig_stop(&r, &want);
    printf("ok async: NaN, inf and 1e38 gradients refused, counted\n");
}

/*
 * Sync, 2 of 3: a NaN gradient raced into a step is refused and does not
 * count towards it; the step is the mean of the two good ones.
 */
static void test_nonfinite_sync(void *zctx, const char *ps)
{
    static const char *const sets[] = {COMMON_SETS, "mode=sync",
                                       "replicas_to_aggregate=2"};
    struct fixture r;
    s_rig_start(&r, zctx, ps, sets, NELEMS(sets));
    s_rig_init(&r);
    uint64_t bad = s_push_value(&r, 2, 0, NAN);
    s_expect_error(&r, r.worker[2], bad, REFUSED_GRADIENT);
    uint64_t id0 = s_push(&r, 0, 0, 1);
    s_check_quiet(&r, r.worker[0]);
    uint64_t id1 = s_push(&r, 1, 0, 3);
    s_model_apply_mean(&r, 1, 3);
    s_expect_params(&r, r.worker[0], id0);
    s_expect_params(&r, r.worker[1], id1);

    struct stats want = {.version = 1, .applied = 1, .rejected = 1};
    want.hist[0] = 2; /* the step's two gradients */
    want.refused[2] = 1;
    s_wait_stats(&r, &want);
    s_rig_stop(&r, &want);
    printf("ok sync: a NaN gradient raced into a step is refused\n");
}

/*
 * Adam: three pushes of 1e38 are refused (their squares would make the
 * second moment infinite); a large gradient within the bound moves each
 * value by the learning rate, as Adam's first step does, and the ps, which
 * searches its slots for non-finite numbers, keeps serving to the end.
 */
static void test_adam_huge(void *zctx, const char *ps)
{
    static const char *const sets[] = {COMMON_SETS, "mode=async",
                                       "optimizer=adam"};
    struct fixture r;
    s_rig_start(&r, zctx, ps, sets, NELEMS(sets));
    s_rig_init(&r);
    for (int i = 0; i < 3; i++) {
        uint64_t id = s_push_value(&r, i, 0, 1e38f);
        s_expect_error(&r, r.worker[i], id, REFUSED_GRADIENT);
    }
    uint64_t id = s_push_value(&r, 0, 0, 1e17f);
    /* m = 0.1 g, v = 0.001 g^2: the step is lr * sign(g). */
    for (size_t i = 0; i < r.nparams; i++)
        r.expect[i] -= LR;
    r.version++;
    s_expect_params(&r, r.worker[0], id);
    /* Several statistics intervals: each one searches the slots. */
    struct stats want = {.version = 1, .applied = 1, .rejected = 3};
    want.hist[0] = 1;
    want.refused[0] = want.refused[1] = want.refused[2] = 1;
    s_wait_stats(&r, &want);
    /* s_wait() fails the test if the ps stops meanwhile. */
    double until = psc_now() + 0.6;
    while (psc_now() < until)
        s_wait(&r, NULL, (int) ((until - psc_now()) * 1000) + 1);
    CHECK(rig_pid(r.rig, 0) != 0);
    s_rig_stop(&r, &want);
    printf("ok adam: 1e38 gradients refused, no slot overflows\n");
}

/*
 * max_grad_norm 1: a gradient of norm |g| > 1 applies as g / |g|; one
 * shorter than 1 as it is.
 */
static void test_clip(void *zctx, const char *ps)
{
    static const char *const sets[] = {COMMON_SETS, "mode=async",
                                       "max_grad_norm=1"};
    struct fixture r;
    s_rig_start(&r, zctx, ps, sets, NELEMS(sets));
    s_rig_init(&r);
    double sumsq = 0;
    for (size_t i = 0; i < r.nparams; i++)
        sumsq += (double) s_grad(i, 1) * (double) s_grad(i, 1);
    float scale = (float) (1.0 / sqrt(sumsq));
    uint64_t id = s_push(&r, 0, 0, 1);
    for (size_t i = 0; i < r.nparams; i++)
        r.expect[i] -= (LR * scale) * s_grad(i, 1);
    r.version++;
    s_expect_params(&r, r.worker[0], id);
    id = s_push_value(&r, 1, 1, 1e-4f); /* norm 0.0089: not clipped */
    for (size_t i = 0; i < r.nparams; i++)
        r.expect[i] -= LR * 1e-4f;
    r.version++;
    s_expect_params(&r, r.worker[1], id);

    struct stats want = {.version = 2, .applied = 2};
    want.hist[0] = 2;
    s_wait_stats(&r, &want);
    s_rig_stop(&r, &want);
    printf("ok max_grad_norm clips a push to the norm\n");
}

/*
 * Adagrad's accumulator grows by g^2 per push: 400 pushes of 1e18 take it
 * past FLT_MAX. The ps finds the infinity at its next search and stops
 * (says BYE and exits), instead of training on.
 */
static void test_state_poisoned(void *zctx, const char *ps)
{
    static const char *const sets[] = {COMMON_SETS, "mode=async",
                                       "optimizer=adagrad"};
    struct fixture r;
    char err[PSC_ERR_LEN] = "";
    s_rig_start(&r, zctx, ps, sets, NELEMS(sets));
    s_rig_init(&r);
    /*
     * After about 340 pushes the accumulator may be infinite, and a search
     * of the ps (every log_interval_s) may stop it before the loop ends:
     * on a slow machine it does.
     */
    int rc = 0;
    for (uint64_t v = 0; v < 400 && rc != PSC_EPEERGONE; v++) {
        uint64_t id = s_push_value(&r, 0, v, 1e18f);
        rc = rig_poll(r.rig, r.worker[0], r.reply_ms, err);
        if (rc == PSC_EPEERGONE) {
            CHECK(v >= 300);
            break;
        }
        CHECK(rc > 0);
        wire_msg_t msg;
        CHECK_OK(wire_recv(r.worker[0], 0, &msg, &r.counters, ZMQ_DONTWAIT));
        CHECK_EQ(msg.hdr->type, PSC__MSG_TYPE__PARAMS);
        CHECK_EQ(msg.hdr->request_id, id);
        wire_msg_release(&msg);
    }
    double deadline = psc_now() + r.reply_ms / 1000.0;
    /* 1: the ps sent statistics; it goes on until it stops. */
    while (rc >= 0 && psc_now() < deadline)
        rc = rig_poll(r.rig, NULL, 100, err);
    if (rc != PSC_EPEERGONE)
        fprintf(stderr, "rig_poll: %d %s\n", rc, err);
    CHECK_EQ(rc, PSC_EPEERGONE);
    CHECK_CONTAINS(err, "not finite");
    CHECK_EQ(rig_stop(r.rig, 5.0, err), 1);
    zmq_close(r.init);
    for (int w = 0; w < NWORKERS; w++)
        zmq_close(r.worker[w]);
    rig_destroy(&r.rig);
    free(r.expect);
    free(r.grad);
    free(r.scratch);
    placement_destroy(&r.pl);
    printf("ok a non-finite accumulator stops the ps\n");
}

/*
 * Parked pulls are bounded: a peer's ninth waiting pull refuses its oldest
 * with ERROR, and a flood of 2000 keeps 8 parked; a min_version beyond
 * reach is refused at once. The 8 still parked are answered when the
 * version comes.
 */
static void test_park_bound(void *zctx, const char *ps)
{
    static const char *const sets[] = {COMMON_SETS, "mode=async"};
    struct fixture r;
    s_rig_start(&r, zctx, ps, sets, NELEMS(sets));
    s_rig_init(&r);
    void *raw = s_dealer(&r, "raw:0");
    uint64_t ids[8];
    for (int i = 0; i < 8; i++)
        ids[i] = s_pull(&r, raw, "raw:0", 1);
    s_check_quiet(&r, raw);
    uint64_t first = ids[0];
    for (int i = 0; i < 2000; i++) {
        uint64_t id = s_pull(&r, raw, "raw:0", 1);
        s_expect_error(&r, raw, first, "the oldest is refused");
        memmove(ids, ids + 1, 7 * sizeof ids[0]);
        ids[7] = id;
        first = ids[0];
    }
    uint64_t id = s_pull(&r, raw, "raw:0", UINT64_MAX);
    s_expect_error(&r, raw, id, "beyond what this job reaches");
    struct stats want = {.rejected = 1, .refused_pulls = 2001, .parked = 8};
    s_wait_stats(&r, &want);

    id = s_push(&r, 0, 0, 1);
    s_model_apply(&r, LR, 1);
    s_expect_params(&r, r.worker[0], id);
    for (int i = 0; i < 8; i++)
        s_expect_params(&r, raw, ids[i]);
    want.version = want.applied = 1;
    want.hist[0] = 1;
    want.parked = 0;
    s_wait_stats(&r, &want);
    zmq_close(raw);
    s_rig_stop(&r, &want);
    printf("ok parked pulls bounded per peer; min_version beyond reach\n");
}

/*
 * Parked pulls are bounded in all too: 512 peers parking 8 each fill the
 * ps's 4096 places, and one more pull from a 513th refuses the oldest of
 * all, the first peer's first; memory stays bounded however many connect.
 */
static void test_park_total(void *zctx, const char *ps)
{
    enum { PEERS = 512, EACH = 8 };
    static const char *const sets[] = {COMMON_SETS, "mode=async"};
    struct fixture r;
    s_rig_start(&r, zctx, ps, sets, NELEMS(sets));
    s_rig_init(&r);
    void **peers = calloc(PEERS + 1, sizeof *peers);
    CHECK(peers != NULL);
    char name[PEERS + 1][16];
    uint64_t first = 0;
    struct stats want = {.rejected = 0, .parked = EACH};
    for (int p = 0; p <= PEERS; p++) {
        snprintf(name[p], sizeof name[p], "raw:%d", p);
        peers[p] = s_dealer(&r, name[p]);
    }
    for (int i = 0; i < EACH; i++) {
        uint64_t id = s_pull(&r, peers[0], name[0], 1);
        first = i == 0 ? id : first;
    }
    s_wait_stats(&r, &want); /* the first peer's are the oldest */
    for (int p = 1; p < PEERS; p++) {
        for (int i = 0; i < EACH; i++)
            s_pull(&r, peers[p], name[p], 1);
    }
    want.parked = PEERS * EACH;
    s_wait_stats(&r, &want);
    s_check_quiet(&r, peers[0]);
    s_pull(&r, peers[PEERS], name[PEERS], 1);
    s_expect_error(&r, peers[0], first, "more than 4096 requests wait");
    want.refused_pulls = 1;
    s_wait_stats(&r, &want);
    for (int p = 0; p <= PEERS; p++)
        zmq_close(peers[p]);
    free(peers);
    s_rig_stop(&r, &want);
    printf("ok parked pulls bounded in all (%d)\n", PEERS * EACH);
}

/*
 * Who may ask what: a message counts for the task it names only on that
 * task's connection (a DEALER naming itself "intruder", or a second one
 * naming itself after a live worker, is not heard); only the chief's INIT
 * and workers' pushes are taken; anyone's pull is served.
 */
static void test_identity(void *zctx, const char *ps)
{
    static const char *const sets[] = {COMMON_SETS, "mode=async"};
    struct fixture r;
    s_rig_start(&r, zctx, ps, sets, NELEMS(sets));
    s_rig_init(&r);
    void *intruder = s_dealer(&r, "intruder");
    s_push_from(&r, intruder, "worker:0", 0, 1);
    s_pull(&r, intruder, "worker:0", 0);
    s_check_quiet(&r, intruder);
    struct stats want = {.rejected = 2};
    s_wait_stats(&r, &want);

    void *twin = s_dealer(&r, "worker:1");
    s_push_from(&r, twin, "worker:1", 0, 2);
    uint64_t id = s_push(&r, 1, 0, 1);
    s_model_apply(&r, LR, 1);
    s_expect_params(&r, r.worker[1], id);
    s_check_quiet(&r, twin);

    void *other = s_dealer(&r, "evaluator:0");
    id = s_push_from(&r, other, "evaluator:0", r.version, 3);
    s_expect_error(&r, other, id, "only a worker of this cluster pushes");
    struct wire_frame frames[WIRE_MAX_FRAMES];
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__INIT, "evaluator:0");
    s_fill_grad(&r, 3);
    id = s_send(&r, other, &h, frames, s_frames(&r, r.grad, frames));
    s_expect_error(&r, other, id, "only the chief initialises");
    id = s_pull(&r, other, "evaluator:0", 0);
    s_expect_params(&r, other, id);

    want = (struct stats){.version = 1, .applied = 1, .rejected = 4};
    want.hist[0] = 1;
    s_wait_stats(&r, &want);
    zmq_close(intruder);
    zmq_close(twin);
    zmq_close(other);
    s_rig_stop(&r, &want);
    printf("ok messages bound to their task's connection; roles checked\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-TO-psc-ps\n", argv[0]);
        return 2;
    }
    /* psc_spawn_tied(): no ps outlives a failed CHECK's exit. */
    CHECK(access(argv[1], X_OK) == 0);
    void *zctx = zmq_ctx_new();
    CHECK(zctx != NULL);
    double start = psc_now();
    test_async_none(zctx, argv[1]);
    test_async_inverse(zctx, argv[1]);
    test_async_drop(zctx, argv[1]);
    test_async_pieces(zctx, argv[1]);
    test_sync(zctx, argv[1]);
    test_softsync(zctx, argv[1]);
    test_bounded_staleness(zctx, argv[1]);
    test_malformed(zctx, argv[1]);
    test_nonfinite_async(zctx, argv[1]);
    test_nonfinite_sync(zctx, argv[1]);
    test_adam_huge(zctx, argv[1]);
    test_clip(zctx, argv[1]);
    test_state_poisoned(zctx, argv[1]);
    test_park_bound(zctx, argv[1]);
    test_park_total(zctx, argv[1]);
    test_identity(zctx, argv[1]);
    zmq_ctx_term(zctx);
    printf("all ps rules passed in %.1f s\n", psc_now() - start);
    return 0;
}
