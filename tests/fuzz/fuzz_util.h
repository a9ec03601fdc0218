/*
 * What the fuzz targets share: a quiet logger, the input as a C string or
 * as a file, the one-line error contract every parser promises, and the
 * generated seeds a harness may add. Header-only, since each target is one
 * translation unit linked with libFuzzer's main.
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void fuzz__drop_line(void *arg, enum psc_log_level level,
                            const char *line)
{
    (void) arg;
    (void) level;
    (void) line;
}

/*
 * Formatting every rejected input's log line would cost more than the
 * parse; the lines still go through the logger, so its code is fuzzed too.
 */
static inline void fuzz_quiet(void)
{
    psc_log_set_level(PSC_LOG_DEBUG);
    psc_log_set_sink(fuzz__drop_line, NULL);
}

/* The input as a NUL-terminated string. Caller frees. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = psc_xmalloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/*
 * A new folder under $TMPDIR (or /tmp) for the whole run. Fuzzing writes
 * one file per input there; the folder is left for the OS to clean, as the
 * process only ever ends by libFuzzer's exit. Caller frees.
 */
static inline char *fuzz_tmpdir(const char *name)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/psc-fuzz-%s-XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp", name);
    if (mkdtemp(tmpl) == NULL) {
        perror("fuzz: mkdtemp");
        abort();
    }
    return psc_xstrdup(tmpl);
}

/*
 * Writes bytes to path, replacing it; a failure is the rig's, so aborts.
 * One write(), not stdio, whose buffer would be an allocation per input.
 */
static inline void fuzz_write_file(const char *path, const void *data,
                                   size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, data, size) != (ssize_t) size || close(fd) != 0) {
        perror(path);
        abort();
    }
}

/*
 * The contract of every parser here: a refusal writes exactly one
 * non-empty line to err. A refusal that breaks it is a finding.
 */
static inline void fuzz_check_err(const char *err)
{
    size_t n = strnlen(err, PSC_ERR_LEN);
    if (n == 0 || n == PSC_ERR_LEN || memchr(err, '\n', n) != NULL) {
        fprintf(stderr, "fuzz: refusal without a one-line error: '%.*s'\n",
                (int) n, err);
        abort();
    }
}

/*
 * Writes a generated seed into $PSC_FUZZ_SEED_OUT (tests/fuzz/run.sh sets
 * it) when it is set; outside run.sh nothing is written.
 */
static inline void fuzz_emit_seed(const char *name, const void *data,
                                  size_t size)
{
    const char *dir = getenv("PSC_FUZZ_SEED_OUT");
    if (dir == NULL || dir[0] == '\0')
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fuzz_write_file(path, data, size);
}

#endif
