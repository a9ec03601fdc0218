/*
 * psc-bench: how fast psc moves gradients and parameters, next to what
 * bare ZeroMQ does on the same machine in the same run. Starts real psc-ps
 * processes on 127.0.0.1, plays the chief, and measures with client
 * threads acting as worker:N; prints a table and, with --json, the same
 * figures as a JSON list.
 */
#include "bench_ckpt.h"
#include "bench_ckpt_load.h"
#include "bench_cluster.h"
#include "bench_raw.h"
#include "bench_report.h"
#include "bench_run.h"
#include "bench_sparse_mem.h"
#include "curve.h"
#include "optim.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "psc_num.h"
#include "psc_opts.h"
#include "psc_time.h"
#include "psclient.h"

#include <cblas.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define MIB (1024 * 1024)

struct opts {
    int quick;
    int help;
    const char *json;
    int repeats;
    double seconds;
    char ps_path[4096];
    char self[4096];
    char suites[256];
    long memory_params;
    long sparse_rows;
    long sparse_memory_rows;
    size_t sizes[8];
    int nsizes;
    size_t keys[8];
    int nkeys;
    size_t widths[8];
    int nwidths;
    const char *raw_echo;
    const char *raw_table;
    int io_threads;
    long sockbuf;
};

enum {
    OPT_JSON = 256,
    OPT_REPEATS,
    OPT_SECONDS,
    OPT_PS,
    OPT_ONLY,
    OPT_SIZES,
    OPT_KEYS,
    OPT_WIDTHS,
    OPT_MEMORY,
    OPT_ROWS,
    OPT_SPARSE_MEMORY,
    OPT_RAW_ECHO,
    OPT_RAW_TABLE,
    OPT_IO,
    OPT_SOCKBUF,
    OPT_CURVE
};

/* Options without help are internal: the raw ZeroMQ echo server's. */
static const struct psc_opt s_opts[] = {
    {"quick", 'q', NULL, "a seconds-long smoke run: small sizes, few repeats"},
    {"json", OPT_JSON, "FILE",
     "also write every figure to FILE as a JSON list"},
    {"repeats", OPT_REPEATS, "N",
     "timed runs per figure; medians and spread over these (default 5)"},
    {"seconds", OPT_SECONDS, "S", "length of one timed run (default 0.25)"},
    {"ps", OPT_PS, "PATH", "the psc-ps binary (default: beside psc-bench)"},
    {"only", OPT_ONLY, "LIST",
     "suites to run, comma-separated: dense, f16, curve, options, sparse, "
     "optimizer, memory, sparse_memory, checkpoint (default: all of "
     "these), and ckpt_slowdown (minutes: only when named)"},
    {"curve", OPT_CURVE, NULL,
     "only the CURVE rows: dense push + pull with CURVE on against off "
     "(--only curve)"},
    {"sizes", OPT_SIZES, "LIST",
     "dense bytes per request, e.g. 4K,256K,4M,16M (the default)"},
    {"keys", OPT_KEYS, "LIST",
     "sparse keys per request (default 1000,10000,100000)"},
    {"widths", OPT_WIDTHS, "LIST", "sparse row widths (default 1,64)"},
    {"memory-params", OPT_MEMORY, "N",
     "parameters of the memory figure's model (default 100000000)"},
    {"sparse-rows", OPT_ROWS, "N",
     "rows of the sparse table (default 10000000)"},
    {"sparse-memory-rows", OPT_SPARSE_MEMORY, "N",
     "rows the sparse memory figure creates, width 8, Adagrad (default "
     "100000000)"},
    {"raw-echo", OPT_RAW_ECHO, "ENDPOINT", NULL},
    {"raw-table", OPT_RAW_TABLE, "SPEC", NULL},
    {"io-threads", OPT_IO, "N", NULL},
    {"sockbuf", OPT_SOCKBUF, "BYTES", NULL},
    {"help", 'h', NULL, "show this help"},
};

#define NOPTS (sizeof s_opts / sizeof s_opts[0])

static void s_usage(void)
{
    printf("usage: psc-bench [options]\nMeasure psc's transport against bare "
           "ZeroMQ on 127.0.0.1 (see README.md, psc-bench).\n\noptions:\n");
    psc_opts_usage(stdout, s_opts, NOPTS);
}

/* What runs without --only; ckpt_slowdown takes minutes, and only when
 * asked for. */
static const char s_default_suites[] =
    "dense,f16,curve,options,sparse,optimizer,memory,sparse_memory,checkpoint";
static const char s_suite_names[] =
    "dense,f16,curve,options,sparse,optimizer,memory,sparse_memory,checkpoint,"
    "ckpt_slowdown";

/* 1 when every name of the comma-separated list is a suite's; else 0,
 * with err saying which is not. */
static int s_suites_known(const char *list, char *err)
{
    char names[sizeof s_suite_names];
    char copy[256];
    snprintf(copy, sizeof copy, "%s", list);
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        int known = 0;
        memcpy(names, s_suite_names, sizeof names);
        char *save2 = NULL;
        for (char *u = strtok_r(names, ",", &save2); u && !known;
             u = strtok_r(NULL, ",", &save2))
            known = strcmp(t, u) == 0;
        if (!known) {
            snprintf(err, PSC_ERR_LEN, "--only: no suite '%s': use %s", t,
                     s_suite_names);
            return 0;
        }
    }
    return 1;
}

static void s_defaults(struct opts *o)
{
    memset(o, 0, sizeof *o);
    o->repeats = 5;
    o->seconds = 0.25;
    o->memory_params = 100000000;
    o->sparse_rows = 10000000;
    o->sparse_memory_rows = 100000000;
    o->io_threads = 1;
    o->sockbuf = 4 * MIB;
    snprintf(o->suites, sizeof o->suites, "%s", s_default_suites);
    ssize_t n = readlink("/proc/self/exe", o->self, sizeof o->self - 1);
    o->self[n > 0 ? n : 0] = '\0';
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", o->self);
    snprintf(o->ps_path, sizeof o->ps_path, "%s/psc-ps", dirname(dir));
}

/* "4K,256K,4M" into list (at most 8); every value a multiple of mult. */
static int s_parse_list(const char *text, size_t mult, size_t *list, int *n)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    *n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        char *end = NULL;
        unsigned long long v = strtoull(t, &end, 10);
        if (*end == 'K' || *end == 'k') {
            v <<= 10;
            end++;
        } else if (*end == 'M' || *end == 'm') {
            v <<= 20;
            end++;
        }
        if (*end != '\0' || v == 0 || v % mult != 0 || *n == 8)
            return -1;
        list[(*n)++] = (size_t) v;
    }
    return *n > 0 ? 0 : -1;
}

/* --quick first, wherever it is: the options given yield to its defaults. */
static void s_quick_defaults(int argc, char **argv, struct opts *o)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0 || strcmp(argv[i], "-q") == 0) {
            o->quick = 1;
            o->repeats = 2;
            o->seconds = 0.05;
            o->sparse_rows = 100000;
        }
    }
}

static int s_parse_list_opt(int id, const char *arg, struct opts *o)
{
    size_t *list = id == OPT_SIZES  ? o->sizes
                   : id == OPT_KEYS ? o->keys
                                    : o->widths;
    int *n = id == OPT_SIZES  ? &o->nsizes
             : id == OPT_KEYS ? &o->nkeys
                              : &o->nwidths;
    if (s_parse_list(arg, id == OPT_SIZES ? 4 : 1, list, n) != 0) {
        fprintf(stderr,
                "psc-bench: '%s': give a list such as 4K,256K,4M (sizes: "
                "multiples of 4)\n",
                arg);
        return PSC_EINVAL;
    }
    return 0;
}

/* One option into o: 0, or PSC_EINVAL for a value that is not a number. */
static int s_apply(int id, const char *arg, struct opts *o)
{
    switch (id) {
    case OPT_JSON:
        o->json = arg;
        return 0;
    case OPT_REPEATS:
        return psc_num_int(arg, 1, INT_MAX, &o->repeats);
    case OPT_SECONDS:
        return psc_num_double(arg, 1e-6, 3600.0, &o->seconds);
    case OPT_PS:
        snprintf(o->ps_path, sizeof o->ps_path, "%s", arg);
        return 0;
    case OPT_ONLY:
        snprintf(o->suites, sizeof o->suites, "%s", arg);
        return 0;
    case OPT_CURVE:
        snprintf(o->suites, sizeof o->suites, "curve");
        return 0;
    case OPT_MEMORY:
        return psc_num_long(arg, 1, LONG_MAX, &o->memory_params);
    case OPT_ROWS:
        return psc_num_long(arg, 1, LONG_MAX, &o->sparse_rows);
    case OPT_SPARSE_MEMORY:
        return psc_num_long(arg, 1, 1099511627776, &o->sparse_memory_rows);
    case OPT_RAW_ECHO:
        o->raw_echo = arg;
        return 0;
    case OPT_RAW_TABLE:
        o->raw_table = arg;
        return 0;
    case OPT_IO:
        return psc_num_int(arg, 1, 64, &o->io_threads);
    case OPT_SOCKBUF:
        return psc_num_long(arg, 0, INT_MAX, &o->sockbuf);
    case 'h':
        o->help = 1;
        return 0;
    default: /* 'q': seen before parsing */
        return 0;
    }
}

/*
 * Reads argv into o: 0 to go on (o->help set after --help), or PSC_EINVAL
 * after a usage error, told in one line on stderr.
 */
static int s_parse(int argc, char **argv, struct opts *o)
{
    s_quick_defaults(argc, argv, o);
    struct psc_opts p;
    char err[PSC_ERR_LEN];
    psc_opts_begin(&p, s_opts, NOPTS, argc, argv);
    int id;
    while ((id = psc_opts_next(&p, err)) > 0) {
        if (id == OPT_SIZES || id == OPT_KEYS || id == OPT_WIDTHS) {
            if (s_parse_list_opt(id, p.arg, o) != 0)
                return PSC_EINVAL;
        } else if (s_apply(id, p.arg, o) != 0) {
            snprintf(err, sizeof err, "'%s' is out of range or not a number",
                     p.arg);
            id = PSC_EINVAL;
            break;
        }
    }
    const char *extra = id == 0 ? psc_opts_operand(&p) : NULL;
    if (extra != NULL)
        snprintf(err, sizeof err, "unexpected argument '%s'", extra);
    else if (id == 0 && !s_suites_known(o->suites, err))
        id = PSC_EINVAL;
    if (id < 0 || extra != NULL) {
        fprintf(stderr, "psc-bench: %s: see 'psc-bench --help'\n", err);
        return PSC_EINVAL;
    }
    return 0;
}

/* Everything a suite needs. */
struct ctx {
    const struct opts *o;
    bench_report_t *rep;
    int failed;
};

static int s_wants(const struct ctx *x, const char *suite)
{
    char list[256];
    snprintf(list, sizeof list, "%s", x->o->suites);
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t;
         t = strtok_r(NULL, ",", &save))
        if (strcmp(t, suite) == 0)
            return 1;
    return 0;
}

static void s_fail(struct ctx *x, const char *what, const char *err)
{
    fprintf(stderr, "psc-bench: %s: %s\n", what, err);
    x->failed = 1;
}

/* Job options of a cluster: the bench model plus extra "key=value"s. */
struct sets {
    char buf[BENCH_MAX_SETS][96];
    const char *p[BENCH_MAX_SETS];
    int n;
};

static void s_set(struct sets *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_set(struct sets *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->buf[s->n], sizeof s->buf[s->n], fmt, ap);
    va_end(ap);
    s->p[s->n] = s->buf[s->n];
    s->n++;
}

static void s_base_sets(struct sets *s)
{
    s->n = 0;
    s_set(s, "model=bench");
    s_set(s, "mode=async");
    s_set(s, "optimizer=sgd");
    s_set(s, "learning_rate=0.0001");
    s_set(s, "log_interval_s=0.5");
    s_set(s, "startup_timeout_s=60");
}

static struct bench_load s_load(const struct ctx *x, enum bench_op op,
                                int clients)
{
    struct bench_load ld = {
        op, clients, 0, 0, x->o->repeats, x->o->seconds, x->o->quick ? 2 : 5,
        0};
    return ld;
}

static const char *const s_op_names[] = {"dense_pushpull", "dense_push",
                                         "dense_pull", "sparse_pushpull"};

/* The ratio targets for dense push + pull, 1 ps, 1 client. */
static double s_dense_target(size_t bytes)
{
    return bytes >= 4 * (size_t) MIB ? 0.8 : 0.7;
}

static void s_rec_init(struct bench_rec *r, enum bench_op op, size_t bytes,
                       int ps, int clients, const struct job *job)
{
    memset(r, 0, sizeof *r);
    snprintf(r->op, sizeof r->op, "%s", s_op_names[op]);
    r->bytes = bytes;
    r->ps = ps;
    r->clients = clients;
    snprintf(r->transport, sizeof r->transport, "tcp");
    snprintf(r->dtype, sizeof r->dtype, "%s", job->wire_f16 ? "f16" : "f32");
}

static int s_cmp_double(const void *a, const void *b)
{
    double p = *(const double *) a;
    double q = *(const double *) b;
    return (p > q) - (p < q);
}

/* Median, minimum and maximum of n rates (sorted in place). */
static void s_stat_of(double *rates, int n, struct bench_stat *st)
{
    qsort(rates, (size_t) n, sizeof *rates, s_cmp_double);
    st->med = n % 2 ? rates[n / 2] : (rates[n / 2 - 1] + rates[n / 2]) / 2;
    st->min = rates[0];
    st->max = rates[n - 1];
}

/*
 * Measures psc and raw ZeroMQ with one load and adds the record. The timed
 * runs alternate (psc, raw, psc, raw, ...) so that both see the same
 * machine: on a shared host other work comes and goes.
 */
static int s_measure(struct ctx *x, bench_cluster_t *cl, bench_raw_t *raw,
                     const struct bench_load *ld, const uint64_t *keysets,
                     struct bench_rec *r)
{
    char err[PSC_ERR_LEN];
    struct bench_load one = *ld;
    one.repeats = 1;
    int n = ld->repeats;
    double *ours = psc_xcalloc((size_t) n, sizeof *ours);
    double *bare = psc_xcalloc((size_t) n, sizeof *bare);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        rc = bench_run_psc(cl, &one, keysets, &r->psc, err);
        ours[i] = r->psc.med;
        if (rc == 0 && raw != NULL)
            rc = bench_run_raw(raw, cl, &one, keysets, &r->raw, err);
        bare[i] = r->raw.med;
    }
    if (rc == 0) {
        s_stat_of(ours, n, &r->psc);
        if (raw != NULL)
            s_stat_of(bare, n, &r->raw);
        r->has_raw = raw != NULL;
        bench_report_add(x->rep, r, stdout);
    } else {
        s_fail(x, r->op, err);
    }
    free(ours);
    free(bare);
    return rc;
}

static bench_cluster_t *s_cluster(struct ctx *x, int nps, const struct sets *s)
{
    char err[PSC_ERR_LEN];
    bench_cluster_t *cl =
        bench_cluster_new(x->o->ps_path, nps, 2, s->p, s->n, err);
    if (cl == NULL)
        s_fail(x, "cannot start the ps", err);
    return cl;
}

static bench_raw_t *s_raw(struct ctx *x, int n, const char *transport, int io,
                          long sockbuf)
{
    char err[PSC_ERR_LEN];
    bench_raw_t *r = bench_raw_new(x->o->self, n, transport, io, sockbuf, err);
    if (r == NULL)
        s_fail(x, "cannot start the echo servers", err);
    return r;
}

/* raw ZeroMQ over ipc with the same messages, next to raw tcp. */
static void s_ipc(struct ctx *x, bench_cluster_t *cl, bench_raw_t *tcp,
                  size_t bytes)
{
    bench_raw_t *ipc = s_raw(x, 1, "ipc", 1, x->o->sockbuf);
    if (ipc == NULL)
        return;
    char err[PSC_ERR_LEN];
    struct bench_load ld = s_load(x, BENCH_PUSHPULL, 1);
    struct bench_rec r;
    s_rec_init(&r, BENCH_PUSHPULL, bytes, 1, 1, bench_cluster_job(cl));
    snprintf(r.op, sizeof r.op, "raw_pushpull");
    snprintf(r.transport, sizeof r.transport, "ipc");
    snprintf(r.variant, sizeof r.variant, "vs raw tcp");
    int n = ld.repeats;
    double *a = psc_xcalloc((size_t) n, sizeof *a);
    double *b = psc_xcalloc((size_t) n, sizeof *b);
    int rc = 0;
    ld.repeats = 1;
    for (int i = 0; i < n && rc == 0; i++) {
        rc = bench_run_raw(ipc, cl, &ld, NULL, &r.psc, err);
        a[i] = r.psc.med;
        if (rc == 0)
            rc = bench_run_raw(tcp, cl, &ld, NULL, &r.raw, err);
        b[i] = r.raw.med;
    }
    if (rc == 0) {
        s_stat_of(a, n, &r.psc);
        s_stat_of(b, n, &r.raw);
        r.has_raw = 1;
        bench_report_add(x->rep, &r, stdout);
    } else {
        s_fail(x, "raw ipc", err);
    }
    free(a);
    free(b);
    bench_raw_destroy(&ipc);
}

/* 1 when psc sends the cluster's dense pushes in pieces. */
static int s_in_pieces(const bench_cluster_t *cl)
{
    const placement_t *pl = bench_cluster_placement(cl);
    for (int s = 0; s < pl->nps; s++) {
        if (psclient_dense_pieces(bench_cluster_job(cl), &pl->shards[s]) > 1)
            return 1;
    }
    return 0;
}

/*
 * psc sent pieces, and so did raw ZeroMQ in the figure just measured; the
 * same bytes as one message per ps are the other reference.
 */
static void s_measure_whole(struct ctx *x, bench_cluster_t *cl,
                            bench_raw_t *raw, const struct bench_load *ld,
                            const uint64_t *keysets,
                            const struct bench_rec *measured)
{
    struct bench_load whole = *ld;
    whole.raw_whole = 1;
    struct bench_rec r = *measured;
    r.target = 0;
    snprintf(r.variant, sizeof r.variant, "vs raw 1 msg/ps");
    s_measure(x, cl, raw, &whole, keysets, &r);
}

static void s_dense_size(struct ctx *x, bench_raw_t *raw, int nps, size_t bytes,
                         const int *clients, int nclients)
{
    struct sets s;
    s_base_sets(&s);
    s_set(&s, "bench.dense_floats=%zu", bytes / 4);
    bench_cluster_t *cl = s_cluster(x, nps, &s);
    if (cl == NULL)
        return;
    for (int c = 0; c < nclients; c++) {
        for (int op = BENCH_PUSHPULL; op <= BENCH_PULL; op++) {
            struct bench_load ld = s_load(x, (enum bench_op) op, clients[c]);
            struct bench_rec r;
            s_rec_init(&r, ld.op, bytes, nps, clients[c],
                       bench_cluster_job(cl));
            if (op == BENCH_PUSHPULL && nps == 1 && clients[c] == 1) {
                r.target = s_dense_target(bytes);
                snprintf(r.target_what, sizeof r.target_what, "ratio");
            }
            s_measure(x, cl, raw, &ld, NULL, &r);
            if (op == BENCH_PUSHPULL && s_in_pieces(cl))
                s_measure_whole(x, cl, raw, &ld, NULL, &r);
        }
    }
    if (nps == 1)
        s_ipc(x, cl, raw, bytes);
    bench_cluster_destroy(&cl);
}

static void s_suite_dense(struct ctx *x, const size_t *sizes, int nsizes)
{
    static const int clients[] = {1, 2};
    for (int nps = 1; nps <= 2; nps++) {
        bench_raw_t *raw = s_raw(x, nps, "tcp", 1, x->o->sockbuf);
        for (int i = 0; i < nsizes && raw != NULL; i++)
            s_dense_size(x, raw, nps, sizes[i], clients, x->o->quick ? 1 : 2);
        bench_raw_destroy(&raw);
    }
}

/* Round trips per second of f32 and f16, for psc and for raw ZeroMQ. */
struct f16_runs {
    double *psc32;
    double *psc16;
    double *raw32;
    double *raw16;
};

/*
 * One f16 figure: psc and raw ZeroMQ, each with the f32 messages and the
 * f16 ones, in turn within every repeat, so that the time relative to f32
 * compares runs made side by side.
 */
static void s_measure_f16(struct ctx *x, bench_cluster_t *c32,
                          bench_cluster_t *c16, bench_raw_t *raw,
                          const struct bench_load *ld, struct bench_rec *r)
{
    char err[PSC_ERR_LEN];
    struct bench_load one = *ld;
    one.repeats = 1;
    int n = ld->repeats;
    struct f16_runs v = {psc_xcalloc((size_t) n, sizeof(double)),
                         psc_xcalloc((size_t) n, sizeof(double)),
                         psc_xcalloc((size_t) n, sizeof(double)),
                         psc_xcalloc((size_t) n, sizeof(double))};
    struct bench_stat st;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        rc = bench_run_psc(c32, &one, NULL, &st, err);
        v.psc32[i] = st.med;
        if (rc == 0)
            rc = bench_run_psc(c16, &one, NULL, &r->psc, err);
        v.psc16[i] = r->psc.med;
        if (rc == 0)
            rc = bench_run_raw(raw, c16, &one, NULL, &r->raw, err);
        v.raw16[i] = r->raw.med;
        if (rc == 0)
            rc = bench_run_raw(raw, c32, &one, NULL, &st, err);
        v.raw32[i] = st.med;
    }
    if (rc == 0) {
        struct bench_stat p32;
        struct bench_stat r32;
        s_stat_of(v.psc32, n, &p32);
        s_stat_of(v.raw32, n, &r32);
        s_stat_of(v.psc16, n, &r->psc);
        s_stat_of(v.raw16, n, &r->raw);
        r->has_raw = 1;
        r->compare = r->psc.med > 0 ? p32.med / r->psc.med : 0;
        r->compare_raw = r->raw.med > 0 ? r32.med / r->raw.med : 0;
        snprintf(r->compare_to, sizeof r->compare_to, "f32");
        bench_report_add(x->rep, r, stdout);
    } else {
        s_fail(x, "f16", err);
    }
    free(v.psc32);
    free(v.psc16);
    free(v.raw32);
    free(v.raw16);
}

static void s_suite_f16(struct ctx *x, const size_t *sizes, int nsizes)
{
    bench_raw_t *raw = s_raw(x, 1, "tcp", 1, x->o->sockbuf);
    for (int i = 0; i < nsizes && raw != NULL; i++) {
        struct sets s;
        s_base_sets(&s);
        s_set(&s, "bench.dense_floats=%zu", sizes[i] / 4);
        bench_cluster_t *c32 = s_cluster(x, 1, &s);
        s_set(&s, "wire_dtype=f16");
        bench_cluster_t *c16 = c32 != NULL ? s_cluster(x, 1, &s) : NULL;
        if (c16 != NULL) {
            struct bench_load ld = s_load(x, BENCH_PUSHPULL, 1);
            struct bench_rec r;
            s_rec_init(&r, BENCH_PUSHPULL, sizes[i], 1, 1,
                       bench_cluster_job(c16));
            if (sizes[i] == 4 * (size_t) MIB)
                r.target = 0.6;
            s_measure_f16(x, c32, c16, raw, &ld, &r);
        }
        int started = c16 != NULL;
        bench_cluster_destroy(&c16);
        bench_cluster_destroy(&c32);
        if (!started)
            break;
    }
    bench_raw_destroy(&raw);
}

/*
 * One CURVE figure: psc without CURVE, psc with it, and raw ZeroMQ (without
 * it), in turn within every repeat; the time relative to CURVE off
 * compares runs made side by side.
 */
static void s_measure_curve(struct ctx *x, bench_cluster_t *plain,
                            bench_cluster_t *curve, bench_raw_t *raw,
                            const struct bench_load *ld, struct bench_rec *r)
{
    char err[PSC_ERR_LEN];
    struct bench_load one = *ld;
    one.repeats = 1;
    int n = ld->repeats;
    double *off = psc_xcalloc((size_t) n, sizeof *off);
    double *on = psc_xcalloc((size_t) n, sizeof *on);
    double *bare = psc_xcalloc((size_t) n, sizeof *bare);
    struct bench_stat st;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        rc = bench_run_psc(plain, &one, NULL, &st, err);
        off[i] = st.med;
        if (rc == 0)
            rc = bench_run_psc(curve, &one, NULL, &r->psc, err);
        on[i] = r->psc.med;
        if (rc == 0)
            rc = bench_run_raw(raw, plain, &one, NULL, &r->raw, err);
        bare[i] = r->raw.med;
    }
    if (rc == 0) {
        s_stat_of(off, n, &st);
        s_stat_of(on, n, &r->psc);
        s_stat_of(bare, n, &r->raw);
        r->has_raw = 1;
        r->compare = r->psc.med > 0 ? st.med / r->psc.med : 0;
        snprintf(r->compare_to, sizeof r->compare_to, "plain");
        bench_report_add(x->rep, r, stdout);
    } else {
        s_fail(x, "curve", err);
    }
    free(off);
    free(on);
    free(bare);
}

/* The cluster's keys, for one ps and the rig's two workers, in a new dir. */
static int s_curve_keys(char *dir, size_t len, char *err)
{
    static const char *const tasks[] = {"chief:0", "ps:0", "worker:0",
                                        "worker:1"};
    snprintf(dir, len, "/tmp/psc-bench-keys-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return psc_seterr(err, PSC_EIO, "cannot make a folder for keys: %s",
                          strerror(errno));
    return curve_keys_write(dir, tasks, 4, 1, err);
}

/* Dense push + pull with CURVE on against off, 1 ps, 1 client. */
static void s_suite_curve(struct ctx *x)
{
    static const size_t sizes[] = {4096, 256 * 1024, 4 * (size_t) MIB};
    char dir[64];
    char err[PSC_ERR_LEN];
    if (s_curve_keys(dir, sizeof dir, err) != 0) {
        s_fail(x, "curve", err);
        return;
    }
    bench_raw_t *raw = s_raw(x, 1, "tcp", 1, x->o->sockbuf);
    for (int i = 0; i < (x->o->quick ? 2 : 3) && raw != NULL; i++) {
        struct sets s;
        s_base_sets(&s);
        s_set(&s, "bench.dense_floats=%zu", sizes[i] / 4);
        bench_cluster_t *plain = s_cluster(x, 1, &s);
        s_set(&s, "security.curve=true");
        s_set(&s, "security.keys_dir=%s", dir);
        bench_cluster_t *curve = plain != NULL ? s_cluster(x, 1, &s) : NULL;
        if (curve != NULL) {
            struct bench_load ld = s_load(x, BENCH_PUSHPULL, 1);
            struct bench_rec r;
            s_rec_init(&r, BENCH_PUSHPULL, sizes[i], 1, 1,
                       bench_cluster_job(curve));
            snprintf(r.variant, sizeof r.variant, "curve");
            s_measure_curve(x, plain, curve, raw, &ld, &r);
        }
        int started = curve != NULL;
        bench_cluster_destroy(&curve);
        bench_cluster_destroy(&plain);
        if (!started)
            break;
    }
    bench_raw_destroy(&raw);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        psc_log_warn("cannot remove '%s'", dir);
}

/* One option away from the defaults, with raw ZeroMQ set the same way. */
static void s_variant(struct ctx *x, int nps, int clients, size_t bytes, int io,
                      long sockbuf, const char *name)
{
    struct sets s;
    s_base_sets(&s);
    s_set(&s, "bench.dense_floats=%zu", bytes / 4);
    s_set(&s, "zmq_io_threads=%d", io);
    s_set(&s, "zmq_sockbuf_bytes=%ld", sockbuf);
    bench_raw_t *raw = s_raw(x, nps, "tcp", io, sockbuf);
    bench_cluster_t *cl = raw != NULL ? s_cluster(x, nps, &s) : NULL;
    if (cl != NULL) {
        struct bench_load ld = s_load(x, BENCH_PUSHPULL, clients);
        struct bench_rec r;
        s_rec_init(&r, BENCH_PUSHPULL, bytes, nps, clients,
                   bench_cluster_job(cl));
        snprintf(r.variant, sizeof r.variant, "%s", name);
        s_measure(x, cl, raw, &ld, NULL, &r);
    }
    bench_cluster_destroy(&cl);
    bench_raw_destroy(&raw);
}

static void s_suite_options(struct ctx *x)
{
    static const size_t sizes[] = {4 * (size_t) MIB, 16 * (size_t) MIB};
    for (int i = 0; i < 2; i++) {
        s_variant(x, 2, 2, sizes[i], 1, x->o->sockbuf, "");
        s_variant(x, 2, 2, sizes[i], 2, x->o->sockbuf, "io_threads=2");
        s_variant(x, 1, 1, sizes[i], 1, 0, "sockbuf=auto");
        s_variant(x, 1, 1, sizes[i], 1, 1 * MIB, "sockbuf=1M");
    }
}

/* Echo servers that update a table as large as the ps's (bench_raw.h),
 * with the learning rate of s_base_sets(). */
static bench_raw_t *s_raw_table(struct ctx *x, int nps, size_t width)
{
    char err[PSC_ERR_LEN];
    struct bench_raw_table t = {(uint64_t) x->o->sparse_rows, width, 0.0001};
    bench_raw_t *r =
        bench_raw_new_table(x->o->self, nps, "tcp", 1, x->o->sockbuf, &t, err);
    if (r == NULL)
        s_fail(x, "cannot start the table servers", err);
    return r;
}

/* The same psc runs as r against servers that also update a table: what
 * of psc's time is the table's, and what the rest of psc's. */
static void s_measure_table(struct ctx *x, bench_cluster_t *cl,
                            bench_raw_t *table, const struct bench_load *ld,
                            const uint64_t *keysets, const struct bench_rec *r)
{
    struct bench_rec t = *r;
    snprintf(t.variant, sizeof t.variant, "vs raw + table");
    t.target = 0;
    t.target_what[0] = '\0';
    s_measure(x, cl, table, ld, keysets, &t);
}

static void s_sparse_width(struct ctx *x, int nps, size_t width,
                           const size_t *keys, int nkeys)
{
    static const double dists[] = {0, 0.99};
    struct sets s;
    s_base_sets(&s);
    s_set(&s, "bench.dense_floats=0");
    s_set(&s, "bench.sparse_rows=%ld", x->o->sparse_rows);
    s_set(&s, "sparse.width=%zu", width);
    bench_raw_t *raw = s_raw(x, nps, "tcp", 1, x->o->sockbuf);
    bench_cluster_t *cl = raw != NULL ? s_cluster(x, nps, &s) : NULL;
    bench_raw_t *table = cl != NULL ? s_raw_table(x, nps, width) : NULL;
    for (int k = 0; k < nkeys && cl != NULL; k++) {
        for (int d = 0; d < 2; d++) {
            uint64_t *ks = bench_run_keysets(
                keys[k], BENCH_KEYSETS, (uint64_t) x->o->sparse_rows, dists[d]);
            struct bench_load ld = s_load(x, BENCH_SPARSE, 1);
            ld.keys = keys[k];
            ld.zipf = dists[d];
            struct bench_rec r;
            s_rec_init(&r, BENCH_SPARSE, keys[k] * width * 4, nps, 1,
                       bench_cluster_job(cl));
            r.keys = keys[k];
            r.width = width;
            snprintf(r.dist, sizeof r.dist, "%s", d ? "zipf" : "uniform");
            if (keys[k] == 10000 && width == 64) {
                r.target = 0.7;
                snprintf(r.target_what, sizeof r.target_what, "ratio");
            }
            s_measure(x, cl, raw, &ld, ks, &r);
            if (psclient_sparse_pieces(keys[k] / (size_t) nps, 8 + width * 4) >
                1)
                s_measure_whole(x, cl, raw, &ld, ks, &r);
            if (table != NULL && (keys[k] == 10000 || x->o->quick))
                s_measure_table(x, cl, table, &ld, ks, &r);
            free(ks);
        }
    }
    bench_cluster_destroy(&cl);
    bench_raw_destroy(&table);
    bench_raw_destroy(&raw);
}

static void s_suite_sparse(struct ctx *x)
{
    static const size_t keys[] = {1000, 10000, 100000};
    static const size_t widths[] = {1, 64};
    static const size_t quick_width[] = {8};
    const size_t *k = x->o->nkeys > 0 ? x->o->keys : keys;
    int nk = x->o->nkeys > 0 ? x->o->nkeys : (x->o->quick ? 1 : 3);
    const size_t *w = x->o->nwidths > 0 ? x->o->widths
                      : x->o->quick     ? quick_width
                                        : widths;
    int nw = x->o->nwidths > 0 ? x->o->nwidths : (x->o->quick ? 1 : 2);
    for (int nps = x->o->quick ? 2 : 1; nps <= 2; nps++) {
        for (int i = 0; i < nw; i++)
            s_sparse_width(x, nps, w[i], k, nk);
    }
}

/* The optimizer alone, in this process: no network, no ps. */
static void s_suite_optimizer(struct ctx *x)
{
    static const enum optim_kind kinds[] = {OPTIM_SGD, OPTIM_MOMENTUM,
                                            OPTIM_ADAGRAD, OPTIM_ADAM};
    static const double touched[] = {12, 20, 20, 28}; /* bytes per param */
    size_t n = (x->o->quick ? 1 : 4) * (size_t) MIB / 4;
    float *w = psc_xaligned(n * 4);
    float *s0 = psc_xaligned(n * 4);
    float *s1 = psc_xaligned(n * 4);
    float *g = psc_xaligned(n * 4);
    for (size_t i = 0; i < n; i++) {
        w[i] = 0.01f;
        g[i] = 1e-3f * (float) (i % 5);
    }
    for (int k = 0; k < 4; k++) {
        struct optim_config c;
        optim_config_init(&c);
        c.kind = kinds[k];
        optim_init_slots(&c, s0, s1, n);
        double *rates = psc_xcalloc((size_t) x->o->repeats, sizeof *rates);
        uint64_t t = 1;
        for (int r = 0; r < x->o->repeats; r++) {
            double t0 = psc_now();
            long count = 0;
            while (count == 0 || psc_now() < t0 + x->o->seconds) {
                optim_apply(&c, 1e-4f, t++, w, s0, s1, g, 1.0f, n);
                count++;
            }
            rates[r] = (double) count / (psc_now() - t0);
        }
        qsort(rates, (size_t) x->o->repeats, sizeof *rates, s_cmp_double);
        double best = rates[x->o->repeats / 2];
        struct bench_rec rec;
        memset(&rec, 0, sizeof rec);
        snprintf(rec.op, sizeof rec.op, "optimizer");
        rec.bytes = n * 4;
        snprintf(rec.transport, sizeof rec.transport, "none");
        snprintf(rec.dtype, sizeof rec.dtype, "f32");
        snprintf(rec.variant, sizeof rec.variant, "%s",
                 optim_kind_name(kinds[k]));
        rec.value = best;
        rec.value2 = 1e9 / (best * (double) n);
        rec.compare = best * (double) n * touched[k] / 1e9;
        bench_report_add(x->rep, &rec, stdout);
        free(rates);
    }
    free(w);
    free(s0);
    free(s1);
    free(g);
}

/* One worker's push + pull rounds on a big model, then the ps's memory. */
static int s_memory_rounds(bench_cluster_t *cl, char *err)
{
    struct boot b;
    void *zctx = zmq_ctx_new();
    int rc = bench_cluster_boot(cl, 0, zctx, &b, err);
    psclient_t *pc = NULL;
    const placement_t *pl = bench_cluster_placement(cl);
    size_t total = (size_t) b.job->bench_dense_floats;
    wire_buf_t *grad = wire_buf_new(total * 4 + 4);
    float *params = psc_xaligned(total * 4 + 4);
    memset(wire_buf_data(grad), 0, total * 4);
    if (rc == 0) {
        pc = psclient_new(&b, pl, NULL, err);
        rc = pc != NULL ? 0 : PSC_ENET;
    }
    for (int i = 0; i < 2 && rc == 0; i++) {
        rc = psclient_push(pc, grad);
        if (rc == 0)
            rc = psclient_wait(pc, params, NULL, NULL, 300, err);
    }
    psclient_destroy(&pc);
    wire_buf_release(&grad);
    free(params);
    if (b.tfc != NULL)
        bench_cluster_boot_release(&b);
    zmq_ctx_term(zctx);
    return rc;
}

/* The memory and checkpoint figures' model: params floats, Adam. */
static void s_adam_sets(struct sets *s, long params)
{
    s->n = 0;
    s_set(s, "model=bench");
    s_set(s, "mode=async");
    s_set(s, "optimizer=adam");
    s_set(s, "startup_timeout_s=300");
    s_set(s, "bench.dense_floats=%ld", params);
}

static void s_suite_memory(struct ctx *x)
{
    long params = x->o->quick ? 4000000 : x->o->memory_params;
    struct sets s;
    s_adam_sets(&s, params);
    bench_cluster_t *cl = s_cluster(x, 2, &s);
    if (cl == NULL)
        return;
    char err[PSC_ERR_LEN];
    if (s_memory_rounds(cl, err) != 0) {
        s_fail(x, "memory", err);
        bench_cluster_destroy(&cl);
        return;
    }
    /* Idle, the ps gives the memory of freed messages back: what it holds
     * then is its model and slots (the peak adds messages in flight). */
    poll(NULL, 0, (int) (PSC_IDLE_GIVE_BACK_S * 1000) + 500);
    long rss = 0;
    long peak = 0;
    for (int i = 0; i < 2; i++) {
        long hwm = 0;
        rss += bench_cluster_rss_kb(cl, i, &hwm);
        peak += hwm;
    }
    struct bench_rec r;
    memset(&r, 0, sizeof r);
    snprintf(r.op, sizeof r.op, "memory");
    r.ps = 2;
    snprintf(r.transport, sizeof r.transport, "tcp");
    snprintf(r.dtype, sizeof r.dtype, "f32");
    snprintf(r.variant, sizeof r.variant, "adam %ldM", params / 1000000);
    r.value = (double) rss * 1024.0 / (double) params;
    r.value2 = (double) peak * 1024.0 / (double) params;
    /* A process's own few MiB weigh too much on a small model to judge. */
    if (!x->o->quick)
        r.target = 1.05 * 4 * (1 + optim_num_slots(OPTIM_ADAM));
    bench_report_add(x->rep, &r, stdout);
    bench_cluster_destroy(&cl);
}

/* Every row of a table of 10^8 rows (by default) created on 2 ps. */
static void s_suite_sparse_memory(struct ctx *x)
{
    long rows = x->o->quick ? 2000000 : x->o->sparse_memory_rows;
    struct sets s;
    s.n = 0;
    s_set(&s, "model=bench");
    s_set(&s, "mode=async");
    s_set(&s, "optimizer=adagrad");
    s_set(&s, "learning_rate=0.01");
    s_set(&s, "log_interval_s=0.2");
    s_set(&s, "startup_timeout_s=300");
    s_set(&s, "bench.dense_floats=0");
    s_set(&s, "bench.sparse_rows=%ld", rows);
    s_set(&s, "sparse.width=%d", BENCH_SPARSE_MEM_WIDTH);
    char err[PSC_ERR_LEN];
    if (bench_sparse_mem_run(x->o->ps_path, rows, !x->o->quick, s.p, s.n,
                             x->rep, err) != 0)
        s_fail(x, "sparse_memory", err);
}

/* Checkpoint write and restore of the memory figure's model, on the disk
 * of $TMPDIR (default /var/tmp: a disk, where /tmp may be memory). */
static void s_suite_checkpoint(struct ctx *x)
{
    long params = x->o->quick ? 4000000 : x->o->memory_params;
    struct sets s;
    s_adam_sets(&s, params);
    const char *dir = getenv("TMPDIR");
    char err[PSC_ERR_LEN];
    if (bench_ckpt_run(x->o->ps_path, dir && *dir ? dir : "/var/tmp", params,
                       s.p, s.n, x->rep, err) != 0)
        s_fail(x, "checkpoint", err);
}

/*
 * Training of the checkpoint figures' model with a checkpoint every 30 s
 * against none: three pairs of 60 s runs (two checkpoints a run), or a
 * quick pair of 4 s runs with one a second (not judged).
 */
static void s_suite_ckpt_slowdown(struct ctx *x)
{
    struct sets s;
    long params = x->o->quick ? 4000000 : x->o->memory_params;
    s_adam_sets(&s, params);
    const char *dir = getenv("TMPDIR");
    struct bench_ckpt_load ld = {.ps_path = x->o->ps_path,
                                 .dir = dir && *dir ? dir : "/var/tmp",
                                 .params = params,
                                 .sets = s.p,
                                 .nsets = s.n,
                                 .seconds = x->o->quick ? 4 : 60,
                                 .interval_s = x->o->quick ? 1 : 30,
                                 .pairs = x->o->quick ? 1 : 3,
                                 .judged = !x->o->quick};
    char err[PSC_ERR_LEN];
    if (bench_ckpt_load_run(&ld, x->rep, err) != 0)
        s_fail(x, "ckpt_slowdown", err);
}

static void s_run(struct ctx *x)
{
    static const size_t full[] = {4096, 256 * 1024, 4 * (size_t) MIB,
                                  16 * (size_t) MIB};
    static const size_t quick[] = {4096, 256 * 1024};
    const size_t *sizes = x->o->quick ? quick : full;
    int nsizes = x->o->quick ? 2 : 4;
    if (x->o->nsizes > 0) {
        sizes = x->o->sizes;
        nsizes = x->o->nsizes;
    }
    if (s_wants(x, "dense"))
        s_suite_dense(x, sizes, nsizes);
    if (s_wants(x, "f16"))
        s_suite_f16(x, sizes, nsizes);
    if (s_wants(x, "curve"))
        s_suite_curve(x);
    if (s_wants(x, "options") && !x->o->quick)
        s_suite_options(x);
    if (s_wants(x, "sparse"))
        s_suite_sparse(x);
    if (s_wants(x, "optimizer"))
        s_suite_optimizer(x);
    if (s_wants(x, "memory"))
        s_suite_memory(x);
    if (s_wants(x, "sparse_memory"))
        s_suite_sparse_memory(x);
    if (s_wants(x, "checkpoint"))
        s_suite_checkpoint(x);
    if (s_wants(x, "ckpt_slowdown"))
        s_suite_ckpt_slowdown(x);
}

int main(int argc, char **argv)
{
    struct opts o;
    s_defaults(&o);
    if (s_parse(argc, argv, &o) != 0)
        return PSC_EXIT_CONFIG;
    if (o.help) {
        s_usage();
        return 0;
    }
    /* The raw ZeroMQ side gets the same allocator settings as psc's roles. */
    psc_alloc_tune_for_messages();
    if (o.raw_echo != NULL)
        return bench_raw_serve(o.raw_echo, o.io_threads, o.sockbuf,
                               o.raw_table);
    psc_log_set_ident("psc-bench");
    psc_log_set_level(PSC_LOG_WARN);
    openblas_set_num_threads(1);
    if (access(o.ps_path, X_OK) != 0) {
        fprintf(stderr, "psc-bench: cannot run '%s': give --ps PATH\n",
                o.ps_path);
        return 2;
    }
    struct ctx x = {&o, bench_report_new(), 0};
    double t0 = psc_now();
    printf("psc-bench: %d repeats of %.2f s per figure; ratio = psc / bare "
           "ZeroMQ with the same messages\n",
           o.repeats, o.seconds);
    s_run(&x);
    bench_report_summary(x.rep, stdout);
    printf("psc-bench: done in %.1f s\n", psc_now() - t0);
    char err[PSC_ERR_LEN];
    if (o.json != NULL && bench_report_json(x.rep, o.json, err) != 0) {
        fprintf(stderr, "psc-bench: %s\n", err);
        x.failed = 1;
    }
    bench_report_destroy(&x.rep);
    return x.failed ? 1 : 0;
}
