/*
 * Sparse table files. A 64-byte header, every field little-endian:
 *
 *     0  magic "PSCSPARS"      32  u64 version (the table's pushes)
 *     8  u32 format (1)        40  u64 rows
 *    12  u32 shard             48  u64 npending (admission counts)
 *    16  u32 nps               56  u64 sweep_at (the expiry sweep's place)
 *    20  u32 width
 *    24  u32 slot_floats
 *    28  u32 zero
 *
 * then rows records (u64 key, u32 stamp, u32 steps, width float32 values,
 * slot_floats float32 slots) and npending counts (u64 key, u32 count, u32
 * zero). The manifest's CRC32C covers the whole file.
 */
#include "ckpt_sparse.h"

#include "ckpt_io.h"
#include "crc32c.h"
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

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the checkpoint format is little-endian; add byte swapping here"
#endif

#define S_FORMAT 1
#define S_HEAD   CKPT_SPARSE_HEADER_BYTES
/* Bytes checksummed and written, or read, per call. */
#define S_CHUNK ((size_t) 4 << 20)
/* A row wider than this is no table psc makes: a corrupt header. */
#define S_MAX_FLOATS ((uint32_t) 1 << 24)

static const uint8_t s_magic[8] = {'P', 'S', 'C', 'S', 'P', 'A', 'R', 'S'};

void ckpt_sparse_name(int shard, int nps, char *out, size_t cap)
{
    snprintf(out, cap, "sparse-%d-of-%d", shard, nps);
}

size_t ckpt_sparse_record_bytes(uint32_t width, uint32_t slot_floats)
{
    return 16 + ((size_t) width + slot_floats) * sizeof(float);
}

uint64_t ckpt_sparse_file_bytes(uint32_t width, uint32_t slot_floats,
                                uint64_t rows, uint64_t npending)
{
    return S_HEAD + rows * ckpt_sparse_record_bytes(width, slot_floats) +
           npending * CKPT_SPARSE_PENDING_BYTES;
}

void ckpt_sparse_encode_row(uint8_t *out, const struct ckpt_sparse_row *row,
                            uint32_t width, uint32_t slot_floats)
{
    memcpy(out, &row->key, 8);
    memcpy(out + 8, &row->stamp, 4);
    memcpy(out + 12, &row->steps, 4);
    memcpy(out + 16, row->values, (size_t) width * sizeof(float));
    if (slot_floats > 0)
        memcpy(out + 16 + (size_t) width * sizeof(float), row->slots,
               (size_t) slot_floats * sizeof(float));
}

void ckpt_sparse_decode_row(const uint8_t *in, struct ckpt_sparse_row *row,
                            uint32_t width, uint32_t slot_floats)
{
    memcpy(&row->key, in, 8);
    memcpy(&row->stamp, in + 8, 4);
    memcpy(&row->steps, in + 12, 4);
    memcpy(row->values, in + 16, (size_t) width * sizeof(float));
    if (slot_floats > 0)
        memcpy(row->slots, in + 16 + (size_t) width * sizeof(float),
               (size_t) slot_floats * sizeof(float));
}

void ckpt_sparse_encode_count(uint8_t *out, uint64_t key, uint32_t count)
{
    memset(out, 0, CKPT_SPARSE_PENDING_BYTES);
    memcpy(out, &key, 8);
    memcpy(out + 8, &count, 4);
}

void ckpt_sparse_decode_count(const uint8_t *in, uint64_t *key, uint32_t *count)
{
    memcpy(key, in, 8);
    memcpy(count, in + 8, 4);
}

static void s_encode_header(uint8_t out[S_HEAD],
                            const struct ckpt_sparse_header *h)
{
    uint32_t format = S_FORMAT;
    memset(out, 0, S_HEAD);
    memcpy(out, s_magic, sizeof s_magic);
    memcpy(out + 8, &format, 4);
    memcpy(out + 12, &h->shard, 4);
    memcpy(out + 16, &h->nps, 4);
    memcpy(out + 20, &h->width, 4);
    memcpy(out + 24, &h->slot_floats, 4);
    memcpy(out + 32, &h->version, 8);
    memcpy(out + 40, &h->rows, 8);
    memcpy(out + 48, &h->npending, 8);
    memcpy(out + 56, &h->sweep_at, 8);
}

/* Returns 0, or PSC_EPROTO (no magic, another format) naming path. */
static int s_decode_header(const uint8_t in[S_HEAD], const char *path,
                           struct ckpt_sparse_header *h, char *err)
{
    uint32_t format = 0;
    if (memcmp(in, s_magic, sizeof s_magic) != 0)
        return psc_seterr(err, PSC_EPROTO,
                          "'%s' is not a psc sparse file (no magic)", path);
    memcpy(&format, in + 8, 4);
    if (format != S_FORMAT)
        return psc_seterr(err, PSC_EPROTO,
                          "'%s' has format %" PRIu32 "; this psc reads %d",
                          path, format, S_FORMAT);
    memcpy(&h->shard, in + 12, 4);
    memcpy(&h->nps, in + 16, 4);
    memcpy(&h->width, in + 20, 4);
    memcpy(&h->slot_floats, in + 24, 4);
    memcpy(&h->version, in + 32, 8);
    memcpy(&h->rows, in + 40, 8);
    memcpy(&h->npending, in + 48, 8);
    memcpy(&h->sweep_at, in + 56, 8);
    return 0;
}

int ckpt_write_sparse(const char *ckpt_dir, const struct ckpt_sparse_data *d,
                      struct ckpt_file *file, char *err)
{
    char name[CKPT_NAME_LEN];
    char path[PATH_MAX];
    if (d->nps < 1 || d->shard < 0 || d->shard >= d->nps || d->width < 1 ||
        (d->rows > 0 && d->records == NULL) ||
        (d->npending > 0 && d->pending == NULL))
        return psc_seterr(err, PSC_EINVAL,
                          "cannot write sparse table %d of %d: bad arguments",
                          d->shard, d->nps);
    ckpt_sparse_name(d->shard, d->nps, name, sizeof name);
    int rc = ckpt_io_path(path, sizeof path, ckpt_dir, name, err);
    if (rc == 0)
        rc = psc_mkdirs(ckpt_dir, err);
    int fd = -1;
    if (rc == 0)
        rc = ckpt_io_create(ckpt_dir, name, &fd, err);
    if (rc != 0)
        return rc;
    struct ckpt_sparse_header h = {
        .shard = (uint32_t) d->shard,
        .nps = (uint32_t) d->nps,
        .width = d->width,
        .slot_floats = d->slot_floats,
        .version = d->version,
        .rows = d->rows,
        .npending = d->npending,
        .sweep_at = d->sweep_at,
    };
    uint8_t head[S_HEAD];
    s_encode_header(head, &h);
    uint32_t crc = 0;
    rc = ckpt_io_write_sum(fd, head, sizeof head, &crc, path, err);
    if (rc == 0)
        rc = ckpt_io_write_sum(
            fd, d->records,
            d->rows * ckpt_sparse_record_bytes(d->width, d->slot_floats), &crc,
            path, err);
    if (rc == 0)
        rc = ckpt_io_write_sum(fd, d->pending,
                               d->npending * CKPT_SPARSE_PENDING_BYTES, &crc,
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
    file->bytes =
        ckpt_sparse_file_bytes(d->width, d->slot_floats, d->rows, d->npending);
    file->crc32c = crc;
    return 0;
}

/* ---- checking and reading ---- */

/* Opens f, checks its size against the manifest and its header against
 * the size and the expected shard, nps and width. */
static int s_open(const char *dir, const struct ckpt_file *f, int shard,
                  int nps, uint32_t width, char *path, int *fd_out,
                  struct ckpt_sparse_header *h, char *err)
{
    memset(h, 0, sizeof *h);
    int fd = -1;
    int rc = ckpt_io_open_sized(dir, f->name, f->bytes, path, &fd, err);
    if (rc != 0)
        return rc;
    uint8_t raw[S_HEAD];
    if (f->bytes < S_HEAD)
        rc = psc_seterr(err, PSC_EPROTO, "'%s' is shorter than its header",
                        path);
    if (rc == 0)
        rc = ckpt_io_pread_all(fd, raw, sizeof raw, 0, path, err);
    if (rc == 0)
        rc = s_decode_header(raw, path, h, err);
    if (rc == 0 && (h->shard != (uint32_t) shard || h->nps != (uint32_t) nps ||
                    h->width != width || h->width > S_MAX_FLOATS ||
                    h->slot_floats > S_MAX_FLOATS ||
                    ckpt_sparse_file_bytes(h->width, h->slot_floats, h->rows,
                                           h->npending) != f->bytes))
        rc = psc_seterr(err, PSC_EPROTO,
                        "'%s' holds table %" PRIu32 " of %" PRIu32 ", %" PRIu64
                        " rows of width %" PRIu32 " in %" PRIu64
                        " bytes; the manifest says %d of %d, "
                        "width %" PRIu32,
                        path, h->shard, h->nps, h->rows, h->width, f->bytes,
                        shard, nps, width);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return 0;
}

/* What a read does with the records as they stream past. */
struct s_sink {
    ckpt_sparse_row_fn row;
    ckpt_sparse_count_fn count;
    void *arg;
    struct ckpt_sparse_row r;
};

/* Hands over whole records of buf[0..n) (bytes from the data's start at
 * off); returns the bytes used. */
static size_t s_deliver(struct s_sink *k, const struct ckpt_sparse_header *h,
                        const uint8_t *buf, size_t n, uint64_t off)
{
    size_t rec = ckpt_sparse_record_bytes(h->width, h->slot_floats);
    uint64_t rows_end = h->rows * rec;
    size_t used = 0;
    while (off + used < rows_end && n - used >= rec) {
        ckpt_sparse_decode_row(buf + used, &k->r, h->width, h->slot_floats);
        k->row(k->arg, &k->r);
        used += rec;
    }
    while (off + used >= rows_end && n - used >= CKPT_SPARSE_PENDING_BYTES) {
        uint64_t key = 0;
        uint32_t count = 0;
        ckpt_sparse_decode_count(buf + used, &key, &count);
        if (k->count != NULL)
            k->count(k->arg, key, count);
        used += CKPT_SPARSE_PENDING_BYTES;
    }
    return used;
}

/* Reads the file after its header (checksummed, delivered to k when
 * non-NULL), and compares the checksum. */
static int s_scan(int fd, const char *path, const struct ckpt_file *f,
                  const uint8_t head[S_HEAD],
                  const struct ckpt_sparse_header *h, struct s_sink *k,
                  char *err)
{
    size_t rec = ckpt_sparse_record_bytes(h->width, h->slot_floats);
    size_t cap = S_CHUNK + rec;
    uint8_t *buf = psc_xmalloc(cap);
    uint32_t crc = crc32c(0, head, S_HEAD);
    uint64_t off = 0; /* data bytes delivered */
    size_t have = 0;  /* bytes in buf not yet delivered */
    uint64_t pos = S_HEAD;
    int rc = 0;
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    while (pos < f->bytes && rc == 0) {
        size_t n =
            f->bytes - pos < S_CHUNK ? (size_t) (f->bytes - pos) : S_CHUNK;
        rc = ckpt_io_pread_all(fd, buf + have, n, (off_t) pos, path, err);
        if (rc != 0)
            break;
        crc = crc32c(crc, buf + have, n);
        pos += n;
        have += n;
        if (k == NULL) {
            have = 0;
            continue;
        }
        size_t used = s_deliver(k, h, buf, have, off);
        memmove(buf, buf + used, have - used);
        have -= used;
        off += used;
    }
    free(buf);
    if (rc == 0 && crc != f->crc32c)
        rc = psc_seterr(err, PSC_ECHECKSUM,
                        "'%s' is corrupt: crc32c %08" PRIx32
                        ", the manifest says %08" PRIx32,
                        path, crc, f->crc32c);
    return rc;
}

static int s_check_read(const char *dir, const struct ckpt_file *f, int shard,
                        int nps, uint32_t width, int with_crc,
                        struct ckpt_sparse_header *h, struct s_sink *k,
                        char *err)
{
    char path[PATH_MAX];
    struct ckpt_sparse_header mine = {0};
    if (h == NULL)
        h = &mine;
    int fd = -1;
    int rc = s_open(dir, f, shard, nps, width, path, &fd, h, err);
    if (rc != 0 || !with_crc) {
        if (fd >= 0)
            close(fd);
        return rc;
    }
    uint8_t head[S_HEAD];
    rc = ckpt_io_pread_all(fd, head, sizeof head, 0, path, err);
    float *room = NULL;
    if (rc == 0 && k != NULL) {
        room = psc_xmalloc(((size_t) h->width + h->slot_floats + 1) *
                           sizeof(float));
        k->r.values = room;
        k->r.slots = room + h->width;
    }
    if (rc == 0)
        rc = s_scan(fd, path, f, head, h, k, err);
    free(room);
    close(fd);
    return rc;
}

int ckpt_sparse_check(const char *ckpt_dir, const struct ckpt_file *f,
                      int shard, int nps, uint32_t width, int with_crc,
                      struct ckpt_sparse_header *h, char *err)
{
    return s_check_read(ckpt_dir, f, shard, nps, width, with_crc, h, NULL, err);
}

int ckpt_sparse_read(const char *ckpt_dir, const struct ckpt_file *f, int shard,
                     int nps, uint32_t width, struct ckpt_sparse_header *h,
                     ckpt_sparse_row_fn row, ckpt_sparse_count_fn count,
                     void *arg, char *err)
{
    struct s_sink k = {.row = row, .count = count, .arg = arg};
    return s_check_read(ckpt_dir, f, shard, nps, width, 1, h, &k, err);
}
