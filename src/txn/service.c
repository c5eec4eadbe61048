/* service.c - see service.h. */
#include "txn/service.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

#include "base/assert.h"
#include "base/log.h"
#include "proto/errors.h"
#include "proto/record.h"

enum wait_kind { WAIT_LOG = 0, WAIT_PREPARE, WAIT_MARKER };

struct txn_wait {
    int kind;
    char *txn_id;
    txn_participant part;
    partition *p;
    int64_t need; /* the partition's high watermark must reach this */
    /* PREPARE/MARKER: the action, to re-drive it through the remote hook when this node
     * stops leading p (txn_service_leadership_lost) */
    int64_t pid;
    int16_t epoch;
    int64_t txn_seq;
    bool commit;
    /* MARKER: p refused it or its log failed before it was durable. Never counted as done
     * (the coordinator would complete a commit this partition does not have, and the
     * partition's participant check would then abort it there): written again at every
     * tick until it takes, re-driven if this node stops leading p, dropped if the
     * coordinator's partition is unloaded (its next load re-sends it). */
    bool retry;
    txn_wait *prev, *next; /* utlist DL: arrival order, completed oldest first */
};

/* A completion waiting to be fed to the coordinator. */
typedef struct done_item {
    int kind;
    char *txn_id;
    txn_participant part;
    bool ok;
} done_item;

typedef struct done_queue {
    done_item *v;
    size_t n, cap;
} done_queue;

static void done_push(done_queue *q, int kind, const char *txn_id, const txn_participant *part,
                      bool ok)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        done_item *n = realloc(q->v, cap * sizeof(*n));
        BROOK_ASSERT(n);
        q->v = n;
        q->cap = cap;
    }
    done_item *d = &q->v[q->n++];
    memset(d, 0, sizeof(*d));
    d->kind = kind;
    d->txn_id = strdup(txn_id);
    BROOK_ASSERT(d->txn_id);
    if (part) {
        d->part = *part;
        d->part.name = strdup(part->name);
        BROOK_ASSERT(d->part.name);
    }
    d->ok = ok;
}

int32_t txn_log_partition_for(const char *txn_id, int32_t npartitions)
{
    int32_t h = 0; /* Java's String.hashCode over the (ASCII) bytes */
    for (const unsigned char *p = (const unsigned char *)txn_id; *p; p++)
        h = (int32_t)((uint32_t)h * 31u + *p);
    return (h & 0x7fffffff) % npartitions;
}

static int32_t part_of(const txn_service *s, const char *txn_id)
{
    return txn_log_partition_for(txn_id, s->log_topic->npartitions);
}

int32_t txn_service_coordinator_epoch(const txn_service *s, const char *txn_id)
{
    if (!s->coord_epochs || !s->log_topic)
        return s->coord.cfg.coordinator_epoch;
    return s->coord_epochs[part_of(s, txn_id)];
}

/* A participant refused `coordinator_epoch` for txn_id: its log partition has a newer
 * coordinator. The partition is unloaded as soon as no action is running (fences_apply):
 * its ids are forgotten here, their requests go elsewhere. */
static void fence_note(txn_service *s, const char *txn_id, int32_t coordinator_epoch,
                       const char *where)
{
    int32_t part = part_of(s, txn_id);
    if (coordinator_epoch > s->fenced_epochs[part])
        s->fenced_epochs[part] = coordinator_epoch;
    if (!s->loaded[part] || s->coord_epochs[part] > s->fenced_epochs[part])
        return;
    LOG_WARN("txn", "%s: %s has seen a newer coordinator than this one (coordinator epoch %d "
             "of %s-%d): no longer acting for that partition's transactional ids", txn_id,
             where, coordinator_epoch, TXN_LOG_TOPIC, part);
    s->fence_pending = true;
}

static partition *lookup(txn_service *s, const char *topic_name, int32_t index)
{
    topic *t = md_find(s->md, kslice_cstr(topic_name));
    if (!t || index < 0 || index >= t->npartitions)
        return NULL;
    return t->parts[index];
}

static bool reached(txn_service *s, partition *p, int64_t need)
{
    return store_high_watermark(s->store, p) >= need;
}

static txn_wait *wait_add(txn_service *s, int kind, const char *txn_id,
                          const txn_participant *part, partition *p, int64_t need,
                          const txn_action *a)
{
    txn_wait *w = calloc(1, sizeof(*w));
    BROOK_ASSERT(w);
    w->kind = kind;
    w->txn_id = strdup(txn_id);
    BROOK_ASSERT(w->txn_id);
    if (part) {
        w->part = *part;
        w->part.name = strdup(part->name);
        BROOK_ASSERT(w->part.name);
    }
    w->p = p;
    w->need = need;
    if (a) {
        w->pid = a->pid;
        w->epoch = a->epoch;
        w->txn_seq = a->txn_seq;
        w->commit = a->commit;
    }
    DL_APPEND(s->waits, w);
    return w;
}

static void wait_free(txn_wait *w)
{
    free(w->txn_id);
    free(w->part.name);
    free(w);
}

static void exec_log(txn_service *s, const txn_action *a, done_queue *q, int64_t now_ms)
{
    int32_t np = s->log_topic->npartitions;
    partition *p = s->log_topic->parts[txn_log_partition_for(a->txn_id, np)];
    if (p->replicated && !p->repl_leading) {
        /* Never write a replica this node does not lead: it would diverge. */
        LOG_WARN("txn", "%s: not appending to %s: not its leader here", a->txn_id, p->log->name);
        if (a->notify)
            done_push(q, WAIT_LOG, a->txn_id, NULL, false);
        return;
    }
    uint8_t *batch;
    size_t len = rb_build_kv(&batch, a->txn_id, strlen(a->txn_id), a->record, a->record_len,
                             now_ms);
    rb_header h;
    int64_t base;
    int rc = len && rb_validate(batch, len, &h) == RB_OK
                 ? log_append(p->log, batch, len, &h, now_ms, &base)
                 : LOG_ERR_NOMEM;
    free(batch);
    if (rc != LOG_OK) {
        LOG_ERROR("txn", "%s: cannot append to the transaction log: %s", a->txn_id,
                  log_result_name(rc));
        if (a->notify)
            done_push(q, WAIT_LOG, a->txn_id, NULL, false);
        return;
    }
    if (!a->notify) {
        store_mark_lazy(s->store, p); /* the completion record: see complete() in coord.c */
        return;
    }
    store_mark_dirty(s->store, p);
    wait_add(s, WAIT_LOG, a->txn_id, NULL, p, base + 1, NULL);
}

static void exec_prepare(txn_service *s, const txn_action *a, done_queue *q)
{
    if (s->remote && s->remote(s->remote_ctx, TXN_REMOTE_PREPARE, a->txn_id, a->part, a->pid,
                               a->epoch, a->txn_seq, a->commit))
        return;
    partition *p = lookup(s, a->part->name, a->part->partition);
    if (!p || p->log->failed) {
        LOG_WARN("txn", "%s: %s-%d cannot prepare (%s); voting no", a->txn_id, a->part->name,
                 a->part->partition, p ? "log failed" : "no such partition");
        done_push(q, WAIT_PREPARE, a->txn_id, a->part, false);
        return;
    }
    /* A local participant refuses a replaced coordinator as a remote one would (cluster
     * only: on one node the coordinator epoch never changes). No vote: the id is being
     * handed over. */
    int32_t ce = txn_service_coordinator_epoch(s, a->txn_id);
    if (s->remote && pstate_coordinator_fenced(&p->log->ps, a->pid, ce)) {
        fence_note(s, a->txn_id, ce, p->log->name);
        return;
    }
    /* Fence the producer's transaction here, then vote once its records are durable. */
    int64_t need = pstate_prepare(&p->log->ps, a->pid, a->epoch);
    if (need < 0 || reached(s, p, need))
        done_push(q, WAIT_PREPARE, a->txn_id, a->part, true);
    else
        wait_add(s, WAIT_PREPARE, a->txn_id, a->part, p, need, a);
}

static void exec_marker(txn_service *s, const txn_action *a, done_queue *q, int64_t now_ms)
{
    if (s->remote && s->remote(s->remote_ctx, TXN_REMOTE_MARKER, a->txn_id, a->part, a->pid,
                               a->epoch, a->txn_seq, a->commit))
        return;
    int32_t ce = txn_service_coordinator_epoch(s, a->txn_id);
    if (a->part->kind != TXN_PART_PARTITION) {
        partition *gp = NULL;
        int64_t gend = -1;
        int16_t err = s->group_marker ? s->group_marker(s->group_ctx, a->txn_id, a->part->name,
                                                        a->pid, a->epoch, a->commit, ce,
                                                        a->txn_seq, &gp, &gend)
                                      : KERR_COORDINATOR_NOT_AVAILABLE;
        if (err == KERR_TRANSACTION_COORDINATOR_FENCED)
            fence_note(s, a->txn_id, ce, a->part->name);
        else if (err != KERR_NONE)
            done_push(q, WAIT_MARKER, a->txn_id, a->part, true);
        else if (gp) /* cluster: committed once the offsets partition's HW gets there */
            wait_add(s, WAIT_MARKER, a->txn_id, a->part, gp, gend, a);
        return;
    }
    partition *p = lookup(s, a->part->name, a->part->partition);
    if (!p) {
        done_push(q, WAIT_MARKER, a->txn_id, a->part, true); /* the topic was deleted */
        return;
    }
    int64_t off;
    int rc = log_append_marker_seq(p->log, a->pid, a->epoch, a->commit, ce, a->txn_seq, now_ms,
                                   &off);
    if (rc == LOG_ERR_FENCED && s->remote) {
        fence_note(s, a->txn_id, ce, p->log->name); /* nothing appended; no ack */
        return;
    }
    if (rc != LOG_OK) {
        LOG_ERROR("txn", "%s: cannot write %s marker to %s-%d: %s; trying again at every tick",
                  a->txn_id, a->commit ? "COMMIT" : "ABORT", a->part->name,
                  a->part->partition, log_result_name(rc));
        wait_add(s, WAIT_MARKER, a->txn_id, a->part, p, INT64_MAX, a)->retry = true;
        return;
    }
    store_mark_dirty(s->store, p);
    wait_add(s, WAIT_MARKER, a->txn_id, a->part, p, off + 1, a);
}

/* Executes queued actions, feeds synchronous completions back, until quiet. */
static void run(txn_service *s, done_queue *q, int64_t now_ms)
{
    s->depth++;
    for (int rounds = 0; rounds < 1000000; rounds++) {
        size_t n = s->coord.nacts;
        for (size_t i = 0; i < n; i++) {
            txn_action *a = &s->coord.acts[i];
            switch (a->kind) {
            case TXN_ACT_LOG: exec_log(s, a, q, now_ms); break;
            case TXN_ACT_PREPARE: exec_prepare(s, a, q); break;
            case TXN_ACT_MARKER: exec_marker(s, a, q, now_ms); break;
            case TXN_ACT_REPLY:
                s->reply(s->ctx, a->req, a->reply_kind, a->error, a->pid, a->epoch);
                break;
            }
        }
        txn_coord_clear_actions(&s->coord);
        done_queue *ext = s->ext;
        if (ext && ext->n > 0) {
            for (size_t i = 0; i < ext->n; i++) {
                done_push(q, ext->v[i].kind, ext->v[i].txn_id, &ext->v[i].part, ext->v[i].ok);
                free(ext->v[i].txn_id);
                free(ext->v[i].part.name);
            }
            ext->n = 0;
        }
        if (q->n == 0)
            break;
        done_queue cur = *q;
        memset(q, 0, sizeof(*q));
        for (size_t i = 0; i < cur.n; i++) {
            done_item *d = &cur.v[i];
            if (d->kind == WAIT_LOG)
                txn_coord_logged(&s->coord, d->txn_id, d->ok, now_ms);
            else if (d->kind == WAIT_PREPARE)
                txn_coord_voted(&s->coord, d->txn_id, &d->part, d->ok, now_ms);
            else
                txn_coord_marked(&s->coord, d->txn_id, &d->part, now_ms);
            free(d->txn_id);
            free(d->part.name);
        }
        free(cur.v);
    }
    s->depth--;
}

/* Moves every satisfied wait to the completion queue. */
static void collect(txn_service *s, done_queue *q)
{
    txn_wait *w, *tmp;
    DL_FOREACH_SAFE(s->waits, w, tmp) {
        if (w->retry)
            continue; /* retry_markers' */
        bool failed = w->p && w->p->log->failed && !reached(s, w->p, w->need);
        if (w->p && !failed && !reached(s, w->p, w->need))
            continue;
        if (failed && w->kind == WAIT_MARKER) {
            LOG_ERROR("txn", "%s: marker on %s-%d never became durable (log failed); trying "
                      "again at every tick", w->txn_id, w->part.name, w->part.partition);
            w->retry = true;
            continue;
        }
        DL_DELETE(s->waits, w);
        /* A partition dropped under a marker (its topic deleted) counts as done. */
        done_push(q, w->kind, w->txn_id, w->kind == WAIT_LOG ? NULL : &w->part, !failed);
        wait_free(w);
    }
}

static void fences_apply(txn_service *s, int64_t now_ms);

void txn_service_progress(txn_service *s, int64_t now_ms)
{
    if (s->depth > 0)
        return;
    done_queue q = {0};
    for (int i = 0; i < 1000; i++) {
        collect(s, &q);
        if (q.n == 0 && s->coord.nacts == 0)
            break;
        run(s, &q, now_ms);
    }
    free(q.v);
    fences_apply(s, now_ms);
}

static void drive(txn_service *s, int64_t now_ms)
{
    done_queue q = {0};
    run(s, &q, now_ms);
    free(q.v);
    txn_service_progress(s, now_ms); /* interval mode: waits may already be satisfied */
}

static bool unload_now(txn_service *s, int32_t part, int64_t now_ms);

/* Unloads every partition a participant fenced (fence_note), once nothing is running. */
static void fences_apply(txn_service *s, int64_t now_ms)
{
    if (!s->fence_pending || s->depth > 0)
        return;
    s->fence_pending = false;
    for (int32_t i = 0; i < s->log_topic->npartitions; i++)
        if (s->loaded[i] && s->coord_epochs[i] <= s->fenced_epochs[i] &&
            !unload_now(s, i, now_ms))
            s->fence_pending = true; /* an action is queued: the next progress retries */
}

void txn_service_remote_done(txn_service *s, int kind, const char *txn_id,
                             const txn_participant *part, bool ok, int64_t now_ms)
{
    if (!s->ext) {
        s->ext = calloc(1, sizeof(done_queue));
        BROOK_ASSERT(s->ext);
    }
    done_push(s->ext, kind == TXN_REMOTE_PREPARE ? WAIT_PREPARE : WAIT_MARKER, txn_id, part, ok);
    if (s->depth == 0)
        drive(s, now_ms);
}

void txn_service_group_marked(txn_service *s, const char *txn_id, const char *group_id,
                              bool ok, int64_t now_ms)
{
    txn_participant part = {TXN_PART_GROUP, (char *)group_id, -1, false};
    if (ok) {
        txn_service_remote_done(s, TXN_REMOTE_MARKER, txn_id, &part, true, now_ms);
        return;
    }
    txn_meta *t = txn_coord_find(&s->coord, txn_id);
    if (!t || t->phase != TXN_PHASE_MARKING)
        return;
    LOG_ERROR("txn", "%s: the group %s refused its %s marker; trying again at every tick",
              txn_id, group_id, t->commit ? "COMMIT" : "ABORT");
    txn_action a = {.kind = TXN_ACT_MARKER, .txn_id = txn_id, .part = &part, .pid = t->pid,
                    .epoch = t->epoch, .txn_seq = t->txn_seq, .commit = t->commit};
    wait_add(s, WAIT_MARKER, txn_id, &part, NULL, INT64_MAX, &a)->retry = true;
}

int64_t txn_pid_compose(int32_t txn_partition, int32_t node, int64_t counter)
{
    BROOK_ASSERT(txn_partition >= -1 && txn_partition < 32766);
    BROOK_ASSERT(node >= 0 && node <= TXN_PID_NODE_MAX);
    if (counter < 0 || counter > 0xffffffffLL)
        return -1;
    return ((int64_t)(txn_partition + 1) << 48) | ((int64_t)node << 32) | counter;
}

int32_t txn_pid_partition(int64_t pid)
{
    int64_t p = pid >> 48;
    return p > 0 ? (int32_t)(p - 1) : -1;
}

/* A producer id: in cluster mode, with the coordinator's partition and our node inside. */
static int64_t new_pid_for(txn_service *s, const char *txn_id)
{
    int64_t c = pid_alloc_next(&s->pids);
    if (c < 0 || !s->remote)
        return c;
    int32_t part = txn_id ? txn_log_partition_for(txn_id, s->log_topic->npartitions) : -1;
    return txn_pid_compose(part, s->cluster_node, c);
}

bool txn_service_verify_group(const txn_service *s, int64_t pid, int16_t epoch,
                              const char *group_id)
{
    txn_meta *t = txn_coord_find_pid(&s->coord, pid);
    if (!t || t->epoch != epoch || t->state != TXN_ONGOING)
        return false;
    for (int i = 0; i < t->nparts; i++)
        if (t->parts[i].kind == TXN_PART_GROUP && strcmp(t->parts[i].name, group_id) == 0)
            return true;
    return false;
}

void txn_service_init_pid(txn_service *s, txn_req req, const char *txn_id, int32_t timeout_ms,
                          int64_t expected_pid, int16_t expected_epoch, int64_t now_ms)
{
    int64_t fresh = new_pid_for(s, txn_id);
    if (fresh < 0) {
        s->reply(s->ctx, req, TXN_REPLY_INIT_PID, KERR_COORDINATOR_NOT_AVAILABLE, -1, -1);
        return;
    }
    bool used;
    txn_coord_init_pid(&s->coord, req, txn_id, timeout_ms, expected_pid, expected_epoch, fresh,
                       now_ms, &used);
    /* An unused id is simply skipped: ids are never reused, gaps are harmless. */
    drive(s, now_ms);
}

void txn_service_add(txn_service *s, txn_req req, const char *txn_id, int64_t pid, int16_t epoch,
                     const txn_participant *parts, int nparts, int64_t now_ms)
{
    txn_coord_add(&s->coord, req, txn_id, pid, epoch, parts, nparts, now_ms);
    drive(s, now_ms);
}

void txn_service_end(txn_service *s, txn_req req, const char *txn_id, int64_t pid,
                     int16_t epoch, bool commit, int64_t now_ms)
{
    txn_coord_end(&s->coord, req, txn_id, pid, epoch, commit, now_ms);
    drive(s, now_ms);
}

void txn_service_end_tv2(txn_service *s, txn_req req, const char *txn_id, int64_t pid,
                         int16_t epoch, bool commit, int64_t now_ms)
{
    int64_t fresh = -1;
    if (txn_coord_end_needs_pid(&s->coord, txn_id)) {
        fresh = new_pid_for(s, txn_id);
        if (fresh < 0) {
            s->reply(s->ctx, req, TXN_REPLY_END, KERR_COORDINATOR_NOT_AVAILABLE, -1, -1);
            return;
        }
    }
    txn_coord_end_tv2(&s->coord, req, txn_id, pid, epoch, commit, fresh, now_ms);
    drive(s, now_ms);
}

int16_t txn_service_admin_abort(txn_service *s, const char *txn_id, int64_t now_ms)
{
    int16_t err = txn_coord_admin_abort(&s->coord, txn_id, now_ms);
    drive(s, now_ms);
    return err;
}

int64_t txn_service_new_pid(txn_service *s) { return new_pid_for(s, NULL); }

/* Writes again every marker a partition refused (txn_wait.retry). */
static void retry_markers(txn_service *s, int64_t now_ms)
{
    txn_wait *w, *tmp, *todo = NULL;
    DL_FOREACH_SAFE(s->waits, w, tmp) {
        if (w->retry) {
            DL_DELETE(s->waits, w);
            DL_APPEND(todo, w);
        }
    }
    if (!todo)
        return;
    done_queue q = {0};
    s->depth++; /* a group marker may complete synchronously: into s->ext, run below */
    DL_FOREACH_SAFE(todo, w, tmp) {
        DL_DELETE(todo, w);
        txn_action a = {.kind = TXN_ACT_MARKER, .txn_id = w->txn_id, .part = &w->part,
                        .pid = w->pid, .epoch = w->epoch, .txn_seq = w->txn_seq,
                        .commit = w->commit};
        exec_marker(s, &a, &q, now_ms);
        wait_free(w);
    }
    s->depth--;
    run(s, &q, now_ms);
    free(q.v);
}

void txn_service_tick(txn_service *s, int64_t now_ms)
{
    if (s->depth == 0)
        retry_markers(s, now_ms);
    txn_coord_tick(&s->coord, now_ms);
    drive(s, now_ms);
}

void txn_service_forget_partition(txn_service *s, partition *p)
{
    for (txn_wait *w = s->waits; w; w = w->next)
        if (w->p == p) {
            w->p = NULL; /* completes at the next progress, as acknowledged */
            if (w->kind == WAIT_LOG)
                LOG_ERROR("txn", "transaction log partition dropped under %s", w->txn_id);
        }
}

void txn_service_leadership_lost(txn_service *s, partition *p, int64_t now_ms)
{
    bool failed_log = false;
    txn_wait *w, *tmp;
    DL_FOREACH_SAFE(s->waits, w, tmp) {
        if (w->p != p)
            continue;
        DL_DELETE(s->waits, w);
        if (w->kind == WAIT_LOG) {
            /* Not durable here: the request gets a retriable coordinator error. */
            if (!s->ext) {
                s->ext = calloc(1, sizeof(done_queue));
                BROOK_ASSERT(s->ext);
            }
            done_push(s->ext, WAIT_LOG, w->txn_id, NULL, false);
            failed_log = true;
        } else if (s->remote &&
                   s->remote(s->remote_ctx,
                             w->kind == WAIT_PREPARE ? TXN_REMOTE_PREPARE : TXN_REMOTE_MARKER,
                             w->txn_id, &w->part, w->pid, w->epoch, w->txn_seq, w->commit)) {
            /* Re-driven as for a remote participant: the new leader answers once the
             * marker or the producer's records are committed there. */
            LOG_INFO("txn", "%s: %s on %s-%d re-sent to the partition's new leader",
                     w->txn_id, w->kind == WAIT_PREPARE ? "prepare" : "marker", w->part.name,
                     w->part.partition);
        } else {
            /* Never expected (the caller stopped leading p): not counted as done. */
            LOG_ERROR("txn", "%s: %s on %s-%d lost with the partition's leadership; the "
                      "transaction stays in doubt until its coordinator is loaded again",
                      w->txn_id, w->kind == WAIT_PREPARE ? "prepare" : "marker",
                      w->part.name, w->part.partition);
        }
        wait_free(w);
    }
    if (failed_log && s->depth == 0)
        drive(s, now_ms);
}

bool txn_service_verify(const txn_service *s, int64_t pid, int16_t epoch, const char *topic,
                        int32_t partition)
{
    return txn_coord_verify(&s->coord, pid, epoch, topic, partition);
}

typedef struct replay_ctx {
    txn_coord *coord;
    size_t bad;
} replay_ctx;

static void replay_record(void *ctx, const rb_record *rec)
{
    replay_ctx *rc = ctx;
    if (!rec->key || !rec->value ||
        txn_coord_load(rc->coord, rec->key, (size_t)rec->key_len, rec->value,
                       (size_t)rec->value_len) != 0)
        rc->bad++;
}

/* Replays one transaction-log partition into the coordinator. */
static int replay_partition(txn_service *s, partition *p)
{
    replay_ctx rc = {&s->coord, 0};
    long n = log_scan_records(p->log, replay_record, NULL, &rc);
    if (n < 0)
        return -EIO;
    if (rc.bad)
        LOG_WARN("txn", "%s: %zu transaction-log records did not decode", p->log->name, rc.bad);
    return (int)(n - (long)rc.bad);
}

int txn_service_start(txn_service *s, const txn_coord_config *cfg, const char *data_dir,
                      store *st, metadata *md, txn_reply_fn reply, void *ctx, int64_t now_ms)
{
    /* The cluster hooks are set by the caller before start: recovery may need them. */
    txn_remote_fn remote = s->remote;
    txn_unloaded_fn unloaded = s->unloaded;
    void *remote_ctx = s->remote_ctx;
    int32_t node = s->cluster_node;
    memset(s, 0, sizeof(*s));
    s->remote = remote;
    s->unloaded = unloaded;
    s->remote_ctx = remote_ctx;
    s->cluster_node = node;
    txn_coord_init(&s->coord, cfg);
    s->store = st;
    s->md = md;
    s->reply = reply;
    s->ctx = ctx;
    s->log_topic = md_find(md, kslice_cstr(TXN_LOG_TOPIC));
    if (!s->log_topic)
        return -ENOENT;
    int rc = pid_alloc_open(&s->pids, data_dir);
    if (rc != 0)
        return rc;
    size_t records = 0;
    size_t np = (size_t)s->log_topic->npartitions + 1;
    s->loaded = calloc(np, sizeof(bool));
    s->coord_epochs = calloc(np, sizeof(int32_t));
    s->fenced_epochs = calloc(np, sizeof(int32_t));
    if (!s->loaded || !s->coord_epochs || !s->fenced_epochs)
        return -ENOMEM;
    for (size_t i = 0; i < np; i++) {
        s->coord_epochs[i] = cfg->coordinator_epoch; /* cluster: set when loaded */
        s->fenced_epochs[i] = -1;
    }
    if (s->remote) {
        /* Cluster mode: nothing is ours before the cluster says which log partitions this
         * node leads (txn_service_set_led); a replica it follows must not be acted on. */
        LOG_INFO("txn", "transaction log partitions load as this node becomes their leader");
        return 0;
    }
    for (int32_t i = 0; i < s->log_topic->npartitions; i++) {
        int n = replay_partition(s, s->log_topic->parts[i]);
        if (n < 0)
            return n;
        records += (size_t)n;
        s->loaded[i] = true;
    }
    size_t open = 0, indoubt = 0;
    for (txn_meta *t = s->coord.by_id; t; t = t->hh.next) {
        open += t->state == TXN_ONGOING;
        indoubt += t->state == TXN_PREPARE_COMMIT || t->state == TXN_PREPARE_ABORT;
    }
    LOG_INFO("txn", "transaction log replayed: %zu records, %u transactional ids, %zu ongoing, "
             "%zu in doubt (being completed)", records, HASH_COUNT(s->coord.by_id), open, indoubt);
    txn_coord_recover(&s->coord, now_ms);
    drive(s, now_ms);
    return 0;
}

void txn_service_stop(txn_service *s)
{
    /* Requests still parked get a retriable coordinator error (their connections are
     * closing anyway). */
    for (txn_meta *t = s->coord.by_id; t; t = t->hh.next)
        if (t->reply) {
            txn_req req = t->reply;
            t->reply = 0;
            s->reply(s->ctx, req, t->reply_kind, KERR_COORDINATOR_NOT_AVAILABLE, -1, -1);
        }
    while (s->waits) {
        txn_wait *w = s->waits;
        DL_DELETE(s->waits, w);
        wait_free(w);
    }
    txn_coord_free(&s->coord);
    free(s->loaded);
    s->loaded = NULL;
    free(s->coord_epochs);
    s->coord_epochs = NULL;
    free(s->fenced_epochs);
    s->fenced_epochs = NULL;
    s->fence_pending = false;
    pid_alloc_close(&s->pids);
    done_queue *ext = s->ext;
    if (ext) {
        for (size_t i = 0; i < ext->n; i++) {
            free(ext->v[i].txn_id);
            free(ext->v[i].part.name);
        }
        free(ext->v);
        free(ext);
        s->ext = NULL;
    }
}

bool txn_service_loaded(const txn_service *s, const char *txn_id)
{
    int32_t np = s->log_topic ? s->log_topic->npartitions : 0;
    return np > 0 && s->loaded && s->loaded[txn_log_partition_for(txn_id, np)];
}

/* Forgets every transactional id of log partition part (see txn_service_set_led). */
static void unload(txn_service *s, int32_t part)
{
    int32_t np = s->log_topic->npartitions;
    size_t n = 0;
    txn_meta *t, *tmp;
    HASH_ITER(hh, s->coord.by_id, t, tmp) {
        if (txn_log_partition_for(t->id, np) != part)
            continue;
        if (t->reply) {
            txn_req req = t->reply;
            t->reply = 0;
            s->reply(s->ctx, req, t->reply_kind, KERR_NOT_COORDINATOR, -1, -1);
        }
        txn_coord_forget(&s->coord, t->id);
        n++;
    }
    /* The work in flight for those ids goes with them: a completion must not feed a later
     * load of the partition, which starts from the log only. */
    size_t dropped = 0;
    txn_wait *w, *wtmp;
    DL_FOREACH_SAFE(s->waits, w, wtmp) {
        if (txn_log_partition_for(w->txn_id, np) != part)
            continue;
        DL_DELETE(s->waits, w);
        wait_free(w);
        dropped++;
    }
    done_queue *ext = s->ext;
    if (ext) {
        size_t keep = 0;
        for (size_t i = 0; i < ext->n; i++) {
            if (txn_log_partition_for(ext->v[i].txn_id, np) == part) {
                free(ext->v[i].txn_id);
                free(ext->v[i].part.name);
                dropped++;
            } else {
                ext->v[keep++] = ext->v[i];
            }
        }
        ext->n = keep;
    }
    if (s->unloaded)
        s->unloaded(s->remote_ctx, part); /* the caller drops its RPCs for those ids */
    LOG_INFO("txn", "%s-%d: no longer led here; %zu transactional ids handed over, %zu "
             "pending completions dropped", TXN_LOG_TOPIC, part, n, dropped);
}

/* Loads log partition part and drives its in-doubt transactions (a failover). */
static void load(txn_service *s, int32_t part, int64_t now_ms)
{
    int32_t np = s->log_topic->npartitions;
    int n = replay_partition(s, s->log_topic->parts[part]);
    size_t indoubt = 0;
    for (txn_meta *t = s->coord.by_id; t; t = t->hh.next) {
        if (txn_log_partition_for(t->id, np) != part)
            continue;
        indoubt += t->state == TXN_PREPARE_COMMIT || t->state == TXN_PREPARE_ABORT;
        txn_coord_recover_id(&s->coord, t->id, now_ms);
    }
    LOG_INFO("txn", "%s-%d: now led here (coordinator epoch %d); %d records replayed, %zu in "
             "doubt (being completed)", TXN_LOG_TOPIC, part, s->coord_epochs[part], n, indoubt);
}

/* Unloads log partition part now if no action is queued; false: not now. */
static bool unload_now(txn_service *s, int32_t part, int64_t now_ms)
{
    txn_service_progress(s, now_ms); /* no action queued while ids come and go */
    if (s->coord.nacts > 0 || s->depth > 0)
        return false;
    if (s->loaded[part]) {
        s->loaded[part] = false;
        unload(s, part);
    }
    return true;
}

void txn_service_set_led(txn_service *s, int32_t part, bool led, int64_t now_ms)
{
    if (!s->loaded || !s->log_topic || part < 0 || part >= s->log_topic->npartitions ||
        s->depth > 0)
        return;
    if (!led) {
        if (s->loaded[part])
            unload_now(s, part, now_ms); /* not now: retried at the next view */
        return;
    }
    /* The coordinator epoch: the partition's leader epoch now that this node leads it. */
    int32_t epoch = s->log_topic->parts[part]->log->leader_epoch;
    if (epoch <= s->fenced_epochs[part])
        return; /* a participant has seen a coordinator at least this new: not us */
    if (s->loaded[part]) {
        /* Led again in a newer epoch without a view in between that took it away: nobody
         * else wrote the log meanwhile (a leader is elected from the ISR, which only a
         * follower joins), so the loaded state holds; markers carry the new epoch. */
        if (epoch > s->coord_epochs[part]) {
            LOG_INFO("txn", "%s-%d: coordinator epoch %d -> %d", TXN_LOG_TOPIC, part,
                     s->coord_epochs[part], epoch);
            s->coord_epochs[part] = epoch;
        }
        return;
    }
    txn_service_progress(s, now_ms);
    if (s->coord.nacts > 0)
        return; /* retried at the next view */
    s->loaded[part] = true;
    s->coord_epochs[part] = epoch;
    load(s, part, now_ms);
    drive(s, now_ms);
}

bool txn_service_fenced(txn_service *s, const char *txn_id, int32_t coordinator_epoch,
                        int64_t now_ms)
{
    if (!s->coord_epochs || !s->log_topic)
        return false;
    if (coordinator_epoch < s->coord_epochs[part_of(s, txn_id)])
        return false; /* sent before this node took the partition in a newer epoch */
    fence_note(s, txn_id, coordinator_epoch, "a participant");
    fences_apply(s, now_ms);
    return true;
}
