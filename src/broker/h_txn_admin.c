/* h_txn_admin.c - the transaction admin APIs of KIP-664 (DescribeProducers,
 * DescribeTransactions, ListTransactions with KIP-994's DurationFilter) and DescribeCluster.
 * All answer at once from what this node holds: the producer state of the partitions it
 * leads, the transactional ids it coordinates, the cluster view. Kafka's semantics are
 * KafkaApis / TransactionCoordinator / TransactionStateManager (docs/protocol.md). */
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/regex.h"
#include "broker/broker.h"
#include "cluster/view.h"
#include "proto/errors.h"
#include "proto/ident.h"
#include "proto/msgs.h"

static void finish(req_ctx *c)
{
    resp_end(&c->nr->resp);
    net_request_done(c->nr);
}

/* ---------------- DescribeProducers ---------------- */

/* The active producers of a partition this node leads (Kafka's Partition.activeProducerState:
 * every producer id its producer state holds). */
static void describe_partition(req_ctx *c, kslice topic, dprod_part *dp)
{
    broker *b = c->b;
    int16_t err;
    partition *p = broker_led_partition(b, topic, dp->index, &err, NULL);
    if (!p) {
        /* A partition this node does not lead (or no leader known yet): Kafka answers
         * NOT_LEADER_OR_FOLLOWER for a partition it does not host. */
        dp->error_code = err == KERR_LEADER_NOT_AVAILABLE ? KERR_NOT_LEADER_OR_FOLLOWER : err;
        bool topic_known = b->clustered
                               ? b->view && cv_topic_find(b->view, (const char *)topic.p,
                                                          (size_t)topic.len)
                               : md_find(&b->md, topic) != NULL;
        if (dp->error_code == KERR_UNKNOWN_TOPIC_OR_PARTITION && !topic_known)
            dp->error_message = "This server does not host this topic-partition.";
        return;
    }
    if (p->log->failed) {
        dp->error_code = KERR_KAFKA_STORAGE_ERROR;
        return;
    }
    const pstate *ps = &p->log->ps;
    int32_t n = (int32_t)HASH_COUNT(ps->by_pid);
    dprod_producer *out = arena_alloc(&c->nr->arena, sizeof(*out) * (size_t)(n + 1));
    if (!out) {
        dp->error_code = KERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    int32_t k = 0;
    for (const pstate_entry *e = ps->by_pid; e; e = e->hh.next) {
        dprod_producer *o = &out[k++];
        o->producer_id = e->pid;
        o->producer_epoch = e->epoch;
        o->last_sequence = e->nbatches > 0 ? e->batches[e->nbatches - 1].last_seq : -1;
        o->last_timestamp = e->last_timestamp;
        o->coordinator_epoch = e->coord_epoch;
        o->current_txn_start_offset = e->txn != PS_TXN_NONE ? e->txn_first_offset : -1;
    }
    dp->nproducers = k;
    dp->producers = out;
}

void handle_describe_producers(req_ctx *c)
{
    describeproducers_req q;
    if (describeproducers_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0) {
        broker_reply_malformed(c, "DescribeProducers");
        return;
    }
    for (int32_t i = 0; i < q.ntopics; i++)
        cluster_refresh_if_unknown(c->b, q.topics[i].name, -1);
    for (int32_t i = 0; i < q.ntopics; i++) {
        dprod_topic *t = &q.topics[i];
        const char *why = NULL;
        bool valid = md_topic_name_valid(t->name, &why);
        bool topic_ok = broker_may_slice(c, ACL_OP_READ, ACL_RES_TOPIC, t->name);
        for (int32_t k = 0; k < t->nparts; k++) {
            if (!valid) { /* Kafka's checkValidTopic */
                t->parts[k].error_code = KERR_INVALID_TOPIC_EXCEPTION;
                t->parts[k].error_message = why;
            } else if (!topic_ok) {
                t->parts[k].error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
            } else {
                describe_partition(c, t->name, &t->parts[k]);
            }
        }
    }
    resp_begin(&c->nr->resp, &c->h);
    describeproducers_resp_encode(&c->nr->resp, c->h.api_version, &q);
    finish(c);
}

/* ---------------- transactions this node coordinates ---------------- */

/* Kafka's start time of a transaction: -1 while none has begun since the producer was
 * initialised (Empty); else when the current (or last) one began. */
static int64_t txn_start_ms(const txn_meta *t)
{
    return t->state == TXN_EMPTY ? -1 : t->start_ms;
}

/* The transactional ids whose state is here: a durable record (a producer id) and not
 * being expired (Dead), as Kafka's cache. */
static bool txn_visible(const txn_meta *t)
{
    return t->pid >= 0 && t->state != TXN_DEAD;
}

/* A participant as Kafka names it: a group's offsets live in its __consumer_offsets
 * partition. */
static void participant_tp(broker *b, const txn_participant *p, const char **name_out,
                           int32_t *partition_out)
{
    if (p->kind == TXN_PART_PARTITION) {
        *name_out = p->name;
        *partition_out = p->partition;
        return;
    }
    *name_out = GROUP_LOG_TOPIC;
    *partition_out =
        txn_log_partition_for(p->name, broker_internal_partitions(b, GROUP_LOG_TOPIC));
}

/* The partitions of t's current transaction, by topic in the order they joined. While
 * its markers are being written, those already acknowledged are left out (Kafka: "only
 * partitions which do not have markers"). */
static void fill_topics(req_ctx *c, const txn_meta *t, dtxn_state *s)
{
    arena *a = &c->nr->arena;
    dtxn_topic *topics = arena_alloc(a, sizeof(*topics) * (size_t)(t->nparts + 1));
    int32_t *slots = arena_alloc(a, sizeof(int32_t) * (size_t)(t->nparts + 1));
    if (!topics || !slots)
        return;
    int32_t nt = 0;
    for (int i = 0; i < t->nparts; i++) {
        const txn_participant *p = &t->parts[i];
        if (t->phase == TXN_PHASE_MARKING && p->done)
            continue;
        const char *name;
        int32_t part;
        participant_tp(c->b, p, &name, &part);
        int32_t k = 0;
        while (k < nt && strcmp(topics[k].name, name) != 0)
            k++;
        if (k == nt) {
            topics[nt].name = name;
            topics[nt].nparts = 0;
            topics[nt].parts = NULL;
            nt++;
        }
        slots[i] = k;
    }
    /* Each topic's partitions contiguous in one array, in joining order. */
    int32_t *parts = arena_alloc(a, sizeof(int32_t) * (size_t)(t->nparts + 1));
    if (!parts)
        return;
    int32_t used = 0;
    for (int32_t k = 0; k < nt; k++) {
        topics[k].parts = parts + used;
        for (int i = 0; i < t->nparts; i++) {
            const txn_participant *p = &t->parts[i];
            if ((t->phase == TXN_PHASE_MARKING && p->done) || slots[i] != k)
                continue;
            const char *name;
            int32_t part;
            participant_tp(c->b, p, &name, &part);
            parts[used++] = part;
            topics[k].nparts++;
        }
    }
    s->ntopics = nt;
    s->topics = topics;
}

void handle_describe_transactions(req_ctx *c)
{
    broker *b = c->b;
    describetxns_req q;
    if (describetxns_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0) {
        broker_reply_malformed(c, "DescribeTransactions");
        return;
    }
    for (int32_t i = 0; i < q.nids; i++) {
        dtxn_state *s = &q.states[i];
        s->state = "";
        if (!b->txn_started) {
            s->error_code = KERR_COORDINATOR_NOT_AVAILABLE;
            continue;
        }
        if (q.ids[i].len == 0) {
            s->error_code = KERR_INVALID_REQUEST;
            continue;
        }
        s->error_code = broker_coord_error(c, true, q.ids[i], ACL_OP_DESCRIBE);
        if (s->error_code != KERR_NONE)
            continue;
        char *id = ident_decode(&c->nr->arena, q.ids[i]);
        const txn_meta *t = id ? txn_coord_find(&b->txn.coord, id) : NULL;
        if (!t || !txn_visible(t)) {
            s->error_code = KERR_TRANSACTIONAL_ID_NOT_FOUND;
            continue;
        }
        s->state = txn_state_name(t->state);
        s->timeout_ms = t->timeout_ms;
        s->start_ms = txn_start_ms(t);
        s->producer_id = t->pid;
        s->producer_epoch = t->epoch;
        fill_topics(c, t, s);
    }
    resp_begin(&c->nr->resp, &c->h);
    describetxns_resp_encode(&c->nr->resp, c->h.api_version, &q);
    finish(c);
}

/* Which transaction-log partitions this node serves now (*loading: one it leads is not
 * loaded yet, Kafka's COORDINATOR_LOAD_IN_PROGRESS). NULL when out of memory. */
static bool *served_partitions(req_ctx *c, int32_t np, bool *loading)
{
    broker *b = c->b;
    bool *served = arena_alloc(&c->nr->arena, sizeof(bool) * (size_t)(np + 1));
    *loading = false;
    if (!served)
        return NULL;
    for (int32_t i = 0; i < np; i++) {
        bool loaded = b->txn.loaded && b->txn.loaded[i];
        if (!b->clustered) {
            served[i] = loaded;
            continue;
        }
        if (cv_leader(b->view, TXN_LOG_TOPIC, i) != b->cfg.node_id)
            continue;
        const partition *p = b->txn.log_topic->parts[i];
        bool leading = !p->replicated || p->repl_leading;
        served[i] = loaded && leading;
        *loading |= !served[i];
    }
    return served;
}

static bool state_wanted(const listtxns_req *q, const bool *known, int state)
{
    if (q->nstates == 0)
        return true;
    return known[state];
}

static bool pid_wanted(const listtxns_req *q, int64_t pid)
{
    if (q->npids == 0)
        return true;
    for (int32_t i = 0; i < q->npids; i++)
        if (q->pids[i] == pid)
            return true;
    return false;
}

/* ListTransactions v2's TransactionalIdPattern, compiled to match whole ids. */
static bool compile_pattern(req_ctx *c, kslice pattern, regex_t *rx)
{
    char *p = arena_strndup(&c->nr->arena, pattern.p, (size_t)pattern.len);
    return p && regex_whole_compile(rx, p);
}

void handle_list_transactions(req_ctx *c)
{
    broker *b = c->b;
    arena *a = &c->nr->arena;
    listtxns_req q;
    regex_t rx;
    bool has_rx = false;
    if (listtxns_req_decode(&c->body, c->h.api_version, a, &q) != 0) {
        broker_reply_malformed(c, "ListTransactions");
        return;
    }
    int32_t np = b->txn_started && b->txn.log_topic ? b->txn.log_topic->npartitions : 0;
    bool loading = false;
    bool *served = np > 0 ? served_partitions(c, np, &loading) : NULL;
    if (!b->txn_started || (b->clustered && !b->view) || (np > 0 && !served)) {
        q.error_code = KERR_COORDINATOR_NOT_AVAILABLE;
    } else if (loading) {
        q.error_code = KERR_COORDINATOR_LOAD_IN_PROGRESS;
    } else if (q.txn_id_pattern.len > 0 && !compile_pattern(c, q.txn_id_pattern, &rx)) {
        q.error_code = KERR_INVALID_REGULAR_EXPRESSION;
    } else {
        has_rx = q.txn_id_pattern.len > 0;
        /* State names are matched exactly; unknown ones are answered back, and (as in
         * Kafka) a filter made only of unknown names matches nothing. */
        bool known[TXN_STATE_COUNT] = {false};
        for (int32_t i = 0; i < q.nstates; i++) {
            int s = 0;
            while (s < TXN_STATE_COUNT && !kslice_eq_cstr(q.states[i], txn_state_name(s)))
                s++;
            if (s < TXN_STATE_COUNT)
                known[s] = true;
            else
                q.unknown_states[q.nunknown++] = q.states[i];
        }
        int64_t now = clock_wall_ms();
        uint32_t n = HASH_COUNT(b->txn.coord.by_id);
        listtxns_entry *out = arena_alloc(a, sizeof(*out) * ((size_t)n + 1));
        if (!out) {
            net_request_fail(c->nr, "out of memory");
            return;
        }
        for (const txn_meta *t = b->txn.coord.by_id; t; t = t->hh.next) {
            if (!txn_visible(t) || !served[txn_log_partition_for(t->id, np)])
                continue;
            if (!pid_wanted(&q, t->pid) || !state_wanted(&q, known, t->state))
                continue;
            /* KIP-994: only transactions running longer than the filter (Kafka compares
             * with the start time as it stands, -1 for Empty). */
            if (q.duration_ms >= 0 && now - txn_start_ms(t) <= q.duration_ms)
                continue;
            if (has_rx && !regex_whole_match(&rx, t->id)) /* KIP-1152: the whole id */
                continue;
            if (!broker_sees(c, ACL_OP_DESCRIBE, ACL_RES_TXN_ID, t->id))
                continue; /* ACLs: only the ids the principal may describe */
            out[q.nentries++] = (listtxns_entry){t->id, t->pid, txn_state_name(t->state)};
        }
        q.entries = out;
    }
    if (has_rx)
        regfree(&rx);
    resp_begin(&c->nr->resp, &c->h);
    listtxns_resp_encode(&c->nr->resp, c->h.api_version, &q);
    finish(c);
}

/* ---------------- DescribeCluster ---------------- */

void handle_describe_cluster(req_ctx *c)
{
    broker *b = c->b;
    arena *a = &c->nr->arena;
    describecluster_req q;
    if (describecluster_req_decode(&c->body, c->h.api_version, a, &q) != 0) {
        broker_reply_malformed(c, "DescribeCluster");
        return;
    }
    describecluster_resp m = {.endpoint_type = ENDPOINT_TYPE_BROKER, .cluster_id = "",
                              .controller_id = -1, .cluster_ops = INT32_MIN};
    cluster_view *v = NULL;
    md_broker self = {b->cfg.node_id, NULL, 0, NULL};
    broker_self_address(c, &self.host, &self.port);
    if (q.endpoint_type != ENDPOINT_TYPE_BROKER && q.endpoint_type != ENDPOINT_TYPE_CONTROLLER) {
        /* Kafka's AuthHelper.computeDescribeClusterResponse */
        m.error_code = KERR_UNSUPPORTED_ENDPOINT_TYPE;
        char *msg = arena_alloc(a, 48);
        if (msg)
            snprintf(msg, 48, "Unsupported endpoint type %d", q.endpoint_type);
        m.error_message = msg;
    } else if (q.endpoint_type == ENDPOINT_TYPE_CONTROLLER) {
        m.error_code = KERR_MISMATCHED_ENDPOINT_TYPE;
        m.error_message = "The request was sent to an endpoint of type BROKER, but we wanted "
                          "an endpoint of type CONTROLLER";
    } else {
        m.cluster_id = b->cfg.cluster_id;
        /* No ACLs: every cluster operation, as Kafka without an authorizer (and Metadata). */
        m.cluster_ops = q.include_cluster_ops ? broker_authorized_ops(c, ACL_RES_CLUSTER,
                                                                      SEC_ACL_CLUSTER_NAME,
                                                                      MD_CLUSTER_OPS_ALL)
                                              : INT32_MIN;
        if (!b->clustered) {
            m.nbrokers = 1;
            m.brokers = &self;
            m.controller_id = b->cfg.node_id;
        } else if ((v = b->view) != NULL && v->nbrokers > 0) {
            cv_ref(v);
            md_broker *brs = arena_alloc(a, sizeof(*brs) * (size_t)v->nbrokers);
            if (!brs) {
                cv_unref(v);
                net_request_fail(c->nr, "out of memory");
                return;
            }
            for (int i = 0; i < v->nbrokers; i++)
                brs[i] = broker_node_address(c, &v->brokers[i]);
            m.nbrokers = v->nbrokers;
            m.brokers = brs;
            /* a controller not among the brokers listed is answered as -1 (Kafka) */
            m.controller_id = cv_broker_find(v, v->controller) ? v->controller : -1;
        } else {
            m.nbrokers = 1; /* no view yet: this node is all it knows */
            m.brokers = &self;
        }
    }
    resp_begin(&c->nr->resp, &c->h);
    describecluster_resp_encode(&c->nr->resp, c->h.api_version, &m);
    if (v)
        cv_unref(v);
    finish(c);
}
