/*
 * A float's nine significant digits by integer arithmetic: a float is
 * m * 2^k with m below 2^24, so v * 10^s = m * 5^s * 2^(k + s), which for
 * s up to 44 fits in 128 bits and is rounded exactly (half to even, as
 * glibc's printf rounds the exact binary value). Values outside
 * [1e-36, 1e9), which a probability rarely is, take snprintf's path.
 */
#include "serve_real.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define S_DIGITS   9  /* jansson's JSON_REAL_PRECISION(9) */
#define S_MAX_FIVE 44 /* m * 5^44 < 2^128 for every m below 2^24 */
#define S_LOWEST   1e-36f
#define S_HIGHEST  1e9f

typedef unsigned __int128 s_u128;

static s_u128 s_pow5(int s)
{
    s_u128 result = 1;
    s_u128 base = 5;
    for (; s > 0; s >>= 1) {
        if (s & 1)
            result *= base;
        base *= base;
    }
    return result;
}

/* n * 2^shift, rounded half to even when shift is negative. */
static uint64_t s_scale2(s_u128 n, int shift)
{
    if (shift >= 0)
        return (uint64_t) (n << shift);
    int right = -shift;
    if (right >= 128)
        return 0;
    s_u128 q = n >> right;
    s_u128 rest = n - (q << right);
    s_u128 half = (s_u128) 1 << (right - 1);
    if (rest > half || (rest == half && (q & 1) != 0))
        q++;
    return (uint64_t) q;
}

/*
 * a > 0 as digits * 10^(exp10 - 8), digits in [10^8, 10^9): 1, or 0 when
 * a is outside the range this path computes exactly.
 */
static int s_digits(float a, uint64_t *digits, int *exp10)
{
    if (!(a >= S_LOWEST && a < S_HIGHEST))
        return 0;
    int k = 0;
    double f = frexp((double) a, &k);
    s_u128 m = (s_u128) ldexp(f, 24);
    k -= 24;
    int e = (int) floor(log10((double) a));
    /* log10 may be one off at a power of ten, and rounding up to 10^9
     * moves the exponent: at most two corrections. */
    for (int tries = 0; tries < 3; tries++) {
        int s = S_DIGITS - 1 - e;
        if (s < 0 || s > S_MAX_FIVE)
            return 0;
        uint64_t d = s_scale2(m * s_pow5(s), k + s);
        if (d >= 1000000000u) {
            e++;
        } else if (d < 100000000u) {
            e--;
        } else {
            *digits = d;
            *exp10 = e;
            return 1;
        }
    }
    return 0;
}

/* The nine digits of d, without its trailing zeros; their count. */
static int s_significant(uint64_t d, char text[S_DIGITS])
{
    for (int i = S_DIGITS - 1; i >= 0; i--, d /= 10)
        text[i] = (char) ('0' + d % 10);
    int n = S_DIGITS;
    while (n > 1 && text[n - 1] == '0')
        n--;
    return n;
}

/* d.ddde-X for the n digits in text, X = -e from 5 to 45. */
static char *s_exponent_form(char *p, const char *text, int n, int e)
{
    *p++ = text[0];
    if (n > 1) {
        *p++ = '.';
        memcpy(p, text + 1, (size_t) n - 1);
        p += n - 1;
    }
    *p++ = 'e';
    *p++ = '-';
    if (-e >= 10)
        *p++ = (char) ('0' + -e / 10);
    *p++ = (char) ('0' + -e % 10);
    return p;
}

/* 0.000ddd for e from -4 to -1. */
static char *s_below_one(char *p, const char *text, int n, int e)
{
    *p++ = '0';
    *p++ = '.';
    memset(p, '0', (size_t) (-e - 1));
    p += -e - 1;
    memcpy(p, text, (size_t) n);
    return p + n;
}

/* ddd.ddd for e from 0 to 8, ".0" after a whole number as jansson adds. */
static char *s_fixed(char *p, const char *text, int n, int e)
{
    int whole = e + 1;
    int digits = n > whole ? n : whole;
    for (int i = 0; i < digits; i++) {
        if (i == whole)
            *p++ = '.';
        *p++ = i < n ? text[i] : '0';
    }
    if (n <= whole) {
        *p++ = '.';
        *p++ = '0';
    }
    return p;
}

/* %g's choice for precision 9: fixed for exponents -4..8, else 'e'. */
static size_t s_format(char *out, int negative, uint64_t d, int e)
{
    char text[S_DIGITS];
    int n = s_significant(d, text);
    char *p = out;
    if (negative)
        *p++ = '-';
    if (e < -4)
        p = s_exponent_form(p, text, n, e);
    else if (e < 0)
        p = s_below_one(p, text, n, e);
    else
        p = s_fixed(p, text, n, e);
    *p = '\0';
    return (size_t) (p - out);
}

/* snprintf's "%.9g", then jansson's touches: ".0", and "e-5" for "e-05". */
static size_t s_printf(char *out, double v)
{
    int n = snprintf(out, SERVE_REAL_LEN, "%.*g", S_DIGITS, v);
    char *e = strchr(out, 'e');
    if (strchr(out, '.') == NULL && e == NULL) {
        memcpy(out + n, ".0", 3);
        return (size_t) n + 2;
    }
    if (e == NULL)
        return (size_t) n;
    char *from = e + 1;
    char *to = *from == '-' ? from + 1 : from;
    if (*from == '+' || *from == '-')
        from++;
    while (*from == '0' && from[1] != '\0')
        from++;
    memmove(to, from, strlen(from) + 1);
    return strlen(out);
}

size_t serve_real(char *out, float v)
{
    if (!isfinite(v)) {
        memcpy(out, "null", 5);
        return 4;
    }
    uint64_t digits = 0;
    int e = 0;
    if (s_digits(fabsf(v), &digits, &e))
        return s_format(out, signbit(v) != 0, digits, e);
    return s_printf(out, (double) v);
}
