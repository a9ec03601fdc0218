/*
 * Locating and loading the job's IDX files.
 */
#include "dataset.h"

#include "http.h"
#include "idx.h"
#include "psc_alloc.h"
#include "psc_clones.h"
#include "psc_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dataset_resolve(const struct job *job, enum job_data_file f, char **path,
                    char *err)
{
    char location[2 * JOB_STR];
    char cache[JOB_STR + 16];
    job_data_location(job, f, location, sizeof location);
    if (job->cache_dir[0] != '\0')
        snprintf(cache, sizeof cache, "%s", job->cache_dir);
    else
        snprintf(cache, sizeof cache, "%s/cache", job->model_dir);
    return http_resolve(location, job->data_sha256[f], cache, path, err);
}

int dataset_load(const struct job *job, int test, struct dataset *d, char *err)
{
    enum job_data_file fi = test ? JOB_TEST_IMAGES : JOB_TRAIN_IMAGES;
    enum job_data_file fl = test ? JOB_TEST_LABELS : JOB_TRAIN_LABELS;
    char *ipath = NULL;
    char *lpath = NULL;
    int nlabels = 0;
    memset(d, 0, sizeof *d);
    int rc = dataset_resolve(job, fi, &ipath, err);
    if (rc == 0)
        rc = dataset_resolve(job, fl, &lpath, err);
    if (rc == 0)
        rc = idx_load_images(ipath, &d->pixels, &d->count, &d->dim, err);
    if (rc == 0)
        rc = idx_load_labels(lpath, &d->labels, &nlabels, err);
    if (rc == 0 && nlabels != d->count)
        rc = psc_seterr(err, PSC_EINVAL,
                        "'%s' has %d images but '%s' has %d labels: give "
                        "matching files",
                        ipath, d->count, lpath, nlabels);
    if (rc == 0 && d->dim != 784)
        rc = psc_seterr(err, PSC_EINVAL,
                        "'%s' has images of %d pixels: the models expect "
                        "28 x 28 Fashion-MNIST images",
                        ipath, d->dim);
    for (int i = 0; rc == 0 && i < d->count; i++) {
        if (d->labels[i] >= 10)
            rc = psc_seterr(err, PSC_EINVAL,
                            "'%s' has label %d at %d: Fashion-MNIST labels "
                            "are 0 to 9",
                            lpath, d->labels[i], i);
    }
    long limit = test ? job->test_limit : job->train_limit;
    if (rc == 0 && limit > 0 && limit < d->count)
        d->count = (int) limit;
    free(ipath);
    free(lpath);
    if (rc != 0)
        dataset_release(d);
    return rc;
}

void dataset_release(struct dataset *d)
{
    free(d->pixels);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

/* The one scaling every role uses, so that all of them see the same floats. */
PSC_CLONES static void s_scale(const uint8_t *pixels, size_t n, float *x)
{
    for (size_t i = 0; i < n; i++) /* vectorised */
        x[i] = (float) pixels[i] / 255.0f;
}

void dataset_scaled_row(const struct dataset *d, int ex, float *x)
{
    size_t dim = (size_t) d->dim;
    s_scale(d->pixels + (size_t) ex * dim, dim, x);
}

float *dataset_scaled(const struct dataset *d)
{
    size_t n = (size_t) d->count * (size_t) d->dim;
    float *x = psc_xmalloc((n > 0 ? n : 1) * sizeof *x);
    s_scale(d->pixels, n, x);
    return x;
}
