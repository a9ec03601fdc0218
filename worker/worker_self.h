/*
 * A worker's state, shared by the training loops of the dense models
 * (worker.c) and of the sparse ones (worker_sparse.c).
 */
#ifndef WORKER_SELF_H
#define WORKER_SELF_H

#include "boot.h"
#include "ctl.h"
#include "dataset.h"
#include "embedding_mlp.h"
#include "example_order.h"
#include "model.h"
#include "placement.h"
#include "psclient.h"
#include "sparse_data.h"
#include "straggler.h"
#include "wire.h"

#include <stdint.h>

typedef struct self {
    const struct boot *b;
    int index;
    int nworkers;
    int sparse; /* sparse_lr, embedding_mlp: the loop of worker_sparse.c */
    struct dataset data;
    struct sparse_data sdata;
    struct sparse_set batch; /* sparse: the step's examples */
    float *rows;             /* sparse: a row per feature of the batch */
    float *row_grad;         /* and its gradient */
    size_t rows_cap;         /* floats in each */
    size_t width;            /* sparse: floats per row */
    embedding_mlp_t *emb;    /* embedding_mlp's MLP, else NULL */
    struct example_order order;
    struct straggler straggler;
    model_t *model;
    placement_t *placement;
    float *params;       /* room for the values when not read in place */
    const float *values; /* the newest values (psclient_values()) */
    wire_buf_t *grad;
    float *x;
    uint8_t *y;
    ctl_t *ctl;
    psclient_t *ps;
    void *probe; /* bound on this task's port; see s_bind_port() */
    struct psclient_traffic reported; /* traffic at the last report */
    uint64_t step_rows;               /* sparse: distinct rows the step read */
    uint64_t steps;
    int batch_ready;  /* the next batch is drawn already, */
    double batch_s;   /* in this many seconds */
    double compute_s; /* totals over the steps, for the last log line */
    double wait_s;
    uint64_t read_version; /* the step's values' version */
    int rows_dropped;      /* sparse sync: a ps dropped the rows */
    /* The chief said stop before every ps answered the last push: the job
     * ended without that gradient (one past its end, or late). */
    int unanswered;
    double delay_requested_s;       /* the last step's injected delay, */
    double delay_slept_s;           /* and what it slept (both 0: none) */
    double delay_requested_total_s; /* their totals over the steps */
    double delay_slept_total_s;
    uint64_t generation;    /* the model's, as the last START said */
    uint64_t rejoins;       /* STARTs after the first: rollbacks, chiefs */
    int aborted;            /* late_policy abort: this step was abandoned */
    uint64_t aborted_steps; /* and how many were */
} self_t;

/*
 * worker_straggle()'s answer under late_policy abort when the step
 * completed without this worker: positive, apart from any message type.
 */
#define WORKER_ABORTED 1000

/*
 * A new START came (the model was rolled back, or a restarted chief took
 * the job): the step in hand is dropped and training goes on from the
 * START's step and data position. Positive, apart from any message type.
 */
#define WORKER_RESTARTED 1001

/*
 * The training loop's functions return 0 to go on, PSC__MSG_TYPE__STOP
 * (positive: the chief's order itself, as ctl_wait() returns it) when the
 * chief said stop, which ends the job without error, or a negative PSC_E*
 * code on failure (err says why).
 */

/* Waits for the ps replies; with take_values set, takes the dense values
 * when they are in. A PAUSE, a ps rolled back or restarted, or a chief
 * lost or restarted make it wait for the chief's next START, registering
 * again where needed: WORKER_RESTARTED then. */
int worker_wait(self_t *self, int take_values, char *err);

/*
 * Sleeps an injected straggler delay (none when delay_s <= 0), still
 * answering the chief, and records it as the step's delay_requested_s and
 * delay_slept_s (what the clock measured, also when a STOP cut it short).
 * 0 when the delay is over; WORKER_ABORTED (late_policy abort, sync) as
 * soon as the chief says the step completed without this worker, also
 * when there is no delay to sleep.
 */
int worker_straggle(self_t *self, double delay_s, char *err);

/*
 * Tells the chief of a step: its loss, where its time went, the version
 * its gradient was computed from (self->read_version) and whether a ps
 * dropped it.
 */
void worker_report(self_t *self, float loss, double compute_s, double wait_s);

/* Training examples of this worker's data set (all workers', not its
 * share). */
long worker_examples(const self_t *self);

#endif
