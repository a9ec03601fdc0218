/*
 * Logger state is process-wide and set once from main() (as nng's
 * nng_log_set_logger is); a mutex keeps lines whole when the acting chief
 * thread and the worker thread of one process both log.
 */
#include "psc_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static char s_ident[64] = "psc";
static enum psc_log_level s_level = PSC_LOG_INFO;
static psc_log_sink_fn *s_sink;
static void *s_sink_arg;
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;

void psc_log_set_ident(const char *ident)
{
    snprintf(s_ident, sizeof s_ident, "%s", ident);
}

void psc_log_set_level(enum psc_log_level level)
{
    s_level = level;
}

enum psc_log_level psc_log_get_level(void)
{
    return s_level;
}

void psc_log_set_sink(psc_log_sink_fn *fn, void *arg)
{
    pthread_mutex_lock(&s_lock);
    s_sink = fn;
    s_sink_arg = arg;
    pthread_mutex_unlock(&s_lock);
}

void psc_log_write(enum psc_log_level level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warning", "", ""};
    char line[1024];
    int n = snprintf(line, sizeof line, "%s: %s%s", s_ident, names[level],
                     names[level][0] ? ": " : "");
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t) n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t) n, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&s_lock);
    if (s_sink != NULL) {
        s_sink(s_sink_arg, level, line);
    } else {
        fprintf(stderr, "%s\n", line);
        fflush(stderr);
    }
    pthread_mutex_unlock(&s_lock);
}
