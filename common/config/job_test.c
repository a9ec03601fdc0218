/*
 * Unit test for the job options: every default of the option table, the
 * JSON job file with its nested objects, --set overrides and their
 * precedence, and every refusal with its exact message, since users read
 * those messages to fix their job.
 */
#include "job.h"
#include "optim.h"
#include "psc_err.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The option table as users see it: key, the default the table (and so
 * --help-job) shows, and the canonical text of that default when printing
 * it with %.17g gives something else (NULL: the same).
 */
static const struct {
    const char *key;
    const char *def;
    const char *canon;
} s_table[] = {
    {"model", "mlp", NULL},
    {"hidden", "256,128", NULL},
    {"batch_size", "64", NULL},
    {"epochs", "5", NULL},
    {"max_steps", "0", NULL},
    {"seed", "42", NULL},
    {"optimizer", "adam", NULL},
    {"learning_rate", "0.001", NULL},
    {"momentum", "0.9", "0.90000000000000002"},
    {"nesterov", "false", NULL},
    {"adam_beta1", "0.9", "0.90000000000000002"},
    {"adam_beta2", "0.999", NULL},
    {"epsilon", "1e-07", "9.9999999999999995e-08"},
    {"adagrad_initial", "0.1", "0.10000000000000001"},
    {"max_grad_norm", "0", NULL},
    {"lr_decay", "none", NULL},
    {"lr_decay_rate", "0.96", "0.95999999999999996"},
    {"lr_decay_steps", "1000", NULL},
    {"mode", "sync", NULL},
    {"replicas_to_aggregate", "0", NULL},
    {"softsync_n", "1", NULL},
    {"staleness_policy", "none", NULL},
    {"late_policy", "finish", NULL},
    {"max_staleness", "8", NULL},
    {"ssp_bound", "-1", NULL},
    {"warmup_steps", "0", NULL},
    {"stragglers.default", "none", NULL},
    {"data.dir", "/usr/share/datasets/fashion-mnist", NULL},
    {"data.train_images", "train-images-idx3-ubyte.gz", NULL},
    {"data.train_labels", "train-labels-idx1-ubyte.gz", NULL},
    {"data.test_images", "t10k-images-idx3-ubyte.gz", NULL},
    {"data.test_labels", "t10k-labels-idx1-ubyte.gz", NULL},
    {"data.train_images_sha256", "", NULL},
    {"data.train_labels_sha256", "", NULL},
    {"data.test_images_sha256", "", NULL},
    {"data.test_labels_sha256", "", NULL},
    {"data.cache_dir", "", NULL},
    {"data.sharding", "shard", NULL},
    {"data.train_limit", "0", NULL},
    {"data.test_limit", "0", NULL},
    {"data.format", "idx", NULL},
    {"data.train_libsvm", "", NULL},
    {"data.test_libsvm", "", NULL},
    {"data.train_libsvm_sha256", "", NULL},
    {"data.test_libsvm_sha256", "", NULL},
    {"data.hash_buckets", "0", NULL},
    {"synth.train_examples", "200000", NULL},
    {"synth.test_examples", "20000", NULL},
    {"synth.fields", "16", NULL},
    {"synth.ids", "1000000", NULL},
    {"synth.zipf", "1.1", "1.1000000000000001"},
    {"synth.logit_sd", "1.5", NULL},
    {"synth.bias", "-1", NULL},
    {"sparse.width", "64", NULL},
    {"sparse.fields", "0", NULL},
    {"sparse.min_count", "0", NULL},
    {"sparse.expire_steps", "0", NULL},
    {"model_dir", "psc-model", NULL},
    {"checkpoint_interval_s", "30", NULL},
    {"checkpoint_steps", "0", NULL},
    {"keep_checkpoints", "5", NULL},
    {"restore", "latest", NULL},
    {"model_name", "model", NULL},
    {"class_names",
     "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle "
     "boot",
     NULL},
    {"export_every_checkpoint", "false", NULL},
    {"export_quantize", "none", NULL},
    {"trace", "false", NULL},
    {"log_interval_s", "1", NULL},
    {"eval_interval_s", "5", NULL},
    {"eval_every_steps", "0", NULL},
    {"startup_timeout_s", "120", NULL},
    {"heartbeat_interval_s", "1", NULL},
    {"heartbeat_timeout_s", "10", NULL},
    {"ps_restart_timeout_s", "60", NULL},
    {"worker_restart_timeout_s", "60", NULL},
    {"chief_restart_timeout_s", "60", NULL},
    {"blas_threads", "1", NULL},
    {"wire_dtype", "f32", NULL},
    {"zmq_io_threads", "1", NULL},
    {"apply_threads", "0", NULL},
    {"zmq_sockbuf_bytes", "4194304", NULL},
    {"slice_min_bytes", "65536", NULL},
    {"security.curve", "false", NULL},
    {"security.keys_dir", "", NULL},
    {"bench.dense_floats", "1048576", NULL},
    {"bench.sparse_rows", "0", NULL},
};

#define NTABLE ((int) (sizeof s_table / sizeof s_table[0]))

#define SHA_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SHA63 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"

/* Builds a job that must be accepted; the caller destroys it. */
static struct job *s_job(const char *path, const char *const *sets, int nsets)
{
    char err[PSC_ERR_LEN] = "";
    struct job *job = job_new(path, sets, nsets, err);
    if (job == NULL)
        fprintf(stderr, "unexpected error: %s\n", err);
    CHECK(job != NULL);
    return job;
}

/* A job from one --set on top of the defaults. */
static struct job *s_job_set(const char *set)
{
    const char *sets[] = {set};
    return s_job(NULL, sets, 1);
}

/* Expects job_new to refuse with exactly the message want. */
static void s_refused(const char *path, const char *const *sets, int nsets,
                      const char *want)
{
    char err[PSC_ERR_LEN] = "";
    struct job *job = job_new(path, sets, nsets, err);
    CHECK(job == NULL);
    CHECK_STR(err, want);
}

static void s_set_refused(const char *set, const char *want)
{
    const char *sets[] = {set};
    s_refused(NULL, sets, 1, want);
}

/* Writes "prefix" and n letters into out, which has room for them. */
static void s_long_set(char *out, const char *prefix, size_t n)
{
    size_t plen = strlen(prefix);
    memcpy(out, prefix, plen);
    memset(out + plen, 'x', n);
    out[plen + n] = '\0';
}

/* Writes text to a new file under /tmp; path receives its name. */
static void s_write(char *path, size_t len, const char *text)
{
    snprintf(path, len, "%s", "/tmp/psc_job_test_XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    size_t n = strlen(text);
    CHECK_EQ(write(fd, text, n), n);
    CHECK_OK(close(fd));
}

/* A job from a file holding text, plus sets; the file is gone after. */
static struct job *s_file_job(const char *text, const char *const *sets,
                              int nsets)
{
    char path[64];
    s_write(path, sizeof path, text);
    struct job *job = s_job(path, sets, nsets);
    CHECK_OK(unlink(path));
    return job;
}

/*
 * Expects a file holding text to be refused with want, in which each '@'
 * stands for the file's path (the name mkstemp picks is only known here).
 */
static void s_file_refused(const char *text, const char *want)
{
    char path[64];
    char expect[PSC_ERR_LEN];
    s_write(path, sizeof path, text);
    size_t off = 0;
    for (const char *p = want; *p != '\0' && off + 1 < sizeof expect; p++) {
        if (*p == '@')
            off += (size_t) snprintf(expect + off, sizeof expect - off, "%s",
                                     path);
        else
            expect[off++] = *p;
    }
    expect[off] = '\0';
    s_refused(path, NULL, 0, expect);
    CHECK_OK(unlink(path));
}

/* The defaults land in the typed fields, derived names included. */
static void test_defaults(void)
{
    struct job *job = s_job(NULL, NULL, 0);
    CHECK_STR(job->model, "mlp");
    CHECK_EQ(job->nhidden, 2);
    CHECK_EQ(job->hidden[0], 256);
    CHECK_EQ(job->hidden[1], 128);
    CHECK_EQ(job->batch_size, 64);
    CHECK_EQ(job->epochs, 5);
    CHECK_EQ(job->max_steps, 0);
    CHECK_EQ(job->seed, 42);
    CHECK_STR(job->optimizer, "adam");
    CHECK_NEAR(job->learning_rate, 0.001, 0);
    CHECK_NEAR(job->momentum, 0.9, 0);
    CHECK_EQ(job->nesterov, 0);
    CHECK_NEAR(job->adam_beta1, 0.9, 0);
    CHECK_NEAR(job->adam_beta2, 0.999, 0);
    CHECK_NEAR(job->epsilon, 1e-7, 0);
    CHECK_NEAR(job->adagrad_initial, 0.1, 0);
    CHECK_STR(job->lr_decay, "none");
    CHECK_NEAR(job->lr_decay_rate, 0.96, 0);
    CHECK_NEAR(job->lr_decay_steps, 1000, 0);
    CHECK_STR(job->mode_name, "sync");
    CHECK_EQ(job->replicas_to_aggregate, 0);
    CHECK_EQ(job->softsync_n, 1);
    CHECK_STR(job->staleness_policy, "none");
    CHECK_EQ(job->max_staleness, 8);
    CHECK_EQ(job->ssp_bound, -1);
    CHECK_EQ(job->warmup_steps, 0);
    CHECK_STR(job->straggler_default, "none");
    for (int i = 0; i < JOB_MAX_STRAGGLERS; i++)
        CHECK_STR(job->stragglers[i], "");
    CHECK_STR(job->data_dir, "/usr/share/datasets/fashion-mnist");
    CHECK_STR(job->data[JOB_TRAIN_IMAGES], "train-images-idx3-ubyte.gz");
    CHECK_STR(job->data[JOB_TRAIN_LABELS], "train-labels-idx1-ubyte.gz");
    CHECK_STR(job->data[JOB_TEST_IMAGES], "t10k-images-idx3-ubyte.gz");
    CHECK_STR(job->data[JOB_TEST_LABELS], "t10k-labels-idx1-ubyte.gz");
    for (int i = 0; i < JOB_NDATA; i++)
        CHECK_STR(job->data_sha256[i], "");
    CHECK_STR(job->cache_dir, "");
    CHECK_STR(job->sharding_name, "shard");
    CHECK_EQ(job->train_limit, 0);
    CHECK_EQ(job->test_limit, 0);
    CHECK_STR(job->model_dir, "psc-model");
    CHECK_NEAR(job->log_interval_s, 1, 0);
    CHECK_NEAR(job->eval_interval_s, 5, 0);
    CHECK_NEAR(job->startup_timeout_s, 120, 0);
    CHECK_NEAR(job->heartbeat_interval_s, 1, 0);
    CHECK_NEAR(job->heartbeat_timeout_s, 10, 0);
    CHECK_EQ(job->blas_threads, 1);
    CHECK_STR(job->wire_dtype, "f32");
    CHECK_EQ(job->zmq_io_threads, 1);
    CHECK_EQ(job->apply_threads, 0);
    CHECK_EQ(job->zmq_sockbuf_bytes, 4194304);
    CHECK_EQ(job->slice_min_bytes, 65536);
    CHECK_EQ(job->bench_dense_floats, 1048576);
    CHECK_EQ(job->bench_sparse_rows, 0);
    CHECK_EQ(job->sparse_width, 64);
    CHECK_EQ(job->mode, JOB_SYNC);
    CHECK_EQ(job->staleness, JOB_STALE_NONE);
    CHECK_EQ(job->sharding, JOB_SHARD);
    CHECK_EQ(job->wire_f16, 0);
    CHECK_STR(job_straggler(job, 0), "none");

    struct optim_config c;
    job_optim_config(job, &c);
    CHECK_EQ(c.kind, OPTIM_ADAM);
    CHECK_EQ(c.decay, OPTIM_DECAY_NONE);
    CHECK_NEAR(c.learning_rate, 0.001f, 0);
    CHECK_NEAR(c.beta2, 0.999f, 0);
    CHECK_NEAR(c.epsilon, 1e-7f, 0);

    job_destroy(&job);
    CHECK(job == NULL);
    job_destroy(&job);
    job_destroy(NULL);
}

/* The canonical text of the defaults is the whole table, in table order. */
static void test_canonical_defaults(void)
{
    char expect[8192];
    size_t off = 0;
    for (int i = 0; i < NTABLE; i++) {
        const char *v = s_table[i].canon ? s_table[i].canon : s_table[i].def;
        off += (size_t) snprintf(expect + off, sizeof expect - off, "%s=%s\n",
                                 s_table[i].key, v);
        CHECK(off < sizeof expect);
    }
    struct job *job = s_job(NULL, NULL, 0);
    char *text = job_canonical(job);
    CHECK_STR(text, expect);
    free(text);
    job_destroy(&job);
}

/* Finds the help line of key ("  key   default   meaning"), or NULL. */
static const char *s_help_line(const char *help, const char *key)
{
    size_t klen = strlen(key);
    const char *line = help;
    while (*line != '\0') {
        if (strncmp(line, "  ", 2) == 0 && strncmp(line + 2, key, klen) == 0 &&
            line[2 + klen] == ' ')
            return line;
        const char *nl = strchr(line, '\n');
        if (nl == NULL)
            break;
        line = nl + 1;
    }
    return NULL;
}

/* --help-job lists every option once, in table order, with its default. */
static void test_help(void)
{
    char *help = job_help();
    const char *prev = help;
    for (int i = 0; i < NTABLE; i++) {
        const char *line = s_help_line(help, s_table[i].key);
        if (line == NULL) {
            fprintf(stderr, "no help line for '%s'\n", s_table[i].key);
            CHECK(line != NULL);
            continue;
        }
        CHECK(line >= prev);
        prev = line;
        const char *p = line + 2 + strlen(s_table[i].key);
        while (*p == ' ')
            p++;
        /* An empty default must still be visible in the listing. */
        const char *def = s_table[i].def[0] ? s_table[i].def : "\"\"";
        CHECK_EQ(strncmp(p, def, strlen(def)), 0);
        CHECK_EQ(p[strlen(def)], ' ');
    }
    const char *n = s_help_line(help, "stragglers.N");
    CHECK(n != NULL);
    CHECK(n > prev);
    CHECK_CONTAINS(n, "overrides stragglers.default");
    int lines = 0;
    for (const char *p = help; *p != '\0'; p++)
        lines += *p == '\n';
    CHECK_EQ(lines, NTABLE + 1);
    free(help);
}

/* A job file with nested objects, lists and every kind of value. */
static void test_file(void)
{
    const char *text =
        "{\n"
        "  \"model\": \"mlp\",\n"
        "  \"hidden\": [512, 64, 32],\n"
        "  \"batch_size\": 128,\n"
        "  \"epochs\": 3,\n"
        "  \"seed\": 7,\n"
        "  \"optimizer\": \"momentum\",\n"
        "  \"learning_rate\": 0.05,\n"
        "  \"momentum\": 0.5,\n"
        "  \"adam_beta2\": 0.99912345678901,\n"
        "  \"nesterov\": true,\n"
        "  \"lr_decay\": \"exponential\",\n"
        "  \"lr_decay_steps\": 600,\n"
        "  \"mode\": \"async\",\n"
        "  \"staleness_policy\": \"drop\",\n"
        "  \"max_staleness\": 4,\n"
        "  \"ssp_bound\": 3,\n"
        "  \"data\": {\n"
        "    \"dir\": \"/data/fm\",\n"
        "    \"train_images\": \"https://example.com/ti.gz\",\n"
        "    \"train_images_sha256\": \"" SHA_A "\",\n"
        "    \"test_labels\": \"/abs/tl.gz\",\n"
        "    \"sharding\": \"sample\",\n"
        "    \"train_limit\": 1000\n"
        "  },\n"
        "  \"stragglers\": {\"default\": \"fixed:5\", \"2\": \"slow:3\",\n"
        "                 \"0\": \"p:0.5:2\"},\n"
        "  \"bench.sparse_rows\": 10,\n"
        "  \"wire_dtype\": \"f16\",\n"
        "  \"heartbeat_timeout_s\": 2.5,\n"
        "  \"startup_timeout_s\": 1e3,\n"
        "  \"model_dir\": \"out/run1\"\n"
        "}\n";
    struct job *job = s_file_job(text, NULL, 0);
    CHECK_EQ(job->nhidden, 3);
    CHECK_EQ(job->hidden[0], 512);
    CHECK_EQ(job->hidden[1], 64);
    CHECK_EQ(job->hidden[2], 32);
    CHECK_EQ(job->batch_size, 128);
    CHECK_EQ(job->epochs, 3);
    CHECK_EQ(job->seed, 7);
    CHECK_STR(job->optimizer, "momentum");
    CHECK_NEAR(job->learning_rate, 0.05, 0);
    CHECK_NEAR(job->momentum, 0.5, 0);
    /* Every digit of a JSON number arrives, not a rounded form. */
    CHECK_NEAR(job->adam_beta2, 0.99912345678901, 0);
    CHECK_EQ(job->nesterov, 1);
    CHECK_STR(job->lr_decay, "exponential");
    CHECK_NEAR(job->lr_decay_steps, 600, 0);
    CHECK_EQ(job->mode, JOB_ASYNC);
    CHECK_EQ(job->staleness, JOB_STALE_DROP);
    CHECK_EQ(job->max_staleness, 4);
    CHECK_EQ(job->ssp_bound, 3);
    CHECK_STR(job->data_dir, "/data/fm");
    CHECK_STR(job->data[JOB_TRAIN_IMAGES], "https://example.com/ti.gz");
    CHECK_STR(job->data_sha256[JOB_TRAIN_IMAGES], SHA_A);
    CHECK_STR(job->data[JOB_TRAIN_LABELS], "train-labels-idx1-ubyte.gz");
    CHECK_EQ(job->sharding, JOB_SAMPLE);
    CHECK_EQ(job->train_limit, 1000);
    CHECK_STR(job->straggler_default, "fixed:5");
    CHECK_STR(job_straggler(job, 0), "p:0.5:2");
    CHECK_STR(job_straggler(job, 1), "fixed:5");
    CHECK_STR(job_straggler(job, 2), "slow:3");
    CHECK_EQ(job->bench_sparse_rows, 10);
    CHECK_EQ(job->wire_f16, 1);
    CHECK_NEAR(job->heartbeat_timeout_s, 2.5, 0);
    /* JSON reads 1e3 as a real; it still fills a float option exactly. */
    CHECK_NEAR(job->startup_timeout_s, 1000, 0);
    CHECK_STR(job->model_dir, "out/run1");
    /* Options the file leaves out keep their defaults. */
    CHECK_NEAR(job->adam_beta1, 0.9, 0);
    CHECK_STR(job->data[JOB_TEST_IMAGES], "t10k-images-idx3-ubyte.gz");

    char loc[JOB_STR];
    job_data_location(job, JOB_TRAIN_IMAGES, loc, sizeof loc);
    CHECK_STR(loc, "https://example.com/ti.gz");
    job_data_location(job, JOB_TRAIN_LABELS, loc, sizeof loc);
    CHECK_STR(loc, "/data/fm/train-labels-idx1-ubyte.gz");
    job_data_location(job, JOB_TEST_LABELS, loc, sizeof loc);
    CHECK_STR(loc, "/abs/tl.gz");

    struct optim_config c;
    job_optim_config(job, &c);
    CHECK_EQ(c.kind, OPTIM_MOMENTUM);
    CHECK_EQ(c.decay, OPTIM_DECAY_EXPONENTIAL);
    CHECK_EQ(c.nesterov, 1);
    CHECK_NEAR(c.learning_rate, 0.05f, 0);
    CHECK_NEAR(c.momentum, 0.5f, 0);
    CHECK_NEAR(c.decay_steps, 600, 0);
    job_destroy(&job);

    /* Dotted keys may also be written flat at the top level. */
    job = s_file_job("{\"data.dir\": \"/flat\", \"stragglers.1\": \"exp:3\","
                     " \"data\": {\"test_limit\": 50}}",
                     NULL, 0);
    CHECK_STR(job->data_dir, "/flat");
    CHECK_EQ(job->test_limit, 50);
    CHECK_STR(job_straggler(job, 1), "exp:3");
    job_destroy(&job);

    /* An empty object is a job of defaults. */
    job = s_file_job("{}", NULL, 0);
    struct job *def = s_job(NULL, NULL, 0);
    CHECK_EQ(job_fingerprint(job), job_fingerprint(def));
    job_destroy(&def);
    job_destroy(&job);
}

/* defaults < file < --set, and among --set the last one wins. */
static void test_precedence(void)
{
    const char *text =
        "{\"learning_rate\": 0.01, \"batch_size\": 32,"
        " \"hidden\": [100],"
        " \"data\": {\"dir\": \"/file\"},"
        " \"stragglers\": {\"1\": \"slow:2\", \"3\": \"slow:4\"}}";
    const char *sets[] = {
        "learning_rate=0.02", "stragglers.1=fixed:1", "seed=1", "seed=2",
        "data.dir=/cli",      "hidden=[64, 16]",
    };
    struct job *job = s_file_job(text, sets, 6);
    CHECK_NEAR(job->learning_rate, 0.02, 0);
    CHECK_EQ(job->batch_size, 32);
    CHECK_EQ(job->epochs, 5);
    CHECK_EQ(job->seed, 2);
    CHECK_STR(job->data_dir, "/cli");
    CHECK_EQ(job->nhidden, 2);
    CHECK_EQ(job->hidden[0], 64);
    CHECK_EQ(job->hidden[1], 16);
    CHECK_STR(job_straggler(job, 1), "fixed:1");
    CHECK_STR(job_straggler(job, 3), "slow:4");
    job_destroy(&job);

    /* Values are checked after the last --set, so a later one can repair. */
    const char *fix[] = {"learning_rate=0", "learning_rate=0.1"};
    job = s_job(NULL, fix, 2);
    CHECK_NEAR(job->learning_rate, 0.1, 0);
    job_destroy(&job);

    /* And a --set can break what the file got right. */
    const char *brk[] = {"batch_size=0"};
    char path[64];
    s_write(path, sizeof path, "{\"batch_size\": 32}");
    s_refused(path, brk, 1, "batch_size 0 is out of range: use 1 to 65536");
    CHECK_OK(unlink(path));
}

/* Bools, ints, floats, strings and int lists in their accepted forms. */
static void test_value_forms(void)
{
    static const struct {
        const char *set;
        int want;
    } bools[] = {
        {"nesterov=true", 1},
        {"nesterov=1", 1},
        {"nesterov=false", 0},
        {"nesterov=0", 0},
    };
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        struct job *job = s_job_set(bools[i].set);
        CHECK_EQ(job->nesterov, bools[i].want);
        job_destroy(&job);
    }
    /* On the command line 1 and 0 are booleans; in JSON only true and
     * false are (test_refused_file). */
    struct job *job = s_file_job("{\"nesterov\": true}", NULL, 0);
    CHECK_EQ(job->nesterov, 1);
    job_destroy(&job);
    job = s_file_job("{\"nesterov\": false}", NULL, 0);
    CHECK_EQ(job->nesterov, 0);
    job_destroy(&job);

    const char *ints[] = {"seed=-5", "ssp_bound=0", "data.train_limit=12",
                          "bench.sparse_rows=1099511627776"};
    job = s_job(NULL, ints, 4);
    CHECK_EQ(job->seed, -5);
    CHECK_EQ(job->ssp_bound, 0);
    CHECK_EQ(job->train_limit, 12);
    CHECK_EQ(job->bench_sparse_rows, 1LL << 40);
    job_destroy(&job);

    const char *floats[] = {"learning_rate=1e-3", "momentum=0",
                            "adagrad_initial=0", "heartbeat_timeout_s=2",
                            "lr_decay_rate=2"};
    job = s_job(NULL, floats, 5);
    CHECK_NEAR(job->learning_rate, 0.001, 0);
    CHECK_NEAR(job->momentum, 0, 0);
    CHECK_NEAR(job->adagrad_initial, 0, 0);
    CHECK_NEAR(job->heartbeat_timeout_s, 2, 0);
    CHECK_NEAR(job->lr_decay_rate, 2, 0);
    job_destroy(&job);

    job = s_file_job("{\"learning_rate\": 1, \"epsilon\": 0.5}", NULL, 0);
    CHECK_NEAR(job->learning_rate, 1, 0);
    CHECK_NEAR(job->epsilon, 0.5, 0);
    job_destroy(&job);

    /* A value may contain '='; only the first one splits. */
    job = s_job_set("model_dir=runs/a=b");
    CHECK_STR(job->model_dir, "runs/a=b");
    job_destroy(&job);

    char longest[JOB_STR + 32];
    s_long_set(longest, "data.cache_dir=", JOB_STR - 1);
    job = s_job_set(longest);
    CHECK_EQ(strlen(job->cache_dir), JOB_STR - 1);
    job_destroy(&job);

    job = s_job_set("hidden=32");
    CHECK_EQ(job->nhidden, 1);
    CHECK_EQ(job->hidden[0], 32);
    job_destroy(&job);
    job = s_job_set("hidden=1,2,3,4,5,6,7,65536");
    CHECK_EQ(job->nhidden, JOB_MAX_HIDDEN);
    CHECK_EQ(job->hidden[7], 65536);
    job_destroy(&job);
    job = s_file_job("{\"hidden\": [300, 200]}", NULL, 0);
    CHECK_EQ(job->nhidden, 2);
    CHECK_EQ(job->hidden[1], 200);
    job_destroy(&job);
    /* Softmax has no hidden layers, so an empty list is fine there. */
    const char *softmax[] = {"model=softmax", "hidden="};
    job = s_job(NULL, softmax, 2);
    CHECK_EQ(job->nhidden, 0);
    char *text = job_canonical(job);
    CHECK_CONTAINS(text, "\nhidden=\n");
    free(text);
    job_destroy(&job);
    job = s_file_job("{\"model\": \"softmax\", \"hidden\": []}", NULL, 0);
    CHECK_EQ(job->nhidden, 0);
    job_destroy(&job);
}

/* Each accepted name of an enum option sets its derived field. */
static void test_names(void)
{
    struct job *job = s_job_set("staleness_policy=inverse");
    CHECK_EQ(job->staleness, JOB_STALE_INVERSE);
    job_destroy(&job);
    const char *bench[] = {"model=bench", "bench.dense_floats=0",
                           "bench.sparse_rows=5"};
    job = s_job(NULL, bench, 3);
    CHECK_STR(job->model, "bench");
    job_destroy(&job);
    job = s_job_set("model=softmax");
    CHECK_STR(job->model, "softmax");
    job_destroy(&job);

    static const struct {
        const char *name;
        enum optim_kind kind;
    } optims[] = {
        {"sgd", OPTIM_SGD},
        {"momentum", OPTIM_MOMENTUM},
        {"adagrad", OPTIM_ADAGRAD},
        {"adam", OPTIM_ADAM},
    };
    for (size_t i = 0; i < sizeof optims / sizeof optims[0]; i++) {
        char set[64];
        snprintf(set, sizeof set, "optimizer=%s", optims[i].name);
        job = s_job_set(set);
        struct optim_config c;
        job_optim_config(job, &c);
        CHECK_EQ(c.kind, optims[i].kind);
        job_destroy(&job);
    }
    job = s_job_set("lr_decay=inverse_time");
    struct optim_config c;
    job_optim_config(job, &c);
    CHECK_EQ(c.decay, OPTIM_DECAY_INVERSE_TIME);
    job_destroy(&job);
}

/* Worker straggler specs: per-worker beats default, bounds by the cluster. */
static void test_stragglers(void)
{
    const char *sets[] = {"stragglers.default=exp:20", "stragglers.3=slow:2",
                          "stragglers.63=fixed:1"};
    struct job *job = s_job(NULL, sets, 3);
    CHECK_STR(job_straggler(job, 3), "slow:2");
    CHECK_STR(job_straggler(job, 0), "exp:20");
    CHECK_STR(job_straggler(job, 63), "fixed:1");
    CHECK_STR(job_straggler(job, JOB_MAX_STRAGGLERS), "exp:20");
    CHECK_STR(job_straggler(job, -1), "exp:20");
    char *text = job_canonical(job);
    /* Worker specs follow the table, in worker order. */
    CHECK_CONTAINS(text, "\nbench.sparse_rows=0\nstragglers.3=slow:2\n"
                         "stragglers.63=fixed:1\n");
    CHECK_EQ(text[strlen(text) - 1], '\n');
    free(text);

    char err[PSC_ERR_LEN] = "";
    CHECK_OK(job_check_cluster(job, 64, err));
    CHECK_EQ(job_check_cluster(job, 4, err), PSC_ECONFIG);
    CHECK_STR(err, "stragglers.63 names a worker the cluster does not have "
                   "(4 workers): use 0 to 3");
    job_destroy(&job);

    job = s_job_set("stragglers.5=none");
    CHECK_OK(job_check_cluster(job, 6, err));
    CHECK_EQ(job_check_cluster(job, 5, err), PSC_ECONFIG);
    CHECK_STR(err, "stragglers.5 names a worker the cluster does not have "
                   "(5 workers): use 0 to 4");
    job_destroy(&job);

    /* A composed spec passes the config layer as it is. */
    job = s_job_set("stragglers.1=shiftexp:5:20*p:0.1:5");
    CHECK_STR(job_straggler(job, 1), "shiftexp:5:20*p:0.1:5");
    job_destroy(&job);
}

/* A canonical text past its first 16 KiB grows instead of overrunning:
 * 64 workers' straggler specs of 500-odd characters each. */
static void test_canonical_long(void)
{
    static char specs[JOB_MAX_STRAGGLERS][600];
    const char *sets[JOB_MAX_STRAGGLERS];
    char zeros[501];
    memset(zeros, '0', 500);
    zeros[500] = '\0';
    for (int i = 0; i < JOB_MAX_STRAGGLERS; i++) {
        snprintf(specs[i], sizeof specs[i], "stragglers.%d=fixed:%s", i, zeros);
        sets[i] = specs[i];
    }
    struct job *job = s_job(NULL, sets, JOB_MAX_STRAGGLERS);
    char *text = job_canonical(job);
    char last[600];
    snprintf(last, sizeof last, "\nstragglers.%d=fixed:%s\n",
             JOB_MAX_STRAGGLERS - 1, zeros);
    CHECK(strlen(text) > 16384);
    CHECK_CONTAINS(text, last);
    free(text);
    job_destroy(&job);
}

/* replicas_to_aggregate may not exceed the workers the cluster has. */
static void test_check_cluster(void)
{
    char err[PSC_ERR_LEN] = "";
    struct job *job = s_job(NULL, NULL, 0);
    CHECK_OK(job_check_cluster(job, 1, err));
    job_destroy(&job);

    job = s_job_set("replicas_to_aggregate=3");
    CHECK_OK(job_check_cluster(job, 3, err));
    CHECK_OK(job_check_cluster(job, 4, err));
    CHECK_EQ(job_check_cluster(job, 2, err), PSC_ECONFIG);
    CHECK_STR(err, "replicas_to_aggregate 3 is larger than the number of "
                   "workers (2): use at most 2");
    CHECK_EQ(job_check_cluster(job, 2, NULL), PSC_ECONFIG);
    job_destroy(&job);
}

/* softsync_n: 1 to the workers the cluster has, checked in softsync only. */
static void test_check_softsync(void)
{
    char err[PSC_ERR_LEN] = "";
    const char *four[] = {"mode=softsync", "softsync_n=4"};
    struct job *job = s_job(NULL, four, 2);
    CHECK_EQ(job->mode, JOB_SOFTSYNC);
    CHECK_OK(job_check_cluster(job, 4, err));
    CHECK_EQ(job_softsync_gradients(job, 4), 1);
    CHECK_EQ(job_softsync_gradients(job, 9), 2);
    CHECK_EQ(job_check_cluster(job, 3, err), PSC_ECONFIG);
    CHECK_STR(err, "softsync_n 4 is larger than the number of workers (3): "
                   "use 1 to 3");
    job_destroy(&job);

    job = s_job_set("mode=softsync");
    CHECK_OK(job_check_cluster(job, 1, err));
    CHECK_EQ(job_softsync_gradients(job, 4), 4);
    CHECK_EQ(job_softsync_gradients(job, 1), 1);
    job_destroy(&job);

    /* Another mode ignores softsync_n. */
    job = s_job_set("softsync_n=4");
    CHECK_OK(job_check_cluster(job, 2, err));
    CHECK_EQ(job_softsync_gradients(job, 4), 1);
    job_destroy(&job);

    s_set_refused("softsync_n=0", "softsync_n 0 is out of range: use 1 to "
                                  "1000000");
    const char *sparse[] = {"mode=softsync", "model=sparse_lr",
                            "data.format=synth"};
    s_refused(NULL, sparse, 3,
              "mode softsync is for dense models: model sparse_lr needs mode "
              "sync or async");
    const char *emb[] = {"mode=softsync", "model=embedding_mlp",
                         "data.format=synth"};
    s_refused(NULL, emb, 3,
              "mode softsync is for dense models: model embedding_mlp needs "
              "mode sync or async");
    const char *bench[] = {"mode=softsync", "model=bench",
                           "bench.sparse_rows=10"};
    s_refused(NULL, bench, 3,
              "mode softsync is for dense models: set bench.sparse_rows to 0 "
              "or use mode sync or async");
}

/* Refusals of a --set: its form, the key, the type of the value. */
static void test_refused_syntax(void)
{
    s_set_refused("learning_rate",
                  "--set 'learning_rate' has no '=': write --set key=value");
    s_set_refused("=0.1", "--set '=0.1' has no '=': write --set key=value");
    s_set_refused("learning_rat=0.1", "job option 'learning_rat' is unknown: "
                                      "see --help-job for the options");
    s_set_refused("data.bogus=1", "job option 'data.bogus' is unknown: see "
                                  "--help-job for the options");
    s_set_refused("Model=mlp", "job option 'Model' is unknown: see "
                               "--help-job for the options");
    s_set_refused("stragglers.x=none", "job option 'stragglers.x' is unknown: "
                                       "see --help-job for the options");
    s_set_refused("stragglers.64=none",
                  "job option 'stragglers.64' names no worker: use "
                  "stragglers.default or stragglers.N with N < 64");
    s_set_refused("stragglers.2x=none",
                  "job option 'stragglers.2x' names no worker: use "
                  "stragglers.default or stragglers.N with N < 64");

    s_set_refused("batch_size=64k",
                  "job option 'batch_size' is '64k': give a whole number");
    s_set_refused("batch_size=",
                  "job option 'batch_size' is '': give a whole number");
    s_set_refused("epochs=2.5",
                  "job option 'epochs' is '2.5': give a whole number");
    s_set_refused("seed=99999999999999999999",
                  "job option 'seed' is '99999999999999999999': give a whole "
                  "number");
    s_set_refused("learning_rate=fast",
                  "job option 'learning_rate' is 'fast': give a finite number");
    s_set_refused("momentum=0.5x",
                  "job option 'momentum' is '0.5x': give a finite number");
    s_set_refused("learning_rate=nan",
                  "job option 'learning_rate' is 'nan': give a finite number");
    s_set_refused("learning_rate= 0.1",
                  "job option 'learning_rate' is ' 0.1': give a finite "
                  "number");
    s_set_refused("nesterov=yes",
                  "job option 'nesterov' is 'yes': give true or false");
    s_set_refused("nesterov=True",
                  "job option 'nesterov' is 'True': give true or false");
    s_set_refused("hidden=256,abc",
                  "job option 'hidden' is '256,abc': give layer widths from 1 "
                  "to 65536, e.g. [256, 128]");
    s_set_refused("hidden=0", "job option 'hidden' is '0': give layer widths "
                              "from 1 to 65536, e.g. [256, 128]");
    s_set_refused("hidden=65537",
                  "job option 'hidden' is '65537': give layer widths from 1 "
                  "to 65536, e.g. [256, 128]");
    s_set_refused("hidden=1,2,3,4,5,6,7,8,9",
                  "job option 'hidden' has more than 8 layers");

    char toolong[JOB_STR + 32];
    s_long_set(toolong, "model_dir=", JOB_STR);
    s_set_refused(toolong,
                  "job option 'model_dir' is longer than 511 characters");
    s_long_set(toolong, "stragglers.7=", JOB_STR);
    s_set_refused(toolong,
                  "job option 'stragglers.7' is longer than 511 characters");
    s_set_refused("model_dir=a\nmodel_dir=b",
                  "job option 'model_dir' holds a control character (a "
                  "newline or tab): give it on one line of printable "
                  "characters");
    s_set_refused("stragglers.1=slow\t2",
                  "job option 'stragglers.1' holds a control character (a "
                  "newline or tab): give it on one line of printable "
                  "characters");
}

/* Refusals of names outside an option's list; names are case-sensitive. */
static void test_refused_names(void)
{
    s_set_refused("model=cnn", "model 'cnn' is unknown: use softmax, mlp, "
                               "sparse_lr, embedding_mlp or bench");
    s_set_refused("optimizer=adamw", "optimizer 'adamw' is unknown: use sgd, "
                                     "momentum, adagrad or adam");
    s_set_refused("optimizer=Adam", "optimizer 'Adam' is unknown: use sgd, "
                                    "momentum, adagrad or adam");
    s_set_refused("lr_decay=cosine", "lr_decay 'cosine' is unknown: use none, "
                                     "exponential or inverse_time");
    s_set_refused("mode=semi", "mode 'semi' is unknown: use sync, async or "
                               "softsync");
    s_set_refused("staleness_policy=scale",
                  "staleness_policy 'scale' is unknown: use none, inverse, "
                  "drop, inverse_plus_one or divide_by_workers");
    s_set_refused("late_policy=skip",
                  "late_policy 'skip' is unknown: use finish or abort");
    s_set_refused("eval_every_steps=-1",
                  "eval_every_steps -1 is out of range: use 0 to "
                  "1000000000000");
    s_set_refused("data.sharding=random",
                  "data.sharding 'random' is unknown: use shard or sample");
    s_set_refused("wire_dtype=bf16",
                  "wire_dtype 'bf16' is unknown: use f32 or f16");
    s_set_refused("export_quantize=int4",
                  "export_quantize 'int4' is unknown: use none or int8");
    s_set_refused("model_name=../up",
                  "model_name '../up' is not a folder name: use letters, "
                  "digits, '_', '-' and '.', not first");
    s_set_refused("class_names=a,b,c",
                  "class_names names 3 classes, the data has 10: give one "
                  "name per label, separated by commas");
    s_set_refused("class_names=a,,c",
                  "class_names: name 2 is empty, longer than 63 bytes, holds "
                  "a quote, backslash or control character, or is one too "
                  "many");
}

/* The class names, split. */
static void test_class_names(void)
{
    char err[PSC_ERR_LEN] = "";
    char names[16][JOB_CLASS_NAME_LEN];
    struct job *job = s_job_set("class_names=0,1,2,3,4,5,6,7,8,nine 9");
    CHECK_EQ(job_class_names(job, names, 16, err), 10);
    CHECK_STR(names[9], "nine 9");
    CHECK_EQ(job_class_names(job, names, 9, err), PSC_ECONFIG);
    job_destroy(&job);
}

/* Refusals of values out of range: each names the option, its value and
 * its range. */
static void test_refused_ranges(void)
{
    s_set_refused("learning_rate=0",
                  "learning_rate 0 is out of range: use 1e-10 to 100");
    s_set_refused("learning_rate=-0.5",
                  "learning_rate -0.5 is out of range: use 1e-10 to 100");
    /* Finite as a double, infinite as the float the optimizers use. */
    s_set_refused("learning_rate=1e39",
                  "learning_rate 1e+39 is out of range: use 1e-10 to 100");
    s_set_refused("learning_rate=inf",
                  "job option 'learning_rate' is 'inf': give a finite number");
    s_set_refused("learning_rate=-inf",
                  "job option 'learning_rate' is '-inf': give a finite number");
    s_set_refused("learning_rate=1e309", "job option 'learning_rate' is "
                                         "'1e309': give a finite number");
    s_set_refused("batch_size=0",
                  "batch_size 0 is out of range: use 1 to 65536");
    s_set_refused("batch_size=65537",
                  "batch_size 65537 is out of range: use 1 to 65536");
    s_set_refused("epochs=-1", "epochs -1 is out of range: use 0 to 1000000");
    s_set_refused("max_steps=-1",
                  "max_steps -1 is out of range: use 0 to 1000000000000");
    s_set_refused("epochs=0",
                  "epochs and max_steps are both 0: set one of them");
    s_set_refused("hidden=", "hidden is empty: an mlp needs at least one "
                             "hidden layer, e.g. [256, 128]");

    s_set_refused("momentum=1", "momentum 1 is out of range: use 0 to below 1");
    s_set_refused("momentum=-0.1",
                  "momentum -0.1 is out of range: use 0 to below 1");
    s_set_refused("adam_beta1=1",
                  "adam_beta1 1 is out of range: use 0 to below 1");
    s_set_refused("adam_beta2=1.5",
                  "adam_beta2 1.5 is out of range: use 0 to below 1");
    s_set_refused("adam_beta2=-1",
                  "adam_beta2 -1 is out of range: use 0 to below 1");

    s_set_refused("epsilon=0", "epsilon 0 is out of range: use 1e-30 to 10");
    s_set_refused("epsilon=1e-40",
                  "epsilon 1e-40 is out of range: use 1e-30 to 10");
    s_set_refused("lr_decay_rate=0",
                  "lr_decay_rate 0 is out of range: use 1e-10 to 1e+06");
    s_set_refused("lr_decay_steps=-1",
                  "lr_decay_steps -1 is out of range: use 0.001 to 1e+12");
    s_set_refused("adagrad_initial=-0.1",
                  "adagrad_initial -0.1 is out of range: use 0 to 1e+06");
    s_set_refused("max_grad_norm=-1",
                  "max_grad_norm -1 is out of range: use 0 to 1e+30");
    const char *grow[] = {"lr_decay=exponential", "lr_decay_rate=1.5"};
    s_refused(NULL, grow, 2,
              "lr_decay_rate 1.5 grows the learning rate without bound: use "
              "at most 1 with lr_decay exponential");
    const char *inverse[] = {"lr_decay=inverse_time", "lr_decay_rate=1.5"};
    struct job *job = s_job(NULL, inverse, 2);
    job_destroy(&job);

    s_set_refused("replicas_to_aggregate=-1",
                  "replicas_to_aggregate -1 is out of range: use 0 to 1000000");
    s_set_refused("max_staleness=-1",
                  "max_staleness -1 is out of range: use 0 to 1000000000");
    s_set_refused("warmup_steps=-1",
                  "warmup_steps -1 is out of range: use 0 to 1000000000000");
    s_set_refused("ssp_bound=-2",
                  "ssp_bound -2 is out of range: use -1 to 1000000000");
    s_set_refused("data.train_limit=-1",
                  "data.train_limit -1 is out of range: use 0 to 1000000000");
    s_set_refused("data.test_limit=-5",
                  "data.test_limit -5 is out of range: use 0 to 1000000000");

    s_set_refused("log_interval_s=0",
                  "log_interval_s 0 is out of range: use 0.001 to 86400");
    s_set_refused("eval_interval_s=-1",
                  "eval_interval_s -1 is out of range: use 0.001 to 86400");
    s_set_refused("startup_timeout_s=0",
                  "startup_timeout_s 0 is out of range: use 0.001 to 86400");
    s_set_refused("startup_timeout_s=1e300",
                  "startup_timeout_s 1e+300 is out of range: use 0.001 to "
                  "86400");
    s_set_refused("heartbeat_interval_s=0",
                  "heartbeat_interval_s 0 is out of range: use 0.001 to 3600");
    s_set_refused("checkpoint_interval_s=-1",
                  "checkpoint_interval_s -1 is out of range: use 0 to 86400");
    s_set_refused("checkpoint_interval_s=1e9",
                  "checkpoint_interval_s 1e+09 is out of range: use 0 to "
                  "86400");
    s_set_refused("checkpoint_steps=-1",
                  "checkpoint_steps -1 is out of range: use 0 to "
                  "1000000000000");
    s_set_refused("keep_checkpoints=0",
                  "keep_checkpoints 0 is out of range: use 1 to 1000000");
    s_set_refused("heartbeat_timeout_s=1.5",
                  "heartbeat_timeout_s 1.5 must be at least twice "
                  "heartbeat_interval_s 1");
    const char *hb[] = {"heartbeat_interval_s=3", "heartbeat_timeout_s=5"};
    s_refused(NULL, hb, 2,
              "heartbeat_timeout_s 5 must be at least twice "
              "heartbeat_interval_s 3");
    const char *day[] = {"startup_timeout_s=86400", "log_interval_s=0.001",
                         "checkpoint_interval_s=0", "heartbeat_interval_s=3600",
                         "heartbeat_timeout_s=86400"};
    job = s_job(NULL, day, 5);
    job_destroy(&job);

    s_set_refused("blas_threads=0",
                  "blas_threads 0 is out of range: use 1 to 256");
    s_set_refused("blas_threads=257",
                  "blas_threads 257 is out of range: use 1 to 256");
    s_set_refused("zmq_io_threads=0",
                  "zmq_io_threads 0 is out of range: use 1 to 64");
    s_set_refused("zmq_io_threads=65",
                  "zmq_io_threads 65 is out of range: use 1 to 64");
    s_set_refused("apply_threads=-1",
                  "apply_threads -1 is out of range: use 0 to 64");
    s_set_refused("apply_threads=65",
                  "apply_threads 65 is out of range: use 0 to 64");
    const char *edges[] = {"blas_threads=256", "zmq_io_threads=64",
                           "apply_threads=64", "slice_min_bytes=4",
                           "zmq_sockbuf_bytes=1073741824"};
    job = s_job(NULL, edges, 5);
    job_destroy(&job);
    job = s_job_set("zmq_sockbuf_bytes=0");
    job_destroy(&job);

    s_set_refused("slice_min_bytes=3",
                  "slice_min_bytes 3 is out of range: use 4 to 1099511627776");
    s_set_refused("zmq_sockbuf_bytes=-1",
                  "zmq_sockbuf_bytes -1 is out of range: use 0 to 1073741824");
    s_set_refused("zmq_sockbuf_bytes=1073741825",
                  "zmq_sockbuf_bytes 1073741825 is out of range: use 0 to "
                  "1073741824");

    s_set_refused("bench.dense_floats=-1",
                  "bench.dense_floats -1 is out of range: use 0 to "
                  "17179869184");
    s_set_refused("bench.dense_floats=17179869185",
                  "bench.dense_floats 17179869185 is out of range: use 0 to "
                  "17179869184");
    s_set_refused("bench.sparse_rows=-1",
                  "bench.sparse_rows -1 is out of range: use 0 to "
                  "1099511627776");
    s_set_refused("bench.sparse_rows=1099511627777",
                  "bench.sparse_rows 1099511627777 is out of range: use 0 to "
                  "1099511627776");
    s_set_refused("sparse.width=0",
                  "sparse.width 0 is out of range: use 1 to 65536");
    s_set_refused("sparse.width=65537",
                  "sparse.width 65537 is out of range: use 1 to 65536");
    s_set_refused("model=sparse_lr",
                  "model sparse_lr reads sparse features: set data.format to "
                  "libsvm or synth");
    s_set_refused("data.format=synth",
                  "model mlp reads images: data.format 'synth' is for models "
                  "sparse_lr and embedding_mlp (or set data.format to idx)");
    s_set_refused("model=embedding_mlp",
                  "model embedding_mlp reads sparse features: set data.format "
                  "to libsvm or synth");
    const char *emb_wide[] = {"model=embedding_mlp", "data.format=synth",
                              "sparse.width=65"};
    s_refused(NULL, emb_wide, 3,
              "sparse.width 65 is out of range for model embedding_mlp: give "
              "an embedding width of 8 to 64");
    const char *emb_abort[] = {"model=embedding_mlp", "data.format=synth",
                               "sparse.width=16", "late_policy=abort"};
    s_refused(NULL, emb_abort, 4,
              "late_policy abort is for the dense models (softmax, mlp), not "
              "model embedding_mlp: set late_policy to finish");
    s_set_refused("data.format=csv", "data.format 'csv' is unknown: use idx, "
                                     "libsvm or synth");
    const char *sparse_abort[] = {"model=sparse_lr", "data.format=synth",
                                  "late_policy=abort"};
    s_refused(NULL, sparse_abort, 3,
              "late_policy abort is for the dense models (softmax, mlp), not "
              "model sparse_lr: set late_policy to finish");
    const char *empty[] = {"model=bench", "bench.dense_floats=0"};
    s_refused(NULL, empty, 2,
              "model bench has no variables: set bench.dense_floats or "
              "bench.sparse_rows");

    /* Paths that cannot be empty. */
    s_set_refused("model_dir=",
                  "model_dir is empty: set it (metrics.jsonl, eval.jsonl and "
                  "the checkpoints go here)");
    s_set_refused("data.dir=",
                  "data.dir is empty: set it (folder of relative data paths)");
    s_set_refused("data.test_labels=",
                  "data.test_labels is empty: set it (path or URL)");
    /* A range is checked once every source is read: a --set repairs. */
    const char *repair[] = {"model_dir=", "model_dir=out"};
    job = s_job(NULL, repair, 2);
    job_destroy(&job);
}

/* Refusals of straggler specs and data files. */
/* The accepted forms every straggler message ends with (straggler.c). */
#define STRAGGLER_FORMS                                                    \
    "use none, a base (fixed:MS, exp:MEAN_MS, shiftexp:SHIFT_MS:MEAN_MS, " \
    "uniform:LO_MS:HI_MS), a factor (slow:K, p:PROB:K) or BASE*FACTOR"

static void test_refused_specs(void)
{
    s_set_refused("stragglers.default=bogus",
                  "straggler 'bogus' is not valid: " STRAGGLER_FORMS);
    s_set_refused("stragglers.default=",
                  "straggler '' is not valid: " STRAGGLER_FORMS);
    s_set_refused(
        "stragglers.5=slow:0.5",
        "straggler 'slow:0.5' is not valid: K must be >= 1; " STRAGGLER_FORMS);
    s_set_refused("stragglers.0=p:2:3",
                  "straggler 'p:2:3' is not valid: PROB must be between 0 and "
                  "1; " STRAGGLER_FORMS);
    s_set_refused(
        "stragglers.1=fixed:-1",
        "straggler 'fixed:-1' is not valid: MS must be >= 0; " STRAGGLER_FORMS);
    s_set_refused("stragglers.1=uniform:3:2*slow:2",
                  "straggler 'uniform:3:2*slow:2' is not valid: LO_MS must be "
                  "<= HI_MS; " STRAGGLER_FORMS);
    s_set_refused("stragglers.1=slow:2*p:0.5:2",
                  "straggler 'slow:2*p:0.5:2' is not valid: at most one base "
                  "and one factor; " STRAGGLER_FORMS);

    s_set_refused("data.train_images_sha256=" SHA63,
                  "data.train_images_sha256 '" SHA63 "' is not a SHA-256: "
                  "give 64 hexadecimal digits (sha256sum FILE)");
    s_set_refused("data.test_images_sha256=abc",
                  "data.test_images_sha256 'abc' is not a SHA-256: give 64 "
                  "hexadecimal digits (sha256sum FILE)");
    char sha[128];
    snprintf(sha, sizeof sha, "data.train_labels_sha256=%.63sg", SHA_A);
    s_set_refused(sha, "data.train_labels_sha256 "
                       "'0123456789abcdef0123456789abcdef0123456789abcdef"
                       "0123456789abcdeg' is not a SHA-256: give 64 "
                       "hexadecimal digits (sha256sum FILE)");
    s_set_refused("data.train_labels=http://h/x.gz",
                  "data.train_labels is a URL but data.train_labels_sha256 is "
                  "not set: give the file's SHA-256 so the download can be "
                  "checked");
    s_set_refused("data.test_labels=https://h/x.gz",
                  "data.test_labels is a URL but data.test_labels_sha256 is "
                  "not set: give the file's SHA-256 so the download can be "
                  "checked");
    /* Upper-case hex is a SHA-256 too, and file:// needs none. */
    const char *ok[] = {
        "data.test_labels=https://h/x.gz",
        "data.test_labels_sha256="
        "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
        "data.test_images=file:///srv/t10k.gz",
    };
    struct job *job = s_job(NULL, ok, 3);
    char loc[JOB_STR];
    job_data_location(job, JOB_TEST_IMAGES, loc, sizeof loc);
    CHECK_STR(loc, "file:///srv/t10k.gz");
    job_data_location(job, JOB_TRAIN_IMAGES, loc, sizeof loc);
    CHECK_STR(loc,
              "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
    job_destroy(&job);
}

/* Refusals of a job file: reading, JSON syntax, shape and kinds of values. */
static void test_refused_file(void)
{
    char path[64];
    s_write(path, sizeof path, "");
    CHECK_OK(unlink(path));
    char want[PSC_ERR_LEN];
    snprintf(want, sizeof want,
             "cannot read job file '%s': unable to open %s: No such file or "
             "directory",
             path, path);
    s_refused(path, NULL, 0, want);

    s_file_refused("{\"model\": }",
                   "job file '@' is not valid JSON (line 1, column 11: "
                   "unexpected token near '}'): fix the JSON syntax");
    s_file_refused("{\"model\": \"mlp\",\n \"seed\": 1,,}",
                   "job file '@' is not valid JSON (line 2, column 12: "
                   "string or '}' expected near ','): fix the JSON syntax");
    s_file_refused("", "job file '@' is not valid JSON (line 1, column 0: "
                       "'[' or '{' expected near end of file): fix the JSON "
                       "syntax");
    s_file_refused("[1, 2]", "job file '@' must hold a JSON object");

    s_file_refused("{\"learning_rat\": 0.1}",
                   "job option 'learning_rat' is unknown: see --help-job for "
                   "the options");
    s_file_refused("{\"data\": {\"bogus\": 1}}",
                   "job option 'data.bogus' is unknown: see --help-job for "
                   "the options");
    s_file_refused("{\"stragglers\": {\"64\": \"none\"}}",
                   "job option 'stragglers.64' names no worker: use "
                   "stragglers.default or stragglers.N with N < 64");
    s_file_refused("{\"batch_size\": null}",
                   "job option 'batch_size' is null: write a whole number "
                   "without quotes, e.g. 64");
    s_file_refused("{\"model\": {\"name\": \"mlp\"}}",
                   "job option 'model' is an object: write a string in quotes");
    /* Only data, stragglers and security nest; bench.* is written flat. */
    s_file_refused("{\"bench\": {\"dense_floats\": 5}}",
                   "job option 'bench' is an object: only data, stragglers "
                   "and security hold options; write the others flat, e.g. "
                   "\"bench.x\"");
    s_file_refused("{\"security\": {\"curve\": true}}",
                   "job option 'security.keys_dir' is empty while "
                   "'security.curve' is on: give the folder psc-keygen wrote "
                   "the cluster's keys into");
    s_file_refused("{\"data\": {\"dir\": {\"x\": 1}}}",
                   "job option 'data.dir' is an object: write a string in "
                   "quotes");
    /* Types are not coerced: a string is no number, a real no integer. */
    s_file_refused("{\"batch_size\": \"many\"}",
                   "job option 'batch_size' is the string \"many\": write a "
                   "whole number without quotes, e.g. 64");
    s_file_refused("{\"batch_size\": \"64\"}",
                   "job option 'batch_size' is the string \"64\": write a "
                   "whole number without quotes, e.g. 64");
    s_file_refused("{\"batch_size\": 64.5}",
                   "job option 'batch_size' is the number 64.5: write a whole "
                   "number without quotes, e.g. 64");
    s_file_refused("{\"batch_size\": 64.0}",
                   "job option 'batch_size' is the number 64.0: write a whole "
                   "number without quotes, e.g. 64");
    s_file_refused("{\"data\": {\"train_limit\": 1e3}}",
                   "job option 'data.train_limit' is the number 1000.0: write "
                   "a whole number without quotes, e.g. 64");
    s_file_refused("{\"batch_size\": 222e22}",
                   "job option 'batch_size' is the number 2.22e+24: write a "
                   "whole number without quotes, e.g. 64");
    s_file_refused("{\"learning_rate\": \"0.1\"}",
                   "job option 'learning_rate' is the string \"0.1\": write a "
                   "number without quotes, e.g. 0.001");
    s_file_refused("{\"learning_rate\": true}",
                   "job option 'learning_rate' is true: write a number "
                   "without quotes, e.g. 0.001");
    s_file_refused("{\"nesterov\": \"yes\"}",
                   "job option 'nesterov' is the string \"yes\": write true "
                   "or false without quotes");
    s_file_refused("{\"nesterov\": 1}",
                   "job option 'nesterov' is the whole number 1: write true or "
                   "false without quotes");
    s_file_refused("{\"model_dir\": 5}",
                   "job option 'model_dir' is the whole number 5: write a "
                   "string in quotes");
    s_file_refused("{\"model_dir\": \"\"}",
                   "model_dir is empty: set it (metrics.jsonl, eval.jsonl and "
                   "the checkpoints go here)");
    s_file_refused("{\"startup_timeout_s\": 1e300}",
                   "startup_timeout_s 1e+300 is out of range: use 0.001 to "
                   "86400");
    s_file_refused("{\"hidden\": \"256,128\"}",
                   "job option 'hidden' is the string \"256,128\": write a "
                   "list of whole numbers, e.g. [256, 128]");
    s_file_refused("{\"hidden\": [256, 1.5]}",
                   "job option 'hidden' must be a list of whole numbers");
    s_file_refused("{\"hidden\": [256, \"128\"]}",
                   "job option 'hidden' must be a list of whole numbers");
    s_file_refused("{\"hidden\": [1, 2, 3, 4, 5, 6, 7, 8, 9]}",
                   "job option 'hidden' has more than 8 layers");
    s_file_refused("{\"optimizer\": \"adamw\"}",
                   "optimizer 'adamw' is unknown: use sgd, momentum, adagrad "
                   "or adam");
    s_file_refused("{\"learning_rate\": -1}",
                   "learning_rate -1 is out of range: use 1e-10 to 100");
    s_file_refused("{\"stragglers\": {\"2\": 5}}",
                   "job option 'stragglers.2' is the whole number 5: write a "
                   "string in quotes");

    /* A list whose text passes JOB_STR is refused, not cut short. */
    char list[2048];
    size_t off = (size_t) snprintf(list, sizeof list, "{\"hidden\": [");
    for (int i = 0; i < 150; i++)
        off += (size_t) snprintf(list + off, sizeof list - off, "%s12345",
                                 i ? ", " : "");
    snprintf(list + off, sizeof list - off, "]}");
    s_file_refused(list, "job option 'hidden' is too long");

    /* The error buffer is optional, on every path. */
    const char *bad[] = {"bogus=1"};
    CHECK(job_new(NULL, bad, 1, NULL) == NULL);
    const char *badspec[] = {"stragglers.default=x"};
    CHECK(job_new(NULL, badspec, 1, NULL) == NULL);
    CHECK(job_new(path, NULL, 0, NULL) == NULL);
}

/* Equal jobs give equal text and fingerprint however they were written. */
static void test_fingerprint(void)
{
    const char *text = "{\"learning_rate\": 0.01, \"hidden\": [64],"
                       " \"data\": {\"dir\": \"/d\"},"
                       " \"stragglers\": {\"1\": \"slow:2\"}}";
    const char *sets[] = {"learning_rate=0.01", "hidden=64", "data.dir=/d",
                          "stragglers.1=slow:2"};
    struct job *a = s_file_job(text, NULL, 0);
    struct job *b = s_job(NULL, sets, 4);
    char *ta = job_canonical(a);
    char *tb = job_canonical(b);
    CHECK_STR(ta, tb);
    CHECK_EQ(job_fingerprint(a), job_fingerprint(b));
    CHECK_EQ(job_fingerprint(a), job_fingerprint(a));
    char out[PSC_ERR_LEN] = "";
    CHECK_EQ(job_diff(ta, tb, out, sizeof out), 0);

    /* A change to an option, or to a worker's straggler, shows. */
    const char *other[] = {"learning_rate=0.01", "hidden=64", "data.dir=/d",
                           "stragglers.1=slow:2", "learning_rate=0.02"};
    struct job *c = s_job(NULL, other, 5);
    char *tc = job_canonical(c);
    CHECK(strcmp(ta, tc) != 0);
    CHECK(job_fingerprint(a) != job_fingerprint(c));
    CHECK_EQ(job_diff(ta, tc, out, sizeof out), 1);
    CHECK_STR(out, "'learning_rate' is '0.01' there, '0.02' here");

    struct job *d = s_job(NULL, sets, 3);
    char *td = job_canonical(d);
    CHECK(job_fingerprint(a) != job_fingerprint(d));
    CHECK_EQ(job_diff(ta, td, out, sizeof out), 1);
    CHECK_STR(out, "'stragglers.1' is 'slow:2' there, '(unset)' here");
    CHECK_EQ(job_diff(td, ta, out, sizeof out), 1);
    CHECK_STR(out, "'stragglers.1' is '(unset)' there, 'slow:2' here");

    /* Peers built apart compare fingerprints, so the hash is fixed. */
    uint64_t h = 1469598103934665603ull;
    for (const char *p = ta; *p != '\0'; p++) {
        h ^= (uint8_t) *p;
        h *= 1099511628211ull;
    }
    CHECK(job_fingerprint(a) == h);

    /* Writing a default out changes nothing. */
    struct job *e = s_job_set("optimizer=adam");
    struct job *f = s_job(NULL, NULL, 0);
    CHECK_EQ(job_fingerprint(e), job_fingerprint(f));

    free(ta);
    free(tb);
    free(tc);
    free(td);
    job_destroy(&a);
    job_destroy(&b);
    job_destroy(&c);
    job_destroy(&d);
    job_destroy(&e);
    job_destroy(&f);
}

/* Steps from max_steps, or from epochs over what one step consumes. */
static void test_total_steps(void)
{
    struct job *job = s_job(NULL, NULL, 0);
    /* Sync with replicas_to_aggregate 0 averages over every worker. */
    CHECK_EQ(job_total_steps(job, 60000, 2), 5L * 60000 / (64 * 2));
    CHECK_EQ(job_total_steps(job, 60000, 1), 5L * 60000 / 64);
    /* Too few examples for one step still runs one. */
    CHECK_EQ(job_total_steps(job, 10, 2), 1);
    job_destroy(&job);

    job = s_job_set("replicas_to_aggregate=1");
    CHECK_EQ(job_total_steps(job, 60000, 3), 5L * 60000 / 64);
    job_destroy(&job);

    /* In async mode every gradient is a step of its own. */
    const char *async[] = {"mode=async", "batch_size=100", "epochs=2"};
    job = s_job(NULL, async, 3);
    CHECK_EQ(job_total_steps(job, 60000, 4), 1200);
    job_destroy(&job);

    /* Softsync: an update takes c = workers / softsync_n gradients. */
    const char *soft[] = {"mode=softsync", "softsync_n=2", "batch_size=100",
                          "epochs=2"};
    job = s_job(NULL, soft, 4);
    CHECK_EQ(job_total_steps(job, 60000, 4), 600);
    job_destroy(&job);

    const char *steps[] = {"max_steps=250", "epochs=0"};
    job = s_job(NULL, steps, 2);
    CHECK_EQ(job_total_steps(job, 60000, 2), 250);
    job_destroy(&job);
    job = s_job_set("max_steps=7");
    CHECK_EQ(job_total_steps(job, 60000, 2), 7);
    job_destroy(&job);
}

int main(void)
{
    test_defaults();
    test_canonical_defaults();
    test_help();
    test_file();
    test_precedence();
    test_value_forms();
    test_names();
    test_stragglers();
    test_canonical_long();
    test_check_cluster();
    test_check_softsync();
    test_refused_syntax();
    test_refused_names();
    test_class_names();
    test_refused_ranges();
    test_refused_specs();
    test_refused_file();
    test_fingerprint();
    test_total_steps();
    printf("job_test: all checks passed\n");
    return 0;
}
