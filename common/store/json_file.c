#include "json_file.h"

#include "psc_err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int json_file_load(const char *path, const char *what, const char *missing,
                   json_t **root, char *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL && errno == ENOENT)
        return psc_seterr(err, PSC_ENOTFOUND, "'%s' is missing%s", path,
                          missing);
    if (f == NULL)
        return psc_seterr(err, PSC_EIO, "cannot open '%s': %s", path,
                          strerror(errno));
    json_error_t jerr;
    json_t *r = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    fclose(f);
    if (r == NULL)
        return psc_seterr(err, PSC_EPROTO, "bad %s '%s': line %d: %s", what,
                          path, jerr.line, jerr.text);
    *root = r;
    return 0;
}
