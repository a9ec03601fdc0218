/*
 * binmetrics: the AUC against counted pairs, with ties; logloss by hand.
 */
#include "binmetrics.h"

#include "psc_err.h"
#include "test.h"

#include <math.h>
#include <stdio.h>

/* The AUC by counting every positive-negative pair. */
static double s_pairs_auc(const float *s, const float *y, size_t n)
{
    double right = 0, pairs = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (y[i] > 0.5f && y[j] < 0.5f) {
                pairs++;
                right += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
            }
    return right / pairs;
}

static void test_auc(void)
{
    const float s[] = {0.9f, 0.8f, 0.8f, 0.3f, 0.3f, 0.3f, 0.1f, 0.95f};
    const float y[] = {1, 0, 1, 1, 0, 0, 0, 0};
    double auc = 0;
    CHECK_OK(binary_auc(s, y, 8, &auc));
    CHECK_NEAR(auc, s_pairs_auc(s, y, 8), 1e-12);
    const float perfect[] = {0.1f, 0.9f};
    const float yp[] = {0, 1};
    CHECK_OK(binary_auc(perfect, yp, 2, &auc));
    CHECK_NEAR(auc, 1.0, 0);
    const float same[] = {1, 1};
    CHECK_EQ(binary_auc(perfect, same, 2, &auc), PSC_EINVAL);
}

static void test_logloss(void)
{
    const float p[] = {0.8f, 0.25f, 0.0f};
    const float y[] = {1, 0, 0};
    double want = -(log(0.8) + log(0.75) + log(1 - 1e-7)) / 3;
    CHECK_NEAR(binary_logloss(p, y, 3), want, 1e-6);
}

static void test_score(void)
{
    const float p[] = {0.8f, 0.4f, 0.6f, 0.1f};
    const float y[] = {1, 1, 0, 0};
    struct binary_scores b;
    binary_score(p, y, 4, &b);
    CHECK_NEAR(b.accuracy, 0.5, 0);
    CHECK_NEAR(b.auc, 0.75, 1e-12);
    CHECK_NEAR(b.logloss, binary_logloss(p, y, 4), 0);
    const float one[] = {1, 1, 1, 1};
    binary_score(p, one, 4, &b);
    CHECK_NEAR(b.auc, 0.5, 0);
}

int main(void)
{
    test_auc();
    test_logloss();
    test_score();
    puts("binmetrics_test: ok");
    return 0;
}
