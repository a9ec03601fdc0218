/*
 * psc-launch's command line. One option table drives getopt_long, the
 * range checks and the --help text, so the three never disagree.
 */
#ifndef LAUNCH_OPTS_H
#define LAUNCH_OPTS_H

#include <stdio.h>

#define LAUNCH_OPTS_MAX_PS      64
#define LAUNCH_OPTS_MAX_WORKERS 256
#define LAUNCH_OPTS_MAX_HOST    255

/* The parsed command line; immutable once launch_opts_parse() returns. */
struct launch_opts {
    int nps;
    int nworkers;
    int chief;            /* 0 with --no-chief: worker 0 acts as chief */
    int evaluator;        /* 1 with --evaluator */
    const char *host;     /* borrowed from argv or static */
    const char *bin_dir;  /* NULL: the directory of psc-launch itself */
    const char *job_path; /* NULL: every role runs on job defaults */
    const char **sets;    /* "key=value" texts, borrowed from argv */
    int nsets;
    double drain_timeout_s; /* after the chief finished, before SIGTERM */
    double kill_timeout_s;  /* after SIGTERM, before SIGKILL */
    int restart_on_failure; /* --restart on-failure */
    const char **kills;     /* --kill specs, borrowed from argv */
    int nkills;
    int print_tf_config;
    int help;
    int help_job;
};

/*
 * Parses argv into o (defaults first). Returns 0, or PSC_EINVAL with one
 * line in err naming the bad flag. After a successful return the caller
 * releases o with launch_opts_release(); after a failure there is nothing
 * to release.
 */
int launch_opts_parse(struct launch_opts *o, int argc, char **argv, char *err);

/* Frees what launch_opts_parse() allocated; the strings stay in argv. */
void launch_opts_release(struct launch_opts *o);

/* Writes the usage text, generated from the option table, to f. */
void launch_opts_usage(FILE *f);

#endif
