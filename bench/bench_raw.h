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
#include <stdint.h>

#define BENCH_RAW_MAX 8

/*
 * A table for the sparse reference: each server holds rows of width
 * float32 for the keys k with k % servers == its index (row k / servers,
 * as many as a ps's share of a table of `rows`), applies SGD with lr to
 * the rows a request names, and answers with the updated rows, as a ps
 * answers a push: the network's cost plus an array's, without psc's.
 */
struct bench_raw_table {
    uint64_t rows;
    size_t width;
    double lr;
};

typedef struct bench_raw bench_raw_t;

/*
 * Starts n echo servers (self_exe --raw-echo) on transport "tcp" (127.0.0.1)
 * or "ipc". Returns NULL with a line in err. Caller owns;
 * bench_raw_destroy() stops them.
 */
bench_raw_t *bench_raw_new(const char *self_exe, int n, const char *transport,
                           int io_threads, long sockbuf, char *err);

/* bench_raw_new() whose servers update a table (see above). */
bench_raw_t *bench_raw_new_table(const char *self_exe, int n,
                                 const char *transport, int io_threads,
                                 long sockbuf,
                                 const struct bench_raw_table *table,
                                 char *err);
void bench_raw_destroy(bench_raw_t **p);

/* Endpoint of server i (borrowed). */
const char *bench_raw_endpoint(const bench_raw_t *r, int i);
int bench_raw_count(const bench_raw_t *r);

/*
 * The echo server's main: serves until killed. table_arg: NULL, or
 * "ROWS,WIDTH,LR,SERVERS" of a table to update (bench_raw_new_table()
 * passes it). Returns an exit status.
 */
int bench_raw_serve(const char *endpoint, int io_threads, long sockbuf,
                    const char *table_arg);

#endif
