/*
 * test_base_crc32c.c - CRC-32C against published vectors (the "123456789" check value and
 * RFC 3720 B.4), chaining, and the hardware path against the table path over random
 * lengths and alignments.
 */
#include <stdlib.h>
#include <string.h>

#include "base/crc32c.h"
#include "testutil.h"

static void test_known_vectors(void)
{
    CHECK_EQ_U64(crc32c(0, "123456789", 9), 0xE3069283u);
    CHECK_EQ_U64(crc32c_sw(0, "123456789", 9), 0xE3069283u);
    CHECK_EQ_U64(crc32c(0, "", 0), 0);
    CHECK_EQ_U64(crc32c_sw(0, NULL, 0), 0);
    CHECK_EQ_U64(crc32c(0, "a", 1), 0xC1D04330u);

    /* RFC 3720 (iSCSI) appendix B.4. */
    uint8_t b[32];
    memset(b, 0, sizeof(b));
    CHECK_EQ_U64(crc32c(0, b, 32), 0x8A9136AAu);
    CHECK_EQ_U64(crc32c_sw(0, b, 32), 0x8A9136AAu);
    memset(b, 0xff, sizeof(b));
    CHECK_EQ_U64(crc32c(0, b, 32), 0x62A8AB43u);
    CHECK_EQ_U64(crc32c_sw(0, b, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)i;
    CHECK_EQ_U64(crc32c(0, b, 32), 0x46DD794Eu);
    CHECK_EQ_U64(crc32c_sw(0, b, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)(31 - i);
    CHECK_EQ_U64(crc32c(0, b, 32), 0x113FDB5Cu);
    CHECK_EQ_U64(crc32c_sw(0, b, 32), 0x113FDB5Cu);
}

/* crc(a || b) == crc(crc(a), b): the contract that lets callers checksum in pieces. */
static void test_chaining(void)
{
    static const char msg[] = "The quick brown fox jumps over the lazy dog, twice over.";
    size_t n = sizeof(msg) - 1;
    uint32_t whole = crc32c(0, msg, n);
    for (size_t cut = 0; cut <= n; cut++) {
        uint32_t c = crc32c(0, msg, cut);
        CHECK_EQ_U64(crc32c(c, msg + cut, n - cut), whole);
        uint32_t s = crc32c_sw(0, msg, cut);
        CHECK_EQ_U64(crc32c_sw(s, msg + cut, n - cut), whole);
    }
}

static void test_hw_matches_sw(void)
{
    /* Past 3 x 8192 bytes, so the three-stripe paths of both stripe lengths run. */
    enum { MAX_LEN = 3 * 3 * 8192 + 3 * 256 + 100, ALIGN = 16 };
    uint8_t *buf = malloc(MAX_LEN + ALIGN);
    for (size_t i = 0; i < MAX_LEN + ALIGN; i++)
        buf[i] = (uint8_t)tu_rand();
    int mismatches = 0;
    for (int iter = 0; iter < 3000; iter++) {
        size_t off = tu_rand() % ALIGN;
        /* The lengths where a path starts or ends, then random ones. */
        static const size_t edges[] = {767, 768, 769, 775, 776, 1535, 1536, 24575, 24576,
                                       24577, 24576 + 768, 24576 + 767, 49152, 49152 + 769};
        size_t ne = sizeof(edges) / sizeof(edges[0]);
        size_t len = iter < 64                 ? (size_t)iter
                     : iter < 64 + (int)ne     ? edges[iter - 64]
                                               : tu_rand() % (MAX_LEN + 1);
        uint32_t seed = (iter & 1) ? (uint32_t)tu_rand() : 0;
        uint32_t hw = crc32c(seed, buf + off, len);
        uint32_t sw = crc32c_sw(seed, buf + off, len);
        if (hw != sw && mismatches++ < 5)
            printf("  mismatch: off %zu len %zu seed 0x%x: hw 0x%x sw 0x%x\n", off, len, seed, hw,
                   sw);
    }
    CHECK_EQ_INT(mismatches, 0);
    free(buf);
}

/* Any single flipped bit changes the checksum (what record-batch validation relies on). */
static void test_detects_single_bit_flips(void)
{
    uint8_t buf[300];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)tu_rand();
    uint32_t good = crc32c(0, buf, sizeof(buf));
    int undetected = 0;
    for (size_t i = 0; i < sizeof(buf); i++) {
        for (int bit = 0; bit < 8; bit++) {
            buf[i] ^= (uint8_t)(1u << bit);
            undetected += crc32c(0, buf, sizeof(buf)) == good;
            buf[i] ^= (uint8_t)(1u << bit);
        }
    }
    CHECK_EQ_INT(undetected, 0);
}

TU_MAIN(TU_CASE(test_known_vectors), TU_CASE(test_chaining), TU_CASE(test_hw_matches_sw),
        TU_CASE(test_detects_single_bit_flips))
