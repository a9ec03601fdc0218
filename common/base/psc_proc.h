/*
 * Starting child processes: the environment a role is started with, and
 * children that must not outlive the process that started them.
 */
#ifndef PSC_PROC_H
#define PSC_PROC_H

#include <sys/types.h>

/*
 * This process's environment without any TF_CONFIG, plus
 * TF_CONFIG=tf_config. The caller frees the array and *setting (the one
 * string made for it) with free(); the other strings are environ's.
 */
char **psc_env_with_tf_config(const char *tf_config, char **setting);

/*
 * Starts path with argv and envp (NULL: this process's environment) as a
 * child that is killed (SIGKILL) when this process ends, however it ends.
 * Build everything the child needs before: only fork() and exec happen
 * here. Returns the child's pid, or -1 when it could not fork.
 */
pid_t psc_spawn_tied(const char *path, char *const argv[], char *const envp[]);

#endif
