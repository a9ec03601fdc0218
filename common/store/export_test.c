/*
 * Tests for exports: a checkpoint's values into a model, versions 0001 and
 * 0002 named in order with nothing temporary left behind, a read back
 * equal bit for bit, the forward pass against a plain double-precision
 * one (batches, and single rows with zero inputs, which skip kernel rows), int8
 * quantization's error bound, and every kind of damage refused with a line that
 * names the file.
 */
#include "export.h"

#include "ckpt.h"
#include "ckpt_fixture.h"
#include "export_internal.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "test.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char s_names[10][EXPORT_NAME_LEN] = {
    "zero", "one", "two",   "three", "four",
    "five", "six", "seven", "eight", "nine"};

/* Equal values, float for float. */
static int s_same(const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* Small values, so that the softmax is not saturated. */
static float *s_values(size_t n)
{
    float *v = psc_xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = 0.1f * sinf((float) i * 0.7f);
    return v;
}

static void s_model(const char *model_dir, struct export_model *m, float **flat)
{
    char dir[4096];
    char err[PSC_ERR_LEN] = "";
    struct fx_model fm = fx_model_mlp();
    *flat = s_values(fm.total);
    fx_save(model_dir, 300, &fm, 2, 1, flat, 1, dir);
    int rc = export_model_from_ckpt(m, dir, err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    CHECK_OK(rc);
}

static void test_from_ckpt(const struct export_model *m, const float *flat)
{
    CHECK_EQ(m->nlayers, 2);
    CHECK_EQ(m->input_dim, 20);
    CHECK_EQ(m->height * m->width, 20);
    CHECK_EQ(m->layers[0].out, 16);
    CHECK_EQ(m->layers[1].in, 16);
    CHECK_EQ(m->classes, 10);
    CHECK(m->layers[0].relu && !m->layers[1].relu);
    CHECK_EQ(m->step, 300);
    CHECK(m->fingerprint == 0xfedcba9876543210ull);
    CHECK_STR(m->model_kind, "mlp");
    CHECK(s_same(m->layers[0].kernel, flat, 320));
    CHECK(s_same(m->layers[1].bias, flat + 320 + 16 + 160, 10));
}

static void s_reference(const struct export_model *m, const float *raw,
                        double *out)
{
    double a[64] = {0};
    double b[64] = {0};
    for (int i = 0; i < m->input_dim; i++)
        a[i] = raw[i] * (double) m->input_scale;
    for (int l = 0; l < m->nlayers; l++) {
        const struct export_layer *L = &m->layers[l];
        for (int o = 0; o < L->out; o++) {
            double s = L->bias[o];
            for (int i = 0; i < L->in; i++)
                s += a[i] * L->kernel[(size_t) i * L->out + o];
            b[o] = L->relu && s < 0 ? 0 : s;
        }
        memcpy(a, b, sizeof a);
    }
    double top = a[0];
    double sum = 0;
    for (int c = 1; c < m->classes; c++)
        top = a[c] > top ? a[c] : top;
    for (int c = 0; c < m->classes; c++)
        sum += exp(a[c] - top);
    for (int c = 0; c < m->classes; c++)
        out[c] = exp(a[c] - top) / sum;
}

static void test_predict(const struct export_model *m)
{
    enum { N = 300 };
    float *raw = psc_xmalloc((size_t) N * m->input_dim * sizeof *raw);
    float *probs = psc_xmalloc((size_t) N * m->classes * sizeof *probs);
    for (size_t i = 0; i < (size_t) N * m->input_dim; i++)
        raw[i] = (float) ((i * 37) % 256);
    export_predict(m, raw, N, probs);
    for (int n = 0; n < N; n++) {
        double want[16];
        s_reference(m, raw + (size_t) n * m->input_dim, want);
        for (int c = 0; c < m->classes; c++)
            CHECK_NEAR(probs[n * m->classes + c], want[c], 1e-6);
    }
    free(raw);
    free(probs);
}

/* Single rows take the product over non-zero inputs: zeros and all. */
static void test_predict_rows(const struct export_model *m)
{
    float raw[64];
    float probs[16];
    for (int pattern = 0; pattern < 4; pattern++) {
        for (int i = 0; i < m->input_dim; i++)
            raw[i] = pattern == 0 || (i % (pattern + 1)) == 0
                         ? 0.0f
                         : (float) ((i * 53 + pattern) % 256);
        export_predict(m, raw, 1, probs);
        double want[16];
        s_reference(m, raw, want);
        for (int c = 0; c < m->classes; c++)
            CHECK_NEAR(probs[c], want[c], 1e-6);
    }
}

/*
 * More non-zero inputs than one gather holds, outputs that are not a
 * multiple of the vector width: y += alpha * x * kernel, as in double.
 */
static void test_gemv_nonzero(void)
{
    enum { IN = 700, OUT = 13 };
    float *kernel = psc_xmalloc((size_t) IN * OUT * sizeof *kernel);
    float x[IN];
    float y[OUT];
    for (int i = 0; i < IN * OUT; i++)
        kernel[i] = (float) ((i * 7919) % 201 - 100) / 100.0f;
    for (int i = 0; i < IN; i++)
        x[i] = i % 3 == 0 ? 0.0f : (float) (i % 17);
    for (int o = 0; o < OUT; o++)
        y[o] = (float) o;
    export__gemv_nonzero(kernel, IN, OUT, 0.5f, x, y);
    for (int o = 0; o < OUT; o++) {
        double want = o;
        for (int i = 0; i < IN; i++)
            want += 0.5 * x[i] * kernel[(size_t) i * OUT + o];
        CHECK_NEAR(y[o], want, 1e-3);
    }
    free(kernel);
}

static void test_classes(struct export_model *m)
{
    char err[PSC_ERR_LEN] = "";
    CHECK_EQ(export_model_set_classes(m, s_names, 9, err), PSC_ECONFIG);
    CHECK_CONTAINS(err, "9 classes, the model has 10");
    CHECK_OK(export_model_set_classes(m, s_names, 10, err));
    CHECK_STR(m->class_names[7], "seven");
}

static int s_has_tmp(const char *base)
{
    DIR *d = opendir(base);
    const struct dirent *e;
    int found = 0;
    while (d != NULL && (e = readdir(d)) != NULL)
        found |= strncmp(e->d_name, ".tmp", 4) == 0;
    if (d != NULL)
        closedir(d);
    return found;
}

static void s_write(const char *base, const struct export_model *m,
                    const char *want)
{
    char err[PSC_ERR_LEN] = "";
    char version[EXPORT_VERSION_LEN];
    int rc = export_write(base, m, version, err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    CHECK_OK(rc);
    CHECK_STR(version, want);
    CHECK(!s_has_tmp(base));
}

static void test_versions(const char *base, const struct export_model *m)
{
    char err[PSC_ERR_LEN] = "";
    char version[EXPORT_VERSION_LEN];
    CHECK_EQ(export_latest(base, version, err), PSC_ENOTFOUND);
    s_write(base, m, "0001");
    s_write(base, m, "0002");
    CHECK_OK(export_latest(base, version, err));
    CHECK_STR(version, "0002");
}

static void test_read_back(const char *base, const struct export_model *m)
{
    char dir[4096];
    char err[PSC_ERR_LEN] = "";
    struct export_model r;
    snprintf(dir, sizeof dir, "%s/0001", base);
    int rc = export_read(dir, &r, err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    CHECK_OK(rc);
    CHECK_EQ(r.nlayers, m->nlayers);
    CHECK_EQ(r.step, 300);
    CHECK(r.fingerprint == m->fingerprint);
    CHECK(r.input_scale == m->input_scale);
    CHECK_STR(r.class_names[9], "nine");
    for (int l = 0; l < m->nlayers; l++) {
        size_t n = (size_t) m->layers[l].in * m->layers[l].out;
        CHECK(s_same(r.layers[l].kernel, m->layers[l].kernel, n));
        CHECK(s_same(r.layers[l].bias, m->layers[l].bias,
                     (size_t) m->layers[l].out));
    }
    export_model_release(&r);
}

static void test_quantize(const char *base, const struct export_model *m)
{
    char dir[4096];
    char err[PSC_ERR_LEN] = "";
    struct export_model q;
    snprintf(dir, sizeof dir, "%s/0001", base);
    CHECK_OK(export_read(dir, &q, err));
    export_model_quantize(&q);
    CHECK_EQ(q.dtype, EXPORT_INT8);
    for (int l = 0; l < q.nlayers; l++) {
        const struct export_layer *L = &q.layers[l];
        for (size_t i = 0; i < (size_t) L->in * L->out; i++) {
            float s = L->scale[i % (size_t) L->out];
            CHECK(L->qkernel[i] >= -127);
            CHECK_NEAR(L->kernel[i], m->layers[l].kernel[i], s / 2 + 1e-9);
        }
    }
    s_write(base, &q, "0003");
    snprintf(dir, sizeof dir, "%s/0003", base);
    struct export_model r;
    CHECK_OK(export_read(dir, &r, err));
    CHECK_EQ(r.dtype, EXPORT_INT8);
    CHECK(s_same(r.layers[0].kernel, q.layers[0].kernel, 320));
    export_model_release(&r);
    export_model_release(&q);
}

/* A fresh version of m, damaged by damage(dir), must be refused. */
static void s_refused(const char *base, const struct export_model *m,
                      void (*damage)(const char *dir), int code,
                      const char *says)
{
    char version[EXPORT_VERSION_LEN];
    char err[PSC_ERR_LEN] = "";
    char dir[4096];
    struct export_model r;
    CHECK_OK(export_write(base, m, version, err));
    snprintf(dir, sizeof dir, "%s/%s", base, version);
    damage(dir);
    CHECK_EQ(export_read(dir, &r, err), code);
    CHECK_CONTAINS(err, says);
    CHECK(r.nlayers == 0 && r.layers[0].kernel == NULL);
}

static void s_path(char *out, const char *dir, const char *name)
{
    snprintf(out, 4096, "%s/%s", dir, name);
}

static void rm_bias(const char *dir)
{
    char p[4096];
    s_path(p, dir, "layer1_bias.f32");
    CHECK(unlink(p) == 0);
}

static void flip_kernel(const char *dir)
{
    char p[4096];
    s_path(p, dir, "layer0_kernel.f32");
    fx_flip(p, 100);
}

static void flip_onnx(const char *dir)
{
    char p[4096];
    s_path(p, dir, "model.onnx");
    fx_flip(p, 40);
}

static void cut_kernel(const char *dir)
{
    char p[4096];
    s_path(p, dir, "layer1_kernel.f32");
    CHECK(truncate(p, 100) == 0);
}

/* Rewrites model.json with edit applied to its root. */
static void s_edit_manifest(const char *dir, void (*edit)(json_t *root))
{
    char p[4096];
    s_path(p, dir, "model.json");
    json_t *root = json_load_file(p, 0, NULL);
    CHECK(root != NULL);
    edit(root);
    CHECK(json_dump_file(root, p, JSON_INDENT(2)) == 0);
    json_decref(root);
}

static void edit_version(json_t *root)
{
    json_object_set_new(root, "format_version", json_integer(99));
}

static void edit_shape(json_t *root)
{
    json_t *l1 = json_array_get(json_object_get(root, "layers"), 1);
    json_object_set_new(l1, "units", json_integer(12));
}

/* Too large for a float: casting it would be undefined. */
static void edit_scale(json_t *root)
{
    json_t *in = json_array_get(json_object_get(root, "inputs"), 0);
    json_object_set_new(json_object_get(in, "preprocessing"), "scale",
                        json_real(1e300));
}

static void edit_image_shape(json_t *root)
{
    json_t *in = json_array_get(json_object_get(root, "inputs"), 0);
    json_t *img = json_pack("[I, I]", (json_int_t) 1 << 32, (json_int_t) 1);
    json_object_set_new(in, "image_shape", img);
}

static void bad_scale(const char *dir)
{
    s_edit_manifest(dir, edit_scale);
}

static void bad_image_shape(const char *dir)
{
    s_edit_manifest(dir, edit_image_shape);
}

static void edit_garbage(const char *dir)
{
    char p[4096];
    s_path(p, dir, "model.json");
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    fputs("{\"format\": \"psc-export\", \"layers\": [", f);
    fclose(f);
}

static void bad_version(const char *dir)
{
    s_edit_manifest(dir, edit_version);
}

static void bad_shape(const char *dir)
{
    s_edit_manifest(dir, edit_shape);
}

static void test_damage(const char *base, const struct export_model *m)
{
    s_refused(base, m, rm_bias, PSC_ENOTFOUND, "layer1_bias.f32");
    s_refused(base, m, flip_kernel, PSC_ECHECKSUM, "layer0_kernel.f32");
    s_refused(base, m, flip_onnx, PSC_ECHECKSUM, "model.onnx");
    s_refused(base, m, cut_kernel, PSC_EIO, "layer1_kernel.f32");
    s_refused(base, m, bad_version, PSC_EPROTO, "unknown format version 99");
    s_refused(base, m, bad_shape, PSC_EPROTO, "layers[1]");
    s_refused(base, m, edit_garbage, PSC_EPROTO, "model.json");
    s_refused(base, m, bad_scale, PSC_EPROTO, "inputs[0].preprocessing.scale");
    s_refused(base, m, bad_image_shape, PSC_EPROTO, "inputs[0].image_shape");
    char err[PSC_ERR_LEN] = "";
    struct export_model r;
    CHECK_EQ(export_read(base, &r, err), PSC_ENOTFOUND);
    CHECK_CONTAINS(err, "model.json' is missing");
}

int main(void)
{
    char *tmp = fx_tmpdir();
    char base[1024];
    struct export_model m;
    float *flat = NULL;
    snprintf(base, sizeof base, "%s/export/model", tmp);
    s_model(tmp, &m, &flat);
    test_from_ckpt(&m, flat);
    test_classes(&m);
    test_predict(&m);
    test_predict_rows(&m);
    test_gemv_nonzero();
    test_versions(base, &m);
    test_read_back(base, &m);
    test_quantize(base, &m);
    test_damage(base, &m);
    export_model_release(&m);
    free(flat);
    fx_rmtree(tmp);
    free(tmp);
    return 0;
}
