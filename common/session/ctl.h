/*
 * A role's control session with the chief: registration (with the job's
 * canonical text, so the chief can refuse a mismatch), heartbeats, and the
 * chief's commands. Used by ps, workers and the evaluator; the chief itself
 * is the other end (chief/).
 */
#ifndef CTL_H
#define CTL_H

#include "boot.h"
#include "wire.h"

typedef struct ctl ctl_t;

/*
 * Creates the session's DEALER socket (routing id = this task's name) and
 * connects it to the chief, waiting for the chief's host name to resolve.
 * Returns NULL with a line in err. Caller owns; ctl_destroy().
 */
ctl_t *ctl_new(const struct boot *b, char *err);
void ctl_destroy(ctl_t **p);

/* The socket, for zmq_poll (ZMQ_POLLIN); borrowed. */
void *ctl_socket(ctl_t *c);

/* Workers tell the chief their training set's size when registering. */
void ctl_set_examples(ctl_t *c, uint64_t examples);

/*
 * Registers with the chief and waits for its answer, re-sending with
 * back-off until job->startup_timeout_s has passed. While waiting, keeps
 * calling serve(arg, timeout_ms), if given, so a ps can answer its own
 * socket (the chief initialises the ps before it starts the job). Returns 0,
 * PSC_EREFUSED (err holds the chief's reason), PSC_ETIMEDOUT or PSC_EINTR.
 */
int ctl_register(ctl_t *c, int (*serve)(void *arg, int timeout_ms), void *arg,
                 char *err);

/*
 * Registers again, with a chief that was restarted (or that counted this
 * task lost), waiting up to job->chief_restart_timeout_s; serve as for
 * ctl_register(). What the last START said is forgotten. Returns 0,
 * PSC_EREFUSED, PSC_EPEERGONE (no chief came back: exit 138) or PSC_EINTR.
 */
int ctl_rejoin(ctl_t *c, int (*serve)(void *arg, int timeout_ms), void *arg,
               char *err);

/*
 * Sends a heartbeat when one is due and checks that the chief still
 * answers. Returns 0, or PSC_EPEERGONE when the chief has been silent for
 * longer than heartbeat_timeout_s (err says so): the task pauses and
 * ctl_rejoin()s.
 */
int ctl_tick(ctl_t *c, char *err);

/* Milliseconds until the next heartbeat is due (a poll timeout). */
int ctl_timeout_ms(ctl_t *c);

/*
 * Receives one message from the chief without blocking. Returns its type
 * (a positive PSC__MSG_TYPE__* value) with *msg filled (release it), or 0
 * when there is nothing to act on (heartbeat echoes are consumed here).
 */
int ctl_recv(ctl_t *c, wire_msg_t *msg);

/*
 * Waits for the chief's next order until `until` (psc_now() seconds; 0
 * waits without limit), keeping heartbeats going. Returns the order's type
 * (a positive PSC__MSG_TYPE__* value: START, STOP, EVAL_REQUEST, ...), 0
 * when the time is up, PSC_EINTR on a stop signal, or PSC_EPEERGONE when
 * the chief is lost (err says so).
 */
int ctl_wait(ctl_t *c, double until, char *err);

/* What the chief's START said (all 0 until one came). */
struct ctl_start {
    uint64_t step;     /* the step the job starts at (a restored one) */
    uint64_t position; /* workers: examples drawn before, to skip */
    char run_id[64];
    double job_start;    /* Unix seconds on the chief's clock (0: not said) */
    double received;     /* psc_now() when the START came */
    uint64_t generation; /* the model's incarnation its pushes carry */
};
const struct ctl_start *ctl_start_order(const ctl_t *c);

/*
 * Seconds since the job's start as the chief defines it, for the wall_s of
 * every record a role writes: from the START's job_start (one clock for
 * the whole job), or, before a START or from a chief that did not say,
 * from when this role's START came.
 */
double ctl_job_seconds(const ctl_t *c);

/*
 * The newest version the chief said every shard has reached (STEP_DONE,
 * sent to sync workers under late_policy abort), 0 before any.
 */
uint64_t ctl_step_done(const ctl_t *c);

/* 1 when the chief's STOP said the job failed (NULL: 0). */
int ctl_job_failed(const ctl_t *c);

/*
 * What a role's run ends with after the chief's STOP: 0 for a job that
 * ended well, PSC_EPEERGONE (exit 138, retryable) for one that failed,
 * with a warning saying so.
 */
int ctl_stop_status(const ctl_t *c);

/* Sends a control message to the chief (sets hdr's task). Returns 0 or
 * wire_send()'s PSC_E* code. */
int ctl_send(ctl_t *c, Psc__Header *hdr);

/* Sends BYE with a reason; best effort. */
void ctl_bye(ctl_t *c, const char *reason);

#endif
