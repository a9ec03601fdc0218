/*
 * Child processes.
 */
#define _GNU_SOURCE /* environ */

#include "psc_proc.h"

#include "psc_alloc.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

char **psc_env_with_tf_config(const char *tf_config, char **setting)
{
    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    char **envp = psc_xcalloc(n + 2, sizeof *envp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "TF_CONFIG=", 10) != 0)
            envp[k++] = environ[i];
    }
    size_t len = strlen(tf_config) + 11;
    *setting = psc_xmalloc(len);
    snprintf(*setting, len, "TF_CONFIG=%s", tf_config);
    envp[k++] = *setting;
    envp[k] = NULL;
    return envp;
}

pid_t psc_spawn_tied(const char *path, char *const argv[], char *const envp[])
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* The parent may have ended before the line above took effect. */
        if (getppid() != parent)
            _exit(127);
        execve(path, argv, envp != NULL ? envp : environ);
        _exit(127);
    }
    return pid;
}
