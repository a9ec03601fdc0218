/*
 * psc-bench's cluster: ps processes and the chief thread.
 */
#include "bench_cluster.h"

#include "jobvars.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "psc_port.h"
#include "psc_proc.h"
#include "psc_time.h"
#include "psclient.h"
#include "wire.h"

#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

struct bench_cluster {
    int nps;
    int nworkers;
    pid_t pids[BENCH_MAX_PS];
    int chief_port;
    int ps_ports[BENCH_MAX_PS];
    int worker_ports[BENCH_MAX_WORKERS];
    struct job *job;
    char *canonical;
    placement_t *pl;
    void *zctx; /* the chief thread's */
    void *router;
    pthread_t thread;
    int thread_started;
    atomic_int registered;
    atomic_int stop;   /* main -> chief thread: send STOP */
    atomic_int byes;   /* ps that said goodbye */
    atomic_int failed; /* a ps ran another job */
    _Atomic uint64_t rejected[BENCH_MAX_PS];
    uint8_t known[BENCH_MAX_PS];
};

/* TF_CONFIG of task type:index of this cluster. */
static void s_tf_config(const bench_cluster_t *c, const char *type, int index,
                        char *out, size_t len)
{
    size_t off = (size_t) snprintf(
        out, len, "{\"cluster\":{\"chief\":[\"127.0.0.1:%d\"],\"ps\":[",
        c->chief_port);
    for (int i = 0; i < c->nps; i++)
        off += (size_t) snprintf(out + off, len - off, "%s\"127.0.0.1:%d\"",
                                 i ? "," : "", c->ps_ports[i]);
    off += (size_t) snprintf(out + off, len - off, "],\"worker\":[");
    for (int i = 0; i < c->nworkers; i++)
        off += (size_t) snprintf(out + off, len - off, "%s\"127.0.0.1:%d\"",
                                 i ? "," : "", c->worker_ports[i]);
    snprintf(out + off, len - off,
             "]},\"task\":{\"type\":\"%s\",\"index\":%d}}", type, index);
}

/* Spawns ps i; everything the child needs is built before fork(). */
static int s_spawn(bench_cluster_t *c, const char *ps_path, int i,
                   const char *const *sets, int nsets, char *err)
{
    char tf[2048];
    char *setting = NULL;
    s_tf_config(c, "ps", i, tf, sizeof tf);
    char **envp = psc_env_with_tf_config(tf, &setting);
    char *argv[3 + 2 * BENCH_MAX_SETS];
    int argc = 0;
    argv[argc++] = (char *) ps_path;
    argv[argc++] = "--quiet";
    for (int s = 0; s < nsets; s++) {
        argv[argc++] = "--set";
        argv[argc++] = (char *) sets[s];
    }
    argv[argc] = NULL;
    /* The ps dies with psc-bench, however psc-bench ends. */
    pid_t pid = psc_spawn_tied(ps_path, argv, envp);
    free(envp);
    free(setting);
    if (pid < 0)
        return psc_seterr(err, PSC_EIO, "cannot start '%s'", ps_path);
    c->pids[i] = pid;
    return 0;
}

static void s_send(bench_cluster_t *c, const uint8_t *peer, size_t len,
                   Psc__MsgType type)
{
    Psc__Header h;
    wire_header_init(&h, type, "chief:0");
    wire_send(c->router, peer, len, &h, NULL, 0);
}

/* ps:N -> N, or -1. */
static int s_ps_index(const bench_cluster_t *c, const char *task)
{
    if (strncmp(task, "ps:", 3) != 0)
        return -1;
    /* Not sscanf's %d, which wraps "ps:4294967296" to ps:0. */
    char *end = NULL;
    long i = strtol(task + 3, &end, 10);
    if (end == task + 3 || *end != '\0' || i < 0 || i >= c->nps)
        return -1;
    return (int) i;
}

/* A message to the chief thread's ROUTER; arg is the cluster. */
static void s_on_message(void *arg, const wire_msg_t *msg)
{
    bench_cluster_t *c = arg;
    int i = s_ps_index(c, msg->hdr->task);
    if (i < 0)
        return;
    switch (msg->hdr->type) {
    case PSC__MSG_TYPE__REGISTER:
        if (msg->hdr->text == NULL ||
            strcmp(msg->hdr->text, c->canonical) != 0) {
            atomic_store(&c->failed, 1);
            s_send(c, msg->peer, msg->peer_len, PSC__MSG_TYPE__REFUSE);
            return;
        }
        s_send(c, msg->peer, msg->peer_len, PSC__MSG_TYPE__REGISTER_ACK);
        if (!c->known[i]) {
            c->known[i] = 1;
            atomic_fetch_add(&c->registered, 1);
        }
        break;
    case PSC__MSG_TYPE__HEARTBEAT:
        s_send(c, msg->peer, msg->peer_len, PSC__MSG_TYPE__HEARTBEAT);
        break;
    case PSC__MSG_TYPE__PS_STATS:
        if (msg->hdr->stats != NULL)
            atomic_store(&c->rejected[i], msg->hdr->stats->rejected_messages);
        break;
    case PSC__MSG_TYPE__BYE:
        atomic_fetch_add(&c->byes, 1);
        break;
    default:
        break;
    }
}

/* The chief: answers the ps until told to stop them, then says STOP. */
static void *s_chief(void *arg)
{
    bench_cluster_t *c = arg;
    struct wire_counters counters = {0, 0};
    int stopping = 0;
    double deadline = 0;
    for (;;) {
        if (!stopping && atomic_load(&c->stop)) {
            stopping = 1;
            deadline = psc_now() + 5;
            for (int i = 0; i < c->nps; i++) {
                char name[16];
                snprintf(name, sizeof name, "ps:%d", i);
                s_send(c, (const uint8_t *) name, strlen(name),
                       PSC__MSG_TYPE__STOP);
            }
        }
        if (stopping &&
            (atomic_load(&c->byes) >= c->nps || psc_now() > deadline))
            return NULL;
        zmq_pollitem_t item = {c->router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 50) <= 0)
            continue;
        wire_drain(c->router, 1, INT_MAX, &counters, s_on_message, c);
    }
}

static int s_bind_chief(bench_cluster_t *c, char *err)
{
    int linger = 0;
    char ep[64];
    c->router = zmq_socket(c->zctx, ZMQ_ROUTER);
    zmq_setsockopt(c->router, ZMQ_LINGER, &linger, sizeof linger);
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", c->chief_port);
    if (zmq_bind(c->router, ep) != 0)
        return psc_seterr(err, PSC_ENET, "cannot bind the chief's port %d: %s",
                          c->chief_port, zmq_strerror(zmq_errno()));
    return 0;
}

/* Every task's port, from one call: all distinct, all reserved. */
static int s_pick_ports(bench_cluster_t *c, char *err)
{
    int ports[1 + BENCH_MAX_PS + BENCH_MAX_WORKERS];
    int n = 1 + c->nps + c->nworkers;
    int rc = psc_port_pick("127.0.0.1", ports, n, err);
    if (rc != 0)
        return rc;
    c->chief_port = ports[0];
    memcpy(c->ps_ports, ports + 1, (size_t) c->nps * sizeof *ports);
    memcpy(c->worker_ports, ports + 1 + c->nps,
           (size_t) c->nworkers * sizeof *ports);
    return 0;
}

/* Waits until every ps registered; a ps that exits is an error. */
static int s_wait_registered(bench_cluster_t *c, char *err)
{
    double deadline = psc_now() + c->job->startup_timeout_s;
    while (atomic_load(&c->registered) < c->nps) {
        if (atomic_load(&c->failed))
            return psc_seterr(err, PSC_ECONFIG,
                              "a ps runs another job than psc-bench's");
        for (int i = 0; i < c->nps; i++) {
            int status = 0;
            if (c->pids[i] > 0 && waitpid(c->pids[i], &status, WNOHANG) > 0) {
                c->pids[i] = 0;
                return psc_seterr(err, PSC_EIO,
                                  "ps:%d exited before registering (status "
                                  "%d): see its lines above",
                                  i, WEXITSTATUS(status));
            }
        }
        if (psc_now() > deadline)
            return psc_seterr(err, PSC_ETIMEDOUT,
                              "the ps did not register within %.0f s",
                              c->job->startup_timeout_s);
        poll(NULL, 0, 10);
    }
    return 0;
}

static int s_init_ps(bench_cluster_t *c, char *err)
{
    struct boot b;
    memset(&b, 0, sizeof b);
    char tf[2048];
    s_tf_config(c, "chief", 0, tf, sizeof tf);
    b.tfc = tfc_new_from_json(tf, err);
    if (b.tfc == NULL)
        return PSC_ECONFIG;
    b.job = c->job;
    b.zctx = zmq_ctx_new();
    psclient_t *pc = psclient_new(&b, c->pl, "chief:0", err);
    int rc = pc != NULL ? psclient_init_seed(pc) : PSC_ENET;
    if (rc == 0)
        rc =
            psclient_wait(pc, NULL, NULL, NULL, c->job->startup_timeout_s, err);
    psclient_destroy(&pc);
    zmq_ctx_term(b.zctx);
    tfc_destroy(&b.tfc);
    return rc;
}

static int s_start(bench_cluster_t *c, const char *ps_path,
                   const char *const *sets, int nsets, char *err)
{
    int rc = s_pick_ports(c, err);
    if (rc == 0)
        rc = s_bind_chief(c, err);
    if (rc != 0)
        return rc;
    if (pthread_create(&c->thread, NULL, s_chief, c) != 0)
        return psc_seterr(err, PSC_EIO, "cannot start the chief thread");
    c->thread_started = 1;
    for (int i = 0; i < c->nps && rc == 0; i++)
        rc = s_spawn(c, ps_path, i, sets, nsets, err);
    if (rc == 0)
        rc = s_wait_registered(c, err);
    if (rc == 0)
        rc = s_init_ps(c, err);
    return rc;
}

bench_cluster_t *bench_cluster_new(const char *ps_path, int nps, int nworkers,
                                   const char *const *sets, int nsets,
                                   char *err)
{
    if (nps < 1 || nps > BENCH_MAX_PS || nworkers < 1 ||
        nworkers > BENCH_MAX_WORKERS || nsets > BENCH_MAX_SETS) {
        psc_seterr(err, PSC_EINVAL, "too many ps, workers or job options");
        return NULL;
    }
    bench_cluster_t *c = psc_xcalloc(1, sizeof *c);
    c->nps = nps;
    c->nworkers = nworkers;
    c->job = job_new(NULL, sets, nsets, err);
    if (c->job == NULL) {
        free(c);
        return NULL;
    }
    c->canonical = job_canonical(c->job);
    c->pl = jobvars_placement(c->job, nps, err);
    c->zctx = zmq_ctx_new();
    if (c->pl == NULL || s_start(c, ps_path, sets, nsets, err) != 0) {
        bench_cluster_destroy(&c);
        return NULL;
    }
    return c;
}

/* Waits for the ps to exit; returns how many failed or had to be killed. */
static int s_reap(bench_cluster_t *c)
{
    double deadline = psc_now() + 5;
    int bad = 0;
    for (int i = 0; i < c->nps; i++) {
        while (c->pids[i] > 0) {
            int status = 0;
            if (waitpid(c->pids[i], &status, WNOHANG) != 0) {
                c->pids[i] = 0;
                bad += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
            } else if (psc_now() > deadline) {
                kill(c->pids[i], SIGKILL);
                waitpid(c->pids[i], NULL, 0);
                c->pids[i] = 0;
                bad++;
            } else {
                poll(NULL, 0, 5);
            }
        }
    }
    return bad;
}

int bench_cluster_stop(bench_cluster_t *c)
{
    if (c->thread_started) {
        atomic_store(&c->stop, 1);
        pthread_join(c->thread, NULL);
        c->thread_started = 0;
    }
    return s_reap(c);
}

void bench_cluster_destroy(bench_cluster_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    bench_cluster_t *c = *p;
    bench_cluster_stop(c);
    if (c->router != NULL)
        zmq_close(c->router);
    if (c->zctx != NULL)
        zmq_ctx_term(c->zctx);
    placement_destroy(&c->pl);
    free(c->canonical);
    job_destroy(&c->job);
    free(c);
    *p = NULL;
}

const struct job *bench_cluster_job(const bench_cluster_t *c)
{
    return c->job;
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
    char tf[2048];
    memset(b, 0, sizeof *b);
    s_tf_config(c, "worker", index, tf, sizeof tf);
    b->tfc = tfc_new_from_json(tf, err);
    if (b->tfc == NULL)
        return PSC_ECONFIG;
    b->job = c->job;
    b->zctx = zctx;
    b->prog = "psc-bench";
    return 0;
}

void bench_cluster_boot_release(struct boot *b)
{
    tfc_destroy(&b->tfc);
    b->job = NULL;
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
    snprintf(buf, len, "tcp://127.0.0.1:%d", c->ps_ports[ps]);
}

uint64_t bench_cluster_rejected(bench_cluster_t *c, int ps)
{
    return atomic_load(&c->rejected[ps]);
}
