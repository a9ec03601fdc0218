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
 * Opens model_dir/trace/`file` (gradients.jsonl, or rows.jsonl for the
 * sparse tables' gradients) of ps `shard` for appending (the folder made if
 * missing). Returns 0 and *out (caller owns, ps_trace_close()), or PSC_EIO
 * with one line in err.
 */
int ps_trace_open(ps_trace_t **out, const struct job *job, int shard,
                  const char *file, char *err);

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

/*
 * One sparse gradient (all the pieces of one push): the rows of it this ps
 * holds, and what became of them. Async pushes name no version read.
 */
struct ps_trace_rows {
    int worker;   /* its index, -1 for a client that is not a worker */
    int has_read; /* sync: read is the version it was computed from */
    uint64_t read;
    uint64_t rows;
    const char *result; /* "applied" (async), "taken" (sync) or "dropped" */
    const char *why;    /* dropped: "late"; else NULL */
    uint64_t version;   /* the table's version after it */
    double wall_s;      /* since the job's start, on the chief's clock */
    double time;        /* Unix seconds */
};
void ps_trace_rows(ps_trace_t *t, const struct ps_trace_rows *r);

/* Writes the buffered lines out. */
void ps_trace_flush(ps_trace_t *t);

/* Flushes and closes; *p becomes NULL (NULL or *p NULL: nothing). */
void ps_trace_close(ps_trace_t **p);

#endif
