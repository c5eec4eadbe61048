/* test_proto_cgroup.c - the KIP-848 consumer group codecs (proto/group_msgs.h), written by
 * hand byte by byte from Kafka's message JSON (every version flexible):
 * ConsumerGroupHeartbeat v0-v1 (v1 SubscribedTopicRegex) and ConsumerGroupDescribe v0-v1
 * (v1 MemberType). Requests decode field by field to their last byte, through the typed
 * decoders and group_msgs_decode_any; every cut is refused and no byte substitution reads
 * past the end (exact-size heap copies, so AddressSanitizer sees an overread); answers are
 * compared byte by byte with bytes built here, independently of wr_*. */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/group_msgs.h"
#include "proto_testutil.h"
#include "testutil.h"

/* ---- bytes by hand (compact forms, every count and length below 127) ---- */

/* A compact nullable string: 0 for NULL, else length + 1 and the bytes. */
static void bcs(bb *x, const char *s)
{
    if (s)
        bcstr(x, s);
    else
        b8(x, 0);
}

/* A compact array header: n + 1 (n = -1: null). */
static void bcarr(bb *x, int n) { b8(x, (unsigned)(n + 1)); }

/* An empty tagged-field section. */
static void btags(bb *x) { b8(x, 0); }

/* A topic id: the 16 bytes first, first + 1, ... */
static void bid(bb *x, unsigned first)
{
    for (unsigned i = 0; i < CG_ID_LEN; i++)
        b8(x, first + i);
}

static bool check_id(const uint8_t *id, unsigned first)
{
    uint8_t want[CG_ID_LEN];
    for (unsigned i = 0; i < CG_ID_LEN; i++)
        want[i] = (uint8_t)(first + i);
    return CHECK_EQ_MEM(id, want, CG_ID_LEN);
}

/* ---- decoding bodies ---- */

/* The body through group_msgs_decode_any on an exact-size heap copy of its first n bytes
 * (a flexible reader), byte pos replaced by val when pos < n. *off_out: where it stopped. */
static int decode_cut(int16_t key, int16_t v, const bb *body, size_t n, size_t pos,
                      uint8_t val, size_t *off_out)
{
    uint8_t *p = malloc(n ? n : 1);
    if (n)
        memcpy(p, body->b, n);
    if (pos < n)
        p[pos] = val;
    rd r;
    rd_init(&r, p, n);
    r.flex = true;
    arena a;
    arena_init(&a);
    int rc = group_msgs_decode_any(key, v, &r, &a);
    *off_out = r.off;
    if (rc == 0 && r.err != RD_OK)
        rc = 99; /* success with a latched error: never */
    arena_free(&a);
    free(p);
    return rc;
}

/* The whole body decodes to its last byte; every shorter cut is refused; no byte
 * substitution makes the decoder read past the end. */
static void check_body_robust(int16_t key, int16_t v, const bb *body, const char *what)
{
    size_t off = 0;
    if (!CHECK_EQ_INT(decode_cut(key, v, body, body->n, SIZE_MAX, 0, &off), 0) ||
        !CHECK_EQ_INT(off, body->n))
        printf("  (%s v%d: the whole body)\n", what, v);
    int accepted = 0;
    for (size_t n = 0; n < body->n; n++)
        if (decode_cut(key, v, body, n, SIZE_MAX, 0, &off) == 0 && accepted++ < 3)
            printf("  %s v%d: accepted when cut to %zu of %zu bytes\n", what, v, n, body->n);
    CHECK_EQ_INT(accepted, 0);
    static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
    int overran = 0;
    for (size_t pos = 0; pos < body->n; pos++)
        for (size_t k = 0; k < sizeof(vals); k++)
            if (decode_cut(key, v, body, body->n, pos, vals[k], &off) != -1 && off > body->n)
                overran++;
    CHECK_EQ_INT(overran, 0);
}

/* r, flexible, over the body. */
static void body_reader(rd *r, const bb *body)
{
    rd_init(r, body->b, body->n);
    r->flex = true;
}

/* ---- ConsumerGroupHeartbeat requests ---- */

/* A heartbeat request body with every field: v0 with an instance id, no rack and no
 * assignor; v1 the other way round, with a regex and an unknown tagged field at the end.
 * Both own two topics (partitions 0, 2 of the first and 7 of the second). */
static void heartbeat_body(bb *x, int16_t v)
{
    x->n = 0;
    bcs(x, "grp");
    bcs(x, "m-1");
    b32(x, 5);                          /* MemberEpoch */
    bcs(x, v == 0 ? "inst-1" : NULL);   /* InstanceId */
    bcs(x, v == 0 ? NULL : "rack-a");   /* RackId */
    b32(x, 45000);                      /* RebalanceTimeoutMs */
    bcarr(x, 2);
    bcs(x, "t1");
    bcs(x, "t2");
    if (v >= 1)
        bcs(x, "^t.*");                 /* SubscribedTopicRegex */
    bcs(x, v == 0 ? NULL : "uniform");  /* ServerAssignor */
    bcarr(x, 2);
    bid(x, 0x10);
    bcarr(x, 2);
    b32(x, 0);
    b32(x, 2);
    btags(x);
    bid(x, 0x40);
    bcarr(x, 1);
    b32(x, 7);
    btags(x);
    if (v == 0) {
        btags(x);
    } else { /* one tagged field Brook does not know: tag 5, two bytes */
        b8(x, 1);
        b8(x, 5);
        b8(x, 2);
        b16(x, 0x1234);
    }
}

static void check_heartbeat_fields(const cg_heartbeat_req *q, int16_t v)
{
    CHECK_SLICE(q->group_id, "grp");
    CHECK_SLICE(q->member_id, "m-1");
    CHECK_EQ_INT(q->member_epoch, 5);
    CHECK_SLICE(q->instance_id, v == 0 ? "inst-1" : NULL);
    CHECK_SLICE(q->rack_id, v == 0 ? NULL : "rack-a");
    CHECK_EQ_INT(q->rebalance_timeout_ms, 45000);
    if (CHECK_EQ_INT(q->ntopics, 2)) {
        CHECK_SLICE(q->topics[0], "t1");
        CHECK_SLICE(q->topics[1], "t2");
    }
    CHECK_SLICE(q->regex, v >= 1 ? "^t.*" : NULL);
    CHECK_SLICE(q->server_assignor, v == 0 ? NULL : "uniform");
    if (!CHECK_EQ_INT(q->nowned, 2))
        return;
    check_id(q->owned[0].topic_id, 0x10);
    CHECK_SLICE(q->owned[0].topic_name, NULL);
    if (CHECK_EQ_INT(q->owned[0].nparts, 2)) {
        CHECK_EQ_INT(q->owned[0].parts[0], 0);
        CHECK_EQ_INT(q->owned[0].parts[1], 2);
    }
    check_id(q->owned[1].topic_id, 0x40);
    if (CHECK_EQ_INT(q->owned[1].nparts, 1))
        CHECK_EQ_INT(q->owned[1].parts[0], 7);
}

static void test_heartbeat_req(void)
{
    for (int16_t v = 0; v <= 1; v++) {
        bb x;
        heartbeat_body(&x, v);
        arena a;
        arena_init(&a);
        rd r;
        body_reader(&r, &x);
        cg_heartbeat_req q;
        memset(&q, 0, sizeof(q));
        if (CHECK_EQ_INT(cg_heartbeat_req_decode(&r, v, &a, &q), 0)) {
            CHECK_EQ_INT(r.off, x.n);
            check_heartbeat_fields(&q, v);
        }
        arena_free(&a);
        check_body_robust(API_CONSUMER_GROUP_HEARTBEAT, v, &x, "ConsumerGroupHeartbeat");
    }
}

/* The smallest heartbeat: no subscription change and no owned partitions (both null). */
static void heartbeat_nulls_body(bb *x, int16_t v)
{
    x->n = 0;
    bcs(x, "grp");
    bcs(x, "");     /* a new member: no id yet */
    b32(x, 0);
    bcs(x, NULL);
    bcs(x, NULL);
    b32(x, -1);
    bcarr(x, -1);   /* SubscribedTopicNames: null */
    if (v >= 1)
        bcs(x, NULL);
    bcs(x, NULL);
    bcarr(x, -1);   /* TopicPartitions: null */
    btags(x);
}

static void test_heartbeat_req_nulls(void)
{
    for (int16_t v = 0; v <= 1; v++) {
        bb x;
        heartbeat_nulls_body(&x, v);
        arena a;
        arena_init(&a);
        rd r;
        body_reader(&r, &x);
        cg_heartbeat_req q;
        memset(&q, 0x5a, sizeof(q));
        if (CHECK_EQ_INT(cg_heartbeat_req_decode(&r, v, &a, &q), 0)) {
            CHECK_EQ_INT(r.off, x.n);
            CHECK_SLICE(q.member_id, "");
            CHECK_EQ_INT(q.rebalance_timeout_ms, -1);
            CHECK_EQ_INT(q.ntopics, -1);
            CHECK(q.topics == NULL);
            CHECK_SLICE(q.regex, NULL);
            CHECK_SLICE(q.server_assignor, NULL);
            CHECK_EQ_INT(q.nowned, -1);
            CHECK(q.owned == NULL);
        }
        arena_free(&a);
        check_body_robust(API_CONSUMER_GROUP_HEARTBEAT, v, &x, "ConsumerGroupHeartbeat nulls");
    }
}

/* Faults of a heartbeat request that Kafka's schema does not allow (HB_NONE: a valid one). */
enum hb_fault {
    HB_NONE = -1,
    HB_NULL_GROUP,      /* GroupId null */
    HB_NULL_MEMBER,     /* MemberId null */
    HB_NULL_TOPIC_NAME, /* a null string inside SubscribedTopicNames */
    HB_NULL_PARTS,      /* an owned topic's Partitions null */
    HB_LYING_TOPICS,    /* SubscribedTopicNames counts 100 names in a short body */
    HB_HUGE_PARTS,      /* Partitions counts 2^32 - 2 */
    HB_NFAULTS
};

/* A v1 heartbeat request with one fault (or none). */
static void faulty_body(bb *x, int fault)
{
    x->n = 0;
    bcs(x, fault == HB_NULL_GROUP ? NULL : "grp");
    bcs(x, fault == HB_NULL_MEMBER ? NULL : "m-1");
    b32(x, 1);
    bcs(x, NULL);
    bcs(x, NULL);
    b32(x, 1000);
    bcarr(x, fault == HB_LYING_TOPICS ? 100 : 1);
    bcs(x, fault == HB_NULL_TOPIC_NAME ? NULL : "t");
    bcs(x, NULL); /* regex */
    bcs(x, NULL); /* assignor */
    bcarr(x, 1);
    bid(x, 0x10);
    if (fault == HB_NULL_PARTS) {
        bcarr(x, -1);
    } else if (fault == HB_HUGE_PARTS) {
        static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x0f}; /* uvarint 2^32 - 1 */
        for (size_t i = 0; i < sizeof(huge); i++)
            b8(x, huge[i]);
        b32(x, 3);
    } else {
        bcarr(x, 1);
        b32(x, 3);
    }
    btags(x);
    btags(x);
}

static void test_heartbeat_req_refused(void)
{
    for (int fault = HB_NONE; fault < HB_NFAULTS; fault++) {
        bb x;
        faulty_body(&x, fault);
        arena a;
        arena_init(&a);
        rd r;
        body_reader(&r, &x);
        cg_heartbeat_req q;
        int rc = cg_heartbeat_req_decode(&r, 1, &a, &q);
        if (!CHECK_EQ_INT(rc, fault == HB_NONE ? 0 : -1))
            printf("  (fault %d)\n", fault);
        if (fault == HB_NONE && rc == 0 && CHECK_EQ_INT(q.nowned, 1) &&
            CHECK_EQ_INT(q.owned[0].nparts, 1))
            CHECK_EQ_INT(q.owned[0].parts[0], 3);
        arena_free(&a);
    }
}

/* ---- ConsumerGroupHeartbeat answers ---- */

static const int32_t parts_a[] = {0, 2}, parts_b[] = {7};

/* Two topics (ids 0x10.. and 0x40..; names t1 and t2 for ConsumerGroupDescribe). */
static void two_topics(cg_topic_parts t[2])
{
    memset(t, 0, 2 * sizeof(*t));
    for (int i = 0; i < CG_ID_LEN; i++) {
        t[0].topic_id[i] = (uint8_t)(0x10 + i);
        t[1].topic_id[i] = (uint8_t)(0x40 + i);
    }
    t[0].topic_name = kslice_cstr("t1");
    t[1].topic_name = kslice_cstr("t2");
    t[0].nparts = 2;
    t[0].parts = (int32_t *)parts_a;
    t[1].nparts = 1;
    t[1].parts = (int32_t *)parts_b;
}

static void encode_heartbeat(const cg_heartbeat_resp *m, int16_t v, const bb *want,
                             const char *what)
{
    wr w;
    wr_init(&w, 16);
    w.flex = true;
    cg_heartbeat_resp_encode(&w, v, m);
    if (!check_body(&w, want, what))
        printf("  (v%d)\n", v);
    wr_free(&w);
}

static void test_heartbeat_resp(void)
{
    cg_topic_parts t[2];
    two_topics(t);
    for (int16_t v = 0; v <= 1; v++) {
        /* an error: message, no member id, Assignment null */
        cg_heartbeat_resp err = {KERR_UNKNOWN_MEMBER_ID, "unknown member", NULL, -1, 0, NULL};
        bb want = {.n = 0};
        b32(&want, 0);
        b16(&want, KERR_UNKNOWN_MEMBER_ID);
        bcs(&want, "unknown member");
        b8(&want, 0);     /* MemberId null */
        b32(&want, -1);
        b32(&want, 0);
        b8(&want, 0xff);  /* Assignment null */
        btags(&want);
        encode_heartbeat(&err, v, &want, "heartbeat error answer");

        /* two topics assigned */
        cg_assignment as = {2, t};
        cg_heartbeat_resp ok = {0, NULL, "m-1", 6, 5000, &as};
        want.n = 0;
        b32(&want, 0);
        b16(&want, 0);
        b8(&want, 0);     /* ErrorMessage null */
        bcs(&want, "m-1");
        b32(&want, 6);
        b32(&want, 5000);
        b8(&want, 1);     /* Assignment present */
        bcarr(&want, 2);
        bid(&want, 0x10);
        bcarr(&want, 2);
        b32(&want, 0);
        b32(&want, 2);
        btags(&want);
        bid(&want, 0x40);
        bcarr(&want, 1);
        b32(&want, 7);
        btags(&want);
        btags(&want);     /* the Assignment's tags */
        btags(&want);
        encode_heartbeat(&ok, v, &want, "heartbeat answer, two topics");

        /* an empty assignment is present, not null */
        as = (cg_assignment){0, NULL};
        want.n = 0;
        b32(&want, 0);
        b16(&want, 0);
        b8(&want, 0);
        bcs(&want, "m-1");
        b32(&want, 6);
        b32(&want, 5000);
        b8(&want, 1);
        bcarr(&want, 0);
        btags(&want);
        btags(&want);
        encode_heartbeat(&ok, v, &want, "heartbeat answer, empty assignment");
    }
}

/* ---- ConsumerGroupDescribe ---- */

static void describe_body(bb *x, int ngroups, const char *second, bool ops)
{
    x->n = 0;
    bcarr(x, ngroups);
    if (ngroups >= 1)
        bcs(x, "g1");
    if (ngroups >= 2)
        bcs(x, second);
    b8(x, ops ? 1 : 0);
    btags(x);
}

static int decode_describe(const bb *x, int16_t v, arena *a, cg_describe_req *q)
{
    rd r;
    body_reader(&r, x);
    int rc = cg_describe_req_decode(&r, v, a, q);
    if (rc == 0)
        CHECK_EQ_INT(r.off, x->n);
    return rc;
}

static void test_describe_req(void)
{
    for (int16_t v = 0; v <= 1; v++) {
        bb x;
        arena a;
        arena_init(&a);
        cg_describe_req q;
        describe_body(&x, 2, "g2", true);
        if (CHECK_EQ_INT(decode_describe(&x, v, &a, &q), 0) && CHECK_EQ_INT(q.ngroups, 2)) {
            CHECK_SLICE(q.groups[0], "g1");
            CHECK_SLICE(q.groups[1], "g2");
            CHECK(q.include_ops);
        }
        check_body_robust(API_CONSUMER_GROUP_DESCRIBE, v, &x, "ConsumerGroupDescribe");
        describe_body(&x, 0, NULL, false);
        if (CHECK_EQ_INT(decode_describe(&x, v, &a, &q), 0)) {
            CHECK_EQ_INT(q.ngroups, 0);
            CHECK(!q.include_ops);
        }
        describe_body(&x, -1, NULL, false); /* GroupIds null */
        CHECK_EQ_INT(decode_describe(&x, v, &a, &q), -1);
        describe_body(&x, 2, NULL, false);  /* a null group id */
        CHECK_EQ_INT(decode_describe(&x, v, &a, &q), -1);
        arena_free(&a);
    }
}

/* The two described groups of test_describe_resp: g1 with two members, g2 not found. */
static void describe_groups(cg_described_group g[2], cg_described_member m[2],
                            const cg_topic_parts t[2])
{
    static const char *subscribed[] = {"t1", "t2"};
    memset(m, 0, 2 * sizeof(*m));
    m[0] = (cg_described_member){"m-1", "inst-1", "rack-a", 7, "client-1", "/10.0.0.1",
                                 2, subscribed, NULL, {2, t}, {1, &t[1]}, 1};
    m[1] = (cg_described_member){"m-2", NULL, NULL, 6, "client-2", "/10.0.0.2",
                                 0, NULL, "^t.*", {0, NULL}, {0, NULL}, 0};
    g[0] = (cg_described_group){0, NULL, "g1", "Stable", 7, 6, "uniform", 2, m, 0x0148};
    g[1] = (cg_described_group){KERR_GROUP_ID_NOT_FOUND, "Group g2 not found.", "g2", "Dead",
                                0, 0, "", 0, NULL, INT32_MIN};
}

/* The bytes of test_describe_resp's first member at version v. */
static void want_member_1(bb *x, int16_t v)
{
    bcs(x, "m-1");
    bcs(x, "inst-1");
    bcs(x, "rack-a");
    b32(x, 7);
    bcs(x, "client-1");
    bcs(x, "/10.0.0.1");
    bcarr(x, 2);
    bcs(x, "t1");
    bcs(x, "t2");
    b8(x, 0);         /* SubscribedTopicRegex null */
    bcarr(x, 2);      /* Assignment: t1 [0, 2], t2 [7] */
    bid(x, 0x10);
    bcs(x, "t1");
    bcarr(x, 2);
    b32(x, 0);
    b32(x, 2);
    btags(x);
    bid(x, 0x40);
    bcs(x, "t2");
    bcarr(x, 1);
    b32(x, 7);
    btags(x);
    btags(x);
    bcarr(x, 1);      /* TargetAssignment: t2 [7] */
    bid(x, 0x40);
    bcs(x, "t2");
    bcarr(x, 1);
    b32(x, 7);
    btags(x);
    btags(x);
    if (v >= 1)
        b8(x, 1);     /* MemberType: consumer */
    btags(x);
}

/* The bytes of the second member: nulls, nothing subscribed or assigned, a regex. */
static void want_member_2(bb *x, int16_t v)
{
    bcs(x, "m-2");
    b8(x, 0);
    b8(x, 0);
    b32(x, 6);
    bcs(x, "client-2");
    bcs(x, "/10.0.0.2");
    bcarr(x, 0);
    bcs(x, "^t.*");
    bcarr(x, 0);
    btags(x);
    bcarr(x, 0);
    btags(x);
    if (v >= 1)
        b8(x, 0);     /* MemberType: classic */
    btags(x);
}

static void test_describe_resp(void)
{
    cg_topic_parts t[2];
    two_topics(t);
    cg_described_member m[2];
    cg_described_group g[2];
    describe_groups(g, m, t);
    for (int16_t v = 0; v <= 1; v++) {
        bb want = {.n = 0};
        b32(&want, 0);
        bcarr(&want, 2);
        b16(&want, 0);
        b8(&want, 0);
        bcs(&want, "g1");
        bcs(&want, "Stable");
        b32(&want, 7);
        b32(&want, 6);
        bcs(&want, "uniform");
        bcarr(&want, 2);
        want_member_1(&want, v);
        want_member_2(&want, v);
        b32(&want, 0x0148);
        btags(&want);
        b16(&want, KERR_GROUP_ID_NOT_FOUND);
        bcs(&want, "Group g2 not found.");
        bcs(&want, "g2");
        bcs(&want, "Dead");
        b32(&want, 0);
        b32(&want, 0);
        bcs(&want, "");
        bcarr(&want, 0);
        b32(&want, INT32_MIN);
        btags(&want);
        btags(&want);
        wr w;
        wr_init(&w, 16);
        w.flex = true;
        cg_describe_resp_encode(&w, v, g, 2);
        if (!check_body(&w, &want, "ConsumerGroupDescribe answer"))
            printf("  (v%d)\n", v);
        wr_free(&w);
    }
}

/* group_msgs_decode_any reaches the new decoders and answers -2 for other keys. */
static void test_decode_any_dispatch(void)
{
    bb x;
    describe_body(&x, 1, NULL, true);
    size_t off;
    CHECK_EQ_INT(decode_cut(API_CONSUMER_GROUP_DESCRIBE, 0, &x, x.n, SIZE_MAX, 0, &off), 0);
    CHECK_EQ_INT(decode_cut(API_KEY_LIMIT, 0, &x, x.n, SIZE_MAX, 0, &off), -2);
}

TU_MAIN(TU_CASE(test_heartbeat_req), TU_CASE(test_heartbeat_req_nulls),
        TU_CASE(test_heartbeat_req_refused), TU_CASE(test_heartbeat_resp),
        TU_CASE(test_describe_req), TU_CASE(test_describe_resp),
        TU_CASE(test_decode_any_dispatch))
