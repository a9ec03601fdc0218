/*
 * The REST API's routes and answers. A model path is parsed into its parts
 * (name, version or label, what is asked), each endpoint answers from the
 * models, and every request is counted in the metrics. Error wording is
 * TF Serving's where it has one (model_servers/http_rest_api_handler.cc).
 */
#include "serve_api.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_time.h"
#include "serve_body.h"
#include "serve_instances.h"
#include "serve_page.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows one predict request may carry (about 200 MB of JSON at 784). */
#define S_MAX_ROWS 65536

#define S_JSON    "application/json"
#define S_METRICS "text/plain; version=0.0.4"
#define S_PREFIX  "/v1/models/"

enum s_verb { S_STATUS, S_METADATA, S_PREDICT };

/* A model path: /v1/models/NAME[/versions/N|/labels/L][:predict|/metadata]. */
struct s_route {
    char name[SERVE_NAME_LEN];
    long version; /* 0: none named */
    char label[SERVE_NAME_LEN];
    enum s_verb verb;
};

/* Where the request ended up, for the metrics. */
struct s_seen {
    const char *endpoint;
    char model[SERVE_NAME_LEN];
    long version;
};

void serve_response_release(struct serve_response *rs)
{
    free(rs->body);
    memset(rs, 0, sizeof *rs);
}

/* rs takes j's text; j is released. */
static void s_json(struct serve_response *rs, int status, json_t *j)
{
    rs->status = status;
    rs->content_type = S_JSON;
    rs->body = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9));
    if (rs->body == NULL)
        rs->body = psc_xstrdup("{}");
    rs->len = strlen(rs->body);
    json_decref(j);
}

/* rs takes text. */
static void s_text(struct serve_response *rs, int status, const char *type,
                   char *text)
{
    rs->status = status;
    rs->content_type = type;
    rs->body = text;
    rs->len = strlen(text);
}

void serve_api_error(struct serve_response *rs, int status, const char *message)
{
    s_json(rs, status, json_pack("{s:s}", "error", message));
}

/* Copies the path segment at *p up to one of stop into out. */
static int s_segment(const char **p, const char *stop, char *out, size_t size)
{
    size_t n = strcspn(*p, stop);
    if (n == 0 || n >= size)
        return PSC_EINVAL;
    memcpy(out, *p, n);
    out[n] = '\0';
    *p += n;
    return 0;
}

/*
 * Parses a path under /v1/models/. Returns 0, PSC_ENOTFOUND for a path
 * that is no model path, or PSC_EINVAL with err (TF Serving's words) for
 * a version that is no number.
 */
static int s_route(const char *path, struct s_route *r, char *err)
{
    memset(r, 0, sizeof *r);
    const char *p = path + strlen(S_PREFIX);
    char seg[SERVE_NAME_LEN];
    if (s_segment(&p, "/:", r->name, sizeof r->name) != 0)
        return PSC_ENOTFOUND;
    if (strncmp(p, "/versions/", 10) == 0) {
        p += 10;
        if (s_segment(&p, "/:", seg, sizeof seg) != 0)
            return PSC_ENOTFOUND;
        char *end;
        errno = 0;
        r->version = strtol(seg, &end, 10);
        if (*end != '\0' || errno != 0 || r->version < 1 || seg[0] == '+')
            return psc_seterr(err, PSC_EINVAL,
                              "Failed to convert version: %s to numeric.", seg);
    } else if (strncmp(p, "/labels/", 8) == 0) {
        p += 8;
        if (s_segment(&p, "/:", r->label, sizeof r->label) != 0)
            return PSC_ENOTFOUND;
    }
    if (*p == '\0')
        r->verb = S_STATUS;
    else if (strcmp(p, "/metadata") == 0)
        r->verb = S_METADATA;
    else if (strcmp(p, ":predict") == 0)
        r->verb = S_PREDICT;
    else
        return PSC_ENOTFOUND;
    return 0;
}

static json_t *s_tensor_info(const char *name, int dim)
{
    char size[24];
    snprintf(size, sizeof size, "%d", dim);
    return json_pack("{s:s, s:{s:[{s:s, s:s}, {s:s, s:s}], s:b}, s:s}", "dtype",
                     "DT_FLOAT", "tensor_shape", "dim", "size", "-1", "name",
                     "", "size", size, "name", "", "unknown_rank", 0, "name",
                     name);
}

/* TF Serving's GetModelMetadata answer: the one signature, serving_default. */
static json_t *s_metadata(const struct serve_version *v)
{
    char version[24];
    snprintf(version, sizeof version, "%ld", v->number);
    json_t *sig =
        json_pack("{s:{s:o}, s:{s:o}, s:s}", "inputs", EXPORT_INPUT_NAME,
                  s_tensor_info(EXPORT_INPUT_NAME ":0", v->model.input_dim),
                  "outputs", EXPORT_OUTPUT_NAME,
                  s_tensor_info(EXPORT_OUTPUT_NAME ":0", v->model.classes),
                  "method_name", "tensorflow/serving/predict");
    return json_pack("{s:{s:s, s:s, s:s}, s:{s:{s:{s:o}}}}", "model_spec",
                     "name", v->model_name, "signature_name", "", "version",
                     version, "metadata", "signature_def", "signature_def",
                     "serving_default", sig);
}

/* Parses the body, predicts (batched or not) and writes the answer. */
static void s_predict(struct serve_ctx *ctx, const struct serve_version *v,
                      const struct serve_request *rq, struct serve_response *rs)
{
    char err[PSC_ERR_LEN];
    struct serve_input in;
    int rc =
        serve_body_parse(&in, rq->body, rq->len, &v->model, S_MAX_ROWS, err);
    if (rc != 0) {
        serve_api_error(rs, 400, err);
        return;
    }
    size_t n = (size_t) in.rows * v->model.classes;
    float *probs = psc_xmalloc(n * sizeof *probs);
    rc = serve_batcher_predict(ctx->batcher, v, in.x, in.rows, probs, err);
    if (rc == 0)
        s_text(
            rs, 200, S_JSON,
            serve_body_answer(probs, in.rows, v->model.classes, in.columnar));
    else if (rc == PSC_EAGAIN)
        serve_api_error(rs, 503, err);
    else if (rc == PSC_EINTR)
        serve_api_error(rs, 503, "the server is stopping");
    else
        serve_api_error(rs, 500, err);
    free(probs);
    serve_input_release(&in);
}

/* GET /v1/models/NAME[/versions/N|/labels/L]: TF Serving's GetModelStatus. */
static void s_status(struct serve_ctx *ctx, const struct s_route *r,
                     const struct serve_version *v, struct serve_response *rs)
{
    char err[PSC_ERR_LEN];
    int status = 500;
    long version = v != NULL ? v->number : r->version;
    json_t *j =
        serve_models_status(ctx->models, r->name, version, &status, err);
    if (j == NULL)
        serve_api_error(rs, status, err);
    else
        s_json(rs, 200, j);
}

static void s_model(struct serve_ctx *ctx, const struct serve_request *rq,
                    struct serve_response *rs, struct s_seen *seen)
{
    struct s_route r;
    char err[PSC_ERR_LEN];
    int rc = s_route(rq->path, &r, err);
    if (rc == PSC_ENOTFOUND) {
        snprintf(err, sizeof err, "Malformed request: %s %.200s", rq->method,
                 rq->path);
        serve_api_error(rs, 404, err);
        return;
    }
    seen->endpoint = r.verb == S_PREDICT    ? "predict"
                     : r.verb == S_METADATA ? "metadata"
                                            : "status";
    if (rc != 0) {
        serve_api_error(rs, 400, err);
        return;
    }
    const char *want = r.verb == S_PREDICT ? "POST" : "GET";
    if (strcmp(rq->method, want) != 0) {
        snprintf(err, sizeof err, "Malformed request: %s %.200s", rq->method,
                 rq->path);
        serve_api_error(rs, 405, err);
        return;
    }
    if (serve_config_model(ctx->config, r.name) != NULL)
        snprintf(seen->model, sizeof seen->model, "%s", r.name);
    if (r.verb == S_STATUS && r.label[0] == '\0') {
        s_status(ctx, &r, NULL, rs);
        seen->version = r.version;
        return;
    }
    int status = 404;
    const struct serve_version *v =
        serve_models_acquire(ctx->models, r.name, r.version,
                             r.label[0] != '\0' ? r.label : NULL, &status, err);
    if (v == NULL) {
        serve_api_error(rs, status, err);
        return;
    }
    seen->version = v->number;
    if (r.verb == S_PREDICT)
        s_predict(ctx, v, rq, rs);
    else if (r.verb == S_METADATA)
        s_json(rs, 200, s_metadata(v));
    else
        s_status(ctx, &r, v, rs);
    serve_models_release(ctx->models, v);
}

/* The paths outside /v1/models/: health, metrics, the page. */
static void s_other(struct serve_ctx *ctx, const struct serve_request *rq,
                    struct serve_response *rs, struct s_seen *seen)
{
    const char *p = rq->path;
    int health = strcmp(p, "/healthz") == 0 || strcmp(p, "/readyz") == 0;
    int metrics = strcmp(p, "/monitoring/prometheus/metrics") == 0;
    int page = strcmp(p, "/") == 0 || strncmp(p, "/page/", 6) == 0;
    char err[PSC_ERR_LEN];
    seen->endpoint = health ? "health" : metrics ? "metrics" : "page";
    if (!health && !metrics && !page) {
        seen->endpoint = "other";
        snprintf(err, sizeof err, "Malformed request: %s %.200s", rq->method,
                 p);
        serve_api_error(rs, 404, err);
    } else if (strcmp(rq->method, "GET") != 0 &&
               strcmp(rq->method, "HEAD") != 0) {
        snprintf(err, sizeof err, "Malformed request: %s %.200s", rq->method,
                 p);
        serve_api_error(rs, 405, err);
    } else if (strcmp(p, "/healthz") == 0) {
        s_json(rs, 200, json_pack("{s:s}", "status", "live"));
    } else if (health && serve_models_ready(ctx->models)) {
        s_json(rs, 200, json_pack("{s:s}", "status", "ready"));
    } else if (health) {
        serve_api_error(rs, 503, "not ready: a model has no version loaded");
    } else if (metrics) {
        s_text(rs, 200, S_METRICS,
               serve_metrics_text(ctx->metrics, ctx->models));
    } else if (!serve_page_handle(ctx, rq, rs)) {
        snprintf(err, sizeof err, "Malformed request: %s %.200s", rq->method,
                 p);
        serve_api_error(rs, 404, err);
    }
}

void serve_api_handle(struct serve_ctx *ctx, const struct serve_request *rq,
                      struct serve_response *rs)
{
    double t0 = psc_now();
    struct s_seen seen = {"other", "", 0};
    memset(rs, 0, sizeof *rs);
    if (strcmp(rq->path, "/v1/models") == 0 ||
        strcmp(rq->path, S_PREFIX) == 0) {
        seen.endpoint = "status";
        serve_api_error(rs, 400, "Missing model name in request.");
    } else if (strncmp(rq->path, S_PREFIX, strlen(S_PREFIX)) == 0) {
        s_model(ctx, rq, rs, &seen);
    } else {
        s_other(ctx, rq, rs, &seen);
    }
    serve_metrics_request(ctx->metrics, seen.model, seen.version, seen.endpoint,
                          rs->status, psc_now() - t0);
}
