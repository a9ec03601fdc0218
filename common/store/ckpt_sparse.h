/*
 * A ps's sparse table in a checkpoint: the file "sparse-<i>-of-<n>" beside
 * the dense shards, holding every row the ps had (key, values, optimizer
 * slots, last push and step count), its admission counts and the table's
 * version. Rows are kept by key, not by ps, so a restore onto any number of
 * ps reads every file and keeps the keys that hash to it. Written as the
 * shard files are (temporary name, fsync, rename) with a CRC32C over all.
 */
#ifndef CKPT_SPARSE_H
#define CKPT_SPARSE_H

#include "ckpt.h"

#include <stddef.h>
#include <stdint.h>

#define CKPT_SPARSE_HEADER_BYTES  64
#define CKPT_SPARSE_PENDING_BYTES 16 /* u64 key, u32 count, u32 zero */

/* One row as a record holds it: values and slots in the caller's room. */
struct ckpt_sparse_row {
    uint64_t key;
    uint32_t stamp; /* the table version of its last push (0: not kept) */
    uint32_t steps; /* Adam's per-row steps (0: not kept) */
    float *values;  /* width floats */
    float *slots;   /* slot_floats floats */
};

/* What one ps saves (buffers borrowed): records and admission counts as
 * ckpt_sparse_encode_row() and ckpt_sparse_encode_count() laid them out. */
struct ckpt_sparse_data {
    int shard;
    int nps;
    uint32_t width;
    uint32_t slot_floats;
    uint64_t version;
    uint64_t sweep_at; /* the record the expiry sweep looks at next */
    uint64_t rows;
    const uint8_t *records;
    uint64_t npending;
    const uint8_t *pending;
};

/* A sparse file's header, as ckpt_sparse_read() found it. */
struct ckpt_sparse_header {
    uint32_t shard;
    uint32_t nps;
    uint32_t width;
    uint32_t slot_floats;
    uint64_t version;
    uint64_t rows;
    uint64_t npending;
    uint64_t sweep_at;
};

/* "sparse-<shard>-of-<nps>" into out (cap bytes, cut to fit). */
void ckpt_sparse_name(int shard, int nps, char *out, size_t cap);

/* Bytes of one row's record: key, stamp, steps, values, slots. */
size_t ckpt_sparse_record_bytes(uint32_t width, uint32_t slot_floats);

/* The size of a sparse file with rows records and npending counts. */
uint64_t ckpt_sparse_file_bytes(uint32_t width, uint32_t slot_floats,
                                uint64_t rows, uint64_t npending);

/* Writes row (values: width, slots: slot_floats floats) as a record at out
 * (ckpt_sparse_record_bytes() bytes, any alignment). */
void ckpt_sparse_encode_row(uint8_t *out, const struct ckpt_sparse_row *row,
                            uint32_t width, uint32_t slot_floats);

/* Reads the record at in into *row, whose values and slots point at room
 * for width and slot_floats floats. */
void ckpt_sparse_decode_row(const uint8_t *in, struct ckpt_sparse_row *row,
                            uint32_t width, uint32_t slot_floats);

/* An admission count (a key seen count times, no row yet) at out. */
void ckpt_sparse_encode_count(uint8_t *out, uint64_t key, uint32_t count);
void ckpt_sparse_decode_count(const uint8_t *in, uint64_t *key,
                              uint32_t *count);

/*
 * Writes d into ckpt_dir (created if missing), durably, and fills *file.
 * Returns 0 or a negative PSC_E* with one line in err.
 */
int ckpt_write_sparse(const char *ckpt_dir, const struct ckpt_sparse_data *d,
                      struct ckpt_file *file, char *err);

/*
 * Checks the sparse file f of ckpt_dir: present, f->bytes long, a header
 * agreeing with its size and with shard, nps and width and, with with_crc
 * set, f->crc32c. Fills *h when h is non-NULL. Returns 0, PSC_ENOTFOUND,
 * PSC_EPROTO, PSC_EIO or PSC_ECHECKSUM with one line naming the file.
 */
int ckpt_sparse_check(const char *ckpt_dir, const struct ckpt_file *f,
                      int shard, int nps, uint32_t width, int with_crc,
                      struct ckpt_sparse_header *h, char *err);

/* Called per record and per admission count by ckpt_sparse_read(). */
typedef void (*ckpt_sparse_row_fn)(void *arg, const struct ckpt_sparse_row *r);
typedef void (*ckpt_sparse_count_fn)(void *arg, uint64_t key, uint32_t count);

/*
 * Reads the sparse file f of ckpt_dir (checked as ckpt_sparse_check()
 * with the checksum, which is computed as it is read: on PSC_ECHECKSUM
 * the callbacks have seen rows of a damaged file), calling row for each
 * record and count (may be NULL) for each admission count. Fills *h.
 * Returns 0 or a PSC_E* with one line naming the file.
 */
int ckpt_sparse_read(const char *ckpt_dir, const struct ckpt_file *f, int shard,
                     int nps, uint32_t width, struct ckpt_sparse_header *h,
                     ckpt_sparse_row_fn row, ckpt_sparse_count_fn count,
                     void *arg, char *err);

#endif
