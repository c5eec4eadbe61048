/* test_storage_pstate.c - producer state rules (idempotence, epochs, transactions) and
 * their durability through the log: snapshots at close and roll, replay after a crash,
 * and the aborted-transaction index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/crc32c.h"
#include "base/fsutil.h"
#include "proto/errors.h"
#include "storage/log.h"
#include "storage/pstate.h"
#include "log_batches.h"
#include "testutil.h"

static rb_header hdr_of(int64_t pid, int16_t epoch, int32_t seq, int n, bool txn)
{
    uint8_t *b;
    size_t len = make_batch(&b, pid, epoch, seq, n, txn);
    rb_header h;
    rb_validate(b, len, &h);
    free(b);
    return h;
}

static int check(pstate *ps, rb_header h, bool verified, int64_t *dup, int16_t *err)
{
    *dup = -1;
    *err = 0;
    return pstate_check(ps, &h, verified, dup, err);
}

static void test_sequences_and_duplicates(void)
{
    pstate ps;
    pstate_init(&ps);
    int64_t dup;
    int16_t err;
    /* Unknown producer: any first sequence. */
    rb_header h = hdr_of(7, 0, 42, 3, false);
    CHECK_EQ_INT(check(&ps, h, false, &dup, &err), PS_APPEND);
    pstate_on_append(&ps, &h, 100);
    /* Next in sequence: 45. */
    h = hdr_of(7, 0, 45, 2, false);
    CHECK_EQ_INT(check(&ps, h, false, &dup, &err), PS_APPEND);
    pstate_on_append(&ps, &h, 103);
    /* A retry of either cached batch: duplicate with its original offset. */
    CHECK_EQ_INT(check(&ps, hdr_of(7, 0, 42, 3, false), false, &dup, &err), PS_DUPLICATE);
    CHECK_EQ_INT(dup, 100);
    CHECK_EQ_INT(check(&ps, hdr_of(7, 0, 45, 2, false), false, &dup, &err), PS_DUPLICATE);
    CHECK_EQ_INT(dup, 103);
    /* A gap. */
    CHECK_EQ_INT(check(&ps, hdr_of(7, 0, 48, 1, false), false, &dup, &err), PS_REJECT);
    CHECK_EQ_INT(err, KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    /* Only the last 5 batches are remembered; older retries are out of order. */
    int32_t seq = 47;
    for (int i = 0; i < 5; i++, seq++) {
        h = hdr_of(7, 0, seq, 1, false);
        CHECK_EQ_INT(check(&ps, h, false, &dup, &err), PS_APPEND);
        pstate_on_append(&ps, &h, 105 + i);
    }
    CHECK_EQ_INT(check(&ps, hdr_of(7, 0, 42, 3, false), false, &dup, &err), PS_REJECT);
    CHECK_EQ_INT(check(&ps, hdr_of(7, 0, 47, 1, false), false, &dup, &err), PS_DUPLICATE);
    CHECK_EQ_INT(dup, 105);
    /* Epoch bump (librdkafka bumps itself): sequence must restart at 0. */
    CHECK_EQ_INT(check(&ps, hdr_of(7, 1, 5, 1, false), false, &dup, &err), PS_REJECT);
    CHECK_EQ_INT(err, KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    h = hdr_of(7, 1, 0, 1, false);
    CHECK_EQ_INT(check(&ps, h, false, &dup, &err), PS_APPEND);
    pstate_on_append(&ps, &h, 200);
    /* The old epoch is now fenced. */
    CHECK_EQ_INT(check(&ps, hdr_of(7, 0, 52, 1, false), false, &dup, &err), PS_REJECT);
    CHECK_EQ_INT(err, KERR_INVALID_PRODUCER_EPOCH);
    /* Wrap at INT32_MAX. */
    h = hdr_of(8, 0, INT32_MAX, 1, false);
    pstate_on_append(&ps, &h, 300);
    CHECK_EQ_INT(check(&ps, hdr_of(8, 0, 0, 1, false), false, &dup, &err), PS_APPEND);
    pstate_free(&ps);
}

static void test_transactions_lso_and_markers(void)
{
    pstate ps;
    pstate_init(&ps);
    int64_t dup;
    int16_t err;
    CHECK_EQ_INT(pstate_first_unstable_offset(&ps), INT64_MAX);
    /* Unverified transactional write: refused (the late-write hole). */
    CHECK_EQ_INT(check(&ps, hdr_of(9, 0, 0, 2, true), false, &dup, &err), PS_REJECT);
    CHECK_EQ_INT(err, KERR_INVALID_TXN_STATE);
    rb_header h = hdr_of(9, 0, 0, 2, true);
    CHECK_EQ_INT(check(&ps, h, true, &dup, &err), PS_APPEND);
    pstate_on_append(&ps, &h, 10);
    h = hdr_of(9, 0, 2, 1, true);
    pstate_on_append(&ps, &h, 14);
    CHECK_EQ_INT(pstate_first_unstable_offset(&ps), 10);
    /* A plain write from a producer with an open transaction: refused. */
    CHECK_EQ_INT(check(&ps, hdr_of(9, 0, 3, 1, false), false, &dup, &err), PS_REJECT);
    /* Prepare fences it: needs durability through offset 14, later writes refused. */
    CHECK_EQ_INT(pstate_prepare(&ps, 9, 0), 15);
    CHECK_EQ_INT(check(&ps, hdr_of(9, 0, 3, 1, true), true, &dup, &err), PS_REJECT);
    CHECK_EQ_INT(err, KERR_INVALID_TXN_STATE);
    /* The commit marker closes it; no aborted range. */
    aborted_txn a;
    CHECK(!pstate_on_marker(&ps, 9, 0, true, 15, &a));
    CHECK_EQ_INT(pstate_first_unstable_offset(&ps), INT64_MAX);
    /* Next transaction continues the sequence; abort it with a bumped epoch (fencing). */
    h = hdr_of(9, 0, 3, 1, true);
    CHECK_EQ_INT(check(&ps, h, true, &dup, &err), PS_APPEND);
    pstate_on_append(&ps, &h, 16);
    CHECK(pstate_on_marker(&ps, 9, 1, false, 17, &a));
    CHECK_EQ_INT(a.pid, 9);
    CHECK_EQ_INT(a.first_offset, 16);
    CHECK_EQ_INT(a.last_offset, 17);
    /* The zombie at epoch 0 is fenced; the new epoch starts at sequence 0. */
    CHECK_EQ_INT(check(&ps, hdr_of(9, 0, 4, 1, true), true, &dup, &err), PS_REJECT);
    CHECK_EQ_INT(err, KERR_INVALID_PRODUCER_EPOCH);
    CHECK_EQ_INT(check(&ps, hdr_of(9, 1, 1, 1, true), true, &dup, &err), PS_REJECT);
    CHECK_EQ_INT(check(&ps, hdr_of(9, 1, 0, 1, true), true, &dup, &err), PS_APPEND);
    pstate_free(&ps);
}

static void test_snapshot_roundtrip(void)
{
    pstate ps, back;
    pstate_init(&ps);
    pstate_init(&back);
    for (int p = 0; p < 20; p++) {
        rb_header h = hdr_of(p, (int16_t)(p % 3), p * 10, 2, p % 2 == 0);
        pstate_on_append(&ps, &h, p * 100);
    }
    uint8_t *buf;
    size_t len;
    int64_t off;
    CHECK_EQ_INT(pstate_snapshot_encode(&ps, 555, &buf, &len), 0);
    CHECK_EQ_INT(pstate_snapshot_decode(&back, buf, len, &off), 0);
    CHECK_EQ_INT(off, 555);
    CHECK_EQ_INT(back.open_txns, 10);
    CHECK_EQ_INT(pstate_first_unstable_offset(&back), 0);
    pstate_entry *e = pstate_find(&back, 7);
    CHECK(e && e->epoch == 1 && e->nbatches == 1 && e->batches[0].first_seq == 70);
    /* Any corruption is detected. */
    pstate back2;
    int bad = 0;
    for (size_t i = 0; i < len; i++) {
        pstate_init(&back2);
        buf[i] ^= 0x10;
        if (pstate_snapshot_decode(&back2, buf, len, &off) == 0)
            bad++;
        buf[i] ^= 0x10;
        pstate_free(&back2);
    }
    CHECK_EQ_INT(bad, 0);
    free(buf);
    pstate_free(&ps);
    pstate_free(&back);
}

static char g_dir[256];

/* The writer is a child process that exits without closing the log, as a SIGKILL would
 * leave it (data fsynced, no final snapshot); the parent then recovers it. Producer 1
 * writes offsets 0..79 (rolling, so snapshots exist), transaction A of producer 2 is at
 * 80..82 with its ABORT marker at 83, transaction B of producer 3 stays open at 84. */
static void test_log_replay_after_crash(void)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/brook-unit-%d-pstate", (int)getpid());
    fs_remove_tree(g_dir);
    log_config c = {.segment_bytes = 1024, .segment_ms = -1, .retention_bytes = -1,
                    .retention_ms = -1, .index_interval_bytes = 256};
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        plog *l;
        if (log_open(g_dir, "t-0", &c, false, 0, &l) != LOG_OK)
            _exit(1);
        for (int i = 0; i < 40; i++)
            log_put(l, 1, 0, i * 2, 2, false);
        log_put(l, 2, 0, 0, 3, true);
        int64_t m;
        if (log_append_marker(l, 2, 0, false, 0, 1000, &m) != LOG_OK || m != 83)
            _exit(2);
        if (log_put(l, 3, 0, 0, 1, true) != 84 || l->nsegs < 3)
            _exit(3);
        _exit(fdatasync(l->segs[l->nsegs - 1]->log_fd) == 0 ? 0 : 4);
    }
    int status = -1;
    waitpid(child, &status, 0);
    if (!CHECK_EQ_INT(status, 0))
        return;
    for (int clean = 0; clean <= 1; clean++) {
        plog *l;
        if (!CHECK(log_open(g_dir, "t-0", &c, clean, 0, &l) == LOG_OK))
            return;
        CHECK_EQ_INT(l->log_end_offset, 85);
        CHECK_EQ_INT(log_last_stable_offset(l, l->log_end_offset), 84);
        int64_t dup;
        int16_t err;
        rb_header h = hdr_of(1, 0, 0, 2, false); /* older than the 5 remembered batches */
        CHECK_EQ_INT(log_producer_check(l, &h, false, &dup, &err), PS_REJECT);
        h = hdr_of(1, 0, 78, 2, false); /* the last batch of producer 1 */
        CHECK_EQ_INT(log_producer_check(l, &h, false, &dup, &err), PS_DUPLICATE);
        CHECK_EQ_INT(dup, 78);
        h = hdr_of(1, 0, 80, 1, false);
        CHECK_EQ_INT(log_producer_check(l, &h, false, &dup, &err), PS_APPEND);
        arena a;
        arena_init(&a);
        aborted_txn *ab;
        size_t n;
        CHECK_EQ_INT(log_aborted_between(l, 0, 85, &a, &ab, &n), LOG_OK);
        if (CHECK_EQ_INT(n, 1)) {
            CHECK_EQ_INT(ab[0].pid, 2);
            CHECK_EQ_INT(ab[0].first_offset, 80);
            CHECK_EQ_INT(ab[0].last_offset, 83);
        }
        CHECK_EQ_INT(log_aborted_between(l, 84, 85, &a, &ab, &n), LOG_OK);
        CHECK_EQ_INT(n, 0);
        CHECK_EQ_INT(log_aborted_between(l, 0, 80, &a, &ab, &n), LOG_OK);
        CHECK_EQ_INT(n, 0);
        arena_free(&a);
        log_close(l); /* writes the final snapshot: the second round takes the clean path */
    }
    plog *l;
    if (CHECK(log_open(g_dir, "t-0", &c, true, 0, &l) == LOG_OK))
        log_destroy(l);
}

/* A transaction's marker makes it stable only once the marker itself is durable. */
static void test_lso_waits_for_durable_marker(void)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/brook-unit-%d-lso", (int)getpid());
    fs_remove_tree(g_dir);
    log_config c = {.segment_bytes = 1 << 20, .segment_ms = -1, .retention_bytes = -1,
                    .retention_ms = -1, .index_interval_bytes = 256};
    plog *l;
    if (!CHECK(log_open(g_dir, "t-0", &c, false, 0, &l) == LOG_OK))
        return;
    CHECK_EQ_INT(log_put(l, 5, 0, 0, 2, true), 0); /* offsets 0-1 */
    CHECK_EQ_INT(log_put(l, 6, 0, 0, 1, false), 2);
    int64_t m;
    CHECK_EQ_INT(log_append_marker(l, 5, 0, true, 0, 1000, &m), LOG_OK);
    CHECK_EQ_INT(m, 3);
    /* Nothing durable yet: the high watermark is 0 anyway. With a high watermark past the
     * data but not past the marker, the transaction is still unstable. */
    CHECK_EQ_INT(log_last_stable_offset(l, 3), 0);
    segment *seg;
    int64_t end;
    if (CHECK(log_flush_begin(l, &end, &seg) >= 0)) {
        log_flush_done(l, seg, end, 0);
        CHECK_EQ_INT(log_last_stable_offset(l, l->durable_offset), 4);
    }
    log_destroy(l);
}

/* Cluster markers carry the coordinator's transaction sequence: a delayed duplicate (not
 * newer than the last applied) is stale; sequence 0 (no tag) never is. */
static void test_marker_sequences(void)
{
    pstate ps;
    pstate_init(&ps);
    CHECK(!pstate_marker_is_stale(&ps, 5000, 1)); /* unknown producer */
    CHECK_EQ_INT(pstate_marker_applied(&ps, 5000, 0, 1), 0);
    CHECK(pstate_marker_is_stale(&ps, 5000, 1));
    CHECK(!pstate_marker_is_stale(&ps, 5000, 2));
    CHECK(!pstate_marker_is_stale(&ps, 5000, 0));
    CHECK_EQ_INT(pstate_marker_applied(&ps, 5000, 0, 3), 0);
    CHECK(pstate_marker_is_stale(&ps, 5000, 2));
    CHECK_EQ_INT(pstate_marker_applied(&ps, 5000, 0, 2), 0); /* never goes back */
    CHECK(pstate_marker_is_stale(&ps, 5000, 3));
    CHECK(!pstate_marker_is_stale(&ps, 6000, 3)); /* per producer */
    pstate_free(&ps);
}

TU_MAIN(TU_CASE(test_marker_sequences), TU_CASE(test_lso_waits_for_durable_marker), TU_CASE(test_sequences_and_duplicates), TU_CASE(test_transactions_lso_and_markers),
        TU_CASE(test_snapshot_roundtrip), TU_CASE(test_log_replay_after_crash))
