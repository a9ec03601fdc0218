/*
 * Unit test for bigcopy: every source and destination alignment and every
 * length around the 64-byte loop copies exactly those bytes, touching
 * nothing before or after the destination.
 */
#include "bigcopy.h"

#include "psc_alloc.h"
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

#define MAX_LEN 300
#define GUARD   32

static void s_check_one(unsigned char *dst, const unsigned char *src,
                        size_t len)
{
    memset(dst - GUARD, 0xA5, len + 2 * GUARD);
    bigcopy_stream(dst, src, len);
    CHECK(memcmp(dst, src, len) == 0);
    for (size_t i = 0; i < GUARD; i++) {
        CHECK(dst[-1 - (ptrdiff_t) i] == 0xA5);
        CHECK(dst[len + i] == 0xA5);
    }
}

int main(void)
{
    unsigned char *src = psc_xaligned(MAX_LEN + 64);
    unsigned char *dst = psc_xaligned(MAX_LEN + 64 + 2 * GUARD);
    for (size_t i = 0; i < MAX_LEN + 64; i++)
        src[i] = (unsigned char) (i * 131u + 7u);
    for (size_t sa = 0; sa < 17; sa++) {
        for (size_t da = 0; da < 17; da++) {
            for (size_t len = 0; len <= MAX_LEN; len++)
                s_check_one(dst + GUARD + da, src + sa, len);
        }
    }
    /* A large copy, as replies in pieces use it. */
    size_t big = BIGCOPY_STREAM_FROM + 12;
    float *a = psc_xaligned(big);
    float *b = psc_xaligned(big + 4);
    for (size_t i = 0; i < big / sizeof(float); i++)
        a[i] = (float) i * 0.5f;
    bigcopy_stream(b + 1, a, big);
    CHECK(memcmp(b + 1, a, big) == 0);
    free(a);
    free(b);
    free(src);
    free(dst);
    printf("bigcopy: ok\n");
    return 0;
}
