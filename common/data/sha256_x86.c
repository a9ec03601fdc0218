/*
 * SHA-256's compression function with the x86 SHA extensions, where the
 * CPU has them. psc-serve hashes every file of each new version while it
 * serves (about 3 MB for the demo MLP): in plain C that took ~11 ms of a
 * core per version, and the requests sharing that core waited for it.
 */
#include "sha256_internal.h"

#include <stdatomic.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>

/*
 * 4 rounds: the next 4 message words w plus their constants, through
 * abef and cdgh (Intel's register layout for sha256rnds2).
 */
__attribute__((target("sha,sse4.1"))) static void
s_rounds(__m128i *abef, __m128i *cdgh, __m128i w, const uint32_t *k)
{
    __m128i wk = _mm_add_epi32(w, _mm_loadu_si128((const __m128i *) k));
    *cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, wk);
    *abef = _mm_sha256rnds2_epu32(*abef, *cdgh, _mm_shuffle_epi32(wk, 0x0e));
}

__attribute__((target("sha,sse4.1"))) static void
s_blocks(uint32_t h[8], const uint8_t *p, size_t n, const uint32_t k[64])
{
    /* Big-endian words: each group of 4 bytes reversed. */
    const __m128i swap =
        _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i dcba = _mm_loadu_si128((const __m128i *) h);
    __m128i hgfe = _mm_loadu_si128((const __m128i *) (h + 4));
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xb1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1b);
    __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
    __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xf0);
    for (; n > 0; n--, p += 64) {
        __m128i abef0 = abef;
        __m128i cdgh0 = cdgh;
        /* m[g % 4]: the message words 4g..4g+3 of the 16 last made. */
        __m128i m[4];
        for (int g = 0; g < 16; g++) {
            if (g < 4) {
                m[g] = _mm_shuffle_epi8(
                    _mm_loadu_si128((const __m128i *) (p + 16 * g)), swap);
            } else {
                __m128i w4 = m[(g + 3) % 4]; /* words i-4 .. i-1 */
                __m128i t = _mm_sha256msg1_epu32(m[g % 4], m[(g + 1) % 4]);
                t = _mm_add_epi32(t, _mm_alignr_epi8(w4, m[(g + 2) % 4], 4));
                m[g % 4] = _mm_sha256msg2_epu32(t, w4);
            }
            s_rounds(&abef, &cdgh, m[g % 4], k + 4 * g);
        }
        abef = _mm_add_epi32(abef, abef0);
        cdgh = _mm_add_epi32(cdgh, cdgh0);
    }
    __m128i feba = _mm_shuffle_epi32(abef, 0x1b);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xb1);
    _mm_storeu_si128((__m128i *) h, _mm_blend_epi16(feba, dchg, 0xf0));
    _mm_storeu_si128((__m128i *) (h + 4), _mm_alignr_epi8(dchg, feba, 8));
}

/* CPUID leaf 7: EBX bit 29 is SHA; leaf 1: ECX bits 9 and 19, SSSE3 and
 * SSE4.1 (neither compiler's __builtin_cpu_supports knows "sha"). */
static int s_have_sha(void)
{
    unsigned a = 0;
    unsigned b = 0;
    unsigned c = 0;
    unsigned d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d) || (c & (1u << 9)) == 0 ||
        (c & (1u << 19)) == 0)
        return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    return (b & (1u << 29)) != 0;
}

int sha256__blocks_x86(uint32_t h[8], const uint8_t *p, size_t n,
                       const uint32_t k[64])
{
    /* CPUID leaves the VM to ask the hypervisor: asked once. */
    static atomic_int have = -1;
    int known = atomic_load_explicit(&have, memory_order_relaxed);
    if (known < 0) {
        known = s_have_sha();
        atomic_store_explicit(&have, known, memory_order_relaxed);
    }
    if (!known)
        return 0;
    s_blocks(h, p, n, k);
    return 1;
}

#else

int sha256__blocks_x86(uint32_t h[8], const uint8_t *p, size_t n,
                       const uint32_t k[64])
{
    (void) h;
    (void) p;
    (void) n;
    (void) k;
    return 0;
}

#endif
