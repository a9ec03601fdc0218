/*
 * Child processes of the launcher: start one task with its TF_CONFIG and
 * its output in pipes, signal it, and describe how it ended.
 */
#ifndef LAUNCH_PROC_H
#define LAUNCH_PROC_H

#include "launch_cluster.h"

#include <signal.h>
#include <stddef.h>

/*
 * Starts t: argv (from launch_cluster_argv()) with the launcher's
 * environment plus TF_CONFIG=t->tf_config, stdin from /dev/null, stdout and
 * stderr into pipes that t->out and t->err then own, in a process group of
 * its own, with signal mask `mask` and SIGTERM when the launcher dies.
 * Sets t->pid and t->running. Returns 0, or PSC_EIO with one line in err.
 */
int launch_proc_start(struct launch_task *t, char *const argv[],
                      const sigset_t *mask, char *err);

/* Sends sig to t's process group when t is running. */
void launch_proc_signal(const struct launch_task *t, int sig);

/* Writes "exited with status 3" or "killed by signal 9" into buf. */
void launch_proc_describe(int status, char *buf, size_t len);

/* Returns the shell's code for a wait status: the status, or 128+signal. */
int launch_proc_exit_code(int status);

#endif
