/*
 * psc-ckpt: what a checkpoint holds, as TensorFlow's inspect_checkpoint
 * shows it: step, version (the updates the shards applied), wall time,
 * model, optimizer, the variables and the files.
 * --verify reads every shard (and sparse table file) and checks its
 * CRC32C; --values prints one variable's values from wherever the shards
 * hold them; --sparse-rows prints the sparse table's rows by key.
 * Exit status: 0, 1 when the checkpoint is missing or bad, 2 for usage.
 */
#include "ckpt.h"
#include "ckpt_sparse.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "psc_opts.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_EXIT_BAD   1
#define S_EXIT_USAGE 2

enum { OPT_VERIFY = 256, OPT_VALUES, OPT_SPARSE_ROWS };

static const struct psc_opt s_opts[] = {
    {"verify", OPT_VERIFY, NULL,
     "read every shard file and check its size and CRC32C"},
    {"values", OPT_VALUES, "VAR",
     "print variable VAR alone: its shape, then its values one row a line "
     "(to compare or plot)"},
    {"sparse-rows", OPT_SPARSE_ROWS, NULL,
     "print the sparse table alone: a row a line in key order, the key, its "
     "values, '|' and its optimizer slots (the same whatever number of ps "
     "saved it)"},
    {"help", 'h', NULL, "show this help"},
};

#define NOPTS (sizeof s_opts / sizeof s_opts[0])

struct opts {
    int verify;
    int help;
    int sparse_rows;
    const char *values;
    const char *dir;
};

static void s_usage(void)
{
    printf("usage: psc-ckpt [options] MODEL_DIR|CKPT_DIR\n"
           "Show a psc checkpoint: MODEL_DIR's latest (the one its "
           "'checkpoint' file\nnames), or the folder CKPT_DIR "
           "(MODEL_DIR/ckpt-<step>).\n\noptions:\n");
    psc_opts_usage(stdout, s_opts, NOPTS);
    printf("\nexit status: 0, 1 when the checkpoint is missing or bad, 2 "
           "for bad usage\n");
}

/* 0, or PSC_EINVAL with one line in err. */
static int s_parse(int argc, char **argv, struct opts *o, char *err)
{
    struct psc_opts p;
    psc_opts_begin(&p, s_opts, NOPTS, argc, argv);
    int id;
    while ((id = psc_opts_next(&p, err)) > 0) {
        if (id == OPT_VERIFY)
            o->verify = 1;
        else if (id == OPT_VALUES)
            o->values = p.arg;
        else if (id == OPT_SPARSE_ROWS)
            o->sparse_rows = 1;
        else
            o->help = 1;
    }
    if (id < 0 || o->help)
        return id;
    o->dir = psc_opts_operand(&p);
    if (o->dir == NULL || psc_opts_operand(&p) != NULL)
        return psc_seterr(err, PSC_EINVAL, "give one MODEL_DIR or CKPT_DIR");
    return 0;
}

/* The updates the shards had applied when they saved (their highest, from
 * the shard files' headers); nothing when the files cannot be opened,
 * which --verify then says why. */
static void s_print_version(const char *dir)
{
    char err[PSC_ERR_LEN];
    ckpt_reader_t *r = ckpt_reader_open(dir, err);
    if (r == NULL)
        return;
    printf("version      %" PRIu64 "\n", ckpt_reader_version(r));
    ckpt_reader_close(&r);
}

static void s_print(const char *dir, const struct ckpt_manifest *m)
{
    char when[64] = "?";
    struct tm tm;
    time_t t = (time_t) m->wall_time;
    if (gmtime_r(&t, &tm) != NULL)
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("checkpoint   %s\n", dir);
    printf("step         %" PRIu64 "\n", m->step);
    s_print_version(dir);
    printf("wall time    %s (%.3f)\n", when, m->wall_time);
    printf("model        %s\n", m->model);
    printf("optimizer    %s (%d array%s: values%s)\n", m->optimizer, m->narrays,
           m->narrays == 1 ? "" : "s", m->narrays == 1 ? "" : " and slots");
    printf("run id       %s\n", m->run_id);
    printf("fingerprint  %016" PRIx64 "\n", m->fingerprint);
    printf("nps          %d\n", m->nps);
    printf("workers      %d\n", m->nworkers);
    int width = 4;
    size_t floats = 0;
    for (int v = 0; v < m->nvars; v++) {
        int len = (int) strlen(m->vars[v].name);
        width = len > width ? len : width;
        floats += m->vars[v].size;
    }
    printf("variables    %d, %zu floats each array\n", m->nvars, floats);
    for (int v = 0; v < m->nvars; v++) {
        char shape[48];
        snprintf(shape, sizeof shape, "[%d x %d]", m->vars[v].rows,
                 m->vars[v].cols);
        printf("  %-*s  %-14s %zu\n", width, m->vars[v].name, shape,
               m->vars[v].size);
    }
    uint64_t total = 0;
    printf("files\n");
    for (int s = 0; s < m->nps; s++) {
        printf("  %-*s  %12" PRIu64 " bytes  crc32c %08" PRIx32 "\n", width,
               m->files[s].name, m->files[s].bytes, m->files[s].crc32c);
        total += m->files[s].bytes;
    }
    const struct ckpt_sparse_info *sp = &m->sparse;
    if (sp->nfiles > 0)
        printf("sparse table %" PRIu64 " rows of width %" PRIu32 ", %" PRIu32
               " slot floats a row (%s)\n",
               sp->rows, sp->width, sp->slot_floats, m->optimizer);
    for (int s = 0; s < sp->nfiles; s++) {
        /* The table's version from the file's header (what --verify then
         * checks says why when it cannot be read). */
        struct ckpt_sparse_header h;
        char version[40] = "";
        if (ckpt_sparse_check(dir, &sp->files[s], s, m->nps, sp->width, 0, &h,
                              NULL) == 0)
            snprintf(version, sizeof version, ", version %" PRIu64, h.version);
        printf("  %-*s  %12" PRIu64 " bytes  crc32c %08" PRIx32 "  %" PRIu64
               " rows, %" PRIu64 " admission counts%s\n",
               width, sp->files[s].name, sp->files[s].bytes,
               sp->files[s].crc32c, sp->file_rows[s], sp->file_pending[s],
               version);
        total += sp->files[s].bytes;
    }
    printf("total        %" PRIu64 " bytes\n", total);
}

/* Every row of the sparse files, gathered to be sorted by key. */
struct rows {
    size_t floats; /* a row's: width + slot floats */
    size_t n;
    size_t cap;
    uint64_t *keys;
    float *vals; /* n x floats */
};

static void s_take_row(void *arg, const struct ckpt_sparse_row *r)
{
    struct rows *a = arg;
    if (a->n == a->cap) {
        a->cap = a->cap > 0 ? a->cap * 2 : 1024;
        a->keys = psc_xrealloc(a->keys, a->cap * sizeof *a->keys);
        a->vals = psc_xrealloc(a->vals, a->cap * a->floats * sizeof(float));
    }
    a->keys[a->n] = r->key;
    /* The row's values and then its slots are one block in the reader. */
    memcpy(a->vals + a->n * a->floats, r->values, a->floats * sizeof(float));
    a->n++;
}

static int s_cmp_u64(const void *x, const void *y)
{
    uint64_t a = **(const uint64_t *const *) x;
    uint64_t b = **(const uint64_t *const *) y;
    return a < b ? -1 : a > b;
}

static int s_sparse_rows(const char *dir, const struct ckpt_manifest *m,
                         char *err)
{
    const struct ckpt_sparse_info *sp = &m->sparse;
    if (sp->nfiles == 0)
        return psc_seterr(err, PSC_ENOTFOUND,
                          "checkpoint '%s' holds no sparse table", dir);
    struct rows a = {.floats = (size_t) sp->width + sp->slot_floats};
    int rc = 0;
    for (int s = 0; s < sp->nfiles && rc == 0; s++) {
        struct ckpt_sparse_header h;
        rc = ckpt_sparse_read(dir, &sp->files[s], s, m->nps, sp->width, &h,
                              s_take_row, NULL, &a, err);
    }
    const uint64_t **order = psc_xmalloc((a.n + 1) * sizeof *order);
    for (size_t i = 0; i < a.n; i++)
        order[i] = &a.keys[i];
    qsort(order, a.n, sizeof *order, s_cmp_u64);
    for (size_t i = 0; i < a.n && rc == 0; i++) {
        size_t r = (size_t) (order[i] - a.keys);
        const float *v = a.vals + r * a.floats;
        printf("%" PRIu64, a.keys[r]);
        for (size_t j = 0; j < a.floats; j++)
            printf("%s%.9g", j == sp->width ? " | " : " ", v[j]);
        printf("\n");
    }
    free(order);
    free(a.keys);
    free(a.vals);
    return rc;
}

static int s_values(const char *dir, const struct ckpt_manifest *m,
                    const char *var, char *err)
{
    const struct ckpt_var *v = NULL;
    for (int i = 0; i < m->nvars && v == NULL; i++) {
        if (strcmp(m->vars[i].name, var) == 0)
            v = &m->vars[i];
    }
    if (v == NULL)
        return psc_seterr(err, PSC_ENOTFOUND,
                          "checkpoint '%s' has no variable '%s'", dir, var);
    ckpt_reader_t *r = ckpt_reader_open(dir, err);
    if (r == NULL)
        return PSC_EIO;
    float *vals = psc_xmalloc((v->size > 0 ? v->size : 1) * sizeof *vals);
    int rc = ckpt_reader_read(r, 0, v->offset, v->size, vals, err);
    ckpt_reader_close(&r);
    if (rc == 0) {
        size_t cols = v->cols > 0 ? (size_t) v->cols : 1;
        printf("%s [%d x %d]\n", v->name, v->rows, v->cols);
        for (size_t i = 0; i < v->size; i++)
            printf("%.9g%c", vals[i], (i + 1) % cols == 0 ? '\n' : ' ');
    }
    free(vals);
    return rc;
}

int main(int argc, char **argv)
{
    psc_log_set_ident("psc-ckpt");
    struct opts o = {0};
    char err[PSC_ERR_LEN] = "";
    if (s_parse(argc, argv, &o, err) != 0) {
        fprintf(stderr, "psc-ckpt: %s: see 'psc-ckpt --help'\n", err);
        return S_EXIT_USAGE;
    }
    if (o.help) {
        s_usage();
        return 0;
    }
    char dir[PATH_MAX];
    struct ckpt_manifest m;
    int rc = ckpt_resolve(o.dir, dir, sizeof dir, err);
    if (rc == 0)
        rc = ckpt_manifest_read(dir, &m, err);
    if (rc != 0) {
        fprintf(stderr, "psc-ckpt: %s\n", err);
        return S_EXIT_BAD;
    }
    if (o.values == NULL && !o.sparse_rows)
        s_print(dir, &m);
    if (o.verify) {
        rc = ckpt_verify(dir, err);
        if (rc == 0 && o.values == NULL && !o.sparse_rows)
            printf("verified     %d files: sizes, headers and crc32c match\n",
                   m.nps + m.sparse.nfiles);
    }
    if (rc == 0 && o.values != NULL)
        rc = s_values(dir, &m, o.values, err);
    else if (rc == 0 && o.sparse_rows)
        rc = s_sparse_rows(dir, &m, err);
    ckpt_manifest_release(&m);
    fflush(stdout);
    if (rc != 0) {
        fprintf(stderr, "psc-ckpt: %s\n", err);
        return S_EXIT_BAD;
    }
    return 0;
}
