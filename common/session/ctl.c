/*
 * Control session: one DEALER to the chief's ROUTER.
 */
#include "ctl.h"

#include "curve.h"
#include "net.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "psc_sig.h"
#include "psc_time.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctl {
    void *sock;
    const struct boot *b;
    char task[64];
    char chief[300];
    char *canonical;
    uint64_t examples;
    double next_beat;
    double last_heard;
    struct wire_counters counters;
    struct ctl_start start;
    int job_failed;
    uint64_t step_done; /* the newest STEP_DONE's step */
};

ctl_t *ctl_new(const struct boot *b, char *err)
{
    const char *host = NULL;
    int port = 0;
    boot_chief_endpoint(b->tfc, &host, &port);
    ctl_t *c = psc_xcalloc(1, sizeof *c);
    c->b = b;
    snprintf(c->task, sizeof c->task, "%s", tfc_task_name(b->tfc));
    snprintf(c->chief, sizeof c->chief, "%s:%d", host, port);
    c->sock = net_socket(b->zctx, ZMQ_DEALER, c->task);
    double deadline = psc_now() + b->job->startup_timeout_s;
    if (c->sock == NULL ||
        curve_secure_client(c->sock, b->keys, c->task, boot_chief_task(b->tfc),
                            err) != 0 ||
        net_connect(c->sock, host, port, deadline, err) != 0) {
        ctl_destroy(&c);
        return NULL;
    }
    c->canonical = job_canonical(b->job);
    return c;
}

void ctl_destroy(ctl_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    net_close(&(*p)->sock);
    free((*p)->canonical);
    free(*p);
    *p = NULL;
}

void ctl_set_examples(ctl_t *c, uint64_t examples)
{
    c->examples = examples;
}

void *ctl_socket(ctl_t *c)
{
    return c->sock;
}

int ctl_send(ctl_t *c, Psc__Header *hdr)
{
    hdr->task = c->task;
    return wire_send(c->sock, NULL, 0, hdr, NULL, 0);
}

static void s_send_register(ctl_t *c)
{
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__REGISTER, c->task);
    h.text = c->canonical;
    h.fingerprint = job_fingerprint(c->b->job);
    Psc__Report r = PSC__REPORT__INIT;
    r.examples = c->examples;
    if (c->examples > 0)
        h.report = &r;
    ctl_send(c, &h);
}

/*
 * Handles one reply during registration: sets *acked when the chief
 * accepted. Returns 0 (registered or keep waiting), or PSC_EREFUSED with
 * the chief's reason in err.
 */
static int s_registration_reply(ctl_t *c, int *acked, char *err)
{
    wire_msg_t msg;
    if (wire_recv(c->sock, 0, &msg, &c->counters, ZMQ_DONTWAIT) != 0)
        return 0;
    int type = msg.hdr->type;
    int rc = 0;
    if (type == PSC__MSG_TYPE__REGISTER_ACK) {
        *acked = 1;
    } else if (type == PSC__MSG_TYPE__REFUSE) {
        rc = psc_seterr(err, PSC_EREFUSED, "the chief refused %s: %s", c->task,
                        msg.hdr->text);
    }
    wire_msg_release(&msg);
    return rc;
}

static int s_wait_socket(ctl_t *c, int timeout_ms, int (*serve)(void *, int),
                         void *arg)
{
    if (serve != NULL) {
        /* The ps polls its own socket and ours together. */
        return serve(arg, timeout_ms);
    }
    zmq_pollitem_t item = {c->sock, 0, ZMQ_POLLIN, 0};
    return zmq_poll(&item, 1, timeout_ms);
}

/* ctl_register() until deadline (psc_now() seconds). */
static int s_register_until(ctl_t *c, double deadline,
                            int (*serve)(void *, int), void *arg, char *err)
{
    double start = psc_now();
    double backoff = 0.25;
    double next_send = start;
    while (psc_now() < deadline) {
        if (psc_sig_stop_requested())
            return psc_seterr(err, PSC_EINTR, "stopped by signal");
        if (psc_now() >= next_send) {
            s_send_register(c);
            next_send = psc_now() + backoff;
            backoff = backoff * 2 > 2.0 ? 2.0 : backoff * 2;
        }
        int acked = 0;
        int rc = s_registration_reply(c, &acked, err);
        if (rc != 0)
            return rc;
        if (acked) {
            c->last_heard = psc_now();
            c->next_beat = c->last_heard + c->b->job->heartbeat_interval_s;
            return 0;
        }
        int ms = (int) ((next_send - psc_now()) * 1000) + 1;
        s_wait_socket(c, ms > 0 ? ms : 1, serve, arg);
    }
    return psc_seterr(err, PSC_ETIMEDOUT,
                      "no answer from the chief at '%s' after %.0f s: is it "
                      "running, and is the address in TF_CONFIG right?",
                      c->chief, psc_now() - start);
}

int ctl_register(ctl_t *c, int (*serve)(void *, int), void *arg, char *err)
{
    return s_register_until(c, psc_now() + c->b->job->startup_timeout_s, serve,
                            arg, err);
}

int ctl_rejoin(ctl_t *c, int (*serve)(void *, int), void *arg, char *err)
{
    double wait = c->b->job->chief_restart_timeout_s;
    psc_log_warn("registering again with the chief at '%s' (waiting up to "
                 "%.0f s, chief_restart_timeout_s)",
                 c->chief, wait);
    memset(&c->start, 0, sizeof c->start);
    c->step_done = 0;
    c->job_failed = 0;
    int rc = s_register_until(c, psc_now() + wait, serve, arg, err);
    if (rc == PSC_ETIMEDOUT)
        return psc_seterr(err, PSC_EPEERGONE,
                          "no chief came back at '%s' within "
                          "chief_restart_timeout_s (%.0f s)",
                          c->chief, wait);
    if (rc == 0)
        psc_log_info("registered with the chief again");
    return rc;
}

int ctl_tick(ctl_t *c, char *err)
{
    double now = psc_now();
    if (now >= c->next_beat) {
        Psc__Header h;
        wire_header_init(&h, PSC__MSG_TYPE__HEARTBEAT, c->task);
        ctl_send(c, &h);
        c->next_beat = now + c->b->job->heartbeat_interval_s;
    }
    if (now - c->last_heard > c->b->job->heartbeat_timeout_s)
        return psc_seterr(err, PSC_EPEERGONE,
                          "lost the chief at '%s': no answer for %.0f s",
                          c->chief, now - c->last_heard);
    return 0;
}

int ctl_timeout_ms(ctl_t *c)
{
    int ms = (int) ((c->next_beat - psc_now()) * 1000) + 1;
    return ms > 0 ? ms : 1;
}

int ctl_recv(ctl_t *c, wire_msg_t *msg)
{
    if (wire_recv(c->sock, 0, msg, &c->counters, ZMQ_DONTWAIT) != 0)
        return 0;
    c->last_heard = psc_now();
    int type = msg->hdr->type;
    if (type == PSC__MSG_TYPE__HEARTBEAT ||
        type == PSC__MSG_TYPE__REGISTER_ACK) {
        wire_msg_release(msg);
        return 0;
    }
    if (type == PSC__MSG_TYPE__STOP)
        c->job_failed =
            msg->hdr->text != NULL && strcmp(msg->hdr->text, "failed") == 0;
    if (type == PSC__MSG_TYPE__STEP_DONE && msg->hdr->step > c->step_done)
        c->step_done = msg->hdr->step;
    if (type == PSC__MSG_TYPE__START) {
        const Psc__Header *h = msg->hdr;
        c->start.step = h->step;
        c->start.position = h->report != NULL ? h->report->examples : 0;
        snprintf(c->start.run_id, sizeof c->start.run_id, "%s",
                 h->text != NULL ? h->text : "");
        c->start.job_start = isfinite(h->job_start) ? h->job_start : 0;
        c->start.received = psc_now();
        c->start.generation = h->generation;
    }
    return type;
}

const struct ctl_start *ctl_start_order(const ctl_t *c)
{
    return &c->start;
}

double ctl_job_seconds(const ctl_t *c)
{
    if (c->start.job_start > 0)
        return psc_wall() - c->start.job_start;
    return c->start.received > 0 ? psc_now() - c->start.received : 0;
}

uint64_t ctl_step_done(const ctl_t *c)
{
    return c->step_done;
}

int ctl_job_failed(const ctl_t *c)
{
    return c != NULL && c->job_failed;
}

int ctl_stop_status(const ctl_t *c)
{
    if (!ctl_job_failed(c))
        return 0;
    psc_log_warn("the chief stopped a failed job: exiting %d so that it is "
                 "retried",
                 PSC_EXIT_RETRY);
    return PSC_EPEERGONE;
}

int ctl_wait(ctl_t *c, double until, char *err)
{
    for (;;) {
        if (psc_sig_stop_requested())
            return psc_seterr(err, PSC_EINTR, "stopped by signal");
        if (ctl_tick(c, err) != 0)
            return PSC_EPEERGONE;
        wire_msg_t msg;
        int type = ctl_recv(c, &msg);
        if (type != 0) {
            wire_msg_release(&msg);
            return type;
        }
        int ms = ctl_timeout_ms(c);
        if (until > 0) {
            double left = until - psc_now();
            if (left <= 0)
                return 0;
            if (left * 1000 < ms)
                ms = (int) (left * 1000) + 1;
        }
        zmq_pollitem_t item = {c->sock, 0, ZMQ_POLLIN, 0};
        zmq_poll(&item, 1, ms);
    }
}

void ctl_bye(ctl_t *c, const char *reason)
{
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__BYE, c->task);
    h.text = (char *) reason;
    ctl_send(c, &h);
}
