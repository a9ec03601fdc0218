#include "psc_num.h"

#include "psc_err.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* strto* skip leading blanks; a number that starts with one is refused. */
static int s_starts_well(const char *text)
{
    return text != NULL && *text != '\0' && !isspace((unsigned char) *text);
}

int psc_num_long(const char *text, long min, long max, long *out)
{
    if (!s_starts_well(text))
        return PSC_EINVAL;
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE || v < min || v > max)
        return PSC_EINVAL;
    *out = v;
    return 0;
}

int psc_num_int(const char *text, int min, int max, int *out)
{
    long v = 0;
    int rc = psc_num_long(text, min, max, &v);
    if (rc == 0)
        *out = (int) v;
    return rc;
}

int psc_num_double(const char *text, double min, double max, double *out)
{
    if (!s_starts_well(text))
        return PSC_EINVAL;
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v) ||
        v < min || v > max)
        return PSC_EINVAL;
    *out = v;
    return 0;
}

int psc_num_task(const char *name, const char *type, long count)
{
    size_t n = strlen(type);
    if (strncmp(name, type, n) != 0 || name[n] != ':')
        return PSC_EINVAL;
    const char *digits = name + n + 1;
    /* No sign: "worker:-0" and "worker:+1" are not task names. */
    if (!isdigit((unsigned char) *digits))
        return PSC_EINVAL;
    long v = 0;
    if (psc_num_long(digits, 0, count - 1, &v) != 0)
        return PSC_EINVAL;
    return (int) v;
}
