/* test_txn_tv2.c - transactions v2 (KIP-890 part 2) in the coordinator's state machine:
 * EndTxn v5 bumps the epoch in the decision record and the markers and answers with it, a
 * retried EndTxn gets the same answer, a late one is fenced, an abort with nothing ongoing
 * only bumps, the last epochs move the producer to a fresh id (also through recovery), and
 * v1 ends are unchanged; and AddPartitionsToTxn's deduplication of many names. The
 * coordinator is driven by hand: every action it emits is
 * looked at, and completions are fed back as the broker would. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/errors.h"
#include "txn/coord.h"
#include "testutil.h"

#define PID 5000
#define FRESH 7000

typedef struct seen {
    int logs, prepares, markers, replies;
    int16_t marker_epoch, prepare_epoch;
    int64_t marker_pid;
    int16_t reply_error, reply_kind;
    int64_t reply_pid;
    int16_t reply_epoch;
    uint8_t *last_record; /* taken from the last LOG action */
    size_t last_record_len;
    int last_log_notify;
} seen;

static void take(txn_coord *c, seen *s)
{
    uint8_t *rec = s->last_record;
    size_t rec_len = s->last_record_len;
    memset(s, 0, sizeof(*s));
    s->last_record = rec; /* kept until a new LOG action replaces it */
    s->last_record_len = rec_len;
    for (size_t i = 0; i < c->nacts; i++) {
        txn_action *a = &c->acts[i];
        switch (a->kind) {
        case TXN_ACT_LOG:
            s->logs++;
            free(s->last_record);
            s->last_record = a->record;
            s->last_record_len = a->record_len;
            s->last_log_notify = a->notify;
            a->record = NULL;
            break;
        case TXN_ACT_PREPARE:
            s->prepares++;
            s->prepare_epoch = a->epoch;
            break;
        case TXN_ACT_MARKER:
            s->markers++;
            s->marker_epoch = a->epoch;
            s->marker_pid = a->pid;
            break;
        case TXN_ACT_REPLY:
            s->replies++;
            s->reply_error = a->error;
            s->reply_kind = a->reply_kind;
            s->reply_pid = a->pid;
            s->reply_epoch = a->epoch;
            break;
        }
    }
    txn_coord_clear_actions(c);
}

static txn_participant part(const char *topic, int32_t p)
{
    return (txn_participant){TXN_PART_PARTITION, (char *)topic, p, false};
}

/* A coordinator with "tx" at PID, epoch `epoch`, state Empty. */
static void setup(txn_coord *c, int16_t epoch)
{
    txn_coord_config cfg = {.max_timeout_ms = 900000};
    txn_coord_init(c, &cfg);
    seen s = {0};
    bool used;
    txn_coord_init_pid(c, 1, "tx", 60000, -1, -1, PID, 0, &used);
    take(c, &s);
    txn_coord_logged(c, "tx", true, 0);
    take(c, &s);
    free(s.last_record);
    txn_meta *t = txn_coord_find(c, "tx");
    t->epoch = epoch; /* as if many transactions had ended before */
}

/* Adds orders-0 and orders-1 (durably). */
static void begin(txn_coord *c, int16_t epoch)
{
    seen s = {0};
    txn_participant ps[2] = {part("orders", 0), part("orders", 1)};
    txn_coord_add(c, 2, "tx", txn_coord_find(c, "tx")->pid, epoch, ps, 2, 10);
    take(c, &s);
    CHECK_EQ_INT(s.logs, 1);
    txn_coord_logged(c, "tx", true, 10);
    take(c, &s);
    CHECK_EQ_INT(s.reply_error, KERR_NONE);
    free(s.last_record);
}

/* Runs a commit's prepare round and marker round; returns the EndTxn answer. */
static seen finish_commit(txn_coord *c)
{
    seen s = {0}, out = {0};
    txn_participant p0 = part("orders", 0), p1 = part("orders", 1);
    txn_coord_voted(c, "tx", &p0, true, 20);
    txn_coord_voted(c, "tx", &p1, true, 20);
    take(c, &s);
    CHECK_EQ_INT(s.logs, 1); /* PrepareCommit */
    txn_coord_logged(c, "tx", true, 21);
    take(c, &s);
    CHECK_EQ_INT(s.markers, 2);
    int16_t me = s.marker_epoch;
    int64_t mp = s.marker_pid;
    txn_coord_marked(c, "tx", &p0, 22);
    txn_coord_marked(c, "tx", &p1, 22);
    take(c, &out);
    out.marker_epoch = me;
    out.marker_pid = mp;
    out.markers = 2;
    free(s.last_record);
    return out;
}

static void test_commit_bumps_and_answers_the_new_epoch(void)
{
    txn_coord c;
    setup(&c, 3);
    begin(&c, 3);
    seen s = {0};
    txn_coord_end_tv2(&c, 3, "tx", PID, 3, true, -1, 20);
    take(&c, &s);
    CHECK_EQ_INT(s.prepares, 2);
    CHECK_EQ_INT(s.prepare_epoch, 3); /* the partitions fence the epoch that wrote */
    seen r = finish_commit(&c);
    CHECK_EQ_INT(r.marker_epoch, 4);
    CHECK_EQ_INT(r.marker_pid, PID);
    CHECK_EQ_INT(r.replies, 1);
    CHECK_EQ_INT(r.reply_kind, TXN_REPLY_END);
    CHECK_EQ_INT(r.reply_error, KERR_NONE);
    CHECK_EQ_INT(r.reply_pid, PID);
    CHECK_EQ_INT(r.reply_epoch, 4);
    txn_meta *t = txn_coord_find(&c, "tx");
    CHECK_EQ_INT(t->state, TXN_COMPLETE_COMMIT);
    CHECK(t->tv2);
    CHECK_EQ_INT(t->prev_epoch, 3);
    free(r.last_record);

    /* The retry of that EndTxn (epoch 3): the same answer, nothing logged. */
    txn_coord_end_tv2(&c, 4, "tx", PID, 3, true, -1, 30);
    take(&c, &s);
    CHECK_EQ_INT(s.logs, 0);
    CHECK_EQ_INT(s.reply_error, KERR_NONE);
    CHECK_EQ_INT(s.reply_epoch, 4);
    /* ... but as an abort it is the wrong outcome. */
    txn_coord_end_tv2(&c, 5, "tx", PID, 3, false, -1, 30);
    take(&c, &s);
    CHECK_EQ_INT(s.reply_error, KERR_INVALID_TXN_STATE);
    /* A commit at the new epoch with nothing ongoing: INVALID_TXN_STATE (Kafka's rule). */
    txn_coord_end_tv2(&c, 6, "tx", PID, 4, true, -1, 30);
    take(&c, &s);
    CHECK_EQ_INT(s.reply_error, KERR_INVALID_TXN_STATE);

    /* The next transaction at epoch 4; now the old EndTxn is fenced. */
    begin(&c, 4);
    txn_coord_end_tv2(&c, 7, "tx", PID, 3, true, -1, 40);
    take(&c, &s);
    CHECK_EQ_INT(s.reply_error, KERR_PRODUCER_FENCED);
    /* A batch of the old transaction is no longer part of any transaction. */
    CHECK(!txn_coord_verify(&c, PID, 3, "orders", 0));
    CHECK(txn_coord_verify(&c, PID, 4, "orders", 0));
    /* An abort of the running one bumps to 5, markers at 5, no prepare round. */
    txn_coord_end_tv2(&c, 8, "tx", PID, 4, false, -1, 50);
    take(&c, &s);
    CHECK_EQ_INT(s.prepares, 0);
    CHECK_EQ_INT(s.logs, 1);
    txn_coord_logged(&c, "tx", true, 51);
    take(&c, &s);
    CHECK_EQ_INT(s.markers, 2);
    CHECK_EQ_INT(s.marker_epoch, 5);
    free(s.last_record);
    txn_coord_free(&c);
}

static void test_retry_while_marking_is_concurrent(void)
{
    txn_coord c;
    setup(&c, 0);
    begin(&c, 0);
    seen s = {0};
    txn_coord_end_tv2(&c, 3, "tx", PID, 0, false, -1, 20);
    take(&c, &s);
    txn_coord_logged(&c, "tx", true, 21); /* PrepareAbort durable: epoch now 1 */
    take(&c, &s);
    CHECK_EQ_INT(s.markers, 2);
    txn_coord_end_tv2(&c, 4, "tx", PID, 0, false, -1, 22);
    take(&c, &s);
    CHECK_EQ_INT(s.reply_error, KERR_CONCURRENT_TRANSACTIONS);
    free(s.last_record);
    txn_coord_free(&c);
}

static void test_abort_with_nothing_ongoing_only_bumps(void)
{
    txn_coord c;
    setup(&c, 9);
    seen s = {0};
    txn_coord_end_tv2(&c, 3, "tx", PID, 9, false, -1, 20);
    take(&c, &s);
    CHECK_EQ_INT(s.logs, 1);
    CHECK_EQ_INT(s.replies, 0); /* waits for the record */
    txn_coord_logged(&c, "tx", true, 21);
    take(&c, &s);
    CHECK_EQ_INT(s.markers, 0);
    CHECK_EQ_INT(s.replies, 1);
    CHECK_EQ_INT(s.reply_error, KERR_NONE);
    CHECK_EQ_INT(s.reply_epoch, 10);
    CHECK_EQ_INT(txn_coord_find(&c, "tx")->state, TXN_COMPLETE_ABORT);
    /* v1 EndTxn keeps its rule: an abort with nothing ongoing is INVALID_TXN_STATE here
     * (the state is CompleteAbort at epoch 10: a v1 "retry" of an abort is fine). */
    txn_coord_end(&c, 4, "tx", PID, 10, true, 30);
    take(&c, &s);
    CHECK_EQ_INT(s.reply_error, KERR_INVALID_TXN_STATE);
    free(s.last_record);
    txn_coord_free(&c);
}

static void test_v1_end_does_not_bump(void)
{
    txn_coord c;
    setup(&c, 2);
    begin(&c, 2);
    seen s = {0};
    txn_coord_end(&c, 3, "tx", PID, 2, true, 20);
    take(&c, &s);
    seen r = finish_commit(&c);
    CHECK_EQ_INT(r.marker_epoch, 2);
    CHECK_EQ_INT(r.reply_epoch, 2);
    CHECK(!txn_coord_find(&c, "tx")->tv2);
    free(r.last_record);
    txn_coord_free(&c);
}

static void test_last_epochs_move_to_a_fresh_pid(void)
{
    txn_coord c;
    setup(&c, INT16_MAX - 3); /* 32764: the bump to 32765 is still below the limit */
    CHECK(!txn_coord_end_needs_pid(&c, "tx"));
    txn_coord_find(&c, "tx")->epoch = INT16_MAX - 2; /* 32765: a bump reaches 32766 */
    CHECK(txn_coord_end_needs_pid(&c, "tx"));
    begin(&c, INT16_MAX - 2);
    seen s = {0};
    txn_coord_end_tv2(&c, 3, "tx", PID, INT16_MAX - 2, true, FRESH, 20);
    take(&c, &s);
    /* Votes, then the decision record: keep it to replay below. */
    txn_participant p0 = part("orders", 0), p1 = part("orders", 1);
    txn_coord_voted(&c, "tx", &p0, true, 20);
    txn_coord_voted(&c, "tx", &p1, true, 20);
    take(&c, &s);
    uint8_t *decision = s.last_record;
    size_t decision_len = s.last_record_len;
    s.last_record = NULL;
    txn_coord_logged(&c, "tx", true, 21);
    take(&c, &s);
    CHECK_EQ_INT(s.markers, 2);
    CHECK_EQ_INT(s.marker_pid, PID);
    CHECK_EQ_INT(s.marker_epoch, INT16_MAX - 1);
    txn_coord_marked(&c, "tx", &p0, 22);
    txn_coord_marked(&c, "tx", &p1, 22);
    take(&c, &s);
    CHECK_EQ_INT(s.reply_error, KERR_NONE);
    CHECK_EQ_INT(s.reply_pid, FRESH);
    CHECK_EQ_INT(s.reply_epoch, 0);
    CHECK(txn_coord_find_pid(&c, FRESH) == txn_coord_find(&c, "tx"));
    /* A retry with the old id and epoch is recognised. */
    txn_coord_end_tv2(&c, 4, "tx", PID, INT16_MAX - 2, true, -1, 30);
    take(&c, &s);
    CHECK_EQ_INT(s.reply_error, KERR_NONE);
    CHECK_EQ_INT(s.reply_pid, FRESH);
    txn_coord_free(&c);

    /* Recovery from the decision record alone ends at the same place. */
    txn_coord_config cfg = {.max_timeout_ms = 900000};
    txn_coord_init(&c, &cfg);
    CHECK_EQ_INT(txn_coord_load(&c, (const uint8_t *)"tx", 2, decision, decision_len), 0);
    txn_coord_recover(&c, 100);
    take(&c, &s);
    CHECK_EQ_INT(s.markers, 2);
    CHECK_EQ_INT(s.marker_epoch, INT16_MAX - 1);
    txn_coord_marked(&c, "tx", &p0, 101);
    txn_coord_marked(&c, "tx", &p1, 101);
    take(&c, &s);
    txn_meta *t = txn_coord_find(&c, "tx");
    CHECK_EQ_INT(t->pid, FRESH);
    CHECK_EQ_INT(t->epoch, 0);
    CHECK_EQ_INT(t->state, TXN_COMPLETE_COMMIT);
    CHECK_EQ_INT(t->next_pid, -1);
    free(decision);
    free(s.last_record);
    txn_coord_free(&c);
}

static void test_fenced_and_unknown(void)
{
    txn_coord c;
    setup(&c, 5);
    seen s = {0};
    txn_coord_end_tv2(&c, 3, "nobody", PID, 5, true, -1, 20);
    take(&c, &s);
    CHECK_EQ_INT(s.reply_error, KERR_INVALID_PRODUCER_ID_MAPPING);
    txn_coord_end_tv2(&c, 3, "tx", PID, 4, false, -1, 20); /* an older epoch, no v2 end yet */
    take(&c, &s);
    CHECK_EQ_INT(s.reply_error, KERR_PRODUCER_FENCED);
    txn_coord_end_tv2(&c, 3, "tx", PID + 1, 5, false, -1, 20);
    take(&c, &s);
    CHECK_EQ_INT(s.reply_error, KERR_INVALID_PRODUCER_ID_MAPPING);
    txn_coord_free(&c);
}

/* AddPartitionsToTxn deduplicates participants against the transaction's and within the
 * request, by a scan for few names and through a transient index for many (txn_coord_add;
 * a scan per name held the loop 52 s for 100,000 groups). */
static void test_add_many_dedupes(void)
{
    txn_coord c;
    setup(&c, 0);
    seen s = {0};
    txn_participant few[3] = {part("orders", 0), part("orders", 1), part("orders", 0)};
    txn_coord_add(&c, 2, "tx", PID, 0, few, 3, 10);
    take(&c, &s);
    txn_coord_logged(&c, "tx", true, 10);
    take(&c, &s);
    CHECK_EQ_INT(s.reply_error, KERR_NONE);
    CHECK_EQ_INT(txn_coord_find(&c, "tx")->nparts, 2);
    enum { NTOPIC = 500, NGROUP = 100, NREQ = 2 * NTOPIC + 2 * NGROUP };
    txn_participant *many = calloc(NREQ, sizeof(*many));
    char (*names)[16] = calloc(NGROUP, sizeof(*names));
    CHECK(many && names);
    int k = 0;
    for (int i = 0; i < NTOPIC; i++) { /* each twice; orders-0 and -1 are there already */
        many[k++] = part("orders", i);
        many[k++] = part("orders", i);
    }
    for (int i = 0; i < NGROUP; i++) { /* a group named like a topic is another participant */
        snprintf(names[i], sizeof(names[i]), i == 0 ? "orders" : "g%d", i);
        many[k++] = (txn_participant){TXN_PART_GROUP, names[i], -1, false};
        many[k++] = (txn_participant){TXN_PART_GROUP, names[i], -1, false};
    }
    for (int round = 0; round < 2; round++) { /* the second adds nothing and logs nothing */
        txn_coord_add(&c, 2, "tx", PID, 0, many, NREQ, 11);
        take(&c, &s);
        CHECK_EQ_INT(s.logs, round == 0 ? 1 : 0);
        if (round == 0) {
            txn_coord_logged(&c, "tx", true, 11);
            take(&c, &s);
        }
        CHECK_EQ_INT(s.reply_error, KERR_NONE);
        const txn_meta *t = txn_coord_find(&c, "tx");
        CHECK_EQ_INT(t->nparts, NTOPIC + NGROUP);
        for (int a = 0; a < t->nparts; a++)
            for (int b = a + 1; b < t->nparts; b++)
                CHECK(!(t->parts[a].kind == t->parts[b].kind &&
                        t->parts[a].partition == t->parts[b].partition &&
                        strcmp(t->parts[a].name, t->parts[b].name) == 0));
    }
    free(s.last_record);
    free(many);
    free(names);
    txn_coord_free(&c);
}

TU_MAIN(TU_CASE(test_commit_bumps_and_answers_the_new_epoch),
        TU_CASE(test_retry_while_marking_is_concurrent),
        TU_CASE(test_abort_with_nothing_ongoing_only_bumps), TU_CASE(test_v1_end_does_not_bump),
        TU_CASE(test_last_epochs_move_to_a_fresh_pid), TU_CASE(test_fenced_and_unknown),
        TU_CASE(test_add_many_dedupes))
