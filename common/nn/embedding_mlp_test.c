/*
 * embedding_mlp: the variables' layout, a forward pass by hand, the
 * gradients of the embedding rows (a key named twice and two features in
 * one field included) and of every MLP parameter against central
 * differences, and predictions in chunks equal to one pass.
 */
#include "embedding_mlp.h"

#include "test.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define FIELDS 2
#define WIDTH  3
#define NKEYS  8

/* Four examples; the second has key 7 twice, and three features, so its
 * field 1 sums two rows. */
static void s_batch(struct sparse_set *s)
{
    sparse_set_init(s, 2);
    const uint64_t k0[] = {1, 7};
    const float v0[] = {1.0f, 0.5f};
    const uint64_t k1[] = {7, 3, 7};
    const float v1[] = {2.0f, 1.0f, -1.0f};
    const uint64_t k2[] = {3, 5};
    const float v2[] = {1.5f, 1.0f};
    const uint64_t k3[] = {5};
    const float v3[] = {1.0f};
    sparse_set_push(s, 1, k0, v0, 2);
    sparse_set_push(s, 0, k1, v1, 3);
    sparse_set_push(s, 1, k2, v2, 2);
    sparse_set_push(s, 0, k3, v3, 1);
}

/* The rows per occurrence from rows per key. */
static void s_spread(const struct sparse_set *s, const float *by_key, float *r)
{
    for (size_t k = 0; k < s->nnz; k++)
        memcpy(r + k * WIDTH, by_key + s->keys[k] * WIDTH,
               WIDTH * sizeof(float));
}

/* Rows away from 0 so that no ReLU sits on its kink. */
static void s_rows(float *by_key)
{
    for (int i = 0; i < NKEYS * WIDTH; i++)
        by_key[i] = 0.3f * sinf(1.7f * (float) i + 0.4f);
}

static float s_loss(embedding_mlp_t *m, const float *params,
                    const struct sparse_set *s, const float *by_key)
{
    float rows[16 * WIDTH], grows[16 * WIDTH], grad[256];
    s_spread(s, by_key, rows);
    return embedding_mlp_loss_grad(m, params, s, rows, grows, grad);
}

static void test_layout(void)
{
    const int hidden[] = {4, 5};
    embedding_mlp_t *m = embedding_mlp_new(FIELDS, WIDTH, hidden, 2, 8, NULL);
    CHECK(m != NULL);
    CHECK_EQ(embedding_mlp_num_vars(m), 6);
    CHECK_EQ(embedding_mlp_num_params(m), 6 * 4 + 4 + 4 * 5 + 5 + 5 + 1);
    const struct model_var *k0 = embedding_mlp_var(m, 0);
    CHECK(strcmp(k0->name, "mlp/layer0/kernel") == 0);
    CHECK_EQ(k0->rows, 6);
    CHECK_EQ(k0->cols, 4);
    const struct model_var *b2 = embedding_mlp_var(m, 5);
    CHECK(strcmp(b2->name, "mlp/layer2/bias") == 0);
    CHECK_EQ(b2->offset, embedding_mlp_num_params(m) - 1);
    embedding_mlp_destroy(&m);
    CHECK(m == NULL);
    embedding_mlp_destroy(&m);
    char err[256] = "";
    CHECK(embedding_mlp_new(0, WIDTH, hidden, 2, 8, err) == NULL);
    CHECK(strstr(err, "fields") != NULL);
}

/* No hidden layer: the logit is w . concat(field sums) + b, by hand. */
static void test_forward_by_hand(void)
{
    embedding_mlp_t *m = embedding_mlp_new(FIELDS, WIDTH, NULL, 0, 4, NULL);
    CHECK(m != NULL);
    float params[7] = {0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f, 0.05f};
    struct sparse_set s;
    s_batch(&s);
    float by_key[NKEYS * WIDTH], rows[8 * WIDTH], p[4];
    s_rows(by_key);
    s_spread(&s, by_key, rows);
    embedding_mlp_predict(m, params, &s, rows, p);
    /* Example 1: field 0 = 2 x row 7, field 1 = row 3 - row 7. */
    double z = params[6];
    for (int c = 0; c < WIDTH; c++) {
        z += params[c] * 2.0 * by_key[7 * WIDTH + c];
        z +=
            params[WIDTH + c] * (by_key[3 * WIDTH + c] - by_key[7 * WIDTH + c]);
    }
    CHECK_NEAR(p[1], 1 / (1 + exp(-z)), 1e-6);
    embedding_mlp_destroy(&m);
    sparse_set_release(&s);
}

static void test_gradient(void)
{
    const int hidden[] = {4, 3};
    embedding_mlp_t *m = embedding_mlp_new(FIELDS, WIDTH, hidden, 2, 4, NULL);
    CHECK(m != NULL);
    size_t np = embedding_mlp_num_params(m);
    CHECK(np <= 256);
    float params[256];
    embedding_mlp_init_params(m, 5, params);
    /* Biases off 0 too, so that every parameter matters. */
    for (int v = 1; v < embedding_mlp_num_vars(m); v += 2) {
        const struct model_var *b = embedding_mlp_var(m, v);
        for (size_t i = 0; i < b->size; i++)
            params[b->offset + i] = 0.1f * (float) (i + 1);
    }
    struct sparse_set s;
    s_batch(&s);
    float by_key[NKEYS * WIDTH], rows[8 * WIDTH], grows[8 * WIDTH], grad[256];
    s_rows(by_key);
    s_spread(&s, by_key, rows);
    float loss = embedding_mlp_loss_grad(m, params, &s, rows, grows, grad);
    CHECK(isfinite(loss) && loss > 0);
    CHECK_NEAR(loss, s_loss(m, params, &s, by_key), 0);
    const float h = 1e-3f;
    /* Every MLP parameter. */
    for (size_t i = 0; i < np; i++) {
        float save = params[i];
        params[i] = save + h;
        float up = s_loss(m, params, &s, by_key);
        params[i] = save - h;
        float down = s_loss(m, params, &s, by_key);
        params[i] = save;
        CHECK_NEAR(grad[i], (up - down) / (2 * h), 2e-3);
    }
    /* Every element of the rows of keys 1, 3, 5 and 7, occurrences summed. */
    const uint64_t keys[] = {1, 3, 5, 7};
    int nonzero = 0;
    for (int i = 0; i < 4; i++) {
        for (int c = 0; c < WIDTH; c++) {
            float sum = 0;
            for (size_t k = 0; k < s.nnz; k++)
                sum += s.keys[k] == keys[i] ? grows[k * WIDTH + c] : 0;
            float *e = &by_key[keys[i] * WIDTH + (uint64_t) c];
            float save = *e;
            *e = save + h;
            float up = s_loss(m, params, &s, by_key);
            *e = save - h;
            float down = s_loss(m, params, &s, by_key);
            *e = save;
            CHECK_NEAR(sum, (up - down) / (2 * h), 2e-3);
            nonzero += fabsf(sum) > 1e-4f;
        }
    }
    CHECK(nonzero > 6);
    embedding_mlp_destroy(&m);
    sparse_set_release(&s);
}

/* Predictions in chunks of 3 equal those of one chunk of 4, and the
 * probabilities the loss was computed from. */
static void test_predict_chunks(void)
{
    const int hidden[] = {4};
    embedding_mlp_t *a = embedding_mlp_new(FIELDS, WIDTH, hidden, 1, 3, NULL);
    embedding_mlp_t *b = embedding_mlp_new(FIELDS, WIDTH, hidden, 1, 4, NULL);
    float params[64];
    CHECK(embedding_mlp_num_params(a) <= 64);
    embedding_mlp_init_params(a, 9, params);
    struct sparse_set s;
    s_batch(&s);
    float by_key[NKEYS * WIDTH], rows[8 * WIDTH], pa[4], pb[4];
    s_rows(by_key);
    s_spread(&s, by_key, rows);
    embedding_mlp_predict(a, params, &s, rows, pa);
    embedding_mlp_predict(b, params, &s, rows, pb);
    double loss = 0;
    for (int i = 0; i < 4; i++) {
        CHECK_NEAR(pa[i], pb[i], 1e-6);
        loss -= s.labels[i] > 0.5f ? log(pb[i]) : log(1 - pb[i]);
    }
    float grows[8 * WIDTH], grad[64];
    CHECK_NEAR(embedding_mlp_loss_grad(b, params, &s, rows, grows, grad),
               loss / 4, 1e-5);
    embedding_mlp_destroy(&a);
    embedding_mlp_destroy(&b);
    sparse_set_release(&s);
}

int main(void)
{
    test_layout();
    test_forward_by_hand();
    test_gradient();
    test_predict_chunks();
    puts("embedding_mlp_test: ok");
    return 0;
}
