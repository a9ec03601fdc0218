/*
 * libsvm: binary (0/1 and -1/+1), multiclass, gzipped, comments, qid and
 * feature hashing read right; every malformed line refused with its file,
 * line number and the token.
 */
#include "libsvm.h"

#include "fhash.h"
#include "psc_err.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static char s_dir[] = "/tmp/libsvm_test.XXXXXX";

static const char *s_file(const char *name, const char *text, int gz)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    if (gz) {
        gzFile f = gzopen(path, "wb");
        CHECK(f != NULL);
        CHECK_EQ(gzputs(f, text), (int) strlen(text));
        CHECK_EQ(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        fputs(text, f);
        CHECK_EQ(fclose(f), 0);
    }
    return path;
}

static const struct libsvm_opts s_binary = {.classes = 2};

static void test_binary(void)
{
    for (int gz = 0; gz < 2; gz++) {
        const char *path = s_file(gz ? "b.svm.gz" : "b.svm",
                                  "# a comment line\n"
                                  "+1 3:0.5 10:1 # the first\n"
                                  "\n"
                                  "-1 qid:7 1:2.5e-1\t4:-3\n"
                                  "0\n"
                                  "1 18446744073709551615:1",
                                  gz);
        struct sparse_set s;
        char err[PSC_ERR_LEN] = "";
        CHECK_OK(libsvm_load(path, &s_binary, &s, err));
        CHECK_EQ(s.n, 4);
        CHECK_EQ(s.nnz, 5);
        CHECK_NEAR(s.labels[0], 1, 0);
        CHECK_NEAR(s.labels[1], 0, 0);
        CHECK_NEAR(s.labels[2], 0, 0);
        CHECK_NEAR(s.labels[3], 1, 0);
        CHECK_EQ(s.starts[1], 2);
        CHECK_EQ(s.starts[2], 4);
        CHECK_EQ(s.starts[3], 4); /* an example with no features */
        CHECK_EQ(s.keys[0], 3);
        CHECK_NEAR(s.values[0], 0.5, 0);
        CHECK_EQ(s.keys[2], 1);
        CHECK_NEAR(s.values[3], -3, 0);
        CHECK(s.keys[4] == UINT64_MAX);
        sparse_set_release(&s);
    }
}

static void test_multiclass_and_hashing(void)
{
    const char *path = s_file("m.svm", "0 1:1\n4 2:1 900000000000:1\n2\n", 0);
    struct libsvm_opts o = {
        .classes = 5, .hash_buckets = 1000, .hash_seed = 42};
    struct sparse_set s;
    char err[PSC_ERR_LEN] = "";
    CHECK_OK(libsvm_load(path, &o, &s, err));
    CHECK_EQ(s.n, 3);
    CHECK_NEAR(s.labels[1], 4, 0);
    CHECK_EQ(s.keys[0], fhash_bucket(1, 42, 1000));
    CHECK_EQ(s.keys[2], fhash_bucket(900000000000ull, 42, 1000));
    CHECK(s.keys[2] < 1000);
    sparse_set_release(&s);
    o.max_examples = 2;
    CHECK_OK(libsvm_load(path, &o, &s, err));
    CHECK_EQ(s.n, 2);
    sparse_set_release(&s);
}

static void s_refused(const char *text, int classes, const char *words)
{
    const char *path = s_file("bad.svm", text, 0);
    struct libsvm_opts o = {.classes = classes};
    struct sparse_set s;
    char err[PSC_ERR_LEN] = "";
    CHECK_EQ(libsvm_load(path, &o, &s, err), PSC_EINVAL);
    CHECK(s.n == 0 && s.labels == NULL);
    if (strstr(err, words) == NULL) {
        fprintf(stderr, "'%s': error '%s' lacks '%s'\n", text, err, words);
        exit(1);
    }
}

static void test_refused(void)
{
    s_refused("1 1:1\nx 2:1\n", 2, "bad.svm:2: label 'x' is not a number");
    s_refused("1 1:1\n2 2:1\n", 2, "bad.svm:2: label 2 is not binary");
    s_refused("1 1:1\n0.5 2:1\n", 3, ":2: label 0.5 is not a class");
    s_refused("3 1:1\n", 3, ":1: label 3 is not a class: with 3 classes");
    s_refused("-1 1:1\n", 3, ":1: label -1 is not a class");
    s_refused("1 1:1 2\n", 2, ":1: feature '2' is not INDEX:VALUE");
    s_refused("1 a:1\n", 2, ":1: feature 'a:1' is not INDEX:VALUE");
    s_refused("1 -3:1\n", 2, ":1: feature '-3:1' is not INDEX:VALUE");
    s_refused("1 18446744073709551616:1\n", 2, "is not INDEX:VALUE");
    s_refused("1 3:nan\n", 2, ":1: feature '3:nan' has no finite float");
    s_refused("1 3:1e39\n", 2, ":1: feature '3:1e39' has no finite float");
    s_refused("1 3:\n", 2, ":1: feature '3:' has no finite float");
    s_refused("1 3:1x\n", 2, ":1: feature '3:1x' has no finite float");
    s_refused("# only a comment\n\n", 2, "bad.svm: no examples");
    s_refused("nan 1:1\n", 2, "label 'nan' is not a number");
    struct sparse_set s;
    char err[PSC_ERR_LEN] = "";
    CHECK_EQ(libsvm_load("/nonexistent/x.svm", &s_binary, &s, err),
             PSC_ENOTFOUND);
    CHECK_CONTAINS(err, "cannot open '/nonexistent/x.svm'");
}

/* A line longer than the first buffer, read whole. */
static void test_long_line(void)
{
    size_t n = 5000;
    char *text = malloc(n * 12 + 16);
    CHECK(text != NULL);
    size_t at = (size_t) sprintf(text, "1");
    for (size_t i = 0; i < n; i++)
        at += (size_t) sprintf(text + at, " %zu:1", i);
    sprintf(text + at, "\n0 7:2\n");
    const char *path = s_file("long.svm", text, 1);
    free(text);
    struct sparse_set s;
    char err[PSC_ERR_LEN] = "";
    CHECK_OK(libsvm_load(path, &s_binary, &s, err));
    CHECK_EQ(s.n, 2);
    CHECK_EQ(s.starts[1], n);
    CHECK_EQ(s.keys[n - 1], n - 1);
    CHECK_EQ(s.keys[n], 7);
    sparse_set_release(&s);
}

int main(void)
{
    CHECK(mkdtemp(s_dir) != NULL);
    test_binary();
    test_multiclass_and_hashing();
    test_refused();
    test_long_line();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    CHECK_EQ(system(cmd), 0);
    puts("libsvm_test: ok");
    return 0;
}
