/*
 * test_base_buf.c - the bounds-checked reader and the growable writer (base/buf.h): every
 * getter at its boundaries, error latching, varint/zigzag edge values and length limits,
 * classic versus compact strings, bytes and arrays, and writer roundtrips.
 */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/limits.h"
#include "testutil.h"

/* A byte-array literal and its size, as two arguments: rd_init(&r, BYTES(1, 2)). */
#define BYTES(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

static rd rd_flex(const uint8_t *p, size_t n)
{
    rd r;
    rd_init(&r, p, n);
    r.flex = true;
    return r;
}

static void test_fixed_ints_min_max(void)
{
    rd r;
    rd_init(&r, BYTES(0x80, 0x80, 0x00, 0x80, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff,
                      0xff, 0x00, 0x01, 0xff));
    CHECK_EQ_INT(rd_i8(&r), INT8_MIN);
    CHECK_EQ_INT(rd_i16(&r), INT16_MIN);
    CHECK_EQ_INT(rd_i32(&r), INT32_MIN);
    CHECK(rd_i64(&r) == INT64_MIN);
    CHECK_EQ_U64(rd_u32(&r), UINT32_MAX);
    CHECK(rd_bool(&r) == false);
    CHECK(rd_bool(&r) == true);
    CHECK(rd_bool(&r) == true); /* any non-zero byte is true, as in Kafka */
    CHECK_EQ_INT(r.err, RD_OK);
    CHECK_EQ_INT(rd_remaining(&r), 0);

    rd_init(&r, BYTES(0x7f, 0x7f, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff,
                      0xff, 0xff, 0x12, 0x34, 0x56, 0x78));
    CHECK_EQ_INT(rd_i8(&r), INT8_MAX);
    CHECK_EQ_INT(rd_i16(&r), INT16_MAX);
    CHECK_EQ_INT(rd_i32(&r), INT32_MAX);
    CHECK(rd_i64(&r) == INT64_MAX);
    CHECK_EQ_U64(rd_u32(&r), 0x12345678u);
    CHECK_EQ_INT(r.err, RD_OK);
    CHECK_EQ_INT(rd_remaining(&r), 0);
}

typedef int64_t (*getter_fn)(rd *r);
static int64_t get_i8(rd *r) { return rd_i8(r); }
static int64_t get_i16(rd *r) { return rd_i16(r); }
static int64_t get_i32(rd *r) { return rd_i32(r); }
static int64_t get_i64(rd *r) { return rd_i64(r); }
static int64_t get_u32(rd *r) { return rd_u32(r); }
static int64_t get_bool(rd *r) { return rd_bool(r); }

/* Each fixed-width getter, given one byte too few (down to none), returns 0, latches
 * RD_UNDERFLOW and consumes nothing; with exactly enough it succeeds. The input is a heap
 * copy of exactly n bytes so that AddressSanitizer sees any overread. */
static void test_fixed_ints_underflow(void)
{
    static const struct {
        const char *name;
        getter_fn fn;
        size_t width;
    } g[] = {{"i8", get_i8, 1},   {"i16", get_i16, 2}, {"i32", get_i32, 4},
             {"i64", get_i64, 8}, {"u32", get_u32, 4}, {"bool", get_bool, 1}};
    for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
        for (size_t n = 0; n <= g[i].width; n++) {
            uint8_t *p = malloc(n ? n : 1);
            memset(p, 0x11, n ? n : 1);
            rd r;
            rd_init(&r, p, n);
            int64_t v = g[i].fn(&r);
            if (n < g[i].width) {
                int bad = !CHECK_EQ_INT(v, 0);
                bad += !CHECK_EQ_INT(r.err, RD_UNDERFLOW);
                bad += !CHECK_EQ_INT(r.off, 0);
                bad += !CHECK_EQ_INT(rd_remaining(&r), 0);
                if (bad)
                    printf("  (getter %s with %zu bytes)\n", g[i].name, n);
            } else {
                CHECK(v != 0);
                CHECK_EQ_INT(r.err, RD_OK);
                CHECK_EQ_INT(r.off, n);
            }
            free(p);
        }
    }
}

/* After the first error every getter returns zero/null and consumes nothing, even when the
 * bytes it wants are present; the first error code is the one kept. */
static void test_error_latches(void)
{
    rd r;
    rd_init(&r, BYTES(0, 0, 0, 1, 0, 0, 0, 2));
    CHECK_EQ_INT(rd_i32(&r), 1);
    (void)rd_i64(&r);
    CHECK_EQ_INT(r.err, RD_UNDERFLOW);
    CHECK_EQ_INT(r.off, 4);
    CHECK_EQ_INT(rd_i8(&r), 0);
    CHECK_EQ_INT(rd_i16(&r), 0);
    CHECK_EQ_INT(rd_i32(&r), 0);
    CHECK_EQ_INT(rd_uvarint(&r), 0);
    CHECK(rd_raw(&r, 1) == NULL);
    kslice s = rd_str(&r);
    CHECK_SLICE(s, NULL);
    CHECK_EQ_INT(rd_array(&r, 1), -1);
    CHECK_EQ_INT(r.off, 4);
    CHECK_EQ_INT(r.err, RD_UNDERFLOW);

    /* A bad varint stays the error when an underflow follows. */
    rd_init(&r, BYTES(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01));
    (void)rd_uvarint(&r);
    CHECK_EQ_INT(r.err, RD_BAD_VARINT);
    (void)rd_i64(&r);
    CHECK_EQ_INT(r.err, RD_BAD_VARINT);

    /* So does a bad length. */
    rd_init(&r, BYTES(0, 0, 0, 9, 1));
    CHECK_EQ_INT(rd_array(&r, 1), -1);
    CHECK_EQ_INT(r.err, RD_BAD_LENGTH);
    (void)rd_i32(&r);
    CHECK_EQ_INT(r.err, RD_BAD_LENGTH);
}

static void test_skip_and_raw(void)
{
    rd r;
    rd_init(&r, BYTES(1, 2, 3, 4));
    const uint8_t *p = rd_raw(&r, 3);
    CHECK(p != NULL && p[0] == 1 && p[2] == 3);
    CHECK(rd_raw(&r, 0) != NULL);
    CHECK(rd_raw(&r, 2) == NULL);
    CHECK_EQ_INT(r.err, RD_UNDERFLOW);
    CHECK_EQ_INT(r.off, 3);

    rd_init(&r, BYTES(1, 2, 3, 4));
    rd_skip(&r, 4);
    CHECK_EQ_INT(r.err, RD_OK);
    CHECK_EQ_INT(rd_remaining(&r), 0);
    rd_skip(&r, 0);
    CHECK_EQ_INT(r.err, RD_OK);

    /* A huge skip must not wrap the offset around. */
    rd_init(&r, BYTES(1, 2, 3, 4));
    rd_skip(&r, 1);
    rd_skip(&r, SIZE_MAX);
    CHECK_EQ_INT(r.err, RD_UNDERFLOW);
    CHECK_EQ_INT(r.off, 1);
    rd_init(&r, BYTES(1, 2, 3, 4));
    CHECK(rd_raw(&r, SIZE_MAX - 2) == NULL);
    CHECK_EQ_INT(r.err, RD_UNDERFLOW);

    /* An empty reader. */
    rd_init(&r, NULL, 0);
    CHECK_EQ_INT(rd_remaining(&r), 0);
    CHECK_EQ_INT(rd_i8(&r), 0);
    CHECK_EQ_INT(r.err, RD_UNDERFLOW);
}

typedef struct venc {
    int64_t v;
    uint8_t b[10];
    size_t n;
} venc;

static void check_encoding(const char *what, size_t i, const wr *w, const venc *e)
{
    bool ok = CHECK_EQ_INT(w->len, e->n) && CHECK_EQ_MEM(w->p, e->b, e->n);
    if (!ok)
        printf("  (%s case %zu, value %lld)\n", what, i, (long long)e->v);
}

static void test_uvarint_encodings(void)
{
    static const venc cases[] = {
        {0, {0x00}, 1},
        {1, {0x01}, 1},
        {127, {0x7f}, 1},
        {128, {0x80, 0x01}, 2},
        {300, {0xac, 0x02}, 2},
        {16383, {0xff, 0x7f}, 2},
        {16384, {0x80, 0x80, 0x01}, 3},
        {2097151, {0xff, 0xff, 0x7f}, 3},
        {2097152, {0x80, 0x80, 0x80, 0x01}, 4},
        {268435455, {0xff, 0xff, 0xff, 0x7f}, 4},
        {268435456, {0x80, 0x80, 0x80, 0x80, 0x01}, 5},
        {UINT32_MAX, {0xff, 0xff, 0xff, 0xff, 0x0f}, 5},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wr w;
        wr_init(&w, 1);
        wr_uvarint(&w, (uint32_t)cases[i].v);
        check_encoding("uvarint", i, &w, &cases[i]);
        wr_free(&w);

        rd r;
        rd_init(&r, cases[i].b, cases[i].n);
        CHECK_EQ_U64(rd_uvarint(&r), (uint64_t)cases[i].v);
        CHECK_EQ_INT(r.err, RD_OK);
        CHECK_EQ_INT(rd_remaining(&r), 0);
        /* Every strict prefix underflows. */
        for (size_t n = 0; n < cases[i].n; n++) {
            rd_init(&r, cases[i].b, n);
            CHECK_EQ_INT(rd_uvarint(&r), 0);
            CHECK_EQ_INT(r.err, RD_UNDERFLOW);
        }
    }
}

static void test_uvarint_limits(void)
{
    rd r;
    /* Five bytes whose value needs more than 32 bits. */
    rd_init(&r, BYTES(0xff, 0xff, 0xff, 0xff, 0x1f));
    CHECK_EQ_INT(rd_uvarint(&r), 0);
    CHECK_EQ_INT(r.err, RD_BAD_VARINT);
    rd_init(&r, BYTES(0x80, 0x80, 0x80, 0x80, 0x10));
    CHECK_EQ_INT(rd_uvarint(&r), 0);
    CHECK_EQ_INT(r.err, RD_BAD_VARINT);
    /* A sixth byte is never allowed, even if it would be zero. */
    rd_init(&r, BYTES(0x80, 0x80, 0x80, 0x80, 0x80, 0x00));
    CHECK_EQ_INT(rd_uvarint(&r), 0);
    CHECK_EQ_INT(r.err, RD_BAD_VARINT);
    /* The fifth byte's continuation bit alone makes it over-long (not an underflow). */
    rd_init(&r, BYTES(0x80, 0x80, 0x80, 0x80, 0x80));
    (void)rd_uvarint(&r);
    CHECK_EQ_INT(r.err, RD_BAD_VARINT);
    /* Non-minimal encodings are accepted, as Kafka's ByteUtils does. */
    rd_init(&r, BYTES(0x80, 0x00, 0x7f));
    CHECK_EQ_INT(rd_uvarint(&r), 0);
    CHECK_EQ_INT(r.off, 2);
    CHECK_EQ_INT(r.err, RD_OK);
}

static void test_varint_zigzag(void)
{
    static const venc cases[] = {
        {0, {0x00}, 1},
        {-1, {0x01}, 1},
        {1, {0x02}, 1},
        {-2, {0x03}, 1},
        {2, {0x04}, 1},
        {63, {0x7e}, 1},
        {-64, {0x7f}, 1},
        {64, {0x80, 0x01}, 2},
        {-65, {0x81, 0x01}, 2},
        {8191, {0xfe, 0x7f}, 2},
        {-8193, {0x81, 0x80, 0x01}, 3},
        {INT32_MAX, {0xfe, 0xff, 0xff, 0xff, 0x0f}, 5},
        {INT32_MIN, {0xff, 0xff, 0xff, 0xff, 0x0f}, 5},
        {INT32_MIN + 1, {0xfd, 0xff, 0xff, 0xff, 0x0f}, 5},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wr w;
        wr_init(&w, 1);
        wr_varint(&w, (int32_t)cases[i].v);
        check_encoding("varint", i, &w, &cases[i]);
        wr_free(&w);

        rd r;
        rd_init(&r, cases[i].b, cases[i].n);
        CHECK_EQ_INT(rd_varint(&r), cases[i].v);
        CHECK_EQ_INT(r.err, RD_OK);
        CHECK_EQ_INT(rd_remaining(&r), 0);
        /* The same bytes as a varlong give the same value. */
        rd_init(&r, cases[i].b, cases[i].n);
        CHECK_EQ_INT(rd_varlong(&r), cases[i].v);
    }
    rd r;
    rd_init(&r, BYTES(0xff, 0xff, 0xff, 0xff, 0x1f));
    CHECK_EQ_INT(rd_varint(&r), 0);
    CHECK_EQ_INT(r.err, RD_BAD_VARINT);
    rd_init(&r, BYTES(0x81, 0x80, 0x80, 0x80, 0x80, 0x00));
    CHECK_EQ_INT(rd_varint(&r), 0);
    CHECK_EQ_INT(r.err, RD_BAD_VARINT);
    rd_init(&r, BYTES(0xff, 0xff));
    CHECK_EQ_INT(rd_varint(&r), 0);
    CHECK_EQ_INT(r.err, RD_UNDERFLOW);
}

static void test_varlong_zigzag(void)
{
    static const venc cases[] = {
        {0, {0x00}, 1},
        {-1, {0x01}, 1},
        {1, {0x02}, 1},
        {(int64_t)INT32_MIN - 1, {0x81, 0x80, 0x80, 0x80, 0x10}, 5},
        {(int64_t)INT32_MAX + 1, {0x80, 0x80, 0x80, 0x80, 0x10}, 5},
        {(int64_t)1 << 35, {0x80, 0x80, 0x80, 0x80, 0x80, 0x02}, 6},
        {INT64_MAX, {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
        {INT64_MIN, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
        {INT64_MIN + 1, {0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wr w;
        wr_init(&w, 1);
        wr_varlong(&w, cases[i].v);
        check_encoding("varlong", i, &w, &cases[i]);
        wr_free(&w);

        rd r;
        rd_init(&r, cases[i].b, cases[i].n);
        CHECK(rd_varlong(&r) == cases[i].v);
        CHECK_EQ_INT(r.err, RD_OK);
        CHECK_EQ_INT(rd_remaining(&r), 0);
        for (size_t n = 0; n < cases[i].n; n++) {
            rd_init(&r, cases[i].b, n);
            CHECK(rd_varlong(&r) == 0);
            CHECK_EQ_INT(r.err, RD_UNDERFLOW);
        }
    }
    rd r;
    /* Eleven bytes: over-long. */
    rd_init(&r, BYTES(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00));
    CHECK(rd_varlong(&r) == 0);
    CHECK_EQ_INT(r.err, RD_BAD_VARINT);
    rd_init(&r, BYTES(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
    (void)rd_varlong(&r);
    CHECK_EQ_INT(r.err, RD_BAD_VARINT);
}

/* Values of every bit width, written and read back. */
static void test_varint_roundtrip_random(void)
{
    wr w;
    wr_init(&w, 16);
    int32_t v32[2000];
    int64_t v64[2000];
    uint32_t u32[2000];
    for (int i = 0; i < 2000; i++) {
        int shift = i % 64;
        v32[i] = (int32_t)(uint32_t)(tu_rand() >> (32 + shift % 32));
        v64[i] = (int64_t)(tu_rand() >> shift);
        u32[i] = (uint32_t)(tu_rand() >> (32 + shift % 32));
        if (i & 1) { /* flip the sign half the time */
            v32[i] = ~v32[i];
            v64[i] = ~v64[i];
        }
        wr_varint(&w, v32[i]);
        wr_varlong(&w, v64[i]);
        wr_uvarint(&w, u32[i]);
    }
    CHECK(!w.oom);
    rd r;
    rd_init(&r, w.p, w.len);
    int bad = 0;
    for (int i = 0; i < 2000; i++) {
        bad += rd_varint(&r) != v32[i];
        bad += rd_varlong(&r) != v64[i];
        bad += rd_uvarint(&r) != u32[i];
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(r.err, RD_OK);
    CHECK_EQ_INT(rd_remaining(&r), 0);
    wr_free(&w);
}

static void test_str_classic(void)
{
    rd r;
    rd_init(&r, BYTES(0xff, 0xff));
    kslice s = rd_str(&r);
    CHECK_SLICE(s, NULL);
    CHECK_EQ_INT(r.err, RD_OK);
    CHECK_EQ_INT(r.off, 2);

    rd_init(&r, BYTES(0x00, 0x00));
    s = rd_str(&r);
    CHECK(s.len == 0 && s.p != NULL);
    CHECK_SLICE(s, "");

    rd_init(&r, BYTES(0x00, 0x03, 'a', 'b', 'c'));
    s = rd_str(&r);
    CHECK_SLICE(s, "abc");
    CHECK_EQ_INT(rd_remaining(&r), 0);

    rd_init(&r, BYTES(0x00, 0x04, 'a', 'b', 'c'));
    s = rd_str(&r);
    CHECK_SLICE(s, NULL);
    CHECK_EQ_INT(r.err, RD_UNDERFLOW);

    rd_init(&r, BYTES(0x7f, 0xff, 'a'));
    s = rd_str(&r);
    CHECK_EQ_INT(r.err, RD_UNDERFLOW);

    rd_init(&r, BYTES(0x00));
    s = rd_str(&r);
    CHECK_EQ_INT(r.err, RD_UNDERFLOW);
}

static void test_str_compact(void)
{
    rd r = rd_flex(BYTES(0x00));
    kslice s = rd_str(&r);
    CHECK_SLICE(s, NULL);
    CHECK_EQ_INT(r.err, RD_OK);

    r = rd_flex(BYTES(0x01));
    s = rd_str(&r);
    CHECK(s.len == 0 && s.p != NULL);

    r = rd_flex(BYTES(0x04, 'a', 'b', 'c'));
    s = rd_str(&r);
    CHECK_SLICE(s, "abc");
    CHECK_EQ_INT(rd_remaining(&r), 0);

    r = rd_flex(BYTES(0x05, 'a', 'b', 'c'));
    s = rd_str(&r);
    CHECK_SLICE(s, NULL);
    CHECK_EQ_INT(r.err, RD_UNDERFLOW);

    /* Length UINT32_MAX - 1 does not fit an int32 slice. */
    r = rd_flex(BYTES(0xff, 0xff, 0xff, 0xff, 0x0f, 'a'));
    s = rd_str(&r);
    CHECK_SLICE(s, NULL);
    CHECK_EQ_INT(r.err, RD_BAD_LENGTH);

    /* Length INT32_MAX: fits, but the bytes are not there. */
    r = rd_flex(BYTES(0x80, 0x80, 0x80, 0x80, 0x08, 'a'));
    s = rd_str(&r);
    CHECK_SLICE(s, NULL);
    CHECK_EQ_INT(r.err, RD_UNDERFLOW);

    r = rd_flex(BYTES(0x80));
    s = rd_str(&r);
    CHECK_EQ_INT(r.err, RD_UNDERFLOW);

    /* A two-byte length prefix (len 200). */
    uint8_t buf[202];
    buf[0] = 0xc9;
    buf[1] = 0x01;
    memset(buf + 2, 'x', 200);
    r = rd_flex(buf, sizeof(buf));
    s = rd_str(&r);
    CHECK_EQ_INT(s.len, 200);
    CHECK(s.p == buf + 2);
}

static void test_bytes_classic_and_compact(void)
{
    rd r;
    rd_init(&r, BYTES(0xff, 0xff, 0xff, 0xff));
    kslice b = rd_bytes(&r);
    CHECK_SLICE(b, NULL);
    CHECK_EQ_INT(r.err, RD_OK);

    rd_init(&r, BYTES(0, 0, 0, 0));
    b = rd_bytes(&r);
    CHECK(b.len == 0 && b.p != NULL);

    rd_init(&r, BYTES(0, 0, 0, 2, 0xde, 0xad, 0x55));
    b = rd_bytes(&r);
    CHECK(b.len == 2 && b.p[0] == 0xde && b.p[1] == 0xad);
    CHECK_EQ_INT(rd_remaining(&r), 1);

    rd_init(&r, BYTES(0x7f, 0xff, 0xff, 0xff, 0));
    b = rd_bytes(&r);
    CHECK_SLICE(b, NULL);
    CHECK_EQ_INT(r.err, RD_UNDERFLOW);

    rd_init(&r, BYTES(0, 0, 0));
    b = rd_bytes(&r);
    CHECK_EQ_INT(r.err, RD_UNDERFLOW);

    r = rd_flex(BYTES(0x00));
    b = rd_bytes(&r);
    CHECK_SLICE(b, NULL);
    CHECK_EQ_INT(r.err, RD_OK);
    r = rd_flex(BYTES(0x01));
    b = rd_bytes(&r);
    CHECK(b.len == 0 && b.p != NULL);
    r = rd_flex(BYTES(0x03, 0xde, 0xad));
    b = rd_bytes(&r);
    CHECK(b.len == 2 && b.p[1] == 0xad);
    r = rd_flex(BYTES(0x04, 0xde, 0xad));
    b = rd_bytes(&r);
    CHECK_EQ_INT(r.err, RD_UNDERFLOW);
    r = rd_flex(BYTES(0xff, 0xff, 0xff, 0xff, 0x0f));
    b = rd_bytes(&r);
    CHECK_EQ_INT(r.err, RD_BAD_LENGTH);
}

static void test_array_classic(void)
{
    rd r;
    rd_init(&r, BYTES(0xff, 0xff, 0xff, 0xff));
    CHECK_EQ_INT(rd_array(&r, 4), -1);
    CHECK_EQ_INT(r.err, RD_OK);

    rd_init(&r, BYTES(0, 0, 0, 0));
    CHECK_EQ_INT(rd_array(&r, 4), 0);
    CHECK_EQ_INT(r.err, RD_OK);

    /* Exactly enough bytes for two 4-byte elements. */
    rd_init(&r, BYTES(0, 0, 0, 2, 1, 1, 1, 1, 2, 2, 2, 2));
    CHECK_EQ_INT(rd_array(&r, 4), 2);
    CHECK_EQ_INT(r.err, RD_OK);
    CHECK_EQ_INT(rd_remaining(&r), 8);

    /* One byte short of the declared count: refused before anything is allocated. */
    rd_init(&r, BYTES(0, 0, 0, 2, 1, 1, 1, 1, 2, 2, 2));
    CHECK_EQ_INT(rd_array(&r, 4), -1);
    CHECK_EQ_INT(r.err, RD_BAD_LENGTH);
    rd_init(&r, BYTES(0, 0, 0, 3, 1, 1, 1, 1, 2, 2, 2, 2));
    CHECK_EQ_INT(rd_array(&r, 4), -1);
    CHECK_EQ_INT(r.err, RD_BAD_LENGTH);
    rd_init(&r, BYTES(0x7f, 0xff, 0xff, 0xff));
    CHECK_EQ_INT(rd_array(&r, 1), -1);
    CHECK_EQ_INT(r.err, RD_BAD_LENGTH);

    /* min_elem_size 0 counts as 1. */
    rd_init(&r, BYTES(0, 0, 0, 3, 1, 2, 3));
    CHECK_EQ_INT(rd_array(&r, 0), 3);
    rd_init(&r, BYTES(0, 0, 0, 4, 1, 2, 3));
    CHECK_EQ_INT(rd_array(&r, 0), -1);
    CHECK_EQ_INT(r.err, RD_BAD_LENGTH);

    rd_init(&r, BYTES(0, 0, 0));
    CHECK_EQ_INT(rd_array(&r, 1), -1);
    CHECK_EQ_INT(r.err, RD_UNDERFLOW);

    /* BROOK_ARRAY_MAX is the cap even when the bytes are present. */
    size_t n = 4 + BROOK_ARRAY_MAX + 1;
    uint8_t *p = calloc(1, n);
    be32_put(p, BROOK_ARRAY_MAX);
    rd_init(&r, p, n);
    CHECK_EQ_INT(rd_array(&r, 1), BROOK_ARRAY_MAX);
    be32_put(p, BROOK_ARRAY_MAX + 1);
    rd_init(&r, p, n);
    CHECK_EQ_INT(rd_array(&r, 1), -1);
    CHECK_EQ_INT(r.err, RD_BAD_LENGTH);
    free(p);
}

static void test_array_compact(void)
{
    rd r = rd_flex(BYTES(0x00));
    CHECK_EQ_INT(rd_array(&r, 1), -1);
    CHECK_EQ_INT(r.err, RD_OK);
    r = rd_flex(BYTES(0x01));
    CHECK_EQ_INT(rd_array(&r, 1), 0);
    CHECK_EQ_INT(r.err, RD_OK);
    r = rd_flex(BYTES(0x03, 7, 8));
    CHECK_EQ_INT(rd_array(&r, 1), 2);
    CHECK_EQ_INT(rd_remaining(&r), 2);
    r = rd_flex(BYTES(0x04, 7, 8));
    CHECK_EQ_INT(rd_array(&r, 1), -1);
    CHECK_EQ_INT(r.err, RD_BAD_LENGTH);
    r = rd_flex(BYTES(0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2));
    CHECK_EQ_INT(rd_array(&r, 1), -1);
    CHECK_EQ_INT(r.err, RD_BAD_LENGTH);
    r = rd_flex(BYTES(0xff, 0xff, 0xff, 0xff, 0x1f, 1, 2));
    CHECK_EQ_INT(rd_array(&r, 1), -1);
    CHECK_EQ_INT(r.err, RD_BAD_VARINT);
    r = rd_flex(BYTES(0x80));
    CHECK_EQ_INT(rd_array(&r, 1), -1);
    CHECK_EQ_INT(r.err, RD_UNDERFLOW);
}

static void test_tags(void)
{
    /* Two tagged fields (tag 0 size 1, tag 5 size 2), then a byte that follows them. */
    rd r = rd_flex(BYTES(0x02, 0x00, 0x01, 0xaa, 0x05, 0x02, 0xbb, 0xcc, 0x7e));
    rd_tags(&r);
    CHECK_EQ_INT(r.err, RD_OK);
    CHECK_EQ_INT(rd_i8(&r), 0x7e);

    r = rd_flex(BYTES(0x00, 0x7e));
    rd_tags(&r);
    CHECK_EQ_INT(r.off, 1);

    /* A field longer than what is left. */
    r = rd_flex(BYTES(0x01, 0x00, 0x05, 0xaa));
    rd_tags(&r);
    CHECK_EQ_INT(r.err, RD_UNDERFLOW);

    /* A huge field count stops at the first underflow instead of looping. */
    r = rd_flex(BYTES(0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00));
    rd_tags(&r);
    CHECK_EQ_INT(r.err, RD_UNDERFLOW);

    r = rd_flex(BYTES(0x80));
    rd_tags(&r);
    CHECK_EQ_INT(r.err, RD_UNDERFLOW);

    /* Not flexible: a no-op. */
    rd_init(&r, BYTES(0x02, 0x00));
    rd_tags(&r);
    CHECK_EQ_INT(r.off, 0);
    CHECK_EQ_INT(r.err, RD_OK);
}

static void test_writer_exact_bytes(void)
{
    wr w;
    wr_init(&w, 1);
    wr_i8(&w, -2);
    wr_i16(&w, 0x1234);
    wr_i32(&w, -2);
    wr_i64(&w, 0x0102030405060708);
    wr_u32(&w, 0xcafebabe);
    wr_bool(&w, true);
    wr_bool(&w, false);
    wr_cstr(&w, NULL);
    wr_cstr(&w, "");
    wr_cstr(&w, "hi");
    wr_bytes(&w, KSLICE_NULL);
    wr_bytes(&w, (kslice){(const uint8_t *)"\x01", 1});
    wr_array(&w, -1);
    wr_array(&w, 2);
    wr_tags(&w);
    /* clang-format off */
    static const uint8_t want[] = {
        0xfe,                                           /* i8 -2 */
        0x12, 0x34,                                     /* i16 */
        0xff, 0xff, 0xff, 0xfe,                         /* i32 -2 */
        1, 2, 3, 4, 5, 6, 7, 8,                         /* i64 */
        0xca, 0xfe, 0xba, 0xbe,                         /* u32 */
        1, 0,                                           /* bools */
        0xff, 0xff,                                     /* null string */
        0, 0,                                           /* empty string */
        0, 2, 'h', 'i',                                 /* "hi" */
        0xff, 0xff, 0xff, 0xff,                         /* null bytes */
        0, 0, 0, 1, 1,                                  /* one byte */
        0xff, 0xff, 0xff, 0xff,                         /* null array */
        0, 0, 0, 2,                                     /* two elements */
    };
    /* clang-format on */
    CHECK(!w.oom);
    CHECK_EQ_INT(w.len, sizeof(want));
    CHECK_EQ_MEM(w.p, want, sizeof(want));
    wr_free(&w);

    wr_init(&w, 1);
    w.flex = true;
    wr_cstr(&w, NULL);
    wr_cstr(&w, "");
    wr_cstr(&w, "hi");
    wr_bytes(&w, KSLICE_NULL);
    wr_bytes(&w, (kslice){(const uint8_t *)"\x01", 1});
    wr_array(&w, -1);
    wr_array(&w, 0);
    wr_array(&w, 2);
    wr_tags(&w);
    static const uint8_t want_flex[] = {0x00, 0x01, 0x03, 'h',  'i',  0x00,
                                        0x02, 0x01, 0x00, 0x01, 0x03, 0x00};
    CHECK_EQ_INT(w.len, sizeof(want_flex));
    CHECK_EQ_MEM(w.p, want_flex, sizeof(want_flex));
    wr_free(&w);
}

static void roundtrip(bool flex)
{
    wr w;
    wr_init(&w, 1);
    w.flex = flex;
    static const uint8_t bin[] = {0, 1, 2, 0xff};
    wr_i8(&w, INT8_MIN);
    wr_i16(&w, INT16_MIN);
    wr_i32(&w, INT32_MIN);
    wr_i64(&w, INT64_MIN);
    wr_u32(&w, UINT32_MAX);
    wr_bool(&w, true);
    wr_uvarint(&w, UINT32_MAX);
    wr_varint(&w, INT32_MIN);
    wr_varlong(&w, INT64_MIN);
    wr_cstr(&w, NULL);
    wr_cstr(&w, "");
    wr_cstr(&w, "topic-0");
    wr_bytes(&w, KSLICE_NULL);
    wr_bytes(&w, (kslice){bin, 0});
    wr_bytes(&w, (kslice){bin, 4});
    wr_array(&w, -1);
    wr_array(&w, 0);
    wr_array(&w, 1);
    wr_i32(&w, 42);
    wr_tags(&w);
    wr_i8(&w, 0x5a);
    CHECK(!w.oom);

    rd r;
    rd_init(&r, w.p, w.len);
    r.flex = flex;
    CHECK_EQ_INT(rd_i8(&r), INT8_MIN);
    CHECK_EQ_INT(rd_i16(&r), INT16_MIN);
    CHECK_EQ_INT(rd_i32(&r), INT32_MIN);
    CHECK(rd_i64(&r) == INT64_MIN);
    CHECK_EQ_U64(rd_u32(&r), UINT32_MAX);
    CHECK(rd_bool(&r));
    CHECK_EQ_U64(rd_uvarint(&r), UINT32_MAX);
    CHECK_EQ_INT(rd_varint(&r), INT32_MIN);
    CHECK(rd_varlong(&r) == INT64_MIN);
    kslice s = rd_str(&r);
    CHECK_SLICE(s, NULL);
    s = rd_str(&r);
    CHECK_SLICE(s, "");
    s = rd_str(&r);
    CHECK_SLICE(s, "topic-0");
    s = rd_bytes(&r);
    CHECK_SLICE(s, NULL);
    s = rd_bytes(&r);
    CHECK(s.len == 0 && s.p != NULL);
    s = rd_bytes(&r);
    CHECK(s.len == 4 && memcmp(s.p, bin, 4) == 0);
    CHECK_EQ_INT(rd_array(&r, 4), -1);
    CHECK_EQ_INT(rd_array(&r, 4), 0);
    CHECK_EQ_INT(rd_array(&r, 4), 1);
    CHECK_EQ_INT(rd_i32(&r), 42);
    rd_tags(&r);
    CHECK_EQ_INT(rd_i8(&r), 0x5a);
    CHECK_EQ_INT(r.err, RD_OK);
    CHECK_EQ_INT(rd_remaining(&r), 0);
    wr_free(&w);
}

static void test_writer_roundtrip_classic(void) { roundtrip(false); }
static void test_writer_roundtrip_flex(void) { roundtrip(true); }

static void test_writer_growth_take_patch(void)
{
    wr w;
    wr_init(&w, 0); /* 0 picks the default capacity */
    CHECK(w.p != NULL && w.cap > 0);
    wr_i32(&w, 0); /* length placeholder */
    uint8_t chunk[1000];
    for (size_t i = 0; i < sizeof(chunk); i++)
        chunk[i] = (uint8_t)i;
    for (int i = 0; i < 1000; i++)
        wr_raw(&w, chunk, sizeof(chunk));
    wr_raw(&w, NULL, 0);
    CHECK(!w.oom);
    CHECK_EQ_INT(w.len, 4 + 1000 * 1000);
    CHECK(w.cap >= w.len);
    wr_put_i32_at(&w, 0, (int32_t)(w.len - 4));
    CHECK_EQ_U64(be32_get(w.p), 1000 * 1000);
    CHECK_EQ_MEM(w.p + 4 + 999 * 1000, chunk, sizeof(chunk));

    size_t len = 0;
    uint8_t *p = wr_take(&w, &len);
    CHECK(p != NULL);
    CHECK_EQ_INT(len, 4 + 1000 * 1000);
    CHECK(w.p == NULL && w.len == 0 && w.cap == 0);
    free(p);

    /* A taken writer grows again from nothing. */
    wr_i16(&w, 7);
    CHECK(!w.oom && w.len == 2 && w.p[1] == 7);
    wr_free(&w);
    wr_free(&w); /* twice is harmless */
    CHECK(w.p == NULL);

    /* wr_reserve keeps what was written. */
    wr_init(&w, 2);
    wr_i16(&w, 0x0102);
    wr_reserve(&w, 1 << 20);
    CHECK(w.cap >= (1u << 20) + 2);
    CHECK(w.len == 2 && w.p[0] == 1 && w.p[1] == 2);
    wr_free(&w);
}

static void test_endian_and_slices(void)
{
    uint8_t b[8];
    be16_put(b, 0xbeef);
    CHECK(b[0] == 0xbe && b[1] == 0xef);
    CHECK_EQ_U64(be16_get(b), 0xbeef);
    be32_put(b, 0xdeadbeef);
    CHECK(b[0] == 0xde && b[3] == 0xef);
    CHECK_EQ_U64(be32_get(b), 0xdeadbeef);
    be64_put(b, 0x0123456789abcdefull);
    CHECK(b[0] == 0x01 && b[7] == 0xef);
    CHECK_EQ_U64(be64_get(b), 0x0123456789abcdefull);

    kslice s = kslice_cstr(NULL);
    CHECK(s.len == -1 && s.p == NULL);
    CHECK(!kslice_eq_cstr(s, ""));
    CHECK(kslice_eq_cstr(kslice_cstr(""), ""));
    CHECK(kslice_eq_cstr(kslice_cstr("abc"), "abc"));
    CHECK(!kslice_eq_cstr(kslice_cstr("abc"), "ab"));
    CHECK(!kslice_eq_cstr(kslice_cstr("ab"), "abc"));
}

/* A kslice pointing into the writer's span table becomes a splice: the length prefix is
 * written (classic and compact), the bytes are not, the splice sits where they would have
 * gone, and spliced counts them; any other kslice is copied as before. */
static void test_bytes_file_spans(void)
{
    static const uint64_t guard = 7;
    wr_file_span spans[2] = {{3, 100, 5, &guard, 7}, {4, 0, 300, &guard, 7}};
    wr w;
    wr_init(&w, 16);
    wr_set_spans(&w, spans, 2);
    wr_bytes(&w, (kslice){(const uint8_t *)"abc", 3});
    wr_bytes(&w, (kslice){(const uint8_t *)&spans[0], 5});
    w.flex = true;
    wr_bytes(&w, (kslice){(const uint8_t *)&spans[1], 300});
    wr_set_spans(&w, NULL, 0);
    wr_bytes(&w, (kslice){(const uint8_t *)"z", 1});
    static const uint8_t want[] = {0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 5, 0xAD, 0x02, 2, 'z'};
    CHECK_EQ_INT(w.len, sizeof(want));
    CHECK_EQ_MEM(w.p, want, sizeof(want));
    CHECK_EQ_INT(w.nsplices, 2);
    CHECK_EQ_INT(w.splices[0].at, 11);
    CHECK_EQ_INT(w.splices[0].span.fd, 3);
    CHECK_EQ_INT(w.splices[0].span.pos, 100);
    CHECK_EQ_INT(w.splices[1].at, 13);
    CHECK_EQ_INT(w.splices[1].span.len, 300);
    CHECK_EQ_U64(w.spliced, 305);
    wr_free(&w);
    CHECK_EQ_INT(w.nsplices, 0);
    CHECK(w.splices == NULL);
}

TU_MAIN(TU_CASE(test_bytes_file_spans), TU_CASE(test_fixed_ints_min_max), TU_CASE(test_fixed_ints_underflow),
        TU_CASE(test_error_latches), TU_CASE(test_skip_and_raw), TU_CASE(test_uvarint_encodings),
        TU_CASE(test_uvarint_limits), TU_CASE(test_varint_zigzag), TU_CASE(test_varlong_zigzag),
        TU_CASE(test_varint_roundtrip_random), TU_CASE(test_str_classic), TU_CASE(test_str_compact),
        TU_CASE(test_bytes_classic_and_compact), TU_CASE(test_array_classic),
        TU_CASE(test_array_compact), TU_CASE(test_tags), TU_CASE(test_writer_exact_bytes),
        TU_CASE(test_writer_roundtrip_classic), TU_CASE(test_writer_roundtrip_flex),
        TU_CASE(test_writer_growth_take_patch), TU_CASE(test_endian_and_slices))
