/*
 * psc-baseline: the workers' forward/backward loop and the ps's optimizer
 * update in one process, with no network. It is the yardstick the cluster's
 * throughput is measured against: examples per second of the same model,
 * batch and optimizer on the same data, in the order a lone worker takes
 * it (example_order.h), and the test accuracy it reaches.
 */
#include "dataset.h"
#include "example_order.h"
#include "model.h"
#include "optim.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "psc_num.h"
#include "psc_opts.h"
#include "psc_time.h"
#include <cblas.h>

#include <limits.h>
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

static void s_batch(const struct dataset *d, struct example_order *o,
                    struct loop *l, int batch)
{
    for (int i = 0; i < batch; i++) {
        int ex = example_order_next(o);
        memcpy(l->x + (size_t) i * d->dim, d->images + (size_t) ex * d->dim,
               (size_t) d->dim * sizeof(float));
        l->y[i] = d->labels[ex];
    }
}

/* The test set's accuracy and loss with the trained values. */
static int s_test(const struct job *job, struct loop *l, double *accuracy,
                  double *loss, char *err)
{
    struct dataset t;
    if (dataset_load(job, 1, &t, err) != 0)
        return PSC_ECONFIG;
    int correct = 0;
    *loss = model_evaluate(l->model, l->params, t.images, t.labels, t.count,
                           &correct);
    *accuracy = t.count > 0 ? (double) correct / t.count : 0;
    dataset_release(&t);
    return 0;
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

enum { OPT_JOB = 256, OPT_SET, OPT_STEPS };

static const struct psc_opt s_opts[] = {
    {"job", OPT_JOB, "FILE", "job configuration (JSON), as the roles read it"},
    {"set", OPT_SET, "KEY=VALUE", "override a job option (repeatable)"},
    {"steps", OPT_STEPS, "N", "training steps to time (default 500)"},
    {"help", 'h', NULL, "show this help"},
};

#define NOPTS    (sizeof s_opts / sizeof s_opts[0])
#define MAX_SETS 64

/* Job options only: no cluster, so TF_CONFIG is not read. */
struct args {
    const char *job_path;
    const char *sets[MAX_SETS];
    int nsets;
    long steps;
    int help;
};

static int s_apply(int id, const char *arg, struct args *a, char *err)
{
    switch (id) {
    case OPT_JOB:
        a->job_path = arg;
        return 0;
    case OPT_SET:
        if (a->nsets == MAX_SETS)
            return psc_seterr(err, PSC_EINVAL, "more than %d --set options",
                              MAX_SETS);
        a->sets[a->nsets++] = arg;
        return 0;
    case OPT_STEPS:
        if (psc_num_long(arg, 1, LONG_MAX, &a->steps) != 0)
            return psc_seterr(err, PSC_EINVAL,
                              "--steps '%s' is not a whole number from 1", arg);
        return 0;
    default: /* 'h' */
        a->help = 1;
        return 0;
    }
}

/* 0, or PSC_EINVAL with one line in err. */
static int s_parse(int argc, char **argv, struct args *a, char *err)
{
    memset(a, 0, sizeof *a);
    a->steps = 500;
    struct psc_opts p;
    psc_opts_begin(&p, s_opts, NOPTS, argc, argv);
    int id;
    while ((id = psc_opts_next(&p, err)) > 0)
        if (s_apply(id, p.arg, a, err) != 0)
            return PSC_EINVAL;
    if (id < 0)
        return id;
    const char *extra = psc_opts_operand(&p);
    if (extra != NULL)
        return psc_seterr(err, PSC_EINVAL, "unexpected argument '%s'", extra);
    return 0;
}

static void s_usage(void)
{
    printf("usage: psc-baseline [options]\n"
           "The workers' training loop and the ps's optimizer in one "
           "process, with no\nnetwork: the examples/s the cluster is "
           "measured against.\n\noptions:\n");
    psc_opts_usage(stdout, s_opts, NOPTS);
}

int main(int argc, char **argv)
{
    struct args a;
    char err[PSC_ERR_LEN];
    if (s_parse(argc, argv, &a, err) != 0) {
        fprintf(stderr, "psc-baseline: %s: see 'psc-baseline --help'\n", err);
        return PSC_EXIT_CONFIG;
    }
    if (a.help) {
        s_usage();
        return 0;
    }
    long steps = a.steps;
    struct job *job = job_new(a.job_path, a.sets, a.nsets, err);
    struct dataset d;
    struct loop l;
    memset(&l, 0, sizeof l);
    if (job == NULL || dataset_load(job, 0, &d, err) != 0 ||
        s_setup(job, &d, &l, err) != 0) {
        fprintf(stderr, "psc-baseline: %s\n", err);
        return 2;
    }
    struct example_order order;
    if (example_order_init(&order, job, d.count, 0, 1, err) != 0) {
        fprintf(stderr, "psc-baseline: %s\n", err);
        return 2;
    }
    openblas_set_num_threads((int) job->blas_threads);
    int batch = (int) job->batch_size;
    size_t n = model_num_params(l.model);
    double t0 = psc_now();
    float loss = 0;
    for (long s = 0; s < steps; s++) {
        s_batch(&d, &order, &l, batch);
        loss = model_loss_grad(l.model, l.params, l.x, l.y, batch, l.grad);
        optim_apply(&l.optim, optim_lr(&l.optim, (uint64_t) s),
                    (uint64_t) s + 1, l.params, l.slot0, l.slot1, l.grad, 1.0f,
                    n);
    }
    double wall = psc_now() - t0;
    double accuracy = 0;
    double test_loss = 0;
    if (s_test(job, &l, &accuracy, &test_loss, err) != 0) {
        fprintf(stderr, "psc-baseline: %s\n", err);
        return 2;
    }
    printf("{\"steps\": %ld, \"batch_size\": %d, \"wall_s\": %.3f, "
           "\"examples_per_s\": %.1f, \"loss\": %.4f, "
           "\"test_accuracy\": %.4f, \"test_loss\": %.4f}\n",
           steps, batch, wall, (double) steps * batch / wall, loss, accuracy,
           test_loss);
    example_order_release(&order);
    s_release(&l);
    dataset_release(&d);
    job_destroy(&job);
    return 0;
}
