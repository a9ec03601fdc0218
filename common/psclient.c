/*
 * Pipelined requests to all ps shards.
 */
#include "psclient.h"

#include "f16.h"
#include "net.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "psc_sig.h"
#include "psc_time.h"

#include <stdlib.h>
#include <string.h>

struct psclient {
    const struct boot *b;
    const placement_t *pl;
    int nps;
    void **socks;
    uint64_t *version;
    int *waiting; /* shard's reply outstanding */
    uint64_t request_id;
    char task[64];
    wire_buf_t *f16; /* gradient converted for the wire */
    struct wire_counters counters;
};

psclient_t *psclient_new(const struct boot *b, const placement_t *pl,
                         const char *identity, char *err)
{
    psclient_t *c = psc_xcalloc(1, sizeof *c);
    c->b = b;
    c->pl = pl;
    c->nps = pl->nps;
    snprintf(c->task, sizeof c->task, "%s",
             identity ? identity : tfc_task_name(b->tfc));
    c->socks = psc_xcalloc((size_t) c->nps, sizeof *c->socks);
    c->version = psc_xcalloc((size_t) c->nps, sizeof *c->version);
    c->waiting = psc_xcalloc((size_t) c->nps, sizeof *c->waiting);
    double deadline = psc_now() + b->job->startup_timeout_s;
    for (int s = 0; s < c->nps; s++) {
        c->socks[s] = net_socket(b->zctx, ZMQ_DEALER, c->task);
        if (c->socks[s] == NULL ||
            net_connect(c->socks[s], tfc_host(b->tfc, TFC_PS, s),
                        tfc_port(b->tfc, TFC_PS, s), deadline, err) != 0) {
            psclient_destroy(&c);
            return NULL;
        }
    }
    return c;
}

void psclient_destroy(psclient_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    psclient_t *c = *p;
    for (int s = 0; s < c->nps; s++)
        net_close(&c->socks[s]);
    wire_buf_release(&c->f16);
    free(c->socks);
    free(c->version);
    free(c->waiting);
    free(c);
    *p = NULL;
}

uint64_t psclient_version(const psclient_t *c, int shard)
{
    return c->version[shard];
}

static int s_send(psclient_t *c, int s, Psc__Header *h,
                  const struct wire_frame *frames, int n)
{
    h->request_id = c->request_id;
    h->shard = (uint32_t) s;
    int rc = wire_send(c->socks[s], NULL, 0, h, frames, n);
    if (rc == 0)
        c->waiting[s] = 1;
    return rc;
}

int psclient_pull(psclient_t *c, uint64_t min_version)
{
    c->request_id++;
    for (int s = 0; s < c->nps; s++) {
        Psc__Header h;
        wire_header_init(&h, PSC__MSG_TYPE__PULL, c->task);
        h.min_version = min_version;
        int rc = s_send(c, s, &h, NULL, 0);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Frames of shard s's slices of a flat array (f32 or f16) in buf. */
static int s_frames(const psclient_t *c, int s, wire_buf_t *buf, size_t elem,
                    struct wire_frame *frames)
{
    const struct placement_shard *sh = &c->pl->shards[s];
    for (int i = 0; i < sh->nslices; i++) {
        const struct placement_slice *sl = &sh->slices[i];
        frames[i].data = (char *) wire_buf_data(buf) + sl->global_offset * elem;
        frames[i].bytes = sl->len * elem;
        frames[i].count = sl->len;
        frames[i].buf = buf;
    }
    return sh->nslices;
}

static wire_buf_t *s_wire_values(psclient_t *c, wire_buf_t *grad)
{
    if (!c->b->job->wire_f16)
        return grad;
    size_t n = wire_buf_size(grad) / sizeof(float);
    if (c->f16 == NULL || wire_buf_busy(c->f16) ||
        wire_buf_size(c->f16) != n * 2) {
        wire_buf_release(&c->f16);
        c->f16 = wire_buf_new(n * 2);
    }
    f16_from_f32(wire_buf_data(c->f16), wire_buf_data(grad), n);
    return c->f16;
}

static int s_send_values(psclient_t *c, Psc__MsgType type, wire_buf_t *buf,
                         int with_version)
{
    struct wire_frame frames[WIRE_MAX_FRAMES];
    wire_buf_t *out = s_wire_values(c, buf);
    size_t elem = c->b->job->wire_f16 ? 2 : 4;
    c->request_id++;
    for (int s = 0; s < c->nps; s++) {
        Psc__Header h;
        wire_header_init(&h, type, c->task);
        h.codec = elem == 2 ? PSC__CODEC__F16 : PSC__CODEC__F32;
        h.flags = WIRE_WANT_PARAMS;
        if (with_version)
            h.step = c->version[s];
        int n = s_frames(c, s, out, elem, frames);
        int rc = s_send(c, s, &h, frames, n);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int psclient_push(psclient_t *c, wire_buf_t *grad)
{
    return s_send_values(c, PSC__MSG_TYPE__PUSH, grad, 1);
}

int psclient_init(psclient_t *c, const float *values)
{
    size_t total = 0;
    for (int s = 0; s < c->nps; s++)
        total += c->pl->shards[s].size;
    wire_buf_t *buf = wire_buf_new(total * sizeof(float) + 1);
    memcpy(wire_buf_data(buf), values, total * sizeof(float));
    int rc = s_send_values(c, PSC__MSG_TYPE__INIT, buf, 0);
    wire_buf_release(&buf);
    return rc;
}

static void s_scatter(const psclient_t *c, int s, const wire_msg_t *msg,
                      float *params)
{
    const struct placement_shard *sh = &c->pl->shards[s];
    for (int i = 0; i < sh->nslices; i++) {
        float *dst = params + sh->slices[i].global_offset;
        const float *v = wire_frame_f32(msg, i, dst);
        if (v != dst)
            memcpy(dst, v, sh->slices[i].len * sizeof(float));
    }
}

/* Checks that a PARAMS reply fits shard s's layout. */
static int s_fits(const psclient_t *c, int s, const wire_msg_t *msg)
{
    const struct placement_shard *sh = &c->pl->shards[s];
    if (msg->nframes != sh->nslices)
        return 0;
    for (int i = 0; i < sh->nslices; i++) {
        if (wire_frame_count(msg, i) != sh->slices[i].len)
            return 0;
    }
    return 1;
}

static int s_on_reply(psclient_t *c, int s, float *params, char *err)
{
    wire_msg_t msg;
    int rc = wire_recv(c->socks[s], 0, &msg, &c->counters, ZMQ_DONTWAIT);
    if (rc != 0)
        return 0;
    int type = msg.hdr->type;
    if (msg.hdr->request_id != c->request_id && type != PSC__MSG_TYPE__ERROR) {
        wire_msg_release(&msg); /* a reply to an older request */
        return 0;
    }
    if (type == PSC__MSG_TYPE__ERROR) {
        rc = psc_seterr(err, PSC_EREFUSED, "ps:%d refused the request: %s", s,
                        msg.hdr->text);
    } else if (type == PSC__MSG_TYPE__PARAMS && params != NULL &&
               s_fits(c, s, &msg)) {
        s_scatter(c, s, &msg, params);
        c->version[s] = msg.hdr->step;
    } else if (type == PSC__MSG_TYPE__PARAMS && params != NULL) {
        rc = psc_seterr(err, PSC_EPROTO,
                        "ps:%d sent values that do not fit its shard: is the "
                        "job the same on every task?",
                        s);
    }
    c->waiting[s] = 0;
    wire_msg_release(&msg);
    return rc;
}

static int s_outstanding(const psclient_t *c)
{
    for (int s = 0; s < c->nps; s++) {
        if (c->waiting[s])
            return 1;
    }
    return 0;
}

static int s_check_ctl(ctl_t *ctl, int *ctl_type, char *err)
{
    if (ctl_tick(ctl, err) != 0)
        return PSC_EPEERGONE;
    wire_msg_t msg;
    int type = ctl_recv(ctl, &msg);
    if (type == 0)
        return 0;
    wire_msg_release(&msg);
    *ctl_type = type;
    return 1;
}

int psclient_wait(psclient_t *c, float *params, ctl_t *ctl, int *ctl_type,
                  double timeout_s, char *err)
{
    zmq_pollitem_t items[WIRE_MAX_FRAMES + 1];
    double deadline = timeout_s > 0 ? psc_now() + timeout_s : 0;
    int n = c->nps;
    while (s_outstanding(c)) {
        if (psc_sig_stop_requested())
            return psc_seterr(err, PSC_EINTR, "stopped by signal");
        if (deadline > 0 && psc_now() > deadline)
            return psc_seterr(err, PSC_ETIMEDOUT, "no answer from the ps");
        for (int s = 0; s < n; s++)
            items[s] = (zmq_pollitem_t){c->socks[s], 0, ZMQ_POLLIN, 0};
        items[n] =
            (zmq_pollitem_t){ctl ? ctl_socket(ctl) : NULL, 0, ZMQ_POLLIN, 0};
        int timeout = ctl ? ctl_timeout_ms(ctl) : 1000;
        zmq_poll(items, ctl ? n + 1 : n, timeout);
        for (int s = 0; s < n; s++) {
            int rc = (items[s].revents & ZMQ_POLLIN)
                         ? s_on_reply(c, s, params, err)
                         : 0;
            if (rc != 0)
                return rc;
        }
        if (ctl != NULL) {
            int rc = s_check_ctl(ctl, ctl_type, err);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}
