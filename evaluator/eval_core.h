/*
 * What both kinds of evaluator share: the test set and the model, and one
 * evaluation of a set of parameters recorded in MODEL_DIR/eval.jsonl.
 */
#ifndef EVAL_CORE_H
#define EVAL_CORE_H

#include "dataset.h"
#include "embedding_mlp.h"
#include "job.h"
#include "model.h"
#include "sparse_data.h"

#include <stdint.h>
#include <stdio.h>

struct eval_core {
    const struct job *job;
    int sparse; /* sparse_lr, embedding_mlp: sdata, rows, probs, not data */
    struct sparse_data sdata;
    embedding_mlp_t *emb; /* embedding_mlp's MLP, else NULL */
    float *rows;          /* the row of each feature of the test set */
    float *probs;         /* each test example's probability */
    double auc;           /* of the last evaluation, sparse only */
    struct dataset data;
    float *images; /* the test set scaled once: it is read whole each time */
    model_t *model;
    float *params; /* room for the model's parameters */
    FILE *out;     /* eval.jsonl, appended to */
    double start;
    double accuracy; /* of the last evaluation */
    double loss;
};

/* Loads the test set, makes the model, opens eval.jsonl. Returns 0, or
 * PSC_ECONFIG/PSC_EIO with one line in err. Release with eval_core_release. */
int eval_core_open(struct eval_core *e, const struct job *job, char *err);
void eval_core_release(struct eval_core *e);

/* Marks where a run starts in eval.jsonl (sidecar: from its checkpoints). */
void eval_core_mark_run(struct eval_core *e, const char *run_id,
                        uint64_t start_step, int sidecar);

/*
 * Writes one eval.jsonl record {"step", "wall_s", "loss", "accuracy"} to
 * out, with "auc" when auc >= 0 (binary models); a non-finite number as
 * null plus "<key>_finite": false.
 */
void eval_core_write_score(FILE *out, uint64_t step, double wall_s, double loss,
                           double accuracy, double auc);

/*
 * Evaluates e->params (and for a sparse model e->rows, the test set's
 * weights) on the whole test set and records it for step.
 */
void eval_core_score(struct eval_core *e, uint64_t step);

#endif
