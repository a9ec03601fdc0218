/*
 * Unit test for wire's receiving side: headers unpack into the message's
 * own arena when small and fall back to malloc when not (a long text),
 * the same message is reused for many receives, and each release frees
 * exactly what was allocated (the ASan build proves it). A view of a
 * buffer sends part of it in place and keeps it alive until sent. Draining
 * a ROUTER stops at its limit and goes past malformed messages, and a
 * ROUTER hears a task only on the task's own connection.
 */
#include "wire.h"

#include "net.h"

#include "test.h"

#include <string.h>
#include <zmq.h>

static void s_send_text(void *sock, const char *text, uint64_t step)
{
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__PARAMS, "worker:0");
    h.text = (char *) text;
    h.step = step;
    float values[3] = {1, 2, 3};
    struct wire_frame f = {values, sizeof values, 3, NULL};
    CHECK_OK(wire_send(sock, NULL, 0, &h, &f, 1));
}

static void s_expect(void *sock, wire_msg_t *msg, const char *text,
                     uint64_t step)
{
    struct wire_counters c = {0, 0};
    CHECK_OK(wire_recv(sock, 0, msg, &c, 0));
    CHECK_STR(msg->hdr->text, text);
    CHECK_STR(msg->hdr->task, "worker:0");
    CHECK_EQ(msg->hdr->step, step);
    CHECK_EQ(msg->nframes, 1);
    CHECK_EQ(wire_frame_count(msg, 0), 3);
    CHECK(((const float *) wire_frame_data(msg, 0))[2] == 3.0f);
    CHECK_EQ(c.rejected, 0);
}

/* A view sent and read after its buffer's owner let go of both. */
static void test_view(void *a, void *b)
{
    wire_buf_t *buf = wire_buf_new(8 * sizeof(float));
    float *v = wire_buf_data(buf);
    for (int i = 0; i < 8; i++)
        v[i] = (float) i;
    wire_buf_t *view = wire_buf_view(buf, 4 * sizeof(float), 3 * sizeof(float));
    CHECK(wire_buf_data(view) == v + 4 && wire_buf_size(view) == 12);
    CHECK(wire_buf_busy(buf) && wire_buf_holders(buf) == 1);
    CHECK(!wire_buf_busy(view));
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__PARAMS, "worker:0");
    struct wire_frame f = {wire_buf_data(view), 12, 3, view};
    CHECK_OK(wire_send(a, NULL, 0, &h, &f, 1));
    CHECK(wire_buf_busy(view));
    wire_buf_release(&view);
    wire_buf_release(&buf); /* the unread send holds both */
    wire_msg_t msg;
    memset(&msg, 0, sizeof msg);
    struct wire_counters c = {0, 0};
    CHECK_OK(wire_recv(b, 0, &msg, &c, 0));
    CHECK(((const float *) wire_frame_data(&msg, 0))[2] == 6.0f);
    wire_msg_release(&msg); /* frees the view, then the buffer */
}

/* What wire_drain() handed over, in order. */
struct seen {
    int n;
    uint64_t steps[16];
};

static void s_on_msg(void *arg, const wire_msg_t *msg)
{
    struct seen *seen = arg;
    CHECK(seen->n < 16);
    CHECK(msg->peer_len == strlen("worker:0")); /* from a ROUTER */
    seen->steps[seen->n++] = msg->hdr->step;
}

/* Draining a ROUTER: at most max a call, past a malformed message, in
 * order, and nothing once the queue is empty. */
static void test_drain(void *ctx)
{
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    CHECK_OK(zmq_setsockopt(dealer, ZMQ_ROUTING_ID, "worker:0", 8));
    CHECK_OK(zmq_bind(router, "inproc://wire-drain"));
    CHECK_OK(zmq_connect(dealer, "inproc://wire-drain"));
    for (uint64_t i = 0; i < 3; i++)
        s_send_text(dealer, "short", i);
    CHECK_EQ(zmq_send(dealer, "garbage", 7, 0), 7);
    for (uint64_t i = 3; i < 6; i++)
        s_send_text(dealer, "short", i);
    zmq_pollitem_t item = {router, 0, ZMQ_POLLIN, 0};
    CHECK_EQ(zmq_poll(&item, 1, 5000), 1);
    struct wire_counters c = {0, 0};
    struct seen seen = {0, {0}};
    CHECK_EQ(wire_drain(router, 1, 2, &c, s_on_msg, &seen), 2);
    CHECK_EQ(wire_drain(router, 1, 100, &c, s_on_msg, &seen), 4);
    CHECK_EQ(c.rejected, 1);
    CHECK_EQ(wire_drain(router, 1, 100, &c, s_on_msg, &seen), 0);
    CHECK_EQ(seen.n, 6);
    for (int i = 0; i < 6; i++)
        CHECK_EQ(seen.steps[i], i);
    zmq_close(dealer);
    zmq_close(router);
}

/* A DEALER on endpoint with routing id id (NULL: ZeroMQ picks one). */
static void *s_dealer(void *ctx, const char *endpoint, const char *id)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    CHECK(s != NULL);
    int linger = 0;
    CHECK_OK(zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger));
    if (id != NULL)
        CHECK_OK(zmq_setsockopt(s, ZMQ_ROUTING_ID, id, strlen(id)));
    CHECK_OK(zmq_connect(s, endpoint));
    return s;
}

/*
 * A ROUTER takes a message as its task's only from the task's connection:
 * a header naming another task, or a connection without a task's routing
 * id, is dropped and counted; a second connection taking a live task's
 * routing id is not heard at all, and the task is heard still. Over TCP,
 * as the roles connect (inproc binds routing ids differently).
 */
static void test_bound_to_connection(void *ctx)
{
    void *router = net_socket(ctx, ZMQ_ROUTER, NULL);
    CHECK_OK(zmq_bind(router, "tcp://127.0.0.1:*"));
    char ep[64];
    size_t eplen = sizeof ep;
    CHECK_OK(zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, ep, &eplen));
    void *task = s_dealer(ctx, ep, "worker:0");
    void *other = s_dealer(ctx, ep, "worker:1");
    void *anonymous = s_dealer(ctx, ep, NULL);
    struct wire_counters c = {0, 0};
    struct seen seen = {0, {0}};
    zmq_pollitem_t item = {router, 0, ZMQ_POLLIN, 0};

    s_send_text(task, "short", 0);
    CHECK_EQ(zmq_poll(&item, 1, 5000), 1);
    CHECK_EQ(wire_drain(router, 1, 10, &c, s_on_msg, &seen), 1);
    s_send_text(other, "short", 1);     /* names worker:0 */
    s_send_text(anonymous, "short", 2); /* so does this one */
    s_send_text(task, "short", 3);
    /* Each connection's messages arrive in order; wait for all three. */
    for (int got = 0; seen.n < 2 || c.rejected < 2; got++) {
        CHECK(got < 100);
        CHECK_EQ(zmq_poll(&item, 1, 5000), 1);
        wire_drain(router, 1, 10, &c, s_on_msg, &seen);
    }
    CHECK_EQ(seen.n, 2);
    CHECK_EQ(seen.steps[1], 3);
    CHECK_EQ(c.rejected, 2);

    /* worker:0's id taken by a second connection: only the first is heard. */
    void *intruder = s_dealer(ctx, ep, "worker:0");
    s_send_text(intruder, "short", 4);
    s_send_text(task, "short", 5);
    CHECK_EQ(zmq_poll(&item, 1, 5000), 1);
    CHECK_EQ(wire_drain(router, 1, 10, &c, s_on_msg, &seen), 1);
    CHECK_EQ(seen.steps[2], 5);
    /* Once the first connection is gone, a new one of the task is heard. */
    zmq_close(task);
    zmq_close(intruder);
    void *restarted = NULL;
    for (int tries = 0; seen.n < 4; tries++) {
        CHECK(tries < 100);
        if (restarted != NULL)
            zmq_close(restarted);
        restarted = s_dealer(ctx, ep, "worker:0");
        s_send_text(restarted, "short", 6);
        if (zmq_poll(&item, 1, 100) == 1)
            wire_drain(router, 1, 10, &c, s_on_msg, &seen);
    }
    CHECK_EQ(seen.steps[3], 6);
    zmq_close(restarted);
    zmq_close(other);
    zmq_close(anonymous);
    zmq_close(router);
}

int main(void)
{
    void *ctx = zmq_ctx_new();
    void *a = zmq_socket(ctx, ZMQ_PAIR);
    void *b = zmq_socket(ctx, ZMQ_PAIR);
    CHECK_OK(zmq_bind(a, "inproc://wire-test"));
    CHECK_OK(zmq_connect(b, "inproc://wire-test"));
    test_view(a, b);
    test_drain(ctx);
    test_bound_to_connection(ctx);
    static char long_text[3 * WIRE_ARENA_BYTES];
    memset(long_text, 'x', sizeof long_text - 1);
    wire_msg_t msg;
    memset(&msg, 0, sizeof msg);
    for (uint64_t i = 0; i < 200; i++) {
        const char *text = i % 3 == 1 ? long_text : "short";
        s_send_text(a, text, i);
        s_expect(b, &msg, text, i);
        if (i % 3 == 1)
            CHECK(msg.arena_used < WIRE_ARENA_BYTES); /* the text is not */
        else
            CHECK(msg.arena_used > 0); /* the header itself is */
        wire_msg_release(&msg);
        CHECK(msg.hdr == NULL && msg.arena_used == 0);
    }
    wire_msg_release(&msg); /* twice is harmless */
    zmq_close(a);
    zmq_close(b);
    zmq_ctx_term(ctx);
    printf("wire: ok\n");
    return 0;
}
