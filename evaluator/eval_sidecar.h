/*
 * The evaluator as TensorFlow's sidecar evaluator: outside any training
 * cluster (no ps in its TF_CONFIG, or no cluster at all), it evaluates each
 * new checkpoint in model_dir as the pointer file moves to it, and writes
 * eval.jsonl as the live evaluator does.
 */
#ifndef EVAL_SIDECAR_H
#define EVAL_SIDECAR_H

#include "boot.h"

/*
 * Runs until it has evaluated a checkpoint at or past max_steps (when the
 * job sets it), or a stop signal. Returns the exit status.
 */
int eval_sidecar_run(const struct boot *b);

#endif
