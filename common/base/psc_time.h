/*
 * Clocks: a monotonic clock for deadlines and rates, wall-clock seconds for
 * records people read.
 */
#ifndef PSC_TIME_H
#define PSC_TIME_H

/* Seconds on the monotonic clock. */
double psc_now(void);

/* Seconds since the Unix epoch. */
double psc_wall(void);

#endif
