/*
 * fork/exec for the launcher. Everything the child needs (argv, envp, the
 * failure message) is built before fork(), because only async-signal-safe
 * calls are allowed between fork() and exec.
 */
#include "launch_proc.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int s_pipe(int fds[2])
{
    if (pipe(fds) != 0)
        return -1;
    /* No child may inherit another child's pipes, or EOF never comes. */
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
}

struct child_setup {
    int out;  /* write end for stdout */
    int err;  /* write end for stderr */
    int null; /* /dev/null for stdin */
    pid_t parent;
    const sigset_t *mask;
    char *const *argv;
    char *const *envp;
    const char *failure; /* written to stderr when exec fails */
};

/* Runs in the child; never returns. Async-signal-safe calls only. */
static void s_child(const struct child_setup *cs)
{
    setpgid(0, 0);
    dup2(cs->null, 0);
    dup2(cs->out, 1);
    dup2(cs->err, 2);
    /*
     * The launcher ignores SIGPIPE, and its own parent may have ignored
     * SIGINT or SIGTERM; a role starts from the defaults, so that our
     * SIGTERM does stop it.
     */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigprocmask(SIG_SETMASK, cs->mask, NULL);
    /* A launcher killed by SIGKILL must not leave a cluster behind. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != cs->parent)
        _exit(127);
    execve(cs->argv[0], cs->argv, cs->envp);
    ssize_t ignored = write(2, cs->failure, strlen(cs->failure));
    (void) ignored;
    _exit(127);
}

static void s_close_pair(int fds[2])
{
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
}

/* Forks the child; on success the parent's ends go to t. */
static int s_fork(struct launch_task *t, struct child_setup *cs, int po[2],
                  int pe[2], char *err)
{
    pid_t pid = fork();
    if (pid < 0)
        return psc_seterr(err, PSC_EIO, "cannot start %s: fork: %s", t->name,
                          strerror(errno));
    if (pid == 0)
        s_child(cs);
    /* Both sides set the group, so kill(-pid) works whoever runs first. */
    setpgid(pid, pid);
    t->pid = pid;
    t->running = 1;
    launch_lines_open(&t->out, po[0]);
    launch_lines_open(&t->err, pe[0]);
    po[0] = -1;
    pe[0] = -1;
    return 0;
}

int launch_proc_start(struct launch_task *t, char *const argv[],
                      const sigset_t *mask, char *err)
{
    int po[2] = {-1, -1};
    int pe[2] = {-1, -1};
    char *setting = NULL;
    char failure[PSC_ERR_LEN];
    snprintf(failure, sizeof failure, "psc-launch: cannot execute '%s'\n",
             argv[0]);
    char **envp = psc_env_with_tf_config(t->tf_config, &setting);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int rc = 0;
    if (null < 0 || s_pipe(po) != 0 || s_pipe(pe) != 0)
        rc = psc_seterr(err, PSC_EIO, "cannot start %s: %s", t->name,
                        strerror(errno));
    if (rc == 0) {
        struct child_setup cs = {po[1], pe[1], null, getpid(),
                                 mask,  argv,  envp, failure};
        rc = s_fork(t, &cs, po, pe, err);
    }
    s_close_pair(po);
    s_close_pair(pe);
    if (null >= 0)
        close(null);
    free(envp);
    free(setting);
    return rc;
}

void launch_proc_signal(const struct launch_task *t, int sig)
{
    if (!t->running)
        return;
    if (kill(-t->pid, sig) != 0)
        kill(t->pid, sig);
}

void launch_proc_describe(int status, char *buf, size_t len)
{
    if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
}

int launch_proc_exit_code(int status)
{
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
