/*
 * Arrays grow by doubling, so n pushes copy each feature O(1) times.
 */
#include "sparse_set.h"

#include "psc_alloc.h"

#include <stdlib.h>
#include <string.h>

void sparse_set_init(struct sparse_set *s, int classes)
{
    memset(s, 0, sizeof *s);
    s->classes = classes;
    s->cap_n = 1;
    s->starts = psc_xcalloc(1, sizeof *s->starts);
    s->labels = psc_xcalloc(1, sizeof *s->labels);
}

static void s_room(struct sparse_set *s, size_t count)
{
    if (s->n + 1 >= s->cap_n) {
        s->cap_n *= 2;
        s->labels = psc_xrealloc(s->labels, s->cap_n * sizeof *s->labels);
        s->starts = psc_xrealloc(s->starts, s->cap_n * sizeof *s->starts);
    }
    if (s->nnz + count > s->cap_nnz) {
        size_t cap = s->cap_nnz > 0 ? s->cap_nnz : 64;
        while (cap < s->nnz + count)
            cap *= 2;
        s->keys = psc_xrealloc(s->keys, cap * sizeof *s->keys);
        s->values = psc_xrealloc(s->values, cap * sizeof *s->values);
        s->cap_nnz = cap;
    }
}

void sparse_set_push(struct sparse_set *s, float label, const uint64_t *keys,
                     const float *values, size_t count)
{
    s_room(s, count);
    if (count > 0) {
        memcpy(s->keys + s->nnz, keys, count * sizeof *keys);
        memcpy(s->values + s->nnz, values, count * sizeof *values);
    }
    s->labels[s->n] = label;
    s->nnz += count;
    s->starts[++s->n] = s->nnz;
}

void sparse_set_push_from(struct sparse_set *s, const struct sparse_set *src,
                          size_t ex)
{
    size_t first = src->starts[ex];
    sparse_set_push(s, src->labels[ex], src->keys + first, src->values + first,
                    src->starts[ex + 1] - first);
}

void sparse_set_clear(struct sparse_set *s)
{
    s->n = 0;
    s->nnz = 0;
    s->starts[0] = 0;
}

void sparse_set_release(struct sparse_set *s)
{
    free(s->labels);
    free(s->starts);
    free(s->keys);
    free(s->values);
    memset(s, 0, sizeof *s);
}
