/*
 * record.h - Kafka RecordBatch v2 (magic 2): header parsing, validation, control batches.
 *
 * Owns: the batch layout (61-byte header), CRC-32C checking, record framing checks for
 * uncompressed batches, and building commit/abort control batches.
 * Never: decompresses (proto/compress.h does, on top of rb_check_records_section and
 * rb_iter_init_records) or touches disk.
 *
 * Layout (offsets from batch start): baseOffset i64 @0, batchLength i32 @8,
 * partitionLeaderEpoch i32 @12, magic i8 @16, crc u32 @17 (over [21, end)),
 * attributes i16 @21, lastOffsetDelta i32 @23, baseTimestamp i64 @27, maxTimestamp i64 @35,
 * producerId i64 @43, producerEpoch i16 @51, baseSequence i32 @53, recordsCount i32 @57.
 */
#ifndef BROOK_PROTO_RECORD_H
#define BROOK_PROTO_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RB_HEADER_SIZE 61
#define RB_LOG_OVERHEAD 12 /* baseOffset + batchLength */
#define RB_OFF_BASE_OFFSET 0
#define RB_OFF_LENGTH 8
#define RB_OFF_LEADER_EPOCH 12
#define RB_OFF_MAGIC 16
#define RB_OFF_CRC 17
#define RB_OFF_ATTRIBUTES 21
#define RB_OFF_LAST_OFFSET_DELTA 23
#define RB_OFF_BASE_TIMESTAMP 27
#define RB_OFF_MAX_TIMESTAMP 35
#define RB_OFF_PRODUCER_ID 43
#define RB_OFF_PRODUCER_EPOCH 51
#define RB_OFF_BASE_SEQUENCE 53
#define RB_OFF_RECORDS_COUNT 57

#define RB_ATTR_CODEC_MASK 0x07
#define RB_ATTR_LOG_APPEND_TIME 0x08
#define RB_ATTR_TRANSACTIONAL 0x10
#define RB_ATTR_CONTROL 0x20

/* Internal results of batch checks (never sent on the wire as such). */
enum rb_result {
    RB_OK = 0,
    RB_ERR_SHORT = -1,      /* fewer bytes than the header or the declared length */
    RB_ERR_MAGIC = -2,      /* magic is not 2 */
    RB_ERR_CRC = -3,        /* CRC-32C mismatch */
    RB_ERR_LENGTH = -4,     /* batchLength impossible */
    RB_ERR_RECORDS = -5,    /* records do not frame exactly, or counts disagree */
    RB_ERR_CODEC = -6,      /* unknown compression codec */
};

typedef struct rb_header {
    int64_t base_offset;
    int32_t length; /* batchLength: bytes after the length field */
    int32_t leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t records_count;
} rb_header;

/* Parses the fixed header of the batch at p (len bytes available). Checks only that the
 * header fits; returns RB_OK or RB_ERR_SHORT. */
int rb_parse_header(const uint8_t *p, size_t len, rb_header *h);
/* Total size of the batch on the wire/disk (RB_LOG_OVERHEAD + length). */
static inline size_t rb_total_size(const rb_header *h)
{
    return (size_t)RB_LOG_OVERHEAD + (size_t)h->length;
}
static inline int64_t rb_last_offset(const rb_header *h)
{
    return h->base_offset + h->last_offset_delta;
}

/* Full validation of one batch occupying exactly [p, p+len): header, magic 2, length,
 * CRC-32C and, for uncompressed batches, that every record frames exactly and the record
 * count and offset deltas agree. Returns an rb_result. */
int rb_validate(const uint8_t *p, size_t len, rb_header *h);
/* Checks only length, magic and CRC of the batch at p with at most len bytes present:
 * what recovery needs to find a torn tail. On RB_OK *size_out is the batch size. */
int rb_check_stored(const uint8_t *p, size_t len, rb_header *h, size_t *size_out);
const char *rb_result_name(int rc);
/* The record framing check rb_validate applies to an uncompressed batch, on a records
 * section held apart from its header (borrowed, [records, records+len)): exactly
 * h->records_count records, each framing exactly, offset deltas 0, 1, ..., and
 * lastOffsetDelta = count - 1. Returns RB_OK or RB_ERR_RECORDS. */
int rb_check_records_section(const rb_header *h, const uint8_t *records, size_t len);

/* Rewrites baseOffset and partitionLeaderEpoch in place (outside the CRC). */
void rb_set_base_offset(uint8_t *p, int64_t base_offset, int32_t leader_epoch);
/* Stamps LogAppendTime into maxTimestamp (and the attribute) and recomputes the CRC. */
void rb_set_log_append_time(uint8_t *p, size_t len, int64_t now_ms);

/* Control record types. */
enum rb_control_type { RB_CONTROL_ABORT = 0, RB_CONTROL_COMMIT = 1 };
#define RB_CONTROL_BATCH_SIZE 78
/* A marker that also carries the coordinator's transaction sequence. */
#define RB_CONTROL_BATCH_SIZE_SEQ 86
/* Writes a commit/abort marker batch (one record) into out[RB_CONTROL_BATCH_SIZE]: the
 * record's value is Kafka's (version 0, coordinator epoch). */
void rb_build_control(uint8_t *out, int64_t producer_id, int16_t producer_epoch,
                      enum rb_control_type type, int32_t coordinator_epoch, int64_t ts_ms);
/* The same with txn_seq > 0 appended to the value (version 0, coordinator epoch, then the
 * transaction sequence int64), into out[RB_CONTROL_BATCH_SIZE_SEQ]; with txn_seq <= 0 it is
 * rb_build_control. Kafka's readers take the version and epoch and ignore what follows
 * (clients read only a control record's key). Returns the batch size written. */
size_t rb_build_control_seq(uint8_t *out, int64_t producer_id, int16_t producer_epoch,
                            enum rb_control_type type, int32_t coordinator_epoch,
                            int64_t txn_seq, int64_t ts_ms);

/* Iterates the records of an uncompressed batch (validated), or of a records section
 * decompressed by proto/compress.h and checked with rb_check_records_section. */
typedef struct rb_record {
    int64_t offset, timestamp;
    const uint8_t *key, *value; /* NULL when null */
    int32_t key_len, value_len;
} rb_record;
typedef struct rb_iter {
    const uint8_t *p;
    size_t len, off;
    int32_t left;
    rb_header h;
} rb_iter;
/* Returns 0, or -1 when the batch is compressed or too short. */
int rb_iter_init(rb_iter *it, const uint8_t *batch, size_t len);
/* Iterates a records section held apart from its header (borrowed, [records, records+len)),
 * e.g. a decompressed one; offsets and timestamps are relative to *h (copied). */
void rb_iter_init_records(rb_iter *it, const rb_header *h, const uint8_t *records, size_t len);
/* Returns 1 with *out filled, 0 at the end, -1 on a malformed record. */
int rb_iter_next(rb_iter *it, rb_record *out);
/* Builds a batch of one record (key, value) with no producer; malloc'd. */
size_t rb_build_kv(uint8_t **out, const void *key, size_t key_len, const void *value,
                   size_t value_len, int64_t ts_ms);

/* Builds an uncompressed batch of `count` records with the given keys/values (NULL key =
 * null) into a malloc'd buffer; for tests and tools. Returns size or 0 on OOM. */
size_t rb_build_simple(uint8_t **out, int count, const char *const *keys,
                       const char *const *values, int64_t base_ts_ms);

#endif
