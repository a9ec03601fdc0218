/*
 * Which training example a worker takes next: its share of the data
 * (every nworkers-th example of a permutation fixed by the seed, so the
 * shares are balanced across classes), reshuffled each epoch from (seed,
 * epoch, worker); or, with sharding "sample", examples drawn at random
 * from all of them. psc-baseline takes the order of a lone worker, so one
 * process and a cluster train on the same batches.
 */
#ifndef EXAMPLE_ORDER_H
#define EXAMPLE_ORDER_H

#include "job.h"
#include "rng.h"

#include <stdint.h>

struct example_order {
    uint64_t seed;
    int index;
    int sample; /* draw with replacement from count */
    int count;  /* examples in the data set */
    int *order; /* this worker's examples, reshuffled each epoch */
    int norder;
    int cursor;
    long epoch; /* epochs begun */
    rng_t rng;  /* the draws of sharding "sample" */
};

/*
 * Worker index of nworkers over count examples. Returns 0, or
 * PSC_ECONFIG with a line when the worker's share is empty.
 */
int example_order_init(struct example_order *o, const struct job *job,
                       int count, int index, int nworkers, char *err);

/* The next example's index (a new epoch reshuffles when one ends). */
int example_order_next(struct example_order *o);

/*
 * Passes over the first n examples, as a worker resumed from a checkpoint
 * does: the batches that follow are those an uninterrupted run draws.
 */
void example_order_skip(struct example_order *o, uint64_t n);

void example_order_release(struct example_order *o);

#endif
