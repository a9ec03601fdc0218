/*
 * The chief's exports: a checkpoint of the run written as the next
 * version under MODEL_DIR/export/<model_name>/ (export.h), at the end of
 * training and, with export_every_checkpoint, after each checkpoint.
 */
#ifndef CHIEF_EXPORT_H
#define CHIEF_EXPORT_H

#include "job.h"

/* The evaluator's measurement of the exported step, when it made one. */
struct chief_eval {
    int done;
    double accuracy;
    double loss;
};

/*
 * Exports the checkpoint folder ckpt_dir; eval may be NULL. Logs what it
 * wrote, or one line saying why not and how to export it again by hand.
 * Returns 0 or a PSC_E*.
 */
int chief_export(const struct job *job, const char *ckpt_dir,
                 const struct chief_eval *eval);

#endif
