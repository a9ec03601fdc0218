/*
 * sparse_lr: the loss by hand, the gradient against central differences
 * (a key named twice included), and predictions.
 */
#include "sparse_lr.h"

#include "test.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>

/* Three examples; key 7 appears twice in the second. */
static void s_batch(struct sparse_set *s)
{
    sparse_set_init(s, 2);
    const uint64_t k0[] = {1, 7};
    const float v0[] = {1.0f, 0.5f};
    const uint64_t k1[] = {7, 3, 7};
    const float v1[] = {2.0f, 1.0f, -1.0f};
    const uint64_t k2[] = {3};
    const float v2[] = {1.5f};
    sparse_set_push(s, 1, k0, v0, 2);
    sparse_set_push(s, 0, k1, v1, 3);
    sparse_set_push(s, 1, k2, v2, 1);
}

/* The weights per occurrence for per-key weights of keys 1, 3 and 7. */
static void s_spread(const struct sparse_set *s, const float *by_key, float *w)
{
    for (size_t k = 0; k < s->nnz; k++)
        w[k] = by_key[s->keys[k]];
}

/* Per-key weights of keys 1, 3 and 7 (8 slots). */
static void s_weights(float *by_key)
{
    for (int k = 0; k < 8; k++)
        by_key[k] = 0;
    by_key[1] = 0.4f;
    by_key[3] = -0.2f;
    by_key[7] = 0.3f;
}

static void test_loss_by_hand(void)
{
    struct sparse_set s;
    s_batch(&s);
    float by_key[8];
    s_weights(by_key);
    float w[6], g[6], gb = 0;
    s_spread(&s, by_key, w);
    float bias = 0.1f;
    double z0 = 0.1 + 0.4 + 0.5 * 0.3;
    double z1 = 0.1 + 2 * 0.3 - 0.2 - 0.3;
    double z2 = 0.1 + 1.5 * -0.2;
    double want = (log1p(exp(-z0)) + log1p(exp(z1)) + log1p(exp(-z2))) / 3;
    CHECK_NEAR(sparse_lr_loss_grad(&s, w, bias, g, &gb), want, 1e-6);
    float p[3];
    sparse_lr_predict(&s, w, bias, p);
    CHECK_NEAR(p[0], 1 / (1 + exp(-z0)), 1e-6);
    CHECK_NEAR(p[1], 1 / (1 + exp(-z1)), 1e-6);
    CHECK_NEAR(p[2], 1 / (1 + exp(-z2)), 1e-6);
    sparse_set_release(&s);
}

/* Each key's gradient (its occurrences summed) against differences. */
static void test_gradient(void)
{
    struct sparse_set s;
    s_batch(&s);
    float by_key[8];
    s_weights(by_key);
    float w[6], g[6], gb = 0;
    s_spread(&s, by_key, w);
    sparse_lr_loss_grad(&s, w, 0.1f, g, &gb);
    const uint64_t keys[] = {1, 3, 7};
    const float h = 1e-3f;
    for (int i = 0; i < 3; i++) {
        float sum = 0;
        for (size_t k = 0; k < s.nnz; k++)
            sum += s.keys[k] == keys[i] ? g[k] : 0;
        float save = by_key[keys[i]], scratch[6], gs;
        by_key[keys[i]] = save + h;
        s_spread(&s, by_key, w);
        float up = sparse_lr_loss_grad(&s, w, 0.1f, scratch, &gs);
        by_key[keys[i]] = save - h;
        s_spread(&s, by_key, w);
        float down = sparse_lr_loss_grad(&s, w, 0.1f, scratch, &gs);
        by_key[keys[i]] = save;
        CHECK_NEAR(sum, (up - down) / (2 * h), 1e-3);
    }
    s_spread(&s, by_key, w);
    float scratch[6], gs;
    float up = sparse_lr_loss_grad(&s, w, 0.1f + h, scratch, &gs);
    float down = sparse_lr_loss_grad(&s, w, 0.1f - h, scratch, &gs);
    CHECK_NEAR(gb, (up - down) / (2 * h), 1e-3);
    sparse_set_release(&s);
}

/* A confident wrong example costs its whole loss, not a clipped one. */
static void test_extreme_logits(void)
{
    struct sparse_set s;
    sparse_set_init(&s, 2);
    const uint64_t k[] = {0};
    const float v[] = {1.0f};
    sparse_set_push(&s, 0, k, v, 1);
    float w[] = {200.0f}, g[1], gb = 0;
    CHECK_NEAR(sparse_lr_loss_grad(&s, w, 0, g, &gb), 200.0, 1e-3);
    CHECK_NEAR(g[0], 1.0, 1e-6);
    w[0] = -200.0f;
    CHECK_NEAR(sparse_lr_loss_grad(&s, w, 0, g, &gb), 0.0, 1e-6);
    CHECK(isfinite(g[0]));
    sparse_set_release(&s);
}

int main(void)
{
    test_loss_by_hand();
    test_gradient();
    test_extreme_logits();
    puts("sparse_lr_test: ok");
    return 0;
}
