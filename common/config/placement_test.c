/*
 * Placement: every element placed exactly once, large variables balanced
 * over all shards, small ones whole, and the same answer every time.
 */
#include "placement.h"
#include "test.h"

#include <stdlib.h>

static void check_covers(const size_t *sizes, int nvars, int nps, size_t min)
{
    size_t total = 0;
    for (int v = 0; v < nvars; v++)
        total += sizes[v];
    placement_t *p = placement_new(sizes, nvars, nps, min);
    int *seen = calloc(total, sizeof *seen);
    for (int s = 0; s < nps; s++) {
        size_t expect_off = 0;
        for (int i = 0; i < p->shards[s].nslices; i++) {
            const struct placement_slice *sl = &p->shards[s].slices[i];
            CHECK_EQ(sl->shard_offset, expect_off);
            expect_off += sl->len;
            for (size_t k = 0; k < sl->len; k++)
                seen[sl->global_offset + k]++;
            if (sizes[sl->var] < min)
                CHECK_EQ(sl->len, sizes[sl->var]);
        }
        CHECK_EQ(p->shards[s].size, expect_off);
    }
    for (size_t k = 0; k < total; k++)
        CHECK_EQ(seen[k], 1);
    free(seen);

    float *flat = malloc(total * sizeof *flat);
    float *back = calloc(total, sizeof *back);
    for (size_t k = 0; k < total; k++)
        flat[k] = (float) k;
    for (int s = 0; s < nps; s++) {
        float *vals = malloc((p->shards[s].size + 1) * sizeof *vals);
        placement_gather(p, s, flat, vals);
        placement_scatter(p, s, vals, back);
        free(vals);
    }
    for (size_t k = 0; k < total; k++)
        CHECK_EQ(back[k], flat[k]);
    free(flat);
    free(back);
    placement_destroy(&p);
    CHECK(p == NULL);
}

int main(void)
{
    /* The demo MLP 784-256-128-10: kernels and biases. */
    size_t mlp[] = {784 * 256, 256, 256 * 128, 128, 128 * 10, 10};
    for (int nps = 1; nps <= 4; nps++)
        check_covers(mlp, 6, nps, 16384);

    placement_t *p = placement_new(mlp, 6, 2, 16384);
    /* The two large kernels are sliced over both shards. */
    size_t diff = p->shards[0].size > p->shards[1].size
                      ? p->shards[0].size - p->shards[1].size
                      : p->shards[1].size - p->shards[0].size;
    CHECK(diff <= 1280 + 256 + 128 + 10 + 2);
    placement_destroy(&p);

    size_t tiny[] = {3, 1, 2};
    check_covers(tiny, 3, 5, 100);
    p = placement_new(tiny, 3, 2, 100);
    /* Largest first onto the least loaded shard: 3 -> s0, 2 -> s1, 1 -> s1. */
    CHECK_EQ(p->shards[0].size, 3);
    CHECK_EQ(p->shards[1].size, 3);
    placement_destroy(&p);
    printf("placement: ok\n");
    return 0;
}
