/*
 * Reading a version folder back, trusting nothing: model.json field by
 * field, every file it lists by size and SHA-256, the weights against the
 * shapes, and model.onnx and tfjs/ against model.json. Every refusal is
 * one line naming the file and the problem.
 */
#include "export.h"

#include "ckpt_io.h"
#include "export_internal.h"
#include "export_onnx.h"
#include "export_tfjs.h"
#include "json_file.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_json.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The largest layer width a reader accepts: far above any real model,
 * low enough that in x out cannot overflow. */
#define S_MAX_WIDTH (1 << 20)

struct s_ctx {
    const char *dir;
    char path[PATH_MAX]; /* model.json */
    json_t *files;
    json_t *checked; /* names whose size and hash were checked */
    char *err;
};

static int s_bad(struct s_ctx *c, const char *what, const char *field)
{
    return psc_seterr(c->err, PSC_EPROTO, "'%s': %s %s", c->path, field, what);
}

static json_t *s_get(struct s_ctx *c, json_t *obj, const char *key,
                     json_type type, const char *field)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_typeof(v) != type) {
        static const char *const names[] = {
            "an object", "an array",  "a string",  "an integer",
            "a number",  "a boolean", "a boolean", "null"};
        char what[64];
        snprintf(what, sizeof what, "is missing or not %s", names[type]);
        s_bad(c, what, field);
        return NULL;
    }
    return v;
}

static int s_get_int(struct s_ctx *c, json_t *obj, const char *key, long lo,
                     long hi, const char *field, long *out)
{
    json_t *v = s_get(c, obj, key, JSON_INTEGER, field);
    if (v == NULL)
        return PSC_EPROTO;
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi) {
        char what[96];
        snprintf(what, sizeof what, "is %lld, out of range %ld..%ld",
                 (long long) x, lo, hi);
        return s_bad(c, what, field);
    }
    *out = (long) x;
    return 0;
}

static int s_get_str(struct s_ctx *c, json_t *obj, const char *key,
                     const char *field, const char **out)
{
    json_t *v = s_get(c, obj, key, JSON_STRING, field);
    if (v == NULL)
        return PSC_EPROTO;
    *out = json_string_value(v);
    return 0;
}

/* A [a, b] shape whose entries must equal want_a and want_b. */
static int s_check_shape(struct s_ctx *c, json_t *shape, int n,
                         const long *want, const char *field)
{
    char what[128];
    if (!json_is_array(shape) || (int) json_array_size(shape) != n)
        return s_bad(c, "is not a shape of the right rank", field);
    for (int i = 0; i < n; i++) {
        json_t *d = json_array_get(shape, (size_t) i);
        if (!json_is_integer(d) || json_integer_value(d) != want[i]) {
            snprintf(what, sizeof what,
                     "disagrees with the layers: dimension %d should be %ld", i,
                     want[i]);
            return s_bad(c, what, field);
        }
    }
    return 0;
}

/* Checks a listed file's size and hash; reads it into out when out. */
static int s_load_file(struct s_ctx *c, const char *name, size_t bytes,
                       void *out)
{
    char path[PATH_MAX];
    char field[EXPORT_NAME_LEN + 16];
    snprintf(path, sizeof path, "%s/%s", c->dir, name);
    snprintf(field, sizeof field, "files['%s']", name);
    json_t *entry = json_object_get(c->files, name);
    long listed = 0;
    const char *want = NULL;
    if (!json_is_object(entry))
        return s_bad(c, "is missing: every file must be listed", field);
    if (s_get_int(c, entry, "bytes", 0, LONG_MAX, field, &listed) != 0 ||
        s_get_str(c, entry, "sha256", field, &want) != 0)
        return PSC_EPROTO;
    struct stat st;
    if (stat(path, &st) != 0)
        return psc_seterr(c->err, errno == ENOENT ? PSC_ENOTFOUND : PSC_EIO,
                          "'%s': %s", path, strerror(errno));
    if ((size_t) listed != bytes && bytes != SIZE_MAX)
        return s_bad(c, "disagrees with the shape it should hold", field);
    if (st.st_size != listed)
        return psc_seterr(c->err, PSC_EIO,
                          "'%s' has %lld bytes, model.json says %ld: the "
                          "export is damaged; export it again",
                          path, (long long) st.st_size, listed);
    char hex[SHA256_HEX_LEN + 1];
    int rc = sha256_file(path, hex, c->err);
    if (rc != 0)
        return rc;
    if (strcmp(hex, want) != 0)
        return psc_seterr(c->err, PSC_ECHECKSUM,
                          "'%s' does not match its SHA-256 in model.json: the "
                          "export is damaged; export it again",
                          path);
    json_object_set_new(c->checked, name, json_true());
    if (out == NULL || bytes == 0)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return psc_seterr(c->err, PSC_EIO, "cannot open '%s': %s", path,
                          strerror(errno));
    rc = ckpt_io_pread_all(fd, out, bytes, 0, path, c->err);
    close(fd);
    return rc;
}

static int s_read_array(struct s_ctx *c, json_t *spec, const char *dtype, int n,
                        const long *shape, const char *field, void *out,
                        size_t elem)
{
    const char *file = NULL;
    const char *got = NULL;
    if (!json_is_object(spec))
        return s_bad(c, "is missing or not an object", field);
    if (s_get_str(c, spec, "file", field, &file) != 0 ||
        s_get_str(c, spec, "dtype", field, &got) != 0)
        return PSC_EPROTO;
    if (strcmp(got, dtype) != 0) {
        char what[96];
        snprintf(what, sizeof what, "has dtype '%s', expected '%s'", got,
                 dtype);
        return s_bad(c, what, field);
    }
    if (strchr(file, '/') != NULL || file[0] == '.' || file[0] == '\0')
        return s_bad(c, "names a file outside the version folder", field);
    int rc = s_check_shape(c, json_object_get(spec, "shape"), n, shape, field);
    if (rc != 0)
        return rc;
    size_t count = (size_t) shape[0] * (n > 1 ? (size_t) shape[1] : 1);
    return s_load_file(c, file, count * elem, out);
}

static int s_read_layer(struct s_ctx *c, struct export_model *m, json_t *jl,
                        int l)
{
    struct export_layer *L = &m->layers[l];
    char field[64];
    long units = 0;
    const char *act = NULL;
    snprintf(field, sizeof field, "layers[%d]", l);
    if (!json_is_object(jl))
        return s_bad(c, "is not an object", field);
    if (s_get_int(c, jl, "units", 1, S_MAX_WIDTH, field, &units) != 0 ||
        s_get_str(c, jl, "activation", field, &act) != 0)
        return PSC_EPROTO;
    L->in = l == 0 ? m->input_dim : m->layers[l - 1].out;
    L->out = (int) units;
    L->relu = l + 1 < m->nlayers;
    if (strcmp(act, L->relu ? "relu" : "softmax") != 0)
        return s_bad(c,
                     L->relu ? "activation must be relu (a hidden layer)"
                             : "activation must be softmax (the last layer)",
                     field);
    size_t n = (size_t) L->in * L->out;
    long kshape[2] = {L->in, L->out};
    long bshape[1] = {L->out};
    json_t *kernel = json_object_get(jl, "kernel");
    int q = m->dtype == EXPORT_INT8;
    L->kernel = psc_xmalloc(n * sizeof *L->kernel);
    L->bias = psc_xmalloc((size_t) L->out * sizeof *L->bias);
    int rc = 0;
    if (q) {
        L->qkernel = psc_xmalloc(n);
        L->scale = psc_xmalloc((size_t) L->out * sizeof *L->scale);
        rc = s_read_array(c, kernel, "int8", 2, kshape, field, L->qkernel, 1);
        if (rc == 0)
            rc = s_read_array(c, json_object_get(kernel, "scale"), "float32", 1,
                              bshape, field, L->scale, 4);
        for (size_t i = 0; rc == 0 && i < n; i++)
            L->kernel[i] = (float) L->qkernel[i] * L->scale[i % L->out];
    } else {
        rc = s_read_array(c, kernel, "float32", 2, kshape, field, L->kernel, 4);
    }
    if (rc == 0)
        rc = s_read_array(c, json_object_get(jl, "bias"), "float32", 1, bshape,
                          field, L->bias, 4);
    return rc;
}

static int s_read_input(struct s_ctx *c, struct export_model *m, json_t *root)
{
    json_t *inputs = s_get(c, root, "inputs", JSON_ARRAY, "inputs");
    if (inputs == NULL)
        return PSC_EPROTO;
    json_t *in = json_array_get(inputs, 0);
    json_t *img = json_object_get(in, "image_shape");
    json_t *pre = json_object_get(in, "preprocessing");
    json_t *shape = json_object_get(in, "shape");
    if (json_array_size(inputs) != 1 || !json_is_object(in) ||
        !json_is_array(img) || json_array_size(img) != 2 ||
        !json_is_array(shape) || json_array_size(shape) != 2)
        return s_bad(c, "must be one input with a shape and an image_shape",
                     "inputs");
    json_int_t height = json_integer_value(json_array_get(img, 0));
    json_int_t width = json_integer_value(json_array_get(img, 1));
    if (height < 1 || width < 1 || height > S_MAX_WIDTH ||
        width > S_MAX_WIDTH / height)
        return s_bad(c, "is out of range", "inputs[0].image_shape");
    m->height = (int) height;
    m->width = (int) width;
    m->input_dim = m->height * m->width;
    long want[2] = {-1, m->input_dim};
    int rc = s_check_shape(c, shape, 2, want, "inputs[0].shape");
    if (rc != 0)
        return rc;
    double scale = json_number_value(json_object_get(pre, "scale"));
    if (!json_is_number(json_object_get(pre, "scale")) || !(scale > 0) ||
        !(scale <= FLT_MAX))
        return s_bad(c, "must be a positive number",
                     "inputs[0].preprocessing.scale");
    m->input_scale = (float) scale;
    return 0;
}

static int s_read_output(struct s_ctx *c, struct export_model *m, json_t *root)
{
    json_t *outputs = s_get(c, root, "outputs", JSON_ARRAY, "outputs");
    if (outputs == NULL)
        return PSC_EPROTO;
    json_t *out = json_array_get(outputs, 0);
    json_t *names = json_object_get(out, "class_names");
    long want[2] = {-1, m->classes};
    if (json_array_size(outputs) != 1 || !json_is_object(out))
        return s_bad(c, "must be one output", "outputs");
    int rc = s_check_shape(c, json_object_get(out, "shape"), 2, want,
                           "outputs[0].shape");
    if (rc != 0)
        return rc;
    if (!json_is_array(names) || (int) json_array_size(names) != m->classes)
        return s_bad(c, "must name every class", "outputs[0].class_names");
    for (int i = 0; i < m->classes; i++) {
        const char *s = json_string_value(json_array_get(names, (size_t) i));
        if (s == NULL || strlen(s) == 0 || strlen(s) >= EXPORT_NAME_LEN)
            return s_bad(c, "holds a name that is empty, too long or no string",
                         "outputs[0].class_names");
        snprintf(m->class_names[i], EXPORT_NAME_LEN, "%s", s);
    }
    return 0;
}

static int s_read_training(struct s_ctx *c, struct export_model *m,
                           json_t *root)
{
    json_t *t = s_get(c, root, "training", JSON_OBJECT, "training");
    const char *kind = NULL;
    const char *run = NULL;
    const char *fp = NULL;
    long step = 0;
    if (t == NULL || s_get_str(c, t, "model", "training.model", &kind) != 0 ||
        s_get_str(c, t, "run_id", "training.run_id", &run) != 0 ||
        s_get_str(c, t, "fingerprint", "training.fingerprint", &fp) != 0 ||
        s_get_int(c, t, "step", 0, LONG_MAX, "training.step", &step) != 0)
        return PSC_EPROTO;
    snprintf(m->model_kind, sizeof m->model_kind, "%s", kind);
    snprintf(m->run_id, sizeof m->run_id, "%s", run);
    m->step = (uint64_t) step;
    m->fingerprint = strtoull(fp, NULL, 16);
    json_t *eval = json_object_get(t, "eval");
    if (json_is_object(eval)) {
        m->has_eval = 1;
        m->accuracy = psc_json_get_real(eval, "accuracy");
        m->loss = psc_json_get_real(eval, "loss");
    }
    return 0;
}

static int s_read_header(struct s_ctx *c, struct export_model *m, json_t *root)
{
    const char *format = NULL;
    const char *quant = NULL;
    long version = 0;
    if (!json_is_object(root))
        return s_bad(c, "is not an object", "the top level");
    if (s_get_str(c, root, "format", "format", &format) != 0)
        return PSC_EPROTO;
    if (strcmp(format, "psc-export") != 0)
        return s_bad(c, "is not 'psc-export'", "format");
    if (s_get_int(c, root, "format_version", 0, LONG_MAX, "format_version",
                  &version) != 0)
        return PSC_EPROTO;
    if (version != EXPORT_FORMAT_VERSION)
        return psc_seterr(c->err, PSC_EPROTO,
                          "'%s': unknown format version %ld: this psc reads "
                          "version %d; use the psc that wrote it",
                          c->path, version, EXPORT_FORMAT_VERSION);
    if (s_get_str(c, root, "quantization", "quantization", &quant) != 0)
        return PSC_EPROTO;
    if (strcmp(quant, "none") != 0 && strcmp(quant, "int8") != 0)
        return s_bad(c, "is neither none nor int8", "quantization");
    m->dtype = strcmp(quant, "int8") == 0 ? EXPORT_INT8 : EXPORT_F32;
    c->files = s_get(c, root, "files", JSON_OBJECT, "files");
    return c->files != NULL ? 0 : PSC_EPROTO;
}

static int s_read_layers(struct s_ctx *c, struct export_model *m, json_t *root)
{
    json_t *layers = s_get(c, root, "layers", JSON_ARRAY, "layers");
    if (layers == NULL)
        return PSC_EPROTO;
    size_t n = json_array_size(layers);
    if (n < 1 || n > EXPORT_MAX_LAYERS)
        return s_bad(c, "must hold 1 to 9 layers", "layers");
    m->nlayers = (int) n;
    for (int l = 0; l < m->nlayers; l++) {
        int rc = s_read_layer(c, m, json_array_get(layers, (size_t) l), l);
        if (rc != 0)
            return rc;
    }
    m->classes = m->layers[m->nlayers - 1].out;
    if (m->classes < 2 || m->classes > EXPORT_MAX_CLASSES)
        return s_bad(c, "must have 2 to 256 units", "the last layer");
    return 0;
}

/* model.onnx and tfjs/ are checked by hash, then against the layers. */
static int s_check_others(struct s_ctx *c, const struct export_model *m)
{
    const char *key = NULL;
    json_t *v = NULL;
    json_object_foreach(c->files, key, v)
    {
        if (json_object_get(c->checked, key) != NULL)
            continue; /* a weight file, read and checked already */
        int rc = s_load_file(c, key, SIZE_MAX, NULL);
        if (rc != 0)
            return rc;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", c->dir, EXPORT__ONNX);
    if (json_object_get(c->files, EXPORT__ONNX) == NULL)
        return s_bad(c, "does not list model.onnx", "files");
    int rc = export_onnx_check(path, m, c->err);
    if (rc != 0)
        return rc;
    snprintf(path, sizeof path, "%s/%s", c->dir, EXPORT__TFJS);
    if (json_object_get(c->files, EXPORT__TFJS "/model.json") == NULL)
        return s_bad(c, "does not list tfjs/model.json", "files");
    return export_tfjs_check(path, m, c->err);
}

int export_read(const char *dir, struct export_model *m, char *err)
{
    memset(m, 0, sizeof *m);
    struct s_ctx c = {.dir = dir, .err = err};
    snprintf(c.path, sizeof c.path, "%s/%s", dir, EXPORT__MANIFEST);
    json_t *root = NULL;
    int rc = json_file_load(c.path, "export manifest",
                            ": not an export folder, or an incomplete one",
                            &root, err);
    if (rc != 0)
        return rc;
    c.checked = json_object();
    rc = s_read_header(&c, m, root);
    if (rc == 0)
        rc = s_read_input(&c, m, root);
    if (rc == 0)
        rc = s_read_layers(&c, m, root);
    if (rc == 0)
        rc = s_read_output(&c, m, root);
    if (rc == 0)
        rc = s_read_training(&c, m, root);
    if (rc == 0)
        rc = s_check_others(&c, m);
    json_decref(root);
    json_decref(c.checked);
    if (rc != 0)
        export_model_release(m);
    return rc;
}
