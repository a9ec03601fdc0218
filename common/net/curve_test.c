/*
 * Unit test for CURVE keys and the gate, over TCP on 127.0.0.1: keys
 * written by curve_keys_write() load back and refuse what is wrong with
 * them (a folder of keys is never replaced by accident, a list with a key
 * twice, a secret key from another run); a client with a listed key is let
 * in and its messages carry its task as User-Id, which wire_recv() holds
 * the header to; a stranger's key and a peer without CURVE are refused at
 * the handshake and counted.
 */
#include "curve.h"

#include "gate.h"
#include "net.h"
#include "psc_err.h"
#include "psc_time.h"
#include "wire.h"

#include "test.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

static const char *const s_tasks[] = {"chief:0", "ps:0", "worker:0",
                                      "worker:1"};

static void s_write_text(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void test_files(const char *dir, const char *other)
{
    char err[PSC_ERR_LEN] = "";
    CHECK_OK(curve_keys_write(dir, s_tasks, 4, 0, err));
    CHECK_EQ(curve_keys_write(dir, s_tasks, 4, 0, err), PSC_EINVAL);
    CHECK_CONTAINS(err, "already holds a cluster's keys");
    CHECK_OK(curve_keys_write(other, s_tasks, 4, 0, err));
    struct stat st;
    char path[1024];
    snprintf(path, sizeof path, "%s/worker-1.key", dir);
    CHECK_OK(stat(path, &st));
    CHECK_EQ(st.st_mode & 0777, 0600);

    curve_keys_t *k = curve_keys_load(dir, "worker:1", err);
    CHECK(k != NULL);
    CHECK(curve_keys_lists(k, "ps:0") && !curve_keys_lists(k, "ps:1"));
    const uint8_t *ps_key = curve_keys_public_of(k, "ps:0");
    CHECK(ps_key != NULL);
    CHECK_STR(curve_keys_task_of(k, ps_key), "ps:0");
    CHECK_EQ(curve_keys_add_own(k, "chief:0", err), 0);
    curve_keys_destroy(&k);
    CHECK(k == NULL);

    CHECK(curve_keys_load(dir, "worker:7", err) == NULL);
    CHECK_CONTAINS(err, "task 'worker:7' has no key");
    /* worker:1's secret from the other run: not the listed key. */
    char text[128] = "";
    snprintf(path, sizeof path, "%s/worker-1.key", other);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL && fgets(text, sizeof text, f) != NULL);
    fclose(f);
    s_write_text(dir, "worker-1.key", text);
    CHECK(curve_keys_load(dir, "worker:1", err) == NULL);
    CHECK_CONTAINS(err, "from different psc-keygen runs");
    s_write_text(dir, "worker-1.key", "short\n");
    CHECK(curve_keys_load(dir, "worker:1", err) == NULL);
    CHECK_CONTAINS(err, "is not a 40-character Z85 secret key");
}

static void test_bad_lists(const char *dir)
{
    char err[PSC_ERR_LEN] = "";
    char z85[CURVE_Z85_LEN + 1];
    char sec[CURVE_Z85_LEN + 1];
    CHECK_OK(zmq_curve_keypair(z85, sec));
    char text[256];
    snprintf(text, sizeof text, "ps:0 %s\nworker:0 %s\n", z85, z85);
    s_write_text(dir, CURVE_LIST, text);
    CHECK(curve_keys_load(dir, NULL, err) == NULL);
    CHECK_CONTAINS(err, "line 2 lists task 'worker:0' or its key twice");
    s_write_text(dir, CURVE_LIST, "# comment\n\nps:0 not-a-key\n");
    CHECK(curve_keys_load(dir, NULL, err) == NULL);
    CHECK_CONTAINS(err, "line 3 is not 'TASK PUBLIC_KEY'");
    snprintf(text, sizeof text, "Worker 0 %s\n", z85);
    s_write_text(dir, CURVE_LIST, text);
    CHECK(curve_keys_load(dir, NULL, err) == NULL);
    s_write_text(dir, CURVE_LIST, "# nothing\n");
    CHECK(curve_keys_load(dir, NULL, err) == NULL);
    CHECK_CONTAINS(err, "lists no task");
}

static void *s_dealer(void *ctx, const char *ep, const char *id)
{
    void *s = net_socket(ctx, ZMQ_DEALER, id);
    CHECK(s != NULL);
    CHECK_OK(zmq_connect(s, ep));
    return s;
}

static void s_send(void *sock, const char *task)
{
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__PULL, task);
    CHECK_OK(wire_send(sock, NULL, 0, &h, NULL, 0));
}

/* Waits (up to 10 s) until the gate has refused want handshakes. */
static void s_wait_refused(const gate_t *g, uint64_t want)
{
    double deadline = psc_now() + 10;
    while (gate_refused(g) < want) {
        CHECK(psc_now() < deadline);
        poll(NULL, 0, 5);
    }
}

static void test_gate(void *ctx, const char *dir)
{
    char err[PSC_ERR_LEN] = "";
    curve_keys_t *server_keys = curve_keys_load(dir, "ps:0", err);
    curve_keys_t *w0 = curve_keys_load(dir, "worker:0", err);
    CHECK(server_keys != NULL && w0 != NULL);
    gate_t *g = gate_new(ctx, server_keys, err);
    CHECK(g != NULL);
    CHECK(gate_new(ctx, server_keys, err) == NULL); /* one per context */
    void *router = net_socket(ctx, ZMQ_ROUTER, NULL);
    CHECK_OK(curve_secure_server(router, server_keys, err));
    CHECK_OK(gate_watch(g, router, err));
    CHECK_OK(zmq_bind(router, "tcp://127.0.0.1:*"));
    char ep[64];
    size_t eplen = sizeof ep;
    CHECK_OK(zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, ep, &eplen));

    /* Listed: heard, as its task; the header may not name another. */
    void *worker = net_socket(ctx, ZMQ_DEALER, "worker:0");
    CHECK_OK(curve_secure_client(worker, w0, NULL, "ps:0", err));
    CHECK_EQ(curve_secure_client(worker, w0, NULL, "ps:9", err), PSC_ENOTFOUND);
    CHECK_OK(zmq_connect(worker, ep));
    s_send(worker, "worker:0");
    wire_msg_t msg;
    struct wire_counters c = {0, 0};
    CHECK_OK(wire_recv(router, 1, &msg, &c, 0));
    CHECK_STR(msg.user, "worker:0");
    wire_msg_release(&msg);
    CHECK_EQ(gate_admitted(g), 1);

    /* worker:0's key under worker:1's name: dropped, as misattributed. */
    void *posing = net_socket(ctx, ZMQ_DEALER, "worker:1");
    CHECK_OK(curve_secure_client(posing, w0, NULL, "ps:0", err));
    CHECK_OK(zmq_connect(posing, ep));
    s_send(posing, "worker:1");
    CHECK_EQ(wire_recv(router, 1, &msg, &c, 0), PSC_EPROTO);
    CHECK_EQ(c.rejected, 1);

    /* A key on no list, and no CURVE at all: refused, counted. */
    void *stranger = net_socket(ctx, ZMQ_DEALER, "worker:1");
    char pub[CURVE_Z85_LEN + 1];
    char sec[CURVE_Z85_LEN + 1];
    CHECK_OK(zmq_curve_keypair(pub, sec));
    zmq_setsockopt(stranger, ZMQ_CURVE_SERVERKEY,
                   curve_keys_public_of(w0, "ps:0"), CURVE_KEY_LEN);
    zmq_setsockopt(stranger, ZMQ_CURVE_PUBLICKEY, pub, sizeof pub);
    zmq_setsockopt(stranger, ZMQ_CURVE_SECRETKEY, sec, sizeof sec);
    CHECK_OK(zmq_connect(stranger, ep));
    s_send(stranger, "worker:1");
    s_wait_refused(g, 1);
    void *plain = s_dealer(ctx, ep, "worker:1");
    s_send(plain, "worker:1");
    s_wait_refused(g, 2);
    /* Neither got a message in; the listed worker still is heard. */
    s_send(worker, "worker:0");
    CHECK_OK(wire_recv(router, 1, &msg, &c, 0));
    CHECK_STR(msg.hdr->task, "worker:0");
    wire_msg_release(&msg);
    char rest[8];
    CHECK_EQ(zmq_recv(router, rest, sizeof rest, ZMQ_DONTWAIT), -1);

    zmq_close(plain);
    zmq_close(stranger);
    zmq_close(posing);
    zmq_close(worker);
    zmq_close(router);
    gate_destroy(&g);
    CHECK(g == NULL);
    curve_keys_destroy(&w0);
    curve_keys_destroy(&server_keys);
}

int main(void)
{
    char dir[] = "/tmp/psc-curve-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char keys[600];
    char other[600];
    snprintf(keys, sizeof keys, "%s/keys", dir);
    snprintf(other, sizeof other, "%s/other", dir);
    test_files(keys, other);
    test_bad_lists(other);
    char err[PSC_ERR_LEN] = "";
    CHECK_OK(curve_keys_write(keys, s_tasks, 4, 1, err)); /* --force */
    void *ctx = zmq_ctx_new();
    test_gate(ctx, keys);
    zmq_ctx_term(ctx);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_OK(system(cmd));
    printf("curve: ok\n");
    return 0;
}
