/*
 * psc_strerror() and the error out-buffer helper.
 */
#include "psc_err.h"

#include <stdarg.h>
#include <stdio.h>

const char *psc_strerror(int code)
{
    switch (code) {
#define PSC_ERR_CASE(name, value, text) \
    case value:                         \
        return text;
        PSC_ERRORS(PSC_ERR_CASE)
#undef PSC_ERR_CASE
    default:
        return "unknown error";
    }
}

int psc_seterr(char *err, int code, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, PSC_ERR_LEN, fmt, ap);
    va_end(ap);
    /* Messages quote what a file or a peer wrote; a newline or escape in
     * it would split the one line every caller promises (and let the input
     * forge log lines), so control characters become '?'. */
    for (char *p = err; *p != '\0'; p++)
        if ((unsigned char) *p < 0x20 || *p == 0x7f)
            *p = '?';
    return code;
}

int psc_exit_status(int rc, int stop_signal)
{
    if (stop_signal != 0)
        return 128 + stop_signal;
    if (rc == 0)
        return 0;
    if (rc == PSC_ECONFIG || rc == PSC_EREFUSED)
        return PSC_EXIT_CONFIG;
    return PSC_EXIT_RETRY;
}
