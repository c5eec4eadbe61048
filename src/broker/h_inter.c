/* h_inter.c - the participant side of the cross-node commit: BrookPrepareTxn and
 * WriteTxnMarkers from a coordinator on another node, and the coordinator side of
 * BrookTxnStatus. A prepare is answered once the producer is fenced here and its records
 * are durable; a marker once it is durable (docs/cluster.md). Both carry the coordinator
 * epoch: one older than the newest coordinator whose marker this partition holds for the
 * producer is refused with TRANSACTION_COORDINATOR_FENCED, and changes nothing. */
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"
#include "broker/broker.h"
#include "proto/errors.h"
#include "proto/inter_msgs.h"

typedef struct inter_wait {
    partition *p;   /* NULL once the partition was dropped */
    int64_t need;   /* durable end offset to reach */
    int16_t *error; /* the answer's slot for this partition */
} inter_wait;

typedef struct inter_op {
    req_ctx *c;
    txn_prepares_req preps; /* BrookPrepareTxn: one transaction below v2 */
    txn_markers_req marks;
    inter_wait *waits;
    int nwaits, cap;
    int groups_pending;
    bool building; /* still adding waits: do not answer yet */
    struct inter_op *prev, *next; /* b->inter_ops (utlist DL): arrival order */
} inter_op;

static void reply(inter_op *op)
{
    req_ctx *c = op->c;
    resp_begin(&c->nr->resp, &c->h);
    if (c->h.api_key == API_BROOK_PREPARE_TXN)
        txn_prepares_resp_encode(&c->nr->resp, &op->preps, c->h.api_version);
    else
        txn_markers_resp_encode(&c->nr->resp, &op->marks);
    resp_end(&c->nr->resp);
    free(op->waits);
    net_request_done(c->nr);
}

static bool wait_met(broker *b, inter_wait *w)
{
    if (!w->p)
        return true;
    if (store_high_watermark(b->store, w->p) >= w->need)
        return true;
    if (w->p->log->failed) {
        *w->error = KERR_KAFKA_STORAGE_ERROR;
        return true;
    }
    return false;
}

static bool op_ready(broker *b, inter_op *op)
{
    if (op->building || op->groups_pending > 0)
        return false;
    for (int i = 0; i < op->nwaits; i++)
        if (!wait_met(b, &op->waits[i]))
            return false;
    return true;
}

void inter_on_progress(broker *b)
{
    inter_op *op, *tmp;
    DL_FOREACH_SAFE(b->inter_ops, op, tmp) {
        if (!op_ready(b, op))
            continue;
        DL_DELETE(b->inter_ops, op);
        reply(op);
    }
}

void inter_forget_partition(broker *b, partition *p)
{
    for (inter_op *op = b->inter_ops; op; op = op->next)
        for (int i = 0; i < op->nwaits; i++)
            if (op->waits[i].p == p)
                op->waits[i].p = NULL;
}

void inter_fail_partition(broker *b, partition *p, int16_t err)
{
    for (inter_op *op = b->inter_ops; op; op = op->next)
        for (int i = 0; i < op->nwaits; i++)
            if (op->waits[i].p == p) {
                /* This node may truncate what the wait was for: the sender retries with
                 * the partition's new leader. */
                op->waits[i].p = NULL;
                *op->waits[i].error = err;
            }
    inter_on_progress(b);
}

void inter_drain(broker *b)
{
    while (b->inter_ops) {
        inter_op *op = b->inter_ops;
        DL_DELETE(b->inter_ops, op);
        free(op->waits);
        net_request_fail(op->c->nr, "broker shutting down");
    }
}

static void add_wait(inter_op *op, partition *p, int64_t need, int16_t *error)
{
    if (op->nwaits == op->cap) {
        int cap = op->cap ? op->cap * 2 : 4;
        inter_wait *n = realloc(op->waits, sizeof(*n) * (size_t)cap);
        BROOK_ASSERT(n);
        op->waits = n;
        op->cap = cap;
    }
    op->waits[op->nwaits++] = (inter_wait){p, need, error};
}

/* Parks op until op_ready, or answers at once. */
static void park_or_reply(broker *b, inter_op *op)
{
    op->building = false;
    if (op_ready(b, op)) {
        reply(op);
        return;
    }
    DL_APPEND(b->inter_ops, op);
}

static inter_op *op_new(req_ctx *c)
{
    inter_op *op = arena_alloc(&c->nr->arena, sizeof(*op));
    if (op) {
        memset(op, 0, sizeof(*op));
        op->c = c;
        op->building = true;
    }
    return op;
}

/* The partition behind an entry, if this node leads it; else sets the entry's error. */
static partition *led_partition(broker *b, inter_tp *tp)
{
    tp->error = cluster_leader_error(b, tp->topic, tp->partition);
    if (tp->error != KERR_NONE)
        return NULL;
    partition *p = broker_partition(b, tp->topic, tp->partition, &tp->error);
    if (p && p->log->failed) {
        tp->error = KERR_KAFKA_STORAGE_ERROR;
        return NULL;
    }
    return p;
}

/* Fences one transaction's producer on each of its partitions here and adds a wait for
 * its records there to be durable: the partition's yes vote (or sets its error). */
static void prepare_one(broker *b, inter_op *op, txn_prepare_req *q, int16_t version)
{
    for (int32_t i = 0; i < q->ntps; i++) {
        inter_tp *tp = &q->tps[i];
        partition *p = led_partition(b, tp);
        if (!p)
            continue;
        /* v0 (no coordinator epoch) is not checked. */
        if (version >= 1 && !cluster_coordinator_epoch_possible(b, q->pid, q->coordinator_epoch)) {
            tp->error = KERR_COORDINATOR_NOT_AVAILABLE;
            continue;
        }
        if (version >= 1 && pstate_coordinator_fenced(&p->log->ps, q->pid, q->coordinator_epoch)) {
            LOG_WARN("txn", "%s: refusing the prepare of producer %lld from coordinator epoch "
                     "%d: a newer coordinator's marker is here", p->log->name,
                     (long long)q->pid, q->coordinator_epoch);
            tp->error = KERR_TRANSACTION_COORDINATOR_FENCED;
            continue;
        }
        int64_t need = pstate_prepare(&p->log->ps, q->pid, q->epoch);
        if (need >= 0)
            add_wait(op, p, need, &tp->error);
    }
}

/* v2 carries many transactions; the answer waits for all of them (each its own entry). */
void handle_brook_prepare_txn(req_ctx *c)
{
    broker *b = c->b;
    inter_op *op = op_new(c);
    if (!op || txn_prepares_req_decode(&c->body, &c->nr->arena, &op->preps,
                                       c->h.api_version) != 0) {
        broker_reply_malformed(c, "BrookPrepareTxn");
        return;
    }
    for (int32_t t = 0; t < op->preps.ntxns; t++)
        prepare_one(b, op, &op->preps.txns[t], c->h.api_version);
    park_or_reply(b, op);
}

typedef struct group_marker_ctx {
    broker *b;
    inter_op *op;
    int16_t *error;
    partition *p; /* the offsets partition (internal: never deleted) */
} group_marker_ctx;

static void group_marker_done(void *ctx, bool ok)
{
    group_marker_ctx *g = ctx;
    /* Not durable: this node stopped leading the partition (the coordinator retries with
     * the new leader), or its log failed for good. */
    if (!ok)
        *g->error = g->p->replicated && !g->p->repl_leading ? KERR_NOT_LEADER_OR_FOLLOWER
                                                             : KERR_KAFKA_STORAGE_ERROR;
    g->op->groups_pending--;
    broker *b = g->b;
    free(g);
    inter_on_progress(b);
}

static void log_fenced_marker(const partition *p, const txn_marker_entry *m)
{
    const pstate_entry *e = pstate_find(&p->log->ps, m->pid);
    LOG_WARN("txn", "%s: refusing a %s marker of producer %lld from coordinator epoch %d: a "
             "marker of coordinator epoch %d is here", p->log->name,
             m->commit ? "COMMIT" : "ABORT", (long long)m->pid, m->coordinator_epoch,
             e ? e->coord_epoch : -1);
}

int16_t inter_group_marker_record(broker *b, partition *p, int64_t pid, int16_t epoch,
                                  bool commit, int32_t coordinator_epoch, int64_t txn_seq,
                                  int64_t *offset_out)
{
    *offset_out = -1;
    int rc = log_append_marker_seq(p->log, pid, epoch, commit, coordinator_epoch, txn_seq,
                                   clock_wall_ms(), offset_out);
    if (rc == LOG_ERR_FENCED)
        return KERR_TRANSACTION_COORDINATOR_FENCED;
    if (rc != LOG_OK) {
        LOG_ERROR("txn", "cannot write the marker of producer %lld to %s: %s", (long long)pid,
                  p->log->name, log_result_name(rc));
        *offset_out = -1;
        return KERR_KAFKA_STORAGE_ERROR;
    }
    store_mark_dirty(b->store, p);
    return KERR_NONE;
}

/* A marker for a __consumer_offsets partition: recorded there as a control batch, then
 * ends the producer's pending offsets in every group of that partition (a stale duplicate
 * is dropped, as for data partitions). */
static void group_markers(broker *b, inter_op *op, const txn_marker_entry *m, inter_tp *tp,
                          partition *p)
{
    if (!b->group_started) {
        tp->error = KERR_COORDINATOR_NOT_AVAILABLE;
        return;
    }
    if (!cluster_coordinator_epoch_possible(b, m->pid, m->coordinator_epoch)) {
        tp->error = KERR_COORDINATOR_NOT_AVAILABLE; /* see handle_write_txn_markers */
        return;
    }
    if (pstate_coordinator_fenced(&p->log->ps, m->pid, m->coordinator_epoch)) {
        log_fenced_marker(p, m);
        tp->error = KERR_TRANSACTION_COORDINATOR_FENCED;
        return;
    }
    if (pstate_marker_is_stale(&p->log->ps, m->pid, m->txn_seq)) {
        LOG_INFO("txn", "%s: dropping a stale marker of producer %lld (transaction %lld)",
                 p->log->name, (long long)m->pid, (long long)m->txn_seq);
        /* Answered once the first copy is committed (see handle_write_txn_markers). */
        add_wait(op, p, p->log->log_end_offset, &tp->error);
        return;
    }
    int64_t off;
    tp->error = inter_group_marker_record(b, p, m->pid, m->epoch, m->commit,
                                          m->coordinator_epoch, m->txn_seq, &off);
    if (tp->error != KERR_NONE)
        return;
    add_wait(op, p, off + 1, &tp->error);
    /* Also with no offsets pending yet: a TxnOffsetCommit of this transaction may be
     * between its verification and its append (gs_txn_guard). */
    group_service_txn_ended(&b->grp, m->pid, group_now_ms());
    /* Pending offsets of pid, and a TxnOffsetCommit of it appended but not durable yet:
     * its offsets become pending only then, after this marker (found by the chaos campaign:
     * a client's abort overtook its own TxnOffsetCommit's replication). */
    char **ids = NULL;
    int n = group_service_txn_groups(&b->grp, tp->partition, m->pid, &ids);
    for (int i = 0; i < n; i++) {
        group_marker_ctx *gc = malloc(sizeof(*gc));
        BROOK_ASSERT(gc);
        *gc = (group_marker_ctx){b, op, &tp->error, p};
        op->groups_pending++;
        group_service_txn_end(&b->grp, ids[i], m->pid, m->commit, group_now_ms(),
                              group_marker_done, gc);
        free(ids[i]);
    }
    free(ids);
}

void handle_write_txn_markers(req_ctx *c)
{
    broker *b = c->b;
    inter_op *op = op_new(c);
    if (!op || txn_markers_req_decode(&c->body, &c->nr->arena, &op->marks) != 0) {
        broker_reply_malformed(c, "WriteTxnMarkers");
        return;
    }
    /* Inside the loop below answers may complete; the op is not parked yet, so
     * group_marker_done's progress call cannot answer it (building). */
    for (int32_t i = 0; i < op->marks.nmarkers; i++) {
        txn_marker_entry *m = &op->marks.markers[i];
        for (int32_t k = 0; k < m->ntps; k++) {
            inter_tp *tp = &m->tps[k];
            partition *p = led_partition(b, tp);
            if (!p)
                continue;
            if (kslice_eq_cstr(tp->topic, GROUP_LOG_TOPIC)) {
                group_markers(b, op, m, tp, p);
                continue;
            }
            if (!cluster_coordinator_epoch_possible(b, m->pid, m->coordinator_epoch)) {
                /* Newer than any coordinator of pid can be: forged (one from a client with
                 * coordinator epoch 2^31-1 used to fence the real coordinator out of its
                 * whole partition; an adversarial hunt, session 37), or from a coordinator
                 * this node's view has not caught up with, which retries. */
                LOG_WARN("txn", "%s: refusing a %s marker of producer %lld from coordinator "
                         "epoch %d: no coordinator of it has that epoch yet", p->log->name,
                         m->commit ? "COMMIT" : "ABORT", (long long)m->pid,
                         m->coordinator_epoch);
                tp->error = KERR_COORDINATOR_NOT_AVAILABLE;
                continue;
            }
            if (pstate_coordinator_fenced(&p->log->ps, m->pid, m->coordinator_epoch)) {
                /* From a coordinator that has been replaced: its successor sends the
                 * markers of every decision; this one must change nothing. */
                log_fenced_marker(p, m);
                tp->error = KERR_TRANSACTION_COORDINATOR_FENCED;
                continue;
            }
            if (pstate_marker_is_stale(&p->log->ps, m->pid, m->txn_seq)) {
                /* A delayed duplicate of a marker already applied: applying it again
                 * could end the producer's next transaction here. */
                LOG_INFO("txn", "%s: dropping a stale %s marker of producer %lld (transaction "
                         "%lld)", p->log->name, m->commit ? "COMMIT" : "ABORT",
                         (long long)m->pid, (long long)m->txn_seq);
                /* Answered once the first copy is committed: it may still be above the
                 * high watermark (its own answer waits on another connection), and if
                 * this leader fails before then, it is lost. The log end now is at or
                 * past it. */
                add_wait(op, p, p->log->log_end_offset, &tp->error);
                continue;
            }
            int64_t off;
            int rc = log_append_marker_seq(p->log, m->pid, m->epoch, m->commit,
                                           m->coordinator_epoch, m->txn_seq, clock_wall_ms(),
                                           &off);
            if (rc == LOG_ERR_FENCED) { /* checked above; kept for safety */
                tp->error = KERR_TRANSACTION_COORDINATOR_FENCED;
                continue;
            }
            if (rc != LOG_OK) {
                LOG_ERROR("txn", "cannot write %s marker of producer %lld to %s: %s",
                          m->commit ? "COMMIT" : "ABORT", (long long)m->pid, p->log->name,
                          log_result_name(rc));
                tp->error = KERR_KAFKA_STORAGE_ERROR;
                continue;
            }
            store_mark_dirty(b->store, p);
            add_wait(op, p, off + 1, &tp->error);
        }
    }
    park_or_reply(b, op);
}

void handle_brook_txn_status(req_ctx *c)
{
    txn_status_req q;
    if (txn_status_req_decode(&c->body, &q) != 0) {
        broker_reply_malformed(c, "BrookTxnStatus");
        return;
    }
    cluster_txn_outcome(c->b, q.pid, q.epoch, &q);
    resp_begin(&c->nr->resp, &c->h);
    txn_status_resp_encode(&c->nr->resp, &q);
    resp_end(&c->nr->resp);
    net_request_done(c->nr);
}
