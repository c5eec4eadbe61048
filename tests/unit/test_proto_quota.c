/* test_proto_quota.c - the client quota APIs' codecs (proto/quota_msgs.h): requests and
 * responses of both versions round trip, float64 values keep their bits, and a request cut
 * short is refused. */
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "proto/api.h"
#include "proto/quota_msgs.h"
#include "testutil.h"

static void test_alter_round_trip(void)
{
    for (int16_t v = 0; v <= 1; v++) {
        cq_entity ent[2] = {{"user", "alice"}, {"client-id", NULL}};
        cq_op ops[2] = {{"producer_byte_rate", quota_msgs_bits(1024.5), false},
                        {"consumer_byte_rate", 0, true}};
        alter_cq_entry e = {2, ent, 2, ops, 0, NULL};
        alter_cq_req q = {1, &e, true};
        wr w;
        wr_init(&w, 64);
        w.flex = api_is_flexible(API_ALTER_CLIENT_QUOTAS, v);
        CHECK_EQ_INT(w.flex, v == 1);
        alter_cq_req_encode(&w, v, &q);
        arena a;
        arena_init(&a);
        rd r;
        rd_init(&r, w.p, w.len);
        r.flex = w.flex;
        alter_cq_req got;
        if (CHECK_EQ_INT(alter_cq_req_decode(&r, v, &a, &got), 0) &&
            CHECK_EQ_INT(got.nentries, 1) && CHECK_EQ_INT(got.entries[0].nentity, 2)) {
            CHECK(got.validate_only);
            CHECK_EQ_STR(got.entries[0].entity[0].entity_name, "alice");
            CHECK(got.entries[0].entity[1].entity_name == NULL); /* the default entity */
            CHECK(quota_msgs_f64(got.entries[0].ops[0].value_bits) == 1024.5);
            CHECK(got.entries[0].ops[1].remove);
        }
        for (size_t cut = 0; cut < w.len; cut++) { /* every prefix is refused */
            rd_init(&r, w.p, cut);
            r.flex = w.flex;
            CHECK_EQ_INT(alter_cq_req_decode(&r, v, &a, &got), -1);
        }
        /* the response echoes the entity with each entry's error */
        e.error_code = 42;
        e.error_message = "bad";
        wr_free(&w);
        wr_init(&w, 64);
        w.flex = v == 1;
        alter_cq_resp_encode(&w, v, 7, &q);
        rd_init(&r, w.p, w.len);
        r.flex = w.flex;
        if (CHECK_EQ_INT(alter_cq_resp_decode(&r, v, &a, &got), 0) &&
            CHECK_EQ_INT(got.nentries, 1)) {
            CHECK_EQ_INT(got.entries[0].error_code, 42);
            CHECK_EQ_STR(got.entries[0].error_message, "bad");
            CHECK_EQ_STR(got.entries[0].entity[1].entity_type, "client-id");
        }
        wr_free(&w);
        arena_free(&a);
    }
}

static void test_describe_round_trip(void)
{
    for (int16_t v = 0; v <= 1; v++) {
        cq_component comps[2] = {{"user", QUOTA_MATCH_EXACT, "bob"},
                                 {"client-id", QUOTA_MATCH_DEFAULT, NULL}};
        describe_cq_req q = {2, comps, true};
        wr w;
        wr_init(&w, 64);
        w.flex = v == 1;
        describe_cq_req_encode(&w, v, &q);
        arena a;
        arena_init(&a);
        rd r;
        rd_init(&r, w.p, w.len);
        r.flex = w.flex;
        describe_cq_req got;
        if (CHECK_EQ_INT(describe_cq_req_decode(&r, v, &a, &got), 0) &&
            CHECK_EQ_INT(got.ncomponents, 2)) {
            CHECK(got.strict);
            CHECK_EQ_STR(got.components[0].match, "bob");
            CHECK(got.components[1].match == NULL);
            CHECK_EQ_INT(got.components[1].match_type, QUOTA_MATCH_DEFAULT);
        }
        cq_entity ent = {"client-id", "greedy"};
        cq_value val = {"producer_byte_rate", quota_msgs_bits(204800)};
        cq_entry entry = {1, &ent, 1, &val};
        describe_cq_resp m = {0, 0, NULL, 1, &entry};
        wr_free(&w);
        wr_init(&w, 64);
        w.flex = v == 1;
        describe_cq_resp_encode(&w, v, &m);
        rd_init(&r, w.p, w.len);
        r.flex = w.flex;
        describe_cq_resp back;
        if (CHECK_EQ_INT(describe_cq_resp_decode(&r, v, &a, &back), 0) &&
            CHECK_EQ_INT(back.nentries, 1)) {
            CHECK_EQ_STR(back.entries[0].entity[0].entity_name, "greedy");
            CHECK(quota_msgs_f64(back.entries[0].values[0].value_bits) == 204800.0);
        }
        /* an error answer has null entries */
        describe_cq_resp err = {0, 42, "bad filter", -1, NULL};
        wr_free(&w);
        wr_init(&w, 64);
        w.flex = v == 1;
        describe_cq_resp_encode(&w, v, &err);
        rd_init(&r, w.p, w.len);
        r.flex = w.flex;
        if (CHECK_EQ_INT(describe_cq_resp_decode(&r, v, &a, &back), 0))
            CHECK_EQ_INT(back.nentries, -1);
        wr_free(&w);
        arena_free(&a);
    }
}

TU_MAIN(TU_CASE(test_alter_round_trip), TU_CASE(test_describe_round_trip))
