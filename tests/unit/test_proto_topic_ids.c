/*
 * test_proto_topic_ids.c - the protocol versions that carry topic ids (proto/msgs.h), against
 * Kafka's message definitions (the JSON under clients/src/main/resources/common/message):
 * Metadata v9-v13, CreateTopics v5-v7, DeleteTopics v4-v6, Fetch v13-v16 and Produce v13.
 *
 * Each request is written by hand field by field (compact strings and arrays, UUIDs, tag
 * buffers) after a request header v2, decoded, and its fields checked; every request also
 * goes through check_robust (the whole request decodes to its last byte, every shorter cut
 * is refused, no byte substitution reads past the end, on exact-size heap copies). Lying
 * array counts are refused before anything is allocated. Each response is encoded and
 * compared with bytes written out by hand (proto_testutil.h's byte builder, independent of
 * wr_*): ids where names were, nullable names, the KIP-525 CreateTopics fields, the v16
 * NodeEndpoints and CurrentLeader tagged fields.
 */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/msgs.h"
#include "proto_testutil.h"
#include "testutil.h"

static const uint8_t ID_A[16] = {0x1d, 0x7c, 0x2b, 0x85, 0xa3, 0x77, 0x4f, 0x76,
                                 0x8f, 0xd3, 0x7f, 0x02, 0xfe, 0xcc, 0xa9, 0xcc};
static const uint8_t ID_B[16] = {0xe1, 0x75, 0x4c, 0x00, 0xb1, 0x6f, 0x49, 0x5e,
                                 0x9e, 0xab, 0x73, 0xf0, 0x59, 0x05, 0x9f, 0xf6};
static const uint8_t ZERO[16];

static void wr_id(wr *w, const uint8_t id[16]) { wr_raw(w, id, 16); }
static void bid(bb *x, const uint8_t id[16])
{
    memcpy(x->b + x->n, id, 16);
    x->n += 16;
}

/* The body of the request in w, read past its header: r is left at the body. */
static bool at_body(const wr *w, rd *r, req_header *h)
{
    rd_init(r, w->p, w->len);
    return CHECK_EQ_INT(req_header_decode(r, h), 0);
}

/* Decodes the body of the request in w as a TYPE (with DECODE at version V) and checks that
 * it is refused before anything is allocated. */
#define CHECK_REFUSED(w, TYPE, DECODE, V)                                                  \
    do {                                                                                   \
        rd r_;                                                                             \
        req_header h_;                                                                     \
        if (at_body((w), &r_, &h_)) {                                                      \
            arena a_;                                                                      \
            arena_init(&a_);                                                               \
            TYPE q_;                                                                       \
            CHECK_EQ_INT(DECODE(&r_, (V), &a_, &q_), -1);                                  \
            CHECK(a_.head == NULL);                                                        \
            arena_free(&a_);                                                               \
        }                                                                                  \
    } while (0)

/* ---------------- Metadata ---------------- */

/* A Metadata request at v (9..12): topics given as (id, name) pairs, n < 0 for null. */
static void write_metadata(wr *w, int16_t v, int32_t n, const uint8_t *const *ids,
                           const char *const *names, bool auto_create, bool cluster_ops,
                           bool topic_ops)
{
    req_start(w, API_METADATA, v);
    wr_array(w, n);
    for (int32_t i = 0; i < n; i++) {
        if (v >= 10)
            wr_id(w, ids[i]);
        wr_cstr(w, names[i]);
        wr_tags(w);
    }
    wr_bool(w, auto_create);
    if (v <= 10)
        wr_bool(w, cluster_ops);
    wr_bool(w, topic_ops);
    wr_tags(w);
}

static void test_metadata_requests(void)
{
    const uint8_t *ids[3] = {ZERO, ID_A, ID_B};
    for (int16_t v = 9; v <= 12; v++) {
        wr w;
        /* v9 has no ids, and no null names in its schema: give it names only */
        const char *nm[3] = {"orders", v >= 10 ? NULL : "n", "x"};
        write_metadata(&w, v, 3, ids, nm, v == 10, true, true);
        rd r;
        req_header h;
        if (at_body(&w, &r, &h)) {
            CHECK(h.flexible);
            arena a;
            arena_init(&a);
            metadata_req q;
            if (CHECK_EQ_INT(metadata_req_decode(&r, v, &a, &q), 0) &&
                CHECK_EQ_INT(q.ntopics, 3)) {
                CHECK_EQ_INT(rd_remaining(&r), 0);
                CHECK_SLICE(q.topics[0].name, "orders");
                CHECK_SLICE(q.topics[1].name, v >= 10 ? NULL : "n");
                CHECK_SLICE(q.topics[2].name, "x");
                /* below v10 there are no ids on the wire: every one reads as zero */
                CHECK_EQ_MEM(q.topics[0].id, ZERO, 16);
                CHECK_EQ_MEM(q.topics[1].id, v >= 10 ? ID_A : ZERO, 16);
                CHECK_EQ_MEM(q.topics[2].id, v >= 10 ? ID_B : ZERO, 16);
                CHECK_EQ_INT(q.allow_auto_create, v == 10);
                CHECK_EQ_INT(q.include_cluster_ops, v <= 10); /* v8-v10 only */
                CHECK(q.include_topic_ops);
            }
            arena_free(&a);
        }
        char what[40];
        snprintf(what, sizeof(what), "Metadata v%d request", v);
        check_robust(&w, what);
        wr_free(&w);

        /* A null topic list: every topic. */
        write_metadata(&w, v, -1, NULL, NULL, false, false, false);
        if (at_body(&w, &r, &h)) {
            arena a;
            arena_init(&a);
            metadata_req q;
            CHECK_EQ_INT(metadata_req_decode(&r, v, &a, &q), 0);
            CHECK_EQ_INT(q.ntopics, -1);
            CHECK(!q.include_topic_ops && !q.include_cluster_ops && !q.allow_auto_create);
            arena_free(&a);
        }
        check_robust(&w, what);
        wr_free(&w);
    }

    /* A count that the bytes cannot hold (a v10+ topic is at least 18 bytes) is refused
     * before anything is allocated. */
    wr w;
    req_start(&w, API_METADATA, 12);
    wr_array(&w, 3);
    wr_id(&w, ID_A);
    wr_cstr(&w, NULL);
    wr_tags(&w);
    wr_bool(&w, false);
    wr_bool(&w, false);
    wr_tags(&w);
    CHECK_REFUSED(&w, metadata_req, metadata_req_decode, 12);
    wr_free(&w);
}

/* One broker, one topic with one partition, and (v12 only) an unknown id's answer. */
static void expect_metadata(bb *x, int16_t v, bool topic_ops, bool cluster_ops, bool unknown)
{
    x->n = 0;
    b32(x, 0); /* throttle */
    b8(x, 2);  /* brokers: 1 */
    b32(x, 1);
    bcstr(x, "localhost");
    b32(x, 9092);
    b8(x, 0); /* rack: null */
    b8(x, 0); /* tags */
    bcstr(x, "brook");
    b32(x, 1);               /* controller */
    b8(x, unknown ? 3 : 2); /* topics */
    b16(x, 0);
    bcstr(x, "t");
    if (v >= 10)
        bid(x, ID_A);
    b8(x, 0);  /* is_internal */
    b8(x, 2);  /* partitions: 1 */
    b16(x, 0); /* error */
    b32(x, 0); /* index */
    b32(x, 1); /* leader */
    b32(x, 7); /* leader epoch */
    b8(x, 2);
    b32(x, 1); /* replicas */
    b8(x, 2);
    b32(x, 1); /* isr */
    b8(x, 1);  /* offline: empty */
    b8(x, 0);  /* partition tags */
    b32(x, topic_ops ? 0x0df8 : INT32_MIN);
    b8(x, 0); /* topic tags */
    if (unknown) {
        b16(x, KERR_UNKNOWN_TOPIC_ID);
        b8(x, 0); /* name: null (v12) */
        bid(x, ID_B);
        b8(x, 0);
        b8(x, 1); /* no partitions */
        b32(x, INT32_MIN);
        b8(x, 0);
    }
    if (v <= 10)
        b32(x, cluster_ops ? 0x1fa0 : INT32_MIN);
    if (v >= 13)
        b16(x, KERR_NONE); /* the top-level ErrorCode (KIP-1102) */
    b8(x, 0);
}

static void test_metadata_responses(void)
{
    md_broker broker = {1, "localhost", 9092, NULL};
    static const int32_t nodes[] = {1};
    md_partition part = {0, 0, 1, 7, 1, nodes, 1, nodes};
    md_topic topics[2];
    memset(topics, 0, sizeof(topics));
    topics[0].name = kslice_cstr("t");
    memcpy(topics[0].id, ID_A, 16);
    topics[0].npartitions = 1;
    topics[0].partitions = &part;
    topics[1].error_code = KERR_UNKNOWN_TOPIC_ID;
    topics[1].name = KSLICE_NULL;
    memcpy(topics[1].id, ID_B, 16);
    for (int16_t v = 9; v <= 13; v++)
        for (int ops = 0; ops < 2; ops++) {
            metadata_resp m = {.nbrokers = 1, .brokers = &broker, .cluster_id = "brook",
                               .controller_id = 1, .ntopics = v >= 12 ? 2 : 1,
                               .topics = topics, .include_topic_ops = ops,
                               .include_cluster_ops = ops};
            wr w;
            wr_init(&w, 64);
            w.flex = true;
            metadata_resp_encode(&w, v, &m);
            bb want;
            expect_metadata(&want, v, ops, ops, v >= 12);
            char what[48];
            snprintf(what, sizeof(what), "Metadata v%d response (ops %d)", v, ops);
            check_body(&w, &want, what);
            wr_free(&w);
        }

    /* Below v12 the name is not nullable: an answer for a null name says "". */
    md_topic bad = {.error_code = KERR_INVALID_REQUEST, .name = KSLICE_NULL};
    memcpy(bad.id, ID_A, 16);
    metadata_resp m = {.controller_id = -1, .ntopics = 1, .topics = &bad};
    for (int16_t v = 10; v <= 12; v++) {
        wr w;
        wr_init(&w, 64);
        w.flex = true;
        metadata_resp_encode(&w, v, &m);
        bb want = {.n = 0};
        b32(&want, 0);
        b8(&want, 1); /* no brokers */
        b8(&want, 0); /* cluster id: null */
        b32(&want, -1);
        b8(&want, 2);
        b16(&want, KERR_INVALID_REQUEST);
        b8(&want, v >= 12 ? 0 : 1); /* null, or "" */
        bid(&want, ID_A);
        b8(&want, 0);
        b8(&want, 1);
        b32(&want, INT32_MIN);
        b8(&want, 0);
        if (v <= 10)
            b32(&want, INT32_MIN);
        b8(&want, 0);
        check_body(&w, &want, "Metadata error response");
        wr_free(&w);
    }
}

/* ---------------- CreateTopics ---------------- */

static void write_createtopics(wr *w, int16_t v, int ntopics)
{
    req_start(w, API_CREATE_TOPICS, v);
    wr_array(w, ntopics);
    for (int i = 0; i < ntopics; i++) {
        char name[2] = {(char)('a' + i), 0};
        wr_cstr(w, name);
        wr_i32(w, i == 0 ? 3 : -1);
        wr_i16(w, i == 0 ? 1 : -1);
        wr_array(w, 0); /* assignments */
        if (i == 0) {
            wr_array(w, 2);
            wr_cstr(w, "retention.ms");
            wr_cstr(w, "1000");
            wr_tags(w);
            wr_cstr(w, "");
            wr_cstr(w, NULL);
            wr_tags(w);
        } else {
            wr_array(w, 0);
        }
        wr_tags(w);
    }
    wr_i32(w, 30000);
    wr_bool(w, true);
    wr_tags(w);
}

static void test_createtopics_requests(void)
{
    for (int16_t v = 5; v <= 7; v++) {
        wr w;
        write_createtopics(&w, v, 4);
        rd r;
        req_header h;
        if (at_body(&w, &r, &h)) {
            CHECK(h.flexible);
            arena a;
            arena_init(&a);
            createtopics_req q;
            if (CHECK_EQ_INT(createtopics_req_decode(&r, v, &a, &q), 0) &&
                CHECK_EQ_INT(q.ntopics, 4)) {
                CHECK_EQ_INT(rd_remaining(&r), 0);
                CHECK_SLICE(q.topics[0].name, "a");
                CHECK_EQ_INT(q.topics[0].num_partitions, 3);
                CHECK_EQ_INT(q.topics[0].replication_factor, 1);
                if (CHECK_EQ_INT(q.topics[0].nconfigs, 2)) {
                    CHECK_SLICE(q.topics[0].configs[0].name, "retention.ms");
                    CHECK_SLICE(q.topics[0].configs[0].value, "1000");
                    CHECK_SLICE(q.topics[0].configs[1].name, "");
                    CHECK_SLICE(q.topics[0].configs[1].value, NULL);
                }
                CHECK_SLICE(q.topics[3].name, "d");
                CHECK_EQ_INT(q.topics[3].num_partitions, -1);
                CHECK_EQ_INT(q.topics[3].nconfigs, 0);
                /* the response fields start as "not created" */
                CHECK_EQ_INT(q.topics[3].resp_num_partitions, -1);
                CHECK_EQ_INT(q.topics[3].resp_replication_factor, -1);
                CHECK_EQ_MEM(q.topics[3].topic_id, ZERO, 16);
                CHECK_EQ_INT(q.timeout_ms, 30000);
                CHECK(q.validate_only);
            }
            arena_free(&a);
        }
        char what[48];
        snprintf(what, sizeof(what), "CreateTopics v%d request", v);
        check_robust(&w, what);
        wr_free(&w);

        /* Three topics of the smallest flexible size (10 bytes: empty name, no assignments,
         * no configs) and the 6 bytes after them: fewer than 3 x 14, the classic minimum,
         * so an array check at that minimum would refuse this valid request. */
        req_start(&w, API_CREATE_TOPICS, v);
        wr_array(&w, 3);
        for (int i = 0; i < 3; i++) {
            wr_cstr(&w, "");
            wr_i32(&w, 1);
            wr_i16(&w, 1);
            wr_array(&w, 0);
            if (i < 2) {
                wr_array(&w, 0);
            } else { /* configs of the smallest size, 3 bytes: "" = null, tags */
                wr_array(&w, 8);
                for (int k = 0; k < 8; k++) {
                    wr_cstr(&w, "");
                    wr_cstr(&w, NULL);
                    wr_tags(&w);
                }
            }
            wr_tags(&w);
        }
        wr_i32(&w, 0);
        wr_bool(&w, false);
        wr_tags(&w);
        if (at_body(&w, &r, &h)) {
            arena a;
            arena_init(&a);
            createtopics_req q;
            CHECK_EQ_INT(createtopics_req_decode(&r, v, &a, &q), 0);
            CHECK_EQ_INT(q.ntopics, 3);
            arena_free(&a);
        }
        check_robust(&w, "CreateTopics request of minimal topics");
        wr_free(&w);
    }
}

static void test_createtopics_responses(void)
{
    describe_entry cfg[2] = {
        {.name = "retention.ms", .value = "1000", .source = CONFIG_SOURCE_TOPIC},
        {.name = "cleanup.policy", .value = NULL, .read_only = true,
         .source = CONFIG_SOURCE_DEFAULT, .is_sensitive = true},
    };
    createtopics_topic t[2];
    memset(t, 0, sizeof(t));
    t[0].name = kslice_cstr("a");
    memcpy(t[0].topic_id, ID_A, 16);
    t[0].resp_num_partitions = 3;
    t[0].resp_replication_factor = 1;
    t[0].nresp_configs = 2;
    t[0].resp_configs = cfg;
    t[1].name = kslice_cstr("b");
    t[1].error_code = KERR_TOPIC_ALREADY_EXISTS;
    t[1].error_message = "topic already exists";
    t[1].resp_num_partitions = -1;
    t[1].resp_replication_factor = -1;
    createtopics_req q = {.ntopics = 2, .topics = t};
    for (int16_t v = 5; v <= 7; v++) {
        wr w;
        wr_init(&w, 64);
        w.flex = true;
        createtopics_resp_encode(&w, v, &q);
        bb want = {.n = 0};
        b32(&want, 0);
        b8(&want, 3);
        bcstr(&want, "a");
        if (v >= 7)
            bid(&want, ID_A);
        b16(&want, 0);
        b8(&want, 0); /* message: null */
        b32(&want, 3);
        b16(&want, 1);
        b8(&want, 3); /* configs: 2 */
        bcstr(&want, "retention.ms");
        bcstr(&want, "1000");
        b8(&want, 0);
        b8(&want, CONFIG_SOURCE_TOPIC);
        b8(&want, 0);
        b8(&want, 0);
        bcstr(&want, "cleanup.policy");
        b8(&want, 0); /* value: null */
        b8(&want, 1);
        b8(&want, CONFIG_SOURCE_DEFAULT);
        b8(&want, 1);
        b8(&want, 0);
        b8(&want, 0); /* topic tags */
        bcstr(&want, "b");
        if (v >= 7)
            bid(&want, ZERO);
        b16(&want, KERR_TOPIC_ALREADY_EXISTS);
        bcstr(&want, "topic already exists");
        b32(&want, -1);
        b16(&want, -1);
        b8(&want, 1); /* configs: empty */
        b8(&want, 0);
        b8(&want, 0);
        char what[48];
        snprintf(what, sizeof(what), "CreateTopics v%d response", v);
        check_body(&w, &want, what);
        wr_free(&w);
    }
    /* v4 (classic) is unchanged: name, error, message. */
    wr w;
    wr_init(&w, 64);
    createtopics_resp_encode(&w, 4, &q);
    bb want = {.n = 0};
    b32(&want, 0);
    b32(&want, 2);
    bstr(&want, "a");
    b16(&want, 0);
    bstr(&want, NULL);
    bstr(&want, "b");
    b16(&want, KERR_TOPIC_ALREADY_EXISTS);
    bstr(&want, "topic already exists");
    check_body(&w, &want, "CreateTopics v4 response");
    wr_free(&w);
}

/* ---------------- DeleteTopics ---------------- */

static void test_deletetopics(void)
{
    for (int16_t v = 4; v <= 6; v++) {
        wr w;
        req_start(&w, API_DELETE_TOPICS, v);
        if (v >= 6) {
            wr_array(&w, 3);
            wr_cstr(&w, NULL);
            wr_id(&w, ID_A);
            wr_tags(&w);
            wr_cstr(&w, "by-name");
            wr_id(&w, ZERO);
            wr_tags(&w);
            wr_cstr(&w, "");
            wr_id(&w, ID_B);
            wr_tags(&w);
        } else {
            wr_array(&w, 3);
            wr_cstr(&w, "x");
            wr_cstr(&w, "by-name");
            wr_cstr(&w, ""); /* one byte: a compact string's smallest */
        }
        wr_i32(&w, 5000);
        wr_tags(&w);
        rd r;
        req_header h;
        arena a;
        arena_init(&a);
        deletetopics_req q;
        if (at_body(&w, &r, &h) && CHECK_EQ_INT(deletetopics_req_decode(&r, v, &a, &q), 0) &&
            CHECK_EQ_INT(q.ntopics, 3)) {
            CHECK_EQ_INT(rd_remaining(&r), 0);
            CHECK_SLICE(q.topics[0].name, v >= 6 ? NULL : "x");
            CHECK_SLICE(q.topics[1].name, "by-name");
            CHECK_SLICE(q.topics[2].name, "");
            CHECK_EQ_MEM(q.topics[0].id, v >= 6 ? ID_A : ZERO, 16);
            CHECK_EQ_MEM(q.topics[1].id, ZERO, 16);
            CHECK_EQ_MEM(q.topics[2].id, v >= 6 ? ID_B : ZERO, 16);
            CHECK_EQ_INT(q.timeout_ms, 5000);

            /* The answer: an unknown id (null name), a deleted topic, an invalid entry. */
            q.topics[0].error_code = KERR_UNKNOWN_TOPIC_ID;
            q.topics[0].error_message = "UNKNOWN_TOPIC_ID";
            q.topics[1].error_code = KERR_NONE;
            memcpy(q.topics[1].id, ID_B, 16);
            q.topics[2].error_code = KERR_INVALID_REQUEST;
            q.topics[2].error_message = "both";
            wr o;
            wr_init(&o, 64);
            o.flex = true;
            deletetopics_resp_encode(&o, v, &q);
            bb want = {.n = 0};
            b32(&want, 0);
            b8(&want, 4);
            if (v >= 6)
                b8(&want, 0); /* null name */
            else
                bcstr(&want, "x");
            if (v >= 6)
                bid(&want, ID_A);
            b16(&want, KERR_UNKNOWN_TOPIC_ID);
            if (v >= 5)
                bcstr(&want, "UNKNOWN_TOPIC_ID");
            b8(&want, 0);
            bcstr(&want, "by-name");
            if (v >= 6)
                bid(&want, ID_B);
            b16(&want, 0);
            if (v >= 5)
                b8(&want, 0); /* message: null */
            b8(&want, 0);
            bcstr(&want, "");
            if (v >= 6)
                bid(&want, ID_B);
            b16(&want, KERR_INVALID_REQUEST);
            if (v >= 5)
                bcstr(&want, "both");
            b8(&want, 0);
            b8(&want, 0);
            char what[48];
            snprintf(what, sizeof(what), "DeleteTopics v%d response", v);
            check_body(&o, &want, what);
            wr_free(&o);
        }
        arena_free(&a);
        char what[48];
        snprintf(what, sizeof(what), "DeleteTopics v%d request", v);
        check_robust(&w, what);
        wr_free(&w);
    }

    /* v4/v5: names of one byte (a compact "") are the smallest there are. */
    for (int16_t v = 4; v <= 5; v++) {
        wr w;
        req_start(&w, API_DELETE_TOPICS, v);
        wr_array(&w, 8);
        for (int i = 0; i < 8; i++)
            wr_cstr(&w, "");
        wr_i32(&w, 0);
        wr_tags(&w);
        CHECK_EQ_INT(decode_whole(&w), 0);
        wr_free(&w);
    }

    /* A lying count (v6: 18 bytes an entry at least) is refused before any allocation; a
     * null list is malformed. */
    static const int32_t counts[] = {2, -1};
    for (size_t i = 0; i < 2; i++) {
        wr w;
        req_start(&w, API_DELETE_TOPICS, 6);
        wr_array(&w, counts[i]);
        if (counts[i] > 0) {
            wr_cstr(&w, NULL);
            wr_id(&w, ID_A);
            wr_tags(&w);
        }
        wr_i32(&w, 0);
        wr_tags(&w);
        CHECK_REFUSED(&w, deletetopics_req, deletetopics_req_decode, 6);
        wr_free(&w);
    }
}

/* ---------------- Fetch ---------------- */

enum replica_state { RS_NONE, RS_SET, RS_UNKNOWN_TAG };

/* A Fetch request at v (13..17) of two topics by id (one partition, then two), a forgotten
 * topic by id, a rack, and at the top level the ClusterId tag and (rs) ReplicaState; from
 * v17 each partition carries the ReplicaDirectoryId tag (0, a uuid, KIP-853), skipped. */
static void write_fetch13(wr *w, int16_t v, enum replica_state rs)
{
    req_start(w, API_FETCH, v);
    if (v <= 14)
        wr_i32(w, rs == RS_SET ? 3 : -1);
    wr_i32(w, 500);
    wr_i32(w, 1);
    wr_i32(w, 1 << 20);
    wr_i8(w, 1);
    wr_i32(w, 0);
    wr_i32(w, -1);
    wr_array(w, 2);
    for (int t = 0; t < 2; t++) {
        wr_id(w, t == 0 ? ID_A : ID_B);
        wr_array(w, t + 1);
        for (int p = 0; p <= t; p++) {
            wr_i32(w, p);
            wr_i32(w, 4);         /* current leader epoch */
            wr_i64(w, 100 + p);   /* fetch offset */
            wr_i32(w, 3);         /* last fetched epoch */
            wr_i64(w, -1);        /* log start offset */
            wr_i32(w, 65536 + p); /* partition max bytes */
            if (v >= 17) {
                wr_uvarint(w, 1);
                wr_uvarint(w, 0);
                wr_uvarint(w, 16);
                wr_id(w, ID_B);
            } else {
                wr_tags(w);
            }
        }
        wr_tags(w);
    }
    wr_array(w, 1); /* forgotten topics */
    wr_id(w, ID_B);
    wr_array(w, 2);
    wr_i32(w, 5);
    wr_i32(w, 6);
    wr_tags(w);
    wr_cstr(w, "rack-1");
    /* tags: ClusterId (0), then ReplicaState (1) */
    if (rs == RS_NONE) {
        wr_uvarint(w, 1);
        wr_uvarint(w, 0);
        wr_uvarint(w, 4);
        wr_cstr(w, "cid");
    } else {
        wr_uvarint(w, 2);
        wr_uvarint(w, 0);
        wr_uvarint(w, 4);
        wr_cstr(w, "cid");
        wr_uvarint(w, 1);
        wr_uvarint(w, 4 + 8 + 1);
        wr_i32(w, 3);
        wr_i64(w, 77);
        wr_tags(w);
    }
}

static void test_fetch_requests(void)
{
    for (int16_t v = 13; v <= 17; v++)
        for (int rs = RS_NONE; rs <= RS_SET; rs++) {
            wr w;
            write_fetch13(&w, v, (enum replica_state)rs);
            rd r;
            req_header h;
            arena a;
            arena_init(&a);
            fetch_req q;
            if (at_body(&w, &r, &h) && CHECK_EQ_INT(fetch_req_decode(&r, v, &a, &q), 0) &&
                CHECK_EQ_INT(q.ntopics, 2)) {
                CHECK_EQ_INT(rd_remaining(&r), 0);
                /* v13/v14 read ReplicaId; v15+ ReplicaState. A tag 1 below v15 is unknown. */
                int32_t want_replica = rs == RS_SET ? 3 : -1;
                CHECK_EQ_INT(q.replica_id, want_replica);
                CHECK_EQ_INT(q.replica_epoch, rs == RS_SET && v >= 15 ? 77 : -1);
                CHECK_EQ_INT(q.max_wait_ms, 500);
                CHECK_EQ_INT(q.isolation_level, 1);
                CHECK_SLICE(q.rack_id, "rack-1");
                CHECK_SLICE(q.cluster_id, "cid");
                if (CHECK(q.by_id)) {
                    CHECK_EQ_MEM(q.topics[0].id, ID_A, 16);
                    CHECK_EQ_MEM(q.topics[1].id, ID_B, 16);
                }
                CHECK_SLICE(q.topics[0].name, NULL); /* the handler resolves the ids */
                CHECK_SLICE(q.topics[1].name, NULL);
                if (CHECK_EQ_INT(q.topics[1].nparts, 2)) {
                    const fetch_part *fp = &q.topics[1].parts[1];
                    CHECK_EQ_INT(fp->index, 1);
                    CHECK_EQ_INT(fp->current_leader_epoch, 4);
                    CHECK_EQ_INT(fp->fetch_offset, 101);
                    CHECK_EQ_INT(fp->last_fetched_epoch, 3);
                    CHECK_EQ_INT(fp->partition_max_bytes, 65537);
                    CHECK_EQ_INT(fp->error_code, 0);
                    CHECK_EQ_INT(fp->current_leader.leader_id, -1);
                }
                CHECK_EQ_INT(q.nnode_endpoints, 0);
            }
            arena_free(&a);
            char what[48];
            snprintf(what, sizeof(what), "Fetch v%d request (replica state %d)", v, rs);
            check_robust(&w, what);
            wr_free(&w);
        }

    /* A v12 request names topics; v12 and below have no topic ids. */
    wr w;
    req_start(&w, API_FETCH, 12);
    wr_i32(&w, -1);
    wr_i32(&w, 0);
    wr_i32(&w, 1);
    wr_i32(&w, 1024);
    wr_i8(&w, 0);
    wr_i32(&w, 0);
    wr_i32(&w, -1);
    wr_array(&w, 1);
    wr_cstr(&w, "named");
    wr_array(&w, 0);
    wr_tags(&w);
    wr_array(&w, 0);
    wr_cstr(&w, "");
    wr_tags(&w);
    rd r;
    req_header h;
    arena a;
    arena_init(&a);
    fetch_req q;
    if (at_body(&w, &r, &h) && CHECK_EQ_INT(fetch_req_decode(&r, 12, &a, &q), 0)) {
        CHECK(!q.by_id);
        CHECK_SLICE(q.topics[0].name, "named");
    }
    arena_free(&a);
    wr_free(&w);

    /* A lying topic count at v13 (18 bytes a topic at least) is refused before any
     * allocation. */
    req_start(&w, API_FETCH, 13);
    wr_i32(&w, -1);
    wr_i32(&w, 0);
    wr_i32(&w, 1);
    wr_i32(&w, 1024);
    wr_i8(&w, 0);
    wr_i32(&w, 0);
    wr_i32(&w, -1);
    wr_array(&w, 2);
    wr_id(&w, ID_A);
    wr_array(&w, 0);
    wr_tags(&w);
    wr_array(&w, 0);
    wr_cstr(&w, "");
    wr_tags(&w);
    CHECK_REFUSED(&w, fetch_req, fetch_req_decode, 13);
    wr_free(&w);
}

/* The answer's partition: index, no error, HW 10, LSO 9, log start 0, aborted list null,
 * preferred read replica -1, records, tags (CurrentLeader when leader >= 0). */
static void expect_fetch_part(bb *x, int32_t index, int16_t err, const char *records,
                              int32_t leader, int32_t leader_epoch)
{
    b32(x, index);
    b16(x, err);
    b64(x, err ? -1 : 10);
    b64(x, err ? -1 : 9);
    b64(x, err ? -1 : 0);
    b8(x, 0); /* aborted: null */
    b32(x, -1);
    bcstr(x, records);
    if (leader < 0) {
        b8(x, 0);
        return;
    }
    b8(x, 1);  /* one tag */
    b8(x, 1);  /* CurrentLeader */
    b8(x, 9);  /* size */
    b32(x, leader);
    b32(x, leader_epoch);
    b8(x, 0);
}

static void test_fetch_responses(void)
{
    fetch_part parts[3];
    memset(parts, 0, sizeof(parts));
    for (int i = 0; i < 3; i++) {
        parts[i].index = i;
        parts[i].high_watermark = 10;
        parts[i].last_stable_offset = 9;
        parts[i].resp_log_start_offset = 0;
        parts[i].naborted = -1;
        parts[i].diverging_epoch = (fetch_epoch_end){-1, -1};
        parts[i].current_leader = (fetch_leader){-1, -1};
    }
    parts[0].records = (kslice){(const uint8_t *)"rec", 3};
    /* the old id of a recreated topic */
    parts[1].error_code = KERR_UNKNOWN_TOPIC_ID;
    parts[1].high_watermark = parts[1].last_stable_offset = parts[1].resp_log_start_offset = -1;
    /* led by another node */
    parts[2].error_code = KERR_NOT_LEADER_OR_FOLLOWER;
    parts[2].high_watermark = parts[2].last_stable_offset = parts[2].resp_log_start_offset = -1;
    parts[2].current_leader = (fetch_leader){2, 5};
    fetch_topic topics[2] = {{.name = KSLICE_NULL, .nparts = 1, .parts = &parts[0]},
                             {.name = KSLICE_NULL, .nparts = 2, .parts = &parts[1]}};
    memcpy(topics[0].id, ID_A, 16);
    memcpy(topics[1].id, ID_B, 16);
    md_broker node2 = {2, "h2", 9093, NULL};
    fetch_req q = {.ntopics = 2, .topics = topics, .by_id = true, .nnode_endpoints = 1,
                   .node_endpoints = &node2};
    for (int16_t v = 13; v <= 16; v++) {
        wr w;
        wr_init(&w, 64);
        w.flex = true;
        fetch_resp_encode(&w, v, &q, KERR_NONE);
        bb want = {.n = 0};
        b32(&want, 0);
        b16(&want, 0);
        b32(&want, 0); /* session */
        b8(&want, 3);
        bid(&want, ID_A);
        b8(&want, 2);
        expect_fetch_part(&want, 0, 0, "rec", -1, -1);
        b8(&want, 0);
        bid(&want, ID_B);
        b8(&want, 3);
        expect_fetch_part(&want, 1, KERR_UNKNOWN_TOPIC_ID, "", -1, -1);
        expect_fetch_part(&want, 2, KERR_NOT_LEADER_OR_FOLLOWER, "", 2, 5);
        b8(&want, 0);
        if (v >= 16) { /* NodeEndpoints: tag 0 */
            b8(&want, 1);
            b8(&want, 0);
            b8(&want, 1 + 4 + 3 + 4 + 1 + 1);
            b8(&want, 2);
            b32(&want, 2);
            bcstr(&want, "h2");
            b32(&want, 9093);
            b8(&want, 0); /* rack: null */
            b8(&want, 0);
        } else {
            b8(&want, 0);
        }
        char what[48];
        snprintf(what, sizeof(what), "Fetch v%d response", v);
        check_body(&w, &want, what);
        wr_free(&w);
    }

    /* No endpoints: no NodeEndpoints tag at v16. */
    q.nnode_endpoints = 0;
    q.ntopics = 1;
    wr w;
    wr_init(&w, 64);
    w.flex = true;
    fetch_resp_encode(&w, 16, &q, KERR_NONE);
    CHECK(w.len > 0 && w.p[w.len - 1] == 0);
    bb want = {.n = 0};
    b32(&want, 0);
    b16(&want, 0);
    b32(&want, 0);
    b8(&want, 2);
    bid(&want, ID_A);
    b8(&want, 2);
    expect_fetch_part(&want, 0, 0, "rec", -1, -1);
    b8(&want, 0);
    b8(&want, 0);
    check_body(&w, &want, "Fetch v16 response without NodeEndpoints");
    wr_free(&w);
}

static void test_version_table(void)
{
    static const struct {
        int16_t key, max, flex;
    } rows[] = {
        {API_METADATA, 13, 9},
        {API_FETCH, 18, 12},
        {API_CREATE_TOPICS, 7, 5},
        {API_DELETE_TOPICS, 6, 4},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const api_info *a = api_lookup(rows[i].key);
        if (!CHECK(a != NULL))
            continue;
        CHECK_EQ_INT(a->max_version, rows[i].max);
        CHECK_EQ_INT(a->flex_min, rows[i].flex);
        CHECK_EQ_INT(a->min_version, rows[i].key == API_FETCH ? 4 : 0); /* old clients */
    }
}

/* ---------------- Produce v13 ---------------- */

/* Produce v13 of two topics by id, one with two partitions; records are one fake batch. */
static void write_produce13(wr *w)
{
    static const uint8_t rec[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    req_start(w, API_PRODUCE, 13);
    wr_cstr(w, "tx");
    wr_i16(w, -1);
    wr_i32(w, 5000);
    wr_array(w, 2);
    wr_id(w, ID_A);
    wr_array(w, 2);
    for (int32_t p = 0; p < 2; p++) {
        wr_i32(w, p);
        wr_uvarint(w, sizeof(rec) + 1);
        wr_raw(w, rec, sizeof(rec));
        wr_tags(w);
    }
    wr_tags(w);
    wr_id(w, ID_B);
    wr_array(w, 1);
    wr_i32(w, 7);
    wr_uvarint(w, 0); /* null records */
    wr_tags(w);
    wr_tags(w);
    wr_tags(w);
}

static void test_produce_by_id(void)
{
    wr w;
    write_produce13(&w); /* req_start initializes w */
    rd r;
    req_header h;
    if (at_body(&w, &r, &h)) {
        arena a;
        arena_init(&a);
        produce_req q;
        if (CHECK_EQ_INT(produce_req_decode(&r, 13, &a, &q), 0) && CHECK_EQ_INT(q.ntopics, 2) &&
            CHECK(q.by_id)) {
            CHECK(memcmp(q.topics[0].id, ID_A, 16) == 0);
            CHECK(memcmp(q.topics[1].id, ID_B, 16) == 0);
            CHECK(q.topics[0].name.len < 0 && q.topics[1].name.len < 0); /* by id only */
            CHECK_EQ_INT(q.topics[0].nparts, 2);
            CHECK_EQ_INT(q.topics[0].parts[1].index, 1);
            CHECK_EQ_INT(q.topics[0].parts[1].records.len, 12);
            CHECK_EQ_INT(q.topics[1].parts[0].index, 7);
            CHECK_EQ_INT(q.acks, -1);
            /* The answer names the topics by the same ids. */
            q.topics[0].parts[0].error_code = KERR_NONE;
            q.topics[0].parts[0].base_offset = 40;
            q.topics[0].parts[1].error_code = KERR_NONE;
            q.topics[0].parts[1].base_offset = 41;
            q.topics[1].parts[0].error_code = KERR_UNKNOWN_TOPIC_ID;
            q.topics[1].parts[0].base_offset = -1;
            for (int i = 0; i < 2; i++)
                for (int32_t p = 0; p < q.topics[i].nparts; p++) {
                    q.topics[i].parts[p].log_append_time = -1;
                    q.topics[i].parts[p].log_start_offset = 0;
                    q.topics[i].parts[p].nrecord_errors = 0;
                    q.topics[i].parts[p].error_message = NULL;
                }
            wr out;
            wr_init(&out, 64);
            out.flex = true;
            produce_resp_encode(&out, 13, &q);
            bb want = {.n = 0};
            b8(&want, 3);
            bid(&want, ID_A);
            b8(&want, 3);
            for (int32_t p = 0; p < 2; p++) {
                b32(&want, p);
                b16(&want, 0);
                b64(&want, 40 + p);
                b64(&want, -1);
                b64(&want, 0);
                b8(&want, 1); /* no record errors */
                b8(&want, 0); /* error message: null */
                b8(&want, 0);
            }
            b8(&want, 0);
            bid(&want, ID_B);
            b8(&want, 2);
            b32(&want, 7);
            b16(&want, KERR_UNKNOWN_TOPIC_ID);
            b64(&want, -1);
            b64(&want, -1);
            b64(&want, 0);
            b8(&want, 1);
            b8(&want, 0);
            b8(&want, 0);
            b8(&want, 0);
            b32(&want, 0); /* throttle */
            b8(&want, 0);
            check_body(&out, &want, "Produce v13 response");
            wr_free(&out);
        }
        arena_free(&a);
    }
    check_robust(&w, "Produce v13");
    wr_free(&w);
}

TU_MAIN(TU_CASE(test_version_table), TU_CASE(test_metadata_requests), TU_CASE(test_produce_by_id),
        TU_CASE(test_metadata_responses), TU_CASE(test_createtopics_requests),
        TU_CASE(test_createtopics_responses), TU_CASE(test_deletetopics),
        TU_CASE(test_fetch_requests), TU_CASE(test_fetch_responses))
