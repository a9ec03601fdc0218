/*
 * The supervisor is one poll loop over the children's pipes and a
 * signalfd. Deadlines (the drain after the chief finished, the grace
 * before SIGKILL) are poll timeouts, so nothing sleeps and every exit and
 * line is handled as it happens.
 */
#include "launch_sup.h"

#include "launch_faults.h"
#include "launch_proc.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_time.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

enum sup_phase {
    SUP_RUNNING,  /* nothing decided yet */
    SUP_DRAINING, /* the acting chief finished; the others stop themselves */
    SUP_STOPPING, /* SIGTERM sent; SIGKILL at the deadline */
    SUP_KILLED,   /* SIGKILL sent; waiting for the last exits */
};

typedef struct {
    struct launch_cluster *c;
    int sigfd;
    enum sup_phase phase;
    double deadline; /* psc_now() seconds; 0 when none */
    int code;        /* exit status once decided, else -1 */
    int nrunning;
    struct pollfd *fds;
    struct launch_lines **owners; /* owners[i] reads fds[i + 1] */
    const sigset_t *mask;         /* the children's */
    struct launch_faults *faults; /* --kill; may be NULL */
    int *restarts;                /* per task, under --restart on-failure */
    int late; /* restarted tasks stopped after the job ended well */
} self_t;

/* How often a task is started again before its failure stands. */
#define MAX_RESTARTS 10
/* How often the metrics are read while a --kill waits for its step (ms). */
#define FAULT_POLL_MS 50

static void s_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The launcher's own lines; unbuffered stderr keeps them in order. */
static void s_say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("psc-launch: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void s_signal_all(self_t *self, int sig)
{
    for (int i = 0; i < self->c->ntasks; i++)
        launch_proc_signal(&self->c->tasks[i], sig);
}

static void s_stop_all(self_t *self)
{
    self->phase = SUP_STOPPING;
    self->deadline = psc_now() + self->c->opts->kill_timeout_s;
    s_signal_all(self, SIGTERM);
}

static void s_kill_all(self_t *self)
{
    self->phase = SUP_KILLED;
    self->deadline = 0;
    s_signal_all(self, SIGKILL);
}

static const char *s_chief_label(const self_t *self)
{
    return self->c->opts->chief ? "the chief" : "worker0 (acting chief)";
}

static int s_failed(int status)
{
    return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

/* The first failure decides the exit status and stops everybody else. */
static void s_on_failure(self_t *self, const struct launch_task *t, int status)
{
    char how[64];
    launch_proc_describe(status, how, sizeof how);
    s_say("%s %s", t->name, how);
    self->code = launch_proc_exit_code(status);
    if (self->nrunning > 0)
        s_say("stopping the other %d processes", self->nrunning);
    s_stop_all(self);
}

static int s_start(self_t *self, struct launch_task *t, char *err)
{
    char **argv = launch_cluster_argv(self->c, t);
    int rc = launch_proc_start(t, argv, self->mask, err);
    free(argv);
    if (rc == 0)
        self->nrunning++;
    return rc;
}

/*
 * --restart on-failure: a task that failed in a way worth retrying (exit
 * 138 or any 128+N: killed, stopped by a signal; not a configuration error)
 * starts again, as Kubernetes restarts a pod. Returns 1 when it did.
 */
static int s_restarted(self_t *self, struct launch_task *t, int status)
{
    int i = (int) (t - self->c->tasks);
    int code = launch_proc_exit_code(status);
    if (!self->c->opts->restart_on_failure || self->phase != SUP_RUNNING ||
        code < 128 || self->restarts[i] >= MAX_RESTARTS)
        return 0;
    char how[64];
    char err[PSC_ERR_LEN];
    launch_proc_describe(status, how, sizeof how);
    self->restarts[i]++;
    s_say("%s %s: restarting it (%d of %d)", t->name, how, self->restarts[i],
          MAX_RESTARTS);
    if (s_start(self, t, err) == 0)
        return 1;
    s_say("%s", err);
    return 0;
}

/*
 * At the drain deadline after the chief finished well: 1 when only
 * restarted tasks still run. They came back too late to join the job (it
 * ended while they started), so stopping them does not fail it.
 */
static int s_only_late_restarts(const self_t *self)
{
    for (int i = 0; i < self->c->ntasks; i++)
        if (self->c->tasks[i].running && self->restarts[i] == 0)
            return 0;
    return self->nrunning > 0;
}

static void s_on_exit(self_t *self, struct launch_task *t, int status)
{
    char how[64];
    t->running = 0;
    self->nrunning--;
    /* Output the child wrote before exiting comes before its exit line. */
    launch_lines_finish(&t->out);
    launch_lines_finish(&t->err);
    if (s_failed(status) && s_restarted(self, t, status))
        return;
    int chief = t == &self->c->tasks[self->c->acting_chief];
    if (self->phase == SUP_STOPPING || self->phase == SUP_KILLED) {
        launch_proc_describe(status, how, sizeof how);
        s_say("%s stopped (%s)", t->name, how);
        /* The chief's verdict (2: configuration) is the job's: the others
         * exit 138 when it fails, and may be reaped first. 128+N is the
         * stop we asked for, no verdict. */
        int code = launch_proc_exit_code(status);
        if (chief && self->c->opts->chief && code > 0 && code < 128)
            self->code = code;
    } else if (s_failed(status)) {
        s_on_failure(self, t, status);
    } else if (chief) {
        s_say("%s exited 0", t->name);
        self->phase = SUP_DRAINING;
        self->deadline = psc_now() + self->c->opts->drain_timeout_s;
    } else {
        s_say("%s exited 0", t->name);
    }
}

static void s_reap(self_t *self)
{
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            break;
        struct launch_task *t = launch_cluster_find(self->c, pid);
        if (t != NULL && t->running)
            s_on_exit(self, t, status);
    }
}

static void s_on_stop_signal(self_t *self, int sig)
{
    const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
    /* A second request means the user will not wait for a clean stop. */
    if (self->phase == SUP_STOPPING || self->phase == SUP_KILLED) {
        s_say("%s again: killing %d processes", name, self->nrunning);
        s_kill_all(self);
        return;
    }
    s_say("%s: stopping %d processes", name, self->nrunning);
    if (self->code < 0)
        self->code = 128 + sig;
    s_stop_all(self);
}

static void s_read_signals(self_t *self)
{
    struct signalfd_siginfo si[16];
    int chld = 0;
    for (;;) {
        ssize_t n = read(self->sigfd, si, sizeof si);
        if (n <= 0)
            break;
        for (size_t i = 0; i < (size_t) n / sizeof si[0]; i++) {
            int sig = (int) si[i].ssi_signo;
            if (sig == SIGCHLD)
                chld = 1;
            else
                s_on_stop_signal(self, sig);
        }
    }
    /* SIGCHLDs merge, so one reap pass collects every exited child. */
    if (chld)
        s_reap(self);
}

static void s_on_deadline(self_t *self)
{
    const struct launch_cluster *c = self->c;
    for (int i = 0; i < c->ntasks; i++) {
        const struct launch_task *t = &c->tasks[i];
        if (!t->running)
            continue;
        if (self->phase == SUP_DRAINING)
            s_say("%s still running %g s after %s finished: terminated",
                  t->name, c->opts->drain_timeout_s, s_chief_label(self));
        else
            s_say("%s still running %g s after SIGTERM: killed", t->name,
                  c->opts->kill_timeout_s);
    }
    if (self->phase == SUP_DRAINING && s_only_late_restarts(self)) {
        s_say("they were restarted and came back after the job ended: "
              "stopping them");
        self->late = self->nrunning;
        s_stop_all(self);
    } else if (self->phase == SUP_DRAINING) {
        self->code = 1;
        s_stop_all(self);
    } else {
        s_kill_all(self);
    }
}

/* Fills self->fds with the signalfd and every open pipe; returns count. */
static int s_fill(self_t *self)
{
    int n = 0;
    self->fds[n].fd = self->sigfd;
    self->fds[n++].events = POLLIN;
    for (int i = 0; i < self->c->ntasks; i++) {
        struct launch_lines *pair[2] = {&self->c->tasks[i].out,
                                        &self->c->tasks[i].err};
        for (int k = 0; k < 2; k++) {
            if (launch_lines_fd(pair[k]) < 0)
                continue;
            self->owners[n - 1] = pair[k];
            self->fds[n].fd = launch_lines_fd(pair[k]);
            self->fds[n++].events = POLLIN;
        }
    }
    return n;
}

static int s_timeout_ms(const self_t *self)
{
    if (self->faults != NULL && launch_faults_pending(self->faults) &&
        self->phase == SUP_RUNNING)
        return FAULT_POLL_MS;
    if (self->deadline <= 0)
        return -1;
    double left = self->deadline - psc_now();
    if (left <= 0)
        return 0;
    /* Rounded up, so the wake-up is never just before the deadline. */
    return (int) (left * 1000.0) + 1;
}

/* --kill: the tasks whose step has come are killed now. */
static void s_inject_faults(self_t *self)
{
    struct launch_faults *f = self->faults;
    if (f == NULL || !launch_faults_pending(f) || self->phase != SUP_RUNNING)
        return;
    long step = launch_faults_poll(f);
    struct launch_kill *k;
    while ((k = launch_faults_due(f)) != NULL) {
        struct launch_task *t = &self->c->tasks[k->task];
        if (k->hang_s > 0) {
            s_say("hanging %s (SIGSTOP) at step %ld for %.1f s (--kill "
                  "%s@%ld:hang=%g)",
                  t->name, step, k->hang_s, t->name, k->step, k->hang_s);
            k->resume_at = psc_now() + k->hang_s;
            launch_proc_signal(t, SIGSTOP);
            continue;
        }
        s_say("killing %s at step %ld (--kill %s@%ld)", t->name, step, t->name,
              k->step);
        launch_proc_signal(t, SIGKILL);
    }
    while ((k = launch_faults_resume_due(f, psc_now())) != NULL) {
        struct launch_task *t = &self->c->tasks[k->task];
        s_say("resuming %s (SIGCONT) after %.1f s", t->name, k->hang_s);
        launch_proc_signal(t, SIGCONT);
    }
}

/* One poll round: pipes first, so a child's last lines precede its exit. */
static int s_poll_once(self_t *self)
{
    int n = s_fill(self);
    int rc = poll(self->fds, (nfds_t) n, s_timeout_ms(self));
    if (rc < 0 && errno != EINTR)
        return PSC_EIO;
    for (int i = 1; rc > 0 && i < n; i++) {
        if (self->fds[i].revents != 0)
            launch_lines_read(self->owners[i - 1]);
    }
    if (rc > 0 && self->fds[0].revents != 0)
        s_read_signals(self);
    if (self->deadline > 0 && psc_now() >= self->deadline)
        s_on_deadline(self);
    s_inject_faults(self);
    return 0;
}

static void s_start_all(self_t *self)
{
    char err[PSC_ERR_LEN];
    for (int i = 0; i < self->c->ntasks; i++) {
        if (s_start(self, &self->c->tasks[i], err) != 0) {
            s_say("%s", err);
            self->code = 1;
            s_stop_all(self);
            return;
        }
    }
}

int launch_sup_run(struct launch_cluster *c, int sigfd, const sigset_t *mask,
                   struct launch_faults *faults)
{
    self_t self = {.c = c,
                   .sigfd = sigfd,
                   .phase = SUP_RUNNING,
                   .code = -1,
                   .mask = mask,
                   .faults = faults};
    self.fds = psc_xcalloc(1 + 2 * (size_t) c->ntasks, sizeof *self.fds);
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers. */
    self.owners = psc_xcalloc(2 * (size_t) c->ntasks, sizeof *self.owners);
    self.restarts = psc_xcalloc((size_t) c->ntasks, sizeof *self.restarts);
    s_start_all(&self);
    while (self.nrunning > 0) {
        if (s_poll_once(&self) != 0) {
            /* Without poll we can neither forward output nor wait. */
            s_say("poll failed: %s: killing all processes", strerror(errno));
            s_kill_all(&self);
            self.code = 1;
            break;
        }
    }
    free(self.fds);
    free(self.owners);
    free(self.restarts);
    if (self.code < 0 && self.late > 0) {
        s_say("the job ended well; %d restarted processes were stopped after "
              "it",
              self.late);
        return 0;
    }
    if (self.code < 0) {
        s_say("all %d processes exited 0", c->ntasks);
        return 0;
    }
    return self.code;
}
