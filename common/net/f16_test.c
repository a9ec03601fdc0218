/*
 * Unit test for f16: large conversions (the streaming path, from any
 * destination alignment) give exactly what element-by-element ones give,
 * and round trips keep every binary16 value; the fused SGD step rounds
 * exactly as widening, the float update and narrowing one after another.
 */
#include "f16.h"

#include "psc_alloc.h"
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

#define N ((size_t) 200003)

/* Bits equal, or both NaN (whose payloads conversions may change). */
static int s_same(float a, float b)
{
    /* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison): -0 is not +0 */
    return (a != a && b != b) || memcmp(&a, &b, sizeof a) == 0;
}

static void test_sgd_step(void)
{
    size_t n = 1027; /* a tail after the vector loop */
    uint16_t *g = psc_xaligned((n + 1) * sizeof *g);
    float *w = psc_xaligned(n * sizeof *w);
    float *out = psc_xaligned(n * sizeof *out);
    float *want = psc_xaligned(n * sizeof *want);
    float *wide = psc_xaligned(n * sizeof *wide);
    uint16_t *half = psc_xaligned(n * sizeof *half);
    uint16_t *want_half = psc_xaligned(n * sizeof *want_half);
    for (size_t i = 0; i < n + 1; i++)
        g[i] = (uint16_t) (i * 40503u);
    for (size_t i = 0; i < n; i++)
        w[i] = (float) i * 0.37f - 150.0f;
    /* From an odd address too: frames arrive at any alignment. */
    for (int odd = 0; odd < 2; odd++) {
        const void *gp = (const char *) g + odd;
        f16_to_f32(wide, gp, n);
        for (size_t i = 0; i < n; i++)
            want[i] = w[i] - 0.25f * wide[i];
        f16_from_f32(want_half, want, n);
        f16_sgd_step(out, w, gp, 0.25f, half, n);
        for (size_t i = 0; i < n; i++) {
            CHECK(s_same(out[i], want[i]));
            CHECK(half[i] == want_half[i] || want[i] != want[i]);
        }
    }
    f16_sgd_step(out, w, g, 0.25f, half, n);
    f16_sgd_step(w, w, g, 0.25f, want_half, n); /* in place */
    for (size_t i = 0; i < n; i++)
        CHECK(s_same(w[i], out[i]) && half[i] == want_half[i]);
    free(g);
    free(w);
    free(out);
    free(want);
    free(wide);
    free(half);
    free(want_half);
}

int main(void)
{
    test_sgd_step();
    uint16_t *h = psc_xaligned(N * sizeof *h);
    float *big = psc_xaligned((N + 8) * sizeof *big);
    for (size_t i = 0; i < N; i++)
        h[i] = (uint16_t) (i * 7919u); /* every pattern, NaNs too */
    for (size_t shift = 0; shift < 8; shift += 3) {
        f16_to_f32(big + shift, h, N);
        for (size_t i = 0; i < N; i++) {
            float one;
            f16_to_f32(&one, &h[i], 1);
            uint16_t back;
            f16_from_f32(&back, &big[shift + i], 1);
            int nan = (h[i] & 0x7c00u) == 0x7c00u && (h[i] & 0x3ffu) != 0;
            /* Bits, not ==, which takes a -0 that came back as +0. */
            /* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison): above */
            CHECK(nan || memcmp(&one, &big[shift + i], sizeof one) == 0);
            CHECK(nan || back == h[i]);
        }
    }
    uint16_t *h2 = psc_xaligned(N * sizeof *h2);
    f16_from_f32(h2, big + 6, N);
    for (size_t i = 0; i < N; i++) {
        int nan = (h[i] & 0x7c00u) == 0x7c00u && (h[i] & 0x3ffu) != 0;
        CHECK(nan || h2[i] == h[i]);
    }
    free(h);
    free(h2);
    free(big);
    printf("f16: ok\n");
    return 0;
}
