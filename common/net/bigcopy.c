/*
 * Non-temporal copies (SSE2 streaming stores, part of every x86-64 CPU),
 * with memcpy as the portable fallback.
 */
#include "bigcopy.h"

#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>

/* Bytes per loop turn: one cache line of four 16-byte stores. */
#define LINE 64

void bigcopy_stream(void *dst, const void *src, size_t bytes)
{
    char *d = dst;
    const char *s = src;
    /* Streaming stores need 16-byte aligned destinations. */
    size_t head = (16 - ((uintptr_t) d & 15)) & 15;
    if (head > bytes)
        head = bytes;
    memcpy(d, s, head);
    d += head;
    s += head;
    bytes -= head;
    size_t k = 0;
    for (; k + LINE <= bytes; k += LINE) {
        __m128i a = _mm_loadu_si128((const __m128i *) (s + k));
        __m128i b = _mm_loadu_si128((const __m128i *) (s + k + 16));
        __m128i c = _mm_loadu_si128((const __m128i *) (s + k + 32));
        __m128i e = _mm_loadu_si128((const __m128i *) (s + k + 48));
        _mm_stream_si128((__m128i *) (d + k), a);
        _mm_stream_si128((__m128i *) (d + k + 16), b);
        _mm_stream_si128((__m128i *) (d + k + 32), c);
        _mm_stream_si128((__m128i *) (d + k + 48), e);
    }
    memcpy(d + k, s + k, bytes - k);
    /* Streaming stores are weakly ordered: make them visible to readers
     * (another thread may read dst once this returns). */
    _mm_sfence();
}

#else

void bigcopy_stream(void *dst, const void *src, size_t bytes)
{
    memcpy(dst, src, bytes);
}

#endif
