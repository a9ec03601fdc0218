/*
 * Key generators. Zipf uses rejection-inversion (Hörmann and Derflinger,
 * 1996): constant time per key with no table, so 10 M rows cost nothing.
 */
#include "bench_keys.h"

#include "rng.h"

#include <math.h>

struct zipf {
    double s;
    double n;
    double h_x1;
    double h_n;
    double big_s;
};

/* H(x) = ((x^(1-s)) - 1) / (1 - s), log(x) at s = 1: the integral of 1/x^s. */
static double s_h(const struct zipf *z, double x)
{
    double lx = log(x);
    double t = (1.0 - z->s) * lx;
    return fabs(t) > 1e-8 ? expm1(t) / (1.0 - z->s) : lx;
}

static double s_h_inv(const struct zipf *z, double x)
{
    double t = x * (1.0 - z->s);
    if (t < -1.0)
        t = -1.0;
    if (fabs(t) > 1e-8)
        return exp(log1p(t) / (1.0 - z->s));
    return exp(x);
}

static void s_zipf_init(struct zipf *z, uint64_t n, double s)
{
    z->s = s;
    z->n = (double) n;
    z->h_x1 = s_h(z, 1.5) - 1.0;
    z->h_n = s_h(z, z->n + 0.5);
    z->big_s = 2.0 - s_h_inv(z, s_h(z, 2.5) - exp(-s * log(2.0)));
}

/* A rank in [1, n]. */
static uint64_t s_zipf_draw(const struct zipf *z, rng_t *r)
{
    for (;;) {
        double u = z->h_n + rng_uniform(r) * (z->h_x1 - z->h_n);
        double x = s_h_inv(z, u);
        double k = floor(x + 0.5);
        if (k < 1)
            k = 1;
        if (k > z->n)
            k = z->n;
        if (k - x <= z->big_s || u >= s_h(z, k + 0.5) - exp(-z->s * log(k)))
            return (uint64_t) k;
    }
}

/* An odd multiplier not divisible by 5 is coprime with 10^k rows. */
#define SPREAD UINT64_C(2654435761)

void bench_keys_fill(uint64_t *keys, size_t n, uint64_t rows, double zipf,
                     uint64_t seed)
{
    rng_t r;
    rng_seed(&r, seed, 0x6b657973);
    if (zipf <= 0) {
        for (size_t i = 0; i < n; i++)
            keys[i] = rng_below(&r, rows);
        return;
    }
    struct zipf z;
    s_zipf_init(&z, rows, zipf);
    for (size_t i = 0; i < n; i++) {
        uint64_t rank = s_zipf_draw(&z, &r) - 1;
        keys[i] = (uint64_t) (((unsigned __int128) rank * SPREAD) % rows);
    }
}
