/*
 * Raw ZeroMQ echo servers.
 */
#include "bench_raw.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_num.h"
#include "psc_port.h"
#include "psc_proc.h"
#include "psc_time.h"

#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

struct bench_raw {
    int n;
    pid_t pids[BENCH_RAW_MAX];
    char endpoints[BENCH_RAW_MAX][128];
    int ipc;
    char table_arg[96]; /* "" for plain echo servers */
};

static int s_spawn(bench_raw_t *r, const char *self_exe, int i, int io_threads,
                   long sockbuf, char *err)
{
    char io[16];
    char buf[32];
    snprintf(io, sizeof io, "%d", io_threads);
    snprintf(buf, sizeof buf, "%ld", sockbuf);
    char *argv[] = {(char *) self_exe,
                    "--raw-echo",
                    r->endpoints[i],
                    "--io-threads",
                    io,
                    "--sockbuf",
                    buf,
                    r->table_arg[0] ? "--raw-table" : NULL,
                    r->table_arg,
                    NULL};
    pid_t pid = psc_spawn_tied(self_exe, argv, NULL);
    if (pid < 0)
        return psc_seterr(err, PSC_EIO, "cannot start an echo server");
    r->pids[i] = pid;
    return 0;
}

/* Connects and waits until server i answers an empty request. */
static int s_ping(const bench_raw_t *r, int i, char *err)
{
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    int timeout = 100;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_connect(s, r->endpoints[i]);
    int rc = PSC_ETIMEDOUT;
    double deadline = psc_now() + 10;
    while (rc != 0 && psc_now() < deadline) {
        uint64_t want = 0;
        zmq_send(s, &want, sizeof want, 0);
        uint64_t got = 0;
        if (zmq_recv(s, &got, sizeof got, 0) == (int) sizeof got)
            rc = 0;
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    if (rc != 0)
        return psc_seterr(err, rc, "the echo server at '%s' does not answer",
                          r->endpoints[i]);
    return 0;
}

bench_raw_t *bench_raw_new(const char *self_exe, int n, const char *transport,
                           int io_threads, long sockbuf, char *err)
{
    return bench_raw_new_table(self_exe, n, transport, io_threads, sockbuf,
                               NULL, err);
}

bench_raw_t *bench_raw_new_table(const char *self_exe, int n,
                                 const char *transport, int io_threads,
                                 long sockbuf,
                                 const struct bench_raw_table *table, char *err)
{
    bench_raw_t *r = psc_xcalloc(1, sizeof *r);
    if (table != NULL)
        snprintf(r->table_arg, sizeof r->table_arg, "%llu,%zu,%g,%d",
                 (unsigned long long) table->rows, table->width, table->lr, n);
    r->ipc = strcmp(transport, "ipc") == 0;
    int ports[BENCH_RAW_MAX];
    int rc = n >= 1 && n <= BENCH_RAW_MAX ? 0 : PSC_EINVAL;
    if (rc == 0 && !r->ipc)
        rc = psc_port_pick("127.0.0.1", ports, n, err);
    for (int i = 0; i < n && rc == 0; i++) {
        if (r->ipc) {
            snprintf(r->endpoints[i], sizeof r->endpoints[i],
                     "ipc:///tmp/psc-bench-%d-%d.sock", (int) getpid(), i);
        } else {
            /* psc_port_pick() filled ports. The analyzer lets s_spawn()
             * change r->ipc, and psc_seterr() (another file) return 0. */
            /* NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage) */
            snprintf(r->endpoints[i], sizeof r->endpoints[i],
                     "tcp://127.0.0.1:%d", ports[i]);
        }
        rc = s_spawn(r, self_exe, i, io_threads, sockbuf, err);
        if (rc == 0)
            r->n = i + 1;
    }
    for (int i = 0; i < r->n && rc == 0; i++)
        rc = s_ping(r, i, err);
    if (rc != 0)
        bench_raw_destroy(&r);
    return r;
}

void bench_raw_destroy(bench_raw_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    bench_raw_t *r = *p;
    for (int i = 0; i < r->n; i++) {
        if (r->pids[i] > 0) {
            kill(r->pids[i], SIGTERM);
            waitpid(r->pids[i], NULL, 0);
        }
        if (r->ipc)
            unlink(r->endpoints[i] + strlen("ipc://"));
    }
    free(r);
    *p = NULL;
}

const char *bench_raw_endpoint(const bench_raw_t *r, int i)
{
    return r->endpoints[i];
}

int bench_raw_count(const bench_raw_t *r)
{
    return r->n;
}

/* Receives one request; returns its frame count, or -1. */
static int s_recv_request(void *sock, zmq_msg_t *parts, int max)
{
    int n = 0;
    for (;;) {
        zmq_msg_init(&parts[n]);
        if (zmq_msg_recv(&parts[n], sock, 0) < 0) {
            zmq_msg_close(&parts[n]);
            for (int i = 0; i < n; i++)
                zmq_msg_close(&parts[i]);
            return -1;
        }
        int more = zmq_msg_more(&parts[n]);
        n++;
        if (!more)
            return n;
        if (n == max) {
            for (int i = 0; i < n; i++)
                zmq_msg_close(&parts[i]);
            return -1;
        }
    }
}

/*
 * Answers [id][want][payload...] with [id][want][want bytes]: the last
 * payload frame itself when it has that size (no copy), else a zero-copy
 * frame of a buffer kept for the purpose.
 */
static void s_answer(void *sock, zmq_msg_t *parts, int n, char **spare,
                     size_t *spare_len)
{
    uint64_t want = 0;
    if (n < 2) {
        zmq_msg_close(&parts[0]);
        return;
    }
    if (zmq_msg_size(&parts[1]) == sizeof want)
        memcpy(&want, zmq_msg_data(&parts[1]), sizeof want);
    zmq_msg_send(&parts[0], sock, ZMQ_SNDMORE);
    zmq_msg_send(&parts[1], sock, want > 0 ? ZMQ_SNDMORE : 0);
    if (want > 0 && n >= 3 && zmq_msg_size(&parts[n - 1]) == want) {
        zmq_msg_send(&parts[n - 1], sock, 0);
        n--;
    } else if (want > 0) {
        if (*spare_len < want) {
            free(*spare);
            *spare = psc_xcalloc(1, (size_t) want);
            *spare_len = (size_t) want;
        }
        zmq_msg_t m;
        zmq_msg_init_data(&m, *spare, (size_t) want, NULL, NULL);
        zmq_msg_send(&m, sock, 0);
    }
    for (int i = 2; i < n; i++)
        zmq_msg_close(&parts[i]);
}

/* A server's part of a struct bench_raw_table. */
struct table {
    float *rows;
    uint64_t nrows;
    size_t width;
    float lr;
    uint64_t servers;
};

/* The table of "ROWS,WIDTH,LR,SERVERS", touched so that no first-use
 * page fault is timed; 0, or -1 for a spec that does not parse. */
static int s_table_new(struct table *t, const char *arg)
{
    char copy[96];
    snprintf(copy, sizeof copy, "%s", arg);
    char *save = NULL;
    const char *f[4];
    for (int i = 0; i < 4; i++)
        f[i] = strtok_r(i == 0 ? copy : NULL, ",", &save);
    long rows = 0;
    long width = 0;
    long servers = 0;
    double lr = 0;
    if (f[3] == NULL || psc_num_long(f[0], 1, LONG_MAX, &rows) != 0 ||
        psc_num_long(f[1], 1, 65536, &width) != 0 ||
        psc_num_double(f[2], 0, 1e6, &lr) != 0 ||
        psc_num_long(f[3], 1, BENCH_RAW_MAX, &servers) != 0)
        return -1;
    t->width = (size_t) width;
    t->nrows = (uint64_t) ((rows + servers - 1) / servers);
    t->servers = (uint64_t) servers;
    t->lr = (float) lr;
    t->rows = psc_xmalloc(t->nrows * t->width * sizeof(float));
    memset(t->rows, 0, t->nrows * t->width * sizeof(float));
    return 0;
}

/*
 * [id][want][keys][rows]: SGD on the rows the keys name, each then written
 * over its gradient, which goes back as the answer. Frames that ZeroMQ
 * keeps unaligned (only tiny ones) are echoed untouched.
 */
static void s_table_apply(const struct table *t, zmq_msg_t *parts, int n)
{
    if (t->rows == NULL || n != 4)
        return;
    size_t nkeys = zmq_msg_size(&parts[2]) / sizeof(uint64_t);
    const char *keys = zmq_msg_data(&parts[2]);
    char *grad = zmq_msg_data(&parts[3]);
    if (zmq_msg_size(&parts[3]) != nkeys * t->width * sizeof(float) ||
        (uintptr_t) grad % sizeof(float) != 0)
        return;
    float *g = (float *) (void *) grad;
    for (size_t i = 0; i < nkeys; i++, g += t->width) {
        uint64_t key = 0;
        memcpy(&key, keys + i * sizeof key, sizeof key);
        float *row = t->rows + (key / t->servers % t->nrows) * t->width;
        for (size_t j = 0; j < t->width; j++) {
            row[j] -= t->lr * g[j];
            g[j] = row[j];
        }
    }
}

int bench_raw_serve(const char *endpoint, int io_threads, long sockbuf,
                    const char *table_arg)
{
    struct table table = {0};
    if (table_arg != NULL && s_table_new(&table, table_arg) != 0) {
        fprintf(stderr,
                "psc-bench: --raw-table '%s': give ROWS,WIDTH,LR,"
                "SERVERS\n",
                table_arg);
        return 2;
    }
    void *ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_IO_THREADS, io_threads);
    void *sock = zmq_socket(ctx, ZMQ_ROUTER);
    int hwm = 0;
    int buf = sockbuf > 0 ? (int) sockbuf : -1;
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_SNDBUF, &buf, sizeof buf);
    zmq_setsockopt(sock, ZMQ_RCVBUF, &buf, sizeof buf);
    if (zmq_bind(sock, endpoint) != 0) {
        fprintf(stderr, "psc-bench: cannot bind '%s': %s\n", endpoint,
                zmq_strerror(zmq_errno()));
        return 1;
    }
    char *spare = NULL;
    size_t spare_len = 0;
    zmq_msg_t parts[64];
    for (;;) {
        int n = s_recv_request(sock, parts, 64);
        if (n < 0)
            break;
        s_table_apply(&table, parts, n);
        s_answer(sock, parts, n, &spare, &spare_len);
    }
    free(table.rows);
    free(spare);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return 0;
}
