/*
 * A job's variables, placement and initial values.
 */
#include "jobvars.h"

#include "embedding_mlp.h"
#include "model.h"
#include "psc_alloc.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int s_is_bench(const struct job *job)
{
    return strcmp(job->model, "bench") == 0;
}

static int s_is_lr(const struct job *job)
{
    return strcmp(job->model, "sparse_lr") == 0;
}

int jobvars_is_embedding(const struct job *job)
{
    return strcmp(job->model, "embedding_mlp") == 0;
}

int jobvars_is_sparse_model(const struct job *job)
{
    return s_is_lr(job) || jobvars_is_embedding(job);
}

int jobvars_fields(const struct job *job)
{
    return (int) (job->sparse_fields > 0 ? job->sparse_fields
                                         : job->synth_fields);
}

embedding_mlp_t *jobvars_embedding_mlp(const struct job *job, int max_batch,
                                       char *err)
{
    return embedding_mlp_new(jobvars_fields(job), (int) job->sparse_width,
                             job->hidden, job->nhidden, max_batch, err);
}

/* The placement of the embedding MLP's dense variables. */
static placement_t *s_embedding_placement(const struct job *job, int nps,
                                          size_t min, char *err)
{
    embedding_mlp_t *m = jobvars_embedding_mlp(job, 1, err);
    if (m == NULL)
        return NULL;
    int n = embedding_mlp_num_vars(m);
    size_t sizes[2 * EMBEDDING_MLP_MAX_LAYERS];
    for (int i = 0; i < n; i++)
        sizes[i] = embedding_mlp_var(m, i)->size;
    embedding_mlp_destroy(&m);
    return placement_new(sizes, n, nps, min);
}

placement_t *jobvars_placement(const struct job *job, int nps, char *err)
{
    size_t min = (size_t) job->slice_min_bytes / sizeof(float);
    if (jobvars_is_embedding(job))
        return s_embedding_placement(job, nps, min, err);
    if (s_is_lr(job)) {
        size_t bias = 1;
        return placement_new(&bias, 1, nps, min);
    }
    if (s_is_bench(job)) {
        size_t size = (size_t) job->bench_dense_floats;
        return placement_new(&size, size > 0 ? 1 : 0, nps, min);
    }
    model_t *m =
        model_new(job->model, job->hidden, job->nhidden, 784, 10, 1, err);
    if (m == NULL)
        return NULL;
    placement_t *p = placement_for_model(m, nps, job->slice_min_bytes);
    model_destroy(&m);
    return p;
}

uint64_t jobvars_sparse_rows(const struct job *job)
{
    if (jobvars_is_sparse_model(job))
        return job->hash_buckets > 0 ? (uint64_t) job->hash_buckets
                                     : JOBVARS_ANY_KEY;
    return s_is_bench(job) ? (uint64_t) job->bench_sparse_rows : 0;
}

size_t jobvars_sparse_width(const struct job *job)
{
    return s_is_lr(job) ? 1 : (size_t) job->sparse_width;
}

/* splitmix64's finaliser: a bijection that mixes every input bit. */
static uint64_t s_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t s_stream(uint64_t seed, uint32_t var)
{
    return s_mix(seed * UINT64_C(0x9e3779b97f4a7c15) + var + 1);
}

/* 24 random bits to [-0.05, 0.05). */
static float s_to_value(uint64_t h)
{
    return ((float) (h >> 40) * (1.0f / 16777216.0f) - 0.5f) * 0.1f;
}

float jobvars_init_value(uint64_t seed, uint32_t var, uint64_t index)
{
    return s_to_value(
        s_mix(s_stream(seed, var) ^ (index * UINT64_C(0xd1b54a32d192ed03))));
}

static void s_init_range(uint64_t stream, uint64_t first, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = s_to_value(
            s_mix(stream ^ ((first + i) * UINT64_C(0xd1b54a32d192ed03))));
}

void jobvars_init_shard(const struct job *job, const placement_t *pl, int shard,
                        float *values)
{
    const struct placement_shard *sh = &pl->shards[shard];
    if (s_is_bench(job)) {
        uint64_t stream = s_stream((uint64_t) job->seed, JOBVARS_DENSE_VAR);
        for (int i = 0; i < sh->nslices; i++)
            s_init_range(stream, sh->slices[i].global_offset,
                         values + sh->slices[i].shard_offset,
                         sh->slices[i].len);
        return;
    }
    if (s_is_lr(job)) {
        if (sh->nslices > 0)
            values[0] = 0.0f; /* the bias */
        return;
    }
    if (jobvars_is_embedding(job)) {
        embedding_mlp_t *e = jobvars_embedding_mlp(job, 1, NULL);
        if (e == NULL)
            return;
        float *all = psc_xaligned(embedding_mlp_num_params(e) * sizeof(float));
        embedding_mlp_init_params(e, (uint64_t) job->seed, all);
        placement_gather(pl, shard, all, values);
        free(all);
        embedding_mlp_destroy(&e);
        return;
    }
    model_t *m =
        model_new(job->model, job->hidden, job->nhidden, 784, 10, 1, NULL);
    if (m == NULL)
        return;
    float *all = psc_xaligned(model_num_params(m) * sizeof(float));
    model_init_params(m, (uint64_t) job->seed, all);
    placement_gather(pl, shard, all, values);
    free(all);
    model_destroy(&m);
}

void jobvars_init_row(const struct job *job, uint64_t key, float *row)
{
    size_t width = jobvars_sparse_width(job);
    /* Logistic regression starts at zero weights, as its users expect. */
    if (s_is_lr(job)) {
        memset(row, 0, width * sizeof(float));
        return;
    }
    s_init_range(s_stream((uint64_t) job->seed, JOBVARS_SPARSE_VAR),
                 key * width, row, width);
}

int jobvars_apply_threads(const struct job *job)
{
    if (job->apply_threads > 0)
        return (int) job->apply_threads;
    long free_cores = sysconf(_SC_NPROCESSORS_ONLN) - job->zmq_io_threads;
    if (free_cores < 1)
        return 1;
    return free_cores < 4 ? (int) free_cores : 4;
}
