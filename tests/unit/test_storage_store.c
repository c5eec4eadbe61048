/* test_storage_store.c - the store's flushes in interval mode: the timer alone, or
 * also log.flush.interval.bytes (store_opts.flush_interval_bytes), which starts them
 * once that many bytes were appended since the last one began, long before the timer; a
 * log that came due while its own flush task was out goes when it returns; in sync mode a
 * log with much to write synced in a task of its own, small ones together; a
 * roll's sealed segment synced at once in interval mode; in sync mode across segment
 * rolls, whose old segments the flush thread syncs; in sync mode, appends marked lazy
 * riding with the log's next job or the timer; the page cache released behind each
 * sync (store_opts.cache_keep_bytes, checked with mincore); and readahead for fetches. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "base/fsutil.h"
#include "proto/record.h"
#include "storage/store.h"
#include "testutil.h"

#define VALUE_BYTES 1024

static void on_durable(void *ctx) { (void)ctx; }

/* Appends one batch of one VALUE_BYTES record to p and tells the store (store_mark_lazy
 * with lazy, else store_mark_dirty). */
static bool append_one(store *st, partition *p, bool lazy)
{
    static uint8_t value[VALUE_BYTES];
    uint8_t *batch = NULL;
    size_t len = rb_build_kv(&batch, "k", 1, value, sizeof(value), 0);
    rb_header h;
    int64_t base;
    bool ok = len > 0 && rb_validate(batch, len, &h) == RB_OK &&
              log_append(p->log, batch, len, &h, 0, &base) == LOG_OK;
    free(batch);
    if (!CHECK(ok))
        return false;
    if (lazy)
        store_mark_lazy(st, p);
    else
        store_mark_dirty(st, p);
    return true;
}

/* Appends n batches of one VALUE_BYTES record to p and tells the store. */
static bool append_some(store *st, partition *p, int n)
{
    for (int i = 0; i < n; i++)
        if (!append_one(st, p, false))
            return false;
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
/* Closes st with p and q (either may be NULL) and runs its loop to the end. */
static void close_parts(uv_loop_t *loop, store *st, partition *p, partition *q)
{
    partition *parts[2];
    size_t n = 0;
    if (p)
        parts[n++] = p;
    if (q)
        parts[n++] = q;
    store_close(st, n ? parts : NULL, n);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
}

static void close_all(uv_loop_t *loop, store *st, partition *p) { close_parts(loop, st, p, NULL); }

/* Opens partition NAME-0 in st, its segments rolling at segment_bytes. */
static bool open_part(store *st, const char *name, int64_t segment_bytes, partition **out)
{
    log_config cfg = {.segment_bytes = segment_bytes, .segment_ms = -1, .retention_bytes = -1,
                      .retention_ms = -1, .index_interval_bytes = 4096};
    return CHECK(store_partition_open(st, name, 0, &cfg, 0, out) == 0);
}

/* A fresh store in o->data_dir (removed first) on a new loop, with one partition t-0 whose
 * segments roll at segment_bytes. False when either fails (*p is then NULL; *st too, with
 * the loop closed, when the store did not open). */
static bool open_fresh(uv_loop_t *loop, store_opts *o, int64_t segment_bytes, store **st,
                       partition **p)
{
    fs_remove_tree(o->data_dir);
    uv_loop_init(loop);
    o->on_durable = on_durable;
    *st = NULL;
    *p = NULL;
    bool clean;
    if (!CHECK(store_open(o, loop, st, &clean) == 0)) {
        *st = NULL;
        uv_loop_close(loop);
        return false;
    }
    return open_part(*st, "t", segment_bytes, p);
}

/* A second partition u-0 (segments of segment_bytes) in st. */
static bool open_second(store *st, int64_t segment_bytes, partition **q)
{
    return open_part(st, "u", segment_bytes, q);
}

/* close_parts, then removes dir. */
static void close_two(uv_loop_t *loop, store *st, partition *p, partition *q, const char *dir)
{
    close_parts(loop, st, p, q);
    fs_remove_tree(dir);
}

/* Interval mode with a 60 s timer: without a byte bound nothing is fsynced within 0.3 s;
 * with one of 16 KiB, 32 KiB of appends are fsynced within 2 s. */
static void check_interval(int64_t flush_bytes, bool want_durable)
{
    char dir[256];
    snprintf(dir, sizeof(dir), "/tmp/brook-unit-%d-store-%lld", (int)getpid(),
             (long long)flush_bytes);
    uv_loop_t loop;
    store_opts o = {.data_dir = dir, .flush_sync = false, .flush_interval_ms = 60000,
                    .flush_interval_bytes = flush_bytes};
    store *st;
    partition *p;
    bool ok = open_fresh(&loop, &o, 1 << 20, &st, &p);
    if (!st)
        return;
    if (ok && append_some(st, p, 32)) {
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
    uv_loop_t loop;
    store_opts o = {.data_dir = dir, .flush_sync = true};
    store *st;
    partition *p;
    bool ok = open_fresh(&loop, &o, 8192, &st, &p);
    if (!st)
        return;
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
    bool clean;
    log_config cfg = {.segment_bytes = 8192, .segment_ms = -1, .retention_bytes = -1,
                      .retention_ms = -1, .index_interval_bytes = 4096};
    if (CHECK(store_open(&o, &loop, &st, &clean) == 0) && CHECK(clean) &&
        CHECK(store_partition_open(st, "t", 0, &cfg, 0, &p) == 0))
        CHECK_EQ_INT(p->log->log_end_offset, 60);
    close_all(&loop, st, p);
    fs_remove_tree(dir);
}

/* Interval mode, 60 s timer, 64 KiB segments: appends that roll once. A flush round
 * starts at once (a second roll would otherwise sync the sealed segment on the loop) and
 * makes the log durable to at least the sealed segment's end, long before the timer. */
static void test_interval_roll_synced_at_once(void)
{
    char dir[256];
    snprintf(dir, sizeof(dir), "/tmp/brook-unit-%d-store-iroll", (int)getpid());
    uv_loop_t loop;
    store_opts o = {.data_dir = dir, .flush_sync = false, .flush_interval_ms = 60000};
    store *st;
    partition *p;
    bool ok = open_fresh(&loop, &o, 64 << 10, &st, &p);
    if (!st)
        return;
    if (ok && append_some(st, p, 80) &&
        CHECK_EQ_INT(p->log->nsegs, 2)) {
        int64_t sealed_end = p->log->segs[0]->next_offset;
        for (int i = 0; i < 2000 && log_has_unsynced(p->log); i++) {
            store_before_poll(st);
            uv_run(&loop, UV_RUN_NOWAIT);
            usleep(1000);
        }
        CHECK(!log_has_unsynced(p->log));
        CHECK(p->log->durable_offset >= sealed_end);
        CHECK(sealed_end < p->log->log_end_offset);
    }
    close_all(&loop, st, p);
    fs_remove_tree(dir);
}

/* Pages of `path` in [from, to) that are in the page cache, in percent. */
static int resident_pct(const char *path, uint64_t from, uint64_t to)
{
    int fd = open(path, O_RDONLY);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || (uint64_t)sb.st_size < to) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return -1;
    long pg = sysconf(_SC_PAGESIZE);
    size_t npages = ((size_t)sb.st_size + (size_t)pg - 1) / (size_t)pg;
    unsigned char *vec = malloc(npages);
    int pct = -1;
    if (vec && mincore(m, (size_t)sb.st_size, vec) == 0) {
        size_t a = from / (uint64_t)pg, b = to / (uint64_t)pg, in = 0;
        for (size_t i = a; i < b; i++)
            in += vec[i] & 1;
        pct = b > a ? (int)(in * 100 / (b - a)) : 100;
    }
    free(vec);
    munmap(m, (size_t)sb.st_size);
    return pct;
}

/* Sync mode, 64 MiB segment: ~29 MiB of appends, synced. With cache_keep_bytes 8 MiB the
 * segment's first 16 MiB leave the page cache after the syncs (in steps of at least
 * LOG_CACHE_RELEASE_MIN) and its last 8 MiB stay; with 0 nothing is released. Then a
 * fetch-style readahead of the released start brings it back (a worker's WILLNEED). */
static void check_cache_release(int64_t keep, bool touch)
{
    char dir[256], seg[320];
    snprintf(dir, sizeof(dir), "/tmp/brook-unit-%d-store-cache%lld", (int)getpid(),
             (long long)keep);
    snprintf(seg, sizeof(seg), "%s/t-0/00000000000000000000.log", dir);
    uv_loop_t loop;
    store_opts o = {.data_dir = dir, .flush_sync = true, .cache_keep_bytes = keep,
                    .readahead_touch = touch};
    store *st;
    partition *p;
    bool ok = open_fresh(&loop, &o, 64 << 20, &st, &p);
    if (!st)
        return;
    for (int round = 0; ok && round < 28; round++) { /* ~1 MiB per round, each synced */
        ok = append_some(st, p, 1000);
        run_for(&loop, st, p, 5000);
        ok = ok && CHECK_EQ_INT(p->log->durable_offset, p->log->log_end_offset);
    }
    uint64_t size = ok ? p->log->segs[0]->size : 0;
    if (ok && CHECK(size > (26u << 20))) {
        int head = resident_pct(seg, 0, 16u << 20), tail = resident_pct(seg, size - (8u << 20),
                                                                          size);
        if (keep > 0) {
            CHECK(head >= 0 && head <= 10);
            CHECK(p->log->segs[0]->cache_released >= (16u << 20));
            CHECK(p->log->segs[0]->cache_released <= size - (uint64_t)keep);
            CHECK(store_get_stats(st).cache_released_bytes == p->log->segs[0]->cache_released);
        } else {
            CHECK(head >= 90);
            CHECK_EQ_INT(p->log->segs[0]->cache_released, 0);
            CHECK_EQ_INT(store_get_stats(st).cache_released_bytes, 0);
        }
        CHECK(tail >= 90);
    }
    if (ok && keep > 0) {
        /* A reader at the released start: readahead brings the next 16 MiB in; with
         * readahead_touch the worker also reads all of it itself, without none of it. */
        wr_file_span span = {.fd = p->log->segs[0]->log_fd, .pos = 0, .len = 64 << 10};
        store_stats s0 = store_get_stats(st);
        store_readahead(st, p, &span);
        store_readahead(st, p, &span); /* the same span again: already on its way */
        CHECK_EQ_INT(store_get_stats(st).readahead_jobs, s0.readahead_jobs + 1);
        int back = -1;
        for (int i = 0; i < 300 && (back < 90 || store_get_stats(st).readahead_finished ==
                                                     s0.readahead_finished);
             i++) { /* the work runs, its reads complete */
            uv_run(&loop, UV_RUN_NOWAIT);
            back = resident_pct(seg, 64 << 10, 8u << 20);
            usleep(10000);
        }
        CHECK(back >= 90);
        store_stats s1 = store_get_stats(st);
        CHECK_EQ_INT(s1.readahead_finished, s0.readahead_finished + 1);
        CHECK_EQ_INT(s1.readahead_touched_bytes - s0.readahead_touched_bytes,
                     touch ? STORE_READAHEAD_BYTES : 0);
    }
    close_all(&loop, st, p);
    fs_remove_tree(dir);
}

static void test_cache_released_behind_sync(void) { check_cache_release(8 << 20, true); }

/* The same with the readahead as advice only (fetch.readahead.touch=false). */
static void test_cache_readahead_untouched(void) { check_cache_release(8 << 20, false); }

static void test_cache_kept_when_off(void) { check_cache_release(0, true); }

/* Appends one batch holding a single record of `bytes` (zeros) to p and tells the store. */
static bool append_big(store *st, partition *p, size_t bytes)
{
    uint8_t *value = calloc(1, bytes), *batch = NULL;
    size_t len = value ? rb_build_kv(&batch, "k", 1, value, bytes, 0) : 0;
    rb_header h;
    int64_t base;
    bool ok = len > 0 && rb_validate(batch, len, &h) == RB_OK &&
              log_append(p->log, batch, len, &h, 0, &base) == LOG_OK;
    free(batch);
    free(value);
    if (ok)
        store_mark_dirty(st, p);
    return CHECK(ok);
}

/* Disk bytes allocated to a file (st_blocks), -1 when it is not there. */
static int64_t allocated(const char *path)
{
    struct stat stt;
    return stat(path, &stt) == 0 ? (int64_t)stt.st_blocks * 512 : -1;
}

/* Runs loop turns until the spare is no longer being made (at most 5 s). */
static void wait_spare(uv_loop_t *loop, store *st, partition *p)
{
    for (int i = 0; i < 500 && p->log->spare == LOG_SPARE_MAKING; i++) {
        store_before_poll(st);
        uv_run(loop, UV_RUN_NOWAIT);
        usleep(10000);
    }
}

/* log.segment.reserve: once the active segment is half full a worker makes the next
 * segment's file with segment.bytes reserved (size 0); the roll takes it; a segment sealed
 * with room left gives the rest back after its sync, and the active one at a clean close.
 * Off, none is made. */
static void check_reserve(bool on)
{
    const int64_t seg_bytes = 8 << 20;
    char dir[256], spare[320], seg1[320], seg2[320];
    snprintf(dir, sizeof(dir), "/tmp/brook-unit-%d-store-reserve%d", (int)getpid(), on);
    snprintf(spare, sizeof(spare), "%s/t-0/%s", dir, LOG_SPARE_FILE);
    uv_loop_t loop;
    store_opts o = {.data_dir = dir, .flush_sync = false, .flush_interval_ms = 60000,
                    .reserve_segments = on};
    store *st;
    partition *p;
    bool ok = open_fresh(&loop, &o, seg_bytes, &st, &p);
    if (!st)
        return;
    ok = ok && append_some(st, p, 3000); /* 3 MiB of 8: not yet */
    ok = ok && CHECK_EQ_INT(p->log->spare, LOG_SPARE_NONE) && CHECK_EQ_INT(allocated(spare), -1);
    ok = ok && append_some(st, p, 1500); /* past half */
    wait_spare(&loop, st, p);
    if (ok && !on) {
        CHECK_EQ_INT(p->log->spare, LOG_SPARE_NONE);
        CHECK_EQ_INT(allocated(spare), -1);
        CHECK_EQ_INT(store_get_stats(st).segments_reserved, 0);
        ok = false;
    }
    if (ok && CHECK_EQ_INT(p->log->spare, LOG_SPARE_READY)) {
        CHECK(allocated(spare) >= seg_bytes);
        CHECK_EQ_INT(store_get_stats(st).segments_reserved, 1);
        /* 4 MiB more does not fit: the roll takes the spare as segment 1. */
        ok = append_big(st, p, 4 << 20) && CHECK_EQ_INT(p->log->nsegs, 2);
    }
    if (ok) {
        snprintf(seg1, sizeof(seg1), "%s/t-0/%020lld.log", dir,
                 (long long)p->log->segs[1]->base_offset);
        CHECK(p->log->segs[1]->reserved && !p->log->segs[0]->reserved);
        CHECK(allocated(seg1) >= seg_bytes);
        wait_spare(&loop, st, p); /* segment 1 is half full already: the next one is made */
        ok = CHECK_EQ_INT(p->log->spare, LOG_SPARE_READY) && append_big(st, p, 5 << 20) &&
             CHECK_EQ_INT(p->log->nsegs, 3);
    }
    if (ok) {
        snprintf(seg2, sizeof(seg2), "%s/t-0/%020lld.log", dir,
                 (long long)p->log->segs[2]->base_offset);
        uint64_t used = p->log->segs[1]->size;
        CHECK(used < (5u << 20) && allocated(seg1) >= seg_bytes); /* given back after sync */
        for (int i = 0; i < 3000 && log_has_unsynced(p->log); i++) {
            store_before_poll(st);
            uv_run(&loop, UV_RUN_NOWAIT);
            usleep(1000);
        }
        CHECK(!log_has_unsynced(p->log));
        CHECK(allocated(seg1) < (int64_t)used + (1 << 20));
        CHECK(allocated(seg2) >= seg_bytes);
        uint64_t active = p->log->segs[2]->size;
        close_all(&loop, st, p);
        CHECK(allocated(seg2) < (int64_t)active + (1 << 20)); /* a clean close gives it back */
        fs_remove_tree(dir);
        return;
    }
    close_all(&loop, st, p);
    fs_remove_tree(dir);
}

static void test_segments_reserved_ahead(void) { check_reserve(true); }

static void test_segments_not_reserved_when_off(void) { check_reserve(false); }

/* Sync mode, log.flush.interval.ms 60 s: an append marked lazy (a transaction's
 * completion record) gets no fdatasync of its own. Alone on its log it is not synced
 * within 150 ms; nor when another log's append is synced. The log's next append that is
 * waited for makes both durable in one job of one item; so does store_flush_soon. A lazy
 * append left alone is synced by the timer, capped at STORE_LAZY_MAX_MS (within 3 s). */
static void test_sync_lazy_rides_with_next(void)
{
    char dir[256];
    snprintf(dir, sizeof(dir), "/tmp/brook-unit-%d-store-lazy", (int)getpid());
    uv_loop_t loop;
    store_opts o = {.data_dir = dir, .flush_sync = true, .flush_interval_ms = 60000};
    store *st;
    partition *p, *q = NULL;
    bool ok = open_fresh(&loop, &o, 1 << 20, &st, &p);
    if (!st)
        return;
    ok = ok && open_second(st, 1 << 20, &q);
    if (ok && append_one(st, p, true) && append_some(st, q, 1)) {
        run_for(&loop, st, q, 2000); /* q's own append: a job of q alone */
        CHECK_EQ_INT(q->log->durable_offset, 1);
        run_for(&loop, st, p, 150);
        CHECK_EQ_INT(p->log->durable_offset, 0);
        CHECK_EQ_INT(p->log->log_end_offset, 1);
        store_stats before = store_get_stats(st);
        append_some(st, p, 1);
        run_for(&loop, st, p, 2000);
        store_stats after = store_get_stats(st);
        CHECK_EQ_INT(p->log->durable_offset, 2);
        CHECK_EQ_INT(after.flush_jobs - before.flush_jobs, 1);
        CHECK_EQ_INT(after.flush_items - before.flush_items, 1);
        append_one(st, p, true);
        run_for(&loop, st, p, 150);
        CHECK_EQ_INT(p->log->durable_offset, 2);
        store_flush_soon(st, p); /* a replica changing role */
        run_for(&loop, st, p, 150);
        CHECK_EQ_INT(p->log->durable_offset, 3);
        append_one(st, p, true);
        run_for(&loop, st, p, 150);
        CHECK_EQ_INT(p->log->durable_offset, 3);
        run_for(&loop, st, p, 3000);
        CHECK_EQ_INT(p->log->durable_offset, 4);
    }
    close_two(&loop, st, p, q, dir);
}

/* Interval mode, 60 s timer, a byte bound of one record: the second append comes due while
 * the log's first task is still out (not yet delivered to the loop), so it waits for that
 * task (one task per log) and then goes at once, long before the timer. Then a partition
 * dropped while its task is out is freed when the task comes back (ASan checks the rest). */
static void test_due_while_flushing(void)
{
    char dir[256];
    snprintf(dir, sizeof(dir), "/tmp/brook-unit-%d-store-due", (int)getpid());
    uv_loop_t loop;
    store_opts o = {.data_dir = dir, .flush_sync = false, .flush_interval_ms = 60000,
                    .flush_interval_bytes = 1};
    store *st;
    partition *p;
    bool ok = open_fresh(&loop, &o, 1 << 20, &st, &p);
    if (!st)
        return;
    if (ok && append_one(st, p, false)) {
        store_before_poll(st);
        CHECK(p->flushing);
        append_one(st, p, false);
        store_before_poll(st); /* no loop run between: the first task is not delivered */
        CHECK(p->flushing);
        CHECK(p->flush_due);
        run_for(&loop, st, p, 2000);
        CHECK_EQ_INT(p->log->durable_offset, 2);
        CHECK(!p->flush_due);
        append_one(st, p, false);
        store_before_poll(st);
        CHECK(p->flushing);
        store_stats before = store_get_stats(st);
        store_partition_drop(st, p);
        p = NULL;
        for (int i = 0; i < 2000 && store_get_stats(st).flush_jobs == before.flush_jobs; i++) {
            uv_run(&loop, UV_RUN_NOWAIT);
            usleep(1000);
        }
        CHECK_EQ_INT(store_get_stats(st).flush_jobs, before.flush_jobs + 1);
    }
    close_two(&loop, st, p, NULL, dir);
}

/* Sync mode, two partitions written in the same turn: p with 300 KiB, q with one record.
 * p (at least STORE_FLUSH_ALONE_BYTES) goes as a task of its own and q in another, so q's
 * durability never waits for p's fdatasync: two tasks. Then one record each: both small,
 * one task of two items. */
static void test_large_log_alone(void)
{
    char dir[256];
    snprintf(dir, sizeof(dir), "/tmp/brook-unit-%d-store-alone", (int)getpid());
    uv_loop_t loop;
    store_opts o = {.data_dir = dir, .flush_sync = true, .flush_interval_ms = 60000};
    store *st;
    partition *p, *q = NULL;
    bool ok = open_fresh(&loop, &o, 64 << 20, &st, &p);
    if (!st)
        return;
    ok = ok && open_second(st, 64 << 20, &q);
    for (int round = 0; ok && round < 2; round++) {
        int np = round == 0 ? 300 : 1;
        if (!append_some(st, p, np) || !append_some(st, q, 1))
            break;
        store_stats before = store_get_stats(st);
        run_for(&loop, st, p, 2000);
        run_for(&loop, st, q, 2000);
        store_stats after = store_get_stats(st);
        CHECK_EQ_INT(p->log->durable_offset, p->log->log_end_offset);
        CHECK_EQ_INT(q->log->durable_offset, q->log->log_end_offset);
        CHECK_EQ_INT(after.flush_jobs - before.flush_jobs, round == 0 ? 2 : 1);
        CHECK_EQ_INT(after.flush_items - before.flush_items, 2);
    }
    close_two(&loop, st, p, q, dir);
}

static void test_timer_only(void) { check_interval(0, false); }

static void test_byte_bound_flushes_early(void) { check_interval(16 * 1024, true); }

TU_MAIN(TU_CASE(test_timer_only), TU_CASE(test_byte_bound_flushes_early),
        TU_CASE(test_interval_roll_synced_at_once), TU_CASE(test_sync_rounds_across_rolls),
        TU_CASE(test_cache_released_behind_sync), TU_CASE(test_cache_readahead_untouched),
        TU_CASE(test_cache_kept_when_off),
        TU_CASE(test_segments_reserved_ahead), TU_CASE(test_segments_not_reserved_when_off),
        TU_CASE(test_sync_lazy_rides_with_next), TU_CASE(test_due_while_flushing),
        TU_CASE(test_large_log_alone))
