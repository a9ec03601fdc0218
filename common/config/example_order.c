/*
 * The order is the worker's, moved here unchanged so that the baseline
 * shares it: the same seeds and streams, so checkpoints and runs from
 * before draw the same batches.
 */
#include "example_order.h"

#include "psc_alloc.h"
#include "psc_err.h"

#include <stdlib.h>
#include <string.h>

static void s_shuffle_epoch(struct example_order *o)
{
    rng_t r;
    rng_seed(&r, o->seed, ((uint64_t) o->epoch << 16) | (uint64_t) o->index);
    rng_shuffle_int(&r, o->order, (size_t) o->norder);
    o->cursor = 0;
    o->epoch++;
}

int example_order_init(struct example_order *o, const struct job *job,
                       int count, int index, int nworkers, char *err)
{
    memset(o, 0, sizeof *o);
    o->seed = (uint64_t) job->seed;
    o->index = index;
    o->sample = job->sharding == JOB_SAMPLE;
    o->count = count;
    int *all = psc_xmalloc((size_t) (count > 0 ? count : 1) * sizeof *all);
    for (int i = 0; i < count; i++)
        all[i] = i;
    rng_t r;
    rng_seed(&r, o->seed, 0xda7a);
    rng_shuffle_int(&r, all, (size_t) count);
    o->order = psc_xmalloc((size_t) (count > 0 ? count : 1) * sizeof *o->order);
    for (int i = 0; i < count; i++) {
        if (o->sample || i % nworkers == index)
            o->order[o->norder++] = all[i];
    }
    free(all);
    if (o->norder < 1) {
        example_order_release(o);
        return psc_seterr(err, PSC_ECONFIG,
                          "worker %d has no training examples: use fewer "
                          "workers or more data",
                          index);
    }
    s_shuffle_epoch(o);
    rng_seed(&o->rng, o->seed, 0x5a3e + (uint64_t) index);
    return 0;
}

int example_order_next(struct example_order *o)
{
    if (o->sample)
        return (int) rng_below(&o->rng, (uint64_t) o->count);
    if (o->cursor == o->norder)
        s_shuffle_epoch(o);
    return o->order[o->cursor++];
}

void example_order_skip(struct example_order *o, uint64_t n)
{
    if (o->sample) {
        for (uint64_t i = 0; i < n; i++)
            (void) rng_below(&o->rng, (uint64_t) o->count);
        return;
    }
    if (n == 0)
        return;
    /* Each epoch reshuffles the order the one before left: replay them
     * (init did epoch 0). */
    uint64_t epochs = n / (uint64_t) o->norder;
    for (uint64_t e = 0; e < epochs; e++)
        s_shuffle_epoch(o);
    o->cursor = (int) (n % (uint64_t) o->norder);
}

void example_order_release(struct example_order *o)
{
    free(o->order);
    o->order = NULL;
    o->norder = 0;
}
