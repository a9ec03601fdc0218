/*
 * The ps task's server: a ROUTER on its TF_CONFIG port answering pushes and
 * pulls for its shard (dense slices and, for model bench, sparse rows), and
 * a control session with the chief. Replies that must wait (sync: the
 * step's aggregate; a pull for a future version; bounded staleness) are
 * parked and sent when their condition holds, so nobody polls.
 */
#ifndef PS_SERVER_H
#define PS_SERVER_H

#include "boot.h"

/* Runs the ps until the chief says stop or a signal arrives; returns the
 * process exit status. */
int ps_server_run(struct boot *b);

#endif
