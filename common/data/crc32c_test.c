/*
 * Tests for crc32c: the published check value and RFC 3720's vectors, the
 * hardware and table paths agreeing on every length and alignment, and
 * streaming in pieces giving the one-shot result.
 */
#include "crc32c.h"

#include "psc_alloc.h"
#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_vectors(void)
{
    uint8_t buf[32];

    CHECK_EQ(crc32c(0, "123456789", 9), 0xe3069283u);
    CHECK_EQ(crc32c_portable(0, "123456789", 9), 0xe3069283u);
    CHECK_EQ(crc32c(0, NULL, 0), 0);
    /* RFC 3720 B.4: 32 bytes of zeros, of ones, ascending. */
    memset(buf, 0, sizeof buf);
    CHECK_EQ(crc32c(0, buf, sizeof buf), 0x8a9136aau);
    CHECK_EQ(crc32c_portable(0, buf, sizeof buf), 0x8a9136aau);
    memset(buf, 0xff, sizeof buf);
    CHECK_EQ(crc32c(0, buf, sizeof buf), 0x62a8ab43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t) i;
    CHECK_EQ(crc32c(0, buf, sizeof buf), 0x46dd794eu);
    CHECK_EQ(crc32c_portable(0, buf, sizeof buf), 0x46dd794eu);
}

static void test_paths_agree(void)
{
    size_t n = 4096;
    uint8_t *buf = psc_xmalloc(n + 8);
    uint32_t x = 12345;
    for (size_t i = 0; i < n + 8; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t) (x >> 16);
    }
    for (size_t off = 0; off < 8; off++) {
        for (size_t len = 0; len < 300; len++)
            CHECK_EQ(crc32c(0, buf + off, len),
                     crc32c_portable(0, buf + off, len));
    }
    uint32_t whole = crc32c(0, buf, n);
    CHECK_EQ(crc32c_portable(0, buf, n), whole);
    for (size_t cut = 0; cut <= n; cut += 97) {
        uint32_t c = crc32c(0, buf, cut);
        CHECK_EQ(crc32c(c, buf + cut, n - cut), whole);
        c = crc32c_portable(0, buf, cut);
        CHECK_EQ(crc32c_portable(c, buf + cut, n - cut), whole);
    }
    free(buf);
}

int main(void)
{
    test_vectors();
    test_paths_agree();
    return 0;
}
