/*
 * The page at / (serve/page/, embedded at build time: serve_page_assets.h)
 * and what it fetches under /page/: the test images it shows (the first N
 * of --page_images, raw pixels, as JSON), which version of each model it
 * asks, TensorFlow.js (--tfjs_script) and the version's tfjs/ folder.
 */
#include "serve_page.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_num.h"
#include "serve_page_assets.h"

#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* The most images /page/images/N answers. */
#define S_MAX_IMAGES 64
/* The biggest file /page/ serves from disk (tf.min.js is about 1.4 MB). */
#define S_MAX_FILE (64L << 20)

#define S_JSON "application/json"

static void s_body(struct serve_response *rs, int status, const char *type,
                   char *body, size_t len)
{
    rs->status = status;
    rs->content_type = type;
    rs->body = body;
    rs->len = len;
}

static void s_json(struct serve_response *rs, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (text == NULL)
        text = psc_xstrdup("{}");
    s_body(rs, 200, S_JSON, text, strlen(text));
}

/* A whole file into rs (200), or a 404 naming what is missing. */
static void s_file(struct serve_response *rs, const char *path,
                   const char *type)
{
    char err[PSC_ERR_LEN + PATH_MAX];
    FILE *f = fopen(path, "rb");
    long len = -1;
    if (f != NULL && fseek(f, 0, SEEK_END) == 0)
        len = ftell(f);
    if (f == NULL || len < 0 || len > S_MAX_FILE || fseek(f, 0, SEEK_SET)) {
        snprintf(err, sizeof err, "cannot read '%s'", path);
        serve_api_error(rs, 404, err);
        if (f != NULL)
            fclose(f);
        return;
    }
    char *body = psc_xmalloc((size_t) len + 1);
    size_t got = fread(body, 1, (size_t) len, f);
    fclose(f);
    if (got != (size_t) len) {
        free(body);
        snprintf(err, sizeof err, "cannot read '%s'", path);
        serve_api_error(rs, 404, err);
        return;
    }
    s_body(rs, 200, type, body, got);
}

static uint32_t s_be32(const unsigned char *b)
{
    return (uint32_t) b[0] << 24 | (uint32_t) b[1] << 16 |
           (uint32_t) b[2] << 8 | (uint32_t) b[3];
}

/*
 * The first n images of an IDX3 file (gzipped or not): {"height": H,
 * "width": W, "images": [[H*W pixels 0..255], ...]}. Only those n are read.
 */
static json_t *s_images(const char *path, int n, char *err)
{
    unsigned char head[16];
    gzFile gz = gzopen(path, "rb");
    if (gz == NULL || gzread(gz, head, sizeof head) != (int) sizeof head ||
        s_be32(head) != 0x803) {
        snprintf(err, PSC_ERR_LEN, "'%.200s' is no IDX file of images", path);
        if (gz != NULL)
            gzclose(gz);
        return NULL;
    }
    uint32_t count = s_be32(head + 4);
    uint32_t h = s_be32(head + 8);
    uint32_t w = s_be32(head + 12);
    if (h == 0 || w == 0 || h > 1024 || w > 1024) {
        snprintf(err, PSC_ERR_LEN, "'%.200s': images of %ux%u", path, h, w);
        gzclose(gz);
        return NULL;
    }
    if ((uint32_t) n > count)
        n = (int) count;
    size_t size = (size_t) h * w;
    unsigned char *px = psc_xmalloc(size);
    json_t *images = json_array();
    for (int i = 0; i < n; i++) {
        if (gzread(gz, px, (unsigned) size) != (int) size) {
            snprintf(err, PSC_ERR_LEN, "'%.200s' ends at image %d", path, i);
            json_decref(images);
            images = NULL;
            break;
        }
        json_t *im = json_array();
        for (size_t k = 0; k < size; k++)
            json_array_append_new(im, json_integer(px[k]));
        json_array_append_new(images, im);
    }
    free(px);
    gzclose(gz);
    if (images == NULL)
        return NULL;
    return json_pack("{s:i,s:i,s:o}", "height", (int) h, "width", (int) w,
                     "images", images);
}

/* Each model, its newest loaded version (or null) and its class names. */
static json_t *s_info(struct serve_ctx *ctx)
{
    json_t *models = json_array();
    for (int i = 0; i < ctx->config->nmodels; i++) {
        const char *name = ctx->config->models[i].name;
        int status = 0;
        char err[PSC_ERR_LEN];
        const struct serve_version *v =
            serve_models_acquire(ctx->models, name, 0, NULL, &status, err);
        json_t *names = json_array();
        json_t *m = json_pack("{s:s,s:o,s:o}", "name", name, "version",
                              v != NULL ? json_integer(v->number) : json_null(),
                              "class_names", names);
        if (v != NULL) {
            for (int k = 0; k < v->model.classes; k++)
                json_array_append_new(names,
                                      json_string(v->model.class_names[k]));
            serve_models_release(ctx->models, v);
        }
        json_array_append_new(models, m);
    }
    return json_pack("{s:o}", "models", models);
}

/* A file name in a tfjs/ folder: no slash, no leading dot. */
static int s_plain_name(const char *s)
{
    if (*s == '\0' || *s == '.')
        return 0;
    for (; *s != '\0'; s++) {
        if (!(*s == '.' || *s == '_' || *s == '-' || (*s >= '0' && *s <= '9') ||
              (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
            return 0;
    }
    return 1;
}

/* "NAME/VERSION/FILE" into its parts; 0, or -1 when it is not that. */
static int s_split_model_path(const char *rest, char *name, long *version,
                              char *file)
{
    const char *a = strchr(rest, '/');
    const char *b = a != NULL ? strchr(a + 1, '/') : NULL;
    char number[32];
    if (b == NULL || a == rest || (size_t) (a - rest) >= SERVE_NAME_LEN ||
        (size_t) (b - a - 1) >= sizeof number || strlen(b + 1) >= 256 ||
        b[1] == '\0')
        return -1;
    memcpy(name, rest, (size_t) (a - rest));
    name[a - rest] = '\0';
    memcpy(number, a + 1, (size_t) (b - a - 1));
    number[b - a - 1] = '\0';
    memcpy(file, b + 1, strlen(b + 1) + 1);
    return psc_num_long(number, 1, LONG_MAX, version) == 0 ? 0 : -1;
}

/* /page/model/NAME/VERSION/FILE: FILE of that version's tfjs/ folder. */
static void s_model_file(struct serve_ctx *ctx, const char *rest,
                         struct serve_response *rs)
{
    char name[SERVE_NAME_LEN];
    char file[256];
    char err[PSC_ERR_LEN];
    long version = 0;
    if (s_split_model_path(rest, name, &version, file) != 0 ||
        !s_plain_name(file)) {
        snprintf(err, sizeof err, "Malformed request: GET /page/model/%.200s",
                 rest);
        serve_api_error(rs, 404, err);
        return;
    }
    int status = 0;
    const struct serve_version *v =
        serve_models_acquire(ctx->models, name, version, NULL, &status, err);
    if (v == NULL) {
        serve_api_error(rs, status, err);
        return;
    }
    char path[PATH_MAX + 300];
    snprintf(path, sizeof path, "%s/tfjs/%s", v->dir, file);
    serve_models_release(ctx->models, v);
    s_file(rs, path,
           strstr(file, ".json") != NULL ? S_JSON : "application/octet-stream");
}

static void s_page_images(struct serve_ctx *ctx, const char *arg,
                          struct serve_response *rs)
{
    char err[PSC_ERR_LEN];
    char *end = NULL;
    long n = strtol(arg, &end, 10);
    if (end == arg || *end != '\0' || n < 1 || n > S_MAX_IMAGES) {
        snprintf(err, sizeof err, "/page/images/N: N is 1 to %d, not '%.40s'",
                 S_MAX_IMAGES, arg);
        serve_api_error(rs, 400, err);
        return;
    }
    json_t *j = s_images(ctx->config->page_images, (int) n, err);
    if (j == NULL)
        serve_api_error(rs, 404, err);
    else
        s_json(rs, j);
}

int serve_page_handle(struct serve_ctx *ctx, const struct serve_request *rq,
                      struct serve_response *rs)
{
    const char *p = rq->path;
    if (strcmp(p, "/page/") == 0 || strcmp(p, "/page/index.html") == 0)
        p = "/";
    for (const struct serve_page_asset *a = serve_page_assets; a->path != NULL;
         a++) {
        if (strcmp(p, a->path) == 0) {
            char *body = psc_xmalloc(a->len + 1);
            memcpy(body, a->data, a->len + 1);
            s_body(rs, 200, a->content_type, body, a->len);
            return 1;
        }
    }
    if (strcmp(p, "/page/info") == 0) {
        s_json(rs, s_info(ctx));
    } else if (strncmp(p, "/page/images/", 13) == 0) {
        s_page_images(ctx, p + 13, rs);
    } else if (strcmp(p, "/page/tf.min.js") == 0) {
        if (ctx->config->tfjs_script[0] == '\0')
            serve_api_error(rs, 404, "no --tfjs_script given");
        else
            s_file(rs, ctx->config->tfjs_script, "text/javascript");
    } else if (strncmp(p, "/page/model/", 12) == 0) {
        s_model_file(ctx, p + 12, rs);
    } else {
        return 0;
    }
    return 1;
}
