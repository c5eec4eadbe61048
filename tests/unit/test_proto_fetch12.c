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
 *
 * The client side (a replication follower's): fetch_req_encode is read back by
 * fetch_req_decode at every version v4..v12 (replica id, epochs, several topics, rack and
 * ClusterId forms) and pinned byte for byte at v12; fetch_resp_decode reads what the
 * server's fetch_resp_encode writes at every version (tags present and absent, records,
 * aborted transactions), a hand-written v12 body with null records and unknown tags at
 * every level, and refuses every cut, lying counts (before allocating), mis-sized tags,
 * nulls Kafka forbids and trailing bytes, on exact-size heap copies.
 */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "proto/api.h"
#include "proto/msgs.h"
#include "proto_testutil.h"
#include "testutil.h"

/* ---- requests ---- */

/* Decodes the request in w (header, then body with fetch_req_decode) into q, in a: true when
 * it decodes to its last byte, failed checks otherwise. */
static bool decode_fetch(const wr *w, arena *a, fetch_req *q)
{
    rd r;
    rd_init(&r, w->p, w->len);
    req_header h;
    return CHECK_EQ_INT(req_header_decode(&r, &h), 0) &&
           CHECK_EQ_INT(fetch_req_decode(&r, h.api_version, a, q), 0) &&
           CHECK_EQ_INT(rd_remaining(&r), 0);
}

enum cluster_id_form { CID_ABSENT, CID_NULL, CID_SET, CID_SIZE_LONG, CID_SIZE_SHORT };

/* The request-level fields of write_fetch12's request: a follower, read_committed. */
static const fetch_req k_head12 = {.replica_id = 2,
                                   .max_wait_ms = 500,
                                   .min_bytes = 1,
                                   .max_bytes = 52428800,
                                   .isolation_level = 1,
                                   .session_id = 0,
                                   .session_epoch = -1};

/* A Fetch v12 request like librdkafka 2.15's, plus what a follower adds: two partitions
 * (one with LastFetchedEpoch and an unknown partition tag), a forgotten topic, a rack,
 * and at the top the ClusterId tag in one of its forms, after an unknown tag. */
static void write_fetch12(wr *w, enum cluster_id_form cid)
{
    req_start(w, API_FETCH, 12);
    write_fetch_head(w, 12, &k_head12);
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
        if (decode_fetch(&w, &a, &q)) {
            check_fetch_head(&q, &k_head12);
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
                CHECK(p->records.len < 0);
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
        if (!CHECK_EQ_INT(decode_whole(&w), -1))
            printf("  (ClusterId whose size %s its string)\n",
                   bad[f] == CID_SIZE_LONG ? "exceeds" : "falls short of");
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
        if (!CHECK_EQ_INT(decode_whole(&w), -1))
            printf("  (tag buffer tail %zu)\n", t);
        wr_free(&w);
    }

    /* Array counts beyond what the bytes can hold are refused before any allocation. */
    wr w;
    req_start(&w, API_FETCH, 12);
    write_fetch_head(&w, 12, &(fetch_req){.replica_id = -1, .session_epoch = -1});
    wr_array(&w, 1);
    wr_cstr(&w, "t");
    wr_uvarint(&w, 1000000); /* a million partitions in a few bytes */
    wr_raw(&w, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    CHECK_EQ_INT(decode_whole(&w), -1);
    wr_free(&w);
}

/* The v11 decoder is unchanged by v12: no LastFetchedEpoch, no tags, classic strings. */
static void test_fetch11_request_unchanged(void)
{
    wr w;
    req_start(&w, API_FETCH, 11);
    CHECK(!w.flex);
    const fetch_req head = {.replica_id = -1,
                            .max_wait_ms = 100,
                            .min_bytes = 1,
                            .max_bytes = 1000,
                            .isolation_level = 0,
                            .session_id = 0,
                            .session_epoch = -1};
    write_fetch_head(&w, 11, &head);
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
    if (decode_fetch(&w, &a, &q) && CHECK_EQ_INT(q.ntopics, 1)) {
        check_fetch_head(&q, &head);
        CHECK_EQ_INT(q.topics[0].parts[0].last_fetched_epoch, -1);
        CHECK_EQ_INT(q.topics[0].parts[0].fetch_offset, 10);
        CHECK_SLICE(q.cluster_id, NULL);
    }
    arena_free(&a);
    check_robust(&w, "Fetch v11");
    wr_free(&w);
}

/* ---- responses ---- */

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
    parts[1].records = (kslice){k_records, 5};
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
    fetch_topic topic = {.name = {(const uint8_t *)"t", 1}, .nparts = 4, .parts = parts};
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
        b32(&want11, (parts[i].records.len > 0 ? parts[i].records.len : 0));
        for (int k = 0; k < parts[i].records.len; k++)
            b8(&want11, parts[i].records.p[k]);
    }
    wr_init(&w, 16);
    fetch_resp_encode(&w, 11, &q, 0);
    check_body(&w, &want11, "Fetch v11 with tag fields set");
    wr_free(&w);

    /* A whole v12 frame: response header v1 (an empty tag buffer after the id). */
    fetch_topic none = {.name = {(const uint8_t *)"t", 1}, .nparts = 0, .parts = NULL};
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
    check_bytes(&w, frame, sizeof(frame), "Fetch v12 frame");
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
    fetch_topic topic = {.name = {(const uint8_t *)"topic-a", 7}, .nparts = 4, .parts = parts};
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
            CHECK_EQ_INT(got[i].records.len, (parts[i].records.len > 0 ? parts[i].records.len : 0));
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

/* ---- the client side: fetch_req_encode and fetch_resp_decode ---- */

/* Three topics of a follower's fetch: epochs known and unknown, offsets distinct per
 * partition so a shuffled field shows. */
typedef struct client_req {
    fetch_part parts[6];
    fetch_topic topics[3];
    fetch_req q;
} client_req;

static void fill_client_req(client_req *c, kslice rack, kslice cluster_id)
{
    memset(c, 0, sizeof(*c));
    for (int i = 0; i < 6; i++) {
        fetch_part *p = &c->parts[i];
        p->index = i == 3 ? 0 : i;
        p->current_leader_epoch = i == 4 ? -1 : 10 + i;
        p->fetch_offset = 1000 * (int64_t)i + 17 + ((int64_t)1 << 40);
        p->last_fetched_epoch = i == 4 ? -1 : 7 + i;
        p->log_start_offset = i == 5 ? -1 : 3 * i;
        p->partition_max_bytes = 1048576 + i;
    }
    c->topics[0] = (fetch_topic){.name = kslice_cstr("alpha"), .nparts = 3, .parts = &c->parts[0]};
    c->topics[1] = (fetch_topic){.name = kslice_cstr("b"), .nparts = 1, .parts = &c->parts[3]};
    c->topics[2] = (fetch_topic){.name = kslice_cstr("topic-c"), .nparts = 2, .parts = &c->parts[4]};
    c->q = (fetch_req){.replica_id = 3,
                       .max_wait_ms = 500,
                       .min_bytes = 1,
                       .max_bytes = 10485760,
                       .isolation_level = 1,
                       .session_id = 0x1234,
                       .session_epoch = 5,
                       .ntopics = 3,
                       .topics = c->topics,
                       .rack_id = rack,
                       .cluster_id = cluster_id};
}

static void test_fetch_req_encode_round_trip(void)
{
    static const char *const racks[] = {"rack-b", NULL};
    char long_id[201]; /* a ClusterId whose tagged field size takes two varint bytes */
    for (int i = 0; i < 200; i++)
        long_id[i] = (char)('a' + i % 26);
    long_id[200] = 0;
    const char *const cids[] = {"brook-cluster", NULL, "", long_id};
    for (int16_t v = 4; v <= 12; v++) {
        for (size_t k = 0; k < 4; k++) {
            client_req c;
            fill_client_req(&c, kslice_cstr(racks[k % 2]), kslice_cstr(cids[k]));
            if (k == 1)
                c.q.replica_id = -1; /* a consumer */
            wr w;
            req_start(&w, API_FETCH, v);
            fetch_req_encode(&w, v, &c.q);
            CHECK_EQ_INT(w.flex, v >= 12);
            CHECK(!w.oom);
            char what[64];
            snprintf(what, sizeof(what), "fetch_req_encode v%d, case %zu", v, k);
            arena a;
            arena_init(&a);
            fetch_req q;
            if (!decode_fetch(&w, &a, &q) || !CHECK_EQ_INT(q.ntopics, 3)) {
                printf("  (%s)\n", what);
                arena_free(&a);
                wr_free(&w);
                continue;
            }
            int before = tu_failures_;
            fetch_req head = c.q;
            if (v < 7) { /* no session before v7: the decoder's defaults */
                head.session_id = 0;
                head.session_epoch = -1;
            }
            check_fetch_head(&q, &head);
            /* a null rack goes out as "": RackId is not nullable */
            CHECK_SLICE(q.rack_id, v >= 11 ? (racks[k % 2] ? racks[k % 2] : "") : NULL);
            CHECK_SLICE(q.cluster_id, v >= 12 ? cids[k] : NULL);
            for (int t = 0; t < 3; t++) {
                const fetch_topic *want = &c.topics[t];
                const fetch_topic *got = &q.topics[t];
                CHECK_EQ_INT(got->name.len, want->name.len);
                CHECK_EQ_MEM(got->name.p, want->name.p, (size_t)want->name.len);
                if (!CHECK_EQ_INT(got->nparts, want->nparts))
                    continue;
                for (int p = 0; p < want->nparts; p++) {
                    const fetch_part *wp = &want->parts[p], *gp = &got->parts[p];
                    CHECK_EQ_INT(gp->index, wp->index);
                    CHECK_EQ_INT(gp->current_leader_epoch,
                                 v >= 9 ? wp->current_leader_epoch : -1);
                    CHECK_EQ_INT(gp->fetch_offset, wp->fetch_offset);
                    CHECK_EQ_INT(gp->last_fetched_epoch, v >= 12 ? wp->last_fetched_epoch : -1);
                    CHECK_EQ_INT(gp->log_start_offset, v >= 5 ? wp->log_start_offset : -1);
                    CHECK_EQ_INT(gp->partition_max_bytes, wp->partition_max_bytes);
                }
            }
            if (tu_failures_ != before)
                printf("  (%s)\n", what);
            arena_free(&a);
            check_robust(&w, what);
            wr_free(&w);
        }
    }

    /* No topics at all (a follower with nothing to fetch still sends a valid request). */
    fetch_req empty = {.replica_id = 2, .session_epoch = -1, .rack_id = KSLICE_NULL,
                       .cluster_id = KSLICE_NULL};
    wr w;
    req_start(&w, API_FETCH, 12);
    fetch_req_encode(&w, 12, &empty);
    arena a;
    arena_init(&a);
    fetch_req q;
    if (decode_fetch(&w, &a, &q)) {
        CHECK_EQ_INT(q.ntopics, 0);
        CHECK_EQ_INT(q.replica_id, 2);
    }
    arena_free(&a);
    wr_free(&w);
}

/* A follower's v12 request, byte for byte against Kafka's FetchRequest schema. */
static void test_fetch_req_encode_bytes(void)
{
    fetch_part part = {.index = 0,
                       .current_leader_epoch = 5,
                       .fetch_offset = 100,
                       .last_fetched_epoch = 4,
                       .log_start_offset = 7,
                       .partition_max_bytes = 1048576};
    fetch_topic topic = {.name = kslice_cstr("t"), .nparts = 1, .parts = &part};
    fetch_req q = {.replica_id = 2,
                   .max_wait_ms = 500,
                   .min_bytes = 1,
                   .max_bytes = 1048576,
                   .isolation_level = 1,
                   .session_id = 0,
                   .session_epoch = -1,
                   .ntopics = 1,
                   .topics = &topic,
                   .rack_id = KSLICE_NULL,
                   .cluster_id = kslice_cstr("c")};
    /* clang-format off */
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x02,                         /* replica id */
        0x00, 0x00, 0x01, 0xf4,                         /* max wait 500 */
        0x00, 0x00, 0x00, 0x01,                         /* min bytes */
        0x00, 0x10, 0x00, 0x00,                         /* max bytes */
        0x01,                                           /* read_committed */
        0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, /* session 0, epoch -1 */
        0x02, 0x02, 't', 0x02,                          /* one topic "t", one partition */
        0x00, 0x00, 0x00, 0x00,                         /* partition 0 */
        0x00, 0x00, 0x00, 0x05,                         /* current leader epoch */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, /* fetch offset 100 */
        0x00, 0x00, 0x00, 0x04,                         /* last fetched epoch */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, /* log start offset */
        0x00, 0x10, 0x00, 0x00,                         /* partition max bytes */
        0x00, 0x00,                                     /* partition tags, topic tags */
        0x01,                                           /* no forgotten topics */
        0x01,                                           /* rack "" */
        0x01, 0x00, 0x02, 0x02, 'c'};                   /* ClusterId (tag 0) "c" */
    /* clang-format on */
    wr w;
    wr_init(&w, 16);
    fetch_req_encode(&w, 12, &q);
    check_bytes(&w, want, sizeof(want), "Fetch v12 request");
    wr_free(&w);

    /* Without a cluster id the request ends with an empty tag buffer. */
    q.cluster_id = KSLICE_NULL;
    wr_init(&w, 16);
    fetch_req_encode(&w, 12, &q);
    if (CHECK_EQ_INT(w.len, sizeof(want) - 4)) {
        CHECK_EQ_MEM(w.p, want, sizeof(want) - 5);
        CHECK_EQ_INT(w.p[w.len - 1], 0);
    }
    wr_free(&w);
}

/* Decodes the body in p[0..n) into out; the kslices in out borrow p. */
static int decode_resp(const uint8_t *p, size_t n, int16_t v, arena *a, fetch_resp *out,
                       size_t *off)
{
    rd r;
    rd_init(&r, p, n);
    int rc = fetch_resp_decode(&r, v, a, out);
    if (off)
        *off = r.off;
    return rc;
}

/* The same on an exact-size heap copy of the first n bytes (byte pos replaced by val when
 * pos < n), so AddressSanitizer sees any read past the end. Only rc and the offset stay. */
static int decode_resp_copy(const uint8_t *src, size_t n, int16_t v, size_t pos, uint8_t val,
                            size_t *off)
{
    uint8_t *p = malloc(n ? n : 1);
    if (n)
        memcpy(p, src, n);
    if (pos < n)
        p[pos] = val;
    arena a;
    arena_init(&a);
    fetch_resp out;
    int rc = decode_resp(p, n, v, &a, &out, off);
    arena_free(&a);
    free(p);
    return rc;
}

/* What the leader answers: fill_parts's four partitions (tags in every combination, records
 * with an aborted transaction, an error) as topic "topic-a", and a topic "b" with three
 * aborted transactions and 300 bytes of records (a two-byte compact length) in one
 * partition and an empty, non-null aborted list in the other. */
typedef struct leader_resp {
    fetch_aborted ab1, ab3[3];
    uint8_t big[300];
    fetch_part parts[6];
    fetch_topic topics[2];
    fetch_req q;
} leader_resp;

static void fill_leader_resp(leader_resp *l)
{
    memset(l, 0, sizeof(*l));
    l->ab1 = (fetch_aborted){77, 100};
    for (int i = 0; i < 3; i++)
        l->ab3[i] = (fetch_aborted){((int64_t)1 << 50) + i, 200 + 10 * i};
    for (int i = 0; i < 300; i++)
        l->big[i] = (uint8_t)(i * 7 + 1);
    fill_parts(l->parts, &l->ab1);
    for (int i = 4; i < 6; i++) {
        l->parts[i] = l->parts[1];
        l->parts[i].index = 10 + i;
        l->parts[i].diverging_epoch = (fetch_epoch_end){-1, -1};
        l->parts[i].current_leader = (fetch_leader){-1, -1};
    }
    l->parts[4].naborted = 3;
    l->parts[4].aborted = l->ab3;
    l->parts[4].records = (kslice){l->big, 300};
    l->parts[4].high_watermark = (int64_t)1 << 33;
    l->parts[5].naborted = 0;
    l->parts[5].aborted = NULL;
    l->parts[5].records = KSLICE_NULL;
    l->parts[5].error_code = 1; /* OFFSET_OUT_OF_RANGE */
    l->topics[0] = (fetch_topic){.name = kslice_cstr("topic-a"), .nparts = 4, .parts = &l->parts[0]};
    l->topics[1] = (fetch_topic){.name = kslice_cstr("b"), .nparts = 2, .parts = &l->parts[4]};
    l->q = (fetch_req){.ntopics = 2, .topics = l->topics};
}

static void encode_leader_resp(wr *w, int16_t v, const leader_resp *l, int16_t error_code)
{
    wr_init(w, 64);
    w->flex = api_is_flexible(API_FETCH, v); /* as resp_begin sets it */
    fetch_resp_encode(w, v, &l->q, error_code);
}

/* Compares a decoded response with what the leader encoded at version v. */
static bool check_leader_resp(const fetch_resp *got, int16_t v, const leader_resp *l,
                              int16_t error_code)
{
    int before = tu_failures_;
    CHECK_EQ_INT(got->throttle_time_ms, 0);
    CHECK_EQ_INT(got->error_code, v >= 7 ? error_code : 0);
    CHECK_EQ_INT(got->session_id, 0);
    if (!CHECK_EQ_INT(got->ntopics, l->q.ntopics))
        return false;
    for (int32_t t = 0; t < got->ntopics; t++) {
        const fetch_topic *wt = &l->topics[t];
        const fetch_resp_topic *gt = &got->topics[t];
        CHECK_EQ_INT(gt->name.len, wt->name.len);
        CHECK_EQ_MEM(gt->name.p, wt->name.p, (size_t)wt->name.len);
        if (!CHECK_EQ_INT(gt->nparts, wt->nparts))
            continue;
        for (int32_t p = 0; p < gt->nparts; p++) {
            const fetch_part *w = &wt->parts[p];
            const fetch_resp_part *g = &gt->parts[p];
            CHECK_EQ_INT(g->index, w->index);
            CHECK_EQ_INT(g->error_code, w->error_code);
            CHECK_EQ_INT(g->high_watermark, w->high_watermark);
            CHECK_EQ_INT(g->last_stable_offset, w->last_stable_offset);
            CHECK_EQ_INT(g->log_start_offset, v >= 5 ? w->resp_log_start_offset : -1);
            CHECK_EQ_INT(g->preferred_read_replica, -1);
            if (CHECK_EQ_INT(g->naborted, w->naborted)) {
                for (int32_t k = 0; k < g->naborted; k++) {
                    CHECK_EQ_INT(g->aborted[k].producer_id, w->aborted[k].producer_id);
                    CHECK_EQ_INT(g->aborted[k].first_offset, w->aborted[k].first_offset);
                }
            }
            /* the encoder sends no records as empty bytes, never null */
            int32_t want_len = (w->records.len > 0 ? w->records.len : 0);
            if (CHECK_EQ_INT(g->records.len, want_len) && want_len > 0)
                CHECK_EQ_MEM(g->records.p, w->records.p, (size_t)want_len);
            bool tags = v >= 12;
            CHECK_EQ_INT(g->diverging_epoch.epoch, tags ? w->diverging_epoch.epoch : -1);
            CHECK_EQ_INT(g->diverging_epoch.end_offset,
                         tags ? w->diverging_epoch.end_offset : -1);
            CHECK_EQ_INT(g->current_leader.leader_id, tags ? w->current_leader.leader_id : -1);
            CHECK_EQ_INT(g->current_leader.leader_epoch,
                         tags ? w->current_leader.leader_epoch : -1);
        }
    }
    return tu_failures_ == before;
}

static void test_fetch_resp_decode_round_trip(void)
{
    leader_resp l;
    fill_leader_resp(&l);
    for (int16_t v = 4; v <= 12; v++) {
        for (int16_t err = 0; err <= 3; err += 3) {
            wr w;
            encode_leader_resp(&w, v, &l, err);
            arena a;
            arena_init(&a);
            fetch_resp got;
            size_t off = 0;
            if (!CHECK_EQ_INT(decode_resp(w.p, w.len, v, &a, &got, &off), 0) ||
                !CHECK_EQ_INT(off, w.len) || !check_leader_resp(&got, v, &l, err))
                printf("  (Fetch v%d response, error %d)\n", v, err);
            arena_free(&a);
            wr_free(&w);
        }
    }

    /* A whole v12 frame as a follower receives it: after the size and correlation id, the
     * response header's tag buffer, then the body. */
    req_header h = {API_FETCH, 12, 42, KSLICE_NULL, true};
    wr w;
    wr_init(&w, 64);
    resp_begin(&w, &h);
    fetch_resp_encode(&w, 12, &l.q, 0);
    resp_end(&w);
    rd r;
    rd_init(&r, w.p, w.len);
    CHECK_EQ_INT(rd_i32(&r), (int32_t)w.len - 4);
    CHECK_EQ_INT(rd_i32(&r), 42);
    r.flex = true;
    rd_tags(&r);
    arena a;
    arena_init(&a);
    fetch_resp got;
    if (CHECK_EQ_INT(fetch_resp_decode(&r, 12, &a, &got), 0))
        check_leader_resp(&got, 12, &l, 0);
    arena_free(&a);
    wr_free(&w);

    /* An empty answer with a top-level error. */
    fetch_req none = {0};
    wr_init(&w, 16);
    w.flex = true;
    fetch_resp_encode(&w, 12, &none, 71);
    arena_init(&a);
    if (CHECK_EQ_INT(decode_resp(w.p, w.len, 12, &a, &got, NULL), 0)) {
        CHECK_EQ_INT(got.error_code, 71);
        CHECK_EQ_INT(got.ntopics, 0);
        CHECK(got.topics == NULL);
    }
    arena_free(&a);
    wr_free(&w);
}

/* Parts of a hand-written v12 response with one topic "t" and one partition. */
enum resp_variant {
    RV_PLAIN,            /* null records, unknown tags at every level, DivergingEpoch */
    RV_LEADER_NESTED,    /* CurrentLeader whose own tag buffer holds an unknown tag */
    RV_DIVERGING_LONG,   /* DivergingEpoch whose size exceeds its content */
    RV_DIVERGING_SHORT,  /* ... or falls short of it */
    RV_TRAILING,         /* a byte after the body */
    RV_NULL_TOPICS,      /* Responses null */
    RV_NULL_PARTS,       /* Partitions null */
    RV_NULL_NAME,        /* Topic null */
    RV_RECORDS_LIE,      /* records longer than the bytes left */
    RV_ABORTED_LIE,      /* a million aborted transactions in a few bytes */
    RV_PARTS_LIE,        /* a million partitions */
};

static void write_resp12(wr *w, enum resp_variant rv)
{
    wr_init(w, 64);
    w->flex = true;
    wr_i32(w, 7);  /* throttle */
    wr_i16(w, 0);  /* error */
    wr_i32(w, 0);  /* session */
    if (rv == RV_NULL_TOPICS) {
        wr_array(w, -1);
        wr_tags(w);
        return;
    }
    wr_array(w, 1);
    wr_str(w, rv == RV_NULL_NAME ? KSLICE_NULL : kslice_cstr("t"));
    if (rv == RV_NULL_PARTS) {
        wr_array(w, -1);
        wr_tags(w);
        wr_tags(w);
        return;
    }
    wr_array(w, rv == RV_PARTS_LIE ? 1000000 : 1);
    wr_i32(w, 3);  /* partition */
    wr_i16(w, 0);
    wr_i64(w, 50); /* high watermark */
    wr_i64(w, 40); /* last stable offset */
    wr_i64(w, 1);  /* log start offset */
    if (rv == RV_ABORTED_LIE) {
        wr_array(w, 1000000);
        wr_raw(w, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
        return;
    }
    wr_array(w, -1); /* aborted: null */
    wr_i32(w, 2);    /* preferred read replica */
    if (rv == RV_RECORDS_LIE) {
        wr_uvarint(w, 1001);
        wr_raw(w, "\1\2\3\4\5", 5);
        return;
    }
    wr_bytes(w, KSLICE_NULL);
    switch (rv) {
    case RV_LEADER_NESTED:
        wr_uvarint(w, 1);
        wr_uvarint(w, 1);         /* CurrentLeader */
        wr_uvarint(w, 4 + 4 + 5); /* with a 4-byte unknown tag inside */
        wr_i32(w, 9);
        wr_i32(w, 12);
        wr_uvarint(w, 1);
        wr_uvarint(w, 5);
        wr_uvarint(w, 2);
        wr_i16(w, 0x7777);
        break;
    case RV_DIVERGING_LONG:
    case RV_DIVERGING_SHORT:
        wr_uvarint(w, 1);
        wr_uvarint(w, 0);
        wr_uvarint(w, rv == RV_DIVERGING_LONG ? 14 : 12);
        wr_i32(w, 4);
        wr_i64(w, 33);
        wr_tags(w);
        if (rv == RV_DIVERGING_LONG)
            wr_i8(w, 0);
        break;
    default:
        wr_uvarint(w, 3);
        wr_uvarint(w, 0); /* DivergingEpoch {4, 33} */
        wr_uvarint(w, 13);
        wr_i32(w, 4);
        wr_i64(w, 33);
        wr_tags(w);
        wr_uvarint(w, 2); /* SnapshotId {EndOffset, Epoch}: not ours, skipped */
        wr_uvarint(w, 13);
        wr_i64(w, 30);
        wr_i32(w, 3);
        wr_tags(w);
        wr_uvarint(w, 9); /* a tag from the future */
        wr_uvarint(w, 3);
        wr_raw(w, "xyz", 3);
        break;
    }
    wr_uvarint(w, 1); /* topic tags: one unknown */
    wr_uvarint(w, 4);
    wr_uvarint(w, 1);
    wr_i8(w, 0);
    wr_uvarint(w, 1); /* response tags: NodeEndpoints (v16+), unknown here */
    wr_uvarint(w, 0);
    wr_uvarint(w, 1);
    wr_uvarint(w, 1); /* an empty compact array */
    if (rv == RV_TRAILING)
        wr_i8(w, 0);
}

static void test_fetch_resp_decode_tags_and_lies(void)
{
    wr w;
    arena a;
    fetch_resp got;
    size_t off = 0;

    write_resp12(&w, RV_PLAIN);
    arena_init(&a);
    if (CHECK_EQ_INT(decode_resp(w.p, w.len, 12, &a, &got, &off), 0) &&
        CHECK_EQ_INT(off, w.len) && CHECK_EQ_INT(got.ntopics, 1) &&
        CHECK_EQ_INT(got.topics[0].nparts, 1)) {
        CHECK_EQ_INT(got.throttle_time_ms, 7);
        CHECK_SLICE(got.topics[0].name, "t");
        const fetch_resp_part *p = &got.topics[0].parts[0];
        CHECK_EQ_INT(p->index, 3);
        CHECK_EQ_INT(p->high_watermark, 50);
        CHECK_EQ_INT(p->last_stable_offset, 40);
        CHECK_EQ_INT(p->log_start_offset, 1);
        CHECK_EQ_INT(p->naborted, -1);
        CHECK(p->aborted == NULL);
        CHECK_EQ_INT(p->preferred_read_replica, 2);
        CHECK_SLICE(p->records, NULL);
        CHECK_EQ_INT(p->diverging_epoch.epoch, 4);
        CHECK_EQ_INT(p->diverging_epoch.end_offset, 33);
        CHECK_EQ_INT(p->current_leader.leader_id, -1);
        CHECK_EQ_INT(p->current_leader.leader_epoch, -1);
    }
    arena_free(&a);
    int accepted = 0;
    for (size_t n = 0; n < w.len; n++)
        if (decode_resp_copy(w.p, n, 12, SIZE_MAX, 0, &off) != -1 || off > n)
            accepted++;
    CHECK_EQ_INT(accepted, 0);
    /* Read as another version, the same bytes must not decode (nor overrun). */
    for (int16_t v = 3; v <= 13; v++) {
        if (v == 12)
            continue;
        if (!CHECK_EQ_INT(decode_resp_copy(w.p, w.len, v, SIZE_MAX, 0, &off), -1))
            printf("  (a v12 body read as v%d)\n", v);
    }
    wr_free(&w);

    write_resp12(&w, RV_LEADER_NESTED);
    arena_init(&a);
    if (CHECK_EQ_INT(decode_resp(w.p, w.len, 12, &a, &got, NULL), 0) &&
        CHECK_EQ_INT(got.ntopics, 1) && CHECK_EQ_INT(got.topics[0].nparts, 1)) {
        const fetch_resp_part *p = &got.topics[0].parts[0];
        CHECK_EQ_INT(p->current_leader.leader_id, 9);
        CHECK_EQ_INT(p->current_leader.leader_epoch, 12);
        CHECK_EQ_INT(p->diverging_epoch.epoch, -1);
        CHECK_EQ_INT(p->diverging_epoch.end_offset, -1);
    }
    arena_free(&a);
    wr_free(&w);

    static const struct {
        enum resp_variant rv;
        const char *what;
    } bad[] = {
        {RV_DIVERGING_LONG, "DivergingEpoch longer than its fields"},
        {RV_DIVERGING_SHORT, "DivergingEpoch shorter than its fields"},
        {RV_TRAILING, "a trailing byte"},
        {RV_NULL_TOPICS, "null Responses"},
        {RV_NULL_PARTS, "null Partitions"},
        {RV_NULL_NAME, "null Topic"},
        {RV_RECORDS_LIE, "records past the end"},
        {RV_ABORTED_LIE, "a lying aborted-transaction count"},
        {RV_PARTS_LIE, "a lying partition count"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_resp12(&w, bad[i].rv);
        if (!CHECK_EQ_INT(decode_resp_copy(w.p, w.len, 12, SIZE_MAX, 0, &off), -1) ||
            !CHECK(off <= w.len))
            printf("  (%s)\n", bad[i].what);
        wr_free(&w);
    }

    /* A lying topic count is refused before anything is allocated. */
    for (int16_t v = 11; v <= 12; v++) {
        wr_init(&w, 16);
        w.flex = v >= 12;
        wr_i32(&w, 0);
        wr_i16(&w, 0);
        wr_i32(&w, 0);
        wr_array(&w, 1000000);
        wr_raw(&w, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
        arena_init(&a);
        CHECK_EQ_INT(decode_resp(w.p, w.len, v, &a, &got, NULL), -1);
        CHECK(a.head == NULL);
        arena_free(&a);
        wr_free(&w);
    }
}

/* Every cut of a leader's response is refused, and no byte substitution makes the decoder
 * read past the end, at v12 (tags) and at the classic v11, v7 and v4 layouts. */
static void test_fetch_resp_decode_truncation(void)
{
    leader_resp l;
    fill_leader_resp(&l);
    static const int16_t versions[] = {12, 11, 7, 4};
    static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        int16_t v = versions[i];
        wr w;
        encode_leader_resp(&w, v, &l, 0);
        size_t off = 0;
        CHECK_EQ_INT(decode_resp_copy(w.p, w.len, v, SIZE_MAX, 0, &off), 0);
        int accepted = 0, overran = 0;
        for (size_t n = 0; n < w.len; n++) {
            if (decode_resp_copy(w.p, n, v, SIZE_MAX, 0, &off) != -1 && accepted++ < 3)
                printf("  Fetch v%d response accepted when cut to %zu of %zu bytes\n", v, n,
                       w.len);
            if (off > n)
                overran++;
        }
        for (size_t pos = 0; pos < w.len; pos++)
            for (size_t k = 0; k < sizeof(vals); k++) {
                (void)decode_resp_copy(w.p, w.len, v, pos, vals[k], &off);
                if (off > w.len)
                    overran++;
            }
        if (!CHECK_EQ_INT(accepted, 0) || !CHECK_EQ_INT(overran, 0))
            printf("  (Fetch v%d response, %zu bytes)\n", v, w.len);
        wr_free(&w);
    }
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

/* Decodes the request in p[0..n) (header, then body with leaderepoch_req_decode) into q, in
 * a: true when it decodes to its last byte, failed checks otherwise. */
static bool decode_epoch(const uint8_t *p, size_t n, arena *a, leaderepoch_req *q)
{
    rd r;
    rd_init(&r, p, n);
    req_header h;
    return CHECK_EQ_INT(req_header_decode(&r, &h), 0) &&
           CHECK_EQ_INT(h.api_key, API_OFFSET_FOR_LEADER_EPOCH) &&
           CHECK_EQ_INT(leaderepoch_req_decode(&r, h.api_version, a, q), 0) &&
           CHECK_EQ_INT(rd_remaining(&r), 0);
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
        if (decode_epoch(w.p, w.len, &a, &q)) {
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
    static const lit_bytes lit[] = {{v4, sizeof(v4), 4}, {v0, sizeof(v0), 0}};
    for (size_t i = 0; i < 2; i++) {
        wr w;
        write_epoch_req(&w, lit[i].v);
        char what[48];
        snprintf(what, sizeof(what), "OffsetForLeaderEpoch v%d request bytes", lit[i].v);
        check_bytes(&w, lit[i].bytes, lit[i].n, what);
        wr_free(&w);
        arena a;
        arena_init(&a);
        leaderepoch_req q;
        if (decode_epoch(lit[i].bytes, lit[i].n, &a, &q) && CHECK_EQ_INT(q.ntopics, 1) &&
            CHECK_EQ_INT(q.topics[0].nparts, 2)) {
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
        CHECK_EQ_INT(decode_whole(&w), -1);
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
    static const lit_bytes lit[] = {{v4, sizeof(v4), 4}, {v0, sizeof(v0), 0}};
    for (size_t i = 0; i < 2; i++) {
        wr w;
        wr_init(&w, 16);
        w.flex = lit[i].v >= 4;
        leaderepoch_resp_encode(&w, lit[i].v, &q);
        char what[48];
        snprintf(what, sizeof(what), "OffsetForLeaderEpoch v%d response bytes", lit[i].v);
        check_bytes(&w, lit[i].bytes, lit[i].n, what);
        wr_free(&w);
    }
}

static void test_version_table(void)
{
    const api_info *fe = api_lookup(API_FETCH);
    if (CHECK(fe != NULL)) {
        CHECK(fe->max_version >= 12); /* 13+ (topic ids): test_proto_topic_ids.c */
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
        TU_CASE(test_fetch12_response_round_trip), TU_CASE(test_fetch_req_encode_round_trip),
        TU_CASE(test_fetch_req_encode_bytes), TU_CASE(test_fetch_resp_decode_round_trip),
        TU_CASE(test_fetch_resp_decode_tags_and_lies), TU_CASE(test_fetch_resp_decode_truncation),
        TU_CASE(test_epoch_requests), TU_CASE(test_epoch_responses))
