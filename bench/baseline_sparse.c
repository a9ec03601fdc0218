/*
 * The same work as a sparse worker and its ps, without the sockets: the
 * batch's keys planned once (keyplan.h, as the ps client does), the
 * distinct rows read from the ps's own table module and spread to the
 * features, the gradient summed per key and applied by the table; the
 * dense variables (sparse_lr's bias, embedding_mlp's MLP) updated by the
 * job's optimizer. The order of the examples is a lone worker's.
 */
#include "baseline_sparse.h"

#include "binmetrics.h"
#include "embedding_mlp.h"
#include "example_order.h"
#include "jobvars.h"
#include "keyplan.h"
#include "optim.h"
#include "ps_sparse.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_time.h"
#include "sparse_data.h"
#include "sparse_lr.h"

#include <stdio.h>
#include <stdlib.h>

struct sloop {
    ps_sparse_t *table;
    keyplan_t *plan;
    struct optim_config optim;
    embedding_mlp_t *emb; /* embedding_mlp, else NULL: sparse_lr */
    size_t width;         /* floats per row */
    size_t ndense;        /* the dense variables' floats */
    float *dense, *slot0, *slot1, *dense_grad;
    struct sparse_set batch;
    float *rows; /* per feature of the batch */
    float *grad;
    float *distinct; /* per distinct key */
    size_t cap;      /* floats in each */
};

static void s_room(struct sloop *l, size_t nnz)
{
    size_t floats = (nnz > 0 ? nnz : 1) * l->width;
    if (floats <= l->cap)
        return;
    l->cap = floats * 2;
    free(l->rows);
    free(l->grad);
    free(l->distinct);
    l->rows = psc_xmalloc(l->cap * sizeof(float));
    l->grad = psc_xmalloc(l->cap * sizeof(float));
    l->distinct = psc_xmalloc(l->cap * sizeof(float));
}

/* The weights of every feature of s, as the table holds them now. */
static void s_read_rows(struct sloop *l, const struct sparse_set *s)
{
    s_room(l, s->nnz);
    keyplan_build(l->plan, s->keys, s->nnz, 1);
    ps_sparse_gather(l->table, keyplan_keys(l->plan), keyplan_count(l->plan),
                     l->distinct, 0);
    keyplan_scatter(l->plan, 0, l->distinct, l->width, l->rows);
}

static float s_step(struct sloop *l, uint64_t step)
{
    s_read_rows(l, &l->batch);
    float loss = l->emb != NULL
                     ? embedding_mlp_loss_grad(l->emb, l->dense, &l->batch,
                                               l->rows, l->grad, l->dense_grad)
                     : sparse_lr_loss_grad(&l->batch, l->rows, l->dense[0],
                                           l->grad, l->dense_grad);
    keyplan_gather(l->plan, 0, l->grad, l->width, l->distinct);
    ps_sparse_push(l->table, keyplan_keys(l->plan), keyplan_count(l->plan),
                   l->distinct, 0, NULL, 0, 1);
    optim_apply(&l->optim, optim_lr(&l->optim, step), step + 1, l->dense,
                l->slot0, l->slot1, l->dense_grad, 1.0f, l->ndense);
    return loss;
}

/* Test AUC, logloss and accuracy with the trained table. */
static int s_test(const struct job *job, struct sloop *l,
                  struct binary_scores *out, char *err)
{
    struct sparse_data t;
    if (sparse_data_load(job, 1, &t, err) != 0)
        return PSC_ECONFIG;
    s_read_rows(l, &t.set);
    float *p = psc_xmalloc(t.set.n * sizeof *p);
    if (l->emb != NULL)
        embedding_mlp_predict(l->emb, l->dense, &t.set, l->rows, p);
    else
        sparse_lr_predict(&t.set, l->rows, l->dense[0], p);
    binary_score(p, t.set.labels, t.set.n, out);
    free(p);
    sparse_data_release(&t);
    return 0;
}

static void s_release(struct sloop *l)
{
    ps_sparse_destroy(&l->table);
    keyplan_destroy(&l->plan);
    embedding_mlp_destroy(&l->emb);
    sparse_set_release(&l->batch);
    free(l->dense);
    free(l->slot0);
    free(l->slot1);
    free(l->dense_grad);
    free(l->rows);
    free(l->grad);
    free(l->distinct);
}

int baseline_sparse(const struct job *job, long steps, int worker, int nworkers,
                    char *err)
{
    struct sparse_data d;
    if (sparse_data_load(job, 0, &d, err) != 0)
        return PSC_ECONFIG;
    struct example_order order;
    if (example_order_init(&order, job, (int) d.set.n, worker, nworkers, err) !=
        0) {
        sparse_data_release(&d);
        return PSC_ECONFIG;
    }
    struct sloop l = {0};
    int batch = (int) job->batch_size;
    l.ndense = 1;
    if (jobvars_is_embedding(job)) {
        l.emb = jobvars_embedding_mlp(job, batch, err);
        if (l.emb == NULL) {
            example_order_release(&order);
            sparse_data_release(&d);
            return PSC_ECONFIG;
        }
        l.ndense = embedding_mlp_num_params(l.emb);
    }
    l.width = jobvars_sparse_width(job);
    l.dense = psc_xaligned(l.ndense * sizeof(float));
    l.slot0 = psc_xaligned(l.ndense * sizeof(float));
    l.slot1 = psc_xaligned(l.ndense * sizeof(float));
    l.dense_grad = psc_xaligned(l.ndense * sizeof(float));
    if (l.emb != NULL)
        embedding_mlp_init_params(l.emb, (uint64_t) job->seed, l.dense);
    else
        l.dense[0] = 0.0f; /* the bias */
    l.table = ps_sparse_new(job, 0, 1, NULL);
    ps_sparse_init(l.table);
    l.plan = keyplan_new();
    job_optim_config(job, &l.optim);
    optim_init_slots(&l.optim, l.slot0, l.slot1, l.ndense);
    sparse_set_init(&l.batch, 2);
    double t0 = psc_now();
    float loss = 0;
    for (long s = 0; s < steps; s++) {
        sparse_set_clear(&l.batch);
        for (int i = 0; i < batch; i++)
            sparse_set_push_from(&l.batch, &d.set,
                                 (size_t) example_order_next(&order));
        loss = s_step(&l, (uint64_t) s);
    }
    double wall = psc_now() - t0;
    struct binary_scores b;
    int rc = s_test(job, &l, &b, err);
    if (rc == 0)
        printf("{\"steps\": %ld, \"batch_size\": %d, \"wall_s\": %.3f, "
               "\"examples_per_s\": %.1f, \"loss\": %.4f, \"test_auc\": %.4f, "
               "\"test_logloss\": %.4f, \"test_accuracy\": %.4f}\n",
               steps, batch, wall, (double) steps * batch / wall, loss, b.auc,
               b.logloss, b.accuracy);
    example_order_release(&order);
    s_release(&l);
    sparse_data_release(&d);
    return rc;
}
