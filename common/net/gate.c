/*
 * The ZAP handler: a REP socket on inproc://zeromq.zap.01, answered by its
 * own thread so that a handshake never waits for a role's loop.
 */
#include "gate.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "psc_time.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define ZAP_ENDPOINT   "inproc://zeromq.zap.01"
#define ZAP_MAX_FRAMES 8
#define LOG_EVERY_S    10.0
#define POLL_MS        100
#define MAX_WATCHED    8

struct gate {
    void *zctx;
    void *rep;
    /* Monitor sockets handed to the thread under lock; used by it alone. */
    pthread_mutex_t lock;
    void *watch[MAX_WATCHED];
    int nwatch;
    const curve_keys_t *keys;
    pthread_t thread;
    atomic_int stop;
    atomic_uint_least64_t refused;
    atomic_uint_least64_t admitted;
    double last_log[2]; /* the thread's own: for keys, for no CURVE */
};

/* A ZAP request's frames, as far as the handler reads them. */
struct zap_request {
    zmq_msg_t frames[ZAP_MAX_FRAMES];
    int n;
};

static void s_request_release(struct zap_request *r)
{
    for (int i = 0; i < r->n; i++)
        zmq_msg_close(&r->frames[i]);
    r->n = 0;
}

/* Receives one request; frames past ZAP_MAX_FRAMES are read and dropped. */
static int s_recv_request(void *rep, struct zap_request *r)
{
    int more = 1;
    r->n = 0;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, rep, 0) < 0) {
            zmq_msg_close(&part);
            s_request_release(r);
            return PSC_ENET;
        }
        more = zmq_msg_more(&part);
        if (r->n < ZAP_MAX_FRAMES)
            r->frames[r->n++] = part;
        else
            zmq_msg_close(&part);
    }
    return 0;
}

static int s_frame_is(struct zap_request *r, int i, const char *text)
{
    size_t len = strlen(text);
    return zmq_msg_size(&r->frames[i]) == len &&
           memcmp(zmq_msg_data(&r->frames[i]), text, len) == 0;
}

static void s_send_part(void *rep, const void *data, size_t len, int more)
{
    zmq_send(rep, data, len, more ? ZMQ_SNDMORE : 0);
}

static void s_reply(void *rep, struct zap_request *r, const char *code,
                    const char *text, const char *user)
{
    s_send_part(rep, "1.0", 3, 1);
    if (r->n > 1)
        s_send_part(rep, zmq_msg_data(&r->frames[1]),
                    zmq_msg_size(&r->frames[1]), 1);
    else
        s_send_part(rep, "", 0, 1);
    s_send_part(rep, code, strlen(code), 1);
    s_send_part(rep, text, strlen(text), 1);
    s_send_part(rep, user, strlen(user), 1);
    s_send_part(rep, "", 0, 0);
}

/*
 * The task the request's client key acts as, or NULL. Frames: version,
 * request id, domain, address, routing id, mechanism, client key.
 */
static const char *s_task_of(const gate_t *g, struct zap_request *r)
{
    if (r->n != 7 || !s_frame_is(r, 0, "1.0") || !s_frame_is(r, 5, "CURVE") ||
        zmq_msg_size(&r->frames[6]) != CURVE_KEY_LEN)
        return NULL;
    return curve_keys_task_of(g->keys, zmq_msg_data(&r->frames[6]));
}

/*
 * The first refusal of each kind (0: a key not listed, 1: no CURVE) is
 * logged, then at most one line of it every LOG_EVERY_S.
 */
static int s_time_to_log(gate_t *g, int kind)
{
    double now = psc_now();
    if (g->last_log[kind] > 0 && now - g->last_log[kind] < LOG_EVERY_S)
        return 0;
    g->last_log[kind] = now;
    return 1;
}

static void s_log_refusal(gate_t *g, struct zap_request *r, uint64_t count)
{
    if (!s_time_to_log(g, 0))
        return;
    char address[64] = "unknown";
    if (r->n > 3) {
        size_t len = zmq_msg_size(&r->frames[3]);
        len = len < sizeof address - 1 ? len : sizeof address - 1;
        memcpy(address, zmq_msg_data(&r->frames[3]), len);
        address[len] = '\0';
    }
    psc_log_warn("refused a connection from %s at the handshake: its key is "
                 "not on the cluster's list in '%s' (%llu refused so far)",
                 address, curve_keys_dir(g->keys), (unsigned long long) count);
}

static void s_answer(gate_t *g, struct zap_request *r)
{
    const char *task = s_task_of(g, r);
    if (task != NULL) {
        atomic_fetch_add(&g->admitted, 1);
        s_reply(g->rep, r, "200", "OK", task);
        return;
    }
    uint64_t count = atomic_fetch_add(&g->refused, 1) + 1;
    s_log_refusal(g, r, count);
    s_reply(g->rep, r, "400", "key not on the cluster's list", "");
}

/*
 * One monitor event: a handshake that failed before ZAP, for want of
 * CURVE. Frames: the event (uint16) and its value (uint32), the endpoint.
 */
static void s_on_event(gate_t *g, void *mon)
{
    struct zap_request ev;
    if (s_recv_request(mon, &ev) != 0)
        return;
    if (ev.n == 2 && zmq_msg_size(&ev.frames[0]) == 6) {
        const uint8_t *d = zmq_msg_data(&ev.frames[0]);
        uint16_t event = (uint16_t) (d[0] | d[1] << 8);
        uint32_t value = (uint32_t) d[2] | (uint32_t) d[3] << 8 |
                         (uint32_t) d[4] << 16 | (uint32_t) d[5] << 24;
        if (event != ZMQ_EVENT_MONITOR_STOPPED) {
            uint64_t count = atomic_fetch_add(&g->refused, 1) + 1;
            if (s_time_to_log(g, 1))
                psc_log_warn("refused a connection at the handshake: the "
                             "peer does not speak CURVE with the cluster's "
                             "keys (ZeroMQ error 0x%x; %llu refused so far)",
                             (unsigned) value, (unsigned long long) count);
        }
    }
    s_request_release(&ev);
}

static int s_poll_items(gate_t *g, zmq_pollitem_t *items)
{
    pthread_mutex_lock(&g->lock);
    int n = g->nwatch;
    for (int i = 0; i < n; i++)
        items[1 + i] = (zmq_pollitem_t){g->watch[i], 0, ZMQ_POLLIN, 0};
    pthread_mutex_unlock(&g->lock);
    items[0] = (zmq_pollitem_t){g->rep, 0, ZMQ_POLLIN, 0};
    return 1 + n;
}

static void *s_run(void *arg)
{
    gate_t *g = arg;
    zmq_pollitem_t items[1 + MAX_WATCHED];
    while (!atomic_load(&g->stop)) {
        int n = s_poll_items(g, items);
        if (zmq_poll(items, n, POLL_MS) <= 0)
            continue;
        for (int i = 1; i < n; i++) {
            if (items[i].revents & ZMQ_POLLIN)
                s_on_event(g, items[i].socket);
        }
        if (!(items[0].revents & ZMQ_POLLIN))
            continue;
        struct zap_request r;
        if (s_recv_request(g->rep, &r) != 0)
            continue;
        s_answer(g, &r);
        s_request_release(&r);
    }
    return NULL;
}

/* A monitor for sock, connected; NULL with err. */
static void *s_monitor(gate_t *g, void *sock, int i, char *err)
{
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://psc-gate-watch-%p-%d", (void *) g, i);
    int events = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;
    void *mon = zmq_socket(g->zctx, ZMQ_PAIR);
    int linger = 0;
    if (mon != NULL)
        zmq_setsockopt(mon, ZMQ_LINGER, &linger, sizeof linger);
    if (mon == NULL || zmq_socket_monitor(sock, ep, events) != 0 ||
        zmq_connect(mon, ep) != 0) {
        psc_seterr(err, PSC_ENET, "cannot watch a socket's handshakes: %s",
                   zmq_strerror(zmq_errno()));
        if (mon != NULL)
            zmq_close(mon);
        return NULL;
    }
    return mon;
}

int gate_watch(gate_t *g, void *sock, char *err)
{
    int rc = 0;
    pthread_mutex_lock(&g->lock);
    if (g->nwatch == MAX_WATCHED) {
        rc = psc_seterr(err, PSC_ENET, "the gate watches %d sockets already",
                        MAX_WATCHED);
    } else {
        void *mon = s_monitor(g, sock, g->nwatch, err);
        if (mon != NULL)
            g->watch[g->nwatch++] = mon;
        else
            rc = PSC_ENET;
    }
    pthread_mutex_unlock(&g->lock);
    return rc;
}

gate_t *gate_new(void *zctx, const curve_keys_t *keys, char *err)
{
    gate_t *g = psc_xcalloc(1, sizeof *g);
    g->zctx = zctx;
    g->keys = keys;
    pthread_mutex_init(&g->lock, NULL);
    atomic_init(&g->stop, 0);
    atomic_init(&g->refused, 0);
    atomic_init(&g->admitted, 0);
    g->rep = zmq_socket(zctx, ZMQ_REP);
    int linger = 0;
    if (g->rep != NULL)
        zmq_setsockopt(g->rep, ZMQ_LINGER, &linger, sizeof linger);
    if (g->rep == NULL || zmq_bind(g->rep, ZAP_ENDPOINT) != 0) {
        psc_seterr(err, PSC_ENET, "cannot bind the ZAP handler '%s': %s",
                   ZAP_ENDPOINT, zmq_strerror(zmq_errno()));
        goto fail;
    }
    /* pthread_create orders the socket's set-up before the thread's use. */
    if (pthread_create(&g->thread, NULL, s_run, g) != 0) {
        psc_seterr(err, PSC_ENET, "cannot start the ZAP handler's thread");
        goto fail;
    }
    return g;
fail:
    if (g->rep != NULL)
        zmq_close(g->rep);
    pthread_mutex_destroy(&g->lock);
    free(g);
    return NULL;
}

void gate_destroy(gate_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    gate_t *g = *p;
    atomic_store(&g->stop, 1);
    pthread_join(g->thread, NULL);
    zmq_close(g->rep);
    for (int i = 0; i < g->nwatch; i++)
        zmq_close(g->watch[i]);
    pthread_mutex_destroy(&g->lock);
    uint64_t refused = atomic_load(&g->refused);
    if (refused > 0)
        psc_log_info("the gate refused %llu connections at the handshake",
                     (unsigned long long) refused);
    free(g);
    *p = NULL;
}

uint64_t gate_refused(const gate_t *g)
{
    return atomic_load(&((gate_t *) g)->refused);
}

uint64_t gate_admitted(const gate_t *g)
{
    return atomic_load(&((gate_t *) g)->admitted);
}
