/*
 * Unit test for keyplan: keys grouped by shard and sorted once, repeats
 * merged with their rows summed, and rows scattered back to every
 * position, for random keys with many repeats and several shard counts.
 */
#include "keyplan.h"

#include "rng.h"
#include "test.h"

#define N     2000
#define WIDTH 3

static void test_plan(int nps, uint64_t range)
{
    static uint64_t keys[N];
    static float grad[N * WIDTH];
    static float sum[N * WIDTH];
    static float out[N * WIDTH];
    rng_t r;
    rng_seed(&r, 7, (uint64_t) nps);
    for (int i = 0; i < N; i++) {
        /* Large keys too: every radix digit is used. */
        keys[i] = rng_below(&r, range) * (range > 1000 ? 0x10001 : 1);
        for (int c = 0; c < WIDTH; c++)
            grad[i * WIDTH + c] = (float) (i + c);
    }
    keyplan_t *p = keyplan_new();
    keyplan_build(p, keys, N, nps);
    size_t count = keyplan_count(p);
    const uint64_t *u = keyplan_keys(p);
    CHECK(count >= 1 && count <= N);
    size_t total = 0;
    for (int s = 0; s < nps; s++) {
        size_t first = keyplan_shard_first(p, s);
        CHECK_EQ(first, total);
        for (size_t j = first; j < first + keyplan_shard_count(p, s); j++) {
            CHECK_EQ(u[j] % (uint64_t) nps, s);
            CHECK(j == first || u[j - 1] < u[j]);
        }
        total += keyplan_shard_count(p, s);
    }
    CHECK_EQ(total, count);
    for (int s = 0; s < nps; s++)
        keyplan_gather(p, s, grad, WIDTH,
                       sum + keyplan_shard_first(p, s) * WIDTH);
    for (size_t j = 0; j < count; j++) {
        for (int c = 0; c < WIDTH; c++) {
            float want = 0;
            int seen = 0;
            for (int i = 0; i < N; i++) {
                if (keys[i] == u[j]) {
                    want =
                        seen ? want + grad[i * WIDTH + c] : grad[i * WIDTH + c];
                    seen = 1;
                }
            }
            CHECK(seen);
            CHECK(sum[j * WIDTH + c] == want);
        }
    }
    /* Rows back: distinct key j's row holds j in every column. */
    for (size_t j = 0; j < count; j++) {
        for (int c = 0; c < WIDTH; c++)
            sum[j * WIDTH + c] = (float) j;
    }
    for (int s = nps - 1; s >= 0; s--)
        keyplan_scatter(p, s, sum + keyplan_shard_first(p, s) * WIDTH, WIDTH,
                        out);
    for (int i = 0; i < N; i++)
        CHECK(u[(size_t) out[i * WIDTH + 2]] == keys[i]);
    keyplan_build(p, keys, 0, nps);
    CHECK_EQ(keyplan_count(p), 0);
    keyplan_destroy(&p);
    CHECK(p == NULL);
    p = keyplan_new(); /* an empty first plan */
    keyplan_build(p, keys, 0, nps);
    CHECK_EQ(keyplan_count(p), 0);
    keyplan_destroy(&p);
}

int main(void)
{
    for (int nps = 1; nps <= 4; nps++) {
        test_plan(nps, 500);
        test_plan(nps, 1u << 30);
    }
    printf("keyplan: ok\n");
    return 0;
}
