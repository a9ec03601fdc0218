/*
 * Error codes shared by every module: 0 is success, a negative PSC_E* code
 * is a failure a caller can act on. One X-macro table generates both the
 * enum and psc_strerror().
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
#define PSC_ERR_ENUM(name, code, text) PSC_##name = code,
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
 * Formats into an error out-buffer of PSC_ERR_LEN bytes; does nothing when
 * err is NULL. Returns code, so callers can write
 * `return psc_seterr(err, PSC_ECONFIG, "...")`.
 */
int psc_seterr(char *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
