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

/*
 * As psc_xaligned(), for arrays of megabytes that live long and are read
 * and written whole (a ps's shard): 2 MiB-aligned and offered to the
 * kernel as transparent huge pages, so that filling fresh memory faults
 * once per 2 MiB instead of once per 4 KiB. free() releases it.
 */
void *psc_xaligned_huge(size_t size);

/*
 * Keeps the C library from giving message-sized blocks back to the system
 * as soon as they are freed: ZeroMQ allocates every received message, and
 * a megabyte message freed to the system costs a page fault per 4 KiB when
 * the next one arrives. Blocks up to 32 MiB are reused; larger ones still
 * go back at once. All threads share one arena, so that the blocks kept
 * can be given back (psc_alloc_give_back()). Call at start-up, before
 * threads start.
 */
void psc_alloc_tune_for_messages(void);

/*
 * Gives the blocks psc_alloc_tune_for_messages() keeps back to the system:
 * for a process gone idle, which should not hold tens of MiB of freed
 * messages until its next burst. Costs a walk of the free blocks.
 */
void psc_alloc_give_back(void);

/* Seconds without work after which a ps calls psc_alloc_give_back(). */
#define PSC_IDLE_GIVE_BACK_S 1.0

#endif
