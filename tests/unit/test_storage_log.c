/* test_storage_log.c - the partition log: append/read, rolls, indexes, recovery from torn
 * tails and garbage, retention, DeleteRecords and timestamp lookup. Recovery is tested the
 * SQLite way: the files are cut or garbled at chosen points as a crash would leave them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "proto/record.h"
#include "storage/log.h"
#include "storage/rollmeta.h"
#include "testutil.h"

static char g_dir[256];

static log_config cfg_default(void)
{
    log_config c = {.segment_bytes = 1 << 20,
                    .segment_ms = -1,
                    .retention_bytes = -1,
                    .retention_ms = -1,
                    .index_interval_bytes = 256,
                    .log_append_time = false};
    return c;
}

static void fresh_dir(const char *name)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/brook-unit-%d-%s", (int)getpid(), name);
    fs_remove_tree(g_dir);
}

/* Appends one batch of `count` records with these values, timestamp ts. Returns its base
 * offset or an error. */
static int64_t append_values(plog *l, const char *const *vals, int count, int64_t ts)
{
    uint8_t *b;
    size_t len = rb_build_simple(&b, count, NULL, vals, ts);
    rb_header h;
    if (rb_validate(b, len, &h) != RB_OK) {
        free(b);
        return -100;
    }
    int64_t base = -1;
    int rc = log_append(l, b, len, &h, ts, &base);
    free(b);
    return rc == LOG_OK ? base : rc;
}

/* Appends one batch of `count` records whose values are "v<first+i>", timestamp ts. */
static int64_t append_batch(plog *l, int first, int count, int64_t ts)
{
    char bufs[64][16];
    const char *vals[64];
    for (int i = 0; i < count; i++) {
        snprintf(bufs[i], sizeof(bufs[i]), "v%d", first + i);
        vals[i] = bufs[i];
    }
    return append_values(l, vals, count, ts);
}

/* Reads everything from offset 0 and counts records, checking offsets are contiguous. */
static int64_t count_records(plog *l, int64_t from)
{
    arena a;
    arena_init(&a);
    int64_t next = from, n = 0;
    for (int guard = 0; guard < 100000 && next < l->log_end_offset; guard++) {
        uint8_t *data;
        size_t len;
        if (log_read(l, next, l->log_end_offset, 1 << 16, true, &a, &data, &len) != LOG_OK ||
            len == 0)
            break;
        size_t off = 0;
        while (off < len) {
            rb_header h;
            size_t total;
            if (rb_check_stored(data + off, len - off, &h, &total) != RB_OK) {
                arena_free(&a);
                return -1;
            }
            if (rb_last_offset(&h) >= next) {
                n += rb_last_offset(&h) - (h.base_offset > next ? h.base_offset : next) + 1;
                next = rb_last_offset(&h) + 1;
            }
            off += total;
        }
    }
    arena_free(&a);
    return n;
}

static plog *open_log(bool clean)
{
    log_config c = cfg_default();
    plog *l = NULL;
    int rc = log_open(g_dir, "t-0", &c, clean, 1000, &l);
    return rc == LOG_OK ? l : NULL;
}

/* A new log (after a crash: unclean) whose segments roll at 1 KiB, ten batches or so. */
static log_config cfg_rolling(void)
{
    log_config c = cfg_default();
    c.segment_bytes = 1024;
    return c;
}

static plog *open_rolling(const char *name)
{
    fresh_dir(name);
    log_config c = cfg_rolling();
    plog *l = NULL;
    return log_open(g_dir, "t-0", &c, false, 0, &l) == LOG_OK ? l : NULL;
}

static void test_append_read_roundtrip(void)
{
    fresh_dir("rt");
    plog *l = open_log(false);
    if (!CHECK(l != NULL))
        return;
    for (int i = 0; i < 100; i++)
        CHECK_EQ_INT(append_batch(l, i * 5, 5, 1000 + i), i * 5);
    CHECK_EQ_INT(l->log_end_offset, 500);
    CHECK_EQ_INT(count_records(l, 0), 500);
    CHECK_EQ_INT(count_records(l, 123), 500 - 123);
    /* A read starting mid-batch returns the whole containing batch. */
    arena a;
    arena_init(&a);
    uint8_t *data;
    size_t len;
    CHECK_EQ_INT(log_read(l, 7, 500, 10, true, &a, &data, &len), LOG_OK);
    rb_header h;
    CHECK(len > 0 && rb_parse_header(data, len, &h) == RB_OK && h.base_offset == 5);
    /* max_offset cuts before a batch that reaches it. */
    CHECK_EQ_INT(log_read(l, 0, 0, 1 << 20, true, &a, &data, &len), LOG_OK);
    CHECK_EQ_INT(len, 0);
    CHECK_EQ_INT(log_read(l, 501, 600, 100, true, &a, &data, &len), LOG_ERR_OUT_OF_RANGE);
    arena_free(&a);
    log_close(l);
    l = open_log(true);
    if (CHECK(l != NULL)) {
        CHECK_EQ_INT(l->log_end_offset, 500);
        CHECK_EQ_INT(count_records(l, 0), 500);
        log_destroy(l);
    }
}

/* log_read_span picks exactly log_read's batches: over segments rolled at 4 KiB, batches of
 * 1 to 40 records, the index every 256 bytes, every start offset with random upper bounds,
 * byte limits and min_one, the span's bytes (read from its descriptor) equal log_read's,
 * its end offset follows its last batch, and a truncation moves the guard. */
static void test_read_span_matches_read(void)
{
    fresh_dir("span");
    log_config c = cfg_default();
    c.segment_bytes = 4096;
    plog *l = NULL;
    if (!CHECK(log_open(g_dir, "t-0", &c, false, 1000, &l) == LOG_OK))
        return;
    int first = 0;
    for (int i = 0; i < 120; i++) {
        int n = 1 + (int)(tu_rand() % 40);
        append_batch(l, first, n, 1000 + i);
        first += n;
    }
    CHECK(l->nsegs > 3);
    arena a;
    arena_init(&a);
    int checked = 0;
    for (int64_t off = l->log_start_offset; off < l->log_end_offset; off += 1 + (int64_t)(tu_rand() % 7)) {
        for (int k = 0; k < 4; k++) {
            int64_t upper = off + (int64_t)(tu_rand() % 300);
            if (upper > l->log_end_offset)
                upper = l->log_end_offset;
            size_t max_bytes = (size_t)(tu_rand() % 3000);
            bool min_one = tu_rand() % 2;
            uint8_t *data;
            size_t len;
            wr_file_span sp;
            int64_t next;
            int r1 = log_read(l, off, upper, max_bytes, min_one, &a, &data, &len);
            int r2 = log_read_span(l, off, upper, max_bytes, min_one, &sp, &next);
            CHECK_EQ_INT(r1, r2);
            if (!CHECK_EQ_INT(sp.len, len))
                continue;
            checked++;
            if (len == 0)
                continue;
            uint8_t *got = malloc(len);
            CHECK(pread(sp.fd, got, len, (off_t)sp.pos) == (ssize_t)len);
            CHECK(memcmp(got, data, len) == 0);
            /* the offset after the last batch */
            size_t o = 0;
            int64_t last = -1;
            while (o < len) {
                rb_header h;
                if (rb_parse_header(data + o, len - o, &h) != RB_OK)
                    break;
                last = rb_last_offset(&h);
                o += rb_total_size(&h);
            }
            CHECK_EQ_INT(next, last + 1);
            CHECK(*sp.guard == sp.guard_val);
            free(got);
        }
    }
    CHECK(checked > 500);
    wr_file_span sp;
    int64_t next;
    CHECK_EQ_INT(log_read_span(l, 0, l->log_end_offset, 1 << 20, true, &sp, &next), LOG_OK);
    CHECK(sp.len > 0);
    CHECK_EQ_INT(log_truncate(l, l->log_end_offset - 5), LOG_OK);
    CHECK(*sp.guard != sp.guard_val); /* a span handed out before a truncation is void */
    CHECK_EQ_INT(log_read_span(l, l->log_end_offset + 1, l->log_end_offset + 2, 100, true, &sp,
                               &next),
                 LOG_ERR_OUT_OF_RANGE);
    arena_free(&a);
    log_destroy(l);
}

static void test_roll_and_reopen(void)
{
    fresh_dir("roll");
    log_config c = cfg_default();
    c.segment_bytes = 4096;
    plog *l = NULL;
    if (!CHECK(log_open(g_dir, "t-0", &c, false, 0, &l) == LOG_OK))
        return;
    for (int i = 0; i < 300; i++)
        append_batch(l, i * 3, 3, 5000 + i);
    CHECK(l->nsegs > 5);
    size_t nsegs = l->nsegs;
    CHECK_EQ_INT(count_records(l, 0), 900);
    log_close(l);
    /* Clean reopen trusts indexes; unclean verifies the active segment. */
    for (int clean = 1; clean >= 0; clean--) {
        if (!CHECK(log_open(g_dir, "t-0", &c, clean, 0, &l) == LOG_OK))
            return;
        CHECK_EQ_INT(l->nsegs, nsegs);
        CHECK_EQ_INT(l->log_end_offset, 900);
        CHECK_EQ_INT(count_records(l, 0), 900);
        CHECK_EQ_INT(count_records(l, 450), 450);
        log_close(l);
    }
    if (CHECK(log_open(g_dir, "t-0", &c, true, 0, &l) == LOG_OK))
        log_destroy(l);
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Every possible torn length of the last batch: recovery keeps exactly the whole batches. */
static void test_torn_tail_every_cut(void)
{
    fresh_dir("torn");
    plog *l = open_log(false);
    if (!CHECK(l != NULL))
        return;
    for (int i = 0; i < 10; i++)
        append_batch(l, i * 4, 4, 2000 + i);
    uint64_t nine_batches = l->segs[0]->size;
    append_batch(l, 40, 4, 3000);
    uint64_t full = l->segs[0]->size;
    log_close(l);
    char path[300];
    snprintf(path, sizeof(path), "%s/00000000000000000000.log", g_dir);
    int bad = 0;
    for (uint64_t cut = nine_batches + 1; cut < full; cut++) {
        if (truncate(path, (off_t)cut) != 0)
            break;
        l = open_log(false);
        if (!l || l->log_end_offset != 40 || count_records(l, 0) != 40 ||
            file_size(path) != (off_t)nine_batches)
            bad++;
        if (l) {
            /* The log continues at 40 after a cut, and the new batch reads back. */
            if (append_batch(l, 40, 4, 3000) != 40)
                bad++;
            log_close(l);
        }
    }
    CHECK_EQ_INT(bad, 0);
    l = open_log(false);
    if (CHECK(l != NULL)) {
        CHECK_EQ_INT(l->log_end_offset, 44);
        log_destroy(l);
    }
}

static void append_garbage(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_APPEND);
    if (fd >= 0) {
        if (write(fd, p, n) != (ssize_t)n)
            perror("write");
        close(fd);
    }
}

static void test_garbage_appended(void)
{
    fresh_dir("garbage");
    plog *l = open_log(false);
    if (!CHECK(l != NULL))
        return;
    for (int i = 0; i < 20; i++)
        append_batch(l, i * 2, 2, 100 + i);
    uint64_t size = l->segs[0]->size;
    log_close(l);
    char path[300];
    snprintf(path, sizeof(path), "%s/00000000000000000000.log", g_dir);
    /* 1: random bytes. 2: a well-formed header claiming a huge length. 3: a copy of a valid
     * batch with a flipped payload byte (CRC mismatch). 4: a valid batch at a wrong offset. */
    uint8_t junk[300];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)tu_rand();
    uint8_t *b;
    const char *vals[1] = {"x"};
    size_t blen = rb_build_simple(&b, 1, NULL, vals, 5);
    uint8_t hdr[RB_HEADER_SIZE];
    memcpy(hdr, b, sizeof(hdr));
    hdr[8] = 0x7f; /* batchLength ~ 2 GB */
    for (int kind = 0; kind < 4; kind++) {
        if (kind == 0)
            append_garbage(path, junk, sizeof(junk));
        else if (kind == 1)
            append_garbage(path, hdr, sizeof(hdr));
        else if (kind == 2) {
            uint8_t *c = malloc(blen);
            memcpy(c, b, blen);
            rb_set_base_offset(c, 40, 0);
            c[blen - 2] ^= 0x55;
            append_garbage(path, c, blen);
            free(c);
        } else {
            uint8_t *c = malloc(blen);
            memcpy(c, b, blen);
            rb_set_base_offset(c, 77, 0); /* valid CRC, but not the next offset */
            append_garbage(path, c, blen);
            free(c);
        }
        l = open_log(kind % 2 == 1); /* even a "clean" marker must not trust garbage */
        if (!CHECK(l != NULL))
            break;
        CHECK_EQ_INT(l->log_end_offset, 40);
        CHECK_EQ_INT(count_records(l, 0), 40);
        CHECK_EQ_INT(file_size(path), (off_t)size);
        log_close(l);
    }
    free(b);
    l = open_log(true);
    if (l)
        log_destroy(l);
}

static void test_index_rebuilt_when_missing_or_corrupt(void)
{
    fresh_dir("idx");
    log_config c = cfg_default();
    c.segment_bytes = 8192;
    plog *l = NULL;
    if (!CHECK(log_open(g_dir, "t-0", &c, false, 0, &l) == LOG_OK))
        return;
    for (int i = 0; i < 200; i++)
        append_batch(l, i, 1, 10000 + i);
    log_close(l);
    char path[300];
    snprintf(path, sizeof(path), "%s/00000000000000000000.index", g_dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/00000000000000000000.timeindex", g_dir);
    append_garbage(path, "abc", 3); /* no longer a multiple of the entry size */
    if (!CHECK(log_open(g_dir, "t-0", &c, true, 0, &l) == LOG_OK))
        return;
    CHECK_EQ_INT(l->log_end_offset, 200);
    CHECK_EQ_INT(count_records(l, 0), 200);
    CHECK(l->segs[0]->nidx > 0);
    int64_t off, ts;
    CHECK_EQ_INT(log_offset_for_time(l, 10050, 200, &off, &ts), LOG_OK);
    CHECK_EQ_INT(off, 50);
    CHECK_EQ_INT(ts, 10050);
    log_destroy(l);
}

static void test_offset_for_time(void)
{
    fresh_dir("time");
    log_config c = cfg_default();
    c.segment_bytes = 2048;
    plog *l = NULL;
    if (!CHECK(log_open(g_dir, "t-0", &c, false, 0, &l) == LOG_OK))
        return;
    for (int i = 0; i < 100; i++)
        append_batch(l, i, 1, 1000 + i * 10); /* offset i at time 1000+10i */
    int64_t off, ts;
    CHECK_EQ_INT(log_offset_for_time(l, 0, 100, &off, &ts), LOG_OK);
    CHECK_EQ_INT(off, 0);
    CHECK_EQ_INT(log_offset_for_time(l, 1455, 100, &off, &ts), LOG_OK);
    CHECK_EQ_INT(off, 46);
    CHECK_EQ_INT(ts, 1460);
    CHECK_EQ_INT(log_offset_for_time(l, 1990, 100, &off, &ts), LOG_OK);
    CHECK_EQ_INT(off, 99);
    CHECK_EQ_INT(log_offset_for_time(l, 5000, 100, &off, &ts), LOG_OK);
    CHECK_EQ_INT(off, -1);
    /* Below the high watermark only. */
    CHECK_EQ_INT(log_offset_for_time(l, 1455, 40, &off, &ts), LOG_OK);
    CHECK_EQ_INT(off, -1);
    log_destroy(l);
}

/* ListOffsets MAX_TIMESTAMP: the first record with the largest timestamp below the limit,
 * wherever it is (timestamps go up and down across segments), never a marker's. */
static void test_max_timestamp(void)
{
    plog *l = open_rolling("maxts");
    if (!CHECK(l != NULL))
        return;
    int64_t off, ts;
    CHECK_EQ_INT(log_max_timestamp(l, 0, &off, &ts), LOG_OK);
    CHECK(off == -1 && ts == -1); /* empty */
    for (int i = 0; i < 60; i++) /* 5000 at 17 and again at 41; 4000 at 50 */
        append_batch(l, i, 1, i == 17 || i == 41 ? 5000 : i == 50 ? 4000 : 1000 + i);
    CHECK(l->nsegs > 3);
    CHECK_EQ_INT(log_max_timestamp(l, 60, &off, &ts), LOG_OK);
    CHECK_EQ_INT(off, 17);
    CHECK_EQ_INT(ts, 5000);
    /* Below the limit only: up to 17 (exclusive), the largest is 1016 at 16. */
    CHECK_EQ_INT(log_max_timestamp(l, 17, &off, &ts), LOG_OK);
    CHECK_EQ_INT(off, 16);
    CHECK_EQ_INT(ts, 1016);
    /* A marker stamped later than every record does not count. */
    int64_t moff;
    CHECK_EQ_INT(log_append_marker(l, 7, 0, true, 0, 9000, &moff), LOG_OK);
    CHECK_EQ_INT(log_max_timestamp(l, l->log_end_offset, &off, &ts), LOG_OK);
    CHECK_EQ_INT(off, 17);
    CHECK_EQ_INT(ts, 5000);
    log_destroy(l);
}

static void test_retention_and_delete_records(void)
{
    log_config c = cfg_rolling();
    plog *l = open_rolling("ret");
    if (!CHECK(l != NULL))
        return;
    for (int i = 0; i < 200; i++)
        append_batch(l, i, 1, 1000 + i);
    size_t before = l->nsegs;
    CHECK(before > 4);
    /* Size: keep at most ~3 KiB. */
    l->cfg.retention_bytes = 3000;
    int del = log_apply_retention(l, 5000);
    CHECK(del > 0);
    CHECK(log_size_bytes(l) - l->segs[0]->size < 3000);
    CHECK_EQ_INT(l->log_start_offset, l->segs[0]->base_offset);
    int64_t start = l->log_start_offset;
    CHECK(start > 0);
    /* Time: everything older than 10 ms at time 2000 -> only the active segment remains
     * (once the segment the last roll left unsynced is synced: test_retention_waits_...). */
    l->cfg.retention_bytes = -1;
    l->cfg.retention_ms = 10;
    CHECK_EQ_INT(log_flush_sync(l), LOG_OK);
    log_apply_retention(l, 2000);
    CHECK_EQ_INT(l->nsegs, 1);
    /* DeleteRecords moves the start inside the active segment and persists it. */
    CHECK_EQ_INT(log_delete_records(l, 199, 200), LOG_OK);
    CHECK_EQ_INT(log_delete_records(l, 300, 200), LOG_ERR_OUT_OF_RANGE);
    CHECK_EQ_INT(l->log_start_offset, 199);
    arena a;
    arena_init(&a);
    uint8_t *d;
    size_t n;
    CHECK_EQ_INT(log_read(l, 150, 200, 1000, true, &a, &d, &n), LOG_ERR_OUT_OF_RANGE);
    arena_free(&a);
    log_close(l);
    if (CHECK(log_open(g_dir, "t-0", &c, false, 0, &l) == LOG_OK)) {
        CHECK_EQ_INT(l->log_start_offset, 199);
        CHECK_EQ_INT(l->log_end_offset, 200);
        log_destroy(l);
    }
}

static void test_log_append_time(void)
{
    fresh_dir("lat");
    log_config c = cfg_default();
    c.log_append_time = true;
    plog *l = NULL;
    if (!CHECK(log_open(g_dir, "t-0", &c, false, 0, &l) == LOG_OK))
        return;
    const char *vals[1] = {"x"};
    uint8_t *b;
    size_t len = rb_build_simple(&b, 1, NULL, vals, 5);
    rb_header h;
    rb_validate(b, len, &h);
    int64_t base;
    CHECK_EQ_INT(log_append(l, b, len, &h, 777777, &base), LOG_OK);
    free(b);
    arena a;
    arena_init(&a);
    uint8_t *d;
    size_t n;
    CHECK_EQ_INT(log_read(l, 0, 1, 1000, true, &a, &d, &n), LOG_OK);
    CHECK(n == len && rb_validate(d, n, &h) == RB_OK); /* CRC recomputed */
    CHECK_EQ_INT(h.max_timestamp, 777777);
    CHECK(h.attributes & RB_ATTR_LOG_APPEND_TIME);
    arena_free(&a);
    log_destroy(l);
}

/* Reports one item of a flush job as the flush thread does: err stands for its fdatasync's
 * result, and the roll's writes it carries run after it (rollmeta.h). */
static void item_done(plog *l, const log_sync *sy, int err)
{
    if (sy->meta)
        err = rm_run(sy->meta, err);
    log_flush_done(l, sy->seg, sy->end_offset, err);
}

/* A failed fsync latches the log read-only: nothing after the durable point is ever
 * acknowledged, appends are refused, and the failure is not retried. */
static void test_fsync_failure_latches(void)
{
    fresh_dir("fsyncfail");
    plog *l = open_log(false);
    if (!CHECK(l != NULL))
        return;
    append_batch(l, 0, 3, 10);
    log_sync sy[LOG_FLUSH_MAX];
    CHECK_EQ_INT(log_flush_begin(l, sy), 1);
    CHECK(sy[0].fd >= 0);
    CHECK_EQ_INT(sy[0].end_offset, 3);
    item_done(l, &sy[0], 5 /* EIO */);
    CHECK(l->failed);
    CHECK_EQ_INT(l->durable_offset, 0);
    CHECK_EQ_INT(append_batch(l, 3, 1, 11), LOG_ERR_FAILED);
    CHECK_EQ_INT(log_flush_begin(l, sy), 0);
    /* A good flush of the same log can no longer move the durable point. */
    l->segs[0]->pins++;
    log_flush_done(l, l->segs[0], 3, 0);
    CHECK_EQ_INT(l->durable_offset, 0);
    log_destroy(l);
}

/* Appends 4-record batches (the i-th holds values 4i.., timestamp 100 + i) until the log
 * has nsegs segments (at most 100 batches). Returns the next i. */
static int append_until_segs(plog *l, int i, size_t nsegs)
{
    for (int n = 0; l->nsegs < nsegs && n < 100; n++, i++)
        append_batch(l, i * 4, 4, 100 + i);
    return i;
}

/* One flush job of the log whose first fdatasync fails with EIO. Returns how many. */
static size_t flush_job_failing(plog *l)
{
    log_sync sy[LOG_FLUSH_MAX];
    size_t n = log_flush_begin(l, sy);
    for (size_t i = 0; i < n; i++)
        item_done(l, &sy[i], i == 0 ? 5 /* EIO */ : 0);
    return n;
}

/* The offset a producer snapshot file in g_dir is valid at, -1 when there is none. */
static int64_t snapshot_offset(const char *file)
{
    char path[400], *text;
    size_t len;
    snprintf(path, sizeof(path), "%s/%s", g_dir, file);
    if (fs_read_all(path, &text, &len) != 0)
        return -1;
    pstate ps;
    pstate_init(&ps);
    int64_t off = -1;
    if (pstate_snapshot_decode(&ps, (uint8_t *)text, len, &off) != 0)
        off = -1;
    pstate_free(&ps);
    free(text);
    return off;
}

/* A roll on append does not fsync the old segment: it is left unsynced, the next flush job
 * syncs it before the active one, and durable_offset passes its end only then. The roll's
 * producer snapshot and epochs are written by that job too, after the old segment's
 * fdatasync (rollmeta.h): none on disk before it. */
static void test_roll_leaves_old_segment_to_flush(void)
{
    plog *l = open_rolling("asyncroll");
    if (!CHECK(l != NULL))
        return;
    int i = 0;
    i = append_until_segs(l, i, 2);
    if (!CHECK_EQ_INT(l->nsegs, 2))
        return;
    segment *old = l->segs[0];
    CHECK(l->unsynced == old);
    CHECK(old->meta != NULL);
    CHECK_EQ_INT(l->durable_offset, 0); /* nothing synced yet */
    CHECK_EQ_INT(snapshot_offset(LOG_SNAPSHOT_FILE), -1);
    char epochs[400];
    snprintf(epochs, sizeof(epochs), "%s/%s", g_dir, LOG_EPOCHS_FILE);
    CHECK_EQ_INT(file_size(epochs), -1);
    log_sync sy[LOG_FLUSH_MAX];
    CHECK_EQ_INT(log_flush_begin(l, sy), 2);
    CHECK(sy[0].seg == old && sy[0].end_offset == old->next_offset);
    CHECK(sy[0].meta == old->meta && sy[1].meta == NULL);
    CHECK(sy[1].seg == l->segs[1] && sy[1].end_offset == l->log_end_offset);
    /* Reported in order: the old segment first, then the active one. */
    item_done(l, &sy[0], 0);
    CHECK(old->meta == NULL);
    CHECK_EQ_INT(snapshot_offset(LOG_SNAPSHOT_FILE), old->next_offset);
    CHECK_EQ_INT(snapshot_offset(LOG_SNAPSHOT_PREV_FILE), -1);
    CHECK(file_size(epochs) >= 0);
    CHECK(l->unsynced == NULL);
    CHECK_EQ_INT(l->durable_offset, old->next_offset);
    item_done(l, &sy[1], 0);
    CHECK_EQ_INT(l->durable_offset, l->log_end_offset);
    log_sync none[LOG_FLUSH_MAX];
    CHECK_EQ_INT(log_flush_begin(l, none), 0); /* nothing left */

    /* A failed sync of the unsynced segment fails the log: the active one's good sync in
     * the same job moves nothing. */
    i = append_until_segs(l, i, 3);
    CHECK(l->unsynced == l->segs[1]);
    int64_t before = l->durable_offset;
    CHECK_EQ_INT(flush_job_failing(l), 2);
    CHECK(l->failed);
    CHECK_EQ_INT(l->durable_offset, before);
    log_destroy(l);
}

/* A roll by time (segment.ms, from a timer) syncs the old segment itself, and a segment a
 * roll on append left unsynced before it as well: nothing is left for the flush thread. */
static void test_roll_by_time_syncs(void)
{
    plog *l = open_rolling("timeroll");
    if (!CHECK(l != NULL))
        return;
    int i = append_until_segs(l, 0, 2);
    append_batch(l, i * 4, 4, 100 + i);
    CHECK(l->unsynced == l->segs[0]);
    l->cfg.segment_ms = 10;
    int64_t first_end = l->segs[0]->next_offset;
    CHECK_EQ_INT(log_maybe_roll_by_time(l, l->segs[1]->created_ms + 20), LOG_OK);
    CHECK_EQ_INT(l->nsegs, 3);
    CHECK(l->unsynced == NULL);
    CHECK(l->segs[0]->meta == NULL && l->segs[1]->meta == NULL);
    CHECK_EQ_INT(l->durable_offset, l->log_end_offset);
    /* Both rolls' writes ran here, in order: the first roll's snapshot is the previous
     * one, the time roll's the current one. */
    CHECK_EQ_INT(snapshot_offset(LOG_SNAPSHOT_FILE), l->log_end_offset);
    CHECK_EQ_INT(snapshot_offset(LOG_SNAPSHOT_PREV_FILE), first_end);
    char epochs[400];
    snprintf(epochs, sizeof(epochs), "%s/%s", g_dir, LOG_EPOCHS_FILE);
    CHECK(file_size(epochs) >= 0);
    log_sync none[LOG_FLUSH_MAX];
    CHECK_EQ_INT(log_flush_begin(l, none), 1); /* the active segment's appends, still dirty */
    item_done(l, &none[0], 0);
    log_destroy(l);
}

/* A roll that cannot get what its deferred writes need (here: no descriptor left for the
 * partition directory) fails whole: the append is refused (LOG_ERR_NOMEM), nothing is
 * sealed, the log is not failed, and the next append once descriptors are back rolls. */
static void test_roll_fails_whole_without_descriptors(void)
{
    plog *l = open_rolling("rollfail");
    if (!CHECK(l != NULL))
        return;
    append_batch(l, 0, 4, 100);
    struct rlimit old;
    if (!CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0))
        return;
    int lowest = dup(0);
    if (!CHECK(lowest >= 0))
        return;
    close(lowest);
    struct rlimit tight = {.rlim_cur = (rlim_t)lowest, .rlim_max = old.rlim_max};
    if (!CHECK(setrlimit(RLIMIT_NOFILE, &tight) == 0))
        return;
    int64_t rc = 0;
    int i = 1;
    for (; i < 100 && l->nsegs == 1 && rc >= 0; i++)
        rc = append_batch(l, i * 4, 4, 100 + i);
    int64_t end = l->log_end_offset;
    setrlimit(RLIMIT_NOFILE, &old);
    CHECK_EQ_INT(rc, LOG_ERR_NOMEM);
    CHECK_EQ_INT(l->nsegs, 1);
    CHECK(!l->failed && l->unsynced == NULL && l->segs[0]->meta == NULL);
    CHECK(append_batch(l, i * 4, 4, 100 + i) == end); /* rolls now, the batch first in it */
    CHECK_EQ_INT(l->nsegs, 2);
    CHECK(l->unsynced == l->segs[0] && l->segs[0]->meta != NULL);
    CHECK_EQ_INT(count_records(l, 0), end + 4);
    log_destroy(l);
}

/* Retention never deletes the segment a roll left unsynced: durable_offset (the high
 * watermark in sync mode) would then pass its end without its fdatasync. Once it is
 * synced, the next pass deletes it. */
static void test_retention_waits_for_unsynced(void)
{
    plog *l = open_rolling("retunsynced");
    if (!CHECK(l != NULL))
        return;
    append_until_segs(l, 0, 3);
    if (!CHECK_EQ_INT(l->nsegs, 3))
        return;
    segment *unsynced = l->segs[1];
    CHECK(l->unsynced == unsynced);
    int64_t unsynced_base = unsynced->base_offset, unsynced_end = unsynced->next_offset;
    l->cfg.retention_ms = 10;
    CHECK_EQ_INT(log_apply_retention(l, 1000000), 1); /* the first one only */
    CHECK_EQ_INT(l->nsegs, 2);
    CHECK(l->segs[0] == unsynced && l->unsynced == unsynced);
    CHECK_EQ_INT(l->log_start_offset, unsynced_base);
    log_sync sy[LOG_FLUSH_MAX];
    size_t n = log_flush_begin(l, sy);
    CHECK_EQ_INT(n, 2);
    item_done(l, &sy[0], 0);
    CHECK(l->unsynced == NULL);
    CHECK_EQ_INT(l->durable_offset, unsynced_end);
    item_done(l, &sy[1], 0);
    CHECK_EQ_INT(log_apply_retention(l, 1000000), 1);
    CHECK_EQ_INT(l->nsegs, 1);
    CHECK_EQ_INT(l->log_start_offset, unsynced_end);
    log_destroy(l);
}

/* Stands for the flush thread: runs a roll's writes after a delay. */
static void *late_meta_run(void *arg)
{
    usleep(100 * 1000);
    rm_run(arg, 0);
    return NULL;
}

/* Two rolls inside one flush job: the second waits for the first one's segment and writes
 * (which the job runs), so no more than one sealed segment, and one roll's writes, are
 * ever outstanding; the job's sync of the segment that was active when it began counts up
 * to where it was then. A sync begun before a roll that saw the whole old segment makes
 * it durable, but the roll's writes wait for the next job, and so does the new segment. */
static void test_second_roll_syncs_the_first(void)
{
    plog *l = open_rolling("asyncroll2");
    if (!CHECK(l != NULL))
        return;
    int i = 0;
    i = append_until_segs(l, i, 3);
    CHECK_EQ_INT(l->nsegs, 3);
    CHECK(l->unsynced == l->segs[1]);
    CHECK_EQ_INT(l->durable_offset, l->segs[1]->base_offset);
    /* A job begun now (old + active); a roll while it runs waits for segs[1]'s writes,
     * which the job's thread runs 100 ms later. */
    log_sync sy[LOG_FLUSH_MAX];
    CHECK_EQ_INT(log_flush_begin(l, sy), 2);
    if (!CHECK(sy[0].meta != NULL))
        return;
    int64_t roll2 = l->segs[2]->base_offset;
    pthread_t th;
    CHECK_EQ_INT(pthread_create(&th, NULL, late_meta_run, sy[0].meta), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    i = append_until_segs(l, i, 4);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(th, NULL);
    long waited_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(waited_ms >= 80);
    CHECK_EQ_INT(snapshot_offset(LOG_SNAPSHOT_FILE), roll2); /* the first roll's, written */
    CHECK(l->segs[1]->meta == NULL); /* finished by the roll that waited */
    CHECK(l->unsynced == l->segs[2]);
    CHECK_EQ_INT(l->durable_offset, l->segs[2]->base_offset);
    CHECK(sy[1].seg == l->segs[2] && sy[1].end_offset < l->segs[2]->next_offset);
    for (size_t k = 0; k < 2; k++) /* the job delivered: its writes already ran */
        log_flush_done(l, sy[k].seg, sy[k].end_offset, 0);
    CHECK(l->unsynced == l->segs[2]); /* appended to after the job began: still unsynced */
    CHECK_EQ_INT(l->durable_offset, sy[1].end_offset);
    CHECK_EQ_INT(log_flush_sync(l), LOG_OK);
    CHECK(l->unsynced == NULL);
    CHECK_EQ_INT(l->durable_offset, l->log_end_offset);

    /* A job begun on the active segment, then a batch too large for what is left rolls it:
     * that job saw all of it. */
    while (l->segs[l->nsegs - 1]->size < 400 && i < 400)
        append_batch(l, i * 4, 4, 100 + i), i++;
    size_t nsegs = l->nsegs;
    CHECK_EQ_INT(log_flush_begin(l, sy), 1);
    append_batch(l, i * 4, 64, 100 + i);
    CHECK_EQ_INT(l->nsegs, nsegs + 1);
    CHECK(l->unsynced == sy[0].seg && sy[0].end_offset == sy[0].seg->next_offset);
    CHECK(sy[0].meta == NULL && sy[0].seg->meta != NULL);
    item_done(l, &sy[0], 0);
    CHECK(l->unsynced == sy[0].seg); /* its roll's writes are still to come */
    CHECK_EQ_INT(l->durable_offset, l->segs[nsegs]->base_offset);
    CHECK_EQ_INT(log_flush_begin(l, sy), 2);
    CHECK(sy[0].meta != NULL);
    for (size_t k = 0; k < 2; k++)
        item_done(l, &sy[k], 0);
    CHECK(l->unsynced == NULL);
    CHECK_EQ_INT(l->durable_offset, l->log_end_offset);
    CHECK_EQ_INT(snapshot_offset(LOG_SNAPSHOT_FILE), l->segs[nsegs]->base_offset);
    log_destroy(l);
}

/* The file position after the first n batches of a segment file (their length fields). */
static off_t batches_end(const char *path, int n)
{
    int fd = open(path, O_RDONLY);
    off_t pos = 0;
    for (int i = 0; fd >= 0 && i < n; i++) {
        uint8_t h[12];
        if (pread(fd, h, sizeof(h), pos) != (ssize_t)sizeof(h)) {
            pos = -1;
            break;
        }
        pos += 12 + (off_t)((uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 | (uint32_t)h[10] << 8 |
                            h[11]);
    }
    if (fd >= 0)
        close(fd);
    return fd >= 0 ? pos : -1;
}

/* Whether the leader-epochs file in g_dir has a line for epoch e. */
static bool epochs_file_has(int e)
{
    char path[400], *text, want[24];
    size_t len;
    snprintf(path, sizeof(path), "%s/%s", g_dir, LOG_EPOCHS_FILE);
    if (fs_read_all(path, &text, &len) != 0)
        return false;
    snprintf(want, sizeof(want), "%d ", e);
    bool found = strncmp(text, want, strlen(want)) == 0;
    for (char *nl = strchr(text, '\n'); !found && nl; nl = strchr(nl + 1, '\n'))
        found = strncmp(nl + 1, want, strlen(want)) == 0;
    free(text);
    return found;
}

/* A cut (a follower's truncation) while a roll's writes are outstanding. They never land
 * after the cut's own: running ones are waited for, ones for a segment the cut reaches are
 * dropped, and a pending one for a segment the cut keeps writes its snapshot (valid at its
 * offset) but not its epochs (older than the cut's). */
static void test_cut_with_roll_writes_outstanding(void)
{
    /* 1. Pending, on the segment the cut goes into: dropped; nothing stale appears. */
    plog *l = open_rolling("cutpending");
    if (!CHECK(l != NULL))
        return;
    int i = append_until_segs(l, 0, 3);
    segment *u = l->segs[1];
    CHECK(l->unsynced == u && u->meta != NULL);
    CHECK_EQ_INT(log_truncate(l, u->base_offset + 4), LOG_OK);
    CHECK(l->unsynced == NULL && u->meta == NULL && l->nsegs == 2);
    CHECK_EQ_INT(snapshot_offset(LOG_SNAPSHOT_FILE), -1);
    CHECK_EQ_INT(log_flush_sync(l), LOG_OK);
    CHECK_EQ_INT(snapshot_offset(LOG_SNAPSHOT_FILE), -1);
    CHECK_EQ_INT(snapshot_offset(LOG_SNAPSHOT_PREV_FILE), -1);
    CHECK_EQ_INT(append_batch(l, i * 4, 4, 100 + i), u->base_offset + 4);
    log_destroy(l);

    /* 2. Running on the flush thread: the cut waits for them, then deletes what they
     * wrote (the snapshot lies beyond the cut). */
    l = open_rolling("cutrunning");
    if (!CHECK(l != NULL))
        return;
    i = append_until_segs(l, 0, 3);
    log_sync sy[LOG_FLUSH_MAX];
    CHECK_EQ_INT(log_flush_begin(l, sy), 2);
    if (!CHECK(sy[0].meta != NULL))
        return;
    pthread_t th;
    CHECK_EQ_INT(pthread_create(&th, NULL, late_meta_run, sy[0].meta), 0);
    CHECK_EQ_INT(log_truncate(l, l->segs[1]->base_offset + 4), LOG_OK);
    pthread_join(th, NULL);
    CHECK_EQ_INT(snapshot_offset(LOG_SNAPSHOT_FILE), -1);
    CHECK_EQ_INT(snapshot_offset(LOG_SNAPSHOT_PREV_FILE), -1);
    for (size_t k = 0; k < 2; k++) /* the job delivered: its writes already ran */
        log_flush_done(l, sy[k].seg, sy[k].end_offset, 0);
    CHECK(l->segs[1]->meta == NULL && !l->failed);
    CHECK_EQ_INT(snapshot_offset(LOG_SNAPSHOT_FILE), -1);
    log_destroy(l);

    /* 3. Pending, on a segment the cut keeps (the cut is in the active one): its snapshot
     * lands with the next job; the epochs file is the cut's (epoch 7 began after the
     * roll, before the cut). */
    l = open_rolling("cutkeeps");
    if (!CHECK(l != NULL))
        return;
    CHECK_EQ_INT(log_set_leader_epoch(l, 5), LOG_OK);
    i = append_until_segs(l, 0, 2);
    CHECK(l->unsynced == l->segs[0] && l->segs[0]->meta != NULL);
    int64_t roll = l->segs[1]->base_offset;
    CHECK_EQ_INT(log_set_leader_epoch(l, 7), LOG_OK);
    for (int k = 0; k < 3; k++, i++)
        append_batch(l, i * 4, 4, 100 + i);
    CHECK_EQ_INT(l->nsegs, 2);
    CHECK_EQ_INT(log_truncate(l, l->log_end_offset - 4), LOG_OK);
    CHECK(l->unsynced == l->segs[0] && l->segs[0]->meta != NULL);
    CHECK(epochs_file_has(7));
    CHECK_EQ_INT(log_flush_sync(l), LOG_OK);
    CHECK(l->unsynced == NULL);
    CHECK_EQ_INT(snapshot_offset(LOG_SNAPSHOT_FILE), roll);
    CHECK(epochs_file_has(5) && epochs_file_has(7));
    log_destroy(l);
}

/* Copies g_dir as a crash would leave it (the files as they are now) to <g_dir>-crash,
 * cuts segment cut_base there to two whole batches and part of a third, and reopens it
 * (unclean). */
/* Copies g_dir to `crash` as a crash would leave it (the log still open). */
static void copy_as_crash(const char *crash)
{
    char cmd[700];
    fs_remove_tree(crash);
    snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s'", g_dir, crash);
    CHECK_EQ_INT(system(cmd), 0);
}

static plog *crash_and_cut(const char *crash, int64_t cut_base, uint64_t seg_size)
{
    char path[400];
    copy_as_crash(crash);
    snprintf(path, sizeof(path), "%s/%020lld.log", crash, (long long)cut_base);
    off_t two = batches_end(path, 2);
    CHECK(two > 0 && (uint64_t)two < seg_size);
    CHECK_EQ_INT(truncate(path, two + 5), 0);
    log_config c = cfg_rolling();
    plog *l = NULL;
    return log_open(crash, "t-0", &c, false, 0, &l) == LOG_OK ? l : NULL;
}

/* A crash that cut the tail of the segment a roll left unsynced (what a power cut does to
 * bytes never fsynced): the active segment after it is deleted and the log continues at
 * the cut. The roll's producer snapshot was never on disk (it is written after that
 * segment's fdatasync), so the one before it, at the cut segment's base, is used. When a
 * snapshot does lie beyond the new end (as a roll that could not defer its writes leaves
 * one: written while the segment was unsynced), it is deleted and the previous one used. */
static void test_crash_cuts_unsynced_segment(void)
{
    log_config c = cfg_rolling();
    plog *l = open_rolling("asynccrash");
    if (!CHECK(l != NULL))
        return;
    int i = 0;
    i = append_until_segs(l, i, 3);
    append_batch(l, i * 4, 4, 100 + i), i++;
    CHECK(l->unsynced == l->segs[1]);
    int64_t cut_base = l->segs[1]->base_offset, active_base = l->segs[2]->base_offset;
    uint64_t seg1_size = l->segs[1]->size;
    CHECK_EQ_INT(snapshot_offset(LOG_SNAPSHOT_FILE), cut_base);
    char crash[320], path[400], snap[400], prev[420];
    snprintf(crash, sizeof(crash), "%s-crash", g_dir);
    snprintf(snap, sizeof(snap), "%s/%s", crash, LOG_SNAPSHOT_FILE);
    snprintf(prev, sizeof(prev), "%s/%s", crash, LOG_SNAPSHOT_PREV_FILE);
    plog *cl = crash_and_cut(crash, cut_base, seg1_size);
    if (CHECK(cl != NULL)) {
        CHECK_EQ_INT(cl->nsegs, 2);
        CHECK_EQ_INT(cl->log_end_offset, cut_base + 8);
        CHECK_EQ_INT(count_records(cl, 0), cut_base + 8);
        snprintf(path, sizeof(path), "%s/%020lld.log", crash, (long long)active_base);
        CHECK_EQ_INT(file_size(path), -1);
        CHECK(file_size(snap) > 0); /* at cut_base: used */
        log_destroy(cl);
    }

    /* Once the job has run: the roll's snapshot (at active_base) and the one before it. */
    CHECK_EQ_INT(log_flush_sync(l), LOG_OK);
    CHECK_EQ_INT(snapshot_offset(LOG_SNAPSHOT_FILE), active_base);
    CHECK_EQ_INT(snapshot_offset(LOG_SNAPSHOT_PREV_FILE), cut_base);
    cl = crash_and_cut(crash, cut_base, seg1_size);
    log_destroy(l);
    if (!CHECK(cl != NULL))
        return;
    CHECK_EQ_INT(cl->log_end_offset, cut_base + 8);
    CHECK_EQ_INT(file_size(snap), -1); /* beyond the new end: deleted */
    CHECK(file_size(prev) > 0);        /* at cut_base: used */
    /* It goes on from the cut, and a clean reopen sees the same log. */
    CHECK_EQ_INT(append_batch(cl, 0, 4, 999), cut_base + 8);
    log_close(cl);
    if (CHECK(log_open(crash, "t-0", &c, true, 0, &cl) == LOG_OK)) {
        CHECK_EQ_INT(cl->log_end_offset, cut_base + 12);
        CHECK_EQ_INT(count_records(cl, 0), cut_base + 12);
        log_destroy(cl);
    }
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Old segments keep one fd (their log); only the active one has its index files open. */
/* The active segment holds one fd (its log): index entries stay in memory until the log is
 * closed (or the segment sealed), which writes them; after a crash (the files copied while
 * the log was open, as a crash leaves them) the index is rebuilt from the log. */
static void test_active_segment_one_fd(void)
{
    fresh_dir("onefd");
    log_config c = cfg_default();
    int before = count_fds();
    plog *l = NULL;
    if (!CHECK(log_open(g_dir, "t-0", &c, false, 0, &l) == LOG_OK))
        return;
    CHECK_EQ_INT(count_fds() - before, 1);
    for (int i = 0; i < 300; i++)
        append_batch(l, i * 5, 5, 5000 + i);
    CHECK_EQ_INT(count_fds() - before, 1);
    size_t nidx = l->segs[0]->nidx;
    CHECK(nidx > 10 && l->segs[0]->idx_dirty);
    char crash[320], cmd[700], path[400];
    snprintf(crash, sizeof(crash), "%s-crash", g_dir);
    fs_remove_tree(crash);
    snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s'", g_dir, crash);
    CHECK_EQ_INT(system(cmd), 0);
    log_close(l);
    CHECK_EQ_INT(count_fds(), before);
    snprintf(path, sizeof(path), "%s/00000000000000000000.index", g_dir);
    CHECK_EQ_INT(file_size(path), (off_t)(nidx * 8)); /* written at close */
    if (CHECK(log_open(g_dir, "t-0", &c, true, 0, &l) == LOG_OK)) {
        CHECK_EQ_INT(l->segs[0]->nidx, nidx);
        CHECK_EQ_INT(count_records(l, 0), 1500);
        log_destroy(l);
    }
    if (CHECK(log_open(crash, "t-0", &c, false, 0, &l) == LOG_OK)) {
        CHECK_EQ_INT(l->log_end_offset, 1500);
        CHECK_EQ_INT(count_records(l, 0), 1500);
        CHECK_EQ_INT(l->segs[0]->nidx, nidx); /* rebuilt from the log */
        int64_t off, ts;
        CHECK_EQ_INT(log_offset_for_time(l, 5100, 1500, &off, &ts), LOG_OK);
        CHECK_EQ_INT(off, 500);
        log_destroy(l);
    }
}

static void test_fd_budget_with_many_segments(void)
{
    fresh_dir("fds");
    log_config c = cfg_default();
    c.segment_bytes = 512;
    plog *l = NULL;
    if (!CHECK(log_open(g_dir, "t-0", &c, false, 0, &l) == LOG_OK))
        return;
    for (int i = 0; i < 400; i++)
        append_batch(l, i * 2, 2, 100 + i);
    size_t nsegs = l->nsegs;
    CHECK(nsegs > 50);
    log_close(l);
    for (int clean = 0; clean <= 1; clean++) {
        int before = count_fds();
        if (!CHECK(log_open(g_dir, "t-0", &c, clean, 0, &l) == LOG_OK))
            return;
        int used = count_fds() - before;
        if (!CHECK(used <= (int)nsegs)) /* one per segment: the active one's log too */
            printf("  %d fds for %zu segments\n", used, nsegs);
        CHECK_EQ_INT(count_records(l, 0), 800);
        log_close(l);
    }
    if (CHECK(log_open(g_dir, "t-0", &c, true, 0, &l) == LOG_OK))
        log_destroy(l);
}

/* Appends one batch of `count` records of 200 bytes each (a batch past
 * LOG_ZERO_AHEAD_MAX_BATCH when count is 30). */
static int64_t append_big(plog *l, int count, int64_t ts)
{
    static char val[201];
    memset(val, 'z', 200);
    const char *vals[64];
    for (int i = 0; i < count && i < 64; i++)
        vals[i] = val;
    return append_values(l, vals, count < 64 ? count : 64, ts);
}

/* A copy of g_dir as a crash would leave it (the log still open), opened again. */
static plog *crash_copy(const char *crash, bool clean, const log_config *c)
{
    copy_as_crash(crash);
    plog *l = NULL;
    return log_open(crash, "t-0", c, clean, 0, &l) == LOG_OK ? l : NULL;
}

/* Zeros written ahead (log.h): a small append past the file's end writes LOG_ZERO_AHEAD
 * zeros after it and the appends after it overwrite them (the file's size stays); a crash
 * leaves them and the next open, clean or not, cuts them and keeps every batch; a roll cuts
 * the sealed segment back once it is synced, a close the active one, and a truncation takes
 * them with the tail; a big append overwrites zeros but writes none past them. */
static void test_zero_ahead(void)
{
    fresh_dir("zeroahead");
    log_config c = cfg_default();
    c.segment_bytes = 8192;
    plog *l = NULL;
    if (!CHECK(log_open(g_dir, "t-0", &c, false, 0, &l) == LOG_OK))
        return;
    l->zero_ahead = true;
    char seg0[400], crash[320];
    snprintf(seg0, sizeof(seg0), "%s/%020d.log", g_dir, 0);
    snprintf(crash, sizeof(crash), "%s-crash", g_dir);
    CHECK_EQ_INT(append_batch(l, 0, 4, 100), 0);
    segment *s = l->segs[0];
    uint64_t first = s->size;
    CHECK_EQ_INT(s->filled_end, first + LOG_ZERO_AHEAD);
    CHECK_EQ_INT(file_size(seg0), (off_t)(first + LOG_ZERO_AHEAD));
    CHECK_EQ_INT(append_batch(l, 4, 4, 101), 4);
    CHECK(s->size > first);
    CHECK_EQ_INT(file_size(seg0), (off_t)(first + LOG_ZERO_AHEAD)); /* overwritten in place */
    char crashed[400];
    snprintf(crashed, sizeof(crashed), "%s/%020d.log", crash, 0);
    for (int clean = 0; clean <= 1; clean++) {
        plog *cl = crash_copy(crash, clean, &c);
        if (CHECK(cl != NULL)) {
            CHECK_EQ_INT(cl->log_end_offset, 8);
            CHECK_EQ_INT(count_records(cl, 0), 8);
            CHECK_EQ_INT(file_size(crashed), (off_t)s->size);
            CHECK_EQ_INT(append_batch(cl, 8, 4, 102), 8); /* and it goes on */
            log_destroy(cl);
        }
    }

    int i = 2;
    i = append_until_segs(l, i, 2);
    if (!CHECK_EQ_INT(l->nsegs, 2))
        return;
    CHECK(file_size(seg0) > (off_t)l->segs[0]->size); /* until its sync */
    CHECK_EQ_INT(log_flush_sync(l), LOG_OK);
    CHECK_EQ_INT(file_size(seg0), (off_t)l->segs[0]->size);
    segment *act = l->segs[1];
    char seg1[400];
    snprintf(seg1, sizeof(seg1), "%s/%020lld.log", g_dir, (long long)act->base_offset);
    CHECK_EQ_INT(file_size(seg1), (off_t)(act->size + LOG_ZERO_AHEAD));
    int64_t end = l->log_end_offset;
    log_close(l);
    if (!CHECK(log_open(g_dir, "t-0", &c, true, 0, &l) == LOG_OK))
        return;
    l->zero_ahead = true;
    act = l->segs[l->nsegs - 1];
    snprintf(seg1, sizeof(seg1), "%s/%020lld.log", g_dir, (long long)act->base_offset);
    CHECK_EQ_INT(file_size(seg1), (off_t)act->size); /* the close cut them */
    CHECK_EQ_INT(l->log_end_offset, end);
    CHECK_EQ_INT(append_batch(l, 0, 4, 300), end);
    CHECK_EQ_INT(file_size(seg1), (off_t)(act->size + LOG_ZERO_AHEAD));
    CHECK_EQ_INT(log_truncate(l, end), LOG_OK);
    CHECK_EQ_INT(l->log_end_offset, end);
    CHECK_EQ_INT(file_size(seg1), (off_t)act->size);
    CHECK_EQ_INT(act->filled_end, 0);
    CHECK_EQ_INT(append_batch(l, 0, 4, 301), end); /* fills again */
    CHECK_EQ_INT(file_size(seg1), (off_t)(act->size + LOG_ZERO_AHEAD));
    log_destroy(l);
    fs_remove_tree(crash);

    /* A big append into the zeros overwrites them; one past their end writes none. */
    fresh_dir("zeroahead-big");
    snprintf(seg0, sizeof(seg0), "%s/%020d.log", g_dir, 0);
    if (!CHECK((l = open_log(false)) != NULL))
        return;
    l->zero_ahead = true;
    CHECK_EQ_INT(append_batch(l, 0, 4, 100), 0);
    s = l->segs[0];
    end = 4;
    for (int n = 0; n < 20 && s->size + 6500 < s->filled_end; n++, end += 30)
        CHECK_EQ_INT(append_big(l, 30, 200), end);
    CHECK_EQ_INT(file_size(seg0), (off_t)s->filled_end);
    CHECK_EQ_INT(append_big(l, 30, 200), end);
    CHECK_EQ_INT(file_size(seg0), (off_t)s->size);
    CHECK(s->filled_end < s->size);
    CHECK_EQ_INT(count_records(l, 0), end + 30);
    log_destroy(l);
}

TU_MAIN(TU_CASE(test_zero_ahead), TU_CASE(test_roll_by_time_syncs), TU_CASE(test_roll_fails_whole_without_descriptors),
        TU_CASE(test_roll_leaves_old_segment_to_flush),
        TU_CASE(test_retention_waits_for_unsynced),
        TU_CASE(test_second_roll_syncs_the_first), TU_CASE(test_crash_cuts_unsynced_segment),
        TU_CASE(test_cut_with_roll_writes_outstanding),
        TU_CASE(test_active_segment_one_fd), TU_CASE(test_read_span_matches_read),
        TU_CASE(test_fd_budget_with_many_segments), TU_CASE(test_fsync_failure_latches),
        TU_CASE(test_append_read_roundtrip), TU_CASE(test_roll_and_reopen),
        TU_CASE(test_torn_tail_every_cut), TU_CASE(test_garbage_appended),
        TU_CASE(test_index_rebuilt_when_missing_or_corrupt), TU_CASE(test_offset_for_time),
        TU_CASE(test_retention_and_delete_records), TU_CASE(test_log_append_time),
        TU_CASE(test_max_timestamp))
