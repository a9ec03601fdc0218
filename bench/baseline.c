/*
 * psc-baseline: the workers' forward/backward loop and the ps's optimizer
 * update in one process, with no network. It is the yardstick the cluster's
 * throughput is measured against: examples per second of the same model,
 * batch and optimizer on the same data.
 */
#include "dataset.h"
#include "model.h"
#include "optim.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "psc_time.h"
#include "rng.h"
#include <cblas.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct loop {
    model_t *model;
    struct optim_config optim;
    float *params;
    float *grad;
    float *slot0;
    float *slot1;
    float *x;
    uint8_t *y;
};

static void s_batch(const struct dataset *d, rng_t *r, struct loop *l,
                    int batch)
{
    for (int i = 0; i < batch; i++) {
        int ex = (int) rng_below(r, (uint64_t) d->count);
        memcpy(l->x + (size_t) i * d->dim, d->images + (size_t) ex * d->dim,
               (size_t) d->dim * sizeof(float));
        l->y[i] = d->labels[ex];
    }
}

static int s_setup(const struct job *job, const struct dataset *d,
                   struct loop *l, char *err)
{
    l->model = model_new(job->model, job->hidden, job->nhidden, d->dim, 10,
                         (int) job->batch_size, err);
    if (l->model == NULL)
        return PSC_ECONFIG;
    size_t n = model_num_params(l->model);
    l->params = psc_xaligned(n * 4);
    l->grad = psc_xaligned(n * 4);
    l->slot0 = psc_xaligned(n * 4);
    l->slot1 = psc_xaligned(n * 4);
    l->x = psc_xaligned((size_t) job->batch_size * (size_t) d->dim * 4);
    l->y = psc_xmalloc((size_t) job->batch_size);
    model_init_params(l->model, (uint64_t) job->seed, l->params);
    job_optim_config(job, &l->optim);
    optim_init_slots(&l->optim, l->slot0, l->slot1, n);
    return 0;
}

static void s_release(struct loop *l)
{
    model_destroy(&l->model);
    free(l->params);
    free(l->grad);
    free(l->slot0);
    free(l->slot1);
    free(l->x);
    free(l->y);
}

/* "--steps N": 0 for a whole decimal number from 1, else PSC_EINVAL. */
static int s_parse_steps(const char *text, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE || v < 1)
        return PSC_EINVAL;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    /* Job options only: no cluster, so TF_CONFIG is not read. */
    const char *path = NULL;
    const char *sets[64];
    int nsets = 0;
    long steps = 500;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--job") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc && nsets < 64)
            sets[nsets++] = argv[++i];
        else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc &&
                 s_parse_steps(argv[i + 1], &steps) == 0)
            i++;
        else {
            fprintf(stderr, "usage: psc-baseline [--job FILE] [--set K=V]... "
                            "[--steps N]\n");
            return 2;
        }
    }
    char err[PSC_ERR_LEN];
    struct job *job = job_new(path, sets, nsets, err);
    struct dataset d;
    struct loop l;
    memset(&l, 0, sizeof l);
    if (job == NULL || dataset_load(job, 0, &d, err) != 0 ||
        s_setup(job, &d, &l, err) != 0) {
        fprintf(stderr, "psc-baseline: %s\n", err);
        return 2;
    }
    openblas_set_num_threads((int) job->blas_threads);
    rng_t r;
    rng_seed(&r, (uint64_t) job->seed, 1);
    int batch = (int) job->batch_size;
    size_t n = model_num_params(l.model);
    double t0 = psc_now();
    float loss = 0;
    for (long s = 0; s < steps; s++) {
        s_batch(&d, &r, &l, batch);
        loss = model_loss_grad(l.model, l.params, l.x, l.y, batch, l.grad);
        optim_apply(&l.optim, optim_lr(&l.optim, (uint64_t) s),
                    (uint64_t) s + 1, l.params, l.slot0, l.slot1, l.grad, 1.0f,
                    n);
    }
    double wall = psc_now() - t0;
    printf("{\"steps\": %ld, \"batch_size\": %d, \"wall_s\": %.3f, "
           "\"examples_per_s\": %.1f, \"loss\": %.4f}\n",
           steps, batch, wall, (double) steps * batch / wall, loss);
    s_release(&l);
    dataset_release(&d);
    job_destroy(&job);
    return 0;
}
