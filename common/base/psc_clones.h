/*
 * PSC_CLONES before a function over a model's values compiles it twice,
 * for AVX2 and for baseline x86-64, and the loader picks one by the CPU
 * (GCC's target_clones, an ifunc). Debian's packages are built for
 * baseline x86-64, whose 4-wide SSE2 has no unsigned max and half the
 * width: the ps's finite check ran 0.19 ms a push on SSE2, 0.02 on AVX2.
 * AVX2 without FMA: each element gets the same IEEE operations on either
 * path, so the same bits (the same seed trains the same model anywhere).
 */
#ifndef PSC_CLONES_H
#define PSC_CLONES_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    !defined(__SANITIZE_THREAD__)
#define PSC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define PSC_CLONES
#endif

#endif
