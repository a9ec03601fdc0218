/*
 * Logistic regression on sparse features (model sparse_lr): example i's
 * probability is sigmoid(bias + the sum of value x weight over its
 * features). The weights are rows of a 1-wide sparse table that lives on
 * the ps; here they come per feature occurrence, as the ps client
 * scatters them (w[k] is the weight of set->keys[k]), so a batch needs no
 * map from keys to weights.
 */
#ifndef SPARSE_LR_H
#define SPARSE_LR_H

#include "sparse_set.h"

/*
 * The batch's mean logloss. Writes the gradient of it per occurrence into
 * grad_w (batch->nnz floats: a key named twice gets two rows, which the ps
 * client sums) and the bias's into *grad_bias.
 */
float sparse_lr_loss_grad(const struct sparse_set *batch, const float *w,
                          float bias, float *grad_w, float *grad_bias);

/* The probability of every example of s into p (s->n floats). */
void sparse_lr_predict(const struct sparse_set *s, const float *w, float bias,
                       float *p);

#endif
