/*
 * Every path psc-bench measures, checked number by number against real
 * psc-ps processes: dense push + pull, push only and pull split over 2
 * shards (f16 pushes in pieces), sparse push + pull with repeated and unsorted
 * keys, in f32 exactly and in f16 within its rounding; initial values from the
 * seed alike for 1 and 2 ps; malformed and refused sparse pushes counted; and
 * the zero-copy gradient buffer let go by every send. The ASan build runs
 * the same, which proves each buffer is freed exactly once.
 * Usage: bench_paths_test PATH-TO-psc-ps
 */
#include "bench_cluster.h"
#include "f16.h"
#include "jobvars.h"
#include "psc_err.h"
#include "psc_time.h"
#include "psclient.h"
#include "test.h"
#include "wire.h"

#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <unistd.h>
#include <zmq.h>

#define LR 0.5f
/* Large enough that the ps and the client split loops over 3 threads. */
#define FLOATS 300000 /* sliced over 2 ps: slice_min_bytes below */
/* Enough that f32 pushes go in pieces too (8 MiB a shard). */
#define FLOATS_PIECES 4400000
#define ROWS          100000
#define MANY          60000 /* keys of the large sparse requests */
#define WIDTH         4
#define NKEYS         9
#define NELEMS(a)     ((int) (sizeof(a) / sizeof((a)[0])))

/* Keys in no order, 17 and 3 twice, on both shards. */
static const uint64_t s_keys[NKEYS] = {17, 3, 998, 17, 0, 501, 3, 2, 999};

/* One client of a cluster, acting as worker:0. */
struct rig {
    bench_cluster_t *cl;
    void *zctx;
    struct boot b;
    psclient_t *pc;
    int f16;
    size_t floats;         /* of the dense variable */
    float (*table)[WIDTH]; /* the sparse rows the ps should hold */
};

static void s_rig_start(struct rig *r, const char *ps, int nps,
                        const char *dtype, size_t floats)
{
    char err[PSC_ERR_LEN] = "";
    char wire[32];
    char dense[64];
    snprintf(wire, sizeof wire, "wire_dtype=%s", dtype);
    snprintf(dense, sizeof dense, "bench.dense_floats=%zu", floats);
    const char *sets[] = {"model=bench",
                          "mode=async",
                          "optimizer=sgd",
                          "learning_rate=0.5",
                          "log_interval_s=0.2",
                          "startup_timeout_s=20",
                          "slice_min_bytes=4096",
                          "apply_threads=3",
                          dense,
                          "bench.sparse_rows=100000",
                          "sparse.width=4",
                          wire};
    memset(r, 0, sizeof *r);
    r->f16 = dtype[1] == '1';
    r->floats = floats;
    r->table = calloc(ROWS, sizeof *r->table);
    CHECK(r->table != NULL);
    for (uint64_t k = 0; k < ROWS; k++) {
        for (uint64_t c = 0; c < WIDTH; c++)
            r->table[k][c] =
                jobvars_init_value(42, JOBVARS_SPARSE_VAR, k * WIDTH + c);
    }
    /* Worker 0 is the client under test; worker 1, s_raw()'s connection. */
    r->cl = bench_cluster_new(ps, nps, 2, sets, NELEMS(sets), err);
    if (r->cl == NULL)
        fprintf(stderr, "cluster: %s\n", err);
    CHECK(r->cl != NULL);
    r->zctx = zmq_ctx_new();
    CHECK_OK(bench_cluster_boot(r->cl, 0, r->zctx, &r->b, err));
    r->pc = psclient_new(&r->b, bench_cluster_placement(r->cl), NULL, err);
    CHECK(r->pc != NULL);
}

/* Stops the ps, each of which must exit 0 (no sanitizer report). */
static void s_rig_stop(struct rig *r)
{
    psclient_destroy(&r->pc);
    bench_cluster_boot_release(&r->b);
    zmq_ctx_term(r->zctx);
    CHECK_EQ(bench_cluster_stop(r->cl), 0);
    bench_cluster_destroy(&r->cl);
    free(r->table);
}

static void s_wait(struct rig *r, float *params)
{
    char err[PSC_ERR_LEN] = "";
    int rc = psclient_wait(r->pc, params, NULL, NULL, 30, err);
    if (rc != 0)
        fprintf(stderr, "wait: %s\n", err);
    CHECK_OK(rc);
}

/* What the wire does to a value: nothing, or rounding to binary16. */
static float s_round(const struct rig *r, float v)
{
    if (!r->f16)
        return v;
    uint16_t h;
    float back;
    f16_from_f32(&h, &v, 1);
    f16_to_f32(&back, &h, 1);
    return back;
}

static void s_check_values(const struct rig *r, const float *got,
                           const float *want, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        float w = s_round(r, want[i]);
        if (got[i] != w)
            fprintf(stderr, "%s, element %zu: %.9g, expected %.9g\n", what, i,
                    (double) got[i], (double) w);
        CHECK(got[i] == w);
    }
}

static float s_grad(size_t i, int c)
{
    return (float) c * 0.001f * (float) (1 + i % 5);
}

/* The ps's SGD on one element, with the gradient as the wire carries it. */
static void s_sgd(const struct rig *r, float *w, float g)
{
    *w -= LR * s_round(r, g);
}

/*
 * Dense: initial values from the seed, then push + pull, push only and
 * pull, each checked against the ps's rule computed here.
 */
static void s_dense(struct rig *r)
{
    float *want = calloc(r->floats, sizeof(float));
    float *got = calloc(r->floats, sizeof(float));
    CHECK(want != NULL && got != NULL);
    wire_buf_t *grad = wire_buf_new(r->floats * sizeof(float));
    float *g = wire_buf_data(grad);
    for (size_t i = 0; i < r->floats; i++)
        want[i] = jobvars_init_value(42, JOBVARS_DENSE_VAR, i);
    CHECK_OK(psclient_pull(r->pc, 0));
    s_wait(r, got);
    s_check_values(r, got, want, r->floats, "initial values");
    for (int c = 1; c <= 3; c++) {
        for (size_t i = 0; i < r->floats; i++) {
            g[i] = s_grad(i, c);
            s_sgd(r, &want[i], g[i]);
        }
        CHECK_OK(c == 2 ? psclient_push_only(r->pc, grad)
                        : psclient_push(r->pc, grad));
        s_wait(r, c == 2 ? NULL : got);
        if (c != 2) {
            s_check_values(r, got, want, r->floats, "push + pull");
            /* The same values, read where they arrived when they can be. */
            s_check_values(r, psclient_values(r->pc, got), want, r->floats,
                           "values in place");
        }
        for (int s = 0; s < 2; s++)
            CHECK_EQ(psclient_version(r->pc, s), c);
    }
    CHECK_OK(psclient_pull(r->pc, 3));
    s_wait(r, got);
    s_check_values(r, got, want, r->floats, "pull after push only");
    /* Every send let go of the zero-copy gradient. */
    double deadline = psc_now() + 30; /* bounds a hang only */
    while (wire_buf_busy(grad) && psc_now() < deadline)
        poll(NULL, 0, 1);
    CHECK(!wire_buf_busy(grad));
    wire_buf_release(&grad);
    CHECK(grad == NULL);
    free(want);
    free(got);
}

/*
 * Sparse: repeated, unsorted keys over both shards; sums of repeats. The
 * rows the ps should hold are in r->table, from the seed at first.
 */
static void s_sparse(struct rig *r)
{
    float(*table)[WIDTH] = r->table;
    float rows[NKEYS * WIDTH];
    float g[NKEYS * WIDTH];
    CHECK_OK(psclient_sparse_pull(r->pc, s_keys, NKEYS, rows));
    s_wait(r, NULL);
    for (int i = 0; i < NKEYS; i++)
        s_check_values(r, rows + i * WIDTH, table[s_keys[i]], WIDTH,
                       "rows before pushing");
    for (int round = 1; round <= 2; round++) {
        for (int i = 0; i < NKEYS * WIDTH; i++)
            g[i] = 0.01f * (float) (round + i);
        /* The client sums a repeated key's rows in key order, then the
         * ps applies the sum once. */
        for (uint64_t k = 0; k < ROWS; k++) {
            for (int c = 0; c < WIDTH; c++) {
                float sum = 0;
                int seen = 0;
                for (int i = 0; i < NKEYS; i++) {
                    if (s_keys[i] != k)
                        continue;
                    sum = seen ? sum + g[i * WIDTH + c] : g[i * WIDTH + c];
                    seen = 1;
                }
                if (seen)
                    s_sgd(r, &table[k][c], sum);
            }
        }
        CHECK_OK(psclient_sparse_push(r->pc, s_keys, NKEYS, g,
                                      round == 1 ? rows : NULL));
        s_wait(r, NULL);
        if (round == 1) {
            for (int i = 0; i < NKEYS; i++)
                s_check_values(r, rows + i * WIDTH, table[s_keys[i]], WIDTH,
                               "sparse push + pull");
        }
    }
    CHECK_OK(psclient_sparse_pull(r->pc, s_keys, NKEYS, rows));
    s_wait(r, NULL);
    for (int i = 0; i < NKEYS; i++)
        s_check_values(r, rows + i * WIDTH, table[s_keys[i]], WIDTH,
                       "sparse pull");
}

/*
 * Sparse requests large enough to be shared among threads: MANY keys with
 * repeats, summed by the client in the order given, then applied once.
 */
static void s_sparse_many(struct rig *r)
{
    uint64_t *keys = malloc(MANY * sizeof *keys);
    float *g = malloc((size_t) MANY * WIDTH * sizeof *g);
    float *rows = malloc((size_t) MANY * WIDTH * sizeof *rows);
    float(*sum)[WIDTH] = calloc(ROWS, sizeof *sum);
    char *seen = calloc(ROWS, 1);
    CHECK(keys && g && rows && sum && seen);
    uint64_t x = 12345;
    for (size_t i = 0; i < MANY; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        keys[i] = (x >> 33) % ROWS;
        for (int c = 0; c < WIDTH; c++) {
            float v = 0.001f * (float) ((i + (size_t) c) % 13);
            g[i * WIDTH + c] = v;
            sum[keys[i]][c] = seen[keys[i]] ? sum[keys[i]][c] + v : v;
        }
        seen[keys[i]] = 1;
    }
    for (uint64_t k = 0; k < ROWS; k++) {
        for (int c = 0; c < WIDTH && seen[k]; c++)
            s_sgd(r, &r->table[k][c], sum[k][c]);
    }
    CHECK_OK(psclient_sparse_push(r->pc, keys, MANY, g, rows));
    s_wait(r, NULL);
    for (size_t i = 0; i < MANY; i++)
        s_check_values(r, rows + i * WIDTH, r->table[keys[i]], WIDTH,
                       "large sparse push + pull");
    memset(rows, 0, (size_t) MANY * WIDTH * sizeof *rows);
    CHECK_OK(psclient_sparse_pull(r->pc, keys, MANY, rows));
    s_wait(r, NULL);
    for (size_t i = 0; i < MANY; i++)
        s_check_values(r, rows + i * WIDTH, r->table[keys[i]], WIDTH,
                       "large sparse pull");
    free(keys);
    free(g);
    free(rows);
    free(sum);
    free(seen);
}

#define RAW_TASK "worker:1"

/* A DEALER to ps i, as worker:1, whose pushes nothing else sends. */
static void *s_raw(struct rig *r, int ps)
{
    char ep[64];
    int linger = 0;
    void *s = zmq_socket(r->zctx, ZMQ_DEALER);
    CHECK(s != NULL);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_ROUTING_ID, RAW_TASK, strlen(RAW_TASK));
    bench_cluster_endpoint(r->cl, ps, ep, sizeof ep);
    CHECK_OK(zmq_connect(s, ep));
    return s;
}

/* Sends a sparse push: keys, then count floats of rows, header width. */
static void s_sparse_send(void *sock, const uint64_t *keys, size_t n,
                          size_t count, uint32_t width)
{
    static float rows[64];
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__SPARSE_PUSH, RAW_TASK);
    h.width = width;
    h.flags = WIRE_WANT_PARAMS;
    struct wire_frame f[2] = {{keys, n * 8, n, NULL},
                              {rows, count * 4, count, NULL}};
    CHECK_OK(wire_send(sock, NULL, 0, &h, f, 2));
}

/* Sends a piece of a dense push: count floats from the shard's offset. */
static void s_piece_send(void *sock, uint64_t offset, size_t count,
                         uint32_t flags)
{
    static float values[64];
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__PUSH, RAW_TASK);
    h.flags = WIRE_WANT_PARAMS | WIRE_PIECE | flags;
    h.offset = offset;
    struct wire_frame f = {values, count * 4, count, NULL};
    CHECK_OK(wire_send(sock, NULL, 0, &h, &f, 1));
}

/* The next message on sock: ERROR whose text contains why. */
static void s_expect_error(void *sock, const char *why)
{
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    CHECK(zmq_poll(&item, 1, 5000) == 1);
    struct wire_counters c = {0, 0};
    wire_msg_t msg;
    CHECK_OK(wire_recv(sock, 0, &msg, &c, 0));
    CHECK_EQ(msg.hdr->type, PSC__MSG_TYPE__ERROR);
    CHECK_CONTAINS(msg.hdr->text, why);
    wire_msg_release(&msg);
}

/* Waits until ps i's PS_STATS count want refused or dropped messages. */
static void s_expect_rejected(struct rig *r, int ps, uint64_t want)
{
    double deadline = psc_now() + 30; /* bounds a hang only */
    while (bench_cluster_rejected(r->cl, ps) != want && psc_now() < deadline)
        poll(NULL, 0, 20);
    CHECK_EQ(bench_cluster_rejected(r->cl, ps), want);
}

/*
 * Pushes that do not match their header, or the table: the wire drops
 * the first kind, the ps refuses the second; each is counted, and the
 * table is unchanged (s_sparse() checks it afterwards).
 */
static void s_refused(struct rig *r)
{
    void *raw0 = s_raw(r, 0);
    uint64_t even[2] = {0, 2};
    uint64_t odd[1] = {1};
    uint64_t far[1] = {ROWS};
    /* Rows frame one float short of keys x width: dropped, no answer. */
    s_sparse_send(raw0, even, 2, 2 * WIDTH - 1, WIDTH);
    s_expect_rejected(r, 0, 1);
    /* Consistent, but the table's rows are 4 wide. */
    s_sparse_send(raw0, even, 2, 2 * 3, 3);
    s_expect_error(raw0, "width differs");
    s_sparse_send(raw0, odd, 1, WIDTH, WIDTH);
    s_expect_error(raw0, "another ps");
    s_sparse_send(raw0, far, 1, WIDTH, WIDTH);
    s_expect_error(raw0, "beyond the table");
    /* A dense push whose frames do not match its header: dropped. */
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__PUSH, RAW_TASK);
    float junk[8] = {0};
    struct wire_frame f = {junk, sizeof junk, 9, NULL};
    CHECK_OK(wire_send(raw0, NULL, 0, &h, &f, 1));
    s_expect_rejected(r, 0, 5);
    /* Pieces of a dense push: one that starts nothing, one past the shard. */
    size_t size = bench_cluster_placement(r->cl)->shards[0].size;
    s_piece_send(raw0, 8, 8, WIRE_MORE);
    s_expect_error(raw0, "out of order");
    s_piece_send(raw0, size - 4, 8, 0);
    s_expect_error(raw0, "within this shard");
    s_expect_rejected(r, 0, 7);
    CHECK_EQ(bench_cluster_rejected(r->cl, 1), 0);
    zmq_close(raw0);
}

/* Large shards: f32 pushes go in pieces, values exact all the same. */
static void s_f32_pieces(const char *ps)
{
    struct rig r;
    s_rig_start(&r, ps, 2, "f32", FLOATS_PIECES);
    const placement_t *pl = bench_cluster_placement(r.cl);
    for (int s = 0; s < 2; s++)
        CHECK(psclient_dense_pieces(bench_cluster_job(r.cl), &pl->shards[s]) >
              1);
    s_dense(&r);
    s_rig_stop(&r);
}

/* The same seed gives the same initial values on 1 ps as on 2. */
static void s_one_ps(const char *ps)
{
    struct rig r;
    s_rig_start(&r, ps, 1, "f32", FLOATS);
    float *got = calloc(FLOATS, sizeof(float));
    float row[NKEYS * WIDTH];
    CHECK(got != NULL);
    CHECK_OK(psclient_pull(r.pc, 0));
    s_wait(&r, got);
    for (size_t i = 0; i < FLOATS; i++)
        CHECK(got[i] == jobvars_init_value(42, JOBVARS_DENSE_VAR, i));
    CHECK_OK(psclient_sparse_pull(r.pc, s_keys, NKEYS, row));
    s_wait(&r, NULL);
    for (int i = 0; i < NKEYS; i++) {
        for (int c = 0; c < WIDTH; c++)
            CHECK(row[i * WIDTH + c] ==
                  jobvars_init_value(42, JOBVARS_SPARSE_VAR,
                                     s_keys[i] * WIDTH + (uint64_t) c));
    }
    free(got);
    s_rig_stop(&r);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-TO-psc-ps\n", argv[0]);
        return 2;
    }
    CHECK(access(argv[1], X_OK) == 0);
    double start = psc_now();
    static const char *const dtypes[] = {"f32", "f16"};
    for (int d = 0; d < 2; d++) {
        struct rig r;
        s_rig_start(&r, argv[1], 2, dtypes[d], FLOATS);
        const placement_t *pl = bench_cluster_placement(r.cl);
        CHECK(pl->shards[0].size > 0 && pl->shards[1].size > 0);
        /* f16 pushes go in pieces, f32 ones whole: both paths checked. */
        for (int s = 0; s < 2; s++)
            CHECK_EQ(psclient_dense_pieces(bench_cluster_job(r.cl),
                                           &pl->shards[s]) > 1,
                     d == 1);
        s_dense(&r);
        s_sparse(&r);
        s_sparse_many(&r);
        if (d == 0) {
            s_refused(&r);
            s_sparse(&r); /* the refused pushes changed nothing */
        }
        s_rig_stop(&r);
        printf("ok dense and sparse over 2 ps, %s\n", dtypes[d]);
    }
    s_f32_pieces(argv[1]);
    printf("ok dense f32 in pieces over 2 ps\n");
    s_one_ps(argv[1]);
    printf("ok initial values alike on 1 and 2 ps\n");
    printf("all bench paths passed in %.1f s\n", psc_now() - start);
    return 0;
}
