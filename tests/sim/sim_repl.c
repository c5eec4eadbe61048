/*
 * sim_repl.c - the deterministic simulator of replication.
 *
 * Drives the real replication state machine (src/repl/repl.c) and the real leader epoch
 * history (src/storage/epochs.c) on three simulated nodes holding one partition (RF 3,
 * min.insync.replicas 2), with a seeded fake network, disk, clock, ZooKeeper and
 * controller:
 *   - clients send acks=all produces, sometimes to a node that is no longer leader;
 *   - followers fetch from their durable end (Brook's rule) with their last epoch; the
 *     leader answers with records, its high watermark, or a diverging epoch, after which
 *     the follower truncates (repl_truncation_offset) and fetches again;
 *   - a disk makes appends durable after a random delay (group commit); a crash loses
 *     the unsynced tail, except a random part of it that happens to survive;
 *   - messages are delayed, reordered, duplicated and dropped;
 *   - nodes crash and restart, and pause (SIGSTOP) for short and long times;
 *   - ZooKeeper holds the partition state (leader, epoch, ISR, ELR, version); leaders'
 *     ISR changes are version-checked writes; the controller elects with repl_elect when
 *     a leader is detected dead (fast when its process is gone, after a session timeout
 *     when it is only silent) and bumps the epoch of a leader that restarted.
 * Invariants, checked after every event:
 *   1. an offset below some node's high watermark never changes value on any node that
 *      also has it below its own high watermark (committed prefixes agree);
 *   2. no acknowledged record is lost: it stays at its offset, committed;
 *   3. in each epoch at most one node advances a leader's high watermark;
 *   4. after the quiet phase (everything healed) there is a leader, every node has caught
 *      up to it, and a new produce is acknowledged.
 * A leader elected while the ISR is below min cuts its log to the frozen high watermark
 * the partition state records (repl.h; counted as "tail cuts").
 * Hazard switches (each has a ctest expecting violations, so the checker is known to see
 * them): --unclean-election (elect any live replica), --report-unsynced (followers fetch
 * from their log end before it is fsynced), --restart-same-epoch (a restarted leader
 * leads on in its old epoch), --cut-to-own-hw (that cut goes to the elected replica's own
 * high watermark, a lower bound of the committed end, instead of the frozen one).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/errors.h"
#include "repl/repl.h"
#include "sim_base.h"
#include "storage/epochs.h"

#define NN 3
#define MAXLOG 2048
#define MIN_ISR 2
#define LAG_MAX_MS 400
#define DETECT_MS 150   /* the controller sees a dead process this fast (connections close) */
#define SESSION_MS 1500 /* ... and a silent one only after the session timeout */
#define RUN_MS 8000
#define QUIET_MS 4000
#define MAX_ACKS 4096

static bool g_unclean, g_report_unsynced, g_same_epoch, g_cut_own_hw;

enum ev_kind {
    EV_PRODUCE = 1, /* client -> node: a = node, b = value */
    EV_FSYNC,       /* a = node, b = up to, c = incarnation << 32 | truncation generation */
    EV_TICK,        /* a = node */
    EV_FETCH_REQ,   /* data = msg */
    EV_FETCH_RESP,  /* data = msg */
    EV_PROPOSE,     /* data = msg: leader -> ZooKeeper */
    EV_PROPOSE_DONE,/* data = msg */
    EV_NOTIFY,      /* a = node: a ZooKeeper watch fired */
    EV_CONTROLLER,
    EV_CRASH,       /* a = node */
    EV_RESTART,     /* a = node */
    EV_PAUSE,       /* a = node, b = duration */
};

typedef struct msg {
    int from, to;
    uint32_t inc;       /* the sender's incarnation (responses: the requester's) */
    int32_t epoch, last_epoch, leader;
    int64_t fetch_offset, hw, div_end;
    int32_t div_epoch;
    int16_t err;
    int kind;           /* response: 0 data, 1 diverging, 2 error */
    int n;
    int32_t ent_epoch[8];
    int64_t ent_value[8];
    repl_set isr;
    int64_t frozen_hw; /* proposals: the frozen high watermark they record */
    int32_t version;
    bool committed;
    uint64_t req;
} msg;

typedef struct node {
    int32_t id;
    bool up;
    int64_t paused_until, paused_since;
    uint32_t inc;
    uint32_t trunc_gen;
    int32_t ent_epoch[MAXLOG];
    int64_t ent_value[MAXLOG];
    int64_t leo, durable;
    bool fsync_running;
    epoch_history eh;
    repl_part rp;
    bool fetching;
    uint64_t fetch_req;
    int64_t fetch_sent_ms;
    int32_t known_version;
    bool needs_bump;          /* restarted as recorded leader: must not lead that epoch */
    int32_t crash_epoch;
    int64_t pend_off[MAXLOG], pend_val[MAXLOG];
    int npend;
    int64_t down_since;
} node;

typedef struct zk_state {
    int32_t leader, epoch, version;
    repl_set isr, elr;
    int64_t frozen_hw; /* repl.h: -1 none */
    bool bump; /* a restarted leader asked for a new epoch */
} zk_state;

typedef struct world {
    uint64_t seed;
    sim_rng rng;
    sim_queue q;
    sim_trace tr;
    int64_t now;
    node n[NN];
    zk_state zk;
    repl_set replicas;
    double drop, dup;
    int64_t delay_max;
    double crash_rate, pause_rate;
    /* the checker's memory */
    int64_t committed[MAXLOG];  /* value committed at each offset, 0 unknown */
    int32_t hw_owner[4096];     /* node that advanced HW in an epoch (+1), 0 none */
    int64_t acked_off[MAX_ACKS], acked_val[MAX_ACKS];
    int nacked;
    int64_t next_value;
    uint64_t next_req;
    const char *violation;
    char why[256];
    bool quiet;
    uint64_t events, crashes, truncations, elections, proposals, tail_cuts;
} world;

static world *W;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    if (W->violation)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(W->why, sizeof(W->why), fmt, ap);
    va_end(ap);
    W->violation = W->why;
}

#define TRACE(...) sim_trace_add(&W->tr, W->now, __VA_ARGS__)

static node *node_of(int32_t id) { return id >= 1 && id <= NN ? &W->n[id - 1] : NULL; }

static void push(int64_t delay, int kind, void *data, int64_t a, int64_t b, int64_t c)
{
    sim_event e = {W->now + delay, 0, kind, data, a, b, c};
    sim_queue_push(&W->q, &e);
}

/* Sends a copy of m between brokers: maybe dropped, maybe duplicated, always delayed. A
 * ZooKeeper session (reliable: proposals and their answers) is never lossy. */
static void send(int kind, const msg *m)
{
    bool zk = kind == EV_PROPOSE || kind == EV_PROPOSE_DONE;
    int copies = sim_rng_chance(&W->rng, W->drop) ? 0 : sim_rng_chance(&W->rng, W->dup) ? 2 : 1;
    if (W->quiet || zk)
        copies = 1;
    for (int i = 0; i < copies; i++) {
        msg *c = malloc(sizeof(*c));
        *c = *m;
        push(sim_rng_range(&W->rng, 1, W->quiet ? 5 : W->delay_max), kind, c, 0, 0, 0);
    }
}

/* ---------------- the checker ---------------- */

static void note_committed(node *x)
{
    for (int64_t o = 0; o < x->rp.hw; o++) {
        if (W->committed[o] == 0)
            W->committed[o] = x->ent_value[o];
        else if (W->committed[o] != x->ent_value[o])
            fail("offset %" PRId64 " committed as %" PRId64 " but node %d has %" PRId64
                 " below its HW %" PRId64, o, W->committed[o], x->id, x->ent_value[o], x->rp.hw);
    }
}

static void check_all(void)
{
    for (int i = 0; i < NN; i++)
        if (W->n[i].up) {
            if (W->n[i].rp.hw > W->n[i].leo)
                fail("node %d HW %" PRId64 " past its log end %" PRId64, W->n[i].id,
                     W->n[i].rp.hw, W->n[i].leo);
            note_committed(&W->n[i]);
        }
    for (int k = 0; k < W->nacked; k++) {
        int64_t o = W->acked_off[k];
        if (W->committed[o] != W->acked_val[k])
            fail("acknowledged value %" PRId64 " at offset %" PRId64 " is not committed there",
                 W->acked_val[k], o);
    }
}

/* ---------------- the disk ---------------- */

static void start_fsync(node *x)
{
    if (x->fsync_running || x->durable >= x->leo)
        return;
    x->fsync_running = true;
    push(sim_rng_range(&W->rng, 1, 8), EV_FSYNC, NULL, x->id, x->leo,
         (int64_t)((uint64_t)x->inc << 32 | x->trunc_gen));
}

static void local_append(node *x, int32_t epoch, int64_t value)
{
    if (x->leo >= MAXLOG - 1) {
        fail("log full (the run is too long)");
        return;
    }
    x->ent_epoch[x->leo] = epoch;
    x->ent_value[x->leo] = value;
    eh_assign(&x->eh, epoch, x->leo);
    x->leo++;
    start_fsync(x);
}

static void truncate_log(node *x, int64_t off)
{
    if (off >= x->leo)
        return;
    TRACE("node %d truncates %" PRId64 " -> %" PRId64, x->id, x->leo, off);
    W->truncations++;
    x->leo = off;
    if (x->durable > off)
        x->durable = off;
    eh_truncate(&x->eh, off);
    x->trunc_gen++; /* an fsync in flight proves nothing about what comes next */
}

/* ---------------- leaders ---------------- */

static void fail_pending(node *x, const char *why)
{
    if (x->npend)
        TRACE("node %d: %d produces fail (%s)", x->id, x->npend, why);
    x->npend = 0;
}

static void after(node *x, repl_out out);

static void ack_pending(node *x)
{
    int k = 0;
    for (int i = 0; i < x->npend; i++) {
        if (x->pend_off[i] < x->rp.hw) {
            if (W->nacked < MAX_ACKS) {
                W->acked_off[W->nacked] = x->pend_off[i];
                W->acked_val[W->nacked++] = x->pend_val[i];
            }
            TRACE("node %d acks value %" PRId64 " at %" PRId64, x->id, x->pend_val[i],
                  x->pend_off[i]);
        } else {
            x->pend_off[k] = x->pend_off[i];
            x->pend_val[k++] = x->pend_val[i];
        }
    }
    x->npend = k;
}

static void after(node *x, repl_out out)
{
    if (out.hw_changed && x->rp.role == REPL_LEADER) {
        int32_t e = x->rp.epoch;
        if (e >= 0 && e < 4096) {
            if (W->hw_owner[e] == 0)
                W->hw_owner[e] = x->id;
            else if (W->hw_owner[e] != x->id)
                fail("epoch %d: nodes %d and %d both advanced the HW", e, W->hw_owner[e], x->id);
        }
        ack_pending(x);
    }
    if (out.propose) {
        W->proposals++;
        msg m = {.from = x->id, .inc = x->inc, .isr = x->rp.proposed,
                 .frozen_hw = x->rp.proposed_frozen_hw, .version = x->rp.state_version,
                 .epoch = x->rp.epoch};
        TRACE("node %d proposes ISR of %d (version %d)", x->id, m.isr.n, m.version);
        send(EV_PROPOSE, &m);
    }
}

static void progress(node *x) { after(x, repl_local_progress(&x->rp, x->leo, x->durable, W->now)); }

/* ---------------- followers ---------------- */

static void maybe_fetch(node *x)
{
    if (x->rp.role != REPL_FOLLOWER || x->rp.leader < 0)
        return;
    if (x->fetching && W->now - x->fetch_sent_ms < 300)
        return;
    if (!g_report_unsynced && x->durable < x->leo)
        return; /* report only what is fsynced: wait for the disk */
    msg m = {.from = x->id, .to = x->rp.leader, .inc = x->inc, .epoch = x->rp.epoch,
             .fetch_offset = x->leo, .last_epoch = x->leo > 0 ? x->ent_epoch[x->leo - 1] : -1,
             .req = ++W->next_req};
    x->fetching = true;
    x->fetch_req = m.req;
    x->fetch_sent_ms = W->now;
    send(EV_FETCH_REQ, &m);
}

static void on_fetch_req(node *l, const msg *m)
{
    msg r = {.from = l->id, .to = m->from, .inc = m->inc, .epoch = m->epoch,
             .leader = l->id, .req = m->req, .fetch_offset = m->fetch_offset, .kind = 2};
    if (l->rp.role == REPL_LEADER && m->last_epoch >= 0 && m->epoch == l->rp.epoch) {
        int32_t e;
        int64_t end;
        eh_end_offset(&l->eh, m->last_epoch, l->leo, &e, &end);
        if (e != m->last_epoch || end < m->fetch_offset) {
            r.kind = 1;
            r.div_epoch = e;
            r.div_end = end;
            send(EV_FETCH_RESP, &r);
            return;
        }
    }
    repl_out out;
    r.err = repl_follower_fetch(&l->rp, m->from, m->epoch, m->fetch_offset, W->now, &out);
    if (r.err == KERR_NONE) {
        r.kind = 0;
        for (int64_t o = m->fetch_offset; o < l->leo && r.n < 8; o++, r.n++) {
            r.ent_epoch[r.n] = l->ent_epoch[o];
            r.ent_value[r.n] = l->ent_value[o];
        }
        r.hw = l->rp.hw;
        after(l, out);
    }
    send(EV_FETCH_RESP, &r);
}

static void on_fetch_resp(node *x, const msg *m)
{
    if (m->req == x->fetch_req)
        x->fetching = false;
    if (m->inc != x->inc || x->rp.role != REPL_FOLLOWER || m->leader != x->rp.leader ||
        m->epoch != x->rp.epoch)
        return; /* an answer for a fetch of another life or another epoch */
    if (m->kind == 1) {
        /* Only the answer to the fetch in flight, from the current log end: a duplicated
         * or late divergence answer could cut a committed record (the real follower
         * matches answers to its requests). */
        if (m->req != x->fetch_req || m->fetch_offset != x->leo)
            return;
        int32_t le;
        int64_t lend;
        eh_end_offset(&x->eh, m->div_epoch, x->leo, &le, &lend);
        int64_t off = repl_truncation_offset(m->div_epoch, m->div_end, le, lend, x->leo, x->rp.hw);
        truncate_log(x, off);
        progress(x);
        return;
    }
    if (m->kind == 2 || m->fetch_offset != x->leo)
        return; /* an error, or a stale copy */
    for (int i = 0; i < m->n; i++)
        local_append(x, m->ent_epoch[i], m->ent_value[i]);
    repl_follower_hw(&x->rp, m->hw);
    progress(x);
    maybe_fetch(x);
}

/* ---------------- ZooKeeper, the controller ---------------- */

static void notify_all(void)
{
    for (int i = 0; i < NN; i++)
        push(sim_rng_range(&W->rng, 1, W->quiet ? 5 : 40), EV_NOTIFY, NULL, W->n[i].id, 0, 0);
}

/* proposed: the frozen high watermark a leader's proposal records (-1: the controller). */
static void zk_write(int32_t leader, int32_t epoch, const repl_set *isr, const repl_set *elr,
                     int64_t proposed)
{
    W->zk.frozen_hw = repl_frozen_hw_after(W->zk.isr.n, isr->n, MIN_ISR, W->zk.frozen_hw,
                                           proposed);
    W->zk.leader = leader;
    W->zk.epoch = epoch;
    W->zk.isr = *isr;
    W->zk.elr = *elr;
    W->zk.version++;
    TRACE("zk: leader %d epoch %d isr %d elr %d frozen hw %" PRId64 " version %d", leader, epoch,
          isr->n, elr->n, W->zk.frozen_hw, W->zk.version);
    notify_all();
}

/* A node reads the current partition state (watch semantics: the newest, not each). */
static void apply_state(node *x)
{
    zk_state *z = &W->zk;
    if (x->known_version == z->version && x->rp.epoch == z->epoch)
        return;
    x->known_version = z->version;
    if (x->needs_bump && z->epoch > x->crash_epoch)
        x->needs_bump = false;
    if (z->leader == x->id && !x->needs_bump) {
        if (x->rp.role == REPL_LEADER && x->rp.epoch == z->epoch) {
            after(x, repl_state_update(&x->rp, &z->isr, z->version, z->frozen_hw, W->now));
            return;
        }
        int64_t cut = repl_leader_cut(&z->isr, MIN_ISR, z->frozen_hw, x->leo);
        if (g_cut_own_hw && z->isr.n < MIN_ISR && x->rp.hw < x->leo)
            cut = x->rp.hw; /* the hazard: what this replica knew, not the frozen HW */
        if (cut >= 0) { /* replica.c cut_unacknowledged_tail */
            if (x->rp.role == REPL_LEADER)
                fail_pending(x, "log cut");
            W->tail_cuts++;
            truncate_log(x, cut);
            if (x->rp.hw > cut)
                x->rp.hw = cut;
        }
        eh_assign(&x->eh, z->epoch, x->leo); /* log_set_leader_epoch */
        TRACE("node %d leads epoch %d at %" PRId64, x->id, z->epoch, x->leo);
        after(x, repl_become_leader(&x->rp, z->epoch, &W->replicas, &z->isr, z->version,
                                    z->frozen_hw, x->leo, x->durable, x->rp.hw, W->now));
        return;
    }
    if (x->rp.role == REPL_LEADER)
        fail_pending(x, "no longer leader");
    repl_become_follower(&x->rp, z->leader == x->id ? -1 : z->leader, z->epoch, &W->replicas,
                         &z->isr, z->version);
    x->fetching = false;
    maybe_fetch(x);
}

static bool is_dead(const node *x)
{
    if (!x->up)
        return W->now - x->down_since >= DETECT_MS;
    /* a silent node: paused longer than its ZooKeeper session */
    return x->paused_until > W->now && W->now - x->paused_since >= SESSION_MS;
}

static void controller(void)
{
    zk_state *z = &W->zk;
    repl_set live = {0};
    for (int i = 0; i < NN; i++)
        if (!is_dead(&W->n[i]))
            repl_set_add(&live, W->n[i].id);
    bool leader_gone = z->leader < 0 || !repl_set_has(&live, z->leader);
    if (!leader_gone && !z->bump)
        return;
    repl_election e;
    if (g_unclean) {
        e = (repl_election){.leader = -1};
        for (int i = 0; i < NN && e.leader < 0; i++)
            if (repl_set_has(&live, W->n[i].id))
                e.leader = W->n[i].id;
        if (e.leader >= 0)
            repl_set_add(&e.isr, e.leader);
    } else {
        e = repl_elect(&W->replicas, &z->isr, &z->elr, &live, MIN_ISR);
    }
    if (e.leader < 0 && z->leader < 0)
        return;
    z->bump = false;
    W->elections++;
    zk_write(e.leader, z->epoch + 1, &e.isr, &e.elr, -1);
}

static void on_propose(const msg *m)
{
    zk_state *z = &W->zk;
    msg r = *m;
    r.to = m->from;
    r.committed = m->version == z->version && z->leader == m->from && z->epoch == m->epoch;
    if (r.committed) {
        repl_set elr = m->isr.n >= MIN_ISR ? (repl_set){0} : z->elr;
        zk_write(z->leader, z->epoch, &m->isr, &elr, m->frozen_hw);
        r.version = z->version;
    }
    send(EV_PROPOSE_DONE, &r);
}

/* ---------------- crashes, pauses, clients ---------------- */

static void crash(node *x)
{
    if (!x->up)
        return;
    W->crashes++;
    int64_t keep = x->durable + sim_rng_range(&W->rng, 0, x->leo - x->durable);
    TRACE("node %d crashes (log %" PRId64 ", durable %" PRId64 ", %" PRId64 " survive)", x->id,
          x->leo, x->durable, keep);
    x->up = false;
    x->down_since = W->now;
    x->inc++;
    x->leo = x->durable = keep;
    x->fsync_running = false;
    x->npend = 0;
    x->fetching = false;
    x->crash_epoch = x->rp.epoch > W->zk.epoch ? x->rp.epoch : W->zk.epoch;
    /* what the disk holds is all that is left; the history is rebuilt from it */
    eh_free(&x->eh);
    for (int64_t o = 0; o < x->leo; o++)
        eh_assign(&x->eh, x->ent_epoch[o], o);
    repl_init(&x->rp, x->id, MIN_ISR, LAG_MAX_MS);
    x->known_version = -1;
    push(sim_rng_range(&W->rng, 20, 600), EV_RESTART, NULL, x->id, 0, 0);
}

static void restart(node *x)
{
    x->up = true;
    x->paused_until = 0;
    TRACE("node %d restarts with log %" PRId64, x->id, x->leo);
    if (W->zk.leader == x->id && !g_same_epoch) {
        x->needs_bump = true; /* its old epoch may have lost records followers have */
        W->zk.bump = true;
    }
    apply_state(x);
}

static void produce(node *x, int64_t value)
{
    if (x->rp.role != REPL_LEADER || !repl_accepts_acks_all(&x->rp) || x->npend >= MAXLOG)
        return; /* NOT_LEADER_OR_FOLLOWER / NOT_ENOUGH_REPLICAS: not acknowledged */
    x->pend_off[x->npend] = x->leo;
    x->pend_val[x->npend++] = value;
    local_append(x, x->rp.epoch, value);
    progress(x);
}

/* ---------------- the run ---------------- */

static bool deferred(node *x, const sim_event *e)
{
    if (x->paused_until <= W->now)
        return false;
    sim_event d = *e;
    d.at = x->paused_until;
    sim_queue_push(&W->q, &d);
    return true;
}

static void handle(const sim_event *e)
{
    msg *m = e->data;
    int target = m ? (e->kind == EV_PROPOSE ? 0 : m->to) : (int)e->a;
    node *x = target ? node_of(target) : NULL;
    if (e->kind == EV_CONTROLLER) {
        controller();
        if (!W->quiet || W->now < RUN_MS + QUIET_MS)
            push(50, EV_CONTROLLER, NULL, 0, 0, 0);
        return;
    }
    if (e->kind == EV_PROPOSE) {
        on_propose(m);
        free(m);
        return;
    }
    if (x && deferred(x, e))
        return;
    if (x && !x->up && e->kind != EV_RESTART) {
        if (e->kind == EV_TICK) /* the clock goes on for a node that is down */
            push(50, EV_TICK, NULL, x->id, 0, 0);
        free(m);
        return;
    }
    switch (e->kind) {
    case EV_PRODUCE:
        produce(x, e->b);
        break;
    case EV_FSYNC:
        if ((uint32_t)((uint64_t)e->c >> 32) == x->inc) {
            x->fsync_running = false;
            if ((uint32_t)e->c == x->trunc_gen && e->b > x->durable)
                x->durable = e->b <= x->leo ? e->b : x->leo;
            progress(x);
            start_fsync(x);
            maybe_fetch(x);
        }
        break;
    case EV_TICK:
        after(x, repl_tick(&x->rp, W->now));
        maybe_fetch(x);
        push(50, EV_TICK, NULL, x->id, 0, 0);
        break;
    case EV_FETCH_REQ:
        on_fetch_req(x, m);
        break;
    case EV_FETCH_RESP:
        on_fetch_resp(x, m);
        break;
    case EV_PROPOSE_DONE:
        if (m->inc == x->inc && x->rp.epoch == m->epoch)
            after(x, repl_proposal_done(&x->rp, m->committed, m->version, W->now));
        break;
    case EV_NOTIFY:
        apply_state(x);
        break;
    case EV_CRASH:
        crash(x);
        break;
    case EV_RESTART:
        if (!x->up)
            restart(x);
        break;
    case EV_PAUSE:
        x->paused_until = W->now + e->b;
        x->paused_since = W->now;
        TRACE("node %d paused for %" PRId64 " ms", x->id, e->b);
        break;
    }
    free(m);
}

static void schedule_faults(void)
{
    for (int64_t t = 200; t < RUN_MS; t += 100) {
        for (int i = 0; i < NN; i++) {
            if (sim_rng_chance(&W->rng, W->crash_rate))
                push(t - W->now, EV_CRASH, NULL, W->n[i].id, 0, 0);
            if (sim_rng_chance(&W->rng, W->pause_rate))
                push(t - W->now, EV_PAUSE, NULL, W->n[i].id,
                     sim_rng_chance(&W->rng, 0.3) ? sim_rng_range(&W->rng, SESSION_MS + 100, 3000)
                                                  : sim_rng_range(&W->rng, 50, 800),
                     0);
        }
    }
}

static void send_produce(void)
{
    int32_t to = W->zk.leader;
    if (to < 0 || sim_rng_chance(&W->rng, 0.2))
        to = (int32_t)sim_rng_range(&W->rng, 1, NN);
    push(sim_rng_range(&W->rng, 1, 20), EV_PRODUCE, NULL, to, ++W->next_value, 0);
}

static void final_checks(void)
{
    node *l = node_of(W->zk.leader);
    if (!l || l->rp.role != REPL_LEADER) {
        fail("no leader after the quiet phase (zk leader %d)", W->zk.leader);
        return;
    }
    for (int i = 0; i < NN; i++)
        if (W->n[i].leo != l->leo || W->n[i].rp.hw != l->rp.hw)
            fail("node %d (log %" PRId64 ", HW %" PRId64 ") did not catch up with leader %d "
                 "(log %" PRId64 ", HW %" PRId64 ")", W->n[i].id, W->n[i].leo, W->n[i].rp.hw,
                 l->id, l->leo, l->rp.hw);
}

static void run(uint64_t seed)
{
    sim_rng_seed(&W->rng, seed);
    sim_queue_init(&W->q);
    W->drop = sim_rng_range(&W->rng, 0, 20) / 100.0;
    W->dup = sim_rng_range(&W->rng, 0, 10) / 100.0;
    W->delay_max = sim_rng_range(&W->rng, 2, 60);
    W->crash_rate = sim_rng_range(&W->rng, 0, 40) / 1000.0;
    W->pause_rate = sim_rng_range(&W->rng, 0, 20) / 1000.0;
    for (int i = 0; i < NN; i++) {
        node *x = &W->n[i];
        x->id = i + 1;
        x->up = true;
        x->known_version = -1;
        repl_init(&x->rp, x->id, MIN_ISR, LAG_MAX_MS);
        repl_set_add(&W->replicas, x->id);
        push(i * 7, EV_TICK, NULL, x->id, 0, 0);
    }
    repl_set all = W->replicas, none = {0};
    W->zk.frozen_hw = -1;
    zk_write(1, 0, &all, &none, -1);
    push(50, EV_CONTROLLER, NULL, 0, 0, 0);
    schedule_faults();
    for (int64_t t = 10; t < RUN_MS; t += sim_rng_range(&W->rng, 1, 15))
        push(t, EV_PRODUCE + 100, NULL, 0, 0, 0);
    sim_event e;
    bool final_taken = false;
    int64_t final_value = 0, final_try = 0;
    while (sim_queue_pop(&W->q, &e) && !W->violation) {
        W->now = e.at;
        if (e.at > RUN_MS + QUIET_MS + 2000)
            break;
        if (!W->quiet && W->now >= RUN_MS) {
            W->quiet = true; /* heal: everything up, nothing paused, no more faults */
            TRACE("quiet phase");
            for (int i = 0; i < NN; i++) {
                W->n[i].paused_until = 0;
                if (!W->n[i].up)
                    restart(&W->n[i]);
            }
        }
        W->events++;
        if (e.kind == EV_PRODUCE + 100) {
            send_produce();
            continue;
        }
        if (W->quiet && (e.kind == EV_CRASH || e.kind == EV_PAUSE))
            continue;
        handle(&e);
        check_all();
        /* A client's produce after healing, retried (as clients do after a retriable
         * error) until some leader takes it: it must then be acknowledged. */
        if (W->quiet && W->now >= RUN_MS + QUIET_MS / 2 && W->zk.leader > 0 && !final_taken &&
            W->now - final_try >= 100) {
            if (!final_value)
                final_value = ++W->next_value;
            final_try = W->now;
            node *fl = node_of(W->zk.leader);
            int before = fl->npend;
            produce(fl, final_value);
            final_taken = fl->npend > before;
            TRACE("final produce of %" PRId64 " to node %d: %s", final_value, fl->id,
                  final_taken ? "appended" : "refused");
        }
        if (W->now >= RUN_MS + QUIET_MS)
            break;
    }
    if (!W->violation)
        final_checks();
    if (!W->violation) {
        bool acked = false;
        for (int k = 0; k < W->nacked; k++)
            acked = acked || W->acked_val[k] == final_value;
        if (!acked)
            fail("a produce after the quiet phase was not acknowledged");
    }
    while (sim_queue_pop(&W->q, &e))
        free(e.data);
    sim_queue_free(&W->q);
    for (int i = 0; i < NN; i++)
        eh_free(&W->n[i].eh);
}

static uint64_t g_tot[7];

static bool run_seed(uint64_t seed, bool verbose, bool report)
{
    static world w;
    memset(&w, 0, sizeof(w));
    W = &w;
    sim_trace_reset(&w.tr, verbose);
    run(seed);
    g_tot[0] += w.events;
    g_tot[1] += w.crashes;
    g_tot[2] += (uint64_t)w.nacked;
    g_tot[3] += w.truncations;
    g_tot[4] += w.elections;
    g_tot[5] += w.proposals;
    g_tot[6] += w.tail_cuts;
    if (!w.violation)
        return true;
    if (report) {
        printf("FAIL seed=%" PRIu64 ": %s\n  faults: drop %.2f dup %.2f delay<=%" PRId64
               " crash %.3f pause %.3f\n", seed, w.violation, w.drop, w.dup, w.delay_max,
               w.crash_rate, w.pause_rate);
        sim_trace_dump(&w.tr, 80);
        printf("  replay: sim_repl --seed %" PRIu64 " --verbose\n", seed);
    }
    return false;
}

static void print_totals(void)
{
    printf("totals: %" PRIu64 " events, %" PRIu64 " crashes, %" PRIu64 " acknowledged, %" PRIu64
           " truncations, %" PRIu64 " elections, %" PRIu64 " ISR proposals, %" PRIu64
           " tail cuts\n", g_tot[0], g_tot[1], g_tot[2], g_tot[3], g_tot[4], g_tot[5], g_tot[6]);
}

int main(int argc, char **argv)
{
    const sim_flag flags[] = {
        {"--unclean-election", &g_unclean, "elect any live replica (no ISR/ELR rule)"},
        {"--report-unsynced", &g_report_unsynced,
         "followers fetch from their log end before it is fsynced"},
        {"--restart-same-epoch", &g_same_epoch, "a restarted leader leads on in its old epoch"},
        {"--cut-to-own-hw", &g_cut_own_hw,
         "a leader elected below min.insync cuts to its own high watermark, not the frozen one"},
    };
    sim_opts o;
    int rc = sim_opts_parse(&o, argc, argv, "sim_repl", flags, sizeof(flags) / sizeof(flags[0]));
    if (rc != 0)
        return rc;
    return sim_run_seeds(&o, "sim_repl", run_seed, print_totals);
}
