/*
 * synth: examples depend on (seed, i) alone; one feature per field, in
 * the field's range; Zipf ranks with the exponent asked; labels drawn at
 * the true probabilities, so the AUC and logloss of the true model on a
 * sample come out at the Bayes-optimal figures synth_bayes() gives.
 */
#include "synth.h"

#include "binmetrics.h"
#include "psc_err.h"
#include "test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct synth_opts s_opts(void)
{
    return (struct synth_opts){.seed = 7,
                               .examples = 40000,
                               .fields = 8,
                               .ids = 8000000,
                               .zipf = 1.1,
                               .logit_sd = 1.5,
                               .bias = -1.0};
}

static void test_examples_are_their_own(void)
{
    struct synth_opts o = s_opts();
    o.examples = 200;
    struct synth a, b;
    char err[PSC_ERR_LEN] = "";
    CHECK_OK(synth_init(&a, &o, err));
    o.first = 100;
    CHECK_OK(synth_init(&b, &o, err));
    struct sparse_set sa, sb;
    synth_generate(&a, &sa, NULL);
    synth_generate(&b, &sb, NULL);
    CHECK_EQ(sa.n, 200);
    CHECK_EQ(sa.nnz, 200 * 8);
    /* Example 100 + i is the same, made from 0 or from 100. */
    CHECK(memcmp(sa.keys + 100 * 8, sb.keys, 100 * 8 * sizeof *sa.keys) == 0);
    for (size_t e = 0; e < 100; e++)
        CHECK_NEAR(sa.labels[100 + e], sb.labels[e], 0);
    uint64_t per = o.ids / 8;
    for (size_t e = 0; e < sa.n; e++)
        for (int f = 0; f < 8; f++) {
            uint64_t k = sa.keys[e * 8 + (size_t) f];
            CHECK(k >= (uint64_t) f * per && k < (uint64_t) (f + 1) * per);
        }
    o.seed = 8;
    o.first = 0;
    struct synth c;
    struct sparse_set sc;
    CHECK_OK(synth_init(&c, &o, err));
    synth_generate(&c, &sc, NULL);
    CHECK(memcmp(sa.keys, sc.keys, 200 * 8 * sizeof *sa.keys) != 0);
    sparse_set_release(&sa);
    sparse_set_release(&sb);
    sparse_set_release(&sc);
}

/* Rank r is drawn in proportion to r^-q: counts of ranks 1, 2, 4. */
static void test_zipf(void)
{
    struct synth_opts o = s_opts();
    o.fields = 1;
    o.ids = 1000000000; /* 10^9 ids: no table could hold them */
    o.zipf = 1.2;
    struct synth g;
    char err[PSC_ERR_LEN] = "";
    CHECK_OK(synth_init(&g, &o, err));
    double count[5] = {0};
    uint64_t key = 0;
    uint64_t top = 0;
    float label = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        synth_example(&g, (uint64_t) i, &key, &label);
        if (key < 4)
            count[key + 1]++;
        top = key > top ? key : top;
    }
    double ratio2 = count[1] / count[2];
    double ratio4 = count[1] / count[4];
    CHECK(fabs(ratio2 - pow(2, 1.2)) < 0.1);
    CHECK(fabs(ratio4 - pow(4, 1.2)) < 0.3);
    CHECK(top > 1000000); /* the tail is reached */
}

static void test_bayes_figures(void)
{
    struct synth_opts o = s_opts();
    struct synth g;
    char err[PSC_ERR_LEN] = "";
    CHECK_OK(synth_init(&g, &o, err));
    double *p = malloc(o.examples * sizeof *p);
    float *pf = malloc(o.examples * sizeof *pf);
    CHECK(p != NULL && pf != NULL);
    struct sparse_set s;
    synth_generate(&g, &s, p);
    for (size_t i = 0; i < o.examples; i++)
        pf[i] = (float) p[i];
    double auc = 0, logloss = 0, seen_auc = 0;
    synth_bayes(p, o.examples, &auc, &logloss);
    CHECK_OK(binary_auc(pf, s.labels, s.n, &seen_auc));
    double seen_logloss = binary_logloss(pf, s.labels, s.n);
    printf("bayes auc %.4f logloss %.4f; on the sample %.4f %.4f\n", auc,
           logloss, seen_auc, seen_logloss);
    CHECK(auc > 0.7 && auc < 0.95);
    CHECK(fabs(seen_auc - auc) < 0.01);
    CHECK(fabs(seen_logloss - logloss) < 0.01);
    sparse_set_release(&s);
    free(p);
    free(pf);
}

static void test_refused(void)
{
    struct synth g;
    char err[PSC_ERR_LEN] = "";
    struct synth_opts o = s_opts();
    o.fields = 0;
    CHECK_EQ(synth_init(&g, &o, err), PSC_EINVAL);
    CHECK_CONTAINS(err, "synthetic fields 0 is out of range");
    o = s_opts();
    o.ids = 4;
    CHECK_EQ(synth_init(&g, &o, err), PSC_EINVAL);
    CHECK_CONTAINS(err, "synthetic ids 4 is out of range");
    o = s_opts();
    o.zipf = 0;
    CHECK_EQ(synth_init(&g, &o, err), PSC_EINVAL);
    CHECK_CONTAINS(err, "zipf 0");
}

int main(void)
{
    test_examples_are_their_own();
    test_zipf();
    test_bayes_figures();
    test_refused();
    puts("synth_test: ok");
    return 0;
}
