/* h_txn.c - FindCoordinator, InitProducerId, AddPartitionsToTxn, EndTxn.
 * Transactional requests park until the transaction service answers through txn_reply();
 * the token it carries is the request's own context, or (a join this node asks for itself:
 * a Produce or TxnOffsetCommit adding its participant, KIP-890) a callback. */
#include <string.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"
#include "broker/broker.h"
#include "cluster/view.h"
#include "proto/ident.h"
#include "proto/errors.h"
#include "proto/msgs.h"
#include "txn/pid_alloc.h"

typedef struct txn_pending {
    req_ctx *c;
    addparts_req ap;    /* AddPartitionsToTxn: echoed with the result */
    int64_t arrival_us; /* for the EndTxn latency histogram (/metrics) */
    txn_join_cb done;   /* set: no request to answer, call this instead */
    void *arg;
} txn_pending;

static void finish(req_ctx *c)
{
    resp_end(&c->nr->resp);
    net_request_done(c->nr);
}

/* PRODUCER_FENCED exists only from InitProducerId v4 and AddPartitions/EndTxn v2; older
 * clients (kafkajs) know it as INVALID_PRODUCER_EPOCH. */
static int16_t map_fenced(const req_ctx *c, int16_t err)
{
    if (err != KERR_PRODUCER_FENCED)
        return err;
    int16_t v = c->h.api_version;
    bool knows = c->h.api_key == API_INIT_PRODUCER_ID ? v >= 4 : v >= 2;
    return knows ? err : KERR_INVALID_PRODUCER_EPOCH;
}

static char *txn_id_cstr(req_ctx *c, kslice id)
{
    return id.len > 0 ? ident_decode(&c->nr->arena, id) : NULL;
}

void txn_reply(void *ctx, txn_req req, int kind, int16_t error, int64_t pid, int16_t epoch)
{
    BROOK_UNUSED(ctx);
    BROOK_UNUSED(kind);
    txn_pending *tp = (txn_pending *)(uintptr_t)req;
    if (tp->done) {
        tp->done(tp->arg, error);
        return;
    }
    req_ctx *c = tp->c;
    error = map_fenced(c, error);
    resp_begin(&c->nr->resp, &c->h);
    switch (c->h.api_key) {
    case API_INIT_PRODUCER_ID:
        if (error != KERR_NONE)
            pid = -1, epoch = -1;
        initpid_resp_encode(&c->nr->resp, c->h.api_version, error, pid, epoch);
        break;
    case API_ADD_PARTITIONS_TO_TXN:
        for (int32_t i = 0; i < tp->ap.ntopics; i++)
            for (int32_t k = 0; k < tp->ap.topics[i].nparts; k++)
                tp->ap.topics[i].errors[k] = error;
        addparts_resp_encode(&c->nr->resp, c->h.api_version, &tp->ap);
        break;
    case API_END_TXN:
        if (error != KERR_NONE)
            pid = -1, epoch = -1;
        endtxn_resp_encode(&c->nr->resp, c->h.api_version, error, pid, epoch);
        break;
    default:
        error_only_resp_encode(&c->nr->resp, c->h.api_version, error);
        break;
    }
    if (c->h.api_key == API_END_TXN)
        metrics_hist_observe(&c->b->end_txn_latency,
                             (double)(clock_mono_us() - tp->arrival_us) / 1e6);
    finish(c);
}

txn_pending *txn_pending_new(req_ctx *c)
{
    txn_pending *tp = arena_alloc(&c->nr->arena, sizeof(*tp));
    if (tp) {
        memset(tp, 0, sizeof(*tp));
        tp->c = c;
        tp->arrival_us = clock_mono_us();
    }
    return tp;
}

txn_pending *txn_pending_join(arena *a, txn_join_cb done, void *arg)
{
    txn_pending *tp = arena_alloc(a, sizeof(*tp));
    if (tp) {
        memset(tp, 0, sizeof(*tp));
        tp->done = done;
        tp->arg = arg;
    }
    return tp;
}

/* The coordinator of one key: this node on its own; in a cluster the leader of the key's
 * internal partition (docs/cluster.md). */
static findcoord_resp find_coordinator(req_ctx *c, int8_t key_type, kslice key)
{
    findcoord_resp m = {.node_id = -1, .host = "", .port = -1, .key = key};
    if (key_type == 2 && c->h.api_version >= 6) {
        /* v6 names share groups (KIP-932); Brook has none, and answers as a Kafka node
         * without a share coordinator does. */
        m.error_code = KERR_COORDINATOR_NOT_AVAILABLE;
        m.error_message = "share groups (KIP-932) are not served";
    } else if (key_type != 0 && key_type != 1) {
        m.error_code = KERR_INVALID_REQUEST;
        m.error_message = "unsupported coordinator key type";
    } else if (key.len <= 0) {
        m.error_code = KERR_INVALID_REQUEST;
        m.error_message = "empty coordinator key";
    } else if (!broker_may_slice(c, ACL_OP_DESCRIBE, key_type == 1 ? ACL_RES_TXN_ID : ACL_RES_GROUP,
                                 key)) {
        m.error_code = key_type == 1 ? KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED
                                     : KERR_GROUP_AUTHORIZATION_FAILED;
    } else if (!broker_clustered(c->b)) {
        m.node_id = c->b->cfg.node_id;
        broker_self_address(c, &m.host, &m.port);
    } else {
        int32_t node;
        m.error_code = cluster_coordinator_named(c->b, key_type == 1, key, &node);
        const cv_broker *br = m.error_code == KERR_NONE ? cv_broker_find(c->b->view, node) : NULL;
        if (br) {
            md_broker at = broker_node_address(c, br);
            m.node_id = br->id;
            m.host = arena_strndup(&c->nr->arena, at.host, strlen(at.host));
            m.port = at.port;
        } else {
            m.error_code = KERR_COORDINATOR_NOT_AVAILABLE;
        }
    }
    return m;
}

void handle_find_coordinator(req_ctx *c)
{
    findcoord_req q;
    if (findcoord_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0) {
        broker_reply_malformed(c, "FindCoordinator");
        return;
    }
    findcoord_resp *m = arena_alloc(&c->nr->arena, sizeof(*m) * (size_t)(q.nkeys + 1));
    if (!m) {
        net_request_fail(c->nr, "out of memory");
        return;
    }
    for (int32_t i = 0; i < q.nkeys; i++)
        m[i] = find_coordinator(c, q.key_type, q.keys[i]);
    if (q.nkeys == 0) /* v4 with no keys: an empty answer */
        m[0] = (findcoord_resp){.node_id = -1, .port = -1};
    resp_begin(&c->nr->resp, &c->h);
    findcoord_resp_encode(&c->nr->resp, c->h.api_version, m, q.nkeys);
    finish(c);
}

void handle_init_producer_id(req_ctx *c)
{
    initpid_req q;
    if (initpid_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0) {
        broker_reply_malformed(c, "InitProducerId");
        return;
    }
    broker *b = c->b;
    if (q.transactional_id.len < 0) {
        /* Idempotent producer: a fresh id (durably allocated), epoch 0. Kafka's rule: allowed
         * with IDEMPOTENT_WRITE on the cluster or WRITE on some topic. */
        bool may = broker_may_any(c, ACL_OP_WRITE, ACL_RES_TOPIC) ||
                   broker_may_cluster(c, ACL_OP_IDEMPOTENT_WRITE);
        int64_t pid = may ? txn_service_new_pid(&b->txn) : -1;
        resp_begin(&c->nr->resp, &c->h);
        initpid_resp_encode(&c->nr->resp, c->h.api_version,
                            !may      ? KERR_CLUSTER_AUTHORIZATION_FAILED
                            : pid < 0 ? KERR_COORDINATOR_NOT_AVAILABLE
                                      : KERR_NONE,
                            pid, pid < 0 ? -1 : 0);
        finish(c);
        return;
    }
    txn_pending *tp = txn_pending_new(c);
    char *id = txn_id_cstr(c, q.transactional_id);
    int16_t cerr = id ? broker_coord_error(c, true, q.transactional_id, ACL_OP_WRITE) : KERR_NONE;
    if (!tp || !id || cerr != KERR_NONE) {
        resp_begin(&c->nr->resp, &c->h);
        initpid_resp_encode(&c->nr->resp, c->h.api_version, id ? cerr : KERR_INVALID_REQUEST,
                            -1, -1);
        finish(c);
        return;
    }
    /* An expected producer id we never allocated (@platformatic/kafka sends 0/0) means
     * "no expectation". */
    int64_t exp_pid = q.producer_id >= PID_ALLOC_FIRST ? q.producer_id : -1;
    int16_t exp_epoch = exp_pid >= 0 ? q.producer_epoch : -1;
    txn_service_init_pid(&b->txn, (txn_req)(uintptr_t)tp, id, q.timeout_ms, exp_pid, exp_epoch,
                         clock_wall_ms());
}

/* AddPartitionsToTxn v4+: what other brokers send (KIP-890), several transactions in one
 * request, each verified (VerifyOnly) or added; answered once every addition is durable. */
typedef struct addparts_batch {
    req_ctx *c;
    addparts_req *q;
    int outstanding; /* additions not answered yet, + 1 while they are being asked */
} addparts_batch;

typedef struct addparts_one {
    addparts_batch *batch;
    addparts_txn *t;
} addparts_one;

static void set_txn_errors(addparts_txn *t, int16_t err, bool only_unset)
{
    for (int32_t i = 0; i < t->ntopics; i++)
        for (int32_t k = 0; k < t->topics[i].nparts; k++)
            if (!only_unset || t->topics[i].errors[k] == KERR_NONE)
                t->topics[i].errors[k] = err;
    for (int32_t g = 0; g < t->ngroups; g++)
        if (!only_unset || t->group_errors[g] == KERR_NONE)
            t->group_errors[g] = err;
}

static void batch_release(addparts_batch *bt)
{
    if (--bt->outstanding > 0)
        return;
    req_ctx *c = bt->c;
    resp_begin(&c->nr->resp, &c->h);
    addparts_resp_encode(&c->nr->resp, c->h.api_version, bt->q);
    finish(c);
}

static void batch_added(void *arg, int16_t error)
{
    addparts_one *one = arg;
    set_txn_errors(one->t, error, false);
    batch_release(one->batch);
}

/* Checks one transaction of the batch, then verifies it here or hands the addition to the
 * transaction service. */
static void batch_one(addparts_batch *bt, addparts_txn *t)
{
    req_ctx *c = bt->c;
    broker *b = c->b;
    char *id = txn_id_cstr(c, t->transactional_id);
    int16_t cerr = id ? cluster_coordinator_error(b, true, t->transactional_id)
                      : KERR_INVALID_REQUEST;
    if (cerr == KERR_NONE && !b->txn_started)
        cerr = KERR_COORDINATOR_NOT_AVAILABLE;
    if (cerr != KERR_NONE) {
        set_txn_errors(t, cerr, false);
        return;
    }
    int total = t->ngroups;
    bool bad = false;
    for (int32_t i = 0; i < t->ntopics; i++)
        for (int32_t k = 0; k < t->topics[i].nparts; k++) {
            int16_t err;
            topic *tp = md_find(&b->md, t->topics[i].name);
            broker_partition(b, t->topics[i].name, t->topics[i].parts[k], &err);
            if (tp && tp->internal)
                err = KERR_INVALID_TOPIC_EXCEPTION;
            t->topics[i].errors[k] = err;
            bad |= err != KERR_NONE;
            total++;
        }
    for (int32_t g = 0; g < t->ngroups; g++) {
        t->group_errors[g] = t->groups[g].len > 0 ? KERR_NONE : KERR_INVALID_GROUP_ID;
        bad |= t->group_errors[g] != KERR_NONE;
    }
    if (bad) {
        set_txn_errors(t, KERR_OPERATION_NOT_ATTEMPTED, true);
        return;
    }
    arena *a = &c->nr->arena;
    if (t->verify_only) {
        for (int32_t i = 0; i < t->ntopics; i++) {
            char *name = arena_strndup(a, t->topics[i].name.p, (size_t)t->topics[i].name.len);
            for (int32_t k = 0; k < t->topics[i].nparts; k++)
                t->topics[i].errors[k] =
                    name ? cluster_txn_verify_local(b, t->producer_id, t->producer_epoch, name,
                                                    t->topics[i].parts[k])
                         : KERR_UNKNOWN_SERVER_ERROR;
        }
        for (int32_t g = 0; g < t->ngroups; g++) {
            char *gid = arena_strndup(a, t->groups[g].p, (size_t)t->groups[g].len);
            t->group_errors[g] = gid ? cluster_group_txn_check(b, t->producer_id,
                                                               t->producer_epoch, gid)
                                     : KERR_UNKNOWN_SERVER_ERROR;
        }
        return;
    }
    txn_participant *parts = arena_alloc(a, sizeof(*parts) * (size_t)(total + 1));
    addparts_one *one = arena_alloc(a, sizeof(*one));
    txn_pending *tp = one ? txn_pending_join(a, batch_added, one) : NULL;
    if (!parts || !tp) {
        set_txn_errors(t, KERR_UNKNOWN_SERVER_ERROR, false);
        return;
    }
    *one = (addparts_one){bt, t};
    int n = 0;
    for (int32_t i = 0; i < t->ntopics; i++) {
        char *name = arena_strndup(a, t->topics[i].name.p, (size_t)t->topics[i].name.len);
        for (int32_t k = 0; k < t->topics[i].nparts; k++)
            parts[n++] = (txn_participant){TXN_PART_PARTITION, name, t->topics[i].parts[k],
                                           false};
    }
    for (int32_t g = 0; g < t->ngroups; g++)
        parts[n++] = (txn_participant){TXN_PART_GROUP,
                                       arena_strndup(a, t->groups[g].p, (size_t)t->groups[g].len),
                                       -1, false};
    for (int i = 0; i < n; i++)
        if (!parts[i].name) {
            set_txn_errors(t, KERR_UNKNOWN_SERVER_ERROR, false);
            return;
        }
    bt->outstanding++;
    txn_service_add(&b->txn, (txn_req)(uintptr_t)tp, id, t->producer_id, t->producer_epoch,
                    parts, n, clock_wall_ms());
}

static void handle_addparts_batch(req_ctx *c, addparts_req *q)
{
    addparts_batch *bt = arena_alloc(&c->nr->arena, sizeof(*bt));
    if (!bt) {
        net_request_fail(c->nr, "out of memory");
        return;
    }
    *bt = (addparts_batch){c, q, 1};
    /* v4+ is what brokers send each other (KIP-890): CLUSTER_ACTION, as in Kafka */
    bool may = broker_may_cluster(c, ACL_OP_CLUSTER_ACTION);
    q->error_code = may ? KERR_NONE : KERR_CLUSTER_AUTHORIZATION_FAILED;
    for (int32_t i = 0; i < q->ntxns && q->error_code == KERR_NONE; i++)
        batch_one(bt, &q->txns[i]);
    batch_release(bt);
}

void handle_add_partitions_to_txn(req_ctx *c)
{
    txn_pending *tp = txn_pending_new(c);
    if (!tp || addparts_req_decode(&c->body, c->h.api_version, &c->nr->arena, &tp->ap) != 0) {
        broker_reply_malformed(c, "AddPartitionsToTxn");
        return;
    }
    if (c->h.api_version >= 4) {
        handle_addparts_batch(c, &tp->ap);
        return;
    }
    addparts_req *q = &tp->ap;
    broker *b = c->b;
    int total = 0;
    bool unknown = false;
    for (int32_t i = 0; i < q->ntopics; i++) {
        bool topic_ok = broker_may_slice(c, ACL_OP_WRITE, ACL_RES_TOPIC, q->topics[i].name);
        for (int32_t k = 0; k < q->topics[i].nparts; k++) {
            int16_t err;
            topic *t = md_find(&b->md, q->topics[i].name);
            broker_partition(b, q->topics[i].name, q->topics[i].parts[k], &err);
            if (t && t->internal)
                err = KERR_INVALID_TOPIC_EXCEPTION;
            if (!topic_ok)
                err = KERR_TOPIC_AUTHORIZATION_FAILED;
            q->topics[i].errors[k] = err;
            unknown |= err != KERR_NONE;
            total++;
        }
    }
    char *id = txn_id_cstr(c, q->transactional_id);
    int16_t cerr = id ? broker_coord_error(c, true, q->transactional_id, ACL_OP_WRITE) : KERR_NONE;
    for (int32_t i = 0; cerr != KERR_NONE && i < q->ntopics; i++)
        for (int32_t k = 0; k < q->topics[i].nparts; k++)
            q->topics[i].errors[k] = cerr;
    txn_participant *parts = arena_alloc(&c->nr->arena, sizeof(*parts) * (size_t)(total + 1));
    if (unknown || !id || !parts || cerr != KERR_NONE) {
        for (int32_t i = 0; i < q->ntopics; i++)
            for (int32_t k = 0; k < q->topics[i].nparts; k++)
                if (q->topics[i].errors[k] == KERR_NONE)
                    q->topics[i].errors[k] = id ? KERR_OPERATION_NOT_ATTEMPTED
                                                : KERR_INVALID_REQUEST;
        resp_begin(&c->nr->resp, &c->h);
        addparts_resp_encode(&c->nr->resp, c->h.api_version, q);
        finish(c);
        return;
    }
    int n = 0;
    for (int32_t i = 0; i < q->ntopics; i++) {
        char *name = arena_strndup(&c->nr->arena, q->topics[i].name.p,
                                   (size_t)q->topics[i].name.len);
        for (int32_t k = 0; k < q->topics[i].nparts; k++)
            parts[n++] = (txn_participant){TXN_PART_PARTITION, name, q->topics[i].parts[k], false};
    }
    txn_service_add(&b->txn, (txn_req)(uintptr_t)tp, id, q->producer_id, q->producer_epoch, parts,
                    n, clock_wall_ms());
}

void handle_end_txn(req_ctx *c)
{
    endtxn_req q;
    txn_pending *tp = txn_pending_new(c);
    if (!tp || endtxn_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0) {
        broker_reply_malformed(c, "EndTxn");
        return;
    }
    char *id = txn_id_cstr(c, q.transactional_id);
    int16_t cerr = id ? broker_coord_error(c, true, q.transactional_id, ACL_OP_WRITE) : KERR_NONE;
    if (!id || cerr != KERR_NONE) {
        resp_begin(&c->nr->resp, &c->h);
        endtxn_resp_encode(&c->nr->resp, c->h.api_version, id ? cerr : KERR_INVALID_REQUEST,
                           -1, -1);
        finish(c);
        return;
    }
    /* v5+: transactions v2 (KIP-890), the epoch bumped at the end and returned. */
    if (c->h.api_version >= 5)
        txn_service_end_tv2(&c->b->txn, (txn_req)(uintptr_t)tp, id, q.producer_id,
                            q.producer_epoch, q.committed, clock_wall_ms());
    else
        txn_service_end(&c->b->txn, (txn_req)(uintptr_t)tp, id, q.producer_id,
                        q.producer_epoch, q.committed, clock_wall_ms());
}
