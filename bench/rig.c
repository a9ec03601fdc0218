/*
 * The fake chief: ps processes, their pidfds and the ROUTER they register
 * on. Everything a ps does wrong is kept against that ps, so rig_stop()
 * can count it, and reported once by rig_poll().
 */
#include "rig.h"

#include "curve.h"
#include "gate.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_num.h"
#include "psc_port.h"
#include "psc_proc.h"
#include "psc_time.h"
#include "wire.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

/* Tasks in TF_CONFIG: the chief, then the ps, then the workers. */
#define RIG_MAX_TASKS (1 + RIG_MAX_PS + RIG_MAX_WORKERS)

struct rig_ps {
    pid_t pid;  /* 0 once reaped */
    int pidfd;  /* readable when the ps exited; -1 once reaped */
    int status; /* its wait status, once reaped */
    int registered;
    int bye;    /* said BYE "done" */
    int bad;    /* sent something wrong, or exited before rig_stop() */
    int seen;   /* counted by rig_stop() */
    int saving; /* a SAVE went out, its SAVED has not come */
    uint8_t peer[WIRE_MAX_PEER];
    size_t peer_len;
};

/* How long a BYE may trail its ps's exit through ZeroMQ's I/O thread. */
#define RIG_BYE_GRACE_S 2.0

struct rig {
    void *router;
    curve_keys_t *keys; /* security.curve: the chief's and the workers' */
    gate_t *gate;
    int nps;
    int nworkers;
    int ports[RIG_MAX_TASKS];
    char addrs[RIG_MAX_TASKS][24]; /* "127.0.0.1:PORT" */
    struct job *job;
    char *canonical;
    uint64_t fingerprint;
    rig_on_stats_fn *on_stats;
    void *arg;
    int stopping;
    char save_dir[4096];
    struct ckpt_file *save_files; /* rig_save()'s, while it runs */
    int rc; /* the first failure rig_poll() has not reported yet */
    char err[PSC_ERR_LEN];
    struct wire_counters counters;
    struct rig_ps ps[RIG_MAX_PS];
};

/* Keeps the first failure for rig_poll(), against ps i when i >= 0. */
__attribute__((format(printf, 4, 5))) static void
s_fail(rig_t *r, int i, int code, const char *fmt, ...)
{
    if (i >= 0)
        r->ps[i].bad = 1;
    if (r->rc != 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->rc = code;
}

/* Describes a wait status: "exited with status 1", "was killed by ...". */
static void s_status_text(int status, char *buf, size_t len)
{
    if (status == -1)
        snprintf(buf, len, "could not be waited for");
    else if (WIFEXITED(status))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "was killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, len, "ended with wait status %d", status);
}

/* Reaps ps i, whose pidfd said it exited (or that was just killed). */
static void s_reap(rig_t *r, int i)
{
    struct rig_ps *p = &r->ps[i];
    int status = 0;
    pid_t got = waitpid(p->pid, &status, 0);
    p->status = got == p->pid ? status : -1;
    close(p->pidfd);
    p->pidfd = -1;
    p->pid = 0;
    if (r->stopping)
        return;
    char how[64];
    s_status_text(p->status, how, sizeof how);
    s_fail(r, i, PSC_EPEERGONE, "ps:%d %s before %s: see its lines above", i,
           how, p->registered ? "STOP" : "registering");
}

static void s_kill(rig_t *r, int i)
{
    if (r->ps[i].pid <= 0)
        return;
    kill(r->ps[i].pid, SIGKILL);
    s_reap(r, i);
}

/* ps:N of this rig -> N, or -1. */
static int s_ps_index(const rig_t *r, const char *task)
{
    int i = task != NULL ? psc_num_task(task, "ps", r->nps) : -1;
    return i >= 0 ? i : -1;
}

static void s_send(rig_t *r, const uint8_t *peer, size_t len, Psc__MsgType type)
{
    Psc__Header h;
    wire_header_init(&h, type, "chief:0");
    /* A ps gone meanwhile shows in its exit, not here. */
    (void) wire_send(r->router, peer, len, &h, NULL, 0);
}

static void s_on_register(rig_t *r, int i, const wire_msg_t *msg)
{
    struct rig_ps *p = &r->ps[i];
    const char *task = msg->hdr->task;
    if (msg->peer_len != strlen(task) ||
        memcmp(msg->peer, task, msg->peer_len) != 0) {
        s_fail(r, i, PSC_EPROTO, "ps:%d registered with another routing id", i);
        return;
    }
    if (msg->hdr->text == NULL || strcmp(msg->hdr->text, r->canonical) != 0 ||
        msg->hdr->fingerprint != r->fingerprint) {
        s_fail(r, i, PSC_ECONFIG, "ps:%d runs another job than the rig's", i);
        s_send(r, msg->peer, msg->peer_len, PSC__MSG_TYPE__REFUSE);
        return;
    }
    memcpy(p->peer, msg->peer, msg->peer_len);
    p->peer_len = msg->peer_len;
    p->registered = 1;
    s_send(r, msg->peer, msg->peer_len, PSC__MSG_TYPE__REGISTER_ACK);
}

static void s_on_bye(rig_t *r, int i, const wire_msg_t *msg)
{
    const char *why = msg->hdr->text != NULL ? msg->hdr->text : "";
    if (!r->stopping)
        s_fail(r, i, PSC_EPEERGONE, "ps:%d said goodbye ('%s') before STOP", i,
               why);
    else if (strcmp(why, "done") != 0)
        s_fail(r, i, PSC_EPEERGONE, "ps:%d said goodbye for '%s', not 'done'",
               i, why);
    else
        r->ps[i].bye = 1;
}

static void s_on_saved(rig_t *r, int i, const wire_msg_t *msg)
{
    const Psc__Saved *sv = msg->hdr->saved;
    struct rig_ps *p = &r->ps[i];
    if (!p->saving || sv == NULL || sv->folder == NULL ||
        strcmp(sv->folder, r->save_dir) != 0) {
        s_fail(r, i, PSC_EPROTO, "ps:%d answered a SAVE the rig did not send",
               i);
        return;
    }
    p->saving = 0;
    if (sv->file == NULL || sv->file[0] == '\0') {
        s_fail(r, i, PSC_EIO, "ps:%d did not save: %s", i,
               msg->hdr->text ? msg->hdr->text : "no reason given");
        return;
    }
    struct ckpt_file *f = &r->save_files[i];
    snprintf(f->name, sizeof f->name, "%s", sv->file);
    f->bytes = sv->bytes;
    f->crc32c = sv->crc32c;
}

/* A message to the chief's ROUTER; arg is the rig. */
static void s_on_message(void *arg, const wire_msg_t *msg)
{
    rig_t *r = arg;
    int i = s_ps_index(r, msg->hdr->task);
    Psc__MsgType type = msg->hdr->type;
    if (i < 0) {
        s_fail(r, -1, PSC_EPROTO, "the chief got %s from '%s', no ps of its",
               wire_type_name(type),
               msg->hdr->task != NULL ? msg->hdr->task : "");
        return;
    }
    switch (type) {
    case PSC__MSG_TYPE__REGISTER:
        s_on_register(r, i, msg);
        break;
    case PSC__MSG_TYPE__HEARTBEAT:
        s_send(r, msg->peer, msg->peer_len, PSC__MSG_TYPE__HEARTBEAT);
        break;
    case PSC__MSG_TYPE__PS_STATS:
        if (msg->hdr->stats == NULL)
            s_fail(r, i, PSC_EPROTO, "ps:%d sent PS_STATS without stats", i);
        else if (r->on_stats != NULL)
            r->on_stats(r->arg, i, msg->hdr->stats);
        break;
    case PSC__MSG_TYPE__BYE:
        s_on_bye(r, i, msg);
        break;
    case PSC__MSG_TYPE__SAVED:
        s_on_saved(r, i, msg);
        break;
    default:
        s_fail(r, i, PSC_EPROTO, "the chief got an unexpected %s from ps:%d",
               wire_type_name(type), i);
        break;
    }
}

/* Answers what is queued on the ROUTER; returns how many messages. */
static int s_serve(rig_t *r)
{
    uint64_t before = r->counters.rejected;
    int n = wire_drain(r->router, 1, INT_MAX, &r->counters, s_on_message, r);
    if (r->counters.rejected != before)
        s_fail(r, -1, PSC_EPROTO, "the chief got a malformed message");
    return n;
}

/* Hands over the failure not reported yet: its code, its line in err. */
static int s_report(rig_t *r, char *err)
{
    int rc = r->rc;
    if (rc != 0)
        psc_seterr(err, rc, "%s", r->err);
    r->rc = 0;
    return rc;
}

/* The poll items: the ROUTER, sock (if any), each running ps's pidfd. */
static int s_items(const rig_t *r, void *sock, zmq_pollitem_t *items,
                   int *which)
{
    int n = 0;
    items[n++] = (zmq_pollitem_t){r->router, 0, ZMQ_POLLIN, 0};
    if (sock != NULL)
        items[n++] = (zmq_pollitem_t){sock, 0, ZMQ_POLLIN, 0};
    for (int i = 0; i < r->nps; i++) {
        if (r->ps[i].pidfd < 0)
            continue;
        which[n] = i;
        items[n++] = (zmq_pollitem_t){NULL, r->ps[i].pidfd, ZMQ_POLLIN, 0};
    }
    return n;
}

/* What is left of ms (-1: no bound) started at t0, in ms for zmq_poll. */
static long s_left_ms(double t0, int ms)
{
    if (ms < 0)
        return -1;
    double left = t0 + ms / 1000.0 - psc_now();
    return left > 0 ? (long) (left * 1000.0) + 1 : 0;
}

int rig_poll(rig_t *r, void *sock, int ms, char *err)
{
    zmq_pollitem_t items[2 + RIG_MAX_PS];
    int which[2 + RIG_MAX_PS];
    double t0 = psc_now();
    for (;;) {
        int n = s_items(r, sock, items, which);
        long left = s_left_ms(t0, ms);
        if (zmq_poll(items, n, left) < 0 && zmq_errno() != EINTR)
            return psc_seterr(err, PSC_ENET,
                              "cannot poll the chief's socket: %s",
                              zmq_strerror(zmq_errno()));
        /* Messages served and exits seen: both are news with sock NULL. */
        int news = (items[0].revents & ZMQ_POLLIN) ? s_serve(r) : 0;
        for (int k = sock != NULL ? 2 : 1; k < n; k++) {
            if (items[k].revents & ZMQ_POLLIN) {
                s_reap(r, which[k]);
                news++;
            }
        }
        if (r->rc != 0)
            return s_report(r, err);
        if (sock != NULL && (items[1].revents & ZMQ_POLLIN))
            return 1;
        if (sock == NULL && news > 0)
            return 1;
        if (left == 0)
            return 0;
    }
}

/* Every task's port, from one call: all distinct, all reserved. */
static int s_pick_ports(rig_t *r, char *err)
{
    int n = 1 + r->nps + r->nworkers;
    int rc = psc_port_pick("127.0.0.1", r->ports, n, err);
    for (int i = 0; rc == 0 && i < n; i++)
        snprintf(r->addrs[i], sizeof r->addrs[i], "127.0.0.1:%d", r->ports[i]);
    return rc;
}

/*
 * With security.curve, the keys the rig acts with (the chief's, and the
 * workers' for benchmark clients) and the gate of its context.
 */
static int s_secure(rig_t *r, void *zctx, char *err)
{
    if (!r->job->security_curve)
        return 0;
    r->keys = curve_keys_load(r->job->keys_dir, "chief:0", err);
    if (r->keys == NULL)
        return PSC_ECONFIG;
    for (int i = 0; i < r->nworkers; i++) {
        char task[32];
        snprintf(task, sizeof task, "worker:%d", i);
        if (curve_keys_add_own(r->keys, task, err) != 0)
            return PSC_ECONFIG;
    }
    r->gate = gate_new(zctx, r->keys, err);
    return r->gate != NULL ? 0 : PSC_ENET;
}

static int s_bind(rig_t *r, void *zctx, char *err)
{
    int linger = 0;
    int mandatory = 1; /* a send to a peer gone fails instead of vanishing */
    char ep[64];
    r->router = zmq_socket(zctx, ZMQ_ROUTER);
    if (r->router == NULL)
        return psc_seterr(err, PSC_ENET, "cannot make the chief's socket: %s",
                          zmq_strerror(zmq_errno()));
    zmq_setsockopt(r->router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(r->router, ZMQ_ROUTER_MANDATORY, &mandatory,
                   sizeof mandatory);
    snprintf(ep, sizeof ep, "tcp://%s", r->addrs[0]);
    if (r->keys != NULL && (curve_secure_server(r->router, r->keys, err) != 0 ||
                            gate_watch(r->gate, r->router, err) != 0))
        return PSC_ENET;
    if (zmq_bind(r->router, ep) != 0)
        return psc_seterr(err, PSC_ENET, "cannot bind '%s': %s", ep,
                          zmq_strerror(zmq_errno()));
    return 0;
}

char *rig_tf_config(const rig_t *r, enum tfc_role role, int index, char *err)
{
    const char *addrs[RIG_MAX_TASKS];
    for (int i = 0; i < 1 + r->nps + r->nworkers; i++)
        addrs[i] = r->addrs[i];
    struct tfc_spec spec = {.addrs = {addrs, addrs + 1, addrs + 1 + r->nps},
                            .n = {1, r->nps, r->nworkers},
                            .task_role = role,
                            .task_index = index};
    return tfc_format(&spec, err);
}

/* Starts ps i; everything the child needs is built before fork(). */
static int s_spawn(rig_t *r, const struct rig_spec *spec, int i, char *err)
{
    char *tf = rig_tf_config(r, TFC_PS, i, err);
    if (tf == NULL)
        return PSC_ECONFIG;
    char *setting = NULL;
    char **envp = psc_env_with_tf_config(tf, &setting);
    free(tf);
    char *argv[3 + 2 * RIG_MAX_SETS];
    int argc = 0;
    argv[argc++] = (char *) spec->ps_path;
    if (spec->quiet)
        argv[argc++] = "--quiet";
    for (int s = 0; s < spec->nsets; s++) {
        argv[argc++] = "--set";
        argv[argc++] = (char *) spec->sets[s];
    }
    argv[argc] = NULL;
    fflush(NULL);
    pid_t pid = psc_spawn_tied(spec->ps_path, argv, envp);
    free(envp);
    free(setting);
    if (pid < 0)
        return psc_seterr(err, PSC_EIO, "cannot start '%s'", spec->ps_path);
    r->ps[i].pid = pid;
    r->ps[i].pidfd = pidfd_open(pid, 0);
    if (r->ps[i].pidfd < 0) {
        int e = errno;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        r->ps[i].pid = 0;
        return psc_seterr(err, PSC_EIO, "cannot watch ps:%d: %s", i,
                          strerror(e));
    }
    return 0;
}

static int s_all_registered(const rig_t *r)
{
    for (int i = 0; i < r->nps; i++) {
        if (!r->ps[i].registered)
            return 0;
    }
    return 1;
}

static int s_wait_registered(rig_t *r, double timeout_s, char *err)
{
    double deadline = psc_now() + timeout_s;
    while (!s_all_registered(r)) {
        double left = deadline - psc_now();
        if (left <= 0)
            return psc_seterr(err, PSC_ETIMEDOUT,
                              "the ps did not register within %.0f s",
                              timeout_s);
        int rc = rig_poll(r, NULL, (int) (left * 1000.0) + 1, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int s_start(rig_t *r, const struct rig_spec *spec, void *zctx, char *err)
{
    int rc = s_pick_ports(r, err);
    if (rc == 0)
        rc = s_secure(r, zctx, err);
    if (rc == 0)
        rc = s_bind(r, zctx, err);
    for (int i = 0; rc == 0 && i < r->nps; i++)
        rc = s_spawn(r, spec, i, err);
    double timeout_s =
        spec->startup_s > 0 ? spec->startup_s : r->job->startup_timeout_s;
    if (rc == 0)
        rc = s_wait_registered(r, timeout_s, err);
    return rc;
}

rig_t *rig_new(const struct rig_spec *spec, void *zctx, char *err)
{
    if (spec->nps < 1 || spec->nps > RIG_MAX_PS || spec->nworkers < 1 ||
        spec->nworkers > RIG_MAX_WORKERS || spec->nsets < 0 ||
        spec->nsets > RIG_MAX_SETS) {
        psc_seterr(err, PSC_EINVAL, "too many ps, workers or job options");
        return NULL;
    }
    struct job *job = job_new(NULL, spec->sets, spec->nsets, err);
    if (job == NULL)
        return NULL;
    rig_t *r = psc_xcalloc(1, sizeof *r);
    r->nps = spec->nps;
    r->nworkers = spec->nworkers;
    r->job = job;
    r->canonical = job_canonical(job);
    r->fingerprint = job_fingerprint(job);
    r->on_stats = spec->on_stats;
    r->arg = spec->arg;
    for (int i = 0; i < RIG_MAX_PS; i++)
        r->ps[i].pidfd = -1;
    if (s_start(r, spec, zctx, err) != 0)
        rig_destroy(&r);
    return r;
}

/* Counts ps i in rig_stop(): 1 when it did not end well; err the first. */
static int s_ended_badly(rig_t *r, int i, int *first, char *err)
{
    const struct rig_ps *p = &r->ps[i];
    int clean = WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0;
    if (!p->bad && p->bye && clean)
        return 0;
    if (!*first)
        return 1;
    *first = 0;
    char how[64];
    s_status_text(p->status, how, sizeof how);
    if (!p->bye)
        psc_seterr(err, PSC_EPEERGONE, "ps:%d %s without saying goodbye", i,
                   how);
    else if (!clean)
        psc_seterr(err, PSC_EPEERGONE, "ps:%d %s", i, how);
    else
        psc_seterr(err, PSC_EPROTO,
                   "ps:%d sent the chief something wrong (said when it came)",
                   i);
    return 1;
}

/* 1 while a ps that exited has not said goodbye. */
static int s_bye_missing(const rig_t *r)
{
    for (int i = 0; i < r->nps; i++) {
        if (r->ps[i].pid <= 0 && r->ps[i].registered && !r->ps[i].bye)
            return 1;
    }
    return 0;
}

static int s_all_reaped(const rig_t *r)
{
    for (int i = 0; i < r->nps; i++) {
        if (r->ps[i].pid > 0)
            return 0;
    }
    return 1;
}

static int s_saving(const rig_t *r)
{
    for (int i = 0; i < r->nps; i++)
        if (r->ps[i].saving && r->ps[i].pid > 0)
            return 1;
    return 0;
}

int rig_save(rig_t *r, const char *dir, double timeout_s,
             struct ckpt_file *files, char *err)
{
    snprintf(r->save_dir, sizeof r->save_dir, "%s", dir);
    r->save_files = files;
    memset(files, 0, (size_t) r->nps * sizeof *files);
    for (int i = 0; i < r->nps; i++) {
        Psc__Header h;
        wire_header_init(&h, PSC__MSG_TYPE__SAVE, "chief:0");
        h.text = r->save_dir;
        r->ps[i].saving = 1;
        (void) wire_send(r->router, r->ps[i].peer, r->ps[i].peer_len, &h, NULL,
                         0);
    }
    double deadline = psc_now() + timeout_s;
    while (s_saving(r)) {
        if (psc_now() > deadline)
            return psc_seterr(err, PSC_ETIMEDOUT,
                              "the ps did not save within %.0f s", timeout_s);
        int left = (int) ((deadline - psc_now()) * 1000.0) + 1;
        int rc = rig_poll(r, NULL, left, err);
        if (rc < 0)
            return rc;
    }
    for (int i = 0; i < r->nps; i++)
        if (files[i].name[0] == '\0')
            return psc_seterr(err, PSC_EIO, "ps:%d did not save", i);
    return 0;
}

int rig_stop(rig_t *r, double timeout_s, char *err)
{
    char why[PSC_ERR_LEN] = "";
    int first = 1;
    if (!r->stopping) {
        r->stopping = 1;
        for (int i = 0; i < r->nps; i++) {
            if (r->ps[i].pid > 0 && r->ps[i].registered)
                s_send(r, r->ps[i].peer, r->ps[i].peer_len,
                       PSC__MSG_TYPE__STOP);
        }
    }
    double deadline = psc_now() + timeout_s;
    while (!s_all_reaped(r) && psc_now() < deadline) {
        int left = (int) ((deadline - psc_now()) * 1000.0) + 1;
        int rc = rig_poll(r, NULL, left, why);
        if (rc < 0 && first) {
            first = 0;
            psc_seterr(err, rc, "%s", why);
        }
    }
    /*
     * A ps's exit can show before its BYE, which it sent first but which
     * may still be in ZeroMQ's I/O thread: it is waited for, briefly.
     */
    double grace = psc_now() + RIG_BYE_GRACE_S;
    while (s_bye_missing(r) && psc_now() < grace) {
        int left = (int) ((grace - psc_now()) * 1000.0) + 1;
        if (rig_poll(r, NULL, left, why) < 0 && first) {
            first = 0;
            psc_seterr(err, PSC_EPROTO, "%s", why);
        }
    }
    for (int i = 0; i < r->nps; i++) {
        if (r->ps[i].pid > 0) {
            s_kill(r, i);
            r->ps[i].bad = 1;
            if (first)
                psc_seterr(err, PSC_ETIMEDOUT,
                           "ps:%d did not exit within %.0f s of STOP", i,
                           timeout_s);
            first = 0;
        }
    }
    int bad = 0;
    for (int i = 0; i < r->nps; i++)
        bad += s_ended_badly(r, i, &first, err);
    return bad;
}

void rig_destroy(rig_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    rig_t *r = *p;
    r->stopping = 1;
    for (int i = 0; i < r->nps; i++)
        s_kill(r, i);
    if (r->router != NULL)
        zmq_close(r->router);
    gate_destroy(&r->gate);
    curve_keys_destroy(&r->keys);
    free(r->canonical);
    job_destroy(&r->job);
    free(r);
    *p = NULL;
}

struct job *rig_job(const rig_t *r)
{
    return r->job;
}

curve_keys_t *rig_keys(const rig_t *r)
{
    return r->keys;
}

void rig_endpoint(const rig_t *r, int ps, char *buf, size_t len)
{
    snprintf(buf, len, "tcp://%s", r->addrs[1 + ps]);
}

pid_t rig_pid(const rig_t *r, int ps)
{
    return r->ps[ps].pid;
}
