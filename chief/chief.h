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
 * cluster has no chief). Returns the exit status: 0 when the job finished,
 * 1 on a runtime failure, 2 on a configuration mismatch, 128+N on signal N.
 * Safe to run on its own thread beside a worker of the same process.
 */
int chief_run(const struct boot *b);

#endif
