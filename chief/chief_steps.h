/*
 * The per-step trace of a job run with trace: true: one JSON line per
 * global step in MODEL_DIR/trace/steps.jsonl, saying which workers' reports
 * belong to the step (the update from version r to r + 1), which of their
 * gradients were applied or dropped, and where each worker's time went.
 * Reports come in any order across workers; records go out in step order,
 * once no live worker can still report the step.
 */
#ifndef CHIEF_STEPS_H
#define CHIEF_STEPS_H

#include "psc.pb-c.h"

#include <stddef.h>
#include <stdint.h>

/* Steps held back at most; when full, the oldest is written as it is. */
#define CHIEF_STEPS_PENDING 256

typedef struct chief_steps chief_steps_t;

/* How a mode's reports make records. */
enum chief_steps_kind {
    CHIEF_STEPS_ASYNC = 0, /* each report a record of its own */
    CHIEF_STEPS_SYNC = 1,  /* a step's reports in one record */
    CHIEF_STEPS_SOFTSYNC,  /* as async; a worker may report a step again */
};

/*
 * Opens MODEL_DIR/trace/steps.jsonl for appending (creating the folders)
 * for nworkers workers, whose reports make records as kind says. start is the
 * job's clock origin on psc_now()'s clock (chief_metrics_start_time()),
 * first_step the step the job starts at. The run's first line is a marker,
 * {"run": run_id, "start_step": first_step}, as in metrics.jsonl. Returns
 * NULL with a line in err. Caller owns; chief_steps_destroy().
 */
chief_steps_t *chief_steps_new(const char *model_dir, const char *run_id,
                               int nworkers, enum chief_steps_kind kind,
                               double start, uint64_t first_step, char *err);

/* Writes what is pending (chief_steps_finish()) and closes the file. */
void chief_steps_destroy(chief_steps_t **p);

/*
 * Takes worker's report r (taken by chief_report_check()) of the step
 * r->read_version, then writes every step no live worker can still report.
 * A worker that reports is live again if it was lost. A report of a step
 * already written (a worker back after being lost) is counted, not written.
 */
void chief_steps_report(chief_steps_t *s, int worker, const Psc__Report *r);

/* Worker is gone (lost, or stopped): it no longer holds steps back. */
void chief_steps_gone(chief_steps_t *s, int worker);

/* Writes every pending step, in order, and flushes the file. */
void chief_steps_finish(chief_steps_t *s);

/* Steps taken and not written yet. */
size_t chief_steps_pending(const chief_steps_t *s);

/* Reports that came after their step was written. */
uint64_t chief_steps_late(const chief_steps_t *s);

#endif
