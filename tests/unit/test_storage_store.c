/* test_storage_store.c - the store's flush rounds in interval mode: the timer alone, or
 * also log.flush.interval.bytes (store_opts.flush_interval_bytes), which starts a round
 * once that many bytes were appended since the last one began, long before the timer; and
 * in sync mode across segment rolls, whose old segments the flush thread syncs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "base/fsutil.h"
#include "proto/record.h"
#include "storage/store.h"
#include "testutil.h"

#define VALUE_BYTES 1024

static void on_durable(void *ctx) { (void)ctx; }

/* Appends n batches of one VALUE_BYTES record to p and tells the store. */
static bool append_some(store *st, partition *p, int n)
{
    static uint8_t value[VALUE_BYTES];
    for (int i = 0; i < n; i++) {
        uint8_t *batch = NULL;
        size_t len = rb_build_kv(&batch, "k", 1, value, sizeof(value), 0);
        rb_header h;
        int64_t base;
        bool ok = len > 0 && rb_validate(batch, len, &h) == RB_OK &&
                  log_append(p->log, batch, len, &h, 0, &base) == LOG_OK;
        free(batch);
        if (!CHECK(ok))
            return false;
        store_mark_dirty(st, p);
    }
    return true;
}

/* Runs loop turns for up to ms, or until p's log is durable to its end. */
static void run_for(uv_loop_t *loop, store *st, partition *p, int ms)
{
    for (int i = 0; i < ms && p->log->durable_offset < p->log->log_end_offset; i++) {
        store_before_poll(st);
        uv_run(loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

/* Closes the store (with p, when it was opened) and then the loop. */
static void close_all(uv_loop_t *loop, store *st, partition *p)
{
    if (p)
        store_close(st, &p, 1);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
}

/* Interval mode with a 60 s timer: without a byte bound nothing is fsynced within 0.3 s;
 * with one of 16 KiB, 32 KiB of appends are fsynced within 2 s. */
static void check_interval(int64_t flush_bytes, bool want_durable)
{
    char dir[256];
    snprintf(dir, sizeof(dir), "/tmp/brook-unit-%d-store-%lld", (int)getpid(),
             (long long)flush_bytes);
    fs_remove_tree(dir);
    uv_loop_t loop;
    uv_loop_init(&loop);
    store_opts o = {.data_dir = dir, .flush_sync = false, .flush_interval_ms = 60000,
                    .flush_interval_bytes = flush_bytes, .on_durable = on_durable};
    store *st = NULL;
    bool clean;
    if (!CHECK(store_open(&o, &loop, &st, &clean) == 0))
        return;
    log_config cfg = {.segment_bytes = 1 << 20, .segment_ms = -1, .retention_bytes = -1,
                      .retention_ms = -1, .index_interval_bytes = 4096};
    partition *p = NULL;
    if (CHECK(store_partition_open(st, "t", 0, &cfg, 0, &p) == 0) && append_some(st, p, 32)) {
        run_for(&loop, st, p, want_durable ? 2000 : 300);
        if (want_durable)
            CHECK_EQ_INT(p->log->durable_offset, p->log->log_end_offset);
        else
            CHECK_EQ_INT(p->log->durable_offset, 0);
        CHECK_EQ_INT(p->log->log_end_offset, 32);
    }
    close_all(&loop, st, p);
    fs_remove_tree(dir);
}

/* Sync mode, 8 KiB segments: appends that roll many times; every round syncs the segment
 * the last roll left, and at the end the log is durable to its end with none unsynced.
 * Then a clean close and reopen: every record is there. */
static void test_sync_rounds_across_rolls(void)
{
    char dir[256];
    snprintf(dir, sizeof(dir), "/tmp/brook-unit-%d-store-rolls", (int)getpid());
    fs_remove_tree(dir);
    uv_loop_t loop;
    uv_loop_init(&loop);
    store_opts o = {.data_dir = dir, .flush_sync = true, .on_durable = on_durable};
    store *st = NULL;
    bool clean;
    if (!CHECK(store_open(&o, &loop, &st, &clean) == 0))
        return;
    log_config cfg = {.segment_bytes = 8192, .segment_ms = -1, .retention_bytes = -1,
                      .retention_ms = -1, .index_interval_bytes = 4096};
    partition *p = NULL;
    bool ok = CHECK(store_partition_open(st, "t", 0, &cfg, 0, &p) == 0);
    for (int round = 0; ok && round < 20; round++) {
        ok = append_some(st, p, 3);
        int64_t end = p->log->log_end_offset;
        run_for(&loop, st, p, 2000);
        ok = ok && CHECK_EQ_INT(p->log->durable_offset, end) && CHECK(p->log->unsynced == NULL);
    }
    CHECK(p && p->log->nsegs >= 7);
    close_all(&loop, st, p);
    uv_loop_init(&loop);
    st = NULL;
    p = NULL;
    if (CHECK(store_open(&o, &loop, &st, &clean) == 0) && CHECK(clean) &&
        CHECK(store_partition_open(st, "t", 0, &cfg, 0, &p) == 0))
        CHECK_EQ_INT(p->log->log_end_offset, 60);
    close_all(&loop, st, p);
    fs_remove_tree(dir);
}

static void test_timer_only(void) { check_interval(0, false); }

static void test_byte_bound_flushes_early(void) { check_interval(16 * 1024, true); }

TU_MAIN(TU_CASE(test_timer_only), TU_CASE(test_byte_bound_flushes_early),
        TU_CASE(test_sync_rounds_across_rolls))
