/*
 * Tests for model.onnx: a float32 and an int8 model written and accepted
 * by export_onnx_check(), and refused (PSC_EPROTO, one line naming the
 * file and the difference) when the file is truncated, garbage, of the
 * other dtype or of another shape; a missing file is PSC_EIO and a model
 * whose layers do not chain is not written.
 */
#include "export_onnx.h"

#include "ckpt_fixture.h"
#include "export.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "test.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/*
 * A model of n layers, widths[0] inputs to widths[n] classes, ReLU after
 * all but the last; int8 quantized per output column as
 * export_model_quantize() does. Free with s_model_free().
 */
static void s_model(struct export_model *m, enum export_dtype dtype, int n,
                    const int *widths)
{
    memset(m, 0, sizeof *m);
    m->dtype = dtype;
    m->height = 1;
    m->width = widths[0];
    m->input_dim = widths[0];
    m->input_scale = 1.0f / 255.0f;
    m->classes = widths[n];
    m->nlayers = n;
    snprintf(m->model_kind, sizeof m->model_kind, "mlp");
    for (int l = 0; l < n; l++) {
        struct export_layer *ly = &m->layers[l];
        ly->in = widths[l];
        ly->out = widths[l + 1];
        ly->relu = l < n - 1;
        size_t k = (size_t) ly->in * (size_t) ly->out;
        ly->kernel = fx_values(k, l + 1);
        ly->bias = fx_values((size_t) ly->out, l + 11);
        if (dtype != EXPORT_INT8)
            continue;
        ly->qkernel = psc_xmalloc(k);
        ly->scale = psc_xmalloc((size_t) ly->out * sizeof(float));
        for (int c = 0; c < ly->out; c++) {
            float max = 0;
            for (int r = 0; r < ly->in; r++)
                max = fmaxf(max, fabsf(ly->kernel[r * ly->out + c]));
            ly->scale[c] = max > 0 ? max / 127.0f : 1.0f;
            for (int r = 0; r < ly->in; r++) {
                float *w = &ly->kernel[r * ly->out + c];
                ly->qkernel[r * ly->out + c] =
                    (int8_t) lrintf(*w / ly->scale[c]);
                *w = (float) ly->qkernel[r * ly->out + c] * ly->scale[c];
            }
        }
    }
}

static void s_model_free(struct export_model *m)
{
    for (int l = 0; l < m->nlayers; l++) {
        free(m->layers[l].kernel);
        free(m->layers[l].bias);
        free(m->layers[l].qkernel);
        free(m->layers[l].scale);
    }
    memset(m, 0, sizeof *m);
}

static void s_write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(len == 0 || fwrite(data, 1, len, f) == len);
    CHECK(fclose(f) == 0);
}

/* The file at path into *len bytes; caller frees. */
static uint8_t *s_read_bytes(const char *path, size_t *len)
{
    struct stat st;
    CHECK(stat(path, &st) == 0);
    *len = (size_t) st.st_size;
    uint8_t *buf = psc_xmalloc(*len);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    CHECK(fread(buf, 1, *len, f) == *len);
    fclose(f);
    return buf;
}

/* check must refuse path against m with PSC_EPROTO and a line saying want. */
static void s_refused(const char *path, const struct export_model *m,
                      const char *want)
{
    char err[PSC_ERR_LEN] = "";
    CHECK_EQ(export_onnx_check(path, m, err), PSC_EPROTO);
    CHECK_CONTAINS(err, path);
    CHECK_CONTAINS(err, want);
    CHECK(strchr(err, '\n') == NULL);
}

static const int s_widths[] = {784, 16, 10};

static void test_round_trip(const char *tmp)
{
    char err[PSC_ERR_LEN] = "";
    char path[4096];
    snprintf(path, sizeof path, "%s/model.onnx", tmp);
    for (int q = 0; q <= 1; q++) {
        struct export_model m;
        s_model(&m, q ? EXPORT_INT8 : EXPORT_F32, 2, s_widths);
        CHECK_OK(export_onnx_write(tmp, &m, err));
        CHECK_OK(export_onnx_check(path, &m, err));
        /* Written again over the old file: the same bytes. */
        size_t len1 = 0;
        size_t len2 = 0;
        uint8_t *a = s_read_bytes(path, &len1);
        CHECK_OK(export_onnx_write(tmp, &m, err));
        uint8_t *b = s_read_bytes(path, &len2);
        CHECK_EQ(len1, len2);
        CHECK(memcmp(a, b, len1) == 0);
        /* The weights are in it: float32 or int8 plus scales. */
        size_t weights = q ? 784 * 16 + 16 * 10 : (784 * 16 + 16 * 10) * 4;
        CHECK(len1 > weights);
        free(a);
        free(b);
        s_model_free(&m);
    }
}

static void test_other_model(const char *tmp)
{
    char err[PSC_ERR_LEN] = "";
    char path[4096];
    snprintf(path, sizeof path, "%s/model.onnx", tmp);
    struct export_model m;
    s_model(&m, EXPORT_F32, 2, s_widths);
    CHECK_OK(export_onnx_write(tmp, &m, err));

    struct export_model wide;
    const int wider[] = {784, 32, 10};
    s_model(&wide, EXPORT_F32, 2, wider);
    s_refused(path, &wide,
              "initializer 'layer0_kernel' has dims [784, 16], model.json "
              "says [784, 32]");
    s_model_free(&wide);

    struct export_model small;
    const int fewer[] = {100, 16, 10};
    s_model(&small, EXPORT_F32, 2, fewer);
    s_refused(path, &small,
              "input 'pixels' has shape [batch, 784], model.json says "
              "[batch, 100]");
    s_model_free(&small);

    struct export_model classes;
    const int more[] = {784, 16, 12};
    s_model(&classes, EXPORT_F32, 2, more);
    s_refused(path, &classes,
              "output 'probabilities' has shape [batch, 10], model.json "
              "says [batch, 12]");
    s_model_free(&classes);

    struct export_model deep;
    const int three[] = {784, 16, 16, 10};
    s_model(&deep, EXPORT_F32, 3, three);
    s_refused(path, &deep, "initializer 'layer1_kernel' has dims [16, 10]");
    s_model_free(&deep);

    struct export_model q;
    s_model(&q, EXPORT_INT8, 2, s_widths);
    s_refused(path, &q, "initializer 'layer0_kernel_q' is missing");
    CHECK_OK(export_onnx_write(tmp, &q, err));
    s_refused(path, &m, "initializer 'layer0_kernel' is missing");
    s_model_free(&q);

    struct export_model scaled;
    s_model(&scaled, EXPORT_F32, 2, s_widths);
    CHECK_OK(export_onnx_write(tmp, &scaled, err));
    scaled.input_scale = 1.0f;
    s_refused(path, &scaled, "input_scale is 0.00392157, model.json says 1");
    s_model_free(&scaled);
    s_model_free(&m);
}

static void test_bad_files(const char *tmp)
{
    char err[PSC_ERR_LEN] = "";
    char path[4096];
    char bad[4096];
    snprintf(path, sizeof path, "%s/model.onnx", tmp);
    snprintf(bad, sizeof bad, "%s/bad.onnx", tmp);
    for (int q = 0; q <= 1; q++) {
        struct export_model m;
        s_model(&m, q ? EXPORT_INT8 : EXPORT_F32, 2, s_widths);
        CHECK_OK(export_onnx_write(tmp, &m, err));
        size_t len = 0;
        uint8_t *buf = s_read_bytes(path, &len);
        /* Cut anywhere, the file is refused, never read past its end. */
        const size_t cuts[] = {0, 1, 2, 7, 40, 300, len / 2, len - 41, len - 1};
        for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
            s_write_bytes(bad, buf, cuts[i]);
            s_refused(bad, &m, "");
        }
        s_write_bytes(bad, buf, 0);
        s_refused(bad, &m, "ir_version is 0, psc writes 7");
        s_write_bytes(bad, buf, len / 2);
        s_refused(bad, &m, "does not parse");
        /* Garbage: random bytes, text, and a flipped tag byte. */
        uint8_t junk[4096];
        uint32_t x = 12345;
        for (size_t i = 0; i < sizeof junk; i++) {
            x = x * 1103515245u + 12345u;
            junk[i] = (uint8_t) (x >> 16);
        }
        s_write_bytes(bad, junk, sizeof junk);
        s_refused(bad, &m, "");
        s_write_bytes(bad, "not a model\n", 12);
        s_refused(bad, &m, "");
        buf[0] ^= 0xff;
        s_write_bytes(bad, buf, len);
        s_refused(bad, &m, "");
        free(buf);
        s_model_free(&m);
    }
    struct export_model m;
    s_model(&m, EXPORT_F32, 2, s_widths);
    snprintf(bad, sizeof bad, "%s/missing.onnx", tmp);
    CHECK_EQ(export_onnx_check(bad, &m, err), PSC_EIO);
    CHECK_CONTAINS(err, "cannot open");
    s_model_free(&m);
}

static void test_write_refusals(const char *tmp)
{
    char err[PSC_ERR_LEN] = "";
    struct export_model m;
    s_model(&m, EXPORT_F32, 2, s_widths);
    m.layers[1].in = 17;
    CHECK_EQ(export_onnx_write(tmp, &m, err), PSC_EINVAL);
    CHECK_CONTAINS(err, "layer 1 is 17 x 10");
    m.layers[1].in = 16;
    float *bias = m.layers[0].bias;
    m.layers[0].bias = NULL;
    CHECK_EQ(export_onnx_write(tmp, &m, err), PSC_EINVAL);
    CHECK_CONTAINS(err, "layer 0 has no weights");
    m.layers[0].bias = bias;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/no-such-folder", tmp);
    CHECK(export_onnx_write(dir, &m, err) < 0);
    CHECK_CONTAINS(err, "no-such-folder");
    s_model_free(&m);
}

int main(void)
{
    char *tmp = fx_tmpdir();
    test_round_trip(tmp);
    test_other_model(tmp);
    test_bad_files(tmp);
    test_write_refusals(tmp);
    fx_rmtree(tmp);
    free(tmp);
    return 0;
}
