/*
 * serve_real() against jansson's own writing of the same float as a real
 * at JSON_REAL_PRECISION(9), which the answers used to be: edge values,
 * every power of ten and its neighbours, and a million random floats.
 */
#include "serve_real.h"

#include "rng.h"
#include "test.h"

#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static long s_checked;

static void s_same_as_jansson(float v)
{
    char ours[SERVE_REAL_LEN];
    size_t n = serve_real(ours, v);
    CHECK_EQ(n, strlen(ours));
    json_t *real = json_real((double) v);
    char *want =
        isfinite(v) ? json_dumps(real, JSON_ENCODE_ANY | JSON_REAL_PRECISION(9))
                    : strdup("null");
    if (strcmp(ours, want) != 0)
        fprintf(stderr, "%a: ours '%s', jansson '%s'\n", (double) v, ours,
                want);
    CHECK_STR(ours, want);
    free(want);
    json_decref(real);
    s_checked++;
}

static void test_edges(void)
{
    const float edges[] = {0.0f,           -0.0f,         1.0f,
                           -1.0f,          0.5f,          0.1f,
                           1e-5f,          1e-4f,         1e-36f,
                           1e-37f,         FLT_MIN,       FLT_MAX,
                           1e9f,           999999999.0f,  123456789.0f,
                           0.999999999f,   9.9999999e-5f, 1.17549435e-38f,
                           1.4e-45f,       3.0f,          100.0f,
                           4.70527666e-5f, 0.588018358f,  1.33999443e-8f};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        s_same_as_jansson(edges[i]);
        s_same_as_jansson(-edges[i]);
    }
    s_same_as_jansson(NAN);
    s_same_as_jansson(INFINITY);
    s_same_as_jansson(-INFINITY);
}

/* Where the exponent and the rounding turn: each power of ten, and the
 * floats on either side of it and of the midpoints of its last digit. */
static void test_powers_of_ten(void)
{
    for (int e = -45; e <= 38; e++) {
        float p = (float) pow(10.0, e);
        float below = p;
        float above = p;
        for (int i = 0; i < 8; i++) {
            s_same_as_jansson(below);
            s_same_as_jansson(above);
            below = nextafterf(below, 0.0f);
            above = nextafterf(above, INFINITY);
        }
    }
}

static void test_random(void)
{
    rng_t r;
    rng_seed(&r, 7, 0);
    for (int i = 0; i < 1000000; i++) {
        uint32_t bits = (uint32_t) rng_next(&r);
        float v;
        memcpy(&v, &bits, sizeof v);
        s_same_as_jansson(v);
        /* Probabilities, as answers mostly are: uniform in (0, 1). */
        s_same_as_jansson((float) rng_uniform(&r));
    }
}

int main(void)
{
    test_edges();
    test_powers_of_ten();
    test_random();
    printf("serve_real: %ld values as jansson writes them\n", s_checked);
    return 0;
}
