/*
 * test_proto_compress.c - compressed record batches (proto/compress.h): every codec round
 * trips a batch built by rb_build_simple (null and empty keys, null values, values spanning
 * several snappy and lz4 blocks) through rb_recompress, rb_validate and rb_for_each_record;
 * recompression between every pair of codecs; header fields kept; the wire formats Kafka's
 * clients write and read (gzip member, snappy-java framing, LZ4 frame flags, zstd frame),
 * checked with the codec libraries directly; librdkafka's raw snappy, zlib streams, zstd
 * frames without a content size and concatenated zstd frames accepted; max_out refusals
 * and decompression bombs; every truncated prefix and random garbage refused without a
 * crash (exact-size heap copies, so AddressSanitizer sees any overread).
 */
#include <stdlib.h>
#include <string.h>

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "base/assert.h"
#include "base/buf.h"
#include "base/crc32c.h"
#include "proto/compress.h"
#include "proto/record.h"
#include "testutil.h"

#define TS0 1700000000000
#define BIG_VALUE_LEN (100 * 1024)
#define MAX_OUT (16u * 1024 * 1024)
#define SEEN_MAX 8

static const int g_codecs[] = {RB_CODEC_NONE, RB_CODEC_GZIP, RB_CODEC_SNAPPY, RB_CODEC_LZ4,
                               RB_CODEC_ZSTD};

/* ---- fixtures ---- */

static const char *const g_small_keys[] = {"k0", NULL, ""};
static const char *const g_small_values[] = {"v0", "value-1", NULL};

static char g_big_a[BIG_VALUE_LEN + 1], g_big_b[BIG_VALUE_LEN / 2 + 1];
static const char *g_big_keys[] = {"key-0", NULL, "", "key-3", "key-4"};
static const char *g_big_values[] = {"v0", g_big_a, NULL, "value-3", g_big_b};

/* Words drawn at random from a list of 16: LZ-style codecs shrink it (repeated pairs of
 * words), but not to nothing, so the compressed sections span several blocks. */
static void fill_letters(char *s, size_t n)
{
    static const char *const words[] = {"alpha ", "bravo ", "charlie ", "delta ", "echo ",
                                        "foxtrot ", "golf ", "hotel ", "india ", "juliet ",
                                        "kilo ", "lima ", "mike ", "november ", "oscar ",
                                        "papa "};
    size_t i = 0;
    while (i < n) {
        const char *w = words[tu_rand() & 15];
        for (size_t j = 0; w[j] && i < n; j++)
            s[i++] = w[j];
    }
    s[n] = '\0';
}

static size_t build_small(uint8_t **out)
{
    return rb_build_simple(out, 3, g_small_keys, g_small_values, TS0);
}

static size_t build_big(uint8_t **out)
{
    if (!g_big_a[0]) {
        fill_letters(g_big_a, BIG_VALUE_LEN);
        fill_letters(g_big_b, BIG_VALUE_LEN / 2);
    }
    return rb_build_simple(out, 5, g_big_keys, g_big_values, TS0);
}

static void fix_crc(uint8_t *p, size_t len)
{
    be32_put(p + RB_OFF_CRC, crc32c(0, p + RB_OFF_ATTRIBUTES, len - RB_OFF_ATTRIBUTES));
}

/* A batch (malloc'd, exactly *len_out bytes) with hdr's 61 header bytes, `codec` in its
 * attributes and [records, records+n) as its records section; length and CRC made right,
 * written here independently of compress.c. */
static uint8_t *make_batch(const uint8_t *hdr, int codec, const uint8_t *records, size_t n,
                           size_t *len_out)
{
    size_t len = RB_HEADER_SIZE + n;
    uint8_t *b = malloc(len);
    memcpy(b, hdr, RB_HEADER_SIZE);
    if (n)
        memcpy(b + RB_HEADER_SIZE, records, n);
    uint16_t attr = be16_get(b + RB_OFF_ATTRIBUTES);
    be16_put(b + RB_OFF_ATTRIBUTES, (uint16_t)((attr & ~RB_ATTR_CODEC_MASK) | codec));
    be32_put(b + RB_OFF_LENGTH, (uint32_t)(len - RB_LOG_OVERHEAD));
    fix_crc(b, len);
    *len_out = len;
    return b;
}

/* ---- what rb_for_each_record hands out ---- */

typedef struct seen {
    int n;
    int stop_at; /* the callback returns 7 at this index (-1: never) */
    int32_t index[SEEN_MAX];
    int64_t offset[SEEN_MAX], ts[SEEN_MAX];
    char *key[SEEN_MAX], *value[SEEN_MAX]; /* malloc'd copies; NULL for a null field */
} seen;

static char *dup_field(const uint8_t *p, int32_t len)
{
    if (!p || len < 0)
        return NULL;
    char *s = malloc((size_t)len + 1);
    memcpy(s, p, (size_t)len);
    s[len] = '\0';
    return s;
}

static int collect(void *ctx, int32_t index, const rb_record *r)
{
    seen *s = ctx;
    if (s->n >= SEEN_MAX)
        return -100;
    s->index[s->n] = index;
    s->offset[s->n] = r->offset;
    s->ts[s->n] = r->timestamp;
    s->key[s->n] = dup_field(r->key, r->key_len);
    s->value[s->n] = dup_field(r->value, r->value_len);
    s->n++;
    return index == s->stop_at ? 7 : 0;
}

static void seen_free(seen *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->key[i]);
        free(s->value[i]);
    }
    memset(s, 0, sizeof(*s));
}

/* Walks the batch and checks it yields exactly keys/values at base_offset + i, TS0. */
static void check_walk(const uint8_t *b, size_t len, int count, const char *const *keys,
                       const char *const *values, int64_t base_offset)
{
    seen s = {.stop_at = -1};
    CHECK_EQ_INT(rb_for_each_record(b, len, MAX_OUT, collect, &s), 0);
    CHECK_EQ_INT(s.n, count);
    for (int i = 0; i < s.n && i < count; i++) {
        CHECK_EQ_INT(s.index[i], i);
        CHECK_EQ_INT(s.offset[i], base_offset + i);
        CHECK_EQ_INT(s.ts[i], TS0);
        CHECK_EQ_STR(s.key[i], keys[i]);
        CHECK_EQ_STR(s.value[i], values[i]);
    }
    seen_free(&s);
}

/* The batch's records section decompresses to exactly the plain one. */
static void check_plain(const uint8_t *b, size_t len, const uint8_t *plain, size_t plain_len)
{
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (!CHECK_EQ_INT(rb_decompress_records(b, len, MAX_OUT, &out, &out_len), 0))
        return;
    if (CHECK_EQ_INT(out_len, plain_len))
        CHECK_EQ_MEM(out, plain, plain_len);
    free(out);
}

/* ---- names ---- */

static void test_codec_names(void)
{
    CHECK_EQ_INT(rb_codec_from_name("uncompressed"), RB_CODEC_NONE);
    CHECK_EQ_INT(rb_codec_from_name("gzip"), RB_CODEC_GZIP);
    CHECK_EQ_INT(rb_codec_from_name("snappy"), RB_CODEC_SNAPPY);
    CHECK_EQ_INT(rb_codec_from_name("lz4"), RB_CODEC_LZ4);
    CHECK_EQ_INT(rb_codec_from_name("zstd"), RB_CODEC_ZSTD);
    CHECK_EQ_INT(rb_codec_from_name("producer"), -2);
    CHECK_EQ_INT(RB_CODEC_PRODUCER, -2);
    const char *bad[] = {"none", "GZIP", "Snappy", "", "lz4 ", "zstd\n", "brotli", "produce"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_EQ_INT(rb_codec_from_name(bad[i]), -1);
    CHECK_EQ_INT(rb_codec_from_name(NULL), -1);
    for (int c = -2; c < RB_CODEC_COUNT; c++) {
        if (c != -1)
            CHECK_EQ_INT(rb_codec_from_name(rb_codec_name(c)), c);
    }
    CHECK_EQ_STR(rb_codec_name(RB_CODEC_NONE), "uncompressed");
    CHECK_EQ_STR(rb_codec_name(5), "unknown");
    CHECK_EQ_STR(rb_codec_name(-1), "unknown");

    /* Distinct from record.h's codes, every one named. */
    int codes[] = {RB_ERR_DECOMPRESS, RB_ERR_TOO_BIG, RB_ERR_COMPRESS, RB_ERR_NOMEM};
    for (size_t i = 0; i < 4; i++) {
        CHECK(codes[i] < RB_ERR_CODEC);
        CHECK(strcmp(rb_compress_result_name(codes[i]), "unknown") != 0);
        for (size_t j = 0; j < i; j++)
            CHECK(codes[i] != codes[j]);
    }
    CHECK_EQ_STR(rb_compress_result_name(RB_ERR_CRC), rb_result_name(RB_ERR_CRC));
}

/* ---- round trips ---- */

/* Compresses the batch with every codec and checks each result validates, carries the
 * codec bits, decompresses to the same records section and walks to the same records. */
static void round_trip(const uint8_t *b, size_t len, int count, const char *const *keys,
                       const char *const *values)
{
    for (size_t i = 0; i < BROOK_ARRAY_LEN(g_codecs); i++) {
        int codec = g_codecs[i];
        uint8_t *c = NULL;
        size_t clen = 0;
        if (!CHECK_EQ_INT(rb_recompress(b, len, codec, MAX_OUT, &c, &clen), 0))
            continue;
        rb_header h;
        CHECK_EQ_INT(rb_validate(c, clen, &h), RB_OK);
        CHECK_EQ_INT(h.attributes & RB_ATTR_CODEC_MASK, codec);
        CHECK_EQ_INT(h.records_count, count);
        if (codec != RB_CODEC_NONE && len > BIG_VALUE_LEN)
            CHECK(clen < len); /* the letters compress */
        check_plain(c, clen, b + RB_HEADER_SIZE, len - RB_HEADER_SIZE);
        check_walk(c, clen, count, keys, values, 0);
        free(c);
    }
}

static void test_round_trip_every_codec(void)
{
    uint8_t *b = NULL;
    size_t len = build_small(&b);
    check_walk(b, len, 3, g_small_keys, g_small_values, 0);
    round_trip(b, len, 3, g_small_keys, g_small_values);
    free(b);

    len = build_big(&b);
    if (!CHECK(len > BIG_VALUE_LEN))
        return;
    check_walk(b, len, 5, g_big_keys, g_big_values, 0);
    round_trip(b, len, 5, g_big_keys, g_big_values);
    free(b);
}

static void test_recompress_every_pair(void)
{
    uint8_t *b = NULL;
    size_t len = build_big(&b);
    for (size_t i = 0; i < BROOK_ARRAY_LEN(g_codecs); i++) {
        uint8_t *a = NULL;
        size_t alen = 0;
        if (!CHECK_EQ_INT(rb_recompress(b, len, g_codecs[i], MAX_OUT, &a, &alen), 0))
            continue;
        for (size_t j = 0; j < BROOK_ARRAY_LEN(g_codecs); j++) {
            uint8_t *c = NULL;
            size_t clen = 0;
            if (!CHECK_EQ_INT(rb_recompress(a, alen, g_codecs[j], MAX_OUT, &c, &clen), 0))
                continue;
            rb_header h;
            CHECK_EQ_INT(rb_validate(c, clen, &h), RB_OK);
            CHECK_EQ_INT(h.attributes & RB_ATTR_CODEC_MASK, g_codecs[j]);
            check_plain(c, clen, b + RB_HEADER_SIZE, len - RB_HEADER_SIZE);
            check_walk(c, clen, 5, g_big_keys, g_big_values, 0);
            free(c);
        }
        free(a);
    }
    /* Back to uncompressed: the very bytes rb_build_simple wrote. */
    uint8_t *z = NULL, *u = NULL;
    size_t zlen = 0, ulen = 0;
    CHECK_EQ_INT(rb_recompress(b, len, RB_CODEC_ZSTD, MAX_OUT, &z, &zlen), 0);
    CHECK_EQ_INT(rb_recompress(z, zlen, RB_CODEC_NONE, MAX_OUT, &u, &ulen), 0);
    if (CHECK_EQ_INT(ulen, len))
        CHECK_EQ_MEM(u, b, len);
    free(z);
    free(u);
    free(b);
}

static void test_header_fields_kept(void)
{
    uint8_t *b = NULL;
    size_t len = build_small(&b);
    be64_put(b + RB_OFF_BASE_OFFSET, 1000);
    be32_put(b + RB_OFF_LEADER_EPOCH, 7);
    uint16_t attrs = RB_ATTR_TRANSACTIONAL | RB_ATTR_LOG_APPEND_TIME;
    be16_put(b + RB_OFF_ATTRIBUTES, attrs);
    be64_put(b + RB_OFF_MAX_TIMESTAMP, TS0 + 999);
    be64_put(b + RB_OFF_PRODUCER_ID, 123456789012);
    be16_put(b + RB_OFF_PRODUCER_EPOCH, 3);
    be32_put(b + RB_OFF_BASE_SEQUENCE, 42);
    fix_crc(b, len);
    rb_header in;
    if (!CHECK_EQ_INT(rb_validate(b, len, &in), RB_OK))
        return;
    for (size_t i = 0; i < BROOK_ARRAY_LEN(g_codecs); i++) {
        uint8_t *c = NULL;
        size_t clen = 0;
        if (!CHECK_EQ_INT(rb_recompress(b, len, g_codecs[i], MAX_OUT, &c, &clen), 0))
            continue;
        rb_header h;
        CHECK_EQ_INT(rb_validate(c, clen, &h), RB_OK);
        CHECK_EQ_INT(h.base_offset, 1000);
        CHECK_EQ_INT(h.leader_epoch, 7);
        CHECK_EQ_INT(h.length, clen - RB_LOG_OVERHEAD);
        CHECK_EQ_INT(h.magic, 2);
        CHECK_EQ_INT(h.attributes, attrs | g_codecs[i]);
        CHECK_EQ_INT(h.last_offset_delta, 2);
        CHECK_EQ_INT(h.base_timestamp, TS0);
        CHECK_EQ_INT(h.max_timestamp, TS0 + 999);
        CHECK_EQ_INT(h.producer_id, 123456789012);
        CHECK_EQ_INT(h.producer_epoch, 3);
        CHECK_EQ_INT(h.base_sequence, 42);
        CHECK_EQ_INT(h.records_count, 3);
        CHECK_EQ_U64(h.crc, crc32c(0, c + RB_OFF_ATTRIBUTES, clen - RB_OFF_ATTRIBUTES));
        check_walk(c, clen, 3, g_small_keys, g_small_values, 1000);
        free(c);
    }
    /* A control batch stays one. */
    uint8_t ctl[RB_CONTROL_BATCH_SIZE];
    rb_build_control(ctl, 5, 1, RB_CONTROL_COMMIT, 9, TS0);
    uint8_t *c = NULL;
    size_t clen = 0;
    if (CHECK_EQ_INT(rb_recompress(ctl, sizeof(ctl), RB_CODEC_LZ4, MAX_OUT, &c, &clen), 0)) {
        rb_header h;
        CHECK_EQ_INT(rb_validate(c, clen, &h), RB_OK);
        CHECK_EQ_INT(h.attributes,
                     RB_ATTR_TRANSACTIONAL | RB_ATTR_CONTROL | RB_CODEC_LZ4);
        check_plain(c, clen, ctl + RB_HEADER_SIZE, sizeof(ctl) - RB_HEADER_SIZE);
    }
    free(c);
    free(b);
}

/* ---- wire formats ---- */

/* The big batch compressed with `codec` (caller frees). */
static uint8_t *big_with(int codec, size_t *len_out, uint8_t **plain, size_t *plain_len)
{
    uint8_t *b = NULL, *c = NULL;
    size_t len = build_big(&b);
    *len_out = 0;
    CHECK_EQ_INT(rb_recompress(b, len, codec, MAX_OUT, &c, len_out), 0);
    *plain_len = len - RB_HEADER_SIZE;
    *plain = malloc(*plain_len);
    memcpy(*plain, b + RB_HEADER_SIZE, *plain_len);
    free(b);
    return c;
}

/* snappy-java's framing, read here with snappy's own C API: the header, then blocks of
 * at most 32 KiB of input that together give the records section. */
static void test_snappy_is_xerial(void)
{
    uint8_t *plain, *c;
    size_t plain_len, clen;
    c = big_with(RB_CODEC_SNAPPY, &clen, &plain, &plain_len);
    if (!c)
        return;
    const uint8_t *p = c + RB_HEADER_SIZE;
    size_t n = clen - RB_HEADER_SIZE;
    static const uint8_t header[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1,
                                       0,    0,   0,   1};
    if (!CHECK(n > 16) || !CHECK_EQ_MEM(p, header, 16))
        goto done;
    uint8_t *got = malloc(plain_len);
    size_t off = 16, got_len = 0;
    int blocks = 0;
    while (off + 4 <= n && blocks < 100) {
        size_t blen = be32_get(p + off), ulen = 0;
        off += 4;
        if (!CHECK(blen <= n - off))
            break;
        CHECK_EQ_INT(snappy_uncompressed_length((const char *)p + off, blen, &ulen), SNAPPY_OK);
        CHECK(ulen <= 32 * 1024);
        if (!CHECK(ulen <= plain_len - got_len))
            break;
        size_t out = ulen;
        CHECK_EQ_INT(snappy_uncompress((const char *)p + off, blen, (char *)got + got_len, &out),
                     SNAPPY_OK);
        got_len += out;
        off += blen;
        blocks++;
    }
    CHECK_EQ_INT(off, n);
    CHECK_EQ_INT(blocks, (plain_len + 32 * 1024 - 1) / (32 * 1024));
    if (CHECK_EQ_INT(got_len, plain_len))
        CHECK_EQ_MEM(got, plain, plain_len);
    free(got);
done:
    free(c);
    free(plain);
}

static void test_lz4_gzip_zstd_formats(void)
{
    uint8_t *plain, *c;
    size_t plain_len, clen;

    /* LZ4: the frame Kafka's Java client reads (version 01, independent blocks, no block
     * or content checksum, no content size, 64 KiB blocks), header checksum right. */
    c = big_with(RB_CODEC_LZ4, &clen, &plain, &plain_len);
    if (c) {
        const uint8_t *p = c + RB_HEADER_SIZE;
        static const uint8_t magic[4] = {0x04, 0x22, 0x4d, 0x18};
        CHECK_EQ_MEM(p, magic, 4);
        CHECK_EQ_INT(p[4], 0x60); /* FLG */
        CHECK_EQ_INT(p[5], 0x40); /* BD */
        LZ4F_dctx *d = NULL;
        LZ4F_frameInfo_t fi;
        size_t consumed = clen - RB_HEADER_SIZE;
        CHECK(!LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)));
        CHECK(!LZ4F_isError(LZ4F_getFrameInfo(d, &fi, p, &consumed)));
        CHECK_EQ_INT(fi.blockMode, LZ4F_blockIndependent);
        CHECK_EQ_INT(fi.blockSizeID, LZ4F_max64KB);
        CHECK_EQ_INT(fi.contentChecksumFlag, LZ4F_noContentChecksum);
        CHECK_EQ_INT(fi.blockChecksumFlag, LZ4F_noBlockChecksum);
        LZ4F_freeDecompressionContext(d);
        free(c);
        free(plain);
    }

    /* gzip: one gzip member, read here with zlib (gzip header only: 16 + 15). */
    c = big_with(RB_CODEC_GZIP, &clen, &plain, &plain_len);
    if (c) {
        const uint8_t *p = c + RB_HEADER_SIZE;
        CHECK(p[0] == 0x1f && p[1] == 0x8b && p[2] == 8);
        uint8_t *got = malloc(plain_len + 1);
        z_stream zs;
        memset(&zs, 0, sizeof(zs));
        CHECK_EQ_INT(inflateInit2(&zs, 16 + 15), Z_OK);
        zs.next_in = (Bytef *)p;
        zs.avail_in = (uInt)(clen - RB_HEADER_SIZE);
        zs.next_out = got;
        zs.avail_out = (uInt)plain_len + 1;
        CHECK_EQ_INT(inflate(&zs, Z_FINISH), Z_STREAM_END);
        if (CHECK_EQ_INT(zs.total_out, plain_len))
            CHECK_EQ_MEM(got, plain, plain_len);
        CHECK_EQ_INT(zs.avail_in, 0);
        inflateEnd(&zs);
        free(got);
        free(c);
        free(plain);
    }

    /* zstd: one frame, read here with zstd's one-shot decoder. */
    c = big_with(RB_CODEC_ZSTD, &clen, &plain, &plain_len);
    if (c) {
        const uint8_t *p = c + RB_HEADER_SIZE;
        CHECK_EQ_INT(ZSTD_getFrameContentSize(p, clen - RB_HEADER_SIZE), plain_len);
        CHECK_EQ_INT(ZSTD_findFrameCompressedSize(p, clen - RB_HEADER_SIZE),
                     clen - RB_HEADER_SIZE);
        uint8_t *got = malloc(plain_len);
        CHECK_EQ_INT(ZSTD_decompress(got, plain_len, p, clen - RB_HEADER_SIZE), plain_len);
        CHECK_EQ_MEM(got, plain, plain_len);
        free(got);
        free(c);
        free(plain);
    }
}

/* ---- what other writers send ---- */

/* Wraps `comp` as the records section of the small batch with `codec` and checks it walks
 * to the small batch's records; frees comp. */
static void check_foreign(int codec, uint8_t *comp, size_t comp_len)
{
    uint8_t *b = NULL;
    size_t len = build_small(&b), flen;
    uint8_t *f = make_batch(b, codec, comp, comp_len, &flen);
    rb_header h;
    CHECK_EQ_INT(rb_validate(f, flen, &h), RB_OK);
    check_plain(f, flen, b + RB_HEADER_SIZE, len - RB_HEADER_SIZE);
    check_walk(f, flen, 3, g_small_keys, g_small_values, 0);
    uint8_t *c = NULL;
    size_t clen = 0;
    if (CHECK_EQ_INT(rb_recompress(f, flen, RB_CODEC_NONE, MAX_OUT, &c, &clen), 0) &&
        CHECK_EQ_INT(clen, len))
        CHECK_EQ_MEM(c, b, len);
    free(c);
    free(f);
    free(b);
    free(comp);
}

static void test_raw_snappy_accepted(void)
{
    uint8_t *b = NULL;
    size_t len = build_small(&b), n = len - RB_HEADER_SIZE;
    size_t cap = snappy_max_compressed_length(n), clen = cap;
    uint8_t *comp = malloc(cap);
    CHECK_EQ_INT(snappy_compress((const char *)b + RB_HEADER_SIZE, n, (char *)comp, &clen),
                 SNAPPY_OK);
    CHECK(comp[0] != 0x82); /* not mistaken for the xerial framing */
    check_foreign(RB_CODEC_SNAPPY, comp, clen);
    free(b);
}

static void test_zlib_stream_accepted(void)
{
    uint8_t *b = NULL;
    size_t len = build_small(&b), n = len - RB_HEADER_SIZE;
    uLongf clen = compressBound(n);
    uint8_t *comp = malloc(clen);
    CHECK_EQ_INT(compress2(comp, &clen, b + RB_HEADER_SIZE, n, 9), Z_OK);
    check_foreign(RB_CODEC_GZIP, comp, clen);
    free(b);
}

/* A zstd frame without a content size (the Java client's streaming writer sends those),
 * and two frames back to back. */
static void test_zstd_streamed_frames_accepted(void)
{
    uint8_t *b = NULL;
    size_t len = build_small(&b), n = len - RB_HEADER_SIZE, half = n / 2;
    const uint8_t *rec = b + RB_HEADER_SIZE;
    size_t cap = 2 * ZSTD_compressBound(n);
    uint8_t *comp = malloc(cap);
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_outBuffer ob = {comp, cap, 0};
    ZSTD_inBuffer ib1 = {rec, half, 0}, ib2 = {rec + half, n - half, 0};
    CHECK(!ZSTD_isError(ZSTD_compressStream2(cc, &ob, &ib1, ZSTD_e_continue)));
    CHECK_EQ_INT(ZSTD_compressStream2(cc, &ob, &ib2, ZSTD_e_end), 0);
    CHECK_EQ_U64(ZSTD_getFrameContentSize(comp, ob.pos), ZSTD_CONTENTSIZE_UNKNOWN);
    ZSTD_freeCCtx(cc);
    check_foreign(RB_CODEC_ZSTD, comp, ob.pos);

    comp = malloc(cap);
    size_t c1 = ZSTD_compress(comp, cap, rec, half, 1);
    size_t c2 = ZSTD_compress(comp + c1, cap - c1, rec + half, n - half, 1);
    CHECK(!ZSTD_isError(c1) && !ZSTD_isError(c2));
    check_foreign(RB_CODEC_ZSTD, comp, c1 + c2);
    free(b);
}

/* ---- size caps ---- */

static void test_max_out(void)
{
    uint8_t *b = NULL;
    size_t len = build_big(&b), plain = len - RB_HEADER_SIZE;
    for (size_t i = 0; i < BROOK_ARRAY_LEN(g_codecs); i++) {
        int codec = g_codecs[i];
        uint8_t *c = NULL, *out = NULL;
        size_t clen = 0, out_len = 0;
        if (!CHECK_EQ_INT(rb_recompress(b, len, codec, MAX_OUT, &c, &clen), 0))
            continue;
        CHECK_EQ_INT(rb_decompress_records(c, clen, plain, &out, &out_len), 0);
        CHECK_EQ_INT(out_len, plain);
        free(out);
        out = (uint8_t *)"untouched";
        CHECK_EQ_INT(rb_decompress_records(c, clen, plain - 1, &out, &out_len), RB_ERR_TOO_BIG);
        CHECK(out == NULL);
        CHECK_EQ_INT(rb_decompress_records(c, clen, 1000, &out, &out_len), RB_ERR_TOO_BIG);
        CHECK_EQ_INT(rb_decompress_records(c, clen, 0, &out, &out_len), RB_ERR_TOO_BIG);
        uint8_t *r = NULL;
        size_t rlen = 0;
        CHECK_EQ_INT(rb_recompress(c, clen, RB_CODEC_NONE, plain - 1, &r, &rlen), RB_ERR_TOO_BIG);
        CHECK(r == NULL);
        CHECK_EQ_INT(rb_recompress(c, clen, RB_CODEC_NONE, plain, &r, &rlen), 0);
        free(r);
        seen s = {.stop_at = -1};
        /* An uncompressed batch is walked in place: max_out does not apply to it. */
        CHECK_EQ_INT(rb_for_each_record(c, clen, plain - 1, collect, &s),
                     codec == RB_CODEC_NONE ? 0 : RB_ERR_TOO_BIG);
        CHECK_EQ_INT(s.n, codec == RB_CODEC_NONE ? 5 : 0);
        seen_free(&s);
        free(c);
    }
    free(b);
}

/* 8 MiB of zeros, compressed by each codec to a few KiB, refused at a 64 KiB cap. */
static void test_bombs_refused(void)
{
    size_t n = 8u * 1024 * 1024;
    uint8_t *zeros = calloc(1, n);
    uint8_t hdr[RB_HEADER_SIZE];
    uint8_t *b = NULL;
    build_small(&b);
    memcpy(hdr, b, RB_HEADER_SIZE);
    free(b);
    for (int codec = RB_CODEC_GZIP; codec <= RB_CODEC_ZSTD; codec++) {
        uint8_t *comp = NULL, *out = NULL;
        size_t clen = 0, blen, out_len;
        if (!CHECK_EQ_INT(rb_codec_compress(codec, zeros, n, 0, &comp, &clen), 0))
            continue;
        CHECK(clen < n / 16); /* snappy shrinks zeros the least, about 21 times */
        uint8_t *bomb = make_batch(hdr, codec, comp, clen, &blen);
        CHECK_EQ_INT(rb_decompress_records(bomb, blen, 64 * 1024, &out, &out_len),
                     RB_ERR_TOO_BIG);
        seen s = {.stop_at = -1};
        CHECK_EQ_INT(rb_for_each_record(bomb, blen, 64 * 1024, collect, &s), RB_ERR_TOO_BIG);
        CHECK_EQ_INT(rb_codec_decompress(codec, comp, clen, n, &out, &out_len), 0);
        CHECK_EQ_INT(out_len, n);
        free(out);
        free(bomb);
        free(comp);
    }
    /* A raw snappy block declaring 2^32-1 bytes is refused before anything is allocated. */
    static const uint8_t liar[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
    uint8_t *out = NULL;
    size_t out_len = 0;
    CHECK_EQ_INT(rb_codec_decompress(RB_CODEC_SNAPPY, liar, sizeof(liar), MAX_OUT, &out,
                                     &out_len),
                 RB_ERR_TOO_BIG);
    free(zeros);
}

/* ---- hostile input ---- */

/* Prefix lengths k, k + step, ..., always ending with the longest one, n - 1. */
static size_t next_prefix(size_t k, size_t n, size_t step)
{
    return k + step < n || k + 1 >= n ? k + step : n - 1;
}

/* Every prefix of the batch's compressed records section, as an exact-size batch with a
 * valid CRC, is refused by rb_for_each_record and rb_recompress, and by
 * rb_decompress_records too, except a snappy-java stream cut between two blocks: that one
 * reads as the records' first blocks (a strict prefix of them), which framing refuses. */
static void check_prefixes(const uint8_t *c, size_t clen, int codec, size_t step)
{
    size_t n = clen - RB_HEADER_SIZE, plain_len = 0;
    uint8_t *plain = NULL;
    if (!CHECK_EQ_INT(rb_decompress_records(c, clen, MAX_OUT, &plain, &plain_len), 0))
        return;
    int bad = 0;
    for (size_t k = 0; k < n && bad < 5; k = next_prefix(k, n, step)) {
        size_t blen, out_len = 0;
        uint8_t *b = make_batch(c, codec, c + RB_HEADER_SIZE, k, &blen), *out = NULL;
        int rc = rb_decompress_records(b, blen, MAX_OUT, &out, &out_len);
        if (rc == 0) {
            bool at_block = codec == RB_CODEC_SNAPPY && out_len > 0 &&
                            out_len % (32 * 1024) == 0 && out_len < plain_len &&
                            memcmp(out, plain, out_len) == 0;
            if (!CHECK(at_block))
                bad++;
        } else if (!CHECK(rc < 0)) {
            bad++;
        }
        free(out);
        seen s = {.stop_at = -1};
        if (!CHECK(rb_for_each_record(b, blen, MAX_OUT, collect, &s) < 0) || !CHECK(s.n == 0))
            bad++;
        seen_free(&s);
        uint8_t *r = NULL;
        size_t rlen = 0;
        if (!CHECK(rb_recompress(b, blen, RB_CODEC_NONE, MAX_OUT, &r, &rlen) < 0))
            bad++;
        free(r);
        free(b);
        if (bad)
            printf("  codec %d, prefix of %zu of %zu bytes\n", codec, k, n);
    }
    free(plain);
}

static void test_truncated_prefixes_refused(void)
{
    uint8_t *small = NULL, *big = NULL;
    size_t slen = build_small(&small), blen = build_big(&big);
    for (int codec = RB_CODEC_GZIP; codec <= RB_CODEC_ZSTD; codec++) {
        uint8_t *c = NULL;
        size_t clen = 0;
        if (CHECK_EQ_INT(rb_recompress(small, slen, codec, MAX_OUT, &c, &clen), 0))
            check_prefixes(c, clen, codec, 1);
        free(c);
        c = NULL;
        if (CHECK_EQ_INT(rb_recompress(big, blen, codec, MAX_OUT, &c, &clen), 0))
            check_prefixes(c, clen, codec, 97);
        free(c);
    }
    free(small);
    free(big);
}

static void test_garbage_refused(void)
{
    uint8_t *b = NULL;
    build_small(&b);
    uint8_t hdr[RB_HEADER_SIZE];
    memcpy(hdr, b, RB_HEADER_SIZE);
    free(b);
    uint8_t junk[2048];
    for (int round = 0; round < 300; round++) {
        size_t n = (size_t)(tu_rand() % sizeof(junk));
        for (size_t i = 0; i < n; i++)
            junk[i] = (uint8_t)tu_rand();
        if (round % 3 == 1 && n >= 16) /* a snappy-java header over garbage blocks */
            memcpy(junk, "\x82SNAPPY\0\0\0\0\1\0\0\0\1", 16);
        for (int codec = RB_CODEC_GZIP; codec <= RB_CODEC_ZSTD; codec++) {
            size_t blen, out_len = 0;
            uint8_t *g = make_batch(hdr, codec, junk, n, &blen), *out = NULL;
            int rc = rb_decompress_records(g, blen, 64 * 1024, &out, &out_len);
            CHECK(rc <= 0 && (rc < 0 || out_len <= 64 * 1024));
            free(out);
            seen s = {.stop_at = -1};
            CHECK(rb_for_each_record(g, blen, 64 * 1024, collect, &s) < 0);
            CHECK_EQ_INT(s.n, 0);
            seen_free(&s);
            uint8_t *r = NULL;
            size_t rlen = 0;
            CHECK(rb_recompress(g, blen, RB_CODEC_GZIP, 64 * 1024, &r, &rlen) < 0);
            CHECK(r == NULL);
            free(g);
        }
    }
}

/* Each byte of the small batch's compressed sections flipped, CRC fixed: rb_for_each_record
 * returns an error or 0, never crashes or reads out of bounds. */
static void test_flipped_bytes_survive(void)
{
    uint8_t *b = NULL;
    size_t len = build_small(&b);
    for (int codec = RB_CODEC_GZIP; codec <= RB_CODEC_ZSTD; codec++) {
        uint8_t *c = NULL;
        size_t clen = 0;
        if (!CHECK_EQ_INT(rb_recompress(b, len, codec, MAX_OUT, &c, &clen), 0))
            continue;
        int refused = 0;
        for (size_t pos = RB_HEADER_SIZE; pos < clen; pos++) {
            uint8_t *m = malloc(clen);
            memcpy(m, c, clen);
            m[pos] ^= (uint8_t)(1u << (pos % 8));
            fix_crc(m, clen);
            seen s = {.stop_at = -1};
            int rc = rb_for_each_record(m, clen, 64 * 1024, collect, &s);
            CHECK(rc <= 0);
            refused += rc < 0;
            seen_free(&s);
            free(m);
        }
        CHECK(refused > 0);
        free(c);
    }
    free(b);
}

/* Bytes after the end of the compressed stream are refused, not ignored. */
static void test_trailing_bytes_refused(void)
{
    static const uint8_t tails[][8] = {{0}, {0, 0, 0}, {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4}};
    static const size_t tail_len[] = {1, 3, 8};
    uint8_t *b = NULL;
    size_t len = build_small(&b);
    for (int codec = RB_CODEC_GZIP; codec <= RB_CODEC_ZSTD; codec++) {
        uint8_t *c = NULL;
        size_t clen = 0;
        if (!CHECK_EQ_INT(rb_recompress(b, len, codec, MAX_OUT, &c, &clen), 0))
            continue;
        size_t n = clen - RB_HEADER_SIZE;
        uint8_t *sec = malloc(n + 8);
        memcpy(sec, c + RB_HEADER_SIZE, n);
        for (size_t t = 0; t < 3; t++) {
            memcpy(sec + n, tails[t], tail_len[t]);
            size_t tlen, out_len = 0;
            uint8_t *tb = make_batch(c, codec, sec, n + tail_len[t], &tlen), *out = NULL;
            CHECK_EQ_INT(rb_decompress_records(tb, tlen, MAX_OUT, &out, &out_len),
                         RB_ERR_DECOMPRESS);
            free(out);
            free(tb);
        }
        free(sec);
        free(c);
    }
    free(b);
}

/* A compressed section that decompresses fine but not to records_count records. */
static void test_count_mismatch_refused(void)
{
    uint8_t *b = NULL;
    size_t len = build_small(&b);
    for (int codec = RB_CODEC_GZIP; codec <= RB_CODEC_ZSTD; codec++) {
        uint8_t *c = NULL;
        size_t clen = 0;
        if (!CHECK_EQ_INT(rb_recompress(b, len, codec, MAX_OUT, &c, &clen), 0))
            continue;
        int counts[][2] = {{2, 1}, {4, 3}, {1000, 999}};
        for (size_t i = 0; i < 3; i++) {
            be32_put(c + RB_OFF_RECORDS_COUNT, (uint32_t)counts[i][0]);
            be32_put(c + RB_OFF_LAST_OFFSET_DELTA, (uint32_t)counts[i][1]);
            fix_crc(c, clen);
            rb_header h;
            CHECK_EQ_INT(rb_validate(c, clen, &h), RB_OK); /* compressed: not looked into */
            uint8_t *r = NULL;
            size_t rlen = 0;
            CHECK_EQ_INT(rb_recompress(c, clen, RB_CODEC_NONE, MAX_OUT, &r, &rlen),
                         RB_ERR_RECORDS);
            CHECK(r == NULL);
            seen s = {.stop_at = -1};
            CHECK_EQ_INT(rb_for_each_record(c, clen, MAX_OUT, collect, &s), RB_ERR_RECORDS);
            CHECK_EQ_INT(s.n, 0);
            seen_free(&s);
        }
        free(c);
    }
    free(b);
}

static void test_bad_batches_refused(void)
{
    uint8_t *b = NULL, *out = NULL, *r = NULL;
    size_t len = build_small(&b), out_len, rlen;
    seen s = {.stop_at = -1};
    CHECK_EQ_INT(rb_recompress(b, len, 5, MAX_OUT, &r, &rlen), RB_ERR_CODEC);
    CHECK_EQ_INT(rb_recompress(b, len, -1, MAX_OUT, &r, &rlen), RB_ERR_CODEC);
    CHECK_EQ_INT(rb_codec_decompress(7, b, len, MAX_OUT, &out, &out_len), RB_ERR_CODEC);
    CHECK_EQ_INT(rb_codec_compress(RB_CODEC_PRODUCER, b, len, 0, &out, &out_len), RB_ERR_CODEC);
    /* Short, cut, magic 1, codec 5 and 7, a batch declaring more bytes than given. */
    CHECK_EQ_INT(rb_decompress_records(b, 60, MAX_OUT, &out, &out_len), RB_ERR_SHORT);
    CHECK_EQ_INT(rb_for_each_record(b, 60, MAX_OUT, collect, &s), RB_ERR_SHORT);
    CHECK_EQ_INT(rb_for_each_record(b, len - 1, MAX_OUT, collect, &s), RB_ERR_SHORT);
    uint8_t *m = malloc(len);
    memcpy(m, b, len);
    m[RB_OFF_MAGIC] = 1;
    CHECK_EQ_INT(rb_decompress_records(m, len, MAX_OUT, &out, &out_len), RB_ERR_MAGIC);
    CHECK_EQ_INT(rb_for_each_record(m, len, MAX_OUT, collect, &s), RB_ERR_MAGIC);
    m[RB_OFF_MAGIC] = 2;
    for (int codec = 5; codec <= 7; codec++) {
        be16_put(m + RB_OFF_ATTRIBUTES, (uint16_t)codec);
        CHECK_EQ_INT(rb_decompress_records(m, len, MAX_OUT, &out, &out_len), RB_ERR_CODEC);
        CHECK_EQ_INT(rb_for_each_record(m, len, MAX_OUT, collect, &s), RB_ERR_CODEC);
    }
    be16_put(m + RB_OFF_ATTRIBUTES, 0);
    be32_put(m + RB_OFF_LENGTH, 1000);
    CHECK_EQ_INT(rb_decompress_records(m, len, MAX_OUT, &out, &out_len), RB_ERR_SHORT);
    be32_put(m + RB_OFF_LENGTH, 10);
    CHECK_EQ_INT(rb_for_each_record(m, len, MAX_OUT, collect, &s), RB_ERR_LENGTH);
    /* A CRC error is rb_recompress's to see (it validates); the walk trusts the caller. */
    memcpy(m, b, len);
    m[len - 1] ^= 1;
    CHECK_EQ_INT(rb_recompress(m, len, RB_CODEC_GZIP, MAX_OUT, &r, &rlen), RB_ERR_CRC);
    CHECK(r == NULL && out == NULL);
    CHECK_EQ_INT(s.n, 0);
    free(m);
    free(b);
}

/* ---- the walk ---- */

static void test_walk_stops_early(void)
{
    uint8_t *b = NULL;
    size_t len = build_big(&b);
    be64_put(b + RB_OFF_BASE_OFFSET, 500);
    for (size_t i = 0; i < BROOK_ARRAY_LEN(g_codecs); i++) {
        uint8_t *c = NULL;
        size_t clen = 0;
        if (!CHECK_EQ_INT(rb_recompress(b, len, g_codecs[i], MAX_OUT, &c, &clen), 0))
            continue;
        seen s = {.stop_at = 1};
        CHECK_EQ_INT(rb_for_each_record(c, clen, MAX_OUT, collect, &s), 7);
        CHECK_EQ_INT(s.n, 2);
        CHECK_EQ_INT(s.offset[0], 500);
        CHECK_EQ_INT(s.offset[1], 501);
        CHECK(s.key[1] == NULL);
        CHECK_EQ_STR(s.value[1], g_big_a);
        seen_free(&s);
        check_walk(c, clen, 5, g_big_keys, g_big_values, 500);
        free(c);
    }
    free(b);
}

TU_MAIN(TU_CASE(test_codec_names), TU_CASE(test_round_trip_every_codec),
        TU_CASE(test_recompress_every_pair), TU_CASE(test_header_fields_kept),
        TU_CASE(test_snappy_is_xerial), TU_CASE(test_lz4_gzip_zstd_formats),
        TU_CASE(test_raw_snappy_accepted), TU_CASE(test_zlib_stream_accepted),
        TU_CASE(test_zstd_streamed_frames_accepted), TU_CASE(test_max_out),
        TU_CASE(test_bombs_refused), TU_CASE(test_truncated_prefixes_refused),
        TU_CASE(test_garbage_refused), TU_CASE(test_flipped_bytes_survive),
        TU_CASE(test_trailing_bytes_refused),
        TU_CASE(test_count_mismatch_refused), TU_CASE(test_bad_batches_refused),
        TU_CASE(test_walk_stops_early))
