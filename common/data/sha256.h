/*
 * SHA-256 (FIPS 180-4), self-contained so that checking a downloaded data
 * file needs no crypto library. Streaming: init, update any number of
 * times, final. sha256_file() hashes a whole file for cache checks.
 */
#ifndef SHA256_H
#define SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_HEX_LEN    64

/*
 * Hash state. A value type so callers can keep it on the stack; every
 * field is private to sha256.c.
 */
typedef struct sha256 {
    uint32_t h[8];     /* chaining value */
    uint64_t len;      /* bytes hashed so far */
    uint8_t block[64]; /* pending partial block */
    size_t fill;       /* bytes used in block */
} sha256_t;

/* Starts a new hash; also the way to reuse a state after sha256_final(). */
void sha256_init(sha256_t *s);

/* Hashes len more bytes of the message; data may be NULL when len is 0. */
void sha256_update(sha256_t *s, const void *data, size_t len);

/*
 * Writes the 32-byte digest to out. The state is spent afterwards: call
 * sha256_init() before hashing another message with it.
 */
void sha256_final(sha256_t *s, uint8_t out[SHA256_DIGEST_LEN]);

/* Formats a digest as 64 lower-case hex digits plus a terminating NUL. */
void sha256_hex(const uint8_t digest[SHA256_DIGEST_LEN],
                char hex[SHA256_HEX_LEN + 1]);

/*
 * Hashes the file at path into hex (lower case, NUL-terminated). Returns 0,
 * PSC_ENOTFOUND when the file does not exist or PSC_EIO when it cannot be
 * read, with a message in err (PSC_ERR_LEN bytes, may be NULL).
 */
int sha256_file(const char *path, char hex[SHA256_HEX_LEN + 1], char *err);

#endif
