/*
 * serve_models: versions written by export_write() appear on a poll; a
 * request holds its version across a swap and its release frees it; a
 * corrupt version is refused once while the previous one serves; labels,
 * TF Serving's status JSON and its 404 wording; the poll thread.
 */
#include "serve_models.h"

#include "ckpt_fixture.h"
#include "export.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "test.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The log lines the manager wrote, for checks on what it said. */
static pthread_mutex_t s_log_mu = PTHREAD_MUTEX_INITIALIZER;
static char s_log[1 << 16];

static void s_sink(void *arg, enum psc_log_level level, const char *line)
{
    pthread_mutex_lock(&s_log_mu);
    size_t n = strlen(s_log);
    snprintf(s_log + n, sizeof s_log - n, "%s\n", line);
    pthread_mutex_unlock(&s_log_mu);
}

static void s_log_clear(void)
{
    pthread_mutex_lock(&s_log_mu);
    s_log[0] = '\0';
    pthread_mutex_unlock(&s_log_mu);
}

static int s_log_count(const char *needle)
{
    int n = 0;
    pthread_mutex_lock(&s_log_mu);
    for (const char *p = strstr(s_log, needle); p != NULL;
         p = strstr(p + 1, needle))
        n++;
    pthread_mutex_unlock(&s_log_mu);
    return n;
}

static double s_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec + (double) t.tv_nsec * 1e-9;
}

/* Writes the next version under base: a 784 -> 10 softmax whose step is
 * step; its name goes to version. */
static void s_export(const char *base, uint64_t step, char *version)
{
    struct export_model m;
    memset(&m, 0, sizeof m);
    m.dtype = EXPORT_F32;
    m.height = 28;
    m.width = 28;
    m.input_dim = 784;
    m.input_scale = 1.0f / 255.0f;
    m.classes = 10;
    for (int c = 0; c < 10; c++)
        snprintf(m.class_names[c], EXPORT_NAME_LEN, "class%d", c);
    m.nlayers = 1;
    m.layers[0].in = 784;
    m.layers[0].out = 10;
    m.layers[0].relu = 0;
    m.layers[0].kernel = psc_xmalloc(784 * 10 * sizeof(float));
    m.layers[0].bias = psc_xmalloc(10 * sizeof(float));
    for (int i = 0; i < 784 * 10; i++)
        m.layers[0].kernel[i] = (float) ((i * 7 + (int) step) % 13) * 0.01f;
    for (int i = 0; i < 10; i++)
        m.layers[0].bias[i] = (float) i * 0.1f;
    snprintf(m.model_kind, sizeof m.model_kind, "softmax");
    snprintf(m.run_id, sizeof m.run_id, "run-%llu", (unsigned long long) step);
    m.step = step;
    m.fingerprint = 0x1234;
    char err[PSC_ERR_LEN] = "";
    int rc = export_write(base, &m, version, err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    CHECK_OK(rc);
    export_model_release(&m);
}

static char *s_status(serve_models_t *s, const char *name, long version)
{
    int status = 0;
    char err[PSC_ERR_LEN] = "";
    json_t *j = serve_models_status(s, name, version, &status, err);
    CHECK(j != NULL);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return text;
}

static void s_not_found(serve_models_t *s, const char *name, long version,
                        const char *label, const char *want)
{
    int status = 0;
    char err[PSC_ERR_LEN] = "";
    CHECK(serve_models_acquire(s, name, version, label, &status, err) == NULL);
    CHECK_EQ(status, 404);
    CHECK_STR(err, want);
}

static long s_latest(serve_models_t *s, const char *name)
{
    int status = 0;
    char err[PSC_ERR_LEN] = "";
    const struct serve_version *v =
        serve_models_acquire(s, name, 0, NULL, &status, err);
    long n = v != NULL ? v->number : -1;
    serve_models_release(s, v);
    return n;
}

static void s_model(struct serve_config *c, const char *name, const char *base)
{
    struct serve_model_config *m = &c->models[c->nmodels++];
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    snprintf(m->base_path, sizeof m->base_path, "%s", base);
    m->policy = SERVE_LATEST;
    m->num_versions = 1;
}

static void test_swap(const char *dir)
{
    char base[4096];
    snprintf(base, sizeof base, "%s/fashion", dir);
    struct serve_config c;
    memset(&c, 0, sizeof c);
    c.poll_wait_s = 1;
    s_model(&c, "fashion", base);
    serve_models_t *s = serve_models_new(&c);
    char err[PSC_ERR_LEN] = "";
    int status = 0;

    serve_models_poll(s); /* no base path yet */
    CHECK_EQ(serve_models_ready(s), 0);
    s_not_found(s, "fashion", 0, NULL,
                "Servable not found for request: Latest(fashion)");
    CHECK(serve_models_status(s, "fashion", 0, &status, err) == NULL);
    CHECK_EQ(status, 404);
    CHECK_STR(err, "Could not find any versions of model fashion");

    char version[EXPORT_VERSION_LEN];
    s_export(base, 1, version);
    CHECK_STR(version, "0001");
    /* Neither a half-written version nor other names are versions. */
    char other[4200];
    snprintf(other, sizeof other, "%s/.tmp-0009-1", base);
    CHECK(mkdir(other, 0777) == 0);
    snprintf(other, sizeof other, "%s/latest", base);
    CHECK(mkdir(other, 0777) == 0);
    snprintf(other, sizeof other, "%s/0000", base);
    int fd = open(other, O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    close(fd);

    serve_models_poll(s);
    CHECK_EQ(serve_models_ready(s), 1);
    const struct serve_version *v1 =
        serve_models_acquire(s, "fashion", 0, NULL, &status, err);
    CHECK(v1 != NULL);
    CHECK_EQ(v1->number, 1);
    CHECK_STR(v1->model_name, "fashion");
    CHECK_EQ(v1->model.step, 1);
    CHECK_CONTAINS(v1->dir, "/fashion/0001");
    char *text = s_status(s, "fashion", 0);
    CHECK_STR(text, "{\"model_version_status\":[{\"version\":\"1\",\"state\":"
                    "\"AVAILABLE\",\"status\":{\"error_code\":\"OK\","
                    "\"error_message\":\"\"}}]}");
    free(text);

    /* 0002 appears: new requests get it; v1 lives until released. */
    s_export(base, 2, version);
    s_log_clear();
    serve_models_poll(s);
    CHECK_EQ(s_latest(s, "fashion"), 2);
    CHECK_EQ(v1->number, 1);
    CHECK_EQ(v1->model.step, 1);
    CHECK_NEAR(v1->model.layers[0].kernel[1], 0.08f, 1e-6);
    CHECK_EQ(s_log_count("unloading version 1 of 'fashion' once"), 1);
    CHECK_EQ(s_log_count("freed version 1 of 'fashion'"), 0);
    s_not_found(s, "fashion", 1, NULL,
                "Servable not found for request: Specific(fashion, 1)");
    serve_models_release(s, v1);
    CHECK_EQ(s_log_count("freed version 1 of 'fashion'"), 1);
    text = s_status(s, "fashion", 0);
    CHECK_STR(text, "{\"model_version_status\":[{\"version\":\"2\",\"state\":"
                    "\"AVAILABLE\",\"status\":{\"error_code\":\"OK\","
                    "\"error_message\":\"\"}},{\"version\":\"1\",\"state\":"
                    "\"END\",\"status\":{\"error_code\":\"OK\","
                    "\"error_message\":\"\"}}]}");
    free(text);
    text = s_status(s, "fashion", 2);
    CHECK_STR(text, "{\"model_version_status\":[{\"version\":\"2\",\"state\":"
                    "\"AVAILABLE\",\"status\":{\"error_code\":\"OK\","
                    "\"error_message\":\"\"}}]}");
    free(text);
    CHECK(serve_models_status(s, "fashion", 7, &status, err) == NULL);
    CHECK_STR(err, "Could not find version 7 of model fashion");
    CHECK(serve_models_status(s, "nope", 0, &status, err) == NULL);
    CHECK_STR(err, "Could not find any versions of model nope");

    /* A corrupt 0003: refused once, 0002 serves on. */
    s_export(base, 3, version);
    char kernel[4300];
    snprintf(kernel, sizeof kernel, "%s/0003/layer0_kernel.f32", base);
    fx_flip(kernel, 100);
    s_log_clear();
    serve_models_poll(s);
    serve_models_poll(s);
    CHECK_EQ(s_latest(s, "fashion"), 2);
    CHECK_EQ(s_log_count("refusing version 3 of 'fashion': "), 1);
    CHECK_EQ(s_log_count("; still serving version 2"), 1);
    text = s_status(s, "fashion", 3);
    CHECK_CONTAINS(text, "\"version\":\"3\",\"state\":\"END\",\"status\":{"
                         "\"error_code\":\"DATA_LOSS\",\"error_message\":");
    CHECK_CONTAINS(text, "layer0_kernel.f32");
    free(text);
    /* Its folder changes: tried again (and refused again). */
    char v3[4200];
    snprintf(v3, sizeof v3, "%s/0003", base);
    struct timespec times[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
    CHECK(utimensat(AT_FDCWD, v3, times, 0) == 0);
    serve_models_poll(s);
    CHECK_EQ(s_log_count("refusing version 3 of 'fashion': "), 2);
    CHECK_EQ(s_latest(s, "fashion"), 2);

    /* Removed: 0003 then 0002; 0001 is the newest left and loads. */
    fx_rmtree(v3);
    snprintf(v3, sizeof v3, "%s/0002", base);
    fx_rmtree(v3);
    serve_models_poll(s);
    CHECK_EQ(s_latest(s, "fashion"), 1);
    s_not_found(s, "nope", 0, NULL,
                "Servable not found for request: Latest(nope)");
    s_not_found(s, "nope", 4, NULL,
                "Servable not found for request: Specific(nope, 4)");
    serve_models_destroy(&s);
    CHECK(s == NULL);
    serve_models_destroy(&s);
}

struct s_seen {
    int versions;
    int labels;
    long stable;
};

static void s_each(void *arg, const char *model, long version,
                   const char *label)
{
    struct s_seen *seen = arg;
    CHECK_STR(model, "digits");
    if (label == NULL) {
        seen->versions++;
    } else {
        seen->labels++;
        if (strcmp(label, "stable") == 0)
            seen->stable = version;
    }
}

static void test_labels(const char *dir)
{
    char base[4096];
    snprintf(base, sizeof base, "%s/digits", dir);
    char version[EXPORT_VERSION_LEN];
    for (int i = 1; i <= 3; i++)
        s_export(base, (uint64_t) i, version);
    struct serve_config c;
    memset(&c, 0, sizeof c);
    c.poll_wait_s = 1;
    s_model(&c, "digits", base);
    struct serve_model_config *m = &c.models[0];
    m->policy = SERVE_SPECIFIC;
    m->versions[0] = 1;
    m->versions[1] = 2;
    m->nversions = 2;
    m->labels[0] = (struct serve_label){"stable", 1};
    m->labels[1] = (struct serve_label){"canary", 2};
    m->nlabels = 2;
    serve_models_t *s = serve_models_new(&c);
    serve_models_poll(s);
    int status = 0;
    char err[PSC_ERR_LEN] = "";
    const struct serve_version *v =
        serve_models_acquire(s, "digits", 0, "stable", &status, err);
    CHECK(v != NULL);
    CHECK_EQ(v->number, 1);
    serve_models_release(s, v);
    v = serve_models_acquire(s, "digits", 0, "canary", &status, err);
    CHECK(v != NULL);
    CHECK_EQ(v->number, 2);
    serve_models_release(s, v);
    CHECK_EQ(s_latest(s, "digits"), 2); /* 0003 is not in the policy */
    s_not_found(s, "digits", 3, NULL,
                "Servable not found for request: Specific(digits, 3)");
    s_not_found(s, "digits", 0, "nope",
                "Unrecognized servable version label: nope");
    s_not_found(s, "other", 0, "stable",
                "Unrecognized servable version label: stable");
    struct s_seen seen = {0};
    serve_models_each(s, s_each, &seen);
    CHECK_EQ(seen.versions, 2);
    CHECK_EQ(seen.labels, 2);
    CHECK_EQ(seen.stable, 1);
    char *text = s_status(s, "digits", 0);
    CHECK_CONTAINS(text, "[{\"version\":\"2\",\"state\":\"AVAILABLE\"");
    CHECK_CONTAINS(text, "},{\"version\":\"1\",\"state\":\"AVAILABLE\"");
    free(text);

    /* The labeled version's folder goes: the label finds nothing. */
    char v2[4200];
    snprintf(v2, sizeof v2, "%s/0002", base);
    fx_rmtree(v2);
    serve_models_poll(s);
    s_not_found(s, "digits", 0, "canary",
                "Servable not found for request: Specific(digits, 2)");
    memset(&seen, 0, sizeof seen);
    serve_models_each(s, s_each, &seen);
    CHECK_EQ(seen.versions, 1);
    CHECK_EQ(seen.labels, 1);
    serve_models_destroy(&s);
}

static void test_latest_n(const char *dir)
{
    char base[4096];
    snprintf(base, sizeof base, "%s/two", dir);
    char version[EXPORT_VERSION_LEN];
    for (int i = 1; i <= 4; i++)
        s_export(base, (uint64_t) i, version);
    char kernel[4300];
    snprintf(kernel, sizeof kernel, "%s/0004/layer0_kernel.f32", base);
    fx_flip(kernel, 0);
    struct serve_config c;
    memset(&c, 0, sizeof c);
    c.poll_wait_s = 1;
    s_model(&c, "two", base);
    c.models[0].num_versions = 2;
    serve_models_t *s = serve_models_new(&c);
    serve_models_poll(s);
    /* The two newest that load: 0003 and 0002. */
    int status = 0;
    char err[PSC_ERR_LEN] = "";
    CHECK_EQ(s_latest(s, "two"), 3);
    const struct serve_version *v =
        serve_models_acquire(s, "two", 2, NULL, &status, err);
    CHECK(v != NULL);
    serve_models_release(s, v);
    s_not_found(s, "two", 1, NULL,
                "Servable not found for request: Specific(two, 1)");
    serve_models_destroy(&s);
}

struct s_reader {
    serve_models_t *s;
    int stop; /* under mu */
    pthread_mutex_t mu;
    long requests;
};

static void *s_read_main(void *arg)
{
    struct s_reader *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        int stop = r->stop;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            break;
        int status = 0;
        char err[PSC_ERR_LEN];
        const struct serve_version *v =
            serve_models_acquire(r->s, "live", 0, NULL, &status, err);
        if (v != NULL) {
            /* The version stays whole while held. */
            CHECK(v->model.layers[0].kernel != NULL);
            CHECK_EQ(v->model.step, (uint64_t) v->number);
            serve_models_release(r->s, v);
        }
        r->requests++;
    }
    return NULL;
}

static void test_thread(const char *dir)
{
    char base[4096];
    snprintf(base, sizeof base, "%s/live", dir);
    char version[EXPORT_VERSION_LEN];
    s_export(base, 1, version);
    struct serve_config c;
    memset(&c, 0, sizeof c);
    c.poll_wait_s = 0.02;
    s_model(&c, "live", base);
    serve_models_t *s = serve_models_new(&c);
    serve_models_poll(s);
    char err[PSC_ERR_LEN] = "";
    CHECK_OK(serve_models_start(s, err));
    struct s_reader r = {.s = s};
    pthread_mutex_init(&r.mu, NULL);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, s_read_main, &r) == 0);
    double limit = 5.0 * psc_test_time_scale();
    for (long want = 2; want <= 4; want++) {
        s_export(base, (uint64_t) want, version);
        double until = s_now() + limit;
        while (s_latest(s, "live") != want && s_now() < until)
            nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL);
        CHECK_EQ(s_latest(s, "live"), want);
    }
    pthread_mutex_lock(&r.mu);
    r.stop = 1;
    pthread_mutex_unlock(&r.mu);
    CHECK(pthread_join(t, NULL) == 0);
    pthread_mutex_destroy(&r.mu);
    CHECK(r.requests > 0);
    serve_models_destroy(&s);

    /* A long poll wait: destroy wakes the thread at once. */
    c.poll_wait_s = 60;
    s = serve_models_new(&c);
    CHECK_OK(serve_models_start(s, err));
    double t0 = s_now();
    serve_models_destroy(&s);
    CHECK(s_now() - t0 < 2.0 * psc_test_time_scale());
}

/* text into path by a rename over it, as an editor or a deployer writes. */
static void s_write_config(const char *path, const char *text)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    CHECK(f != NULL);
    fputs(text, f);
    CHECK_EQ(fclose(f), 0);
    CHECK_EQ(rename(tmp, path), 0);
}

static long s_labeled(serve_models_t *s, const char *label)
{
    int status = 0;
    char err[PSC_ERR_LEN] = "";
    const struct serve_version *v =
        serve_models_acquire(s, "relabel", 0, label, &status, err);
    long n = v != NULL ? v->number : -1;
    serve_models_release(s, v);
    return n;
}

/* The config file read again: relabel, a bad file and a new model refused. */
static void test_reconfigure(const char *dir)
{
    char base[2048];
    char path[2100];
    char text[9000];
    snprintf(base, sizeof base, "%s/relabel", dir);
    snprintf(path, sizeof path, "%s/models.config", dir);
    char version[EXPORT_VERSION_LEN];
    for (int i = 1; i <= 3; i++)
        s_export(base, (uint64_t) i, version);
    static const char form[] =
        "model_config_list { config { name: 'relabel' base_path: '%s' "
        "model_platform: 'tensorflow' model_version_policy { %s } "
        "version_labels { key: 'stable' value: %d } "
        "version_labels { key: 'canary' value: %d } } }\n";
    snprintf(text, sizeof text, form, base,
             "specific { versions: 1 versions: 2 }", 1, 2);
    s_write_config(path, text);
    struct serve_config c;
    memset(&c, 0, sizeof c);
    c.poll_wait_s = 1;
    snprintf(c.model_config_file, sizeof c.model_config_file, "%s", path);
    char err[PSC_ERR_LEN] = "";
    CHECK_OK(serve_config_read_models(path, &c, err));
    serve_models_t *s = serve_models_new(&c);
    serve_models_poll(s);
    CHECK_EQ(s_labeled(s, "stable"), 1);
    CHECK_EQ(s_labeled(s, "canary"), 2);
    serve_models_reconfigure(s); /* unchanged: nothing is read */
    CHECK_EQ(s_log_count("config reloaded"), 0);

    /* Promote the canary: stable -> 2, canary -> 3 under an all policy. */
    snprintf(text, sizeof text, form, base, "all { }", 2, 3);
    s_write_config(path, text);
    serve_models_reconfigure(s);
    CHECK_EQ(s_log_count("config reloaded"), 1);
    CHECK_EQ(s_labeled(s, "stable"), 2);
    CHECK_EQ(s_labeled(s, "canary"), -1); /* 0003 loads at the next poll */
    serve_models_poll(s);
    CHECK_EQ(s_labeled(s, "canary"), 3);
    CHECK_EQ(s_latest(s, "relabel"), 3);

    /* A file that does not parse, and one with another model, are refused. */
    s_write_config(path, "model_config_list { config { name: 'relabel' ");
    serve_models_reconfigure(s);
    CHECK_EQ(s_log_count("the config in force stays"), 1);
    snprintf(text, sizeof text,
             "model_config_list { config { name: 'relabel' base_path: '%s' "
             "model_version_policy { all { } } } config { name: 'other' "
             "base_path: '%s' } }\n",
             base, base);
    s_write_config(path, text);
    serve_models_reconfigure(s);
    CHECK_EQ(s_log_count("adding a model needs a restart"), 1);
    CHECK_EQ(s_labeled(s, "stable"), 2);

    /* Rollback by relabel: stable back to 1. */
    snprintf(text, sizeof text, form, base, "all { }", 1, 3);
    s_write_config(path, text);
    serve_models_reconfigure(s);
    CHECK_EQ(s_labeled(s, "stable"), 1);
    serve_models_destroy(&s);
}

int main(void)
{
    psc_log_set_sink(s_sink, NULL);
    psc_log_set_level(PSC_LOG_DEBUG);
    char *dir = fx_tmpdir();
    test_swap(dir);
    test_labels(dir);
    test_reconfigure(dir);
    test_latest_n(dir);
    test_thread(dir);
    fx_rmtree(dir);
    free(dir);
    psc_log_set_sink(NULL, NULL);
    printf("serve_models_test: ok\n");
    return 0;
}
