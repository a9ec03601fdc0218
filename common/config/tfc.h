/*
 * TF_CONFIG: TensorFlow's JSON cluster spec, as written by TensorFlow,
 * Kubeflow TFJob and Vertex AI. Each role's main() parses it once into an
 * immutable tfc_t that says where every task listens and who this task is.
 * Unknown keys are ignored; anything psc cannot run with is rejected with a
 * one-line message that names the field and the fix.
 */
#ifndef TFC_H
#define TFC_H

#include <stddef.h>

/* "master" is the old name of the chief; it maps to TFC_CHIEF. */
enum tfc_role { TFC_CHIEF = 0, TFC_PS, TFC_WORKER, TFC_EVALUATOR, TFC_NROLES };

typedef struct tfc tfc_t;

/*
 * Parses a TF_CONFIG JSON text. Returns NULL and writes one line to err
 * (naming the field and the fix) on any error; err may be NULL. Caller
 * owns; free with tfc_destroy().
 */
tfc_t *tfc_new_from_json(const char *json, char *err);

/*
 * Reads the JSON from file `path` if non-NULL, else from the environment
 * variable TF_CONFIG (an error if unset or empty). Returns NULL and writes
 * one line to err on any error. Caller owns; free with tfc_destroy().
 */
tfc_t *tfc_new_from_env(const char *path, char *err);

/* Frees *p and sets it to NULL; accepts NULL and *p == NULL. */
void tfc_destroy(tfc_t **p);

/*
 * Returns "chief", "ps", "worker" or "evaluator" ("unknown" for a value
 * outside the enum). Static; never NULL.
 */
const char *tfc_role_name(enum tfc_role r);

/*
 * Returns the number of tasks of role r in the cluster: 0 or 1 for the
 * chief, usually 0 for the evaluator (TensorFlow keeps it outside the
 * cluster), 0 for a role outside the enum.
 */
int tfc_count(const tfc_t *c, enum tfc_role r);

/*
 * Returns the host part of task r:index, IPv6 without brackets, or NULL
 * when there is no such task. Borrowed; valid until tfc_destroy().
 */
const char *tfc_host(const tfc_t *c, enum tfc_role r, int index);

/* Returns the port (1..65535) of task r:index, or -1 if there is none. */
int tfc_port(const tfc_t *c, enum tfc_role r, int index);

/* Returns this task's role; task.type "master" gives TFC_CHIEF. */
enum tfc_role tfc_task_role(const tfc_t *c);

/* Returns this task's index (task.index, 0 when TF_CONFIG leaves it out). */
int tfc_task_index(const tfc_t *c);

/* Returns 1 when the cluster has a chief (or master) task, else 0. */
int tfc_has_chief(const tfc_t *c);

/*
 * Returns 1 when this task does the chief's duties: it is the chief, or it
 * is worker 0 of a cluster without chief. Else 0.
 */
int tfc_is_acting_chief(const tfc_t *c);

/*
 * 1 for an evaluator outside any training cluster (TF_CONFIG without
 * cluster, or without cluster.ps): it evaluates the checkpoints in
 * model_dir as they appear, as TensorFlow's sidecar evaluator does.
 */
int tfc_is_sidecar(const tfc_t *c);

/*
 * Checks that the binary for role `binary` may run this task: psc-ps needs
 * type ps, psc-worker worker, psc-chief chief/master, psc-evaluator
 * evaluator. Returns 0, or PSC_ECONFIG with one line in err (which may be
 * NULL) saying which binary to start or how to change task.type;
 * PSC_EINVAL for a binary outside the enum.
 */
int tfc_check_binary(const tfc_t *c, enum tfc_role binary, char *err);

/*
 * Returns "task.type:index" with task.type as written ("worker:1",
 * "master:0"), for log identities. Borrowed; valid until tfc_destroy().
 */
const char *tfc_task_name(const tfc_t *c);

/*
 * Writes "tcp://host:port" for task r:index into buf of len bytes
 * (truncated if short), with brackets around an IPv6 host. Writes "" when
 * there is no such task.
 */
void tfc_endpoint(const tfc_t *c, enum tfc_role r, int index, char *buf,
                  size_t len);

/*
 * A cluster to write as TF_CONFIG: for each role, the addresses of its
 * tasks ("host:port", "[v6]:port") in index order, and this task's role
 * and index. A role with n[r] == 0 gets no key in "cluster": a cluster
 * without chief, or the evaluator outside the cluster as TensorFlow has
 * it. The strings are borrowed for the call.
 */
struct tfc_spec {
    const char *const *addrs[TFC_NROLES];
    int n[TFC_NROLES];
    enum tfc_role task_role;
    int task_index;
};

/*
 * Formats spec as compact TF_CONFIG JSON in the shape TensorFlow writes:
 * {"cluster":{"chief":[...],"ps":[...],"worker":[...]},
 * "task":{"type":"worker","index":1}}, roles in enum order. It checks
 * only what it needs to write the text; tfc_new_from_json() is the check
 * of what a role accepts. Returns NULL with one line in err (may be NULL)
 * for a role outside the enum, a negative count or index, or a missing or
 * non-UTF-8 address. Caller owns; free with free().
 */
char *tfc_format(const struct tfc_spec *spec, char *err);

/*
 * Returns a multi-line human description: each job with its addresses, then
 * "this task: worker:1 at host:port" (or "this task: evaluator:0 (outside
 * the cluster, no address)"), and "worker 0 also acts as chief" when the
 * cluster has no chief. Lines end with '\n'. Caller owns; free with free().
 */
char *tfc_describe(const tfc_t *c);

#endif
