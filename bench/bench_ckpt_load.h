/*
 * psc-bench's checkpoint slowdown: one worker pushes and pulls the whole
 * of a large model on 2 ps, in runs of a fixed time, alternately without
 * checkpoints and with one every interval (the SAVE the chief sends, made
 * from a thread of this process while the worker trains), so that what a
 * checkpoint costs the training is one ratio measured in one run.
 */
#ifndef BENCH_CKPT_LOAD_H
#define BENCH_CKPT_LOAD_H

#include "bench_report.h"

struct bench_ckpt_load {
    const char *ps_path;
    const char *dir; /* where the checkpoints go (a disk) */
    long params;
    const char *const *sets; /* the model's job options */
    int nsets;
    double seconds;    /* per run */
    double interval_s; /* between checkpoints in a run with them */
    int pairs;         /* runs without and with, alternated */
    int judged;        /* against the target (not --quick's) */
};

/* Adds the "ckpt_slowdown" record to rep. Returns 0 or a PSC_E* with one
 * line in err. */
int bench_ckpt_load_run(const struct bench_ckpt_load *ld, bench_report_t *rep,
                        char *err);

#endif
