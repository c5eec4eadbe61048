/* test_proto_group_versions.c - the consumer group APIs at their newer versions, written
 * by hand field by field from Kafka's message JSON: JoinGroup v5-v9 (v6 flexible, v7
 * protocol type in the answer, v8 reason, v9 SkipAssignment), SyncGroup v3-v5 (v5 protocol
 * type and name both ways), LeaveGroup v1-v5 (v3 a list of members, v5 reasons),
 * OffsetCommit v7-v9 (v8 flexible) and OffsetFetch v7-v9 (v8 several groups, v9 member
 * epochs). Every request decodes to its last byte and every cut is refused
 * (proto_testutil.h); answers are compared byte by byte. */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/group_msgs.h"
#include "proto_testutil.h"
#include "testutil.h"

/* A string the way version v writes it (compact when flexible). */
static void bs(bb *x, bool flex, const char *s)
{
    if (!s)
        flex ? b8(x, 0) : b16(x, -1);
    else
        flex ? bcstr(x, s) : bstr(x, s);
}

static void barr(bb *x, bool flex, int n) { flex ? b8(x, (unsigned)n + 1) : b32(x, n); }

/* r at the body of the request in w, its header decoded. */
static bool body_of(const wr *w, rd *r)
{
    req_header h;
    rd_init(r, w->p, w->len);
    return CHECK_EQ_INT(req_header_decode(r, &h), 0);
}

static void test_joingroup(void)
{
    for (int16_t v = 5; v <= 9; v++) {
        bool flex = v >= 6;
        wr w;
        req_start(&w, API_JOIN_GROUP, v);
        wr_cstr(&w, "grp");
        wr_i32(&w, 10000);
        wr_i32(&w, 30000);
        wr_cstr(&w, "");
        wr_cstr(&w, "inst-1");
        wr_cstr(&w, "consumer");
        wr_array(&w, 1);
        wr_cstr(&w, "range");
        wr_bytes(&w, (kslice){(const uint8_t *)"\x00\x01", 2});
        wr_tags(&w);
        if (v >= 8)
            wr_cstr(&w, "rejoining");
        wr_tags(&w);
        arena a;
        arena_init(&a);
        rd r;
        joingroup_req q;
        if (body_of(&w, &r) &&
            CHECK_EQ_INT(joingroup_req_decode(&r, v, &a, &q), 0)) {
            CHECK_SLICE(q.group_id, "grp");
            CHECK_EQ_INT(q.rebalance_timeout_ms, 30000);
            CHECK_SLICE(q.group_instance_id, "inst-1");
            if (CHECK_EQ_INT(q.nprotocols, 1))
                CHECK_EQ_INT(q.protocols[0].metadata.len, 2);
            CHECK_SLICE(q.reason, v >= 8 ? "rejoining" : NULL);
        }
        arena_free(&a);
        check_robust(&w, "JoinGroup");
        wr_free(&w);

        join_member m = {"m-1", "inst-1", {(const uint8_t *)"\x07", 1}};
        joingroup_resp resp = {0, 3, "consumer", "range", "m-1", "m-1", 1, &m};
        bb want = {.n = 0};
        b32(&want, 0);
        b16(&want, 0);
        b32(&want, 3);
        if (v >= 7)
            bs(&want, flex, "consumer");
        bs(&want, flex, "range");
        bs(&want, flex, "m-1");
        if (v >= 9)
            b8(&want, 0); /* SkipAssignment false */
        bs(&want, flex, "m-1");
        barr(&want, flex, 1);
        bs(&want, flex, "m-1");
        bs(&want, flex, "inst-1");
        flex ? b8(&want, 2) : b32(&want, 1);
        b8(&want, 7);
        if (flex) {
            b8(&want, 0);
            b8(&want, 0);
        }
        wr_init(&w, 16);
        w.flex = flex;
        joingroup_resp_encode(&w, v, &resp);
        check_body(&w, &want, "JoinGroup answer");
        wr_free(&w);

        /* An error answer: from v7 the protocol type and name are null. */
        joingroup_resp err = {KERR_NOT_COORDINATOR, -1, NULL, NULL, "", "", 0, NULL};
        want.n = 0;
        b32(&want, 0);
        b16(&want, KERR_NOT_COORDINATOR);
        b32(&want, -1);
        if (v >= 7) {
            bs(&want, flex, NULL);
            bs(&want, flex, NULL);
        } else {
            bs(&want, flex, "");
        }
        bs(&want, flex, "");
        if (v >= 9)
            b8(&want, 0);
        bs(&want, flex, "");
        barr(&want, flex, 0);
        if (flex)
            b8(&want, 0);
        wr_init(&w, 16);
        w.flex = flex;
        joingroup_resp_encode(&w, v, &err);
        check_body(&w, &want, "JoinGroup error answer");
        wr_free(&w);
    }
}

static void test_syncgroup(void)
{
    for (int16_t v = 3; v <= 5; v++) {
        bool flex = v >= 4;
        wr w;
        req_start(&w, API_SYNC_GROUP, v);
        wr_cstr(&w, "grp");
        wr_i32(&w, 3);
        wr_cstr(&w, "m-1");
        wr_cstr(&w, NULL);
        if (v >= 5) {
            wr_cstr(&w, "consumer");
            wr_cstr(&w, "range");
        }
        wr_array(&w, 1);
        wr_cstr(&w, "m-1");
        wr_bytes(&w, (kslice){(const uint8_t *)"\x09", 1});
        wr_tags(&w);
        wr_tags(&w);
        arena a;
        arena_init(&a);
        rd r;
        syncgroup_req q;
        if (body_of(&w, &r) &&
            CHECK_EQ_INT(syncgroup_req_decode(&r, v, &a, &q), 0)) {
            CHECK_SLICE(q.protocol_type, v >= 5 ? "consumer" : NULL);
            CHECK_SLICE(q.protocol_name, v >= 5 ? "range" : NULL);
            if (CHECK_EQ_INT(q.nassignments, 1))
                CHECK_SLICE(q.assignments[0].member_id, "m-1");
        }
        arena_free(&a);
        check_robust(&w, "SyncGroup");
        wr_free(&w);

        bb want = {.n = 0};
        b32(&want, 0);
        b16(&want, 0);
        if (v >= 5) {
            bs(&want, flex, "consumer");
            bs(&want, flex, "range");
        }
        flex ? b8(&want, 2) : b32(&want, 1);
        b8(&want, 9);
        if (flex)
            b8(&want, 0);
        wr_init(&w, 16);
        w.flex = flex;
        syncgroup_resp_encode(&w, v, 0, "consumer", "range", (const uint8_t *)"\x09", 1);
        check_body(&w, &want, "SyncGroup answer");
        wr_free(&w);
    }
}

static void test_leavegroup(void)
{
    for (int16_t v = 1; v <= 5; v++) {
        bool flex = v >= 4;
        wr w;
        req_start(&w, API_LEAVE_GROUP, v);
        wr_cstr(&w, "grp");
        if (v >= 3) {
            wr_array(&w, 2);
            for (int i = 0; i < 2; i++) {
                wr_cstr(&w, i == 0 ? "m-1" : "");
                wr_cstr(&w, i == 0 ? NULL : "inst-2");
                if (v >= 5)
                    wr_cstr(&w, i == 0 ? "shutdown" : NULL);
                wr_tags(&w);
            }
        } else {
            wr_cstr(&w, "m-1");
        }
        wr_tags(&w);
        arena a;
        arena_init(&a);
        rd r;
        leavegroup_req q;
        if (body_of(&w, &r) &&
            CHECK_EQ_INT(leavegroup_req_decode(&r, v, &a, &q), 0) &&
            CHECK_EQ_INT(q.nmembers, v >= 3 ? 2 : 1)) {
            CHECK_SLICE(q.members[0].member_id, "m-1");
            CHECK_SLICE(q.members[0].reason, v >= 5 ? "shutdown" : NULL);
            if (v >= 3)
                CHECK_SLICE(q.members[1].group_instance_id, "inst-2");

            q.members[0].error_code = 0;
            if (v >= 3)
                q.members[1].error_code = KERR_FENCED_INSTANCE_ID;
            bb want = {.n = 0};
            b32(&want, 0);
            if (v < 3) {
                b16(&want, 0);
            } else {
                b16(&want, 0);
                barr(&want, flex, 2);
                bs(&want, flex, "m-1");
                bs(&want, flex, NULL);
                b16(&want, 0);
                if (flex)
                    b8(&want, 0);
                bs(&want, flex, "");
                bs(&want, flex, "inst-2");
                b16(&want, KERR_FENCED_INSTANCE_ID);
                if (flex)
                    b8(&want, 0);
            }
            if (flex)
                b8(&want, 0);
            wr out;
            wr_init(&out, 16);
            out.flex = flex;
            leavegroup_resp_encode(&out, v, &q);
            check_body(&out, &want, "LeaveGroup answer");
            wr_free(&out);
        }
        arena_free(&a);
        check_robust(&w, "LeaveGroup");
        wr_free(&w);
    }
}

static void test_offsetcommit(void)
{
    for (int16_t v = 7; v <= 9; v++) {
        wr w;
        req_start(&w, API_OFFSET_COMMIT, v);
        wr_cstr(&w, "grp");
        wr_i32(&w, 4);
        wr_cstr(&w, "m-1");
        wr_cstr(&w, NULL);
        wr_array(&w, 1);
        wr_cstr(&w, "t");
        wr_array(&w, 1);
        wr_i32(&w, 2);
        wr_i64(&w, 77);
        wr_i32(&w, 5);
        wr_cstr(&w, "meta");
        wr_tags(&w);
        wr_tags(&w);
        wr_tags(&w);
        arena a;
        arena_init(&a);
        rd r;
        offsetcommit_req q;
        if (body_of(&w, &r) &&
            CHECK_EQ_INT(offsetcommit_req_decode(&r, v, &a, &q), 0) &&
            CHECK_EQ_INT(q.ntopics, 1) && CHECK_EQ_INT(q.topics[0].nparts, 1)) {
            CHECK_EQ_INT(q.generation_id, 4);
            CHECK_EQ_INT(q.topics[0].parts[0].offset, 77);
            CHECK_EQ_INT(q.topics[0].parts[0].leader_epoch, 5);
            CHECK_SLICE(q.topics[0].parts[0].metadata, "meta");
        }
        arena_free(&a);
        check_robust(&w, "OffsetCommit");
        wr_free(&w);
    }
}

static void test_offsetfetch(void)
{
    for (int16_t v = 7; v <= 9; v++) {
        bool flex = true;
        wr w;
        req_start(&w, API_OFFSET_FETCH, v);
        int ngroups = v >= 8 ? 2 : 1;
        if (v >= 8)
            wr_array(&w, ngroups);
        for (int g = 0; g < ngroups; g++) {
            wr_cstr(&w, g == 0 ? "g1" : "g2");
            if (v >= 9) {
                wr_cstr(&w, g == 0 ? "m-1" : NULL);
                wr_i32(&w, g == 0 ? 6 : -1);
            }
            if (g == 0) {
                wr_array(&w, 1);
                wr_cstr(&w, "t");
                wr_array(&w, 2);
                wr_i32(&w, 0);
                wr_i32(&w, 1);
                wr_tags(&w);
            } else {
                wr_array(&w, -1); /* all topics */
            }
            if (v >= 8)
                wr_tags(&w);
        }
        wr_bool(&w, true);
        wr_tags(&w);
        arena a;
        arena_init(&a);
        rd r;
        offsetfetch_req q;
        if (body_of(&w, &r) &&
            CHECK_EQ_INT(offsetfetch_req_decode(&r, v, &a, &q), 0) &&
            CHECK_EQ_INT(q.ngroups, ngroups)) {
            CHECK(q.require_stable);
            CHECK_SLICE(q.groups[0].group_id, "g1");
            CHECK_SLICE(q.groups[0].member_id, v >= 9 ? "m-1" : NULL);
            CHECK_EQ_INT(q.groups[0].member_epoch, v >= 9 ? 6 : -1);
            if (CHECK_EQ_INT(q.groups[0].ntopics, 1))
                CHECK_EQ_INT(q.groups[0].topics[0].nparts, 2);
            if (v >= 8)
                CHECK_EQ_INT(q.groups[1].ntopics, -1);
        }
        arena_free(&a);
        check_robust(&w, "OffsetFetch");
        wr_free(&w);

        offset_part p = {1, 40, 2, {(const uint8_t *)"md", 2}, 0};
        offset_topic t = {{(const uint8_t *)"t", 1}, 1, &p};
        offsetfetch_resp groups[2] = {{{(const uint8_t *)"g1", 2}, 1, &t, 0},
                                      {{(const uint8_t *)"g2", 2}, 0, NULL, KERR_NOT_COORDINATOR}};
        bb want = {.n = 0};
        b32(&want, 0);
        if (v >= 8) {
            barr(&want, flex, 2);
            bs(&want, flex, "g1");
        }
        barr(&want, flex, 1);
        bs(&want, flex, "t");
        barr(&want, flex, 1);
        b32(&want, 1);
        b64(&want, 40);
        b32(&want, 2);
        bs(&want, flex, "md");
        b16(&want, 0);
        b8(&want, 0);
        b8(&want, 0);
        b16(&want, 0); /* the group's error (v2-v7: the request's) */
        if (v >= 8) {
            b8(&want, 0);
            bs(&want, flex, "g2");
            barr(&want, flex, 0);
            b16(&want, KERR_NOT_COORDINATOR);
            b8(&want, 0);
        }
        b8(&want, 0);
        wr_init(&w, 16);
        w.flex = flex;
        offsetfetch_resp_encode(&w, v, groups, v >= 8 ? 2 : 1);
        check_body(&w, &want, "OffsetFetch answer");
        wr_free(&w);
    }
}

TU_MAIN(TU_CASE(test_joingroup), TU_CASE(test_syncgroup), TU_CASE(test_leavegroup),
        TU_CASE(test_offsetcommit), TU_CASE(test_offsetfetch))
