/*
 * Batch prediction of a JSON Lines file: lines are read and parsed into a
 * chunk of rows, each chunk is one export_predict(), and its answers are
 * written in input order to OUT.tmp, which is renamed to OUT only when
 * every line has been written, so a failed run leaves no half file.
 * Empty lines are not instances and are passed over without a word.
 */
#include "serve_jsonl.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "psc_time.h"
#include "serve_instances.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_EXIT_FAIL   1
#define S_EXIT_CONFIG 2

/* Lines per export_predict() when batching is off. */
#define S_CHUNK 256

/* Seconds between progress lines. */
#define S_PROGRESS_S 1.0

/*
 * JSON numbers out with 9 significant digits: every float32 (what the
 * model reads an instance as, and what it answers) survives the trip.
 */
#define S_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(9))

struct run {
    const struct serve_config *c;
    const struct export_model *m;
    FILE *in;
    FILE *out;
    char tmp[PATH_MAX + 8]; /* OUT.tmp, removed unless renamed */
    int tmp_made;
    int chunk;
    float *x;       /* chunk x input_dim */
    float *probs;   /* chunk x classes */
    json_t **insts; /* the chunk's instances, owned */
    int rows;       /* in the chunk now */
    long line;      /* the input line last read */
    long predicted;
    long skipped;
    double started;
    double progress_at;
};

/* A line with nothing but white space in it. */
static int s_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

/*
 * Parses one line into the chunk's next row: an instance, or an object
 * {"instance": instance}. Returns 0 or PSC_EINVAL with err.
 */
static int s_parse(struct run *r, const char *text, size_t n, char *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(text, n, JSON_DECODE_ANY, &jerr);
    if (doc == NULL)
        return psc_seterr(err, PSC_EINVAL, "invalid JSON: %s (column %d)",
                          jerr.text, jerr.column);
    json_t *inst = doc;
    json_t *wrapped =
        json_is_object(doc) ? json_object_get(doc, "instance") : NULL;
    if (wrapped != NULL)
        inst = wrapped;
    float *x = r->x + (size_t) r->rows * r->m->input_dim;
    int rc = serve_instance_parse(inst, r->m, x, err);
    if (rc == 0)
        r->insts[r->rows++] = json_incref(inst);
    json_decref(doc);
    return rc;
}

/* One output line per row of the chunk, then the chunk is empty. */
static int s_flush(struct run *r, char *err)
{
    int rc = 0;
    if (r->rows > 0)
        export_predict(r->m, r->x, r->rows, r->probs);
    for (int i = 0; i < r->rows; i++) {
        json_t *pred = json_array();
        const float *p = r->probs + (size_t) i * r->m->classes;
        for (int k = 0; k < r->m->classes; k++)
            json_array_append_new(pred, json_real(p[k]));
        json_t *o =
            json_pack("{s:O,s:o}", "instance", r->insts[i], "prediction", pred);
        char *s = json_dumps(o, S_DUMP_FLAGS);
        if (rc == 0 && (s == NULL || fputs(s, r->out) == EOF ||
                        fputc('\n', r->out) == EOF))
            rc = psc_seterr(err, PSC_EIO, "cannot write '%s': %s", r->tmp,
                            strerror(errno));
        free(s);
        json_decref(o);
        json_decref(r->insts[i]);
    }
    r->predicted += rc == 0 ? r->rows : 0;
    r->rows = 0;
    return rc;
}

static void s_progress(struct run *r)
{
    double now = psc_now();
    if (now < r->progress_at)
        return;
    r->progress_at = now + S_PROGRESS_S;
    psc_log_info("%s: %ld lines read, %ld predicted, %ld skipped",
                 r->c->batch_in, r->line, r->predicted, r->skipped);
}

/* Reads, predicts and writes every line. Returns the exit status. */
static int s_lines(struct run *r)
{
    char err[PSC_ERR_LEN] = "";
    char *text = NULL;
    size_t cap = 0;
    int status = 0;
    for (;;) {
        errno = 0;
        ssize_t n = getline(&text, &cap, r->in);
        if (n < 0) {
            if (ferror(r->in)) {
                psc_log_err("cannot read '%s': %s", r->c->batch_in,
                            strerror(errno));
                status = S_EXIT_FAIL;
            }
            break;
        }
        r->line++;
        if (s_blank(text, (size_t) n))
            continue;
        if (s_parse(r, text, (size_t) n, err) != 0) {
            if (r->c->strict) {
                psc_log_err("%s:%ld: %s", r->c->batch_in, r->line, err);
                status = S_EXIT_FAIL;
                break;
            }
            psc_log_warn("%s:%ld: %s; skipped", r->c->batch_in, r->line, err);
            r->skipped++;
        }
        if (r->rows == r->chunk && s_flush(r, err) != 0) {
            psc_log_err("%s", err);
            status = S_EXIT_FAIL;
            break;
        }
        s_progress(r);
    }
    if (status == 0 && s_flush(r, err) != 0) {
        psc_log_err("%s", err);
        status = S_EXIT_FAIL;
    }
    free(text);
    return status;
}

/* Closes OUT.tmp and renames it to OUT. Returns 0 or PSC_EIO with err. */
static int s_commit(struct run *r, char *err)
{
    FILE *out = r->out;
    r->out = NULL;
    int bad = fflush(out) != 0 || fsync(fileno(out)) != 0;
    bad |= fclose(out) != 0;
    if (bad)
        return psc_seterr(err, PSC_EIO, "cannot write '%s': %s", r->tmp,
                          strerror(errno));
    if (rename(r->tmp, r->c->batch_out) != 0)
        return psc_seterr(err, PSC_EIO, "cannot rename '%s' to '%s': %s",
                          r->tmp, r->c->batch_out, strerror(errno));
    r->tmp_made = 0;
    return 0;
}

/* Opens IN and OUT.tmp and sizes the chunk. Returns the exit status. */
static int s_open(struct run *r, char *err)
{
    const struct serve_config *c = r->c;
    if (c->batch_out[0] == '\0') {
        psc_seterr(err, PSC_ECONFIG, "--batch needs --out");
        return S_EXIT_CONFIG;
    }
    r->in = fopen(c->batch_in, "r");
    if (r->in == NULL) {
        psc_seterr(err, PSC_EIO, "cannot open '%s': %s", c->batch_in,
                   strerror(errno));
        return S_EXIT_FAIL;
    }
    snprintf(r->tmp, sizeof r->tmp, "%s.tmp", c->batch_out);
    r->out = fopen(r->tmp, "w");
    if (r->out == NULL) {
        psc_seterr(err, PSC_EIO, "cannot create '%s': %s", r->tmp,
                   strerror(errno));
        return S_EXIT_FAIL;
    }
    r->tmp_made = 1;
    long chunk = c->batching.enabled ? c->batching.max_batch_size : S_CHUNK;
    r->chunk = chunk > 0 ? (int) chunk : S_CHUNK;
    r->x = psc_xmalloc((size_t) r->chunk * r->m->input_dim * sizeof *r->x);
    r->probs =
        psc_xmalloc((size_t) r->chunk * r->m->classes * sizeof *r->probs);
    r->insts = psc_xcalloc((size_t) r->chunk, sizeof(json_t *));
    return 0;
}

static void s_close(struct run *r)
{
    if (r->in != NULL)
        fclose(r->in);
    if (r->out != NULL)
        fclose(r->out);
    if (r->tmp_made)
        unlink(r->tmp);
    for (int i = 0; i < r->rows; i++)
        json_decref(r->insts[i]);
    free(r->x);
    free(r->probs);
    free(r->insts);
}

static void s_summary(const struct run *r)
{
    double t = psc_now() - r->started;
    psc_log_info("predicted %ld instances in %.3f s (%.0f instances/s), "
                 "%ld lines skipped",
                 r->predicted, t, t > 0 ? (double) r->predicted / t : 0.0,
                 r->skipped);
}

int serve_jsonl_run(const struct serve_config *c, serve_models_t *models)
{
    char err[PSC_ERR_LEN] = "";
    if (c->nmodels < 1) {
        psc_log_err("--batch needs a model (--model_name, --model_base_path)");
        return S_EXIT_CONFIG;
    }
    int http = 0;
    const struct serve_version *v =
        serve_models_acquire(models, c->models[0].name, 0, NULL, &http, err);
    if (v == NULL) {
        psc_log_err("%s", err);
        return S_EXIT_CONFIG;
    }
    struct run r = {.c = c, .m = &v->model, .started = psc_now()};
    r.progress_at = r.started + S_PROGRESS_S;
    int status = s_open(&r, err);
    if (status != 0) {
        psc_log_err("%s", err);
    } else {
        psc_log_info("%s: model '%s' version %ld, %d lines per batch",
                     c->batch_in, v->model_name, v->number, r.chunk);
        status = s_lines(&r);
        if (status == 0 && s_commit(&r, err) != 0) {
            psc_log_err("%s", err);
            status = S_EXIT_FAIL;
        }
        s_summary(&r);
    }
    s_close(&r);
    serve_models_release(models, v);
    return status;
}
