/*
 * Command-line parsing for psc-launch. The table below is the only list of
 * options: getopt_long's array and the --help text are both built from it.
 */
#include "launch_opts.h"

#include "psc_alloc.h"
#include "psc_err.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_PS = 1,
    OPT_WORKERS,
    OPT_NO_CHIEF,
    OPT_EVALUATOR,
    OPT_SET,
    OPT_HOST,
    OPT_BIN_DIR,
    OPT_DRAIN_TIMEOUT,
    OPT_KILL_TIMEOUT,
    OPT_PRINT_TF_CONFIG,
    OPT_HELP,
    OPT_HELP_JOB,
};

static const struct {
    const char *name;
    int id;
    const char *arg; /* NULL for a flag without value */
    const char *help;
} s_opts[] = {
    {"ps", OPT_PS, "N", "number of parameter-server tasks (default 1)"},
    {"workers", OPT_WORKERS, "N", "number of worker tasks (default 2)"},
    {"no-chief", OPT_NO_CHIEF, NULL,
     "start no chief; worker 0 does the chief's duties"},
    {"evaluator", OPT_EVALUATOR, NULL, "also start an evaluator"},
    {"set", OPT_SET, "KEY=VALUE",
     "override a job option (repeatable; see --help-job)"},
    {"host", OPT_HOST, "H",
     "address every task listens on (default "
     "127.0.0.1)"},
    {"bin-dir", OPT_BIN_DIR, "DIR",
     "where psc-ps, psc-worker, psc-chief and psc-evaluator are (default: "
     "the directory of psc-launch)"},
    {"drain-timeout", OPT_DRAIN_TIMEOUT, "S",
     "seconds the others may take to exit after the chief finished "
     "(default 30)"},
    {"kill-timeout", OPT_KILL_TIMEOUT, "S",
     "seconds between SIGTERM and SIGKILL when stopping (default 10)"},
    {"print-tf-config", OPT_PRINT_TF_CONFIG, NULL,
     "print each task's TF_CONFIG and command, start nothing"},
    {"help", OPT_HELP, NULL, "show this help"},
    {"help-job", OPT_HELP_JOB, NULL, "list the job options"},
};

#define LAUNCH_NOPTS (sizeof s_opts / sizeof s_opts[0])

static void s_defaults(struct launch_opts *o)
{
    memset(o, 0, sizeof *o);
    o->nps = 1;
    o->nworkers = 2;
    o->chief = 1;
    o->host = "127.0.0.1";
    o->drain_timeout_s = 30.0;
    o->kill_timeout_s = 10.0;
}

static int s_parse_count(const char *flag, const char *text, int max, int *out,
                         char *err)
{
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < 1 || v > max)
        return psc_seterr(err, PSC_EINVAL,
                          "--%s '%s' is not a number from 1 to %d", flag, text,
                          max);
    *out = (int) v;
    return 0;
}

static int s_parse_seconds(const char *flag, const char *text, double *out,
                           char *err)
{
    char *end = NULL;
    double v = strtod(text, &end);
    /* The bound keeps the deadline arithmetic far from overflow. */
    if (end == text || *end != '\0' || !(v >= 0.0 && v <= 86400.0))
        return psc_seterr(err, PSC_EINVAL,
                          "--%s '%s' is not a number of seconds from 0 to "
                          "86400",
                          flag, text);
    *out = v;
    return 0;
}

static int s_parse_host(const char *text, struct launch_opts *o, char *err)
{
    if (text[0] == '\0' || strlen(text) > LAUNCH_OPTS_MAX_HOST)
        return psc_seterr(err, PSC_EINVAL,
                          "--host must be an address or name of 1 to %d "
                          "characters",
                          LAUNCH_OPTS_MAX_HOST);
    o->host = text;
    return 0;
}

/* Applies one option; name is the table entry's long name. */
static int s_apply(struct launch_opts *o, int id, const char *name, char *arg,
                   char *err)
{
    switch (id) {
    case OPT_PS:
        return s_parse_count(name, arg, LAUNCH_OPTS_MAX_PS, &o->nps, err);
    case OPT_WORKERS:
        return s_parse_count(name, arg, LAUNCH_OPTS_MAX_WORKERS, &o->nworkers,
                             err);
    case OPT_NO_CHIEF:
        o->chief = 0;
        return 0;
    case OPT_EVALUATOR:
        o->evaluator = 1;
        return 0;
    case OPT_SET:
        o->sets[o->nsets++] = arg;
        return 0;
    case OPT_HOST:
        return s_parse_host(arg, o, err);
    case OPT_BIN_DIR:
        o->bin_dir = arg;
        return 0;
    case OPT_DRAIN_TIMEOUT:
        return s_parse_seconds(name, arg, &o->drain_timeout_s, err);
    case OPT_KILL_TIMEOUT:
        return s_parse_seconds(name, arg, &o->kill_timeout_s, err);
    case OPT_PRINT_TF_CONFIG:
        o->print_tf_config = 1;
        return 0;
    case OPT_HELP:
        o->help = 1;
        return 0;
    case OPT_HELP_JOB:
        o->help_job = 1;
        return 0;
    }
    return psc_seterr(err, PSC_EINVAL, "unhandled option '--%s'", name);
}

static void s_longopts(struct option *out)
{
    for (size_t i = 0; i < LAUNCH_NOPTS; i++) {
        out[i].name = s_opts[i].name;
        out[i].has_arg = s_opts[i].arg ? required_argument : no_argument;
        out[i].flag = NULL;
        out[i].val = s_opts[i].id;
    }
    out[LAUNCH_NOPTS] = (struct option){0};
}

static int s_bad_flag(int c, int argc, char **argv, char *err)
{
    /* getopt_long has already moved optind past the offending word. */
    const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "";
    if (c == ':')
        return psc_seterr(err, PSC_EINVAL,
                          "option '%s' needs a value: see psc-launch --help",
                          word);
    return psc_seterr(err, PSC_EINVAL,
                      "unknown option '%s': see psc-launch --help", word);
}

static int s_positional(struct launch_opts *o, int argc, char **argv, char *err)
{
    if (optind < argc)
        o->job_path = argv[optind++];
    if (optind < argc)
        return psc_seterr(err, PSC_EINVAL,
                          "unexpected argument '%s': give at most one job "
                          "file",
                          argv[optind]);
    return 0;
}

int launch_opts_parse(struct launch_opts *o, int argc, char **argv, char *err)
{
    struct option longopts[LAUNCH_NOPTS + 1];
    s_defaults(o);
    s_longopts(longopts);
    o->sets = psc_xcalloc((size_t) argc + 1, sizeof *o->sets);
    opterr = 0;
    optind = 1;
    int rc = 0;
    for (;;) {
        int idx = -1;
        int c = getopt_long(argc, argv, ":", longopts, &idx);
        if (c == -1)
            break;
        if (c == '?' || c == ':' || idx < 0) {
            rc = s_bad_flag(c, argc, argv, err);
            break;
        }
        rc = s_apply(o, c, s_opts[idx].name, optarg, err);
        if (rc != 0)
            break;
    }
    if (rc == 0)
        rc = s_positional(o, argc, argv, err);
    if (rc != 0)
        launch_opts_release(o);
    return rc;
}

void launch_opts_release(struct launch_opts *o)
{
    free(o->sets);
    o->sets = NULL;
    o->nsets = 0;
}

/* Writes text word-wrapped to 79 columns, continuing at column `indent`. */
static void s_wrap(FILE *f, const char *text, int indent)
{
    int col = indent;
    while (*text != '\0') {
        int word = (int) strcspn(text, " ");
        if (col > indent && col + 1 + word > 79) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', f);
            col++;
        }
        fwrite(text, 1, (size_t) word, f);
        col += word;
        text += word;
        text += strspn(text, " ");
    }
    fputc('\n', f);
}

void launch_opts_usage(FILE *f)
{
    fputs("usage: psc-launch [options] [JOB.json]\n"
          "\n"
          "Starts a psc cluster on this host: ps tasks, a chief, workers and\n"
          "optionally an evaluator, each with its TF_CONFIG, and prints their\n"
          "output prefixed with the task name. Exits with the status of the\n"
          "first task that fails, or 0 when all exit 0.\n"
          "\n"
          "options:\n",
          f);
    for (size_t i = 0; i < LAUNCH_NOPTS; i++) {
        char left[40];
        snprintf(left, sizeof left, "--%s%s%s", s_opts[i].name,
                 s_opts[i].arg ? " " : "", s_opts[i].arg ? s_opts[i].arg : "");
        fprintf(f, "  %-22s ", left);
        s_wrap(f, s_opts[i].help, 25);
    }
}
