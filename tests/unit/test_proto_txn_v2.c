/*
 * test_proto_txn_v2.c - the wire codecs of transactions v2 (KIP-890 part 2), against Kafka's
 * message JSON: AddPartitionsToTxn v4-v5 (the broker-to-broker batched form, with VerifyOnly
 * and a top-level error in the answer) and Brook's group tag on it (ADDPARTS_TAG_GROUPS),
 * EndTxn v5 (the answer carries the producer id and epoch), the versions whose layout is the
 * one below them (Produce 12, InitProducerId 5, AddOffsetsToTxn 4, TxnOffsetCommit 4-5), and
 * ApiVersions v3+'s feature tags (SupportedFeatures, FinalizedFeaturesEpoch,
 * FinalizedFeatures; KAFKA-17011: below v4 no supported feature with MinVersion 0).
 *
 * Requests are written by hand field by field after a request header (proto_testutil.h),
 * decoded and checked, and go through check_robust (every cut refused, no byte substitution
 * reads past the end, on exact-size heap copies). Responses are compared with bytes written
 * out by hand, decoded back (AddPartitionsToTxn by addparts_resp_decode, ApiVersions by a
 * reader in this file), and every cut of them is refused.
 */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/assert.h"
#include "base/buf.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/group_msgs.h"
#include "proto/msgs.h"
#include "proto/record.h"
#include "proto_testutil.h"
#include "testutil.h"

/* ADDPARTS_TAG_GROUPS (10000) as an unsigned varint. */
static const uint8_t TAG_GROUPS_VARINT[] = {0x90, 0x4e};

/* r at the body of the request in w, its header decoded (and checked). */
static bool at_body(const wr *w, rd *r, int16_t key, int16_t v)
{
    req_header h;
    rd_init(r, w->p, w->len);
    bool ok = CHECK_EQ_INT(req_header_decode(r, &h), 0);
    ok &= CHECK_EQ_INT(h.api_key, key);
    ok &= CHECK_EQ_INT(h.api_version, v);
    ok &= CHECK_EQ_INT(h.flexible, api_is_flexible(key, v));
    return ok;
}

/* The body was read to its last byte. */
static void body_done(const rd *r)
{
    CHECK_EQ_INT(r->err, RD_OK);
    CHECK_EQ_INT(rd_remaining(r), 0);
}

/* ---- AddPartitionsToTxn v4-v5: a fixture of three transactions ---- */

typedef struct fixture {
    int32_t parts_t[2], parts_long[3];
    int16_t errs_t[2], errs_long[3];
    addparts_topic topics_a[2], topics_b[1];
    kslice groups_a[2], groups_c[1];
    int16_t gerrs_a[2], gerrs_c[1];
    addparts_txn txns[3];
    addparts_req q;
} fixture;

/* tx-a: two topics (one without partitions) and two groups; tx-b: VerifyOnly, one topic of
 * three partitions, no groups; tx-c: no topics, one group (a transaction that only commits
 * offsets). Response errors are set too (the request encoder ignores them). */
static void fixture_init(fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->parts_t[0] = 0;
    f->parts_t[1] = 7;
    f->errs_t[0] = KERR_NONE;
    f->errs_t[1] = KERR_INVALID_TXN_STATE;
    f->parts_long[0] = 1;
    f->parts_long[1] = 2;
    f->parts_long[2] = 300000;
    f->errs_long[0] = KERR_CONCURRENT_TRANSACTIONS;
    f->errs_long[1] = KERR_NONE;
    f->errs_long[2] = KERR_PRODUCER_FENCED;
    f->topics_a[0] = (addparts_topic){kslice_cstr("t"), 2, f->parts_t, f->errs_t};
    f->topics_a[1] = (addparts_topic){kslice_cstr("u"), 0, NULL, NULL};
    f->topics_b[0] = (addparts_topic){kslice_cstr("long-topic"), 3, f->parts_long, f->errs_long};
    f->groups_a[0] = kslice_cstr("g1");
    f->groups_a[1] = kslice_cstr("g2");
    f->gerrs_a[0] = KERR_NONE;
    f->gerrs_a[1] = KERR_INVALID_PRODUCER_EPOCH;
    f->groups_c[0] = kslice_cstr("grp-only");
    f->gerrs_c[0] = KERR_CONCURRENT_TRANSACTIONS;
    f->txns[0] = (addparts_txn){kslice_cstr("tx-a"), 1000, 3, false, 2, f->topics_a,
                                2, f->groups_a, f->gerrs_a};
    f->txns[1] = (addparts_txn){kslice_cstr("tx-b"), 2000, 0, true, 1, f->topics_b,
                                0, NULL, NULL};
    f->txns[2] = (addparts_txn){kslice_cstr("tx-c"), INT64_C(1) << 40, INT16_MAX, false, 0, NULL,
                                1, f->groups_c, f->gerrs_c};
    f->q.ntxns = 3;
    f->q.txns = f->txns;
}

/* The fixture's request body at v4+, field by field in the order of
 * AddPartitionsToTxnRequest.json, the group tag written out by hand. */
static void write_fixture_req(wr *w)
{
    BROOK_ASSERT(w->flex);
    wr_array(w, 3);
    /* tx-a */
    wr_cstr(w, "tx-a");
    wr_i64(w, 1000);
    wr_i16(w, 3);
    wr_bool(w, false);
    wr_array(w, 2);
    wr_cstr(w, "t");
    wr_array(w, 2);
    wr_i32(w, 0);
    wr_i32(w, 7);
    wr_tags(w);
    wr_cstr(w, "u");
    wr_array(w, 0);
    wr_tags(w);
    wr_uvarint(w, 1); /* one tagged field: the groups */
    wr_raw(w, TAG_GROUPS_VARINT, 2);
    wr_uvarint(w, 7);
    wr_raw(w, "\x03\x03g1\x03g2", 7);
    /* tx-b */
    wr_cstr(w, "tx-b");
    wr_i64(w, 2000);
    wr_i16(w, 0);
    wr_bool(w, true);
    wr_array(w, 1);
    wr_cstr(w, "long-topic");
    wr_array(w, 3);
    wr_i32(w, 1);
    wr_i32(w, 2);
    wr_i32(w, 300000);
    wr_tags(w);
    wr_tags(w); /* no groups: no tag */
    /* tx-c */
    wr_cstr(w, "tx-c");
    wr_i64(w, INT64_C(1) << 40);
    wr_i16(w, INT16_MAX);
    wr_bool(w, false);
    wr_array(w, 0);
    wr_uvarint(w, 1);
    wr_raw(w, TAG_GROUPS_VARINT, 2);
    wr_uvarint(w, 10);
    wr_raw(w, "\x02\x09grp-only", 10);
    wr_tags(w); /* request */
}

/* Topics equal (names, partitions; errors too when with_errors, else all zero). */
static bool check_topics(const addparts_topic *got, int32_t ngot, const addparts_topic *want,
                         int32_t nwant, bool with_errors)
{
    if (!CHECK_EQ_INT(ngot, nwant))
        return false;
    bool ok = true;
    for (int32_t i = 0; i < nwant; i++) {
        ok &= CHECK_EQ_MEM(got[i].name.p, want[i].name.p, (size_t)want[i].name.len);
        ok &= CHECK_EQ_INT(got[i].name.len, want[i].name.len);
        if (!CHECK_EQ_INT(got[i].nparts, want[i].nparts))
            return false;
        if (want[i].nparts > 0)
            ok &= CHECK(got[i].parts != NULL && got[i].errors != NULL);
        for (int32_t k = 0; ok && k < want[i].nparts; k++) {
            ok &= CHECK_EQ_INT(got[i].parts[k], want[i].parts[k]);
            ok &= CHECK_EQ_INT(got[i].errors[k], with_errors ? want[i].errors[k] : 0);
        }
    }
    return ok;
}

/* A decoded transaction equals the fixture's (resp: an answer, whose request-only fields are
 * -1 or false and whose errors are the fixture's). */
static bool check_txn(const addparts_txn *got, const addparts_txn *want, bool resp)
{
    bool ok = CHECK_EQ_INT(got->transactional_id.len, want->transactional_id.len);
    ok &= CHECK_EQ_MEM(got->transactional_id.p, want->transactional_id.p,
                       (size_t)want->transactional_id.len);
    ok &= CHECK_EQ_INT(got->producer_id, resp ? -1 : want->producer_id);
    ok &= CHECK_EQ_INT(got->producer_epoch, resp ? -1 : want->producer_epoch);
    ok &= CHECK_EQ_INT(got->verify_only, resp ? false : want->verify_only);
    ok &= check_topics(got->topics, got->ntopics, want->topics, want->ntopics, resp);
    if (!CHECK_EQ_INT(got->ngroups, want->ngroups))
        return false;
    if (want->ngroups > 0)
        ok &= CHECK(got->groups != NULL && got->group_errors != NULL);
    for (int32_t i = 0; ok && i < want->ngroups; i++) {
        ok &= CHECK_EQ_INT(got->groups[i].len, want->groups[i].len);
        ok &= CHECK_EQ_MEM(got->groups[i].p, want->groups[i].p, (size_t)want->groups[i].len);
        ok &= CHECK_EQ_INT(got->group_errors[i], resp ? want->group_errors[i] : 0);
    }
    return ok;
}

static void test_addparts_v4_v5_requests(void)
{
    fixture f;
    fixture_init(&f);
    for (int16_t v = 4; v <= 5; v++) {
        wr w;
        req_start(&w, API_ADD_PARTITIONS_TO_TXN, v);
        size_t body_off = w.len;
        write_fixture_req(&w);

        /* The encoder writes the same body. */
        wr e;
        wr_init(&e, 64);
        addparts_req_encode(&e, v, &f.q);
        CHECK(e.flex);
        check_bytes(&e, w.p + body_off, w.len - body_off, "AddPartitionsToTxn v4+ request");
        wr_free(&e);

        rd r;
        arena a;
        arena_init(&a);
        if (at_body(&w, &r, API_ADD_PARTITIONS_TO_TXN, v)) {
            addparts_req q;
            memset(&q, 0x5a, sizeof(q)); /* whatever was there before */
            CHECK_EQ_INT(addparts_req_decode(&r, v, &a, &q), 0);
            body_done(&r);
            /* the v0-3 fields are empty */
            CHECK_SLICE(q.transactional_id, NULL);
            CHECK_EQ_INT(q.producer_id, -1);
            CHECK_EQ_INT(q.producer_epoch, -1);
            CHECK_EQ_INT(q.ntopics, 0);
            CHECK(q.topics == NULL);
            CHECK_EQ_INT(q.error_code, 0);
            if (CHECK_EQ_INT(q.ntxns, 3))
                for (int i = 0; i < 3; i++)
                    if (!check_txn(&q.txns[i], &f.txns[i], false))
                        printf("  (v%d transaction %d)\n", v, i);
        }
        arena_free(&a);
        check_robust(&w, v == 4 ? "AddPartitionsToTxn v4" : "AddPartitionsToTxn v5");
        wr_free(&w);
    }

    /* The exact bytes of a small v4 request: one transaction, one partition, one group. */
    kslice group = kslice_cstr("g");
    int32_t part = 3;
    addparts_topic topic = {kslice_cstr("t"), 1, &part, NULL};
    addparts_txn txn = {kslice_cstr("tx"), 7, 1, true, 1, &topic, 1, &group, NULL};
    addparts_req q = {.ntxns = 1, .txns = &txn};
    /* clang-format off */
    static const uint8_t want[] = {
        0x02,                                   /* one transaction */
        0x03, 't', 'x',                         /* TransactionalId */
        0, 0, 0, 0, 0, 0, 0, 7,                 /* ProducerId */
        0x00, 0x01,                             /* ProducerEpoch */
        0x01,                                   /* VerifyOnly */
        0x02, 0x02, 't', 0x02, 0, 0, 0, 3, 0x00, /* Topics: t [3], tags */
        0x01, 0x90, 0x4e, 0x03, 0x02, 0x02, 'g', /* tags: 10000, 3 bytes: ["g"] */
        0x00};                                  /* request tags */
    /* clang-format on */
    wr w;
    wr_init(&w, 16);
    addparts_req_encode(&w, 4, &q);
    check_bytes(&w, want, sizeof(want), "AddPartitionsToTxn v4 request bytes");
    wr_free(&w);

    /* No transactions at all is a valid (empty) batch. */
    req_start(&w, API_ADD_PARTITIONS_TO_TXN, 5);
    wr_array(&w, 0);
    wr_tags(&w);
    rd r;
    arena a;
    arena_init(&a);
    if (at_body(&w, &r, API_ADD_PARTITIONS_TO_TXN, 5)) {
        addparts_req d;
        CHECK_EQ_INT(addparts_req_decode(&r, 5, &a, &d), 0);
        CHECK_EQ_INT(d.ntxns, 0);
        body_done(&r);
    }
    arena_free(&a);
    wr_free(&w);
}

/* Tags Brook does not know are skipped wherever they are: on the request, a transaction
 * (around the group tag) and a topic. */
static void test_addparts_unknown_tags(void)
{
    wr w;
    req_start(&w, API_ADD_PARTITIONS_TO_TXN, 5);
    wr_array(&w, 1);
    wr_cstr(&w, "tx");
    wr_i64(&w, 42);
    wr_i16(&w, 5);
    wr_bool(&w, false);
    wr_array(&w, 1);
    wr_cstr(&w, "t");
    wr_array(&w, 1);
    wr_i32(&w, 9);
    wr_raw(&w, "\x01\x07\x00", 3); /* topic: tag 7, empty */
    wr_uvarint(&w, 3);             /* transaction: three fields */
    wr_raw(&w, "\x00\x01\x00", 3); /* tag 0, one byte */
    wr_raw(&w, TAG_GROUPS_VARINT, 2);
    wr_uvarint(&w, 3);
    wr_raw(&w, "\x02\x02g", 3);
    wr_raw(&w, "\x91\x4e\x04\xff\xff\xff\xff", 7); /* tag 10001, four bytes */
    wr_raw(&w, "\x01\x03\x02\xaa\xbb", 5);         /* request: tag 3, two bytes */
    rd r;
    arena a;
    arena_init(&a);
    if (at_body(&w, &r, API_ADD_PARTITIONS_TO_TXN, 5)) {
        addparts_req q;
        CHECK_EQ_INT(addparts_req_decode(&r, 5, &a, &q), 0);
        body_done(&r);
        if (CHECK_EQ_INT(q.ntxns, 1)) {
            addparts_txn *t = &q.txns[0];
            CHECK_SLICE(t->transactional_id, "tx");
            CHECK_EQ_INT(t->producer_id, 42);
            if (CHECK_EQ_INT(t->ntopics, 1) && CHECK_EQ_INT(t->topics[0].nparts, 1))
                CHECK_EQ_INT(t->topics[0].parts[0], 9);
            if (CHECK_EQ_INT(t->ngroups, 1))
                CHECK_SLICE(t->groups[0], "g");
        }
    }
    arena_free(&a);
    check_robust(&w, "AddPartitionsToTxn v5 with unknown tags");
    wr_free(&w);
}

/* A v4 request of one transaction whose tag buffer holds the given field bytes under the
 * group tag (size as given): the decoder's result. */
static int decode_with_group_field(const char *field, size_t n, uint32_t size)
{
    wr w;
    req_start(&w, API_ADD_PARTITIONS_TO_TXN, 4);
    wr_array(&w, 1);
    wr_cstr(&w, "tx");
    wr_i64(&w, 1);
    wr_i16(&w, 0);
    wr_bool(&w, false);
    wr_array(&w, 0);
    wr_uvarint(&w, 1);
    wr_raw(&w, TAG_GROUPS_VARINT, 2);
    wr_uvarint(&w, size);
    wr_raw(&w, field, n);
    wr_tags(&w);
    int rc = decode_whole(&w);
    wr_free(&w);
    return rc;
}

static void test_addparts_malformed(void)
{
    CHECK_EQ_INT(decode_with_group_field("\x02\x02g", 3, 3), 0);      /* the valid one */
    CHECK_EQ_INT(decode_with_group_field("\x00", 1, 1), -1);          /* null array */
    CHECK_EQ_INT(decode_with_group_field("\x02\x00", 2, 2), -1);      /* null group id */
    CHECK_EQ_INT(decode_with_group_field("\x05\x02g", 3, 3), -1);     /* count too large */
    CHECK_EQ_INT(decode_with_group_field("\x02\x02g\x00", 4, 4), -1); /* bytes left over */
    CHECK_EQ_INT(decode_with_group_field("\x02\x02g", 3, 9), -1);     /* size past the end */
    /* the response form (with error codes) is not the request's */
    CHECK_EQ_INT(decode_with_group_field("\x02\x02g\x00\x00", 5, 5), -1);

    /* v4+: a null transactional id, topic name, transaction or partition list */
    for (int which = 0; which < 4; which++) {
        wr w;
        req_start(&w, API_ADD_PARTITIONS_TO_TXN, 4);
        if (which == 2) {
            wr_array(&w, -1);
        } else {
            wr_array(&w, 1);
            wr_cstr(&w, which == 0 ? NULL : "tx");
            wr_i64(&w, 1);
            wr_i16(&w, 0);
            wr_bool(&w, false);
            wr_array(&w, 1);
            wr_cstr(&w, which == 1 ? NULL : "t");
            wr_array(&w, which == 3 ? -1 : 0);
            wr_tags(&w);
            wr_tags(&w);
        }
        wr_tags(&w);
        if (!CHECK_EQ_INT(decode_whole(&w), -1))
            printf("  (case %d)\n", which);
        wr_free(&w);
    }

    /* A transaction count the bytes cannot hold is refused before anything is allocated. */
    wr w;
    req_start(&w, API_ADD_PARTITIONS_TO_TXN, 4);
    wr_array(&w, 90000);
    wr_cstr(&w, "tx");
    rd r;
    arena a;
    arena_init(&a);
    if (at_body(&w, &r, API_ADD_PARTITIONS_TO_TXN, 4)) {
        addparts_req q;
        CHECK_EQ_INT(addparts_req_decode(&r, 4, &a, &q), -1);
        CHECK_EQ_INT(r.err, RD_BAD_LENGTH);
    }
    arena_free(&a);
    wr_free(&w);
}

/* v0-v3 decode as before: the top-level fields, no transactions. */
static void test_addparts_v0_v3_unchanged(void)
{
    int32_t parts[2] = {0, 7};
    addparts_topic topics[2] = {{kslice_cstr("t"), 2, parts, NULL},
                                {kslice_cstr("u"), 0, NULL, NULL}};
    addparts_req enc = {.transactional_id = kslice_cstr("tx"), .producer_id = 1000,
                        .producer_epoch = 2, .ntopics = 2, .topics = topics};
    for (int16_t v = 0; v <= 3; v++) {
        wr w;
        req_start(&w, API_ADD_PARTITIONS_TO_TXN, v);
        size_t body_off = w.len;
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

        wr e;
        wr_init(&e, 64);
        addparts_req_encode(&e, v, &enc);
        CHECK_EQ_INT(e.flex, v >= 3);
        check_bytes(&e, w.p + body_off, w.len - body_off, "AddPartitionsToTxn v0-3 request");
        wr_free(&e);

        rd r;
        arena a;
        arena_init(&a);
        if (at_body(&w, &r, API_ADD_PARTITIONS_TO_TXN, v)) {
            addparts_req q;
            memset(&q, 0x5a, sizeof(q));
            CHECK_EQ_INT(addparts_req_decode(&r, v, &a, &q), 0);
            body_done(&r);
            CHECK_SLICE(q.transactional_id, "tx");
            CHECK_EQ_INT(q.producer_id, 1000);
            CHECK_EQ_INT(q.producer_epoch, 2);
            CHECK_EQ_INT(q.ntxns, 0);
            CHECK(q.txns == NULL);
            CHECK_EQ_INT(q.error_code, 0);
            check_topics(q.topics, q.ntopics, topics, 2, false);
        }
        arena_free(&a);
        check_robust(&w, "AddPartitionsToTxn v0-3");
        wr_free(&w);
    }
}

/* ---- AddPartitionsToTxn responses ---- */

/* addparts_resp_decode on an exact-size heap copy of the first n bytes of p (byte pos set to
 * val when pos < n); *off_out gets where the reader stopped. */
static int resp_decode_copy(const uint8_t *p, size_t n, int16_t v, size_t pos, uint8_t val,
                            size_t *off_out)
{
    uint8_t *c = malloc(n ? n : 1);
    if (n)
        memcpy(c, p, n);
    if (pos < n)
        c[pos] = val;
    rd r;
    rd_init(&r, c, n);
    arena a;
    arena_init(&a);
    addparts_req q;
    int rc = addparts_resp_decode(&r, v, &a, &q);
    *off_out = r.off;
    arena_free(&a);
    free(c);
    return rc;
}

/* The answer in w decodes whole; every cut of it and the answer with a byte more are
 * refused; no byte substitution reads past the end. */
static void check_resp_robust(const wr *w, int16_t v, const char *what)
{
    size_t off;
    if (!CHECK_EQ_INT(resp_decode_copy(w->p, w->len, v, SIZE_MAX, 0, &off), 0))
        printf("  (%s: the whole answer)\n", what);
    int accepted = 0;
    for (size_t n = 0; n < w->len; n++)
        if (resp_decode_copy(w->p, n, v, SIZE_MAX, 0, &off) != -1 && accepted++ < 3)
            printf("  %s: accepted when cut to %zu of %zu bytes\n", what, n, w->len);
    CHECK_EQ_INT(accepted, 0);
    uint8_t *longer = malloc(w->len + 1);
    memcpy(longer, w->p, w->len);
    longer[w->len] = 0;
    if (!CHECK_EQ_INT(resp_decode_copy(longer, w->len + 1, v, SIZE_MAX, 0, &off), -1))
        printf("  (%s: a trailing byte)\n", what);
    free(longer);
    static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
    int overran = 0;
    for (size_t pos = 0; pos < w->len; pos++)
        for (size_t k = 0; k < sizeof(vals); k++)
            if (resp_decode_copy(w->p, w->len, v, pos, vals[k], &off) == 0 && off > w->len)
                overran++;
    CHECK_EQ_INT(overran, 0);
}

static void test_addparts_v4_v5_responses(void)
{
    /* The exact bytes of a small v4 answer. */
    kslice group = kslice_cstr("g");
    int16_t gerr = KERR_CONCURRENT_TRANSACTIONS;
    int32_t part = 3;
    int16_t perr = KERR_INVALID_TXN_STATE;
    addparts_topic topic = {kslice_cstr("t"), 1, &part, &perr};
    addparts_txn txn = {kslice_cstr("tx"), 7, 1, true, 1, &topic, 1, &group, &gerr};
    addparts_req small = {.ntxns = 1, .txns = &txn};
    /* clang-format off */
    static const uint8_t want[] = {
        0, 0, 0, 0,                   /* ThrottleTimeMs */
        0x00, 0x00,                   /* ErrorCode */
        0x02, 0x03, 't', 'x',         /* one result: TransactionalId */
        0x02, 0x02, 't',              /* TopicResults: t */
        0x02, 0, 0, 0, 3, 0x00, 48, 0x00, /* partition 3: INVALID_TXN_STATE, tags */
        0x00,                         /* topic tags */
        0x01, 0x90, 0x4e, 0x05,       /* tags: 10000, 5 bytes */
        0x02, 0x02, 'g', 0x00, 51,    /* ["g", CONCURRENT_TRANSACTIONS] */
        0x00};                        /* response tags */
    /* clang-format on */
    wr w;
    wr_init(&w, 16);
    w.flex = true;
    addparts_resp_encode(&w, 4, &small);
    check_bytes(&w, want, sizeof(want), "AddPartitionsToTxn v4 answer bytes");
    wr_free(&w);

    /* Without groups the result's tag buffer is empty; NULL errors are sent as zeros. */
    addparts_topic bare = {kslice_cstr("t"), 1, &part, NULL};
    addparts_txn plain = {kslice_cstr("tx"), 7, 1, false, 1, &bare, 0, NULL, NULL};
    addparts_req one = {.ntxns = 1, .txns = &plain, .error_code = KERR_NONE};
    bb b = {.n = 0};
    b32(&b, 0);
    b16(&b, 0);
    b8(&b, 2);
    bcstr(&b, "tx");
    b8(&b, 2);
    bcstr(&b, "t");
    b8(&b, 2);
    b32(&b, 3);
    b16(&b, 0);
    b8(&b, 0);
    b8(&b, 0);
    b8(&b, 0); /* result tags: none */
    b8(&b, 0);
    wr_init(&w, 16);
    w.flex = true;
    addparts_resp_encode(&w, 5, &one);
    check_body(&w, &b, "AddPartitionsToTxn v5 answer without groups");
    wr_free(&w);

    /* A top-level error with no results. */
    addparts_req failed = {.error_code = KERR_NOT_COORDINATOR};
    static const uint8_t want_err[] = {0, 0, 0, 0, 0x00, 16, 0x01, 0x00};
    wr_init(&w, 16);
    w.flex = true;
    addparts_resp_encode(&w, 4, &failed);
    check_bytes(&w, want_err, sizeof(want_err), "AddPartitionsToTxn v4 top-level error");
    arena a;
    arena_init(&a);
    rd r;
    rd_init(&r, w.p, w.len);
    addparts_req got;
    if (CHECK_EQ_INT(addparts_resp_decode(&r, 4, &a, &got), 0)) {
        CHECK_EQ_INT(got.error_code, KERR_NOT_COORDINATOR);
        CHECK_EQ_INT(got.ntxns, 0);
    }
    arena_free(&a);
    wr_free(&w);

    /* The fixture, both versions: decoded back field by field; every cut refused. */
    fixture f;
    fixture_init(&f);
    f.q.error_code = KERR_NONE;
    for (int16_t v = 4; v <= 5; v++) {
        wr_init(&w, 64);
        w.flex = true;
        addparts_resp_encode(&w, v, &f.q);
        CHECK(!w.oom);
        arena_init(&a);
        rd_init(&r, w.p, w.len);
        r.flex = false; /* the decoder sets it from v */
        memset(&got, 0x5a, sizeof(got));
        if (CHECK_EQ_INT(addparts_resp_decode(&r, v, &a, &got), 0)) {
            CHECK(r.flex);
            CHECK_EQ_INT(got.error_code, 0);
            CHECK_EQ_INT(got.ntopics, 0);
            CHECK_SLICE(got.transactional_id, NULL);
            CHECK_EQ_INT(got.producer_id, -1);
            CHECK_EQ_INT(got.producer_epoch, -1);
            if (CHECK_EQ_INT(got.ntxns, 3))
                for (int i = 0; i < 3; i++)
                    if (!check_txn(&got.txns[i], &f.txns[i], true))
                        printf("  (answer v%d, transaction %d)\n", v, i);
        }
        arena_free(&a);
        check_resp_robust(&w, v, v == 4 ? "AddPartitionsToTxn v4 answer"
                                         : "AddPartitionsToTxn v5 answer");
        wr_free(&w);
    }

    /* Unknown tags in an answer are skipped (on the answer, a result, a partition). */
    wr_init(&w, 64);
    w.flex = true;
    wr_i32(&w, 0);
    wr_i16(&w, 0);
    wr_array(&w, 1);
    wr_cstr(&w, "tx");
    wr_array(&w, 1);
    wr_cstr(&w, "t");
    wr_array(&w, 1);
    wr_i32(&w, 5);
    wr_i16(&w, KERR_PRODUCER_FENCED);
    wr_raw(&w, "\x01\x02\x01\x00", 4); /* partition: tag 2, one byte */
    wr_tags(&w);
    wr_uvarint(&w, 2);
    wr_raw(&w, "\x91\x4e\x01\x7f", 4); /* tag 10001 */
    wr_raw(&w, TAG_GROUPS_VARINT, 2);
    wr_uvarint(&w, 5);
    wr_raw(&w, "\x02\x02g\x00\x5a", 5);
    wr_raw(&w, "\x01\x09\x00", 3); /* answer: tag 9, empty */
    arena_init(&a);
    rd_init(&r, w.p, w.len);
    if (CHECK_EQ_INT(addparts_resp_decode(&r, 5, &a, &got), 0) && CHECK_EQ_INT(got.ntxns, 1)) {
        addparts_txn *t = &got.txns[0];
        CHECK_SLICE(t->transactional_id, "tx");
        if (CHECK_EQ_INT(t->ntopics, 1) && CHECK_EQ_INT(t->topics[0].nparts, 1)) {
            CHECK_EQ_INT(t->topics[0].parts[0], 5);
            CHECK_EQ_INT(t->topics[0].errors[0], KERR_PRODUCER_FENCED);
        }
        if (CHECK_EQ_INT(t->ngroups, 1)) {
            CHECK_SLICE(t->groups[0], "g");
            CHECK_EQ_INT(t->group_errors[0], 0x5a);
        }
    }
    arena_free(&a);
    check_resp_robust(&w, 5, "AddPartitionsToTxn v5 answer with unknown tags");
    wr_free(&w);

    /* A null group id, or the request form of the tag (no error codes), is refused. */
    static const char *const bad_fields[] = {"\x02\x00\x00\x00", "\x02\x02g"};
    static const uint32_t bad_sizes[] = {4, 3};
    for (int k = 0; k < 2; k++) {
        wr_init(&w, 64);
        w.flex = true;
        wr_i32(&w, 0);
        wr_i16(&w, 0);
        wr_array(&w, 1);
        wr_cstr(&w, "tx");
        wr_array(&w, 0);
        wr_uvarint(&w, 1);
        wr_raw(&w, TAG_GROUPS_VARINT, 2);
        wr_uvarint(&w, bad_sizes[k]);
        wr_raw(&w, bad_fields[k], bad_sizes[k]);
        wr_tags(&w);
        arena_init(&a);
        rd_init(&r, w.p, w.len);
        if (!CHECK_EQ_INT(addparts_resp_decode(&r, 4, &a, &got), -1))
            printf("  (bad group field %d)\n", k);
        arena_free(&a);
        wr_free(&w);
    }

    /* Versions outside 0..5 are refused. */
    static const uint8_t empty_v4[] = {0, 0, 0, 0, 0, 0, 0x01, 0x00};
    for (int16_t v = -1; v <= 6; v += 7) {
        arena_init(&a);
        rd_init(&r, empty_v4, sizeof(empty_v4));
        CHECK_EQ_INT(addparts_resp_decode(&r, v, &a, &got), -1);
        arena_free(&a);
    }
}

/* The v0-v3 answers decode into q->topics. */
static void test_addparts_v0_v3_responses(void)
{
    int32_t parts[2] = {0, 7};
    int16_t errs[2] = {KERR_NONE, KERR_PRODUCER_FENCED};
    addparts_topic topics[2] = {{kslice_cstr("t"), 2, parts, errs},
                                {kslice_cstr("u"), 0, NULL, NULL}};
    addparts_req q = {.transactional_id = kslice_cstr("tx"), .producer_id = 1000,
                      .producer_epoch = 2, .ntopics = 2, .topics = topics};
    for (int16_t v = 0; v <= 3; v++) {
        wr w;
        wr_init(&w, 64);
        w.flex = v >= 3;
        addparts_resp_encode(&w, v, &q);
        arena a;
        arena_init(&a);
        rd r;
        rd_init(&r, w.p, w.len);
        addparts_req got;
        if (CHECK_EQ_INT(addparts_resp_decode(&r, v, &a, &got), 0)) {
            CHECK_EQ_INT(r.flex, v >= 3);
            CHECK_EQ_INT(got.ntxns, 0);
            CHECK_EQ_INT(got.error_code, 0);
            check_topics(got.topics, got.ntopics, topics, 2, true);
        }
        arena_free(&a);
        check_resp_robust(&w, v, "AddPartitionsToTxn v0-3 answer");
        wr_free(&w);
    }
}

/* ---- EndTxn ---- */

static void test_endtxn_v4_v5(void)
{
    for (int16_t v = 4; v <= 5; v++) {
        wr w;
        req_start(&w, API_END_TXN, v);
        wr_cstr(&w, "tx");
        wr_i64(&w, 1000);
        wr_i16(&w, 6);
        wr_bool(&w, v == 5);
        wr_tags(&w);
        rd r;
        arena a;
        arena_init(&a);
        if (at_body(&w, &r, API_END_TXN, v)) {
            CHECK(r.flex);
            endtxn_req q;
            CHECK_EQ_INT(endtxn_req_decode(&r, v, &a, &q), 0);
            body_done(&r);
            CHECK_SLICE(q.transactional_id, "tx");
            CHECK_EQ_INT(q.producer_id, 1000);
            CHECK_EQ_INT(q.producer_epoch, 6);
            CHECK_EQ_INT(q.committed, v == 5);
        }
        arena_free(&a);
        check_robust(&w, "EndTxn v4-5");
        wr_free(&w);
    }

    /* v4: throttle and error only; v5 adds the producer id and the (bumped) epoch. */
    static const uint8_t want_v4[] = {0, 0, 0, 0, 0x00, 0x00, 0x00};
    /* clang-format off */
    static const uint8_t want_v5[] = {
        0, 0, 0, 0,                      /* ThrottleTimeMs */
        0x00, 0x00,                      /* ErrorCode */
        0, 0, 0, 0, 0, 0, 0x03, 0xe8,    /* ProducerId 1000 */
        0x00, 0x07,                      /* ProducerEpoch 7 */
        0x00};                           /* tags */
    static const uint8_t want_v5_fenced[] = {
        0, 0, 0, 0, 0x00, 90,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00};
    /* clang-format on */
    wr w;
    wr_init(&w, 16);
    w.flex = true;
    endtxn_resp_encode(&w, 4, KERR_NONE, 1000, 7);
    check_bytes(&w, want_v4, sizeof(want_v4), "EndTxn v4 answer");
    wr_free(&w);
    wr_init(&w, 16);
    w.flex = true;
    endtxn_resp_encode(&w, 5, KERR_NONE, 1000, 7);
    check_bytes(&w, want_v5, sizeof(want_v5), "EndTxn v5 answer");
    wr_free(&w);
    wr_init(&w, 16);
    w.flex = true;
    endtxn_resp_encode(&w, 5, KERR_PRODUCER_FENCED, -1, -1);
    check_bytes(&w, want_v5_fenced, sizeof(want_v5_fenced), "EndTxn v5 fenced");
    wr_free(&w);

    /* Below v5 it writes what error_only_resp_encode writes. */
    for (int16_t v = 0; v <= 4; v++) {
        wr a, b;
        wr_init(&a, 16);
        wr_init(&b, 16);
        a.flex = b.flex = v >= 3;
        endtxn_resp_encode(&a, v, KERR_INVALID_TXN_STATE, 1000, 7);
        error_only_resp_encode(&b, v, KERR_INVALID_TXN_STATE);
        if (CHECK_EQ_INT(a.len, b.len))
            CHECK_EQ_MEM(a.p, b.p, a.len);
        wr_free(&a);
        wr_free(&b);
    }
}

/* ---- the versions with the layout of the one below ---- */

typedef void (*body_fn)(wr *w);

/* The same body under version old and version new: the bytes after the header agree, both
 * decode whole (decode_whole goes through msgs_decode_any), and the new one survives every
 * cut. */
static void check_same_layout(int16_t key, int16_t old_v, int16_t new_v, body_fn body,
                              const char *what)
{
    wr a, b;
    req_start(&a, key, old_v);
    size_t a_off = a.len;
    body(&a);
    req_start(&b, key, new_v);
    size_t b_off = b.len;
    body(&b);
    bool ok = CHECK(api_version_supported(key, new_v));
    ok &= CHECK_EQ_INT(api_is_flexible(key, old_v), api_is_flexible(key, new_v));
    ok &= CHECK_EQ_INT(a_off, b_off);
    ok &= CHECK_EQ_INT(a.len - a_off, b.len - b_off);
    ok &= CHECK_EQ_MEM(a.p + a_off, b.p + b_off, a.len - a_off);
    ok &= CHECK_EQ_INT(decode_whole(&a), 0);
    ok &= CHECK_EQ_INT(decode_whole(&b), 0);
    if (!ok)
        printf("  (%s v%d against v%d)\n", what, new_v, old_v);
    check_robust(&b, what);
    wr_free(&a);
    wr_free(&b);
}

static void initpid_body(wr *w)
{
    wr_cstr(w, "tx");
    wr_i32(w, 60000);
    wr_i64(w, 1000);
    wr_i16(w, 2);
    wr_tags(w);
}

static void addoffsets_body(wr *w)
{
    wr_cstr(w, "tx");
    wr_i64(w, 1000);
    wr_i16(w, 2);
    wr_cstr(w, "grp");
    wr_tags(w);
}

static void txnoffsetcommit_body(wr *w)
{
    wr_cstr(w, "tx");
    wr_cstr(w, "grp");
    wr_i64(w, 1000);
    wr_i16(w, 2);
    wr_i32(w, 5);        /* GenerationId */
    wr_cstr(w, "m-1");   /* MemberId */
    wr_cstr(w, NULL);    /* GroupInstanceId */
    wr_array(w, 1);
    wr_cstr(w, "t");
    wr_array(w, 2);
    for (int p = 0; p < 2; p++) {
        wr_i32(w, p);
        wr_i64(w, 100 + p);
        wr_i32(w, 3);    /* CommittedLeaderEpoch */
        wr_cstr(w, p == 0 ? "meta" : NULL);
        wr_tags(w);
    }
    wr_tags(w);
    wr_tags(w);
}

static const uint8_t *g_batch;
static size_t g_batch_len;

static void produce_body(wr *w)
{
    wr_cstr(w, "my-txn");
    wr_i16(w, -1);
    wr_i32(w, 30000);
    wr_array(w, 1);
    wr_cstr(w, "t");
    wr_array(w, 1);
    wr_i32(w, 0);
    wr_bytes(w, (kslice){g_batch, (int32_t)g_batch_len});
    wr_tags(w);
    wr_tags(w);
    wr_tags(w);
}

static void test_same_layout_versions(void)
{
    uint8_t *batch = NULL;
    static const char *const vals[] = {"hello"};
    g_batch_len = rb_build_simple(&batch, 1, NULL, vals, 1);
    g_batch = batch;
    check_same_layout(API_PRODUCE, 11, 12, produce_body, "Produce v12");
    check_same_layout(API_INIT_PRODUCER_ID, 4, 5, initpid_body, "InitProducerId v5");
    check_same_layout(API_ADD_OFFSETS_TO_TXN, 3, 4, addoffsets_body, "AddOffsetsToTxn v4");
    check_same_layout(API_TXN_OFFSET_COMMIT, 3, 4, txnoffsetcommit_body, "TxnOffsetCommit v4");
    check_same_layout(API_TXN_OFFSET_COMMIT, 3, 5, txnoffsetcommit_body, "TxnOffsetCommit v5");

    /* Field by field at the new versions. */
    wr w;
    rd r;
    arena a;
    req_start(&w, API_PRODUCE, 12);
    produce_body(&w);
    arena_init(&a);
    if (at_body(&w, &r, API_PRODUCE, 12)) {
        produce_req q;
        CHECK_EQ_INT(produce_req_decode(&r, 12, &a, &q), 0);
        body_done(&r);
        CHECK_SLICE(q.transactional_id, "my-txn");
        CHECK_EQ_INT(q.acks, -1);
        CHECK_EQ_INT(q.timeout_ms, 30000);
        if (CHECK_EQ_INT(q.ntopics, 1) && CHECK_EQ_INT(q.topics[0].nparts, 1)) {
            CHECK_SLICE(q.topics[0].name, "t");
            CHECK_EQ_INT(q.topics[0].parts[0].records.len, g_batch_len);
            CHECK_EQ_MEM(q.topics[0].parts[0].records.p, batch, g_batch_len);
        }
    }
    arena_free(&a);
    wr_free(&w);

    req_start(&w, API_INIT_PRODUCER_ID, 5);
    initpid_body(&w);
    arena_init(&a);
    if (at_body(&w, &r, API_INIT_PRODUCER_ID, 5)) {
        initpid_req q;
        CHECK_EQ_INT(initpid_req_decode(&r, 5, &a, &q), 0);
        body_done(&r);
        CHECK_SLICE(q.transactional_id, "tx");
        CHECK_EQ_INT(q.timeout_ms, 60000);
        CHECK_EQ_INT(q.producer_id, 1000);
        CHECK_EQ_INT(q.producer_epoch, 2);
    }
    arena_free(&a);
    wr_free(&w);

    req_start(&w, API_ADD_OFFSETS_TO_TXN, 4);
    addoffsets_body(&w);
    arena_init(&a);
    if (at_body(&w, &r, API_ADD_OFFSETS_TO_TXN, 4)) {
        addoffsets_req q;
        CHECK_EQ_INT(addoffsets_req_decode(&r, 4, &a, &q), 0);
        body_done(&r);
        CHECK_SLICE(q.transactional_id, "tx");
        CHECK_EQ_INT(q.producer_id, 1000);
        CHECK_EQ_INT(q.producer_epoch, 2);
        CHECK_SLICE(q.group_id, "grp");
    }
    arena_free(&a);
    wr_free(&w);

    for (int16_t v = 4; v <= 5; v++) {
        req_start(&w, API_TXN_OFFSET_COMMIT, v);
        txnoffsetcommit_body(&w);
        arena_init(&a);
        if (at_body(&w, &r, API_TXN_OFFSET_COMMIT, v)) {
            txnoffsetcommit_req q;
            CHECK_EQ_INT(txnoffsetcommit_req_decode(&r, v, &a, &q), 0);
            body_done(&r);
            CHECK_SLICE(q.transactional_id, "tx");
            CHECK_SLICE(q.group_id, "grp");
            CHECK_EQ_INT(q.producer_id, 1000);
            CHECK_EQ_INT(q.producer_epoch, 2);
            CHECK_EQ_INT(q.generation_id, 5);
            CHECK_SLICE(q.member_id, "m-1");
            CHECK_SLICE(q.group_instance_id, NULL);
            if (CHECK_EQ_INT(q.ntopics, 1) && CHECK_EQ_INT(q.topics[0].nparts, 2)) {
                CHECK_SLICE(q.topics[0].name, "t");
                CHECK_EQ_INT(q.topics[0].parts[1].index, 1);
                CHECK_EQ_INT(q.topics[0].parts[1].offset, 101);
                CHECK_EQ_INT(q.topics[0].parts[1].leader_epoch, 3);
                CHECK_SLICE(q.topics[0].parts[0].metadata, "meta");
                CHECK_SLICE(q.topics[0].parts[1].metadata, NULL);
            }
        }
        arena_free(&a);
        wr_free(&w);
    }
    free(batch);

    /* Their answers are those of the version below, byte for byte. */
    wr x, y;
    wr_init(&x, 16);
    wr_init(&y, 16);
    x.flex = y.flex = true;
    initpid_resp_encode(&x, 4, KERR_NONE, 1000, 3);
    initpid_resp_encode(&y, 5, KERR_NONE, 1000, 3);
    group_error_resp_encode(&x, API_ADD_OFFSETS_TO_TXN, 3, KERR_PRODUCER_FENCED);
    group_error_resp_encode(&y, API_ADD_OFFSETS_TO_TXN, 4, KERR_PRODUCER_FENCED);
    offset_part op = {0, 100, 3, KSLICE_NULL, KERR_UNKNOWN_MEMBER_ID};
    offset_topic ot = {kslice_cstr("t"), 1, &op};
    offsetcommit_resp_encode(&x, 3, true, &ot, 1);
    offsetcommit_resp_encode(&y, 5, true, &ot, 1);
    produce_part pp = {.index = 0, .base_offset = 5, .log_append_time = -1,
                       .log_start_offset = 0};
    produce_topic pt = {.name = kslice_cstr("t"), .nparts = 1, .parts = &pp};
    produce_req pq = {.ntopics = 1, .topics = &pt};
    produce_resp_encode(&x, 11, &pq);
    produce_resp_encode(&y, 12, &pq);
    CHECK(x.len > 40);
    if (CHECK_EQ_INT(x.len, y.len))
        CHECK_EQ_MEM(x.p, y.p, x.len);
    wr_free(&x);
    wr_free(&y);
}

/* The advertised ranges reach the transactions v2 versions (docs/protocol.md). */
static void test_versions_advertised(void)
{
    static const struct {
        int16_t key, max;
    } want[] = {
        {API_PRODUCE, 13},         {API_INIT_PRODUCER_ID, 5}, {API_ADD_PARTITIONS_TO_TXN, 5},
        {API_ADD_OFFSETS_TO_TXN, 4}, {API_END_TXN, 5},        {API_TXN_OFFSET_COMMIT, 5},
    };
    for (size_t i = 0; i < BROOK_ARRAY_LEN(want); i++) {
        const api_info *a = api_lookup(want[i].key);
        if (!CHECK(a != NULL))
            continue;
        if (!CHECK_EQ_INT(a->max_version, want[i].max))
            printf("  (%s)\n", a->name);
    }
    /* the old minimums stay */
    CHECK_EQ_INT(api_lookup(API_PRODUCE)->min_version, 3);
    CHECK_EQ_INT(api_lookup(API_ADD_PARTITIONS_TO_TXN)->min_version, 0);
    CHECK_EQ_INT(api_lookup(API_END_TXN)->min_version, 0);
    CHECK(!api_version_supported(API_PRODUCE, 14));
}

/* ---- ApiVersions with features ---- */

#define MAX_FEATURES 8
typedef struct parsed_feature {
    char name[40];
    int16_t a, b; /* in wire order: Min, Max (supported) or MaxLevel, MinLevel (finalized) */
} parsed_feature;
typedef struct parsed_apiv {
    int16_t error_code;
    int32_t napis;
    int ntags;
    uint32_t tags[8];
    int nsupported, nfinalized;
    parsed_feature supported[MAX_FEATURES], finalized[MAX_FEATURES];
    int64_t epoch; /* -1 when absent */
} parsed_apiv;

/* A list of features (Name, two int16s, tags) from a tagged field's bytes. */
static bool parse_features(rd *f, parsed_feature *out, int *n)
{
    int32_t k = rd_array(f, 1 + 2 + 2 + 1);
    if (k < 0 || k > MAX_FEATURES)
        return false;
    for (int32_t i = 0; i < k && !f->err; i++) {
        kslice s = rd_str(f);
        if (s.len < 0 || s.len >= (int32_t)sizeof(out[i].name))
            return false;
        memcpy(out[i].name, s.p, (size_t)s.len);
        out[i].name[s.len] = '\0';
        out[i].a = rd_i16(f);
        out[i].b = rd_i16(f);
        rd_tags(f);
    }
    *n = k;
    return !f->err && rd_remaining(f) == 0;
}

/* An ApiVersions body, read by hand from Kafka's ApiVersionsResponse.json. */
static bool parse_apiv(const wr *w, int16_t v, parsed_apiv *p)
{
    memset(p, 0, sizeof(*p));
    p->epoch = -1;
    rd r;
    rd_init(&r, w->p, w->len);
    r.flex = v >= 3;
    p->error_code = rd_i16(&r);
    p->napis = rd_array(&r, 6);
    for (int32_t i = 0; i < p->napis && !r.err; i++) {
        rd_skip(&r, 6);
        rd_tags(&r);
    }
    if (v >= 1)
        (void)rd_i32(&r);
    if (v >= 3) {
        uint32_t n = rd_uvarint(&r);
        for (uint32_t i = 0; i < n && !r.err; i++) {
            uint32_t tag = rd_uvarint(&r);
            uint32_t size = rd_uvarint(&r);
            const uint8_t *bytes = rd_raw(&r, size);
            if (!bytes || p->ntags >= 8)
                return false;
            p->tags[p->ntags++] = tag;
            rd f;
            rd_init(&f, bytes, size);
            f.flex = true;
            bool ok = true;
            if (tag == 0)
                ok = parse_features(&f, p->supported, &p->nsupported);
            else if (tag == 1) {
                p->epoch = rd_i64(&f);
                ok = !f.err && rd_remaining(&f) == 0;
            }
            else if (tag == 2)
                ok = parse_features(&f, p->finalized, &p->nfinalized);
            if (!ok)
                return false;
        }
    }
    return !r.err && rd_remaining(&r) == 0;
}

static void test_apiversions_features(void)
{
    static const apiv_feature supported[] = {
        {"metadata.version", 1, 21}, {"transaction.version", 0, 2}, {"group.version", 0, 1}};
    static const apiv_feature finalized[] = {{"metadata.version", 21, 21},
                                             {"transaction.version", 1, 2}};
    int napis;
    (void)api_table(&napis);

    for (int16_t v = 3; v <= 4; v++) {
        wr w;
        wr_init(&w, 256);
        w.flex = true;
        apiversions_resp_encode_features(&w, v, KERR_NONE, supported, 3, 42, finalized, 2);
        parsed_apiv p;
        if (!CHECK(parse_apiv(&w, v, &p))) {
            wr_free(&w);
            continue;
        }
        CHECK_EQ_INT(p.error_code, 0);
        CHECK_EQ_INT(p.napis, napis);
        /* tags 0, 1, 2 in order */
        if (CHECK_EQ_INT(p.ntags, 3)) {
            CHECK_EQ_INT(p.tags[0], 0);
            CHECK_EQ_INT(p.tags[1], 1);
            CHECK_EQ_INT(p.tags[2], 2);
        }
        CHECK_EQ_INT(p.epoch, 42);
        /* v3: the features with MinVersion 0 are left out (KAFKA-17011); v4: all */
        if (v == 3 && CHECK_EQ_INT(p.nsupported, 1)) {
            CHECK_EQ_STR(p.supported[0].name, "metadata.version");
            CHECK_EQ_INT(p.supported[0].a, 1);
            CHECK_EQ_INT(p.supported[0].b, 21);
        }
        if (v == 4 && CHECK_EQ_INT(p.nsupported, 3)) {
            for (int i = 0; i < 3; i++) {
                CHECK_EQ_STR(p.supported[i].name, supported[i].name);
                CHECK_EQ_INT(p.supported[i].a, supported[i].min);
                CHECK_EQ_INT(p.supported[i].b, supported[i].max);
            }
        }
        /* FinalizedFeatures: MaxVersionLevel before MinVersionLevel; never filtered */
        if (CHECK_EQ_INT(p.nfinalized, 2)) {
            CHECK_EQ_STR(p.finalized[1].name, "transaction.version");
            CHECK_EQ_INT(p.finalized[1].a, 2);
            CHECK_EQ_INT(p.finalized[1].b, 1);
            CHECK_EQ_STR(p.finalized[0].name, "metadata.version");
        }
        wr_free(&w);
    }

    /* The exact bytes of the tags at v4: one supported feature and the epoch. */
    static const apiv_feature tv[] = {{"transaction.version", 0, 2}};
    wr w;
    wr_init(&w, 256);
    w.flex = true;
    apiversions_resp_encode_features(&w, 4, KERR_NONE, tv, 1, 7, NULL, 0);
    bb tail = {.n = 0};
    b32(&tail, 0);  /* ThrottleTimeMs */
    b8(&tail, 2);   /* two tagged fields */
    b8(&tail, 0);   /* SupportedFeatures */
    b8(&tail, 26);  /* its size */
    b8(&tail, 2);   /* one feature */
    bcstr(&tail, "transaction.version");
    b16(&tail, 0);
    b16(&tail, 2);
    b8(&tail, 0);   /* its tags */
    b8(&tail, 1);   /* FinalizedFeaturesEpoch */
    b8(&tail, 8);
    b64(&tail, 7);
    if (CHECK(w.len > tail.n))
        CHECK_EQ_MEM(w.p + w.len - tail.n, tail.b, tail.n);
    wr_free(&w);

    /* At v3 the same feature is left out: nothing but the epoch. */
    wr_init(&w, 256);
    w.flex = true;
    apiversions_resp_encode_features(&w, 3, KERR_NONE, tv, 1, 7, NULL, 0);
    parsed_apiv p;
    if (CHECK(parse_apiv(&w, 3, &p)) && CHECK_EQ_INT(p.ntags, 1)) {
        CHECK_EQ_INT(p.tags[0], 1);
        CHECK_EQ_INT(p.nsupported, 0);
        CHECK_EQ_INT(p.epoch, 7);
    }
    wr_free(&w);

    /* Nothing to send (no features, epoch -1, or only MinVersion 0 ones at v3), and every
     * version below v3: the bytes of apiversions_resp_encode. */
    for (int16_t v = 0; v <= 4; v++) {
        for (int k = 0; k < 2; k++) {
            wr a, b;
            wr_init(&a, 256);
            wr_init(&b, 256);
            a.flex = b.flex = v >= 3;
            apiversions_resp_encode(&a, v, KERR_NONE);
            bool nothing = k == 0 || v < 3;
            if (k == 0)
                apiversions_resp_encode_features(&b, v, KERR_NONE, v == 3 ? tv : NULL,
                                                 v == 3 ? 1 : 0, -1, NULL, 0);
            else
                apiversions_resp_encode_features(&b, v, KERR_NONE, supported, 3, 42,
                                                 finalized, 2);
            if (nothing) {
                if (CHECK_EQ_INT(a.len, b.len))
                    CHECK_EQ_MEM(a.p, b.p, a.len);
                else
                    printf("  (v%d case %d)\n", v, k);
            } else {
                CHECK(b.len > a.len);
            }
            if (v >= 3)
                CHECK_EQ_INT(a.p[a.len - 1], 0); /* no tags */
            wr_free(&a);
            wr_free(&b);
        }
    }
}

TU_MAIN(TU_CASE(test_addparts_v4_v5_requests), TU_CASE(test_addparts_unknown_tags),
        TU_CASE(test_addparts_malformed), TU_CASE(test_addparts_v0_v3_unchanged),
        TU_CASE(test_addparts_v4_v5_responses), TU_CASE(test_addparts_v0_v3_responses),
        TU_CASE(test_endtxn_v4_v5), TU_CASE(test_same_layout_versions),
        TU_CASE(test_versions_advertised), TU_CASE(test_apiversions_features))
