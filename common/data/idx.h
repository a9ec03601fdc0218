/*
 * Readers for the IDX files that MNIST and Fashion-MNIST ship in: an image
 * file (magic 0x00000803, dimensions count x rows x cols) and a label file
 * (magic 0x00000801). Files may be gzip-compressed or plain; zlib reads
 * both. Sizes in the header are checked before anything large is kept.
 */
#ifndef IDX_H
#define IDX_H

#include <stdint.h>

/* Limits that reject hostile or corrupt headers before allocating. */
#define IDX_MAX_COUNT  10000000
#define IDX_MAX_PIXELS 1000000

/*
 * Loads an IDX3 image file's pixels as they are in the file (0..255),
 * row-major, *count images of *dim = rows * cols bytes each. On success
 * returns 0 and sets all three outputs; caller owns *pixels (free()). On
 * failure sets none of them and returns PSC_ENOTFOUND (no such file),
 * PSC_EIO (unreadable or truncated) or PSC_EINVAL (not an IDX image file,
 * or implausible dimensions), with a one-line message in err (PSC_ERR_LEN
 * bytes, may be NULL).
 */
int idx_load_images(const char *path, uint8_t **pixels, int *count, int *dim,
                    char *err);

/*
 * Loads an IDX1 label file: *count bytes, one label each. Returns and
 * reports errors as idx_load_images() does; caller owns *labels (free()).
 */
int idx_load_labels(const char *path, uint8_t **labels, int *count, char *err);

#endif
