/* record.c - see record.h. */
#include "proto/record.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/buf.h"
#include "base/crc32c.h"

int rb_parse_header(const uint8_t *p, size_t len, rb_header *h)
{
    if (len < RB_HEADER_SIZE)
        return RB_ERR_SHORT;
    h->base_offset = (int64_t)be64_get(p + RB_OFF_BASE_OFFSET);
    h->length = (int32_t)be32_get(p + RB_OFF_LENGTH);
    h->leader_epoch = (int32_t)be32_get(p + RB_OFF_LEADER_EPOCH);
    h->magic = (int8_t)p[RB_OFF_MAGIC];
    h->crc = be32_get(p + RB_OFF_CRC);
    h->attributes = (int16_t)be16_get(p + RB_OFF_ATTRIBUTES);
    h->last_offset_delta = (int32_t)be32_get(p + RB_OFF_LAST_OFFSET_DELTA);
    h->base_timestamp = (int64_t)be64_get(p + RB_OFF_BASE_TIMESTAMP);
    h->max_timestamp = (int64_t)be64_get(p + RB_OFF_MAX_TIMESTAMP);
    h->producer_id = (int64_t)be64_get(p + RB_OFF_PRODUCER_ID);
    h->producer_epoch = (int16_t)be16_get(p + RB_OFF_PRODUCER_EPOCH);
    h->base_sequence = (int32_t)be32_get(p + RB_OFF_BASE_SEQUENCE);
    h->records_count = (int32_t)be32_get(p + RB_OFF_RECORDS_COUNT);
    return RB_OK;
}

int rb_check_stored(const uint8_t *p, size_t len, rb_header *h, size_t *size_out)
{
    int rc = rb_parse_header(p, len, h);
    if (rc != RB_OK)
        return rc;
    if (h->length < RB_HEADER_SIZE - RB_LOG_OVERHEAD)
        return RB_ERR_LENGTH;
    size_t total = rb_total_size(h);
    if (total > len)
        return RB_ERR_SHORT;
    if (h->magic != 2)
        return RB_ERR_MAGIC;
    if (crc32c(0, p + RB_OFF_ATTRIBUTES, total - RB_OFF_ATTRIBUTES) != h->crc)
        return RB_ERR_CRC;
    *size_out = total;
    return RB_OK;
}

/* Walks a records section: each record must frame exactly inside its declared length,
 * offset deltas must count up from 0, and the count must match the header. A count above
 * the section's byte count is refused before the walk (every record takes bytes). */
int rb_check_records_section(const rb_header *h, const uint8_t *records, size_t len)
{
    rd r;
    rd_init(&r, records, len);
    if (h->records_count < 0 || (size_t)h->records_count > len)
        return RB_ERR_RECORDS;
    for (int32_t i = 0; i < h->records_count; i++) {
        int32_t rec_len = rd_varint(&r);
        if (r.err || rec_len < 0 || (size_t)rec_len > rd_remaining(&r))
            return RB_ERR_RECORDS;
        rd rec;
        rd_init(&rec, rd_cur(&r), (size_t)rec_len);
        rd_skip(&r, (size_t)rec_len);
        (void)rd_i8(&rec);       /* attributes */
        (void)rd_varlong(&rec);  /* timestamp delta */
        if (rd_varint(&rec) != i) /* offset delta */
            return RB_ERR_RECORDS;
        int32_t klen = rd_varint(&rec);
        if (klen < -1)
            return RB_ERR_RECORDS;
        if (klen > 0)
            rd_skip(&rec, (size_t)klen);
        int32_t vlen = rd_varint(&rec);
        if (vlen < -1)
            return RB_ERR_RECORDS;
        if (vlen > 0)
            rd_skip(&rec, (size_t)vlen);
        int32_t nh = rd_varint(&rec);
        if (nh < 0 || (size_t)nh > rd_remaining(&rec))
            return RB_ERR_RECORDS;
        for (int32_t k = 0; k < nh && !rec.err; k++) {
            int32_t hk = rd_varint(&rec);
            if (hk < 0)
                return RB_ERR_RECORDS;
            rd_skip(&rec, (size_t)hk);
            int32_t hv = rd_varint(&rec);
            if (hv < -1)
                return RB_ERR_RECORDS;
            if (hv > 0)
                rd_skip(&rec, (size_t)hv);
        }
        if (rec.err || rd_remaining(&rec) != 0)
            return RB_ERR_RECORDS;
    }
    if (r.err || rd_remaining(&r) != 0)
        return RB_ERR_RECORDS;
    if (h->records_count > 0 && h->last_offset_delta != h->records_count - 1)
        return RB_ERR_RECORDS;
    return RB_OK;
}

/* The records of an uncompressed batch start right after its header. */
static int rb_check_records(const uint8_t *p, size_t len, const rb_header *h)
{
    return rb_check_records_section(h, p + RB_HEADER_SIZE, len - RB_HEADER_SIZE);
}

int rb_validate(const uint8_t *p, size_t len, rb_header *h)
{
    size_t total;
    int rc = rb_check_stored(p, len, h, &total);
    if (rc != RB_OK)
        return rc;
    if (total != len)
        return RB_ERR_LENGTH;
    if (h->last_offset_delta < 0 || h->records_count <= 0)
        return RB_ERR_RECORDS;
    int codec = h->attributes & RB_ATTR_CODEC_MASK;
    if (codec > 4)
        return RB_ERR_CODEC;
    if (codec == 0)
        return rb_check_records(p, len, h);
    return RB_OK;
}

const char *rb_result_name(int rc)
{
    switch (rc) {
    case RB_OK: return "ok";
    case RB_ERR_SHORT: return "truncated batch";
    case RB_ERR_MAGIC: return "magic is not 2";
    case RB_ERR_CRC: return "CRC-32C mismatch";
    case RB_ERR_LENGTH: return "bad batch length";
    case RB_ERR_RECORDS: return "records do not match the batch header";
    case RB_ERR_CODEC: return "unknown compression codec";
    }
    return "unknown";
}

void rb_set_base_offset(uint8_t *p, int64_t base_offset, int32_t leader_epoch)
{
    be64_put(p + RB_OFF_BASE_OFFSET, (uint64_t)base_offset);
    be32_put(p + RB_OFF_LEADER_EPOCH, (uint32_t)leader_epoch);
}

void rb_set_log_append_time(uint8_t *p, size_t len, int64_t now_ms)
{
    uint16_t attr = be16_get(p + RB_OFF_ATTRIBUTES);
    be16_put(p + RB_OFF_ATTRIBUTES, (uint16_t)(attr | RB_ATTR_LOG_APPEND_TIME));
    be64_put(p + RB_OFF_MAX_TIMESTAMP, (uint64_t)now_ms);
    be32_put(p + RB_OFF_CRC, crc32c(0, p + RB_OFF_ATTRIBUTES, len - RB_OFF_ATTRIBUTES));
}

static void rb_finish(uint8_t *p, size_t total)
{
    be32_put(p + RB_OFF_LENGTH, (uint32_t)(total - RB_LOG_OVERHEAD));
    be32_put(p + RB_OFF_CRC, crc32c(0, p + RB_OFF_ATTRIBUTES, total - RB_OFF_ATTRIBUTES));
}

size_t rb_build_control_seq(uint8_t *out, int64_t producer_id, int16_t producer_epoch,
                            enum rb_control_type type, int32_t coordinator_epoch,
                            int64_t txn_seq, int64_t ts_ms)
{
    bool seq = txn_seq > 0;
    size_t total = seq ? RB_CONTROL_BATCH_SIZE_SEQ : RB_CONTROL_BATCH_SIZE;
    uint8_t vlen = seq ? 14 : 6;
    memset(out, 0, total);
    out[RB_OFF_MAGIC] = 2;
    be16_put(out + RB_OFF_ATTRIBUTES, RB_ATTR_TRANSACTIONAL | RB_ATTR_CONTROL);
    be64_put(out + RB_OFF_BASE_TIMESTAMP, (uint64_t)ts_ms);
    be64_put(out + RB_OFF_MAX_TIMESTAMP, (uint64_t)ts_ms);
    be64_put(out + RB_OFF_PRODUCER_ID, (uint64_t)producer_id);
    be16_put(out + RB_OFF_PRODUCER_EPOCH, (uint16_t)producer_epoch);
    be32_put(out + RB_OFF_BASE_SEQUENCE, 0xffffffffu);
    be32_put(out + RB_OFF_RECORDS_COUNT, 1);
    /* One record: len, attrs, tsDelta, offDelta, key(4), value(6 or 14), headers(0). */
    uint8_t *r = out + RB_HEADER_SIZE;
    r[0] = (uint8_t)((10 + vlen) << 1); /* zigzag: bytes after this varint */
    r[1] = 0;                           /* attributes */
    r[2] = 0;                           /* timestamp delta */
    r[3] = 0;                           /* offset delta */
    r[4] = 4 << 1;                      /* key length 4 */
    be16_put(r + 5, 0);
    be16_put(r + 7, (uint16_t)type);
    r[9] = (uint8_t)(vlen << 1);
    be16_put(r + 10, 0);
    be32_put(r + 12, (uint32_t)coordinator_epoch);
    if (seq)
        be64_put(r + 16, (uint64_t)txn_seq);
    r[10 + vlen] = 0; /* header count */
    rb_finish(out, total);
    BROOK_ASSERT((size_t)(RB_HEADER_SIZE + 11 + vlen) == total);
    return total;
}

void rb_build_control(uint8_t *out, int64_t producer_id, int16_t producer_epoch,
                      enum rb_control_type type, int32_t coordinator_epoch, int64_t ts_ms)
{
    (void)rb_build_control_seq(out, producer_id, producer_epoch, type, coordinator_epoch, 0,
                               ts_ms);
}

size_t rb_build_simple(uint8_t **out, int count, const char *const *keys,
                       const char *const *values, int64_t base_ts_ms)
{
    wr w;
    wr_init(&w, 256);
    uint8_t hdr[RB_HEADER_SIZE] = {0};
    hdr[RB_OFF_MAGIC] = 2;
    be32_put(hdr + RB_OFF_LAST_OFFSET_DELTA, (uint32_t)(count - 1));
    be64_put(hdr + RB_OFF_BASE_TIMESTAMP, (uint64_t)base_ts_ms);
    be64_put(hdr + RB_OFF_MAX_TIMESTAMP, (uint64_t)base_ts_ms);
    be64_put(hdr + RB_OFF_PRODUCER_ID, (uint64_t)-1);
    be16_put(hdr + RB_OFF_PRODUCER_EPOCH, 0xffff);
    be32_put(hdr + RB_OFF_BASE_SEQUENCE, 0xffffffffu);
    be32_put(hdr + RB_OFF_RECORDS_COUNT, (uint32_t)count);
    wr_raw(&w, hdr, sizeof(hdr));
    for (int i = 0; i < count; i++) {
        wr rec;
        wr_init(&rec, 64);
        wr_i8(&rec, 0);
        wr_varlong(&rec, 0);
        wr_varint(&rec, i);
        const char *k = keys ? keys[i] : NULL;
        const char *v = values ? values[i] : NULL;
        wr_varint(&rec, k ? (int32_t)strlen(k) : -1);
        if (k)
            wr_raw(&rec, k, strlen(k));
        wr_varint(&rec, v ? (int32_t)strlen(v) : -1);
        if (v)
            wr_raw(&rec, v, strlen(v));
        wr_varint(&rec, 0);
        wr_varint(&w, (int32_t)rec.len);
        wr_raw(&w, rec.p, rec.len);
        wr_free(&rec);
    }
    if (w.oom) {
        wr_free(&w);
        return 0;
    }
    rb_finish(w.p, w.len);
    size_t len;
    *out = wr_take(&w, &len);
    return len;
}

int rb_iter_init(rb_iter *it, const uint8_t *batch, size_t len)
{
    if (rb_parse_header(batch, len, &it->h) != RB_OK || (it->h.attributes & RB_ATTR_CODEC_MASK))
        return -1;
    it->p = batch;
    it->len = len;
    it->off = RB_HEADER_SIZE;
    it->left = it->h.records_count;
    return 0;
}

void rb_iter_init_records(rb_iter *it, const rb_header *h, const uint8_t *records, size_t len)
{
    it->p = records;
    it->len = len;
    it->off = 0;
    it->left = h->records_count;
    it->h = *h;
}

int rb_iter_next(rb_iter *it, rb_record *out)
{
    if (it->left <= 0)
        return 0;
    rd r;
    rd_init(&r, it->p + it->off, it->len - it->off);
    int32_t rec_len = rd_varint(&r);
    if (r.err || rec_len < 0 || (size_t)rec_len > rd_remaining(&r))
        return -1;
    size_t body = r.off;
    (void)rd_i8(&r);
    out->timestamp = it->h.base_timestamp + rd_varlong(&r);
    out->offset = it->h.base_offset + rd_varint(&r);
    int32_t kl = rd_varint(&r);
    out->key = kl >= 0 ? rd_raw(&r, (size_t)kl) : NULL;
    out->key_len = kl;
    int32_t vl = rd_varint(&r);
    out->value = vl >= 0 ? rd_raw(&r, (size_t)vl) : NULL;
    out->value_len = vl;
    if (r.err || kl < -1 || vl < -1)
        return -1;
    it->off += body + (size_t)rec_len;
    it->left--;
    return 1;
}

size_t rb_build_kv(uint8_t **out, const void *key, size_t key_len, const void *value,
                   size_t value_len, int64_t ts_ms)
{
    wr w;
    wr_init(&w, RB_HEADER_SIZE + key_len + value_len + 32);
    uint8_t hdr[RB_HEADER_SIZE] = {0};
    hdr[RB_OFF_MAGIC] = 2;
    be64_put(hdr + RB_OFF_BASE_TIMESTAMP, (uint64_t)ts_ms);
    be64_put(hdr + RB_OFF_MAX_TIMESTAMP, (uint64_t)ts_ms);
    be64_put(hdr + RB_OFF_PRODUCER_ID, (uint64_t)-1);
    be16_put(hdr + RB_OFF_PRODUCER_EPOCH, 0xffff);
    be32_put(hdr + RB_OFF_BASE_SEQUENCE, 0xffffffffu);
    be32_put(hdr + RB_OFF_RECORDS_COUNT, 1);
    wr_raw(&w, hdr, sizeof(hdr));
    wr rec;
    wr_init(&rec, key_len + value_len + 16);
    wr_i8(&rec, 0);
    wr_varlong(&rec, 0);
    wr_varint(&rec, 0);
    wr_varint(&rec, (int32_t)key_len);
    wr_raw(&rec, key, key_len);
    wr_varint(&rec, (int32_t)value_len);
    wr_raw(&rec, value, value_len);
    wr_varint(&rec, 0);
    wr_varint(&w, (int32_t)rec.len);
    wr_raw(&w, rec.p, rec.len);
    bool oom = rec.oom || w.oom;
    wr_free(&rec);
    if (oom) {
        wr_free(&w);
        return 0;
    }
    rb_finish(w.p, w.len);
    size_t len;
    *out = wr_take(&w, &len);
    return len;
}
