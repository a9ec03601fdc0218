/*
 * What the chief learns while the job runs, and how it reports it: worker
 * reports and ps statistics go in; a progress line (refreshing on a
 * terminal) and one JSON record per interval in MODEL_DIR/metrics.jsonl
 * come out.
 */
#ifndef CHIEF_METRICS_H
#define CHIEF_METRICS_H

#include "psc.pb-c.h"

#include <stdint.h>
#include <stdio.h>

#define CHIEF_HIST_BINS 64

typedef struct chief_metrics chief_metrics_t;

/*
 * Opens MODEL_DIR/metrics.jsonl for appending (creating the folder).
 * Returns NULL with a line in err. Caller owns; chief_metrics_destroy().
 */
chief_metrics_t *chief_metrics_new(const char *model_dir, int nworkers, int nps,
                                   long total_steps, char *err);
void chief_metrics_destroy(chief_metrics_t **p);

/*
 * Marks the start of training (wall_s counts from here) with a record
 * naming the run and the step it starts at (a restored checkpoint's), so
 * the curves of several runs in one model_dir are never mixed up.
 */
void chief_metrics_start(chief_metrics_t *m, const char *run_id,
                         uint64_t start_step);

/* A worker's step: its loss, examples (applied unless r->dropped) and the
 * version it got back. */
void chief_metrics_report(chief_metrics_t *m, int worker, uint64_t step,
                          const Psc__Report *r);

/*
 * The job's clock origin on psc_now()'s clock (the START of
 * chief_metrics_start()): every record's wall_s counts from here.
 */
double chief_metrics_start_time(const chief_metrics_t *m);

/* A ps shard's cumulative statistics. */
void chief_metrics_ps_stats(chief_metrics_t *m, int ps, const Psc__PsStats *s);

/* The global step: the newest version any worker has seen. */
uint64_t chief_metrics_step(const chief_metrics_t *m);

/* Writes a record and the progress line for the interval just ended. */
void chief_metrics_flush(chief_metrics_t *m, int live_workers);

/* Ends the refreshing line and logs the job's totals. */
void chief_metrics_finish(chief_metrics_t *m);

/*
 * The model was rolled back to step: the curve goes on from there, after a
 * record that says so ({"run", "start_step", "restored", "rolled_back"}),
 * so that the steps it repeats are not mixed up with the ones before.
 */
void chief_metrics_rewind(chief_metrics_t *m, const char *run_id,
                          uint64_t step);

#endif
