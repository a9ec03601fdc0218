/*
 * The LIBSVM / svmlight text format: one example a line, "LABEL
 * INDEX:VALUE INDEX:VALUE ...", '#' starting a comment, an svmlight
 * "qid:N" allowed and ignored. Gzipped or plain (zlib reads both). Binary
 * labels are 0/1 or -1/+1 (read as 0/1); multiclass labels are the
 * integers 0 .. classes - 1. Feature ids are hashed into hash_buckets rows
 * when it is set, so any id space fits a table.
 */
#ifndef LIBSVM_H
#define LIBSVM_H

#include "sparse_set.h"

#include <stdint.h>

/* The longest line read: a bound on what one example may hold. */
#define LIBSVM_MAX_LINE (64u << 20)

struct libsvm_opts {
    int classes;           /* 2 (binary) or more */
    uint64_t hash_buckets; /* 0: ids as the file gives them */
    uint64_t hash_seed;
    size_t max_examples; /* 0: every example */
};

/*
 * Reads path into out (initialised here; release with
 * sparse_set_release()). Returns 0, or PSC_ENOTFOUND / PSC_EIO for a file
 * that cannot be read, PSC_EINVAL for a malformed one, with one line in
 * err naming the file and the line ("train.svm:12: feature 'x3' is not
 * INDEX:VALUE"); out is then released (all zero).
 */
int libsvm_load(const char *path, const struct libsvm_opts *o,
                struct sparse_set *out, char *err);

#endif
