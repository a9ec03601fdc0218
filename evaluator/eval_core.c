#include "eval_core.h"

#include "binmetrics.h"
#include "jobvars.h"
#include "sparse_lr.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_fs.h"
#include "psc_json.h"
#include "psc_log.h"
#include "psc_time.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_BATCH 1000

static int s_open_output(struct eval_core *e, char *err)
{
    const char *dir = e->job->model_dir;
    char path[JOB_STR + 16];
    if (psc_mkdirs(dir, err) != 0)
        return PSC_EIO;
    snprintf(path, sizeof path, "%s/eval.jsonl", dir);
    e->out = fopen(path, "a");
    if (e->out == NULL)
        return psc_seterr(err, PSC_EIO, "cannot open '%s': %s", path,
                          strerror(errno));
    return 0;
}

/* The sparse test set, and the best any model can score on it. */
static int s_open_sparse(struct eval_core *e, char *err)
{
    if (sparse_data_load(e->job, 1, &e->sdata, err) != 0)
        return PSC_ECONFIG;
    size_t n = e->sdata.set.n, nnz = e->sdata.set.nnz;
    size_t dense = 1;
    if (jobvars_is_embedding(e->job)) {
        e->emb = jobvars_embedding_mlp(e->job, EVAL_BATCH, err);
        if (e->emb == NULL)
            return PSC_ECONFIG;
        dense = embedding_mlp_num_params(e->emb);
    }
    size_t width = jobvars_sparse_width(e->job);
    e->rows = psc_xmalloc((nnz > 0 ? nnz : 1) * width * sizeof *e->rows);
    e->probs = psc_xmalloc((n > 0 ? n : 1) * sizeof *e->probs);
    e->params = psc_xaligned(dense * sizeof(float));
    if (e->sdata.has_bayes)
        psc_log_info("%zu test examples; the Bayes-optimal AUC is %.4f and "
                     "logloss %.4f",
                     n, e->sdata.bayes_auc, e->sdata.bayes_logloss);
    return s_open_output(e, err);
}

int eval_core_open(struct eval_core *e, const struct job *job, char *err)
{
    memset(e, 0, sizeof *e);
    e->job = job;
    e->start = psc_now();
    e->auc = -1;
    e->sparse = jobvars_is_sparse_model(job);
    if (e->sparse)
        return s_open_sparse(e, err);
    if (dataset_load(job, 1, &e->data, err) != 0)
        return PSC_ECONFIG;
    e->images = dataset_scaled(&e->data);
    e->model = model_new(job->model, job->hidden, job->nhidden, e->data.dim, 10,
                         EVAL_BATCH, err);
    if (e->model == NULL)
        return PSC_ECONFIG;
    e->params = psc_xaligned(model_num_params(e->model) * 4);
    return s_open_output(e, err);
}

void eval_core_release(struct eval_core *e)
{
    if (e->out != NULL)
        fclose(e->out);
    model_destroy(&e->model);
    embedding_mlp_destroy(&e->emb);
    dataset_release(&e->data);
    sparse_data_release(&e->sdata);
    free(e->rows);
    free(e->probs);
    free(e->images);
    free(e->params);
    memset(e, 0, sizeof *e);
}

void eval_core_mark_run(struct eval_core *e, const char *run_id,
                        uint64_t start_step, int sidecar)
{
    /* A sidecar knows a run by its checkpoints: the first one it saw. */
    fprintf(e->out,
            "{\"run\": \"%s\", \"start_step\": %llu, \"restored\": %s%s}\n",
            run_id, (unsigned long long) start_step,
            !sidecar && start_step > 0 ? "true" : "false",
            sidecar ? ", \"from_checkpoints\": true" : "");
    fflush(e->out);
}

void eval_core_write_score(FILE *out, uint64_t step, double wall_s, double loss,
                           double accuracy, double auc)
{
    /* Rounded as before (wall_s to ms, the rest to 6 places); a NaN loss
     * of a diverged model is written as null and "loss_finite": false. */
    json_t *rec = json_pack("{s:I}", "step", (json_int_t) step);
    psc_json_set_real(rec, "wall_s", round(wall_s * 1e3) / 1e3);
    psc_json_set_real(rec, "time", round(psc_wall() * 1e3) / 1e3);
    psc_json_set_real(rec, "loss", round(loss * 1e6) / 1e6);
    psc_json_set_real(rec, "accuracy", round(accuracy * 1e6) / 1e6);
    if (auc >= 0)
        psc_json_set_real(rec, "auc", round(auc * 1e6) / 1e6);
    /* ", " and ": " as the record always had (deploy/demo.sh reads it);
     * 15 digits keep the Unix time's milliseconds. */
    json_dumpf(rec, out, JSON_REAL_PRECISION(15));
    fputc('\n', out);
    fflush(out);
    json_decref(rec);
}

/* A binary model: logloss, AUC and accuracy. */
static void s_score_sparse(struct eval_core *e)
{
    const struct sparse_set *s = &e->sdata.set;
    if (e->emb != NULL)
        embedding_mlp_predict(e->emb, e->params, s, e->rows, e->probs);
    else
        sparse_lr_predict(s, e->rows, e->params[0], e->probs);
    struct binary_scores b;
    binary_score(e->probs, s->labels, s->n, &b);
    e->auc = b.auc;
    e->loss = b.logloss;
    e->accuracy = b.accuracy;
}

void eval_core_score(struct eval_core *e, uint64_t step)
{
    if (e->sparse) {
        s_score_sparse(e);
    } else {
        int correct = 0;
        e->loss = model_evaluate(e->model, e->params, e->images, e->data.labels,
                                 e->data.count, &correct);
        e->accuracy = (double) correct / e->data.count;
    }
    eval_core_write_score(e->out, step, psc_now() - e->start, e->loss,
                          e->accuracy, e->auc);
    if (e->sparse)
        psc_log_info("step %llu: test AUC %.4f, logloss %.4f, accuracy %.4f",
                     (unsigned long long) step, e->auc, e->loss, e->accuracy);
    else
        psc_log_info("step %llu: test accuracy %.4f, loss %.4f",
                     (unsigned long long) step, e->accuracy, e->loss);
}
