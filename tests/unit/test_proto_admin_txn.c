/*
 * test_proto_admin_txn.c - the transaction admin APIs of KIP-664 (DescribeProducers v0,
 * DescribeTransactions v0, ListTransactions v0-v1 with KIP-994's DurationFilter) and
 * DescribeCluster v0-v1 (proto/msgs.h), against Kafka's message JSON (every version of
 * them is flexible).
 *
 * Each request is written by hand field by field after a request header v2, decoded, and
 * its fields checked; every request also goes through check_robust (the whole request
 * decodes to its last byte, every shorter cut is refused, no byte substitution reads past
 * the end, on exact-size heap copies). Null strings and arrays where Kafka's schema does
 * not allow them are refused, and so are array counts the bytes cannot hold, before
 * anything is allocated. Each response is encoded and compared with bytes written out by
 * hand (proto_testutil.h's byte builder, independent of wr_*).
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

/* The body of the request in w, read past its header: r is left at the body. */
static bool at_body(const wr *w, rd *r, req_header *h)
{
    rd_init(r, w->p, w->len);
    return CHECK_EQ_INT(req_header_decode(r, h), 0) && CHECK(h->flexible);
}

/* The request in w, decoded by the generic entry point from its header: -1 or 0, and
 * whether anything was allocated for it. */
static int decode_alloc(const wr *w, bool *allocated)
{
    rd r;
    req_header h;
    rd_init(&r, w->p, w->len);
    arena a;
    arena_init(&a);
    int rc = req_header_decode(&r, &h) == 0 ? msgs_decode_any(h.api_key, h.api_version, &r, &a)
                                            : -2;
    *allocated = a.head != NULL;
    arena_free(&a);
    return rc;
}

static void test_version_table(void)
{
    static const struct {
        int16_t key;
        const char *name;
        int16_t max;
    } rows[] = {
        {API_DESCRIBE_CLUSTER, "DescribeCluster", 2},
        {API_DESCRIBE_PRODUCERS, "DescribeProducers", 0},
        {API_DESCRIBE_TRANSACTIONS, "DescribeTransactions", 0},
        {API_LIST_TRANSACTIONS, "ListTransactions", 2},
    };
    CHECK_EQ_INT(API_DESCRIBE_CLUSTER, 60);
    CHECK_EQ_INT(API_DESCRIBE_PRODUCERS, 61);
    CHECK_EQ_INT(API_DESCRIBE_TRANSACTIONS, 65);
    CHECK_EQ_INT(API_LIST_TRANSACTIONS, 66);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const api_info *a = api_lookup(rows[i].key);
        if (!CHECK(a != NULL))
            continue;
        CHECK_EQ_STR(a->name, rows[i].name);
        CHECK_EQ_INT(a->min_version, 0);
        CHECK_EQ_INT(a->max_version, rows[i].max);
        CHECK_EQ_INT(a->flex_min, 0); /* Kafka: flexibleVersions "0+" */
        for (int16_t v = 0; v <= rows[i].max; v++)
            CHECK(api_is_flexible(rows[i].key, v));
        CHECK(!api_version_supported(rows[i].key, (int16_t)(rows[i].max + 1)));
    }

    /* A flexible response starts with header v1: correlation id, then an empty tag
     * buffer. */
    req_header h = {API_LIST_TRANSACTIONS, 1, 0x01020304, KSLICE_NULL, true};
    wr w;
    wr_init(&w, 16);
    resp_begin(&w, &h);
    resp_end(&w);
    static const uint8_t frame[] = {0, 0, 0, 5, 1, 2, 3, 4, 0};
    check_bytes(&w, frame, sizeof(frame), "ListTransactions response header v1");
    CHECK(w.flex);
    wr_free(&w);
}

/* ---------------- DescribeProducers ---------------- */

/* A DescribeProducers v0 request: topics {name, partition indexes}. */
static void write_dprod(wr *w, int32_t n, const char *const *names, const int32_t *nparts,
                        const int32_t *const *parts, bool unknown_tag)
{
    req_start(w, API_DESCRIBE_PRODUCERS, 0);
    wr_array(w, n);
    for (int32_t i = 0; i < n; i++) {
        wr_cstr(w, names[i]);
        wr_array(w, nparts[i]);
        for (int32_t k = 0; k < nparts[i]; k++)
            wr_i32(w, parts[i][k]);
        wr_tags(w);
    }
    if (unknown_tag) { /* a tagged field of a later version: skipped */
        wr_uvarint(w, 1);
        wr_uvarint(w, 7);
        wr_uvarint(w, 2);
        wr_i16(w, 0x0102);
    } else {
        wr_tags(w);
    }
}

static void test_describeproducers_requests(void)
{
    static const int32_t p0[] = {0, 2, 2147483647};
    const int32_t *parts[] = {p0, NULL};
    const char *names[] = {"orders", "t"};
    const int32_t nparts[] = {3, 0};
    for (int tag = 0; tag <= 1; tag++) {
        wr w;
        write_dprod(&w, 2, names, nparts, parts, tag);
        rd r;
        req_header h;
        if (at_body(&w, &r, &h)) {
            arena a;
            arena_init(&a);
            describeproducers_req q;
            if (CHECK_EQ_INT(describeproducers_req_decode(&r, 0, &a, &q), 0) &&
                CHECK_EQ_INT(q.ntopics, 2)) {
                CHECK_EQ_INT(rd_remaining(&r), 0);
                CHECK_SLICE(q.topics[0].name, "orders");
                CHECK_SLICE(q.topics[1].name, "t");
                if (CHECK_EQ_INT(q.topics[0].nparts, 3))
                    for (int k = 0; k < 3; k++) {
                        CHECK_EQ_INT(q.topics[0].parts[k].index, p0[k]);
                        CHECK_EQ_INT(q.topics[0].parts[k].error_code, KERR_NONE);
                        CHECK(q.topics[0].parts[k].error_message == NULL);
                        CHECK_EQ_INT(q.topics[0].parts[k].nproducers, 0);
                    }
                CHECK_EQ_INT(q.topics[1].nparts, 0);
            }
            arena_free(&a);
        }
        check_robust(&w, "DescribeProducers v0 request");
        wr_free(&w);
    }

    /* No topics at all: decodes, nothing asked. */
    wr w;
    write_dprod(&w, 0, NULL, NULL, NULL, false);
    check_robust(&w, "DescribeProducers v0 request without topics");
    wr_free(&w);

    bool allocated;
    /* A null topic list, a null name, a null partition list: Kafka's schema allows none. */
    write_dprod(&w, -1, NULL, NULL, NULL, false);
    CHECK_EQ_INT(decode_alloc(&w, &allocated), -1);
    wr_free(&w);
    const char *null_name[] = {NULL};
    const int32_t one[] = {1};
    write_dprod(&w, 1, null_name, one, parts, false);
    CHECK_EQ_INT(decode_alloc(&w, &allocated), -1);
    wr_free(&w);
    const int32_t null_parts[] = {-1};
    write_dprod(&w, 1, names, null_parts, parts, false);
    CHECK_EQ_INT(decode_alloc(&w, &allocated), -1);
    wr_free(&w);

    /* Counts the bytes cannot hold (a topic takes 3 bytes at least, a partition 4) are
     * refused before anything is allocated. */
    req_start(&w, API_DESCRIBE_PRODUCERS, 0);
    wr_array(&w, 3);
    wr_cstr(&w, "t");
    wr_array(&w, 0);
    wr_tags(&w);
    wr_tags(&w);
    CHECK_EQ_INT(decode_alloc(&w, &allocated), -1);
    CHECK(!allocated);
    wr_free(&w);
    req_start(&w, API_DESCRIBE_PRODUCERS, 0);
    wr_array(&w, 1);
    wr_cstr(&w, "t");
    wr_array(&w, 2); /* 2 indexes, 4 bytes left */
    wr_i32(&w, 0);
    CHECK_EQ_INT(decode_alloc(&w, &allocated), -1);
    wr_free(&w);
}

static void test_describeproducers_response(void)
{
    static const dprod_producer prods[] = {
        {1000, 3, 41, 1700000000123LL, 0, 17},
        {(int64_t)1 << 48 | 5, 0, -1, -1, -1, -1},
    };
    dprod_part parts[2] = {
        {.index = 0, .error_code = KERR_NONE, .nproducers = 2, .producers = prods},
        {.index = 9, .error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION, .error_message = "gone"},
    };
    dprod_topic topic = {kslice_cstr("orders"), 2, parts};
    describeproducers_req q = {1, &topic};
    wr w;
    wr_init(&w, 64);
    w.flex = true;
    describeproducers_resp_encode(&w, 0, &q);

    bb x = {.n = 0};
    b32(&x, 0); /* throttle */
    b8(&x, 2);  /* topics: 1 */
    bcstr(&x, "orders");
    b8(&x, 3); /* partitions: 2 */
    b32(&x, 0);
    b16(&x, 0);
    b8(&x, 0); /* message: null */
    b8(&x, 3); /* producers: 2 */
    b64(&x, 1000);
    b32(&x, 3); /* epoch: int32 in Kafka's schema */
    b32(&x, 41);
    b64(&x, 1700000000123LL);
    b32(&x, 0);
    b64(&x, 17);
    b8(&x, 0);
    b64(&x, (int64_t)1 << 48 | 5);
    b32(&x, 0);
    b32(&x, -1);
    b64(&x, -1);
    b32(&x, -1);
    b64(&x, -1);
    b8(&x, 0);
    b8(&x, 0); /* partition tags */
    b32(&x, 9);
    b16(&x, KERR_UNKNOWN_TOPIC_OR_PARTITION);
    bcstr(&x, "gone");
    b8(&x, 1); /* no producers */
    b8(&x, 0);
    b8(&x, 0); /* topic tags */
    b8(&x, 0); /* body tags */
    check_body(&w, &x, "DescribeProducers v0 response");
    wr_free(&w);
}

/* ---------------- DescribeTransactions ---------------- */

static void write_dtxn(wr *w, int32_t n, const char *const *ids)
{
    req_start(w, API_DESCRIBE_TRANSACTIONS, 0);
    wr_array(w, n);
    for (int32_t i = 0; i < n; i++)
        wr_cstr(w, ids[i]);
    wr_tags(w);
}

static void test_describetxns_requests(void)
{
    char longid[201];
    memset(longid, 'x', 200);
    longid[200] = '\0'; /* a compact length of two bytes */
    const char *ids[] = {"tx-a", "", longid};
    wr w;
    write_dtxn(&w, 3, ids);
    rd r;
    req_header h;
    if (at_body(&w, &r, &h)) {
        arena a;
        arena_init(&a);
        describetxns_req q;
        if (CHECK_EQ_INT(describetxns_req_decode(&r, 0, &a, &q), 0) && CHECK_EQ_INT(q.nids, 3)) {
            CHECK_EQ_INT(rd_remaining(&r), 0);
            CHECK_SLICE(q.ids[0], "tx-a");
            CHECK_SLICE(q.ids[1], "");
            CHECK_SLICE(q.ids[2], longid);
            if (CHECK(q.states != NULL))
                for (int i = 0; i < 3; i++) {
                    CHECK_EQ_INT(q.states[i].error_code, 0);
                    CHECK_EQ_INT(q.states[i].ntopics, 0);
                }
        }
        arena_free(&a);
    }
    check_robust(&w, "DescribeTransactions v0 request");
    wr_free(&w);

    write_dtxn(&w, 0, NULL); /* "If empty, then no results will be returned." */
    check_robust(&w, "DescribeTransactions v0 request without ids");
    wr_free(&w);

    bool allocated;
    write_dtxn(&w, -1, NULL);
    CHECK_EQ_INT(decode_alloc(&w, &allocated), -1);
    wr_free(&w);
    const char *with_null[] = {"tx-a", NULL};
    write_dtxn(&w, 2, with_null);
    CHECK_EQ_INT(decode_alloc(&w, &allocated), -1);
    wr_free(&w);
    /* 5 ids announced, 2 bytes of them: refused before allocating */
    req_start(&w, API_DESCRIBE_TRANSACTIONS, 0);
    wr_array(&w, 5);
    wr_cstr(&w, "a");
    CHECK_EQ_INT(decode_alloc(&w, &allocated), -1);
    CHECK(!allocated);
    wr_free(&w);
}

static void test_describetxns_response(void)
{
    static const int32_t t_parts[] = {0, 3};
    static const int32_t g_parts[] = {41};
    static const dtxn_topic topics[] = {{"t", 2, t_parts}, {"__consumer_offsets", 1, g_parts}};
    kslice ids[2] = {kslice_cstr("tx-a"), kslice_cstr("nope")};
    dtxn_state states[2] = {
        {ids[0], KERR_NONE, "Ongoing", 60000, 1700000000000LL, 1000, 2, 2, topics},
        {ids[1], KERR_TRANSACTIONAL_ID_NOT_FOUND, "", 0, 0, 0, 0, 0, NULL},
    };
    describetxns_req q = {2, ids, states};
    wr w;
    wr_init(&w, 64);
    w.flex = true;
    describetxns_resp_encode(&w, 0, &q);

    bb x = {.n = 0};
    b32(&x, 0); /* throttle */
    b8(&x, 3);  /* states: 2 */
    b16(&x, 0);
    bcstr(&x, "tx-a");
    bcstr(&x, "Ongoing");
    b32(&x, 60000);
    b64(&x, 1700000000000LL);
    b64(&x, 1000);
    b16(&x, 2);
    b8(&x, 3); /* topics: 2 */
    bcstr(&x, "t");
    b8(&x, 3);
    b32(&x, 0);
    b32(&x, 3);
    b8(&x, 0);
    bcstr(&x, "__consumer_offsets");
    b8(&x, 2);
    b32(&x, 41);
    b8(&x, 0);
    b8(&x, 0); /* state tags */
    b16(&x, KERR_TRANSACTIONAL_ID_NOT_FOUND);
    bcstr(&x, "nope");
    bcstr(&x, "");
    b32(&x, 0);
    b64(&x, 0);
    b64(&x, 0);
    b16(&x, 0);
    b8(&x, 1); /* no topics */
    b8(&x, 0);
    b8(&x, 0); /* body tags */
    check_body(&w, &x, "DescribeTransactions v0 response");
    wr_free(&w);
}

/* ---------------- ListTransactions ---------------- */

static void write_ltxn(wr *w, int16_t v, int32_t nstates, const char *const *states,
                       int32_t npids, const int64_t *pids, int64_t duration)
{
    req_start(w, API_LIST_TRANSACTIONS, v);
    wr_array(w, nstates);
    for (int32_t i = 0; i < nstates; i++)
        wr_cstr(w, states[i]);
    wr_array(w, npids);
    for (int32_t i = 0; i < npids; i++)
        wr_i64(w, pids[i]);
    if (v >= 1)
        wr_i64(w, duration);
    if (v >= 2)
        wr_cstr(w, duration >= 0 ? "tx-.*" : NULL); /* TransactionalIdPattern (KIP-1152) */
    wr_tags(w);
}

static void test_listtxns_requests(void)
{
    const char *states[] = {"Ongoing", "Bogus"};
    const int64_t pids[] = {1000, (int64_t)1 << 40, -1};
    for (int16_t v = 0; v <= 2; v++) {
        wr w;
        write_ltxn(&w, v, 2, states, 3, pids, 5000);
        rd r;
        req_header h;
        if (at_body(&w, &r, &h)) {
            arena a;
            arena_init(&a);
            listtxns_req q;
            if (CHECK_EQ_INT(listtxns_req_decode(&r, v, &a, &q), 0)) {
                CHECK_EQ_INT(rd_remaining(&r), 0);
                if (CHECK_EQ_INT(q.nstates, 2)) {
                    CHECK_SLICE(q.states[0], "Ongoing");
                    CHECK_SLICE(q.states[1], "Bogus");
                }
                if (CHECK_EQ_INT(q.npids, 3))
                    for (int i = 0; i < 3; i++)
                        CHECK_EQ_INT(q.pids[i], pids[i]);
                CHECK_EQ_INT(q.duration_ms, v >= 1 ? 5000 : -1); /* v0: no filter */
                if (v >= 2)
                    CHECK_SLICE(q.txn_id_pattern, "tx-.*");
                else
                    CHECK(q.txn_id_pattern.len < 0); /* below v2: no pattern */
                CHECK_EQ_INT(q.error_code, 0);
                CHECK_EQ_INT(q.nunknown, 0);
                CHECK_EQ_INT(q.nentries, 0);
                CHECK(q.unknown_states != NULL); /* room for every state named */
            }
            arena_free(&a);
        }
        char what[48];
        snprintf(what, sizeof(what), "ListTransactions v%d request", v);
        check_robust(&w, what);
        wr_free(&w);

        /* No filters (the DurationFilter's default, -1, in v1). */
        write_ltxn(&w, v, 0, NULL, 0, NULL, -1);
        if (at_body(&w, &r, &h)) {
            arena a;
            arena_init(&a);
            listtxns_req q;
            if (CHECK_EQ_INT(listtxns_req_decode(&r, v, &a, &q), 0)) {
                CHECK_EQ_INT(q.nstates, 0);
                CHECK_EQ_INT(q.npids, 0);
                CHECK_EQ_INT(q.duration_ms, -1);
                CHECK(q.txn_id_pattern.len < 0); /* v2: a null pattern */
            }
            arena_free(&a);
        }
        check_robust(&w, what);
        wr_free(&w);

        bool allocated;
        write_ltxn(&w, v, -1, NULL, 0, NULL, -1); /* null state list */
        CHECK_EQ_INT(decode_alloc(&w, &allocated), -1);
        wr_free(&w);
        write_ltxn(&w, v, 0, NULL, -1, NULL, -1); /* null producer id list */
        CHECK_EQ_INT(decode_alloc(&w, &allocated), -1);
        wr_free(&w);
        const char *null_state[] = {NULL};
        write_ltxn(&w, v, 1, null_state, 0, NULL, -1);
        CHECK_EQ_INT(decode_alloc(&w, &allocated), -1);
        wr_free(&w);
        /* 3 producer ids announced, 8 bytes of them: refused */
        req_start(&w, API_LIST_TRANSACTIONS, v);
        wr_array(&w, 0);
        wr_array(&w, 3);
        wr_i64(&w, 1);
        CHECK_EQ_INT(decode_alloc(&w, &allocated), -1);
        wr_free(&w);
        /* 4 states announced with 3 bytes left: refused before allocating */
        req_start(&w, API_LIST_TRANSACTIONS, v);
        wr_array(&w, 4);
        wr_cstr(&w, "a");
        wr_array(&w, 0);
        CHECK_EQ_INT(decode_alloc(&w, &allocated), -1);
        CHECK(!allocated);
        wr_free(&w);
    }
}

static void test_listtxns_responses(void)
{
    kslice unknown[] = {kslice_cstr("Bogus")};
    const listtxns_entry entries[] = {{"tx-a", 1000, "Ongoing"}, {"tx-b", 1001, "Empty"}};
    for (int16_t v = 0; v <= 1; v++) { /* v1 is v0 (KIP-994) */
        listtxns_req q = {.error_code = 0, .nunknown = 1, .unknown_states = unknown,
                          .nentries = 2, .entries = entries};
        wr w;
        wr_init(&w, 64);
        w.flex = true;
        listtxns_resp_encode(&w, v, &q);
        bb x = {.n = 0};
        b32(&x, 0); /* throttle */
        b16(&x, 0);
        b8(&x, 2);
        bcstr(&x, "Bogus");
        b8(&x, 3);
        bcstr(&x, "tx-a");
        b64(&x, 1000);
        bcstr(&x, "Ongoing");
        b8(&x, 0);
        bcstr(&x, "tx-b");
        b64(&x, 1001);
        bcstr(&x, "Empty");
        b8(&x, 0);
        b8(&x, 0);
        check_body(&w, &x, "ListTransactions response");
        wr_free(&w);

        /* An error: no entries. */
        listtxns_req e = {.error_code = KERR_COORDINATOR_LOAD_IN_PROGRESS};
        wr_init(&w, 16);
        w.flex = true;
        listtxns_resp_encode(&w, v, &e);
        static const uint8_t err_bytes[] = {0, 0, 0, 0, 0, 14, 1, 1, 0};
        check_bytes(&w, err_bytes, sizeof(err_bytes), "ListTransactions error response");
        wr_free(&w);
    }
    /* A transactional id is written back as it came on the wire (proto/ident.h): its
     * internal form escapes NUL as 0xC0 0x80. */
    const listtxns_entry nul[] = {{"a\xc0\x80" "b", 7, "Empty"}};
    listtxns_req q = {.nentries = 1, .entries = nul};
    wr w;
    wr_init(&w, 16);
    w.flex = true;
    listtxns_resp_encode(&w, 1, &q);
    static const uint8_t nul_bytes[] = {
        0, 0, 0, 0,             /* throttle */
        0, 0,                   /* error */
        1,                      /* unknown states: none */
        2,                      /* entries: 1 */
        4, 'a', 0, 'b',         /* the id as on the wire */
        0, 0, 0, 0, 0, 0, 0, 7, /* producer id */
        6, 'E', 'm', 'p', 't', 'y',
        0,                      /* entry tags */
        0,                      /* body tags */
    };
    check_bytes(&w, nul_bytes, sizeof(nul_bytes), "ListTransactions id with a NUL byte");
    wr_free(&w);
}

/* ---------------- DescribeCluster ---------------- */

static void test_describecluster_requests(void)
{
    for (int16_t v = 0; v <= 2; v++) {
        wr w;
        req_start(&w, API_DESCRIBE_CLUSTER, v);
        wr_bool(&w, true);
        if (v >= 1)
            wr_i8(&w, 2);
        if (v >= 2)
            wr_bool(&w, true); /* IncludeFencedBrokers (KIP-1073) */
        wr_tags(&w);
        rd r;
        req_header h;
        if (at_body(&w, &r, &h)) {
            describecluster_req q;
            if (CHECK_EQ_INT(describecluster_req_decode(&r, v, NULL, &q), 0)) {
                CHECK_EQ_INT(rd_remaining(&r), 0);
                CHECK(q.include_cluster_ops);
                CHECK_EQ_INT(q.endpoint_type, v >= 1 ? 2 : ENDPOINT_TYPE_BROKER);
                CHECK_EQ_INT(q.include_fenced, v >= 2);
            }
        }
        char what[48];
        snprintf(what, sizeof(what), "DescribeCluster v%d request", v);
        check_robust(&w, what);
        wr_free(&w);
    }
}

static void test_describecluster_responses(void)
{
    md_broker brokers[] = {{1, "127.0.0.1", 9092, NULL}, {2, "h2", 9093, "rack-b"}};
    describecluster_resp m = {.error_code = 0, .error_message = NULL,
                              .endpoint_type = ENDPOINT_TYPE_BROKER, .cluster_id = "brook",
                              .controller_id = 2, .nbrokers = 2, .brokers = brokers,
                              .cluster_ops = 0x1fa0};
    for (int16_t v = 0; v <= 2; v++) {
        wr w;
        wr_init(&w, 64);
        w.flex = true;
        describecluster_resp_encode(&w, v, &m);
        bb x = {.n = 0};
        b32(&x, 0); /* throttle */
        b16(&x, 0);
        b8(&x, 0); /* message: null */
        if (v >= 1)
            b8(&x, 1);
        bcstr(&x, "brook");
        b32(&x, 2); /* controller */
        b8(&x, 3);
        b32(&x, 1);
        bcstr(&x, "127.0.0.1");
        b32(&x, 9092);
        b8(&x, 0); /* rack: null */
        if (v >= 2)
            b8(&x, 0); /* IsFenced: false */
        b8(&x, 0);
        b32(&x, 2);
        bcstr(&x, "h2");
        b32(&x, 9093);
        bcstr(&x, "rack-b");
        if (v >= 2)
            b8(&x, 0);
        b8(&x, 0);
        b32(&x, 0x1fa0);
        b8(&x, 0);
        char what[48];
        snprintf(what, sizeof(what), "DescribeCluster v%d response", v);
        check_body(&w, &x, what);
        wr_free(&w);
    }
    /* An error answer: message, empty cluster id, controller -1, no brokers. */
    describecluster_resp e = {.error_code = KERR_MISMATCHED_ENDPOINT_TYPE, .error_message = "x",
                              .endpoint_type = 1, .cluster_id = "", .controller_id = -1,
                              .cluster_ops = INT32_MIN};
    wr w;
    wr_init(&w, 16);
    w.flex = true;
    describecluster_resp_encode(&w, 1, &e);
    bb x = {.n = 0};
    b32(&x, 0);
    b16(&x, 114);
    bcstr(&x, "x");
    b8(&x, 1);
    bcstr(&x, "");
    b32(&x, -1);
    b8(&x, 1);
    b32(&x, INT32_MIN);
    b8(&x, 0);
    check_body(&w, &x, "DescribeCluster v1 error response");
    wr_free(&w);
}

TU_MAIN(TU_CASE(test_version_table), TU_CASE(test_describeproducers_requests),
        TU_CASE(test_describeproducers_response), TU_CASE(test_describetxns_requests),
        TU_CASE(test_describetxns_response), TU_CASE(test_listtxns_requests),
        TU_CASE(test_listtxns_responses), TU_CASE(test_describecluster_requests),
        TU_CASE(test_describecluster_responses))
