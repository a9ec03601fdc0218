/*
 * Sending and receiving header + payload messages, and validating what
 * arrives. Nothing from the network is trusted until wire_recv() has checked
 * it: frame count, sizes, type, codec and protocol version.
 */
#include "wire.h"

#include "f16.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_MAX_BYTES 65536
#define TASK_MAX_LEN     64

struct wire_buf {
    atomic_int refs;
    size_t size;
    void *data;
    wire_buf_t *parent; /* a view: data lies in parent, which it holds */
};

/* A buffer of its own around data (bytes), one reference held. */
static wire_buf_t *s_own(void *data, size_t bytes)
{
    wire_buf_t *b = psc_xmalloc(sizeof *b);
    atomic_init(&b->refs, 1);
    b->size = bytes;
    b->data = data;
    b->parent = NULL;
    return b;
}

wire_buf_t *wire_buf_new(size_t bytes)
{
    return s_own(psc_xaligned(bytes), bytes);
}

wire_buf_t *wire_buf_new_huge(size_t bytes)
{
    return s_own(psc_xaligned_huge(bytes), bytes);
}

wire_buf_t *wire_buf_view(wire_buf_t *parent, size_t offset, size_t bytes)
{
    wire_buf_t *b = psc_xmalloc(sizeof *b);
    atomic_init(&b->refs, 1);
    b->size = bytes;
    b->data = (char *) parent->data + offset;
    b->parent = parent;
    atomic_fetch_add(&parent->refs, 1);
    return b;
}

void *wire_buf_data(wire_buf_t *b)
{
    return b->data;
}

size_t wire_buf_size(const wire_buf_t *b)
{
    return b->size;
}

int wire_buf_busy(wire_buf_t *b)
{
    return atomic_load(&b->refs) > 1;
}

int wire_buf_holders(wire_buf_t *b)
{
    return atomic_load(&b->refs) - 1;
}

static void s_buf_unref(wire_buf_t *b)
{
    if (atomic_fetch_sub(&b->refs, 1) != 1)
        return;
    if (b->parent != NULL)
        s_buf_unref(b->parent);
    else
        free(b->data);
    free(b);
}

void wire_buf_release(wire_buf_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    s_buf_unref(*p);
    *p = NULL;
}

/* Called by ZeroMQ, possibly from its I/O thread, once a frame is sent. */
static void s_zmq_free(void *data, void *hint)
{
    (void) data;
    s_buf_unref(hint);
}

void wire_header_init(Psc__Header *hdr, Psc__MsgType type, const char *task)
{
    psc__header__init(hdr);
    hdr->version = WIRE_VERSION;
    hdr->type = type;
    hdr->task = (char *) task;
}

static int s_send_frame(void *sock, const struct wire_frame *f, int more)
{
    zmq_msg_t m;
    if (f->buf != NULL) {
        atomic_fetch_add(&f->buf->refs, 1);
        zmq_msg_init_data(&m, (void *) f->data, f->bytes, s_zmq_free, f->buf);
    } else {
        zmq_msg_init_size(&m, f->bytes);
        if (f->bytes > 0)
            memcpy(zmq_msg_data(&m), f->data, f->bytes);
    }
    int rc = zmq_msg_send(&m, sock, more ? ZMQ_SNDMORE : 0);
    if (rc < 0) {
        zmq_msg_close(&m);
        return errno == EAGAIN ? PSC_EAGAIN : PSC_ENET;
    }
    return 0;
}

static int s_send_header(void *sock, const Psc__Header *hdr, int more)
{
    uint8_t small[512];
    size_t len = psc__header__get_packed_size(hdr);
    uint8_t *buf = len <= sizeof small ? small : psc_xmalloc(len);
    psc__header__pack(hdr, buf);
    int rc = zmq_send(sock, buf, len, more ? ZMQ_SNDMORE : 0);
    int saved = errno;
    if (buf != small)
        free(buf);
    if (rc < 0)
        return saved == EAGAIN ? PSC_EAGAIN : PSC_ENET;
    return 0;
}

/* The header as it goes out: the version, and the frames' lengths. */
static void s_frame_header(Psc__Header *hdr, uint64_t *lengths,
                           const struct wire_frame *frames, int nframes)
{
    for (int i = 0; i < nframes; i++)
        lengths[i] = frames[i].count;
    hdr->version = WIRE_VERSION;
    hdr->n_lengths = (size_t) nframes;
    hdr->lengths = lengths;
}

size_t wire_send_bytes(Psc__Header *hdr, const struct wire_frame *frames,
                       int nframes)
{
    uint64_t lengths[WIRE_MAX_FRAMES];
    if (nframes > WIRE_MAX_FRAMES)
        return 0;
    s_frame_header(hdr, lengths, frames, nframes);
    size_t bytes = psc__header__get_packed_size(hdr);
    for (int i = 0; i < nframes; i++)
        bytes += frames[i].bytes;
    hdr->n_lengths = 0;
    hdr->lengths = NULL;
    return bytes;
}

size_t wire_msg_bytes(const wire_msg_t *msg)
{
    size_t bytes = msg->header_bytes;
    for (int i = 0; i < msg->nframes; i++)
        bytes += zmq_msg_size((zmq_msg_t *) &msg->frames[i]);
    return bytes;
}

int wire_send(void *sock, const void *peer, size_t peer_len, Psc__Header *hdr,
              const struct wire_frame *frames, int nframes)
{
    uint64_t lengths[WIRE_MAX_FRAMES];
    int rc = 0;
    if (nframes > WIRE_MAX_FRAMES)
        return PSC_EINVAL;
    s_frame_header(hdr, lengths, frames, nframes);
    if (peer != NULL && zmq_send(sock, peer, peer_len, ZMQ_SNDMORE) < 0)
        rc = errno == EAGAIN ? PSC_EAGAIN : PSC_ENET;
    if (rc == 0)
        rc = s_send_header(sock, hdr, nframes > 0);
    for (int i = 0; i < nframes && rc == 0; i++)
        rc = s_send_frame(sock, &frames[i], i + 1 < nframes);
    hdr->n_lengths = 0;
    hdr->lengths = NULL;
    return rc;
}

const char *wire_type_name(int type)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&psc__msg_type__descriptor, type);
    return v != NULL ? v->name : "UNKNOWN";
}

/* Element size of payload frame i of a message of this header's type. */
static size_t s_elem_size(const Psc__Header *hdr, int i)
{
    int keys_first = hdr->type == PSC__MSG_TYPE__SPARSE_PUSH ||
                     hdr->type == PSC__MSG_TYPE__SPARSE_PULL;
    if (keys_first && i == 0)
        return sizeof(uint64_t);
    return hdr->codec == PSC__CODEC__F16 ? 2 : 4;
}

/* Returns NULL when the frame count suits the type, else the complaint. */
static const char *s_check_frame_count(const Psc__Header *hdr, int n)
{
    switch (hdr->type) {
    case PSC__MSG_TYPE__INIT:
        if (n == 0 && (hdr->flags & (WIRE_INIT_SEED | WIRE_INIT_RESTORE)))
            return NULL;
        return n >= 1 ? NULL : "no payload frames";
    case PSC__MSG_TYPE__PUSH:
    case PSC__MSG_TYPE__PARAMS:
        return n >= 1 ? NULL : "no payload frames";
    case PSC__MSG_TYPE__SPARSE_PUSH:
        if (n != 2)
            return "sparse push needs a keys and a rows frame";
        if (hdr->lengths[1] != hdr->lengths[0] * (uint64_t) hdr->width)
            return "sparse rows do not match keys x width";
        return NULL;
    case PSC__MSG_TYPE__SPARSE_PULL:
    case PSC__MSG_TYPE__SPARSE_PARAMS:
        return n == 1 ? NULL : "sparse message needs exactly one frame";
    default:
        return n == 0 ? NULL : "payload frames on a control message";
    }
}

static const char *s_validate(const wire_msg_t *msg)
{
    const Psc__Header *hdr = msg->hdr;
    if (hdr->version != WIRE_VERSION)
        return "wrong protocol version";
    if (hdr->type <= PSC__MSG_TYPE__MSG_NONE ||
        hdr->type > PSC__MSG_TYPE__PAUSE)
        return "unknown message type";
    if (hdr->codec != PSC__CODEC__F32 && hdr->codec != PSC__CODEC__F16)
        return "unknown codec";
    if (hdr->task == NULL || hdr->task[0] == '\0' ||
        strlen(hdr->task) > TASK_MAX_LEN)
        return "missing or over-long task name";
    if (hdr->n_lengths != (size_t) msg->nframes)
        return "frame count differs from the header";
    for (int i = 0; i < msg->nframes; i++) {
        size_t bytes = zmq_msg_size((zmq_msg_t *) &msg->frames[i]);
        size_t elem = s_elem_size(hdr, i);
        if (hdr->lengths[i] > SIZE_MAX / elem ||
            bytes != hdr->lengths[i] * elem)
            return "frame size differs from the header";
    }
    return s_check_frame_count(hdr, msg->nframes);
}

static void s_drain(void *sock)
{
    int more = 1;
    size_t len = sizeof more;
    zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &len);
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0) {
            zmq_msg_close(&m);
            return;
        }
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
}

/* kind: "malformed", or "misattributed" for one off its task's connection. */
static int s_reject_as(void *sock, wire_msg_t *msg, struct wire_counters *c,
                       const char *kind, const char *why)
{
    s_drain(sock);
    const char *task = msg->hdr != NULL ? msg->hdr->task : NULL;
    c->rejected++;
    if (c->logged == 0) {
        psc_log_warn("dropped a %s message from '%s': %s (further ones are "
                     "counted, not logged)",
                     kind, task != NULL ? task : "unknown", why);
        c->logged = 1;
    }
    wire_msg_release(msg);
    return PSC_EPROTO;
}

static int s_reject(void *sock, wire_msg_t *msg, struct wire_counters *c,
                    const char *why)
{
    return s_reject_as(sock, msg, c, "malformed", why);
}

static int s_recv_part(void *sock, zmq_msg_t *m, int flags)
{
    zmq_msg_init(m);
    if (zmq_msg_recv(m, sock, flags) >= 0)
        return 0;
    int e = errno;
    zmq_msg_close(m);
    if (e == EAGAIN)
        return PSC_EAGAIN;
    return e == EINTR ? PSC_EINTR : PSC_ENET;
}

/* Reads the routing id (ROUTER) and the header frame. */
/* protobuf-c's allocations for one header: from msg->arena while it lasts. */
static void *s_arena_alloc(void *data, size_t size)
{
    wire_msg_t *msg = data;
    size_t rounded = (size + 15) & ~(size_t) 15;
    if (rounded < size || rounded > WIRE_ARENA_BYTES - msg->arena_used)
        return malloc(size);
    void *p = msg->arena + msg->arena_used;
    msg->arena_used += rounded;
    return p;
}

/* Arena blocks go back all at once, in wire_msg_release(). */
static void s_arena_free(void *data, void *ptr)
{
    wire_msg_t *msg = data;
    uintptr_t p = (uintptr_t) ptr;
    uintptr_t start = (uintptr_t) msg->arena;
    if (p < start || p >= start + WIRE_ARENA_BYTES)
        free(ptr);
}

static ProtobufCAllocator s_arena(wire_msg_t *msg)
{
    return (ProtobufCAllocator){s_arena_alloc, s_arena_free, msg};
}

/*
 * The User-Id the gate gave the connection (net/gate.h): the task its CURVE
 * key acts as. A connection without CURVE has none.
 */
static void s_copy_user(wire_msg_t *msg, zmq_msg_t *part)
{
    const char *user = zmq_msg_gets(part, "User-Id");
    if (user != NULL)
        snprintf(msg->user, sizeof msg->user, "%s", user);
}

static int s_recv_head(void *sock, int from_router, wire_msg_t *msg,
                       struct wire_counters *c, int flags, int *more)
{
    zmq_msg_t part;
    int rc = s_recv_part(sock, &part, flags);
    if (rc != 0)
        return rc;
    if (from_router) {
        msg->peer_len = zmq_msg_size(&part);
        if (msg->peer_len > WIRE_MAX_PEER)
            msg->peer_len = WIRE_MAX_PEER;
        memcpy(msg->peer, zmq_msg_data(&part), msg->peer_len);
        int has_more = zmq_msg_more(&part);
        zmq_msg_close(&part);
        if (!has_more)
            return s_reject(sock, msg, c, "no header frame");
        rc = s_recv_part(sock, &part, 0);
        if (rc != 0)
            return rc;
        s_copy_user(msg, &part);
    }
    size_t len = zmq_msg_size(&part);
    msg->header_bytes = len;
    if (len <= HEADER_MAX_BYTES) {
        ProtobufCAllocator arena = s_arena(msg);
        msg->hdr = psc__header__unpack(&arena, len, zmq_msg_data(&part));
    }
    *more = zmq_msg_more(&part);
    zmq_msg_close(&part);
    if (msg->hdr == NULL)
        return s_reject(sock, msg, c, "header frame is not a psc header");
    return 0;
}

/*
 * Every task's connection carries its task name as routing id (net_socket),
 * and a ROUTER hears one connection per routing id: a message acts for the
 * task it names only when it came on that task's connection.
 */
static int s_sent_by_its_task(const wire_msg_t *msg)
{
    const char *task = msg->hdr->task != NULL ? msg->hdr->task : "";
    size_t len = strlen(task);
    return len == msg->peer_len && memcmp(task, msg->peer, len) == 0;
}

/* With CURVE, the key decides whom a message acts for, not the header. */
static int s_sent_with_its_key(const wire_msg_t *msg)
{
    const char *task = msg->hdr->task != NULL ? msg->hdr->task : "";
    return msg->user[0] == '\0' || strcmp(msg->user, task) == 0;
}

int wire_recv(void *sock, int from_router, wire_msg_t *msg,
              struct wire_counters *c, int flags)
{
    int more = 0;
    msg->hdr = NULL;
    msg->nframes = 0;
    msg->peer_len = 0;
    msg->user[0] = '\0';
    msg->arena_used = 0;
    int rc = s_recv_head(sock, from_router, msg, c, flags, &more);
    if (rc != 0)
        return rc;
    while (more) {
        if (msg->nframes == WIRE_MAX_FRAMES)
            return s_reject(sock, msg, c, "too many frames");
        zmq_msg_t *m = &msg->frames[msg->nframes];
        rc = s_recv_part(sock, m, 0);
        if (rc != 0) {
            wire_msg_release(msg);
            return rc;
        }
        msg->nframes++;
        more = zmq_msg_more(m);
    }
    const char *why = s_validate(msg);
    if (why != NULL)
        return s_reject(sock, msg, c, why);
    if (from_router && !s_sent_by_its_task(msg))
        return s_reject_as(sock, msg, c, "misattributed",
                           "it did not come on that task's connection");
    if (from_router && !s_sent_with_its_key(msg))
        return s_reject_as(sock, msg, c, "misattributed",
                           "its connection's key belongs to another task");
    return 0;
}

int wire_drain(void *sock, int from_router, int max, struct wire_counters *c,
               wire_on_msg_fn *on_msg, void *arg)
{
    int handled = 0;
    for (int i = 0; i < max; i++) {
        wire_msg_t msg;
        int rc = wire_recv(sock, from_router, &msg, c, ZMQ_DONTWAIT);
        if (rc == PSC_EPROTO)
            continue;
        /* Empty (PSC_EAGAIN), a signal, or a socket that cannot read. */
        if (rc != 0)
            break;
        on_msg(arg, &msg);
        wire_msg_release(&msg);
        handled++;
    }
    return handled;
}

void wire_msg_release(wire_msg_t *msg)
{
    if (msg->hdr != NULL) {
        ProtobufCAllocator arena = s_arena(msg);
        psc__header__free_unpacked(msg->hdr, &arena);
    }
    msg->hdr = NULL;
    msg->arena_used = 0;
    for (int i = 0; i < msg->nframes; i++)
        zmq_msg_close(&msg->frames[i]);
    msg->nframes = 0;
}

const void *wire_frame_data(const wire_msg_t *msg, int i)
{
    return zmq_msg_data((zmq_msg_t *) &msg->frames[i]);
}

size_t wire_frame_bytes(const wire_msg_t *msg, int i)
{
    return zmq_msg_size((zmq_msg_t *) &msg->frames[i]);
}

uint64_t wire_frame_count(const wire_msg_t *msg, int i)
{
    return msg->hdr->lengths[i];
}

const float *wire_frame_f32(const wire_msg_t *msg, int i, float *scratch)
{
    const void *data = zmq_msg_data((zmq_msg_t *) &msg->frames[i]);
    size_t n = (size_t) msg->hdr->lengths[i];
    if (msg->hdr->codec == PSC__CODEC__F16) {
        f16_to_f32(scratch, data, n);
        return scratch;
    }
    if (((uintptr_t) data % sizeof(float)) == 0)
        return data;
    memcpy(scratch, data, n * sizeof(float));
    return scratch;
}

const uint64_t *wire_frame_keys(const wire_msg_t *msg, int i, uint64_t *scratch)
{
    const void *data = zmq_msg_data((zmq_msg_t *) &msg->frames[i]);
    size_t n = (size_t) msg->hdr->lengths[i];
    if (((uintptr_t) data % sizeof(uint64_t)) == 0)
        return data;
    memcpy(scratch, data, n * sizeof(uint64_t));
    return scratch;
}
