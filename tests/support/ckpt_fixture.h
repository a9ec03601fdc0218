/*
 * What the checkpoint tests share: a temporary folder, its removal, and a
 * whole checkpoint saved the way the ps and the chief save one (a shard file
 * per ps cut out by placement_new, then the manifest, then the pointer).
 */
#ifndef PSC_CKPT_FIXTURE_H
#define PSC_CKPT_FIXTURE_H

#include "ckpt.h"
#include "placement.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "test.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Variables and placement threshold of the fixture's small model. */
#define FX_SLICE_MIN 64

/* A new folder under $TMPDIR (or /tmp). Caller frees; fx_rmtree() first. */
static inline char *fx_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/psc-ckpt-XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    CHECK(mkdtemp(tmpl) != NULL);
    return psc_xstrdup(tmpl);
}

/* Removes path and everything under it (rm -rf). */
static inline void fx_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        const struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char sub[4096];
            int n = snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            if (n > 0 && (size_t) n < sizeof sub)
                fx_rmtree(sub);
        }
        if (d != NULL)
            closedir(d);
    }
    remove(path);
}

/* n values that differ from each other and from other seeds'. */
static inline float *fx_values(size_t n, int seed)
{
    float *v = psc_xmalloc((n > 0 ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (float) seed * 1000.0f + (float) i * 0.5f;
    return v;
}

struct fx_model {
    int nvars;
    size_t sizes[8];
    int rows[8];
    int cols[8];
    size_t total;
};

/* A small MLP's shapes: two sliced kernels, biases placed whole. */
static inline struct fx_model fx_model_mlp(void)
{
    struct fx_model m = {.nvars = 4};
    const int shape[4][2] = {{20, 16}, {16, 1}, {16, 10}, {10, 1}};
    for (int v = 0; v < m.nvars; v++) {
        m.rows[v] = shape[v][0];
        m.cols[v] = shape[v][1];
        m.sizes[v] = (size_t) shape[v][0] * (size_t) shape[v][1];
        m.total += m.sizes[v];
    }
    return m;
}

/*
 * Saves flat[0..narrays) (each fm->total floats) as checkpoint step of
 * model_dir over nps ps, and points the pointer at it unless point is 0.
 * Writes the path of the checkpoint folder into dir (4096 bytes).
 */
static inline void fx_save(const char *model_dir, uint64_t step,
                           const struct fx_model *fm, int nps, int narrays,
                           float *const *flat, int point, char *dir)
{
    char err[PSC_ERR_LEN] = "";
    char name[CKPT_NAME_LEN];
    ckpt_dir_name(step, name, sizeof name);
    snprintf(dir, 4096, "%s/%s", model_dir, name);
    placement_t *p = placement_new(fm->sizes, fm->nvars, nps, FX_SLICE_MIN);
    struct ckpt_manifest m;
    memset(&m, 0, sizeof m);
    m.step = step;
    m.wall_time = 1700000000.25;
    m.fingerprint = 0xfedcba9876543210ull;
    snprintf(m.run_id, sizeof m.run_id, "run-%llu", (unsigned long long) step);
    snprintf(m.model, sizeof m.model, "mlp");
    snprintf(m.optimizer, sizeof m.optimizer, "adam");
    m.narrays = narrays;
    m.nvars = fm->nvars;
    m.vars = psc_xcalloc((size_t) fm->nvars, sizeof *m.vars);
    size_t off = 0;
    for (int v = 0; v < fm->nvars; v++) {
        snprintf(m.vars[v].name, sizeof m.vars[v].name, "layer%d/%s", v / 2,
                 v % 2 ? "bias" : "kernel");
        m.vars[v].rows = fm->rows[v];
        m.vars[v].cols = fm->cols[v];
        m.vars[v].size = fm->sizes[v];
        m.vars[v].offset = off;
        off += fm->sizes[v];
    }
    m.nps = nps;
    m.files = psc_xcalloc((size_t) nps, sizeof *m.files);
    for (int s = 0; s < nps; s++) {
        struct ckpt_shard_data d = {
            .shard = s,
            .nps = nps,
            .version = step * 10,
            .size = p->shards[s].size,
            .narrays = narrays,
        };
        float *buf[CKPT_MAX_ARRAYS] = {NULL};
        for (int a = 0; a < narrays; a++) {
            buf[a] = psc_xmalloc((d.size > 0 ? d.size : 1) * sizeof(float));
            placement_gather(p, s, flat[a], buf[a]);
            d.arrays[a] = buf[a];
        }
        int rc = ckpt_write_shard(dir, &d, &m.files[s], err);
        if (rc != 0)
            fprintf(stderr, "%s\n", err);
        CHECK_OK(rc);
        for (int a = 0; a < narrays; a++)
            free(buf[a]);
    }
    m.placement = p;
    m.nworkers = 2;
    m.workers = psc_xcalloc(2, sizeof *m.workers);
    m.workers[0].position = 640;
    m.workers[0].epoch = 1;
    m.workers[1].position = 320 + step;
    m.workers[1].epoch = 2;
    int rc = ckpt_manifest_write(dir, &m, err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    CHECK_OK(rc);
    if (point)
        CHECK_OK(ckpt_pointer_update(model_dir, name, err));
    ckpt_manifest_release(&m);
}

/* Flips one bit of the byte at offset off of path. */
static inline void fx_flip(const char *path, long off)
{
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    CHECK(fseek(f, off, SEEK_SET) == 0);
    int c = fgetc(f);
    CHECK(c != EOF);
    CHECK(fseek(f, off, SEEK_SET) == 0);
    fputc(c ^ 0x10, f);
    CHECK(fclose(f) == 0);
}

#endif
