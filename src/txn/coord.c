/* coord.c - see coord.h and docs/transactions.md. */
#include "txn/coord.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/buf.h"
#include "base/hash.h"
#include "proto/errors.h"

#define RECORD_VERSION 2 /* 1 added txn_seq, 2 tv2 and next_pid; older ones are still read */
#define EPOCH_MAX (INT16_MAX - 1) /* past this a producer id is rotated */

static const char *g_state_names[TXN_STATE_COUNT] = {
    "Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort",
    "PrepareEpochFence", "Dead"};

const char *txn_state_name(int s)
{
    return s >= 0 && s < TXN_STATE_COUNT ? g_state_names[s] : "?";
}

/* allowed[to] = bit set of states it may be entered from (Kafka's validPreviousStates). */
#define B(s) (1u << (s))
static const unsigned g_allowed_from[TXN_STATE_COUNT] = {
    [TXN_EMPTY] = B(TXN_EMPTY) | B(TXN_COMPLETE_COMMIT) | B(TXN_COMPLETE_ABORT),
    [TXN_ONGOING] = B(TXN_ONGOING) | B(TXN_EMPTY) | B(TXN_COMPLETE_COMMIT) | B(TXN_COMPLETE_ABORT),
    [TXN_PREPARE_COMMIT] = B(TXN_ONGOING),
    /* From Empty and Complete*: a transactions-v2 abort with nothing ongoing (KIP-890: the
     * client cannot know whether a produce added a partition, so it always ends). */
    [TXN_PREPARE_ABORT] = B(TXN_ONGOING) | B(TXN_PREPARE_EPOCH_FENCE) | B(TXN_EMPTY) |
                          B(TXN_COMPLETE_COMMIT) | B(TXN_COMPLETE_ABORT),
    [TXN_COMPLETE_COMMIT] = B(TXN_PREPARE_COMMIT),
    [TXN_COMPLETE_ABORT] = B(TXN_PREPARE_ABORT),
    [TXN_PREPARE_EPOCH_FENCE] = B(TXN_ONGOING),
    [TXN_DEAD] = B(TXN_EMPTY) | B(TXN_COMPLETE_COMMIT) | B(TXN_COMPLETE_ABORT),
};

bool txn_transition_allowed(int from, int to)
{
    if (from < 0 || from >= TXN_STATE_COUNT || to < 0 || to >= TXN_STATE_COUNT)
        return false;
    return (g_allowed_from[to] & B(from)) != 0;
}

void txn_coord_init(txn_coord *c, const txn_coord_config *cfg)
{
    memset(c, 0, sizeof(*c));
    c->cfg = *cfg;
}

static void parts_free(txn_participant *p, int n)
{
    for (int i = 0; i < n; i++)
        free(p[i].name);
}

static void clear_parts(txn_meta *t);

void txn_coord_clear_actions(txn_coord *c)
{
    for (size_t i = 0; i < c->nacts; i++)
        free(c->acts[i].record);
    c->nacts = 0;
}

void txn_coord_free(txn_coord *c)
{
    txn_coord_clear_actions(c);
    free(c->acts);
    /* The by-pid table's buckets are uthash's own allocation: free them while the metas
     * still exist (it leaked at every free; found by tests/sim under ASan). */
    HASH_CLEAR(hh_pid, c->by_pid);
    txn_meta *t, *tmp;
    HASH_ITER(hh, c->by_id, t, tmp)
    {
        HASH_DEL(c->by_id, t);
        clear_parts(t);
        free(t->parts);
        free(t->id);
        free(t);
    }
    c->by_pid = NULL;
}

txn_meta *txn_coord_find(const txn_coord *c, const char *txn_id)
{
    txn_meta *t = NULL;
    HASH_FIND_STR(c->by_id, txn_id, t);
    return t;
}

txn_meta *txn_coord_find_pid(const txn_coord *c, int64_t pid)
{
    txn_meta *t = NULL;
    HASH_FIND(hh_pid, c->by_pid, &pid, sizeof(pid), t);
    return t;
}

static txn_action *emit(txn_coord *c, int kind, txn_meta *t)
{
    if (c->nacts == c->acts_cap) {
        size_t cap = c->acts_cap ? c->acts_cap * 2 : 16;
        txn_action *n = realloc(c->acts, cap * sizeof(*n));
        BROOK_ASSERT(n); /* the state machine cannot drop an action */
        c->acts = n;
        c->acts_cap = cap;
    }
    txn_action *a = &c->acts[c->nacts++];
    memset(a, 0, sizeof(*a));
    a->kind = kind;
    a->txn_id = t ? t->id : NULL;
    if (t) {
        a->pid = t->pid;
        a->epoch = t->epoch;
        a->txn_seq = t->txn_seq;
    }
    return a;
}

static void reply(txn_coord *c, txn_meta *t, txn_req req, int16_t kind, int16_t err)
{
    if (!req)
        return;
    txn_action *a = emit(c, TXN_ACT_REPLY, t);
    a->req = req;
    a->reply_kind = kind;
    a->error = err;
}

static void reply_pending(txn_coord *c, txn_meta *t, int16_t err)
{
    txn_req req = t->reply;
    t->reply = 0;
    reply(c, t, req, t->reply_kind, err);
}

static void set_pid(txn_coord *c, txn_meta *t, int64_t pid)
{
    if (t->pid == pid)
        return;
    txn_meta *old = txn_coord_find_pid(c, t->pid);
    if (old == t)
        HASH_DELETE(hh_pid, c->by_pid, t);
    t->pid = pid;
    HASH_ADD(hh_pid, c->by_pid, pid, sizeof(t->pid), t);
}

static void set_state(txn_meta *t, int to)
{
    BROOK_ASSERT(txn_transition_allowed(t->state, to));
    t->state = (int8_t)to;
}

/* Emits the transaction-log record for `state` with the pending values and participants
 * [0, nparts). With notify the transaction waits in TXN_PHASE_LOGGING. */
static void log_record(txn_coord *c, txn_meta *t, int state, int nparts, bool notify,
                       int64_t now_ms)
{
    txn_image im = {.pid = t->new_pid, .prev_pid = t->new_prev_pid, .epoch = t->new_epoch,
                    .prev_epoch = t->new_prev_epoch, .timeout_ms = t->new_timeout_ms,
                    .state = (int8_t)state, .start_ms = t->new_start_ms, .update_ms = now_ms,
                    .nparts = nparts, .parts = t->parts, .txn_seq = t->new_txn_seq,
                    .tv2 = t->new_tv2, .next_pid = t->new_next_pid};
    txn_action *a = emit(c, TXN_ACT_LOG, t);
    int rc = txn_record_encode(&im, &a->record, &a->record_len);
    BROOK_ASSERT(rc == 0);
    a->notify = notify;
    if (notify) {
        t->phase = TXN_PHASE_LOGGING;
        t->logging_state = (int8_t)state;
        t->pending_nparts = nparts;
    }
}

/* Pending values start as the current ones. */
static void stage_current(txn_meta *t)
{
    t->new_pid = t->pid;
    t->new_prev_pid = t->prev_pid;
    t->new_epoch = t->epoch;
    t->new_prev_epoch = t->prev_epoch;
    t->new_timeout_ms = t->timeout_ms;
    t->new_start_ms = t->start_ms;
    t->new_txn_seq = t->txn_seq;
    t->new_tv2 = t->tv2;
    t->new_next_pid = t->next_pid;
}

static void apply_staged(txn_coord *c, txn_meta *t)
{
    set_pid(c, t, t->new_pid);
    t->prev_pid = t->new_prev_pid;
    t->epoch = t->new_epoch;
    t->prev_epoch = t->new_prev_epoch;
    t->timeout_ms = t->new_timeout_ms;
    t->start_ms = t->new_start_ms;
    t->txn_seq = t->new_txn_seq;
    t->tv2 = t->new_tv2;
    t->next_pid = t->new_next_pid;
}

static void clear_parts(txn_meta *t)
{
    int n = t->pending_nparts > t->nparts ? t->pending_nparts : t->nparts;
    parts_free(t->parts, n);
    t->nparts = t->pending_nparts = 0;
}

static txn_meta *txn_new(txn_coord *c, const char *id)
{
    txn_meta *t = calloc(1, sizeof(*t));
    BROOK_ASSERT(t);
    t->id = strdup(id);
    BROOK_ASSERT(t->id);
    t->pid = -1;
    t->epoch = -1;
    t->prev_pid = -1;
    t->prev_epoch = -1;
    t->next_pid = -1;
    t->reserved_pid = -1;
    t->state = TXN_EMPTY;
    HASH_ADD_KEYPTR(hh, c->by_id, t->id, strlen(t->id), t);
    return t;
}

/* ---------------- ending: decision, markers, completion ---------------- */

static void start_markers(txn_coord *c, txn_meta *t, int64_t now_ms);

/* A transactions-v2 end (EndTxn v5+): the decision and its markers carry epoch + 1, the
 * epoch the client continues with; prev_epoch keeps the one it ended with, so a retry of
 * this EndTxn is recognised. At the last epochs the producer moves on to reserved_pid. */
static void stage_tv2_bump(txn_meta *t)
{
    BROOK_ASSERT(t->epoch < INT16_MAX);
    t->new_tv2 = true;
    t->new_prev_epoch = t->epoch;
    t->new_epoch = (int16_t)(t->epoch + 1);
    t->new_next_pid = -1;
    if (t->new_epoch >= EPOCH_MAX) {
        BROOK_ASSERT(t->reserved_pid >= 0);
        t->new_next_pid = t->reserved_pid;
    }
}

/* Logs the decision (PrepareCommit or PrepareAbort): the commit point once durable. */
static void decide(txn_coord *c, txn_meta *t, bool commit, bool tv2, int64_t now_ms)
{
    t->commit = commit;
    stage_current(t);
    t->new_tv2 = false;
    t->new_next_pid = -1;
    if (tv2)
        stage_tv2_bump(t);
    log_record(c, t, commit ? TXN_PREPARE_COMMIT : TXN_PREPARE_ABORT, t->nparts, true, now_ms);
}

/* Aborts an Ongoing transaction; with fence the epoch is bumped first so the current
 * producer is fenced (timeouts, InitProducerId, operators). */
static void begin_abort(txn_coord *c, txn_meta *t, bool fence, int64_t now_ms)
{
    BROOK_ASSERT(t->state == TXN_ONGOING && t->phase == TXN_PHASE_IDLE);
    t->commit = false;
    stage_current(t);
    t->new_tv2 = false;
    t->new_next_pid = -1;
    if (fence && t->epoch < EPOCH_MAX) {
        t->new_prev_epoch = t->epoch;
        t->new_epoch = (int16_t)(t->epoch + 1);
    }
    log_record(c, t, TXN_PREPARE_ABORT, t->nparts, true, now_ms);
}

static void complete(txn_coord *c, txn_meta *t, int64_t now_ms)
{
    int to = t->commit ? TXN_COMPLETE_COMMIT : TXN_COMPLETE_ABORT;
    stage_current(t);
    if (t->tv2 && t->next_pid >= 0) {
        /* The epochs of this producer id are used up: it continues as next_pid. */
        t->new_prev_pid = t->pid; /* prev_epoch stays the one the client ended with */
        t->new_pid = t->next_pid;
        t->new_epoch = 0;
        t->new_next_pid = -1;
    }
    /* The decision and the markers are durable: recovery would only repeat the markers.
     * So the completion record is not waited for, nor made durable on its own (the
     * executor may let it ride with a later write); later records of this id follow it in
     * the same log partition, so making one of them durable makes it durable too. */
    log_record(c, t, to, 0, false, now_ms);
    apply_staged(c, t);
    set_state(t, to);
    clear_parts(t);
    t->phase = TXN_PHASE_IDLE;
    if (t->commit)
        c->commits++;
    else
        c->aborts++;
    /* A commit that turned into an abort (a participant voted no) is an error for the
     * client; everything else succeeded. */
    bool asked_commit = t->reply_kind == TXN_REPLY_END && t->reply && t->vote_no;
    reply_pending(c, t, asked_commit ? KERR_KAFKA_STORAGE_ERROR : KERR_NONE);
}

static void start_markers(txn_coord *c, txn_meta *t, int64_t now_ms)
{
    t->phase = TXN_PHASE_MARKING;
    t->waiting = t->nparts;
    for (int i = 0; i < t->nparts; i++) {
        t->parts[i].done = false;
        txn_action *a = emit(c, TXN_ACT_MARKER, t);
        a->part = &t->parts[i];
        a->commit = t->commit;
    }
    if (t->waiting == 0)
        complete(c, t, now_ms);
}

static void start_prepare(txn_coord *c, txn_meta *t, int64_t now_ms)
{
    t->phase = TXN_PHASE_PREPARING;
    t->commit = true;
    t->vote_no = false;
    t->waiting = 0;
    for (int i = 0; i < t->nparts; i++) {
        /* Offsets-only participants (groups) hold nothing to make durable: no vote. */
        t->parts[i].done = t->parts[i].kind != TXN_PART_PARTITION;
        if (t->parts[i].done)
            continue;
        t->waiting++;
        txn_action *a = emit(c, TXN_ACT_PREPARE, t);
        a->part = &t->parts[i];
    }
    if (t->waiting == 0)
        decide(c, t, true, t->end_tv2, now_ms);
}

/* ---------------- requests ---------------- */

void txn_coord_init_pid(txn_coord *c, txn_req req, const char *txn_id, int32_t timeout_ms,
                        int64_t expected_pid, int16_t expected_epoch, int64_t new_pid,
                        int64_t now_ms, bool *used_new_pid)
{
    *used_new_pid = false;
    if (timeout_ms <= 0 || timeout_ms > c->cfg.max_timeout_ms) {
        reply(c, NULL, req, TXN_REPLY_INIT_PID, KERR_INVALID_TRANSACTION_TIMEOUT);
        return;
    }
    if ((expected_pid < 0) != (expected_epoch < 0)) {
        reply(c, NULL, req, TXN_REPLY_INIT_PID, KERR_INVALID_REQUEST);
        return;
    }
    txn_meta *t = txn_coord_find(c, txn_id);
    if (!t)
        t = txn_new(c, txn_id);
    if (t->phase != TXN_PHASE_IDLE) {
        reply(c, t, req, TXN_REPLY_INIT_PID, KERR_CONCURRENT_TRANSACTIONS);
        return;
    }
    if (expected_pid >= 0 && t->pid >= 0) {
        bool retry = expected_pid == t->pid && t->prev_epoch >= 0 &&
                     expected_epoch == t->prev_epoch;
        if (retry && (t->state == TXN_EMPTY || t->state == TXN_COMPLETE_ABORT ||
                      t->state == TXN_COMPLETE_COMMIT)) {
            reply(c, t, req, TXN_REPLY_INIT_PID, KERR_NONE); /* a retried bump */
            return;
        }
        bool current = expected_pid == t->pid && expected_epoch == t->epoch;
        if (!current && !retry) {
            reply(c, t, req, TXN_REPLY_INIT_PID, KERR_PRODUCER_FENCED);
            return;
        }
    }
    switch (t->state) {
    case TXN_ONGOING:
        /* Fence the old producer and abort its transaction; the client retries. */
        begin_abort(c, t, true, now_ms);
        reply(c, t, req, TXN_REPLY_INIT_PID, KERR_CONCURRENT_TRANSACTIONS);
        return;
    case TXN_PREPARE_COMMIT:
    case TXN_PREPARE_ABORT:
    case TXN_PREPARE_EPOCH_FENCE:
        reply(c, t, req, TXN_REPLY_INIT_PID, KERR_CONCURRENT_TRANSACTIONS);
        return;
    default:
        break;
    }
    stage_current(t);
    t->new_tv2 = false; /* an EndTxn retry is never recognised across an InitProducerId */
    t->new_next_pid = -1;
    t->new_timeout_ms = timeout_ms;
    if (t->pid < 0 || t->epoch >= EPOCH_MAX) {
        /* A new transactional id, or its epochs are exhausted: a fresh producer id. */
        t->new_prev_pid = t->pid;
        t->new_pid = new_pid;
        t->new_epoch = 0;
        t->new_prev_epoch = -1;
        *used_new_pid = true;
    } else {
        /* prev_epoch lets a retried bump (expected = prev) get the current epoch back. A
         * request without an expected epoch is a new producer instance that fences every
         * older one, so no previous epoch is kept: otherwise a zombie still at the old epoch
         * would pass as a retry and share the new epoch with the new instance (as Kafka:
         * lastProducerEpoch = -1). Found by tests/sim (seed 164). */
        t->new_prev_epoch = expected_pid >= 0 ? t->epoch : -1;
        t->new_epoch = (int16_t)(t->epoch + 1);
    }
    clear_parts(t);
    t->reply = req;
    t->reply_kind = TXN_REPLY_INIT_PID;
    log_record(c, t, TXN_EMPTY, 0, true, now_ms);
}

static bool same_part(const txn_participant *a, const txn_participant *b)
{
    return a->kind == b->kind && a->partition == b->partition && strcmp(a->name, b->name) == 0;
}

/* Common checks of AddPartitions/AddOffsets/EndTxn; returns NONE or the error. */
static int16_t check_producer(txn_meta *t, int64_t pid, int16_t epoch)
{
    if (!t || t->pid != pid)
        return KERR_INVALID_PRODUCER_ID_MAPPING;
    if (epoch != t->epoch)
        return KERR_PRODUCER_FENCED;
    if (t->phase != TXN_PHASE_IDLE || t->state == TXN_PREPARE_COMMIT ||
        t->state == TXN_PREPARE_ABORT || t->state == TXN_PREPARE_EPOCH_FENCE)
        return KERR_CONCURRENT_TRANSACTIONS;
    return KERR_NONE;
}

/* A request naming many participants is deduplicated through a transient index of the
 * transaction's participants (open addressing, slots hold index + 1): a linear scan per
 * name made one AddPartitionsToTxn of 100,000 groups hold the loop 52 s (an adversarial
 * hunt, session 37). Few names keep the scan. */
#define PART_INDEX_FROM 16

typedef struct part_index {
    uint32_t *slot;
    size_t mask;
} part_index;

static uint64_t part_hash(const txn_participant *p)
{
    uint64_t h = hash_fnv1a(HASH_FNV1A_INIT, p->name, strlen(p->name));
    h = hash_fnv1a(h, &p->kind, sizeof(p->kind));
    return hash_fnv1a(h, &p->partition, sizeof(p->partition));
}

/* An index sized for `want` entries; false when out of memory (the caller scans). */
static bool part_index_init(part_index *ix, size_t want)
{
    size_t cap = 64;
    while (cap < 2 * want)
        cap *= 2;
    ix->slot = calloc(cap, sizeof(*ix->slot));
    ix->mask = cap - 1;
    return ix->slot != NULL;
}

/* Finds p among parts through ix; when absent and `add` is n >= 0, records parts[add] in
 * p's slot. Returns whether it was there. */
static bool part_index_has(part_index *ix, const txn_participant *parts,
                           const txn_participant *p, int add)
{
    size_t i = (size_t)part_hash(p) & ix->mask;
    for (; ix->slot[i]; i = (i + 1) & ix->mask)
        if (same_part(&parts[ix->slot[i] - 1], p))
            return true;
    if (add >= 0)
        ix->slot[i] = (uint32_t)add + 1;
    return false;
}

/* Whether p is among parts[0..n), by ix when there is one. */
static bool part_known(part_index *ix, const txn_participant *parts, int n,
                       const txn_participant *p)
{
    if (ix->slot)
        return part_index_has(ix, parts, p, -1);
    for (int k = 0; k < n; k++)
        if (same_part(&parts[k], p))
            return true;
    return false;
}

void txn_coord_add(txn_coord *c, txn_req req, const char *txn_id, int64_t pid, int16_t epoch,
                   const txn_participant *parts, int nparts, int64_t now_ms)
{
    txn_meta *t = txn_coord_find(c, txn_id);
    int16_t err = check_producer(t, pid, epoch);
    if (err == KERR_NONE && t->state == TXN_DEAD)
        err = KERR_INVALID_TXN_STATE;
    if (err != KERR_NONE) {
        reply(c, t, req, TXN_REPLY_ADD, err);
        return;
    }
    int n = t->nparts;
    part_index ix = {0};
    if (nparts > PART_INDEX_FROM && part_index_init(&ix, (size_t)n + (size_t)nparts))
        for (int k = 0; k < n; k++)
            part_index_has(&ix, t->parts, &t->parts[k], k);
    for (int i = 0; i < nparts; i++) {
        if (part_known(&ix, t->parts, n, &parts[i]))
            continue;
        if (n == t->parts_cap) {
            int cap = t->parts_cap ? t->parts_cap * 2 : 8;
            txn_participant *np = realloc(t->parts, sizeof(*np) * (size_t)cap);
            BROOK_ASSERT(np);
            t->parts = np;
            t->parts_cap = cap;
        }
        t->parts[n] = parts[i];
        t->parts[n].name = strdup(parts[i].name);
        BROOK_ASSERT(t->parts[n].name);
        t->parts[n].done = false;
        if (ix.slot)
            part_index_has(&ix, t->parts, &t->parts[n], n);
        n++;
    }
    free(ix.slot);
    if (n == t->nparts && t->state == TXN_ONGOING) {
        reply(c, t, req, TXN_REPLY_ADD, KERR_NONE);
        return;
    }
    stage_current(t);
    if (t->state != TXN_ONGOING) {
        t->new_start_ms = now_ms;
        t->new_txn_seq = t->txn_seq + 1; /* a new transaction of this id begins */
    }
    t->reply = req;
    t->reply_kind = TXN_REPLY_ADD;
    log_record(c, t, TXN_ONGOING, n, true, now_ms);
}

/* A transactions-v2 EndTxn that repeats one already carried out: it names the epoch the
 * end bumped from (and, after a rotation, the producer id it left). */
static bool tv2_end_retry(const txn_meta *t, int64_t pid, int16_t epoch)
{
    if (!t->tv2 || t->prev_epoch < 0 || epoch != t->prev_epoch)
        return false;
    if (pid == t->pid)
        return t->epoch == epoch + 1;
    return pid == t->prev_pid && t->epoch == 0;
}

static void end_txn(txn_coord *c, txn_req req, const char *txn_id, int64_t pid, int16_t epoch,
                    bool commit, bool tv2, int64_t new_pid, int64_t now_ms)
{
    txn_meta *t = txn_coord_find(c, txn_id);
    if (tv2 && t && tv2_end_retry(t, pid, epoch)) {
        int16_t err;
        if (t->phase != TXN_PHASE_IDLE || t->state == TXN_PREPARE_COMMIT ||
            t->state == TXN_PREPARE_ABORT)
            err = KERR_CONCURRENT_TRANSACTIONS; /* the end is still being carried out */
        else if (t->state == TXN_ONGOING)
            err = KERR_PRODUCER_FENCED; /* a later transaction runs at the bumped epoch */
        else if ((t->state == TXN_COMPLETE_COMMIT && commit) ||
                 (t->state == TXN_COMPLETE_ABORT && !commit))
            err = KERR_NONE;
        else
            err = KERR_INVALID_TXN_STATE;
        reply(c, t, req, TXN_REPLY_END, err);
        return;
    }
    int16_t err = check_producer(t, pid, epoch);
    if (err == KERR_NONE) {
        bool idle = t->state == TXN_EMPTY || t->state == TXN_COMPLETE_COMMIT ||
                    t->state == TXN_COMPLETE_ABORT;
        if (!tv2 && t->state == TXN_COMPLETE_COMMIT && commit)
            err = KERR_NONE; /* a retry of a finished commit */
        else if (!tv2 && t->state == TXN_COMPLETE_ABORT && !commit)
            err = KERR_NONE;
        else if (tv2 && idle && !commit && t->epoch < INT16_MAX) {
            /* Nothing ongoing: the abort only bumps the epoch (no participants, no markers). */
            t->reply = req;
            t->reply_kind = TXN_REPLY_END;
            t->vote_no = false;
            t->commit = false;
            t->end_tv2 = true;
            t->reserved_pid = new_pid;
            clear_parts(t);
            stage_current(t);
            stage_tv2_bump(t);
            log_record(c, t, TXN_PREPARE_ABORT, 0, true, now_ms);
            return;
        } else if (t->state != TXN_ONGOING)
            err = KERR_INVALID_TXN_STATE;
        else {
            t->reply = req;
            t->reply_kind = TXN_REPLY_END;
            t->vote_no = false;
            t->end_tv2 = tv2;
            t->reserved_pid = new_pid;
            if (commit)
                start_prepare(c, t, now_ms);
            else
                decide(c, t, false, tv2, now_ms);
            return;
        }
    }
    reply(c, t, req, TXN_REPLY_END, err);
}

void txn_coord_end(txn_coord *c, txn_req req, const char *txn_id, int64_t pid, int16_t epoch,
                   bool commit, int64_t now_ms)
{
    end_txn(c, req, txn_id, pid, epoch, commit, false, -1, now_ms);
}

void txn_coord_end_tv2(txn_coord *c, txn_req req, const char *txn_id, int64_t pid,
                       int16_t epoch, bool commit, int64_t new_pid, int64_t now_ms)
{
    end_txn(c, req, txn_id, pid, epoch, commit, true, new_pid, now_ms);
}

bool txn_coord_end_needs_pid(const txn_coord *c, const char *txn_id)
{
    const txn_meta *t = txn_coord_find(c, txn_id);
    return t && t->epoch + 1 >= EPOCH_MAX;
}

int16_t txn_coord_admin_abort(txn_coord *c, const char *txn_id, int64_t now_ms)
{
    txn_meta *t = txn_coord_find(c, txn_id);
    if (!t)
        return KERR_INVALID_PRODUCER_ID_MAPPING;
    if (t->state != TXN_ONGOING)
        return t->state == TXN_PREPARE_ABORT ? KERR_NONE : KERR_INVALID_TXN_STATE;
    if (t->phase != TXN_PHASE_IDLE)
        return KERR_CONCURRENT_TRANSACTIONS;
    begin_abort(c, t, true, now_ms);
    return KERR_NONE;
}

/* ---------------- completions ---------------- */

void txn_coord_logged(txn_coord *c, const char *txn_id, bool ok, int64_t now_ms)
{
    txn_meta *t = txn_coord_find(c, txn_id);
    if (!t || t->phase != TXN_PHASE_LOGGING)
        return; /* a stale completion (the simulator duplicates messages) */
    int st = t->logging_state;
    t->phase = TXN_PHASE_IDLE;
    if (!ok) {
        /* Not durable: nothing changed. The client retries (a coordinator error). */
        for (int i = t->nparts; i < t->pending_nparts; i++)
            free(t->parts[i].name);
        t->pending_nparts = t->nparts;
        reply_pending(c, t, KERR_COORDINATOR_NOT_AVAILABLE);
        return;
    }
    apply_staged(c, t);
    t->nparts = t->pending_nparts;
    if (st != t->state)
        set_state(t, st);
    t->update_ms = now_ms;
    switch (st) {
    case TXN_EMPTY:
    case TXN_ONGOING:
        reply_pending(c, t, KERR_NONE);
        break;
    case TXN_PREPARE_COMMIT:
    case TXN_PREPARE_ABORT:
        start_markers(c, t, now_ms);
        break;
    default:
        BROOK_ASSERT(0);
    }
}

static txn_participant *find_part(txn_meta *t, const txn_participant *p)
{
    for (int i = 0; i < t->nparts; i++)
        if (same_part(&t->parts[i], p))
            return &t->parts[i];
    return NULL;
}

void txn_coord_voted(txn_coord *c, const char *txn_id, const txn_participant *part, bool yes,
                     int64_t now_ms)
{
    txn_meta *t = txn_coord_find(c, txn_id);
    if (!t || t->phase != TXN_PHASE_PREPARING)
        return;
    txn_participant *p = find_part(t, part);
    if (!p || p->done)
        return;
    p->done = true;
    if (!yes)
        t->vote_no = true;
    if (--t->waiting == 0)
        decide(c, t, !t->vote_no, t->end_tv2, now_ms);
}

void txn_coord_marked(txn_coord *c, const char *txn_id, const txn_participant *part,
                      int64_t now_ms)
{
    txn_meta *t = txn_coord_find(c, txn_id);
    if (!t || t->phase != TXN_PHASE_MARKING)
        return;
    txn_participant *p = find_part(t, part);
    if (!p || p->done)
        return;
    p->done = true;
    if (--t->waiting == 0)
        complete(c, t, now_ms);
}

void txn_coord_tick(txn_coord *c, int64_t now_ms)
{
    for (txn_meta *t = c->by_id; t; t = t->hh.next)
        if (t->state == TXN_ONGOING && t->phase == TXN_PHASE_IDLE &&
            now_ms - t->start_ms > t->timeout_ms)
            begin_abort(c, t, true, now_ms);
}

bool txn_coord_verify(const txn_coord *c, int64_t pid, int16_t epoch, const char *topic,
                      int32_t partition)
{
    txn_meta *t = txn_coord_find_pid(c, pid);
    if (!t || t->epoch != epoch || t->state != TXN_ONGOING)
        return false;
    for (int i = 0; i < t->nparts; i++)
        if (t->parts[i].kind == TXN_PART_PARTITION && t->parts[i].partition == partition &&
            strcmp(t->parts[i].name, topic) == 0)
            return true;
    return false;
}

/* ---------------- the log record ---------------- */

int txn_record_encode(const txn_image *im, uint8_t **out, size_t *len)
{
    wr w;
    wr_init(&w, 64);
    wr_i16(&w, RECORD_VERSION);
    wr_i64(&w, im->pid);
    wr_i16(&w, im->epoch);
    wr_i64(&w, im->prev_pid);
    wr_i16(&w, im->prev_epoch);
    wr_i32(&w, im->timeout_ms);
    wr_i8(&w, im->state);
    wr_i64(&w, im->start_ms);
    wr_i64(&w, im->update_ms);
    wr_i32(&w, im->nparts);
    for (int i = 0; i < im->nparts; i++) {
        wr_i8(&w, im->parts[i].kind);
        wr_cstr(&w, im->parts[i].name);
        wr_i32(&w, im->parts[i].partition);
    }
    wr_i64(&w, im->txn_seq);
    wr_i8(&w, im->tv2 ? 1 : 0);
    wr_i64(&w, im->next_pid);
    if (w.oom) {
        wr_free(&w);
        return -1;
    }
    *out = wr_take(&w, len);
    return 0;
}

int txn_coord_load(txn_coord *c, const uint8_t *key, size_t key_len, const uint8_t *value,
                   size_t value_len)
{
    if (key_len == 0 || key_len > 32767 || memchr(key, 0, key_len))
        return -1;
    rd r;
    rd_init(&r, value, value_len);
    int16_t version = rd_i16(&r);
    if (version < 0 || version > RECORD_VERSION)
        return -1;
    txn_image im;
    im.pid = rd_i64(&r);
    im.epoch = rd_i16(&r);
    im.prev_pid = rd_i64(&r);
    im.prev_epoch = rd_i16(&r);
    im.timeout_ms = rd_i32(&r);
    im.state = rd_i8(&r);
    im.start_ms = rd_i64(&r);
    im.update_ms = rd_i64(&r);
    int32_t n = rd_array(&r, 7);
    if (r.err || n < 0 || im.state < 0 || im.state >= TXN_STATE_COUNT)
        return -1;
    txn_participant *parts = calloc((size_t)n + 1, sizeof(*parts));
    if (!parts)
        return -1;
    for (int32_t i = 0; i < n && !r.err; i++) {
        parts[i].kind = rd_i8(&r);
        kslice name = rd_str(&r);
        parts[i].partition = rd_i32(&r);
        if (name.len < 0 || r.err)
            break;
        parts[i].name = strndup((const char *)name.p, (size_t)name.len);
    }
    im.txn_seq = version >= 1 ? rd_i64(&r) : 0;
    int8_t tv2 = version >= 2 ? rd_i8(&r) : 0;
    im.next_pid = version >= 2 ? rd_i64(&r) : -1;
    if (r.err || rd_remaining(&r) != 0 || im.txn_seq < 0 || (tv2 != 0 && tv2 != 1) ||
        im.next_pid < -1) {
        parts_free(parts, n);
        free(parts);
        return -1;
    }
    char id[32768];
    memcpy(id, key, key_len);
    id[key_len] = '\0';
    txn_meta *t = txn_coord_find(c, id);
    if (!t)
        t = txn_new(c, id);
    clear_parts(t);
    free(t->parts);
    t->parts = parts;
    t->nparts = t->pending_nparts = n;
    t->parts_cap = n + 1;
    set_pid(c, t, im.pid);
    t->epoch = im.epoch;
    t->prev_pid = im.prev_pid;
    t->prev_epoch = im.prev_epoch;
    t->timeout_ms = im.timeout_ms;
    t->state = im.state; /* replay: the log is the truth, no transition check */
    t->start_ms = im.start_ms;
    t->update_ms = im.update_ms;
    t->txn_seq = im.txn_seq;
    t->tv2 = tv2 == 1;
    t->next_pid = im.next_pid;
    t->phase = TXN_PHASE_IDLE;
    return 0;
}

static void recover_one(txn_coord *c, txn_meta *t, int64_t now_ms)
{
    t->phase = TXN_PHASE_IDLE;
    t->reply = 0;
    if (t->state == TXN_PREPARE_COMMIT || t->state == TXN_PREPARE_ABORT) {
        t->commit = t->state == TXN_PREPARE_COMMIT;
        t->vote_no = false;
        start_markers(c, t, now_ms);
    } else if (t->state == TXN_PREPARE_EPOCH_FENCE) {
        t->state = TXN_ONGOING;
        begin_abort(c, t, false, now_ms);
    }
}

void txn_coord_recover(txn_coord *c, int64_t now_ms)
{
    for (txn_meta *t = c->by_id; t; t = t->hh.next)
        recover_one(c, t, now_ms);
}

void txn_coord_recover_id(txn_coord *c, const char *txn_id, int64_t now_ms)
{
    txn_meta *t = txn_coord_find(c, txn_id);
    if (t)
        recover_one(c, t, now_ms);
}

void txn_coord_forget(txn_coord *c, const char *txn_id)
{
    BROOK_ASSERT(c->nacts == 0); /* queued actions point at the metas' ids */
    txn_meta *t = txn_coord_find(c, txn_id);
    if (!t)
        return;
    if (txn_coord_find_pid(c, t->pid) == t)
        HASH_DELETE(hh_pid, c->by_pid, t);
    HASH_DEL(c->by_id, t);
    clear_parts(t);
    free(t->parts);
    free(t->id);
    free(t);
}
