/*
 * What sha256.c and sha256_x86.c share and nobody else needs.
 */
#ifndef SHA256_INTERNAL_H
#define SHA256_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Compresses the n 64-byte blocks at p into h with the CPU's SHA
 * instructions (k: the 64 round constants). Returns 1, or 0 without
 * touching h when the CPU has none.
 */
int sha256__blocks_x86(uint32_t h[8], const uint8_t *p, size_t n,
                       const uint32_t k[64]);

/* The same in portable C; always there. */
void sha256__blocks_c(uint32_t h[8], const uint8_t *p, size_t n);

/* The 64 round constants (FIPS 180-4 section 4.2.2). */
const uint32_t *sha256__constants(void);

#endif
