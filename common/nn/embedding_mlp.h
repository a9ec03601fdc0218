/*
 * The embedding MLP on sparse features (model embedding_mlp): each feature
 * id has an embedding row of `width` floats in the ps's sparse table; an
 * example's rows are summed per field (value x row), the fields'
 * sums concatenated (fields x width) and fed to a small MLP (ReLU hidden
 * layers, one sigmoid output, logloss for binary labels). Feature j of an
 * example belongs to field j, and those past the last field to the last
 * one: the synthetic set has one feature per field, in field order.
 *
 * The rows come per feature occurrence, as the ps client scatters them
 * (rows + k * width is the row of set->keys[k]); the MLP's parameters are
 * one flat array, laid out by embedding_mlp_var(), so the ps shards them as
 * dense variables without knowing the architecture.
 */
#ifndef EMBEDDING_MLP_H
#define EMBEDDING_MLP_H

#include "model.h"
#include "sparse_set.h"

#include <stddef.h>
#include <stdint.h>

/* A model's shape plus scratch buffers; one per thread. */
typedef struct embedding_mlp embedding_mlp_t;

#define EMBEDDING_MLP_MAX_LAYERS 16

/*
 * Creates a model of fields x width inputs, nhidden hidden layers of the
 * widths in hidden (nhidden may be 0: logistic regression on the
 * embeddings) and one output. max_batch is the largest batch the compute
 * functions see: their scratch memory is allocated here once. Returns NULL
 * with one line in err (may be NULL) on bad shapes. Caller owns; free with
 * embedding_mlp_destroy().
 */
embedding_mlp_t *embedding_mlp_new(int fields, int width, const int *hidden,
                                   int nhidden, int max_batch, char *err);

/* Frees the model and sets *p to NULL; accepts NULL and *p == NULL. */
void embedding_mlp_destroy(embedding_mlp_t **p);

/*
 * Variables, in order: for each layer l, "mlp/layer<l>/kernel" (in x out,
 * row-major) then "mlp/layer<l>/bias". Borrowed; valid until
 * embedding_mlp_destroy().
 */
int embedding_mlp_num_vars(const embedding_mlp_t *m);
const struct model_var *embedding_mlp_var(const embedding_mlp_t *m, int i);

/* Floats in the flat parameter array (and in its gradient). */
size_t embedding_mlp_num_params(const embedding_mlp_t *m);

/*
 * Fills params from seed: ReLU layers' kernels He-uniform, the output's
 * Glorot-uniform, biases 0; a function of the layer widths and the seed.
 */
void embedding_mlp_init_params(const embedding_mlp_t *m, uint64_t seed,
                               float *params);

/*
 * Forward and backward on batch (1..max_batch examples) with its rows
 * (batch->nnz x width). Writes the gradient of the mean logloss per
 * occurrence into grad_rows (batch->nnz x width: a key named twice gets
 * two rows, which the ps client sums) and the parameters' into grad
 * (overwritten whole); returns the mean logloss.
 */
float embedding_mlp_loss_grad(embedding_mlp_t *m, const float *params,
                              const struct sparse_set *batch, const float *rows,
                              float *grad_rows, float *grad);

/*
 * The probability of every example of s (any size: in chunks of
 * max_batch) into p (s->n floats); rows as embedding_mlp_loss_grad().
 */
void embedding_mlp_predict(embedding_mlp_t *m, const float *params,
                           const struct sparse_set *s, const float *rows,
                           float *p);

#endif
