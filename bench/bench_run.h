/*
 * psc-bench's measurements: client threads that repeat one kind of
 * request for a fixed time, several times over, against psc-ps through
 * psclient (the transport under test) or against the raw echo servers
 * with the same message sizes. Round trips per second come back as the
 * median, minimum and maximum over the repeats.
 */
#ifndef BENCH_RUN_H
#define BENCH_RUN_H

#include "bench_cluster.h"
#include "bench_raw.h"

#include <stddef.h>
#include <stdint.h>

enum bench_op {
    BENCH_PUSHPULL, /* gradient out, values back: one round trip */
    BENCH_PUSH,     /* gradient out, acknowledgement back */
    BENCH_PULL,     /* small request out, values back */
    BENCH_SPARSE,   /* keys and rows out, updated rows back */
};

/* What the client threads do. */
struct bench_load {
    enum bench_op op;
    int clients;
    size_t keys;    /* sparse: keys per request */
    double zipf;    /* sparse: 0 uniform, else the Zipf exponent */
    int repeats;    /* timed runs; the figures are over these */
    double seconds; /* per timed run */
    int warmup;     /* untimed requests per client first */
    int raw_whole;  /* raw sends one message per server where psc sends
                       pieces (the same bytes, fewer messages) */
};

/* Round trips per second (all clients together) over the repeats. */
struct bench_stat {
    double med;
    double min;
    double max;
    double bytes_out; /* payload bytes per round trip, as sent */
    double bytes_back;
};

/*
 * Sparse key sets: nsets sets of keys each, made once per measurement so
 * the psc run and the raw run see the same requests. Caller owns; free().
 */
uint64_t *bench_run_keysets(size_t keys, int nsets, uint64_t rows, double zipf);

#define BENCH_KEYSETS 8

/*
 * Measures psc: ld->clients threads as worker:0.. against the cluster,
 * sparse requests drawn from keysets (BENCH_KEYSETS x ld->keys). Returns 0
 * or a PSC_E* code with a line in err.
 */
int bench_run_psc(bench_cluster_t *cl, const struct bench_load *ld,
                  const uint64_t *keysets, struct bench_stat *st, char *err);

/*
 * Measures bare ZeroMQ with the messages the same psc run sends: to server
 * s the payload frames shard s gets (dense: the placement's slices, in the
 * job's wire dtype; sparse: keys and rows of each key set), and back the
 * payload shard s answers with. io_threads is the clients' context's.
 */
int bench_run_raw(const bench_raw_t *raw, const bench_cluster_t *cl,
                  const struct bench_load *ld, const uint64_t *keysets,
                  struct bench_stat *st, char *err);

#endif
