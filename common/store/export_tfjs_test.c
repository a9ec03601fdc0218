/*
 * Tests for the TensorFlow.js layers model: a hand-built 6 -> 4 relu -> 3
 * softmax model written and accepted, its model.json's fields and shard
 * bytes as TensorFlow.js reads them, and the refusals: a truncated or
 * missing shard, a manifest shape or layer that disagrees, garbage and
 * missing JSON, and a model the writer cannot describe.
 */
#include "export_tfjs.h"

#include "ckpt_fixture.h"
#include "export.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "test.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_IN      6
#define S_HIDDEN  4
#define S_CLASSES 3

static float *s_values(size_t n, float base)
{
    float *v = psc_xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = base + 0.25f * (float) i - 1.0f;
    return v;
}

static void s_model(struct export_model *m)
{
    memset(m, 0, sizeof *m);
    m->dtype = EXPORT_F32;
    m->height = 2;
    m->width = 3;
    m->input_dim = S_IN;
    m->input_scale = 1.0f / 255.0f;
    m->classes = S_CLASSES;
    m->nlayers = 2;
    int dims[3] = {S_IN, S_HIDDEN, S_CLASSES};
    for (int l = 0; l < 2; l++) {
        struct export_layer *L = &m->layers[l];
        L->in = dims[l];
        L->out = dims[l + 1];
        L->relu = l == 0;
        L->kernel = s_values((size_t) L->in * (size_t) L->out, (float) l);
        L->bias = s_values((size_t) L->out, 10.0f * (float) (l + 1));
    }
}

static void s_model_free(struct export_model *m)
{
    for (int l = 0; l < m->nlayers; l++) {
        free(m->layers[l].kernel);
        free(m->layers[l].bias);
    }
    memset(m, 0, sizeof *m);
}

static void s_path(char *out, size_t cap, const char *dir, const char *name)
{
    CHECK((size_t) snprintf(out, cap, "%s/%s", dir, name) < cap);
}

static json_t *s_load(const char *dir)
{
    char path[4200];
    s_path(path, sizeof path, dir, "model.json");
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    CHECK(root != NULL);
    return root;
}

static void s_save(const char *dir, const json_t *root)
{
    char path[4200];
    s_path(path, sizeof path, dir, "model.json");
    CHECK_OK(json_dump_file(root, path, JSON_INDENT(1)));
}

/* The shard holds exactly the model's values (bit for bit, no NaN here). */
static void s_same(const float *got, const float *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        CHECK(got[i] == want[i]);
}

/* The fields TensorFlow.js reads, and the shard's bytes in manifest order. */
static void test_written(const char *dir, const struct export_model *m)
{
    json_t *root = s_load(dir);
    CHECK_STR(json_string_value(json_object_get(root, "format")),
              "layers-model");
    CHECK_STR(json_string_value(json_object_get(root, "generatedBy")), "psc");
    json_t *layers = json_object_get(
        json_object_get(json_object_get(root, "modelTopology"), "config"),
        "layers");
    CHECK_EQ(json_array_size(layers), 3);
    json_t *resc = json_object_get(json_array_get(layers, 0), "config");
    CHECK((float) json_real_value(json_object_get(resc, "scale")) ==
          m->input_scale);
    json_t *d1 = json_object_get(json_array_get(layers, 2), "config");
    CHECK_STR(json_string_value(json_object_get(d1, "name")), "layer1");
    CHECK_STR(json_string_value(json_object_get(d1, "activation")), "softmax");
    json_t *w = json_object_get(
        json_array_get(json_object_get(root, "weightsManifest"), 0), "weights");
    CHECK_EQ(json_array_size(w), 4);
    CHECK_STR(json_string_value(json_object_get(json_array_get(w, 2), "name")),
              "layer1/kernel");
    json_decref(root);

    char path[4200];
    s_path(path, sizeof path, dir, "group1-shard1of1.bin");
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    size_t n = S_IN * S_HIDDEN + S_HIDDEN + S_HIDDEN * S_CLASSES + S_CLASSES;
    float *got = psc_xmalloc((n + 1) * sizeof *got);
    CHECK_EQ(fread(got, sizeof *got, n + 1, f), n);
    fclose(f);
    size_t off = 0;
    for (int l = 0; l < m->nlayers; l++) {
        const struct export_layer *L = &m->layers[l];
        s_same(got + off, L->kernel, (size_t) L->in * (size_t) L->out);
        off += (size_t) L->in * (size_t) L->out;
        s_same(got + off, L->bias, (size_t) L->out);
        off += (size_t) L->out;
    }
    CHECK_EQ(off, n);
    free(got);
}

static void s_expect(const char *dir, const struct export_model *m, int want,
                     const char *needle)
{
    char err[PSC_ERR_LEN] = "";
    int rc = export_tfjs_check(dir, m, err);
    if (rc != want)
        fprintf(stderr, "check: %d (%s), expected %d\n", rc, err, want);
    CHECK_EQ(rc, want);
    CHECK_CONTAINS(err, needle);
}

static void test_shard_refused(const char *dir, const struct export_model *m)
{
    char path[4200];
    s_path(path, sizeof path, dir, "group1-shard1of1.bin");
    size_t bytes =
        (S_IN * S_HIDDEN + S_HIDDEN + S_HIDDEN * S_CLASSES + S_CLASSES) * 4;
    CHECK_OK(truncate(path, (off_t) bytes - 4));
    s_expect(dir, m, PSC_EPROTO, "group1-shard1of1.bin");
    CHECK_OK(unlink(path));
    s_expect(dir, m, PSC_ENOTFOUND, "group1-shard1of1.bin");
}

static void test_manifest_refused(const char *dir, const struct export_model *m)
{
    json_t *orig = s_load(dir);
    json_t *root = json_deep_copy(orig);
    json_t *w = json_object_get(
        json_array_get(json_object_get(root, "weightsManifest"), 0), "weights");
    json_t *shape = json_object_get(json_array_get(w, 2), "shape");
    json_array_set_new(shape, 1, json_integer(S_CLASSES + 1));
    s_save(dir, root);
    s_expect(dir, m, PSC_EPROTO, "weightsManifest[0].weights[2].shape[1]");
    json_decref(root);

    root = json_deep_copy(orig);
    json_t *layers = json_object_get(
        json_object_get(json_object_get(root, "modelTopology"), "config"),
        "layers");
    json_t *cfg = json_object_get(json_array_get(layers, 1), "config");
    json_object_set_new(cfg, "activation", json_string("tanh"));
    s_save(dir, root);
    s_expect(dir, m, PSC_EPROTO, "layers[1].config.activation");
    json_decref(root);

    root = json_deep_copy(orig);
    json_object_set_new(root, "weightsManifest", json_string("nope"));
    s_save(dir, root);
    s_expect(dir, m, PSC_EPROTO, "weightsManifest");
    json_decref(root);

    s_save(dir, orig);
    s_expect(dir, m, 0, "");
    json_decref(orig);
}

static void test_garbage_refused(const char *dir, const struct export_model *m)
{
    static const char topology[] =
        "{\"format\":\"layers-model\",\"modelTopology\":[]}";
    static const char *const bad[] = {"{\"format\": \"layers-mo",
                                      "[1, 2, 3]\n",
                                      "\x01\x02\xff",
                                      "",
                                      "null",
                                      topology};
    char path[4200];
    s_path(path, sizeof path, dir, "model.json");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL);
        CHECK_EQ(fwrite(bad[i], 1, strlen(bad[i]), f), strlen(bad[i]));
        fclose(f);
        s_expect(dir, m, PSC_EPROTO, "model.json");
    }
    CHECK_OK(unlink(path));
    s_expect(dir, m, PSC_ENOTFOUND, "model.json");
}

static void test_write_refused(const char *dir, struct export_model *m)
{
    char err[PSC_ERR_LEN] = "";
    m->layers[1].in = S_HIDDEN + 1;
    CHECK_EQ(export_tfjs_write(dir, m, err), PSC_EINVAL);
    CHECK_CONTAINS(err, "layer 1");
    m->layers[1].in = S_HIDDEN;
    m->layers[1].relu = 1;
    CHECK_EQ(export_tfjs_write(dir, m, err), PSC_EINVAL);
    m->layers[1].relu = 0;
}

int main(void)
{
    char *tmp = fx_tmpdir();
    char dir[4200];
    s_path(dir, sizeof dir, tmp, "0001/tfjs");
    struct export_model m;
    s_model(&m);
    char err[PSC_ERR_LEN] = "";
    CHECK_OK(export_tfjs_write(dir, &m, err));
    CHECK_OK(export_tfjs_check(dir, &m, err));
    test_written(dir, &m);
    test_manifest_refused(dir, &m);
    test_shard_refused(dir, &m);
    CHECK_OK(export_tfjs_write(dir, &m, err));
    test_garbage_refused(dir, &m);
    test_write_refused(dir, &m);
    CHECK_OK(export_tfjs_write(dir, &m, err));
    CHECK_OK(export_tfjs_check(dir, &m, err));
    s_model_free(&m);
    fx_rmtree(tmp);
    free(tmp);
    printf("export_tfjs: ok\n");
    return 0;
}
