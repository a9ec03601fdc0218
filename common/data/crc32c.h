/*
 * CRC-32C (Castagnoli, iSCSI's and ext4's checksum) for checkpoint files.
 * Streaming like zlib's crc32(): start from 0 and pass each result back in.
 * With SSE4.2 (x86-64 CPUs since 2008) the CPU's crc32 instruction does the
 * work; elsewhere a slicing-by-8 table gives the same values.
 */
#ifndef CRC32C_H
#define CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * Returns the CRC-32C of the bytes seen so far followed by data[0..len):
 * crc is 0 for the first piece, then the previous result. data may be NULL
 * when len is 0.
 */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

/* The same with the portable table code whatever the CPU (for tests). */
uint32_t crc32c_portable(uint32_t crc, const void *data, size_t len);

#endif
