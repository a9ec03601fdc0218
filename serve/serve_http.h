/*
 * The HTTP server under the REST API: libmicrohttpd with a thread pool
 * (rest_api_num_threads, default one per core), bodies collected up to
 * max_request_bytes (beyond: 413 at once), each request handed to
 * serve_api_handle(). Stops on SIGINT/SIGTERM.
 */
#ifndef SERVE_HTTP_H
#define SERVE_HTTP_H

#include "serve_api.h"

typedef struct serve_http serve_http_t;

/* Listens on 0.0.0.0:port (0: any free port; serve_http_port() says which). */
serve_http_t *serve_http_start(struct serve_ctx *ctx, char *err);
int serve_http_port(const serve_http_t *h);
void serve_http_stop(serve_http_t **p);

#endif
