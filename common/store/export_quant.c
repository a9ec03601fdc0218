/*
 * Post-training dynamic-range quantization: int8 kernels with one
 * symmetric scale per output column, as TFLite's. A column of zeros gets
 * scale 1 so that dequantizing never divides by zero.
 */
#include "export.h"

#include "psc_alloc.h"

#include <math.h>
#include <stdlib.h>

static void s_quantize_layer(struct export_layer *L)
{
    size_t n = (size_t) L->in * L->out;
    L->qkernel = psc_xmalloc(n);
    L->scale = psc_xmalloc((size_t) L->out * sizeof *L->scale);
    for (int c = 0; c < L->out; c++) {
        float top = 0;
        for (int r = 0; r < L->in; r++)
            top = fmaxf(top, fabsf(L->kernel[(size_t) r * L->out + c]));
        L->scale[c] = top > 0 ? top / 127.0f : 1.0f;
    }
    for (size_t i = 0; i < n; i++) {
        float s = L->scale[i % (size_t) L->out];
        float q = roundf(L->kernel[i] / s);
        q = fminf(127.0f, fmaxf(-127.0f, q));
        L->qkernel[i] = (int8_t) q;
        L->kernel[i] = (float) L->qkernel[i] * s;
    }
}

void export_model_quantize(struct export_model *m)
{
    if (m->dtype == EXPORT_INT8)
        return;
    for (int l = 0; l < m->nlayers; l++)
        s_quantize_layer(&m->layers[l]);
    m->dtype = EXPORT_INT8;
}
