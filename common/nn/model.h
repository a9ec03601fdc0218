/*
 * The models workers train: softmax regression and a multi-layer
 * perceptron (ReLU hidden layers, softmax cross-entropy), with forward and
 * backward passes on OpenBLAS. Parameters live outside the model in one
 * flat float array, so the parameter server can shard and update them
 * without knowing the architecture.
 */
#ifndef MODEL_H
#define MODEL_H

#include <stddef.h>
#include <stdint.h>

/* A model's shape plus scratch buffers; one per thread. */
typedef struct model model_t;

/*
 * One variable's place in the flat parameter array. A kernel is rows x cols
 * (in x out, row-major); a bias is a vector with rows = out and cols = 1.
 * size = rows * cols; offset counts floats from the start of the array.
 */
struct model_var {
    const char *name;
    int rows;
    int cols;
    size_t size;
    size_t offset;
};

/*
 * Creates a model. kind is "softmax" or "mlp"; hidden holds the nhidden
 * hidden-layer widths (ignored for softmax; mlp needs at least one).
 * classes must be 2..256 (labels are uint8_t). max_batch is the largest
 * batch the compute functions will see: scratch memory for it is allocated
 * here once, never per call. Returns NULL with a one-line reason in err
 * (may be NULL) on bad input. Caller owns; free with model_destroy().
 */
model_t *model_new(const char *kind, const int *hidden, int nhidden,
                   int input_dim, int classes, int max_batch, char *err);

/* Frees the model and sets *p to NULL; accepts NULL and *p == NULL. */
void model_destroy(model_t **p);

/*
 * Variables, in order: for each layer l, "layer<l>/kernel" then
 * "layer<l>/bias". Softmax regression is one layer; an mlp has
 * nhidden + 1. The returned pointer is borrowed; valid until
 * model_destroy().
 */
int model_num_vars(const model_t *m);
const struct model_var *model_var(const model_t *m, int i);

/* Total floats in the flat parameter array (and in a gradient). */
size_t model_num_params(const model_t *m);

/*
 * Fills params[0..model_num_params) from seed: kernels of ReLU layers are
 * He-uniform, the output kernel Glorot-uniform, biases 0. The result
 * depends only on the model's layer widths and the seed.
 */
void model_init_params(const model_t *m, uint64_t seed, float *params);

/*
 * Runs forward and backward on a batch (1..max_batch examples): x is
 * batch x input_dim row-major, y the labels (< classes). Writes the
 * gradient of the mean loss into grad (same layout as params, fully
 * overwritten) and returns the mean softmax cross-entropy loss.
 */
float model_loss_grad(model_t *m, const float *params, const float *x,
                      const uint8_t *y, int batch, float *grad);

/*
 * Evaluates n >= 0 examples in chunks of max_batch. Returns the mean loss
 * (0 when n is 0) and writes the number whose arg-max class equals the
 * label to *correct.
 */
float model_evaluate(model_t *m, const float *params, const float *x,
                     const uint8_t *y, int n, int *correct);

#endif
