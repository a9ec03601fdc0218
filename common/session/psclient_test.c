/*
 * Unit test for psclient: this program plays every ps shard itself, with
 * ROUTER sockets on 127.0.0.1, and checks what a client sends (which shard
 * gets which slices of the flat vector, dense pushes in pieces, sparse
 * requests by key plan) and what it makes of the answers (replies of other
 * requests dropped, refusals, replies that do not fit, values scattered to
 * their offsets). Every wait is on a socket with a generous deadline.
 */
#include "psclient.h"

#include "f16.h"
#include "job.h"
#include "placement.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "psc_time.h"
#include "test.h"
#include "tfc.h"
#include "wire.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define MAX_PS    3
#define MAX_SETS  8
#define WAIT_S    20.0 /* bound on anything that should arrive */
#define NELEMS(a) ((int) (sizeof(a) / sizeof((a)[0])))

static const char *const s_ps_names[MAX_PS] = {"ps:0", "ps:1", "ps:2"};

/* What the logger said: the client logs only its first dropped reply. */
struct logs {
    int dropped;
    char last[512];
};

/* A client under test and the ROUTERs that play its ps shards. */
struct rig {
    void *zctx;
    int nps;
    void *ps[MAX_PS];
    struct job *job;
    struct boot b;
    placement_t *pl;
    psclient_t *c;
    const char *name; /* the client's routing id and task */
    size_t total;
    uint64_t id;   /* the request id the client is at */
    float *params; /* total floats: what psclient_wait() writes */
    float *scratch;
    size_t scratch_cap;
    struct wire_counters counters;
};

/* One message of a push in pieces: shard elements [a, b). */
struct piece {
    size_t a;
    size_t b;
    uint32_t more;
};

static void s_sink(void *arg, enum psc_log_level level, const char *line)
{
    struct logs *l = arg;
    if (strstr(line, "dropped a malformed message") != NULL)
        l->dropped++;
    snprintf(l->last, sizeof l->last, "%s", line);
    fprintf(stderr, "%s\n", line);
}

/*
 * Values exact in binary16 too (quarters within +-127.5, sums of two
 * within +-255), with a period (1021) that no offset in these tests is a
 * multiple of, so a value in the wrong place shows.
 */
static float s_val(size_t i, int salt)
{
    return (float) ((long) ((i + (size_t) salt * 131) % 1021) - 510) * 0.25f;
}

static float *s_pattern(size_t n, int salt)
{
    float *v = psc_xmalloc((n + 1) * sizeof(float));
    for (size_t i = 0; i < n; i++)
        v[i] = s_val(i, salt);
    return v;
}

static void s_check_floats(const float *got, const float *want, size_t n,
                           const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (got[i] != want[i]) {
            fprintf(stderr, "%s: element %zu is %g, expected %g\n", what, i,
                    (double) got[i], (double) want[i]);
            CHECK(got[i] == want[i]);
        }
    }
}

static float *s_scratch(struct rig *r, size_t n)
{
    if (n > r->scratch_cap) {
        free(r->scratch);
        r->scratch = psc_xmalloc((n + 1) * sizeof(float));
        r->scratch_cap = n;
    }
    return r->scratch;
}

/* Binds shard s's ROUTER on a free port and returns the port. */
static int s_bind_ps(struct rig *r, int s)
{
    char ep[256];
    size_t len = sizeof ep;
    int linger = 0;
    int mandatory = 1;
    r->ps[s] = zmq_socket(r->zctx, ZMQ_ROUTER);
    CHECK(r->ps[s] != NULL);
    CHECK_OK(zmq_setsockopt(r->ps[s], ZMQ_LINGER, &linger, sizeof linger));
    /* A reply the ROUTER cannot route fails loudly instead of vanishing. */
    CHECK_OK(zmq_setsockopt(r->ps[s], ZMQ_ROUTER_MANDATORY, &mandatory,
                            sizeof mandatory));
    CHECK_OK(zmq_bind(r->ps[s], "tcp://127.0.0.1:*"));
    CHECK_OK(zmq_getsockopt(r->ps[s], ZMQ_LAST_ENDPOINT, ep, &len));
    const char *colon = strrchr(ep, ':');
    CHECK(colon != NULL);
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    CHECK(end != colon + 1 && *end == '\0' && port > 0 && port <= 65535);
    return (int) port;
}

/*
 * A client of nps shards placed from sizes (slice_min elements), acting
 * as worker:0 (or identity) with the job options sets.
 */
static void s_rig_start(struct rig *r, int nps, const size_t *sizes, int nvars,
                        size_t slice_min, const char *const *sets, int nsets,
                        const char *identity)
{
    char err[PSC_ERR_LEN] = "";
    char tf[1024];
    const char *all[MAX_SETS + 1];
    memset(r, 0, sizeof *r);
    CHECK(nps <= MAX_PS && nsets <= MAX_SETS);
    r->zctx = zmq_ctx_new();
    CHECK(r->zctx != NULL);
    r->nps = nps;
    size_t off = (size_t) snprintf(
        tf, sizeof tf, "{\"cluster\":{\"chief\":[\"127.0.0.1:1\"],\"ps\":[");
    for (int s = 0; s < nps; s++)
        off +=
            (size_t) snprintf(tf + off, sizeof tf - off, "%s\"127.0.0.1:%d\"",
                              s ? "," : "", s_bind_ps(r, s));
    snprintf(tf + off, sizeof tf - off,
             "],\"worker\":[\"127.0.0.1:2\"]},"
             "\"task\":{\"type\":\"worker\",\"index\":0}}");
    /* Two threads, so the client's pool splits the large conversions. */
    all[0] = "apply_threads=2";
    for (int i = 0; i < nsets; i++)
        all[i + 1] = sets[i];
    r->job = job_new(NULL, all, nsets + 1, err);
    if (r->job == NULL)
        fprintf(stderr, "job: %s\n", err);
    CHECK(r->job != NULL);
    r->b.tfc = tfc_new_from_json(tf, err);
    if (r->b.tfc == NULL)
        fprintf(stderr, "TF_CONFIG: %s\n", err);
    CHECK(r->b.tfc != NULL);
    r->b.job = r->job;
    r->b.zctx = r->zctx;
    r->b.prog = "psclient_test";
    r->pl = placement_new(sizes, nvars, nps, slice_min);
    for (int s = 0; s < nps; s++)
        r->total += r->pl->shards[s].size;
    r->name = identity != NULL ? identity : "worker:0";
    r->c = psclient_new(&r->b, r->pl, identity, err);
    if (r->c == NULL)
        fprintf(stderr, "psclient_new: %s\n", err);
    CHECK(r->c != NULL);
    r->params = psc_xcalloc(r->total + 1, sizeof(float));
}

static void s_rig_stop(struct rig *r)
{
    psclient_destroy(&r->c);
    CHECK(r->c == NULL);
    for (int s = 0; s < r->nps; s++)
        CHECK_OK(zmq_close(r->ps[s]));
    placement_destroy(&r->pl);
    tfc_destroy(&r->b.tfc);
    job_destroy(&r->job);
    free(r->params);
    free(r->scratch);
    CHECK_OK(zmq_ctx_term(r->zctx));
}

static int s_dense(const struct rig *r, int s)
{
    return r->pl->shards[s].nslices > 0;
}

/*
 * Receives the next request on shard s, which must be of the given type,
 * from the client, addressed to shard s and of the current request.
 */
static void s_recv(struct rig *r, int s, int type, wire_msg_t *msg)
{
    zmq_pollitem_t item = {r->ps[s], 0, ZMQ_POLLIN, 0};
    double deadline = psc_now() + WAIT_S;
    for (;;) {
        int rc = wire_recv(r->ps[s], 1, msg, &r->counters, ZMQ_DONTWAIT);
        if (rc == 0)
            break;
        CHECK_EQ(rc, PSC_EAGAIN);
        int left = (int) ((deadline - psc_now()) * 1000.0);
        if (left <= 0) {
            fprintf(stderr, "ps:%d got no %s within %.0f s\n", s,
                    wire_type_name(type), WAIT_S);
            CHECK(left > 0);
        }
        zmq_poll(&item, 1, left);
    }
    if (msg->hdr->type != (Psc__MsgType) type)
        fprintf(stderr, "ps:%d expected %s, got %s\n", s, wire_type_name(type),
                wire_type_name(msg->hdr->type));
    CHECK_EQ(msg->hdr->type, type);
    CHECK_EQ(msg->peer_len, strlen(r->name));
    CHECK(memcmp(msg->peer, r->name, msg->peer_len) == 0);
    CHECK_STR(msg->hdr->task, r->name);
    CHECK_EQ(msg->hdr->shard, s);
    CHECK_EQ(msg->hdr->request_id, r->id);
}

static void s_reply_header(Psc__Header *h, Psc__MsgType type, int s,
                           uint64_t id, uint64_t step)
{
    CHECK(s >= 0 && s < MAX_PS);
    wire_header_init(h, type, s_ps_names[s]);
    h->request_id = id;
    h->shard = (uint32_t) s;
    h->step = step;
}

static void s_send(struct rig *r, int s, Psc__Header *h,
                   const struct wire_frame *f, int n)
{
    CHECK_OK(wire_send(r->ps[s], r->name, strlen(r->name), h, f, n));
}

/*
 * Frames of layout shard's slices of flat, in binary16 (narrowed into
 * half, room for total values) when f16.
 */
static int s_params_frames(const struct rig *r, int layout, const float *flat,
                           uint16_t *half, struct wire_frame *f)
{
    const struct placement_shard *sh = &r->pl->shards[layout];
    for (int i = 0; i < sh->nslices; i++) {
        const struct placement_slice *sl = &sh->slices[i];
        f[i] = (struct wire_frame){flat + sl->global_offset,
                                   sl->len * sizeof(float), sl->len, NULL};
        if (half != NULL) {
            f16_from_f32(half + sl->global_offset, flat + sl->global_offset,
                         sl->len);
            f[i].data = half + sl->global_offset;
            f[i].bytes = sl->len * 2;
        }
    }
    return sh->nslices;
}

/* Shard s answers request id with its slices of flat, in the job's dtype. */
static void s_reply_params(struct rig *r, int s, uint64_t id, uint64_t step,
                           const float *flat)
{
    struct wire_frame f[WIRE_MAX_FRAMES];
    int f16 = r->job->wire_f16;
    uint16_t *half = f16 ? psc_xmalloc((r->total + 1) * 2) : NULL;
    int n = s_params_frames(r, s, flat, half, f);
    Psc__Header h;
    s_reply_header(&h, PSC__MSG_TYPE__PARAMS, s, id, step);
    h.codec = f16 ? PSC__CODEC__F16 : PSC__CODEC__F32;
    s_send(r, s, &h, f, n);
    free(half);
}

static void s_reply_control(struct rig *r, int s, Psc__MsgType type,
                            uint64_t id, uint64_t step, const char *text)
{
    Psc__Header h;
    s_reply_header(&h, type, s, id, step);
    h.text = (char *) text;
    s_send(r, s, &h, NULL, 0);
}

/* Answers a piece with elements [a, b) of vals (shard order) at offset a. */
static void s_reply_piece(struct rig *r, int s, uint64_t id, uint64_t step,
                          const float *vals, size_t a, size_t b)
{
    int f16 = r->job->wire_f16;
    uint16_t *half = NULL;
    struct wire_frame f = {vals + a, (b - a) * sizeof(float), b - a, NULL};
    if (f16) {
        half = psc_xmalloc((b - a + 1) * 2);
        f16_from_f32(half, vals + a, b - a);
        f.data = half;
        f.bytes = (b - a) * 2;
    }
    Psc__Header h;
    s_reply_header(&h, PSC__MSG_TYPE__PARAMS, s, id, step);
    h.codec = f16 ? PSC__CODEC__F16 : PSC__CODEC__F32;
    h.offset = a;
    s_send(r, s, &h, &f, 1);
    free(half);
}

/* Payload frame i of msg holds want[0..n), in float32 or binary16. */
static void s_check_frame(struct rig *r, const wire_msg_t *msg, int i,
                          const float *want, size_t n, const char *what)
{
    CHECK_EQ(wire_frame_count(msg, i), n);
    const float *v = wire_frame_f32(msg, i, s_scratch(r, n));
    s_check_floats(v, want, n, what);
}

/* A dense request's frames are shard s's slices of flat, one each. */
static void s_check_slices(struct rig *r, int s, const wire_msg_t *msg,
                           const float *flat)
{
    const struct placement_shard *sh = &r->pl->shards[s];
    CHECK_EQ(msg->hdr->codec,
             r->job->wire_f16 ? PSC__CODEC__F16 : PSC__CODEC__F32);
    CHECK_EQ(msg->nframes, sh->nslices);
    for (int i = 0; i < sh->nslices; i++)
        s_check_frame(r, msg, i, flat + sh->slices[i].global_offset,
                      sh->slices[i].len, "slice sent");
}

static void s_wait_ok(struct rig *r, float *params)
{
    char err[PSC_ERR_LEN] = "";
    int rc = psclient_wait(r->c, params, NULL, NULL, WAIT_S, err);
    if (rc != 0)
        fprintf(stderr, "psclient_wait: %s\n", err);
    CHECK_OK(rc);
}

/* A wait that must fail with code, err saying why. */
static void s_wait_fails(struct rig *r, int code, const char *why)
{
    char err[PSC_ERR_LEN] = "";
    int rc = psclient_wait(r->c, r->params, NULL, NULL, WAIT_S, err);
    CHECK_EQ(rc, code);
    CHECK_CONTAINS(err, why);
}

/* Receives the PULL of every dense shard: no frames, min_version asked. */
static void s_take_pulls(struct rig *r, uint64_t min_version)
{
    for (int s = 0; s < r->nps; s++) {
        if (!s_dense(r, s))
            continue;
        wire_msg_t msg;
        s_recv(r, s, PSC__MSG_TYPE__PULL, &msg);
        CHECK_EQ(msg.hdr->min_version, min_version);
        CHECK_EQ(msg.nframes, 0);
        wire_msg_release(&msg);
    }
}

/* A pull that every dense shard answers with values of salt at steps[s]. */
static void s_pull_round(struct rig *r, uint64_t min_version,
                         const uint64_t *steps, int salt)
{
    float *want = s_pattern(r->total, salt);
    CHECK_OK(psclient_pull(r->c, min_version));
    r->id++;
    s_take_pulls(r, min_version);
    for (int s = 0; s < r->nps; s++) {
        /* s < r->nps <= MAX_PS (s_rig_start()); the analyzer lets the calls
         * in the loop, which see r, change r->nps. */
        if (s_dense(r, s))
            /* NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage) */
            s_reply_params(r, s, r->id, steps[s], want);
    }
    s_wait_ok(r, r->params);
    s_check_floats(r->params, want, r->total, "pulled values");
    for (int s = 0; s < r->nps; s++) {
        if (s_dense(r, s))
            CHECK_EQ(psclient_version(r->c, s), steps[s]);
    }
    free(want);
}

/* Only unbounded async pushes go in pieces; f32 only for one large slice. */
static void test_piece_rules(void)
{
    char err[PSC_ERR_LEN] = "";
    const char *sync16[] = {"wire_dtype=f16"};
    const char *ssp16[] = {"mode=async", "wire_dtype=f16", "ssp_bound=2"};
    const char *async16[] = {"mode=async", "wire_dtype=f16"};
    const char *async32[] = {"mode=async"};
    struct job *sync = job_new(NULL, sync16, NELEMS(sync16), err);
    struct job *ssp = job_new(NULL, ssp16, NELEMS(ssp16), err);
    struct job *a16 = job_new(NULL, async16, NELEMS(async16), err);
    struct job *a32 = job_new(NULL, async32, NELEMS(async32), err);
    CHECK(sync != NULL && ssp != NULL && a16 != NULL && a32 != NULL);
    struct placement_shard big = {1, NULL, (size_t) 1 << 24};
    CHECK_EQ(psclient_dense_pieces(sync, &big), 1);
    CHECK_EQ(psclient_dense_pieces(ssp, &big), 1);
    CHECK_EQ(psclient_dense_pieces(a16, &big), 16);
    struct placement_shard none = {0, NULL, 0};
    CHECK_EQ(psclient_dense_pieces(a16, &none), 1);
    /* f16: 128 KiB a piece, so 65536 elements each. */
    struct placement_shard sh = {1, NULL, 65535};
    CHECK_EQ(psclient_dense_pieces(a16, &sh), 1);
    sh.size = 2 * 65536 - 1;
    CHECK_EQ(psclient_dense_pieces(a16, &sh), 1);
    sh = (struct placement_shard){3, NULL, 5 * 65536 + 1};
    CHECK_EQ(psclient_dense_pieces(a16, &sh), 5);
    /* f32: only a shard of one slice of 8 MiB or more. */
    sh = (struct placement_shard){1, NULL, ((size_t) 2 << 20) - 1};
    CHECK_EQ(psclient_dense_pieces(a32, &sh), 1);
    sh.size = (size_t) 2 << 20;
    CHECK_EQ(psclient_dense_pieces(a32, &sh), 16);
    sh.nslices = 2;
    CHECK_EQ(psclient_dense_pieces(a32, &sh), 1);
    job_destroy(&sync);
    job_destroy(&ssp);
    job_destroy(&a16);
    job_destroy(&a32);
    /* Sparse: 256 KiB a piece, at most 8, never more than rows. */
    CHECK_EQ(psclient_sparse_pieces(1000, 264), 1);
    CHECK_EQ(psclient_sparse_pieces(2000, 264), 2);
    CHECK_EQ(psclient_sparse_pieces(100000, 264), 8);
    CHECK_EQ(psclient_sparse_pieces(3, (size_t) 1 << 20), 3);
    CHECK_EQ(psclient_sparse_pieces(1, (size_t) 1 << 20), 1);
    CHECK_EQ(psclient_sparse_pieces(0, 264), 1);
    printf("ok piece counts, dense and sparse\n");
}

/* The placement the tests below rely on: several slices, out of order. */
static void test_layout(const struct rig *r)
{
    static const struct {
        int shard;
        size_t global, local, len;
    } want[] = {{0, 10, 0, 50},
                {0, 117, 50, 40},
                {1, 60, 0, 50},
                {1, 0, 50, 10},
                {1, 110, 60, 7}};
    int i = 0;
    for (int s = 0; s < r->nps; s++) {
        const struct placement_shard *sh = &r->pl->shards[s];
        for (int k = 0; k < sh->nslices; k++, i++) {
            CHECK(i < NELEMS(want));
            CHECK_EQ(want[i].shard, s);
            CHECK_EQ(sh->slices[k].global_offset, want[i].global);
            CHECK_EQ(sh->slices[k].shard_offset, want[i].local);
            CHECK_EQ(sh->slices[k].len, want[i].len);
        }
    }
    CHECK_EQ(i, NELEMS(want));
    CHECK_EQ(r->pl->shards[0].size, 90);
    CHECK_EQ(r->pl->shards[1].size, 67);
    CHECK_EQ(r->total, 157);
}

/* A pull asks each dense shard once; its slices land at their offsets. */
static void test_pull(struct rig *r)
{
    static const uint64_t steps[MAX_PS] = {7, 9, 0};
    s_pull_round(r, 5, steps, 1);
    float *flat = psc_xcalloc(r->total + 1, sizeof(float));
    float *want = s_pattern(r->total, 1);
    const float *v = psclient_values(r->c, flat);
    s_check_floats(v, want, r->total, "psclient_values");
    free(flat);
    free(want);
    printf("ok %d shards: pull\n", r->nps);
}

/*
 * A push sends each dense shard its slices of the gradient, marked with
 * the version of that shard's values; push_only asks for acks instead.
 */
static void test_push(struct rig *r)
{
    static const uint64_t steps[MAX_PS] = {7, 9, 0};
    s_pull_round(r, 0, steps, 1);
    wire_buf_t *grad = wire_buf_new(r->total * sizeof(float));
    float *g = s_pattern(r->total, 2);
    float *want = s_pattern(r->total, 3);
    memcpy(wire_buf_data(grad), g, r->total * sizeof(float));
    CHECK_OK(psclient_push(r->c, grad));
    r->id++;
    for (int s = 0; s < r->nps; s++) {
        if (!s_dense(r, s))
            continue;
        wire_msg_t msg;
        s_recv(r, s, PSC__MSG_TYPE__PUSH, &msg);
        CHECK_EQ(msg.hdr->flags, WIRE_WANT_PARAMS);
        CHECK_EQ(msg.hdr->step, steps[s]);
        s_check_slices(r, s, &msg, g);
        wire_msg_release(&msg);
        s_reply_params(r, s, r->id, steps[s] + 1, want);
    }
    s_wait_ok(r, r->params);
    s_check_floats(r->params, want, r->total, "values after push");
    CHECK_OK(psclient_push_only(r->c, grad));
    r->id++;
    for (int s = 0; s < r->nps; s++) {
        if (!s_dense(r, s))
            continue;
        wire_msg_t msg;
        s_recv(r, s, PSC__MSG_TYPE__PUSH, &msg);
        CHECK_EQ(msg.hdr->flags, 0);
        CHECK_EQ(msg.hdr->step, steps[s] + 1);
        s_check_slices(r, s, &msg, g);
        wire_msg_release(&msg);
        s_reply_control(r, s, PSC__MSG_TYPE__PUSH_ACK, r->id, 20 + s, NULL);
    }
    s_wait_ok(r, NULL);
    for (int s = 0; s < r->nps; s++) {
        if (s_dense(r, s))
            CHECK_EQ(psclient_version(r->c, s), 20 + s);
    }
    wire_buf_release(&grad);
    free(g);
    free(want);
    printf("ok %d shards: push, push_only\n", r->nps);
}

/*
 * INIT carries each shard's slices of the initial values; a shard without
 * dense slices, and every shard for init_seed, gets the seed flag alone.
 */
static void test_init(struct rig *r)
{
    float *values = s_pattern(r->total, 5);
    CHECK_OK(psclient_init(r->c, values));
    r->id++;
    for (int s = 0; s < r->nps; s++) {
        wire_msg_t msg;
        s_recv(r, s, PSC__MSG_TYPE__INIT, &msg);
        if (s_dense(r, s)) {
            CHECK_EQ(msg.hdr->flags, 0);
            s_check_slices(r, s, &msg, values);
        } else {
            CHECK_EQ(msg.hdr->flags, WIRE_INIT_SEED);
            CHECK_EQ(msg.nframes, 0);
        }
        wire_msg_release(&msg);
        s_reply_control(r, s, PSC__MSG_TYPE__INIT_ACK, r->id, 0, NULL);
    }
    s_wait_ok(r, NULL);
    CHECK_OK(psclient_init_seed(r->c));
    r->id++;
    for (int s = 0; s < r->nps; s++) {
        wire_msg_t msg;
        s_recv(r, s, PSC__MSG_TYPE__INIT, &msg);
        CHECK_EQ(msg.hdr->flags, WIRE_INIT_SEED);
        CHECK_EQ(msg.nframes, 0);
        wire_msg_release(&msg);
        s_reply_control(r, s, PSC__MSG_TYPE__INIT_ACK, r->id, 0, NULL);
    }
    s_wait_ok(r, NULL);
    free(values);
    printf("ok %d shards: init, init_seed\n", r->nps);
}

/* Replies and refusals of other requests are dropped; the wait goes on. */
static void test_other_ids(struct rig *r)
{
    float *old = s_pattern(r->total, 9);
    float *want = s_pattern(r->total, 4);
    CHECK_OK(psclient_pull(r->c, 0));
    r->id++;
    s_take_pulls(r, 0);
    /* One connection keeps its order: these come before the answer. */
    s_reply_params(r, 0, r->id - 1, 90, old);
    s_reply_control(r, 0, PSC__MSG_TYPE__ERROR, r->id - 1, 0, "stale");
    s_reply_params(r, 0, r->id + 1, 91, old);
    s_reply_params(r, 0, r->id, 30, want);
    s_reply_params(r, 1, r->id, 31, want);
    s_wait_ok(r, r->params);
    s_check_floats(r->params, want, r->total, "after replies of others");
    CHECK_EQ(psclient_version(r->c, 0), 30);
    CHECK_EQ(psclient_version(r->c, 1), 31);
    free(old);
    free(want);
    printf("ok replies and refusals of other requests dropped\n");
}

/*
 * A refusal of the current request ends the wait with the ps's reason;
 * the other shard's late answer to it is dropped by the next request.
 */
static void test_refused(struct rig *r)
{
    float *old = s_pattern(r->total, 8);
    float *want = s_pattern(r->total, 6);
    CHECK_OK(psclient_pull(r->c, 3));
    r->id++;
    s_take_pulls(r, 3);
    s_reply_control(r, 0, PSC__MSG_TYPE__ERROR, r->id, 0, "not ready");
    s_wait_fails(r, PSC_EREFUSED, "ps:0 refused the request: not ready");
    uint64_t refused = r->id;
    CHECK_OK(psclient_pull(r->c, 3));
    r->id++;
    s_take_pulls(r, 3);
    s_reply_params(r, 1, refused, 40, old);
    s_reply_params(r, 0, r->id, 41, want);
    s_reply_params(r, 1, r->id, 42, want);
    s_wait_ok(r, r->params);
    s_check_floats(r->params, want, r->total, "after a refusal");
    CHECK_EQ(psclient_version(r->c, 0), 41);
    CHECK_EQ(psclient_version(r->c, 1), 42);
    free(old);
    free(want);
    printf("ok refusal of the current request\n");
}

/*
 * A reply whose frames disagree with its header, and one that is no psc
 * message, are dropped and counted (logged the first time only); the
 * right reply after them is taken.
 */
static void test_malformed(struct rig *r, struct logs *logs)
{
    struct wire_frame f[WIRE_MAX_FRAMES];
    float *want = s_pattern(r->total, 7);
    int dropped = logs->dropped;
    CHECK_OK(psclient_pull(r->c, 0));
    r->id++;
    s_take_pulls(r, 0);
    int n = s_params_frames(r, 0, want, NULL, f);
    CHECK(n > 0);
    f[0].count++; /* the header claims one value more than the frame has */
    Psc__Header h;
    s_reply_header(&h, PSC__MSG_TYPE__PARAMS, 0, r->id, 50);
    s_send(r, 0, &h, f, n);
    CHECK(zmq_send(r->ps[0], r->name, strlen(r->name), ZMQ_SNDMORE) >= 0);
    CHECK(zmq_send(r->ps[0], "\xff\xff\xff", 3, 0) == 3);
    s_reply_params(r, 0, r->id, 51, want);
    s_reply_params(r, 1, r->id, 52, want);
    s_wait_ok(r, r->params);
    s_check_floats(r->params, want, r->total, "after malformed replies");
    CHECK_EQ(psclient_version(r->c, 0), 51);
    CHECK_EQ(logs->dropped, dropped + 1);
    CHECK_CONTAINS(logs->last, "'ps:0'");
    CHECK_CONTAINS(logs->last, "frame size differs from the header");
    free(want);
    printf("ok malformed replies dropped\n");
}

/*
 * Well-formed values that do not fit the shard are refused: a slice one
 * value short, another shard's layout, one frame too many; the client
 * goes on.
 */
static void test_misfit(struct rig *r)
{
    static const uint64_t steps[MAX_PS] = {60, 61, 0};
    struct wire_frame f[WIRE_MAX_FRAMES];
    float *want = s_pattern(r->total, 2);
    CHECK_OK(psclient_pull(r->c, 0));
    r->id++;
    s_take_pulls(r, 0);
    int n = s_params_frames(r, 0, want, NULL, f);
    f[0].count--;
    f[0].bytes -= sizeof(float);
    Psc__Header h;
    s_reply_header(&h, PSC__MSG_TYPE__PARAMS, 0, r->id, 55);
    s_send(r, 0, &h, f, n);
    s_reply_params(r, 1, r->id, 56, want);
    s_wait_fails(r, PSC_EPROTO, "ps:0 sent values that do not fit its shard");

    CHECK_OK(psclient_pull(r->c, 0));
    r->id++;
    s_take_pulls(r, 0);
    n = s_params_frames(r, 1, want, NULL, f);
    s_reply_header(&h, PSC__MSG_TYPE__PARAMS, 1, r->id, 57);
    s_send(r, 0, &h, f, n); /* shard 1's answer on shard 0's socket */
    s_reply_params(r, 1, r->id, 58, want);
    s_wait_fails(r, PSC_EPROTO, "ps:0 sent values that do not fit its shard");

    /* Every slice right, and one frame too many. */
    CHECK_OK(psclient_pull(r->c, 0));
    r->id++;
    s_take_pulls(r, 0);
    n = s_params_frames(r, 0, want, NULL, f);
    f[n] = f[n - 1];
    s_reply_header(&h, PSC__MSG_TYPE__PARAMS, 0, r->id, 59);
    s_send(r, 0, &h, f, n + 1);
    s_reply_params(r, 1, r->id, 59, want);
    s_wait_fails(r, PSC_EPROTO, "ps:0 sent values that do not fit its shard");

    /* Any of ps:1's answers still queued belongs to an older request. */
    s_pull_round(r, 0, steps, 3);
    free(want);
    printf("ok values that do not fit refused\n");
}

/* The rows a sparse push should send: each key's rows summed, in order. */
static void s_sum_rows(const uint64_t *keys, size_t n, const float *grad,
                       size_t width, const uint64_t *want_keys, size_t count,
                       float *out)
{
    memset(out, 0, count * width * sizeof(float));
    for (size_t k = 0; k < count; k++) {
        for (size_t pos = 0; pos < n; pos++) {
            if (keys[pos] != want_keys[k])
                continue;
            for (size_t j = 0; j < width; j++)
                out[k * width + j] += grad[pos * width + j];
        }
    }
}

/* Shard s answers with the rows of keys (s_val(), salt) at offset. */
static void s_reply_rows(struct rig *r, int s, const uint64_t *keys, size_t n,
                         uint64_t offset, int salt)
{
    size_t w = (size_t) r->job->sparse_width;
    int f16 = r->job->wire_f16;
    float *rows = psc_xmalloc((n * w + 1) * sizeof(float));
    uint16_t *half = psc_xmalloc((n * w + 1) * 2);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < w; j++)
            rows[i * w + j] = s_val(keys[i] * w + j, salt);
    }
    struct wire_frame f = {rows, n * w * sizeof(float), n * w, NULL};
    if (f16) {
        f16_from_f32(half, rows, n * w);
        f.data = half;
        f.bytes = n * w * 2;
    }
    Psc__Header h;
    s_reply_header(&h, PSC__MSG_TYPE__SPARSE_PARAMS, s, r->id, 0);
    h.codec = f16 ? PSC__CODEC__F16 : PSC__CODEC__F32;
    h.width = (uint32_t) w;
    h.offset = offset;
    s_send(r, s, &h, &f, 1);
    free(rows);
    free(half);
}

/* Every position of rows_out holds its key's row (salt). */
static void s_check_rows(const float *out, const uint64_t *keys, size_t n,
                         size_t w, int salt)
{
    for (size_t pos = 0; pos < n; pos++) {
        for (size_t j = 0; j < w; j++) {
            if (out[pos * w + j] != s_val(keys[pos] * w + j, salt))
                fprintf(stderr, "row %zu (key %llu), column %zu\n", pos,
                        (unsigned long long) keys[pos], j);
            CHECK_NEAR(out[pos * w + j], s_val(keys[pos] * w + j, salt), 0);
        }
    }
}


/* A sparse request's keys frame holds want[0..count). */
static void s_check_keys(const wire_msg_t *msg, const uint64_t *want,
                         size_t count)
{
    CHECK_EQ(wire_frame_count(msg, 0), count);
    uint64_t *scratch = psc_xmalloc((count + 1) * sizeof *scratch);
    const uint64_t *k = wire_frame_keys(msg, 0, scratch);
    for (size_t i = 0; i < count; i++)
        CHECK_EQ(k[i], want[i]);
    free(scratch);
}

/*
 * A sparse push sends each shard its distinct keys, ascending, with their
 * rows summed, at the key plan's offset; the rows that come back go to
 * every position of their key. Shards without keys get nothing.
 */
static void test_sparse(struct rig *r)
{
    enum { N = 7, W = 4, PN = 3 };
    static const uint64_t keys[N] = {7, 3, 7, 12, 5, 0, 3};
    /* Key k lives on shard k % 3; the plan holds shard 0's keys first. */
    static const uint64_t plan[MAX_PS][3] = {{0, 3, 12}, {7}, {5}};
    static const size_t count[MAX_PS] = {3, 1, 1};
    static const size_t first[MAX_PS] = {0, 3, 4};
    static const uint64_t pull_keys[PN] = {4, 1, 4};
    static const uint64_t pull_plan[2] = {1, 4};
    float grad[N * W];
    float out[N * W];
    float sum[3 * W];
    uint64_t version[MAX_PS];
    CHECK_EQ(r->nps, 3);
    CHECK_EQ(r->job->sparse_width, W);
    for (size_t i = 0; i < N * W; i++)
        grad[i] = s_val(i, 1);
    for (int s = 0; s < r->nps; s++)
        version[s] = psclient_version(r->c, s);
    CHECK_OK(psclient_sparse_push(r->c, keys, N, grad, out));
    r->id++;
    for (int s = 0; s < r->nps; s++) {
        wire_msg_t msg;
        s_recv(r, s, PSC__MSG_TYPE__SPARSE_PUSH, &msg);
        CHECK_EQ(msg.hdr->flags, WIRE_WANT_PARAMS);
        CHECK_EQ(msg.hdr->width, W);
        CHECK_EQ(msg.hdr->offset, first[s]);
        CHECK_EQ(msg.hdr->codec, PSC__CODEC__F32);
        CHECK_EQ(msg.nframes, 2);
        s_check_keys(&msg, plan[s], count[s]);
        s_sum_rows(keys, N, grad, W, plan[s], count[s], sum);
        s_check_frame(r, &msg, 1, sum, count[s] * W, "summed rows");
        wire_msg_release(&msg);
        s_reply_rows(r, s, plan[s], count[s], first[s], 2);
    }
    s_wait_ok(r, NULL);
    s_check_rows(out, keys, N, W, 2);

    CHECK_OK(psclient_sparse_push(r->c, keys, N, grad, NULL));
    r->id++;
    for (int s = 0; s < r->nps; s++) {
        wire_msg_t msg;
        s_recv(r, s, PSC__MSG_TYPE__SPARSE_PUSH, &msg);
        CHECK_EQ(msg.hdr->flags, 0);
        CHECK_EQ(msg.nframes, 2);
        wire_msg_release(&msg);
        s_reply_control(r, s, PSC__MSG_TYPE__PUSH_ACK, r->id, 70, NULL);
    }
    s_wait_ok(r, NULL);
    /* Sparse answers say nothing about the dense values' versions. */
    for (int s = 0; s < r->nps; s++)
        CHECK_EQ(psclient_version(r->c, s), version[s]);

    CHECK_OK(psclient_sparse_pull(r->c, pull_keys, PN, out));
    r->id++;
    wire_msg_t msg;
    s_recv(r, 1, PSC__MSG_TYPE__SPARSE_PULL, &msg);
    CHECK_EQ(msg.hdr->flags, 0);
    CHECK_EQ(msg.hdr->width, W);
    CHECK_EQ(msg.hdr->offset, 0);
    CHECK_EQ(msg.nframes, 1);
    s_check_keys(&msg, pull_plan, 2);
    wire_msg_release(&msg);
    s_reply_rows(r, 1, pull_plan, 2, 0, 3);
    s_wait_ok(r, NULL);
    s_check_rows(out, pull_keys, PN, W, 3);

    /* Shards 0 and 2 had no keys to pull: the next thing they get is this. */
    CHECK_OK(psclient_init_seed(r->c));
    r->id++;
    for (int s = 0; s < r->nps; s++) {
        s_recv(r, s, PSC__MSG_TYPE__INIT, &msg);
        wire_msg_release(&msg);
        s_reply_control(r, s, PSC__MSG_TYPE__INIT_ACK, r->id, 0, NULL);
    }
    s_wait_ok(r, NULL);
    printf("ok sparse push, push without rows, pull\n");
}

/*
 * Rows that do not fit the request are refused: another width, a range
 * past the shard's keys, a partial row, another shard's range, an offset
 * past the plan's end.
 */
static void test_sparse_misfit(struct rig *r)
{
    enum { N = 3, W = 4 };
    static const uint64_t keys[N] = {3, 0, 4};
    static const uint64_t plan0[2] = {0, 3};
    static const uint64_t plan1[1] = {4};
    static const struct {
        int shard;
        uint32_t width;
        uint64_t offset;
        size_t values;
    } bad[] = {{0, 3, 0, 2 * 3},
               {0, W, 1, 2 * W},
               {0, W, 0, 2 * W - 1},
               {1, W, 0, W},
               {1, W, 4, 0}};
    float rows[2 * W];
    float out[N * W];
    for (size_t i = 0; i < 2 * W; i++)
        rows[i] = s_val(i, 4);
    for (int b = 0; b < NELEMS(bad); b++) {
        CHECK_OK(psclient_sparse_pull(r->c, keys, N, out));
        r->id++;
        wire_msg_t msg;
        s_recv(r, 0, PSC__MSG_TYPE__SPARSE_PULL, &msg);
        wire_msg_release(&msg);
        s_recv(r, 1, PSC__MSG_TYPE__SPARSE_PULL, &msg);
        wire_msg_release(&msg);
        int s = bad[b].shard;
        Psc__Header h;
        s_reply_header(&h, PSC__MSG_TYPE__SPARSE_PARAMS, s, r->id, 0);
        h.width = bad[b].width;
        h.offset = bad[b].offset;
        struct wire_frame f = {rows, bad[b].values * sizeof(float),
                               bad[b].values, NULL};
        s_send(r, s, &h, &f, 1);
        if (s == 0)
            s_reply_rows(r, 1, plan1, 1, 2, 5);
        else
            s_reply_rows(r, 0, plan0, 2, 0, 5);
        s_wait_fails(r, PSC_EPROTO, "sent rows that do not fit the request");
    }
    CHECK_OK(psclient_sparse_pull(r->c, keys, N, out));
    r->id++;
    wire_msg_t msg;
    s_recv(r, 0, PSC__MSG_TYPE__SPARSE_PULL, &msg);
    s_check_keys(&msg, plan0, 2);
    wire_msg_release(&msg);
    s_recv(r, 1, PSC__MSG_TYPE__SPARSE_PULL, &msg);
    CHECK_EQ(msg.hdr->offset, 2);
    s_check_keys(&msg, plan1, 1);
    wire_msg_release(&msg);
    s_reply_rows(r, 1, plan1, 1, 2, 6);
    s_reply_rows(r, 0, plan0, 2, 0, 6);
    s_wait_ok(r, NULL);
    s_check_rows(out, keys, N, W, 6);
    printf("ok sparse rows that do not fit refused\n");
}

/*
 * A large f16 sparse push goes to each shard in pieces of at least
 * 256 KiB, MORE on all but the last, repeated keys' rows summed before
 * narrowing; answers in reverse order still fill every position.
 */
static void test_sparse_pieces(struct rig *r)
{
    enum { KEYS = 3200, REPEATS = 200, N = KEYS + REPEATS, W = 256 };
    enum { PER_SHARD = KEYS / 2, PIECES = 3 };
    uint64_t *keys = psc_xmalloc(N * sizeof *keys);
    uint64_t *piece_keys = psc_xmalloc(PER_SHARD * sizeof *piece_keys);
    float *grad = s_pattern((size_t) N * W, 1);
    float *out = psc_xcalloc((size_t) N * W, sizeof(float));
    float *sum = psc_xcalloc((size_t) KEYS * W, sizeof(float));
    float *rows = psc_xmalloc((size_t) PER_SHARD * W * sizeof(float));
    CHECK_EQ(r->nps, 2);
    CHECK(r->job->wire_f16);
    CHECK_EQ(r->job->sparse_width, W);
    /* Every key once in a scattered order, then 200 of them again. */
    for (size_t i = 0; i < KEYS; i++)
        keys[i] = i * 1237 % KEYS;
    for (size_t j = 0; j < REPEATS; j++)
        keys[KEYS + j] = (j * 16 + 1) % KEYS;
    for (size_t pos = 0; pos < N; pos++) {
        for (size_t j = 0; j < W; j++)
            sum[keys[pos] * W + j] += grad[pos * W + j];
    }
    CHECK_EQ(psclient_sparse_pieces(PER_SHARD, W * 2 + 8), PIECES);
    CHECK_OK(psclient_sparse_push(r->c, keys, N, grad, out));
    r->id++;
    for (int s = 0; s < 2; s++) {
        size_t first = (size_t) s * PER_SHARD;
        for (size_t p = 0; p < PIECES; p++) {
            size_t a = PER_SHARD * p / PIECES;
            size_t b = PER_SHARD * (p + 1) / PIECES;
            wire_msg_t msg;
            s_recv(r, s, PSC__MSG_TYPE__SPARSE_PUSH, &msg);
            CHECK_EQ(msg.hdr->flags,
                     WIRE_WANT_PARAMS | (p + 1 < PIECES ? WIRE_MORE : 0));
            CHECK_EQ(msg.hdr->offset, first + a);
            CHECK_EQ(msg.hdr->width, W);
            CHECK_EQ(msg.hdr->codec, PSC__CODEC__F16);
            CHECK_EQ(msg.nframes, 2);
            /* Shard s holds the keys 2 i + s, ascending. */
            for (size_t i = a; i < b; i++)
                piece_keys[i - a] = 2 * i + (size_t) s;
            s_check_keys(&msg, piece_keys, b - a);
            for (size_t i = a; i < b; i++)
                memcpy(rows + (i - a) * W, sum + (2 * i + (size_t) s) * W,
                       W * sizeof(float));
            s_check_frame(r, &msg, 1, rows, (b - a) * W, "summed f16 rows");
            wire_msg_release(&msg);
        }
    }
    for (int s = 0; s < 2; s++) {
        for (size_t p = PIECES; p-- > 0;) {
            size_t a = PER_SHARD * p / PIECES;
            size_t b = PER_SHARD * (p + 1) / PIECES;
            for (size_t i = a; i < b; i++)
                piece_keys[i - a] = 2 * i + (size_t) s;
            s_reply_rows(r, s, piece_keys, b - a, (size_t) s * PER_SHARD + a,
                         2);
        }
    }
    s_wait_ok(r, NULL);
    s_check_rows(out, keys, N, W, 2);
    free(keys);
    free(piece_keys);
    free(grad);
    free(out);
    free(sum);
    free(rows);
    printf("ok sparse push in pieces, f16\n");
}

/* The messages a push in n even pieces of size elements goes in. */
static int s_even_pieces(size_t size, int n, struct piece *out)
{
    for (int p = 0; p < n; p++)
        out[p] = (struct piece){size * (size_t) p / (size_t) n,
                                size * (size_t) (p + 1) / (size_t) n,
                                p + 1 < n ? WIRE_MORE : 0};
    return n;
}

/* Receives the pieces of a push to shard s; grad in shard order. */
static void s_take_pieces(struct rig *r, int s, const struct piece *p, int n,
                          uint32_t flags, uint64_t step, const float *grad)
{
    for (int i = 0; i < n; i++) {
        wire_msg_t msg;
        s_recv(r, s, PSC__MSG_TYPE__PUSH, &msg);
        CHECK_EQ(msg.hdr->flags, flags | WIRE_PIECE | p[i].more);
        CHECK_EQ(msg.hdr->step, step);
        CHECK_EQ(msg.hdr->offset, p[i].a);
        CHECK_EQ(msg.hdr->codec,
                 r->job->wire_f16 ? PSC__CODEC__F16 : PSC__CODEC__F32);
        CHECK_EQ(msg.nframes, 1);
        s_check_frame(r, &msg, 0, grad + p[i].a, p[i].b - p[i].a, "piece sent");
        wire_msg_release(&msg);
    }
}

/*
 * A push in pieces: each message a range of the shard's elements at its
 * offset, MORE on all but the last; answers in reverse order land where
 * they belong, push_only pieces are acked one by one, and a piece past
 * the shard's end is refused.
 */
static void test_push_pieces(struct rig *r, struct piece *const *pieces,
                             const int *npieces)
{
    static const uint64_t steps[MAX_PS] = {3, 4, 0};
    float *sg[MAX_PS];
    float *sw[MAX_PS];
    float *g = s_pattern(r->total, 2);
    float *want = s_pattern(r->total, 3);
    float *flat = psc_xcalloc(r->total + 1, sizeof(float));
    wire_buf_t *grad = wire_buf_new(r->total * sizeof(float));
    memcpy(wire_buf_data(grad), g, r->total * sizeof(float));
    for (int s = 0; s < r->nps; s++) {
        sg[s] = psc_xmalloc((r->pl->shards[s].size + 2) * sizeof(float));
        sw[s] = psc_xcalloc(r->pl->shards[s].size + 2, sizeof(float));
        placement_gather(r->pl, s, g, sg[s]);
        placement_gather(r->pl, s, want, sw[s]);
    }
    s_pull_round(r, 0, steps, 1); /* a pull is never in pieces */
    CHECK_OK(psclient_push(r->c, grad));
    r->id++;
    for (int s = 0; s < r->nps; s++) {
        s_take_pieces(r, s, pieces[s], npieces[s], WIRE_WANT_PARAMS, steps[s],
                      sg[s]);
        for (int i = npieces[s]; i-- > 0;)
            s_reply_piece(r, s, r->id, 5 + (uint64_t) s, sw[s], pieces[s][i].a,
                          pieces[s][i].b);
    }
    s_wait_ok(r, r->params);
    s_check_floats(r->params, want, r->total, "values from pieces");
    s_check_floats(psclient_values(r->c, flat), want, r->total,
                   "psclient_values of pieces");
    for (int s = 0; s < r->nps; s++)
        CHECK_EQ(psclient_version(r->c, s), 5 + s);

    CHECK_OK(psclient_push_only(r->c, grad));
    r->id++;
    for (int s = 0; s < r->nps; s++) {
        s_take_pieces(r, s, pieces[s], npieces[s], 0, 5 + (uint64_t) s, sg[s]);
        for (int i = 0; i < npieces[s]; i++)
            s_reply_control(r, s, PSC__MSG_TYPE__PUSH_ACK, r->id, 7 + s, NULL);
    }
    s_wait_ok(r, NULL);
    for (int s = 0; s < r->nps; s++)
        CHECK_EQ(psclient_version(r->c, s), 7 + s);

    CHECK_OK(psclient_push(r->c, grad));
    r->id++;
    for (int s = 0; s < r->nps; s++)
        s_take_pieces(r, s, pieces[s], npieces[s], WIRE_WANT_PARAMS,
                      7 + (uint64_t) s, sg[s]);
    size_t size0 = r->pl->shards[0].size;
    s_reply_piece(r, 0, r->id, 9, sw[0], size0 - 1, size0 + 1);
    s_wait_fails(r, PSC_EPROTO,
                 "ps:0 sent a piece that does not fit its shard");
    /* The first loop filled sg and sw for every shard; the analyzer lets
     * the calls since, which see r, change r->nps. */
    for (int s = 0; s < r->nps; s++) {
        /* NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage) */
        free(sg[s]);
        free(sw[s]);
    }
    wire_buf_release(&grad);
    free(g);
    free(want);
    free(flat);
}

/* f16 async pushes go in 3 pieces per shard, across slice boundaries. */
static void test_pieces_f16(struct rig *r)
{
    struct piece p0[3];
    struct piece p1[3];
    struct piece *pieces[MAX_PS] = {p0, p1, NULL};
    int n[MAX_PS] = {0, 0, 0};
    CHECK_EQ(r->pl->shards[0].size, 196618);
    CHECK_EQ(r->pl->shards[1].size, 196615);
    for (int s = 0; s < 2; s++) {
        CHECK_EQ(r->pl->shards[s].nslices, 2);
        CHECK_EQ(psclient_dense_pieces(r->job, &r->pl->shards[s]), 3);
        n[s] = s_even_pieces(r->pl->shards[s].size, 3, pieces[s]);
    }
    test_push_pieces(r, pieces, n);
    printf("ok f16 push in pieces\n");
}

/*
 * f32 async: a shard of one 8 MiB slice goes in 16 pieces; then the
 * other shard, of two slices apart in the flat array, goes as one piece
 * per slice.
 */
static void test_pieces_f32(struct rig *r)
{
    struct piece p0[16];
    struct piece p1[2] = {{0, 10, WIRE_MORE}, {10, 17, 0}};
    struct piece *pieces[MAX_PS] = {p0, p1, NULL};
    int n[MAX_PS] = {0, 2, 0};
    const struct placement_shard *sh = r->pl->shards;
    CHECK_EQ(sh[0].nslices, 1);
    CHECK_EQ(sh[0].size, (size_t) 2 << 20);
    CHECK_EQ(sh[0].slices[0].global_offset, 10);
    CHECK_EQ(sh[1].nslices, 2);
    CHECK_EQ(sh[1].slices[0].global_offset, 0);
    CHECK_EQ(sh[1].slices[1].global_offset, ((size_t) 2 << 20) + 10);
    CHECK_EQ(psclient_dense_pieces(r->job, &sh[0]), 16);
    CHECK_EQ(psclient_dense_pieces(r->job, &sh[1]), 1);
    n[0] = s_even_pieces(sh[0].size, 16, p0);
    test_push_pieces(r, pieces, n);
    printf("ok f32 push in pieces\n");
}

int main(void)
{
    static const size_t mixed[] = {10, 100, 7, 40};
    static const size_t small[] = {5, 3};
    static const size_t one[] = {300};
    static const size_t sliced16[] = {393216, 10, 7};
    static const size_t whole32[] = {10, (size_t) 2 << 20, 7};
    static const char *const width4[] = {"sparse.width=4"};
    static const char *const f16[] = {"wire_dtype=f16"};
    static const char *const sparse16[] = {"wire_dtype=f16",
                                           "sparse.width=256"};
    static const char *const async16[] = {"mode=async", "wire_dtype=f16"};
    static const char *const async32[] = {"mode=async"};
    struct logs logs;
    struct rig r;
    memset(&logs, 0, sizeof logs);
    psc_log_set_sink(s_sink, &logs);
    double start = psc_now();
    test_piece_rules();

    /* Two shards, with slices out of flat order on both. */
    s_rig_start(&r, 2, mixed, NELEMS(mixed), 50, NULL, 0, NULL);
    test_layout(&r);
    test_pull(&r);
    test_push(&r);
    test_init(&r);
    test_other_ids(&r);
    test_refused(&r);
    test_malformed(&r, &logs);
    test_misfit(&r);
    s_rig_stop(&r);

    /* Three shards, the last without dense slices; its own routing id. */
    s_rig_start(&r, 3, small, NELEMS(small), 1000, width4, NELEMS(width4),
                "bench:1");
    CHECK_EQ(r.pl->shards[2].nslices, 0);
    test_pull(&r);
    test_push(&r);
    test_init(&r); /* shard 2's first message: nothing came before */
    test_sparse(&r);
    test_sparse_misfit(&r);
    s_rig_stop(&r);

    /* One shard of one slice: f32 values may be read in the frame itself. */
    s_rig_start(&r, 1, one, 1, 1000, NULL, 0, NULL);
    test_pull(&r);
    test_push(&r);
    s_rig_stop(&r);
    /* The same in f16: every value narrowed on the way out, widened back. */
    s_rig_start(&r, 1, one, 1, 1000, f16, NELEMS(f16), NULL);
    test_pull(&r);
    test_push(&r);
    test_init(&r);
    s_rig_stop(&r);

    /* Sparse rows wide enough that a few thousand keys make pieces. */
    s_rig_start(&r, 2, one, 1, 1000, sparse16, NELEMS(sparse16), NULL);
    test_sparse_pieces(&r);
    s_rig_stop(&r);

    /* Over 128 KiB of f16 a shard, each shard a big slice and a small one. */
    s_rig_start(&r, 2, sliced16, NELEMS(sliced16), 1000, async16,
                NELEMS(async16), NULL);
    test_pieces_f16(&r);
    s_rig_stop(&r);

    /* Nothing sliced: one shard holds the 8 MiB variable, one the others. */
    s_rig_start(&r, 2, whole32, NELEMS(whole32), (size_t) 4 << 20, async32,
                NELEMS(async32), NULL);
    test_pieces_f32(&r);
    s_rig_stop(&r);

    psc_log_set_sink(NULL, NULL);
    printf("psclient: ok (%.2f s)\n", psc_now() - start);
    return 0;
}
