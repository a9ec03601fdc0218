/*
 * libmicrohttpd under the REST API. Each connection's body is collected in
 * its con_cls buffer; the last call of the access handler for a request
 * hands method, path and body to serve_api_handle() and queues its answer.
 * Keep-alive is MHD's default for HTTP/1.1, which load generators (wrk)
 * and clients (requests.Session) rely on.
 */
#include "serve_http.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "psc_time.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Seconds an idle connection is kept (TF Serving's REST timeout is 30 s). */
#define S_CONNECTION_TIMEOUT 30

/* With batching, at most this many HTTP threads by default. */
#define S_MAX_BATCH_THREADS 64

struct serve_http {
    struct MHD_Daemon *daemon;
    struct serve_ctx *ctx;
    int port;
    char start_error[PSC_ERR_LEN]; /* MHD's last message while starting */
    atomic_int started;            /* set once the daemon runs */
};

/* One request's body, in the connection's con_cls. */
struct s_upload {
    char *buf;
    size_t len;
    size_t cap;
    int too_big;    /* beyond max_request_bytes: the rest is dropped */
    size_t dropped; /* bytes dropped since */
    double t0;
};

/*
 * MHD's messages: kept while starting (the reason a bind failed goes into
 * serve_http_start()'s err), logged afterwards.
 */
static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    serve_http_t *h = cls;
    char line[PSC_ERR_LEN];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    if (!h->started)
        snprintf(h->start_error, sizeof h->start_error, "%s", line);
    else
        psc_log_warn("http: %s", line);
}

/* Queues rs (its body handed to MHD, which frees it) with its status. */
static enum MHD_Result s_queue(struct MHD_Connection *c,
                               struct serve_response *rs)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        rs->len, rs->body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        serve_response_release(rs);
        return MHD_NO;
    }
    rs->body = NULL;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rs->content_type);
    enum MHD_Result ok = MHD_queue_response(c, (unsigned) rs->status, r);
    MHD_destroy_response(r);
    return ok;
}

/* 413 for a body beyond max_request_bytes, counted like any request. */
static enum MHD_Result s_too_big(serve_http_t *h, struct MHD_Connection *c,
                                 const char *url, double t0)
{
    char msg[PSC_ERR_LEN];
    struct serve_response rs = {0};
    snprintf(msg, sizeof msg,
             "request body is larger than max_request_bytes (%ld bytes)",
             h->ctx->config->max_request_bytes);
    serve_api_error(&rs, 413, msg);
    size_t n = strlen(url);
    int predict = n >= 8 && strcmp(url + n - 8, ":predict") == 0;
    serve_metrics_request(h->ctx->metrics, "", 0, predict ? "predict" : "other",
                          413, psc_now() - t0);
    return s_queue(c, &rs);
}

/* Appends data to u, or drops it once the body is too big. */
static enum MHD_Result s_collect(serve_http_t *h, struct s_upload *u,
                                 const char *data, size_t size)
{
    size_t max = (size_t) h->ctx->config->max_request_bytes;
    if (!u->too_big && size > max - u->len)
        u->too_big = 1;
    if (u->too_big) {
        /*
         * MHD cannot answer in the middle of an upload, so the 413 waits
         * for its end; a client that goes on sending for as much again is
         * cut off instead.
         */
        u->dropped += size;
        return u->dropped > max ? MHD_NO : MHD_YES;
    }
    if (u->len + size > u->cap) {
        u->cap = u->cap * 2 > u->len + size ? u->cap * 2 : u->len + size;
        u->cap = u->cap < max ? u->cap : max;
        u->buf = psc_xrealloc(u->buf, u->cap);
    }
    memcpy(u->buf + u->len, data, size);
    u->len += size;
    return MHD_YES;
}

/*
 * MHD calls this once with the headers, once per piece of body, and once
 * at the end; the answer is queued at the end, or at once for a
 * Content-Length already too big (MHD then drops the body and closes).
 */
static enum MHD_Result s_access(void *cls, struct MHD_Connection *c,
                                const char *url, const char *method,
                                const char *version, const char *data,
                                size_t *size, void **con_cls)
{
    serve_http_t *h = cls;
    struct s_upload *u = *con_cls;
    if (u == NULL) {
        u = psc_xcalloc(1, sizeof *u);
        u->t0 = psc_now();
        *con_cls = u;
        const char *cl = MHD_lookup_connection_value(
            c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL &&
            strtoull(cl, NULL, 10) >
                (unsigned long long) h->ctx->config->max_request_bytes)
            return s_too_big(h, c, url, u->t0);
        return MHD_YES;
    }
    if (*size > 0) {
        enum MHD_Result ok = s_collect(h, u, data, *size);
        *size = 0;
        return ok;
    }
    if (u->too_big)
        return s_too_big(h, c, url, u->t0);
    struct serve_request rq = {method, url, u->buf != NULL ? u->buf : "",
                               u->len};
    struct serve_response rs;
    serve_api_handle(h->ctx, &rq, &rs);
    return s_queue(c, &rs);
}

static void s_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                        enum MHD_RequestTerminationCode why)
{
    struct s_upload *u = *con_cls;
    if (u == NULL)
        return;
    free(u->buf);
    free(u);
    *con_cls = NULL;
}

/*
 * HTTP threads: rest_api_num_threads, else one per core. With batching a
 * handler waits for its batch to fill and run, holding its pool thread
 * (and every connection that thread polls), so a batch of max_batch_size
 * rows needs that many requests in flight at once: then 4 x
 * max_batch_size threads, at most 64, and never fewer than the cores.
 */
static unsigned s_threads(const struct serve_config *c)
{
    if (c->rest_api_num_threads > 0)
        return (unsigned) c->rest_api_num_threads;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long n = cores > 0 ? cores : 1;
    if (c->batching.enabled) {
        long want = 4 * c->batching.max_batch_size;
        want = want < S_MAX_BATCH_THREADS ? want : S_MAX_BATCH_THREADS;
        n = want > n ? want : n;
    }
    return (unsigned) n;
}

serve_http_t *serve_http_start(struct serve_ctx *ctx, char *err)
{
    const struct serve_config *c = ctx->config;
    if (c->rest_api_port < 0 || c->rest_api_port > 65535) {
        psc_seterr(err, PSC_ECONFIG, "--rest_api_port %d is out of range",
                   c->rest_api_port);
        return NULL;
    }
    serve_http_t *h = psc_xcalloc(1, sizeof *h);
    h->ctx = ctx;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES
                 ? MHD_USE_EPOLL
                 : MHD_USE_POLL;
    unsigned threads = s_threads(c);
    h->daemon = MHD_start_daemon(
        flags, (uint16_t) c->rest_api_port, NULL, NULL, s_access, h,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, h, MHD_OPTION_THREAD_POOL_SIZE,
        threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) S_CONNECTION_TIMEOUT,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL, MHD_OPTION_END);
    if (h->daemon == NULL) {
        psc_seterr(err, PSC_ENET, "cannot listen on '0.0.0.0:%d': %s",
                   c->rest_api_port,
                   h->start_error[0] != '\0' ? h->start_error
                                             : "libmicrohttpd refused");
        free(h);
        return NULL;
    }
    h->started = 1;
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info != NULL ? info->port : c->rest_api_port;
    psc_log_info("http: %u threads (%s)", threads,
                 flags & MHD_USE_EPOLL ? "epoll" : "poll");
    return h;
}

int serve_http_port(const serve_http_t *h)
{
    return h->port;
}

void serve_http_stop(serve_http_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    MHD_stop_daemon((*p)->daemon);
    free(*p);
    *p = NULL;
}
