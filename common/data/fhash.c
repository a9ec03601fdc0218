/*
 * splitmix64's finaliser is a bijection of 64 bits with full avalanche:
 * ids that differ in one bit land in unrelated buckets.
 */
#include "fhash.h"

#include <math.h>

#define S_GOLDEN 0x9e3779b97f4a7c15ull

/* M_PI is not in strict C11. */
#define S_TWO_PI 6.28318530717958647692

static uint64_t s_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t fhash64(uint64_t id, uint64_t seed)
{
    return s_mix(s_mix(seed + S_GOLDEN) ^ (id + S_GOLDEN));
}

uint64_t fhash_bucket(uint64_t id, uint64_t seed, uint64_t buckets)
{
    return buckets == 0 ? id : fhash64(id, seed) % buckets;
}

double fhash_uniform(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t h = fhash64(c, fhash64(b, fhash64(a, seed)));
    return (double) (h >> 11) * 0x1.0p-53;
}

double fhash_normal(uint64_t seed, uint64_t a, uint64_t b)
{
    /* 1 - u is in (0, 1]: the logarithm is finite. */
    double u = 1.0 - fhash_uniform(seed, a, b, 0);
    double v = fhash_uniform(seed, a, b, 1);
    return sqrt(-2.0 * log(u)) * cos(S_TWO_PI * v);
}
