/*
 * The sparse step takes three round trips (rows, row gradients, the dense
 * variables' gradient) where a dense one takes one: the ps client holds
 * one request at a time. sparse_lr's dense variable is its bias,
 * embedding_mlp's are its MLP's parameters.
 */
#include "worker_sparse.h"

#include "jobvars.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "psc_time.h"
#include "sparse_lr.h"

#include <stdlib.h>
#include <string.h>

int worker_sparse_setup(self_t *self, char *err)
{
    const struct job *job = self->b->job;
    int rc = sparse_data_load(job, 0, &self->sdata, err);
    if (rc != 0)
        return PSC_ECONFIG;
    if (self->sdata.set.n > INT32_MAX)
        return psc_seterr(err, PSC_ECONFIG,
                          "%zu training examples: a worker takes at most "
                          "%d (set data.train_limit)",
                          self->sdata.set.n, INT32_MAX);
    rc = example_order_init(&self->order, job, (int) self->sdata.set.n,
                            self->index, self->nworkers, err);
    if (rc != 0)
        return rc;
    self->placement =
        jobvars_placement(job, tfc_count(self->b->tfc, TFC_PS), err);
    if (self->placement == NULL)
        return PSC_ECONFIG;
    sparse_set_init(&self->batch, 2);
    self->width = jobvars_sparse_width(job);
    size_t dense = 1;
    if (jobvars_is_embedding(job)) {
        self->emb = jobvars_embedding_mlp(job, (int) job->batch_size, err);
        if (self->emb == NULL)
            return PSC_ECONFIG;
        dense = embedding_mlp_num_params(self->emb);
    }
    self->params = psc_xaligned(dense * sizeof(float));
    self->grad = wire_buf_new(dense * sizeof(float));
    return 0;
}

void worker_sparse_release(self_t *self)
{
    if (self->batch.starts != NULL)
        sparse_set_release(&self->batch);
    sparse_data_release(&self->sdata);
    embedding_mlp_destroy(&self->emb);
    free(self->rows);
    free(self->row_grad);
    self->rows = NULL;
    self->row_grad = NULL;
}

/* The next batch, and room for its features' rows. */
static void s_draw(self_t *self)
{
    int batch = (int) self->b->job->batch_size;
    sparse_set_clear(&self->batch);
    for (int i = 0; i < batch; i++)
        sparse_set_push_from(&self->batch, &self->sdata.set,
                             (size_t) example_order_next(&self->order));
    size_t floats = (self->batch.nnz > 0 ? self->batch.nnz : 1) * self->width;
    if (floats > self->rows_cap) {
        self->rows_cap = floats * 2;
        free(self->rows);
        free(self->row_grad);
        self->rows = psc_xmalloc(self->rows_cap * sizeof(float));
        self->row_grad = psc_xmalloc(self->rows_cap * sizeof(float));
    }
}

/* The batch's rows from their shards. */
static int s_pull_rows(self_t *self, char *err)
{
    int rc = psclient_sparse_pull(self->ps, self->batch.keys, self->batch.nnz,
                                  self->rows);
    if (rc != 0)
        return psc_seterr(err, rc, "cannot ask for the batch's rows");
    self->step_rows = psclient_sparse_rows(self->ps);
    return worker_wait(self, 0, err);
}

/* The row gradients (acknowledged), then the dense variables' (the new
 * values); in sync mode the rows' are marked with step at, the version the
 * batch's values had. */
static int s_push(self_t *self, uint64_t at, char *err)
{
    const float *g = self->row_grad;
    const uint64_t *keys = self->batch.keys;
    size_t n = self->batch.nnz;
    int rc = self->b->job->mode == JOB_SYNC
                 ? psclient_sparse_push_step(self->ps, keys, n, g, at)
                 : psclient_sparse_push(self->ps, keys, n, g, NULL);
    if (rc != 0)
        return psc_seterr(err, rc, "cannot send the rows' gradient");
    rc = worker_wait(self, 0, err);
    if (rc != 0)
        return rc;
    /* The dense push starts afresh: the report joins the two. */
    self->rows_dropped = psclient_last_push_dropped(self->ps);
    rc = psclient_push(self->ps, self->grad);
    if (rc != 0)
        return psc_seterr(err, rc, "cannot send the gradient");
    return 0;
}

/* The step's loss and gradients (rows and dense) from the rows pulled. */
static float s_loss_grad(self_t *self, const float *dense)
{
    float *grad = wire_buf_data(self->grad);
    if (self->emb != NULL)
        return embedding_mlp_loss_grad(self->emb, dense, &self->batch,
                                       self->rows, self->row_grad, grad);
    return sparse_lr_loss_grad(&self->batch, self->rows, dense[0],
                               self->row_grad, grad);
}

int worker_sparse_step(self_t *self, char *err)
{
    /* The values are borrowed until the next request, the rows' pull: kept
     * in params unless psclient_values() wrote them there. */
    if (self->values != self->params)
        memcpy(self->params, self->values,
               (self->emb != NULL ? embedding_mlp_num_params(self->emb) : 1) *
                   sizeof(float));
    const float *dense = self->params;
    uint64_t at = psclient_version(self->ps, 0);
    self->read_version = at;
    double t0 = psc_now();
    if (!self->batch_ready)
        s_draw(self);
    int rc = s_pull_rows(self, err);
    if (rc != 0)
        return rc;
    double t1 = psc_now();
    float loss = s_loss_grad(self, dense);
    double compute = psc_now() - t1 + (self->batch_ready ? self->batch_s : 0);
    double delay = straggler_delay(&self->straggler, compute);
    rc = worker_straggle(self, delay, err);
    if (rc != 0)
        return rc;
    rc = s_push(self, at, err);
    if (rc != 0)
        return rc;
    /* As a dense step does: the next batch is drawn while the dense
     * gradient is on the wire. The batch's keys were sent already. */
    double ta = psc_now();
    s_draw(self);
    self->batch_ready = 1;
    self->batch_s = psc_now() - ta;
    double tw = psc_now();
    rc = worker_wait(self, 1, err);
    self->steps += rc == 0;
    double wait = (t1 - t0) + (psc_now() - tw);
    self->compute_s += compute;
    self->wait_s += wait;
    if (rc == 0 || rc == PSC__MSG_TYPE__STOP)
        worker_report(self, loss, compute, wait);
    return rc;
}
