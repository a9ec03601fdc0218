/*
 * Tests for the sparse table files: records and counts encoded and decoded
 * field for field, a file of two tables written, listed in a manifest,
 * verified and read back row for row (keys, values, slots, stamps, steps,
 * admission counts, version), and a flipped byte, a truncated file and a
 * header of another table each refused.
 */
#include "ckpt_sparse.h"

#include "ckpt_fixture.h"
#include "ckpt_manifest.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define W     5
#define SLOTS 5


/* a and b hold the same n floats, to the bit (no NaN here). */
static int same(const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i])
            return 0;
    }
    return 1;
}

static void fill_row(struct ckpt_sparse_row *r, uint64_t key, float *v,
                     float *sl)
{
    r->key = key;
    r->stamp = (uint32_t) (key * 7 + 1);
    r->steps = (uint32_t) (key % 13);
    r->values = v;
    r->slots = sl;
    for (int j = 0; j < W; j++)
        v[j] = (float) key * 0.25f + (float) j;
    for (int j = 0; j < SLOTS; j++)
        sl[j] = (float) key * -0.5f - (float) j;
}

static void test_encode_decode(void)
{
    float v[W] = {0};
    float sl[SLOTS] = {0};
    float v2[W] = {0};
    float sl2[SLOTS] = {0};
    struct ckpt_sparse_row r;
    struct ckpt_sparse_row back = {.values = v2, .slots = sl2};
    size_t rec = ckpt_sparse_record_bytes(W, SLOTS);
    CHECK_EQ(rec, (size_t) (16 + 4 * (W + SLOTS)));
    uint8_t *buf = psc_xmalloc(rec + 1);
    fill_row(&r, 0x0123456789abcdefULL, v, sl);
    /* Any alignment. */
    ckpt_sparse_encode_row(buf + 1, &r, W, SLOTS);
    ckpt_sparse_decode_row(buf + 1, &back, W, SLOTS);
    CHECK_EQ(back.key, r.key);
    CHECK_EQ(back.stamp, r.stamp);
    CHECK_EQ(back.steps, r.steps);
    CHECK(same(v, v2, W));
    CHECK(same(sl, sl2, SLOTS));
    /* Without slots (SGD), the record is key, stamp, steps and values. */
    CHECK_EQ(ckpt_sparse_record_bytes(1, 0), (size_t) 20);
    uint8_t cnt[CKPT_SPARSE_PENDING_BYTES];
    uint64_t key = 0;
    uint32_t count = 0;
    ckpt_sparse_encode_count(cnt, 42, 3);
    ckpt_sparse_decode_count(cnt, &key, &count);
    CHECK_EQ(key, (uint64_t) 42);
    CHECK_EQ(count, (uint32_t) 3);
    free(buf);
}

/* What a read saw. */
struct seen {
    uint64_t rows;
    uint64_t counts;
    int bad;
};

static void on_row(void *arg, const struct ckpt_sparse_row *r)
{
    struct seen *s = arg;
    float v[W] = {0};
    float sl[SLOTS] = {0};
    struct ckpt_sparse_row want;
    fill_row(&want, r->key, v, sl);
    if (r->stamp != want.stamp || r->steps != want.steps ||
        !same(r->values, v, W) || !same(r->slots, sl, SLOTS))
        s->bad++;
    s->rows++;
}

static void on_count(void *arg, uint64_t key, uint32_t count)
{
    struct seen *s = arg;
    if (count != (uint32_t) (key % 5 + 1))
        s->bad++;
    s->counts++;
}

/* Table shard of 2: keys shard, shard + 2, ... as a ps holds them. */
static void write_table(const char *dir, int shard, uint64_t rows,
                        uint64_t npending, struct ckpt_file *f)
{
    char err[PSC_ERR_LEN] = "";
    size_t rec = ckpt_sparse_record_bytes(W, SLOTS);
    uint8_t *records = psc_xmalloc(rows * rec + 1);
    uint8_t *pending = psc_xmalloc(npending * CKPT_SPARSE_PENDING_BYTES + 1);
    for (uint64_t i = 0; i < rows; i++) {
        float v[W];
        float sl[SLOTS];
        struct ckpt_sparse_row r;
        fill_row(&r, i * 2 + (uint64_t) shard, v, sl);
        ckpt_sparse_encode_row(records + i * rec, &r, W, SLOTS);
    }
    for (uint64_t i = 0; i < npending; i++) {
        uint64_t key = 1000000 + i * 2 + (uint64_t) shard;
        ckpt_sparse_encode_count(pending + i * CKPT_SPARSE_PENDING_BYTES, key,
                                 (uint32_t) (key % 5 + 1));
    }
    struct ckpt_sparse_data d = {
        .shard = shard,
        .nps = 2,
        .width = W,
        .slot_floats = SLOTS,
        .version = 77,
        .rows = rows,
        .records = records,
        .npending = npending,
        .pending = pending,
    };
    int rc = ckpt_write_sparse(dir, &d, f, err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    CHECK_OK(rc);
    CHECK_EQ(f->bytes, ckpt_sparse_file_bytes(W, SLOTS, rows, npending));
    free(records);
    free(pending);
}

/* A dense checkpoint with the two tables' files listed in its manifest. */
static void save_with_tables(const char *tmp, char *dir, uint64_t rows[2])
{
    char err[PSC_ERR_LEN] = "";
    struct fx_model fm = fx_model_mlp();
    float *flat[1] = {fx_values(fm.total, 1)};
    fx_save(tmp, 5, &fm, 2, 1, flat, 1, dir);
    free(flat[0]);
    struct ckpt_manifest m;
    CHECK_OK(ckpt_manifest_read(dir, &m, err));
    m.sparse.width = W;
    m.sparse.slot_floats = SLOTS;
    m.sparse.nfiles = 2;
    m.sparse.files = psc_xcalloc(2, sizeof *m.sparse.files);
    m.sparse.file_rows = psc_xcalloc(2, sizeof *m.sparse.file_rows);
    m.sparse.file_pending = psc_xcalloc(2, sizeof *m.sparse.file_pending);
    for (int s = 0; s < 2; s++) {
        write_table(dir, s, rows[s], 10, &m.sparse.files[s]);
        m.sparse.file_rows[s] = rows[s];
        m.sparse.file_pending[s] = 10;
        m.sparse.rows += rows[s];
    }
    CHECK_OK(ckpt_manifest_write(dir, &m, err));
    ckpt_manifest_release(&m);
}

static void test_files(void)
{
    char *tmp = fx_tmpdir();
    char dir[4096];
    char err[PSC_ERR_LEN] = "";
    /* One table large enough to span several read chunks, one empty. */
    uint64_t rows[2] = {200000, 0};
    save_with_tables(tmp, dir, rows);
    CHECK_OK(ckpt_verify(dir, err));
    struct ckpt_manifest m;
    CHECK_OK(ckpt_manifest_read(dir, &m, err));
    CHECK_EQ(m.sparse.nfiles, 2);
    CHECK_EQ(m.sparse.rows, (uint64_t) 200000);
    CHECK_STR(m.sparse.files[1].name, "sparse-1-of-2");
    for (int s = 0; s < 2; s++) {
        struct seen seen = {0};
        struct ckpt_sparse_header h;
        CHECK_OK(ckpt_sparse_read(dir, &m.sparse.files[s], s, 2, W, &h, on_row,
                                  on_count, &seen, err));
        CHECK_EQ(seen.rows, rows[s]);
        CHECK_EQ(seen.counts, (uint64_t) 10);
        CHECK_EQ(seen.bad, 0);
        CHECK_EQ(h.version, (uint64_t) 77);
        CHECK_EQ(h.slot_floats, (uint32_t) SLOTS);
    }
    /* Another width than the job's is refused by its header. */
    CHECK_EQ(
        ckpt_sparse_check(dir, &m.sparse.files[0], 0, 2, W + 1, 0, NULL, err),
        PSC_EPROTO);

    char path[4200];
    snprintf(path, sizeof path, "%s/sparse-0-of-2", dir);
    fx_flip(path, 64 + 1000);
    CHECK_EQ(ckpt_verify(dir, err), PSC_ECHECKSUM);
    CHECK_CONTAINS(err, "sparse-0-of-2");
    CHECK_OK(ckpt_check_complete(dir, err));
    fx_flip(path, 64 + 1000);
    CHECK_OK(ckpt_verify(dir, err));
    CHECK_OK(truncate(path, 1000));
    CHECK_EQ(ckpt_verify(dir, err), PSC_EIO);
    CHECK_CONTAINS(err, "truncated");
    CHECK_OK(unlink(path));
    CHECK_EQ(ckpt_verify(dir, err), PSC_ENOTFOUND);
    ckpt_manifest_release(&m);
    fx_rmtree(tmp);
    free(tmp);
}

int main(void)
{
    test_encode_decode();
    test_files();
    printf("ckpt_sparse: ok\n");
    return 0;
}
