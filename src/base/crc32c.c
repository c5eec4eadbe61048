/* crc32c.c - see crc32c.h. */
#include "base/crc32c.h"

#include <string.h>

static uint32_t g_table[8][256];
static int g_hw = -1; /* -1 unknown, 0 no, 1 yes */

static void crc32c_init_tables(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        g_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            g_table[t][i] = (g_table[t - 1][i] >> 8) ^ g_table[0][g_table[t - 1][i] & 0xff];
}

/* Slicing-by-8: eight table lookups per 8 input bytes. */
uint32_t crc32c_sw(uint32_t crc, const void *data, size_t len)
{
    static int ready;
    if (!ready) {
        crc32c_init_tables();
        ready = 1;
    }
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
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *data,
                                                             size_t len)
{
    const uint8_t *p = data;
    uint64_t c = ~crc;
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
#endif

uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
#if defined(__x86_64__)
    if (g_hw < 0) {
        __builtin_cpu_init();
        g_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    }
    if (g_hw)
        return crc32c_hw(crc, data, len);
#endif
    return crc32c_sw(crc, data, len);
}
