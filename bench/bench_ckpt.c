#include "bench_ckpt.h"

#include "bench_cluster.h"
#include "ckpt.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_time.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NPS      2
#define DD_BLOCK (4u << 20)

/* The manifest of what the cluster's ps wrote: one variable, as bench has. */
static int s_manifest(const bench_cluster_t *c, const char *dir,
                      struct ckpt_file *files, char *err)
{
    const struct job *job = bench_cluster_job(c);
    struct ckpt_var var;
    memset(&var, 0, sizeof var);
    snprintf(var.name, sizeof var.name, "bench/dense");
    var.rows = (int) job->bench_dense_floats;
    var.cols = 1;
    var.size = (size_t) job->bench_dense_floats;
    struct ckpt_worker worker = {0, 0};
    struct ckpt_manifest m;
    memset(&m, 0, sizeof m);
    snprintf(m.run_id, sizeof m.run_id, "psc-bench");
    snprintf(m.model, sizeof m.model, "bench");
    snprintf(m.optimizer, sizeof m.optimizer, "adam");
    m.narrays = 3;
    m.nvars = 1;
    m.vars = &var;
    m.nps = NPS;
    m.placement = (struct placement *) bench_cluster_placement(c);
    m.files = files;
    m.nworkers = 1;
    m.workers = &worker;
    return ckpt_manifest_write(dir, &m, err);
}

/* Runs a shell command and returns its wall time, or -1 when it failed. */
static double s_timed(const char *cmd)
{
    double t0 = psc_now();
    int rc = system(cmd);
    return rc == 0 ? psc_now() - t0 : -1;
}

/*
 * Drops a written file from the page cache, so that the next read comes
 * from the disk: the cold reads, ours and dd's, measure the same thing.
 */
static void s_evict(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return;
    (void) fdatasync(fd);
    (void) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
}

static void s_evict_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[8400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.')
            s_evict(path);
    }
    closedir(d);
}

/* Restores dir into new ps: the INIT's seconds, or -1. */
static double s_restore_s(const char *ps_path, const char *const *sets,
                          int nsets, const char *dir, char *err)
{
    bench_cluster_t *c =
        bench_cluster_new_from(ps_path, NPS, 1, sets, nsets, dir, err);
    if (c == NULL)
        return -1;
    double s = bench_cluster_init_s(c);
    bench_cluster_destroy(&c);
    return s;
}

static void s_add(bench_report_t *rep, const char *op, long params,
                  uint64_t bytes, double ours_s, double dd_s)
{
    struct bench_rec r;
    memset(&r, 0, sizeof r);
    snprintf(r.op, sizeof r.op, "%s", op);
    r.bytes = (size_t) bytes;
    r.ps = NPS;
    snprintf(r.variant, sizeof r.variant, "adam %ldM", params / 1000000);
    r.value = (double) bytes / ours_s / 1e9;
    r.value2 = dd_s > 0 ? (double) bytes / dd_s / 1e9 : 0;
    r.target = 0.5;
    bench_report_add(rep, &r, stdout);
}

/* Saves, then restores into new ps; dd the same bytes after each. */
static int s_figures(const char *ps_path, const char *root, long params,
                     const char *const *sets, int nsets, bench_report_t *rep,
                     char *err)
{
    bench_cluster_t *c = bench_cluster_new(ps_path, NPS, 1, sets, nsets, err);
    if (c == NULL)
        return PSC_EIO;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/ckpt-0", root);
    struct ckpt_file files[NPS];
    double t0 = psc_now();
    int rc = bench_cluster_save(c, dir, files, err);
    double save_s = psc_now() - t0;
    if (rc == 0)
        rc = s_manifest(c, dir, files, err);
    bench_cluster_destroy(&c);
    if (rc != 0)
        return rc;
    uint64_t bytes = files[0].bytes + files[1].bytes;
    char cmd[9000];
    snprintf(cmd, sizeof cmd,
             "dd if=/dev/zero of='%s/dd.bin' bs=%u count=%llu conv=fsync "
             "status=none",
             root, DD_BLOCK,
             (unsigned long long) ((bytes + DD_BLOCK - 1) / DD_BLOCK));
    double dd_write_s = s_timed(cmd);
    s_add(rep, "ckpt_write", params, bytes, save_s, dd_write_s);
    /* From the disk (both evicted from the page cache first), then again
     * from the page cache. */
    char dd_file[4300];
    snprintf(dd_file, sizeof dd_file, "%s/dd.bin", root);
    snprintf(cmd, sizeof cmd, "dd if='%s' of=/dev/null bs=%u status=none",
             dd_file, DD_BLOCK);
    s_evict_dir(dir);
    double restore_s = s_restore_s(ps_path, sets, nsets, dir, err);
    s_evict(dd_file);
    double dd_read_s = s_timed(cmd);
    double hot_s = s_restore_s(ps_path, sets, nsets, dir, err);
    double dd_hot_s = s_timed(cmd);
    if (restore_s < 0 || hot_s < 0)
        return PSC_EIO;
    s_add(rep, "ckpt_restore", params, bytes, restore_s, dd_read_s);
    s_add(rep, "ckpt_restore_hot", params, bytes, hot_s, dd_hot_s);
    return 0;
}

int bench_ckpt_run(const char *ps_path, const char *dir, long params,
                   const char *const *sets, int nsets, bench_report_t *rep,
                   char *err)
{
    char root[4096];
    snprintf(root, sizeof root, "%s/psc-bench-ckpt.XXXXXX", dir);
    if (mkdtemp(root) == NULL)
        return psc_seterr(err, PSC_EIO, "cannot make a folder in %s", dir);
    int rc = s_figures(ps_path, root, params, sets, nsets, rep, err);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0 && rc == 0)
        rc = psc_seterr(err, PSC_EIO, "cannot remove %s", root);
    return rc;
}
