/*
 * Unit test for optim: every update rule against a double-precision
 * reference over three steps (with a changing learning rate and a gradient
 * scale), hand-worked single steps, the decay schedules and name parsing.
 */
#include "optim.h"

#include "psc_err.h"
#include "test.h"

#define N     19 /* odd, so both the SIMD body and the scalar tail run */
#define STEPS 3

struct ref_state {
    double w[N], a[N], v[N];
};

static float grad_at(int step, int i)
{
    return (float) ((i % 5) - 2) * 0.3f + 0.1f * (float) step - 0.05f;
}

/* The documented rules, written out plainly in double. */
static void ref_step(const struct optim_config *c, double lr, int t,
                     struct ref_state *s, double scale)
{
    for (int i = 0; i < N; i++) {
        double g = (double) grad_at(t, i) * scale;
        switch (c->kind) {
        case OPTIM_SGD:
            s->w[i] -= lr * g;
            break;
        case OPTIM_MOMENTUM:
            s->a[i] = c->momentum * s->a[i] + g;
            s->w[i] -=
                c->nesterov ? lr * (g + c->momentum * s->a[i]) : lr * s->a[i];
            break;
        case OPTIM_ADAGRAD:
            s->a[i] += g * g;
            s->w[i] -= lr * g / (sqrt(s->a[i]) + c->epsilon);
            break;
        case OPTIM_ADAM: {
            double b1 = c->beta1;
            double b2 = c->beta2;
            s->a[i] = b1 * s->a[i] + (1 - b1) * g;
            s->v[i] = b2 * s->v[i] + (1 - b2) * g * g;
            double lr_t = lr * sqrt(1 - pow(b2, t)) / (1 - pow(b1, t));
            s->w[i] -= lr_t * s->a[i] / (sqrt(s->v[i]) + c->epsilon);
            break;
        }
        }
    }
}

static void check_against_ref(const struct optim_config *c)
{
    float w[N], s0[N], s1[N], g[N];
    struct ref_state ref;
    optim_init_slots(c, s0, s1, N);
    for (int i = 0; i < N; i++) {
        w[i] = 0.5f - 0.05f * (float) i;
        ref.w[i] = w[i];
        ref.a[i] = c->kind == OPTIM_ADAGRAD ? (double) c->adagrad_initial : 0;
        ref.v[i] = 0;
        if (optim_num_slots(c->kind) >= 1)
            CHECK_NEAR(s0[i], ref.a[i], 0);
    }
    const float lrs[STEPS] = {0.1f, 0.05f, 0.2f};
    const float scale = 0.5f;
    for (int t = 1; t <= STEPS; t++) {
        for (int i = 0; i < N; i++)
            g[i] = grad_at(t, i);
        int nslots = optim_num_slots(c->kind);
        optim_apply(c, lrs[t - 1], (uint64_t) t, w, nslots ? s0 : NULL,
                    nslots > 1 ? s1 : NULL, g, scale, N);
        ref_step(c, lrs[t - 1], t, &ref, scale);
        for (int i = 0; i < N; i++) {
            CHECK_NEAR(w[i], ref.w[i], 1e-6);
            if (nslots >= 1)
                CHECK_NEAR(s0[i], ref.a[i], 1e-6);
            if (nslots >= 2)
                CHECK_NEAR(s1[i], ref.v[i], 1e-6);
        }
    }
}

static void test_rules(void)
{
    struct optim_config c;
    optim_config_init(&c);
    const enum optim_kind kinds[] = {OPTIM_SGD, OPTIM_MOMENTUM, OPTIM_ADAGRAD,
                                     OPTIM_ADAM};
    for (int k = 0; k < 4; k++) {
        c.kind = kinds[k];
        check_against_ref(&c);
    }
    c.kind = OPTIM_MOMENTUM;
    c.nesterov = 1;
    check_against_ref(&c);
}

/* Single steps worked out by hand. */
static void test_by_hand(void)
{
    struct optim_config c;
    optim_config_init(&c);
    float w[2] = {1.0f, -2.0f};
    float a[2], v[2];
    const float g[2] = {0.5f, -1.0f};

    /* sgd: w -= 0.1 * (2 * g) */
    optim_apply(&c, 0.1f, 1, w, NULL, NULL, g, 2.0f, 2);
    CHECK_NEAR(w[0], 0.9, 1e-7);
    CHECK_NEAR(w[1], -1.8, 1e-7);

    /* momentum 0.9: a = g, then a = 0.9 g + g = 1.9 g */
    c.kind = OPTIM_MOMENTUM;
    w[0] = 1.0f;
    optim_init_slots(&c, a, NULL, 2);
    optim_apply(&c, 0.1f, 1, w, a, NULL, g, 1.0f, 2);
    optim_apply(&c, 0.1f, 2, w, a, NULL, g, 1.0f, 2);
    CHECK_NEAR(a[0], 0.95, 1e-7);
    CHECK_NEAR(w[0], 1.0 - 0.05 - 0.095, 1e-7);

    /* adagrad from 0.1: a = 0.1 + 0.25, w -= 0.1 * 0.5 / sqrt(0.35) */
    c.kind = OPTIM_ADAGRAD;
    w[0] = 1.0f;
    optim_init_slots(&c, a, NULL, 2);
    optim_apply(&c, 0.1f, 1, w, a, NULL, g, 1.0f, 2);
    CHECK_NEAR(a[0], 0.35, 1e-7);
    CHECK_NEAR(w[0], 1.0 - 0.05 / sqrt(0.35), 1e-6);

    /* adam's first step moves each weight by almost exactly lr. */
    c.kind = OPTIM_ADAM;
    w[0] = 1.0f;
    w[1] = -2.0f;
    optim_init_slots(&c, a, v, 2);
    optim_apply(&c, 0.01f, 1, w, a, v, g, 1.0f, 2);
    CHECK_NEAR(w[0], 0.99, 1e-6);
    CHECK_NEAR(w[1], -1.99, 1e-6);
    CHECK_NEAR(a[0], 0.05, 1e-7);
    CHECK_NEAR(v[1], 0.001, 1e-7);
}

static void test_decay(void)
{
    struct optim_config c;
    optim_config_init(&c);
    c.learning_rate = 0.1f;
    CHECK_NEAR(optim_lr(&c, 12345), 0.1, 1e-8);

    c.decay = OPTIM_DECAY_EXPONENTIAL;
    c.decay_rate = 0.5f;
    c.decay_steps = 100;
    CHECK_NEAR(optim_lr(&c, 0), 0.1, 1e-8);
    CHECK_NEAR(optim_lr(&c, 50), 0.1 * sqrt(0.5), 1e-8);
    CHECK_NEAR(optim_lr(&c, 100), 0.05, 1e-8);
    CHECK_NEAR(optim_lr(&c, 250), 0.1 * pow(0.5, 2.5), 1e-8);

    c.decay = OPTIM_DECAY_INVERSE_TIME;
    CHECK_NEAR(optim_lr(&c, 0), 0.1, 1e-8);
    CHECK_NEAR(optim_lr(&c, 100), 0.1 / 1.5, 1e-8);
    CHECK_NEAR(optim_lr(&c, 300), 0.04, 1e-8);
    CHECK_NEAR(optim_lr(&c, 50), 0.08, 1e-8);
}

static void test_names(void)
{
    const char *names[] = {"sgd", "momentum", "adagrad", "adam"};
    const int slots[] = {0, 1, 1, 2};
    for (int i = 0; i < 4; i++) {
        enum optim_kind k = OPTIM_SGD;
        CHECK_OK(optim_parse_kind(names[i], &k));
        CHECK_EQ(k, i);
        CHECK_STR(optim_kind_name(k), names[i]);
        CHECK_EQ(optim_num_slots(k), slots[i]);
    }
    enum optim_kind k = OPTIM_ADAM;
    CHECK_EQ(optim_parse_kind("rmsprop", &k), PSC_EINVAL);
    CHECK_EQ(optim_parse_kind("SGD", &k), PSC_EINVAL);
    CHECK_EQ(optim_parse_kind("", &k), PSC_EINVAL);
    CHECK_EQ(optim_parse_kind(NULL, &k), PSC_EINVAL);
    CHECK_EQ(k, OPTIM_ADAM);

    enum optim_decay d = OPTIM_DECAY_NONE;
    CHECK_OK(optim_parse_decay("exponential", &d));
    CHECK_EQ(d, OPTIM_DECAY_EXPONENTIAL);
    CHECK_OK(optim_parse_decay("inverse_time", &d));
    CHECK_EQ(d, OPTIM_DECAY_INVERSE_TIME);
    CHECK_OK(optim_parse_decay("none", &d));
    CHECK_EQ(d, OPTIM_DECAY_NONE);
    CHECK_EQ(optim_parse_decay("staircase", &d), PSC_EINVAL);
    CHECK_EQ(d, OPTIM_DECAY_NONE);
}

static void test_check(void)
{
    struct optim_config c;
    char err[PSC_ERR_LEN] = "";
    optim_config_init(&c);
    CHECK_OK(optim_check(&c, err));
    c.learning_rate = 0.0f;
    CHECK_EQ(optim_check(&c, err), PSC_ECONFIG);
    CHECK_CONTAINS(err, "learning rate 0 is not valid");
    optim_config_init(&c);
    c.beta2 = 1.0f;
    CHECK_EQ(optim_check(&c, err), PSC_ECONFIG);
    CHECK_CONTAINS(err, "beta2");
    optim_config_init(&c);
    c.decay = OPTIM_DECAY_EXPONENTIAL;
    c.decay_steps = 0;
    CHECK_EQ(optim_check(&c, NULL), PSC_ECONFIG);
}

/*
 * optim_apply_to() gives bit for bit what optim_apply() gives, leaving its
 * input weights alone: the ps's out-of-place updates change no result.
 */
static void test_out_of_place(void)
{
    static const enum optim_kind kinds[] = {
        OPTIM_SGD, OPTIM_MOMENTUM, OPTIM_MOMENTUM, OPTIM_ADAGRAD, OPTIM_ADAM};
    for (int k = 0; k < 5; k++) {
        struct optim_config c;
        optim_config_init(&c);
        c.kind = kinds[k];
        c.nesterov = k == 2;
        float w1[N], a1[N], v1[N], w2[N], w3[N], a2[N], v2[N], g[N];
        optim_init_slots(&c, a1, v1, N);
        optim_init_slots(&c, a2, v2, N);
        for (int i = 0; i < N; i++) {
            w1[i] = w2[i] = 0.1f * (float) (i - 7);
            g[i] = grad_at(1, i);
        }
        for (uint64_t t = 1; t <= STEPS; t++) {
            optim_apply(&c, 0.05f, t, w1, a1, v1, g, 0.5f, N);
            optim_apply_to(&c, 0.05f, t, w3, w2, a2, v2, g, 0.5f, N);
            for (int i = 0; i < N; i++) {
                CHECK(w3[i] == w1[i]);
                CHECK(a2[i] == a1[i] || c.kind == OPTIM_SGD);
                w2[i] = w3[i];
            }
        }
    }
}

int main(void)
{
    test_out_of_place();
    test_rules();
    test_by_hand();
    test_decay();
    test_names();
    test_check();
    printf("optim: ok\n");
    return 0;
}
