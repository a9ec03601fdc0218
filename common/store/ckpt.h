/*
 * psc's checkpoint format: MODEL_DIR/ckpt-<step>/ holds one shard file per
 * ps and a manifest.json written last; MODEL_DIR/checkpoint names the
 * newest complete one (as TensorFlow's pointer file). Every file is written
 * to a temporary name, fsynced and renamed, so a reader sees a whole file
 * or none. The manifest records where each variable's elements lie in the
 * shards (the placement at save time), so a reader can cut the same
 * elements out for any other number of ps.
 */
#ifndef CKPT_H
#define CKPT_H

#include <stddef.h>
#include <stdint.h>

#define CKPT_MAX_ARRAYS 3 /* values, then up to two optimizer slots */
#define CKPT_NAME_LEN   64

struct placement;

/* What one ps saves: its flat arrays at one version (borrowed). */
struct ckpt_shard_data {
    int shard;
    int nps;
    uint64_t version;
    size_t size; /* elements in each array */
    int narrays;
    const float *arrays[CKPT_MAX_ARRAYS];
};

/* A file of a checkpoint as the manifest records it (files[i]: shard i). */
struct ckpt_file {
    char name[CKPT_NAME_LEN]; /* inside the checkpoint folder */
    uint64_t bytes;
    uint32_t crc32c;
};

struct ckpt_var {
    char name[CKPT_NAME_LEN];
    int rows;
    int cols;
    size_t size;
    size_t offset; /* into the flat array of all variables */
};

/* The sparse table's part of a checkpoint: one file per ps of the save
 * (nfiles = nps; 0 when the model has no table). */
struct ckpt_sparse_info {
    uint32_t width;
    uint32_t slot_floats; /* optimizer slots per row */
    uint64_t rows;        /* over all files */
    int nfiles;
    struct ckpt_file *files; /* nfiles */
    uint64_t *file_rows;     /* nfiles: rows in each */
    uint64_t *file_pending;  /* nfiles: admission counts in each */
};

struct ckpt_worker {
    uint64_t position; /* examples drawn so far */
    uint64_t epoch;
};

/* manifest.json, read or to be written. Release with ckpt_manifest_release. */
struct ckpt_manifest {
    uint64_t step;
    double wall_time;     /* seconds since the epoch, when it was completed */
    uint64_t fingerprint; /* the job's; JSON holds it as 16 hex digits */
    char run_id[CKPT_NAME_LEN];
    char model[CKPT_NAME_LEN];     /* job's model kind */
    char optimizer[CKPT_NAME_LEN]; /* optimizer kind */
    int narrays;
    int nvars;
    struct ckpt_var *vars;
    int nps;
    struct placement *placement; /* owned */
    struct ckpt_file *files;     /* nps */
    int nworkers;
    struct ckpt_worker *workers;
    struct ckpt_sparse_info sparse; /* "sparse" in the JSON, when present */
};

/* "ckpt-<step>" */
void ckpt_dir_name(uint64_t step, char *out, size_t cap);

/*
 * Writes one shard file into ckpt_dir (created if missing), durably, and
 * fills *file. Returns 0 or a negative PSC_E* with one line in err.
 */
int ckpt_write_shard(const char *ckpt_dir, const struct ckpt_shard_data *d,
                     struct ckpt_file *file, char *err);

/* Writes manifest.json into ckpt_dir durably (temporary name, rename). */
int ckpt_manifest_write(const char *ckpt_dir, const struct ckpt_manifest *m,
                        char *err);

/*
 * Reads and checks manifest.json (every field's presence, type and range;
 * variables laid out one after another; the slices covering the flat array
 * exactly once; file sizes matching the placement). On success fills *m,
 * which the caller releases with ckpt_manifest_release(). Returns 0,
 * PSC_ENOTFOUND when there is no manifest (a partial checkpoint), PSC_EPROTO
 * with one line naming the bad field, or PSC_EIO.
 */
int ckpt_manifest_read(const char *ckpt_dir, struct ckpt_manifest *m,
                       char *err);
/* Frees what ckpt_manifest_read() allocated; m is all zero afterwards. */
void ckpt_manifest_release(struct ckpt_manifest *m);

/*
 * Checks every shard file's (and sparse table file's) size, header and
 * CRC32C against the manifest.
 * Returns 0, PSC_ENOTFOUND (no manifest, a missing shard), PSC_EPROTO (bad
 * manifest or header), PSC_EIO (wrong size, read error) or PSC_ECHECKSUM,
 * with one line naming the bad file.
 */
int ckpt_verify(const char *ckpt_dir, char *err);

/*
 * ckpt_verify() without reading the data: the manifest, and every shard
 * present with its size and header. Returns as ckpt_verify().
 */
int ckpt_check_complete(const char *ckpt_dir, char *err);

/* Points MODEL_DIR/checkpoint at ckpt_name ("ckpt-<step>"), atomically. */
int ckpt_pointer_update(const char *model_dir, const char *ckpt_name,
                        char *err);

/*
 * The folder name MODEL_DIR/checkpoint points at, into out (cap bytes).
 * Returns 0, PSC_ENOTFOUND when there is no pointer file, PSC_EPROTO when
 * it holds no model_checkpoint_path line, or PSC_EIO/PSC_EINVAL.
 */
int ckpt_pointer_read(const char *model_dir, char *out, size_t cap, char *err);

/*
 * The path ("<model_dir>/ckpt-<step>") of the checkpoint to restore, into
 * out: the pointer's target when it verifies, else the newest older one
 * that does (the newest of all when there is no pointer). Folders newer
 * than the pointer's target are not restored: a crash came before the
 * pointer moved; they are only checked for completeness. Each folder
 * skipped, and each newer one that is partial or bad, is logged (one
 * warning line naming the bad file). Returns 0,
 * PSC_ENOTFOUND when none is valid, or another PSC_E*.
 */
int ckpt_find_latest(const char *model_dir, char *out, size_t cap, char *err);

/*
 * The checkpoint folder dir means, into out: dir itself when it holds a
 * manifest, else the one MODEL_DIR dir's pointer names, else the newest
 * that verifies (ckpt_find_latest()). Returns 0 or a PSC_E* with one line
 * in err.
 */
int ckpt_resolve(const char *dir, char *out, size_t cap, char *err);

/*
 * Removes all but the newest keep (>= 1) complete checkpoint folders, and
 * incomplete ones older than the newest complete one (leftovers of a crash;
 * newer ones may still be being written). The pointer's target is never
 * removed. Returns 0 or PSC_EINVAL/PSC_EIO with one line in err.
 */
int ckpt_prune(const char *model_dir, int keep, char *err);

typedef struct ckpt_reader ckpt_reader_t;

/*
 * Opens a checkpoint for reading elements by their place in the flat array
 * of all variables, whatever shard they were saved in. Checks what
 * ckpt_check_complete() checks, not the checksums: open what
 * ckpt_find_latest() returned, or call ckpt_verify() first. Returns NULL
 * with one line in err on failure. Caller owns; ckpt_reader_close().
 */
ckpt_reader_t *ckpt_reader_open(const char *ckpt_dir, char *err);
/* Borrowed; valid until ckpt_reader_close(). */
const struct ckpt_manifest *ckpt_reader_manifest(const ckpt_reader_t *r);
/* The highest version in the shards' headers (one save's shards agree). */
uint64_t ckpt_reader_version(const ckpt_reader_t *r);

/*
 * Reads elements [first, first + count) of array (0 = values, then the
 * optimizer's slots) into out. Returns 0, PSC_EINVAL for a range or array
 * the checkpoint does not have, or PSC_EIO.
 */
int ckpt_reader_read(ckpt_reader_t *r, int array, size_t first, size_t count,
                     float *out, char *err);
void ckpt_reader_close(ckpt_reader_t **p);

#endif
