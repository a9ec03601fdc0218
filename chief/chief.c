/*
 * Chief: formation, initialisation, monitoring and shutdown.
 */
#include "chief.h"

#include "chief_ckpt.h"
#include "chief_export.h"
#include "chief_metrics.h"
#include "chief_report.h"
#include "chief_steps.h"
#include "jobvars.h"
#include "model.h"
#include "net.h"
#include "placement.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "psc_num.h"
#include "psc_sig.h"
#include "psc_time.h"
#include "psclient.h"
#include "wire.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { R_PS, R_WORKER, R_EVAL, R_N };

struct task {
    int registered;
    int bye;
    int lost;
    double last_seen;
};

typedef struct self {
    const struct boot *b;
    void *router;
    char *canonical;
    int count[R_N];
    struct task *tasks[R_N];
    long train_examples;
    long total_steps;
    model_t *model;
    placement_t *placement;
    chief_metrics_t *metrics;
    chief_steps_t *steps; /* trace/steps.jsonl, when the job traces */
    struct wire_counters counters;
    struct chief_eval eval; /* the final evaluation */
    uint64_t exported;      /* checkpoints completed when last exported */
    /*
     * 0 while nothing has stopped the job (and its exit status if nothing
     * does); else the exit status the job stops with. s_stop() keeps the
     * first one; a refused registration and a lost ps overwrite it.
     */
    int status;
    int training;      /* workers are expected to be live */
    int started;       /* START went out: late registrations get it at once */
    double job_start;  /* Unix seconds: every role's wall_s counts from it */
    int initialised;   /* the ps hold the model: a ps back has lost its shard */
    int shutting_down; /* STOPs went out: a late registration gets one too */
    char run_id[CKPT_NAME_LEN];
    uint64_t start_step; /* the restored checkpoint's step, or 0 */
    struct ckpt_var *vars;
    int nvars;
    chief_ckpt_t *ckpt;
    uint64_t reports;             /* REPORTs taken */
    uint64_t refused_reports;     /* REPORTs no worker could have sent */
    uint64_t ps_version;          /* the newest version a ps said it holds */
    uint64_t step_done_sent;      /* the newest STEP_DONE's step */
    uint64_t every_shard_step;    /* the newest version all shards hold */
    double next_refusal_log;      /* no line about refusals before then */
    uint64_t refused_messages;    /* from a role that does not send them */
    double next_role_refusal_log; /* no line about those before then */
    uint64_t generation;          /* the model's incarnation (INIT, START) */
    int rollback_wanted; /* a ps is lost or back: roll back once all are up */
    double ps_lost_at;   /* when the first of them was lost (0: none is) */
    double short_since;  /* fewer live workers than a step needs since */
    uint64_t stale_reports; /* REPORTs of an earlier generation */
} self_t;

static const char *const s_role_names[R_N] = {"ps", "worker", "evaluator"};

static int s_parse_task(const self_t *self, const char *name, int *role,
                        int *index)
{
    for (int r = 0; r < R_N; r++) {
        int v = psc_num_task(name, s_role_names[r], self->count[r]);
        if (v >= 0) {
            *index = v;
            *role = r;
            return 0;
        }
    }
    return PSC_EINVAL;
}

static void s_send(self_t *self, const char *to, Psc__MsgType type,
                   const char *text)
{
    Psc__Header h;
    wire_header_init(&h, type, "chief:0");
    h.text = (char *) text;
    wire_send(self->router, to, strlen(to), &h, NULL, 0);
}

/*
 * START: the run's id and the step it starts at; a worker also learns how
 * many examples it had drawn by then.
 */
static void s_send_start(self_t *self, int role, int index)
{
    char to[32];
    snprintf(to, sizeof to, "%s:%d", s_role_names[role], index);
    Psc__Report r = PSC__REPORT__INIT;
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__START, "chief:0");
    h.text = self->run_id;
    h.step = self->start_step;
    h.job_start = self->job_start;
    h.generation = self->generation;
    if (role == R_WORKER && self->ckpt != NULL) {
        r.examples = chief_ckpt_position(self->ckpt, index);
        h.report = &r;
    }
    wire_send(self->router, to, strlen(to), &h, NULL, 0);
}

static void s_send_role(self_t *self, int role, Psc__MsgType type)
{
    for (int i = 0; i < self->count[role]; i++) {
        struct task *t = &self->tasks[role][i];
        if (!t->registered || t->bye)
            continue;
        char name[32];
        snprintf(name, sizeof name, "%s:%d", s_role_names[role], i);
        /* A failed job's STOP says so: every role then exits 138. */
        const char *text =
            type == PSC__MSG_TYPE__STOP && self->status != 0 ? "failed" : NULL;
        if (type == PSC__MSG_TYPE__START)
            s_send_start(self, role, i);
        else
            s_send(self, name, type, text);
    }
}

/* Stops the job with exit status `status` unless something already has. */
static void s_stop(self_t *self, int status)
{
    if (self->status == 0)
        self->status = status;
}

/*
 * A ps is lost or came back without the model it held: the workers pause,
 * and once every ps is up the model rolls back to the last checkpoint
 * (s_roll_back()); before the job trains, it just stops.
 */
static void s_ps_gone(self_t *self, int index, const char *what)
{
    if (!self->initialised || self->shutting_down) {
        psc_log_err("ps:%d %s: stopping the job", index, what);
        s_stop(self, PSC_EXIT_RETRY);
        return;
    }
    if (!self->rollback_wanted)
        psc_log_warn("ps:%d %s: pausing the workers; the model rolls back "
                     "to the last checkpoint once every ps is up (waiting "
                     "up to %.0f s, ps_restart_timeout_s)",
                     index, what, self->b->job->ps_restart_timeout_s);
    self->rollback_wanted = 1;
    if (self->ps_lost_at == 0)
        self->ps_lost_at = psc_now();
    s_send_role(self, R_WORKER, PSC__MSG_TYPE__PAUSE);
}

static void s_on_register(self_t *self, const wire_msg_t *msg, int role,
                          int index)
{
    char diff[600];
    const char *who = msg->hdr->task;
    struct task *t = &self->tasks[role][index];
    if (job_diff(msg->hdr->text ? msg->hdr->text : "", self->canonical, diff,
                 sizeof diff)) {
        char why[800];
        if (t->registered && !t->lost && !t->bye) {
            /*
             * The task registered with this job's configuration and is
             * alive: the job goes on. The refusal goes to the sender alone,
             * whose connection now holds the task's routing id.
             */
            snprintf(why, sizeof why,
                     "refused a second registration of %s, which is "
                     "registered and alive, with a different job "
                     "configuration: %s",
                     who, diff);
            psc_log_warn("%s", why);
            s_send(self, who, PSC__MSG_TYPE__REFUSE, why);
            return;
        }
        snprintf(why, sizeof why,
                 "%s runs a different job configuration: %s: give every "
                 "task the same job file and --set options",
                 who, diff);
        psc_log_err("%s", why);
        s_send(self, who, PSC__MSG_TYPE__REFUSE, why);
        self->status = PSC_EXIT_CONFIG;
        return;
    }
    if (role == R_PS && t->registered && self->initialised)
        s_ps_gone(self, index,
                  "registered again (restarted, or back from a hang)");
    if (!t->registered)
        psc_log_info("%s registered", who);
    else if (t->lost || t->bye)
        psc_log_info("%s is back", who);
    else
        psc_log_info("%s registered again", who);
    t->registered = 1;
    t->bye = t->lost = 0;
    if (role == R_WORKER && msg->hdr->report != NULL && index == 0)
        self->train_examples = (long) msg->hdr->report->examples;
    s_send(self, who, PSC__MSG_TYPE__REGISTER_ACK, NULL);
    /* While a rollback waits, its START is the one to go on from. */
    if (self->started && self->training && !self->rollback_wanted)
        s_send_start(self, role, index);
    else if (self->shutting_down) /* too late to join: it would wait on */
        s_send(self, who, PSC__MSG_TYPE__STOP,
               self->status != 0 ? "failed" : NULL);
}

static void s_on_bye(self_t *self, int role, struct task *t,
                     const wire_msg_t *msg)
{
    const char *why = msg->hdr->text ? msg->hdr->text : "";
    if (!t->registered) {
        psc_log_warn("%s stopped before it registered: %s", msg->hdr->task,
                     why);
        return;
    }
    t->bye = 1;
    if (role == R_WORKER && self->steps != NULL)
        chief_steps_gone(self->steps, (int) (t - self->tasks[R_WORKER]));
    if (strcmp(why, "done") == 0)
        return;
    psc_log_warn("%s stopped: %s", msg->hdr->task, why);
    if (role != R_PS || !self->training || self->status != 0)
        return;
    /* Its shard went with it: no step completes until it is back. One
     * that gave up on numbers that are not finite would give up again. */
    if (strcmp(why, "signal") == 0) {
        s_ps_gone(self, (int) (t - self->tasks[R_PS]), "stopped");
        return;
    }
    psc_log_err("cannot go on without %s: stopping the job", msg->hdr->task);
    s_stop(self, PSC_EXIT_RETRY);
}

/*
 * A heartbeat from a task that never registered with this chief belongs to
 * a job of a chief before it (this one was restarted), and one from a task
 * counted lost comes from a process that hung and resumed: it is told to
 * register again, and is then taken back.
 */
static void s_on_heartbeat(self_t *self, const struct task *t,
                           const wire_msg_t *msg)
{
    if (t->registered && !t->lost) {
        s_send(self, msg->hdr->task, PSC__MSG_TYPE__HEARTBEAT, NULL);
        return;
    }
    if (t->bye)
        return;
    const char *where = t->registered ? "was counted lost"
                                      : "is still in an earlier chief's job";
    psc_log_warn("%s %s: telling it to register again", msg->hdr->task, where);
    s_send(self, msg->hdr->task, PSC__MSG_TYPE__REJOIN, NULL);
}

/*
 * late_policy abort: a worker's report says every shard has reached step,
 * so the workers still computing from an older version are told at once
 * (each drops its gradient and pulls the new values).
 */
static void s_tell_step_done(self_t *self, uint64_t step)
{
    const struct job *job = self->b->job;
    if (job->mode != JOB_SYNC || !job->late_abort ||
        step <= self->step_done_sent)
        return;
    self->step_done_sent = step;
    for (int i = 0; i < self->count[R_WORKER]; i++) {
        const struct task *t = &self->tasks[R_WORKER][i];
        if (!t->registered || t->bye)
            continue;
        char to[32];
        snprintf(to, sizeof to, "%s:%d", s_role_names[R_WORKER], i);
        Psc__Header h;
        wire_header_init(&h, PSC__MSG_TYPE__STEP_DONE, "chief:0");
        h.step = step;
        wire_send(self->router, to, strlen(to), &h, NULL, 0);
    }
}

/* Seconds between two lines about refused reports. */
#define REFUSAL_LOG_S 10.0

/*
 * A worker's REPORT: taken when a worker of this job could have sent it,
 * else refused, so that a forged step cannot end the job or a forged loss
 * fill the curves. Refusals are logged once per REFUSAL_LOG_S.
 */
static void s_on_report(self_t *self, int index, const wire_msg_t *msg)
{
    const Psc__Report *r = msg->hdr->report;
    /* A step of the model before a rollback: it did not happen. */
    if (msg->hdr->generation != self->generation) {
        self->stale_reports++;
        return;
    }
    struct chief_report_bounds b = {.start_step = self->start_step,
                                    .reports = self->reports,
                                    .ps_version = self->ps_version,
                                    .nworkers = self->count[R_WORKER],
                                    .batch_size = self->b->job->batch_size};
    const char *why = chief_report_check(&b, msg->hdr->step, r);
    if (why != NULL) {
        self->refused_reports++;
        if (psc_now() >= self->next_refusal_log) {
            psc_log_warn("refused a report of step %llu from %s: %s (%llu "
                         "refused so far)",
                         (unsigned long long) msg->hdr->step, msg->hdr->task,
                         why, (unsigned long long) self->refused_reports);
            self->next_refusal_log = psc_now() + REFUSAL_LOG_S;
        }
        return;
    }
    self->reports++;
    if (r->every_shard_version > self->every_shard_step) {
        self->every_shard_step = r->every_shard_version;
        s_tell_step_done(self, self->every_shard_step);
    }
    if (self->metrics != NULL)
        chief_metrics_report(self->metrics, index, msg->hdr->step, r);
    if (self->steps != NULL)
        chief_steps_report(self->steps, index, r);
    if (self->ckpt != NULL)
        chief_ckpt_on_report(self->ckpt, index, msg->hdr->step, r->examples);
}

/* A ps's statistics: its version bounds the steps reports may claim. */
static void s_on_ps_stats(self_t *self, int index, const Psc__PsStats *st)
{
    if (st->version > self->ps_version)
        self->ps_version = st->version;
    if (self->metrics != NULL)
        chief_metrics_ps_stats(self->metrics, index, st);
}

/*
 * Why a message the wire has bound to its task's connection is still not
 * taken, or NULL: each kind comes from one role only, and only once the
 * task has registered (a BYE is taken from any task: one that stops
 * before registering says why, and s_on_bye() changes nothing for it).
 */
static const char *s_refused_role(int role, const struct task *t, int type)
{
    int from = -1; /* the one role that sends it */
    switch (type) {
    case PSC__MSG_TYPE__REGISTER:
    case PSC__MSG_TYPE__HEARTBEAT:
    case PSC__MSG_TYPE__BYE:
        return NULL;
    case PSC__MSG_TYPE__REPORT:
        from = R_WORKER;
        break;
    case PSC__MSG_TYPE__SAVED:
    case PSC__MSG_TYPE__PS_STATS:
        from = R_PS;
        break;
    case PSC__MSG_TYPE__EVAL_DONE:
        from = R_EVAL;
        break;
    default:
        return "not a message the chief takes";
    }
    if (role != from)
        return "its role does not send it";
    return t->registered ? NULL : "it has not registered";
}

/* Seconds between two lines about refused messages of any kind. */
#define ROLE_REFUSAL_LOG_S 10.0

/* One line per ROLE_REFUSAL_LOG_S about messages s_refused_role() refused. */
static void s_log_refusal(self_t *self, const wire_msg_t *msg, const char *why)
{
    self->refused_messages++;
    if (psc_now() < self->next_role_refusal_log)
        return;
    psc_log_warn("refused a %s from %s: %s (%llu refused so far)",
                 wire_type_name(msg->hdr->type), msg->hdr->task, why,
                 (unsigned long long) self->refused_messages);
    self->next_role_refusal_log = psc_now() + ROLE_REFUSAL_LOG_S;
}

/* A message on the control socket; arg is the self_t. */
static void s_on_message(void *arg, const wire_msg_t *msg)
{
    self_t *self = arg;
    int role = 0;
    int index = 0;
    if (s_parse_task(self, msg->hdr->task, &role, &index) != 0) {
        psc_log_warn("ignoring a message from '%s': not a task of this "
                     "cluster",
                     msg->hdr->task);
        return;
    }
    struct task *t = &self->tasks[role][index];
    t->last_seen = psc_now();
    const char *refused = s_refused_role(role, t, msg->hdr->type);
    if (refused != NULL) {
        s_log_refusal(self, msg, refused);
        return;
    }
    switch (msg->hdr->type) {
    case PSC__MSG_TYPE__REGISTER:
        s_on_register(self, msg, role, index);
        break;
    case PSC__MSG_TYPE__HEARTBEAT:
        s_on_heartbeat(self, t, msg);
        break;
    case PSC__MSG_TYPE__REPORT:
        s_on_report(self, index, msg);
        break;
    case PSC__MSG_TYPE__SAVED:
        if (self->ckpt != NULL)
            chief_ckpt_on_saved(self->ckpt, index, msg->hdr);
        break;
    case PSC__MSG_TYPE__PS_STATS:
        if (msg->hdr->stats != NULL)
            s_on_ps_stats(self, index, msg->hdr->stats);
        break;
    case PSC__MSG_TYPE__EVAL_DONE:
        self->eval.done = 1;
        if (msg->hdr->report != NULL) {
            self->eval.accuracy = msg->hdr->report->accuracy;
            self->eval.loss = msg->hdr->report->loss;
        }
        break;
    case PSC__MSG_TYPE__BYE:
        s_on_bye(self, role, t, msg);
        break;
    default:
        break;
    }
}

/* Serves the control socket for up to timeout_ms. */
static void s_serve(self_t *self, int timeout_ms)
{
    zmq_pollitem_t item = {self->router, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0)
        return;
    wire_drain(self->router, 1, 256, &self->counters, s_on_message, self);
}

/* Names the tasks that have not registered; returns how many. */
static int s_missing(const self_t *self, char *out, size_t len)
{
    int n = 0;
    out[0] = '\0';
    for (int r = R_PS; r <= R_WORKER; r++) {
        for (int i = 0; i < self->count[r]; i++) {
            if (self->tasks[r][i].registered)
                continue;
            size_t used = strlen(out);
            snprintf(out + used, len - used, "%s%s:%d", n ? ", " : "",
                     s_role_names[r], i);
            n++;
        }
    }
    return n;
}

/*
 * Says whether the job is to stop: a stop signal (recorded here as exit
 * status 128+N) or anything else that has set self->status.
 */
static int s_stopping(self_t *self)
{
    int sig = psc_sig_stop_requested();
    if (sig != 0 && self->status == 0) {
        psc_log_info("stopping the job on signal %d", sig);
        s_stop(self, 128 + sig);
    }
    return self->status != 0;
}

/*
 * The job's phases: s_form(), s_initialise(), s_train(). Each returns 0
 * when the job goes on to the next phase, or a negative PSC_E* code when it
 * stops; by then the exit status is in self->status (s_stop()), and
 * PSC_EINTR means that something else stopped the job (s_stopping()).
 */

/* Waits until every ps and worker has registered. */
static int s_form(self_t *self)
{
    const struct job *job = self->b->job;
    double start = psc_now();
    double next_note = start + 3;
    char missing[1024];
    while (s_missing(self, missing, sizeof missing) > 0) {
        if (s_stopping(self))
            return PSC_EINTR;
        double now = psc_now();
        if (now - start > job->startup_timeout_s) {
            psc_log_err("gave up after %.0f s waiting for %s to register: "
                        "start them, and check that their TF_CONFIG names "
                        "this chief",
                        job->startup_timeout_s, missing);
            s_stop(self, PSC_EXIT_RETRY);
            return PSC_ETIMEDOUT;
        }
        if (now >= next_note) {
            psc_log_info("waiting for %s to register (%.0f s of %.0f s)",
                         missing, now - start, job->startup_timeout_s);
            next_note = now + 3;
        }
        s_serve(self, 200);
    }
    psc_log_info("every ps and worker registered with the same job "
                 "(fingerprint %016llx)",
                 (unsigned long long) job_fingerprint(job));
    return 0;
}

/* embedding_mlp's dense variables: its MLP's. */
static void s_list_embedding_vars(self_t *self)
{
    embedding_mlp_t *m = jobvars_embedding_mlp(self->b->job, 1, NULL);
    self->nvars = m != NULL ? embedding_mlp_num_vars(m) : 0;
    self->vars = psc_xcalloc((size_t) (self->nvars > 0 ? self->nvars : 1),
                             sizeof *self->vars);
    for (int i = 0; i < self->nvars; i++) {
        const struct model_var *v = embedding_mlp_var(m, i);
        snprintf(self->vars[i].name, CKPT_NAME_LEN, "%s", v->name);
        self->vars[i].rows = v->rows;
        self->vars[i].cols = v->cols;
        self->vars[i].size = v->size;
        self->vars[i].offset = v->offset;
    }
    embedding_mlp_destroy(&m);
}

/* The variables as checkpoints name them: the model's, embedding_mlp's,
 * sparse_lr's bias or bench's one. */
static void s_list_vars(self_t *self)
{
    const struct job *job = self->b->job;
    if (jobvars_is_embedding(job)) {
        s_list_embedding_vars(self);
        return;
    }
    if (self->model == NULL) {
        int lr = strcmp(job->model, "sparse_lr") == 0;
        size_t size = lr ? 1 : (size_t) job->bench_dense_floats;
        self->nvars = 1;
        self->vars = psc_xcalloc(1, sizeof *self->vars);
        snprintf(self->vars[0].name, CKPT_NAME_LEN, "%s",
                 lr ? "bias" : "bench/dense");
        self->vars[0].rows = (int) size;
        self->vars[0].cols = 1;
        self->vars[0].size = size;
        return;
    }
    self->nvars = model_num_vars(self->model);
    self->vars = psc_xcalloc((size_t) self->nvars, sizeof *self->vars);
    for (int i = 0; i < self->nvars; i++) {
        const struct model_var *v = model_var(self->model, i);
        snprintf(self->vars[i].name, CKPT_NAME_LEN, "%s", v->name);
        self->vars[i].rows = v->rows;
        self->vars[i].cols = v->cols;
        self->vars[i].size = v->size;
        self->vars[i].offset = v->offset;
    }
}

/* A run id: unique enough to tell the runs of one model_dir apart. */
static void s_make_run_id(self_t *self)
{
    snprintf(self->run_id, sizeof self->run_id, "%08lx%04x",
             (unsigned long) time(NULL), (unsigned) getpid() & 0xffffu);
}

/*
 * Finds the checkpoint the job resumes from (job option restore): 0 with
 * its folder in dir, PSC_ENOTFOUND to start afresh, or PSC_ECONFIG.
 */
static int s_pick_restore(self_t *self, char *dir, size_t cap)
{
    char err[PSC_ERR_LEN];
    struct ckpt_manifest m;
    int rc = chief_ckpt_pick_restore(self->b->job, self->vars, self->nvars, dir,
                                     cap, &m, err);
    if (rc == PSC_ENOTFOUND)
        return rc;
    if (rc != 0) {
        psc_log_err("%s", err);
        s_stop(self, PSC_EXIT_CONFIG);
        return rc;
    }
    self->start_step = m.step;
    chief_ckpt_set_positions(self->ckpt, m.workers, m.nworkers);
    chief_ckpt_start_from(self->ckpt, m.step, dir);
    if (m.nworkers != self->count[R_WORKER])
        psc_log_warn("%s was saved by %d workers, this job has %d: the "
                     "data positions of the others start afresh",
                     dir, m.nworkers, self->count[R_WORKER]);
    ckpt_manifest_release(&m);
    return 0;
}

/* Sends INIT (values, the seed or a checkpoint) and waits for every ps. */
static int s_init_ps(self_t *self, const char *restore_dir, char *err)
{
    const struct job *job = self->b->job;
    int bench = self->model == NULL;
    float *values = NULL;
    if (restore_dir == NULL && !bench) {
        values = psc_xaligned(model_num_params(self->model) * 4 + 4);
        model_init_params(self->model, (uint64_t) job->seed, values);
    }
    psclient_t *c = psclient_new(self->b, self->placement, "chief:0", err);
    if (c != NULL) {
        psclient_set_last_step(c, (uint64_t) self->total_steps);
        psclient_set_generation(c, self->generation);
    }
    int rc = PSC_ENET;
    if (c != NULL && restore_dir != NULL)
        rc = psclient_init_restore(c, restore_dir);
    else if (c != NULL)
        rc = bench ? psclient_init_seed(c) : psclient_init(c, values);
    if (rc == 0)
        rc = psclient_wait(c, NULL, NULL, NULL, job->startup_timeout_s, err);
    psclient_destroy(&c);
    free(values);
    return rc;
}

/*
 * Initialises every ps: from the checkpoint the job resumes from, or, for
 * a new job, training models from values computed here from the job's
 * seed; model bench (100 M parameters and more) is initialised by each ps
 * from the seed itself, which gives the same values whatever the number of
 * ps.
 */
static int s_initialise(self_t *self)
{
    char err[PSC_ERR_LEN];
    const struct job *job = self->b->job;
    self->placement = jobvars_placement(job, self->count[R_PS], err);
    if (self->placement == NULL) {
        psc_log_err("%s", err);
        s_stop(self, PSC_EXIT_CONFIG);
        return PSC_ECONFIG;
    }
    int sparse = jobvars_is_sparse_model(job);
    if (strcmp(job->model, "bench") != 0 && !sparse)
        self->model =
            model_new(job->model, job->hidden, job->nhidden, 784, 10, 1, err);
    s_list_vars(self);
    s_make_run_id(self);
    /* A checkpoint holds the dense shards and each ps's part of the
     * sparse table; the export formats have no sparse table. */
    if (sparse)
        psc_log_info("no exports: model %s's sparse table is kept in the "
                     "checkpoints only",
                     job->model);
    self->ckpt =
        chief_ckpt_new(job, self->run_id, self->vars, self->nvars,
                       self->placement, self->count[R_WORKER], self->router);
    char dir[4096];
    int rc = self->ckpt != NULL ? s_pick_restore(self, dir, sizeof dir)
                                : PSC_ENOTFOUND;
    if (rc != 0 && rc != PSC_ENOTFOUND)
        return rc;
    int restoring = rc == 0;
    /* The ps learn it with their values: no update past the last step, so
     * the job ends at exactly that version however many pushes are in
     * flight then. Every worker has registered: its examples are known. */
    self->total_steps =
        job_total_steps(job, self->train_examples, self->count[R_WORKER]);
    /* Unique to this chief's start: a ps that holds a model of another
     * generation (of a chief before) rolls back to this INIT's. */
    self->generation = (uint64_t) (psc_wall() * 1e6);
    rc = s_init_ps(self, restoring ? dir : NULL, err);
    if (rc != 0) {
        psc_log_err("cannot initialise the variables: %s", err);
        s_stop(self, rc == PSC_EREFUSED && restoring ? PSC_EXIT_CONFIG
                                                     : PSC_EXIT_RETRY);
        return rc;
    }
    self->initialised = 1;
    if (restoring)
        psc_log_info("resumed from %s at step %llu on %d ps", dir,
                     (unsigned long long) self->start_step, self->count[R_PS]);
    else
        psc_log_info("initialised the variables on %d ps from seed %ld",
                     self->count[R_PS], job->seed);
    return 0;
}

/* Tasks of role that are registered and neither lost nor gone. */
static int s_live(const self_t *self, int role)
{
    int n = 0;
    for (int i = 0; i < self->count[role]; i++) {
        const struct task *t = &self->tasks[role][i];
        n += t->registered && !t->lost && !t->bye;
    }
    return n;
}

static int s_live_workers(const self_t *self)
{
    return s_live(self, R_WORKER);
}

static void s_mark_lost(self_t *self, int role, int i, double silent)
{
    char name[32];
    snprintf(name, sizeof name, "%s:%d", s_role_names[role], i);
    self->tasks[role][i].lost = 1;
    psc_log_warn("lost %s: no heartbeat for %.1f s", name, silent);
    if (role == R_PS) {
        s_ps_gone(self, i, "is lost");
        return;
    }
    if (role != R_WORKER)
        return;
    if (self->steps != NULL)
        chief_steps_gone(self->steps, i);
    for (int s = 0; s < self->count[R_PS]; s++) {
        char ps[32];
        snprintf(ps, sizeof ps, "ps:%d", s);
        s_send(self, ps, PSC__MSG_TYPE__LOST, name);
    }
}

static int s_live_ps(const self_t *self)
{
    return s_live(self, R_PS);
}

/* A lost ps that does not come back within ps_restart_timeout_s fails the
 * job. */
static void s_check_ps_back(self_t *self, double now)
{
    const struct job *job = self->b->job;
    if (self->ps_lost_at == 0 || self->status != 0 ||
        s_live_ps(self) == self->count[R_PS] ||
        now - self->ps_lost_at <= job->ps_restart_timeout_s)
        return;
    psc_log_err("cannot go on: %d of %d ps are up, and the others did not "
                "come back within %.0f s (ps_restart_timeout_s): stopping",
                s_live_ps(self), self->count[R_PS], job->ps_restart_timeout_s);
    s_stop(self, PSC_EXIT_RETRY);
}

static void s_check_liveness(self_t *self)
{
    const struct job *job = self->b->job;
    double now = psc_now();
    for (int r = 0; r < R_N; r++) {
        for (int i = 0; i < self->count[r]; i++) {
            struct task *t = &self->tasks[r][i];
            double silent = now - t->last_seen;
            if (t->registered && !t->lost && !t->bye &&
                silent > job->heartbeat_timeout_s)
                s_mark_lost(self, r, i, silent);
        }
    }
    long need = job->mode == JOB_SYNC ? (job->replicas_to_aggregate > 0
                                             ? job->replicas_to_aggregate
                                             : self->count[R_WORKER])
                                      : 1;
    int live = s_live_workers(self);
    if (!self->training || self->status != 0 || live >= need) {
        self->short_since = 0;
    } else if (self->short_since == 0) {
        self->short_since = now;
        psc_log_warn("%d live workers, the job needs %ld per step: waiting "
                     "up to %.0f s (worker_restart_timeout_s) for one to "
                     "come back",
                     live, need, job->worker_restart_timeout_s);
    } else if (now - self->short_since > job->worker_restart_timeout_s) {
        psc_log_err("cannot go on: %d live workers, the job needs %ld per "
                    "step, and none came back within %.0f s: stopping",
                    live, need, job->worker_restart_timeout_s);
        s_stop(self, PSC_EXIT_RETRY);
    }
    s_check_ps_back(self, now);
}

/* export_every_checkpoint: a checkpoint completed since the last export. */
static void s_export_new_checkpoint(self_t *self)
{
    uint64_t completed = 0;
    if (self->ckpt == NULL)
        return;
    const char *dir = chief_ckpt_newest(self->ckpt, &completed);
    if (completed == self->exported || jobvars_is_sparse_model(self->b->job))
        return;
    self->exported = completed;
    chief_export(self->b->job, dir, NULL);
}

/* trace: true: steps.jsonl, on the clock metrics.jsonl's wall_s uses. */
static int s_open_steps(self_t *self)
{
    const struct job *job = self->b->job;
    char err[PSC_ERR_LEN];
    if (!job->trace)
        return 0;
    enum chief_steps_kind kind = job->mode == JOB_SYNC ? CHIEF_STEPS_SYNC
                                 : job->mode == JOB_SOFTSYNC
                                     ? CHIEF_STEPS_SOFTSYNC
                                     : CHIEF_STEPS_ASYNC;
    self->steps = chief_steps_new(
        job->model_dir, self->run_id, self->count[R_WORKER], kind,
        chief_metrics_start_time(self->metrics), self->start_step, err);
    if (self->steps != NULL)
        return 0;
    psc_log_err("%s", err);
    s_stop(self, PSC_EXIT_RETRY);
    return PSC_EIO;
}

/* Writes the steps still pending: no more reports come. */
static void s_close_steps(self_t *self)
{
    if (self->steps == NULL)
        return;
    chief_steps_finish(self->steps);
    uint64_t late = chief_steps_late(self->steps);
    if (late > 0)
        psc_log_info("steps.jsonl: %llu reports came after their step was "
                     "written, and are not in it",
                     (unsigned long long) late);
    chief_steps_destroy(&self->steps);
}

/*
 * Every ps is up again after one was lost or restarted: the model goes
 * back to the newest complete checkpoint (or to its initial values when
 * there is none yet) on every ps, under a new generation so that no push
 * from before is applied, and every worker starts again from the
 * checkpoint's step and data position. 0, or PSC_E* with the job stopped.
 */
static int s_roll_back(self_t *self)
{
    char err[PSC_ERR_LEN];
    double t0 = psc_now();
    uint64_t completed = 0;
    const char *newest =
        self->ckpt != NULL ? chief_ckpt_newest(self->ckpt, &completed) : "";
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", newest);
    struct ckpt_manifest m;
    memset(&m, 0, sizeof m);
    if (dir[0] != '\0' && ckpt_manifest_read(dir, &m, err) != 0) {
        psc_log_err("cannot roll back to %s: %s", dir, err);
        s_stop(self, PSC_EXIT_RETRY);
        return PSC_EIO;
    }
    self->rollback_wanted = 0;
    self->ps_lost_at = 0;
    self->generation++;
    int rc = s_init_ps(self, dir[0] != '\0' ? dir : NULL, err);
    if (rc != 0) {
        ckpt_manifest_release(&m);
        psc_log_err("cannot roll the model back: %s", err);
        s_stop(self, PSC_EXIT_RETRY);
        return rc;
    }
    uint64_t step = dir[0] != '\0' ? m.step : 0;
    if (self->ckpt != NULL)
        chief_ckpt_roll_back(self->ckpt, step, dir, m.workers, m.nworkers);
    ckpt_manifest_release(&m);
    self->start_step = step;
    self->every_shard_step = step;
    self->step_done_sent = step;
    chief_metrics_rewind(self->metrics, self->run_id, step);
    s_send_role(self, R_WORKER, PSC__MSG_TYPE__START);
    psc_log_info("rolled the model back to %s at step %llu on %d ps in "
                 "%.2f s (generation %llu): the workers go on from there",
                 dir[0] != '\0' ? dir : "its initial values",
                 (unsigned long long) step, self->count[R_PS], psc_now() - t0,
                 (unsigned long long) self->generation);
    return 0;
}

/* Starts the job and watches it until the last step. */
static int s_train(self_t *self)
{
    const struct job *job = self->b->job;
    char err[PSC_ERR_LEN];
    int nworkers = self->count[R_WORKER];
    self->metrics = chief_metrics_new(
        job->model_dir, nworkers, self->count[R_PS], self->total_steps, err);
    if (self->metrics == NULL) {
        psc_log_err("%s", err);
        s_stop(self, PSC_EXIT_RETRY);
        return PSC_EIO;
    }
    psc_log_info("starting the job: %ld steps, mode %s", self->total_steps,
                 job->mode_name);
    self->job_start = psc_wall();
    chief_metrics_start(self->metrics, self->run_id, self->start_step);
    if (s_open_steps(self) != 0)
        return PSC_EIO;
    s_send_role(self, R_PS, PSC__MSG_TYPE__START);
    s_send_role(self, R_WORKER, PSC__MSG_TYPE__START);
    s_send_role(self, R_EVAL, PSC__MSG_TYPE__START);
    self->started = 1;
    double next_log = psc_now() + job->log_interval_s;
    int logged = 0;
    self->training = 1;
    /* Done when every shard has reached the last step: shard 0's version,
     * the curve's step, can be ahead of another shard's. */
    self->every_shard_step = self->start_step;
    while ((long) self->every_shard_step < self->total_steps) {
        if (s_stopping(self))
            return PSC_EINTR;
        s_serve(self, 100);
        s_check_liveness(self);
        if (self->status != 0)
            return PSC_EINTR;
        if (self->rollback_wanted && s_live_ps(self) == self->count[R_PS] &&
            s_roll_back(self) != 0)
            return PSC_EINTR;
        /* The curve starts at the first step, however fast or slow the job
         * runs: no record before it (it would show a loss of 0). */
        uint64_t step = chief_metrics_step(self->metrics);
        if (self->ckpt != NULL)
            chief_ckpt_tick(self->ckpt, step, job->mode == JOB_SYNC);
        if (job->export_every_checkpoint)
            s_export_new_checkpoint(self);
        int first = !logged && step > self->start_step;
        if (first || (logged && psc_now() >= next_log)) {
            logged = 1;
            chief_metrics_flush(self->metrics, s_live_workers(self));
            next_log = psc_now() + job->log_interval_s;
        }
    }
    return 0;
}

/*
 * Serves until every live task of role (one still sending heartbeats) has
 * said goodbye, or timeout, or a stop signal: whoever sends it (a launcher
 * stopping a failed job) waits for the chief's exit status, not for the
 * byes of tasks it also stopped.
 */
static void s_wait_byes(self_t *self, int role, double timeout_s)
{
    double deadline = psc_now() + timeout_s;
    /* Three heartbeats missed (and a second at least, for a peer busy
     * with its last answers), or the loss itself if that comes first. */
    const struct job *job = self->b->job;
    double beats = fmin(fmax(3 * job->heartbeat_interval_s, 1.0),
                        job->heartbeat_timeout_s);
    for (;;) {
        int waiting = 0;
        double now = psc_now();
        for (int i = 0; i < self->count[role]; i++) {
            const struct task *t = &self->tasks[role][i];
            /* One whose heartbeats have stopped sends no goodbye. */
            waiting += t->registered && !t->bye && !t->lost &&
                       now - t->last_seen <= beats;
        }
        if (waiting == 0 || psc_now() > deadline || psc_sig_stop_requested())
            return;
        s_serve(self, 100);
    }
}

static void s_final_eval(self_t *self)
{
    struct task *ev = &self->tasks[R_EVAL][0];
    if (self->count[R_EVAL] == 0 || !ev->registered || ev->bye || ev->lost)
        return;
    s_send(self, "evaluator:0", PSC__MSG_TYPE__EVAL_REQUEST, NULL);
    double deadline = psc_now() + 300;
    while (!self->eval.done && !ev->bye && psc_now() < deadline &&
           !psc_sig_stop_requested()) {
        s_serve(self, 100);
        s_check_liveness(self);
        if (ev->lost)
            break;
    }
    if (self->eval.done)
        psc_log_info("final test accuracy %.4f (evaluator)",
                     self->eval.accuracy);
}

static void s_serve_for(void *arg, int timeout_ms)
{
    s_serve(arg, timeout_ms);
}

/* The last checkpoint of a job that ended well; a failure to write it fails
 * the job (retryable: the model would otherwise be lost). */
static void s_final_checkpoint(self_t *self)
{
    if (self->ckpt == NULL || self->metrics == NULL)
        return;
    uint64_t step = chief_metrics_step(self->metrics);
    if (chief_ckpt_final(self->ckpt, step, self->b->job->startup_timeout_s,
                         s_serve_for, self) != 0)
        s_stop(self, PSC_EXIT_RETRY);
}

/*
 * The model of a job that ended well, exported from its last checkpoint
 * with the final evaluation. A failed export fails the job (status 1):
 * the training is kept in the checkpoint, and the log says how to export
 * it by hand.
 */
static void s_final_export(self_t *self)
{
    uint64_t completed = 0;
    if (self->ckpt == NULL)
        return;
    const char *dir = chief_ckpt_newest(self->ckpt, &completed);
    if (dir[0] == '\0' || jobvars_is_sparse_model(self->b->job))
        return;
    if (chief_export(self->b->job, dir, &self->eval) != 0)
        self->status = 1;
}

/* Stops everybody in order; the ps last, so the evaluator can pull. */
static void s_shutdown(self_t *self)
{
    self->training = 0;
    self->shutting_down = 1;
    s_send_role(self, R_WORKER, PSC__MSG_TYPE__STOP);
    s_wait_byes(self, R_WORKER, 10);
    s_close_steps(self);
    if (self->status == 0)
        s_final_checkpoint(self);
    if (self->status == 0)
        s_final_eval(self);
    if (self->status == 0)
        s_final_export(self);
    s_send_role(self, R_EVAL, PSC__MSG_TYPE__STOP);
    s_send_role(self, R_PS, PSC__MSG_TYPE__STOP);
    s_wait_byes(self, R_PS, 10);
    s_wait_byes(self, R_EVAL, 5);
    if (self->metrics != NULL) {
        chief_metrics_flush(self->metrics, s_live_workers(self));
        chief_metrics_finish(self->metrics);
    }
}

static self_t *s_self_new(const struct boot *b)
{
    self_t *self = psc_xcalloc(1, sizeof *self);
    self->b = b;
    self->count[R_PS] = tfc_count(b->tfc, TFC_PS);
    self->count[R_WORKER] = tfc_count(b->tfc, TFC_WORKER);
    self->count[R_EVAL] = 1;
    for (int r = 0; r < R_N; r++)
        self->tasks[r] =
            psc_xcalloc((size_t) self->count[r] + 1, sizeof(struct task));
    self->canonical = job_canonical(b->job);
    self->router = net_socket(b->zctx, ZMQ_ROUTER, NULL);
    return self;
}

static void s_self_destroy(self_t **p)
{
    self_t *self = *p;
    net_close(&self->router);
    for (int r = 0; r < R_N; r++)
        free(self->tasks[r]);
    free(self->canonical);
    chief_ckpt_destroy(&self->ckpt);
    free(self->vars);
    model_destroy(&self->model);
    placement_destroy(&self->placement);
    chief_metrics_destroy(&self->metrics);
    chief_steps_destroy(&self->steps);
    free(self);
    *p = NULL;
}

int chief_run(const struct boot *b)
{
    char err[PSC_ERR_LEN];
    self_t *self = s_self_new(b);
    const char *host = NULL;
    int port = 0;
    boot_chief_endpoint(b->tfc, &host, &port);
    int rc = boot_secure_server(b, self->router, err);
    if (rc == 0)
        rc = net_bind(self->router, port, err);
    if (rc != 0) {
        psc_log_err("%s", err);
        s_self_destroy(&self);
        return PSC_EXIT_RETRY;
    }
    psc_log_info("chief listening on port %d", port);
    if (s_form(self) == 0 && s_initialise(self) == 0)
        s_train(self);
    s_shutdown(self);
    int status = self->status;
    if (self->counters.rejected > 0)
        psc_log_info("dropped %llu malformed messages",
                     (unsigned long long) self->counters.rejected);
    s_self_destroy(&self);
    return status;
}
