/*
 * Unit test for the chief's check of REPORTs: what an honest worker sends
 * passes, and a step, example count, loss or time no worker could have
 * produced (the forged step 10^9 of issue 18 among them) is refused.
 */
#include "chief_report.h"
#include "test.h"

#include <math.h>
#include <stddef.h>

static Psc__Report s_report(double loss, uint64_t examples)
{
    Psc__Report r = PSC__REPORT__INIT;
    r.loss = loss;
    r.examples = examples;
    r.compute_s = 0.01;
    r.wait_s = 0.002;
    return r;
}

int main(void)
{
    struct chief_report_bounds b = {.start_step = 100,
                                    .reports = 10,
                                    .ps_version = 0,
                                    .nworkers = 2,
                                    .batch_size = 64};
    Psc__Report r = s_report(0.7, 64);
    /* Start, reports taken, the slack per worker. */
    uint64_t reach = 110 + 2 * CHIEF_REPORT_SLACK;
    CHECK(chief_report_check(&b, reach, &r) == NULL);
    CHECK(chief_report_check(&b, 0, &r) == NULL);
    CHECK_CONTAINS(chief_report_check(&b, reach + 1, &r), "step beyond");
    CHECK_CONTAINS(chief_report_check(&b, 1000000000, &r), "step beyond");
    CHECK_CONTAINS(chief_report_check(&b, UINT64_MAX, &r), "step beyond");
    /* A ps ahead of the reports (a chief restarted without a checkpoint). */
    b.ps_version = 500;
    CHECK(chief_report_check(&b, 500 + 2 * CHIEF_REPORT_SLACK, &r) == NULL);
    CHECK_CONTAINS(chief_report_check(&b, 501 + 2 * CHIEF_REPORT_SLACK, &r),
                   "step beyond");

    CHECK_CONTAINS(chief_report_check(&b, 110, NULL), "without");
    r = s_report(0.7, 65);
    CHECK_CONTAINS(chief_report_check(&b, 110, &r), "examples");
    r = s_report(NAN, 64);
    CHECK_CONTAINS(chief_report_check(&b, 110, &r), "loss");
    r = s_report(-1, 64);
    CHECK_CONTAINS(chief_report_check(&b, 110, &r), "loss");
    r = s_report(INFINITY, 64);
    CHECK_CONTAINS(chief_report_check(&b, 110, &r), "loss");
    r = s_report(0.0, 0);
    CHECK(chief_report_check(&b, 110, &r) == NULL);
    r.wait_s = -1;
    CHECK_CONTAINS(chief_report_check(&b, 110, &r), "time");
    r.wait_s = 0;
    r.compute_s = NAN;
    CHECK_CONTAINS(chief_report_check(&b, 110, &r), "time");
    /* The version read: up to the step reported (a dropped gradient's
     * reply may be the same version), never past it. */
    r = s_report(0.7, 64);
    r.read_version = 110;
    r.dropped = 1;
    CHECK(chief_report_check(&b, 110, &r) == NULL);
    r.read_version = 111;
    CHECK_CONTAINS(chief_report_check(&b, 110, &r), "version read");
    r.read_version = UINT64_MAX;
    CHECK_CONTAINS(chief_report_check(&b, 110, &r), "version read");
    r = s_report(0.7, 64);
    r.delay_requested_s = 0.5;
    r.delay_slept_s = 0.51;
    CHECK(chief_report_check(&b, 110, &r) == NULL);
    r.delay_slept_s = -0.1;
    CHECK_CONTAINS(chief_report_check(&b, 110, &r), "time");
    r.delay_slept_s = 0;
    r.delay_requested_s = INFINITY;
    CHECK_CONTAINS(chief_report_check(&b, 110, &r), "time");
    printf("ok chief report checks\n");
    return 0;
}
