/*
 * Straggler injection: a worker asks how long to sleep after each step so
 * experiments can reproduce slow or flaky machines. The spec comes from
 * configuration; a seeded rng makes every run repeat exactly.
 */
#ifndef STRAGGLER_H
#define STRAGGLER_H

#include "rng.h"

#include <stdint.h>

enum straggler_kind {
    STRAGGLER_NONE,  /* no delay */
    STRAGGLER_FIXED, /* a = delay in seconds */
    STRAGGLER_EXP,   /* a = mean delay in seconds */
    STRAGGLER_SLOW,  /* a = slow-down factor */
    STRAGGLER_PROB   /* a = probability, b = slow-down factor */
};

/*
 * A value type callers embed; fill it with straggler_parse(). kind is an
 * enum straggler_kind; the fields are read-only for callers.
 */
struct straggler {
    int kind;
    double a;
    double b;
    rng_t rng;
};

/*
 * Parses a spec: "none", "fixed:MS" (fixed delay in milliseconds),
 * "exp:MEAN_MS" (exponential delay with that mean), "slow:FACTOR" (every
 * step takes FACTOR times its compute time) or "p:PROB:FACTOR" (with
 * probability PROB a step takes FACTOR times its compute time). MS >= 0,
 * FACTOR >= 1, 0 <= PROB <= 1. (seed, stream) seed the rng so a run repeats.
 * Returns 0 and fills *s, or PSC_ECONFIG with a one-line message in err
 * (may be NULL) naming the spec and the accepted forms, leaving *s as it was.
 */
int straggler_parse(struct straggler *s, const char *spec, uint64_t seed,
                    uint64_t stream, char *err);

/*
 * Returns the delay in seconds to add to a step whose compute took
 * compute_s seconds (negative values count as 0). Random kinds draw from the
 * rng on every call, so the sequence of delays depends only on the seed.
 */
double straggler_delay(struct straggler *s, double compute_s);

#endif
