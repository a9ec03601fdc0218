/*
 * The start of every role binary: one option table for the command line
 * (which also prints --help), TF_CONFIG, the job file and --set overrides,
 * --check-config, and the process-wide set-up (logger identity, signals,
 * OpenBLAS threads, the ZeroMQ context). Precedence: defaults < job file <
 * --set.
 */
#ifndef BOOT_H
#define BOOT_H

#include "job.h"
#include "tfc.h"

#define BOOT_MAX_SETS 64

/* What boot_role() hands the role; release with boot_release(). */
struct boot {
    tfc_t *tfc;
    struct job *job;
    void *zctx;
    const char *prog;
    const char *tf_config_path;
    const char *job_path;
    const char *sets[BOOT_MAX_SETS];
    int nsets;
};

/* Returned by boot_role() when the role should run. */
#define BOOT_RUN (-1)

/*
 * Parses argv and the environment for a binary of role `role`. Returns
 * BOOT_RUN with *b filled, or an exit status: 0 after --help or a valid
 * --check-config (printed to stdout), 2 after a usage or configuration
 * error (one line on stderr).
 */
int boot_role(int argc, char **argv, enum tfc_role role, const char *about,
              struct boot *b);

/* Frees what boot_role() made, the ZeroMQ context included; after a stop
 * signal, logs how long the role took to stop. */
void boot_release(struct boot *b);

/* The chief's control endpoint: chief 0, or worker 0 when there is none. */
void boot_chief_endpoint(const tfc_t *tfc, const char **host, int *port);

#endif
