/*
 * Unit test for pool: every element of a loop is visited exactly once,
 * whatever the team's size, the loop's length and the grain, including
 * loops too short to split, a NULL pool, and many loops in a row.
 */
#include "pool.h"

#include "test.h"

#include <stdatomic.h>
#include <stdlib.h>

struct visits {
    atomic_int *count;
    atomic_int calls;
};

static void s_visit(void *arg, size_t begin, size_t end)
{
    struct visits *v = arg;
    atomic_fetch_add(&v->calls, 1);
    for (size_t i = begin; i < end; i++)
        atomic_fetch_add(&v->count[i], 1);
}

/* Runs one loop of n and checks each element was visited once. */
static int s_once_each(pool_t *p, size_t n, size_t grain)
{
    struct visits v;
    v.count = calloc(n + 1, sizeof *v.count);
    atomic_init(&v.calls, 0);
    pool_for(p, n, grain, s_visit, &v);
    int ok = 1;
    for (size_t i = 0; i < n; i++)
        ok &= atomic_load(&v.count[i]) == 1;
    int calls = atomic_load(&v.calls);
    ok &= calls >= 1 && calls <= pool_threads(p);
    free(v.count);
    return ok;
}

static void test_sizes(void)
{
    static const size_t lengths[] = {0,   1,   63,   64,   65,
                                     127, 128, 1000, 4097, 100003};
    static const size_t grains[] = {1, 64, 100, 5000};
    for (int t = 1; t <= 5; t++) {
        pool_t *p = pool_new(t);
        CHECK_EQ(pool_threads(p), t);
        for (size_t i = 0; i < sizeof lengths / sizeof *lengths; i++)
            for (size_t g = 0; g < sizeof grains / sizeof *grains; g++)
                CHECK(s_once_each(p, lengths[i], grains[g]));
        pool_destroy(&p);
        CHECK(p == NULL);
    }
    CHECK(s_once_each(NULL, 1000, 1));
    CHECK_EQ(pool_threads(NULL), 1);
}

static void test_many_loops(void)
{
    pool_t *p = pool_new(3);
    int ok = 1;
    for (int i = 0; i < 2000; i++)
        ok &= s_once_each(p, 256 + (size_t) i, 64);
    CHECK(ok);
    pool_destroy(&p);
}

static void test_auto(void)
{
    pool_t *p = pool_new(0);
    CHECK(pool_threads(p) >= 1 && pool_threads(p) <= POOL_AUTO_MAX);
    CHECK(s_once_each(p, 10000, 64));
    pool_destroy(&p);
    pool_destroy(&p); /* twice is harmless */
}

int main(void)
{
    test_sizes();
    test_many_loops();
    test_auto();
    printf("pool: ok\n");
    return 0;
}
