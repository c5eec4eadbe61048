/* test_storage_epochs.c - leader epochs in the log (the base of replication): the epoch
 * history's rules (Kafka's OffsetForLeaderEpoch answers), its file, batches stamped with
 * the leader's epoch, the history rebuilt after a clean stop, a crash and a lost file,
 * replica appends that keep the leader's offsets and epochs, and truncation: to a batch
 * boundary, across segments, with producer state and aborted transactions rebuilt, and
 * durable across a reopen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/fsutil.h"
#include "proto/errors.h"
#include "storage/epochs.h"
#include "storage/log.h"
#include "log_batches.h"
#include "testutil.h"

static char g_dir[256];

static void fresh_dir(const char *name)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/brook-unit-%d-%s", (int)getpid(), name);
    fs_remove_tree(g_dir);
}

static plog *open_log(bool clean, int64_t segment_bytes)
{
    log_config c = {.segment_bytes = segment_bytes, .segment_ms = -1, .retention_bytes = -1,
                    .retention_ms = -1, .index_interval_bytes = 128};
    plog *l = NULL;
    return log_open(g_dir, "t-0", &c, clean, 1000, &l) == LOG_OK ? l : NULL;
}

/* Makes everything appended durable, as the flush thread would. */
static void flush(plog *l) { CHECK_EQ_INT(log_flush_sync(l), LOG_OK); }

static bool answers(const plog *l, int32_t ask, int32_t want_epoch, int64_t want_end)
{
    int32_t e;
    int64_t end;
    log_epoch_end_offset(l, ask, &e, &end);
    if (e == want_epoch && end == want_end)
        return true;
    printf("    epoch %d: got (%d, %lld), want (%d, %lld)\n", ask, e, (long long)end, want_epoch,
           (long long)want_end);
    return false;
}

/* The stored leader epoch of the batch holding `offset`. */
static int32_t stored_epoch(plog *l, int64_t offset)
{
    arena a;
    arena_init(&a);
    uint8_t *data;
    size_t len;
    int32_t e = -100;
    if (log_read(l, offset, l->log_end_offset, 1, true, &a, &data, &len) == LOG_OK &&
        len >= RB_HEADER_SIZE) {
        rb_header h;
        if (rb_parse_header(data, len, &h) == RB_OK)
            e = h.leader_epoch;
    }
    arena_free(&a);
    return e;
}

static void test_history_rules(void)
{
    epoch_history h = {0};
    int32_t e;
    int64_t end;
    eh_end_offset(&h, 0, 10, &e, &end);
    CHECK(e == -1 && end == -1); /* empty */
    CHECK_EQ_INT(eh_assign(&h, 1, 0), 1);
    CHECK_EQ_INT(eh_assign(&h, 1, 5), 0); /* same epoch: nothing */
    CHECK_EQ_INT(eh_assign(&h, 3, 10), 1);
    CHECK_EQ_INT(eh_assign(&h, 3, 12), 0); /* more of the latest: nothing */
    CHECK_EQ_INT(eh_assign(&h, 5, 20), 1);
    eh_end_offset(&h, 5, 25, &e, &end);
    CHECK(e == 5 && end == 25); /* the latest ends at the log end */
    /* The epoch a given offset was written in (ListOffsets' leader epoch). */
    CHECK_EQ_INT(eh_epoch_at(&h, 0), 1);
    CHECK_EQ_INT(eh_epoch_at(&h, 9), 1);
    CHECK_EQ_INT(eh_epoch_at(&h, 10), 3);
    CHECK_EQ_INT(eh_epoch_at(&h, 19), 3);
    CHECK_EQ_INT(eh_epoch_at(&h, 1000), 5);
    CHECK_EQ_INT(eh_epoch_at(&h, -1), -1); /* before every entry */
    eh_end_offset(&h, 3, 25, &e, &end);
    CHECK(e == 3 && end == 20);
    eh_end_offset(&h, 4, 25, &e, &end);
    CHECK(e == 3 && end == 20); /* unknown epoch: the largest below it */
    eh_end_offset(&h, 0, 25, &e, &end);
    CHECK(e == 0 && end == 0); /* older than all: the oldest start */
    eh_end_offset(&h, 6, 25, &e, &end);
    CHECK(e == -1 && end == -1); /* newer than all */
    /* A takeover that wrote nothing is replaced by the next one at the same place. */
    CHECK_EQ_INT(eh_assign(&h, 6, 25), 1);
    CHECK_EQ_INT(eh_assign(&h, 7, 25), 1);
    CHECK(h.n == 4 && eh_latest(&h) == 7);
    /* A follower that took over at 25 (epoch 8, nothing written) then copies records
     * of epoch 7 from the new leader at 25: the unbacked epoch 8 goes. */
    CHECK_EQ_INT(eh_assign(&h, 8, 25), 1);
    CHECK_EQ_INT(eh_assign(&h, 7, 25), 1);
    CHECK(h.n == 4 && eh_latest(&h) == 7 && h.v[3].start_offset == 25);
    CHECK_EQ_INT(eh_truncate(&h, 20), 1); /* epochs 5 and 7 began at or after 20 */
    CHECK(h.n == 2 && eh_latest(&h) == 3);
    CHECK_EQ_INT(eh_truncate(&h, 20), 0);
    /* Text form round trip; bad files refused. */
    size_t len;
    char *text = eh_format(&h, &len);
    epoch_history back = {0};
    CHECK(text && eh_parse(text, len, &back) == 0 && back.n == 2 && back.v[1].epoch == 3 &&
          back.v[1].start_offset == 10);
    free(text);
    const char *bad[] = {"1 0\n0 5\n", "1 10\n2 5\n", "1 0\n2 x\n", "1 0\n2 5", "-1 0\n",
                         "1 0 7\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(eh_parse(bad[i], strlen(bad[i]), &back) != 0);
    CHECK(back.n == 2); /* a failed parse leaves the output alone */
    eh_free(&back);
    eh_free(&h);
}

/* Epochs 1 (offsets 0..5), 3 (6..9) and a takeover by 4 at 10 that wrote nothing. */
static plog *three_epochs(bool *ok)
{
    plog *l = open_log(false, 1 << 20);
    *ok = CHECK(l != NULL);
    if (!*ok)
        return NULL;
    CHECK_EQ_INT(log_set_leader_epoch(l, 1), LOG_OK);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(log_put(l, -1, -1, -1, 2, false), 2 * i);
    log_set_leader_epoch(l, 3);
    for (int i = 0; i < 2; i++)
        CHECK_EQ_INT(log_put(l, -1, -1, -1, 2, false), 6 + 2 * i);
    log_set_leader_epoch(l, 4);
    flush(l);
    return l;
}

static void test_stamping_and_answers_survive_reopen(void)
{
    fresh_dir("epochs-reopen");
    bool ok;
    plog *l = three_epochs(&ok);
    if (!ok)
        return;
    CHECK_EQ_INT(stored_epoch(l, 0), 1);
    CHECK_EQ_INT(stored_epoch(l, 7), 3);
    CHECK_EQ_INT(log_latest_epoch(l), 4);
    CHECK(answers(l, 1, 1, 6) && answers(l, 2, 1, 6) && answers(l, 3, 3, 10) &&
          answers(l, 4, 4, 10) && answers(l, 5, -1, -1) && answers(l, 0, 0, 0));
    log_close(l);
    /* Clean reopen: the file written at close, the empty takeover included. */
    l = open_log(true, 1 << 20);
    if (!CHECK(l != NULL))
        return;
    CHECK(answers(l, 3, 3, 10) && answers(l, 4, 4, 10) && answers(l, 2, 1, 6));
    log_close(l);
    /* Crash (unclean open): the active segment is walked again; what batches show stays. */
    l = open_log(false, 1 << 20);
    if (!CHECK(l != NULL))
        return;
    CHECK(answers(l, 1, 1, 6) && answers(l, 3, 3, 10));
    log_close(l);
    /* The file lost: rebuilt from the batches alone. */
    char path[512];
    snprintf(path, sizeof(path), "%s/leader-epochs", g_dir);
    CHECK(unlink(path) == 0);
    l = open_log(false, 1 << 20);
    if (!CHECK(l != NULL))
        return;
    CHECK(answers(l, 1, 1, 6) && answers(l, 2, 1, 6) && answers(l, 3, 3, 10));
    CHECK_EQ_INT(log_latest_epoch(l), 3);
    struct stat st;
    CHECK(stat(path, &st) == 0); /* saved again, so the full walk happens once */
    log_close(l);
    fs_remove_tree(g_dir);
}

static void test_replica_append_keeps_offsets_and_epochs(void)
{
    fresh_dir("epochs-replica");
    bool ok;
    plog *leader = three_epochs(&ok);
    if (!ok)
        return;
    char fdir[300];
    snprintf(fdir, sizeof(fdir), "%s-f", g_dir);
    fs_remove_tree(fdir);
    log_config c = {.segment_bytes = 1 << 20, .segment_ms = -1, .retention_bytes = -1,
                    .retention_ms = -1, .index_interval_bytes = 128};
    plog *f = NULL;
    if (!CHECK(log_open(fdir, "t-0f", &c, false, 1000, &f) == LOG_OK))
        return;
    /* Copy the leader's log batch by batch, as a follower's fetches would. */
    arena a;
    arena_init(&a);
    for (int guard = 0; guard < 100 && f->log_end_offset < leader->log_end_offset; guard++) {
        uint8_t *data;
        size_t len;
        if (!CHECK(log_read(leader, f->log_end_offset, leader->log_end_offset, 1, true, &a,
                            &data, &len) == LOG_OK && len > 0))
            break;
        rb_header h;
        size_t total;
        if (!CHECK(rb_check_stored(data, len, &h, &total) == RB_OK))
            break;
        CHECK_EQ_INT(log_append_replica(f, data, total, &h, 2000), LOG_OK);
    }
    arena_free(&a);
    CHECK_EQ_INT(f->log_end_offset, 10);
    CHECK_EQ_INT(stored_epoch(f, 8), 3);
    CHECK(answers(f, 1, 1, 6) && answers(f, 3, 3, 10));
    /* A batch not at the log end is refused. */
    uint8_t *b;
    size_t len = make_batch(&b, -1, -1, -1, 1, false);
    rb_header h;
    rb_validate(b, len, &h);
    rb_set_base_offset(b, 4, 3);
    rb_validate(b, len, &h);
    CHECK_EQ_INT(log_append_replica(f, b, len, &h, 2000), LOG_ERR_OUT_OF_RANGE);
    free(b);
    log_close(f);
    log_close(leader);
    fs_remove_tree(fdir);
    fs_remove_tree(g_dir);
}

static void test_truncate_rounds_down_and_rebuilds(void)
{
    fresh_dir("epochs-trunc");
    plog *l = open_log(false, 1 << 20);
    if (!CHECK(l != NULL))
        return;
    log_set_leader_epoch(l, 1);
    /* Producer 7: sequences 0..5 in three batches (offsets 0..5); a transaction of
     * producer 9 aborted at offset 8 (records 6..7, marker 8). */
    CHECK_EQ_INT(log_put(l, 7, 0, 0, 2, false), 0);
    CHECK_EQ_INT(log_put(l, 7, 0, 2, 2, false), 2);
    CHECK_EQ_INT(log_put(l, 7, 0, 4, 2, false), 4);
    CHECK_EQ_INT(log_put(l, 9, 0, 0, 2, true), 6);
    int64_t moff = -1;
    CHECK_EQ_INT(log_append_marker(l, 9, 0, false, 0, 1000, &moff), LOG_OK);
    CHECK_EQ_INT(moff, 8);
    CHECK_EQ_INT(l->naborted, 1);
    log_set_leader_epoch(l, 2);
    CHECK_EQ_INT(log_put(l, -1, -1, -1, 1, false), 9);
    flush(l);
    /* Cut in the middle of the batch 2..3: the whole batch goes. */
    CHECK_EQ_INT(log_truncate(l, 3), LOG_OK);
    CHECK_EQ_INT(l->log_end_offset, 2);
    CHECK(l->durable_offset <= 2);
    CHECK_EQ_INT(l->naborted, 0); /* the aborted transaction was after the cut */
    CHECK(answers(l, 1, 1, 2) && answers(l, 2, -1, -1));
    /* Producer state is as of offset 2: sequence 2 is next, 4 is a gap, 0 a duplicate. */
    uint8_t *b;
    size_t len = make_batch(&b, 7, 0, 2, 2, false);
    rb_header h;
    rb_validate(b, len, &h);
    int64_t dup;
    int16_t err = 0;
    CHECK_EQ_INT(log_producer_check(l, &h, false, &dup, &err), 0);
    CHECK_EQ_INT(err, KERR_NONE);
    free(b);
    len = make_batch(&b, 7, 0, 4, 2, false);
    rb_validate(b, len, &h);
    log_producer_check(l, &h, false, &dup, &err);
    CHECK_EQ_INT(err, KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    free(b);
    /* The log goes on from the cut; a reopen after a crash sees the same. */
    CHECK_EQ_INT(log_put(l, 7, 0, 2, 2, false), 2);
    CHECK_EQ_INT(log_truncate(l, 100), LOG_OK); /* past the end: nothing */
    CHECK_EQ_INT(l->log_end_offset, 4);
    flush(l);
    log_close(l);
    l = open_log(false, 1 << 20);
    if (!CHECK(l != NULL))
        return;
    CHECK_EQ_INT(l->log_end_offset, 4);
    CHECK_EQ_INT(l->naborted, 0);
    CHECK(answers(l, 1, 1, 2) && answers(l, 2, 2, 4)); /* the append after the cut was epoch 2 */
    log_close(l);
    fs_remove_tree(g_dir);
}

static void test_truncate_across_segments(void)
{
    fresh_dir("epochs-segs");
    plog *l = open_log(false, 300); /* a few batches per segment */
    if (!CHECK(l != NULL))
        return;
    log_set_leader_epoch(l, 1);
    for (int i = 0; i < 20; i++)
        CHECK_EQ_INT(log_put(l, -1, -1, -1, 1, false), i);
    flush(l);
    size_t nsegs = l->nsegs;
    if (!CHECK(nsegs >= 4))
        return;
    int64_t cut = l->segs[1]->base_offset + 1; /* inside the second segment */
    CHECK_EQ_INT(log_truncate(l, cut), LOG_OK);
    CHECK_EQ_INT(l->nsegs, 2);
    CHECK_EQ_INT(l->log_end_offset, cut);
    /* Later segment files are gone; appends continue in the cut segment. */
    char path[512];
    snprintf(path, sizeof(path), "%s/%020lld.log", g_dir, (long long)l->segs[1]->base_offset);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    log_set_leader_epoch(l, 2);
    CHECK_EQ_INT(log_put(l, -1, -1, -1, 1, false), cut);
    CHECK_EQ_INT(stored_epoch(l, cut), 2);
    CHECK(answers(l, 1, 1, cut));
    flush(l);
    log_close(l);
    l = open_log(true, 300);
    if (!CHECK(l != NULL))
        return;
    CHECK_EQ_INT(l->log_end_offset, cut + 1);
    CHECK_EQ_INT(stored_epoch(l, cut - 1), 1);
    log_close(l);
    fs_remove_tree(g_dir);
}

TU_MAIN(TU_CASE(test_history_rules), TU_CASE(test_stamping_and_answers_survive_reopen),
        TU_CASE(test_replica_append_keeps_offsets_and_epochs),
        TU_CASE(test_truncate_rounds_down_and_rebuilds), TU_CASE(test_truncate_across_segments))
