/*
 * Allocation that never returns NULL: running out of memory is fatal, so
 * error paths stay for real errors. Each function logs the size and aborts
 * on failure.
 */
#ifndef PSC_ALLOC_H
#define PSC_ALLOC_H

#include <stddef.h>

/* Caller owns the result; free with free(). */
void *psc_xmalloc(size_t size);
void *psc_xcalloc(size_t count, size_t size);
void *psc_xrealloc(void *ptr, size_t size);
char *psc_xstrdup(const char *s);

/*
 * Returns size bytes aligned to 64 (a cache line, and enough for any SIMD
 * load). Caller owns the result; free with free().
 */
void *psc_xaligned(size_t size);

#endif
