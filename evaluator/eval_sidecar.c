#include "eval_sidecar.h"

#include "ckpt.h"
#include "ckpt_dir.h"
#include "eval_core.h"
#include "jobvars.h"
#include "psc_err.h"
#include "psc_fs.h"
#include "psc_log.h"
#include "psc_sig.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

/* A bound on one wait for the pointer to move, so a signal is seen. */
#define WAIT_MS 1000

struct sidecar {
    struct eval_core e;
    int inotify;
    int have;      /* a checkpoint was evaluated */
    uint64_t last; /* its step */
    char run_id[CKPT_NAME_LEN];
};

/* The checkpoint's values into e.params, after checking it is our model's. */
static int s_load(struct sidecar *s, const char *dir, uint64_t *step, char *err)
{
    if (ckpt_verify(dir, err) != 0)
        return PSC_EIO;
    ckpt_reader_t *r = ckpt_reader_open(dir, err);
    if (r == NULL)
        return PSC_EIO;
    const struct ckpt_manifest *m = ckpt_reader_manifest(r);
    size_t total = model_num_params(s->e.model);
    size_t saved = 0;
    for (int i = 0; i < m->nvars; i++)
        saved += m->vars[i].size;
    int rc = 0;
    if (strcmp(m->model, s->e.job->model) != 0 || saved != total)
        rc = psc_seterr(err, PSC_ECONFIG,
                        "%s holds a %s model of %zu parameters, this job's %s "
                        "has %zu: give the job the checkpoints' options",
                        dir, m->model, saved, s->e.job->model, total);
    if (rc == 0)
        rc = ckpt_reader_read(r, 0, 0, total, s->e.params, err);
    if (rc == 0 && strcmp(m->run_id, s->run_id) != 0) {
        snprintf(s->run_id, sizeof s->run_id, "%s", m->run_id);
        eval_core_mark_run(&s->e, m->run_id, m->step, 1);
    }
    *step = m->step;
    ckpt_reader_close(&r);
    return rc;
}

/* Evaluates the pointer's checkpoint when it is a new one: 1 when it did. */
static int s_try(struct sidecar *s, char *err)
{
    const char *model_dir = s->e.job->model_dir;
    char name[CKPT_NAME_LEN];
    char why[PSC_ERR_LEN];
    if (ckpt_pointer_read(model_dir, name, sizeof name, why) != 0)
        return 0; /* none yet */
    uint64_t step = 0;
    if (!ckpt_dir_step(name, &step) || (s->have && step == s->last))
        return 0;
    char dir[JOB_STR + CKPT_NAME_LEN + 2];
    snprintf(dir, sizeof dir, "%s/%s", model_dir, name);
    int rc = s_load(s, dir, &step, err);
    if (rc == PSC_ECONFIG)
        return rc;
    s->have = 1;
    s->last = step;
    if (rc != 0) {
        psc_log_warn("checkpoint %s not evaluated: %s", dir, err);
        return 0;
    }
    eval_core_score(&s->e, step);
    return 1;
}

/* Waits for a change in model_dir (the pointer renamed into place). */
static void s_wait(const struct sidecar *s)
{
    struct pollfd p = {s->inotify, POLLIN, 0};
    if (poll(&p, 1, WAIT_MS) > 0) {
        char events[4096];
        while (read(s->inotify, events, sizeof events) > 0)
            ;
    }
}

static int s_loop(struct sidecar *s, char *err)
{
    const struct job *job = s->e.job;
    while (!psc_sig_stop_requested()) {
        int rc = s_try(s, err);
        if (rc < 0)
            return rc;
        if (s->have && job->max_steps > 0 &&
            s->last >= (uint64_t) job->max_steps) {
            psc_log_info("final test accuracy %.4f (loss %.4f) at step %llu; "
                         "curve in %s/eval.jsonl",
                         s->e.accuracy, s->e.loss, (unsigned long long) s->last,
                         job->model_dir);
            return 0;
        }
        s_wait(s);
    }
    return PSC_EINTR;
}

int eval_sidecar_run(const struct boot *b)
{
    char err[PSC_ERR_LEN] = "";
    struct sidecar s;
    memset(&s, 0, sizeof s);
    if (jobvars_is_sparse_model(b->job)) {
        psc_log_err("the sidecar evaluator reads dense checkpoints only, "
                    "not model %s's sparse table: list the evaluator in "
                    "TF_CONFIG's cluster with the ps",
                    b->job->model);
        return PSC_EXIT_CONFIG;
    }
    int rc = eval_core_open(&s.e, b->job, err);
    s.inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (rc == 0 &&
        (s.inotify < 0 || inotify_add_watch(s.inotify, b->job->model_dir,
                                            IN_MOVED_TO | IN_CLOSE_WRITE) < 0))
        rc = psc_seterr(err, PSC_EIO, "cannot watch %s for checkpoints",
                        b->job->model_dir);
    if (rc == 0) {
        psc_log_info("evaluating the checkpoints in %s as they appear "
                     "(no ps in TF_CONFIG: a sidecar evaluator)",
                     b->job->model_dir);
        rc = s_loop(&s, err);
    }
    if (rc < 0 && rc != PSC_EINTR)
        psc_log_err("%s", err);
    if (s.inotify >= 0)
        close(s.inotify);
    eval_core_release(&s.e);
    return psc_exit_status(rc, psc_sig_stop_requested());
}
