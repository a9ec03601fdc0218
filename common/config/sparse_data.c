/*
 * Sparse examples from LIBSVM files or the synthetic generator.
 */
#include "sparse_data.h"

#include "dataset.h"
#include "fhash.h"
#include "libsvm.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "synth.h"

#include <stdlib.h>
#include <string.h>

/* The examples a set keeps: all of them, or the first limit. */
static size_t s_count(size_t n, long limit)
{
    return limit > 0 && (size_t) limit < n ? (size_t) limit : n;
}

static int s_load_synth(const struct job *job, int test, struct sparse_data *d,
                        char *err)
{
    struct synth_opts o = {
        .seed = (uint64_t) job->seed,
        .first = test ? (uint64_t) job->synth_train_examples : 0,
        .examples = test ? (size_t) job->synth_test_examples
                         : (size_t) job->synth_train_examples,
        .fields = (int) job->synth_fields,
        .ids = (uint64_t) job->synth_ids,
        .zipf = job->synth_zipf,
        .logit_sd = job->synth_logit_sd,
        .bias = job->synth_bias,
    };
    o.examples = s_count(o.examples, test ? job->test_limit : job->train_limit);
    struct synth g;
    if (synth_init(&g, &o, err) != 0)
        return PSC_ECONFIG;
    double *probs = psc_xmalloc(o.examples * sizeof *probs);
    synth_generate(&g, &d->set, probs);
    synth_bayes(probs, o.examples, &d->bayes_auc, &d->bayes_logloss);
    d->has_bayes = 1;
    free(probs);
    /* The generator gives ids; the table holds hashed rows when asked. */
    if (job->hash_buckets > 0) {
        for (size_t k = 0; k < d->set.nnz; k++)
            d->set.keys[k] = fhash_bucket(d->set.keys[k], (uint64_t) job->seed,
                                          (uint64_t) job->hash_buckets);
    }
    return 0;
}

static int s_load_libsvm(const struct job *job, int test, struct sparse_data *d,
                         char *err)
{
    char *path = NULL;
    enum job_data_file f = test ? JOB_TEST_LIBSVM : JOB_TRAIN_LIBSVM;
    int rc = dataset_resolve(job, f, &path, err);
    if (rc != 0)
        return rc;
    struct libsvm_opts o = {
        .classes = 2,
        .hash_buckets = (uint64_t) job->hash_buckets,
        .hash_seed = (uint64_t) job->seed,
    };
    long limit = test ? job->test_limit : job->train_limit;
    o.max_examples = limit > 0 ? (size_t) limit : 0;
    rc = libsvm_load(path, &o, &d->set, err);
    free(path);
    if (rc == 0 && d->set.n == 0)
        rc = psc_seterr(err, PSC_EINVAL,
                        "'%s' holds no examples: give a LIBSVM file with at "
                        "least one line",
                        job->data[f]);
    return rc;
}

int sparse_data_load(const struct job *job, int test, struct sparse_data *d,
                     char *err)
{
    memset(d, 0, sizeof *d);
    int rc = job->data_format == JOB_DATA_SYNTH
                 ? s_load_synth(job, test, d, err)
                 : s_load_libsvm(job, test, d, err);
    if (rc != 0)
        sparse_data_release(d);
    return rc;
}

void sparse_data_release(struct sparse_data *d)
{
    if (d->set.starts != NULL)
        sparse_set_release(&d->set);
    memset(d, 0, sizeof *d);
}
