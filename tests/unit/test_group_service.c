/* test_group_service.c - the group service over a real store (sync flush): many commits
 * of one group that become durable in the same flush take effect in arrival order, so the
 * newest offset is the one in memory (librdkafka's 0030 found the oldest winning), and
 * commit metadata keeps every byte, NUL included, in memory and through log replay; the
 * TxnOffsetCommit fence; an end marker ends offsets not yet durable, and a replayed marker
 * with no end record after it ends them too; waits failed when the partition's leadership
 * goes; the retention pass writes live records again (offsets, a classic group's
 * membership, a consumer group's state) so that they outlive the segments retention
 * deletes, expires the offsets of a group without members, and removes that group. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/fsutil.h"
#include "cluster/metadata.h"
#include "group/cgroup.h"
#include "group/service.h"
#include "proto/errors.h"
#include "storage/store.h"
#include "testutil.h"

#define NCOMMITS 50

typedef struct fixture {
    char dir[256];
    uv_loop_t loop;
    store *st;
    metadata md;
    topic *t;
    group_service svc;
    bool started;
} fixture;

typedef struct done_log {
    int order[NCOMMITS];
    int n;
    bool all_ok;
} done_log;

typedef struct done_arg {
    done_log *log;
    int index;
} done_arg;

static void on_durable(void *ctx)
{
    fixture *f = ctx;
    if (f->started)
        group_service_progress(&f->svc, 0);
}

static void on_action(void *ctx, const group_action *a)
{
    BROOK_UNUSED(ctx);
    BROOK_UNUSED(a);
}

static void on_done(void *ctx, bool ok)
{
    done_arg *d = ctx;
    if (d->log->n < NCOMMITS)
        d->log->order[d->log->n++] = d->index;
    d->log->all_ok = d->log->all_ok && ok;
}

static log_config logcfg(void)
{
    log_config c = {.segment_bytes = 1 << 20, .segment_ms = -1, .retention_bytes = -1,
                    .retention_ms = -1, .index_interval_bytes = 4096};
    return c;
}

/* Opens the store, one-partition __consumer_offsets and the service (replaying). */
static bool fixture_open(fixture *f)
{
    uv_loop_init(&f->loop);
    store_opts o = {.data_dir = f->dir, .flush_sync = true, .flush_interval_ms = 1000,
                    .on_durable = on_durable, .ctx = f};
    bool clean;
    if (!CHECK(store_open(&o, &f->loop, &f->st, &clean) == 0))
        return false;
    memset(&f->md, 0, sizeof(f->md));
    f->t = md_add(&f->md, GROUP_LOG_TOPIC, 1, 0, NULL, NULL);
    if (!CHECK(f->t != NULL))
        return false;
    f->t->logcfg = logcfg();
    f->t->parts = calloc(1, sizeof(partition *));
    if (!CHECK(f->t->parts && store_partition_open(f->st, GROUP_LOG_TOPIC, 0, &f->t->logcfg, 0,
                                                   &f->t->parts[0]) == 0))
        return false;
    group_config gc = {.min_session_timeout_ms = 1000, .max_session_timeout_ms = 60000,
                       .initial_rebalance_delay_ms = 0, .cg_session_timeout_ms = 45000,
                       .cg_heartbeat_interval_ms = 5000};
    if (!CHECK(group_service_start(&f->svc, &gc, f->st, &f->md, on_action, NULL, false, 0) == 0))
        return false;
    f->started = true;
    return true;
}

/* fixture_open on an empty directory of its own (/tmp/brook-unit-<pid>-<name>). */
static bool fixture_fresh(fixture *f, const char *name)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/brook-unit-%d-%s", (int)getpid(), name);
    fs_remove_tree(f->dir);
    return fixture_open(f);
}

static void fixture_close(fixture *f)
{
    f->started = false;
    group_service_stop(&f->svc);
    store_close(f->st, f->t->parts, 1);
    md_free(&f->md);
    uv_run(&f->loop, UV_RUN_DEFAULT); /* closes the flush thread's handles */
    uv_loop_close(&f->loop);
}

/* Runs loop turns until every commit is answered (bounded: 10 s). */
static void run_until(fixture *f, const done_log *log, int want)
{
    for (int i = 0; i < 10000 && log->n < want; i++) {
        store_before_poll(f->st);
        uv_run(&f->loop, UV_RUN_NOWAIT);
        if (log->n < want)
            usleep(1000);
    }
}

static const uint8_t k_meta[] = "Hello\0world!"; /* 12 bytes with a NUL in the middle */

static void test_commits_in_one_flush_apply_in_order(void)
{
    fixture f = {0};
    if (!fixture_fresh(&f, "gsvc"))
        return;
    /* 50 asynchronous commits back to back, as librdkafka's 0030 sends them: all appended
     * before any flush, so one flush makes them all durable together. */
    done_log log = {.all_ok = true};
    done_arg args[NCOMMITS];
    for (int i = 0; i < NCOMMITS; i++) {
        args[i] = (done_arg){&log, i};
        gs_offset off = {"topic-a", 0, i + 1, -1, {k_meta, 12}};
        group_service_commit(&f.svc, "g", -1, &off, 1, 0, on_done, &args[i]);
    }
    CHECK_EQ_INT(log.n, 0); /* nothing durable yet */
    run_until(&f, &log, NCOMMITS);
    if (!CHECK_EQ_INT(log.n, NCOMMITS))
        return;
    CHECK(log.all_ok);
    bool in_order = true;
    for (int i = 0; i < NCOMMITS; i++)
        in_order = in_order && log.order[i] == i;
    CHECK(in_order);
    const group *g = group_find(&f.svc.coord, "g");
    const goffset *o = g ? group_offset(g, "topic-a", 0) : NULL;
    if (!CHECK(o != NULL))
        return;
    CHECK_EQ_INT(o->offset, NCOMMITS); /* the newest, not the oldest */
    CHECK(o->metadata_len == 12 && memcmp(o->metadata, k_meta, 12) == 0);
    fixture_close(&f);

    /* Replay from the log gives the same answer, metadata bytes included. */
    fixture r = {0};
    memcpy(r.dir, f.dir, sizeof(r.dir));
    if (!fixture_open(&r))
        return;
    g = group_find(&r.svc.coord, "g");
    o = g ? group_offset(g, "topic-a", 0) : NULL;
    if (CHECK(o != NULL)) {
        CHECK_EQ_INT(o->offset, NCOMMITS);
        CHECK(o->metadata_len == 12 && memcmp(o->metadata, k_meta, 12) == 0);
    }
    fixture_close(&r);
    fs_remove_tree(f.dir);
}

/* OffsetDelete: the offset goes once its tombstone is durable, stays gone after a replay,
 * and a later commit of the same partition brings it back; other partitions keep theirs. */
static void test_offset_delete_durable_and_replayed(void)
{
    fixture f = {0};
    if (!fixture_fresh(&f, "gsvc-del"))
        return;
    done_log log = {.all_ok = true};
    done_arg args[4] = {{&log, 0}, {&log, 1}, {&log, 2}, {&log, 3}};
    gs_offset offs[3] = {{"a", 0, 10, -1, {k_meta, 12}}, {"a", 1, 11, -1, {k_meta, 12}},
                         {"b", 0, 12, -1, {k_meta, 12}}};
    group_service_commit(&f.svc, "g", -1, offs, 3, 0, on_done, &args[0]);
    run_until(&f, &log, 1);
    gs_offset del[2] = {{.topic = "a", .partition = 1}, {.topic = "b", .partition = 0}};
    CHECK_EQ_INT(group_offset_delete_check(&f.svc.coord, "g"), KERR_NONE);
    group_service_delete_offsets(&f.svc, "g", del, 2, 0, on_done, &args[1]);
    const group *g = group_find(&f.svc.coord, "g");
    CHECK(g && group_offset(g, "a", 1) != NULL); /* not before it is durable */
    run_until(&f, &log, 2);
    if (!CHECK_EQ_INT(log.n, 2) || !CHECK(log.all_ok))
        return;
    CHECK(group_offset(g, "a", 1) == NULL && group_offset(g, "b", 0) == NULL);
    CHECK(group_offset(g, "a", 0) != NULL);
    fixture_close(&f);

    fixture r = {0};
    memcpy(r.dir, f.dir, sizeof(r.dir));
    if (!fixture_open(&r))
        return;
    g = group_find(&r.svc.coord, "g");
    if (CHECK(g != NULL)) {
        CHECK(group_offset(g, "a", 1) == NULL && group_offset(g, "b", 0) == NULL);
        const goffset *o = group_offset(g, "a", 0);
        CHECK(o && o->offset == 10);
    }
    done_log log2 = {.all_ok = true};
    done_arg a2 = {&log2, 0};
    gs_offset again = {"b", 0, 99, -1, {k_meta, 0}};
    group_service_commit(&r.svc, "g", -1, &again, 1, 0, on_done, &a2);
    run_until(&r, &log2, 1);
    fixture_close(&r);
    fixture r2 = {0};
    memcpy(r2.dir, f.dir, sizeof(r2.dir));
    if (!fixture_open(&r2))
        return;
    g = group_find(&r2.svc.coord, "g");
    const goffset *o = g ? group_offset(g, "b", 0) : NULL;
    CHECK(o && o->offset == 99);
    fixture_close(&r2);
    fs_remove_tree(f.dir);
}

/* The TxnOffsetCommit fence (gs_txn_guard): an end record of the producer appended after
 * the guard was taken breaks it, whether or not offsets were pending (the marker arrives
 * before the commit it overtook); other producers' ends do not; a guard taken after the
 * end holds; a guard older than GS_TXN_GUARD_KEEP_MS is broken (too old to tell), and the
 * remembered ends are pruned then without breaking new guards. */
static void test_txn_guard_broken_by_end_record(void)
{
    fixture f = {0};
    if (!fixture_fresh(&f, "gsvc-guard"))
        return;
    const int64_t pid = 7, other = 8;
    gs_txn_guard g1 = group_service_txn_guard(&f.svc, 1000);
    CHECK(!group_service_txn_guard_broken(&f.svc, pid, g1, 1000));
    done_log log = {.all_ok = true};
    done_arg a = {&log, 0};
    group_service_txn_end(&f.svc, "g", other, false, 1001, on_done, &a);
    run_until(&f, &log, 1);
    CHECK(!group_service_txn_guard_broken(&f.svc, pid, g1, 1002)); /* another producer */
    CHECK(group_service_txn_guard_broken(&f.svc, other, g1, 1002));
    group_service_txn_ended(&f.svc, pid, 1003); /* a marker with nothing pending */
    CHECK(group_service_txn_guard_broken(&f.svc, pid, g1, 1004));
    gs_txn_guard g2 = group_service_txn_guard(&f.svc, 1005);
    CHECK(!group_service_txn_guard_broken(&f.svc, pid, g2, 1006));
    CHECK(!group_service_txn_guard_broken(&f.svc, other, g2, 1006));
    /* Too old to tell. */
    CHECK(group_service_txn_guard_broken(&f.svc, 99, g2, 1005 + GS_TXN_GUARD_KEEP_MS));
    /* Pruned after the keep time; a fresh guard holds. */
    group_service_tick(&f.svc, 1003 + GS_TXN_GUARD_KEEP_MS + 2000);
    CHECK(f.svc.txn_ends == NULL);
    gs_txn_guard g3 = group_service_txn_guard(&f.svc, 1003 + GS_TXN_GUARD_KEEP_MS + 2000);
    CHECK(!group_service_txn_guard_broken(&f.svc, pid, g3, 1003 + GS_TXN_GUARD_KEEP_MS + 2001));
    fixture_close(&f);
    fs_remove_tree(f.dir);
}

/* A partition this node stops leading fails what still waits on it: a commit or an end
 * marker not yet committed there may be cut by the new leader, so it is answered not
 * done (the client or the transaction coordinator retries with the new leader) and never
 * later as done when the high watermark passes its offset (#12: a chaos run's group kept
 * pending offsets for ever after its leader moved under an end marker). */
static void test_waits_fail_with_leadership(void)
{
    fixture f = {0};
    if (!fixture_fresh(&f, "gsvc-led"))
        return;
    done_log log = {.all_ok = true};
    done_arg args[2] = {{&log, 0}, {&log, 1}};
    gs_offset o = {"a", 0, 42, -1, {k_meta, 0}};
    group_service_commit(&f.svc, "g", -1, &o, 1, 0, on_done, &args[0]);
    group_service_txn_end(&f.svc, "g", 7, true, 0, on_done, &args[1]);
    CHECK_EQ_INT(log.n, 0); /* not durable yet */
    group_service_set_led(&f.svc, 0, false, 1);
    CHECK_EQ_INT(log.n, 2);
    CHECK(!log.all_ok);
    CHECK(f.svc.waits == NULL);
    for (int i = 0; i < 300; i++) { /* the flush lands (0.3 s): nothing completes again */
        store_before_poll(f.st);
        uv_run(&f.loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    CHECK_EQ_INT(log.n, 2);
    CHECK(group_find(&f.svc.coord, "g") == NULL);
    fixture_close(&f);
    fs_remove_tree(f.dir);
}

static bool has_pending(const group_service *s, const char *group_id, int64_t pid)
{
    const group *g = group_find(&s->coord, group_id);
    gpending *pend = NULL;
    if (g)
        HASH_FIND(hh, g->pending, &pid, sizeof(pid), pend);
    return pend != NULL;
}

/* An end marker for an offsets partition ends every group there that holds offsets of the
 * producer's transaction, also one whose TxnOffsetCommit is appended but not yet durable
 * (#12: a chaos run's client aborted while its TxnOffsetCommit was replicating; the ABORT
 * marker found nothing pending, wrote no end record, and the offsets became pending for
 * ever once durable, in memory and after every replay). */
static void test_marker_ends_offsets_not_yet_durable(void)
{
    fixture f = {0};
    if (!fixture_fresh(&f, "gsvc-inflight"))
        return;
    const int64_t pid = 7;
    done_log log = {.all_ok = true};
    done_arg args[4] = {{&log, 0}, {&log, 1}, {&log, 2}, {&log, 3}};
    gs_offset o = {"a", 0, 42, -1, {k_meta, 0}};
    group_service_commit(&f.svc, "durable", pid, &o, 1, 0, on_done, &args[0]);
    run_until(&f, &log, 1);
    CHECK(has_pending(&f.svc, "durable", pid));
    group_service_commit(&f.svc, "inflight", pid, &o, 1, 0, on_done, &args[1]);
    CHECK(!has_pending(&f.svc, "inflight", pid)); /* not durable yet */
    char **ids = NULL;
    int n = group_service_txn_groups(&f.svc, 0, pid, &ids);
    CHECK_EQ_INT(n, 2);
    bool saw_durable = false, saw_inflight = false;
    for (int i = 0; i < n; i++) {
        saw_durable |= strcmp(ids[i], "durable") == 0;
        saw_inflight |= strcmp(ids[i], "inflight") == 0;
    }
    CHECK(saw_durable && saw_inflight);
    char **none = NULL;
    CHECK_EQ_INT(group_service_txn_groups(&f.svc, 0, pid + 1, &none), 0); /* another pid */
    CHECK(none == NULL);
    for (int i = 0; i < n; i++) { /* what the marker does (broker/h_inter.c): abort */
        group_service_txn_end(&f.svc, ids[i], pid, false, 0, on_done, &args[2 + i]);
        free(ids[i]);
    }
    free(ids);
    run_until(&f, &log, 4);
    CHECK_EQ_INT(log.n, 4);
    CHECK(log.all_ok);
    CHECK(!has_pending(&f.svc, "durable", pid) && !has_pending(&f.svc, "inflight", pid));
    fixture_close(&f);

    fixture r = {0}; /* and so after a replay: end records follow the offsets in the log */
    memcpy(r.dir, f.dir, sizeof(r.dir));
    if (!fixture_open(&r))
        return;
    CHECK(!has_pending(&r.svc, "durable", pid) && !has_pending(&r.svc, "inflight", pid));
    const group *g = group_find(&r.svc.coord, "inflight");
    CHECK(!g || group_offset(g, "a", 0) == NULL); /* aborted: never committed */
    fixture_close(&r);
    fs_remove_tree(f.dir);
}

/* A marker with no end record after it (written while the partition's groups were not
 * loaded yet, or its leader died before writing them) still ends the producer's pending
 * offsets when the partition is replayed: an ABORT drops them, a COMMIT commits them
 * (#12, seed 20261209: chaos-txn-g0's offsets stayed pending for ever). */
static void test_replayed_marker_ends_pending(void)
{
    fixture f = {0};
    if (!fixture_fresh(&f, "gsvc-marker"))
        return;
    const int64_t aborted = 7, committed = 8, open = 9;
    done_log log = {.all_ok = true};
    done_arg args[3] = {{&log, 0}, {&log, 1}, {&log, 2}};
    gs_offset o = {"a", 0, 42, -1, {k_meta, 0}};
    group_service_commit(&f.svc, "x", aborted, &o, 1, 0, on_done, &args[0]);
    group_service_commit(&f.svc, "y", committed, &o, 1, 0, on_done, &args[1]);
    group_service_commit(&f.svc, "z", open, &o, 1, 0, on_done, &args[2]);
    run_until(&f, &log, 3);
    CHECK(log.all_ok);
    CHECK(has_pending(&f.svc, "x", aborted) && has_pending(&f.svc, "y", committed));
    /* The markers alone, as WriteTxnMarkers appends them; no group_service_txn_end. */
    plog *l = f.t->parts[0]->log;
    int64_t off;
    CHECK_EQ_INT(log_append_marker_seq(l, aborted, 0, false, 1, 5, 0, &off), LOG_OK);
    CHECK_EQ_INT(log_append_marker_seq(l, committed, 0, true, 1, 6, 0, &off), LOG_OK);
    fixture_close(&f);

    fixture r = {0};
    memcpy(r.dir, f.dir, sizeof(r.dir));
    if (!fixture_open(&r))
        return;
    CHECK(!has_pending(&r.svc, "x", aborted));
    const group *g = group_find(&r.svc.coord, "x");
    CHECK(!g || group_offset(g, "a", 0) == NULL); /* aborted: never committed */
    CHECK(!has_pending(&r.svc, "y", committed));
    g = group_find(&r.svc.coord, "y");
    const goffset *go = g ? group_offset(g, "a", 0) : NULL;
    CHECK(go && go->offset == 42); /* committed at the marker */
    CHECK(has_pending(&r.svc, "z", open)); /* no marker: its transaction is still open */
    fixture_close(&r);
    fs_remove_tree(f.dir);
}

#define RET_MS 800

/* Makes group_id a classic group, Stable in generation 1 with member `member` (its 'G'
 * record appended). */
static bool make_stable(fixture *f, const char *group_id, const char *member, int64_t now)
{
    static const char *names[] = {"range"};
    static const uint8_t *metas[] = {(const uint8_t *)"sub"};
    static const int32_t lens[] = {3};
    join_args a = {.group_id = group_id, .member_id = "", .client_id = "cli",
                   .client_host = "h", .protocol_type = "consumer", .session_timeout_ms = 30000,
                   .rebalance_timeout_ms = 30000, .nprotocols = 1, .protocol_names = names,
                   .protocol_metadata = metas, .protocol_len = lens, .version = 5,
                   .new_member_id = member};
    group_join(&f->svc.coord, 1, &a, now); /* MEMBER_ID_REQUIRED */
    a.member_id = member;
    group_join(&f->svc.coord, 2, &a, now);
    const char *ids[] = {member};
    const uint8_t *as[] = {(const uint8_t *)"A"};
    const int32_t ls[] = {1};
    group_sync(&f->svc.coord, 3, 3, group_id, 1, member, NULL, 1, ids, as, ls, now);
    group_service_flush_actions(&f->svc, now);
    const group *g = group_find(&f->svc.coord, group_id);
    return CHECK(g && g->state == GROUP_STABLE && g->generation == 1 && g->nmembers == 1);
}

/* Makes "left" a classic group whose only member joined and left: Empty in generation 1
 * with no offsets (its 'G' record appended). */
static bool make_left(fixture *f, int64_t now)
{
    if (!make_stable(f, "left", "m9", now))
        return false;
    CHECK_EQ_INT(group_leave(&f->svc.coord, "left", "m9", NULL, now), KERR_NONE);
    group_service_flush_actions(&f->svc, now);
    const group *g = group_find(&f->svc.coord, "left");
    return CHECK(g && g->state == GROUP_EMPTY && g->nmembers == 0 && !g->offsets &&
                 g->written_ms > 0);
}

/* Makes "kcg" a KIP-848 consumer group with member c1 subscribed to "t" (its records
 * appended and durable). Returns c1's epoch (0: failed). */
static int32_t make_consumer_group(fixture *f, int64_t now)
{
    cg_topic_info t = {.name = "t", .nparts = 2};
    t.id[0] = 7;
    const char *topics[] = {"t"};
    cg_hb_args a = {.group_id = "kcg", .member_id = "c1", .member_epoch = 0,
                    .rebalance_timeout_ms = 30000, .ntopics = 1, .topics = topics, .nowned = 0,
                    .client_id = "cli", .client_host = "/h", .version = 1};
    cg_hb_result r;
    cgroup_heartbeat(&f->svc.coord, &a, &t, 1, now, &r);
    if (!CHECK_EQ_INT(r.error, KERR_NONE) || !CHECK(r.member_epoch > 0))
        return 0;
    int32_t epoch = r.member_epoch;
    done_log log = {.all_ok = true};
    done_arg d = {&log, 0};
    group_service_cg_persist(&f->svc, "kcg", now, on_done, &d);
    run_until(f, &log, 1);
    return CHECK_EQ_INT(log.n, 1) && CHECK(log.all_ok) ? epoch : 0;
}

/* The retention pass against real retention of the offsets partition (retention.ms
 * 800 ms, a segment rolled every 100 ms): over 2.4 s the segments that held the first
 * records are deleted, yet after a reload the classic group is still Stable with its
 * member and generation, the consumer group still has its member at its epoch, and the
 * offset of the group with members is there. The offset of the group without members
 * expired (and is gone from memory at once, not only after a reload), and that group was
 * removed; so was the group whose member left without committing, once its record was
 * past the retention. */
static void test_retention_pass_keeps_live_records(void)
{
    fixture f = {0};
    if (!fixture_fresh(&f, "gsvc-ret"))
        return;
    plog *l = f.t->parts[0]->log;
    f.t->logcfg.retention_ms = RET_MS;
    l->cfg.retention_ms = RET_MS;
    l->cfg.segment_ms = 100;
    int64_t now = clock_mono_ms();
    int32_t epoch = make_consumer_group(&f, now);
    if (!make_stable(&f, "cls", "m1", now) || !make_left(&f, now) || !epoch)
        return;
    done_log log = {.all_ok = true};
    done_arg args[2] = {{&log, 0}, {&log, 1}};
    gs_offset o_cls = {"t", 0, 5, -1, {k_meta, 0}}, o_lone = {"t", 1, 7, -1, {k_meta, 0}};
    group_service_commit(&f.svc, "cls", -1, &o_cls, 1, now, on_done, &args[0]);
    group_service_commit(&f.svc, "lone", -1, &o_lone, 1, now, on_done, &args[1]);
    run_until(&f, &log, 2);
    if (!CHECK_EQ_INT(log.n, 2) || !CHECK(log.all_ok))
        return;
    int64_t first_end = l->log_end_offset;
    int64_t until = clock_mono_ms() + 3 * RET_MS;
    for (int i = 0; i < 1000 && clock_mono_ms() < until; i++) {
        now = clock_mono_ms();
        group_service_tick(&f.svc, now);
        CHECK_EQ_INT(group_heartbeat(&f.svc.coord, "cls", 1, "m1", NULL, now), KERR_NONE);
        CHECK(log_maybe_roll_by_time(l, clock_wall_ms()) == LOG_OK);
        CHECK(log_apply_retention(l, clock_wall_ms()) >= 0);
        store_before_poll(f.st);
        uv_run(&f.loop, UV_RUN_NOWAIT);
        usleep(10000);
    }
    CHECK(l->log_start_offset >= first_end); /* every first record's segment is gone */
    CHECK(group_find(&f.svc.coord, "lone") == NULL);
    CHECK(group_find(&f.svc.coord, "left") == NULL); /* its record is past the retention */
    fixture_close(&f);

    fixture r = {0};
    memcpy(r.dir, f.dir, sizeof(r.dir));
    if (!fixture_open(&r))
        return;
    const group *g = group_find(&r.svc.coord, "cls");
    if (CHECK(g != NULL)) {
        CHECK_EQ_INT(g->state, GROUP_STABLE);
        CHECK_EQ_INT(g->generation, 1);
        CHECK(g->nmembers == 1 && strcmp(g->members[0]->id, "m1") == 0);
        const goffset *o = group_offset(g, "t", 0);
        CHECK(o && o->offset == 5);
    }
    g = group_find(&r.svc.coord, "kcg");
    if (CHECK(g != NULL && g->cg != NULL)) {
        const cmember *m = cgroup_member(g->cg, "c1");
        CHECK(m && m->epoch == epoch);
        CHECK(g->cg->group_epoch >= epoch);
    }
    CHECK(group_find(&r.svc.coord, "lone") == NULL);
    CHECK(group_find(&r.svc.coord, "left") == NULL);
    fixture_close(&r);
    fs_remove_tree(f.dir);
}

TU_MAIN(TU_CASE(test_commits_in_one_flush_apply_in_order),
        TU_CASE(test_replayed_marker_ends_pending),
        TU_CASE(test_marker_ends_offsets_not_yet_durable),
        TU_CASE(test_waits_fail_with_leadership),
        TU_CASE(test_offset_delete_durable_and_replayed),
        TU_CASE(test_txn_guard_broken_by_end_record),
        TU_CASE(test_retention_pass_keeps_live_records))
