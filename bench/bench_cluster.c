/*
 * psc-bench's cluster: the rig's ps processes (rig.h), a chief thread that
 * keeps them answered while the benchmark runs, and their INIT from the
 * seed.
 */
#include "bench_cluster.h"

#include "jobvars.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "psc_time.h"
#include "psclient.h"
#include "rig.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

/* The rig holds psc-bench's largest cluster. */
_Static_assert(BENCH_MAX_PS <= RIG_MAX_PS, "more ps than the rig holds");
_Static_assert(BENCH_MAX_WORKERS <= RIG_MAX_WORKERS,
               "more workers than the rig holds");
_Static_assert(BENCH_MAX_SETS <= RIG_MAX_SETS,
               "more job options than the rig holds");

/* How long the ps have to say goodbye and exit after STOP. */
#define BENCH_STOP_S 10.0
/* A bound on one checkpoint's writing: gigabytes on a slow disk. */
#define BENCH_SAVE_S 600.0

struct bench_cluster {
    int nps;
    pid_t pids[BENCH_MAX_PS]; /* as started: the chief thread reaps */
    rig_t *rig;
    placement_t *pl;
    void *zctx;    /* the rig's and the chief thread's */
    void *wake[2]; /* PAIR: main -> chief thread, "stop serving" */
    pthread_t thread;
    int thread_started;
    int stopped;
    int bad; /* ps that did not end well, once stopped */
    _Atomic uint64_t rejected[BENCH_MAX_PS];
    _Atomic uint64_t sparse_rows[BENCH_MAX_PS];
    _Atomic uint64_t sparse_bytes[BENCH_MAX_PS];
    double init_s; /* how long INIT took, answers included */
};

/* The rig's stats callback, on the chief thread; arg is the cluster. */
static void s_on_stats(void *arg, int ps, const Psc__PsStats *stats)
{
    bench_cluster_t *c = arg;
    atomic_store(&c->rejected[ps], stats->rejected_messages);
    atomic_store(&c->sparse_rows[ps], stats->sparse_rows);
    atomic_store(&c->sparse_bytes[ps], stats->sparse_bytes);
}

/* The chief: answers the ps until the main thread wakes it. */
static void *s_chief(void *arg)
{
    bench_cluster_t *c = arg;
    char err[PSC_ERR_LEN];
    for (;;) {
        int rc = rig_poll(c->rig, c->wake[1], -1, err);
        if (rc == 1)
            return NULL;
        if (rc < 0)
            psc_log_warn("%s", err);
        if (rc == PSC_ENET)
            return NULL;
    }
}

/* TF_CONFIG of task role:index of this cluster, parsed. */
static tfc_t *s_tfc(const bench_cluster_t *c, enum tfc_role role, int index,
                    char *err)
{
    char *tf = rig_tf_config(c->rig, role, index, err);
    if (tf == NULL)
        return NULL;
    tfc_t *tfc = tfc_new_from_json(tf, err);
    free(tf);
    return tfc;
}

/* INIT from the seed, or from the checkpoint folder restore (not NULL). */
static int s_init_ps(bench_cluster_t *c, const char *restore, char *err)
{
    struct boot b;
    memset(&b, 0, sizeof b);
    b.tfc = s_tfc(c, TFC_CHIEF, 0, err);
    if (b.tfc == NULL)
        return PSC_ECONFIG;
    b.job = rig_job(c->rig);
    b.keys = rig_keys(c->rig);
    b.zctx = zmq_ctx_new();
    psclient_t *pc = psclient_new(&b, c->pl, "chief:0", err);
    double t0 = psc_now();
    int rc = PSC_ENET;
    if (pc != NULL)
        rc = restore ? psclient_init_restore(pc, restore)
                     : psclient_init_seed(pc);
    if (rc == 0)
        rc = psclient_wait(pc, NULL, NULL, NULL, b.job->startup_timeout_s, err);
    c->init_s = psc_now() - t0;
    psclient_destroy(&pc);
    zmq_ctx_term(b.zctx);
    tfc_destroy(&b.tfc);
    return rc;
}

/* The pair that wakes the chief thread; the thread gets wake[1]. */
static int s_wake_pair(bench_cluster_t *c, char *err)
{
    char ep[64];
    int linger = 0;
    snprintf(ep, sizeof ep, "inproc://bench-chief-%p", (void *) c);
    c->wake[0] = zmq_socket(c->zctx, ZMQ_PAIR);
    c->wake[1] = zmq_socket(c->zctx, ZMQ_PAIR);
    for (int i = 0; i < 2; i++)
        zmq_setsockopt(c->wake[i], ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(c->wake[1], ep) != 0 || zmq_connect(c->wake[0], ep) != 0)
        return psc_seterr(err, PSC_ENET, "cannot make '%s': %s", ep,
                          zmq_strerror(zmq_errno()));
    return 0;
}

static int s_start_chief(bench_cluster_t *c, char *err)
{
    if (pthread_create(&c->thread, NULL, s_chief, c) != 0)
        return psc_seterr(err, PSC_EIO, "cannot start the chief thread");
    c->thread_started = 1;
    return 0;
}

static void s_stop_chief(bench_cluster_t *c)
{
    if (!c->thread_started)
        return;
    zmq_send(c->wake[0], "", 0, 0);
    pthread_join(c->thread, NULL);
    c->thread_started = 0;
}

static int s_start(bench_cluster_t *c, const struct rig_spec *spec,
                   const char *restore, char *err)
{
    c->rig = rig_new(spec, c->zctx, err);
    if (c->rig == NULL)
        return PSC_EIO;
    for (int i = 0; i < c->nps; i++)
        c->pids[i] = rig_pid(c->rig, i);
    c->pl = jobvars_placement(rig_job(c->rig), c->nps, err);
    if (c->pl == NULL)
        return PSC_ECONFIG;
    int rc = s_wake_pair(c, err);
    if (rc != 0)
        return rc;
    /* The ps are registered: from here the thread keeps them answered. */
    rc = s_start_chief(c, err);
    return rc != 0 ? rc : s_init_ps(c, restore, err);
}

bench_cluster_t *bench_cluster_new(const char *ps_path, int nps, int nworkers,
                                   const char *const *sets, int nsets,
                                   char *err)
{
    return bench_cluster_new_from(ps_path, nps, nworkers, sets, nsets, NULL,
                                  err);
}

bench_cluster_t *bench_cluster_new_from(const char *ps_path, int nps,
                                        int nworkers, const char *const *sets,
                                        int nsets, const char *restore,
                                        char *err)
{
    if (nps < 1 || nps > BENCH_MAX_PS || nworkers < 1 ||
        nworkers > BENCH_MAX_WORKERS || nsets > BENCH_MAX_SETS) {
        psc_seterr(err, PSC_EINVAL, "too many ps, workers or job options");
        return NULL;
    }
    bench_cluster_t *c = psc_xcalloc(1, sizeof *c);
    c->nps = nps;
    c->zctx = zmq_ctx_new();
    struct rig_spec spec = {.ps_path = ps_path,
                            .nps = nps,
                            .nworkers = nworkers,
                            .sets = sets,
                            .nsets = nsets,
                            .quiet = 1,
                            .on_stats = s_on_stats,
                            .arg = c};
    if (s_start(c, &spec, restore, err) != 0)
        bench_cluster_destroy(&c);
    return c;
}

double bench_cluster_init_s(const bench_cluster_t *c)
{
    return c->init_s;
}

int bench_cluster_save(bench_cluster_t *c, const char *dir,
                       struct ckpt_file *files, char *err)
{
    /* The rig answers on one thread at a time: the save runs on this one. */
    s_stop_chief(c);
    int rc = rig_save(c->rig, dir, BENCH_SAVE_S, files, err);
    int started = s_start_chief(c, err);
    return rc != 0 ? rc : started;
}

int bench_cluster_stop(bench_cluster_t *c)
{
    s_stop_chief(c);
    if (c->rig != NULL && !c->stopped) {
        char err[PSC_ERR_LEN] = "";
        c->bad = rig_stop(c->rig, BENCH_STOP_S, err);
        c->stopped = 1;
        if (c->bad > 0)
            psc_log_warn("%s", err);
    }
    return c->bad;
}

void bench_cluster_destroy(bench_cluster_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    bench_cluster_t *c = *p;
    bench_cluster_stop(c);
    rig_destroy(&c->rig);
    for (int i = 0; i < 2; i++) {
        if (c->wake[i] != NULL)
            zmq_close(c->wake[i]);
    }
    if (c->zctx != NULL)
        zmq_ctx_term(c->zctx);
    placement_destroy(&c->pl);
    free(c);
    *p = NULL;
}

const struct job *bench_cluster_job(const bench_cluster_t *c)
{
    return rig_job(c->rig);
}

const placement_t *bench_cluster_placement(const bench_cluster_t *c)
{
    return c->pl;
}

int bench_cluster_nps(const bench_cluster_t *c)
{
    return c->nps;
}

int bench_cluster_boot(const bench_cluster_t *c, int index, void *zctx,
                       struct boot *b, char *err)
{
    memset(b, 0, sizeof *b);
    b->tfc = s_tfc(c, TFC_WORKER, index, err);
    if (b->tfc == NULL)
        return PSC_ECONFIG;
    b->job = rig_job(c->rig);
    b->keys = rig_keys(c->rig);
    b->zctx = zctx;
    b->prog = "psc-bench";
    return 0;
}

void bench_cluster_boot_release(struct boot *b)
{
    tfc_destroy(&b->tfc);
    b->job = NULL;
    b->keys = NULL;
    b->zctx = NULL;
}

long bench_cluster_rss_kb(const bench_cluster_t *c, int ps, long *peak_kb)
{
    char path[64];
    char line[256];
    long rss = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int) c->pids[ps]);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            rss = strtol(line + 6, NULL, 10);
        else if (peak_kb != NULL && strncmp(line, "VmHWM:", 6) == 0)
            *peak_kb = strtol(line + 6, NULL, 10);
    }
    fclose(f);
    return rss;
}

void bench_cluster_endpoint(const bench_cluster_t *c, int ps, char *buf,
                            size_t len)
{
    rig_endpoint(c->rig, ps, buf, len);
}

uint64_t bench_cluster_rejected(bench_cluster_t *c, int ps)
{
    return atomic_load(&c->rejected[ps]);
}

uint64_t bench_cluster_sparse_rows(bench_cluster_t *c, int ps, uint64_t *bytes)
{
    *bytes = atomic_load(&c->sparse_bytes[ps]);
    return atomic_load(&c->sparse_rows[ps]);
}
