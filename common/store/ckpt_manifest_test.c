/*
 * Tests for manifest.json: every field back as written (the fingerprint's
 * 64 bits too), and the refusals, each naming its field: a missing field,
 * a wrong type, values out of range, sizes that do not match, slices that
 * overlap or leave a gap, bad JSON, and writing an incomplete manifest.
 */
#include "ckpt_manifest.h"

#include "ckpt.h"
#include "ckpt_fixture.h"
#include "placement.h"
#include "psc_err.h"
#include "test.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_fields(const char *dir, const struct fx_model *fm)
{
    char err[PSC_ERR_LEN] = "";
    struct ckpt_manifest m;
    CHECK_OK(ckpt_manifest_read(dir, &m, err));
    CHECK_EQ(m.step, 12);
    CHECK(m.wall_time == 1700000000.25);
    CHECK(m.fingerprint == 0xfedcba9876543210ull);
    CHECK_STR(m.run_id, "run-12");
    CHECK_STR(m.model, "mlp");
    CHECK_STR(m.optimizer, "adam");
    CHECK_EQ(m.narrays, 3);
    CHECK_EQ(m.nvars, fm->nvars);
    CHECK_STR(m.vars[2].name, "layer1/kernel");
    CHECK_EQ(m.vars[2].rows, 16);
    CHECK_EQ(m.vars[2].cols, 10);
    CHECK_EQ(m.vars[2].offset, fm->sizes[0] + fm->sizes[1]);
    CHECK_EQ(m.nps, 3);
    placement_t *p = placement_new(fm->sizes, fm->nvars, 3, FX_SLICE_MIN);
    for (int s = 0; s < 3; s++) {
        CHECK_EQ(m.placement->shards[s].size, p->shards[s].size);
        CHECK_EQ(m.placement->shards[s].nslices, p->shards[s].nslices);
        for (int i = 0; i < p->shards[s].nslices; i++) {
            const struct placement_slice *a = &m.placement->shards[s].slices[i];
            const struct placement_slice *b = &p->shards[s].slices[i];
            CHECK_EQ(a->var, b->var);
            CHECK_EQ(a->global_offset, b->global_offset);
            CHECK_EQ(a->shard_offset, b->shard_offset);
            CHECK_EQ(a->len, b->len);
        }
        CHECK_EQ(m.files[s].bytes,
                 ckpt_manifest_shard_bytes(3, p->shards[s].size));
    }
    CHECK_EQ(ckpt_manifest_total(&m), fm->total);
    CHECK_EQ(m.nworkers, 2);
    CHECK_EQ(m.workers[1].position, 332);
    CHECK_EQ(m.workers[1].epoch, 2);
    placement_destroy(&p);
    ckpt_manifest_release(&m);
    CHECK(m.vars == NULL && m.placement == NULL);
    ckpt_manifest_release(&m);
}

typedef void mutate_fn(json_t *root);

/*
 * Writes the saved manifest changed by fn into dir, reads it and expects a
 * refusal whose line contains want; then puts the original back.
 */
static void refuse(const char *dir, const json_t *orig, mutate_fn *fn,
                   const char *want)
{
    char path[4200];
    char err[PSC_ERR_LEN] = "";
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_t *root = json_deep_copy(orig);
    fn(root);
    CHECK_OK(json_dump_file(root, path, JSON_INDENT(1)));
    json_decref(root);
    struct ckpt_manifest m;
    int rc = ckpt_manifest_read(dir, &m, err);
    if (rc != PSC_EPROTO)
        fprintf(stderr, "expected a refusal naming '%s', got %d '%s'\n", want,
                rc, err);
    CHECK_EQ(rc, PSC_EPROTO);
    CHECK_CONTAINS(err, want);
    CHECK_CONTAINS(err, "manifest.json");
    CHECK(strchr(err, '\n') == NULL);
    CHECK(m.vars == NULL && m.placement == NULL && m.files == NULL);
    CHECK_EQ(ckpt_verify(dir, err), PSC_EPROTO);
    CHECK_OK(json_dump_file(orig, path, JSON_INDENT(1)));
}

static json_t *at(json_t *root, const char *arr, size_t i)
{
    return json_array_get(json_object_get(root, arr), i);
}

static void no_step(json_t *r)
{
    json_object_del(r, "step");
}

static void no_var_name(json_t *r)
{
    json_object_del(at(r, "vars", 1), "name");
}

static void nps_string(json_t *r)
{
    json_object_set_new(r, "nps", json_string("3"));
}

static void fingerprint_number(json_t *r)
{
    json_object_set_new(r, "fingerprint", json_integer(5));
}

static void fingerprint_upper(json_t *r)
{
    json_object_set_new(r, "fingerprint", json_string("ABC"));
}

static void wall_time_string(json_t *r)
{
    json_object_set_new(r, "wall_time", json_string("noon"));
}

static void vars_object(json_t *r)
{
    json_object_set_new(r, "vars", json_object());
}

static void narrays_four(json_t *r)
{
    json_object_set_new(r, "narrays", json_integer(4));
}

static void step_negative(json_t *r)
{
    json_object_set_new(r, "step", json_integer(-1));
}

static void format_two(json_t *r)
{
    json_object_set_new(r, "format", json_integer(2));
}

static void size_not_shape(json_t *r)
{
    json_object_set_new(at(r, "vars", 1), "size", json_integer(17));
}

static void offset_moved(json_t *r)
{
    json_object_set_new(at(r, "vars", 2), "offset", json_integer(0));
}

static void file_bytes(json_t *r)
{
    json_t *f = at(r, "files", 0);
    json_object_set_new(
        f, "bytes",
        json_integer(json_integer_value(json_object_get(f, "bytes")) + 4));
}

static void file_name(json_t *r)
{
    json_object_set_new(at(r, "files", 1), "name", json_string("shard-1-of-2"));
}

static void crc_too_big(json_t *r)
{
    json_object_set_new(at(r, "files", 2), "crc32c",
                        json_integer(0x100000000ll));
}

static void files_short(json_t *r)
{
    json_array_remove(json_object_get(r, "files"), 2);
}

static json_t *slice0(json_t *r, size_t shard)
{
    return json_array_get(json_object_get(at(r, "placement", shard), "slices"),
                          0);
}

static void shard_size(json_t *r)
{
    json_t *sh = at(r, "placement", 0);
    json_object_set_new(sh, "size", json_integer(1));
}

static void slice_gap(json_t *r)
{
    /* Shard 0's last slice one shorter (and its size and file to match):
     * the element after it is in no slice. */
    json_t *sh = at(r, "placement", 0);
    json_t *slices = json_object_get(sh, "slices");
    json_t *sl = json_array_get(slices, json_array_size(slices) - 1);
    json_int_t len = json_integer_value(json_object_get(sl, "len"));
    json_int_t size = json_integer_value(json_object_get(sh, "size"));
    json_object_set_new(sl, "len", json_integer(len - 1));
    json_object_set_new(sh, "size", json_integer(size - 1));
    json_t *f = at(r, "files", 0);
    json_int_t bytes = json_integer_value(json_object_get(f, "bytes"));
    json_object_set_new(f, "bytes", json_integer(bytes - 3 * 4));
}

static void slice_overlap(json_t *r)
{
    json_object_set_new(slice0(r, 1), "global_offset", json_integer(0));
}

static void slice_outside_var(json_t *r)
{
    json_object_set_new(slice0(r, 1), "var", json_integer(1));
}

static void slice_var_range(json_t *r)
{
    json_object_set_new(slice0(r, 1), "var", json_integer(9));
}

static void worker_epoch(json_t *r)
{
    json_object_set_new(at(r, "workers", 0), "epoch", json_integer(-3));
}

static void only_format(json_t *r)
{
    json_object_clear(r);
    json_object_set_new(r, "format", json_integer(1));
}

static void test_refusals(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_error_t jerr;
    json_t *orig = json_load_file(path, 0, &jerr);
    CHECK(orig != NULL);

    refuse(dir, orig, no_step, "field 'step' is missing");
    refuse(dir, orig, no_var_name, "field 'vars[1].name' is missing");
    refuse(dir, orig, nps_string, "field 'nps' is not an integer");
    refuse(dir, orig, fingerprint_number, "field 'fingerprint' is not a str");
    refuse(dir, orig, fingerprint_upper, "'fingerprint' is not 1 to 16");
    refuse(dir, orig, wall_time_string, "field 'wall_time' is not a number");
    refuse(dir, orig, vars_object, "field 'vars' is not an array");
    refuse(dir, orig, narrays_four, "field 'narrays' is out of range");
    refuse(dir, orig, step_negative, "field 'step' is out of range");
    refuse(dir, orig, format_two, "field 'format' is 2");
    refuse(dir, orig, size_not_shape, "field 'vars[1].size' is 17");
    refuse(dir, orig, offset_moved, "field 'vars[2].offset'");
    refuse(dir, orig, file_bytes, "field 'files[0].bytes'");
    refuse(dir, orig, file_name, "field 'files[1].name'");
    refuse(dir, orig, crc_too_big, "field 'files[2].crc32c' is out of range");
    refuse(dir, orig, files_short, "field 'files' has 2 elements");
    refuse(dir, orig, shard_size, "field 'placement[0].size' is 1");
    refuse(dir, orig, slice_gap, "no slice holds element");
    refuse(dir, orig, slice_overlap, "slices overlap at element 0");
    refuse(dir, orig, slice_outside_var,
           "field 'placement[1].slices[0].global_offset'");
    refuse(dir, orig, slice_var_range,
           "field 'placement[1].slices[0].var' is out of range");
    refuse(dir, orig, worker_epoch, "field 'workers[0].epoch'");
    refuse(dir, orig, only_format, "field 'step' is missing");
    json_decref(orig);

    /* Not JSON at all. */
    char err[PSC_ERR_LEN] = "";
    struct ckpt_manifest m;
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("{\"step\": 1,\n", f);
    fclose(f);
    CHECK_EQ(ckpt_manifest_read(dir, &m, err), PSC_EPROTO);
    CHECK_CONTAINS(err, "line");
    CHECK(remove(path) == 0);
    CHECK_EQ(ckpt_manifest_read(dir, &m, err), PSC_ENOTFOUND);
    CHECK_CONTAINS(err, "manifest.json' is missing");
}

static void test_write_refusals(const char *dir)
{
    char err[PSC_ERR_LEN] = "";
    struct ckpt_manifest m;
    memset(&m, 0, sizeof m);
    m.nps = 2;
    CHECK_EQ(ckpt_manifest_write(dir, &m, err), PSC_EINVAL);
    CHECK_CONTAINS(err, "cannot write manifest");

    /* A manifest whose files do not match its placement is not written. */
    struct fx_model fm = fx_model_mlp();
    struct ckpt_var vars[4];
    struct ckpt_file files[2];
    memset(vars, 0, sizeof vars);
    memset(files, 0, sizeof files);
    size_t off = 0;
    for (int v = 0; v < 4; v++) {
        snprintf(vars[v].name, sizeof vars[v].name, "v%d", v);
        vars[v].rows = fm.rows[v];
        vars[v].cols = fm.cols[v];
        vars[v].size = fm.sizes[v];
        vars[v].offset = off;
        off += fm.sizes[v];
    }
    snprintf(files[0].name, sizeof files[0].name, "shard-0-of-2");
    snprintf(files[1].name, sizeof files[1].name, "shard-1-of-2");
    m.narrays = 1;
    m.nvars = 4;
    m.vars = vars;
    m.files = files;
    m.placement = placement_new(fm.sizes, 4, 2, FX_SLICE_MIN);
    snprintf(m.model, sizeof m.model, "mlp");
    CHECK_EQ(ckpt_manifest_write(dir, &m, err), PSC_EINVAL);
    CHECK_CONTAINS(err, "files[0].bytes");
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    CHECK(access(path, F_OK) != 0);
    placement_destroy(&m.placement);
}

int main(void)
{
    char *tmp = fx_tmpdir();
    char dir[4096];
    struct fx_model fm = fx_model_mlp();
    float *flat[3];
    for (int a = 0; a < 3; a++)
        flat[a] = fx_values(fm.total, a);
    fx_save(tmp, 12, &fm, 3, 3, flat, 1, dir);
    test_fields(dir, &fm);
    test_refusals(dir);
    test_write_refusals(tmp);
    for (int a = 0; a < 3; a++)
        free(flat[a]);
    fx_rmtree(tmp);
    free(tmp);
    return 0;
}
