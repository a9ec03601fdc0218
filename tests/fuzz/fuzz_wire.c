/*
 * libFuzzer target: the wire decoder, through wire_recv() on a ROUTER as
 * the ps and chief receive. The input is a multipart message: records of
 * a 2-byte little-endian length and that many bytes, one frame each (the
 * first is the header), the last record's bytes cut short by the input's
 * end. A DEALER sends it over inproc; whatever wire_recv() accepts is then
 * read through the frame accessors the roles use.
 */
#include "fuzz_util.h"
#include "wire.h"

#include <zmq.h>

/* More than WIRE_MAX_FRAMES, so "too many frames" is reachable. */
#define MAX_PARTS (WIRE_MAX_FRAMES + 4)

/*
 * One context and socket pair for the whole run: libFuzzer calls the
 * target in one process, and a context per input would fuzz thread start-up
 * instead of the decoder.
 */
static void *s_ctx;
static void *s_router;
static void *s_dealer;
/* Where the values read go, so the reads are not optimised away. */
static volatile float s_sink;

/*
 * The routing id of every DEALER here, and the task of every seed: a
 * message whose header names another task is dropped as the wire binds
 * tasks to their connections, before the frame accessors see it.
 */
#define FUZZ_TASK "worker:0"

static void *s_socket(int type)
{
    void *s = zmq_socket(s_ctx, type);
    int linger = 0;
    if (s == NULL || zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) ||
        (type == ZMQ_DEALER &&
         zmq_setsockopt(s, ZMQ_ROUTING_ID, FUZZ_TASK, strlen(FUZZ_TASK)))) {
        fprintf(stderr, "fuzz: zmq_socket: %s\n", zmq_strerror(zmq_errno()));
        abort();
    }
    return s;
}

/* Appends one record (length, bytes) to a seed being built. */
static size_t s_record(uint8_t *out, size_t at, const void *data, size_t n)
{
    out[at] = (uint8_t) (n & 0xff);
    out[at + 1] = (uint8_t) (n >> 8);
    memcpy(out + at + 2, data, n);
    return at + 2 + n;
}

/*
 * Sends hdr and frames with wire_send() on a second DEALER and writes what
 * arrives, in this target's record format, as a generated seed: a valid
 * message of today's protocol version, whatever that version is.
 */
static void s_seed(const char *name, Psc__Header *hdr,
                   const struct wire_frame *frames, int n)
{
    void *raw = s_socket(ZMQ_ROUTER);
    void *out = s_socket(ZMQ_DEALER);
    /*
     * An endpoint per seed: zmq_close() unbinds in ZeroMQ's own thread, so
     * binding the previous seed's name again can fail with EADDRINUSE.
     */
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://fuzz-seed-%s", name);
    if (zmq_bind(raw, endpoint) != 0 || zmq_connect(out, endpoint) != 0 ||
        wire_send(out, NULL, 0, hdr, frames, n) != 0) {
        fprintf(stderr, "fuzz: seed '%s': %s\n", name,
                zmq_strerror(zmq_errno()));
        abort();
    }
    static uint8_t seed[65536];
    size_t len = 0;
    int more = 1;
    int part = 0;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, raw, 0) < 0)
            abort();
        more = zmq_msg_more(&m);
        /* Part 0 is the routing id the ROUTER adds, not the DEALER's. */
        if (part++ > 0 && len + 2 + zmq_msg_size(&m) <= sizeof seed)
            len = s_record(seed, len, zmq_msg_data(&m), zmq_msg_size(&m));
        zmq_msg_close(&m);
    }
    fuzz_emit_seed(name, seed, len);
    zmq_close(out);
    zmq_close(raw);
}

static void s_seeds(void)
{
    Psc__Header hdr;
    wire_header_init(&hdr, PSC__MSG_TYPE__PULL, FUZZ_TASK);
    hdr.min_version = 3;
    s_seed("pull", &hdr, NULL, 0);

    float values[4] = {1, -2, 0.5f, 3};
    struct wire_frame dense = {values, sizeof values, 4, NULL};
    wire_header_init(&hdr, PSC__MSG_TYPE__PUSH, FUZZ_TASK);
    hdr.step = 7;
    s_seed("push", &hdr, &dense, 1);

    uint64_t keys[2] = {3, 9};
    struct wire_frame sparse[2] = {{keys, sizeof keys, 2, NULL},
                                   {values, sizeof values, 4, NULL}};
    wire_header_init(&hdr, PSC__MSG_TYPE__SPARSE_PUSH, FUZZ_TASK);
    hdr.width = 2;
    s_seed("sparse_push", &hdr, sparse, 2);

    uint16_t halves[2] = {0x3c00, 0xc000};
    struct wire_frame f16 = {halves, sizeof halves, 2, NULL};
    wire_header_init(&hdr, PSC__MSG_TYPE__PARAMS, FUZZ_TASK);
    hdr.codec = PSC__CODEC__F16;
    s_seed("params_f16", &hdr, &f16, 1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_quiet();
    s_ctx = zmq_ctx_new();
    if (s_ctx == NULL)
        abort();
    s_router = s_socket(ZMQ_ROUTER);
    s_dealer = s_socket(ZMQ_DEALER);
    if (zmq_bind(s_router, "inproc://fuzz") != 0 ||
        zmq_connect(s_dealer, "inproc://fuzz") != 0) {
        fprintf(stderr, "fuzz: inproc://fuzz: %s\n", zmq_strerror(zmq_errno()));
        abort();
    }
    s_seeds();
    return 0;
}

/* Sends the input's records as one multipart message; returns the parts. */
static int s_send(const uint8_t *data, size_t size)
{
    size_t at = 0;
    int parts = 0;
    do {
        size_t n = 0;
        if (size - at >= 2) {
            n = (size_t) data[at] | (size_t) data[at + 1] << 8;
            at += 2;
        } else {
            at = size;
        }
        if (n > size - at)
            n = size - at;
        int last = at + n == size || parts + 1 == MAX_PARTS;
        if (zmq_send(s_dealer, data + at, n, last ? 0 : ZMQ_SNDMORE) < 0)
            abort();
        at += n;
        parts++;
        if (last)
            break;
    } while (at < size);
    return parts;
}

/* Reads every frame as the ps would, so a size the check let through that
 * does not match the bytes is ASan's to see. */
static void s_use(const wire_msg_t *msg)
{
    static float scratch[65536];
    static uint64_t kscratch[8192];
    float sum = 0;
    (void) wire_type_name(msg->hdr->type);
    for (int i = 0; i < msg->nframes; i++) {
        uint64_t count = wire_frame_count(msg, i);
        size_t bytes = wire_frame_bytes(msg, i);
        if (count <= sizeof scratch / sizeof *scratch) {
            const float *v = wire_frame_f32(msg, i, scratch);
            for (uint64_t j = 0; j < count; j++)
                sum += v[j];
        }
        if (bytes == count * sizeof(uint64_t) &&
            count <= sizeof kscratch / sizeof *kscratch) {
            const uint64_t *k = wire_frame_keys(msg, i, kscratch);
            for (uint64_t j = 0; j < count; j++)
                sum += (float) k[j];
        }
    }
    s_sink = sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_send(data, size);
    struct wire_counters c = {0, 0};
    wire_msg_t msg;
    int rc = wire_recv(s_router, 1, &msg, &c, 0);
    if (rc == 0) {
        s_use(&msg);
        wire_msg_release(&msg);
    } else if (rc != PSC_EPROTO) {
        fprintf(stderr, "fuzz: wire_recv: %s\n", psc_strerror(rc));
        abort();
    }
    /* Whatever wire_recv() left of the message must not reach the next. */
    zmq_msg_t rest;
    zmq_msg_init(&rest);
    while (zmq_msg_recv(&rest, s_router, ZMQ_DONTWAIT) >= 0) {
        fprintf(stderr, "fuzz: wire_recv left a part of the message\n");
        abort();
    }
    zmq_msg_close(&rest);
    return 0;
}
