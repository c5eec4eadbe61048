/* test_cluster_view.c - the ZooKeeper znode formats (cluster/view.c) and the inter-broker
 * messages of the cross-node commit (proto/inter_msgs.c): round trips, and every
 * truncation or corruption refused. */
#include <stdlib.h>
#include <string.h>

#include "cluster/view.h"
#include "proto/inter_msgs.h"
#include "testutil.h"

static cv_topic *make_topic(void)
{
    cv_topic *t = calloc(1, sizeof(*t));
    t->name = strdup("orders");
    for (int i = 0; i < 16; i++)
        t->id[i] = (uint8_t)(i * 17);
    t->nparts = 3;
    t->parts = calloc(3, sizeof(cv_part));
    for (int i = 0; i < 3; i++) {
        t->parts[i].nreplicas = 1;
        t->parts[i].replicas = calloc(1, sizeof(int32_t));
        t->parts[i].replicas[0] = i + 1;
        t->parts[i].leader = i == 2 ? -1 : i + 1;
        t->parts[i].leader_epoch = i * 5;
    }
    t->nconfigs = 1;
    t->config_keys = calloc(1, sizeof(char *));
    t->config_values = calloc(1, sizeof(char *));
    t->config_keys[0] = strdup("retention.ms");
    t->config_values[0] = strdup("1000");
    return t;
}

static void test_topic_and_state_round_trip(void)
{
    cv_topic *t = make_topic();
    char *tj = cv_topic_json(t);
    char *sj = cv_state_json(t, 7);
    CHECK(tj != NULL && sj != NULL);
    cv_topic *u = calloc(1, sizeof(*u));
    CHECK_EQ_INT(cv_topic_parse(tj, strlen(tj), u), 0);
    CHECK_EQ_INT(u->nparts, 3);
    CHECK(memcmp(u->id, t->id, 16) == 0);
    CHECK_EQ_INT(u->parts[1].replicas[0], 2);
    CHECK_EQ_INT(u->parts[1].leader, -1); /* no state read yet */
    CHECK_EQ_INT(u->state_version, -1);
    CHECK_EQ_INT(u->nconfigs, 1);
    CHECK(strcmp(u->config_values[0], "1000") == 0);
    CHECK_EQ_INT(cv_state_parse(sj, strlen(sj), u), 0);
    CHECK_EQ_INT(u->state_controller_epoch, 7);
    CHECK_EQ_INT(u->parts[1].leader, 2);
    CHECK_EQ_INT(u->parts[2].leader, -1);
    CHECK_EQ_INT(u->parts[2].leader_epoch, 10);
    /* Every strict prefix is refused (bounded, unterminated input). */
    for (size_t n = 0; n < strlen(tj); n++) {
        cv_topic *v = calloc(1, sizeof(*v));
        CHECK(cv_topic_parse(tj, n, v) != 0);
        cv_topic_free(v);
    }
    for (size_t n = 0; n < strlen(sj); n++)
        CHECK(cv_state_parse(sj, n, u) != 0);
    cv_topic_free(u);
    cv_topic_free(t);
    free(tj);
    free(sj);
}

static void test_bad_znodes_refused(void)
{
    const char *bad[] = {
        "[]", "{}", "{\"id\":\"zz\",\"replicas\":[[1]]}",
        "{\"id\":\"000102030405060708090a0b0c0d0e0f\",\"replicas\":[]}",
        "{\"id\":\"000102030405060708090a0b0c0d0e0f\",\"replicas\":[[\"x\"]]}",
        "{\"id\":\"000102030405060708090a0b0c0d0e0f\",\"replicas\":[[-4]]}",
        "{\"id\":\"000102030405060708090a0b0c0d0e0f\",\"replicas\":[[1]],\"configs\":{\"a\":1}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cv_topic *t = calloc(1, sizeof(*t));
        CHECK(cv_topic_parse(bad[i], strlen(bad[i]), t) != 0);
        cv_topic_free(t);
    }
    cv_topic *t = make_topic();
    const char *st = "{\"controller_epoch\":1,\"partitions\":[{\"leader\":1,\"leader_epoch\":-3}]}";
    CHECK(cv_state_parse(st, strlen(st), t) != 0);
    st = "{\"controller_epoch\":1,\"partitions\":[{},{},{},{}]}"; /* more than the topic has */
    CHECK(cv_state_parse(st, strlen(st), t) != 0);
    cv_topic_free(t);
    cv_broker b = {0};
    const char *bp = "{\"id\":1,\"host\":\"h\",\"port\":70000}";
    CHECK(cv_broker_parse(bp, strlen(bp), &b) != 0);
    char *bj = cv_broker_json(&(cv_broker){.id = 4, .host = "127.0.0.1", .port = 9092, .incarnation = "abc"});
    CHECK_EQ_INT(cv_broker_parse(bj, strlen(bj), &b), 0);
    CHECK_EQ_INT(b.id, 4);
    CHECK_EQ_INT(b.port, 9092);
    CHECK(strcmp(b.incarnation, "abc") == 0);
    free(b.host);
    free(b.incarnation);
    free(bj);
    int32_t id, epoch;
    char *cj = cv_controller_json(3, 9);
    CHECK_EQ_INT(cv_controller_parse(cj, strlen(cj), &id, &epoch), 0);
    CHECK_EQ_INT(id, 3);
    CHECK_EQ_INT(epoch, 9);
    free(cj);
}

/* A registration lists every listener ("endpoints", Kafka's NAME://host:port strings); the
 * view keeps them per broker and finds one by listener name; malformed entries are dropped
 * and an older registration without any still parses. */
static void test_registration_endpoints(void)
{
    cv_endpoint eps[2] = {{"CLIENT", "10.0.0.1", 9092}, {"INTERNAL", "192.168.1.1", 19092}};
    cv_broker in = {.id = 1, .host = "192.168.1.1", .port = 19092, .incarnation = "i",
                    .eps = eps, .neps = 2};
    char *j = cv_broker_json(&in);
    CHECK(j && strstr(j, "\"CLIENT://10.0.0.1:9092\"") != NULL);
    cv_broker b = {0};
    CHECK_EQ_INT(cv_broker_parse(j, strlen(j), &b), 0);
    CHECK_EQ_INT(b.neps, 2);
    CHECK_EQ_STR(b.eps[1].name, "INTERNAL");
    CHECK_EQ_STR(b.eps[1].host, "192.168.1.1");
    CHECK_EQ_INT(b.eps[1].port, 19092);
    CHECK_EQ_INT(b.port, 19092);
    cluster_view *v = cv_new();
    CHECK_EQ_INT(cv_add_broker(v, 1, b.host, b.port, b.incarnation), 0);
    CHECK_EQ_INT(cv_broker_set_endpoints(v, 1, b.eps, b.neps), 0);
    const cv_broker *vb = cv_broker_find(v, 1);
    const cv_endpoint *e = cv_broker_endpoint(vb, "CLIENT");
    CHECK(e && e->port == 9092 && strcmp(e->host, "10.0.0.1") == 0);
    CHECK(cv_broker_endpoint(vb, "client") == NULL); /* names are case-sensitive */
    CHECK(cv_broker_endpoint(vb, "SSL") == NULL);
    CHECK(cv_broker_endpoint(vb, NULL) == NULL);
    cv_unref(v);
    cv_broker_clear(&b);
    CHECK(b.eps == NULL && b.neps == 0);
    free(j);
    const char *mixed = "{\"id\":2,\"host\":\"h\",\"port\":1,\"endpoints\":[\"A://h:1\","
                        "7,\"nosep\",\"://h:1\",\"B://h:0\",\"C://h:70000\",\"D://h:\","
                        "\"E://:5\",\"F://x:2\"]}";
    CHECK_EQ_INT(cv_broker_parse(mixed, strlen(mixed), &b), 0);
    CHECK_EQ_INT(b.neps, 3); /* A, E (an empty host: the listener binds every address), F */
    CHECK_EQ_STR(b.eps[0].name, "A");
    CHECK_EQ_STR(b.eps[2].name, "F");
    cv_broker_clear(&b);
    const char *old = "{\"id\":3,\"host\":\"h\",\"port\":1,\"endpoints\":\"x\"}";
    CHECK_EQ_INT(cv_broker_parse(old, strlen(old), &b), 0);
    CHECK_EQ_INT(b.neps, 0);
    cv_broker_clear(&b);
}

static void test_view_lookups(void)
{
    cluster_view *v = cv_new();
    cv_add_broker(v, 3, "h3", 3, "");
    cv_add_broker(v, 1, "h1", 1, "");
    cv_add_broker(v, 2, "h2", 2, "");
    CHECK_EQ_INT(v->brokers[0].id, 1);
    CHECK_EQ_INT(v->brokers[2].id, 3);
    cv_topic *t = make_topic();
    HASH_ADD_KEYPTR(hh, v->topics, t->name, strlen(t->name), t);
    CHECK_EQ_INT(cv_leader(v, "orders", 0), 1);
    CHECK_EQ_INT(cv_leader(v, "orders", 2), -1);
    CHECK_EQ_INT(cv_leader(v, "orders", 3), -1);
    CHECK_EQ_INT(cv_leader(v, "nope", 0), -1);
    /* Partition i's one replica is node i + 1 (make_topic). */
    CHECK(cv_is_replica(v, "orders", 0, 1));
    CHECK(!cv_is_replica(v, "orders", 0, 2));
    CHECK(cv_is_replica(v, "orders", 1, 2));
    CHECK(!cv_is_replica(v, "orders", 3, 1)); /* no such partition */
    CHECK(!cv_is_replica(v, "nope", 0, 1));
    CHECK(cv_broker_find(v, 2) != NULL && cv_broker_find(v, 9) == NULL);
    cv_ref(v);
    cv_unref(v);
    CHECK(cv_topic_find(v, "orders", 6) == t); /* still alive: one reference left */
    cv_unref(v);
}

/* The stand-in FindCoordinator names while a partition has no live leader: a live ISR
 * member first (replica order), then a live ELR member, then any live replica; nodes in
 * controlled shutdown last; -1 when no replica is live. */
static void test_likely_leader(void)
{
    cluster_view *v = cv_new();
    cv_add_broker(v, 2, "h2", 2, "");
    cv_add_broker(v, 3, "h3", 3, "");
    cv_add_broker(v, 4, "h4", 4, "");
    cv_topic *t = make_topic();
    cv_part *p = &t->parts[0]; /* replicas 1 (dead), 4, 3, 2 */
    free(p->replicas);
    p->replicas = calloc(4, sizeof(int32_t));
    p->nreplicas = 4;
    memcpy(p->replicas, (int32_t[]){1, 4, 3, 2}, 4 * sizeof(int32_t));
    p->leader = 1;
    HASH_ADD_KEYPTR(hh, v->topics, t->name, strlen(t->name), t);
    repl_set_add(&p->isr, 1);
    repl_set_add(&p->isr, 2);
    repl_set_add(&p->isr, 3);
    CHECK_EQ_INT(cv_likely_leader(v, "orders", 0), 3); /* live ISR member first in order */
    cv_broker_set_shutting_down(v, 3, true);
    CHECK_EQ_INT(cv_likely_leader(v, "orders", 0), 2); /* 3 is leaving */
    repl_set_remove(&p->isr, 2);
    repl_set_add(&p->elr, 2);
    CHECK_EQ_INT(cv_likely_leader(v, "orders", 0), 2); /* ELR before a leaving ISR member */
    repl_set_remove(&p->elr, 2);
    CHECK_EQ_INT(cv_likely_leader(v, "orders", 0), 4); /* any live replica before it */
    repl_set_remove(&p->isr, 3);
    CHECK_EQ_INT(cv_likely_leader(v, "orders", 0), 4);
    /* Partition 1's one replica, node 2, is live; partition 2's, node 3, is leaving. */
    CHECK_EQ_INT(cv_likely_leader(v, "orders", 1), 2);
    CHECK_EQ_INT(cv_likely_leader(v, "orders", 2), 3);
    t->parts[1].replicas[0] = 9; /* not a live broker */
    CHECK_EQ_INT(cv_likely_leader(v, "orders", 1), -1);
    CHECK_EQ_INT(cv_likely_leader(v, "orders", 3), -1);
    CHECK_EQ_INT(cv_likely_leader(v, "nope", 0), -1);
    cv_unref(v);
}

/* Encodes with enc, then checks the decoder accepts the whole and refuses every prefix. */
static void check_prefixes(const wr *w, int (*dec)(rd *, arena *, void *))
{
    for (size_t n = 0; n <= w->len; n++) {
        arena a;
        arena_init(&a);
        rd r;
        rd_init(&r, w->p, n);
        int rc = dec(&r, &a, NULL);
        CHECK(n == w->len ? rc == 0 : rc != 0);
        arena_free(&a);
    }
}

static int dec_markers(rd *r, arena *a, void *unused)
{
    (void)unused;
    txn_markers_req q;
    return txn_markers_req_decode(r, a, &q);
}

static int dec_markers_resp(rd *r, arena *a, void *unused)
{
    (void)unused;
    txn_markers_req q;
    return txn_markers_resp_decode(r, a, &q);
}

static int dec_prepare(rd *r, arena *a, void *unused)
{
    (void)unused;
    txn_prepare_req q;
    return txn_prepare_req_decode(r, a, &q, 0);
}

static int dec_prepare_v1(rd *r, arena *a, void *unused)
{
    (void)unused;
    txn_prepare_req q;
    return txn_prepare_req_decode(r, a, &q, 1);
}

static int dec_prepares_v2(rd *r, arena *a, void *unused)
{
    (void)unused;
    txn_prepares_req q;
    return txn_prepares_req_decode(r, a, &q, 2);
}

static int dec_prepares_v2_resp(rd *r, arena *a, void *unused)
{
    (void)unused;
    txn_prepares_req q;
    return txn_prepares_resp_decode(r, a, &q, 2);
}

static int dec_status_resp(rd *r, arena *a, void *unused)
{
    (void)unused;
    (void)a;
    txn_status_req q;
    return txn_status_resp_decode(r, &q);
}

static void test_inter_messages(void)
{
    inter_tp tps[3] = {{kslice_cstr("a"), 0, 0}, {kslice_cstr("a"), 2, 6}, {kslice_cstr("b"), 1, 0}};
    txn_marker_entry m = {77, 3, true, 5, 3, tps, 0};
    txn_markers_req q = {1, &m};
    wr w;
    wr_init(&w, 64);
    txn_markers_req_encode(&w, &q);
    arena a;
    arena_init(&a);
    rd r;
    rd_init(&r, w.p, w.len);
    txn_markers_req d;
    CHECK_EQ_INT(txn_markers_req_decode(&r, &a, &d), 0);
    CHECK_EQ_INT(d.nmarkers, 1);
    CHECK_EQ_INT(d.markers[0].pid, 77);
    CHECK_EQ_INT(d.markers[0].epoch, 3);
    CHECK(d.markers[0].commit);
    CHECK_EQ_INT(d.markers[0].coordinator_epoch, 5);
    CHECK_EQ_INT(d.markers[0].ntps, 3);
    CHECK_EQ_INT(d.markers[0].tps[1].partition, 2);
    CHECK(kslice_eq_cstr(d.markers[0].tps[2].topic, "b"));
    check_prefixes(&w, dec_markers);
    wr_free(&w);
    wr_init(&w, 64);
    txn_markers_resp_encode(&w, &q);
    rd_init(&r, w.p, w.len);
    CHECK_EQ_INT(txn_markers_resp_decode(&r, &a, &d), 0);
    CHECK_EQ_INT(d.markers[0].tps[1].error, 6);
    check_prefixes(&w, dec_markers_resp);
    wr_free(&w);

    /* v1 (flexible): the transaction sequence rides in Brook's tag. */
    m.txn_seq = 1234567;
    wr_init(&w, 64);
    w.flex = true;
    txn_markers_req_encode(&w, &q);
    rd_init(&r, w.p, w.len);
    r.flex = true;
    CHECK_EQ_INT(txn_markers_req_decode(&r, &a, &d), 0);
    CHECK_EQ_INT(d.markers[0].txn_seq, 1234567);
    CHECK_EQ_INT(d.markers[0].ntps, 3);
    for (size_t n = 0; n < w.len; n++) {
        rd_init(&r, w.p, n);
        r.flex = true;
        CHECK(txn_markers_req_decode(&r, &a, &d) != 0);
    }
    wr_free(&w);
    wr_init(&w, 64);
    w.flex = true;
    txn_markers_resp_encode(&w, &q);
    rd_init(&r, w.p, w.len);
    r.flex = true;
    CHECK_EQ_INT(txn_markers_resp_decode(&r, &a, &d), 0);
    CHECK_EQ_INT(d.markers[0].tps[1].error, 6);
    wr_free(&w);

    txn_prepare_req p = {kslice_cstr("tx"), 99, 1, 3, tps, 0, 7};
    wr_init(&w, 64);
    txn_prepare_req_encode(&w, &p, 0);
    txn_prepare_req pd;
    rd_init(&r, w.p, w.len);
    CHECK_EQ_INT(txn_prepare_req_decode(&r, &a, &pd, 0), 0);
    CHECK(kslice_eq_cstr(pd.txn_id, "tx"));
    CHECK_EQ_INT(pd.ntps, 3);
    CHECK_EQ_INT(pd.coordinator_epoch, -1); /* v0 has none */
    check_prefixes(&w, dec_prepare);
    size_t v0_len = w.len;
    wr_free(&w);

    /* BrookPrepareTxn v1: the coordinator epoch follows the producer epoch. */
    wr_init(&w, 64);
    txn_prepare_req_encode(&w, &p, 1);
    CHECK_EQ_INT(w.len, v0_len + 4);
    rd_init(&r, w.p, w.len);
    CHECK_EQ_INT(txn_prepare_req_decode(&r, &a, &pd, 1), 0);
    CHECK_EQ_INT(pd.pid, 99);
    CHECK_EQ_INT(pd.epoch, 1);
    CHECK_EQ_INT(pd.coordinator_epoch, 7);
    CHECK_EQ_INT(pd.ntps, 3);
    CHECK(kslice_eq_cstr(pd.tps[2].topic, "b"));
    check_prefixes(&w, dec_prepare_v1);
    rd_init(&r, w.p, w.len);
    CHECK(txn_prepare_req_decode(&r, &a, &pd, 0) != 0); /* v1 bytes are not v0 */
    wr_free(&w);

    /* BrookPrepareTxn v2: many transactions, each as in v1; the answer one entry each. */
    txn_prepare_req two[2] = {p, {kslice_cstr("ty"), 100, 0, 1, tps + 2, 0, 8}};
    txn_prepares_req ps = {2, two}, psd;
    wr_init(&w, 64);
    txn_prepares_req_encode(&w, &ps, 2);
    rd_init(&r, w.p, w.len);
    CHECK_EQ_INT(txn_prepares_req_decode(&r, &a, &psd, 2), 0);
    CHECK_EQ_INT(psd.ntxns, 2);
    CHECK(kslice_eq_cstr(psd.txns[0].txn_id, "tx") && kslice_eq_cstr(psd.txns[1].txn_id, "ty"));
    CHECK_EQ_INT(psd.txns[0].ntps, 3);
    CHECK_EQ_INT(psd.txns[1].ntps, 1);
    CHECK_EQ_INT(psd.txns[1].pid, 100);
    CHECK_EQ_INT(psd.txns[1].coordinator_epoch, 8);
    CHECK(kslice_eq_cstr(psd.txns[1].tps[0].topic, "b"));
    CHECK_EQ_INT(psd.txns[1].tps[0].partition, tps[2].partition);
    check_prefixes(&w, dec_prepares_v2);
    wr_free(&w);
    /* v0 and v1 through the same calls: exactly one transaction, v1's bytes. */
    wr_init(&w, 64);
    txn_prepares_req one = {1, &p};
    txn_prepares_req_encode(&w, &one, 1);
    rd_init(&r, w.p, w.len);
    CHECK_EQ_INT(txn_prepare_req_decode(&r, &a, &pd, 1), 0);
    CHECK_EQ_INT(pd.coordinator_epoch, 7);
    rd_init(&r, w.p, w.len);
    CHECK_EQ_INT(txn_prepares_req_decode(&r, &a, &psd, 1), 0);
    CHECK_EQ_INT(psd.ntxns, 1);
    CHECK_EQ_INT(psd.txns[0].ntps, 3);
    wr_free(&w);
    two[0].error = 0;
    two[1].error = 51; /* CONCURRENT_TRANSACTIONS: a top-level error of the second */
    tps[0].error = 6;
    wr_init(&w, 64);
    txn_prepares_resp_encode(&w, &ps, 2);
    rd_init(&r, w.p, w.len);
    CHECK_EQ_INT(txn_prepares_resp_decode(&r, &a, &psd, 2), 0);
    CHECK_EQ_INT(psd.ntxns, 2);
    CHECK_EQ_INT(psd.txns[0].error, 0);
    CHECK_EQ_INT(psd.txns[0].tps[0].error, 6);
    CHECK_EQ_INT(psd.txns[1].error, 51);
    check_prefixes(&w, dec_prepares_v2_resp);
    wr_free(&w);
    tps[0].error = 0;

    txn_status_req s = {99, 1, 0, TXN_OUTCOME_COMMIT, 2};
    wr_init(&w, 16);
    txn_status_resp_encode(&w, &s);
    txn_status_req sd;
    rd_init(&r, w.p, w.len);
    CHECK_EQ_INT(txn_status_resp_decode(&r, &sd), 0);
    CHECK_EQ_INT(sd.outcome, TXN_OUTCOME_COMMIT);
    CHECK_EQ_INT(sd.marker_epoch, 2);
    check_prefixes(&w, dec_status_resp);
    w.p[2] = 9; /* an outcome that does not exist */
    rd_init(&r, w.p, w.len);
    CHECK(txn_status_resp_decode(&r, &sd) != 0);
    wr_free(&w);
    arena_free(&a);
}

TU_MAIN(TU_CASE(test_topic_and_state_round_trip), TU_CASE(test_bad_znodes_refused),
        TU_CASE(test_view_lookups), TU_CASE(test_likely_leader), TU_CASE(test_inter_messages),
        TU_CASE(test_registration_endpoints))
