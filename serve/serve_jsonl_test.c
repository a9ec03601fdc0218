/*
 * Tests for batch prediction: a model written with export_write() and
 * loaded by serve_models; lines as bare instances, {"instance": ...},
 * {"pixels": ...} and 28 x 28 lists, more lines than a batch, blank
 * lines passed over, malformed lines skipped with IN:LINE in the log (or
 * with --strict: exit 1 and no output file), outputs in input order equal
 * to export_predict's, and the exit statuses for a missing model.
 */
#include "serve_jsonl.h"

#include "ckpt_fixture.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "serve_config.h"
#include "serve_models.h"
#include "test.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_IN      784
#define S_CLASSES 10
#define S_LINES   300

/* What the log said, for the checks. */
static char s_log[1 << 16];

static void s_sink(void *arg, enum psc_log_level level, const char *line)
{
    size_t n = strlen(s_log);
    snprintf(s_log + n, sizeof s_log - n, "%s\n", line);
}

/* A 784 -> 10 softmax, written as base's next version. */
static void s_model(struct export_model *m, const char *base)
{
    memset(m, 0, sizeof *m);
    m->dtype = EXPORT_F32;
    m->height = 28;
    m->width = 28;
    m->input_dim = S_IN;
    m->input_scale = 1.0f / 255.0f;
    m->classes = S_CLASSES;
    for (int i = 0; i < S_CLASSES; i++)
        snprintf(m->class_names[i], EXPORT_NAME_LEN, "%d", i);
    snprintf(m->model_kind, sizeof m->model_kind, "softmax");
    snprintf(m->run_id, sizeof m->run_id, "jsonl-test");
    m->nlayers = 1;
    struct export_layer *L = &m->layers[0];
    L->in = S_IN;
    L->out = S_CLASSES;
    L->kernel = psc_xmalloc((size_t) S_IN * S_CLASSES * sizeof *L->kernel);
    L->bias = psc_xmalloc(S_CLASSES * sizeof *L->bias);
    for (int i = 0; i < S_IN * S_CLASSES; i++)
        L->kernel[i] = 0.01f * sinf((float) i * 0.37f);
    for (int i = 0; i < S_CLASSES; i++)
        L->bias[i] = 0.02f * (float) i;
    char version[EXPORT_VERSION_LEN];
    char err[PSC_ERR_LEN] = "";
    int rc = export_write(base, m, version, err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    CHECK_OK(rc);
}

static void s_pixels(float *x, int i)
{
    for (int k = 0; k < S_IN; k++)
        x[k] = (float) ((i * 31 + k * 7) % 256);
}

/* Line i's instance in one of four forms. */
static void s_write_line(FILE *f, int i)
{
    float x[S_IN];
    s_pixels(x, i);
    int form = i % 4;
    fputs(form == 1   ? "{\"instance\": ["
          : form == 2 ? "{\"pixels\": ["
                      : "[",
          f);
    for (int k = 0; k < S_IN; k++) {
        if (form == 3 && k % 28 == 0)
            fputs(k > 0 ? "], [" : "[", f);
        else if (k > 0)
            fputs(", ", f);
        fprintf(f, "%d", (int) x[k]);
    }
    fputs(form == 3 ? "]]\n" : form == 0 ? "]\n" : "]}\n", f);
}

struct paths {
    char *dir;
    char base[4096];
    char in[4096];
    char out[4096];
    char tmp[4200];
};

static int s_run(const struct paths *p, int strict, const char *model_base)
{
    char *argv[] = {"psc-serve",         "--model_name",
                    "fashion",           "--model_base_path",
                    (char *) model_base, "--batch",
                    (char *) p->in,      "--out",
                    (char *) p->out,     "--strict"};
    int argc = (int) (sizeof argv / sizeof argv[0]) - (strict ? 0 : 1);
    struct serve_config c;
    char err[PSC_ERR_LEN] = "";
    int rc = serve_config_parse(&c, argc, argv, err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    CHECK_OK(rc);
    serve_models_t *models = serve_models_new(&c);
    serve_models_poll(models);
    s_log[0] = '\0';
    int status = serve_jsonl_run(&c, models);
    serve_models_destroy(&models);
    return status;
}

/* Every output line: the instance as given and export_predict's answer. */
static void s_check_out(const struct paths *p, const struct export_model *m,
                        int bad_line)
{
    FILE *f = fopen(p->out, "r");
    CHECK(f != NULL);
    char *line = NULL;
    size_t cap = 0;
    int n = 0;
    for (int i = 0; i < S_LINES; i++) {
        if (i == bad_line)
            continue;
        CHECK(getline(&line, &cap, f) > 0);
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        CHECK(o != NULL);
        json_t *inst = json_object_get(o, "instance");
        CHECK(inst != NULL);
        /* The wrapper is not part of the instance; {"pixels"} is. */
        CHECK(json_is_object(inst) == (i % 4 == 2));
        json_t *pred = json_object_get(o, "prediction");
        CHECK_EQ(json_array_size(pred), S_CLASSES);
        float x[S_IN];
        float want[S_CLASSES];
        s_pixels(x, i);
        export_predict(m, x, 1, want);
        for (int k = 0; k < S_CLASSES; k++)
            CHECK_NEAR(json_real_value(json_array_get(pred, (size_t) k)),
                       want[k], 1e-6);
        json_decref(o);
        n++;
    }
    CHECK(getline(&line, &cap, f) < 0);
    free(line);
    fclose(f);
    CHECK_EQ(n, bad_line >= 0 ? S_LINES - 1 : S_LINES);
    CHECK(access(p->tmp, F_OK) != 0);
}

/* S_LINES instances; bad_line (when >= 0) is broken JSON; a blank line. */
static void s_input(const struct paths *p, int bad_line)
{
    FILE *f = fopen(p->in, "w");
    CHECK(f != NULL);
    for (int i = 0; i < S_LINES; i++) {
        if (i == 10)
            fputs("\n", f);
        if (i == bad_line)
            fputs("[1, 2,\n", f);
        else
            s_write_line(f, i);
    }
    fclose(f);
}

int main(void)
{
    psc_log_set_sink(s_sink, NULL);
    struct paths p = {0};
    p.dir = fx_tmpdir();
    snprintf(p.base, sizeof p.base, "%s/fashion", p.dir);
    snprintf(p.in, sizeof p.in, "%s/in.jsonl", p.dir);
    snprintf(p.out, sizeof p.out, "%s/out.jsonl", p.dir);
    snprintf(p.tmp, sizeof p.tmp, "%s.tmp", p.out);
    struct export_model m;
    s_model(&m, p.base);

    /* All good: every line out, in order. */
    s_input(&p, -1);
    CHECK_EQ(s_run(&p, 0, p.base), 0);
    s_check_out(&p, &m, -1);
    CHECK_CONTAINS(s_log, "predicted 300 instances in ");
    CHECK_CONTAINS(s_log, "instances/s), 0 lines skipped");

    /* Line 42 (input line 44: one blank line before it) is skipped. */
    s_input(&p, 42);
    CHECK_EQ(s_run(&p, 0, p.base), 0);
    s_check_out(&p, &m, 42);
    char want[4200];
    snprintf(want, sizeof want, "%s:44: invalid JSON: ", p.in);
    CHECK_CONTAINS(s_log, want);
    CHECK_CONTAINS(s_log, "; skipped");
    CHECK_CONTAINS(s_log, "predicted 299 instances in ");
    CHECK_CONTAINS(s_log, "1 lines skipped");

    /* --strict: exit 1, no output (the old one is gone first), no tmp. */
    unlink(p.out);
    CHECK_EQ(s_run(&p, 1, p.base), 1);
    CHECK_CONTAINS(s_log, want);
    CHECK(access(p.out, F_OK) != 0);
    CHECK(access(p.tmp, F_OK) != 0);

    /* A shape the model does not take, with --strict. */
    FILE *f = fopen(p.in, "w");
    CHECK(f != NULL);
    fputs("[1, 2, 3]\n", f);
    fclose(f);
    CHECK_EQ(s_run(&p, 1, p.base), 1);
    snprintf(want, sizeof want, "%s:1: ", p.in);
    CHECK_CONTAINS(s_log, want);
    CHECK(access(p.out, F_OK) != 0);

    /* No version under the base path: a configuration error. */
    char empty[4200];
    snprintf(empty, sizeof empty, "%s/none", p.dir);
    CHECK_EQ(s_run(&p, 0, empty), 2);
    CHECK(access(p.out, F_OK) != 0);

    export_model_release(&m);
    fx_rmtree(p.dir);
    free(p.dir);
    psc_log_set_sink(NULL, NULL);
    printf("serve_jsonl_test: ok\n");
    return 0;
}
