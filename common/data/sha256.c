/*
 * SHA-256 written from FIPS 180-4 section 6.2. The C follows the
 * specification's notation rather than unrolling rounds; where the CPU
 * has SHA instructions whole blocks go to them (sha256_x86.c), since
 * psc-serve hashes each new version while it serves.
 */
#include "sha256.h"

#include "sha256_internal.h"

#include "psc_alloc.h"
#include "psc_err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* First 32 bits of the fractional parts of the cube roots of the first 64
 * primes (FIPS 180-4 section 4.2.2). */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static uint32_t load_be32(const uint8_t *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
           ((uint32_t) p[2] << 8) | (uint32_t) p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;
}

/* One application of the compression function to a 512-bit block. */
static void compress(uint32_t h[8], const uint8_t block[64])
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = load_be32(block + 4 * t);
    for (int t = 16; t < 64; t++) {
        uint32_t s0 =
            rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 =
            rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    uint32_t e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + S1 + ch + K[t] + w[t];
        uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

void sha256_init(sha256_t *s)
{
    /* Fractional parts of the square roots of the first 8 primes
     * (section 5.3.3). */
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372,
                                   0xa54ff53a, 0x510e527f, 0x9b05688c,
                                   0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->len = 0;
    s->fill = 0;
}

void sha256__blocks_c(uint32_t h[8], const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        compress(h, p + 64 * i);
}

const uint32_t *sha256__constants(void)
{
    return K;
}

/* Whole blocks at p, straight from the caller's buffer. */
static void s_compress_blocks(uint32_t h[8], const uint8_t *p, size_t n)
{
    if (!sha256__blocks_x86(h, p, n, K))
        sha256__blocks_c(h, p, n);
}

void sha256_update(sha256_t *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    s->len += len;
    if (s->fill == 0 && len >= sizeof s->block) {
        size_t n = len / sizeof s->block;
        s_compress_blocks(s->h, p, n);
        p += n * sizeof s->block;
        len -= n * sizeof s->block;
    }
    while (len > 0) {
        size_t n = sizeof s->block - s->fill;
        if (n > len)
            n = len;
        memcpy(s->block + s->fill, p, n);
        s->fill += n;
        p += n;
        len -= n;
        if (s->fill == sizeof s->block) {
            s_compress_blocks(s->h, s->block, 1);
            s->fill = 0;
        }
    }
}

void sha256_final(sha256_t *s, uint8_t out[SHA256_DIGEST_LEN])
{
    uint64_t bits = s->len * 8;

    /* Padding (section 5.1.1): a 1 bit, zeros up to 56 bytes mod 64, then
     * the message length in bits as a big-endian 64-bit number. */
    s->block[s->fill++] = 0x80;
    if (s->fill > 56) {
        memset(s->block + s->fill, 0, sizeof s->block - s->fill);
        compress(s->h, s->block);
        s->fill = 0;
    }
    memset(s->block + s->fill, 0, 56 - s->fill);
    store_be32(s->block + 56, (uint32_t) (bits >> 32));
    store_be32(s->block + 60, (uint32_t) bits);
    compress(s->h, s->block);
    for (int i = 0; i < 8; i++)
        store_be32(out + 4 * i, s->h[i]);
    s->fill = 0;
}

void sha256_hex(const uint8_t digest[SHA256_DIGEST_LEN],
                char hex[SHA256_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < SHA256_DIGEST_LEN; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 0xf];
    }
    hex[SHA256_HEX_LEN] = '\0';
}

int sha256_file(const char *path, char hex[SHA256_HEX_LEN + 1], char *err)
{
    enum { CHUNK = 64 * 1024 };
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        int code = errno == ENOENT ? PSC_ENOTFOUND : PSC_EIO;
        return psc_seterr(err, code, "cannot open '%s': %s", path,
                          strerror(errno));
    }
    uint8_t *buf = psc_xmalloc(CHUNK);
    sha256_t s;
    sha256_init(&s);
    size_t n = fread(buf, 1, CHUNK, fp);
    while (n > 0) {
        sha256_update(&s, buf, n);
        n = fread(buf, 1, CHUNK, fp);
    }
    int rc = 0;
    if (ferror(fp)) {
        rc = psc_seterr(err, PSC_EIO, "cannot read '%s': %s", path,
                        strerror(errno));
    } else {
        uint8_t digest[SHA256_DIGEST_LEN];
        sha256_final(&s, digest);
        sha256_hex(digest, hex);
    }
    free(buf);
    fclose(fp);
    return rc;
}
