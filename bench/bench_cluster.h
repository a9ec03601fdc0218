/*
 * A cluster of real psc-ps processes on 127.0.0.1 for psc-bench: the rig
 * (rig.h) starts them and plays the chief (registration, heartbeats,
 * STOP), on a thread of its own once they registered; this module sends
 * INIT from the seed, hands client threads what they need to act as
 * worker:N, and reads the ps's memory from /proc.
 */
#ifndef BENCH_CLUSTER_H
#define BENCH_CLUSTER_H

#include "boot.h"
#include "ckpt.h"
#include "placement.h"

#include <stdint.h>

#define BENCH_MAX_PS      8
#define BENCH_MAX_WORKERS 8
#define BENCH_MAX_SETS    32

typedef struct bench_cluster bench_cluster_t;

/*
 * Starts nps psc-ps (ps_path) for a cluster of nworkers workers, with the
 * job options sets ("key=value", copied), waits until every ps registered
 * and initialised its variables from the seed. Returns NULL with a line in
 * err. Caller owns; bench_cluster_destroy() stops the ps.
 */
bench_cluster_t *bench_cluster_new(const char *ps_path, int nps, int nworkers,
                                   const char *const *sets, int nsets,
                                   char *err);

/* bench_cluster_new() with the ps restored from the checkpoint folder
 * restore instead (NULL: from the seed). */
bench_cluster_t *bench_cluster_new_from(const char *ps_path, int nps,
                                        int nworkers, const char *const *sets,
                                        int nsets, const char *restore,
                                        char *err);
void bench_cluster_destroy(bench_cluster_t **p);

/* Seconds the ps took to initialise (from the seed or a checkpoint). */
double bench_cluster_init_s(const bench_cluster_t *c);

/*
 * Has every ps write its shard into the checkpoint folder dir now (the
 * rig's SAVE); what each wrote goes to files[0..nps-1]. Returns 0 or a
 * PSC_E* with one line in err.
 */
int bench_cluster_save(bench_cluster_t *c, const char *dir,
                       struct ckpt_file *files, char *err);

/*
 * Sends STOP and waits for every ps to say goodbye and exit (killing any
 * still there after 10 s). Returns how many did not end with BYE and
 * status 0, and logs why for the first; a sanitizer's report in a ps shows
 * here. bench_cluster_destroy() does it when not done yet; a second call
 * returns the same count.
 */
int bench_cluster_stop(bench_cluster_t *c);

/* The job and the dense placement every ps runs (borrowed). */
const struct job *bench_cluster_job(const bench_cluster_t *c);
const placement_t *bench_cluster_placement(const bench_cluster_t *c);
int bench_cluster_nps(const bench_cluster_t *c);

/*
 * Fills b so that a client thread can act as worker:index with psclient
 * (job borrowed from the cluster, zctx from the caller). Release with
 * bench_cluster_boot_release(). Returns 0 or PSC_ECONFIG.
 */
int bench_cluster_boot(const bench_cluster_t *c, int index, void *zctx,
                       struct boot *b, char *err);
void bench_cluster_boot_release(struct boot *b);

/*
 * Resident and peak memory of ps i in KiB (/proc/PID/status), or -1 (also
 * once the ps exited).
 */
long bench_cluster_rss_kb(const bench_cluster_t *c, int ps, long *peak_kb);

/* Writes "tcp://127.0.0.1:PORT" of ps i into buf. */
void bench_cluster_endpoint(const bench_cluster_t *c, int ps, char *buf,
                            size_t len);

/* Messages ps i refused or dropped, from its last PS_STATS. */
uint64_t bench_cluster_rejected(bench_cluster_t *c, int ps);

/* Rows of ps i's sparse table, and its bytes in *bytes, from its last
 * PS_STATS (0 before the first). */
uint64_t bench_cluster_sparse_rows(bench_cluster_t *c, int ps, uint64_t *bytes);

#endif
