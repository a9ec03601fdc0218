/*
 * psc-test-forge PORT ROUTING_ID TYPE TASK [KEY=VALUE ...]: what an
 * attacker on 127.0.0.1 sends. Connects a DEALER with routing id
 * ROUTING_ID to tcp://127.0.0.1:PORT and sends one psc message of TYPE
 * (any of psc.proto's, e.g. REGISTER, REPORT, BYE, STOP, INIT, PUSH, PULL)
 * whose header names TASK.
 * Keys: step=N, min_version=N (max for 2^64-1), text=S, floats=N (one
 * payload frame of N floats), value=V (their value; nan and inf too),
 * reply_ms=MS (wait that long for an answer and print it as "TYPE text",
 * or "no reply"). Without reply_ms prints "sent" once the message has left.
 * count=N sends the message N times (request ids 1..N), a flood;
 * linger_ms=MS bounds how long it waits for them to leave (2000).
 * CURVE: keys=DIR (a psc-keygen folder) and server=TASK (the task whose
 * port it is) make the DEALER a CURVE client of that server, acting with
 * as=TASK's secret key from DIR, or with a fresh key on no list
 * (stranger=1).
 * Exits 0 when the message was sent, 2 for bad arguments, 1 otherwise.
 */
#include "curve.h"
#include "psc_err.h"
#include "psc_num.h"
#include "wire.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define MAX_FLOATS (1 << 20)

struct forgery {
    int port;
    const char *routing_id;
    Psc__MsgType type;
    const char *task;
    uint64_t step;
    uint64_t min_version;
    const char *text;
    long floats;
    float value;
    int reply_ms;
    long count;
    int linger_ms;
    const char *keys_dir;
    const char *server;
    const char *as;
    int stranger;
};

static int s_usage(const char *why)
{
    fprintf(stderr,
            "psc-test-forge: %s\nusage: psc-test-forge PORT ROUTING_ID "
            "TYPE TASK [step=N] [min_version=N|max] [text=S] [floats=N] "
            "[value=V] [reply_ms=MS] [count=N] [linger_ms=MS] [keys=DIR "
            "server=TASK "
            "as=TASK|stranger=1]\n",
            why);
    return 2;
}

/* TYPE by its name in psc.proto, through protobuf-c's descriptor. */
static int s_type(const char *name, Psc__MsgType *out)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(
        &psc__msg_type__descriptor, name);
    if (v == NULL)
        return -1;
    *out = (Psc__MsgType) v->value;
    return 0;
}

static int s_u64(const char *text, uint64_t *out)
{
    if (strcmp(text, "max") == 0) {
        *out = UINT64_MAX;
        return 0;
    }
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || !(v >= 0) || v > 1.8e19)
        return -1;
    *out = (uint64_t) v;
    return 0;
}

/* One KEY=VALUE argument into f; returns 0 or -1. */
static int s_option(struct forgery *f, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (eq == NULL)
        return -1;
    size_t klen = (size_t) (eq - arg);
    const char *v = eq + 1;
    if (klen == 4 && strncmp(arg, "step", 4) == 0)
        return s_u64(v, &f->step);
    if (klen == 11 && strncmp(arg, "min_version", 11) == 0)
        return s_u64(v, &f->min_version);
    if (klen == 4 && strncmp(arg, "text", 4) == 0) {
        f->text = v;
        return 0;
    }
    if (klen == 6 && strncmp(arg, "floats", 6) == 0)
        return psc_num_long(v, 1, MAX_FLOATS, &f->floats);
    if (klen == 5 && strncmp(arg, "value", 5) == 0) {
        f->value = strtof(v, NULL);
        return 0;
    }
    if (klen == 8 && strncmp(arg, "reply_ms", 8) == 0)
        return psc_num_int(v, 1, 600000, &f->reply_ms);
    if (klen == 5 && strncmp(arg, "count", 5) == 0)
        return psc_num_long(v, 1, 1000000, &f->count);
    if (klen == 9 && strncmp(arg, "linger_ms", 9) == 0)
        return psc_num_int(v, 0, 600000, &f->linger_ms);
    if (klen == 4 && strncmp(arg, "keys", 4) == 0)
        f->keys_dir = v;
    else if (klen == 6 && strncmp(arg, "server", 6) == 0)
        f->server = v;
    else if (klen == 2 && strncmp(arg, "as", 2) == 0)
        f->as = v;
    else if (klen == 8 && strncmp(arg, "stranger", 8) == 0)
        f->stranger = 1;
    else
        return -1;
    return 0;
}

/* Prints the answer on sock within f->reply_ms, or "no reply". */
static void s_print_reply(void *sock, const struct forgery *f)
{
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, f->reply_ms) != 1) {
        printf("no reply\n");
        return;
    }
    struct wire_counters c = {0, 0};
    wire_msg_t msg;
    if (wire_recv(sock, 0, &msg, &c, 0) != 0) {
        printf("a reply that is not a psc message\n");
        return;
    }
    printf("%s %s\n", wire_type_name(msg.hdr->type),
           msg.hdr->text != NULL ? msg.hdr->text : "");
    wire_msg_release(&msg);
}

/* A stranger: the server's real public key, and a key pair of its own. */
static int s_stranger(void *sock, const curve_keys_t *k, const char *server)
{
    const uint8_t *server_key = curve_keys_public_of(k, server);
    char pub[CURVE_Z85_LEN + 1];
    char sec[CURVE_Z85_LEN + 1];
    if (server_key == NULL || zmq_curve_keypair(pub, sec) != 0)
        return -1;
    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_key, CURVE_KEY_LEN);
    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, CURVE_Z85_LEN + 1);
    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, CURVE_Z85_LEN + 1);
    return 0;
}

/* keys=, server=, as= and stranger=: the socket's CURVE set-up, if any. */
static int s_curve(void *sock, const struct forgery *f)
{
    char err[PSC_ERR_LEN] = "";
    if (f->keys_dir == NULL)
        return 0;
    curve_keys_t *k = curve_keys_load(f->keys_dir, f->as, err);
    int rc = k == NULL || f->server == NULL ? -1 : 0;
    if (rc == 0 && f->stranger)
        rc = s_stranger(sock, k, f->server);
    else if (rc == 0)
        rc = curve_secure_client(sock, k, f->as, f->server, err);
    if (rc != 0)
        fprintf(stderr, "psc-test-forge: CURVE set-up failed: %s\n",
                err[0] != '\0' ? err : "give keys=, server= and as=");
    curve_keys_destroy(&k);
    return rc;
}

static int s_forge(const struct forgery *f)
{
    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int linger = f->linger_ms;
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", f->port);
    /* A flood to a peer that refused the handshake queues, never blocks. */
    int hwm = 0;
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sock, ZMQ_ROUTING_ID, f->routing_id, strlen(f->routing_id));
    int set_up = s_curve(sock, f);
    if (set_up == 0 && zmq_connect(sock, ep) != 0) {
        fprintf(stderr, "psc-test-forge: %s: %s\n", ep,
                zmq_strerror(zmq_errno()));
        set_up = -1;
    }
    if (set_up != 0) {
        zmq_close(sock);
        zmq_ctx_term(ctx);
        return 1;
    }
    Psc__Header h;
    Psc__Report r = PSC__REPORT__INIT;
    wire_header_init(&h, f->type, f->task);
    h.step = f->step;
    h.min_version = f->min_version;
    h.text = (char *) f->text;
    h.request_id = 1;
    h.flags = f->type == PSC__MSG_TYPE__PUSH ? WIRE_WANT_PARAMS : 0;
    if (f->type == PSC__MSG_TYPE__REPORT) {
        r.examples = f->step * 128;
        r.loss = 0.01;
        h.report = &r;
    }
    float *values = NULL;
    struct wire_frame frame = {NULL, 0, 0, NULL};
    if (f->floats > 0) {
        values = malloc((size_t) f->floats * sizeof *values);
        for (long i = 0; values != NULL && i < f->floats; i++)
            values[i] = f->value;
        frame = (struct wire_frame){values, (size_t) f->floats * sizeof *values,
                                    (uint64_t) f->floats, NULL};
    }
    int rc = 0;
    for (long i = 0; i < (f->count > 0 ? f->count : 1) && rc == 0; i++) {
        h.request_id = (uint64_t) i + 1;
        rc = wire_send(sock, NULL, 0, &h, &frame, f->floats > 0 ? 1 : 0);
    }
    if (rc != 0)
        fprintf(stderr, "psc-test-forge: cannot send to %s\n", ep);
    else if (f->reply_ms > 0)
        s_print_reply(sock, f);
    zmq_close(sock);
    zmq_ctx_term(ctx); /* returns once the message has left, or linger */
    if (rc == 0 && f->reply_ms == 0)
        printf("sent\n");
    free(values);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct forgery f = {0};
    f.linger_ms = 2000;
    if (argc < 5)
        return s_usage("too few arguments");
    if (psc_num_int(argv[1], 1, 65535, &f.port) != 0)
        return s_usage("PORT is a number from 1 to 65535");
    f.routing_id = argv[2];
    if (f.routing_id[0] == '\0' || strlen(f.routing_id) > 255)
        return s_usage("ROUTING_ID is 1 to 255 bytes");
    if (s_type(argv[3], &f.type) != 0)
        return s_usage("unknown TYPE");
    f.task = argv[4];
    for (int i = 5; i < argc; i++) {
        if (s_option(&f, argv[i]) != 0)
            return s_usage("a KEY=VALUE argument is not one of the keys");
    }
    return s_forge(&f);
}
