/*
 * Unit test for psc_opts: long and short forms, values, operands after the
 * options, one-line errors for an unknown option and a missing value, and
 * a --help text that lists only the listed options, wrapped.
 */
#include "psc_opts.h"

#include "psc_err.h"
#include "test.h"

enum { OPT_JOB = 256, OPT_HIDDEN };

static const struct psc_opt s_table[] = {
    {"job", OPT_JOB, "FILE", "the job file"},
    {"verbose", 'v', NULL, "log debug lines"},
    {"hidden", OPT_HIDDEN, "N", NULL},
    {"help", 'h', NULL,
     "show this help, which is long enough here to need a second line when "
     "it is wrapped at seventy-nine columns"},
};

#define N (sizeof s_table / sizeof s_table[0])

static int s_parse(int argc, char **argv, int *ids, const char **args,
                   char *err)
{
    struct psc_opts p;
    psc_opts_begin(&p, s_table, N, argc, argv);
    int k = 0;
    int id;
    while ((id = psc_opts_next(&p, err)) > 0) {
        ids[k] = id;
        args[k++] = p.arg;
    }
    if (id < 0)
        return id;
    ids[k] = 0;
    args[k] = psc_opts_operand(&p);
    return k;
}

static void s_good(void)
{
    char *argv[] = {"prog",       "--job", "a.json", "-v",
                    "--hidden=3", "rest",  NULL};
    int ids[8];
    const char *args[8];
    char err[PSC_ERR_LEN];
    CHECK_EQ(s_parse(6, argv, ids, args, err), 3);
    CHECK_EQ(ids[0], OPT_JOB);
    CHECK_STR(args[0], "a.json");
    CHECK_EQ(ids[1], 'v');
    CHECK_EQ(ids[2], OPT_HIDDEN);
    CHECK_STR(args[2], "3");
    CHECK_STR(args[3], "rest");
}

static void s_bad(void)
{
    char err[PSC_ERR_LEN];
    int ids[8];
    const char *args[8];
    char *unknown[] = {"prog", "--jobs", "x", NULL};
    CHECK_EQ(s_parse(3, unknown, ids, args, err), PSC_EINVAL);
    CHECK_STR(err, "unknown option '--jobs'");
    char *missing[] = {"prog", "--job", NULL};
    CHECK_EQ(s_parse(2, missing, ids, args, err), PSC_EINVAL);
    CHECK_STR(err, "option '--job' needs a value");
    char *letter[] = {"prog", "-x", NULL};
    CHECK_EQ(s_parse(2, letter, ids, args, err), PSC_EINVAL);
    CHECK_STR(err, "unknown option '-x'");
}

static void s_usage(void)
{
    char text[1024] = {0};
    FILE *f = fmemopen(text, sizeof text - 1, "w");
    CHECK(f != NULL);
    psc_opts_usage(f, s_table, N);
    fclose(f);
    CHECK_CONTAINS(text, "  --job FILE               the job file\n");
    CHECK_CONTAINS(text, "  --verbose                log debug lines\n");
    CHECK(strstr(text, "hidden") == NULL);
    CHECK_CONTAINS(text, "need a\n                           second line");
}

int main(void)
{
    s_good();
    s_bad();
    s_usage();
    return 0;
}
