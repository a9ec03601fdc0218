/*
 * The exported model in memory: taken from a checkpoint, named, run.
 * Writing and reading the version folders is in export_write.c and
 * export_read.c.
 */
#include "export.h"

#include "ckpt.h"
#include "export_internal.h"
#include "job.h"
#include "psc_alloc.h"
#include "psc_err.h"

#include <cblas.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows per forward pass: the scratch stays in the cache. */
#define S_CHUNK 256

/*
 * Below this many rows a layer is a matrix-vector product per row, over
 * the row's non-zero inputs only: sgemm packs the whole kernel on every
 * call, which for one row costs more than the product itself.
 */
#define S_GEMV_ROWS 4

void export_model_release(struct export_model *m)
{
    for (int l = 0; l < m->nlayers; l++) {
        struct export_layer *L = &m->layers[l];
        free(L->kernel);
        free(L->bias);
        free(L->qkernel);
        free(L->scale);
    }
    memset(m, 0, sizeof *m);
}

static void s_default_classes(struct export_model *m)
{
    for (int c = 0; c < m->classes; c++)
        snprintf(m->class_names[c], EXPORT_NAME_LEN, "%d", c);
}

static void s_image_shape(struct export_model *m)
{
    int side = (int) lround(sqrt((double) m->input_dim));
    int square = side * side == m->input_dim;
    m->height = square ? side : 1;
    m->width = square ? side : m->input_dim;
}

/* Checks that the manifest's variables are kernel/bias pairs that chain. */
static int s_shape_from_vars(struct export_model *m,
                             const struct ckpt_manifest *man, char *err)
{
    if (man->nvars < 2 || man->nvars % 2 != 0 ||
        man->nvars / 2 > EXPORT_MAX_LAYERS)
        return psc_seterr(err, PSC_EPROTO,
                          "%d variables are not 1..%d dense layers", man->nvars,
                          EXPORT_MAX_LAYERS);
    m->nlayers = man->nvars / 2;
    for (int l = 0; l < m->nlayers; l++) {
        const struct ckpt_var *k = &man->vars[2 * l];
        const struct ckpt_var *b = &man->vars[2 * l + 1];
        char kname[EXPORT_NAME_LEN];
        char bname[EXPORT_NAME_LEN];
        snprintf(kname, sizeof kname, "layer%d/kernel", l);
        snprintf(bname, sizeof bname, "layer%d/bias", l);
        int in = l == 0 ? k->rows : m->layers[l - 1].out;
        if (strcmp(k->name, kname) != 0 || strcmp(b->name, bname) != 0 ||
            k->rows != in || b->rows != k->cols || b->cols != 1)
            return psc_seterr(err, PSC_EPROTO,
                              "variables '%s' %dx%d and '%s' %dx%d are not "
                              "layer %d of a stack of dense layers",
                              k->name, k->rows, k->cols, b->name, b->rows,
                              b->cols, l);
        m->layers[l].in = k->rows;
        m->layers[l].out = k->cols;
        m->layers[l].relu = l + 1 < m->nlayers;
    }
    m->input_dim = m->layers[0].in;
    m->classes = m->layers[m->nlayers - 1].out;
    if (m->classes < 2 || m->classes > EXPORT_MAX_CLASSES)
        return psc_seterr(err, PSC_EPROTO, "%d classes: psc exports 2 to %d",
                          m->classes, EXPORT_MAX_CLASSES);
    return 0;
}

static int s_read_values(struct export_model *m, ckpt_reader_t *r,
                         const struct ckpt_manifest *man, char *err)
{
    for (int l = 0; l < m->nlayers; l++) {
        struct export_layer *L = &m->layers[l];
        const struct ckpt_var *k = &man->vars[2 * l];
        const struct ckpt_var *b = &man->vars[2 * l + 1];
        L->kernel = psc_xmalloc(k->size * sizeof *L->kernel);
        L->bias = psc_xmalloc(b->size * sizeof *L->bias);
        if (ckpt_reader_read(r, 0, k->offset, k->size, L->kernel, err) != 0 ||
            ckpt_reader_read(r, 0, b->offset, b->size, L->bias, err) != 0)
            return PSC_EIO;
    }
    return 0;
}

int export_model_from_ckpt(struct export_model *m, const char *ckpt_dir,
                           char *err)
{
    memset(m, 0, sizeof *m);
    ckpt_reader_t *r = ckpt_reader_open(ckpt_dir, err);
    if (r == NULL)
        return PSC_EIO;
    const struct ckpt_manifest *man = ckpt_reader_manifest(r);
    int rc = 0;
    if (strcmp(man->model, "softmax") != 0 && strcmp(man->model, "mlp") != 0) {
        rc = psc_seterr(err, PSC_EPROTO,
                        "'%s' holds a '%s' model: only softmax and mlp models "
                        "can be exported",
                        ckpt_dir, man->model);
        goto out;
    }
    rc = s_shape_from_vars(m, man, err);
    if (rc == 0)
        rc = s_read_values(m, r, man, err);
    if (rc != 0)
        goto out;
    m->dtype = EXPORT_F32;
    m->input_scale = 1.0f / 255.0f;
    s_image_shape(m);
    s_default_classes(m);
    snprintf(m->model_kind, sizeof m->model_kind, "%s", man->model);
    snprintf(m->run_id, sizeof m->run_id, "%s", man->run_id);
    m->step = man->step;
    m->fingerprint = man->fingerprint;
out:
    ckpt_reader_close(&r);
    if (rc != 0)
        export_model_release(m);
    return rc;
}

_Static_assert(EXPORT_NAME_LEN == JOB_CLASS_NAME_LEN,
               "class names pass from the job to the export as they are");

int export_model_set_classes(struct export_model *m,
                             const char (*names)[EXPORT_NAME_LEN], int n,
                             char *err)
{
    if (n != m->classes)
        return psc_seterr(err, PSC_ECONFIG,
                          "class_names names %d classes, the model has %d: "
                          "give one name per class, separated by commas",
                          n, m->classes);
    memcpy(m->class_names, names, sizeof names[0] * (size_t) n);
    return 0;
}

static int s_widest(const struct export_model *m)
{
    int w = m->input_dim;
    for (int l = 0; l < m->nlayers; l++)
        w = m->layers[l].out > w ? m->layers[l].out : w;
    return w;
}

static void s_softmax_rows(float *x, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        float *v = x + (size_t) r * cols;
        float top = v[0];
        for (int c = 1; c < cols; c++)
            top = v[c] > top ? v[c] : top;
        float sum = 0;
        for (int c = 0; c < cols; c++) {
            v[c] = expf(v[c] - top);
            sum += v[c];
        }
        for (int c = 0; c < cols; c++)
            v[c] /= sum;
    }
}

/*
 * One dense layer on rows inputs: out = alpha * in * kernel + bias, ReLU
 * maybe. alpha carries the input's scaling into the first layer's
 * product, so the raw pixels are never copied to be scaled.
 */
static void s_dense(const struct export_layer *L, float alpha, const float *in,
                    int rows, float *out)
{
    for (int r = 0; r < rows; r++)
        memcpy(out + (size_t) r * L->out, L->bias,
               (size_t) L->out * sizeof *out);
    if (rows < S_GEMV_ROWS)
        for (int r = 0; r < rows; r++)
            export__gemv_nonzero(L->kernel, L->in, L->out, alpha,
                                 in + (size_t) r * L->in,
                                 out + (size_t) r * L->out);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, L->out,
                    L->in, alpha, in, L->in, L->kernel, L->out, 1.0f, out,
                    L->out);
    if (!L->relu)
        return;
    size_t n = (size_t) rows * L->out;
    for (size_t i = 0; i < n; i++)
        out[i] = out[i] > 0.0f ? out[i] : 0.0f;
}

void export_predict(const struct export_model *m, const float *raw, int n,
                    float *probs)
{
    size_t width = (size_t) s_widest(m);
    size_t chunk = n < 1 ? 1 : n < S_CHUNK ? (size_t) n : S_CHUNK;
    float *buf[2] = {psc_xmalloc(chunk * width * sizeof(float)),
                     psc_xmalloc(chunk * width * sizeof(float))};
    for (int first = 0; first < n; first += S_CHUNK) {
        int rows = n - first < S_CHUNK ? n - first : S_CHUNK;
        const float *in = raw + (size_t) first * m->input_dim;
        float alpha = m->input_scale;
        for (int l = 0; l < m->nlayers; l++) {
            s_dense(&m->layers[l], alpha, in, rows, buf[l % 2]);
            in = buf[l % 2];
            alpha = 1.0f;
        }
        float *out = buf[(m->nlayers - 1) % 2];
        s_softmax_rows(out, rows, m->classes);
        memcpy(probs + (size_t) first * m->classes, out,
               (size_t) rows * m->classes * sizeof *probs);
    }
    free(buf[0]);
    free(buf[1]);
}

/* The number a version folder's name spells, or -1 if it is not one. */
static long s_version_number(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 9)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char) name[i]))
            return -1;
    long v = strtol(name, NULL, 10);
    return v > 0 ? v : -1;
}

int export__highest_version(const char *base, long *highest, char *name,
                            char *err)
{
    *highest = 0;
    name[0] = '\0';
    DIR *d = opendir(base);
    if (d == NULL) {
        if (errno == ENOENT)
            return 0;
        return psc_seterr(err, PSC_EIO, "cannot list '%s': %s", base,
                          strerror(errno));
    }
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long v = s_version_number(e->d_name);
        if (v > *highest) {
            *highest = v;
            /* At most 9 digits: s_version_number() said so. */
            memcpy(name, e->d_name, strlen(e->d_name) + 1);
        }
    }
    closedir(d);
    return 0;
}

void export__version_name(long v, char *out)
{
    snprintf(out, EXPORT_VERSION_LEN, "%04ld", v);
}

int export_latest(const char *base, char *version, char *err)
{
    long v = 0;
    int rc = export__highest_version(base, &v, version, err);
    if (rc != 0)
        return rc;
    if (v == 0)
        return psc_seterr(err, PSC_ENOTFOUND, "no version under '%s'", base);
    return 0;
}
