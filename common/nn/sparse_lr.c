/*
 * The loss is computed from the logit (log(1 + e^z) - y z, in a form that
 * cannot overflow), not from the probability: a confident wrong example
 * costs its true loss, not a clipped one.
 */
#include "sparse_lr.h"

#include <math.h>

static float s_logit(const struct sparse_set *s, size_t i, const float *w,
                     float bias)
{
    float z = bias;
    for (size_t k = s->starts[i]; k < s->starts[i + 1]; k++)
        z += s->values[k] * w[k];
    return z;
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

float sparse_lr_loss_grad(const struct sparse_set *batch, const float *w,
                          float bias, float *grad_w, float *grad_bias)
{
    double loss = 0;
    double gb = 0;
    float inv_n = 1.0f / (float) batch->n;
    for (size_t i = 0; i < batch->n; i++) {
        float z = s_logit(batch, i, w, bias);
        float y = batch->labels[i];
        loss += s_softplus(z) - (double) y * z;
        float d = (s_sigmoid(z) - y) * inv_n;
        gb += d;
        for (size_t k = batch->starts[i]; k < batch->starts[i + 1]; k++)
            grad_w[k] = d * batch->values[k];
    }
    *grad_bias = (float) gb;
    return (float) (loss / (double) batch->n);
}

void sparse_lr_predict(const struct sparse_set *s, const float *w, float bias,
                       float *p)
{
    for (size_t i = 0; i < s->n; i++)
        p[i] = s_sigmoid(s_logit(s, i, w, bias));
}
