/*
 * The task table. Task order is start order, and within a role it is index
 * order, which is also the order of the addresses in TF_CONFIG's cluster.
 */
#include "launch_cluster.h"

#include "launch_tfc.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_port.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Characters a POSIX shell takes literally outside quotes. */
#define LAUNCH_SHELL_SAFE                                            \
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" \
    "_@%+=:,./-"

static const char *const s_binaries[TFC_NROLES] = {
    "psc-chief", "psc-ps", "psc-worker", "psc-evaluator"};

static void s_add(struct launch_cluster *c, enum tfc_role role, int index,
                  const char *bin_dir)
{
    struct launch_task *t = &c->tasks[c->ntasks++];
    t->role = role;
    t->index = index;
    if (role == TFC_CHIEF || role == TFC_EVALUATOR)
        snprintf(t->name, sizeof t->name, "%s", tfc_role_name(role));
    else
        snprintf(t->name, sizeof t->name, "%s%d", tfc_role_name(role), index);
    size_t n = strlen(bin_dir) + strlen(s_binaries[role]) + 2;
    t->binary = psc_xmalloc(n);
    snprintf(t->binary, n, "%s/%s", bin_dir, s_binaries[role]);
    launch_lines_init(&t->out, t->name, stdout);
    launch_lines_init(&t->err, t->name, stderr);
}

struct launch_cluster *launch_cluster_new(const struct launch_opts *opts,
                                          const char *bin_dir)
{
    struct launch_cluster *c = psc_xcalloc(1, sizeof *c);
    int max = opts->nps + 1 + opts->nworkers + 1;
    c->tasks = psc_xcalloc((size_t) max, sizeof *c->tasks);
    c->opts = opts;
    for (int i = 0; i < opts->nps; i++)
        s_add(c, TFC_PS, i, bin_dir);
    if (opts->chief)
        s_add(c, TFC_CHIEF, 0, bin_dir);
    /* Without a chief, worker 0 (the next task) takes the chief's duty. */
    c->acting_chief = opts->nps;
    for (int i = 0; i < opts->nworkers; i++)
        s_add(c, TFC_WORKER, i, bin_dir);
    if (opts->evaluator)
        s_add(c, TFC_EVALUATOR, 0, bin_dir);
    return c;
}

void launch_cluster_destroy(struct launch_cluster **p)
{
    if (p == NULL || *p == NULL)
        return;
    struct launch_cluster *c = *p;
    for (int i = 0; i < c->ntasks; i++) {
        free(c->tasks[i].binary);
        free(c->tasks[i].tf_config);
        launch_lines_release(&c->tasks[i].out);
        launch_lines_release(&c->tasks[i].err);
    }
    free(c->tasks);
    free(c);
    *p = NULL;
}

static void s_format_addr(char *buf, size_t len, const char *host, int port)
{
    /* TF_CONFIG needs brackets to tell an IPv6 address from its port. */
    if (strchr(host, ':') != NULL)
        snprintf(buf, len, "[%s]:%d", host, port);
    else
        snprintf(buf, len, "%s:%d", host, port);
}

/* One free port on host for each of n tasks, reserved until they bind. */
static int s_pick_ports(const char *host, int *ports, int n, char *err)
{
    char why[PSC_ERR_LEN];
    if (n == 0)
        return 0;
    int rc = psc_port_pick(host, ports, n, why);
    if (rc != 0)
        return psc_seterr(err, rc, "%s: give a local address with --host", why);
    return 0;
}

int launch_cluster_assign(struct launch_cluster *c, const char *host, char *err)
{
    int nports = 0;
    for (int i = 0; i < c->ntasks; i++)
        nports += c->tasks[i].role != TFC_EVALUATOR;
    int *ports = psc_xcalloc((size_t) nports, sizeof *ports);
    int rc = s_pick_ports(host, ports, nports, err);
    for (int i = 0, p = 0; rc == 0 && i < c->ntasks; i++) {
        struct launch_task *t = &c->tasks[i];
        if (t->role != TFC_EVALUATOR)
            s_format_addr(t->addr, sizeof t->addr, host, ports[p++]);
    }
    for (int i = 0; rc == 0 && i < c->ntasks; i++) {
        struct launch_task *t = &c->tasks[i];
        t->tf_config = launch_tfc_json(c, t, err);
        if (t->tf_config == NULL)
            rc = PSC_ECONFIG;
    }
    free(ports);
    return rc;
}

int launch_cluster_check_binaries(const struct launch_cluster *c, char *err)
{
    for (int i = 0; i < c->ntasks; i++) {
        const char *bin = c->tasks[i].binary;
        if (access(bin, X_OK) != 0)
            return psc_seterr(err, PSC_ENOTFOUND,
                              "cannot run '%s': %s: build it or point "
                              "--bin-dir at it",
                              bin, strerror(errno));
    }
    return 0;
}

char **launch_cluster_argv(const struct launch_cluster *c,
                           const struct launch_task *t)
{
    const struct launch_opts *o = c->opts;
    char **argv = psc_xcalloc(4 + 2 * (size_t) o->nsets, sizeof *argv);
    int n = 0;
    /* execve() takes char *const[]; nobody writes through these. */
    argv[n++] = t->binary;
    if (o->job_path != NULL) {
        argv[n++] = (char *) "--job";
        argv[n++] = (char *) o->job_path;
    }
    for (int i = 0; i < o->nsets; i++) {
        argv[n++] = (char *) "--set";
        argv[n++] = (char *) o->sets[i];
    }
    argv[n] = NULL;
    return argv;
}

static void s_quote(FILE *f, const char *s, int always)
{
    if (!always && s[0] != '\0' && strspn(s, LAUNCH_SHELL_SAFE) == strlen(s)) {
        fputs(s, f);
        return;
    }
    fputc('\'', f);
    for (; *s != '\0'; s++) {
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    }
    fputc('\'', f);
}

void launch_cluster_print(const struct launch_cluster *c, FILE *f)
{
    for (int i = 0; i < c->ntasks; i++) {
        const struct launch_task *t = &c->tasks[i];
        fprintf(f, "%s: TF_CONFIG=", t->name);
        s_quote(f, t->tf_config, 1);
        fprintf(f, "\n%s:", t->name);
        char **argv = launch_cluster_argv(c, t);
        for (int a = 0; argv[a] != NULL; a++) {
            fputc(' ', f);
            s_quote(f, argv[a], 0);
        }
        fputc('\n', f);
        free(argv);
    }
}

struct launch_task *launch_cluster_find(struct launch_cluster *c, pid_t pid)
{
    for (int i = 0; i < c->ntasks; i++) {
        if (c->tasks[i].pid == pid)
            return &c->tasks[i];
    }
    return NULL;
}
