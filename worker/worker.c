/*
 * Worker training loop.
 */
#include "worker.h"
#include "worker_self.h"
#include "worker_sparse.h"

#include "ctl.h"
#include "dataset.h"
#include "example_order.h"
#include "jobvars.h"
#include "model.h"
#include "net.h"
#include "placement.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "psc_sig.h"
#include "psc_time.h"
#include "psclient.h"
#include "straggler.h"

#include <stdlib.h>
#include <string.h>


static void s_next_batch(self_t *self, int batch)
{
    size_t dim = (size_t) self->data.dim;
    for (int i = 0; i < batch; i++) {
        int ex = example_order_next(&self->order);
        dataset_scaled_row(&self->data, ex, self->x + (size_t) i * dim);
        self->y[i] = self->data.labels[ex];
    }
}

long worker_examples(const self_t *self)
{
    return self->sparse ? (long) self->sdata.set.n : self->data.count;
}

static int s_setup(self_t *self, char *err)
{
    const struct job *job = self->b->job;
    straggler_parse(&self->straggler, job_straggler(job, self->index),
                    (uint64_t) job->seed, 0x57a6 + (uint64_t) self->index,
                    NULL);
    if (self->sparse)
        return worker_sparse_setup(self, err);
    int rc = dataset_load(job, 0, &self->data, err);
    if (rc != 0)
        return PSC_ECONFIG;
    rc = example_order_init(&self->order, job, self->data.count, self->index,
                            self->nworkers, err);
    if (rc != 0)
        return rc;
    int batch = (int) job->batch_size;
    self->model = model_new(job->model, job->hidden, job->nhidden,
                            self->data.dim, 10, batch, err);
    if (self->model == NULL)
        return PSC_ECONFIG;
    size_t n = model_num_params(self->model);
    self->placement = placement_for_model(
        self->model, tfc_count(self->b->tfc, TFC_PS), job->slice_min_bytes);
    self->params = psc_xaligned(n * sizeof(float));
    self->grad = wire_buf_new(n * sizeof(float));
    self->x = psc_xaligned((size_t) batch * (size_t) self->data.dim * 4);
    self->y = psc_xmalloc((size_t) batch);
    return 0;
}

void worker_report(self_t *self, float loss, double compute_s, double wait_s)
{
    Psc__Report r = PSC__REPORT__INIT;
    r.loss = loss;
    r.examples = (uint64_t) self->b->job->batch_size;
    r.compute_s = compute_s;
    r.wait_s = wait_s;
    const struct psclient_traffic *t = psclient_traffic(self->ps);
    r.dense_bytes_pushed = t->dense_pushed - self->reported.dense_pushed;
    r.dense_bytes_pulled = t->dense_pulled - self->reported.dense_pulled;
    r.sparse_bytes_pushed = t->sparse_pushed - self->reported.sparse_pushed;
    r.sparse_bytes_pulled = t->sparse_pulled - self->reported.sparse_pulled;
    r.sparse_rows = self->step_rows;
    r.read_version = self->read_version;
    r.aborted = self->aborted;
    r.dropped = self->aborted || self->rows_dropped || self->unanswered ||
                psclient_last_push_dropped(self->ps);
    r.delay_requested_s = self->delay_requested_s;
    r.delay_slept_s = self->delay_slept_s;
    r.every_shard_version = psclient_oldest_version(self->ps);
    self->reported = *t;
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__REPORT, NULL);
    h.generation = self->generation;
    h.step = psclient_version(self->ps, 0);
    h.report = &r;
    ctl_send(self->ctl, &h);
}

/*
 * The training loop's functions return 0 to go on, PSC__MSG_TYPE__STOP
 * (positive: the chief's order itself, as ctl_wait() returns it) when the
 * chief said stop, which ends the job without error, or a negative PSC_E*
 * code on failure (err says why).
 */

/*
 * The chief's STOP can overtake a ps's answer to the last push (the chief
 * learns of the last step from another worker's report), so the answers
 * still owed are awaited a little: whether that gradient made the last
 * step or came past the end, the step's report says right. A ps that has
 * already exited answers nothing: the gradient counts as dropped.
 */
#define WORKER_DRAIN_S 0.5

static void s_drain_replies(self_t *self)
{
    char err[PSC_ERR_LEN];
    int rc = psclient_wait(self->ps, NULL, NULL, NULL, WORKER_DRAIN_S, err);
    self->unanswered = rc != 0;
}

/*
 * Paused: waits for the chief's next START (WORKER_RESTARTED) or STOP,
 * registering again first when rejoin is set, and again whenever the
 * chief is lost or asks; PSC_EPEERGONE when no chief comes back within
 * chief_restart_timeout_s.
 */
static int s_pause(self_t *self, int rejoin, char *err)
{
    psc_log_info("paused: waiting for the chief's word");
    for (;;) {
        if (rejoin) {
            int rc = ctl_rejoin(self->ctl, NULL, NULL, err);
            if (rc != 0)
                return rc;
        }
        int rc = ctl_wait(self->ctl, 0, err);
        if (rc == PSC__MSG_TYPE__START)
            return WORKER_RESTARTED;
        if (rc == PSC__MSG_TYPE__STOP || rc == PSC_EINTR)
            return rc;
        rejoin = rc == PSC_EPEERGONE || rc == PSC__MSG_TYPE__REJOIN;
        if (rc == PSC_EPEERGONE)
            psc_log_warn("%s", err);
    }
}

/*
 * A chief message (or lost chief) that interrupts the steps: START goes on
 * from it, PAUSE and REJOIN wait for one; 0 for any other.
 */
static int s_on_chief(self_t *self, int type, char *err)
{
    if (type == PSC__MSG_TYPE__START)
        return WORKER_RESTARTED;
    if (type == PSC__MSG_TYPE__PAUSE)
        return s_pause(self, 0, err);
    if (type == PSC__MSG_TYPE__REJOIN)
        return s_pause(self, 1, err);
    if (type == PSC_EPEERGONE) {
        psc_log_warn("%s", err);
        return s_pause(self, 1, err);
    }
    return 0;
}

int worker_wait(self_t *self, int take_values, char *err)
{
    self->unanswered = 0;
    for (;;) {
        int type = 0;
        int rc = psclient_wait(self->ps, NULL, self->ctl, &type, 0, err);
        if (rc == 0 && take_values)
            self->values = psclient_values(self->ps, self->params);
        if (rc == PSC_EAGAIN) {
            /* A ps restarted or rolled back: the chief sends a START. */
            psc_log_warn("%s", err);
            return s_pause(self, 0, err);
        }
        if (rc == PSC_EPEERGONE)
            return s_on_chief(self, rc, err);
        if (rc != PSCLIENT_WAIT_CTL)
            return rc;
        if (type == PSC__MSG_TYPE__STOP) {
            s_drain_replies(self);
            return PSC__MSG_TYPE__STOP;
        }
        rc = s_on_chief(self, type, err);
        if (rc != 0)
            return rc;
    }
}

/*
 * ctl_wait() polls in whole milliseconds and may wake a millisecond late,
 * so it hands over this long before a straggler's deadline and
 * psc_sleep_until() sleeps the rest exactly.
 */
#define WORKER_STRAGGLE_HANDOVER_S 0.002

/* late_policy abort: the step this worker computes for completed
 * without it (sync mode only: an async gradient is never late). */
static int s_step_passed(const self_t *self)
{
    const struct job *job = self->b->job;
    return job->mode == JOB_SYNC && job->late_abort &&
           ctl_step_done(self->ctl) > self->read_version;
}

/*
 * Answers the chief until `until`; 0 then, or STOP, WORKER_ABORTED or an
 * error.
 */
static int s_wait_ctl_until(self_t *self, double until, char *err)
{
    for (;;) {
        int rc = ctl_wait(self->ctl, until, err);
        int chief = s_on_chief(self, rc, err);
        if (chief != 0)
            return chief;
        if (s_step_passed(self))
            return WORKER_ABORTED;
        if (rc <= 0 || rc == PSC__MSG_TYPE__STOP)
            return rc;
    }
}

int worker_straggle(self_t *self, double delay_s, char *err)
{
    self->delay_requested_s = 0;
    self->delay_slept_s = 0;
    if (!(delay_s > 0))
        /* Under abort, a look for the chief's word before pushing. */
        return self->b->job->late_abort ? s_wait_ctl_until(self, psc_now(), err)
                                        : 0;
    double start = psc_now();
    double until = start + delay_s;
    /* Even a delay shorter than the handover looks once for a STOP. */
    int rc = s_wait_ctl_until(self, until - WORKER_STRAGGLE_HANDOVER_S, err);
    if (rc == 0)
        psc_sleep_until(until);
    self->delay_requested_s = delay_s;
    self->delay_slept_s = psc_now() - start;
    self->delay_requested_total_s += delay_s;
    self->delay_slept_total_s += self->delay_slept_s;
    return rc;
}

/*
 * late_policy abort: the step completed without this worker, so its
 * gradient is dropped unsent; it takes the values of the completed step
 * and starts the next one at once, on a new batch. The report says the
 * step was aborted (computed, never applied).
 */
static int s_abandon_step(self_t *self, float loss, double compute, char *err)
{
    self->batch_ready = 0;
    double t1 = psc_now();
    int rc = psclient_pull(self->ps, ctl_step_done(self->ctl));
    if (rc != 0)
        return psc_seterr(err, rc, "cannot ask the ps for the values");
    rc = worker_wait(self, 1, err);
    double wait = psc_now() - t1;
    self->compute_s += compute;
    self->wait_s += wait;
    self->aborted_steps++;
    self->aborted = 1;
    if (rc == 0 || rc == PSC__MSG_TYPE__STOP)
        worker_report(self, loss, compute, wait);
    self->aborted = 0;
    return rc;
}

/* One training step: a batch, its gradient, the push and the new values. */
static int s_step(self_t *self, char *err)
{
    int batch = (int) self->b->job->batch_size;
    double t0 = psc_now();
    self->read_version = psclient_version(self->ps, 0);
    if (!self->batch_ready)
        s_next_batch(self, batch);
    float loss = model_loss_grad(self->model, self->values, self->x, self->y,
                                 batch, wire_buf_data(self->grad));
    /* The batch's drawing counts as computing wherever it was done. */
    double compute = psc_now() - t0 + (self->batch_ready ? self->batch_s : 0);
    double delay = straggler_delay(&self->straggler, compute);
    int rc = worker_straggle(self, delay, err);
    if (rc == WORKER_ABORTED)
        return s_abandon_step(self, loss, compute, err);
    if (rc != 0)
        return rc;
    rc = psclient_push(self->ps, self->grad);
    if (rc != 0)
        return psc_seterr(err, rc, "cannot send the gradient");
    /* The next batch needs no values: it is drawn while the gradient is on
     * the wire, off the step's critical path. The same draws in the same
     * order; the chief counts examples by the gradients reported. */
    double ta = psc_now();
    s_next_batch(self, batch);
    self->batch_ready = 1;
    double t1 = psc_now();
    self->batch_s = t1 - ta;
    rc = worker_wait(self, 1, err);
    if (rc == 0 && self->steps == 0)
        psc_log_info("first step done, at version %llu",
                     (unsigned long long) psclient_version(self->ps, 0));
    self->steps += rc == 0;
    /* A gradient that went out counts even when the chief said stop before
     * the values came: its batch is drawn (checkpoints record how many). */
    double wait = psc_now() - t1;
    self->compute_s += compute;
    self->wait_s += wait;
    if (rc == 0 || rc == PSC__MSG_TYPE__STOP)
        worker_report(self, loss, compute, wait);
    return rc;
}

/* Waits for the chief's START; WORKER_RESTARTED when it came. */
static int s_wait_start(self_t *self, char *err)
{
    for (;;) {
        int rc = ctl_wait(self->ctl, 0, err);
        if (rc == PSC__MSG_TYPE__REJOIN || rc == PSC_EPEERGONE)
            return s_on_chief(self, rc, err);
        if (rc < 0 || rc == PSC__MSG_TYPE__STOP)
            return rc;
        if (rc == PSC__MSG_TYPE__START)
            return WORKER_RESTARTED;
    }
}

/* After the last step: waits for the chief's STOP (returned as such), or
 * a START that rolled the model back (WORKER_RESTARTED). */
static int s_wait_stop(self_t *self, char *err)
{
    psc_log_info("the last step is done; waiting for the chief");
    for (;;) {
        int rc = ctl_wait(self->ctl, 0, err);
        int chief = s_on_chief(self, rc, err);
        if (chief != 0)
            return chief;
        if (rc < 0 || rc == PSC__MSG_TYPE__STOP)
            return rc;
    }
}

/*
 * Skips the examples drawn before a restored checkpoint, so the batches
 * that follow are those an uninterrupted run would have drawn.
 */
static void s_skip_examples(self_t *self, uint64_t n)
{
    if (n == 0)
        return;
    example_order_skip(&self->order, n);
    psc_log_info("resuming at example %llu of its data (epoch %ld)",
                 (unsigned long long) n, self->order.epoch - 1);
}

/*
 * Takes the START's generation and data position. A START after the first
 * (a rollback, or a restarted chief) draws the examples again from the
 * start of the order, so the batches are those of the START's step.
 */
static int s_take_start(self_t *self, char *err)
{
    const struct ctl_start *start = ctl_start_order(self->ctl);
    self->generation = start->generation;
    psclient_set_generation(self->ps, start->generation);
    self->batch_ready = 0;
    if (self->rejoins++ > 0) {
        psc_log_info("starting again on the chief's word (generation %llu)",
                     (unsigned long long) start->generation);
        example_order_release(&self->order);
        int rc = example_order_init(&self->order, self->b->job,
                                    (int) worker_examples(self), self->index,
                                    self->nworkers, err);
        if (rc != 0)
            return rc;
    }
    s_skip_examples(self, start->position);
    return 0;
}

/* Trains from the START just taken: STOP, WORKER_RESTARTED or a failure. */
static int s_train_from_start(self_t *self, char *err)
{
    const struct job *job = self->b->job;
    int rc = s_take_start(self, err);
    if (rc != 0)
        return rc;
    /* Warm-up: only worker 0 trains on the first warmup_steps versions. */
    uint64_t first = job->mode == JOB_ASYNC && self->index != 0
                         ? (uint64_t) job->warmup_steps
                         : 0;
    rc = psclient_pull(self->ps, first);
    if (rc == 0)
        rc = worker_wait(self, 1, err);
    /* Sync: no step past the last one, so a run ends at the same version
     * (and values) however it was interrupted and resumed; and none short
     * of it on any shard (one can be a step behind shard 0). */
    uint64_t last =
        (uint64_t) job_total_steps(job, worker_examples(self), self->nworkers);
    while (rc == 0 && psclient_oldest_version(self->ps) < last)
        rc = self->sparse ? worker_sparse_step(self, err) : s_step(self, err);
    if (rc == 0)
        rc = s_wait_stop(self, err);
    return rc;
}

/* Trains until the chief says stop (PSC__MSG_TYPE__STOP) or a failure. */
static int s_train(self_t *self, char *err)
{
    int rc = s_wait_start(self, err);
    while (rc == WORKER_RESTARTED)
        rc = s_train_from_start(self, err);
    return rc;
}

/*
 * Workers own their TF_CONFIG port too, as every role does: a clash shows at
 * start-up, and Kubernetes' TCP liveness probes have something to reach.
 * Nothing is read from it, so its queue is kept tiny. Worker 0 of a cluster
 * without a chief leaves the port to the chief's thread.
 */
static int s_bind_port(self_t *self, char *err)
{
    if (tfc_is_acting_chief(self->b->tfc))
        return 0;
    self->probe = net_socket(self->b->zctx, ZMQ_ROUTER, NULL);
    int hwm = 16;
    zmq_setsockopt(self->probe, ZMQ_RCVHWM, &hwm, sizeof hwm);
    int rc = boot_secure_server(self->b, self->probe, err);
    if (rc != 0)
        return rc;
    return net_bind(self->probe,
                    tfc_port(self->b->tfc, TFC_WORKER, self->index), err);
}

static int s_register(self_t *self, char *err)
{
    self->ctl = ctl_new(self->b, err);
    if (self->ctl == NULL)
        return PSC_ENET;
    ctl_set_examples(self->ctl, (uint64_t) worker_examples(self));
    return ctl_register(self->ctl, NULL, NULL, err);
}

/* The exit status for the training loop's rc: the chief's stop is done,
 * unless it said the job failed. */
static int s_status(int rc, const ctl_t *ctl)
{
    return psc_exit_status(rc == PSC__MSG_TYPE__STOP ? ctl_stop_status(ctl)
                                                     : rc,
                           psc_sig_stop_requested());
}

static void s_release(self_t *self)
{
    psclient_destroy(&self->ps);
    ctl_destroy(&self->ctl);
    net_close(&self->probe);
    wire_buf_release(&self->grad);
    model_destroy(&self->model);
    placement_destroy(&self->placement);
    dataset_release(&self->data);
    worker_sparse_release(self);
    example_order_release(&self->order);
    free(self->params);
    free(self->x);
    free(self->y);
}

/* Says when pushes go in pieces (psclient_dense_pieces()). */
static void s_log_pieces(const self_t *self)
{
    size_t most = 1;
    for (int s = 0; s < self->placement->nps; s++) {
        size_t p =
            psclient_dense_pieces(self->b->job, &self->placement->shards[s]);
        most = p > most ? p : most;
    }
    if (most > 1)
        psc_log_info("pushes go in up to %zu pieces per ps, each applied and "
                     "answered as it arrives",
                     most);
}

/* Says how closely the injected delays were slept, when there were any,
 * and how many steps were abandoned under late_policy abort. */
static void s_log_delays(const self_t *self)
{
    if (self->aborted_steps > 0)
        psc_log_info("%llu steps abandoned (late_policy abort: they "
                     "completed without this worker)",
                     (unsigned long long) self->aborted_steps);
    if (self->delay_requested_total_s <= 0)
        return;
    uint64_t all = self->steps + self->aborted_steps;
    double steps = all > 0 ? (double) all : 1.0;
    psc_log_info("straggler delay: %.3f s asked, %.3f s slept (%.3f ms and "
                 "%.3f ms a step)",
                 self->delay_requested_total_s, self->delay_slept_total_s,
                 self->delay_requested_total_s * 1e3 / steps,
                 self->delay_slept_total_s * 1e3 / steps);
}

int worker_run(const struct boot *b)
{
    char err[PSC_ERR_LEN] = "";
    self_t self;
    memset(&self, 0, sizeof self);
    self.b = b;
    self.index = tfc_task_index(b->tfc);
    self.nworkers = tfc_count(b->tfc, TFC_WORKER);
    self.sparse = jobvars_is_sparse_model(b->job);
    int rc = s_setup(&self, err);
    if (rc == 0)
        rc = s_bind_port(&self, err);
    if (rc == 0)
        rc = s_register(&self, err);
    if (rc == 0) {
        self.ps = psclient_new(b, self.placement, NULL, err);
        rc = self.ps != NULL ? 0 : PSC_ENET;
    }
    if (rc == 0) {
        psc_log_info("training on %d examples", self.order.norder);
        s_log_pieces(&self);
        rc = s_train(&self, err);
    }
    if (rc < 0 && rc != PSC_EINTR)
        psc_log_err("%s", err);
    if (self.ctl != NULL)
        ctl_bye(self.ctl, rc == PSC__MSG_TYPE__STOP
                              ? "done"
                              : (rc == PSC_EINTR ? "signal" : err));
    /* Where a sync worker's time went: its batches, or the ps's reply. */
    psc_log_info("stopping after %llu steps (%.2f s computing, %.2f s "
                 "waiting for the values)",
                 (unsigned long long) self.steps, self.compute_s, self.wait_s);
    s_log_delays(&self);
    int status = s_status(rc, self.ctl);
    s_release(&self);
    return status;
}
