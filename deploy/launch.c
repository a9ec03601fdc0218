/*
 * psc-launch: starts a whole psc cluster on one host (ps tasks, a chief,
 * workers, optionally an evaluator), each with the TF_CONFIG it would get
 * from TensorFlow tooling, and supervises it until training ends. With
 * --print-tf-config it only prints what it would run.
 */
#include "job.h"
#include "launch_cluster.h"
#include "launch_faults.h"
#include "launch_opts.h"
#include "launch_sup.h"
#include "psc_alloc.h"
#include "psc_err.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* The exit status for errors found before anything starts. */
#define LAUNCH_EXIT_USAGE 2

/*
 * Validates the job exactly as the roles will, so mistakes show up once,
 * and reads the --kill plan against it (its model_dir and max_steps).
 */
static int s_check_job(const struct launch_opts *o,
                       const struct launch_cluster *c,
                       struct launch_faults *faults, char *err)
{
    struct job *job = job_new(o->job_path, o->sets, o->nsets, err);
    if (job == NULL)
        return PSC_ECONFIG;
    int rc = job_check_cluster(job, o->nworkers, err);
    if (rc == 0)
        rc = launch_faults_parse(faults, o->kills, o->nkills, c, job->model_dir,
                                 job->max_steps, err);
    job_destroy(&job);
    return rc;
}

/*
 * Returns dir made absolute against the working directory, so the printed
 * commands work from anywhere. Caller owns; free().
 */
static char *s_absolute(const char *dir, char *err)
{
    if (access(dir, X_OK) != 0) {
        psc_seterr(err, PSC_ENOTFOUND, "cannot use --bin-dir '%s': %s", dir,
                   strerror(errno));
        return NULL;
    }
    if (dir[0] == '/')
        return psc_xstrdup(dir);
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL) {
        psc_seterr(err, PSC_ENOTFOUND, "cannot use --bin-dir '%s': %s", dir,
                   strerror(errno));
        return NULL;
    }
    size_t n = strlen(cwd) + strlen(dir) + 2;
    char *abs = psc_xmalloc(n);
    snprintf(abs, n, "%s/%s", cwd, dir);
    return abs;
}

/* Returns --bin-dir, else the directory of this program. Caller owns. */
static char *s_bin_dir(const struct launch_opts *o, char *err)
{
    if (o->bin_dir != NULL)
        return s_absolute(o->bin_dir, err);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        psc_seterr(err, PSC_ENOTFOUND,
                   "cannot find the directory of psc-launch: %s: give "
                   "--bin-dir",
                   n < 0 ? strerror(errno) : "empty link");
        return NULL;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash != NULL)
        slash[slash == self ? 1 : 0] = '\0';
    return psc_xstrdup(self);
}

static void s_announce(const struct launch_cluster *c)
{
    for (int i = 0; i < c->ntasks; i++) {
        const struct launch_task *t = &c->tasks[i];
        if (t->role == TFC_EVALUATOR)
            fprintf(stderr, "psc-launch: %s outside the cluster\n", t->name);
        else
            fprintf(stderr, "psc-launch: %s at %s\n", t->name, t->addr);
    }
}

/* Blocks the signals the supervisor reads and starts the cluster. */
static int s_launch(struct launch_cluster *c, struct launch_faults *faults)
{
    sigset_t wanted;
    sigset_t old;
    sigemptyset(&wanted);
    sigaddset(&wanted, SIGCHLD);
    sigaddset(&wanted, SIGINT);
    sigaddset(&wanted, SIGTERM);
    sigprocmask(SIG_BLOCK, &wanted, &old);
    int sigfd = signalfd(-1, &wanted, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sigfd < 0) {
        fprintf(stderr, "psc-launch: cannot create a signalfd: %s\n",
                strerror(errno));
        return 1;
    }
    /* A closed terminal or pager must not kill the supervisor. */
    signal(SIGPIPE, SIG_IGN);
    s_announce(c);
    int code = launch_sup_run(c, sigfd, &old, faults);
    close(sigfd);
    /*
     * The mask stays as it is: unblocking now could deliver a late SIGINT
     * and replace the status decided above.
     */
    return code;
}

static int s_prepare(const struct launch_opts *o, struct launch_cluster **out,
                     struct launch_faults *faults, char *err)
{
    char *bin_dir = s_bin_dir(o, err);
    if (bin_dir == NULL)
        return PSC_ENOTFOUND;
    struct launch_cluster *c = launch_cluster_new(o, bin_dir);
    free(bin_dir);
    int rc = s_check_job(o, c, faults, err);
    if (rc == 0)
        rc = launch_cluster_assign(c, o->host, err);
    if (rc == 0 && !o->print_tf_config)
        rc = launch_cluster_check_binaries(c, err);
    if (rc != 0)
        launch_cluster_destroy(&c);
    *out = c;
    return rc;
}

static int s_run(const struct launch_opts *o)
{
    if (o->help) {
        launch_opts_usage(stdout);
        return 0;
    }
    if (o->help_job) {
        char *text = job_help();
        fputs(text, stdout);
        free(text);
        return 0;
    }
    char err[PSC_ERR_LEN];
    struct launch_cluster *c = NULL;
    struct launch_faults faults;
    int rc = s_prepare(o, &c, &faults, err);
    if (rc != 0) {
        fprintf(stderr, "psc-launch: %s\n", err);
        /* Only a port that cannot be bound is not the user's input. */
        return rc == PSC_ENET ? 1 : LAUNCH_EXIT_USAGE;
    }
    int code = 0;
    if (o->print_tf_config)
        launch_cluster_print(c, stdout);
    else
        code = s_launch(c, &faults);
    launch_cluster_destroy(&c);
    return code;
}

int main(int argc, char **argv)
{
    struct launch_opts opts;
    char err[PSC_ERR_LEN];
    if (launch_opts_parse(&opts, argc, argv, err) != 0) {
        fprintf(stderr, "psc-launch: %s\n", err);
        return LAUNCH_EXIT_USAGE;
    }
    int code = s_run(&opts);
    launch_opts_release(&opts);
    return code;
}
