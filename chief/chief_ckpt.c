#include "chief_ckpt.h"

#include "jobvars.h"
#include "optim.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "psc_time.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Versions ahead of the newest reported one a sync checkpoint is set at:
 * the shards may be a step ahead of the reports. Doubled after a miss. */
#define FIRST_MARGIN 2
#define MAX_MARGIN   64

/* One checkpoint from its order to its manifest. */
struct order {
    int active;
    uint64_t at;   /* the version the shards save at; 0: as they are */
    uint64_t step; /* the checkpoint's step */
    char name[CKPT_NAME_LEN];
    char dir[4096];
    int answered;
    int failed;
    int *done; /* per ps */
    struct ckpt_file *files;
    struct ckpt_sparse_info
        sparse;         /* files: per ps, when the job has a table */
    uint64_t *position; /* per worker: examples drawn before `at` */
    int *past;          /* per worker: has reported a step past `at` */
    double ordered_at;
    double saved_at; /* every shard written (0: not yet) */
};

struct chief_ckpt {
    const struct job *job;
    char run_id[CKPT_NAME_LEN];
    struct ckpt_var *vars;
    int nvars;
    const placement_t *pl;
    int nps;
    int nworkers;
    void *router;
    uint64_t *drawn; /* per worker: examples drawn, counted from the start */
    double next_due;
    uint64_t last_step; /* of the newest checkpoint (or the restored one) */
    char newest[4096];  /* its folder */
    uint64_t completed;
    int margin;
    int has_table; /* the job has a sparse table: each ps saves its part */
    struct order o;
};

chief_ckpt_t *chief_ckpt_new(const struct job *job, const char *run_id,
                             const struct ckpt_var *vars, int nvars,
                             const placement_t *placement, int nworkers,
                             void *router)
{
    chief_ckpt_t *c = psc_xcalloc(1, sizeof *c);
    c->job = job;
    snprintf(c->run_id, sizeof c->run_id, "%s", run_id);
    c->vars = psc_xcalloc((size_t) nvars + 1, sizeof *c->vars);
    memcpy(c->vars, vars, (size_t) nvars * sizeof *vars);
    c->nvars = nvars;
    c->pl = placement;
    c->nps = placement->nps;
    c->nworkers = nworkers;
    c->router = router;
    c->drawn = psc_xcalloc((size_t) nworkers + 1, sizeof *c->drawn);
    c->margin = FIRST_MARGIN;
    c->next_due = psc_now() + job->checkpoint_interval_s;
    c->o.done = psc_xcalloc((size_t) c->nps, sizeof *c->o.done);
    c->o.files = psc_xcalloc((size_t) c->nps, sizeof *c->o.files);
    c->has_table = jobvars_sparse_rows(job) > 0;
    if (c->has_table) {
        struct ckpt_sparse_info *sp = &c->o.sparse;
        sp->width = (uint32_t) jobvars_sparse_width(job);
        sp->files = psc_xcalloc((size_t) c->nps, sizeof *sp->files);
        sp->file_rows = psc_xcalloc((size_t) c->nps, sizeof *sp->file_rows);
        sp->file_pending =
            psc_xcalloc((size_t) c->nps, sizeof *sp->file_pending);
    }
    c->o.position = psc_xcalloc((size_t) nworkers + 1, sizeof *c->o.position);
    c->o.past = psc_xcalloc((size_t) nworkers + 1, sizeof *c->o.past);
    return c;
}

void chief_ckpt_destroy(chief_ckpt_t **p)
{
    chief_ckpt_t *c = *p;
    if (c == NULL)
        return;
    free(c->vars);
    free(c->drawn);
    free(c->o.done);
    free(c->o.files);
    free(c->o.sparse.files);
    free(c->o.sparse.file_rows);
    free(c->o.sparse.file_pending);
    free(c->o.position);
    free(c->o.past);
    free(c);
    *p = NULL;
}

/* Arrays a checkpoint of this job holds per variable: values and slots. */
static int s_narrays(const struct job *job)
{
    struct optim_config oc;
    job_optim_config(job, &oc);
    return 1 + optim_num_slots(oc.kind);
}

/* Names the first difference between the checkpoint's model and ours. */
static int s_compatible(const struct ckpt_manifest *m, const struct job *job,
                        const struct ckpt_var *vars, int nvars, char *why,
                        size_t cap)
{
    if (strcmp(m->model, job->model) != 0) {
        snprintf(why, cap, "model is %s there, %.63s here", m->model,
                 job->model);
        return 0;
    }
    if (strcmp(m->optimizer, job->optimizer) != 0 ||
        m->narrays != s_narrays(job)) {
        snprintf(why, cap, "optimizer is %s there, %.63s here", m->optimizer,
                 job->optimizer);
        return 0;
    }
    int common = m->nvars < nvars ? m->nvars : nvars;
    for (int i = 0; i < common; i++) {
        const struct ckpt_var *a = &m->vars[i];
        const struct ckpt_var *b = &vars[i];
        if (strcmp(a->name, b->name) != 0 || a->rows != b->rows ||
            a->cols != b->cols) {
            snprintf(why, cap, "variable %d is %s %dx%d there, %s %dx%d here",
                     i, a->name, a->rows, a->cols, b->name, b->rows, b->cols);
            return 0;
        }
    }
    if (m->nvars != nvars) {
        snprintf(why, cap, "%d variables there, %d here", m->nvars, nvars);
        return 0;
    }
    size_t width = jobvars_sparse_rows(job) > 0 ? jobvars_sparse_width(job) : 0;
    if (m->sparse.nfiles > 0 && m->sparse.width != width) {
        snprintf(why, cap, "sparse rows are %u wide there, %zu here",
                 m->sparse.width, width);
        return 0;
    }
    return 1;
}

int chief_ckpt_pick_restore(const struct job *job, const struct ckpt_var *vars,
                            int nvars, char *dir, size_t cap,
                            struct ckpt_manifest *m, char *err)
{
    char why[PSC_ERR_LEN];
    int latest = strcmp(job->restore, "latest") == 0;
    if (strcmp(job->restore, "none") == 0)
        return PSC_ENOTFOUND;
    if (latest) {
        int rc = ckpt_find_latest(job->model_dir, dir, cap, why);
        if (rc == PSC_ENOTFOUND)
            return rc;
        if (rc != 0)
            return psc_seterr(err, PSC_ECONFIG,
                              "cannot look for checkpoints "
                              "in %s: %s",
                              job->model_dir, why);
    } else {
        snprintf(dir, cap, "%s", job->restore);
        if (ckpt_verify(dir, why) != 0)
            return psc_seterr(err, PSC_ECONFIG,
                              "restore=%s is not a valid checkpoint: %s: give "
                              "another folder, latest or none",
                              job->restore, why);
    }
    if (ckpt_manifest_read(dir, m, why) != 0)
        return psc_seterr(err, PSC_ECONFIG, "%s: %s", dir, why);
    if (!s_compatible(m, job, vars, nvars, why, sizeof why)) {
        ckpt_manifest_release(m);
        return psc_seterr(err, PSC_ECONFIG,
                          "checkpoint %s was saved by another model (%s): "
                          "give another model_dir, or --set restore=none",
                          dir, why);
    }
    return 0;
}

void chief_ckpt_set_positions(chief_ckpt_t *c, const struct ckpt_worker *w,
                              int n)
{
    for (int i = 0; i < n && i < c->nworkers; i++)
        c->drawn[i] = w[i].position;
}

uint64_t chief_ckpt_position(const chief_ckpt_t *c, int worker)
{
    return worker >= 0 && worker < c->nworkers ? c->drawn[worker] : 0;
}

void chief_ckpt_on_report(chief_ckpt_t *c, int worker, uint64_t step,
                          uint64_t examples)
{
    if (worker < 0 || worker >= c->nworkers)
        return;
    c->drawn[worker] += examples;
    if (!c->o.active || c->o.at == 0)
        return;
    /* A report of step <= at is a batch drawn before the checkpoint. */
    if (step <= c->o.at)
        c->o.position[worker] += examples;
    else
        c->o.past[worker] = 1;
}

static void s_send_save(chief_ckpt_t *c, int ps)
{
    char to[32];
    snprintf(to, sizeof to, "ps:%d", ps);
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__SAVE, "chief:0");
    h.min_version = c->o.at;
    h.text = c->o.dir;
    wire_send(c->router, to, strlen(to), &h, NULL, 0);
}

/* Orders every ps to save at version at (0: as it is); step names it. */
static void s_order(chief_ckpt_t *c, uint64_t at, uint64_t step)
{
    struct order *o = &c->o;
    o->active = 1;
    o->at = at;
    o->step = step;
    o->answered = o->failed = 0;
    o->ordered_at = psc_now();
    o->saved_at = 0;
    ckpt_dir_name(step, o->name, sizeof o->name);
    snprintf(o->dir, sizeof o->dir, "%s/%s", c->job->model_dir, o->name);
    memset(o->done, 0, (size_t) c->nps * sizeof *o->done);
    for (int w = 0; w < c->nworkers; w++) {
        o->position[w] = c->drawn[w];
        o->past[w] = 0;
    }
    for (int s = 0; s < c->nps; s++)
        s_send_save(c, s);
}

/* The ps's sparse file from its answer: 0 (the order failed) when the
 * ps wrote none. */
static int s_take_sparse(chief_ckpt_t *c, int ps, const Psc__Saved *saved)
{
    struct order *o = &c->o;
    struct ckpt_sparse_info *sp = &o->sparse;
    if (saved->sparse_file == NULL || saved->sparse_file[0] == '\0') {
        psc_log_warn("ps:%d wrote no sparse table for %s", ps, o->name);
        o->failed = 1;
        return 0;
    }
    struct ckpt_file *f = &sp->files[ps];
    snprintf(f->name, sizeof f->name, "%s", saved->sparse_file);
    f->bytes = saved->sparse_bytes;
    f->crc32c = saved->sparse_crc32c;
    sp->file_rows[ps] = saved->sparse_rows;
    sp->file_pending[ps] = saved->sparse_pending;
    sp->slot_floats = saved->sparse_slot_floats;
    return 1;
}

void chief_ckpt_on_saved(chief_ckpt_t *c, int ps, const Psc__Header *h)
{
    struct order *o = &c->o;
    if (!o->active || ps < 0 || ps >= c->nps || o->done[ps] ||
        h->min_version != o->at || h->saved == NULL ||
        h->saved->folder == NULL || strcmp(h->saved->folder, o->dir) != 0)
        return; /* an answer to an order given up */
    o->done[ps] = 1;
    o->answered++;
    if (h->saved->file == NULL || h->saved->file[0] == '\0') {
        psc_log_warn("ps:%d did not write %s: %s", ps, o->name,
                     h->text ? h->text : "no reason given");
        o->failed = 1;
        return;
    }
    struct ckpt_file *f = &o->files[ps];
    snprintf(f->name, sizeof f->name, "%s", h->saved->file);
    f->bytes = h->saved->bytes;
    f->crc32c = h->saved->crc32c;
    if (c->has_table && !s_take_sparse(c, ps, h->saved))
        return;
    if (o->answered == c->nps)
        o->saved_at = psc_now();
}

static double s_wall_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

/* The manifest, the pointer and pruning: the checkpoint becomes real. */
static int s_complete(chief_ckpt_t *c)
{
    struct order *o = &c->o;
    const struct job *job = c->job;
    struct ckpt_worker *workers =
        psc_xcalloc((size_t) c->nworkers + 1, sizeof *workers);
    for (int w = 0; w < c->nworkers; w++)
        workers[w].position = o->position[w];
    struct ckpt_manifest m;
    memset(&m, 0, sizeof m);
    m.step = o->step;
    m.wall_time = s_wall_clock();
    m.fingerprint = job_fingerprint(job);
    snprintf(m.run_id, sizeof m.run_id, "%s", c->run_id);
    snprintf(m.model, sizeof m.model, "%.63s", job->model);
    snprintf(m.optimizer, sizeof m.optimizer, "%.63s", job->optimizer);
    m.narrays = s_narrays(job);
    m.nvars = c->nvars;
    m.vars = c->vars;
    m.nps = c->nps;
    m.placement = (struct placement *) c->pl; /* borrowed: not released */
    m.files = o->files;
    m.nworkers = c->nworkers;
    m.workers = workers;
    if (c->has_table) {
        m.sparse = o->sparse; /* borrowed: not released */
        m.sparse.nfiles = c->nps;
        m.sparse.rows = 0;
        for (int s = 0; s < c->nps; s++)
            m.sparse.rows += o->sparse.file_rows[s];
    }
    char err[PSC_ERR_LEN];
    int rc = ckpt_manifest_write(o->dir, &m, err);
    if (rc == 0)
        rc = ckpt_pointer_update(job->model_dir, o->name, err);
    if (rc == 0)
        rc = ckpt_prune(job->model_dir, (int) job->keep_checkpoints, err);
    free(workers);
    if (rc != 0) {
        psc_log_err("checkpoint %s not completed: %s", o->name, err);
        return rc;
    }
    uint64_t bytes = 0;
    uint64_t rows = 0;
    for (int s = 0; s < c->nps; s++)
        bytes += o->files[s].bytes;
    for (int s = 0; c->has_table && s < c->nps; s++) {
        bytes += o->sparse.files[s].bytes;
        rows += o->sparse.file_rows[s];
    }
    if (c->has_table)
        psc_log_info("checkpoint %s: %.1f MB (%llu sparse rows) in %.2f s",
                     o->name, (double) bytes / 1e6, (unsigned long long) rows,
                     psc_now() - o->ordered_at);
    else
        psc_log_info("checkpoint %s: %.1f MB in %.2f s", o->name,
                     (double) bytes / 1e6, psc_now() - o->ordered_at);
    c->last_step = o->step;
    snprintf(c->newest, sizeof c->newest, "%s", o->dir);
    c->completed++;
    return 0;
}

/* 1 when every worker has reported a step past the checkpoint's, so its
 * data position is complete, or when waiting longer would not help. */
static int s_positions_settled(const chief_ckpt_t *c)
{
    const struct order *o = &c->o;
    if (o->at == 0)
        return 1;
    if (psc_now() - o->saved_at > c->job->heartbeat_timeout_s)
        return 1; /* a worker gone quiet: its position is as far as known */
    for (int w = 0; w < c->nworkers; w++)
        if (!o->past[w])
            return 0;
    return 1;
}

/* Ends an order whose answers are all in: 1 when it has ended. */
static int s_settle(chief_ckpt_t *c)
{
    struct order *o = &c->o;
    if (o->active && o->answered < c->nps &&
        psc_now() - o->ordered_at > c->job->startup_timeout_s) {
        psc_log_warn("checkpoint %s given up: %d of %d ps answered in %.0f s",
                     o->name, o->answered, c->nps, c->job->startup_timeout_s);
        o->active = 0;
        return 1;
    }
    if (!o->active || o->answered < c->nps)
        return !o->active;
    if (o->failed) {
        /* Set too close to the shards' version: again now, further out. */
        o->active = 0;
        if (c->margin < MAX_MARGIN)
            c->margin *= 2;
        c->next_due = psc_now();
        return 1;
    }
    if (!s_positions_settled(c))
        return 0;
    o->active = 0;
    s_complete(c);
    return 1;
}

static int s_due(const chief_ckpt_t *c, uint64_t step)
{
    const struct job *job = c->job;
    if (step <= c->last_step)
        return 0;
    if (job->checkpoint_interval_s > 0 && psc_now() >= c->next_due)
        return 1;
    return job->checkpoint_steps > 0 &&
           step >= c->last_step + (uint64_t) job->checkpoint_steps;
}

void chief_ckpt_tick(chief_ckpt_t *c, uint64_t step, int sync)
{
    if (!s_settle(c) || !s_due(c, step))
        return;
    c->next_due = psc_now() + c->job->checkpoint_interval_s;
    uint64_t at = sync ? step + (uint64_t) c->margin : 0;
    s_order(c, at, sync ? at : step);
}

void chief_ckpt_start_from(chief_ckpt_t *c, uint64_t step, const char *dir)
{
    c->last_step = step;
    snprintf(c->newest, sizeof c->newest, "%s", dir);
}

void chief_ckpt_roll_back(chief_ckpt_t *c, uint64_t step, const char *dir,
                          const struct ckpt_worker *w, int n)
{
    c->o.active = 0;
    c->last_step = step;
    snprintf(c->newest, sizeof c->newest, "%s", dir);
    memset(c->drawn, 0, (size_t) c->nworkers * sizeof *c->drawn);
    chief_ckpt_set_positions(c, w, n);
    c->next_due = psc_now() + c->job->checkpoint_interval_s;
}

const char *chief_ckpt_newest(const chief_ckpt_t *c, uint64_t *completed)
{
    *completed = c->completed;
    return c->newest;
}

int chief_ckpt_final(chief_ckpt_t *c, uint64_t step, double timeout_s,
                     void (*serve)(void *arg, int timeout_ms), void *arg)
{
    double deadline = psc_now() + timeout_s;
    /* An order still out: the shards may wait for a version that will not
     * come; answers to it are ignored once the last one is given. */
    c->o.active = 0;
    if (step <= c->last_step)
        return 0;
    s_order(c, 0, step);
    while (c->o.active && psc_now() < deadline) {
        serve(arg, 50);
        s_settle(c);
    }
    if (c->o.active) {
        c->o.active = 0;
        psc_log_err("the last checkpoint was not written within %.0f s",
                    timeout_s);
        return PSC_ETIMEDOUT;
    }
    return c->last_step == step ? 0 : PSC_EIO;
}
