/*
 * psc-synth: the seeded synthetic sparse data set (common/data/synth.h)
 * described, and written as a LIBSVM file for other tools (scikit-learn's
 * load_svmlight_file reads it). It prints what the best possible model
 * scores on the examples made: the Bayes-optimal AUC and logloss.
 *
 * Exit status: 0, 1 when the file cannot be written, 2 for usage.
 */
#include "psc_err.h"
#include "psc_num.h"
#include "psc_opts.h"
#include "synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_EXAMPLES = 256,
    OPT_FIRST,
    OPT_FIELDS,
    OPT_IDS,
    OPT_ZIPF,
    OPT_LOGIT_SD,
    OPT_BIAS,
    OPT_SEED,
    OPT_OUT,
    OPT_HELP,
};

static const struct psc_opt s_opts[] = {
    {"examples", OPT_EXAMPLES, "N", "examples to make (10000)"},
    {"first", OPT_FIRST, "I",
     "the first example's index (0): a test set "
     "is another range"},
    {"fields", OPT_FIELDS, "F", "features per example, one per field (8)"},
    {"ids", OPT_IDS, "D", "feature ids in all, D / F per field (1000000)"},
    {"zipf", OPT_ZIPF, "Q", "the ids' popularity exponent (1.1)"},
    {"logit_sd", OPT_LOGIT_SD, "S", "spread of the true logits (1.5)"},
    {"bias", OPT_BIAS, "B", "the true bias (-1)"},
    {"seed", OPT_SEED, "S", "the seed (1)"},
    {"out", OPT_OUT, "FILE", "write the examples as LIBSVM lines"},
    {"help", OPT_HELP, NULL, "show this help"},
};

#define NOPTS (sizeof s_opts / sizeof s_opts[0])

struct s_args {
    struct synth_opts o;
    const char *out;
    int help;
};

static const char *s_name(int id)
{
    for (size_t i = 0; i < NOPTS; i++) {
        if (s_opts[i].id == id)
            return s_opts[i].name;
    }
    return "?";
}

static int s_take(struct s_args *a, int id, const char *v, char *err)
{
    long n = 0;
    int rc = 0;
    switch (id) {
    case OPT_EXAMPLES:
        rc = psc_num_long(v, 1, 100000000, &n);
        a->o.examples = (size_t) n;
        break;
    case OPT_FIRST:
        rc = psc_num_long(v, 0, 1L << 52, &n);
        a->o.first = (uint64_t) n;
        break;
    case OPT_FIELDS:
        rc = psc_num_int(v, 1, SYNTH_MAX_FIELDS, &a->o.fields);
        break;
    case OPT_IDS:
        rc = psc_num_long(v, 1, (long) SYNTH_MAX_IDS, &n);
        a->o.ids = (uint64_t) n;
        break;
    case OPT_ZIPF:
        return psc_num_double(v, 1e-6, 10, &a->o.zipf) != 0
                   ? psc_seterr(err, PSC_EINVAL,
                                "--zipf: '%s' is not a number in (0, 10]", v)
                   : 0;
    case OPT_LOGIT_SD:
        rc = psc_num_double(v, 0, 100, &a->o.logit_sd);
        break;
    case OPT_BIAS:
        rc = psc_num_double(v, -100, 100, &a->o.bias);
        break;
    case OPT_SEED:
        rc = psc_num_long(v, 0, (long) (~0ul >> 1), &n);
        a->o.seed = (uint64_t) n;
        break;
    case OPT_OUT:
        a->out = v;
        break;
    default:
        a->help = 1;
        break;
    }
    return rc != 0 ? psc_seterr(err, PSC_EINVAL,
                                "--%s: '%s' is not a number in its range "
                                "(see --help)",
                                s_name(id), v)
                   : 0;
}

static int s_parse(struct s_args *a, int argc, char **argv, char *err)
{
    a->o = (struct synth_opts){.seed = 1,
                               .examples = 10000,
                               .fields = 8,
                               .ids = 1000000,
                               .zipf = 1.1,
                               .logit_sd = 1.5,
                               .bias = -1.0};
    struct psc_opts p;
    psc_opts_begin(&p, s_opts, NOPTS, argc, argv);
    int id;
    while ((id = psc_opts_next(&p, err)) > 0) {
        int rc = s_take(a, id, p.arg, err);
        if (rc != 0)
            return rc;
    }
    if (id < 0)
        return id;
    if (psc_opts_operand(&p) != NULL)
        return psc_seterr(err, PSC_EINVAL, "no operands: options only");
    return 0;
}

/* The examples as "label id:1 id:1 ..." lines. 0, or 1 with a line. */
static int s_write(const struct sparse_set *s, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return 1;
    }
    for (size_t e = 0; e < s->n; e++) {
        fprintf(f, "%d", s->labels[e] > 0.5f ? 1 : 0);
        for (size_t k = s->starts[e]; k < s->starts[e + 1]; k++)
            fprintf(f, " %llu:%g", (unsigned long long) s->keys[k],
                    (double) s->values[k]);
        fputc('\n', f);
    }
    if (fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    char err[PSC_ERR_LEN] = "";
    struct s_args a = {0};
    struct synth g;
    if (s_parse(&a, argc, argv, err) != 0 ||
        (!a.help && synth_init(&g, &a.o, err) != 0)) {
        fprintf(stderr, "psc-synth: %s\n", err);
        return 2;
    }
    if (a.help) {
        printf("usage: psc-synth [options]\n");
        psc_opts_usage(stdout, s_opts, NOPTS);
        return 0;
    }
    double *p = malloc(a.o.examples * sizeof *p);
    if (p == NULL) {
        fprintf(stderr, "psc-synth: out of memory\n");
        return 1;
    }
    struct sparse_set s;
    synth_generate(&g, &s, p);
    double auc = 0, logloss = 0, positives = 0;
    synth_bayes(p, s.n, &auc, &logloss);
    for (size_t e = 0; e < s.n; e++)
        positives += s.labels[e];
    printf("synthetic: %zu examples from %llu, %d fields, %llu ids (zipf "
           "%g), seed %llu: %.1f%% positive; Bayes-optimal AUC %.4f, "
           "logloss %.4f\n",
           s.n, (unsigned long long) a.o.first, a.o.fields,
           (unsigned long long) a.o.ids, a.o.zipf,
           (unsigned long long) a.o.seed, 100.0 * positives / (double) s.n, auc,
           logloss);
    int rc = a.out != NULL ? s_write(&s, a.out) : 0;
    sparse_set_release(&s);
    free(p);
    return rc;
}
