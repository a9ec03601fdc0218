/*
 * The job's data: Fashion-MNIST images and labels, from local paths or
 * URLs (downloaded into the cache and checked against their SHA-256).
 */
#ifndef DATASET_H
#define DATASET_H

#include "job.h"

#include <stdint.h>

/*
 * Pixels stay bytes, as in the file, and are scaled to floats a batch at a
 * time: the floats of all 60,000 training images would be 188 MB a worker,
 * paged in and converted before its first step.
 */
struct dataset {
    uint8_t *pixels; /* count x dim, 0..255 */
    uint8_t *labels;
    int count;
    int dim;
};

/*
 * Loads the training set (test = 0) or the test set (test = 1), honouring
 * data.train_limit / data.test_limit. Returns 0 or PSC_E* with one line in
 * err. Release with dataset_release().
 */
int dataset_load(const struct job *job, int test, struct dataset *d, char *err);
void dataset_release(struct dataset *d);

/*
 * The local path of data file f: the path itself, or a URL's download in
 * the cache (data.cache_dir, or MODEL_DIR/cache) once its SHA-256 matched.
 * 0 with *path the caller's to free(), or PSC_E* with one line in err.
 */
int dataset_resolve(const struct job *job, enum job_data_file f, char **path,
                    char *err);

/* Example ex's pixels scaled to [0, 1] (pixel / 255): dim floats into x. */
void dataset_scaled_row(const struct dataset *d, int ex, float *x);

/* Every example scaled so: count x dim floats, the caller's to free(). */
float *dataset_scaled(const struct dataset *d);

#endif
