/*
 * test_proto_msgs.c - request decoders and response encoders (proto/msgs.h).
 *
 * Requests are written by hand, field by field with wr_* in the order SCHEMAS.txt gives,
 * for several APIs and versions (including ApiVersions v3 with request header v2), then
 * decoded and checked field by field. Each request is also cut at every length (every cut
 * must fail, never crash: the inputs are exact-size heap copies, so AddressSanitizer sees
 * any overread) and has every byte replaced by a few awkward values. Response encoders are
 * compared with byte layouts written out independently of wr_*.
 */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/assert.h"
#include "base/buf.h"
#include "proto/api.h"
#include "proto/group_msgs.h"
#include "proto/errors.h"
#include "proto/msgs.h"
#include "proto/record.h"
#include "proto_testutil.h"
#include "testutil.h"

/* ---- decoding requests (written with req_start, proto_testutil.h) ---- */

typedef struct dec {
    rd r;
    req_header h;
    arena a;
} dec;

static bool dec_begin(dec *d, const wr *w, int16_t key, int16_t version)
{
    arena_init(&d->a);
    rd_init(&d->r, w->p, w->len);
    bool ok = CHECK_EQ_INT(req_header_decode(&d->r, &d->h), 0);
    ok &= CHECK_EQ_INT(d->h.api_key, key);
    ok &= CHECK_EQ_INT(d->h.api_version, version);
    ok &= CHECK_EQ_INT(d->h.correlation_id, 1000 + version);
    ok &= CHECK_SLICE(d->h.client_id, "test-client");
    ok &= CHECK_EQ_INT(d->h.flexible, api_is_flexible(key, version));
    return ok;
}

/* The body was consumed exactly. */
static void dec_end(dec *d)
{
    CHECK_EQ_INT(d->r.err, RD_OK);
    CHECK_EQ_INT(rd_remaining(&d->r), 0);
    arena_free(&d->a);
}

/* ---- ApiVersions ---- */

static void test_apiversions_requests(void)
{
    wr w;
    req_start(&w, API_API_VERSIONS, 3);
    wr_cstr(&w, "librdkafka");
    wr_cstr(&w, "2.0.2");
    wr_tags(&w);
    /* The exact bytes of a librdkafka-style ApiVersions v3 request. */
    /* clang-format off */
    static const uint8_t want[] = {
        0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x03, 0xeb, /* key 18, v3, correlation 1003 */
        0x00, 0x0b, 't', 'e', 's', 't', '-', 'c', 'l', 'i', 'e', 'n', 't', /* client_id */
        0x00,                                                            /* header tags */
        0x0b, 'l', 'i', 'b', 'r', 'd', 'k', 'a', 'f', 'k', 'a', 0x06, '2', '.', '0', '.', '2',
        0x00};
    /* clang-format on */
    check_bytes(&w, want, sizeof(want), "ApiVersions v3 request");
    dec d;
    if (dec_begin(&d, &w, API_API_VERSIONS, 3)) {
        CHECK(d.r.flex);
        apiversions_req q;
        CHECK_EQ_INT(apiversions_req_decode(&d.r, 3, &d.a, &q), 0);
        CHECK_SLICE(q.client_software_name, "librdkafka");
        CHECK_SLICE(q.client_software_version, "2.0.2");
    }
    dec_end(&d);
    check_robust(&w, "ApiVersions v3");
    wr_free(&w);

    /* Unknown tagged fields in the body are skipped. */
    req_start(&w, API_API_VERSIONS, 3);
    wr_cstr(&w, "n");
    wr_cstr(&w, "v");
    wr_raw(&w, "\x02\x00\x01\xaa\x07\x00", 6);
    if (dec_begin(&d, &w, API_API_VERSIONS, 3)) {
        apiversions_req q;
        CHECK_EQ_INT(apiversions_req_decode(&d.r, 3, &d.a, &q), 0);
        CHECK_SLICE(q.client_software_name, "n");
    }
    dec_end(&d);
    wr_free(&w);

    for (int16_t v = 0; v <= 2; v++) {
        req_start(&w, API_API_VERSIONS, v);
        if (dec_begin(&d, &w, API_API_VERSIONS, v)) {
            apiversions_req q;
            CHECK_EQ_INT(apiversions_req_decode(&d.r, v, &d.a, &q), 0);
            CHECK_SLICE(q.client_software_name, NULL);
        }
        dec_end(&d);
        check_robust(&w, "ApiVersions v0-2");
        wr_free(&w);
    }
}

/* ---- Metadata ---- */

static void test_metadata_requests(void)
{
    wr w;
    dec d;
    metadata_req q;

    req_start(&w, API_METADATA, 0);
    wr_array(&w, 2);
    wr_cstr(&w, "a");
    wr_cstr(&w, "bc");
    if (dec_begin(&d, &w, API_METADATA, 0)) {
        CHECK_EQ_INT(metadata_req_decode(&d.r, 0, &d.a, &q), 0);
        if (CHECK_EQ_INT(q.ntopics, 2)) {
            CHECK_SLICE(q.topics[0].name, "a");
            CHECK_SLICE(q.topics[1].name, "bc");
        }
        CHECK(q.allow_auto_create);
    }
    dec_end(&d);
    check_robust(&w, "Metadata v0");
    wr_free(&w);

    /* v0: an empty list means all topics; v1+: null means all, empty means none. */
    static const struct {
        int16_t v;
        int32_t count;
        int32_t want;
    } lists[] = {{0, 0, -1}, {1, -1, -1}, {1, 0, 0}, {4, -1, -1}, {8, 0, 0}};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        req_start(&w, API_METADATA, lists[i].v);
        wr_array(&w, lists[i].count);
        if (lists[i].v >= 4)
            wr_bool(&w, true);
        if (lists[i].v >= 8) {
            wr_bool(&w, false);
            wr_bool(&w, false);
        }
        if (dec_begin(&d, &w, API_METADATA, lists[i].v)) {
            CHECK_EQ_INT(metadata_req_decode(&d.r, lists[i].v, &d.a, &q), 0);
            if (!CHECK_EQ_INT(q.ntopics, lists[i].want))
                printf("  (v%d, count %d)\n", lists[i].v, lists[i].count);
        }
        dec_end(&d);
        wr_free(&w);
    }

    req_start(&w, API_METADATA, 4);
    wr_array(&w, 1);
    wr_cstr(&w, "t");
    wr_bool(&w, false);
    if (dec_begin(&d, &w, API_METADATA, 4)) {
        CHECK_EQ_INT(metadata_req_decode(&d.r, 4, &d.a, &q), 0);
        CHECK(q.ntopics == 1 && kslice_eq_cstr(q.topics[0].name, "t"));
        CHECK(!q.allow_auto_create);
    }
    dec_end(&d);
    check_robust(&w, "Metadata v4");
    wr_free(&w);

    req_start(&w, API_METADATA, 8);
    wr_array(&w, 1);
    wr_cstr(&w, "t");
    wr_bool(&w, true);
    wr_bool(&w, true);
    wr_bool(&w, false);
    if (dec_begin(&d, &w, API_METADATA, 8)) {
        CHECK_EQ_INT(metadata_req_decode(&d.r, 8, &d.a, &q), 0);
        CHECK(q.ntopics == 1 && q.allow_auto_create);
    }
    dec_end(&d);
    check_robust(&w, "Metadata v8");
    wr_free(&w);
}

/* ---- Produce ---- */

static void test_produce_requests(void)
{
    uint8_t *batch = NULL;
    static const char *const vals[] = {"hello"};
    size_t blen = rb_build_simple(&batch, 1, NULL, vals, 1);
    static const int16_t versions[] = {3, 7, 8, 9, 11};
    for (size_t vi = 0; vi < BROOK_ARRAY_LEN(versions); vi++) {
        int16_t v = versions[vi];
        wr w;
        req_start(&w, API_PRODUCE, v); /* v9+ flexible: compact strings, bytes, tags */
        wr_cstr(&w, v >= 7 ? "my-txn" : NULL);
        wr_i16(&w, -1);
        wr_i32(&w, 30000);
        wr_array(&w, 1);
        wr_cstr(&w, "t");
        wr_array(&w, 2);
        wr_i32(&w, 0);
        wr_bytes(&w, (kslice){batch, (int32_t)blen});
        wr_tags(&w);
        wr_i32(&w, 1);
        wr_bytes(&w, KSLICE_NULL);
        wr_tags(&w);
        wr_tags(&w); /* topic */
        wr_tags(&w); /* request */
        dec d;
        if (dec_begin(&d, &w, API_PRODUCE, v)) {
            produce_req q;
            CHECK_EQ_INT(produce_req_decode(&d.r, v, &d.a, &q), 0);
            CHECK_SLICE(q.transactional_id, v >= 7 ? "my-txn" : NULL);
            CHECK_EQ_INT(q.acks, -1);
            CHECK_EQ_INT(q.timeout_ms, 30000);
            if (CHECK_EQ_INT(q.ntopics, 1)) {
                produce_topic *t = &q.topics[0];
                CHECK_SLICE(t->name, "t");
                if (CHECK_EQ_INT(t->nparts, 2)) {
                    CHECK_EQ_INT(t->parts[0].index, 0);
                    CHECK_EQ_INT(t->parts[0].records.len, blen);
                    /* Borrowed from the request buffer, not copied. */
                    CHECK(t->parts[0].records.p > w.p && t->parts[0].records.p < w.p + w.len);
                    CHECK_EQ_MEM(t->parts[0].records.p, batch, blen);
                    CHECK_EQ_INT(t->parts[0].base_offset, -1);
                    CHECK_EQ_INT(t->parts[1].index, 1);
                    CHECK_SLICE(t->parts[1].records, NULL);
                }
            }
        }
        dec_end(&d);
        check_robust(&w, "Produce");
        wr_free(&w);
    }
    free(batch);

    /* A null topic array is malformed. */
    wr w;
    req_start(&w, API_PRODUCE, 3);
    wr_cstr(&w, NULL);
    wr_i16(&w, 1);
    wr_i32(&w, 0);
    wr_array(&w, -1);
    dec d;
    if (dec_begin(&d, &w, API_PRODUCE, 3)) {
        produce_req q;
        CHECK_EQ_INT(produce_req_decode(&d.r, 3, &d.a, &q), -1);
    }
    arena_free(&d.a);
    wr_free(&w);

    /* So is a count larger than the bytes could hold. */
    req_start(&w, API_PRODUCE, 3);
    wr_cstr(&w, NULL);
    wr_i16(&w, 1);
    wr_i32(&w, 0);
    wr_array(&w, 1000000);
    wr_cstr(&w, "t");
    if (dec_begin(&d, &w, API_PRODUCE, 3)) {
        produce_req q;
        CHECK_EQ_INT(produce_req_decode(&d.r, 3, &d.a, &q), -1);
        CHECK_EQ_INT(d.r.err, RD_BAD_LENGTH);
    }
    arena_free(&d.a);
    wr_free(&w);
}

/* ---- Fetch ---- */

static void test_fetch_requests(void)
{
    wr w;
    dec d;
    fetch_req q;

    /* v4 has no session fields: the decoder's defaults (session id 0) */
    const fetch_req head4 = {.replica_id = -1,
                             .max_wait_ms = 500,
                             .min_bytes = 1,
                             .max_bytes = 52428800,
                             .isolation_level = 1,
                             .session_epoch = -1};
    req_start(&w, API_FETCH, 4);
    write_fetch_head(&w, 4, &head4);
    wr_array(&w, 1);
    wr_cstr(&w, "t");
    wr_array(&w, 1);
    wr_i32(&w, 3);
    wr_i64(&w, 10);
    wr_i32(&w, 1048576);
    if (dec_begin(&d, &w, API_FETCH, 4)) {
        CHECK_EQ_INT(fetch_req_decode(&d.r, 4, &d.a, &q), 0);
        check_fetch_head(&q, &head4);
        CHECK_SLICE(q.rack_id, NULL);
        if (CHECK_EQ_INT(q.ntopics, 1) && CHECK_EQ_INT(q.topics[0].nparts, 1)) {
            CHECK_SLICE(q.topics[0].name, "t");
            fetch_part *p = &q.topics[0].parts[0];
            CHECK_EQ_INT(p->index, 3);
            CHECK_EQ_INT(p->current_leader_epoch, -1);
            CHECK_EQ_INT(p->fetch_offset, 10);
            CHECK_EQ_INT(p->log_start_offset, -1);
            CHECK_EQ_INT(p->partition_max_bytes, 1048576);
            CHECK_EQ_INT(p->naborted, -1);
        }
    }
    dec_end(&d);
    check_robust(&w, "Fetch v4");
    wr_free(&w);

    req_start(&w, API_FETCH, 11);
    wr_i32(&w, -1);
    wr_i32(&w, 100);
    wr_i32(&w, 1);
    wr_i32(&w, 1000);
    wr_i8(&w, 0);
    wr_i32(&w, 0);  /* session id */
    wr_i32(&w, -1); /* session epoch */
    wr_array(&w, 1);
    wr_cstr(&w, "topic");
    wr_array(&w, 2);
    for (int i = 0; i < 2; i++) {
        wr_i32(&w, i);
        wr_i32(&w, 5);            /* current leader epoch */
        wr_i64(&w, 10 * (i + 1)); /* fetch offset */
        wr_i64(&w, i);            /* log start offset */
        wr_i32(&w, 4096);
    }
    wr_array(&w, 1); /* forgotten topics */
    wr_cstr(&w, "old");
    wr_array(&w, 2);
    wr_i32(&w, 1);
    wr_i32(&w, 2);
    wr_cstr(&w, "rack-a");
    if (dec_begin(&d, &w, API_FETCH, 11)) {
        CHECK_EQ_INT(fetch_req_decode(&d.r, 11, &d.a, &q), 0);
        CHECK_EQ_INT(q.max_wait_ms, 100);
        CHECK_EQ_INT(q.isolation_level, 0);
        CHECK_EQ_INT(q.session_id, 0);
        CHECK_EQ_INT(q.session_epoch, -1);
        CHECK_SLICE(q.rack_id, "rack-a");
        if (CHECK_EQ_INT(q.ntopics, 1) && CHECK_EQ_INT(q.topics[0].nparts, 2)) {
            CHECK_SLICE(q.topics[0].name, "topic");
            fetch_part *p = &q.topics[0].parts[1];
            CHECK_EQ_INT(p->index, 1);
            CHECK_EQ_INT(p->current_leader_epoch, 5);
            CHECK_EQ_INT(p->fetch_offset, 20);
            CHECK_EQ_INT(p->log_start_offset, 1);
            CHECK_EQ_INT(p->partition_max_bytes, 4096);
        }
    }
    dec_end(&d);
    check_robust(&w, "Fetch v11");
    wr_free(&w);
}

/* ---- ListOffsets ---- */

static void test_listoffsets_requests(void)
{
    for (int16_t v = 1; v <= 10; v++) { /* v4 epochs, v6 flexible, v10 timeout */
        wr w;
        req_start(&w, API_LIST_OFFSETS, v);
        wr_i32(&w, -1);
        if (v >= 2)
            wr_i8(&w, 1);
        wr_array(&w, 1);
        wr_cstr(&w, "t");
        wr_array(&w, 2);
        wr_i32(&w, 0);
        if (v >= 4)
            wr_i32(&w, 6); /* current leader epoch */
        wr_i64(&w, -1); /* latest */
        wr_tags(&w);
        wr_i32(&w, 1);
        if (v >= 4)
            wr_i32(&w, -1);
        wr_i64(&w, v >= 7 ? LO_MAX_TIMESTAMP : -2);
        wr_tags(&w);
        wr_tags(&w); /* topic */
        if (v >= 10)
            wr_i32(&w, 2500);
        wr_tags(&w);
        dec d;
        if (dec_begin(&d, &w, API_LIST_OFFSETS, v)) {
            listoffsets_req q;
            CHECK_EQ_INT(listoffsets_req_decode(&d.r, v, &d.a, &q), 0);
            CHECK_EQ_INT(q.replica_id, -1);
            CHECK_EQ_INT(q.isolation_level, v >= 2 ? 1 : 0);
            if (CHECK_EQ_INT(q.ntopics, 1) && CHECK_EQ_INT(q.topics[0].nparts, 2)) {
                CHECK_EQ_INT(q.topics[0].parts[0].timestamp, -1);
                CHECK_EQ_INT(q.topics[0].parts[0].current_leader_epoch, v >= 4 ? 6 : -1);
                CHECK_EQ_INT(q.topics[0].parts[1].index, 1);
                CHECK_EQ_INT(q.topics[0].parts[1].timestamp, v >= 7 ? LO_MAX_TIMESTAMP : -2);
                CHECK_EQ_INT(q.topics[0].parts[1].resp_leader_epoch, -1);
            }
            CHECK_EQ_INT(q.timeout_ms, v >= 10 ? 2500 : -1);
        }
        dec_end(&d);
        check_robust(&w, "ListOffsets");
        wr_free(&w);
    }
}

/* ---- admin APIs ---- */

static void test_createtopics_requests(void)
{
    wr w;
    dec d;
    createtopics_req q;

    req_start(&w, API_CREATE_TOPICS, 0);
    wr_array(&w, 1);
    wr_cstr(&w, "new");
    wr_i32(&w, 3);
    wr_i16(&w, 1);
    wr_array(&w, 0);
    wr_array(&w, 2);
    wr_cstr(&w, "cleanup.policy");
    wr_cstr(&w, "compact");
    wr_cstr(&w, "retention.ms");
    wr_cstr(&w, NULL);
    wr_i32(&w, 5000);
    if (dec_begin(&d, &w, API_CREATE_TOPICS, 0)) {
        CHECK_EQ_INT(createtopics_req_decode(&d.r, 0, &d.a, &q), 0);
        CHECK_EQ_INT(q.timeout_ms, 5000);
        CHECK(!q.validate_only);
        if (CHECK_EQ_INT(q.ntopics, 1)) {
            createtopics_topic *t = &q.topics[0];
            CHECK_SLICE(t->name, "new");
            CHECK_EQ_INT(t->num_partitions, 3);
            CHECK_EQ_INT(t->replication_factor, 1);
            CHECK_EQ_INT(t->nassignments, 0);
            if (CHECK_EQ_INT(t->nconfigs, 2)) {
                CHECK_SLICE(t->configs[0].name, "cleanup.policy");
                CHECK_SLICE(t->configs[0].value, "compact");
                CHECK_SLICE(t->configs[1].name, "retention.ms");
                CHECK_SLICE(t->configs[1].value, NULL);
            }
        }
    }
    dec_end(&d);
    check_robust(&w, "CreateTopics v0");
    wr_free(&w);

    req_start(&w, API_CREATE_TOPICS, 4);
    wr_array(&w, 2);
    wr_cstr(&w, "a");
    wr_i32(&w, -1);
    wr_i16(&w, -1);
    wr_array(&w, 1); /* assignment: partition 0 on broker 1 */
    wr_i32(&w, 0);
    wr_array(&w, 1);
    wr_i32(&w, 1);
    wr_array(&w, -1); /* null configs */
    wr_cstr(&w, "b");
    wr_i32(&w, 1);
    wr_i16(&w, 1);
    wr_array(&w, 0);
    wr_array(&w, 0);
    wr_i32(&w, 1000);
    wr_bool(&w, true);
    if (dec_begin(&d, &w, API_CREATE_TOPICS, 4)) {
        CHECK_EQ_INT(createtopics_req_decode(&d.r, 4, &d.a, &q), 0);
        CHECK(q.validate_only);
        if (CHECK_EQ_INT(q.ntopics, 2)) {
            CHECK_EQ_INT(q.topics[0].num_partitions, -1);
            CHECK_EQ_INT(q.topics[0].replication_factor, -1);
            if (CHECK_EQ_INT(q.topics[0].nassignments, 1)) {
                const replica_assign *ra = &q.topics[0].assignments[0];
                CHECK_EQ_INT(ra->index, 0);
                if (CHECK_EQ_INT(ra->nbrokers, 1))
                    CHECK_EQ_INT(ra->brokers[0], 1);
            }
            CHECK_EQ_INT(q.topics[0].nconfigs, 0);
            CHECK_SLICE(q.topics[1].name, "b");
        }
    }
    dec_end(&d);
    check_robust(&w, "CreateTopics v4");
    wr_free(&w);
}

static void test_deletetopics_deleterecords_requests(void)
{
    wr w;
    dec d;
    req_start(&w, API_DELETE_TOPICS, 1);
    wr_array(&w, 2);
    wr_cstr(&w, "a");
    wr_cstr(&w, "b");
    wr_i32(&w, 1000);
    if (dec_begin(&d, &w, API_DELETE_TOPICS, 1)) {
        deletetopics_req q;
        CHECK_EQ_INT(deletetopics_req_decode(&d.r, 1, &d.a, &q), 0);
        if (CHECK_EQ_INT(q.ntopics, 2)) {
            CHECK_SLICE(q.topics[0].name, "a");
            CHECK_SLICE(q.topics[1].name, "b");
            CHECK_EQ_INT(q.topics[1].error_code, 0);
        }
        CHECK_EQ_INT(q.timeout_ms, 1000);
    }
    dec_end(&d);
    check_robust(&w, "DeleteTopics v1");
    wr_free(&w);

    req_start(&w, API_DELETE_RECORDS, 0);
    wr_array(&w, 1);
    wr_cstr(&w, "t");
    wr_array(&w, 1);
    wr_i32(&w, 2);
    wr_i64(&w, 100);
    wr_i32(&w, 1000);
    if (dec_begin(&d, &w, API_DELETE_RECORDS, 0)) {
        deleterecords_req q;
        CHECK_EQ_INT(deleterecords_req_decode(&d.r, 0, &d.a, &q), 0);
        if (CHECK_EQ_INT(q.ntopics, 1) && CHECK_EQ_INT(q.topics[0].nparts, 1)) {
            CHECK_EQ_INT(q.topics[0].parts[0].index, 2);
            CHECK_EQ_INT(q.topics[0].parts[0].offset, 100);
        }
        CHECK_EQ_INT(q.timeout_ms, 1000);
    }
    dec_end(&d);
    check_robust(&w, "DeleteRecords v0");
    wr_free(&w);
}

static void test_configs_requests(void)
{
    wr w;
    dec d;
    describeconfigs_req q;

    req_start(&w, API_DESCRIBE_CONFIGS, 0);
    wr_array(&w, 1);
    wr_i8(&w, CONFIG_RESOURCE_TOPIC);
    wr_cstr(&w, "t");
    wr_array(&w, -1);
    if (dec_begin(&d, &w, API_DESCRIBE_CONFIGS, 0)) {
        CHECK_EQ_INT(describeconfigs_req_decode(&d.r, 0, &d.a, &q), 0);
        if (CHECK_EQ_INT(q.nresources, 1)) {
            CHECK_EQ_INT(q.resources[0].type, CONFIG_RESOURCE_TOPIC);
            CHECK_SLICE(q.resources[0].name, "t");
            CHECK_EQ_INT(q.resources[0].nnames, -1);
        }
        CHECK(!q.include_synonyms);
    }
    dec_end(&d);
    check_robust(&w, "DescribeConfigs v0");
    wr_free(&w);

    req_start(&w, API_DESCRIBE_CONFIGS, 1);
    wr_array(&w, 1);
    wr_i8(&w, CONFIG_RESOURCE_BROKER);
    wr_cstr(&w, "1");
    wr_array(&w, 1);
    wr_cstr(&w, "log.dirs");
    wr_bool(&w, true);
    if (dec_begin(&d, &w, API_DESCRIBE_CONFIGS, 1)) {
        CHECK_EQ_INT(describeconfigs_req_decode(&d.r, 1, &d.a, &q), 0);
        if (CHECK_EQ_INT(q.nresources, 1) && CHECK_EQ_INT(q.resources[0].nnames, 1))
            CHECK_SLICE(q.resources[0].names[0], "log.dirs");
        CHECK(q.include_synonyms);
    }
    dec_end(&d);
    check_robust(&w, "DescribeConfigs v1");
    wr_free(&w);

    for (int16_t v = 3; v <= 4; v++) { /* v3 IncludeDocumentation; v4 flexible */
        req_start(&w, API_DESCRIBE_CONFIGS, v);
        wr_array(&w, 1);
        wr_i8(&w, CONFIG_RESOURCE_TOPIC);
        wr_cstr(&w, "t");
        wr_array(&w, 1);
        wr_cstr(&w, "retention.ms");
        wr_tags(&w);
        wr_bool(&w, false);
        wr_bool(&w, true);
        wr_tags(&w);
        if (dec_begin(&d, &w, API_DESCRIBE_CONFIGS, v)) {
            CHECK_EQ_INT(describeconfigs_req_decode(&d.r, v, &d.a, &q), 0);
            if (CHECK_EQ_INT(q.nresources, 1) && CHECK_EQ_INT(q.resources[0].nnames, 1))
                CHECK_SLICE(q.resources[0].names[0], "retention.ms");
            CHECK(!q.include_synonyms);
            CHECK(q.include_documentation);
        }
        dec_end(&d);
        check_robust(&w, "DescribeConfigs v3/v4");
        wr_free(&w);
    }

    req_start(&w, API_ALTER_CONFIGS, 0);
    wr_array(&w, 1);
    wr_i8(&w, CONFIG_RESOURCE_TOPIC);
    wr_cstr(&w, "t");
    wr_array(&w, 2);
    wr_cstr(&w, "retention.ms");
    wr_cstr(&w, "1000");
    wr_cstr(&w, "segment.bytes");
    wr_cstr(&w, NULL);
    wr_bool(&w, true);
    if (dec_begin(&d, &w, API_ALTER_CONFIGS, 0)) {
        alterconfigs_req a;
        CHECK_EQ_INT(alterconfigs_req_decode(&d.r, 0, &d.a, &a), 0);
        if (CHECK_EQ_INT(a.nresources, 1) && CHECK_EQ_INT(a.resources[0].nconfigs, 2)) {
            CHECK_SLICE(a.resources[0].configs[0].value, "1000");
            CHECK_SLICE(a.resources[0].configs[1].value, NULL);
        }
        CHECK(a.validate_only);
    }
    dec_end(&d);
    check_robust(&w, "AlterConfigs v0");
    wr_free(&w);
}

static void test_createpartitions_requests(void)
{
    for (int16_t v = 0; v <= 3; v++) { /* v2+ flexible */
        wr w;
        req_start(&w, API_CREATE_PARTITIONS, v);
        wr_array(&w, 2);
        wr_cstr(&w, "t");
        wr_i32(&w, 6);
        wr_array(&w, -1);
        wr_tags(&w);
        wr_cstr(&w, "u");
        wr_i32(&w, 3);
        wr_array(&w, 2);
        for (int i = 0; i < 2; i++) {
            wr_array(&w, 2);
            wr_i32(&w, 1 + i);
            wr_i32(&w, 7);
            wr_tags(&w);
        }
        wr_tags(&w);
        wr_i32(&w, 1000);
        wr_bool(&w, v == 1);
        wr_tags(&w);
        dec d;
        if (dec_begin(&d, &w, API_CREATE_PARTITIONS, v)) {
            createparts_req q;
            CHECK_EQ_INT(createparts_req_decode(&d.r, v, &d.a, &q), 0);
            if (CHECK_EQ_INT(q.ntopics, 2)) {
                CHECK_SLICE(q.topics[0].name, "t");
                CHECK_EQ_INT(q.topics[0].count, 6);
                CHECK_EQ_INT(q.topics[0].nassignments, -1);
                CHECK_EQ_INT(q.topics[1].count, 3);
                if (CHECK_EQ_INT(q.topics[1].nassignments, 2))
                    for (int i = 0; i < 2; i++) {
                        const replica_assign *ra = &q.topics[1].assignments[i];
                        if (CHECK_EQ_INT(ra->nbrokers, 2)) {
                            CHECK_EQ_INT(ra->brokers[0], 1 + i);
                            CHECK_EQ_INT(ra->brokers[1], 7);
                        }
                    }
            }
            CHECK_EQ_INT(q.timeout_ms, 1000);
            CHECK_EQ_INT(q.validate_only, v == 1);
        }
        dec_end(&d);
        check_robust(&w, "CreatePartitions");
        wr_free(&w);
    }
}

/* ---- transactions ---- */

static void test_findcoordinator_requests(void)
{
    for (int16_t v = 0; v <= 4; v++) { /* v3 flexible, v4 several keys */
        wr w;
        req_start(&w, API_FIND_COORDINATOR, v);
        if (v >= 4) {
            wr_i8(&w, 1);
            wr_array(&w, 2);
            wr_cstr(&w, "txn-1");
            wr_cstr(&w, "txn-2");
        } else {
            wr_cstr(&w, v == 0 ? "group-1" : "txn-1");
            if (v >= 1)
                wr_i8(&w, 1);
        }
        wr_tags(&w);
        dec d;
        if (dec_begin(&d, &w, API_FIND_COORDINATOR, v)) {
            findcoord_req q;
            CHECK_EQ_INT(findcoord_req_decode(&d.r, v, &d.a, &q), 0);
            if (CHECK_EQ_INT(q.nkeys, v >= 4 ? 2 : 1))
                CHECK_SLICE(q.keys[0], v == 0 ? "group-1" : "txn-1");
            if (v >= 4 && q.nkeys == 2)
                CHECK_SLICE(q.keys[1], "txn-2");
            CHECK_EQ_INT(q.key_type, v == 0 ? 0 : 1);
        }
        dec_end(&d);
        check_robust(&w, "FindCoordinator");
        wr_free(&w);
    }
}

/* InitProducerId is flexible from v2: request header v2, compact nullable string. */
static void test_initproducerid_requests(void)
{
    for (int16_t v = 0; v <= 4; v++) {
        bool flex = v >= 2;
        wr w;
        req_start(&w, API_INIT_PRODUCER_ID, v);
        wr_cstr(&w, v == 1 ? NULL : "tx");
        wr_i32(&w, 60000);
        if (v >= 3) {
            wr_i64(&w, 1000);
            wr_i16(&w, 2);
        }
        wr_tags(&w);
        if (v == 4) {
            /* clang-format off */
            static const uint8_t want[] = {
                0x00, 0x16, 0x00, 0x04, 0x00, 0x00, 0x03, 0xec, /* key 22, v4, corr 1004 */
                0x00, 0x0b, 't', 'e', 's', 't', '-', 'c', 'l', 'i', 'e', 'n', 't',
                0x00,                                           /* header tags */
                0x03, 't', 'x',                                 /* compact "tx" */
                0x00, 0x00, 0xea, 0x60,                         /* timeout 60000 */
                0, 0, 0, 0, 0, 0, 0x03, 0xe8,                   /* producer id 1000 */
                0x00, 0x02,                                     /* epoch 2 */
                0x00};                                          /* body tags */
            /* clang-format on */
            check_bytes(&w, want, sizeof(want), "InitProducerId v4 request");
        }
        dec d;
        if (dec_begin(&d, &w, API_INIT_PRODUCER_ID, v)) {
            CHECK_EQ_INT(d.r.flex, flex);
            initpid_req q;
            CHECK_EQ_INT(initpid_req_decode(&d.r, v, &d.a, &q), 0);
            CHECK_SLICE(q.transactional_id, v == 1 ? NULL : "tx");
            CHECK_EQ_INT(q.timeout_ms, 60000);
            CHECK_EQ_INT(q.producer_id, v >= 3 ? 1000 : -1);
            CHECK_EQ_INT(q.producer_epoch, v >= 3 ? 2 : -1);
        }
        dec_end(&d);
        check_robust(&w, "InitProducerId");
        wr_free(&w);
    }
}

static void test_addpartitions_endtxn_requests(void)
{
    for (int16_t v = 0; v <= 3; v++) { /* v2: PRODUCER_FENCED known; v3 flexible */
        wr w;
        req_start(&w, API_ADD_PARTITIONS_TO_TXN, v);
        wr_cstr(&w, "tx");
        wr_i64(&w, 1000);
        wr_i16(&w, 2);
        wr_array(&w, 2);
        wr_cstr(&w, "t");
        wr_array(&w, 2);
        wr_i32(&w, 0);
        wr_i32(&w, 7);
        wr_tags(&w);
        wr_cstr(&w, "u");
        wr_array(&w, 0);
        wr_tags(&w);
        wr_tags(&w);
        dec d;
        if (dec_begin(&d, &w, API_ADD_PARTITIONS_TO_TXN, v)) {
            addparts_req q;
            CHECK_EQ_INT(addparts_req_decode(&d.r, v, &d.a, &q), 0);
            CHECK_SLICE(q.transactional_id, "tx");
            CHECK_EQ_INT(q.producer_id, 1000);
            CHECK_EQ_INT(q.producer_epoch, 2);
            if (CHECK_EQ_INT(q.ntopics, 2) && CHECK_EQ_INT(q.topics[0].nparts, 2)) {
                CHECK_SLICE(q.topics[0].name, "t");
                CHECK_EQ_INT(q.topics[0].parts[1], 7);
                CHECK(q.topics[0].errors != NULL);
                CHECK_EQ_INT(q.topics[1].nparts, 0);
            }
        }
        dec_end(&d);
        check_robust(&w, "AddPartitionsToTxn");
        wr_free(&w);

        req_start(&w, API_END_TXN, v);
        wr_cstr(&w, "tx");
        wr_i64(&w, 1000);
        wr_i16(&w, 2);
        wr_bool(&w, v % 2 == 1);
        wr_tags(&w);
        if (dec_begin(&d, &w, API_END_TXN, v)) {
            endtxn_req q;
            CHECK_EQ_INT(endtxn_req_decode(&d.r, v, &d.a, &q), 0);
            CHECK_SLICE(q.transactional_id, "tx");
            CHECK_EQ_INT(q.producer_id, 1000);
            CHECK_EQ_INT(q.producer_epoch, 2);
            CHECK_EQ_INT(q.committed, v % 2 == 1);
        }
        dec_end(&d);
        check_robust(&w, "EndTxn");
        wr_free(&w);

        req_start(&w, API_ADD_OFFSETS_TO_TXN, v);
        wr_cstr(&w, "tx");
        wr_i64(&w, 1000);
        wr_i16(&w, 2);
        wr_cstr(&w, "grp");
        wr_tags(&w);
        if (dec_begin(&d, &w, API_ADD_OFFSETS_TO_TXN, v)) {
            addoffsets_req q;
            CHECK_EQ_INT(addoffsets_req_decode(&d.r, v, &d.a, &q), 0);
            CHECK_SLICE(q.transactional_id, "tx");
            CHECK_SLICE(q.group_id, "grp");
            CHECK_EQ_INT(q.producer_epoch, 2);
        }
        dec_end(&d);
        check_robust(&w, "AddOffsetsToTxn");
        wr_free(&w);
    }

    /* The answers at v3: flexible (compact name and arrays, tag buffers); the v4+ fields of
     * the struct (a batch, a top-level error) are not written. */
    int32_t parts[1] = {4};
    int16_t errs[1] = {KERR_PRODUCER_FENCED};
    addparts_topic t = {{(const uint8_t *)"t", 1}, 1, parts, errs};
    addparts_txn batch = {.transactional_id = kslice_cstr("other"), .ntopics = 1, .topics = &t};
    addparts_req ap = {.transactional_id = KSLICE_NULL, .producer_id = 1, .ntopics = 1,
                       .topics = &t, .ntxns = 1, .txns = &batch,
                       .error_code = KERR_NOT_COORDINATOR};
    bb want = {.n = 0};
    b32(&want, 0);
    b8(&want, 2);
    bcstr(&want, "t");
    b8(&want, 2);
    b32(&want, 4);
    b16(&want, KERR_PRODUCER_FENCED);
    b8(&want, 0);
    b8(&want, 0);
    b8(&want, 0);
    wr w;
    wr_init(&w, 16);
    w.flex = true;
    addparts_resp_encode(&w, 3, &ap);
    check_body(&w, &want, "AddPartitionsToTxn v3");
    wr_free(&w);
}

/* Versions that differ from the one below only in being flexible (compact strings and
 * arrays, tag buffers): each decodes field by field and survives every cut. */
static void test_flexible_only_versions(void)
{
    wr w;
    dec d;

    req_start(&w, API_HEARTBEAT, 4);
    wr_cstr(&w, "g");
    wr_i32(&w, 7);
    wr_cstr(&w, "m-1");
    wr_cstr(&w, NULL);
    wr_tags(&w);
    if (dec_begin(&d, &w, API_HEARTBEAT, 4)) {
        heartbeat_req q;
        CHECK_EQ_INT(heartbeat_req_decode(&d.r, 4, &d.a, &q), 0);
        CHECK_SLICE(q.group_id, "g");
        CHECK_EQ_INT(q.generation_id, 7);
        CHECK_SLICE(q.member_id, "m-1");
        CHECK_SLICE(q.group_instance_id, NULL);
    }
    dec_end(&d);
    check_robust(&w, "Heartbeat v4");
    wr_free(&w);

    req_start(&w, API_DELETE_GROUPS, 2);
    wr_array(&w, 2);
    wr_cstr(&w, "g1");
    wr_cstr(&w, "g2");
    wr_tags(&w);
    if (dec_begin(&d, &w, API_DELETE_GROUPS, 2)) {
        names_req q;
        CHECK_EQ_INT(group_names_req_decode(&d.r, 2, &d.a, &q), 0);
        if (CHECK_EQ_INT(q.n, 2))
            CHECK_SLICE(q.names[1], "g2");
    }
    dec_end(&d);
    check_robust(&w, "DeleteGroups v2");
    wr_free(&w);

    req_start(&w, API_DELETE_RECORDS, 2);
    wr_array(&w, 1);
    wr_cstr(&w, "t");
    wr_array(&w, 1);
    wr_i32(&w, 3);
    wr_i64(&w, 99);
    wr_tags(&w);
    wr_tags(&w);
    wr_i32(&w, 500);
    wr_tags(&w);
    if (dec_begin(&d, &w, API_DELETE_RECORDS, 2)) {
        deleterecords_req q;
        CHECK_EQ_INT(deleterecords_req_decode(&d.r, 2, &d.a, &q), 0);
        if (CHECK_EQ_INT(q.ntopics, 1) && CHECK_EQ_INT(q.topics[0].nparts, 1)) {
            CHECK_EQ_INT(q.topics[0].parts[0].index, 3);
            CHECK_EQ_INT(q.topics[0].parts[0].offset, 99);
        }
    }
    dec_end(&d);
    check_robust(&w, "DeleteRecords v2");
    wr_free(&w);

    req_start(&w, API_ALTER_CONFIGS, 2);
    wr_array(&w, 1);
    wr_i8(&w, 2);
    wr_cstr(&w, "t");
    wr_array(&w, 1);
    wr_cstr(&w, "retention.ms");
    wr_cstr(&w, "1000");
    wr_tags(&w);
    wr_tags(&w);
    wr_bool(&w, true);
    wr_tags(&w);
    if (dec_begin(&d, &w, API_ALTER_CONFIGS, 2)) {
        alterconfigs_req q;
        CHECK_EQ_INT(alterconfigs_req_decode(&d.r, 2, &d.a, &q), 0);
        CHECK(q.validate_only);
        if (CHECK_EQ_INT(q.nresources, 1) && CHECK_EQ_INT(q.resources[0].nconfigs, 1)) {
            CHECK_SLICE(q.resources[0].configs[0].name, "retention.ms");
            CHECK_SLICE(q.resources[0].configs[0].value, "1000");
        }
    }
    dec_end(&d);
    check_robust(&w, "AlterConfigs v2");
    wr_free(&w);

    req_start(&w, API_API_VERSIONS, 4);
    wr_cstr(&w, "kafka-java");
    wr_cstr(&w, "4.1.0");
    wr_tags(&w);
    if (dec_begin(&d, &w, API_API_VERSIONS, 4)) {
        apiversions_req q;
        CHECK_EQ_INT(apiversions_req_decode(&d.r, 4, &d.a, &q), 0);
        CHECK_SLICE(q.client_software_name, "kafka-java");
    }
    dec_end(&d);
    check_robust(&w, "ApiVersions v4");
    wr_free(&w);
}

/* DescribeGroups v3 (authorized operations), v4 (group.instance.id), v5 (flexible), v6
 * (an error message per group, KIP-1043). */
static void test_describegroups_versions(void)
{
    for (int16_t v = 2; v <= 6; v++) {
        wr w;
        dec d;
        req_start(&w, API_DESCRIBE_GROUPS, v);
        wr_array(&w, 1);
        wr_cstr(&w, "grp");
        if (v >= 3)
            wr_bool(&w, true);
        wr_tags(&w);
        if (dec_begin(&d, &w, API_DESCRIBE_GROUPS, v)) {
            names_req q;
            CHECK_EQ_INT(describegroups_req_decode(&d.r, v, &d.a, &q), 0);
            if (CHECK_EQ_INT(q.n, 1))
                CHECK_SLICE(q.names[0], "grp");
            CHECK_EQ_INT(q.include_authorized_operations, v >= 3);
        }
        dec_end(&d);
        check_robust(&w, "DescribeGroups");
        wr_free(&w);

        static const uint8_t meta[] = {1, 2}, asg[] = {3};
        described_member m = {"m-1", "inst-1", "cli", "/127.0.0.1", {meta, 2}, {asg, 1}};
        described_group g = {0, {(const uint8_t *)"grp", 3}, "Stable", "consumer", "range", 1,
                             &m, DG_GROUP_OPS_ALL, v == 6 ? "why" : NULL};
        bool flex = v >= 5;
        bb want = {.n = 0};
        b32(&want, 0); /* throttle */
        flex ? b8(&want, 2) : b32(&want, 1);
        b16(&want, 0);
        if (v >= 6)
            bcstr(&want, "why"); /* ErrorMessage */
        const char *const strs[] = {"grp", "Stable", "consumer", "range"};
        for (int i = 0; i < 4; i++)
            flex ? bcstr(&want, strs[i]) : bstr(&want, strs[i]);
        flex ? b8(&want, 2) : b32(&want, 1);
        flex ? bcstr(&want, "m-1") : bstr(&want, "m-1");
        if (v >= 4)
            flex ? bcstr(&want, "inst-1") : bstr(&want, "inst-1");
        flex ? bcstr(&want, "cli") : bstr(&want, "cli");
        flex ? bcstr(&want, "/127.0.0.1") : bstr(&want, "/127.0.0.1");
        flex ? b8(&want, 3) : b32(&want, 2);
        b8(&want, 1);
        b8(&want, 2);
        flex ? b8(&want, 2) : b32(&want, 1);
        b8(&want, 3);
        if (flex)
            b8(&want, 0); /* member tags */
        if (v >= 3)
            b32(&want, DG_GROUP_OPS_ALL);
        if (flex) {
            b8(&want, 0); /* group tags */
            b8(&want, 0);
        }
        wr_init(&w, 16);
        w.flex = flex;
        describegroups_resp_encode(&w, v, &g, 1);
        check_body(&w, &want, "DescribeGroups v2-v6");
        wr_free(&w);
    }
}

/* ListGroups v4 (states filter, state per group) and v5 (types filter, type). */
static void test_listgroups_versions(void)
{
    for (int16_t v = 3; v <= 5; v++) {
        wr w;
        dec d;
        req_start(&w, API_LIST_GROUPS, v);
        if (v >= 4) {
            wr_array(&w, 2);
            wr_cstr(&w, "Stable");
            wr_cstr(&w, "empty");
        }
        if (v >= 5) {
            wr_array(&w, 1);
            wr_cstr(&w, "classic");
        }
        wr_tags(&w);
        if (dec_begin(&d, &w, API_LIST_GROUPS, v)) {
            listgroups_req q;
            CHECK_EQ_INT(listgroups_req_decode(&d.r, v, &d.a, &q), 0);
            CHECK_EQ_INT(q.nstates, v >= 4 ? 2 : 0);
            CHECK_EQ_INT(q.ntypes, v >= 5 ? 1 : 0);
            if (v >= 4 && q.nstates == 2)
                CHECK_SLICE(q.states[1], "empty");
            if (v >= 5 && q.ntypes == 1)
                CHECK_SLICE(q.types[0], "classic");
        }
        dec_end(&d);
        if (v >= 4)
            check_robust(&w, "ListGroups");
        wr_free(&w);

        listed_group g = {"grp", "consumer", "Stable", "classic"};
        bb want = {.n = 0};
        b32(&want, 0);
        b16(&want, 0);
        b8(&want, 2);
        bcstr(&want, "grp");
        bcstr(&want, "consumer");
        if (v >= 4)
            bcstr(&want, "Stable");
        if (v >= 5)
            bcstr(&want, "classic");
        b8(&want, 0);
        b8(&want, 0);
        wr_init(&w, 16);
        w.flex = true;
        listgroups_resp_encode(&w, v, 0, &g, 1);
        check_body(&w, &want, "ListGroups v3-v5");
        wr_free(&w);
    }
}

/* OffsetDelete v0 (KIP-496): request decode, every cut refused; response with partition
 * errors, and with a group-level error (no topics). */
static void test_offsetdelete(void)
{
    wr w;
    dec d;
    req_start(&w, API_OFFSET_DELETE, 0);
    wr_cstr(&w, "grp");
    wr_array(&w, 1);
    wr_cstr(&w, "t");
    wr_array(&w, 2);
    wr_i32(&w, 0);
    wr_i32(&w, 3);
    offsetdelete_req q = {0};
    if (dec_begin(&d, &w, API_OFFSET_DELETE, 0)) {
        CHECK_EQ_INT(offsetdelete_req_decode(&d.r, 0, &d.a, &q), 0);
        CHECK_SLICE(q.group_id, "grp");
        if (CHECK_EQ_INT(q.ntopics, 1) && CHECK_EQ_INT(q.topics[0].nparts, 2)) {
            CHECK_SLICE(q.topics[0].name, "t");
            CHECK_EQ_INT(q.topics[0].parts[1].index, 3);
            CHECK_EQ_INT(q.topics[0].parts[1].error_code, 0);
        }
        q.topics[0].parts[1].error_code = KERR_GROUP_SUBSCRIBED_TO_TOPIC;
        bb want = {.n = 0};
        b16(&want, 0);
        b32(&want, 0);
        b32(&want, 1);
        bstr(&want, "t");
        b32(&want, 2);
        b32(&want, 0);
        b16(&want, 0);
        b32(&want, 3);
        b16(&want, KERR_GROUP_SUBSCRIBED_TO_TOPIC);
        wr out;
        wr_init(&out, 16);
        offsetdelete_resp_encode(&out, 0, &q);
        check_body(&out, &want, "OffsetDelete response");
        wr_free(&out);
        q.error_code = KERR_GROUP_ID_NOT_FOUND;
        want.n = 0;
        b16(&want, KERR_GROUP_ID_NOT_FOUND);
        b32(&want, 0);
        b32(&want, 0);
        wr_init(&out, 16);
        offsetdelete_resp_encode(&out, 0, &q);
        check_body(&out, &want, "OffsetDelete group error");
        wr_free(&out);
    }
    dec_end(&d);
    check_robust(&w, "OffsetDelete");
    wr_free(&w);

    /* A null group id or topic list is malformed. */
    req_start(&w, API_OFFSET_DELETE, 0);
    wr_cstr(&w, NULL);
    wr_array(&w, 0);
    CHECK_EQ_INT(decode_whole(&w), -1);
    wr_free(&w);
}

static void test_decode_any_dispatch(void)
{
    arena a;
    arena_init(&a);
    rd r;
    rd_init(&r, "", 0);
    CHECK_EQ_INT(msgs_decode_any(999, 0, &r, &a), -1);
    CHECK_EQ_INT(msgs_decode_any(-1, 0, &r, &a), -1);
    /* Every API in the table has a decoder: an empty body fails for a reason other than
     * "unknown API" for all but ApiVersions v0 and ListGroups, whose bodies are empty. */
    int n = 0;
    const api_info *t = api_table(&n);
    for (int i = 0; i < n; i++) {
        rd_init(&r, "", 0);
        int rc = msgs_decode_any(t[i].key, t[i].min_version, &r, &a);
        if ((t[i].key == API_API_VERSIONS && t[i].min_version < 3) ||
            (t[i].key == API_LIST_GROUPS && t[i].min_version < 3))
            CHECK_EQ_INT(rc, 0);
        else if (!CHECK(rc == -1 && r.err != RD_OK))
            printf("  (%s v%d)\n", t[i].name, t[i].min_version);
    }
    arena_free(&a);
}

/* ---- responses, against bytes written out by hand ---- */

static void test_apiversions_responses(void)
{
    int n = 0;
    const api_info *t = api_table(&n);
    for (int16_t v = 0; v <= 3; v++) {
        bb want = {.n = 0};
        b16(&want, 0);
        if (v >= 3)
            b8(&want, (unsigned)n + 1); /* compact array: fits one byte below 127 APIs */
        else
            b32(&want, n);
        for (int i = 0; i < n; i++) {
            b16(&want, t[i].key);
            b16(&want, t[i].min_version);
            b16(&want, t[i].max_version);
            if (v >= 3)
                b8(&want, 0);
        }
        if (v >= 1)
            b32(&want, 0);
        if (v >= 3)
            b8(&want, 0);
        wr w;
        wr_init(&w, 16);
        w.flex = v >= 3;
        apiversions_resp_encode(&w, v, 0);
        check_body(&w, &want, "ApiVersions body");
        wr_free(&w);
    }

    /* An ApiVersions v3 frame: header v0 (correlation id only), flexible body. */
    req_header h = {API_API_VERSIONS, 3, 0x01020304, KSLICE_NULL, true};
    wr w;
    wr_init(&w, 16);
    resp_begin(&w, &h);
    apiversions_resp_encode(&w, 3, 0);
    resp_end(&w);
    CHECK_EQ_INT(be32_get(w.p), w.len - 4);
    CHECK_EQ_INT(be32_get(w.p + 4), 0x01020304);
    CHECK_EQ_INT(be16_get(w.p + 8), 0); /* error code right after: no header tags */
    CHECK_EQ_INT(w.p[10], n + 1);       /* compact array */
    CHECK_EQ_INT(w.p[w.len - 1], 0);    /* body tags */
    wr_free(&w);

    /* Unsupported version: error 35 in the v0 body, so any client can read it. */
    bb want = {.n = 0};
    b16(&want, 35);
    b32(&want, n);
    for (int i = 0; i < n; i++) {
        b16(&want, t[i].key);
        b16(&want, t[i].min_version);
        b16(&want, t[i].max_version);
    }
    wr_init(&w, 16);
    apiversions_resp_encode(&w, 0, 35);
    check_body(&w, &want, "ApiVersions UNSUPPORTED_VERSION");
    wr_free(&w);
}

static void test_metadata_responses(void)
{
    md_broker broker = {1, "localhost", 9092, NULL};
    static const int32_t nodes[] = {1};
    md_partition part = {0, 0, 1, 0, 1, nodes, 1, nodes};
    md_topic topic = {.name = {(const uint8_t *)"t", 1}, .npartitions = 1, .partitions = &part};
    metadata_resp m = {.nbrokers = 1, .brokers = &broker, .cluster_id = "brook",
                       .controller_id = 1, .ntopics = 1, .topics = &topic};

    bb want = {.n = 0};
    b32(&want, 1); /* brokers */
    b32(&want, 1);
    bstr(&want, "localhost");
    b32(&want, 9092);
    b32(&want, 1); /* topics */
    b16(&want, 0);
    bstr(&want, "t");
    b32(&want, 1); /* partitions */
    b16(&want, 0);
    b32(&want, 0);
    b32(&want, 1);
    b32(&want, 1); /* replicas [1] */
    b32(&want, 1);
    b32(&want, 1); /* isr [1] */
    b32(&want, 1);
    wr w;
    wr_init(&w, 16);
    metadata_resp_encode(&w, 0, &m);
    check_body(&w, &want, "Metadata v0");
    wr_free(&w);

    want.n = 0;
    b32(&want, 0); /* throttle */
    b32(&want, 1);
    b32(&want, 1);
    bstr(&want, "localhost");
    b32(&want, 9092);
    bstr(&want, NULL); /* rack */
    bstr(&want, "brook");
    b32(&want, 1); /* controller */
    b32(&want, 1);
    b16(&want, 0);
    bstr(&want, "t");
    b8(&want, 0); /* is_internal */
    b32(&want, 1);
    b16(&want, 0);
    b32(&want, 0);
    b32(&want, 1);
    b32(&want, 0); /* leader epoch */
    b32(&want, 1);
    b32(&want, 1);
    b32(&want, 1);
    b32(&want, 1);
    b32(&want, 0);         /* offline replicas [] */
    b32(&want, INT32_MIN); /* topic authorized operations */
    b32(&want, INT32_MIN); /* cluster authorized operations */
    wr_init(&w, 16);
    metadata_resp_encode(&w, 8, &m);
    check_body(&w, &want, "Metadata v8");
    wr_free(&w);
}

static void test_produce_responses(void)
{
    produce_part part = {0};
    part.index = 2;
    part.error_code = 0;
    part.base_offset = 42;
    part.log_append_time = -1;
    part.log_start_offset = 0;
    produce_topic topic = {.name = {(const uint8_t *)"t", 1}, .nparts = 1, .parts = &part};
    produce_req q = {KSLICE_NULL, 1, 1000, 1, &topic, false, 0};
    for (int16_t v = 3; v <= 7; v += 2) {
        bb want = {.n = 0};
        b32(&want, 1);
        bstr(&want, "t");
        b32(&want, 1);
        b32(&want, 2);
        b16(&want, 0);
        b64(&want, 42);
        b64(&want, -1);
        if (v >= 5)
            b64(&want, 0);
        b32(&want, 0); /* throttle, last in Produce */
        wr w;
        wr_init(&w, 16);
        produce_resp_encode(&w, v, &q);
        check_body(&w, &want, v == 3 ? "Produce v3" : "Produce v5/v7");
        wr_free(&w);
    }

    /* v8+ (KIP-467): the records that made the batch refused, and a message; v9+ flexible. */
    static const produce_record_error bad[] = {{0, "no key"}, {10, "no key"}};
    part.error_code = KERR_INVALID_RECORD;
    part.base_offset = -1;
    part.nrecord_errors = 2;
    part.record_errors = bad;
    part.error_message = NULL;
    for (int16_t v = 8; v <= 11; v++) {
        bool flex = v >= 9;
        bb want = {.n = 0};
        if (flex) {
            b8(&want, 2);
            bcstr(&want, "t");
            b8(&want, 2);
        } else {
            b32(&want, 1);
            bstr(&want, "t");
            b32(&want, 1);
        }
        b32(&want, 2);
        b16(&want, KERR_INVALID_RECORD);
        b64(&want, -1);
        b64(&want, -1);
        b64(&want, 0);
        flex ? b8(&want, 3) : b32(&want, 2);
        for (int i = 0; i < 2; i++) {
            b32(&want, bad[i].index);
            flex ? bcstr(&want, "no key") : bstr(&want, "no key");
            if (flex)
                b8(&want, 0);
        }
        flex ? b8(&want, 0) : b16(&want, -1); /* null error message */
        if (flex)
            b8(&want, 0); /* partition tags */
        if (flex)
            b8(&want, 0); /* topic tags */
        b32(&want, 0);
        if (flex)
            b8(&want, 0);
        wr w;
        wr_init(&w, 16);
        w.flex = flex;
        produce_resp_encode(&w, v, &q);
        check_body(&w, &want, "Produce v8-v11 record errors");
        wr_free(&w);
    }
}

static void test_listoffsets_responses(void)
{
    listoffsets_part part = {3, -1, LO_MAX_TIMESTAMP, 0, 1700000000000, 41, 7};
    listoffsets_topic topic = {{(const uint8_t *)"t", 1}, 1, &part};
    listoffsets_req q = {-1, 0, 1, &topic, -1};
    for (int16_t v = 3; v <= 6; v += 3) {
        bool flex = v >= 6;
        bb want = {.n = 0};
        b32(&want, 0); /* throttle */
        flex ? b8(&want, 2) : b32(&want, 1);
        flex ? bcstr(&want, "t") : bstr(&want, "t");
        flex ? b8(&want, 2) : b32(&want, 1);
        b32(&want, 3);
        b16(&want, 0);
        b64(&want, 1700000000000);
        b64(&want, 41);
        if (v >= 4)
            b32(&want, 7); /* leader epoch */
        if (flex) {
            b8(&want, 0);
            b8(&want, 0);
            b8(&want, 0);
        }
        wr w;
        wr_init(&w, 16);
        w.flex = flex;
        listoffsets_resp_encode(&w, v, &q);
        check_body(&w, &want, v == 3 ? "ListOffsets v3" : "ListOffsets v6");
        wr_free(&w);
    }
}

static void test_fetch_responses(void)
{
    static const uint8_t records[] = {1, 2, 3, 4, 5};
    fetch_aborted ab = {77, 100};
    fetch_part part = {0};
    part.index = 0;
    part.error_code = 1;
    part.high_watermark = 10;
    part.last_stable_offset = 9;
    part.resp_log_start_offset = 0;
    part.naborted = -1;
    part.records = (kslice){records, 5};
    fetch_topic topic = {.name = {(const uint8_t *)"t", 1}, .nparts = 1, .parts = &part};
    fetch_req q = {0};
    q.ntopics = 1;
    q.topics = &topic;

    bb want = {.n = 0};
    b32(&want, 0); /* throttle */
    b32(&want, 1);
    bstr(&want, "t");
    b32(&want, 1);
    b32(&want, 0);
    b16(&want, 1);
    b64(&want, 10);
    b64(&want, 9);
    b32(&want, -1); /* null aborted transactions */
    b32(&want, 5);
    for (int i = 0; i < 5; i++)
        b8(&want, records[i]);
    wr w;
    wr_init(&w, 16);
    fetch_resp_encode(&w, 4, &q, 0);
    check_body(&w, &want, "Fetch v4");
    wr_free(&w);

    part.naborted = 1;
    part.aborted = &ab;
    part.records = KSLICE_NULL;
    want.n = 0;
    b32(&want, 0);
    b16(&want, 0); /* top-level error */
    b32(&want, 0); /* session id */
    b32(&want, 1);
    bstr(&want, "t");
    b32(&want, 1);
    b32(&want, 0);
    b16(&want, 1);
    b64(&want, 10);
    b64(&want, 9);
    b64(&want, 0); /* log start offset */
    b32(&want, 1);
    b64(&want, 77);
    b64(&want, 100);
    b32(&want, -1); /* preferred read replica */
    b32(&want, 0);  /* no records: empty */
    wr_init(&w, 16);
    fetch_resp_encode(&w, 11, &q, 0);
    check_body(&w, &want, "Fetch v11");
    wr_free(&w);
}

static void test_describeconfigs_responses(void)
{
    describe_entry e = {"retention.ms", "1000", false, true, false, CONFIG_SOURCE_TOPIC,
                        CONFIG_TYPE_LONG, "how long"};
    describeconfigs_res res = {0};
    res.type = CONFIG_RESOURCE_TOPIC;
    res.name = (kslice){(const uint8_t *)"t", 1};
    res.nentries = 1;
    res.entries = &e;
    describeconfigs_req q = {1, &res, false, false};
    for (int16_t v = 0; v <= 4; v++) { /* v3: type, documentation; v4 flexible */
        bool flex = v >= 4;
        q.include_documentation = v == 4;
        e.documentation = v == 4 ? "how long" : NULL; /* the handler's choice */
        bb want = {.n = 0};
        b32(&want, 0);
        flex ? b8(&want, 2) : b32(&want, 1);
        b16(&want, 0);
        flex ? b8(&want, 0) : bstr(&want, NULL);
        b8(&want, CONFIG_RESOURCE_TOPIC);
        flex ? bcstr(&want, "t") : bstr(&want, "t");
        flex ? b8(&want, 2) : b32(&want, 1);
        flex ? bcstr(&want, "retention.ms") : bstr(&want, "retention.ms");
        flex ? bcstr(&want, "1000") : bstr(&want, "1000");
        b8(&want, 0);                                /* read only */
        b8(&want, v == 0 ? 1 : CONFIG_SOURCE_TOPIC); /* is_default (v0) / source (v1) */
        b8(&want, 0);                                /* sensitive */
        if (v >= 1)
            flex ? b8(&want, 1) : b32(&want, 0); /* synonyms */
        if (v >= 3) {
            b8(&want, CONFIG_TYPE_LONG);
            if (v == 4)
                bcstr(&want, "how long"); /* asked for */
            else
                bstr(&want, NULL); /* not asked for */
        }
        if (flex) {
            b8(&want, 0);
            b8(&want, 0);
            b8(&want, 0);
        }
        wr w;
        wr_init(&w, 16);
        w.flex = flex;
        describeconfigs_resp_encode(&w, v, &q);
        check_body(&w, &want, "DescribeConfigs");
        wr_free(&w);
    }
}

static void test_txn_responses(void)
{
    /* InitProducerId v1 (classic) and v4 (flexible: a body tag buffer, header v1). */
    for (int16_t v = 1; v <= 4; v += 3) {
        bb want = {.n = 0};
        b32(&want, 0);
        b16(&want, 0);
        b64(&want, 4242);
        b16(&want, 3);
        if (v >= 2)
            b8(&want, 0);
        wr w;
        wr_init(&w, 16);
        w.flex = v >= 2;
        initpid_resp_encode(&w, v, 0, 4242, 3);
        check_body(&w, &want, v == 1 ? "InitProducerId v1" : "InitProducerId v4");
        wr_free(&w);
    }
    req_header h = {API_INIT_PRODUCER_ID, 4, 9, KSLICE_NULL, true};
    wr w;
    wr_init(&w, 16);
    resp_begin(&w, &h);
    initpid_resp_encode(&w, 4, 47, -1, -1);
    resp_end(&w);
    static const uint8_t want_frame[] = {
        0,    0,    0,    22,   0,    0,    0,    9,    0x00, /* size, correlation id, header tags
                                                               */
        0,    0,    0,    0,    0,    47,                     /* throttle, INVALID_PRODUCER_EPOCH */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00};
    check_bytes(&w, want_frame, sizeof(want_frame), "InitProducerId v4 frame");
    wr_free(&w);

    /* FindCoordinator v0 and v2. */
    findcoord_resp fc = {0, NULL, 1, "localhost", 9092, KSLICE_NULL};
    for (int16_t v = 0; v <= 2; v += 2) {
        bb want = {.n = 0};
        if (v >= 1)
            b32(&want, 0);
        b16(&want, 0);
        if (v >= 1)
            bstr(&want, NULL);
        b32(&want, 1);
        bstr(&want, "localhost");
        b32(&want, 9092);
        wr_init(&w, 16);
        findcoord_resp_encode(&w, v, &fc, 1);
        check_body(&w, &want, v == 0 ? "FindCoordinator v0" : "FindCoordinator v2");
        wr_free(&w);
    }
    /* v4: one entry per key, the key first and the error after the address. */
    findcoord_resp fc4[2] = {{0, NULL, 1, "localhost", 9092, {(const uint8_t *)"a", 1}},
                             {15, "down", -1, "", -1, {(const uint8_t *)"b", 1}}};
    {
        bb want = {.n = 0};
        b32(&want, 0);
        b8(&want, 3);
        bcstr(&want, "a");
        b32(&want, 1);
        bcstr(&want, "localhost");
        b32(&want, 9092);
        b16(&want, 0);
        b8(&want, 0); /* null message */
        b8(&want, 0);
        bcstr(&want, "b");
        b32(&want, -1);
        bcstr(&want, "");
        b32(&want, -1);
        b16(&want, 15);
        bcstr(&want, "down");
        b8(&want, 0);
        b8(&want, 0);
        wr_init(&w, 16);
        w.flex = true;
        findcoord_resp_encode(&w, 4, fc4, 2);
        check_body(&w, &want, "FindCoordinator v4");
        wr_free(&w);
    }

    /* AddPartitionsToTxn v0: every partition echoed with its error. */
    int32_t parts[] = {0, 7};
    int16_t errs[] = {0, 48};
    addparts_topic t = {{(const uint8_t *)"t", 1}, 2, parts, errs};
    addparts_req ap = {.transactional_id = {(const uint8_t *)"tx", 2}, .producer_id = 1000,
                       .producer_epoch = 2, .ntopics = 1, .topics = &t};
    bb want = {.n = 0};
    b32(&want, 0);
    b32(&want, 1);
    bstr(&want, "t");
    b32(&want, 2);
    b32(&want, 0);
    b16(&want, 0);
    b32(&want, 7);
    b16(&want, 48);
    wr_init(&w, 16);
    addparts_resp_encode(&w, 0, &ap);
    check_body(&w, &want, "AddPartitionsToTxn v0");
    wr_free(&w);

    /* EndTxn: throttle and error only. */
    want.n = 0;
    b32(&want, 0);
    b16(&want, 51);
    wr_init(&w, 16);
    error_only_resp_encode(&w, 1, 51);
    check_body(&w, &want, "EndTxn v1");
    wr_free(&w);
}

TU_MAIN(TU_CASE(test_apiversions_requests), TU_CASE(test_metadata_requests),
        TU_CASE(test_produce_requests), TU_CASE(test_fetch_requests),
        TU_CASE(test_listoffsets_requests), TU_CASE(test_createtopics_requests),
        TU_CASE(test_deletetopics_deleterecords_requests), TU_CASE(test_configs_requests),
        TU_CASE(test_createpartitions_requests), TU_CASE(test_findcoordinator_requests),
        TU_CASE(test_initproducerid_requests), TU_CASE(test_addpartitions_endtxn_requests),
        TU_CASE(test_decode_any_dispatch), TU_CASE(test_apiversions_responses),
        TU_CASE(test_metadata_responses), TU_CASE(test_produce_responses),
        TU_CASE(test_fetch_responses), TU_CASE(test_listoffsets_responses), TU_CASE(test_describeconfigs_responses),
        TU_CASE(test_txn_responses), TU_CASE(test_flexible_only_versions),
        TU_CASE(test_describegroups_versions), TU_CASE(test_listgroups_versions),
        TU_CASE(test_offsetdelete))
