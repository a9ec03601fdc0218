/*
 * A sparse data set in compressed rows: example i has the features
 * keys[starts[i] .. starts[i + 1]) with their values, and one label. The
 * LIBSVM reader and the synthetic generator fill it; sparse models read
 * it.
 */
#ifndef SPARSE_SET_H
#define SPARSE_SET_H

#include <stddef.h>
#include <stdint.h>

struct sparse_set {
    size_t n;       /* examples */
    size_t nnz;     /* features in all */
    int classes;    /* 2: labels are 0 or 1; more: 0 .. classes - 1 */
    float *labels;  /* n */
    size_t *starts; /* n + 1 */
    uint64_t *keys; /* nnz feature ids (hashed, when the source hashes) */
    float *values;  /* nnz */
    size_t cap_n;   /* room in labels and starts */
    size_t cap_nnz; /* room in keys and values */
};

/* An empty set of examples with that many classes. */
void sparse_set_init(struct sparse_set *s, int classes);

/* Appends one example: label and count features. */
void sparse_set_push(struct sparse_set *s, float label, const uint64_t *keys,
                     const float *values, size_t count);

/* Appends example ex of src to s (a worker's batch is a set too). */
void sparse_set_push_from(struct sparse_set *s, const struct sparse_set *src,
                          size_t ex);

/* Empties the set, keeping its room for the next examples. */
void sparse_set_clear(struct sparse_set *s);

void sparse_set_release(struct sparse_set *s);

#endif
