/*
 * The versions psc-serve holds, per model: a poll of each base path loads
 * the versions the policy wants (export_read(): every checksum and shape
 * checked before it is used), publishes each only when whole, and retires
 * those no longer wanted. A request holds a reference to the version it
 * started on, so a swap never fails or changes a request in flight; a
 * retired version's memory is given back when its last request ends.
 * Thread-safe.
 */
#ifndef SERVE_MODELS_H
#define SERVE_MODELS_H

#include "export.h"
#include "serve_config.h"

#include <jansson.h>

typedef struct serve_models serve_models_t;

/* One loaded version; immutable while referenced. */
struct serve_version {
    const char *model_name; /* borrowed from the config */
    long number;
    char dir[PATH_MAX];
    struct export_model model;
};

/*
 * Creates the manager for c's models (c must outlive it). Loads nothing:
 * call serve_models_poll() once, then serve_models_start(). Caller owns;
 * serve_models_destroy().
 */
serve_models_t *serve_models_new(const struct serve_config *c);

/* Stops the poll thread, waits for it and frees every version. */
void serve_models_destroy(serve_models_t **p);

/*
 * One scan of every base path: loads wanted versions not yet loaded (a
 * corrupt or half-written one is refused with one log line and tried again
 * only when its folder changes), retires loaded ones no longer wanted or
 * gone. Logs each load, refusal and retirement.
 */
void serve_models_poll(serve_models_t *s);

/*
 * Reads --model_config_file again when it changed since it was last read
 * (a rewrite or a rename over it): new version policies and labels take
 * effect at once, the next poll loads and retires versions by them. A
 * file that does not parse, or that adds, removes or moves a model, is
 * refused with one log line and the config in force stays.
 */
void serve_models_reconfigure(serve_models_t *s);

/*
 * Starts the thread that polls every poll_wait_s, and reads the config
 * file every config_poll_wait_s (when > 0). Returns 0 or PSC_E*.
 */
int serve_models_start(serve_models_t *s, char *err);

/*
 * The version a request names: version > 0 that number, else label when
 * not NULL, else the model's newest loaded version. Returns it with a
 * reference taken (serve_models_release() when the request is done), or
 * NULL with *status 404 and one line in err ("Servable not found for
 * request: ..." as TF Serving words it).
 */
const struct serve_version *serve_models_acquire(serve_models_t *s,
                                                 const char *name, long version,
                                                 const char *label, int *status,
                                                 char *err);
void serve_models_release(serve_models_t *s, const struct serve_version *v);

/*
 * TF Serving's GetModelStatus answer for name (version > 0: that version
 * alone) as JSON: {"model_version_status": [{"version": "2", "state":
 * "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}, ...]},
 * newest first. Returns NULL with *status 404 and err when the model or
 * version is unknown. Caller owns; json_decref().
 */
json_t *serve_models_status(serve_models_t *s, const char *name, long version,
                            int *status, char *err);

/* 1 when every configured model has a version loaded (readiness). */
int serve_models_ready(serve_models_t *s);

/*
 * Calls fn(arg, model, version, label-or-NULL) for each loaded version
 * and each label pointing at one (for the metrics' gauge).
 */
void serve_models_each(serve_models_t *s,
                       void (*fn)(void *arg, const char *model, long version,
                                  const char *label),
                       void *arg);

#endif
