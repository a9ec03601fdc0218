/*
 * Clocks: a monotonic clock for deadlines and rates, wall-clock seconds for
 * records people read, and a sleep to a monotonic deadline.
 */
#ifndef PSC_TIME_H
#define PSC_TIME_H

/* Seconds on the monotonic clock. */
double psc_now(void);

/* Seconds since the Unix epoch. */
double psc_wall(void);

/*
 * Sleeps until the monotonic time `until` (psc_now() seconds), to within a
 * few microseconds: a nanosleep to just short of it, then a spin. Returns
 * at once when `until` has passed. Signals do not cut the sleep short.
 */
void psc_sleep_until(double until);

#endif
