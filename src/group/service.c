/* service.c - see service.h. */
#include "group/service.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <utlist.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"
#include "group/cgroup.h"
#include "proto/errors.h"
#include "proto/record.h"
#include "txn/service.h"

struct gs_wait {
    partition *p;
    int64_t need;
    gs_done_fn done;
    void *ctx;
    /* applied when durable */
    char *group_id;
    int64_t pid;
    int kind; /* 'O' offsets, 'D' offsets deleted, 'E' txn end, 0 nothing */
    bool commit;
    gs_offset *offs;
    int n;
    int64_t commit_ms; /* wall clock: the offsets' commit timestamp */
    gs_wait *prev, *next; /* utlist DL: FIFO, oldest at the head */
};

static partition *partition_for(group_service *s, const char *group_id)
{
    int32_t n = s->log_topic->npartitions;
    return s->log_topic->parts[txn_log_partition_for(group_id, n)];
}

static void put_str(wr *w, const char *s) { wr_str(w, kslice_cstr(s ? s : "")); }

static char *get_str(rd *r)
{
    kslice k = rd_str(r);
    if (k.len < 0 || r->err)
        return NULL;
    return strndup((const char *)k.p, (size_t)k.len);
}

/* Appends records (all for one group's partition) as one batch, stamped with the wall
 * clock (the now_ms the service is given is the monotonic clock of deadlines). Returns the
 * offset one past the batch, or -1 when the log refused it. */
static int64_t append_records(group_service *s, const char *group_id, wr *keys, wr *values,
                              const size_t *koff, const size_t *voff, const int32_t *vlen,
                              int n)
{
    partition *p = partition_for(s, group_id);
    int64_t now_ms = clock_wall_ms();
    int64_t end = -1;
    for (int i = 0; i < n; i++) {
        uint8_t *batch;
        size_t klen = (i + 1 < n ? koff[i + 1] : keys->len) - koff[i];
        size_t len = rb_build_kv(&batch, keys->p + koff[i], klen,
                                 vlen[i] < 0 ? NULL : values->p + voff[i],
                                 vlen[i] < 0 ? 0 : (size_t)vlen[i], now_ms);
        /* vlen < 0 is a tombstone: written as an empty value, which replay reads as
         * "deleted" ('G': the group, 'O': the committed offset). */
        rb_header h;
        int64_t base;
        int rc = len && rb_validate(batch, len, &h) == RB_OK
                     ? log_append(p->log, batch, len, &h, now_ms, &base)
                     : LOG_ERR_NOMEM;
        free(batch);
        if (rc != LOG_OK) {
            LOG_ERROR("group", "%s: cannot append to %s: %s", group_id, p->log->name,
                      log_result_name(rc));
            return -1;
        }
        end = base + 1;
    }
    store_mark_dirty(s->store, p);
    return end;
}

/* Waits are kept in arrival order and completed from the oldest, so commits of one
 * group that become durable in the same flush take effect in the order they arrived
 * (the newest offset wins in memory, as it does in the log). */
static void wait_add(group_service *s, gs_wait *w) { DL_APPEND(s->waits, w); }

static gs_wait *wait_new(const char *group_id, int kind, int64_t pid, gs_done_fn done, void *ctx)
{
    gs_wait *w = calloc(1, sizeof(*w));
    BROOK_ASSERT(w);
    w->group_id = strdup(group_id);
    BROOK_ASSERT(w->group_id);
    w->kind = kind;
    w->pid = pid;
    w->done = done;
    w->ctx = ctx;
    return w;
}

static void wait_free(gs_wait *w)
{
    for (int i = 0; i < w->n; i++) {
        free((char *)w->offs[i].topic);
        free((uint8_t *)w->offs[i].metadata.p);
    }
    free(w->offs);
    free(w->group_id);
    free(w);
}

/* A commit that moves a group's committed offset back is said at INFO: a consumer that
 * seeks back does it, and so does an old OffsetCommit delivered late (a client's kernel
 * still retransmitting a request its closed connection carried, its member restored by a
 * coordinator failover); the fault campaign's checker tells such a rewind from a
 * coordinator answering from stale state by this line (tests/chaos/checker.py). */
static void note_rewind(group_service *s, const char *group_id, const gs_offset *o)
{
    const group *g = group_find(&s->coord, group_id);
    const goffset *cur = g ? group_offset(g, o->topic, o->partition) : NULL;
    if (cur && o->offset < cur->offset)
        LOG_INFO("group", "group %s: committed offset of %s-%d goes back from %lld to %lld",
                 group_id, o->topic, o->partition, (long long)cur->offset,
                 (long long)o->offset);
}

static void wait_finish(group_service *s, gs_wait *w, bool ok)
{
    if (ok && w->kind == 'O' && w->pid < 0)
        for (int i = 0; i < w->n; i++)
            note_rewind(s, w->group_id, &w->offs[i]);
    if (ok && w->kind == 'O')
        for (int i = 0; i < w->n; i++)
            group_apply_offset(&s->coord, w->group_id, w->pid, w->offs[i].topic,
                               w->offs[i].partition, w->offs[i].offset, w->offs[i].leader_epoch,
                               w->offs[i].metadata, w->commit_ms);
    else if (ok && w->kind == 'D')
        for (int i = 0; i < w->n; i++)
            group_apply_offset_delete(&s->coord, w->group_id, w->offs[i].topic,
                                      w->offs[i].partition);
    else if (ok && w->kind == 'E')
        group_apply_txn_end(&s->coord, w->group_id, w->pid, w->commit);
    if (w->done)
        w->done(w->ctx, ok);
    wait_free(w);
}

/* Records built for one append: keys and values back to back, with where each starts
 * (vlen -1: a tombstone). */
typedef struct rec_set {
    wr keys, values;
    size_t *koff, *voff;
    int32_t *vlen;
    int n;
} rec_set;

static void recs_init(rec_set *r, int n)
{
    wr_init(&r->keys, 256);
    wr_init(&r->values, 256);
    r->koff = calloc((size_t)n + 1, sizeof(size_t));
    r->voff = calloc((size_t)n + 1, sizeof(size_t));
    r->vlen = calloc((size_t)n + 1, sizeof(int32_t));
    BROOK_ASSERT(r->koff && r->voff && r->vlen);
    r->n = n;
}

static void recs_free(rec_set *r)
{
    wr_free(&r->keys);
    wr_free(&r->values);
    free(r->koff);
    free(r->voff);
    free(r->vlen);
}

/* Appends r's records (and frees r); w completes once they are durable, or at once
 * (failed) when the log refused them. */
static void recs_append_wait(group_service *s, rec_set *r, gs_wait *w, int64_t now_ms)
{
    int64_t end = r->keys.oom || r->values.oom
                      ? -1
                      : append_records(s, w->group_id, &r->keys, &r->values, r->koff, r->voff,
                                       r->vlen, r->n);
    recs_free(r);
    if (end < 0) {
        wait_finish(s, w, false);
        return;
    }
    w->p = partition_for(s, w->group_id);
    w->need = end;
    wait_add(s, w);
    group_service_progress(s, now_ms);
}

/* The 'O' (pid < 0) or 'P' key of an offset record. */
static void put_offset_key(wr *keys, const char *group_id, int64_t pid, const gs_offset *o)
{
    wr_i8(keys, pid < 0 ? 'O' : 'P');
    put_str(keys, group_id);
    if (pid >= 0)
        wr_i64(keys, pid);
    put_str(keys, o->topic);
    wr_i32(keys, o->partition);
}

/* The value of an 'O' or 'P' record: offset, leader epoch, metadata, commit time. */
static void put_offset_value(wr *values, int64_t offset, int32_t leader_epoch, kslice metadata,
                             int64_t commit_ms)
{
    wr_i64(values, offset);
    wr_i32(values, leader_epoch);
    wr_str(values, metadata.len >= 0 ? metadata : kslice_cstr(""));
    wr_i64(values, commit_ms);
}

void group_service_commit(group_service *s, const char *group_id, int64_t pid,
                          const gs_offset *offs, int n, int64_t now_ms, gs_done_fn done,
                          void *ctx)
{
    rec_set r;
    recs_init(&r, n);
    gs_wait *w = wait_new(group_id, 'O', pid, done, ctx);
    w->offs = calloc((size_t)n + 1, sizeof(gs_offset));
    BROOK_ASSERT(w->offs);
    w->n = n;
    w->commit_ms = clock_wall_ms(); /* a timestamp, kept with the offset */
    for (int i = 0; i < n; i++) {
        r.koff[i] = r.keys.len;
        put_offset_key(&r.keys, group_id, pid, &offs[i]);
        r.voff[i] = r.values.len;
        put_offset_value(&r.values, offs[i].offset, offs[i].leader_epoch, offs[i].metadata,
                         w->commit_ms);
        r.vlen[i] = (int32_t)(r.values.len - r.voff[i]);
        w->offs[i] = offs[i];
        w->offs[i].topic = strdup(offs[i].topic);
        int32_t mlen = offs[i].metadata.len > 0 ? offs[i].metadata.len : 0;
        uint8_t *meta = malloc((size_t)mlen + 1);
        BROOK_ASSERT(w->offs[i].topic && meta);
        if (mlen)
            memcpy(meta, offs[i].metadata.p, (size_t)mlen);
        w->offs[i].metadata = (kslice){meta, mlen};
    }
    recs_append_wait(s, &r, w, now_ms);
}

void group_service_delete_offsets(group_service *s, const char *group_id,
                                  const gs_offset *offs, int n, int64_t now_ms, gs_done_fn done,
                                  void *ctx)
{
    rec_set r;
    recs_init(&r, n);
    gs_wait *w = wait_new(group_id, 'D', -1, done, ctx);
    w->offs = calloc((size_t)n + 1, sizeof(gs_offset));
    BROOK_ASSERT(w->offs);
    w->n = n;
    for (int i = 0; i < n; i++) {
        r.koff[i] = r.keys.len;
        put_offset_key(&r.keys, group_id, -1, &offs[i]);
        r.vlen[i] = -1; /* tombstone */
        w->offs[i].topic = strdup(offs[i].topic);
        w->offs[i].partition = offs[i].partition;
        BROOK_ASSERT(w->offs[i].topic);
    }
    recs_append_wait(s, &r, w, now_ms);
}

struct gs_txn_end {
    int64_t pid;
    uint64_t seq;  /* txn_end_seq after this producer's last end record */
    int64_t at_ms; /* when it was appended */
    UT_hash_handle hh;
};

gs_txn_guard group_service_txn_guard(const group_service *s, int64_t now_ms)
{
    return (gs_txn_guard){s->txn_end_seq, now_ms};
}

bool group_service_txn_guard_broken(const group_service *s, int64_t pid, gs_txn_guard g,
                                    int64_t now_ms)
{
    if (now_ms - g.at_ms >= GS_TXN_GUARD_KEEP_MS)
        return true;
    const gs_txn_end *e = NULL;
    HASH_FIND(hh, s->txn_ends, &pid, sizeof(pid), e);
    return e && e->seq > g.seq;
}

void group_service_txn_ended(group_service *s, int64_t pid, int64_t now_ms)
{
    gs_txn_end *e = NULL;
    HASH_FIND(hh, s->txn_ends, &pid, sizeof(pid), e);
    if (!e) {
        e = calloc(1, sizeof(*e));
        BROOK_ASSERT(e);
        e->pid = pid;
        HASH_ADD(hh, s->txn_ends, pid, sizeof(e->pid), e);
    }
    e->seq = ++s->txn_end_seq;
    e->at_ms = now_ms;
}

/* Forgets end records older than any guard still honoured (at most once a second). */
static void prune_txn_ends(group_service *s, int64_t now_ms, bool all)
{
    if (!all && now_ms - s->txn_ends_pruned_ms < 1000)
        return;
    s->txn_ends_pruned_ms = now_ms;
    gs_txn_end *e, *tmp;
    HASH_ITER(hh, s->txn_ends, e, tmp)
    {
        if (all || now_ms - e->at_ms >= GS_TXN_GUARD_KEEP_MS) {
            HASH_DEL(s->txn_ends, e);
            free(e);
        }
    }
}

static int add_group_id(char ***ids, int n, const char *id)
{
    for (int i = 0; i < n; i++)
        if (strcmp((*ids)[i], id) == 0)
            return n;
    char **grown = realloc(*ids, sizeof(char *) * (size_t)(n + 1));
    BROOK_ASSERT(grown);
    *ids = grown;
    grown[n] = strdup(id);
    BROOK_ASSERT(grown[n]);
    return n + 1;
}

int group_service_txn_groups(const group_service *s, int32_t part, int64_t pid, char ***out)
{
    int32_t nparts = s->log_topic->npartitions;
    char **ids = NULL;
    int n = 0;
    for (const gpending *pend = group_pending_of_pid(&s->coord, pid); pend;
         pend = pend->pid_next)
        if (txn_log_partition_for(pend->g->id, nparts) == part)
            n = add_group_id(&ids, n, pend->g->id);
    for (const gs_wait *w = s->waits; w; w = w->next)
        if (w->kind == 'O' && w->pid == pid && txn_log_partition_for(w->group_id, nparts) == part)
            n = add_group_id(&ids, n, w->group_id);
    *out = ids;
    return n;
}

void group_service_txn_end(group_service *s, const char *group_id, int64_t pid, bool commit,
                           int64_t now_ms, gs_done_fn done, void *ctx)
{
    group_service_txn_ended(s, pid, now_ms);
    rec_set r;
    recs_init(&r, 1);
    wr_i8(&r.keys, 'E');
    put_str(&r.keys, group_id);
    wr_i64(&r.keys, pid);
    wr_bool(&r.values, commit);
    r.vlen[0] = (int32_t)r.values.len;
    gs_wait *w = wait_new(group_id, 'E', pid, done, ctx);
    w->commit = commit;
    recs_append_wait(s, &r, w, now_ms);
}

int16_t group_service_delete(group_service *s, const char *group_id, int64_t now_ms)
{
    int16_t err = group_delete_check(&s->coord, group_id);
    if (err != KERR_NONE)
        return err;
    wr keys, values;
    wr_init(&keys, 64);
    wr_init(&values, 8);
    wr_i8(&keys, 'G');
    put_str(&keys, group_id);
    size_t koff = 0, voff = 0;
    int32_t vlen = -1;
    int64_t end = append_records(s, group_id, &keys, &values, &koff, &voff, &vlen, 1);
    wr_free(&keys);
    wr_free(&values);
    if (end < 0)
        return KERR_KAFKA_STORAGE_ERROR;
    /* Deleting is not visible as "done" to anybody waiting, so it applies at once; the
     * tombstone reaches the disk with the next group commit. */
    group_apply_delete(&s->coord, group_id);
    return KERR_NONE;
}

/* Appends the group's 'G' record; returns the offset one past it (-1: not appended). */
static int64_t persist_generation(group_service *s, const group *g, int64_t now_ms)
{
    int64_t end = -1;
    wr keys, values;
    wr_init(&keys, 64);
    wr_init(&values, 64);
    wr_i8(&keys, 'G');
    put_str(&keys, g->id);
    put_str(&values, g->protocol_type);
    wr_i32(&values, g->generation);
    group_encode_membership(&values, g);
    size_t koff = 0, voff = 0;
    int32_t vlen = (int32_t)values.len;
    if (!keys.oom && !values.oom)
        end = append_records(s, g->id, &keys, &values, &koff, &voff, &vlen, 1);
    wr_free(&keys);
    wr_free(&values);
    group *mg = end >= 0 ? group_find(&s->coord, g->id) : NULL;
    if (mg)
        mg->written_ms = clock_wall_ms();
    return end;
}

void group_service_when_durable(group_service *s, const char *group_id, int64_t end,
                                gs_done_fn done, void *ctx)
{
    gs_wait *w = wait_new(group_id, 0, -1, done, ctx);
    w->p = partition_for(s, group_id);
    w->need = end;
    wait_add(s, w);
    group_service_progress(s, 0);
}

/* The records a consumer group made due: its 'C' record, 'M' for changed members, 'M'
 * tombstones for removed ones. Returns how many were put in r (r initialised here). */
static int consumer_records(const group *g, rec_set *r)
{
    const cgroup *cg = g->cg;
    int n = cg->dirty ? 1 : 0;
    for (int i = 0; i < cg->nmembers; i++)
        n += cg->members[i]->dirty;
    n += cg->nremoved;
    recs_init(r, n);
    int k = 0;
    if (cg->dirty) {
        r->koff[k] = r->keys.len;
        wr_i8(&r->keys, 'C');
        put_str(&r->keys, g->id);
        r->voff[k] = r->values.len;
        cgroup_encode_meta(&r->values, cg);
        r->vlen[k] = (int32_t)(r->values.len - r->voff[k]);
        k++;
    }
    /* tombstones first: an id removed and back in the same round keeps its record */
    for (int i = 0; i < cg->nremoved + cg->nmembers; i++) {
        const cmember *m = i >= cg->nremoved ? cg->members[i - cg->nremoved] : NULL;
        if (m && !m->dirty)
            continue;
        r->koff[k] = r->keys.len;
        wr_i8(&r->keys, 'M');
        put_str(&r->keys, g->id);
        put_str(&r->keys, m ? m->id : cg->removed[i]);
        r->voff[k] = r->values.len;
        if (m)
            cgroup_encode_member(&r->values, m);
        r->vlen[k] = m ? (int32_t)(r->values.len - r->voff[k]) : -1;
        k++;
    }
    BROOK_ASSERT(k == n);
    return n;
}

/* Appends a consumer group's due records; done(ctx, ok) once they are durable (at once
 * when none were due, or when the log refused them). */
static void persist_consumer(group_service *s, group *g, int64_t now_ms, gs_done_fn done,
                             void *ctx)
{
    rec_set r;
    int n = consumer_records(g, &r);
    int64_t wall = clock_wall_ms();
    if (g->cg->dirty)
        g->cg->written_ms = wall;
    for (int i = 0; i < g->cg->nmembers; i++)
        if (g->cg->members[i]->dirty)
            g->cg->members[i]->written_ms = wall;
    cgroup_clean(g->cg);
    if (n > 0) {
        recs_append_wait(s, &r, wait_new(g->id, 0, -1, done, ctx), now_ms);
        return;
    }
    recs_free(&r);
    if (!done)
        return;
    /* Nothing new, but an answer may repeat what an earlier record (still on its way to
     * the disk) said: it waits for everything appended to the partition so far. */
    gs_wait *w = wait_new(g->id, 0, -1, done, ctx);
    w->p = partition_for(s, g->id);
    w->need = w->p->log->log_end_offset;
    wait_add(s, w);
    group_service_progress(s, now_ms);
}

void group_service_cg_persist(group_service *s, const char *group_id, int64_t now_ms,
                              gs_done_fn done, void *ctx)
{
    group *g = group_find(&s->coord, group_id);
    if (g && g->cg) {
        persist_consumer(s, g, now_ms, done, ctx);
        return;
    }
    done(ctx, true);
}

/* Records of consumer groups changed by the clock (expired members), fire and forget. */
static void persist_consumer_changes(group_service *s, int64_t now_ms)
{
    for (group *g = s->coord.groups; g; g = g->hh.next)
        if (g->cg && (g->cg->dirty || g->cg->nremoved > 0))
            persist_consumer(s, g, now_ms, NULL, NULL);
}

void group_service_flush_actions(group_service *s, int64_t now_ms)
{
    for (int round = 0; round < 1000 && s->coord.nacts > 0; round++) {
        size_t n = s->coord.nacts;
        const group *persisted = NULL; /* answers after its record wait for that record */
        int64_t end = -1;
        for (size_t i = 0; i < n; i++) {
            group_action *a = &s->coord.acts[i];
            if (a->kind == GA_PERSIST_GROUP) {
                persisted = a->g;
                end = persist_generation(s, a->g, now_ms);
                continue;
            }
            a->persist_end = a->g && a->g == persisted ? end : 0;
            s->on_action(s->ctx, a);
        }
        group_coord_clear_actions(&s->coord);
    }
}

void group_service_progress(group_service *s, int64_t now_ms)
{
    BROOK_UNUSED(now_ms);
    gs_wait *w = s->waits;
    while (w) {
        bool gone = w->p == NULL;
        bool failed = !gone && w->p->log->failed &&
                      store_high_watermark(s->store, w->p) < w->need;
        if (!gone && !failed && store_high_watermark(s->store, w->p) < w->need) {
            w = w->next;
            continue;
        }
        DL_DELETE(s->waits, w);
        wait_finish(s, w, !gone && !failed);
        w = s->waits; /* a callback may have added or completed waits: rescan in order */
    }
}

/* Whether a commit, deletion or transaction end of the group is still on its way to the
 * log's high watermark: its memory is then behind what its log will say. */
static bool group_busy(const group_service *s, const char *group_id)
{
    for (const gs_wait *w = s->waits; w; w = w->next)
        if (strcmp(w->group_id, group_id) == 0)
            return true;
    return false;
}

enum { OFF_KEEP, OFF_REWRITE, OFF_EXPIRE };

/* What the retention pass does with committed offset o: EXPIRE when its group has no
 * members and it was committed before expire_before (a tombstone, and memory forgets it);
 * REWRITE when its newest record is older than stale_before (the same value again); KEEP
 * otherwise. */
static int offset_fate(const goffset *o, bool members, int64_t stale_before,
                       int64_t expire_before)
{
    if (!members && o->commit_ms < expire_before)
        return OFF_EXPIRE;
    return o->written_ms < stale_before ? OFF_REWRITE : OFF_KEEP;
}

/* Appends g's due offset records (offset_fate: one 'O' record or tombstone each), then
 * marks the rewritten ones written and forgets the expired ones. Returns how many records
 * it wrote; *expired counts the tombstones. */
static int refresh_offsets(group_service *s, group *g, int64_t stale_before,
                           int64_t expire_before, int64_t wall_ms, int *expired)
{
    bool members = group_has_members(g);
    int n = 0;
    *expired = 0;
    for (goffset *o = g->offsets; o; o = o->hh.next)
        n += offset_fate(o, members, stale_before, expire_before) != OFF_KEEP;
    if (n == 0)
        return 0;
    rec_set r;
    recs_init(&r, n);
    int k = 0;
    for (goffset *o = g->offsets; o && k < n; o = o->hh.next) {
        int fate = offset_fate(o, members, stale_before, expire_before);
        if (fate == OFF_KEEP)
            continue;
        gs_offset at = {.topic = o->topic, .partition = o->partition};
        r.koff[k] = r.keys.len;
        put_offset_key(&r.keys, g->id, -1, &at);
        r.voff[k] = r.values.len;
        r.vlen[k] = -1;
        if (fate == OFF_REWRITE) {
            put_offset_value(&r.values, o->offset, o->leader_epoch,
                             (kslice){o->metadata, o->metadata_len}, o->commit_ms);
            r.vlen[k] = (int32_t)(r.values.len - r.voff[k]);
        }
        k++;
    }
    int64_t end = r.keys.oom || r.values.oom
                      ? -1
                      : append_records(s, g->id, &r.keys, &r.values, r.koff, r.voff, r.vlen, n);
    recs_free(&r);
    if (end < 0)
        return 0;
    goffset *o, *tmp;
    HASH_ITER(hh, g->offsets, o, tmp) {
        int fate = offset_fate(o, members, stale_before, expire_before);
        if (fate == OFF_REWRITE)
            o->written_ms = wall_ms;
        else if (fate == OFF_EXPIRE) {
            group_apply_offset_delete(&s->coord, g->id, o->topic, o->partition);
            (*expired)++;
        }
    }
    return n;
}

/* Is the 'G' record of classic group g due again: g is at rest (Empty or Stable, where
 * its record says what emit_persist would write now), still alive (members or offsets),
 * and its newest record is older than stale_before. */
static bool generation_due(const group *g, int64_t stale_before)
{
    return !g->cg && g->protocol_type && g->written_ms < stale_before &&
           (g->state == GROUP_EMPTY || g->state == GROUP_STABLE) &&
           (g->nmembers > 0 || g->offsets);
}

/* Marks the records of consumer group g older than stale_before due again (its 'C'
 * record, its members' 'M' records) while it has members or offsets; returns how many. */
static int consumer_due(group *g, int64_t stale_before)
{
    cgroup *cg = g->cg;
    if (!cg || (cg->nmembers == 0 && !g->offsets))
        return 0;
    int n = 0;
    if (!cg->dirty && cg->written_ms < stale_before) {
        cg->dirty = true;
        n++;
    }
    for (int i = 0; i < cg->nmembers; i++)
        if (!cg->members[i]->dirty && cg->members[i]->written_ms < stale_before) {
            cg->members[i]->dirty = true;
            n++;
        }
    return n;
}

/* Is g left with nothing to keep (no members, offsets, pending offsets or member ids
 * handed out) and either its last offsets just expired or its newest record is older than
 * the retention (a reload would not find it)? Then it is removed, as Kafka's coordinator
 * removes such a group (a 'G' tombstone), so memory agrees with what a reload gives. */
static bool group_gone(const group *g, bool just_expired, int64_t expire_before)
{
    int64_t written = g->cg ? g->cg->written_ms : g->written_ms;
    return !group_has_members(g) && !g->offsets && !g->pending && g->npending_ids == 0 &&
           (just_expired || written < expire_before);
}

typedef struct refresh_stats {
    int written, expired, removed;
} refresh_stats;

/* One group's part of the retention pass (refresh_old_records). */
static void refresh_group(group_service *s, group *g, int64_t ret, int64_t wall,
                          int64_t now_ms, refresh_stats *st)
{
    int64_t stale_before = wall - ret / 2, expire_before = wall - ret;
    int expired = 0;
    st->written += refresh_offsets(s, g, stale_before, expire_before, wall, &expired);
    st->expired += expired;
    if (generation_due(g, stale_before) && persist_generation(s, g, now_ms) >= 0)
        st->written++;
    int due = consumer_due(g, stale_before);
    if (due > 0) {
        persist_consumer(s, g, now_ms, NULL, NULL);
        st->written += due;
    }
    if (group_gone(g, expired > 0, expire_before) &&
        group_delete_check(&s->coord, g->id) == KERR_NONE &&
        group_service_delete(s, g->id, now_ms) == KERR_NONE)
        st->removed++;
}

/* Retention deletes whole old segments of the offsets topic, whatever they hold, and a
 * load replays what is left: an offset committed once and then left alone (a consumer
 * idle for a week), or a group whose membership has not changed for as long, would be
 * gone after the next restart or failover (its consumers starting again from
 * auto.offset.reset, its members rejoining). Kafka's offsets topic is compacted, which
 * keeps the newest record of every key; here the partition's leader writes such a record
 * again (same value; offsets keep their commit time) once its newest one is half the
 * topic's retention.ms old, so every live record always has a copy younger than the
 * retention: committed offsets ('O'), a classic group's generation and membership ('G'),
 * a consumer group's state and members ('C', 'M'). As in Kafka (offsets.retention.minutes),
 * the offsets of a group without members are kept only while their commit is younger than
 * that: they then expire (tombstones; memory forgets them), and a group left with neither
 * members nor offsets is removed (group_gone). A group with something in flight waits for
 * the next pass. Size retention is off for the internal topics (broker_topic_resolve). */
static void refresh_old_records(group_service *s, int64_t now_ms)
{
    int64_t ret = s->log_topic ? s->log_topic->logcfg.retention_ms : -1;
    int64_t every = ret / 10 < 60000 ? ret / 10 : 60000;
    if (ret <= 0 || !s->loaded || now_ms - s->refreshed_ms < every)
        return;
    s->refreshed_ms = now_ms;
    int64_t wall = clock_wall_ms();
    int32_t np = s->log_topic->npartitions;
    refresh_stats st = {0};
    group *g, *tmp;
    HASH_ITER(hh, s->coord.groups, g, tmp)
        if (s->loaded[txn_log_partition_for(g->id, np)] && !group_busy(s, g->id))
            refresh_group(s, g, ret, wall, now_ms, &st);
    if (st.written > 0 || st.expired > 0 || st.removed > 0)
        LOG_INFO("group", "wrote %d group records again ahead of %s's retention (%" PRId64
                 " ms); %d committed offsets of groups without members expired, %d groups "
                 "left with nothing removed", st.written, GROUP_LOG_TOPIC, ret, st.expired,
                 st.removed);
}

void group_service_tick(group_service *s, int64_t now_ms)
{
    group_tick(&s->coord, now_ms);
    refresh_old_records(s, now_ms);
    prune_txn_ends(s, now_ms, false);
    persist_consumer_changes(s, now_ms);
    group_service_flush_actions(s, now_ms);
}

void group_service_forget_partition(group_service *s, partition *p)
{
    for (gs_wait *w = s->waits; w; w = w->next)
        if (w->p == p)
            w->p = NULL;
}

/* Replay: a group record ('G', 'C'; member NULL) or a member's ('M') was written at
 * timestamp ms (the record's own time, which a rewrite renews). */
static void replayed_written(group_service *s, const char *group_id, const char *member,
                             int64_t ms)
{
    group *g = group_find(&s->coord, group_id);
    if (!g)
        return;
    if (!g->cg) {
        if (!member && ms > g->written_ms)
            g->written_ms = ms;
        return;
    }
    cmember *m = member ? cgroup_member(g->cg, member) : NULL;
    if (m && ms > m->written_ms)
        m->written_ms = ms;
    else if (!member && ms > g->cg->written_ms)
        g->cg->written_ms = ms;
}

/* Applies one record of the offsets topic during replay. */
static void replay_record(void *ctx, const rb_record *rec)
{
    group_service *s = ctx;
    rd k, v;
    rd_init(&k, rec->key, (size_t)rec->key_len);
    rd_init(&v, rec->value ? rec->value : (const uint8_t *)"",
            rec->value ? (size_t)rec->value_len : 0);
    int8_t type = rd_i8(&k);
    char *group = get_str(&k);
    if (!group)
        return;
    int64_t pid = type == 'P' || type == 'E' ? rd_i64(&k) : -1;
    if (type == 'O' && rec->value_len <= 0) {
        char *topic = get_str(&k);
        int32_t part = rd_i32(&k);
        if (topic && !k.err)
            group_apply_offset_delete(&s->coord, group, topic, part);
        free(topic);
    } else if (type == 'O' || type == 'P') {
        char *topic = get_str(&k);
        int32_t part = rd_i32(&k);
        int64_t off = rd_i64(&v);
        int32_t epoch = rd_i32(&v);
        kslice meta = rd_str(&v); /* borrowed from the record: applied copies it */
        int64_t ts = rd_i64(&v);
        if (topic && !k.err && !v.err) {
            group_apply_offset(&s->coord, group, pid, topic, part, off, epoch, meta, ts);
            if (pid < 0) /* written again since its commit (refresh_old_records) */
                group_offset_written(&s->coord, group, topic, part, rec->timestamp);
        }
        free(topic);
    } else if (type == 'E') {
        bool commit = rd_bool(&v);
        if (!k.err && !v.err)
            group_apply_txn_end(&s->coord, group, pid, commit);
    } else if (type == 'C' && rec->value_len > 0) {
        cgroup_apply_meta(&s->coord, group, &v);
        replayed_written(s, group, NULL, rec->timestamp);
    } else if (type == 'M') {
        char *member = get_str(&k);
        if (member) {
            cgroup_apply_member(&s->coord, group, member, rec->value_len > 0 ? &v : NULL);
            replayed_written(s, group, member, rec->timestamp);
        }
        free(member);
    } else if (type == 'G') {
        if (rec->value_len <= 0) {
            group_apply_delete(&s->coord, group);
        } else {
            char *ptype = get_str(&v);
            int32_t gen = rd_i32(&v);
            if (!v.err) {
                group_apply_generation(&s->coord, group, ptype, gen);
                group_apply_membership(&s->coord, group, &v);
                replayed_written(s, group, NULL, rec->timestamp);
            }
            free(ptype);
        }
    }
    free(group);
}

typedef struct replay_ctx {
    group_service *s;
    int32_t part;
} replay_ctx;

static void replay_one(void *ctx, const rb_record *rec)
{
    if (rec->key && rec->key_len > 0)
        replay_record(((replay_ctx *)ctx)->s, rec);
}

/* A transaction marker in the offsets partition ends the producer's pending offsets of
 * every group there, as its end record ('E') does. Both are in the log after a marker
 * that found the groups loaded; the end records are missing when the marker was written
 * while the partition's groups were not loaded yet (a new leader's load waiting for its
 * high watermark), or when the leader died between the marker and its end records: the
 * offsets then stayed pending for ever and their client could never read its committed
 * offsets again (#12, seed 20261209). Kafka's coordinator also ends them at the marker
 * while loading. */
static void replay_marker(void *ctx, int64_t pid, bool commit)
{
    replay_ctx *rc = ctx;
    char **ids = NULL;
    int n = group_service_txn_groups(rc->s, rc->part, pid, &ids);
    for (int i = 0; i < n; i++) {
        group_apply_txn_end(&rc->s->coord, ids[i], pid, commit);
        free(ids[i]);
    }
    free(ids);
}

static int replay_partition(group_service *s, partition *p)
{
    replay_ctx rc = {s, p->index};
    long n = log_scan_records(p->log, replay_one, replay_marker, &rc);
    return n < 0 ? -EIO : (int)n;
}

int group_service_start(group_service *s, const group_config *cfg, store *st, metadata *md,
                        gs_action_fn on_action, void *ctx, bool lazy, int64_t now_ms)
{
    BROOK_UNUSED(now_ms);
    memset(s, 0, sizeof(*s));
    group_coord_init(&s->coord, cfg);
    s->store = st;
    s->md = md;
    s->on_action = on_action;
    s->ctx = ctx;
    s->log_topic = md_find(md, kslice_cstr(GROUP_LOG_TOPIC));
    if (!s->log_topic)
        return -ENOENT;
    int total = 0;
    s->loaded = calloc((size_t)s->log_topic->npartitions + 1, sizeof(bool));
    if (!s->loaded)
        return -ENOMEM;
    if (lazy) {
        LOG_INFO("group", "offsets partitions load as this node becomes their leader");
        return 0;
    }
    for (int32_t i = 0; i < s->log_topic->npartitions; i++) {
        int n = replay_partition(s, s->log_topic->parts[i]);
        if (n < 0)
            return n;
        total += n;
        s->loaded[i] = true;
    }
    LOG_INFO("group", "consumer offsets replayed: %d records, %u groups", total,
             HASH_COUNT(s->coord.groups));
    return 0;
}

void group_service_stop(group_service *s)
{
    while (s->waits) {
        gs_wait *w = s->waits;
        DL_DELETE(s->waits, w);
        if (w->done)
            w->done(w->ctx, false);
        wait_free(w);
    }
    group_coord_free(&s->coord);
    prune_txn_ends(s, 0, true);
    free(s->loaded);
    s->loaded = NULL;
}

void group_service_set_led(group_service *s, int32_t part, bool led, int64_t now_ms)
{
    if (!s->loaded || !s->log_topic || part < 0 || part >= s->log_topic->npartitions ||
        s->loaded[part] == led)
        return;
    s->loaded[part] = led;
    int32_t np = s->log_topic->npartitions;
    if (led) {
        int n = replay_partition(s, s->log_topic->parts[part]);
        LOG_INFO("group", "%s-%d: now led here; %d records replayed", GROUP_LOG_TOPIC, part, n);
        return;
    }
    /* Records of this partition still waiting for its high watermark may be cut by the
     * new leader: their commits are not promised (answered COORDINATOR_NOT_AVAILABLE, the
     * client retries with the new coordinator) and nothing of them is applied. Left
     * waiting, they completed "ok" once a follower's high watermark passed their offsets,
     * whatever records stood there by then. */
    group_service_forget_partition(s, s->log_topic->parts[part]);
    group_service_progress(s, now_ms);
    size_t n = 0;
    for (group *g = s->coord.groups; g; g = g->hh.next)
        if (txn_log_partition_for(g->id, np) == part) {
            group_fail_requests(&s->coord, g->id, KERR_NOT_COORDINATOR);
            n++;
        }
    group_service_flush_actions(s, now_ms); /* the answers, while the groups still exist */
    group *g, *tmp;
    HASH_ITER(hh, s->coord.groups, g, tmp)
        if (txn_log_partition_for(g->id, np) == part)
            group_apply_delete(&s->coord, g->id);
    LOG_INFO("group", "%s-%d: no longer led here; %zu groups handed over", GROUP_LOG_TOPIC, part,
             n);
}
