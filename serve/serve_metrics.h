/*
 * psc-serve's Prometheus metrics, in the text exposition format at
 * /monitoring/prometheus/metrics (TF Serving's path): requests by model,
 * version, endpoint and HTTP status; a request latency histogram; a batch
 * size histogram; the versions loaded. Thread-safe; counting is lock-free
 * on the request path.
 */
#ifndef SERVE_METRICS_H
#define SERVE_METRICS_H

#include "serve_models.h"

typedef struct serve_metrics serve_metrics_t;

serve_metrics_t *serve_metrics_new(void);
void serve_metrics_destroy(serve_metrics_t **p);

/*
 * One request done: model and version "" / 0 when it named none that
 * exists; endpoint "predict", "status", "metadata", "health", "metrics",
 * "page" or "other".
 */
void serve_metrics_request(serve_metrics_t *m, const char *model, long version,
                           const char *endpoint, int status, double seconds);

/* One batch of rows run through OpenBLAS. */
void serve_metrics_batch(serve_metrics_t *m, int rows);

/* The exposition text, with the loaded versions from models. Caller frees. */
char *serve_metrics_text(serve_metrics_t *m, serve_models_t *models);

#endif
