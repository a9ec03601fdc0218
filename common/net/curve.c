/*
 * CURVE keys: the allow-list and a task's own key pair, read from the
 * folder psc-keygen writes, and set on sockets.
 */
#include "curve.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define CURVE_MAX_TASKS 4096
#define CURVE_MAX_OWN   16
#define ZAP_DOMAIN      "psc"

struct curve_entry {
    char task[CURVE_TASK_MAX];
    uint8_t key[CURVE_KEY_LEN];
};

/* A key pair this process acts with. */
struct curve_own {
    char task[CURVE_TASK_MAX];
    uint8_t public_key[CURVE_KEY_LEN];
    uint8_t secret_key[CURVE_KEY_LEN];
};

struct curve_keys {
    char dir[4096];
    struct curve_entry *list;
    int n;
    struct curve_own own[CURVE_MAX_OWN];
    int nown;
};

void curve_key_file(const char *task, char *out, size_t size)
{
    snprintf(out, size, "%s.key", task);
    for (char *c = out; *c != '\0'; c++) {
        if (*c == ':')
            *c = '-';
    }
}

/* Z85 text of exactly CURVE_Z85_LEN characters into 32 bytes; 0 or -1. */
static int s_decode(const char *text, size_t len, uint8_t out[CURVE_KEY_LEN])
{
    char z85[CURVE_Z85_LEN + 1];
    if (len != CURVE_Z85_LEN)
        return -1;
    memcpy(z85, text, CURVE_Z85_LEN);
    z85[CURVE_Z85_LEN] = '\0';
    return zmq_z85_decode(out, z85) != NULL ? 0 : -1;
}

static int s_valid_task(const char *s, size_t len)
{
    if (len == 0 || len >= CURVE_TASK_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' ||
              c == '_' || c == '-'))
            return 0;
    }
    return memchr(s, ':', len) != NULL;
}

static const struct curve_entry *s_find_task(const curve_keys_t *k,
                                             const char *task)
{
    for (int i = 0; i < k->n; i++) {
        if (strcmp(k->list[i].task, task) == 0)
            return &k->list[i];
    }
    return NULL;
}

static const struct curve_entry *s_find_key(const curve_keys_t *k,
                                            const uint8_t key[CURVE_KEY_LEN])
{
    for (int i = 0; i < k->n; i++) {
        if (memcmp(k->list[i].key, key, CURVE_KEY_LEN) == 0)
            return &k->list[i];
    }
    return NULL;
}

static int s_no_key(const curve_keys_t *k, const char *task, int code,
                    char *err)
{
    return psc_seterr(err, code,
                      "task '%s' has no key in '%s/%s': make the keys for "
                      "this cluster with psc-keygen",
                      task, k->dir, CURVE_LIST);
}

/* One line "TASK KEY" of the list; blank lines and '#' lines are skipped. */
static int s_parse_line(curve_keys_t *k, char *line, const char *path,
                        int lineno, char *err)
{
    line[strcspn(line, "\r\n")] = '\0';
    char *p = line + strspn(line, " \t");
    if (*p == '\0' || *p == '#')
        return 0;
    size_t tlen = strcspn(p, " \t");
    char *key = p + tlen + strspn(p + tlen, " \t");
    size_t klen = strcspn(key, " \t");
    struct curve_entry e;
    memset(&e, 0, sizeof e);
    if (!s_valid_task(p, tlen) || s_decode(key, klen, e.key) != 0 ||
        key[klen + strspn(key + klen, " \t")] != '\0')
        return psc_seterr(err, PSC_EINVAL,
                          "'%s' line %d is not 'TASK PUBLIC_KEY' (a task "
                          "name and a 40-character Z85 key): run psc-keygen "
                          "again",
                          path, lineno);
    memcpy(e.task, p, tlen);
    if (s_find_task(k, e.task) != NULL || s_find_key(k, e.key) != NULL)
        return psc_seterr(err, PSC_EINVAL,
                          "'%s' line %d lists task '%s' or its key twice: a "
                          "key may act as one task only",
                          path, lineno, e.task);
    if (k->n == CURVE_MAX_TASKS)
        return psc_seterr(err, PSC_EINVAL, "'%s' lists more than %d tasks",
                          path, CURVE_MAX_TASKS);
    k->list[k->n++] = e;
    return 0;
}

static int s_read_list(curve_keys_t *k, char *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", k->dir, CURVE_LIST);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return psc_seterr(err, PSC_EINVAL,
                          "cannot read the cluster's key list '%s': %s: run "
                          "psc-keygen --cluster ... --out %s",
                          path, strerror(errno), k->dir);
    char line[512];
    int lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f) != NULL)
        rc = s_parse_line(k, line, path, ++lineno, err);
    fclose(f);
    if (rc == 0 && k->n == 0)
        rc = psc_seterr(err, PSC_EINVAL, "'%s' lists no task: run psc-keygen",
                        path);
    return rc;
}

static int s_read_own(curve_keys_t *k, const char *task, char *err)
{
    if (k->nown == CURVE_MAX_OWN)
        return psc_seterr(err, PSC_EINVAL, "more than %d own keys",
                          CURVE_MAX_OWN);
    struct curve_own *own = &k->own[k->nown];
    char name[CURVE_TASK_MAX + 8];
    char path[4200];
    curve_key_file(task, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", k->dir, name);
    const struct curve_entry *mine = s_find_task(k, task);
    if (mine == NULL)
        return s_no_key(k, task, PSC_EINVAL, err);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return psc_seterr(err, PSC_EINVAL,
                          "cannot read task '%s''s secret key '%s': %s", task,
                          path, strerror(errno));
    char text[128] = "";
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    text[strcspn(text, "\r\n")] = '\0';
    char public_z85[CURVE_Z85_LEN + 1];
    if (s_decode(text, strlen(text), own->secret_key) != 0 ||
        zmq_curve_public(public_z85, text) != 0 ||
        zmq_z85_decode(own->public_key, public_z85) == NULL)
        return psc_seterr(err, PSC_EINVAL,
                          "'%s' is not a 40-character Z85 secret key: run "
                          "psc-keygen again",
                          path);
    memset(text, 0, sizeof text);
    if (memcmp(own->public_key, mine->key, CURVE_KEY_LEN) != 0)
        return psc_seterr(err, PSC_EINVAL,
                          "'%s' is not the key '%s/%s' lists for '%s': the "
                          "files come from different psc-keygen runs",
                          path, k->dir, CURVE_LIST, task);
    snprintf(own->task, sizeof own->task, "%s", task);
    k->nown++;
    return 0;
}

curve_keys_t *curve_keys_load(const char *dir, const char *task, char *err)
{
    curve_keys_t *k = psc_xcalloc(1, sizeof *k);
    snprintf(k->dir, sizeof k->dir, "%s", dir);
    k->list = psc_xcalloc(CURVE_MAX_TASKS, sizeof *k->list);
    if (s_read_list(k, err) != 0 ||
        (task != NULL && s_read_own(k, task, err) != 0))
        curve_keys_destroy(&k);
    return k;
}

int curve_keys_add_own(curve_keys_t *k, const char *task, char *err)
{
    return s_read_own(k, task, err);
}

void curve_keys_destroy(curve_keys_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    curve_keys_t *k = *p;
    /* Secret bytes do not outlive their use in freed memory. */
    memset(k->own, 0, sizeof k->own);
    free(k->list);
    free(k);
    *p = NULL;
}

const char *curve_keys_dir(const curve_keys_t *k)
{
    return k->dir;
}

const char *curve_keys_task_of(const curve_keys_t *k,
                               const uint8_t key[CURVE_KEY_LEN])
{
    const struct curve_entry *e = s_find_key(k, key);
    return e != NULL ? e->task : NULL;
}

int curve_keys_lists(const curve_keys_t *k, const char *task)
{
    return s_find_task(k, task) != NULL;
}

const uint8_t *curve_keys_public_of(const curve_keys_t *k, const char *task)
{
    const struct curve_entry *e = s_find_task(k, task);
    return e != NULL ? e->key : NULL;
}

/* The own key pair of task, or the first one when task is NULL. */
static const struct curve_own *s_own(const curve_keys_t *k, const char *task,
                                     char *err)
{
    for (int i = 0; i < k->nown; i++) {
        if (task == NULL || strcmp(k->own[i].task, task) == 0)
            return &k->own[i];
    }
    psc_seterr(err, PSC_EINVAL, "no secret key of '%s' was loaded from '%s'",
               task != NULL ? task : "this task", k->dir);
    return NULL;
}

int curve_secure_server(void *sock, const curve_keys_t *k, char *err)
{
    if (k == NULL)
        return 0;
    const struct curve_own *own = s_own(k, NULL, err);
    if (own == NULL)
        return PSC_EINVAL;
    int on = 1;
    zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &on, sizeof on);
    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, own->secret_key, CURVE_KEY_LEN);
    zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN));
    return 0;
}

int curve_secure_client(void *sock, const curve_keys_t *k,
                        const char *client_task, const char *server_task,
                        char *err)
{
    if (k == NULL)
        return 0;
    const struct curve_own *own = s_own(k, client_task, err);
    if (own == NULL)
        return PSC_EINVAL;
    const struct curve_entry *server = s_find_task(k, server_task);
    if (server == NULL)
        return s_no_key(k, server_task, PSC_ENOTFOUND, err);
    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server->key, CURVE_KEY_LEN);
    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, own->public_key, CURVE_KEY_LEN);
    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, own->secret_key, CURVE_KEY_LEN);
    return 0;
}

/* Writes text to dir/name through a temporary name, with mode. */
static int s_write_file(const char *dir, const char *name, const char *text,
                        mode_t mode, char *err)
{
    char path[4200];
    char tmp[4300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    size_t len = strlen(text);
    int ok = fd >= 0 && write(fd, text, len) == (ssize_t) len && fsync(fd) == 0;
    if (fd >= 0)
        ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return psc_seterr(err, PSC_EIO, "cannot write '%s': %s", path,
                          strerror(e));
    }
    return 0;
}

static int s_check_tasks(const char *const *tasks, int n, char *err)
{
    if (n <= 0 || n > CURVE_MAX_TASKS)
        return psc_seterr(err, PSC_EINVAL, "give between 1 and %d tasks",
                          CURVE_MAX_TASKS);
    for (int i = 0; i < n; i++) {
        if (!s_valid_task(tasks[i], strlen(tasks[i])))
            return psc_seterr(err, PSC_EINVAL,
                              "'%s' is not a task name such as 'worker:0'",
                              tasks[i]);
        for (int j = 0; j < i; j++) {
            if (strcmp(tasks[i], tasks[j]) == 0)
                return psc_seterr(err, PSC_EINVAL, "task '%s' is given twice",
                                  tasks[i]);
        }
    }
    return 0;
}

static int s_refuse_existing(const char *dir, int force, char *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, CURVE_LIST);
    if (!force && access(path, F_OK) == 0)
        return psc_seterr(err, PSC_EINVAL,
                          "'%s' already holds a cluster's keys: tasks running "
                          "with them would be locked out; give --force to "
                          "replace them, or another --out",
                          dir);
    return 0;
}

int curve_keys_write(const char *dir, const char *const *tasks, int n,
                     int force, char *err)
{
    int rc = s_check_tasks(tasks, n, err);
    if (rc == 0)
        rc = s_refuse_existing(dir, force, err);
    if (rc == 0)
        rc = psc_mkdirs(dir, err);
    if (rc != 0)
        return rc;
    chmod(dir, 0700);
    size_t cap = (size_t) n * (CURVE_TASK_MAX + CURVE_Z85_LEN + 2) + 128;
    char *list = psc_xmalloc(cap);
    size_t used = (size_t) snprintf(list, cap,
                                    "# psc cluster keys: TASK PUBLIC_KEY; "
                                    "each key acts as its task only\n");
    for (int i = 0; i < n && rc == 0; i++) {
        char public_z85[CURVE_Z85_LEN + 1];
        char secret_z85[CURVE_Z85_LEN + 2];
        char name[CURVE_TASK_MAX + 8];
        if (zmq_curve_keypair(public_z85, secret_z85) != 0) {
            rc = psc_seterr(err, PSC_EIO, "cannot make a key pair: %s",
                            zmq_strerror(zmq_errno()));
            break;
        }
        secret_z85[CURVE_Z85_LEN] = '\n';
        secret_z85[CURVE_Z85_LEN + 1] = '\0';
        curve_key_file(tasks[i], name, sizeof name);
        rc = s_write_file(dir, name, secret_z85, 0600, err);
        memset(secret_z85, 0, sizeof secret_z85);
        used += (size_t) snprintf(list + used, cap - used, "%s %s\n", tasks[i],
                                  public_z85);
    }
    /* The list goes last: a folder with a list is a complete one. */
    if (rc == 0)
        rc = s_write_file(dir, CURVE_LIST, list, 0644, err);
    free(list);
    return rc;
}
