/*
 * A model directory's checkpoint folders. The pointer file is one line in
 * TensorFlow's text format, model_checkpoint_path: "ckpt-120", replaced
 * atomically; the newest folders are checked first when looking for the
 * checkpoint to restore.
 */
#include "ckpt_dir.h"

#include "ckpt.h"
#include "ckpt_io.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_PREFIX      "ckpt-"
#define S_POINTER_KEY "model_checkpoint_path:"
/* A pointer file longer than this is not one psc wrote. */
#define S_POINTER_MAX 4096

void ckpt_dir_name(uint64_t step, char *out, size_t cap)
{
    snprintf(out, cap, S_PREFIX "%" PRIu64, step);
}

int ckpt_dir_step(const char *name, uint64_t *step)
{
    size_t plen = strlen(S_PREFIX);
    if (strncmp(name, S_PREFIX, plen) != 0)
        return 0;
    const char *d = name + plen;
    uint64_t v = 0;
    size_t n = 0;
    /* Twenty digits can overflow 64 bits; nineteen cannot. */
    for (; d[n] != '\0'; n++) {
        if (d[n] < '0' || d[n] > '9' || n == 19)
            return 0;
        v = v * 10 + (uint64_t) (d[n] - '0');
    }
    if (n == 0 || (n > 1 && d[0] == '0'))
        return 0;
    *step = v;
    return 1;
}

static int s_cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a;
    uint64_t y = *(const uint64_t *) b;
    if (x != y)
        return x > y ? -1 : 1;
    return 0;
}

/* The steps of model_dir's checkpoint folders, newest first; caller frees. */
static int s_list(const char *model_dir, uint64_t **steps, int *count,
                  char *err)
{
    DIR *d = opendir(model_dir);
    if (d == NULL && errno == ENOENT)
        return psc_seterr(err, PSC_ENOTFOUND,
                          "no checkpoint: '%s' does not exist", model_dir);
    if (d == NULL)
        return psc_seterr(err, PSC_EIO, "cannot read folder '%s': %s",
                          model_dir, strerror(errno));
    uint64_t *v = NULL;
    int n = 0;
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        uint64_t step = 0;
        struct stat st;
        if (!ckpt_dir_step(e->d_name, &step) ||
            fstatat(dirfd(d), e->d_name, &st, 0) != 0 || !S_ISDIR(st.st_mode))
            continue;
        v = psc_xrealloc(v, (size_t) (n + 1) * sizeof *v);
        v[n++] = step;
    }
    closedir(d);
    if (n > 0)
        qsort(v, (size_t) n, sizeof *v, s_cmp_desc);
    *steps = v;
    *count = n;
    return 0;
}

int ckpt_pointer_update(const char *model_dir, const char *ckpt_name, char *err)
{
    uint64_t step = 0;
    if (!ckpt_dir_step(ckpt_name, &step))
        return psc_seterr(err, PSC_EINVAL,
                          "cannot point at '%s': not a checkpoint folder name",
                          ckpt_name);
    char line[CKPT_NAME_LEN + 64];
    int n = snprintf(line, sizeof line, S_POINTER_KEY " \"%s\"\n", ckpt_name);
    return ckpt_io_write_file(model_dir, CKPT_DIR_POINTER, line, (size_t) n,
                              err);
}

/* The quoted name after the key in text; its last path component. */
static int s_parse_pointer(const char *text, const char *path, char *out,
                           size_t cap, char *err)
{
    const char *p = strstr(text, S_POINTER_KEY);
    if (p != NULL && p != text && p[-1] != '\n')
        p = NULL;
    if (p == NULL)
        return psc_seterr(err, PSC_EPROTO, "'%s' has no '%s' line", path,
                          S_POINTER_KEY);
    p += strlen(S_POINTER_KEY);
    p += strspn(p, " \t");
    const char *end = *p == '"' ? strchr(p + 1, '"') : NULL;
    const char *nl = strchr(p, '\n');
    if (end == NULL || (nl != NULL && nl < end))
        return psc_seterr(err, PSC_EPROTO,
                          "'%s': the path after '%s' is not quoted", path,
                          S_POINTER_KEY);
    p++;
    /* TensorFlow may write an absolute path; the folder is the last part. */
    for (const char *q = p; q < end; q++) {
        if (*q == '/')
            p = q + 1;
    }
    size_t len = (size_t) (end - p);
    if (len == 0 || len >= cap)
        return psc_seterr(err, PSC_EPROTO,
                          "'%s': the folder name is empty or too long", path);
    memcpy(out, p, len);
    out[len] = '\0';
    return 0;
}

int ckpt_pointer_read(const char *model_dir, char *out, size_t cap, char *err)
{
    char path[PATH_MAX];
    int rc = ckpt_io_path(path, sizeof path, model_dir, CKPT_DIR_POINTER, err);
    if (rc != 0)
        return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return psc_seterr(err, PSC_ENOTFOUND, "'%s' does not exist", path);
    if (fd < 0)
        return psc_seterr(err, PSC_EIO, "cannot open '%s': %s", path,
                          strerror(errno));
    char text[S_POINTER_MAX + 1];
    size_t len = 0;
    while (len < S_POINTER_MAX) {
        ssize_t n = read(fd, text + len, S_POINTER_MAX - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = psc_seterr(err, PSC_EIO, "cannot read '%s': %s", path,
                            strerror(errno));
        if (n <= 0)
            break;
        len += (size_t) n;
    }
    close(fd);
    if (rc != 0)
        return rc;
    text[len] = '\0';
    return s_parse_pointer(text, path, out, cap, err);
}

/* The pointer's target as a step, when it names a folder in steps. */
static int s_pointer_step(const char *model_dir, const uint64_t *steps, int n,
                          uint64_t *step)
{
    char name[CKPT_NAME_LEN] = "";
    char why[PSC_ERR_LEN];
    int rc = ckpt_pointer_read(model_dir, name, sizeof name, why);
    if (rc == PSC_ENOTFOUND)
        return 0;
    if (rc != 0) {
        psc_log_warn("ignoring the checkpoint pointer: %s", why);
        return 0;
    }
    if (ckpt_dir_step(name, step)) {
        for (int i = 0; i < n; i++) {
            if (steps[i] == *step)
                return 1;
        }
    }
    psc_log_warn("ignoring the checkpoint pointer: '%s/%s' names '%s', which "
                 "is not a checkpoint folder there",
                 model_dir, CKPT_DIR_POINTER, name);
    return 0;
}

static int s_path(char *out, size_t cap, const char *model_dir, uint64_t step,
                  char *err)
{
    char name[CKPT_NAME_LEN];
    ckpt_dir_name(step, name, sizeof name);
    return ckpt_io_path(out, cap, model_dir, name, err);
}

/* A model_dir's checkpoint steps, newest first, and the pointer's. */
struct listing {
    uint64_t *steps; /* owned */
    int n;
    uint64_t target;
    int have_target;
};

static int s_listing(const char *model_dir, struct listing *l, char *err)
{
    memset(l, 0, sizeof *l);
    int rc = s_list(model_dir, &l->steps, &l->n, err);
    if (rc == 0)
        l->have_target = s_pointer_step(model_dir, l->steps, l->n, &l->target);
    return rc;
}

int ckpt_find_latest(const char *model_dir, char *out, size_t cap, char *err)
{
    struct listing l;
    int rc = s_listing(model_dir, &l, err);
    if (rc != 0)
        return rc;
    rc = PSC_ENOTFOUND;
    for (int i = 0; i < l.n && rc == PSC_ENOTFOUND; i++) {
        char path[PATH_MAX];
        char why[PSC_ERR_LEN];
        if (s_path(path, sizeof path, model_dir, l.steps[i], err) != 0)
            continue;
        if (l.have_target && l.steps[i] > l.target) {
            /* Written after the pointer's; a complete one lost the race
             * with a crash before the pointer moved. */
            if (ckpt_check_complete(path, why) != 0)
                psc_log_warn("checkpoint '%s' is not usable: %s", path, why);
            else
                psc_log_info("checkpoint '%s' is newer than the pointer's; "
                             "restoring the pointer's",
                             path);
            continue;
        }
        if (ckpt_verify(path, why) != 0) {
            psc_log_warn("checkpoint '%s' skipped: %s", path, why);
            continue;
        }
        if (strlen(path) >= cap)
            rc = psc_seterr(err, PSC_EINVAL, "path '%s' is too long", path);
        else
            rc = 0;
        if (rc == 0)
            snprintf(out, cap, "%s", path);
    }
    free(l.steps);
    if (rc == PSC_ENOTFOUND)
        return psc_seterr(err, rc, "no valid checkpoint in '%s'", model_dir);
    return rc;
}

/* Removes a checkpoint folder and the files in it (it holds no folders). */
int ckpt_resolve(const char *dir, char *out, size_t cap, char *err)
{
    char path[PATH_MAX];
    char name[CKPT_NAME_LEN] = "";
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    if (access(path, F_OK) == 0) {
        snprintf(out, cap, "%s", dir);
        return 0;
    }
    int rc = ckpt_pointer_read(dir, name, sizeof name, err);
    if (rc == PSC_ENOTFOUND)
        return ckpt_find_latest(dir, out, cap, err);
    if (rc != 0)
        return rc;
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t) n >= cap)
        return psc_seterr(err, PSC_EINVAL, "path '%s/%s' is too long", dir,
                          name);
    return 0;
}

static int s_remove(const char *path, char *err)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return psc_seterr(err, PSC_EIO, "cannot read folder '%s': %s", path,
                          strerror(errno));
    int rc = 0;
    const struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) != 0)
            rc = psc_seterr(err, PSC_EIO, "cannot remove '%s/%s': %s", path,
                            e->d_name, strerror(errno));
    }
    closedir(d);
    if (rc == 0 && rmdir(path) != 0)
        rc = psc_seterr(err, PSC_EIO, "cannot remove folder '%s': %s", path,
                        strerror(errno));
    return rc;
}

int ckpt_prune(const char *model_dir, int keep, char *err)
{
    if (keep < 1)
        return psc_seterr(err, PSC_EINVAL,
                          "cannot keep %d checkpoints: at least 1", keep);
    struct listing l;
    int rc = s_listing(model_dir, &l, err);
    if (rc != 0)
        return rc;
    int kept = 0;
    int seen_complete = 0;
    for (int i = 0; i < l.n && rc == 0; i++) {
        char path[PATH_MAX];
        rc = s_path(path, sizeof path, model_dir, l.steps[i], err);
        if (rc != 0)
            break;
        int complete = ckpt_check_complete(path, NULL) == 0;
        int is_target = l.have_target && l.steps[i] == l.target;
        /* Incomplete ones newer than every complete one may be being
         * written now; older ones are what a crash left. */
        int drop = complete ? kept >= keep : seen_complete;
        seen_complete |= complete;
        if (complete && kept < keep)
            kept++;
        if (!drop || is_target)
            continue;
        rc = s_remove(path, err);
        if (rc == 0)
            psc_log_info("removed %s checkpoint '%s'",
                         complete ? "old" : "incomplete", path);
    }
    free(l.steps);
    return rc;
}
