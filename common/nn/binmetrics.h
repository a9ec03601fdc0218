/*
 * What binary classifiers are judged by: the AUC (the chance a random
 * positive scores above a random negative, ties half) and the logloss.
 */
#ifndef BINMETRICS_H
#define BINMETRICS_H

#include <stddef.h>

/*
 * The AUC of scores against labels (0 or 1), n of each, into *auc.
 * Returns 0, or PSC_EINVAL when the labels hold only one class (no AUC).
 */
int binary_auc(const float *scores, const float *labels, size_t n, double *auc);

/* The mean logloss of probabilities p (clipped to [1e-7, 1 - 1e-7]). */
double binary_logloss(const float *p, const float *labels, size_t n);

/* The three figures of probabilities p against labels. */
struct binary_scores {
    double auc; /* 0.5 when the labels hold one class */
    double logloss;
    double accuracy; /* at the threshold 0.5 */
};
void binary_score(const float *p, const float *labels, size_t n,
                  struct binary_scores *out);

#endif
