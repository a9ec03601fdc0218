/*
 * Bare ZeroMQ for psc-bench's reference figures: echo servers (psc-bench
 * itself, started as `psc-bench --raw-echo ENDPOINT`) with a ROUTER that
 * answers each request with one frame of the size the request asks for,
 * moving the received frame back when the sizes match. The same sizes,
 * socket options and I/O threads as the psc run they are compared with.
 */
#ifndef BENCH_RAW_H
#define BENCH_RAW_H

#include <stddef.h>

#define BENCH_RAW_MAX 8

typedef struct bench_raw bench_raw_t;

/*
 * Starts n echo servers (self_exe --raw-echo) on transport "tcp" (127.0.0.1)
 * or "ipc". Returns NULL with a line in err. Caller owns;
 * bench_raw_destroy() stops them.
 */
bench_raw_t *bench_raw_new(const char *self_exe, int n, const char *transport,
                           int io_threads, long sockbuf, char *err);
void bench_raw_destroy(bench_raw_t **p);

/* Endpoint of server i (borrowed). */
const char *bench_raw_endpoint(const bench_raw_t *r, int i);
int bench_raw_count(const bench_raw_t *r);

/* The echo server's main: serves until killed. Returns an exit status. */
int bench_raw_serve(const char *endpoint, int io_threads, long sockbuf);

#endif
