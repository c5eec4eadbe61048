/*
 * test_proto_configs_logdirs.c - IncrementalAlterConfigs v0-v1 (flexible from v1) and
 * DescribeLogDirs v0-v4 (flexible from v2; v3 adds the top-level error code, v4 each
 * directory's total and usable bytes) in proto/msgs.h, against Kafka's message JSON.
 *
 * Each request is written by hand field by field after its request header, decoded, and
 * its fields checked; every request also goes through check_robust (the whole request
 * decodes to its last byte, every shorter cut is refused, no byte substitution reads past
 * the end). Null names where Kafka's schema forbids them are refused. Each response is
 * encoded and compared with bytes written out by hand (proto_testutil.h's byte builder,
 * independent of wr_*).
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
    return CHECK_EQ_INT(req_header_decode(r, h), 0);
}

static void test_version_table(void)
{
    CHECK_EQ_INT(API_DESCRIBE_LOG_DIRS, 35);
    CHECK_EQ_INT(API_INCREMENTAL_ALTER_CONFIGS, 44);
    const api_info *d = api_lookup(API_DESCRIBE_LOG_DIRS);
    const api_info *i = api_lookup(API_INCREMENTAL_ALTER_CONFIGS);
    if (!CHECK(d != NULL) || !CHECK(i != NULL))
        return;
    CHECK_EQ_STR(d->name, "DescribeLogDirs");
    CHECK_EQ_INT(d->min_version, 0);
    CHECK_EQ_INT(d->max_version, 4);
    CHECK_EQ_INT(d->flex_min, 2);
    CHECK_EQ_STR(i->name, "IncrementalAlterConfigs");
    CHECK_EQ_INT(i->min_version, 0);
    CHECK_EQ_INT(i->max_version, 1);
    CHECK_EQ_INT(i->flex_min, 1);
    CHECK(!api_is_flexible(API_DESCRIBE_LOG_DIRS, 1));
    CHECK(api_is_flexible(API_DESCRIBE_LOG_DIRS, 2));
    CHECK(!api_is_flexible(API_INCREMENTAL_ALTER_CONFIGS, 0));
    CHECK(api_is_flexible(API_INCREMENTAL_ALTER_CONFIGS, 1));
    CHECK(!api_version_supported(API_DESCRIBE_LOG_DIRS, 5));
    CHECK(!api_version_supported(API_INCREMENTAL_ALTER_CONFIGS, 2));
}

/* ---------------- IncrementalAlterConfigs ---------------- */

/* One resource {type, name, configs [name, op, value]} then validate_only. A NULL
 * resource name writes a null string. */
static void write_incalter(wr *w, int16_t v, const char *res_name, bool null_value)
{
    req_start(w, API_INCREMENTAL_ALTER_CONFIGS, v);
    wr_array(w, 2);
    wr_i8(w, CONFIG_RESOURCE_TOPIC);
    wr_cstr(w, res_name);
    wr_array(w, 2);
    wr_cstr(w, "retention.ms");
    wr_i8(w, CONFIG_OP_SET);
    wr_cstr(w, "1000");
    wr_tags(w);
    wr_cstr(w, "segment.bytes");
    wr_i8(w, CONFIG_OP_DELETE);
    wr_cstr(w, null_value ? NULL : "");
    wr_tags(w);
    wr_tags(w);
    wr_i8(w, CONFIG_RESOURCE_BROKER);
    wr_cstr(w, "1");
    wr_array(w, 0);
    wr_tags(w);
    wr_bool(w, true);
    wr_tags(w);
}

static void test_incalter_requests(void)
{
    for (int16_t v = 0; v <= 1; v++) {
        wr w;
        write_incalter(&w, v, "orders", true);
        rd r;
        req_header h;
        arena a;
        arena_init(&a);
        incalter_req q;
        if (at_body(&w, &r, &h) && CHECK_EQ_INT(incalter_req_decode(&r, v, &a, &q), 0)) {
            CHECK_EQ_INT(h.flexible, v >= 1);
            CHECK_EQ_INT(q.nresources, 2);
            CHECK(q.validate_only);
            CHECK_EQ_INT(q.resources[0].type, 2);
            CHECK_SLICE(q.resources[0].name, "orders");
            CHECK_EQ_INT(q.resources[0].nconfigs, 2);
            CHECK_SLICE(q.resources[0].configs[0].name, "retention.ms");
            CHECK_EQ_INT(q.resources[0].configs[0].op, CONFIG_OP_SET);
            CHECK_SLICE(q.resources[0].configs[0].value, "1000");
            CHECK_EQ_INT(q.resources[0].configs[1].op, CONFIG_OP_DELETE);
            CHECK_EQ_INT(q.resources[0].configs[1].value.len, -1);
            CHECK_EQ_INT(q.resources[1].type, 4);
            CHECK_SLICE(q.resources[1].name, "1");
            CHECK_EQ_INT(q.resources[1].nconfigs, 0);
            CHECK_EQ_INT(q.resources[0].error_code, 0);
            CHECK(q.resources[0].error_message == NULL);
            CHECK_EQ_INT(rd_remaining(&r), 0);
        }
        arena_free(&a);
        check_robust(&w, v ? "IncrementalAlterConfigs v1" : "IncrementalAlterConfigs v0");
        wr_free(&w);

        /* a null resource name is malformed */
        write_incalter(&w, v, NULL, false);
        CHECK_EQ_INT(decode_whole(&w), -1);
        wr_free(&w);
    }
    /* a null config name is malformed */
    wr w;
    req_start(&w, API_INCREMENTAL_ALTER_CONFIGS, 1);
    wr_array(&w, 1);
    wr_i8(&w, 2);
    wr_cstr(&w, "t");
    wr_array(&w, 1);
    wr_cstr(&w, NULL);
    wr_i8(&w, 0);
    wr_cstr(&w, "x");
    wr_tags(&w);
    wr_tags(&w);
    wr_bool(&w, false);
    wr_tags(&w);
    CHECK_EQ_INT(decode_whole(&w), -1);
    wr_free(&w);
}

static void test_incalter_responses(void)
{
    incalter_res res[2] = {
        {.type = 2, .name = kslice_cstr("orders"), .error_code = KERR_INVALID_CONFIG,
         .error_message = "bad"},
        {.type = 4, .name = kslice_cstr("1")},
    };
    incalter_req q = {.nresources = 2, .resources = res};
    for (int16_t v = 0; v <= 1; v++) {
        wr w;
        wr_init(&w, 16);
        w.flex = v >= 1;
        incalter_resp_encode(&w, v, &q);
        bb x = {.n = 0};
        b32(&x, 0); /* throttle */
        if (v == 0) {
            b32(&x, 2);
            b16(&x, 40);
            bstr(&x, "bad");
            b8(&x, 2);
            bstr(&x, "orders");
            b16(&x, 0);
            bstr(&x, NULL);
            b8(&x, 4);
            bstr(&x, "1");
        } else {
            b8(&x, 3);
            b16(&x, 40);
            bcstr(&x, "bad");
            b8(&x, 2);
            bcstr(&x, "orders");
            b8(&x, 0); /* tags */
            b16(&x, 0);
            b8(&x, 0); /* null compact string */
            b8(&x, 4);
            bcstr(&x, "1");
            b8(&x, 0);
            b8(&x, 0);
        }
        check_body(&w, &x, v ? "IncrementalAlterConfigs v1 response"
                             : "IncrementalAlterConfigs v0 response");
        wr_free(&w);
    }
}

/* ---------------- DescribeLogDirs ---------------- */

/* Topics {name, [partition]}: "orders" [0, 7], or null when `all`. */
static void write_dlogdirs(wr *w, int16_t v, bool all, bool null_name)
{
    req_start(w, API_DESCRIBE_LOG_DIRS, v);
    if (all) {
        wr_array(w, -1);
    } else {
        wr_array(w, 1);
        wr_cstr(w, null_name ? NULL : "orders");
        wr_array(w, 2);
        wr_i32(w, 0);
        wr_i32(w, 7);
        wr_tags(w);
    }
    wr_tags(w);
}

static void test_dlogdirs_requests(void)
{
    for (int16_t v = 0; v <= 4; v++) {
        for (int all = 0; all <= 1; all++) {
            wr w;
            write_dlogdirs(&w, v, all, false);
            rd r;
            req_header h;
            arena a;
            arena_init(&a);
            describelogdirs_req q;
            if (at_body(&w, &r, &h) &&
                CHECK_EQ_INT(describelogdirs_req_decode(&r, v, &a, &q), 0)) {
                CHECK_EQ_INT(h.flexible, v >= 2);
                if (all) {
                    CHECK_EQ_INT(q.ntopics, -1);
                } else if (CHECK_EQ_INT(q.ntopics, 1)) {
                    CHECK_SLICE(q.topics[0].name, "orders");
                    CHECK_EQ_INT(q.topics[0].nparts, 2);
                    CHECK_EQ_INT(q.topics[0].parts[1], 7);
                }
                CHECK_EQ_INT(rd_remaining(&r), 0);
            }
            arena_free(&a);
            check_robust(&w, "DescribeLogDirs");
            wr_free(&w);
        }
        wr w;
        write_dlogdirs(&w, v, false, true); /* a null topic name is malformed */
        CHECK_EQ_INT(decode_whole(&w), -1);
        wr_free(&w);
    }
}

/* One directory "/d" with topic "t" {partition 3: 4096 bytes, lag 0, not future}. */
static void expect_dlogdirs(bb *x, int16_t v)
{
    bool flex = v >= 2;
    b32(x, 0); /* throttle */
    if (v >= 3)
        b16(x, 0);
    if (flex)
        b8(x, 2);
    else
        b32(x, 1);
    b16(x, 0);
    if (flex) {
        bcstr(x, "/d");
        b8(x, 2);
        bcstr(x, "t");
        b8(x, 2);
    } else {
        bstr(x, "/d");
        b32(x, 1);
        bstr(x, "t");
        b32(x, 1);
    }
    b32(x, 3);
    b64(x, 4096);
    b64(x, 0);
    b8(x, 0);
    if (flex)
        b8(x, 0); /* partition tags */
    if (flex)
        b8(x, 0); /* topic tags */
    if (v >= 4) {
        b64(x, 1000000);
        b64(x, 250000);
    }
    if (flex)
        b8(x, 0); /* result tags */
    if (flex)
        b8(x, 0); /* top-level tags */
}

static void test_dlogdirs_responses(void)
{
    dlogdirs_part part = {3, 4096, 0, false};
    dlogdirs_rtopic topic = {"t", 1, &part};
    dlogdirs_dir dir = {0, "/d", 1, &topic, 1000000, 250000};
    describelogdirs_resp m = {0, 1, &dir};
    for (int16_t v = 0; v <= 4; v++) {
        wr w;
        wr_init(&w, 16);
        w.flex = v >= 2;
        describelogdirs_resp_encode(&w, v, &m);
        bb x = {.n = 0};
        expect_dlogdirs(&x, v);
        char what[40];
        snprintf(what, sizeof(what), "DescribeLogDirs v%d response", v);
        check_body(&w, &x, what);
        wr_free(&w);
    }
}

TU_MAIN(TU_CASE(test_version_table), TU_CASE(test_incalter_requests),
        TU_CASE(test_incalter_responses), TU_CASE(test_dlogdirs_requests),
        TU_CASE(test_dlogdirs_responses))
