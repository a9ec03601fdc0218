/*
 * libFuzzer target: the LIBSVM reader, binary with feature hashing on or
 * with 5 classes. The input is written to a file, as the reader takes
 * a path (gzipped or plain, so both of zlib's paths are reached); a
 * refusal must be one line, and what is read must be whole compressed
 * rows.
 */
#include "fuzz_util.h"
#include "libsvm.h"

static char *s_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_quiet();
    char *dir = fuzz_tmpdir("libsvm");
    size_t len = strlen(dir) + sizeof "/input";
    s_path = psc_xmalloc(len);
    snprintf(s_path, len, "%s/input", dir);
    free(dir);
    return 0;
}

/* The rows must be in order and inside the arrays; labels in range. */
static void s_check_rows(const struct sparse_set *s, int classes)
{
    if (s->starts[0] != 0 || s->starts[s->n] != s->nnz)
        abort();
    for (size_t i = 0; i < s->n; i++) {
        if (s->starts[i] > s->starts[i + 1] || s->labels[i] < 0 ||
            s->labels[i] >= (float) classes)
            abort();
    }
    for (size_t k = 0; k < s->nnz; k++) {
        if (s->values[k] != s->values[k])
            abort();
    }
}

/*
 * The input's length chooses the options (odd: 5 classes), so that both
 * are reached, as the mutations change lengths all the time, and each
 * input costs one read.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write_file(s_path, data, size);
    static const struct libsvm_opts opts[2] = {
        {.classes = 2, .hash_buckets = 1u << 20, .hash_seed = 7},
        {.classes = 5},
    };
    const struct libsvm_opts *o = &opts[size % 2];
    struct sparse_set s;
    char err[PSC_ERR_LEN] = "";
    if (libsvm_load(s_path, o, &s, err) == 0) {
        s_check_rows(&s, o->classes);
        sparse_set_release(&s);
    } else {
        fuzz_check_err(err);
    }
    return 0;
}
