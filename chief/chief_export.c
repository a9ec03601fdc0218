#include "chief_export.h"

#include "export.h"
#include "psc_err.h"
#include "psc_log.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static int s_build(struct export_model *m, const struct job *job,
                   const char *ckpt_dir, char *err)
{
    char names[EXPORT_MAX_CLASSES][EXPORT_NAME_LEN];
    int rc = export_model_from_ckpt(m, ckpt_dir, err);
    if (rc != 0)
        return rc;
    int n = job_class_names(job, names, EXPORT_MAX_CLASSES, err);
    rc = n < 0 ? n : export_model_set_classes(m, names, n, err);
    if (rc == 0 && strcmp(job->export_quantize, "int8") == 0)
        export_model_quantize(m);
    return rc;
}

int chief_export(const struct job *job, const char *ckpt_dir,
                 const struct chief_eval *eval)
{
    char err[PSC_ERR_LEN];
    char base[PATH_MAX];
    char version[EXPORT_VERSION_LEN];
    struct export_model m;
    if (strcmp(job->model, "bench") == 0)
        return 0; /* synthetic variables, no model to run */
    snprintf(base, sizeof base, "%s/export/%s", job->model_dir,
             job->model_name);
    int rc = s_build(&m, job, ckpt_dir, err);
    if (rc == 0 && eval != NULL && eval->done) {
        m.has_eval = 1;
        m.accuracy = eval->accuracy;
        m.loss = eval->loss;
    }
    if (rc == 0)
        rc = export_write(base, &m, version, err);
    if (rc == 0)
        psc_log_info("exported step %llu to %s/%s (%s)",
                     (unsigned long long) m.step, base, version,
                     m.dtype == EXPORT_INT8 ? "int8" : "float32");
    else
        psc_log_err("cannot export %s: %s; the checkpoint is kept: "
                    "psc-export --checkpoint %s --out %s exports it again",
                    ckpt_dir, err, ckpt_dir, base);
    export_model_release(&m);
    return rc;
}
