/* test_storage_compact.c - log compaction (storage/compact.h) on real logs in a temp
 * directory: what a pass keeps (the latest record per key, tombstones until
 * delete.retention.ms after their segment was first cleaned, no aborted record, markers
 * while a read_committed reader needs them), what it may touch (closed segments below the
 * last stable offset and the high watermark), that offsets, batch headers and CRCs stay
 * right and the log read API returns what is expected, that a reopened log (producer state
 * replayed from the cleaned log included) and an interrupted swap recover, and that a pass
 * running in the worker pool is discarded when the log changes under it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "base/buf.h"
#include "base/crc32c.h"
#include "base/fsutil.h"
#include "proto/compress.h"
#include "proto/errors.h"
#include "proto/record.h"
#include "storage/compact.h"
#include "storage/log.h"
#include "testutil.h"

static char g_dir[256];
static int64_t g_now = 1000000;

#define RETENTION_MS 1000

static log_config cfg_compact(void)
{
    log_config c = {.segment_bytes = 1 << 20,
                    .segment_ms = -1,
                    .retention_bytes = -1,
                    .retention_ms = -1,
                    .index_interval_bytes = 64,
                    .compact = true,
                    .delete_retention_ms = RETENTION_MS,
                    .min_compaction_lag_ms = 0,
                    .max_compaction_lag_ms = INT64_MAX,
                    .min_cleanable_ratio = 0.5};
    return c;
}

static plog *fresh_log(const char *name)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/brook-unit-%d-cmp-%s", (int)getpid(), name);
    fs_remove_tree(g_dir);
    log_config c = cfg_compact();
    plog *l = NULL;
    if (log_open(g_dir, "t-0", &c, false, g_now, &l) != LOG_OK)
        return NULL;
    return l;
}

/* A batch of n records (keys[i], vals[i]; NULL value: a tombstone) from producer pid
 * (-1: none) at seq, transactional when txn; appended as the leader. Its base offset. */
static int64_t put_n(plog *l, int n, const char *const *keys, const char *const *vals,
                     int64_t pid, int32_t seq, bool txn)
{
    uint8_t *b;
    size_t len = rb_build_simple(&b, n, keys, vals, g_now);
    if (pid >= 0) {
        be64_put(b + RB_OFF_PRODUCER_ID, (uint64_t)pid);
        be16_put(b + RB_OFF_PRODUCER_EPOCH, 0);
        be32_put(b + RB_OFF_BASE_SEQUENCE, (uint32_t)seq);
        if (txn)
            be16_put(b + RB_OFF_ATTRIBUTES, RB_ATTR_TRANSACTIONAL);
        be32_put(b + RB_OFF_CRC, crc32c(0, b + RB_OFF_ATTRIBUTES, len - RB_OFF_ATTRIBUTES));
    }
    rb_header h;
    int64_t base = -1;
    int rc = rb_validate(b, len, &h) == RB_OK ? log_append(l, b, len, &h, g_now, &base) : -100;
    free(b);
    return rc == LOG_OK ? base : rc;
}

static int64_t put(plog *l, const char *key, const char *val)
{
    return put_n(l, 1, &key, &val, -1, 0, false);
}

/* Closes the active segment (a roll by time). */
static void roll(plog *l)
{
    int64_t ms = l->cfg.segment_ms;
    l->cfg.segment_ms = 1;
    l->segs[l->nsegs - 1]->created_ms = 0;
    log_maybe_roll_by_time(l, g_now);
    l->cfg.segment_ms = ms;
}

typedef struct rec {
    int64_t offset;
    char key[24], val[24];
    bool null_val, control;
    int64_t pid;
} rec;

typedef struct readback {
    rec r[256];
    int n;
    int batches;
    int empty_batches; /* a producer's, kept for its sequence */
    int fillers;       /* standing for runs of removed batches */
    bool ok; /* every batch checked out: CRC, each starting right after the one before,
              * its records inside it in increasing order */
} readback;

/* Reads the whole log with log_read, as a fetch does. */
static void read_all(plog *l, readback *rb)
{
    memset(rb, 0, sizeof(*rb));
    rb->ok = true;
    arena a;
    arena_init(&a);
    int64_t next = l->log_start_offset, prev_last = -1;
    for (int guard = 0; guard < 10000 && next < l->log_end_offset && rb->ok; guard++) {
        uint8_t *data;
        size_t len;
        if (log_read(l, next, l->log_end_offset, 1 << 16, true, &a, &data, &len) != LOG_OK ||
            len == 0) {
            rb->ok = false;
            break;
        }
        for (size_t off = 0; off < len && rb->ok;) {
            rb_header h;
            size_t total;
            if (rb_check_stored(data + off, len - off, &h, &total) != RB_OK ||
                (prev_last >= 0 && h.base_offset != prev_last + 1)) {
                rb->ok = false;
                break;
            }
            rb->batches++;
            rb->empty_batches += h.records_count == 0 && h.producer_id >= 0;
            rb->fillers += h.records_count == 0 && h.producer_id < 0;
            if (h.attributes & RB_ATTR_CONTROL) {
                rec *r = &rb->r[rb->n++];
                memset(r, 0, sizeof(*r));
                r->offset = h.base_offset;
                r->control = true;
                r->pid = h.producer_id;
            } else {
                uint8_t *plain = NULL;
                size_t plen = total - RB_HEADER_SIZE;
                const uint8_t *sec = data + off + RB_HEADER_SIZE;
                int codec = h.attributes & RB_ATTR_CODEC_MASK;
                if (codec && h.records_count > 0) {
                    if (rb_codec_decompress(codec, sec, plen, 1 << 20, &plain, &plen) != 0) {
                        rb->ok = false;
                        break;
                    }
                    sec = plain;
                }
                rb_iter it;
                rb_iter_init_records(&it, &h, sec, plen);
                rb_record rr;
                int64_t prev = -1;
                while (rb_iter_next(&it, &rr) == 1 && rb->n < 256) {
                    if (rr.offset <= prev || rr.offset < h.base_offset ||
                        rr.offset > rb_last_offset(&h))
                        rb->ok = false;
                    prev = rr.offset;
                    rec *r = &rb->r[rb->n++];
                    memset(r, 0, sizeof(*r));
                    r->offset = rr.offset;
                    r->pid = h.producer_id;
                    snprintf(r->key, sizeof(r->key), "%.*s", rr.key_len > 0 ? rr.key_len : 0,
                             rr.key ? (const char *)rr.key : "");
                    r->null_val = rr.value == NULL;
                    snprintf(r->val, sizeof(r->val), "%.*s",
                             rr.value_len > 0 ? rr.value_len : 0,
                             rr.value ? (const char *)rr.value : "");
                }
                free(plain);
            }
            prev_last = rb_last_offset(&h);
            next = prev_last + 1;
            off += total;
        }
    }
    arena_free(&a);
}

/* The data record at offset, or NULL. */
static const rec *find_off(const readback *rb, int64_t offset)
{
    for (int i = 0; i < rb->n; i++)
        if (rb->r[i].offset == offset && !rb->r[i].control)
            return &rb->r[i];
    return NULL;
}

static int count_key(const readback *rb, const char *key)
{
    int n = 0;
    for (int i = 0; i < rb->n; i++)
        n += !rb->r[i].control && strcmp(rb->r[i].key, key) == 0;
    return n;
}

static int count_controls(const readback *rb)
{
    int n = 0;
    for (int i = 0; i < rb->n; i++)
        n += rb->r[i].control;
    return n;
}

static bool file_exists(const char *name)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", g_dir, name);
    return access(p, F_OK) == 0;
}

static int count_tmp_files(void)
{
    DIR *d = opendir(g_dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".cleaned") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* ------------------------------------------------------------------ */

static void test_latest_per_key_offsets_and_crc(void)
{
    plog *l = fresh_log("latest");
    if (!CHECK(l))
        return;
    char v[16];
    int64_t last_a = -1, last_b = -1, last_c = -1;
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 5; i++) {
            snprintf(v, sizeof(v), "a%d", round * 5 + i);
            last_a = put(l, "a", v);
            snprintf(v, sizeof(v), "b%d", round * 5 + i);
            last_b = put(l, "b", v);
        }
        if (round == 1)
            last_c = put(l, "c", "c-only");
        roll(l);
    }
    /* A batch of three records [a, b, a] in one closed segment: its header must stay. */
    const char *k3[] = {"d", "e", "d"}, *v3[] = {"d1", "e1", "d2"};
    int64_t b3 = put_n(l, 3, k3, v3, -1, 0, false);
    roll(l);
    put(l, "a", "active-1"); /* the active segment is never cleaned */
    put(l, "a", "active-2");
    uint64_t size_before = log_size_bytes(l);
    size_t nsegs = l->nsegs;
    compact_stats st;
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now, 1 << 20, &st), 0);
    CHECK_EQ_INT(st.passes, 1);
    CHECK(st.records_removed == 19 + 19 + 1); /* a and b: all but one each; d1 */
    CHECK(log_size_bytes(l) < size_before);
    CHECK_EQ_INT(l->nsegs, nsegs); /* every segment keeps its last batch */
    readback rb;
    read_all(l, &rb);
    CHECK(rb.ok);
    CHECK_EQ_INT(count_key(&rb, "b"), 1);
    CHECK_EQ_INT(count_key(&rb, "c"), 1);
    CHECK_EQ_INT(count_key(&rb, "a"), 3); /* the latest closed one + the two active ones */
    const rec *r = find_off(&rb, last_b);
    CHECK(r && strcmp(r->val, "b19") == 0);
    r = find_off(&rb, last_c);
    CHECK(r && strcmp(r->val, "c-only") == 0);
    r = find_off(&rb, last_a);
    CHECK(r && strcmp(r->val, "a19") == 0);
    CHECK(find_off(&rb, b3) == NULL);
    r = find_off(&rb, b3 + 1);
    CHECK(r && strcmp(r->val, "e1") == 0);
    r = find_off(&rb, b3 + 2);
    CHECK(r && strcmp(r->val, "d2") == 0);
    /* The rewritten batch keeps its base offset and last offset delta, CRC recomputed. */
    arena a;
    arena_init(&a);
    uint8_t *data;
    size_t len;
    CHECK_EQ_INT(log_read(l, b3, l->log_end_offset, 1, true, &a, &data, &len), LOG_OK);
    rb_header h;
    size_t total;
    if (CHECK(len > 0 && rb_check_stored(data, len, &h, &total) == RB_OK)) {
        CHECK_EQ_INT(h.base_offset, b3);
        CHECK_EQ_INT(h.last_offset_delta, 2);
        CHECK_EQ_INT(h.records_count, 2);
    }
    /* Reading from an offset whose record is gone gives the empty batch covering it. */
    CHECK_EQ_INT(log_read(l, 1, l->log_end_offset, 1 << 16, true, &a, &data, &len), LOG_OK);
    CHECK(len > 0 && rb_check_stored(data, len, &h, &total) == RB_OK && h.base_offset <= 1 &&
          rb_last_offset(&h) >= 1 && h.records_count == 0);
    CHECK(rb.fillers > 0);
    arena_free(&a);
    CHECK(file_exists("cleaner-state"));
    CHECK_EQ_INT(count_tmp_files(), 0);
    /* A second pass has nothing left to remove. */
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now, 1 << 20, &st), 0);
    CHECK_EQ_INT(st.records_removed, 0);
    CHECK_EQ_INT(st.segments_rewritten, 0);
    log_destroy(l);
}

static void test_tombstones_expire(void)
{
    plog *l = fresh_log("tomb");
    if (!CHECK(l))
        return;
    put(l, "a", "1");
    int64_t tomb = put(l, "a", NULL);
    int64_t kb = put(l, "b", "1");
    roll(l);
    put(l, "z", "active");
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now, 1 << 20, NULL), 0);
    readback rb;
    read_all(l, &rb);
    CHECK(rb.ok);
    CHECK_EQ_INT(count_key(&rb, "a"), 1); /* the older value went, the tombstone stays */
    const rec *r = find_off(&rb, tomb);
    CHECK(r && r->null_val);
    /* Just before delete.retention.ms after the segment was first cleaned: still there. */
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now + RETENTION_MS - 1, 1 << 20, NULL),
                 0);
    read_all(l, &rb);
    CHECK(find_off(&rb, tomb) != NULL);
    compact_stats st;
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now + RETENTION_MS, 1 << 20, &st), 0);
    CHECK_EQ_INT(st.records_removed, 1);
    read_all(l, &rb);
    CHECK(rb.ok);
    CHECK_EQ_INT(count_key(&rb, "a"), 0);
    CHECK(find_off(&rb, kb) != NULL);
    /* The segment's first-cleaned time survives in cleaner-state across a reopen. */
    cmp_state s;
    char path[512], *text = NULL;
    snprintf(path, sizeof(path), "%s/cleaner-state", g_dir);
    if (CHECK(fs_read_all(path, &text, NULL) == 0) && CHECK(cmp_state_parse(text, &s) == 0)) {
        CHECK_EQ_INT(s.nsegs, 1);
        CHECK_EQ_INT(s.segs[0].ms, g_now);
        CHECK_EQ_INT(s.first_dirty, l->segs[1]->base_offset);
        cmp_state_free(&s);
    }
    free(text);
    log_destroy(l);
}

/* A new tombstone in a segment cleaned for the first time is kept for the whole
 * retention from that pass, however old the segment. */
static void test_tombstone_clock_starts_at_first_clean(void)
{
    plog *l = fresh_log("tomb2");
    if (!CHECK(l))
        return;
    int64_t tomb = put(l, "x", NULL);
    roll(l);
    put(l, "z", "active");
    int64_t t1 = g_now + 10 * RETENTION_MS;
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, t1, 1 << 20, NULL), 0);
    readback rb;
    read_all(l, &rb);
    CHECK(find_off(&rb, tomb) != NULL);
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, t1 + RETENTION_MS, 1 << 20, NULL), 0);
    read_all(l, &rb);
    CHECK(find_off(&rb, tomb) == NULL);
    log_destroy(l);
}

/* A tombstone goes only as its key's last record: with delete.retention.ms long past for
 * its segment (the state says so) but an older value still in the range, the pass removes
 * the value and keeps the tombstone; the next removes it. So no crash between two
 * segments' swaps can leave the older value without its tombstone. */
static void test_tombstone_outlives_older_values(void)
{
    plog *l = fresh_log("tomb3");
    if (!CHECK(l))
        return;
    int64_t old = put(l, "a", "old");
    roll(l);
    int64_t tomb = put(l, "a", NULL);
    roll(l);
    put(l, "z", "active");
    char text[256];
    snprintf(text, sizeof(text), "brook-cleaner-state 1\nfirst-dirty %lld\ndue 0\n"
             "segment %lld 1\nsegment %lld 1\n", (long long)l->segs[2]->base_offset,
             (long long)l->segs[0]->base_offset, (long long)l->segs[1]->base_offset);
    char path[512];
    snprintf(path, sizeof(path), "%s/cleaner-state", g_dir);
    CHECK_EQ_INT(fs_write_atomic(path, text, strlen(text)), 0);
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now, 1 << 20, NULL), 0);
    readback rb;
    read_all(l, &rb);
    CHECK(find_off(&rb, old) == NULL);
    CHECK(find_off(&rb, tomb) != NULL);
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now, 1 << 20, NULL), 0);
    read_all(l, &rb);
    CHECK(rb.ok && count_key(&rb, "a") == 0);
    log_destroy(l);
}

/* With delete.retention.ms 0 a marker still outlives the pass that removes its
 * transaction's records: it goes in the next one. */
static void test_marker_outlives_its_records_pass(void)
{
    plog *l = fresh_log("txn0");
    if (!CHECK(l))
        return;
    l->cfg.delete_retention_ms = 0;
    const char *k[] = {"k"}, *v[] = {"aborted"};
    put_n(l, 1, k, v, 8, 0, true);
    int64_t m;
    CHECK_EQ_INT(log_append_marker(l, 8, 0, false, 0, g_now, &m), LOG_OK);
    put_n(l, 1, k, v, 8, 1, false); /* producer 8's last batch and marker come later */
    int64_t m2;
    const char *k2[] = {"q"}, *v2[] = {"c"};
    put_n(l, 1, k2, v2, 8, 2, true);
    CHECK_EQ_INT(log_append_marker(l, 8, 0, true, 0, g_now, &m2), LOG_OK);
    roll(l);
    put(l, "z", "active");
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now, 1 << 20, NULL), 0);
    readback rb;
    read_all(l, &rb);
    CHECK_EQ_INT(count_controls(&rb), 2);
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now, 1 << 20, NULL), 0);
    read_all(l, &rb);
    CHECK(rb.ok);
    CHECK_EQ_INT(count_controls(&rb), 1);
    arena a;
    arena_init(&a);
    aborted_txn *abs;
    size_t nab;
    CHECK_EQ_INT(log_aborted_between(l, 0, l->log_end_offset, &a, &abs, &nab), LOG_OK);
    CHECK_EQ_INT(nab, 0);
    arena_free(&a);
    log_destroy(l);
}

static void test_aborted_records_and_markers(void)
{
    plog *l = fresh_log("txn");
    if (!CHECK(l))
        return;
    int64_t before = put(l, "k4", "before"); /* an aborted value must not supersede it */
    const char *k1[] = {"k1", "k2", "k4"}, *v1[] = {"aborted-1", "aborted-2", "aborted-4"};
    int64_t ab = put_n(l, 3, k1, v1, 5, 0, true);
    int64_t abort_marker;
    CHECK_EQ_INT(log_append_marker(l, 5, 0, false, 0, g_now, &abort_marker), LOG_OK);
    const char *k2[] = {"k1"}, *v2[] = {"committed-5"};
    int64_t c5 = put_n(l, 1, k2, v2, 5, 3, true);
    int64_t commit5;
    CHECK_EQ_INT(log_append_marker(l, 5, 0, true, 0, g_now, &commit5), LOG_OK);
    const char *k3[] = {"k3"}, *v3[] = {"plain"};
    put_n(l, 1, k3, v3, -1, 0, false);
    roll(l);
    put(l, "z", "active");
    aborted_txn *abs;
    size_t nab;
    arena a;
    arena_init(&a);
    CHECK_EQ_INT(log_aborted_between(l, 0, l->log_end_offset, &a, &abs, &nab), LOG_OK);
    CHECK_EQ_INT(nab, 1);

    /* Pass 1: the aborted records go at once; their ABORT marker (and its index entry)
     * stays: the transaction had records when the pass began. */
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now, 1 << 20, NULL), 0);
    readback rb;
    read_all(l, &rb);
    CHECK(rb.ok);
    CHECK(find_off(&rb, ab) == NULL && find_off(&rb, ab + 1) == NULL);
    CHECK_EQ_INT(count_key(&rb, "k2"), 0);
    const rec *r4 = find_off(&rb, before);
    CHECK(r4 && strcmp(r4->val, "before") == 0);
    CHECK_EQ_INT(count_key(&rb, "k4"), 1);
    const rec *r = find_off(&rb, c5);
    CHECK(r && strcmp(r->val, "committed-5") == 0);
    CHECK_EQ_INT(count_controls(&rb), 2);
    CHECK_EQ_INT(log_aborted_between(l, 0, l->log_end_offset, &a, &abs, &nab), LOG_OK);
    CHECK_EQ_INT(nab, 1);

    /* Before delete.retention.ms from then: still there. */
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now + RETENTION_MS - 1, 1 << 20, NULL),
                 0);
    read_all(l, &rb);
    CHECK_EQ_INT(count_controls(&rb), 2);

    /* After it: the ABORT marker goes with its index entry; the COMMIT marker, the
     * producer's last and closing a transaction whose record is still there, stays. */
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now + RETENTION_MS, 1 << 20, NULL), 0);
    read_all(l, &rb);
    CHECK(rb.ok);
    CHECK_EQ_INT(count_controls(&rb), 1);
    bool commit_there = false;
    for (int i = 0; i < rb.n; i++)
        commit_there = commit_there || (rb.r[i].control && rb.r[i].offset == commit5);
    CHECK(commit_there);
    CHECK_EQ_INT(log_aborted_between(l, 0, l->log_end_offset, &a, &abs, &nab), LOG_OK);
    CHECK_EQ_INT(nab, 0);
    arena_free(&a);

    /* After a reopen (the .txnindex files are what old segments' aborted ranges come from)
     * nothing aborted comes back. */
    log_close(l);
    log_config c = cfg_compact();
    l = NULL;
    if (!CHECK(log_open(g_dir, "t-0", &c, true, g_now, &l) == LOG_OK))
        return;
    arena_init(&a);
    CHECK_EQ_INT(log_aborted_between(l, 0, l->log_end_offset, &a, &abs, &nab), LOG_OK);
    CHECK_EQ_INT(nab, 0);
    arena_free(&a);
    read_all(l, &rb);
    CHECK(rb.ok && find_off(&rb, c5) != NULL);
    log_destroy(l);
}

/* A transaction whose data stays (its producer's last batch) keeps its marker. */
static void test_marker_kept_with_its_data(void)
{
    plog *l = fresh_log("txn2");
    if (!CHECK(l))
        return;
    const char *k[] = {"k"}, *v[] = {"aborted"};
    put_n(l, 1, k, v, 7, 0, true);
    int64_t m;
    CHECK_EQ_INT(log_append_marker(l, 7, 0, false, 0, g_now, &m), LOG_OK);
    roll(l);
    put(l, "z", "active");
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now + i * 10 * RETENTION_MS,
                                      1 << 20, NULL), 0);
    readback rb;
    read_all(l, &rb);
    CHECK(rb.ok);
    CHECK_EQ_INT(count_key(&rb, "k"), 0);  /* the aborted record is gone... */
    CHECK_EQ_INT(rb.empty_batches, 1);     /* ...its batch stays empty (producer 7's last) */
    CHECK_EQ_INT(rb.fillers, 0);
    CHECK_EQ_INT(count_controls(&rb), 1);  /* so its marker stays too */
    arena a;
    arena_init(&a);
    aborted_txn *abs;
    size_t nab;
    CHECK_EQ_INT(log_aborted_between(l, 0, l->log_end_offset, &a, &abs, &nab), LOG_OK);
    CHECK_EQ_INT(nab, 1);
    arena_free(&a);
    log_destroy(l);
}

static void test_bounds_lso_hw_active_lag(void)
{
    plog *l = fresh_log("bound");
    if (!CHECK(l))
        return;
    put(l, "a", "1");
    put(l, "a", "2");
    roll(l); /* segment 0: closed, all stable */
    const char *k[] = {"a"}, *v[] = {"open"};
    int64_t open_off = put_n(l, 1, k, v, 9, 0, true); /* an open transaction */
    put(l, "b", "1");
    put(l, "b", "2");
    roll(l); /* segment 1: holds the open transaction */
    put(l, "c", "1");
    put(l, "c", "2");
    roll(l); /* segment 2: closed, above the open transaction */
    put(l, "a", "active");
    cmp_plan plan;
    cmp_plan_log(l, l->log_end_offset, g_now, &plan);
    CHECK_EQ_INT(plan.bound, open_off);
    CHECK_EQ_INT(plan.nsegs, 1);
    /* The high watermark bounds too. */
    cmp_plan_log(l, 1, g_now, &plan);
    CHECK_EQ_INT(plan.nsegs, 0);
    /* A pass now leaves segments 1 and 2 alone. */
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now, 1 << 20, NULL), 0);
    readback rb;
    read_all(l, &rb);
    CHECK_EQ_INT(count_key(&rb, "b"), 2);
    CHECK_EQ_INT(count_key(&rb, "c"), 2);
    CHECK(find_off(&rb, open_off) != NULL);
    /* Once the transaction commits, everything closed may be cleaned, never the active. */
    int64_t m;
    CHECK_EQ_INT(log_append_marker(l, 9, 0, true, 0, g_now, &m), LOG_OK);
    roll(l);
    put(l, "d", "active");
    cmp_plan_log(l, l->log_end_offset, g_now, &plan);
    CHECK_EQ_INT(plan.nsegs, l->nsegs - 1);
    CHECK_EQ_INT(plan.bound, l->segs[l->nsegs - 1]->base_offset);
    /* min.compaction.lag.ms: segments whose records are too young are left. */
    l->cfg.min_compaction_lag_ms = 10;
    cmp_plan_log(l, l->log_end_offset, g_now + 5, &plan);
    CHECK_EQ_INT(plan.nsegs, 0);
    cmp_plan_log(l, l->log_end_offset, g_now + 10, &plan);
    CHECK_EQ_INT(plan.nsegs, l->nsegs - 1);
    l->cfg.min_compaction_lag_ms = 0;
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now, 1 << 20, NULL), 0);
    read_all(l, &rb);
    CHECK(rb.ok);
    CHECK_EQ_INT(count_key(&rb, "b"), 1);
    CHECK_EQ_INT(count_key(&rb, "c"), 1);
    CHECK_EQ_INT(count_key(&rb, "a"), 1); /* "active" only: "open" was superseded */
    /* A log that is not compacted is never planned. */
    l->cfg.compact = false;
    cmp_plan_log(l, l->log_end_offset, g_now, &plan);
    CHECK_EQ_INT(plan.nsegs, 0);
    log_destroy(l);
}

/* The dirty ratio decides whether a pass is wanted; a pass makes its range clean. */
static void test_plan_dirty_ratio(void)
{
    plog *l = fresh_log("ratio");
    if (!CHECK(l))
        return;
    put(l, "a", "1");
    roll(l);
    put(l, "a", "2");
    cmp_plan plan;
    cmp_plan_log(l, l->log_end_offset, g_now, &plan);
    CHECK(plan.nsegs == 1 && plan.priority > 0.99); /* never cleaned: all dirty */
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now, 1 << 20, NULL), 0);
    cmp_plan_log(l, l->log_end_offset, g_now, &plan);
    CHECK(plan.nsegs == 1 && plan.dirty_bytes == 0 && plan.priority == 0);
    roll(l);
    put(l, "a", "3");
    cmp_plan_log(l, l->log_end_offset, g_now, &plan);
    CHECK(plan.nsegs == 2 && plan.dirty_bytes > 0 && plan.priority > 0);
    l->cfg.min_cleanable_ratio = 0.99;
    cmp_plan_log(l, l->log_end_offset, g_now, &plan);
    CHECK(plan.priority == 0);
    log_destroy(l);
}

/* A producer whose records were all superseded keeps its last batch (emptied), so the
 * producer state replayed from the cleaned log still knows its sequence. */
static void test_producer_state_survives_replay(void)
{
    plog *l = fresh_log("pid");
    if (!CHECK(l))
        return;
    const char *k[] = {"a"}, *v0[] = {"p0"}, *v1[] = {"p1"};
    put_n(l, 1, k, v0, 3, 0, false);
    put_n(l, 1, k, v1, 3, 1, false);
    put(l, "a", "plain");
    roll(l);
    put(l, "z", "active");
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now, 1 << 20, NULL), 0);
    readback rb;
    read_all(l, &rb);
    CHECK(rb.ok);
    CHECK_EQ_INT(count_key(&rb, "a"), 1);
    CHECK_EQ_INT(rb.empty_batches, 1);
    log_close(l);
    char path[512];
    snprintf(path, sizeof(path), "%s/producer.snapshot", g_dir);
    CHECK_EQ_INT(unlink(path), 0); /* the whole log is replayed */
    snprintf(path, sizeof(path), "%s/producer.snapshot.prev", g_dir);
    unlink(path); /* (kept by a roll, if there was one) */
    log_config c = cfg_compact();
    l = NULL;
    if (!CHECK(log_open(g_dir, "t-0", &c, false, g_now, &l) == LOG_OK))
        return;
    uint8_t *b;
    size_t len = rb_build_simple(&b, 1, k, v0, g_now);
    be64_put(b + RB_OFF_PRODUCER_ID, 3);
    be16_put(b + RB_OFF_PRODUCER_EPOCH, 0);
    be32_put(b + RB_OFF_BASE_SEQUENCE, 2);
    rb_header h;
    CHECK_EQ_INT(rb_parse_header(b, len, &h), RB_OK);
    int64_t dup;
    int16_t err = 0;
    CHECK_EQ_INT(log_producer_check(l, &h, false, &dup, &err), PS_APPEND);
    h.base_sequence = 5;
    CHECK_EQ_INT(log_producer_check(l, &h, false, &dup, &err), PS_REJECT);
    CHECK_EQ_INT(err, KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    free(b);
    log_destroy(l);
}

static void test_compressed_batches(void)
{
    plog *l = fresh_log("gzip");
    if (!CHECK(l))
        return;
    const char *k[] = {"a", "b", "a"}, *v[] = {"1", "1", "2"};
    uint8_t *b, *gz;
    size_t len = rb_build_simple(&b, 3, k, v, g_now), gzlen;
    if (!CHECK(rb_recompress(b, len, RB_CODEC_GZIP, 1 << 20, &gz, &gzlen) == 0)) {
        free(b);
        log_destroy(l);
        return;
    }
    rb_header h;
    int64_t base;
    CHECK_EQ_INT(rb_validate(gz, gzlen, &h), RB_OK);
    CHECK_EQ_INT(log_append(l, gz, gzlen, &h, g_now, &base), LOG_OK);
    free(b);
    free(gz);
    roll(l);
    put(l, "z", "active");
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now, 1 << 20, NULL), 0);
    readback rb;
    read_all(l, &rb);
    CHECK(rb.ok);
    CHECK_EQ_INT(count_key(&rb, "a"), 1);
    const rec *r = find_off(&rb, base + 2);
    CHECK(r && strcmp(r->val, "2") == 0);
    arena a;
    arena_init(&a);
    uint8_t *data;
    size_t dlen;
    CHECK_EQ_INT(log_read(l, base, l->log_end_offset, 1, true, &a, &data, &dlen), LOG_OK);
    size_t total;
    if (CHECK(dlen > 0 && rb_check_stored(data, dlen, &h, &total) == RB_OK)) {
        CHECK_EQ_INT(h.attributes & RB_ATTR_CODEC_MASK, RB_CODEC_GZIP);
        CHECK_EQ_INT(h.records_count, 2);
        CHECK_EQ_INT(h.last_offset_delta, 2);
    }
    arena_free(&a);
    log_destroy(l);
}

/* Reopening a cleaned log, after a clean stop and after a crash, gives the same records. */
static void test_reopen(void)
{
    plog *l = fresh_log("reopen");
    if (!CHECK(l))
        return;
    char v[16];
    for (int i = 0; i < 40; i++) {
        snprintf(v, sizeof(v), "v%d", i);
        put(l, i % 2 ? "odd" : "even", v);
        if (i % 10 == 9)
            roll(l);
    }
    put(l, "z", "active");
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now, 1 << 20, NULL), 0);
    readback before, after;
    read_all(l, &before);
    CHECK(before.ok && before.n == 3);
    for (int clean = 1; clean >= 0; clean--) {
        log_close(l);
        log_config c = cfg_compact();
        l = NULL;
        if (!CHECK(log_open(g_dir, "t-0", &c, clean, g_now, &l) == LOG_OK))
            return;
        read_all(l, &after);
        CHECK(after.ok);
        CHECK_EQ_INT(after.n, before.n);
        for (int i = 0; i < after.n && i < before.n; i++) {
            CHECK_EQ_INT(after.r[i].offset, before.r[i].offset);
            CHECK_EQ_STR(after.r[i].val, before.r[i].val);
        }
    }
    log_destroy(l);
}

/* compact,delete: retention still drops whole old segments of a compacted log, and the
 * cleaner goes on over what is left. */
static void test_compact_and_delete(void)
{
    plog *l = fresh_log("cd");
    if (!CHECK(l))
        return;
    for (int i = 0; i < 4; i++) {
        put(l, "a", "old");
        put(l, "b", "old");
        roll(l);
    }
    put(l, "a", "new");
    roll(l);
    put(l, "z", "active");
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now, 1 << 20, NULL), 0);
    int64_t second = l->segs[1]->base_offset;
    l->cfg.retention_ms = 10;
    for (size_t i = 0; i + 1 < l->nsegs; i++)
        l->segs[i]->max_ts = i < 1 ? g_now - 100 : g_now; /* only the first is old */
    CHECK_EQ_INT(log_apply_retention(l, g_now), 1);
    CHECK_EQ_INT(l->log_start_offset, second);
    put(l, "b", "newer");
    roll(l);
    put(l, "z", "active2");
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now, 1 << 20, NULL), 0);
    readback rb;
    read_all(l, &rb);
    CHECK(rb.ok);
    CHECK_EQ_INT(count_key(&rb, "a"), 1);
    CHECK_EQ_INT(count_key(&rb, "b"), 1);
    const rec *r = NULL;
    for (int i = 0; i < rb.n; i++)
        if (strcmp(rb.r[i].key, "b") == 0)
            r = &rb.r[i];
    CHECK(r && strcmp(r->val, "newer") == 0);
    log_destroy(l);
}

static void write_file(const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", g_dir, name);
    fs_write_atomic(p, text, strlen(text));
}

static char *read_file(const char *name)
{
    char p[512], *t = NULL;
    snprintf(p, sizeof(p), "%s/%s", g_dir, name);
    return fs_read_all(p, &t, NULL) == 0 ? t : NULL;
}

/* An interrupted swap: with its .log.cleaned still there the segment is undone (the old
 * files untouched); without, its companions are renamed in. */
static void test_recover_interrupted_swap(void)
{
    plog *l = fresh_log("recover");
    if (!CHECK(l))
        return;
    put(l, "a", "1");
    put(l, "a", "2");
    roll(l);
    put(l, "b", "1");
    roll(l);
    put(l, "z", "active");
    readback before;
    read_all(l, &before);
    int64_t s0 = l->segs[0]->base_offset, s1 = l->segs[1]->base_offset;
    log_close(l);
    char n0[64], n1[64];
    snprintf(n0, sizeof(n0), "%020lld.log.cleaned", (long long)s0);
    write_file(n0, "garbage that must never become a segment");
    snprintf(n0, sizeof(n0), "%020lld.index.cleaned", (long long)s0);
    write_file(n0, "x");
    snprintf(n1, sizeof(n1), "%020lld.txnindex.cleaned", (long long)s1);
    write_file(n1, ""); /* segment 1 was committed: its (empty) aborted index comes in */
    write_file("cleaner-state.cleaned", "brook-cleaner-state 1\nfirst-dirty 99\n");
    char *old_idx0 = NULL;
    snprintf(n0, sizeof(n0), "%020lld.index", (long long)s0);
    old_idx0 = read_file(n0);
    log_config c = cfg_compact();
    l = NULL;
    if (!CHECK(log_open(g_dir, "t-0", &c, false, g_now, &l) == LOG_OK)) {
        free(old_idx0);
        return;
    }
    CHECK_EQ_INT(count_tmp_files(), 0);
    char *idx0 = read_file(n0);
    CHECK(idx0 && old_idx0 && strcmp(idx0, old_idx0) == 0);
    free(idx0);
    free(old_idx0);
    CHECK(!file_exists("cleaner-state"));
    readback after;
    read_all(l, &after);
    CHECK(after.ok && after.n == before.n);
    /* Direct: a companion whose segment no longer exists is deleted. */
    log_close(l);
    write_file("00000000000000099999.index.cleaned", "x");
    CHECK_EQ_INT(compact_recover_dir(g_dir, "t-0"), 0);
    CHECK_EQ_INT(count_tmp_files(), 0);
    CHECK(!file_exists("00000000000000099999.index"));
    fs_remove_tree(g_dir);
}

/* A follower copies a cleaned log batch by batch (as broker/replica.c does: each batch at
 * the follower's log end) and reads the same records; after a crash its recovery (strict:
 * every batch at the next offset) keeps them all. */
static void test_follower_copies_cleaned_log(void)
{
    plog *l = fresh_log("leader");
    if (!CHECK(l))
        return;
    char v[16];
    for (int i = 0; i < 30; i++) {
        snprintf(v, sizeof(v), "v%d", i);
        put(l, i % 3 == 0 ? "x" : "y", v);
        if (i % 7 == 6)
            roll(l);
    }
    put(l, "x", NULL);
    roll(l);
    put(l, "z", "active");
    CHECK_EQ_INT(compact_run_sync(l, l->log_end_offset, g_now, 1 << 20, NULL), 0);
    readback lead;
    read_all(l, &lead);
    CHECK(lead.ok && lead.fillers > 0);
    char fdir[300];
    snprintf(fdir, sizeof(fdir), "%s-follower", g_dir);
    fs_remove_tree(fdir);
    log_config c = cfg_compact();
    plog *f = NULL;
    if (!CHECK(log_open(fdir, "t-0", &c, false, g_now, &f) == LOG_OK))
        return;
    arena a;
    arena_init(&a);
    for (int guard = 0; guard < 1000 && f->log_end_offset < l->log_end_offset; guard++) {
        uint8_t *data;
        size_t len;
        if (!CHECK(log_read(l, f->log_end_offset, l->log_end_offset, 300, true, &a, &data,
                            &len) == LOG_OK && len > 0))
            break;
        for (size_t off = 0; off < len;) {
            rb_header h;
            size_t total;
            if (!CHECK(rb_check_stored(data + off, len - off, &h, &total) == RB_OK))
                break;
            CHECK_EQ_INT(h.base_offset, f->log_end_offset);
            CHECK_EQ_INT(log_append_replica(f, data + off, total, &h, g_now), LOG_OK);
            off += total;
        }
    }
    arena_free(&a);
    CHECK_EQ_INT(f->log_end_offset, l->log_end_offset);
    log_close(f);
    f = NULL;
    if (!CHECK(log_open(fdir, "t-0", &c, false, g_now, &f) == LOG_OK)) /* as after a crash */
        return;
    CHECK_EQ_INT(f->log_end_offset, l->log_end_offset);
    readback fol;
    read_all(f, &fol);
    CHECK(fol.ok);
    CHECK_EQ_INT(fol.n, lead.n);
    for (int i = 0; i < fol.n && i < lead.n; i++) {
        CHECK_EQ_INT(fol.r[i].offset, lead.r[i].offset);
        CHECK_EQ_STR(fol.r[i].val, lead.r[i].val);
    }
    log_destroy(f);
    log_destroy(l);
}

static void test_state_file_format(void)
{
    cmp_state s, t;
    CHECK_EQ_INT(cmp_state_parse("brook-cleaner-state 1\nfirst-dirty 42\ndue 7\nsegment 0 5\n"
                                 "segment 10 6\nmarker 3 9\n", &s), 0);
    CHECK_EQ_INT(s.first_dirty, 42);
    CHECK_EQ_INT(s.due_ms, 7);
    CHECK(s.nsegs == 2 && s.segs[1].offset == 10 && s.segs[1].ms == 6);
    CHECK(s.nmarkers == 1 && s.markers[0].offset == 3 && s.markers[0].ms == 9);
    wr w;
    wr_init(&w, 64);
    cmp_state_encode(&s, &w);
    wr_raw(&w, "", 1);
    CHECK_EQ_INT(cmp_state_parse((const char *)w.p, &t), 0);
    CHECK(t.nsegs == 2 && t.nmarkers == 1 && t.first_dirty == 42 && t.due_ms == 7);
    cmp_state_free(&t);
    wr_free(&w);
    cmp_state_free(&s);
    CHECK_EQ_INT(cmp_state_parse("nonsense\n", &s), -1);
    CHECK_EQ_INT(cmp_state_parse("brook-cleaner-state 1\nsegment 10 1\nsegment 5 1\n", &s), -1);
    CHECK_EQ_INT(cmp_state_parse("brook-cleaner-state 1\nsegment 10\n", &s), -1);
    CHECK_EQ_INT(cmp_state_parse("brook-cleaner-state 1\nfirst-dirty x\n", &s), -1);
    CHECK_EQ_INT(cmp_state_parse("", &s), -1);
}

/* The pure pass alone: a producer's last batch stays, emptied; a run of removed batches
 * becomes one empty batch covering it, written when the run ends (here: at the end of the
 * segment); an unchanged batch is output byte for byte. */
static void test_pass_empty_batches(void)
{
    cmp_params p = {.now_ms = 0, .delete_retention_ms = 0, .log_start_offset = 0,
                    .max_inflated = 1 << 20};
    cmp_pass *ps = cmp_pass_new(&p, NULL, 0, NULL);
    if (!CHECK(ps))
        return;
    const char *k[] = {"a"}, *v[] = {"x"};
    uint8_t *b[4];
    size_t len[4];
    for (int i = 0; i < 4; i++) {
        len[i] = rb_build_simple(&b[i], 1, k, v, 0);
        rb_set_base_offset(b[i], i, 3);
    }
    be64_put(b[0] + RB_OFF_PRODUCER_ID, 4); /* producer 4's only batch */
    be32_put(b[0] + RB_OFF_BASE_SEQUENCE, 0);
    be32_put(b[0] + RB_OFF_CRC, crc32c(0, b[0] + RB_OFF_ATTRIBUTES, len[0] - RB_OFF_ATTRIBUTES));
    CHECK_EQ_INT(cmp_pass_scan_segment(ps, 0), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(cmp_pass_scan(ps, b[i], len[i]), 0);
    CHECK_EQ_INT(cmp_pass_scan_segment(ps, 3), 0);
    CHECK_EQ_INT(cmp_pass_scan(ps, b[3], len[3]), 0);
    wr out;
    wr_init(&out, 256);
    cmp_step st;
    CHECK_EQ_INT(cmp_pass_filter_segment(ps, 0), 0);
    uint64_t pos = 0;
    CHECK_EQ_INT(cmp_pass_filter(ps, b[0], len[0], pos, &out, &st), 0);
    CHECK(st.changed && st.from_pos == 0 && out.len == RB_HEADER_SIZE); /* emptied */
    pos += len[0];
    for (int i = 1; i < 3; i++) {
        CHECK_EQ_INT(cmp_pass_filter(ps, b[i], len[i], pos, &out, &st), 0);
        CHECK(st.from_pos == UINT64_MAX && out.len == RB_HEADER_SIZE); /* a run: pending */
        pos += len[i];
    }
    CHECK_EQ_INT(cmp_pass_end_segment(ps, &out, &st), 0);
    CHECK(st.from_pos == len[0] && out.len == 2 * RB_HEADER_SIZE);
    rb_header h;
    size_t total;
    CHECK_EQ_INT(rb_check_stored(out.p, out.len, &h, &total), RB_OK);
    CHECK(h.records_count == 0 && h.producer_id == 4 && h.base_offset == 0 &&
          total == RB_HEADER_SIZE);
    CHECK_EQ_INT(rb_check_stored(out.p + RB_HEADER_SIZE, RB_HEADER_SIZE, &h, &total), RB_OK);
    CHECK(h.records_count == 0 && h.producer_id == -1 && h.base_offset == 1 &&
          h.last_offset_delta == 1 && h.leader_epoch == 3 && h.max_timestamp == -1);
    out.len = 0;
    CHECK_EQ_INT(cmp_pass_filter_segment(ps, 3), 0);
    CHECK_EQ_INT(cmp_pass_filter(ps, b[3], len[3], 0, &out, &st), 0);
    CHECK(!st.changed && st.from_pos == 0 && out.len == len[3]);
    CHECK(memcmp(out.p, b[3], len[3]) == 0);
    CHECK_EQ_INT(cmp_pass_end_segment(ps, &out, &st), 0);
    CHECK(!st.changed && out.len == len[3]);
    cmp_counts cc = cmp_pass_counts(ps);
    CHECK_EQ_INT(cc.records_removed, 3);
    CHECK_EQ_INT(cc.batches_emptied, 1);
    CHECK_EQ_INT(cc.batches_removed, 2);
    cmp_state ns;
    CHECK_EQ_INT(cmp_pass_finish(ps, 4, &ns), 0);
    CHECK(ns.first_dirty == 4 && ns.nsegs == 2);
    cmp_state_free(&ns);
    wr_free(&out);
    for (int i = 0; i < 4; i++)
        free(b[i]);
    cmp_pass_free(ps);
}

/* ---- the worker pool: a pass is discarded when the log changes under it ---- */

static void test_worker_pass_and_discard(void)
{
    plog *l = fresh_log("worker");
    if (!CHECK(l))
        return;
    for (int i = 0; i < 6; i++) {
        put(l, "a", "v");
        roll(l);
    }
    put(l, "z", "active");
    uv_loop_t loop;
    uv_loop_init(&loop);
    compactor *c;
    compact_config cc = {.enable = true, .dedupe_buffer_bytes = 1 << 20, .backoff_ms = 0};
    CHECK_EQ_INT(compactor_start(&loop, &cc, NULL, NULL, &c), 0);
    /* 1: applied. */
    cmp_plan plan;
    cmp_plan_log(l, l->log_end_offset, g_now, &plan);
    CHECK_EQ_INT(compactor_run(c, l, &plan, g_now), 0);
    CHECK(compactor_busy(c));
    CHECK_EQ_INT(compactor_run(c, l, &plan, g_now), -EBUSY);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(!compactor_busy(c));
    CHECK_EQ_INT(compactor_get_stats(c).passes, 1);
    readback rb;
    read_all(l, &rb);
    CHECK_EQ_INT(count_key(&rb, "a"), 1);
    /* 2: retention drops a segment while the pass runs: discarded, temporaries removed. */
    for (int i = 0; i < 3; i++) {
        put(l, "b", "v");
        roll(l);
    }
    put(l, "z", "active");
    cmp_plan_log(l, l->log_end_offset, g_now, &plan);
    CHECK(plan.nsegs > 0);
    CHECK_EQ_INT(compactor_run(c, l, &plan, g_now), 0);
    CHECK_EQ_INT(log_delete_records(l, l->segs[1]->base_offset, l->log_end_offset), LOG_OK);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ_INT(compactor_get_stats(c).passes, 1);
    CHECK_EQ_INT(compactor_get_stats(c).passes_failed, 1);
    CHECK_EQ_INT(count_tmp_files(), 0);
    read_all(l, &rb);
    CHECK(rb.ok && count_key(&rb, "b") == 3);
    /* 3: a follower's truncation cuts into the range while the pass runs, and the same
     * bytes come back (same segments, sizes, ends): only the truncation count tells. After
     * a discarded pass the log waits a while before the next. */
    cmp_plan_log(l, l->log_end_offset, g_now, &plan);
    CHECK_EQ_INT(plan.nsegs, 0);
    cmp_plan_log(l, l->log_end_offset, g_now + 1000, &plan);
    CHECK(plan.nsegs > 0);
    CHECK_EQ_INT(compactor_run(c, l, &plan, g_now + 1000), 0);
    segment *last = l->segs[plan.nsegs - 1];
    uint64_t last_size = last->size;
    CHECK_EQ_INT(log_truncate(l, last->base_offset), LOG_OK);
    put(l, "b", "v");
    roll(l);
    put(l, "z", "active");
    CHECK(l->segs[plan.nsegs - 1] == last && last->size == last_size);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ_INT(compactor_get_stats(c).passes_failed, 2);
    CHECK_EQ_INT(count_tmp_files(), 0);
    /* 4: the topic is deleted while the pass runs: the job removes the directory. */
    cmp_plan_log(l, l->log_end_offset, g_now + 2000, &plan);
    CHECK(plan.nsegs > 0);
    CHECK_EQ_INT(compactor_run(c, l, &plan, g_now + 2000), 0);
    CHECK_EQ_INT(log_destroy(l), LOG_OK);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(access(g_dir, F_OK) != 0);
    compactor_stop(c);
    CHECK_EQ_INT(uv_loop_close(&loop), 0);
}

TU_MAIN(TU_CASE(test_latest_per_key_offsets_and_crc), TU_CASE(test_tombstones_expire),
        TU_CASE(test_tombstone_clock_starts_at_first_clean),
        TU_CASE(test_tombstone_outlives_older_values),
        TU_CASE(test_marker_outlives_its_records_pass),
        TU_CASE(test_aborted_records_and_markers), TU_CASE(test_marker_kept_with_its_data),
        TU_CASE(test_bounds_lso_hw_active_lag), TU_CASE(test_plan_dirty_ratio),
        TU_CASE(test_producer_state_survives_replay), TU_CASE(test_compressed_batches),
        TU_CASE(test_reopen), TU_CASE(test_compact_and_delete),
        TU_CASE(test_recover_interrupted_swap),
        TU_CASE(test_follower_copies_cleaned_log), TU_CASE(test_state_file_format),
        TU_CASE(test_pass_empty_batches), TU_CASE(test_worker_pass_and_discard))
