/*
 * The wire: a message is one protobuf-c Header frame followed by raw payload
 * frames. This module sends and receives such messages over ZeroMQ sockets,
 * validates every received message against its header before anyone uses
 * it, and owns the zero-copy buffer type that payload sends share.
 */
#ifndef WIRE_H
#define WIRE_H

#include "psc.pb-c.h"

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#define WIRE_VERSION      3 /* 2: sparse pieces (offset, MORE); 3: dense too */
#define WIRE_MAX_FRAMES   64
#define WIRE_MAX_PEER     255
#define WIRE_MAX_USER     64
#define WIRE_WANT_PARAMS  1u  /* PUSH: reply with the updated values */
#define WIRE_INIT_SEED    2u  /* INIT without frames: from the job's seed */
#define WIRE_MORE         4u  /* more pieces of one push follow */
#define WIRE_PIECE        8u  /* PUSH: a piece, at offset (shard elements) */
#define WIRE_INIT_RESTORE 16u /* INIT without frames: from checkpoint text */
#define WIRE_SYNC_STEP                                                  \
    32u                    /* SPARSE_PUSH: a worker's part of sync step \
                              `step`, aggregated with the step's others */
#define WIRE_NOT_READY 32u /* ERROR: the shard holds no model (yet) */
/* PARAMS or PUSH_ACK answering a push: its gradient was dropped (late in
 * sync mode, too stale under staleness_policy drop), not applied, so the
 * worker can say so in its report. */
#define WIRE_DROPPED 64u
/* ERROR: the push (or pull) came from another generation of the model than
 * the shard's (from before a rollback): refused, never applied. */
#define WIRE_STALE 128u

/*
 * A reference-counted payload buffer. The owner holds one reference; every
 * zero-copy send of a part of it holds another until ZeroMQ has sent it, so
 * the memory is freed exactly once, by whoever lets go last.
 */
typedef struct wire_buf wire_buf_t;

/* Caller owns the one reference; drop it with wire_buf_release(). */
wire_buf_t *wire_buf_new(size_t bytes);
/* The same, in huge pages (psc_xaligned_huge()): a shard's values. */
wire_buf_t *wire_buf_new_huge(size_t bytes);

/* Borrowed; 64-byte aligned; valid while the caller holds a reference. */
void *wire_buf_data(wire_buf_t *b);
size_t wire_buf_size(const wire_buf_t *b);

/*
 * A buffer for bytes of parent from offset on (in bounds), sharing its
 * memory: sending the view holds parent too, and wire_buf_busy(view) says
 * whether a send still holds that part. Caller owns the one reference.
 */
wire_buf_t *wire_buf_view(wire_buf_t *parent, size_t offset, size_t bytes);

/* 1 while a send still holds a reference (do not write into it then). */
int wire_buf_busy(wire_buf_t *b);

/* References besides the owner's: sends in flight and live views. */
int wire_buf_holders(wire_buf_t *b);

/* Drops the caller's reference and sets *p to NULL; accepts NULL. */
void wire_buf_release(wire_buf_t **p);

/*
 * One payload frame to send. With buf NULL the bytes at data are copied into
 * the message; with buf set, data must point into buf and the frame is sent
 * without copying, holding a reference on buf until ZeroMQ is done.
 */
struct wire_frame {
    const void *data;
    size_t bytes;
    uint64_t count; /* elements, as the header's lengths[] says */
    wire_buf_t *buf;
};

/* Room in a wire_msg_t for its unpacked header (larger ones use malloc). */
#define WIRE_ARENA_BYTES 2048

/*
 * A received, validated message. Fields are read-only for callers. The
 * header is unpacked into the message's own arena, so receiving allocates
 * nothing for ordinary headers; a wire_msg_t is therefore never copied,
 * only passed by pointer.
 */
typedef struct wire_msg {
    Psc__Header *hdr;
    int nframes;
    zmq_msg_t frames[WIRE_MAX_FRAMES];
    uint8_t peer[WIRE_MAX_PEER];
    size_t peer_len;          /* ROUTER sockets only: the sender's routing id */
    char user[WIRE_MAX_USER]; /* CURVE: the task its key acts as, else "" */
    size_t arena_used;
    size_t header_bytes; /* the header frame as received */
    _Alignas(16) unsigned char arena[WIRE_ARENA_BYTES];
} wire_msg_t;

/* Counts what wire_recv() dropped; the first drop of a socket is logged. */
struct wire_counters {
    uint64_t rejected;
    uint64_t logged;
};

/* Fills a Header with the protocol version, type and sender task. */
void wire_header_init(Psc__Header *hdr, Psc__MsgType type, const char *task);

/*
 * Sends hdr and frames on sock, prefixed by the routing id when peer is
 * non-NULL (ROUTER sockets). Sets hdr->lengths from the frames' counts.
 * Returns 0, PSC_EAGAIN when the socket would block past its high-water mark,
 * or PSC_ENET. Frame buffers' references are released even on failure.
 */
int wire_send(void *sock, const void *peer, size_t peer_len, Psc__Header *hdr,
              const struct wire_frame *frames, int nframes);

/*
 * Receives one whole message. from_router: the first part is a routing id.
 * flags: 0 or ZMQ_DONTWAIT. Returns 0 with *msg filled (release it with
 * wire_msg_release()), PSC_EAGAIN when nothing is waiting, PSC_EINTR on a
 * signal, or PSC_EPROTO when the message was malformed, or (from_router)
 * names a task other than its connection's routing id or, on a CURVE
 * socket, other than the task its connection's key acts as: it was
 * dropped, counted in c and, the first time, logged.
 */
int wire_recv(void *sock, int from_router, wire_msg_t *msg,
              struct wire_counters *c, int flags);

/* What wire_drain() hands each message to; msg is borrowed for the call. */
typedef void wire_on_msg_fn(void *arg, const wire_msg_t *msg);

/*
 * Receives, without waiting, what is queued on sock (from_router as for
 * wire_recv()) and calls on_msg(arg, msg) for each valid message, which is
 * released when on_msg returns. Malformed messages are dropped and counted
 * in c as wire_recv() does, and draining goes on. Stops when nothing is
 * left, on a signal or a socket error, or after max (>= 1) messages, so
 * that one busy socket cannot starve the rest of a poll loop. Returns how
 * many messages went to on_msg.
 */
int wire_drain(void *sock, int from_router, int max, struct wire_counters *c,
               wire_on_msg_fn *on_msg, void *arg);

/*
 * Bytes on the wire (header and payload frames, without ZeroMQ's framing):
 * of the message wire_send() would send for hdr and frames, and of a
 * received one.
 */
size_t wire_send_bytes(Psc__Header *hdr, const struct wire_frame *frames,
                       int nframes);
size_t wire_msg_bytes(const wire_msg_t *msg);

/* Frees a received message's header and frames; safe to call twice. */
void wire_msg_release(wire_msg_t *msg);

/* Payload frame i's bytes as received (borrowed; any alignment). */
const void *wire_frame_data(const wire_msg_t *msg, int i);

/* Bytes and element count of payload frame i. */
size_t wire_frame_bytes(const wire_msg_t *msg, int i);
uint64_t wire_frame_count(const wire_msg_t *msg, int i);

/*
 * Returns frame i's values as float32: the frame's own memory when it holds
 * aligned float32, else converted or copied into scratch (room for
 * wire_frame_count() floats). Borrowed; valid until the message is released
 * or scratch is reused.
 */
const float *wire_frame_f32(const wire_msg_t *msg, int i, float *scratch);

/* Returns frame i as uint64 keys, in place when aligned, else in scratch. */
const uint64_t *wire_frame_keys(const wire_msg_t *msg, int i,
                                uint64_t *scratch);

/* Name of a message type for logs ("PUSH"). */
const char *wire_type_name(int type);

#endif
