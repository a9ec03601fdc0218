#include "bench_ckpt_load.h"

#include "bench_cluster.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_time.h"
#include "psclient.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define NPS 2

/* The thread that takes a checkpoint every interval while a run lasts. */
struct saver {
    bench_cluster_t *cl;
    const char *dir;
    double interval_s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int quit;
    int taken;
    int rc;
    char err[PSC_ERR_LEN];
};

static void *s_saver_main(void *arg)
{
    struct saver *s = arg;
    pthread_mutex_lock(&s->mu);
    /* Half an interval in first: a run of k intervals holds k of them. */
    double due = psc_wall() + s->interval_s / 2;
    for (;;) {
        struct timespec ts = {(time_t) due,
                              (long) ((due - (double) (time_t) due) * 1e9)};
        while (!s->quit && psc_wall() < due)
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        if (s->quit)
            break;
        pthread_mutex_unlock(&s->mu);
        char folder[4200];
        struct ckpt_file files[NPS];
        snprintf(folder, sizeof folder, "%s/ckpt-%d", s->dir, s->taken + 1);
        int rc = bench_cluster_save(s->cl, folder, files, s->err);
        pthread_mutex_lock(&s->mu);
        due += s->interval_s;
        s->taken++;
        if (rc != 0 && s->rc == 0)
            s->rc = rc;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* One worker's state: its client and the gradient it sends. */
struct trainer {
    struct boot b;
    void *zctx;
    psclient_t *pc;
    wire_buf_t *grad;
    float *params;
};

static int s_trainer_open(struct trainer *t, bench_cluster_t *cl, char *err)
{
    memset(t, 0, sizeof *t);
    t->zctx = zmq_ctx_new();
    int rc = bench_cluster_boot(cl, 0, t->zctx, &t->b, err);
    if (rc != 0)
        return rc;
    size_t total = (size_t) t->b.job->bench_dense_floats;
    t->grad = wire_buf_new(total * 4 + 4);
    t->params = psc_xaligned(total * 4 + 4);
    /* Small gradients: Adam moves every value a little each round. */
    float *g = wire_buf_data(t->grad);
    for (size_t i = 0; i < total; i++)
        g[i] = 1e-3f;
    t->pc = psclient_new(&t->b, bench_cluster_placement(cl), NULL, err);
    return t->pc != NULL ? 0 : PSC_ENET;
}

static void s_trainer_close(struct trainer *t)
{
    psclient_destroy(&t->pc);
    wire_buf_release(&t->grad);
    free(t->params);
    if (t->b.tfc != NULL)
        bench_cluster_boot_release(&t->b);
    if (t->zctx != NULL)
        zmq_ctx_term(t->zctx);
}

/* Push + pull rounds for seconds (one at least): rounds per second, or -1
 * (err). */
static double s_train_for(struct trainer *t, double seconds, char *err)
{
    double t0 = psc_now();
    long rounds = 0;
    do {
        int rc = psclient_push(t->pc, t->grad);
        if (rc == 0)
            rc = psclient_wait(t->pc, t->params, NULL, NULL, 300, err);
        if (rc != 0)
            return -1;
        rounds++;
    } while (psc_now() - t0 < seconds);
    return (double) rounds / (psc_now() - t0);
}

/* One run, with checkpoints when saver is given: rounds per second. */
static double s_run(struct trainer *t, struct saver *sv, double seconds,
                    char *err)
{
    pthread_t th;
    if (sv != NULL) {
        sv->quit = 0;
        pthread_create(&th, NULL, s_saver_main, sv);
    }
    double rate = s_train_for(t, seconds, err);
    if (sv != NULL) {
        pthread_mutex_lock(&sv->mu);
        sv->quit = 1;
        pthread_cond_signal(&sv->cv);
        pthread_mutex_unlock(&sv->mu);
        pthread_join(th, NULL);
        if (sv->rc != 0 && rate >= 0) {
            snprintf(err, PSC_ERR_LEN, "%s", sv->err);
            return -1;
        }
    }
    return rate;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *) a;
    double y = *(const double *) b;
    return (x > y) - (x < y);
}

static void s_add(bench_report_t *rep, const struct bench_ckpt_load *ld,
                  double *off, double *on, int taken)
{
    qsort(off, (size_t) ld->pairs, sizeof *off, s_cmp);
    qsort(on, (size_t) ld->pairs, sizeof *on, s_cmp);
    struct bench_rec r;
    memset(&r, 0, sizeof r);
    snprintf(r.op, sizeof r.op, "ckpt_slowdown");
    r.bytes = (size_t) ld->params * 4;
    r.ps = NPS;
    snprintf(r.variant, sizeof r.variant, "adam %ldM", ld->params / 1000000);
    r.value = on[ld->pairs / 2];
    r.value2 = off[ld->pairs / 2];
    r.compare = ld->interval_s;
    r.compare_raw = taken;
    r.target = ld->judged ? 0.98 : 0;
    bench_report_add(rep, &r, stdout);
}

static int s_pairs(const struct bench_ckpt_load *ld, bench_cluster_t *cl,
                   bench_report_t *rep, char *err)
{
    struct trainer t;
    int rc = s_trainer_open(&t, cl, err);
    struct saver sv = {.cl = cl, .dir = ld->dir, .interval_s = ld->interval_s};
    pthread_mutex_init(&sv.mu, NULL);
    pthread_cond_init(&sv.cv, NULL);
    double *off = psc_xcalloc((size_t) ld->pairs, sizeof *off);
    double *on = psc_xcalloc((size_t) ld->pairs, sizeof *on);
    /* A first round outside the figures: memory and connections. */
    if (rc == 0 && s_train_for(&t, 0, err) < 0)
        rc = PSC_ENET;
    for (int i = 0; i < ld->pairs && rc == 0; i++) {
        off[i] = s_run(&t, NULL, ld->seconds, err);
        on[i] = off[i] >= 0 ? s_run(&t, &sv, ld->seconds, err) : -1;
        if (off[i] < 0 || on[i] < 0)
            rc = PSC_EIO;
    }
    if (rc == 0)
        s_add(rep, ld, off, on, sv.taken);
    free(off);
    free(on);
    pthread_cond_destroy(&sv.cv);
    pthread_mutex_destroy(&sv.mu);
    s_trainer_close(&t);
    return rc;
}

int bench_ckpt_load_run(const struct bench_ckpt_load *ld, bench_report_t *rep,
                        char *err)
{
    char root[4096];
    snprintf(root, sizeof root, "%s/psc-bench-ckload.XXXXXX", ld->dir);
    if (mkdtemp(root) == NULL)
        return psc_seterr(err, PSC_EIO, "cannot make a folder in %s", ld->dir);
    struct bench_ckpt_load in = *ld;
    in.dir = root;
    bench_cluster_t *cl =
        bench_cluster_new(ld->ps_path, NPS, 1, ld->sets, ld->nsets, err);
    int rc = cl != NULL ? s_pairs(&in, cl, rep, err) : PSC_EIO;
    bench_cluster_destroy(&cl);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0 && rc == 0)
        rc = psc_seterr(err, PSC_EIO, "cannot remove %s", root);
    return rc;
}
