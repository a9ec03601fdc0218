/*
 * The variables of a job as every role sees them: the dense variables'
 * sizes and their placement over the ps, the sparse table's shape, and
 * initial values from the job's seed. The dense models (softmax, mlp)
 * take their variables from model.h; sparse_lr has one dense variable (its
 * bias) and a sparse table of 1-wide rows keyed by feature id (zero
 * initially); embedding_mlp has its MLP's variables (embedding_mlp.h) and
 * a sparse table of sparse.width-wide embedding rows keyed by feature id
 * (initialised from the seed and the key); model "bench" has one dense variable
 * of bench.dense_floats floats and, when bench.sparse_rows > 0, a sparse table
 * of bench.sparse_rows x sparse.width split by row key.
 */
#ifndef JOBVARS_H
#define JOBVARS_H

#include "embedding_mlp.h"
#include "job.h"
#include "placement.h"

#include <stddef.h>
#include <stdint.h>

/* Variable ids mixed into the bench model's initial values. */
#define JOBVARS_DENSE_VAR  0u
#define JOBVARS_SPARSE_VAR 1u

/*
 * The placement of the job's dense variables over nps ps. Returns NULL with
 * a line in err for a model that cannot be built. Caller owns;
 * placement_destroy().
 */
placement_t *jobvars_placement(const struct job *job, int nps, char *err);

/* Whether the job trains a sparse model (sparse_lr, embedding_mlp), which
 * reads sparse data; model bench has a sparse table but trains nothing. */
int jobvars_is_sparse_model(const struct job *job);

/* Whether the model is embedding_mlp (dense variables: its MLP's). */
int jobvars_is_embedding(const struct job *job);

/* embedding_mlp's fields per example: sparse.fields, or synth.fields. */
int jobvars_fields(const struct job *job);

/*
 * The job's embedding MLP for batches of up to max_batch examples; NULL
 * with a line in err (may be NULL) when its shape is refused. Caller owns;
 * embedding_mlp_destroy().
 */
embedding_mlp_t *jobvars_embedding_mlp(const struct job *job, int max_batch,
                                       char *err);

/* The sparse table's rows when any 64-bit key may name one. */
#define JOBVARS_ANY_KEY UINT64_MAX

/*
 * Rows and width of the sparse table; rows is 0 when there is none, and
 * keys are below rows.
 */
uint64_t jobvars_sparse_rows(const struct job *job);
size_t jobvars_sparse_width(const struct job *job);

/* The shard (ps index) that holds sparse row key. */
static inline int jobvars_sparse_shard(uint64_t key, int nps)
{
    return (int) (key % (uint64_t) nps);
}

/*
 * A counter-based initial value in [-0.05, 0.05): a hash of (seed, var,
 * index), so any element can be computed alone and a shard's values do not
 * depend on the number of ps.
 */
float jobvars_init_value(uint64_t seed, uint32_t var, uint64_t index);

/*
 * Fills values (the shard's own flat array, placement layout) with shard's
 * initial values: for softmax and mlp those of model_init_params() over the
 * whole model, for embedding_mlp those of embedding_mlp_init_params(), for
 * bench jobvars_init_value() of each element's index in
 * the flat array of all variables.
 */
void jobvars_init_shard(const struct job *job, const placement_t *pl, int shard,
                        float *values);

/* Fills row (width floats) with the initial values of sparse row key. */
void jobvars_init_row(const struct job *job, uint64_t key, float *row);

/*
 * Threads for pool_new(): apply_threads, or when it is 0 one per online
 * core that ZeroMQ's I/O threads leave free, at least 1 and at most 4.
 */
int jobvars_apply_threads(const struct job *job);

#endif
