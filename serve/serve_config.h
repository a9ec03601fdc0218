/*
 * psc-serve's configuration: TensorFlow Serving's flags (--model_name,
 * --model_base_path, --rest_api_port, --model_config_file,
 * --file_system_poll_wait_seconds, --enable_batching,
 * --batching_parameters_file, ...) with its defaults, plus psc's own
 * (--batch/--out for batch prediction). A --model_config_file is TF
 * Serving's text-format ModelServerConfig (model_config_list { config {
 * name, base_path, model_platform, model_version_policy { latest |
 * all | specific }, version_labels } }); a --batching_parameters_file its
 * text-format BatchingParameters (max_batch_size { value: N } ...).
 * Parsed once in main(); immutable afterwards (serve_models.c keeps its
 * own copy of each model's config, which a reload of the file changes).
 */
#ifndef SERVE_CONFIG_H
#define SERVE_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>

#define SERVE_MAX_MODELS   16
#define SERVE_MAX_VERSIONS 64
#define SERVE_MAX_LABELS   16
#define SERVE_NAME_LEN     64

enum serve_policy { SERVE_LATEST = 0, SERVE_ALL, SERVE_SPECIFIC };

struct serve_label {
    char label[SERVE_NAME_LEN];
    long version;
};

struct serve_model_config {
    char name[SERVE_NAME_LEN];
    char base_path[PATH_MAX];
    enum serve_policy policy;
    int num_versions;                  /* SERVE_LATEST: how many (1) */
    long versions[SERVE_MAX_VERSIONS]; /* SERVE_SPECIFIC */
    int nversions;
    struct serve_label labels[SERVE_MAX_LABELS];
    int nlabels;
};

struct serve_batching {
    int enabled;               /* --enable_batching */
    long max_batch_size;       /* rows per OpenBLAS call (32) */
    long batch_timeout_micros; /* how long a batch waits to fill (1000) */
    long num_batch_threads;    /* threads running batches (cores) */
    long max_enqueued_batches; /* queue bound; beyond it: 503 (100) */
};

struct serve_config {
    int rest_api_port;        /* 8501 */
    int rest_api_num_threads; /* HTTP threads (0: one per core) */
    long max_request_bytes;   /* bigger bodies get 413 (16 MiB) */
    double poll_wait_s;       /* --file_system_poll_wait_seconds (1) */
    char model_config_file[PATH_MAX];
    /* --model_config_file_poll_wait_seconds (0: the file is read once). */
    double config_poll_wait_s;
    int nmodels;
    struct serve_model_config models[SERVE_MAX_MODELS];
    struct serve_batching batching;
    /* Batch prediction instead of a server: --batch IN --out OUT. */
    char batch_in[PATH_MAX];
    char batch_out[PATH_MAX];
    int strict; /* a malformed line fails the batch run */
    /* The page at /: the images it shows (an IDX file) and tf.min.js. */
    char page_images[PATH_MAX];
    char tfjs_script[PATH_MAX];
    int help;
};

/*
 * Parses argv (and the files it names) into c. Returns 0, or PSC_ECONFIG /
 * PSC_EINVAL with one line in err naming the flag or the file, line and
 * field. c->help is set for --help (then nothing else is checked).
 */
int serve_config_parse(struct serve_config *c, int argc, char **argv,
                       char *err);

/*
 * The models of a --model_config_file at path, read again into
 * into->models and into->nmodels (the rest of into is left alone): the
 * same checks and messages as serve_config_parse(). 0 or PSC_E* with err.
 */
int serve_config_read_models(const char *path, struct serve_config *into,
                             char *err);

/* The --help text. */
void serve_config_usage(FILE *f);

/* The model called name, or NULL. Borrowed. */
const struct serve_model_config *
serve_config_model(const struct serve_config *c, const char *name);

#endif
