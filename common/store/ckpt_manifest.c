/*
 * manifest.json through jansson. Reading checks every field it takes and
 * names the first bad one ("vars[2].size"); writing builds the JSON, runs
 * the same checks on it (so psc never writes a manifest it would refuse)
 * and stores it durably.
 */
#include "ckpt_manifest.h"
#include "json_file.h"

#include "ckpt_io.h"
#include "ckpt_sparse.h"
#include "placement.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_fs.h"
#include "psc_json.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Limits that keep a corrupt manifest from asking for absurd allocations. */
#define S_MAX_NPS     65536
#define S_MAX_VARS    (1 << 20)
#define S_MAX_WORKERS (1 << 20)
#define S_MAX_ELEMS   ((uint64_t) 1 << 40)

/* A field's full name ("vars[2]." + "size") for messages. */
#define S_WHERE_LEN 64

void ckpt_manifest_shard_name(int shard, int nps, char *out, size_t cap)
{
    snprintf(out, cap, "shard-%d-of-%d", shard, nps);
}

uint64_t ckpt_manifest_shard_bytes(int narrays, size_t elems)
{
    return CKPT_SHARD_HEADER_BYTES +
           (uint64_t) narrays * (uint64_t) elems * sizeof(float);
}

size_t ckpt_manifest_total(const struct ckpt_manifest *m)
{
    size_t total = 0;
    for (int v = 0; v < m->nvars; v++)
        total += m->vars[v].size;
    return total;
}

void ckpt_manifest_release(struct ckpt_manifest *m)
{
    if (m == NULL)
        return;
    free(m->vars);
    placement_destroy(&m->placement);
    free(m->files);
    free(m->workers);
    free(m->sparse.files);
    free(m->sparse.file_rows);
    free(m->sparse.file_pending);
    memset(m, 0, sizeof *m);
}

/* ---- reading: one helper per JSON type, each naming its field ---- */

static int s_field(const json_t *obj, const char *where, const char *key,
                   json_t **out, char *err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return psc_seterr(err, PSC_EPROTO, "field '%s%s' is missing", where,
                          key);
    *out = v;
    return 0;
}

static int s_uint(const json_t *obj, const char *where, const char *key,
                  uint64_t max, uint64_t *out, char *err)
{
    json_t *v = NULL;
    int rc = s_field(obj, where, key, &v, err);
    if (rc != 0)
        return rc;
    if (!json_is_integer(v))
        return psc_seterr(err, PSC_EPROTO, "field '%s%s' is not an integer",
                          where, key);
    json_int_t x = json_integer_value(v);
    if (x < 0 || (uint64_t) x > max)
        return psc_seterr(err, PSC_EPROTO,
                          "field '%s%s' is out of range (%lld, not 0 to "
                          "%" PRIu64 ")",
                          where, key, (long long) x, max);
    *out = (uint64_t) x;
    return 0;
}

static int s_int(const json_t *obj, const char *where, const char *key, int min,
                 int max, int *out, char *err)
{
    uint64_t x = 0;
    int rc = s_uint(obj, where, key, (uint64_t) max, &x, err);
    if (rc != 0)
        return rc;
    if (x < (uint64_t) min)
        return psc_seterr(err, PSC_EPROTO,
                          "field '%s%s' is out of range (%d, not %d to %d)",
                          where, key, (int) x, min, max);
    *out = (int) x;
    return 0;
}

static int s_size(const json_t *obj, const char *where, const char *key,
                  size_t *out, char *err)
{
    uint64_t x = 0;
    int rc = s_uint(obj, where, key, S_MAX_ELEMS, &x, err);
    if (rc == 0)
        *out = (size_t) x;
    return rc;
}

static int s_str(const json_t *obj, const char *where, const char *key,
                 char *out, size_t cap, char *err)
{
    json_t *v = NULL;
    int rc = s_field(obj, where, key, &v, err);
    if (rc != 0)
        return rc;
    if (!json_is_string(v))
        return psc_seterr(err, PSC_EPROTO, "field '%s%s' is not a string",
                          where, key);
    if (json_string_length(v) >= cap)
        return psc_seterr(err, PSC_EPROTO,
                          "field '%s%s' is too long (%zu bytes, at most %zu)",
                          where, key, json_string_length(v), cap - 1);
    snprintf(out, cap, "%s", json_string_value(v));
    return 0;
}

/* An array of n elements (min <= n <= max) into *out. */
static int s_array(const json_t *obj, const char *key, size_t min, size_t max,
                   json_t **out, char *err)
{
    json_t *v = NULL;
    int rc = s_field(obj, "", key, &v, err);
    if (rc != 0)
        return rc;
    if (!json_is_array(v))
        return psc_seterr(err, PSC_EPROTO, "field '%s' is not an array", key);
    size_t n = json_array_size(v);
    if (n < min || n > max)
        return psc_seterr(err, PSC_EPROTO,
                          "field '%s' has %zu elements, not %zu to %zu", key, n,
                          min, max);
    *out = v;
    return 0;
}

/* Element i of array key, which must be an object; where gets "key[i].". */
static int s_element(const json_t *arr, const char *key, size_t i,
                     char where[S_WHERE_LEN], json_t **out, char *err)
{
    snprintf(where, S_WHERE_LEN, "%s[%zu].", key, i);
    json_t *e = json_array_get(arr, i);
    if (!json_is_object(e))
        return psc_seterr(err, PSC_EPROTO, "field '%s[%zu]' is not an object",
                          key, i);
    *out = e;
    return 0;
}

static int s_fingerprint(const json_t *root, uint64_t *out, char *err)
{
    char hex[CKPT_NAME_LEN];
    int rc = s_str(root, "", "fingerprint", hex, sizeof hex, err);
    if (rc != 0)
        return rc;
    size_t n = strlen(hex);
    if (n == 0 || n > 16 || strspn(hex, "0123456789abcdef") != n)
        return psc_seterr(err, PSC_EPROTO,
                          "field 'fingerprint' is not 1 to 16 lower-case hex "
                          "digits ('%s')",
                          hex);
    *out = strtoull(hex, NULL, 16);
    return 0;
}

static int s_var(const json_t *e, const char *where, size_t offset,
                 struct ckpt_var *v, char *err)
{
    int rc = s_str(e, where, "name", v->name, sizeof v->name, err);
    if (rc == 0 && v->name[0] == '\0')
        rc = psc_seterr(err, PSC_EPROTO, "field '%sname' is empty", where);
    if (rc == 0)
        rc = s_int(e, where, "rows", 0, INT_MAX, &v->rows, err);
    if (rc == 0)
        rc = s_int(e, where, "cols", 0, INT_MAX, &v->cols, err);
    if (rc == 0)
        rc = s_size(e, where, "size", &v->size, err);
    if (rc == 0)
        rc = s_size(e, where, "offset", &v->offset, err);
    if (rc != 0)
        return rc;
    if ((uint64_t) v->rows * (uint64_t) v->cols != v->size)
        return psc_seterr(err, PSC_EPROTO,
                          "field '%ssize' is %zu, not rows x cols = %d x %d",
                          where, v->size, v->rows, v->cols);
    if (v->offset != offset)
        return psc_seterr(err, PSC_EPROTO,
                          "field '%soffset' is %zu, not %zu (the variables "
                          "before it end there)",
                          where, v->offset, offset);
    return 0;
}

static int s_vars(const json_t *root, struct ckpt_manifest *m, char *err)
{
    json_t *arr = NULL;
    int rc = s_array(root, "vars", 1, S_MAX_VARS, &arr, err);
    if (rc != 0)
        return rc;
    m->nvars = (int) json_array_size(arr);
    m->vars = psc_xcalloc((size_t) m->nvars, sizeof *m->vars);
    size_t offset = 0;
    for (int i = 0; i < m->nvars; i++) {
        char where[S_WHERE_LEN];
        json_t *e = NULL;
        rc = s_element(arr, "vars", (size_t) i, where, &e, err);
        if (rc == 0)
            rc = s_var(e, where, offset, &m->vars[i], err);
        if (rc != 0)
            return rc;
        offset += m->vars[i].size;
        if (offset > S_MAX_ELEMS)
            return psc_seterr(err, PSC_EPROTO,
                              "field 'vars' holds more than %" PRIu64
                              " elements",
                              S_MAX_ELEMS);
    }
    return 0;
}

/* One slice; sh_end is where the shard's previous slice ended. */
static int s_slice(const json_t *e, const char *where,
                   const struct ckpt_manifest *m, size_t sh_end,
                   struct placement_slice *s, char *err)
{
    int rc = s_int(e, where, "var", 0, m->nvars - 1, &s->var, err);
    if (rc == 0)
        rc = s_size(e, where, "global_offset", &s->global_offset, err);
    if (rc == 0)
        rc = s_size(e, where, "shard_offset", &s->shard_offset, err);
    if (rc == 0)
        rc = s_size(e, where, "len", &s->len, err);
    if (rc != 0)
        return rc;
    const struct ckpt_var *v = &m->vars[s->var];
    if (s->len == 0)
        return psc_seterr(err, PSC_EPROTO, "field '%slen' is 0", where);
    if (s->global_offset < v->offset ||
        s->global_offset + s->len > v->offset + v->size)
        return psc_seterr(err, PSC_EPROTO,
                          "field '%sglobal_offset': elements %zu to %zu are "
                          "not all in variable '%s' (%zu to %zu)",
                          where, s->global_offset, s->global_offset + s->len,
                          v->name, v->offset, v->offset + v->size);
    if (s->shard_offset != sh_end)
        return psc_seterr(err, PSC_EPROTO,
                          "field '%sshard_offset' is %zu, not %zu (where the "
                          "shard's slices before it end)",
                          where, s->shard_offset, sh_end);
    return 0;
}

static int s_shard(const json_t *e, const char *where, int shard,
                   const struct ckpt_manifest *m, struct placement_shard *sh,
                   char *err)
{
    int got = 0;
    size_t size = 0;
    int rc = s_int(e, where, "shard", 0, S_MAX_NPS, &got, err);
    if (rc == 0 && got != shard)
        rc = psc_seterr(err, PSC_EPROTO, "field '%sshard' is %d, not %d", where,
                        got, shard);
    if (rc == 0)
        rc = s_size(e, where, "size", &size, err);
    json_t *arr = NULL;
    if (rc == 0)
        rc = s_field(e, where, "slices", &arr, err);
    if (rc == 0 && !json_is_array(arr))
        rc = psc_seterr(err, PSC_EPROTO, "field '%sslices' is not an array",
                        where);
    if (rc != 0)
        return rc;
    size_t n = json_array_size(arr);
    if (n > (size_t) S_MAX_VARS)
        return psc_seterr(err, PSC_EPROTO, "field '%sslices' is too long",
                          where);
    sh->slices = psc_xcalloc(n > 0 ? n : 1, sizeof *sh->slices);
    for (size_t i = 0; i < n; i++) {
        char sw[2 * S_WHERE_LEN];
        json_t *se = json_array_get(arr, i);
        snprintf(sw, sizeof sw, "%sslices[%zu].", where, i);
        if (!json_is_object(se))
            return psc_seterr(err, PSC_EPROTO,
                              "field '%sslices[%zu]' is not an object", where,
                              i);
        rc = s_slice(se, sw, m, sh->size, &sh->slices[i], err);
        if (rc != 0)
            return rc;
        sh->nslices++;
        sh->size += sh->slices[i].len;
    }
    if (size != sh->size)
        return psc_seterr(err, PSC_EPROTO,
                          "field '%ssize' is %zu, but its slices hold %zu",
                          where, size, sh->size);
    return 0;
}

static int s_cmp_global(const void *a, const void *b)
{
    const struct placement_slice *x = a;
    const struct placement_slice *y = b;
    if (x->global_offset != y->global_offset)
        return x->global_offset < y->global_offset ? -1 : 1;
    return 0;
}

/* The slices of every shard hold each element of [0, total) once. */
static int s_cover(const placement_t *p, size_t total, char *err)
{
    size_t n = 0;
    for (int s = 0; s < p->nps; s++)
        n += (size_t) p->shards[s].nslices;
    struct placement_slice *all = psc_xmalloc((n > 0 ? n : 1) * sizeof *all);
    size_t k = 0;
    for (int s = 0; s < p->nps; s++) {
        for (int i = 0; i < p->shards[s].nslices; i++)
            all[k++] = p->shards[s].slices[i];
    }
    qsort(all, n, sizeof *all, s_cmp_global);
    size_t end = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (all[i].global_offset < end)
            rc = psc_seterr(err, PSC_EPROTO,
                            "field 'placement': slices overlap at element "
                            "%zu",
                            all[i].global_offset);
        else if (all[i].global_offset > end)
            rc = psc_seterr(err, PSC_EPROTO,
                            "field 'placement': no slice holds element %zu",
                            end);
        end = all[i].global_offset + all[i].len;
    }
    free(all);
    if (rc == 0 && end != total)
        rc = psc_seterr(err, PSC_EPROTO,
                        "field 'placement': slices hold %zu elements, the "
                        "variables %zu",
                        end, total);
    return rc;
}

static int s_placement(const json_t *root, struct ckpt_manifest *m, char *err)
{
    json_t *arr = NULL;
    int rc =
        s_array(root, "placement", (size_t) m->nps, (size_t) m->nps, &arr, err);
    if (rc != 0)
        return rc;
    placement_t *p = psc_xcalloc(1, sizeof *p);
    p->nps = m->nps;
    p->shards = psc_xcalloc((size_t) m->nps, sizeof *p->shards);
    m->placement = p;
    for (int s = 0; s < m->nps; s++) {
        char where[S_WHERE_LEN];
        json_t *e = NULL;
        rc = s_element(arr, "placement", (size_t) s, where, &e, err);
        if (rc == 0)
            rc = s_shard(e, where, s, m, &p->shards[s], err);
        if (rc != 0)
            return rc;
    }
    return s_cover(p, ckpt_manifest_total(m), err);
}

static int s_files(const json_t *root, struct ckpt_manifest *m, char *err)
{
    json_t *arr = NULL;
    int rc =
        s_array(root, "files", (size_t) m->nps, (size_t) m->nps, &arr, err);
    if (rc != 0)
        return rc;
    m->files = psc_xcalloc((size_t) m->nps, sizeof *m->files);
    for (int s = 0; s < m->nps; s++) {
        char where[S_WHERE_LEN];
        char want[CKPT_NAME_LEN];
        json_t *e = NULL;
        struct ckpt_file *f = &m->files[s];
        uint64_t crc = 0;
        rc = s_element(arr, "files", (size_t) s, where, &e, err);
        if (rc == 0)
            rc = s_str(e, where, "name", f->name, sizeof f->name, err);
        if (rc == 0)
            rc = s_uint(e, where, "bytes", UINT64_MAX >> 1, &f->bytes, err);
        if (rc == 0)
            rc = s_uint(e, where, "crc32c", UINT32_MAX, &crc, err);
        if (rc != 0)
            return rc;
        f->crc32c = (uint32_t) crc;
        ckpt_manifest_shard_name(s, m->nps, want, sizeof want);
        if (strcmp(f->name, want) != 0)
            return psc_seterr(err, PSC_EPROTO,
                              "field '%sname' is '%s', not '%s'", where,
                              f->name, want);
        uint64_t bytes =
            ckpt_manifest_shard_bytes(m->narrays, m->placement->shards[s].size);
        if (f->bytes != bytes)
            return psc_seterr(err, PSC_EPROTO,
                              "field '%sbytes' is %" PRIu64 ", not %" PRIu64
                              " (%d arrays of the shard's %zu elements)",
                              where, f->bytes, bytes, m->narrays,
                              m->placement->shards[s].size);
    }
    return 0;
}

static int s_workers(const json_t *root, struct ckpt_manifest *m, char *err)
{
    json_t *arr = NULL;
    int rc = s_array(root, "workers", 0, S_MAX_WORKERS, &arr, err);
    if (rc != 0)
        return rc;
    m->nworkers = (int) json_array_size(arr);
    m->workers = psc_xcalloc((size_t) (m->nworkers > 0 ? m->nworkers : 1),
                             sizeof *m->workers);
    for (int w = 0; w < m->nworkers; w++) {
        char where[S_WHERE_LEN];
        json_t *e = NULL;
        rc = s_element(arr, "workers", (size_t) w, where, &e, err);
        if (rc == 0)
            rc = s_uint(e, where, "position", UINT64_MAX >> 1,
                        &m->workers[w].position, err);
        if (rc == 0)
            rc = s_uint(e, where, "epoch", UINT64_MAX >> 1,
                        &m->workers[w].epoch, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* One file of the sparse table: its name, size (by its rows), crc. */
static int s_sparse_file(const json_t *e, const char *where, int s,
                         const struct ckpt_manifest *m, char *err)
{
    const struct ckpt_sparse_info *sp = &m->sparse;
    struct ckpt_file *f = &sp->files[s];
    uint64_t crc = 0;
    char want[CKPT_NAME_LEN];
    int rc = s_str(e, where, "name", f->name, sizeof f->name, err);
    if (rc == 0)
        rc = s_uint(e, where, "bytes", UINT64_MAX >> 1, &f->bytes, err);
    if (rc == 0)
        rc = s_uint(e, where, "crc32c", UINT32_MAX, &crc, err);
    if (rc == 0)
        rc = s_uint(e, where, "rows", S_MAX_ELEMS, &sp->file_rows[s], err);
    if (rc == 0)
        rc =
            s_uint(e, where, "pending", S_MAX_ELEMS, &sp->file_pending[s], err);
    if (rc != 0)
        return rc;
    f->crc32c = (uint32_t) crc;
    ckpt_sparse_name(s, m->nps, want, sizeof want);
    if (strcmp(f->name, want) != 0)
        return psc_seterr(err, PSC_EPROTO, "field '%sname' is '%s', not '%s'",
                          where, f->name, want);
    uint64_t bytes = ckpt_sparse_file_bytes(
        sp->width, sp->slot_floats, sp->file_rows[s], sp->file_pending[s]);
    if (f->bytes != bytes)
        return psc_seterr(err, PSC_EPROTO,
                          "field '%sbytes' is %" PRIu64 ", not %" PRIu64
                          " (its rows and admission counts)",
                          where, f->bytes, bytes);
    return 0;
}

/* "sparse": the table's files, one per ps; absent for dense models. */
static int s_sparse(const json_t *root, struct ckpt_manifest *m, char *err)
{
    json_t *sp = json_object_get(root, "sparse");
    if (sp == NULL)
        return 0;
    if (!json_is_object(sp))
        return psc_seterr(err, PSC_EPROTO, "field 'sparse' is not an object");
    struct ckpt_sparse_info *info = &m->sparse;
    uint64_t width = 0;
    uint64_t slots = 0;
    char opt[CKPT_NAME_LEN];
    int rc = s_uint(sp, "sparse.", "width", 1 << 24, &width, err);
    if (rc == 0)
        rc = s_uint(sp, "sparse.", "slot_floats", 1 << 24, &slots, err);
    if (rc == 0)
        rc = s_uint(sp, "sparse.", "rows", S_MAX_ELEMS, &info->rows, err);
    if (rc == 0)
        rc = s_str(sp, "sparse.", "optimizer", opt, sizeof opt, err);
    if (rc == 0 && (width == 0 || strcmp(opt, m->optimizer) != 0))
        rc = psc_seterr(err, PSC_EPROTO,
                        "field 'sparse': width %" PRIu64 " or optimizer '%s' "
                        "(the job's is '%s')",
                        width, opt, m->optimizer);
    json_t *arr = NULL;
    if (rc == 0)
        rc = s_array(sp, "files", (size_t) m->nps, (size_t) m->nps, &arr, err);
    if (rc != 0)
        return rc;
    info->width = (uint32_t) width;
    info->slot_floats = (uint32_t) slots;
    info->nfiles = m->nps;
    info->files = psc_xcalloc((size_t) m->nps, sizeof *info->files);
    info->file_rows = psc_xcalloc((size_t) m->nps, sizeof *info->file_rows);
    info->file_pending =
        psc_xcalloc((size_t) m->nps, sizeof *info->file_pending);
    uint64_t rows = 0;
    for (int s = 0; s < m->nps; s++) {
        char where[S_WHERE_LEN];
        json_t *e = NULL;
        rc = s_element(arr, "sparse.files", (size_t) s, where, &e, err);
        if (rc == 0)
            rc = s_sparse_file(e, where, s, m, err);
        if (rc != 0)
            return rc;
        rows += info->file_rows[s];
    }
    if (rows != info->rows)
        return psc_seterr(err, PSC_EPROTO,
                          "field 'sparse.rows' is %" PRIu64
                          ", its files hold %" PRIu64,
                          info->rows, rows);
    return 0;
}

static int s_head(const json_t *root, struct ckpt_manifest *m, char *err)
{
    int format = 0;
    json_t *wt = NULL;
    int rc = s_int(root, "", "format", 0, INT_MAX, &format, err);
    if (rc == 0 && format != CKPT_MANIFEST_FORMAT)
        rc = psc_seterr(err, PSC_EPROTO,
                        "field 'format' is %d; this psc reads format %d",
                        format, CKPT_MANIFEST_FORMAT);
    if (rc == 0)
        rc = s_uint(root, "", "step", UINT64_MAX >> 1, &m->step, err);
    if (rc == 0)
        rc = s_field(root, "", "wall_time", &wt, err);
    if (rc == 0 && (!json_is_number(wt) || json_number_value(wt) < 0))
        rc = psc_seterr(err, PSC_EPROTO,
                        "field 'wall_time' is not a number of seconds");
    if (rc == 0)
        m->wall_time = json_number_value(wt);
    if (rc == 0)
        rc = s_fingerprint(root, &m->fingerprint, err);
    if (rc == 0)
        rc = s_str(root, "", "run_id", m->run_id, sizeof m->run_id, err);
    if (rc == 0)
        rc = s_str(root, "", "model", m->model, sizeof m->model, err);
    if (rc == 0)
        rc = s_str(root, "", "optimizer", m->optimizer, sizeof m->optimizer,
                   err);
    if (rc == 0)
        rc = s_int(root, "", "narrays", 1, CKPT_MAX_ARRAYS, &m->narrays, err);
    if (rc == 0)
        rc = s_int(root, "", "nps", 1, S_MAX_NPS, &m->nps, err);
    return rc;
}

/* Fills *m from a parsed manifest; on failure *m is released. */
static int s_from_json(const json_t *root, struct ckpt_manifest *m, char *err)
{
    memset(m, 0, sizeof *m);
    int rc = 0;
    if (!json_is_object(root))
        rc = psc_seterr(err, PSC_EPROTO, "it is not a JSON object");
    if (rc == 0)
        rc = s_head(root, m, err);
    if (rc == 0)
        rc = s_vars(root, m, err);
    if (rc == 0)
        rc = s_placement(root, m, err);
    if (rc == 0)
        rc = s_files(root, m, err);
    if (rc == 0)
        rc = s_workers(root, m, err);
    if (rc == 0)
        rc = s_sparse(root, m, err);
    if (rc != 0)
        ckpt_manifest_release(m);
    return rc;
}

int ckpt_manifest_read(const char *ckpt_dir, struct ckpt_manifest *m, char *err)
{
    char path[PATH_MAX];
    int rc = ckpt_io_path(path, sizeof path, ckpt_dir, CKPT_MANIFEST_FILE, err);
    if (rc != 0)
        return rc;
    json_t *root = NULL;
    rc =
        json_file_load(path, "manifest", " (a partial checkpoint)", &root, err);
    if (rc != 0)
        return rc;
    char why[PSC_ERR_LEN];
    rc = s_from_json(root, m, why);
    json_decref(root);
    if (rc != 0)
        return psc_seterr(err, rc, "bad manifest '%s': %s", path, why);
    return 0;
}

/* ---- writing ---- */

static json_t *s_vars_json(const struct ckpt_manifest *m)
{
    json_t *arr = json_array();
    for (int i = 0; i < m->nvars; i++) {
        const struct ckpt_var *v = &m->vars[i];
        json_array_append_new(arr,
                              json_pack("{s:s, s:i, s:i, s:I, s:I}", "name",
                                        v->name, "rows", v->rows, "cols",
                                        v->cols, "size", (json_int_t) v->size,
                                        "offset", (json_int_t) v->offset));
    }
    return arr;
}

static json_t *s_placement_json(const placement_t *p)
{
    json_t *arr = json_array();
    for (int s = 0; s < p->nps; s++) {
        const struct placement_shard *sh = &p->shards[s];
        json_t *slices = json_array();
        for (int i = 0; i < sh->nslices; i++) {
            const struct placement_slice *sl = &sh->slices[i];
            json_array_append_new(
                slices,
                json_pack("{s:i, s:I, s:I, s:I}", "var", sl->var,
                          "global_offset", (json_int_t) sl->global_offset,
                          "shard_offset", (json_int_t) sl->shard_offset, "len",
                          (json_int_t) sl->len));
        }
        json_array_append_new(arr, json_pack("{s:i, s:I, s:o}", "shard", s,
                                             "size", (json_int_t) sh->size,
                                             "slices", slices));
    }
    return arr;
}

static json_t *s_files_json(const struct ckpt_manifest *m)
{
    json_t *arr = json_array();
    for (int s = 0; s < m->nps; s++) {
        const struct ckpt_file *f = &m->files[s];
        json_array_append_new(arr, json_pack("{s:s, s:I, s:I}", "name", f->name,
                                             "bytes", (json_int_t) f->bytes,
                                             "crc32c", (json_int_t) f->crc32c));
    }
    return arr;
}

static json_t *s_workers_json(const struct ckpt_manifest *m)
{
    json_t *arr = json_array();
    for (int w = 0; w < m->nworkers; w++) {
        json_array_append_new(
            arr, json_pack("{s:I, s:I}", "position",
                           (json_int_t) m->workers[w].position, "epoch",
                           (json_int_t) m->workers[w].epoch));
    }
    return arr;
}

static json_t *s_sparse_json(const struct ckpt_manifest *m)
{
    const struct ckpt_sparse_info *sp = &m->sparse;
    json_t *arr = json_array();
    for (int s = 0; s < sp->nfiles; s++) {
        const struct ckpt_file *f = &sp->files[s];
        json_array_append_new(
            arr,
            json_pack("{s:s, s:I, s:I, s:I, s:I}", "name", f->name, "bytes",
                      (json_int_t) f->bytes, "crc32c", (json_int_t) f->crc32c,
                      "rows", (json_int_t) sp->file_rows[s], "pending",
                      (json_int_t) sp->file_pending[s]));
    }
    return json_pack(
        "{s:I, s:I, s:I, s:s, s:o}", "width", (json_int_t) sp->width,
        "slot_floats", (json_int_t) sp->slot_floats, "rows",
        (json_int_t) sp->rows, "optimizer", m->optimizer, "files", arr);
}

static json_t *s_to_json(const struct ckpt_manifest *m)
{
    char fp[17];
    snprintf(fp, sizeof fp, "%016" PRIx64, m->fingerprint);
    json_t *root = json_pack(
        "{s:i, s:I, s:s, s:s, s:s, s:s, s:i, s:i}", "format",
        CKPT_MANIFEST_FORMAT, "step", (json_int_t) m->step, "fingerprint", fp,
        "run_id", m->run_id, "model", m->model, "optimizer", m->optimizer,
        "narrays", m->narrays, "nps", m->nps);
    psc_json_set_real(root, "wall_time", m->wall_time);
    json_object_set_new(root, "vars", s_vars_json(m));
    json_object_set_new(root, "placement", s_placement_json(m->placement));
    json_object_set_new(root, "files", s_files_json(m));
    json_object_set_new(root, "workers", s_workers_json(m));
    if (m->sparse.nfiles > 0)
        json_object_set_new(root, "sparse", s_sparse_json(m));
    return root;
}

int ckpt_manifest_write(const char *ckpt_dir, const struct ckpt_manifest *m,
                        char *err)
{
    if (m->placement == NULL || m->placement->nps != m->nps ||
        m->files == NULL || m->vars == NULL ||
        (m->nworkers > 0 && m->workers == NULL) ||
        (m->sparse.nfiles != 0 &&
         (m->sparse.nfiles != m->nps || m->sparse.files == NULL ||
          m->sparse.file_rows == NULL || m->sparse.file_pending == NULL)))
        return psc_seterr(err, PSC_EINVAL,
                          "cannot write manifest into '%s': no placement, "
                          "files or variables for its %d ps",
                          ckpt_dir, m->nps);
    json_t *root = s_to_json(m);
    struct ckpt_manifest check;
    char why[PSC_ERR_LEN];
    int rc = s_from_json(root, &check, why);
    ckpt_manifest_release(&check);
    if (rc != 0) {
        json_decref(root);
        return psc_seterr(err, PSC_EINVAL,
                          "cannot write manifest into '%s': %s", ckpt_dir, why);
    }
    char *text = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    if (text == NULL)
        return psc_seterr(err, PSC_EIO,
                          "cannot write manifest into '%s': out of memory",
                          ckpt_dir);
    size_t len = strlen(text);
    /* A final newline, as text files have. */
    text = psc_xrealloc(text, len + 2);
    text[len++] = '\n';
    text[len] = '\0';
    rc = psc_mkdirs(ckpt_dir, err);
    if (rc == 0)
        rc = ckpt_io_write_file(ckpt_dir, CKPT_MANIFEST_FILE, text, len, err);
    free(text);
    return rc;
}
