/*
 * Tests for the shard files and the reader: a round trip with one and
 * three arrays, a checkpoint re-cut from 1 ps to 3 and then to 2 with
 * placement_new giving the same floats, and ckpt_verify() catching a
 * flipped byte, a truncated file and a missing shard.
 */
#include "ckpt.h"

#include "ckpt_fixture.h"
#include "placement.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void check_reads(ckpt_reader_t *r, int narrays, float *const *flat,
                        size_t total)
{
    char err[PSC_ERR_LEN] = "";
    float *got = psc_xmalloc(total * sizeof *got);
    for (int a = 0; a < narrays; a++) {
        memset(got, 0, total * sizeof *got);
        CHECK_OK(ckpt_reader_read(r, a, 0, total, got, err));
        CHECK(memcmp(got, flat[a], total * sizeof *got) == 0);
        /* Ranges across slice and shard boundaries, one element, none. */
        for (size_t first = 0; first < total; first += 37) {
            size_t count = total - first < 101 ? total - first : 101;
            CHECK_OK(ckpt_reader_read(r, a, first, count, got, err));
            CHECK(memcmp(got, flat[a] + first, count * sizeof *got) == 0);
        }
        CHECK_OK(ckpt_reader_read(r, a, total - 1, 1, got, err));
        CHECK(got[0] == flat[a][total - 1]);
        CHECK_OK(ckpt_reader_read(r, a, total, 0, got, err));
    }
    free(got);
}

static void test_round_trip(void)
{
    char *tmp = fx_tmpdir();
    char err[PSC_ERR_LEN] = "";
    char dir[4096];
    struct fx_model fm = fx_model_mlp();
    float *flat[3];
    for (int a = 0; a < 3; a++)
        flat[a] = fx_values(fm.total, a + 1);

    for (int narrays = 1; narrays <= 3; narrays += 2) {
        uint64_t step = (uint64_t) narrays * 100;
        fx_save(tmp, step, &fm, 2, narrays, flat, 1, dir);
        CHECK_OK(ckpt_verify(dir, err));
        CHECK_OK(ckpt_check_complete(dir, err));
        ckpt_reader_t *r = ckpt_reader_open(dir, err);
        CHECK(r != NULL);
        CHECK_EQ(ckpt_reader_version(r), step * 10);
        const struct ckpt_manifest *m = ckpt_reader_manifest(r);
        CHECK_EQ(m->step, step);
        CHECK_EQ(m->narrays, narrays);
        CHECK_EQ(m->nps, 2);
        CHECK_EQ(m->nvars, fm.nvars);
        CHECK_STR(m->files[1].name, "shard-1-of-2");
        check_reads(r, narrays, flat, fm.total);

        float one;
        CHECK_EQ(ckpt_reader_read(r, narrays, 0, 1, &one, err), PSC_EINVAL);
        CHECK_CONTAINS(err, "no array");
        CHECK_EQ(ckpt_reader_read(r, 0, fm.total, 1, &one, err), PSC_EINVAL);
        CHECK_EQ(ckpt_reader_read(r, 0, 1, (size_t) -1, &one, err), PSC_EINVAL);
        ckpt_reader_close(&r);
        CHECK(r == NULL);
        ckpt_reader_close(&r);
    }
    for (int a = 0; a < 3; a++)
        free(flat[a]);
    fx_rmtree(tmp);
    free(tmp);
}

/*
 * Saves from 1 ps, restores that onto 3 ps (each reading its slices by
 * global offset), saves those, and restores onto 2: every shard gets the
 * floats placement_gather() cuts from the original.
 */
static void test_recut(void)
{
    char *tmp = fx_tmpdir();
    char err[PSC_ERR_LEN] = "";
    char dir[4096];
    struct fx_model fm = fx_model_mlp();
    float *orig[2] = {fx_values(fm.total, 7), fx_values(fm.total, 8)};
    fx_save(tmp, 1, &fm, 1, 2, orig, 1, dir);

    const int hops[2] = {3, 2};
    for (int h = 0; h < 2; h++) {
        int nps = hops[h];
        ckpt_reader_t *r = ckpt_reader_open(dir, err);
        CHECK(r != NULL);
        placement_t *p = placement_new(fm.sizes, fm.nvars, nps, FX_SLICE_MIN);
        float *flat[2];
        for (int a = 0; a < 2; a++) {
            flat[a] = psc_xcalloc(fm.total, sizeof(float));
            for (int s = 0; s < nps; s++) {
                const struct placement_shard *sh = &p->shards[s];
                float *mine = psc_xcalloc(sh->size + 1, sizeof(float));
                float *want = psc_xcalloc(sh->size + 1, sizeof(float));
                for (int i = 0; i < sh->nslices; i++) {
                    const struct placement_slice *sl = &sh->slices[i];
                    CHECK_OK(ckpt_reader_read(r, a, sl->global_offset, sl->len,
                                              mine + sl->shard_offset, err));
                }
                placement_gather(p, s, orig[a], want);
                CHECK(memcmp(mine, want, sh->size * sizeof(float)) == 0);
                placement_scatter(p, s, mine, flat[a]);
                free(mine);
                free(want);
            }
            CHECK(memcmp(flat[a], orig[a], fm.total * sizeof(float)) == 0);
        }
        ckpt_reader_close(&r);
        placement_destroy(&p);
        /* What the new ps would save at their next checkpoint. */
        fx_save(tmp, (uint64_t) h + 2, &fm, nps, 2, flat, 1, dir);
        CHECK_OK(ckpt_verify(dir, err));
        for (int a = 0; a < 2; a++)
            free(flat[a]);
    }
    free(orig[0]);
    free(orig[1]);
    fx_rmtree(tmp);
    free(tmp);
}

static void test_damage(void)
{
    char *tmp = fx_tmpdir();
    char err[PSC_ERR_LEN] = "";
    char dir[4096];
    char shard[4200];
    struct fx_model fm = fx_model_mlp();
    float *flat[1] = {fx_values(fm.total, 3)};

    /* A flipped byte in the data: found by the checksum only. */
    fx_save(tmp, 5, &fm, 3, 1, flat, 1, dir);
    snprintf(shard, sizeof shard, "%s/shard-1-of-3", dir);
    fx_flip(shard, 64 + 8);
    CHECK_EQ(ckpt_verify(dir, err), PSC_ECHECKSUM);
    CHECK_CONTAINS(err, "shard-1-of-3");
    CHECK_CONTAINS(err, "corrupt");
    CHECK_OK(ckpt_check_complete(dir, err));

    /* A flipped byte in the header: refused before the data is read. */
    fx_save(tmp, 6, &fm, 3, 1, flat, 1, dir);
    snprintf(shard, sizeof shard, "%s/shard-2-of-3", dir);
    fx_flip(shard, 12);
    CHECK_EQ(ckpt_check_complete(dir, err), PSC_EPROTO);
    CHECK_CONTAINS(err, "shard-2-of-3");
    CHECK(ckpt_reader_open(dir, err) == NULL);

    /* Truncated. */
    fx_save(tmp, 7, &fm, 3, 1, flat, 1, dir);
    snprintf(shard, sizeof shard, "%s/shard-0-of-3", dir);
    CHECK(truncate(shard, 100) == 0);
    CHECK_EQ(ckpt_verify(dir, err), PSC_EIO);
    CHECK_CONTAINS(err, "shard-0-of-3");
    CHECK_CONTAINS(err, "truncated");
    CHECK(ckpt_reader_open(dir, err) == NULL);
    CHECK_CONTAINS(err, "truncated");

    /* Missing. */
    CHECK(unlink(shard) == 0);
    CHECK_EQ(ckpt_verify(dir, err), PSC_ENOTFOUND);
    CHECK_CONTAINS(err, "shard-0-of-3");

    /* Bad arguments to the writer. */
    struct ckpt_shard_data d = {.shard = 3, .nps = 3, .narrays = 1};
    struct ckpt_file f;
    CHECK_EQ(ckpt_write_shard(dir, &d, &f, err), PSC_EINVAL);
    d.shard = 0;
    d.size = 4;
    CHECK_EQ(ckpt_write_shard(dir, &d, &f, err), PSC_EINVAL);
    CHECK_CONTAINS(err, "array 0 is missing");

    free(flat[0]);
    fx_rmtree(tmp);
    free(tmp);
}

/* A shard large enough to take several write chunks keeps every float. */
static void test_large(void)
{
    char *tmp = fx_tmpdir();
    char err[PSC_ERR_LEN] = "";
    size_t n = ((size_t) 3 << 20) + 5;
    float *v = fx_values(n, 9);
    struct ckpt_shard_data d = {
        .shard = 0, .nps = 1, .version = 1, .size = n, .narrays = 1};
    d.arrays[0] = v;
    struct ckpt_file f;
    CHECK_OK(ckpt_write_shard(tmp, &d, &f, err));
    CHECK_EQ(f.bytes, 64 + n * sizeof(float));
    char path[4200];
    snprintf(path, sizeof path, "%s/shard-0-of-1", tmp);
    FILE *fp = fopen(path, "rb");
    CHECK(fp != NULL);
    float *got = psc_xmalloc(n * sizeof *got);
    CHECK(fseek(fp, 64, SEEK_SET) == 0);
    CHECK_EQ(fread(got, sizeof *got, n, fp), n);
    fclose(fp);
    CHECK(memcmp(got, v, n * sizeof *got) == 0);
    /* No temporary file is left. */
    snprintf(path, sizeof path, "%s/shard-0-of-1.tmp", tmp);
    CHECK(access(path, F_OK) != 0);
    free(got);
    free(v);
    fx_rmtree(tmp);
    free(tmp);
}

int main(void)
{
    test_round_trip();
    test_recut();
    test_damage();
    test_large();
    return 0;
}
