/*
 * The file handling under the checkpoint format: a file is written to
 * "<name>.tmp" in its folder, fsynced, renamed over <name> and the folder
 * fsynced, so that after a crash a reader finds the whole file or none.
 * Paths are at most PATH_MAX bytes; longer ones are refused.
 */
#ifndef CKPT_IO_H
#define CKPT_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CKPT_IO_TMP_SUFFIX ".tmp"

/*
 * Joins dir and name with a slash into out (cap bytes). Returns 0, or
 * PSC_EINVAL with one line in err when the result does not fit.
 */
int ckpt_io_path(char *out, size_t cap, const char *dir, const char *name,
                 char *err);

/*
 * Creates dir/name.tmp for writing (replacing a leftover one) and stores
 * its descriptor in *fd. Returns 0 or PSC_EINVAL/PSC_EIO with one line in
 * err. Finish with ckpt_io_commit() or ckpt_io_abandon().
 */
int ckpt_io_create(const char *dir, const char *name, int *fd, char *err);

/*
 * Opens dir/name for reading (its path into path, PATH_MAX bytes) and
 * checks that it holds the `bytes` the manifest says. Returns 0 and *fd,
 * or with one line in err PSC_ENOTFOUND (missing: a partial checkpoint)
 * or PSC_EIO (truncated, too long, or unreadable).
 */
int ckpt_io_open_sized(const char *dir, const char *name, uint64_t bytes,
                       char *path, int *fd, char *err);

/* Writes all of data[0..len) to fd; path names the file in err. */
int ckpt_io_write_all(int fd, const void *data, size_t len, const char *path,
                      char *err);

/*
 * ckpt_io_write_all() in pieces of a few MiB, each added to the CRC-32C
 * *crc before it is written (while it is in the cache).
 */
int ckpt_io_write_sum(int fd, const void *data, size_t len, uint32_t *crc,
                      const char *path, char *err);

/*
 * fsyncs and closes fd (always closed), renames dir/name.tmp to dir/name
 * and fsyncs dir. On failure the temporary file is removed.
 */
int ckpt_io_commit(int fd, const char *dir, const char *name, char *err);

/* Closes fd and removes dir/name.tmp: the write is given up. */
void ckpt_io_abandon(int fd, const char *dir, const char *name);

/* All of ckpt_io_create, write_all and commit for one buffer. */
int ckpt_io_write_file(const char *dir, const char *name, const void *data,
                       size_t len, char *err);

/*
 * Reads exactly len bytes at offset off of fd into buf. Returns 0, or
 * PSC_EIO (a read error, or the file ends first) naming path in err.
 */
int ckpt_io_pread_all(int fd, void *buf, size_t len, off_t off,
                      const char *path, char *err);

/* fsyncs the folder dir, so that renames and creations in it last. */
int ckpt_io_sync_dir(const char *dir, char *err);

#endif
