/* repl.c - see repl.h. */
#include "repl/repl.h"

#include <string.h>

#include "base/assert.h"
#include "proto/errors.h"

bool repl_set_has(const repl_set *s, int32_t id)
{
    for (int i = 0; i < s->n; i++)
        if (s->id[i] == id)
            return true;
    return false;
}

void repl_set_add(repl_set *s, int32_t id)
{
    if (!repl_set_has(s, id) && s->n < REPL_MAX_REPLICAS)
        s->id[s->n++] = id;
}

void repl_set_remove(repl_set *s, int32_t id)
{
    for (int i = 0; i < s->n; i++)
        if (s->id[i] == id) {
            memmove(&s->id[i], &s->id[i + 1], sizeof(s->id[0]) * (size_t)(s->n - i - 1));
            s->n--;
            return;
        }
}

bool repl_set_equal(const repl_set *a, const repl_set *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (!repl_set_has(b, a->id[i]))
            return false;
    return true;
}

void repl_init(repl_part *p, int32_t self, int32_t min_isr, int64_t lag_max_ms)
{
    memset(p, 0, sizeof(*p));
    p->self = self;
    p->leader = -1;
    p->epoch = -1;
    p->min_isr = min_isr > 0 ? min_isr : 1;
    p->lag_max_ms = lag_max_ms;
    p->frozen_hw = -1;
    p->proposed_frozen_hw = -1;
}

static repl_peer *peer_find(repl_part *p, int32_t id)
{
    for (int i = 0; i < p->npeers; i++)
        if (p->peers[i].id == id)
            return &p->peers[i];
    return NULL;
}

/* The leader's high watermark rule (repl.h). Returns true when it moved. */
static bool advance_hw(repl_part *p)
{
    if (p->role != REPL_LEADER || p->isr.n < p->min_isr)
        return false;
    if (p->frozen_hw >= 0 || (p->proposing && p->proposed.n < p->min_isr))
        return false; /* recorded as frozen, or a proposal records where it stops */
    int64_t hw = p->durable;
    const repl_set *sets[2] = {&p->isr, p->proposing ? &p->proposed : NULL};
    for (int k = 0; k < 2; k++) {
        for (int i = 0; sets[k] && i < sets[k]->n; i++) {
            int32_t id = sets[k]->id[i];
            if (id == p->self)
                continue;
            const repl_peer *peer = peer_find(p, id);
            int64_t end = peer ? peer->end : -1;
            if (end < hw)
                hw = end;
        }
    }
    if (hw <= p->hw)
        return false;
    BROOK_ASSERT(hw <= p->leo);
    p->hw = hw;
    return true;
}

static void propose(repl_part *p, const repl_set *next, repl_out *out)
{
    p->proposed = *next;
    p->proposing = true;
    /* Nothing acknowledged lies past the HW, nor past what earlier leaders acknowledged
     * (at most this epoch's start: this replica held all of it when elected). */
    p->proposed_frozen_hw = next->n >= p->min_isr ? -1
                            : p->hw > p->epoch_start ? p->hw : p->epoch_start;
    out->propose = true;
}

/* A leader below min.insync.replicas with no frozen HW recorded (the controller took the
 * ISR there, or this leader was elected there) records one, and one at min or above with
 * one recorded (min.insync.replicas was lowered) clears it: the same ISR, proposed. */
static void maybe_record_frozen(repl_part *p, repl_out *out)
{
    bool below = p->isr.n < p->min_isr;
    if (p->role == REPL_LEADER && !p->proposing && below == (p->frozen_hw < 0)) {
        repl_set same = p->isr;
        propose(p, &same, out);
    }
}

int64_t repl_frozen_hw_after(int old_n, int new_n, int32_t min_isr, int64_t old_frozen,
                             int64_t proposed)
{
    if (new_n >= min_isr)
        return -1;
    if (old_n >= min_isr || old_frozen < 0)
        return proposed;
    return old_frozen;
}

int64_t repl_leader_cut(const repl_set *isr, int32_t min_isr, int64_t frozen_hw, int64_t leo)
{
    return isr->n < min_isr && frozen_hw >= 0 && frozen_hw < leo ? frozen_hw : -1;
}

repl_out repl_become_leader(repl_part *p, int32_t epoch, const repl_set *replicas,
                            const repl_set *isr, int32_t state_version, int64_t frozen_hw,
                            int64_t leo, int64_t durable, int64_t hw, int64_t now_ms)
{
    BROOK_ASSERT(durable <= leo && hw <= leo);
    p->role = REPL_LEADER;
    p->leader = p->self;
    p->epoch = epoch;
    p->replicas = *replicas;
    p->isr = *isr;
    p->state_version = state_version;
    p->frozen_hw = frozen_hw;
    p->proposing = false;
    p->leo = leo;
    p->durable = durable;
    p->hw = hw > p->hw && hw <= leo ? hw : (p->hw <= leo ? p->hw : leo);
    p->epoch_start = leo;
    p->npeers = 0;
    for (int i = 0; i < replicas->n; i++) {
        if (replicas->id[i] == p->self)
            continue;
        /* ISR members get a full lag interval to show up before they are dropped. */
        p->peers[p->npeers++] = (repl_peer){replicas->id[i], -1, now_ms, now_ms, leo};
    }
    repl_out out = {0};
    out.hw_changed = advance_hw(p);
    maybe_record_frozen(p, &out);
    return out;
}

void repl_become_follower(repl_part *p, int32_t leader, int32_t epoch, const repl_set *replicas,
                          const repl_set *isr, int32_t state_version)
{
    p->role = leader == p->self ? REPL_NONE : REPL_FOLLOWER;
    p->leader = leader;
    p->epoch = epoch;
    p->replicas = *replicas;
    p->isr = *isr;
    p->state_version = state_version;
    p->proposing = false;
    p->npeers = 0;
}

repl_out repl_state_update(repl_part *p, const repl_set *isr, int32_t state_version,
                           int64_t frozen_hw, int64_t now_ms)
{
    (void)now_ms;
    repl_out out = {0};
    p->isr = *isr;
    p->state_version = state_version;
    p->frozen_hw = frozen_hw;
    out.hw_changed = advance_hw(p);
    maybe_record_frozen(p, &out);
    return out;
}

repl_out repl_local_progress(repl_part *p, int64_t leo, int64_t durable, int64_t now_ms)
{
    (void)now_ms;
    BROOK_ASSERT(durable <= leo);
    repl_out out = {0};
    p->leo = leo;
    p->durable = durable;
    if (p->hw > leo) /* a follower cut its log below what it knew as committed */
        p->hw = leo;
    out.hw_changed = advance_hw(p);
    return out;
}

int16_t repl_follower_fetch(repl_part *p, int32_t id, int32_t leader_epoch, int64_t fetch_offset,
                            int64_t now_ms, repl_out *out)
{
    memset(out, 0, sizeof(*out));
    if (p->role != REPL_LEADER)
        return KERR_NOT_LEADER_OR_FOLLOWER;
    if (leader_epoch >= 0 && leader_epoch < p->epoch)
        return KERR_FENCED_LEADER_EPOCH;
    if (leader_epoch > p->epoch)
        return KERR_UNKNOWN_LEADER_EPOCH;
    repl_peer *peer = peer_find(p, id);
    if (!peer)
        return KERR_NOT_LEADER_OR_FOLLOWER;
    if (fetch_offset < 0 || fetch_offset > p->leo)
        return KERR_OFFSET_OUT_OF_RANGE;
    /* Kafka's caught-up rule: at the log end now, or at least where the log ended when it
     * last fetched (then it was caught up as of that fetch). */
    if (fetch_offset >= p->leo)
        peer->last_caught_up_ms = now_ms;
    else if (fetch_offset >= peer->prev_fetch_leo && peer->prev_fetch_ms > peer->last_caught_up_ms)
        peer->last_caught_up_ms = peer->prev_fetch_ms;
    peer->prev_fetch_ms = now_ms;
    peer->prev_fetch_leo = p->leo;
    peer->end = fetch_offset;
    int64_t floor = p->hw > p->epoch_start ? p->hw : p->epoch_start;
    if (!repl_set_has(&p->isr, id) && !repl_set_has(&p->shutting, id) && !p->proposing &&
        fetch_offset >= floor) {
        repl_set next = p->isr;
        repl_set_add(&next, id);
        propose(p, &next, out);
    }
    out->hw_changed = advance_hw(p);
    return KERR_NONE;
}

repl_out repl_tick(repl_part *p, int64_t now_ms)
{
    repl_out out = {0};
    if (p->role != REPL_LEADER || p->proposing)
        return out;
    maybe_record_frozen(p, &out);
    if (p->proposing)
        return out;
    repl_set next = p->isr;
    for (int i = 0; i < p->isr.n; i++) {
        int32_t id = p->isr.id[i];
        const repl_peer *peer = id == p->self ? NULL : peer_find(p, id);
        if (peer && now_ms - peer->last_caught_up_ms > p->lag_max_ms)
            repl_set_remove(&next, id);
    }
    if (next.n != p->isr.n)
        propose(p, &next, &out);
    return out;
}

repl_out repl_proposal_done(repl_part *p, bool committed, int32_t new_version, int64_t now_ms)
{
    (void)now_ms;
    repl_out out = {0};
    if (!p->proposing)
        return out;
    p->proposing = false;
    if (committed) { /* as ZooKeeper applied it (zk_partition_set_isr) */
        p->frozen_hw = repl_frozen_hw_after(p->isr.n, p->proposed.n, p->min_isr, p->frozen_hw,
                                            p->proposed_frozen_hw);
        p->isr = p->proposed;
        p->state_version = new_version;
    }
    out.hw_changed = advance_hw(p);
    return out;
}

void repl_follower_hw(repl_part *p, int64_t leader_hw)
{
    int64_t hw = leader_hw < p->durable ? leader_hw : p->durable;
    if (hw > p->hw)
        p->hw = hw;
}

bool repl_accepts_acks_all(const repl_part *p)
{
    return p->role == REPL_LEADER && p->isr.n >= p->min_isr;
}

int64_t repl_truncation_offset(int32_t div_epoch, int64_t div_end, int32_t local_epoch,
                               int64_t local_end, int64_t leo, int64_t hw)
{
    int64_t off;
    if (div_end < 0)
        off = hw; /* the leader knows none of our epochs */
    else if (local_epoch < 0 || local_end < 0)
        off = div_end; /* we know nothing of that epoch or before: the leader's end */
    else if (local_epoch != div_epoch)
        off = local_end; /* the end of our largest epoch below it; then ask again */
    else
        off = local_end < div_end ? local_end : div_end;
    return off < leo ? off : leo;
}

repl_election repl_elect(const repl_set *replicas, const repl_set *isr, const repl_set *elr,
                         const repl_set *live, int32_t min_isr)
{
    repl_election e = {.leader = -1};
    for (int i = 0; i < isr->n; i++)
        if (repl_set_has(live, isr->id[i]))
            repl_set_add(&e.isr, isr->id[i]);
    e.elr = *elr;
    if (e.isr.n < min_isr) /* dead members of an ISR below min.insync hold all commits */
        for (int i = 0; i < isr->n; i++)
            if (!repl_set_has(live, isr->id[i]))
                repl_set_add(&e.elr, isr->id[i]);
    for (int i = 0; i < replicas->n && e.leader < 0; i++)
        if (repl_set_has(&e.isr, replicas->id[i]))
            e.leader = replicas->id[i];
    for (int i = 0; i < replicas->n && e.leader < 0; i++)
        if (repl_set_has(&e.elr, replicas->id[i]) && repl_set_has(live, replicas->id[i])) {
            e.leader = replicas->id[i];
            repl_set_add(&e.isr, e.leader);
            repl_set_remove(&e.elr, e.leader);
        }
    if (e.isr.n >= min_isr)
        e.elr.n = 0;
    return e;
}

bool repl_shutdown_move(const repl_set *replicas, int32_t leader, const repl_set *isr,
                        const repl_set *elr, const repl_set *live, const repl_set *shutting,
                        int32_t min_isr, repl_election *out)
{
    out->leader = leader;
    out->isr = *isr;
    out->elr = *elr;
    bool involved = repl_set_has(shutting, leader);
    for (int i = 0; i < isr->n; i++)
        involved = involved || repl_set_has(shutting, isr->id[i]);
    if (leader < 0 || !repl_set_has(live, leader) || !involved)
        return false;
    if (repl_set_has(shutting, leader))
        for (int i = 0; i < replicas->n && out->leader == leader; i++) {
            int32_t id = replicas->id[i];
            if (id != leader && repl_set_has(isr, id) && repl_set_has(live, id) &&
                !repl_set_has(shutting, id))
                out->leader = id;
        }
    repl_set next = {0};
    for (int i = 0; i < isr->n; i++)
        if (isr->id[i] == out->leader || !repl_set_has(shutting, isr->id[i]))
            repl_set_add(&next, isr->id[i]);
    if (next.n < min_isr)
        for (int i = 0; i < isr->n; i++)
            if (!repl_set_has(&next, isr->id[i]))
                repl_set_add(&out->elr, isr->id[i]);
    if (next.n >= min_isr)
        out->elr.n = 0;
    for (int i = 0; i < next.n; i++)
        repl_set_remove(&out->elr, next.id[i]);
    out->isr = next;
    return out->leader != leader || !repl_set_equal(&out->isr, isr) ||
           !repl_set_equal(&out->elr, elr);
}
