/*
 * A small fixed team of threads that splits one loop at a time. The ps
 * uses it to apply updates and the client to convert and gather values:
 * megabytes walked while the process's other cores wait on the network.
 * Splits are element-wise, so results do not depend on the thread count.
 */
#ifndef POOL_H
#define POOL_H

#include <stddef.h>

typedef struct pool pool_t;

/* Runs the elements [begin, end) of a loop. */
typedef void (*pool_fn)(void *arg, size_t begin, size_t end);

/*
 * A team of threads in all, the caller included: threads - 1 helpers
 * start. threads <= 0 means one per online core, at most POOL_AUTO_MAX.
 * Caller owns; pool_destroy().
 */
#define POOL_AUTO_MAX 4
pool_t *pool_new(int threads);
void pool_destroy(pool_t **p);

/* Threads in the team, the caller included; 1 for a NULL pool. */
int pool_threads(const pool_t *p);

/*
 * Calls fn over [0, n) in contiguous parts, one per thread, and returns
 * when all are done. Loops shorter than two grains run on the caller
 * alone (waking helpers costs microseconds). Parts start at multiples of
 * 64 elements, so vector loops see aligned starts. p may be NULL. Not
 * reentrant: one loop at a time per pool.
 */
void pool_for(pool_t *p, size_t n, size_t grain, pool_fn fn, void *arg);

#endif
