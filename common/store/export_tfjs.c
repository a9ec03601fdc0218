/*
 * The TensorFlow.js layers model through jansson. The topology is a Keras
 * Sequential: a Rescaling layer first (scale input_scale, offset 0; in
 * tfjs-layers since 3.x, checked against 4.22), so the preprocessing is
 * part of the model and nothing is folded into a kernel, then one Dense
 * layer per export layer, named "layer<l>" so that its weights are
 * "layer<l>/kernel" and "layer<l>/bias" as psc calls them. All weights go
 * into one little-endian float32 shard in manifest order.
 */
#include "export_tfjs.h"

#include "ckpt_io.h"
#include "export.h"
#include "json_file.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_fs.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The shard is the arrays as they are in memory. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the tfjs weight shard is little-endian; add byte swapping here"
#endif

#define S_MODEL_FILE "model.json"
#define S_SHARD_FILE "group1-shard1of1.bin"
#define S_FORMAT     "layers-model"
#define S_RESCALING  "rescaling"

/* Longest weight name: "layer" + digits + "/kernel". */
#define S_WNAME_LEN 32

/* ---- the model's own shape ---- */

/* Checks that m is a model this writer can describe. */
static int s_valid(const struct export_model *m, char *err)
{
    if (m->nlayers < 1 || m->nlayers > EXPORT_MAX_LAYERS)
        return psc_seterr(err, PSC_EINVAL, "model has %d layers, not 1 to %d",
                          m->nlayers, EXPORT_MAX_LAYERS);
    int in = m->input_dim;
    for (int l = 0; l < m->nlayers; l++) {
        const struct export_layer *L = &m->layers[l];
        int last = l == m->nlayers - 1;
        if (L->in != in || L->out < 1 || L->kernel == NULL || L->bias == NULL)
            return psc_seterr(err, PSC_EINVAL,
                              "layer %d is %d x %d without a chain from %d "
                              "inputs or without its arrays",
                              l, L->in, L->out, in);
        if ((L->relu != 0) == last)
            return psc_seterr(err, PSC_EINVAL,
                              "layer %d has relu %d; only the last layer "
                              "goes without",
                              l, L->relu);
        in = L->out;
    }
    if (in != m->classes)
        return psc_seterr(err, PSC_EINVAL,
                          "the last layer has %d outputs for %d classes", in,
                          m->classes);
    return 0;
}

static void s_weight_name(char *out, int layer, int bias)
{
    snprintf(out, S_WNAME_LEN, "layer%d/%s", layer, bias ? "bias" : "kernel");
}

static size_t s_weight_elems(const struct export_layer *L, int bias)
{
    return bias ? (size_t) L->out : (size_t) L->in * (size_t) L->out;
}

static size_t s_shard_bytes(const struct export_model *m)
{
    size_t n = 0;
    for (int l = 0; l < m->nlayers; l++)
        n +=
            s_weight_elems(&m->layers[l], 0) + s_weight_elems(&m->layers[l], 1);
    return n * sizeof(float);
}

/* ---- writing ---- */

static json_t *s_rescaling_json(const struct export_model *m)
{
    return json_pack("{s:s, s:{s:s, s:b, s:s, s:[n, i], s:f, s:f}}",
                     "class_name", "Rescaling", "config", "name", S_RESCALING,
                     "trainable", 0, "dtype", "float32", "batch_input_shape",
                     m->input_dim, "scale", (double) m->input_scale, "offset",
                     0.0);
}

static json_t *s_dense_json(const struct export_layer *L, int l)
{
    char name[S_WNAME_LEN];
    snprintf(name, sizeof name, "layer%d", l);
    return json_pack(
        "{s:s, s:{s:s, s:b, s:s, s:i, s:s, s:b, "
        "s:{s:s, s:{}}, s:{s:s, s:{}}, s:n, s:n, s:n, s:n, s:n}}",
        "class_name", "Dense", "config", "name", name, "trainable", 0, "dtype",
        "float32", "units", L->out, "activation", L->relu ? "relu" : "softmax",
        "use_bias", 1, "kernel_initializer", "class_name", "Zeros", "config",
        "bias_initializer", "class_name", "Zeros", "config",
        "kernel_regularizer", "bias_regularizer", "activity_regularizer",
        "kernel_constraint", "bias_constraint");
}

static json_t *s_weights_json(const struct export_model *m)
{
    json_t *arr = json_array();
    for (int l = 0; l < m->nlayers; l++) {
        const struct export_layer *L = &m->layers[l];
        for (int bias = 0; bias <= 1; bias++) {
            char name[S_WNAME_LEN];
            s_weight_name(name, l, bias);
            json_t *shape = bias ? json_pack("[i]", L->out)
                                 : json_pack("[i, i]", L->in, L->out);
            json_array_append_new(arr, json_pack("{s:s, s:o, s:s}", "name",
                                                 name, "shape", shape, "dtype",
                                                 "float32"));
        }
    }
    return arr;
}

static json_t *s_to_json(const struct export_model *m)
{
    json_t *layers = json_array();
    json_array_append_new(layers, s_rescaling_json(m));
    for (int l = 0; l < m->nlayers; l++)
        json_array_append_new(layers, s_dense_json(&m->layers[l], l));
    json_t *topology =
        json_pack("{s:s, s:{s:s, s:o}, s:s, s:s}", "class_name", "Sequential",
                  "config", "name", "psc", "layers", layers, "keras_version",
                  "tfjs-layers 4.22.0", "backend", "tensor_flow.js");
    json_t *manifest = json_pack("[{s:[s], s:o}]", "paths", S_SHARD_FILE,
                                 "weights", s_weights_json(m));
    return json_pack("{s:s, s:s, s:n, s:o, s:o}", "format", S_FORMAT,
                     "generatedBy", "psc", "convertedBy", "modelTopology",
                     topology, "weightsManifest", manifest);
}

static int s_write_shard(const char *dir, const struct export_model *m,
                         char *err)
{
    size_t bytes = s_shard_bytes(m);
    char *buf = psc_xmalloc(bytes > 0 ? bytes : 1);
    size_t off = 0;
    for (int l = 0; l < m->nlayers; l++) {
        const struct export_layer *L = &m->layers[l];
        size_t k = s_weight_elems(L, 0) * sizeof(float);
        size_t b = s_weight_elems(L, 1) * sizeof(float);
        memcpy(buf + off, L->kernel, k);
        off += k;
        memcpy(buf + off, L->bias, b);
        off += b;
    }
    int rc = ckpt_io_write_file(dir, S_SHARD_FILE, buf, bytes, err);
    free(buf);
    return rc;
}

int export_tfjs_write(const char *dir, const struct export_model *m, char *err)
{
    char why[PSC_ERR_LEN];
    int rc = s_valid(m, why);
    if (rc != 0)
        return psc_seterr(err, rc, "cannot write a tfjs model into '%s': %s",
                          dir, why);
    rc = psc_mkdirs(dir, err);
    if (rc != 0)
        return rc;
    /* The shard first: a model.json that exists has its weights. */
    rc = s_write_shard(dir, m, err);
    if (rc != 0)
        return rc;
    json_t *root = s_to_json(m);
    char *text = root != NULL ? json_dumps(root, JSON_INDENT(1)) : NULL;
    json_decref(root);
    if (text == NULL)
        return psc_seterr(err, PSC_EIO, "cannot write '%s/%s': out of memory",
                          dir, S_MODEL_FILE);
    size_t len = strlen(text);
    text = psc_xrealloc(text, len + 2);
    text[len++] = '\n';
    text[len] = '\0';
    rc = ckpt_io_write_file(dir, S_MODEL_FILE, text, len, err);
    free(text);
    return rc;
}

/* ---- checking: each helper names the field in why ---- */

static json_t *s_get(const json_t *obj, const char *key)
{
    return json_is_object(obj) ? json_object_get(obj, key) : NULL;
}

static int s_want_str(const json_t *obj, const char *where, const char *key,
                      const char *want, char *why)
{
    const json_t *v = s_get(obj, key);
    if (!json_is_string(v))
        return psc_seterr(why, PSC_EPROTO, "%s%s is missing or not a string",
                          where, key);
    if (strcmp(json_string_value(v), want) != 0)
        return psc_seterr(why, PSC_EPROTO, "%s%s is '%.64s', not '%s'", where,
                          key, json_string_value(v), want);
    return 0;
}

static int s_want_int(const json_t *obj, const char *where, const char *key,
                      int want, char *why)
{
    const json_t *v = s_get(obj, key);
    if (!json_is_integer(v))
        return psc_seterr(why, PSC_EPROTO, "%s%s is missing or not an integer",
                          where, key);
    if (json_integer_value(v) != want)
        return psc_seterr(why, PSC_EPROTO, "%s%s is %lld, not %d", where, key,
                          (long long) json_integer_value(v), want);
    return 0;
}

/* An array under key holding exactly n elements. */
static int s_want_array(const json_t *obj, const char *where, const char *key,
                        size_t n, json_t **out, char *why)
{
    json_t *v = s_get(obj, key);
    if (!json_is_array(v))
        return psc_seterr(why, PSC_EPROTO, "%s%s is missing or not an array",
                          where, key);
    if (json_array_size(v) != n)
        return psc_seterr(why, PSC_EPROTO, "%s%s has %zu elements, not %zu",
                          where, key, json_array_size(v), n);
    *out = v;
    return 0;
}

/* A shape [dims[0], ...] of n dimensions; null is allowed where dims < 0. */
static int s_want_shape(const json_t *obj, const char *where, const char *key,
                        const int *dims, size_t n, char *why)
{
    json_t *arr = NULL;
    int rc = s_want_array(obj, where, key, n, &arr, why);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const json_t *d = json_array_get(arr, i);
        int ok = dims[i] < 0
                     ? json_is_null(d)
                     : json_is_integer(d) && json_integer_value(d) == dims[i];
        if (!ok)
            rc =
                psc_seterr(why, PSC_EPROTO, "%s%s[%zu] is not %d (the model's)",
                           where, key, i, dims[i]);
    }
    return rc;
}

static int s_check_rescaling(const json_t *layer, const struct export_model *m,
                             char *why)
{
    const char *w = "modelTopology.config.layers[0].";
    int rc = s_want_str(layer, w, "class_name", "Rescaling", why);
    if (rc != 0)
        return rc;
    const json_t *cfg = s_get(layer, "config");
    const char *wc = "modelTopology.config.layers[0].config.";
    int dims[2] = {-1, m->input_dim};
    rc = s_want_shape(cfg, wc, "batch_input_shape", dims, 2, why);
    if (rc != 0)
        return rc;
    const json_t *scale = s_get(cfg, "scale");
    const json_t *offset = s_get(cfg, "offset");
    if (!json_is_number(scale) ||
        (float) json_number_value(scale) != m->input_scale)
        return psc_seterr(why, PSC_EPROTO, "%sscale is not %.9g", wc,
                          (double) m->input_scale);
    if (!json_is_number(offset) || json_number_value(offset) != 0.0)
        return psc_seterr(why, PSC_EPROTO, "%soffset is not 0", wc);
    return 0;
}

static int s_check_dense(const json_t *layer, const struct export_layer *L,
                         int l, char *why)
{
    char w[96];
    snprintf(w, sizeof w, "modelTopology.config.layers[%d].", l + 1);
    int rc = s_want_str(layer, w, "class_name", "Dense", why);
    if (rc != 0)
        return rc;
    const json_t *cfg = s_get(layer, "config");
    char wc[104];
    snprintf(wc, sizeof wc, "%sconfig.", w);
    char name[S_WNAME_LEN];
    snprintf(name, sizeof name, "layer%d", l);
    rc = s_want_str(cfg, wc, "name", name, why);
    if (rc == 0)
        rc = s_want_int(cfg, wc, "units", L->out, why);
    if (rc == 0)
        rc = s_want_str(cfg, wc, "activation", L->relu ? "relu" : "softmax",
                        why);
    if (rc == 0 && !json_is_true(s_get(cfg, "use_bias")))
        rc = psc_seterr(why, PSC_EPROTO, "%suse_bias is not true", wc);
    return rc;
}

static int s_check_topology(const json_t *root, const struct export_model *m,
                            char *why)
{
    const json_t *top = s_get(root, "modelTopology");
    int rc = s_want_str(top, "modelTopology.", "class_name", "Sequential", why);
    if (rc != 0)
        return rc;
    json_t *layers = NULL;
    rc = s_want_array(s_get(top, "config"), "modelTopology.config.", "layers",
                      (size_t) m->nlayers + 1, &layers, why);
    if (rc == 0)
        rc = s_check_rescaling(json_array_get(layers, 0), m, why);
    for (int l = 0; rc == 0 && l < m->nlayers; l++)
        rc = s_check_dense(json_array_get(layers, (size_t) l + 1),
                           &m->layers[l], l, why);
    return rc;
}

/* The one weight entry of layer l (kernel or bias). */
static int s_check_weight(const json_t *w, const struct export_layer *L, int l,
                          int bias, size_t i, char *why)
{
    char where[64];
    snprintf(where, sizeof where, "weightsManifest[0].weights[%zu].", i);
    char name[S_WNAME_LEN];
    s_weight_name(name, l, bias);
    int rc = s_want_str(w, where, "name", name, why);
    if (rc == 0)
        rc = s_want_str(w, where, "dtype", "float32", why);
    int dims[2] = {bias ? L->out : L->in, L->out};
    if (rc == 0)
        rc = s_want_shape(w, where, "shape", dims, bias ? 1 : 2, why);
    return rc;
}

/* The manifest's one group: its weights, and its shard's name into shard. */
static int s_check_manifest(const json_t *root, const struct export_model *m,
                            const char **shard, char *why)
{
    json_t *groups = NULL;
    int rc = s_want_array(root, "", "weightsManifest", 1, &groups, why);
    if (rc != 0)
        return rc;
    const json_t *g = json_array_get(groups, 0);
    json_t *paths = NULL;
    rc = s_want_array(g, "weightsManifest[0].", "paths", 1, &paths, why);
    if (rc != 0)
        return rc;
    const json_t *p = json_array_get(paths, 0);
    if (!json_is_string(p) || strcmp(json_string_value(p), S_SHARD_FILE) != 0)
        return psc_seterr(why, PSC_EPROTO,
                          "weightsManifest[0].paths[0] is not '%s'",
                          S_SHARD_FILE);
    *shard = json_string_value(p);
    json_t *weights = NULL;
    rc = s_want_array(g, "weightsManifest[0].", "weights",
                      2 * (size_t) m->nlayers, &weights, why);
    for (int l = 0; rc == 0 && l < m->nlayers; l++)
        for (int bias = 0; rc == 0 && bias <= 1; bias++) {
            size_t i = 2 * (size_t) l + (size_t) bias;
            rc = s_check_weight(json_array_get(weights, i), &m->layers[l], l,
                                bias, i, why);
        }
    return rc;
}

static int s_check_shard(const char *dir, const char *name,
                         const struct export_model *m, char *err)
{
    char path[PATH_MAX];
    int rc = ckpt_io_path(path, sizeof path, dir, name, err);
    if (rc != 0)
        return rc;
    struct stat st;
    int src = stat(path, &st);
    if (src != 0 && errno == ENOENT)
        return psc_seterr(err, PSC_ENOTFOUND, "'%s' is missing", path);
    if (src != 0)
        return psc_seterr(err, PSC_EIO, "cannot stat '%s': %s", path,
                          strerror(errno));
    size_t want = s_shard_bytes(m);
    if (!S_ISREG(st.st_mode) || (uint64_t) st.st_size != (uint64_t) want)
        return psc_seterr(err, PSC_EPROTO,
                          "bad tfjs shard '%s': %lld bytes, the manifest "
                          "implies %zu",
                          path, (long long) st.st_size, want);
    return 0;
}

int export_tfjs_check(const char *dir, const struct export_model *m, char *err)
{
    char why[PSC_ERR_LEN];
    int rc = s_valid(m, why);
    if (rc != 0)
        return psc_seterr(err, rc, "cannot check '%s' against the model: %s",
                          dir, why);
    char path[PATH_MAX];
    rc = ckpt_io_path(path, sizeof path, dir, S_MODEL_FILE, err);
    if (rc != 0)
        return rc;
    json_t *root = NULL;
    rc = json_file_load(path, "tfjs model", "", &root, err);
    if (rc != 0)
        return rc;
    rc = s_want_str(root, "", "format", S_FORMAT, why);
    if (rc == 0)
        rc = s_check_topology(root, m, why);
    const char *shard = NULL;
    if (rc == 0)
        rc = s_check_manifest(root, m, &shard, why);
    if (rc != 0)
        psc_seterr(err, rc, "bad tfjs model '%s': %s", path, why);
    else
        rc = s_check_shard(dir, shard, m, err);
    json_decref(root);
    return rc;
}
