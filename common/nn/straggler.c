/*
 * Straggler spec parsing and delay draws.
 */
#include "straggler.h"

#include "psc_err.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STRAGGLER_FORMS \
    "use none, fixed:MS, exp:MEAN_MS, slow:FACTOR or p:PROB:FACTOR"

/*
 * Parses one finite number that must fill the text up to `end` (a ':' or
 * the terminating NUL). strtod alone would accept leading blanks, "nan" and
 * "inf", which make no sense as a delay.
 */
static int s_number(const char *text, char end, const char **next, double *out)
{
    if (*text == '\0' || isspace((unsigned char) *text))
        return -1;
    char *stop = NULL;
    errno = 0;
    double v = strtod(text, &stop);
    if (stop == text || *stop != end || errno != 0 || !isfinite(v))
        return -1;
    *next = stop;
    *out = v;
    return 0;
}

static int s_invalid(const char *spec, const char *why, char *err)
{
    return psc_seterr(err, PSC_ECONFIG, "straggler '%s' is not valid: %s%s%s",
                      spec, why, *why ? "; " : "", STRAGGLER_FORMS);
}

/* Parses the "MS" or "FACTOR" of a one-argument form. */
static int s_parse_one(struct straggler *t, const char *args)
{
    const char *next = NULL;
    return s_number(args, '\0', &next, &t->a);
}

/* Parses the "PROB:FACTOR" of the p: form. */
static int s_parse_two(struct straggler *t, const char *args)
{
    const char *next = NULL;
    if (s_number(args, ':', &next, &t->a) != 0)
        return -1;
    if (s_number(next + 1, '\0', &next, &t->b) != 0)
        return -1;
    return 0;
}

/* Reads the kind and its numbers; returns -1 on a syntax error. */
static int s_parse_syntax(struct straggler *t, const char *spec)
{
    if (strcmp(spec, "none") == 0) {
        t->kind = STRAGGLER_NONE;
        return 0;
    }
    if (strncmp(spec, "fixed:", 6) == 0) {
        t->kind = STRAGGLER_FIXED;
        return s_parse_one(t, spec + 6);
    }
    if (strncmp(spec, "exp:", 4) == 0) {
        t->kind = STRAGGLER_EXP;
        return s_parse_one(t, spec + 4);
    }
    if (strncmp(spec, "slow:", 5) == 0) {
        t->kind = STRAGGLER_SLOW;
        return s_parse_one(t, spec + 5);
    }
    if (strncmp(spec, "p:", 2) == 0) {
        t->kind = STRAGGLER_PROB;
        return s_parse_two(t, spec + 2);
    }
    return -1;
}

/* Returns why the numbers are out of range, or NULL when they are fine. */
static const char *s_range_error(const struct straggler *t)
{
    switch (t->kind) {
    case STRAGGLER_FIXED:
    case STRAGGLER_EXP:
        return t->a >= 0.0 ? NULL : "MS must be >= 0";
    case STRAGGLER_SLOW:
        return t->a >= 1.0 ? NULL : "FACTOR must be >= 1";
    case STRAGGLER_PROB:
        if (!(t->a >= 0.0 && t->a <= 1.0))
            return "PROB must be between 0 and 1";
        return t->b >= 1.0 ? NULL : "FACTOR must be >= 1";
    default:
        return NULL;
    }
}

int straggler_parse(struct straggler *s, const char *spec, uint64_t seed,
                    uint64_t stream, char *err)
{
    assert(spec != NULL);
    struct straggler t = {.kind = STRAGGLER_NONE, .a = 0.0, .b = 0.0};
    if (s_parse_syntax(&t, spec) != 0)
        return s_invalid(spec, "", err);
    const char *why = s_range_error(&t);
    if (why != NULL)
        return s_invalid(spec, why, err);
    /* Callers think in milliseconds; delays are returned in seconds. */
    if (t.kind == STRAGGLER_FIXED || t.kind == STRAGGLER_EXP)
        t.a /= 1000.0;
    rng_seed(&t.rng, seed, stream);
    *s = t;
    return 0;
}

double straggler_delay(struct straggler *s, double compute_s)
{
    double compute = compute_s > 0.0 ? compute_s : 0.0;
    switch (s->kind) {
    case STRAGGLER_FIXED:
        return s->a;
    case STRAGGLER_EXP:
        return rng_exponential(&s->rng, s->a);
    case STRAGGLER_SLOW:
        return (s->a - 1.0) * compute;
    case STRAGGLER_PROB:
        /* Draw every step, slow or not, so the pattern depends on the seed
         * and the step number only. */
        if (rng_uniform(&s->rng) < s->a)
            return (s->b - 1.0) * compute;
        return 0.0;
    default:
        return 0.0;
    }
}
