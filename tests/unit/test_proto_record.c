/*
 * test_proto_record.c - RecordBatch v2 checks (proto/record.h): batches built by
 * rb_build_simple validate; every single-byte corruption under the CRC is caught; truncation,
 * bad magic, impossible lengths, wrong record counts and bad record framing are refused with
 * the right code; control batches have Kafka's exact marker layout.
 */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/crc32c.h"
#include "proto/record.h"
#include "testutil.h"

static const char *const g_keys[] = {"k0", NULL, "key-two"};
static const char *const g_values[] = {"v0", "value-1", NULL};

static size_t build3(uint8_t **out)
{
    return rb_build_simple(out, 3, g_keys, g_values, 1700000000000);
}

static void fix_crc(uint8_t *p, size_t len)
{
    be32_put(p + RB_OFF_CRC, crc32c(0, p + RB_OFF_ATTRIBUTES, len - RB_OFF_ATTRIBUTES));
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    if (n)
        memcpy(d, p, n);
    return d;
}

static void test_simple_validates(void)
{
    uint8_t *b = NULL;
    size_t len = build3(&b);
    if (!CHECK(len > RB_HEADER_SIZE && b != NULL))
        return;
    rb_header h;
    CHECK_EQ_INT(rb_validate(b, len, &h), RB_OK);
    CHECK_EQ_INT(h.base_offset, 0);
    CHECK_EQ_INT(h.length, len - RB_LOG_OVERHEAD);
    CHECK_EQ_INT(rb_total_size(&h), len);
    CHECK_EQ_INT(h.magic, 2);
    CHECK_EQ_INT(h.attributes, 0);
    CHECK_EQ_INT(h.last_offset_delta, 2);
    CHECK_EQ_INT(h.records_count, 3);
    CHECK_EQ_INT(h.base_timestamp, 1700000000000);
    CHECK_EQ_INT(h.max_timestamp, 1700000000000);
    CHECK_EQ_INT(h.producer_id, -1);
    CHECK_EQ_INT(h.producer_epoch, -1);
    CHECK_EQ_INT(h.base_sequence, -1);
    CHECK_EQ_U64(h.crc, crc32c(0, b + RB_OFF_ATTRIBUTES, len - RB_OFF_ATTRIBUTES));
    CHECK_EQ_INT(rb_last_offset(&h), 2);

    /* The records decode back to the keys and values given. */
    rd r;
    rd_init(&r, b + RB_HEADER_SIZE, len - RB_HEADER_SIZE);
    for (int i = 0; i < 3; i++) {
        int32_t rec_len = rd_varint(&r);
        size_t start = r.off;
        CHECK_EQ_INT(rd_i8(&r), 0);
        CHECK(rd_varlong(&r) == 0);
        CHECK_EQ_INT(rd_varint(&r), i);
        int32_t klen = rd_varint(&r);
        const uint8_t *k = klen > 0 ? rd_raw(&r, (size_t)klen) : NULL;
        if (g_keys[i])
            CHECK(klen == (int32_t)strlen(g_keys[i]) && k && memcmp(k, g_keys[i], klen) == 0);
        else
            CHECK_EQ_INT(klen, -1);
        int32_t vlen = rd_varint(&r);
        const uint8_t *v = vlen > 0 ? rd_raw(&r, (size_t)vlen) : NULL;
        if (g_values[i])
            CHECK(vlen == (int32_t)strlen(g_values[i]) && v && memcmp(v, g_values[i], vlen) == 0);
        else
            CHECK_EQ_INT(vlen, -1);
        CHECK_EQ_INT(rd_varint(&r), 0);
        CHECK_EQ_INT(r.off - start, rec_len);
    }
    CHECK_EQ_INT(r.err, RD_OK);
    CHECK_EQ_INT(rd_remaining(&r), 0);
    free(b);

    /* One record, no keys or values at all; and a value long enough for 2-byte varints. */
    len = rb_build_simple(&b, 1, NULL, NULL, 0);
    CHECK_EQ_INT(rb_validate(b, len, &h), RB_OK);
    CHECK_EQ_INT(h.records_count, 1);
    CHECK_EQ_INT(h.last_offset_delta, 0);
    free(b);
    char big[400];
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    const char *vals[] = {big};
    len = rb_build_simple(&b, 1, NULL, vals, 0);
    CHECK_EQ_INT(rb_validate(b, len, &h), RB_OK);
    free(b);
}

/* CRC-32C catches every error burst of 32 bits or less, so each of the 255 wrong values of
 * each byte in [crc, end) must give RB_ERR_CRC. */
static void test_every_byte_corruption_under_crc(void)
{
    uint8_t *b = NULL;
    size_t len = build3(&b);
    int missed = 0;
    for (size_t pos = RB_OFF_CRC; pos < len; pos++) {
        for (int x = 1; x < 256; x++) {
            b[pos] ^= (uint8_t)x;
            rb_header h;
            size_t size = 0;
            int v = rb_validate(b, len, &h);
            int s = rb_check_stored(b, len, &h, &size);
            if ((v != RB_ERR_CRC || s != RB_ERR_CRC) && missed++ < 5)
                printf("  byte %zu ^ 0x%02x: validate %s, check_stored %s\n", pos, x,
                       rb_result_name(v), rb_result_name(s));
            b[pos] ^= (uint8_t)x;
        }
    }
    CHECK_EQ_INT(missed, 0);
    rb_header h;
    CHECK_EQ_INT(rb_validate(b, len, &h), RB_OK);
    free(b);
}

/* baseOffset and partitionLeaderEpoch are outside the CRC: the broker patches them. */
static void test_fields_outside_crc(void)
{
    uint8_t *b = NULL;
    size_t len = build3(&b);
    rb_header h;
    rb_set_base_offset(b, 123456789012, 42);
    CHECK_EQ_INT(rb_validate(b, len, &h), RB_OK);
    CHECK_EQ_INT(h.base_offset, 123456789012);
    CHECK_EQ_INT(h.leader_epoch, 42);
    CHECK_EQ_INT(rb_last_offset(&h), 123456789014);
    for (size_t pos = 0; pos < RB_OFF_LENGTH; pos++) {
        b[pos] ^= 0xff;
        CHECK_EQ_INT(rb_validate(b, len, &h), RB_OK);
        b[pos] ^= 0xff;
    }
    for (size_t pos = RB_OFF_LEADER_EPOCH; pos < RB_OFF_MAGIC; pos++) {
        b[pos] ^= 0xff;
        CHECK_EQ_INT(rb_validate(b, len, &h), RB_OK);
        b[pos] ^= 0xff;
    }
    free(b);
}

static void test_truncated(void)
{
    uint8_t *b = NULL;
    size_t len = build3(&b);
    int wrong = 0;
    for (size_t n = 0; n < len; n++) {
        uint8_t *t = dup_bytes(b, n); /* exactly n bytes: ASan sees any overread */
        rb_header h;
        size_t size = 0;
        int v = rb_validate(t, n, &h);
        int s = rb_check_stored(t, n, &h, &size);
        if ((v != RB_ERR_SHORT || s != RB_ERR_SHORT) && wrong++ < 5)
            printf("  %zu of %zu bytes: validate %s, check_stored %s\n", n, len, rb_result_name(v),
                   rb_result_name(s));
        free(t);
    }
    CHECK_EQ_INT(wrong, 0);

    /* One byte more than the batch: fine for a stored log, not for a produced batch. */
    uint8_t *t = malloc(len + 1);
    memcpy(t, b, len);
    t[len] = 0;
    rb_header h;
    size_t size = 0;
    CHECK_EQ_INT(rb_validate(t, len + 1, &h), RB_ERR_LENGTH);
    CHECK_EQ_INT(rb_check_stored(t, len + 1, &h, &size), RB_OK);
    CHECK_EQ_INT(size, len);
    free(t);
    free(b);
}

static void test_bad_magic(void)
{
    uint8_t *b = NULL;
    size_t len = build3(&b);
    static const uint8_t magics[] = {0, 1, 3, 0x82, 0xff};
    for (size_t i = 0; i < sizeof(magics); i++) {
        b[RB_OFF_MAGIC] = magics[i];
        rb_header h;
        size_t size;
        CHECK_EQ_INT(rb_validate(b, len, &h), RB_ERR_MAGIC);
        CHECK_EQ_INT(rb_check_stored(b, len, &h, &size), RB_ERR_MAGIC);
    }
    free(b);
}

static void test_bad_length(void)
{
    uint8_t *b = NULL;
    size_t len = build3(&b);
    rb_header h;
    size_t size;
    static const int32_t too_small[] = {RB_HEADER_SIZE - RB_LOG_OVERHEAD - 1, 0, -1, INT32_MIN};
    for (size_t i = 0; i < sizeof(too_small) / sizeof(too_small[0]); i++) {
        be32_put(b + RB_OFF_LENGTH, (uint32_t)too_small[i]);
        CHECK_EQ_INT(rb_validate(b, len, &h), RB_ERR_LENGTH);
        CHECK_EQ_INT(rb_check_stored(b, len, &h, &size), RB_ERR_LENGTH);
    }
    static const int32_t too_big[] = {INT32_MAX, 1 << 20};
    for (size_t i = 0; i < sizeof(too_big) / sizeof(too_big[0]); i++) {
        be32_put(b + RB_OFF_LENGTH, (uint32_t)too_big[i]);
        CHECK_EQ_INT(rb_validate(b, len, &h), RB_ERR_SHORT);
        CHECK_EQ_INT(rb_check_stored(b, len, &h, &size), RB_ERR_SHORT);
    }
    be32_put(b + RB_OFF_LENGTH, (uint32_t)(len - RB_LOG_OVERHEAD + 1));
    CHECK_EQ_INT(rb_validate(b, len, &h), RB_ERR_SHORT);
    /* Shorter than the bytes present: the CRC over the shorter range no longer matches. */
    be32_put(b + RB_OFF_LENGTH, (uint32_t)(len - RB_LOG_OVERHEAD - 1));
    CHECK(rb_validate(b, len, &h) != RB_OK);
    /* A header-only batch (length 49) with a correct CRC has no records. */
    be32_put(b + RB_OFF_LENGTH, RB_HEADER_SIZE - RB_LOG_OVERHEAD);
    fix_crc(b, RB_HEADER_SIZE);
    CHECK_EQ_INT(rb_check_stored(b, RB_HEADER_SIZE, &h, &size), RB_OK);
    CHECK_EQ_INT(size, RB_HEADER_SIZE);
    CHECK_EQ_INT(rb_validate(b, RB_HEADER_SIZE, &h), RB_ERR_RECORDS);
    free(b);
}

static void set_i32_fix_crc(uint8_t *b, size_t len, size_t off, int32_t v)
{
    be32_put(b + off, (uint32_t)v);
    fix_crc(b, len);
}

static void test_wrong_record_count(void)
{
    uint8_t *b = NULL;
    size_t len = build3(&b);
    rb_header h;
    static const int32_t counts[] = {2, 4, 0, -1, INT32_MAX, INT32_MIN, 1000};
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        set_i32_fix_crc(b, len, RB_OFF_RECORDS_COUNT, counts[i]);
        if (!CHECK_EQ_INT(rb_validate(b, len, &h), RB_ERR_RECORDS))
            printf("  (recordsCount %d)\n", counts[i]);
    }
    set_i32_fix_crc(b, len, RB_OFF_RECORDS_COUNT, 3);
    CHECK_EQ_INT(rb_validate(b, len, &h), RB_OK);

    static const int32_t deltas[] = {0, 1, 3, -1, INT32_MAX};
    for (size_t i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
        set_i32_fix_crc(b, len, RB_OFF_LAST_OFFSET_DELTA, deltas[i]);
        if (!CHECK_EQ_INT(rb_validate(b, len, &h), RB_ERR_RECORDS))
            printf("  (lastOffsetDelta %d)\n", deltas[i]);
    }
    free(b);

    len = rb_build_simple(&b, 0, NULL, NULL, 0);
    CHECK_EQ_INT(rb_validate(b, len, &h), RB_ERR_RECORDS);
    free(b);
}

/* ---- hand-framed records ---- */

/* Wraps raw record bytes in a batch header with the given count and a correct CRC. */
static size_t frame_batch(uint8_t **out, const wr *recs, int32_t count, int16_t attributes)
{
    size_t len = RB_HEADER_SIZE + recs->len;
    uint8_t *b = calloc(1, len);
    be32_put(b + RB_OFF_LENGTH, (uint32_t)(len - RB_LOG_OVERHEAD));
    b[RB_OFF_MAGIC] = 2;
    be16_put(b + RB_OFF_ATTRIBUTES, (uint16_t)attributes);
    be32_put(b + RB_OFF_LAST_OFFSET_DELTA, (uint32_t)(count - 1));
    be64_put(b + RB_OFF_PRODUCER_ID, (uint64_t)-1);
    be32_put(b + RB_OFF_RECORDS_COUNT, (uint32_t)count);
    if (recs->len)
        memcpy(b + RB_HEADER_SIZE, recs->p, recs->len);
    fix_crc(b, len);
    *out = b;
    return len;
}

/* Appends one record; body_extra adds bytes inside the record, len_adjust lies about its
 * length. Header fields: keys "h0".., values alternate null / "v". */
typedef struct rec_spec {
    int32_t offset_delta;
    int32_t klen; /* -1 null; the key is 'k' repeated */
    int32_t nheaders;
    int32_t hkey_len; /* for every header */
    int body_extra;
    int len_adjust;
} rec_spec;

static void add_record(wr *w, rec_spec s)
{
    wr rec;
    wr_init(&rec, 64);
    wr_i8(&rec, 0);
    wr_varlong(&rec, 5);
    wr_varint(&rec, s.offset_delta);
    wr_varint(&rec, s.klen);
    for (int32_t i = 0; i < s.klen; i++)
        wr_i8(&rec, 'k');
    wr_varint(&rec, 1);
    wr_i8(&rec, 'v');
    wr_varint(&rec, s.nheaders);
    for (int32_t i = 0; i < s.nheaders; i++) {
        wr_varint(&rec, s.hkey_len);
        for (int32_t k = 0; k < s.hkey_len; k++)
            wr_i8(&rec, 'h');
        if (i % 2 == 0) {
            wr_varint(&rec, -1);
        } else {
            wr_varint(&rec, 1);
            wr_i8(&rec, 'x');
        }
    }
    for (int i = 0; i < s.body_extra; i++)
        wr_i8(&rec, 0);
    wr_varint(w, (int32_t)rec.len + s.len_adjust);
    wr_raw(w, rec.p, rec.len);
    wr_free(&rec);
}

static int validate_records(const rec_spec *specs, int n, int32_t count, int trailing)
{
    wr w;
    wr_init(&w, 64);
    for (int i = 0; i < n; i++)
        add_record(&w, specs[i]);
    for (int i = 0; i < trailing; i++)
        wr_i8(&w, 0);
    uint8_t *b = NULL;
    size_t len = frame_batch(&b, &w, count, 0);
    wr_free(&w);
    rb_header h;
    int rc = rb_validate(b, len, &h);
    free(b);
    return rc;
}

static void test_record_framing(void)
{
    const rec_spec good0 = {0, 3, 0, 1, 0, 0};
    const rec_spec good1 = {1, -1, 3, 2, 0, 0};
    const rec_spec good2 = {2, 0, 1, 0, 0, 0};
    rec_spec rs[3] = {good0, good1, good2};
    CHECK_EQ_INT(validate_records(rs, 3, 3, 0), RB_OK);
    CHECK_EQ_INT(validate_records(rs, 3, 2, 0), RB_ERR_RECORDS); /* one record too many */
    CHECK_EQ_INT(validate_records(rs, 2, 3, 0), RB_ERR_RECORDS); /* one record missing */
    CHECK_EQ_INT(validate_records(rs, 3, 3, 1), RB_ERR_RECORDS); /* garbage after them */

    rs[1].offset_delta = 2; /* deltas must count 0, 1, 2 */
    CHECK_EQ_INT(validate_records(rs, 3, 3, 0), RB_ERR_RECORDS);
    rs[1] = good1;

    rs[1].body_extra = 1; /* a byte inside the record that no field owns */
    CHECK_EQ_INT(validate_records(rs, 3, 3, 0), RB_ERR_RECORDS);
    rs[1] = good1;

    rs[2].len_adjust = 1; /* the last record claims one byte more than the batch has */
    CHECK_EQ_INT(validate_records(rs, 3, 3, 0), RB_ERR_RECORDS);
    rs[2] = good2;

    rs[0].len_adjust = -1; /* a record shorter than its fields */
    CHECK_EQ_INT(validate_records(rs, 3, 3, 0), RB_ERR_RECORDS);
    rs[0] = good0;

    rs[0].klen = -2; /* an impossible key length */
    CHECK_EQ_INT(validate_records(rs, 1, 1, 0), RB_ERR_RECORDS);
    rs[0] = good0;

    rs[1].hkey_len = -1; /* header keys are never null */
    CHECK_EQ_INT(validate_records(rs, 3, 3, 0), RB_ERR_RECORDS);
    rs[1] = good1;

    rs[1].nheaders = -1;
    CHECK_EQ_INT(validate_records(rs, 3, 3, 0), RB_ERR_RECORDS);
    rs[1] = good1;

    /* A negative record length. */
    wr w;
    wr_init(&w, 16);
    wr_varint(&w, -5);
    uint8_t *b = NULL;
    size_t len = frame_batch(&b, &w, 1, 0);
    rb_header h;
    CHECK_EQ_INT(rb_validate(b, len, &h), RB_ERR_RECORDS);
    free(b);
    wr_free(&w);

    CHECK_EQ_INT(validate_records(rs, 3, 3, 0), RB_OK);
}

/* Compressed batches are stored as sent: the records are not parsed, only the codec id. */
static void test_codecs(void)
{
    wr w;
    wr_init(&w, 16);
    wr_raw(&w, "\x13\x37 not really compressed", 24);
    for (int codec = 0; codec < 8; codec++) {
        uint8_t *b = NULL;
        size_t len = frame_batch(&b, &w, 5, (int16_t)codec);
        rb_header h;
        int want = codec == 0 ? RB_ERR_RECORDS : codec <= 4 ? RB_OK : RB_ERR_CODEC;
        if (!CHECK_EQ_INT(rb_validate(b, len, &h), want))
            printf("  (codec %d)\n", codec);
        free(b);
    }
    /* Attribute bits other than the codec do not change that. */
    uint8_t *b = NULL;
    size_t len = frame_batch(&b, &w, 5, 0x4 | RB_ATTR_TRANSACTIONAL | RB_ATTR_LOG_APPEND_TIME);
    rb_header h;
    CHECK_EQ_INT(rb_validate(b, len, &h), RB_OK);
    free(b);
    wr_free(&w);
}

static void check_control(enum rb_control_type type)
{
    uint8_t b[RB_CONTROL_BATCH_SIZE + 8];
    memset(b, 0xee, sizeof(b));
    rb_build_control(b, 1234567, 9, type, 77, 1700000000123);
    CHECK_EQ_INT(b[RB_CONTROL_BATCH_SIZE], 0xee); /* nothing written past the batch */
    rb_header h;
    CHECK_EQ_INT(rb_validate(b, RB_CONTROL_BATCH_SIZE, &h), RB_OK);
    CHECK_EQ_INT(rb_total_size(&h), RB_CONTROL_BATCH_SIZE);
    CHECK_EQ_INT(h.attributes, RB_ATTR_TRANSACTIONAL | RB_ATTR_CONTROL);
    CHECK_EQ_INT(h.producer_id, 1234567);
    CHECK_EQ_INT(h.producer_epoch, 9);
    CHECK_EQ_INT(h.base_sequence, -1);
    CHECK_EQ_INT(h.records_count, 1);
    CHECK_EQ_INT(h.last_offset_delta, 0);
    CHECK_EQ_INT(h.base_timestamp, 1700000000123);
    CHECK_EQ_INT(h.max_timestamp, 1700000000123);

    /* The key is exactly 00 00 00 0X (kafkajs compares the four bytes). */
    static const uint8_t abort_key[] = {0, 0, 0, 0}, commit_key[] = {0, 0, 0, 1};
    const uint8_t *want_key = type == RB_CONTROL_COMMIT ? commit_key : abort_key;
    rd r;
    rd_init(&r, b + RB_HEADER_SIZE, RB_CONTROL_BATCH_SIZE - RB_HEADER_SIZE);
    CHECK_EQ_INT(rd_varint(&r), 16);
    CHECK_EQ_INT(rd_i8(&r), 0);
    CHECK(rd_varlong(&r) == 0);
    CHECK_EQ_INT(rd_varint(&r), 0);
    CHECK_EQ_INT(rd_varint(&r), 4);
    const uint8_t *key = rd_raw(&r, 4);
    if (CHECK(key != NULL))
        CHECK_EQ_MEM(key, want_key, 4);
    CHECK_EQ_INT(rd_varint(&r), 6);
    CHECK_EQ_INT(rd_i16(&r), 0);  /* value version */
    CHECK_EQ_INT(rd_i32(&r), 77); /* coordinator epoch */
    CHECK_EQ_INT(rd_varint(&r), 0);
    CHECK_EQ_INT(r.err, RD_OK);
    CHECK_EQ_INT(rd_remaining(&r), 0);
    CHECK_EQ_MEM(b + 66, want_key, 4); /* the fixed position tools rely on */
}

static void test_control_batches(void)
{
    check_control(RB_CONTROL_ABORT);
    check_control(RB_CONTROL_COMMIT);
    /* The two differ only in the key and the CRC. */
    uint8_t a[RB_CONTROL_BATCH_SIZE], c[RB_CONTROL_BATCH_SIZE];
    rb_build_control(a, 1, 0, RB_CONTROL_ABORT, 0, 0);
    rb_build_control(c, 1, 0, RB_CONTROL_COMMIT, 0, 0);
    int diff = 0;
    for (size_t i = 0; i < sizeof(a); i++)
        diff += a[i] != c[i] && (i < RB_OFF_CRC || i >= RB_OFF_ATTRIBUTES);
    CHECK_EQ_INT(diff, 1);
}

static void test_log_append_time(void)
{
    uint8_t *b = NULL;
    size_t len = build3(&b);
    rb_set_log_append_time(b, len, 1800000000000);
    rb_header h;
    CHECK_EQ_INT(rb_validate(b, len, &h), RB_OK);
    CHECK(h.attributes & RB_ATTR_LOG_APPEND_TIME);
    CHECK_EQ_INT(h.max_timestamp, 1800000000000);
    CHECK_EQ_INT(h.base_timestamp, 1700000000000);
    free(b);
}

/* Recovery's walk: whole batches one after another, then a torn tail. */
static void test_stored_walk(void)
{
    uint8_t *b1 = NULL, *b3 = NULL;
    size_t l1 = build3(&b1);
    size_t l3 = rb_build_simple(&b3, 1, NULL, g_values, 5);
    uint8_t ctl[RB_CONTROL_BATCH_SIZE];
    rb_build_control(ctl, 7, 1, RB_CONTROL_COMMIT, 3, 5);
    size_t total = l1 + sizeof(ctl) + l3 + l1 / 2;
    uint8_t *log = malloc(total);
    memcpy(log, b1, l1);
    memcpy(log + l1, ctl, sizeof(ctl));
    memcpy(log + l1 + sizeof(ctl), b3, l3);
    memcpy(log + l1 + sizeof(ctl) + l3, b1, l1 / 2);
    size_t off = 0;
    int batches = 0, rc = RB_OK;
    while (off < total) {
        rb_header h;
        size_t size = 0;
        rc = rb_check_stored(log + off, total - off, &h, &size);
        if (rc != RB_OK)
            break;
        batches++;
        off += size;
    }
    CHECK_EQ_INT(batches, 3);
    CHECK_EQ_INT(rc, RB_ERR_SHORT);
    CHECK_EQ_INT(off, l1 + sizeof(ctl) + l3);
    free(log);
    free(b1);
    free(b3);
}

static void test_result_names(void)
{
    static const int codes[] = {RB_OK,         RB_ERR_SHORT,   RB_ERR_MAGIC, RB_ERR_CRC,
                                RB_ERR_LENGTH, RB_ERR_RECORDS, RB_ERR_CODEC};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        const char *n = rb_result_name(codes[i]);
        CHECK(n != NULL && *n != '\0' && strcmp(n, "unknown") != 0);
        for (size_t k = 0; k < i; k++)
            CHECK(strcmp(n, rb_result_name(codes[k])) != 0);
    }
    CHECK_EQ_STR(rb_result_name(-99), "unknown");
    CHECK_EQ_STR(rb_result_name(1), "unknown");
}

TU_MAIN(TU_CASE(test_simple_validates), TU_CASE(test_every_byte_corruption_under_crc),
        TU_CASE(test_fields_outside_crc), TU_CASE(test_truncated), TU_CASE(test_bad_magic),
        TU_CASE(test_bad_length), TU_CASE(test_wrong_record_count), TU_CASE(test_record_framing),
        TU_CASE(test_codecs), TU_CASE(test_control_batches), TU_CASE(test_log_append_time),
        TU_CASE(test_stored_walk), TU_CASE(test_result_names))
