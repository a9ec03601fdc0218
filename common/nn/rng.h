/*
 * A small seeded pseudo-random generator: splitmix64 expands the seed and
 * xoshiro256** generates. One job seed plus a stream number gives every
 * worker, variable or straggler its own independent, repeatable sequence.
 * Not for cryptography.
 */
#ifndef RNG_H
#define RNG_H

#include <stddef.h>
#include <stdint.h>

/* A value type callers embed; the state words are private. */
typedef struct rng {
    uint64_t s[4];
} rng_t;

/*
 * Seeds r from (seed, stream). Equal pairs give equal sequences; changing
 * either gives an unrelated sequence.
 */
void rng_seed(rng_t *r, uint64_t seed, uint64_t stream);

/* Returns the next 64 uniformly distributed bits. */
uint64_t rng_next(rng_t *r);

/* Returns a uniform double in [0, 1) with 53 random bits. */
double rng_uniform(rng_t *r);

/* Returns a standard normal variate (mean 0, variance 1). */
double rng_normal(rng_t *r);

/* Returns an exponential variate with the given mean (>= 0). */
double rng_exponential(rng_t *r, double mean);

/* Returns a uniform integer in [0, n) without modulo bias; n must be > 0. */
uint64_t rng_below(rng_t *r, uint64_t n);

/* Shuffles a[0..n) in place (Fisher-Yates); every order is equally likely. */
void rng_shuffle_int(rng_t *r, int *a, size_t n);

#endif
