/*
 * TF Serving's REST API over psc's exports, apart from the HTTP library:
 * a request (method, path, body) in, a response (status, JSON body) out.
 *   POST /v1/models/NAME[/versions/N|/labels/L]:predict
 *   GET  /v1/models/NAME[/versions/N|/labels/L][/metadata]
 *   GET  /healthz, /readyz, /monitoring/prometheus/metrics, / (the page)
 * Errors are {"error": "..."} with TF Serving's status codes.
 */
#ifndef SERVE_API_H
#define SERVE_API_H

#include "serve_batch.h"
#include "serve_metrics.h"
#include "serve_models.h"

#include <stddef.h>

struct serve_ctx {
    const struct serve_config *config;
    serve_models_t *models;
    serve_batcher_t *batcher;
    serve_metrics_t *metrics;
};

struct serve_request {
    const char *method;
    const char *path; /* without the query string */
    const char *body;
    size_t len;
};

struct serve_response {
    int status;
    const char *content_type; /* static */
    char *body;               /* malloc'd; serve_response_release() */
    size_t len;
};

/* Answers rq; records it in ctx->metrics. Never fails: errors are answers. */
void serve_api_handle(struct serve_ctx *ctx, const struct serve_request *rq,
                      struct serve_response *rs);

/* Fills rs with {"error": message} and status. */
void serve_api_error(struct serve_response *rs, int status,
                     const char *message);

void serve_response_release(struct serve_response *rs);

#endif
