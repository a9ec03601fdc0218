/*
 * psc-serve: psc's exports behind TensorFlow Serving's REST API (the same
 * flags, paths, bodies and errors), or batch prediction of a JSON Lines
 * file with --batch IN --out OUT.
 * Exit status: 0 (stopped by SIGINT/SIGTERM, or a batch run done), 1 when
 * serving cannot start or a batch run fails, 2 for usage and
 * configuration errors.
 */
#include "psc_err.h"
#include "psc_log.h"
#include "psc_sig.h"
#include "serve_api.h"
#include "serve_batch.h"
#include "serve_config.h"
#include "serve_http.h"
#include "serve_jsonl.h"
#include "serve_metrics.h"
#include "serve_models.h"

#include <cblas.h>
#include <stdio.h>
#include <time.h>

#define S_EXIT_FAIL  1
#define S_EXIT_USAGE 2

/* How often the main thread looks for a stop signal. */
#define S_STOP_POLL_NS 100000000L

static void s_on_batch(void *arg, int rows)
{
    serve_metrics_batch(arg, rows);
}

static void s_loaded(void *arg, const char *model, long version,
                     const char *label)
{
    if (label != NULL)
        psc_log_info("model '%s': label '%s' is version %ld", model, label,
                     version);
    else
        psc_log_info("model '%s': version %ld loaded", model, version);
}

static void s_wait_for_stop(void)
{
    struct timespec ts = {0, S_STOP_POLL_NS};
    while (psc_sig_stop_requested() == 0)
        nanosleep(&ts, NULL);
}

/* The server proper, from its models on; returns the exit status. */
static int s_serve(const struct serve_config *c, serve_models_t *models)
{
    char err[PSC_ERR_LEN];
    serve_metrics_t *metrics = serve_metrics_new();
    serve_batcher_t *batcher =
        serve_batcher_new(&c->batching, s_on_batch, metrics);
    struct serve_ctx ctx = {c, models, batcher, metrics};
    serve_http_t *http = NULL;
    int rc = serve_models_start(models, err);
    if (rc == 0) {
        http = serve_http_start(&ctx, err);
        rc = http != NULL ? 0 : PSC_ENET;
    }
    if (rc == 0) {
        for (int i = 0; i < c->nmodels; i++)
            psc_log_info("serving %s on port %d (REST)", c->models[i].name,
                         serve_http_port(http));
        s_wait_for_stop();
        psc_log_info("stopping on signal %d", psc_sig_stop_requested());
    } else {
        psc_log_err("%s", err);
    }
    /* HTTP first: its handlers may be waiting for a batch. */
    serve_http_stop(&http);
    serve_batcher_destroy(&batcher);
    serve_metrics_destroy(&metrics);
    return rc == 0 ? 0 : S_EXIT_FAIL;
}

int main(int argc, char **argv)
{
    struct serve_config c;
    char err[PSC_ERR_LEN] = "";
    psc_log_set_ident("psc-serve");
    if (serve_config_parse(&c, argc, argv, err) != 0) {
        fprintf(stderr, "psc-serve: %s\n", err);
        return S_EXIT_USAGE;
    }
    if (c.help) {
        serve_config_usage(stdout);
        return 0;
    }
    psc_sig_install();
    /*
     * One OpenBLAS thread per process, as every psc role runs by default
     * (the job's blas_threads): the HTTP and batch threads are the
     * parallelism, and BLAS threads of their own would fight them.
     */
    openblas_set_num_threads(1);
    serve_models_t *models = serve_models_new(&c);
    serve_models_poll(models);
    serve_models_each(models, s_loaded, NULL);
    int status = c.batch_in[0] != '\0' ? serve_jsonl_run(&c, models)
                                       : s_serve(&c, models);
    serve_models_destroy(&models);
    return status;
}
