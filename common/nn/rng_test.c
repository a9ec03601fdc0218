/*
 * Unit test for rng: the generator matches the xoshiro256** reference,
 * seeding is deterministic per (seed, stream), and the distributions have
 * the right ranges and moments.
 */
#include "rng.h"

#include "test.h"

#include <stdint.h>

#define DRAWS 200000

static void test_reference(void)
{
    /* Outputs of the authors' xoshiro256** from the state {1, 2, 3, 4}. */
    rng_t r = {{1, 2, 3, 4}};
    CHECK(rng_next(&r) == UINT64_C(0x2d00));
    CHECK(rng_next(&r) == UINT64_C(0x0));
    CHECK(rng_next(&r) == UINT64_C(0x5a007080));
}

static void test_determinism(void)
{
    rng_t a, b, c, d;
    rng_seed(&a, 42, 0);
    rng_seed(&b, 42, 0);
    rng_seed(&c, 42, 1);
    rng_seed(&d, 43, 0);
    int same_c = 0;
    int same_d = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = rng_next(&a);
        CHECK(x == rng_next(&b));
        same_c += x == rng_next(&c);
        same_d += x == rng_next(&d);
    }
    CHECK_EQ(same_c, 0);
    CHECK_EQ(same_d, 0);

    /* A zero seed and stream still give a working generator. */
    rng_seed(&a, 0, 0);
    CHECK(rng_next(&a) != rng_next(&a));
}

static void test_uniform(void)
{
    rng_t r;
    rng_seed(&r, 1, 0);
    double sum = 0.0;
    double sumsq = 0.0;
    for (int i = 0; i < DRAWS; i++) {
        double u = rng_uniform(&r);
        CHECK(u >= 0.0 && u < 1.0);
        sum += u;
        sumsq += u * u;
    }
    double mean = sum / DRAWS;
    CHECK_NEAR(mean, 0.5, 0.005);
    CHECK_NEAR(sumsq / DRAWS - mean * mean, 1.0 / 12.0, 0.002);
}

static void test_normal(void)
{
    rng_t r;
    rng_seed(&r, 2, 0);
    double sum = 0.0;
    double sumsq = 0.0;
    int beyond2 = 0;
    for (int i = 0; i < DRAWS; i++) {
        double z = rng_normal(&r);
        CHECK(isfinite(z));
        sum += z;
        sumsq += z * z;
        beyond2 += fabs(z) > 2.0;
    }
    double mean = sum / DRAWS;
    CHECK_NEAR(mean, 0.0, 0.01);
    CHECK_NEAR(sumsq / DRAWS - mean * mean, 1.0, 0.02);
    /* P(|Z| > 2) = 0.0455 for a true normal. */
    CHECK_NEAR((double) beyond2 / DRAWS, 0.0455, 0.003);
}

static void test_exponential(void)
{
    rng_t r;
    rng_seed(&r, 3, 0);
    double sum = 0.0;
    double sumsq = 0.0;
    for (int i = 0; i < DRAWS; i++) {
        double e = rng_exponential(&r, 20.0);
        CHECK(e >= 0.0 && isfinite(e));
        sum += e;
        sumsq += e * e;
    }
    double mean = sum / DRAWS;
    CHECK_NEAR(mean, 20.0, 0.3);
    CHECK_NEAR(sqrt(sumsq / DRAWS - mean * mean), 20.0, 0.4);
    CHECK(rng_exponential(&r, 0.0) == 0.0);
}

static void test_below(void)
{
    rng_t r;
    rng_seed(&r, 4, 0);
    int counts[10] = {0};
    for (int i = 0; i < DRAWS; i++) {
        uint64_t k = rng_below(&r, 10);
        CHECK(k < 10);
        counts[k]++;
    }
    for (int k = 0; k < 10; k++)
        CHECK_NEAR(counts[k], DRAWS / 10.0, DRAWS / 100.0);
    for (int i = 0; i < 100; i++)
        CHECK_EQ(rng_below(&r, 1), 0);

    /* A bound just over 2^63 rejects almost half the draws; still in range. */
    uint64_t big = (UINT64_C(1) << 63) + 1;
    for (int i = 0; i < 1000; i++)
        CHECK(rng_below(&r, big) < big);
}

static void test_shuffle(void)
{
    enum { N = 8, ROUNDS = 40000 };
    rng_t r;
    rng_seed(&r, 5, 0);
    int first_pos[N] = {0};
    for (int round = 0; round < ROUNDS; round++) {
        int a[N];
        int seen[N] = {0};
        for (int i = 0; i < N; i++)
            a[i] = i;
        rng_shuffle_int(&r, a, N);
        for (int i = 0; i < N; i++) {
            CHECK(a[i] >= 0 && a[i] < N);
            seen[a[i]]++;
        }
        for (int i = 0; i < N; i++)
            CHECK_EQ(seen[i], 1);
        first_pos[a[0]]++;
    }
    for (int i = 0; i < N; i++)
        CHECK_NEAR(first_pos[i], (double) ROUNDS / N, (double) ROUNDS / N / 10);

    /* The same seed gives the same order; empty and single arrays are ok. */
    int a[N];
    int b[N];
    for (int i = 0; i < N; i++) {
        a[i] = i;
        b[i] = i;
    }
    rng_t ra, rb;
    rng_seed(&ra, 9, 3);
    rng_seed(&rb, 9, 3);
    rng_shuffle_int(&ra, a, N);
    rng_shuffle_int(&rb, b, N);
    CHECK(memcmp(a, b, sizeof(a)) == 0);
    rng_shuffle_int(&ra, a, 0);
    rng_shuffle_int(&ra, a, 1);
}

int main(void)
{
    test_reference();
    test_determinism();
    test_uniform();
    test_normal();
    test_exponential();
    test_below();
    test_shuffle();
    printf("rng: ok\n");
    return 0;
}
