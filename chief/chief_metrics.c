/*
 * Metrics aggregation. Dropped gradients are counted by every shard a
 * gradient reaches, so per worker the chief takes the largest count any
 * shard reports; staleness comes from ps 0, which sees every gradient.
 */
#include "chief_metrics.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_fs.h"
#include "psc_json.h"
#include "psc_log.h"
#include "psc_time.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct chief_metrics {
    FILE *out;
    int nworkers;
    int nps;
    long total_steps;
    double start;
    double last_flush;
    uint64_t step;
    double loss_sum; /* this interval */
    uint64_t loss_count;
    uint64_t examples;   /* this interval: of gradients applied */
    uint64_t computed;   /* this interval: of every gradient reported */
    uint64_t traffic[5]; /* this interval: Report's bytes and rows */
    uint64_t examples_total;
    uint64_t computed_total;
    double last_loss;
    uint64_t *dropped; /* nps x nworkers, cumulative */
    uint64_t *table;   /* nps x 2: each shard's sparse rows and bytes */
    uint64_t *hist;    /* nps x CHIEF_HIST_BINS: taken gradients by staleness */
    uint64_t *taken;   /* nps x nworkers: gradients applied or summed */
    uint64_t *tau_sum; /* nps x nworkers: their staleness summed */
    uint64_t *worker_steps;
    int tty;
};

chief_metrics_t *chief_metrics_new(const char *model_dir, int nworkers, int nps,
                                   long total_steps, char *err)
{
    if (psc_mkdirs(model_dir, err) != 0)
        return NULL;
    char path[1100];
    snprintf(path, sizeof path, "%s/metrics.jsonl", model_dir);
    FILE *f = fopen(path, "a");
    if (f == NULL) {
        psc_seterr(err, PSC_EIO, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    chief_metrics_t *m = psc_xcalloc(1, sizeof *m);
    m->out = f;
    m->nworkers = nworkers;
    m->nps = nps;
    m->total_steps = total_steps;
    m->dropped =
        psc_xcalloc((size_t) nworkers * (size_t) nps, sizeof *m->dropped);
    m->worker_steps = psc_xcalloc((size_t) nworkers, sizeof *m->worker_steps);
    m->table = psc_xcalloc((size_t) nps * 2, sizeof *m->table);
    m->hist = psc_xcalloc((size_t) nps * CHIEF_HIST_BINS, sizeof *m->hist);
    m->taken = psc_xcalloc((size_t) nworkers * (size_t) nps, sizeof *m->taken);
    m->tau_sum =
        psc_xcalloc((size_t) nworkers * (size_t) nps, sizeof *m->tau_sum);
    m->tty = isatty(STDERR_FILENO);
    m->start = m->last_flush = psc_now();
    return m;
}

void chief_metrics_destroy(chief_metrics_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    fclose((*p)->out);
    free((*p)->dropped);
    free((*p)->worker_steps);
    free((*p)->table);
    free((*p)->hist);
    free((*p)->taken);
    free((*p)->tau_sum);
    free(*p);
    *p = NULL;
}

void chief_metrics_start(chief_metrics_t *m, const char *run_id,
                         uint64_t start_step)
{
    m->start = m->last_flush = psc_now();
    m->step = start_step;
    json_t *rec =
        json_pack("{s:s, s:I, s:b}", "run", run_id, "start_step",
                  (json_int_t) start_step, "restored", start_step > 0);
    json_dumpf(rec, m->out, JSON_COMPACT);
    fputc('\n', m->out);
    fflush(m->out);
    json_decref(rec);
}

void chief_metrics_rewind(chief_metrics_t *m, const char *run_id, uint64_t step)
{
    if (m == NULL)
        return;
    m->step = step;
    m->loss_sum = 0;
    m->loss_count = 0;
    json_t *rec = json_pack("{s:s, s:I, s:b, s:b, s:f}", "run", run_id,
                            "start_step", (json_int_t) step, "restored", 1,
                            "rolled_back", 1, "wall_s", psc_now() - m->start);
    json_dumpf(rec, m->out, JSON_COMPACT);
    fputc('\n', m->out);
    fflush(m->out);
    json_decref(rec);
}

void chief_metrics_report(chief_metrics_t *m, int worker, uint64_t step,
                          const Psc__Report *r)
{
    if (step > m->step)
        m->step = step;
    if (worker >= 0 && worker < m->nworkers)
        m->worker_steps[worker]++;
    if (r == NULL)
        return;
    m->loss_sum += r->loss;
    m->loss_count++;
    /* A dropped gradient's examples were computed, never applied. */
    uint64_t applied = r->dropped ? 0 : r->examples;
    m->examples += applied;
    m->examples_total += applied;
    m->computed += r->examples;
    m->computed_total += r->examples;
    m->traffic[0] += r->dense_bytes_pushed;
    m->traffic[1] += r->dense_bytes_pulled;
    m->traffic[2] += r->sparse_bytes_pushed;
    m->traffic[3] += r->sparse_bytes_pulled;
    m->traffic[4] += r->sparse_rows;
}

/* The interval's traffic per worker step: bytes each way, dense and
 * sparse, and the sparse rows read. */
static void s_traffic(const chief_metrics_t *m, json_t *rec)
{
    static const char *const names[] = {"dense_pushed", "dense_pulled",
                                        "sparse_pushed", "sparse_pulled"};
    double steps = m->loss_count > 0 ? (double) m->loss_count : 1;
    json_t *bytes = json_object();
    for (int i = 0; i < 4; i++)
        json_object_set_new(bytes, names[i],
                            json_real(round((double) m->traffic[i] / steps)));
    json_object_set_new(rec, "bytes_per_step", bytes);
    json_object_set_new(rec, "sparse_rows_per_step",
                        json_real(round((double) m->traffic[4] / steps)));
}

/* Copies a ps's per-worker counters (the ps's extra last one left out). */
static void s_copy_per_worker(uint64_t *to, const uint64_t *from, size_t n,
                              int nworkers)
{
    for (size_t w = 0; w < n && (int) w < nworkers; w++)
        to[w] = from[w];
}

void chief_metrics_ps_stats(chief_metrics_t *m, int ps, const Psc__PsStats *s)
{
    if (ps < 0 || ps >= m->nps)
        return;
    size_t row = (size_t) ps * (size_t) m->nworkers;
    s_copy_per_worker(m->dropped + row, s->dropped, s->n_dropped, m->nworkers);
    s_copy_per_worker(m->taken + row, s->taken, s->n_taken, m->nworkers);
    s_copy_per_worker(m->tau_sum + row, s->staleness_sum, s->n_staleness_sum,
                      m->nworkers);
    m->table[2 * ps] = s->sparse_rows;
    m->table[2 * ps + 1] = s->sparse_bytes;
    uint64_t *hist = m->hist + (size_t) ps * CHIEF_HIST_BINS;
    for (size_t i = 0; i < s->n_staleness_hist && i < CHIEF_HIST_BINS; i++)
        hist[i] = s->staleness_hist[i];
}

uint64_t chief_metrics_step(const chief_metrics_t *m)
{
    return m->step;
}

double chief_metrics_start_time(const chief_metrics_t *m)
{
    return m->start;
}

static uint64_t s_dropped(const chief_metrics_t *m, int w)
{
    uint64_t most = 0;
    for (int s = 0; s < m->nps; s++) {
        if (m->dropped[s * m->nworkers + w] > most)
            most = m->dropped[s * m->nworkers + w];
    }
    return most;
}

/*
 * Every ps's histogram of taken gradients summed (a gradient counts at each
 * ps it went to), up to the last bin used; the last bin is "or more".
 */
static json_t *s_staleness_hist(const chief_metrics_t *m)
{
    uint64_t sum[CHIEF_HIST_BINS] = {0};
    int last = 0;
    for (int i = 0; i < CHIEF_HIST_BINS; i++) {
        for (int s = 0; s < m->nps; s++)
            sum[i] += m->hist[(size_t) s * CHIEF_HIST_BINS + (size_t) i];
        if (sum[i])
            last = i;
    }
    json_t *hist = json_array();
    for (int i = 0; i <= last; i++)
        json_array_append_new(hist, json_integer((json_int_t) sum[i]));
    return hist;
}

/*
 * Mean staleness of taken gradients over every ps, and per worker, from
 * the ps's exact sums (the histogram's overflow bin would count as 63).
 */
static void s_staleness_means(const chief_metrics_t *m, json_t *rec)
{
    json_t *per_worker = json_array();
    double all_sum = 0, all_n = 0;
    for (int w = 0; w < m->nworkers; w++) {
        double sum = 0, n = 0;
        for (int s = 0; s < m->nps; s++) {
            sum += (double) m->tau_sum[s * m->nworkers + w];
            n += (double) m->taken[s * m->nworkers + w];
        }
        json_array_append_new(per_worker, json_real(n > 0 ? sum / n : 0.0));
        all_sum += sum;
        all_n += n;
    }
    psc_json_set_real(rec, "staleness_mean", all_n > 0 ? all_sum / all_n : 0);
    json_object_set_new(rec, "staleness_mean_per_worker", per_worker);
}

static json_t *s_record(const chief_metrics_t *m, double wall, double span,
                        int live)
{
    json_t *per_worker = json_array();
    json_t *steps = json_array();
    uint64_t total = 0;
    for (int w = 0; w < m->nworkers; w++) {
        total += s_dropped(m, w);
        json_array_append_new(per_worker,
                              json_integer((json_int_t) s_dropped(m, w)));
        json_array_append_new(steps,
                              json_integer((json_int_t) m->worker_steps[w]));
    }
    json_t *hist = s_staleness_hist(m);
    /* Reals go through psc_json_set_real(): a NaN loss from a worker
     * becomes null and a flag, not a record jansson refuses to build. */
    json_t *rec = json_pack("{s:I}", "step", (json_int_t) m->step);
    psc_json_set_real(rec, "wall_s", wall);
    psc_json_set_real(rec, "time", psc_wall());
    psc_json_set_real(rec, "loss", m->last_loss);
    psc_json_set_real(rec, "examples_per_s",
                      span > 0 ? (double) m->examples / span : 0);
    psc_json_set_real(rec, "computed_examples_per_s",
                      span > 0 ? (double) m->computed / span : 0);
    json_object_set_new(rec, "dropped_gradients", json_integer(total));
    json_object_set_new(rec, "dropped_per_worker", per_worker);
    s_staleness_means(m, rec);
    json_object_set_new(rec, "staleness_hist", hist);
    json_object_set_new(rec, "worker_steps", steps);
    json_object_set_new(rec, "live_workers", json_integer(live));
    json_object_set_new(rec, "examples",
                        json_integer((json_int_t) m->examples_total));
    json_object_set_new(rec, "examples_computed",
                        json_integer((json_int_t) m->computed_total));
    s_traffic(m, rec);
    uint64_t rows = 0, bytes = 0;
    for (int s = 0; s < m->nps; s++) {
        rows += m->table[2 * s];
        bytes += m->table[2 * s + 1];
    }
    json_object_set_new(rec, "sparse_table_rows",
                        json_integer((json_int_t) rows));
    json_object_set_new(rec, "sparse_table_bytes",
                        json_integer((json_int_t) bytes));
    return rec;
}

static void s_progress(const chief_metrics_t *m, json_t *rec)
{
    double rate = psc_json_get_real(rec, "examples_per_s");
    json_int_t dropped =
        json_integer_value(json_object_get(rec, "dropped_gradients"));
    double stale = psc_json_get_real(rec, "staleness_mean");
    char line[256];
    snprintf(line, sizeof line,
             "step %llu/%ld  %.0f examples/s  loss %.4f  dropped %lld  "
             "staleness %.2f",
             (unsigned long long) m->step, m->total_steps, rate, m->last_loss,
             (long long) dropped, stale);
    if (m->tty) {
        fprintf(stderr, "\r\033[K%s", line);
        fflush(stderr);
    } else {
        psc_log_info("%s", line);
    }
}

void chief_metrics_flush(chief_metrics_t *m, int live_workers)
{
    double now = psc_now();
    double span = now - m->last_flush;
    if (m->loss_count > 0)
        m->last_loss = m->loss_sum / (double) m->loss_count;
    json_t *rec = s_record(m, now - m->start, span, live_workers);
    json_dumpf(rec, m->out, JSON_COMPACT);
    fputc('\n', m->out);
    fflush(m->out);
    s_progress(m, rec);
    json_decref(rec);
    m->loss_sum = 0;
    m->loss_count = 0;
    m->examples = 0;
    m->computed = 0;
    memset(m->traffic, 0, sizeof m->traffic);
    m->last_flush = now;
}

void chief_metrics_finish(chief_metrics_t *m)
{
    if (m->tty)
        fputc('\n', stderr);
    double wall = psc_now() - m->start;
    psc_log_info(
        "trained %llu steps, %llu examples applied (%llu computed) "
        "in %.1f s (%.0f examples/s), last loss %.4f",
        (unsigned long long) m->step, (unsigned long long) m->examples_total,
        (unsigned long long) m->computed_total, wall,
        wall > 0 ? (double) m->examples_total / wall : 0, m->last_loss);
}
