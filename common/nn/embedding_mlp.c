/*
 * The layers are matrix products on cblas; the embedding sums, bias, ReLU
 * and sigmoid are plain loops. The loss is computed from the logit
 * (log(1 + e^z) - y z, in a form that cannot overflow), as sparse_lr's.
 */
#include "embedding_mlp.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "rng.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_LEN 32

struct embedding_mlp {
    int fields;
    int width;
    int nlayers; /* hidden layers + the output */
    int max_batch;
    int dims[EMBEDDING_MLP_MAX_LAYERS + 1]; /* dims[0] = fields x width */
    struct model_var vars[2 * EMBEDDING_MLP_MAX_LAYERS];
    char names[2 * EMBEDDING_MLP_MAX_LAYERS][NAME_LEN];
    size_t nparams;
    /* acts[0] the embeddings, acts[l + 1] layer l's output (after ReLU);
     * acts[nlayers] the logits. Each max_batch x dims[l]. */
    float *acts[EMBEDDING_MLP_MAX_LAYERS + 1];
    float *delta[2]; /* max_batch x the widest layer: the backward pass */
};

embedding_mlp_t *embedding_mlp_new(int fields, int width, const int *hidden,
                                   int nhidden, int max_batch, char *err)
{
    if (fields < 1 || width < 1 || max_batch < 1 || nhidden < 0 ||
        nhidden >= EMBEDDING_MLP_MAX_LAYERS) {
        psc_seterr(err, PSC_EINVAL,
                   "embedding_mlp: %d fields of width %d, %d hidden layers "
                   "and batches of %d: want at least 1 field, width 1, "
                   "batch 1, and 0 to %d hidden layers",
                   fields, width, nhidden, max_batch,
                   EMBEDDING_MLP_MAX_LAYERS - 1);
        return NULL;
    }
    if ((long) fields * width > 1L << 20) {
        psc_seterr(err, PSC_EINVAL,
                   "embedding_mlp: %d fields x width %d is over 2^20 inputs",
                   fields, width);
        return NULL;
    }
    for (int l = 0; l < nhidden; l++) {
        if (hidden[l] < 1 || hidden[l] > 65536) {
            psc_seterr(err, PSC_EINVAL,
                       "embedding_mlp: hidden layer %d is %d wide: want 1 to "
                       "65536",
                       l, hidden[l]);
            return NULL;
        }
    }
    embedding_mlp_t *m = psc_xcalloc(1, sizeof *m);
    m->fields = fields;
    m->width = width;
    m->nlayers = nhidden + 1;
    m->max_batch = max_batch;
    m->dims[0] = fields * width;
    for (int l = 0; l < nhidden; l++)
        m->dims[l + 1] = hidden[l];
    m->dims[m->nlayers] = 1;
    size_t off = 0;
    int widest = 1;
    for (int l = 0; l < m->nlayers; l++) {
        struct model_var *k = &m->vars[2 * l];
        struct model_var *b = &m->vars[2 * l + 1];
        snprintf(m->names[2 * l], NAME_LEN, "mlp/layer%d/kernel", l);
        snprintf(m->names[2 * l + 1], NAME_LEN, "mlp/layer%d/bias", l);
        *k = (struct model_var){m->names[2 * l], m->dims[l], m->dims[l + 1],
                                (size_t) m->dims[l] * (size_t) m->dims[l + 1],
                                off};
        off += k->size;
        *b = (struct model_var){m->names[2 * l + 1], m->dims[l + 1], 1,
                                (size_t) m->dims[l + 1], off};
        off += b->size;
    }
    m->nparams = off;
    for (int l = 0; l <= m->nlayers; l++) {
        m->acts[l] = psc_xaligned((size_t) max_batch * (size_t) m->dims[l] * 4);
        widest = m->dims[l] > widest ? m->dims[l] : widest;
    }
    for (int i = 0; i < 2; i++)
        m->delta[i] = psc_xaligned((size_t) max_batch * (size_t) widest * 4);
    return m;
}

void embedding_mlp_destroy(embedding_mlp_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    embedding_mlp_t *m = *p;
    for (int l = 0; l <= m->nlayers; l++)
        free(m->acts[l]);
    free(m->delta[0]);
    free(m->delta[1]);
    free(m);
    *p = NULL;
}

int embedding_mlp_num_vars(const embedding_mlp_t *m)
{
    return 2 * m->nlayers;
}

const struct model_var *embedding_mlp_var(const embedding_mlp_t *m, int i)
{
    return &m->vars[i];
}

size_t embedding_mlp_num_params(const embedding_mlp_t *m)
{
    return m->nparams;
}

void embedding_mlp_init_params(const embedding_mlp_t *m, uint64_t seed,
                               float *params)
{
    for (int l = 0; l < m->nlayers; l++) {
        const struct model_var *k = &m->vars[2 * l];
        const struct model_var *b = &m->vars[2 * l + 1];
        int relu = l < m->nlayers - 1;
        double limit = relu ? sqrt(6.0 / k->rows)
                            : sqrt(6.0 / (double) (k->rows + k->cols));
        /* One stream per layer, apart from the dense models' streams. */
        rng_t r;
        rng_seed(&r, seed, 0xe1b0u + (uint64_t) l);
        float *w = params + k->offset;
        for (size_t i = 0; i < k->size; i++)
            w[i] = (float) ((2.0 * rng_uniform(&r) - 1.0) * limit);
        memset(params + b->offset, 0, b->size * sizeof(float));
    }
}

/* The field of feature j of an example. */
static int s_field(const embedding_mlp_t *m, size_t j)
{
    return j < (size_t) m->fields ? (int) j : m->fields - 1;
}

/* Examples first .. first + count - 1 of s into acts[0], summed per field. */
static void s_embed(embedding_mlp_t *m, const struct sparse_set *s,
                    size_t first, int count, const float *rows)
{
    size_t in = (size_t) m->dims[0], w = (size_t) m->width;
    float *x = m->acts[0];
    memset(x, 0, (size_t) count * in * sizeof(float));
    for (int i = 0; i < count; i++) {
        size_t ex = first + (size_t) i;
        float *xi = x + (size_t) i * in;
        for (size_t k = s->starts[ex]; k < s->starts[ex + 1]; k++) {
            float *dst = xi + (size_t) s_field(m, k - s->starts[ex]) * w;
            const float *row = rows + k * w;
            float v = s->values[k];
            for (size_t c = 0; c < w; c++)
                dst[c] += v * row[c];
        }
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

/* acts[1 .. nlayers] from acts[0]; acts[nlayers] holds the logits. */
static void s_forward(embedding_mlp_t *m, const float *params, int batch)
{
    for (int l = 0; l < m->nlayers; l++) {
        int din = m->dims[l], dout = m->dims[l + 1];
        const struct model_var *k = &m->vars[2 * l];
        const struct model_var *b = &m->vars[2 * l + 1];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, dout, din,
                    1.0f, m->acts[l], din, params + k->offset, dout, 0.0f,
                    m->acts[l + 1], dout);
        s_bias_act(m->acts[l + 1], params + b->offset, batch, dout,
                   l < m->nlayers - 1);
    }
}

/* log(1 + e^z), exact for large |z|. */
static double s_softplus(double z)
{
    return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

static float s_sigmoid(float z)
{
    return z >= 0 ? 1.0f / (1.0f + expf(-z)) : expf(z) / (1.0f + expf(z));
}

/*
 * From the logits' gradient in delta[0] back through the layers: the
 * parameters' gradient into grad, the embeddings' left in the returned
 * buffer (batch x dims[0]).
 */
static float *s_backward(embedding_mlp_t *m, const float *params, int batch,
                         float *grad)
{
    float *d = m->delta[0], *prev = m->delta[1];
    for (int l = m->nlayers - 1; l >= 0; l--) {
        int din = m->dims[l], dout = m->dims[l + 1];
        const struct model_var *k = &m->vars[2 * l];
        const struct model_var *b = &m->vars[2 * l + 1];
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, din, dout, batch,
                    1.0f, m->acts[l], din, d, dout, 0.0f, grad + k->offset,
                    dout);
        float *gb = grad + b->offset;
        memset(gb, 0, (size_t) dout * sizeof(float));
        for (int i = 0; i < batch; i++)
            for (int j = 0; j < dout; j++)
                gb[j] += d[(size_t) i * (size_t) dout + (size_t) j];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, din, dout,
                    1.0f, d, dout, params + k->offset, dout, 0.0f, prev, din);
        if (l > 0) {
            /* Through the ReLU: acts[l] > 0 exactly where it passed. */
            const float *a = m->acts[l];
            size_t n = (size_t) batch * (size_t) din;
            for (size_t i = 0; i < n; i++)
                prev[i] = a[i] > 0.0f ? prev[i] : 0.0f;
        }
        float *t = d;
        d = prev;
        prev = t;
    }
    return d;
}

float embedding_mlp_loss_grad(embedding_mlp_t *m, const float *params,
                              const struct sparse_set *batch, const float *rows,
                              float *grad_rows, float *grad)
{
    int n = (int) batch->n;
    s_embed(m, batch, 0, n, rows);
    s_forward(m, params, n);
    const float *z = m->acts[m->nlayers];
    double loss = 0;
    float inv_n = 1.0f / (float) n;
    for (int i = 0; i < n; i++) {
        float y = batch->labels[i];
        loss += s_softplus(z[i]) - (double) y * z[i];
        m->delta[0][i] = (s_sigmoid(z[i]) - y) * inv_n;
    }
    const float *dx = s_backward(m, params, n, grad);
    size_t in = (size_t) m->dims[0], w = (size_t) m->width;
    for (int i = 0; i < n; i++) {
        const float *dxi = dx + (size_t) i * in;
        for (size_t k = batch->starts[i]; k < batch->starts[i + 1]; k++) {
            const float *src =
                dxi + (size_t) s_field(m, k - batch->starts[i]) * w;
            float *dst = grad_rows + k * w;
            float v = batch->values[k];
            for (size_t c = 0; c < w; c++)
                dst[c] = v * src[c];
        }
    }
    return (float) (loss / (double) n);
}

void embedding_mlp_predict(embedding_mlp_t *m, const float *params,
                           const struct sparse_set *s, const float *rows,
                           float *p)
{
    for (size_t first = 0; first < s->n; first += (size_t) m->max_batch) {
        size_t left = s->n - first;
        int count = left < (size_t) m->max_batch ? (int) left : m->max_batch;
        s_embed(m, s, first, count, rows);
        s_forward(m, params, count);
        const float *z = m->acts[m->nlayers];
        for (int i = 0; i < count; i++)
            p[first + (size_t) i] = s_sigmoid(z[i]);
    }
}
