#include "json_file.h"

#include "psc_alloc.h"
#include "psc_err.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The store's JSON files describe a model, they do not hold it: anything
 * larger is not one of them. */
#define JSON_FILE_MAX (64L << 20)

/* Reads all of fd (size bytes by fstat) into a new buffer; *len its size. */
static int s_read_all(int fd, const char *path, char **out, size_t *len,
                      char *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return psc_seterr(err, PSC_EIO, "cannot read '%s': %s", path,
                          strerror(errno));
    if (!S_ISREG(st.st_mode) || st.st_size > JSON_FILE_MAX)
        return psc_seterr(err, PSC_EIO,
                          "'%s' is not a JSON file of a model (a regular "
                          "file of at most %ld bytes): write it again",
                          path, JSON_FILE_MAX);
    size_t want = (size_t) st.st_size;
    char *buf = psc_xmalloc(want > 0 ? want : 1);
    size_t have = 0;
    while (have < want) {
        ssize_t n = read(fd, buf + have, want - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : 0;
            free(buf);
            return psc_seterr(err, PSC_EIO, "cannot read '%s': %s", path,
                              e != 0 ? strerror(e) : "it shrank while read");
        }
        have += (size_t) n;
    }
    *out = buf;
    *len = have;
    return 0;
}

int json_file_load(const char *path, const char *what, const char *missing,
                   json_t **root, char *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return psc_seterr(err, PSC_ENOTFOUND, "'%s' is missing%s", path,
                          missing);
    if (fd < 0)
        return psc_seterr(err, PSC_EIO, "cannot open '%s': %s", path,
                          strerror(errno));
    char *text = NULL;
    size_t len = 0;
    int rc = s_read_all(fd, path, &text, &len, err);
    close(fd);
    if (rc != 0)
        return rc;
    json_error_t jerr;
    json_t *r = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (r == NULL)
        return psc_seterr(err, PSC_EPROTO, "bad %s '%s': line %d: %s", what,
                          path, jerr.line, jerr.text);
    *root = r;
    return 0;
}
