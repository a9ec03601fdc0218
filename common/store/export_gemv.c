/*
 * One input row through a dense layer, reading only the kernel rows of
 * its non-zero inputs. A request of one instance is a matrix-vector
 * product per layer, and its time is the time to read the kernel (about
 * 1 MB for the demo MLP, more than a core's cache once the network stack
 * has run): Fashion-MNIST's images are about half zero pixels, and after
 * a ReLU about half the activations are zero, so half the kernel need
 * not be read.
 */
#include "export_internal.h"

#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define S_HAVE_X86 1
#endif

/* Non-zero inputs gathered at a time: their indices stay on the stack. */
#define S_GATHER 256

/* Kernel rows added per pass over y, so y is loaded and stored less. */
#define S_ROWS 4

/* y += a[k] * kernel row idx[k], for k < n; portable C. */
static void s_add_rows(const float *kernel, int out, const int *idx,
                       const float *a, int n, float *y)
{
    for (int k = 0; k < n; k++) {
        const float *w = kernel + (size_t) idx[k] * (size_t) out;
        for (int j = 0; j < out; j++)
            y[j] += a[k] * w[j];
    }
}

#ifdef S_HAVE_X86
/* The same with AVX2 and FMA, S_ROWS kernel rows per pass over y. */
__attribute__((target("avx2,fma"))) static void
s_add_rows_avx2(const float *kernel, int out, const int *idx, const float *a,
                int n, float *y)
{
    int k = 0;
    for (; k + S_ROWS <= n; k += S_ROWS) {
        const float *w[S_ROWS];
        __m256 av[S_ROWS];
        for (int r = 0; r < S_ROWS; r++) {
            w[r] = kernel + (size_t) idx[k + r] * (size_t) out;
            av[r] = _mm256_set1_ps(a[k + r]);
        }
        int j = 0;
        for (; j + 8 <= out; j += 8) {
            __m256 s = _mm256_loadu_ps(y + j);
            for (int r = 0; r < S_ROWS; r++)
                s = _mm256_fmadd_ps(av[r], _mm256_loadu_ps(w[r] + j), s);
            _mm256_storeu_ps(y + j, s);
        }
        for (; j < out; j++)
            for (int r = 0; r < S_ROWS; r++)
                y[j] += a[k + r] * w[r][j];
    }
    s_add_rows(kernel, out, idx + k, a + k, n - k, y);
}

static int s_have_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

static void s_add(const float *kernel, int out, const int *idx, const float *a,
                  int n, float *y)
{
#ifdef S_HAVE_X86
    if (s_have_avx2()) {
        s_add_rows_avx2(kernel, out, idx, a, n, y);
        return;
    }
#endif
    s_add_rows(kernel, out, idx, a, n, y);
}

void export__gemv_nonzero(const float *kernel, int in, int out, float alpha,
                          const float *x, float *y)
{
    int idx[S_GATHER];
    float a[S_GATHER];
    int n = 0;
    for (int i = 0; i < in; i++) {
        if (x[i] == 0.0f)
            continue;
        idx[n] = i;
        a[n] = alpha * x[i];
        if (++n == S_GATHER) {
            s_add(kernel, out, idx, a, n, y);
            n = 0;
        }
    }
    s_add(kernel, out, idx, a, n, y);
}
