/*
 * Faults injected by psc-launch for tests and experiments (--kill): a task
 * killed with SIGKILL, or hung with SIGSTOP for a while and then resumed
 * with SIGCONT, once the job's global step, as the chief records it in
 * MODEL_DIR/metrics.jsonl, reaches a given step.
 */
#ifndef LAUNCH_FAULTS_H
#define LAUNCH_FAULTS_H

#include "launch_cluster.h"

#define LAUNCH_FAULTS_MAX 16

struct launch_kill {
    int task; /* index in the cluster's table */
    long step;
    double hang_s; /* > 0: SIGSTOP, and SIGCONT this much later */
    int done;
    double resume_at; /* psc_now() seconds, once hung */
    int resumed;
};

struct launch_faults {
    struct launch_kill kills[LAUNCH_FAULTS_MAX];
    int n;
    char metrics[4200]; /* MODEL_DIR/metrics.jsonl */
    long offset;        /* bytes of it read */
    long step;          /* the newest step read */
};

/*
 * Reads the --kill specs: "TASK@STEP" (TASK as psc-launch names it: ps0,
 * chief, worker1, evaluator), "TASK@STEP:hang=SECONDS" (a hang, not a
 * death) or "random:SEED" (a task and a step between 10 % and 90 % of
 * max_steps, both drawn from SEED). Returns 0, or PSC_EINVAL with one line
 * in err.
 */
int launch_faults_parse(struct launch_faults *f, const char *const *specs,
                        int n, const struct launch_cluster *c,
                        const char *model_dir, long max_steps, char *err);

/* Reads the records written since the last call; returns the step now. */
long launch_faults_poll(struct launch_faults *f);

/* A kill due at the current step (marked done), or NULL. */
struct launch_kill *launch_faults_due(struct launch_faults *f);

/* 1 while some kill has not happened yet (or a hung task is not resumed). */
int launch_faults_pending(const struct launch_faults *f);

/* A hung task due to be resumed now (marked resumed), or NULL. */
struct launch_kill *launch_faults_resume_due(struct launch_faults *f,
                                             double now);

#endif
