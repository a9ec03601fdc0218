#include "bench_sparse_mem.h"

#include "bench_cluster.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_time.h"
#include "psclient.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define NPS 2
/* Keys per push: large enough that the ps's work, not the round trip,
 * sets the pace. */
#define BATCH ((size_t) 100000)

/* Pushes one gradient to each key 0 .. rows - 1, a batch at a time. */
static int s_fill(psclient_t *pc, uint64_t rows, char *err)
{
    const size_t width = BENCH_SPARSE_MEM_WIDTH;
    uint64_t *keys = psc_xmalloc(BATCH * sizeof *keys);
    float *grad = psc_xmalloc(BATCH * width * sizeof *grad);
    for (size_t i = 0; i < BATCH * width; i++)
        grad[i] = 1e-3f;
    int rc = 0;
    for (uint64_t start = 0; start < rows && rc == 0; start += BATCH) {
        size_t n = rows - start < BATCH ? (size_t) (rows - start) : BATCH;
        for (size_t i = 0; i < n; i++)
            keys[i] = start + i;
        rc = psclient_sparse_push(pc, keys, n, grad, NULL);
        if (rc == 0)
            rc = psclient_wait(pc, NULL, NULL, NULL, 300, err);
        else
            psc_seterr(err, rc, "a sparse push failed to send");
    }
    free(keys);
    free(grad);
    return rc;
}

/* The cluster's row count once the ps's stats report every row (they
 * come each log_interval_s), or 0 after timeout_s. *bytes: the tables'. */
static uint64_t s_await_rows(bench_cluster_t *c, uint64_t rows,
                             double timeout_s, uint64_t *bytes)
{
    double deadline = psc_now() + timeout_s;
    for (;;) {
        uint64_t held = 0;
        *bytes = 0;
        for (int i = 0; i < NPS; i++) {
            uint64_t b = 0;
            held += bench_cluster_sparse_rows(c, i, &b);
            *bytes += b;
        }
        if (held >= rows)
            return held;
        if (psc_now() > deadline)
            return 0;
        poll(NULL, 0, 50);
    }
}

/* rss0: what the ps held before the first row. */
static void s_add(bench_report_t *rep, int judge, uint64_t rows, double rss0,
                  double rss, double peak, double table, double fill_s)
{
    const double width = BENCH_SPARSE_MEM_WIDTH;
    struct bench_rec r;
    memset(&r, 0, sizeof r);
    snprintf(r.op, sizeof r.op, "sparse_memory");
    r.keys = (size_t) rows;
    r.width = BENCH_SPARSE_MEM_WIDTH;
    r.ps = NPS;
    snprintf(r.transport, sizeof r.transport, "tcp");
    snprintf(r.dtype, sizeof r.dtype, "f32");
    snprintf(r.variant, sizeof r.variant, "adagrad %.0fM", (double) rows / 1e6);
    r.bytes = (size_t) rss0;
    r.value = (rss - rss0) / (double) rows;
    r.value2 = (peak - rss0) / (double) rows;
    r.compare = table / (double) rows;
    r.compare_raw = (double) rows / fill_s;
    /* Values, Adagrad's one accumulator per row, and the key. */
    if (judge)
        r.target = 1.25 * (width * 4 + 4 + 8);
    bench_report_add(rep, &r, stdout);
}

/* The memory the ps hold now, resident and peak, in bytes. */
static void s_rss(const bench_cluster_t *c, double *rss, double *peak)
{
    *rss = *peak = 0;
    for (int i = 0; i < NPS; i++) {
        long hwm = 0;
        *rss += (double) bench_cluster_rss_kb(c, i, &hwm) * 1024.0;
        *peak += (double) hwm * 1024.0;
    }
}

static int s_measure(bench_cluster_t *c, uint64_t rows, int judge,
                     bench_report_t *rep, char *err)
{
    struct boot b;
    void *zctx = zmq_ctx_new();
    int rc = bench_cluster_boot(c, 0, zctx, &b, err);
    psclient_t *pc = NULL;
    if (rc == 0) {
        pc = psclient_new(&b, bench_cluster_placement(c), NULL, err);
        rc = pc != NULL ? 0 : PSC_ENET;
    }
    double rss0 = 0;
    double peak0 = 0;
    s_rss(c, &rss0, &peak0);
    double t0 = psc_now();
    if (rc == 0)
        rc = s_fill(pc, rows, err);
    double fill_s = psc_now() - t0;
    psclient_destroy(&pc);
    if (b.tfc != NULL)
        bench_cluster_boot_release(&b);
    zmq_ctx_term(zctx);
    if (rc != 0)
        return rc;
    uint64_t table = 0;
    uint64_t held = s_await_rows(c, rows, 60, &table);
    if (held != rows)
        return psc_seterr(err, PSC_EPROTO,
                          "the ps hold %llu rows after pushes to %llu keys",
                          (unsigned long long) held, (unsigned long long) rows);
    /* Idle, the ps give the memory of freed messages back: what they hold
     * then is the table (the peak adds the messages in flight). */
    poll(NULL, 0, (int) (PSC_IDLE_GIVE_BACK_S * 1000) + 500);
    double rss = 0;
    double peak = 0;
    s_rss(c, &rss, &peak);
    s_add(rep, judge, rows, rss0, rss, peak, (double) table, fill_s);
    return 0;
}

int bench_sparse_mem_run(const char *ps_path, long rows, int judge,
                         const char *const *sets, int nsets,
                         bench_report_t *rep, char *err)
{
    bench_cluster_t *c = bench_cluster_new(ps_path, NPS, 1, sets, nsets, err);
    if (c == NULL)
        return PSC_EIO;
    int rc = s_measure(c, (uint64_t) rows, judge, rep, err);
    bench_cluster_destroy(&c);
    return rc;
}
