/*
 * The gate: a ZeroMQ context's ZAP handler (RFC 27), a thread that answers
 * every CURVE handshake on the context's server sockets. A client whose
 * public key is on the cluster's list is let in with its task's name as the
 * connection's User-Id, which wire_recv() holds every message's header to;
 * any other client is refused before it can send a message, counted and
 * logged (the first refusal, then at most one line every 10 s).
 */
#ifndef GATE_H
#define GATE_H

#include "curve.h"

#include <stdint.h>

typedef struct gate gate_t;

/*
 * Binds the context's ZAP endpoint and starts the thread. keys is borrowed
 * and must outlive the gate. Call it before any server socket of zctx
 * binds. Returns NULL with err when the endpoint is taken (a second gate
 * on one context). Caller owns; stop with gate_destroy().
 */
gate_t *gate_new(void *zctx, const curve_keys_t *keys, char *err);

/*
 * Stops the thread and closes its socket; call it after the context's
 * other sockets are closed and before zmq_ctx_term(). Logs how many
 * handshakes were refused, if any. Accepts NULL; sets *p to NULL.
 */
void gate_destroy(gate_t **p);

/*
 * Also counts and logs the handshakes sock fails for want of CURVE (a peer
 * that speaks ZeroMQ without keys, or with the wrong server key), which
 * never reach the ZAP handler. Call it from sock's thread, before the
 * socket binds; the gate watches until sock is closed. Returns 0, or
 * PSC_ENET with err.
 */
int gate_watch(gate_t *g, void *sock, char *err);

/* Handshakes refused so far (safe from any thread). */
uint64_t gate_refused(const gate_t *g);

/* Handshakes let in so far (safe from any thread). */
uint64_t gate_admitted(const gate_t *g);

#endif
