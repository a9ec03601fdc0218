/*
 * psc-http-floor: the HTTP floor under psc-serve's predict numbers
 * (bench/serve-bench.sh). A libmicrohttpd daemon with serve_http.c's flags
 * (internal polling thread, epoll where there is one, a thread pool of one
 * thread per core, a 30 s connection timeout) that reads every request's
 * body and answers each with the same fixed JSON body of BYTES bytes: all
 * that psc-serve does but the JSON parsing, the model and its answer.
 *
 * usage: psc-http-floor PORT BYTES [THREADS [MODEL_VERSION_DIR [ROWS
 *        [PIXELS]]]]
 * PIXELS: a file of ROWS x input_dim bytes, the pixels of the instances
 * the forward pass runs on (serve-bench gives the images its requests
 * send, so that the reference computes what psc-serve computes); without
 * it, pixel i is i mod 256.
 * Logs "listening on port PORT" when it listens; stops on SIGINT/SIGTERM.
 */
#include "export.h"
#include "psc_err.h"
#include "psc_num.h"

#include <cblas.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_CONNECTION_TIMEOUT 30

static volatile sig_atomic_t s_stop;

struct s_floor {
    struct MHD_Response *answer;
    struct export_model model;
    int forward; /* 0: HTTP alone */
    long rows;
    float *instances; /* rows x input_dim, pixels 0..255 in turn */
};

static void s_forward(const struct s_floor *f)
{
    float *probs =
        malloc((size_t) f->rows * (size_t) f->model.classes * sizeof *probs);
    if (probs != NULL)
        export_predict(&f->model, f->instances, (int) f->rows, probs);
    free(probs);
}

/* The instances' pixels from path: exactly n bytes. 0, or 1 with a line. */
static int s_pixels(float *x, size_t n, const char *path)
{
    FILE *in = fopen(path, "rb");
    unsigned char *b = malloc(n + 1);
    size_t got = in != NULL && b != NULL ? fread(b, 1, n + 1, in) : 0;
    for (size_t i = 0; got == n && i < n; i++)
        x[i] = (float) b[i];
    if (in != NULL)
        fclose(in);
    free(b);
    if (got == n)
        return 0;
    fprintf(stderr, "psc-http-floor: %s does not hold %zu pixel bytes\n", path,
            n);
    return 1;
}

/*
 * The model in dir, and the instances it runs on (from pixels, or NULL).
 * 0, or 1 with a line.
 */
static int s_load(struct s_floor *f, const char *dir, const char *pixels)
{
    char err[PSC_ERR_LEN];
    if (export_read(dir, &f->model, err) != 0) {
        fprintf(stderr, "psc-http-floor: %s\n", err);
        return 1;
    }
    f->forward = 1;
    size_t n = (size_t) f->rows * (size_t) f->model.input_dim;
    f->instances = malloc(n * sizeof *f->instances);
    if (f->instances == NULL)
        return 1;
    if (pixels != NULL)
        return s_pixels(f->instances, n, pixels);
    for (size_t i = 0; i < n; i++)
        f->instances[i] = (float) (i % 256);
    return 0;
}

static void s_release(struct s_floor *f)
{
    if (f->forward)
        export_model_release(&f->model);
    free(f->instances);
}

static void s_on_signal(int sig)
{
    s_stop = sig;
}

/* Collects (and drops) the body, then queues the fixed answer. */
static enum MHD_Result s_access(void *cls, struct MHD_Connection *c,
                                const char *url, const char *method,
                                const char *version, const char *data,
                                size_t *size, void **con_cls)
{
    const struct s_floor *f = cls;
    if (*con_cls == NULL) {
        *con_cls = c; /* headers seen; the body follows */
        return MHD_YES;
    }
    if (*size > 0) {
        *size = 0;
        return MHD_YES;
    }
    if (f->forward)
        s_forward(f);
    return MHD_queue_response(c, MHD_HTTP_OK, f->answer);
}

/* A JSON body of exactly bytes bytes: {"predictions": [[0.1, ...]]}. */
static char *s_body(size_t bytes)
{
    static const char head[] = "{\"predictions\":[[";
    static const char tail[] = "]]}";
    char *b = malloc(bytes + 1);
    if (b == NULL || bytes < sizeof head + sizeof tail) {
        free(b);
        return NULL;
    }
    memset(b, ' ', bytes);
    memcpy(b, head, sizeof head - 1);
    for (size_t i = sizeof head - 1; i + 12 < bytes - (sizeof tail - 1);
         i += 12)
        memcpy(b + i, "0.100000001,", 12);
    memcpy(b + bytes - (sizeof tail - 1) - 12, "0.100000001 ", 12);
    memcpy(b + bytes - (sizeof tail - 1), tail, sizeof tail - 1);
    b[bytes] = '\0';
    return b;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 7) {
        fprintf(stderr, "usage: psc-http-floor PORT BYTES [THREADS "
                        "[MODEL_VERSION_DIR [ROWS [PIXELS]]]]\n");
        return 2;
    }
    long port = 0;
    long bytes = 0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long threads = cores > 0 ? cores : 1;
    struct s_floor f;
    memset(&f, 0, sizeof f);
    f.rows = 1;
    if (psc_num_long(argv[1], 1, 65535, &port) != 0 ||
        psc_num_long(argv[2], 32, 1L << 30, &bytes) != 0 ||
        (argc >= 4 && psc_num_long(argv[3], 1, 1024, &threads) != 0) ||
        (argc >= 6 && psc_num_long(argv[5], 1, 4096, &f.rows) != 0)) {
        fprintf(stderr, "psc-http-floor: bad PORT, BYTES (at least 32), "
                        "THREADS or ROWS\n");
        return 2;
    }
    /* As psc-serve: one BLAS thread, the pool gives the parallelism. */
    openblas_set_num_threads(1);
    if (argc >= 5 && s_load(&f, argv[4], argc == 7 ? argv[6] : NULL) != 0) {
        s_release(&f);
        return 2;
    }
    char *body = s_body((size_t) bytes);
    f.answer = MHD_create_response_from_buffer((size_t) bytes, body,
                                               MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(f.answer, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/json");
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES
                 ? MHD_USE_EPOLL
                 : MHD_USE_POLL;
    struct MHD_Daemon *d =
        MHD_start_daemon(flags, (uint16_t) port, NULL, NULL, s_access, &f,
                         MHD_OPTION_THREAD_POOL_SIZE, (unsigned) threads,
                         MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned) S_CONNECTION_TIMEOUT, MHD_OPTION_END);
    int rc = 0;
    if (d == NULL) {
        fprintf(stderr, "psc-http-floor: cannot listen on port %ld\n", port);
        rc = 1;
    } else {
        signal(SIGINT, s_on_signal);
        signal(SIGTERM, s_on_signal);
        fprintf(stderr,
                "psc-http-floor: listening on port %ld (%ld threads, "
                "%ld-byte answers, %ld rows forward each)\n",
                port, threads, bytes, f.forward ? f.rows : 0);
        while (!s_stop)
            pause();
        MHD_stop_daemon(d);
    }
    MHD_destroy_response(f.answer);
    s_release(&f);
    return rc;
}
