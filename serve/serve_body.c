/*
 * Predict bodies as text. Building jansson's tree of 784 numbers, then
 * walking and freeing it, took most of a single-instance request (malloc
 * and free for every number); the direct reader here takes the bodies
 * clients send, and leaves everything else to the full parser. It only
 * ever accepts: a body it does not take whole — another key, an object
 * instance, an escape, a number a float cannot hold exactly, a malformed
 * document — is read again by jansson, whose answer (rows or TF Serving's
 * error) is then the answer.
 */
#include "serve_body.h"

#include "serve_real.h"

#include "psc_alloc.h"
#include "psc_err.h"

#include <errno.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The signature psc's exports have (serve_instances.c refuses others). */
#define S_SIGNATURE "serving_default"

/* Floats hold integers exactly up to 2^24 - 1, as serve_instances.c. */
#define S_MAX_EXACT_INT 16777215LL

/* Room for one number as serve_real() writes it, and a separator. */
#define S_NUMBER_LEN (SERVE_REAL_LEN + 1)

struct s_text {
    const char *p;
    const char *end;
};

static void s_space(struct s_text *t)
{
    while (t->p < t->end &&
           (*t->p == ' ' || *t->p == '\t' || *t->p == '\n' || *t->p == '\r'))
        t->p++;
}

/* The next character after white space, or -1 at the end. */
static int s_peek(struct s_text *t)
{
    s_space(t);
    return t->p < t->end ? (unsigned char) *t->p : -1;
}

static int s_eat(struct s_text *t, char c)
{
    if (s_peek(t) != (unsigned char) c)
        return 0;
    t->p++;
    return 1;
}

/* A string of printable ASCII without escapes, as *s, *n. */
static int s_plain_string(struct s_text *t, const char **s, size_t *n)
{
    if (!s_eat(t, '"'))
        return 0;
    const char *start = t->p;
    while (t->p < t->end && *t->p != '"') {
        unsigned char c = (unsigned char) *t->p;
        if (c < 0x20 || c >= 0x80 || c == '\\')
            return 0;
        t->p++;
    }
    if (t->p == t->end)
        return 0;
    *s = start;
    *n = (size_t) (t->p - start);
    t->p++;
    return 1;
}

static int s_is_digit(const char *p, const char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

static const char *s_digits(const char *p, const char *end)
{
    while (s_is_digit(p, end))
        p++;
    return p;
}

/*
 * JSON's number grammar from p: where it ends, or NULL. *real says it has
 * a fraction or an exponent; *value is the integer part of one that has
 * neither, when it has at most 9 digits (else -1).
 */
static const char *s_number_end(const char *p, const char *end, int *real,
                                long long *value)
{
    if (p < end && *p == '-')
        p++;
    if (!s_is_digit(p, end))
        return NULL;
    const char *digits = p;
    p = *p == '0' ? p + 1 : s_digits(p, end);
    *value = -1;
    if (p - digits <= 9) {
        *value = 0;
        for (const char *d = digits; d < p; d++)
            *value = *value * 10 + (*d - '0');
    }
    *real = 0;
    if (p < end && *p == '.') {
        *real = 1;
        if (!s_is_digit(++p, end))
            return NULL;
        p = s_digits(p, end);
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        *real = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!s_is_digit(p, end))
            return NULL;
        p = s_digits(p, end);
    }
    return p;
}

/*
 * One number, read as jansson reads it (an integer, or strtod's double)
 * and then as serve_instances.c converts it to float.
 */
static int s_number(struct s_text *t, float *x)
{
    s_space(t);
    int real = 0;
    long long value = -1;
    const char *end = s_number_end(t->p, t->end, &real, &value);
    /* A body that is whole goes on after a number; strtod stops there. */
    if (end == NULL || end == t->end)
        return 0;
    if (!real) {
        if (value < 0 || value > S_MAX_EXACT_INT)
            return 0;
        *x = (float) (*t->p == '-' ? -value : value);
    } else {
        char *stop = NULL;
        errno = 0;
        double d = strtod(t->p, &stop);
        if (stop != end || errno != 0 || !(fabs(d) <= FLT_MAX))
            return 0;
        *x = (float) d;
    }
    t->p = end;
    return 1;
}

/*
 * The number clients send most, a pixel: an integer of at most 7 digits
 * (below 2^24, so exact in a float), after at most one space. 0 leaves
 * the number to s_number().
 */
static int s_pixel(struct s_text *t, float *x)
{
    const char *p = t->p;
    const char *end = t->end;
    if (p < end && *p == ' ')
        p++;
    const char *start = p;
    unsigned v = 0;
    if (p < end && *p == '0') {
        p++;
    } else {
        const char *stop = end - p > 8 ? p + 8 : end;
        unsigned d;
        while (p < stop && (d = (unsigned) (unsigned char) *p - '0') <= 9) {
            v = v * 10 + d;
            p++;
        }
    }
    if (p == start || p == end || p - start >= 8 || *p == '.' || *p == 'e' ||
        *p == 'E')
        return 0;
    *x = (float) v;
    t->p = p;
    return 1;
}

/* n numbers and the closing bracket, the opening one read. */
static int s_numbers(struct s_text *t, int n, float *x)
{
    for (int i = 0; i < n; i++) {
        /* The separator is mostly a bare comma: no scan for white space. */
        if (i > 0 && t->p < t->end && *t->p == ',')
            t->p++;
        else if (i > 0 && !s_eat(t, ','))
            return 0;
        if (!s_pixel(t, &x[i]) && !s_number(t, &x[i]))
            return 0;
    }
    return s_eat(t, ']');
}

/* An instance: input_dim numbers, or height lists of width numbers. */
static int s_instance(struct s_text *t, const struct export_model *m, float *x)
{
    if (!s_eat(t, '['))
        return 0;
    if (s_peek(t) != '[')
        return s_numbers(t, m->input_dim, x);
    for (int r = 0; r < m->height; r++)
        if ((r > 0 && !s_eat(t, ',')) || !s_eat(t, '[') ||
            !s_numbers(t, m->width, x + (size_t) r * m->width))
            return 0;
    return s_eat(t, ']');
}

/* "instances": a non-empty list of at most max_rows instances. */
static int s_instances(struct s_text *t, struct serve_input *in,
                       const struct export_model *m, int max_rows)
{
    if (!s_eat(t, '[') || s_peek(t) == ']')
        return 0;
    size_t dim = (size_t) m->input_dim;
    int cap = 0;
    do {
        if (in->rows == max_rows)
            return 0;
        if (in->rows == cap) {
            cap = cap == 0 ? 1 : cap * 2 > max_rows ? max_rows : cap * 2;
            in->x = psc_xrealloc(in->x, (size_t) cap * dim * sizeof *in->x);
        }
        if (!s_instance(t, m, in->x + (size_t) in->rows * dim))
            return 0;
        in->rows++;
    } while (s_eat(t, ','));
    return s_eat(t, ']');
}

static int s_is(const char *s, size_t n, const char *word)
{
    return n == strlen(word) && memcmp(s, word, n) == 0;
}

/* The whole body, or 0: {"instances": ..., "signature_name"?: ours}. */
static int s_direct(struct serve_input *in, const char *text, size_t len,
                    const struct export_model *m, int max_rows)
{
    struct s_text t = {text, text + len};
    int signature = 0;
    int instances = 0;
    if (!s_eat(&t, '{'))
        return 0;
    do {
        const char *key = NULL;
        const char *value = NULL;
        size_t n = 0;
        size_t vn = 0;
        if (!s_plain_string(&t, &key, &n) || !s_eat(&t, ':'))
            return 0;
        if (s_is(key, n, "signature_name") && !signature++) {
            if (!s_plain_string(&t, &value, &vn) ||
                (vn > 0 && !s_is(value, vn, S_SIGNATURE)))
                return 0;
        } else if (!s_is(key, n, "instances") || instances++ ||
                   !s_instances(&t, in, m, max_rows)) {
            return 0;
        }
    } while (s_eat(&t, ','));
    if (!s_eat(&t, '}') || !instances)
        return 0;
    s_space(&t);
    return t.p == t.end;
}

int serve_body_parse(struct serve_input *in, const char *text, size_t len,
                     const struct export_model *m, int max_rows, char *err)
{
    memset(in, 0, sizeof *in);
    if (len == 0)
        return psc_seterr(err, PSC_EINVAL,
                          "JSON Parse error: The document is empty");
    if (s_direct(in, text, len, m, max_rows))
        return 0;
    serve_input_release(in);
    json_error_t jerr;
    json_t *body = json_loadb(text, len, 0, &jerr);
    if (body == NULL)
        return psc_seterr(err, PSC_EINVAL, "JSON Parse error: %s at offset: %d",
                          jerr.text, jerr.position);
    int rc = serve_input_parse(in, body, m, max_rows, err);
    json_decref(body);
    return rc;
}

char *serve_body_answer(const float *probs, int rows, int classes, int columnar)
{
    const char *key = columnar ? "{\"outputs\":[" : "{\"predictions\":[";
    size_t cap =
        strlen(key) + (size_t) rows * (3 + (size_t) classes * S_NUMBER_LEN) + 3;
    char *out = psc_xmalloc(cap);
    size_t at = strlen(key);
    memcpy(out, key, at + 1);
    for (int r = 0; r < rows; r++) {
        if (r > 0)
            out[at++] = ',';
        out[at++] = '[';
        for (int c = 0; c < classes; c++) {
            if (c > 0)
                out[at++] = ',';
            at += serve_real(out + at, probs[(size_t) r * classes + c]);
        }
        out[at++] = ']';
    }
    memcpy(out + at, "]}", 3);
    return out;
}
