/*
 * psc-ckpt: what a checkpoint holds, as TensorFlow's inspect_checkpoint
 * shows it: step, version (the updates the shards applied), wall time,
 * model, optimizer, the variables and the files.
 * --verify reads every shard and checks its CRC32C; --values prints one
 * variable's values from wherever the shards hold them.
 * Exit status: 0, 1 when the checkpoint is missing or bad, 2 for usage.
 */
#include "ckpt.h"
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

enum { OPT_VERIFY = 256, OPT_VALUES };

static const struct psc_opt s_opts[] = {
    {"verify", OPT_VERIFY, NULL,
     "read every shard file and check its size and CRC32C"},
    {"values", OPT_VALUES, "VAR",
     "print variable VAR alone: its shape, then its values one row a line "
     "(to compare or plot)"},
    {"help", 'h', NULL, "show this help"},
};

#define NOPTS (sizeof s_opts / sizeof s_opts[0])

struct opts {
    int verify;
    int help;
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
    printf("total        %" PRIu64 " bytes\n", total);
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
    if (o.values == NULL)
        s_print(dir, &m);
    if (o.verify) {
        rc = ckpt_verify(dir, err);
        if (rc == 0 && o.values == NULL)
            printf("verified     %d files: sizes, headers and crc32c match\n",
                   m.nps);
    }
    if (rc == 0 && o.values != NULL)
        rc = s_values(dir, &m, o.values, err);
    ckpt_manifest_release(&m);
    fflush(stdout);
    if (rc != 0) {
        fprintf(stderr, "psc-ckpt: %s\n", err);
        return S_EXIT_BAD;
    }
    return 0;
}
