/*
 * xoshiro256** (Blackman and Vigna) seeded through splitmix64, as its
 * authors recommend: splitmix64 never yields the all-zero state and
 * decorrelates nearby seeds.
 */
#include "rng.h"

#include <assert.h>
#include <math.h>

#define GOLDEN_GAMMA UINT64_C(0x9e3779b97f4a7c15)
/* M_PI is not in strict C11. */
#define RNG_TWO_PI 6.283185307179586476925286766559

/* The splitmix64 output function: a bijection on 64-bit words. */
static uint64_t s_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t s_splitmix64(uint64_t *state)
{
    *state += GOLDEN_GAMMA;
    return s_mix64(*state);
}

static uint64_t s_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void rng_seed(rng_t *r, uint64_t seed, uint64_t stream)
{
    /*
     * Mixing the stream through a bijection before combining means that, for
     * one seed, distinct streams always start splitmix64 from distinct
     * states, and consecutive stream numbers land far apart.
     */
    uint64_t state = s_mix64(seed) ^ s_mix64(stream + GOLDEN_GAMMA);
    for (int i = 0; i < 4; i++)
        r->s[i] = s_splitmix64(&state);
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = 1; /* xoshiro's one fixed point; practically unreachable */
}

uint64_t rng_next(rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = s_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s_rotl(s[3], 45);
    return result;
}

double rng_uniform(rng_t *r)
{
    return (double) (rng_next(r) >> 11) * 0x1.0p-53;
}

double rng_normal(rng_t *r)
{
    /* Box-Muller; 1 - u lies in (0, 1], so the logarithm stays finite. */
    double u1 = 1.0 - rng_uniform(r);
    double u2 = rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(RNG_TWO_PI * u2);
}

double rng_exponential(rng_t *r, double mean)
{
    return -mean * log(1.0 - rng_uniform(r));
}

uint64_t rng_below(rng_t *r, uint64_t n)
{
    assert(n > 0);
    /*
     * Rejecting the lowest 2^64 mod n values leaves a range whose size is a
     * multiple of n, so the modulo below is exactly uniform. At most half
     * of all draws are rejected, usually almost none.
     */
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = rng_next(r);
        if (x >= threshold)
            return x % n;
    }
}

void rng_shuffle_int(rng_t *r, int *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t) rng_below(r, i);
        int tmp = a[i - 1];
        a[i - 1] = a[j];
        a[j] = tmp;
    }
}
