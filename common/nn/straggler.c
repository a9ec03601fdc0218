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

#define STRAGGLER_FORMS                                                    \
    "use none, a base (fixed:MS, exp:MEAN_MS, shiftexp:SHIFT_MS:MEAN_MS, " \
    "uniform:LO_MS:HI_MS), a factor (slow:K, p:PROB:K) or BASE*FACTOR"

/* A spec quoted in full could push the accepted forms out of the message. */
#define STRAGGLER_QUOTE_MAX 48

/* One "NAME:ARGS" term of a spec. */
struct s_form {
    const char *prefix;
    int is_base;
    int kind; /* an enum straggler_base or straggler_factor */
    int nargs;
};

static const struct s_form s_forms[] = {{"fixed:", 1, STRAGGLER_FIXED, 1},
                                        {"exp:", 1, STRAGGLER_EXP, 1},
                                        {"shiftexp:", 1, STRAGGLER_SHIFTEXP, 2},
                                        {"uniform:", 1, STRAGGLER_UNIFORM, 2},
                                        {"slow:", 0, STRAGGLER_SLOW, 1},
                                        {"p:", 0, STRAGGLER_PROB, 2}};

/*
 * Parses one finite number that must fill the text up to a ':' or, for the
 * last number of a term, up to the '*' or the terminating NUL. strtod alone
 * would accept leading blanks, "nan" and "inf", which make no sense as a
 * delay.
 */
static int s_number(const char *text, int last, const char **next, double *out)
{
    if (*text == '\0' || isspace((unsigned char) *text))
        return -1;
    char *stop = NULL;
    errno = 0;
    double v = strtod(text, &stop);
    if (stop == text || errno != 0 || !isfinite(v))
        return -1;
    int ends = last ? *stop == '*' || *stop == '\0' : *stop == ':';
    if (!ends)
        return -1;
    *next = stop;
    *out = v;
    return 0;
}

static int s_invalid(const char *spec, const char *why, char *err)
{
    size_t len = strlen(spec);
    int cut = len > STRAGGLER_QUOTE_MAX;
    int shown = cut ? STRAGGLER_QUOTE_MAX - 3 : (int) len;
    return psc_seterr(err, PSC_ECONFIG,
                      "straggler '%.*s%s' is not valid: %s%s%s", shown, spec,
                      cut ? "..." : "", why, *why ? "; " : "", STRAGGLER_FORMS);
}

static const struct s_form *s_find_form(const char *text)
{
    for (size_t i = 0; i < sizeof(s_forms) / sizeof(s_forms[0]); i++)
        if (strncmp(text, s_forms[i].prefix, strlen(s_forms[i].prefix)) == 0)
            return &s_forms[i];
    return NULL;
}

/* Reads a form's nargs numbers; *next is left on the '*' or NUL after. */
static int s_parse_args(const char *text, int nargs, double *v,
                        const char **next)
{
    const char *p = text;
    for (int i = 0; i < nargs; i++) {
        int last = i == nargs - 1;
        if (s_number(p, last, &p, &v[i]) != 0)
            return -1;
        if (!last)
            p++;
    }
    *next = p;
    return 0;
}

/* Stores a parsed term; returns -1 when t has a term of its sort already. */
static int s_store_term(struct straggler *t, const struct s_form *f,
                        const double *v)
{
    if (f->is_base) {
        if (t->base != STRAGGLER_BASE_NONE)
            return -1;
        t->base = f->kind;
        t->base_a = v[0];
        t->base_b = v[1];
        return 0;
    }
    if (t->factor != STRAGGLER_FACTOR_NONE)
        return -1;
    t->factor = f->kind;
    /* slow:K has K first; p:PROB:K has it second. */
    t->k = f->nargs == 1 ? v[0] : v[1];
    t->prob = f->nargs == 1 ? 1.0 : v[0];
    return 0;
}

/*
 * Reads the terms and their numbers. Returns NULL when the syntax is fine,
 * else why not ("" for a plain syntax error).
 */
static const char *s_parse_syntax(struct straggler *t, const char *spec)
{
    if (strcmp(spec, "none") == 0)
        return NULL;
    const char *p = spec;
    for (;;) {
        const struct s_form *f = s_find_form(p);
        double v[2] = {0.0, 0.0};
        if (f == NULL)
            return "";
        if (s_parse_args(p + strlen(f->prefix), f->nargs, v, &p) != 0)
            return "";
        if (s_store_term(t, f, v) != 0)
            return "at most one base and one factor";
        if (*p == '\0')
            return NULL;
        p++; /* the '*' */
    }
}

/* Returns why the base's numbers are out of range, or NULL. */
static const char *s_base_range_error(const struct straggler *t)
{
    if (t->base == STRAGGLER_BASE_NONE)
        return NULL;
    if (!(t->base_a >= 0.0 && t->base_b >= 0.0))
        return "MS must be >= 0";
    if (t->base == STRAGGLER_UNIFORM && t->base_a > t->base_b)
        return "LO_MS must be <= HI_MS";
    return NULL;
}

/* Returns why the numbers are out of range, or NULL when they are fine. */
static const char *s_range_error(const struct straggler *t)
{
    const char *why = s_base_range_error(t);
    if (why != NULL || t->factor == STRAGGLER_FACTOR_NONE)
        return why;
    if (!(t->prob >= 0.0 && t->prob <= 1.0))
        return "PROB must be between 0 and 1";
    return t->k >= 1.0 ? NULL : "K must be >= 1";
}

int straggler_parse(struct straggler *s, const char *spec, uint64_t seed,
                    uint64_t stream, char *err)
{
    assert(spec != NULL);
    struct straggler t = {.base = STRAGGLER_BASE_NONE,
                          .factor = STRAGGLER_FACTOR_NONE,
                          .prob = 0.0,
                          .k = 1.0};
    const char *why = s_parse_syntax(&t, spec);
    if (why == NULL)
        why = s_range_error(&t);
    if (why != NULL)
        return s_invalid(spec, why, err);
    /* Callers think in milliseconds; delays are returned in seconds. */
    t.base_a /= 1000.0;
    t.base_b /= 1000.0;
    rng_seed(&t.rng, seed, stream);
    *s = t;
    return 0;
}

/* Draws this step's base delay in seconds. */
static double s_base_draw(struct straggler *s)
{
    switch (s->base) {
    case STRAGGLER_FIXED:
        return s->base_a;
    case STRAGGLER_EXP:
        return rng_exponential(&s->rng, s->base_a);
    case STRAGGLER_SHIFTEXP:
        return s->base_a + rng_exponential(&s->rng, s->base_b);
    case STRAGGLER_UNIFORM:
        return s->base_a + (s->base_b - s->base_a) * rng_uniform(&s->rng);
    default:
        return 0.0;
    }
}

/* Draws this step's factor (1 when the step is not slowed). */
static double s_factor_draw(struct straggler *s)
{
    switch (s->factor) {
    case STRAGGLER_SLOW:
        return s->k;
    case STRAGGLER_PROB:
        /* Draw every step, slow or not, so the pattern depends on the seed
         * and the step number only. */
        return rng_uniform(&s->rng) < s->prob ? s->k : 1.0;
    default:
        return 1.0;
    }
}

double straggler_delay(struct straggler *s, double compute_s)
{
    double compute = compute_s > 0.0 ? compute_s : 0.0;
    /* A factor alone stretches the real compute time, as it always has. */
    if (s->base == STRAGGLER_BASE_NONE)
        return (s_factor_draw(s) - 1.0) * compute;
    double base = s_base_draw(s);
    return base * s_factor_draw(s);
}
