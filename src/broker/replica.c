/*
 * replica.c - the broker side of replication: a thin adapter between the replication
 * state machines (src/repl/repl.h, one per partition with more than one replica) and the
 * broker. It takes roles from the cluster view, runs the follower's fetch loop over the
 * peer pool (Fetch v12 as replica: from the durable end, with the last fetched epoch),
 * lets the leader's Fetch handler report follower progress, publishes each partition's
 * high watermark to storage (partition.repl_hw), and carries ISR proposals to ZooKeeper.
 * Every decision is the state machine's; this file only moves events and results.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"
#include "broker/broker.h"
#include "broker/sec_cluster.h"
#include "cluster/view.h"
#include "cluster/zk.h"
#include "net/peer.h"
#include "proto/errors.h"
#include "proto/msgs.h"
#include "repl/repl.h"

#define FETCH_MAX_WAIT_MS 500
#define FETCH_TIMEOUT_MS 5000
#define FETCH_PART_MAX_BYTES (1 << 20)
#define FETCH_RETRY_MS 100

/* A follower's position in one partition, as its Fetch carries it. */
typedef struct fetch_pos {
    int32_t epoch;      /* current leader epoch */
    int32_t last_epoch; /* epoch of its newest batch */
    int64_t offset;     /* fetch offset: its log end, durable */
    int64_t log_start;
} fetch_pos;

typedef struct rpart {
    partition *p;       /* key */
    char *topic;
    int32_t index;
    repl_part rp;
    int32_t start_epoch; /* the newest epoch in the log when this process opened it */
    bool fetching;       /* in a fetch in flight */
    /* A follower's fetch (below): the one it is in (glue's fetch_seq) and the epoch and
     * offset it asked with; and what the leader's fetch session holds of it (KIP-227). */
    uint64_t fetch_seq;
    int32_t fetch_epoch;
    int64_t fetch_offset;
    int32_t sess_leader; /* the leader whose fetch session lists it; -1: none */
    fetch_pos sess;      /* its position as that session last heard it */
    int64_t answered_ms; /* a follower: when a fetch answer for it last arrived */
    bool stall_logged;
    int16_t last_fetch_err; /* the error of the last fetch answer (logged when it changes) */
    int64_t hw_seen, hw_seen_ms; /* a leader: its HW, and since when it has been there */
    bool load_deferred;  /* an internal partition led, its coordinator not loaded yet */
    UT_hash_handle hh;
} rpart;

/* A follower's fetch in flight to one leader, and the leader's fetch session for this
 * node (KIP-227): once open, a fetch lists only the partitions whose position moved, and
 * the answer only those with something new, instead of every partition followed (~100
 * with the internal topics) both ways on every round. */
typedef struct fetcher {
    int32_t leader;
    bool in_flight;
    int64_t retry_at_ms;
    int32_t session_id;    /* 0: none */
    int32_t session_epoch; /* the next epoch to send; 0: the next fetch is full (reopens) */
    uint32_t session_gen;  /* bumped by each reset: an answer to an older fetch keeps it */
} fetcher;

struct replica_glue {
    rpart *parts;
    fetcher fetchers[REPL_MAX_REPLICAS * 8];
    int nfetchers;
    /* Followers' fetches have connections of their own: a broker answers each connection
     * in request order, so a fetch queued behind a parked prepare or marker (which waits
     * for the high watermark this very fetch would advance) would stall both. */
    peer_pool *pool;
    uint64_t fetch_seq; /* the last fetch sent */
    replica_fetch_stats stats;
};

static int64_t now_ms(void) { return clock_mono_us() / 1000; }

static struct replica_glue *glue(broker *b)
{
    if (!b->replicas) {
        b->replicas = calloc(1, sizeof(*b->replicas));
        BROOK_ASSERT(b->replicas);
    }
    return b->replicas;
}

static rpart *rpart_find(broker *b, const partition *p)
{
    rpart *r = NULL;
    if (b->replicas)
        HASH_FIND_PTR(b->replicas->parts, &p, r);
    return r;
}

/* What the state machine calls durable: fsynced in sync mode; written in interval mode,
 * whose weaker promise (docs/replication.md) covers followers too. */
static int64_t local_durable(const broker *b, const partition *p)
{
    return b->cfg.flush_sync ? p->log->durable_offset : p->log->log_end_offset;
}

static void fetch_kick(broker *b);
static struct fetcher *fetcher_for(broker *b, int32_t leader);

/* Carries a state machine's results out: the high watermark to storage (the caller then
 * answers everything waiting on it), an ISR proposal to ZooKeeper (answered later, in
 * replica_on_isr: the loop never waits on ZooKeeper). */
static void apply_out(broker *b, rpart *r, repl_out out)
{
    r->p->repl_hw = r->rp.hw;
    if (out.propose && !(b->zk && zk_partition_set_isr(b->zk, r->topic, r->index, r->rp.epoch,
                                                       &r->rp.proposed, r->rp.min_isr,
                                                       r->rp.proposed_frozen_hw))) {
        repl_proposal_done(&r->rp, false, -1, now_ms());
        r->p->repl_hw = r->rp.hw;
    }
}

void replica_on_isr(void *ctx, const char *topic, int32_t partition, int32_t leader_epoch,
                    int16_t error, int32_t version)
{
    broker *b = ctx;
    if (b->stopping || !b->replicas)
        return;
    rpart *r = NULL;
    for (rpart *x = b->replicas->parts; x && !r; x = x->hh.next)
        if (x->index == partition && strcmp(x->topic, topic) == 0)
            r = x;
    if (!r || r->rp.role != REPL_LEADER || r->rp.epoch != leader_epoch)
        return; /* leadership moved meanwhile: the proposal died with it */
    if (error != KERR_NONE)
        LOG_WARN("repl", "%s-%d: ISR change not committed: %s", topic, partition,
                 kafka_error_name(error));
    apply_out(b, r, repl_proposal_done(&r->rp, error == KERR_NONE, version, now_ms()));
    if (error == KERR_FENCED_LEADER_EPOCH)
        cluster_refresh_now(b);
    broker_on_progress(b); /* a committed shrink may move the high watermark */
}

static rpart *rpart_get(broker *b, partition *p, const char *topic, int32_t index,
                        int32_t min_isr)
{
    rpart *r = rpart_find(b, p);
    if (r)
        return r;
    r = calloc(1, sizeof(*r));
    BROOK_ASSERT(r);
    r->p = p;
    r->topic = strdup(topic);
    BROOK_ASSERT(r->topic);
    r->index = index;
    r->sess_leader = -1;
    r->start_epoch = log_latest_epoch(p->log);
    repl_init(&r->rp, b->cfg.node_id, min_isr, b->cfg.replica_lag_time_max_ms);
    /* The high watermark starts at 0 after a start: learned from the leader, or computed
     * as leader once the followers report. */
    p->replicated = true;
    p->repl_leading = false;
    p->repl_hw = 0;
    b->route_gen++;
    struct replica_glue *g = glue(b);
    HASH_ADD_PTR(g->parts, p, r);
    return r;
}

/* The fetch session with `leader` lists a partition this node no longer fetches from it:
 * the next fetch is full, which opens a new session without it. */
static void fetch_session_reset(broker *b, int32_t leader)
{
    struct replica_glue *g = b->replicas;
    for (int i = 0; g && i < g->nfetchers; i++)
        if (g->fetchers[i].leader == leader) {
            g->fetchers[i].session_epoch = 0;
            g->fetchers[i].session_gen++;
        }
}

static void rpart_free(broker *b, rpart *r)
{
    if (r->sess_leader >= 0)
        fetch_session_reset(b, r->sess_leader);
    HASH_DEL(b->replicas->parts, r);
    free(r->topic);
    free(r);
}

/* This node leads the partition in `epoch` per the view: take it, unless the log shows
 * this process may have led that epoch in an earlier life (a restart can lose records
 * its followers hold, so it must lead only an epoch it has never seen: the controller
 * bumps the epoch of a restarted leader). */
/* Coordinators follow their internal partitions: the services load one this node now
 * leads (finishing its in-doubt transactions) and forget one it no longer leads. */
static void coordinators_follow_index(broker *b, const char *topic, int32_t index, bool led)
{
    bool txn = strcmp(topic, TXN_LOG_TOPIC) == 0, grp = strcmp(topic, GROUP_LOG_TOPIC) == 0;
    const bool *loaded = txn ? b->txn.loaded : grp ? b->grp.loaded : NULL;
    if (!led && loaded && loaded[index]) {
        b->coord_handovers++; /* requests held for the lease may now be stale (cluster.c) */
        b->coord_handover_serial = net_next_conn_serial(); /* and connections (same) */
    }
    if (txn && b->txn_started)
        txn_service_set_led(&b->txn, index, led, clock_wall_ms());
    else if (grp && b->group_started)
        group_service_set_led(&b->grp, index, led, group_now_ms());
}

/* A coordinator loads (and acts on) its log only once all this replica held when it took
 * the epoch is committed (high watermark >= the epoch's start): a record above it, say a
 * PrepareCommit the old leader wrote alone, may still be cut by a later election, and
 * markers sent for it would commit what the next coordinator aborts (sim_repl_txn
 * --load-uncommitted). Until then clients get NOT_COORDINATOR; replica_on_progress loads
 * it when the high watermark gets there. */
static void coordinators_follow(broker *b, rpart *r, bool led)
{
    bool internal = kafka_topic_internal(r->topic);
    if (led && internal && r->rp.role == REPL_LEADER && r->rp.hw < r->rp.epoch_start) {
        if (!r->load_deferred)
            LOG_INFO("repl", "%s-%d: coordinator load waits for the high watermark to reach "
                     "%lld (now %lld)", r->topic, r->index, (long long)r->rp.epoch_start,
                     (long long)r->rp.hw);
        r->load_deferred = true;
        return;
    }
    r->load_deferred = false;
    coordinators_follow_index(b, r->topic, r->index, led);
}

/* Whether this node's replica leads: cached fetch lookups (h_fetch.c) see it change. */
static void set_leading(broker *b, partition *p, bool leading)
{
    p->repl_leading = leading;
    b->route_gen++;
}

/* Everything waiting on this replica's high watermark as leader gives up: the log may be
 * cut (and refilled) under it. */
static void fail_waiters(broker *b, rpart *r)
{
    /* Not leading first: the transaction service re-sends the markers and prepares it
     * waited for here as RPCs, which the local-write path would refuse while this replica
     * still counted as leading (they were lost, the transaction in doubt; chaos seed
     * 20261207). */
    BROOK_ASSERT(!r->p->repl_leading);
    produce_fail_partition(b, r->p, KERR_REQUEST_TIMED_OUT);
    /* Nor markers and prepares: this log may be truncated and refilled from the new
     * leader, so its high watermark says nothing about them any more. */
    inter_fail_partition(b, r->p, KERR_NOT_LEADER_OR_FOLLOWER);
    if (b->txn_started)
        txn_service_leadership_lost(&b->txn, r->p, clock_wall_ms());
}

/* Elected while the ISR is below min.insync.replicas: the log loses what lies past the
 * frozen high watermark (never acknowledged, repl.h) before this epoch starts. False: the
 * cut failed, do not lead. */
static bool cut_unacknowledged_tail(broker *b, rpart *r, const cv_part *cp)
{
    plog *l = r->p->log;
    int64_t cut = repl_leader_cut(&cp->isr, r->rp.min_isr, cp->frozen_hw, l->log_end_offset);
    if (cut < 0)
        return true;
    if (cut < l->log_start_offset) {
        LOG_WARN("repl", "%s-%d: frozen high watermark %lld is below the log start %lld; "
                 "nothing cut", r->topic, r->index, (long long)cut,
                 (long long)l->log_start_offset);
        return true;
    }
    LOG_WARN("repl", "%s-%d: elected with the ISR below min (%d of %d): cutting the "
             "unacknowledged tail %lld -> %lld (the frozen high watermark)", r->topic, r->index,
             cp->isr.n, r->rp.min_isr, (long long)l->log_end_offset, (long long)cut);
    /* This process may have led the previous epoch (a new ZooKeeper session, no
     * restart): what waits on the old tail, and coordinator state read from it, goes.
     * The replica stops leading until the new epoch starts (take_leadership). */
    set_leading(b, r->p, false);
    fail_waiters(b, r);
    coordinators_follow(b, r, false);
    int rc = log_truncate(l, cut);
    if (rc != LOG_OK) {
        LOG_ERROR("repl", "%s-%d: cannot cut the log: %s", r->topic, r->index,
                  log_result_name(rc));
        return false;
    }
    if (r->rp.hw > cut)
        r->rp.hw = cut;
    return true;
}

static void take_leadership(broker *b, rpart *r, const cv_part *cp, int32_t state_version,
                            const repl_set *replicas, int64_t self_czxid)
{
    /* The epoch starts at the log end, and the coordinator loads once it is committed: a
     * lazily written tail (a transaction's completion record) must not wait for its timer. */
    store_flush_soon(b->store, r->p);
    if (r->rp.role == REPL_LEADER && r->rp.epoch == cp->leader_epoch) {
        apply_out(b, r, repl_state_update(&r->rp, &cp->isr, state_version, cp->frozen_hw,
                                          now_ms()));
        coordinators_follow(b, r, true); /* a load put off earlier happens now */
        return;
    }
    /* Elected under an earlier registration of this node (a restart, a new session): the
     * epoch may be one this node led before and whose batches it lost unsynced, so leading
     * it again would give one epoch two different logs. The controller bumps the epoch for
     * the new registration; wait for that. Then, as a second guard, the log's own memory. */
    bool earlier_life = cp->leader_czxid != 0 && self_czxid != 0 &&
                        cp->leader_czxid != self_czxid;
    if (earlier_life || cp->leader_epoch <= r->start_epoch) {
        LOG_INFO("repl", "%s-%d: named leader in epoch %d, which this node may have led before "
                 "a restart (%s); waiting for a new epoch", r->topic, r->index,
                 cp->leader_epoch, earlier_life ? "elected under an earlier registration"
                                                : "the log has seen it");
        set_leading(b, r->p, false);
        coordinators_follow(b, r, false);
        return;
    }
    plog *l = r->p->log;
    if (!cut_unacknowledged_tail(b, r, cp))
        return;
    if (log_set_leader_epoch(l, cp->leader_epoch) != LOG_OK)
        return;
    pstate_set_lead_start(&l->ps, l->log_end_offset); /* gaps of the handover: pstate.h */
    LOG_INFO("repl", "%s-%d: leader in epoch %d at offset %lld (isr %d)", r->topic, r->index,
             cp->leader_epoch, (long long)l->log_end_offset, cp->isr.n);
    repl_out out = repl_become_leader(&r->rp, cp->leader_epoch, replicas, &cp->isr,
                                      state_version, cp->frozen_hw, l->log_end_offset,
                                      local_durable(b, r->p), r->rp.hw, now_ms());
    set_leading(b, r->p, true);
    apply_out(b, r, out);
    coordinators_follow(b, r, true);
}

static void follow(broker *b, rpart *r, const cv_part *cp, int32_t state_version,
                   const repl_set *replicas)
{
    /* A follower fetches only once its log is durable to the end (fetch_plan): a lazily
     * written tail from its time as leader would hold every fetch from that leader. */
    store_flush_soon(b->store, r->p);
    coordinators_follow(b, r, false);
    if (r->rp.role == REPL_FOLLOWER && r->rp.leader == cp->leader &&
        r->rp.epoch == cp->leader_epoch) {
        r->rp.isr = cp->isr;
        return;
    }
    if (r->rp.role == REPL_LEADER || r->p->repl_leading) {
        LOG_INFO("repl", "%s-%d: no longer leader (leader %d, epoch %d)", r->topic, r->index,
                 cp->leader, cp->leader_epoch);
        set_leading(b, r->p, false);
        /* Produces waiting for replication here can no longer be promised; their records
         * are in this log and may well be on the new leader too (replicated, perhaps
         * committed). So they are answered REQUEST_TIMED_OUT, "possibly persisted", and
         * not NOT_LEADER_OR_FOLLOWER as Kafka does: librdkafka takes that for "not
         * persisted" and, after an epoch bump, sends such a batch again under new
         * sequence numbers, which writes it twice (docs/reliability.md, seed 20261206).
         * A possibly persisted batch is retried with its own sequences, which the new
         * leader recognises as a duplicate if it has them. */
        fail_waiters(b, r);
    }
    LOG_INFO("repl", "%s-%d: follows leader %d in epoch %d from offset %lld", r->topic,
             r->index, cp->leader, cp->leader_epoch, (long long)r->p->log->log_end_offset);
    repl_become_follower(&r->rp, cp->leader == b->cfg.node_id ? -1 : cp->leader,
                         cp->leader_epoch, replicas, &cp->isr, state_version);
    r->fetching = false;
    r->answered_ms = now_ms();
}

/* The min.insync.replicas a partition's leader applies: the topic's (or the broker's),
 * at most the replication factor, so a misconfigured topic still works like Kafka's
 * (acks=all refused) instead of never moving its high watermark. */
static int32_t effective_min_isr(const broker *b, const topic *t, int32_t rf)
{
    int32_t m = b->cfg.min_insync_replicas;
    for (int i = 0; i < t->nconfigs; i++)
        if (strcmp(t->config_keys[i], "min.insync.replicas") == 0)
            m = (int32_t)strtol(t->config_values[i], NULL, 10);
    return m < 1 ? 1 : m > rf ? rf : m;
}

int replica_opened(broker *b, partition *p)
{
    bool clustered = b->cfg.zookeeper_connect && *b->cfg.zookeeper_connect;
    return clustered ? LOG_OK : log_set_leader_epoch(p->log, 0);
}

/* A partition with one replica led here: its log stamps the view's leader epoch. */
static void lead_unreplicated(const cv_part *cp, partition *p)
{
    if (p->log->leader_epoch != cp->leader_epoch)
        log_set_leader_epoch(p->log, cp->leader_epoch);
}

/* The fetch connections' pool, created on first use; addresses follow the view. */
static void pool_update(broker *b, const cluster_view *v)
{
    struct replica_glue *g = glue(b);
    if (!g->pool) {
        char client_id[64];
        snprintf(client_id, sizeof(client_id), "brookd-%d-replica", b->cfg.node_id);
        g->pool = peer_pool_new(b->loop, b->cfg.node_id, client_id);
        if (!g->pool)
            return;
        peer_pool_set_tls(g->pool, b->cfg.inter_broker_tls);
        if (sec_cluster_peer_login(b, g->pool) != 0)
            LOG_ERROR("replica", "out of memory for the inter-broker login");
    }
    for (int i = 0; i < v->nbrokers; i++)
        peer_pool_set_address(g->pool, v->brokers[i].id, v->brokers[i].host,
                              v->brokers[i].port);
}

void replica_on_view(broker *b, const cluster_view *v)
{
    pool_update(b, v);
    repl_set live, shutting; /* brokers in controlled shutdown never rejoin an ISR */
    cv_live_sets(v, &live, &shutting);
    const cv_broker *self = cv_broker_find(v, b->cfg.node_id);
    int64_t self_czxid = self ? self->czxid : 0;
    for (const cv_topic *ct = v->topics; ct; ct = ct->hh.next) {
        topic *t = md_find(&b->md, kslice_cstr(ct->name));
        if (!t)
            continue;
        for (int32_t i = 0; i < ct->nparts && i < t->npartitions; i++) {
            const cv_part *cp = &ct->parts[i];
            repl_set replicas = {0};
            for (int32_t k = 0; k < cp->nreplicas; k++)
                repl_set_add(&replicas, cp->replicas[k]);
            if (cp->nreplicas < 2 && cp->leader == b->cfg.node_id)
                lead_unreplicated(cp, t->parts[i]);
            if (cp->nreplicas < 2)
                coordinators_follow_index(b, ct->name, i, cp->leader == b->cfg.node_id);
            if (cp->nreplicas < 2 || !repl_set_has(&replicas, b->cfg.node_id))
                continue;
            partition *p = t->parts[i];
            rpart *r = rpart_get(b, p, ct->name, i, effective_min_isr(b, t, cp->nreplicas));
            r->rp.min_isr = effective_min_isr(b, t, cp->nreplicas);
            r->rp.shutting = shutting;
            if (cp->leader == b->cfg.node_id)
                take_leadership(b, r, cp, ct->state_version, &replicas, self_czxid);
            else
                follow(b, r, cp, ct->state_version, &replicas);
        }
    }
    fetch_kick(b);
}

void replica_forget_partition(broker *b, partition *p)
{
    rpart *r = rpart_find(b, p);
    if (r)
        rpart_free(b, r);
}

bool replica_check_produce(broker *b, partition *p, int16_t acks, int16_t *err)
{
    BROOK_UNUSED(b);
    if (!p->replicated)
        return true;
    if (!p->repl_leading) {
        *err = KERR_NOT_LEADER_OR_FOLLOWER;
        return false;
    }
    rpart *r = rpart_find(b, p);
    if (acks == -1 && r && !repl_accepts_acks_all(&r->rp)) {
        *err = KERR_NOT_ENOUGH_REPLICAS;
        return false;
    }
    return true;
}

/* The leader's side of a follower's fetch (called once per partition per request). */
int16_t replica_leader_fetch(broker *b, partition *p, int32_t replica_id, int32_t leader_epoch,
                             int64_t fetch_offset)
{
    rpart *r = rpart_find(b, p);
    if (!r)
        return KERR_NOT_LEADER_OR_FOLLOWER;
    /* The log may have grown since the last durability event: a follower can already
     * hold (and report) records this node appended but has not fsynced yet. */
    apply_out(b, r, repl_local_progress(&r->rp, p->log->log_end_offset, local_durable(b, p),
                                        now_ms()));
    repl_out out;
    int16_t err = repl_follower_fetch(&r->rp, replica_id, leader_epoch, fetch_offset, now_ms(),
                                      &out);
    if (err == KERR_NONE)
        apply_out(b, r, out);
    return err;
}

/* Local appends and fsyncs: the state machines learn the new log ends (the caller then
 * answers whatever waits on a high watermark). */
void replica_on_progress(broker *b)
{
    if (!b->replicas)
        return;
    int64_t now = now_ms();
    for (rpart *r = b->replicas->parts; r; r = r->hh.next) {
        plog *l = r->p->log;
        apply_out(b, r, repl_local_progress(&r->rp, l->log_end_offset, local_durable(b, r->p),
                                            now));
        if (r->load_deferred && r->rp.role == REPL_LEADER && r->rp.hw >= r->rp.epoch_start)
            coordinators_follow(b, r, true);
    }
    fetch_kick(b);
}

/* Says once when a follower with a live leader has had no fetch answer for a while:
 * what its fetch is waiting for. */
static void follower_check_stall(broker *b, rpart *r, int64_t now)
{
    if (r->rp.role != REPL_FOLLOWER || r->rp.leader < 0) {
        r->answered_ms = now;
        return;
    }
    if (now - r->answered_ms < 2 * (FETCH_MAX_WAIT_MS + 500)) {
        r->stall_logged = false;
        return;
    }
    if (r->stall_logged)
        return;
    r->stall_logged = true;
    fetcher *f = fetcher_for(b, r->rp.leader);
    LOG_WARN("repl", "%s-%d: no fetch answer from leader %d for %lld ms (in a fetch: %d, "
             "fetch in flight: %d, log end %lld, durable %lld)", r->topic, r->index,
             r->rp.leader, (long long)(now - r->answered_ms), r->fetching,
             f ? f->in_flight : -1, (long long)r->p->log->log_end_offset,
             (long long)local_durable(b, r->p));
}

/* Says once when a leader's high watermark has stood below its log end for a while:
 * what it waits for (acks=all produces wait with it). */
static void leader_check_stall(rpart *r, int64_t now)
{
    const repl_part *p = &r->rp;
    if (p->hw != r->hw_seen || p->hw >= p->leo || r->hw_seen_ms == 0) {
        r->hw_seen = p->hw;
        r->hw_seen_ms = now;
        r->stall_logged = false;
        return;
    }
    if (now - r->hw_seen_ms < 2000 || r->stall_logged)
        return;
    r->stall_logged = true;
    char peers[256];
    size_t off = 0;
    peers[0] = '\0';
    for (int i = 0; i < p->npeers && off < sizeof(peers); i++)
        off += (size_t)snprintf(peers + off, sizeof(peers) - off, " %d:%lld", p->peers[i].id,
                                (long long)p->peers[i].end);
    LOG_WARN("repl", "%s-%d: high watermark %lld below log end %lld for %lld ms (epoch %d, "
             "durable %lld, isr %d of min %d, proposing %d, peer ends:%s)", r->topic, r->index,
             (long long)p->hw, (long long)p->leo, (long long)(now - r->hw_seen_ms), p->epoch,
             (long long)p->durable, p->isr.n, p->min_isr, p->proposing, peers);
}

void replica_tick(broker *b)
{
    if (!b->replicas)
        return;
    int64_t now = now_ms();
    for (rpart *r = b->replicas->parts; r; r = r->hh.next)
        if (r->rp.role == REPL_LEADER) {
            apply_out(b, r, repl_tick(&r->rp, now));
            leader_check_stall(r, now);
        } else {
            follower_check_stall(b, r, now);
        }
    fetch_kick(b);
}

replica_fetch_stats replica_fetch_stats_of(const broker *b)
{
    return b->replicas ? b->replicas->stats : (replica_fetch_stats){0};
}

void replica_stop(broker *b)
{
    if (!b->replicas)
        return;
    if (b->replicas->pool)
        peer_pool_stop(b->replicas->pool); /* in-flight fetches end with PEER_ERR_STOPPED */
    rpart *r, *tmp;
    HASH_ITER(hh, b->replicas->parts, r, tmp)
        rpart_free(b, r);
    free(b->replicas);
    b->replicas = NULL;
}

/* ---------------- the follower's fetch loop ---------------- */

typedef struct fetch_ctx {
    broker *b;
    int32_t leader;
    uint64_t seq;          /* the rparts in it have this fetch_seq */
    bool full;             /* every partition listed, the session (re)opened */
    int32_t session_epoch; /* the epoch sent */
    uint32_t session_gen;  /* the fetcher's when sent */
} fetch_ctx;

static fetcher *fetcher_for(broker *b, int32_t leader)
{
    struct replica_glue *g = glue(b);
    for (int i = 0; i < g->nfetchers; i++)
        if (g->fetchers[i].leader == leader)
            return &g->fetchers[i];
    if (g->nfetchers == (int)BROOK_ARRAY_LEN(g->fetchers))
        return NULL;
    g->fetchers[g->nfetchers] = (fetcher){.leader = leader};
    return &g->fetchers[g->nfetchers++];
}

/* The epoch of the newest batch: the history's newest entry that has records (an entry
 * starting at the log end is a leadership that wrote nothing). */
static int32_t last_batch_epoch(const plog *l)
{
    for (size_t i = l->epochs.n; i > 0; i--)
        if (l->epochs.v[i - 1].start_offset < l->log_end_offset)
            return l->epochs.v[i - 1].epoch;
    return -1;
}

static bool ready_to_fetch(const broker *b, const rpart *r, int32_t leader)
{
    return r->rp.role == REPL_FOLLOWER && r->rp.leader == leader && !r->fetching &&
           !r->p->log->failed && local_durable(b, r->p) == r->p->log->log_end_offset;
}

static fetch_pos position_of(const rpart *r)
{
    const plog *l = r->p->log;
    return (fetch_pos){.epoch = r->rp.epoch, .last_epoch = last_batch_epoch(l),
                       .offset = l->log_end_offset, .log_start = l->log_start_offset};
}

static bool pos_eq(fetch_pos a, fetch_pos b)
{
    return a.epoch == b.epoch && a.last_epoch == b.last_epoch && a.offset == b.offset &&
           a.log_start == b.log_start;
}

/* Which fetch to `leader` goes next: 1 incremental (the session lists no partition that
 * is not ready for it; one that joins is added by being listed), 0 full (no session yet,
 * or a partition left it), -1 none (one still waits for its fsync: a fetch sent now would
 * leave it behind for a whole long poll, one fetch in flight per leader; or nothing to
 * fetch). */
static int fetch_plan(broker *b, const fetcher *f, int *nready)
{
    bool full = f->session_epoch == 0;
    int n = 0;
    for (rpart *r = b->replicas->parts; r; r = r->hh.next) {
        bool follows = r->rp.role == REPL_FOLLOWER && r->rp.leader == f->leader;
        if (follows && !r->fetching && !r->p->log->failed &&
            local_durable(b, r->p) != r->p->log->log_end_offset)
            return -1; /* the fsync's completion kicks again */
        bool ready = ready_to_fetch(b, r, f->leader);
        n += ready;
        if (!ready && r->sess_leader == f->leader)
            full = true;
    }
    *nready = n;
    return n == 0 ? -1 : full ? 0 : 1;
}

static void on_fetch_answer(void *ctx, int status, const uint8_t *body, size_t len);

/* Sends one Fetch to `leader`: in a full one every partition following it, in an
 * incremental one those whose position moved since the session last heard it (possibly
 * none: the leader then answers when one of the session's partitions has news). */
static void fetch_send(broker *b, fetcher *f)
{
    int n;
    int plan = fetch_plan(b, f, &n);
    if (plan < 0)
        return;
    bool full = plan == 0;
    struct replica_glue *g = b->replicas;
    fetch_ctx *fc = calloc(1, sizeof(*fc));
    fetch_topic *topics = calloc((size_t)n, sizeof(*topics));
    fetch_part *parts = calloc((size_t)n, sizeof(*parts));
    BROOK_ASSERT(fc && topics && parts);
    *fc = (fetch_ctx){.b = b, .leader = f->leader, .seq = ++g->fetch_seq, .full = full,
                      .session_epoch = full ? 0 : f->session_epoch,
                      .session_gen = f->session_gen};
    int32_t nt = 0;
    /* One topic entry per partition: simple, and allowed by the protocol. */
    for (rpart *r = g->parts; r; r = r->hh.next) {
        if (full && r->sess_leader == f->leader)
            r->sess_leader = -1;
        if (!ready_to_fetch(b, r, f->leader))
            continue;
        fetch_pos pos = position_of(r);
        r->fetching = true;
        r->fetch_seq = fc->seq;
        r->fetch_epoch = pos.epoch;
        r->fetch_offset = pos.offset;
        if (!full && r->sess_leader == f->leader && pos_eq(pos, r->sess))
            continue; /* the session has it */
        if (r->sess_leader >= 0 && r->sess_leader != f->leader)
            fetch_session_reset(b, r->sess_leader); /* moved here from that leader */
        r->sess_leader = f->leader;
        r->sess = pos;
        fetch_part *fp = &parts[nt];
        *fp = (fetch_part){.index = r->index, .current_leader_epoch = pos.epoch,
                           .fetch_offset = pos.offset, .last_fetched_epoch = pos.last_epoch,
                           .log_start_offset = pos.log_start,
                           .partition_max_bytes = FETCH_PART_MAX_BYTES};
        topics[nt++] = (fetch_topic){.name = kslice_cstr(r->topic), .nparts = 1, .parts = fp};
    }
    g->stats.fetches[full ? 0 : 1]++;
    g->stats.partitions_listed += (uint64_t)nt;
    fetch_req q = {.replica_id = b->cfg.node_id, .max_wait_ms = FETCH_MAX_WAIT_MS,
                   .min_bytes = 1, .max_bytes = 8 * FETCH_PART_MAX_BYTES,
                   .session_id = f->session_id, .session_epoch = fc->session_epoch,
                   .ntopics = nt, .topics = topics, .rack_id = KSLICE_NULL,
                   .cluster_id = KSLICE_NULL};
    wr w;
    wr_init(&w, 256);
    fetch_req_encode(&w, 12, &q);
    free(parts);
    free(topics);
    f->in_flight = true;
    if (w.oom || peer_send(g->pool, f->leader, API_FETCH, 12, true, w.p, w.len,
                           FETCH_MAX_WAIT_MS + FETCH_TIMEOUT_MS, on_fetch_answer, fc) != 0) {
        f->in_flight = false;
        f->retry_at_ms = now_ms() + FETCH_RETRY_MS;
        fetch_session_reset(b, f->leader);
        for (rpart *r = g->parts; r; r = r->hh.next)
            if (r->fetch_seq == fc->seq)
                r->fetching = false;
        free(fc);
    }
    wr_free(&w);
}

static void fetch_kick(broker *b)
{
    if (!b->replicas || !b->replicas->pool || b->stopping)
        return;
    int64_t now = now_ms();
    for (rpart *r = b->replicas->parts; r; r = r->hh.next)
        if (r->rp.role == REPL_FOLLOWER && r->rp.leader >= 0)
            fetcher_for(b, r->rp.leader);
    struct replica_glue *g = b->replicas;
    for (int i = 0; i < g->nfetchers; i++)
        if (!g->fetchers[i].in_flight && g->fetchers[i].retry_at_ms <= now)
            fetch_send(b, &g->fetchers[i]);
}

/* Appends the whole batches of a fetch answer at the log end (a stale or partial tail is
 * left for the next fetch). Returns a log_result. */
static int append_records(broker *b, partition *p, kslice recs)
{
    size_t off = 0, len = recs.len > 0 ? (size_t)recs.len : 0;
    int64_t now = clock_wall_ms();
    while (off < len) {
        rb_header h;
        size_t total;
        if (rb_check_stored(recs.p + off, len - off, &h, &total) != RB_OK)
            break; /* a batch cut by max_bytes, or damaged: fetched again */
        if (h.base_offset != p->log->log_end_offset)
            break;
        int rc = log_append_replica(p->log, (uint8_t *)(uintptr_t)(recs.p + off), total, &h,
                                    now);
        if (rc != LOG_OK)
            return rc;
        off += total;
    }
    if (off > 0)
        store_mark_dirty(b->store, p);
    return LOG_OK;
}

/* One partition of a fetch answer, for a follower still in the epoch it asked in. */
static void follower_apply(broker *b, rpart *r, const fetch_resp_part *fp, int64_t sent_offset)
{
    plog *l = r->p->log;
    if (fp->error_code == KERR_OFFSET_OUT_OF_RANGE && sent_offset > r->rp.hw) {
        /* The leader knows no epoch of our newest records: cut back to what was
         * committed (Kafka's rule) and ask again. */
        LOG_WARN("repl", "%s-%d: leader does not know our last epoch; truncating to %lld",
                 r->topic, r->index, (long long)r->rp.hw);
        log_truncate(l, r->rp.hw);
        return;
    }
    if (fp->error_code != r->last_fetch_err)
        LOG_INFO("repl", "%s-%d: fetch from leader %d in epoch %d: %s", r->topic, r->index,
                 r->rp.leader, r->rp.epoch, kafka_error_name(fp->error_code));
    r->last_fetch_err = fp->error_code;
    if (fp->error_code != KERR_NONE)
        return; /* NOT_LEADER, fenced, ...: a new view will tell */
    if (fp->diverging_epoch.epoch >= 0 || fp->diverging_epoch.end_offset >= 0) {
        int32_t le;
        int64_t lend;
        log_epoch_end_offset(l, fp->diverging_epoch.epoch, &le, &lend);
        int64_t cut = repl_truncation_offset(fp->diverging_epoch.epoch,
                                             fp->diverging_epoch.end_offset, le, lend,
                                             l->log_end_offset, r->rp.hw);
        LOG_INFO("repl", "%s-%d: log diverges from leader %d at epoch %d; truncating %lld -> "
                 "%lld", r->topic, r->index, r->rp.leader, fp->diverging_epoch.epoch,
                 (long long)l->log_end_offset, (long long)cut);
        log_truncate(l, cut);
        return;
    }
    if (sent_offset != l->log_end_offset)
        return;
    int rc = append_records(b, r->p, fp->records);
    if (rc != LOG_OK)
        LOG_ERROR("repl", "%s-%d: cannot append replicated records: %s", r->topic, r->index,
                  log_result_name(rc));
    repl_follower_hw(&r->rp, fp->high_watermark);
    r->p->repl_hw = r->rp.hw;
}

/* The replica an answer's (topic, partition) is about, if it was in fetch `seq`. */
static rpart *answer_part(broker *b, kslice topic_name, int32_t index, uint64_t seq)
{
    topic *t = md_find(&b->md, topic_name);
    if (!t || index < 0 || index >= t->npartitions)
        return NULL;
    rpart *r = rpart_find(b, t->parts[index]);
    return r && r->fetch_seq == seq ? r : NULL;
}

/* The fetch session after an answer (status as on_fetch_answer's): opened by a full
 * fetch, one epoch on after an incremental one, reset (the next fetch full) after a
 * failure or a session error; a reset made while the fetch was in flight stands. True
 * when the answer can be applied. */
static bool fetch_session_after(broker *b, fetcher *f, const fetch_ctx *fc, int status,
                                bool ok, const fetch_resp *resp)
{
    int16_t err = ok ? resp->error_code : KERR_NONE;
    if (ok && err == KERR_NONE) {
        if (f->session_gen == fc->session_gen) {
            if (fc->full) {
                f->session_id = resp->session_id;
                f->session_epoch = resp->session_id != 0 ? 1 : 0;
            } else {
                f->session_epoch = fc->session_epoch == INT32_MAX ? 1 : fc->session_epoch + 1;
            }
        }
        return true;
    }
    fetch_session_reset(b, f->leader);
    if (err == KERR_FETCH_SESSION_ID_NOT_FOUND || err == KERR_INVALID_FETCH_SESSION_EPOCH) {
        /* The leader restarted or evicted the session: a full fetch at once. */
        LOG_INFO("repl", "fetch session %d with leader %d lost (%s); opening a new one",
                 f->session_id, f->leader, kafka_error_name(err));
        f->session_id = 0;
        return false;
    }
    LOG_DEBUG("repl", "fetch from leader %d failed (status %d, error %d)", f->leader, status,
              ok ? err : -1);
    f->retry_at_ms = now_ms() + FETCH_RETRY_MS;
    return false;
}

static void on_fetch_answer(void *ctx, int status, const uint8_t *body, size_t len)
{
    fetch_ctx *fc = ctx;
    broker *b = fc->b;
    if (b->stopping || !b->replicas) {
        free(fc);
        return;
    }
    fetcher *f = fetcher_for(b, fc->leader);
    arena a;
    arena_init(&a);
    fetch_resp resp = {0};
    rd r;
    rd_init(&r, body, len);
    r.flex = true;
    bool ok = status == 0 && body;
    if (ok) {
        rd_tags(&r); /* response header v1: its tagged fields */
        ok = fetch_resp_decode(&r, 12, &a, &resp) == 0;
    }
    if (f) {
        f->in_flight = false;
        ok = fetch_session_after(b, f, fc, status, ok, &resp);
    } else {
        ok = ok && resp.error_code == KERR_NONE;
    }
    /* Every partition of the fetch is out of it; in an incremental answer one left out has
     * nothing new: it was answered too. */
    int64_t now = now_ms();
    for (rpart *x = b->replicas->parts; x; x = x->hh.next)
        if (x->fetch_seq == fc->seq) {
            x->fetching = false;
            if (ok)
                x->answered_ms = now;
        }
    for (int32_t t = 0; ok && t < resp.ntopics; t++) {
        const fetch_resp_topic *rt = &resp.topics[t];
        for (int32_t k = 0; k < rt->nparts; k++) {
            const fetch_resp_part *fp = &rt->parts[k];
            rpart *rp = answer_part(b, rt->name, fp->index, fc->seq);
            if (rp && rp->rp.role == REPL_FOLLOWER && rp->rp.leader == fc->leader &&
                rp->rp.epoch == rp->fetch_epoch)
                follower_apply(b, rp, fp, rp->fetch_offset);
        }
    }
    arena_free(&a);
    free(fc);
    broker_on_progress(b); /* truncations and the HW; fetch again once durable */
}
