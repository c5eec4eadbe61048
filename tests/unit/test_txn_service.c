/* test_txn_service.c - the transaction service over a real store (sync flush), in cluster
 * mode with a fake remote hook: the waits it keeps on a participant's high watermark.
 *  - a marker waiting on a partition this node stops leading is not counted as done when
 *    that partition's high watermark later passes it (the log may have been truncated and
 *    refilled from the new leader): it is re-sent through the remote hook
 *    (txn_service_leadership_lost; sim_repl_txn --waits-outlive-leadership);
 *  - when the coordinator's log partition is unloaded, its waits go with it, so a reload
 *    starts from the log only: an old marker wait does not complete the reloaded
 *    transaction (sim_repl_txn --unload-keeps-work);
 *  - a marker whose partition's log fails before it is durable, or refuses it, is never
 *    counted as done (the transaction used to complete as committed while the partition
 *    had no marker, which its participant check would later abort): it is written again
 *    at every tick, and the transaction completes once one takes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "base/assert.h"
#include "base/fsutil.h"
#include "cluster/metadata.h"
#include "storage/store.h"
#include "txn/service.h"
#include "testutil.h"

typedef struct remote_call {
    int kind;
    char txn_id[32];
    char part[32];
    int32_t partition;
    int64_t pid, txn_seq;
    bool commit;
} remote_call;

typedef struct fixture {
    char dir[256];
    uv_loop_t loop;
    store *st;
    metadata md;
    topic *tlog, *data;
    txn_service svc;
    bool started;
    /* the fake cluster */
    bool remote_takes; /* the hook takes the data partition over */
    remote_call calls[8];
    int ncalls;
    int32_t unloaded[8];
    int nunloaded;
    /* replies */
    int nreplies;
    int last_kind;
    int16_t last_error;
    int64_t pid;
    int16_t epoch;
} fixture;

static void on_durable(void *ctx)
{
    fixture *f = ctx;
    if (f->started)
        txn_service_progress(&f->svc, 0);
}

static void on_reply(void *ctx, txn_req req, int kind, int16_t error, int64_t pid, int16_t epoch)
{
    BROOK_UNUSED(req);
    fixture *f = ctx;
    f->nreplies++;
    f->last_kind = kind;
    f->last_error = error;
    if (kind == TXN_REPLY_INIT_PID) {
        f->pid = pid;
        f->epoch = epoch;
    }
}

static bool fake_remote(void *ctx, int kind, const char *txn_id, const txn_participant *part,
                        int64_t pid, int16_t epoch, int64_t txn_seq, bool commit)
{
    BROOK_UNUSED(epoch);
    fixture *f = ctx;
    if (!f->remote_takes)
        return false; /* this node leads the participant */
    if (f->ncalls < 8) {
        remote_call *c = &f->calls[f->ncalls];
        c->kind = kind;
        snprintf(c->txn_id, sizeof(c->txn_id), "%s", txn_id);
        snprintf(c->part, sizeof(c->part), "%s", part->name);
        c->partition = part->partition;
        c->pid = pid;
        c->txn_seq = txn_seq;
        c->commit = commit;
    }
    f->ncalls++;
    return true;
}

static void fake_unloaded(void *ctx, int32_t part)
{
    fixture *f = ctx;
    if (f->nunloaded < 8)
        f->unloaded[f->nunloaded] = part;
    f->nunloaded++;
}

static log_config logcfg(void)
{
    log_config c = {.segment_bytes = 1 << 20, .segment_ms = -1, .retention_bytes = -1,
                    .retention_ms = -1, .index_interval_bytes = 4096};
    return c;
}

static bool open_topic(fixture *f, topic **out, const char *name)
{
    topic *t = md_add(&f->md, name, 1, 0, NULL, NULL);
    if (!CHECK(t != NULL))
        return false;
    t->logcfg = logcfg();
    t->parts = calloc(1, sizeof(partition *));
    if (!CHECK(t->parts && store_partition_open(f->st, name, 0, &t->logcfg, 0, &t->parts[0]) ==
                               0))
        return false;
    *out = t;
    return true;
}

/* Store, a one-partition transaction log led here (epoch 1), a one-partition data topic
 * "t" whose high watermark stays at 0 until the test moves it, the service in cluster
 * mode with the log partition loaded. */
static bool fixture_open(fixture *f)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/brook-unit-%d-tsvc", (int)getpid());
    fs_remove_tree(f->dir);
    uv_loop_init(&f->loop);
    store_opts o = {.data_dir = f->dir, .flush_sync = true, .flush_interval_ms = 1000,
                    .on_durable = on_durable, .ctx = f};
    bool clean;
    if (!CHECK(store_open(&o, &f->loop, &f->st, &clean) == 0))
        return false;
    memset(&f->md, 0, sizeof(f->md));
    if (!open_topic(f, &f->tlog, TXN_LOG_TOPIC) || !open_topic(f, &f->data, "t"))
        return false;
    log_set_leader_epoch(f->tlog->parts[0]->log, 1);
    partition *d = f->data->parts[0];
    d->replicated = true; /* a replicated participant led here whose followers lag */
    d->repl_leading = true;
    d->repl_hw = 0;
    f->svc.remote = fake_remote;
    f->svc.unloaded = fake_unloaded;
    f->svc.remote_ctx = f;
    f->svc.cluster_node = 1;
    txn_coord_config cfg = {.max_timeout_ms = 900000, .coordinator_epoch = 0};
    if (!CHECK(txn_service_start(&f->svc, &cfg, f->dir, f->st, &f->md, on_reply, f, 0) == 0))
        return false;
    f->started = true;
    txn_service_set_led(&f->svc, 0, true, 0);
    return CHECK(txn_service_loaded(&f->svc, "tx"));
}

static void fixture_close(fixture *f)
{
    f->started = false;
    txn_service_stop(&f->svc);
    partition *parts[2] = {f->tlog->parts[0], f->data->parts[0]};
    store_close(f->st, parts, 2);
    md_free(&f->md);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_loop_close(&f->loop);
    fs_remove_tree(f->dir);
}

/* Loop turns until `want` replies arrived (bounded: 10 s), then a progress call. */
static void run_until(fixture *f, int want)
{
    for (int i = 0; i < 10000 && f->nreplies < want; i++) {
        store_before_poll(f->st);
        uv_run(&f->loop, UV_RUN_NOWAIT);
        if (f->nreplies < want)
            usleep(1000);
    }
    for (int i = 0; i < 20; i++) { /* let the log records of the markers' round settle */
        store_before_poll(f->st);
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    txn_service_progress(&f->svc, 0);
}

static int state_of(fixture *f)
{
    txn_meta *t = txn_coord_find(&f->svc.coord, "tx");
    return t ? t->state : -1;
}

/* InitProducerId, AddPartitions(t-0), EndTxn(commit): the COMMIT marker is appended to
 * t-0 here and waits for t-0's high watermark. */
static bool commit_to_marker_wait(fixture *f)
{
    txn_service_init_pid(&f->svc, 1, "tx", 60000, -1, -1, 0);
    run_until(f, 1);
    if (!CHECK_EQ_INT(f->nreplies, 1) || !CHECK_EQ_INT(f->last_error, 0))
        return false;
    txn_participant part = {TXN_PART_PARTITION, "t", 0, false};
    txn_service_add(&f->svc, 2, "tx", f->pid, f->epoch, &part, 1, 0);
    run_until(f, 2);
    if (!CHECK_EQ_INT(f->nreplies, 2) || !CHECK_EQ_INT(f->last_error, 0))
        return false;
    txn_service_end(&f->svc, 3, "tx", f->pid, f->epoch, true, 0);
    /* EndTxn is answered once the markers are: wait for the marker's append instead. */
    plog *l = f->data->parts[0]->log;
    for (int i = 0; i < 10000 && l->log_end_offset < 1; i++) {
        store_before_poll(f->st);
        uv_run(&f->loop, UV_RUN_NOWAIT);
        if (l->log_end_offset < 1)
            usleep(1000);
    }
    run_until(f, 0);
    /* The marker is written here, not durable past the high watermark: no completion. */
    CHECK_EQ_INT(f->nreplies, 2);
    if (!CHECK(l->log_end_offset >= 1))
        return false;
    return CHECK_EQ_INT(state_of(f), TXN_PREPARE_COMMIT);
}

static void test_marker_wait_redriven_when_leadership_lost(void)
{
    fixture f = {0};
    if (!fixture_open(&f) || !commit_to_marker_wait(&f)) {
        fixture_close(&f);
        return;
    }
    /* This node stops leading t-0; its log is then refilled from the new leader up to and
     * past the marker's offset. The marker's wait must not complete the transaction. */
    partition *d = f.data->parts[0];
    d->repl_leading = false;
    f.remote_takes = true;
    txn_service_leadership_lost(&f.svc, d, 0);
    d->repl_hw = d->log->log_end_offset + 10;
    txn_service_progress(&f.svc, 0);
    CHECK_EQ_INT(state_of(&f), TXN_PREPARE_COMMIT);
    /* It was handed to the remote path instead, as for another node's partition. */
    if (CHECK_EQ_INT(f.ncalls, 1)) {
        CHECK_EQ_INT(f.calls[0].kind, TXN_REMOTE_MARKER);
        CHECK(strcmp(f.calls[0].txn_id, "tx") == 0 && strcmp(f.calls[0].part, "t") == 0);
        CHECK_EQ_INT(f.calls[0].partition, 0);
        CHECK_EQ_INT(f.calls[0].pid, f.pid);
        CHECK(f.calls[0].commit);
        CHECK_EQ_INT(f.calls[0].txn_seq, f.svc.coord.by_id ? f.svc.coord.by_id->txn_seq : -1);
    }
    /* The new leader's answer completes it. */
    txn_participant part = {TXN_PART_PARTITION, "t", 0, false};
    txn_service_remote_done(&f.svc, TXN_REMOTE_MARKER, "tx", &part, true, 0);
    run_until(&f, 3);
    CHECK_EQ_INT(state_of(&f), TXN_COMPLETE_COMMIT);
    fixture_close(&f);
}

static void test_unload_drops_waits(void)
{
    fixture f = {0};
    if (!fixture_open(&f) || !commit_to_marker_wait(&f)) {
        fixture_close(&f);
        return;
    }
    partition *d = f.data->parts[0];
    int64_t first_marker_end = d->log->log_end_offset;
    /* The log partition is taken away, then led here again: the load replays
     * PrepareCommit and writes the marker again, further on in t-0. */
    txn_service_set_led(&f.svc, 0, false, 0);
    CHECK(!txn_service_loaded(&f.svc, "tx"));
    if (CHECK_EQ_INT(f.nunloaded, 1))
        CHECK_EQ_INT(f.unloaded[0], 0);
    log_set_leader_epoch(f.tlog->parts[0]->log, 2);
    txn_service_set_led(&f.svc, 0, true, 0);
    CHECK_EQ_INT(state_of(&f), TXN_PREPARE_COMMIT);
    if (!CHECK(d->log->log_end_offset > first_marker_end)) {
        fixture_close(&f);
        return;
    }
    /* The first marker becomes committed, the second not yet: the wait of the unloaded
     * coordinator must not complete the reloaded transaction. */
    d->repl_hw = first_marker_end;
    txn_service_progress(&f.svc, 0);
    CHECK_EQ_INT(state_of(&f), TXN_PREPARE_COMMIT);
    d->repl_hw = d->log->log_end_offset;
    run_until(&f, 3);
    CHECK_EQ_INT(state_of(&f), TXN_COMPLETE_COMMIT);
    fixture_close(&f);
}

static void test_failed_marker_retried(void)
{
    fixture f = {0};
    if (!fixture_open(&f) || !commit_to_marker_wait(&f)) {
        fixture_close(&f);
        return;
    }
    plog *l = f.data->parts[0]->log;
    int64_t first_end = l->log_end_offset;
    /* The log fails before the marker is past the high watermark: not done. */
    l->failed = true;
    txn_service_progress(&f.svc, 0);
    CHECK_EQ_INT(state_of(&f), TXN_PREPARE_COMMIT);
    /* A tick tries again; the failed log refuses it: still not done, nothing appended. */
    txn_service_tick(&f.svc, 0);
    txn_service_progress(&f.svc, 0);
    CHECK_EQ_INT(state_of(&f), TXN_PREPARE_COMMIT);
    CHECK_EQ_INT(l->log_end_offset, first_end);
    CHECK_EQ_INT(f.nreplies, 2); /* EndTxn not answered */
    /* The partition takes markers again: the next tick writes it, and once it is past the
     * high watermark the transaction completes. */
    l->failed = false;
    txn_service_tick(&f.svc, 0);
    if (!CHECK(l->log_end_offset > first_end)) {
        fixture_close(&f);
        return;
    }
    f.data->parts[0]->repl_hw = l->log_end_offset;
    run_until(&f, 3);
    CHECK_EQ_INT(state_of(&f), TXN_COMPLETE_COMMIT);
    CHECK_EQ_INT(f.last_error, 0);
    fixture_close(&f);
}

TU_MAIN(TU_CASE(test_marker_wait_redriven_when_leadership_lost),
        TU_CASE(test_unload_drops_waits), TU_CASE(test_failed_marker_retried))
