/* compress.c - see compress.h. */
#include "proto/compress.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define ZLIB_CONST
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "base/assert.h"
#include "base/buf.h"
#include "base/crc32c.h"

/* snappy-java's stream header: magic, then big-endian version and minimum compatible
 * version, both 1 as snappy-java writes them (a reader skips them). */
static const uint8_t CZ_XERIAL_MAGIC[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define CZ_XERIAL_HEADER 16
#define CZ_XERIAL_VERSION 1
/* Input bytes per xerial block: snappy-java's default block size. */
#define CZ_SNAPPY_BLOCK (32u * 1024)
/* Kafka's default zstd level (compression.zstd.level) and zstd's own default. */
#define CZ_ZSTD_LEVEL 3
/* The zstd window a frame may ask for, as a power of two. A frame without a content size
 * declares the window of its compression level whatever its real size (2 MiB at level 3,
 * 8 MiB up to level 19), so the floor admits those; the ceiling is zstd's own default
 * limit (128 MiB). Between them the window follows max_out: no back-reference reaches
 * farther than the output, so a window beyond max_out is never needed. */
#define CZ_ZSTD_WINDOW_LOG_MIN 23
#define CZ_ZSTD_WINDOW_LOG_MAX 27
/* Decompressed output is first given this much room (or 4 x the input), then doubled. */
#define CZ_OUT_FIRST 4096

int rb_codec_from_name(const char *name)
{
    if (!name)
        return -1;
    if (strcmp(name, "producer") == 0)
        return RB_CODEC_PRODUCER;
    for (int c = 0; c < RB_CODEC_COUNT; c++) {
        if (strcmp(name, rb_codec_name(c)) == 0)
            return c;
    }
    return -1;
}

const char *rb_codec_name(int codec)
{
    switch (codec) {
    case RB_CODEC_NONE: return "uncompressed";
    case RB_CODEC_GZIP: return "gzip";
    case RB_CODEC_SNAPPY: return "snappy";
    case RB_CODEC_LZ4: return "lz4";
    case RB_CODEC_ZSTD: return "zstd";
    case RB_CODEC_PRODUCER: return "producer";
    }
    return "unknown";
}

const char *rb_compress_result_name(int rc)
{
    switch (rc) {
    case RB_ERR_DECOMPRESS: return "corrupt or truncated compressed records";
    case RB_ERR_TOO_BIG: return "decompressed records too big";
    case RB_ERR_COMPRESS: return "compression failed";
    case RB_ERR_NOMEM: return "out of memory";
    }
    return rb_result_name(rc);
}

/* ---- decompression output ---- */

/* A decompression output buffer (owns p until cz_out_take). It never grows past limit =
 * max_out + 1 bytes: holding limit bytes proves the output is larger than max_out, so a
 * bomb costs at most that much memory. */
typedef struct cz_out {
    uint8_t *p;
    size_t len, cap, max, limit;
} cz_out;

/* Allocates the first room, `want` bytes but never more than the limit nor none. */
static int cz_out_init(cz_out *o, size_t max_out, size_t want)
{
    o->max = max_out;
    o->limit = max_out == SIZE_MAX ? SIZE_MAX : max_out + 1;
    if (want == 0)
        want = 1;
    o->cap = want < o->limit ? want : o->limit;
    o->len = 0;
    o->p = malloc(o->cap);
    return o->p ? 0 : RB_ERR_NOMEM;
}

/* Makes room for at least `extra` more bytes, doubling (up to the limit). RB_ERR_TOO_BIG
 * when the output would then pass max_out. */
static int cz_out_reserve(cz_out *o, size_t extra)
{
    BROOK_ASSERT(o->len <= o->cap && o->cap <= o->limit);
    if (extra <= o->cap - o->len)
        return 0;
    if (extra > o->limit - o->len)
        return RB_ERR_TOO_BIG;
    size_t cap = o->cap > o->limit / 2 ? o->limit : o->cap * 2;
    if (cap - o->len < extra)
        cap = o->len + extra;
    uint8_t *p = realloc(o->p, cap);
    if (!p)
        return RB_ERR_NOMEM;
    o->p = p;
    o->cap = cap;
    return 0;
}

/* Room for the next step of a streaming decoder: grows only when the buffer is full. */
static int cz_out_room(cz_out *o)
{
    return o->len < o->cap ? 0 : cz_out_reserve(o, 1);
}

/* Hands the buffer to the caller, or frees it and passes on rc. The size cap is checked
 * here once for every codec. */
static int cz_out_finish(cz_out *o, int rc, uint8_t **out, size_t *out_len)
{
    if (rc == 0 && o->len > o->max)
        rc = RB_ERR_TOO_BIG;
    if (rc != 0) {
        free(o->p);
        return rc;
    }
    *out = o->p;
    *out_len = o->len;
    return 0;
}

/* ---- gzip ---- */

/* One chunk of at most UINT_MAX bytes: zlib counts in uInt. */
static unsigned cz_uint(size_t n)
{
    return n > UINT_MAX ? UINT_MAX : (unsigned)n;
}

/* Inflates one gzip (or zlib) stream that must end exactly at the end of the input. Each
 * round consumes input, produces output or grows the buffer, so the loop is bounded by
 * in_len and the output limit. */
static int cz_gzip_decompress(const uint8_t *in, size_t in_len, cz_out *o)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 32 + 15) != Z_OK) /* 32: detect the gzip or zlib header */
        return RB_ERR_NOMEM;
    zs.next_in = in;
    size_t fed = 0;
    int rc = RB_ERR_DECOMPRESS;
    for (;;) {
        if (zs.avail_in == 0 && fed < in_len) {
            zs.next_in = in + fed;
            zs.avail_in = cz_uint(in_len - fed);
            fed += zs.avail_in;
        }
        int room = cz_out_room(o);
        if (room != 0) {
            rc = room;
            break;
        }
        zs.next_out = o->p + o->len;
        zs.avail_out = cz_uint(o->cap - o->len);
        unsigned before = zs.avail_out;
        int zr = inflate(&zs, Z_NO_FLUSH);
        o->len += before - zs.avail_out;
        if (zr == Z_STREAM_END) {
            rc = zs.avail_in == 0 && fed == in_len ? 0 : RB_ERR_DECOMPRESS;
            break;
        }
        if (zr == Z_MEM_ERROR) {
            rc = RB_ERR_NOMEM;
            break;
        }
        if (zr == Z_BUF_ERROR && zs.avail_out > 0)
            break; /* no progress with room left: the input ended early */
        if (zr != Z_OK && zr != Z_BUF_ERROR)
            break; /* corrupt data, a preset dictionary, a bad header */
    }
    inflateEnd(&zs);
    return rc;
}

/* Deflates into one gzip member (the level Java's GZIPOutputStream uses), after headroom
 * bytes, in a buffer of deflateBound's size so one Z_FINISH round completes it. */
static int cz_gzip_compress(const uint8_t *in, size_t in_len, size_t headroom, uint8_t **out,
                            size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return RB_ERR_NOMEM;
    size_t bound = deflateBound(&zs, (uLong)in_len);
    uint8_t *buf = malloc(headroom + bound);
    int rc = RB_ERR_NOMEM;
    if (!buf)
        goto end_deflate;
    zs.next_in = in;
    zs.avail_in = (uInt)in_len; /* in_len <= INT32_MAX, checked by rb_codec_compress */
    zs.next_out = buf + headroom;
    zs.avail_out = cz_uint(bound);
    rc = deflate(&zs, Z_FINISH) == Z_STREAM_END ? 0 : RB_ERR_COMPRESS;
    if (rc != 0) {
        free(buf);
        goto end_deflate;
    }
    *out = buf;
    *out_len = headroom + (size_t)zs.total_out;
end_deflate:
    deflateEnd(&zs);
    return rc;
}

/* ---- snappy ---- */

/* Appends one raw snappy block to o: its declared length is checked against max_out
 * before any room is made for it. */
static int cz_snappy_block(const uint8_t *in, size_t in_len, cz_out *o)
{
    size_t ulen;
    if (snappy_uncompressed_length((const char *)in, in_len, &ulen) != SNAPPY_OK)
        return RB_ERR_DECOMPRESS;
    if (ulen > o->max - o->len)
        return RB_ERR_TOO_BIG;
    int rc = cz_out_reserve(o, ulen);
    if (rc != 0)
        return rc;
    size_t got = ulen;
    if (snappy_uncompress((const char *)in, in_len, (char *)o->p + o->len, &got) != SNAPPY_OK ||
        got != ulen)
        return RB_ERR_DECOMPRESS;
    o->len += got;
    return 0;
}

/* Reads snappy-java's framing: the 16-byte header, then at least one block, each framed
 * exactly inside the input. Every round consumes at least 4 bytes. */
static int cz_xerial_decompress(const uint8_t *in, size_t in_len, cz_out *o)
{
    size_t off = CZ_XERIAL_HEADER;
    int blocks = 0;
    while (off < in_len) {
        if (in_len - off < 4)
            return RB_ERR_DECOMPRESS;
        size_t clen = be32_get(in + off);
        off += 4;
        if (clen > in_len - off)
            return RB_ERR_DECOMPRESS;
        int rc = cz_snappy_block(in + off, clen, o);
        if (rc != 0)
            return rc;
        off += clen;
        blocks++;
    }
    return blocks > 0 ? 0 : RB_ERR_DECOMPRESS;
}

static bool cz_is_xerial(const uint8_t *in, size_t in_len)
{
    return in_len >= CZ_XERIAL_HEADER && memcmp(in, CZ_XERIAL_MAGIC, 8) == 0;
}

/* Writes snappy-java's framing: header, then one block per CZ_SNAPPY_BLOCK input bytes
 * (one empty block for empty input, so that what is written always reads back). */
static int cz_snappy_compress(const uint8_t *in, size_t in_len, size_t headroom,
                              uint8_t **out, size_t *out_len)
{
    size_t blocks = in_len == 0 ? 1 : (in_len + CZ_SNAPPY_BLOCK - 1) / CZ_SNAPPY_BLOCK;
    size_t block_max = snappy_max_compressed_length(CZ_SNAPPY_BLOCK);
    size_t cap = headroom + CZ_XERIAL_HEADER + blocks * (4 + block_max);
    uint8_t *buf = malloc(cap);
    if (!buf)
        return RB_ERR_NOMEM;
    uint8_t *w = buf + headroom;
    memcpy(w, CZ_XERIAL_MAGIC, sizeof(CZ_XERIAL_MAGIC));
    be32_put(w + 8, CZ_XERIAL_VERSION);
    be32_put(w + 12, CZ_XERIAL_VERSION);
    w += CZ_XERIAL_HEADER;
    for (size_t b = 0; b < blocks; b++) {
        size_t off = b * CZ_SNAPPY_BLOCK;
        size_t n = in_len - off < CZ_SNAPPY_BLOCK ? in_len - off : CZ_SNAPPY_BLOCK;
        size_t clen = block_max;
        if (snappy_compress((const char *)in + off, n, (char *)w + 4, &clen) != SNAPPY_OK) {
            free(buf);
            return RB_ERR_COMPRESS;
        }
        BROOK_ASSERT(clen <= block_max);
        be32_put(w, (uint32_t)clen);
        w += 4 + clen;
    }
    *out = buf;
    *out_len = (size_t)(w - buf);
    return 0;
}

/* ---- lz4 ---- */

/* Decodes one LZ4 frame that must end exactly at the end of the input. Each round
 * consumes input, produces output or grows the buffer; a round doing none of these means
 * the input ended inside the frame. */
static int cz_lz4_decompress(const uint8_t *in, size_t in_len, cz_out *o)
{
    LZ4F_dctx *dctx;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
        return RB_ERR_NOMEM;
    size_t off = 0;
    int rc = RB_ERR_DECOMPRESS;
    for (;;) {
        int room = cz_out_room(o);
        if (room != 0) {
            rc = room;
            break;
        }
        size_t dst = o->cap - o->len, src = in_len - off;
        size_t hint = LZ4F_decompress(dctx, o->p + o->len, &dst, in + off, &src, NULL);
        if (LZ4F_isError(hint))
            break;
        off += src;
        o->len += dst;
        if (hint == 0) { /* the frame is complete */
            rc = off == in_len ? 0 : RB_ERR_DECOMPRESS;
            break;
        }
        if (src == 0 && dst == 0 && o->len < o->cap)
            break;
    }
    LZ4F_freeDecompressionContext(dctx);
    return rc;
}

/* One frame as Kafka's Java client writes it: 64 KiB independent blocks, no checksums
 * beyond the header's, no content size. */
static int cz_lz4_compress(const uint8_t *in, size_t in_len, size_t headroom, uint8_t **out,
                           size_t *out_len)
{
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
    prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
    size_t bound = LZ4F_compressFrameBound(in_len, &prefs);
    uint8_t *buf = malloc(headroom + bound);
    if (!buf)
        return RB_ERR_NOMEM;
    size_t n = LZ4F_compressFrame(buf + headroom, bound, in, in_len, &prefs);
    if (LZ4F_isError(n)) {
        free(buf);
        return RB_ERR_COMPRESS;
    }
    *out = buf;
    *out_len = headroom + n;
    return 0;
}

/* ---- zstd ---- */

/* The window log allowed for an output of at most max_out bytes (see CZ_ZSTD_WINDOW_*). */
static int cz_zstd_window_log(size_t max_out)
{
    int log = CZ_ZSTD_WINDOW_LOG_MIN;
    while (log < CZ_ZSTD_WINDOW_LOG_MAX && ((size_t)1 << log) < max_out)
        log++;
    return log;
}

/* Maps a zstd decoding error: a frame asking for more window than allowed is a size
 * refusal, an allocation failure is out of memory, anything else corrupt input. */
static int cz_zstd_error(size_t r)
{
    switch (ZSTD_getErrorCode(r)) {
    case ZSTD_error_frameParameter_windowTooLarge: return RB_ERR_TOO_BIG;
    case ZSTD_error_memory_allocation: return RB_ERR_NOMEM;
    default: return RB_ERR_DECOMPRESS;
    }
}

/* Decodes zstd frames back to back (as zstd's own tools do) with the streaming decoder,
 * since a frame need not carry its content size; the input must end with a complete
 * frame. Each round consumes input, produces output or grows the buffer; one doing none
 * with room left means the input ended inside a frame. */
static int cz_zstd_decompress(const uint8_t *in, size_t in_len, size_t max_out, cz_out *o)
{
    ZSTD_DStream *ds = ZSTD_createDStream();
    if (!ds)
        return RB_ERR_NOMEM;
    int rc = RB_ERR_DECOMPRESS;
    size_t r = ZSTD_DCtx_setParameter(ds, ZSTD_d_windowLogMax, cz_zstd_window_log(max_out));
    if (ZSTD_isError(r))
        goto free_stream;
    ZSTD_inBuffer ib = {in, in_len, 0};
    for (;;) {
        int room = cz_out_room(o);
        if (room != 0) {
            rc = room;
            break;
        }
        ZSTD_outBuffer ob = {o->p + o->len, o->cap - o->len, 0};
        size_t in_before = ib.pos;
        r = ZSTD_decompressStream(ds, &ob, &ib);
        if (ZSTD_isError(r)) {
            rc = cz_zstd_error(r);
            break;
        }
        o->len += ob.pos;
        if (r == 0 && ib.pos == ib.size) { /* a frame ended with the input */
            rc = 0;
            break;
        }
        if (ob.pos < ob.size && ib.pos == ib.size)
            break; /* flushed all it could: the input ended inside a frame */
        if (ob.pos == 0 && ib.pos == in_before)
            break;
    }
free_stream:
    ZSTD_freeDStream(ds);
    return rc;
}

/* One frame with the content size, at Kafka's default level. */
static int cz_zstd_compress(const uint8_t *in, size_t in_len, size_t headroom, uint8_t **out,
                            size_t *out_len)
{
    size_t bound = ZSTD_compressBound(in_len);
    uint8_t *buf = malloc(headroom + bound);
    if (!buf)
        return RB_ERR_NOMEM;
    size_t n = ZSTD_compress(buf + headroom, bound, in, in_len, CZ_ZSTD_LEVEL);
    if (ZSTD_isError(n)) {
        free(buf);
        return RB_ERR_COMPRESS;
    }
    *out = buf;
    *out_len = headroom + n;
    return 0;
}

/* ---- codecs on raw buffers ---- */

/* A first guess at the output's size: exact for a copy, else 4 x the input (at least
 * CZ_OUT_FIRST); the buffer doubles from there. */
static size_t cz_first_guess(int codec, size_t in_len)
{
    if (codec == RB_CODEC_NONE)
        return in_len;
    if (in_len > SIZE_MAX / 4)
        return SIZE_MAX;
    return in_len * 4 < CZ_OUT_FIRST ? CZ_OUT_FIRST : in_len * 4;
}

int rb_codec_decompress(int codec, const uint8_t *in, size_t in_len, size_t max_out,
                        uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (codec < 0 || codec >= RB_CODEC_COUNT)
        return RB_ERR_CODEC;
    if (codec == RB_CODEC_NONE && in_len > max_out)
        return RB_ERR_TOO_BIG;
    cz_out o;
    if (cz_out_init(&o, max_out, cz_first_guess(codec, in_len)) != 0)
        return RB_ERR_NOMEM;
    int rc = 0;
    switch (codec) {
    case RB_CODEC_NONE:
        rc = cz_out_reserve(&o, in_len);
        if (rc == 0 && in_len > 0) {
            memcpy(o.p, in, in_len);
            o.len = in_len;
        }
        break;
    case RB_CODEC_GZIP: rc = cz_gzip_decompress(in, in_len, &o); break;
    case RB_CODEC_SNAPPY:
        rc = cz_is_xerial(in, in_len) ? cz_xerial_decompress(in, in_len, &o)
                                      : cz_snappy_block(in, in_len, &o);
        break;
    case RB_CODEC_LZ4: rc = cz_lz4_decompress(in, in_len, &o); break;
    case RB_CODEC_ZSTD: rc = cz_zstd_decompress(in, in_len, max_out, &o); break;
    }
    return cz_out_finish(&o, rc, out, out_len);
}

int rb_codec_compress(int codec, const uint8_t *in, size_t in_len, size_t headroom,
                      uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (codec < 0 || codec >= RB_CODEC_COUNT)
        return RB_ERR_CODEC;
    if (in_len > INT32_MAX || headroom > INT32_MAX)
        return RB_ERR_TOO_BIG; /* more than any batch holds; keeps every bound in range */
    switch (codec) {
    case RB_CODEC_GZIP: return cz_gzip_compress(in, in_len, headroom, out, out_len);
    case RB_CODEC_SNAPPY: return cz_snappy_compress(in, in_len, headroom, out, out_len);
    case RB_CODEC_LZ4: return cz_lz4_compress(in, in_len, headroom, out, out_len);
    case RB_CODEC_ZSTD: return cz_zstd_compress(in, in_len, headroom, out, out_len);
    }
    uint8_t *buf = malloc(headroom + in_len + 1);
    if (!buf)
        return RB_ERR_NOMEM;
    if (in_len > 0)
        memcpy(buf + headroom, in, in_len);
    *out = buf;
    *out_len = headroom + in_len;
    return 0;
}

/* ---- batches ---- */

/* What this module relies on in a batch it did not validate itself: the header fits, magic
 * 2, batchLength matches len exactly, a known codec and at least one record (the checks
 * of rb_validate but the CRC's and the records'). */
static int cz_check_header(const uint8_t *batch, size_t len, rb_header *h)
{
    int rc = rb_parse_header(batch, len, h);
    if (rc != RB_OK)
        return rc;
    if (h->length < RB_HEADER_SIZE - RB_LOG_OVERHEAD)
        return RB_ERR_LENGTH;
    if (rb_total_size(h) > len)
        return RB_ERR_SHORT;
    if (h->magic != 2)
        return RB_ERR_MAGIC;
    if (rb_total_size(h) != len)
        return RB_ERR_LENGTH;
    if ((h->attributes & RB_ATTR_CODEC_MASK) >= RB_CODEC_COUNT)
        return RB_ERR_CODEC;
    if (h->last_offset_delta < 0 || h->records_count <= 0)
        return RB_ERR_RECORDS;
    return RB_OK;
}

int rb_decompress_records(const uint8_t *batch, size_t len, size_t max_out, uint8_t **out,
                          size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    rb_header h;
    int rc = cz_check_header(batch, len, &h);
    if (rc != RB_OK)
        return rc;
    return rb_codec_decompress(h.attributes & RB_ATTR_CODEC_MASK, batch + RB_HEADER_SIZE,
                               len - RB_HEADER_SIZE, max_out, out, out_len);
}

/* Fills the header of a rebuilt batch: the input's fields, the new codec bits, the new
 * length and a CRC-32C over the new bytes. */
static void cz_write_header(uint8_t *nb, size_t nlen, const uint8_t *batch, int codec)
{
    memcpy(nb, batch, RB_HEADER_SIZE);
    uint16_t attr = be16_get(batch + RB_OFF_ATTRIBUTES);
    attr = (uint16_t)((attr & ~RB_ATTR_CODEC_MASK) | (uint16_t)codec);
    be16_put(nb + RB_OFF_ATTRIBUTES, attr);
    be32_put(nb + RB_OFF_LENGTH, (uint32_t)(nlen - RB_LOG_OVERHEAD));
    be32_put(nb + RB_OFF_CRC, crc32c(0, nb + RB_OFF_ATTRIBUTES, nlen - RB_OFF_ATTRIBUTES));
}

int rb_recompress(const uint8_t *batch, size_t len, int codec, size_t max_out, uint8_t **out,
                  size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (codec < 0 || codec >= RB_CODEC_COUNT)
        return RB_ERR_CODEC;
    rb_header h;
    int rc = rb_validate(batch, len, &h);
    if (rc != RB_OK)
        return rc;
    uint8_t *plain;
    size_t plain_len;
    rc = rb_decompress_records(batch, len, max_out, &plain, &plain_len);
    if (rc != 0)
        return rc;
    rc = rb_check_records_section(&h, plain, plain_len);
    if (rc != RB_OK)
        goto free_plain;
    uint8_t *nb;
    size_t nlen;
    rc = rb_codec_compress(codec, plain, plain_len, RB_HEADER_SIZE, &nb, &nlen);
    if (rc != 0)
        goto free_plain;
    BROOK_ASSERT(nlen >= RB_HEADER_SIZE);
    if (nlen - RB_LOG_OVERHEAD > INT32_MAX) {
        free(nb);
        rc = RB_ERR_TOO_BIG;
        goto free_plain;
    }
    cz_write_header(nb, nlen, batch, codec);
    *out = nb;
    *out_len = nlen;
free_plain:
    free(plain);
    return rc;
}

int rb_for_each_record_in(const rb_header *h, const uint8_t *records, size_t len,
                          int (*cb)(void *ctx, int32_t index, const rb_record *r), void *ctx)
{
    int rc = rb_check_records_section(h, records, len);
    if (rc != RB_OK)
        return rc;
    rb_iter it;
    rb_iter_init_records(&it, h, records, len);
    for (int32_t i = 0; i < h->records_count && rc == 0; i++) {
        rb_record r;
        if (rb_iter_next(&it, &r) != 1)
            return RB_ERR_RECORDS; /* not reached: the framing was checked */
        rc = cb(ctx, i, &r);
    }
    return rc;
}

int rb_for_each_record(const uint8_t *batch, size_t len, size_t max_out,
                       int (*cb)(void *ctx, int32_t index, const rb_record *r), void *ctx)
{
    rb_header h;
    int rc = cz_check_header(batch, len, &h);
    if (rc != RB_OK)
        return rc;
    const uint8_t *records = batch + RB_HEADER_SIZE;
    size_t n = len - RB_HEADER_SIZE;
    uint8_t *owned = NULL;
    if ((h.attributes & RB_ATTR_CODEC_MASK) != RB_CODEC_NONE) {
        rc = rb_decompress_records(batch, len, max_out, &owned, &n);
        if (rc != 0)
            return rc;
        records = owned;
    }
    rc = rb_for_each_record_in(&h, records, n, cb, ctx);
    free(owned);
    return rc;
}
