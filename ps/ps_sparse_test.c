/*
 * Unit test for the ps's sparse table: rows created on first push or pull
 * from jobvars_init_row(), row-wise Adagrad and per-row Adam after known
 * pushes (expected values worked out here from the update rules), keys
 * beyond 2^40, the admission filter, expiry, threaded pushes against one
 * thread, the table's bytes per row against the bound of issue 16, and a
 * checkpoint of a table (rows, Adam's slots and steps, last pushes,
 * admission counts, version) restored onto 2 ps, which then train on as
 * the saved table does. With an argument N, times the checkpoint of N
 * rows of width 8 with Adagrad (copy, write, restore) and prints it.
 */
#include "ps_sparse.h"

#include "ckpt_sparse.h"
#include "jobvars.h"
#include "pool.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_time.h"
#include "test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Floats equal to the bit (CHECK_EQ compares integers). */
#define CHECK_FEQ(a, b) CHECK_NEAR(a, b, 0.0)

static struct job *s_job(const char *const *sets, int n)
{
    char err[PSC_ERR_LEN] = "";
    struct job *job = job_new(NULL, sets, n, err);
    if (job == NULL)
        fprintf(stderr, "job: %s\n", err);
    CHECK(job != NULL);
    return job;
}

static void s_row(ps_sparse_t *t, uint64_t key, float *row)
{
    ps_sparse_gather(t, &key, 1, row, 0);
}

/* Row-wise Adagrad: one accumulator a per row, a += mean(g^2). */
static void test_adagrad(void)
{
    static const char *const sets[] = {
        "model=bench",       "bench.sparse_rows=1000", "sparse.width=4",
        "optimizer=adagrad", "learning_rate=0.5",      "adagrad_initial=0.1"};
    struct job *job = s_job(sets, 6);
    ps_sparse_t *t = ps_sparse_new(job, 0, 1, NULL);
    CHECK(t != NULL);
    CHECK_EQ(ps_sparse_rows(t), 0);
    float w[4];
    jobvars_init_row(job, 7, w);
    const float g1[4] = {1, 2, 3, 4};  /* mean g^2 = 30 / 4 = 7.5 */
    const float g2[4] = {-1, 0, 1, 2}; /* mean g^2 = 6 / 4 = 1.5 */
    uint64_t key = 7;
    float reply[4];
    ps_sparse_push(t, &key, 1, g1, 0, reply, 0, 1);
    ps_sparse_push(t, &key, 1, g2, 0, NULL, 0, 1);
    CHECK_EQ(ps_sparse_rows(t), 1);
    CHECK_EQ(ps_sparse_version(t), 2);
    float step1 = 0.5f / (sqrtf(0.1f + 7.5f) + 1e-7f);
    float step2 = 0.5f / (sqrtf(0.1f + 7.5f + 1.5f) + 1e-7f);
    float got[4];
    s_row(t, 7, got);
    for (int k = 0; k < 4; k++) {
        CHECK_NEAR(reply[k], w[k] - step1 * g1[k], 1e-6);
        CHECK_NEAR(got[k], w[k] - step1 * g1[k] - step2 * g2[k], 1e-6);
    }
    ps_sparse_destroy(&t);
    job_destroy(&job);
}

/* One Adam step at the row's own count t on element w with slots m, v. */
static float s_adam(float w, float *m, float *v, float g, int t)
{
    const double b1 = 0.9;
    const double b2 = 0.999;
    *m = (float) (b1 * *m + (1 - b1) * g);
    *v = (float) (b2 * *v + (1 - b2) * g * g);
    double lr_t = 0.1 * sqrt(1 - pow(b2, t)) / (1 - pow(b1, t));
    return (float) (w - lr_t * *m / (sqrt(*v) + 1e-7));
}

/* Adam's bias correction counts the row's pushes, not the table's. */
static void test_adam(void)
{
    static const char *const sets[] = {"model=bench", "bench.sparse_rows=1000",
                                       "sparse.width=2", "optimizer=adam",
                                       "learning_rate=0.1"};
    struct job *job = s_job(sets, 5);
    ps_sparse_t *t = ps_sparse_new(job, 0, 1, NULL);
    float w3[2];
    float w5[2];
    jobvars_init_row(job, 3, w3);
    jobvars_init_row(job, 5, w5);
    uint64_t k3 = 3;
    uint64_t k5 = 5;
    const float ga[2] = {1, -2};
    const float gb[2] = {0.5f, 0.5f};
    const float gc[2] = {2, 1};
    ps_sparse_push(t, &k3, 1, ga, 0, NULL, 0, 1);
    ps_sparse_push(t, &k5, 1, gb, 0, NULL, 0, 1);
    ps_sparse_push(t, &k5, 1, gb, 0, NULL, 0, 1);
    ps_sparse_push(t, &k3, 1, gc, 0, NULL, 0, 1);
    CHECK_EQ(ps_sparse_version(t), 4);
    CHECK_EQ(ps_sparse_rows(t), 2);
    float got[2];
    s_row(t, 3, got);
    for (int k = 0; k < 2; k++) {
        float m = 0;
        float v = 0;
        float x = s_adam(w3[k], &m, &v, ga[k], 1);
        x = s_adam(x, &m, &v, gc[k], 2); /* step 2 of row 3, version 4 */
        CHECK_NEAR(got[k], x, 1e-6);
    }
    s_row(t, 5, got);
    for (int k = 0; k < 2; k++) {
        float m = 0;
        float v = 0;
        float x = s_adam(w5[k], &m, &v, gb[k], 1);
        x = s_adam(x, &m, &v, gb[k], 2);
        CHECK_NEAR(got[k], x, 1e-6);
    }
    ps_sparse_destroy(&t);
    job_destroy(&job);
}

/* A pull creates rows from jobvars_init_row(); ps_sparse_init drops them. */
static void test_pull_creates(void)
{
    static const char *const sets[] = {"model=bench", "bench.sparse_rows=1000",
                                       "sparse.width=8", "optimizer=sgd"};
    struct job *job = s_job(sets, 4);
    ps_sparse_t *t = ps_sparse_new(job, 1, 2, NULL);
    const uint64_t keys[3] = {11, 901, 11};
    CHECK(ps_sparse_check(t, keys, 3) == NULL);
    const uint64_t far = 1001;
    CHECK(ps_sparse_check(t, &far, 1) != NULL);
    const uint64_t other = 10;
    CHECK(ps_sparse_check(t, &other, 1) != NULL);
    float got[3 * 8];
    float want[8];
    ps_sparse_gather(t, keys, 3, got, 0);
    CHECK_EQ(ps_sparse_rows(t), 2);
    for (int i = 0; i < 3; i++) {
        jobvars_init_row(job, keys[i], want);
        for (int k = 0; k < 8; k++)
            CHECK_FEQ(got[i * 8 + k], want[k]);
    }
    ps_sparse_init(t);
    CHECK_EQ(ps_sparse_rows(t), 0);
    ps_sparse_destroy(&t);
    job_destroy(&job);
}

/* sparse_lr with data.hash_buckets=0: any 64-bit key names a row. */
static void test_any_key(void)
{
    static const char *const sets[] = {"model=sparse_lr", "data.format=synth",
                                       "data.hash_buckets=0", "optimizer=sgd",
                                       "learning_rate=0.25"};
    struct job *job = s_job(sets, 5);
    CHECK(jobvars_sparse_rows(job) == JOBVARS_ANY_KEY);
    ps_sparse_t *t = ps_sparse_new(job, 1, 2, NULL);
    CHECK_EQ(ps_sparse_width(t), 1);
    const uint64_t keys[3] = {((uint64_t) 1 << 41) + 1, UINT64_MAX,
                              ((uint64_t) 1 << 62) + 3};
    CHECK(ps_sparse_check(t, keys, 3) == NULL);
    const uint64_t even = (uint64_t) 1 << 41;
    CHECK(ps_sparse_check(t, &even, 1) != NULL);
    const float g[3] = {1, 2, -4};
    ps_sparse_push(t, keys, 3, g, 0, NULL, 0, 1);
    float got[3];
    ps_sparse_gather(t, keys, 3, got, 0);
    CHECK_EQ(ps_sparse_rows(t), 3);
    for (int i = 0; i < 3; i++)
        CHECK_FEQ(got[i], -0.25f * g[i]); /* rows start at zero */
    ps_sparse_destroy(&t);
    job_destroy(&job);
}

/* embedding_mlp: rows of sparse.width floats for any key, made from the
 * seed and the key alone (not zero), so any number of ps starts alike. */
static void test_embedding_rows(void)
{
    static const char *const sets[] = {"model=embedding_mlp",
                                       "data.format=synth", "sparse.width=16",
                                       "optimizer=adagrad"};
    struct job *job = s_job(sets, 4);
    CHECK(jobvars_is_sparse_model(job));
    CHECK(jobvars_sparse_rows(job) == JOBVARS_ANY_KEY);
    ps_sparse_t *one = ps_sparse_new(job, 0, 1, NULL);
    ps_sparse_t *third = ps_sparse_new(job, 2, 3, NULL);
    CHECK_EQ(ps_sparse_width(one), 16);
    uint64_t key = (uint64_t) 1 << 40; /* the first of shard 2 of 3 */
    while (ps_sparse_check(third, &key, 1) != NULL)
        key++;
    float a[16], b[16], want[16];
    ps_sparse_gather(one, &key, 1, a, 0);
    ps_sparse_gather(third, &key, 1, b, 0);
    jobvars_init_row(job, key, want);
    int nonzero = 0;
    for (int k = 0; k < 16; k++) {
        CHECK_FEQ(a[k], want[k]);
        CHECK_FEQ(b[k], want[k]);
        nonzero += want[k] != 0.0f;
    }
    CHECK(nonzero > 12);
    ps_sparse_destroy(&one);
    ps_sparse_destroy(&third);
    job_destroy(&job);
}

/* min_count=3: pushes 1 and 2 are counted only; the 3rd creates the row
 * and is applied. Pulls meanwhile read the initial value. */
static void test_admission(void)
{
    static const char *const sets[] = {
        "model=bench",   "bench.sparse_rows=1000", "sparse.width=4",
        "optimizer=sgd", "learning_rate=0.5",      "sparse.min_count=3"};
    struct job *job = s_job(sets, 6);
    ps_sparse_t *t = ps_sparse_new(job, 0, 1, NULL);
    float init[4];
    jobvars_init_row(job, 42, init);
    const uint64_t key = 42;
    const float g[4] = {1, 1, 1, 1};
    float got[4];
    for (int push = 1; push <= 2; push++) {
        ps_sparse_push(t, &key, 1, g, 0, got, 0, 1);
        CHECK_EQ(ps_sparse_rows(t), 0);
        CHECK_FEQ(got[0], init[0]);
        s_row(t, 42, got);
        CHECK_EQ(ps_sparse_rows(t), 0);
        for (int k = 0; k < 4; k++)
            CHECK_FEQ(got[k], init[k]);
    }
    ps_sparse_push(t, &key, 1, g, 0, NULL, 0, 1);
    CHECK_EQ(ps_sparse_rows(t), 1);
    s_row(t, 42, got);
    for (int k = 0; k < 4; k++)
        CHECK_FEQ(got[k], init[k] - 0.5f);
    /* A key named three times in one push is let in by it. */
    const uint64_t thrice[3] = {7, 7, 7};
    const float g3[12] = {0};
    ps_sparse_push(t, thrice, 3, g3, 0, NULL, 0, 1);
    CHECK_EQ(ps_sparse_rows(t), 2);
    ps_sparse_destroy(&t);
    job_destroy(&job);
}

/* expire_steps=4: a row not pushed for 4 updates goes within 6. */
static void test_expiry(void)
{
    static const char *const sets[] = {"model=bench", "bench.sparse_rows=1000",
                                       "sparse.width=4", "optimizer=adam",
                                       "sparse.expire_steps=4"};
    struct job *job = s_job(sets, 5);
    ps_sparse_t *t = ps_sparse_new(job, 0, 1, NULL);
    const uint64_t some[3] = {1, 2, 3};
    const uint64_t kept = 9;
    float g[3 * 4] = {0.5f, 0.5f, 0.5f, 0.5f, 1, 1, 1, 1, 2, 2, 2, 2};
    ps_sparse_push(t, some, 3, g, 0, NULL, 0, 1);
    CHECK_EQ(ps_sparse_rows(t), 3);
    for (int i = 0; i < 3; i++) {
        ps_sparse_push(t, &kept, 1, g, 0, NULL, 0, 1);
        CHECK_EQ(ps_sparse_rows(t), 4); /* ages 1..3: kept */
    }
    for (int i = 0; i < 3; i++)
        ps_sparse_push(t, &kept, 1, g, 0, NULL, 0, 1);
    CHECK_EQ(ps_sparse_version(t), 7);
    CHECK_EQ(ps_sparse_rows(t), 1);
    /* Row 9 survived the moves: its Adam state is intact. */
    float got[4];
    s_row(t, 9, got);
    float w[4];
    jobvars_init_row(job, 9, w);
    CHECK(got[0] < w[0]);
    /* A dropped row comes back from its initial value. */
    s_row(t, 2, got);
    jobvars_init_row(job, 2, w);
    CHECK_FEQ(got[0], w[0]);
    CHECK_EQ(ps_sparse_rows(t), 2);
    ps_sparse_destroy(&t);
    job_destroy(&job);
}

/* A push shared among threads, rows created first, gives the same rows. */
static void test_threads(void)
{
    static const char *const sets[] = {
        "model=bench", "bench.sparse_rows=100000", "sparse.width=8",
        "optimizer=adagrad", "learning_rate=0.1"};
    struct job *job = s_job(sets, 5);
    pool_t *pool = pool_new(2);
    ps_sparse_t *one = ps_sparse_new(job, 0, 1, NULL);
    ps_sparse_t *two = ps_sparse_new(job, 0, 1, pool);
    size_t n = 20000;
    uint64_t *keys = malloc(n * sizeof *keys);
    float *g = malloc(n * 8 * sizeof *g);
    float *a = malloc(n * 8 * sizeof *a);
    float *b = malloc(n * 8 * sizeof *b);
    for (size_t i = 0; i < n; i++)
        keys[i] = i * 5 + 1;
    for (size_t i = 0; i < n * 8; i++)
        g[i] = (float) (i % 7) - 3.0f;
    for (int round = 0; round < 2; round++) {
        ps_sparse_push(one, keys, n, g, 0, a, 0, 1);
        ps_sparse_push(two, keys, n, g, 0, b, 0, 1);
    }
    CHECK_EQ(ps_sparse_rows(two), n);
    for (size_t i = 0; i < n * 8; i++)
        CHECK(a[i] == b[i]);
    free(keys);
    free(g);
    free(a);
    free(b);
    ps_sparse_destroy(&one);
    ps_sparse_destroy(&two);
    pool_destroy(&pool);
    job_destroy(&job);
}

/*
 * Bytes per row after 200 000 rows (the index just doubled: its load near
 * its lowest, 0.38) against 1.25 x (width x 4 x (1 + slots) + 8).
 * Returns the ratio to the bound.
 */
static double s_bytes_per_row(const char *optimizer, int width, int slots,
                              const char *expire)
{
    char opt[64];
    char wid[64];
    snprintf(opt, sizeof opt, "optimizer=%s", optimizer);
    snprintf(wid, sizeof wid, "sparse.width=%d", width);
    const char *sets[] = {"model=bench", "bench.sparse_rows=10000000", opt, wid,
                          expire};
    struct job *job = s_job(sets, 5);
    ps_sparse_t *t = ps_sparse_new(job, 0, 1, NULL);
    size_t batch = 10000;
    uint64_t *keys = malloc(batch * sizeof *keys);
    float *g = calloc(batch * (size_t) width, sizeof *g);
    for (size_t r = 0; r < 200000; r += batch) {
        for (size_t i = 0; i < batch; i++)
            keys[i] = (r + i) * 37 + 11;
        ps_sparse_push(t, keys, batch, g, 0, NULL, 0, 1);
    }
    CHECK_EQ(ps_sparse_rows(t), 200000);
    double per = (double) ps_sparse_bytes(t) / (double) ps_sparse_rows(t);
    double bound = 1.25 * (width * 4.0 * (1 + slots) + 8);
    printf("%-8s width %2d %s: %.1f bytes per row, bound %.1f (%.2f)\n",
           optimizer, width, expire, per, bound, per / bound);
    free(keys);
    free(g);
    ps_sparse_destroy(&t);
    job_destroy(&job);
    return per / bound;
}

static void test_bytes_per_row(void)
{
    CHECK(s_bytes_per_row("sgd", 64, 0, "sparse.expire_steps=0") <= 1.0);
    CHECK(s_bytes_per_row("sgd", 64, 0, "sparse.expire_steps=100") <= 1.0);
    CHECK(s_bytes_per_row("adagrad", 64, 1, "sparse.expire_steps=0") <= 1.0);
    CHECK(s_bytes_per_row("adam", 64, 2, "sparse.expire_steps=100") <= 1.0);
    CHECK(s_bytes_per_row("momentum", 16, 1, "sparse.expire_steps=0") <= 1.0);
    /* The case: 8-wide rows with Adagrad (its bound counts a slot
     * per element; row-wise Adagrad keeps one float a row). */
    CHECK(s_bytes_per_row("adagrad", 8, 1, "sparse.expire_steps=0") <= 1.0);
    /* Narrow rows: the index's 8 bytes at load 0.38-0.75 weigh more than
     * a quarter of the row; printed, not checked. */
    s_bytes_per_row("sgd", 8, 0, "sparse.expire_steps=0");
    s_bytes_per_row("sgd", 1, 0, "sparse.expire_steps=0");
}

/* Writes t's snapshot as sparse file 0 of 1 into dir. */
static void s_save(const ps_sparse_t *t, const char *dir, struct ckpt_file *f)
{
    char err[PSC_ERR_LEN] = "";
    struct ckpt_sparse_data d = {
        .shard = 0,
        .nps = 1,
        .width = (uint32_t) ps_sparse_width(t),
        .slot_floats = (uint32_t) ps_sparse_slot_floats(t),
        .version = ps_sparse_version(t),
        .sweep_at = ps_sparse_sweep_at(t),
        .rows = ps_sparse_rows(t),
        .npending = ps_sparse_pending(t),
    };
    size_t rec = ckpt_sparse_record_bytes(d.width, d.slot_floats);
    uint8_t *records = psc_xmalloc(d.rows * rec + 1);
    uint8_t *pending = psc_xmalloc(d.npending * CKPT_SPARSE_PENDING_BYTES + 1);
    ps_sparse_snapshot(t, records, pending);
    d.records = records;
    d.pending = pending;
    int rc = ckpt_write_sparse(dir, &d, f, err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    CHECK_OK(rc);
    free(records);
    free(pending);
}

static void s_restore_row(void *arg, const struct ckpt_sparse_row *r)
{
    ps_sparse_restore_row(arg, r);
}

static void s_restore_count(void *arg, uint64_t key, uint32_t count)
{
    ps_sparse_restore_count(arg, key, count);
}

/* t (shard of nps) from the file f of dir. */
static void s_load(ps_sparse_t *t, const char *dir, const struct ckpt_file *f)
{
    char err[PSC_ERR_LEN] = "";
    struct ckpt_sparse_header h;
    ps_sparse_init(t);
    /* At most the file's rows, as the ps reserves for its part. */
    size_t rec = ckpt_sparse_record_bytes((uint32_t) ps_sparse_width(t),
                                          (uint32_t) ps_sparse_slot_floats(t));
    ps_sparse_reserve(t, (size_t) (f->bytes / rec));
    int rc = ckpt_sparse_read(dir, f, 0, 1, (uint32_t) ps_sparse_width(t), &h,
                              s_restore_row, s_restore_count, t, err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    CHECK_OK(rc);
    ps_sparse_restore_done(t, h.version, h.sweep_at);
}

static char *s_tmpdir(void)
{
    char tmpl[] = "/tmp/psc-sparse-ckpt-XXXXXX";
    CHECK(mkdtemp(tmpl) != NULL);
    return psc_xstrdup(tmpl);
}

static void s_rm(const char *dir, const struct ckpt_file *f)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, f->name);
    unlink(path);
    rmdir(dir);
}

/* Pushes g to every key of keys on the ps of nps that holds it. */
static void s_push_all(ps_sparse_t **t, int nps, const uint64_t *keys, size_t n,
                       const float *g)
{
    for (int s = 0; s < nps; s++) {
        for (size_t i = 0; i < n; i++) {
            if (jobvars_sparse_shard(keys[i], nps) == s)
                ps_sparse_push(t[s], &keys[i], 1, g, 0, NULL, 0, 0);
        }
        ps_sparse_push(t[s], NULL, 0, NULL, 0, NULL, 0, 1);
    }
}

/* Adam (slots, per-row steps), expiry (last pushes), admission counts:
 * saved on 1 ps, restored onto 2, the tables train on alike. */
static void test_checkpoint(void)
{
    static const char *const sets[] = {
        "model=bench",           "bench.sparse_rows=1000", "sparse.width=3",
        "optimizer=adam",        "learning_rate=0.1",      "sparse.min_count=2",
        "sparse.expire_steps=50"};
    struct job *job = s_job(sets, 7);
    ps_sparse_t *one[1] = {ps_sparse_new(job, 0, 1, NULL)};
    ps_sparse_t *two[2] = {ps_sparse_new(job, 0, 2, NULL),
                           ps_sparse_new(job, 1, 2, NULL)};
    uint64_t keys[40];
    for (int i = 0; i < 40; i++)
        keys[i] = (uint64_t) i * 7;
    const float g[3] = {0.5f, -1.0f, 2.0f};
    /* Keys 0..29 pushed twice and then more (admitted, Adam steps differ);
     * keys 30..39 once (counted only). */
    s_push_all(one, 1, keys, 40, g);
    s_push_all(one, 1, keys, 30, g);
    for (int k = 0; k < 10; k++)
        s_push_all(one, 1, keys, (size_t) k, g);
    CHECK_EQ(ps_sparse_rows(one[0]), 30);
    CHECK_EQ(ps_sparse_pending(one[0]), 10);
    char *dir = s_tmpdir();
    struct ckpt_file f;
    s_save(one[0], dir, &f);
    s_load(two[0], dir, &f);
    s_load(two[1], dir, &f);
    CHECK_EQ(ps_sparse_rows(two[0]) + ps_sparse_rows(two[1]), 30);
    CHECK_EQ(ps_sparse_pending(two[0]) + ps_sparse_pending(two[1]), 10);
    CHECK_EQ(ps_sparse_version(two[1]), ps_sparse_version(one[0]));
    /* The same pushes on both: a second push of keys 30..39 admits them. */
    s_push_all(one, 1, keys, 40, g);
    s_push_all(two, 2, keys, 40, g);
    CHECK_EQ(ps_sparse_rows(one[0]), 40);
    CHECK_EQ(ps_sparse_rows(two[0]) + ps_sparse_rows(two[1]), 40);
    for (int i = 0; i < 40; i++) {
        float a[3];
        float b[3];
        s_row(one[0], keys[i], a);
        s_row(two[jobvars_sparse_shard(keys[i], 2)], keys[i], b);
        for (int j = 0; j < 3; j++)
            CHECK_FEQ(a[j], b[j]);
    }
    s_rm(dir, &f);
    free(dir);
    ps_sparse_destroy(&one[0]);
    ps_sparse_destroy(&two[0]);
    ps_sparse_destroy(&two[1]);
    job_destroy(&job);
}

/* The figures of a checkpoint of rows rows, width 8, Adagrad. */
static void s_figures(long rows)
{
    static const char *const sets[] = {"model=bench", "bench.sparse_rows=0",
                                       "sparse.width=8", "optimizer=adagrad"};
    char row_set[64];
    snprintf(row_set, sizeof row_set, "bench.sparse_rows=%ld", rows);
    const char *mine[4] = {sets[0], row_set, sets[2], sets[3]};
    struct job *job = s_job(mine, 4);
    ps_sparse_t *t = ps_sparse_new(job, 0, 1, NULL);
    float g[8 * 1024];
    uint64_t keys[1024];
    for (int j = 0; j < 8 * 1024; j++)
        g[j] = 0.01f * (float) (j % 7);
    for (long k = 0; k < rows; k += 1024) {
        size_t n = (size_t) (rows - k < 1024 ? rows - k : 1024);
        for (size_t i = 0; i < n; i++)
            keys[i] = (uint64_t) k + i;
        ps_sparse_push(t, keys, n, g, 0, NULL, 0, 1);
    }
    size_t rec = ckpt_sparse_record_bytes(8, 1);
    uint8_t *records = psc_xmalloc((size_t) rows * rec);
    uint8_t *pending = psc_xmalloc(1);
    double t0 = psc_now();
    ps_sparse_snapshot(t, records, pending);
    double copy_s = psc_now() - t0;
    free(records);
    free(pending);
    char *dir = s_tmpdir();
    struct ckpt_file f;
    t0 = psc_now();
    s_save(t, dir, &f);
    double write_s = psc_now() - t0 - copy_s;
    ps_sparse_t *back = ps_sparse_new(job, 0, 1, NULL);
    t0 = psc_now();
    s_load(back, dir, &f);
    double read_s = psc_now() - t0;
    CHECK_EQ(ps_sparse_rows(back), (size_t) rows);
    printf("checkpoint of %ld rows, width 8, adagrad: %.1f bytes/row on disk "
           "(%llu bytes), table %.1f bytes/row in memory; copy %.1f ms "
           "(the pause), write+fsync %.1f ms, restore %.1f ms\n",
           rows, (double) f.bytes / (double) rows, (unsigned long long) f.bytes,
           (double) ps_sparse_bytes(t) / (double) rows, copy_s * 1e3,
           write_s * 1e3, read_s * 1e3);
    s_rm(dir, &f);
    free(dir);
    ps_sparse_destroy(&t);
    ps_sparse_destroy(&back);
    job_destroy(&job);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        s_figures(strtol(argv[1], NULL, 10));
        return 0;
    }
    test_checkpoint();
    test_adagrad();
    test_adam();
    test_pull_creates();
    test_any_key();
    test_embedding_rows();
    test_admission();
    test_expiry();
    test_threads();
    test_bytes_per_row();
    return 0;
}
