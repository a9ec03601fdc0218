/*
 * The launcher's task table: which tasks run (in start order: ps tasks,
 * chief, workers, evaluator), their names, addresses, binaries, command
 * lines and TF_CONFIG texts, plus the state of each started process.
 */
#ifndef LAUNCH_CLUSTER_H
#define LAUNCH_CLUSTER_H

#include "launch_lines.h"
#include "launch_opts.h"
#include "tfc.h"

#include <stdio.h>
#include <sys/types.h>

#define LAUNCH_CLUSTER_ADDR_LEN (LAUNCH_OPTS_MAX_HOST + 16)

struct launch_task {
    enum tfc_role role;
    int index;
    char name[32];                      /* "ps0", "chief", "worker1" */
    char addr[LAUNCH_CLUSTER_ADDR_LEN]; /* "host:port"; "" for evaluator */
    char *binary;                       /* owned; absolute path */
    char *tf_config;                    /* owned; NULL until assigned */
    pid_t pid;                          /* 0 until started */
    int running;                        /* started and not yet reaped */
    struct launch_lines out;            /* the child's stdout */
    struct launch_lines err;            /* the child's stderr */
};

struct launch_cluster {
    struct launch_task *tasks;
    int ntasks;
    int acting_chief;               /* its exit 0 ends training */
    const struct launch_opts *opts; /* borrowed */
};

/*
 * Builds the table from the options, with binaries in bin_dir. No ports
 * yet. Caller owns; free with launch_cluster_destroy(). opts must outlive
 * the result.
 */
struct launch_cluster *launch_cluster_new(const struct launch_opts *opts,
                                          const char *bin_dir);

/* Frees *p (closing any pipes) and sets it to NULL; accepts NULL. */
void launch_cluster_destroy(struct launch_cluster **p);

/*
 * Picks a free port on host for every task in the cluster, reserved until
 * the task binds it (psc_port.h), and writes each task's address and
 * TF_CONFIG. Returns 0; PSC_ECONFIG when host does not resolve or a
 * generated TF_CONFIG does not parse back; PSC_ENET when no port can be
 * bound or reserved. err gets one line.
 */
int launch_cluster_assign(struct launch_cluster *c, const char *host,
                          char *err);

/*
 * Checks that every task's binary exists and is executable. Returns 0 or
 * PSC_ENOTFOUND with one line in err.
 */
int launch_cluster_check_binaries(const struct launch_cluster *c, char *err);

/*
 * Returns t's argv: binary, then --job and --set flags as given. NULL
 * terminated; the strings are borrowed. Caller frees the array with free().
 */
char **launch_cluster_argv(const struct launch_cluster *c,
                           const struct launch_task *t);

/*
 * Writes, per task, "ps0: TF_CONFIG='...'" and "ps0: <command>", both
 * quoted for a POSIX shell.
 */
void launch_cluster_print(const struct launch_cluster *c, FILE *f);

/* Returns the task started as pid, or NULL. Borrowed. */
struct launch_task *launch_cluster_find(struct launch_cluster *c, pid_t pid);

#endif
