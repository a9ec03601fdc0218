/*
 * What keeps numbers from poisoning a shard: a pushed gradient holding a
 * NaN, an infinity or a value whose square overflows float is refused
 * (counted per worker, logged at most once per PS_GUARD_LOG_S), one longer
 * than max_grad_norm is scaled down to it, and the shard's own arrays can
 * be checked for values that became non-finite anyway.
 */
#ifndef PS_GUARD_H
#define PS_GUARD_H

#include "placement.h"

#include <stddef.h>
#include <stdint.h>

/*
 * The largest |g| taken. Adam and Adagrad square the gradient: above
 * sqrt(FLT_MAX) (1.8e19) that is inf, and so is the update. No model
 * trained here has gradients near this, so refusing costs nothing real.
 */
#define PS_GUARD_MAX_ABS 1e18f

/* Seconds between two log lines about refused gradients. */
#define PS_GUARD_LOG_S 10.0

typedef struct ps_guard ps_guard_t;

/*
 * Caller owns; ps_guard_destroy(). nworkers: counts kept per worker, plus
 * one for every other client; max_norm: job option max_grad_norm (0: off).
 */
ps_guard_t *ps_guard_new(int nworkers, double max_norm);
void ps_guard_destroy(ps_guard_t **p);

/*
 * Checks a whole gradient, one array per slice of lay as it came off the
 * wire (float32, or binary16 with f16 set). Returns NULL with *scale set
 * (1, or the factor that clips it to max_grad_norm), or why it is refused
 * (static text); then the refusal is counted for worker (-1: not a worker)
 * and logged, rate-limited, naming task.
 */
const char *ps_guard_gradient(ps_guard_t *g, int worker, const char *task,
                              const struct placement_shard *lay,
                              const void *const *slices, int f16, float *scale);

/*
 * ps_guard_gradient() for part of a gradient (a piece of a push, sparse
 * rows): n values, refused or not, never clipped.
 */
const char *ps_guard_values(ps_guard_t *g, int worker, const char *task,
                            const void *values, int f16, size_t n);

/* Refusals per worker, then other clients (borrowed; nworkers + 1). */
const uint64_t *ps_guard_refused(const ps_guard_t *g);

/*
 * The index of the first of v[0..n) that is NaN or infinite, or n when
 * all are finite.
 */
size_t ps_guard_first_nonfinite(const float *v, size_t n);

#endif
