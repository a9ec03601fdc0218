/*
 * The start of every role binary: one option table for the command line
 * (which also prints --help), TF_CONFIG, the job file and --set overrides,
 * --check-config, and the process-wide set-up (logger identity, signals,
 * OpenBLAS threads, the ZeroMQ context). Precedence: defaults < job file <
 * --set.
 */
#ifndef BOOT_H
#define BOOT_H

#include "curve.h"
#include "gate.h"
#include "job.h"
#include "tfc.h"

#define BOOT_MAX_SETS 64

/* What boot_role() hands the role; release with boot_release(). */
struct boot {
    tfc_t *tfc;
    struct job *job;
    void *zctx;
    curve_keys_t *keys; /* security.curve: the cluster's keys, else NULL */
    gate_t *gate;       /* security.curve: the context's ZAP handler */
    const char *prog;
    const char *tf_config_path;
    const char *job_path;
    const char *sets[BOOT_MAX_SETS];
    int nsets;
};

/* What boot_role() tells a binary's main() to do next. */
enum boot_next {
    BOOT_RUN,  /* run the role: *b is filled; boot_release() it at the end */
    BOOT_EXIT, /* exit now with *exit_status: there is nothing to release */
};

/*
 * Parses argv and the environment for a binary of role `role`. Returns
 * BOOT_RUN with *b filled (*exit_status untouched), or BOOT_EXIT with
 * *exit_status set: 0 after --help, --help-job or a valid --check-config
 * (printed to stdout), PSC_EXIT_CONFIG (2) after a usage or configuration
 * error (one line on stderr), PSC_EXIT_RETRY when the CURVE gate cannot
 * start. PSC_CURVE_KEYS_DIR in the environment turns security.curve on
 * with that keys_dir, below --set in precedence. The result is an enum, not an
 * int, so that it cannot be taken for a PSC_E* code or an exit status.
 */
enum boot_next boot_role(int argc, char **argv, enum tfc_role role,
                         const char *about, struct boot *b, int *exit_status);

/* Frees what boot_role() made, the ZeroMQ context included; after a stop
 * signal, logs how long the role took to stop. */
void boot_release(struct boot *b);

/* The chief's control endpoint: chief 0, or worker 0 when there is none. */
void boot_chief_endpoint(const tfc_t *tfc, const char **host, int *port);

/*
 * Makes sock, a socket the role binds, a CURVE server watched by the gate
 * when security.curve is on; does nothing otherwise. Call it before the
 * bind. Returns 0, or a PSC_E* code with err.
 */
int boot_secure_server(const struct boot *b, void *sock, char *err);

/* The task name of the chief's endpoint ("chief:0" or "worker:0"). */
const char *boot_chief_task(const tfc_t *tfc);

#endif
