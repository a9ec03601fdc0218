/*
 * Gradient trace lines, buffered and appended whole.
 */
#include "ps_trace.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_fs.h"
#include "psc_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Lines are written once this much is buffered (and at every flush). One
 * write() of whole lines to a file opened O_APPEND lands as one piece, so
 * the lines of several ps stay whole. */
#define TRACE_BUF_BYTES ((size_t) 64 << 10)
#define TRACE_LINE_MAX  320

struct ps_trace {
    int fd;
    int shard;
    char *buf;
    size_t used;
    int failed; /* a write failed: said once, then the trace stops */
};

int ps_trace_open(ps_trace_t **out, const struct job *job, int shard,
                  const char *file, char *err)
{
    char dir[sizeof job->model_dir + 16];
    snprintf(dir, sizeof dir, "%s/trace", job->model_dir);
    if (psc_mkdirs(dir, err) != 0)
        return PSC_EIO;
    char path[sizeof dir + 32];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return psc_seterr(err, PSC_EIO, "cannot open the trace '%s': %s", path,
                          strerror(errno));
    ps_trace_t *t = psc_xcalloc(1, sizeof *t);
    t->fd = fd;
    t->shard = shard;
    t->buf = psc_xmalloc(TRACE_BUF_BYTES);
    *out = t;
    return 0;
}

static const char *s_result_name(enum ps_push_result r)
{
    switch (r) {
    case PS_PUSH_APPLIED:
        return "applied";
    case PS_PUSH_AGGREGATED:
        return "aggregated";
    case PS_PUSH_STEPPED:
        return "stepped";
    default:
        return "dropped";
    }
}

/* Room for a line, or 0 when the trace has stopped. */
static int s_room(ps_trace_t *t)
{
    if (t == NULL || t->failed)
        return 0;
    if (t->used + TRACE_LINE_MAX > TRACE_BUF_BYTES)
        ps_trace_flush(t);
    return !t->failed;
}

void ps_trace_gradient(ps_trace_t *t, const struct ps_trace_gradient *g)
{
    if (!s_room(t))
        return;
    const struct ps_push_info *i = g->info;
    int dropped = g->result == PS_PUSH_DROPPED;
    /* A dropped gradient joins no update: applied_to is null, why says. */
    char applied_to[24] = "null";
    if (!dropped)
        snprintf(applied_to, sizeof applied_to, "%llu",
                 (unsigned long long) i->applied_to);
    char why[24] = "null";
    if (dropped)
        snprintf(why, sizeof why, "\"%s\"", i->why != NULL ? i->why : "");
    int n = snprintf(
        t->buf + t->used, TRACE_LINE_MAX,
        "{\"wall_s\":%.6f,\"time\":%.6f,\"ps\":%d,\"worker\":%d,"
        "\"read\":%llu,\"applied_to\":%s,\"tau\":%llu,\"result\":\"%s\","
        "\"why\":%s,\"lr\":%.9g}\n",
        g->wall_s, g->time, t->shard, g->worker, (unsigned long long) g->read,
        applied_to, (unsigned long long) i->tau, s_result_name(g->result), why,
        (double) i->lr);
    if (n > 0 && n < TRACE_LINE_MAX)
        t->used += (size_t) n;
}

void ps_trace_rows(ps_trace_t *t, const struct ps_trace_rows *r)
{
    if (!s_room(t))
        return;
    char read[24] = "null";
    if (r->has_read)
        snprintf(read, sizeof read, "%llu", (unsigned long long) r->read);
    char why[24] = "null";
    if (r->why != NULL)
        snprintf(why, sizeof why, "\"%s\"", r->why);
    int n = snprintf(t->buf + t->used, TRACE_LINE_MAX,
                     "{\"wall_s\":%.6f,\"time\":%.6f,\"ps\":%d,\"worker\":%d,"
                     "\"read\":%s,\"rows\":%llu,\"result\":\"%s\","
                     "\"why\":%s,\"version\":%llu}\n",
                     r->wall_s, r->time, t->shard, r->worker, read,
                     (unsigned long long) r->rows, r->result, why,
                     (unsigned long long) r->version);
    if (n > 0 && n < TRACE_LINE_MAX)
        t->used += (size_t) n;
}

void ps_trace_flush(ps_trace_t *t)
{
    if (t == NULL || t->used == 0)
        return;
    const char *p = t->buf;
    size_t left = t->used;
    while (left > 0 && !t->failed) {
        ssize_t n = write(t->fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            psc_log_warn("the gradient trace stops: cannot write it: %s",
                         strerror(errno));
            t->failed = 1;
            break;
        }
        p += n;
        left -= (size_t) n;
    }
    t->used = 0;
}

void ps_trace_close(ps_trace_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    ps_trace_flush(*p);
    close((*p)->fd);
    free((*p)->buf);
    free(*p);
    *p = NULL;
}
