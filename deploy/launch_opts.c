/*
 * Command-line parsing for psc-launch. The table below is the only list of
 * options: getopt_long's array and the --help text are both built from it.
 */
#include "launch_opts.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_num.h"
#include "psc_opts.h"

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
    OPT_RESTART,
    OPT_KILL,
    OPT_HELP,
    OPT_HELP_JOB,
};

static const struct psc_opt s_opts[] = {
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
    {"restart", OPT_RESTART, "POLICY",
     "never (the default) or on-failure: start again a task that exited "
     "138 or was killed, as Kubernetes' restartPolicy OnFailure does (at "
     "most 10 times a task)"},
    {"kill", OPT_KILL, "TASK@STEP",
     "kill TASK (ps0, chief, worker1, evaluator) with SIGKILL once the "
     "job reaches STEP (TASK@STEP:hang=S: SIGSTOP, and SIGCONT S seconds "
     "later), or random:SEED for a task and step drawn from SEED "
     "(repeatable; for fault tests)"},
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
    if (psc_num_int(text, 1, max, out) != 0)
        return psc_seterr(err, PSC_EINVAL,
                          "--%s '%s' is not a number from 1 to %d", flag, text,
                          max);
    return 0;
}

static int s_parse_seconds(const char *flag, const char *text, double *out,
                           char *err)
{
    /* The bound keeps the deadline arithmetic far from overflow. */
    if (psc_num_double(text, 0.0, 86400.0, out) != 0)
        return psc_seterr(err, PSC_EINVAL,
                          "--%s '%s' is not a number of seconds from 0 to "
                          "86400",
                          flag, text);
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
static int s_apply(struct launch_opts *o, int id, const char *name,
                   const char *arg, char *err)
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
    case OPT_RESTART:
        if (strcmp(arg, "never") != 0 && strcmp(arg, "on-failure") != 0)
            return psc_seterr(err, PSC_EINVAL,
                              "--restart '%s': give never or on-failure", arg);
        o->restart_on_failure = strcmp(arg, "on-failure") == 0;
        return 0;
    case OPT_KILL:
        o->kills[o->nkills++] = arg;
        return 0;
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

static int s_positional(struct launch_opts *o, struct psc_opts *p, char *err)
{
    o->job_path = psc_opts_operand(p);
    const char *extra = o->job_path ? psc_opts_operand(p) : NULL;
    if (extra != NULL)
        return psc_seterr(err, PSC_EINVAL,
                          "unexpected argument '%s': give at most one job "
                          "file",
                          extra);
    return 0;
}

/* The table's long name of option id. */
static const char *s_name(int id)
{
    for (size_t i = 0; i < LAUNCH_NOPTS; i++)
        if (s_opts[i].id == id)
            return s_opts[i].name;
    return "?";
}

int launch_opts_parse(struct launch_opts *o, int argc, char **argv, char *err)
{
    struct psc_opts p;
    s_defaults(o);
    o->sets = psc_xcalloc((size_t) argc + 1, sizeof *o->sets);
    o->kills = psc_xcalloc((size_t) argc + 1, sizeof *o->kills);
    psc_opts_begin(&p, s_opts, LAUNCH_NOPTS, argc, argv);
    char why[PSC_ERR_LEN];
    int id = 0;
    int rc = 0;
    while (rc == 0 && (id = psc_opts_next(&p, why)) > 0)
        rc = s_apply(o, id, s_name(id), p.arg, err);
    if (rc == 0 && id < 0)
        rc = psc_seterr(err, PSC_EINVAL, "%s: see psc-launch --help", why);
    if (rc == 0)
        rc = s_positional(o, &p, err);
    if (rc != 0)
        launch_opts_release(o);
    return rc;
}

void launch_opts_release(struct launch_opts *o)
{
    free(o->sets);
    o->sets = NULL;
    free(o->kills);
    o->kills = NULL;
    o->nkills = 0;
    o->nsets = 0;
}

/* Writes text word-wrapped to 79 columns, continuing at column `indent`. */
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
    psc_opts_usage(f, s_opts, LAUNCH_NOPTS);
}
