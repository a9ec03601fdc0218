/*
 * Softmax regression and MLP on OpenBLAS. Every matrix product goes through
 * cblas; only the elementwise steps (bias, ReLU, softmax) are plain loops.
 * Activations are kept from the forward pass for the backward pass, in
 * buffers sized once for max_batch.
 */
#include "model.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "rng.h"

#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL_MAX_CLASSES 256 /* labels are uint8_t */

struct model {
    int nlayers;
    int *dims; /* nlayers + 1 widths: input, hidden..., classes */
    int max_batch;
    int nvars;
    struct model_var *vars;
    size_t nparams;
    float **acts;  /* acts[l], l >= 1: layer l's output, max_batch x dims[l] */
    float *delta0; /* two max_batch x widest-layer buffers for the */
    float *delta1; /* backward pass, used in turn */
    float *ones;   /* max_batch ones: bias gradients are dZ^T * ones */
};

/* Checks the widths; returns the number of layers, or a PSC_E* code. */
static int s_check_shape(const char *kind, const int *hidden, int nhidden,
                         int input_dim, int classes, char *err)
{
    int mlp = kind != NULL && strcmp(kind, "mlp") == 0;
    if (!mlp && (kind == NULL || strcmp(kind, "softmax") != 0))
        return psc_seterr(err, PSC_EINVAL,
                          "model '%s' is unknown: use 'softmax' or 'mlp'",
                          kind != NULL ? kind : "(null)");
    if (input_dim < 1)
        return psc_seterr(err, PSC_EINVAL,
                          "model input dimension %d is not valid: must be "
                          "at least 1",
                          input_dim);
    if (classes < 2 || classes > MODEL_MAX_CLASSES)
        return psc_seterr(err, PSC_EINVAL,
                          "model class count %d is not valid: must be 2..%d",
                          classes, MODEL_MAX_CLASSES);
    if (!mlp)
        return 1;
    if (nhidden < 1 || hidden == NULL)
        return psc_seterr(err, PSC_EINVAL,
                          "model 'mlp' needs at least one hidden layer");
    for (int i = 0; i < nhidden; i++) {
        if (hidden[i] < 1)
            return psc_seterr(err, PSC_EINVAL,
                              "model hidden layer %d has width %d: widths "
                              "must be at least 1",
                              i, hidden[i]);
    }
    return nhidden + 1;
}

/* Lays out kernel then bias for each layer in the flat array. */
static void s_layout(model_t *m)
{
    char name[32];
    size_t offset = 0;
    m->nvars = 2 * m->nlayers;
    m->vars = psc_xcalloc((size_t) m->nvars, sizeof(*m->vars));
    for (int l = 0; l < m->nlayers; l++) {
        struct model_var *k = &m->vars[2 * l];
        struct model_var *b = &m->vars[2 * l + 1];
        snprintf(name, sizeof(name), "layer%d/kernel", l);
        k->name = psc_xstrdup(name);
        k->rows = m->dims[l];
        k->cols = m->dims[l + 1];
        snprintf(name, sizeof(name), "layer%d/bias", l);
        b->name = psc_xstrdup(name);
        b->rows = m->dims[l + 1];
        b->cols = 1;
        k->size = (size_t) k->rows * (size_t) k->cols;
        b->size = (size_t) b->rows;
        k->offset = offset;
        b->offset = offset + k->size;
        offset = b->offset + b->size;
    }
    m->nparams = offset;
}

static void s_alloc_scratch(model_t *m)
{
    size_t batch = (size_t) m->max_batch;
    size_t widest = 0;
    m->acts = psc_xcalloc((size_t) m->nlayers + 1, sizeof(*m->acts));
    for (int l = 1; l <= m->nlayers; l++) {
        size_t width = (size_t) m->dims[l];
        m->acts[l] = psc_xaligned(batch * width * sizeof(float));
        if (width > widest)
            widest = width;
    }
    m->delta0 = psc_xaligned(batch * widest * sizeof(float));
    m->delta1 = psc_xaligned(batch * widest * sizeof(float));
    m->ones = psc_xaligned(batch * sizeof(float));
    for (size_t i = 0; i < batch; i++)
        m->ones[i] = 1.0f;
}

model_t *model_new(const char *kind, const int *hidden, int nhidden,
                   int input_dim, int classes, int max_batch, char *err)
{
    int nlayers = s_check_shape(kind, hidden, nhidden, input_dim, classes, err);
    if (nlayers < 0)
        return NULL;
    if (max_batch < 1) {
        psc_seterr(err, PSC_EINVAL,
                   "model max batch %d is not valid: must be at least 1",
                   max_batch);
        return NULL;
    }
    model_t *m = psc_xcalloc(1, sizeof(*m));
    m->nlayers = nlayers;
    m->max_batch = max_batch;
    m->dims = psc_xcalloc((size_t) nlayers + 1, sizeof(*m->dims));
    m->dims[0] = input_dim;
    for (int l = 1; l < nlayers; l++)
        m->dims[l] = hidden[l - 1];
    m->dims[nlayers] = classes;
    s_layout(m);
    s_alloc_scratch(m);
    return m;
}

void model_destroy(model_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    model_t *m = *p;
    for (int i = 0; i < m->nvars; i++)
        free((char *) m->vars[i].name);
    for (int l = 1; l <= m->nlayers; l++)
        free(m->acts[l]);
    free(m->acts);
    free(m->vars);
    free(m->dims);
    free(m->delta0);
    free(m->delta1);
    free(m->ones);
    free(m);
    *p = NULL;
}

int model_num_vars(const model_t *m)
{
    return m->nvars;
}

const struct model_var *model_var(const model_t *m, int i)
{
    assert(i >= 0 && i < m->nvars);
    return &m->vars[i];
}

size_t model_num_params(const model_t *m)
{
    return m->nparams;
}

void model_init_params(const model_t *m, uint64_t seed, float *params)
{
    for (int l = 0; l < m->nlayers; l++) {
        const struct model_var *k = &m->vars[2 * l];
        const struct model_var *b = &m->vars[2 * l + 1];
        double fan_in = k->rows;
        double fan_out = k->cols;
        /*
         * He keeps the variance of ReLU activations steady from layer to
         * layer; the output layer feeds softmax, so it gets Glorot. One rng
         * stream per layer means a layer's values do not depend on the
         * sizes of the layers before it.
         */
        int relu = l < m->nlayers - 1;
        double limit =
            relu ? sqrt(6.0 / fan_in) : sqrt(6.0 / (fan_in + fan_out));
        rng_t r;
        rng_seed(&r, seed, (uint64_t) l);
        float *w = params + k->offset;
        for (size_t i = 0; i < k->size; i++)
            w[i] = (float) ((2.0 * rng_uniform(&r) - 1.0) * limit);
        memset(params + b->offset, 0, b->size * sizeof(float));
    }
}

/* out[i][j] += b[j], then ReLU when asked. */
static void s_bias_act(float *out, const float *b, int batch, int width,
                       int relu)
{
    for (int i = 0; i < batch; i++) {
        float *row = out + (size_t) i * (size_t) width;
        for (int j = 0; j < width; j++) {
            float z = row[j] + b[j];
            row[j] = relu && z < 0.0f ? 0.0f : z;
        }
    }
}

/* Leaves each layer's output in acts[l]; acts[nlayers] holds the logits. */
static void s_forward(model_t *m, const float *params, const float *x,
                      int batch)
{
    const float *in = x;
    for (int l = 0; l < m->nlayers; l++) {
        int din = m->dims[l];
        int dout = m->dims[l + 1];
        const float *w = params + m->vars[2 * l].offset;
        const float *b = params + m->vars[2 * l + 1].offset;
        float *out = m->acts[l + 1];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, dout, din,
                    1.0f, in, din, w, dout, 0.0f, out, dout);
        s_bias_act(out, b, batch, dout, l < m->nlayers - 1);
        in = out;
    }
}

/*
 * Turns one row of logits into probabilities in place and returns that
 * example's loss, log(sum(exp(z))) - z[label]. Subtracting the largest
 * logit first keeps exp() from overflowing.
 */
static double s_softmax_row(float *z, int classes, int label, int *hit)
{
    int best = 0;
    for (int j = 1; j < classes; j++) {
        if (z[j] > z[best])
            best = j;
    }
    float zmax = z[best];
    double zlabel = (double) z[label] - (double) zmax;
    double sum = 0.0;
    for (int j = 0; j < classes; j++) {
        z[j] = expf(z[j] - zmax);
        sum += z[j];
    }
    float inv = (float) (1.0 / sum);
    for (int j = 0; j < classes; j++)
        z[j] *= inv;
    *hit = best == label;
    /* sum >= 1: the largest logit contributes exp(0). */
    /* cppcheck-suppress invalidFunctionArg */
    return log(sum) - zlabel;
}

/* Applies softmax to the logits; returns the summed loss, counts hits. */
static double s_softmax(model_t *m, const uint8_t *y, int batch, int *correct)
{
    int classes = m->dims[m->nlayers];
    float *probs = m->acts[m->nlayers];
    double loss = 0.0;
    for (int i = 0; i < batch; i++) {
        int hit = 0;
        assert(y[i] < classes);
        loss += s_softmax_row(probs + (size_t) i * (size_t) classes, classes,
                              y[i], &hit);
        *correct += hit;
    }
    return loss;
}

/* dZ of the output layer for the mean loss: (softmax - onehot) / batch. */
static void s_output_delta(model_t *m, const uint8_t *y, int batch, float *dz)
{
    int classes = m->dims[m->nlayers];
    const float *probs = m->acts[m->nlayers];
    float scale = 1.0f / (float) batch;
    for (int i = 0; i < batch; i++) {
        size_t row = (size_t) i * (size_t) classes;
        for (int j = 0; j < classes; j++)
            dz[row + j] = probs[row + j] * scale;
        dz[row + y[i]] -= scale;
    }
}

/* ReLU's derivative: keep the gradient where the unit was active. */
static void s_relu_mask(float *d, const float *act, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = act[i] > 0.0f ? d[i] : 0.0f;
}

static void s_backward(model_t *m, const float *params, const float *x,
                       const uint8_t *y, int batch, float *grad)
{
    float *dz = m->delta0;
    float *dprev = m->delta1;
    s_output_delta(m, y, batch, dz);
    for (int l = m->nlayers - 1; l >= 0; l--) {
        int din = m->dims[l];
        int dout = m->dims[l + 1];
        const float *in = l == 0 ? x : m->acts[l];
        const struct model_var *k = &m->vars[2 * l];
        /* dW = in^T dZ; db = dZ^T ones (the column sums of dZ). */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, din, dout, batch,
                    1.0f, in, din, dz, dout, 0.0f, grad + k->offset, dout);
        cblas_sgemv(CblasRowMajor, CblasTrans, batch, dout, 1.0f, dz, dout,
                    m->ones, 1, 0.0f, grad + m->vars[2 * l + 1].offset, 1);
        if (l == 0)
            break;
        /* dIn = dZ W^T, then through the ReLU that produced `in`. */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, din, dout,
                    1.0f, dz, dout, params + k->offset, dout, 0.0f, dprev, din);
        s_relu_mask(dprev, in, (size_t) batch * (size_t) din);
        float *tmp = dz;
        dz = dprev;
        dprev = tmp;
    }
}

float model_loss_grad(model_t *m, const float *params, const float *x,
                      const uint8_t *y, int batch, float *grad)
{
    assert(batch >= 1 && batch <= m->max_batch);
    int correct = 0;
    s_forward(m, params, x, batch);
    double loss = s_softmax(m, y, batch, &correct);
    s_backward(m, params, x, y, batch, grad);
    return (float) (loss / batch);
}

float model_evaluate(model_t *m, const float *params, const float *x,
                     const uint8_t *y, int n, int *correct)
{
    double loss = 0.0;
    *correct = 0;
    int chunk = 0;
    for (int done = 0; done < n; done += chunk) {
        chunk = n - done < m->max_batch ? n - done : m->max_batch;
        s_forward(m, params, x + (size_t) done * (size_t) m->dims[0], chunk);
        loss += s_softmax(m, y + done, chunk, correct);
    }
    return n > 0 ? (float) (loss / n) : 0.0f;
}
