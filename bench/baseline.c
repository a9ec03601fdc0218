/*
 * psc-baseline: the workers' forward/backward loop and the ps's optimizer
 * update in one process, with no network. It is the yardstick the cluster's
 * throughput is measured against: examples per second of the same model,
 * batch and optimizer on the same data, in the order a lone worker takes
 * it (example_order.h), and the test accuracy it reaches.
 */
#include "baseline_sparse.h"
#include "dataset.h"
#include "example_order.h"
#include "jobvars.h"
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
        dataset_scaled_row(d, ex, l->x + (size_t) i * (size_t) d->dim);
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
    float *images = dataset_scaled(&t);
    *loss = model_evaluate(l->model, l->params, images, t.labels, t.count,
                           &correct);
    free(images);
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

/*
 * The matrix products of one training step alone, on the step's exact
 * shapes and in the order model_loss_grad() makes them: per layer the
 * forward product, then per layer from the last the weight gradient and
 * (but for the first) the input gradient. No bias, activation, loss or
 * optimizer: the roofline the rest of a step is measured against.
 */
struct roofline {
    int nlayers;
    int *dims;
    float **act; /* act[0] is the batch, act[l] layer l's output */
    float *delta[2];
};

static void s_roofline_init(struct roofline *r, const model_t *m, float *x,
                            int batch)
{
    r->nlayers = model_num_vars(m) / 2;
    r->dims = psc_xcalloc((size_t) r->nlayers + 1, sizeof *r->dims);
    r->act = psc_xcalloc((size_t) r->nlayers + 1, sizeof *r->act);
    size_t widest = 0;
    for (int l = 0; l < r->nlayers; l++) {
        const struct model_var *k = model_var(m, 2 * l);
        r->dims[l] = k->rows;
        r->dims[l + 1] = k->cols;
    }
    r->act[0] = x;
    for (int l = 1; l <= r->nlayers; l++) {
        size_t width = (size_t) r->dims[l];
        r->act[l] = psc_xaligned((size_t) batch * width * 4);
        memset(r->act[l], 0, (size_t) batch * width * 4);
        widest = width > widest ? width : widest;
    }
    for (int i = 0; i < 2; i++) {
        r->delta[i] = psc_xaligned((size_t) batch * widest * 4);
        memset(r->delta[i], 0, (size_t) batch * widest * 4);
    }
}

static void s_roofline_step(struct roofline *r, const model_t *m,
                            const float *params, float *grad, int batch)
{
    const int *d = r->dims;
    for (int l = 0; l < r->nlayers; l++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, d[l + 1],
                    d[l], 1.0f, r->act[l], d[l],
                    params + model_var(m, 2 * l)->offset, d[l + 1], 0.0f,
                    r->act[l + 1], d[l + 1]);
    for (int l = r->nlayers - 1, i = 0; l >= 0; l--, i ^= 1) {
        const float *w = params + model_var(m, 2 * l)->offset;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d[l], d[l + 1],
                    batch, 1.0f, r->act[l], d[l], r->delta[i], d[l + 1], 0.0f,
                    grad + model_var(m, 2 * l)->offset, d[l + 1]);
        if (l > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, d[l],
                        d[l + 1], 1.0f, r->delta[i], d[l + 1], w, d[l + 1],
                        0.0f, r->delta[i ^ 1], d[l]);
    }
}

static void s_roofline_release(struct roofline *r)
{
    for (int l = 1; l <= r->nlayers; l++)
        free(r->act[l]);
    free(r->delta[0]);
    free(r->delta[1]);
    free(r->act);
    free(r->dims);
}

/* Examples/s of the matrix products alone, over steps steps. */
static double s_roofline(struct loop *l, int batch, long steps)
{
    struct roofline r;
    s_roofline_init(&r, l->model, l->x, batch);
    s_roofline_step(&r, l->model, l->params, l->grad, batch); /* warm */
    double t0 = psc_now();
    for (long s = 0; s < steps; s++)
        s_roofline_step(&r, l->model, l->params, l->grad, batch);
    double wall = psc_now() - t0;
    s_roofline_release(&r);
    return (double) steps * batch / wall;
}

enum { OPT_JOB = 256, OPT_SET, OPT_STEPS, OPT_ROOFLINE, OPT_AS_WORKER };

static const struct psc_opt s_opts[] = {
    {"job", OPT_JOB, "FILE", "job configuration (JSON), as the roles read it"},
    {"set", OPT_SET, "KEY=VALUE", "override a job option (repeatable)"},
    {"steps", OPT_STEPS, "N", "training steps to time (default 500)"},
    {"roofline", OPT_ROOFLINE, NULL,
     "also time the step's matrix products alone (matrix_only_examples_per_s)"},
    {"as-worker", OPT_AS_WORKER, "K/N",
     "take batches as worker K (from 0) of N workers would (default 0/1)"},
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
    int roofline;
    int help;
    int worker; /* the batches worker `worker` of `nworkers` would take */
    int nworkers;
};

/* "K/N" with 0 <= K < N: the worker whose batches the loop takes. */
static int s_parse_as_worker(const char *arg, struct args *a, char *err)
{
    char n_part[32];
    const char *slash = strchr(arg, '/');
    long k = -1;
    long n = 0;
    size_t klen = slash != NULL ? (size_t) (slash - arg) : 0;
    if (slash != NULL && klen < sizeof n_part) {
        memcpy(n_part, arg, klen);
        n_part[klen] = '\0';
        if (psc_num_long(n_part, 0, INT_MAX, &k) != 0 ||
            psc_num_long(slash + 1, 1, INT_MAX, &n) != 0)
            k = -1;
    }
    if (k < 0 || k >= n)
        return psc_seterr(err, PSC_EINVAL,
                          "--as-worker '%s' is not K/N with 0 <= K < N "
                          "(e.g. 1/4 for the second of four workers)",
                          arg);
    a->worker = (int) k;
    a->nworkers = (int) n;
    return 0;
}

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
    case OPT_ROOFLINE:
        a->roofline = 1;
        return 0;
    case OPT_AS_WORKER:
        return s_parse_as_worker(arg, a, err);
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
    a->nworkers = 1;
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
    if (job != NULL && jobvars_is_sparse_model(job)) {
        int rc = baseline_sparse(job, steps, a.worker, a.nworkers, err);
        if (rc != 0)
            fprintf(stderr, "psc-baseline: %s\n", err);
        job_destroy(&job);
        return rc == 0 ? 0 : PSC_EXIT_CONFIG;
    }
    struct dataset d;
    struct loop l;
    memset(&l, 0, sizeof l);
    if (job == NULL || dataset_load(job, 0, &d, err) != 0 ||
        s_setup(job, &d, &l, err) != 0) {
        fprintf(stderr, "psc-baseline: %s\n", err);
        return 2;
    }
    struct example_order order;
    if (example_order_init(&order, job, d.count, a.worker, a.nworkers, err) !=
        0) {
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
           "\"test_accuracy\": %.4f, \"test_loss\": %.4f",
           steps, batch, wall, (double) steps * batch / wall, loss, accuracy,
           test_loss);
    if (a.roofline)
        printf(", \"matrix_only_examples_per_s\": %.1f",
               s_roofline(&l, batch, steps));
    printf("}\n");
    example_order_release(&order);
    s_release(&l);
    dataset_release(&d);
    job_destroy(&job);
    return 0;
}
