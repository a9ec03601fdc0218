/*
 * Error codes shared by every module, and the exit statuses of the role
 * binaries. One X-macro table generates both the enum and psc_strerror().
 *
 * The one return convention:
 * - A function that returns int returns 0 on success or a negative PSC_E*
 *   code, a failure a caller can act on. There is no bare -1 or 1.
 * - A role-level function that ends in a process exit status says so in its
 *   name or header comment (main(), chief_run(), worker_run(),
 *   ps_server_run(), the evaluator's s_run()) and returns 0,
 *   PSC_EXIT_CONFIG, PSC_EXIT_RETRY or 128+N after signal N;
 *   psc_exit_status() turns a PSC_E* code into one. boot_role() returns an
 *   enum boot_next instead, with the exit status in an out-parameter
 *   (session/boot.h).
 * - The positive values that are not errors have names: PSCLIENT_WAIT_CTL,
 *   "a chief message ended psclient_wait()" (session/psclient.h), and the
 *   chief's orders as their PSC__MSG_TYPE__* values (proto/psc.proto), which
 *   ctl_wait() and ctl_recv() return (session/ctl.h) and the worker's loop
 *   passes on as PSC__MSG_TYPE__STOP for "the chief said stop"
 *   (worker/worker.c).
 * - A function that returns a count, a size or a truth value says so in its
 *   comment; those are not error returns.
 */
#ifndef PSC_ERR_H
#define PSC_ERR_H

#define PSC_ERR_LEN 256

#define PSC_ERRORS(X)                      \
    X(OK, 0, "success")                    \
    X(EINVAL, -1, "invalid argument")      \
    X(ECONFIG, -2, "configuration error")  \
    X(EPROTO, -3, "malformed message")     \
    X(ETIMEDOUT, -4, "timed out")          \
    X(EPEERGONE, -5, "peer gone")          \
    X(EIO, -6, "input/output error")       \
    X(ENOTFOUND, -7, "not found")          \
    X(EINTR, -8, "interrupted")            \
    X(ENET, -9, "network error")           \
    X(ECHECKSUM, -10, "checksum mismatch") \
    X(EREFUSED, -11, "refused")            \
    X(EAGAIN, -12, "try again")

enum psc_err {
#define PSC_ERR_ENUM(name, code, text) PSC_##name = (code),
    PSC_ERRORS(PSC_ERR_ENUM)
#undef PSC_ERR_ENUM
};

/*
 * Exit statuses of the role binaries. Configuration and usage errors are
 * permanent; runtime failures (a lost peer, a deadline passed) are worth a
 * retry, and 138 is the status Kubeflow's ExitCode restart policy retries
 * (besides 130, 137 and 143, which signals give).
 */
#define PSC_EXIT_CONFIG 2
#define PSC_EXIT_RETRY  138

/*
 * The exit status for a role that ends with code rc (0 or PSC_E*): 128+N
 * when signal N asked it to stop (whatever failed on the way), 2 for
 * configuration errors and refusals, 138 for other failures.
 */
int psc_exit_status(int rc, int stop_signal);

/* Returns a static description of a PSC_E* code; never NULL. */
const char *psc_strerror(int code);

/*
 * Formats into an error out-buffer of PSC_ERR_LEN bytes, one line: control
 * characters in the result (a quoted value's newline) become '?'. Does
 * nothing when err is NULL. Returns code, so callers can write
 * `return psc_seterr(err, PSC_ECONFIG, "...")`.
 */
int psc_seterr(char *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
