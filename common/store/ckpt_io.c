/*
 * Durable writes (temporary name, fsync, rename, fsync of the folder) and
 * reads that loop until every byte is in.
 */
#include "ckpt_io.h"

#include "crc32c.h"
#include "psc_err.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One write() at most this large: Linux caps a call at about 2 GiB. */
#define S_MAX_IO ((size_t) 1 << 30)

int ckpt_io_path(char *out, size_t cap, const char *dir, const char *name,
                 char *err)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t) n >= cap)
        return psc_seterr(err, PSC_EINVAL, "path '%s/%s' is too long", dir,
                          name);
    return 0;
}

static int s_tmp_path(char *out, size_t cap, const char *dir, const char *name,
                      char *err)
{
    int n = snprintf(out, cap, "%s/%s%s", dir, name, CKPT_IO_TMP_SUFFIX);
    if (n < 0 || (size_t) n >= cap)
        return psc_seterr(err, PSC_EINVAL, "path '%s/%s' is too long", dir,
                          name);
    return 0;
}

int ckpt_io_create(const char *dir, const char *name, int *fd, char *err)
{
    char tmp[PATH_MAX];
    int rc = s_tmp_path(tmp, sizeof tmp, dir, name, err);
    if (rc != 0)
        return rc;
    int f = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (f < 0)
        return psc_seterr(err, PSC_EIO, "cannot create '%s': %s", tmp,
                          strerror(errno));
    *fd = f;
    return 0;
}

int ckpt_io_open_sized(const char *dir, const char *name, uint64_t bytes,
                       char *path, int *fd_out, char *err)
{
    int rc = ckpt_io_path(path, PATH_MAX, dir, name, err);
    if (rc != 0)
        return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return psc_seterr(err, PSC_ENOTFOUND,
                          "'%s' is missing (a partial checkpoint)", path);
    if (fd < 0)
        return psc_seterr(err, PSC_EIO, "cannot open '%s': %s", path,
                          strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0)
        rc = psc_seterr(err, PSC_EIO, "cannot stat '%s': %s", path,
                        strerror(errno));
    else if ((uint64_t) st.st_size != bytes)
        rc = psc_seterr(
            err, PSC_EIO, "'%s' is %s: %lld bytes, the manifest says %" PRIu64,
            path, (uint64_t) st.st_size < bytes ? "truncated" : "too long",
            (long long) st.st_size, bytes);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return 0;
}

int ckpt_io_write_all(int fd, const void *data, size_t len, const char *path,
                      char *err)
{
    const char *p = data;
    while (len > 0) {
        size_t chunk = len < S_MAX_IO ? len : S_MAX_IO;
        ssize_t n = write(fd, p, chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return psc_seterr(err, PSC_EIO, "cannot write '%s': %s", path,
                              strerror(errno));
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

/* Checksummed pieces: each is summed while it is in the cache. */
#define S_SUM_PIECE ((size_t) 4 << 20)

int ckpt_io_write_sum(int fd, const void *data, size_t len, uint32_t *crc,
                      const char *path, char *err)
{
    const uint8_t *p = data;
    while (len > 0) {
        size_t n = len < S_SUM_PIECE ? len : S_SUM_PIECE;
        *crc = crc32c(*crc, p, n);
        int rc = ckpt_io_write_all(fd, p, n, path, err);
        if (rc != 0)
            return rc;
        p += n;
        len -= n;
    }
    return 0;
}

int ckpt_io_sync_dir(const char *dir, char *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return psc_seterr(err, PSC_EIO, "cannot open folder '%s': %s", dir,
                          strerror(errno));
    int rc = 0;
    if (fsync(fd) != 0)
        rc = psc_seterr(err, PSC_EIO, "cannot fsync folder '%s': %s", dir,
                        strerror(errno));
    close(fd);
    return rc;
}

int ckpt_io_commit(int fd, const char *dir, const char *name, char *err)
{
    char tmp[PATH_MAX] = "";
    char final[PATH_MAX] = "";
    int rc = s_tmp_path(tmp, sizeof tmp, dir, name, err);
    if (rc == 0)
        rc = ckpt_io_path(final, sizeof final, dir, name, err);
    if (rc == 0 && fsync(fd) != 0)
        rc = psc_seterr(err, PSC_EIO, "cannot fsync '%s': %s", tmp,
                        strerror(errno));
    /* close() reports late write errors on some file systems (NFS). */
    if (close(fd) != 0 && rc == 0)
        rc = psc_seterr(err, PSC_EIO, "cannot close '%s': %s", tmp,
                        strerror(errno));
    if (rc == 0 && rename(tmp, final) != 0)
        rc = psc_seterr(err, PSC_EIO, "cannot rename '%s' to '%s': %s", tmp,
                        name, strerror(errno));
    if (rc != 0) {
        if (tmp[0] != '\0')
            unlink(tmp);
        return rc;
    }
    return ckpt_io_sync_dir(dir, err);
}

void ckpt_io_abandon(int fd, const char *dir, const char *name)
{
    char tmp[PATH_MAX];
    close(fd);
    if (s_tmp_path(tmp, sizeof tmp, dir, name, NULL) == 0)
        unlink(tmp);
}

int ckpt_io_write_file(const char *dir, const char *name, const void *data,
                       size_t len, char *err)
{
    char tmp[PATH_MAX];
    int rc = s_tmp_path(tmp, sizeof tmp, dir, name, err);
    int fd = -1;
    if (rc == 0)
        rc = ckpt_io_create(dir, name, &fd, err);
    if (rc != 0)
        return rc;
    rc = ckpt_io_write_all(fd, data, len, tmp, err);
    if (rc != 0) {
        ckpt_io_abandon(fd, dir, name);
        return rc;
    }
    return ckpt_io_commit(fd, dir, name, err);
}

int ckpt_io_pread_all(int fd, void *buf, size_t len, off_t off,
                      const char *path, char *err)
{
    char *p = buf;
    while (len > 0) {
        size_t chunk = len < S_MAX_IO ? len : S_MAX_IO;
        ssize_t n = pread(fd, p, chunk, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return psc_seterr(err, PSC_EIO, "cannot read '%s': %s", path,
                              strerror(errno));
        if (n == 0)
            return psc_seterr(err, PSC_EIO,
                              "cannot read '%s': it ends at byte %lld", path,
                              (long long) off);
        p += n;
        off += n;
        len -= (size_t) n;
    }
    return 0;
}
