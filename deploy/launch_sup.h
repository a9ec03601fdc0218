/*
 * Supervision of a local cluster: starts every task, forwards their output
 * and decides when the cluster is done and with which exit status.
 */
#ifndef LAUNCH_SUP_H
#define LAUNCH_SUP_H

#include "launch_cluster.h"
#include "launch_faults.h"

#include <signal.h>

/*
 * Starts the tasks of c in table order and runs until every started task
 * has been reaped. sigfd is a signalfd for SIGCHLD, SIGINT and SIGTERM
 * (blocked by the caller); mask is the signal mask the children get.
 *
 * Returns the launcher's exit status: 0 when every task exited 0; the
 * status (or 128+signal) of the first task that failed; 128+signal when
 * SIGINT or SIGTERM stopped the launcher; 1 when tasks had to be
 * terminated after the acting chief finished or a task could not start.
 * With --restart on-failure a task that failed retryably starts again;
 * faults (may be NULL) are the --kill plan.
 */
int launch_sup_run(struct launch_cluster *c, int sigfd, const sigset_t *mask,
                   struct launch_faults *faults);

#endif
