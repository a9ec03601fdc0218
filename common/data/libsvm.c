/*
 * Line by line through gzgets into a buffer that grows to the longest
 * line; numbers with strtod/strtoull and every token checked whole, so a
 * malformed line is named rather than half read.
 */
#include "libsvm.h"

#include "fhash.h"
#include "psc_alloc.h"
#include "psc_err.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define S_FIRST_LINE 4096

/* How much of a bad token a message quotes. */
#define S_QUOTE 40

struct s_reader {
    const char *path;
    const struct libsvm_opts *o;
    gzFile gz;
    char *line;
    size_t cap;
    long number; /* the line's number, from 1 */
    uint64_t *keys;
    float *values;
    size_t fcap;
};

/* The next line into r->line (without its newline): 1, 0 at the end. */
static int s_next_line(struct s_reader *r, char *err)
{
    size_t len = 0;
    r->line[0] = '\0';
    for (;;) {
        if (gzgets(r->gz, r->line + len, (int) (r->cap - len)) == NULL) {
            int code = 0;
            const char *msg = gzerror(r->gz, &code);
            if (code != Z_OK && code != Z_STREAM_END)
                return psc_seterr(err, PSC_EIO, "%s:%ld: cannot read: %s",
                                  r->path, r->number + 1, msg);
            return len > 0;
        }
        len += strlen(r->line + len);
        if (len > 0 && r->line[len - 1] == '\n') {
            r->line[len - 1] = '\0';
            return 1;
        }
        if (len + 1 < r->cap)
            return 1; /* the last line, without a newline */
        if (r->cap >= LIBSVM_MAX_LINE)
            return psc_seterr(err, PSC_EINVAL,
                              "%s:%ld: a line longer than %u bytes: split "
                              "the example or check the file",
                              r->path, r->number + 1, LIBSVM_MAX_LINE);
        r->cap *= 2;
        r->line = psc_xrealloc(r->line, r->cap);
    }
}

static const char *s_skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

/* The token at p as a quotable string, cut to S_QUOTE characters. */
static void s_token(const char *p, char *out, size_t size)
{
    size_t n = strcspn(p, " \t\r#");
    if (n > S_QUOTE)
        snprintf(out, size, "%.*s...", S_QUOTE, p);
    else
        snprintf(out, size, "%.*s", (int) n, p);
}

static int s_ends_token(const char *p)
{
    return *p == '\0' || *p == ' ' || *p == '\t' || *p == '\r' || *p == '#';
}

/* The label at *p, as 0/1 or a class; *p moves past it. */
static int s_label(struct s_reader *r, const char **p, float *label, char *err)
{
    char q[S_QUOTE + 8];
    char *end = NULL;
    errno = 0;
    double v = strtod(*p, &end);
    s_token(*p, q, sizeof q);
    if (end == *p || !s_ends_token(end) || errno != 0 || !isfinite(v))
        return psc_seterr(err, PSC_EINVAL,
                          "%s:%ld: label '%s' is not a number: each line is "
                          "'LABEL INDEX:VALUE ...'",
                          r->path, r->number, q);
    *p = end;
    if (r->o->classes == 2) {
        if (v != 0 && v != 1 && v != -1)
            return psc_seterr(err, PSC_EINVAL,
                              "%s:%ld: label %s is not binary: use 0/1 or "
                              "-1/+1 (for a multiclass file set the classes)",
                              r->path, r->number, q);
        *label = v > 0 ? 1.0f : 0.0f;
        return 0;
    }
    if (v != floor(v) || v < 0 || v >= r->o->classes)
        return psc_seterr(err, PSC_EINVAL,
                          "%s:%ld: label %s is not a class: with %d classes "
                          "labels are the integers 0 to %d",
                          r->path, r->number, q, r->o->classes,
                          r->o->classes - 1);
    *label = (float) v;
    return 0;
}

/* One INDEX:VALUE at p into (key, value); returns where it ends or NULL. */
static const char *s_feature(struct s_reader *r, const char *p, uint64_t *key,
                             float *value, char *err)
{
    char q[S_QUOTE + 8];
    s_token(p, q, sizeof q);
    char *end = NULL;
    errno = 0;
    unsigned long long id = strtoull(p, &end, 10);
    if (end == p || *p == '-' || *p == '+' || *end != ':' || errno != 0) {
        psc_seterr(err, PSC_EINVAL,
                   "%s:%ld: feature '%s' is not INDEX:VALUE (INDEX a whole "
                   "number below 2^64)",
                   r->path, r->number, q);
        return NULL;
    }
    const char *v = end + 1;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || !s_ends_token(end) || errno != 0 || !isfinite(d) ||
        fabs(d) > 3.0e38) {
        psc_seterr(err, PSC_EINVAL,
                   "%s:%ld: feature '%s' has no finite float value", r->path,
                   r->number, q);
        return NULL;
    }
    *key = fhash_bucket(id, r->o->hash_seed, r->o->hash_buckets);
    *value = (float) d;
    return end;
}

static void s_feature_room(struct s_reader *r, size_t n)
{
    if (n < r->fcap)
        return;
    r->fcap = r->fcap > 0 ? r->fcap * 2 : 64;
    r->keys = psc_xrealloc(r->keys, r->fcap * sizeof *r->keys);
    r->values = psc_xrealloc(r->values, r->fcap * sizeof *r->values);
}

/* One line: an example into out, or nothing for a blank or comment line. */
static int s_line(struct s_reader *r, struct sparse_set *out, char *err)
{
    const char *p = s_skip_space(r->line);
    if (*p == '\0' || *p == '#')
        return 0;
    float label = 0;
    int rc = s_label(r, &p, &label, err);
    size_t n = 0;
    for (p = s_skip_space(p); rc == 0 && *p != '\0' && *p != '#';
         p = s_skip_space(p)) {
        if (strncmp(p, "qid:", 4) == 0) {
            p += 4 + strcspn(p + 4, " \t\r#");
            continue;
        }
        s_feature_room(r, n);
        p = s_feature(r, p, &r->keys[n], &r->values[n], err);
        if (p == NULL)
            return PSC_EINVAL;
        n++;
    }
    if (rc == 0)
        sparse_set_push(out, label, r->keys, r->values, n);
    return rc;
}

static int s_read_all(struct s_reader *r, struct sparse_set *out, char *err)
{
    int more;
    while ((more = s_next_line(r, err)) == 1) {
        r->number++;
        int rc = s_line(r, out, err);
        if (rc != 0)
            return rc;
        if (r->o->max_examples > 0 && out->n >= r->o->max_examples)
            return 0;
    }
    if (more < 0)
        return more;
    if (out->n == 0)
        return psc_seterr(err, PSC_EINVAL,
                          "%s: no examples: each line is 'LABEL INDEX:VALUE "
                          "...'",
                          r->path);
    return 0;
}

int libsvm_load(const char *path, const struct libsvm_opts *o,
                struct sparse_set *out, char *err)
{
    if (o->classes < 2)
        return psc_seterr(err, PSC_EINVAL,
                          "%s: %d classes: a data set has at least 2", path,
                          o->classes);
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (gz == NULL)
        return psc_seterr(err, errno == ENOENT ? PSC_ENOTFOUND : PSC_EIO,
                          "cannot open '%s': %s", path,
                          errno != 0 ? strerror(errno) : "out of memory");
    struct s_reader r = {.path = path, .o = o, .gz = gz, .cap = S_FIRST_LINE};
    r.line = psc_xmalloc(r.cap);
    sparse_set_init(out, o->classes);
    int rc = s_read_all(&r, out, err);
    gzclose(gz);
    free(r.line);
    free(r.keys);
    free(r.values);
    if (rc != 0)
        sparse_set_release(out);
    return rc;
}
