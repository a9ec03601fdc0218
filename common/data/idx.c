/*
 * IDX reading through zlib's gz* functions, which pass plain files through
 * unchanged. Pixel and label bytes are read into a buffer that grows with
 * what the file really holds, so a lying header costs an error message,
 * not a huge allocation.
 */
#include "idx.h"

#include "psc_alloc.h"
#include "psc_err.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u

/* Largest single gzread(), well below its int return limit. */
#define READ_CHUNK (1u << 20)
/* zlib's buffer for a large file: fewer, larger reads (zlib's default is
 * 8 KB); a small file keeps the default, as its buffers would outweigh it. */
#define LARGE_FILE_BUFFER (128u * 1024)
/* The body's first allocation: a header that lies about its count costs no
 * more than this before the data runs out. */
#define FIRST_BODY_CAP (64u * 1024)

/* What one kind of file is, for reading and for messages. */
struct kind {
    uint32_t magic;
    int ndims;
    const char *noun;    /* "image": "not an IDX image file" */
    const char *plural;  /* "images": "give the images file" */
    const char *body;    /* "pixels": "expected N bytes of pixels" */
    const char *example; /* a file name a user would recognise */
    const char *key;     /* the job settings that name the file */
};

static const struct kind s_images = {
    .magic = IDX_MAGIC_IMAGES,
    .ndims = 3,
    .noun = "image",
    .plural = "images",
    .body = "pixels",
    .example = "train-images-idx3-ubyte.gz",
    .key = "data.train_images / data.test_images",
};
static const struct kind s_labels = {
    .magic = IDX_MAGIC_LABELS,
    .ndims = 1,
    .noun = "label",
    .plural = "labels",
    .body = "labels",
    .example = "train-labels-idx1-ubyte.gz",
    .key = "data.train_labels / data.test_labels",
};

static int open_file(const char *path, const struct kind *k, gzFile *out,
                     char *err)
{
    struct stat st;
    bool large = stat(path, &st) == 0 && st.st_size > LARGE_FILE_BUFFER;
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (gz == NULL) {
        /* gzopen leaves errno at 0 when only its own allocation failed. */
        int e = errno;
        return psc_seterr(err, e == ENOENT ? PSC_ENOTFOUND : PSC_EIO,
                          "cannot open '%s': %s: install the Debian package "
                          "'dataset-fashion-mnist' or set %s",
                          path, e ? strerror(e) : "out of memory", k->key);
    }
    if (large)
        gzbuffer(gz, LARGE_FILE_BUFFER);
    *out = gz;
    return 0;
}

/* gzerror() prefixes its message with the path, which ours already names. */
static const char *strip_path(const char *msg, const char *path)
{
    size_t n = strlen(path);
    if (strncmp(msg, path, n) == 0 && strncmp(msg + n, ": ", 2) == 0)
        return msg + n + 2;
    return msg;
}

/*
 * Reads up to len bytes, stopping early only at end of file. Sets *got to
 * the bytes read. Returns 0, or PSC_EIO for a read or decompression error.
 */
static int read_some(gzFile gz, const char *path, void *buf, size_t len,
                     size_t *got, char *err)
{
    *got = 0;
    while (*got < len) {
        size_t want = len - *got;
        if (want > READ_CHUNK)
            want = READ_CHUNK;
        int n = gzread(gz, (char *) buf + *got, (unsigned) want);
        if (n < 0) {
            int errnum = 0;
            const char *msg = gzerror(gz, &errnum);
            if (errnum == Z_ERRNO)
                msg = strerror(errno);
            else
                msg = strip_path(msg, path);
            return psc_seterr(err, PSC_EIO, "cannot read '%s': %s", path, msg);
        }
        if (n == 0)
            break;
        *got += (size_t) n;
    }
    return 0;
}

/* Reads the magic number and ndims big-endian dimensions. */
static int read_header(gzFile gz, const char *path, const struct kind *k,
                       uint32_t *dims, char *err)
{
    uint8_t raw[16];
    size_t len = 4 + 4 * (size_t) k->ndims;
    size_t got = 0;
    int rc = read_some(gz, path, raw, len, &got, err);
    if (rc != 0)
        return rc;
    uint32_t v[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < got / 4; i++)
        v[i] = (uint32_t) raw[4 * i] << 24 | (uint32_t) raw[4 * i + 1] << 16 |
               (uint32_t) raw[4 * i + 2] << 8 | raw[4 * i + 3];
    /* Check the magic first: a wrong file that happens to be short should
     * be reported as the wrong file. */
    if (got >= 4 && v[0] != k->magic)
        return psc_seterr(err, PSC_EINVAL,
                          "'%s' is not an IDX %s file (magic 0x%08x): give "
                          "the %s file, e.g. %s",
                          path, k->noun, (unsigned) v[0], k->plural,
                          k->example);
    if (got < len)
        return psc_seterr(err, PSC_EIO,
                          "'%s' is truncated: expected an IDX header of %zu "
                          "bytes, got %zu",
                          path, len, got);
    memcpy(dims, v + 1, sizeof *dims * (size_t) k->ndims);
    return 0;
}

/*
 * Reads exactly total body bytes into a new buffer (caller owns). The
 * buffer grows geometrically with the data actually present.
 */
static int read_body(gzFile gz, const char *path, const struct kind *k,
                     size_t total, uint8_t **out, char *err)
{
    size_t cap = total < FIRST_BODY_CAP ? total : FIRST_BODY_CAP;
    uint8_t *buf = psc_xmalloc(cap > 0 ? cap : 1);
    size_t have = 0;
    for (;;) {
        size_t got = 0;
        int rc = read_some(gz, path, buf + have, cap - have, &got, err);
        have += got;
        if (rc != 0 || have < cap) {
            free(buf);
            if (rc != 0)
                return rc;
            return psc_seterr(err, PSC_EIO,
                              "'%s' is truncated: expected %zu bytes of %s, "
                              "got %zu",
                              path, total, k->body, have);
        }
        if (have == total)
            break;
        cap = cap * 2 < total ? cap * 2 : total;
        buf = psc_xrealloc(buf, cap);
    }
    *out = buf;
    return 0;
}

static int check_dims(const char *path, const uint32_t *dims, int ndims,
                      char *err)
{
    uint64_t pixels = 1;
    for (int i = 1; i < ndims; i++)
        pixels *= dims[i];
    /* read_header() returned 0, so it set dims. The analyzer cannot see
     * that psc_seterr() (another file) returns its code: it has
     * read_header() fail and return 0. */
    /* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
    if (dims[0] >= 1 && dims[0] <= IDX_MAX_COUNT && pixels >= 1 &&
        pixels <= IDX_MAX_PIXELS)
        return 0;
    if (ndims == 1)
        return psc_seterr(err, PSC_EINVAL,
                          "'%s' claims %u labels: expected 1 to %d; the "
                          "header is corrupt, download the file again",
                          path, (unsigned) dims[0], IDX_MAX_COUNT);
    return psc_seterr(err, PSC_EINVAL,
                      "'%s' claims %u images of %u x %u pixels: expected 1 to "
                      "%d images of at most %d pixels; the header is corrupt, "
                      "download the file again",
                      path, (unsigned) dims[0], (unsigned) dims[1],
                      (unsigned) dims[2], IDX_MAX_COUNT, IDX_MAX_PIXELS);
}

/* Opens, checks the header and reads the body of one IDX file. */
static int load(const char *path, const struct kind *k, uint32_t *dims,
                uint8_t **body, char *err)
{
    gzFile gz = NULL;
    int rc = open_file(path, k, &gz, err);
    if (rc != 0)
        return rc;
    rc = read_header(gz, path, k, dims, err);
    if (rc == 0)
        rc = check_dims(path, dims, k->ndims, err);
    if (rc == 0) {
        size_t total = dims[0];
        for (int i = 1; i < k->ndims; i++)
            total *= dims[i];
        rc = read_body(gz, path, k, total, body, err);
    }
    gzclose(gz);
    return rc;
}

int idx_load_images(const char *path, uint8_t **pixels, int *count, int *dim,
                    char *err)
{
    uint32_t dims[3];
    uint8_t *body = NULL;
    int rc = load(path, &s_images, dims, &body, err);
    if (rc != 0)
        return rc;
    *pixels = body;
    *count = (int) dims[0];
    *dim = (int) (dims[1] * dims[2]);
    return 0;
}

int idx_load_labels(const char *path, uint8_t **labels, int *count, char *err)
{
    uint32_t dims[1];
    uint8_t *body = NULL;
    int rc = load(path, &s_labels, dims, &body, err);
    if (rc != 0)
        return rc;
    *labels = body;
    *count = (int) dims[0];
    return 0;
}
