/*
 * Copying into arrays far larger than the cache. A plain copy first reads
 * every destination line into the cache only to overwrite it, then evicts
 * it again: a third more memory traffic than the copy needs, on a bus the
 * kernel's socket copies already keep busy.
 */
#ifndef BIGCOPY_H
#define BIGCOPY_H

#include <stddef.h>

/* Destinations from this size on are worth bigcopy_stream(). */
#define BIGCOPY_STREAM_FROM ((size_t) 8 << 20)

/*
 * Copies bytes from src to dst (no overlap, any alignment) with
 * non-temporal stores where the CPU has them, so the destination's lines
 * are written without being read and do not push the source out of the
 * cache. For data not read again soon; a plain memcpy elsewhere.
 */
void bigcopy_stream(void *dst, const void *src, size_t bytes);

#endif
