/*
 * mkdir -p: each prefix of the path that ends a component, shortest first.
 */
#include "psc_fs.h"

#include "psc_alloc.h"
#include "psc_err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* s_make_dir()'s result when dir exists and is not a folder. */
#define S_NOT_A_FOLDER (-1)

/*
 * Creates one folder. Returns 0 when dir is a folder afterwards,
 * S_NOT_A_FOLDER when it is something else, or mkdir()'s errno.
 */
static int s_make_dir(const char *dir)
{
    if (mkdir(dir, 0777) == 0)
        return 0;
    int e = errno;
    /* An existing folder is fine whatever errno mkdir() chose (EEXIST, or
     * EACCES/EROFS below a read-only parent). */
    struct stat st;
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : S_NOT_A_FOLDER;
    return e;
}

int psc_mkdirs(const char *path, char *err)
{
    if (path[0] == '\0')
        return psc_seterr(err, PSC_EINVAL,
                          "cannot create a folder: no path given");
    char *buf = psc_xstrdup(path);
    int e = 0;
    /* A leading slash, or one after another, ends no component. */
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/' || p[-1] == '/')
            continue;
        *p = '\0';
        e = s_make_dir(buf);
        if (e != 0)
            break;
        *p = '/';
    }
    if (e == 0)
        e = s_make_dir(buf);
    int rc = 0;
    if (e == S_NOT_A_FOLDER)
        rc = psc_seterr(err, PSC_EIO,
                        "cannot create folder '%s': '%s' exists and is not "
                        "a folder",
                        path, buf);
    else if (e != 0)
        rc = psc_seterr(err, PSC_EIO, "cannot create folder '%s': %s", path,
                        strerror(e));
    free(buf);
    return rc;
}
