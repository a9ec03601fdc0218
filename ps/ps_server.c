/*
 * ps message loop.
 */
#include "ps_server.h"

#include "ckpt.h"
#include "ctl.h"
#include "f16.h"
#include "jobvars.h"
#include "net.h"
#include "placement.h"
#include "ps_guard.h"
#include "ps_save.h"
#include "ps_shard.h"
#include "ps_sparse.h"
#include "ps_sparse_sync.h"
#include "ps_trace.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "psc_num.h"
#include "psc_sig.h"
#include "psc_time.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A reply waiting for its condition. */
struct pending {
    uint8_t peer[WIRE_MAX_PEER];
    size_t peer_len;
    uint64_t request_id;
    uint64_t min_version;
    int worker;
    uint32_t flags; /* the reply's: WIRE_DROPPED for a dropped push */
};

/* A push arriving in pieces from one peer: where the next must start. */
struct piecewise {
    uint8_t peer[WIRE_MAX_PEER];
    size_t peer_len;
    uint64_t request_id;
    uint64_t next;
    struct ps_piecewise pw;
};

/* Reply buffers for pieces and sparse rows: each send holds one until it
 * has gone, and one no send holds is reused. */
#define PIECE_BUFS 16

/* How often the loop looks at a checkpoint being written (ms). */
#define SAVE_POLL_MS 10

/*
 * Parked replies, at most: per peer (a worker parks one at a time, so this
 * leaves room to spare) and in all (a flood from many connections). With
 * sizeof(struct pending) under 300 bytes, the parked replies take at most
 * 1.2 MB whatever arrives; the oldest is refused to make room.
 */
/*
 * The shard's arrays are searched for non-finite numbers once per this
 * many bytes of them per statistics interval: a full read of a large shard
 * would cost more than the statistics, so larger ones are read less often.
 */
#define STATE_CHECK_BYTES ((size_t) 16 << 20)

#define PARK_PER_PEER 8
#define PARK_TOTAL    4096

typedef struct self {
    struct boot *b;
    char task[64];
    int index;
    int nworkers;
    void *router;
    ctl_t *ctl;
    placement_t *placement;
    ps_shard_t *shard;
    ps_sparse_t *sparse;           /* NULL when the job has no sparse table */
    ps_sparse_sync_t *sparse_sync; /* sync mode's step of the table */
    ps_guard_t *guard;
    ps_trace_t *trace;      /* NULL unless the job traces gradients */
    ps_trace_t *rows_trace; /* and its sparse ones, when it has tables */
    uint64_t *rows_so_far;  /* per worker: rows of its push in pieces */
    uint64_t refused_pulls; /* beyond reach, or over a PARK_* bound */
    pool_t *pool;           /* threads that share large updates */
    struct pending *pending;
    size_t npending;
    size_t cap_pending;
    float *scratch;      /* unaligned or f16 INIT payloads, lazily */
    uint64_t *key_space; /* unaligned sparse keys */
    size_t key_cap;
    float *row_space; /* unaligned sparse rows */
    size_t row_cap;
    struct piecewise *open; /* pushes in pieces, one per peer at most */
    size_t nopen;
    size_t cap_open;
    wire_buf_t *piece_bufs[PIECE_BUFS];
    struct wire_counters counters;
    double next_stats;
    double give_back_at; /* idle from then on: free memory goes back (0: none
                            to give) */
    ps_save_t *save;
    int save_wanted;        /* a SAVE waits for the shard to reach save_at */
    uint64_t save_at;       /* the version it saves at */
    uint64_t save_order_at; /* the SAVE's min_version (0: as it is) */
    uint64_t saving_at;     /* save_order_at of the write in progress */
    int sparse_wanted;      /* the SAVE waits for the table to reach it */
    uint64_t sparse_at;     /* the table's version it saves at */
    int sparse_with_shard;  /* the table is copied with the shard */
    int sparse_steps;       /* sync steps have come for the table */
    char save_dir[4096];
    double next_state_check;
    int poisoned;          /* a non-finite number in the shard: the job stops */
    uint64_t generation;   /* the model's incarnation: INIT's (0 before one) */
    uint64_t stale_pushes; /* refused: of another generation */
    uint64_t rollbacks;
    int rejoin; /* the chief does not know this ps: register again */
    int stop;
    int exit_status;
} self_t;

/*
 * The largest frame a legitimate peer sends this shard: its largest slice,
 * or a sparse push touching every row it holds (of a bounded table), in
 * float32. ZeroMQ drops
 * the connection of a peer that sends more, so a hostile frame cannot
 * exhaust the ps's memory.
 */
static int64_t s_largest_frame(const self_t *self, int nps)
{
    const struct placement_shard *sh = &self->placement->shards[self->index];
    int64_t floats = 1 << 20;
    for (int i = 0; i < sh->nslices; i++) {
        if ((int64_t) sh->slices[i].len > floats)
            floats = (int64_t) sh->slices[i].len;
    }
    const struct job *job = self->b->job;
    uint64_t table = jobvars_sparse_rows(job);
    /* A table of any key: a frame of 64 Mi keys, 8 of which (a request's
     * pieces) would be far more than any batch or test set touches. */
    int64_t rows =
        table == JOBVARS_ANY_KEY
            ? (int64_t) 1 << 26
            : (int64_t) ((table + (uint64_t) nps - 1) / (uint64_t) nps);
    int64_t width = (int64_t) jobvars_sparse_width(job);
    if (rows * width > floats)
        floats = rows * width;
    if (rows * 2 > floats)
        floats = rows * 2; /* the keys frame: 8 bytes a key */
    return floats * (int64_t) sizeof(float) + 65536;
}

/* The shard and the sparse table, empty until an INIT. */
static void s_new_model(self_t *self)
{
    const struct job *job = self->b->job;
    self->shard = ps_shard_new(job, self->placement, self->index,
                               self->nworkers, self->pool);
    self->sparse =
        ps_sparse_new(job, self->index, self->placement->nps, self->pool);
    if (self->sparse != NULL && job->mode == JOB_SYNC)
        self->sparse_sync = ps_sparse_sync_new(
            self->sparse, self->nworkers, (int) job->replicas_to_aggregate);
}

static self_t *s_self_new(struct boot *b, char *err)
{
    self_t *self = psc_xcalloc(1, sizeof *self);
    self->b = b;
    self->index = tfc_task_index(b->tfc);
    self->nworkers = tfc_count(b->tfc, TFC_WORKER);
    snprintf(self->task, sizeof self->task, "%s", tfc_task_name(b->tfc));
    int nps = tfc_count(b->tfc, TFC_PS);
    self->placement = jobvars_placement(b->job, nps, err);
    if (self->placement == NULL)
        return self;
    self->pool = pool_new(jobvars_apply_threads(b->job));
    s_new_model(self);
    self->save = ps_save_new();
    self->guard = ps_guard_new(self->nworkers, b->job->max_grad_norm);
    self->router = net_socket(b->zctx, ZMQ_ROUTER, NULL);
    if (self->router != NULL) {
        net_set_sockbuf(self->router, b->job->zmq_sockbuf_bytes);
        int64_t most = s_largest_frame(self, nps);
        zmq_setsockopt(self->router, ZMQ_MAXMSGSIZE, &most, sizeof most);
    }
    return self;
}

static void s_self_destroy(self_t **p)
{
    self_t *self = *p;
    net_close(&self->router);
    ctl_destroy(&self->ctl);
    for (int i = 0; i < PIECE_BUFS; i++)
        wire_buf_release(&self->piece_bufs[i]);
    free(self->open);
    ps_save_destroy(&self->save);
    ps_guard_destroy(&self->guard);
    ps_trace_close(&self->trace);
    ps_trace_close(&self->rows_trace);
    free(self->rows_so_far);
    ps_shard_destroy(&self->shard);
    ps_sparse_sync_destroy(&self->sparse_sync);
    ps_sparse_destroy(&self->sparse);
    pool_destroy(&self->pool);
    placement_destroy(&self->placement);
    free(self->pending);
    free(self->scratch);
    free(self->key_space);
    free(self->row_space);
    free(self);
    *p = NULL;
}

/* "worker:3" -> 3 when it names one of our workers, else -1 (ps_shard's
 * "not a worker"). */
static int s_worker_index(const self_t *self, const char *task)
{
    int w = psc_num_task(task, "worker", self->nworkers);
    return w >= 0 ? w : -1;
}

static void s_reply_error(self_t *self, const wire_msg_t *req, const char *why)
{
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__ERROR, self->task);
    h.request_id = req->hdr->request_id;
    h.text = (char *) why;
    /* A shard without its model (restarted, or not yet initialised) is a
     * passing state, not a wrong request: the client may retry. */
    if (self->shard != NULL && !ps_shard_ready(self->shard))
        h.flags = WIRE_NOT_READY;
    wire_send(self->router, req->peer, req->peer_len, &h, NULL, 0);
    self->counters.rejected++;
    psc_log_debug("refused %s from %s: %s", wire_type_name(req->hdr->type),
                  req->hdr->task, why);
}

/* A push from another generation of the model: refused, never applied. */
static void s_reply_stale(self_t *self, const wire_msg_t *req)
{
    char why[160];
    snprintf(why, sizeof why,
             "the push is of generation %llu, the model is at generation "
             "%llu (rolled back since): wait for the chief's START",
             (unsigned long long) req->hdr->generation,
             (unsigned long long) self->generation);
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__ERROR, self->task);
    h.request_id = req->hdr->request_id;
    h.text = why;
    h.flags = WIRE_STALE;
    h.generation = self->generation;
    wire_send(self->router, req->peer, req->peer_len, &h, NULL, 0);
    self->stale_pushes++;
}

static void s_send_params(self_t *self, const struct pending *p)
{
    const struct placement_shard *lay = ps_shard_layout(self->shard);
    wire_buf_t *snap = ps_shard_wire_values(self->shard);
    size_t elem = self->b->job->wire_f16 ? 2 : 4;
    struct wire_frame frames[WIRE_MAX_FRAMES];
    for (int i = 0; i < lay->nslices; i++) {
        const struct placement_slice *sl = &lay->slices[i];
        frames[i].data = (char *) wire_buf_data(snap) + sl->shard_offset * elem;
        frames[i].bytes = sl->len * elem;
        frames[i].count = sl->len;
        frames[i].buf = snap;
    }
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__PARAMS, self->task);
    h.request_id = p->request_id;
    h.step = ps_shard_version(self->shard);
    h.shard = (uint32_t) self->index;
    h.codec = self->b->job->wire_f16 ? PSC__CODEC__F16 : PSC__CODEC__F32;
    h.flags = p->flags;
    wire_send(self->router, p->peer, p->peer_len, &h, frames, lay->nslices);
}

static int s_ready(const self_t *self, const struct pending *p)
{
    return ps_shard_ready(self->shard) &&
           ps_shard_version(self->shard) >= p->min_version &&
           ps_shard_may_pull(self->shard, p->worker);
}

/* Sends every parked reply whose condition now holds. */
static void s_release_pending(self_t *self)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->npending; i++) {
        if (s_ready(self, &self->pending[i]))
            s_send_params(self, &self->pending[i]);
        else
            self->pending[kept++] = self->pending[i];
    }
    self->npending = kept;
}

/* Refuses parked reply i, the oldest of its peer or of all, with ERROR. */
static void s_refuse_parked(self_t *self, size_t i, const char *why)
{
    const struct pending *p = &self->pending[i];
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__ERROR, self->task);
    h.request_id = p->request_id;
    h.text = (char *) why;
    wire_send(self->router, p->peer, p->peer_len, &h, NULL, 0);
    self->refused_pulls++;
    /* Keeps the order: the oldest stays first. */
    memmove(&self->pending[i], &self->pending[i + 1],
            (self->npending - i - 1) * sizeof *self->pending);
    self->npending--;
    /* Only a peer that does not wait for its answers gets here: one line
     * for the first, the count is in PS_STATS. */
    if (self->refused_pulls == 1)
        psc_log_warn("refused a parked request: %s (counted from now on in "
                     "the ps statistics)",
                     why);
}

/*
 * The model rolled back: every parked reply was for a version of the model
 * before it, so each is answered as stale (the client asks again, or has
 * moved on to a new request already).
 */
static void s_refuse_parked_stale(self_t *self)
{
    for (size_t i = 0; i < self->npending; i++) {
        const struct pending *p = &self->pending[i];
        Psc__Header h;
        wire_header_init(&h, PSC__MSG_TYPE__ERROR, self->task);
        h.request_id = p->request_id;
        h.text = "the model was rolled back: ask again";
        h.flags = WIRE_STALE;
        h.generation = self->generation;
        wire_send(self->router, p->peer, p->peer_len, &h, NULL, 0);
    }
    self->npending = 0;
}

/* Makes room for one more parked reply from req's peer. */
static void s_bound_parked(self_t *self, const wire_msg_t *req)
{
    size_t mine = 0;
    size_t oldest = 0;
    for (size_t i = 0; i < self->npending; i++) {
        const struct pending *p = &self->pending[i];
        if (p->peer_len != req->peer_len ||
            memcmp(p->peer, req->peer, req->peer_len) != 0)
            continue;
        if (mine++ == 0)
            oldest = i;
    }
    if (mine >= PARK_PER_PEER)
        s_refuse_parked(self, oldest,
                        "more than 8 requests of this peer wait for "
                        "values: the oldest is refused");
    else if (self->npending >= PARK_TOTAL)
        s_refuse_parked(self, 0,
                        "more than 4096 requests wait for values: the "
                        "oldest is refused");
}

/* Parks req's PARAMS reply until min_version; flags go in its header. */
static void s_park(self_t *self, const wire_msg_t *req, uint64_t min_version,
                   int worker, uint32_t flags)
{
    s_bound_parked(self, req);
    if (self->npending == self->cap_pending) {
        self->cap_pending = self->cap_pending ? self->cap_pending * 2 : 16;
        self->pending = psc_xrealloc(self->pending,
                                     self->cap_pending * sizeof *self->pending);
    }
    struct pending *p = &self->pending[self->npending++];
    memcpy(p->peer, req->peer, req->peer_len);
    p->peer_len = req->peer_len;
    p->request_id = req->hdr->request_id;
    p->min_version = min_version;
    p->worker = worker;
    p->flags = flags;
}

/* Checks a payload against this shard's slices; NULL when it fits. */
static const char *s_check_layout(const self_t *self, const wire_msg_t *msg)
{
    const struct placement_shard *lay = ps_shard_layout(self->shard);
    if (msg->nframes != lay->nslices)
        return "wrong number of slices for this shard: is the job the same "
               "on every task?";
    for (int i = 0; i < lay->nslices; i++) {
        if (wire_frame_count(msg, i) != lay->slices[i].len)
            return "slice length differs from this shard's layout";
    }
    return NULL;
}

/* Room for the whole shard in float32, made on first use. */
static float *s_scratch(self_t *self)
{
    if (self->scratch == NULL)
        self->scratch = psc_xaligned((ps_shard_layout(self->shard)->size + 1) *
                                     sizeof(float));
    return self->scratch;
}

/* Float32 views of every slice of msg, converting into scratch if needed. */
static void s_slices_f32(self_t *self, const wire_msg_t *msg, const float **out)
{
    const struct placement_shard *lay = ps_shard_layout(self->shard);
    for (int i = 0; i < lay->nslices; i++)
        out[i] = wire_frame_f32(msg, i,
                                s_scratch(self) + lay->slices[i].shard_offset);
}

/*
 * Every slice of a push as it arrived: binary16 frames as they are (the
 * shard widens them chunk by chunk), float32 ones in place unless a frame
 * is not 4-byte aligned, which only happens to tiny frames.
 */
static int s_push_slices(self_t *self, const wire_msg_t *msg, const void **out)
{
    const struct placement_shard *lay = ps_shard_layout(self->shard);
    int f16 = msg->hdr->codec == PSC__CODEC__F16;
    for (int i = 0; i < lay->nslices; i++) {
        const void *data = wire_frame_data(msg, i);
        if (!f16 && ((uintptr_t) data % sizeof(float)) != 0)
            data = wire_frame_f32(
                msg, i, s_scratch(self) + lay->slices[i].shard_offset);
        out[i] = data;
    }
    return f16;
}

/* Reads the shard's elements of every array out of a checkpoint. */
static int s_read_arrays(const self_t *self, ckpt_reader_t *r, float **arrays,
                         int narrays, char *err)
{
    const struct placement_shard *sh = ps_shard_layout(self->shard);
    for (int i = 0; i < sh->nslices; i++) {
        const struct placement_slice *sl = &sh->slices[i];
        for (int a = 0; a < narrays; a++) {
            int rc = ckpt_reader_read(r, a, sl->global_offset, sl->len,
                                      arrays[a] + sl->shard_offset, err);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/* The table from the seed, and sync mode's step with it. */
static void s_init_sparse(self_t *self)
{
    ps_sparse_init(self->sparse);
    if (self->sparse_sync != NULL)
        ps_sparse_sync_reset(self->sparse_sync);
}

/* Counts of what a restore read from the sparse files. */
struct sparse_load {
    ps_sparse_t *t;
    uint64_t seen;
    uint64_t kept;
};

static void s_load_row(void *arg, const struct ckpt_sparse_row *row)
{
    struct sparse_load *l = arg;
    l->seen++;
    if (ps_sparse_restore_row(l->t, row) == 0)
        l->kept++;
}

static void s_load_count(void *arg, uint64_t key, uint32_t count)
{
    struct sparse_load *l = arg;
    ps_sparse_restore_count(l->t, key, count);
}

/*
 * The table's rows from every sparse file of the checkpoint m in dir: this
 * ps keeps those whose key hashes to it, whatever number of ps saved them.
 * A checkpoint without a table (of a model without one) leaves the table
 * to start from the seed.
 */
static int s_restore_sparse(self_t *self, const char *dir,
                            const struct ckpt_manifest *m, char *err)
{
    s_init_sparse(self);
    const struct ckpt_sparse_info *sp = &m->sparse;
    if (sp->nfiles == 0) {
        psc_log_warn("checkpoint %s holds no sparse table: its rows start "
                     "from the seed",
                     dir);
        return 0;
    }
    uint32_t width = (uint32_t) ps_sparse_width(self->sparse);
    uint32_t slots = (uint32_t) ps_sparse_slot_floats(self->sparse);
    if (sp->width != width || sp->slot_floats != slots)
        return psc_seterr(err, PSC_ECONFIG,
                          "checkpoint %s holds sparse rows of width %u with "
                          "%u slot floats, this job's table %u and %u",
                          dir, sp->width, sp->slot_floats, width, slots);
    struct sparse_load l = {.t = self->sparse};
    uint64_t version = 0;
    uint64_t sweep_at = 0;
    double t0 = psc_now();
    /* Rows go to ps by key: about an equal part each, a little room. */
    uint64_t mine = sp->rows / (uint64_t) self->placement->nps;
    ps_sparse_reserve(self->sparse, (size_t) (mine + mine / 16 + 1024));
    for (int f = 0; f < sp->nfiles; f++) {
        struct ckpt_sparse_header h;
        int rc = ckpt_sparse_read(dir, &sp->files[f], f, m->nps, width, &h,
                                  s_load_row, s_load_count, &l, err);
        if (rc != 0) {
            s_init_sparse(self);
            return rc;
        }
        if (h.version > version)
            version = h.version;
        /* On as many ps as saved it, this ps's rows are file f's, in its
         * order: the expiry sweep goes on where it was. */
        if (m->nps == self->placement->nps && f == self->index)
            sweep_at = h.sweep_at;
    }
    ps_sparse_restore_done(self->sparse, version, (size_t) sweep_at);
    psc_log_info("restored %llu of %llu sparse rows at version %llu from %d "
                 "files in %.3f s",
                 (unsigned long long) l.kept, (unsigned long long) l.seen,
                 (unsigned long long) version, sp->nfiles, psc_now() - t0);
    return 0;
}

/*
 * The shard's values, slots and version from the checkpoint folder dir,
 * whatever number of ps saved it, and the sparse table's rows.
 */
static int s_restore(self_t *self, const char *dir, char *err)
{
    ckpt_reader_t *r = ckpt_reader_open(dir, err);
    if (r == NULL)
        return PSC_EIO;
    int narrays = ps_shard_num_arrays(self->shard);
    int rc = 0;
    if (ckpt_reader_manifest(r)->narrays != narrays)
        rc = psc_seterr(err, PSC_ECONFIG,
                        "checkpoint %s holds %d arrays per variable, this "
                        "job's optimizer %d",
                        dir, ckpt_reader_manifest(r)->narrays, narrays);
    size_t size = ps_shard_layout(self->shard)->size;
    float *arrays[CKPT_MAX_ARRAYS] = {NULL};
    /* Straight into the shard's arrays: no second copy of the model. */
    if (rc == 0) {
        ps_shard_restore_begin(self->shard, arrays);
        rc = s_read_arrays(self, r, arrays, narrays, err);
    }
    if (rc == 0) {
        ps_shard_restore_done(self->shard, ckpt_reader_version(r));
        if (self->sparse != NULL)
            rc = s_restore_sparse(self, dir, ckpt_reader_manifest(r), err);
    }
    if (rc == 0) {
        psc_log_info("restored %zu parameters at version %llu from %s", size,
                     (unsigned long long) ckpt_reader_version(r), dir);
    }
    ckpt_reader_close(&r);
    return rc;
}

static void s_cancel_save(self_t *self, const char *why);
static void s_finish_save(self_t *self, int wait);

/*
 * An INIT of a new generation reaches a shard that holds a model: the
 * chief rolls the model back (a ps came back without its shard, or the
 * chief was restarted). The shard, the table and everything in flight
 * start afresh, as in a new process; a write in progress ends first.
 */
static void s_roll_back(self_t *self)
{
    if (self->save_wanted || self->sparse_wanted)
        s_cancel_save(self, "the model is rolled back");
    s_finish_save(self, 1);
    ps_shard_destroy(&self->shard);
    ps_sparse_sync_destroy(&self->sparse_sync);
    ps_sparse_destroy(&self->sparse);
    s_new_model(self);
    s_refuse_parked_stale(self);
    self->nopen = 0;
    self->sparse_steps = 0;
    self->rollbacks++;
    psc_log_warn("rolling the model back (generation %llu): the chief "
                 "starts it again from a checkpoint",
                 (unsigned long long) self->generation);
}

static void s_on_init(self_t *self, const wire_msg_t *msg)
{
    const char *why = msg->nframes == 0 ? NULL : s_check_layout(self, msg);
    if (why != NULL) {
        s_reply_error(self, msg, why);
        return;
    }
    if (msg->hdr->generation != self->generation) {
        self->generation = msg->hdr->generation;
        if (ps_shard_ready(self->shard))
            s_roll_back(self);
    }
    ps_shard_set_last_step(self->shard, msg->hdr->last_step);
    if (!ps_shard_ready(self->shard) && (msg->hdr->flags & WIRE_INIT_RESTORE)) {
        char err[PSC_ERR_LEN];
        if (s_restore(self, msg->hdr->text ? msg->hdr->text : "", err) != 0) {
            psc_log_err("%s", err);
            s_reply_error(self, msg, err);
            return;
        }
    } else if (!ps_shard_ready(self->shard)) {
        if (msg->nframes == 0) {
            ps_shard_init_seed(self->shard);
        } else {
            const float *slices[WIRE_MAX_FRAMES];
            s_slices_f32(self, msg, slices);
            /* s_check_layout() made nframes the layout's nslices, which
             * s_slices_f32() filled; the analyzer sees two layouts. */
            for (int i = 0; i < msg->nframes; i++)
                /* NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage) */
                ps_shard_init_slice(self->shard, i, slices[i]);
        }
        if (self->sparse != NULL)
            s_init_sparse(self);
        ps_shard_init_done(self->shard);
        psc_log_info("initialised %zu parameters in %d slices%s",
                     ps_shard_layout(self->shard)->size,
                     ps_shard_layout(self->shard)->nslices,
                     msg->nframes == 0 ? " from the seed" : "");
    }
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__INIT_ACK, self->task);
    h.request_id = msg->hdr->request_id;
    h.step = ps_shard_version(self->shard);
    wire_send(self->router, msg->peer, msg->peer_len, &h, NULL, 0);
    s_release_pending(self);
}

/* Answers a push that did not ask for values; flags go in the header. */
static void s_ack(self_t *self, const wire_msg_t *req, uint64_t version,
                  uint32_t flags)
{
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__PUSH_ACK, self->task);
    h.request_id = req->hdr->request_id;
    h.step = version;
    h.flags = flags;
    h.shard = (uint32_t) self->index;
    wire_send(self->router, req->peer, req->peer_len, &h, NULL, 0);
}

/* The open push in pieces of msg's sender, or NULL. */
static struct piecewise *s_open_of(self_t *self, const wire_msg_t *msg)
{
    for (size_t i = 0; i < self->nopen; i++) {
        struct piecewise *o = &self->open[i];
        if (o->peer_len == msg->peer_len &&
            memcmp(o->peer, msg->peer, msg->peer_len) == 0)
            return o;
    }
    return NULL;
}

/* Records a gradient the shard was offered, when the job traces them. */
static void s_trace_push(self_t *self, int worker, uint64_t read,
                         enum ps_push_result result)
{
    if (self->trace == NULL)
        return;
    struct ps_trace_gradient g = {.worker = worker,
                                  .read = read,
                                  .result = result,
                                  .info = ps_shard_last_push(self->shard),
                                  .wall_s = ctl_job_seconds(self->ctl),
                                  .time = psc_wall()};
    ps_trace_gradient(self->trace, &g);
}

/*
 * Opens a push in pieces for msg's sender. One it left unfinished (a
 * client that gave up on a request) is ended first: its applied ranges
 * stay, and count once in the version.
 */
static struct piecewise *s_open_push(self_t *self, const wire_msg_t *msg)
{
    struct piecewise *o = s_open_of(self, msg);
    if (o != NULL) {
        ps_shard_push_end(self->shard, &o->pw);
    } else {
        if (self->nopen == self->cap_open) {
            self->cap_open = self->cap_open ? self->cap_open * 2 : 8;
            self->open =
                psc_xrealloc(self->open, self->cap_open * sizeof *self->open);
        }
        o = &self->open[self->nopen++];
        memcpy(o->peer, msg->peer, msg->peer_len);
        o->peer_len = msg->peer_len;
    }
    o->request_id = msg->hdr->request_id;
    o->next = 0;
    int worker = s_worker_index(self, msg->hdr->task);
    ps_shard_push_begin(self->shard, worker, msg->hdr->step, &o->pw);
    s_trace_push(self, worker, msg->hdr->step, o->pw.result);
    return o;
}

static void s_close_push(self_t *self, struct piecewise *o)
{
    ps_shard_push_end(self->shard, &o->pw);
    *o = self->open[--self->nopen];
}

/* Why a piece of a push cannot be taken, or NULL. */
static const char *s_check_piece(self_t *self, const wire_msg_t *msg)
{
    const struct job *job = self->b->job;
    size_t size = ps_shard_layout(self->shard)->size;
    uint64_t count = msg->nframes == 1 ? wire_frame_count(msg, 0) : 0;
    if (job->mode != JOB_ASYNC || job->ssp_bound >= 0 || job->max_grad_norm > 0)
        return "a push in pieces needs mode async without ssp_bound or "
               "max_grad_norm: is the job the same on every task?";
    if (msg->nframes != 1 || count == 0 || msg->hdr->offset > size ||
        count > size - msg->hdr->offset)
        return "a piece of a push must be one frame within this shard";
    if (!ps_shard_ready(self->shard))
        return "not initialised yet: the chief has not started the job";
    if (msg->hdr->offset == 0) {
        if (msg->hdr->step > ps_shard_version(self->shard))
            return "gradient computed from a version this shard never had";
        return NULL;
    }
    const struct piecewise *o = s_open_of(self, msg);
    if (o == NULL || o->request_id != msg->hdr->request_id ||
        o->next != msg->hdr->offset)
        return "a piece of a push out of order: pieces go in order, the "
               "first at offset 0";
    return NULL;
}

/* A reply buffer of bytes that no send holds. */
static wire_buf_t *s_piece_buf(self_t *self, size_t bytes)
{
    int slot = 0;
    for (int i = 0; i < PIECE_BUFS; i++) {
        wire_buf_t *b = self->piece_bufs[i];
        if (b != NULL && !wire_buf_busy(b) && wire_buf_size(b) >= bytes)
            return b;
        if (b == NULL || !wire_buf_busy(b))
            slot = i;
    }
    wire_buf_release(&self->piece_bufs[slot]); /* a send may still hold it */
    self->piece_bufs[slot] = wire_buf_new(bytes);
    return self->piece_bufs[slot];
}

/*
 * Whether a piece's reply should send its range of the values in place:
 * in float32, while no other peer is pushing in pieces. Another peer's
 * next piece would likely find that range still being sent and wait for
 * it; a copy is then cheaper.
 */
static int s_reply_in_place(self_t *self)
{
    return !self->b->job->wire_f16 && self->nopen <= 1;
}

/* The range's values to send: in place, or copied when too many are. */
static wire_buf_t *s_range_reply(self_t *self, size_t first, size_t count)
{
    wire_buf_t *view = ps_shard_range_view(self->shard, first, count);
    if (view != NULL)
        return view;
    wire_buf_t *out = s_piece_buf(self, count * sizeof(float) + 1);
    memcpy(wire_buf_data(out), ps_shard_values(self->shard) + first,
           count * sizeof(float));
    return out;
}

/* Answers a piece with its range's new values. */
static void s_send_piece(self_t *self, const wire_msg_t *req, wire_buf_t *buf,
                         size_t count, uint32_t flags)
{
    int f16 = self->b->job->wire_f16;
    struct wire_frame f = {wire_buf_data(buf), count * (f16 ? 2 : 4), count,
                           buf};
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__PARAMS, self->task);
    h.request_id = req->hdr->request_id;
    h.step = ps_shard_version(self->shard);
    h.shard = (uint32_t) self->index;
    h.offset = req->hdr->offset;
    h.codec = f16 ? PSC__CODEC__F16 : PSC__CODEC__F32;
    h.flags = flags;
    wire_send(self->router, req->peer, req->peer_len, &h, &f, 1);
}

/*
 * One piece of a push: applied to its range on arrival, so the ps updates
 * one piece while the next is still on the wire, and answered at once.
 */
static void s_on_push_piece(self_t *self, const wire_msg_t *msg)
{
    const char *why = s_check_piece(self, msg);
    if (why != NULL) {
        s_reply_error(self, msg, why);
        return;
    }
    size_t count = (size_t) wire_frame_count(msg, 0);
    int f16 = msg->hdr->codec == PSC__CODEC__F16;
    const void *g = wire_frame_data(msg, 0);
    if (!f16 && ((uintptr_t) g % sizeof(float)) != 0)
        g = wire_frame_f32(msg, 0, s_scratch(self));
    /* A refused piece leaves the push open as it was: the peer's next
     * push ends it, with the pieces applied before. */
    why = ps_guard_values(self->guard, s_worker_index(self, msg->hdr->task),
                          msg->hdr->task, g, f16, count);
    if (why != NULL) {
        s_reply_error(self, msg, why);
        return;
    }
    struct piecewise *o =
        msg->hdr->offset == 0 ? s_open_push(self, msg) : s_open_of(self, msg);
    int want = (msg->hdr->flags & WIRE_WANT_PARAMS) != 0;
    int in_place = want && s_reply_in_place(self);
    size_t elem = self->b->job->wire_f16 ? 2 : 4;
    wire_buf_t *out =
        want && !in_place ? s_piece_buf(self, count * elem + 1) : NULL;
    ps_shard_push_range(self->shard, &o->pw, msg->hdr->offset, g, f16, count,
                        out != NULL ? wire_buf_data(out) : NULL);
    if (in_place)
        out = s_range_reply(self, msg->hdr->offset, count);
    o->next = msg->hdr->offset + count;
    /* Every piece's answer says so: the client may see any of them. */
    uint32_t flags = o->pw.result == PS_PUSH_DROPPED ? WIRE_DROPPED : 0;
    if ((msg->hdr->flags & WIRE_MORE) == 0)
        s_close_push(self, o);
    if (want)
        s_send_piece(self, msg, out, count, flags);
    else
        s_ack(self, msg, ps_shard_version(self->shard), flags);
    s_release_pending(self);
}

static void s_on_push(self_t *self, const wire_msg_t *msg)
{
    if (msg->hdr->flags & WIRE_PIECE) {
        s_on_push_piece(self, msg);
        return;
    }
    const char *why = s_check_layout(self, msg);
    if (why == NULL && !ps_shard_ready(self->shard))
        why = "not initialised yet: the chief has not started the job";
    if (why == NULL && msg->hdr->step > ps_shard_version(self->shard))
        why = "gradient computed from a version this shard never had";
    if (why != NULL) {
        s_reply_error(self, msg, why);
        return;
    }
    int worker = s_worker_index(self, msg->hdr->task);
    const void *slices[WIRE_MAX_FRAMES];
    int f16 = s_push_slices(self, msg, slices);
    float scale = 1.0f;
    why = ps_guard_gradient(self->guard, worker, msg->hdr->task,
                            ps_shard_layout(self->shard), slices, f16, &scale);
    if (why != NULL) {
        s_reply_error(self, msg, why);
        return;
    }
    enum ps_push_result r =
        ps_shard_push(self->shard, worker, msg->hdr->step, slices, f16, scale);
    s_trace_push(self, worker, msg->hdr->step, r);
    uint32_t flags = r == PS_PUSH_DROPPED ? WIRE_DROPPED : 0;
    if (msg->hdr->flags & WIRE_WANT_PARAMS) {
        /* Sync: the next step's values; dropped, async or softsync (whose
         * workers never wait for an update): the newest. */
        uint64_t v = ps_shard_version(self->shard);
        if (r == PS_PUSH_AGGREGATED && self->b->job->mode == JOB_SYNC)
            v++;
        s_park(self, msg, v, worker, flags);
    } else {
        s_ack(self, msg, ps_shard_version(self->shard), flags);
    }
    s_release_pending(self);
}

/*
 * The largest version a pull may wait for: one round of pushes (each
 * worker has one in flight at most) past the current version, or past the
 * warm-up's end, which async workers other than 0 wait for at the start,
 * and an evaluator's next multiple of eval_every_steps. No client asks for
 * more; a pull that does would wait for ever.
 */
static uint64_t s_reach(const self_t *self)
{
    uint64_t from = ps_shard_version(self->shard);
    uint64_t warmup = (uint64_t) self->b->job->warmup_steps;
    if (warmup > from)
        from = warmup;
    return from + (uint64_t) self->nworkers + 1 +
           (uint64_t) self->b->job->eval_every_steps;
}

static void s_on_pull(self_t *self, const wire_msg_t *msg)
{
    if (msg->nframes != 0) {
        s_reply_error(self, msg, "a pull carries no payload");
        return;
    }
    if (msg->hdr->min_version > s_reach(self)) {
        char why[160];
        snprintf(why, sizeof why,
                 "min_version %llu is beyond what this job reaches from "
                 "version %llu: at most %llu",
                 (unsigned long long) msg->hdr->min_version,
                 (unsigned long long) ps_shard_version(self->shard),
                 (unsigned long long) s_reach(self));
        self->refused_pulls++;
        s_reply_error(self, msg, why);
        return;
    }
    s_park(self, msg, msg->hdr->min_version,
           s_worker_index(self, msg->hdr->task), 0);
    s_release_pending(self);
}

/* The keys frame, in place when aligned, else copied into key_space. */
static const uint64_t *s_keys(self_t *self, const wire_msg_t *msg)
{
    size_t n = (size_t) wire_frame_count(msg, 0);
    if (((uintptr_t) wire_frame_data(msg, 0) % sizeof(uint64_t)) != 0 &&
        (n > self->key_cap || self->key_space == NULL)) {
        free(self->key_space);
        self->key_cap = n;
        self->key_space = psc_xmalloc((n + 1) * sizeof(uint64_t));
    }
    return wire_frame_keys(msg, 0, self->key_space);
}

/* The buffer for n rows of reply, one no send holds. */
static wire_buf_t *s_rows_buf(self_t *self, size_t n)
{
    size_t elem = self->b->job->wire_f16 ? 2 : 4;
    return s_piece_buf(self, n * ps_sparse_width(self->sparse) * elem + 1);
}

/* Sends the n rows in buf (s_rows_buf()) in reply to req. */
static void s_send_rows(self_t *self, const wire_msg_t *req, wire_buf_t *buf,
                        size_t n)
{
    int f16 = self->b->job->wire_f16;
    size_t width = ps_sparse_width(self->sparse);
    struct wire_frame f = {wire_buf_data(buf), n * width * (f16 ? 2 : 4),
                           n * width, buf};
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__SPARSE_PARAMS, self->task);
    h.request_id = req->hdr->request_id;
    h.step = ps_sparse_version(self->sparse);
    h.shard = (uint32_t) self->index;
    h.width = (uint32_t) width;
    h.offset = req->hdr->offset;
    h.codec = f16 ? PSC__CODEC__F16 : PSC__CODEC__F32;
    wire_send(self->router, req->peer, req->peer_len, &h, &f, 1);
}

/* Aligned float32 room for count sparse row values, reused. */
static float *s_row_space(self_t *self, size_t count)
{
    if (count > self->row_cap || self->row_space == NULL) {
        free(self->row_space);
        self->row_cap = count;
        self->row_space = psc_xaligned((count + 1) * sizeof(float));
    }
    return self->row_space;
}

/*
 * Records a sparse push (msg, one piece of it) when the job traces
 * gradients: one line per push, at its last piece, with the rows of every
 * piece.
 */
static void s_trace_rows(self_t *self, const wire_msg_t *msg, size_t n,
                         const char *result, const char *why)
{
    if (self->rows_trace == NULL)
        return;
    int worker = s_worker_index(self, msg->hdr->task);
    uint64_t rows = n;
    if (worker >= 0) {
        rows += self->rows_so_far[worker];
        self->rows_so_far[worker] = rows;
    }
    if ((msg->hdr->flags & WIRE_MORE) != 0 && worker >= 0)
        return;
    if (worker >= 0)
        self->rows_so_far[worker] = 0;
    int sync = (msg->hdr->flags & WIRE_SYNC_STEP) != 0;
    struct ps_trace_rows r = {.worker = worker,
                              .has_read = sync,
                              .read = msg->hdr->step,
                              .rows = rows,
                              .result = result,
                              .why = why,
                              .version = ps_sparse_version(self->sparse),
                              .wall_s = ctl_job_seconds(self->ctl),
                              .time = psc_wall()};
    ps_trace_rows(self->rows_trace, &r);
}

/* A worker's part of a sync step (ps_sparse_sync.h), acknowledged. */
static void s_sparse_step(self_t *self, const wire_msg_t *msg,
                          const uint64_t *keys, size_t n, const void *rows,
                          int f16)
{
    size_t count = n * ps_sparse_width(self->sparse);
    if (f16) {
        float *wide = s_row_space(self, count);
        f16_to_f32(wide, rows, count);
        rows = wide;
    }
    const char *why = NULL;
    int last = (msg->hdr->flags & WIRE_MORE) == 0;
    enum ps_sparse_sync_result r = ps_sparse_sync_add(
        self->sparse_sync, s_worker_index(self, msg->hdr->task), msg->hdr->step,
        keys, n, rows, last, &why);
    if (r == PS_SPARSE_SYNC_REFUSED) {
        s_reply_error(self, msg, why);
        return;
    }
    self->sparse_steps = 1;
    int stale = r == PS_SPARSE_SYNC_STALE;
    s_trace_rows(self, msg, n, stale ? "dropped" : "taken",
                 stale ? "late" : NULL);
    s_ack(self, msg, ps_sparse_version(self->sparse),
          r == PS_SPARSE_SYNC_STALE ? WIRE_DROPPED : 0);
}

/*
 * SPARSE_PUSH and SPARSE_PULL. Sparse rows are applied on arrival, and
 * answered at once; in sync mode a worker's push marked WIRE_SYNC_STEP
 * waits for the step's other gradients (s_sparse_step()).
 */
static void s_on_sparse(self_t *self, const wire_msg_t *msg)
{
    int push = msg->hdr->type == PSC__MSG_TYPE__SPARSE_PUSH;
    const char *why = NULL;
    if (self->sparse == NULL)
        why = "this job's model has no sparse variables";
    else if (!ps_shard_ready(self->shard))
        why = "not initialised yet: the chief has not started the job";
    else if (push && msg->hdr->width != ps_sparse_width(self->sparse))
        why = "sparse row width differs from the table's";
    if (why != NULL) {
        s_reply_error(self, msg, why);
        return;
    }
    const uint64_t *keys = s_keys(self, msg);
    size_t n = (size_t) wire_frame_count(msg, 0);
    wire_buf_t *out = NULL;
    why = ps_sparse_check(self->sparse, keys, n);
    if (why != NULL) {
        s_reply_error(self, msg, why);
        return;
    }
    if (push) {
        const void *rows = wire_frame_data(msg, 1);
        int f16 = msg->hdr->codec == PSC__CODEC__F16;
        size_t count = (size_t) wire_frame_count(msg, 1);
        if (!f16 && ((uintptr_t) rows % sizeof(float)) != 0) {
            rows = wire_frame_f32(msg, 1, s_row_space(self, count));
        }
        why = ps_guard_values(self->guard, s_worker_index(self, msg->hdr->task),
                              msg->hdr->task, rows, f16, count);
        if (why != NULL) {
            s_reply_error(self, msg, why);
            return;
        }
        if ((msg->hdr->flags & WIRE_SYNC_STEP) != 0) {
            if (self->sparse_sync == NULL)
                s_reply_error(self, msg,
                              "a sync step's sparse gradient in an async "
                              "job: is the job the same on every task?");
            else
                s_sparse_step(self, msg, keys, n, rows, f16);
            return;
        }
        /* Each updated row goes into the reply while it is in the cache. */
        int want = (msg->hdr->flags & WIRE_WANT_PARAMS) != 0;
        int last = (msg->hdr->flags & WIRE_MORE) == 0;
        out = want ? s_rows_buf(self, n) : NULL;
        ps_sparse_push(self->sparse, keys, n, rows, f16,
                       out != NULL ? wire_buf_data(out) : NULL,
                       self->b->job->wire_f16, last);
        s_trace_rows(self, msg, n, "applied", NULL);
        if (!want) {
            s_ack(self, msg, ps_sparse_version(self->sparse), 0);
            return;
        }
    } else {
        out = s_rows_buf(self, n);
        ps_sparse_gather(self->sparse, keys, n, wire_buf_data(out),
                         self->b->job->wire_f16);
    }
    s_send_rows(self, msg, out, n);
}

/* Answers the SAVE for folder and min_version at: what was written (NULL
 * when nothing was), or why not. */
static void s_send_saved(self_t *self, const char *folder, uint64_t at,
                         const struct ps_save_result *res, const char *why)
{
    Psc__Saved saved = PSC__SAVED__INIT;
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__SAVED, self->task);
    h.text = (char *) why;
    h.min_version = at;
    saved.folder = (char *) folder;
    if (res != NULL) {
        saved.file = (char *) res->file.name;
        saved.bytes = res->file.bytes;
        saved.crc32c = res->file.crc32c;
        saved.version = res->version;
    }
    if (res != NULL && res->has_sparse) {
        saved.sparse_file = (char *) res->sparse.name;
        saved.sparse_bytes = res->sparse.bytes;
        saved.sparse_crc32c = res->sparse.crc32c;
        saved.sparse_version = res->sparse_version;
        saved.sparse_rows = res->sparse_rows;
        saved.sparse_pending = res->sparse_pending;
        saved.sparse_slot_floats = res->sparse_slot_floats;
    }
    h.saved = &saved;
    ctl_send(self->ctl, &h);
}

/*
 * 0 while every number of the shard is finite; else logs where one is not,
 * marks the shard poisoned and returns PSC_EINVAL: training on would carry
 * it into every value, and a checkpoint of it would be no use to resume.
 */
static int s_check_state(self_t *self)
{
    struct ps_shard_bad bad;
    if (self->poisoned)
        return PSC_EINVAL;
    if (!ps_shard_ready(self->shard) ||
        !ps_shard_find_nonfinite(self->shard, &bad))
        return 0;
    psc_log_err("element %zu of the shard's %s is %g at version %llu: "
                "stopping the job rather than training on numbers that are "
                "not finite (lower learning_rate or set max_grad_norm, and "
                "resume from the last checkpoint)",
                bad.element, bad.array, (double) bad.value,
                (unsigned long long) ps_shard_version(self->shard));
    self->poisoned = 1;
    return PSC_EINVAL;
}

/* The checkpoint waited for is given up: why goes to the chief. */
static void s_cancel_save(self_t *self, const char *why)
{
    self->save_wanted = 0;
    self->sparse_wanted = 0;
    ps_save_cancel(self->save);
    s_send_saved(self, self->save_dir, self->save_order_at, NULL, why);
}

/* Copies the table: the pause a checkpoint costs its pushes. */
static void s_copy_sparse(self_t *self)
{
    double t0 = psc_now();
    ps_save_copy_sparse(self->save, self->sparse);
    self->sparse_wanted = 0;
    psc_log_debug("copied %zu sparse rows at version %llu in %.1f ms",
                  ps_sparse_rows(self->sparse),
                  (unsigned long long) ps_sparse_version(self->sparse),
                  (psc_now() - t0) * 1e3);
}

/* Copies the shard (and the table, when it goes with it): 0, or -1 when
 * the checkpoint was given up. */
static int s_copy_shard(self_t *self)
{
    self->save_wanted = 0;
    if (s_check_state(self) != 0) {
        s_cancel_save(self, "the shard holds numbers that are not finite");
        return -1;
    }
    ps_save_copy_shard(self->save, self->shard);
    if (self->sparse_wanted && self->sparse_with_shard)
        s_copy_sparse(self);
    return 0;
}

/*
 * After each request: the shard and the table are each copied when they
 * reach the SAVE's version (a shard holding nothing has none to reach),
 * and once both are, the copies are written.
 */
static void s_check_save(self_t *self)
{
    if (!self->save_wanted && !self->sparse_wanted)
        return;
    char why[128];
    if (self->save_wanted) {
        uint64_t v = ps_shard_version(self->shard);
        int empty = ps_shard_layout(self->shard)->size == 0;
        if ((v == self->save_at || empty) && s_copy_shard(self) != 0)
            return;
        if (self->save_wanted && v > self->save_at) {
            snprintf(why, sizeof why, "the shard went past version %llu",
                     (unsigned long long) self->save_at);
            s_cancel_save(self, why);
            return;
        }
    }
    if (self->sparse_wanted && !self->sparse_with_shard) {
        uint64_t v = ps_sparse_version(self->sparse);
        if (v == self->sparse_at) {
            s_copy_sparse(self);
        } else if (v > self->sparse_at) {
            snprintf(why, sizeof why, "the sparse table went past version %llu",
                     (unsigned long long) self->sparse_at);
            s_cancel_save(self, why);
            return;
        }
    }
    if (self->save_wanted || self->sparse_wanted)
        return;
    self->saving_at = self->save_order_at;
    ps_save_write(self->save);
}

/* Reports a finished write (waiting for it with wait set). */
static void s_finish_save(self_t *self, int wait)
{
    struct ps_save_result res;
    char err[PSC_ERR_LEN] = "";
    if (!ps_save_finish(self->save, wait, &res, err))
        return;
    if (res.rc != 0)
        psc_log_err("checkpoint not written: %s", err);
    else
        psc_log_debug("wrote %s (%llu bytes) at version %llu%s", res.file.name,
                      (unsigned long long) res.file.bytes,
                      (unsigned long long) res.version,
                      res.has_sparse ? " and its sparse table" : "");
    s_send_saved(self, ps_save_dir(self->save), self->saving_at,
                 res.rc == 0 ? &res : NULL, res.rc != 0 ? err : NULL);
}

/*
 * A SAVE replaces one still waiting for its version (that one is answered
 * as not written) and waits for a write in progress to end first.
 */
static void s_on_save(self_t *self, const wire_msg_t *msg)
{
    const char *dir = msg->hdr->text ? msg->hdr->text : "";
    uint64_t at = msg->hdr->min_version;
    if (dir[0] == '\0' || strlen(dir) >= sizeof self->save_dir ||
        !ps_shard_ready(self->shard)) {
        s_send_saved(self, dir, at, NULL,
                     "no checkpoint folder, too long a one, or the shard is "
                     "not initialised");
        return;
    }
    if (self->save_wanted || self->sparse_wanted)
        s_cancel_save(self, "replaced by a newer checkpoint");
    s_finish_save(self, 1);
    snprintf(self->save_dir, sizeof self->save_dir, "%s", dir);
    self->save_order_at = at;
    self->save_at = at != 0 ? at : ps_shard_version(self->shard);
    self->save_wanted = 1;
    if (self->sparse != NULL) {
        /* Sync steps of the table count as the shard's do: it saves at the
         * same version. Otherwise it is copied as it is with the shard. */
        self->sparse_wanted = 1;
        self->sparse_with_shard = at == 0 || !self->sparse_steps;
        self->sparse_at = at;
    }
    ps_save_start(self->save, self->index, self->placement->nps, dir);
    s_check_save(self);
}

/*
 * Why the task a request came from may not make it, or NULL: the chief
 * alone sets the values, and only a worker's gradients train the model.
 * (The wire has already checked that the request came on the connection
 * of the task it names.)
 */
static const char *s_refused_role(const self_t *self, const wire_msg_t *msg)
{
    switch (msg->hdr->type) {
    case PSC__MSG_TYPE__INIT:
        return strcmp(msg->hdr->task, "chief:0") == 0
                   ? NULL
                   : "only the chief initialises the model";
    case PSC__MSG_TYPE__PUSH:
    case PSC__MSG_TYPE__SPARSE_PUSH:
        return s_worker_index(self, msg->hdr->task) >= 0
                   ? NULL
                   : "only a worker of this cluster pushes gradients";
    default:
        return NULL;
    }
}

/* A request on the ROUTER; arg is the self_t. */
static void s_on_request(void *arg, const wire_msg_t *msg)
{
    self_t *self = arg;
    const char *refused = s_refused_role(self, msg);
    if (refused != NULL) {
        s_reply_error(self, msg, refused);
        return;
    }
    int type = msg->hdr->type;
    if ((type == PSC__MSG_TYPE__PUSH || type == PSC__MSG_TYPE__SPARSE_PUSH) &&
        msg->hdr->generation != self->generation) {
        s_reply_stale(self, msg);
        return;
    }
    switch (type) {
    case PSC__MSG_TYPE__INIT:
        s_on_init(self, msg);
        break;
    case PSC__MSG_TYPE__PUSH:
        s_on_push(self, msg);
        break;
    case PSC__MSG_TYPE__PULL:
        s_on_pull(self, msg);
        break;
    case PSC__MSG_TYPE__SPARSE_PUSH:
    case PSC__MSG_TYPE__SPARSE_PULL:
        s_on_sparse(self, msg);
        break;
    default:
        s_reply_error(self, msg, "not a request a ps answers");
        break;
    }
    s_check_save(self);
}

static void s_send_stats(self_t *self)
{
    Psc__PsStats st = PSC__PS_STATS__INIT;
    st.version = ps_shard_version(self->shard);
    st.applied = ps_shard_applied(self->shard);
    st.n_dropped = (size_t) self->nworkers;
    st.dropped = (uint64_t *) ps_shard_dropped(self->shard);
    st.n_staleness_hist = PS_HIST_BINS;
    st.staleness_hist = (uint64_t *) ps_shard_staleness_hist(self->shard);
    st.n_taken = (size_t) self->nworkers + 1;
    st.taken = (uint64_t *) ps_shard_taken(self->shard);
    st.n_staleness_sum = (size_t) self->nworkers + 1;
    st.staleness_sum = (uint64_t *) ps_shard_staleness_sum(self->shard);
    st.rejected_messages = self->counters.rejected;
    st.n_refused_gradients = (size_t) self->nworkers + 1;
    st.refused_gradients = (uint64_t *) ps_guard_refused(self->guard);
    st.refused_pulls = self->refused_pulls;
    st.parked = self->npending;
    if (self->sparse != NULL) {
        st.sparse_rows = ps_sparse_rows(self->sparse);
        st.sparse_bytes = ps_sparse_bytes(self->sparse);
    }
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__PS_STATS, self->task);
    h.stats = &st;
    ctl_send(self->ctl, &h);
    ps_trace_flush(self->trace);
}

static void s_on_control(self_t *self)
{
    wire_msg_t msg;
    int type = ctl_recv(self->ctl, &msg);
    if (type == 0)
        return;
    if (type == PSC__MSG_TYPE__REJOIN) {
        self->rejoin = 1;
    } else if (type == PSC__MSG_TYPE__STOP) {
        psc_log_info("the chief says stop");
        self->stop = 1;
    } else if (type == PSC__MSG_TYPE__SAVE) {
        s_on_save(self, &msg);
    } else if (type == PSC__MSG_TYPE__LOST) {
        int w = s_worker_index(self, msg.hdr->text ? msg.hdr->text : "");
        ps_shard_worker_lost(self->shard, w);
        s_release_pending(self);
    }
    wire_msg_release(&msg);
}

static void s_poll_once(self_t *self, int timeout_ms)
{
    zmq_pollitem_t items[2] = {{self->router, 0, ZMQ_POLLIN, 0},
                               {ctl_socket(self->ctl), 0, ZMQ_POLLIN, 0}};
    if (zmq_poll(items, 2, timeout_ms) <= 0)
        return;
    if (items[0].revents & ZMQ_POLLIN) {
        /* Drain what is queued so a burst costs one poll. */
        wire_drain(self->router, 1, 64, &self->counters, s_on_request, self);
        self->give_back_at = psc_now() + PSC_IDLE_GIVE_BACK_S;
    }
    if (items[1].revents & ZMQ_POLLIN)
        s_on_control(self);
}

static int s_ms_until(double when, double now)
{
    return (int) ((when - now) * 1000) + 1;
}

/* Until the next heartbeat, statistics or giving memory back. */
static int s_poll_timeout_ms(const self_t *self, double now)
{
    int ms = ctl_timeout_ms(self->ctl);
    int stats_ms = s_ms_until(self->next_stats, now);
    if (stats_ms < ms || ms < 0)
        ms = stats_ms;
    if (self->give_back_at > 0) {
        int give_ms = s_ms_until(self->give_back_at, now);
        if (give_ms < ms)
            ms = give_ms;
    }
    /* A write in progress is looked at often: the chief waits for it. */
    if (ps_save_busy(self->save) && (ms < 0 || ms > SAVE_POLL_MS))
        ms = SAVE_POLL_MS;
    return ms;
}

/* Checks the shard's numbers, and says when to check them next. */
static void s_schedule_state_check(self_t *self, double now)
{
    size_t bytes = ps_shard_layout(self->shard)->size * sizeof(float) *
                   (size_t) ps_shard_num_arrays(self->shard);
    size_t whole = bytes / STATE_CHECK_BYTES; /* whole units: 0 for most */
    double intervals = 1.0 + (double) whole;
    s_check_state(self);
    self->next_state_check = now + intervals * self->b->job->log_interval_s;
}

/* Serves the ROUTER alone while the control session registers again. */
static int s_serve_requests(void *arg, int timeout_ms)
{
    self_t *self = arg;
    zmq_pollitem_t items[2] = {{self->router, 0, ZMQ_POLLIN, 0},
                               {ctl_socket(self->ctl), 0, ZMQ_POLLIN, 0}};
    int n = zmq_poll(items, 2, timeout_ms);
    if (n > 0 && (items[0].revents & ZMQ_POLLIN))
        wire_drain(self->router, 1, 64, &self->counters, s_on_request, self);
    return n;
}

/*
 * The chief is lost or does not know this ps: the shard keeps serving
 * while it registers again; the chief that takes it rolls the model back
 * to a checkpoint. 0, or PSC_EPEERGONE when no chief comes back in time.
 */
static int s_rejoin(self_t *self, char *err)
{
    self->rejoin = 0;
    int rc = ctl_rejoin(self->ctl, s_serve_requests, self, err);
    if (rc != 0 && rc != PSC_EINTR)
        psc_log_err("%s: stopping", err);
    return rc;
}

static int s_serve_loop(self_t *self)
{
    char err[PSC_ERR_LEN];
    while (!self->stop) {
        int sig = psc_sig_stop_requested();
        if (sig) {
            psc_log_info("stopping on signal %d", sig);
            ctl_bye(self->ctl, "signal");
            return PSC_EINTR;
        }
        int rc = ctl_tick(self->ctl, err);
        if (rc != 0)
            psc_log_warn("%s", err);
        if ((rc != 0 || self->rejoin) && (rc = s_rejoin(self, err)) != 0)
            return rc;
        double now = psc_now();
        if (now >= self->next_stats) {
            s_send_stats(self);
            self->next_stats = now + self->b->job->log_interval_s;
        }
        if (now >= self->next_state_check)
            s_schedule_state_check(self, now);
        if (self->poisoned) {
            s_send_stats(self);
            ctl_bye(self->ctl, "its shard holds numbers that are not finite");
            return PSC_EINVAL;
        }
        if (self->give_back_at > 0 && now >= self->give_back_at) {
            psc_alloc_give_back();
            self->give_back_at = 0;
        }
        s_poll_once(self, s_poll_timeout_ms(self, now));
        s_finish_save(self, 0);
    }
    s_finish_save(self, 1);
    s_send_stats(self);
    ctl_bye(self->ctl, "done");
    return ctl_stop_status(self->ctl);
}

static int s_start(self_t *self, char *err)
{
    struct boot *b = self->b;
    if (self->shard == NULL)
        return PSC_ECONFIG;
    if (ps_shard_layout(self->shard)->nslices > WIRE_MAX_FRAMES)
        return psc_seterr(err, PSC_ECONFIG,
                          "this shard holds more than %d slices: raise "
                          "slice_min_bytes",
                          WIRE_MAX_FRAMES);
    int port = tfc_port(b->tfc, TFC_PS, self->index);
    int rc = boot_secure_server(b, self->router, err);
    if (rc == 0)
        rc = net_bind(self->router, port, err);
    if (rc != 0)
        return rc;
    if (b->job->trace && (rc = ps_trace_open(&self->trace, b->job, self->index,
                                             "gradients.jsonl", err)) != 0)
        return rc;
    if (b->job->trace && self->sparse != NULL) {
        rc = ps_trace_open(&self->rows_trace, b->job, self->index, "rows.jsonl",
                           err);
        if (rc != 0)
            return rc;
        self->rows_so_far =
            psc_xcalloc((size_t) self->nworkers + 1, sizeof *self->rows_so_far);
    }
    psc_log_info("listening on port %d; registering with the chief", port);
    self->ctl = ctl_new(b, err);
    if (self->ctl == NULL)
        return PSC_ENET;
    return ctl_register(self->ctl, NULL, NULL, err);
}

int ps_server_run(struct boot *b)
{
    char err[PSC_ERR_LEN] = "";
    self_t *self = s_self_new(b, err);
    int rc = s_start(self, err);
    if (rc != 0 && !psc_sig_stop_requested()) {
        psc_log_err("%s", err);
    } else if (rc == 0) {
        psc_log_info("serving %zu parameters on port %d",
                     ps_shard_layout(self->shard)->size,
                     tfc_port(b->tfc, TFC_PS, self->index));
        rc = s_serve_loop(self);
    }
    int status = psc_exit_status(rc, psc_sig_stop_requested());
    if (self->counters.rejected > 0)
        psc_log_info("refused or dropped %llu malformed messages",
                     (unsigned long long) self->counters.rejected);
    if (self->rollbacks > 0 || self->stale_pushes > 0)
        psc_log_info("rolled back %llu times; refused %llu pushes of an "
                     "earlier generation",
                     (unsigned long long) self->rollbacks,
                     (unsigned long long) self->stale_pushes);
    if (self->shard != NULL && ps_shard_out_of_place(self->shard) > 0)
        psc_log_info("%llu updates ran out of place: a reply still held the "
                     "values",
                     (unsigned long long) ps_shard_out_of_place(self->shard));
    if (self->sparse != NULL)
        psc_log_info("sparse table: %zu rows in %zu bytes at version %llu",
                     ps_sparse_rows(self->sparse),
                     ps_sparse_bytes(self->sparse),
                     (unsigned long long) ps_sparse_version(self->sparse));
    s_self_destroy(&self);
    return status;
}
