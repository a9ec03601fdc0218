/*
 * The chief's duties: form the cluster (every ps and worker registers with
 * the same job configuration, within a deadline), initialise the variables
 * on the ps from the job's seed, start the job, watch heartbeats and
 * progress, write metrics, and at the end stop everybody in order (workers,
 * then the evaluator's last evaluation, then the ps).
 */
#ifndef CHIEF_H
#define CHIEF_H

#include "boot.h"

/*
 * Runs the chief on this task's address (the chief's, or worker 0's when the
 * cluster has no chief). Returns the process exit status: 0 when the job
 * finished; PSC_EXIT_RETRY (138) on a runtime failure (the port cannot be
 * bound, tasks did not register in time, the variables cannot be
 * initialised, metrics.jsonl cannot be opened, a ps is lost, too few
 * workers are live); PSC_EXIT_CONFIG (2) when a task runs a different job
 * configuration or the job's model cannot be built; 128+N when signal N
 * stopped the job. Safe to run on its own thread beside a worker of the
 * same process.
 */
int chief_run(const struct boot *b);

#endif
