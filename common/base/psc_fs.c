/*
 * mkdir -p.
 */
#include "psc_fs.h"

#include "psc_err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int psc_mkdirs(const char *path, char *err)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(buf, 0777);
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return psc_seterr(err, PSC_EIO, "cannot create folder '%s': %s", path,
                          strerror(errno));
    return 0;
}
