/*
 * The metrics: a fixed table of request series keyed by (model, version,
 * endpoint, status), each a latency histogram whose bucket counts are
 * atomics. A series is added under the lock the first time its key is
 * seen and published by a release store of the table's length, so the
 * request path after that is a scan and relaxed atomic adds. Names follow
 * TF Serving's where the meaning is the same (:tensorflow:serving:...,
 * its /tensorflow/serving/... names as its Prometheus exporter spells
 * them); psc's own metrics are :psc:serving:....
 */
#include "serve_metrics.h"

#include "psc_alloc.h"
#include "psc_log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_SERIES    512
#define S_ENDPOINT_LEN  16
#define S_LAT_BUCKETS   16
#define S_BATCH_BUCKETS 11 /* 1, 2, 4, ..., 1024 */

#define S_REQUEST_COUNT ":tensorflow:serving:request_count"
#define S_LATENCY       ":psc:serving:request_latency_seconds"
#define S_BATCH_SIZE    ":tensorflow:serving:batching:processed_batch_size"
#define S_LOADED        ":psc:serving:version_loaded"
#define S_LABEL         ":psc:serving:version_label"
#define S_UNRECORDED    ":psc:serving:unrecorded_requests_total"

/* Upper bounds of the latency buckets, in seconds; +Inf follows. */
static const double s_latency_le[S_LAT_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};

/* The key is written before the series is published and never after. */
struct series {
    uint64_t hash;
    char model[SERVE_NAME_LEN];
    long version;
    char endpoint[S_ENDPOINT_LEN];
    int status;
    atomic_uint_fast64_t buckets[S_LAT_BUCKETS + 1]; /* not cumulative */
    atomic_uint_fast64_t sum_ns;
};

struct serve_metrics {
    pthread_mutex_t mu; /* held to add a series */
    atomic_int nseries; /* published series; release on add */
    struct series series[S_MAX_SERIES];
    atomic_uint_fast64_t unrecorded; /* requests the full table missed */
    atomic_uint_fast64_t batch_buckets[S_BATCH_BUCKETS + 1];
    atomic_uint_fast64_t batch_rows;
};

serve_metrics_t *serve_metrics_new(void)
{
    struct serve_metrics *m = psc_xcalloc(1, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

void serve_metrics_destroy(serve_metrics_t **p)
{
    struct serve_metrics *m = p != NULL ? *p : NULL;
    if (m == NULL)
        return;
    pthread_mutex_destroy(&m->mu);
    free(m);
    *p = NULL;
}

/* FNV-1a over the key. */
static uint64_t s_hash(const char *model, long version, const char *endpoint,
                       int status)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *c = model; *c != '\0'; c++)
        h = (h ^ (unsigned char) *c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    for (const char *c = endpoint; *c != '\0'; c++)
        h = (h ^ (unsigned char) *c) * 1099511628211ull;
    h = (h ^ (uint64_t) version) * 1099511628211ull;
    return (h ^ (uint64_t) status) * 1099511628211ull;
}

static int s_same(const struct series *s, uint64_t hash, const char *model,
                  long version, const char *endpoint, int status)
{
    return s->hash == hash && s->version == version && s->status == status &&
           strcmp(s->model, model) == 0 && strcmp(s->endpoint, endpoint) == 0;
}

static struct series *s_scan(struct serve_metrics *m, int from, int n,
                             uint64_t hash, const char *model, long version,
                             const char *endpoint, int status)
{
    for (int i = from; i < n; i++)
        if (s_same(&m->series[i], hash, model, version, endpoint, status))
            return &m->series[i];
    return NULL;
}

/* The series for the key, added on first use; NULL when the table is full. */
static struct series *s_find(struct serve_metrics *m, const char *model,
                             long version, const char *endpoint, int status)
{
    uint64_t hash = s_hash(model, version, endpoint, status);
    int n = atomic_load_explicit(&m->nseries, memory_order_acquire);
    struct series *s = s_scan(m, 0, n, hash, model, version, endpoint, status);
    if (s != NULL)
        return s;
    pthread_mutex_lock(&m->mu);
    int now = atomic_load_explicit(&m->nseries, memory_order_relaxed);
    s = s_scan(m, n, now, hash, model, version, endpoint, status);
    if (s == NULL && now < S_MAX_SERIES) {
        s = &m->series[now];
        s->hash = hash;
        snprintf(s->model, sizeof s->model, "%s", model);
        s->version = version;
        snprintf(s->endpoint, sizeof s->endpoint, "%s", endpoint);
        s->status = status;
        atomic_store_explicit(&m->nseries, now + 1, memory_order_release);
    }
    pthread_mutex_unlock(&m->mu);
    return s;
}

void serve_metrics_request(serve_metrics_t *m, const char *model, long version,
                           const char *endpoint, int status, double seconds)
{
    /* Keys are compared as stored: cut to the table's lengths first. */
    char mk[SERVE_NAME_LEN];
    char ek[S_ENDPOINT_LEN];
    snprintf(mk, sizeof mk, "%s", model != NULL ? model : "");
    snprintf(ek, sizeof ek, "%s", endpoint != NULL ? endpoint : "other");
    struct series *s = s_find(m, mk, version, ek, status);
    if (s == NULL) {
        atomic_fetch_add_explicit(&m->unrecorded, 1, memory_order_relaxed);
        return;
    }
    if (!(seconds >= 0))
        seconds = 0;
    int b = 0;
    while (b < S_LAT_BUCKETS && seconds > s_latency_le[b])
        b++;
    atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_ns, (uint_fast64_t) (seconds * 1e9),
                              memory_order_relaxed);
}

void serve_metrics_batch(serve_metrics_t *m, int rows)
{
    int b = 0;
    while (b < S_BATCH_BUCKETS && rows > (1 << b))
        b++;
    atomic_fetch_add_explicit(&m->batch_buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->batch_rows, (uint_fast64_t) rows,
                              memory_order_relaxed);
}

/* TF Serving's status for an HTTP status (its error code's name). */
static const char *s_status_name(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "INVALID_ARGUMENT";
    case 401:
        return "UNAUTHENTICATED";
    case 403:
        return "PERMISSION_DENIED";
    case 404:
        return "NOT_FOUND";
    case 405:
    case 501:
        return "UNIMPLEMENTED";
    case 409:
        return "ALREADY_EXISTS";
    case 412:
        return "FAILED_PRECONDITION";
    case 413:
    case 429:
        return "RESOURCE_EXHAUSTED";
    case 499:
        return "CANCELLED";
    case 500:
        return "INTERNAL";
    case 503:
        return "UNAVAILABLE";
    case 504:
        return "DEADLINE_EXCEEDED";
    default:
        return status >= 400 && status < 500 ? "INVALID_ARGUMENT" : "UNKNOWN";
    }
}

/* A label value, escaped as the text format wants (\\, \", \n). */
static void s_value(FILE *f, const char *v)
{
    for (const char *c = v; *c != '\0'; c++) {
        if (*c == '\\' || *c == '"')
            fprintf(f, "\\%c", *c);
        else if (*c == '\n')
            fputs("\\n", f);
        else
            fputc(*c, f);
    }
}

static void s_version(FILE *f, long version)
{
    if (version > 0)
        fprintf(f, "%ld", version);
}

/* The labels of a series, without braces. */
static void s_labels(FILE *f, const struct series *s)
{
    fputs("model_name=\"", f);
    s_value(f, s->model);
    fputs("\",version=\"", f);
    s_version(f, s->version);
    fputs("\",API=\"", f);
    s_value(f, s->endpoint);
    fprintf(f, "\",entrypoint=\"REST\",status=\"%s\",code=\"%d\"",
            s_status_name(s->status), s->status);
}

static void s_family(FILE *f, const char *name, const char *type,
                     const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Reads a series' buckets once, so that its lines agree with each other. */
static uint64_t s_snapshot(const struct series *s, uint64_t *b)
{
    uint64_t total = 0;
    for (int i = 0; i <= S_LAT_BUCKETS; i++) {
        b[i] = atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        total += b[i];
    }
    return total;
}

static void s_requests(FILE *f, struct serve_metrics *m)
{
    int n = atomic_load_explicit(&m->nseries, memory_order_acquire);
    uint64_t b[S_LAT_BUCKETS + 1];
    s_family(f, S_REQUEST_COUNT, "counter",
             "The total number of requests, by model, version, API and "
             "HTTP status.");
    for (int i = 0; i < n; i++) {
        uint64_t total = s_snapshot(&m->series[i], b);
        fprintf(f, "%s{", S_REQUEST_COUNT);
        s_labels(f, &m->series[i]);
        fprintf(f, "} %llu\n", (unsigned long long) total);
    }
    s_family(f, S_LATENCY, "histogram",
             "Request latency in seconds, from the request's arrival to its "
             "answer.");
    for (int i = 0; i < n; i++) {
        const struct series *s = &m->series[i];
        uint64_t total = s_snapshot(s, b);
        uint64_t cum = 0;
        for (int k = 0; k <= S_LAT_BUCKETS; k++) {
            cum += b[k];
            fprintf(f, "%s_bucket{", S_LATENCY);
            s_labels(f, s);
            if (k < S_LAT_BUCKETS)
                fprintf(f, ",le=\"%g\"} %llu\n", s_latency_le[k],
                        (unsigned long long) cum);
            else
                fprintf(f, ",le=\"+Inf\"} %llu\n", (unsigned long long) cum);
        }
        uint64_t ns = atomic_load_explicit(&s->sum_ns, memory_order_relaxed);
        fprintf(f, "%s_sum{", S_LATENCY);
        s_labels(f, s);
        fprintf(f, "} %.9f\n%s_count{", (double) ns / 1e9, S_LATENCY);
        s_labels(f, s);
        fprintf(f, "} %llu\n", (unsigned long long) total);
    }
    s_family(f, S_UNRECORDED, "counter",
             "Requests not counted above: the table of series was full.");
    fprintf(f, "%s %llu\n", S_UNRECORDED,
            (unsigned long long) atomic_load_explicit(&m->unrecorded,
                                                      memory_order_relaxed));
}

static void s_batches(FILE *f, struct serve_metrics *m)
{
    s_family(f, S_BATCH_SIZE, "histogram",
             "Rows per OpenBLAS batch (one export_predict call).");
    uint64_t cum = 0;
    for (int k = 0; k <= S_BATCH_BUCKETS; k++) {
        cum += atomic_load_explicit(&m->batch_buckets[k], memory_order_relaxed);
        if (k < S_BATCH_BUCKETS)
            fprintf(f, "%s_bucket{le=\"%d\"} %llu\n", S_BATCH_SIZE, 1 << k,
                    (unsigned long long) cum);
        else
            fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", S_BATCH_SIZE,
                    (unsigned long long) cum);
    }
    fprintf(f, "%s_sum %llu\n%s_count %llu\n", S_BATCH_SIZE,
            (unsigned long long) atomic_load_explicit(&m->batch_rows,
                                                      memory_order_relaxed),
            S_BATCH_SIZE, (unsigned long long) cum);
}

/* Two streams, so that each family's lines stay together. */
struct loaded {
    FILE *versions;
    FILE *labels;
};

static void s_loaded_one(void *arg, const char *model, long version,
                         const char *label)
{
    struct loaded *l = arg;
    FILE *f = label != NULL ? l->labels : l->versions;
    fprintf(f, "%s{model_name=\"", label != NULL ? S_LABEL : S_LOADED);
    s_value(f, model);
    if (label != NULL) {
        fputs("\",label=\"", f);
        s_value(f, label);
    }
    fputs("\",version=\"", f);
    s_version(f, version);
    fputs("\"} 1\n", f);
}

static FILE *s_open(char **buf, size_t *len)
{
    FILE *f = open_memstream(buf, len);
    if (f == NULL) {
        psc_log_err("cannot open a memory stream: out of memory");
        abort();
    }
    return f;
}

/* Appends the text of stream (closed here) to f. */
static void s_append(FILE *f, FILE *stream, char **buf, size_t *len)
{
    fclose(stream);
    fwrite(*buf, 1, *len, f);
    free(*buf);
    *buf = NULL;
}

static void s_versions(FILE *f, serve_models_t *models)
{
    char *vb = NULL;
    char *lb = NULL;
    size_t vlen = 0;
    size_t llen = 0;
    struct loaded l = {s_open(&vb, &vlen), s_open(&lb, &llen)};
    if (models != NULL)
        serve_models_each(models, s_loaded_one, &l);
    s_family(f, S_LOADED, "gauge",
             "1 for each model version loaded and serving.");
    s_append(f, l.versions, &vb, &vlen);
    s_family(f, S_LABEL, "gauge",
             "1 for each version label, on the version it points at.");
    s_append(f, l.labels, &lb, &llen);
}

char *serve_metrics_text(serve_metrics_t *m, serve_models_t *models)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = s_open(&text, &len);
    s_requests(f, m);
    s_batches(f, m);
    s_versions(f, models);
    if (fclose(f) != 0) {
        psc_log_err("cannot write the metrics: out of memory");
        abort();
    }
    return text;
}
