/* crc32c.c - see crc32c.h. */
#include "base/crc32c.h"

#include <pthread.h>
#include <string.h>

#define CRC32C_POLY 0x82F63B78u /* reflected Castagnoli polynomial */

static uint32_t g_table[8][256];
static pthread_once_t g_tables_once = PTHREAD_ONCE_INIT;

static void crc32c_init_tables(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        g_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            g_table[t][i] = (g_table[t - 1][i] >> 8) ^ g_table[0][g_table[t - 1][i] & 0xff];
}

/* Slicing-by-8: eight table lookups per 8 input bytes. */
uint32_t crc32c_sw(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&g_tables_once, crc32c_init_tables);
    const uint8_t *p = data;
    crc = ~crc;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        v ^= crc;
        crc = g_table[7][v & 0xff] ^ g_table[6][(v >> 8) & 0xff] ^ g_table[5][(v >> 16) & 0xff] ^
              g_table[4][(v >> 24) & 0xff] ^ g_table[3][(v >> 32) & 0xff] ^
              g_table[2][(v >> 40) & 0xff] ^ g_table[1][(v >> 48) & 0xff] ^
              g_table[0][(v >> 56) & 0xff];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = g_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__)
/*
 * The SSE4.2 instruction takes 3 cycles but can start one per cycle, so one dependent chain
 * uses a third of it. Long inputs are cut into three equal stripes checksummed side by
 * side (three independent chains), and the stripes' registers are then joined:
 *   reg(A || B) = shift(reg(A), |B|) ^ reg0(B)
 * where reg0 starts from 0 and shift(r, n) is r run through n zero bytes, a linear map on
 * 32 bits applied here with four 256-entry tables per stripe length.
 */
#define CRC_LONG 8192 /* stripe length for inputs of at least 3 x CRC_LONG */
#define CRC_SHORT 256 /* then for what is left of at least 3 x CRC_SHORT */

static uint32_t g_shift_long[4][256], g_shift_short[4][256];
static int g_hw = -1; /* -1 unknown, 0 no, 1 yes; set once, before any thread needs it */

/* mat (32 columns, each the image of one bit) applied to vec. */
static uint32_t gf2_apply(const uint32_t mat[32], uint32_t vec)
{
    uint32_t sum = 0;
    for (int i = 0; vec; i++, vec >>= 1)
        if (vec & 1)
            sum ^= mat[i];
    return sum;
}

/* out = mat x mat. */
static void gf2_square(uint32_t out[32], const uint32_t mat[32])
{
    for (int i = 0; i < 32; i++)
        out[i] = gf2_apply(mat, mat[i]);
}

/* The tables of shift(., nbytes): t[k][v] is the shift of v placed in byte k. */
static void shift_tables(uint32_t t[4][256], size_t nbytes)
{
    uint32_t op[32], sq[32], acc[32];
    /* op: one zero bit (multiply by x, reduce): bit 0 goes to the polynomial. */
    op[0] = CRC32C_POLY;
    for (int i = 1; i < 32; i++)
        op[i] = 1u << (i - 1);
    for (int i = 0; i < 32; i++)
        acc[i] = 1u << i; /* identity */
    /* acc = op^(8 * nbytes), by squaring: op runs through 1, 2, 4, ... zero bits. */
    for (size_t bits = nbytes * 8; bits; bits >>= 1) {
        if (bits & 1) {
            uint32_t tmp[32];
            for (int i = 0; i < 32; i++)
                tmp[i] = gf2_apply(op, acc[i]);
            memcpy(acc, tmp, sizeof(acc));
        }
        gf2_square(sq, op);
        memcpy(op, sq, sizeof(op));
    }
    for (int k = 0; k < 4; k++)
        for (uint32_t v = 0; v < 256; v++)
            t[k][v] = gf2_apply(acc, v << (8 * k));
}

static void crc32c_init_shifts(void)
{
    shift_tables(g_shift_long, CRC_LONG);
    shift_tables(g_shift_short, CRC_SHORT);
}

static inline uint32_t shift(const uint32_t t[4][256], uint32_t r)
{
    return t[0][r & 0xff] ^ t[1][(r >> 8) & 0xff] ^ t[2][(r >> 16) & 0xff] ^ t[3][r >> 24];
}

/* Three stripes of `stripe` bytes from p, joined into *c. */
__attribute__((target("sse4.2"))) static inline void crc_three(uint64_t *c, const uint8_t *p,
                                                                size_t stripe,
                                                                const uint32_t t[4][256])
{
    uint64_t c0 = *c, c1 = 0, c2 = 0;
    for (size_t i = 0; i < stripe; i += 8) {
        uint64_t v0, v1, v2;
        memcpy(&v0, p + i, 8);
        memcpy(&v1, p + stripe + i, 8);
        memcpy(&v2, p + 2 * stripe + i, 8);
        c0 = __builtin_ia32_crc32di(c0, v0);
        c1 = __builtin_ia32_crc32di(c1, v1);
        c2 = __builtin_ia32_crc32di(c2, v2);
    }
    c0 = shift(t, (uint32_t)c0) ^ (uint32_t)c1;
    *c = shift(t, (uint32_t)c0) ^ (uint32_t)c2;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *data,
                                                             size_t len)
{
    const uint8_t *p = data;
    uint64_t c = ~crc;
    while (len >= 3 * CRC_LONG) {
        crc_three(&c, p, CRC_LONG, g_shift_long);
        p += 3 * CRC_LONG;
        len -= 3 * CRC_LONG;
    }
    while (len >= 3 * CRC_SHORT) {
        crc_three(&c, p, CRC_SHORT, g_shift_short);
        p += 3 * CRC_SHORT;
        len -= 3 * CRC_SHORT;
    }
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}

static void crc32c_detect(void)
{
    __builtin_cpu_init();
    g_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    if (g_hw)
        crc32c_init_shifts();
}
static pthread_once_t g_detect_once = PTHREAD_ONCE_INIT;
#endif

uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
#if defined(__x86_64__)
    pthread_once(&g_detect_once, crc32c_detect);
    if (g_hw)
        return crc32c_hw(crc, data, len);
#endif
    return crc32c_sw(crc, data, len);
}
