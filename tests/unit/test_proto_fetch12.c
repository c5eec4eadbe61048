/*
 * test_proto_fetch12.c - the flexible Fetch v12 codec and OffsetForLeaderEpoch v0-v4
 * (proto/msgs.h), against Kafka's FetchRequest/FetchResponse and
 * OffsetForLeaderEpochRequest/Response message definitions.
 *
 * Fetch v12 requests are written field by field (compact strings and arrays, tag buffers
 * at every level), with the ClusterId tagged field present, absent and null, and with
 * tags the decoder does not know; the response is encoded with the DivergingEpoch and
 * CurrentLeader tagged fields present and absent, compared with bytes written out by hand,
 * and read back field by field. OffsetForLeaderEpoch requests and responses of every
 * version are checked field by field, and v0 and v4 against literal bytes. Every request
 * is cut at every length (each cut must fail: the inputs are exact-size heap copies, so
 * AddressSanitizer sees any overread) and has every byte replaced by awkward values; tagged
 * fields whose declared size disagrees with their content are refused.
 */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "proto/api.h"
#include "proto/msgs.h"
#include "testutil.h"

/* ---- requests ---- */

static void req_start(wr *w, int16_t key, int16_t version)
{
    wr_init(w, 64);
    wr_i16(w, key);
    wr_i16(w, version);
    wr_i32(w, 1000 + version);
    wr_cstr(w, "test-client");
    if (api_is_flexible(key, version)) {
        w->flex = true;
        wr_tags(w); /* request header v2 */
    }
}

/* Header and body of a request through the generic entry point, on an exact-size heap
 * copy of the first n bytes (byte `pos` replaced by `val` when pos < n). */
static int decode_copy(const wr *w, size_t n, size_t pos, uint8_t val, size_t *off_out)
{
    uint8_t *p = malloc(n ? n : 1);
    if (n)
        memcpy(p, w->p, n);
    if (pos < n)
        p[pos] = val;
    rd r;
    rd_init(&r, p, n);
    req_header h;
    arena a;
    arena_init(&a);
    int rc = -1;
    if (req_header_decode(&r, &h) == 0 && api_version_supported(h.api_key, h.api_version))
        rc = msgs_decode_any(h.api_key, h.api_version, &r, &a);
    *off_out = r.off;
    arena_free(&a);
    free(p);
    return rc;
}

/* The whole request decodes to its last byte; every shorter cut is refused; no byte
 * substitution makes the decoder read past the end. */
static void check_robust(const wr *w, const char *what)
{
    size_t off = 0;
    if (!CHECK_EQ_INT(decode_copy(w, w->len, SIZE_MAX, 0, &off), 0) || !CHECK_EQ_INT(off, w->len))
        printf("  (%s: the whole request)\n", what);
    int accepted = 0;
    for (size_t n = 0; n < w->len; n++) {
        if (decode_copy(w, n, SIZE_MAX, 0, &off) != -1 && accepted++ < 3)
            printf("  %s: accepted when cut to %zu of %zu bytes\n", what, n, w->len);
    }
    CHECK_EQ_INT(accepted, 0);
    static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
    int overran = 0;
    for (size_t pos = 0; pos < w->len; pos++)
        for (size_t v = 0; v < sizeof(vals); v++)
            if (decode_copy(w, w->len, pos, vals[v], &off) == 0 && off > w->len)
                overran++;
    CHECK_EQ_INT(overran, 0);
}

/* Decodes the request in w (header, then body with fetch_req_decode). */
static int decode_fetch(const wr *w, arena *a, fetch_req *q, size_t *left)
{
    rd r;
    rd_init(&r, w->p, w->len);
    req_header h;
    if (req_header_decode(&r, &h) != 0)
        return -2;
    int rc = fetch_req_decode(&r, h.api_version, a, q);
    *left = rd_remaining(&r);
    return rc;
}

enum cluster_id_form { CID_ABSENT, CID_NULL, CID_SET, CID_SIZE_LONG, CID_SIZE_SHORT };

/* A Fetch v12 request like librdkafka 2.15's, plus what a follower adds: two partitions
 * (one with LastFetchedEpoch and an unknown partition tag), a forgotten topic, a rack,
 * and at the top the ClusterId tag in one of its forms, after an unknown tag. */
static void write_fetch12(wr *w, enum cluster_id_form cid)
{
    req_start(w, API_FETCH, 12);
    wr_i32(w, 2);        /* replica id: a follower */
    wr_i32(w, 500);      /* max wait */
    wr_i32(w, 1);        /* min bytes */
    wr_i32(w, 52428800); /* max bytes */
    wr_i8(w, 1);         /* read_committed */
    wr_i32(w, 0);        /* session id */
    wr_i32(w, -1);       /* session epoch */
    wr_array(w, 1);
    wr_cstr(w, "t");
    wr_array(w, 2);
    wr_i32(w, 0);       /* partition */
    wr_i32(w, 3);       /* current leader epoch */
    wr_i64(w, 100);     /* fetch offset */
    wr_i32(w, 2);       /* last fetched epoch */
    wr_i64(w, 7);       /* log start offset */
    wr_i32(w, 1048576); /* partition max bytes */
    wr_tags(w);
    wr_i32(w, 1);
    wr_i32(w, -1);
    wr_i64(w, 5);
    wr_i32(w, -1);
    wr_i64(w, -1);
    wr_i32(w, 4096);
    wr_uvarint(w, 1); /* one partition tag: ReplicaDirectoryId (v17), unknown at v12 */
    wr_uvarint(w, 0);
    wr_uvarint(w, 16);
    for (int i = 0; i < 16; i++)
        wr_i8(w, (int8_t)i);
    wr_tags(w); /* topic tags */
    wr_array(w, 1); /* forgotten topics */
    wr_cstr(w, "old");
    wr_array(w, 2);
    wr_i32(w, 1);
    wr_i32(w, 2);
    wr_tags(w);
    wr_cstr(w, "rack-a");
    if (cid == CID_ABSENT) {
        wr_tags(w);
        return;
    }
    wr_uvarint(w, 2);
    /* ClusterId (tag 0), a compact nullable string */
    wr_uvarint(w, 0);
    switch (cid) {
    case CID_NULL:
        wr_uvarint(w, 1);
        wr_uvarint(w, 0);
        break;
    case CID_SET:
        wr_uvarint(w, 1 + 13);
        wr_cstr(w, "brook-cluster");
        break;
    case CID_SIZE_LONG: /* the field says 6 bytes; the string takes 4 */
        wr_uvarint(w, 6);
        wr_cstr(w, "abc");
        wr_i16(w, 0);
        break;
    case CID_SIZE_SHORT: /* the field says 2 bytes; the string needs 4 */
        wr_uvarint(w, 2);
        wr_uvarint(w, 4);
        wr_i8(w, 'a');
        wr_i8(w, 'b');
        wr_i8(w, 'c');
        break;
    case CID_ABSENT:
        break;
    }
    /* an unknown tag (ReplicaState is tag 1 from v15) */
    wr_uvarint(w, 1);
    wr_uvarint(w, 3);
    wr_raw(w, "\x01\x02\x03", 3);
}

static void test_fetch12_request(void)
{
    static const enum cluster_id_form forms[] = {CID_ABSENT, CID_NULL, CID_SET};
    for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
        wr w;
        write_fetch12(&w, forms[f]);
        arena a;
        arena_init(&a);
        fetch_req q;
        size_t left = 99;
        if (CHECK_EQ_INT(decode_fetch(&w, &a, &q, &left), 0)) {
            CHECK_EQ_INT(left, 0);
            CHECK_EQ_INT(q.replica_id, 2);
            CHECK_EQ_INT(q.max_wait_ms, 500);
            CHECK_EQ_INT(q.min_bytes, 1);
            CHECK_EQ_INT(q.max_bytes, 52428800);
            CHECK_EQ_INT(q.isolation_level, 1);
            CHECK_EQ_INT(q.session_id, 0);
            CHECK_EQ_INT(q.session_epoch, -1);
            CHECK_SLICE(q.rack_id, "rack-a");
            CHECK_SLICE(q.cluster_id, forms[f] == CID_SET ? "brook-cluster" : NULL);
            if (CHECK_EQ_INT(q.ntopics, 1) && CHECK_EQ_INT(q.topics[0].nparts, 2)) {
                CHECK_SLICE(q.topics[0].name, "t");
                fetch_part *p = &q.topics[0].parts[0];
                CHECK_EQ_INT(p->index, 0);
                CHECK_EQ_INT(p->current_leader_epoch, 3);
                CHECK_EQ_INT(p->fetch_offset, 100);
                CHECK_EQ_INT(p->last_fetched_epoch, 2);
                CHECK_EQ_INT(p->log_start_offset, 7);
                CHECK_EQ_INT(p->partition_max_bytes, 1048576);
                /* response fields start at their defaults */
                CHECK_EQ_INT(p->error_code, 0);
                CHECK_EQ_INT(p->naborted, -1);
                CHECK(p->records == NULL);
                CHECK_EQ_INT(p->diverging_epoch.epoch, -1);
                CHECK_EQ_INT(p->diverging_epoch.end_offset, -1);
                CHECK_EQ_INT(p->current_leader.leader_id, -1);
                CHECK_EQ_INT(p->current_leader.leader_epoch, -1);
                p = &q.topics[0].parts[1];
                CHECK_EQ_INT(p->index, 1);
                CHECK_EQ_INT(p->current_leader_epoch, -1);
                CHECK_EQ_INT(p->fetch_offset, 5);
                CHECK_EQ_INT(p->last_fetched_epoch, -1);
                CHECK_EQ_INT(p->log_start_offset, -1);
                CHECK_EQ_INT(p->partition_max_bytes, 4096);
            }
        }
        arena_free(&a);
        check_robust(&w, forms[f] == CID_ABSENT ? "Fetch v12"
                         : forms[f] == CID_NULL ? "Fetch v12, null ClusterId"
                                                : "Fetch v12, ClusterId");
        wr_free(&w);
    }

    /* A tagged field must be exactly as long as it says. */
    static const enum cluster_id_form bad[] = {CID_SIZE_LONG, CID_SIZE_SHORT};
    for (size_t f = 0; f < sizeof(bad) / sizeof(bad[0]); f++) {
        wr w;
        write_fetch12(&w, bad[f]);
        arena a;
        arena_init(&a);
        fetch_req q;
        size_t left;
        if (!CHECK_EQ_INT(decode_fetch(&w, &a, &q, &left), -1))
            printf("  (ClusterId whose size %s its string)\n",
                   bad[f] == CID_SIZE_LONG ? "exceeds" : "falls short of");
        arena_free(&a);
        wr_free(&w);
    }

    /* A tag buffer that claims more fields or bytes than there are. */
    static const uint8_t tails[][4] = {
        {0x02, 0x07, 0x00, 0}, /* two fields, one present */
        {0x01, 0x07, 0x05, 0}, /* a 5-byte field with 1 byte left */
        {0x01, 0x07, 0x80, 0}, /* a size varint cut short */
    };
    for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
        wr w;
        write_fetch12(&w, CID_ABSENT);
        w.len--; /* drop the empty top-level tag buffer */
        wr_raw(&w, tails[t], 3);
        arena a;
        arena_init(&a);
        fetch_req q;
        size_t left;
        if (!CHECK_EQ_INT(decode_fetch(&w, &a, &q, &left), -1))
            printf("  (tag buffer tail %zu)\n", t);
        arena_free(&a);
        wr_free(&w);
    }

    /* Array counts beyond what the bytes can hold are refused before any allocation. */
    wr w;
    req_start(&w, API_FETCH, 12);
    wr_i32(&w, -1);
    wr_i32(&w, 0);
    wr_i32(&w, 0);
    wr_i32(&w, 0);
    wr_i8(&w, 0);
    wr_i32(&w, 0);
    wr_i32(&w, -1);
    wr_array(&w, 1);
    wr_cstr(&w, "t");
    wr_uvarint(&w, 1000000); /* a million partitions in a few bytes */
    wr_raw(&w, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    arena a;
    arena_init(&a);
    fetch_req q;
    size_t left;
    CHECK_EQ_INT(decode_fetch(&w, &a, &q, &left), -1);
    arena_free(&a);
    wr_free(&w);
}

/* The v11 decoder is unchanged by v12: no LastFetchedEpoch, no tags, classic strings. */
static void test_fetch11_request_unchanged(void)
{
    wr w;
    req_start(&w, API_FETCH, 11);
    CHECK(!w.flex);
    wr_i32(&w, -1);
    wr_i32(&w, 100);
    wr_i32(&w, 1);
    wr_i32(&w, 1000);
    wr_i8(&w, 0);
    wr_i32(&w, 0);
    wr_i32(&w, -1);
    wr_array(&w, 1);
    wr_cstr(&w, "topic");
    wr_array(&w, 1);
    wr_i32(&w, 0);
    wr_i32(&w, 5);
    wr_i64(&w, 10);
    wr_i64(&w, 0);
    wr_i32(&w, 4096);
    wr_array(&w, 0);
    wr_cstr(&w, "");
    arena a;
    arena_init(&a);
    fetch_req q;
    size_t left = 99;
    if (CHECK_EQ_INT(decode_fetch(&w, &a, &q, &left), 0) && CHECK_EQ_INT(q.ntopics, 1)) {
        CHECK_EQ_INT(left, 0);
        CHECK_EQ_INT(q.topics[0].parts[0].last_fetched_epoch, -1);
        CHECK_EQ_INT(q.topics[0].parts[0].fetch_offset, 10);
        CHECK_SLICE(q.cluster_id, NULL);
    }
    arena_free(&a);
    check_robust(&w, "Fetch v11");
    wr_free(&w);
}

/* ---- responses ---- */

typedef struct bb {
    uint8_t b[1024];
    size_t n;
} bb;

static void b8(bb *x, unsigned v) { x->b[x->n++] = (uint8_t)v; }
static void b16(bb *x, int v)
{
    b8(x, ((unsigned)v >> 8) & 0xff);
    b8(x, (unsigned)v & 0xff);
}
static void b32(bb *x, int64_t v)
{
    for (int s = 24; s >= 0; s -= 8)
        b8(x, (unsigned)(((uint64_t)v >> s) & 0xff));
}
static void b64(bb *x, int64_t v)
{
    for (int s = 56; s >= 0; s -= 8)
        b8(x, (unsigned)(((uint64_t)v >> s) & 0xff));
}
static void bcstr(bb *x, const char *s) /* compact, short */
{
    b8(x, (unsigned)strlen(s) + 1);
    memcpy(x->b + x->n, s, strlen(s));
    x->n += strlen(s);
}

static bool check_body(const wr *w, const bb *want, const char *what)
{
    bool ok = CHECK(!w->oom);
    ok &= CHECK_EQ_INT(w->len, want->n);
    ok &= CHECK_EQ_MEM(w->p, want->b, want->n < w->len ? want->n : w->len);
    if (!ok)
        printf("  (%s)\n", what);
    return ok;
}

static const uint8_t k_records[] = {1, 2, 3, 4, 5};

/* Four partitions: DivergingEpoch only; neither tag (records, an aborted transaction);
 * CurrentLeader only (NOT_LEADER_OR_FOLLOWER); both. */
static void fill_parts(fetch_part parts[4], fetch_aborted *ab)
{
    memset(parts, 0, sizeof(fetch_part) * 4);
    for (int i = 0; i < 4; i++) {
        parts[i].index = i;
        parts[i].high_watermark = 120;
        parts[i].last_stable_offset = 110;
        parts[i].resp_log_start_offset = 7;
        parts[i].naborted = -1;
        parts[i].diverging_epoch = (fetch_epoch_end){-1, -1};
        parts[i].current_leader = (fetch_leader){-1, -1};
    }
    parts[0].diverging_epoch = (fetch_epoch_end){2, 90};
    parts[1].naborted = 1;
    parts[1].aborted = ab;
    parts[1].records = k_records;
    parts[1].records_len = 5;
    parts[2].error_code = 6;
    parts[2].high_watermark = parts[2].last_stable_offset = parts[2].resp_log_start_offset = -1;
    parts[2].current_leader = (fetch_leader){1, 5};
    parts[3].diverging_epoch = (fetch_epoch_end){0, 0}; /* not the default: sent */
    parts[3].current_leader = (fetch_leader){-1, 4};
}

static void want_part_head(bb *x, const fetch_part *p)
{
    b32(x, p->index);
    b16(x, p->error_code);
    b64(x, p->high_watermark);
    b64(x, p->last_stable_offset);
    b64(x, p->resp_log_start_offset);
}

static void test_fetch12_response_bytes(void)
{
    fetch_aborted ab = {77, 100};
    fetch_part parts[4];
    fill_parts(parts, &ab);
    fetch_topic topic = {{(const uint8_t *)"t", 1}, 4, parts};
    fetch_req q = {0};
    q.ntopics = 1;
    q.topics = &topic;

    bb want = {.n = 0};
    b32(&want, 0); /* throttle */
    b16(&want, 0); /* error */
    b32(&want, 0); /* session id */
    b8(&want, 2);  /* one topic */
    bcstr(&want, "t");
    b8(&want, 5); /* four partitions */
    /* 0: DivergingEpoch {2, 90} */
    want_part_head(&want, &parts[0]);
    b8(&want, 0);  /* null aborted transactions */
    b32(&want, -1); /* preferred read replica */
    b8(&want, 1);  /* empty records */
    b8(&want, 1);  /* one tag */
    b8(&want, 0);  /* tag 0 */
    b8(&want, 13); /* size */
    b32(&want, 2);
    b64(&want, 90);
    b8(&want, 0); /* the struct's own tag buffer */
    /* 1: no tags */
    want_part_head(&want, &parts[1]);
    b8(&want, 2); /* one aborted transaction */
    b64(&want, 77);
    b64(&want, 100);
    b8(&want, 0);
    b32(&want, -1);
    b8(&want, 6); /* 5 bytes of records */
    for (int i = 0; i < 5; i++)
        b8(&want, k_records[i]);
    b8(&want, 0);
    /* 2: CurrentLeader {1, 5} */
    want_part_head(&want, &parts[2]);
    b8(&want, 0);
    b32(&want, -1);
    b8(&want, 1);
    b8(&want, 1);
    b8(&want, 1); /* tag 1 */
    b8(&want, 9);
    b32(&want, 1);
    b32(&want, 5);
    b8(&want, 0);
    /* 3: both, in tag order */
    want_part_head(&want, &parts[3]);
    b8(&want, 0);
    b32(&want, -1);
    b8(&want, 1);
    b8(&want, 2);
    b8(&want, 0);
    b8(&want, 13);
    b32(&want, 0);
    b64(&want, 0);
    b8(&want, 0);
    b8(&want, 1);
    b8(&want, 9);
    b32(&want, -1);
    b32(&want, 4);
    b8(&want, 0);
    b8(&want, 0); /* topic tags */
    b8(&want, 0); /* response tags */

    wr w;
    wr_init(&w, 16);
    w.flex = true;
    fetch_resp_encode(&w, 12, &q, 0);
    check_body(&w, &want, "Fetch v12");
    wr_free(&w);

    /* The same partitions at v11: classic layout, no tags whatever the tag fields say. */
    bb want11 = {.n = 0};
    b32(&want11, 0);
    b16(&want11, 0);
    b32(&want11, 0);
    b32(&want11, 1);
    b16(&want11, 1);
    b8(&want11, 't');
    b32(&want11, 4);
    for (int i = 0; i < 4; i++) {
        want_part_head(&want11, &parts[i]);
        b32(&want11, parts[i].naborted);
        for (int k = 0; k < parts[i].naborted; k++) {
            b64(&want11, parts[i].aborted[k].producer_id);
            b64(&want11, parts[i].aborted[k].first_offset);
        }
        b32(&want11, -1);
        b32(&want11, parts[i].records ? parts[i].records_len : 0);
        for (int k = 0; parts[i].records && k < parts[i].records_len; k++)
            b8(&want11, parts[i].records[k]);
    }
    wr_init(&w, 16);
    fetch_resp_encode(&w, 11, &q, 0);
    check_body(&w, &want11, "Fetch v11 with tag fields set");
    wr_free(&w);

    /* A whole v12 frame: response header v1 (an empty tag buffer after the id). */
    fetch_topic none = {{(const uint8_t *)"t", 1}, 0, NULL};
    q.topics = &none;
    req_header h = {API_FETCH, 12, 0x01020304, KSLICE_NULL, true};
    wr_init(&w, 16);
    resp_begin(&w, &h);
    fetch_resp_encode(&w, 12, &q, 0);
    resp_end(&w);
    static const uint8_t frame[] = {
        0,    0,    0,    21,   0x01, 0x02, 0x03, 0x04, 0x00, /* size, id, header tags */
        0,    0,    0,    0,    0,    0,    0,    0,    0,    0, /* throttle, error, session */
        0x02, 0x02, 't',  0x01, 0x00,                         /* topic "t", no partitions */
        0x00};
    CHECK_EQ_INT(w.len, sizeof(frame));
    CHECK_EQ_MEM(w.p, frame, sizeof(frame));
    wr_free(&w);
}

/* Reads a v12 response back the way a client does, tags included. */
typedef struct parsed_part {
    int32_t index;
    int16_t error;
    int64_t hw, lso, lso_start;
    int32_t naborted;
    kslice records;
    fetch_epoch_end diverging;
    fetch_leader leader;
    int unknown_tags;
} parsed_part;

static int parse_fetch12(const uint8_t *p, size_t n, parsed_part *out, int max)
{
    rd r;
    rd_init(&r, p, n);
    r.flex = true;
    (void)rd_i32(&r);
    if (rd_i16(&r) != 0 || rd_i32(&r) != 0)
        return -1;
    int32_t nt = rd_array(&r, 3);
    int got = 0;
    for (int32_t t = 0; t < nt && !r.err; t++) {
        (void)rd_str(&r);
        int32_t np = rd_array(&r, 1);
        for (int32_t k = 0; k < np && !r.err && got < max; k++) {
            parsed_part *pp = &out[got++];
            pp->index = rd_i32(&r);
            pp->error = rd_i16(&r);
            pp->hw = rd_i64(&r);
            pp->lso = rd_i64(&r);
            pp->lso_start = rd_i64(&r);
            pp->naborted = rd_array(&r, 17);
            for (int32_t a = 0; a < pp->naborted && !r.err; a++) {
                (void)rd_i64(&r);
                (void)rd_i64(&r);
                rd_tags(&r);
            }
            (void)rd_i32(&r);
            pp->records = rd_bytes(&r);
            pp->diverging = (fetch_epoch_end){-1, -1};
            pp->leader = (fetch_leader){-1, -1};
            pp->unknown_tags = 0;
            uint32_t ntags = rd_uvarint(&r);
            for (uint32_t i = 0; i < ntags && !r.err; i++) {
                uint32_t tag = rd_uvarint(&r);
                uint32_t size = rd_uvarint(&r);
                size_t end = r.off + size;
                if (tag == 0) {
                    pp->diverging.epoch = rd_i32(&r);
                    pp->diverging.end_offset = rd_i64(&r);
                    rd_tags(&r);
                } else if (tag == 1) {
                    pp->leader.leader_id = rd_i32(&r);
                    pp->leader.leader_epoch = rd_i32(&r);
                    rd_tags(&r);
                } else {
                    pp->unknown_tags++;
                    rd_skip(&r, size);
                }
                if (!r.err && r.off != end)
                    return -1;
            }
        }
        rd_tags(&r);
    }
    rd_tags(&r);
    if (r.err || rd_remaining(&r) != 0)
        return -1;
    return got;
}

static void test_fetch12_response_round_trip(void)
{
    fetch_aborted ab = {77, 100};
    fetch_part parts[4];
    fill_parts(parts, &ab);
    fetch_topic topic = {{(const uint8_t *)"topic-a", 7}, 4, parts};
    fetch_req q = {0};
    q.ntopics = 1;
    q.topics = &topic;
    wr w;
    wr_init(&w, 16);
    w.flex = true;
    fetch_resp_encode(&w, 12, &q, 0);
    parsed_part got[4];
    if (CHECK_EQ_INT(parse_fetch12(w.p, w.len, got, 4), 4)) {
        for (int i = 0; i < 4; i++) {
            CHECK_EQ_INT(got[i].index, parts[i].index);
            CHECK_EQ_INT(got[i].error, parts[i].error_code);
            CHECK_EQ_INT(got[i].hw, parts[i].high_watermark);
            CHECK_EQ_INT(got[i].lso, parts[i].last_stable_offset);
            CHECK_EQ_INT(got[i].lso_start, parts[i].resp_log_start_offset);
            CHECK_EQ_INT(got[i].naborted, parts[i].naborted);
            CHECK_EQ_INT(got[i].records.len, parts[i].records ? parts[i].records_len : 0);
            CHECK_EQ_INT(got[i].diverging.epoch, parts[i].diverging_epoch.epoch);
            CHECK_EQ_INT(got[i].diverging.end_offset, parts[i].diverging_epoch.end_offset);
            CHECK_EQ_INT(got[i].leader.leader_id, parts[i].current_leader.leader_id);
            CHECK_EQ_INT(got[i].leader.leader_epoch, parts[i].current_leader.leader_epoch);
            CHECK_EQ_INT(got[i].unknown_tags, 0);
        }
        CHECK_EQ_MEM(got[1].records.p, k_records, sizeof(k_records));
    }
    /* Every cut of the response is refused by the same reader: the encoder's lengths and
     * counts describe exactly the bytes it wrote. */
    int accepted = 0;
    for (size_t n = 0; n < w.len; n++)
        if (parse_fetch12(w.p, n, got, 4) >= 0)
            accepted++;
    CHECK_EQ_INT(accepted, 0);
    wr_free(&w);
}

/* ---- OffsetForLeaderEpoch ---- */

/* One topic "t" with partitions {0, current 5, epoch 4} and {1, current -1, epoch 9}. */
static void write_epoch_req(wr *w, int16_t v)
{
    req_start(w, API_OFFSET_FOR_LEADER_EPOCH, v);
    if (v >= 3)
        wr_i32(w, 1); /* replica id */
    wr_array(w, 1);
    wr_cstr(w, "t");
    wr_array(w, 2);
    wr_i32(w, 0);
    if (v >= 2)
        wr_i32(w, 5);
    wr_i32(w, 4);
    wr_tags(w);
    wr_i32(w, 1);
    if (v >= 2)
        wr_i32(w, -1);
    wr_i32(w, 9);
    wr_tags(w);
    wr_tags(w);
    wr_tags(w);
}

static int decode_epoch(const uint8_t *p, size_t n, arena *a, leaderepoch_req *q, size_t *left)
{
    rd r;
    rd_init(&r, p, n);
    req_header h;
    if (req_header_decode(&r, &h) != 0 || h.api_key != API_OFFSET_FOR_LEADER_EPOCH)
        return -2;
    int rc = leaderepoch_req_decode(&r, h.api_version, a, q);
    *left = rd_remaining(&r);
    return rc;
}

static void test_epoch_requests(void)
{
    for (int16_t v = 0; v <= 4; v++) {
        wr w;
        write_epoch_req(&w, v);
        CHECK_EQ_INT(w.flex, v >= 4);
        arena a;
        arena_init(&a);
        leaderepoch_req q;
        size_t left = 99;
        if (CHECK_EQ_INT(decode_epoch(w.p, w.len, &a, &q, &left), 0)) {
            CHECK_EQ_INT(left, 0);
            CHECK_EQ_INT(q.replica_id, v >= 3 ? 1 : -2);
            if (CHECK_EQ_INT(q.ntopics, 1) && CHECK_EQ_INT(q.topics[0].nparts, 2)) {
                CHECK_SLICE(q.topics[0].name, "t");
                leaderepoch_part *p = q.topics[0].parts;
                CHECK_EQ_INT(p[0].index, 0);
                CHECK_EQ_INT(p[0].current_leader_epoch, v >= 2 ? 5 : -1);
                CHECK_EQ_INT(p[0].leader_epoch, 4);
                CHECK_EQ_INT(p[1].index, 1);
                CHECK_EQ_INT(p[1].current_leader_epoch, -1);
                CHECK_EQ_INT(p[1].leader_epoch, 9);
                CHECK_EQ_INT(p[1].error_code, 0);
                CHECK_EQ_INT(p[1].resp_leader_epoch, -1);
                CHECK_EQ_INT(p[1].end_offset, -1);
            }
        }
        arena_free(&a);
        char what[40];
        snprintf(what, sizeof(what), "OffsetForLeaderEpoch v%d", v);
        check_robust(&w, what);
        wr_free(&w);
    }

    /* v4 (and v0), byte for byte: header v2 (classic client id, then a tag buffer),
     * compact arrays and strings, a tag buffer closing every struct. */
    /* clang-format off */
    static const uint8_t v4[] = {
        0x00, 0x17, 0x00, 0x04, 0x00, 0x00, 0x03, 0xec,       /* key 23, v4, id 1004 */
        0x00, 0x0b, 't', 'e', 's', 't', '-', 'c', 'l', 'i', 'e', 'n', 't',
        0x00,                                                 /* header tags */
        0x00, 0x00, 0x00, 0x01,                               /* replica id 1 */
        0x02, 0x02, 't', 0x03,                                /* one topic "t", two parts */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x09, 0x00,
        0x00, 0x00};                                          /* topic tags, request tags */
    static const uint8_t v0[] = {
        0x00, 0x17, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8,       /* key 23, v0, id 1000 */
        0x00, 0x0b, 't', 'e', 's', 't', '-', 'c', 'l', 'i', 'e', 'n', 't',
        0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',              /* one topic "t" */
        0x00, 0x00, 0x00, 0x02,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,       /* partition 0, epoch 4 */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x09};      /* partition 1, epoch 9 */
    /* clang-format on */
    static const struct {
        const uint8_t *bytes;
        size_t n;
        int16_t v;
    } lit[] = {{v4, sizeof(v4), 4}, {v0, sizeof(v0), 0}};
    for (size_t i = 0; i < 2; i++) {
        wr w;
        write_epoch_req(&w, lit[i].v);
        if (!CHECK_EQ_INT(w.len, lit[i].n) || !CHECK_EQ_MEM(w.p, lit[i].bytes, lit[i].n))
            printf("  (OffsetForLeaderEpoch v%d request bytes)\n", lit[i].v);
        wr_free(&w);
        arena a;
        arena_init(&a);
        leaderepoch_req q;
        size_t left = 99;
        if (CHECK_EQ_INT(decode_epoch(lit[i].bytes, lit[i].n, &a, &q, &left), 0) &&
            CHECK_EQ_INT(q.ntopics, 1) && CHECK_EQ_INT(q.topics[0].nparts, 2)) {
            CHECK_EQ_INT(left, 0);
            CHECK_EQ_INT(q.topics[0].parts[0].leader_epoch, 4);
            CHECK_EQ_INT(q.topics[0].parts[1].leader_epoch, 9);
        }
        arena_free(&a);
    }

    /* A null topic or partition list is malformed. */
    for (int16_t v = 0; v <= 4; v += 4) {
        wr w;
        req_start(&w, API_OFFSET_FOR_LEADER_EPOCH, v);
        wr_array(&w, -1);
        wr_tags(&w);
        arena a;
        arena_init(&a);
        leaderepoch_req q;
        size_t left;
        CHECK_EQ_INT(decode_epoch(w.p, w.len, &a, &q, &left), -1);
        arena_free(&a);
        wr_free(&w);
    }
}

static void test_epoch_responses(void)
{
    leaderepoch_part parts[2] = {
        {0, 5, 4, 0, 4, 42},   /* found: epoch 4 ends at 42 */
        {1, 3, 9, 74, -1, -1}, /* FENCED_LEADER_EPOCH */
    };
    leaderepoch_topic t = {{(const uint8_t *)"t", 1}, 2, parts};
    leaderepoch_req q = {1, 1, &t};
    for (int16_t v = 0; v <= 4; v++) {
        bool flex = v >= 4;
        bb want = {.n = 0};
        if (v >= 2)
            b32(&want, 0); /* throttle */
        if (flex) {
            b8(&want, 2);
            bcstr(&want, "t");
            b8(&want, 3);
        } else {
            b32(&want, 1);
            b16(&want, 1);
            b8(&want, 't');
            b32(&want, 2);
        }
        for (int i = 0; i < 2; i++) {
            b16(&want, parts[i].error_code); /* error first, then partition */
            b32(&want, parts[i].index);
            if (v >= 1)
                b32(&want, parts[i].resp_leader_epoch);
            b64(&want, parts[i].end_offset);
            if (flex)
                b8(&want, 0);
        }
        if (flex) {
            b8(&want, 0);
            b8(&want, 0);
        }
        wr w;
        wr_init(&w, 16);
        w.flex = flex;
        leaderepoch_resp_encode(&w, v, &q);
        char what[40];
        snprintf(what, sizeof(what), "OffsetForLeaderEpoch v%d response", v);
        check_body(&w, &want, what);
        wr_free(&w);
    }

    /* v4 and v0 as literal bytes. */
    /* clang-format off */
    static const uint8_t v4[] = {
        0x00, 0x00, 0x00, 0x00,                               /* throttle */
        0x02, 0x02, 't', 0x03,                                /* one topic "t", two parts */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00, /* NONE, 0, epoch 4, end 42 */
        0x00, 0x4a, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, /* 74, 1, -1, -1 */
        0x00, 0x00};
    static const uint8_t v0[] = {
        0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0x00, 0x00, 0x00, 0x02,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,
        0x00, 0x4a, 0x00, 0x00, 0x00, 0x01,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    /* clang-format on */
    wr w;
    wr_init(&w, 16);
    w.flex = true;
    leaderepoch_resp_encode(&w, 4, &q);
    CHECK_EQ_INT(w.len, sizeof(v4));
    CHECK_EQ_MEM(w.p, v4, sizeof(v4));
    wr_free(&w);
    wr_init(&w, 16);
    leaderepoch_resp_encode(&w, 0, &q);
    CHECK_EQ_INT(w.len, sizeof(v0));
    CHECK_EQ_MEM(w.p, v0, sizeof(v0));
    wr_free(&w);
}

static void test_version_table(void)
{
    const api_info *fe = api_lookup(API_FETCH);
    if (CHECK(fe != NULL)) {
        CHECK_EQ_INT(fe->max_version, 12);
        CHECK_EQ_INT(fe->flex_min, 12);
        CHECK(!api_is_flexible(API_FETCH, 11));
        CHECK(api_is_flexible(API_FETCH, 12));
    }
    const api_info *oe = api_lookup(API_OFFSET_FOR_LEADER_EPOCH);
    if (CHECK(oe != NULL)) {
        CHECK_EQ_INT(oe->key, 23);
        CHECK_EQ_INT(oe->min_version, 0);
        CHECK_EQ_INT(oe->max_version, 4);
        CHECK_EQ_INT(oe->flex_min, 4);
    }
}

TU_MAIN(TU_CASE(test_version_table), TU_CASE(test_fetch12_request),
        TU_CASE(test_fetch11_request_unchanged), TU_CASE(test_fetch12_response_bytes),
        TU_CASE(test_fetch12_response_round_trip), TU_CASE(test_epoch_requests),
        TU_CASE(test_epoch_responses))
