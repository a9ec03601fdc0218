/*
 * The gradient trace (job option trace): one JSON line per gradient this ps
 * was offered, in model_dir/trace/gradients.jsonl, which every ps of the
 * job appends to. Lines are buffered and written whole, so the ps's loop
 * does not wait on the disk per gradient and the shards' lines never
 * interleave mid-line.
 */
#ifndef PS_TRACE_H
#define PS_TRACE_H

#include "job.h"
#include "ps_shard.h"

#include <stdint.h>

typedef struct ps_trace ps_trace_t;

/*
 * Opens the trace of ps `shard` for appending (the folder made if missing).
 * Returns 0 and *out (caller owns, ps_trace_close()), or PSC_EIO with one
 * line in err.
 */
int ps_trace_open(ps_trace_t **out, const struct job *job, int shard,
                  char *err);

/* One gradient: what the push came to, and when it arrived. */
struct ps_trace_gradient {
    int worker;    /* its index, -1 for a client that is not a worker */
    uint64_t read; /* the version it was computed from */
    enum ps_push_result result;
    const struct ps_push_info *info;
    double wall_s; /* since the job's start, on the chief's clock */
    double time;   /* Unix seconds */
};
void ps_trace_gradient(ps_trace_t *t, const struct ps_trace_gradient *g);

/* Writes the buffered lines out. */
void ps_trace_flush(ps_trace_t *t);

/* Flushes and closes; *p becomes NULL (NULL or *p NULL: nothing). */
void ps_trace_close(ps_trace_t **p);

#endif
