/*
 * Pipelined requests to all ps shards.
 */
#include "psclient.h"

#include "bigcopy.h"
#include "curve.h"
#include "f16.h"
#include "jobvars.h"
#include "keyplan.h"
#include "net.h"
#include "pool.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "psc_sig.h"
#include "psc_time.h"

#include <stdlib.h>
#include <string.h>

/* Sparse request state, reused from request to request. */
struct sparse {
    keyplan_t *plan;
    size_t width;
    wire_buf_t *keys; /* distinct keys, plan order */
    wire_buf_t *rows; /* gradient rows as they go on the wire */
    float *wide;      /* f16 wire: summed rows, and rows that came back */
    size_t wide_cap;  /* floats */
    float *out;       /* the caller's, while rows are awaited */
    uint64_t step;    /* a sync step's push: the version it was made from */
};

struct psclient {
    const struct boot *b;
    const placement_t *pl;
    int nps;
    void **socks;
    uint64_t *version;
    int *waiting;      /* replies the shard still owes */
    wire_msg_t *reply; /* per shard: the last PARAMS, kept until the next
                          request so their values can be read in place */
    uint64_t request_id;
    uint64_t last_step;  /* told to every ps in INIT */
    uint64_t generation; /* on every request (psclient_set_generation()) */
    char task[64];
    wire_buf_t *f16; /* gradient converted for the wire */
    int sparse_req;  /* the outstanding request is a sparse one */
    int pieced;      /* 1: the outstanding push went in pieces, 2: and
                        values came back (in dense) */
    size_t *base;    /* per shard: its first element in shard order */
    size_t total;    /* elements of every shard */
    float *dense;    /* values assembled from pieces, flat */
    struct sparse sp;
    struct psclient_traffic traffic;
    struct wire_counters counters;
    pool_t *pool;     /* shares conversions, gathers and scatters */
    int push_dropped; /* a ps answered the last push with WIRE_DROPPED */
};

/* Values to a thread at least; fewer are not worth waking one for. */
#define GRAIN ((size_t) 1 << 16)

/* Rows of width to a thread at least. */
static size_t s_row_grain(size_t width)
{
    size_t rows = ((size_t) 1 << 15) / (width > 0 ? width : 1);
    return rows > 256 ? rows : 256;
}

/* A conversion or copy of n values, as the pool's threads share it. */
struct convert_run {
    void *dst;
    const void *src;
    int f16; /* widen from (or, with narrow, to) binary16; else copy f32 */
    int narrow;
    int stream; /* copy f32 with bigcopy_stream() */
};

static void s_convert_part(void *arg, size_t begin, size_t end)
{
    const struct convert_run *r = arg;
    size_t n = end - begin;
    if (r->narrow)
        f16_from_f32((uint16_t *) r->dst + begin,
                     (const float *) r->src + begin, n);
    else if (r->f16)
        f16_to_f32((float *) r->dst + begin, (const char *) r->src + 2 * begin,
                   n);
    else if (r->stream)
        bigcopy_stream((float *) r->dst + begin,
                       (const char *) r->src + 4 * begin, n * sizeof(float));
    else
        memcpy((float *) r->dst + begin, (const char *) r->src + 4 * begin,
               n * sizeof(float));
}

/* Flat values this large are written without passing through the cache. */
static int s_stream_values(const psclient_t *c)
{
    return c->total * sizeof(float) >= BIGCOPY_STREAM_FROM;
}

/* Frame i of msg as float32 into dst (wire_frame_count() values). */
static void s_frame_into(psclient_t *c, const wire_msg_t *msg, int i,
                         float *dst)
{
    struct convert_run r = {dst, wire_frame_data(msg, i),
                            msg->hdr->codec == PSC__CODEC__F16, 0,
                            s_stream_values(c)};
    pool_for(c->pool, wire_frame_count(msg, i), GRAIN, s_convert_part, &r);
}

/* n float32 values narrowed to binary16. */
static void s_narrow(psclient_t *c, uint16_t *dst, const float *src, size_t n)
{
    struct convert_run r = {dst, src, 1, 1, 0};
    pool_for(c->pool, n, GRAIN, s_convert_part, &r);
}

psclient_t *psclient_new(const struct boot *b, const placement_t *pl,
                         const char *identity, char *err)
{
    psclient_t *c = psc_xcalloc(1, sizeof *c);
    c->b = b;
    c->pl = pl;
    c->nps = pl->nps;
    snprintf(c->task, sizeof c->task, "%s",
             identity ? identity : tfc_task_name(b->tfc));
    c->socks = psc_xcalloc((size_t) c->nps, sizeof *c->socks);
    c->version = psc_xcalloc((size_t) c->nps, sizeof *c->version);
    c->waiting = psc_xcalloc((size_t) c->nps, sizeof *c->waiting);
    c->reply = psc_xcalloc((size_t) c->nps, sizeof *c->reply);
    c->base = psc_xcalloc((size_t) c->nps, sizeof *c->base);
    for (int s = 0; s < c->nps; s++) {
        c->base[s] = c->total;
        c->total += pl->shards[s].size;
    }
    c->sp.width = jobvars_sparse_width(b->job);
    c->pool = pool_new(jobvars_apply_threads(b->job));
    double deadline = psc_now() + b->job->startup_timeout_s;
    for (int s = 0; s < c->nps; s++) {
        c->socks[s] = net_socket(b->zctx, ZMQ_DEALER, c->task);
        char server[32];
        snprintf(server, sizeof server, "ps:%d", s);
        if (c->socks[s] != NULL)
            net_set_sockbuf(c->socks[s], b->job->zmq_sockbuf_bytes);
        if (c->socks[s] == NULL ||
            curve_secure_client(c->socks[s], b->keys, c->task, server, err) !=
                0 ||
            net_connect(c->socks[s], tfc_host(b->tfc, TFC_PS, s),
                        tfc_port(b->tfc, TFC_PS, s), deadline, err) != 0) {
            psclient_destroy(&c);
            return NULL;
        }
    }
    return c;
}

void psclient_destroy(psclient_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    psclient_t *c = *p;
    for (int s = 0; s < c->nps; s++) {
        wire_msg_release(&c->reply[s]);
        net_close(&c->socks[s]);
    }
    wire_buf_release(&c->f16);
    keyplan_destroy(&c->sp.plan);
    wire_buf_release(&c->sp.keys);
    wire_buf_release(&c->sp.rows);
    free(c->sp.wide);
    pool_destroy(&c->pool);
    free(c->socks);
    free(c->version);
    free(c->waiting);
    free(c->reply);
    free(c->base);
    free(c->dense);
    free(c);
    *p = NULL;
}

uint64_t psclient_version(const psclient_t *c, int shard)
{
    return c->version[shard];
}

static int s_send(psclient_t *c, int s, Psc__Header *h,
                  const struct wire_frame *frames, int n)
{
    h->request_id = c->request_id;
    h->shard = (uint32_t) s;
    h->generation = c->generation;
    if (h->type == PSC__MSG_TYPE__INIT)
        h->last_step = c->last_step;
    size_t bytes = wire_send_bytes(h, frames, n);
    int rc = wire_send(c->socks[s], NULL, 0, h, frames, n);
    if (rc == 0) {
        c->waiting[s]++;
        if (c->sparse_req)
            c->traffic.sparse_pushed += bytes;
        else
            c->traffic.dense_pushed += bytes;
    }
    return rc;
}

/* Starts a new request: older replies are dropped when they come. */
static void s_begin(psclient_t *c, int sparse)
{
    for (int s = 0; s < c->nps; s++) {
        wire_msg_release(&c->reply[s]);
        c->waiting[s] = 0;
    }
    c->request_id++;
    c->sparse_req = sparse;
    c->pieced = 0;
    c->sp.out = NULL;
}

/* A shard without dense slices gets no dense requests. */
static int s_holds_dense(const psclient_t *c, int s)
{
    return c->pl->shards[s].nslices > 0;
}

uint64_t psclient_oldest_version(const psclient_t *c)
{
    uint64_t oldest = UINT64_MAX;
    for (int s = 0; s < c->nps; s++)
        if (s_holds_dense(c, s) && c->version[s] < oldest)
            oldest = c->version[s];
    return oldest == UINT64_MAX ? c->version[0] : oldest;
}

int psclient_pull(psclient_t *c, uint64_t min_version)
{
    s_begin(c, 0);
    for (int s = 0; s < c->nps; s++) {
        if (!s_holds_dense(c, s))
            continue;
        Psc__Header h;
        wire_header_init(&h, PSC__MSG_TYPE__PULL, c->task);
        h.min_version = min_version;
        int rc = s_send(c, s, &h, NULL, 0);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Frames of shard s's slices of a flat array (f32 or f16) in buf. */
static int s_frames(const psclient_t *c, int s, wire_buf_t *buf, size_t elem,
                    struct wire_frame *frames)
{
    const struct placement_shard *sh = &c->pl->shards[s];
    for (int i = 0; i < sh->nslices; i++) {
        const struct placement_slice *sl = &sh->slices[i];
        frames[i].data = (char *) wire_buf_data(buf) + sl->global_offset * elem;
        frames[i].bytes = sl->len * elem;
        frames[i].count = sl->len;
        frames[i].buf = buf;
    }
    return sh->nslices;
}

/*
 * Pieces a request to one shard goes in: the first leaves while the next
 * is laid out, the ps applies one while the next arrives, and the client
 * takes one in while the next comes back.
 */
#define PIECES_MAX      8
#define PIECE_MIN_BYTES ((size_t) 256 << 10)
/* Dense pieces have no keys to sort or rows to gather: smaller ones pay. */
#define DENSE_PIECES_MAX      16
#define DENSE_PIECE_MIN_BYTES ((size_t) 128 << 10)
/*
 * f32 replies in pieces cost the ps a copy of each range (a whole reply
 * is the weights buffer itself): measured, that pays from shards of 8 MiB
 * on (16 MiB: 1.3-1.6 x the round trips with one client, 1.05-1.15 x with
 * two) but not at 4 MiB (0.75 x with two clients).
 */
#define DENSE_F32_PIECES_FROM ((size_t) 8 << 20)

static size_t s_pieces(size_t units, size_t unit_bytes, size_t min_bytes,
                       size_t most)
{
    size_t pieces = units * unit_bytes / min_bytes;
    if (pieces > most)
        pieces = most;
    return pieces > units ? units : pieces > 0 ? pieces : 1;
}

size_t psclient_dense_pieces(const struct job *job,
                             const struct placement_shard *sh)
{
    /* Clipping needs the whole gradient's norm before any of it applies. */
    if (job->mode != JOB_ASYNC || job->ssp_bound >= 0 ||
        job->max_grad_norm > 0 || sh->nslices == 0)
        return 1;
    if (!job->wire_f16 &&
        (sh->nslices > 1 || sh->size * 4 < DENSE_F32_PIECES_FROM))
        return 1;
    return s_pieces(sh->size, job->wire_f16 ? 2 : 4, DENSE_PIECE_MIN_BYTES,
                    DENSE_PIECES_MAX);
}

/* A run of a shard's elements that is contiguous in the flat layout too. */
struct span {
    size_t global; /* first element in the flat array */
    size_t local;  /* first element in the shard */
    size_t n;
};

/* The spans of shard s's elements [a, b), in shard order. */
static int s_spans(const psclient_t *c, int s, size_t a, size_t b,
                   struct span *spans)
{
    const struct placement_shard *sh = &c->pl->shards[s];
    int n = 0;
    for (int i = 0; i < sh->nslices; i++) {
        const struct placement_slice *sl = &sh->slices[i];
        size_t end = sl->shard_offset + sl->len;
        size_t lo = sl->shard_offset > a ? sl->shard_offset : a;
        size_t hi = end < b ? end : b;
        if (lo < hi)
            spans[n++] = (struct span){
                sl->global_offset + (lo - sl->shard_offset), lo, hi - lo};
    }
    return n;
}

/* A buffer of at least bytes that no send holds: buf itself when it can. */
static wire_buf_t *s_free_buf(wire_buf_t **buf, size_t bytes)
{
    if (*buf == NULL || wire_buf_busy(*buf) || wire_buf_size(*buf) < bytes) {
        wire_buf_release(buf);
        *buf = wire_buf_new(bytes);
    }
    return *buf;
}

static wire_buf_t *s_wire_values(psclient_t *c, wire_buf_t *grad)
{
    if (!c->b->job->wire_f16)
        return grad;
    size_t n = wire_buf_size(grad) / sizeof(float);
    wire_buf_t *out = s_free_buf(&c->f16, n * 2);
    s_narrow(c, wire_buf_data(out), wire_buf_data(grad), n);
    return out;
}

static int s_send_values(psclient_t *c, Psc__MsgType type, wire_buf_t *buf,
                         uint32_t flags)
{
    struct wire_frame frames[WIRE_MAX_FRAMES];
    wire_buf_t *out = s_wire_values(c, buf);
    size_t elem = c->b->job->wire_f16 ? 2 : 4;
    s_begin(c, 0);
    for (int s = 0; s < c->nps; s++) {
        int init = type == PSC__MSG_TYPE__INIT;
        if (!s_holds_dense(c, s) && !init)
            continue;
        Psc__Header h;
        wire_header_init(&h, type, c->task);
        h.codec = elem == 2 ? PSC__CODEC__F16 : PSC__CODEC__F32;
        h.flags = flags;
        if (type == PSC__MSG_TYPE__PUSH)
            h.step = c->version[s];
        /* A ps without dense slices still needs INIT (its sparse rows). */
        if (init && !s_holds_dense(c, s))
            h.flags = WIRE_INIT_SEED;
        int n = s_frames(c, s, out, elem, frames);
        int rc = s_send(c, s, &h, frames, n);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Sends one message of a push in pieces: frame f at shard offset at. */
static int s_piece_message(psclient_t *c, int s, const struct wire_frame *f,
                           size_t at, uint32_t flags)
{
    Psc__Header h;
    wire_header_init(&h, PSC__MSG_TYPE__PUSH, c->task);
    h.codec = c->b->job->wire_f16 ? PSC__CODEC__F16 : PSC__CODEC__F32;
    h.flags = flags | WIRE_PIECE;
    h.step = c->version[s];
    h.offset = at;
    return s_send(c, s, &h, f, 1);
}

/*
 * Sends shard s's elements [a, b) of grad as a piece of a push: narrowed
 * to binary16 into c->f16 in shard order, one message; or in float32
 * straight from grad, one message per span (one unless a small shard's
 * slices are not contiguous in the flat array).
 */
static int s_push_piece(psclient_t *c, int s, wire_buf_t *grad, size_t a,
                        size_t b, uint32_t flags)
{
    const float *g = wire_buf_data(grad);
    struct span spans[WIRE_MAX_FRAMES];
    int n = s_spans(c, s, a, b, spans);
    if (c->b->job->wire_f16) {
        uint16_t *staged = (uint16_t *) wire_buf_data(c->f16) + c->base[s];
        for (int i = 0; i < n; i++)
            s_narrow(c, staged + spans[i].local, g + spans[i].global,
                     spans[i].n);
        struct wire_frame f = {staged + a, (b - a) * 2, b - a, c->f16};
        return s_piece_message(c, s, &f, a, flags);
    }
    for (int i = 0; i < n; i++) {
        struct wire_frame f = {g + spans[i].global, spans[i].n * sizeof(float),
                               spans[i].n, grad};
        uint32_t more = i + 1 < n ? WIRE_MORE : flags & WIRE_MORE;
        int rc = s_piece_message(c, s, &f, spans[i].local,
                                 (flags & ~WIRE_MORE) | more);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The most pieces a push to any shard goes in (1: not in pieces). */
static size_t s_push_pieces(const psclient_t *c)
{
    size_t most = 1;
    for (int s = 0; s < c->nps; s++) {
        size_t p = psclient_dense_pieces(c->b->job, &c->pl->shards[s]);
        most = p > most ? p : most;
    }
    return most;
}

/*
 * A push in pieces, piece p of every shard before piece p + 1 of any:
 * each shard applies and answers one piece while the next is on the wire.
 */
static int s_send_pieces(psclient_t *c, wire_buf_t *grad, uint32_t flags,
                         size_t most)
{
    s_begin(c, 0);
    c->pieced = 1;
    if (c->b->job->wire_f16)
        s_free_buf(&c->f16, c->total * 2 + 1);
    for (size_t p = 0; p < most; p++) {
        for (int s = 0; s < c->nps; s++) {
            size_t size = c->pl->shards[s].size;
            size_t pieces = psclient_dense_pieces(c->b->job, &c->pl->shards[s]);
            if (!s_holds_dense(c, s) || p >= pieces)
                continue;
            uint32_t more = p + 1 < pieces ? WIRE_MORE : 0;
            /* pieces >= 1: s_pieces() gives units only when pieces > units,
             * and units * unit_bytes / min_bytes is 0 when units is. */
            /* NOLINTNEXTLINE(clang-analyzer-core.DivideZero) */
            int rc = s_push_piece(c, s, grad, size * p / pieces,
                                  size * (p + 1) / pieces, flags | more);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

static int s_push(psclient_t *c, wire_buf_t *grad, uint32_t flags)
{
    size_t most = s_push_pieces(c);
    if (most > 1)
        return s_send_pieces(c, grad, flags, most);
    return s_send_values(c, PSC__MSG_TYPE__PUSH, grad, flags);
}

int psclient_push(psclient_t *c, wire_buf_t *grad)
{
    c->push_dropped = 0;
    return s_push(c, grad, WIRE_WANT_PARAMS);
}

int psclient_push_only(psclient_t *c, wire_buf_t *grad)
{
    c->push_dropped = 0;
    return s_push(c, grad, 0);
}

void psclient_set_last_step(psclient_t *c, uint64_t last_step)
{
    c->last_step = last_step;
}

void psclient_set_generation(psclient_t *c, uint64_t generation)
{
    c->generation = generation;
}

int psclient_init(psclient_t *c, const float *values)
{
    size_t total = 0;
    for (int s = 0; s < c->nps; s++)
        total += c->pl->shards[s].size;
    wire_buf_t *buf = wire_buf_new(total * sizeof(float) + 1);
    memcpy(wire_buf_data(buf), values, total * sizeof(float));
    int rc = s_send_values(c, PSC__MSG_TYPE__INIT, buf, 0);
    wire_buf_release(&buf);
    return rc;
}

int psclient_init_seed(psclient_t *c)
{
    s_begin(c, 0);
    for (int s = 0; s < c->nps; s++) {
        Psc__Header h;
        wire_header_init(&h, PSC__MSG_TYPE__INIT, c->task);
        h.flags = WIRE_INIT_SEED;
        int rc = s_send(c, s, &h, NULL, 0);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int psclient_init_restore(psclient_t *c, const char *ckpt_dir)
{
    s_begin(c, 0);
    for (int s = 0; s < c->nps; s++) {
        Psc__Header h;
        wire_header_init(&h, PSC__MSG_TYPE__INIT, c->task);
        h.flags = WIRE_INIT_RESTORE;
        h.text = (char *) ckpt_dir;
        int rc = s_send(c, s, &h, NULL, 0);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Room for count floats in sp.wide. */
static float *s_wide(psclient_t *c, size_t count)
{
    if (count > c->sp.wide_cap || c->sp.wide == NULL) {
        free(c->sp.wide);
        c->sp.wide_cap = count;
        c->sp.wide = psc_xaligned((count + 1) * sizeof(float));
    }
    return c->sp.wide;
}

/* Plans keys and makes room for a push's rows on the wire. */
static void s_sparse_plan(psclient_t *c, const uint64_t *keys, size_t n,
                          int push)
{
    if (c->sp.plan == NULL)
        c->sp.plan = keyplan_new();
    keyplan_build(c->sp.plan, keys, n, c->nps);
    size_t u = keyplan_count(c->sp.plan);
    wire_buf_t *kb = s_free_buf(&c->sp.keys, u * sizeof(uint64_t) + 1);
    memcpy(wire_buf_data(kb), keyplan_keys(c->sp.plan), u * sizeof(uint64_t));
    if (!push)
        return;
    size_t count = u * c->sp.width;
    int f16 = c->b->job->wire_f16;
    s_free_buf(&c->sp.rows, count * (f16 ? 2 : 4) + 1);
    if (f16)
        s_wide(c, count);
}

/* Gradient rows laid out for the wire, as the pool's threads share them. */
struct rows_run {
    psclient_t *c;
    size_t first; /* the piece's first row in the plan */
    const float *grad;
};

static void s_rows_part(void *arg, size_t begin, size_t end)
{
    const struct rows_run *r = arg;
    psclient_t *c = r->c;
    size_t w = c->sp.width;
    size_t at = (r->first + begin) * w;
    float *dst = c->b->job->wire_f16 ? c->sp.wide + at
                                     : (float *) wire_buf_data(c->sp.rows) + at;
    keyplan_gather_rows(c->sp.plan, r->first + begin, r->first + end, r->grad,
                        w, dst);
    if (c->b->job->wire_f16)
        f16_from_f32((uint16_t *) wire_buf_data(c->sp.rows) + at, dst,
                     (end - begin) * w);
}

/* Lays out the summed gradient rows [begin, end) of the plan for the wire. */
static void s_sparse_rows(psclient_t *c, size_t begin, size_t end,
                          const float *grad)
{
    struct rows_run r = {c, begin, grad};
    pool_for(c->pool, end - begin, s_row_grain(c->sp.width), s_rows_part, &r);
}

size_t psclient_sparse_pieces(size_t rows, size_t row_bytes)
{
    return s_pieces(rows, row_bytes, PIECE_MIN_BYTES, PIECES_MAX);
}

/* Sends the plan's rows [begin, end) of shard s as one message. */
static int s_sparse_piece(psclient_t *c, int s, Psc__MsgType type,
                          uint32_t flags, size_t begin, size_t end,
                          const float *grad)
{
    int f16 = c->b->job->wire_f16;
    size_t w = c->sp.width;
    size_t elem = f16 ? 2 : 4;
    size_t count = end - begin;
    int push = type == PSC__MSG_TYPE__SPARSE_PUSH;
    struct wire_frame f[2] = {{(uint64_t *) wire_buf_data(c->sp.keys) + begin,
                               count * sizeof(uint64_t), count, c->sp.keys},
                              {NULL, 0, 0, NULL}};
    if (push) {
        s_sparse_rows(c, begin, end, grad);
        f[1] = (struct wire_frame){(char *) wire_buf_data(c->sp.rows) +
                                       begin * w * elem,
                                   count * w * elem, count * w, c->sp.rows};
    }
    Psc__Header h;
    wire_header_init(&h, type, c->task);
    h.codec = f16 ? PSC__CODEC__F16 : PSC__CODEC__F32;
    h.flags = flags;
    h.width = (uint32_t) w;
    h.offset = begin;
    h.step = c->sp.step;
    return s_send(c, s, &h, f, push ? 2 : 1);
}

/*
 * Each shard's keys go in pieces (psclient_sparse_pieces()); a push's rows are
 * laid out piece by piece, so one leaves while the next is made.
 */
static int s_sparse_send(psclient_t *c, Psc__MsgType type, uint32_t flags,
                         const float *grad)
{
    size_t row_bytes = c->sp.width * (c->b->job->wire_f16 ? 2 : 4) + 8;
    for (int s = 0; s < c->nps; s++) {
        size_t first = keyplan_shard_first(c->sp.plan, s);
        size_t count = keyplan_shard_count(c->sp.plan, s);
        /* A sync step's part goes to every ps, empty or not: each counts
         * the step's gradients. */
        size_t pieces = count > 0 ? psclient_sparse_pieces(count, row_bytes)
                                  : (flags & WIRE_SYNC_STEP) != 0;
        for (size_t p = 0; p < pieces; p++) {
            size_t begin = first + count * p / pieces;
            size_t end = first + count * (p + 1) / pieces;
            uint32_t more = p + 1 < pieces ? WIRE_MORE : 0;
            int rc = s_sparse_piece(c, s, type, flags | more, begin, end, grad);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

int psclient_sparse_push(psclient_t *c, const uint64_t *keys, size_t n,
                         const float *grad, float *rows_out)
{
    s_begin(c, 1);
    c->push_dropped = 0;
    s_sparse_plan(c, keys, n, 1);
    c->sp.out = rows_out;
    return s_sparse_send(c, PSC__MSG_TYPE__SPARSE_PUSH,
                         rows_out != NULL ? WIRE_WANT_PARAMS : 0, grad);
}

int psclient_sparse_push_step(psclient_t *c, const uint64_t *keys, size_t n,
                              const float *grad, uint64_t step)
{
    s_begin(c, 1);
    c->push_dropped = 0;
    s_sparse_plan(c, keys, n, 1);
    c->sp.out = NULL;
    c->sp.step = step;
    int rc = s_sparse_send(c, PSC__MSG_TYPE__SPARSE_PUSH, WIRE_SYNC_STEP, grad);
    c->sp.step = 0;
    return rc;
}

int psclient_last_push_dropped(const psclient_t *c)
{
    return c->push_dropped;
}

const struct psclient_traffic *psclient_traffic(const psclient_t *c)
{
    return &c->traffic;
}

size_t psclient_sparse_rows(const psclient_t *c)
{
    return keyplan_count(c->sp.plan);
}

int psclient_sparse_pull(psclient_t *c, const uint64_t *keys, size_t n,
                         float *rows_out)
{
    s_begin(c, 1);
    s_sparse_plan(c, keys, n, 0);
    c->sp.out = rows_out;
    return s_sparse_send(c, PSC__MSG_TYPE__SPARSE_PULL, 0, NULL);
}

static void s_scatter(psclient_t *c, int s, const wire_msg_t *msg,
                      float *params)
{
    const struct placement_shard *sh = &c->pl->shards[s];
    for (int i = 0; i < sh->nslices; i++)
        s_frame_into(c, msg, i, params + sh->slices[i].global_offset);
}

/* Checks that a PARAMS reply fits shard s's layout. */
static int s_fits(const psclient_t *c, int s, const wire_msg_t *msg)
{
    const struct placement_shard *sh = &c->pl->shards[s];
    if (msg->nframes != sh->nslices)
        return 0;
    for (int i = 0; i < sh->nslices; i++) {
        if (wire_frame_count(msg, i) != sh->slices[i].len)
            return 0;
    }
    return 1;
}

/* Rows that came back, as the pool's threads share them. */
struct back_run {
    psclient_t *c;
    size_t first; /* the piece's first row in the plan */
    const wire_msg_t *msg;
};

static void s_back_part(void *arg, size_t begin, size_t end)
{
    const struct back_run *r = arg;
    psclient_t *c = r->c;
    size_t w = c->sp.width;
    const void *data = wire_frame_data(r->msg, 0);
    const float *rows = (const float *) data + begin * w;
    if (r->msg->hdr->codec == PSC__CODEC__F16 ||
        ((uintptr_t) data % sizeof(float)) != 0) {
        float *wide = c->sp.wide + r->first * w;
        struct convert_run cr = {wide, data,
                                 r->msg->hdr->codec == PSC__CODEC__F16, 0, 0};
        s_convert_part(&cr, begin * w, end * w);
        rows = wide + begin * w;
    }
    keyplan_scatter_rows(c->sp.plan, r->first + begin, r->first + end, rows, w,
                         c->sp.out);
}

/* Scatters a piece of shard s's SPARSE_PARAMS to the caller's positions. */
static int s_on_rows(psclient_t *c, int s, const wire_msg_t *msg, char *err)
{
    size_t w = c->sp.width;
    if (c->sp.out == NULL)
        return 0;
    size_t first = keyplan_shard_first(c->sp.plan, s);
    size_t end = first + keyplan_shard_count(c->sp.plan, s);
    size_t values = (size_t) wire_frame_count(msg, 0);
    size_t rows = values / (w > 0 ? w : 1);
    uint64_t at = msg->hdr->offset;
    if (msg->hdr->width != w || rows * w != values || at < first || at > end ||
        rows > end - at)
        return psc_seterr(err, PSC_EPROTO,
                          "ps:%d sent rows that do not fit the request: is "
                          "the job the same on every task?",
                          s);
    s_wide(c, keyplan_count(c->sp.plan) * w);
    struct back_run r = {c, (size_t) at, msg};
    pool_for(c->pool, rows, s_row_grain(w), s_back_part, &r);
    return 0;
}

/* Widens (or copies) a piece of shard s's values into c->dense. */
static int s_on_piece(psclient_t *c, int s, const wire_msg_t *msg, char *err)
{
    size_t size = c->pl->shards[s].size;
    uint64_t a = msg->hdr->offset;
    uint64_t count = msg->nframes == 1 ? wire_frame_count(msg, 0) : 0;
    if (msg->nframes != 1 || a > size || count > size - a)
        return psc_seterr(err, PSC_EPROTO,
                          "ps:%d sent a piece that does not fit its shard: is "
                          "the job the same on every task?",
                          s);
    if (c->dense == NULL)
        c->dense = psc_xaligned((c->total + 1) * sizeof(float));
    int f16 = msg->hdr->codec == PSC__CODEC__F16;
    const char *data = wire_frame_data(msg, 0);
    struct span spans[WIRE_MAX_FRAMES];
    int n = s_spans(c, s, a, a + count, spans);
    for (int i = 0; i < n; i++) {
        struct convert_run r = {c->dense + spans[i].global,
                                data + (spans[i].local - a) * (f16 ? 2 : 4),
                                f16, 0, s_stream_values(c)};
        pool_for(c->pool, spans[i].n, GRAIN, s_convert_part, &r);
    }
    c->version[s] = msg->hdr->step;
    c->pieced = 2;
    return 0;
}

/*
 * Handles shard s's reply. Returns 0 or a negative PSC_E* code (err says
 * why); sets *kept when msg is whole values that stay in c->reply[s] for
 * psclient_values(), else the caller releases msg.
 */
static int s_handle(psclient_t *c, int s, wire_msg_t *msg, int *kept, char *err)
{
    int type = msg->hdr->type;
    if (type == PSC__MSG_TYPE__ERROR && (msg->hdr->flags & WIRE_STALE))
        return psc_seterr(err, PSC_EAGAIN, "ps:%d rolled the model back: %s", s,
                          msg->hdr->text);
    if (type == PSC__MSG_TYPE__ERROR && (msg->hdr->flags & WIRE_NOT_READY))
        return psc_seterr(err, PSC_EAGAIN,
                          "ps:%d holds no model (restarted, or not "
                          "initialised yet): %s",
                          s, msg->hdr->text);
    if (type == PSC__MSG_TYPE__ERROR)
        return psc_seterr(err, PSC_EREFUSED, "ps:%d refused the request: %s", s,
                          msg->hdr->text);
    if (type == PSC__MSG_TYPE__PARAMS && c->pieced)
        return s_on_piece(c, s, msg, err);
    if (type == PSC__MSG_TYPE__PARAMS && !s_fits(c, s, msg))
        return psc_seterr(err, PSC_EPROTO,
                          "ps:%d sent values that do not fit its shard: is "
                          "the job the same on every task?",
                          s);
    if (type == PSC__MSG_TYPE__PARAMS) {
        c->version[s] = msg->hdr->step;
        *kept = 1;
        return 0;
    }
    if ((type == PSC__MSG_TYPE__PUSH_ACK && !c->sparse_req) ||
        type == PSC__MSG_TYPE__INIT_ACK)
        c->version[s] = msg->hdr->step;
    else if (type == PSC__MSG_TYPE__SPARSE_PARAMS)
        return s_on_rows(c, s, msg, err);
    return 0;
}

/*
 * Takes every reply shard s has queued while it owes some: a request in
 * pieces is answered piece by piece, and one poll serves a burst.
 */
static int s_on_reply(psclient_t *c, int s, char *err)
{
    while (c->waiting[s] > 0) {
        wire_msg_t *msg = &c->reply[s];
        int rc = wire_recv(c->socks[s], 0, msg, &c->counters, ZMQ_DONTWAIT);
        if (rc == PSC_EPROTO)
            continue; /* dropped and counted */
        if (rc != 0)
            return 0;
        if (msg->hdr->request_id != c->request_id) {
            wire_msg_release(msg); /* a reply (or refusal) of an older one */
            continue;
        }
        c->waiting[s]--;
        if (c->sparse_req)
            c->traffic.sparse_pulled += wire_msg_bytes(msg);
        else
            c->traffic.dense_pulled += wire_msg_bytes(msg);
        /* Only answers to a push carry the flag; any one shard's drop
         * means the gradient was not applied whole. */
        if ((msg->hdr->flags & WIRE_DROPPED) != 0 &&
            (msg->hdr->type == PSC__MSG_TYPE__PARAMS ||
             msg->hdr->type == PSC__MSG_TYPE__PUSH_ACK))
            c->push_dropped = 1;
        int kept = 0;
        rc = s_handle(c, s, msg, &kept, err);
        if (kept)
            return 0; /* whole values, kept in c->reply[s] */
        wire_msg_release(msg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The one PARAMS frame that holds every value, or NULL. */
static const wire_msg_t *s_whole(const psclient_t *c)
{
    const wire_msg_t *whole = NULL;
    for (int s = 0; s < c->nps; s++) {
        const struct placement_shard *sh = &c->pl->shards[s];
        if (sh->nslices == 0)
            continue;
        if (whole != NULL || c->reply[s].hdr == NULL || sh->nslices != 1 ||
            sh->slices[0].global_offset != 0)
            return NULL;
        whole = &c->reply[s];
    }
    return whole;
}

const float *psclient_values(psclient_t *c, float *flat)
{
    if (c->pieced == 2)
        return c->dense;
    const wire_msg_t *whole = s_whole(c);
    const void *data = whole != NULL ? wire_frame_data(whole, 0) : NULL;
    if (whole != NULL && whole->hdr->codec == PSC__CODEC__F32 &&
        ((uintptr_t) data % sizeof(float)) == 0)
        return data;
    for (int s = 0; s < c->nps; s++) {
        if (c->reply[s].hdr != NULL)
            s_scatter(c, s, &c->reply[s], flat);
    }
    return flat;
}

static int s_outstanding(const psclient_t *c)
{
    for (int s = 0; s < c->nps; s++) {
        if (c->waiting[s])
            return 1;
    }
    return 0;
}

/*
 * Serves the chief's session. Returns 0, PSCLIENT_WAIT_CTL with the type of
 * a chief message in *ctl_type, or PSC_EPEERGONE (err says so).
 */
static int s_check_ctl(ctl_t *ctl, int *ctl_type, char *err)
{
    if (ctl_tick(ctl, err) != 0)
        return PSC_EPEERGONE;
    wire_msg_t msg;
    int type = ctl_recv(ctl, &msg);
    if (type == 0)
        return 0;
    wire_msg_release(&msg);
    *ctl_type = type;
    return PSCLIENT_WAIT_CTL;
}

int psclient_wait(psclient_t *c, float *params, ctl_t *ctl, int *ctl_type,
                  double timeout_s, char *err)
{
    zmq_pollitem_t items[WIRE_MAX_FRAMES + 1];
    int shard_of[WIRE_MAX_FRAMES];
    double deadline = timeout_s > 0 ? psc_now() + timeout_s : 0;
    while (s_outstanding(c)) {
        if (psc_sig_stop_requested())
            return psc_seterr(err, PSC_EINTR, "stopped by signal");
        if (deadline > 0 && psc_now() > deadline)
            return psc_seterr(err, PSC_ETIMEDOUT, "no answer from the ps");
        /* Only shards still owing a reply: late ones wait for the next. */
        int n = 0;
        for (int s = 0; s < c->nps && n < WIRE_MAX_FRAMES; s++) {
            if (!c->waiting[s])
                continue;
            shard_of[n] = s;
            items[n++] = (zmq_pollitem_t){c->socks[s], 0, ZMQ_POLLIN, 0};
        }
        items[n] =
            (zmq_pollitem_t){ctl ? ctl_socket(ctl) : NULL, 0, ZMQ_POLLIN, 0};
        int timeout = ctl ? ctl_timeout_ms(ctl) : 1000;
        zmq_poll(items, ctl ? n + 1 : n, timeout);
        for (int i = 0; i < n; i++) {
            int rc = (items[i].revents & ZMQ_POLLIN)
                         ? s_on_reply(c, shard_of[i], err)
                         : 0;
            if (rc != 0)
                return rc;
        }
        if (ctl != NULL) {
            int rc = s_check_ctl(ctl, ctl_type, err);
            if (rc != 0)
                return rc;
        }
    }
    c->sp.out = NULL;
    if (params != NULL) {
        const float *v = psclient_values(c, params);
        if (v != params)
            memcpy(params, v, c->total * sizeof(float));
    }
    return 0;
}
