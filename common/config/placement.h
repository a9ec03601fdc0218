/*
 * Where each variable lives: dense variables of at least slice_min_bytes are
 * cut into contiguous slices over every ps, balanced by bytes; smaller ones
 * are placed whole on the least loaded ps, largest first. A pure function of
 * (variable sizes, number of ps, threshold): every role computes the same.
 */
#ifndef PLACEMENT_H
#define PLACEMENT_H

#include <stddef.h>

/* One contiguous piece of a variable held by one shard. */
struct placement_slice {
    int var;
    size_t global_offset; /* into the flat array of all variables */
    size_t shard_offset;  /* into the shard's own flat array */
    size_t len;           /* elements */
};

struct placement_shard {
    int nslices;
    struct placement_slice *slices;
    size_t size; /* elements held by the shard */
};

/* Read-only for callers. */
typedef struct placement {
    int nps;
    struct placement_shard *shards;
} placement_t;

/*
 * var_sizes: element count of each variable, laid out one after another in
 * the flat array. Caller owns; free with placement_destroy().
 */
placement_t *placement_new(const size_t *var_sizes, int nvars, int nps,
                           size_t slice_min_elems);
void placement_destroy(placement_t **p);

struct model;

/*
 * The placement of a model's variables over nps shards, with the job's
 * slicing threshold in bytes. Caller owns; free with placement_destroy().
 */
placement_t *placement_for_model(const struct model *m, int nps,
                                 long slice_min_bytes);

/* Copies a shard's elements out of (gather) or into (scatter) a flat array. */
void placement_gather(const placement_t *p, int shard, const float *flat,
                      float *shard_values);
void placement_scatter(const placement_t *p, int shard,
                       const float *shard_values, float *flat);

#endif
