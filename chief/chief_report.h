/*
 * What a worker's REPORT may say: a step no further than the pushes so far
 * can have taken the model, a version read no later than that step, at
 * most one batch of examples, and a finite, non-negative loss and times
 * (delays included). A report that says more was not made by a
 * worker of this job and must not move the global step or the metrics.
 */
#ifndef CHIEF_REPORT_H
#define CHIEF_REPORT_H

#include "psc.pb-c.h"

#include <stdint.h>

/*
 * Versions per worker a report's step may be ahead of the reports taken:
 * one push in flight, and reports of other workers still on their way
 * (their connections are not ordered with this one's). Generous: what it
 * refuses is a step far out of reach, such as 10^9 after 200 steps.
 */
#define CHIEF_REPORT_SLACK 64

/* What the chief knows when a report comes; a plain value. */
struct chief_report_bounds {
    uint64_t start_step; /* the step the job started at (a checkpoint's) */
    uint64_t reports;    /* reports taken so far, from every worker */
    uint64_t ps_version; /* the newest version a ps said it holds */
    int nworkers;
    long batch_size;
};

/*
 * Why a REPORT of step with r (may be NULL) is not one a worker could have
 * sent, or NULL when it may be. A worker pushes once per report and has
 * one push in flight at most, so no version exceeds the start, plus the
 * reports taken (or a ps's own version), plus CHIEF_REPORT_SLACK per
 * worker. The text is static.
 */
const char *chief_report_check(const struct chief_report_bounds *b,
                               uint64_t step, const Psc__Report *r);

#endif
