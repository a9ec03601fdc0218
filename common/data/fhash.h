/*
 * Seeded 64-bit hashing of feature ids, and counter-based random numbers
 * from the same mix. Feature hashing folds any id space into hash_buckets
 * rows; the counters let a generator draw example i's numbers without
 * drawing examples 0..i-1 first, so any worker makes its own share.
 */
#ifndef FHASH_H
#define FHASH_H

#include <stdint.h>

/* A 64-bit hash of id under seed (splitmix64's finaliser, twice). */
uint64_t fhash64(uint64_t id, uint64_t seed);

/* The row id lands in: fhash64() mod buckets; buckets 0 keeps id. */
uint64_t fhash_bucket(uint64_t id, uint64_t seed, uint64_t buckets);

/* A uniform double in [0, 1) from (seed, a, b, c): 53 bits of a hash. */
double fhash_uniform(uint64_t seed, uint64_t a, uint64_t b, uint64_t c);

/* A standard normal variate from (seed, a, b) (Box-Muller). */
double fhash_normal(uint64_t seed, uint64_t a, uint64_t b);

#endif
