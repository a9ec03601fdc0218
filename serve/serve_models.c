/*
 * The version manager. Per model, a table of loaded versions behind one
 * mutex; each entry counts the requests holding it. A poll lists the base
 * path, loads what the policy wants with export_read() outside the lock
 * (requests go on meanwhile) and then swaps the table under it. A version
 * no longer wanted is retired: freed at once when unreferenced, else by
 * the release that drops its last reference.
 */
#define _GNU_SOURCE /* syscall(SYS_gettid) */

#include "serve_models.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "psc_num.h"
#include "psc_time.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_FOUND 4096 /* numbered folders looked at per base path */

/* A loaded version; v first, so a serve_version pointer is an entry's. */
struct s_entry {
    struct serve_version v;
    int refs;    /* requests holding it */
    int retired; /* no longer published; freed when refs reaches 0 */
    struct s_entry *next;
};

/* A numbered folder of a base path, and what identifies its contents. */
struct s_found {
    long number;
    char dir[PATH_MAX];
    uint64_t stamp[5]; /* inode, mtime and ctime (s, ns) */
};

/* A version export_read() refused, not tried again until its stamp moves. */
struct s_failure {
    long number;
    uint64_t stamp[5];
};

/* What GetModelStatus reports for one version. */
struct s_state {
    long number;
    int available;
    int code; /* 0 or the PSC_E* of its refusal */
    char message[PSC_ERR_LEN];
};

struct s_model {
    /*
     * A copy of the model's config. A reload of --model_config_file (the
     * poll thread's) changes its policy and labels under mu; the name and
     * base path never change.
     */
    struct serve_model_config cfg;
    /* Changed by the poll under mu; read by requests under mu. */
    struct s_entry *loaded[SERVE_MAX_VERSIONS];
    int nloaded;
    struct s_state states[SERVE_MAX_VERSIONS];
    int nstates;
    /* The poll's own (under poll_mu). */
    struct s_failure failures[SERVE_MAX_VERSIONS];
    int nfailures;
    int list_failed; /* the last listing failed (logged once) */
    int empty;       /* the last listing found no version (logged once) */
};

/* One content of the config file: a rewrite or a rename changes it. */
struct s_stamp {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

struct serve_models {
    const struct serve_config *c;
    struct s_stamp config_stamp; /* the config file in force (poll_mu) */
    pthread_mutex_t mu;          /* the tables, refs, retired, stop */
    pthread_mutex_t poll_mu;     /* one poll at a time */
    pthread_cond_t wake;
    int stop;
    int started;
    pthread_t thread;
    struct s_entry *retired; /* retired entries still referenced */
    int nmodels;
    struct s_model models[SERVE_MAX_MODELS];
};

/* ---- entries and states ------------------------------------------- */

static void s_entry_free(struct s_entry *e)
{
    psc_log_debug("freed version %ld of '%s'", e->v.number, e->v.model_name);
    export_model_release(&e->v.model);
    free(e);
}

static struct s_entry *s_loaded(const struct s_model *m, long number)
{
    for (int i = 0; i < m->nloaded; i++) {
        if (m->loaded[i]->v.number == number)
            return m->loaded[i];
    }
    return NULL;
}

static struct s_entry *s_newest(const struct s_model *m)
{
    struct s_entry *best = NULL;
    for (int i = 0; i < m->nloaded; i++) {
        if (best == NULL || m->loaded[i]->v.number > best->v.number)
            best = m->loaded[i];
    }
    return best;
}

/* Records a version's state; the lowest unavailable one makes room. */
static void s_state_set(struct s_model *m, long number, int available, int code,
                        const char *message)
{
    struct s_state *st = NULL;
    for (int i = 0; i < m->nstates && st == NULL; i++) {
        if (m->states[i].number == number)
            st = &m->states[i];
    }
    if (st == NULL && m->nstates < SERVE_MAX_VERSIONS)
        st = &m->states[m->nstates++];
    for (int i = 0; i < m->nstates && st == NULL; i++) {
        if (!m->states[i].available &&
            (st == NULL || m->states[i].number < st->number))
            st = &m->states[i];
    }
    if (st == NULL)
        return;
    st->number = number;
    st->available = available;
    st->code = code;
    snprintf(st->message, sizeof st->message, "%s", message);
}

/* ---- listing a base path ------------------------------------------ */

static int s_by_number_desc(const void *a, const void *b)
{
    long x = ((const struct s_found *) a)->number;
    long y = ((const struct s_found *) b)->number;
    return (x < y) - (x > y);
}

static int s_numbered(const char *name, long *number)
{
    size_t n = strlen(name);
    if (n == 0 || n > 18 || strspn(name, "0123456789") != n)
        return 0;
    return psc_num_long(name, 0, LONG_MAX, number) == 0;
}

/* Fills f from base/name when it is a numbered folder; 1 then, else 0. */
static int s_found_one(const char *base, const char *name, struct s_found *f)
{
    struct stat st;
    if (!s_numbered(name, &f->number))
        return 0;
    int n = snprintf(f->dir, sizeof f->dir, "%s/%s", base, name);
    if (n < 0 || (size_t) n >= sizeof f->dir)
        return 0;
    if (stat(f->dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return 0;
    f->stamp[0] = (uint64_t) st.st_ino;
    f->stamp[1] = (uint64_t) st.st_mtim.tv_sec;
    f->stamp[2] = (uint64_t) st.st_mtim.tv_nsec;
    f->stamp[3] = (uint64_t) st.st_ctim.tv_sec;
    f->stamp[4] = (uint64_t) st.st_ctim.tv_nsec;
    return 1;
}

/*
 * The numbered folders under base, newest first (dot-folders, files and
 * other names are skipped). Caller frees *out. Returns the count, or
 * PSC_EIO with err.
 */
static int s_list(const char *base, struct s_found **out, char *err)
{
    *out = NULL;
    DIR *d = opendir(base);
    if (d == NULL) {
        psc_seterr(err, PSC_EIO, "cannot list '%s': %s", base, strerror(errno));
        return PSC_EIO;
    }
    int cap = 16;
    struct s_found *found = psc_xmalloc((size_t) cap * sizeof *found);
    int n = 0;
    const struct dirent *e;
    while (n < S_MAX_FOUND && (e = readdir(d)) != NULL) {
        if (n == cap) {
            cap *= 2;
            found = psc_xrealloc(found, (size_t) cap * sizeof *found);
        }
        n += s_found_one(base, e->d_name, &found[n]);
    }
    closedir(d);
    if (n > 0)
        qsort(found, (size_t) n, sizeof *found, s_by_number_desc);
    *out = found;
    return n;
}

/* ---- one model's poll --------------------------------------------- */

static int s_policy_wants(const struct serve_model_config *cfg, long number)
{
    if (cfg->policy != SERVE_SPECIFIC)
        return 1;
    for (int i = 0; i < cfg->nversions; i++) {
        if (cfg->versions[i] == number)
            return 1;
    }
    return 0;
}

static struct s_failure *s_failure(struct s_model *m, long number)
{
    for (int i = 0; i < m->nfailures; i++) {
        if (m->failures[i].number == number)
            return &m->failures[i];
    }
    return NULL;
}

static void s_failure_drop(struct s_model *m, struct s_failure *f)
{
    *f = m->failures[--m->nfailures];
}

/* Forgets the failures of folders no longer there. */
static void s_failures_prune(struct s_model *m, const struct s_found *found,
                             int n)
{
    for (int i = 0; i < m->nfailures;) {
        int present = 0;
        for (int k = 0; k < n && !present; k++)
            present = found[k].number == m->failures[i].number;
        if (present)
            i++;
        else
            s_failure_drop(m, &m->failures[i]);
    }
}

/* What one poll of a model decided, before it is published. */
struct s_plan {
    long want[SERVE_MAX_VERSIONS]; /* versions to publish */
    int nwant;
    struct s_entry *fresh[SERVE_MAX_VERSIONS]; /* loaded by this poll */
    int nfresh;
    long refused[SERVE_MAX_VERSIONS]; /* refused by this poll */
    int refused_code[SERVE_MAX_VERSIONS];
    char refused_msg[SERVE_MAX_VERSIONS][PSC_ERR_LEN];
    int nrefused;
};

static void s_refuse(struct s_model *m, struct s_plan *plan,
                     const struct s_found *f, int code, const char *msg)
{
    const struct s_entry *serving = s_newest(m);
    if (serving != NULL)
        psc_log_warn("refusing version %ld of '%s': %s; still serving "
                     "version %ld",
                     f->number, m->cfg.name, msg, serving->v.number);
    else
        psc_log_warn("refusing version %ld of '%s': %s; no version of it "
                     "is served",
                     f->number, m->cfg.name, msg);
    if (m->nfailures < SERVE_MAX_VERSIONS) {
        struct s_failure *rec = &m->failures[m->nfailures++];
        rec->number = f->number;
        memcpy(rec->stamp, f->stamp, sizeof rec->stamp);
    }
    if (plan->nrefused < SERVE_MAX_VERSIONS) {
        int k = plan->nrefused++;
        plan->refused[k] = f->number;
        plan->refused_code[k] = code;
        snprintf(plan->refused_msg[k], PSC_ERR_LEN, "%s", msg);
    }
}

/* Loads f; on success the entry joins plan->fresh. Returns 1 or 0. */
static int s_load(struct s_model *m, struct s_plan *plan,
                  const struct s_found *f)
{
    struct s_failure *old = s_failure(m, f->number);
    if (old != NULL && memcmp(old->stamp, f->stamp, sizeof f->stamp) == 0)
        return 0;
    if (old != NULL)
        s_failure_drop(m, old);
    char err[PSC_ERR_LEN] = "";
    struct s_entry *e = psc_xcalloc(1, sizeof *e);
    int rc = export_read(f->dir, &e->v.model, err);
    if (rc != 0) {
        free(e);
        s_refuse(m, plan, f, rc, err);
        return 0;
    }
    e->v.model_name = m->cfg.name;
    e->v.number = f->number;
    memcpy(e->v.dir, f->dir, strlen(f->dir) + 1);
    plan->fresh[plan->nfresh++] = e;
    psc_log_info("loaded version %ld of '%s' from '%s'", f->number, m->cfg.name,
                 f->dir);
    return 1;
}

/*
 * Decides the versions to serve, newest first: for latest N the N newest
 * that are loaded or load now (a corrupt newest leaves the previous one
 * served); for all and specific every one present that loads.
 */
static void s_plan(struct s_model *m, const struct s_found *found, int n,
                   struct s_plan *plan)
{
    int limit = SERVE_MAX_VERSIONS;
    if (m->cfg.policy == SERVE_LATEST && m->cfg.num_versions < limit)
        limit = m->cfg.num_versions > 0 ? m->cfg.num_versions : 1;
    for (int i = 0; i < n && plan->nwant < limit; i++) {
        if (!s_policy_wants(&m->cfg, found[i].number))
            continue;
        if (s_loaded(m, found[i].number) != NULL || s_load(m, plan, &found[i]))
            plan->want[plan->nwant++] = found[i].number;
    }
}

static int s_planned(const struct s_plan *plan, long number)
{
    for (int i = 0; i < plan->nwant; i++) {
        if (plan->want[i] == number)
            return 1;
    }
    return 0;
}

/*
 * The swap, under s->mu: the published table becomes the planned one;
 * entries left out are retired, and those no request holds go to *dead
 * for the caller to free after unlocking.
 */
static void s_publish(serve_models_t *s, struct s_model *m, struct s_plan *plan,
                      struct s_entry **dead)
{
    struct s_entry *next[SERVE_MAX_VERSIONS];
    int n = 0;
    for (int i = 0; i < m->nloaded; i++) {
        struct s_entry *e = m->loaded[i];
        if (s_planned(plan, e->v.number)) {
            next[n++] = e;
            continue;
        }
        psc_log_info("unloading version %ld of '%s'%s", e->v.number,
                     m->cfg.name,
                     e->refs > 0 ? " once its requests in flight end" : "");
        s_state_set(m, e->v.number, 0, 0, "");
        e->retired = 1;
        e->next = e->refs > 0 ? s->retired : *dead;
        if (e->refs > 0)
            s->retired = e;
        else
            *dead = e;
    }
    for (int i = 0; i < plan->nfresh; i++) {
        next[n++] = plan->fresh[i];
        s_state_set(m, plan->fresh[i]->v.number, 1, 0, "");
    }
    for (int i = 0; i < plan->nrefused; i++)
        s_state_set(m, plan->refused[i], 0, plan->refused_code[i],
                    plan->refused_msg[i]);
    memcpy(m->loaded, next, (size_t) n * sizeof(struct s_entry *));
    m->nloaded = n;
}

static void s_poll_model(serve_models_t *s, struct s_model *m)
{
    char err[PSC_ERR_LEN] = "";
    struct s_found *found = NULL;
    int n = s_list(m->cfg.base_path, &found, err);
    if (n < 0) {
        if (!m->list_failed)
            psc_log_warn("%s; keeping the versions of '%s' loaded", err,
                         m->cfg.name);
        m->list_failed = 1;
        return;
    }
    m->list_failed = 0;
    if (n == 0 && !m->empty)
        psc_log_warn("no versions of '%s' found under base path '%s'",
                     m->cfg.name, m->cfg.base_path);
    m->empty = n == 0;
    s_failures_prune(m, found, n);
    struct s_plan *plan = psc_xcalloc(1, sizeof *plan);
    s_plan(m, found, n, plan);
    free(found);
    struct s_entry *dead = NULL;
    pthread_mutex_lock(&s->mu);
    s_publish(s, m, plan, &dead);
    pthread_mutex_unlock(&s->mu);
    free(plan);
    while (dead != NULL) {
        struct s_entry *e = dead;
        dead = e->next;
        s_entry_free(e);
    }
}

void serve_models_poll(serve_models_t *s)
{
    pthread_mutex_lock(&s->poll_mu);
    for (int i = 0; i < s->nmodels; i++)
        s_poll_model(s, &s->models[i]);
    pthread_mutex_unlock(&s->poll_mu);
}

/* ---- reloading --model_config_file ------------------------------- */

static int s_stamp_of(const char *path, struct s_stamp *st)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return -1;
    *st = (struct s_stamp){sb.st_dev, sb.st_ino, sb.st_size, sb.st_mtim};
    return 0;
}

static int s_same_stamp(const struct s_stamp *a, const struct s_stamp *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static const struct serve_model_config *
s_config_named(const struct serve_config *c, const char *name)
{
    for (int i = 0; i < c->nmodels; i++) {
        if (strcmp(c->models[i].name, name) == 0)
            return &c->models[i];
    }
    return NULL;
}

/*
 * A reload changes policies and labels only: the models served and their
 * base paths stay as started (each model's versions are loaded from its
 * path, and requests may hold them).
 */
static int s_same_models(const serve_models_t *s,
                         const struct serve_config *fresh, const char *path,
                         char *err)
{
    for (int i = 0; i < s->nmodels; i++) {
        const struct serve_model_config *now = &s->models[i].cfg;
        const struct serve_model_config *f = s_config_named(fresh, now->name);
        if (f == NULL)
            return psc_seterr(err, PSC_ECONFIG,
                              "%s: model '%s' is no longer configured: "
                              "removing a model needs a restart of "
                              "psc-serve",
                              path, now->name);
        if (strcmp(f->base_path, now->base_path) != 0)
            return psc_seterr(err, PSC_ECONFIG,
                              "%s: model '%s' has a new base_path '%s': "
                              "that needs a restart of psc-serve",
                              path, now->name, f->base_path);
    }
    if (fresh->nmodels != s->nmodels)
        return psc_seterr(err, PSC_ECONFIG,
                          "%s: %d models, psc-serve serves %d: adding a "
                          "model needs a restart of psc-serve",
                          path, fresh->nmodels, s->nmodels);
    return 0;
}

/* The labels of m as "stable=1 canary=2" (or "none"), for the log. */
static void s_labels_text(const struct serve_model_config *m, char *out,
                          size_t size)
{
    size_t at = 0;
    snprintf(out, size, "none");
    for (int i = 0; i < m->nlabels && at < size; i++)
        at +=
            (size_t) snprintf(out + at, size - at, "%s%s=%ld", i > 0 ? " " : "",
                              m->labels[i].label, m->labels[i].version);
}

static void s_apply(serve_models_t *s, const struct serve_config *fresh)
{
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->nmodels; i++) {
        struct serve_model_config *m = &s->models[i].cfg;
        const struct serve_model_config *f = s_config_named(fresh, m->name);
        m->policy = f->policy;
        m->num_versions = f->num_versions;
        memcpy(m->versions, f->versions, sizeof m->versions);
        m->nversions = f->nversions;
        memcpy(m->labels, f->labels, sizeof m->labels);
        m->nlabels = f->nlabels;
    }
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->nmodels; i++) {
        char labels[SERVE_MAX_LABELS * (SERVE_NAME_LEN + 24)];
        s_labels_text(&s->models[i].cfg, labels, sizeof labels);
        psc_log_info("model '%s': config reloaded from '%s' (labels: %s)",
                     s->models[i].cfg.name, s->c->model_config_file, labels);
    }
}

void serve_models_reconfigure(serve_models_t *s)
{
    const char *path = s->c->model_config_file;
    struct s_stamp now;
    if (path[0] == '\0')
        return;
    pthread_mutex_lock(&s->poll_mu);
    if (s_stamp_of(path, &now) == 0 && !s_same_stamp(&now, &s->config_stamp)) {
        /* Tried once per content: a bad file is logged once, not polled. */
        s->config_stamp = now;
        struct serve_config *fresh = psc_xcalloc(1, sizeof *fresh);
        char err[PSC_ERR_LEN];
        int rc = serve_config_read_models(path, fresh, err);
        if (rc == 0)
            rc = s_same_models(s, fresh, path, err);
        if (rc == 0)
            s_apply(s, fresh);
        else
            psc_log_warn("%s; the config in force stays", err);
        free(fresh);
    }
    pthread_mutex_unlock(&s->poll_mu);
}

/* ---- life cycle and the poll thread ------------------------------- */

serve_models_t *serve_models_new(const struct serve_config *c)
{
    serve_models_t *s = psc_xcalloc(1, sizeof *s);
    s->c = c;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->poll_mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &attr);
    pthread_condattr_destroy(&attr);
    s->nmodels = c->nmodels < SERVE_MAX_MODELS ? c->nmodels : SERVE_MAX_MODELS;
    for (int i = 0; i < s->nmodels; i++)
        s->models[i].cfg = c->models[i];
    if (c->model_config_file[0] != '\0')
        s_stamp_of(c->model_config_file, &s->config_stamp);
    return s;
}

/*
 * The poll thread reads and hashes each new version while requests are
 * served; below their priority it takes a core only between them, so a
 * swap under load does not show in the requests' latency (Linux gives
 * each thread its own nice value, named by its thread id).
 */
#define S_POLL_NICE 10

static void s_lower_priority(void)
{
    if (setpriority(PRIO_PROCESS, (id_t) syscall(SYS_gettid), S_POLL_NICE) != 0)
        psc_log_info("the model poll keeps the requests' priority: %s",
                     strerror(errno));
}

static void *s_poll_main(void *arg)
{
    serve_models_t *s = arg;
    s_lower_priority();
    double poll_wait = s->c->poll_wait_s > 0 ? s->c->poll_wait_s : 1.0;
    double config_wait = s->c->config_poll_wait_s;
    double wait = poll_wait;
    double next_poll = psc_now() + poll_wait;
    double next_config = psc_now() + config_wait;
    if (config_wait > 0 && config_wait < wait)
        wait = config_wait;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        double at = (double) t.tv_sec + (double) t.tv_nsec * 1e-9 + wait;
        t.tv_sec = (time_t) at;
        t.tv_nsec = (long) ((at - (double) t.tv_sec) * 1e9);
        int rc = 0;
        while (!s->stop && rc == 0)
            rc = pthread_cond_timedwait(&s->wake, &s->mu, &t);
        if (s->stop)
            break;
        pthread_mutex_unlock(&s->mu);
        double now = psc_now();
        if (config_wait > 0 && now >= next_config) {
            serve_models_reconfigure(s);
            next_config = now + config_wait;
        }
        if (now >= next_poll) {
            serve_models_poll(s);
            next_poll = now + poll_wait;
        }
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int serve_models_start(serve_models_t *s, char *err)
{
    if (s->started)
        return psc_seterr(err, PSC_EINVAL, "the model poll runs already");
    int rc = pthread_create(&s->thread, NULL, s_poll_main, s);
    if (rc != 0)
        return psc_seterr(err, PSC_EIO, "cannot start the model poll: %s",
                          strerror(rc));
    s->started = 1;
    return 0;
}

void serve_models_destroy(serve_models_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    serve_models_t *s = *p;
    *p = NULL;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    for (int i = 0; i < s->nmodels; i++) {
        for (int k = 0; k < s->models[i].nloaded; k++)
            s_entry_free(s->models[i].loaded[k]);
    }
    while (s->retired != NULL) {
        struct s_entry *e = s->retired;
        s->retired = e->next;
        psc_log_warn("version %ld of '%s' still held by %d requests at "
                     "shutdown",
                     e->v.number, e->v.model_name, e->refs);
        s_entry_free(e);
    }
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->poll_mu);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- requests ----------------------------------------------------- */

static struct s_model *s_model(serve_models_t *s, const char *name)
{
    for (int i = 0; i < s->nmodels; i++) {
        if (strcmp(s->models[i].cfg.name, name) == 0)
            return &s->models[i];
    }
    return NULL;
}

/* The version label names in m's config, or -1. */
static long s_label(const struct s_model *m, const char *label)
{
    for (int i = 0; m != NULL && i < m->cfg.nlabels; i++) {
        if (strcmp(m->cfg.labels[i].label, label) == 0)
            return m->cfg.labels[i].version;
    }
    return -1;
}

/* The entry a request names, under s->mu; NULL with err when none. */
static struct s_entry *s_pick(serve_models_t *s, const char *name, long version,
                              const char *label, char *err)
{
    struct s_model *m = s_model(s, name);
    if (version <= 0 && label != NULL) {
        version = s_label(m, label);
        if (version < 0) {
            psc_seterr(err, PSC_ENOTFOUND,
                       "Unrecognized servable version label: %s", label);
            return NULL;
        }
    }
    struct s_entry *e = NULL;
    if (m != NULL)
        e = version > 0 || label != NULL ? s_loaded(m, version) : s_newest(m);
    if (e != NULL)
        return e;
    if (version > 0 || label != NULL)
        psc_seterr(err, PSC_ENOTFOUND,
                   "Servable not found for request: Specific(%s, %ld)", name,
                   version);
    else
        psc_seterr(err, PSC_ENOTFOUND,
                   "Servable not found for request: Latest(%s)", name);
    return NULL;
}

const struct serve_version *serve_models_acquire(serve_models_t *s,
                                                 const char *name, long version,
                                                 const char *label, int *status,
                                                 char *err)
{
    pthread_mutex_lock(&s->mu);
    struct s_entry *e = s_pick(s, name, version, label, err);
    if (e != NULL)
        e->refs++;
    pthread_mutex_unlock(&s->mu);
    if (e == NULL && status != NULL)
        *status = 404;
    return e != NULL ? &e->v : NULL;
}

void serve_models_release(serve_models_t *s, const struct serve_version *v)
{
    if (v == NULL)
        return;
    /* v is the first member of its entry (the cast drops the const). */
    struct s_entry *e = (struct s_entry *) (uintptr_t) v;
    int dead = 0;
    pthread_mutex_lock(&s->mu);
    e->refs--;
    if (e->refs == 0 && e->retired) {
        struct s_entry **pp = &s->retired;
        while (*pp != NULL && *pp != e)
            pp = &(*pp)->next;
        if (*pp == e)
            *pp = e->next;
        dead = 1;
    }
    pthread_mutex_unlock(&s->mu);
    if (dead)
        s_entry_free(e);
}

/* ---- status ------------------------------------------------------- */

/* TF Serving's error code name (tensorflow.error.Code) for a refusal. */
static const char *s_code_name(int code)
{
    switch (code) {
    case 0:
        return "OK";
    case PSC_ENOTFOUND:
        return "NOT_FOUND";
    case PSC_ECHECKSUM:
        return "DATA_LOSS";
    case PSC_EPROTO:
        return "INVALID_ARGUMENT";
    default:
        return "UNKNOWN";
    }
}

static json_t *s_state_json(const struct s_state *st)
{
    char number[32];
    snprintf(number, sizeof number, "%ld", st->number);
    return json_pack("{s:s, s:s, s:{s:s, s:s}}", "version", number, "state",
                     st->available ? "AVAILABLE" : "END", "status",
                     "error_code", s_code_name(st->code), "error_message",
                     st->message);
}

static int s_by_state_desc(const void *a, const void *b)
{
    long x = ((const struct s_state *) a)->number;
    long y = ((const struct s_state *) b)->number;
    return (x < y) - (x > y);
}

json_t *serve_models_status(serve_models_t *s, const char *name, long version,
                            int *status, char *err)
{
    struct s_state states[SERVE_MAX_VERSIONS];
    int n = 0;
    pthread_mutex_lock(&s->mu);
    const struct s_model *m = s_model(s, name);
    for (int i = 0; m != NULL && i < m->nstates; i++) {
        if (version <= 0 || m->states[i].number == version)
            states[n++] = m->states[i];
    }
    pthread_mutex_unlock(&s->mu);
    if (n == 0) {
        if (status != NULL)
            *status = 404;
        if (version > 0)
            psc_seterr(err, PSC_ENOTFOUND,
                       "Could not find version %ld of model %s", version, name);
        else
            psc_seterr(err, PSC_ENOTFOUND,
                       "Could not find any versions of model %s", name);
        return NULL;
    }
    qsort(states, (size_t) n, sizeof *states, s_by_state_desc);
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(list, s_state_json(&states[i]));
    return json_pack("{s:o}", "model_version_status", list);
}

int serve_models_ready(serve_models_t *s)
{
    int ready = 1;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->nmodels; i++)
        ready &= s->models[i].nloaded > 0;
    pthread_mutex_unlock(&s->mu);
    return ready;
}

/* One line of serve_models_each()'s snapshot; a reload may relabel. */
struct s_each {
    const char *model;
    long version;
    char label[SERVE_NAME_LEN]; /* "" for the version itself */
};

void serve_models_each(serve_models_t *s,
                       void (*fn)(void *arg, const char *model, long version,
                                  const char *label),
                       void *arg)
{
    size_t cap =
        (size_t) SERVE_MAX_MODELS * (SERVE_MAX_VERSIONS + SERVE_MAX_LABELS);
    struct s_each *rows = psc_xmalloc(cap * sizeof *rows);
    size_t n = 0;
    /* A snapshot, so that fn runs without the lock and may call back. */
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->nmodels; i++) {
        const struct s_model *m = &s->models[i];
        for (int k = 0; k < m->nloaded; k++)
            rows[n++] =
                (struct s_each){m->cfg.name, m->loaded[k]->v.number, ""};
        for (int k = 0; k < m->cfg.nlabels; k++) {
            const struct serve_label *l = &m->cfg.labels[k];
            if (s_loaded(m, l->version) == NULL)
                continue;
            rows[n] = (struct s_each){m->cfg.name, l->version, ""};
            memcpy(rows[n++].label, l->label, sizeof l->label);
        }
    }
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < n; i++)
        fn(arg, rows[i].model, rows[i].version,
           rows[i].label[0] != '\0' ? rows[i].label : NULL);
    free(rows);
}
