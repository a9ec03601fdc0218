/*
 * Batch prediction, as Vertex AI's batch jobs do it on one machine: one
 * instance per line of IN (an instance as in a predict request, or
 * {"instance": ...}), one {"instance": ..., "prediction": [...]} per line
 * of OUT, in order, predicted max_batch_size lines at a time. A malformed
 * line is reported with its line number and skipped (--strict: the run
 * fails, exit 1). A progress line while running; throughput at the end.
 */
#ifndef SERVE_JSONL_H
#define SERVE_JSONL_H

#include "serve_config.h"
#include "serve_models.h"

/* Returns the exit status: 0, 1 (a bad line with strict, or I/O), 2. */
int serve_jsonl_run(const struct serve_config *c, serve_models_t *models);

#endif
