/*
 * A fake chief for real psc-ps processes on 127.0.0.1, shared by psc-bench
 * and the ps's tests: starts the ps with a generated TF_CONFIG and the
 * job's --set options, answers their REGISTER (refusing another job),
 * heartbeats, PS_STATS and BYE on a ROUTER socket, and stops them with
 * STOP. Every wait is on an event (the socket, or a pidfd for each ps's
 * exit); the deadlines only bound a hang. The values sent to the ps (INIT)
 * and the workers' traffic stay with the caller.
 *
 * A rig is used by one thread at a time; it may move to another thread
 * when a thread start or join orders the move, as ZeroMQ sockets may.
 */
#ifndef RIG_H
#define RIG_H

#include "ckpt.h"
#include "curve.h"
#include "job.h"
#include "psc.pb-c.h"
#include "tfc.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RIG_MAX_PS      8
#define RIG_MAX_WORKERS 8
#define RIG_MAX_SETS    32

typedef struct rig rig_t;

/* Called with each PS_STATS of ps number ps; stats borrowed for the call. */
typedef void rig_on_stats_fn(void *arg, int ps, const Psc__PsStats *stats);

struct rig_spec {
    const char *ps_path;       /* the psc-ps binary */
    int nps;                   /* 1..RIG_MAX_PS */
    int nworkers;              /* 1..RIG_MAX_WORKERS, in TF_CONFIG only */
    const char *const *sets;   /* the job's "key=value" options, copied */
    int nsets;                 /* 0..RIG_MAX_SETS */
    int quiet;                 /* start the ps with --quiet */
    double startup_s;          /* bound on registration; 0: startup_timeout_s */
    rig_on_stats_fn *on_stats; /* may be NULL */
    void *arg;                 /* for on_stats */
};

/*
 * Picks every task's port (psc_port_pick), binds the chief's ROUTER in
 * zctx, starts spec->nps psc-ps, each tied to this thread's life
 * (psc_spawn_tied), and waits until every one registered with this job.
 * Returns NULL with one line in err (may be NULL) when the spec is out of
 * range, the job options do not parse, no port can be picked or bound, or
 * a ps exits, runs another job or does not register in time. Caller owns;
 * free with rig_destroy().
 */
rig_t *rig_new(const struct rig_spec *spec, void *zctx, char *err);

/* Kills any ps still running, frees *p and sets it to NULL; accepts NULL. */
void rig_destroy(rig_t **p);

/*
 * Waits up to ms (-1: no bound) for sock (NULL: none) to become readable,
 * answering the ps meanwhile. Returns 1 when sock is readable or, with
 * sock NULL, as soon as a ps sent the chief something or exited; 0 when
 * ms passed.
 * Returns, with one line in err, PSC_EPROTO for a malformed or unexpected
 * message, PSC_ECONFIG for a ps that registered with another job,
 * PSC_EPEERGONE for a ps that exited or said goodbye before rig_stop(),
 * PSC_ENET when polling failed. Each is reported once; the rig goes on.
 */
int rig_poll(rig_t *r, void *sock, int ms, char *err);

/*
 * Orders every ps to write its shard into the checkpoint folder dir as it
 * is now, and answers the ps until each said it has (SAVED), for up to
 * timeout_s. Returns 0 with what each wrote in files[0..nps-1], or a
 * PSC_E* with one line in err. The manifest is the caller's to write.
 */
int rig_save(rig_t *r, const char *dir, double timeout_s,
             struct ckpt_file *files, char *err);

/*
 * Sends STOP to every ps and answers them until each said BYE and exited,
 * killing any still running after timeout_s. Returns how many ps did not
 * end well: said BYE "done", exited with status 0 and sent nothing wrong
 * since it started; err gets a line about the first. A second call only
 * counts again.
 */
int rig_stop(rig_t *r, double timeout_s, char *err);

/*
 * Returns the TF_CONFIG of task role:index of this cluster (one chief,
 * the ps, the workers), or NULL with a line in err. Caller owns; free with
 * free().
 */
char *rig_tf_config(const rig_t *r, enum tfc_role role, int index, char *err);

/*
 * The job every ps runs, immutable as every parsed job is (job.h); not
 * const only because struct boot holds it so. Borrowed; valid until
 * rig_destroy().
 */
struct job *rig_job(const rig_t *r);

/*
 * With security.curve, the keys the rig acts with: the chief's, the
 * workers' (for clients acting as worker:N), the cluster's list; else
 * NULL. Borrowed; valid until rig_destroy().
 */
curve_keys_t *rig_keys(const rig_t *r);

/* Writes "tcp://127.0.0.1:PORT" of ps number ps into buf of len bytes. */
void rig_endpoint(const rig_t *r, int ps, char *buf, size_t len);

/* The pid of ps number ps, or 0 once it exited. */
pid_t rig_pid(const rig_t *r, int ps);

#endif
