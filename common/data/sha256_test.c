/*
 * Tests for sha256: the FIPS 180-4 example vectors, padding boundaries,
 * arbitrary update splits, sha256_file() against the sha256sum tool, and
 * the CPU's SHA instructions against the C, block for block.
 */
#include "sha256.h"

#include "psc_err.h"
#include "sha256_internal.h"
#include "test.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void hash_hex(const void *data, size_t len, char hex[65])
{
    uint8_t digest[32];
    sha256_t s;
    sha256_init(&s);
    sha256_update(&s, data, len);
    sha256_final(&s, digest);
    sha256_hex(digest, hex);
}

static void test_vectors(void)
{
    static const char *abc448 =
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    char hex[65];

    hash_hex("", 0, hex);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                   "27ae41e4649b934ca495991b7852b855");
    hash_hex(NULL, 0, hex);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                   "27ae41e4649b934ca495991b7852b855");
    hash_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223"
                   "b00361a396177a9cb410ff61f20015ad");
    hash_hex(abc448, strlen(abc448), hex);
    CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039"
                   "a33ce45964ff2167f6ecedd419db06c1");
}

/* One million 'a', fed in uneven pieces so that updates straddle blocks. */
static void test_million_a(void)
{
    char chunk[997];
    memset(chunk, 'a', sizeof chunk);
    sha256_t s;
    sha256_init(&s);
    size_t left = 1000000;
    while (left > 0) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        sha256_update(&s, chunk, n);
        left -= n;
    }
    uint8_t digest[32];
    char hex[65];
    sha256_final(&s, digest);
    sha256_hex(digest, hex);
    CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67"
                   "f1809a48a497200e046d39ccc7112cd0");

    /* The state is reusable after sha256_init(). */
    sha256_init(&s);
    sha256_update(&s, "abc", 3);
    sha256_final(&s, digest);
    sha256_hex(digest, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223"
                   "b00361a396177a9cb410ff61f20015ad");
}

/* Lengths around the 56-byte padding cut-off, checked with sha256sum. */
static void test_padding_boundaries(void)
{
    static const struct {
        size_t len;
        const char *hex;
    } cases[] = {
        {55,
         "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56,
         "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {63,
         "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64,
         "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {119,
         "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
        {120,
         "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
    };
    char buf[128];
    char hex[65];
    memset(buf, 'a', sizeof buf);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hash_hex(buf, cases[i].len, hex);
        CHECK_STR(hex, cases[i].hex);
    }
}

/* Every two-way split of a message gives the one-shot digest. */
static void test_splits(void)
{
    static const char *msg =
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        "the quick brown fox jumps over the lazy dog 0123456789";
    size_t len = strlen(msg);
    char want[65];
    hash_hex(msg, len, want);
    for (size_t cut = 0; cut <= len; cut++) {
        uint8_t digest[32];
        char hex[65];
        sha256_t s;
        sha256_init(&s);
        sha256_update(&s, msg, cut);
        sha256_update(&s, msg + cut, len - cut);
        sha256_final(&s, digest);
        sha256_hex(digest, hex);
        CHECK_STR(hex, want);
    }
}

static void write_test_file(const char *path, size_t len)
{
    FILE *fp = fopen(path, "wb");
    CHECK(fp != NULL);
    for (size_t i = 0; i < len; i++)
        fputc((int) ((i * 2654435761u) >> 13) & 0xff, fp);
    CHECK_EQ(fclose(fp), 0);
}

static void sha256sum_of(const char *path, char hex[65])
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    char line[256] = "";
    CHECK(fgets(line, sizeof line, p) != NULL);
    CHECK_EQ(pclose(p), 0);
    CHECK(strlen(line) > 64);
    memcpy(hex, line, 64);
    hex[64] = '\0';
}

static void test_file(void)
{
    char dir[] = "/tmp/sha256_test.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/data.bin", dir);

    /* Larger than sha256_file()'s read chunk, and not a multiple of it. */
    write_test_file(path, 200003);
    char got[65];
    char want[65];
    char err[PSC_ERR_LEN] = "";
    CHECK_OK(sha256_file(path, got, err));
    sha256sum_of(path, want);
    CHECK_STR(got, want);

    write_test_file(path, 0);
    CHECK_OK(sha256_file(path, got, err));
    CHECK_STR(got, "e3b0c44298fc1c149afbf4c8996fb924"
                   "27ae41e4649b934ca495991b7852b855");
    CHECK_OK(unlink(path));

    CHECK_EQ(sha256_file(path, got, err), PSC_ENOTFOUND);
    CHECK_CONTAINS(err, "cannot open '");
    CHECK_CONTAINS(err, "data.bin': No such file or directory");
    CHECK_EQ(sha256_file(path, got, NULL), PSC_ENOTFOUND);

    /* Linux opens a directory for reading; the first read fails. */
    CHECK_EQ(sha256_file(dir, got, err), PSC_EIO);
    CHECK_CONTAINS(err, "cannot read '/tmp/sha256_test.");
    CHECK_CONTAINS(err, "': Is a directory");
    CHECK_OK(rmdir(dir));
}

/*
 * Where the CPU has SHA instructions the vectors above went through them:
 * the C must agree with them on every chaining value.
 */
static void test_instructions_agree(void)
{
    enum { BLOCKS = 257 };
    static uint8_t data[BLOCKS * 64];
    uint32_t seed = 12345;
    for (size_t i = 0; i < sizeof data; i++) {
        seed = seed * 1103515245u + 12345u;
        data[i] = (uint8_t) (seed >> 24);
    }
    uint32_t c[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint32_t x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    sha256__blocks_c(c, data, BLOCKS);
    if (!sha256__blocks_x86(x, data, BLOCKS, sha256__constants())) {
        printf("sha256: this CPU has no SHA instructions; C only\n");
        return;
    }
    CHECK(memcmp(c, x, sizeof c) == 0);
    for (int n = 1; n <= 3; n++) {
        memcpy(x, c, sizeof x);
        sha256__blocks_c(c, data + 64, (size_t) n);
        sha256__blocks_x86(x, data + 64, (size_t) n, sha256__constants());
        CHECK(memcmp(c, x, sizeof c) == 0);
    }
}

int main(void)
{
    test_vectors();
    test_million_a();
    test_padding_boundaries();
    test_splits();
    test_file();
    test_instructions_agree();
    printf("sha256: ok\n");
    return 0;
}
