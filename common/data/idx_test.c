/*
 * Tests for idx: small IDX files written with zlib (compressed and plain)
 * are read back, every error path is provoked, and the real Fashion-MNIST
 * test set is loaded when the Debian package is installed.
 */
#include "idx.h"

#include "psc_err.h"
#include "test.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"

static char s_dir[] = "/tmp/idx_test.XXXXXX";

static const char *tmp_path(const char *name)
{
    static char path[4][512];
    static int next;
    char *p = path[next];
    next = (next + 1) % 4;
    snprintf(p, sizeof path[0], "%s/%s", s_dir, name);
    return p;
}

static void put_be32(gzFile gz, uint32_t v)
{
    uint8_t b[4] = {(uint8_t) (v >> 24), (uint8_t) (v >> 16),
                    (uint8_t) (v >> 8), (uint8_t) v};
    CHECK_EQ(gzwrite(gz, b, 4), 4);
}

/*
 * Writes an IDX file: magic, ndims dimensions, then len body bytes. "wbT"
 * makes zlib write the bytes uncompressed.
 */
static void write_idx(const char *path, int gzip, uint32_t magic,
                      const uint32_t *dims, int ndims, const uint8_t *body,
                      size_t len)
{
    gzFile gz = gzopen(path, gzip ? "wb" : "wbT");
    CHECK(gz != NULL);
    put_be32(gz, magic);
    for (int i = 0; i < ndims; i++)
        put_be32(gz, dims[i]);
    if (len > 0)
        CHECK_EQ(gzwrite(gz, body, (unsigned) len), (long long) len);
    CHECK_EQ(gzclose(gz), Z_OK);
}

static void write_raw(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    CHECK(fp != NULL);
    CHECK_EQ(fwrite(data, 1, len, fp), len);
    CHECK_EQ(fclose(fp), 0);
}

static uint8_t pixel(size_t i)
{
    return (uint8_t) ((i * 37 + 11) % 256);
}

static void check_images_roundtrip(int gzip, int n, int rows, int cols)
{
    size_t total = (size_t) n * rows * cols;
    uint8_t *body = malloc(total);
    CHECK(body != NULL);
    for (size_t i = 0; i < total; i++)
        body[i] = pixel(i);
    uint32_t dims[3] = {(uint32_t) n, (uint32_t) rows, (uint32_t) cols};
    const char *path = tmp_path(gzip ? "img.gz" : "img");
    write_idx(path, gzip, 0x803, dims, 3, body, total);

    uint8_t *images = NULL;
    int count = 0, dim = 0;
    char err[PSC_ERR_LEN] = "";
    CHECK_OK(idx_load_images(path, &images, &count, &dim, err));
    CHECK_EQ(count, n);
    CHECK_EQ(dim, rows * cols);
    CHECK(memcmp(images, body, total) == 0);
    free(images);
    free(body);
}

static void check_labels_roundtrip(int gzip)
{
    uint8_t body[7] = {9, 0, 0, 3, 0, 2, 7};
    uint32_t dims[1] = {7};
    const char *path = tmp_path(gzip ? "lab.gz" : "lab");
    write_idx(path, gzip, 0x801, dims, 1, body, sizeof body);

    uint8_t *labels = NULL;
    int count = 0;
    char err[PSC_ERR_LEN] = "";
    CHECK_OK(idx_load_labels(path, &labels, &count, err));
    CHECK_EQ(count, 7);
    CHECK(memcmp(labels, body, sizeof body) == 0);
    free(labels);
}

static void test_roundtrip(void)
{
    check_images_roundtrip(1, 3, 2, 3);
    check_images_roundtrip(0, 3, 2, 3);
    check_images_roundtrip(1, 1, 1, 1);
    /* Bigger than one read chunk, so the body buffer has to grow. */
    check_images_roundtrip(1, 3000, 28, 28);
    check_images_roundtrip(0, 3000, 28, 28);
    check_labels_roundtrip(1);
    check_labels_roundtrip(0);
}

/* Expects idx_load_images() to fail with rc and leave its outputs alone. */
static void expect_images_error(const char *path, int rc, char *err)
{
    uint8_t sentinel;
    uint8_t *images = &sentinel;
    int count = -7, dim = -7;
    err[0] = '\0';
    CHECK_EQ(idx_load_images(path, &images, &count, &dim, err), rc);
    CHECK(images == &sentinel);
    CHECK_EQ(count, -7);
    CHECK_EQ(dim, -7);
    CHECK(strchr(err, '\n') == NULL);
    printf("  %s\n", err);
    /* A NULL error buffer is allowed. */
    CHECK_EQ(idx_load_images(path, &images, &count, &dim, NULL), rc);
}

static void expect_labels_error(const char *path, int rc, char *err)
{
    uint8_t sentinel;
    uint8_t *labels = &sentinel;
    int count = -7;
    err[0] = '\0';
    CHECK_EQ(idx_load_labels(path, &labels, &count, err), rc);
    CHECK(labels == &sentinel);
    CHECK_EQ(count, -7);
    printf("  %s\n", err);
    CHECK_EQ(idx_load_labels(path, &labels, &count, NULL), rc);
}

static void test_missing(void)
{
    char err[PSC_ERR_LEN];
    char want[PSC_ERR_LEN];
    const char *path = tmp_path("nope.gz");
    expect_images_error(path, PSC_ENOTFOUND, err);
    snprintf(want, sizeof want,
             "cannot open '%s': No such file or directory: install the "
             "Debian package 'dataset-fashion-mnist' or set "
             "data.train_images / data.test_images",
             path);
    CHECK_STR(err, want);
    expect_labels_error(path, PSC_ENOTFOUND, err);
    CHECK_CONTAINS(err, "or set data.train_labels / data.test_labels");
}

static void test_wrong_magic(void)
{
    char err[PSC_ERR_LEN];
    char want[PSC_ERR_LEN];
    uint8_t labels[2] = {1, 2};
    uint32_t ldims[1] = {2};
    const char *lpath = tmp_path("labels.gz");
    write_idx(lpath, 1, 0x801, ldims, 1, labels, sizeof labels);
    expect_images_error(lpath, PSC_EINVAL, err);
    snprintf(want, sizeof want,
             "'%s' is not an IDX image file (magic 0x00000801): give the "
             "images file, e.g. train-images-idx3-ubyte.gz",
             lpath);
    CHECK_STR(err, want);

    uint8_t pixels[4] = {0, 1, 2, 3};
    uint32_t idims[3] = {1, 2, 2};
    const char *ipath = tmp_path("images.gz");
    write_idx(ipath, 1, 0x803, idims, 3, pixels, sizeof pixels);
    expect_labels_error(ipath, PSC_EINVAL, err);
    snprintf(want, sizeof want,
             "'%s' is not an IDX label file (magic 0x00000803): give the "
             "labels file, e.g. train-labels-idx1-ubyte.gz",
             ipath);
    CHECK_STR(err, want);

    /* Something that is not IDX at all, shorter than a header. */
    const char *tpath = tmp_path("text");
    write_raw(tpath, "hello\n", 6);
    expect_images_error(tpath, PSC_EINVAL, err);
    CHECK_CONTAINS(err, "is not an IDX image file (magic 0x68656c6c)");
}

static void test_truncated(void)
{
    char err[PSC_ERR_LEN];
    char want[PSC_ERR_LEN];
    uint8_t body[10] = {0};
    uint32_t dims[3] = {3, 2, 3};
    for (int gzip = 0; gzip <= 1; gzip++) {
        const char *path = tmp_path(gzip ? "short.gz" : "short");
        write_idx(path, gzip, 0x803, dims, 3, body, sizeof body);
        expect_images_error(path, PSC_EIO, err);
        snprintf(want, sizeof want,
                 "'%s' is truncated: expected 18 bytes of pixels, got 10",
                 path);
        CHECK_STR(err, want);
    }

    uint32_t ldims[1] = {5};
    const char *lpath = tmp_path("short-labels");
    write_idx(lpath, 0, 0x801, ldims, 1, body, 2);
    expect_labels_error(lpath, PSC_EIO, err);
    snprintf(want, sizeof want,
             "'%s' is truncated: expected 5 bytes of labels, got 2", lpath);
    CHECK_STR(err, want);

    /* Header cut short after the magic number. */
    const uint8_t head[6] = {0, 0, 8, 3, 0, 0};
    const char *hpath = tmp_path("short-header");
    write_raw(hpath, head, sizeof head);
    expect_images_error(hpath, PSC_EIO, err);
    snprintf(want, sizeof want,
             "'%s' is truncated: expected an IDX header of 16 bytes, got 6",
             hpath);
    CHECK_STR(err, want);

    const char *epath = tmp_path("empty");
    write_raw(epath, "", 0);
    expect_labels_error(epath, PSC_EIO, err);
    CHECK_CONTAINS(err, "expected an IDX header of 8 bytes, got 0");
}

/* A gzip stream cut in the middle, as an interrupted download leaves it. */
static void test_truncated_gzip(void)
{
    enum { N = 200, SIDE = 28 };
    size_t total = (size_t) N * SIDE * SIDE;
    uint8_t *body = malloc(total);
    CHECK(body != NULL);
    for (size_t i = 0; i < total; i++)
        body[i] = pixel(i * i);
    uint32_t dims[3] = {N, SIDE, SIDE};
    const char *path = tmp_path("cut.gz");
    write_idx(path, 1, 0x803, dims, 3, body, total);
    free(body);
    struct stat st;
    CHECK_OK(stat(path, &st));
    CHECK_OK(truncate(path, st.st_size / 2));

    char err[PSC_ERR_LEN];
    expect_images_error(path, PSC_EIO, err);
    CHECK_CONTAINS(err, path);
    CHECK_CONTAINS(err, "is truncated: expected 156800 bytes of pixels, got");
}

/* A gzip stream whose compressed data is damaged. */
static void test_corrupt_gzip(void)
{
    uint8_t body[4096];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = pixel(i * 7 + i / 3);
    uint32_t dims[3] = {4, 32, 32};
    const char *path = tmp_path("bad.gz");
    write_idx(path, 1, 0x803, dims, 3, body, sizeof body);
    FILE *fp = fopen(path, "r+b");
    CHECK(fp != NULL);
    /* Past the 10-byte gzip header: a reserved deflate block type. */
    CHECK_OK(fseek(fp, 10, SEEK_SET));
    CHECK_EQ(fputc(0x07, fp), 0x07);
    CHECK_EQ(fclose(fp), 0);

    char err[PSC_ERR_LEN];
    expect_images_error(path, PSC_EIO, err);
    char want[PSC_ERR_LEN];
    snprintf(want, sizeof want, "cannot read '%s': invalid block type", path);
    CHECK_STR(err, want);
}

static void test_absurd_dims(void)
{
    char err[PSC_ERR_LEN];
    const char *path = tmp_path("absurd");
    uint32_t zero[3] = {0, 28, 28};
    write_idx(path, 0, 0x803, zero, 3, NULL, 0);
    expect_images_error(path, PSC_EINVAL, err);
    CHECK_CONTAINS(err, "claims 0 images of 28 x 28 pixels: expected 1 to "
                        "10000000 images of at most 1000000 pixels");

    uint32_t many[3] = {10000001, 1, 1};
    write_idx(path, 0, 0x803, many, 3, NULL, 0);
    expect_images_error(path, PSC_EINVAL, err);
    CHECK_CONTAINS(err, "claims 10000001 images");

    uint32_t wide[3] = {1, 1000, 1001};
    write_idx(path, 0, 0x803, wide, 3, NULL, 0);
    expect_images_error(path, PSC_EINVAL, err);
    CHECK_CONTAINS(err, "claims 1 images of 1000 x 1001 pixels");

    /* Would overflow 32 bits if multiplied carelessly. */
    uint32_t huge[3] = {1, 0x10000, 0x10000};
    write_idx(path, 0, 0x803, huge, 3, NULL, 0);
    expect_images_error(path, PSC_EINVAL, err);

    uint32_t lmany[1] = {0xffffffffu};
    write_idx(path, 0, 0x801, lmany, 1, NULL, 0);
    expect_labels_error(path, PSC_EINVAL, err);
    CHECK_CONTAINS(err, "claims 4294967295 labels: expected 1 to 10000000");

    /* At the limits but with no body: must fail as truncated without
     * allocating the ten terabytes the header asks for. */
    uint32_t edge[3] = {10000000, 1000, 1000};
    write_idx(path, 1, 0x803, edge, 3, NULL, 0);
    expect_images_error(path, PSC_EIO, err);
    CHECK_CONTAINS(err, "is truncated: expected 10000000000000 bytes of "
                        "pixels, got 0");
}

static void test_fashion_mnist(void)
{
    const char *ipath = FMNIST_DIR "/t10k-images-idx3-ubyte.gz";
    const char *lpath = FMNIST_DIR "/t10k-labels-idx1-ubyte.gz";
    if (access(ipath, R_OK) != 0 || access(lpath, R_OK) != 0) {
        printf("skipping Fashion-MNIST check: %s not installed (Debian "
               "package 'dataset-fashion-mnist')\n",
               FMNIST_DIR);
        return;
    }
    char err[PSC_ERR_LEN] = "";
    uint8_t *images = NULL;
    int count = 0, dim = 0;
    CHECK_OK(idx_load_images(ipath, &images, &count, &dim, err));
    CHECK_EQ(count, 10000);
    CHECK_EQ(dim, 784);
    double sum = 0;
    for (size_t i = 0; i < (size_t) count * dim; i++)
        sum += images[i] / 255.0;

    uint8_t *labels = NULL;
    int nlabels = 0;
    CHECK_OK(idx_load_labels(lpath, &labels, &nlabels, err));
    CHECK_EQ(nlabels, 10000);
    for (int i = 0; i < nlabels; i++)
        CHECK(labels[i] < 10);
    printf("fashion-mnist t10k: %d images of %d, first label %d, mean "
           "pixel %.4f\n",
           count, dim, labels[0], sum / ((double) count * dim));
    /* The first test image is an ankle boot (class 9). */
    CHECK_EQ(labels[0], 9);
    free(images);
    free(labels);
}

static void remove_tmp_dir(void)
{
    DIR *d = opendir(s_dir);
    CHECK(d != NULL);
    struct dirent *de = readdir(d);
    while (de != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            CHECK_OK(unlink(tmp_path(de->d_name)));
        de = readdir(d);
    }
    closedir(d);
    CHECK_OK(rmdir(s_dir));
}

int main(void)
{
    CHECK(mkdtemp(s_dir) != NULL);
    test_roundtrip();
    test_missing();
    test_wrong_magic();
    test_truncated();
    test_truncated_gzip();
    test_corrupt_gzip();
    test_absurd_dims();
    test_fashion_mnist();
    remove_tmp_dir();
    printf("idx: ok\n");
    return 0;
}
