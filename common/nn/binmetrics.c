/*
 * The AUC by ranks (Mann-Whitney): sort once, O(n log n), ties given
 * their mean rank.
 */
#include "binmetrics.h"

#include "psc_alloc.h"
#include "psc_err.h"

#include <math.h>
#include <stdlib.h>

struct s_scored {
    float score;
    float label;
};

static int s_by_score(const void *a, const void *b)
{
    float x = ((const struct s_scored *) a)->score;
    float y = ((const struct s_scored *) b)->score;
    return (x > y) - (x < y);
}

int binary_auc(const float *scores, const float *labels, size_t n, double *auc)
{
    struct s_scored *s = psc_xmalloc((n > 0 ? n : 1) * sizeof *s);
    for (size_t i = 0; i < n; i++)
        s[i] = (struct s_scored){scores[i], labels[i]};
    qsort(s, n, sizeof *s, s_by_score);
    double rank_sum = 0; /* the positives' ranks, from 1 */
    double pos = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double tie_pos = 0;
        for (; j < n && s[j].score == s[i].score; j++)
            tie_pos += s[j].label > 0.5f;
        rank_sum += tie_pos * ((double) (i + 1) + (double) j) / 2.0;
        pos += tie_pos;
        i = j;
    }
    free(s);
    double neg = (double) n - pos;
    if (pos == 0 || neg == 0)
        return psc_seterr(NULL, PSC_EINVAL, "one class only");
    *auc = (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg);
    return 0;
}

double binary_logloss(const float *p, const float *labels, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double q = p[i] < 1e-7f ? 1e-7 : p[i] > 1 - 1e-7f ? 1 - 1e-7 : p[i];
        sum -= labels[i] > 0.5f ? log(q) : log(1 - q);
    }
    return n > 0 ? sum / (double) n : 0;
}

void binary_score(const float *p, const float *labels, size_t n,
                  struct binary_scores *out)
{
    if (binary_auc(p, labels, n, &out->auc) != 0)
        out->auc = 0.5;
    out->logloss = binary_logloss(p, labels, n);
    size_t right = 0;
    for (size_t i = 0; i < n; i++)
        right += (p[i] > 0.5f) == (labels[i] > 0.5f);
    out->accuracy = n > 0 ? (double) right / (double) n : 0;
}
