/*
 * The seeded synthetic data set for sparse experiments, made in memory at
 * any scale: each example has one feature in each of `fields` fields, the
 * field's id drawn Zipf-distributed over its ids / fields ids (rank 1 the
 * most common, as real categorical data is); the true weights come from
 * the seed, and the label is drawn from the logistic model on them. So
 * the best any model can do (the Bayes-optimal AUC and logloss) is known.
 * Example i depends on (seed, i) alone: a worker makes its own share, and
 * a test set is another range of i.
 */
#ifndef SYNTH_H
#define SYNTH_H

#include "sparse_set.h"

#include <stddef.h>
#include <stdint.h>

#define SYNTH_MAX_IDS    1000000000000ull /* 10^12 */
#define SYNTH_MAX_FIELDS 1024

struct synth_opts {
    uint64_t seed;
    uint64_t first;  /* the first example's index */
    size_t examples; /* how many from first */
    int fields;      /* features per example */
    uint64_t ids;    /* feature ids in all (ids / fields per field) */
    double zipf;     /* the popularity exponent, > 0 (1.1) */
    double logit_sd; /* spread of the true logits (1.5) */
    double bias;     /* the true bias (-1) */
};

/* A checked generator for some options. */
struct synth {
    struct synth_opts o;
    uint64_t per_field;
    double h_first, h_last, cut; /* the Zipf sampler's constants */
};

/* o into g. 0, or PSC_EINVAL with a line naming the option and its range. */
int synth_init(struct synth *g, const struct synth_opts *o, char *err);

/* The true weight of feature id. */
double synth_weight(const struct synth *g, uint64_t id);

/*
 * Example i: its fields' feature ids into keys (fields of them), its true
 * probability returned, its label (0 or 1) into *label.
 */
double synth_example(const struct synth *g, uint64_t i, uint64_t *keys,
                     float *label);

/*
 * The examples first .. first + examples - 1 into out (initialised here,
 * feature values 1), their true probabilities into probs (examples of
 * them) when probs is not NULL.
 */
void synth_generate(const struct synth *g, struct sparse_set *out,
                    double *probs);

/*
 * The Bayes-optimal figures for examples whose true probabilities are
 * p[0..n): the expected AUC and logloss of predicting p itself.
 */
void synth_bayes(const double *p, size_t n, double *auc, double *logloss);

#endif
