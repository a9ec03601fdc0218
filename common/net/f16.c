/*
 * binary16 conversion. With F16C (x86-64 CPUs since 2012) the hardware
 * converts eight values per instruction; elsewhere a portable bit-exact
 * routine does the same rounding.
 */
#include "f16.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define F16_HAVE_X86 1
#if defined(__clang__)
#include <cpuid.h>
#endif
#endif

static uint16_t s_one_from_f32(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t exp = (x >> 23) & 0xffu;
    uint32_t mant = x & 0x7fffffu;
    if (exp == 0xffu)
        return (uint16_t) (sign | 0x7c00u | (mant ? 0x200u : 0));
    int e = (int) exp - 127 + 15;
    if (e >= 31)
        return (uint16_t) (sign | 0x7c00u);
    if (e <= 0) {
        if (e < -10)
            return (uint16_t) sign;
        mant |= 0x800000u;
        uint32_t shift = (uint32_t) (14 - e);
        uint32_t half = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1u)))
            half++;
        return (uint16_t) (sign | half);
    }
    uint32_t h = sign | ((uint32_t) e << 10) | (mant >> 13);
    uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
        h++;
    return (uint16_t) h;
}

static float s_one_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t) (h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t x;
    if (exp == 0x1fu) {
        x = sign | 0x7f800000u | (mant << 13);
    } else if (exp != 0) {
        x = sign | ((exp + 112u) << 23) | (mant << 13);
    } else if (mant == 0) {
        x = sign;
    } else {
        int e = -1;
        do {
            mant <<= 1;
            e++;
        } while ((mant & 0x400u) == 0);
        x = sign | ((uint32_t) (112 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

#ifdef F16_HAVE_X86
__attribute__((target("f16c,avx"))) static void
s_from_f32_f16c(uint16_t *dst, const float *src, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(src + i);
        __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *) (dst + i), h);
    }
    for (; i < n; i++)
        dst[i] = s_one_from_f32(src[i]);
}

/*
 * Large conversions write with streaming stores: the destination (a
 * worker's parameters) is not read first, as a plain store would, and
 * does not push the rest out of the cache. memcpy() does the same.
 */
#define F16_STREAM_MIN ((size_t) 1 << 16)

__attribute__((target("f16c,avx"))) static void
s_to_f32_f16c(float *dst, const uint8_t *src, size_t n)
{
    size_t i = 0;
    if (n >= F16_STREAM_MIN) {
        for (; i < n && ((uintptr_t) (dst + i) % 32) != 0; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, sizeof h);
            dst[i] = s_one_to_f32(h);
        }
        for (; i + 8 <= n; i += 8) {
            __m128i h = _mm_loadu_si128((const __m128i *) (src + 2 * i));
            _mm256_stream_ps(dst + i, _mm256_cvtph_ps(h));
        }
        _mm_sfence();
    }
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *) (src + 2 * i));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
    for (; i < n; i++) {
        uint16_t h;
        memcpy(&h, src + 2 * i, sizeof h);
        dst[i] = s_one_to_f32(h);
    }
}

/* Multiply, then subtract: no fused multiply-add, to round as C does. */
__attribute__((target("f16c,avx"))) static void
s_sgd_step_f16c(float *w_out, const float *w_in, const uint8_t *g, float step,
                uint16_t *half, size_t n)
{
    __m256 a = _mm256_set1_ps(step);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *) (g + 2 * i));
        __m256 d = _mm256_mul_ps(a, _mm256_cvtph_ps(h));
        __m256 w = _mm256_sub_ps(_mm256_loadu_ps(w_in + i), d);
        _mm256_storeu_ps(w_out + i, w);
        _mm_storeu_si128((__m128i *) (half + i),
                         _mm256_cvtps_ph(w, _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < n; i++) {
        uint16_t h;
        memcpy(&h, g + 2 * i, sizeof h);
        w_out[i] = w_in[i] - step * s_one_to_f32(h);
        half[i] = s_one_from_f32(w_out[i]);
    }
}

static int s_have_f16c(void)
{
#if defined(__clang__)
    /* clang (14) knows no "f16c" here: CPUID leaf 1 has the bit. */
    unsigned int eax = 0;
    unsigned int ebx = 0;
    unsigned int ecx = 0;
    unsigned int edx = 0;
    return __builtin_cpu_supports("avx") &&
           __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
#else
    return __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
#endif
}
#endif

void f16_from_f32(uint16_t *dst, const float *src, size_t n)
{
#ifdef F16_HAVE_X86
    if (s_have_f16c()) {
        s_from_f32_f16c(dst, src, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++)
        dst[i] = s_one_from_f32(src[i]);
}

void f16_to_f32(float *dst, const void *src, size_t n)
{
    const uint8_t *bytes = src;
#ifdef F16_HAVE_X86
    if (s_have_f16c()) {
        s_to_f32_f16c(dst, bytes, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, bytes + 2 * i, sizeof h);
        dst[i] = s_one_to_f32(h);
    }
}

void f16_sgd_step(float *w_out, const float *w_in, const void *g, float step,
                  uint16_t *half, size_t n)
{
    const uint8_t *bytes = g;
#ifdef F16_HAVE_X86
    if (s_have_f16c()) {
        s_sgd_step_f16c(w_out, w_in, bytes, step, half, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, bytes + 2 * i, sizeof h);
        w_out[i] = w_in[i] - step * s_one_to_f32(h);
        half[i] = s_one_from_f32(w_out[i]);
    }
}
