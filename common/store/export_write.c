/*
 * Writing a version folder: weights, model.onnx and tfjs/ into a
 * temporary folder, then model.json (which lists the SHA-256 of every
 * other file), then the rename that makes the version appear whole.
 */
#include "export.h"

#include "ckpt_io.h"
#include "export_internal.h"
#include "export_onnx.h"
#include "export_tfjs.h"
#include "psc_err.h"
#include "psc_fs.h"
#include "psc_json.h"
#include "sha256.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the export format is little-endian; add byte swapping here"
#endif

/* Version numbers tried before giving up on a base others keep filling. */
#define S_TRIES 100

void export__kernel_file(const struct export_model *m, int l, char *out)
{
    snprintf(out, EXPORT_NAME_LEN, "layer%d_kernel.%s", l,
             m->dtype == EXPORT_INT8 ? "int8" : "f32");
}

void export__bias_file(int l, char *out)
{
    snprintf(out, EXPORT_NAME_LEN, "layer%d_bias.f32", l);
}

void export__scale_file(int l, char *out)
{
    snprintf(out, EXPORT_NAME_LEN, "layer%d_kernel_scale.f32", l);
}

static json_t *s_shape2(long a, long b)
{
    return json_pack("[I, I]", (json_int_t) a, (json_int_t) b);
}

static json_t *s_array_json(const char *file, const char *dtype, json_t *shape)
{
    return json_pack("{s:s, s:s, s:o}", "file", file, "dtype", dtype, "shape",
                     shape);
}

static json_t *s_layer_json(const struct export_model *m, int l)
{
    const struct export_layer *L = &m->layers[l];
    char kfile[EXPORT_NAME_LEN];
    char bfile[EXPORT_NAME_LEN];
    char name[EXPORT_NAME_LEN];
    export__kernel_file(m, l, kfile);
    export__bias_file(l, bfile);
    snprintf(name, sizeof name, "layer%d", l);
    int q = m->dtype == EXPORT_INT8;
    json_t *kernel =
        s_array_json(kfile, q ? "int8" : "float32", s_shape2(L->in, L->out));
    if (q) {
        char sfile[EXPORT_NAME_LEN];
        export__scale_file(l, sfile);
        json_object_set_new(
            kernel, "scale",
            s_array_json(sfile, "float32", json_pack("[i]", L->out)));
    }
    return json_pack("{s:s, s:s, s:i, s:s, s:o, s:o}", "name", name, "type",
                     "dense", "units", L->out, "activation",
                     L->relu ? "relu" : "softmax", "kernel", kernel, "bias",
                     s_array_json(bfile, "float32", json_pack("[i]", L->out)));
}

static json_t *s_training_json(const struct export_model *m)
{
    char fp[17];
    snprintf(fp, sizeof fp, "%016" PRIx64, m->fingerprint);
    json_t *eval = json_null();
    if (m->has_eval) {
        eval = json_object();
        psc_json_set_real(eval, "accuracy", m->accuracy);
        psc_json_set_real(eval, "loss", m->loss);
    }
    return json_pack("{s:s, s:I, s:s, s:s, s:o}", "model", m->model_kind,
                     "step", (json_int_t) m->step, "run_id", m->run_id,
                     "fingerprint", fp, "eval", eval);
}

static json_t *s_manifest_json(const struct export_model *m)
{
    json_t *input = json_pack(
        "{s:s, s:s, s:o, s:o, s:{s:s, s:f, s:s}}", "name", EXPORT_INPUT_NAME,
        "dtype", "float32", "shape", s_shape2(-1, m->input_dim), "image_shape",
        s_shape2(m->height, m->width), "preprocessing", "op", "scale", "scale",
        (double) m->input_scale, "description",
        "raw pixel values 0..255 times scale, as in training");
    json_t *names = json_array();
    for (int c = 0; c < m->classes; c++)
        json_array_append_new(names, json_string(m->class_names[c]));
    json_t *output = json_pack("{s:s, s:s, s:o, s:o}", "name",
                               EXPORT_OUTPUT_NAME, "dtype", "float32", "shape",
                               s_shape2(-1, m->classes), "class_names", names);
    json_t *layers = json_array();
    for (int l = 0; l < m->nlayers; l++)
        json_array_append_new(layers, s_layer_json(m, l));
    return json_pack("{s:s, s:i, s:s, s:[o], s:o, s:[o], s:o}", "format",
                     "psc-export", "format_version", EXPORT_FORMAT_VERSION,
                     "quantization", m->dtype == EXPORT_INT8 ? "int8" : "none",
                     "inputs", input, "layers", layers, "outputs", output,
                     "training", s_training_json(m));
}

static int s_write_weights(const char *dir, const struct export_model *m,
                           char *err)
{
    for (int l = 0; l < m->nlayers; l++) {
        const struct export_layer *L = &m->layers[l];
        size_t n = (size_t) L->in * L->out;
        char name[EXPORT_NAME_LEN];
        int rc = 0;
        export__kernel_file(m, l, name);
        if (m->dtype == EXPORT_INT8)
            rc = ckpt_io_write_file(dir, name, L->qkernel, n, err);
        else
            rc = ckpt_io_write_file(dir, name, L->kernel, n * 4, err);
        if (rc == 0 && m->dtype == EXPORT_INT8) {
            export__scale_file(l, name);
            rc = ckpt_io_write_file(dir, name, L->scale, (size_t) L->out * 4,
                                    err);
        }
        if (rc == 0) {
            export__bias_file(l, name);
            rc = ckpt_io_write_file(dir, name, L->bias, (size_t) L->out * 4,
                                    err);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Adds every regular file of dir/sub (sub "" for dir) to files. */
static int s_hash_folder(const char *dir, const char *sub, json_t *files,
                         char *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s%s", dir, *sub ? "/" : "", sub);
    DIR *d = opendir(path);
    if (d == NULL)
        return psc_seterr(err, PSC_EIO, "cannot list '%s': %s", path,
                          strerror(errno));
    int rc = 0;
    const struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        char rel[PATH_MAX];
        char file[PATH_MAX];
        char hex[SHA256_HEX_LEN + 1];
        struct stat st;
        int n = snprintf(rel, sizeof rel, "%s%s%s", sub, *sub ? "/" : "",
                         e->d_name);
        int m = snprintf(file, sizeof file, "%s/%s", dir, rel);
        if (n < 0 || (size_t) n >= sizeof rel || m < 0 ||
            (size_t) m >= sizeof file)
            rc = psc_seterr(err, PSC_EINVAL, "path '%s/%s' is too long", path,
                            e->d_name);
        if (rc != 0 || e->d_name[0] == '.' || stat(file, &st) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        rc = sha256_file(file, hex, err);
        if (rc == 0)
            json_object_set_new(files, rel,
                                json_pack("{s:I, s:s}", "bytes",
                                          (json_int_t) st.st_size, "sha256",
                                          hex));
    }
    closedir(d);
    return rc;
}

static int s_write_manifest(const char *dir, const struct export_model *m,
                            char *err)
{
    json_t *root = s_manifest_json(m);
    json_t *files = json_object();
    int rc = s_hash_folder(dir, "", files, err);
    if (rc == 0)
        rc = s_hash_folder(dir, EXPORT__TFJS, files, err);
    json_object_set_new(root, "files", files);
    char *text = rc == 0 ? json_dumps(root, JSON_INDENT(2)) : NULL;
    json_decref(root);
    if (rc != 0)
        return rc;
    rc = ckpt_io_write_file(dir, EXPORT__MANIFEST, text, strlen(text), err);
    free(text);
    return rc;
}

static int s_build(const char *dir, const struct export_model *m, char *err)
{
    char tfjs[PATH_MAX];
    int n = snprintf(tfjs, sizeof tfjs, "%s/%s", dir, EXPORT__TFJS);
    if (n < 0 || (size_t) n >= sizeof tfjs)
        return psc_seterr(err, PSC_EINVAL, "path '%s' is too long", dir);
    if (psc_mkdirs(dir, err) != 0)
        return PSC_EIO;
    int rc = s_write_weights(dir, m, err);
    if (rc == 0)
        rc = export_onnx_write(dir, m, err);
    if (rc == 0)
        rc = export_tfjs_write(tfjs, m, err);
    if (rc == 0)
        rc = ckpt_io_sync_dir(tfjs, err);
    if (rc == 0)
        rc = s_write_manifest(dir, m, err);
    return rc;
}

/* Removes dir and the files in it and in its sub-folders, one level deep. */
static void s_remove_tree(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && depth > 0)
            s_remove_tree(path, depth - 1);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Renames tmp to the first free version from *v on. */
static int s_publish(const char *base, const char *tmp, long v, char *version,
                     char *err)
{
    for (int i = 0; i < S_TRIES; i++, v++) {
        char path[PATH_MAX];
        export__version_name(v, version);
        snprintf(path, sizeof path, "%s/%s", base, version);
        if (rename(tmp, path) == 0)
            return ckpt_io_sync_dir(base, err);
        if (errno != EEXIST && errno != ENOTEMPTY)
            return psc_seterr(err, PSC_EIO, "cannot rename '%s' to '%s': %s",
                              tmp, path, strerror(errno));
    }
    return psc_seterr(err, PSC_EIO,
                      "no free version under '%s' after %d tries: another "
                      "writer keeps taking them",
                      base, S_TRIES);
}

int export_write(const char *base, const struct export_model *m, char *version,
                 char *err)
{
    long highest = 0;
    char name[EXPORT_VERSION_LEN];
    if (psc_mkdirs(base, err) != 0)
        return PSC_EIO;
    int rc = export__highest_version(base, &highest, name, err);
    if (rc != 0)
        return rc;
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s/.tmp-%04ld-%ld", base, highest + 1,
                     (long) getpid());
    if (n < 0 || (size_t) n >= sizeof tmp - EXPORT_NAME_LEN)
        return psc_seterr(err, PSC_EINVAL, "export folder '%s' is too long",
                          base);
    s_remove_tree(tmp, 1);
    rc = s_build(tmp, m, err);
    if (rc == 0)
        rc = s_publish(base, tmp, highest + 1, version, err);
    if (rc != 0)
        s_remove_tree(tmp, 1);
    return rc;
}
