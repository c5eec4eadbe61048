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

/* A snapshot in an older format, written by hand (w is initialised here): BPS1 (no
 * coordinator epochs) when coord_epoch < 0, else BPS2 with coord_epoch. It holds one
 * producer, pid at epoch 0 with no transaction and no batches, and stands at offset 99. */
static void write_old_snapshot(wr *w, int64_t pid, int32_t coord_epoch)
{
    wr_init(w, 64);
    wr_u32(w, coord_epoch < 0 ? 0x42505331u : 0x42505332u);
    wr_i64(w, 99);
    wr_i32(w, 1);
    wr_i64(w, pid);
    wr_i16(w, 0);
    wr_i8(w, PS_TXN_NONE);
    wr_i64(w, -1);
    wr_i64(w, -1);
    wr_i8(w, 0);
    if (coord_epoch >= 0)
        wr_i32(w, coord_epoch);
    wr_u32(w, crc32c(0, w->p, w->len));
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

/* A fresh producer state holding producer pid's first batch (epoch 0, n records from
 * sequence 0) at offset base; returns that batch's header. */
static rb_header start_producer(pstate *ps, int64_t pid, int n, bool txn, int64_t base)
{
    pstate_init(ps);
    rb_header h = hdr_of(pid, 0, 0, n, txn);
    pstate_on_append(ps, &h, base);
    return h;
}

/* A transactional batch matching one of an ended transaction is not a retry (a producer
 * ends a transaction only once its sends are answered) but reused sequence numbers:
 * refused, not acknowledged with the old (here aborted) records' offset. Found by the
 * chaos campaign: kafkajs 2.2.4 keeps a partition's sequence unchanged when a send to
 * several partitions fails on another one, so its next transaction's batch matched the
 * aborted one exactly and was "acknowledged" without being written. */
static void test_txn_duplicate_of_ended_transaction(void)
{
    pstate ps;
    int64_t dup;
    int16_t err;
    rb_header h = start_producer(&ps, 11, 3, true, 10);
    /* Within its transaction a retry is a duplicate. */
    CHECK_EQ_INT(check(&ps, hdr_of(11, 0, 0, 3, true), true, &dup, &err), PS_DUPLICATE);
    CHECK_EQ_INT(dup, 10);
    aborted_txn a;
    CHECK(pstate_on_marker(&ps, 11, 0, false, 13, &a));
    /* After the abort: the same sequence numbers again are refused. */
    CHECK_EQ_INT(check(&ps, hdr_of(11, 0, 0, 3, true), true, &dup, &err), PS_REJECT);
    CHECK_EQ_INT(err, KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    CHECK_EQ_INT(dup, -1);
    /* The next transaction goes on from sequence 3; its own retries are duplicates, the
     * ended transaction's batch is still refused while one is open. */
    h = hdr_of(11, 0, 3, 2, true);
    CHECK_EQ_INT(check(&ps, h, true, &dup, &err), PS_APPEND);
    pstate_on_append(&ps, &h, 14);
    CHECK_EQ_INT(check(&ps, hdr_of(11, 0, 3, 2, true), true, &dup, &err), PS_DUPLICATE);
    CHECK_EQ_INT(dup, 14);
    CHECK_EQ_INT(check(&ps, hdr_of(11, 0, 0, 3, true), true, &dup, &err), PS_REJECT);
    CHECK_EQ_INT(err, KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    pstate_free(&ps);
}

/* A gap whose missing batch the leader refused for lack of in-sync replicas is answered
 * NOT_ENOUGH_REPLICAS (the client sends the refused batch again first), not
 * OUT_OF_ORDER (librdkafka bumps its epoch and sends everything unacknowledged again
 * under new sequences, duplicating what a leader appended without answering: the chaos
 * campaign's hour-long run found 8 such duplicates). */
static void test_gap_after_refused_batch(void)
{
    pstate ps;
    int64_t dup;
    int16_t err;
    rb_header h = start_producer(&ps, 20, 2, false, 0);
    /* A refused batch that is not the next one leaves no mark. */
    rb_header later = hdr_of(20, 0, 6, 1, false);
    pstate_note_refused(&ps, &later);
    CHECK_EQ_INT(check(&ps, hdr_of(20, 0, 4, 2, false), false, &dup, &err), PS_REJECT);
    CHECK_EQ_INT(err, KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    /* The next one (2-3) refused: the batch after it is refused the same way. */
    rb_header next = hdr_of(20, 0, 2, 2, false);
    pstate_note_refused(&ps, &next);
    CHECK_EQ_INT(check(&ps, hdr_of(20, 0, 4, 2, false), false, &dup, &err), PS_REJECT);
    CHECK_EQ_INT(err, KERR_NOT_ENOUGH_REPLICAS);
    /* Sent again, it fills the gap; then gaps are out of order again. */
    CHECK_EQ_INT(check(&ps, next, false, &dup, &err), PS_APPEND);
    pstate_on_append(&ps, &next, 2);
    CHECK_EQ_INT(check(&ps, hdr_of(20, 0, 4, 2, false), false, &dup, &err), PS_APPEND);
    CHECK_EQ_INT(check(&ps, hdr_of(20, 0, 7, 1, false), false, &dup, &err), PS_REJECT);
    CHECK_EQ_INT(err, KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    /* A new epoch forgets the mark. */
    rb_header n2 = hdr_of(20, 0, 4, 1, false);
    pstate_note_refused(&ps, &n2);
    h = hdr_of(20, 1, 0, 1, false);
    pstate_on_append(&ps, &h, 4);
    CHECK_EQ_INT(check(&ps, hdr_of(20, 1, 3, 1, false), false, &dup, &err), PS_REJECT);
    CHECK_EQ_INT(err, KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    pstate_free(&ps);
}

/* A replica that just became leader: a producer that has not written here since may have
 * requests still in flight to the old leader, refused there NOT_LEADER_OR_FOLLOWER (not
 * written), while librdkafka sends the next ones here. That gap is answered
 * NOT_ENOUGH_REPLICAS, not OUT_OF_ORDER (an epoch bump that renumbered possibly persisted
 * batches of other partitions: chaos seed 20261209, session 25), until the producer's
 * first batch here; other producers' gaps after that are out of order as before. */
static void test_gap_after_leader_change(void)
{
    pstate ps;
    int64_t dup;
    int16_t err;
    start_producer(&ps, 30, 2, false, 0); /* offsets 0-1, sequences 0-1 */
    rb_header other = hdr_of(31, 0, 0, 1, false);
    pstate_on_append(&ps, &other, 2);
    /* No leadership recorded (a single node, a follower): a gap is out of order. */
    CHECK_EQ_INT(check(&ps, hdr_of(30, 0, 4, 1, false), false, &dup, &err), PS_REJECT);
    CHECK_EQ_INT(err, KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    pstate_set_lead_start(&ps, 3);
    CHECK_EQ_INT(check(&ps, hdr_of(30, 0, 4, 1, false), false, &dup, &err), PS_REJECT);
    CHECK_EQ_INT(err, KERR_NOT_ENOUGH_REPLICAS);
    CHECK_EQ_INT(check(&ps, hdr_of(31, 0, 2, 1, false), false, &dup, &err), PS_REJECT);
    CHECK_EQ_INT(err, KERR_NOT_ENOUGH_REPLICAS);
    /* In order, the next batch is written; a retry is still a duplicate. */
    rb_header next = hdr_of(30, 0, 2, 2, false);
    CHECK_EQ_INT(check(&ps, next, false, &dup, &err), PS_APPEND);
    pstate_on_append(&ps, &next, 3);
    CHECK_EQ_INT(check(&ps, hdr_of(30, 0, 0, 2, false), false, &dup, &err), PS_DUPLICATE);
    CHECK_EQ_INT(dup, 0);
    /* Once the producer wrote under this leader, a gap is its own again. */
    CHECK_EQ_INT(check(&ps, hdr_of(30, 0, 6, 1, false), false, &dup, &err), PS_REJECT);
    CHECK_EQ_INT(err, KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    /* Another producer that has not written here yet still gets the retriable answer. */
    CHECK_EQ_INT(check(&ps, hdr_of(31, 0, 2, 1, false), false, &dup, &err), PS_REJECT);
    CHECK_EQ_INT(err, KERR_NOT_ENOUGH_REPLICAS);
    /* The bump rule is unchanged: a newer epoch must still start at sequence 0. */
    CHECK_EQ_INT(check(&ps, hdr_of(31, 1, 5, 1, false), false, &dup, &err), PS_REJECT);
    CHECK_EQ_INT(err, KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
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

/* Names a fresh g_dir (/tmp/brook-unit-<pid>-<what>, emptied) and returns a log config of
 * segment_bytes segments with no time or size limits. */
static log_config fresh_log_dir(const char *what, int64_t segment_bytes)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/brook-unit-%d-%s", (int)getpid(), what);
    fs_remove_tree(g_dir);
    return (log_config){.segment_bytes = segment_bytes, .segment_ms = -1, .retention_bytes = -1,
                        .retention_ms = -1, .index_interval_bytes = 256};
}

/* The writer is a child process that exits without closing the log, as a SIGKILL would
 * leave it (data fsynced, no final snapshot); the parent then recovers it. Producer 1
 * writes offsets 0..79 (rolling, so snapshots exist), transaction A of producer 2 is at
 * 80..82 with its ABORT marker at 83, transaction B of producer 3 stays open at 84. */
static void test_log_replay_after_crash(void)
{
    log_config c = fresh_log_dir("pstate", 1024);
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
    log_config c = fresh_log_dir("lso", 1 << 20);
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
    if (CHECK_EQ_INT(log_flush_sync(l), LOG_OK))
        CHECK_EQ_INT(log_last_stable_offset(l, l->durable_offset), 4);
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

/* The verification guard (h_produce.c): every end marker of a producer bumps its marker
 * count, open transaction or not, so a confirmation asked before a marker can tell. */
static void test_marker_count_guard(void)
{
    pstate ps;
    pstate_init(&ps);
    aborted_txn ab;
    rb_header h = hdr_of(42, 0, 0, 1, true);
    int64_t dup;
    int16_t err;
    CHECK_EQ_INT(check(&ps, h, true, &dup, &err), PS_APPEND);
    pstate_on_append(&ps, &h, 0);
    CHECK_EQ_INT(pstate_find(&ps, 42)->markers, 0);
    CHECK(!pstate_on_end_marker(&ps, 42, 0, true, 3, 1, &ab));
    CHECK_EQ_INT(pstate_find(&ps, 42)->markers, 1);
    /* A marker with no transaction open here (e.g. one that ends it elsewhere) counts too. */
    CHECK(!pstate_on_end_marker(&ps, 42, 0, false, 3, 2, &ab));
    CHECK_EQ_INT(pstate_find(&ps, 42)->markers, 2);
    CHECK(pstate_find(&ps, 43) == NULL);
    pstate_free(&ps);
}

/* Coordinator epochs (Kafka's ProducerStateEntry.coordinatorEpoch): a producer remembers
 * the highest coordinator epoch of its markers; an older one is fenced, the same and newer
 * ones are not; a marker of unknown epoch changes nothing. */
static void test_coordinator_epoch_rules(void)
{
    pstate ps;
    pstate_init(&ps);
    aborted_txn a;
    /* Unknown producer: nothing is fenced. */
    CHECK(!pstate_coordinator_fenced(&ps, 40, -1));
    CHECK(!pstate_coordinator_fenced(&ps, 40, 0));
    /* A producer with data but no marker yet: nothing is fenced either. */
    rb_header h = hdr_of(40, 0, 0, 1, true);
    pstate_on_append(&ps, &h, 0);
    CHECK_EQ_INT(pstate_find(&ps, 40)->coord_epoch, -1);
    CHECK(!pstate_coordinator_fenced(&ps, 40, 0));
    /* A COMMIT of coordinator epoch 3 closes the transaction and sets the bar. */
    CHECK(!pstate_on_end_marker(&ps, 40, 0, true, 3, 1, &a));
    CHECK_EQ_INT(ps.open_txns, 0);
    CHECK(pstate_coordinator_fenced(&ps, 40, 2));
    CHECK(pstate_coordinator_fenced(&ps, 40, -1));
    CHECK(!pstate_coordinator_fenced(&ps, 40, 3)); /* the same coordinator again */
    CHECK(!pstate_coordinator_fenced(&ps, 40, 4)); /* a newer one */
    /* A newer coordinator's marker raises it; an older record never lowers it. */
    CHECK(!pstate_on_end_marker(&ps, 40, 0, true, 5, 2, &a));
    CHECK(pstate_coordinator_fenced(&ps, 40, 4));
    CHECK(!pstate_on_end_marker(&ps, 40, 0, true, 1, 3, &a));
    CHECK(pstate_coordinator_fenced(&ps, 40, 4));
    CHECK(!pstate_on_marker(&ps, 40, 0, true, 4, &a)); /* no epoch known: left as it is */
    CHECK_EQ_INT(pstate_find(&ps, 40)->coord_epoch, 5);
    /* Per producer. */
    CHECK(!pstate_coordinator_fenced(&ps, 41, 0));
    /* An ABORT still reports its aborted range. */
    h = hdr_of(41, 0, 0, 2, true);
    pstate_on_append(&ps, &h, 10);
    CHECK(pstate_on_end_marker(&ps, 41, 0, false, 7, 12, &a));
    CHECK_EQ_INT(a.first_offset, 10);
    CHECK_EQ_INT(a.last_offset, 12);
    CHECK(pstate_coordinator_fenced(&ps, 41, 6));

    /* Snapshots keep it (BPS2)... */
    uint8_t *buf;
    size_t len;
    int64_t off;
    pstate back;
    pstate_init(&back);
    CHECK_EQ_INT(pstate_snapshot_encode(&ps, 13, &buf, &len), 0);
    CHECK_EQ_INT(pstate_snapshot_decode(&back, buf, len, &off), 0);
    CHECK(pstate_coordinator_fenced(&back, 40, 4));
    CHECK(!pstate_coordinator_fenced(&back, 40, 5));
    CHECK(pstate_coordinator_fenced(&back, 41, 6));
    free(buf);
    pstate_free(&back);
    /* ...and a BPS1 snapshot (before coordinator epochs) still loads, with none known. */
    wr w;
    write_old_snapshot(&w, 40, -1);
    pstate_init(&back);
    CHECK_EQ_INT(pstate_snapshot_decode(&back, w.p, w.len, &off), 0);
    CHECK_EQ_INT(off, 99);
    CHECK(pstate_find(&back, 40) && pstate_find(&back, 40)->coord_epoch == -1);
    CHECK(!pstate_coordinator_fenced(&back, 40, 0));
    pstate_free(&back);
    wr_free(&w);

    /* The control record itself carries the epoch (Kafka's EndTxnMarker). */
    uint8_t cb[RB_CONTROL_BATCH_SIZE];
    rb_build_control(cb, 40, 0, RB_CONTROL_COMMIT, 123456, 1000);
    int32_t ce = 0;
    CHECK_EQ_INT(rb_control_parse(cb, sizeof(cb), &ce, NULL), RB_CONTROL_COMMIT);
    CHECK_EQ_INT(ce, 123456);
    rb_build_control(cb, 40, 0, RB_CONTROL_ABORT, 0, 1000);
    CHECK_EQ_INT(rb_control_parse(cb, sizeof(cb), &ce, NULL), RB_CONTROL_ABORT);
    CHECK_EQ_INT(ce, 0);
    CHECK_EQ_INT(rb_control_parse(cb, sizeof(cb) - 3, &ce, NULL), RB_CONTROL_ABORT); /* short value */
    CHECK_EQ_INT(ce, -1);
    /* Brook's marker with a transaction sequence after the epoch: a valid batch whose
     * epoch reads as Kafka's, and whose sequence comes back; without one, Kafka's size. */
    uint8_t cs[RB_CONTROL_BATCH_SIZE_SEQ];
    int64_t seq = -1;
    rb_header hh;
    CHECK_EQ_INT(rb_build_control_seq(cs, 40, 0, RB_CONTROL_ABORT, 7, 12345, 1000),
                 RB_CONTROL_BATCH_SIZE_SEQ);
    CHECK_EQ_INT(rb_validate(cs, sizeof(cs), &hh), RB_OK);
    CHECK_EQ_INT(rb_control_parse(cs, sizeof(cs), &ce, &seq), RB_CONTROL_ABORT);
    CHECK_EQ_INT(ce, 7);
    CHECK_EQ_INT(seq, 12345);
    CHECK_EQ_INT(rb_build_control_seq(cs, 40, 0, RB_CONTROL_COMMIT, 7, 0, 1000),
                 RB_CONTROL_BATCH_SIZE);
    CHECK_EQ_INT(rb_control_parse(cs, RB_CONTROL_BATCH_SIZE, &ce, &seq), RB_CONTROL_COMMIT);
    CHECK_EQ_INT(seq, 0);
    pstate_free(&ps);
}

/* Through the log: a marker of an older coordinator epoch is refused and appends nothing
 * (the open transaction stays open); the same and newer ones are written, with their
 * transaction sequences (the stale-marker check's memory). The memory is
 * rebuilt after a crash from the control batches (with and without a producer snapshot),
 * after a clean restart from the snapshot, and after a truncation from what is left. */
static void test_coordinator_epoch_survives_replay(void)
{
    log_config c = fresh_log_dir("cepoch", 1024);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        plog *l;
        int64_t m;
        if (log_open(g_dir, "t-0", &c, false, 0, &l) != LOG_OK)
            _exit(1);
        for (int i = 0; i < 30; i++) /* rolls: snapshots exist */
            log_put(l, 1, 0, i * 2, 2, false);
        /* Producer 21: a transaction committed by coordinator epoch 4 (offsets 60, 61). */
        if (log_put(l, 21, 0, 0, 1, true) != 60 ||
            log_append_marker(l, 21, 0, true, 4, 1000, &m) != LOG_OK || m != 61)
            _exit(2);
        /* Epoch 3 is refused and writes nothing; 4 again and then 6 are written. */
        if (log_append_marker(l, 21, 0, true, 3, 1000, &m) != LOG_ERR_FENCED ||
            l->log_end_offset != 62 || l->failed)
            _exit(3);
        /* The markers at 62 and 63 carry transaction sequences 8 and 9 (86-byte batches). */
        if (log_append_marker_seq(l, 21, 0, true, 4, 8, 1000, &m) != LOG_OK || m != 62 ||
            log_append_marker_seq(l, 21, 0, true, 6, 9, 1000, &m) != LOG_OK || m != 63 ||
            !pstate_marker_is_stale(&l->ps, 21, 9) || pstate_marker_is_stale(&l->ps, 21, 10))
            _exit(4);
        /* Producer 22: aborted by epoch 2 (64, 65), then a transaction left open (66) that
         * an epoch-1 marker must not close. */
        if (log_put(l, 22, 0, 0, 1, true) != 64 ||
            log_append_marker(l, 22, 0, false, 2, 1000, &m) != LOG_OK || m != 65 ||
            log_put(l, 22, 0, 1, 1, true) != 66 ||
            log_append_marker(l, 22, 0, false, 1, 1000, &m) != LOG_ERR_FENCED)
            _exit(5);
        if (l->log_end_offset != 67 || log_last_stable_offset(l, 67) != 66 || l->nsegs < 3)
            _exit(6);
        _exit(fdatasync(l->segs[l->nsegs - 1]->log_fd) == 0 ? 0 : 7);
    }
    int status = -1;
    waitpid(child, &status, 0);
    if (!CHECK_EQ_INT(status, 0))
        return;
    char snap[320];
    snprintf(snap, sizeof(snap), "%s/producer.snapshot", g_dir);
    /* Round 0: crash recovery (snapshot of the last roll + replay); round 1: the same
     * without any snapshot (whole-log replay); round 2: clean start from the snapshot the
     * previous close wrote. */
    for (int round = 0; round < 3; round++) {
        if (round == 1) {
            CHECK_EQ_INT(unlink(snap), 0);
            char prev[340];
            snprintf(prev, sizeof(prev), "%s.prev", snap);
            unlink(prev); /* (kept by a roll, if there was one) */
        }
        plog *l;
        if (!CHECK(log_open(g_dir, "t-0", &c, round == 2, 0, &l) == LOG_OK))
            return;
        CHECK_EQ_INT(l->log_end_offset, 67);
        CHECK(pstate_coordinator_fenced(&l->ps, 21, 5));
        CHECK(!pstate_coordinator_fenced(&l->ps, 21, 6));
        CHECK(pstate_coordinator_fenced(&l->ps, 22, 1));
        CHECK(!pstate_coordinator_fenced(&l->ps, 22, 2));
        CHECK(!pstate_coordinator_fenced(&l->ps, 1, 0)); /* never had a marker */
        /* The marker sequence is producer state too: from the records, or the snapshot. */
        CHECK(pstate_marker_is_stale(&l->ps, 21, 9));
        CHECK(!pstate_marker_is_stale(&l->ps, 21, 10));
        CHECK(!pstate_marker_is_stale(&l->ps, 22, 1)); /* its markers carried none */
        CHECK_EQ_INT(log_last_stable_offset(l, 67), 66);
        int64_t m;
        CHECK_EQ_INT(log_append_marker(l, 21, 0, true, 5, 1000, &m), LOG_ERR_FENCED);
        CHECK_EQ_INT(log_append_marker(l, 22, 0, true, 1, 1000, &m), LOG_ERR_FENCED);
        CHECK_EQ_INT(l->log_end_offset, 67);
        if (round < 2) {
            log_close(l); /* fdatasync'd above only in the child: nothing new to flush */
            continue;
        }
        /* A truncation (a follower's) replays what is left: epoch 6's marker at 63 goes,
         * epoch 4's stays. */
        CHECK_EQ_INT(log_truncate(l, 63), LOG_OK);
        CHECK(pstate_coordinator_fenced(&l->ps, 21, 3));
        CHECK(!pstate_coordinator_fenced(&l->ps, 21, 4));
        CHECK(!pstate_coordinator_fenced(&l->ps, 22, 0)); /* its markers are gone too */
        /* The sequence goes back with the records: 9's marker is gone, 8's stays, so a late
         * copy of transaction 9's marker is new again here (the coordinator re-sends it). */
        CHECK(pstate_marker_is_stale(&l->ps, 21, 8));
        CHECK(!pstate_marker_is_stale(&l->ps, 21, 9));
        log_destroy(l);
    }
}

/* Each producer's last timestamp (DescribeProducers' LastTimestamp): its last batch's max
 * timestamp, then its marker's (Kafka's ProducerStateEntry); kept by a BPS3 snapshot, while
 * a BPS2 one loads with it unknown (-1). Through the log: a LogAppendTime batch counts with
 * the time it was stored under, and a crash replay and a clean start from the snapshot
 * both give back what was there. */
static void test_last_timestamp(void)
{
    pstate ps;
    pstate_init(&ps);
    rb_header h = hdr_of(50, 0, 0, 2, true);
    h.max_timestamp = 1234;
    pstate_on_append(&ps, &h, 0);
    CHECK_EQ_INT(pstate_find(&ps, 50)->last_timestamp, 1234);
    aborted_txn a;
    pstate_on_end_marker(&ps, 50, 0, true, 0, 2, &a);
    pstate_on_marker_time(&ps, 50, 2000);
    CHECK_EQ_INT(pstate_find(&ps, 50)->last_timestamp, 2000);
    pstate_on_marker_time(&ps, 51, 1); /* unknown producer: nothing made up */
    CHECK(pstate_find(&ps, 51) == NULL);
    CHECK(pstate_marker_applied(&ps, 52, 0, 1) == 0); /* an entry without any batch */
    CHECK_EQ_INT(pstate_find(&ps, 52)->last_timestamp, -1);

    uint8_t *buf;
    size_t len;
    int64_t off;
    pstate back;
    pstate_init(&back);
    CHECK_EQ_INT(pstate_snapshot_encode(&ps, 3, &buf, &len), 0);
    CHECK_EQ_INT(be32_get(buf), 0x42505334u); /* "BPS4" */
    if (CHECK_EQ_INT(pstate_snapshot_decode(&back, buf, len, &off), 0)) {
        CHECK_EQ_INT(pstate_find(&back, 50)->last_timestamp, 2000);
        CHECK_EQ_INT(pstate_find(&back, 52)->last_timestamp, -1);
        CHECK(pstate_marker_is_stale(&back, 52, 1)); /* BPS4 keeps the marker sequence */
        CHECK(!pstate_marker_is_stale(&back, 52, 2));
    }
    free(buf);
    pstate_free(&back);
    pstate_free(&ps);

    /* A BPS2 snapshot: coordinator epoch kept, last timestamp unknown. */
    wr w;
    write_old_snapshot(&w, 50, 3);
    pstate_init(&back);
    if (CHECK_EQ_INT(pstate_snapshot_decode(&back, w.p, w.len, &off), 0) &&
        CHECK(pstate_find(&back, 50) != NULL)) {
        CHECK_EQ_INT(pstate_find(&back, 50)->coord_epoch, 3);
        CHECK_EQ_INT(pstate_find(&back, 50)->last_timestamp, -1);
    }
    pstate_free(&back);
    wr_free(&w);

    log_config c = fresh_log_dir("lastts", 1 << 20);
    c.log_append_time = true;
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        plog *l;
        if (log_open(g_dir, "t-0", &c, false, 0, &l) != LOG_OK)
            _exit(1);
        uint8_t *b;
        size_t blen = make_batch(&b, 60, 0, 0, 2, true); /* its own timestamps: 1000 */
        rb_header bh;
        int64_t base, m;
        rb_validate(b, blen, &bh);
        if (log_append(l, b, blen, &bh, 5555, &base) != LOG_OK ||
            pstate_find(&l->ps, 60)->last_timestamp != 5555)
            _exit(2);
        free(b);
        if (log_append_marker(l, 60, 0, true, 0, 7777, &m) != LOG_OK ||
            pstate_find(&l->ps, 60)->last_timestamp != 7777)
            _exit(3);
        blen = make_batch(&b, 61, 0, 0, 1, false);
        rb_validate(b, blen, &bh);
        if (log_append(l, b, blen, &bh, 6666, &base) != LOG_OK)
            _exit(4);
        free(b);
        _exit(fdatasync(l->segs[l->nsegs - 1]->log_fd) == 0 ? 0 : 5);
    }
    int status = -1;
    waitpid(child, &status, 0);
    if (!CHECK_EQ_INT(status, 0))
        return;
    for (int clean = 0; clean <= 1; clean++) { /* a crash replay, then the snapshot */
        plog *l;
        if (!CHECK(log_open(g_dir, "t-0", &c, clean, 0, &l) == LOG_OK))
            return;
        if (CHECK(pstate_find(&l->ps, 60) && pstate_find(&l->ps, 61))) {
            CHECK_EQ_INT(pstate_find(&l->ps, 60)->last_timestamp, 7777);
            CHECK_EQ_INT(pstate_find(&l->ps, 61)->last_timestamp, 6666);
        }
        if (clean)
            log_destroy(l);
        else
            log_close(l);
    }
}

TU_MAIN(TU_CASE(test_last_timestamp), TU_CASE(test_marker_count_guard), TU_CASE(test_marker_sequences), TU_CASE(test_lso_waits_for_durable_marker), TU_CASE(test_sequences_and_duplicates), TU_CASE(test_transactions_lso_and_markers),
        TU_CASE(test_txn_duplicate_of_ended_transaction), TU_CASE(test_gap_after_refused_batch), TU_CASE(test_gap_after_leader_change),
        TU_CASE(test_snapshot_roundtrip), TU_CASE(test_log_replay_after_crash),
        TU_CASE(test_coordinator_epoch_rules), TU_CASE(test_coordinator_epoch_survives_replay))
