/*
 * Variable placement over ps shards.
 */
#include "placement.h"

#include "model.h"
#include "psc_alloc.h"

#include <stdlib.h>
#include <string.h>

static void s_add(struct placement_shard *sh, int var, size_t global,
                  size_t len)
{
    sh->slices = psc_xrealloc(sh->slices,
                              (size_t) (sh->nslices + 1) * sizeof *sh->slices);
    struct placement_slice *s = &sh->slices[sh->nslices++];
    s->var = var;
    s->global_offset = global;
    s->shard_offset = sh->size;
    s->len = len;
    sh->size += len;
}

static int s_least_loaded(const placement_t *p)
{
    int best = 0;
    for (int i = 1; i < p->nps; i++) {
        if (p->shards[i].size < p->shards[best].size)
            best = i;
    }
    return best;
}

/* Indexes of the small variables, largest first (ties: lower index). */
static int *s_small_by_size(const size_t *sizes, int nvars, size_t min,
                            int *count)
{
    int *idx = psc_xmalloc((size_t) (nvars > 0 ? nvars : 1) * sizeof *idx);
    int n = 0;
    for (int v = 0; v < nvars; v++) {
        if (sizes[v] < min)
            idx[n++] = v;
    }
    for (int i = 1; i < n; i++) {
        int key = idx[i];
        int j = i - 1;
        while (j >= 0 && sizes[idx[j]] < sizes[key]) {
            idx[j + 1] = idx[j];
            j--;
        }
        idx[j + 1] = key;
    }
    *count = n;
    return idx;
}

placement_t *placement_new(const size_t *var_sizes, int nvars, int nps,
                           size_t slice_min_elems)
{
    placement_t *p = psc_xcalloc(1, sizeof *p);
    p->nps = nps;
    p->shards = psc_xcalloc((size_t) nps, sizeof *p->shards);
    size_t *offsets = psc_xcalloc((size_t) nvars + 1, sizeof *offsets);
    for (int v = 0; v < nvars; v++)
        offsets[v + 1] = offsets[v] + var_sizes[v];
    for (int v = 0; v < nvars; v++) {
        if (var_sizes[v] < slice_min_elems)
            continue;
        for (int s = 0; s < nps; s++) {
            size_t lo = var_sizes[v] * (size_t) s / (size_t) nps;
            size_t hi = var_sizes[v] * (size_t) (s + 1) / (size_t) nps;
            if (hi > lo)
                s_add(&p->shards[s], v, offsets[v] + lo, hi - lo);
        }
    }
    int nsmall = 0;
    int *small = s_small_by_size(var_sizes, nvars, slice_min_elems, &nsmall);
    for (int i = 0; i < nsmall; i++) {
        int v = small[i];
        s_add(&p->shards[s_least_loaded(p)], v, offsets[v], var_sizes[v]);
    }
    free(small);
    free(offsets);
    return p;
}

void placement_destroy(placement_t **pp)
{
    if (pp == NULL || *pp == NULL)
        return;
    placement_t *p = *pp;
    for (int s = 0; s < p->nps; s++)
        free(p->shards[s].slices);
    free(p->shards);
    free(p);
    *pp = NULL;
}

placement_t *placement_for_model(const struct model *m, int nps,
                                 long slice_min_bytes)
{
    int n = model_num_vars(m);
    size_t *sizes = psc_xmalloc((size_t) (n > 0 ? n : 1) * sizeof *sizes);
    for (int i = 0; i < n; i++)
        sizes[i] = model_var(m, i)->size;
    placement_t *p =
        placement_new(sizes, n, nps, (size_t) slice_min_bytes / sizeof(float));
    free(sizes);
    return p;
}

void placement_gather(const placement_t *p, int shard, const float *flat,
                      float *shard_values)
{
    const struct placement_shard *sh = &p->shards[shard];
    for (int i = 0; i < sh->nslices; i++) {
        const struct placement_slice *s = &sh->slices[i];
        memcpy(shard_values + s->shard_offset, flat + s->global_offset,
               s->len * sizeof(float));
    }
}

void placement_scatter(const placement_t *p, int shard,
                       const float *shard_values, float *flat)
{
    const struct placement_shard *sh = &p->shards[shard];
    for (int i = 0; i < sh->nslices; i++) {
        const struct placement_slice *s = &sh->slices[i];
        memcpy(flat + s->global_offset, shard_values + s->shard_offset,
               s->len * sizeof(float));
    }
}
