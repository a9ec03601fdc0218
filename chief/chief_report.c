/*
 * Plausibility of a worker's REPORT.
 */
#include "chief_report.h"

#include <math.h>

/* The largest version the pushes made so far can have reached. */
static uint64_t s_reach(const struct chief_report_bounds *b)
{
    uint64_t from = b->start_step + b->reports;
    if (b->ps_version > from)
        from = b->ps_version;
    return from + CHIEF_REPORT_SLACK * (uint64_t) b->nworkers;
}

/* 1 for a time a worker can have measured. */
static int s_time(double s)
{
    return isfinite(s) && s >= 0;
}

const char *chief_report_check(const struct chief_report_bounds *b,
                               uint64_t step, const Psc__Report *r)
{
    if (r == NULL)
        return "a report without its loss and examples";
    if (step > s_reach(b) || r->every_shard_version > s_reach(b))
        return "a step beyond what the pushes so far can have reached";
    /* A push is answered with values at least as new as those it was
     * computed from, so the version read never passes the one reported. */
    if (r->read_version > step)
        return "a version read that is newer than the step reported";
    if (r->examples > (uint64_t) b->batch_size)
        return "more examples than one batch";
    /* Cross-entropy is never negative; a diverged model cannot get here,
     * as the ps refuses non-finite gradients. */
    if (!isfinite(r->loss) || r->loss < 0)
        return "a loss that is negative or not finite";
    if (!s_time(r->compute_s) || !s_time(r->wait_s) ||
        !s_time(r->delay_requested_s) || !s_time(r->delay_slept_s))
        return "a time that is negative or not finite";
    return NULL;
}
