/*
 * Unit test for f16: large conversions (the streaming path, from any
 * destination alignment) give exactly what element-by-element ones give,
 * and round trips keep every binary16 value.
 */
#include "f16.h"

#include "psc_alloc.h"
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

#define N ((size_t) 200003)

int main(void)
{
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
