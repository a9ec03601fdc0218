/*
 * steps.jsonl. Pending steps live in a ring indexed by step modulo
 * CHIEF_STEPS_PENDING, one entry per worker each: a worker's read versions
 * only grow (every push is answered with values newer than those it was
 * computed from), so it reports each step once at most, and a step no
 * live worker is behind of is complete. In softsync mode a push may be
 * answered before any update: a worker may then report a step again (kept
 * beside the first, in arrival order), and a step is complete once every
 * live worker has reported a later one.
 */
#include "chief_steps.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_fs.h"
#include "psc_json.h"
#include "psc_time.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* stdio's buffer for the file: records go out in large writes. */
#define STEPS_BUF_BYTES (1 << 20)

/* One worker's report of a step. */
struct entry {
    int present;
    int dropped;
    int aborted; /* late_policy abort: never pushed */
    double compute_s;
    double wait_s;
    double delay_requested_s;
    double delay_slept_s;
    double taken;      /* psc_now() when the chief took it */
    double taken_wall; /* and psc_wall() */
};

/* A worker's second or later report of a step (softsync). */
struct extra {
    int worker;
    struct entry e;
};

struct slot {
    int used;
    uint64_t step;
    struct entry *entries; /* nworkers, in worker order */
    struct extra *extras;  /* softsync: the repeats, in arrival order */
    int nextras;
    int extras_cap;
};

struct chief_steps {
    FILE *out;
    char *buf;
    int nworkers;
    enum chief_steps_kind kind;
    double start;
    uint64_t base; /* the lowest step not written yet */
    uint64_t top;  /* one past the highest step taken */
    struct slot ring[CHIEF_STEPS_PENDING];
    struct entry *entries; /* the ring's, CHIEF_STEPS_PENDING x nworkers */
    int *live;
    int *reported;
    uint64_t *last_read; /* per worker: the newest step it reported */
    uint64_t late;
};

static FILE *s_open(const char *model_dir, char *err)
{
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/trace", model_dir);
    if (psc_mkdirs(dir, err) != 0)
        return NULL;
    char path[1200];
    snprintf(path, sizeof path, "%s/steps.jsonl", dir);
    FILE *f = fopen(path, "a");
    if (f == NULL)
        psc_seterr(err, PSC_EIO, "cannot open '%s': %s", path, strerror(errno));
    return f;
}

/* Several runs may append to one file: each starts with its marker. */
static void s_write_marker(FILE *f, const char *run_id, uint64_t first_step)
{
    json_t *rec = json_pack("{s:s, s:I}", "run", run_id, "start_step",
                            (json_int_t) first_step);
    json_dumpf(rec, f, JSON_COMPACT);
    fputc('\n', f);
    json_decref(rec);
}

chief_steps_t *chief_steps_new(const char *model_dir, const char *run_id,
                               int nworkers, enum chief_steps_kind kind,
                               double start, uint64_t first_step, char *err)
{
    FILE *f = s_open(model_dir, err);
    if (f == NULL)
        return NULL;
    chief_steps_t *s = psc_xcalloc(1, sizeof *s);
    s->out = f;
    s->buf = psc_xmalloc(STEPS_BUF_BYTES);
    setvbuf(f, s->buf, _IOFBF, STEPS_BUF_BYTES);
    s_write_marker(f, run_id, first_step);
    s->nworkers = nworkers;
    s->kind = kind;
    s->start = start;
    s->base = s->top = first_step;
    size_t n = (size_t) nworkers;
    s->entries = psc_xcalloc(CHIEF_STEPS_PENDING * n, sizeof *s->entries);
    for (size_t i = 0; i < CHIEF_STEPS_PENDING; i++)
        s->ring[i].entries = s->entries + i * n;
    s->live = psc_xcalloc(n, sizeof *s->live);
    s->reported = psc_xcalloc(n, sizeof *s->reported);
    s->last_read = psc_xcalloc(n, sizeof *s->last_read);
    /* Every worker registered before the job started: all hold steps. */
    for (int w = 0; w < nworkers; w++)
        s->live[w] = 1;
    return s;
}

void chief_steps_destroy(chief_steps_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    chief_steps_t *s = *p;
    chief_steps_finish(s);
    fclose(s->out);
    free(s->buf);
    free(s->entries);
    for (size_t i = 0; i < CHIEF_STEPS_PENDING; i++)
        free(s->ring[i].extras);
    free(s->live);
    free(s->reported);
    free(s->last_read);
    free(s);
    *p = NULL;
}

static json_t *s_worker_json(int w, const struct entry *e)
{
    json_t *o = json_pack("{s:i}", "worker", w);
    psc_json_set_real(o, "compute_s", e->compute_s);
    psc_json_set_real(o, "wait_s", e->wait_s);
    psc_json_set_real(o, "delay_requested_s", e->delay_requested_s);
    psc_json_set_real(o, "delay_slept_s", e->delay_slept_s);
    json_object_set_new(o, "dropped", json_boolean(e->dropped && !e->aborted));
    json_object_set_new(o, "aborted", json_boolean(e->aborted));
    return o;
}

/*
 * Writes the record of step with the n entries es of workers ws (es and ws
 * side by side, in the record's order). Its time
 * is when the chief took the last applied gradient's report (the update,
 * as the chief sees it), or the last report when all were dropped.
 */
static void s_write_record(chief_steps_t *s, uint64_t step,
                           const struct entry *es, const int *ws, int n)
{
    if (n == 0)
        return;
    json_t *workers = json_array();
    int applied = 0, dropped = 0, aborted = 0;
    const struct entry *when = NULL;
    const struct entry *last = &es[0];
    for (int i = 0; i < n; i++) {
        const struct entry *e = &es[i];
        json_array_append_new(workers, s_worker_json(ws[i], e));
        aborted += e->aborted;
        dropped += e->dropped && !e->aborted;
        applied += !e->dropped;
        if (!e->dropped && (when == NULL || e->taken > when->taken))
            when = e;
        if (e->taken > last->taken)
            last = e;
    }
    /* All dropped: the step's time is its last report's. */
    if (when == NULL)
        when = last;
    json_t *rec = json_pack("{s:I}", "step", (json_int_t) step);
    psc_json_set_real(rec, "wall_s", when->taken - s->start);
    psc_json_set_real(rec, "time", when->taken_wall);
    json_object_set_new(rec, "aggregated", json_integer(applied));
    json_object_set_new(rec, "dropped", json_integer(dropped));
    json_object_set_new(rec, "aborted", json_integer(aborted));
    json_object_set_new(rec, "workers", workers);
    json_dumpf(rec, s->out, JSON_COMPACT);
    fputc('\n', s->out);
    json_decref(rec);
}

/* Sync: one record with every worker's report of the step. */
static void s_write_sync(chief_steps_t *s, const struct slot *sl)
{
    struct entry *es = psc_xmalloc((size_t) s->nworkers * sizeof *es);
    int *ws = psc_xmalloc((size_t) s->nworkers * sizeof *ws);
    int n = 0;
    for (int w = 0; w < s->nworkers; w++) {
        if (sl->entries[w].present) {
            es[n] = sl->entries[w];
            ws[n++] = w;
        }
    }
    s_write_record(s, sl->step, es, ws, n);
    free(es);
    free(ws);
}

/* Async and softsync: each report a record of its own, by worker, then
 * (a worker's repeats of the step) in arrival order. */
static void s_write_each(chief_steps_t *s, const struct slot *sl)
{
    for (int w = 0; w < s->nworkers; w++) {
        const struct entry *e = &sl->entries[w];
        if (e->present)
            s_write_record(s, sl->step, e, &w, 1);
        for (int i = 0; i < sl->nextras; i++) {
            if (sl->extras[i].worker == w)
                s_write_record(s, sl->step, &sl->extras[i].e, &w, 1);
        }
    }
}

/* Writes step s->base (when any worker reported it) and moves past it. */
static void s_write_base(chief_steps_t *s)
{
    struct slot *sl = &s->ring[s->base % CHIEF_STEPS_PENDING];
    if (sl->used && sl->step == s->base) {
        if (s->kind == CHIEF_STEPS_SYNC)
            s_write_sync(s, sl);
        else
            s_write_each(s, sl);
        sl->used = 0;
    }
    s->base++;
}

/*
 * Writes every step no live worker can still report: those up to the
 * oldest step any live worker reported last. A live worker that never
 * reported holds all back (until the ring is full).
 */
static void s_write_complete(chief_steps_t *s)
{
    uint64_t done = UINT64_MAX;
    int any = 0;
    for (int w = 0; w < s->nworkers; w++) {
        if (!s->live[w])
            continue;
        if (!s->reported[w])
            return;
        any = 1;
        if (s->last_read[w] < done)
            done = s->last_read[w];
    }
    if (!any)
        done = s->top > 0 ? s->top - 1 : 0;
    /* Softsync: a worker at step done may report it again. */
    int again = s->kind == CHIEF_STEPS_SOFTSYNC && any;
    while (s->base < s->top && s->base <= done && !(again && s->base == done))
        s_write_base(s);
}

/* The slot of step (>= s->base), writing the oldest steps to make room. */
static struct slot *s_slot(chief_steps_t *s, uint64_t step)
{
    while (step - s->base >= CHIEF_STEPS_PENDING)
        s_write_base(s);
    struct slot *sl = &s->ring[step % CHIEF_STEPS_PENDING];
    if (!sl->used) {
        sl->used = 1;
        sl->step = step;
        sl->nextras = 0;
        memset(sl->entries, 0, (size_t) s->nworkers * sizeof *sl->entries);
    }
    return sl;
}

/* A new, empty entry for a worker's repeat of the slot's step. */
static struct entry *s_extra(struct slot *sl, int worker)
{
    if (sl->nextras == sl->extras_cap) {
        sl->extras_cap = sl->extras_cap > 0 ? 2 * sl->extras_cap : 4;
        sl->extras = psc_xrealloc(sl->extras,
                                  (size_t) sl->extras_cap * sizeof *sl->extras);
    }
    struct extra *x = &sl->extras[sl->nextras++];
    x->worker = worker;
    memset(&x->e, 0, sizeof x->e);
    return &x->e;
}

static void s_note_worker(chief_steps_t *s, int worker, uint64_t step)
{
    s->live[worker] = 1;
    if (!s->reported[worker] || step > s->last_read[worker])
        s->last_read[worker] = step;
    s->reported[worker] = 1;
}

void chief_steps_report(chief_steps_t *s, int worker, const Psc__Report *r)
{
    if (worker < 0 || worker >= s->nworkers || r == NULL)
        return;
    uint64_t step = r->read_version;
    s_note_worker(s, worker, step);
    if (step < s->base) {
        s->late++;
        s_write_complete(s);
        return;
    }
    struct slot *sl = s_slot(s, step);
    struct entry *e = &sl->entries[worker];
    if (e->present && s->kind == CHIEF_STEPS_SOFTSYNC)
        e = s_extra(sl, worker);
    if (e->present)
        s->late++; /* a second report of one step: kept the first */
    else
        *e = (struct entry){.present = 1,
                            .dropped = r->dropped,
                            .aborted = r->aborted,
                            .compute_s = r->compute_s,
                            .wait_s = r->wait_s,
                            .delay_requested_s = r->delay_requested_s,
                            .delay_slept_s = r->delay_slept_s,
                            .taken = psc_now(),
                            .taken_wall = psc_wall()};
    if (step >= s->top)
        s->top = step + 1;
    s_write_complete(s);
}

void chief_steps_gone(chief_steps_t *s, int worker)
{
    if (worker < 0 || worker >= s->nworkers)
        return;
    s->live[worker] = 0;
    s_write_complete(s);
}

void chief_steps_finish(chief_steps_t *s)
{
    while (s->base < s->top)
        s_write_base(s);
    fflush(s->out);
}

uint64_t chief_steps_late(const chief_steps_t *s)
{
    return s->late;
}

size_t chief_steps_pending(const chief_steps_t *s)
{
    size_t n = 0;
    for (uint64_t step = s->base; step < s->top; step++) {
        const struct slot *sl = &s->ring[step % CHIEF_STEPS_PENDING];
        n += sl->used && sl->step == step;
    }
    return n;
}
