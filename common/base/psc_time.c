/*
 * clock_gettime and clock_nanosleep wrappers.
 */
#include "psc_time.h"

#include <errno.h>
#include <time.h>

/* The kernel wakes a nanosleep up to its timer slack (50 us by default)
 * late, so the last stretch before a deadline is spun instead. */
#define PSC_SPIN_S 100e-6

double psc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

double psc_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

void psc_sleep_until(double until)
{
    double wake = until - PSC_SPIN_S;
    if (wake > psc_now()) {
        struct timespec ts;
        ts.tv_sec = (time_t) wake;
        ts.tv_nsec = (long) ((wake - (double) ts.tv_sec) * 1e9);
        /* An absolute deadline makes a retry after a signal exact. */
        int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        while (rc == EINTR)
            rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
    while (psc_now() < until)
        continue;
}
