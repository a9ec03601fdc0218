/*
 * libFuzzer target: the IDX readers (Fashion-MNIST's images and labels).
 * The input is written to a file, as the readers take a path, and read by
 * both: each must refuse the other's kind with one line, and read its own
 * without reading past what the header declares.
 */
#include "fuzz_util.h"
#include "idx.h"

static char *s_path;
/* Where the values read go, so the reads are not optimised away. */
static volatile unsigned s_sink;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_quiet();
    char *dir = fuzz_tmpdir("idx");
    size_t len = strlen(dir) + sizeof "/input";
    s_path = psc_xmalloc(len);
    snprintf(s_path, len, "%s/input", dir);
    free(dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write_file(s_path, data, size);
    char err[PSC_ERR_LEN] = "";
    uint8_t *images = NULL;
    int count = 0;
    int dim = 0;
    if (idx_load_images(s_path, &images, &count, &dim, err) == 0) {
        /* Touch every value, so a short buffer is ASan's to see. */
        unsigned sum = 0;
        for (size_t i = 0; i < (size_t) count * (size_t) dim; i++)
            sum += images[i];
        s_sink = sum;
        free(images);
    } else {
        fuzz_check_err(err);
    }
    uint8_t *labels = NULL;
    err[0] = '\0';
    if (idx_load_labels(s_path, &labels, &count, err) == 0) {
        uint8_t x = 0;
        for (int i = 0; i < count; i++)
            x ^= labels[i];
        s_sink = x;
        free(labels);
    } else {
        fuzz_check_err(err);
    }
    return 0;
}
