/*
 * The job configuration: one JSON file given to every role, plus --set
 * overrides. A single option table drives parsing, defaults, the canonical
 * text that roles compare at registration, and the --help-job listing.
 */
#ifndef JOB_H
#define JOB_H

#include "optim.h"

#include <stddef.h>
#include <stdint.h>

#define JOB_MAX_HIDDEN     8
#define JOB_MAX_STRAGGLERS 64
#define JOB_STR            512
#define JOB_MAX_CLASSES    256
#define JOB_CLASS_NAME_LEN 64 /* with the NUL */
#define JOB_CLASSES        10 /* the data's: Fashion-MNIST's labels 0..9 */

enum job_mode { JOB_SYNC = 0, JOB_ASYNC, JOB_SOFTSYNC };
enum job_staleness {
    JOB_STALE_NONE = 0,
    JOB_STALE_INVERSE,
    JOB_STALE_DROP,
    JOB_STALE_INVERSE_PLUS_ONE,
    JOB_STALE_DIVIDE_BY_WORKERS
};
enum job_sharding { JOB_SHARD = 0, JOB_SAMPLE };
enum job_data_format { JOB_DATA_IDX = 0, JOB_DATA_LIBSVM, JOB_DATA_SYNTH };
enum job_data_file {
    JOB_TRAIN_IMAGES = 0,
    JOB_TRAIN_LABELS,
    JOB_TEST_IMAGES,
    JOB_TEST_LABELS,
    JOB_TRAIN_LIBSVM,
    JOB_TEST_LIBSVM,
    JOB_NDATA
};

/* The parsed job; immutable once job_new() returns. */
struct job {
    char model[JOB_STR];
    int hidden[JOB_MAX_HIDDEN];
    int nhidden;
    long batch_size;
    long epochs;
    long max_steps;
    long seed;
    char optimizer[JOB_STR];
    double learning_rate;
    double momentum;
    int nesterov;
    double adam_beta1;
    double adam_beta2;
    double epsilon;
    double adagrad_initial;
    double max_grad_norm;
    char lr_decay[JOB_STR];
    double lr_decay_rate;
    double lr_decay_steps;
    char mode_name[JOB_STR];
    long replicas_to_aggregate;
    long softsync_n;
    char staleness_policy[JOB_STR];
    char late_policy[JOB_STR];
    long max_staleness;
    long ssp_bound;
    long warmup_steps;
    char straggler_default[JOB_STR];
    char stragglers[JOB_MAX_STRAGGLERS][JOB_STR];
    char data_dir[JOB_STR];
    char data[JOB_NDATA][JOB_STR];
    char data_sha256[JOB_NDATA][JOB_STR];
    char cache_dir[JOB_STR];
    char sharding_name[JOB_STR];
    long train_limit;
    long test_limit;
    char data_format_name[JOB_STR];
    long hash_buckets;
    long synth_train_examples;
    long synth_test_examples;
    long synth_fields;
    long synth_ids;
    double synth_zipf;
    double synth_logit_sd;
    double synth_bias;
    long sparse_width;
    long sparse_fields;
    long sparse_min_count;
    long sparse_expire_steps;
    char model_dir[JOB_STR];
    double checkpoint_interval_s;
    long checkpoint_steps;
    long keep_checkpoints;
    char restore[JOB_STR];
    char model_name[JOB_STR];
    char class_names[JOB_STR];
    int export_every_checkpoint;
    int trace; /* gradients.jsonl and steps.jsonl under model_dir/trace */
    char export_quantize[JOB_STR];
    double log_interval_s;
    double eval_interval_s;
    long eval_every_steps; /* 0: every eval_interval_s */
    double startup_timeout_s;
    double heartbeat_interval_s;
    double heartbeat_timeout_s;
    double ps_restart_timeout_s;
    double worker_restart_timeout_s;
    double chief_restart_timeout_s;
    long blas_threads;
    char wire_dtype[JOB_STR];
    long zmq_io_threads;
    long apply_threads;
    long zmq_sockbuf_bytes;
    long slice_min_bytes;
    int security_curve;
    char keys_dir[JOB_STR];
    long bench_dense_floats;
    long bench_sparse_rows;
    /* Derived by job_new() from the names above. */
    enum job_mode mode;
    enum job_staleness staleness;
    int late_abort; /* late_policy abort */
    enum job_sharding sharding;
    enum job_data_format data_format;
    int wire_f16;
};

/*
 * Reads the job file (path may be NULL: defaults only) and applies the
 * "key=value" overrides in sets, in order. Checks every value that does not
 * depend on the cluster. Returns NULL with one line in err on error. Caller
 * owns; free with job_destroy().
 */
struct job *job_new(const char *path, const char *const *sets, int nsets,
                    char *err);
void job_destroy(struct job **p);

/* Checks the values that depend on the cluster's number of workers. */
int job_check_cluster(const struct job *job, int nworkers, char *err);

/*
 * The canonical text: one "key=value" line per option, in table order, all
 * defaults included. Equal texts mean equal jobs. Caller owns; free().
 */
char *job_canonical(const struct job *job);

/* FNV-1a 64 of the canonical text. */
uint64_t job_fingerprint(const struct job *job);

/*
 * Compares two canonical texts; on the first difference writes one line to
 * out naming the key and both values ("'learning_rate' is '0.01' there,
 * '0.001' here") and returns 1; returns 0 when equal.
 */
int job_diff(const char *theirs, const char *ours, char *out, size_t len);

/* The effective straggler spec of a worker ("none" when none). Borrowed. */
const char *job_straggler(const struct job *job, int worker);

/*
 * Path or URL of a data file: absolute paths and URLs as given, others under
 * data.dir. Writes into out.
 */
void job_data_location(const struct job *job, enum job_data_file f, char *out,
                       size_t len);

/*
 * Number of training steps: max_steps, or epochs over train_examples (an
 * update takes a gradient of batch_size examples in async mode, several in
 * sync and softsync mode).
 */
long job_total_steps(const struct job *job, long train_examples, int nworkers);

/*
 * Softsync: the gradients an update averages, c = floor(nworkers /
 * softsync_n), at least 1. Other modes: 1.
 */
int job_softsync_gradients(const struct job *job, int nworkers);

/*
 * Splits class_names into names (cap entries of JOB_CLASS_NAME_LEN bytes).
 * Returns the number of classes, or PSC_ECONFIG with one line in err when
 * a name is empty, too long or holds a quote, backslash or control
 * character.
 */
int job_class_names(const struct job *job, char (*names)[JOB_CLASS_NAME_LEN],
                    int cap, char *err);

/* The optimizer settings of the job. */
void job_optim_config(const struct job *job, struct optim_config *c);

/* A listing of every option with its default and meaning. Caller owns. */
char *job_help(void);

#endif
