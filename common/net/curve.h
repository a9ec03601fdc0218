/*
 * A cluster's CURVE keys (ZeroMQ's CurveZMQ), as psc-keygen writes them
 * into one folder:
 *
 *   tasks.pub     the allow-list: one line "TASK PUBLIC_KEY" per task, the
 *                 one task name each public key may act as
 *   TASK.key      a task's secret key, ':' in the name written as '-'
 *                 (worker-0.key), so that a Kubernetes Secret can hold it
 *
 * Keys are Z85 text, 40 characters for 32 bytes. A server socket (a ROUTER)
 * proves itself with its task's secret key; a client socket (a DEALER)
 * with its own, and it checks the server's public key from the list.
 */
#ifndef CURVE_H
#define CURVE_H

#include <stddef.h>
#include <stdint.h>

#define CURVE_Z85_LEN  40 /* a key as text, without the terminating NUL */
#define CURVE_KEY_LEN  32 /* a key as bytes */
#define CURVE_LIST     "tasks.pub"
#define CURVE_TASK_MAX 64

typedef struct curve_keys curve_keys_t;

/*
 * Reads DIR/tasks.pub and, when task is non-NULL, DIR/<task>.key, which
 * must be the secret half of the key the list gives task. Returns NULL with
 * one line in err naming the file and the fix (run psc-keygen) on any
 * error. Caller owns; free with curve_keys_destroy().
 */
curve_keys_t *curve_keys_load(const char *dir, const char *task, char *err);

/*
 * Loads task's secret key too, for a process that also acts as another
 * task (worker 0 doing the chief's duties as "chief:0"). Returns 0, or
 * PSC_EINVAL with err.
 */
int curve_keys_add_own(curve_keys_t *k, const char *task, char *err);

/* Frees *p and sets it to NULL; accepts NULL. */
void curve_keys_destroy(curve_keys_t **p);

/* The folder the keys came from. Borrowed; valid until destroyed. */
const char *curve_keys_dir(const curve_keys_t *k);

/*
 * The task name a public key (32 bytes) may act as, or NULL when the key
 * is not on the list. Borrowed; valid until destroyed.
 */
const char *curve_keys_task_of(const curve_keys_t *k,
                               const uint8_t key[CURVE_KEY_LEN]);

/* 1 when the list holds a key for task, else 0. */
int curve_keys_lists(const curve_keys_t *k, const char *task);

/* Task's public key (32 bytes), or NULL. Borrowed; valid until destroyed. */
const uint8_t *curve_keys_public_of(const curve_keys_t *k, const char *task);

/*
 * Makes sock a CURVE server that proves itself with the secret key of the
 * task curve_keys_load() was given, and has every connection checked by the ZAP
 * handler of its context (net/gate.h). With k NULL it does nothing. Returns 0,
 * or PSC_EINVAL with err (no task's key was loaded).
 */
int curve_secure_server(void *sock, const curve_keys_t *k, char *err);

/*
 * Makes sock a CURVE client that proves itself with client_task's loaded
 * key (NULL: the task curve_keys_load() was given) and talks only to a
 * server holding server_task's key. With k NULL it does nothing. Returns
 * 0, PSC_EINVAL with err when client_task's key was not loaded, or
 * PSC_ENOTFOUND with err when the list has no key for server_task.
 */
int curve_secure_client(void *sock, const curve_keys_t *k,
                        const char *client_task, const char *server_task,
                        char *err);

/*
 * Writes a fresh key pair for each of the n tasks into dir (created if
 * missing, mode 0700): the secret keys with mode 0600, then tasks.pub.
 * Refuses, with PSC_EINVAL and err, to replace a folder that already holds
 * a tasks.pub unless force is set: replacing keys locks out the tasks that
 * run with the old ones. Returns 0, or PSC_EIO / PSC_EINVAL with err.
 */
int curve_keys_write(const char *dir, const char *const *tasks, int n,
                     int force, char *err);

/* The file name of task's secret key in a keys folder ("worker-0.key"). */
void curve_key_file(const char *task, char *out, size_t size);

#endif
