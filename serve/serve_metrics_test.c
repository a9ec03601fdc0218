/*
 * Tests for the metrics: request counts by model, version, API and status,
 * latency and batch size histograms (cumulative buckets, +Inf equal to
 * _count), the loaded versions and labels, label values escaped, every
 * line of the text in the exposition format, and counts from 4 threads
 * all kept. serve_models_each() is this file's fake (the test links
 * serve_metrics.c alone, not serve_models.c).
 */
#include "serve_metrics.h"

#include "test.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

void serve_models_each(serve_models_t *s,
                       void (*fn)(void *arg, const char *model, long version,
                                  const char *label),
                       void *arg)
{
    fn(arg, "fashion", 2, NULL);
    fn(arg, "fashion", 1, NULL);
    fn(arg, "fashion", 2, "stable");
    fn(arg, "digits", 7, NULL);
}

/* The value of the sample line that starts with prefix, or -1. */
static double s_sample(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *line = text; *line != '\0';) {
        const char *end = strchr(line, '\n');
        if (end == NULL)
            end = line + strlen(line);
        if ((size_t) (end - line) > n && strncmp(line, prefix, n) == 0 &&
            line[n] == ' ')
            return strtod(line + n + 1, NULL);
        line = *end == '\n' ? end + 1 : end;
    }
    return -1;
}

static int s_name_char(char c, int first)
{
    return isalpha((unsigned char) c) || c == '_' || c == ':' ||
           (!first && isdigit((unsigned char) c));
}

/* Labels {a="v",...} at *p: names, quoted and escaped values. */
static int s_parse_labels(const char **p)
{
    const char *c = *p + 1;
    while (*c != '}') {
        if (!s_name_char(*c, 1) || *c == ':')
            return 0;
        while (s_name_char(*c, 0) && *c != ':')
            c++;
        if (c[0] != '=' || c[1] != '"')
            return 0;
        c += 2;
        while (*c != '"') {
            if (*c == '\0' || *c == '\n')
                return 0;
            if (*c == '\\') {
                if (c[1] != '\\' && c[1] != '"' && c[1] != 'n')
                    return 0;
                c++;
            }
            c++;
        }
        c++;
        if (*c == ',')
            c++;
        else if (*c != '}')
            return 0;
    }
    *p = c + 1;
    return 1;
}

/* One sample line: name{labels} value (no timestamp). */
static int s_parse_line(const char *line, size_t len)
{
    char buf[1024];
    if (len == 0 || len >= sizeof buf)
        return 0;
    memcpy(buf, line, len);
    buf[len] = '\0';
    const char *c = buf;
    if (!s_name_char(*c, 1))
        return 0;
    while (s_name_char(*c, 0))
        c++;
    if (*c == '{' && !s_parse_labels(&c))
        return 0;
    if (*c != ' ')
        return 0;
    char *end = NULL;
    strtod(c + 1, &end);
    return end != c + 1 && *end == '\0';
}

/* Every line a comment (# HELP / # TYPE) or a sample; TYPE before samples. */
static void s_check_format(const char *text)
{
    int lines = 0;
    for (const char *line = text; *line != '\0';) {
        const char *end = strchr(line, '\n');
        CHECK(end != NULL); /* the text ends with a newline */
        size_t len = (size_t) (end - line);
        if (line[0] == '#') {
            CHECK(strncmp(line, "# HELP ", 7) == 0 ||
                  strncmp(line, "# TYPE ", 7) == 0);
        } else if (!s_parse_line(line, len)) {
            fprintf(stderr, "not a sample: %.*s\n", (int) len, line);
            CHECK(0);
        }
        lines++;
        line = end + 1;
    }
    CHECK(lines > 10);
}

#define S_OK_PREDICT                                                      \
    ":tensorflow:serving:request_count{model_name=\"fashion\",version=\"" \
    "2\",API=\"predict\",entrypoint=\"REST\",status=\"OK\",code=\"200\"}"
#define S_LAT_LABELS                                                      \
    "{model_name=\"fashion\",version=\"2\",API=\"predict\",entrypoint=\"" \
    "REST\",status=\"OK\",code=\"200\""

static void test_counts(void)
{
    serve_metrics_t *m = serve_metrics_new();
    serve_metrics_request(m, "fashion", 2, "predict", 200, 0.0003);
    serve_metrics_request(m, "fashion", 2, "predict", 200, 0.002);
    serve_metrics_request(m, "fashion", 2, "predict", 200, 20.0);
    serve_metrics_request(m, "fashion", 1, "predict", 400, 0.001);
    serve_metrics_request(m, "", 0, "predict", 404, 0.0001);
    serve_metrics_request(m, "we\"ird\\", 3, "status", 503, 0.01);
    serve_metrics_batch(m, 1);
    serve_metrics_batch(m, 3);
    serve_metrics_batch(m, 32);
    serve_metrics_batch(m, 5000);
    char *text = serve_metrics_text(m, (serve_models_t *) m);
    s_check_format(text);
    CHECK_CONTAINS(text, "# TYPE :tensorflow:serving:request_count counter");
    CHECK_EQ(s_sample(text, S_OK_PREDICT), 3);
    CHECK_EQ(s_sample(text, ":tensorflow:serving:request_count{model_name="
                            "\"fashion\",version=\"1\",API=\"predict\","
                            "entrypoint=\"REST\",status=\"INVALID_ARGUMENT\","
                            "code=\"400\"}"),
             1);
    CHECK_EQ(s_sample(text, ":tensorflow:serving:request_count{model_name="
                            "\"\",version=\"\",API=\"predict\",entrypoint="
                            "\"REST\",status=\"NOT_FOUND\",code=\"404\"}"),
             1);
    CHECK_CONTAINS(text, "model_name=\"we\\\"ird\\\\\",version=\"3\","
                         "API=\"status\",entrypoint=\"REST\",status="
                         "\"UNAVAILABLE\",code=\"503\"} 1\n");

    CHECK_CONTAINS(text,
                   "# TYPE :psc:serving:request_latency_seconds histogram");
    const char *lat =
        ":psc:serving:request_latency_seconds_bucket" S_LAT_LABELS;
    char key[512];
    snprintf(key, sizeof key, "%s,le=\"0.0001\"}", lat);
    CHECK_EQ(s_sample(text, key), 0);
    snprintf(key, sizeof key, "%s,le=\"0.0005\"}", lat);
    CHECK_EQ(s_sample(text, key), 1);
    snprintf(key, sizeof key, "%s,le=\"0.0025\"}", lat);
    CHECK_EQ(s_sample(text, key), 2);
    snprintf(key, sizeof key, "%s,le=\"10\"}", lat);
    CHECK_EQ(s_sample(text, key), 2);
    snprintf(key, sizeof key, "%s,le=\"+Inf\"}", lat);
    CHECK_EQ(s_sample(text, key), 3);
    CHECK_EQ(s_sample(text,
                      ":psc:serving:request_latency_seconds_count" S_LAT_LABELS
                      "}"),
             3);
    CHECK_NEAR(s_sample(text,
                        ":psc:serving:request_latency_seconds_sum" S_LAT_LABELS
                        "}"),
               20.0023, 1e-6);
    /* The 404's 0.0001 s is in the first bucket: le is inclusive. */
    CHECK_CONTAINS(text, "status=\"NOT_FOUND\",code=\"404\",le=\"0.0001\"} 1");

    const char *bs = ":tensorflow:serving:batching:processed_batch_size";
    snprintf(key, sizeof key, "# TYPE %s histogram", bs);
    CHECK_CONTAINS(text, key);
    snprintf(key, sizeof key, "%s_bucket{le=\"1\"}", bs);
    CHECK_EQ(s_sample(text, key), 1);
    snprintf(key, sizeof key, "%s_bucket{le=\"2\"}", bs);
    CHECK_EQ(s_sample(text, key), 1);
    snprintf(key, sizeof key, "%s_bucket{le=\"4\"}", bs);
    CHECK_EQ(s_sample(text, key), 2);
    snprintf(key, sizeof key, "%s_bucket{le=\"32\"}", bs);
    CHECK_EQ(s_sample(text, key), 3);
    snprintf(key, sizeof key, "%s_bucket{le=\"1024\"}", bs);
    CHECK_EQ(s_sample(text, key), 3);
    snprintf(key, sizeof key, "%s_bucket{le=\"+Inf\"}", bs);
    CHECK_EQ(s_sample(text, key), 4);
    snprintf(key, sizeof key, "%s_count", bs);
    CHECK_EQ(s_sample(text, key), 4);
    snprintf(key, sizeof key, "%s_sum", bs);
    CHECK_EQ(s_sample(text, key), 5036);

    CHECK_CONTAINS(text, "# TYPE :psc:serving:version_loaded gauge");
    CHECK_EQ(s_sample(text, ":psc:serving:version_loaded{model_name="
                            "\"fashion\",version=\"2\"}"),
             1);
    CHECK_EQ(s_sample(text, ":psc:serving:version_loaded{model_name="
                            "\"digits\",version=\"7\"}"),
             1);
    CHECK_EQ(s_sample(text, ":psc:serving:version_label{model_name="
                            "\"fashion\",label=\"stable\",version=\"2\"}"),
             1);
    CHECK_EQ(s_sample(text, ":psc:serving:unrecorded_requests_total"), 0);
    free(text);

    /* Without models: no version lines, still well formed. */
    text = serve_metrics_text(m, NULL);
    s_check_format(text);
    CHECK(strstr(text, ":psc:serving:version_loaded{") == NULL);
    free(text);
    serve_metrics_destroy(&m);
    CHECK(m == NULL);
    serve_metrics_destroy(&m);
}

/* More keys than the table holds: the rest are counted as unrecorded. */
static void test_full_table(void)
{
    serve_metrics_t *m = serve_metrics_new();
    for (int i = 0; i < 600; i++)
        serve_metrics_request(m, "fashion", i + 1, "predict", 200, 0.001);
    char *text = serve_metrics_text(m, NULL);
    s_check_format(text);
    CHECK_EQ(s_sample(text, ":psc:serving:unrecorded_requests_total"), 88);
    free(text);
    serve_metrics_destroy(&m);
}

#define S_THREADS 4
#define S_EACH    20000

static void *s_counter(void *arg)
{
    serve_metrics_t *m = arg;
    for (int i = 0; i < S_EACH; i++) {
        /* A new series now and then, while others count. */
        long version = i % 5 == 0 ? 1 + (i / 5) % 40 : 1;
        serve_metrics_request(m, "fashion", version, "predict", 200, 0.001);
        serve_metrics_batch(m, 1 + i % 64);
    }
    return NULL;
}

static void test_threads(void)
{
    serve_metrics_t *m = serve_metrics_new();
    pthread_t th[S_THREADS];
    for (int i = 0; i < S_THREADS; i++)
        CHECK_OK(pthread_create(&th[i], NULL, s_counter, m));
    /* Read while they count. */
    for (int i = 0; i < 20; i++) {
        char *text = serve_metrics_text(m, NULL);
        s_check_format(text);
        free(text);
    }
    for (int i = 0; i < S_THREADS; i++)
        pthread_join(th[i], NULL);
    char *text = serve_metrics_text(m, NULL);
    double total = 0;
    for (long v = 1; v <= 40; v++) {
        char key[512];
        snprintf(key, sizeof key,
                 ":tensorflow:serving:request_count{model_name=\"fashion\","
                 "version=\"%ld\",API=\"predict\",entrypoint=\"REST\","
                 "status=\"OK\",code=\"200\"}",
                 v);
        double n = s_sample(text, key);
        CHECK(n > 0);
        total += n;
    }
    CHECK_EQ(total, S_THREADS * S_EACH);
    CHECK_EQ(
        s_sample(text,
                 ":tensorflow:serving:batching:processed_batch_size_count"),
        S_THREADS * S_EACH);
    free(text);
    serve_metrics_destroy(&m);
}

int main(void)
{
    test_counts();
    test_full_table();
    test_threads();
    printf("serve_metrics_test: ok\n");
    return 0;
}
