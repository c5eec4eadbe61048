/* cluster.c - a brookd node in a ZooKeeper cluster (docs/cluster.md).
 *
 * The ZooKeeper thread (cluster/zk.c) publishes views; on each one this file, on the loop
 * thread: points the peer pool at every live broker, makes the local topic registry match
 * the cluster's (creating, growing, reconfiguring and deleting local logs), and prints the
 * ready line once this node is registered. It also carries the coordinator's side of the
 * cross-node two-phase commit (prepare and marker RPCs to partition leaders, retried with
 * backoff until answered) and the participant's in-doubt check (ask the coordinator how
 * each transaction still open here ended). Single node (no zookeeper.connect): nothing
 * here runs, and every check answers "this node".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/fsutil.h"
#include "base/limits.h"
#include "base/log.h"
#include "broker/broker.h"
#include "broker/sec_cluster.h"
#include "cluster/zk.h"
#include "net/peer.h"
#include "proto/ident.h"
#include "proto/errors.h"
#include "proto/inter_msgs.h"
#include "proto/msgs.h"

#define RPC_TIMEOUT_MS 10000
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000

/* A coordinator-side RPC to a participant, retried until it gets an answer. */
typedef struct remote_op {
    broker *b;
    int kind; /* TXN_REMOTE_* */
    char *txn_id;
    txn_participant part; /* name owned */
    int64_t pid;
    int16_t epoch;
    int64_t txn_seq;
    bool commit;
    int attempts;
    int64_t due_ms;
    bool in_flight;
    bool cancelled;      /* its coordinator was fenced while it was in flight: drop it */
    int32_t sent_cepoch; /* the coordinator epoch of the last send */
    struct remote_op *prev, *next; /* b->remote_ops (utlist DL): sent in decision order */
} remote_op;

/* A participant-side question to a coordinator about a transaction open here. */
typedef struct status_op {
    broker *b;
    char *topic;
    int32_t partition;
    int64_t pid;
    int16_t epoch;
    int64_t first_offset; /* which of the producer's transactions we asked about */
} status_op;

bool broker_clustered(const broker *b) { return b->clustered; }

/* ---------------- where things live ---------------- */

static int32_t leader_of(const broker *b, const char *topic, int32_t partition)
{
    return b->view ? cv_leader(b->view, topic, partition) : -1;
}

bool cluster_is_replica(broker *b, const struct partition *p)
{
    if (!b->clustered)
        return true;
    return b->view && cv_is_replica(b->view, p->topic, p->index, b->cfg.node_id);
}

int16_t cluster_leader_error(broker *b, kslice topic, int32_t partition)
{
    if (!b->clustered)
        return KERR_NONE;
    if (!b->view)
        return KERR_LEADER_NOT_AVAILABLE;
    if (!b->view->registered) /* not this process's registration yet (or any more) */
        return KERR_NOT_LEADER_OR_FOLLOWER;
    if (topic.len < 0)
        return KERR_UNKNOWN_TOPIC_OR_PARTITION; /* a null name on the wire */
    const cv_topic *t = cv_topic_find(b->view, (const char *)topic.p, (size_t)topic.len);
    if (!t || partition < 0 || partition >= t->nparts)
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    int32_t l = t->parts[partition].leader;
    if (l < 0)
        return KERR_LEADER_NOT_AVAILABLE;
    if (l != b->cfg.node_id)
        return KERR_NOT_LEADER_OR_FOLLOWER;
    /* Named leader, but a replicated partition is led only once its replication state
     * took the epoch (replica.c: not an epoch this log may have led before a restart). */
    int16_t err;
    struct partition *lp = broker_partition(b, topic, partition, &err);
    return lp && lp->replicated && !lp->repl_leading ? KERR_NOT_LEADER_OR_FOLLOWER : KERR_NONE;
}

partition *broker_led_partition(broker *b, kslice topic, int32_t index, int16_t *err,
                                int32_t *epoch)
{
    if (epoch)
        *epoch = 0;
    *err = cluster_leader_error(b, topic, index);
    if (*err != KERR_NONE)
        return NULL;
    if (epoch && b->clustered) {
        const cv_topic *t = cv_topic_find(b->view, (const char *)topic.p, (size_t)topic.len);
        *epoch = t->parts[index].leader_epoch; /* checked by cluster_leader_error */
    }
    return broker_partition(b, topic, index, err);
}

void cluster_refresh_if_unknown(broker *b, kslice topic, int32_t partition)
{
    if (!b->zk || !b->view)
        return;
    const cv_topic *t =
        cv_topic_find(b->view, (const char *)topic.p, topic.len > 0 ? (size_t)topic.len : 0);
    if (t && partition < t->nparts)
        return;
    cluster_refresh_now(b);
}

void cluster_refresh_now(broker *b)
{
    int64_t now = clock_mono_us() / 1000;
    if (!b->zk || now - b->last_forced_refresh_ms < 10)
        return;
    b->last_forced_refresh_ms = now;
    zk_refresh_sync(b->zk, 1000);
}

/* The internal partition that holds key's coordinator state: the hash of the id's
 * internal form (proto/ident.h), whole, as the services compute it. */
static int32_t coordinator_partition(const broker *b, bool txn, kslice key)
{
    char *id = ident_decode_dup(key.len >= 0 ? key : kslice_cstr(""));
    BROOK_ASSERT(id);
    int32_t part = txn_log_partition_for(
        id, broker_internal_partitions(b, txn ? TXN_LOG_TOPIC : GROUP_LOG_TOPIC));
    free(id);
    return part;
}

/* Whether this node may act as a coordinator now (zk_lease_held). Produce and Fetch need
 * no lease: a deposed leader can acknowledge nothing without its followers (the high
 * watermark) and serves only records below it. A coordinator answers from a cache of
 * its log, which another node may have moved past. FindCoordinator still names the node
 * its view names (a client told COORDINATOR_NOT_AVAILABLE there may stall: librdkafka
 * 2.15's send_offsets_to_transaction never returns once its lookups are used up); the
 * coordinator requests themselves get COORDINATOR_LOAD_IN_PROGRESS, which every client
 * retries. */
static bool lease_held(broker *b)
{
    return !b->clustered || (b->zk && zk_lease_held(b->zk, clock_mono_ms()));
}

int16_t cluster_coordinator(broker *b, bool txn, kslice key, int32_t *node)
{
    if (!b->clustered) {
        *node = b->cfg.node_id;
        return KERR_NONE;
    }
    int32_t l = leader_of(b, txn ? TXN_LOG_TOPIC : GROUP_LOG_TOPIC,
                          coordinator_partition(b, txn, key));
    *node = l;
    return l < 0 || !cv_broker_find(b->view, l) ? KERR_COORDINATOR_NOT_AVAILABLE : KERR_NONE;
}

/* Named while the coordinator partition has no live leader, the stand-in refuses the
 * client's coordinator requests (COORDINATOR_NOT_AVAILABLE, then NOT_COORDINATOR or
 * LOAD_IN_PROGRESS as leaders change: cluster_coordinator_error), which every client
 * retries within its own timeout. COORDINATOR_NOT_AVAILABLE would be
 * truthful but can stall librdkafka 2.15 for good: its coordinator lookup
 * (rdkafka_coord.c) retries that answer only as often as the request's retries allow,
 * then waits for a broker's connection state to change, never for its timeout, so a
 * send_offsets_to_transaction made during a failover may never return (chaos seed 94). */
int16_t cluster_coordinator_named(broker *b, bool txn, kslice key, int32_t *node)
{
    int16_t err = cluster_coordinator(b, txn, key, node);
    if (err != KERR_COORDINATOR_NOT_AVAILABLE || !b->view)
        return err;
    *node = cv_likely_leader(b->view, txn ? TXN_LOG_TOPIC : GROUP_LOG_TOPIC,
                             coordinator_partition(b, txn, key));
    return *node < 0 ? KERR_COORDINATOR_NOT_AVAILABLE : KERR_NONE;
}

/* Does this node serve the coordinator partition `part` now: its replication state took
 * the epoch and its service loaded it (a coordinator that just took over may not yet)? */
static bool coordinator_here(broker *b, bool txn, int32_t part)
{
    const char *name = txn ? TXN_LOG_TOPIC : GROUP_LOG_TOPIC;
    topic *t = md_find(&b->md, kslice_cstr(name));
    if (!t || part < 0 || part >= t->npartitions)
        return false;
    const partition *p = t->parts[part];
    if (p->replicated && !p->repl_leading)
        return false;
    const bool *loaded = txn ? b->txn.loaded : b->grp.loaded;
    return !loaded || loaded[part];
}

int16_t cluster_coordinator_error(broker *b, bool txn, kslice key)
{
    int32_t node;
    int16_t err = cluster_coordinator(b, txn, key, &node);
    if (err != KERR_NONE)
        return err;
    if (node != b->cfg.node_id || b->stale_hold)
        return KERR_NOT_COORDINATOR;
    /* Without the lease it may be elsewhere by now: answered as a node still loading. */
    return b->clustered && (!lease_held(b) ||
                            !coordinator_here(b, txn, coordinator_partition(b, txn, key)))
               ? KERR_COORDINATOR_LOAD_IN_PROGRESS
               : KERR_NONE;
}

/* ---- coordinator requests waiting for the lease ----
 * Refused at once, a request is retried by its client later, possibly after newer ones of
 * the same client were served: librdkafka resends an auto-commit refused during a lapse
 * after the commit it made at close went through, and the group keeps the older offsets.
 * Most lapses are short (ZooKeeper slow or paused for a few seconds), so coordinator
 * requests wait for the lease instead, in arrival order, at most coordinator.lease.wait.ms
 * each; they run once it is back (or their wait is over: cluster_coordinator_error then
 * refuses them as before). Later ones wait behind earlier ones even when the lease is
 * back, so nothing overtakes. A request that waited while this node gave a coordinator
 * partition up is refused NOT_COORDINATOR even if the partition came back: its client
 * may have gone on with the node that led meanwhile, and the old request, run now, would
 * undo what it did there (the chaos campaign saw a group's offsets set back that way). */
typedef struct lease_wait {
    req_ctx *c;
    broker_handler_fn fn;
    int64_t since_ms;
    uint64_t handovers; /* b->coord_handovers when it began to wait */
    struct lease_wait *next;
} lease_wait;

static bool needs_lease(int16_t api_key)
{
    switch (api_key) {
    case API_INIT_PRODUCER_ID: case API_ADD_PARTITIONS_TO_TXN: case API_ADD_OFFSETS_TO_TXN:
    case API_END_TXN: case API_TXN_OFFSET_COMMIT: case API_JOIN_GROUP: case API_SYNC_GROUP:
    case API_HEARTBEAT: case API_LEAVE_GROUP: case API_OFFSET_COMMIT: case API_OFFSET_FETCH:
    case API_DESCRIBE_GROUPS: case API_DELETE_GROUPS: case API_OFFSET_DELETE:
    case API_CONSUMER_GROUP_HEARTBEAT: case API_CONSUMER_GROUP_DESCRIBE:
    case API_DESCRIBE_TRANSACTIONS:
        return true;
    }
    return false;
}

/* Runs the waiting requests from the oldest: all of them when the lease is held (or
 * `all`), else those whose wait is over. */
static void run_lease_waits(broker *b, bool all)
{
    int64_t now = clock_mono_ms();
    bool held = all || lease_held(b);
    while (b->lease_waits &&
           (held || now - b->lease_waits->since_ms >= b->cfg.coordinator_lease_wait_ms)) {
        lease_wait *w = b->lease_waits;
        LL_DELETE(b->lease_waits, w);
        b->stale_hold = w->handovers != b->coord_handovers;
        if (b->stale_hold)
            LOG_INFO("cluster", "%s: a request (api %d) held for the lease is refused "
                     "NOT_COORDINATOR: this node gave up a coordinator partition meanwhile",
                     net_conn_peer(w->c->nr->conn), w->c->h.api_key);
        w->fn(w->c); /* w lives in the request's arena: not used after this */
        b->stale_hold = false;
    }
}

/* Why a connection that spans a coordinator handover loses its offset commits: a
 * client that timed out a request (its path to this node cut) closes the connection and
 * sends the request again elsewhere, but its kernel keeps retransmitting the old bytes.
 * When they arrive after this node was deposed and had become coordinator again, they
 * would run as new: an OffsetCommit of older offsets, valid for the member the reload
 * restored, undid the acknowledged commits after it (chaos seed 243552082: 7,500 offsets
 * back). Kafka would apply it. Closing the connection drops them, and everything behind
 * them; a client whose connection was healthy reconnects once and sends its commit again.
 * A deposed node that has not learnt it yet holds such requests for the lease instead
 * (run_lease_waits refuses them). */
bool cluster_drop_stale_conn(broker *b, req_ctx *c)
{
    /* Only offset commits: a stale read does no harm, and a closed connection fails some
     * clients' reads for good (librdkafka's list_groups gave up on DescribeGroups). */
    int16_t k = c->h.api_key;
    if (!b->clustered || (k != API_OFFSET_COMMIT && k != API_TXN_OFFSET_COMMIT) ||
        net_conn_serial(c->nr->conn) >= b->coord_handover_serial)
        return false;
    LOG_INFO("cluster", "%s: closing the connection: opened before this node gave up a "
             "coordinator partition, its offset commits may be stale (api %d)",
             net_conn_peer(c->nr->conn), c->h.api_key);
    net_request_fail(c->nr, "offset commit on a connection older than a handover");
    return true;
}

bool cluster_hold_for_lease(broker *b, req_ctx *c, broker_handler_fn fn)
{
    if (!b->clustered || b->stopping || !needs_lease(c->h.api_key))
        return false;
    run_lease_waits(b, false);
    if (!b->lease_waits && lease_held(b))
        return false;
    lease_wait *w = arena_alloc(&c->nr->arena, sizeof(*w));
    if (!w)
        return false; /* refused as without the wait */
    *w = (lease_wait){.c = c, .fn = fn, .since_ms = clock_mono_ms(),
                      .handovers = b->coord_handovers};
    LL_APPEND(b->lease_waits, w);
    return true;
}

/* The node coordinating pid's transactions when that is not this one; else -1. */
static int32_t remote_coordinator(const broker *b, int64_t pid)
{
    int32_t tp = b->clustered ? txn_pid_partition(pid) : -1;
    int32_t node = tp >= 0 ? leader_of(b, TXN_LOG_TOPIC, tp) : b->cfg.node_id;
    return node == b->cfg.node_id ? -1 : node < 0 ? -2 : node;
}

bool cluster_txn_needs_verify(broker *b, partition *p, int64_t pid, int16_t epoch)
{
    if (remote_coordinator(b, pid) == -1)
        return false;
    const pstate_entry *e = pstate_find(&p->log->ps, pid);
    return !e || e->epoch != epoch || e->txn != PS_TXN_ONGOING;
}

bool cluster_txn_needs_join(broker *b, partition *p, int64_t pid, int16_t epoch,
                            const char *topic, int32_t partition, bool add)
{
    if (remote_coordinator(b, pid) == -1)
        return add && b->txn_started &&
               !txn_service_verify(&b->txn, pid, epoch, topic, partition);
    return cluster_txn_needs_verify(b, p, pid, epoch);
}

bool cluster_txn_verified(broker *b, partition *p, int64_t pid, int16_t epoch,
                          const char *topic, int32_t partition)
{
    if (!b->txn_started)
        return false;
    if (remote_coordinator(b, pid) != -1)
        return !cluster_txn_needs_verify(b, p, pid, epoch);
    return txn_service_verify(&b->txn, pid, epoch, topic, partition);
}

int16_t cluster_group_txn_check(broker *b, int64_t pid, int16_t epoch, const char *group_id)
{
    if (remote_coordinator(b, pid) != -1 || !b->txn_started)
        return KERR_NOT_COORDINATOR;
    const txn_meta *t = txn_coord_find_pid(&b->txn.coord, pid);
    if (!t)
        return KERR_INVALID_PRODUCER_ID_MAPPING;
    if (t->epoch != epoch)
        return KERR_INVALID_PRODUCER_EPOCH;
    return txn_service_verify_group(&b->txn, pid, epoch, group_id) ? KERR_NONE
                                                                   : KERR_INVALID_TXN_STATE;
}

/* A join sent to another node: the caller's callback and whether it names a group. */
typedef struct join_rpc {
    txn_join_cb cb;
    void *arg;
    bool group;
} join_rpc;

static void join_answered(void *ctx, int status, const uint8_t *body, size_t len)
{
    join_rpc *j = ctx;
    addparts_req q;
    memset(&q, 0, sizeof(q));
    arena a;
    arena_init(&a);
    rd r;
    rd_init(&r, body, len);
    r.flex = true;
    if (status == 0)
        rd_tags(&r); /* the response header's tagged fields (header v1) */
    int16_t err = KERR_REQUEST_TIMED_OUT; /* unreachable / lost: retriable for the client */
    if (status == 0 && !r.err && addparts_resp_decode(&r, TXN_JOIN_VERSION, &a, &q) == 0) {
        if (q.error_code != KERR_NONE)
            err = q.error_code;
        else if (q.ntxns == 1 && j->group && q.txns[0].ngroups == 1)
            err = q.txns[0].group_errors[0];
        else if (q.ntxns == 1 && !j->group && q.txns[0].ntopics == 1 &&
                 q.txns[0].topics[0].nparts == 1)
            err = q.txns[0].topics[0].errors[0];
    }
    arena_free(&a);
    j->cb(j->arg, err);
}

/* The coordinator's answer to a local join that adds (the transaction service's reply). */
static void join_local_added(void *arg, int16_t error)
{
    join_rpc *j = arg;
    j->cb(j->arg, error);
}

int16_t cluster_txn_join(broker *b, arena *a, const char *txn_id, int64_t pid, int16_t epoch,
                         const char *name, int32_t partition, bool verify_only, txn_join_cb cb,
                         void *arg)
{
    int32_t node = remote_coordinator(b, pid);
    join_rpc *j = arena_alloc(a, sizeof(*j));
    if (!j)
        return KERR_UNKNOWN_SERVER_ERROR;
    *j = (join_rpc){cb, arg, partition < 0};
    if (node == -1) {
        if (verify_only) {
            cb(arg, partition < 0 ? cluster_group_txn_check(b, pid, epoch, name)
                                  : cluster_txn_verify_local(b, pid, epoch, name, partition));
            return KERR_NONE;
        }
        if (!b->txn_started || !txn_id || !*txn_id)
            return !b->txn_started ? KERR_COORDINATOR_NOT_AVAILABLE : KERR_INVALID_TXN_STATE;
        txn_pending *tp = txn_pending_join(a, join_local_added, j);
        if (!tp)
            return KERR_UNKNOWN_SERVER_ERROR;
        txn_participant part = {partition < 0 ? TXN_PART_GROUP : TXN_PART_PARTITION,
                                (char *)name, partition, false};
        txn_service_add(&b->txn, (txn_req)(uintptr_t)tp, txn_id, pid, epoch, &part, 1,
                        clock_wall_ms());
        return KERR_NONE;
    }
    if (node < 0)
        return KERR_REQUEST_TIMED_OUT; /* no live coordinator now: the client retries */
    kslice nm = kslice_cstr(name);
    int32_t index = partition;
    int16_t perr = KERR_NONE;
    addparts_topic topic = {nm, 1, &index, &perr};
    int16_t gerr = KERR_NONE;
    addparts_txn t = {.transactional_id = kslice_cstr(txn_id ? txn_id : ""),
                      .producer_id = pid, .producer_epoch = epoch, .verify_only = verify_only};
    if (partition < 0) {
        t.ngroups = 1;
        t.groups = &nm;
        t.group_errors = &gerr;
    } else {
        t.ntopics = 1;
        t.topics = &topic;
    }
    addparts_req q;
    memset(&q, 0, sizeof(q));
    q.ntxns = 1;
    q.txns = &t;
    wr w;
    wr_init(&w, 96);
    addparts_req_encode(&w, TXN_JOIN_VERSION, &q);
    int rc = w.oom ? -1
                   : peer_send(b->peers, node, API_ADD_PARTITIONS_TO_TXN, TXN_JOIN_VERSION,
                               true, w.p, w.len, RPC_TIMEOUT_MS, join_answered, j);
    wr_free(&w);
    return rc == 0 ? KERR_NONE : KERR_REQUEST_TIMED_OUT;
}

int16_t cluster_txn_verify_local(broker *b, int64_t pid, int16_t epoch, const char *topic,
                                 int32_t partition)
{
    if (partition == -1)
        return cluster_group_txn_check(b, pid, epoch, topic);
    if (remote_coordinator(b, pid) != -1 || !b->txn_started)
        return KERR_NOT_COORDINATOR;
    const txn_meta *t = txn_coord_find_pid(&b->txn.coord, pid);
    if (t && (t->pid != pid || t->epoch > epoch))
        return KERR_INVALID_PRODUCER_EPOCH; /* fenced by a newer producer: a zombie */
    return txn_service_verify(&b->txn, pid, epoch, topic, partition) ? KERR_NONE
                                                                      : KERR_INVALID_TXN_STATE;
}

/* ---------------- coordinator side: prepare and markers on other nodes ---------------- */

/* The partition op's request names on its leader: the data partition, or for a group the
 * __consumer_offsets partition of the group's coordinator. Returns the topic. */
static const char *op_partition(const remote_op *op, int32_t *index)
{
    if (op->part.kind == TXN_PART_GROUP) {
        *index = coordinator_partition(op->b, false, kslice_cstr(op->part.name));
        return GROUP_LOG_TOPIC;
    }
    *index = op->part.partition;
    return op->part.name;
}

static int32_t op_target(const remote_op *op)
{
    int32_t index;
    const char *topic = op_partition(op, &index);
    return leader_of(op->b, topic, index);
}

static void op_free(remote_op *op)
{
    free(op->txn_id);
    free(op->part.name);
    free(op);
}

static void op_unlink(remote_op *op)
{
    for (remote_op *o = op->b->remote_ops; o; o = o->next)
        if (o == op) {
            DL_DELETE(op->b->remote_ops, op);
            return;
        }
}

static void op_retry_later(remote_op *op, const char *why)
{
    int64_t delay = BACKOFF_MIN_MS << (op->attempts < 6 ? op->attempts : 6);
    if (delay > BACKOFF_MAX_MS)
        delay = BACKOFF_MAX_MS;
    if (op->attempts == 3 || op->attempts % 50 == 49)
        LOG_WARN("cluster", "%s: %s for %s-%d still pending (%s); retrying", op->txn_id,
                 op->kind == TXN_REMOTE_PREPARE ? "prepare" : "marker", op->part.name,
                 op->part.partition, why);
    op->attempts++;
    op->in_flight = false;
    op->due_ms = clock_mono_us() / 1000 + delay;
}

/* Errors after which the same request may succeed later (leadership, loading). */
static bool retriable(int16_t err)
{
    return err == KERR_NOT_LEADER_OR_FOLLOWER || err == KERR_LEADER_NOT_AVAILABLE ||
           err == KERR_UNKNOWN_TOPIC_OR_PARTITION || err == KERR_REQUEST_TIMED_OUT ||
           err == KERR_COORDINATOR_NOT_AVAILABLE || err == KERR_NOT_COORDINATOR;
}

static void op_finish(remote_op *op, bool ok)
{
    broker *b = op->b;
    op_unlink(op);
    if (b->txn_started)
        txn_service_remote_done(&b->txn, op->kind, op->txn_id, &op->part, ok, clock_wall_ms());
    op_free(op);
}

/* A participant refused op's coordinator epoch. When this node is still at that epoch
 * for op's log partition, it stops acting for the partition's transactional ids (a newer
 * coordinator drives them): their RPCs are dropped, op included, instead of being retried
 * for ever. Returns false when op should be sent again (with the newer epoch). */
static bool op_fenced(remote_op *op)
{
    broker *b = op->b;
    LOG_WARN("cluster", "%s: %s on %s-%d refused: coordinator epoch %d is fenced", op->txn_id,
             op->kind == TXN_REMOTE_PREPARE ? "prepare" : "marker", op->part.name,
             op->part.partition, op->sent_cepoch);
    if (!b->txn_started ||
        !txn_service_fenced(&b->txn, op->txn_id, op->sent_cepoch, clock_wall_ms()))
        return false;
    int32_t np = broker_internal_partitions(b, TXN_LOG_TOPIC);
    int32_t part = txn_log_partition_for(op->txn_id, np);
    remote_op *o, *tmp;
    DL_FOREACH_SAFE(b->remote_ops, o, tmp) {
        if (txn_log_partition_for(o->txn_id, np) != part)
            continue;
        if (o != op && o->in_flight) {
            o->cancelled = true; /* freed when its answer comes */
            continue;
        }
        DL_DELETE(b->remote_ops, o);
        op_free(o);
    }
    return true;
}

/* Frees op when its answer no longer matters: this node is stopping, or op's coordinator
 * was fenced while it was in flight. */
static bool op_dropped(remote_op *op, int status)
{
    if (status != PEER_ERR_STOPPED && !op->b->stopping && !op->cancelled)
        return false;
    op_unlink(op);
    op_free(op);
    return true;
}

/* Acts on a participant's answer err to op, sent alone or in a batch. */
static void op_result(remote_op *op, int16_t err)
{
    if (err == KERR_TRANSACTION_COORDINATOR_FENCED) {
        if (!op_fenced(op))
            op_retry_later(op, kafka_error_name(err));
        return;
    }
    if (retriable(err)) {
        op_retry_later(op, kafka_error_name(err));
        return;
    }
    if (err != KERR_NONE)
        LOG_WARN("cluster", "%s: %s on %s-%d answered %s", op->txn_id,
                 op->kind == TXN_REMOTE_PREPARE ? "prepare" : "marker", op->part.name,
                 op->part.partition, kafka_error_name(err));
    /* A marker error other than leadership is final (the partition is read-only for good);
     * a prepare error is a "no" vote. */
    op_finish(op, op->kind == TXN_REMOTE_MARKER || err == KERR_NONE);
}

static inter_tp op_tp(const remote_op *op)
{
    int32_t index;
    const char *topic = op_partition(op, &index);
    return (inter_tp){kslice_cstr(topic), index, 0};
}

/* The current epoch, not the one at the decision: a retry after this node took the
 * partition again in a newer epoch must not be refused for an epoch it left behind. */
static int32_t op_cepoch(const remote_op *op)
{
    broker *b = op->b;
    return b->txn_started ? txn_service_coordinator_epoch(&b->txn, op->txn_id) : 0;
}

/* Ops of one kind for one node sent in one request: ops[i] is the request's entry i. */
typedef struct op_batch {
    int kind; /* TXN_REMOTE_* */
    int n;
    remote_op *ops[];
} op_batch;

/* The answer's error for entry i of batch ob (decoded: the answer parsed whole, with an
 * entry per op), UNKNOWN_SERVER_ERROR when it does not say. */
static int16_t batch_entry_error(const op_batch *ob, int i, bool decoded,
                                 const txn_prepares_req *pq, const txn_markers_req *mq)
{
    if (!decoded)
        return KERR_UNKNOWN_SERVER_ERROR;
    if (ob->kind == TXN_REMOTE_PREPARE) {
        const txn_prepare_req *t = &pq->txns[i];
        return t->error != KERR_NONE ? t->error
               : t->ntps == 1        ? t->tps[0].error
                                     : KERR_UNKNOWN_SERVER_ERROR;
    }
    const txn_marker_entry *m = &mq->markers[i];
    return m->pid == ob->ops[i]->pid && m->ntps == 1 ? m->tps[0].error
                                                     : KERR_UNKNOWN_SERVER_ERROR;
}

static void batch_answered(void *ctx, int status, const uint8_t *body, size_t len)
{
    op_batch *ob = ctx;
    arena a;
    arena_init(&a);
    txn_prepares_req pq = {0};
    txn_markers_req mq = {0};
    bool decoded = false;
    if (status == 0) {
        rd r;
        rd_init(&r, body, len);
        if (ob->kind == TXN_REMOTE_PREPARE) {
            decoded = txn_prepares_resp_decode(&r, &a, &pq, 2) == 0 && pq.ntxns == ob->n;
        } else {
            r.flex = true; /* v1: skip the response header's tags, then a flexible body */
            rd_tags(&r);
            decoded = txn_markers_resp_decode(&r, &a, &mq) == 0 && mq.nmarkers == ob->n;
        }
    }
    /* In request order. An op's result may fence its log partition, which cancels the
     * batch's later ops of that partition (still in flight): they are dropped in turn. */
    for (int i = 0; i < ob->n; i++) {
        remote_op *op = ob->ops[i];
        if (op_dropped(op, status))
            continue;
        if (status != 0)
            op_retry_later(op, peer_strerror(status));
        else
            op_result(op, batch_entry_error(ob, i, decoded, &pq, &mq));
    }
    arena_free(&a);
    free(ob);
}

/* Encodes ops as one BrookPrepareTxn v2 (an entry per op: its transaction, coordinator
 * epoch and partition) or one WriteTxnMarkers v1 (a marker per op, with its transaction's
 * sequence in a tag), in the given (decision) order. */
static void batch_encode(wr *w, int kind, remote_op **ops, int n)
{
    inter_tp *tps = malloc(sizeof(*tps) * (size_t)n);
    txn_prepare_req *ps = kind == TXN_REMOTE_PREPARE ? malloc(sizeof(*ps) * (size_t)n) : NULL;
    txn_marker_entry *ms = kind == TXN_REMOTE_MARKER ? malloc(sizeof(*ms) * (size_t)n) : NULL;
    BROOK_ASSERT(tps && (ps || ms));
    for (int i = 0; i < n; i++) {
        remote_op *op = ops[i];
        op->sent_cepoch = op_cepoch(op);
        tps[i] = op_tp(op);
        if (ps)
            ps[i] = (txn_prepare_req){kslice_cstr(op->txn_id), op->pid, op->epoch, 1,
                                      &tps[i], 0, op->sent_cepoch};
        else
            ms[i] = (txn_marker_entry){op->pid, op->epoch, op->commit, op->sent_cepoch, 1,
                                       &tps[i], op->txn_seq};
    }
    if (ps) {
        txn_prepares_req q = {n, ps};
        txn_prepares_req_encode(w, &q, 2);
    } else {
        txn_markers_req q = {n, ms};
        w->flex = true;
        txn_markers_req_encode(w, &q);
    }
    free(ms);
    free(ps);
    free(tps);
}

/* Sends ops[0..n), all of one kind, to node (which leads their partitions) in one request. */
static void batch_send(broker *b, int32_t node, int kind, remote_op **ops, int n)
{
    op_batch *ob = malloc(sizeof(*ob) + sizeof(remote_op *) * (size_t)n);
    BROOK_ASSERT(ob);
    ob->kind = kind;
    ob->n = n;
    for (int i = 0; i < n; i++) {
        BROOK_ASSERT(ops[i]->kind == kind && !ops[i]->in_flight);
        ops[i]->in_flight = true;
        ob->ops[i] = ops[i];
    }
    wr w;
    wr_init(&w, 64 * (size_t)n);
    batch_encode(&w, kind, ops, n);
    bool marker = kind == TXN_REMOTE_MARKER;
    if (marker) {
        b->marker_requests++;
        b->markers_sent += (uint64_t)n;
    } else {
        b->prepare_requests++;
        b->prepares_sent += (uint64_t)n;
    }
    if (w.oom ||
        peer_send(b->peers, node, marker ? API_WRITE_TXN_MARKERS : API_BROOK_PREPARE_TXN,
                  marker ? 1 : 2, marker, w.p, w.len, RPC_TIMEOUT_MS, batch_answered, ob) != 0) {
        for (int i = 0; i < n; i++)
            op_retry_later(ops[i], "cannot send"); /* out of memory */
        free(ob);
    }
    wr_free(&w);
}

/* Whether op's partition is gone from the cluster (its topic deleted, or not that many
 * partitions any more). */
static bool op_partition_gone(const remote_op *op)
{
    int32_t index;
    const char *topic = op_partition(op, &index);
    const cv_topic *t = op->b->view ? cv_topic_find(op->b->view, topic, strlen(topic)) : NULL;
    return op->b->view && (!t || index >= t->nparts);
}

/* Finishes every op waiting whose partition is gone: a participant whose topic was
 * deleted votes no, and its marker counts as written, as on one node (service.c): nothing
 * is left there to prepare or mark. These used to be retried for good, EndTxn never
 * answered and every read_committed reader of the transaction's other partitions stuck (an
 * adversarial hunt, session 37). They leave the list before any is finished: finishing
 * one may add or drop others. */
static void ops_finish_gone(broker *b)
{
    remote_op *gone = NULL, *op, *tmp;
    DL_FOREACH_SAFE(b->remote_ops, op, tmp) {
        if (!op->in_flight && !op->cancelled && op_target(op) < 0 && op_partition_gone(op)) {
            DL_DELETE(b->remote_ops, op);
            DL_APPEND(gone, op);
        }
    }
    DL_FOREACH_SAFE(gone, op, tmp) {
        DL_DELETE(gone, op);
        LOG_WARN("cluster", "%s: %s-%d is gone: its %s counts as %s", op->txn_id,
                 op->part.name, op->part.partition,
                 op->kind == TXN_REMOTE_PREPARE ? "vote" : "marker",
                 op->kind == TXN_REMOTE_PREPARE ? "no" : "written");
        op_finish(op, op->kind != TXN_REMOTE_PREPARE); /* not listed: op_unlink is a no-op */
    }
}

/* The node that should get op now, or -1 (op then waits for its backoff). */
static int32_t op_node(remote_op *op)
{
    int32_t node = op_target(op);
    if (node < 0)
        op_retry_later(op, "no leader");
    return node;
}

/* Whether this node's replica of op's partition leads now (not only named leader by the
 * view). */
static bool local_replica_leads(const remote_op *op)
{
    int32_t index;
    const char *topic = op_partition(op, &index);
    return cluster_leader_error(op->b, kslice_cstr(topic), index) == KERR_NONE;
}

static void on_ops_idle(uv_idle_t *h);

/* txn_remote_fn: takes over every participant this node does not lead (or may not: until
 * the first view, nothing is known, so everything goes through the RPC path). */
static bool remote_hook(void *ctx, int kind, const char *txn_id, const txn_participant *part,
                        int64_t pid, int16_t epoch, int64_t txn_seq, bool commit)
{
    broker *b = ctx;
    if (!b->peers) /* cluster_stop has run: the next start recovers it from the log */
        return true;
    remote_op probe = {.b = b, .part = *part};
    if (b->view && op_target(&probe) == b->cfg.node_id && local_replica_leads(&probe))
        return false;
    /* Otherwise an RPC, to this node too: the view may name this node leader before its
     * replica took the epoch (a view is applied partition by partition) or when it refused
     * it; writing the marker to a replica that does not lead would stamp it with a stale
     * epoch (sim_repl_txn --local-unled). The RPC is answered NOT_LEADER_OR_FOLLOWER until
     * the replica leads, and retried. */
    remote_op *op = calloc(1, sizeof(*op));
    BROOK_ASSERT(op);
    op->b = b;
    op->kind = kind;
    op->txn_id = strdup(txn_id);
    op->part = *part;
    op->part.name = strdup(part->name);
    BROOK_ASSERT(op->txn_id && op->part.name);
    op->pid = pid;
    op->epoch = epoch;
    op->txn_seq = txn_seq;
    op->commit = commit;
    DL_APPEND(b->remote_ops, op);
    if (kind == TXN_REMOTE_MARKER && b->cfg.debug_marker_delay_ms > 0) {
        op->due_ms = clock_mono_us() / 1000 + b->cfg.debug_marker_delay_ms; /* tests only */
        return true;
    }
    uv_idle_start(&b->ops_idle, on_ops_idle); /* due now: sent after this turn */
    return true;
}

/* txn_unloaded_fn: this node no longer coordinates log partition `part`; the RPCs of its
 * transactional ids go with it (a later load starts from the log only: a late answer must
 * not complete a transaction of that load, nor a retry carry its coordinator epoch). */
static void remote_unloaded(void *ctx, int32_t part)
{
    broker *b = ctx;
    int32_t np = broker_internal_partitions(b, TXN_LOG_TOPIC);
    remote_op *o, *tmp;
    DL_FOREACH_SAFE(b->remote_ops, o, tmp) {
        if (txn_log_partition_for(o->txn_id, np) != part)
            continue;
        if (o->in_flight) {
            o->cancelled = true; /* freed when its answer comes */
            continue;
        }
        DL_DELETE(b->remote_ops, o);
        op_free(o);
    }
}

/* Entries of one request at most, and (node, kind) pairs batched at once (more go alone). */
#define OP_BATCH_MAX 128
#define OP_BATCH_BUCKETS 16

typedef struct op_bucket {
    int32_t node;
    int kind;
    int n;
    remote_op *ops[OP_BATCH_MAX];
} op_bucket;

/* Sends ops that are due; retrying: ones that failed before (a new view may have
 * brought their leader back) go now. Ops on their first attempt share one request per
 * node and kind (the commit path's round trips batched per node pair and loop turn); a
 * retry goes alone, so that a partition that keeps a batch from being answered (its high
 * watermark held back) delays the others at most once. */
static void ops_kick(broker *b, bool retrying)
{
    ops_finish_gone(b);
    int64_t now = clock_mono_us() / 1000;
    op_bucket *bk = NULL;
    int nbk = 0;
    for (remote_op *op = b->remote_ops; op; op = op->next) {
        if (op->in_flight || !(op->due_ms <= now || (retrying && op->attempts > 0)))
            continue;
        int32_t node = op_node(op);
        if (node < 0)
            continue;
        int k = 0;
        while (k < nbk && !(bk[k].node == node && bk[k].kind == op->kind))
            k++;
        if (op->attempts > 0 || (k == nbk && nbk == OP_BATCH_BUCKETS)) {
            batch_send(b, node, op->kind, &op, 1);
            continue;
        }
        if (k == nbk) {
            if (!bk)
                bk = malloc(sizeof(*bk) * OP_BATCH_BUCKETS);
            BROOK_ASSERT(bk);
            bk[nbk++] = (op_bucket){.node = node, .kind = op->kind};
        }
        bk[k].ops[bk[k].n++] = op;
        if (bk[k].n == OP_BATCH_MAX) {
            batch_send(b, node, op->kind, bk[k].ops, bk[k].n);
            bk[k].n = 0;
        }
    }
    for (int k = 0; k < nbk; k++)
        if (bk[k].n > 0)
            batch_send(b, bk[k].node, bk[k].kind, bk[k].ops, bk[k].n);
    free(bk);
}

/* After a loop turn in which prepares or markers were decided. */
static void on_ops_idle(uv_idle_t *h)
{
    broker *b = h->data;
    uv_idle_stop(h);
    ops_kick(b, false);
}

/* ---------------- participant side: ask about transactions held open ---------------- */

static void status_answered(void *ctx, int status, const uint8_t *body, size_t len)
{
    status_op *so = ctx;
    broker *b = so->b;
    txn_status_req q = {0};
    rd r;
    rd_init(&r, body, len);
    if (status == 0 && !b->stopping && txn_status_resp_decode(&r, &q) == 0 &&
        q.error == KERR_NONE &&
        (q.outcome == TXN_OUTCOME_COMMIT || q.outcome == TXN_OUTCOME_ABORT ||
         q.outcome == TXN_OUTCOME_UNKNOWN)) {
        int16_t err;
        partition *p = broker_partition(b, kslice_cstr(so->topic), so->partition, &err);
        pstate_entry *e = p ? pstate_find(&p->log->ps, so->pid) : NULL;
        bool commit = q.outcome == TXN_OUTCOME_COMMIT;
        int16_t epoch = q.marker_epoch >= so->epoch ? q.marker_epoch : so->epoch;
        /* The answer does not name the coordinator's epoch: the marker records the newest
         * this partition knows for the producer, so it neither fences nor is fenced. */
        int32_t cepoch = e && e->coord_epoch > 0 ? e->coord_epoch : 0;
        int64_t off;
        /* Only the transaction we asked about: if it ended meanwhile (the coordinator's own
         * marker) and the producer began another here, the answer is not about that one. */
        if (e && e->txn != PS_TXN_NONE && e->epoch == so->epoch &&
            e->txn_first_offset == so->first_offset &&
            cluster_leader_error(b, kslice_cstr(so->topic), so->partition) == KERR_NONE &&
            log_append_marker(p->log, so->pid, epoch, commit, cepoch, clock_wall_ms(), &off) ==
                LOG_OK) {
            store_mark_dirty(b->store, p);
            LOG_INFO("cluster", "%s-%d: in-doubt transaction of producer %lld resolved by its "
                     "coordinator: %s", so->topic, so->partition, (long long)so->pid,
                     commit ? "COMMIT" : "ABORT");
        }
    }
    free(so->topic);
    free(so);
}

/* Asks the coordinator of every transaction open on a partition this node leads. */
static void check_in_doubt(broker *b)
{
    for (topic *t = b->md.topics; t; t = t->hh.next) {
        if (t->internal)
            continue;
        for (int32_t i = 0; i < t->npartitions; i++) {
            if (leader_of(b, t->name, i) != b->cfg.node_id || !t->parts[i]->log->ps.open_txns)
                continue;
            for (pstate_entry *e = t->parts[i]->log->ps.by_pid; e; e = e->hh.next) {
                int32_t tp = txn_pid_partition(e->pid);
                int32_t node = tp >= 0 ? leader_of(b, TXN_LOG_TOPIC, tp) : -1;
                if (e->txn == PS_TXN_NONE || node < 0)
                    continue;
                status_op *so = calloc(1, sizeof(*so));
                BROOK_ASSERT(so);
                so->b = b;
                so->topic = strdup(t->name);
                BROOK_ASSERT(so->topic);
                so->partition = i;
                so->pid = e->pid;
                so->epoch = e->epoch;
                so->first_offset = e->txn_first_offset;
                txn_status_req q = {e->pid, e->epoch, 0, 0, 0};
                wr w;
                wr_init(&w, 16);
                txn_status_req_encode(&w, &q);
                if (peer_send(b->peers, node, API_BROOK_TXN_STATUS, 0, false, w.p, w.len,
                              RPC_TIMEOUT_MS, status_answered, so) != 0) {
                    free(so->topic);
                    free(so);
                }
                wr_free(&w);
            }
        }
    }
}

/* Coordinator side of BrookTxnStatus: how did (pid, epoch)'s transaction end? */
void cluster_txn_outcome(broker *b, int64_t pid, int16_t epoch, txn_status_req *out)
{
    out->error = KERR_NONE;
    out->outcome = TXN_OUTCOME_ONGOING;
    out->marker_epoch = epoch;
    int32_t tp = txn_pid_partition(pid);
    if (tp < 0 || leader_of(b, TXN_LOG_TOPIC, tp) != b->cfg.node_id || !b->txn_started ||
        !coordinator_here(b, true, tp)) {
        out->error = KERR_NOT_COORDINATOR; /* the participant asks again later */
        return;
    }
    txn_meta *t = txn_coord_find_pid(&b->txn.coord, pid);
    if (!t || t->pid != pid) {
        /* Never known here, or rotated away after its last transaction completed: no
         * commit of this producer can be pending anywhere. */
        out->outcome = TXN_OUTCOME_UNKNOWN;
        return;
    }
    out->marker_epoch = t->epoch > epoch ? t->epoch : epoch;
    if (t->epoch < epoch)
        return; /* we are behind the participant: do not decide */
    if (t->epoch == epoch && t->state == TXN_ONGOING)
        return;
    if (t->epoch == epoch && t->state == TXN_PREPARE_COMMIT)
        out->outcome = TXN_OUTCOME_COMMIT;
    else
        out->outcome = TXN_OUTCOME_ABORT; /* aborting, or ended without this partition */
}

/* A test failpoint: BROOK_FAILPOINT_ANY_COORDINATOR_EPOCH=1 takes every coordinator epoch
 * as possible, so that integration_cluster_coordinator_epoch can stand a forged marker in
 * for a newer coordinator and check that the replaced one stops acting. */
static bool any_coordinator_epoch(void)
{
    static int cached = -1;
    if (cached < 0) {
        const char *env = getenv("BROOK_FAILPOINT_ANY_COORDINATOR_EPOCH");
        cached = env && strcmp(env, "1") == 0;
        if (cached)
            LOG_WARN("cluster", "failpoint: every coordinator epoch taken as possible");
    }
    return cached == 1;
}

bool cluster_coordinator_epoch_possible(broker *b, int64_t pid, int32_t coordinator_epoch)
{
    if (any_coordinator_epoch())
        return true;
    if (!b->clustered)
        return !b->txn_started || coordinator_epoch <= b->txn.coord.cfg.coordinator_epoch;
    int32_t tp = txn_pid_partition(pid);
    const cv_topic *t = b->view ? cv_topic_find(b->view, TXN_LOG_TOPIC, strlen(TXN_LOG_TOPIC))
                                : NULL;
    if (tp < 0 || !t || tp >= t->nparts)
        return true; /* not a transactional producer id of this cluster: nothing to compare */
    return coordinator_epoch <= t->parts[tp].leader_epoch;
}

/* ---------------- views ---------------- */

/* Makes the local registry hold the view's topics. */
static void reconcile_topics(broker *b, const cluster_view *v)
{
    for (const cv_topic *ct = v->topics; ct; ct = ct->hh.next) {
        topic *t = md_find(&b->md, kslice_cstr(ct->name));
        const char *msg = NULL;
        int16_t err = KERR_NONE;
        bool fresh = !t;
        if (t && !t->internal && !ct->id_assigned && !md_id_is_zero(t->id) &&
            !md_id_is_zero(ct->id) && memcmp(t->id, ct->id, 16) != 0) {
            /* Another topic of the same name (deleted and recreated while this node did not
             * look): what is kept here belongs to the old one. Kafka's topic ids exist for
             * this: never serve one topic's records as the other's. */
            LOG_WARN("cluster", "topic %s was recreated (new topic id): dropping the old "
                     "topic's data here", ct->name);
            broker_topic_delete(b, kslice_cstr(ct->name));
            t = NULL;
            fresh = true;
        }
        if (!t) {
            err = broker_topic_create(b, kslice_cstr(ct->name), ct->nparts, ct->nconfigs,
                                      ct->config_keys, ct->config_values, false, &msg);
            t = md_find(&b->md, kslice_cstr(ct->name));
        } else if (t->npartitions < ct->nparts) {
            err = broker_topic_add_partitions(b, t, ct->nparts, false, &msg);
        }
        if (err != KERR_NONE || !t) {
            LOG_ERROR("cluster", "cannot mirror topic %s locally: %s", ct->name,
                      msg ? msg : kafka_error_name(err));
            continue;
        }
        bool cfg_same = t->nconfigs == ct->nconfigs;
        for (int i = 0; cfg_same && i < t->nconfigs; i++)
            cfg_same = strcmp(t->config_keys[i], ct->config_keys[i]) == 0 &&
                       strcmp(t->config_values[i], ct->config_values[i]) == 0;
        if (!cfg_same)
            broker_topic_set_configs(b, t, ct->nconfigs, ct->config_keys, ct->config_values,
                                     false, &msg);
        /* The znode's id is the topic's (zero while a znode from before topic ids waits
         * for the controller to give it one): a topic created here just now, kept from
         * before ids, or given its id by the controller (id_assigned) takes it. */
        if (memcmp(t->id, ct->id, 16) != 0 && (fresh || t->internal || ct->id_assigned ||
                                               md_id_is_zero(t->id) || md_id_is_zero(ct->id))) {
            if (md_set_id(&b->md, t, ct->id) != 0)
                LOG_ERROR("cluster", "topic %s: its topic id is another local topic's",
                          ct->name);
            else if (md_save(&b->md) != 0)
                LOG_ERROR("cluster", "cannot persist the topic registry");
        }
    }
    topic *t, *tmp;
    HASH_ITER(hh, b->md.topics, t, tmp) {
        if (t->internal || cv_topic_find(v, t->name, strlen(t->name)))
            continue;
        LOG_INFO("cluster", "topic %s is gone from the cluster; deleting it here", t->name);
        broker_topic_delete(b, kslice_cstr(t->name));
    }
}

static void point_peers(broker *b, const cluster_view *old, const cluster_view *v)
{
    for (int i = 0; i < v->nbrokers; i++)
        peer_pool_set_address(b->peers, v->brokers[i].id, v->brokers[i].host,
                              v->brokers[i].port);
    for (int i = 0; old && i < old->nbrokers; i++)
        if (!cv_broker_find(v, old->brokers[i].id))
            peer_pool_forget(b->peers, old->brokers[i].id);
}

static bool internal_ready(const cluster_view *v)
{
    const cv_topic *a = cv_topic_find(v, TXN_LOG_TOPIC, strlen(TXN_LOG_TOPIC));
    const cv_topic *g = cv_topic_find(v, GROUP_LOG_TOPIC, strlen(GROUP_LOG_TOPIC));
    return a && g && a->state_version >= 0 && g->state_version >= 0;
}

static void on_view(void *ctx, cluster_view *v)
{
    broker *b = ctx;
    if (b->stopping)
        return;
    cluster_view *old = b->view;
    cv_ref(v);
    b->view = v;
    b->route_gen++;
    point_peers(b, old, v);
    if (v->registered) {
        reconcile_topics(b, v);
        replica_on_view(b, v);
    }
    broker_dyn_on_view(b, v);
    sec_cluster_on_view(b, old, v);
    broker_quota_on_view(b, old, v);
    if (v->registered && !b->ready_logged) {
        b->ready_logged = true;
        LOG_INFO("broker", "brookd ready listener=%s:%d node.id=%d brokers=%d controller=%d "
                 "topics=%zu", b->cfg.host, b->port, b->cfg.node_id, v->nbrokers, v->controller,
                 md_count(&b->md));
    }
    if (internal_ready(v) && !b->checked_in_doubt) {
        b->checked_in_doubt = true;
        check_in_doubt(b);
    }
    cv_unref(old);
    ops_kick(b, true);
    broker_on_progress(b); /* parked fetches may now see other leaders */
}

static void on_cluster_timer(uv_timer_t *t)
{
    broker *b = t->data;
    ops_kick(b, false);
    replica_tick(b);
    liveness_tick(b);
    produce_expire(b);
    run_lease_waits(b, false);
    int64_t now = clock_mono_us() / 1000;
    if (b->checked_in_doubt && now - b->last_in_doubt_ms >= b->cfg.txn_participant_check_ms) {
        b->last_in_doubt_ms = now;
        check_in_doubt(b);
    }
}

/* A random id kept in the data directory: tells our own stale registration apart from
 * another broker's that uses the same node id. */
static int load_incarnation(broker *b)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/incarnation", b->cfg.data_dir);
    FILE *f = fopen(path, "r");
    if (f) {
        bool ok = fgets(b->incarnation, sizeof(b->incarnation), f) != NULL;
        fclose(f);
        b->incarnation[strcspn(b->incarnation, "\n")] = '\0';
        if (ok && strlen(b->incarnation) == 32)
            return 0;
    }
    uint8_t raw[16];
    FILE *ur = fopen("/dev/urandom", "rb");
    bool got = ur && fread(raw, 1, 16, ur) == 16;
    if (ur)
        fclose(ur);
    if (!got)
        return -EIO;
    for (int i = 0; i < 16; i++)
        snprintf(b->incarnation + 2 * i, 3, "%02x", raw[i]);
    char line[48];
    snprintf(line, sizeof(line), "%.32s\n", b->incarnation);
    return fs_write_atomic(path, line, strlen(line));
}

int cluster_init(broker *b)
{
    if (!b->cfg.zookeeper_connect || !*b->cfg.zookeeper_connect)
        return 0;
    int rc = load_incarnation(b);
    if (rc != 0) {
        LOG_ERROR("cluster", "cannot keep the incarnation id in %s", b->cfg.data_dir);
        return rc;
    }
    char client_id[64];
    snprintf(client_id, sizeof(client_id), "brookd-%d", b->cfg.node_id);
    b->peers = peer_pool_new(b->loop, b->cfg.node_id, client_id);
    if (!b->peers)
        return -ENOMEM;
    peer_pool_set_tls(b->peers, b->cfg.inter_broker_tls); /* NULL unless the listener is SSL */
    if (sec_cluster_peer_login(b, b->peers) != 0)
        return -ENOMEM;
    b->txn.remote = remote_hook;
    b->txn.unloaded = remote_unloaded;
    b->txn.remote_ctx = b;
    b->txn.cluster_node = b->cfg.node_id;
    uv_idle_init(b->loop, &b->ops_idle);
    b->ops_idle.data = b;
    b->clustered = true;
    /* ZooKeeper holds a cluster's credentials and bindings: nobody logs in with, or is
     * authorized by, what this data directory kept as a single node (sec_cluster.h) */
    if (b->creds.n > 0 || b->acls.n > 0)
        LOG_INFO("cluster", "not using the %d SCRAM credentials and %d ACL bindings of %s: "
                 "a cluster keeps them in ZooKeeper", b->creds.n, b->acls.n, b->cfg.data_dir);
    sec_creds_free(&b->creds);
    sec_acls_free(&b->acls);
    return 0;
}

int cluster_start(broker *b)
{
    if (!b->clustered)
        return 0;
    /* The registration lists every listener (clients are answered with the endpoint of the
     * listener they came in on); its host:port is the inter-broker one, which peers use. */
    cv_endpoint eps[CV_ENDPOINTS_MAX];
    BROOK_ASSERT(b->cfg.nlst <= CV_ENDPOINTS_MAX);
    for (int i = 0; i < b->cfg.nlst; i++) {
        const char *host;
        int port;
        broker_listener_address(b, i, &host, &port);
        snprintf(eps[i].name, sizeof(eps[i].name), "%s", b->cfg.lst[i].name);
        snprintf(eps[i].host, sizeof(eps[i].host), "%s", host);
        eps[i].port = port;
    }
    const char *ib_host;
    int ib_port;
    broker_listener_address(b, b->cfg.inter_broker_lst, &ib_host, &ib_port);
    zk_config zc = {
        .connect = b->cfg.zookeeper_connect,
        .session_timeout_ms = b->cfg.zookeeper_session_timeout_ms,
        .node_id = b->cfg.node_id,
        .host = ib_host,
        .port = ib_port,
        .endpoints = eps,
        .nendpoints = b->cfg.nlst,
        .incarnation = b->incarnation,
        .min_brokers = b->cfg.cluster_min_brokers,
        .default_rf = b->cfg.default_replication_factor,
        .min_isr = b->cfg.min_insync_replicas,
        .prefer_leaders = b->cfg.auto_leader_rebalance,
        .internal_names = {TXN_LOG_TOPIC, GROUP_LOG_TOPIC},
        .internal_parts = {b->cfg.txn_log_partitions, b->cfg.offsets_partitions},
        .internal_rf = {b->cfg.txn_log_rf, b->cfg.offsets_rf},
        .set_acl = b->cfg.zookeeper_set_acl,
    };
    char digest[512] = "";
    if (b->cfg.zookeeper_digest_user && *b->cfg.zookeeper_digest_user) {
        snprintf(digest, sizeof(digest), "%s:%s", b->cfg.zookeeper_digest_user,
                 b->cfg.zookeeper_digest_password);
        zc.digest = digest;
    }
    b->zk = zk_start(b->loop, &zc, on_view, b);
    if (!b->zk)
        return -EIO;
    zk_set_isr_callback(b->zk, replica_on_isr);
    uv_timer_init(b->loop, &b->cluster_timer);
    b->cluster_timer.data = b;
    uv_timer_start(&b->cluster_timer, on_cluster_timer, 50, 50);
    return 0;
}

void cluster_stop(broker *b)
{
    if (!b->clustered)
        return;
    while (b->lease_waits) { /* stopping: answered by nobody, the connections close */
        lease_wait *w = b->lease_waits;
        LL_DELETE(b->lease_waits, w);
        w->c->nr->no_response = true;
        net_request_done(w->c->nr);
    }
    if (b->zk) {
        uv_timer_stop(&b->cluster_timer);
        uv_close((uv_handle_t *)&b->cluster_timer, NULL);
        zk_stop(b->zk); /* ends the session: the registration goes at once */
        b->zk = NULL;
    }
    uv_idle_stop(&b->ops_idle);
    uv_close((uv_handle_t *)&b->ops_idle, NULL);
    peer_pool_stop(b->peers); /* in-flight ops see PEER_ERR_STOPPED and free themselves */
    b->peers = NULL;
    replica_stop(b);
    liveness_stop(b);
    while (b->remote_ops) {
        remote_op *op = b->remote_ops;
        DL_DELETE(b->remote_ops, op);
        op_free(op);
    }
    cv_unref(b->view);
    b->view = NULL;
    b->route_gen++;
}

/* ---------------- topic changes through ZooKeeper ---------------- */

static const char *cstr(kslice s, char *buf, size_t cap)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, s.p, n);
    buf[n] = '\0';
    return buf;
}

int16_t cluster_topic_create(broker *b, kslice name, int32_t nparts, int32_t rf, int nconfigs,
                             char *const *keys, char *const *values, const int32_t *replicas,
                             bool validate_only, const char **msg, uint8_t *id_out)
{
    if (id_out)
        memset(id_out, 0, 16);
    int16_t err = broker_topic_create(b, name, nparts, nconfigs, keys, values,
                                      validate_only || b->clustered, msg);
    if (!b->clustered || err != KERR_NONE || validate_only) {
        topic *t = err == KERR_NONE && !validate_only ? md_find(&b->md, name) : NULL;
        if (t && id_out)
            memcpy(id_out, t->id, 16);
        return err;
    }
    if (!b->zk)
        return KERR_REQUEST_TIMED_OUT;
    char buf[BROOK_TOPIC_NAME_MAX + 1];
    err = zk_topic_create(b->zk, cstr(name, buf, sizeof(buf)), nparts, rf, nconfigs, keys,
                          values, replicas, msg, id_out);
    if (err != KERR_NONE && id_out)
        memset(id_out, 0, 16);
    zk_refresh_sync(b->zk, 2000);
    return err;
}

/* Deletes the topic called name; with id (16 bytes, may be NULL) only while the topic of
 * that name is the one with that id. */
static int16_t topic_delete(broker *b, kslice name, const uint8_t *id)
{
    const topic *t = md_find(&b->md, name);
    if (t && kafka_topic_internal(t->name))
        return KERR_INVALID_TOPIC_EXCEPTION; /* the coordinators' state lives there */
    if (!b->clustered) {
        if (id && (!t || memcmp(t->id, id, 16) != 0))
            return KERR_UNKNOWN_TOPIC_ID;
        return broker_topic_delete(b, name);
    }
    if (!b->zk)
        return KERR_REQUEST_TIMED_OUT;
    if (!b->cfg.delete_topic_enable)
        return KERR_TOPIC_DELETION_DISABLED;
    char buf[BROOK_TOPIC_NAME_MAX + 1];
    cstr(name, buf, sizeof(buf));
    int16_t err = zk_topic_delete(b->zk, buf, id);
    zk_refresh_sync(b->zk, 2000);
    return err;
}

int16_t cluster_topic_delete(broker *b, kslice name) { return topic_delete(b, name, NULL); }

int16_t cluster_topic_delete_id(broker *b, const uint8_t id[16], arena *a, kslice *name_out)
{
    *name_out = KSLICE_NULL;
    const char *name = NULL;
    if (b->clustered) {
        cluster_refresh_now(b); /* a topic created through another node may be new here */
        const cv_topic *ct = cv_topic_find_id(b->view, id);
        name = ct ? ct->name : NULL;
    } else {
        topic *t = md_find_id(&b->md, id);
        name = t ? t->name : NULL;
    }
    if (!name)
        return KERR_UNKNOWN_TOPIC_ID;
    char *copy = arena_strndup(a, name, strlen(name));
    if (!copy)
        return KERR_UNKNOWN_SERVER_ERROR;
    *name_out = kslice_cstr(copy);
    return topic_delete(b, *name_out, id);
}

bool cluster_topic_has_id(broker *b, kslice name, const uint8_t id[16])
{
    topic *t = md_find(&b->md, name);
    if (!t || md_id_is_zero(id) || memcmp(t->id, id, 16) != 0)
        return false;
    if (!b->clustered)
        return true;
    const cv_topic *ct = cv_topic_find(b->view, t->name, strlen(t->name));
    return ct && memcmp(ct->id, id, 16) == 0;
}

const char *cluster_topic_name_by_id(broker *b, const uint8_t id[16])
{
    topic *t = md_find_id(&b->md, id);
    return t && cluster_topic_has_id(b, kslice_cstr(t->name), id) ? t->name : NULL;
}

int cluster_resolve_topic_ids(broker *b, int32_t n, kslice *names, const uint8_t *ids,
                              size_t stride, arena *a)
{
    bool refreshed = false;
    for (int32_t i = 0; i < n; i++) {
        const uint8_t *id = ids + stride * (size_t)i;
        const char *name = cluster_topic_name_by_id(b, id);
        if (!name && !refreshed && broker_clustered(b) && !md_id_is_zero(id)) {
            refreshed = true;
            cluster_refresh_now(b);
            name = cluster_topic_name_by_id(b, id);
        }
        kslice *out = (kslice *)((char *)names + stride * (size_t)i);
        *out = KSLICE_NULL;
        if (!name)
            continue;
        char *copy = arena_strndup(a, name, strlen(name));
        if (!copy)
            return -1;
        *out = kslice_cstr(copy);
    }
    return 0;
}

int16_t cluster_topic_add_partitions(broker *b, topic *t, int32_t count,
                                     const int32_t *replicas, int32_t rf, bool validate_only,
                                     const char **msg)
{
    if (!b->clustered || validate_only)
        return broker_topic_add_partitions(b, t, count, validate_only, msg);
    if (!b->zk)
        return KERR_REQUEST_TIMED_OUT;
    int16_t err = broker_topic_add_partitions(b, t, count, true, msg);
    if (err != KERR_NONE)
        return err;
    err = zk_topic_add_partitions(b->zk, t->name, count, replicas, rf, msg);
    zk_refresh_sync(b->zk, 2000);
    return err;
}

int16_t cluster_topic_set_configs(broker *b, topic *t, int n, char *const *keys,
                                  char *const *values, bool validate_only, const char **msg)
{
    if (!b->clustered || validate_only)
        return broker_topic_set_configs(b, t, n, keys, values, validate_only, msg);
    if (!b->zk)
        return KERR_REQUEST_TIMED_OUT;
    int16_t err = broker_topic_set_configs(b, t, n, keys, values, true, msg);
    if (err != KERR_NONE)
        return err;
    err = zk_topic_set_configs(b->zk, t->name, n, keys, values, msg);
    zk_refresh_sync(b->zk, 2000);
    return err;
}
