/*
 * psc-bench's checkpoint figures: real psc-ps write their shards of a
 * model (SAVE, as the chief orders it) and new ps restore them (INIT from
 * the checkpoint), each timed against dd writing and reading the same
 * bytes on the same disk in the same run.
 */
#ifndef BENCH_CKPT_H
#define BENCH_CKPT_H

#include "bench_report.h"

/*
 * Runs the figures for a model of params floats with Adam on 2 ps, in a
 * temporary folder under dir (removed after). sets: the job options
 * (model bench and its size included). Returns 0, or a PSC_E* with one line
 * in err.
 */
int bench_ckpt_run(const char *ps_path, const char *dir, long params,
                   const char *const *sets, int nsets, bench_report_t *rep,
                   char *err);

#endif
