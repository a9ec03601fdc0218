/*
 * The job's sparse examples, for models sparse_lr and embedding_mlp: the
 * LIBSVM files (data.format libsvm) or the seeded synthetic set (synth),
 * feature ids folded into data.hash_buckets rows when it is set. The synthetic
 * set also knows its true probabilities, so the best AUC and logloss any model
 * can reach on it are known.
 */
#ifndef SPARSE_DATA_H
#define SPARSE_DATA_H

#include "job.h"
#include "sparse_set.h"

struct sparse_data {
    struct sparse_set set;
    int has_bayes; /* synth: the figures below are known */
    double bayes_auc;
    double bayes_logloss;
};

/*
 * Loads the training set (test = 0) or the test set (test = 1), honouring
 * data.train_limit / data.test_limit. Returns 0 or PSC_E* with one line in
 * err. Release with sparse_data_release().
 */
int sparse_data_load(const struct job *job, int test, struct sparse_data *d,
                     char *err);
void sparse_data_release(struct sparse_data *d);

#endif
