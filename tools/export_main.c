/*
 * psc-export: a checkpoint as a versioned export (model.json and weights,
 * model.onnx, tfjs/), the same the chief writes at the end of training;
 * --verify checks an export as a server would before loading it;
 * --evaluate runs one on the job's test set.
 * Exit status: 0, 1 when an input is missing or bad, 2 for usage and
 * configuration errors.
 */
#include "ckpt.h"
#include "dataset.h"
#include "export.h"
#include "job.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_json.h"
#include "psc_log.h"
#include "psc_opts.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_EXIT_BAD   1
#define S_EXIT_USAGE 2
#define S_MAX_SETS   64

enum {
    OPT_CHECKPOINT = 256,
    OPT_OUT,
    OPT_QUANTIZE,
    OPT_JOB,
    OPT_SET,
    OPT_VERIFY,
    OPT_EVALUATE,
    OPT_PROBS
};

static const struct psc_opt s_opts[] = {
    {"checkpoint", OPT_CHECKPOINT, "DIR",
     "export this checkpoint: a ckpt-<step> folder, or a model_dir's latest"},
    {"out", OPT_OUT, "BASE",
     "write the next version under BASE (BASE/0001, BASE/0002, ...)"},
    {"quantize", OPT_QUANTIZE, "none|int8",
     "int8: per-output-channel int8 weights (default: the job's "
     "export_quantize)"},
    {"job", OPT_JOB, "FILE", "the job file (class_names, the test data)"},
    {"set", OPT_SET, "KEY=VALUE", "override a job option (repeatable)"},
    {"verify", OPT_VERIFY, "VERSION_DIR",
     "check an export: model.json, every file's size and SHA-256, the ONNX "
     "and TF.js forms"},
    {"evaluate", OPT_EVALUATE, "VERSION_DIR",
     "run an export on the job's test set and print its accuracy and loss"},
    {"probabilities", OPT_PROBS, "FILE",
     "with --evaluate: write the probabilities (test examples x classes, "
     "float32 little-endian)"},
    {"help", 'h', NULL, "show this help"},
};

#define NOPTS (sizeof s_opts / sizeof s_opts[0])

struct opts {
    const char *checkpoint;
    const char *out;
    const char *quantize;
    const char *job;
    const char *sets[S_MAX_SETS];
    int nsets;
    const char *verify;
    const char *evaluate;
    const char *probs;
    int help;
};

static void s_usage(void)
{
    printf("usage: psc-export --checkpoint DIR --out BASE [options]\n"
           "       psc-export --verify VERSION_DIR\n"
           "       psc-export --evaluate VERSION_DIR [--probabilities FILE]\n"
           "Export a psc checkpoint as the chief does at the end of "
           "training, check an\nexport, or measure one on the test set.\n\n"
           "options:\n");
    psc_opts_usage(stdout, s_opts, NOPTS);
    printf("\nexit status: 0, 1 when an input is missing or bad, 2 for bad "
           "usage\n");
}

static int s_take(struct opts *o, int id, const char *arg, char *err)
{
    switch (id) {
    case OPT_CHECKPOINT:
        o->checkpoint = arg;
        break;
    case OPT_OUT:
        o->out = arg;
        break;
    case OPT_QUANTIZE:
        o->quantize = arg;
        break;
    case OPT_JOB:
        o->job = arg;
        break;
    case OPT_VERIFY:
        o->verify = arg;
        break;
    case OPT_EVALUATE:
        o->evaluate = arg;
        break;
    case OPT_PROBS:
        o->probs = arg;
        break;
    case OPT_SET:
        if (o->nsets == S_MAX_SETS)
            return psc_seterr(err, PSC_EINVAL, "more than %d --set",
                              S_MAX_SETS);
        o->sets[o->nsets++] = arg;
        break;
    default:
        o->help = 1;
        break;
    }
    return 0;
}

static int s_parse(int argc, char **argv, struct opts *o, char *err)
{
    struct psc_opts p;
    psc_opts_begin(&p, s_opts, NOPTS, argc, argv);
    int id;
    while ((id = psc_opts_next(&p, err)) > 0) {
        if (s_take(o, id, p.arg, err) != 0)
            return PSC_EINVAL;
    }
    if (id < 0 || o->help)
        return id;
    if (psc_opts_operand(&p) != NULL)
        return psc_seterr(err, PSC_EINVAL, "unexpected argument");
    int modes =
        (o->checkpoint != NULL) + (o->verify != NULL) + (o->evaluate != NULL);
    if (modes != 1)
        return psc_seterr(err, PSC_EINVAL,
                          "give one of --checkpoint, --verify, --evaluate");
    if ((o->checkpoint != NULL) != (o->out != NULL))
        return psc_seterr(err, PSC_EINVAL, "--checkpoint needs --out BASE");
    if (o->probs != NULL && o->evaluate == NULL)
        return psc_seterr(err, PSC_EINVAL, "--probabilities needs --evaluate");
    if (o->quantize != NULL && strcmp(o->quantize, "none") != 0 &&
        strcmp(o->quantize, "int8") != 0)
        return psc_seterr(err, PSC_EINVAL,
                          "--quantize '%s' is unknown: use none or int8",
                          o->quantize);
    return 0;
}

/*
 * The evaluator's record of step in MODEL_DIR/eval.jsonl beside the
 * checkpoint folder, if there is one: the accuracy at export.
 */
static void s_eval_at(const char *ckpt_dir, struct export_model *m)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/../eval.jsonl", ckpt_dir);
    FILE *f = n > 0 && (size_t) n < sizeof path ? fopen(path, "r") : NULL;
    if (f == NULL)
        return;
    char line[1024];
    while (fgets(line, sizeof line, f) != NULL) {
        json_t *r = json_loads(line, 0, NULL);
        json_t *step = json_object_get(r, "step");
        json_t *acc = json_object_get(r, "accuracy");
        json_t *loss = json_object_get(r, "loss");
        /* A loss that was not finite is null (psc_json.h): still the
         * record of this step. */
        if (json_is_integer(step) && json_is_number(acc) &&
            (json_is_number(loss) || json_is_null(loss)) &&
            (uint64_t) json_integer_value(step) == m->step) {
            m->has_eval = 1;
            m->accuracy = json_number_value(acc);
            m->loss = psc_json_get_real(r, "loss");
        }
        json_decref(r);
    }
    fclose(f);
}

static size_t s_weight_bytes(const struct export_model *m, int as_f32)
{
    size_t bytes = 0;
    for (int l = 0; l < m->nlayers; l++) {
        size_t k = (size_t) m->layers[l].in * m->layers[l].out;
        size_t out = (size_t) m->layers[l].out;
        if (m->dtype == EXPORT_INT8 && !as_f32)
            bytes += k + 2 * out * 4; /* int8 kernel, scales, biases */
        else
            bytes += (k + out) * 4;
    }
    return bytes;
}

static long long s_file_size(const char *base, const char *version,
                             const char *name)
{
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s/%s", base, version, name);
    return stat(path, &st) == 0 ? (long long) st.st_size : -1;
}

static void s_report_export(const char *base, const char *version,
                            const struct export_model *m)
{
    printf("exported step %" PRIu64 " to %s/%s: %s, %d layers, %d classes\n",
           m->step, base, version, m->dtype == EXPORT_INT8 ? "int8" : "float32",
           m->nlayers, m->classes);
    size_t w = s_weight_bytes(m, 0);
    size_t f = s_weight_bytes(m, 1);
    printf("weights %zu bytes", w);
    if (m->dtype == EXPORT_INT8)
        printf(", %.2fx smaller than float32 (%zu bytes)", (double) f / w, f);
    printf("; model.onnx %lld bytes\n",
           s_file_size(base, version, "model.onnx"));
    if (m->has_eval)
        printf("eval at export: accuracy %.4f, loss %.4f\n", m->accuracy,
               m->loss);
}

static int s_export(const struct opts *o, const struct job *job, char *err)
{
    char dir[PATH_MAX];
    char names[EXPORT_MAX_CLASSES][EXPORT_NAME_LEN];
    char version[EXPORT_VERSION_LEN];
    struct export_model m;
    int rc = ckpt_resolve(o->checkpoint, dir, sizeof dir, err);
    if (rc == 0)
        rc = ckpt_verify(dir, err);
    if (rc == 0)
        rc = export_model_from_ckpt(&m, dir, err);
    if (rc != 0)
        return S_EXIT_BAD;
    int n = job_class_names(job, names, EXPORT_MAX_CLASSES, err);
    rc = n < 0 ? n : export_model_set_classes(&m, names, n, err);
    if (rc == 0) {
        const char *q =
            o->quantize != NULL ? o->quantize : job->export_quantize;
        if (strcmp(q, "int8") == 0)
            export_model_quantize(&m);
        s_eval_at(dir, &m);
        rc = export_write(o->out, &m, version, err);
        if (rc == 0)
            s_report_export(o->out, version, &m);
        else
            rc = S_EXIT_BAD;
    } else {
        rc = S_EXIT_USAGE;
    }
    export_model_release(&m);
    return rc;
}

static int s_verify(const char *dir, char *err)
{
    struct export_model m;
    if (export_read(dir, &m, err) != 0)
        return S_EXIT_BAD;
    printf("%s: verified (%s model, %s, %d layers, input %d, %d classes, "
           "step %" PRIu64 ")\n",
           dir, m.model_kind, m.dtype == EXPORT_INT8 ? "int8" : "float32",
           m.nlayers, m.input_dim, m.classes, m.step);
    export_model_release(&m);
    return 0;
}

static int s_write_probs(const char *path, const float *p, size_t n, char *err)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return psc_seterr(err, PSC_EIO, "cannot create '%s': %s", path,
                          strerror(errno));
    size_t put = fwrite(p, sizeof *p, n, f);
    int closed = fclose(f);
    if (put != n || closed != 0)
        return psc_seterr(err, PSC_EIO, "cannot write '%s'", path);
    return 0;
}

static void s_score(const struct export_model *m, const struct dataset *d,
                    const float *probs)
{
    int correct = 0;
    double loss = 0;
    for (int i = 0; i < d->count; i++) {
        const float *p = probs + (size_t) i * m->classes;
        int best = 0;
        for (int c = 1; c < m->classes; c++)
            best = p[c] > p[best] ? c : best;
        correct += best == d->labels[i];
        loss -= log(fmax(p[d->labels[i]], 1e-30));
    }
    printf("accuracy %.4f, loss %.4f on %d test examples (%s)\n",
           (double) correct / d->count, loss / d->count, d->count,
           m->dtype == EXPORT_INT8 ? "int8" : "float32");
}

static int s_evaluate(const struct opts *o, const struct job *job, char *err)
{
    struct export_model m;
    struct dataset d;
    if (export_read(o->evaluate, &m, err) != 0)
        return S_EXIT_BAD;
    if (dataset_load(job, 1, &d, err) != 0) {
        export_model_release(&m);
        return S_EXIT_BAD;
    }
    int rc = 0;
    if (d.dim != m.input_dim) {
        rc = psc_seterr(err, PSC_EINVAL,
                        "the test images have %d pixels, the export takes %d",
                        d.dim, m.input_dim);
    } else {
        size_t n = (size_t) d.count * d.dim;
        float *raw = psc_xmalloc(n * sizeof *raw);
        float *probs =
            psc_xmalloc((size_t) d.count * m.classes * sizeof *probs);
        /* The export takes pixels as they are in the file: 0..255. */
        for (size_t i = 0; i < n; i++)
            raw[i] = (float) d.pixels[i];
        export_predict(&m, raw, d.count, probs);
        s_score(&m, &d, probs);
        if (o->probs != NULL)
            rc = s_write_probs(o->probs, probs, (size_t) d.count * m.classes,
                               err);
        free(raw);
        free(probs);
    }
    dataset_release(&d);
    export_model_release(&m);
    return rc == 0 ? 0 : S_EXIT_BAD;
}

int main(int argc, char **argv)
{
    psc_log_set_ident("psc-export");
    struct opts o = {0};
    char err[PSC_ERR_LEN] = "";
    if (s_parse(argc, argv, &o, err) != 0) {
        fprintf(stderr, "psc-export: %s: see 'psc-export --help'\n", err);
        return S_EXIT_USAGE;
    }
    if (o.help) {
        s_usage();
        return 0;
    }
    int rc = 0;
    if (o.verify != NULL) {
        rc = s_verify(o.verify, err);
    } else {
        struct job *job = job_new(o.job, o.sets, o.nsets, err);
        if (job == NULL) {
            fprintf(stderr, "psc-export: %s\n", err);
            return S_EXIT_USAGE;
        }
        rc = o.checkpoint != NULL ? s_export(&o, job, err)
                                  : s_evaluate(&o, job, err);
        job_destroy(&job);
    }
    fflush(stdout);
    if (rc != 0)
        fprintf(stderr, "psc-export: %s\n", err);
    return rc;
}
