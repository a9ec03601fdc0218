#include "eval_core.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_fs.h"
#include "psc_log.h"
#include "psc_time.h"

#include <errno.h>
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

int eval_core_open(struct eval_core *e, const struct job *job, char *err)
{
    memset(e, 0, sizeof *e);
    e->job = job;
    e->start = psc_now();
    if (dataset_load(job, 1, &e->data, err) != 0)
        return PSC_ECONFIG;
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
    dataset_release(&e->data);
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

void eval_core_score(struct eval_core *e, uint64_t step)
{
    int correct = 0;
    e->loss = model_evaluate(e->model, e->params, e->data.images,
                             e->data.labels, e->data.count, &correct);
    e->accuracy = (double) correct / e->data.count;
    fprintf(e->out,
            "{\"step\": %llu, \"wall_s\": %.3f, \"loss\": %.6f, "
            "\"accuracy\": %.6f}\n",
            (unsigned long long) step, psc_now() - e->start, e->loss,
            e->accuracy);
    fflush(e->out);
    psc_log_info("step %llu: test accuracy %.4f, loss %.4f",
                 (unsigned long long) step, e->accuracy, e->loss);
}
