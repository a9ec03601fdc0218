/*
 * The one logger. Every line starts with the process's identity (`ps:1`,
 * `worker:0`) and goes to stderr unless a sink is installed (tests capture
 * it). The level is checked before any formatting happens.
 */
#ifndef PSC_LOG_H
#define PSC_LOG_H

enum psc_log_level {
    PSC_LOG_ERR = 0,
    PSC_LOG_WARN = 1,
    PSC_LOG_INFO = 2,
    PSC_LOG_DEBUG = 3,
};

/* Receives one formatted line, without its trailing newline. */
typedef void psc_log_sink_fn(void *arg, enum psc_log_level level,
                             const char *line);

/*
 * Sets the identity printed at the start of every line (copied). Called
 * once from main() before any other thread starts.
 */
void psc_log_set_ident(const char *ident);

/* Sets the most verbose level printed; PSC_LOG_INFO by default. */
void psc_log_set_level(enum psc_log_level level);
enum psc_log_level psc_log_get_level(void);

/* Replaces the sink; NULL restores stderr. */
void psc_log_set_sink(psc_log_sink_fn *fn, void *arg);

void psc_log_write(enum psc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define PSC_LOG_AT(level, ...)                   \
    do {                                         \
        if ((level) <= psc_log_get_level())      \
            psc_log_write((level), __VA_ARGS__); \
    } while (0)

#define psc_log_err(...)   PSC_LOG_AT(PSC_LOG_ERR, __VA_ARGS__)
#define psc_log_warn(...)  PSC_LOG_AT(PSC_LOG_WARN, __VA_ARGS__)
#define psc_log_info(...)  PSC_LOG_AT(PSC_LOG_INFO, __VA_ARGS__)
#define psc_log_debug(...) PSC_LOG_AT(PSC_LOG_DEBUG, __VA_ARGS__)

#endif
