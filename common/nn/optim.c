/*
 * Optimizer updates over flat arrays. These loops are the parameter
 * server's hot path, so each rule is one simple loop over restrict pointers
 * that the compiler turns into SIMD code.
 */

/*
 * At -O2 GCC 12 vectorises only loops whose trip count is a known multiple
 * of the vector width (the "very cheap" cost model), which skips every loop
 * here; ask for the full vectoriser in this file only. sqrtf's errno side
 * effect still keeps the Adagrad and Adam loops scalar unless the file is
 * built with -fno-math-errno, which this pragma cannot switch on.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif

#include "optim.h"

#include "psc_clones.h"
#include "psc_err.h"

#include <assert.h>
#include <math.h>
#include <string.h>

static const char *const kind_names[] = {
    [OPTIM_SGD] = "sgd",
    [OPTIM_MOMENTUM] = "momentum",
    [OPTIM_ADAGRAD] = "adagrad",
    [OPTIM_ADAM] = "adam",
};

static const char *const decay_names[] = {
    [OPTIM_DECAY_NONE] = "none",
    [OPTIM_DECAY_EXPONENTIAL] = "exponential",
    [OPTIM_DECAY_INVERSE_TIME] = "inverse_time",
};

#define NKINDS  ((int) (sizeof(kind_names) / sizeof(kind_names[0])))
#define NDECAYS ((int) (sizeof(decay_names) / sizeof(decay_names[0])))

void optim_config_init(struct optim_config *c)
{
    memset(c, 0, sizeof(*c));
    c->kind = OPTIM_SGD;
    c->learning_rate = 0.01f;
    c->momentum = 0.9f;
    c->nesterov = 0;
    c->beta1 = 0.9f;
    c->beta2 = 0.999f;
    c->epsilon = 1e-7f;
    c->adagrad_initial = 0.1f;
    c->decay = OPTIM_DECAY_NONE;
    c->decay_rate = 0.0f;
    c->decay_steps = 1.0;
}

static int s_in_unit(float x)
{
    return x >= 0.0f && x < 1.0f;
}

int optim_check(const struct optim_config *c, char *err)
{
    if (c->kind < 0 || (int) c->kind >= NKINDS)
        return psc_seterr(err, PSC_ECONFIG, "optimizer kind %d is unknown",
                          (int) c->kind);
    if (!(c->learning_rate > 0.0f && isfinite(c->learning_rate)))
        return psc_seterr(err, PSC_ECONFIG,
                          "learning rate %g is not valid: must be > 0",
                          (double) c->learning_rate);
    if (!s_in_unit(c->momentum) || !s_in_unit(c->beta1) || !s_in_unit(c->beta2))
        return psc_seterr(err, PSC_ECONFIG,
                          "momentum, beta1 and beta2 must be in [0, 1)");
    if (!(c->epsilon > 0.0f) || !(c->adagrad_initial >= 0.0f))
        return psc_seterr(err, PSC_ECONFIG,
                          "epsilon must be > 0 and adagrad_initial >= 0");
    if (c->decay < 0 || (int) c->decay >= NDECAYS)
        return psc_seterr(err, PSC_ECONFIG, "decay %d is unknown",
                          (int) c->decay);
    if (c->decay != OPTIM_DECAY_NONE &&
        !(c->decay_steps > 0.0 && c->decay_rate >= 0.0f))
        return psc_seterr(err, PSC_ECONFIG,
                          "decay needs decay_steps > 0 and decay_rate >= 0");
    return 0;
}

static int s_lookup(const char *name, const char *const *names, int count)
{
    for (int i = 0; name != NULL && i < count; i++) {
        if (strcmp(name, names[i]) == 0)
            return i;
    }
    return -1;
}

int optim_parse_kind(const char *name, enum optim_kind *out)
{
    int i = s_lookup(name, kind_names, NKINDS);
    if (i < 0)
        return PSC_EINVAL;
    *out = (enum optim_kind) i;
    return 0;
}

int optim_parse_decay(const char *name, enum optim_decay *out)
{
    int i = s_lookup(name, decay_names, NDECAYS);
    if (i < 0)
        return PSC_EINVAL;
    *out = (enum optim_decay) i;
    return 0;
}

const char *optim_kind_name(enum optim_kind k)
{
    if (k < 0 || (int) k >= NKINDS)
        return "unknown";
    return kind_names[k];
}

int optim_num_slots(enum optim_kind k)
{
    switch (k) {
    case OPTIM_MOMENTUM:
    case OPTIM_ADAGRAD:
        return 1;
    case OPTIM_ADAM:
        return 2;
    default:
        return 0;
    }
}

const char *optim_slot_name(enum optim_kind k, int slot)
{
    if (k == OPTIM_ADAM)
        return slot == 0 ? "first moment" : "second moment";
    if (k == OPTIM_MOMENTUM || k == OPTIM_ADAGRAD)
        return "accumulator";
    return "slot";
}

float optim_lr(const struct optim_config *c, uint64_t step)
{
    /* Double keeps step / decay_steps exact well past 2^24 steps. */
    double progress = (double) step / c->decay_steps;
    switch (c->decay) {
    case OPTIM_DECAY_EXPONENTIAL:
        return (float) (c->learning_rate * pow(c->decay_rate, progress));
    case OPTIM_DECAY_INVERSE_TIME:
        return (float) (c->learning_rate / (1.0 + c->decay_rate * progress));
    default:
        return c->learning_rate;
    }
}

void optim_init_slots(const struct optim_config *c, float *slots0,
                      float *slots1, size_t n)
{
    int nslots = optim_num_slots(c->kind);
    float first = c->kind == OPTIM_ADAGRAD ? c->adagrad_initial : 0.0f;
    if (nslots >= 1) {
        assert(slots0 != NULL);
        for (size_t i = 0; i < n; i++)
            slots0[i] = first;
    }
    if (nslots >= 2) {
        assert(slots1 != NULL);
        memset(slots1, 0, n * sizeof(*slots1));
    }
}

PSC_CLONES static void s_sgd(float *restrict w, const float *restrict g,
                             float step, size_t n)
{
    for (size_t i = 0; i < n; i++) /* vectorised */
        w[i] -= step * g[i];
}

PSC_CLONES static void s_momentum(float *restrict w, float *restrict a,
                                  const float *restrict g, float lr,
                                  float scale, float mu, size_t n)
{
    for (size_t i = 0; i < n; i++) { /* vectorised */
        a[i] = mu * a[i] + scale * g[i];
        w[i] -= lr * a[i];
    }
}

PSC_CLONES static void s_nesterov(float *restrict w, float *restrict a,
                                  const float *restrict g, float lr,
                                  float scale, float mu, size_t n)
{
    for (size_t i = 0; i < n; i++) { /* vectorised */
        float gi = scale * g[i];
        a[i] = mu * a[i] + gi;
        w[i] -= lr * (gi + mu * a[i]);
    }
}

PSC_CLONES static void s_adagrad(float *restrict w, float *restrict a,
                                 const float *restrict g, float lr, float scale,
                                 float eps, size_t n)
{
    for (size_t i = 0; i < n; i++) { /* vectorised */
        float gi = scale * g[i];
        a[i] += gi * gi;
        w[i] -= lr * gi / (sqrtf(a[i]) + eps);
    }
}

PSC_CLONES static void s_adam(float *restrict w, float *restrict m,
                              float *restrict v, const float *restrict g,
                              float scale, const float coef[4], size_t n)
{
    /* coef: beta1, beta2, bias-corrected lr, epsilon (hoisted for SIMD). */
    float b1 = coef[0];
    float b2 = coef[1];
    float lr_t = coef[2];
    float eps = coef[3];
    for (size_t i = 0; i < n; i++) { /* vectorised */
        float gi = scale * g[i];
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        w[i] -= lr_t * m[i] / (sqrtf(v[i]) + eps);
    }
}

static void s_apply_adam(const struct optim_config *c, float lr, uint64_t t,
                         float *restrict w, float *restrict m,
                         float *restrict v, const float *restrict g,
                         float grad_scale, size_t n)
{
    assert(t >= 1 && m != NULL && v != NULL);
    /*
     * TensorFlow folds the bias corrections into the step size (its
     * "epsilon hat" form), so epsilon is added to the uncorrected sqrt(v).
     */
    double tt = (double) t;
    double corr = sqrt(1.0 - pow(c->beta2, tt)) / (1.0 - pow(c->beta1, tt));
    float coef[4] = {c->beta1, c->beta2, (float) (lr * corr), c->epsilon};
    s_adam(w, m, v, g, grad_scale, coef, n);
}

void optim_apply(const struct optim_config *c, float lr, uint64_t t,
                 float *restrict w, float *restrict slot0,
                 float *restrict slot1, const float *restrict g,
                 float grad_scale, size_t n)
{
    switch (c->kind) {
    case OPTIM_SGD:
        s_sgd(w, g, lr * grad_scale, n);
        break;
    case OPTIM_MOMENTUM:
        assert(slot0 != NULL);
        if (c->nesterov)
            s_nesterov(w, slot0, g, lr, grad_scale, c->momentum, n);
        else
            s_momentum(w, slot0, g, lr, grad_scale, c->momentum, n);
        break;
    case OPTIM_ADAGRAD:
        assert(slot0 != NULL);
        s_adagrad(w, slot0, g, lr, grad_scale, c->epsilon, n);
        break;
    case OPTIM_ADAM:
        s_apply_adam(c, lr, t, w, slot0, slot1, g, grad_scale, n);
        break;
    default:
        assert(!"unknown optimizer kind");
    }
}

/* The same rules, weights read from wi and written to wo. */

PSC_CLONES static void s_sgd_to(float *restrict wo, const float *restrict wi,
                                const float *restrict g, float step, size_t n)
{
    for (size_t i = 0; i < n; i++) /* vectorised */
        wo[i] = wi[i] - step * g[i];
}

PSC_CLONES static void s_momentum_to(float *restrict wo,
                                     const float *restrict wi,
                                     float *restrict a, const float *restrict g,
                                     const float coef[4], size_t n)
{
    /* coef: lr, scale, momentum, nesterov (0 or 1). */
    float lr = coef[0];
    float scale = coef[1];
    float mu = coef[2];
    float nest = coef[3];
    for (size_t i = 0; i < n; i++) { /* vectorised */
        float gi = scale * g[i];
        a[i] = mu * a[i] + gi;
        wo[i] = wi[i] - lr * (nest * gi + (nest * mu + (1.0f - nest)) * a[i]);
    }
}

PSC_CLONES static void s_adagrad_to(float *restrict wo,
                                    const float *restrict wi, float *restrict a,
                                    const float *restrict g, float lr,
                                    float scale, float eps, size_t n)
{
    for (size_t i = 0; i < n; i++) { /* vectorised */
        float gi = scale * g[i];
        a[i] += gi * gi;
        wo[i] = wi[i] - lr * gi / (sqrtf(a[i]) + eps);
    }
}

PSC_CLONES static void s_adam_to(float *restrict wo, const float *restrict wi,
                                 float *restrict m, float *restrict v,
                                 const float *restrict g, float scale,
                                 const float coef[4], size_t n)
{
    float b1 = coef[0];
    float b2 = coef[1];
    float lr_t = coef[2];
    float eps = coef[3];
    for (size_t i = 0; i < n; i++) { /* vectorised */
        float gi = scale * g[i];
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        wo[i] = wi[i] - lr_t * m[i] / (sqrtf(v[i]) + eps);
    }
}

void optim_apply_to(const struct optim_config *c, float lr, uint64_t t,
                    float *restrict w_out, const float *restrict w_in,
                    float *restrict slot0, float *restrict slot1,
                    const float *restrict g, float grad_scale, size_t n)
{
    switch (c->kind) {
    case OPTIM_SGD:
        s_sgd_to(w_out, w_in, g, lr * grad_scale, n);
        break;
    case OPTIM_MOMENTUM: {
        assert(slot0 != NULL);
        float coef[4] = {lr, grad_scale, c->momentum, c->nesterov ? 1.0f : 0};
        s_momentum_to(w_out, w_in, slot0, g, coef, n);
        break;
    }
    case OPTIM_ADAGRAD:
        assert(slot0 != NULL);
        s_adagrad_to(w_out, w_in, slot0, g, lr, grad_scale, c->epsilon, n);
        break;
    case OPTIM_ADAM: {
        assert(t >= 1 && slot0 != NULL && slot1 != NULL);
        double tt = (double) t;
        double corr = sqrt(1.0 - pow(c->beta2, tt)) / (1.0 - pow(c->beta1, tt));
        float coef[4] = {c->beta1, c->beta2, (float) (lr * corr), c->epsilon};
        s_adam_to(w_out, w_in, slot0, slot1, g, grad_scale, coef, n);
        break;
    }
    default:
        assert(!"unknown optimizer kind");
    }
}
