/*
 * fuzz_compress.c - libFuzzer target for compressed record batches (proto/compress.h).
 *
 * The first input byte picks what the rest is:
 *  - 0: a whole batch as given, to rb_decompress_records and rb_for_each_record;
 *  - 1: the records section of a batch whose header this target writes (magic 2, a valid
 *    CRC, codec and record count from the next two bytes), so the decoders see arbitrary
 *    compressed bytes past rb_validate; it is also recompressed to the codec named by the
 *    third byte;
 *  - 2: a key and value (split by the next byte) of a valid batch, compressed with the
 *    codec of the next byte, then one byte of its compressed section flipped (position and
 *    bit from the input) and the CRC fixed: near-valid streams reach deep into the decoders
 *    without committed seeds.
 * max_out is small (64 KiB), so bombs are refused quickly. Invariants besides memory
 * safety:
 *  - decompressed output never exceeds max_out; errors leave no output;
 *  - rb_for_each_record calls back exactly records_count times when it returns 0;
 *  - whatever rb_recompress builds validates, carries the codec asked for and decompresses
 *    to the same records section as its input; a valid batch always recompresses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/crc32c.h"
#include "proto/compress.h"
#include "proto/record.h"

#define FZ_MAX_OUT (64u * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_cb(void *ctx, int32_t index, const rb_record *r)
{
    int32_t *n = ctx;
    if (index != *n || (r->key_len >= 0 && !r->key) || (r->value_len >= 0 && !r->value))
        abort();
    (*n)++;
    return 0;
}

/* Decompresses and walks the batch, checking the invariants; returns the records section
 * (malloc'd) or NULL. */
static uint8_t *exercise(const uint8_t *b, size_t len, size_t *plain_len)
{
    uint8_t *out = (uint8_t *)b; /* must be reset to NULL on every path */
    size_t out_len = 0;
    int rc = rb_decompress_records(b, len, FZ_MAX_OUT, &out, &out_len);
    if (rc > 0 || (rc < 0 && out != NULL) || (rc == 0 && (!out || out_len > FZ_MAX_OUT)))
        abort();
    if (rb_compress_result_name(rc) == NULL)
        abort();
    int32_t n = 0;
    rc = rb_for_each_record(b, len, FZ_MAX_OUT, count_cb, &n);
    rb_header h;
    if (rc > 0 || (rc == 0 && (rb_parse_header(b, len, &h) != RB_OK || n != h.records_count)))
        abort();
    *plain_len = out_len;
    return out;
}

/* Recompresses a batch to `codec`; anything built must validate and hold the same
 * records. A batch that validates and walks must recompress. */
static void recompress_check(const uint8_t *b, size_t len, int codec, const uint8_t *plain,
                             size_t plain_len, int walked)
{
    uint8_t *c = NULL;
    size_t clen = 0;
    rb_header h, hc;
    int rc = rb_recompress(b, len, codec, FZ_MAX_OUT, &c, &clen);
    if (rc != 0) {
        if (c || (walked == 0 && plain && rb_validate(b, len, &h) == RB_OK))
            abort();
        return;
    }
    if (rb_validate(c, clen, &hc) != RB_OK || (hc.attributes & RB_ATTR_CODEC_MASK) != codec)
        abort();
    uint8_t *again = NULL;
    size_t again_len = 0;
    if (rb_decompress_records(c, clen, FZ_MAX_OUT, &again, &again_len) != 0 || !plain ||
        again_len != plain_len || memcmp(again, plain, plain_len) != 0)
        abort();
    free(again);
    free(c);
}

/* A batch with a header written here around the records section [rec, rec+n). */
static uint8_t *wrap(int codec, int32_t count, const uint8_t *rec, size_t n, size_t *len)
{
    *len = RB_HEADER_SIZE + n;
    uint8_t *b = calloc(1, *len);
    if (!b)
        return NULL;
    b[RB_OFF_MAGIC] = 2;
    be32_put(b + RB_OFF_LENGTH, (uint32_t)(*len - RB_LOG_OVERHEAD));
    be16_put(b + RB_OFF_ATTRIBUTES, (uint16_t)codec);
    be32_put(b + RB_OFF_LAST_OFFSET_DELTA, (uint32_t)(count - 1));
    be64_put(b + RB_OFF_PRODUCER_ID, (uint64_t)-1);
    be32_put(b + RB_OFF_RECORDS_COUNT, (uint32_t)count);
    if (n)
        memcpy(b + RB_HEADER_SIZE, rec, n);
    be32_put(b + RB_OFF_CRC, crc32c(0, b + RB_OFF_ATTRIBUTES, *len - RB_OFF_ATTRIBUTES));
    return b;
}

/* Mode 1: arbitrary compressed bytes behind a valid header. */
static void fuzz_section(const uint8_t *data, size_t size)
{
    if (size < 3)
        return;
    int codec = data[0] % RB_CODEC_COUNT, to = data[2] % RB_CODEC_COUNT;
    int32_t count = 1 + data[1] % 64;
    size_t len, plain_len = 0;
    uint8_t *b = wrap(codec, count, data + 3, size - 3, &len);
    if (!b)
        return;
    uint8_t *plain = exercise(b, len, &plain_len);
    int32_t n = 0;
    int walked = rb_for_each_record(b, len, FZ_MAX_OUT, count_cb, &n);
    recompress_check(b, len, to, plain, plain_len, walked);
    free(plain);
    free(b);
}

/* Mode 2: a valid batch, compressed, then one byte flipped. */
static void fuzz_flip(const uint8_t *data, size_t size)
{
    if (size < 4 || size > 60000) /* under max_out once built, so it must recompress */
        return;
    int codec = data[0] % RB_CODEC_COUNT;
    size_t key_len = data[1] % (size - 3 + 1), pos_seed = data[2] * 131u + size;
    uint8_t mask = (uint8_t)(1u << (data[2] % 8));
    const uint8_t *kv = data + 3;
    uint8_t *b = NULL, *c = NULL;
    size_t len = rb_build_kv(&b, kv, key_len, kv + key_len, size - 3 - key_len, 1);
    size_t clen = 0, plain_len = 0;
    if (len == 0)
        return;
    if (rb_recompress(b, len, codec, FZ_MAX_OUT, &c, &clen) != 0)
        abort(); /* a valid batch of under 64 KiB always recompresses */
    uint8_t *plain = exercise(c, clen, &plain_len);
    if (!plain || plain_len != len - RB_HEADER_SIZE)
        abort();
    free(plain);
    c[RB_HEADER_SIZE + pos_seed % (clen - RB_HEADER_SIZE)] ^= mask;
    be32_put(c + RB_OFF_CRC, crc32c(0, c + RB_OFF_ATTRIBUTES, clen - RB_OFF_ATTRIBUTES));
    plain = exercise(c, clen, &plain_len);
    free(plain);
    free(c);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t plain_len;
    switch (data[0] % 3) {
    case 0: free(exercise(data + 1, size - 1, &plain_len)); break;
    case 1: fuzz_section(data + 1, size - 1); break;
    case 2: fuzz_flip(data + 1, size - 1); break;
    }
    return 0;
}
