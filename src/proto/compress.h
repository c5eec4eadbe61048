/*
 * compress.h - the compressed records section of a RecordBatch v2 (magic 2).
 *
 * Owns: Kafka's five codecs (attribute bits 0-2) as they appear on the wire, their topic
 * config names (compression.type), decompressing a batch's records section under a size
 * cap, building the same batch with its records compressed with another codec, and walking
 * the records of a compressed batch.
 * Never: trusts a declared size (every output is capped by the caller's max_out, every loop
 * is bounded by its input), touches disk, or changes a batch in place.
 *
 * Wire formats, as Kafka's clients write and read them:
 *  - gzip: one gzip member (RFC 1952). Decompression also takes a zlib stream.
 *  - snappy: the Java client writes snappy-java's "xerial" framing: the 8 bytes
 *    0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00, a big-endian int32 version (1) and minimum
 *    compatible version (1), then blocks of [big-endian int32 compressed size][raw snappy
 *    block], each block holding at most 32 KiB of input (snappy-java's default block
 *    size). librdkafka writes one raw snappy block instead. Both are read; the xerial
 *    framing is written.
 *  - lz4: one LZ4 frame (version 01, independent 64 KiB blocks, no block or content
 *    checksum, no content size: the frame Kafka's Java client writes and the only block
 *    mode it reads), with the correct header checksum of magic-2 batches.
 *  - zstd: zstd frames (content size optional), read with the streaming decoder.
 *
 * Ownership: every input is borrowed; every output is malloc'd and handed to the caller,
 * who frees it. On error no output is returned (*out is left NULL).
 */
#ifndef BROOK_PROTO_COMPRESS_H
#define BROOK_PROTO_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "proto/record.h"

/* Codec ids = the batch attribute bits 0-2. */
enum rb_codec {
    RB_CODEC_NONE = 0,
    RB_CODEC_GZIP = 1,
    RB_CODEC_SNAPPY = 2,
    RB_CODEC_LZ4 = 3,
    RB_CODEC_ZSTD = 4
};
#define RB_CODEC_COUNT 5
/* rb_codec_from_name's answer for compression.type=producer (keep the producer's codec). */
#define RB_CODEC_PRODUCER (-2)

/* Results of this module, after record.h's RB_OK .. RB_ERR_CODEC (-6), which it also
 * returns (a batch it cannot parse, an unknown codec, records that do not frame). */
enum rb_compress_result {
    RB_ERR_DECOMPRESS = -7, /* the compressed bytes are corrupt, truncated or not the codec's */
    RB_ERR_TOO_BIG = -8,    /* the decompressed records exceed max_out, or a batch 2 GiB */
    RB_ERR_COMPRESS = -9,   /* the compression library failed */
    RB_ERR_NOMEM = -10,     /* out of memory */
};

/* Kafka's topic compression.type names (exact, lower case): "uncompressed" -> RB_CODEC_NONE,
 * "gzip", "snappy", "lz4", "zstd" -> their codec; "producer" -> RB_CODEC_PRODUCER (-2);
 * anything else, NULL included -> -1. */
int rb_codec_from_name(const char *name);
/* The inverse: the compression.type name of a codec id or RB_CODEC_PRODUCER ("unknown" for
 * anything else). Never NULL; the string is static. */
const char *rb_codec_name(int codec);
/* Names rb_result_name's codes and this module's; never NULL. */
const char *rb_compress_result_name(int rc);

/* Decompresses in_len bytes compressed with `codec` (RB_CODEC_NONE copies them) into a
 * malloc'd buffer the caller frees (*out, *out_len; a 0-byte output still gets a buffer).
 * Output larger than max_out is refused with RB_ERR_TOO_BIG, after at most max_out + 1
 * bytes were allocated for it (decompression bombs). Borrows in. Returns 0, RB_ERR_CODEC,
 * RB_ERR_DECOMPRESS (corrupt or truncated input, trailing bytes), RB_ERR_TOO_BIG or
 * RB_ERR_NOMEM. */
int rb_codec_decompress(int codec, const uint8_t *in, size_t in_len, size_t max_out,
                        uint8_t **out, size_t *out_len);
/* Compresses in_len bytes with `codec` in the wire format above into a malloc'd buffer the
 * caller frees: `headroom` uninitialised bytes (room for a header), then the compressed
 * bytes; *out_len counts both. RB_CODEC_NONE copies. Borrows in. Returns 0, RB_ERR_CODEC,
 * RB_ERR_COMPRESS, RB_ERR_TOO_BIG (input past what a codec frames) or RB_ERR_NOMEM. */
int rb_codec_compress(int codec, const uint8_t *in, size_t in_len, size_t headroom,
                      uint8_t **out, size_t *out_len);

/* Decompresses the records section (the bytes after the 61-byte header) of the batch at
 * [batch, batch+len) (already checked by rb_validate; this checks again only the header's
 * magic, length = len, a known codec and a positive record count, not the CRC) into a
 * malloc'd buffer the caller frees (*out, *out_len). An uncompressed batch gives a copy of
 * its records section. Output larger than max_out is refused (RB_ERR_TOO_BIG). Borrows
 * batch. Returns 0 or a negative RB_ERR_* code. */
int rb_decompress_records(const uint8_t *batch, size_t len, size_t max_out, uint8_t **out,
                          size_t *out_len);
/* Builds a new batch (malloc'd, caller frees *out of *out_len bytes): the same header
 * fields as the input (base offset, leader epoch, producer id/epoch, base sequence,
 * timestamps, record count, last offset delta, every attribute bit but the codec's) with
 * the records section compressed with `codec` (RB_CODEC_NONE = uncompressed), the codec
 * bits set to it, batchLength and CRC-32C recomputed. The input goes through rb_validate
 * (so a corrupt batch never gets a fresh CRC), its records are decompressed under max_out
 * and must frame exactly records_count records (rb_check_records_section, else
 * RB_ERR_RECORDS). Borrows batch. Returns 0 or a negative RB_ERR_* code. */
int rb_recompress(const uint8_t *batch, size_t len, int codec, size_t max_out, uint8_t **out,
                  size_t *out_len);

/* Calls cb for each record of the batch in order (index 0..count-1), compressed or not,
 * after checking the header as rb_decompress_records does and the records' framing as
 * rb_check_records_section does (so cb never sees a record of a malformed batch).
 * r->offset is base offset + offset delta, r->timestamp base timestamp + timestamp delta;
 * r's key/value pointers are valid only during the call. Stops early when cb returns
 * non-zero and returns that value; returns 0 at the end, or a negative RB_ERR_* code when
 * the batch cannot be decompressed (under max_out; an uncompressed batch is read in place
 * and max_out does not apply) or a record is malformed. Borrows batch. */
int rb_for_each_record(const uint8_t *batch, size_t len, size_t max_out,
                       int (*cb)(void *ctx, int32_t index, const rb_record *r), void *ctx);
/* The same walk over a records section already at hand (h's batch's, uncompressed or
 * inflated by the caller): its framing is checked first (rb_check_records_section).
 * Borrows records. */
int rb_for_each_record_in(const rb_header *h, const uint8_t *records, size_t len,
                          int (*cb)(void *ctx, int32_t index, const rb_record *r), void *ctx);

#endif
