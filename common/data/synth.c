/*
 * Zipf ranks by rejection-inversion (Hörmann and Derflinger, "Rejection-
 * inversion to generate variates from monotone discrete distributions",
 * 1996): constant time a draw for any number of ids, where a table of
 * cumulative weights would need memory for all 10^9 of them. Uniforms come
 * from fhash counters, so example i is the same whoever draws it.
 */
#include "synth.h"

#include "fhash.h"
#include "psc_alloc.h"
#include "psc_err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Streams of the counters: each number an example needs has its own. */
#define S_WEIGHTS 0x77656967ull
#define S_RANKS   0x72616e6bull
#define S_LABELS  0x6c61626cull

/* expm1(t) / t and log1p(t) / t, 1 at t = 0: the sampler's H near q = 1. */
static double s_expm1_ratio(double t)
{
    return fabs(t) > 1e-8 ? expm1(t) / t : 1.0 + t / 2.0;
}

static double s_log1p_ratio(double t)
{
    return fabs(t) > 1e-8 ? log1p(t) / t : 1.0 - t / 2.0;
}

/* h(x) = x^-q, and H, its integral, and H's inverse. */
static double s_h(double q, double x)
{
    return exp(-q * log(x));
}

static double s_big_h(double q, double x)
{
    double lx = log(x);
    return s_expm1_ratio((1.0 - q) * lx) * lx;
}

static double s_big_h_inv(double q, double y)
{
    double t = y * (1.0 - q);
    return exp(s_log1p_ratio(t < -1.0 ? -1.0 : t) * y);
}

int synth_init(struct synth *g, const struct synth_opts *o, char *err)
{
    if (o->fields < 1 || o->fields > SYNTH_MAX_FIELDS)
        return psc_seterr(err, PSC_EINVAL,
                          "synthetic fields %d is out of range: use 1 to %d",
                          o->fields, SYNTH_MAX_FIELDS);
    if (o->ids < (uint64_t) o->fields || o->ids > SYNTH_MAX_IDS)
        return psc_seterr(err, PSC_EINVAL,
                          "synthetic ids %llu is out of range: use fields "
                          "(%d) to 10^12",
                          (unsigned long long) o->ids, o->fields);
    if (!(o->zipf > 0 && o->zipf <= 10) || !(o->logit_sd >= 0) ||
        !(o->logit_sd <= 100) || !isfinite(o->bias) || fabs(o->bias) > 100)
        return psc_seterr(err, PSC_EINVAL,
                          "synthetic zipf %g, logit_sd %g or bias %g is out "
                          "of range: zipf in (0, 10], logit_sd in [0, 100], "
                          "|bias| <= 100",
                          o->zipf, o->logit_sd, o->bias);
    memset(g, 0, sizeof *g);
    g->o = *o;
    g->per_field = o->ids / (uint64_t) o->fields;
    double q = o->zipf;
    g->h_first = s_big_h(q, 1.5) - 1.0;
    g->h_last = s_big_h(q, (double) g->per_field + 0.5);
    g->cut = 2.0 - s_big_h_inv(q, s_big_h(q, 2.5) - s_h(q, 2.0));
    return 0;
}

double synth_weight(const struct synth *g, uint64_t id)
{
    double sd = g->o.logit_sd / sqrt((double) g->o.fields);
    return sd * fhash_normal(g->o.seed ^ S_WEIGHTS, id, 0);
}

/* A Zipf rank in 1 .. per_field from the counters (i, field). */
static uint64_t s_rank(const struct synth *g, uint64_t i, int field)
{
    double q = g->o.zipf;
    double n = (double) g->per_field;
    for (uint64_t attempt = 0;; attempt++) {
        double u = fhash_uniform(g->o.seed ^ S_RANKS, i,
                                 (uint64_t) field << 32 | attempt, 2);
        double y = g->h_last + u * (g->h_first - g->h_last);
        double x = s_big_h_inv(q, y);
        double k = floor(x + 0.5);
        k = k < 1 ? 1 : k > n ? n : k;
        if (k - x <= g->cut || y >= s_big_h(q, k + 0.5) - s_h(q, k))
            return (uint64_t) k;
    }
}

double synth_example(const struct synth *g, uint64_t i, uint64_t *keys,
                     float *label)
{
    double logit = g->o.bias;
    for (int f = 0; f < g->o.fields; f++) {
        keys[f] = (uint64_t) f * g->per_field + s_rank(g, i, f) - 1;
        logit += synth_weight(g, keys[f]);
    }
    double p = 1.0 / (1.0 + exp(-logit));
    *label = fhash_uniform(g->o.seed ^ S_LABELS, i, 0, 3) < p ? 1.0f : 0.0f;
    return p;
}

void synth_generate(const struct synth *g, struct sparse_set *out,
                    double *probs)
{
    size_t f = (size_t) g->o.fields;
    uint64_t *keys = psc_xmalloc(f * sizeof *keys);
    float *ones = psc_xmalloc(f * sizeof *ones);
    for (size_t k = 0; k < f; k++)
        ones[k] = 1.0f;
    sparse_set_init(out, 2);
    for (size_t e = 0; e < g->o.examples; e++) {
        float label = 0;
        double p = synth_example(g, g->o.first + e, keys, &label);
        if (probs != NULL)
            probs[e] = p;
        sparse_set_push(out, label, keys, ones, f);
    }
    free(keys);
    free(ones);
}

static int s_by_value(const void *a, const void *b)
{
    double x = *(const double *) a;
    double y = *(const double *) b;
    return (x > y) - (x < y);
}

/*
 * The expected AUC is (expected correctly ordered positive-negative
 * pairs) / (expected such pairs): example i is positive with p_i, j
 * negative with 1 - p_j, and the pair is ordered right when p_i > p_j
 * (half when equal).
 */
void synth_bayes(const double *p, size_t n, double *auc, double *logloss)
{
    double *s = psc_xmalloc((n > 0 ? n : 1) * sizeof *s);
    memcpy(s, p, n * sizeof *s);
    qsort(s, n, sizeof *s, s_by_value);
    double below = 0; /* sum of 1 - p over smaller probabilities */
    double right = 0, pos = 0, neg = 0, self = 0, entropy = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double tie_neg = 0, tie_pos = 0, tie_self = 0;
        for (; j < n && s[j] == s[i]; j++) {
            tie_neg += 1.0 - s[j];
            tie_pos += s[j];
            tie_self += s[j] * (1.0 - s[j]);
        }
        right += tie_pos * below + 0.5 * (tie_pos * tie_neg - tie_self);
        below += tie_neg;
        pos += tie_pos;
        neg += tie_neg;
        self += tie_self;
        i = j;
    }
    for (size_t i = 0; i < n; i++) {
        double q = p[i] < 1e-15 ? 1e-15 : p[i] > 1 - 1e-15 ? 1 - 1e-15 : p[i];
        entropy -= q * log(q) + (1 - q) * log(1 - q);
    }
    double pairs = pos * neg - self;
    *auc = pairs > 0 ? right / pairs : 0.5;
    *logloss = n > 0 ? entropy / (double) n : 0;
    free(s);
}
