/*
 * Job options: the table below is the one place an option is declared. The
 * JSON file is flattened into dotted keys ("data.train_images",
 * "stragglers.2") so that the file and --set reach options the same way.
 */
#include "job.h"

#include "optim.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_num.h"
#include "straggler.h"

#include <ctype.h>
#include <float.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_type { T_INT, T_FLOAT, T_STR, T_BOOL, T_INTLIST };

/*
 * An option's checks after every source is applied: numbers (T_INT,
 * T_FLOAT) must lie from min to max, or below max when max_open is set;
 * strings must be at least min characters long (min 1: not empty). An
 * option with has_range 0 (booleans, lists, strings that may be empty) is
 * checked by its parser or by a check of its own below.
 */
struct opt {
    const char *key;
    size_t offset;
    const char *def;
    double min;
    double max;
    const char *help;
    enum opt_type type;
    int has_range;
    int max_open;
};

/* An option without a range of its own. */
#define O(k, t, field, d, h)                                            \
    {                                                                   \
        .key = (k), .type = (t), .offset = offsetof(struct job, field), \
        .def = (d), .help = (h)                                         \
    }

/* A number from min to max, or a string at least min characters long. */
#define R(k, t, field, d, lo, hi, h)                                      \
    {                                                                     \
        .key = (k), .type = (t), .offset = offsetof(struct job, field),   \
        .def = (d), .has_range = 1, .min = (lo), .max = (hi), .help = (h) \
    }

/* A number from min up to, not including, max. */
#define RO(k, t, field, d, lo, hi, h)                                        \
    {                                                                        \
        .key = (k), .type = (t), .offset = offsetof(struct job, field),      \
        .def = (d), .has_range = 1, .min = (lo), .max = (hi), .max_open = 1, \
        .help = (h)                                                          \
    }

/* Bounds shared by several options. */
#define DAY_S     86400.0 /* longest interval or timeout */
#define MAX_STEPS 1e12    /* steps, far beyond any job's */
#define MAX_COUNT 1e9     /* examples, staleness */
#define MAX_IDS   1e12    /* feature ids (SYNTH_MAX_IDS) */

static const struct opt s_opts[] = {
    O("model", T_STR, model, "mlp",
      "softmax or mlp; sparse_lr: logistic regression on sparse features "
      "(data.format libsvm or synth); embedding_mlp: an embedding row of "
      "sparse.width floats per feature, summed per field, the fields "
      "concatenated into an MLP of hidden layers with a sigmoid output "
      "(libsvm or synth); bench: the synthetic variables of bench.* "
      "(psc-bench)"),
    O("hidden", T_INTLIST, hidden, "256,128",
      "MLP hidden layer widths (mlp, embedding_mlp)"),
    R("batch_size", T_INT, batch_size, "64", 1, 65536,
      "examples per worker step"),
    R("epochs", T_INT, epochs, "5", 0, 1e6,
      "passes over the training set (used when max_steps is 0)"),
    R("max_steps", T_INT, max_steps, "0", 0, MAX_STEPS,
      "stop after this many global steps (0: use epochs)"),
    O("seed", T_INT, seed, "42",
      "seeds initial weights, shuffling, sampling and stragglers"),
    O("optimizer", T_STR, optimizer, "adam", "sgd, momentum, adagrad or adam"),
    R("learning_rate", T_FLOAT, learning_rate, "0.001", 1e-10, 100,
      "base learning rate"),
    RO("momentum", T_FLOAT, momentum, "0.9", 0, 1,
       "momentum optimizer's momentum"),
    O("nesterov", T_BOOL, nesterov, "false", "Nesterov momentum"),
    RO("adam_beta1", T_FLOAT, adam_beta1, "0.9", 0, 1, "Adam's beta1"),
    RO("adam_beta2", T_FLOAT, adam_beta2, "0.999", 0, 1, "Adam's beta2"),
    R("epsilon", T_FLOAT, epsilon, "1e-07", 1e-30, 10,
      "Adam's and Adagrad's epsilon"),
    R("adagrad_initial", T_FLOAT, adagrad_initial, "0.1", 0, 1e6,
      "Adagrad's initial accumulator"),
    R("max_grad_norm", T_FLOAT, max_grad_norm, "0", 0, 1e30,
      "the ps clips each pushed gradient to this L2 norm, over the part "
      "each ps holds (0: off)"),
    O("lr_decay", T_STR, lr_decay, "none",
      "learning-rate schedule: none, exponential or inverse_time"),
    R("lr_decay_rate", T_FLOAT, lr_decay_rate, "0.96", 1e-10, 1e6,
      "schedule's rate"),
    R("lr_decay_steps", T_FLOAT, lr_decay_steps, "1000", 1e-3, MAX_STEPS,
      "schedule's steps per decay period"),
    O("mode", T_STR, mode_name, "sync",
      "sync, async or softsync (an update every workers / softsync_n "
      "gradients, of any staleness)"),
    R("replicas_to_aggregate", T_INT, replicas_to_aggregate, "0", 0, 1e6,
      "sync: gradients averaged per step (0: all workers)"),
    R("softsync_n", T_INT, softsync_n, "1", 1, 1e6,
      "softsync: each update averages floor(workers / softsync_n) "
      "gradients; 1 to the number of workers (one gradient an update, as "
      "async)"),
    O("staleness_policy", T_STR, staleness_policy, "none",
      "async and softsync: none, inverse (lr / max(1, staleness)), drop, "
      "inverse_plus_one (lr / (staleness + 1)) or divide_by_workers "
      "(lr / workers)"),
    O("late_policy", T_STR, late_policy, "finish",
      "sync: a worker whose step completed without it finishes and pushes "
      "(finish; the ps drops the gradient) or drops its computation and "
      "starts the next step at once (abort)"),
    R("max_staleness", T_INT, max_staleness, "8", 0, MAX_COUNT,
      "async and softsync, policy drop: largest staleness applied"),
    R("ssp_bound", T_INT, ssp_bound, "-1", -1, MAX_COUNT,
      "async: a worker may be at most this many steps ahead of the "
      "slowest live worker (-1: unbounded)"),
    R("warmup_steps", T_INT, warmup_steps, "0", 0, MAX_STEPS,
      "async: the first updates come from worker 0 alone"),
    O("stragglers.default", T_STR, straggler_default, "none",
      "delay added to every worker's steps: none, a base (fixed:MS, "
      "exp:MEAN_MS, shiftexp:SHIFT_MS:MEAN_MS, uniform:LO_MS:HI_MS), a factor "
      "(slow:K, p:PROB:K) or BASE*FACTOR (e.g. shiftexp:5:20*p:0.1:5)"),
    R("data.dir", T_STR, data_dir, "/usr/share/datasets/fashion-mnist", 1, 0,
      "folder of relative data paths"),
    R("data.train_images", T_STR, data[JOB_TRAIN_IMAGES],
      "train-images-idx3-ubyte.gz", 1, 0, "path, file:// or http(s):// URL"),
    R("data.train_labels", T_STR, data[JOB_TRAIN_LABELS],
      "train-labels-idx1-ubyte.gz", 1, 0, "path or URL"),
    R("data.test_images", T_STR, data[JOB_TEST_IMAGES],
      "t10k-images-idx3-ubyte.gz", 1, 0, "path or URL"),
    R("data.test_labels", T_STR, data[JOB_TEST_LABELS],
      "t10k-labels-idx1-ubyte.gz", 1, 0, "path or URL"),
    O("data.train_images_sha256", T_STR, data_sha256[JOB_TRAIN_IMAGES], "",
      "expected SHA-256 (required for URLs)"),
    O("data.train_labels_sha256", T_STR, data_sha256[JOB_TRAIN_LABELS], "",
      "expected SHA-256"),
    O("data.test_images_sha256", T_STR, data_sha256[JOB_TEST_IMAGES], "",
      "expected SHA-256"),
    O("data.test_labels_sha256", T_STR, data_sha256[JOB_TEST_LABELS], "",
      "expected SHA-256"),
    O("data.cache_dir", T_STR, cache_dir, "",
      "where downloads are kept (default: MODEL_DIR/cache)"),
    O("data.sharding", T_STR, sharding_name, "shard",
      "shard (disjoint parts) or sample (whole set, own seed)"),
    R("data.train_limit", T_INT, train_limit, "0", 0, MAX_COUNT,
      "use only the first N training examples (0: all)"),
    R("data.test_limit", T_INT, test_limit, "0", 0, MAX_COUNT,
      "evaluate only the first N test examples (0: all)"),
    O("data.format", T_STR, data_format_name, "idx",
      "idx (Fashion-MNIST's files), libsvm (data.train_libsvm and "
      "data.test_libsvm) or synth (the seeded synthetic sparse set of "
      "synth.*)"),
    O("data.train_libsvm", T_STR, data[JOB_TRAIN_LIBSVM], "",
      "data.format libsvm: the training examples, plain or gzipped; path "
      "or URL"),
    O("data.test_libsvm", T_STR, data[JOB_TEST_LIBSVM], "",
      "data.format libsvm: the test examples; path or URL"),
    O("data.train_libsvm_sha256", T_STR, data_sha256[JOB_TRAIN_LIBSVM], "",
      "expected SHA-256"),
    O("data.test_libsvm_sha256", T_STR, data_sha256[JOB_TEST_LIBSVM], "",
      "expected SHA-256"),
    R("data.hash_buckets", T_INT, hash_buckets, "0", 0, MAX_IDS,
      "sparse data: feature ids are hashed (seeded by seed) into this many "
      "rows (0: ids as given)"),
    R("synth.train_examples", T_INT, synth_train_examples, "200000", 1,
      MAX_COUNT, "data.format synth: training examples"),
    R("synth.test_examples", T_INT, synth_test_examples, "20000", 1, MAX_COUNT,
      "data.format synth: test examples (the indices after the "
      "training ones)"),
    R("synth.fields", T_INT, synth_fields, "16", 1, 1024,
      "data.format synth: features per example, one per field"),
    R("synth.ids", T_INT, synth_ids, "1000000", 1, MAX_IDS,
      "data.format synth: feature ids in all, split evenly over the fields"),
    R("synth.zipf", T_FLOAT, synth_zipf, "1.1", 0.01, 10,
      "data.format synth: the Zipf exponent of feature popularity"),
    R("synth.logit_sd", T_FLOAT, synth_logit_sd, "1.5", 0, 100,
      "data.format synth: spread of the true logits"),
    R("synth.bias", T_FLOAT, synth_bias, "-1", -100, 100,
      "data.format synth: the true bias"),
    R("sparse.width", T_INT, sparse_width, "64", 1, 65536,
      "floats per sparse row (model bench; embedding_mlp's embedding "
      "width, 8 to 64; sparse_lr's rows are 1 wide)"),
    R("sparse.fields", T_INT, sparse_fields, "0", 0, 1024,
      "model embedding_mlp: fields per example (0: synth.fields); feature "
      "j of an example is in field j, those past the last in the last"),
    R("sparse.min_count", T_INT, sparse_min_count, "0", 0, MAX_COUNT,
      "a sparse row is created once its key was pushed this many times "
      "(0 or 1: at once); until then it reads as its initial value"),
    R("sparse.expire_steps", T_INT, sparse_expire_steps, "0", 0, MAX_STEPS,
      "a sparse row not pushed for this many of its table's updates is "
      "dropped (0: never)"),
    R("model_dir", T_STR, model_dir, "psc-model", 1, 0,
      "metrics.jsonl, eval.jsonl and the checkpoints go here"),
    R("checkpoint_interval_s", T_FLOAT, checkpoint_interval_s, "30", 0, DAY_S,
      "seconds between checkpoints (0: none on a clock)"),
    R("checkpoint_steps", T_INT, checkpoint_steps, "0", 0, MAX_STEPS,
      "steps between checkpoints (0: none by steps); one is also written "
      "at the end"),
    R("keep_checkpoints", T_INT, keep_checkpoints, "5", 1, 1e6,
      "newest checkpoints kept in model_dir"),
    O("restore", T_STR, restore, "latest",
      "none (start afresh), latest (resume from the newest valid "
      "checkpoint in model_dir, if any) or the path of a checkpoint folder"),
    O("model_name", T_STR, model_name, "model",
      "exports go to model_dir/export/<model_name>/<version>/"),
    O("class_names", T_STR, class_names,
      "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,"
      "Ankle boot",
      "the classes' names in label order, comma-separated (exports)"),
    O("export_every_checkpoint", T_BOOL, export_every_checkpoint, "false",
      "export a version after every checkpoint, not only at the end"),
    O("export_quantize", T_STR, export_quantize, "none",
      "none or int8 (per-output-channel weights) for the chief's exports"),
    O("trace", T_BOOL, trace, "false",
      "write model_dir/trace/gradients.jsonl (every gradient at every ps; "
      "sparse rows in rows.jsonl) and steps.jsonl (every global step)"),
    R("log_interval_s", T_FLOAT, log_interval_s, "1", 1e-3, DAY_S,
      "seconds between progress lines and metrics records"),
    R("eval_interval_s", T_FLOAT, eval_interval_s, "5", 1e-3, DAY_S,
      "seconds between evaluations (when eval_every_steps is 0)"),
    R("eval_every_steps", T_INT, eval_every_steps, "0", 0, MAX_STEPS,
      "evaluate the values of every step that is a multiple of this (0: "
      "every eval_interval_s instead)"),
    R("startup_timeout_s", T_FLOAT, startup_timeout_s, "120", 1e-3, DAY_S,
      "how long the chief waits for every task to register"),
    R("heartbeat_interval_s", T_FLOAT, heartbeat_interval_s, "1", 1e-3, 3600,
      "seconds between heartbeats"),
    R("heartbeat_timeout_s", T_FLOAT, heartbeat_timeout_s, "10", 2e-3, DAY_S,
      "a task silent this long is reported lost"),
    R("ps_restart_timeout_s", T_FLOAT, ps_restart_timeout_s, "60", 0, DAY_S,
      "how long the workers wait, paused, for a lost ps to come back before "
      "the job fails"),
    R("worker_restart_timeout_s", T_FLOAT, worker_restart_timeout_s, "60", 0,
      DAY_S,
      "how long a step waits for a lost worker the job cannot do without to "
      "come back before the job fails"),
    R("chief_restart_timeout_s", T_FLOAT, chief_restart_timeout_s, "60", 0,
      DAY_S,
      "how long the other tasks wait, paused, for a lost chief to come back "
      "before they exit 138"),
    R("blas_threads", T_INT, blas_threads, "1", 1, 256,
      "OpenBLAS threads per process"),
    O("wire_dtype", T_STR, wire_dtype, "f32",
      "f32 or f16 for gradients and parameters on the wire"),
    R("zmq_io_threads", T_INT, zmq_io_threads, "1", 1, 64,
      "ZeroMQ I/O threads"),
    R("apply_threads", T_INT, apply_threads, "0", 0, 64,
      "threads a ps applies large updates with, and a client converts and "
      "gathers large requests with (0: one per core the ZeroMQ I/O threads "
      "leave, at most 4)"),
    R("zmq_sockbuf_bytes", T_INT, zmq_sockbuf_bytes, "4194304", 0, 1073741824,
      "kernel send and receive buffer of payload sockets (0: the OS's "
      "autotuning)"),
    R("slice_min_bytes", T_INT, slice_min_bytes, "65536", 4, 1099511627776,
      "dense variables at least this large are sliced over every ps"),
    O("security.curve", T_BOOL, security_curve, "false",
      "authenticate and encrypt every connection with CURVE keys (or set "
      "PSC_CURVE_KEYS_DIR)"),
    O("security.keys_dir", T_STR, keys_dir, "",
      "security.curve: the folder psc-keygen wrote the cluster's keys into"),
    R("bench.dense_floats", T_INT, bench_dense_floats, "1048576", 0,
      17179869184, "model bench: floats of its one dense variable"),
    R("bench.sparse_rows", T_INT, bench_sparse_rows, "0", 0, 1099511627776,
      "model bench: rows of its sparse table (0: none); row r lives on ps "
      "r % nps"),
};

#define NOPTS (sizeof s_opts / sizeof s_opts[0])

static const struct opt *s_find(const char *key)
{
    for (size_t i = 0; i < NOPTS; i++) {
        if (strcmp(s_opts[i].key, key) == 0)
            return &s_opts[i];
    }
    return NULL;
}

/*
 * stragglers.N for a worker index N: returns N, PSC_ENOTFOUND for a key of
 * another form, or PSC_EINVAL when N is no worker's index.
 */
static int s_straggler_index(const char *key)
{
    const char *prefix = "stragglers.";
    size_t plen = strlen(prefix);
    if (strncmp(key, prefix, plen) != 0 || !isdigit((unsigned char) key[plen]))
        return PSC_ENOTFOUND;
    long n = 0;
    if (psc_num_long(key + plen, 0, JOB_MAX_STRAGGLERS - 1, &n) != 0)
        return PSC_EINVAL;
    return (int) n;
}

static int s_parse_long(const char *key, const char *value, long *out,
                        char *err)
{
    if (psc_num_long(value, LONG_MIN, LONG_MAX, out) != 0)
        return psc_seterr(err, PSC_ECONFIG,
                          "job option '%s' is '%s': give a whole number", key,
                          value);
    return 0;
}

static int s_parse_double(const char *key, const char *value, double *out,
                          char *err)
{
    if (psc_num_double(value, -DBL_MAX, DBL_MAX, out) != 0)
        return psc_seterr(err, PSC_ECONFIG,
                          "job option '%s' is '%s': give a finite number", key,
                          value);
    return 0;
}

static int s_parse_bool(const char *key, const char *value, int *out, char *err)
{
    if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0) {
        *out = 1;
    } else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0) {
        *out = 0;
    } else {
        return psc_seterr(err, PSC_ECONFIG,
                          "job option '%s' is '%s': give true or false", key,
                          value);
    }
    return 0;
}

/* "256,128" or "[256, 128]" or "" (no hidden layers). */
static int s_parse_intlist(struct job *job, const char *key, const char *value,
                           char *err)
{
    char buf[JOB_STR];
    snprintf(buf, sizeof buf, "%s", value);
    int n = 0;
    for (char *p = buf; *p != '\0'; p++) {
        if (*p == '[' || *p == ']' || *p == ',')
            *p = ' ';
    }
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ", &save); tok != NULL;
         tok = strtok_r(NULL, " ", &save)) {
        long v = 0;
        if (s_parse_long(key, tok, &v, err) != 0 || v < 1 || v > 65536)
            return psc_seterr(err, PSC_ECONFIG,
                              "job option '%s' is '%s': give layer widths "
                              "from 1 to 65536, e.g. [256, 128]",
                              key, value);
        if (n == JOB_MAX_HIDDEN)
            return psc_seterr(err, PSC_ECONFIG,
                              "job option '%s' has more than %d layers", key,
                              JOB_MAX_HIDDEN);
        job->hidden[n++] = (int) v;
    }
    job->nhidden = n;
    return 0;
}

/* 1 when text holds a control character (a newline, a tab, ...). */
static int s_has_control(const char *text)
{
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 1;
    return 0;
}

static int s_set_string(char *dst, const char *key, const char *value,
                        char *err)
{
    if (strlen(value) >= JOB_STR)
        return psc_seterr(err, PSC_ECONFIG,
                          "job option '%s' is longer than %d characters", key,
                          JOB_STR - 1);
    /* The canonical text the tasks compare is a line per option. */
    if (s_has_control(value))
        return psc_seterr(err, PSC_ECONFIG,
                          "job option '%s' holds a control character (a "
                          "newline or tab): give it on one line of printable "
                          "characters",
                          key);
    snprintf(dst, JOB_STR, "%s", value);
    return 0;
}

static int s_set_opt(struct job *job, const struct opt *o, const char *value,
                     char *err)
{
    void *field = (char *) job + o->offset;
    switch (o->type) {
    case T_INT:
        return s_parse_long(o->key, value, field, err);
    case T_FLOAT:
        return s_parse_double(o->key, value, field, err);
    case T_BOOL:
        return s_parse_bool(o->key, value, field, err);
    case T_INTLIST:
        return s_parse_intlist(job, o->key, value, err);
    case T_STR:
        return s_set_string(field, o->key, value, err);
    }
    return PSC_EINVAL;
}

static int s_set(struct job *job, const char *key, const char *value, char *err)
{
    const struct opt *o = s_find(key);
    if (o != NULL)
        return s_set_opt(job, o, value, err);
    int idx = s_straggler_index(key);
    if (idx >= 0)
        return s_set_string(job->stragglers[idx], key, value, err);
    if (idx == PSC_EINVAL)
        return psc_seterr(err, PSC_ECONFIG,
                          "job option '%s' names no worker: use "
                          "stragglers.default or stragglers.N with N < %d",
                          key, JOB_MAX_STRAGGLERS);
    return psc_seterr(err, PSC_ECONFIG,
                      "job option '%s' is unknown: see --help-job for the "
                      "options",
                      key);
}

/*
 * The type the value of key has: 0 with *type set, or PSC_ENOTFOUND for a
 * key that is no option (s_set() says why).
 */
static int s_key_type(const char *key, enum opt_type *type)
{
    const struct opt *o = s_find(key);
    if (o != NULL) {
        *type = o->type;
        return 0;
    }
    if (s_straggler_index(key) >= 0) {
        *type = T_STR;
        return 0;
    }
    return PSC_ENOTFOUND;
}

/* JSON values are taken as they are typed: "64" is no number, 64.0 no
 * whole number, 1 no boolean, 5 no string. */
static int s_kind_ok(enum opt_type type, const json_t *v)
{
    switch (type) {
    case T_INT:
        return json_is_integer(v);
    case T_FLOAT:
        return json_is_number(v);
    case T_BOOL:
        return json_is_boolean(v);
    case T_STR:
        return json_is_string(v);
    case T_INTLIST:
        return json_is_array(v);
    }
    return 0;
}

/* "the number 64.0" rather than "the number 64", so the reader sees why a
 * whole number was refused; the shortest digits that read back as d, so
 * 222e22 is "2.22e+24" (casting it to an integer to test wholeness, as
 * before, overflowed: fuzz.job). */
static void s_real_text(double d, char *buf, size_t len)
{
    char digits[40];
    for (int precision = 15; precision <= 17; precision++) {
        snprintf(digits, sizeof digits, "%.*g", precision, d);
        if (strtod(digits, NULL) == d)
            break;
    }
    snprintf(buf, len, "the number %s%s", digits,
             strpbrk(digits, ".en") ? "" : ".0");
}

/* What v is, for a message: "the string \"64\"", "the number 64.0", ... */
static void s_kind_text(const json_t *v, char *buf, size_t len)
{
    if (json_is_string(v))
        snprintf(buf, len, "the string \"%.40s\"", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, len, "the whole number %lld",
                 (long long) json_integer_value(v));
    else if (json_is_real(v))
        s_real_text(json_real_value(v), buf, len);
    else if (json_is_boolean(v))
        snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_null(v))
        snprintf(buf, len, "null");
    else if (json_is_array(v))
        snprintf(buf, len, "a list");
    else
        snprintf(buf, len, "an object");
}

static int s_kind_error(const char *key, enum opt_type type, const json_t *v,
                        char *err)
{
    static const char *const want[] = {
        [T_INT] = "a whole number without quotes, e.g. 64",
        [T_FLOAT] = "a number without quotes, e.g. 0.001",
        [T_STR] = "a string in quotes",
        [T_BOOL] = "true or false without quotes",
        [T_INTLIST] = "a list of whole numbers, e.g. [256, 128]",
    };
    char what[96];
    s_kind_text(v, what, sizeof what);
    return psc_seterr(err, PSC_ECONFIG, "job option '%s' is %s: write %s", key,
                      what, want[type]);
}

/* Turns a JSON leaf into the text form --set uses. */
static int s_leaf_text(const char *key, json_t *v, char *buf, size_t len,
                       char *err)
{
    if (json_is_string(v)) {
        snprintf(buf, len, "%s", json_string_value(v));
    } else if (json_is_integer(v)) {
        snprintf(buf, len, "%lld", (long long) json_integer_value(v));
    } else if (json_is_real(v)) {
        snprintf(buf, len, "%.17g", json_real_value(v));
    } else if (json_is_boolean(v)) {
        snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
    } else if (json_is_array(v)) {
        size_t off = 0;
        size_t i;
        json_t *e;
        buf[0] = '\0';
        json_array_foreach(v, i, e)
        {
            if (!json_is_integer(e))
                return psc_seterr(err, PSC_ECONFIG,
                                  "job option '%s' must be a list of whole "
                                  "numbers",
                                  key);
            off +=
                (size_t) snprintf(buf + off, len - off, "%s%lld", i ? "," : "",
                                  (long long) json_integer_value(e));
            if (off >= len)
                return psc_seterr(err, PSC_ECONFIG,
                                  "job option '%s' is too long", key);
        }
    } else {
        return psc_seterr(err, PSC_ECONFIG,
                          "job option '%s' has a value of the wrong kind", key);
    }
    return 0;
}

static int s_apply_json(struct job *job, const char *prefix, json_t *obj,
                        char *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        char key[256];
        char text[JOB_STR];
        snprintf(key, sizeof key, "%s%s", prefix, k);
        int nested = strcmp(key, "data") == 0 ||
                     strcmp(key, "stragglers") == 0 ||
                     strcmp(key, "security") == 0;
        if (json_is_object(v) && nested) {
            char sub[sizeof key + 1];
            snprintf(sub, sizeof sub, "%s.", key);
            if (s_apply_json(job, sub, v, err) != 0)
                return PSC_ECONFIG;
            continue;
        }
        enum opt_type type = T_STR;
        if (s_key_type(key, &type) == 0 && !s_kind_ok(type, v))
            return s_kind_error(key, type, v, err);
        if (json_is_object(v) && s_key_type(key, &type) != 0)
            return psc_seterr(err, PSC_ECONFIG,
                              "job option '%s' is an object: only data, "
                              "stragglers and security hold options; write "
                              "the others "
                              "flat, e.g. \"%s.x\"",
                              key, key);
        if (s_leaf_text(key, v, text, sizeof text, err) != 0)
            return PSC_ECONFIG;
        if (s_set(job, key, text, err) != 0)
            return PSC_ECONFIG;
    }
    return 0;
}

static int s_load_file(struct job *job, const char *path, char *err)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (root == NULL) {
        if (jerr.line < 0)
            return psc_seterr(err, PSC_ECONFIG, "cannot read job file '%s': %s",
                              path, jerr.text);
        return psc_seterr(err, PSC_ECONFIG,
                          "job file '%s' is not valid JSON (line %d, column "
                          "%d: %s): fix the JSON syntax",
                          path, jerr.line, jerr.column, jerr.text);
    }
    int rc = 0;
    if (!json_is_object(root))
        rc = psc_seterr(err, PSC_ECONFIG,
                        "job file '%s' must hold a JSON object", path);
    else
        rc = s_apply_json(job, "", root, err);
    json_decref(root);
    return rc;
}

static int s_apply_set(struct job *job, const char *set, char *err)
{
    const char *eq = strchr(set, '=');
    if (eq == NULL || eq == set)
        return psc_seterr(err, PSC_ECONFIG,
                          "--set '%s' has no '=': write --set key=value", set);
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int) (eq - set), set);
    return s_set(job, key, eq + 1, err);
}

static int s_pick(const char *key, const char *value, const char *const *names,
                  int n, int *out, char *err)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(value, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    char list[256] = "";
    for (int i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                 i == 0 ? "" : (i == n - 1 ? " or " : ", "), names[i]);
    return psc_seterr(err, PSC_ECONFIG, "%s '%s' is unknown: use %s", key,
                      value, list);
}

static int s_derive_names(struct job *job, char *err)
{
    static const char *const models[] = {"softmax", "mlp", "sparse_lr",
                                         "embedding_mlp", "bench"};
    static const char *const formats[] = {"idx", "libsvm", "synth"};
    static const char *const modes[] = {"sync", "async", "softsync"};
    static const char *const policies[] = {
        "none", "inverse", "drop", "inverse_plus_one", "divide_by_workers"};
    static const char *const lates[] = {"finish", "abort"};
    static const char *const shardings[] = {"shard", "sample"};
    static const char *const dtypes[] = {"f32", "f16"};
    static const char *const optims[] = {"sgd", "momentum", "adagrad", "adam"};
    static const char *const decays[] = {"none", "exponential", "inverse_time"};
    int v = 0;
    if (s_pick("model", job->model, models, 5, &v, err) != 0 ||
        s_pick("optimizer", job->optimizer, optims, 4, &v, err) != 0 ||
        s_pick("lr_decay", job->lr_decay, decays, 3, &v, err) != 0)
        return PSC_ECONFIG;
    if (s_pick("mode", job->mode_name, modes, 3, &v, err) != 0)
        return PSC_ECONFIG;
    job->mode = (enum job_mode) v;
    if (s_pick("staleness_policy", job->staleness_policy, policies, 5, &v,
               err) != 0)
        return PSC_ECONFIG;
    job->staleness = (enum job_staleness) v;
    if (s_pick("late_policy", job->late_policy, lates, 2, &v, err) != 0)
        return PSC_ECONFIG;
    job->late_abort = v;
    if (s_pick("data.sharding", job->sharding_name, shardings, 2, &v, err) != 0)
        return PSC_ECONFIG;
    job->sharding = (enum job_sharding) v;
    if (s_pick("wire_dtype", job->wire_dtype, dtypes, 2, &v, err) != 0)
        return PSC_ECONFIG;
    job->wire_f16 = v;
    if (s_pick("data.format", job->data_format_name, formats, 3, &v, err) != 0)
        return PSC_ECONFIG;
    job->data_format = (enum job_data_format) v;
    return 0;
}

/* The range of o for a message: "1 to 65536", "0 to below 1". */
static void s_range_text(const struct opt *o, char *buf, size_t len)
{
    const char *below = o->max_open ? "below " : "";
    if (o->type == T_INT)
        snprintf(buf, len, "%.0f to %s%.0f", o->min, below, o->max);
    else
        snprintf(buf, len, "%g to %s%g", o->min, below, o->max);
}

/* Checks one option against its range in the table. */
static int s_check_opt(const struct job *job, const struct opt *o, char *err)
{
    const void *field = (const char *) job + o->offset;
    char range[64];
    s_range_text(o, range, sizeof range);
    if (o->type == T_STR) {
        if (strlen(field) >= (size_t) o->min)
            return 0;
        return psc_seterr(err, PSC_ECONFIG, "%s is empty: set it (%s)", o->key,
                          o->help);
    }
    double v = o->type == T_INT ? (double) *(const long *) field
                                : *(const double *) field;
    int above = o->max_open ? v >= o->max : v > o->max;
    if (v >= o->min && !above)
        return 0;
    if (o->type == T_INT)
        return psc_seterr(err, PSC_ECONFIG, "%s %ld is out of range: use %s",
                          o->key, *(const long *) field, range);
    return psc_seterr(err, PSC_ECONFIG, "%s %g is out of range: use %s", o->key,
                      v, range);
}

/*
 * Every option with a range, once all sources are applied, so that a
 * --set can repair a file's value.
 */
static int s_check_table(const struct job *job, char *err)
{
    for (size_t i = 0; i < NOPTS; i++) {
        if (s_opts[i].has_range && s_check_opt(job, &s_opts[i], err) != 0)
            return PSC_ECONFIG;
    }
    return 0;
}

/* What no single option's range can say. */
static int s_check_ranges(const struct job *job, char *err)
{
    if (job->epochs == 0 && job->max_steps == 0)
        return psc_seterr(err, PSC_ECONFIG,
                          "epochs and max_steps are both 0: set one of them");
    if (strcmp(job->model, "mlp") == 0 && job->nhidden == 0)
        return psc_seterr(err, PSC_ECONFIG,
                          "hidden is empty: an mlp needs at least one hidden "
                          "layer, e.g. [256, 128]");
    if (strcmp(job->model, "embedding_mlp") == 0 &&
        (job->sparse_width < 8 || job->sparse_width > 64))
        return psc_seterr(err, PSC_ECONFIG,
                          "sparse.width %ld is out of range for model "
                          "embedding_mlp: give an embedding width of 8 to 64",
                          job->sparse_width);
    if (strcmp(job->lr_decay, "exponential") == 0 && job->lr_decay_rate > 1)
        return psc_seterr(err, PSC_ECONFIG,
                          "lr_decay_rate %g grows the learning rate without "
                          "bound: use at most 1 with lr_decay exponential",
                          job->lr_decay_rate);
    if (!(job->heartbeat_timeout_s >= 2 * job->heartbeat_interval_s))
        return psc_seterr(err, PSC_ECONFIG,
                          "heartbeat_timeout_s %g must be at least twice "
                          "heartbeat_interval_s %g",
                          job->heartbeat_timeout_s, job->heartbeat_interval_s);
    return 0;
}

static int s_check_checkpoints(const struct job *job, char *err)
{
    if (job->restore[0] == '\0')
        return psc_seterr(err, PSC_ECONFIG,
                          "restore is empty: give none, latest or a "
                          "checkpoint folder");
    return 0;
}

static int s_name_char_ok(unsigned char c)
{
    return c >= 0x20 && c != 0x7f && c != '"' && c != '\\';
}

int job_class_names(const struct job *job, char (*names)[JOB_CLASS_NAME_LEN],
                    int cap, char *err)
{
    int n = 0;
    const char *p = job->class_names;
    for (;;) {
        size_t len = strcspn(p, ",");
        int ok = len > 0 && len < JOB_CLASS_NAME_LEN && n < cap;
        for (size_t i = 0; ok && i < len; i++)
            ok = s_name_char_ok((unsigned char) p[i]);
        if (!ok)
            return psc_seterr(err, PSC_ECONFIG,
                              "class_names: name %d is empty, longer than %d "
                              "bytes, holds a quote, backslash or control "
                              "character, or is one too many",
                              n + 1, JOB_CLASS_NAME_LEN - 1);
        memcpy(names[n], p, len);
        names[n][len] = '\0';
        n++;
        if (p[len] == '\0')
            return n;
        p += len + 1;
    }
}

static int s_name_ok(const char *s)
{
    if (s[0] == '\0' || s[0] == '.' || strlen(s) > 128)
        return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char) *p) && strchr("_.-", *p) == NULL)
            return 0;
    return 1;
}

static int s_check_export(const struct job *job, char *err)
{
    char names[JOB_MAX_CLASSES][JOB_CLASS_NAME_LEN];
    int n = job_class_names(job, names, JOB_MAX_CLASSES, err);
    if (n < 0)
        return n;
    if (n != JOB_CLASSES)
        return psc_seterr(err, PSC_ECONFIG,
                          "class_names names %d classes, the data has %d: "
                          "give one name per label, separated by commas",
                          n, JOB_CLASSES);
    if (!s_name_ok(job->model_name))
        return psc_seterr(err, PSC_ECONFIG,
                          "model_name '%s' is not a folder name: use letters, "
                          "digits, '_', '-' and '.', not first",
                          job->model_name);
    if (strcmp(job->export_quantize, "none") != 0 &&
        strcmp(job->export_quantize, "int8") != 0)
        return psc_seterr(err, PSC_ECONFIG,
                          "export_quantize '%s' is unknown: use none or int8",
                          job->export_quantize);
    return 0;
}

static int s_check_security(const struct job *job, char *err)
{
    if (job->security_curve && job->keys_dir[0] == '\0')
        return psc_seterr(err, PSC_ECONFIG,
                          "job option 'security.keys_dir' is empty while "
                          "'security.curve' is on: give the folder "
                          "psc-keygen wrote the cluster's keys into");
    return 0;
}

/* The models that train a sparse table on sparse data. */
static int s_is_sparse(const struct job *job)
{
    return strcmp(job->model, "sparse_lr") == 0 ||
           strcmp(job->model, "embedding_mlp") == 0;
}

/* Sparse models read sparse data and the image models images. */
static int s_check_format(const struct job *job, char *err)
{
    int sparse_model = s_is_sparse(job);
    int sparse_data = job->data_format != JOB_DATA_IDX;
    if (strcmp(job->model, "bench") == 0 || sparse_model == sparse_data)
        return 0;
    if (sparse_model)
        return psc_seterr(err, PSC_ECONFIG,
                          "model %s reads sparse features: set "
                          "data.format to libsvm or synth",
                          job->model);
    return psc_seterr(err, PSC_ECONFIG,
                      "model %s reads images: data.format '%s' is for "
                      "models sparse_lr and embedding_mlp (or set "
                      "data.format to idx)",
                      job->model, job->data_format_name);
}

/* A sparse step cannot be abandoned half way (its rows are pulled). */
static int s_check_late(const struct job *job, char *err)
{
    int dense =
        strcmp(job->model, "softmax") == 0 || strcmp(job->model, "mlp") == 0;
    if (!job->late_abort || dense)
        return 0;
    return psc_seterr(err, PSC_ECONFIG,
                      "late_policy abort is for the dense models (softmax, "
                      "mlp), not model %s: set late_policy to finish",
                      job->model);
}

static int s_check_libsvm(const struct job *job, char *err)
{
    if (job->data_format != JOB_DATA_LIBSVM)
        return 0;
    if (job->data[JOB_TRAIN_LIBSVM][0] == '\0' ||
        job->data[JOB_TEST_LIBSVM][0] == '\0')
        return psc_seterr(err, PSC_ECONFIG,
                          "data.format is libsvm but data.train_libsvm or "
                          "data.test_libsvm is empty: give both files' "
                          "paths or URLs");
    return 0;
}

/*
 * Softsync aggregates dense gradients only: sparse tables apply each row on
 * arrival (async) or per step (sync), and have no softsync rule.
 */
static int s_check_softsync(const struct job *job, char *err)
{
    if (job->mode != JOB_SOFTSYNC)
        return 0;
    if (s_is_sparse(job))
        return psc_seterr(err, PSC_ECONFIG,
                          "mode softsync is for dense models: model "
                          "%s needs mode sync or async",
                          job->model);
    if (strcmp(job->model, "bench") == 0 && job->bench_sparse_rows > 0)
        return psc_seterr(err, PSC_ECONFIG,
                          "mode softsync is for dense models: set "
                          "bench.sparse_rows to 0 or use mode sync or async");
    return 0;
}

static int s_check_bench(const struct job *job, char *err)
{
    if (strcmp(job->model, "bench") == 0 && job->bench_dense_floats == 0 &&
        job->bench_sparse_rows == 0)
        return psc_seterr(
            err, PSC_ECONFIG,
            "model bench has no variables: set bench.dense_floats "
            "or bench.sparse_rows");
    return 0;
}

static int s_check_stragglers(const struct job *job, char *err)
{
    struct straggler s;
    if (straggler_parse(&s, job->straggler_default, 0, 0, err) != 0)
        return PSC_ECONFIG;
    for (int i = 0; i < JOB_MAX_STRAGGLERS; i++) {
        if (job->stragglers[i][0] != '\0' &&
            straggler_parse(&s, job->stragglers[i], 0, 0, err) != 0)
            return PSC_ECONFIG;
    }
    return 0;
}

static int s_check_data(const struct job *job, char *err)
{
    static const char *const names[] = {"train_images", "train_labels",
                                        "test_images",  "test_labels",
                                        "train_libsvm", "test_libsvm"};
    for (int i = 0; i < JOB_NDATA; i++) {
        const char *sha = job->data_sha256[i];
        size_t n = strlen(sha);
        int hex = n == 64;
        for (size_t k = 0; k < n && hex; k++)
            hex = isxdigit((unsigned char) sha[k]) != 0;
        if (n != 0 && !hex)
            return psc_seterr(err, PSC_ECONFIG,
                              "data.%s_sha256 '%s' is not a SHA-256: give 64 "
                              "hexadecimal digits (sha256sum FILE)",
                              names[i], sha);
        int url = strncmp(job->data[i], "http://", 7) == 0 ||
                  strncmp(job->data[i], "https://", 8) == 0;
        if (url && n == 0)
            return psc_seterr(err, PSC_ECONFIG,
                              "data.%s is a URL but data.%s_sha256 is not set: "
                              "give the file's SHA-256 so the download can be "
                              "checked",
                              names[i], names[i]);
    }
    return 0;
}

struct job *job_new(const char *path, const char *const *sets, int nsets,
                    char *err)
{
    struct job *job = psc_xcalloc(1, sizeof *job);
    for (size_t i = 0; i < NOPTS; i++) {
        int rc = s_set_opt(job, &s_opts[i], s_opts[i].def, err);
        (void) rc;
    }
    if (path != NULL && s_load_file(job, path, err) != 0)
        goto fail;
    for (int i = 0; i < nsets; i++) {
        if (s_apply_set(job, sets[i], err) != 0)
            goto fail;
    }
    if (s_derive_names(job, err) != 0 || s_check_table(job, err) != 0 ||
        s_check_ranges(job, err) != 0 || s_check_stragglers(job, err) != 0 ||
        s_check_data(job, err) != 0 || s_check_bench(job, err) != 0 ||
        s_check_checkpoints(job, err) != 0 || s_check_export(job, err) != 0 ||
        s_check_security(job, err) != 0 || s_check_format(job, err) != 0 ||
        s_check_libsvm(job, err) != 0 || s_check_late(job, err) != 0 ||
        s_check_softsync(job, err) != 0)
        goto fail;
    return job;
fail:
    free(job);
    return NULL;
}

void job_destroy(struct job **p)
{
    if (p == NULL || *p == NULL)
        return;
    free(*p);
    *p = NULL;
}

int job_check_cluster(const struct job *job, int nworkers, char *err)
{
    if (job->replicas_to_aggregate > nworkers)
        return psc_seterr(err, PSC_ECONFIG,
                          "replicas_to_aggregate %ld is larger than the "
                          "number of workers (%d): use at most %d",
                          job->replicas_to_aggregate, nworkers, nworkers);
    if (job->mode == JOB_SOFTSYNC && job->softsync_n > nworkers)
        return psc_seterr(err, PSC_ECONFIG,
                          "softsync_n %ld is larger than the number of "
                          "workers (%d): use 1 to %d",
                          job->softsync_n, nworkers, nworkers);
    for (int i = nworkers; i < JOB_MAX_STRAGGLERS; i++) {
        if (job->stragglers[i][0] != '\0')
            return psc_seterr(err, PSC_ECONFIG,
                              "stragglers.%d names a worker the cluster does "
                              "not have (%d workers): use 0 to %d",
                              i, nworkers, nworkers - 1);
    }
    return 0;
}

static void s_value_text(const struct job *job, const struct opt *o, char *buf,
                         size_t len)
{
    const void *field = (const char *) job + o->offset;
    switch (o->type) {
    case T_INT:
        snprintf(buf, len, "%ld", *(const long *) field);
        break;
    case T_FLOAT:
        snprintf(buf, len, "%.17g", *(const double *) field);
        break;
    case T_BOOL:
        snprintf(buf, len, "%s", *(const int *) field ? "true" : "false");
        break;
    case T_STR:
        snprintf(buf, len, "%s", (const char *) field);
        break;
    case T_INTLIST:
        buf[0] = '\0';
        for (int i = 0; i < job->nhidden; i++)
            snprintf(buf + strlen(buf), len - strlen(buf), "%s%d", i ? "," : "",
                     job->hidden[i]);
        break;
    }
}

/* Appends to a growing text; *out is reallocated as needed. */
static void s_appendf(char **out, size_t *cap, size_t *off, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

static void s_appendf(char **out, size_t *cap, size_t *off, const char *fmt,
                      ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(*out + *off, *cap - *off, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t) n < *cap - *off) {
            *off += (size_t) n;
            return;
        }
        /* 64 straggler specs of JOB_STR characters pass 16 KiB. */
        *cap = *cap * 2 + (n > 0 ? (size_t) n : 0);
        *out = psc_xrealloc(*out, *cap);
    }
}

char *job_canonical(const struct job *job)
{
    size_t cap = 16384;
    char *out = psc_xmalloc(cap);
    size_t off = 0;
    char value[JOB_STR];
    for (size_t i = 0; i < NOPTS; i++) {
        s_value_text(job, &s_opts[i], value, sizeof value);
        s_appendf(&out, &cap, &off, "%s=%s\n", s_opts[i].key, value);
    }
    for (int i = 0; i < JOB_MAX_STRAGGLERS; i++) {
        if (job->stragglers[i][0] != '\0')
            s_appendf(&out, &cap, &off, "stragglers.%d=%s\n", i,
                      job->stragglers[i]);
    }
    return out;
}

uint64_t job_fingerprint(const struct job *job)
{
    char *text = job_canonical(job);
    uint64_t h = 1469598103934665603ull;
    for (const char *p = text; *p != '\0'; p++) {
        h ^= (uint8_t) *p;
        h *= 1099511628211ull;
    }
    free(text);
    return h;
}

/* Finds key's line in a canonical text; writes its value or "(unset)". */
static void s_lookup(const char *text, const char *key, char *out, size_t len)
{
    size_t klen = strlen(key);
    for (const char *line = text; *line != '\0';) {
        const char *nl = strchr(line, '\n');
        size_t llen = nl != NULL ? (size_t) (nl - line) : strlen(line);
        if (llen > klen && strncmp(line, key, klen) == 0 && line[klen] == '=') {
            snprintf(out, len, "%.*s", (int) (llen - klen - 1),
                     line + klen + 1);
            return;
        }
        line += llen + (nl != NULL);
    }
    snprintf(out, len, "(unset)");
}

static int s_diff_one(const char *from, const char *other, int from_is_theirs,
                      char *out, size_t len)
{
    for (const char *line = from; *line != '\0';) {
        const char *nl = strchr(line, '\n');
        size_t llen = nl != NULL ? (size_t) (nl - line) : strlen(line);
        const char *eq = memchr(line, '=', llen);
        if (eq != NULL) {
            char key[256];
            char mine[JOB_STR];
            char there[JOB_STR];
            snprintf(key, sizeof key, "%.*s", (int) (eq - line), line);
            snprintf(mine, sizeof mine, "%.*s",
                     (int) (llen - (size_t) (eq - line) - 1), eq + 1);
            s_lookup(other, key, there, sizeof there);
            if (strcmp(mine, there) != 0) {
                snprintf(out, len, "'%s' is '%s' there, '%s' here", key,
                         from_is_theirs ? mine : there,
                         from_is_theirs ? there : mine);
                return 1;
            }
        }
        line += llen + (nl != NULL);
    }
    return 0;
}

int job_diff(const char *theirs, const char *ours, char *out, size_t len)
{
    if (s_diff_one(ours, theirs, 0, out, len))
        return 1;
    return s_diff_one(theirs, ours, 1, out, len);
}

const char *job_straggler(const struct job *job, int worker)
{
    if (worker >= 0 && worker < JOB_MAX_STRAGGLERS &&
        job->stragglers[worker][0] != '\0')
        return job->stragglers[worker];
    return job->straggler_default;
}

void job_data_location(const struct job *job, enum job_data_file f, char *out,
                       size_t len)
{
    const char *v = job->data[f];
    /* data.dir is the image set's folder; a LIBSVM file is where it says. */
    int libsvm = f == JOB_TRAIN_LIBSVM || f == JOB_TEST_LIBSVM;
    if (libsvm || v[0] == '/' || strstr(v, "://") != NULL)
        snprintf(out, len, "%s", v);
    else
        snprintf(out, len, "%s/%s", job->data_dir, v);
}

long job_total_steps(const struct job *job, long train_examples, int nworkers)
{
    if (job->max_steps > 0)
        return job->max_steps;
    long per_step = job->batch_size;
    if (job->mode == JOB_SYNC)
        per_step *= job->replicas_to_aggregate > 0 ? job->replicas_to_aggregate
                                                   : nworkers;
    else
        per_step *= job_softsync_gradients(job, nworkers);
    long steps = job->epochs * train_examples / per_step;
    return steps > 0 ? steps : 1;
}

int job_softsync_gradients(const struct job *job, int nworkers)
{
    if (job->mode != JOB_SOFTSYNC || job->softsync_n < 1)
        return 1;
    long c = nworkers / job->softsync_n;
    return c > 1 ? (int) c : 1;
}

void job_optim_config(const struct job *job, struct optim_config *c)
{
    optim_config_init(c);
    optim_parse_kind(job->optimizer, &c->kind);
    optim_parse_decay(job->lr_decay, &c->decay);
    c->learning_rate = (float) job->learning_rate;
    c->momentum = (float) job->momentum;
    c->nesterov = job->nesterov;
    c->beta1 = (float) job->adam_beta1;
    c->beta2 = (float) job->adam_beta2;
    c->epsilon = (float) job->epsilon;
    c->adagrad_initial = (float) job->adagrad_initial;
    c->decay_rate = (float) job->lr_decay_rate;
    c->decay_steps = job->lr_decay_steps;
}

char *job_help(void)
{
    size_t cap = 16384;
    char *out = psc_xmalloc(cap);
    size_t off = 0;
    for (size_t i = 0; i < NOPTS; i++) {
        const struct opt *o = &s_opts[i];
        char range[80] = "";
        if (o->has_range && o->type == T_STR) {
            snprintf(range, sizeof range, " (not empty)");
        } else if (o->has_range) {
            char text[64];
            s_range_text(o, text, sizeof text);
            snprintf(range, sizeof range, " (%s)", text);
        }
        off += (size_t) snprintf(out + off, cap - off, "  %-28s %-12s %s%s\n",
                                 o->key, o->def[0] ? o->def : "\"\"", o->help,
                                 range);
    }
    snprintf(out + off, cap - off, "  %-28s %-12s %s\n", "stragglers.N", "",
             "delay for worker N, overrides stragglers.default (same "
             "forms)");
    return out;
}
