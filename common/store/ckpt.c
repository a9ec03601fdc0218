/*
 * Shard files and reading them back. A shard file is a 64-byte header,
 * every field little-endian:
 *
 *     0  magic "PSCSHARD"      24  u64 version
 *     8  u32 format (1)        32  u64 size (elements in each array)
 *    12  u32 shard             40  zero up to byte 64
 *    16  u32 nps
 *    20  u32 narrays
 *
 * then the narrays arrays, each size float32 values, one after another.
 * The manifest's CRC32C covers the whole file, header included.
 */
#include "ckpt.h"

#include "ckpt_io.h"
#include "ckpt_manifest.h"
#include "ckpt_sparse.h"
#include "crc32c.h"
#include "placement.h"
#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The arrays go to disk as they are in memory. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the checkpoint format is little-endian; add byte swapping here"
#endif

#define S_FORMAT       1
#define S_HEADER_BYTES CKPT_SHARD_HEADER_BYTES

/*
 * Bytes checksummed and written per call: large enough that the system
 * call costs nothing, small enough to still be in the cache when written
 * after the checksum has read it.
 */
#define S_CHUNK ((size_t) 4 << 20)

static const uint8_t s_magic[8] = {'P', 'S', 'C', 'S', 'H', 'A', 'R', 'D'};

struct s_header {
    uint32_t format;
    uint32_t shard;
    uint32_t nps;
    uint32_t narrays;
    uint64_t version;
    uint64_t size;
};

static void s_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t) (v >> (8 * i));
}

static void s_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t) (v >> (8 * i));
}

static uint32_t s_get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t s_get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void s_header_encode(uint8_t out[S_HEADER_BYTES],
                            const struct s_header *h)
{
    memset(out, 0, S_HEADER_BYTES);
    memcpy(out, s_magic, sizeof s_magic);
    s_put32(out + 8, h->format);
    s_put32(out + 12, h->shard);
    s_put32(out + 16, h->nps);
    s_put32(out + 20, h->narrays);
    s_put64(out + 24, h->version);
    s_put64(out + 32, h->size);
}

/* Returns 0, or PSC_EPROTO when the magic is wrong. */
static int s_header_decode(const uint8_t in[S_HEADER_BYTES], struct s_header *h)
{
    if (memcmp(in, s_magic, sizeof s_magic) != 0)
        return PSC_EPROTO;
    h->format = s_get32(in + 8);
    h->shard = s_get32(in + 12);
    h->nps = s_get32(in + 16);
    h->narrays = s_get32(in + 20);
    h->version = s_get64(in + 24);
    h->size = s_get64(in + 32);
    return 0;
}

static int s_check_shard_data(const struct ckpt_shard_data *d, char *err)
{
    if (d->nps < 1 || d->shard < 0 || d->shard >= d->nps || d->narrays < 1 ||
        d->narrays > CKPT_MAX_ARRAYS)
        return psc_seterr(err, PSC_EINVAL,
                          "cannot write shard %d of %d with %d arrays "
                          "(at most %d)",
                          d->shard, d->nps, d->narrays, CKPT_MAX_ARRAYS);
    for (int a = 0; a < d->narrays; a++) {
        if (d->size > 0 && d->arrays[a] == NULL)
            return psc_seterr(err, PSC_EINVAL,
                              "cannot write shard %d: array %d is missing",
                              d->shard, a);
    }
    return 0;
}

int ckpt_write_shard(const char *ckpt_dir, const struct ckpt_shard_data *d,
                     struct ckpt_file *file, char *err)
{
    char name[CKPT_NAME_LEN];
    char path[PATH_MAX];
    int rc = s_check_shard_data(d, err);
    if (rc != 0)
        return rc;
    ckpt_manifest_shard_name(d->shard, d->nps, name, sizeof name);
    rc = ckpt_io_path(path, sizeof path, ckpt_dir, name, err);
    if (rc == 0)
        rc = psc_mkdirs(ckpt_dir, err);
    int fd = -1;
    if (rc == 0)
        rc = ckpt_io_create(ckpt_dir, name, &fd, err);
    if (rc != 0)
        return rc;
    struct s_header h = {
        .format = S_FORMAT,
        .shard = (uint32_t) d->shard,
        .nps = (uint32_t) d->nps,
        .narrays = (uint32_t) d->narrays,
        .version = d->version,
        .size = d->size,
    };
    uint8_t head[S_HEADER_BYTES];
    s_header_encode(head, &h);
    uint32_t crc = 0;
    rc = ckpt_io_write_sum(fd, head, sizeof head, &crc, path, err);
    for (int a = 0; a < d->narrays && rc == 0; a++)
        rc = ckpt_io_write_sum(fd, d->arrays[a], d->size * sizeof(float), &crc,
                               path, err);
    if (rc != 0) {
        ckpt_io_abandon(fd, ckpt_dir, name);
        return rc;
    }
    rc = ckpt_io_commit(fd, ckpt_dir, name, err);
    if (rc != 0)
        return rc;
    memset(file, 0, sizeof *file);
    snprintf(file->name, sizeof file->name, "%s", name);
    file->bytes = ckpt_manifest_shard_bytes(d->narrays, d->size);
    file->crc32c = crc;
    return 0;
}

/* ---- checking ---- */

static int s_check_header(const uint8_t raw[S_HEADER_BYTES],
                          const struct ckpt_manifest *m, int s,
                          const char *path, uint64_t *version, char *err)
{
    struct s_header h;
    if (s_header_decode(raw, &h) != 0)
        return psc_seterr(err, PSC_EPROTO,
                          "'%s' is not a psc shard file (no magic)", path);
    if (h.format != S_FORMAT)
        return psc_seterr(err, PSC_EPROTO,
                          "'%s' has format %" PRIu32 "; this psc reads %d",
                          path, h.format, S_FORMAT);
    size_t size = m->placement->shards[s].size;
    if (h.shard != (uint32_t) s || h.nps != (uint32_t) m->nps ||
        h.narrays != (uint32_t) m->narrays || h.size != size)
        return psc_seterr(err, PSC_EPROTO,
                          "'%s' holds shard %" PRIu32 " of %" PRIu32
                          ", %" PRIu32 " arrays of %" PRIu64
                          " elements; the manifest says %d of %d, %d of %zu",
                          path, h.shard, h.nps, h.narrays, h.size, s, m->nps,
                          m->narrays, size);
    *version = h.version;
    return 0;
}

/* Opens shard s of m in dir after checking its size and header. */
static int s_open_shard(const char *dir, const struct ckpt_manifest *m, int s,
                        int *fd_out, uint64_t *version, char *err)
{
    char path[PATH_MAX];
    int fd = -1;
    int rc = ckpt_io_open_sized(dir, m->files[s].name, m->files[s].bytes, path,
                                &fd, err);
    if (rc != 0)
        return rc;
    uint8_t raw[S_HEADER_BYTES];
    rc = ckpt_io_pread_all(fd, raw, sizeof raw, 0, path, err);
    if (rc == 0)
        rc = s_check_header(raw, m, s, path, version, err);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return 0;
}

static int s_check_crc(int fd, const char *dir, const struct ckpt_file *f,
                       char *err)
{
    char path[PATH_MAX];
    int rc = ckpt_io_path(path, sizeof path, dir, f->name, err);
    if (rc != 0)
        return rc;
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    uint8_t *buf = psc_xmalloc(S_CHUNK);
    uint32_t crc = 0;
    for (uint64_t off = 0; off < f->bytes && rc == 0;) {
        size_t n =
            f->bytes - off < S_CHUNK ? (size_t) (f->bytes - off) : S_CHUNK;
        rc = ckpt_io_pread_all(fd, buf, n, (off_t) off, path, err);
        crc = crc32c(crc, buf, n);
        off += n;
    }
    free(buf);
    if (rc == 0 && crc != f->crc32c)
        rc = psc_seterr(err, PSC_ECHECKSUM,
                        "'%s' is corrupt: crc32c %08" PRIx32
                        ", the manifest says %08" PRIx32,
                        path, crc, f->crc32c);
    return rc;
}

static int s_check(const char *ckpt_dir, int with_crc, char *err)
{
    struct ckpt_manifest m;
    int rc = ckpt_manifest_read(ckpt_dir, &m, err);
    if (rc != 0)
        return rc;
    for (int s = 0; s < m.nps && rc == 0; s++) {
        int fd = -1;
        uint64_t version = 0;
        rc = s_open_shard(ckpt_dir, &m, s, &fd, &version, err);
        if (rc == 0 && with_crc)
            rc = s_check_crc(fd, ckpt_dir, &m.files[s], err);
        if (fd >= 0)
            close(fd);
    }
    for (int s = 0; s < m.sparse.nfiles && rc == 0; s++)
        rc = ckpt_sparse_check(ckpt_dir, &m.sparse.files[s], s, m.nps,
                               m.sparse.width, with_crc, NULL, err);
    ckpt_manifest_release(&m);
    return rc;
}

int ckpt_verify(const char *ckpt_dir, char *err)
{
    return s_check(ckpt_dir, 1, err);
}

int ckpt_check_complete(const char *ckpt_dir, char *err)
{
    return s_check(ckpt_dir, 0, err);
}

/* ---- the reader ---- */

/* A slice of the flat array and where its elements are in a shard file. */
struct s_piece {
    size_t global;
    size_t len;
    size_t shard_offset;
    int shard;
};

struct ckpt_reader {
    char *dir;
    struct ckpt_manifest m;
    int *fds;               /* one per shard, -1 when not open */
    uint64_t version;       /* the highest in the headers */
    struct s_piece *pieces; /* by global offset */
    size_t npieces;
    size_t total;
};

static int s_cmp_piece(const void *a, const void *b)
{
    const struct s_piece *x = a;
    const struct s_piece *y = b;
    if (x->global != y->global)
        return x->global < y->global ? -1 : 1;
    return 0;
}

static void s_index(ckpt_reader_t *r)
{
    const placement_t *p = r->m.placement;
    size_t n = 0;
    for (int s = 0; s < p->nps; s++)
        n += (size_t) p->shards[s].nslices;
    r->pieces = psc_xcalloc(n > 0 ? n : 1, sizeof *r->pieces);
    for (int s = 0; s < p->nps; s++) {
        for (int i = 0; i < p->shards[s].nslices; i++) {
            const struct placement_slice *sl = &p->shards[s].slices[i];
            r->pieces[r->npieces++] = (struct s_piece){
                .global = sl->global_offset,
                .len = sl->len,
                .shard_offset = sl->shard_offset,
                .shard = s,
            };
        }
    }
    qsort(r->pieces, r->npieces, sizeof *r->pieces, s_cmp_piece);
    r->total = ckpt_manifest_total(&r->m);
}

ckpt_reader_t *ckpt_reader_open(const char *ckpt_dir, char *err)
{
    ckpt_reader_t *r = psc_xcalloc(1, sizeof *r);
    r->dir = psc_xstrdup(ckpt_dir);
    if (ckpt_manifest_read(ckpt_dir, &r->m, err) != 0) {
        free(r->dir);
        free(r);
        return NULL;
    }
    r->fds = psc_xmalloc((size_t) r->m.nps * sizeof *r->fds);
    for (int s = 0; s < r->m.nps; s++)
        r->fds[s] = -1;
    for (int s = 0; s < r->m.nps; s++) {
        uint64_t version = 0;
        if (s_open_shard(ckpt_dir, &r->m, s, &r->fds[s], &version, err) != 0) {
            ckpt_reader_close(&r);
            return NULL;
        }
        if (version > r->version)
            r->version = version;
    }
    s_index(r);
    return r;
}

const struct ckpt_manifest *ckpt_reader_manifest(const ckpt_reader_t *r)
{
    return &r->m;
}

uint64_t ckpt_reader_version(const ckpt_reader_t *r)
{
    return r->version;
}

/* The index of the piece holding element pos (which is < total). */
static size_t s_find_piece(const ckpt_reader_t *r, size_t pos)
{
    size_t lo = 0;
    size_t hi = r->npieces;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->pieces[mid].global <= pos)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

int ckpt_reader_read(ckpt_reader_t *r, int array, size_t first, size_t count,
                     float *out, char *err)
{
    if (array < 0 || array >= r->m.narrays)
        return psc_seterr(err, PSC_EINVAL,
                          "checkpoint '%s' has no array %d (it has %d)", r->dir,
                          array, r->m.narrays);
    if (first > r->total || count > r->total - first)
        return psc_seterr(err, PSC_EINVAL,
                          "checkpoint '%s' has no elements %zu to %zu (it "
                          "has %zu)",
                          r->dir, first, first + count, r->total);
    size_t pos = first;
    size_t end = first + count;
    size_t i = count > 0 ? s_find_piece(r, pos) : 0;
    while (pos < end) {
        const struct s_piece *pc = &r->pieces[i++];
        size_t skip = pos - pc->global;
        size_t n = pc->len - skip;
        if (n > end - pos)
            n = end - pos;
        size_t shard_size = r->m.placement->shards[pc->shard].size;
        size_t elem = (size_t) array * shard_size + pc->shard_offset + skip;
        off_t off = (off_t) (S_HEADER_BYTES + elem * sizeof(float));
        char path[PATH_MAX];
        ckpt_io_path(path, sizeof path, r->dir, r->m.files[pc->shard].name,
                     NULL);
        int rc = ckpt_io_pread_all(r->fds[pc->shard], out + (pos - first),
                                   n * sizeof(float), off, path, err);
        if (rc != 0)
            return rc;
        pos += n;
    }
    return 0;
}

void ckpt_reader_close(ckpt_reader_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    ckpt_reader_t *r = *p;
    for (int s = 0; r->fds != NULL && s < r->m.nps; s++) {
        if (r->fds[s] >= 0)
            close(r->fds[s]);
    }
    free(r->fds);
    free(r->pieces);
    ckpt_manifest_release(&r->m);
    free(r->dir);
    free(r);
    *p = NULL;
}
