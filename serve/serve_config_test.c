/*
 * serve_config: TF Serving's flags in both forms and their defaults, the
 * text-format model config and batching parameters, and one-line errors
 * that name the flag or the file and line.
 */
#include "serve_config.h"

#include "ckpt_fixture.h"
#include "psc_err.h"
#include "test.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define ARGC(a) ((int) (sizeof(a) / sizeof((a)[0])))

static struct serve_config s_c;
static char s_err[PSC_ERR_LEN];

static int s_parse(int argc, const char **argv)
{
    s_err[0] = '\0';
    /* serve_config_parse() does not write argv; getopt_long's type does. */
    return serve_config_parse(&s_c, argc, (char **) argv, s_err);
}

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    CHECK(fclose(f) == 0);
}

static void test_defaults(void)
{
    const char *argv[] = {"psc-serve", "--model_name=fashion",
                          "--model_base_path", "/models/fashion"};
    CHECK_OK(s_parse(ARGC(argv), argv));
    CHECK_EQ(s_c.rest_api_port, 8501);
    CHECK_EQ(s_c.rest_api_num_threads, 0);
    CHECK_EQ(s_c.max_request_bytes, 16777216);
    CHECK_NEAR(s_c.poll_wait_s, 1.0, 0);
    CHECK_EQ(s_c.batching.enabled, 0);
    CHECK_EQ(s_c.batching.max_batch_size, 32);
    CHECK_EQ(s_c.batching.batch_timeout_micros, 1000);
    CHECK_EQ(s_c.batching.num_batch_threads, sysconf(_SC_NPROCESSORS_ONLN));
    CHECK_EQ(s_c.batching.max_enqueued_batches, 100);
    CHECK_STR(s_c.page_images,
              "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
    CHECK_STR(s_c.tfjs_script, "");
    CHECK_EQ(s_c.help, 0);
    CHECK_EQ(s_c.nmodels, 1);
    CHECK_STR(s_c.models[0].name, "fashion");
    CHECK_STR(s_c.models[0].base_path, "/models/fashion");
    CHECK_EQ(s_c.models[0].policy, SERVE_LATEST);
    CHECK_EQ(s_c.models[0].num_versions, 1);
    CHECK(serve_config_model(&s_c, "fashion") == &s_c.models[0]);
    CHECK(serve_config_model(&s_c, "other") == NULL);
}

static void test_flags(void)
{
    const char *argv[] = {"psc-serve",
                          "--model_name",
                          "m-1.b_2",
                          "--model_base_path=/b",
                          "--rest_api_port=0",
                          "--rest_api_num_threads",
                          "3",
                          "--max_request_bytes=1024",
                          "--file_system_poll_wait_seconds=0.25",
                          "--enable_batching",
                          "--max_batch_size=8",
                          "--batch_timeout_micros",
                          "0",
                          "--num_batch_threads=2",
                          "--max_enqueued_batches=7",
                          "--batch",
                          "in.jsonl",
                          "--out=out.jsonl",
                          "--strict",
                          "--page_images=/tmp/x.idx",
                          "--tfjs_script",
                          "/tmp/tf.min.js"};
    CHECK_OK(s_parse(ARGC(argv), argv));
    CHECK_STR(s_c.models[0].name, "m-1.b_2");
    CHECK_EQ(s_c.rest_api_port, 0);
    CHECK_EQ(s_c.rest_api_num_threads, 3);
    CHECK_EQ(s_c.max_request_bytes, 1024);
    CHECK_NEAR(s_c.poll_wait_s, 0.25, 0);
    CHECK_EQ(s_c.batching.enabled, 1);
    CHECK_EQ(s_c.batching.max_batch_size, 8);
    CHECK_EQ(s_c.batching.batch_timeout_micros, 0);
    CHECK_EQ(s_c.batching.num_batch_threads, 2);
    CHECK_EQ(s_c.batching.max_enqueued_batches, 7);
    CHECK_STR(s_c.batch_in, "in.jsonl");
    CHECK_STR(s_c.batch_out, "out.jsonl");
    CHECK_EQ(s_c.strict, 1);
    CHECK_STR(s_c.page_images, "/tmp/x.idx");
    CHECK_STR(s_c.tfjs_script, "/tmp/tf.min.js");

    const char *on[] = {"psc-serve", "--model_name=a", "--model_base_path=/b",
                        "--enable_batching=true"};
    CHECK_OK(s_parse(ARGC(on), on));
    CHECK_EQ(s_c.batching.enabled, 1);
    const char *off[] = {"psc-serve", "--enable_batching", "--model_name=a",
                         "--model_base_path=/b", "--enable_batching=false"};
    CHECK_OK(s_parse(ARGC(off), off));
    CHECK_EQ(s_c.batching.enabled, 0);

    const char *help[] = {"psc-serve", "--help"};
    CHECK_OK(s_parse(ARGC(help), help));
    CHECK_EQ(s_c.help, 1);
}

/* argv (after the program name) fails with PSC_ECONFIG and an err line. */
static void s_refused(const char *a, const char *b, const char *c,
                      const char *want)
{
    const char *argv[] = {"psc-serve", a, b, c};
    int argc = c != NULL ? 4 : b != NULL ? 3 : 2;
    CHECK_EQ(s_parse(argc, argv), PSC_ECONFIG);
    CHECK_CONTAINS(s_err, want);
    CHECK(strchr(s_err, '\n') == NULL);
}

static void test_flag_errors(void)
{
    const char *m = "--model_name=a";
    const char *b = "--model_base_path=/b";
    s_refused(m, b, "--rest_api_port=70000", "--rest_api_port: '70000'");
    s_refused(m, b, "--rest_api_port=x", "--rest_api_port");
    s_refused(m, b, "--file_system_poll_wait_seconds=0",
              "--file_system_poll_wait_seconds: '0'");
    s_refused(m, b, "--max_request_bytes=0", "--max_request_bytes");
    s_refused(m, b, "--enable_batching=maybe",
              "--enable_batching: 'maybe' is not true or false");
    s_refused(m, b, "--max_batch_size=0", "--max_batch_size");
    s_refused(m, b, "--bogus", "unknown option '--bogus'");
    s_refused(m, b, "extra", "unexpected argument 'extra'");
    s_refused(m, b, "--batch=in.jsonl", "--batch and --out");
    s_refused(m, b, "--strict", "--strict");
    s_refused(m, b, "--model_config_file_poll_wait_seconds=5",
              "only with --model_config_file");
    s_refused(m, b, "--model_config_file_poll_wait_seconds=-1",
              "--model_config_file_poll_wait_seconds: '-1'");
    s_refused(m, NULL, NULL, "no model");
    s_refused("--model_name=a/b", b, NULL, "--model_name: 'a/b'");
    s_refused(m, b, "--model_config_file=/x", "not both");
    s_refused("--model_config_file=/nonexistent/cfg", NULL, NULL,
              "cannot open '/nonexistent/cfg'");
    s_refused(m, b, "--batching_parameters_file=/nonexistent/b",
              "cannot open '/nonexistent/b'");
}

static void test_model_config(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/models.config", dir);
    s_write(path,
            "# two models\n"
            "model_config_list {\n"
            "  config {\n"
            "    name: 'fashion'\n"
            "    base_path: \"/models/fashion\"\n"
            "    model_platform: 'tensorflow'\n"
            "    model_version_policy { specific { versions: 1 versions: 2 "
            "} }\n"
            "    version_labels { key: 'stable' value: 1 }\n"
            "    version_labels { key: 'canary' value: 2 }\n"
            "  }\n"
            "  config: {\n"
            "    name: \"digits\", base_path: '/models/digits';\n"
            "    model_version_policy { latest { num_versions: 2 } }\n"
            "  }\n"
            "  config { name: 'all' base_path: '/a' "
            "model_version_policy { all {} } "
            "version_labels { key: 'x' value: 9 } }\n"
            "}\n");
    char flag[4200];
    snprintf(flag, sizeof flag, "--model_config_file=%s", path);
    const char *argv[] = {"psc-serve", flag};
    CHECK_OK(s_parse(ARGC(argv), argv));
    CHECK_EQ(s_c.nmodels, 3);
    const struct serve_model_config *f = serve_config_model(&s_c, "fashion");
    CHECK(f != NULL);
    CHECK_STR(f->base_path, "/models/fashion");
    CHECK_EQ(f->policy, SERVE_SPECIFIC);
    CHECK_EQ(f->nversions, 2);
    CHECK_EQ(f->versions[0], 1);
    CHECK_EQ(f->versions[1], 2);
    CHECK_EQ(f->nlabels, 2);
    CHECK_STR(f->labels[0].label, "stable");
    CHECK_EQ(f->labels[0].version, 1);
    CHECK_STR(f->labels[1].label, "canary");
    CHECK_EQ(f->labels[1].version, 2);
    const struct serve_model_config *d = serve_config_model(&s_c, "digits");
    CHECK(d != NULL);
    CHECK_STR(d->base_path, "/models/digits");
    CHECK_EQ(d->policy, SERVE_LATEST);
    CHECK_EQ(d->num_versions, 2);
    const struct serve_model_config *a = serve_config_model(&s_c, "all");
    CHECK(a != NULL);
    CHECK_EQ(a->policy, SERVE_ALL);
    CHECK_EQ(a->labels[0].version, 9);
}

/* A model config file of text fails with PSC_ECONFIG naming PATH:want. */
static void s_bad_config(const char *dir, const char *text, const char *want)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/bad.config", dir);
    s_write(path, text);
    char flag[4200];
    snprintf(flag, sizeof flag, "--model_config_file=%s", path);
    const char *argv[] = {"psc-serve", flag};
    CHECK_EQ(s_parse(ARGC(argv), argv), PSC_ECONFIG);
    char where[4200];
    snprintf(where, sizeof where, "%s:%s", path, want);
    CHECK_CONTAINS(s_err, where);
    CHECK(strchr(s_err, '\n') == NULL);
}

static void test_config_errors(const char *dir)
{
    s_bad_config(dir,
                 "model_config_list {\n config {\n  name: 'a'\n"
                 "  bogus: 1\n } }\n",
                 "4: unknown field 'bogus' in config");
    s_bad_config(dir, "model_config_list {\n}\nextra {}\n",
                 "3: unknown field 'extra' in config");
    s_bad_config(dir,
                 "model_config_list { config { name: 'a' base_path: '/a'\n"
                 "version_labels { key: 'stable' value: 1 } } }\n",
                 "2: label 'stable' of 'a' needs a specific or all");
    s_bad_config(dir,
                 "model_config_list { config { name: 'a' base_path: '/a'\n"
                 "model_version_policy { specific { versions: 1 } }\n"
                 "version_labels { key: 'c' value: 2 } } }\n",
                 "3: label 'c' of 'a' points at version 2");
    s_bad_config(dir, "model_config_list { config { name: 'a\n } }\n",
                 "1: unterminated string");
    s_bad_config(dir,
                 "model_config_list { config { name: 'a' base_path: '/a'\n",
                 "2: unexpected end of file");
    s_bad_config(dir, "model_config_list { config { base_path: '/a' } }\n",
                 "1: a config has no name");
    s_bad_config(dir, "model_config_list { config { name: 'a' } }\n",
                 "1: model 'a' has no base_path");
    s_bad_config(dir,
                 "model_config_list { config { name: 'a' base_path: 'b' }\n"
                 "config { name: 'a' base_path: 'c' } }\n",
                 "2: model 'a' is configured twice");
    s_bad_config(dir,
                 "model_config_list { config { name: 'a' base_path: 'b'\n"
                 "model_platform: 'pytorch' } }\n",
                 "2: model_platform 'pytorch'");
    s_bad_config(dir,
                 "model_config_list { config { name: 'a' base_path: 'b'\n"
                 "model_version_policy { specific { } } } }\n",
                 "2: specific lists no versions");
    s_bad_config(dir,
                 "model_config_list { config { name: 'a' base_path: 'b'\n"
                 "model_version_policy { newest { } } } }\n",
                 "2: unknown field 'newest' in config");
    s_bad_config(dir, "model_config_list { config { name: 7 } }\n",
                 "1: 'name' needs a quoted string");
    s_bad_config(dir, "model_config_list { config { name 'a' } }\n",
                 "1: expected ':' after 'name'");
    s_bad_config(dir, "model_config_list { config { name: 'a/b' } }\n",
                 "1: model name 'a/b'");
    s_bad_config(dir, "# nothing\n", " no models");
}

static void test_batching_file(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/batching.config", dir);
    s_write(path, "max_batch_size { value: 64 }\n"
                  "batch_timeout_micros { value: 500 }\n"
                  "num_batch_threads { value: 4 }\n"
                  "max_enqueued_batches { value: 10 }\n");
    char flag[4200];
    snprintf(flag, sizeof flag, "--batching_parameters_file=%s", path);
    /* A direct flag wins over the file, wherever it stands. */
    const char *argv[] = {"psc-serve",         "--max_batch_size=16",
                          "--model_name=a",    "--model_base_path=/b",
                          "--enable_batching", flag};
    CHECK_OK(s_parse(ARGC(argv), argv));
    CHECK_EQ(s_c.batching.enabled, 1);
    CHECK_EQ(s_c.batching.max_batch_size, 16);
    CHECK_EQ(s_c.batching.batch_timeout_micros, 500);
    CHECK_EQ(s_c.batching.num_batch_threads, 4);
    CHECK_EQ(s_c.batching.max_enqueued_batches, 10);

    s_write(path, "max_batch_size { value: 64 }\n"
                  "pad_variable_length_inputs: true\n");
    const char *bad[] = {"psc-serve", "--model_name=a", "--model_base_path=/b",
                         flag};
    CHECK_EQ(s_parse(ARGC(bad), bad), PSC_ECONFIG);
    char want[4200];
    snprintf(want, sizeof want,
             "%s:2: unknown field 'pad_variable_length_inputs' in batching "
             "parameters",
             path);
    CHECK_CONTAINS(s_err, want);
    s_write(path, "max_batch_size { value: 0 }\n");
    CHECK_EQ(s_parse(ARGC(bad), bad), PSC_ECONFIG);
    CHECK_CONTAINS(s_err, ":1: max_batch_size must be at least 1");
}

static void test_usage(void)
{
    FILE *f = tmpfile();
    CHECK(f != NULL);
    serve_config_usage(f);
    long n = ftell(f);
    CHECK(n > 0);
    char *text = psc_xcalloc((size_t) n + 1, 1);
    rewind(f);
    CHECK(fread(text, 1, (size_t) n, f) == (size_t) n);
    fclose(f);
    CHECK_CONTAINS(text, "--model_config_file FILE");
    CHECK_CONTAINS(text, "--rest_api_port PORT");
    CHECK_CONTAINS(text, "--enable_batching");
    CHECK_CONTAINS(text, "--batch IN.jsonl");
    free(text);
}

int main(void)
{
    char *dir = fx_tmpdir();
    test_defaults();
    test_flags();
    test_flag_errors();
    test_model_config(dir);
    test_config_errors(dir);
    test_batching_file(dir);
    test_usage();
    fx_rmtree(dir);
    free(dir);
    printf("serve_config_test: ok\n");
    return 0;
}
