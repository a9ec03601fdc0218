/*
 * psc-evaluator: a sidecar outside the training cluster. Every
 * eval_interval_s (or every eval_every_steps steps) it pulls the parameters,
 * evaluates the whole test
 * set, and appends {"step", "wall_s", "loss", "accuracy"} to
 * MODEL_DIR/eval.jsonl; when the chief asks, it evaluates once more, reports
 * the final accuracy and exits.
 */
#include "boot.h"
#include "ctl.h"
#include "dataset.h"
#include "eval_core.h"
#include "eval_sidecar.h"
#include "jobvars.h"
#include "model.h"
#include "placement.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_fs.h"
#include "psc_log.h"
#include "psc_sig.h"
#include "psc_time.h"
#include "psclient.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct self {
    const struct boot *b;
    struct eval_core e;
    placement_t *placement;
    ctl_t *ctl;
    psclient_t *ps;
} self_t;

static int s_setup(self_t *self, char *err)
{
    int rc = eval_core_open(&self->e, self->b->job, err);
    if (rc != 0)
        return rc;
    self->placement =
        jobvars_placement(self->b->job, tfc_count(self->b->tfc, TFC_PS), err);
    if (self->placement == NULL)
        return PSC_ECONFIG;
    self->ctl = ctl_new(self->b, err);
    if (self->ctl == NULL)
        return PSC_ENET;
    rc = ctl_register(self->ctl, NULL, NULL, err);
    if (rc != 0)
        return rc;
    self->ps = psclient_new(self->b, self->placement, NULL, err);
    return self->ps != NULL ? 0 : PSC_ENET;
}

/*
 * Pulls and evaluates. Returns 0, PSCLIENT_WAIT_CTL when a chief message
 * came first (its type in *type; nothing was evaluated), or a negative
 * PSC_E* code (err says why).
 */
static int s_evaluate(self_t *self, uint64_t min_version, int *type, char *err)
{
    int rc = psclient_pull(self->ps, min_version);
    if (rc == 0)
        rc = psclient_wait(self->ps, self->e.params, self->ctl, type, 0, err);
    /* A sparse model's weights: the rows of every test feature. */
    const struct sparse_set *s = &self->e.sdata.set;
    if (rc == 0 && self->e.sparse) {
        rc = psclient_sparse_pull(self->ps, s->keys, s->nnz, self->e.rows);
        if (rc == 0)
            rc = psclient_wait(self->ps, NULL, self->ctl, type, 0, err);
    }
    return rc;
}

/*
 * The last evaluation, on the chief's request; its accuracy goes to the
 * chief. Returns 0, PSC_EINTR when the chief said stop before it was done
 * (the evaluator then exits as failed), or another negative PSC_E* code.
 */
static int s_final(self_t *self, char *err)
{
    int type = 0;
    int rc = s_evaluate(self, 0, &type, err);
    /* Interrupted by the chief: evaluated afresh (the older request's
     * replies are dropped as they come), so the accuracy reported is
     * this evaluation's. */
    while (rc == PSCLIENT_WAIT_CTL && type != PSC__MSG_TYPE__STOP)
        rc = s_evaluate(self, 0, &type, err);
    if (rc == PSCLIENT_WAIT_CTL)
        return psc_seterr(err, PSC_EINTR,
                          "the chief said stop before the final evaluation");
    if (rc != 0)
        return rc;
    eval_core_score(&self->e, psclient_version(self->ps, 0));
    psc_log_info("final test accuracy %.4f (loss %.4f); curve in %s/eval.jsonl",
                 self->e.accuracy, self->e.loss, self->b->job->model_dir);
    Psc__Report r = PSC__REPORT__INIT;
    r.accuracy = self->e.accuracy;
    r.loss = self->e.loss;
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__EVAL_DONE, NULL);
    h.report = &r;
    ctl_send(self->ctl, &h);
    return 0;
}

/*
 * The chief's START names the run: its line marks where the run starts, and
 * wall_s counts from the job's start the START gives, the clock of
 * metrics.jsonl and the traces (from the evaluator's own start, the two
 * were 2.5-4.3 s apart, and time-to-accuracy read from eval.jsonl was late
 * by the data set's load).
 */
static void s_mark_run(self_t *self)
{
    const struct ctl_start *st = ctl_start_order(self->ctl);
    self->e.start = psc_now() - ctl_job_seconds(self->ctl);
    eval_core_mark_run(&self->e, st->run_id, st->step, 0);
}

/* s_rejoin_if_lost()'s answer when it registered again. */
#define REJOINED 2000

/*
 * A chief lost, restarted, or that counted this evaluator lost (rc, as
 * ctl_wait() returns it): registers again, and returns REJOINED, or
 * ctl_rejoin()'s failure. The values stay on the ps, so the curve goes on
 * once a chief takes the evaluator. Any other rc is returned as it is.
 */
static int s_rejoin_if_lost(self_t *self, int rc, char *err)
{
    if (rc != PSC_EPEERGONE && rc != PSC__MSG_TYPE__REJOIN)
        return rc;
    if (rc == PSC_EPEERGONE)
        psc_log_warn("%s", err);
    rc = ctl_rejoin(self->ctl, NULL, NULL, err);
    return rc != 0 ? rc : REJOINED;
}

/*
 * Serves the chief until the next evaluation is due. Returns the chief's
 * EVAL_REQUEST or STOP (its PSC__MSG_TYPE__* value), 0 when the evaluation
 * is due, or a negative PSC_E* code.
 */
static int s_idle(self_t *self, double until, char *err)
{
    for (;;) {
        int rc = s_rejoin_if_lost(self, ctl_wait(self->ctl, until, err), err);
        if (rc == REJOINED)
            continue;
        if (rc == PSC__MSG_TYPE__START)
            s_mark_run(self);
        if (rc <= 0 || rc == PSC__MSG_TYPE__EVAL_REQUEST ||
            rc == PSC__MSG_TYPE__STOP)
            return rc;
    }
}

/*
 * Waits for the chief's START, so the curve is on the job's clock from its
 * first point (an evaluation before it had the evaluator's own). Returns
 * START, STOP or EVAL_REQUEST (PSC__MSG_TYPE__*), or a negative PSC_E*.
 */
static int s_wait_start(self_t *self, char *err)
{
    for (;;) {
        int rc = s_rejoin_if_lost(self, ctl_wait(self->ctl, 0, err), err);
        if (rc == REJOINED)
            continue;
        if (rc == PSC__MSG_TYPE__START)
            s_mark_run(self);
        if (rc < 0 || rc == PSC__MSG_TYPE__START || rc == PSC__MSG_TYPE__STOP ||
            rc == PSC__MSG_TYPE__EVAL_REQUEST)
            return rc;
    }
}

/* Seconds between pulls while a ps holds no model (rolled back). */
#define EVAL_RETRY_S 0.2

/* s_round()'s answers besides the loop's result (0 or negative). */
enum { GO_ON = 1, PULLED };

/*
 * What a chief message that came during an evaluation's pull means for the
 * loop: GO_ON, else the loop's result (s_final()'s for the final
 * evaluation, 0 for stop).
 */
static int s_interrupted(self_t *self, int type, char *err)
{
    if (type == PSC__MSG_TYPE__EVAL_REQUEST)
        return s_final(self, err);
    if (type == PSC__MSG_TYPE__STOP)
        return 0;
    if (type == PSC__MSG_TYPE__START)
        s_mark_run(self);
    return GO_ON;
}

/*
 * One round of the loop: serves the chief until `until`, then pulls values
 * at least at min_version. Returns PULLED when they are in, GO_ON when a
 * chief message cut the pull short (pull again), else the loop's result.
 */
static int s_round(self_t *self, double until, uint64_t min_version, char *err)
{
    int order = s_idle(self, until, err);
    if (order == PSC__MSG_TYPE__EVAL_REQUEST)
        return s_final(self, err);
    if (order == PSC__MSG_TYPE__STOP || order < 0)
        return order < 0 ? order : 0;
    int type = 0;
    int rc = s_evaluate(self, min_version, &type, err);
    if (rc == PSCLIENT_WAIT_CTL)
        return s_interrupted(self, type, err);
    /* A ps restarted, or the chief lost while pulling: the chief rolls the
     * model back or a new one takes over; asked again a little later. */
    if (rc == PSC_EAGAIN || rc == PSC_EPEERGONE) {
        psc_log_debug("no values to evaluate yet: %s", err);
        order = s_idle(self, psc_now() + EVAL_RETRY_S, err);
        if (order == PSC__MSG_TYPE__EVAL_REQUEST)
            return s_final(self, err);
        if (order == PSC__MSG_TYPE__STOP || order < 0)
            return order < 0 ? order : 0;
        return GO_ON;
    }
    return rc < 0 ? rc : PULLED;
}

/* Evaluates every eval_interval_s; returns as s_loop(). */
static int s_loop_seconds(self_t *self, char *err)
{
    for (;;) {
        int rc =
            s_round(self, psc_now() + self->b->job->eval_interval_s, 0, err);
        if (rc == GO_ON)
            continue;
        if (rc != PULLED)
            return rc;
        eval_core_score(&self->e, psclient_version(self->ps, 0));
    }
}

/*
 * The step the pulled values are at: ps 0's version, as eval.jsonl counts
 * steps. In sync mode 0 when the shards answered from different versions
 * (one was already past the step asked for), so that every point is one
 * step's model; async shards move on their own. *newest is the highest
 * version any shard answered from.
 */
static uint64_t s_pulled_step(const self_t *self, uint64_t *newest)
{
    int nps = tfc_count(self->b->tfc, TFC_PS);
    uint64_t first = psclient_version(self->ps, 0);
    int mixed = 0;
    *newest = first;
    for (int k = 1; k < nps; k++) {
        uint64_t v = psclient_version(self->ps, k);
        mixed |= v != first;
        if (v > *newest)
            *newest = v;
    }
    return mixed && self->b->job->mode == JOB_SYNC ? 0 : first;
}

/*
 * Evaluates the values of every step that is a multiple of
 * eval_every_steps: each shard parks the pull until it reaches the step and
 * answers at it, so a sync job's curve has the same points in every run.
 * Steps that pass while the evaluator works are skipped (values already
 * past one are pulled again for the next). Returns as s_loop().
 */
static int s_loop_steps(self_t *self, char *err)
{
    uint64_t every = (uint64_t) self->b->job->eval_every_steps;
    uint64_t due = every;
    for (;;) {
        int rc = s_round(self, psc_now(), due, err);
        if (rc == GO_ON)
            continue;
        if (rc != PULLED)
            return rc;
        uint64_t newest = 0;
        uint64_t step = s_pulled_step(self, &newest);
        if (step == due)
            eval_core_score(&self->e, step);
        /* Past the step asked for: the next one no shard has reached. */
        due = ((step == due ? step : newest) / every + 1) * every;
    }
}

/*
 * Evaluates every eval_interval_s, or at every multiple of
 * eval_every_steps, until the chief says stop (returns 0) or asks for the
 * final evaluation (returns s_final()'s result).
 */
static int s_loop(self_t *self, char *err)
{
    int first = s_wait_start(self, err);
    if (first == PSC__MSG_TYPE__EVAL_REQUEST)
        return s_final(self, err);
    if (first != PSC__MSG_TYPE__START)
        return first < 0 ? first : 0;
    if (self->b->job->eval_every_steps > 0)
        return s_loop_steps(self, err);
    return s_loop_seconds(self, err);
}

/*
 * Runs the evaluator. Returns the process exit status (psc_exit_status()):
 * 0 when the chief said stop, 2 on a configuration error or refusal, 138 on
 * other failures, 128+N after signal N.
 */
static int s_run(const struct boot *b)
{
    char err[PSC_ERR_LEN] = "";
    self_t self;
    memset(&self, 0, sizeof self);
    self.b = b;
    int rc = s_setup(&self, err);
    if (rc == 0)
        rc = s_loop(&self, err);
    if (rc < 0 && rc != PSC_EINTR)
        psc_log_err("%s", err);
    if (self.ctl != NULL)
        ctl_bye(self.ctl, rc == 0 ? "done" : "failed");
    if (rc == 0)
        rc = ctl_stop_status(self.ctl);
    psclient_destroy(&self.ps);
    ctl_destroy(&self.ctl);
    eval_core_release(&self.e);
    placement_destroy(&self.placement);
    return psc_exit_status(rc, psc_sig_stop_requested());
}

int main(int argc, char **argv)
{
    struct boot b;
    int status = 0;
    if (boot_role(argc, argv, TFC_EVALUATOR,
                  "Evaluate the model on the test set as it trains.", &b,
                  &status) == BOOT_EXIT)
        return status;
    status = tfc_is_sidecar(b.tfc) ? eval_sidecar_run(&b) : s_run(&b);
    boot_release(&b);
    return status;
}
