/*
 * What export.c, export_gemv.c, export_write.c and export_read.c share and
 * nobody else needs.
 */
#ifndef EXPORT_INTERNAL_H
#define EXPORT_INTERNAL_H

#include "export.h"

#define EXPORT__MANIFEST "model.json"
#define EXPORT__ONNX     "model.onnx"
#define EXPORT__TFJS     "tfjs"

/*
 * The highest version number under base and its folder's name
 * (EXPORT_VERSION_LEN bytes), 0 and "" when there is none or no base.
 * Returns 0 or PSC_EIO.
 */
int export__highest_version(const char *base, long *highest, char *name,
                            char *err);

/* "%04ld": the folder name of version v (EXPORT_VERSION_LEN bytes). */
void export__version_name(long v, char *out);

/* The file names of layer l's arrays (EXPORT_NAME_LEN bytes). */
void export__kernel_file(const struct export_model *m, int l, char *out);
void export__bias_file(int l, char *out);
void export__scale_file(int l, char *out);

/*
 * y += alpha * x * kernel for one row x of in inputs (kernel in x out,
 * row-major), reading only the kernel rows where x is not zero.
 */
void export__gemv_nonzero(const float *kernel, int in, int out, float alpha,
                          const float *x, float *y);

#endif
