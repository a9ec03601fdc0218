/*
 * Unit test for model: constructor errors and layout, deterministic init,
 * analytic gradients against central differences for every parameter,
 * SGD that really learns (including XOR, which softmax regression cannot),
 * and evaluate against a hand-computed count.
 */
#include "model.h"

#include "psc_err.h"
#include "rng.h"
#include "test.h"

#include <stdint.h>

static float *new_params(const model_t *m)
{
    return calloc(model_num_params(m), sizeof(float));
}

static void test_new_errors(void)
{
    char err[PSC_ERR_LEN] = "";
    const int hidden[] = {4, 0};
    CHECK(model_new("foo", NULL, 0, 5, 3, 4, err) == NULL);
    CHECK_STR(err, "model 'foo' is unknown: use 'softmax' or 'mlp'");
    CHECK(model_new(NULL, NULL, 0, 5, 3, 4, err) == NULL);
    CHECK_CONTAINS(err, "is unknown");
    CHECK(model_new("mlp", hidden, 0, 5, 3, 4, err) == NULL);
    CHECK_STR(err, "model 'mlp' needs at least one hidden layer");
    CHECK(model_new("mlp", hidden, 2, 5, 3, 4, err) == NULL);
    CHECK_CONTAINS(err, "hidden layer 1 has width 0");
    CHECK(model_new("softmax", NULL, 0, 0, 3, 4, err) == NULL);
    CHECK_CONTAINS(err, "input dimension 0");
    CHECK(model_new("softmax", NULL, 0, 5, 1, 4, err) == NULL);
    CHECK_CONTAINS(err, "class count 1");
    CHECK(model_new("softmax", NULL, 0, 5, 257, 4, err) == NULL);
    CHECK_CONTAINS(err, "class count 257");
    CHECK(model_new("softmax", NULL, 0, 5, 3, 0, NULL) == NULL);

    model_t *m = NULL;
    model_destroy(&m);
    model_destroy(NULL);
}

static void test_layout(void)
{
    const int hidden[] = {4, 3};
    model_t *m = model_new("mlp", hidden, 2, 5, 3, 8, NULL);
    CHECK(m != NULL);
    CHECK_EQ(model_num_vars(m), 6);
    const char *names[] = {"layer0/kernel", "layer0/bias",   "layer1/kernel",
                           "layer1/bias",   "layer2/kernel", "layer2/bias"};
    const int rows[] = {5, 4, 4, 3, 3, 3};
    const int cols[] = {4, 1, 3, 1, 3, 1};
    size_t offset = 0;
    for (int i = 0; i < 6; i++) {
        const struct model_var *v = model_var(m, i);
        CHECK_STR(v->name, names[i]);
        CHECK_EQ(v->rows, rows[i]);
        CHECK_EQ(v->cols, cols[i]);
        CHECK_EQ(v->size, rows[i] * cols[i]);
        CHECK_EQ(v->offset, offset);
        offset += v->size;
    }
    CHECK_EQ(model_num_params(m), 51);
    model_destroy(&m);
    CHECK(m == NULL);

    /* Softmax regression is one layer and ignores `hidden`. */
    m = model_new("softmax", hidden, 2, 784, 10, 8, NULL);
    CHECK_EQ(model_num_vars(m), 2);
    CHECK_EQ(model_num_params(m), 7850);
    model_destroy(&m);
}

static void test_init(void)
{
    const int hidden[] = {16, 8};
    model_t *a = model_new("mlp", hidden, 2, 10, 4, 2, NULL);
    model_t *b = model_new("mlp", hidden, 2, 10, 4, 64, NULL);
    size_t n = model_num_params(a);
    float *pa = new_params(a);
    float *pb = new_params(b);
    float *pc = new_params(a);
    model_init_params(a, 7, pa);
    model_init_params(b, 7, pb); /* max_batch does not matter */
    model_init_params(a, 8, pc);
    CHECK(memcmp(pa, pb, n * sizeof(float)) == 0);
    int differ = 0;
    for (size_t i = 0; i < n; i++)
        differ += pa[i] != pc[i];
    CHECK(differ > (int) n / 2);

    /* He limits for the ReLU layers, Glorot for the output layer. */
    const double limits[] = {sqrt(6.0 / 10), sqrt(6.0 / 16),
                             sqrt(6.0 / (8 + 4))};
    double sumsq = 0.0;
    size_t count = 0;
    for (int l = 0; l < 3; l++) {
        const struct model_var *k = model_var(a, 2 * l);
        const struct model_var *bias = model_var(a, 2 * l + 1);
        for (size_t i = 0; i < k->size; i++) {
            double u = pa[k->offset + i] / limits[l];
            CHECK(fabs(u) <= 1.0);
            sumsq += u * u;
        }
        count += k->size;
        for (size_t i = 0; i < bias->size; i++)
            CHECK(pa[bias->offset + i] == 0.0f);
    }
    /* w / limit is uniform on (-1, 1), so its mean square is 1/3. */
    CHECK_NEAR(sumsq / (double) count, 1.0 / 3.0, 0.06);
    free(pa);
    free(pb);
    free(pc);
    model_destroy(&a);
    model_destroy(&b);
}

static void fill_normal(rng_t *r, float *v, size_t n, double scale)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float) (scale * rng_normal(r));
}

/*
 * Compares every analytic partial derivative with a central difference.
 * Float losses carry about 1e-7 relative noise, so epsilon 1e-3 keeps the
 * difference quotient accurate to ~1e-4 while staying far from most ReLU
 * kinks (pre-activations here are O(1)).
 */
static void check_gradient(const char *kind, const int *hidden, int nhidden)
{
    enum { IN = 5, CLASSES = 3, BATCH = 4 };
    const float eps = 1e-3f;
    model_t *m = model_new(kind, hidden, nhidden, IN, CLASSES, BATCH, NULL);
    CHECK(m != NULL);
    size_t n = model_num_params(m);
    float *params = new_params(m);
    float *grad = new_params(m);
    float *scratch = new_params(m);
    float x[BATCH * IN];
    const uint8_t y[BATCH] = {0, 2, 1, 2};
    rng_t r;
    rng_seed(&r, 99, 0);
    model_init_params(m, 3, params);
    /* Nonzero biases too, so their paths are exercised. */
    for (size_t i = 0; i < n; i++)
        params[i] += (float) (0.1 * rng_normal(&r));
    fill_normal(&r, x, BATCH * IN, 1.0);

    model_loss_grad(m, params, x, y, BATCH, grad);
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        float keep = params[i];
        params[i] = keep + eps;
        double up = model_loss_grad(m, params, x, y, BATCH, scratch);
        params[i] = keep - eps;
        double down = model_loss_grad(m, params, x, y, BATCH, scratch);
        params[i] = keep;
        double h = (double) (keep + eps) - (double) (keep - eps);
        double numeric = (up - down) / h;
        double analytic = grad[i];
        double scale = fmax(fmax(fabs(numeric), fabs(analytic)), 1e-2);
        double rel = fabs(numeric - analytic) / scale;
        if (rel > worst)
            worst = rel;
        if (rel >= 1e-2)
            fprintf(stderr, "%s param %zu: analytic %.6g numeric %.6g\n", kind,
                    i, analytic, numeric);
        CHECK(rel < 1e-2);
    }
    printf("model: %s gradient check, worst relative error %.2g\n", kind,
           worst);
    free(params);
    free(grad);
    free(scratch);
    model_destroy(&m);
}

static void test_gradients(void)
{
    const int hidden[] = {4, 3};
    check_gradient("softmax", NULL, 0);
    check_gradient("mlp", hidden, 2);
}

/* Trains with minibatch SGD; returns the final mean loss over all data. */
static float train_sgd(model_t *m, float *params, const float *x,
                       const uint8_t *y, int n, int dim, int steps, float lr)
{
    enum { BATCH = 32 };
    float *grad = new_params(m);
    float xb[BATCH * 8];
    uint8_t yb[BATCH];
    int *order = malloc((size_t) n * sizeof(int));
    rng_t r;
    rng_seed(&r, 5, 0);
    for (int i = 0; i < n; i++)
        order[i] = i;
    int next = n;
    for (int step = 0; step < steps; step++) {
        for (int b = 0; b < BATCH; b++) {
            if (next == n) {
                rng_shuffle_int(&r, order, (size_t) n);
                next = 0;
            }
            int k = order[next++];
            memcpy(xb + b * dim, x + k * dim, (size_t) dim * sizeof(float));
            yb[b] = y[k];
        }
        model_loss_grad(m, params, xb, yb, BATCH, grad);
        for (size_t i = 0; i < model_num_params(m); i++)
            params[i] -= lr * grad[i];
    }
    int correct = 0;
    float loss = model_evaluate(m, params, x, y, n, &correct);
    free(order);
    free(grad);
    return loss;
}

/* Three Gaussian blobs in 4-D: linearly separable. */
static void test_train_blobs(void)
{
    enum { N = 300, DIM = 4, CLASSES = 3 };
    static float x[N * DIM];
    static uint8_t y[N];
    rng_t r;
    rng_seed(&r, 17, 0);
    float centers[CLASSES * DIM];
    fill_normal(&r, centers, CLASSES * DIM, 1.5);
    for (int i = 0; i < N; i++) {
        y[i] = (uint8_t) (i % CLASSES);
        for (int d = 0; d < DIM; d++)
            x[i * DIM + d] =
                centers[y[i] * DIM + d] + (float) (0.5 * rng_normal(&r));
    }
    const int hidden[] = {16};
    const char *kinds[] = {"softmax", "mlp"};
    for (int k = 0; k < 2; k++) {
        model_t *m = model_new(kinds[k], hidden, 1, DIM, CLASSES, 64, NULL);
        float *params = new_params(m);
        model_init_params(m, 1, params);
        int start = 0;
        int correct = 0;
        float before = model_evaluate(m, params, x, y, N, &start);
        float after = train_sgd(m, params, x, y, N, DIM, 300, 0.2f);
        model_evaluate(m, params, x, y, N, &correct);
        printf("model: %s blobs loss %.3f -> %.3f, accuracy %d -> %d of %d\n",
               kinds[k], before, after, start, correct, N);
        CHECK(after < 0.2f * before);
        CHECK(after < 0.1f);
        CHECK(correct >= N * 97 / 100);
        CHECK(correct > start);
        free(params);
        model_destroy(&m);
    }
}

/* XOR of the signs of two inputs: only the mlp can learn it. */
static void test_train_xor(void)
{
    enum { N = 400, DIM = 2 };
    static float x[N * DIM];
    static uint8_t y[N];
    rng_t r;
    rng_seed(&r, 23, 0);
    for (int i = 0; i < N; i++) {
        x[2 * i] = (float) (2.0 * rng_uniform(&r) - 1.0);
        x[2 * i + 1] = (float) (2.0 * rng_uniform(&r) - 1.0);
        y[i] = (uint8_t) ((x[2 * i] > 0) != (x[2 * i + 1] > 0));
    }
    const int hidden[] = {16};
    const char *kinds[] = {"softmax", "mlp"};
    int accuracy[2];
    for (int k = 0; k < 2; k++) {
        model_t *m = model_new(kinds[k], hidden, 1, DIM, 2, 64, NULL);
        float *params = new_params(m);
        model_init_params(m, 2, params);
        int correct = 0;
        float before = model_evaluate(m, params, x, y, N, &correct);
        float after = train_sgd(m, params, x, y, N, DIM, 600, 0.5f);
        model_evaluate(m, params, x, y, N, &correct);
        printf("model: %s xor loss %.3f -> %.3f, accuracy %d/%d\n", kinds[k],
               before, after, correct, N);
        accuracy[k] = correct;
        if (k == 1)
            CHECK(after < 0.5f * before);
        free(params);
        model_destroy(&m);
    }
    CHECK(accuracy[0] < N * 75 / 100);
    CHECK(accuracy[1] >= N * 93 / 100);
}

/*
 * Softmax regression with hand-set weights, evaluated in chunks of 4 over
 * 10 examples, against logits and losses computed here directly.
 */
static void test_evaluate(void)
{
    enum { N = 10, DIM = 3, CLASSES = 3 };
    model_t *m = model_new("softmax", NULL, 0, DIM, CLASSES, 4, NULL);
    const float params[DIM * CLASSES + CLASSES] = {
        1,    0,    0,    0, 1, 0, 0, 0, 1, /* kernel: identity */
        0.0f, 0.5f, -0.5f};                 /* bias */
    float x[N * DIM];
    uint8_t y[N];
    rng_t r;
    rng_seed(&r, 31, 0);
    fill_normal(&r, x, N * DIM, 1.0);
    int expect_correct = 0;
    double expect_loss = 0.0;
    for (int i = 0; i < N; i++) {
        y[i] = (uint8_t) rng_below(&r, CLASSES);
        double z[CLASSES];
        int best = 0;
        double sum = 0.0;
        for (int j = 0; j < CLASSES; j++) {
            z[j] = x[i * DIM + j] + params[DIM * CLASSES + j];
            best = z[j] > z[best] ? j : best;
            sum += exp(z[j]);
        }
        expect_correct += best == y[i];
        expect_loss += log(sum) - z[y[i]];
    }
    expect_loss /= N;
    int correct = -1;
    float loss = model_evaluate(m, params, x, y, N, &correct);
    CHECK_EQ(correct, expect_correct);
    CHECK(correct > 0 && correct < N);
    CHECK_NEAR(loss, expect_loss, 1e-5);

    /* The same first four through the gradient path give the same loss. */
    float grad[DIM * CLASSES + CLASSES];
    float four = model_evaluate(m, params, x, y, 4, &correct);
    CHECK_NEAR(model_loss_grad(m, params, x, y, 4, grad), four, 1e-6);
    CHECK_NEAR(model_evaluate(m, params, x, y, 0, &correct), 0.0, 0);
    CHECK_EQ(correct, 0);

    /* Huge logits stay finite: softmax subtracts the max first. */
    const float big[DIM] = {1000.0f, -1000.0f, 0.0f};
    const uint8_t label = 1;
    loss = model_evaluate(m, params, big, &label, 1, &correct);
    CHECK(isfinite(loss));
    CHECK_NEAR(loss, 1999.5, 1e-2);
    CHECK_NEAR(model_loss_grad(m, params, big, &label, 1, grad), 1999.5, 1e-2);
    for (int i = 0; i < DIM * CLASSES + CLASSES; i++)
        CHECK(isfinite(grad[i]));
    model_destroy(&m);
}

int main(void)
{
    test_new_errors();
    test_layout();
    test_init();
    test_gradients();
    test_train_blobs();
    test_train_xor();
    test_evaluate();
    printf("model: ok\n");
    return 0;
}
