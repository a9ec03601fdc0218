/*
 * Straggler injection: a worker asks how long to sleep after each step so
 * experiments can reproduce slow or flaky machines (Chen et al. 2016,
 * Dutta et al. 2018). A spec is a base delay, a slow-down factor, or a base
 * times a factor ("shiftexp:5:20*p:0.1:5"); a seeded rng makes every run
 * repeat exactly.
 */
#ifndef STRAGGLER_H
#define STRAGGLER_H

#include "rng.h"

#include <stdint.h>

/* The base delay of a step, drawn anew every step. */
enum straggler_base {
    STRAGGLER_BASE_NONE, /* no base: a factor alone scales compute time */
    STRAGGLER_FIXED,     /* base_a = delay in seconds */
    STRAGGLER_EXP,       /* base_a = mean delay in seconds */
    STRAGGLER_SHIFTEXP,  /* base_a = shift, base_b = exponential mean (s) */
    STRAGGLER_UNIFORM    /* base_a = low end, base_b = high end (s) */
};

/* The factor a step's time is multiplied by. */
enum straggler_factor {
    STRAGGLER_FACTOR_NONE, /* no factor: the base delay as drawn */
    STRAGGLER_SLOW,        /* every step times k */
    STRAGGLER_PROB         /* with probability prob a step times k */
};

/*
 * A value type callers embed; fill it with straggler_parse(). base is an
 * enum straggler_base and factor an enum straggler_factor; the fields are
 * read-only for callers. A spec of "none" has neither.
 */
struct straggler {
    int base;
    double base_a;
    double base_b;
    int factor;
    double prob;
    double k;
    rng_t rng;
};

/*
 * Parses a spec: "none", a BASE, a FACTOR, or BASE*FACTOR (either order;
 * at most one of each). Times are in milliseconds.
 *
 *   BASE   fixed:MS                  that delay every step
 *          exp:MEAN_MS               exponential with that mean
 *          shiftexp:SHIFT_MS:MEAN_MS SHIFT plus an exponential with MEAN
 *          uniform:LO_MS:HI_MS       uniform between LO and HI
 *   FACTOR slow:K                    every step times K
 *          p:PROB:K                  with probability PROB a step times K
 *
 * A FACTOR alone multiplies the step's compute time (the delay is
 * (K - 1) x compute); with a BASE it multiplies the base delay instead
 * (the delay is base x K, or base x 1 for a p: step that is not slowed).
 * MS >= 0, LO <= HI, K >= 1, 0 <= PROB <= 1; blanks, nan and inf are
 * refused. (seed, stream) seed the rng so a run repeats.
 * Returns 0 and fills *s, or PSC_ECONFIG with a one-line message in err
 * (may be NULL) naming the spec and the accepted forms, leaving *s as it was.
 */
int straggler_parse(struct straggler *s, const char *spec, uint64_t seed,
                    uint64_t stream, char *err);

/*
 * Returns the delay in seconds to add to a step whose compute took
 * compute_s seconds (negative values count as 0). Random bases and the p:
 * factor draw from the rng on every call (the base first), so the sequence
 * of delays depends only on the seed and the step number.
 */
double straggler_delay(struct straggler *s, double compute_s);

#endif
