/*
 * The job's data: Fashion-MNIST images and labels, from local paths or
 * URLs (downloaded into the cache and checked against their SHA-256).
 */
#ifndef DATASET_H
#define DATASET_H

#include "job.h"

#include <stdint.h>

struct dataset {
    float *images; /* count x dim, scaled to [0, 1] */
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

#endif
